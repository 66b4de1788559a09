//! `check --shard K/N` and `portaudit merge`: merging the reports of all N shards gives the
//! unsharded report byte for byte, and the exit code `check` gives; mismatched inputs are errors.

mod common;

use common::run;

/// Check `args` in N shards, write each report, merge them; the merged report and exit code
/// must be the unsharded ones.
fn assert_merge_is_unsharded(folder: &str, format: &str, extra: &[&str]) {
    let mut base = vec!["check", folder, "--format", format, "--today", "2026-01-01"];
    base.extend_from_slice(extra);
    let (code, whole, err) = run(&base);
    assert!(whole.len() > 1000, "{folder} {format}: {err}");
    let dir = tempfile::tempdir().unwrap();
    for n in 1..=4u32 {
        let mut outs = Vec::new();
        let mut sizes = Vec::new();
        // Shards given in reverse order: the merge must not depend on it.
        for k in (1..=n).rev() {
            let path = dir.path().join(format!("{k}-of-{n}.{format}"));
            let shard = format!("{k}/{n}");
            let mut args = base.clone();
            args.extend_from_slice(&["--shard", &shard, "-o", path.to_str().unwrap()]);
            let (_, out, err) = run(&args);
            assert!(out.is_empty() && !err.contains("error"), "{err}");
            let v: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            sizes.push(match format {
                "json" => v["files"].as_array().unwrap().len(),
                _ => v["runs"][0]["properties"]["portaudit-shard"]["files"]
                    .as_array()
                    .unwrap()
                    .len(),
            });
            outs.push(path.to_str().unwrap().to_owned());
        }
        if n > 1 {
            assert!(
                sizes.iter().filter(|s| **s > 0).count() > 1,
                "{folder}: {n} shards put every file in one shard: {sizes:?}"
            );
        }
        let mut args = vec!["merge"];
        args.extend(outs.iter().map(String::as_str));
        let (mcode, merged, err) = run(&args);
        assert_eq!(
            merged, whole,
            "{folder} {format}: merge of {n} shards differs from the unsharded report ({err})"
        );
        assert_eq!(mcode, code, "{folder} {format} {n} shards: exit code");
    }
}

#[test]
fn merged_json_shards_are_the_unsharded_report() {
    assert_merge_is_unsharded("fixtures/exports", "json", &[]);
    assert_merge_is_unsharded("fixtures", "json", &["--no-config"]);
}

#[test]
fn merged_sarif_shards_are_the_unsharded_log() {
    assert_merge_is_unsharded("fixtures/exports", "sarif", &[]);
    assert_merge_is_unsharded("fixtures", "sarif", &["--no-config"]);
    // Under a limit each shard keeps its most severe results, and the merge chooses again among
    // them: the unsharded log's choice (the limits cut through the high and medium results).
    for limit in ["700", "1500"] {
        assert_merge_is_unsharded(
            "fixtures",
            "sarif",
            &["--no-config", "--sarif-max-results", limit],
        );
    }
}

