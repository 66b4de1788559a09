//! Hostile and broken input (issue 7): limits, walking, truncated exports, panic isolation,
//! encodings and atomic output. Every case must end with the run going on, the broken input
//! reported as an `input-error` finding naming its file and line, and exit code 2.

use std::path::{Path, PathBuf};

use serde_json::Value;

mod common;

use common::portaudit;

/// Run `check --no-config --format json` with extra arguments; (exit code, report).
fn check_json(args: &[&str]) -> (i32, Value) {
    let out = portaudit()
        .args(["check", "--no-config", "--format", "json"])
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {text}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), v)
}

fn findings(v: &Value) -> &Vec<Value> {
    v["findings"].as_array().unwrap()
}

fn input_errors(v: &Value) -> Vec<&Value> {
    findings(v)
        .iter()
        .filter(|f| f["rule"] == "input-error")
        .collect()
}

fn file_entry<'a>(v: &'a Value, path: &str) -> &'a Value {
    v["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == path)
        .unwrap_or_else(|| panic!("{path} not in {}", v["files"]))
}

/// Exit 2; an input error for `file` whose message names it, at `line` (None: any line), and
/// containing `needle`; the file is marked incomplete.
fn assert_input_error(code: i32, v: &Value, file: &str, line: Option<u64>, needle: &str) {
    assert_input_error_in(file, code, v, file, line, needle);
}

/// [`assert_input_error`] for the table case `case`, which every failure names.
fn assert_input_error_in(
    case: &str,
    code: i32,
    v: &Value,
    file: &str,
    line: Option<u64>,
    needle: &str,
) {
    assert_eq!(code, 2, "{case}: exit code: {v:#}");
    let errs = input_errors(v);
    let hit = errs.iter().find(|f| {
        f["file"] == file
            && f["message"].as_str().unwrap().contains(file)
            && f["message"].as_str().unwrap().contains(needle)
            && line.is_none_or(|l| f["line"] == l)
    });
    assert!(
        hit.is_some(),
        "{case}: no input error for {file} at line {line:?} containing {needle:?}: {errs:#?}"
    );
    assert_eq!(
        file_entry(v, file)["incomplete"],
        true,
        "{case}: not incomplete: {v:#}"
    );
}

fn tmp() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("hostile")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap()
}

/// A path as portaudit shows it: relative to the working directory (the crate root in tests).
fn s(p: &Path) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    p.strip_prefix(root)
        .unwrap_or(p)
        .to_str()
        .unwrap()
        .to_owned()
}

fn fixture(rel: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Limits

#[test]
fn file_size_limit_from_flag_and_config() {
    let (code, v) = check_json(&["fixtures/aws/sg.json", "--max-file-size", "100"]);
    assert_input_error(code, &v, "fixtures/aws/sg.json", Some(1), "100-byte limit");
    let d = tmp();
    std::fs::write(
        d.path().join("portaudit.yaml"),
        "limits:\n  max-file-size: 100\n",
    )
    .unwrap();
    std::fs::write(d.path().join("sg.json"), fixture("fixtures/aws/sg.json")).unwrap();
    let name = s(&d.path().join("sg.json"));
    let out = portaudit()
        .args(["check", "--format", "json", &s(d.path())])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_input_error(
        out.status.code().unwrap(),
        &v,
        &name,
        Some(1),
        "100-byte limit",
    );
    // The flag wins over the file.
    let out = portaudit()
        .args(["check", "--format", "json", "--max-file-size", "1000000"])
        .arg(d.path())
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(input_errors(&v).is_empty(), "{v:#}");
}

#[test]
fn line_length_limit_names_the_line_and_spares_json() {
    // Line 5 of edge.cfg is the first one longer than 20 bytes.
    let (code, v) = check_json(&["fixtures/asa/edge.cfg", "--max-line-length", "20"]);
    assert_input_error(
        code,
        &v,
        "fixtures/asa/edge.cfg",
        Some(5),
        "line 5 is 23 bytes",
    );
    let (code, v) = check_json(&["fixtures/fortios/edge.conf", "--max-line-length", "30"]);
    assert_input_error(
        code,
        &v,
        "fixtures/fortios/edge.conf",
        None,
        "30-byte limit",
    );
    // The same limit in portaudit.yaml; JSON exports are exempt (they may be minified).
    let d = tmp();
    std::fs::write(
        d.path().join("portaudit.yaml"),
        "limits:\n  max-line-length: 20\n",
    )
    .unwrap();
    std::fs::write(d.path().join("edge.cfg"), fixture("fixtures/asa/edge.cfg")).unwrap();
    std::fs::write(d.path().join("sg.json"), fixture("fixtures/aws/sg.json")).unwrap();
    let out = portaudit()
        .args(["check", "--format", "json"])
        .arg(d.path())
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let cfg = s(&d.path().join("edge.cfg"));
    assert_input_error(
        out.status.code().unwrap(),
        &v,
        &cfg,
        Some(5),
        "20-byte limit",
    );
    assert_eq!(
        file_entry(&v, &s(&d.path().join("sg.json")))["incomplete"],
        false
    );
}

#[test]
fn nesting_depth_limit_per_parser_family() {
    for (file, needle) in [
        (
            "fixtures/aws/sg.json",
            "nesting deeper than the configured limit (--max-depth",
        ),
        ("fixtures/azure/nsg.json", "(--max-depth"),
        ("fixtures/gcp/rules.json", "(--max-depth"),
        ("fixtures/nftables/gateway.json", "(--max-depth"),
        ("fixtures/checkpoint/no-sip.json", "nested too deeply"),
        (
            "fixtures/pfsense/edge.xml",
            "XML nesting deeper than 2 levels (--max-depth",
        ),
        (
            "fixtures/panos/edge.xml",
            "XML nesting deeper than 2 levels (--max-depth",
        ),
        ("fixtures/ucontact/compliant.yaml", "Depth"),
    ] {
        let (code, v) = check_json(&[file, "--max-depth", "2"]);
        assert_input_error(code, &v, file, None, needle);
    }
    // A hostile JSON document nested 100 deep fails on the default limit, without crashing.
    let d = tmp();
    let deep = d.path().join("deep.json");
    std::fs::write(
        &deep,
        format!(
            "{{\"SecurityGroups\": [{}{}]}}",
            "[".repeat(100),
            "]".repeat(100)
        ),
    )
    .unwrap();
    let (code, v) = check_json(&[&s(&deep)]);
    assert_input_error(code, &v, &s(&deep), Some(1), "nesting");
}

#[test]
fn yaml_budgets() {
    let (code, v) = check_json(&["fixtures/ucontact/compliant.yaml", "--max-yaml-events", "5"]);
    assert_input_error(
        code,
        &v,
        "fixtures/ucontact/compliant.yaml",
        None,
        "budget breached",
    );
    // A custom pack over the alias budget is an error naming the pack (the run does not start).
    let d = tmp();
    let pack = d.path().join("laughs.yaml");
    std::fs::write(
        &pack,
        "a: &a [x, x, x, x]\nb: &b [*a, *a, *a, *a]\nc: &c [*b, *b, *b, *b]\nd: [*c, *c, *c, *c]\n",
    )
    .unwrap();
    let out = portaudit()
        .args([
            "check",
            "--no-config",
            "--max-yaml-aliases",
            "3",
            "--policy",
        ])
        .arg(&pack)
        .arg("fixtures/aws/sg.json")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("laughs.yaml") && err.contains("budget"),
        "{err}"
    );
}

