//! FortiGate (FortiOS `show full-configuration` output and backup files).
//!
//! The file is first read into a generic spanned tree ([`tree`]): `config PATH` ... `end`,
//! `edit NAME` ... `next`, and leaf statements (`set`, `unset`, `append`, `select`, `unselect`,
//! `delete`, `move`, ...). An `edit` of a name that already exists modifies it, as the CLI does.
//! A block still open at the end of the file (a truncated export) is an [`InputIssue`] naming the
//! line that opened it; a stray `end`/`next` is [`Unparsed`].
//!
//! Semantics built on the tree:
//! - **VDOMs.** Without `config vdom`, the whole file is one VDOM. With it, `config global` (and
//!   anything at top level) holds global objects, and each `config vdom` / `edit NAME` holds a
//!   VDOM's own configuration; every VDOM gets its own policy chain and its own `Forward`
//!   [`Entry`] (entries are alternatives). A VDOM sees its own objects, then global ones.
//! - **Policies.** `config firewall policy` (and the pre-6.4 `firewall policy6` table, whose
//!   IPv6 addresses never overlap the IPv4 ones) is one chain, in the order of the `edit` blocks
//!   (not their ids), after `move` statements; first match wins; at the end FortiOS denies
//!   (implicit, pointing at the `config firewall policy` line). `show` omits defaults, so no
//!   `set action` means **deny** and no `set status` means enabled. `accept` and `ipsec` allow.
//!   Each policy matches the union, per address family present, of `srcaddr x dstaddr` (IPv4)
//!   and `srcaddr6 x dstaddr6` (IPv6) with every element of its services; `any`/`all` are the
//!   whole family. `srcintf`/`dstintf` are the zones: a `system zone` name stands for itself and
//!   its member interfaces. `*-negate enable` complements within the family (addresses) or
//!   within protocol x ports (services). A schedule other than `always`, user/group conditions,
//!   Internet Service databases, FQDN/geography/wildcard addresses and unknown objects are not
//!   modeled: the dimension becomes the whole family and the rule lists the condition in
//!   `unmodeled` (unknown objects are also [`Unparsed`]).
//! - **Local-in policies.** `config firewall local-in-policy` is a separate chain entered from
//!   the `Input` hook. Its default is an implicit **allow**: local-in policies only restrict what
//!   the interface's administrative access (`allowaccess`) already lets in.
//! - **Inspection.** `set ips-sensor` / `set voip-profile` on an accepting policy (directly, or
//!   through `profile-type group`) is an [`Inspection`] spanning that `set` line, unless the
//!   policy says `set utm-status disable` (then FortiOS does not apply profiles; noted).
//! - **SIP ALG.** Per VDOM: `default-voip-alg-mode` (in `config system settings`; absent means
//!   `proxy-based`, i.e. the ALG is on). In `kernel-helper-based` mode the SIP proxy is off, but
//!   the `config system session-helper` entry with `set name sip` is the kernel SIP helper (on
//!   while present, and by default when the export has no session-helper table; pre-6.2
//!   `set sip-helper disable` turns it off). An enabled accepting policy with a `voip-profile`
//!   forces the proxy for that policy. The device's state is on when any VDOM's is on.
//! - **Secrets.** Values of `set` lines are never copied into the model except object names,
//!   addresses, service ports and profile names.

mod objects;
mod tree;

#[cfg(test)]
mod tests;

use crate::formats::Limits;
use crate::model::{
    Action, Chain, ChainDefault, Config, Entry, FeatureState, Format, Hook, Inspection,
    InspectionKind, Rule, Unparsed,
};
use crate::sets::{union_difference, AddrSet, NameSet, Space};
use crate::source::{SourceFile, Span};

use objects::{Fam, Objects, Resolved, Svc};
use rayon::prelude::*;
use tree::{leaves, parse_tree, table, value, Kind, Node};

/// Top-level `config` paths that only FortiOS writes.
const STRONG_PATHS: &[&str] = &[
    "system global",
    "system interface",
    "system settings",
    "system zone",
    "firewall policy",
    "firewall local-in-policy",
    "firewall address",
    "firewall addrgrp",
    "firewall service custom",
    "firewall service group",
    "firewall vip",
    "vdom",
    "global",
];

