use super::*;
use crate::engine::flow::{classify, Decider, Fate};
use crate::source::Encoding;

fn file(name: &str, text: &str) -> SourceFile {
    SourceFile::from_text(
        FileId(0),
        name.into(),
        None,
        text.to_string(),
        Encoding::Utf8,
    )
}

fn parse_text(text: &str) -> (SourceFile, Config) {
    let f = file("t.conf", text);
    let c = parse(&f, &Limits::default());
    (f, c)
}

const EDGE: &str = include_str!("../../../fixtures/junos/srx-edge.conf");
const ALG_DEFAULT: &str = include_str!("../../../fixtures/junos/alg-default.conf");
const ALG_OFF: &str = include_str!("../../../fixtures/junos/alg-off.set");

fn udp(lo: u128, hi: u128) -> Space {
    let mut s = Space::all();
    s.proto = ProtoSet::single(proto::UDP);
    s.dport = PortSet::range(lo, hi);
    s
}

fn rule_names(c: &Config) -> Vec<String> {
    c.filter.chains[0]
        .rules
        .iter()
        .map(|r| r.name.clone())
        .collect()
}

#[test]
fn edge_fixture_structure() {
    let (f, c) = parse_text(EDGE);
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    assert_eq!(c.name.as_deref(), Some("srx-edge"));
    // Security policies, host-inbound-traffic.
    assert_eq!(c.filter.chains.len(), 2);
    assert_eq!(c.filter.entries.len(), 2);
    assert_eq!(c.filter.entries[0].hook, Hook::Forward);
    assert_eq!(c.filter.entries[0].stages, vec![0]);
    assert_eq!(c.filter.entries[1].hook, Hook::Input);
    // Zone-pair policies in order, then global, then the default.
    assert_eq!(
        rule_names(&c),
        vec![
            "policy deny-low-rtp (from-zone untrust to-zone voice)",
            "policy allow-rtp (from-zone untrust to-zone voice)",
            "policy allow-sip (from-zone untrust to-zone voice)",
            "policy old-any (from-zone untrust to-zone voice)",
            "global policy block-telnet",
        ]
    );
    let ch = &c.filter.chains[0];
    assert_eq!(ch.default.action, Action::Deny);
    assert!(!ch.default.implicit);
    assert_eq!(f.slice(ch.default.span), "deny-all;");
    // Inactive policy kept, disabled.
    assert!(!ch.rules[3].enabled);
    assert!(ch.rules[..3].iter().all(|r| r.enabled));
    // Rule spans cover the policy block.
    let s = f.slice(ch.rules[0].span);
    assert!(
        s.starts_with("policy deny-low-rtp {") && s.ends_with('}'),
        "{s}"
    );
    assert!(f
        .slice(ch.rules[3].span)
        .starts_with("inactive: policy old-any {"));
    // Zones carry their interfaces.
    let m = &ch.rules[1].matches[0];
    assert_eq!(m.src_zone, NameSet::only(["untrust", "ge-0/0/0.0"]));
    assert_eq!(m.dst_zone, NameSet::only(["voice", "ge-0/0/1.0"]));
    // range-address resolved.
    let carrier = crate::sets::addr_range(
        "198.51.100.1".parse().unwrap(),
        "198.51.100.20".parse().unwrap(),
    );
    assert_eq!(m.src, carrier);
    // Address-set resolved to both members.
    let sbcs = parse_net("10.20.0.10/32")
        .unwrap()
        .union(&parse_net("10.20.0.11/32").unwrap());
    assert_eq!(m.dst, sbcs);
    // allow-sip: junos-sip (udp+tcp 5060) + nested set with tcp/5061, destination includes
    // the zone address-book entry PBX.
    let sip = &ch.rules[2];
    assert!(sip.unmodeled.is_empty(), "{:?}", sip.unmodeled);
    assert_eq!(sip.matches.len(), 3);
    let tcp_ports: Vec<_> = sip
        .matches
        .iter()
        .filter(|m| m.proto == ProtoSet::single(proto::TCP))
        .map(|m| m.dport.clone())
        .collect();
    assert_eq!(
        tcp_ports,
        vec![PortSet::single(5060), PortSet::single(5061)]
    );
    assert!(sip.matches[0]
        .dst
        .is_subset(&sbcs.union(&parse_net("10.30.0.5").unwrap())));
    assert!(parse_net("10.30.0.5")
        .unwrap()
        .is_subset(&sip.matches[0].dst));
    // Global policy: any zone.
    let g = &ch.rules[4];
    assert_eq!(g.action, Action::Deny);
    assert!(g.matches[0].src_zone.is_any());
    assert_eq!(g.matches[0].dport, PortSet::single(23));
    // The secret never leaks into the model.
    let all = format!("{:?}", c);
    assert!(!all.contains("notarealhash"));
}

