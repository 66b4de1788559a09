//! Header-space evaluation of a filter with the device's first-match semantics.
//!
//! [`classify`] pushes a set of packets (a union of [`Space`]s) through the chains of an entry
//! point and returns every part of it with its fate (allowed or denied) and the rule, or chain
//! default, that decided it. Jumps, gotos and returns are followed; disabled rules and rules that
//! only match established connections are skipped; rules with unmodeled conditions or unknown
//! actions make the parts they touch uncertain.

use crate::engine::index::FilterIndex;
use crate::model::{Action, ChainId, Entry, Filter, Hook};
use crate::sets::Space;

/// What decided a part of the traffic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Decider {
    /// Rule `rule` of chain `chain`.
    Rule { chain: ChainId, rule: usize },
    /// The default at the end of `chain`.
    Default { chain: ChainId },
    /// Evaluation stopped (reference depth exceeded, unknown action).
    Unknown { chain: ChainId, rule: usize },
}

/// Final fate of a part of the traffic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    Allow,
    Deny,
    /// Portaudit cannot tell (unknown action, depth exceeded).
    Unknown,
}

/// A part of the input traffic, its fate, what decided it, and the rules it passed through whose
/// conditions portaudit does not fully model.
#[derive(Clone, Debug)]
pub struct Part {
    pub space: Space,
    pub fate: Fate,
    pub decider: Decider,
    pub uncertain_via: Vec<(ChainId, usize)>,
}

enum Flow {
    Done(Fate, Decider),
    Return,
}

/// How rules whose conditions are not fully modelled (`Rule::unmodeled`) are treated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// As if their conditions always held; what they decide is flagged uncertain.
    AsWritten,
    /// The most traffic the device can allow: allowing rules match, denying ones do not.
    MostPermissive,
    /// The least traffic the device can allow: denying rules match, allowing ones do not.
    LeastPermissive,
}

struct Walker<'a> {
    filter: &'a Filter,
    /// When given, only the rules that can meet a chain's input are looked at.
    index: Option<&'a FilterIndex>,
    max_depth: usize,
    mode: Mode,
}

type Pending = (Space, Vec<(ChainId, usize)>);

