use super::*;
use crate::engine::flow::{classify, Decider, Fate, Part};
use crate::formats::{detect, Limits};
use crate::sets::{parse_net, PortSet, ProtoSet};
use crate::source::{Encoding, FileId};

fn file(text: &str) -> SourceFile {
    SourceFile::from_text(
        FileId(0),
        "t.nft".into(),
        None,
        text.to_string(),
        Encoding::Utf8,
    )
}

fn fixture(name: &str) -> SourceFile {
    let p = format!("{}/fixtures/nftables/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&p).expect("fixture");
    file(&text)
}

fn cfg(text: &str) -> (SourceFile, Config) {
    let f = file(text);
    let c = parse(&f, &Limits::default());
    (f, c)
}

fn chain<'a>(c: &'a Config, name: &str) -> (ChainId, &'a Chain) {
    let id = c
        .filter
        .chains
        .iter()
        .position(|ch| ch.name.ends_with(&format!(" {name}")))
        .expect("chain");
    (id, &c.filter.chains[id])
}

fn udp(lo: u128, hi: u128) -> Space {
    let mut s = Space::all();
    s.proto = ProtoSet::single(proto::UDP);
    s.dport = PortSet::range(lo, hi);
    s
}

fn tcp(p: u128) -> Space {
    let mut s = Space::all();
    s.proto = ProtoSet::single(proto::TCP);
    s.dport = PortSet::single(p);
    s
}

fn from(mut s: Space, src: &str) -> Space {
    s.src = parse_net(src).unwrap();
    s.src_zone = NameSet::only(["eth0"]);
    s
}

fn allowed(parts: &[Part]) -> PortSet {
    parts
        .iter()
        .filter(|p| p.fate == Fate::Allow)
        .fold(PortSet::empty(), |a, p| a.union(&p.space.dport))
}

fn entry(c: &Config, hook: Hook) -> &Entry {
    c.filter
        .entries
        .iter()
        .find(|e| e.hook == hook)
        .expect("entry")
}

#[test]
fn sets_ranges_negation_and_named_sets() {
    let f = fixture("gateway.nft");
    let c = parse(&f, &Limits::default());
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    let (_, input) = chain(&c, "input");
    // rule 1: iif "lo" accept
    assert_eq!(input.rules[0].matches[0].src_zone, NameSet::only(["lo"]));
    // ct state vmap: three rules, all only for existing connections.
    let vm: Vec<_> = input
        .rules
        .iter()
        .filter(|r| r.name.contains("rule 2"))
        .collect();
    assert_eq!(vm.len(), 3);
    assert!(vm.iter().all(|r| r.established_only));
    assert_eq!(vm[2].action, Action::Deny);
    // dynamic set: unmodeled
    let (_, fwd) = chain(&c, "forward");
    assert!(fwd.rules[1].unmodeled[0].contains("dynamic set @blocklist"));
    // range
    let r4 = input
        .rules
        .iter()
        .find(|r| r.name.contains("rule 3"))
        .unwrap();
    assert_eq!(r4.matches[0].dport, PortSet::range(10000, 12000));
    assert_eq!(r4.action, Action::Deny);
    assert!(r4.name.contains("reserved media range"));
    assert_eq!(
        f.slice(r4.span),
        "udp dport 10000-12000 drop comment \"reserved media range\""
    );
    // named set (multi-line elements) and anonymous set with a service name
    let r5 = input
        .rules
        .iter()
        .find(|r| r.name.contains("rule 4"))
        .unwrap();
    let m = &r5.matches[0];
    assert_eq!(
        m.dport,
        PortSet::single(5060).union(&PortSet::range(10000, 20000))
    );
    assert!(m
        .src
        .contains(sets::addr_value("203.0.113.9".parse().unwrap())));
    assert!(!m
        .src
        .contains(sets::addr_value("192.0.2.16".parse().unwrap())));
    assert!(r5.unmodeled.is_empty());
    // negation: ip saddr != 10.0.0.0/8 is the rest of IPv4 only
    let r6 = input
        .rules
        .iter()
        .find(|r| r.name.contains("rule 5"))
        .unwrap();
    assert_eq!(
        r6.matches[0].src,
        sets::all_v4().difference(&parse_net("10.0.0.0/8").unwrap())
    );
    assert_eq!(
        r6.matches[0].dport,
        PortSet::single(22).union(&PortSet::single(8443))
    );
    // limit is unmodeled
    let r8 = input
        .rules
        .iter()
        .find(|r| r.name.contains("rule 7"))
        .unwrap();
    assert!(r8.unmodeled.iter().any(|u| u.starts_with("limit rate")));
    // interface negation and goto
    let r9 = input
        .rules
        .iter()
        .find(|r| r.name.contains("rule 8"))
        .unwrap();
    assert_eq!(r9.matches[0].src_zone, NameSet::only(["eth0"]).complement());
    let (web, _) = chain(&c, "web");
    assert_eq!(r9.action, Action::Goto(web));
    let (admin, admin_chain) = chain(&c, "admin");
    let r7 = input
        .rules
        .iter()
        .find(|r| r.name.contains("rule 6"))
        .unwrap();
    assert_eq!(r7.action, Action::Jump(admin));
    assert_eq!(admin_chain.rules[1].action, Action::Return);
    assert_eq!(admin_chain.default.action, Action::Return);
    // policy drop stated
    assert_eq!(input.default.action, Action::Deny);
    assert!(!input.default.implicit);
    assert_eq!(f.slice(input.default.span), "policy drop");
    // the nat chain is kept but is no stage of any entry
    let (nat, _) = chain(&c, "post");
    assert!(c.filter.entries.iter().all(|e| !e.stages.contains(&nat)));
}