/// One `--max-reference-depth` case: `file` checked with the limit `limit` has an input error
/// at each of `errors` (line, text of the message); checked with `accepted_with` instead (None:
/// not checked), it has none.
struct DepthCase {
    case: &'static str,
    file: String,
    limit: &'static str,
    errors: &'static [(Option<u64>, &'static str)],
    accepted_with: Option<&'static [&'static str]>,
    /// Hitting the limit is not a cycle: no "not understood" line for the group.
    no_unparsed: bool,
}

#[test]
fn reference_depth_limit() {
    let d = tmp();
    let asa = d.path().join("deep.cfg");
    std::fs::write(
        &asa,
        "ASA Version 9.16(2)\n!\nhostname deep-asa\ninterface GigabitEthernet0/0\n nameif outside\n security-level 0\n ip address 203.0.113.10 255.255.255.0\n!\nobject-group network g1\n network-object host 198.51.100.20\nobject-group network g2\n group-object g1\nobject-group network g3\n group-object g2\nobject-group network g4\n group-object g3\n!\naccess-list outside_in extended permit tcp object-group g4 any eq telnet\naccess-group outside_in in interface outside\n",
    )
    .unwrap();
    let ipt = d.path().join("chains.rules");
    std::fs::write(
        &ipt,
        "*filter\n:INPUT DROP [0:0]\n:c1 - [0:0]\n:c2 - [0:0]\n:c3 - [0:0]\n-A INPUT -j c1\n-A c1 -j c2\n-A c2 -j c3\n-A c3 -p tcp --dport 22 -j ACCEPT\nCOMMIT\n",
    )
    .unwrap();
    // c2 jumps back into its caller c1 (a loop, which nft rejects): the loop's jump counts one
    // level, as in iptables and as a chain jumping to itself does.
    let nft_loop = d.path().join("loop.nft");
    std::fs::write(
        &nft_loop,
        "table inet filter {\n\tchain input {\n\t\ttype filter hook input priority 0; policy drop;\n\t\tjump c1\n\t}\n\tchain c1 {\n\t\tjump c2\n\t}\n\tchain c2 {\n\t\ttcp dport 23 jump c1\n\t\ttcp dport 22 accept\n\t}\n}\n",
    )
    .unwrap();
    // $a -> $b -> $c: three levels of defines, the rule using $a on line 7.
    let nft_defines = d.path().join("defines.nft");
    std::fs::write(
        &nft_defines,
        "define c = 23\ndefine b = $c\ndefine a = $b\ntable inet filter {\n\tchain input {\n\t\ttype filter hook input priority 0; policy drop;\n\t\ttcp dport $a accept\n\t}\n}\n",
    )
    .unwrap();
    // RouterOS: input -> c1 -> c2 -> c3 (three jumps).
    let ros = d.path().join("deep.rsc");
    std::fs::write(
        &ros,
        "/ip firewall filter\nadd chain=input action=jump jump-target=c1\nadd chain=c1 action=jump jump-target=c2\nadd chain=c2 action=jump jump-target=c3\nadd chain=c3 protocol=tcp dst-port=23 action=accept\nadd chain=input action=drop\n",
    )
    .unwrap();
    let default: Option<&[&str]> = Some(&[]);
    let cases = [
        // g2 (line 11) is the group met past two levels (g4 -> g3 -> g2).
        DepthCase {
            case: "ASA object-groups",
            file: s(&asa),
            limit: "2",
            errors: &[(Some(11), "reference limit of 2")],
            accepted_with: default,
            no_unparsed: false,
        },
        // FortiGate: policy -> g3 -> g2 -> g1; with a limit of 1, g2 (its `edit` on line 11,
        // level 2) is past it.
        DepthCase {
            case: "FortiGate address groups",
            file: "tests/data/hostile/deep-groups.conf".into(),
            limit: "1",
            errors: &[(
                Some(11),
                "address group \"g2\" is nested deeper than the reference limit of 1",
            )],
            accepted_with: default,
            no_unparsed: false,
        },
        // PAN-OS: rule -> g3 -> g2 -> g1; with a limit of 1, g2 (line 7, level 2) is past it.
        DepthCase {
            case: "PAN-OS address groups",
            file: "tests/data/hostile/deep-groups.set".into(),
            limit: "1",
            errors: &[(
                Some(7),
                "`g2` is nested deeper than the reference limit of 1",
            )],
            accepted_with: default,
            no_unparsed: true,
        },
        // PAN-OS application groups: rule -> ag3 -> ag2 -> ag1; with a limit of 1, ag2 (line 6)
        // is past it.
        DepthCase {
            case: "PAN-OS application groups",
            file: "tests/data/hostile/deep-app-groups.set".into(),
            limit: "1",
            errors: &[(Some(6), "`ag2` is nested deeper")],
            accepted_with: default,
            no_unparsed: false,
        },
        // Junos set form: policy -> g3 -> g2 -> g1 and s3 -> s2 -> s1; with a limit of 1, g2
        // (line 7) and s2 (line 11) are past it.
        DepthCase {
            case: "Junos set form",
            file: "tests/data/hostile/deep-sets.set".into(),
            limit: "1",
            errors: &[
                (Some(7), "address-set g2 is nested deeper"),
                (Some(11), "application-set s2 is nested deeper"),
            ],
            accepted_with: default,
            no_unparsed: false,
        },
        // Junos curly form: the error points at the `address-set g2 {` block (line 12).
        DepthCase {
            case: "Junos curly form",
            file: "tests/data/hostile/deep-sets.conf".into(),
            limit: "1",
            errors: &[(Some(12), "address-set g2 is nested deeper")],
            accepted_with: default,
            no_unparsed: false,
        },
        // pfSense aliases: A3 -> A2 -> A1; with a limit of 2, A1 (its `<alias>` on line 17) is
        // past it.
        DepthCase {
            case: "pfSense aliases",
            file: "tests/data/hostile/deep-aliases.xml".into(),
            limit: "2",
            errors: &[(Some(17), "alias `A1` is nested deeper")],
            accepted_with: default,
            no_unparsed: false,
        },
        // Check Point: g3 -> g2 -> g1 and s3 -> s2 -> s1; with a limit of 2, g1 (line 24) and
        // the service group s1 (line 31) are past it.
        DepthCase {
            case: "Check Point groups",
            file: "tests/data/hostile/deep-groups-checkpoint.json".into(),
            limit: "2",
            errors: &[
                (Some(24), "group `g1` is nested deeper"),
                (Some(31), "service group `s1` is nested deeper"),
            ],
            accepted_with: default,
            no_unparsed: false,
        },
        // nftables: input -> c1 -> c2 -> c3 (jump, jump, goto) is three levels: past a limit of
        // 2, reported at the chain it starts from (line 2); a limit of 3 accepts it.
        DepthCase {
            case: "nftables chains",
            file: "tests/data/hostile/deep-chains.nft".into(),
            limit: "2",
            errors: &[(Some(2), "nests jumps 3 levels deep")],
            accepted_with: Some(&["--max-reference-depth", "3"]),
            no_unparsed: false,
        },
        // nftables: input -> c1 -> c2 -> c1 (back into the caller) is three levels too, and
        // a loop, which nft rejects at load time: an input error at the jump that closes it
        // (line 10) whatever the limit.
        DepthCase {
            case: "nftables loop into a calling chain",
            file: s(&nft_loop),
            limit: "2",
            errors: &[
                (Some(2), "nests jumps 3 levels deep"),
                (
                    Some(10),
                    "leads back into chain inet filter c1: a jump loop, which nft rejects",
                ),
            ],
            accepted_with: None,
            no_unparsed: false,
        },
        // nftables defines: at a limit of 2, $c is left unexpanded in the rule (line 7).
        DepthCase {
            case: "nftables defines",
            file: s(&nft_defines),
            limit: "2",
            errors: &[(
                Some(7),
                "define `$c` is nested deeper than the reference limit of 2",
            )],
            accepted_with: Some(&["--max-reference-depth", "3"]),
            no_unparsed: false,
        },
        // RouterOS: input -> c1 -> c2 -> c3 is three levels: past a limit of 2, reported at
        // the chain it starts from; a limit of 3 accepts it.
        DepthCase {
            case: "RouterOS chains",
            file: s(&ros),
            limit: "2",
            errors: &[(None, "chain input nests jumps 3 levels deep")],
            accepted_with: Some(&["--max-reference-depth", "3"]),
            no_unparsed: false,
        },
        // iptables: INPUT -> c1 -> c2 -> c3 is past a limit of 1.
        DepthCase {
            case: "iptables chains",
            file: s(&ipt),
            limit: "1",
            errors: &[(None, "more than the limit of 1")],
            accepted_with: None,
            no_unparsed: false,
        },
    ];
    for c in &cases {
        let (code, v) = check_json(&[&c.file, "--max-reference-depth", c.limit]);
        for &(line, needle) in c.errors {
            assert_input_error_in(c.case, code, &v, &c.file, line, needle);
        }
        if c.no_unparsed {
            assert_eq!(v["files"][0]["unparsed"], 0, "{}: {v:#}", c.case);
        }
        if let Some(extra) = c.accepted_with {
            let mut args = vec![c.file.as_str()];
            args.extend_from_slice(extra);
            let (code, v) = check_json(&args);
            assert_ne!(code, 2, "{}: not accepted with {extra:?}: {v:#}", c.case);
        }
    }
}

