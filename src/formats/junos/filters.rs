//! Stateless firewall filters (`firewall family inet|inet6 filter F term T from ... then ...`)
//! and where they are applied (`interfaces X unit N family inet filter input|output F`).
//!
//! Each filter becomes a user chain (terms in order, first match; a term without a terminating
//! action accepts; `next term` continues; the filter ends with Junos' implicit discard). Filters
//! applied to interfaces are dispatched from two stage chains of the Forward entry: input
//! filters before the security policies, output filters after them, keyed on the ingress /
//! egress interface (and its zone). Interfaces without a filter pass.
//!
//! An input filter on `lo0` protects the device itself: it becomes a stage of the Input entry
//! (see [`super::host`]). Not modeled (input issues): filter lists (`input-list`), other
//! families, output filters on `lo0`.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{Action, Chain, ChainDefault, ChainId, Entry, Hook, InputIssue, Rule};
use crate::sets::{all_v4, all_v6, parse_net, proto, AddrSet, NameSet, PortSet, ProtoSet, Space};
use crate::source::Span;

use super::tree::Stmt;
use super::{apps, describe, Parser};

/// (family, filter name)
type FilterKey = (String, String);

#[derive(Default)]
struct Term {
    name: String,
    stmts: Vec<usize>,
}

#[derive(Default)]
struct Filter {
    terms: Vec<Term>,
    stmts: Vec<usize>,
}

/// Where a filter statement's term path starts: (family, name, index of `term`).
fn filter_key(s: &Stmt) -> Option<(FilterKey, usize)> {
    match (s.word(1), s.word(3)) {
        ("family", "filter") if s.len() > 4 => {
            Some(((s.word(2).to_string(), s.word(4).to_string()), 5))
        }
        ("filter", _) if s.len() > 2 => Some((("inet".to_string(), s.word(2).to_string()), 3)),
        _ => None,
    }
}

struct Applied {
    /// Applied to the loopback (traffic to the device).
    lo: bool,
    iface: String,
    dir: String,
    key: FilterKey,
    span: Span,
}

/// Stage chains other entries need.
#[derive(Default)]
pub(super) struct Stages {
    /// Dispatch of interface input filters (also traversed by traffic to the device).
    pub input: Option<ChainId>,
    /// Dispatch to the `lo0` input filters.
    pub lo0: Option<ChainId>,
}