#[test]
fn base_chains_ordered_by_priority_and_family() {
    let c = parse(&fixture("gateway.nft"), &Limits::default());
    let (early, early_chain) = chain(&c, "early");
    let (input, _) = chain(&c, "input");
    assert_eq!(entry(&c, Hook::Input).stages, vec![early, input]);
    // the ip-family chain lets IPv6 through with a leading implicit rule
    assert!(early_chain.rules[0]
        .name
        .contains("IPv6 packets do not traverse"));
    assert_eq!(early_chain.default.action, Action::Allow);
    assert!(!early_chain.default.implicit);
    let (fwd, _) = chain(&c, "forward");
    assert_eq!(entry(&c, Hook::Forward).stages, vec![fwd]);
}

#[test]
fn classify_first_match_and_stages() {
    let c = parse(&fixture("gateway.nft"), &Limits::default());
    let e = entry(&c, Hook::Input);
    let (input, _) = chain(&c, "input");
    // From a SIP peer: 10000-12000 blocked by rule 4, the rest allowed by rule 5 (named set).
    let parts = classify(
        &c.filter,
        e,
        &[from(udp(10000, 20000), "198.51.100.7/32")],
        16,
    );
    assert_eq!(allowed(&parts), PortSet::range(12001, 20000));
    let denied: Vec<_> = parts.iter().filter(|p| p.fate == Fate::Deny).collect();
    assert!(denied.iter().all(|p| {
        let Decider::Rule { chain, rule } = p.decider else {
            return false;
        };
        chain == input && c.filter.chains[chain].rules[rule].name.contains("rule 3")
    }));
    // Accepted by the input chain, but dropped earlier by the priority -10 chain of `ip guard`.
    let parts = classify(&c.filter, e, &[from(udp(5060, 5060), "192.0.2.9/32")], 16);
    assert!(parts.iter().all(|p| p.fate == Fate::Deny));
    let (early, _) = chain(&c, "early");
    assert!(matches!(parts[0].decider, Decider::Rule { chain, .. } if chain == early));
    // Another peer passes both stages.
    let parts = classify(&c.filter, e, &[from(udp(5060, 5060), "192.0.2.1/32")], 16);
    assert!(parts.iter().all(|p| p.fate == Fate::Allow));
    // Not a peer: policy drop.
    let parts = classify(&c.filter, e, &[from(udp(5060, 5060), "192.0.2.200/32")], 16);
    assert!(parts.iter().all(|p| p.fate == Fate::Deny));
    // ssh from 10.1.2.3: not dropped by the negated rule, accepted in `admin` after the jump.
    let parts = classify(&c.filter, e, &[from(tcp(22), "10.1.2.3/32")], 16);
    assert!(parts.iter().all(|p| p.fate == Fate::Allow), "{parts:?}");
    // ssh from 10.9.0.1: returns from admin, then policy drop.
    let parts = classify(&c.filter, e, &[from(tcp(22), "10.9.0.1/32")], 16);
    assert!(parts.iter().all(|p| p.fate == Fate::Deny));
    assert!(matches!(parts[0].decider, Decider::Default { chain } if chain == input));
}

