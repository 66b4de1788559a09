//! Traffic to the device itself (Input hook): `host-inbound-traffic system-services` and
//! `protocols` of each security zone and zone interface (an interface that sets a category
//! replaces the zone's list for that category), after the ingress interface's input filter and
//! the `lo0` input filter. Everything else addressed to the device is dropped.

use std::collections::BTreeMap;

use crate::model::{Action, Chain, ChainDefault, Entry, Hook, Rule};
use crate::sets::{proto, NameSet, PortSet, ProtoSet, Space};
use crate::source::Span;

use super::filters::Stages;
use super::Parser;

fn port(p: u128, lo: u128, hi: u128) -> (ProtoSet, PortSet) {
    (ProtoSet::single(p), PortSet::range(lo, hi))
}

fn proto_only(p: u128) -> (ProtoSet, PortSet) {
    (ProtoSet::single(p), PortSet::full())
}

/// The traffic a host-inbound service or protocol admits; None when unknown.
fn traffic(category: &str, name: &str) -> Option<Vec<(ProtoSet, PortSet)>> {
    const T: u128 = proto::TCP;
    const U: u128 = proto::UDP;
    let all = vec![(ProtoSet::full(), PortSet::full())];
    Some(match (category, name) {
        (_, "all") | ("system-services", "any-service") => all,
        ("system-services", s) => match s {
            "ssh" | "reverse-ssh" => vec![port(T, 22, 22)],
            "telnet" | "reverse-telnet" => vec![port(T, 23, 23)],
            "ftp" => vec![port(T, 21, 21)],
            "tftp" => vec![port(U, 69, 69)],
            "http" => vec![port(T, 80, 80)],
            "https" => vec![port(T, 443, 443)],
            "web-management" => vec![port(T, 80, 80), port(T, 443, 443)],
            "ping" => vec![proto_only(proto::ICMP), proto_only(proto::ICMPV6)],
            "traceroute" => vec![
                port(U, 33434, 33523),
                proto_only(proto::ICMP),
                proto_only(proto::ICMPV6),
            ],
            "snmp" => vec![port(U, 161, 161)],
            "snmp-trap" => vec![port(U, 162, 162)],
            "ntp" => vec![port(U, 123, 123)],
            "dns" => vec![port(U, 53, 53), port(T, 53, 53)],
            "dhcp" | "bootp" => vec![port(U, 67, 68)],
            "dhcpv6" => vec![port(U, 546, 547)],
            "ike" => vec![port(U, 500, 500), port(U, 4500, 4500)],
            "netconf" => vec![port(T, 830, 830)],
            "xnm-clear-text" => vec![port(T, 3221, 3221)],
            "xnm-ssl" => vec![port(T, 3220, 3220)],
            "rlogin" => vec![port(T, 513, 513)],
            "rsh" => vec![port(T, 514, 514)],
            "syslog" => vec![port(U, 514, 514)],
            "ident-reset" => vec![port(T, 113, 113)],
            "lsping" => vec![port(U, 3503, 3503)],
            _ => return None,
        },
        ("protocols", p) => match p {
            "bgp" => vec![port(T, 179, 179)],
            "ospf" | "ospf3" => vec![proto_only(89)],
            "rip" => vec![port(U, 520, 520)],
            "ripng" => vec![port(U, 521, 521)],
            "pim" => vec![proto_only(103)],
            "vrrp" => vec![proto_only(112)],
            "rsvp" => vec![proto_only(46)],
            "igmp" | "dvmrp" => vec![proto_only(2)],
            "ldp" => vec![port(T, 646, 646), port(U, 646, 646)],
            "msdp" => vec![port(T, 639, 639)],
            "bfd" => vec![port(U, 3784, 3785), port(U, 4784, 4784)],
            "router-discovery" => vec![proto_only(proto::ICMP)],
            "ndp" | "mld" => vec![proto_only(proto::ICMPV6)],
            _ => return None,
        },
        _ => return None,
    })
}

/// One host-inbound entry as written.
struct Item {
    category: String,
    name: String,
    except: bool,
    span: Span,
}

