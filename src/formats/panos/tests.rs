use super::*;
use crate::engine::flow::{classify, Decider, Fate};
use crate::source::Encoding;

const ALG_DEFAULT: &str = include_str!("../../../fixtures/panos/alg-default.xml");
const ALG_OFF: &str = include_str!("../../../fixtures/panos/alg-off.set");
const EDGE: &str = include_str!("../../../fixtures/panos/edge.xml");

fn file(name: &str, text: &str) -> SourceFile {
    SourceFile::from_text(FileId(0), name.into(), None, text.into(), Encoding::Utf8)
}

fn load(name: &str, text: &str) -> (SourceFile, Config) {
    let f = file(name, text);
    let c = parse(&f, &Limits::default());
    (f, c)
}

fn rule<'a>(c: &'a Config, name: &str) -> (usize, &'a Rule) {
    c.filter.chains[0]
        .rules
        .iter()
        .enumerate()
        .find(|(_, r)| r.name.contains(&format!("\"{name}\"")))
        .unwrap_or_else(|| panic!("no rule {name}"))
}

fn ip(s: &str) -> AddrSet {
    sets::parse_net(s).unwrap()
}

fn flow(p: u128, src: &str, dst: &str, lo: u128, hi: u128, from: &str, to: &str) -> Space {
    Space {
        proto: ProtoSet::single(p),
        src: ip(src),
        dst: ip(dst),
        sport: PortSet::full(),
        dport: PortSet::range(lo, hi),
        src_zone: NameSet::only([from]),
        dst_zone: NameSet::only([to]),
    }
}

fn ports(parts: &[crate::engine::flow::Part], fate: Fate) -> PortSet {
    parts
        .iter()
        .filter(|p| p.fate == fate)
        .fold(PortSet::empty(), |a, p| a.union(&p.space.dport))
}

#[test]
fn xml_rules_in_order_with_spans_actions_and_negation() {
    let (f, c) = load("alg-default.xml", ALG_DEFAULT);
    assert_eq!(c.format, Format::Panos);
    assert_eq!(c.name.as_deref(), Some("pa-voice-01"));
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    let ch = &c.filter.chains[0];
    let names: Vec<&str> = ch.rules.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        &names[..8],
        &[
            "security rule \"block-rtp-low\"",
            "security rule \"allow-rtp\"",
            "security rule \"allow-sip\"",
            "security rule \"allow-sip-group\"",
            "security rule \"old-rule\"",
            "security rule \"not-from-carrier\"",
            "security rule \"loop-rule\"",
            "security rule \"web-apps\"",
        ]
    );
    // Every rule span covers its whole <entry> element.
    for r in &ch.rules[..8] {
        let s = f.slice(r.span);
        assert!(s.starts_with("<entry name=\""), "{s}");
        assert!(s.ends_with("</entry>"), "{s}");
    }
    let (_, drop) = rule(&c, "block-rtp-low");
    assert_eq!(drop.action, Action::Deny);
    assert_eq!(drop.matches.len(), 1);
    assert_eq!(drop.matches[0].dport, PortSet::range(10000, 12000));
    assert_eq!(drop.matches[0].proto, ProtoSet::single(proto::UDP));
    // address group of two /32 hosts
    assert_eq!(drop.matches[0].dst, ip("192.0.2.10/31"));
    assert_eq!(drop.matches[0].src_zone, NameSet::only(["untrust"]));
    assert_eq!(drop.matches[0].dst_zone, NameSet::only(["voice"]));

    // nested group: voice-all = sbcs (2 hosts) + carrier-range
    let (_, rtp) = rule(&c, "allow-rtp");
    let src = &rtp.matches[0].src;
    assert!(src.is_subset(&ip("192.0.2.10/31").union(&sets::addr_range(
        "198.51.100.1".parse().unwrap(),
        "198.51.100.20".parse().unwrap()
    ))));
    assert!(src.contains(sets::addr_value("198.51.100.20".parse().unwrap())));
    assert!(!src.contains(sets::addr_value("198.51.100.21".parse().unwrap())));
    assert!(rtp.unmodeled.is_empty(), "{:?}", rtp.unmodeled);

    // disabled rule kept, marked
    let (_, old) = rule(&c, "old-rule");
    assert!(!old.enabled);

    // negate-source: everything except the carrier range; reset-both = deny; service-https
    let (_, neg) = rule(&c, "not-from-carrier");
    assert_eq!(neg.action, Action::Deny);
    let m = &neg.matches[0];
    assert!(!m
        .src
        .contains(sets::addr_value("198.51.100.5".parse().unwrap())));
    assert!(m.src.contains(sets::addr_value("8.8.8.8".parse().unwrap())));
    assert_eq!(m.dport, PortSet::single(443));
    assert_eq!(m.proto, ProtoSet::single(proto::TCP));
}