/// Recognise a FortiOS export: the `#config-version=` header, or `config` blocks with FortiOS
/// paths holding `edit`/`set` statements and closed by `end`/`next`.
pub fn sniff(_name: &str, text: &str) -> u8 {
    let (mut strong, mut body, mut close) = (false, false, false);
    for line in super::util::text_lines(text) {
        let t = super::util::trim(line);
        if t.starts_with("#config-version=") {
            return 100;
        }
        if let Some(path) = t.strip_prefix("config ") {
            let path = path.split_whitespace().collect::<Vec<_>>().join(" ");
            strong |= STRONG_PATHS.contains(&path.as_str());
        } else if t.starts_with("edit ") || t.starts_with("set ") {
            body = true;
        } else if t == "end" || t == "next" {
            close = true;
        }
    }
    if strong && body && close {
        90
    } else {
        0
    }
}

/// Which table a policy comes from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PolicyKind {
    Forward,
    LocalIn,
}

impl PolicyKind {
    /// The tables of this kind: the main (IPv4 or, since 6.4, consolidated) table, then the
    /// pre-6.4 IPv6 table, whose addresses never overlap the main table's IPv4 ones.
    fn paths(self) -> [&'static str; 2] {
        match self {
            PolicyKind::Forward => ["firewall policy", "firewall policy6"],
            PolicyKind::LocalIn => ["firewall local-in-policy", "firewall local-in-policy6"],
        }
    }
}

/// One VDOM: its own `config` blocks and the global ones it sees.
struct Scope<'t> {
    name: Option<String>,
    own: Vec<&'t Node<'t>>,
    global: Vec<&'t Node<'t>>,
}

impl<'t> Scope<'t> {
    /// Blocks of a path visible in this VDOM (global first, so the VDOM's own definitions win).
    fn blocks(&self, path: &str) -> Vec<&'t Node<'t>> {
        self.global
            .iter()
            .chain(self.own.iter())
            .copied()
            .filter(|n| n.is_config(path))
            .collect()
    }
    /// Blocks of a path written in this VDOM itself.
    fn own_blocks(&self, path: &str) -> Vec<&'t Node<'t>> {
        self.own
            .iter()
            .copied()
            .filter(|n| n.is_config(path))
            .collect()
    }
    fn label(&self) -> String {
        self.name
            .as_ref()
            .map(|n| format!(" (vdom {n})"))
            .unwrap_or_default()
    }
}

fn configs<'a>(nodes: &'a [Node<'a>]) -> impl Iterator<Item = &'a Node<'a>> {
    nodes.iter().filter(|n| n.kind == Kind::Config)
}

