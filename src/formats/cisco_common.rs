//! Pieces shared by the Cisco ASA and IOS parsers: the named-port table, port operators,
//! wildcard masks, and object-group storage with bounded, cycle-safe resolution.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use crate::sets::{proto, AddrSet, PortSet, ProtoSet, Space};
use crate::source::Span;

/// Port number of a Cisco port keyword (ASA and IOS share most of the table), or a number.
pub fn port_value(tok: &str) -> Option<u128> {
    if let Ok(n) = tok.parse::<u16>() {
        return Some(u128::from(n));
    }
    let p: u16 = match tok.to_ascii_lowercase().as_str() {
        "aol" => 5190,
        "bfd" => 3784,
        "bfd-echo" => 3785,
        "bgp" => 179,
        "biff" => 512,
        "bootpc" => 68,
        "bootps" => 67,
        "chargen" => 19,
        "cifs" => 3020,
        "citrix-ica" => 1494,
        "cmd" => 514,
        "ctiqbe" => 2748,
        "daytime" => 13,
        "discard" => 9,
        "dnsix" => 195,
        "domain" => 53,
        "drip" => 3949,
        "echo" => 7,
        "exec" => 512,
        "finger" => 79,
        "ftp" => 21,
        "ftp-data" => 20,
        "gopher" => 70,
        "h323" => 1720,
        "hostname" => 101,
        "http" | "www" => 80,
        "https" => 443,
        "ident" => 113,
        "imap4" => 143,
        "irc" => 194,
        "isakmp" => 500,
        "kerberos" => 750,
        "klogin" => 543,
        "kshell" => 544,
        "ldap" => 389,
        "ldaps" => 636,
        "login" => 513,
        "lotusnotes" => 1352,
        "lpd" => 515,
        "microsoft-ds" => 445,
        "mobile-ip" => 434,
        "msrpc" => 135,
        "nameserver" => 42,
        "netbios-dgm" => 138,
        "netbios-ns" => 137,
        "netbios-ss" | "netbios-ssn" => 139,
        "nfs" => 2049,
        "nntp" => 119,
        "non500-isakmp" => 4500,
        "ntp" => 123,
        "pcanywhere-data" => 5631,
        "pcanywhere-status" => 5632,
        "pim-auto-rp" => 496,
        "pop2" => 109,
        "pop3" => 110,
        "pptp" => 1723,
        "radius" => 1645,
        "radius-acct" => 1646,
        "rip" => 520,
        "rsh" => 514,
        "rtsp" => 554,
        "secureid-udp" => 5510,
        "sip" => 5060,
        "smtp" => 25,
        "snmp" => 161,
        "snmptrap" | "snmp-trap" => 162,
        "tacacs-ds" => 65,
        "ldp" => 646,
        "pop3s" => 995,
        "nntps" => 563,
        "ms-sql-m" => 1434,
        "ms-sql-s" => 1433,
        "submission" => 587,
        "rsync" => 873,
        "openvpn" => 1194,
        "ntalk" => 518,
        "sqlnet" => 1521,
        "ssh" => 22,
        "sunrpc" => 111,
        "syslog" => 514,
        "tacacs" => 49,
        "talk" => 517,
        "telnet" => 23,
        "tftp" => 69,
        "time" => 37,
        "uucp" => 540,
        "vxlan" => 4789,
        "who" => 513,
        "whois" => 43,
        "xdmcp" => 177,
        _ => return None,
    };
    Some(u128::from(p))
}

/// Protocol number of a Cisco protocol keyword (`ip` is handled by callers).
pub fn proto_value(tok: &str) -> Option<u128> {
    match tok.to_ascii_lowercase().as_str() {
        "ahp" => Some(51),
        "igrp" => Some(9),
        "nos" => Some(94),
        "pcp" => Some(108),
        "pptp" => Some(47),
        "snp" => Some(109),
        "ipsec" => Some(50),
        "icmp6" => Some(proto::ICMPV6),
        "ipv4" => Some(4),
        _ => proto::from_name(tok),
    }
}

/// The protocols a Cisco protocol keyword stands for (`ip`, `tcp-udp`, names, numbers).
pub fn proto_set(tok: &str) -> Option<ProtoSet> {
    match tok.to_ascii_lowercase().as_str() {
        "ip" | "ipv6" => Some(ProtoSet::full()),
        "tcp-udp" => Some(ProtoSet::single(proto::TCP).union(&ProtoSet::single(proto::UDP))),
        _ => proto_value(tok).map(ProtoSet::single),
    }
}

