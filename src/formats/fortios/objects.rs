//! FortiOS objects of one VDOM: addresses (`firewall address`/`address6`, groups, VIPs),
//! services (`firewall service custom`/`group` and the predefined services), and zones
//! (`system zone`, SD-WAN zones). References are resolved with cycle detection and the
//! reference depth limit; whatever cannot be resolved exactly is reported, never guessed.

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Mutex};

use super::tree::{table, Entry, Node};
use crate::model::Unparsed;
use crate::sets::{
    addr_range, all_v4, all_v6, net_from_mask, parse_net, proto, AddrSet, NameSet, PortSet,
    ProtoSet,
};
use crate::source::Span;

/// Address family of a policy field (`srcaddr` vs `srcaddr6`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fam {
    V4 = 0,
    V6 = 1,
}

impl Fam {
    /// Every address of the family (what `all` means, and the universe negations complement in).
    pub fn universe(self) -> AddrSet {
        match self {
            Fam::V4 => all_v4(),
            Fam::V6 => all_v6(),
        }
    }
}

/// One service element: protocols x source ports x destination ports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Svc {
    pub proto: ProtoSet,
    pub sport: PortSet,
    pub dport: PortSet,
}

impl Svc {
    fn any() -> Self {
        Svc {
            proto: ProtoSet::full(),
            sport: PortSet::full(),
            dport: PortSet::full(),
        }
    }
    fn proto(p: u128) -> Self {
        Svc {
            proto: ProtoSet::single(p),
            ..Svc::any()
        }
    }
}

/// The outcome of resolving object names.
#[derive(Clone, Debug)]
pub struct Resolved<T> {
    pub value: T,
    /// Conditions not modeled (they go to the rule's `unmodeled`).
    pub notes: Vec<String>,
    /// Names that are not defined anywhere.
    pub unknown: Vec<String>,
    /// The value could not be computed exactly: the caller must use the whole dimension.
    pub inexact: bool,
    /// Definitions that were not understood (they go to `Config::unparsed`).
    pub bad: Vec<Unparsed>,
}

impl<T> Resolved<T> {
    fn new(value: T) -> Self {
        Resolved {
            value,
            notes: Vec::new(),
            unknown: Vec::new(),
            inexact: false,
            bad: Vec::new(),
        }
    }
    fn note(&mut self, s: String) {
        if !self.notes.contains(&s) {
            self.notes.push(s);
        }
    }
    fn inexact(&mut self, s: String) {
        self.note(s);
        self.inexact = true;
    }
    /// Add what resolving one more name noted (its value is the caller's to combine).
    fn absorb<U>(&mut self, other: &Resolved<U>) {
        for n in &other.notes {
            self.note(n.clone());
        }
        self.unknown.extend(other.unknown.iter().cloned());
        self.inexact |= other.inexact;
        self.bad.extend(other.bad.iter().cloned());
    }
}

/// Names resolved from a policy (outside any group walk), by name: what a name resolves to does
/// not depend on the policy, and the same groups are used by thousands of policies. Shared by
/// the threads that build a large table's policies (see `fortios::parse`).
type Memo<T> = Mutex<HashMap<String, Arc<Resolved<T>>>>;

/// A lock whose holder cannot leave the data half-updated (one insert at a time), so a panic
/// elsewhere while it was held does not make it unusable.
fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// `name` as `memo` remembers it, or resolved now by `resolve` (into a fresh [`Resolved`] that
/// starts from `empty`) and remembered. Resolving runs unlocked: two threads may resolve the same
/// name at once, to the same result, and the first to finish is kept.
fn remembered<T>(
    memo: &Memo<T>,
    name: &str,
    empty: impl FnOnce() -> T,
    resolve: impl FnOnce(&mut Resolved<T>) -> T,
) -> Arc<Resolved<T>> {
    if let Some(hit) = locked(memo).get(name) {
        return hit.clone();
    }
    let mut one = Resolved::new(empty());
    one.value = resolve(&mut one);
    locked(memo)
        .entry(name.to_string())
        .or_insert_with(|| Arc::new(one))
        .clone()
}