impl Walker<'_> {
    /// Walk `chain` with `input`; return parts that were decided or returned.
    fn walk(&self, chain: ChainId, input: Vec<Pending>, depth: usize) -> Vec<(Pending, Flow)> {
        let mut out = Vec::new();
        let Some(ch) = self.filter.chains.get(chain) else {
            return input
                .into_iter()
                .map(|p| (p, Flow::Done(Fate::Unknown, Decider::Default { chain })))
                .collect();
        };
        // Every part that reaches a rule is part of the input, so a rule that meets none of the
        // input meets none of what remains of it and can be skipped.
        let positions: Vec<usize> = match self.index.and_then(|ix| ix.chains.get(chain)) {
            Some(ix) => {
                let mut v = Vec::new();
                ix.candidates(input.iter().map(|(s, _)| s), usize::MAX, &mut v);
                v
            }
            None => (0..ch.rules.len()).collect(),
        };
        let mut remaining = input;
        for idx in positions {
            let rule = &ch.rules[idx];
            if remaining.is_empty() {
                break;
            }
            if !rule.enabled || rule.established_only || rule.matches.is_empty() {
                continue;
            }
            if !rule.unmodeled.is_empty() {
                let skip = matches!(
                    (self.mode, &rule.action),
                    (Mode::MostPermissive, Action::Deny) | (Mode::LeastPermissive, Action::Allow)
                );
                if skip {
                    continue;
                }
            }
            // Most rules meet none of the remaining parts: leave those parts where they are.
            if !remaining
                .iter()
                .any(|(space, _)| rule.matches.iter().any(|m| space.intersects(m)))
            {
                continue;
            }
            let mut next: Vec<Pending> = Vec::with_capacity(remaining.len());
            for (space, via) in remaining {
                // Most rules miss most parts: pass those on untouched, without building anything.
                if !rule.matches.iter().any(|m| space.intersects(m)) {
                    next.push((space, via));
                    continue;
                }
                // Split `space` into the parts the rule matches and the rest.
                let mut rest = vec![space];
                let mut hits = Vec::new();
                for m in &rule.matches {
                    let mut new_rest = Vec::with_capacity(rest.len());
                    for r in rest {
                        if !r.intersects(m) {
                            new_rest.push(r);
                        } else {
                            hits.push(r.intersect(m));
                            new_rest.extend(r.difference(m));
                        }
                    }
                    rest = new_rest;
                }
                for r in rest {
                    next.push((r, via.clone()));
                }
                if hits.is_empty() {
                    continue;
                }
                let mut via_hit = via;
                if !rule.unmodeled.is_empty() && !matches!(rule.action, Action::Continue) {
                    via_hit.push((chain, idx));
                }
                let decider = Decider::Rule { chain, rule: idx };
                match &rule.action {
                    Action::Allow => out.extend(
                        hits.into_iter()
                            .map(|h| ((h, via_hit.clone()), Flow::Done(Fate::Allow, decider))),
                    ),
                    Action::Deny => out.extend(
                        hits.into_iter()
                            .map(|h| ((h, via_hit.clone()), Flow::Done(Fate::Deny, decider))),
                    ),
                    Action::Return => out.extend(
                        hits.into_iter()
                            .map(|h| ((h, via_hit.clone()), Flow::Return)),
                    ),
                    Action::Continue => next.extend(hits.into_iter().map(|h| (h, via_hit.clone()))),
                    Action::Unknown(_) => out.extend(hits.into_iter().map(|h| {
                        (
                            (h, via_hit.clone()),
                            Flow::Done(Fate::Unknown, Decider::Unknown { chain, rule: idx }),
                        )
                    })),
                    Action::Jump(target) | Action::Goto(target) => {
                        let is_goto = matches!(rule.action, Action::Goto(_));
                        let pending: Vec<Pending> =
                            hits.into_iter().map(|h| (h, via_hit.clone())).collect();
                        if depth >= self.max_depth {
                            out.extend(pending.into_iter().map(|p| {
                                (
                                    p,
                                    Flow::Done(
                                        Fate::Unknown,
                                        Decider::Unknown { chain, rule: idx },
                                    ),
                                )
                            }));
                            continue;
                        }
                        for (p, flow) in self.walk(*target, pending, depth + 1) {
                            match flow {
                                Flow::Done(..) => out.push((p, flow)),
                                // Returning from a jump continues after the jump rule; returning
                                // from a goto returns to our caller.
                                Flow::Return if is_goto => out.push((p, Flow::Return)),
                                Flow::Return => next.push(p),
                            }
                        }
                    }
                }
            }
            remaining = next;
        }
        let decider = Decider::Default { chain };
        for p in remaining {
            let flow = match ch.default.action {
                Action::Allow => Flow::Done(Fate::Allow, decider),
                Action::Deny => Flow::Done(Fate::Deny, decider),
                Action::Return => Flow::Return,
                _ => Flow::Done(Fate::Unknown, decider),
            };
            out.push((p, flow));
        }
        out
    }
}

/// Push `input` through an entry's stages: a part is allowed only if every stage allows it.
pub fn classify(filter: &Filter, entry: &Entry, input: &[Space], max_depth: usize) -> Vec<Part> {
    classify_mode(filter, entry, input, max_depth, Mode::AsWritten)
}

/// [`classify`] with a choice of how rules with unmodelled conditions are treated: comparing the
/// most and least permissive readings tells a definite verdict from one that depends on them.
pub fn classify_mode(
    filter: &Filter,
    entry: &Entry,
    input: &[Space],
    max_depth: usize,
    mode: Mode,
) -> Vec<Part> {
    classify_indexed(filter, None, entry, input, max_depth, mode)
}