/// Parse a port operator at `toks[i]`: `eq P`, `neq P`, `lt P`, `gt P`, `range A B`. With
/// `multi_eq` (IOS), `eq` takes every following port value (`eq bootps bootpc ntp`).
/// Returns the port set and the index after the operator, or None if `toks[i]` is not a port
/// operator. `Some(Err(tok))` when the operator is there but a value is not understood.
pub fn port_op(
    toks: &[&str],
    i: usize,
    multi_eq: bool,
) -> Option<Result<(PortSet, usize), String>> {
    let op = toks.get(i)?.to_ascii_lowercase();
    let val = |j: usize| -> Result<u128, String> {
        let t = toks.get(j).copied().unwrap_or("");
        port_value(t).ok_or_else(|| format!("port `{t}`"))
    };
    let r = match op.as_str() {
        "eq" => (|| {
            let mut set = PortSet::single(val(i + 1)?);
            let mut j = i + 2;
            if multi_eq {
                while let Some(p) = toks.get(j).and_then(|t| port_value(t)) {
                    set = set.union(&PortSet::single(p));
                    j += 1;
                }
            }
            Ok((set, j))
        })(),
        "neq" => val(i + 1).map(|p| (PortSet::single(p).complement(), i + 2)),
        "lt" => val(i + 1).map(|p| {
            let s = if p == 0 {
                PortSet::empty()
            } else {
                PortSet::range(0, p - 1)
            };
            (s, i + 2)
        }),
        "gt" => val(i + 1).map(|p| {
            let s = if p >= 65535 {
                PortSet::empty()
            } else {
                PortSet::range(p + 1, 65535)
            };
            (s, i + 2)
        }),
        "range" => (|| {
            let a = val(i + 1)?;
            let b = val(i + 2)?;
            Ok((PortSet::range(a.min(b), a.max(b)), i + 3))
        })(),
        _ => return None,
    };
    Some(r)
}

/// Addresses of `ADDR WILDCARD` (IOS); a non-contiguous wildcard gives None.
pub fn wildcard_set(addr: &str, wildcard: &str) -> Option<AddrSet> {
    let a: std::net::Ipv4Addr = addr.parse().ok()?;
    let w: std::net::Ipv4Addr = wildcard.parse().ok()?;
    let w = u32::from(w);
    // Contiguous wildcard: w + 1 is a power of two (w = 0...01...1).
    if w.checked_add(1).is_some_and(|x| !x.is_power_of_two()) {
        return None;
    }
    let host_bits = 32 - w.leading_zeros();
    let len = 32 - host_bits as u8;
    let net = ipnet::Ipv4Net::new(a, len).ok()?.trunc();
    Some(crate::sets::net_set(ipnet::IpNet::V4(net)))
}

/// True when the text parses as an IPv4 address.
pub fn is_v4(s: &str) -> bool {
    s.parse::<std::net::Ipv4Addr>().is_ok()
}

/// A service: protocols with source and destination ports (ports apply to tcp/udp/sctp only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Svc {
    pub proto: ProtoSet,
    pub sport: PortSet,
    pub dport: PortSet,
}

impl Svc {
    pub fn any() -> Self {
        Svc {
            proto: ProtoSet::full(),
            sport: PortSet::full(),
            dport: PortSet::full(),
        }
    }
    pub fn protos(p: ProtoSet) -> Self {
        Svc {
            proto: p,
            ..Svc::any()
        }
    }
}

/// The spaces of `svc` between `src` and `dst`: ports constrain only the protocols that carry
/// them, so a port-restricted service over a protocol set that also holds icmp gives two spaces.
pub fn spaces(svc: &Svc, src: &AddrSet, dst: &AddrSet) -> Vec<Space> {
    let mut out = Vec::new();
    let base = Space {
        proto: svc.proto.clone(),
        src: src.clone(),
        dst: dst.clone(),
        ..Space::all()
    };
    if svc.sport.is_full() && svc.dport.is_full() {
        out.push(base);
    } else {
        let ported = ProtoSet::from_ranges([
            (proto::TCP, proto::TCP),
            (proto::UDP, proto::UDP),
            (proto::SCTP, proto::SCTP),
        ]);
        let with = svc.proto.intersect(&ported);
        let without = svc.proto.difference(&ported);
        if !with.is_empty() {
            out.push(Space {
                proto: with,
                sport: svc.sport.clone(),
                dport: svc.dport.clone(),
                ..base.clone()
            });
        }
        if !without.is_empty() {
            out.push(Space {
                proto: without,
                ..base
            });
        }
    }
    out.retain(|s| !s.is_empty());
    out
}

