//! Cisco IOS / IOS-XE configuration (`show running-config`, or ACL-only files such as
//! generator output).
//!
//! Model:
//! - Named (`ip access-list extended|standard NAME`, `ipv6 access-list NAME`) and numbered
//!   (`access-list 1-99|1300-1999` standard, `100-199|2000-2699` extended) ACLs; each entry is a
//!   rule named `ip access-list NAME seq N` (IOS numbers unnumbered entries by 10).
//! - One `ingress` chain: for each interface with `ip access-group NAME in` (or
//!   `ipv6 traffic-filter NAME in`), the ACL's rules constrained to that interface
//!   (`src_zone`) and the ACL's implicit deny (for its address family only). An interface
//!   without an ACL passes everything: the chain default is Allow. `egress` likewise with `out`
//!   and `dst_zone`. One `Forward` entry `[ingress, egress]` (each stage only when it has
//!   rules; plus a zone-based-firewall stage whose verdicts are unknown when interfaces are zone
//!   members). Traffic to the router itself (`Input`) is not modelled: an `Input` entry would be
//!   an alternative path that could let a flow pass that the egress ACL blocks.
//! - SIP NAT ALG: on wherever NAT is configured unless `no ip nat service sip udp|tcp port 5060`.
//! - IPS: `ip ips NAME in|out` on an interface.

use std::collections::BTreeSet;

use super::cisco_common::{self as cc, Group, GroupKind, Item, Objects, Svc};
use super::util::{lines, tokenize};
use super::Limits;
use crate::model::{
    Action, Chain, ChainDefault, Config, Entry, FeatureState, Format, Hook, InputIssue, Rule,
    Unparsed,
};
use crate::sets::{self, proto, AddrSet, NameSet, PortSet, ProtoSet, Space};
use crate::source::{SourceFile, Span};

/// Confidence that `text` is an IOS / IOS-XE configuration.
pub fn sniff(_name: &str, text: &str) -> u8 {
    let mut score = 0u8;
    let mut hostname = false;
    let mut bang = false;
    for line in super::util::text_lines(text).take(5000) {
        let l = line.trim_end();
        if l.starts_with("ASA Version ") || l.starts_with("PIX Version ") {
            return 0;
        }
        let s = if l.starts_with("Building configuration")
            || l.starts_with("Current configuration : ")
        {
            80
        } else if l.starts_with("version ")
            && l[8..].chars().next().is_some_and(|c| c.is_ascii_digit())
            // Junos writes `version 21.4R3;` at the top of its curly-brace form.
            && !l.ends_with(';')
        {
            90
        } else if l.starts_with("ip access-list ")
            || l.starts_with("ipv6 access-list ")
            || l.starts_with("no ip access-list ")
            || l.starts_with("no ipv6 access-list ")
            || l.starts_with(" ip access-group ")
            || l.starts_with(" ipv6 traffic-filter ")
        {
            85
        } else if l.starts_with("ip nat ")
            || l.starts_with("zone-pair security ")
            || l.starts_with("voice service voip")
            || l.starts_with("dial-peer voice ")
            || l.starts_with("ip route ")
            || l.starts_with("ip ips ")
            || l.starts_with("boot-start-marker")
        {
            75
        } else if l.starts_with("access-list ") {
            let w: Vec<&str> = l.split_whitespace().collect();
            let numbered = w.get(1).is_some_and(|n| n.parse::<u32>().is_ok());
            let act = w
                .get(2)
                .is_some_and(|a| matches!(*a, "permit" | "deny" | "remark"));
            if numbered && act {
                70
            } else {
                0
            }
        } else if l.starts_with("object-group network ipv4 ") {
            60
        } else {
            if l.starts_with("hostname ") {
                hostname = true;
            }
            if l == "!" {
                bang = true;
            }
            0
        };
        score = score.max(s);
        if l.starts_with("system {") || l.starts_with("security {") || l.starts_with("interfaces {")
        {
            // Junos curly-brace hierarchy.
            return 0;
        }
        if (l.starts_with(char::is_whitespace) && l.trim_start().starts_with("nameif "))
            || (l.starts_with("access-group ") && l.contains(" interface "))
        {
            // ASA markers.
            return 0;
        }
    }
    if hostname && bang {
        score = score.max(30);
    }
    score
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Fam {
    V4,
    V6,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Extended,
    Standard,
}

#[derive(Default)]
struct Iface {
    name: String,
    /// (acl, family, in?, span)
    acls: Vec<(String, Fam, bool, Span)>,
    zone: Option<(String, Span)>,
}

struct AclEntry {
    seq: u64,
    span: Span,
    toks: Vec<String>,
}

struct Acl {
    name: String,
    label: String,
    fam: Fam,
    kind: Kind,
    span: Span,
    entries: Vec<AclEntry>,
    next_seq: u64,
}

enum Block {
    None,
    Iface(usize),
    Acl(usize),
    Group(String),
    Other,
}

struct Parser<'a> {
    file: &'a SourceFile,
    limits: &'a Limits,
    cfg: Config,
    objects: Objects,
    ifaces: Vec<Iface>,
    acls: Vec<Acl>,
    acl_ids: std::collections::HashMap<(String, bool), usize>,
    nat: Vec<(Span, String)>,
    no_sip: Vec<(Span, String)>,
    ips: Vec<(Span, String)>,
    ips_names: Vec<Span>,
    zbf: Vec<Span>,
    /// Categories of commands that matter for security but are not modelled: first span, count.
    notes: std::collections::BTreeMap<&'static str, (Span, usize)>,
}

fn kw(t: Option<&&str>, k: &str) -> bool {
    t.is_some_and(|t| t.eq_ignore_ascii_case(k))
}

/// Parse an IOS configuration.
pub fn parse(file: &SourceFile, limits: &Limits) -> Config {
    let mut p = Parser {
        file,
        limits,
        cfg: Config::new(Format::Ios, Span::file_start(file.id)),
        objects: Objects::default(),
        ifaces: Vec::new(),
        acls: Vec::new(),
        acl_ids: std::collections::HashMap::new(),
        nat: Vec::new(),
        no_sip: Vec::new(),
        ips: Vec::new(),
        ips_names: Vec::new(),
        zbf: Vec::new(),
        notes: std::collections::BTreeMap::new(),
    };
    p.truncation();
    p.collect();
    p.build_filter();
    p.features();
    let issues = p.objects.depth_issues(Span::file_start(file.id));
    p.cfg.errors.extend(issues);
    p.cfg
}

fn numbered_kind(n: u32) -> Option<Kind> {
    match n {
        1..=99 | 1300..=1999 => Some(Kind::Standard),
        100..=199 | 2000..=2699 => Some(Kind::Extended),
        _ => None,
    }
}