/// pfSense aliases A`n` -> ... -> A1 -> host, the rule's source being A`n`: `n` levels of
/// reference. A`k`'s `<alias>` is on line 8 + 5k.
fn pfsense_nested(n: usize) -> String {
    let mut x = String::from(
        "<?xml version=\"1.0\"?>\n<pfsense>\n\t<version>23.3</version>\n\t<system><hostname>pf-deep</hostname></system>\n\t<interfaces>\n\t\t<wan>\n\t\t\t<enable></enable>\n\t\t\t<if>igb0</if>\n\t\t\t<ipaddr>203.0.113.2</ipaddr><subnet>24</subnet>\n\t\t</wan>\n\t</interfaces>\n\t<aliases>\n",
    );
    for k in 1..=n {
        let address = if k == 1 {
            "198.51.100.20".to_string()
        } else {
            format!("A{}", k - 1)
        };
        x += &format!(
            "\t\t<alias>\n\t\t\t<name>A{k}</name>\n\t\t\t<type>host</type>\n\t\t\t<address>{address}</address>\n\t\t</alias>\n"
        );
    }
    x += &format!(
        "\t</aliases>\n\t<filter>\n\t\t<rule>\n\t\t\t<type>pass</type>\n\t\t\t<interface>wan</interface>\n\t\t\t<ipprotocol>inet</ipprotocol>\n\t\t\t<protocol>tcp</protocol>\n\t\t\t<source><address>A{n}</address></source>\n\t\t\t<destination><any></any><port>22</port></destination>\n\t\t</rule>\n\t</filter>\n</pfsense>\n"
    );
    x
}

/// Check Point groups g`n` -> ... -> g1 -> host and service groups s`n` -> ... -> s1 -> telnet,
/// the rule using g`n` and s`n`: `n` levels of reference each. g`k` is on line 5 + k, s`k` on
/// line 6 + n + k.
fn checkpoint_nested(n: usize) -> String {
    let uid = |kind: char, k: usize| format!("{kind}0000000-0000-0000-0000-{k:012}");
    let mut x = format!(
        "{{\"uid\": \"e0000000-0000-0000-0000-0000000000d1\", \"name\": \"Network\",\n\"rulebase\": [{{\"uid\": \"c0000000-0000-0000-0000-0000000000d1\", \"name\": \"deep\", \"type\": \"access-rule\", \"rule-number\": 1, \"source\": [\"{}\"], \"source-negate\": false, \"destination\": [\"97aeb369-9aea-11d5-bd16-0090272ccb30\"], \"destination-negate\": false, \"service\": [\"{}\"], \"service-negate\": false, \"action\": \"6c488338-8eec-4103-ad21-cd461ac2c472\", \"enabled\": true}}],\n\"objects-dictionary\": [\n{{\"uid\": \"97aeb369-9aea-11d5-bd16-0090272ccb30\", \"name\": \"Any\", \"type\": \"CpmiAnyObject\"}},\n{{\"uid\": \"6c488338-8eec-4103-ad21-cd461ac2c472\", \"name\": \"Accept\", \"type\": \"RulebaseAction\"}},\n",
        uid('a', n),
        uid('b', n)
    );
    for k in 1..=n {
        x += &format!(
            "{{\"uid\": \"{}\", \"name\": \"g{k}\", \"type\": \"group\", \"members\": [\"{}\"]}},\n",
            uid('a', k),
            uid('a', k - 1)
        );
    }
    x += &format!(
        "{{\"uid\": \"{}\", \"name\": \"h1\", \"type\": \"host\", \"ipv4-address\": \"198.51.100.20\"}},\n",
        uid('a', 0)
    );
    for k in 1..=n {
        x += &format!(
            "{{\"uid\": \"{}\", \"name\": \"s{k}\", \"type\": \"service-group\", \"members\": [\"{}\"]}},\n",
            uid('b', k),
            uid('b', k - 1)
        );
    }
    x += &format!(
        "{{\"uid\": \"{}\", \"name\": \"telnet\", \"type\": \"service-tcp\", \"port\": \"23\"}}\n]}}\n",
        uid('b', 0)
    );
    x
}