#[test]
fn rtp_range_is_partly_blocked_by_earlier_deny() {
    let (_, c) = parse_text(EDGE);
    let mut q = udp(10000, 20000);
    q.src = parse_net("198.51.100.5").unwrap();
    q.dst = parse_net("10.20.0.10").unwrap();
    q.src_zone = NameSet::only(["untrust"]);
    q.dst_zone = NameSet::only(["voice"]);
    let parts = classify(&c.filter, &c.filter.entries[0], &[q], 16);
    let denied: Vec<_> = parts.iter().filter(|p| p.fate == Fate::Deny).collect();
    let allowed: Vec<_> = parts.iter().filter(|p| p.fate == Fate::Allow).collect();
    assert_eq!(denied.len(), 1);
    assert_eq!(denied[0].space.dport, PortSet::range(10000, 12000));
    assert_eq!(denied[0].decider, Decider::Rule { chain: 0, rule: 0 });
    assert_eq!(
        c.filter.chains[0].rules[0].name,
        "policy deny-low-rtp (from-zone untrust to-zone voice)"
    );
    assert_eq!(allowed.len(), 1);
    assert_eq!(allowed[0].space.dport, PortSet::range(12001, 20000));
    assert_eq!(allowed[0].decider, Decider::Rule { chain: 0, rule: 1 });
    assert!(allowed[0].uncertain_via.is_empty());

    // The same through the interface name instead of the zone name.
    let mut q = udp(15000, 15000);
    q.src = parse_net("198.51.100.5").unwrap();
    q.dst = parse_net("10.20.0.11").unwrap();
    q.src_zone = NameSet::only(["ge-0/0/0.0"]);
    q.dst_zone = NameSet::only(["ge-0/0/1.0"]);
    let parts = classify(&c.filter, &c.filter.entries[0], &[q], 16);
    assert!(parts.iter().all(|p| p.fate == Fate::Allow));

    // From another source the allow does not match: the default decides.
    let mut q = udp(15000, 15000);
    q.src = parse_net("203.0.113.9").unwrap();
    let parts = classify(&c.filter, &c.filter.entries[0], &[q], 16);
    assert!(parts.iter().all(|p| p.fate == Fate::Deny));
    assert!(parts
        .iter()
        .any(|p| p.decider == Decider::Default { chain: 0 }));
}

#[test]
fn application_set_with_junos_sip_passes() {
    let (_, c) = parse_text(EDGE);
    for (p, port) in [(proto::UDP, 5060), (proto::TCP, 5060), (proto::TCP, 5061)] {
        let mut q = Space::all();
        q.proto = ProtoSet::single(p);
        q.dport = PortSet::single(port);
        q.src = parse_net("198.51.100.7").unwrap();
        q.dst = parse_net("10.30.0.5").unwrap();
        q.src_zone = NameSet::only(["untrust"]);
        q.dst_zone = NameSet::only(["voice"]);
        let parts = classify(&c.filter, &c.filter.entries[0], &[q], 16);
        assert!(!parts.is_empty());
        for part in &parts {
            assert_eq!(part.fate, Fate::Allow, "{p}/{port}");
            assert_eq!(part.decider, Decider::Rule { chain: 0, rule: 2 });
        }
    }
    // udp/5061 is not in the set: default deny.
    let mut q = udp(5061, 5061);
    q.src = parse_net("198.51.100.7").unwrap();
    q.dst = parse_net("10.30.0.5").unwrap();
    q.src_zone = NameSet::only(["untrust"]);
    q.dst_zone = NameSet::only(["voice"]);
    let parts = classify(&c.filter, &c.filter.entries[0], &[q], 16);
    assert!(parts.iter().all(|p| p.fate == Fate::Deny));
}

