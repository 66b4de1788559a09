//! `forbidden-exposure`: an insecure service is not permitted from untrusted sources.
//!
//! Untrusted sources are the `from` role when the user maps it, otherwise every address outside
//! private, loopback, link-local and shared ranges.

use super::required_flow::parts_for;
use super::*;
use crate::engine::flow::{modes_agree, Fate, Mode};
use crate::model::Hook;
use crate::pack::FlowSpec;
use crate::sets::{non_public_v4, parse_net, render_addrs, NameSet, Names, Space};

/// IPv6 addresses that are not "the internet" (the IPv4 ones are [`non_public_v4`]).
const NON_PUBLIC_V6: &[&str] = &["::1/128", "fc00::/7", "fe80::/10"];

/// Interfaces untrusted traffic never arrives on.
const LOOPBACK: &[&str] = &["lo", "lo0", "loopback", "Loopback0"];

/// Every public address: all but [`non_public_v4`] and [`NON_PUBLIC_V6`].
pub fn untrusted_default() -> AddrSet {
    static PUBLIC: std::sync::LazyLock<AddrSet> = std::sync::LazyLock::new(|| {
        NON_PUBLIC_V6
            .iter()
            .filter_map(|n| parse_net(n))
            .fold(AddrSet::full().difference(&non_public_v4()), |acc, n| {
                acc.difference(&n)
            })
    });
    PUBLIC.clone()
}

/// Zone and interface names that say "untrusted".
fn looks_untrusted(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "untrust", "outside", "internet", "external", "public", "wan",
    ]
    .iter()
    .any(|w| n.contains(w))
}

/// Source zones of the filter that look untrusted by name (`untrust`, `outside`, `wan1`...).
fn guessed_untrusted_zones(filter: &crate::model::Filter) -> std::collections::BTreeSet<String> {
    // Each name once: a long chain names its few zones over and over.
    let mut seen = std::collections::BTreeSet::new();
    for r in filter.chains.iter().flat_map(|c| &c.rules) {
        for m in &r.matches {
            if let NameSet::Only(names) = &m.src_zone {
                seen.extend(names.iter().map(String::as_str));
            }
        }
    }
    seen.into_iter()
        .filter(|n| looks_untrusted(n))
        .map(str::to_owned)
        .collect()
}

