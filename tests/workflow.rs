//! Gating workflow behaviour: waivers with a fixed clock, baselines that survive line shifts,
//! rule reachability, and the other output formats.

use assert_cmd::Command;
use serde_json::Value;

fn json(args: &[&str]) -> (i32, Value) {
    let out = Command::cargo_bin("portaudit")
        .unwrap()
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap(), v)
}

fn findings(v: &Value) -> Vec<(String, u64, bool)> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_owned(),
                f["line"].as_u64().unwrap(),
                f["waived"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[test]
fn waivers_active_expired_and_unused() {
    let (code, v) = json(&["check", "tests/data/waivers", "--today", "2026-11-22"]);
    let f = findings(&v);
    // Active: the SIP ALG finding is waived and does not fail the run on its own.
    assert!(f.contains(&("VOIP-SIP-ALG-OFF".into(), 5, true)), "{f:?}");
    // Expired on 2026-06-30: the SNMP finding is back, and the waiver itself is reported.
    assert!(f.contains(&("PCI-1.2.6-SNMP".into(), 17, false)), "{f:?}");
    let notices: Vec<&str> = v["notices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["message"].as_str().unwrap())
        .collect();
    assert!(
        notices.iter().any(|n| n.contains("expired on 2026-06-30")),
        "{notices:?}"
    );
    // Unused: the telnet waiver matches nothing and is reported at its line in portaudit.yaml.
    let unused = v["notices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| {
            n["message"]
                .as_str()
                .unwrap()
                .contains("matches no finding")
        })
        .unwrap();
    assert_eq!(unused["file"], "tests/data/waivers/portaudit.yaml");
    assert_eq!(unused["line"], 14);
    assert_eq!(code, 1, "the expired waiver's finding fails the run");
    assert_eq!(v["summary"]["waived"], 1);

    // A day before the SNMP waiver expires, both apply; only the unused waiver is reported.
    let (_, v) = json(&["check", "tests/data/waivers", "--today", "2026-06-30"]);
    let f = findings(&v);
    assert!(f.contains(&("PCI-1.2.6-SNMP".into(), 17, true)), "{f:?}");
    assert_eq!(v["notices"].as_array().unwrap().len(), 1);
}

#[test]
fn waived_findings_are_left_out_of_sarif() {
    let out = Command::cargo_bin("portaudit")
        .unwrap()
        .args([
            "check",
            "tests/data/waivers",
            "--today",
            "2026-11-22",
            "--format",
            "sarif",
        ])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rules: Vec<&str> = v["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["ruleId"].as_str().unwrap())
        .collect();
    assert!(!rules.contains(&"VOIP-SIP-ALG-OFF"), "{rules:?}");
    assert!(rules.contains(&"PCI-1.2.6-SNMP"), "{rules:?}");
}

#[test]
fn baseline_survives_shifted_lines() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("gw.rules");
    let original = std::fs::read_to_string("fixtures/exports/wfo-gateway.rules").unwrap();
    std::fs::write(&rules, &original).unwrap();
    let baseline = dir.path().join("baseline.json");
    let dirs = dir.path().to_str().unwrap();
    let out = Command::cargo_bin("portaudit")
        .unwrap()
        .args([
            "check",
            dirs,
            "--no-config",
            "--write-baseline",
            baseline.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    // Shift every line down by three comment lines and add one new problem (telnet).
    let shifted = format!(
        "# reviewed 2026-11\n# change CHG-1234\n#\n{}",
        original.replace(
            "-A INPUT -p udp -m udp --dport 161 -j ACCEPT",
            "-A INPUT -p udp -m udp --dport 161 -j ACCEPT\n-A INPUT -p tcp -m tcp --dport 23 -j ACCEPT"
        )
    );
    std::fs::write(&rules, shifted).unwrap();
    let (code, v) = json(&[
        "check",
        dirs,
        "--no-config",
        "--baseline",
        baseline.to_str().unwrap(),
    ]);
    let f = findings(&v);
    // Only the new telnet rule is reported (by the PCI DSS and ISO packs), at its shifted line.
    assert_eq!(
        f,
        [
            ("ISO-8.21-TELNET".to_owned(), 21, false),
            ("PCI-1.2.6-TELNET".to_owned(), 21, false)
        ],
        "only the new finding is reported"
    );
    assert_eq!(code, 1);
    let (_, full) = json(&["check", dirs, "--no-config"]);
    let total = full["findings"].as_array().unwrap().len();
    assert_eq!(v["summary"]["baselined"], total - 2);
}

#[test]
fn unreachable_permit_names_the_covering_rule() {
    let (_, v) = json(&[
        "check",
        "tests/data/reachability",
        "--no-config",
        "--pack",
        "pci-dss-4.0.1",
    ]);
    let unreachable: Vec<&Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "PCI-1.2.7-UNREACHABLE")
        .collect();
    assert_eq!(unreachable.len(), 1, "{unreachable:#?}");
    let f = unreachable[0];
    assert_eq!(f["severity"], "info");
    assert_eq!(f["line"], 7);
    assert!(
        f["message"].as_str().unwrap().contains("FORWARD rule 2"),
        "{f}"
    );
    assert!(
        f["message"].as_str().unwrap().contains("FORWARD rule 1"),
        "{f}"
    );
    assert_eq!(f["related"][0]["line"], 6);
}

fn render(format: &str) -> String {
    let out = Command::cargo_bin("portaudit")
        .unwrap()
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .args([
            "check",
            "fixtures/exports",
            "--today",
            "2026-11-22",
            "--format",
            format,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn github_format_snapshot() {
    insta::assert_snapshot!("example_github", render("github"));
}

#[test]
fn markdown_format_snapshot() {
    insta::assert_snapshot!("example_markdown", render("markdown"));
}

#[test]
fn junit_format_snapshot() {
    insta::assert_snapshot!("example_junit", render("junit"));
}

#[test]
fn html_format_snapshot() {
    insta::assert_snapshot!("example_html", render("html"));
}

/// A rule covered by many earlier ones names the first five and counts the rest (a wide ASA rule
/// after hundreds of narrow ones made an 18 KB message); the related locations still point at
/// the covering rules, up to twenty.
#[test]
fn an_unreachable_rule_names_a_few_of_its_many_covering_rules() {
    let dir = tempfile::tempdir().unwrap();
    for (n, named, more) in [
        (
            4,
            "1, FORWARD rule 2, FORWARD rule 3, FORWARD rule 4 already",
            0,
        ),
        (
            8,
            "1, FORWARD rule 2, FORWARD rule 3, FORWARD rule 4, FORWARD rule 5 and 3 more already",
            8,
        ),
        (
            32,
            "1, FORWARD rule 2, FORWARD rule 3, FORWARD rule 4, FORWARD rule 5 and 27 more already",
            20,
        ),
    ] {
        let mut rules =
            String::from("*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n");
        for i in 0..n {
            rules.push_str(&format!(
                "-A FORWARD -s 192.0.2.10/32 -d 10.0.0.{i}/32 -p tcp -m tcp --dport 22 -j ACCEPT\n"
            ));
        }
        // Covered by the n rules before it (10.0.0.0 to 10.0.0.n-1; n is a power of two).
        let prefix = 32 - (n as u32).trailing_zeros();
        rules.push_str(&format!(
            "-A FORWARD -s 192.0.2.10/32 -d 10.0.0.0/{prefix} -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n"
        ));
        let path = dir.path().join(format!("cover-{n}.rules"));
        std::fs::write(&path, rules).unwrap();
        let (_, v) = json(&[
            "check",
            path.to_str().unwrap(),
            "--no-config",
            "--pack",
            "pci-dss-4.0.1",
        ]);
        let f = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["rule"] == "PCI-1.2.7-UNREACHABLE" && f["line"] == n + 5)
            .unwrap_or_else(|| panic!("{n}: {v}"));
        let message = f["message"].as_str().unwrap();
        let rule = n + 1;
        let s = if n == 1 { "" } else { "s" };
        assert_eq!(
            message,
            format!("FORWARD rule {rule} can never match: earlier rule{s} FORWARD rule {named} decide all of its traffic"),
        );
        let related = f["related"].as_array().map_or(0, Vec::len);
        assert_eq!(
            related,
            if more == 0 { n as usize } else { more },
            "{n}: {f}"
        );
    }
}