#[test]
fn ips_on_and_off() {
    let (f, c) = parse_text(EDGE);
    let sip = &c.filter.chains[0].rules[2];
    assert_eq!(sip.inspection.len(), 1);
    assert_eq!(sip.inspection[0].kind, InspectionKind::Ips);
    assert_eq!(sip.inspection[0].name, "VOICE-IPS");
    assert_eq!(f.slice(sip.inspection[0].span), "idp-policy VOICE-IPS;");
    assert!(c.filter.chains[0].rules[1].inspection.is_empty());

    let on = "set security policies from-zone a to-zone b policy p match source-address any\n\
              set security policies from-zone a to-zone b policy p match destination-address any\n\
              set security policies from-zone a to-zone b policy p match application junos-sip\n\
              set security policies from-zone a to-zone b policy p then permit application-services idp\n\
              set security idp active-policy Recommended\n";
    let (f, c) = parse_text(on);
    let r = &c.filter.chains[0].rules[0];
    assert_eq!(r.action, Action::Allow);
    assert_eq!(r.inspection.len(), 1);
    assert_eq!(r.inspection[0].name, "Recommended");
    assert!(f
        .slice(r.inspection[0].span)
        .ends_with("application-services idp"));

    // active-policy alone is not attached to traffic.
    let off = on.replace(" application-services idp", "");
    let (_, c) = parse_text(&off);
    assert!(c.filter.chains[0].rules[0].inspection.is_empty());
    assert!(c.features.ips.is_none());
}

#[test]
fn sip_alg_default_and_off() {
    let (f, c) = parse_text(ALG_DEFAULT);
    let st = c.features.sip_alg.as_ref().unwrap();
    assert!(st.enabled && st.default);
    assert_eq!(f.slice(st.span), "alg {");
    assert!(st.reason.contains("by default"));

    let (f, c) = parse_text(ALG_OFF);
    let st = c.features.sip_alg.as_ref().unwrap();
    assert!(!st.enabled && !st.default);
    assert_eq!(f.slice(st.span), "set security alg sip disable");

    // Deactivated `disable`: still on.
    let t = format!("{ALG_OFF}deactivate security alg sip disable\n");
    let (_, c) = parse_text(&t);
    let st = c.features.sip_alg.as_ref().unwrap();
    assert!(st.enabled);
    assert_eq!(st.related.len(), 1);

    // No security hierarchy at all: the SRX default is assumed, and said so.
    let (f, c) = parse_text("set system host-name mx1\nset interfaces ge-0/0/0 unit 0 family inet address 10.0.0.1/24\n");
    let st = c.features.sip_alg.as_ref().unwrap();
    assert!(st.enabled && st.default);
    assert!(st.reason.contains("assuming an SRX"));
    assert_eq!(f.slice(st.span), "set system host-name mx1");
    assert!(c.filter.entries.is_empty());
}

#[test]
fn default_policy_and_implicit_deny() {
    let (f, c) = parse_text(ALG_DEFAULT);
    let d = &c.filter.chains[0].default;
    assert_eq!(d.action, Action::Deny);
    assert!(d.implicit);
    assert_eq!(f.slice(d.span), "policies {");

    let t = format!("{ALG_OFF}set security policies default-policy permit-all\n");
    let (f, c) = parse_text(&t);
    let d = &c.filter.chains[0].default;
    assert_eq!(d.action, Action::Allow);
    assert!(!d.implicit);
    assert_eq!(
        f.slice(d.span),
        "set security policies default-policy permit-all"
    );
}

#[test]
fn order_is_zone_pair_then_global_whatever_the_file_order() {
    let t = "set security policies global policy G match source-address any\n\
             set security policies global policy G match destination-address any\n\
             set security policies global policy G match application any\n\
             set security policies global policy G then deny\n\
             set security policies from-zone a to-zone b policy P2 match source-address any\n\
             set security policies from-zone a to-zone b policy P2 match destination-address any\n\
             set security policies from-zone a to-zone b policy P2 match application junos-http\n\
             set security policies from-zone a to-zone b policy P2 then permit\n\
             set security policies from-zone b to-zone a policy P3 match source-address any\n\
             set security policies from-zone b to-zone a policy P3 match destination-address any\n\
             set security policies from-zone b to-zone a policy P3 match application any\n\
             set security policies from-zone b to-zone a policy P3 then permit\n\
             set security policies from-zone a to-zone b policy P1 match source-address any\n\
             set security policies from-zone a to-zone b policy P1 match destination-address any\n\
             set security policies from-zone a to-zone b policy P1 match application any\n\
             set security policies from-zone a to-zone b policy P1 then deny\n";
    let (_, c) = parse_text(t);
    assert_eq!(
        rule_names(&c),
        vec![
            "policy P2 (from-zone a to-zone b)",
            "policy P1 (from-zone a to-zone b)",
            "policy P3 (from-zone b to-zone a)",
            "global policy G",
        ]
    );
    // a->b tcp/80 allowed by P2 (before P1); a->b tcp/22 denied by P1; c->d by the global.
    let mut q = Space::all();
    q.proto = ProtoSet::single(proto::TCP);
    q.dport = PortSet::single(80);
    q.src_zone = NameSet::only(["a"]);
    q.dst_zone = NameSet::only(["b"]);
    let parts = classify(&c.filter, &c.filter.entries[0], &[q.clone()], 16);
    assert!(parts
        .iter()
        .all(|p| p.fate == Fate::Allow && p.decider == Decider::Rule { chain: 0, rule: 0 }));
    q.src_zone = NameSet::only(["c"]);
    let parts = classify(&c.filter, &c.filter.entries[0], &[q], 16);
    assert!(parts
        .iter()
        .all(|p| p.fate == Fate::Deny && p.decider == Decider::Rule { chain: 0, rule: 3 }));
}

