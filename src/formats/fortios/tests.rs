use std::sync::Arc;

use super::*;
use crate::engine::flow::{classify, Decider, Fate};
use crate::sets::{parse_net, proto, AddrSet, NameSet, PortSet, ProtoSet};
use crate::source::{Encoding, FileStore};

fn load(text: &str) -> (Arc<SourceFile>, Config) {
    let mut store = FileStore::new();
    let id = store.add_text("test.conf", None, text.to_string(), Encoding::Utf8);
    let file = store.get(id).clone();
    let cfg = parse(&file, &Limits::default());
    (file, cfg)
}

fn policies(body: &str) -> String {
    format!("config firewall policy\n{body}end\n")
}

fn rule<'a>(cfg: &'a Config, name_prefix: &str) -> &'a Rule {
    cfg.filter
        .chains
        .iter()
        .flat_map(|c| c.rules.iter())
        .find(|r| r.name.starts_with(name_prefix))
        .unwrap_or_else(|| panic!("no rule {name_prefix}"))
}

fn udp(ports: PortSet) -> Space {
    Space {
        proto: ProtoSet::single(proto::UDP),
        dport: ports,
        ..Space::all()
    }
}

fn tcp(port: u128) -> Space {
    Space {
        proto: ProtoSet::single(proto::TCP),
        dport: PortSet::single(port),
        ..Space::all()
    }
}

/// (fate, deciding rule name or "default") for every part of `space` through entry `entry`.
fn verdicts(cfg: &Config, entry: usize, space: Space) -> Vec<(Fate, String, Space)> {
    classify(&cfg.filter, &cfg.filter.entries[entry], &[space], 32)
        .into_iter()
        .map(|p| {
            let who = match p.decider {
                Decider::Rule { chain, rule } => cfg.filter.chains[chain].rules[rule].name.clone(),
                _ => "default".to_string(),
            };
            (p.fate, who, p.space)
        })
        .collect()
}

fn v4(s: &str) -> AddrSet {
    parse_net(s).unwrap()
}

#[test]
fn generic_tree_with_quotes_append_unset_and_multiline_values() {
    let text = "#config-version=FG100F-7.2.5-FW-build1517-230606:opmode=0\n\
config system replacemsg http \"url-block\"\n    set buffer \"<html>\nend\nnext\n</html>\"\nend\n\
config firewall address\n    edit \"a \\\"quoted\\\" name\"\n        set subnet 10.0.0.0/8\n        set comment \"x\"\n        unset comment\n    next\nend\n";
    let mut store = FileStore::new();
    let id = store.add_text("t", None, text.into(), Encoding::Utf8);
    let file = store.get(id);
    let t = tree::parse_tree(file, &Limits::default());
    assert!(t.issues.is_empty(), "{:?}", t.issues);
    assert!(t.unparsed.is_empty(), "{:?}", t.unparsed);
    assert_eq!(t.roots.len(), 2);
    // The multi-line quoted value (with `end`/`next` inside) is one statement.
    let msg = &t.roots[0];
    assert_eq!(msg.path(), "system replacemsg http url-block");
    assert_eq!(msg.children.len(), 1);
    assert!(msg.children[0].args[1].text.contains("end\nnext"));
    let addr = &t.roots[1];
    let e = &addr.children[0];
    assert_eq!(e.name(), "a \"quoted\" name");
    assert!(file.slice(e.span).starts_with("edit \"a"));
    assert!(file.slice(e.span).ends_with("next"));
    let entries = tree::table(&[addr], &mut Vec::new());
    assert_eq!(entries[0].get("subnet").unwrap().first(), "10.0.0.0/8");
    assert!(entries[0].get("comment").is_none(), "unset clears");
}

#[test]
fn truncated_file_names_the_unclosed_blocks() {
    let text = "config system global\n    set hostname \"x\"\nend\nconfig firewall policy\n    edit 1\n        set action accept\n        set srcintf \"port1\"\n";
    let (file, cfg) = load(text);
    assert_eq!(cfg.errors.len(), 2, "{:?}", cfg.errors);
    let lines: Vec<usize> = cfg
        .errors
        .iter()
        .map(|e| file.line_col(e.span.start).line)
        .collect();
    assert!(lines.contains(&4) && lines.contains(&5), "{lines:?}");
    assert!(cfg
        .errors
        .iter()
        .any(|e| e.message.contains("line 4") && e.message.contains("config firewall policy")));
    // What was read is still used.
    assert_eq!(cfg.rule_count(), 1);
    assert_eq!(cfg.name.as_deref(), Some("x"));
}

#[test]
fn stray_end_and_next_are_unparsed() {
    let (file, cfg) = load("next\nconfig firewall policy\nend\nend\n");
    let texts: Vec<&str> = cfg.unparsed.iter().map(|u| file.slice(u.span)).collect();
    assert_eq!(texts, ["next", "end"]);
    assert!(cfg.errors.is_empty());
}