#[test]
fn sip_helper_on_off_absent() {
    let f = fixture("helper-on.nft");
    let c = parse(&f, &Limits::default());
    let s = c.features.sip_alg.as_ref().unwrap();
    assert!(s.enabled && !s.default);
    assert_eq!(f.slice(s.span), "udp dport 5060 ct helper set \"sip-5060\"");
    assert!(f.slice(s.related[0].0).starts_with("ct helper sip-5060 {"));
    // The helper-assigning rule continues; the prerouting chain is the first input stage.
    let (pre, pre_chain) = chain(&c, "pre");
    assert_eq!(pre_chain.rules[0].action, Action::Continue);
    assert_eq!(entry(&c, Hook::Input).stages[0], pre);

    let f = fixture("helper-off.nft");
    let c = parse(&f, &Limits::default());
    let s = c.features.sip_alg.as_ref().unwrap();
    assert!(!s.enabled && s.default);
    assert!(s.reason.contains("declared but no rule assigns it"));
    assert!(f.slice(s.span).starts_with("ct helper sip-5060"));

    let (_, c) = cfg("table inet t {\n chain i {\n  type filter hook input priority 0;\n }\n}\n");
    let s = c.features.sip_alg.as_ref().unwrap();
    assert!(!s.enabled && s.default);
    assert!(s.reason.contains("Linux 4.7"));
}

#[test]
fn json_form() {
    let f = fixture("gateway.json");
    assert_eq!(detect(&f), Format::Nftables);
    let c = parse(&f, &Limits::default());
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    let (input, ch) = chain(&c, "input");
    assert_eq!(f.slice(ch.default.span), "\"policy\": \"drop\"");
    assert!(ch.rules[0].established_only && ch.rules[1].established_only);
    let r = &ch.rules[2];
    assert!(f.slice(r.span).starts_with("{\"rule\":"));
    assert!(f.slice(r.span).ends_with("{\"drop\": null}]}}"));
    assert!(r.name.contains("reserved media range"));
    let e = entry(&c, Hook::Input);
    let parts = classify(&c.filter, e, &[from(udp(10000, 20000), "192.0.2.3/32")], 16);
    assert_eq!(allowed(&parts), PortSet::range(12001, 20000));
    let denied = parts.iter().find(|p| p.fate == Fate::Deny).unwrap();
    assert_eq!(
        denied.decider,
        Decider::Rule {
            chain: input,
            rule: 2
        }
    );
    // negated prefix, jump, limit
    assert_eq!(
        ch.rules[4].matches[0].src,
        sets::all_v4().difference(&parse_net("10.0.0.0/8").unwrap())
    );
    let (admin, _) = chain(&c, "admin");
    assert_eq!(ch.rules[5].action, Action::Jump(admin));
    assert!(!ch.rules[6].unmodeled.is_empty());
    let s = c.features.sip_alg.as_ref().unwrap();
    assert!(s.enabled);
    assert!(f.slice(s.span).contains("\"ct helper\": \"sip-5060\""));
}