pub(super) fn build(p: &mut Parser<'_>) -> Stages {
    let mut filters: BTreeMap<FilterKey, Filter> = BTreeMap::new();
    let mut applied: Vec<Applied> = Vec::new();
    let mut prefix_lists: BTreeMap<String, AddrSet> = BTreeMap::new();
    let mut issues = Vec::new();
    for (i, s) in p.tree.stmts.iter().enumerate() {
        if s.inactive_at.is_some() && s.word(0) != "firewall" {
            continue;
        }
        match s.word(0) {
            "firewall" => {
                let Some((key, at)) = filter_key(s) else {
                    continue;
                };
                // An inactive filter is not part of the configuration; inactive terms are kept
                // (disabled).
                if s.inactive_within(at) {
                    continue;
                }
                let f = filters.entry(key).or_default();
                f.stmts.push(i);
                if s.word(at) == "term" && s.len() > at + 1 {
                    let t = s.word(at + 1);
                    match f.terms.iter().position(|x| x.name == t) {
                        Some(k) => f.terms[k].stmts.push(i),
                        None => f.terms.push(Term {
                            name: t.to_string(),
                            stmts: vec![i],
                        }),
                    }
                }
            }
            "policy-options" if s.word(1) == "prefix-list" && s.len() > 3 => {
                if let Some(a) = parse_net(s.word(3)) {
                    let e = prefix_lists
                        .entry(s.word(2).to_string())
                        .or_insert_with(AddrSet::empty);
                    *e = e.union(&a);
                }
            }
            "interfaces"
                if s.word(2) == "unit" && s.word(4) == "family" && s.word(6) == "filter" =>
            {
                let iface = format!("{}.{}", s.word(1), s.word(3));
                let fam = s.word(5).to_string();
                let dir = s.word(7);
                let name = s.word(8).to_string();
                let lo = s.word(1) == "lo0";
                let modeled = matches!(dir, "input" | "output")
                    && matches!(fam.as_str(), "inet" | "inet6")
                    && !(lo && dir == "output")
                    && s.len() == 9;
                if modeled {
                    applied.push(Applied {
                        lo,
                        iface,
                        dir: dir.to_string(),
                        key: (fam, name),
                        span: s.span,
                    });
                } else if lo && dir == "output" {
                    p.cfg.unparsed.push(crate::model::Unparsed {
                        span: s.span,
                        reason: format!(
                            "output filter {name} on {iface} applies to traffic the device \
                             originates, which is not modeled"
                        ),
                    });
                } else {
                    issues.push(InputIssue {
                        span: s.span,
                        message: format!(
                            "stateless firewall filter application `{}` on {iface} is not \
                             modeled: traffic it discards may be reported as allowed",
                            describe(s, 9)
                                .split(' ')
                                .skip(4)
                                .collect::<Vec<_>>()
                                .join(" ")
                        ),
                    });
                }
            }
            _ => {}
        }
    }
    p.cfg.errors.extend(issues);
    if filters.is_empty() && applied.is_empty() {
        return Stages::default();
    }

    // One chain per filter that is applied somewhere.
    let mut chain_of: BTreeMap<FilterKey, ChainId> = BTreeMap::new();
    let used: BTreeSet<FilterKey> = applied.iter().map(|a| a.key.clone()).collect();
    for (key, f) in &filters {
        if !used.contains(key) {
            continue;
        }
        let chain = filter_chain(p, key, f, &prefix_lists);
        p.cfg.filter.chains.push(chain);
        chain_of.insert(key.clone(), p.cfg.filter.chains.len() - 1);
    }
    for (key, f) in &filters {
        if !used.contains(key) {
            if let Some(&i) = f.stmts.first() {
                let span = p.tree.stmts[i].span;
                p.unparsed(
                    span,
                    format!(
                        "firewall filter {} (family {}) is not applied to any interface",
                        key.1, key.0
                    ),
                );
            }
        }
    }

    // Interface -> zone.
    let mut zone_of: BTreeMap<String, String> = BTreeMap::new();
    for (z, zone) in &p.obj.zones {
        for i in &zone.interfaces {
            zone_of.insert(i.clone(), z.clone());
        }
    }
    let stage = |p: &mut Parser<'_>, dir: &str| -> Option<ChainId> {
        let list: Vec<&Applied> = applied.iter().filter(|a| a.dir == dir && !a.lo).collect();
        if list.is_empty() {
            return None;
        }
        let mut rules = Vec::new();
        for a in &list {
            let family_set = if a.key.0 == "inet6" {
                all_v6()
            } else {
                all_v4()
            };
            let mut names = vec![a.iface.clone()];
            let mut rule = Rule::new(
                format!("{} {dir} filter {}", a.iface, a.key.1),
                a.span,
                Action::Unknown(format!("filter {} is not defined", a.key.1)),
            );
            if let Some(z) = zone_of.get(&a.iface) {
                names.push(z.clone());
                // The zone name stands for all its interfaces: exact only when they all have
                // this same filter.
                let same = p
                    .obj
                    .zones
                    .get(z)
                    .map(|zone| {
                        zone.interfaces
                            .iter()
                            .all(|i| list.iter().any(|b| b.iface == *i && b.key == a.key))
                    })
                    .unwrap_or(true);
                if !same {
                    rule.unmodeled.push(format!(
                        "zone {z} has other interfaces with another or no {dir} filter"
                    ));
                }
            }
            let mut sp = Space::all();
            sp.src = family_set;
            if dir == "input" {
                sp.src_zone = NameSet::only(names);
            } else {
                sp.dst_zone = NameSet::only(names);
            }
            rule.matches = vec![sp];
            if let Some(&c) = chain_of.get(&a.key) {
                rule.action = Action::Jump(c);
            }
            rules.push(rule);
        }
        let span = list[0].span;
        p.cfg.filter.chains.push(Chain {
            name: format!("interface {dir} filters"),
            span,
            rules,
            default: ChainDefault {
                action: Action::Allow,
                span,
                implicit: true,
            },
        });
        Some(p.cfg.filter.chains.len() - 1)
    };
    let input = stage(p, "input");
    let output = stage(p, "output");
    // Loopback filters: every packet to the device, whatever its ingress interface.
    let lo_list: Vec<&Applied> = applied.iter().filter(|a| a.lo).collect();
    let lo0 = if lo_list.is_empty() {
        None
    } else {
        let mut rules = Vec::new();
        for a in &lo_list {
            let mut rule = Rule::new(
                format!("{} input filter {}", a.iface, a.key.1),
                a.span,
                Action::Unknown(format!("filter {} is not defined", a.key.1)),
            );
            let mut sp = Space::all();
            sp.src = if a.key.0 == "inet6" {
                all_v6()
            } else {
                all_v4()
            };
            rule.matches = vec![sp];
            if let Some(&c) = chain_of.get(&a.key) {
                rule.action = Action::Jump(c);
            }
            rules.push(rule);
        }
        let span = lo_list[0].span;
        p.cfg.filter.chains.push(Chain {
            name: "loopback input filters".into(),
            span,
            rules,
            default: ChainDefault {
                action: Action::Allow,
                span,
                implicit: true,
            },
        });
        Some(p.cfg.filter.chains.len() - 1)
    };
    let stages = Stages { input, lo0 };
    if input.is_none() && output.is_none() {
        return stages;
    }
    // Insert the stages around the security policies (or alone for a router).
    match p
        .cfg
        .filter
        .entries
        .iter_mut()
        .find(|e| e.hook == Hook::Forward)
    {
        Some(e) => {
            if let Some(i) = input {
                e.stages.insert(0, i);
            }
            if let Some(o) = output {
                e.stages.push(o);
            }
        }
        None => {
            p.cfg.filter.entries.push(Entry {
                hook: Hook::Forward,
                stages: input.into_iter().chain(output).collect(),
            });
        }
    }
    stages
}