#[test]
fn action_defaults_to_deny_order_is_file_order_and_disabled_kept() {
    let text = policies(
        "    edit 9\n        set name \"no-action\"\n        set srcintf \"port1\"\n        set dstintf \"port2\"\n        set srcaddr \"all\"\n        set dstaddr \"all\"\n        set service \"HTTP\"\n    next\n\
    edit 2\n        set srcintf \"port1\"\n        set dstintf \"port2\"\n        set action accept\n        set status disable\n        set srcaddr \"all\"\n        set dstaddr \"all\"\n        set service \"ALL\"\n    next\n\
    edit 3\n        set srcintf \"any\"\n        set dstintf \"any\"\n        set action ipsec\n        set srcaddr \"all\"\n        set dstaddr \"all\"\n        set service \"ALL\"\n    next\n",
    );
    let (file, cfg) = load(&text);
    let chain = &cfg.filter.chains[0];
    assert_eq!(chain.name, "firewall policy");
    let names: Vec<&str> = chain.rules.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["policy 9 \"no-action\"", "policy 2", "policy 3"]);
    assert_eq!(chain.rules[0].action, Action::Deny);
    assert!(!chain.rules[1].enabled);
    assert_eq!(chain.rules[1].action, Action::Allow);
    assert_eq!(chain.rules[2].action, Action::Allow);
    assert!(file.slice(chain.rules[0].span).starts_with("edit 9"));
    assert!(file.slice(chain.rules[0].span).ends_with("next"));
    assert!(chain.default.implicit);
    assert_eq!(chain.default.action, Action::Deny);
    assert_eq!(file.slice(chain.default.span), "config firewall policy");
    // HTTP from port1 is denied by policy 9 (no action = deny), the disabled policy is skipped.
    let v = verdicts(&cfg, 0, tcp(80));
    assert!(v.iter().any(|(f, who, s)| *f == Fate::Deny
        && who.starts_with("policy 9")
        && s.src_zone.contains("port1")));
    assert!(v.iter().all(|(_, who, _)| !who.starts_with("policy 2")));
    assert_eq!(cfg.filter.entries.len(), 1);
    assert_eq!(cfg.filter.entries[0].hook, Hook::Forward);
}

#[test]
fn no_policy_block_still_denies_with_default_at_first_line() {
    let (file, cfg) = load("config system global\n    set hostname \"h\"\nend\n");
    let chain = &cfg.filter.chains[0];
    assert!(chain.rules.is_empty());
    assert_eq!(file.slice(chain.default.span), "config system global");
}

#[test]
fn move_statements_reorder_policies() {
    let text = policies(
        "    edit 1\n        set action accept\n    next\n    edit 2\n    next\n    edit 3\n    next\n    move 3 before 1\n    move 1 after 2\n",
    );
    let (_, cfg) = load(&text);
    let names: Vec<&str> = cfg.filter.chains[0]
        .rules
        .iter()
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(names, ["policy 3", "policy 2", "policy 1"]);
}

#[test]
fn negations_are_folded() {
    let text = "config firewall address\n    edit \"lan\"\n        set subnet 10.0.0.0 255.0.0.0\n    next\nend\n"
        .to_string()
        + &policies(
            "    edit 1\n        set srcintf \"any\"\n        set dstintf \"any\"\n        set action accept\n        set srcaddr \"lan\"\n        set srcaddr-negate enable\n        set dstaddr \"lan\"\n        set dstaddr-negate enable\n        set service \"HTTP\"\n        set service-negate enable\n    next\n",
        );
    let (_, cfg) = load(&text);
    let r = &cfg.filter.chains[0].rules[0];
    let outside = all_v4_minus("10.0.0.0/8");
    for m in &r.matches {
        assert_eq!(m.src, outside);
        assert_eq!(m.dst, outside);
    }
    let hits = |s: Space| r.matches.iter().any(|m| !m.intersect(&s).is_empty());
    assert!(!hits(tcp(80)), "tcp/80 is the negated service");
    assert!(hits(tcp(81)));
    assert!(hits(udp(PortSet::single(80))));
    assert!(hits(Space {
        proto: ProtoSet::single(proto::ICMP),
        ..Space::all()
    }));
    assert!(r.unmodeled.is_empty(), "{:?}", r.unmodeled);
}

fn all_v4_minus(net: &str) -> AddrSet {
    crate::sets::all_v4().difference(&v4(net))
}

#[test]
fn service_group_mixing_tcp_and_udp_is_a_union_and_port_items_have_source_ranges() {
    let text = "config firewall service custom\n    edit \"SIPTLS\"\n        set tcp-portrange 5061:1024-65535\n    next\n    edit \"MEDIA\"\n        set udp-portrange 10000-20000 30000\n    next\nend\n\
config firewall service group\n    edit \"G\"\n        set member \"SIPTLS\"\n        append member \"MEDIA\"\n    next\n    edit \"OUTER\"\n        set member \"G\" \"SIP\"\n    next\nend\n"
        .to_string()
        + &policies(
            "    edit 1\n        set srcintf any\n        set dstintf any\n        set action accept\n        set srcaddr all\n        set dstaddr all\n        set service OUTER\n    next\n",
        );
    let (_, cfg) = load(&text);
    let r = &cfg.filter.chains[0].rules[0];
    assert!(r.unmodeled.is_empty(), "{:?}", r.unmodeled);
    // tcp 5061 from 1024-65535; udp 10000-20000; udp 30000; tcp 5060; udp 5060.
    assert_eq!(r.matches.len(), 5);
    let tls = r
        .matches
        .iter()
        .find(|m| m.dport == PortSet::single(5061))
        .unwrap();
    assert_eq!(tls.proto, ProtoSet::single(proto::TCP));
    assert_eq!(tls.sport, PortSet::range(1024, 65535));
    // Never one product: no space holds tcp with the RTP range.
    assert!(!r
        .matches
        .iter()
        .any(|m| m.proto.contains(proto::TCP) && m.dport.contains(15000)));
    assert!(r
        .matches
        .iter()
        .any(|m| m.proto == ProtoSet::single(proto::UDP) && m.dport == PortSet::single(5060)));
    assert_eq!(r.matches[0].src, crate::sets::all_v4());
}