#[test]
fn groups_cycles_fqdn_dynamic_and_predefined_services() {
    let (f, c) = load("alg-default.xml", ALG_DEFAULT);
    let (_, lr) = rule(&c, "loop-rule");
    assert!(
        lr.unmodeled.iter().any(|n| n.contains("cycle")),
        "{:?}",
        lr.unmodeled
    );
    // The FQDN address is modelled by name (no note), and listed.
    assert!(!lr.unmodeled.iter().any(|n| n.contains("FQDN")));
    assert!(c.fqdns.contains("sip.carrier.example"));
    assert!(lr.unmodeled.iter().any(|n| n.contains("dynamic")));
    // unresolvable sides stay "any" (the rule may match less, verdicts are uncertain)
    assert!(lr.matches[0].src.is_full());
    assert!(lr.matches[0].dst.is_full());
    // service-http = tcp 80,8080
    assert_eq!(
        lr.matches[0].dport,
        PortSet::from_ranges([(80, 80), (8080, 8080)])
    );
    let cyc = c
        .unparsed
        .iter()
        .find(|u| u.reason.contains("cycle"))
        .expect("cycle reported");
    assert!(f.slice(cyc.span).starts_with("<entry name=\"loop-"));
}

#[test]
fn application_default_uses_standard_ports() {
    let (_, c) = load("alg-default.xml", ALG_DEFAULT);
    let (_, sip) = rule(&c, "allow-sip");
    assert!(sip.unmodeled.is_empty(), "{:?}", sip.unmodeled);
    let mut got: Vec<(ProtoSet, PortSet)> = sip
        .matches
        .iter()
        .map(|m| (m.proto.clone(), m.dport.clone()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            (ProtoSet::single(proto::TCP), PortSet::single(5060)),
            (ProtoSet::single(proto::UDP), PortSet::single(5060)),
        ]
    );
    // web-browsing + ssl mapped; zoom unknown -> full ports + notes
    let (_, web) = rule(&c, "web-apps");
    assert!(web
        .matches
        .iter()
        .any(|m| m.dport == PortSet::single(80) && m.proto == ProtoSet::single(proto::TCP)));
    assert!(web.matches.iter().any(|m| m.dport == PortSet::single(443)));
    assert!(web
        .matches
        .iter()
        .any(|m| m.dport.is_full() && m.proto.is_full()));
    assert!(web.unmodeled.iter().any(|n| n.contains("zoom")));
    assert!(!web.unmodeled.iter().any(|n| n.contains("web-browsing")));
    // custom application with default ports (edge.xml)
    let (_, e) = load("edge.xml", EDGE);
    let (_, custom) = rule(&e, "R&D <lab>");
    assert!(custom
        .matches
        .iter()
        .any(|m| m.proto == ProtoSet::single(proto::UDP)
            && m.dport == PortSet::from_ranges([(5060, 5060), (5062, 5062)])));
    assert!(custom
        .matches
        .iter()
        .any(|m| m.proto == ProtoSet::single(proto::TCP) && m.dport == PortSet::single(5061)));
}