/// Kind of an object group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupKind {
    Network,
    Service,
    Protocol,
    Port,
    Icmp,
    Other,
}

/// One member of a group or object.
#[derive(Clone, Debug)]
pub enum Item {
    Addr(AddrSet),
    /// A full service (service-object, IOS service group line).
    Svc(Svc),
    /// Ports only (port-object): the protocol comes from the group or the ACL line.
    Ports(PortSet),
    Proto(ProtoSet),
    /// `group-object NAME`.
    Group(String),
    /// `network-object object NAME` / `service-object object NAME`.
    Object(String),
    /// A member portaudit cannot model (fqdn, ...): matches anything, uncertain.
    Unmodeled(String),
    /// A condition that narrows the previous member (icmp type): noted, not modelled.
    Note(String),
}

/// An object group (or an ASA `object`): its kind, the protocol a service group declares
/// (`object-group service NAME tcp`), and its members.
#[derive(Clone, Debug)]
pub struct Group {
    pub kind: GroupKind,
    pub proto: Option<ProtoSet>,
    pub items: Vec<Item>,
    pub span: Span,
}

/// Groups met past the reference-depth limit: (what, name) -> (definition span, limit).
type TooDeep = std::collections::BTreeMap<(String, String), (Option<Span>, usize)>;

/// Resolutions by (name, is an object, depth limit).
type Cache<T> = RefCell<HashMap<(String, bool, usize), Resolved<T>>>;

/// Groups and objects by name. Resolutions are cached: fill `groups` and `objects` first,
/// resolve afterwards.
#[derive(Debug, Default)]
pub struct Objects {
    pub groups: HashMap<String, Group>,
    pub objects: HashMap<String, Group>,
    addr_cache: Cache<AddrSet>,
    port_cache: Cache<PortSet>,
    svc_cache: Cache<Vec<Svc>>,
    /// Groups met past the reference-depth limit: (what, name) -> (definition span, limit).
    too_deep: RefCell<TooDeep>,
}

/// A resolved value with the conditions that could not be modelled on the way.
#[derive(Clone, Debug)]
pub struct Resolved<T> {
    pub value: T,
    pub unmodeled: Vec<String>,
}

#[derive(Clone, Copy)]
enum Want {
    Addr,
    Ports,
    Svcs,
}

#[derive(Default)]
struct Acc {
    /// Ranges collected from members, merged once at the end (repeated unions are quadratic).
    addrs: Vec<(u128, u128)>,
    ports: Vec<(u128, u128)>,
    svcs: Vec<Svc>,
    unmodeled: Vec<String>,
    /// A member matched anything (unresolved/unmodeled): the result is the full set.
    anything: bool,
    /// Groups already expanded in this resolution, with the depth they were met at (a diamond
    /// of references is walked once per depth).
    done: HashSet<(String, usize)>,
}

impl Objects {
    fn lookup(&self, name: &str, object: bool) -> Option<&Group> {
        if object {
            self.objects.get(name)
        } else {
            self.groups.get(name)
        }
    }

    fn walk(
        &self,
        name: &str,
        object: bool,
        want: Want,
        stack: &mut Vec<String>,
        max_depth: usize,
        acc: &mut Acc,
    ) {
        let what = if object { "object" } else { "object-group" };
        let key = format!("{what} {name}");
        if stack.contains(&key) {
            acc.unmodeled
                .push(format!("{what} {name} refers to itself (cycle)"));
            acc.anything = true;
            return;
        }
        if stack.len() >= max_depth {
            acc.unmodeled.push(format!(
                "{what} {name} is nested deeper than {max_depth} levels"
            ));
            let span = self.lookup(name, object).map(|g| g.span);
            self.too_deep
                .borrow_mut()
                .insert((what.to_string(), name.to_string()), (span, max_depth));
            acc.anything = true;
            return;
        }
        // A group already walked is skipped only at the same depth: reached deeper, its members
        // may be past the limit.
        if acc.done.contains(&(key.clone(), stack.len())) {
            return;
        }
        let Some(g) = self.lookup(name, object) else {
            acc.unmodeled.push(format!("{what} {name} is not defined"));
            acc.anything = true;
            return;
        };
        stack.push(key.clone());
        for item in &g.items {
            match item {
                Item::Addr(a) => acc.addrs.extend_from_slice(a.ranges()),
                Item::Ports(p) => {
                    acc.ports.extend_from_slice(p.ranges());
                    if matches!(want, Want::Svcs) {
                        match &g.proto {
                            Some(pr) => acc.svcs.push(Svc {
                                proto: pr.clone(),
                                sport: PortSet::full(),
                                dport: p.clone(),
                            }),
                            None => {
                                acc.unmodeled
                                    .push(format!("{what} {name} has ports but no protocol"));
                                acc.anything = true;
                            }
                        }
                    }
                }
                Item::Svc(s) => {
                    acc.svcs.push(s.clone());
                    if matches!(want, Want::Ports) {
                        acc.ports.extend_from_slice(s.dport.ranges());
                        if !s.sport.is_full() {
                            acc.unmodeled.push(format!(
                                "source ports of {what} {name} used as a destination port group"
                            ));
                        }
                    }
                }
                Item::Proto(p) => acc.svcs.push(Svc::protos(p.clone())),
                Item::Group(n) => self.walk(n, false, want, stack, max_depth, acc),
                Item::Object(n) => self.walk(n, true, want, stack, max_depth, acc),
                Item::Unmodeled(u) => {
                    acc.unmodeled.push(format!("{what} {name}: {u}"));
                    acc.anything = true;
                }
                Item::Note(u) => acc.unmodeled.push(format!("{what} {name}: {u}")),
            }
        }
        stack.pop();
        acc.done.insert((key, stack.len()));
    }