#[test]
fn deactivated_zone_pair_disables_its_policies() {
    let t = "set security policies from-zone u to-zone u policy p match source-address any\n\
             set security policies from-zone u to-zone u policy p match destination-address any\n\
             set security policies from-zone u to-zone u policy p match application any\n\
             set security policies from-zone u to-zone u policy p then permit\n\
             deactivate security policies from-zone u to-zone u\n";
    let (f, c) = parse_text(t);
    let r = &c.filter.chains[0].rules[0];
    assert!(!r.enabled);
    assert_eq!(f.slice(r.span), &t[..t.find("\ndeactivate").unwrap()]);
}

#[test]
fn negation_address_sets_cycles_and_unresolved() {
    let t = "set security address-book global address H1 10.0.0.1/32\n\
             set security address-book global address D1 dns-name sip.example.com\n\
             set security address-book global address-set S1 address H1\n\
             set security address-book global address-set S1 address-set S2\n\
             set security address-book global address-set S2 address-set S1\n\
             set applications application-set A1 application-set A2\n\
             set applications application-set A2 application-set A1\n\
             set applications application-set A2 application junos-dns-udp\n\
             set security policies from-zone a to-zone b policy p match source-address S1\n\
             set security policies from-zone a to-zone b policy p match source-address-excluded\n\
             set security policies from-zone a to-zone b policy p match destination-address D1\n\
             set security policies from-zone a to-zone b policy p match application A1\n\
             set security policies from-zone a to-zone b policy p then permit\n\
             set security policies from-zone a to-zone b policy q match source-address nope\n\
             set security policies from-zone a to-zone b policy q match destination-address any\n\
             set security policies from-zone a to-zone b policy q match application no-app\n\
             set security policies from-zone a to-zone b policy q then permit\n";
    let (_, c) = parse_text(t);
    let p = &c.filter.chains[0].rules[0];
    // Excluded source: everything but 10.0.0.1.
    assert_eq!(
        p.matches[0].src,
        parse_net("10.0.0.1").unwrap().complement()
    );
    assert_eq!(p.matches.len(), 1);
    assert_eq!(p.matches[0].dport, PortSet::single(53));
    // The DNS name is modelled by name: its pseudo address, no note.
    assert!(!p.unmodeled.iter().any(|u| u.contains("DNS name")));
    assert_eq!(
        p.matches[0].dst,
        crate::sets::AddrSet::single(crate::sets::host_addr("sip.example.com"))
    );
    assert!(c.fqdns.contains("sip.example.com"));
    assert!(p.unmodeled.iter().any(|u| u.contains("cycle")));
    let q = &c.filter.chains[0].rules[1];
    assert!(q.unmodeled.iter().any(|u| u.contains("nope")));
    assert!(q.unmodeled.iter().any(|u| u.contains("no-app")));
}

#[test]
fn application_terms_and_named_ports() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/junos/corpus/");
    let text = std::fs::read_to_string(format!("{dir}batfish_application-with-terms.set")).unwrap();
    let (_, c) = parse_text(&text);
    let r = &c.filter.chains[0].rules[0];
    assert_eq!(r.name, "global policy p1");
    assert_eq!(r.matches.len(), 2);
    assert_eq!(r.matches[0].proto, ProtoSet::single(proto::TCP));
    assert_eq!(r.matches[0].dport, PortSet::single(1));
    assert_eq!(r.matches[0].sport, PortSet::single(2));
    assert_eq!(r.matches[1].proto, ProtoSet::single(proto::UDP));
    assert_eq!(r.matches[1].dport, PortSet::single(3));

    let text = std::fs::read_to_string(format!("{dir}batfish_applications.set")).unwrap();
    let (_, c) = parse_text(&text);
    let rules = &c.filter.chains[0].rules;
    // p1 uses a1 (tcp 12 from 34) and an undefined application: uncertain.
    assert!(rules[0].unmodeled.iter().any(|u| u.contains("a_undef")));
    assert!(rules[0].action != Action::Allow);
    // Global p1: a3 = udp 56 from pop3 (110).
    assert_eq!(rules[1].matches[0].sport, PortSet::single(110));

    // Curly form with terms on one line (aerleon), ICMP type restriction noted.
    let text = std::fs::read_to_string(format!("{dir}aerleon_sample_srx.srx")).unwrap();
    let (_, c) = parse_text(&text);
    let rules = &c.filter.chains[0].rules;
    assert_eq!(rules.len(), 3);
    assert_eq!(rules[0].matches.len(), 2); // tcp any, udp any
    assert_eq!(rules[1].matches[0].proto, ProtoSet::single(proto::ICMP));
    assert!(rules[1].unmodeled.iter().any(|u| u.contains("icmp-type")));
    assert_eq!(rules[2].action, Action::Deny);
    let rfc1918 = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]
        .iter()
        .fold(AddrSet::empty(), |a, n| a.union(&parse_net(n).unwrap()));
    assert_eq!(rules[0].matches[0].dst, rfc1918);
}