#[test]
fn default_intrazone_and_interzone_rules() {
    let (f, c) = load("alg-default.xml", ALG_DEFAULT);
    let ch = &c.filter.chains[0];
    let intra: Vec<&Rule> = ch
        .rules
        .iter()
        .filter(|r| r.name.starts_with("intrazone-default"))
        .collect();
    // the file defines its zones: one rule per zone
    assert_eq!(intra.len(), 3);
    for (r, z) in intra.iter().zip(["trust", "untrust", "voice"]) {
        assert_eq!(r.action, Action::Allow);
        assert_eq!(r.matches[0].src_zone, NameSet::only([z]));
        assert_eq!(r.matches[0].dst_zone, NameSet::only([z]));
        assert!(r.unmodeled.is_empty());
    }
    // a file without zone definitions: zones seen in rules, then a flagged rule for the others
    let (_, e) = load("edge.xml", EDGE);
    let v2: Vec<&Rule> = e.filter.chains[1]
        .rules
        .iter()
        .filter(|r| r.name.starts_with("intrazone-default"))
        .collect();
    assert_eq!(v2.len(), 3);
    assert_eq!(v2[2].name, "intrazone-default (other zones)");
    assert_eq!(
        v2[2].matches[0].src_zone,
        NameSet::Except(crate::sets::Names::new(
            ["dmz".to_string(), "lan".to_string()].into()
        ))
    );
    assert!(!v2[2].unmodeled.is_empty());
    assert_eq!(ch.default.action, Action::Deny);
    assert!(ch.default.implicit);
    assert_eq!(f.slice(ch.default.span).trim(), "<rules>");
    assert_eq!(c.filter.entries.len(), 1);
    assert_eq!(c.filter.entries[0].hook, Hook::Forward);

    // intrazone traffic trust->trust is allowed by the default; trust->voice on a port no rule
    // allows is denied by the interzone default
    let parts = classify(
        &c.filter,
        &c.filter.entries[0],
        &[flow(
            proto::TCP,
            "10.0.0.1",
            "10.0.0.2",
            9999,
            9999,
            "trust",
            "trust",
        )],
        8,
    );
    assert!(parts.iter().all(|p| p.fate == Fate::Allow));
    let parts = classify(
        &c.filter,
        &c.filter.entries[0],
        &[flow(
            proto::TCP,
            "10.0.0.1",
            "192.0.2.10",
            9999,
            9999,
            "trust",
            "voice",
        )],
        8,
    );
    assert!(parts
        .iter()
        .all(|p| p.fate == Fate::Deny && p.decider == Decider::Default { chain: 0 }));
}

#[test]
fn default_rule_overrides_panorama_rulebases_and_vsys() {
    let (f, c) = load("edge.xml", EDGE);
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    assert_eq!(c.filter.chains.len(), 2);
    assert_eq!(c.filter.entries.len(), 2);
    let ch = &c.filter.chains[0];
    assert!(ch.name.starts_with("vsys1"));
    assert_eq!(ch.rules[0].name, "shared pre-rule \"shared-pre-deny\"");
    assert_eq!(ch.rules[1].name, "security rule \"R&D <lab>\"");
    let post = ch
        .rules
        .iter()
        .position(|r| r.name.contains("shared-post-allow-dns"))
        .unwrap();
    let last_local = ch
        .rules
        .iter()
        .position(|r| r.name.contains("weird-action"))
        .unwrap();
    assert!(post > last_local);
    // default-security-rules override: intrazone deny, interzone stated
    let intra: Vec<&Rule> = ch
        .rules
        .iter()
        .filter(|r| r.name.starts_with("intrazone-default"))
        .collect();
    assert!(intra.iter().all(|r| r.action == Action::Deny));
    assert!(f
        .slice(intra[0].span)
        .starts_with("<entry name=\"intrazone-default\">"));
    assert!(!ch.default.implicit);
    assert!(f.slice(ch.default.span).contains("interzone-default"));
    // negate-destination over an address range
    let (_, r) = rule(&c, "R&D <lab>");
    assert!(!r.matches[0]
        .dst
        .contains(sets::addr_value("10.1.0.5".parse().unwrap())));
    assert!(r.matches[0]
        .dst
        .contains(sets::addr_value("10.1.0.10".parse().unwrap())));
    // rule-type intrazone
    let (_, same) = rule(&c, "same-zone");
    assert_eq!(same.matches[0].src_zone, NameSet::only(["inside"]));
    assert_eq!(same.matches[0].dst_zone, NameSet::only(["inside"]));
    // unknown action and service are reported, not dropped
    let (_, weird) = rule(&c, "weird-action");
    assert!(matches!(weird.action, Action::Unknown(_)));
    assert!(weird.unmodeled.iter().any(|n| n.contains("undefined-svc")));
    assert!(c.unparsed.iter().any(|u| u.reason.contains("teleport")));
    // vsys2 has its own chain with the shared rules around its own
    let v2 = &c.filter.chains[1];
    assert!(v2.rules.iter().any(|r| r.name.contains("v2-allow-sip")));
    assert_eq!(v2.rules[0].name, "shared pre-rule \"shared-pre-deny\"");
}