#[test]
fn shards_split_by_path_below_the_folder_checked() {
    // The same files give the same shards whatever the folder is called or where it is.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("elsewhere");
    std::fs::create_dir(&copy).unwrap();
    for e in std::fs::read_dir("fixtures/exports").unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), copy.join(e.file_name())).unwrap();
    }
    let names = |folder: &str| {
        let (_, out, err) = run(&[
            "check",
            folder,
            "--format",
            "json",
            "--shard",
            "2/3",
            "--no-config",
        ]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|_| panic!("{err}"));
        v["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                let p = f["path"].as_str().unwrap();
                p.rsplit('/').next().unwrap().to_owned()
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(names("fixtures/exports"), names(copy.to_str().unwrap()));
}

#[test]
fn bad_shard_arguments_are_usage_errors() {
    for bad in ["0/2", "3/2", "1", "a/b", "1/0"] {
        let (code, _, err) = run(&["check", "fixtures/exports", "--shard", bad]);
        assert_eq!(code, 2, "{bad}: {err}");
    }
}

fn shard_files(dir: &std::path::Path, format: &str, n: u32, extra: &[&str]) -> Vec<String> {
    (1..=n)
        .map(|k| {
            let path = dir.join(format!("{k}-{n}-{}.{format}", extra.join("")));
            let shard = format!("{k}/{n}");
            let mut args = vec![
                "check",
                "fixtures/exports",
                "--format",
                format,
                "--shard",
                &shard,
                "-o",
                path.to_str().unwrap(),
            ];
            args.extend_from_slice(extra);
            run(&args);
            path.to_str().unwrap().to_owned()
        })
        .collect()
}

#[test]
fn mismatched_or_incomplete_shards_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let json = shard_files(dir.path(), "json", 2, &[]);
    let sarif = shard_files(dir.path(), "sarif", 2, &[]);
    let other_packs = shard_files(dir.path(), "json", 2, &["--no-config"]);
    let three = shard_files(dir.path(), "json", 3, &[]);
    let expect_error = |files: &[&str], what: &str| {
        let mut args = vec!["merge"];
        args.extend_from_slice(files);
        let (code, out, err) = run(&args);
        assert_eq!(code, 2, "{args:?}: {out}");
        assert!(out.is_empty(), "{args:?} wrote a report");
        assert!(err.contains(what), "{args:?}: {err}");
    };
    // Different packs.
    expect_error(&[&json[0], &other_packs[1]], "not shards of the same run");
    // Different shard counts.
    expect_error(&[&json[0], &three[1]], "not shards of the same run");
    // A shard missing, or given twice.
    expect_error(&[&json[0]], "missing shard(s): 2/2");
    expect_error(&[&json[0], &json[0], &json[1]], "are both shard 1/2");
    // SARIF shards written with different limits.
    let limited = shard_files(dir.path(), "sarif", 2, &["--sarif-max-results", "5"]);
    expect_error(&[&sarif[0], &limited[1]], "--sarif-max-results 5000 and 5");
    // JSON and SARIF mixed, or a format other than the inputs'.
    expect_error(&[&json[0], &sarif[1]], "the merge is of json reports");
    expect_error(
        &["--format", "sarif", &json[0], &json[1]],
        "the merge is of sarif",
    );
    // Another tool version.
    let text = std::fs::read_to_string(&json[1]).unwrap();
    let older = dir.path().join("older.json");
    std::fs::write(
        &older,
        text.replacen(
            &format!("\"version\": \"{}\"", env!("CARGO_PKG_VERSION")),
            "\"version\": \"0.0.1\"",
            1,
        ),
    )
    .unwrap();
    expect_error(&[&json[0], older.to_str().unwrap()], "portaudit 0.0.1");
    // An unsharded report.
    let whole = dir.path().join("whole.json");
    run(&[
        "check",
        "fixtures/exports",
        "--format",
        "json",
        "-o",
        whole.to_str().unwrap(),
    ]);
    expect_error(
        &[whole.to_str().unwrap()],
        "not the report of a `check --shard",
    );
    // Not JSON.
    expect_error(&["Cargo.toml"], "not JSON");
}

#[test]
fn merge_writes_to_a_file_and_exits_like_check() {
    let dir = tempfile::tempdir().unwrap();
    let parts = shard_files(dir.path(), "json", 2, &[]);
    let out = dir.path().join("merged.json");
    let (code, stdout, err) = run(&["merge", &parts[0], &parts[1], "-o", out.to_str().unwrap()]);
    assert!(stdout.is_empty(), "{err}");
    // The example estate has findings at every severity down to low.
    assert_eq!(code, 1, "{err}");
    let (code, _, _) = run(&["merge", &parts[0], &parts[1], "--fail-on", "critical"]);
    let (check_code, _, _) = run(&["check", "fixtures/exports", "--fail-on", "critical"]);
    assert_eq!(code, check_code);
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert!(v.get("shard").is_none());
}
