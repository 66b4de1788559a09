use super::*;
use crate::engine::flow::{classify, Decider, Fate, Part};
use crate::sets::NameSet;
use crate::source::Encoding;

const SIP: &str = include_str!("../../../fixtures/checkpoint/sip-inspected.json");
const NO_SIP: &str = include_str!("../../../fixtures/checkpoint/no-sip.json");

fn load(name: &str, text: &str) -> (SourceFile, Config) {
    let f = SourceFile::from_text(FileId(0), name.into(), None, text.into(), Encoding::Utf8);
    let c = parse(&f, &Limits::default());
    (f, c)
}

fn ip(s: &str) -> AddrSet {
    sets::parse_net(s).unwrap()
}

fn has(set: &AddrSet, a: &str) -> bool {
    set.contains(sets::addr_value(a.parse().unwrap()))
}

fn flow(p: u128, src: &str, dst: &str, lo: u128, hi: u128) -> Space {
    Space {
        proto: ProtoSet::single(p),
        src: ip(src),
        dst: ip(dst),
        sport: PortSet::full(),
        dport: PortSet::range(lo, hi),
        src_zone: NameSet::Any,
        dst_zone: NameSet::Any,
    }
}

fn ports(parts: &[Part], fate: Fate) -> PortSet {
    parts
        .iter()
        .filter(|p| p.fate == fate)
        .fold(PortSet::empty(), |a, p| a.union(&p.space.dport))
}

#[test]
fn rules_in_order_with_object_spans() {
    let (f, c) = load("sip-inspected.json", SIP);
    assert_eq!(c.format, Format::Checkpoint);
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    let ch = &c.filter.chains[0];
    assert_eq!(ch.name, "layer \"Network\"");
    let names: Vec<&str> = ch.rules.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "rule 1 \"block low rtp\"",
            "rule 2 \"rtp to sbc\"",
            "rule 3 \"sip signalling\"",
            "rule 4 \"old any\"",
            "rule 5 \"not agents high ports\"",
            "rule 6 \"everything but web\"",
            "rule 7 \"loop\"",
        ]
    );
    let root: serde_json::Value = serde_json::from_str(SIP).unwrap();
    for r in &ch.rules {
        let s = f.slice(r.span);
        assert!(s.starts_with('{') && s.ends_with('}'), "{s}");
        // the slice is exactly one rule object
        let v: serde_json::Value = serde_json::from_str(s).expect("rule span is a JSON object");
        assert_eq!(v["type"], "access-rule");
        assert!(r.name.contains(v["name"].as_str().unwrap()));
    }
    assert_eq!(root["rulebase"][2]["type"], "access-section");
    // implicit cleanup rule
    assert_eq!(ch.default.action, Action::Deny);
    assert!(ch.default.implicit);
    assert_eq!(f.slice(ch.default.span), "\"Network\"");
    assert_eq!(c.filter.entries.len(), 1);
    assert_eq!(c.filter.entries[0].stages, vec![0]);
}

#[test]
fn actions_negation_groups_and_ports() {
    let (_, c) = load("sip-inspected.json", SIP);
    let r = &c.filter.chains[0].rules;
    assert_eq!(r[0].action, Action::Deny);
    assert_eq!(r[0].matches[0].dport, PortSet::range(10000, 12000));
    assert_eq!(r[0].matches[0].dst, ip("192.0.2.10"));
    // nested group: carrier-net + (agents range + sbc-1)
    let src = &r[1].matches[0].src;
    assert!(has(src, "198.51.100.77"));
    assert!(has(src, "10.10.0.50"));
    assert!(!has(src, "10.10.0.51"));
    assert!(has(src, "192.0.2.10"));
    assert!(r[1].unmodeled.is_empty(), "{:?}", r[1].unmodeled);
    // disabled
    assert!(!r[3].enabled);
    // source-negate + ">1023"
    let m = &r[4].matches[0];
    assert!(!has(&m.src, "10.10.0.7"));
    assert!(has(&m.src, "10.10.1.7"));
    assert_eq!(m.dport, PortSet::range(1024, 65535));
    // service-negate: everything except tcp/5061
    let neg = &r[5].matches;
    let tcp = neg
        .iter()
        .find(|m| m.proto == ProtoSet::single(proto::TCP))
        .unwrap();
    assert!(!tcp.dport.contains(5061));
    assert!(tcp.dport.contains(5060));
    assert!(neg
        .iter()
        .any(|m| m.proto == ProtoSet::single(proto::UDP) && m.dport.is_full()));
    assert!(neg.iter().any(|m| m.proto.contains(proto::ICMP)));
    // group cycle: flagged, side left open
    assert!(r[6].unmodeled.iter().any(|n| n.contains("cycle")));
    assert!(r[6].matches[0].src.is_full());
}