/// [`classify_mode`] looking only at the rules `index` (built from this `filter`) says can meet
/// the traffic: the same parts, faster on large chains.
pub fn classify_indexed(
    filter: &Filter,
    index: Option<&FilterIndex>,
    entry: &Entry,
    input: &[Space],
    max_depth: usize,
    mode: Mode,
) -> Vec<Part> {
    let walker = Walker {
        filter,
        index,
        max_depth,
        mode,
    };
    // Pending parts with the rule of an earlier stage that explicitly allowed them, so an allowed
    // part is credited to that rule rather than to a later stage's default.
    let mut current: Vec<(Pending, Option<Decider>)> = input
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| ((s.clone(), Vec::new()), None))
        .collect();
    let mut out = Vec::new();
    let stages = entry.stages.len();
    for (i, &chain) in entry.stages.iter().enumerate() {
        let mut allowed = Vec::new();
        for (pending, earlier) in std::mem::take(&mut current) {
            for ((space, via), flow) in walker.walk(chain, vec![pending], 0) {
                let (fate, mut decider) = match flow {
                    Flow::Done(f, d) => (f, d),
                    // A return from a base chain applies the chain's policy.
                    Flow::Return => match filter.chains.get(chain).map(|c| &c.default.action) {
                        Some(Action::Allow) => (Fate::Allow, Decider::Default { chain }),
                        Some(Action::Deny) => (Fate::Deny, Decider::Default { chain }),
                        _ => (Fate::Unknown, Decider::Default { chain }),
                    },
                };
                if fate == Fate::Allow {
                    if let (Decider::Default { .. }, Some(e)) = (decider, earlier) {
                        decider = e;
                    }
                }
                if fate == Fate::Allow && i + 1 < stages {
                    let explicit = match decider {
                        Decider::Rule { .. } => Some(decider),
                        _ => earlier,
                    };
                    allowed.push(((space, via), explicit));
                } else {
                    out.push(Part {
                        space,
                        fate,
                        decider,
                        uncertain_via: via,
                    });
                }
            }
        }
        current = allowed;
    }
    out
}