#[test]
fn port_item_syntax() {
    let (d, s) = objects::port_item("1-2:3-4").unwrap();
    assert_eq!((d, s), (PortSet::range(1, 2), PortSet::range(3, 4)));
    let (d, s) = objects::port_item("13").unwrap();
    assert_eq!((d, s), (PortSet::single(13), PortSet::full()));
    assert!(objects::port_item("x-1").is_none());
    assert!(objects::port_item("70000").is_none());
}

#[test]
fn nested_address_groups_with_a_cycle_do_not_hang() {
    let text = "config firewall address\n    edit \"a\"\n        set subnet 10.1.0.0/16\n    next\n    edit \"b\"\n        set subnet 10.2.0.0/16\n    next\n    edit \"b1\"\n        set subnet 10.2.1.0/24\n    next\nend\n\
config firewall addrgrp\n    edit \"g1\"\n        set member \"a\" \"g2\"\n    next\n    edit \"g2\"\n        set member \"b\" \"g1\"\n        set exclude enable\n        set exclude-member \"b1\"\n    next\nend\n"
        .to_string()
        + &policies(
            "    edit 1\n        set srcintf any\n        set dstintf any\n        set action accept\n        set srcaddr \"g1\"\n        set dstaddr all\n        set service ALL\n    next\n",
        );
    let (_, cfg) = load(&text);
    let r = &cfg.filter.chains[0].rules[0];
    let expected = v4("10.1.0.0/16").union(&v4("10.2.0.0/16").difference(&v4("10.2.1.0/24")));
    assert_eq!(r.matches[0].src, expected);
    assert!(
        r.unmodeled.iter().any(|n| n.contains("cycle")),
        "{:?}",
        r.unmodeled
    );
}

#[test]
fn reference_depth_limit_makes_the_dimension_full() {
    let mut text = String::from("config firewall addrgrp\n");
    for i in 0..40 {
        text.push_str(&format!(
            "    edit \"g{i}\"\n        set member \"g{}\"\n    next\n",
            i + 1
        ));
    }
    text.push_str("end\n");
    text += &policies("    edit 1\n        set srcintf any\n        set dstintf any\n        set action deny\n        set srcaddr \"g0\"\n        set dstaddr all\n        set service ALL\n    next\n");
    let (_, cfg) = load(&text);
    let r = &cfg.filter.chains[0].rules[0];
    assert_eq!(r.matches[0].src, crate::sets::all_v4());
    assert!(r.unmodeled.iter().any(|n| n.contains("depth")));
}

/// Policies built in parallel (a large table) are those built one after another: same rules in
/// the same order, same lines not understood, same input issues, over names that resolve,
/// unknown names, nested and too-deep groups, negations, services and disabled policies.
#[test]
fn policies_built_in_parallel_equal_those_built_in_order() {
    let mut text = String::from("config firewall address\n");
    for i in 0..60 {
        text.push_str(&format!(
            "    edit \"h{i}\"\n        set subnet 10.0.{i}.1 255.255.255.255\n    next\n"
        ));
    }
    text.push_str("end\nconfig firewall addrgrp\n");
    for i in 0..40 {
        let member = if i < 10 {
            format!("\"h{i}\" \"h{}\"", i + 10)
        } else {
            format!("\"g{}\"", i + 1)
        };
        text.push_str(&format!(
            "    edit \"g{i}\"\n        set member {member}\n    next\n"
        ));
    }
    text.push_str("end\nconfig firewall policy\n");
    let mut rng = crate::testing::Rng(7);
    for i in 1..=3000 {
        let addr = |rng: &mut crate::testing::Rng| match rng.below(6) {
            0 => "all".to_string(),
            1 => format!("\"g{}\"", rng.below(12)),
            2 => format!("\"g{}\"", 12 + rng.below(28)),
            3 => format!("\"nowhere{}\"", rng.below(5)),
            _ => format!("\"h{}\"", rng.below(60)),
        };
        let (src, dst) = (addr(&mut rng), addr(&mut rng));
        let service = ["HTTPS", "SSH", "ALL", "NOPE", "SIP"][rng.below(5) as usize];
        let action = ["accept", "deny", "drop-it"][rng.below(3) as usize];
        text.push_str(&format!(
            "    edit {i}\n        set srcintf \"port1\"\n        set dstintf \"port2\"\n        set action {action}\n        set srcaddr {src}\n        set dstaddr {dst}\n        set service \"{service}\"\n"
        ));
        if rng.below(10) == 0 {
            text.push_str("        set status disable\n");
        }
        if rng.below(10) == 0 {
            text.push_str("        set dstaddr-negate enable\n");
        }
        text.push_str("    next\n");
    }
    text.push_str("end\n");
    let mut store = FileStore::new();
    let id = store.add_text("big.conf", None, text, Encoding::Utf8);
    let file = store.get(id).clone();
    let limits = Limits {
        max_reference_depth: 20,
        ..Limits::default()
    };
    let parallel = parse_in(&file, &limits, 1);
    let in_order = parse_in(&file, &limits, usize::MAX);
    assert_eq!(format!("{parallel:?}"), format!("{in_order:?}"));
    assert_eq!(parallel.filter.chains[0].rules.len(), 3000);
    assert!(parallel.unparsed.len() > 100, "{}", parallel.unparsed.len());
    assert!(!parallel.errors.is_empty(), "a group past the depth limit");
}