#[test]
fn verdict_partly_blocked_by_earlier_rule() {
    let (_, c) = load("sip-inspected.json", SIP);
    let parts = classify(
        &c.filter,
        &c.filter.entries[0],
        &[flow(proto::UDP, "198.51.100.5", "192.0.2.10", 10000, 20000)],
        8,
    );
    assert_eq!(ports(&parts, Fate::Allow), PortSet::range(12001, 20000));
    assert_eq!(ports(&parts, Fate::Deny), PortSet::range(10000, 12000));
    for p in &parts {
        let want = if p.fate == Fate::Deny { 0 } else { 1 };
        assert_eq!(
            p.decider,
            Decider::Rule {
                chain: 0,
                rule: want
            }
        );
    }
    assert_eq!(c.filter.chains[0].rules[0].name, "rule 1 \"block low rtp\"");
}

#[test]
fn verdict_service_group_passes() {
    let (_, c) = load("sip-inspected.json", SIP);
    for p in [proto::UDP, proto::TCP] {
        let parts = classify(
            &c.filter,
            &c.filter.entries[0],
            &[flow(p, "198.51.100.9", "192.0.2.10", 5060, 5060)],
            8,
        );
        assert!(!parts.is_empty());
        for part in &parts {
            assert_eq!(part.fate, Fate::Allow);
            assert_eq!(part.decider, Decider::Rule { chain: 0, rule: 2 });
        }
    }
    // elsewhere: the last rule (a drop from a cyclic group) decides, flagged as uncertain
    let parts = classify(
        &c.filter,
        &c.filter.entries[0],
        &[flow(proto::UDP, "198.51.100.9", "192.0.2.99", 5060, 5060)],
        8,
    );
    assert!(parts.iter().all(|p| p.fate == Fate::Deny
        && p.decider == Decider::Rule { chain: 0, rule: 6 }
        && p.uncertain_via == vec![(0, 6)]));
}

#[test]
fn sip_inspection_on_when_a_sip_service_is_accepted() {
    let (f, c) = load("sip-inspected.json", SIP);
    let alg = c.features.sip_alg.as_ref().unwrap();
    assert!(alg.enabled);
    assert!(!alg.default);
    let r3 = &c.filter.chains[0].rules[2];
    assert_eq!(alg.span, r3.span);
    assert!(alg.reason.contains("sip"));
    assert_eq!(r3.inspection.len(), 2);
    assert!(r3
        .inspection
        .iter()
        .all(|i| i.kind == InspectionKind::SipAlg));
    assert!(f.slice(r3.inspection[0].span).starts_with('['));
    assert!(c.features.ips.is_none());
}

#[test]
fn sip_inspection_off_without_sip_service() {
    // only sip_tls_not_inspected and a plain udp/5060 service are accepted; `sip` is used by a
    // drop rule and `sip-tcp` by a disabled rule
    let (_, c) = load("no-sip.json", NO_SIP);
    let alg = c.features.sip_alg.as_ref().unwrap();
    assert!(!alg.enabled);
    assert!(alg.default);
    assert!(alg.reason.contains("no enabled accept rule"));
    assert!(c.features.ips.is_none());
}

#[test]
fn layers_are_stages_and_inline_layers_are_gotos() {
    let text = r#"[
 {"uid": "L1", "name": "Network", "rulebase": [
   {"uid": "r1", "type": "access-rule", "rule-number": 1, "name": "to inline", "source": ["ANY"], "destination": ["ANY"], "service": ["ANY"], "action": "APPLY", "inline-layer": "L3", "enabled": true}
 ], "objects-dictionary": [
   {"uid": "ANY", "name": "Any", "type": "CpmiAnyObject"},
   {"uid": "APPLY", "name": "Apply Layer", "type": "RulebaseAction"},
   {"uid": "ACC", "name": "Accept", "type": "RulebaseAction"},
   {"uid": "SSH", "name": "ssh", "type": "service-tcp", "port": "22"}
 ]},
 {"uid": "L2", "name": "Second", "implicit-cleanup-action": "accept", "rulebase": []},
 {"uid": "L3", "name": "Inline", "rulebase": [
   {"uid": "r2", "type": "access-rule", "rule-number": 1, "source": ["ANY"], "destination": ["ANY"], "service": ["SSH"], "action": "ACC"}
 ]}
]"#;
    let (f, c) = load("layers.json", text);
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    assert_eq!(c.filter.chains.len(), 3);
    assert_eq!(c.filter.entries[0].stages, vec![0, 1]);
    assert_eq!(c.filter.chains[0].rules[0].action, Action::Goto(2));
    assert_eq!(c.filter.chains[1].default.action, Action::Allow);
    assert!(!c.filter.chains[1].default.implicit);
    assert_eq!(f.slice(c.filter.chains[1].default.span), "\"accept\"");
    let parts = classify(
        &c.filter,
        &c.filter.entries[0],
        &[flow(proto::TCP, "10.0.0.1", "10.0.0.2", 20, 23)],
        8,
    );
    assert_eq!(ports(&parts, Fate::Allow), PortSet::single(22));
    assert_eq!(
        ports(&parts, Fate::Deny),
        PortSet::from_ranges([(20, 21), (23, 23)])
    );
}

