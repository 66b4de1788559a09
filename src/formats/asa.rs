//! Cisco ASA running-config (`show running-config`).
//!
//! Model:
//! - Every `access-list NAME extended ...` line is a rule (`access-list NAME line N`, remarks
//!   counted as ASA numbers lines); `inactive` lines are kept disabled.
//! - One `ingress` chain: the rules of every ACL bound `in` on an interface, each constrained to
//!   that interface (`src_zone`) and closed by that ACL's implicit deny; then the `global` ACL
//!   (whose implicit deny then replaces the per-interface ones); then, for named interfaces
//!   without an inbound ACL, the security-level default (higher to lower level allowed).
//! - One `egress` chain: the ACLs bound `out`, constrained by `dst_zone`, each with its implicit
//!   deny; traffic leaving an interface without an outbound ACL is allowed.
//! - One `Forward` entry `[ingress, egress]` (egress only when some ACL is bound `out`). ACLs
//!   bound nowhere are kept as chains of their own, reachable from no entry. Traffic to the
//!   device itself (`ssh`/`http`/`telnet` management, `icmp`) and NAT are not modelled; they are
//!   listed once per kind among the lines not understood.
//! - SIP inspection from `inspect sip` under an applied policy-map (factory default: on), IPS
//!   from `sfr` / `ips` actions under an applied policy-map class.

use std::collections::{BTreeSet, HashMap};

use super::cisco_common::{self as cc, Group, GroupKind, Item, Objects, Svc};
use super::util::{lines, tokenize};
use super::Limits;
use crate::model::{
    Action, Chain, ChainDefault, Config, Entry, FeatureState, Format, Hook, InputIssue, Rule,
    Unparsed,
};
use crate::sets::{self, AddrSet, NameSet, PortSet, ProtoSet, Space};
use crate::source::{SourceFile, Span};