#[test]
fn zones_stand_for_themselves_and_their_members() {
    let text = "config system zone\n    edit \"lan\"\n        set interface \"port2\" \"port3\"\n    next\nend\n"
        .to_string()
        + &policies(
            "    edit 1\n        set srcintf \"lan\" \"port9\"\n        set dstintf \"any\"\n        set action accept\n        set srcaddr all\n        set dstaddr all\n        set service ALL\n    next\n",
        );
    let (_, cfg) = load(&text);
    let m = &cfg.filter.chains[0].rules[0].matches[0];
    assert_eq!(
        m.src_zone,
        NameSet::only(["lan", "port2", "port3", "port9"])
    );
    assert_eq!(m.dst_zone, NameSet::Any);
}

#[test]
fn unknown_and_unresolvable_objects_widen_with_a_note() {
    let text = "config firewall address\n    edit \"portal\"\n        set type fqdn\n        set fqdn \"portal.example.com\"\n    next\nend\n"
        .to_string()
        + &policies(
            "    edit 1\n        set srcintf any\n        set dstintf any\n        set action accept\n        set srcaddr \"ghost\"\n        set dstaddr \"portal\"\n        set service \"NOPE\"\n    next\n",
        );
    let (file, cfg) = load(&text);
    let r = &cfg.filter.chains[0].rules[0];
    assert_eq!(r.matches.len(), 1);
    assert_eq!(r.matches[0].src, crate::sets::all_v4());
    // The FQDN object is modelled: its name's pseudo address, and the name is listed.
    assert_eq!(
        r.matches[0].dst,
        AddrSet::single(crate::sets::host_addr("portal.example.com"))
    );
    assert!(cfg.fqdns.contains("portal.example.com"));
    assert!(r.matches[0].proto.is_full());
    let notes = r.unmodeled.join("\n");
    assert!(notes.contains("\"ghost\""), "{notes}");
    assert!(!notes.contains("portal.example.com"), "{notes}");
    assert!(notes.contains("\"NOPE\""), "{notes}");
    let spans: Vec<&str> = cfg.unparsed.iter().map(|u| file.slice(u.span)).collect();
    assert!(spans.contains(&"set srcaddr \"ghost\""), "{spans:?}");
    assert!(spans.contains(&"set service \"NOPE\""), "{spans:?}");
}

#[test]
fn ipv6_addresses_and_vips() {
    let text = "config firewall vip\n    edit \"web-vip\"\n        set extip 192.0.2.10-192.0.2.11\n        set mappedip \"10.0.0.5\"\n    next\nend\n\
config firewall address6\n    edit \"v6net\"\n        set ip6 2001:db8::/32\n    next\nend\n"
        .to_string()
        + &policies(
            "    edit 1\n        set srcintf any\n        set dstintf any\n        set action accept\n        set srcaddr all\n        set dstaddr \"web-vip\"\n        set srcaddr6 all\n        set dstaddr6 \"v6net\"\n        set service HTTPS\n    next\n",
        );
    let (_, cfg) = load(&text);
    let r = &cfg.filter.chains[0].rules[0];
    assert_eq!(r.matches.len(), 2);
    assert_eq!(
        r.matches[0].dst,
        crate::sets::addr_range("192.0.2.10".parse().unwrap(), "192.0.2.11".parse().unwrap())
    );
    assert_eq!(r.matches[1].dst, parse_net("2001:db8::/32").unwrap());
    assert_eq!(r.matches[1].src, crate::sets::all_v6());
}