#[test]
fn unknown_actions_and_columns_are_flagged() {
    let text = r#"{"uid": "L1", "name": "Network", "rulebase": [
   {"uid": "r1", "type": "access-rule", "rule-number": 1, "name": "ask", "source": ["GONE"], "destination": ["ANY"], "service": ["ANY"], "action": "ASK", "time": ["T"], "install-on": ["GW"]}
 ], "objects-dictionary": [
   {"uid": "ANY", "name": "Any", "type": "CpmiAnyObject"},
   {"uid": "ASK", "name": "Ask", "type": "RulebaseAction"},
   {"uid": "T", "name": "weekdays", "type": "time"},
   {"uid": "GW", "name": "gw-2", "type": "simple-gateway"}
 ]}"#;
    let (_, c) = load("u.json", text);
    let r = &c.filter.chains[0].rules[0];
    assert!(matches!(r.action, Action::Unknown(_)));
    assert!(r.unmodeled.iter().any(|n| n.contains("GONE")));
    assert!(r.unmodeled.iter().any(|n| n.contains("weekdays")));
    assert!(r.unmodeled.iter().any(|n| n.contains("gw-2")));
    assert!(c.unparsed.iter().any(|u| u.reason.contains("Ask")));
}

#[test]
fn objects_only_gaia_and_broken_inputs() {
    let (_, c) = load(
        "hosts.json",
        r#"[{"objects": [{"uid": "u", "name": "h", "type": "host", "ipv4-address": "10.0.0.1", "domain": {"uid": "d", "name": "SMC User", "domain-type": "domain"}}], "from": 1, "to": 1, "total": 1}]"#,
    );
    assert_eq!(c.rule_count(), 0);
    assert!(c.errors.is_empty());
    assert!(c.features.sip_alg.is_none());
    let (f, c) = load(
        "gaia.txt",
        "#\n# Language version: 13.4v1\n#\nset hostname gw1\nset interface eth0 state on\n",
    );
    assert_eq!(c.name.as_deref(), Some("gw1"));
    assert_eq!(c.unparsed.len(), 1);
    assert_eq!(f.slice(c.unparsed[0].span), "set hostname gw1");
    // truncated JSON
    let cut = &SIP[..SIP.len() / 2];
    let (_, c) = load("cut.json", cut);
    assert_eq!(c.errors.len(), 1);
    assert!(c.errors[0].message.contains("truncated"));
    // deep nesting is refused
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let (_, c) = load("deep.json", &deep);
    assert_eq!(c.errors.len(), 1);
    for junk in [
        "",
        "{",
        "[",
        "\"\\u12",
        "{\"rulebase\": 5}",
        "[{\"rulebase\": [1, null, {}]}]",
        "{\"a\":1}x",
    ] {
        let _ = load("junk.json", junk);
    }
    // escapes and non-ASCII in strings keep spans right
    let text = "{\"uid\":\"L\",\"name\":\"N\\u00e9t \\ud83d\\ude00\",\"rulebase\":[{\"uid\":\"r\",\"name\":\"caf\u{e9}\",\"rule-number\":1,\"action\":\"Accept\"}]}";
    let (f, c) = load("esc.json", text);
    assert_eq!(c.filter.chains[0].name, "layer \"N\u{e9}t \u{1f600}\"");
    let r = &c.filter.chains[0].rules[0];
    assert_eq!(r.action, Action::Allow);
    assert!(f.slice(r.span).starts_with("{\"uid\":\"r\"") && f.slice(r.span).ends_with('}'));
}

#[test]
fn sniffing() {
    assert!(sniff("a.json", SIP) >= 80);
    assert!(sniff("a.json", NO_SIP) >= 80);
    assert_eq!(
        sniff(
            "sg.json",
            r#"{"SecurityGroups": [{"GroupId": "sg-1", "IpPermissions": [{"IpProtocol": "udp"}]}]}"#
        ),
        0
    );
    assert_eq!(
        sniff(
            "nsg.json",
            r#"{"id": "/subscriptions/x", "etag": "W/1", "properties": {"securityRules": []}}"#
        ),
        0
    );
    assert_eq!(
        sniff("p.xml", "<?xml version=\"1.0\"?><pfsense></pfsense>"),
        0
    );
    assert_eq!(
        sniff(
            "pa.set",
            "set deviceconfig system hostname x\nset rulebase security rules a action allow\n"
        ),
        0
    );
    assert_eq!(
        sniff(
            "j.set",
            "set security policies from-zone a to-zone b policy p then permit\n"
        ),
        0
    );
}