#[test]
fn verdict_partly_blocked_by_earlier_deny() {
    let (_, c) = load("alg-default.xml", ALG_DEFAULT);
    let parts = classify(
        &c.filter,
        &c.filter.entries[0],
        &[flow(
            proto::UDP,
            "198.51.100.5",
            "192.0.2.10",
            10000,
            20000,
            "untrust",
            "voice",
        )],
        8,
    );
    assert_eq!(ports(&parts, Fate::Allow), PortSet::range(12001, 20000));
    assert_eq!(ports(&parts, Fate::Deny), PortSet::range(10000, 12000));
    let (block_idx, block) = rule(&c, "block-rtp-low");
    let (allow_idx, _) = rule(&c, "allow-rtp");
    for p in &parts {
        match p.fate {
            Fate::Deny => assert_eq!(
                p.decider,
                Decider::Rule {
                    chain: 0,
                    rule: block_idx
                }
            ),
            Fate::Allow => assert_eq!(
                p.decider,
                Decider::Rule {
                    chain: 0,
                    rule: allow_idx
                }
            ),
            Fate::Unknown => panic!("unexpected unknown"),
        }
    }
    assert_eq!(block.name, "security rule \"block-rtp-low\"");
}

#[test]
fn verdict_service_group_passes() {
    let (_, c) = load("alg-off.set", ALG_OFF);
    let (idx, _) = rule(&c, "voice in");
    for (p, port) in [(proto::UDP, 5060), (proto::TCP, 5061)] {
        let parts = classify(
            &c.filter,
            &c.filter.entries[0],
            &[flow(
                p,
                "10.1.1.1",
                "10.20.0.20",
                port,
                port,
                "trust",
                "voice",
            )],
            8,
        );
        assert!(!parts.is_empty());
        for part in &parts {
            assert_eq!(part.fate, Fate::Allow);
            assert_eq!(
                part.decider,
                Decider::Rule {
                    chain: 0,
                    rule: idx
                }
            );
            assert!(part.uncertain_via.is_empty());
        }
    }
    // the disabled rtp rule does not allow RTP
    let parts = classify(
        &c.filter,
        &c.filter.entries[0],
        &[flow(
            proto::UDP,
            "10.1.1.1",
            "10.20.0.20",
            10000,
            20000,
            "trust",
            "voice",
        )],
        8,
    );
    assert!(parts.iter().all(|p| p.fate == Fate::Deny));
}

#[test]
fn set_form_order_spans_and_application_default() {
    let (f, c) = load("alg-off.set", ALG_OFF);
    assert_eq!(c.name.as_deref(), Some("pa-voice-02"));
    let ch = &c.filter.chains[0];
    assert_eq!(ch.rules[0].name, "security rule \"voice in\"");
    assert_eq!(ch.rules[1].name, "security rule \"rtp in\"");
    assert_eq!(ch.rules[2].name, "security rule \"ssh mgmt\"");
    let s = f.slice(ch.rules[1].span);
    assert!(s.starts_with("set rulebase security rules \"rtp in\" from trust"));
    assert!(s.ends_with("set rulebase security rules \"rtp in\" disabled yes"));
    assert!(!ch.rules[1].enabled);
    let ssh = &ch.rules[2];
    assert_eq!(ssh.action, Action::Deny);
    assert_eq!(ssh.matches.len(), 1);
    assert_eq!(ssh.matches[0].dport, PortSet::single(22));
    assert!(ssh.unmodeled.is_empty());
    // service group of udp/5060 and tcp/5060-5061: two spaces, not a product
    let vin = &ch.rules[0];
    assert_eq!(vin.matches.len(), 2);
    assert!(vin
        .matches
        .iter()
        .any(|m| m.proto == ProtoSet::single(proto::UDP) && m.dport == PortSet::single(5060)));
    assert!(vin
        .matches
        .iter()
        .any(|m| m.proto == ProtoSet::single(proto::TCP) && m.dport == PortSet::range(5060, 5061)));
    assert_eq!(vin.matches[0].dst.count(), 2);
}

