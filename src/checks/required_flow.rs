//! `required-flow`: traffic the product needs is allowed through the device, with first-match
//! semantics. Reports the uncovered sub-ranges and the rules (or defaults) that block them.
//!
//! With both endpoints mapped, all of the mapped traffic must be allowed. Otherwise the check asks
//! whether each protocol/port is allowed for at least some source and destination in the flow's
//! direction, and the finding says the verdict is approximate.

use super::*;
use crate::engine::flow::{
    classify_indexed, classify_overlaid, entries_for, modes_agree, slice_fates, Fate, Mode,
    Overlay, Part, SliceFates,
};
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
            classify_indexed(
                &ctx.config.filter,
                ctx.index,
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
    check_by(req, ctx, flow, direction, (from, to), true)
}

/// [`check`], answered by slices where they can (`slices`) or always by the walk.
fn check_by(
    req: &Requirement,
    ctx: &Ctx,
    flow: &FlowSpec,
    direction: Direction,
    (from, to): (&Option<String>, &Option<String>),
    slices: bool,
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
    let approx_note = match (from_ep.is_mapped(), to_ep.is_mapped()) {
        (true, true) => String::new(),
        (false, false) => " (approximate: endpoints not mapped in portaudit.yaml, checked for at least some source and destination)".to_owned(),
        (false, true) => " (approximate: the source role is not mapped in portaudit.yaml, checked for at least some source)".to_owned(),
        (true, false) => " (approximate: the destination role is not mapped in portaudit.yaml, checked for at least some destination)".to_owned(),
    };
    let flow_ctx = FlowCtx {
        req,
        ctx,
        flow,
        direction,
        hooks,
        from,
        to,
        from_ep: &from_ep,
        to_ep: &to_ep,
        mapped,
        approx_note: &approx_note,
    };
    // Neither endpoint mapped: the question is only which protocols and ports some packet gets
    // through, which the slices answer without walking the parts (same verdict and findings).
    if slices && !from_ep.is_mapped() && !to_ep.is_mapped() {
        if let Some(outcome) = by_slices(&flow_ctx, &space) {
            return outcome;
        }
    }
    by_walk(&flow_ctx, &space)
}

/// What the two ways of answering a required flow ([`by_slices`], [`by_walk`]) share.
struct FlowCtx<'a> {
    req: &'a Requirement,
    ctx: &'a Ctx<'a>,
    flow: &'a FlowSpec,
    direction: Direction,
    hooks: &'a [Hook],
    from: &'a Option<String>,
    to: &'a Option<String>,
    from_ep: &'a Endpoint,
    to_ep: &'a Endpoint,
    /// Both endpoints mapped.
    mapped: bool,
    approx_note: &'a str,
}

/// Why a required flow is not (entirely) allowed.
struct Shortfall {
    /// Per protocol, the ports no packet is allowed on (mapped sides: not for all of them).
    missing: Vec<(u128, PortSet)>,
    /// What decides the missing traffic, by decider: its fate and the protocols and ports.
    blockers: Vec<(Decider, Fate, ProtoSet, PortSet)>,
    /// Whether some of the flow is allowed.
    any_allowed: bool,
    /// The mapped addresses not covered, for the message (`" from ... to ..."`, or empty).
    addr_note: String,
    /// The first decider that allows some of the flow, with the protocols and ports it allows.
    first_allow: Option<(Decider, Vec<(u128, PortSet)>)>,
}

/// A protocol set and a port set, borrowed.
type ProtoPorts<'s> = (&'s ProtoSet, &'s PortSet);