#[test]
fn corpus_copies_are_detected_and_parse() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/checkpoint/corpus");
    let mut n = 0;
    for e in std::fs::read_dir(dir).expect("fixtures/checkpoint/corpus") {
        let path = e.expect("entry").path();
        let bytes = std::fs::read(&path).expect("read");
        let f = SourceFile::from_bytes(FileId(0), path.display().to_string(), None, &bytes);
        assert_eq!(
            super::super::detect(&f),
            Format::Checkpoint,
            "{}",
            path.display()
        );
        let c = parse(&f, &Limits::default());
        assert!(c.errors.is_empty(), "{}: {:?}", path.display(), c.errors);
        if path.ends_with("batfish_cp_show-access-rulebase.json") {
            assert_eq!(c.rule_count(), 4);
            assert_eq!(c.filter.chains.len(), 3);
            let r = &c.filter.chains[0].rules[0];
            assert_eq!(r.name, "rule 1 \"Cleanup rule\"");
            assert_eq!(r.matches[0].src, ip("10.1.1.1"));
            assert!(!c.features.sip_alg.as_ref().unwrap().enabled);
        }
        n += 1;
    }
    assert_eq!(n, 7);
}

#[test]
fn diamond_groups_resolve_in_linear_time() {
    const N: usize = 30;
    let mut objs = vec![
        r#"{"uid": "h", "name": "h", "type": "host", "ipv4-address": "10.0.0.1"}"#.to_string(),
        r#"{"uid": "s", "name": "sip", "type": "service-udp", "port": "5060", "protocol": "SIP_UDP"}"#.to_string(),
        r#"{"uid": "A", "name": "Accept", "type": "RulebaseAction"}"#.to_string(),
    ];
    for i in 0..N {
        let (n1, n2) = if i == N - 1 {
            ("h".to_string(), "h".to_string())
        } else {
            (format!("a{}", i + 1), format!("b{}", i + 1))
        };
        let (s1, s2) = if i == N - 1 {
            ("s".to_string(), "s".to_string())
        } else {
            (format!("sa{}", i + 1), format!("sb{}", i + 1))
        };
        for g in ["a", "b"] {
            objs.push(format!(
                r#"{{"uid": "{g}{i}", "name": "{g}{i}", "type": "group", "members": ["{n1}", "{n2}"]}}"#
            ));
            objs.push(format!(
                r#"{{"uid": "s{g}{i}", "name": "s{g}{i}", "type": "service-group", "members": ["{s1}", "{s2}"]}}"#
            ));
        }
    }
    let text = format!(
        r#"{{"uid": "L", "name": "N", "rulebase": [{{"uid": "r", "type": "access-rule", "rule-number": 1, "source": ["a0"], "destination": ["a0"], "service": ["sa0"], "action": "A"}}], "objects-dictionary": [{}]}}"#,
        objs.join(",")
    );
    let (_, c) = load("diamond.json", &text);
    let r = &c.filter.chains[0].rules[0];
    assert_eq!(r.matches.len(), 1);
    assert_eq!(r.matches[0].src, ip("10.0.0.1"));
    assert_eq!(r.matches[0].dport, PortSet::single(5060));
    assert!(c.features.sip_alg.as_ref().unwrap().enabled);
}

#[test]
fn paged_export_is_incomplete() {
    let text = r#"{"uid": "L", "name": "Network", "rulebase": [
  {"uid": "r", "type": "access-rule", "rule-number": 1, "action": "Accept"}
], "from": 1, "to": 50, "total": 120}"#;
    let (f, c) = load("paged.json", text);
    assert_eq!(c.errors.len(), 1);
    assert_eq!(f.slice(c.errors[0].span), "120");
    assert!(c.errors[0].message.contains("missing"));
}

/// Strings of quotes, backslashes, control characters, multi-byte and astral characters,
/// written by serde_json (and once with every character as a `\\u` escape), read back by the
/// Check Point reader; an unterminated string is an error at the end of the text.
#[test]
fn json_strings_read_back_what_serde_json_wrote() {
    let read = |text: &str| {
        let mut p = JsonParser {
            b: text.as_bytes(),
            text,
            pos: 0,
            max_depth: 8,
        };
        p.string().map(|s| (s, p.pos))
    };
    for (s, written) in crate::testing::json_strings(0xC0FF_EE65_4321) {
        for w in written {
            assert_eq!(read(&w), Ok((s.clone(), w.len())), "{w}");
        }
    }
    assert_eq!(read("\"abc").unwrap_err().0, 4);
    assert!(read("\"ab\\").is_err());
}
