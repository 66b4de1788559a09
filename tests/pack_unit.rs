//! The built-in packs' unit tests (`portaudit test policies`): every requirement of every
//! built-in pack has a passing and a failing example export, and they behave as expected.
//! Regenerate the examples with `python3 scripts/gen_pack_tests.py`.

use std::path::PathBuf;

use portaudit::pack::BUILTIN_IDS;
use portaudit::packtest;

#[test]
fn builtin_pack_examples_pass() {
    let summary = packtest::run(&[PathBuf::from("policies")]);
    let report = summary.render();
    assert!(summary.ok(true), "{report}");
    // Every built-in pack was tested, and every requirement has both kinds of example.
    for id in BUILTIN_IDS {
        assert!(
            summary.results.iter().any(|r| r.pack == *id),
            "no tests for pack {id}"
        );
    }
    for r in &summary.results {
        let has = |k| r.cases.iter().any(|c| c.kind == k);
        assert!(has(packtest::Kind::Pass), "{}", r.requirement);
        assert!(has(packtest::Kind::Fail), "{}", r.requirement);
        // The built-in failing examples are real failures, not "not evidenced" or "uncertain".
        for c in r.cases.iter().filter(|c| c.kind == packtest::Kind::Fail) {
            assert_eq!(
                c.status,
                Some(portaudit::checks::Status::Fail),
                "{}",
                c.path.display()
            );
        }
    }
    assert!(report.ends_with(&format!("{} passed, 0 failed\n", summary.results.len())));
}

#[test]
fn a_wrong_expectation_fails_with_an_explanation() {
    let dir = std::env::temp_dir().join(format!("portaudit-packtest-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let case = dir.join("tests/demo/DEMO-TELNET");
    std::fs::create_dir_all(&case).unwrap();
    std::fs::write(
        dir.join("demo.yaml"),
        "id: demo\ntitle: Demo\nversion: 1.0.0\nsources: [{ id: s, title: S }]\nrequirements:\n  - id: DEMO-TELNET\n    title: No telnet\n    severity: high\n    category: insecure-service\n    rationale: r\n    remediation: r\n    references: [x]\n    check:\n      forbidden-exposure: { protocols: [tcp], ports: [23] }\n  - id: DEMO-UNTESTED\n    title: No any-any\n    severity: low\n    category: over-permissive\n    rationale: r\n    remediation: r\n    references: [x]\n    check:\n      any-any: {}\n",
    )
    .unwrap();
    let rules = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -p tcp -m tcp --dport 23 -j ACCEPT\nCOMMIT\n";
    std::fs::write(case.join("fail.rules"), rules).unwrap();
    // The passing example is wrong: telnet is open there too.
    std::fs::write(case.join("pass.rules"), rules).unwrap();
    std::fs::write(
        case.join("expect.yaml"),
        "fail.rules:\n  - { requirement: DEMO-TELNET, line: 4 }\n",
    )
    .unwrap();
    let s = packtest::run(&[dir.join("demo.yaml")]);
    let text = s.render();
    assert_eq!(s.passed(), 0, "{text}");
    assert_eq!(s.failed(), 1, "{text}");
    assert_eq!(s.missing(), 1, "{text}");
    assert!(text.contains("expected pass, got fail"), "{text}");
    assert!(
        text.contains("expected findings [DEMO-TELNET line 4], got [DEMO-TELNET line 5]"),
        "{text}"
    );
    assert!(
        text.ends_with("0 passed, 1 failed, 1 without tests\n"),
        "{text}"
    );
    assert!(!s.ok(false));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_test_folder_naming_no_requirement_is_an_error() {
    let dir =
        std::env::temp_dir().join(format!("portaudit-packtest-orphan-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("tests/demo/DEMO-RENAMED")).unwrap();
    std::fs::write(
        dir.join("demo.yaml"),
        "id: demo\ntitle: Demo\nversion: 1.0.0\nsources: [{ id: s, title: S }]\nrequirements:\n  - id: DEMO-ANY\n    title: No any-any\n    severity: low\n    category: over-permissive\n    rationale: r\n    remediation: r\n    references: [x]\n    check:\n      any-any: {}\n",
    )
    .unwrap();
    let s = packtest::run(std::slice::from_ref(&dir));
    assert_eq!(s.errors.len(), 1, "{}", s.render());
    assert!(s.errors[0].contains("no requirement `DEMO-RENAMED` in pack `demo`"));
    assert!(!s.ok(false));
    assert!(s
        .render()
        .ends_with("0 passed, 0 failed, 1 without tests, 1 errors\n"));
    let _ = std::fs::remove_dir_all(&dir);
}
