//! Linux nftables: `nft list ruleset` text and `nft -j list ruleset` JSON.
//!
//! Both front-ends produce the same intermediate form ([`ir::Ruleset`]); this module turns it into
//! the common model with nftables semantics:
//! - only `filter` base chains of the `ip`, `ip6` and `inet` families filter; every base chain on
//!   the path of a packet is traversed in hook order (prerouting, then input / forward / output,
//!   then postrouting) and, within a hook, in priority order. An `accept` ends only the chain it is
//!   in; a drop anywhere is final. Each of Input, Forward and Output is one [`Entry`] whose stages
//!   are those base chains in that order.
//! - a base chain of an `ip` (`ip6`) table is not traversed by IPv6 (IPv4) packets: it gets a
//!   leading synthetic rule that lets the other family through that stage.
//! - a base chain without `policy` accepts (nftables' default); user chains return.
//! - `ct state established,related` (any state set without `new`) only matches existing
//!   connections; `limit`, `ct status`, marks, `fib`, dynamic sets... are listed as unmodeled.
//! - SIP helper: on only when a `ct helper` object of type "sip" is assigned by a
//!   `ct helper set` rule (since Linux 4.7 helpers are not attached automatically).

pub mod ir;
mod json;
mod text;

use std::collections::HashMap;

use ir::*;

use super::Limits;
use crate::model::{
    Action, Chain, ChainDefault, ChainId, Config, Entry, FeatureState, Format, Hook, Rule, Unparsed,
};
use crate::sets::{self, proto, AddrSet, NameSet, PortSet, ProtoSet, Space};
use crate::source::{SourceFile, Span};

/// Recognise nftables text or JSON.
pub fn sniff(_name: &str, text: &str) -> u8 {
    if super::json_spans::looks_like_json(text) {
        if super::json_spans::foreign_json(text) {
            return 0;
        }
        let head: String = text.chars().take(512).collect();
        let compact: String = head.chars().filter(|c| !c.is_whitespace()).collect();
        if compact.starts_with("{\"nftables\":") {
            return 95;
        }
        return 0;
    }
    let mut score = 0u8;
    for line in crate::formats::util::text_lines(text).take(400) {
        let t = crate::formats::util::trim(line);
        if t.starts_with("#!") && t.contains("nft") {
            return 90;
        }
        if t == "flush ruleset" {
            score = score.max(80);
        }
        // Only `table` lines can score here; the others are not split (every export of every
        // format is sniffed).
        if !t.starts_with("table") {
            continue;
        }
        let w: Vec<&str> = t.split_whitespace().collect();
        if w.first() == Some(&"table")
            && w.len() >= 3
            && matches!(w[1], "inet" | "ip" | "ip6" | "arp" | "bridge" | "netdev")
            && (w.len() == 3 || (w.len() == 4 && w[3] == "{"))
        {
            score = score.max(if w.len() == 4 { 90 } else { 70 });
        }
    }
    score
}

pub fn parse(file: &SourceFile, limits: &Limits) -> Config {
    let rs = if super::json_spans::looks_like_json(&file.text) {
        json::parse_json(file, limits)
    } else {
        text::parse_text(file, limits)
    };
    let mut cfg = build(file, rs);
    let walk = crate::model::jump_depths(&cfg.filter.chains);
    let loops = walk.loop_issues(&cfg.filter.chains, "nft");
    let too_deep = jump_depth(&cfg.filter.chains, &walk, limits.max_reference_depth);
    cfg.errors.extend(loops.into_iter().chain(too_deep));
    cfg
}