#[test]
fn truncated_inputs_are_input_issues() {
    let (f, c) = cfg("table inet t {\n  chain input {\n    type filter hook input priority 0; policy drop;\n    tcp dport 22 accept\n");
    assert_eq!(c.errors.len(), 2, "{:?}", c.errors);
    let lines: Vec<&str> = c.errors.iter().map(|e| f.slice(e.span)).collect();
    assert!(lines.contains(&"  chain input {"));
    assert!(lines.contains(&"table inet t {"));
    // the rules read so far are kept
    assert_eq!(c.rule_count(), 1);

    let text = "{\"nftables\": [\n {\"table\": {\"family\": \"inet\", \"name\": \"t\"}},\n {\"chain\": {\"fam";
    let f = file(text);
    let c = parse(&f, &Limits::default());
    assert_eq!(c.errors.len(), 1);
    assert_eq!(f.line_col(c.errors[0].span.start).line, 3);
}

#[test]
fn unknown_expressions_are_unparsed_and_unmodeled() {
    let (_, c) = cfg("table ip t {\n chain c {\n  type filter hook forward priority 0;\n  frobnicate 7 tcp dport 22 accept\n  ct status dnat accept\n }\n}\n");
    let (_, ch) = chain(&c, "c");
    // rule 0 is the implicit IPv6 pass-through of the ip family
    assert!(ch.rules[1]
        .unmodeled
        .iter()
        .any(|u| u.contains("frobnicate")));
    assert_eq!(ch.rules[1].matches[0].dport, PortSet::single(22));
    assert_eq!(c.unparsed.len(), 1);
    assert!(ch.rules[2]
        .unmodeled
        .iter()
        .any(|u| u.starts_with("ct status")));
}

#[test]
fn corpus_files_detect_and_parse() {
    let dir = format!("{}/fixtures/nftables/corpus", env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let text = std::fs::read_to_string(&p).unwrap();
        let f = SourceFile::from_text(
            FileId(0),
            p.file_name().unwrap().to_string_lossy().into(),
            None,
            text,
            Encoding::Utf8,
        );
        assert_eq!(detect(&f), Format::Nftables, "{}", f.name);
        let c = parse(&f, &Limits::default());
        assert!(c.errors.is_empty(), "{}: {:?}", f.name, c.errors);
        n += 1;
    }
    assert!(n >= 13);
}

#[test]
fn fw4_corpus_semantics() {
    let p = format!(
        "{}/fixtures/nftables/corpus/fw4_02_zones_07_helpers.nft",
        env!("CARGO_MANIFEST_DIR")
    );
    let f = file(&std::fs::read_to_string(p).unwrap());
    let c = parse(&f, &Limits::default());
    let s = c.features.sip_alg.as_ref().unwrap();
    assert!(s.enabled);
    assert!(f.slice(s.span).contains("ct helper set \"sip\""));
    let (_, input) = chain(&c, "input");
    assert_eq!(input.default.action, Action::Deny);
    // prerouting + mangle_input (-150) + input (0)
    let e = entry(&c, Hook::Input);
    let names: Vec<&str> = e
        .stages
        .iter()
        .map(|&i| c.filter.chains[i].name.as_str())
        .collect();
    assert_eq!(
        names,
        vec![
            "inet fw4 raw_prerouting",
            "inet fw4 mangle_prerouting",
            "inet fw4 prerouting",
            "inet fw4 mangle_input",
            "inet fw4 input"
        ]
    );
}

#[test]
fn tcp_flags_on_a_new_connection() {
    assert_eq!(ir::tcp_flags_match_syn("syn"), Some(true));
    assert_eq!(ir::tcp_flags_match_syn("!= syn"), Some(false));
    assert_eq!(
        ir::tcp_flags_match_syn("& (fin|syn) == (fin|syn)"),
        Some(false)
    );
    assert_eq!(
        ir::tcp_flags_match_syn("& (fin | syn | rst | ack) == syn"),
        Some(true)
    );
    assert_eq!(
        ir::tcp_flags_match_syn("& (fin|syn|rst|psh|ack|urg) < (fin)"),
        Some(false)
    );
    assert_eq!(ir::tcp_flags_match_syn("syn / syn , fin , rst"), Some(true));
    let (_, c) = cfg("table inet t {\n chain c {\n  type filter hook input priority 0;\n  tcp flags != syn ct state new drop\n  ct status dnat accept\n }\n}\n");
    let (_, ch) = chain(&c, "c");
    assert!(ch.rules[0].established_only);
    assert_eq!(ch.rules[1].action, Action::Allow);
    assert!(ch.rules[1].unmodeled[0].starts_with("ct status dnat"));
}