fn port_protos() -> ProtoSet {
    ProtoSet::from_ranges([
        (proto::TCP, proto::TCP),
        (proto::UDP, proto::UDP),
        (proto::SCTP, proto::SCTP),
    ])
}

fn filter_chain(
    p: &mut Parser<'_>,
    key: &FilterKey,
    f: &Filter,
    prefix_lists: &BTreeMap<String, AddrSet>,
) -> Chain {
    let fam = if key.0 == "inet6" { all_v6() } else { all_v4() };
    let mut path: Vec<String> = vec!["firewall".into()];
    if p.tree.stmts[f.stmts[0]].word(1) == "family" {
        path.extend(["family".into(), key.0.clone()]);
    }
    path.extend(["filter".into(), key.1.clone()]);
    let block_span = |p: &Parser<'_>, path: &[String], stmts: &[usize]| -> Span {
        match p.block_spans(path).first() {
            Some(b) => *b,
            None => stmts
                .iter()
                .map(|&i| p.tree.stmts[i].span)
                .reduce(|a, b| a.join(b))
                .unwrap_or(p.cfg.file_span),
        }
    };
    let chain_span = block_span(p, &path, &f.stmts);
    let mut rules = Vec::new();
    for t in &f.terms {
        let mut tpath = path.clone();
        tpath.extend(["term".into(), t.name.clone()]);
        let span = block_span(p, &tpath, &t.stmts);
        let at = tpath.len();
        let mut rule = Rule::new(
            format!("filter {} term {}", key.1, t.name),
            span,
            Action::Allow,
        );
        let mut src_in: Option<AddrSet> = None;
        let mut src_ex = AddrSet::empty();
        let mut dst_in: Option<AddrSet> = None;
        let mut dst_ex = AddrSet::empty();
        let mut any_in: Option<AddrSet> = None;
        let mut any_ex = AddrSet::empty();
        let mut protos: Option<ProtoSet> = None;
        let mut sport: Option<PortSet> = None;
        let mut dport: Option<PortSet> = None;
        let mut port: Option<PortSet> = None;
        let mut terminating: Option<Action> = None;
        let mut next_term = false;
        for s in t.stmts.iter().map(|&i| &p.tree.stmts[i]) {
            if s.inactive_within(at) {
                rule.enabled = false;
            } else if s.inactive_at.is_some() {
                continue;
            }
            let w = |k: usize| s.word(at + k);
            match w(0) {
                "from" => {
                    let cond = w(1);
                    let val = w(2);
                    let except = w(3) == "except";
                    let addr = |v: &str, notes: &mut Vec<String>| -> AddrSet {
                        match parse_net(v) {
                            Some(a) => a,
                            None => {
                                notes.push(format!("address {v} not understood"));
                                AddrSet::full()
                            }
                        }
                    };
                    let plist = |v: &str, notes: &mut Vec<String>| -> AddrSet {
                        match prefix_lists.get(v) {
                            Some(a) => a.clone(),
                            None => {
                                notes.push(format!("prefix-list {v} is not defined"));
                                AddrSet::full()
                            }
                        }
                    };
                    let add = |slot: &mut Option<AddrSet>, ex: &mut AddrSet, a: AddrSet| {
                        if except {
                            *ex = ex.union(&a);
                        } else {
                            *slot = Some(slot.take().map_or(a.clone(), |o| o.union(&a)));
                        }
                    };
                    match cond {
                        "source-address" => {
                            let a = addr(val, &mut rule.unmodeled);
                            add(&mut src_in, &mut src_ex, a)
                        }
                        "destination-address" => {
                            let a = addr(val, &mut rule.unmodeled);
                            add(&mut dst_in, &mut dst_ex, a)
                        }
                        "address" => {
                            let a = addr(val, &mut rule.unmodeled);
                            add(&mut any_in, &mut any_ex, a)
                        }
                        "source-prefix-list" => {
                            let a = plist(val, &mut rule.unmodeled);
                            add(&mut src_in, &mut src_ex, a)
                        }
                        "destination-prefix-list" => {
                            let a = plist(val, &mut rule.unmodeled);
                            add(&mut dst_in, &mut dst_ex, a)
                        }
                        "prefix-list" => {
                            let a = plist(val, &mut rule.unmodeled);
                            add(&mut any_in, &mut any_ex, a)
                        }
                        "protocol" | "next-header" => match proto::from_name(val) {
                            Some(n) => {
                                let ps = ProtoSet::single(n);
                                protos = Some(protos.take().map_or(ps.clone(), |o| o.union(&ps)));
                            }
                            None => rule
                                .unmodeled
                                .push(format!("protocol {val} not understood")),
                        },
                        "source-port" | "destination-port" | "port" => {
                            match apps::parse_ports(val) {
                                Some(ps) => {
                                    let slot = match cond {
                                        "source-port" => &mut sport,
                                        "destination-port" => &mut dport,
                                        _ => &mut port,
                                    };
                                    *slot = Some(slot.take().map_or(ps.clone(), |o| o.union(&ps)));
                                }
                                None => rule.unmodeled.push(format!("{cond} {val} not understood")),
                            }
                        }
                        "tcp-established" => {
                            rule.established_only = true;
                        }
                        "tcp-initial" => {
                            let ps = ProtoSet::single(proto::TCP);
                            protos = Some(protos.take().map_or(ps.clone(), |o| o.intersect(&ps)));
                        }
                        other => rule.unmodeled.push(format!("from {other} is not modeled")),
                    }
                }
                "then" => match w(1) {
                    "accept" => terminating = Some(Action::Allow),
                    "discard" | "reject" => terminating = Some(Action::Deny),
                    "next" if w(2) == "term" => next_term = true,
                    "routing-instance" => {
                        terminating = Some(Action::Allow);
                        rule.unmodeled.push(format!(
                            "then routing-instance {} (forwarded elsewhere)",
                            w(2)
                        ));
                    }
                    "count"
                    | "log"
                    | "syslog"
                    | "policer"
                    | "sample"
                    | "loss-priority"
                    | "forwarding-class"
                    | "port-mirror"
                    | "dscp"
                    | "three-color-policer" => {}
                    other => {
                        terminating = Some(Action::Unknown(format!("then {other}")));
                    }
                },
                _ => {}
            }
        }
        rule.action = match (terminating, next_term) {
            (Some(a), _) => a,
            (None, true) => Action::Continue,
            // No terminating action: Junos accepts.
            (None, false) => Action::Allow,
        };
        if (src_in.is_none() && !src_ex.is_empty())
            || (dst_in.is_none() && !dst_ex.is_empty())
            || (any_in.is_none() && !any_ex.is_empty())
        {
            rule.unmodeled.push(
                "an address list with only `except` entries (treated as all but those)".into(),
            );
        }
        // Build the spaces.
        let src = src_in.unwrap_or_else(AddrSet::full).difference(&src_ex);
        let dst = dst_in.unwrap_or_else(AddrSet::full).difference(&dst_ex);
        let mut base = Space::all();
        base.src = src.intersect(&fam);
        // Packets reach the filter with a source of its family (see the dispatch rule), so
        // the destination needs no family constraint.
        base.dst = dst;
        if let Some(ps) = protos {
            base.proto = ps;
        }
        if sport.is_some() || dport.is_some() || port.is_some() {
            if !base.proto.is_subset(&port_protos()) {
                if protos_was_set(&base.proto) {
                    // Protocols without ports cannot match a port condition.
                } else {
                    rule.unmodeled
                        .push("port match without `protocol` (treated as tcp/udp/sctp)".into());
                }
                base.proto = base.proto.intersect(&port_protos());
            }
            if let Some(s) = &sport {
                base.sport = s.clone();
            }
            if let Some(d) = &dport {
                base.dport = d.clone();
            }
        }
        let mut spaces = vec![base];
        if let Some(pp) = &port {
            spaces = spaces
                .into_iter()
                .flat_map(|s| {
                    let mut a = s.clone();
                    a.sport = a.sport.intersect(pp);
                    let mut b = s;
                    b.dport = b.dport.intersect(pp);
                    [a, b]
                })
                .collect();
        }
        if any_in.is_some() || !any_ex.is_empty() {
            let a = any_in.unwrap_or_else(AddrSet::full).difference(&any_ex);
            spaces = spaces
                .into_iter()
                .flat_map(|s| {
                    let mut x = s.clone();
                    x.src = x.src.intersect(&a);
                    let mut y = s;
                    y.dst = y.dst.intersect(&a);
                    [x, y]
                })
                .collect();
        }
        rule.matches = spaces.into_iter().filter(|s| !s.is_empty()).collect();
        rules.push(rule);
    }
    let first_line = {
        let lc = p.file.line_col(chain_span.start);
        let l = p.file.line_span(lc.line);
        Span::new(p.fid, chain_span.start, l.end.min(chain_span.end))
    };
    Chain {
        name: format!("filter {} (family {})", key.1, key.0),
        span: chain_span,
        rules,
        default: ChainDefault {
            action: Action::Deny,
            span: first_line,
            implicit: true,
        },
    }
}

/// Whether a protocol set was narrowed from "any" (an explicit `protocol` was given).
fn protos_was_set(p: &ProtoSet) -> bool {
    !p.is_full()
}