fn fixture(name: &str) -> (Arc<SourceFile>, Config) {
    let path = format!("{}/fixtures/fortios/{name}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut store = FileStore::new();
    let id = store.add_bytes(name, None, &bytes);
    let file = store.get(id).clone();
    assert_eq!(crate::formats::detect(&file), Format::Fortios, "{name}");
    let cfg = parse(&file, &Limits::default());
    assert!(cfg.errors.is_empty(), "{name}: {:?}", cfg.errors);
    (file, cfg)
}

#[test]
fn sip_alg_a_default_is_on() {
    let (file, cfg) = fixture("alg-default-on.conf");
    let alg = cfg.features.sip_alg.unwrap();
    assert!(alg.enabled && alg.default);
    // No `config system settings`: the file's first line.
    assert!(file.slice(alg.span).starts_with("#config-version=FG100F"));
    assert!(alg.reason.contains("proxy-based"), "{}", alg.reason);
    // Inline: settings block present but silent → its line.
    let (file, cfg) = load("config system settings\n    set sip-expectation disable\nend\n");
    let alg = cfg.features.sip_alg.unwrap();
    assert!(alg.enabled && alg.default);
    assert_eq!(file.slice(alg.span), "config system settings");
}

#[test]
fn sip_alg_b_kernel_mode_with_sip_helper_is_on_at_the_helper() {
    let (file, cfg) = fixture("edge.conf");
    let alg = cfg.features.sip_alg.unwrap();
    assert!(alg.enabled && !alg.default);
    let s = file.slice(alg.span);
    assert!(
        s.starts_with("edit 13") && s.contains("set name sip") && s.ends_with("next"),
        "{s}"
    );
    assert!(alg.reason.contains("kernel-helper-based") && alg.reason.contains("session helper"));
    assert!(alg
        .related
        .iter()
        .any(|(sp, _)| file.slice(*sp) == "set default-voip-alg-mode kernel-helper-based"));
}

#[test]
fn sip_alg_c_off_needs_kernel_mode_no_helper_no_voip_profile() {
    let (file, cfg) = fixture("alg-off.conf");
    let alg = cfg.features.sip_alg.unwrap();
    assert!(!alg.enabled && !alg.default, "{}", alg.reason);
    assert_eq!(
        file.slice(alg.span),
        "set default-voip-alg-mode kernel-helper-based"
    );
    assert!(alg.reason.contains("deleted"), "{}", alg.reason);
    // Kernel mode but no session-helper table at all: FortiOS's default sip helper → on.
    let (_, cfg) =
        load("config system settings\n    set default-voip-alg-mode kernel-helper-based\nend\n");
    let alg = cfg.features.sip_alg.unwrap();
    assert!(alg.enabled && alg.default);
    // Pre-6.2 `set sip-helper disable` turns the helper off even while its entry exists.
    let (file, cfg) = load("config system settings\n    set default-voip-alg-mode kernel-helper-based\n    set sip-helper disable\nend\nconfig system session-helper\n    edit 13\n        set name sip\n        set protocol 17\n        set port 5060\n    next\nend\n");
    let alg = cfg.features.sip_alg.unwrap();
    assert!(!alg.enabled, "{}", alg.reason);
    assert!(alg
        .related
        .iter()
        .any(|(s, _)| file.slice(*s) == "set sip-helper disable"));
}

#[test]
fn sip_alg_d_voip_profile_forces_the_proxy() {
    let (file, cfg) = fixture("voip-profile.conf");
    let alg = cfg.features.sip_alg.unwrap();
    assert!(alg.enabled && !alg.default);
    assert_eq!(file.slice(alg.span), "set voip-profile \"default\"");
    assert!(
        alg.reason.contains("policy 1 \"voice-out\""),
        "{}",
        alg.reason
    );
    assert!(alg
        .related
        .iter()
        .any(|(s, _)| file.slice(*s) == "set default-voip-alg-mode kernel-helper-based"));
    let r = &cfg.filter.chains[0].rules[0];
    assert_eq!(r.inspection.len(), 1);
    assert_eq!(r.inspection[0].kind, InspectionKind::SipAlg);
    assert_eq!(r.inspection[0].name, "default");
}

#[test]
fn ips_sensor_is_an_inspection_unless_utm_is_disabled() {
    let (file, cfg) = fixture("ips-on-voice.conf");
    let voice = rule(&cfg, "policy 3");
    assert_eq!(voice.inspection.len(), 1);
    let i = &voice.inspection[0];
    assert_eq!(i.kind, InspectionKind::Ips);
    assert_eq!(i.name, "protect_client");
    assert_eq!(file.slice(i.span), "set ips-sensor \"protect_client\"");
    let guest = rule(&cfg, "policy 4");
    assert!(guest.inspection.is_empty());
    assert!(cfg
        .unparsed
        .iter()
        .any(|u| file.slice(u.span) == "set ips-sensor \"default\""
            && u.reason.contains("utm-status")));
    // The ALG is off here (kernel mode, helper deleted, no voip-profile).
    assert!(!cfg.features.sip_alg.unwrap().enabled);
}

#[test]
fn edge_fixture_first_match_verdicts() {
    let (file, cfg) = fixture("edge.conf");
    assert_eq!(cfg.name.as_deref(), Some("cc-edge-01"));
    let chain = &cfg.filter.chains[0];
    assert_eq!(chain.rules.len(), 6);
    assert_eq!(chain.rules[0].name, "policy 10 \"block-legacy-rtp\"");
    assert_eq!(chain.rules[0].action, Action::Deny);
    // RTP from agents (zone lan) to the uContact cloud: 10000-12000 is shadowed by policy 10.
    let space = Space {
        src: v4("10.20.5.0/24"),
        dst: v4("203.0.113.200/32"),
        src_zone: NameSet::only(["port2"]),
        dst_zone: NameSet::only(["port1"]),
        ..udp(PortSet::range(10000, 20000))
    };
    let v = verdicts(&cfg, 0, space);
    let denied = v
        .iter()
        .filter(|(f, who, _)| *f == Fate::Deny && who.starts_with("policy 10"))
        .fold(PortSet::empty(), |a, (_, _, s)| a.union(&s.dport));
    let allowed = v
        .iter()
        .filter(|(f, who, _)| *f == Fate::Allow && who.starts_with("policy 5"))
        .fold(PortSet::empty(), |a, (_, _, s)| a.union(&s.dport));
    assert_eq!(denied, PortSet::range(10000, 12000));
    assert_eq!(allowed, PortSet::range(12001, 20000));
    // The voice policy carries the IPS sensor.
    let voice = rule(&cfg, "policy 5");
    assert_eq!(
        file.slice(voice.inspection[0].span),
        "set ips-sensor \"voice-ips\""
    );
    // Telnet from the Internet to the PBX's VIP is allowed by policy 20.
    let telnet = Space {
        src: v4("0.0.0.0/0"),
        dst: v4("203.0.113.3/32"),
        src_zone: NameSet::only(["port1"]),
        dst_zone: NameSet::only(["port4"]),
        ..tcp(23)
    };
    let v = verdicts(&cfg, 0, telnet);
    assert!(
        v.iter()
            .all(|(f, who, _)| *f == Fate::Allow && who.starts_with("policy 20")),
        "{v:?}"
    );
    // The disabled policy is kept but disabled; the FQDN destination is modelled by name.
    assert!(!rule(&cfg, "policy 8").enabled);
    assert!(rule(&cfg, "policy 6").matches[0]
        .dst
        .contains(crate::sets::host_addr("portal.ucontact.example")));
    assert!(cfg.fqdns.contains("portal.ucontact.example"));
}

#[test]
fn secrets_never_reach_the_model() {
    let (_, cfg) = fixture("edge.conf");
    let mut strings: Vec<String> = vec![cfg.name.clone().unwrap_or_default()];
    for c in &cfg.filter.chains {
        strings.push(c.name.clone());
        for r in &c.rules {
            strings.push(r.name.clone());
            strings.extend(r.unmodeled.iter().cloned());
            strings.extend(r.inspection.iter().map(|i| i.name.clone()));
            if let Action::Unknown(s) = &r.action {
                strings.push(s.clone());
            }
        }
    }
    strings.extend(cfg.unparsed.iter().map(|u| u.reason.clone()));
    strings.extend(cfg.errors.iter().map(|u| u.message.clone()));
    if let Some(a) = &cfg.features.sip_alg {
        strings.push(a.reason.clone());
        strings.extend(a.related.iter().map(|r| r.1.clone()));
    }
    for s in strings {
        for secret in ["SECRETHASH", "sn1mpC0mmunity", "pskDoNotCopy", "ENC"] {
            assert!(!s.contains(secret), "{s}");
        }
    }
}

#[test]
fn multi_vdom_gets_a_chain_per_vdom_and_sees_global_objects() {
    let text = "config vdom\nedit root\nnext\nedit cust\nnext\nend\n\
config global\nconfig system global\n    set hostname \"mv\"\nend\n\
config firewall address\n    edit \"g-net\"\n        set subnet 10.9.0.0/16\n    next\nend\nend\n\
config vdom\nedit root\nconfig system settings\n    set default-voip-alg-mode kernel-helper-based\nend\n\
config firewall policy\n    edit 1\n        set srcintf any\n        set dstintf any\n        set action accept\n        set srcaddr \"g-net\"\n        set dstaddr all\n        set service ALL\n    next\nend\nnext\n\
edit cust\nconfig firewall policy\n    edit 1\n        set srcintf any\n        set dstintf any\n        set srcaddr all\n        set dstaddr all\n        set service ALL\n    next\nend\nnext\nend\n";
    let (_, cfg) = load(text);
    assert!(cfg.errors.is_empty(), "{:?}", cfg.errors);
    assert!(cfg.unparsed.is_empty(), "{:?}", cfg.unparsed);
    assert_eq!(cfg.name.as_deref(), Some("mv"));
    let names: Vec<&str> = cfg.filter.chains.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        ["firewall policy (vdom root)", "firewall policy (vdom cust)"]
    );
    assert_eq!(cfg.filter.entries.len(), 2);
    assert!(cfg.filter.entries.iter().all(|e| e.hook == Hook::Forward));
    assert_eq!(
        cfg.filter.chains[0].rules[0].matches[0].src,
        v4("10.9.0.0/16")
    );
    assert_eq!(cfg.filter.chains[1].rules[0].action, Action::Deny);
    assert_eq!(cfg.filter.chains[1].rules[0].name, "policy 1 (vdom cust)");
    // Root is in kernel mode with the default helper; cust has the default proxy: on.
    let alg = cfg.features.sip_alg.unwrap();
    assert!(alg.enabled);
    assert!(alg.reason.contains("vdom root"), "{}", alg.reason);
}

