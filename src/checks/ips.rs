//! `ips-on-voice`: IPS is (not) applied to voice signalling and media. Only rules that actually
//! decide voice traffic (first match) count, so an inspected rule shadowed by an earlier
//! uninspected one is not reported.

use super::required_flow::parts_for;
use super::*;
use crate::engine::flow::{Fate, Mode};
use crate::model::{Hook, InspectionKind};
use crate::pack::FlowSpec;
use crate::sets::Space;

pub fn check(req: &Requirement, ctx: &Ctx, want_enabled: bool, flows: &[FlowSpec]) -> Outcome {
    let hooks = [Hook::Input, Hook::Forward, Hook::Output];
    // Rules deciding voice traffic, with the voice part they carry.
    let mut deciding: BTreeMap<(usize, usize), (crate::sets::ProtoSet, crate::sets::PortSet)> =
        BTreeMap::new();
    for flow in flows {
        let mut space = Space::all();
        space.proto = flow.protocols.clone();
        space.dport = flow.ports.clone();
        for part in parts_for(ctx, &hooks, &space, Mode::AsWritten) {
            if part.fate != Fate::Allow {
                continue;
            }
            if let Decider::Rule { chain, rule } = part.decider {
                let e = deciding.entry((chain, rule)).or_insert_with(|| {
                    (
                        crate::sets::ProtoSet::empty(),
                        crate::sets::PortSet::empty(),
                    )
                });
                e.0 = e.0.union(&part.space.proto);
                e.1 = e.1.union(&part.space.dport);
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