/// The blockers of `missing`: the deciders of denied and unknown traffic (each with its
/// protocols and ports) that overlap it, in decider order.
fn blockers_of<'s>(
    missing: &[(u128, PortSet)],
    denied: impl Iterator<Item = (Decider, Fate, ProtoPorts<'s>)>,
) -> Vec<(Decider, Fate, ProtoSet, PortSet)> {
    let mut blockers: Vec<(Decider, Fate, ProtoSet, PortSet)> = Vec::new();
    for (decider, fate, (pset, dport)) in denied {
        let mut protos = ProtoSet::empty();
        let mut ports = PortSet::empty();
        for (proto, gap) in missing {
            if pset.contains(*proto) {
                let hit = dport.intersect(gap);
                if !hit.is_empty() {
                    protos = protos.union(&ProtoSet::single(*proto));
                    ports = ports.union(&hit);
                }
            }
        }
        if protos.is_empty() {
            continue;
        }
        if let Some(b) = blockers.iter_mut().find(|b| b.0 == decider) {
            b.2 = b.2.union(&protos);
            b.3 = b.3.union(&ports);
        } else {
            blockers.push((decider, fate, protos, ports));
        }
    }
    blockers.sort_by_key(|b| b.0);
    blockers
}

/// The ports of each protocol of `flow` in `slices` (the protocols of the flow in order, those
/// with no port left out).
fn per_protocol<'s>(
    flow: &FlowSpec,
    slices: impl Iterator<Item = ProtoPorts<'s>> + Clone,
) -> Vec<(u128, PortSet)> {
    let mut out = Vec::new();
    for &(lo, hi) in flow.protocols.ranges() {
        for proto in lo..=hi {
            let ports = slices
                .clone()
                .filter(|s| s.0.contains(proto))
                .fold(PortSet::empty(), |acc, s| acc.union(s.1));
            if !ports.is_empty() {
                out.push((proto, ports));
            }
        }
    }
    out
}

/// Protocols and their ports, protocols with the same ports together: `tcp,udp/443`,
/// `tcp/80, udp/53`.
fn render_per_protocol(ports: &[(u128, PortSet)]) -> String {
    let mut groups: Vec<(ProtoSet, &PortSet)> = Vec::new();
    for (proto, set) in ports {
        match groups.iter_mut().find(|g| g.1 == set) {
            Some(g) => g.0 = g.0.union(&ProtoSet::single(*proto)),
            None => groups.push((ProtoSet::single(*proto), set)),
        }
    }
    groups
        .iter()
        .map(|(p, set)| render_flow(p, set))
        .collect::<Vec<_>>()
        .join(", ")
}

/// [`check`] for endpoints that are not mapped, from [`slice_fates`] on every entry; `None`
/// where an entry needs the walk.
fn by_slices(fc: &FlowCtx, space: &Space) -> Option<Outcome> {
    let ctx = fc.ctx;
    let index = ctx.index?;
    let filter = &ctx.config.filter;
    let fates: Vec<SliceFates> = entries_for(filter, fc.hooks)
        .into_iter()
        .map(|e| slice_fates(filter, index, e, space))
        .collect::<Option<_>>()?;
    let allowed = || fates.iter().flat_map(|f| &f.allowed).map(|(p, d)| (p, d));
    let allowed_ports = per_protocol(fc.flow, allowed());
    let mut missing: Vec<(u128, PortSet)> = Vec::new();
    for &(lo, hi) in fc.flow.protocols.ranges() {
        for proto in lo..=hi {
            let gap = match allowed_ports.iter().find(|(p, _)| *p == proto) {
                Some((_, have)) => fc.flow.ports.difference(have),
                None => fc.flow.ports.clone(),
            };
            if !gap.is_empty() {
                missing.push((proto, gap));
            }
        }
    }
    // The walk's first allowed part is in the first entry that allows any.
    let first = fates.iter().find_map(|f| f.first_allow.as_ref());
    if missing.is_empty() {
        // No rule that meets the flow has an unmodelled condition: the most and least
        // permissive readings agree, and the allowing parts passed none.
        return Some(passed(fc, first.map(|(d, _)| ctx.decider(*d).0)));
    }
    let denied = fates
        .iter()
        .flat_map(|f| &f.blocked)
        .map(|(d, fate, (p, ports))| (*d, *fate, (p, ports)));
    Some(short(
        fc,
        Shortfall {
            blockers: blockers_of(&missing, denied),
            missing,
            any_allowed: fates.iter().any(|f| !f.allowed.is_empty()),
            addr_note: String::new(),
            first_allow: first.map(|(d, slices)| {
                (
                    *d,
                    per_protocol(fc.flow, slices.iter().map(|(p, ports)| (p, ports))),
                )
            }),
        },
    ))
}