#[test]
fn local_in_policy_is_an_input_chain_with_implicit_allow() {
    let (file, cfg) = load("config firewall local-in-policy\n    edit 1\n        set intf \"port1\"\n        set srcaddr \"all\"\n        set dstaddr \"all\"\n        set service \"SSH\"\n        set schedule \"always\"\n    next\nend\n");
    assert_eq!(cfg.filter.chains.len(), 2);
    let chain = &cfg.filter.chains[1];
    assert_eq!(chain.name, "firewall local-in-policy");
    assert_eq!(chain.default.action, Action::Allow);
    assert!(chain.default.implicit);
    assert_eq!(
        file.slice(chain.default.span),
        "config firewall local-in-policy"
    );
    let r = &chain.rules[0];
    assert_eq!(r.name, "local-in-policy 1");
    assert_eq!(r.action, Action::Deny);
    assert_eq!(r.matches[0].src_zone, NameSet::only(["port1"]));
    assert!(cfg
        .filter
        .entries
        .iter()
        .any(|e| e.hook == Hook::Input && e.stages == [1]));
}

#[test]
fn schedule_users_and_internet_service_are_unmodeled() {
    let text = policies("    edit 1\n        set srcintf any\n        set dstintf any\n        set action accept\n        set srcaddr all\n        set internet-service enable\n        set internet-service-name \"Microsoft-Office365\"\n        set schedule \"weekdays\"\n        set groups \"agents\"\n    next\n");
    let (_, cfg) = load(&text);
    let r = &cfg.filter.chains[0].rules[0];
    let notes = r.unmodeled.join("\n");
    assert!(
        notes.contains("weekdays")
            && notes.contains("Internet Service")
            && notes.contains("groups"),
        "{notes}"
    );
    assert_eq!(r.matches[0].dst, crate::sets::all_v4());
}