/// Predefined FortiOS services (used when the file does not define a service of that name).
/// Items: `tcp/ITEM`, `udp/ITEM`, `sctp/ITEM` (ITEM as in `tcp-portrange`), `icmp[/TYPE]`,
/// `icmp6`, `ip/N` (0 = every protocol).
const PREDEFINED: &[(&str, &str)] = &[
    ("ALL", "ip/0"),
    ("ALL_TCP", "tcp/1-65535"),
    ("ALL_UDP", "udp/1-65535"),
    ("ALL_ICMP", "icmp"),
    ("ALL_ICMP6", "icmp6"),
    ("GRE", "ip/47"),
    ("ESP", "ip/50"),
    ("AH", "ip/51"),
    ("OSPF", "ip/89"),
    ("HTTP", "tcp/80"),
    ("HTTPS", "tcp/443"),
    ("SSH", "tcp/22"),
    ("TELNET", "tcp/23"),
    ("FTP", "tcp/21"),
    ("FTP_GET", "tcp/21"),
    ("FTP_PUT", "tcp/21"),
    ("DNS", "tcp/53 udp/53"),
    ("NTP", "tcp/123 udp/123"),
    ("SNMP", "tcp/161-162 udp/161-162"),
    ("SIP", "tcp/5060 udp/5060"),
    ("SIP-MSNmessenger", "tcp/1863"),
    ("H323", "tcp/1720 tcp/1503 udp/1719"),
    ("RDP", "tcp/3389"),
    ("VNC", "tcp/5900"),
    ("SMTP", "tcp/25"),
    ("SMTPS", "tcp/465"),
    ("POP3", "tcp/110"),
    ("POP3S", "tcp/995"),
    ("IMAP", "tcp/143"),
    ("IMAPS", "tcp/993"),
    ("SAMBA", "tcp/139"),
    ("SMB", "tcp/445"),
    ("PING", "icmp/8"),
    ("TIMESTAMP", "icmp/13"),
    ("INFO_REQUEST", "icmp/15"),
    ("INFO_ADDRESS", "icmp/17"),
    ("TRACEROUTE", "udp/33434-33535"),
    ("TFTP", "udp/69"),
    ("LDAP", "tcp/389"),
    ("LDAP_UDP", "udp/389"),
    ("MYSQL", "tcp/3306"),
    ("MS-SQL", "tcp/1433 tcp/1434"),
    ("SYSLOG", "udp/514"),
    ("BGP", "tcp/179"),
    ("KERBEROS", "tcp/88 udp/88"),
    ("RADIUS", "udp/1812 udp/1813"),
    ("RADIUS-OLD", "udp/1645 udp/1646"),
    ("IKE", "udp/500 udp/4500"),
    ("L2TP", "tcp/1701 udp/1701"),
    ("PPTP", "tcp/1723"),
    ("DHCP", "udp/67-68"),
    ("DHCP6", "udp/546 udp/547"),
    ("NNTP", "tcp/119"),
    ("NFS", "tcp/111 tcp/2049 udp/111 udp/2049"),
    ("ONC-RPC", "tcp/111 udp/111"),
    ("DCE-RPC", "tcp/135 udp/135"),
    ("SQUID", "tcp/3128"),
    ("X-WINDOWS", "tcp/6000-6063"),
    ("IRC", "tcp/6660-6669"),
    ("SCCP", "tcp/2000"),
    ("MMS", "tcp/1755 udp/1024-5000"),
    ("WINFRAME", "tcp/1494 tcp/2598"),
    ("WINS", "tcp/1512 udp/1512"),
    ("REXEC", "tcp/512"),
    ("RLOGIN", "tcp/513:512-1023"),
    ("RSH", "tcp/514:512-1023"),
    ("FINGER", "tcp/79"),
    ("GOPHER", "tcp/70"),
    ("UUCP", "tcp/540"),
    ("WAIS", "tcp/210"),
    ("AFS3", "tcp/7000-7009 udp/7000-7009"),
    ("AOL", "tcp/5190-5194"),
    ("CVSPSERVER", "tcp/2401 udp/2401"),
    ("QUAKE", "udp/26000 udp/27000 udp/27910 udp/27960"),
    ("RAUDIO", "udp/7070"),
];