#[test]
fn host_inbound_interface_overrides_zone() {
    let (f, c) = parse_text(EDGE);
    let input = &c.filter.entries[1];
    let q = |zone: &str, p: u128, port: Option<u128>| {
        let mut s = Space::all();
        s.proto = ProtoSet::single(p);
        if let Some(port) = port {
            s.dport = PortSet::single(port);
        }
        s.src_zone = NameSet::only([zone]);
        classify(&c.filter, input, &[s], 16)
    };
    let parts = q("ge-0/0/1.0", proto::ICMP, None);
    assert!(parts.iter().all(|p| p.fate == Fate::Allow));
    let Decider::Rule { chain, rule } = parts[0].decider else {
        panic!("{:?}", parts[0].decider)
    };
    assert_eq!(f.slice(c.filter.chains[chain].rules[rule].span), "ping;");
    assert!(q("ge-0/0/1.0", proto::TCP, Some(22))
        .iter()
        .all(|p| p.fate == Fate::Deny));
    assert!(q("untrust", proto::TCP, Some(22))
        .iter()
        .all(|p| p.fate == Fate::Deny));
}

#[test]
fn apply_groups_are_reported() {
    let t = "set groups G security policies default-policy permit-all\n\
             set apply-groups G\n\
             set security zones security-zone a interfaces ge-0/0/0.0\n";
    let (_, c) = parse_text(t);
    assert!(c
        .errors
        .iter()
        .any(|e| e.message.contains("apply-groups G")));
    assert!(c.unparsed.iter().any(|u| u.reason.contains("group `G`")));

    // Cluster node groups with only system/interfaces settings do not affect the evaluation.
    let (_, c) = parse_text(
        "set groups node0 system host-name fw-a\n\
         set groups node0 interfaces fxp0 unit 0 family inet address 192.0.2.1/24\n\
         set groups node1 system host-name fw-b\n\
         set apply-groups \"${node}\"\n\
         set apply-groups junos-defaults\n\
         set security zones security-zone a interfaces ge-0/0/0.0\n",
    );
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    assert!(c
        .unparsed
        .iter()
        .any(|u| u.reason.contains("apply-groups ${node}")));

    let (_, c) = parse_text("set logical-systems LS1 security policies default-policy permit-all\nset logical-systems LS1 system host-name x\n");
    assert_eq!(c.errors.len(), 1);
    assert!(c.errors[0].message.contains("logical-systems LS1"));
}

const FILTERED: &str = "set security zones security-zone untrust interfaces ge-0/0/0.0\n\
set security zones security-zone trust interfaces ge-0/0/1.0\n\
set security policies from-zone untrust to-zone trust policy all match source-address any\n\
set security policies from-zone untrust to-zone trust policy all match destination-address any\n\
set security policies from-zone untrust to-zone trust policy all match application any\n\
set security policies from-zone untrust to-zone trust policy all then permit\n\
set policy-options prefix-list CARRIERS 198.51.100.0/24\n\
set firewall family inet filter EDGE term sip from source-prefix-list CARRIERS\n\
set firewall family inet filter EDGE term sip from protocol udp\n\
set firewall family inet filter EDGE term sip from destination-port 5060\n\
set firewall family inet filter EDGE term sip then count sip\n\
set firewall family inet filter EDGE term sip then accept\n\
set firewall family inet filter EDGE term no-sip from protocol [ udp tcp ]\n\
set firewall family inet filter EDGE term no-sip from port 5060-5061\n\
set firewall family inet filter EDGE term no-sip then discard\n\
set firewall family inet filter EDGE term rest then count all\n\
set firewall family inet filter UNUSED term x then discard\n\
set interfaces ge-0/0/0 unit 0 family inet filter input EDGE\n\
set interfaces lo0 unit 0 family inet filter input PROTECT-RE\n\
set firewall family inet filter PROTECT-RE term ssh from source-address 10.0.0.0/8\n\
set firewall family inet filter PROTECT-RE term ssh from protocol tcp\n\
set firewall family inet filter PROTECT-RE term ssh from destination-port ssh\n\
set firewall family inet filter PROTECT-RE term ssh then accept\n\
set firewall family inet filter PROTECT-RE term telnet from protocol tcp\n\
set firewall family inet filter PROTECT-RE term telnet from destination-port telnet\n\
set firewall family inet filter PROTECT-RE term telnet then accept\n\
set firewall family inet filter PROTECT-RE term rest then discard\n\
set security zones security-zone untrust host-inbound-traffic system-services all\n\
set security zones security-zone untrust host-inbound-traffic system-services telnet except\n\
set interfaces ge-0/0/1 unit 0 family inet filter input-list [ A B ]\n";