pub fn check(
    req: &Requirement,
    ctx: &Ctx,
    flow: &FlowSpec,
    from: &Option<String>,
    service: Option<&str>,
) -> Outcome {
    if let Some(o) = ctx.no_filter(req, &[Hook::Input, Hook::Forward]) {
        return o;
    }
    // The requirement's own role, else the user's `untrusted` mapping, else public addresses.
    let ep = ctx.endpoint(&Some(
        from.clone().unwrap_or_else(|| "untrusted".to_owned()),
    ));
    let mut space = Space::all();
    space.proto = flow.protocols.clone();
    space.dport = flow.ports.clone();
    let mapped = ep.is_mapped();
    space.src = ep.addresses.clone().unwrap_or_else(untrusted_default);
    // Without a mapping: zones whose names say untrusted when the device has any (a PAN-OS
    // `untrust` zone, a FortiGate `wan1`), else every interface but loopback.
    let mut guessed = Vec::new();
    match &ep.zones {
        Some(z) => space.src_zone = z.clone(),
        None => {
            let zones = match ctx.index {
                Some(index) => index
                    .untrusted_zones
                    .get_or_init(|| guessed_untrusted_zones(&ctx.config.filter))
                    .clone(),
                None => guessed_untrusted_zones(&ctx.config.filter),
            };
            if zones.is_empty() {
                space.src_zone =
                    NameSet::Except(Names::new(LOOPBACK.iter().map(|s| s.to_string()).collect()));
            } else {
                guessed = zones.iter().cloned().collect();
                // Rules that do not constrain the zone still match traffic from these zones.
                space.src_zone = NameSet::Only(zones.into());
            }
        }
    }
    let what = service.map(|s| format!("{s} ")).unwrap_or_default();
    let mut by_decider: BTreeMap<
        Decider,
        (crate::sets::ProtoSet, crate::sets::PortSet, AddrSet, bool),
    > = BTreeMap::new();
    // Possible exposure: the most permissive reading of rules with unmodelled conditions;
    // definite where the least permissive reading allows it too.
    // When the two readings agree (no allowing or denying rule with unmodelled conditions) the
    // least permissive walk is the most permissive one: its definite parts are the allowed
    // parts without an uncertain path, each of which is then definite itself (parts are
    // disjoint), so neither the second walk nor the subtraction is needed.
    let hooks = [Hook::Input, Hook::Forward];
    let agree = modes_agree(&ctx.config.filter);
    let definite: Vec<Space> = if agree {
        Vec::new()
    } else {
        parts_for(ctx, &hooks, &space, Mode::LeastPermissive)
            .into_iter()
            .filter(|p| p.fate == Fate::Allow && p.uncertain_via.is_empty())
            .map(|p| p.space)
            .collect()
    };
    for part in parts_for(ctx, &hooks, &space, Mode::MostPermissive) {
        if part.fate == Fate::Deny {
            continue;
        }
        let certain = part.fate == Fate::Allow
            && part.uncertain_via.is_empty()
            && (agree
                || definite
                    .iter()
                    .fold(vec![part.space.clone()], |rest, d| {
                        crate::sets::union_difference(rest, d)
                    })
                    .is_empty());
        let e = by_decider.entry(part.decider).or_insert_with(|| {
            (
                crate::sets::ProtoSet::empty(),
                crate::sets::PortSet::empty(),
                AddrSet::empty(),
                false,
            )
        });
        e.0 = e.0.union(&part.space.proto);
        e.1 = e.1.union(&part.space.dport);
        e.2 = e.2.union(&part.space.src);
        e.3 |= !certain;
    }
    let mut findings = Vec::new();
    for (d, (protos, ports, srcs, uncertain)) in by_decider {
        let (span, name, implicit) = ctx.decider(d);
        let mut f = finding(
            req,
            span,
            format!(
                "{name} permits {what}({}) from {}{}",
                render_flow(&protos, &ports),
                if mapped {
                    format!("the untrusted role ({})", render_addrs(&srcs, 3))
                } else {
                    describe_sources(&srcs)
                },
                if uncertain {
                    "; verdict uncertain: a condition or action on the path is not modelled"
                } else {
                    ""
                }
            ),
            format!("permits {what}{}", render_flow(&protos, &ports))
                .trim()
                .to_owned(),
        );
        f.from_default = implicit;
        f.uncertain = uncertain;
        f.approximate = !mapped && !guessed.is_empty();
        findings.push(f);
    }
    if findings.is_empty() {
        Outcome::pass(None)
    } else {
        let status = if findings.iter().all(|f| f.uncertain) {
            Status::Uncertain
        } else {
            Status::Fail
        };
        Outcome::with(status, findings)
    }
}

/// Sources in words: "any public address" rather than a list of CIDR blocks when it is all of them.
fn describe_sources(srcs: &AddrSet) -> String {
    let public = untrusted_default();
    let v4 = crate::sets::all_v4();
    if *srcs == public {
        "any public address".into()
    } else if *srcs == public.intersect(&v4) {
        "any public IPv4 address".into()
    } else if *srcs == public.difference(&v4) {
        "any public IPv6 address".into()
    } else {
        render_addrs(srcs, 3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untrusted_default_is_the_old_non_public_complement() {
        // The list this check had before the blocks moved to `sets::SPECIAL_V4`.
        const OLD_NON_PUBLIC: &[&str] = &[
            "0.0.0.0/8",
            "10.0.0.0/8",
            "100.64.0.0/10",
            "127.0.0.0/8",
            "169.254.0.0/16",
            "172.16.0.0/12",
            "192.168.0.0/16",
            "::1/128",
            "fc00::/7",
            "fe80::/10",
        ];
        let old = OLD_NON_PUBLIC
            .iter()
            .filter_map(|n| parse_net(n))
            .fold(AddrSet::full(), |acc, n| acc.difference(&n));
        assert_eq!(untrusted_default(), old);
    }
}