#[test]
fn sip_alg_default_on_and_off() {
    // XML, no alg-override: on by default, span at <shared>
    let (f, c) = load("alg-default.xml", ALG_DEFAULT);
    let alg = c.features.sip_alg.as_ref().unwrap();
    assert!(alg.enabled);
    assert!(alg.default);
    assert_eq!(f.slice(alg.span), "<shared>");
    // set form, alg-disabled yes
    let (f, c) = load("alg-off.set", ALG_OFF);
    let alg = c.features.sip_alg.as_ref().unwrap();
    assert!(!alg.enabled);
    assert!(!alg.default);
    assert_eq!(
        f.slice(alg.span),
        "set shared alg-override application sip alg-disabled yes"
    );
    // XML, alg-disabled yes
    let xml = r#"<config version="10.1.0"><shared><alg-override><application>
<entry name="sip"><alg-disabled>yes</alg-disabled></entry>
</application></alg-override></shared><devices><entry name="localhost.localdomain"/></devices></config>"#;
    let (f, c) = load("x.xml", xml);
    let alg = c.features.sip_alg.as_ref().unwrap();
    assert!(!alg.enabled);
    assert!(!alg.default);
    assert_eq!(f.slice(alg.span), "<alg-disabled>yes</alg-disabled>");
    // set form without the override: on by default, span on the first line
    let (f, c) = load(
        "y.set",
        "set deviceconfig system hostname fw\nset zone a network layer3 e1\n",
    );
    let alg = c.features.sip_alg.as_ref().unwrap();
    assert!(alg.enabled && alg.default);
    assert_eq!(f.slice(alg.span), "set deviceconfig system hostname fw");
    // an application-override rule on the SIP port is reported with the ALG state
    let (f, c) = load(
        "ao.set",
        "set rulebase application-override rules sip-ao port 5060\nset rulebase application-override rules sip-ao protocol udp\n",
    );
    let alg = c.features.sip_alg.as_ref().unwrap();
    assert!(alg.enabled);
    assert_eq!(alg.related.len(), 1);
    assert!(f
        .slice(alg.related[0].0)
        .starts_with("set rulebase application-override rules sip-ao port 5060"));
    // other applications' overrides do not count
    let (_, c) = load(
        "z.set",
        "set shared alg-override application h323 alg-disabled yes\nset rulebase security rules a action allow\n",
    );
    assert!(c.features.sip_alg.as_ref().unwrap().enabled);
}

#[test]
fn ips_on_through_profile_or_group_and_off() {
    let (f, c) = load("alg-default.xml", ALG_DEFAULT);
    let (_, rtp) = rule(&c, "allow-rtp");
    assert_eq!(rtp.inspection.len(), 1);
    assert_eq!(rtp.inspection[0].kind, InspectionKind::Ips);
    assert!(rtp.inspection[0].name.contains("voice-sec"));
    let s = f.slice(rtp.inspection[0].span);
    assert!(s.starts_with("<profile-setting>") && s.ends_with("</profile-setting>"));
    let (_, grp) = rule(&c, "allow-sip-group");
    assert_eq!(grp.inspection.len(), 1);
    assert!(grp.inspection[0]
        .name
        .contains("vulnerability profile default"));
    let (_, sip) = rule(&c, "allow-sip");
    assert!(sip.inspection.is_empty());
    // set form: off, then on via `profiles vulnerability`
    let (_, c) = load("alg-off.set", ALG_OFF);
    assert!(c.filter.chains[0]
        .rules
        .iter()
        .all(|r| r.inspection.is_empty()));
    let text = format!(
        "{ALG_OFF}set rulebase security rules \"voice in\" profile-setting profiles vulnerability strict\n"
    );
    let (f, c) = load("alg-off.set", &text);
    let vin = &c.filter.chains[0].rules[0];
    assert_eq!(vin.inspection.len(), 1);
    assert_eq!(
        f.slice(vin.inspection[0].span),
        "set rulebase security rules \"voice in\" profile-setting profiles vulnerability strict"
    );
    // a profile group without a vulnerability member is no IPS
    let text = format!(
        "{ALG_OFF}set profile-group av-only virus default\nset rulebase security rules \"voice in\" profile-setting group av-only\n"
    );
    let (_, c) = load("alg-off.set", &text);
    assert!(c.filter.chains[0].rules[0].inspection.is_empty());
    assert!(c.features.ips.is_none());
}

