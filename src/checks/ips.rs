//! `ips-on-voice`: IPS is (not) applied to voice signalling and media. Only rules that actually
//! decide voice traffic (first match) count, so an inspected rule shadowed by an earlier
//! uninspected one is not reported.

use super::*;
use crate::engine::flow::{allowing_rules, classify_indexed, entries_for, Fate, Mode};
use crate::model::{Hook, InspectionKind};
use crate::pack::FlowSpec;
use crate::sets::{PortSet, ProtoSet, Space};

pub fn check(req: &Requirement, ctx: &Ctx, want_enabled: bool, flows: &[FlowSpec]) -> Outcome {
    let hooks = [Hook::Input, Hook::Forward, Hook::Output];
    // Rules deciding voice traffic, with the voice part they carry.
    let mut deciding: BTreeMap<(usize, usize), (ProtoSet, PortSet)> = BTreeMap::new();
    let mut carry = |chain, rule, protos: &ProtoSet, ports: &PortSet| {
        let e = deciding
            .entry((chain, rule))
            .or_insert_with(|| (ProtoSet::empty(), PortSet::empty()));
        e.0 = e.0.union(protos);
        e.1 = e.1.union(ports);
    };
    let filter = &ctx.config.filter;
    for flow in flows {
        let mut space = Space::all();
        space.proto = flow.protocols.clone();
        space.dport = flow.ports.clone();
        for entry in entries_for(filter, &hooks) {
            // The allowing rules straight from the index where it can tell them; the walk of
            // every part otherwise. Both credit each rule with the same traffic.
            if let Some((chain, rules)) = ctx
                .index
                .and_then(|ix| allowing_rules(filter, ix, entry, &space))
            {
                for (rule, (protos, ports)) in &rules {
                    carry(chain, *rule, protos, ports);
                }
                continue;
            }
            let input = std::slice::from_ref(&space);
            for part in classify_indexed(
                filter,
                ctx.index,
                entry,
                input,
                ctx.max_depth,
                Mode::AsWritten,
            ) {
                if part.fate != Fate::Allow {
                    continue;
                }
                if let Decider::Rule { chain, rule } = part.decider {
                    carry(chain, rule, &part.space.proto, &part.space.dport);
                }
            }
        }
    }
    let mut inspected = Vec::new();
    let mut uninspected = Vec::new();
    for (&(chain, rule), carried) in &deciding {
        let r = &ctx.config.filter.chains[chain].rules[rule];
        match r.inspection.iter().find(|i| i.kind == InspectionKind::Ips) {
            Some(ins) => inspected.push((r, ins, carried)),
            None => uninspected.push((r, carried)),
        }
    }
    let device_ips = ctx.config.features.ips.as_ref().filter(|s| s.enabled);
    if !want_enabled {
        let mut findings = Vec::new();
        for (r, ins, (protos, ports)) in inspected {
            let mut f = finding(
                req,
                ins.span,
                format!(
                    "IPS profile \"{}\" is applied to voice traffic ({}) through {}",
                    ins.name,
                    render_flow(protos, ports),
                    r.name
                ),
                "IPS on voice traffic",
            );
            f.related.push(related(
                r.span,
                format!("{} carries {}", r.name, render_flow(protos, ports)),
            ));
            findings.push(f);
        }
        if let Some(state) = device_ips {
            let mut f = finding(
                req,
                state.span,
                format!(
                    "IPS is enabled device-wide and inspects voice traffic: {}",
                    state.reason
                ),
                "IPS enabled",
            );
            f.from_default = state.default;
            findings.push(f);
        }
        return if findings.is_empty() {
            Outcome::pass(None)
        } else {
            Outcome::with(Status::Fail, findings)
        };
    }
    // IPS required on voice flows (a profile that wants inspection everywhere).
    if device_ips.is_some() || (uninspected.is_empty() && !deciding.is_empty()) {
        return Outcome::pass(None);
    }
    let findings = uninspected
        .into_iter()
        .map(|(r, (protos, ports))| {
            finding(
                req,
                r.span,
                format!(
                    "{} allows voice traffic ({}) without IPS",
                    r.name,
                    render_flow(protos, ports)
                ),
                "no IPS",
            )
        })
        .collect::<Vec<_>>();
    if findings.is_empty() {
        Outcome::pass(None)
    } else {
        Outcome::with(Status::Fail, findings)
    }
}