/// [`check`] by walking the flow's traffic through the filter.
fn by_walk(fc: &FlowCtx, space: &Space) -> Outcome {
    let (req, ctx, flow) = (fc.req, fc.ctx, fc.flow);
    let (from_ep, to_ep, hooks) = (fc.from_ep, fc.to_ep, fc.hooks);
    // The most permissive reading (rules with unmodelled conditions allow when they can, never
    // deny) gives what is definitely missing; the least permissive one, what is definitely allowed.
    let parts = parts_for(ctx, hooks, space, Mode::MostPermissive);
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
        let mut u: Vec<Space> = vec![project(space)];
        for p in allowed {
            u = crate::sets::union_difference(u, &project(&p.space));
        }
        u
    };
    let uncovered = uncovered_by(&allowed);
    // What is not allowed, per protocol (ports).
    let missing = per_protocol(flow, uncovered.iter().map(|s| (&s.proto, &s.dport)));

    if missing.is_empty() {
        // Allowed in the most permissive reading: is it also in the least permissive one, and
        // without passing an unknown action or an unmodelled jump?
        let least_walk;
        let least: &[Part] = if modes_agree(&ctx.config.filter) {
            &parts
        } else {
            least_walk = parts_for(ctx, hooks, space, Mode::LeastPermissive);
            &least_walk
        };
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
            return passed(fc, evidence);
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
                "{} is allowed only depending on {} whose condition(s) portaudit does not model ({}); verdict uncertain{}",
                render_flow(&flow.protocols, &flow.ports),
                r.name,
                r.unmodeled.join("; "),
                fc.approx_note
            ),
            "condition not modelled",
        );
        f.uncertain = true;
        f.approximate = !fc.mapped;
        return Outcome::with(Status::Uncertain, vec![f]);
    }

    // Blockers: the deciders of denied/unknown parts that overlap what is missing.
    let blockers = blockers_of(
        &missing,
        parts
            .iter()
            .filter(|p| p.fate != Fate::Allow)
            .map(|p| (p.decider, p.fate, (&p.space.proto, &p.space.dport))),
    );
    let any_allowed = !allowed.is_empty()
        && flow.protocols.ranges().iter().any(|&(lo, hi)| {
            (lo..=hi).any(|p| !ports_of(&allowed, p).intersect(&flow.ports).is_empty())
        });

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
    // What the first allowing decider allows of the flow: all of its parts, not only the first.
    let first_allow = allowed.first().map(|first| {
        let mine = allowed.iter().filter(|p| p.decider == first.decider);
        (
            first.decider,
            per_protocol(flow, mine.map(|p| (&p.space.proto, &p.space.dport))),
        )
    });
    short(
        fc,
        Shortfall {
            missing,
            blockers,
            any_allowed,
            addr_note,
            first_allow,
        },
    )
}

/// The outcome of a flow that is allowed, definitely: a pass, unless the destination (or the
/// source) is known only by host names.
fn passed(fc: &FlowCtx, evidence: Option<Span>) -> Outcome {
    if let Some((role, hosts)) = host_role(fc.ctx, fc.to, fc.to_ep) {
        return check_hosts(
            fc.req,
            fc.ctx,
            &HostFlow {
                flow: fc.flow,
                hooks: fc.hooks,
                from: fc.from_ep,
                role,
                hosts,
            },
        );
    }
    hosts_not_verifiable(fc.req, fc.ctx, fc.flow, fc.from, fc.from_ep)
        .unwrap_or_else(|| Outcome::pass(evidence))
}