    /// Input issues for the groups met past the reference-depth limit (rules using them were
    /// widened to "any", so the verdicts on them are not complete).
    pub fn depth_issues(&self, fallback: Span) -> Vec<crate::model::InputIssue> {
        self.too_deep
            .borrow()
            .iter()
            .map(|((what, name), (span, limit))| crate::model::InputIssue {
                span: span.unwrap_or(fallback),
                message: format!(
                    "{what} {name} is nested deeper than the reference limit of {limit} levels (--max-reference-depth, limits: max-reference-depth): rules using it were evaluated as matching anything"
                ),
            })
            .collect()
    }

    /// Addresses of a network group or object. Unresolvable members make the result "any"
    /// with a note (the rule may match less than modelled).
    pub fn addrs(&self, name: &str, object: bool, max_depth: usize) -> Resolved<AddrSet> {
        let key = (name.to_string(), object, max_depth);
        if let Some(r) = self.addr_cache.borrow().get(&key) {
            return r.clone();
        }
        let r = self.addrs_uncached(name, object, max_depth);
        self.addr_cache.borrow_mut().insert(key, r.clone());
        r
    }

    fn addrs_uncached(&self, name: &str, object: bool, max_depth: usize) -> Resolved<AddrSet> {
        let mut acc = Acc::default();
        self.walk(
            name,
            object,
            Want::Addr,
            &mut Vec::new(),
            max_depth,
            &mut acc,
        );
        let value = if acc.anything {
            AddrSet::full()
        } else {
            AddrSet::from_ranges(acc.addrs)
        };
        Resolved {
            value,
            unmodeled: acc.unmodeled,
        }
    }

    /// Destination ports of a service/port group used in a port slot.
    pub fn ports(&self, name: &str, object: bool, max_depth: usize) -> Resolved<PortSet> {
        let key = (name.to_string(), object, max_depth);
        if let Some(r) = self.port_cache.borrow().get(&key) {
            return r.clone();
        }
        let r = self.ports_uncached(name, object, max_depth);
        self.port_cache.borrow_mut().insert(key, r.clone());
        r
    }

    fn ports_uncached(&self, name: &str, object: bool, max_depth: usize) -> Resolved<PortSet> {
        let mut acc = Acc::default();
        self.walk(
            name,
            object,
            Want::Ports,
            &mut Vec::new(),
            max_depth,
            &mut acc,
        );
        let value = if acc.anything {
            PortSet::full()
        } else {
            PortSet::from_ranges(acc.ports)
        };
        Resolved {
            value,
            unmodeled: acc.unmodeled,
        }
    }

    /// Services of a service/protocol group or service object used in the protocol slot.
    pub fn services(&self, name: &str, object: bool, max_depth: usize) -> Resolved<Vec<Svc>> {
        let key = (name.to_string(), object, max_depth);
        if let Some(r) = self.svc_cache.borrow().get(&key) {
            return r.clone();
        }
        let r = self.services_uncached(name, object, max_depth);
        self.svc_cache.borrow_mut().insert(key, r.clone());
        r
    }