impl Parser<'_> {
    fn unparsed(&mut self, span: Span, reason: impl Into<String>) {
        self.cfg.unparsed.push(Unparsed {
            span,
            reason: reason.into(),
        });
    }

    /// A full export whose header is there but whose closing line is missing was cut short.
    fn truncation(&mut self) {
        let file = self.file;
        let mut it = lines(&file.text).filter(|l| !l.text.trim().is_empty());
        let Some(first) = it.next() else {
            return;
        };
        let last = it.last().unwrap_or(first);
        if first.text.starts_with("Building configuration") && last.text.trim_end() != "end" {
            self.cfg.errors.push(InputIssue {
                span: last.span(file.id),
                message: "the export looks truncated: a `show running-config` (`Building configuration...` header) ends with `end`, and this is the last line".into(),
            });
        }
    }

    fn first_line_span(&self) -> Span {
        lines(&self.file.text)
            .find(|l| !l.text.trim().is_empty())
            .map(|l| l.span(self.file.id))
            .unwrap_or(self.cfg.file_span)
    }

    fn acl_index(&mut self, name: &str, label: String, fam: Fam, kind: Kind, span: Span) -> usize {
        let key = (name.to_string(), fam == Fam::V6);
        if let Some(&i) = self.acl_ids.get(&key) {
            return i;
        }
        self.acl_ids.insert(key, self.acls.len());
        self.acls.push(Acl {
            name: name.to_string(),
            label,
            fam,
            kind,
            span,
            entries: Vec::new(),
            next_seq: 10,
        });
        self.acls.len() - 1
    }

    fn push_entry(&mut self, acl: usize, t: &[&str], span: Span) {
        let Some(a) = self.acls.get_mut(acl) else {
            return;
        };
        let mut t = t;
        let mut seq = None;
        if kw(t.first(), "sequence") {
            seq = t.get(1).and_then(|s| s.parse::<u64>().ok());
            t = &t[2.min(t.len())..];
        } else if let Some(n) = t.first().and_then(|s| s.parse::<u64>().ok()) {
            seq = Some(n);
            t = &t[1..];
        }
        if kw(t.first(), "remark") {
            // A numbered remark (IOS-XE) takes its sequence number.
            if let Some(n) = seq {
                a.next_seq = a.next_seq.max(n.saturating_add(10));
            }
            return;
        }
        let k = t
            .first()
            .map(|k| k.to_ascii_lowercase())
            .unwrap_or_default();
        if !matches!(k.as_str(), "permit" | "deny" | "evaluate") {
            let reason = if k.is_empty() {
                "access-list entry without an action".to_string()
            } else {
                format!("`{k}` in an access-list is not modelled")
            };
            self.unparsed(span, reason);
            return;
        }
        let seq = seq.unwrap_or(a.next_seq);
        // IOS numbers an unnumbered entry 10 past the highest sequence number so far.
        a.next_seq = a.next_seq.max(seq.saturating_add(10));
        a.entries.push(AclEntry {
            seq,
            span,
            toks: t.iter().map(|s| s.to_string()).collect(),
        });
    }

    fn collect(&mut self) {
        let file = self.file;
        let mut block = Block::None;
        for line in lines(&file.text) {
            let span = line.span(file.id);
            if line.text.len() > self.limits.max_line_len {
                self.unparsed(span, "line longer than the line-length limit, not parsed");
                continue;
            }
            let trimmed = line.text.trim_start();
            let indented = trimmed.len() != line.text.len();
            if trimmed.is_empty() {
                continue;
            }
            if trimmed.starts_with('!') {
                if !indented {
                    block = Block::None;
                }
                continue;
            }
            let mut toks = tokenize(line.text, line.start);
            if let Some(cut) = toks.iter().position(|t| t.text.starts_with('!')) {
                toks.truncate(cut);
            }
            let t: Vec<&str> = toks.iter().map(|t| &*t.text).collect();
            if t.is_empty() {
                continue;
            }
            let k0 = t[0].to_ascii_lowercase();
            if k0 == "exit" {
                block = Block::None;
                continue;
            }
            // ACL entries may be written unindented inside an ACL block (generator output).
            let acl_entry = matches!(block, Block::Acl(_))
                && (indented
                    || matches!(k0.as_str(), "permit" | "deny" | "remark" | "sequence")
                    || k0.parse::<u64>().is_ok());
            if indented || acl_entry {
                self.sub_line(&block, &t, span);
                continue;
            }
            block = self.top_line(&t, span);
        }
        for (reason, (span, n)) in std::mem::take(&mut self.notes) {
            let reason = if n > 1 {
                format!("{reason} ({n} lines, first here)")
            } else {
                reason.to_string()
            };
            self.unparsed(span, reason);
        }
    }

    fn top_line(&mut self, t: &[&str], span: Span) -> Block {
        let k0 = t[0].to_ascii_lowercase();
        let k1 = t.get(1).map(|s| s.to_ascii_lowercase()).unwrap_or_default();
        match (k0.as_str(), k1.as_str()) {
            ("hostname", _) => {
                self.cfg.name = t.get(1).map(|s| s.to_string());
                Block::None
            }
            ("interface", _) if t.len() >= 2 => {
                self.ifaces.push(Iface {
                    name: t[1..].join(""),
                    ..Iface::default()
                });
                Block::Iface(self.ifaces.len() - 1)
            }
            ("ip", "access-list") | ("ipv6", "access-list") => {
                let fam = if k0 == "ipv6" { Fam::V6 } else { Fam::V4 };
                let (kind, name) = match (t.get(2).map(|s| s.to_ascii_lowercase()), t.get(3)) {
                    (Some(k), Some(n)) if k == "extended" => (Kind::Extended, *n),
                    (Some(k), Some(n)) if k == "standard" => (Kind::Standard, *n),
                    (Some(k), Some(_)) if k == "role-based" || k == "logging" => {
                        self.unparsed(span, format!("ip access-list {k} not modelled"));
                        return Block::Other;
                    }
                    (Some(_), Some(_)) if fam == Fam::V4 => {
                        self.unparsed(span, "ip access-list line not understood");
                        return Block::Other;
                    }
                    (Some(_), _) => (Kind::Extended, t[2]),
                    (None, _) => {
                        self.unparsed(span, "access-list without a name");
                        return Block::Other;
                    }
                };
                let label = if fam == Fam::V6 {
                    format!("ipv6 access-list {name}")
                } else {
                    format!("ip access-list {name}")
                };
                Block::Acl(self.acl_index(name, label, fam, kind, span))
            }
            ("no", _) => {
                let w: Vec<String> = t.iter().map(|x| x.to_ascii_lowercase()).collect();
                // Only port 5060 matters: disabling the ALG on another port leaves 5060 on.
                if w.len() >= 8
                    && w[1..5] == ["ip", "nat", "service", "sip"]
                    && w[6] == "port"
                    && w[7] == "5060"
                {
                    self.no_sip.push((span, w[5].clone()));
                }
                Block::None
            }
            ("access-list", _) if t.len() >= 3 => {
                self.numbered(t, span);
                Block::None
            }
            ("object-group", _) => self.group_header(t, span),
            ("ip", "nat") => {
                let k2 = t.get(2).map(|s| s.to_ascii_lowercase()).unwrap_or_default();
                if matches!(k2.as_str(), "inside" | "outside" | "source")
                    && t.iter().any(|x| x.eq_ignore_ascii_case("source"))
                {
                    self.nat.push((span, t[..3.min(t.len())].join(" ")));
                    self.note(
                        "NAT translations are not modelled (interface access-lists see addresses before or after translation depending on direction)",
                        span,
                    );
                }
                if k2 == "pool" {
                    Block::Other
                } else {
                    Block::None
                }
            }
            ("ip", "ips") => {
                if kw(t.get(2), "name") {
                    self.ips_names.push(span);
                }
                Block::Other
            }
            ("zone-pair", _) => {
                self.zbf.push(span);
                self.unparsed(
                    span,
                    "zone-based firewall zone-pair: its inspect policy is not modelled",
                );
                Block::Other
            }
            ("ip", "inspect") => {
                self.note("CBAC (`ip inspect`) is not modelled", span);
                Block::Other
            }
            ("crypto", _) => {
                self.note("VPN (crypto) is not modelled", span);
                Block::Other
            }
            _ => Block::Other,
        }
    }

    fn note(&mut self, what: &'static str, span: Span) {
        self.notes.entry(what).or_insert((span, 0)).1 += 1;
    }

    fn numbered(&mut self, t: &[&str], span: Span) {
        let name = t[1];
        let kind = match name.parse::<u32>().ok().and_then(numbered_kind) {
            Some(k) => k,
            None if kw(t.get(2), "extended") => {
                // ASA-style `access-list NAME extended ...` accepted by some IOS-like images.
                let i = self.acl_index(
                    name,
                    format!("access-list {name}"),
                    Fam::V4,
                    Kind::Extended,
                    span,
                );
                self.push_entry(i, &t[3..], span);
                return;
            }
            None => {
                self.unparsed(span, "access-list line not understood");
                return;
            }
        };
        if kw(t.get(2), "dynamic") {
            self.unparsed(
                span,
                "dynamic (lock-and-key) access-list entry not modelled",
            );
            return;
        }
        let i = self.acl_index(name, format!("access-list {name}"), Fam::V4, kind, span);
        self.push_entry(i, &t[2..], span);
    }

    fn group_header(&mut self, t: &[&str], span: Span) -> Block {
        let mut i = 1;
        let kind = match t.get(i).map(|k| k.to_ascii_lowercase()).as_deref() {
            Some("network") => GroupKind::Network,
            Some("service") => GroupKind::Service,
            Some("port") => GroupKind::Port,
            Some("protocol") => GroupKind::Protocol,
            _ => GroupKind::Other,
        };
        i += 1;
        // IOS-XR: `object-group network ipv4 NAME`.
        if kw(t.get(i), "ipv4") || kw(t.get(i), "ipv6") {
            i += 1;
        }
        let Some(name) = t.get(i) else {
            self.unparsed(span, "object-group without a name");
            return Block::Other;
        };
        self.objects.groups.insert(
            name.to_string(),
            Group {
                kind,
                proto: None,
                items: Vec::new(),
                span,
            },
        );
        Block::Group(name.to_string())
    }

    fn sub_line(&mut self, block: &Block, t: &[&str], span: Span) {
        let k0 = t[0].to_ascii_lowercase();
        if k0 == "description" {
            return;
        }
        match block {
            Block::Iface(i) => {
                let i = *i;
                let Some(f) = self.ifaces.get_mut(i) else {
                    return;
                };
                let w: Vec<String> = t.iter().map(|x| x.to_ascii_lowercase()).collect();
                let ws: Vec<&str> = w.iter().map(String::as_str).collect();
                match ws.as_slice() {
                    ["ip", "access-group", _, dir, ..] | ["ipv6", "traffic-filter", _, dir, ..]
                        if matches!(*dir, "in" | "out") =>
                    {
                        let fam = if ws[0] == "ipv6" { Fam::V6 } else { Fam::V4 };
                        let inbound = *dir == "in";
                        f.acls
                            .retain(|(_, fa, d, _)| !(*fa == fam && *d == inbound));
                        f.acls.push((t[2].to_string(), fam, inbound, span));
                    }
                    ["ip", "nat", "inside" | "outside" | "enable", ..] => {
                        let what = format!("ip nat {} on interface {}", ws[2], f.name);
                        self.nat.push((span, what));
                    }
                    ["ip", "ips", _, "in" | "out", ..] => {
                        let what = format!("ip ips {} {} on interface {}", t[2], ws[3], f.name);
                        self.ips.push((span, what));
                    }
                    ["zone-member", "security", ..] => {
                        f.zone = Some((t.get(2).cloned().unwrap_or_default().to_string(), span));
                    }
                    _ => {}
                }
            }
            Block::Acl(i) => self.push_entry(*i, t, span),
            Block::Group(name) => {
                let Some(kind) = self.objects.group_kind(name) else {
                    return;
                };
                let w: Vec<&str> = t.to_vec();
                let items: Vec<Item> = match (kind, k0.as_str()) {
                    (_, "group-object") => t
                        .get(1)
                        .map(|n| vec![Item::Group(n.to_string())])
                        .unwrap_or_default(),
                    (GroupKind::Network, "host") => t
                        .get(1)
                        .and_then(|a| sets::parse_net(a))
                        .map(Item::Addr)
                        .into_iter()
                        .collect(),
                    (GroupKind::Network, "any") => vec![Item::Addr(AddrSet::full())],
                    (GroupKind::Network, "range") => match (t.get(1), t.get(2)) {
                        (Some(a), Some(b)) => match (a.parse(), b.parse()) {
                            (Ok(a), Ok(b)) => vec![Item::Addr(sets::addr_range(a, b))],
                            _ => vec![],
                        },
                        _ => vec![],
                    },
                    (GroupKind::Network, a) => match t.get(1) {
                        // IOS network groups use netmasks.
                        Some(m) => sets::net_from_mask(a, m)
                            .map(Item::Addr)
                            .into_iter()
                            .collect(),
                        None => sets::parse_net(a).map(Item::Addr).into_iter().collect(),
                    },
                    (GroupKind::Port, _) => match cc::port_op(&w, 0, true) {
                        Some(Ok((p, _))) => vec![Item::Ports(p)],
                        _ => vec![],
                    },
                    (GroupKind::Service | GroupKind::Protocol, p) => match cc::proto_set(p) {
                        Some(protos) => service_line(protos, &w[1..]),
                        None => vec![],
                    },
                    _ => vec![],
                };
                if items.is_empty() {
                    let reason = format!("object-group {name}: `{k0}` line not understood");
                    if let Some(g) = self.objects.groups.get_mut(name) {
                        g.items
                            .push(Item::Unmodeled(format!("`{k0}` line not understood")));
                    }
                    self.unparsed(span, reason);
                } else if let Some(g) = self.objects.groups.get_mut(name) {
                    g.items.extend(items);
                }
            }
            Block::None | Block::Other => {}
        }
    }

    fn addr(
        &self,
        t: &[&str],
        i: usize,
        fam: Fam,
        unm: &mut Vec<String>,
    ) -> Result<(AddrSet, usize), String> {
        let Some(&a) = t.get(i) else {
            return Err("missing address".into());
        };
        let next = t.get(i + 1).copied();
        let all = if fam == Fam::V4 {
            sets::all_v4()
        } else {
            sets::all_v6()
        };
        let (set, j) = match a.to_ascii_lowercase().as_str() {
            "any" => (all.clone(), i + 1),
            "host" => {
                let h = next.and_then(sets::parse_net);
                (h.ok_or("host address not understood")?, i + 2)
            }
            "object-group" | "net-group" | "addrgroup" => {
                let n = next.ok_or("missing object-group name")?;
                if let Some(k) = self.objects.group_kind(n) {
                    if k != GroupKind::Network {
                        return Err(format!("object-group {n} is not a network group"));
                    }
                }
                let r = self
                    .objects
                    .addrs(n, false, self.limits.max_reference_depth);
                unm.extend(r.unmodeled);
                (r.value, i + 2)
            }
            _ if a.contains('/') => (
                sets::parse_net(a).ok_or_else(|| format!("address `{a}` not understood"))?,
                i + 1,
            ),
            _ if cc::is_v4(a) => match next.filter(|m| cc::is_v4(m)) {
                Some(wc) => match cc::wildcard_set(a, wc) {
                    Some(s) => (s, i + 2),
                    None => {
                        // Non-contiguous wildcard: the rule matches a scattered set we do not
                        // model; keep the covering range and say so.
                        unm.push(format!("non-contiguous wildcard {a} {wc}"));
                        (all.clone(), i + 2)
                    }
                },
                // A bare address (standard ACLs) is a host.
                None => (
                    sets::parse_net(a).ok_or_else(|| format!("address `{a}` not understood"))?,
                    i + 1,
                ),
            },
            _ if fam == Fam::V6 && a.contains(':') => (
                sets::parse_net(a).ok_or_else(|| format!("address `{a}` not understood"))?,
                i + 1,
            ),
            _ => return Err(format!("address `{a}` not understood")),
        };
        Ok((set.intersect(&all), j))
    }

    fn port_slot(
        &self,
        t: &[&str],
        i: usize,
        unm: &mut Vec<String>,
    ) -> Result<Option<(PortSet, usize)>, String> {
        if let Some(r) = cc::port_op(t, i, true) {
            return r.map(Some).map_err(|e| format!("{e} not understood"));
        }
        let k = t.get(i).map(|x| x.to_ascii_lowercase());
        if matches!(
            k.as_deref(),
            Some("port-group" | "portgroup" | "object-group")
        ) {
            if let Some(n) = t.get(i + 1) {
                let is_ports = matches!(
                    self.objects.group_kind(n),
                    Some(GroupKind::Port | GroupKind::Service)
                );
                if is_ports || k.as_deref() != Some("object-group") {
                    let r = self
                        .objects
                        .ports(n, false, self.limits.max_reference_depth);
                    unm.extend(r.unmodeled);
                    return Ok(Some((r.value, i + 2)));
                }
            }
        }
        Ok(None)
    }

    fn entry_rule(&mut self, acl: usize, e: &AclEntry) -> Rule {
        let (label, fam, kind) = match self.acls.get(acl) {
            Some(a) => (a.label.clone(), a.fam, a.kind),
            None => return Rule::new("?", e.span, Action::Unknown("no ACL".into())),
        };
        let name = format!("{label} seq {}", e.seq);
        let t: Vec<&str> = e.toks.iter().map(String::as_str).collect();
        let mut rule = Rule::new(name.clone(), e.span, Action::Deny);
        let res = match kind {
            Kind::Standard => self.standard(&t, fam, &mut rule),
            Kind::Extended => self.extended(&t, fam, &mut rule),
        };
        if let Err(err) = res {
            let reason = format!("{name}: {err}");
            self.unparsed(e.span, reason.clone());
            let mut r = Rule::new(name, e.span, Action::Unknown(reason));
            let all = if fam == Fam::V4 {
                sets::all_v4()
            } else {
                sets::all_v6()
            };
            r.matches = vec![Space {
                src: all.clone(),
                dst: all,
                ..Space::all()
            }];
            return r;
        }
        rule
    }

    fn action(t: &[&str], rule: &mut Rule) -> Result<(), String> {
        rule.action = match t.first().map(|a| a.to_ascii_lowercase()).as_deref() {
            Some("permit") => Action::Allow,
            Some("deny") => Action::Deny,
            Some(k) => return Err(format!("`{k}` entry not understood")),
            None => return Err("empty entry".into()),
        };
        Ok(())
    }

    fn standard(&self, t: &[&str], fam: Fam, rule: &mut Rule) -> Result<(), String> {
        Self::action(t, rule)?;
        let mut unm = Vec::new();
        let (src, mut i) = self.addr(t, 1, fam, &mut unm)?;
        while let Some(k) = t.get(i) {
            match k.to_ascii_lowercase().as_str() {
                "log" | "log-input" => {}
                _ => unm.push(format!("option `{k}`")),
            }
            i += 1;
        }
        rule.matches = vec![Space {
            src,
            dst: if fam == Fam::V4 {
                sets::all_v4()
            } else {
                sets::all_v6()
            },
            ..Space::all()
        }];
        rule.unmodeled = unm;
        Ok(())
    }

    fn extended(&self, t: &[&str], fam: Fam, rule: &mut Rule) -> Result<(), String> {
        if t.first()
            .is_some_and(|k| k.eq_ignore_ascii_case("evaluate"))
        {
            // Reflexive ACL: permits only return traffic of sessions seen by a `reflect` entry.
            rule.action = Action::Allow;
            rule.established_only = true;
            return Ok(());
        }
        Self::action(t, rule)?;
        let mut unm = Vec::new();
        let depth = self.limits.max_reference_depth;
        let p = *t.get(1).ok_or("missing protocol")?;
        let mut i = 2;
        let svcs: Vec<Svc> = if p.eq_ignore_ascii_case("object-group") {
            let n = *t.get(2).ok_or("missing object-group name")?;
            i = 3;
            if let Some(GroupKind::Network | GroupKind::Port | GroupKind::Other) =
                self.objects.group_kind(n)
            {
                return Err(format!("object-group {n} is not a service group"));
            }
            let r = self.objects.services(n, false, depth);
            unm.extend(r.unmodeled);
            r.value
        } else {
            let mut protos =
                cc::proto_set(p).ok_or_else(|| format!("protocol `{p}` not understood"))?;
            if fam == Fam::V6 && p.eq_ignore_ascii_case("icmp") {
                protos = ProtoSet::single(proto::ICMPV6);
            }
            vec![Svc::protos(protos)]
        };
        let (src, j) = self.addr(t, i, fam, &mut unm)?;
        i = j;
        let mut sport = PortSet::full();
        if let Some((ps, j)) = self.port_slot(t, i, &mut unm)? {
            sport = ps;
            i = j;
        }
        let (dst, j) = self.addr(t, i, fam, &mut unm)?;
        i = j;
        let mut dport = PortSet::full();
        if let Some((ps, j)) = self.port_slot(t, i, &mut unm)? {
            dport = ps;
            i = j;
        }
        let icmp = svcs.iter().all(|s| {
            s.proto == ProtoSet::single(proto::ICMP) || s.proto == ProtoSet::single(proto::ICMPV6)
        });
        while let Some(k) = t.get(i) {
            let k = k.to_ascii_lowercase();
            i += 1;
            match k.as_str() {
                "established" => rule.established_only = true,
                "log" | "log-input" => {
                    while let Some(x) = t.get(i) {
                        let x = x.to_ascii_lowercase();
                        if x == "interval" {
                            i += 2;
                        } else if x.parse::<u32>().is_ok() || x == "default" || x == "disable" {
                            i += 1;
                        } else {
                            break;
                        }
                    }
                }
                "reflect" => {
                    // Creates return entries elsewhere; the packet itself matches.
                    i += 1;
                    if t.get(i).is_some_and(|x| x.eq_ignore_ascii_case("timeout")) {
                        i += 2;
                    }
                }
                "time-range" | "dscp" | "precedence" | "tos" | "option" => {
                    unm.push(format!("{k} {}", t.get(i).unwrap_or(&"")));
                    i += 1;
                }
                "ttl" | "hop-limit" => {
                    unm.push(format!("{k} condition"));
                    if cc::port_op(t, i, false).is_some() {
                        i += if t.get(i).is_some_and(|x| x.eq_ignore_ascii_case("range")) {
                            3
                        } else {
                            2
                        };
                    }
                }
                "fragments" | "tracked" | "ack" | "syn" | "fin" | "psh" | "rst" | "urg"
                | "match-all" | "match-any" => unm.push(format!("`{k}` condition")),
                _ if k.starts_with('+') || k.starts_with('-') => unm.push(format!("tcp flag {k}")),
                _ if icmp => unm.push(format!("icmp type/code {k}")),
                _ => unm.push(format!("option `{k}` not understood")),
            }
        }
        let mut matches = Vec::new();
        for s in &svcs {
            let svc = Svc {
                proto: s.proto.clone(),
                sport: s.sport.intersect(&sport),
                dport: s.dport.intersect(&dport),
            };
            matches.extend(cc::spaces(&svc, &src, &dst));
        }
        rule.matches = matches;
        rule.unmodeled = unm;
        Ok(())
    }

    fn build_filter(&mut self) {
        let mut rules: Vec<Vec<Rule>> = Vec::new();
        for a in 0..self.acls.len() {
            let mut entries = std::mem::take(&mut self.acls[a].entries);
            // IOS evaluates entries in sequence-number order.
            entries.sort_by_key(|e| e.seq);
            let r: Vec<Rule> = entries.iter().map(|e| self.entry_rule(a, e)).collect();
            self.acls[a].entries = entries;
            rules.push(r);
        }
        let mut bound: BTreeSet<usize> = BTreeSet::new();
        let mut ingress = Vec::new();
        let mut egress = Vec::new();
        let ifaces = std::mem::take(&mut self.ifaces);
        let bind_count = |name: &str, fam: Fam| {
            ifaces
                .iter()
                .flat_map(|f| f.acls.iter())
                .filter(|(n, fa, _, _)| n == name && *fa == fam)
                .count()
        };
        for f in &ifaces {
            for (acl, fam, inbound, span) in &f.acls {
                let zone = NameSet::only([f.name.as_str()]);
                let Some(ai) = self
                    .acls
                    .iter()
                    .position(|a| a.name == *acl && a.fam == *fam)
                else {
                    self.unparsed(
                        *span,
                        format!(
                            "access-list {acl} is applied but not defined: IOS then permits all traffic"
                        ),
                    );
                    continue;
                };
                bound.insert(ai);
                let tag = bind_count(acl, *fam) > 1;
                let d = if *inbound { "in" } else { "out" };
                let target = if *inbound { &mut ingress } else { &mut egress };
                for r in &rules[ai] {
                    let mut r = r.clone();
                    r.matches = r
                        .matches
                        .iter()
                        .map(|s| {
                            let mut s = s.clone();
                            if *inbound {
                                s.src_zone = s.src_zone.intersect(&zone);
                            } else {
                                s.dst_zone = s.dst_zone.intersect(&zone);
                            }
                            s
                        })
                        .filter(|s| !s.is_empty())
                        .collect();
                    if tag {
                        r.name = format!("{} ({d} on {})", r.name, f.name);
                    }
                    target.push(r);
                }
                let label = &self.acls[ai].label;
                let all = if *fam == Fam::V4 {
                    sets::all_v4()
                } else {
                    sets::all_v6()
                };
                if *fam == Fam::V6 {
                    // IPv6 ACLs end with implicit permits for neighbour discovery.
                    let mut nd = Rule::new(
                        format!(
                            "{label} implicit permit icmp nd-na/nd-ns ({d} on {})",
                            f.name
                        ),
                        *span,
                        Action::Allow,
                    );
                    let mut s = Space {
                        proto: ProtoSet::single(proto::ICMPV6),
                        src: sets::all_v6(),
                        dst: sets::all_v6(),
                        ..Space::all()
                    };
                    if *inbound {
                        s.src_zone = zone.clone();
                    } else {
                        s.dst_zone = zone.clone();
                    }
                    nd.matches = vec![s];
                    nd.unmodeled =
                        vec!["only ICMPv6 neighbour advertisements and solicitations".into()];
                    target.push(nd);
                }
                let mut deny = Rule::new(
                    format!("{label} implicit deny ({d} on {})", f.name),
                    *span,
                    Action::Deny,
                );
                let mut s = Space {
                    src: all.clone(),
                    dst: all,
                    ..Space::all()
                };
                if *inbound {
                    s.src_zone = zone;
                } else {
                    s.dst_zone = zone;
                }
                deny.matches = vec![s];
                target.push(deny);
            }
        }
        let first = self.first_line_span();
        let members: Vec<(&str, Span)> = ifaces
            .iter()
            .filter_map(|f| f.zone.as_ref().map(|(_, s)| (f.name.as_str(), *s)))
            .collect();
        if !ifaces.is_empty() {
            let allow_default = || ChainDefault {
                action: Action::Allow,
                span: first,
                implicit: true,
            };
            // A stage without rules only applies its default: leave the egress stage out when
            // no interface has an outbound ACL, so verdicts name the deciding ingress rule.
            let mut stage_ids: Vec<usize> = Vec::new();
            if !ingress.is_empty() || egress.is_empty() {
                stage_ids.push(0);
            }
            if !egress.is_empty() {
                stage_ids.push(1);
            }
            let chains = &mut self.cfg.filter.chains;
            chains.push(Chain {
                name: "ingress".into(),
                span: first,
                rules: ingress,
                default: allow_default(),
            });
            chains.push(Chain {
                name: "egress".into(),
                span: first,
                rules: egress,
                default: allow_default(),
            });
            let mut stages = stage_ids;
            if !members.is_empty() {
                let names: Vec<&str> = members.iter().map(|(n, _)| *n).collect();
                let mut r = Rule::new(
                    "zone-based firewall",
                    members[0].1,
                    Action::Unknown(
                        "traffic to or from a zone-member interface is decided by the zone-based firewall, which portaudit does not model".into(),
                    ),
                );
                r.matches = vec![
                    Space {
                        src_zone: NameSet::only(names.iter().copied()),
                        ..Space::all()
                    },
                    Space {
                        dst_zone: NameSet::only(names.iter().copied()),
                        ..Space::all()
                    },
                ];
                chains.push(Chain {
                    name: "zone-based firewall".into(),
                    span: members[0].1,
                    rules: vec![r],
                    default: allow_default(),
                });
                stages.push(2);
            }
            self.cfg.filter.entries.push(Entry {
                hook: Hook::Forward,
                stages,
            });
        }
        self.ifaces = ifaces;
        for (ai, r) in rules.into_iter().enumerate() {
            if bound.contains(&ai) {
                continue;
            }
            let a = &self.acls[ai];
            self.cfg.filter.chains.push(Chain {
                name: format!("{} (not applied to an interface)", a.label),
                span: a.span,
                rules: r,
                default: ChainDefault {
                    action: Action::Deny,
                    span: a.span,
                    implicit: true,
                },
            });
        }
    }

    fn features(&mut self) {
        let first = self.first_line_span();
        // SIP NAT ALG.
        let udp_off = self
            .no_sip
            .iter()
            .find(|(_, p)| p == "udp")
            .map(|(s, _)| *s);
        let tcp_off = self
            .no_sip
            .iter()
            .find(|(_, p)| p == "tcp")
            .map(|(s, _)| *s);
        let nat_related: Vec<(Span, String)> = self
            .nat
            .iter()
            .map(|(s, w)| (*s, format!("NAT: {w}")))
            .collect();
        self.cfg.features.sip_alg = Some(match (self.nat.first(), udp_off, tcp_off) {
            (None, _, _) => FeatureState {
                enabled: false,
                span: udp_off.unwrap_or(first),
                default: udp_off.is_none(),
                reason: "no NAT is configured, so the NAT SIP ALG does not act".into(),
                related: Vec::new(),
            },
            (Some(_), Some(u), Some(t)) => FeatureState {
                enabled: false,
                span: u,
                default: false,
                reason: "`no ip nat service sip udp port 5060` and `no ip nat service sip tcp port 5060` turn the NAT SIP ALG off".into(),
                related: vec![(t, "SIP over TCP: ALG off".into())],
            },
            (Some(_), Some(u), None) => FeatureState {
                enabled: true,
                span: u,
                default: false,
                reason: "the NAT SIP ALG is off for UDP only: SIP over TCP port 5060 is still translated (no `no ip nat service sip tcp port 5060`)".into(),
                related: nat_related,
            },
            (Some(_), None, Some(t)) => FeatureState {
                enabled: true,
                span: t,
                default: false,
                reason: "the NAT SIP ALG is off for TCP only: SIP over UDP port 5060 is still translated (no `no ip nat service sip udp port 5060`)".into(),
                related: nat_related,
            },
            (Some((span, what)), None, None) => FeatureState {
                enabled: true,
                span: *span,
                default: true,
                reason: format!(
                    "NAT is configured ({what}) and the IOS NAT SIP ALG is on by default; `no ip nat service sip udp port 5060` is absent"
                ),
                related: nat_related.into_iter().skip(1).collect(),
            },
        });
        // IPS.
        self.cfg.features.ips = Some(match self.ips.first() {
            Some((span, what)) => FeatureState {
                enabled: true,
                span: *span,
                default: false,
                reason: format!("`{what}` applies IOS IPS to the interface's traffic"),
                related: self
                    .ips
                    .iter()
                    .skip(1)
                    .map(|(s, w)| (*s, w.clone()))
                    .chain(
                        self.ips_names
                            .iter()
                            .map(|s| (*s, "IPS rule definition".into())),
                    )
                    .collect(),
            },
            None => FeatureState {
                enabled: false,
                span: self.ips_names.first().copied().unwrap_or(first),
                default: true,
                reason: if self.ips_names.is_empty() {
                    "no `ip ips NAME in|out` on any interface".into()
                } else {
                    "`ip ips name` defines an IPS rule, but no interface applies it (`ip ips NAME in|out`)".into()
                },
                related: Vec::new(),
            },
        });
        let _ = &self.zbf;
    }
}

