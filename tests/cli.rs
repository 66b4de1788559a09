//! CLI behaviour: exit codes, output formats (snapshots), determinism across thread counts.

mod common;

use common::run;

#[test]
fn example_estate_exits_1_with_located_findings() {
    let (code, out, _) = run(&["check", "fixtures/exports"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("[fixtures/exports/"), "{out}");
    assert!(out.contains("Summary"), "{out}");
}

#[test]
fn compliant_input_exits_0() {
    let (code, out, err) = run(&[
        "check",
        "fixtures/ucontact/compliant.yaml",
        "--no-config",
        "--pack",
        "pci-dss-4.0.1",
        "--pack",
        "iso27001-2022",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("0 findings"), "{out}");
}

#[test]
fn fail_on_raises_the_threshold() {
    // weak.json has high findings: still 1 at --fail-on high; the ISO pack alone has only
    // medium/low ones, so --fail-on high passes.
    let (code, ..) = run(&[
        "check",
        "fixtures/ucontact/weak.json",
        "--no-config",
        "--pack",
        "pci-dss-4.0.1",
        "--fail-on",
        "high",
    ]);
    assert_eq!(code, 1);
    let (code, ..) = run(&[
        "check",
        "fixtures/ucontact/weak.json",
        "--no-config",
        "--pack",
        "iso27001-2022",
        "--fail-on",
        "high",
    ]);
    assert_eq!(code, 0);
}

#[test]
fn bad_config_exits_2_with_every_error_located() {
    let (code, out, err) = run(&["check", "tests/data/bad-config"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("tests/data/bad-config/portaudit.yaml:2:10"),
        "{err}"
    );
    assert!(
        err.contains("tests/data/bad-config/portaudit.yaml:4:37"),
        "{err}"
    );
}

#[test]
fn unknown_pack_and_missing_input_exit_2() {
    let (code, _, err) = run(&["check", "fixtures/exports", "--pack", "no-such-pack"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown pack `no-such-pack`"), "{err}");
    let (code, _, err) = run(&["check", "does/not/exist", "--no-config"]);
    assert_eq!(code, 2);
    assert!(err.contains("does/not/exist"), "{err}");
}

#[test]
fn incomplete_input_exits_2_even_with_findings() {
    // weak.json has findings (1); cut.yaml is truncated (2): 2 wins.
    let (code, out, _) = run(&[
        "check",
        "tests/data/truncated",
        "--no-config",
        "--format",
        "json",
    ]);
    assert_eq!(code, 2, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let errors: Vec<&serde_json::Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["category"] == "input-error")
        .collect();
    assert!(!errors.is_empty(), "{out}");
    assert_eq!(errors[0]["file"], "tests/data/truncated/cut.yaml");
    assert!(errors[0]["line"].as_u64().unwrap() >= 1);
    assert_eq!(v["summary"]["incomplete"], true);
}

#[test]
fn invalid_pack_file_is_reported_by_policies_validate() {
    let (code, _, err) = run(&["policies", "validate", "tests/data/packs/broken.yaml"]);
    assert_eq!(code, 2);
    assert!(err.contains("tests/data/packs/broken.yaml:14:15"), "{err}");
    assert!(err.contains("tests/data/packs/broken.yaml:37:5"), "{err}");
    let (code, out, _) = run(&["policies", "validate", "policies/ucontact.yaml"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("ok: policies/ucontact.yaml"), "{out}");
}

#[test]
fn policies_json_lists_builtin_packs() {
    let (code, out, _) = run(&["policies", "--format", "json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let ids: Vec<&str> = v["packs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "incontact-wfo",
            "genesys-pureconnect",
            "ucontact",
            "sinch-contact-center",
            "voip-hygiene",
            "pci-dss-4.0.1",
            "iso27001-2022",
            "pci-dss-3.2.1",
            "nist-800-63b-4",
            "cis-controls-v8"
        ]
    );
    let media = &v["packs"][2]["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "UC-MEDIA")
        .unwrap()["check"];
    assert_eq!(media["ports"], serde_json::json!(["10000-20000"]));
    let wfo = &v["packs"][0]["requirements"][1]["check"]["ports"];
    assert_eq!(
        wfo,
        &serde_json::json!([80, 443, 943, 2012, 2015, 4510, 5638])
    );
}

#[test]
fn output_is_identical_whatever_the_thread_count() {
    for format in ["json", "sarif", "text"] {
        let (_, one, _) = run(&["check", "fixtures", "--format", format, "--threads", "1"]);
        let (_, eight, _) = run(&["check", "fixtures", "--format", format, "--threads", "8"]);
        assert!(one.len() > 1000, "{format}: suspiciously small output");
        assert_eq!(
            one, eight,
            "{format} output differs between 1 and 8 threads"
        );
    }
}

#[test]
fn output_file_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.sarif");
    let (code, out, _) = run(&[
        "check",
        "fixtures/exports",
        "--format",
        "sarif",
        "--output",
        path.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(out.is_empty());
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(v["version"], "2.1.0");
    // No temporary file left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

/// `--report FORMAT=FILE`: one evaluation, several reports, each the bytes a run of its own
/// format writes; the exit code is the run's.
#[test]
fn one_check_writes_several_reports() {
    let inputs = ["fixtures/exports", "tests/data/waivers"];
    let common = ["--today", "2026-11-22", "--no-config"];
    let alone = |format: &str| {
        let mut a: Vec<&str> = vec!["check"];
        a.extend(inputs);
        a.extend(common);
        a.extend(["--format", format]);
        run(&a)
    };
    // The main report with a text part (github), then without one (markdown: the text report
    // among the extra ones is the one the workers render); with JUnit the run is held whole and
    // the reports written at the end, without it they are all written as the files come.
    for (main, junit) in [
        ("github", true),
        ("markdown", true),
        ("github", false),
        ("markdown", false),
        ("sarif", false),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let reports: Vec<&str> = ["sarif", "markdown", "json", "text", "github", "junit"]
            .into_iter()
            .filter(|f| *f != main && (junit || *f != "junit"))
            .collect();
        let mut args: Vec<String> = ["check"]
            .iter()
            .chain(&inputs)
            .chain(&common)
            .map(|s| s.to_string())
            .collect();
        args.extend(["--format".into(), main.into()]);
        for f in &reports {
            let path = dir.path().join(format!("report.{f}"));
            args.extend(["--report".into(), format!("{f}={}", path.display())]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, out, err) = run(&args);
        assert_eq!(code, 1, "{err}");
        let (want_code, want, _) = alone(main);
        assert_eq!(
            (code, out.as_str()),
            (want_code, want.as_str()),
            "{main}: standard output"
        );
        for f in &reports {
            let (_, want, _) = alone(f);
            assert!(want.len() > 1000, "{f}: a real report");
            let got = std::fs::read_to_string(dir.path().join(format!("report.{f}"))).unwrap();
            assert!(
                got == want,
                "{main} and {f} (junit {junit}): differs from a run of its own"
            );
        }
        // The reports and nothing else (no temporary file left behind).
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            reports.len()
        );
    }
}

/// A report that cannot be written fails the run (exit 2, naming the file) and leaves none of the
/// others, streamed or held (JUnit), nor a temporary file: CI never uploads the reports of a run
/// that did not finish.
#[test]
fn a_report_that_cannot_be_written_leaves_no_report() {
    for extra in [&[][..], &["--report", "junit=j.xml"][..]] {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display().to_string();
        let out = format!("{d}/main.sarif");
        let json = format!("json={d}/report.json");
        let missing = format!("markdown={d}/missing/summary.md");
        let mut args = vec!["check", "fixtures/exports", "-o", &out, "--report", &json];
        args.extend(["--report", &missing]);
        args.extend(extra);
        let (code, _, err) = run(&args);
        assert_eq!(code, 2, "{err}");
        assert!(
            err.contains(&format!("cannot write {d}/missing/summary.md")),
            "{err}"
        );
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(left.is_empty(), "{extra:?}: {left:?}");
    }
}

#[test]
fn bad_report_arguments_exit_2_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let same = dir.path().join("same").display().to_string();
    let twice = format!("sarif={same}");
    for (args, says) in [
        (vec!["--report", "yaml=x"], "unknown format `yaml`"),
        (vec!["--report", "sarif"], "expected FORMAT=FILE"),
        (vec!["--report", "sarif="], "no file after `sarif=`"),
        (
            vec!["--report", &twice, "--output", &same],
            "is the target of two reports",
        ),
        (
            vec!["--report", "sarif=twice.sarif", "--output", "./twice.sarif"],
            "is the target of two reports",
        ),
    ] {
        let mut a = vec!["check", "fixtures/exports"];
        a.extend(args);
        let (code, out, err) = run(&a);
        assert_eq!(code, 2, "{a:?}: {out}{err}");
        assert!(err.contains(says), "{a:?}: {err}");
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing written"
    );
}

#[test]
fn json_snapshot() {
    let (_, out, _) = run(&["check", "fixtures/exports", "--format", "json"]);
    insta::assert_snapshot!("example_json", out);
}

/// The JSON report (its root object and findings are written by hand) is serde_json's pretty
/// layout of its own content: with findings, waivers and related locations, and with none.
#[test]
fn json_report_is_serde_json_pretty() {
    let empty = tempfile::tempdir().unwrap();
    for args in [
        vec!["check", "fixtures/exports", "--format", "json"],
        vec!["check", "fixtures", "--no-config", "--format", "json"],
        vec![
            "check",
            empty.path().to_str().unwrap(),
            "--no-config",
            "--format",
            "json",
        ],
    ] {
        let (_, out, err) = run(&args);
        let v: serde_json::Value =
            serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {err}"));
        assert_eq!(
            out,
            serde_json::to_string_pretty(&v).unwrap() + "\n",
            "{args:?}"
        );
    }
}

#[test]
fn sarif_snapshot() {
    let (_, out, _) = run(&["check", "fixtures/exports", "--format", "sarif"]);
    insta::assert_snapshot!("example_sarif", out);
}

/// Under `--sarif-max-results N` the log keeps the N most severe results (the earliest first among
/// equals) in report order, says in `invocations` how many it left out, and the run warns; at or
/// above the count of results, or with 0, it is the whole log.
#[test]
fn sarif_keeps_the_most_severe_results_under_its_limit() {
    let base = ["check", "fixtures", "--no-config", "--format", "sarif"];
    let with = |limit: &str| {
        let mut args = base.to_vec();
        args.extend_from_slice(&["--sarif-max-results", limit]);
        run(&args)
    };
    let (code, whole, err) = with("0");
    assert!(!err.contains("warning"), "{err}");
    let log: serde_json::Value = serde_json::from_str(&whole).unwrap();
    let all = log["runs"][0]["results"].as_array().unwrap().clone();
    let rank = |r: &serde_json::Value| match r["properties"]["severity"].as_str().unwrap() {
        "critical" => 0,
        "high" => 1,
        "medium" => 2,
        "low" => 3,
        _ => 4,
    };
    // The fixtures have results of four severities, so a limit cuts through each of them.
    let count = |s: u8| all.iter().filter(|r| rank(r) == s).count();
    let (high, medium, low) = (count(1), count(2), count(3));
    assert!(
        high > 1 && medium > 1 && low > 1 && count(4) > 1,
        "{}",
        all.len()
    );
    let mut limits = vec![
        1,
        high / 2,
        high,
        high + medium / 2,
        high + medium + low + 1,
    ];
    limits.push(all.len() - 1);
    for n in limits {
        let (c, out, err) = with(&n.to_string());
        assert_eq!(c, code, "limit {n}: exit code");
        let log: serde_json::Value = serde_json::from_str(&out).unwrap();
        let run0 = &log["runs"][0];
        let mut order: Vec<usize> = (0..all.len()).collect();
        order.sort_by_key(|&i| (rank(&all[i]), i));
        let mut kept = order[..n].to_vec();
        kept.sort_unstable();
        let expected: Vec<&serde_json::Value> = kept.iter().map(|&i| &all[i]).collect();
        let got: Vec<&serde_json::Value> = run0["results"].as_array().unwrap().iter().collect();
        assert_eq!(got, expected, "limit {n}");
        let least = expected.iter().map(|r| rank(r)).max().unwrap();
        let least = ["critical", "high", "medium", "low", "info"][least as usize];
        let note = &run0["invocations"][0]["toolExecutionNotifications"][0];
        let message = note["message"]["text"].as_str().unwrap();
        assert_eq!(
            message,
            format!(
                "This log holds the {n} most severe of {} results (the least severe kept: {least}), \
                 the limit set with --sarif-max-results. The JSON and text reports list all of them.",
                all.len()
            )
        );
        assert_eq!(note["level"], "warning");
        assert_eq!(run0["invocations"][0]["executionSuccessful"], true);
        assert_eq!(
            err.trim_end(),
            format!("warning: SARIF report (standard output): {message}"),
            "limit {n}"
        );
    }
    // At the count of results, or GitHub's limit: the whole log, no notice.
    for n in [all.len().to_string(), "5000".to_owned()] {
        let (c, out, err) = with(&n);
        assert_eq!((c, out == whole), (code, true), "limit {n}");
        assert!(!err.contains("warning"), "{err}");
    }
    let (_, default, _) = run(&base);
    assert_eq!(default, whole);
}

#[test]
fn text_snapshot() {
    let (_, out, _) = run(&["check", "fixtures/exports", "--format", "text"]);
    insta::assert_snapshot!("example_text", out);
}

#[test]
fn init_writes_a_valid_commented_config() {
    let dir = tempfile::tempdir().unwrap();
    for f in [
        "edge-fortigate.conf",
        "wfo-gateway.rules",
        "ucontact-settings.yaml",
    ] {
        std::fs::copy(format!("fixtures/exports/{f}"), dir.path().join(f)).unwrap();
    }
    let d = dir.path().to_str().unwrap();
    let (code, _, err) = run(&["init", d]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(dir.path().join("portaudit.yaml")).unwrap();
    assert!(text.contains("fortios     1 file(s)"), "{text}");
    assert!(
        text.contains("  - ucontact   # a uContact settings dump was found"),
        "{text}"
    );
    assert!(text.contains("wan1"), "zones seen are listed: {text}");
    // The written file is a valid configuration: the check runs with it.
    let (code, out, err) = run(&["check", d]);
    assert_eq!(code, 1, "{out}{err}");
    // And init does not overwrite it.
    let (code, _, err) = run(&["init", d]);
    assert_eq!(code, 2);
    assert!(err.contains("--force"), "{err}");
}

#[test]
fn explain_prints_a_requirement_with_examples() {
    let (code, out, err) = run(&["explain", "pci-1.2.6-telnet"]);
    assert_eq!(code, 0, "{err}");
    for needle in [
        "PCI-1.2.6-TELNET: Telnet is not reachable from untrusted networks",
        "pack:        pci-dss-4.0.1",
        "severity:    high",
        "category:    insecure-service",
        "Remediation:",
        "PCI DSS 4.0.1 1.2.6",
        "section: 1.2.6",
        "telnet (tcp 23) is not allowed from untrusted (public) addresses",
        "\"kind\":\"forbidden-exposure\"",
        "Passing example (",
        "Failing example (",
        "finding at line 6",
        "  > -A FORWARD -p tcp -m tcp --dport 23 -j ACCEPT",
    ] {
        assert!(out.contains(needle), "{needle:?} not in\n{out}");
    }
}

#[test]
fn explain_unknown_id_exits_2_with_close_matches() {
    let (code, out, err) = run(&["explain", "PCI-8.3.4-ATTEMPT"]);
    assert_eq!(code, 2, "{out}");
    assert!(err.contains("no requirement `PCI-8.3.4-ATTEMPT`"), "{err}");
    assert!(err.contains("did you mean: PCI-8.3.4-ATTEMPTS"), "{err}");
}

#[test]
fn test_command_runs_builtin_pack_tests() {
    let (code, out, err) = run(&[
        "test",
        "policies/voip-hygiene.yaml",
        "policies/nist-800-63b-4.yaml",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("ok      nist-800-63b-4 NIST-3.1.1.2-LENGTH (3 examples)"),
        "{out}"
    );
    assert!(out.ends_with("9 passed, 0 failed\n"), "{out}");
}

#[test]
fn test_command_exits_1_on_a_failing_example() {
    let dir = std::env::temp_dir().join(format!("portaudit-cli-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let case = dir.join("tests/demo/DEMO-ANY");
    std::fs::create_dir_all(&case).unwrap();
    std::fs::write(
        dir.join("demo.yaml"),
        "id: demo\ntitle: Demo\nversion: 1.0.0\nsources: [{ id: s, title: S }]\nrequirements:\n  - id: DEMO-ANY\n    title: No any-any\n    severity: low\n    category: over-permissive\n    rationale: r\n    remediation: r\n    references: [x]\n    check:\n      any-any: {}\n",
    )
    .unwrap();
    let bad = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -j ACCEPT\nCOMMIT\n";
    std::fs::write(case.join("pass.rules"), bad).unwrap();
    std::fs::write(case.join("fail.rules"), bad).unwrap();
    std::fs::write(
        case.join("expect.yaml"),
        "fail.rules:\n  - { requirement: DEMO-ANY, line: 5 }\n",
    )
    .unwrap();
    let (code, out, _) = run(&["test", dir.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL    demo DEMO-ANY (2 examples)"), "{out}");
    assert!(out.contains("expected pass, got fail"), "{out}");
    assert!(out.ends_with("0 passed, 1 failed\n"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn docs_command_writes_the_committed_pages() {
    let dir = std::env::temp_dir().join(format!("portaudit-cli-docs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (code, out, err) = run(&[
        "docs",
        "--pack",
        "pci-dss-3.2.1",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("pci-dss-3.2.1.md"), "{out}");
    let written = std::fs::read_to_string(dir.join("pci-dss-3.2.1.md")).unwrap();
    let committed = std::fs::read_to_string("docs/packs/pci-dss-3.2.1.md").unwrap();
    assert_eq!(written, committed);
    assert!(
        written.contains("| `PCI3-8.1.6-ATTEMPTS` | high | setting |"),
        "{written}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn explain_finds_a_custom_pack_and_its_examples() {
    let dir = std::env::temp_dir().join(format!("portaudit-cli-explain-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let case = dir.join("tests/demo/DEMO-ANY");
    std::fs::create_dir_all(&case).unwrap();
    std::fs::write(
        dir.join("demo.yaml"),
        "id: demo\ntitle: Demo\nversion: 1.0.0\nsources: [{ id: s, title: Our rules, document: rules.pdf }]\nrequirements:\n  - id: DEMO-ANY\n    title: No any-any\n    severity: low\n    category: over-permissive\n    rationale: r\n    remediation: r\n    references: [x]\n    source: { id: s, section: \"2.1\" }\n    check:\n      any-any: {}\n",
    )
    .unwrap();
    std::fs::write(
        case.join("fail.rules"),
        "*filter\n:FORWARD DROP [0:0]\n-A FORWARD -j ACCEPT\nCOMMIT\n",
    )
    .unwrap();
    std::fs::write(
        case.join("expect.yaml"),
        "fail.rules:\n  - { requirement: DEMO-ANY, line: 3 }\n",
    )
    .unwrap();
    let (code, out, err) = run(&[
        "explain",
        "demo-any",
        "--policy",
        dir.join("demo.yaml").to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("document: rules.pdf"), "{out}");
    assert!(out.contains("section: 2.1"), "{out}");
    assert!(out.contains("  > -A FORWARD -j ACCEPT"), "{out}");
    assert!(!out.contains("Passing example"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn trace_names_the_deciding_rule_for_each_part_of_an_open_dimension() {
    let file = "tests/data/trace/sport.rules";
    let base = [
        "trace", file, "--proto", "udp", "--src", "10.1.1.1", "--dst", "8.8.8.8",
    ];
    // Fully specified: one verdict.
    let mut args = base.to_vec();
    args.extend(["--sport", "4000", "--dport", "16000"]);
    let (code, out, _) = run(&args);
    assert_eq!(code, 0);
    assert_eq!(out, "forward: deny by default of FORWARD (line 5)\n");
    // Source port left open: the one source port the rule allows, and the rest, each with its
    // deciding rule.
    let mut args = base.to_vec();
    args.extend(["--dport", "16000"]);
    let (code, out, _) = run(&args);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "forward, sport 5060: allow by FORWARD rule 2 (line 8)\n\
         forward, sport 0-5059,5061-65535: deny by default of FORWARD (line 5)\n"
    );
    // Inside the allowed destination range the source port does not matter: one verdict.
    let mut args = base.to_vec();
    args.extend(["--dport", "12000"]);
    let (_, out, _) = run(&args);
    assert_eq!(out, "forward: allow by FORWARD rule 1 (line 7)\n");
}

#[test]
fn a_far_related_label_is_listed_not_drawn_over_every_line_between() {
    // Rule 1 shadows the last rule, 60 lines further down: the text report draws the shadowed
    // rule and lists the shadowing one by location, instead of a 60-line snippet.
    let dir = tempfile::tempdir().expect("temp dir");
    let mut rules =
        String::from("*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n");
    rules.push_str("-A INPUT -p tcp -m tcp --dport 8443 -j ACCEPT\n");
    for i in 0..60 {
        rules.push_str(&format!(
            "-A INPUT -s 10.1.{i}.0/24 -p tcp -m tcp --dport 22 -j ACCEPT\n"
        ));
    }
    rules.push_str("-A INPUT -s 10.9.0.0/16 -p tcp -m tcp --dport 8443 -j ACCEPT\nCOMMIT\n");
    let path = dir.path().join("far.rules");
    std::fs::write(&path, rules).expect("write");
    let path = path.to_string_lossy().into_owned();
    let (_, out, err) = run(&["check", &path, "--no-config", "--pack", "pci-dss-4.0.1"]);
    let at = out
        .find("PCI-1.2.7-UNREACHABLE")
        .unwrap_or_else(|| panic!("no unreachable finding:\n{out}{err}"));
    // The diagnostic: its code line, a blank line, then the report up to the next blank line.
    let finding = &out[at..];
    let body = finding.find("\n\n").expect("code line") + 2;
    let finding = &finding[..body + finding[body..].find("\n\n").expect("end of the finding")];
    assert!(finding.contains(&format!("{path}:66:1")), "{finding}");
    assert!(
        finding.contains(&format!("see also {path}:5:1: ")),
        "{finding}"
    );
    assert!(
        !finding.contains("10.1.30.0/24"),
        "lines between drawn:\n{finding}"
    );
}
