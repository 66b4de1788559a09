//! `required-flow`: traffic the product needs is allowed through the device, with first-match
//! semantics. Reports the uncovered sub-ranges and the rules (or defaults) that block them.
//!
//! With both endpoints mapped, all of the mapped traffic must be allowed. Otherwise the check asks
//! whether each protocol/port is allowed for at least some source and destination in the flow's
//! direction, and the finding says the verdict is approximate.

use super::*;
use crate::engine::flow::{classify_mode, entries_for, Fate, Mode, Part};
use crate::model::Hook;
use crate::pack::{Direction, FlowSpec};
use crate::sets::{render_addrs, PortSet, ProtoSet, Space};

/// Whether the device filters traffic routed through it (a gateway), as opposed to a host
/// firewall that only guards its own traffic: its forward path has rules or denies by default.
fn is_gateway(filter: &crate::model::Filter) -> bool {
    filter
        .entries
        .iter()
        .filter(|e| e.hook == Hook::Forward)
        .any(|e| {
            e.stages.iter().any(|&c| {
                filter.chains.get(c).is_some_and(|ch| {
                    ch.rules.iter().any(|r| r.enabled)
                        || ch.default.action == crate::model::Action::Deny
                })
            })
        })
}

/// The paths a flow takes: through a gateway, its forward path whatever the direction (the
/// endpoints are behind it); on a host firewall, traffic to it (inbound) or from it (outbound).
pub(super) fn hooks(direction: Direction, filter: &crate::model::Filter) -> &'static [Hook] {
    if is_gateway(filter) {
        return &[Hook::Forward];
    }
    match direction {
        Direction::Outbound => &[Hook::Output],
        Direction::Inbound => &[Hook::Input],
        Direction::Through => &[Hook::Forward],
    }
}

/// The space of a flow between two endpoints.
pub(super) fn flow_space(flow: &FlowSpec, from: &Endpoint, to: &Endpoint) -> Space {
    let mut s = Space::all();
    s.proto = flow.protocols.clone();
    s.dport = flow.ports.clone();
    if let Some(a) = &from.addresses {
        s.src = a.clone();
    }
    if let Some(a) = &to.addresses {
        s.dst = a.clone();
    }
    if let Some(z) = &from.zones {
        s.src_zone = z.clone();
    }
    if let Some(z) = &to.zones {
        s.dst_zone = z.clone();
    }
    s
}

/// Push a space through every entry of the given hooks.
pub(super) fn parts_for(ctx: &Ctx, hooks: &[Hook], space: &Space, mode: Mode) -> Vec<Part> {
    entries_for(&ctx.config.filter, hooks)
        .into_iter()
        .flat_map(|e| {
            classify_mode(
                &ctx.config.filter,
                e,
                std::slice::from_ref(space),
                ctx.max_depth,
                mode,
            )
        })
        .collect()
}

/// The ports of `protocol` covered by parts with the given fate.
fn ports_of(parts: &[&Part], protocol: u128) -> PortSet {
    parts
        .iter()
        .filter(|p| p.space.proto.contains(protocol))
        .fold(PortSet::empty(), |acc, p| acc.union(&p.space.dport))
}