/// The entries that traffic of a flow can take, by hook.
pub fn entries_for<'a>(filter: &'a Filter, hooks: &[Hook]) -> Vec<&'a Entry> {
    filter
        .entries
        .iter()
        .filter(|e| hooks.contains(&e.hook))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Chain, ChainDefault, Rule};
    use crate::sets::{proto, PortSet, ProtoSet};
    use crate::source::{FileId, Span};

    fn sp() -> Span {
        Span::new(FileId(0), 0, 0)
    }

    fn rule(action: Action, ports: (u128, u128)) -> Rule {
        let mut r = Rule::new("r", sp(), action);
        r.matches[0].proto = ProtoSet::single(proto::UDP);
        r.matches[0].dport = PortSet::range(ports.0, ports.1);
        r
    }

    fn chain(name: &str, rules: Vec<Rule>, default: Action) -> Chain {
        Chain {
            name: name.into(),
            span: sp(),
            rules,
            default: ChainDefault {
                action: default,
                span: sp(),
                implicit: false,
            },
        }
    }

    fn udp(lo: u128, hi: u128) -> Space {
        let mut s = Space::all();
        s.proto = ProtoSet::single(proto::UDP);
        s.dport = PortSet::range(lo, hi);
        s
    }

    fn allowed_ports(parts: &[Part]) -> PortSet {
        parts
            .iter()
            .filter(|p| p.fate == Fate::Allow)
            .fold(PortSet::empty(), |acc, p| acc.union(&p.space.dport))
    }

    #[test]
    fn first_match_with_partial_shadow() {
        let f = Filter {
            chains: vec![chain(
                "FORWARD",
                vec![
                    rule(Action::Deny, (10000, 12000)),
                    rule(Action::Allow, (10000, 20000)),
                ],
                Action::Deny,
            )],
            entries: vec![Entry {
                hook: Hook::Forward,
                stages: vec![0],
            }],
        };
        let parts = classify(&f, &f.entries[0], &[udp(10000, 20000)], 8);
        assert_eq!(allowed_ports(&parts), PortSet::range(12001, 20000));
        let denied: Vec<_> = parts.iter().filter(|p| p.fate == Fate::Deny).collect();
        assert_eq!(denied.len(), 1);
        assert_eq!(denied[0].decider, Decider::Rule { chain: 0, rule: 0 });
    }

    #[test]
    fn jump_return_and_goto() {
        // INPUT: jump to A; A: return 5060, allow 5061; INPUT: allow 5060, policy drop.
        let a = chain(
            "A",
            vec![
                rule(Action::Return, (5060, 5060)),
                rule(Action::Allow, (5061, 5061)),
            ],
            Action::Return,
        );
        let input = chain(
            "INPUT",
            vec![
                rule(Action::Jump(1), (1, 65535)),
                rule(Action::Allow, (5060, 5060)),
            ],
            Action::Deny,
        );
        let f = Filter {
            chains: vec![input, a],
            entries: vec![Entry {
                hook: Hook::Input,
                stages: vec![0],
            }],
        };
        let parts = classify(&f, &f.entries[0], &[udp(5060, 5062)], 8);
        assert_eq!(allowed_ports(&parts), PortSet::range(5060, 5061));
        let deny: Vec<_> = parts.iter().filter(|p| p.fate == Fate::Deny).collect();
        assert_eq!(deny[0].decider, Decider::Default { chain: 0 });
    }

    #[test]
    fn unmodelled_conditions_bound_the_verdict() {
        // A deny with a condition portaudit cannot model (an ipset, a time window) may or may
        // not match: most permissive reading allows, least permissive denies.
        let mut deny = rule(Action::Deny, (5060, 5060));
        deny.unmodeled
            .push("-m set --match-set blocklist src".into());
        let f = Filter {
            chains: vec![chain(
                "FORWARD",
                vec![deny, rule(Action::Allow, (1, 65535))],
                Action::Deny,
            )],
            entries: vec![Entry {
                hook: Hook::Forward,
                stages: vec![0],
            }],
        };
        let run = |mode| classify_mode(&f, &f.entries[0], &[udp(5060, 5060)], 8, mode);
        assert_eq!(
            allowed_ports(&run(Mode::MostPermissive)),
            PortSet::single(5060)
        );
        assert!(allowed_ports(&run(Mode::LeastPermissive)).is_empty());
        let as_written = run(Mode::AsWritten);
        assert_eq!(as_written[0].fate, Fate::Deny);
        assert_eq!(as_written[0].uncertain_via, vec![(0, 0)]);
    }

    #[test]
    fn jump_loop_is_bounded() {
        let a = chain("A", vec![rule(Action::Jump(0), (1, 65535))], Action::Return);
        let f = Filter {
            chains: vec![a],
            entries: vec![Entry {
                hook: Hook::Input,
                stages: vec![0],
            }],
        };
        let parts = classify(&f, &f.entries[0], &[udp(1, 2)], 8);
        assert!(parts.iter().all(|p| p.fate == Fate::Unknown));
    }

    #[test]
    fn stages_must_all_allow() {
        let ingress = chain("in", vec![rule(Action::Allow, (1, 65535))], Action::Deny);
        let egress = chain("out", vec![rule(Action::Allow, (5060, 5060))], Action::Deny);
        let f = Filter {
            chains: vec![ingress, egress],
            entries: vec![Entry {
                hook: Hook::Forward,
                stages: vec![0, 1],
            }],
        };
        let parts = classify(&f, &f.entries[0], &[udp(5060, 5061)], 8);
        assert_eq!(allowed_ports(&parts), PortSet::single(5060));
    }
}