/// The chain starting the longest run of jump/goto past the reference-depth limit, as an input
/// error at its definition. Levels count as in iptables (`model::jump_depths`): a loop (an input
/// error of its own: nft rejects it at load time) is not followed twice and its jump counts one
/// level, into the chain itself or back into a calling chain.
fn jump_depth(
    chains: &[Chain],
    walk: &crate::model::JumpDepths,
    limit: usize,
) -> Option<crate::model::InputIssue> {
    let (c, d) = walk.deepest()?;
    (d > limit).then(|| crate::model::InputIssue {
        span: chains[c].span,
        message: format!(
            "chain {} nests jumps {d} levels deep, more than the reference limit of {limit} (--max-reference-depth, limits: max-reference-depth): evaluation stops there",
            chains[c].name
        ),
    })
}

struct Builder<'a> {
    rs: &'a Ruleset,
    ids: HashMap<(String, String, String), ChainId>,
    unparsed: Vec<Unparsed>,
}

/// A match turned into a constraint on the header space.
struct Cons {
    space: Space,
    established_only: bool,
}

fn service_port(s: &str) -> Option<u128> {
    if let Ok(n) = s.parse::<u128>() {
        return (n <= 65535).then_some(n);
    }
    Some(match s {
        "ftp-data" => 20,
        "ftp" => 21,
        "ssh" => 22,
        "telnet" => 23,
        "smtp" => 25,
        "whois" => 43,
        "domain" => 53,
        "bootps" => 67,
        "bootpc" => 68,
        "tftp" => 69,
        "http" | "www" => 80,
        "kerberos" => 88,
        "pop3" => 110,
        "sunrpc" => 111,
        "auth" => 113,
        "ntp" => 123,
        "netbios-ns" => 137,
        "netbios-dgm" => 138,
        "netbios-ssn" => 139,
        "imap" | "imap2" => 143,
        "snmp" => 161,
        "snmp-trap" => 162,
        "bgp" => 179,
        "ldap" => 389,
        "https" => 443,
        "microsoft-ds" => 445,
        "smtps" | "submissions" => 465,
        "isakmp" => 500,
        "syslog" => 514,
        "rtsp" => 554,
        "submission" => 587,
        "ldaps" => 636,
        "domain-s" => 853,
        "imaps" => 993,
        "pop3s" => 995,
        "openvpn" => 1194,
        "ms-sql-s" => 1433,
        "h323hostcall" => 1720,
        "pptp" => 1723,
        "radius" => 1812,
        "radius-acct" => 1813,
        "nfs" => 2049,
        "mysql" => 3306,
        "ms-wbt-server" | "rdp" => 3389,
        "ipsec-nat-t" => 4500,
        "iax" => 4569,
        "sip" => 5060,
        "sip-tls" | "sips" => 5061,
        "xmpp-client" => 5222,
        "mdns" => 5353,
        "postgresql" => 5432,
        "x11" => 6000,
        "redis" => 6379,
        "sane-port" => 6566,
        "ircd" | "irc" => 6667,
        "http-alt" | "webcache" => 8080,
        "amanda" => 10080,
        _ => return None,
    })
}

fn proto_num(s: &str) -> Option<u128> {
    match s {
        "udplite" => Some(136),
        "dccp" => Some(33),
        "ipv6-icmp" | "icmpv6" => Some(58),
        _ => proto::from_name(s),
    }
}

fn val_text(v: &Val) -> String {
    match v {
        Val::One(s) => s.clone(),
        Val::Range(a, b) => format!("{a}-{b}"),
        Val::SetRef(n) => format!("@{n}"),
        Val::Compound(s) => s.clone(),
    }
}

fn left_text(l: &Left) -> String {
    let fam = |f: &Fam| match f {
        Fam::V4 => "ip",
        Fam::V6 => "ip6",
        Fam::Any => "meta",
    };
    match l {
        Left::Saddr(f) => format!("{} saddr", fam(f)),
        Left::Daddr(f) => format!("{} daddr", fam(f)),
        Left::L4proto(f) => format!("{} l4proto", fam(f)),
        Left::NfProto => "meta nfproto".into(),
        Left::Sport(_) => "sport".into(),
        Left::Dport(_) => "dport".into(),
        Left::IcmpField(_, t) => t.clone(),
        Left::Iif => "iifname".into(),
        Left::Oif => "oifname".into(),
        Left::CtState => "ct state".into(),
        Left::TcpFlags(_, t) => t.clone(),
        Left::Other(t) => t.clone(),
    }
}