pub fn check(
    req: &Requirement,
    ctx: &Ctx,
    flow: &FlowSpec,
    direction: Direction,
    from: &Option<String>,
    to: &Option<String>,
) -> Outcome {
    let from_ep = ctx.endpoint(from);
    let to_ep = ctx.endpoint(to);
    let mapped = from_ep.is_mapped() && to_ep.is_mapped();
    let space = flow_space(flow, &from_ep, &to_ep);
    let hooks = hooks(direction, &ctx.config.filter);
    if entries_for(&ctx.config.filter, hooks).is_empty() {
        let mut f = finding(
            req,
            ctx.config.file_anchor(ctx.file),
            format!(
                "no packet filter for {} traffic was found in this export, so {} cannot be verified",
                direction_word(direction),
                render_flow(&flow.protocols, &flow.ports)
            ),
            "no filter evidenced",
        );
        f.uncertain = true;
        return Outcome::with(Status::NotEvidenced, vec![f]);
    }
    // The most permissive reading (rules with unmodelled conditions allow when they can, never
    // deny) gives what is definitely missing; the least permissive one, what is definitely allowed.
    let parts = parts_for(ctx, hooks, &space, Mode::MostPermissive);
    let allowed: Vec<&Part> = parts.iter().filter(|p| p.fate == Fate::Allow).collect();

    // Mapped sides must be covered entirely; an unmapped side only needs some address and zone
    // (existential): project allowed parts onto the mapped dimensions before subtracting.
    // Each dimension separately: an address mapping without zones needs the addresses covered
    // through at least some interface, and vice versa.
    let project = |s: &Space| {
        let mut s = s.clone();
        if from_ep.addresses.is_none() {
            s.src = AddrSet::full();
        }
        if from_ep.zones.is_none() {
            s.src_zone = crate::sets::NameSet::Any;
        }
        if to_ep.addresses.is_none() {
            s.dst = AddrSet::full();
        }
        if to_ep.zones.is_none() {
            s.dst_zone = crate::sets::NameSet::Any;
        }
        s.sport = PortSet::full();
        s
    };
    let uncovered_by = |allowed: &[&Part]| {
        let mut u: Vec<Space> = vec![project(&space)];
        for p in allowed {
            u = crate::sets::union_difference(&u, &project(&p.space));
        }
        u
    };
    let uncovered = uncovered_by(&allowed);
    // What is not allowed, per protocol (ports).
    let mut missing: Vec<(u128, PortSet)> = Vec::new();
    for &(lo, hi) in flow.protocols.ranges() {
        for proto in lo..=hi {
            let ports = uncovered
                .iter()
                .filter(|s| s.proto.contains(proto))
                .fold(PortSet::empty(), |acc, s| acc.union(&s.dport));
            if !ports.is_empty() {
                missing.push((proto, ports));
            }
        }
    }

    let approx_note = match (from_ep.is_mapped(), to_ep.is_mapped()) {
        (true, true) => String::new(),
        (false, false) => " (approximate: endpoints not mapped in portaudit.yaml, checked for at least some source and destination)".to_owned(),
        (false, true) => " (approximate: the source role is not mapped in portaudit.yaml, checked for at least some source)".to_owned(),
        (true, false) => " (approximate: the destination role is not mapped in portaudit.yaml, checked for at least some destination)".to_owned(),
    };

    if missing.is_empty() {
        // Allowed in the most permissive reading: is it also in the least permissive one, and
        // without passing an unknown action or an unmodelled jump?
        let least = parts_for(ctx, hooks, &space, Mode::LeastPermissive);
        let least_allowed: Vec<&Part> = least.iter().filter(|p| p.fate == Fate::Allow).collect();
        let definite = uncovered_by(&least_allowed).is_empty();
        let evidence = least_allowed
            .first()
            .or(allowed.first())
            .map(|p| ctx.decider(p.decider).0);
        let via: Option<(usize, usize)> = least_allowed
            .iter()
            .chain(allowed.iter())
            .find_map(|p| p.uncertain_via.first().copied());
        if definite && via.is_none() {
            return hosts_not_verifiable(req, ctx, flow, from, to, &from_ep, &to_ep)
                .unwrap_or_else(|| Outcome::pass(evidence));
        }
        // The rule whose unmodelled condition decides: a denying rule of the least permissive
        // reading, else an allowing rule of the most permissive one, else one on the path.
        let doubtful = least
            .iter()
            .filter(|p| p.fate != Fate::Allow)
            .chain(allowed.iter().copied())
            .find_map(|p| match p.decider {
                Decider::Rule { chain, rule } | Decider::Unknown { chain, rule }
                    if !ctx.config.filter.chains[chain].rules[rule]
                        .unmodeled
                        .is_empty() =>
                {
                    Some((chain, rule))
                }
                _ => None,
            })
            .or(via);
        let Some((chain, rule)) = doubtful else {
            return Outcome::pass(evidence);
        };
        let r = &ctx.config.filter.chains[chain].rules[rule];
        let mut f = finding(
            req,
            r.span,
            format!(
                "{} is allowed only depending on {} whose condition(s) portaudit does not model ({}); verdict uncertain{approx_note}",
                render_flow(&flow.protocols, &flow.ports),
                r.name,
                r.unmodeled.join("; ")
            ),
            "condition not modelled",
        );
        f.uncertain = true;
        f.approximate = !mapped;
        return Outcome::with(Status::Uncertain, vec![f]);
    }

    // Blockers: the deciders of denied/unknown parts that overlap what is missing.
    let mut blockers: Vec<(Decider, Fate, ProtoSet, PortSet)> = Vec::new();
    for p in parts.iter().filter(|p| p.fate != Fate::Allow) {
        let mut protos = ProtoSet::empty();
        let mut ports = PortSet::empty();
        for (proto, gap) in &missing {
            if p.space.proto.contains(*proto) {
                let hit = p.space.dport.intersect(gap);
                if !hit.is_empty() {
                    protos = protos.union(&ProtoSet::single(*proto));
                    ports = ports.union(&hit);
                }
            }
        }
        if protos.is_empty() {
            continue;
        }
        if let Some(b) = blockers.iter_mut().find(|b| b.0 == p.decider) {
            b.2 = b.2.union(&protos);
            b.3 = b.3.union(&ports);
        } else {
            blockers.push((p.decider, p.fate, protos, ports));
        }
    }
    blockers.sort_by_key(|b| b.0);

    let missing_text = missing
        .iter()
        .map(|(p, ports)| format!("{}/{}", crate::sets::proto::name(*p), ports.render()))
        .collect::<Vec<_>>()
        .join(", ");
    let any_allowed = !allowed.is_empty()
        && flow.protocols.ranges().iter().any(|&(lo, hi)| {
            (lo..=hi).any(|p| !ports_of(&allowed, p).intersect(&flow.ports).is_empty())
        });
    let verdict = if any_allowed {
        "partly allowed"
    } else {
        "blocked"
    };

    let mut addr_note = String::new();
    let srcs = uncovered
        .iter()
        .fold(AddrSet::empty(), |a, s| a.union(&s.src));
    let dsts = uncovered
        .iter()
        .fold(AddrSet::empty(), |a, s| a.union(&s.dst));
    let mut parts_note = Vec::new();
    if from_ep.is_mapped() && srcs != space.src {
        parts_note.push(format!("from {}", render_addrs(&srcs, 4)));
    }
    if to_ep.is_mapped() && dsts != space.dst {
        parts_note.push(format!("to {}", render_addrs(&dsts, 4)));
    }
    if !parts_note.is_empty() {
        addr_note = format!(" {}", parts_note.join(" "));
    }

    let first_blocker = blockers
        .iter()
        .find(|b| b.1 == Fate::Deny)
        .or(blockers.first());
    let (span, label, from_default, uncertain) = match first_blocker {
        Some((d, fate, protos, ports)) => {
            let (span, what, implicit) = ctx.decider(*d);
            let verb = if *fate == Fate::Unknown {
                "has an action portaudit does not understand for"
            } else {
                "blocks"
            };
            (
                span,
                format!("{what} {verb} {}", render_flow(protos, ports)),
                implicit,
                *fate == Fate::Unknown,
            )
        }
        None => (
            ctx.config.file_anchor(ctx.file),
            "not allowed".to_owned(),
            false,
            true,
        ),
    };
    let mut f = finding(
        req,
        span,
        format!(
            "required {} flow {} is {verdict}: {missing_text} not allowed{addr_note}{}{approx_note}",
            direction_word(direction),
            render_flow(&flow.protocols, &flow.ports),
            match first_blocker {
                Some((d, ..)) => format!(", first blocked by {}", ctx.decider(*d).1),
                None => String::new(),
            }
        ),
        label,
    );
    f.from_default = from_default;
    f.uncertain = uncertain || blockers.iter().any(|b| b.1 == Fate::Unknown);
    f.approximate = !mapped;
    for (d, fate, protos, ports) in blockers.iter().skip(1).take(20) {
        let (span, what, _) = ctx.decider(*d);
        let verb = if *fate == Fate::Unknown {
            "unknown action for"
        } else {
            "also blocks"
        };
        f.related.push(related(
            span,
            format!("{what} {verb} {}", render_flow(protos, ports)),
        ));
    }
    if let Some(p) = allowed.first() {
        let (span, what, _) = ctx.decider(p.decider);
        if span != f.span {
            f.related.push(related(
                span,
                format!(
                    "{what} allows {}",
                    render_flow(&p.space.proto, &p.space.dport)
                ),
            ));
        }
    }
    let status = if f.uncertain && blockers.iter().all(|b| b.1 == Fate::Unknown) {
        Status::Uncertain
    } else {
        Status::Fail
    };
    Outcome::with(status, vec![f])
}