    fn services_uncached(&self, name: &str, object: bool, max_depth: usize) -> Resolved<Vec<Svc>> {
        let mut acc = Acc::default();
        self.walk(
            name,
            object,
            Want::Svcs,
            &mut Vec::new(),
            max_depth,
            &mut acc,
        );
        let value = if acc.anything {
            vec![Svc::any()]
        } else {
            acc.svcs
        };
        Resolved {
            value,
            unmodeled: acc.unmodeled,
        }
    }

    /// Kind of a group or object (None when undefined).
    pub fn kind_of(&self, name: &str, object: bool) -> Option<GroupKind> {
        self.lookup(name, object).map(|g| g.kind)
    }

    /// Kind of a group (None when undefined).
    pub fn group_kind(&self, name: &str) -> Option<GroupKind> {
        self.groups.get(name).map(|g| g.kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sets::parse_net;
    use crate::source::FileId;

    #[test]
    fn port_operators() {
        let t = ["eq", "sip", "x"];
        assert_eq!(port_op(&t, 0, false), Some(Ok((PortSet::single(5060), 2))));
        let t = ["eq", "bootps", "bootpc", "ntp", "log"];
        let (s, j) = port_op(&t, 0, true).unwrap().unwrap();
        assert_eq!(s.render(), "67-68,123");
        assert_eq!(j, 4);
        let t = ["range", "10000", "20000"];
        assert_eq!(
            port_op(&t, 0, false),
            Some(Ok((PortSet::range(10000, 20000), 3)))
        );
        let t = ["gt", "1023"];
        assert_eq!(
            port_op(&t, 0, false).unwrap().unwrap().0.render(),
            "1024-65535"
        );
        let t = ["lt", "1024"];
        assert_eq!(port_op(&t, 0, false).unwrap().unwrap().0.render(), "0-1023");
        let t = ["neq", "www"];
        assert!(!port_op(&t, 0, false).unwrap().unwrap().0.contains(80));
        assert!(port_op(&["eq", "nosuch"], 0, false).unwrap().is_err());
        assert!(port_op(&["host"], 0, false).is_none());
        assert_eq!(port_value("h323"), Some(1720));
        assert_eq!(port_value("ctiqbe"), Some(2748));
    }

    #[test]
    fn wildcards() {
        assert_eq!(
            wildcard_set("10.1.2.3", "0.0.0.255"),
            parse_net("10.1.2.0/24")
        );
        assert_eq!(
            wildcard_set("10.0.0.1", "0.0.0.0"),
            parse_net("10.0.0.1/32")
        );
        assert_eq!(
            wildcard_set("0.0.0.0", "255.255.255.255"),
            parse_net("0.0.0.0/0")
        );
        assert!(wildcard_set("10.0.0.0", "0.0.255.0").is_none());
    }

    #[test]
    fn groups_resolve_nested_and_cycles() {
        let sp = Span::new(FileId(0), 0, 0);
        let mut o = Objects::default();
        let net = |items| Group {
            kind: GroupKind::Network,
            proto: None,
            items,
            span: sp,
        };
        o.groups.insert(
            "a".into(),
            net(vec![
                Item::Addr(parse_net("10.0.0.1").unwrap()),
                Item::Group("b".into()),
            ]),
        );
        o.groups.insert(
            "b".into(),
            net(vec![Item::Addr(parse_net("10.0.0.2").unwrap())]),
        );
        let r = o.addrs("a", false, 8);
        assert!(r.unmodeled.is_empty());
        assert_eq!(
            r.value,
            parse_net("10.0.0.1")
                .unwrap()
                .union(&parse_net("10.0.0.2").unwrap())
        );
        o.groups
            .insert("c".into(), net(vec![Item::Group("d".into())]));
        o.groups
            .insert("d".into(), net(vec![Item::Group("c".into())]));
        let r = o.addrs("c", false, 8);
        assert!(r.value.is_full());
        assert!(r.unmodeled.iter().any(|u| u.contains("cycle")));
        // A diamond 60 levels deep (2^60 paths) resolves at once, within the depth limit.
        for i in 0..60 {
            o.groups.insert(
                format!("m{i}"),
                net(vec![
                    Item::Group(format!("m{}", i + 1)),
                    Item::Group(format!("m{}", i + 1)),
                ]),
            );
        }
        o.groups.insert(
            "m60".into(),
            net(vec![Item::Addr(parse_net("10.9.9.9").unwrap())]),
        );
        let r = o.addrs("m0", false, 100);
        assert_eq!(r.value, parse_net("10.9.9.9").unwrap());
        let r = o.addrs("m0", false, 32);
        assert!(r.value.is_full());
    }
}