fn fam_universe(f: Fam) -> AddrSet {
    match f {
        Fam::V4 => sets::all_v4(),
        Fam::V6 => sets::all_v6(),
        Fam::Any => AddrSet::full(),
    }
}

impl Builder<'_> {
    /// Set elements (named sets resolved in the chain's table).
    fn resolve(
        &self,
        fam: &str,
        table: &str,
        vals: &[Val],
        unmodeled: &mut Vec<String>,
    ) -> Option<Vec<Val>> {
        let mut out = Vec::new();
        let mut complete = true;
        for v in vals {
            match v {
                Val::SetRef(name) => {
                    let set = self
                        .rs
                        .sets
                        .iter()
                        .find(|s| s.family == fam && s.table == table && &s.name == name);
                    match set {
                        Some(s) if s.dynamic => {
                            unmodeled.push(format!(
                                "dynamic set @{name}: its elements are added at run time"
                            ));
                            complete = false;
                        }
                        Some(s) => out.extend(
                            s.elems
                                .iter()
                                .filter(|e| !matches!(e, Val::SetRef(_)))
                                .cloned(),
                        ),
                        None => {
                            unmodeled.push(format!("set @{name} is not defined in this ruleset"));
                            complete = false;
                        }
                    }
                }
                other => out.push(other.clone()),
            }
        }
        complete.then_some(out)
    }

    fn constraint(
        &self,
        fam: &str,
        table: &str,
        left: &Left,
        op: Op,
        vals: &[Val],
        unmodeled: &mut Vec<String>,
    ) -> Cons {
        let mut space = Space::all();
        let mut established_only = false;
        // The constraint as written, for the unmodelled list: only formatted when needed.
        let shown = || {
            format!(
                "{} {}{}",
                left_text(left),
                if op == Op::Ne { "!= " } else { "" },
                vals.iter().map(val_text).collect::<Vec<_>>().join(",")
            )
        };
        let resolved = self.resolve(fam, table, vals, unmodeled);
        let ordered = matches!(op, Op::Lt | Op::Gt | Op::Le | Op::Ge);
        if op == Op::Other {
            unmodeled.push(shown());
        }
        match left {
            Left::Saddr(f) | Left::Daddr(f) => {
                let uni = fam_universe(*f);
                let mut set = AddrSet::empty();
                let mut ok = resolved.is_some() && !ordered && op != Op::Other;
                for v in resolved.iter().flatten() {
                    let a = match v {
                        Val::One(s) => sets::parse_net(s.trim_matches('"')),
                        Val::Range(a, b) => match (a.parse(), b.parse()) {
                            (Ok(a), Ok(b)) => Some(sets::addr_range(a, b)),
                            _ => None,
                        },
                        _ => None,
                    };
                    match a {
                        Some(a) => set = set.union(&a),
                        None => ok = false,
                    }
                }
                let dim = if !ok {
                    if op != Op::Other {
                        unmodeled.push(shown());
                    }
                    uni
                } else if op == Op::Ne {
                    uni.difference(&set)
                } else {
                    uni.intersect(&set)
                };
                if matches!(left, Left::Saddr(_)) {
                    space.src = dim;
                } else {
                    space.dst = dim;
                }
            }
            Left::L4proto(f) => {
                space.src = fam_universe(*f);
                let mut set = ProtoSet::empty();
                let mut ok = resolved.is_some() && !ordered && op != Op::Other;
                for v in resolved.iter().flatten() {
                    match v {
                        Val::One(s) => match proto_num(s) {
                            Some(p) => set = set.union(&ProtoSet::single(p)),
                            None => ok = false,
                        },
                        Val::Range(a, b) => match (proto_num(a), proto_num(b)) {
                            (Some(a), Some(b)) => set = set.union(&ProtoSet::range(a, b)),
                            _ => ok = false,
                        },
                        _ => ok = false,
                    }
                }
                if !ok {
                    if op != Op::Other {
                        unmodeled.push(shown());
                    }
                } else if op == Op::Ne {
                    space.proto = set.complement();
                } else {
                    space.proto = set;
                }
            }
            Left::IcmpField(p, _) => {
                space.proto = ProtoSet::single(*p);
                unmodeled.push(shown());
            }
            Left::NfProto => {
                let mut set = AddrSet::empty();
                let mut ok = resolved.is_some() && !ordered && op != Op::Other;
                for v in resolved.iter().flatten() {
                    match val_text(v).as_str() {
                        "ipv4" | "ip" | "2" => set = set.union(&sets::all_v4()),
                        "ipv6" | "ip6" | "10" => set = set.union(&sets::all_v6()),
                        "arp" | "vlan" | "8021q" | "8021ad" => {}
                        _ => ok = false,
                    }
                }
                if !ok {
                    if op != Op::Other {
                        unmodeled.push(shown());
                    }
                } else if op == Op::Ne {
                    space.src = set.complement();
                } else {
                    space.src = set;
                }
            }
            Left::Sport(protos) | Left::Dport(protos) => {
                space.proto = protos
                    .iter()
                    .fold(ProtoSet::empty(), |a, p| a.union(&ProtoSet::single(*p)));
                let mut set = PortSet::empty();
                let mut ok = resolved.is_some() && op != Op::Other;
                let rs = resolved.clone().unwrap_or_default();
                if ordered {
                    match (rs.as_slice(), op) {
                        ([Val::One(s)], _) => match service_port(s) {
                            Some(n) => {
                                set = match op {
                                    Op::Lt if n > 0 => PortSet::range(0, n - 1),
                                    Op::Lt => PortSet::empty(),
                                    Op::Le => PortSet::range(0, n),
                                    Op::Gt => PortSet::range(n + 1, 65535),
                                    _ => PortSet::range(n, 65535),
                                }
                            }
                            None => ok = false,
                        },
                        _ => ok = false,
                    }
                } else {
                    for v in &rs {
                        match v {
                            Val::One(s) => match service_port(s) {
                                Some(p) => set = set.union(&PortSet::single(p)),
                                None => ok = false,
                            },
                            Val::Range(a, b) => match (service_port(a), service_port(b)) {
                                (Some(a), Some(b)) => set = set.union(&PortSet::range(a, b)),
                                _ => ok = false,
                            },
                            _ => ok = false,
                        }
                    }
                }
                let dim = if !ok {
                    if op != Op::Other {
                        unmodeled.push(shown());
                    }
                    PortSet::full()
                } else if op == Op::Ne {
                    set.complement()
                } else {
                    set
                };
                if matches!(left, Left::Sport(_)) {
                    space.sport = dim;
                } else {
                    space.dport = dim;
                }
            }
            Left::Iif | Left::Oif => {
                let names: Vec<String> = resolved
                    .iter()
                    .flatten()
                    .map(|v| val_text(v).trim_matches('"').to_string())
                    .collect();
                let ok = resolved.is_some()
                    && !ordered
                    && op != Op::Other
                    && names.iter().all(|n| !n.contains('*'))
                    && resolved.iter().flatten().all(|v| matches!(v, Val::One(_)));
                let dim = if !ok {
                    if op != Op::Other {
                        unmodeled.push(shown());
                    }
                    NameSet::Any
                } else if op == Op::Ne {
                    NameSet::only(names).complement()
                } else {
                    NameSet::only(names)
                };
                if matches!(left, Left::Iif) {
                    space.src_zone = dim;
                } else {
                    space.dst_zone = dim;
                }
            }
            Left::CtState => {
                let states: Vec<String> = resolved
                    .iter()
                    .flatten()
                    .map(|v| val_text(v).to_ascii_lowercase())
                    .collect();
                if resolved.is_none() || ordered || op == Op::Other {
                    if op != Op::Other {
                        unmodeled.push(shown());
                    }
                } else {
                    let has_new = states.iter().any(|s| s == "new");
                    let matches_new = if op == Op::Ne { !has_new } else { has_new };
                    if !matches_new {
                        established_only = true;
                    }
                }
            }
            Left::TcpFlags(m, text) => {
                space.proto = ProtoSet::single(proto::TCP);
                match m {
                    // The first packet of a new connection is a bare SYN.
                    Some(true) => {}
                    Some(false) => established_only = true,
                    None => unmodeled.push(text.clone()),
                }
            }
            Left::Other(_) => unmodeled.push(shown()),
        }
        Cons {
            space,
            established_only,
        }
    }

    fn action(&self, fam: &str, table: &str, v: &Verdict) -> Action {
        let target = |t: &str| {
            self.ids
                .get(&(fam.to_string(), table.to_string(), t.to_string()))
                .copied()
        };
        match v {
            Verdict::Accept => Action::Allow,
            Verdict::Drop | Verdict::Reject => Action::Deny,
            Verdict::Return => Action::Return,
            Verdict::Continue => Action::Continue,
            Verdict::Jump(t) => match target(t) {
                Some(id) => Action::Jump(id),
                None => Action::Unknown(format!("jump to undefined chain {t}")),
            },
            Verdict::Goto(t) => match target(t) {
                Some(id) => Action::Goto(id),
                None => Action::Unknown(format!("goto undefined chain {t}")),
            },
            Verdict::Other(t) => Action::Unknown(t.clone()),
        }
    }

    fn rules(&mut self, ch: &ChainIr, r: &RuleIr) -> Vec<Rule> {
        let (fam, table) = (ch.family.as_str(), ch.table.as_str());
        let mut name = format!("{} {} chain {} rule {}", fam, table, ch.name, r.number);
        if let Some(c) = &r.comment {
            name.push_str(&format!(" \"{c}\""));
        }
        let mut spaces = vec![Space::all()];
        let mut unmodeled = Vec::new();
        let mut est = false;
        let mut verdict: Option<&Verdict> = None;
        let mut vmaps: Vec<(&Left, VmapElems)> = Vec::new();
        for e in &r.exprs {
            match e {
                Expr::Match { left, op, vals } => {
                    let c = self.constraint(fam, table, left, *op, vals, &mut unmodeled);
                    est |= c.established_only;
                    spaces = spaces
                        .iter()
                        .map(|s| s.intersect(&c.space))
                        .filter(|s| !s.is_empty())
                        .collect();
                }
                Expr::Verdict(v) => verdict = Some(v),
                Expr::Vmap {
                    left,
                    elems,
                    map_ref,
                } => {
                    let mut es = elems.clone();
                    if let Some(m) = map_ref {
                        match self
                            .rs
                            .sets
                            .iter()
                            .find(|s| s.family == fam && s.table == table && &s.name == m)
                        {
                            Some(s) if !s.dynamic => es.extend(
                                s.map_elems
                                    .iter()
                                    .filter_map(|(k, v)| v.clone().map(|v| (k.clone(), v))),
                            ),
                            _ => unmodeled.push(format!("verdict map @{m} not resolved")),
                        }
                    }
                    vmaps.push((left, es));
                }
                Expr::HelperSet(_) | Expr::Stmt => {}
                Expr::Unmodeled {
                    text,
                    span,
                    understood,
                } => {
                    unmodeled.push(text.clone());
                    if !understood {
                        self.unparsed.push(Unparsed {
                            span: *span,
                            reason: format!(
                                "nft expression `{text}` not understood: the rule is treated as matching, verdicts through it are uncertain"
                            ),
                        });
                    }
                }
            }
        }
        let base_rule =
            |action: Action, matches: Vec<Space>, est: bool, unm: &Vec<String>, n: &str| {
                let mut rule = Rule::new(n, r.span, action);
                rule.matches = matches;
                rule.established_only = est;
                rule.unmodeled = unm.clone();
                rule
            };
        if vmaps.is_empty() {
            let action = verdict
                .map(|v| self.action(fam, table, v))
                .unwrap_or(Action::Continue);
            return vec![base_rule(action, spaces, est, &unmodeled, &name)];
        }
        // A verdict map: one rule per element, in element order (elements are disjoint keys).
        let mut out = Vec::new();
        for (left, elems) in vmaps {
            for (k, v) in elems {
                let mut unm = unmodeled.clone();
                let c = self.constraint(fam, table, left, Op::Eq, &k, &mut unm);
                let ms: Vec<Space> = spaces
                    .iter()
                    .map(|s| s.intersect(&c.space))
                    .filter(|s| !s.is_empty())
                    .collect();
                let n = format!(
                    "{name} ({} : {})",
                    k.iter().map(val_text).collect::<Vec<_>>().join(","),
                    verdict_text(&v)
                );
                let action = self.action(fam, table, &v);
                out.push(base_rule(action, ms, est || c.established_only, &unm, &n));
            }
        }
        out
    }
}