fn direction_word(d: Direction) -> &'static str {
    match d {
        Direction::Outbound => "outbound",
        Direction::Inbound => "inbound",
        Direction::Through => "internal",
    }
}

/// A flow to or from a role known only by host names (uContact's STUN and instance hosts, a
/// certificate site) that the user has not mapped: that some address is allowed does not show the
/// named hosts are, and the export has no way to tell, so it is not evidenced rather than a pass.
fn hosts_not_verifiable(
    req: &Requirement,
    ctx: &Ctx,
    flow: &FlowSpec,
    from: &Option<String>,
    to: &Option<String>,
    from_ep: &Endpoint,
    to_ep: &Endpoint,
) -> Option<Outcome> {
    let named = |role: &Option<String>, ep: &Endpoint| {
        let r = ctx.roles.get(role.as_deref()?)?;
        (!ep.is_mapped() && !r.hosts.is_empty())
            .then(|| (role.clone().unwrap_or_default(), r.hosts.join(", ")))
    };
    let (role, hosts) = named(to, to_ep).or_else(|| named(from, from_ep))?;
    let mut f = finding(
        req,
        ctx.config.file_anchor(ctx.file),
        format!(
            "{} is allowed for some destination, but whether it reaches {hosts} cannot be verified from this export: map the `{role}` role to the addresses or zones those names resolve to in portaudit.yaml",
            render_flow(&flow.protocols, &flow.ports)
        ),
        "host names not verifiable",
    );
    f.approximate = true;
    Some(Outcome::with(Status::NotEvidenced, vec![f]))
}