pub(super) fn build(p: &mut Parser<'_>, stages: &Stages) {
    // (zone, Some(interface) | None) -> items
    let mut scopes: BTreeMap<(String, Option<String>), Vec<Item>> = BTreeMap::new();
    let mut first_span: Option<Span> = None;
    for s in &p.tree.stmts {
        if s.inactive_at.is_some() || !s.starts_with(&["security", "zones", "security-zone"]) {
            continue;
        }
        first_span.get_or_insert(s.span);
        let zone = s.word(3).to_string();
        let (iface, at) = match s.word(4) {
            "host-inbound-traffic" => (None, 5),
            "interfaces" if s.word(6) == "host-inbound-traffic" => (Some(s.word(5).to_string()), 7),
            _ => continue,
        };
        let category = s.word(at);
        if !matches!(category, "system-services" | "protocols") || s.len() <= at + 1 {
            continue;
        }
        scopes.entry((zone, iface)).or_default().push(Item {
            category: category.to_string(),
            name: s.word(at + 1).to_string(),
            except: s.word(at + 2) == "except",
            span: s.span,
        });
    }
    let has_zones = !p.obj.zones.is_empty();
    if !has_zones && stages.lo0.is_none() {
        return;
    }
    let mut entry_stages = Vec::new();
    if let Some(i) = stages.input {
        entry_stages.push(i);
    }
    if let Some(l) = stages.lo0 {
        entry_stages.push(l);
    }
    if has_zones {
        let mut rules = Vec::new();
        let zones: Vec<(String, Vec<String>)> = p
            .obj
            .zones
            .iter()
            .map(|(z, d)| (z.clone(), d.interfaces.iter().cloned().collect()))
            .collect();
        for (zone, ifaces) in &zones {
            let zone_items: Vec<&Item> = scopes
                .get(&(zone.clone(), None))
                .map(|v| v.iter().collect())
                .unwrap_or_default();
            // Interfaces with their own settings first (their lists replace the zone's per
            // category), then the zone name and the remaining interfaces.
            let mut plain = vec![zone.clone()];
            for i in ifaces {
                let own = scopes.get(&(zone.clone(), Some(i.clone())));
                match own {
                    Some(own) => {
                        let mut eff: Vec<&Item> = own.iter().collect();
                        for cat in ["system-services", "protocols"] {
                            if !own.iter().any(|it| it.category == cat) {
                                eff.extend(zone_items.iter().filter(|it| it.category == cat));
                            }
                        }
                        push_rules(
                            &mut rules,
                            &eff,
                            NameSet::only([i.clone()]),
                            &format!("interface {i}"),
                        );
                        // Anything else from this interface is dropped.
                        let mut r = Rule::new(
                            format!("host-inbound-traffic of interface {i}: not allowed"),
                            own[0].span,
                            Action::Deny,
                        );
                        let mut sp = Space::all();
                        sp.src_zone = NameSet::only([i.clone()]);
                        r.matches = vec![sp];
                        rules.push(r);
                    }
                    None => plain.push(i.clone()),
                }
            }
            let before = rules.len();
            push_rules(
                &mut rules,
                &zone_items,
                NameSet::only(plain),
                &format!("zone {zone}"),
            );
            if ifaces
                .iter()
                .any(|i| scopes.contains_key(&(zone.clone(), Some(i.clone()))))
            {
                // The zone name also stands for the interfaces with their own settings.
                for r in &mut rules[before..] {
                    r.unmodeled.push(format!(
                        "some interfaces of zone {zone} have their own host-inbound-traffic"
                    ));
                }
            }
        }
        let span = p.section_span(&["security", "zones"]);
        p.cfg.filter.chains.push(Chain {
            name: "host-inbound-traffic".into(),
            span: first_span.unwrap_or(span),
            rules,
            default: ChainDefault {
                action: Action::Deny,
                span,
                implicit: true,
            },
        });
        entry_stages.push(p.cfg.filter.chains.len() - 1);
    }
    p.cfg.filter.entries.push(Entry {
        hook: Hook::Input,
        stages: entry_stages,
    });
}

/// Rules for one scope: `except` entries deny first, then the allowed services.
fn push_rules(rules: &mut Vec<Rule>, items: &[&Item], zones: NameSet, scope: &str) {
    let mut ordered: Vec<&&Item> = items.iter().filter(|i| i.except).collect();
    ordered.extend(items.iter().filter(|i| !i.except));
    for it in ordered {
        let action = if it.except {
            Action::Deny
        } else {
            Action::Allow
        };
        let suffix = if it.except { " except" } else { "" };
        let mut r = Rule::new(
            format!(
                "host-inbound-traffic {} {}{suffix} ({scope})",
                it.category, it.name
            ),
            it.span,
            action,
        );
        let parts = match traffic(&it.category, &it.name) {
            Some(p) => p,
            None => {
                r.unmodeled.push(format!(
                    "host-inbound {} `{}` is not known to portaudit (treated as any traffic)",
                    it.category, it.name
                ));
                vec![(ProtoSet::full(), PortSet::full())]
            }
        };
        r.matches = parts
            .into_iter()
            .map(|(pr, dp)| {
                let mut sp = Space::all();
                sp.proto = pr;
                sp.dport = dp;
                sp.src_zone = zones.clone();
                sp
            })
            .collect();
        rules.push(r);
    }
}