#[test]
fn curly_form_and_broken_inputs_do_not_panic() {
    let (_, c) = load(
        "n.conf",
        "deviceconfig {\n    system {\n        hostname nested-config;\n    }\n}\n",
    );
    assert_eq!(c.name.as_deref(), Some("nested-config"));
    assert!(c.errors.is_empty());
    let (f, c) = load(
        "n.conf",
        "rulebase {\n security {\n  rules {\n   r1 {\n    from any;\n    to any;\n    source any;\n    destination any;\n    service [ service-https ];\n    action allow;\n   }\n  }\n }\n}\n",
    );
    let r = &c.filter.chains[0].rules[0];
    assert_eq!(r.action, Action::Allow);
    assert_eq!(r.matches[0].dport, PortSet::single(443));
    assert!(f.slice(r.span).starts_with("r1 {") && f.slice(r.span).ends_with('}'));
    // truncated XML
    let cut = &ALG_DEFAULT[..ALG_DEFAULT.len() / 2];
    let (_, c) = load("cut.xml", cut);
    assert!(!c.errors.is_empty());
    assert!(c.rule_count() > 0);
    // unbalanced list in set form
    let (_, c) = load("cut.set", "set rulebase security rules a from [ z1 z2\n");
    assert_eq!(c.errors.len(), 1);
    // unclosed curly block
    let (_, c) = load("cut.conf", "rulebase {\n security {\n");
    assert!(!c.errors.is_empty());
    // deep nesting is refused, not recursed into
    let deep = format!(
        "<config>{}{}</config>",
        "<a>".repeat(500),
        "</a>".repeat(500)
    );
    let (_, c) = load("deep.xml", &deep);
    assert!(!c.errors.is_empty());
    let deep = format!("{}{}", "a {\n".repeat(300), "}\n".repeat(300));
    let (_, c) = load("deep.conf", &deep);
    assert_eq!(c.errors.len(), 1);
    for junk in [
        "",
        "<",
        "<config><entry name=\"x",
        "set",
        "set [ ]",
        "}}}{{{",
        "\u{0}\u{1}",
    ] {
        let _ = load("junk", junk);
    }
}

#[test]
fn sniffing() {
    assert!(sniff("a.xml", ALG_DEFAULT) >= 80);
    assert!(sniff("a.set", ALG_OFF) >= 80);
    assert!(sniff("a.xml", EDGE) >= 80);
    assert!(
        sniff(
            "n.conf",
            "deviceconfig {\n    system {\n        hostname x;\n    }\n}\n"
        ) > 0
    );
    // Junos set and curly forms, pfSense, OPNsense, JSON: not ours
    assert_eq!(
        sniff(
            "j.set",
            "set system host-name srx\nset security zones security-zone trust interfaces ge-0/0/0.0\nset applications application a protocol udp\n"
        ),
        0
    );
    assert_eq!(
        sniff(
            "j.conf",
            "system {\n  host-name srx;\n}\nsecurity {\n  policies {\n  }\n}\n"
        ),
        0
    );
    assert_eq!(
        sniff(
            "p.xml",
            "<?xml version=\"1.0\"?>\n<pfsense><filter><rule/></filter></pfsense>"
        ),
        0
    );
    assert_eq!(
        sniff(
            "o.xml",
            "<?xml version=\"1.0\"?>\n<opnsense><system/></opnsense>"
        ),
        0
    );
    assert_eq!(
        sniff("c.json", "{\"objects-dictionary\": [], \"rulebase\": []}"),
        0
    );
    assert_eq!(
        sniff(
            "g.txt",
            "set hostname cp\nset interface eth0 ipv4-address 10.0.0.1 mask-length 24\n"
        ),
        0
    );
}

#[test]
fn corpus_copies_are_detected_and_parse() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/panos/corpus");
    let mut n = 0;
    let mut rules = 0;
    for e in std::fs::read_dir(dir).expect("fixtures/panos/corpus") {
        let path = e.expect("entry").path();
        let bytes = std::fs::read(&path).expect("read");
        let f = SourceFile::from_bytes(FileId(0), path.display().to_string(), None, &bytes);
        assert_eq!(
            super::super::detect(&f),
            Format::Panos,
            "{}",
            path.display()
        );
        let c = parse(&f, &Limits::default());
        assert!(c.errors.is_empty(), "{}: {:?}", path.display(), c.errors);
        rules += c.rule_count();
        for ch in &c.filter.chains {
            for r in &ch.rules {
                assert!(r.span.end <= f.text.len());
            }
        }
        n += 1;
    }
    assert_eq!(n, 7);
    assert!(rules > 20);
}