/// Elements of a verdict map: key values and verdict.
type VmapElems = Vec<(Vec<Val>, Verdict)>;

fn verdict_text(v: &Verdict) -> String {
    match v {
        Verdict::Accept => "accept".into(),
        Verdict::Drop => "drop".into(),
        Verdict::Reject => "reject".into(),
        Verdict::Return => "return".into(),
        Verdict::Continue => "continue".into(),
        Verdict::Jump(t) => format!("jump {t}"),
        Verdict::Goto(t) => format!("goto {t}"),
        Verdict::Other(t) => t.clone(),
    }
}

fn evaluated_family(f: &str) -> bool {
    matches!(f, "ip" | "ip6" | "inet")
}

fn build(file: &SourceFile, rs: Ruleset) -> Config {
    let mut cfg = Config::new(Format::Nftables, Span::new(file.id, 0, file.text.len()));
    let mut b = Builder {
        rs: &rs,
        ids: HashMap::new(),
        unparsed: Vec::new(),
    };
    let chains: Vec<&ChainIr> = rs
        .chains
        .iter()
        .filter(|c| evaluated_family(&c.family))
        .collect();
    for (i, c) in chains.iter().enumerate() {
        b.ids
            .insert((c.family.clone(), c.table.clone(), c.name.clone()), i);
    }
    // (hook rank, priority, declaration order, chain id)
    let mut bases: Vec<(&str, i64, usize, ChainId)> = Vec::new();
    for (i, c) in chains.iter().enumerate() {
        let mut rules = Vec::new();
        let filter_base = c
            .base
            .as_ref()
            .filter(|bs| bs.typ == "filter" && !bs.hook.is_empty());
        if let Some(bs) = filter_base {
            let other = match c.family.as_str() {
                "ip" => Some(("IPv6", sets::all_v6())),
                "ip6" => Some(("IPv4", sets::all_v4())),
                _ => None,
            };
            if let Some((fam_name, set)) = other {
                let mut r = Rule::new(
                    format!(
                        "{} {} chain {} (implicit: {fam_name} packets do not traverse a table of family {})",
                        c.family, c.table, c.name, c.family
                    ),
                    c.span,
                    Action::Allow,
                );
                r.matches[0].src = set.clone();
                r.matches[0].dst = set;
                rules.push(r);
            }
            match bs.hook.as_str() {
                "prerouting" | "input" | "forward" | "output" | "postrouting" => {
                    bases.push((bs.hook.as_str(), bs.prio, i, i));
                }
                other => b.unparsed.push(Unparsed {
                    span: bs.span,
                    reason: format!(
                        "base chain on hook `{other}` is not evaluated (only prerouting, input, forward, output and postrouting are)"
                    ),
                }),
            }
        }
        for r in &c.rules {
            let rs = b.rules(c, r);
            rules.extend(rs);
        }
        let default = match &c.base {
            Some(bs) if !bs.hook.is_empty() || bs.policy.is_some() => match bs.policy {
                Some((accept, span)) => ChainDefault {
                    action: if accept { Action::Allow } else { Action::Deny },
                    span,
                    implicit: false,
                },
                None => ChainDefault {
                    action: Action::Allow,
                    span: bs.span,
                    implicit: true,
                },
            },
            _ => ChainDefault {
                action: Action::Return,
                span: c.span,
                implicit: true,
            },
        };
        cfg.filter.chains.push(Chain {
            name: format!("{} {} {}", c.family, c.table, c.name),
            span: c.span,
            rules,
            default,
        });
    }
    let stages_of = |hooks: &[&str]| -> Vec<ChainId> {
        let mut v: Vec<(usize, i64, usize, ChainId)> = bases
            .iter()
            .filter_map(|(h, p, o, id)| {
                hooks
                    .iter()
                    .position(|x| x == h)
                    .map(|rank| (rank, *p, *o, *id))
            })
            .collect();
        v.sort();
        v.into_iter().map(|(_, _, _, id)| id).collect()
    };
    for (hook, hooks) in [
        (Hook::Input, &["prerouting", "input"][..]),
        (Hook::Forward, &["prerouting", "forward", "postrouting"][..]),
        (Hook::Output, &["output", "postrouting"][..]),
    ] {
        let mut stages = stages_of(hooks);
        if stages.is_empty() {
            // No base chain on this hook: the kernel lets the traffic through. Model it as an
            // empty chain that accepts, so verdicts say so (and point at the file) rather than
            // finding "no filter".
            cfg.filter.chains.push(Chain {
                name: format!(
                    "(no {} chain)",
                    match hook {
                        Hook::Input => "input",
                        Hook::Forward => "forward",
                        Hook::Output => "output",
                    }
                ),
                span: file.line_span(1),
                rules: Vec::new(),
                default: ChainDefault {
                    action: Action::Allow,
                    span: file.line_span(1),
                    implicit: true,
                },
            });
            stages.push(cfg.filter.chains.len() - 1);
        }
        cfg.filter.entries.push(Entry { hook, stages });
    }
    for (fam, name, span) in &rs.other_tables {
        b.unparsed.push(Unparsed {
            span: *span,
            reason: format!(
                "table {fam} {name}: {fam}-family filtering is not evaluated (only ip, ip6 and inet tables are)"
            ),
        });
    }
    cfg.features.sip_alg = Some(sip_helper(file, &rs));
    cfg.unparsed = rs.unparsed.clone();
    cfg.unparsed.extend(b.unparsed);
    cfg.errors = rs.errors.clone();
    cfg
}