#[test]
fn stateless_filters_are_stages_before_the_policies() {
    let (f, c) = parse_text(FILTERED);
    assert_eq!(c.filter.entries.len(), 2);
    let e = &c.filter.entries[0];
    assert_eq!(e.hook, Hook::Forward);
    assert_eq!(e.stages.len(), 2);
    let dispatch = &c.filter.chains[e.stages[0]];
    assert_eq!(dispatch.name, "interface input filters");
    assert_eq!(dispatch.rules.len(), 1);
    assert_eq!(
        f.slice(dispatch.rules[0].span),
        "set interfaces ge-0/0/0 unit 0 family inet filter input EDGE"
    );
    let edge = c.filter.chain_by_name("filter EDGE (family inet)").unwrap();
    let names: Vec<_> = c.filter.chains[edge]
        .rules
        .iter()
        .map(|r| r.name.clone())
        .collect();
    assert_eq!(
        names,
        [
            "filter EDGE term sip",
            "filter EDGE term no-sip",
            "filter EDGE term rest"
        ]
    );
    // `count` only: implicit accept.
    assert_eq!(c.filter.chains[edge].rules[2].action, Action::Allow);
    assert!(c.filter.chains[edge].default.implicit);
    // lo0 and input-list are reported, the unused filter too.
    assert!(c.unparsed.iter().any(|u| u.reason.contains("UNUSED")));
    assert!(c.errors.iter().any(|e| e.message.contains("input-list")));

    // Traffic to the device: ingress filter, lo0 filter, host-inbound-traffic.
    let input = &c.filter.entries[1];
    assert_eq!(input.hook, Hook::Input);
    assert_eq!(input.stages.len(), 3);
    let to_device = |src: &str, port: u128| {
        let mut q = Space::all();
        q.proto = ProtoSet::single(proto::TCP);
        q.dport = PortSet::single(port);
        q.sport = PortSet::single(40000);
        q.src = parse_net(src).unwrap();
        q.src_zone = NameSet::only(["untrust"]);
        classify(&c.filter, input, &[q], 16)
    };
    let host = input.stages[2];
    let lo = c
        .filter
        .chain_by_name("filter PROTECT-RE (family inet)")
        .unwrap();
    // ssh from 10/8: lo0 accepts, `system-services all` allows.
    let parts = to_device("10.1.1.1", 22);
    assert!(parts.iter().all(|p| p.fate == Fate::Allow));
    assert!(parts.iter().all(|p| p.decider
        == Decider::Rule {
            chain: host,
            rule: 1
        }));
    // ssh from elsewhere: lo0 term rest discards.
    let parts = to_device("192.0.2.1", 22);
    assert!(parts
        .iter()
        .all(|p| p.fate == Fate::Deny && p.decider == Decider::Rule { chain: lo, rule: 2 }));
    // telnet: lo0 accepts, but `telnet except` denies.
    let parts = to_device("192.0.2.1", 23);
    assert!(parts.iter().all(|p| p.fate == Fate::Deny
        && p.decider
            == Decider::Rule {
                chain: host,
                rule: 0
            }));
    assert!(c.filter.chains[host].rules[0]
        .name
        .contains("telnet except"));
    // From the trust zone (no host-inbound-traffic): dropped by default.
    let mut q = Space::all();
    q.proto = ProtoSet::single(proto::TCP);
    q.dport = PortSet::single(22);
    q.src = parse_net("10.1.1.1").unwrap();
    q.src_zone = NameSet::only(["trust"]);
    let parts = classify(&c.filter, input, &[q], 16);
    assert!(parts
        .iter()
        .all(|p| p.fate == Fate::Deny && p.decider == Decider::Default { chain: host }));

    // An inactive term is kept, disabled.
    let t = format!("{FILTERED}deactivate firewall family inet filter EDGE term no-sip\n");
    let (_, c2) = parse_text(&t);
    let edge2 = c2
        .filter
        .chain_by_name("filter EDGE (family inet)")
        .unwrap();
    assert!(!c2.filter.chains[edge2].rules[1].enabled);
    assert!(c2.filter.chains[edge2].rules[0].enabled);

    let query = |src: &str, p: u128, port: u128, zone: &str| {
        let mut q = Space::all();
        q.proto = ProtoSet::single(p);
        q.dport = PortSet::single(port);
        // `port` matches either port: use a fixed ephemeral source port.
        q.sport = PortSet::single(40000);
        q.src = parse_net(src).unwrap();
        q.src_zone = NameSet::only([zone]);
        q.dst_zone = NameSet::only(["trust"]);
        classify(&c.filter, e, &[q], 16)
    };
    // Carrier SIP passes the filter and the policy.
    let parts = query("198.51.100.9", proto::UDP, 5060, "untrust");
    assert!(parts.iter().all(|p| p.fate == Fate::Allow));
    // Other SIP sources are discarded by term no-sip, although the policy permits all.
    let parts = query("203.0.113.9", proto::UDP, 5060, "untrust");
    assert!(parts.iter().all(|p| p.fate == Fate::Deny));
    assert!(parts.iter().all(|p| p.decider
        == Decider::Rule {
            chain: edge,
            rule: 1
        }));
    // tcp/5061 via the interface name: discarded too.
    let parts = query("203.0.113.9", proto::TCP, 5061, "ge-0/0/0.0");
    assert!(parts.iter().all(|p| p.fate == Fate::Deny));
    // HTTPS: accepted by term rest, then the policy permits.
    let parts = query("203.0.113.9", proto::TCP, 443, "untrust");
    assert!(parts.iter().all(|p| p.fate == Fate::Allow));
    assert!(parts.iter().all(|p| p.decider
        == Decider::Rule {
            chain: e.stages[1],
            rule: 0
        }));
    // A source port of 5060 is caught by `port` too.
    let mut q = Space::all();
    q.proto = ProtoSet::single(proto::TCP);
    q.dport = PortSet::single(443);
    q.sport = PortSet::single(5060);
    q.src = parse_net("203.0.113.9").unwrap();
    q.src_zone = NameSet::only(["untrust"]);
    let parts = classify(&c.filter, e, &[q], 16);
    assert!(parts.iter().all(|p| p.fate == Fate::Deny));
    // IPv6 traffic is not subject to the inet filter.
    let parts = query("2001:db8::1", proto::UDP, 5060, "untrust");
    assert!(parts.iter().all(|p| p.fate == Fate::Allow));
}