/// `dst[-dst][:src[-src]]` → (destination ports, source ports).
pub fn port_item(s: &str) -> Option<(PortSet, PortSet)> {
    fn range(s: &str) -> Option<PortSet> {
        let (lo, hi) = s.split_once('-').unwrap_or((s, s));
        let lo: u16 = lo.trim().parse().ok()?;
        let hi: u16 = hi.trim().parse().ok()?;
        Some(PortSet::range(lo.into(), hi.into()))
    }
    let (dst, src) = match s.split_once(':') {
        Some((d, s)) => (d, Some(s)),
        None => (s, None),
    };
    let sport = match src {
        Some(src) => range(src)?,
        None => PortSet::full(),
    };
    Some((range(dst)?, sport))
}

fn predefined(name: &str) -> Option<Vec<Svc>> {
    let (_, spec) = PREDEFINED.iter().find(|(n, _)| *n == name)?;
    let mut out = Vec::new();
    for item in spec.split_whitespace() {
        let (p, arg) = item.split_once('/').unwrap_or((item, ""));
        let svc = match p {
            "tcp" | "udp" | "sctp" => {
                let (dport, sport) = port_item(arg)?;
                Svc {
                    proto: ProtoSet::single(proto::from_name(p)?),
                    sport,
                    dport,
                }
            }
            "icmp" => Svc::proto(proto::ICMP),
            "icmp6" => Svc::proto(proto::ICMPV6),
            "ip" => match arg.parse::<u8>().ok()? {
                0 => Svc::any(),
                n => Svc::proto(n.into()),
            },
            _ => return None,
        };
        out.push(svc);
    }
    Some(out)
}

/// The ICMP type a predefined service is limited to (not modeled: the model has no ICMP type).
fn predefined_icmp_type(name: &str) -> Option<&'static str> {
    let (_, spec) = PREDEFINED.iter().find(|(n, _)| *n == name)?;
    spec.strip_prefix("icmp/")
}

/// The objects visible in one VDOM (its own, then global ones).
#[derive(Default)]
pub struct Objects<'t> {
    addr: [HashMap<&'t str, Entry<'t>>; 2],
    grp: [HashMap<&'t str, Entry<'t>>; 2],
    vip: [HashMap<&'t str, Entry<'t>>; 2],
    vipgrp: [HashMap<&'t str, Entry<'t>>; 2],
    svc: HashMap<&'t str, Entry<'t>>,
    svcgrp: HashMap<&'t str, Entry<'t>>,
    /// `firewall profile-group` entries (security profiles used with `profile-type group`).
    pub profile_groups: HashMap<&'t str, Entry<'t>>,
    /// Zone name → member interfaces.
    pub zones: HashMap<String, BTreeSet<String>>,
    max_depth: usize,
    /// Names met past the reference-depth limit, with the span of their entry when defined.
    too_deep: Mutex<std::collections::BTreeMap<String, Option<Span>>>,
    /// Address names resolved so far, per family.
    addr_memo: [Memo<AddrSet>; 2],
    /// Service names resolved so far.
    svc_memo: Memo<Vec<Svc>>,
    /// Interface lists resolved so far (keyed by [`list_key`]): thousands of policies name the
    /// same few, and each set would otherwise be built and held again.
    intf_memo: Mutex<HashMap<String, NameSet>>,
}

/// A key for a list of names that no other list shares: each name with its length before it.
fn list_key(names: &[&str]) -> String {
    let mut key = String::with_capacity(names.iter().map(|n| n.len() + 4).sum());
    for n in names {
        key.push_str(&n.len().to_string());
        key.push(':');
        key.push_str(n);
    }
    key
}