/// Chains a packet can reach: base chains (any type) and the chains they jump or go to.
fn reachable_chains(rs: &Ruleset) -> Vec<bool> {
    let mut seen: Vec<bool> = rs
        .chains
        .iter()
        .map(|c| c.base.as_ref().is_some_and(|b| !b.hook.is_empty()))
        .collect();
    let mut todo: Vec<usize> = (0..rs.chains.len()).filter(|&i| seen[i]).collect();
    while let Some(i) = todo.pop() {
        let c = &rs.chains[i];
        let mut targets = Vec::new();
        for r in &c.rules {
            for e in &r.exprs {
                match e {
                    Expr::Verdict(Verdict::Jump(t) | Verdict::Goto(t)) => targets.push(t.clone()),
                    Expr::Vmap { elems, map_ref, .. } => {
                        for (_, v) in elems {
                            if let Verdict::Jump(t) | Verdict::Goto(t) = v {
                                targets.push(t.clone());
                            }
                        }
                        if let Some(m) = map_ref {
                            for s in rs.sets.iter().filter(|s| {
                                &s.name == m && s.family == c.family && s.table == c.table
                            }) {
                                for (_, v) in &s.map_elems {
                                    if let Some(Verdict::Jump(t) | Verdict::Goto(t)) = v {
                                        targets.push(t.clone());
                                    }
                                }
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        for t in targets {
            if let Some(j) = rs
                .chains
                .iter()
                .position(|x| x.family == c.family && x.table == c.table && x.name == t)
            {
                if !seen[j] {
                    seen[j] = true;
                    todo.push(j);
                }
            }
        }
    }
    seen
}

fn sip_helper(file: &SourceFile, rs: &Ruleset) -> FeatureState {
    let sip: Vec<&HelperIr> = rs
        .helpers
        .iter()
        .filter(|h| h.typ.eq_ignore_ascii_case("sip"))
        .collect();
    let reachable = reachable_chains(rs);
    let mut assigned: Vec<(&ChainIr, &RuleIr, &HelperIr)> = Vec::new();
    let mut unreached: Option<(&ChainIr, &RuleIr)> = None;
    for (ci, c) in rs.chains.iter().enumerate() {
        for r in &c.rules {
            for e in &r.exprs {
                if let Expr::HelperSet(names) = e {
                    let found = names.iter().find_map(|n| {
                        sip.iter()
                            .find(|h| h.family == c.family && h.table == c.table && &h.name == n)
                            .or_else(|| sip.iter().find(|h| &h.name == n))
                    });
                    match found {
                        Some(h) if reachable[ci] => assigned.push((c, r, h)),
                        Some(_) => unreached = unreached.or(Some((c, r))),
                        None => {}
                    }
                }
            }
        }
    }
    if let Some((c, r, h)) = assigned.first() {
        let written = file.slice(r.span).trim();
        // Quote text rules; a JSON rule object is named by its position instead.
        let text = if written.starts_with('{') || written.contains('\n') || written.len() > 160 {
            format!("rule {}", r.number)
        } else {
            format!("rule `{written}`")
        };
        let mut related = vec![(
            h.span,
            format!("ct helper \"{}\" of type \"sip\" is declared here", h.name),
        )];
        for (c2, r2, _) in assigned.iter().skip(1) {
            related.push((
                r2.span,
                format!("chain {} also assigns the SIP helper", c2.name),
            ));
        }
        return FeatureState {
            enabled: true,
            span: r.span,
            default: false,
            reason: format!(
                "{text} in chain {} {} {} assigns the SIP conntrack helper \"{}\" (ct helper set)",
                c.family, c.table, c.name, h.name
            ),
            related,
        };
    }
    if let Some((c, r)) = unreached {
        return FeatureState {
            enabled: false,
            span: r.span,
            default: false,
            reason: format!(
                "the SIP helper is assigned only in chain {} {} {}, which no base chain jumps to, so no packet reaches that rule",
                c.family, c.table, c.name
            ),
            related: sip.iter().map(|h| (h.span, format!("ct helper \"{}\" of type \"sip\"", h.name))).collect(),
        };
    }
    if let Some(h) = sip.first() {
        return FeatureState {
            enabled: false,
            span: h.span,
            default: true,
            reason: format!(
                "ct helper \"{}\" of type \"sip\" is declared but no rule assigns it with `ct helper set`, and since Linux 4.7 helpers are only attached by explicit rules",
                h.name
            ),
            related: Vec::new(),
        };
    }
    FeatureState {
        enabled: false,
        span: file.line_span(1),
        default: true,
        reason: "no ct helper of type \"sip\" is assigned in this ruleset, and since Linux 4.7 conntrack helpers are only attached by explicit rules (unless the nf_conntrack_helper sysctl is turned on outside the ruleset)".into(),
        related: Vec::new(),
    }
}

#[cfg(test)]
mod tests;