#[test]
fn truncated_curly_file_is_an_input_issue() {
    let cut = &EDGE[..EDGE.find("global {").unwrap()];
    let (_, c) = parse_text(cut);
    assert!(c.errors.iter().any(|e| e.message.contains("never closed")));
}

#[test]
fn sniff_recognises_junos_and_not_others() {
    assert!(sniff("x", EDGE) > 0);
    assert!(sniff("x", ALG_DEFAULT) > 0);
    assert!(sniff("x", ALG_OFF) > 0);
    assert!(sniff("x", "firewall {\n    family inet {\n        filter F {\n            term t { then accept; }\n        }\n    }\n}\n") > 0);
    assert!(sniff("x", FILTERED) > 0);
    for other in [
        "set deviceconfig system hostname fw\nset zone trust network layer3 ethernet1/1\nset rulebase security rules r1 action allow\nset service s protocol tcp port 80\n",
        "config firewall policy\n    edit 1\n        set srcintf \"port1\"\n        set security wpa2\n    next\nend\n",
        "table inet filter {\n    chain input {\n        type filter hook input priority 0;\n    }\n}\n",
        "hostname r1\n!\ninterface GigabitEthernet0/0\n ip access-group 101 in\n!\naccess-list 101 permit tcp any any eq 80\n",
        "ASA Version 9.8\n!\nhostname asa\naccess-list outside_in extended permit tcp any any eq 443\n",
        "deviceconfig {\n    system {\n        hostname x;\n    }\n}\n",
        "set hostname gw\nset interface eth0 state on\nset snmp agent on\n",
        "set system host-name vyos\nset interfaces ethernet eth0 address dhcp\nset firewall name WAN rule 10 action accept\n",
        "firewall {\n    name WAN_IN {\n        default-action drop\n    }\n}\nsystem {\n    host-name vyos\n}\n",
    ] {
        assert_eq!(sniff("x", other), 0, "{other}");
    }
}