impl<'t> Objects<'t> {
    /// True when group `name` (defined at `head`) is met at or past the reference-depth limit:
    /// the result becomes inexact and the group is kept for [`Objects::depth_issues`].
    fn past_limit<T>(
        &self,
        depth: usize,
        kind: &str,
        name: &str,
        head: Span,
        r: &mut Resolved<T>,
    ) -> bool {
        if depth < self.max_depth {
            return false;
        }
        r.inexact(format!(
            "{kind} reference depth limit ({}) reached at \"{name}\"",
            self.max_depth
        ));
        locked(&self.too_deep).insert(format!("{kind} group \"{name}\""), Some(head));
        true
    }

    /// Input issues for the names met past the reference-depth limit (policies using them were
    /// evaluated inexactly, so their verdicts are not complete).
    pub fn depth_issues(&self, fallback: Span) -> Vec<crate::model::InputIssue> {
        locked(&self.too_deep)
            .iter()
            .map(|(what, span)| crate::model::InputIssue {
                span: span.unwrap_or(fallback),
                message: format!(
                    "{what} is nested deeper than the reference limit of {} levels (--max-reference-depth, limits: max-reference-depth): policies using it were evaluated inexactly",
                    self.max_depth
                ),
            })
            .collect()
    }

    /// Build from the `config` blocks of a path (`blocks("firewall address")`), global blocks
    /// first so that a VDOM's own definition of a name wins.
    pub fn new(
        blocks: &dyn Fn(&str) -> Vec<&'t Node<'t>>,
        max_depth: usize,
        unparsed: &mut Vec<Unparsed>,
    ) -> Self {
        let mut map = |path: &str| -> HashMap<&'t str, Entry<'t>> {
            table(&blocks(path), unparsed)
                .into_iter()
                .map(|e| (e.name, e))
                .collect()
        };
        let mut o = Objects {
            addr: [map("firewall address"), map("firewall address6")],
            grp: [map("firewall addrgrp"), map("firewall addrgrp6")],
            vip: [map("firewall vip"), map("firewall vip6")],
            vipgrp: [map("firewall vipgrp"), map("firewall vipgrp6")],
            svc: map("firewall service custom"),
            svcgrp: map("firewall service group"),
            profile_groups: map("firewall profile-group"),
            zones: HashMap::new(),
            max_depth,
            too_deep: Default::default(),
            addr_memo: Default::default(),
            svc_memo: Default::default(),
            intf_memo: Default::default(),
        };
        for (name, e) in map("system zone") {
            let members = e
                .get("interface")
                .map(|v| v.texts().into_iter().map(String::from).collect())
                .unwrap_or_default();
            o.zones.insert(name.to_string(), members);
        }
        // SD-WAN members belong to an SD-WAN zone (`virtual-wan-link` by default).
        for path in ["system sdwan", "system virtual-wan-link"] {
            for block in blocks(path) {
                let subs: Vec<&Node<'_>> = block
                    .children
                    .iter()
                    .filter(|c| c.is_config("members"))
                    .collect();
                for m in table(&subs, unparsed) {
                    let Some(intf) = m.get("interface") else {
                        continue;
                    };
                    let zone = m
                        .get("zone")
                        .map(|z| z.first().to_string())
                        .unwrap_or_else(|| "virtual-wan-link".into());
                    o.zones
                        .entry(zone)
                        .or_default()
                        .insert(intf.first().to_string());
                }
            }
        }
        o
    }

    /// The FQDN names and patterns of the address objects (for `Config::fqdns`).
    pub fn fqdns(&self) -> Vec<String> {
        self.addr
            .iter()
            .flat_map(|m| m.values())
            .filter_map(|e| {
                let ty = e.get("type").map(|v| v.first().to_ascii_lowercase())?;
                if ty != "fqdn" && ty != "wildcard-fqdn" {
                    return None;
                }
                fqdn_of(e, &ty).filter(|f| crate::sets::looks_like_fqdn(f))
            })
            .collect()
    }