/// The reference-depth limit counts references from the rule, as for Cisco object-groups,
/// FortiGate groups and iptables/nftables jumps: a rule -> g`n` -> ... -> g1 chain is `n` levels,
/// accepted at a limit of `n` and an input error at `n - 1`.
#[test]
fn pfsense_and_checkpoint_accept_exactly_the_reference_limit() {
    let d = tmp();
    for limit in [1usize, 4] {
        let arg = limit.to_string();
        // Exactly `limit` levels: accepted.
        let pf = d.path().join(format!("pf-{limit}.xml"));
        std::fs::write(&pf, pfsense_nested(limit)).unwrap();
        let (code, v) = check_json(&[&s(&pf), "--max-reference-depth", &arg]);
        assert_ne!(code, 2, "pfSense, {limit} levels, limit {limit}: {v:#}");
        assert!(
            input_errors(&v).is_empty(),
            "pfSense, {limit} levels: {v:#}"
        );
        let cp = d.path().join(format!("cp-{limit}.json"));
        std::fs::write(&cp, checkpoint_nested(limit)).unwrap();
        let (code, v) = check_json(&[&s(&cp), "--max-reference-depth", &arg]);
        assert_ne!(code, 2, "Check Point, {limit} levels, limit {limit}: {v:#}");
        assert!(
            input_errors(&v).is_empty(),
            "Check Point, {limit} levels: {v:#}"
        );

        // `limit + 1` levels: the innermost group (A1, g1, s1) is past the limit.
        let n = limit + 1;
        let pf = d.path().join(format!("pf-{n}.xml"));
        std::fs::write(&pf, pfsense_nested(n)).unwrap();
        let (code, v) = check_json(&[&s(&pf), "--max-reference-depth", &arg]);
        assert_input_error(
            code,
            &v,
            &s(&pf),
            Some(13),
            &format!("alias `A1` is nested deeper than the reference limit of {limit} levels"),
        );
        let cp = d.path().join(format!("cp-{n}.json"));
        std::fs::write(&cp, checkpoint_nested(n)).unwrap();
        let (code, v) = check_json(&[&s(&cp), "--max-reference-depth", &arg]);
        assert_input_error(
            code,
            &v,
            &s(&cp),
            Some(6),
            &format!("group `g1` is nested deeper than the reference limit of {limit} levels"),
        );
        assert_input_error(
            code,
            &v,
            &s(&cp),
            Some(7 + n as u64),
            &format!("service group `s1` is nested deeper than the reference limit of {limit}"),
        );
    }
}