#[test]
fn sip_helper_assigned_in_unreachable_chain_is_off() {
    let (f, c) = cfg("table inet t {\n ct helper sip {\n  type \"sip\" protocol udp;\n }\n chain orphan {\n  udp dport 5060 ct helper set \"sip\"\n }\n chain i {\n  type filter hook prerouting priority 0;\n }\n}\n");
    let s = c.features.sip_alg.as_ref().unwrap();
    assert!(!s.enabled && !s.default);
    assert!(s.reason.contains("no base chain jumps to"));
    assert_eq!(f.slice(s.span), "udp dport 5060 ct helper set \"sip\"");
}

#[test]
fn script_add_rule_commands() {
    let (_, c) = cfg("add table inet t\nadd chain inet t input { type filter hook input priority 0; policy drop; }\nadd rule inet t input udp dport 5060 accept\ninsert rule inet t input tcp dport 22 drop\n");
    let (_, ch) = chain(&c, "input");
    assert_eq!(ch.default.action, Action::Deny);
    assert_eq!(ch.rules.len(), 2);
    assert_eq!(ch.rules[0].action, Action::Deny);
    assert_eq!(ch.rules[1].matches[0].dport, PortSet::single(5060));
    assert_eq!(entry(&c, Hook::Input).stages.len(), 1);
}

#[test]
fn other_vendors_json_is_not_nftables() {
    assert_eq!(
        sniff(
            "x.json",
            "{\"kind\": \"ucontact-settings\", \"nftables\": 1}"
        ),
        0
    );
    assert_eq!(
        sniff("x.json", "{\"rulebase\": [], \"objects-dictionary\": []}"),
        0
    );
    assert_eq!(sniff("x.conf", "config firewall policy\n    edit 1\n"), 0);
}

#[test]
fn overlong_rule_is_not_parsed() {
    let long = (0..3000)
        .map(|i| format!("10.{}.{}.1", i / 250, i % 250))
        .collect::<Vec<_>>()
        .join(", ");
    let text = format!("table inet t {{\n chain i {{\n  type filter hook input priority 0;\n  ip saddr {{ {long} }} accept\n }}\n}}\n");
    let f = file(&text);
    let limits = Limits {
        max_line_len: 1000,
        ..Limits::default()
    };
    let c = parse(&f, &limits);
    let (_, ch) = chain(&c, "i");
    assert!(matches!(ch.rules[0].action, Action::Unknown(_)));
    assert_eq!(c.unparsed.len(), 1);
    let c = parse(&f, &Limits::default());
    let (_, ch) = chain(&c, "i");
    assert_eq!(ch.rules[0].action, Action::Allow);
}

#[test]
fn json_helper_reason_names_the_rule() {
    let c = parse(&fixture("gateway.json"), &Limits::default());
    let s = c.features.sip_alg.unwrap();
    assert!(
        s.reason
            .starts_with("rule 1 in chain inet filter pre assigns the SIP conntrack helper"),
        "{}",
        s.reason
    );
}

/// A jump loop (here a chain jumping to itself), which nft rejects at load time: an input error
/// at the jump that closes it, at any reference limit.
#[test]
fn jump_loops_are_input_errors() {
    let (f, c) = cfg("table inet filter {\n\tchain input {\n\t\ttype filter hook input priority 0; policy drop;\n\t\tjump a\n\t}\n\tchain a {\n\t\ttcp dport 22 accept\n\t\tjump a\n\t}\n}\n");
    let loops: Vec<_> = c
        .errors
        .iter()
        .filter(|e| e.message.contains("a jump loop, which nft rejects"))
        .collect();
    assert_eq!(loops.len(), 1, "{:?}", c.errors);
    assert!(
        loops[0]
            .message
            .contains("leads back into chain inet filter a"),
        "{}",
        loops[0].message
    );
    assert_eq!(f.line_col(loops[0].span.start).line, 8);
}