    /// Interfaces/zones of `srcintf`/`dstintf`: `any` is every interface; a zone stands for
    /// itself and its member interfaces.
    pub fn interfaces(&self, names: &[&str]) -> NameSet {
        if names.iter().any(|n| n.eq_ignore_ascii_case("any")) {
            return NameSet::Any;
        }
        let key = list_key(names);
        if let Some(hit) = locked(&self.intf_memo).get(&key) {
            return hit.clone();
        }
        let mut out = BTreeSet::new();
        for n in names {
            out.insert(n.to_string());
            if let Some(m) = self.zones.get(*n) {
                out.extend(m.iter().cloned());
            }
        }
        locked(&self.intf_memo)
            .entry(key)
            .or_insert_with(|| NameSet::Only(out.into()))
            .clone()
    }

    /// The union of the named address objects of a family.
    pub fn addresses(&self, names: &[&str], fam: Fam) -> Resolved<AddrSet> {
        let mut r = Resolved::new(AddrSet::empty());
        for n in names {
            let one = remembered(&self.addr_memo[fam as usize], n, AddrSet::empty, |one| {
                self.addr(n, fam, 0, &mut Vec::new(), one)
            });
            r.value = r.value.union(&one.value);
            r.absorb(&one);
        }
        r
    }

    fn addr(
        &self,
        name: &str,
        fam: Fam,
        depth: usize,
        stack: &mut Vec<String>,
        r: &mut Resolved<AddrSet>,
    ) -> AddrSet {
        if stack.iter().any(|s| s == name) {
            // A cycle adds nothing the walk has not already collected; FortiOS itself refuses
            // such groups, so the file is suspicious: say so.
            r.note(format!("address group cycle through \"{name}\""));
            return AddrSet::empty();
        }
        let f = fam as usize;
        if let Some(e) = self.addr[f].get(name) {
            return address_entry(e, fam, r);
        }
        if let Some(e) = self.grp[f].get(name).or_else(|| self.vipgrp[f].get(name)) {
            // Levels count group references from the policy, as in every format: a policy
            // using g3, which holds g2, which holds g1, uses 3 levels (g1 is met at depth 2);
            // addresses are not levels.
            if self.past_limit(depth, "address", name, e.head, r) {
                return AddrSet::empty();
            }
            stack.push(name.to_string());
            let mut set = self.members(e, "member", fam, depth, stack, r);
            if e.is("exclude", "enable") {
                let ex = self.members(e, "exclude-member", fam, depth, stack, r);
                set = set.difference(&ex);
            }
            stack.pop();
            return set;
        }
        if let Some(e) = self.vip[f].get(name) {
            return vip_entry(e, fam, r);
        }
        match name {
            "all" => fam.universe(),
            "none" => AddrSet::empty(),
            _ => {
                r.unknown.push(name.to_string());
                r.inexact = true;
                fam.universe()
            }
        }
    }

    fn members(
        &self,
        e: &Entry<'t>,
        key: &str,
        fam: Fam,
        depth: usize,
        stack: &mut Vec<String>,
        r: &mut Resolved<AddrSet>,
    ) -> AddrSet {
        let mut set = AddrSet::empty();
        for m in e.get(key).map(|v| v.texts()).unwrap_or_default() {
            set = set.union(&self.addr(m, fam, depth + 1, stack, r));
        }
        set
    }

    /// The union of the named services.
    pub fn services(&self, names: &[&str]) -> Resolved<Vec<Svc>> {
        let mut r = Resolved::new(Vec::new());
        for n in names {
            let one = remembered(&self.svc_memo, n, Vec::new, |one| {
                self.svc(n, 0, &mut Vec::new(), one)
            });
            r.value.extend(one.value.iter().cloned());
            r.absorb(&one);
        }
        r
    }