#[test]
fn every_corpus_copy_is_junos_and_parses() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/junos/corpus");
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let bytes = std::fs::read(&p).unwrap();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let f = SourceFile::from_bytes(FileId(0), name.clone(), None, &bytes);
        assert_eq!(crate::formats::detect(&f), Format::Junos, "{name}");
        let c = parse(&f, &Limits::default());
        assert_eq!(c.format, Format::Junos);
        assert!(c.features.sip_alg.is_some());
        for r in c.filter.chains.iter().flat_map(|ch| &ch.rules) {
            assert!(!f.slice(r.span).is_empty(), "{name}: {}", r.name);
        }
        n += 1;
    }
    assert_eq!(n, 14);
}

#[test]
fn truncated_corpus_files_never_panic() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/junos/corpus");
    let mut texts: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    texts.extend([EDGE.to_string(), FILTERED.to_string()]);
    for t in &texts {
        let step = (t.len() / 40).max(1);
        let mut cut = 0;
        while cut < t.len() {
            if t.is_char_boundary(cut) {
                let (_, c) = parse_text(&t[..cut]);
                assert_eq!(c.format, Format::Junos);
            }
            cut += step;
        }
    }
    // Odd bytes, unbalanced syntax, deep nesting, reference loops.
    let mut hostile = String::new();
    for i in 0..200 {
        hostile.push_str(&format!(
            "set applications application-set S{i} application-set S{}\n",
            (i + 1) % 200
        ));
    }
    hostile.push_str("set security policies global policy g match application S0\n");
    hostile.push_str("set security policies global policy g then permit\n");
    // A diamond of shared sets: 2^30 paths if expanded naively.
    for i in 0..30 {
        for side in ["a", "b"] {
            hostile.push_str(&format!(
                "set applications application-set D{i} application-set D{}{side}\n\
                 set applications application-set D{}{side} application-set D{}\n",
                i + 1,
                i + 1,
                i + 1
            ));
        }
    }
    hostile.push_str("set applications application-set D30 application junos-sip\n");
    hostile.push_str("set security policies global policy d match application D0\n");
    hostile.push_str("set security policies global policy d then permit\n");
    hostile.push_str(&"x {".repeat(500));
    hostile.push_str("\"\\");
    let (_, c) = parse_text(&hostile);
    let d = &c.filter.chains[0].rules[1];
    assert!(d.unmodeled.iter().any(|u| u.contains("too many")));
    let r = &c.filter.chains[0].rules[0];
    assert!(r
        .unmodeled
        .iter()
        .any(|u| u.contains("nested deeper") || u.contains("cycle")));
    assert!(!c.errors.is_empty());
}

#[test]
fn curly_dns_name_addresses_and_sets_are_matched_by_name() {
    let t = "security {\n    address-book {\n        global {\n            address uc-stun {\n                dns-name STUN.ucontactcloud.com;\n            }\n            address uc-mon dns-name monitor.ucontactcloud.com;\n            address web 198.51.100.7/32;\n            address-set uc {\n                address uc-mon;\n                address web;\n            }\n        }\n    }\n    policies {\n        from-zone trust to-zone untrust {\n            policy stun {\n                match {\n                    source-address any;\n                    destination-address uc-stun;\n                    application any;\n                }\n                then {\n                    permit;\n                }\n            }\n            policy mon {\n                match {\n                    source-address any;\n                    destination-address uc;\n                    application any;\n                }\n                then {\n                    permit;\n                }\n            }\n        }\n    }\n}\n";
    let (_, c) = parse_text(t);
    let stun = crate::sets::AddrSet::single(crate::sets::host_addr("stun.ucontactcloud.com"));
    let mon = crate::sets::AddrSet::single(crate::sets::host_addr("monitor.ucontactcloud.com"));
    let rules = &c.filter.chains[0].rules;
    assert_eq!(rules[0].matches[0].dst, stun, "{:?}", rules[0].unmodeled);
    assert!(rules[0].unmodeled.is_empty(), "{:?}", rules[0].unmodeled);
    let dsts = rules[1]
        .matches
        .iter()
        .fold(crate::sets::AddrSet::empty(), |a, s| a.union(&s.dst));
    assert_eq!(dsts, mon.union(&parse_net("198.51.100.7").unwrap()));
    assert_eq!(
        c.fqdns.iter().cloned().collect::<Vec<_>>(),
        ["monitor.ucontactcloud.com", "stun.ucontactcloud.com"]
    );
}