#[test]
fn sniff_recognises_fortios_and_rejects_other_vendors() {
    assert_eq!(
        sniff("x", "#config-version=FGVM64-7.4.1-FW-build2463:opmode=0\n"),
        100
    );
    assert!(
        sniff(
            "x",
            "config firewall policy\n    edit 1\n        set action accept\n    next\nend\n"
        ) > 0
    );
    let others = [
        "system {\n    host-name srx;\n}\nsecurity {\n    policies {\n        from-zone trust to-zone untrust {\n            policy p { then { permit; } }\n        }\n    }\n}\n",
        "set security policies from-zone trust to-zone untrust policy p match application junos-sip\n",
        "ASA Version 9.8(2)\nhostname fw\naccess-list outside_in extended permit udp any any eq 5060\npolicy-map global_policy\n class inspection_default\n  inspect sip\n",
        "*filter\n:INPUT DROP [0:0]\n-A INPUT -p udp --dport 5060 -j ACCEPT\nCOMMIT\n",
        "/ip firewall filter\nadd action=accept chain=input dst-port=5060 protocol=udp\n/ip firewall service-port\nset sip disabled=yes\n",
        "<?xml version=\"1.0\"?>\n<pfsense><filter><rule><type>pass</type></rule></filter></pfsense>\n",
        "interface GigabitEthernet0/0\n ip address 10.0.0.1 255.255.255.0\n!\nend\n",
    ];
    for o in others {
        assert_eq!(sniff("x", o), 0, "{o}");
    }
}

#[test]
fn hostile_input_never_panics() {
    let deep = "config a\n".repeat(500) + &"end\n".repeat(3);
    let (_, cfg) = load(&deep);
    assert!(!cfg.errors.is_empty());
    for text in [
        "\"",
        "edit",
        "config firewall policy\n    edit 1\n        set service \"unterminated\n",
        "config firewall service custom\n    edit x\n        set tcp-portrange 99999-1 a:b\n    next\nend\n",
        "config firewall address\n    edit x\n        set subnet 10.0.0.0 255.0.255.0\n    next\nend\nconfig firewall policy\n    edit 1\n        set srcaddr x\n    next\n    move 1 before 7\nend\n",
        "\u{feff}\r\nconfig firewall policy\r\n    edit 1\r\n    next\r\nend\r\n",
    ] {
        let _ = load(text);
    }
}

#[test]
fn corpus_files_are_detected_and_parse() {
    let dir = format!("{}/fixtures/fortios/corpus", env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let mut store = FileStore::new();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let id = store.add_bytes(name.clone(), None, &bytes);
        let file = store.get(id);
        assert_eq!(crate::formats::detect(file), Format::Fortios, "{name}");
        let cfg = crate::formats::parse(file, Format::Fortios, &Limits::default());
        let has_policies = file.text.contains("config firewall policy")
            || file.text.contains("config firewall local-in-policy");
        if has_policies {
            assert!(cfg.rule_count() > 0, "{name}");
        }
        assert!(cfg.errors.is_empty(), "{name}: {:?}", cfg.errors);
        n += 1;
    }
    assert_eq!(n, 12);
}

#[test]
fn profile_groups_and_sdwan_zones() {
    let text = "config system sdwan\n    set status enable\n    config zone\n        edit \"virtual-wan-link\"\n        next\n    end\n    config members\n        edit 1\n            set interface \"wan1\"\n        next\n        edit 2\n            set interface \"wan2\"\n            set zone \"voice-wan\"\n        next\n    end\nend\n\
config firewall profile-group\n    edit \"voice-profiles\"\n        set ips-sensor \"voice-ips\"\n        set voip-profile \"strict\"\n    next\nend\n"
        .to_string()
        + &policies("    edit 1\n        set srcintf \"internal\"\n        set dstintf \"virtual-wan-link\" \"voice-wan\"\n        set action accept\n        set srcaddr all\n        set dstaddr all\n        set service SIP\n        set utm-status enable\n        set profile-type group\n        set profile-group \"voice-profiles\"\n    next\n");
    let (file, cfg) = load(&text);
    let r = &cfg.filter.chains[0].rules[0];
    assert_eq!(
        r.matches[0].dst_zone,
        NameSet::only(["virtual-wan-link", "voice-wan", "wan1", "wan2"])
    );
    let kinds: Vec<(InspectionKind, &str)> = r
        .inspection
        .iter()
        .map(|i| (i.kind, file.slice(i.span)))
        .collect();
    assert_eq!(
        kinds,
        [
            (InspectionKind::Ips, "set ips-sensor \"voice-ips\""),
            (InspectionKind::SipAlg, "set voip-profile \"strict\"")
        ]
    );
}

#[test]
fn fqdn_wildcard_and_group_addresses_are_modelled_by_name() {
    let text = "config firewall address\n    edit \"stun\"\n        set type fqdn\n        set fqdn \"STUN.ucontactcloud.com\"\n    next\n    edit \"cloud\"\n        set type wildcard-fqdn\n        set wildcard-fqdn \"*.ucontactcloud.com\"\n    next\n    edit \"bad\"\n        set type fqdn\n        set fqdn \"not a name\"\n    next\nend\nconfig firewall addrgrp\n    edit \"uc\"\n        set member \"stun\" \"cloud\"\n    next\nend\n"
        .to_string()
        + &policies(
            "    edit 1\n        set srcintf any\n        set dstintf any\n        set action accept\n        set srcaddr all\n        set dstaddr \"uc\"\n        set service ALL\n    next\n    edit 2\n        set srcintf any\n        set dstintf any\n        set action accept\n        set srcaddr all\n        set dstaddr \"cloud\"\n        set service ALL\n    next\n    edit 3\n        set srcintf any\n        set dstintf any\n        set action accept\n        set srcaddr all\n        set dstaddr \"bad\"\n        set service ALL\n    next\n",
        );
    let (_file, cfg) = load(&text);
    let stun = crate::sets::host_addr("stun.ucontactcloud.com");
    let wild = crate::sets::host_addr("*.ucontactcloud.com");
    let r1 = rule(&cfg, "policy 1");
    assert_eq!(
        r1.matches[0].dst,
        AddrSet::single(stun).union(&AddrSet::single(wild))
    );
    assert!(r1.unmodeled.is_empty(), "{:?}", r1.unmodeled);
    assert_eq!(rule(&cfg, "policy 2").matches[0].dst, AddrSet::single(wild));
    // A value that is not a host name stays unmodelled (any, with a note).
    let r3 = rule(&cfg, "policy 3");
    assert_eq!(r3.matches[0].dst, crate::sets::all_v4());
    assert!(r3.unmodeled.iter().any(|n| n.contains("not a name")));
    assert_eq!(
        cfg.fqdns.iter().cloned().collect::<Vec<_>>(),
        ["*.ucontactcloud.com", "stun.ucontactcloud.com"]
    );
}