    fn svc(
        &self,
        name: &str,
        depth: usize,
        stack: &mut Vec<String>,
        r: &mut Resolved<Vec<Svc>>,
    ) -> Vec<Svc> {
        if stack.iter().any(|s| s == name) {
            r.note(format!("service group cycle through \"{name}\""));
            return Vec::new();
        }
        if let Some(e) = self.svc.get(name) {
            return service_entry(e, r);
        }
        if let Some(e) = self.svcgrp.get(name) {
            // Levels count as for address groups (`addr`).
            if self.past_limit(depth, "service", name, e.head, r) {
                return Vec::new();
            }
            stack.push(name.to_string());
            let mut out = Vec::new();
            for m in e.get("member").map(|v| v.texts()).unwrap_or_default() {
                out.extend(self.svc(m, depth + 1, stack, r));
            }
            stack.pop();
            return out;
        }
        if let Some(v) = predefined(name) {
            if let Some(t) = predefined_icmp_type(name) {
                r.note(format!(
                    "ICMP type {t} of service \"{name}\" is not modeled"
                ));
            }
            return v;
        }
        r.unknown.push(name.to_string());
        r.inexact = true;
        vec![Svc::any()]
    }
}

fn v4(s: &str) -> Option<IpAddr> {
    s.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
}

fn v6(s: &str) -> Option<IpAddr> {
    s.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
}

fn bad<T>(r: &mut Resolved<T>, span: Span, what: String) {
    r.inexact(format!("{what} not understood"));
    r.bad.push(Unparsed {
        span,
        reason: format!("{what} not understood: the address is treated as any"),
    });
}

/// A `firewall address` / `address6` entry.
fn address_entry(e: &Entry<'_>, fam: Fam, r: &mut Resolved<AddrSet>) -> AddrSet {
    let name = &e.name;
    let default_type = if fam == Fam::V4 { "ipmask" } else { "ipprefix" };
    let ty = e
        .get("type")
        .map(|v| v.first().to_ascii_lowercase())
        .unwrap_or_else(|| default_type.into());
    let parse_ip = if fam == Fam::V4 { v4 } else { v6 };
    let set = match ty.as_str() {
        "ipmask" | "ipprefix" => {
            let key = if fam == Fam::V4 { "subnet" } else { "ip6" };
            match e.get(key) {
                // FortiOS default: 0.0.0.0/0 (::/0).
                None => Some(fam.universe()),
                Some(v) => match v.texts().as_slice() {
                    [a, m] if fam == Fam::V4 => net_from_mask(a, m),
                    [c] => parse_net(c).filter(|s| s.is_subset(&fam.universe())),
                    _ => None,
                }
                .or_else(|| {
                    bad(r, v.span, format!("{key} of address \"{name}\""));
                    Some(fam.universe())
                }),
            }
        }
        "iprange" => {
            let zero = if fam == Fam::V4 { "0.0.0.0" } else { "::" };
            let lo = e.get("start-ip").map(|v| v.first().to_string());
            let hi = e.get("end-ip").map(|v| v.first().to_string());
            match (
                parse_ip(lo.as_deref().unwrap_or(zero)),
                parse_ip(hi.as_deref().unwrap_or(zero)),
            ) {
                (Some(a), Some(b)) => Some(addr_range(a, b)),
                _ => {
                    bad(r, e.head, format!("iprange of address \"{name}\""));
                    Some(fam.universe())
                }
            }
        }
        "fqdn" | "wildcard-fqdn" => {
            // Matched by name: the pseudo address of the name (see `sets::host_addr`); the
            // names are collected by `Objects::fqdns`.
            let f = fqdn_of(e, &ty).unwrap_or_default();
            if crate::sets::looks_like_fqdn(&f) {
                Some(AddrSet::single(crate::sets::host_addr(&f)))
            } else {
                r.inexact(format!(
                    "address \"{name}\" is the FQDN \"{f}\", which portaudit does not read as a host name"
                ));
                None
            }
        }
        "geography" => {
            let c = e
                .get("country")
                .map(|v| v.first().to_string())
                .unwrap_or_default();
            r.inexact(format!(
                "address \"{name}\" is the geography object for country \"{c}\""
            ));
            None
        }
        "wildcard" => {
            r.inexact(format!("address \"{name}\" uses a wildcard mask"));
            None
        }
        other => {
            r.inexact(format!("address \"{name}\" of type {other} is not modeled"));
            None
        }
    };
    set.unwrap_or_else(|| fam.universe())
}