#[test]
fn diamond_groups_resolve_in_linear_time() {
    // a_i and b_i both contain a_{i+1} and b_{i+1}: 2^30 paths without memoisation.
    let mut text = String::new();
    for i in 0..30 {
        for g in ["a", "b"] {
            text.push_str(&format!(
                "set address-group {g}{i} static [ a{} b{} ]\n",
                i + 1,
                i + 1
            ));
            text.push_str(&format!(
                "set service-group s{g}{i} members [ sa{} sb{} ]\n",
                i + 1,
                i + 1
            ));
        }
    }
    text.push_str("set address a30 ip-netmask 10.0.0.1\nset address b30 ip-netmask 10.0.0.2\n");
    text.push_str(
        "set service sa30 protocol udp port 5060\nset service sb30 protocol tcp port 5061\n",
    );
    text.push_str("set rulebase security rules r source a0\nset rulebase security rules r service sa0\nset rulebase security rules r action allow\n");
    let (_, c) = load("diamond.set", &text);
    let r = &c.filter.chains[0].rules[0];
    assert_eq!(r.matches.len(), 2);
    assert_eq!(r.matches[0].src.count(), 2);
    assert!(r.unmodeled.is_empty(), "{:?}", r.unmodeled);
}

#[test]
fn set_form_vsys_shared_objects_delete_and_api_wrapper() {
    let text = "set shared address carrier ip-netmask 203.0.113.0/24
set vsys vsys1 zone a network layer3 ethernet1/1
set vsys vsys1 rulebase security rules r1 from a
set vsys vsys1 rulebase security rules r1 to a
set vsys vsys1 rulebase security rules r1 source carrier
set vsys vsys1 rulebase security rules r1 service any
set vsys vsys1 rulebase security rules r1 action allow
set vsys vsys2 rulebase security rules gone action allow
set vsys vsys2 rulebase security rules kept action deny
delete vsys vsys2 rulebase security rules gone
";
    let (_, c) = load("vsys.set", text);
    assert_eq!(c.filter.chains.len(), 2);
    assert_eq!(c.filter.entries.len(), 2);
    let r1 = &c.filter.chains[0].rules[0];
    assert_eq!(r1.name, "security rule \"r1\"");
    assert_eq!(r1.matches[0].src, ip("203.0.113.0/24"));
    let v2: Vec<&str> = c.filter.chains[1]
        .rules
        .iter()
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(v2[0], "security rule \"kept\"");
    assert!(!v2.iter().any(|n| n.contains("gone")));
    // an XML API answer wrapping the configuration
    let xml = r#"<response status="success"><result><config version="10.1.0"><devices><entry name="localhost.localdomain"><vsys><entry name="vsys1"><rulebase><security><rules>
<entry name="x"><from><member>any</member></from><to><member>any</member></to><source><member>any</member></source><destination><member>any</member></destination><service><member>any</member></service><application><member>any</member></application><action>deny</action></entry>
</rules></security></rulebase></entry></vsys></entry></devices></config></result></response>"#;
    assert!(sniff("r.xml", xml) > 0);
    let (_, c) = load("r.xml", xml);
    assert_eq!(c.filter.chains[0].rules[0].name, "security rule \"x\"");
}

#[test]
fn set_form_fqdn_addresses_and_groups_are_matched_by_name() {
    let text = "set address uc-stun fqdn STUN.ucontactcloud.com\nset address uc-mon fqdn monitor.ucontactcloud.com\nset address web ip-netmask 198.51.100.7\nset address-group uc static [ uc-mon web ]\nset rulebase security rules stun destination uc-stun\nset rulebase security rules stun service any\nset rulebase security rules stun action allow\nset rulebase security rules mon destination uc\nset rulebase security rules mon service any\nset rulebase security rules mon action allow\n";
    let (_, c) = load("fqdn.set", text);
    let stun = AddrSet::single(sets::host_addr("stun.ucontactcloud.com"));
    let mon = AddrSet::single(sets::host_addr("monitor.ucontactcloud.com"));
    let (_, r) = rule(&c, "stun");
    assert_eq!(r.matches[0].dst, stun);
    assert!(r.unmodeled.is_empty(), "{:?}", r.unmodeled);
    let (_, r) = rule(&c, "mon");
    let dsts = r
        .matches
        .iter()
        .fold(AddrSet::empty(), |a, s| a.union(&s.dst));
    assert_eq!(dsts, mon.union(&sets::parse_net("198.51.100.7").unwrap()));
    assert_eq!(
        c.fqdns.iter().cloned().collect::<Vec<_>>(),
        ["monitor.ucontactcloud.com", "stun.ucontactcloud.com"]
    );
}