/// Items of an IOS service object-group line after the protocol (`tcp eq 80`,
/// `udp range 10000 20000`, `tcp source eq 5060`, `icmp echo`).
fn service_line(protos: ProtoSet, w: &[&str]) -> Vec<Item> {
    let mut svc = Svc::protos(protos);
    let mut out = Vec::new();
    let mut i = 0;
    while i < w.len() {
        let src = w[i].eq_ignore_ascii_case("source");
        let at = if src || w[i].eq_ignore_ascii_case("destination") {
            i + 1
        } else {
            i
        };
        match cc::port_op(w, at, true) {
            Some(Ok((p, next))) => {
                if src {
                    svc.sport = p;
                } else {
                    svc.dport = p;
                }
                i = next;
            }
            Some(Err(e)) => return vec![Item::Unmodeled(format!("{e} not understood"))],
            None => {
                out.push(Item::Note(format!("condition `{}`", w[i])));
                i += 1;
            }
        }
    }
    out.insert(0, Item::Svc(svc));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::flow::{classify, Decider, Fate, Part};
    use crate::sets::parse_net;
    use crate::source::{Encoding, FileId};

    fn src(name: &str, text: &str) -> SourceFile {
        SourceFile::from_text(FileId(0), name.into(), None, text.into(), Encoding::Utf8)
    }

    fn fixture(name: &str) -> SourceFile {
        let path = format!("{}/fixtures/ios/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).expect("fixture");
        src(name, &text)
    }

    fn rule<'a>(c: &'a Config, name: &str) -> &'a Rule {
        c.filter
            .chains
            .iter()
            .flat_map(|ch| ch.rules.iter())
            .find(|r| r.name == name)
            .unwrap_or_else(|| panic!("no rule {name}"))
    }

    fn flow(p: u128, src: &str, dst: &str, ports: (u128, u128), from: &str, to: &str) -> Space {
        Space {
            proto: ProtoSet::single(p),
            src: parse_net(src).unwrap(),
            dst: parse_net(dst).unwrap(),
            dport: PortSet::range(ports.0, ports.1),
            src_zone: NameSet::only([from]),
            dst_zone: NameSet::only([to]),
            ..Space::all()
        }
    }

    fn run(c: &Config, s: Space) -> Vec<Part> {
        assert_eq!(c.filter.entries.len(), 1);
        classify(&c.filter, &c.filter.entries[0], &[s], 16)
    }

    fn allowed(parts: &[Part]) -> PortSet {
        parts
            .iter()
            .filter(|p| p.fate == Fate::Allow)
            .fold(PortSet::empty(), |a, p| a.union(&p.space.dport))
    }

    fn decider_name(c: &Config, d: Decider) -> String {
        match d {
            Decider::Rule { chain, rule } | Decider::Unknown { chain, rule } => {
                c.filter.chains[chain].rules[rule].name.clone()
            }
            Decider::Default { chain } => format!("default of {}", c.filter.chains[chain].name),
        }
    }

    const WAN: &str = "GigabitEthernet0/0/0";
    const VOICE: &str = "GigabitEthernet0/0/1";
    const USERS: &str = "GigabitEthernet0/0/2";

    #[test]
    fn entries_seq_spans_ports() {
        let f = fixture("branch.cfg");
        let c = parse(&f, &Limits::default());
        assert_eq!(c.format, Format::Ios);
        assert_eq!(c.name.as_deref(), Some("voice-branch"));
        let r = rule(&c, "ip access-list WAN-IN seq 20");
        assert_eq!(r.action, Action::Deny);
        assert_eq!(
            f.slice(r.span),
            " 20 deny udp any 10.50.1.0 0.0.0.255 range 10000 12000 log"
        );
        assert_eq!(r.matches[0].dst, parse_net("10.50.1.0/24").unwrap());
        assert_eq!(r.matches[0].src, sets::all_v4());
        assert_eq!(r.matches[0].src_zone, NameSet::only([WAN]));
        // Unnumbered entries continue by 10; `eq` takes several ports.
        let r = rule(&c, "ip access-list WAN-IN seq 40");
        assert_eq!(r.matches[0].dport.render(), "80,443");
        assert_eq!(
            f.slice(r.span),
            " permit tcp any host 10.50.0.20 eq www 443"
        );
        // established.
        let r = rule(&c, "ip access-list WAN-IN seq 50");
        assert!(r.established_only);
        assert_eq!(r.matches[0].dst, parse_net("10.0.0.0/8").unwrap());
        // Non-contiguous wildcard: not modelled, said so.
        let r = rule(&c, "ip access-list WAN-IN seq 70");
        assert!(r.unmodeled[0].contains("non-contiguous"));
        assert_eq!(r.matches[0].dport, PortSet::single(161));
        let r = rule(&c, "ip access-list WAN-IN seq 80");
        assert_eq!(r.unmodeled, vec!["time-range office".to_string()]);
        // Implicit deny spans the access-group line, IPv4 only.
        let d = rule(
            &c,
            "ip access-list WAN-IN implicit deny (in on GigabitEthernet0/0/0)",
        );
        assert_eq!(f.slice(d.span), " ip access-group WAN-IN in");
        assert_eq!(d.matches[0].src, sets::all_v4());
        // Numbered extended (out) and standard (in) ACLs.
        let r = rule(&c, "access-list 101 seq 20");
        assert_eq!(r.matches[0].dport, PortSet::range(10000, 20000));
        assert_eq!(r.matches[0].dst_zone, NameSet::only([VOICE]));
        let r = rule(&c, "access-list 10 seq 10");
        assert_eq!(r.matches[0].src, parse_net("10.60.0.0/24").unwrap());
        assert_eq!(r.matches[0].dst, sets::all_v4());
        assert_eq!(r.matches[0].src_zone, NameSet::only([USERS]));
        // IPv6 ACL.
        let r = rule(&c, "ipv6 access-list WAN6-IN seq 10");
        assert_eq!(r.matches[0].dst, parse_net("2001:db8::10").unwrap());
        // Voice config is not an ACL.
        assert!(c.filter.chains.iter().flat_map(|ch| &ch.rules).all(|r| !f
            .slice(r.span)
            .contains("rtp-port")
            && r.matches
                .iter()
                .all(|m| m.dport != PortSet::range(16384, 32768))));
    }

    #[test]
    fn entries_follow_sequence_numbers() {
        let f = src(
            "s.cfg",
            "ip access-list extended S\n 20 permit udp any any eq 5060\n 10 deny udp any any\n permit tcp any any\n statistics per-entry\n 40 remark x\n permit icmp any any\n",
        );
        let c = parse(&f, &Limits::default());
        let ch = &c.filter.chains[0];
        let names: Vec<&str> = ch.rules.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "ip access-list S seq 10",
                "ip access-list S seq 20",
                "ip access-list S seq 30",
                "ip access-list S seq 50"
            ]
        );
        assert_eq!(ch.rules[0].action, Action::Deny);
        assert!(c.unparsed.iter().any(|u| u.reason.contains("statistics")));
    }

    #[test]
    fn object_groups_nested_and_cycle() {
        let c = parse(&fixture("branch.cfg"), &Limits::default());
        let r = rule(&c, "ip access-list WAN-IN seq 10");
        let got: Vec<(u128, String)> = r
            .matches
            .iter()
            .map(|s| (s.proto.ranges()[0].0, s.dport.render()))
            .collect();
        assert_eq!(
            got,
            vec![
                (proto::UDP, "5060".into()),
                (proto::TCP, "5060".into()),
                (proto::TCP, "5061".into())
            ]
        );
        let pbx = parse_net("10.50.0.10")
            .unwrap()
            .union(&parse_net("10.50.1.0/24").unwrap());
        assert!(r.matches.iter().all(|s| s.dst == pbx));
        let r = rule(&c, "ip access-list WAN-IN seq 60");
        assert!(r.unmodeled.iter().any(|u| u.contains("cycle")));
        assert_eq!(r.matches[0].src, sets::all_v4());

        let f = src(
            "n.cfg",
            "object-group network A\n host 10.0.0.1\nobject-group network B\n group-object A\n 10.1.0.0 255.255.0.0\nip access-list extended X\n permit udp object-group B any\n",
        );
        let c = parse(&f, &Limits::default());
        let r = rule(&c, "ip access-list X seq 10");
        assert_eq!(
            r.matches[0].src,
            parse_net("10.0.0.1")
                .unwrap()
                .union(&parse_net("10.1.0.0/16").unwrap())
        );
        assert!(r.unmodeled.is_empty());
        // Not applied anywhere: no entry.
        assert!(c.filter.entries.is_empty());
    }

    #[test]
    fn media_range_partly_blocked_by_earlier_deny() {
        let c = parse(&fixture("branch.cfg"), &Limits::default());
        let parts = run(
            &c,
            flow(
                proto::UDP,
                "198.51.100.20",
                "10.50.1.50",
                (10000, 20000),
                WAN,
                VOICE,
            ),
        );
        assert_eq!(allowed(&parts), PortSet::range(12001, 20000));
        let denied: Vec<&Part> = parts.iter().filter(|p| p.fate == Fate::Deny).collect();
        assert_eq!(denied.len(), 1);
        assert_eq!(denied[0].space.dport, PortSet::range(10000, 12000));
        assert_eq!(
            decider_name(&c, denied[0].decider),
            "ip access-list WAN-IN seq 20"
        );
    }

    #[test]
    fn object_group_flow_passes() {
        let c = parse(&fixture("branch.cfg"), &Limits::default());
        let parts = run(
            &c,
            flow(
                proto::UDP,
                "198.51.100.40",
                "10.50.0.10",
                (5060, 5060),
                WAN,
                VOICE,
            ),
        );
        assert!(parts.iter().all(|p| p.fate == Fate::Allow), "{parts:?}");
        assert!(parts.iter().all(|p| p.uncertain_via.is_empty()));
        assert_eq!(decider_name(&c, parts[0].decider), "access-list 101 seq 10");
        // A source outside CARRIERS falls to the final deny.
        let parts = run(
            &c,
            flow(
                proto::UDP,
                "192.0.2.1",
                "10.50.0.10",
                (5060, 5060),
                WAN,
                VOICE,
            ),
        );
        assert!(parts.iter().all(|p| p.fate == Fate::Deny));
        assert_eq!(
            decider_name(&c, parts[0].decider),
            "ip access-list WAN-IN seq 90"
        );
    }

    #[test]
    fn interfaces_without_acl_and_families() {
        let c = parse(&fixture("branch.cfg"), &Limits::default());
        // VOICE has no inbound ACL and WAN no outbound one: allowed.
        let parts = run(
            &c,
            flow(proto::TCP, "10.50.0.5", "192.0.2.1", (443, 443), VOICE, WAN),
        );
        assert!(parts.iter().all(|p| p.fate == Fate::Allow));
        // IPv6 is filtered by the traffic-filter, not by the IPv4 ACL.
        let parts = run(
            &c,
            flow(
                proto::UDP,
                "2001:db8:1::1",
                "2001:db8::10",
                (5060, 5060),
                WAN,
                USERS,
            ),
        );
        assert!(parts.iter().all(|p| p.fate == Fate::Allow));
        let parts = run(
            &c,
            flow(
                proto::UDP,
                "2001:db8:1::1",
                "2001:db8::11",
                (5060, 5060),
                WAN,
                USERS,
            ),
        );
        assert!(parts.iter().all(|p| p.fate == Fate::Deny));
        assert_eq!(
            decider_name(&c, parts[0].decider),
            "ipv6 access-list WAN6-IN seq 20"
        );
    }

    #[test]
    fn sip_nat_alg() {
        let f = fixture("nat-sip-on.cfg");
        let c = parse(&f, &Limits::default());
        let s = c.features.sip_alg.as_ref().unwrap();
        assert!(s.enabled && s.default);
        assert_eq!(f.slice(s.span), " ip nat outside");
        assert!(s.reason.contains("on by default"));
        assert_eq!(s.related.len(), 2);

        let f = fixture("nat-sip-off.cfg");
        let c = parse(&f, &Limits::default());
        let s = c.features.sip_alg.as_ref().unwrap();
        assert!(!s.enabled && !s.default);
        assert_eq!(f.slice(s.span), "no ip nat service sip udp port 5060");
        assert_eq!(
            f.slice(s.related[0].0),
            "no ip nat service sip tcp port 5060"
        );

        // No NAT at all.
        let c = parse(&fixture("branch.cfg"), &Limits::default());
        let s = c.features.sip_alg.as_ref().unwrap();
        assert!(!s.enabled && s.default);
        assert!(s.reason.contains("no NAT"));

        // Another port than 5060 does not turn the ALG off.
        let f = src(
            "p.cfg",
            "version 15.1\ninterface g0\n ip nat outside\nno ip nat service sip udp port 5062\nno ip nat service sip tcp port 5062\n",
        );
        let c = parse(&f, &Limits::default());
        assert!(c.features.sip_alg.as_ref().unwrap().enabled);

        // UDP only: SIP over TCP is still translated.
        let f = src(
            "u.cfg",
            "version 15.1\nip nat inside source static 10.0.0.5 203.0.113.5\nno ip nat service sip udp port 5060\n",
        );
        let c = parse(&f, &Limits::default());
        let s = c.features.sip_alg.as_ref().unwrap();
        assert!(s.enabled && !s.default);
        assert!(s.reason.contains("UDP only"));
    }

    #[test]
    fn ips_on_off() {
        let f = fixture("branch.cfg");
        let c = parse(&f, &Limits::default());
        let s = c.features.ips.as_ref().unwrap();
        assert!(s.enabled);
        assert_eq!(f.slice(s.span), " ip ips CC-IPS in");

        // Defined but applied nowhere: not IPS.
        let f = fixture("nat-sip-on.cfg");
        let c = parse(&f, &Limits::default());
        let s = c.features.ips.as_ref().unwrap();
        assert!(!s.enabled);
        assert_eq!(f.slice(s.span), "ip ips name CC-IPS");
        assert!(s.reason.contains("no interface applies it"));
    }

    #[test]
    fn zone_based_firewall_is_uncertain() {
        let f = src(
            "z.cfg",
            "version 15.4\ninterface Gi0/0\n zone-member security outside\n ip access-group A in\ninterface Gi0/1\n zone-member security inside\nzone-pair security zp source inside destination outside\n service-policy type inspect p1\nip access-list extended A\n permit udp any any eq 5060\n",
        );
        let c = parse(&f, &Limits::default());
        assert!(c.unparsed.iter().any(|u| u.reason.contains("zone-based")));
        let parts = run(
            &c,
            flow(
                proto::UDP,
                "192.0.2.1",
                "10.0.0.1",
                (5060, 5060),
                "Gi0/0",
                "Gi0/1",
            ),
        );
        assert!(parts.iter().all(|p| p.fate == Fate::Unknown));
    }

    #[test]
    fn aerleon_object_group_output() {
        let f = fixture("corpus/aerleon_CiscoTest.testObjectGroup.acl");
        let c = parse(&f, &Limits::default());
        let r = rule(&c, "ip access-list objgroupheader seq 10");
        assert!(r.established_only);
        assert_eq!(r.matches[0].sport, PortSet::single(80));
        assert_eq!(r.matches[0].dport, PortSet::range(1024, 65535));
        assert_eq!(r.matches[0].dst, parse_net("10.0.0.0/8").unwrap());
        let r = rule(&c, "ip access-list objgroupheader seq 20");
        assert_eq!(r.matches[0].src, parse_net("10.0.0.0/8").unwrap());
        assert!(c.unparsed.is_empty(), "{:?}", c.unparsed);
        // NAT translations are listed as not modelled.
        let f = fixture("nat-sip-on.cfg");
        let c = parse(&f, &Limits::default());
        assert!(c
            .unparsed
            .iter()
            .any(|u| u.reason.starts_with("NAT translations")
                && f.slice(u.span).starts_with("ip nat inside source")));
    }

    #[test]
    fn corpus_files_detect_and_parse() {
        let dir = format!("{}/fixtures/ios/corpus", env!("CARGO_MANIFEST_DIR"));
        let mut n = 0;
        for e in std::fs::read_dir(dir).unwrap() {
            let path = e.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            let f = src(&name, &text);
            assert_eq!(crate::formats::detect(&f), Format::Ios, "{name}");
            let c = parse(&f, &Limits::default());
            assert_eq!(c.format, Format::Ios);
            n += 1;
        }
        assert_eq!(n, 8);
        // And the ASA corpus is not IOS.
        let dir = format!("{}/fixtures/asa/corpus", env!("CARGO_MANIFEST_DIR"));
        for e in std::fs::read_dir(dir).unwrap() {
            let path = e.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            assert_eq!(sniff("x", &text), 0, "{path:?}");
        }
    }

    #[test]
    fn truncated_export_is_an_input_error() {
        let f = src(
            "t.cfg",
            "Building configuration...\n\nversion 15.2\nip access-list extended A\n permit ip any any\nend\n",
        );
        assert!(parse(&f, &Limits::default()).errors.is_empty());
        let f = src(
            "t.cfg",
            "Building configuration...\n\nversion 15.2\nip access-list extended A\n permit ip any any\n",
        );
        let c = parse(&f, &Limits::default());
        assert_eq!(c.errors.len(), 1);
        assert_eq!(f.slice(c.errors[0].span), " permit ip any any");
    }

    #[test]
    fn sniff_cases() {
        assert!(
            sniff(
                "x",
                "Building configuration...\n\nCurrent configuration : 1234 bytes\n"
            ) >= 80
        );
        assert!(sniff("x", "!\nhostname r\n!\nend\n") > 0);
        for t in [
            "ASA Version 9.8\nhostname a\n!\n",
            "hostname a\n!\ninterface g0\n nameif inside\n",
            "hostname a\n!\ninterface g0\n  nameif inside\n",
            "set system host-name fw1\n",
            "config system global\n    set hostname \"FGT\"\nend\n",
            "*filter\n:INPUT DROP [0:0]\nCOMMIT\n",
            "/ip firewall filter\nadd chain=input action=accept\n",
            "## Last changed: 2026-01-10\nversion 21.4R3;\nsystem {\n    host-name srx;\n}\n",
            "version 21.4R3;\n",
        ] {
            assert_eq!(sniff("x", t), 0, "{t}");
        }
    }

    #[test]
    fn hostile_input_does_not_panic() {
        let text = "ip access-list extended\n permit\n permit tcp host\n permit tcp any any range 5\n 10 deny udp any 1.2.3.4\naccess-list 101\naccess-list 101 permit\nobject-group\nobject-group network\n host\ninterface\n ip access-group\nno ip nat service sip\nipv6 access-list v\n permit icmp any any nd-na\n";
        let c = parse(&src("h.cfg", text), &Limits::default());
        assert!(!c.unparsed.is_empty());
        let deep: String = (0..100)
            .map(|i| format!("object-group network g{i}\n group-object g{}\n", i + 1))
            .collect::<String>()
            + "ip access-list extended d\n permit ip object-group g0 any\n";
        let c = parse(&src("d.cfg", &deep), &Limits::default());
        let r = rule(&c, "ip access-list d seq 10");
        assert!(r.unmodeled.iter().any(|u| u.contains("deeper")));
    }
}