/// The name or pattern of an `fqdn` / `wildcard-fqdn` address (`set fqdn`, `set wildcard-fqdn`).
fn fqdn_of(e: &Entry<'_>, ty: &str) -> Option<String> {
    e.get(ty).map(|v| crate::sets::normalize_host(v.first()))
}

/// A `firewall vip` / `vip6`: as a destination it matches its external address(es).
fn vip_entry(e: &Entry<'_>, fam: Fam, r: &mut Resolved<AddrSet>) -> AddrSet {
    let name = &e.name;
    let parse_ip = if fam == Fam::V4 { v4 } else { v6 };
    if e.is("portforward", "enable") {
        let ports = e
            .get("extport")
            .map(|v| v.first().to_string())
            .unwrap_or_default();
        r.note(format!(
            "VIP \"{name}\" only forwards external port(s) {ports}"
        ));
    }
    let Some(ext) = e.get("extip") else {
        r.inexact(format!("VIP \"{name}\" has no extip"));
        return fam.universe();
    };
    let text = ext.first();
    let (lo, hi) = text.split_once('-').unwrap_or((text, text));
    match (parse_ip(lo), parse_ip(hi)) {
        (Some(a), Some(b)) => addr_range(a, b),
        _ => {
            bad(r, ext.span, format!("extip of VIP \"{name}\""));
            fam.universe()
        }
    }
}

/// A `firewall service custom` entry.
fn service_entry(e: &Entry<'_>, r: &mut Resolved<Vec<Svc>>) -> Vec<Svc> {
    let name = &e.name;
    let protocol = e
        .get("protocol")
        .map(|v| v.first().to_ascii_uppercase())
        .unwrap_or_else(|| "TCP/UDP/SCTP".into());
    if e.get("fqdn").is_some_and(|v| !v.first().is_empty())
        || e.get("iprange")
            .is_some_and(|v| !matches!(v.first(), "" | "0.0.0.0"))
    {
        r.note(format!(
            "service \"{name}\" is limited to a destination address range or FQDN"
        ));
    }
    match protocol.as_str() {
        "TCP/UDP/SCTP" | "TCP/UDP" => {
            let mut out = Vec::new();
            for (key, p) in [
                ("tcp-portrange", proto::TCP),
                ("udp-portrange", proto::UDP),
                ("sctp-portrange", proto::SCTP),
            ] {
                let Some(v) = e.get(key) else { continue };
                for t in &v.tokens {
                    match port_item(&t.text) {
                        Some((dport, sport)) => out.push(Svc {
                            proto: ProtoSet::single(p),
                            sport,
                            dport,
                        }),
                        None => {
                            r.inexact(format!("port range of service \"{name}\" not understood"));
                            r.bad.push(Unparsed {
                                span: v.span,
                                reason: format!(
                                    "{key} item of service \"{name}\" not understood: the service is treated as any"
                                ),
                            });
                        }
                    }
                }
            }
            if out.is_empty() && !r.inexact {
                r.bad.push(Unparsed {
                    span: e.head,
                    reason: format!("service \"{name}\" has no port range: it matches nothing"),
                });
            }
            out
        }
        "ICMP" | "ICMP6" => {
            if let Some(t) = e.get("icmptype") {
                r.note(format!(
                    "ICMP type {} of service \"{name}\" is not modeled",
                    t.first()
                ));
            }
            let p = if protocol == "ICMP" {
                proto::ICMP
            } else {
                proto::ICMPV6
            };
            vec![Svc::proto(p)]
        }
        "IP" => {
            let n = e
                .get("protocol-number")
                .map(|v| v.first().to_string())
                .unwrap_or_else(|| "0".into());
            match n.parse::<u8>() {
                Ok(0) => vec![Svc::any()],
                Ok(n) => vec![Svc::proto(n.into())],
                Err(_) => {
                    r.inexact(format!(
                        "protocol-number of service \"{name}\" not understood"
                    ));
                    vec![Svc::any()]
                }
            }
        }
        "ALL" => vec![Svc::any()],
        other => {
            r.inexact(format!(
                "service \"{name}\" of protocol {other} (explicit proxy) is not modeled"
            ));
            vec![Svc::any()]
        }
    }
}