/// The failing (or uncertain) outcome of a flow that is not entirely allowed.
fn short(fc: &FlowCtx, s: Shortfall) -> Outcome {
    let (req, ctx, flow) = (fc.req, fc.ctx, fc.flow);
    let Shortfall {
        missing,
        blockers,
        any_allowed,
        addr_note,
        first_allow,
    } = s;
    let missing_text = missing
        .iter()
        .map(|(p, ports)| format!("{}/{}", crate::sets::proto::name(*p), ports.render()))
        .collect::<Vec<_>>()
        .join(", ");
    let verdict = if any_allowed {
        "partly allowed"
    } else {
        "blocked"
    };
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
            "required {} flow {} is {verdict}: {missing_text} not allowed{addr_note}{}{}",
            direction_word(fc.direction),
            render_flow(&flow.protocols, &flow.ports),
            match first_blocker {
                Some((d, ..)) => format!(", first blocked by {}", ctx.decider(*d).1),
                None => String::new(),
            },
            fc.approx_note
        ),
        label,
    );
    f.from_default = from_default;
    f.uncertain = uncertain || blockers.iter().any(|b| b.1 == Fate::Unknown);
    f.approximate = !fc.mapped;
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
    if let Some((d, ports)) = first_allow {
        let (span, what, _) = ctx.decider(d);
        if span != f.span {
            f.related.push(related(
                span,
                format!("{what} allows {}", render_per_protocol(&ports)),
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

/// The destination role when it is known only by host names and the user has not mapped it.
fn host_role<'a>(
    ctx: &'a Ctx,
    to: &'a Option<String>,
    to_ep: &Endpoint,
) -> Option<(&'a str, &'a [String])> {
    let name = to.as_deref()?;
    let r = ctx.roles.get(name)?;
    (!to_ep.is_mapped() && !r.hosts.is_empty()).then_some((name, r.hosts.as_slice()))
}

/// A flow from a role known only by host names that the user has not mapped: that some source
/// is allowed does not show the named hosts are (a source address is never checked against FQDN
/// objects), so it is not evidenced rather than a pass.
fn hosts_not_verifiable(
    req: &Requirement,
    ctx: &Ctx,
    flow: &FlowSpec,
    from: &Option<String>,
    from_ep: &Endpoint,
) -> Option<Outcome> {
    let role = from.as_deref()?;
    let r = ctx.roles.get(role)?;
    if from_ep.is_mapped() || r.hosts.is_empty() {
        return None;
    }
    let hosts = r.hosts.join(", ");
    let mut f = finding(
        req,
        ctx.config.file_anchor(ctx.file),
        format!(
            "{} is allowed for some source, but whether it comes from {hosts} cannot be verified from this export: map the `{role}` role to the addresses or zones those names resolve to in portaudit.yaml",
            render_flow(&flow.protocols, &flow.ports)
        ),
        "host names not verifiable",
    );
    f.approximate = true;
    Some(Outcome::with(Status::NotEvidenced, vec![f]))
}

/// A required flow to a role known by host names.
struct HostFlow<'a> {
    flow: &'a FlowSpec,
    hooks: &'a [Hook],
    from: &'a Endpoint,
    role: &'a str,
    hosts: &'a [String],
}

/// What one host name gets.
enum HostVerdict {
    /// Allowed to every address the name may resolve to, by rules naming it or allowing any
    /// destination; the span of the allowing rule.
    Pass(Option<Span>),
    /// Blocked by a deny rule whose FQDN object matches the name.
    Blocked(Finding),
    /// Depends on a condition portaudit does not model, or an unknown action.
    Uncertain(Finding),
    /// Allowed only to address objects (or past a deny of some addresses), which may or may not
    /// be what the name resolves to.
    NotVerifiable(Finding),
}

/// The addresses a public host name may resolve to: public unicast IPv4 (the pseudo addresses of
/// names, private, loopback, link-local, shared, benchmarking, multicast and reserved ranges
/// excluded: [`crate::sets::non_host_v4`]). A deny of one of these before the allow may be what
/// the name resolves to.
fn public_v4() -> AddrSet {
    crate::sets::all_v4().difference(&crate::sets::non_host_v4())
}

/// Flows to a host role: every host of the role must be allowed (see [`host_verdict`]); a
/// wildcard host (`*.ucontactcloud.com`, the customer's own instance) is allowed when some name
/// under its domain is: a wildcard object covering the domain, or an FQDN object for a name under
/// it that is not another role's host (`stun.` and `monitor.ucontactcloud.com` are not the
/// instance).
fn check_hosts(req: &Requirement, ctx: &Ctx, hf: &HostFlow) -> Outcome {
    let others: std::collections::BTreeSet<String> = ctx
        .roles
        .iter()
        .filter(|(name, _)| name.as_str() != hf.role)
        .flat_map(|(_, r)| r.hosts.iter().map(|h| crate::sets::normalize_host(h)))
        .collect();
    let mut evidence = None;
    let mut fails = Vec::new();
    let mut uncertain = Vec::new();
    let mut unverified = Vec::new();
    for host in hf.hosts {
        let host = crate::sets::normalize_host(host);
        let verdict = if host.starts_with("*.") {
            let mut candidates = vec![host.clone()];
            candidates.extend(
                ctx.config
                    .fqdns
                    .iter()
                    .filter(|n| !n.starts_with("*.") && crate::sets::fqdn_matches(&host, n))
                    .filter(|n| !others.contains(n.as_str()))
                    .cloned(),
            );
            let verdicts: Vec<HostVerdict> = candidates
                .iter()
                .map(|c| host_verdict(req, ctx, hf, c, &host))
                .collect();
            pick_wildcard(verdicts)
        } else {
            host_verdict(req, ctx, hf, &host, &host)
        };
        match verdict {
            HostVerdict::Pass(span) => evidence = evidence.or(span),
            HostVerdict::Blocked(f) => fails.push(f),
            HostVerdict::Uncertain(f) => uncertain.push(f),
            HostVerdict::NotVerifiable(f) => unverified.push(f),
        }
    }
    if !fails.is_empty() {
        fails.extend(uncertain);
        fails.extend(unverified);
        return Outcome::with(Status::Fail, fails);
    }
    if !uncertain.is_empty() {
        uncertain.extend(unverified);
        return Outcome::with(Status::Uncertain, uncertain);
    }
    if !unverified.is_empty() {
        return Outcome::with(Status::NotEvidenced, unverified);
    }
    Outcome::pass(evidence)
}

/// A wildcard host is allowed when one of its candidate names is; blocked only when every
/// candidate is blocked; otherwise the first candidate's doubt.
fn pick_wildcard(verdicts: Vec<HostVerdict>) -> HostVerdict {
    let mut first_blocked = None;
    let mut first_other = None;
    for v in verdicts {
        match v {
            HostVerdict::Pass(_) => return v,
            HostVerdict::Blocked(_) => {
                first_blocked.get_or_insert(v);
            }
            _ => {
                first_other.get_or_insert(v);
            }
        }
    }
    first_other
        .or(first_blocked)
        .unwrap_or(HostVerdict::Pass(None))
}

/// One host name (`name`: an exact name, or a wildcard standing for a name under its domain that
/// no exact object names). Rules whose destination holds the pseudo address of the name or of an
/// FQDN pattern matching it (or `any`) match the name whatever it resolves to: their destination
/// is widened to every address. The flow must then be allowed to every public IPv4 address the
/// name may resolve to: an address object may or may not be one of them, so traffic allowed only
/// to address objects, or past a deny of some addresses, is not verifiable.
fn host_verdict(
    req: &Requirement,
    ctx: &Ctx,
    hf: &HostFlow,
    name: &str,
    role_host: &str,
) -> HostVerdict {
    use crate::sets::{fqdn_matches, host_addr, host_block};
    let flow = hf.flow;
    let fqdns = &ctx.config.fqdns;
    let names = fqdns
        .iter()
        .filter(|p| fqdn_matches(p, name))
        .fold(AddrSet::single(host_addr(name)), |acc, p| {
            acc.union(&AddrSet::single(host_addr(p)))
        });
    // Two different names with the same pseudo address (27 bits of hash): a rule naming the
    // other one would count for this one, so the verdict cannot be trusted.
    let collision = fqdns
        .iter()
        .find(|p| !fqdn_matches(p, name) && names.contains(host_addr(p)));
    let names_host = |s: &Space| s.dst.intersects(&names);
    let by_name = |s: &Space| names_host(s) && !host_block().is_subset(&s.dst);
    // Rules naming the host match it whatever it resolves to: their destination is read as
    // every address.
    let filter = &ctx.config.filter;
    let mut overlay = Overlay::default();
    for (c, chain) in filter.chains.iter().enumerate() {
        for (i, r) in chain.rules.iter().enumerate() {
            if r.matches.iter().any(names_host) {
                let widened = r
                    .matches
                    .iter()
                    .map(|s| {
                        let mut s = s.clone();
                        if names_host(&s) {
                            s.dst = AddrSet::full();
                        }
                        s
                    })
                    .collect();
                overlay.replace(c, i, widened);
            }
        }
    }
    let to = Endpoint {
        addresses: Some(public_v4()),
        zones: None,
    };
    let space = flow_space(flow, hf.from, &to);
    let project = |s: &Space| {
        let mut s = s.clone();
        if hf.from.addresses.is_none() {
            s.src = AddrSet::full();
        }
        if hf.from.zones.is_none() {
            s.src_zone = crate::sets::NameSet::Any;
        }
        s.dst_zone = crate::sets::NameSet::Any;
        s.sport = PortSet::full();
        s
    };
    let uncovered_by = |allowed: &[&Part]| {
        let mut u: Vec<Space> = vec![project(&space)];
        for p in allowed {
            u = crate::sets::union_difference(u, &project(&p.space));
        }
        u
    };
    let what = render_flow(&flow.protocols, &flow.ports);
    let shown = if name == role_host {
        name.to_owned()
    } else if name.starts_with("*.") {
        format!("a name under {}", name.trim_start_matches("*."))
    } else {
        format!("{name} (for {role_host})")
    };
    let approx = !hf.from.is_mapped();
    let approx_note = if approx {
        " (approximate on the source side: the source role is not mapped in portaudit.yaml, checked for at least some source)"
    } else {
        ""
    };
    let rule_of = |d: Decider| match d {
        Decider::Rule { chain, rule } | Decider::Unknown { chain, rule } => {
            ctx.config.filter.chains.get(chain)?.rules.get(rule)
        }
        Decider::Default { .. } => None,
    };
    let mk = |span: Span, message: String, label: String| {
        let mut f = finding(req, span, message, label);
        f.approximate = approx;
        f
    };
    if let Some(p) = collision {
        let mut f = mk(
            ctx.config.file_anchor(ctx.file),
            format!("{what} to {shown}: the FQDN object {p} shares its internal pseudo address with {name}, so the export cannot be checked for this name"),
            "host name not verifiable".into(),
        );
        f.uncertain = true;
        return HostVerdict::Uncertain(f);
    }

    let walk = |mode| -> Vec<Part> {
        entries_for(filter, hf.hooks)
            .into_iter()
            .flat_map(|e| {
                classify_overlaid(
                    filter,
                    ctx.index,
                    &overlay,
                    e,
                    std::slice::from_ref(&space),
                    ctx.max_depth,
                    mode,
                )
            })
            .collect()
    };
    let parts = walk(Mode::MostPermissive);
    let allowed: Vec<&Part> = parts.iter().filter(|p| p.fate == Fate::Allow).collect();
    let uncovered = uncovered_by(&allowed);
    if uncovered.is_empty() {
        let least_walk;
        let least: &[Part] = if modes_agree(filter) {
            &parts
        } else {
            least_walk = walk(Mode::LeastPermissive);
            &least_walk
        };
        let least_allowed: Vec<&Part> = least.iter().filter(|p| p.fate == Fate::Allow).collect();
        let via = least_allowed
            .iter()
            .chain(allowed.iter())
            .find_map(|p| p.uncertain_via.first().copied());
        if uncovered_by(&least_allowed).is_empty() && via.is_none() {
            return HostVerdict::Pass(least_allowed.first().map(|p| ctx.decider(p.decider).0));
        }
        let doubtful = least
            .iter()
            .filter(|p| p.fate != Fate::Allow)
            .chain(allowed.iter().copied())
            .find_map(|p| match p.decider {
                Decider::Rule { chain, rule } | Decider::Unknown { chain, rule }
                    if rule_of(p.decider).is_some_and(|r| !r.unmodeled.is_empty()) =>
                {
                    Some((chain, rule))
                }
                _ => None,
            })
            .or(via);
        let (span, text) = match doubtful.and_then(|(chain, rule)| rule_of(Decider::Rule { chain, rule })) {
            Some(r) => (
                r.span,
                format!(
                    "{what} to {shown} is allowed only depending on {} whose condition(s) portaudit does not model ({}); verdict uncertain{approx_note}",
                    r.name,
                    r.unmodeled.join("; ")
                ),
            ),
            None => (
                ctx.config.file_anchor(ctx.file),
                format!("{what} to {shown} is allowed only through rules portaudit cannot fully evaluate; verdict uncertain{approx_note}"),
            ),
        };
        let mut f = mk(span, text, "condition not modelled".into());
        f.uncertain = true;
        return HostVerdict::Uncertain(f);
    }

    // What decides the part that is not allowed, first in rule order.
    let mut blockers: Vec<(Decider, Fate)> = parts
        .iter()
        .filter(|p| p.fate != Fate::Allow)
        .filter(|p| {
            let ps = project(&p.space);
            uncovered.iter().any(|u| !u.intersect(&ps).is_empty())
        })
        .map(|p| (p.decider, p.fate))
        .collect();
    blockers.sort_by_key(|b| b.0);
    blockers.dedup_by_key(|b| b.0);
    let named_deny = blockers.iter().find(|(d, fate)| {
        *fate == Fate::Deny && rule_of(*d).is_some_and(|r| r.matches.iter().any(&by_name))
    });
    if let Some((d, _)) = named_deny {
        let (span, rule_name, _) = ctx.decider(*d);
        let f = mk(
            span,
            format!("required outbound flow {what} to {shown} is blocked: {rule_name} denies it with an FQDN destination matching {name}{approx_note}"),
            format!("{rule_name} blocks {what} to {name}"),
        );
        return HostVerdict::Blocked(f);
    }
    if let Some((d, _)) = blockers.iter().find(|b| b.1 == Fate::Unknown) {
        let (span, rule_name, _) = ctx.decider(*d);
        let mut f = mk(
            span,
            format!("{what} to {shown} depends on {rule_name}, whose action portaudit does not understand; verdict uncertain{approx_note}"),
            "action not understood".into(),
        );
        f.uncertain = true;
        return HostVerdict::Uncertain(f);
    }
    // Allowed by a rule naming the host or any destination, but a deny of some addresses comes
    // first; or allowed only to address objects.
    let wide_allow = allowed
        .iter()
        .find(|p| rule_of(p.decider).is_some_and(|r| r.matches.iter().any(&names_host)));
    let ip_allow = allowed
        .iter()
        .find(|p| rule_of(p.decider).is_some_and(|r| !r.matches.iter().any(&names_host)))
        .or(allowed.first());
    // A rule (not a default) denying some addresses before the allow.
    let first_block = blockers
        .iter()
        .find(|b| matches!(b.0, Decider::Rule { .. }))
        .map(|b| ctx.decider(b.0));
    let (span, text) = match (wide_allow, ip_allow, first_block) {
        (Some(a), _, Some((bspan, bname, _))) => {
            let (_, aname, _) = ctx.decider(a.decider);
            (
                bspan,
                format!("{what} to {shown} is allowed by {aname}, but {bname} before it denies some addresses, which may be what {name} resolves to: not verifiable from this export; map the `{}` role to the addresses it resolves to in portaudit.yaml{approx_note}", hf.role),
            )
        }
        (_, Some(a), _) => {
            let (aspan, aname, _) = ctx.decider(a.decider);
            (
                aspan,
                format!("{what} is allowed only to address objects ({aname}), which may or may not be what {shown} resolves to, and no rule allows it by FQDN object or to any destination: not verifiable from this export; add an FQDN object or map the `{}` role in portaudit.yaml{approx_note}", hf.role),
            )
        }
        _ => (
            ctx.config.file_anchor(ctx.file),
            format!("whether {what} reaches {shown} cannot be verified from this export: map the `{}` role in portaudit.yaml{approx_note}", hf.role),
        ),
    };
    let mut f = mk(span, text, "host names not verifiable".into());
    f.approximate = true;
    HostVerdict::NotVerifiable(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::index::FilterIndex;
    use crate::pack::{load_pack, Check};
    use crate::source::{FileId, SourceFile};
    use std::collections::BTreeMap;

    /// Every required flow of every built-in pack whose endpoints are not mapped, on every
    /// fixture: the slices give exactly the walk's outcome (status, findings, evidence), passes
    /// and failures alike, and they do answer (the walk is not the only path taken).
    #[test]
    fn slices_give_the_walks_outcome_on_every_fixture() {
        let packs: Vec<crate::pack::Pack> = crate::pack::builtin_packs()
            .iter()
            .enumerate()
            .map(|(i, (name, text))| {
                let f = SourceFile::from_bytes(
                    FileId(10_000 + i as u32),
                    name.to_string(),
                    None,
                    text.as_bytes(),
                );
                load_pack(&f, true, &BTreeMap::new()).expect("built-in pack loads")
            })
            .collect();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut paths: Vec<std::path::PathBuf> = walkdir::WalkDir::new(root.join("fixtures"))
            .into_iter()
            .chain(walkdir::WalkDir::new(root.join("tests/data")))
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file())
            .map(|e| e.into_path())
            .collect();
        paths.sort();
        let (mut compared, mut by_slices_answered, mut failed) = (0, 0, 0);
        for (i, path) in paths.iter().enumerate() {
            let bytes = std::fs::read(path).expect("fixture reads");
            let file =
                SourceFile::from_bytes(FileId(i as u32), path.display().to_string(), None, &bytes);
            let format = crate::formats::detect(&file);
            if !format.is_firewall() {
                continue;
            }
            let config = crate::formats::parse(&file, format, &crate::formats::Limits::default());
            let index = FilterIndex::new(&config.filter);
            for pack in &packs {
                let endpoints = crate::engine::pack_endpoints(pack, &BTreeMap::new());
                let ctx = Ctx {
                    config: &config,
                    file: &file,
                    endpoints: &endpoints,
                    roles: &pack.roles,
                    max_depth: 16,
                    index: Some(&index),
                };
                for req in &pack.requirements {
                    let Check::RequiredFlow {
                        flow,
                        direction,
                        from,
                        to,
                    } = &req.check
                    else {
                        continue;
                    };
                    if ctx.endpoint(from).is_mapped() || ctx.endpoint(to).is_mapped() {
                        continue;
                    }
                    let hooks = hooks(*direction, &config.filter);
                    let space = flow_space(flow, &Endpoint::default(), &Endpoint::default());
                    let answered = entries_for(&config.filter, hooks)
                        .into_iter()
                        .all(|e| slice_fates(&config.filter, &index, e, &space).is_some());
                    let fast = check_by(req, &ctx, flow, *direction, (from, to), true);
                    let walked = check_by(req, &ctx, flow, *direction, (from, to), false);
                    assert_eq!(
                        format!("{fast:?}"),
                        format!("{walked:?}"),
                        "{} on {}",
                        req.id,
                        path.display()
                    );
                    compared += 1;
                    if answered && !entries_for(&config.filter, hooks).is_empty() {
                        by_slices_answered += 1;
                        failed += usize::from(walked.status != Status::Pass);
                    }
                }
            }
        }
        assert!(
            compared > 1000 && by_slices_answered > 500 && failed > 100,
            "{compared} compared, {by_slices_answered} answered by slices, {failed} of them not passing"
        );
    }
}