#[test]
fn a_name_many_policies_use_resolves_the_same_for_each() {
    // Names are resolved once and remembered: every policy using them still gets the value
    // and every note (cycle, unknown member), not only the first.
    let text = "config firewall address\n    edit \"a\"\n        set subnet 10.1.0.0/16\n    next\nend\n\
config firewall addrgrp\n    edit \"g1\"\n        set member \"a\" \"g2\" \"ghost\"\n    next\n    edit \"g2\"\n        set member \"g1\"\n    next\nend\n"
        .to_string()
        + &policies(
            "    edit 1\n        set srcintf any\n        set dstintf any\n        set action accept\n        set srcaddr \"g1\"\n        set dstaddr all\n        set service ALL\n    next\n\
    edit 2\n        set srcintf any\n        set dstintf any\n        set action accept\n        set srcaddr \"a\" \"g1\"\n        set dstaddr \"g1\"\n        set service ALL\n    next\n",
        );
    let (_, cfg) = load(&text);
    let rules = &cfg.filter.chains[0].rules;
    assert_eq!(rules.len(), 2);
    for r in rules {
        // `ghost` is unknown, so the group is inexact: the whole dimension.
        assert_eq!(r.matches[0].src, crate::sets::all_v4(), "{}", r.name);
        for want in [
            "cycle through \"g1\"",
            "references unknown address \"ghost\"",
        ] {
            assert!(
                r.unmodeled.iter().any(|n| n.contains(want)),
                "{}: {:?}",
                r.name,
                r.unmodeled
            );
        }
    }
    // Policy 2 names the group twice (srcaddr and dstaddr): one note per condition, as before.
    let cycles = rules[1]
        .unmodeled
        .iter()
        .filter(|n| n.contains("cycle"))
        .count();
    assert_eq!(cycles, 2, "{:?}", rules[1].unmodeled);
    let unknown = cfg
        .unparsed
        .iter()
        .filter(|u| u.reason.contains("\"ghost\""))
        .count();
    assert_eq!(unknown, 3, "{:?}", cfg.unparsed);
}

#[test]
fn a_service_without_port_range_is_reported_whatever_precedes_it() {
    // A service with no port range matches nothing; a badly written service listed before it
    // in the same policy used to hide that (the "not understood" flag was shared).
    let text = "config firewall service custom\n    edit \"bad\"\n        set tcp-portrange abc\n    next\n    edit \"empty\"\n        set comment \"nothing\"\n    next\nend\n"
        .to_string()
        + &policies(
            "    edit 1\n        set srcintf any\n        set dstintf any\n        set action accept\n        set srcaddr all\n        set dstaddr all\n        set service \"bad\" \"empty\"\n    next\n",
        );
    let (_, cfg) = load(&text);
    let reasons: Vec<&str> = cfg.unparsed.iter().map(|u| u.reason.as_str()).collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("service \"empty\" has no port range")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("item of service \"bad\" not understood")),
        "{reasons:?}"
    );
}

/// Policies naming the same interfaces share one set (a 100,000-policy file held one per
/// policy and side, 73 MB), and a zone still stands for its members; lists that differ, or
/// that only join to the same text, do not share.
#[test]
fn policies_naming_the_same_interfaces_share_one_set() {
    let (_, cfg) = load(&format!(
        "config system zone\n edit \"voice\"\n  set interface \"port3\" \"port4\"\n next\nend\n{}",
        policies(
            " edit 1\n  set srcintf \"port1\"\n  set dstintf \"voice\"\n  set srcaddr \"all\"\n  set dstaddr \"all\"\n  set service \"ALL\"\n  set action accept\n next\n \
             edit 2\n  set srcintf \"port1\"\n  set dstintf \"voice\"\n  set srcaddr \"all\"\n  set dstaddr \"all\"\n  set service \"ALL\"\n  set action accept\n next\n \
             edit 3\n  set srcintf \"port\" \"1\"\n  set dstintf \"port1\"\n  set srcaddr \"all\"\n  set dstaddr \"all\"\n  set service \"ALL\"\n  set action accept\n next\n"
        )
    ));
    let zones = |name: &str| {
        let m = &rule(&cfg, name).matches[0];
        (m.src_zone.clone(), m.dst_zone.clone())
    };
    let (src1, dst1) = zones("policy 1");
    let (src2, dst2) = zones("policy 2");
    let (src3, dst3) = zones("policy 3");
    let names = |s: &NameSet| match s {
        NameSet::Only(n) => n.clone(),
        other => panic!("not a list of names: {other:?}"),
    };
    assert!(Arc::ptr_eq(&names(&src1), &names(&src2)));
    assert!(Arc::ptr_eq(&names(&dst1), &names(&dst2)));
    assert_eq!(dst1, NameSet::only(["voice", "port3", "port4"]));
    assert_eq!(src3, NameSet::only(["port", "1"]));
    assert_ne!(src3, src1);
    assert!(Arc::ptr_eq(&names(&dst3), &names(&src1)));
}