#[test]
fn limits_section_is_validated() {
    let d = tmp();
    std::fs::write(
        d.path().join("portaudit.yaml"),
        "limits:\n  max-depth: 0\n  max-lines: 3\n",
    )
    .unwrap();
    let out = portaudit()
        .args(["check", "fixtures/aws/sg.json", "--config"])
        .arg(d.path().join("portaudit.yaml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("portaudit.yaml:2:"), "{err}");
    assert!(err.contains("max-lines"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Walking

#[cfg(unix)]
#[test]
fn hostile_folder_never_blocks_or_aborts() {
    use std::os::unix::fs::symlink;
    let d = tmp();
    let dir = d.path();
    std::fs::write(
        dir.join("a.rules"),
        fixture("fixtures/iptables/gateway.rules"),
    )
    .unwrap();
    std::fs::write(dir.join("z.cfg"), fixture("fixtures/asa/edge.cfg")).unwrap();
    let fifo = dir.join("fifo.conf");
    let st = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(st.success());
    symlink("self.conf", dir.join("self.conf")).unwrap();
    symlink(".", dir.join("loop")).unwrap();
    std::fs::create_dir(dir.join("sub")).unwrap();
    symlink("..", dir.join("sub/up")).unwrap();
    symlink("missing.conf", dir.join("dangling.conf")).unwrap();
    symlink("/dev/zero", dir.join("zero.conf")).unwrap();
    symlink("a.rules", dir.join("b-link.rules")).unwrap();

    let (code, v) = check_json(&[&s(dir)]);
    let p = |n: &str| s(&dir.join(n));
    assert_input_error(code, &v, &p("self.conf"), Some(1), "symbolic link loop");
    assert_input_error(
        code,
        &v,
        &p("dangling.conf"),
        Some(1),
        "dangling symbolic link",
    );
    for (n, why) in [
        ("fifo.conf", "FIFO"),
        ("zero.conf", "character device"),
        ("loop", "link to a folder"),
        ("sub/up", "link to a folder"),
    ] {
        let f = file_entry(&v, &p(n));
        assert!(
            f["skipped"].as_str().is_some_and(|s| s.contains(why)),
            "{n}: {f}"
        );
    }
    // The real exports (and a link to one) were still checked.
    for n in ["a.rules", "b-link.rules", "z.cfg"] {
        let f = file_entry(&v, &p(n));
        assert!(f["rules"].as_u64().unwrap() > 0, "{f}");
        assert_eq!(f["incomplete"], false);
    }
    assert!(findings(&v).iter().any(|f| f["file"] == p("z.cfg")));

    // Named on the command line, a FIFO and a device are skipped, never opened.
    let (code, v) = check_json(&[&s(&fifo), "/dev/zero"]);
    assert_eq!(code, 0, "{v:#}");
    assert!(file_entry(&v, "/dev/zero")["skipped"]
        .as_str()
        .unwrap()
        .contains("device"));
}

#[cfg(unix)]
#[test]
fn unreadable_file_is_an_input_error() {
    let d = tmp();
    std::fs::write(
        d.path().join("a.rules"),
        fixture("fixtures/iptables/gateway.rules"),
    )
    .unwrap();
    let bad = d.path().join("secret.conf");
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    if root {
        // chmod 000 does not stop root. /proc/self/mem is a regular file that nobody can read
        // from offset 0 (EIO), which exercises the same path.
        if !Path::new("/proc/self/mem").exists() {
            eprintln!("SKIPPED unreadable_file_is_an_input_error: running as root without /proc");
            return;
        }
        std::os::unix::fs::symlink("/proc/self/mem", &bad).unwrap();
    } else {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(&bad, "config firewall policy\nend\n").unwrap();
        std::fs::set_permissions(&bad, std::fs::Permissions::from_mode(0o000)).unwrap();
    }
    let (code, v) = check_json(&[&s(d.path())]);
    assert_input_error(code, &v, &s(&bad), Some(1), "cannot read");
    assert!(file_entry(&v, &s(&d.path().join("a.rules")))["rules"]
        .as_u64()
        .is_some_and(|n| n > 0));
}

#[test]
fn file_vanishing_mid_run_is_an_input_error() {
    use portaudit::engine::{self, Options, Progress};
    let d = tmp();
    let a = d.path().join("a.rules");
    let b = d.path().join("b.rules");
    std::fs::write(&a, fixture("fixtures/iptables/gateway.rules")).unwrap();
    std::fs::write(&b, fixture("fixtures/iptables/gateway.rules")).unwrap();
    // One worker: files are evaluated in order, and the progress callback after the first one
    // deletes the second, after the walk listed it.
    let victim = b.clone();
    let opts = Options {
        inputs: vec![d.path().to_path_buf()],
        no_config: true,
        threads: Some(1),
        progress: Some(Progress(std::sync::Arc::new(move |done, _| {
            if done == 1 {
                let _ = std::fs::remove_file(&victim);
            }
        }))),
        ..Default::default()
    };
    let run = engine::run(&opts).unwrap_or_else(|(_, e)| panic!("{e:?}"));
    assert!(run.incomplete());
    let gone = run
        .findings
        .iter()
        .find(|f| f.rule == "input-error")
        .expect("an input error for the vanished file");
    assert!(gone.message.contains("b.rules"), "{}", gone.message);
    assert!(gone.message.contains("disappeared"), "{}", gone.message);
    assert!(run.files[0].rules > 0 && !run.files[0].incomplete);
}

// ---------------------------------------------------------------------------------------------
// Truncated exports

/// The fixture cut in the middle of a line past its middle; (path in `dir`, line of the cut).
fn cut(dir: &Path, rel: &str) -> (PathBuf, u64) {
    let bytes = fixture(rel);
    let mut at = bytes.len() / 2;
    while bytes[at] == b'\n' || bytes[at - 1] == b'\n' {
        at += 1;
    }
    let line = bytes[..at].iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    let name = rel.replace('/', "-");
    let p = dir.join(name);
    std::fs::write(&p, &bytes[..at]).unwrap();
    (p, line)
}

#[test]
fn truncated_exports_are_errors_naming_file_and_line() {
    let d = tmp();
    for rel in [
        "fixtures/panos/edge.xml",
        "fixtures/pfsense/edge.xml",
        "fixtures/opnsense/edge.xml",
        "fixtures/aws/sg.json",
        "fixtures/azure/nsg.json",
        "fixtures/gcp/rules.json",
        "fixtures/checkpoint/no-sip.json",
        "fixtures/nftables/gateway.json",
        "fixtures/junos/srx-edge.conf",
        "fixtures/ucontact/compliant.yaml",
        "fixtures/fortios/edge.conf",
    ] {
        let (p, line) = cut(d.path(), rel);
        let (code, v) = check_json(&[&s(&p)]);
        assert_eq!(code, 2, "{rel}: {v:#}");
        let errs = input_errors(&v);
        assert!(!errs.is_empty(), "{rel}: {v:#}");
        for e in &errs {
            assert_eq!(e["file"], s(&p), "{rel}");
            assert!(e["message"].as_str().unwrap().contains(&s(&p)), "{rel}");
            let l = e["line"].as_u64().unwrap();
            assert!(
                l > 1 && l <= line,
                "{rel}: error at line {l}, cut at {line}: {e}"
            );
        }
        assert_eq!(file_entry(&v, &s(&p))["incomplete"], true, "{rel}");
        // The text report says so too.
        let out = portaudit()
            .args(["check", "--no-config"])
            .arg(&p)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("INCOMPLETE"), "{rel}: {text}");
    }
}

#[test]
fn fortigate_unclosed_config_block_names_its_line() {
    let d = tmp();
    let text = String::from_utf8(fixture("fixtures/fortios/edge.conf")).unwrap();
    let at = text.find("config firewall policy").unwrap();
    let line = text[..at].matches('\n').count() as u64 + 1;
    let p = d.path().join("cut.conf");
    std::fs::write(&p, &text[..at + 300]).unwrap();
    let (code, v) = check_json(&[&s(&p)]);
    assert_input_error(
        code,
        &v,
        &s(&p),
        Some(line),
        "`config firewall policy` block opened on line",
    );
}

#[test]
fn truncated_pack_and_config_are_located() {
    let d = tmp();
    let pack = d.path().join("cut-pack.yaml");
    std::fs::write(&pack, "id: cut\nversion: 0.1.0\ntitle: \"never closed\n").unwrap();
    let out = portaudit()
        .args(["check", "--no-config", "--policy"])
        .arg(&pack)
        .arg("fixtures/aws/sg.json")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    // At the quote that is never closed (serde-saphyr 2.2; 2.1 said where the file ends).
    assert!(err.contains("cut-pack.yaml:3:8"), "{err}");
    let cfg = d.path().join("portaudit.yaml");
    std::fs::write(&cfg, "packs:\n  - voip-hygiene\nendpoints: {agents: [\n").unwrap();
    let out = portaudit()
        .args(["check", "--config"])
        .arg(&cfg)
        .arg("fixtures/aws/sg.json")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("portaudit.yaml:"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Panic isolation

#[test]
fn a_panic_is_isolated_to_its_file() {
    if !cfg!(debug_assertions) {
        eprintln!("SKIPPED a_panic_is_isolated_to_its_file: the PORTAUDIT_TEST_PANIC hook exists in debug builds only");
        return;
    }
    let d = tmp();
    std::fs::write(d.path().join("a.cfg"), fixture("fixtures/asa/edge.cfg")).unwrap();
    std::fs::write(
        d.path().join("b.rules"),
        fixture("fixtures/iptables/gateway.rules"),
    )
    .unwrap();
    std::fs::write(
        d.path().join("c.conf"),
        fixture("fixtures/fortios/edge.conf"),
    )
    .unwrap();
    let out = portaudit()
        .env("PORTAUDIT_TEST_PANIC", "b.rules")
        .args(["check", "--no-config", "--format", "json", "-j", "2"])
        .arg(d.path())
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let b = s(&d.path().join("b.rules"));
    assert_input_error(
        out.status.code().unwrap(),
        &v,
        &b,
        Some(1),
        "internal error",
    );
    for n in ["a.cfg", "c.conf"] {
        let f = s(&d.path().join(n));
        assert!(findings(&v)
            .iter()
            .any(|x| x["file"] == f && x["rule"] != "input-error"));
        assert_eq!(file_entry(&v, &f)["incomplete"], false);
    }
    // Nothing about the panic reaches standard error as a crash.
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}

// ---------------------------------------------------------------------------------------------
// Encodings

fn positions(v: &Value) -> Vec<(String, u64, u64, u64, u64)> {
    findings(v)
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_owned(),
                f["line"].as_u64().unwrap(),
                f["column"].as_u64().unwrap(),
                f["end_line"].as_u64().unwrap(),
                f["end_column"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// `b` with every `from` replaced by `to`.
fn replace_bytes(b: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    let mut hits = 0;
    while i < b.len() {
        if b[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
            hits += 1;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    assert!(hits > 0, "{} not found", String::from_utf8_lossy(from));
    out
}

/// BOM, CRLF and Windows-1252 variants of a fixture (edited: `from` replaced by `to_1252`, or by
/// its UTF-8 decoding `decoded`) give the same findings at the same lines and columns as the
/// UTF-8 edit; `expect` is one finding's exact (rule, line, column, end line, end column), in
/// characters. The text report shows the decoded characters.
fn encodings_keep_spans(
    rel: &str,
    from: &[u8],
    to_1252: &[u8],
    decoded: &str,
    expect: (&str, u64, u64, u64, u64),
) {
    let d = tmp();
    let orig = fixture(rel);
    let utf8 = replace_bytes(&orig, from, decoded.as_bytes());
    let cp1252 = replace_bytes(&orig, from, to_1252);
    let name = rel.rsplit('/').next().unwrap();
    let utf8_path = d.path().join(format!("utf8-{name}"));
    std::fs::write(&utf8_path, &utf8).unwrap();
    let base = {
        let (_, v) = check_json(&[&s(&utf8_path)]);
        positions(&v)
    };
    let expect = (expect.0.to_owned(), expect.1, expect.2, expect.3, expect.4);
    assert!(base.contains(&expect), "{rel}: {base:?}");
    let crlf = |b: &[u8]| replace_bytes(b, b"\n", b"\r\n");
    let variants = [
        ("bom", [b"\xEF\xBB\xBF".as_slice(), &utf8].concat()),
        ("crlf", crlf(&utf8)),
        (
            "bom-crlf",
            [b"\xEF\xBB\xBF".as_slice(), &crlf(&utf8)].concat(),
        ),
        ("cp1252", cp1252.clone()),
        ("cp1252-crlf", crlf(&cp1252)),
    ];
    for (what, bytes) in variants {
        let p = d.path().join(format!("{what}-{name}"));
        std::fs::write(&p, bytes).unwrap();
        let (code, v) = check_json(&[&s(&p)]);
        assert_ne!(code, 2, "{rel} {what}: {v:#}");
        assert_eq!(positions(&v), base, "{rel} {what}");
        let out = portaudit()
            .args(["check", "--no-config"])
            .arg(&p)
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.contains(decoded),
            "{rel} {what}: {decoded} not in {text}"
        );
    }
}

#[test]
fn fortigate_bom_crlf_and_windows_1252() {
    // 0xE9 is é and 0x96 an en dash in Windows-1252 (0x96 is a C1 control in Latin-1).
    encodings_keep_spans(
        "fixtures/fortios/edge.conf",
        b"\"pbx-telnet\"",
        b"\"pbx\xe9tel\x96et\"",
        "pbxétel–et",
        ("PCI-1.2.6-TELNET", 203, 5, 212, 9),
    );
}

#[test]
fn asa_bom_crlf_and_windows_1252() {
    encodings_keep_spans(
        "fixtures/asa/edge.cfg",
        b"web",
        b"w\xe9b\x94",
        "wéb”",
        ("PCI-1.2.6-HTTP", 67, 1, 67, 82),
    );
}

#[test]
fn iptables_bom_crlf_and_windows_1252() {
    // Put the 1252 bytes on the finding's own line, before its end, in a rule comment.
    encodings_keep_spans(
        "fixtures/iptables/sip-helper-on.rules",
        b"--dport 5060 -j CT --helper sip",
        b"--dport 5060 -m comment --comment \"caf\xe9\" -j CT --helper sip",
        "--dport 5060 -m comment --comment \"caf\u{e9}\" -j CT --helper sip",
        ("VOIP-SIP-ALG-OFF", 5, 1, 5, 88),
    );
}

// ---------------------------------------------------------------------------------------------
// Atomic --output

#[test]
fn failed_run_leaves_output_untouched_and_no_partial_file() {
    let d = tmp();
    let out_file = d.path().join("report.sarif");
    std::fs::write(&out_file, "previous report\n").unwrap();
    // A setup error (unknown pack): exit 2, the old report is untouched.
    let st = portaudit()
        .args([
            "check",
            "--no-config",
            "--pack",
            "nope",
            "--format",
            "sarif",
            "-o",
        ])
        .arg(&out_file)
        .arg("fixtures/aws/sg.json")
        .output()
        .unwrap();
    assert_eq!(st.status.code(), Some(2));
    assert_eq!(
        std::fs::read_to_string(&out_file).unwrap(),
        "previous report\n"
    );
    // The report cannot be renamed into place (a folder is in the way): no temporary file is
    // left behind.
    let blocked = d.path().join("blocked.sarif");
    std::fs::create_dir(&blocked).unwrap();
    std::fs::write(blocked.join("keep"), "x").unwrap();
    let st = portaudit()
        .args(["check", "--no-config", "--format", "sarif", "-o"])
        .arg(&blocked)
        .arg("fixtures/aws/sg.json")
        .output()
        .unwrap();
    assert_eq!(st.status.code(), Some(2));
    let names: Vec<String> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.ends_with(".tmp")), "{names:?}");
    assert!(blocked.join("keep").is_file());
    // A successful run replaces the old report whole.
    let st = portaudit()
        .args(["check", "--no-config", "--format", "sarif", "-o"])
        .arg(&out_file)
        .arg("fixtures/aws/sg.json")
        .output()
        .unwrap();
    assert_eq!(st.status.code(), Some(1));
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&out_file).unwrap()).unwrap();
    assert_eq!(v["version"], "2.1.0");
}

// ---------------------------------------------------------------------------------------------
// Secret redaction sweep

/// Every secret seeded in tests/data/hostile/secrets/ (placed next to or inside the spans of
/// findings, so snippets show their lines).
const SECRETS: &[&str] = &[
    "SECRETFORTI1xx", // FortiGate set password ENC
    "SECRETFORTI2xx", // FortiGate set psksecret ENC
    "SECRETASA1xx",   // enable password
    "SECRETASA2xx",   // username .. password
    "SECRETASA3xx",   // snmp-server community
    "SECRETASA4xx",   // ikev1 pre-shared-key
    "SECRETIOS1xx",   // enable secret 5
    "SECRETIOS2xx",   // username .. secret 9
    "SECRETIOS3xx",   // snmp-server community
    "SECRETIOS4xx",   // crypto isakmp key
    "SECRETJUNOS1xx", // pre-shared-key ascii-text
    "SECRETJUNOS2xx", // encrypted-password
    "SECRETPAN1xx",   // PAN-OS phash
    "SECRETPF1xx",    // pfSense password
    "SECRETPF2xx",    // pfSense bcrypt-hash
    "SECRETOPN1xx",   // OPNsense password
    "SECRETROS1xx",   // RouterOS password=
    "AKIASECRETAWSKEY0001",
    "SECRETAWS2xx", // AWS SecretAccessKey
];

#[test]
fn no_output_format_leaks_a_secret() {
    let dir = "tests/data/hostile/secrets";
    let mut shown = Vec::new();
    for fmt in [
        "text", "json", "sarif", "markdown", "html", "github", "junit",
    ] {
        let out = portaudit()
            .args(["check", "--no-config", "--verbose", "--format", fmt, dir])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{fmt}");
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        for s in SECRETS {
            assert!(!text.contains(s), "{fmt} output leaks {s}");
        }
        shown.push(text);
    }
    // The secrets' lines were shown, masked (in the text or the HTML report): the sweep is not
    // vacuous.
    let html_escape = |m: &str| {
        m.replace('&', "&amp;")
            .replace('"', "&quot;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    for masked in [
        "set password ENC **************",
        "set psksecret ENC **************",
        "ikev1 pre-shared-key ************",
        "enable secret 5 ************",
        "<phash>************</phash>",
        "\"SecretAccessKey\": \"************\"",
    ] {
        assert!(
            shown[0].contains(masked) || shown[4].contains(&html_escape(masked)),
            "{masked} not shown"
        );
    }
    // Each seeded file holds its secrets (so a renamed fixture cannot make the test pass).
    let all: String = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    for s in SECRETS {
        assert!(all.contains(s), "{s} not seeded");
    }
}

/// A nested-group export for the reference-depth tests: the rule's source is g`n`, g`k` holds
/// g`k-1` and g1 holds the address 198.51.100.20; where the format has service groups the rule's
/// service is s`n`, s`k` holding s`k-1` and s1 holding telnet. `n` levels of reference each.
struct Nested {
    what: &'static str,
    ext: &'static str,
    text: String,
    /// Line of g1's definition, and of s1's when there are service groups.
    g1: u64,
    s1: Option<u64>,
}

/// The member of level `k` of a nested chain: the leaf at level 1, else level `k - 1` of the
/// same chain (`prefix` names it: `g`, `address-set g`, ...).
fn link(k: usize, leaf: &str, prefix: &str) -> String {
    if k == 1 {
        leaf.to_string()
    } else {
        format!("{prefix}{}", k - 1)
    }
}

/// PAN-OS set commands: h1 on line 4, g`k` on line 4 + k, telnet on line 5 + n, s`k` on line
/// 5 + n + k.
fn panos_set_nested(n: usize) -> Nested {
    let mut x = String::from(
        "set deviceconfig system hostname pa-deep\nset zone untrust network layer3 ethernet1/1\nset zone trust network layer3 ethernet1/2\nset address h1 ip-netmask 198.51.100.20/32\n",
    );
    for k in 1..=n {
        let m = link(k, "h1", "g");
        x += &format!("set address-group g{k} static [ {m} ]\n");
    }
    x += "set service telnet protocol tcp port 23\n";
    for k in 1..=n {
        let m = link(k, "telnet", "s");
        x += &format!("set service-group s{k} members [ {m} ]\n");
    }
    for line in [
        "from untrust".to_string(),
        "to trust".into(),
        format!("source g{n}"),
        "destination any".into(),
        format!("service s{n}"),
        "application any".into(),
        "action allow".into(),
    ] {
        x += &format!("set rulebase security rules \"deep\" {line}\n");
    }
    Nested {
        what: "PAN-OS set",
        ext: "set",
        text: x,
        g1: 5,
        s1: Some(6 + n as u64),
    }
}

/// PAN-OS XML: h1 on line 12, g`k` on line 14 + k, telnet on line 17 + n, s`k` on line
/// 19 + n + k.
fn panos_xml_nested(n: usize) -> Nested {
    let mut x = String::from(
        "<?xml version=\"1.0\"?>\n<config version=\"10.1.0\">\n<devices>\n<entry name=\"localhost.localdomain\">\n<vsys>\n<entry name=\"vsys1\">\n<zone>\n<entry name=\"untrust\"><network><layer3><member>ethernet1/1</member></layer3></network></entry>\n<entry name=\"trust\"><network><layer3><member>ethernet1/2</member></layer3></network></entry>\n</zone>\n<address>\n<entry name=\"h1\"><ip-netmask>198.51.100.20/32</ip-netmask></entry>\n</address>\n<address-group>\n",
    );
    for k in 1..=n {
        let m = link(k, "h1", "g");
        x += &format!("<entry name=\"g{k}\"><static><member>{m}</member></static></entry>\n");
    }
    x += "</address-group>\n<service>\n<entry name=\"telnet\"><protocol><tcp><port>23</port></tcp></protocol></entry>\n</service>\n<service-group>\n";
    for k in 1..=n {
        let m = link(k, "telnet", "s");
        x += &format!("<entry name=\"s{k}\"><members><member>{m}</member></members></entry>\n");
    }
    x += &format!(
        "</service-group>\n<rulebase><security><rules>\n<entry name=\"deep\"><from><member>untrust</member></from><to><member>trust</member></to><source><member>g{n}</member></source><destination><member>any</member></destination><service><member>s{n}</member></service><application><member>any</member></application><action>allow</action></entry>\n</rules></security></rulebase>\n</entry>\n</vsys>\n</entry>\n</devices>\n</config>\n"
    );
    Nested {
        what: "PAN-OS XML",
        ext: "xml",
        text: x,
        g1: 15,
        s1: Some(20 + n as u64),
    }
}

/// Junos set form: h1 on line 5, g`k` on line 5 + k, a1 on line 6 + n, s`k` on line 6 + n + k.
fn junos_set_nested(n: usize) -> Nested {
    let mut x = String::from(
        "set version 21.4R3\nset system host-name srx-deep\nset security zones security-zone trust interfaces ge-0/0/1.0\nset security zones security-zone untrust interfaces ge-0/0/0.0\nset security address-book global address h1 198.51.100.20/32\n",
    );
    for k in 1..=n {
        let m = link(k, "address h1", "address-set g");
        x += &format!("set security address-book global address-set g{k} {m}\n");
    }
    x += "set applications application a1 protocol tcp destination-port 23\n";
    for k in 1..=n {
        let m = link(k, "application a1", "application-set s");
        x += &format!("set applications application-set s{k} {m}\n");
    }
    let p = "set security policies from-zone untrust to-zone trust policy deep";
    x += &format!(
        "{p} match source-address g{n}\n{p} match destination-address any\n{p} match application s{n}\n{p} then permit\n"
    );
    Nested {
        what: "Junos set",
        ext: "set",
        text: x,
        g1: 6,
        s1: Some(7 + n as u64),
    }
}

/// Junos curly form: g`k`'s `address-set` block opens on line 2 + 3k.
fn junos_curly_nested(n: usize) -> Nested {
    let mut x = String::from(
        "system {\n    host-name srx-deep;\n}\nsecurity {\n    address-book {\n        global {\n            address h1 198.51.100.20/32;\n",
    );
    for k in 1..=n {
        let m = link(k, "address h1", "address-set g");
        x += &format!("            address-set g{k} {{\n                {m};\n            }}\n");
    }
    x += &format!(
        "        }}\n    }}\n    zones {{\n        security-zone trust {{\n            interfaces {{\n                ge-0/0/1.0;\n            }}\n        }}\n        security-zone untrust {{\n            interfaces {{\n                ge-0/0/0.0;\n            }}\n        }}\n    }}\n    policies {{\n        from-zone untrust to-zone trust {{\n            policy deep {{\n                match {{\n                    source-address g{n};\n                    destination-address any;\n                    application junos-telnet;\n                }}\n                then {{\n                    permit;\n                }}\n            }}\n        }}\n    }}\n}}\n"
    );
    Nested {
        what: "Junos curly",
        ext: "conf",
        text: x,
        g1: 8,
        s1: None,
    }
}

/// FortiGate: g`k`'s `edit` on line 5 + 3k, s`k`'s on line 12 + 3n + 3k.
fn fortigate_nested(n: usize) -> Nested {
    let mut x = String::from(
        "#config-version=FGT60F-7.2.5-FW-build1517:opmode=0:vdom=0:user=admin\nconfig firewall address\n    edit \"h1\"\n        set subnet 198.51.100.20 255.255.255.255\n    next\nend\nconfig firewall addrgrp\n",
    );
    for k in 1..=n {
        let m = link(k, "h1", "g");
        x += &format!("    edit \"g{k}\"\n        set member \"{m}\"\n    next\n");
    }
    x += "end\nconfig firewall service custom\n    edit \"tel\"\n        set tcp-portrange 23\n    next\nend\nconfig firewall service group\n";
    for k in 1..=n {
        let m = link(k, "tel", "s");
        x += &format!("    edit \"s{k}\"\n        set member \"{m}\"\n    next\n");
    }
    x += &format!(
        "end\nconfig firewall policy\n    edit 1\n        set name \"deep\"\n        set srcintf \"wan\"\n        set dstintf \"lan\"\n        set action accept\n        set srcaddr \"g{n}\"\n        set dstaddr \"all\"\n        set schedule \"always\"\n        set service \"s{n}\"\n    next\nend\n"
    );
    Nested {
        what: "FortiGate",
        ext: "conf",
        text: x,
        g1: 8,
        s1: Some(15 + 3 * n as u64),
    }
}

/// The telnet findings on the rule `deep`, as (uncertain, message).
fn telnet_on_deep(v: &Value) -> Vec<(bool, String)> {
    findings(v)
        .iter()
        .filter(|f| {
            let m = f["message"].as_str().unwrap();
            f["rule"].as_str().unwrap().ends_with("TELNET")
                && (m.contains("\"deep\"") || m.contains("policy deep"))
        })
        .map(|f| {
            (
                f["uncertain"].as_bool().unwrap(),
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Junos, PAN-OS (XML and set) and FortiGate count levels like every other format: a rule ->
/// g`n` -> ... -> g1 chain is `n` levels, accepted at a limit of `n`; at `n - 1`, g1 (and s1) is an input
/// error at its definition, the file is incomplete and the rule stays uncertain (never a rule
/// silently widened to "any" and presented as certain).
#[test]
fn junos_panos_fortigate_accept_exactly_the_reference_limit() {
    let d = tmp();
    let gens: [fn(usize) -> Nested; 5] = [
        fortigate_nested,
        panos_set_nested,
        panos_xml_nested,
        junos_set_nested,
        junos_curly_nested,
    ];
    for gen in gens {
        for limit in [1usize, 3, 4] {
            let arg = limit.to_string();
            // Exactly `limit` levels: accepted, and exact.
            let x = gen(limit);
            let f = d
                .path()
                .join(format!("{}-{limit}.{}", x.what.replace(' ', "-"), x.ext));
            std::fs::write(&f, &x.text).unwrap();
            let (code, v) = check_json(&[&s(&f), "--max-reference-depth", &arg]);
            let case = format!("{}, {limit} levels, limit {limit}", x.what);
            assert_ne!(code, 2, "{case}: {v:#}");
            assert!(input_errors(&v).is_empty(), "{case}: {v:#}");
            let t = telnet_on_deep(&v);
            assert!(!t.is_empty(), "{case}: no telnet finding: {v:#}");
            for (uncertain, message) in &t {
                assert!(
                    !uncertain && message.contains("198.51.100.20"),
                    "{case}: {t:?}"
                );
            }

            // `limit + 1` levels: the innermost group is past the limit.
            let n = limit + 1;
            let x = gen(n);
            let f = d
                .path()
                .join(format!("{}-{n}.{}", x.what.replace(' ', "-"), x.ext));
            std::fs::write(&f, &x.text).unwrap();
            let (code, v) = check_json(&[&s(&f), "--max-reference-depth", &arg]);
            let case = format!("{}, {n} levels, limit {limit}", x.what);
            let needle = format!(" is nested deeper than the reference limit of {limit} levels");
            let hit = input_errors(&v).iter().any(|e| {
                let m = e["message"].as_str().unwrap();
                e["line"] == x.g1
                    && ["g1", "`g1`", "\"g1\""]
                        .iter()
                        .any(|g| m.contains(&format!(" {g}{needle}")))
            });
            assert!(hit, "{case}: no input error at g1 (line {}): {v:#}", x.g1);
            assert_input_error_in(&case, code, &v, &s(&f), Some(x.g1), "nested deeper");
            if let Some(s1) = x.s1 {
                assert_input_error_in(&case, code, &v, &s(&f), Some(s1), "s1");
            }
            assert_eq!(
                input_errors(&v).len(),
                1 + x.s1.iter().count(),
                "{case}: only the innermost groups are past the limit: {v:#}"
            );
            let t = telnet_on_deep(&v);
            assert!(!t.is_empty(), "{case}: no telnet finding: {v:#}");
            for (uncertain, _) in &t {
                assert!(
                    uncertain,
                    "{case}: the widened rule must stay uncertain: {t:?}"
                );
            }
        }
    }
}

/// A group reached first through a short path and again through a longer one is checked on the
/// longer one too: g6 holds g2 and g4, g4 -> g3 -> g2 -> g1 -> host, so rule -> g6 -> g4 -> g3
/// -> g2 -> g1 is 5 levels although g2 was already resolved at level 2. Memos are per depth
/// (PAN-OS, Check Point) and so is the Cisco walk's "already walked" set.
#[test]
fn a_group_reached_again_deeper_is_checked_again() {
    let d = tmp();
    let asa = d.path().join("diamond.cfg");
    std::fs::write(
        &asa,
        "ASA Version 9.16(2)\n!\nhostname deep-asa\ninterface GigabitEthernet0/0\n nameif outside\n security-level 0\n ip address 203.0.113.10 255.255.255.0\n!\nobject-group network g1\n network-object host 198.51.100.20\nobject-group network g2\n group-object g1\nobject-group network g3\n group-object g2\nobject-group network g4\n group-object g3\nobject-group network g6\n group-object g2\n group-object g4\n!\naccess-list outside_in extended permit tcp object-group g6 any eq telnet\naccess-group outside_in in interface outside\n",
    )
    .unwrap();
    let pa = d.path().join("diamond.set");
    std::fs::write(
        &pa,
        "set deviceconfig system hostname pa-deep\nset zone untrust network layer3 ethernet1/1\nset zone trust network layer3 ethernet1/2\nset address h1 ip-netmask 198.51.100.20/32\nset address-group g1 static [ h1 ]\nset address-group g2 static [ g1 ]\nset address-group g3 static [ g2 ]\nset address-group g4 static [ g3 ]\nset address-group g6 static [ g2 g4 ]\nset rulebase security rules \"deep\" from untrust\nset rulebase security rules \"deep\" to trust\nset rulebase security rules \"deep\" source g6\nset rulebase security rules \"deep\" destination any\nset rulebase security rules \"deep\" service any\nset rulebase security rules \"deep\" application any\nset rulebase security rules \"deep\" action allow\n",
    )
    .unwrap();
    // Check Point: checkpoint_nested(4) with a g6 holding g2 and g4 as the rule's source.
    let uid = |k: usize| format!("a0000000-0000-0000-0000-{k:012}");
    let cp_text = checkpoint_nested(4).replacen(&uid(4), &uid(6), 1).replacen(
        "\"objects-dictionary\": [\n",
        &format!(
            "\"objects-dictionary\": [\n{{\"uid\": \"{}\", \"name\": \"g6\", \"type\": \"group\", \"members\": [\"{}\", \"{}\"]}},\n",
            uid(6),
            uid(2),
            uid(4)
        ),
        1,
    );
    let cp = d.path().join("diamond.json");
    std::fs::write(&cp, cp_text).unwrap();
    for (file, needle) in [
        (
            s(&asa),
            "object-group g1 is nested deeper than the reference limit of 4",
        ),
        (
            s(&pa),
            "address-group `g1` is nested deeper than the reference limit of 4",
        ),
        (
            s(&cp),
            "group `g1` is nested deeper than the reference limit of 4",
        ),
    ] {
        let (code, v) = check_json(&[&file, "--max-reference-depth", "4"]);
        assert_input_error(code, &v, &file, None, needle);
        let (code, v) = check_json(&[&file, "--max-reference-depth", "5"]);
        assert_ne!(code, 2, "{file}: not accepted at 5 levels: {v:#}");
    }
}