/// Confidence that `text` is an ASA running-config.
pub fn sniff(_name: &str, text: &str) -> u8 {
    let mut score = 0u8;
    let mut ios = false;
    for line in super::util::text_lines(text).take(5000) {
        let l = line.trim_end();
        if l.starts_with("ASA Version ")
            || l.starts_with("PIX Version ")
            || l.starts_with("FWSM Version ")
        {
            return 95;
        }
        let t = l.trim_start();
        let strong = (l.starts_with("access-group ")
            && (l.contains(" interface ") || l.ends_with(" global")))
            || (l.starts_with(' ')
                && (t.starts_with("nameif ") || t.starts_with("security-level ")));
        let medium = l.starts_with("object network ")
            || l.starts_with("object service ")
            || l.starts_with("policy-map global_policy");
        if strong {
            score = score.max(85);
        } else if medium {
            score = score.max(60);
        } else if l.starts_with("access-list ") {
            let w: Vec<&str> = l.split_whitespace().collect();
            let numbered = w.get(1).is_some_and(|n| n.parse::<u32>().is_ok());
            if !numbered && w.get(2).is_some_and(|k| *k == "extended" || *k == "remark") {
                score = score.max(40);
            }
        } else if l.starts_with("ip access-list ")
            || l.starts_with("ipv6 access-list ")
            || l.starts_with("version ")
            || l.starts_with("ip nat ")
            || l.starts_with(" ip access-group ")
        {
            ios = true;
        }
    }
    if ios {
        score.min(30)
    } else {
        score
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Dir {
    In,
    Out,
    Global,
}

#[derive(Debug)]
struct Iface {
    nameif: Option<String>,
    nameif_span: Span,
    level: Option<(i64, Span)>,
    addr: Option<AddrSet>,
}

struct AclLine {
    acl: String,
    line_no: usize,
    span: Span,
    /// Tokens after `extended` / `standard`.
    toks: Vec<String>,
    standard: bool,
}

struct Binding {
    acl: String,
    dir: Dir,
    iface: Option<String>,
    span: Span,
}

struct PolicyLine {
    policy: String,
    class: Option<String>,
    span: Span,
    toks: Vec<String>,
}

enum Block {
    None,
    Iface(usize),
    Object(String),
    Group(String),
    Policy(String),
    Other,
}

struct Parser<'a> {
    file: &'a SourceFile,
    limits: &'a Limits,
    cfg: Config,
    objects: Objects,
    names: HashMap<String, AddrSet>,
    ifaces: Vec<Iface>,
    acl_lines: Vec<AclLine>,
    acl_counts: HashMap<String, usize>,
    bindings: Vec<Binding>,
    policy_maps: Vec<(String, Span)>,
    policy_lines: Vec<PolicyLine>,
    service_policies: Vec<(String, Span)>,
    same_security: bool,
    /// Categories of commands that matter for security but are not modelled: first span, count.
    notes: std::collections::BTreeMap<&'static str, (Span, usize)>,
}

fn kw(t: Option<&&str>, k: &str) -> bool {
    t.is_some_and(|t| t.eq_ignore_ascii_case(k))
}

/// Parse an ASA configuration.
pub fn parse(file: &SourceFile, limits: &Limits) -> Config {
    let file_span = Span::file_start(file.id);
    let mut p = Parser {
        file,
        limits,
        cfg: Config::new(Format::Asa, file_span),
        objects: Objects::default(),
        names: HashMap::new(),
        ifaces: Vec::new(),
        acl_lines: Vec::new(),
        acl_counts: HashMap::new(),
        bindings: Vec::new(),
        policy_maps: Vec::new(),
        policy_lines: Vec::new(),
        service_policies: Vec::new(),
        same_security: false,
        notes: std::collections::BTreeMap::new(),
    };
    p.truncation();
    p.collect();
    p.build_filter();
    p.features();
    let issues = p.objects.depth_issues(file_span);
    p.cfg.errors.extend(issues);
    p.cfg
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
        if first.text.starts_with(": Saved") && last.text.trim_end() != ": end" {
            self.cfg.errors.push(InputIssue {
                span: last.span(file.id),
                message: "the export looks truncated: a saved ASA running-config (`: Saved` header) ends with `: end`, and this is the last line".into(),
            });
        }
    }

    fn first_line_span(&self) -> Span {
        lines(&self.file.text)
            .next()
            .map(|l| l.span(self.file.id))
            .unwrap_or(self.cfg.file_span)
    }

    fn collect(&mut self) {
        let file = self.file;
        let mut block = Block::None;
        let mut class: Option<String> = None;
        for line in lines(&file.text) {
            let span = line.span(file.id);
            if line.text.len() > self.limits.max_line_len {
                self.unparsed(span, "line longer than the line-length limit, not parsed");
                continue;
            }
            let trimmed = line.text.trim_start();
            let indented = trimmed.len() != line.text.len();
            if trimmed.is_empty() || trimmed.starts_with(':') {
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
            if indented {
                self.sub_line(&block, &mut class, &t, span);
                continue;
            }
            class = None;
            let k0 = t[0].to_ascii_lowercase();
            block = match k0.as_str() {
                "hostname" => {
                    self.cfg.name = t.get(1).map(|s| s.to_string());
                    Block::None
                }
                "interface" => {
                    self.ifaces.push(Iface {
                        nameif: None,
                        nameif_span: span,
                        level: None,
                        addr: None,
                    });
                    Block::Iface(self.ifaces.len() - 1)
                }
                "name" if t.len() >= 3 => {
                    if let Some(a) = sets::parse_net(t[1]) {
                        self.names.insert(t[2].to_string(), a);
                    }
                    Block::None
                }
                "object" if t.len() >= 3 => {
                    let kind = match t[1].to_ascii_lowercase().as_str() {
                        "network" => GroupKind::Network,
                        "service" => GroupKind::Service,
                        _ => GroupKind::Other,
                    };
                    self.objects.objects.insert(
                        t[2].to_string(),
                        Group {
                            kind,
                            proto: None,
                            items: Vec::new(),
                            span,
                        },
                    );
                    Block::Object(t[2].to_string())
                }
                "object-group" => self.group_header(&t, span),
                "access-list" => {
                    self.access_list(&t, span);
                    Block::None
                }
                "access-group" => {
                    self.access_group(&t, span);
                    Block::None
                }
                "policy-map" => {
                    if kw(t.get(1), "type") || t.len() < 2 {
                        Block::Other
                    } else {
                        self.policy_maps.push((t[1].to_string(), span));
                        Block::Policy(t[1].to_string())
                    }
                }
                "service-policy" if t.len() >= 3 => {
                    self.service_policies.push((t[1].to_string(), span));
                    Block::None
                }
                "same-security-traffic" => {
                    if kw(t.get(1), "permit") && kw(t.get(2), "inter-interface") {
                        self.same_security = true;
                    }
                    Block::None
                }
                "ssh" | "telnet" | "http"
                    if t.get(1).is_some_and(|a| cc::is_v4(a) || a.contains(':')) =>
                {
                    self.note(
                        "management access to the device (ssh/telnet/http) is not modelled",
                        span,
                    );
                    Block::None
                }
                "icmp" | "icmp6" if kw(t.get(1), "permit") || kw(t.get(1), "deny") => {
                    self.note("ICMP to the device is not modelled", span);
                    Block::None
                }
                "nat" | "static" | "global" => {
                    self.note(
                        "NAT is not modelled (ASA 8.3+ access-lists match real, untranslated addresses)",
                        span,
                    );
                    Block::Other
                }
                "crypto" | "sysopt" => {
                    self.note(
                        "VPN (crypto maps, sysopt connection permit-vpn bypassing access-lists) is not modelled",
                        span,
                    );
                    Block::Other
                }
                "context" => {
                    self.note(
                        "multiple-context mode: security contexts are not modelled separately",
                        span,
                    );
                    Block::Other
                }
                _ => Block::Other,
            };
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

    fn note(&mut self, what: &'static str, span: Span) {
        self.notes.entry(what).or_insert((span, 0)).1 += 1;
    }

    fn group_header(&mut self, t: &[&str], span: Span) -> Block {
        // `object-group [group] KIND NAME [tcp|udp|tcp-udp]`
        let mut i = 1;
        if kw(t.get(i), "group") {
            i += 1;
        }
        let (Some(kind), Some(name)) = (t.get(i), t.get(i + 1)) else {
            self.unparsed(span, "object-group without a kind and name");
            return Block::Other;
        };
        let kind = match kind.to_ascii_lowercase().as_str() {
            "network" => GroupKind::Network,
            "service" => GroupKind::Service,
            "protocol" => GroupKind::Protocol,
            "icmp-type" => GroupKind::Icmp,
            _ => GroupKind::Other,
        };
        let proto = t.get(i + 2).and_then(|p| cc::proto_set(p));
        self.objects.groups.insert(
            name.to_string(),
            Group {
                kind,
                proto,
                items: Vec::new(),
                span,
            },
        );
        Block::Group(name.to_string())
    }

    fn sub_line(&mut self, block: &Block, class: &mut Option<String>, t: &[&str], span: Span) {
        let k0 = t[0].to_ascii_lowercase();
        if k0 == "description" {
            return;
        }
        match block {
            Block::Iface(i) => {
                let i = *i;
                match k0.as_str() {
                    "nameif" => {
                        if let Some(iface) = self.ifaces.get_mut(i) {
                            iface.nameif = t.get(1).map(|s| s.to_string());
                            iface.nameif_span = span;
                        }
                    }
                    "security-level" => {
                        let lvl = t.get(1).and_then(|v| v.parse::<i64>().ok());
                        if let (Some(l), Some(iface)) = (lvl, self.ifaces.get_mut(i)) {
                            iface.level = Some((l, span));
                        }
                    }
                    "ip" if kw(t.get(1), "address") => {
                        let a = match (t.get(2), t.get(3)) {
                            (Some(a), Some(_)) if cc::is_v4(a) => sets::parse_net(a),
                            _ => None,
                        };
                        if let Some(iface) = self.ifaces.get_mut(i) {
                            iface.addr = a;
                        }
                    }
                    _ => {}
                }
            }
            Block::Object(name) => {
                let Some(kind) = self.objects.objects.get(name).map(|g| g.kind) else {
                    return;
                };
                let item = match (kind, k0.as_str()) {
                    (GroupKind::Network, "host") => {
                        t.get(1).and_then(|a| sets::parse_net(a)).map(Item::Addr)
                    }
                    (GroupKind::Network, "subnet") => match (t.get(1), t.get(2)) {
                        (Some(a), Some(m)) => sets::net_from_mask(a, m).map(Item::Addr),
                        (Some(a), None) => sets::parse_net(a).map(Item::Addr),
                        _ => None,
                    },
                    (GroupKind::Network, "range") => match (t.get(1), t.get(2)) {
                        (Some(a), Some(b)) => match (a.parse(), b.parse()) {
                            (Ok(a), Ok(b)) => Some(Item::Addr(sets::addr_range(a, b))),
                            _ => None,
                        },
                        _ => None,
                    },
                    // `fqdn [v4|v6] NAME`: matched by name (the pseudo address of
                    // `sets::host_addr`, the name in `Config::fqdns`).
                    (GroupKind::Network, "fqdn") => {
                        let host = t.last().copied().unwrap_or("");
                        if t.len() > 1 && sets::looks_like_fqdn(host) {
                            Some(Item::Addr(self.cfg.add_fqdn(host)))
                        } else {
                            Some(Item::Unmodeled(format!("fqdn {host}")))
                        }
                    }
                    (GroupKind::Network, "nat") => return,
                    (GroupKind::Service, "service") => {
                        let items = service_items(&t[1..]);
                        if items.is_empty() {
                            None
                        } else {
                            if let Some(g) = self.objects.objects.get_mut(name) {
                                g.items.extend(items);
                            }
                            return;
                        }
                    }
                    _ => None,
                };
                match item {
                    Some(it) => {
                        if let Some(g) = self.objects.objects.get_mut(name) {
                            g.items.push(it);
                        }
                    }
                    None => {
                        let reason = format!("object {name}: `{k0}` line not understood");
                        if let Some(g) = self.objects.objects.get_mut(name) {
                            g.items
                                .push(Item::Unmodeled(format!("`{k0}` line not understood")));
                        }
                        self.unparsed(span, reason);
                    }
                }
            }
            Block::Group(name) => {
                let Some((kind, gproto)) = self
                    .objects
                    .groups
                    .get(name)
                    .map(|g| (g.kind, g.proto.clone()))
                else {
                    return;
                };
                let items: Vec<Item> = match k0.as_str() {
                    "group-object" => t
                        .get(1)
                        .map(|n| vec![Item::Group(n.to_string())])
                        .unwrap_or_default(),
                    "network-object" => match (t.get(1).copied(), t.get(2)) {
                        (Some("host"), Some(a)) => {
                            self.host(a).map(Item::Addr).into_iter().collect()
                        }
                        (Some("object"), Some(n)) => vec![Item::Object(n.to_string())],
                        (Some(a), Some(m)) => self
                            .name_or_addr(a)
                            .and_then(|_| sets::net_from_mask(&self.name_text(a), m))
                            .map(Item::Addr)
                            .into_iter()
                            .collect(),
                        (Some(a), None) => sets::parse_net(a).map(Item::Addr).into_iter().collect(),
                        _ => vec![],
                    },
                    "port-object" => {
                        let w: Vec<&str> = t.to_vec();
                        match cc::port_op(&w, 1, false) {
                            Some(Ok((ports, _))) => vec![Item::Ports(ports)],
                            _ => vec![],
                        }
                    }
                    "service-object" => {
                        if kw(t.get(1), "object") {
                            t.get(2)
                                .map(|n| vec![Item::Object(n.to_string())])
                                .unwrap_or_default()
                        } else {
                            service_items(&t[1..])
                        }
                    }
                    "protocol-object" => t
                        .get(1)
                        .and_then(|p| cc::proto_set(p))
                        .map(Item::Proto)
                        .into_iter()
                        .collect(),
                    "icmp-object" => vec![Item::Note(format!(
                        "icmp type {}",
                        t.get(1).copied().unwrap_or("")
                    ))],
                    _ => vec![],
                };
                let _ = (kind, gproto);
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
            Block::Policy(policy) => {
                if k0 == "class" {
                    *class = t.get(1).map(|s| s.to_string());
                } else {
                    self.policy_lines.push(PolicyLine {
                        policy: policy.clone(),
                        class: class.clone(),
                        span,
                        toks: t.iter().map(|s| s.to_string()).collect(),
                    });
                }
            }
            Block::None | Block::Other => {}
        }
    }

    fn name_text(&self, a: &str) -> String {
        // `name` aliases resolve to their address for mask parsing.
        match self.names.get(a) {
            Some(set) => set
                .ranges()
                .first()
                .map(|&(lo, _)| std::net::Ipv4Addr::from((lo & 0xffff_ffff) as u32).to_string())
                .unwrap_or_default(),
            None => a.to_string(),
        }
    }

    fn name_or_addr(&self, a: &str) -> Option<()> {
        (cc::is_v4(a) || self.names.contains_key(a)).then_some(())
    }

    fn host(&self, a: &str) -> Option<AddrSet> {
        sets::parse_net(a).or_else(|| self.names.get(a).cloned())
    }

    fn access_list(&mut self, t: &[&str], span: Span) {
        let Some(acl) = t.get(1).cloned() else {
            self.unparsed(span, "access-list without a name");
            return;
        };
        let mut i = 2;
        if kw(t.get(i), "line") {
            i += 2;
        }
        let n = self.acl_counts.entry(acl.to_string()).or_insert(0);
        *n += 1;
        let line_no = *n;
        let kind = t.get(i).map(|k| k.to_ascii_lowercase()).unwrap_or_default();
        let (standard, rest) = match kind.as_str() {
            "remark" => return,
            "extended" => (false, i + 1),
            "standard" => (true, i + 1),
            "permit" | "deny" => (false, i),
            "webtype" | "ethertype" | "rename" => {
                self.unparsed(span, format!("{kind} access-list not modelled"));
                return;
            }
            _ => {
                self.unparsed(span, "access-list line not understood");
                return;
            }
        };
        self.acl_lines.push(AclLine {
            acl: acl.to_string(),
            line_no,
            span,
            toks: t[rest.min(t.len())..]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            standard,
        });
    }

    fn access_group(&mut self, t: &[&str], span: Span) {
        let Some(acl) = t.get(1).cloned() else {
            self.unparsed(span, "access-group without an ACL name");
            return;
        };
        let dir = match t.get(2).map(|d| d.to_ascii_lowercase()).as_deref() {
            Some("in") => Dir::In,
            Some("out") => Dir::Out,
            Some("global") => Dir::Global,
            _ => {
                self.unparsed(span, "access-group direction not understood");
                return;
            }
        };
        if dir != Dir::Global && !kw(t.get(3), "interface") {
            self.unparsed(span, "access-group without `interface`");
            return;
        }
        let iface = if dir == Dir::Global {
            None
        } else {
            t.get(4).cloned()
        };
        if t.iter()
            .skip(5)
            .any(|x| x.eq_ignore_ascii_case("control-plane"))
        {
            self.unparsed(
                span,
                "control-plane access-group (to-the-device traffic) not modelled",
            );
            return;
        }
        // A later access-group for the same interface and direction replaces the earlier one.
        self.bindings
            .retain(|b| !(b.dir == dir && b.iface.as_deref() == iface));
        self.bindings.push(Binding {
            acl: acl.to_string(),
            dir,
            iface: iface.map(str::to_string),
            span,
        });
    }

    /// Parse one address operand at `t[i]`.
    fn addr(
        &self,
        t: &[&str],
        i: usize,
        unm: &mut Vec<String>,
    ) -> Result<(AddrSet, usize), String> {
        let Some(&a) = t.get(i) else {
            return Err("missing address".into());
        };
        let next = t.get(i + 1).copied();
        let depth = self.limits.max_reference_depth;
        Ok(match a.to_ascii_lowercase().as_str() {
            "any" => (AddrSet::full(), i + 1),
            "any4" => (sets::all_v4(), i + 1),
            "any6" => (sets::all_v6(), i + 1),
            "host" => {
                let h = next.and_then(|h| self.host(h));
                (h.ok_or("host address not understood")?, i + 2)
            }
            "object" | "object-group" => {
                let n = next.ok_or("missing object name")?;
                let object = a.eq_ignore_ascii_case("object");
                if let Some(k) = self.objects.kind_of(n, object) {
                    if k != GroupKind::Network {
                        return Err(format!(
                            "{a} {n} is not a network {a} but is used as an address"
                        ));
                    }
                }
                let r = self.objects.addrs(n, object, depth);
                unm.extend(r.unmodeled);
                (r.value, i + 2)
            }
            "interface" => {
                let n = next.ok_or("missing interface name")?;
                let addr = self
                    .ifaces
                    .iter()
                    .find(|f| f.nameif.as_deref() == Some(n))
                    .and_then(|f| f.addr.clone());
                match addr {
                    Some(x) => (x, i + 2),
                    None => {
                        unm.push(format!("address of interface {n} (not in the export)"));
                        (AddrSet::full(), i + 2)
                    }
                }
            }
            _ if a.contains(':') => (
                sets::parse_net(a).ok_or_else(|| format!("address `{a}` not understood"))?,
                i + 1,
            ),
            _ if self.name_or_addr(a).is_some() => {
                let m = next.ok_or("missing netmask")?;
                let set = sets::net_from_mask(&self.name_text(a), m)
                    .ok_or_else(|| format!("address `{a} {m}` not understood"))?;
                (set, i + 2)
            }
            _ => return Err(format!("address `{a}` not understood")),
        })
    }

    /// A port slot at `t[i]`: a port operator or a service/port object-group.
    fn port_slot(
        &self,
        t: &[&str],
        i: usize,
        unm: &mut Vec<String>,
    ) -> Result<Option<(PortSet, usize)>, String> {
        if let Some(r) = cc::port_op(t, i, false) {
            return r.map(Some).map_err(|e| format!("{e} not understood"));
        }
        if t.get(i)
            .is_some_and(|x| x.eq_ignore_ascii_case("object-group"))
        {
            if let Some(n) = t.get(i + 1) {
                if matches!(
                    self.objects.group_kind(n),
                    Some(GroupKind::Service | GroupKind::Port)
                ) {
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

    /// Build the rule of one ACL line (without interface constraint).
    fn acl_rule(&mut self, l: &AclLine) -> Rule {
        let name = format!("access-list {} line {}", l.acl, l.line_no);
        let t: Vec<&str> = l.toks.iter().map(String::as_str).collect();
        let mut unm = Vec::new();
        let res = if l.standard {
            self.standard(&t, &mut unm)
        } else {
            self.extended(&t, &mut unm)
        };
        match res {
            Ok((action, matches, enabled)) => {
                let mut r = Rule::new(name, l.span, action);
                r.matches = matches;
                r.enabled = enabled;
                r.unmodeled = unm;
                r
            }
            Err(e) => {
                let reason = format!("{name}: {e}");
                self.unparsed(l.span, reason.clone());
                Rule::new(name, l.span, Action::Unknown(reason))
            }
        }
    }

    fn action(t: &[&str]) -> Result<Action, String> {
        match t.first().map(|a| a.to_ascii_lowercase()).as_deref() {
            Some("permit") => Ok(Action::Allow),
            Some("deny") => Ok(Action::Deny),
            _ => Err("expected permit or deny".into()),
        }
    }

    fn standard(
        &self,
        t: &[&str],
        unm: &mut Vec<String>,
    ) -> Result<(Action, Vec<Space>, bool), String> {
        let action = Self::action(t)?;
        let (dst, _) = self.addr(t, 1, unm)?;
        unm.push(
            "standard ACL (matches destinations; meant for route maps and VPN filters)".into(),
        );
        Ok((
            action,
            vec![Space {
                dst,
                ..Space::all()
            }],
            true,
        ))
    }

    fn extended(
        &self,
        t: &[&str],
        unm: &mut Vec<String>,
    ) -> Result<(Action, Vec<Space>, bool), String> {
        let action = Self::action(t)?;
        let depth = self.limits.max_reference_depth;
        let mut i = 1;
        let p = *t.get(i).ok_or("missing protocol")?;
        let svcs: Vec<Svc> = match p.to_ascii_lowercase().as_str() {
            "object-group" | "object" => {
                let n = *t.get(i + 1).ok_or("missing object name")?;
                i += 2;
                let object = p.eq_ignore_ascii_case("object");
                if let Some(GroupKind::Network | GroupKind::Icmp | GroupKind::Other) =
                    self.objects.kind_of(n, object)
                {
                    return Err(format!("{p} {n} is not a service or protocol {p}"));
                }
                let r = self.objects.services(n, object, depth);
                unm.extend(r.unmodeled);
                r.value
            }
            _ => {
                i += 1;
                vec![Svc::protos(
                    cc::proto_set(p).ok_or_else(|| format!("protocol `{p}` not understood"))?,
                )]
            }
        };
        // Identity / TrustSec conditions before the source.
        while let Some(k) = t.get(i) {
            let k = k.to_ascii_lowercase();
            if matches!(
                k.as_str(),
                "user"
                    | "user-group"
                    | "object-group-user"
                    | "security-group"
                    | "object-group-security"
            ) {
                unm.push(format!("{k} {}", t.get(i + 1).unwrap_or(&"")));
                i += 2;
            } else {
                break;
            }
        }
        let (src, j) = self.addr(t, i, unm)?;
        i = j;
        let mut sport = PortSet::full();
        if let Some((ps, j)) = self.port_slot(t, i, unm)? {
            sport = ps;
            i = j;
        }
        while let Some(k) = t.get(i) {
            let k = k.to_ascii_lowercase();
            if matches!(k.as_str(), "security-group" | "object-group-security") {
                unm.push(format!("{k} {}", t.get(i + 1).unwrap_or(&"")));
                i += 2;
            } else {
                break;
            }
        }
        let (dst, j) = self.addr(t, i, unm)?;
        i = j;
        let mut dport = PortSet::full();
        if let Some((ps, j)) = self.port_slot(t, i, unm)? {
            dport = ps;
            i = j;
        }
        let icmp = svcs.iter().all(|s| {
            s.proto == ProtoSet::single(sets::proto::ICMP)
                || s.proto == ProtoSet::single(sets::proto::ICMPV6)
        });
        let mut enabled = true;
        while let Some(k) = t.get(i) {
            let k = k.to_ascii_lowercase();
            i += 1;
            match k.as_str() {
                "log" => {
                    // log [LEVEL] [interval N] | log disable | log default
                    while let Some(x) = t.get(i) {
                        let x = x.to_ascii_lowercase();
                        if x == "interval" {
                            i += 2;
                        } else if x.parse::<u8>().is_ok()
                            || matches!(
                                x.as_str(),
                                "disable"
                                    | "default"
                                    | "emergencies"
                                    | "alerts"
                                    | "critical"
                                    | "errors"
                                    | "warnings"
                                    | "notifications"
                                    | "informational"
                                    | "debugging"
                            )
                        {
                            i += 1;
                        } else {
                            break;
                        }
                    }
                }
                "interval" => i += 1,
                "inactive" => enabled = false,
                "time-range" => {
                    unm.push(format!("time-range {}", t.get(i).unwrap_or(&"")));
                    i += 1;
                }
                "object-group" if icmp => {
                    unm.push(format!("icmp-type group {}", t.get(i).unwrap_or(&"")));
                    i += 1;
                }
                _ if icmp => unm.push(format!("icmp type/code {k}")),
                _ => return Err(format!("`{k}` not understood")),
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
        Ok((action, matches, enabled))
    }

    fn build_filter(&mut self) {
        // Rules of every ACL, in file order.
        let acl_lines = std::mem::take(&mut self.acl_lines);
        let mut acls: Vec<(String, Vec<Rule>, Span)> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        for l in &acl_lines {
            let r = self.acl_rule(l);
            match index.get(&l.acl) {
                Some(&i) => acls[i].1.push(r),
                None => {
                    index.insert(l.acl.clone(), acls.len());
                    acls.push((l.acl.clone(), vec![r], l.span));
                }
            }
        }
        let bindings = std::mem::take(&mut self.bindings);
        for b in &bindings {
            if !acls.iter().any(|(n, _, _)| *n == b.acl) {
                self.unparsed(
                    b.span,
                    format!(
                        "access-group refers to access-list {} which has no entries in the export (an empty ACL denies everything)",
                        b.acl
                    ),
                );
            }
        }
        let uses = |acl: &str| bindings.iter().filter(|b| b.acl == acl).count();
        let rules_of = |acl: &str| -> Vec<Rule> {
            acls.iter()
                .find(|(n, _, _)| n == acl)
                .map(|(_, r, _)| r.clone())
                .unwrap_or_default()
        };
        let constrain = |r: &Rule, zone: &str, dir: Dir, tag: bool| -> Rule {
            let mut r = r.clone();
            let z = NameSet::only([zone]);
            r.matches = r
                .matches
                .iter()
                .map(|s| {
                    let mut s = s.clone();
                    if dir == Dir::In {
                        s.src_zone = s.src_zone.intersect(&z);
                    } else {
                        s.dst_zone = s.dst_zone.intersect(&z);
                    }
                    s
                })
                .filter(|s| !s.is_empty())
                .collect();
            if tag {
                let d = if dir == Dir::In { "in" } else { "out" };
                r.name = format!("{} ({d} on {zone})", r.name);
            }
            r
        };
        let global = bindings.iter().find(|b| b.dir == Dir::Global);
        let named: Vec<&Iface> = self.ifaces.iter().filter(|f| f.nameif.is_some()).collect();

        // Ingress.
        let mut ingress = Vec::new();
        let mut bound_in: BTreeSet<String> = BTreeSet::new();
        for b in bindings.iter().filter(|b| b.dir == Dir::In) {
            let Some(zone) = b.iface.as_deref() else {
                continue;
            };
            bound_in.insert(zone.to_string());
            let tag = uses(&b.acl) > 1;
            for r in rules_of(&b.acl) {
                ingress.push(constrain(&r, zone, Dir::In, tag));
            }
            if global.is_none() {
                let mut deny = Rule::new(
                    format!("access-list {} implicit deny (in on {zone})", b.acl),
                    b.span,
                    Action::Deny,
                );
                deny.matches = vec![Space {
                    src_zone: NameSet::only([zone]),
                    ..Space::all()
                }];
                ingress.push(deny);
            }
        }
        if let Some(g) = global {
            for r in rules_of(&g.acl) {
                let mut r = r;
                r.name = format!("{} (global)", r.name);
                ingress.push(r);
            }
            let mut deny = Rule::new(
                format!("access-list {} implicit deny (global)", g.acl),
                g.span,
                Action::Deny,
            );
            deny.matches = vec![Space::all()];
            ingress.push(deny);
        } else {
            // Security-level defaults for named interfaces without an inbound ACL.
            let level = |f: &Iface| -> (i64, Span) {
                match f.level {
                    Some(l) => l,
                    None if f.nameif.as_deref() == Some("inside") => (100, f.nameif_span),
                    None => (0, f.nameif_span),
                }
            };
            for f in &named {
                let Some(zone) = f.nameif.as_deref() else {
                    continue;
                };
                if bound_in.contains(zone) {
                    continue;
                }
                let (lv, lspan) = level(f);
                let lower: Vec<String> = named
                    .iter()
                    .filter(|o| o.nameif.as_deref() != Some(zone))
                    .filter(|o| {
                        let ol = level(o).0;
                        ol < lv || (self.same_security && ol == lv)
                    })
                    .filter_map(|o| o.nameif.clone())
                    .collect();
                if !lower.is_empty() {
                    let mut allow = Rule::new(
                        format!(
                            "security-level {lv} of {zone}: to lower-level interfaces ({})",
                            lower.join(", ")
                        ),
                        lspan,
                        Action::Allow,
                    );
                    allow.matches = vec![Space {
                        src_zone: NameSet::only([zone]),
                        dst_zone: NameSet::only(lower),
                        ..Space::all()
                    }];
                    ingress.push(allow);
                }
                let mut deny = Rule::new(
                    format!("security-level {lv} of {zone}: no access-list, same or higher level denied"),
                    lspan,
                    Action::Deny,
                );
                deny.matches = vec![Space {
                    src_zone: NameSet::only([zone]),
                    ..Space::all()
                }];
                ingress.push(deny);
            }
        }
        // Interfaces known only from `out` bindings (not defined here) and without inbound ACL.
        let mut unknown_ifaces: BTreeSet<String> = BTreeSet::new();
        if global.is_none() {
            for b in bindings.iter().filter(|b| b.dir == Dir::Out) {
                if let Some(z) = &b.iface {
                    if !bound_in.contains(z) && !named.iter().any(|f| f.nameif.as_ref() == Some(z))
                    {
                        unknown_ifaces.insert(z.clone());
                    }
                }
            }
        }
        for z in unknown_ifaces {
            let reason = format!(
                "interface {z} has no inbound access-list and its security-level is not in the export"
            );
            let span = bindings
                .iter()
                .find(|b| b.iface.as_deref() == Some(z.as_str()))
                .map(|b| b.span)
                .unwrap_or(self.cfg.file_span);
            let mut r = Rule::new(
                format!("security-level of {z} (unknown)"),
                span,
                Action::Unknown(reason),
            );
            r.matches = vec![Space {
                src_zone: NameSet::only([z.as_str()]),
                ..Space::all()
            }];
            ingress.push(r);
        }

        let have_entry = !bindings.is_empty() || !named.is_empty();
        let first = self.first_line_span();
        if have_entry {
            let ingress_default = if named.is_empty() && global.is_none() {
                // Interfaces are not in the export: traffic arriving elsewhere is unknown.
                ChainDefault {
                    action: Action::Unknown(
                        "the interfaces are not in the export; traffic arriving on an interface without a known access-list or security-level".into(),
                    ),
                    span: first,
                    implicit: true,
                }
            } else {
                ChainDefault {
                    action: Action::Deny,
                    span: first,
                    implicit: true,
                }
            };
            let mut egress = Vec::new();
            for b in bindings.iter().filter(|b| b.dir == Dir::Out) {
                let Some(zone) = b.iface.as_deref() else {
                    continue;
                };
                let tag = uses(&b.acl) > 1;
                for r in rules_of(&b.acl) {
                    egress.push(constrain(&r, zone, Dir::Out, tag));
                }
                let mut deny = Rule::new(
                    format!("access-list {} implicit deny (out on {zone})", b.acl),
                    b.span,
                    Action::Deny,
                );
                deny.matches = vec![Space {
                    dst_zone: NameSet::only([zone]),
                    ..Space::all()
                }];
                egress.push(deny);
            }
            // The egress stage without rules only allows: leave it out when no interface has an
            // outbound ACL, so verdicts name the deciding ingress rule.
            let mut stage_ids: Vec<usize> = vec![0];
            if !egress.is_empty() {
                stage_ids.push(1);
            }
            let chains = &mut self.cfg.filter.chains;
            chains.push(Chain {
                name: "ingress".into(),
                span: first,
                rules: ingress,
                default: ingress_default,
            });
            chains.push(Chain {
                name: "egress".into(),
                span: first,
                rules: egress,
                default: ChainDefault {
                    action: Action::Allow,
                    span: first,
                    implicit: true,
                },
            });
            self.cfg.filter.entries.push(Entry {
                hook: Hook::Forward,
                stages: stage_ids,
            });
        }
        // ACLs bound nowhere: kept for their spans, reachable from no entry.
        for (name, rules, span) in acls {
            if uses(&name) > 0 {
                continue;
            }
            self.cfg.filter.chains.push(Chain {
                name: format!("access-list {name} (not bound by access-group)"),
                span,
                rules,
                default: ChainDefault {
                    action: Action::Deny,
                    span,
                    implicit: true,
                },
            });
        }
    }

    /// Whether a policy-map is applied by a `service-policy` line (spans of those lines).
    fn applied(&self, policy: &str) -> (bool, Vec<(Span, String)>) {
        let lines: Vec<(Span, String)> = self
            .service_policies
            .iter()
            .filter(|(p, _)| p == policy)
            .map(|(_, s)| (*s, format!("service-policy {policy} applies it")))
            .collect();
        if !lines.is_empty() {
            return (true, lines);
        }
        // A partial export without any service-policy line: global_policy is applied globally
        // in the factory configuration, so assume it is (the safe reading for an audit).
        if self.service_policies.is_empty() && policy == "global_policy" {
            return (true, Vec::new());
        }
        (false, Vec::new())
    }

    fn features(&mut self) {
        let first = self.first_line_span();
        let where_ = |l: &PolicyLine| match &l.class {
            Some(c) => format!("policy-map {} class {c}", l.policy),
            None => format!("policy-map {}", l.policy),
        };
        let is = |l: &PolicyLine, w: &[&str]| {
            l.toks.len() >= w.len() && l.toks.iter().zip(w).all(|(a, b)| a.eq_ignore_ascii_case(b))
        };
        // SIP inspection.
        let sip_on: Vec<&PolicyLine> = self
            .policy_lines
            .iter()
            .filter(|l| is(l, &["inspect", "sip"]))
            .collect();
        let sip_no: Vec<&PolicyLine> = self
            .policy_lines
            .iter()
            .filter(|l| is(l, &["no", "inspect", "sip"]))
            .collect();
        let mut state = None;
        for l in &sip_on {
            let (ok, related) = self.applied(&l.policy);
            if ok {
                state = Some(FeatureState {
                    enabled: true,
                    span: l.span,
                    default: false,
                    reason: format!("`inspect sip` under {} turns SIP inspection on", where_(l)),
                    related,
                });
                break;
            }
        }
        if state.is_none() {
            let unapplied: Vec<(Span, String)> = sip_on
                .iter()
                .map(|l| {
                    (
                        l.span,
                        format!(
                            "`inspect sip` in {}, which no service-policy applies",
                            where_(l)
                        ),
                    )
                })
                .collect();
            state = Some(if let Some(no) = sip_no.first() {
                FeatureState {
                    enabled: false,
                    span: no.span,
                    default: false,
                    reason: format!(
                        "`no inspect sip` under {} turns SIP inspection off",
                        where_(no)
                    ),
                    related: unapplied,
                }
            } else if self.policy_maps.is_empty() {
                FeatureState {
                    enabled: true,
                    span: first,
                    default: true,
                    reason: "the export has no policy-map global_policy, and the ASA factory default configuration inspects SIP (`inspect sip` under class inspection_default)".into(),
                    related: Vec::new(),
                }
            } else {
                let gp = self
                    .policy_maps
                    .iter()
                    .find(|(p, _)| p == "global_policy")
                    .or(self.policy_maps.first())
                    .map(|(p, s)| (p.clone(), *s));
                let (pname, pspan) = gp.unwrap_or_else(|| ("global_policy".into(), first));
                let span = self
                    .policy_lines
                    .iter()
                    .find(|l| l.policy == pname && is(l, &["inspect"]))
                    .map(|l| l.span)
                    .unwrap_or(pspan);
                let reason = if unapplied.is_empty() {
                    format!("policy-map {pname} is configured without `inspect sip`, so SIP is not inspected")
                } else {
                    "`inspect sip` appears only in policy-maps that no service-policy applies, so SIP is not inspected".to_string()
                };
                FeatureState {
                    enabled: false,
                    span,
                    default: false,
                    reason,
                    related: unapplied,
                }
            });
        }
        self.cfg.features.sip_alg = state;

        // IPS (FirePOWER `sfr`, legacy AIP-SSM `ips`).
        let ips_lines: Vec<&PolicyLine> = self
            .policy_lines
            .iter()
            .filter(|l| is(l, &["sfr"]) || is(l, &["ips"]))
            .collect();
        let mut ips = None;
        for l in &ips_lines {
            let (ok, related) = self.applied(&l.policy);
            if ok {
                let mode = l.toks[1..].join(" ");
                let monitor = l
                    .toks
                    .iter()
                    .any(|x| x == "monitor-only" || x == "promiscuous");
                ips = Some(FeatureState {
                    enabled: true,
                    span: l.span,
                    default: false,
                    reason: format!(
                        "`{} {mode}` under {} sends traffic to the IPS module{}; the class match is not modelled, so IPS is treated as device-wide",
                        l.toks[0],
                        where_(l),
                        if monitor { " (monitor-only: it does not drop)" } else { "" }
                    ),
                    related,
                });
                break;
            }
        }
        self.cfg.features.ips = Some(ips.unwrap_or_else(|| {
            let related: Vec<(Span, String)> = ips_lines
                .iter()
                .map(|l| {
                    (
                        l.span,
                        format!("in {}, which no service-policy applies", where_(l)),
                    )
                })
                .collect();
            FeatureState {
                enabled: false,
                span: related.first().map(|r| r.0).unwrap_or(first),
                default: related.is_empty(),
                reason: if related.is_empty() {
                    "no policy-map class sends traffic to an IPS module (`sfr` or `ips`)".into()
                } else {
                    "the IPS action is in a policy-map that no service-policy applies".into()
                },
                related,
            }
        }));
    }
}

/// Items of `service PROTO [source OP] [destination OP]` / `service-object ...` (tokens after
/// the keyword).
fn service_items(t: &[&str]) -> Vec<Item> {
    let w: Vec<&str> = t.to_vec();
    let Some(protos) = w.first().and_then(|p| cc::proto_set(p)) else {
        return vec![];
    };
    let mut svc = Svc::protos(protos);
    let mut notes = Vec::new();
    let mut i = 1;
    while i < w.len() {
        let k = w[i].to_ascii_lowercase();
        let (slot_src, at) = match k.as_str() {
            "source" => (true, i + 1),
            "destination" => (false, i + 1),
            _ => (false, i),
        };
        match cc::port_op(&w, at, false) {
            Some(Ok((ports, next))) => {
                if slot_src {
                    svc.sport = ports;
                } else {
                    svc.dport = ports;
                }
                i = next;
            }
            Some(Err(e)) => return vec![Item::Unmodeled(format!("{e} not understood"))],
            None => {
                // icmp type / code, or something unknown.
                notes.push(Item::Note(format!("condition `{}`", w[i])));
                i += 1;
            }
        }
    }
    let mut out = vec![Item::Svc(svc)];
    out.extend(notes);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::flow::{classify, Decider, Fate, Part};
    use crate::sets::{parse_net, proto};
    use crate::source::{Encoding, FileId};

    fn src(name: &str, text: &str) -> SourceFile {
        SourceFile::from_text(FileId(0), name.into(), None, text.into(), Encoding::Utf8)
    }

    fn fixture(name: &str) -> SourceFile {
        let path = format!("{}/fixtures/asa/{name}", env!("CARGO_MANIFEST_DIR"));
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

    #[test]
    fn actions_spans_names() {
        let f = fixture("edge.cfg");
        let c = parse(&f, &Limits::default());
        assert_eq!(c.format, Format::Asa);
        assert_eq!(c.name.as_deref(), Some("edge-asa"));
        // Remarks count in ASA line numbers.
        let r = rule(&c, "access-list outside_in line 3");
        assert_eq!(r.action, Action::Deny);
        assert_eq!(
            f.slice(r.span),
            "access-list outside_in extended deny udp any object media-pool range 10000 12000 log"
        );
        assert_eq!(r.matches.len(), 1);
        assert_eq!(r.matches[0].dport, PortSet::range(10000, 12000));
        assert_eq!(
            r.matches[0].dst,
            sets::addr_range(
                "10.30.0.100".parse().unwrap(),
                "10.30.0.199".parse().unwrap()
            )
        );
        // Bound `in` on outside: constrained to that interface.
        assert_eq!(r.matches[0].src_zone, NameSet::only(["outside"]));
        assert!(r.matches[0].dst_zone.is_any());
        let r = rule(&c, "access-list voice_out line 1");
        assert_eq!(r.action, Action::Allow);
        assert_eq!(r.matches[0].dst_zone, NameSet::only(["voice"]));
        assert!(r.matches[0].src_zone.is_any());
        // Implicit denies, spanning the access-group line.
        let d = rule(&c, "access-list outside_in implicit deny (in on outside)");
        assert_eq!(
            f.slice(d.span),
            "access-group outside_in in interface outside"
        );
        // An unbound ACL is kept in a chain of its own, reachable from no entry.
        let ch = c
            .filter
            .chains
            .iter()
            .position(|ch| ch.name.starts_with("access-list unused"))
            .unwrap();
        assert!(c.filter.entries.iter().all(|e| !e.stages.contains(&ch)));
        assert_eq!(
            c.filter.chains[ch].rules[0].matches[0].dport,
            PortSet::single(23)
        );
    }

    #[test]
    fn object_groups_nested_service_and_ports() {
        let c = parse(&fixture("edge.cfg"), &Limits::default());
        // sip-all = udp/5060, tcp/5060 and object sip-tls (tcp/5061): three spaces, never one
        // product.
        let r = rule(&c, "access-list outside_in line 2");
        let carriers = parse_net("198.51.100.20")
            .unwrap()
            .union(&parse_net("198.51.100.32/27").unwrap());
        let got: Vec<(u128, String)> = r
            .matches
            .iter()
            .map(|s| (s.proto.ranges()[0].0, s.dport.render()))
            .collect();
        assert_eq!(
            got,
            vec![
                (proto::UDP, "5060".to_string()),
                (proto::TCP, "5060".to_string()),
                (proto::TCP, "5061".to_string())
            ]
        );
        assert!(r.matches.iter().all(|s| s.src == carriers));
        assert!(r
            .matches
            .iter()
            .all(|s| s.dst == parse_net("10.30.0.10").unwrap()));
        assert!(r.unmodeled.is_empty());
        // Service group in the port slot, named ports.
        let r = rule(&c, "access-list outside_in line 5");
        assert_eq!(r.matches[0].dport.render(), "80,443");
        let r = rule(&c, "access-list outside_in line 7");
        assert_eq!(r.matches[0].dport, PortSet::single(1720));
        assert_eq!(r.matches[0].dst, parse_net("10.20.0.5").unwrap());
        assert_eq!(r.unmodeled, vec!["time-range office".to_string()]);
        // Protocol group.
        let r = rule(&c, "access-list outside_in line 8");
        let protos = r
            .matches
            .iter()
            .fold(ProtoSet::empty(), |a, s| a.union(&s.proto));
        assert_eq!(protos, ProtoSet::from_ranges([(47, 47), (50, 50)]));
        // Nested group with an fqdn object: the carriers and the name's pseudo address.
        let r = rule(&c, "access-list outside_in line 11");
        let fq = AddrSet::single(crate::sets::host_addr("sip.carrier.example"));
        let srcs = r
            .matches
            .iter()
            .fold(AddrSet::empty(), |a, s| a.union(&s.src));
        assert_eq!(srcs, carriers.union(&fq));
        assert!(r.unmodeled.is_empty(), "{:?}", r.unmodeled);
        assert!(c.fqdns.contains("sip.carrier.example"));
        // icmp type is noted, ports stay full.
        let r = rule(&c, "access-list outside_in line 10");
        assert!(r.matches[0].dport.is_full());
        assert!(r.unmodeled.iter().any(|u| u.contains("echo-reply")));
    }

    #[test]
    fn cycle_and_inactive() {
        let c = parse(&fixture("edge.cfg"), &Limits::default());
        let r = rule(&c, "access-list outside_in line 9");
        assert!(r.matches[0].src.is_full());
        assert!(
            r.unmodeled.iter().any(|u| u.contains("cycle")),
            "{:?}",
            r.unmodeled
        );
        let r = rule(&c, "access-list outside_in line 6");
        assert!(!r.enabled);
        assert_eq!(r.matches[0].dport, PortSet::single(22));
    }

    #[test]
    fn media_range_partly_blocked_by_earlier_deny() {
        let c = parse(&fixture("edge.cfg"), &Limits::default());
        let parts = run(
            &c,
            flow(
                proto::UDP,
                "198.51.100.20",
                "10.30.0.150",
                (10000, 20000),
                "outside",
                "voice",
            ),
        );
        assert_eq!(allowed(&parts), PortSet::range(12001, 20000));
        let denied: Vec<&Part> = parts.iter().filter(|p| p.fate == Fate::Deny).collect();
        assert_eq!(denied.len(), 1);
        assert_eq!(denied[0].space.dport, PortSet::range(10000, 12000));
        assert_eq!(
            decider_name(&c, denied[0].decider),
            "access-list outside_in line 3"
        );
    }

    #[test]
    fn object_group_flow_passes_both_stages() {
        let c = parse(&fixture("edge.cfg"), &Limits::default());
        let parts = run(
            &c,
            flow(
                proto::UDP,
                "198.51.100.40",
                "10.30.0.10",
                (5060, 5060),
                "outside",
                "voice",
            ),
        );
        assert!(parts.iter().all(|p| p.fate == Fate::Allow), "{parts:?}");
        assert!(parts.iter().all(|p| p.uncertain_via.is_empty()));
        // Decided by the egress ACL (last stage).
        assert_eq!(
            decider_name(&c, parts[0].decider),
            "access-list voice_out line 2"
        );
        // The same flow to the dmz is stopped by the implicit deny of outside_in.
        let parts = run(
            &c,
            flow(
                proto::UDP,
                "198.51.100.40",
                "172.16.1.9",
                (5060, 5060),
                "outside",
                "dmz",
            ),
        );
        assert!(parts.iter().all(|p| p.fate == Fate::Deny));
        assert_eq!(
            decider_name(&c, parts[0].decider),
            "access-list outside_in implicit deny (in on outside)"
        );
    }

    #[test]
    fn security_levels_without_acl() {
        let c = parse(&fixture("edge.cfg"), &Limits::default());
        // inside (implicit 100) -> outside (0): allowed.
        let parts = run(
            &c,
            flow(
                proto::TCP,
                "10.20.0.9",
                "192.0.2.1",
                (443, 443),
                "inside",
                "outside",
            ),
        );
        assert!(parts.iter().all(|p| p.fate == Fate::Allow));
        // dmz (50) -> voice (80): denied by the security-level default.
        let parts = run(
            &c,
            flow(
                proto::UDP,
                "172.16.1.9",
                "10.30.0.10",
                (5060, 5060),
                "dmz",
                "voice",
            ),
        );
        assert!(parts.iter().all(|p| p.fate == Fate::Deny));
        assert!(decider_name(&c, parts[0].decider).starts_with("security-level 50 of dmz"));
    }

    #[test]
    fn global_access_group() {
        let f = fixture("corpus/batfish_asa-filters-global.cfg");
        let c = parse(&f, &Limits::default());
        let parts = run(
            &c,
            flow(
                proto::TCP,
                "192.168.2.5",
                "192.168.1.5",
                (1, 65535),
                "name2",
                "name1",
            ),
        );
        assert_eq!(allowed(&parts), PortSet::single(123));
        let denied = parts.iter().find(|p| p.fate == Fate::Deny).unwrap();
        assert_eq!(
            decider_name(&c, denied.decider),
            "access-list FILTER_GLOBAL implicit deny (global)"
        );
    }

    #[test]
    fn sip_inspection_on_off_default() {
        let f = fixture("sip-on.cfg");
        let c = parse(&f, &Limits::default());
        let s = c.features.sip_alg.as_ref().unwrap();
        assert!(s.enabled && !s.default);
        assert_eq!(f.slice(s.span), "  inspect sip");
        assert_eq!(
            f.slice(s.related[0].0),
            "service-policy global_policy global"
        );

        let f = fixture("sip-off.cfg");
        let c = parse(&f, &Limits::default());
        let s = c.features.sip_alg.as_ref().unwrap();
        assert!(!s.enabled && !s.default, "{s:?}");
        assert!(s.reason.contains("without `inspect sip`"));
        assert!(f.slice(s.span).contains("inspect"));

        // `no inspect sip`.
        let f = fixture("edge.cfg");
        let c = parse(&f, &Limits::default());
        let s = c.features.sip_alg.as_ref().unwrap();
        assert!(!s.enabled);
        assert_eq!(f.slice(s.span), "  no inspect sip");

        // No policy-map at all: the factory default (on).
        let f = src(
            "x.cfg",
            "ASA Version 9.8\nhostname a\ntimeout sip 0:30:00\n",
        );
        let c = parse(&f, &Limits::default());
        let s = c.features.sip_alg.as_ref().unwrap();
        assert!(s.enabled && s.default);
        assert_eq!(f.slice(s.span), "ASA Version 9.8");
        assert!(s.reason.contains("factory default"));

        // inspect sip in a policy-map nothing applies: off.
        let f = src(
            "y.cfg",
            "ASA Version 9.8\npolicy-map voice\n class c\n  inspect sip\nservice-policy other global\n",
        );
        let c = parse(&f, &Limits::default());
        let s = c.features.sip_alg.as_ref().unwrap();
        assert!(!s.enabled);
        assert_eq!(f.slice(s.related[0].0), "  inspect sip");
    }

    #[test]
    fn ips_on_off() {
        let f = fixture("edge.cfg");
        let c = parse(&f, &Limits::default());
        let s = c.features.ips.as_ref().unwrap();
        assert!(s.enabled);
        assert_eq!(f.slice(s.span), "  sfr fail-open");
        assert!(s.reason.contains("device-wide"));
        // Management access lines are listed as not modelled, once per kind.
        let f = src(
            "m.cfg",
            "ASA Version 9\nssh 0.0.0.0 0.0.0.0 outside\nssh 10.0.0.0 255.0.0.0 inside\nssh timeout 5\n",
        );
        let c = parse(&f, &Limits::default());
        assert_eq!(c.unparsed.len(), 1);
        assert_eq!(f.slice(c.unparsed[0].span), "ssh 0.0.0.0 0.0.0.0 outside");
        assert!(c.unparsed[0].reason.contains("2 lines"));

        let f = fixture("sip-on.cfg");
        let c = parse(&f, &Limits::default());
        let s = c.features.ips.as_ref().unwrap();
        assert!(!s.enabled && s.default);

        let f = src(
            "z.cfg",
            "ASA Version 8.4\npolicy-map global_policy\n class ips_class\n  ips inline fail-close\nservice-policy global_policy global\n",
        );
        let c = parse(&f, &Limits::default());
        let s = c.features.ips.as_ref().unwrap();
        assert!(s.enabled);
        assert_eq!(f.slice(s.span), "  ips inline fail-close");
    }

    #[test]
    fn corpus_files_detect_and_parse() {
        let dir = format!("{}/fixtures/asa/corpus", env!("CARGO_MANIFEST_DIR"));
        let mut n = 0;
        for e in std::fs::read_dir(dir).unwrap() {
            let path = e.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            let f = src(&name, &text);
            assert_eq!(crate::formats::detect(&f), Format::Asa, "{name}");
            let c = parse(&f, &Limits::default());
            assert_eq!(c.format, Format::Asa);
            n += 1;
        }
        assert_eq!(n, 12);
    }

    #[test]
    fn corpus_semantics() {
        // Undefined service and network objects: any, uncertain.
        let c = parse(
            &fixture("corpus/batfish_asa-acl-object.cfg"),
            &Limits::default(),
        );
        let r = rule(&c, "access-list acl2 line 1");
        assert!(r.matches[0].src.is_full() && r.matches[0].proto.is_full());
        assert!(r.unmodeled.iter().any(|u| u.contains("osfake")));
        let r = rule(&c, "access-list acl1 line 1");
        assert_eq!(r.matches[0].proto, ProtoSet::single(proto::ICMP));
        assert_eq!(r.matches[0].src, parse_net("1.1.1.1").unwrap());
        // Security levels: an `in` ACL closes with the implicit deny, interfaces without
        // one follow their level.
        let c = parse(
            &fixture("corpus/batfish_asa-filters.cfg"),
            &Limits::default(),
        );
        let parts = run(
            &c,
            flow(
                proto::TCP,
                "192.168.3.5",
                "192.168.5.5",
                (123, 124),
                "name3",
                "name5",
            ),
        );
        // name3 (50) -> name5 (0) is allowed by level, then FILTER_OUT5 allows only 123.
        assert_eq!(allowed(&parts), PortSet::single(123));
    }

    #[test]
    fn line_forms_standard_and_kind_mismatch() {
        let f = src(
            "l.cfg",
            "ASA Version 9.8\naccess-list A line 1 extended permit tcp any any eq https\naccess-list A remark x\naccess-list A extended deny udp any4 any6 neq 53\naccess-list S standard permit host 10.1.1.1\nobject-group network N\n network-object host 10.0.0.1\naccess-list B extended permit object-group N any any\n",
        );
        let c = parse(&f, &Limits::default());
        let r = rule(&c, "access-list A line 1");
        assert_eq!(r.matches[0].dport, PortSet::single(443));
        let r = rule(&c, "access-list A line 3");
        assert_eq!(r.matches[0].src, sets::all_v4());
        assert_eq!(r.matches[0].dst, sets::all_v6());
        assert!(!r.matches[0].dport.contains(53) && r.matches[0].dport.contains(54));
        let r = rule(&c, "access-list S line 1");
        assert!(r.unmodeled[0].starts_with("standard ACL"));
        assert_eq!(r.matches[0].dst, parse_net("10.1.1.1").unwrap());
        // A network group in the protocol slot is an error, not a silent empty match.
        let r = rule(&c, "access-list B line 1");
        assert!(matches!(r.action, Action::Unknown(_)));
        assert!(c
            .unparsed
            .iter()
            .any(|u| f.slice(u.span).starts_with("access-list B")));
    }

    #[test]
    fn truncated_export_is_an_input_error() {
        let ok = parse(&fixture("sip-on.cfg"), &Limits::default());
        assert!(ok.errors.is_empty());
        let f = src(
            "t.cfg",
            ": Saved\nASA Version 9.8\naccess-list A extended permit ip any any\n",
        );
        let c = parse(&f, &Limits::default());
        assert_eq!(c.errors.len(), 1);
        assert_eq!(
            f.slice(c.errors[0].span),
            "access-list A extended permit ip any any"
        );
    }

    #[test]
    fn sniff_other_vendors_zero() {
        for t in [
            "set system host-name fw1\nset security policies from-zone trust to-zone untrust policy p1 match source-address any\n",
            "config system global\n    set hostname \"FGT\"\nend\nconfig firewall policy\n    edit 1\n    next\nend\n",
            "*filter\n:INPUT DROP [0:0]\n-A INPUT -p udp --dport 5060 -j ACCEPT\nCOMMIT\n",
            "hostname r1\n!\nip access-list extended X\n permit ip any any\n",
        ] {
            assert_eq!(sniff("x", t), 0, "{t}");
        }
    }

    #[test]
    fn hostile_input_does_not_panic() {
        let text = "ASA Version 9\naccess-list a extended permit\naccess-list a extended permit tcp host\naccess-list a extended permit tcp any any range 5\naccess-list b extended permit object-group\nobject-group\nobject-group network\naccess-group\naccess-group a in interface\npolicy-map\n class\n  inspect\nobject network x\n range 1.1.1.1\n";
        let c = parse(&src("h.cfg", text), &Limits::default());
        assert!(!c.unparsed.is_empty());
        let deep: String = (0..100)
            .map(|i| format!("object-group network g{i}\n group-object g{}\n", i + 1))
            .collect::<String>()
            + "access-list d extended permit ip object-group g0 any\n";
        let c = parse(&src("d.cfg", &deep), &Limits::default());
        let r = rule(&c, "access-list d line 1");
        assert!(r.unmodeled.iter().any(|u| u.contains("deeper")));
    }

    #[test]
    fn fqdn_objects_in_rules_and_groups_are_matched_by_name() {
        let text = "ASA Version 9.16(4)\n!\ninterface GigabitEthernet0/0\n nameif inside\n security-level 100\n ip address 10.20.0.1 255.255.0.0\n!\nobject network uc-stun\n fqdn v4 STUN.ucontactcloud.com\nobject network uc-mon\n fqdn monitor.ucontactcloud.com\nobject network odd\n fqdn v4\nobject-group network uc-all\n network-object object uc-mon\n network-object host 198.51.100.7\naccess-list in extended permit udp any object uc-stun eq 3478\naccess-list in extended permit tcp any object-group uc-all eq 443\naccess-list in extended permit tcp any object odd eq 80\naccess-group in in interface inside\n";
        let c = parse(&src("fw.cfg", text), &Limits::default());
        let stun = AddrSet::single(crate::sets::host_addr("stun.ucontactcloud.com"));
        let mon = AddrSet::single(crate::sets::host_addr("monitor.ucontactcloud.com"));
        let r = rule(&c, "access-list in line 1");
        assert!(r.matches.iter().all(|s| s.dst == stun), "{:?}", r.matches);
        assert!(r.unmodeled.is_empty());
        let r = rule(&c, "access-list in line 2");
        let dsts = r
            .matches
            .iter()
            .fold(AddrSet::empty(), |a, s| a.union(&s.dst));
        assert_eq!(dsts, mon.union(&parse_net("198.51.100.7").unwrap()));
        // `fqdn v4` without a name is not a host name: unmodelled, as before.
        let r = rule(&c, "access-list in line 3");
        assert!(
            r.unmodeled.iter().any(|u| u.contains("fqdn")),
            "{:?}",
            r.unmodeled
        );
        assert_eq!(
            c.fqdns.iter().cloned().collect::<Vec<_>>(),
            ["monitor.ucontactcloud.com", "stun.ucontactcloud.com"]
        );
    }
}