/// Split the top level into VDOM scopes.
fn scopes<'a>(roots: &'a [Node<'a>]) -> Vec<Scope<'a>> {
    let mut global: Vec<&Node> = Vec::new();
    let mut vdoms: Vec<(String, Vec<&Node>)> = Vec::new();
    for n in configs(roots) {
        match n.path().as_str() {
            "global" => global.extend(configs(&n.children)),
            "vdom" => {
                for e in n.children.iter().filter(|c| c.kind == Kind::Edit) {
                    let name = e.name().to_string();
                    let i = match vdoms.iter().position(|(v, _)| *v == name) {
                        Some(i) => i,
                        None => {
                            vdoms.push((name, Vec::new()));
                            vdoms.len() - 1
                        }
                    };
                    vdoms[i].1.extend(configs(&e.children));
                }
            }
            _ => global.push(n),
        }
    }
    vdoms.retain(|(_, own)| !own.is_empty());
    if vdoms.is_empty() {
        return vec![Scope {
            name: None,
            own: global,
            global: Vec::new(),
        }];
    }
    vdoms
        .into_iter()
        .map(|(name, own)| Scope {
            name: Some(name),
            own,
            global: global.clone(),
        })
        .collect()
}

/// Tables with at least this many policies have them built in parallel.
const PARALLEL_POLICIES: usize = 2048;

/// Parse a FortiOS configuration.
pub fn parse(file: &SourceFile, limits: &Limits) -> Config {
    parse_in(file, limits, PARALLEL_POLICIES)
}

/// [`parse`], building the policies of tables of at least `parallel_at` policies in parallel.
fn parse_in(file: &SourceFile, limits: &Limits, parallel_at: usize) -> Config {
    let id = file.id;
    let mut cfg = Config::new(Format::Fortios, Span::new(id, 0, file.text.len()));
    let tree = parse_tree(file, limits);
    cfg.errors.extend(tree.issues.iter().cloned());
    cfg.unparsed.extend(tree.unparsed.iter().cloned());
    let first = tree::first_line(file);

    let scopes = scopes(&tree.roots);
    let mut alg = Vec::new();
    for scope in &scopes {
        let objs = Objects::new(
            &|p| scope.blocks(p),
            limits.max_reference_depth,
            &mut cfg.unparsed,
        );
        cfg.fqdns.extend(objs.fqdns());
        let label = scope.label();

        for kind in [PolicyKind::Forward, PolicyKind::LocalIn] {
            let blocks: Vec<&Node> = kind
                .paths()
                .iter()
                .flat_map(|p| scope.own_blocks(p))
                .collect();
            // Without local-in policies, what reaches the device is decided by the
            // interfaces' administrative access, which is not modeled: no Input entry.
            if kind == PolicyKind::LocalIn && blocks.is_empty() {
                continue;
            }
            let mut entries = Vec::new();
            for path in kind.paths() {
                for e in table(&scope.own_blocks(path), &mut cfg.unparsed) {
                    entries.push((path, e));
                }
            }
            let convert = |(path, e): &(&str, tree::Entry<'_>)| {
                let mut unparsed = Vec::new();
                let rule = policy_rule(e, path, &objs, kind, &label, &mut unparsed);
                (rule, unparsed)
            };
            // Each policy is built on its own (names resolve the same whatever the order): a
            // large table's are built by every thread, in order.
            let (rules, unparsed): (Vec<Rule>, Vec<Vec<Unparsed>>) = if entries.len() >= parallel_at
            {
                entries
                    .par_iter()
                    .with_min_len(PARALLEL_POLICIES / 4)
                    .map(convert)
                    .unzip()
            } else {
                entries.iter().map(convert).unzip()
            };
            drop(entries);
            cfg.unparsed.extend(unparsed.into_iter().flatten());
            let (hook, action) = match kind {
                PolicyKind::Forward => {
                    alg.push(sip_alg(scope, &rules, first));
                    (Hook::Forward, Action::Deny)
                }
                // FortiOS local-in policies only restrict: traffic they do not match is
                // handled by the interfaces' administrative access, as if allowed here.
                PolicyKind::LocalIn => (Hook::Input, Action::Allow),
            };
            for issue in objs.depth_issues(first) {
                if !cfg
                    .errors
                    .iter()
                    .any(|e| e.span == issue.span && e.message == issue.message)
                {
                    cfg.errors.push(issue);
                }
            }
            cfg.filter.chains.push(Chain {
                name: format!("{}{label}", kind.paths()[0]),
                span: blocks.first().map(|b| b.span).unwrap_or(first),
                rules,
                default: ChainDefault {
                    action,
                    span: blocks.first().map(|b| b.head).unwrap_or(first),
                    implicit: true,
                },
            });
            cfg.filter.entries.push(Entry {
                hook,
                stages: vec![cfg.filter.chains.len() - 1],
            });
        }
    }
    cfg.features.sip_alg = combine_alg(alg);
    cfg.name = scopes.first().and_then(|s| {
        value(&leaves(&s.blocks("system global")), "hostname").map(|v| v.first().to_string())
    });
    cfg.unparsed
        .sort_by(|a, b| (a.span, &a.reason).cmp(&(b.span, &b.reason)));
    cfg.unparsed
        .dedup_by(|a, b| a.span == b.span && a.reason == b.reason);
    cfg
}

/// Build one policy as a rule.
fn policy_rule(
    e: &tree::Entry<'_>,
    path: &str,
    objs: &Objects<'_>,
    kind: PolicyKind,
    label: &str,
    unparsed: &mut Vec<Unparsed>,
) -> Rule {
    let mut name = format!("{} {}", path.trim_start_matches("firewall "), e.name);
    if let Some(n) = e.get("name").filter(|v| !v.first().is_empty()) {
        name.push_str(&format!(" {:?}", n.first()));
    }
    name.push_str(label);

    // No `set action`: FortiOS's default, deny.
    let action = match e.get("action") {
        None => Action::Deny,
        Some(v) => match v.first().to_ascii_lowercase().as_str() {
            "accept" | "ipsec" => Action::Allow,
            "deny" => Action::Deny,
            other => Action::Unknown(format!("action {other}")),
        },
    };
    let mut rule = Rule::new(name, e.span, action);
    // Filled per address family below.
    rule.matches.clear();
    rule.enabled = !e.is("status", "disable");

    // Interfaces / zones.
    let zone = |key: &str, rule: &mut Rule| match e.get(key) {
        Some(v) => objs.interfaces(&v.texts()),
        None => {
            if kind == PolicyKind::Forward {
                rule.unmodeled.push(format!("no {key} is set"));
            }
            NameSet::Any
        }
    };
    let (src_zone, dst_zone) = match kind {
        PolicyKind::Forward => (zone("srcintf", &mut rule), zone("dstintf", &mut rule)),
        PolicyKind::LocalIn => (zone("intf", &mut rule), NameSet::Any),
    };

    // Services (the protocol x port part of every match).
    let svc_spaces = services(e, objs, &mut rule, unparsed);

    // Addresses, per family present.
    let isdb_src = e.is("internet-service-src", "enable");
    let isdb_dst = e.is("internet-service", "enable");
    if isdb_src {
        rule.unmodeled
            .push("source is an Internet Service database entry".into());
    }
    if isdb_dst {
        rule.unmodeled
            .push("destination is an Internet Service database entry".into());
    }
    let mut families = 0;
    for (fam, sk, dk) in [
        (Fam::V4, "srcaddr", "dstaddr"),
        (Fam::V6, "srcaddr6", "dstaddr6"),
    ] {
        if e.get(sk).is_none() && e.get(dk).is_none() {
            continue;
        }
        families += 1;
        let src = if isdb_src {
            fam.universe()
        } else {
            addresses(e, objs, fam, sk, &mut rule, unparsed)
        };
        let dst = if isdb_dst {
            fam.universe()
        } else {
            addresses(e, objs, fam, dk, &mut rule, unparsed)
        };
        let base = Space {
            src,
            dst,
            src_zone: src_zone.clone(),
            dst_zone: dst_zone.clone(),
            ..Space::all()
        };
        rule.matches.extend(
            svc_spaces
                .iter()
                .map(|s| s.intersect(&base))
                .filter(|s| !s.is_empty()),
        );
    }
    if families == 0 {
        rule.unmodeled
            .push("no srcaddr/dstaddr is set: FortiOS matches nothing".into());
    }
    rule.matches.dedup();

    if let Some(s) = e.get("schedule") {
        if !s.first().eq_ignore_ascii_case("always") {
            rule.unmodeled.push(format!("schedule {:?}", s.first()));
        }
    }
    for key in ["users", "groups", "fsso-groups"] {
        if let Some(v) = e.get(key) {
            rule.unmodeled.push(format!(
                "only for authenticated {key}: {}",
                v.texts().join(", ")
            ));
        }
    }

    if rule.action == Action::Allow {
        inspections(e, objs, &mut rule, unparsed);
    }
    rule
}

/// Resolve a `srcaddr`/`dstaddr` field, folding in its `-negate`.
fn addresses(
    e: &tree::Entry<'_>,
    objs: &Objects<'_>,
    fam: Fam,
    key: &str,
    rule: &mut Rule,
    unparsed: &mut Vec<Unparsed>,
) -> AddrSet {
    let Some(v) = e.get(key) else {
        rule.unmodeled
            .push(format!("no {key} is set: FortiOS matches nothing"));
        return AddrSet::empty();
    };
    // `srcaddr6-negate` appeared in 7.2; before, `srcaddr-negate` covered both families.
    let (own, older) = match key {
        "srcaddr" => ("srcaddr-negate", "srcaddr-negate"),
        "srcaddr6" => ("srcaddr6-negate", "srcaddr-negate"),
        "dstaddr" => ("dstaddr-negate", "dstaddr-negate"),
        _ => ("dstaddr6-negate", "dstaddr-negate"),
    };
    let negate = e
        .get(own)
        .or_else(|| e.get(older))
        .is_some_and(|n| n.enabled());
    let r = objs.addresses(&v.texts(), fam);
    report(&r, key, "address", v.span, rule, unparsed);
    if r.inexact {
        fam.universe()
    } else if negate {
        fam.universe().difference(&r.value)
    } else {
        r.value
    }
}

/// Notes, unknown names and bad definitions of a resolution → the rule and `unparsed`.
fn report<T>(
    r: &Resolved<T>,
    key: &str,
    what: &str,
    span: Span,
    rule: &mut Rule,
    unparsed: &mut Vec<Unparsed>,
) {
    rule.unmodeled.extend(r.notes.iter().cloned());
    unparsed.extend(r.bad.iter().cloned());
    for n in &r.unknown {
        rule.unmodeled
            .push(format!("{key} references unknown {what} {n:?}"));
        unparsed.push(Unparsed {
            span,
            reason: format!(
                "{key} references unknown {what} {n:?}: this part of the rule is treated as any"
            ),
        });
    }
}

/// The protocol x port spaces of a policy's `service`, folding in `service-negate`.
fn services(
    e: &tree::Entry<'_>,
    objs: &Objects<'_>,
    rule: &mut Rule,
    unparsed: &mut Vec<Unparsed>,
) -> Vec<Space> {
    let to_space = |s: &Svc| Space {
        proto: s.proto.clone(),
        sport: s.sport.clone(),
        dport: s.dport.clone(),
        ..Space::all()
    };
    if e.is("internet-service", "enable") {
        return vec![Space::all()];
    }
    let Some(v) = e.get("service") else {
        rule.unmodeled.push("no service is set".into());
        return vec![Space::all()];
    };
    let r = objs.services(&v.texts());
    report(&r, "service", "service", v.span, rule, unparsed);
    if r.inexact {
        return vec![Space::all()];
    }
    let spaces: Vec<Space> = r.value.iter().map(to_space).collect();
    if e.is("service-negate", "enable") {
        spaces.iter().fold(vec![Space::all()], union_difference)
    } else {
        spaces
    }
}

/// IPS sensors and VoIP profiles applied by an accepting policy.
fn inspections(
    e: &tree::Entry<'_>,
    objs: &Objects<'_>,
    rule: &mut Rule,
    unparsed: &mut Vec<Unparsed>,
) {
    // `utm-status` is what turns security profiles on; only an explicit `disable` is trusted
    // to mean off (profiles cannot be set on a policy where it is off).
    let utm_off = e.get("utm-status").is_some_and(|v| !v.enabled());
    let group = if e.is("profile-type", "group") {
        e.get("profile-group")
            .and_then(|g| objs.profile_groups.get(g.first()))
    } else {
        None
    };
    for (key, kind) in [
        ("ips-sensor", InspectionKind::Ips),
        ("voip-profile", InspectionKind::SipAlg),
    ] {
        let Some(v) = e
            .get(key)
            .or_else(|| group.and_then(|g| g.get(key)))
            .filter(|v| !v.first().is_empty())
        else {
            continue;
        };
        if utm_off {
            unparsed.push(Unparsed {
                span: v.span,
                reason: format!(
                    "{key} {:?} is not applied: the policy sets utm-status disable",
                    v.first()
                ),
            });
            continue;
        }
        rule.inspection.push(Inspection {
            kind,
            name: v.first().to_string(),
            span: v.span,
        });
    }
}

/// The SIP ALG state of one VDOM.
fn sip_alg(scope: &Scope<'_>, rules: &[Rule], first: Span) -> FeatureState {
    let vdom = scope
        .name
        .as_ref()
        .map(|n| format!(" in vdom {n}"))
        .unwrap_or_default();
    let settings_blocks = scope.blocks("system settings");
    let settings = leaves(&settings_blocks);
    let mode = value(&settings, "default-voip-alg-mode");
    let sip_helper = value(&settings, "sip-helper");
    let helper_blocks = scope.blocks("system session-helper");
    let helper = table(&helper_blocks, &mut Vec::new())
        .into_iter()
        .find(|h| {
            h.get("name")
                .is_some_and(|n| n.first().eq_ignore_ascii_case("sip"))
        });
    let voip: Vec<(Span, String)> = rules
        .iter()
        .filter(|r| r.enabled && r.action == Action::Allow)
        .flat_map(|r| {
            r.inspection
                .iter()
                .filter(|i| i.kind == InspectionKind::SipAlg)
                .map(move |i| {
                    (
                        i.span,
                        format!(
                            "{} applies voip-profile {:?}, which forces the SIP ALG proxy for that policy",
                            r.name, i.name
                        ),
                    )
                })
        })
        .collect();
    let helper_note = |h: &tree::Entry<'_>| {
        (
            h.span,
            format!(
                "session-helper {} (set name sip) is the kernel SIP helper",
                h.name
            ),
        )
    };

    let kernel = mode
        .clone()
        .filter(|v| v.first().eq_ignore_ascii_case("kernel-helper-based"));
    let Some(mode) = kernel else {
        let mut related = voip;
        related.extend(helper.as_ref().map(helper_note));
        return match mode {
            Some(v) => FeatureState {
                enabled: true,
                span: v.span,
                default: false,
                reason: format!(
                    "default-voip-alg-mode is {}{vdom}, so SIP sessions go through the SIP ALG proxy.",
                    v.first()
                ),
                related,
            },
            None => FeatureState {
                enabled: true,
                span: settings_blocks.first().map(|b| b.head).unwrap_or(first),
                default: true,
                reason: format!(
                    "default-voip-alg-mode is not set{vdom}, so FortiOS uses its default, proxy-based: the SIP ALG is on."
                ),
                related,
            },
        };
    };
    let mode_note = (
        mode.span,
        "default-voip-alg-mode kernel-helper-based turns the SIP ALG proxy off".to_string(),
    );
    let helper_disabled = sip_helper.as_ref().filter(|v| !v.enabled());
    let no_table = helper_blocks.is_empty();
    let helper_on = helper_disabled.is_none() && (helper.is_some() || no_table);
    if helper_on {
        let mut related = vec![mode_note];
        related.extend(voip);
        return match &helper {
            Some(h) => FeatureState {
                enabled: true,
                span: h.span,
                default: false,
                reason: format!(
                    "default-voip-alg-mode is kernel-helper-based{vdom}, but the sip session helper (config system session-helper, edit {}) is still present, so the kernel SIP helper processes SIP.",
                    h.name
                ),
                related,
            },
            None => FeatureState {
                enabled: true,
                span: mode.span,
                default: true,
                reason: format!(
                    "default-voip-alg-mode is kernel-helper-based{vdom}, but the export has no config system session-helper table, and FortiOS has a sip session helper by default."
                ),
                related,
            },
        };
    }
    let mut related = vec![mode_note];
    if let Some(d) = &helper_disabled {
        related.push((
            d.span,
            "set sip-helper disable turns the sip session helper off".into(),
        ));
    }
    related.extend(helper.as_ref().map(helper_note));
    if let Some((span, why)) = voip.first().cloned() {
        related.extend(voip.into_iter().skip(1));
        return FeatureState {
            enabled: true,
            span,
            default: false,
            reason: format!("{why}{vdom}, although default-voip-alg-mode is kernel-helper-based."),
            related,
        };
    }
    let helper_off = if helper_disabled.is_some() {
        "set sip-helper disable turns the sip session helper off"
    } else {
        "the sip session helper is deleted"
    };
    FeatureState {
        enabled: false,
        span: mode.span,
        default: false,
        reason: format!(
            "default-voip-alg-mode is kernel-helper-based{vdom}, {helper_off}, and no accepting policy applies a voip-profile, so SIP passes unaltered."
        ),
        related,
    }
}

/// One device-wide state: on when any VDOM's is on (the first such VDOM's evidence, the other
/// VDOMs in the same state as related places).
fn combine_alg(mut states: Vec<FeatureState>) -> Option<FeatureState> {
    if states.is_empty() {
        return None;
    }
    let pick = states.iter().position(|s| s.enabled).unwrap_or(0);
    let mut out = states.remove(pick);
    for s in states.into_iter().filter(|s| s.enabled == out.enabled) {
        out.related.push((s.span, s.reason));
    }
    Some(out)
}
