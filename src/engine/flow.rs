//! Header-space evaluation of a filter with the device's first-match semantics.
//!
//! [`classify`] pushes a set of packets (a union of [`Space`]s) through the chains of an entry
//! point and returns every part of it with its fate (allowed or denied) and the rule, or chain
//! default, that decided it. Jumps, gotos and returns are followed; disabled rules and rules that
//! only match established connections are skipped; rules with unmodeled conditions or unknown
//! actions make the parts they touch uncertain.

use std::collections::BTreeMap;

use crate::engine::cover::{held_before, COVER_BUDGET};
use crate::engine::index::{FilterIndex, RuleIndex};
use crate::model::{Action, Chain, ChainId, Entry, Filter, Hook, Rule};
use crate::sets::{IntervalSet, PortSet, ProtoSet, Space};

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

#[derive(Clone, Copy)]
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
    /// Rules read with other match spaces than the filter's.
    overlay: &'a Overlay,
    max_depth: usize,
    mode: Mode,
}

/// Rules that a walk reads with other match spaces than the filter gives them, without copying
/// the filter: for a host name, the rules whose destination names it match every address
/// (`required-flow`). Each replaced rule keeps as many spaces as it had.
#[derive(Clone, Debug, Default)]
pub struct Overlay {
    /// Per chain, the replaced rules in rule order, with their spaces.
    chains: BTreeMap<ChainId, Vec<(usize, Vec<Space>)>>,
}

impl Overlay {
    /// Read rule `rule` of chain `chain` with `spaces` (as many as it has) instead.
    pub fn replace(&mut self, chain: ChainId, rule: usize, spaces: Vec<Space>) {
        let rules = self.chains.entry(chain).or_default();
        match rules.binary_search_by_key(&rule, |r| r.0) {
            Ok(at) => rules[at].1 = spaces,
            Err(at) => rules.insert(at, (rule, spaces)),
        }
    }

    /// The replaced rules of `chain`, in order.
    fn rules(&self, chain: ChainId) -> &[(usize, Vec<Space>)] {
        self.chains.get(&chain).map_or(&[], Vec::as_slice)
    }

    /// The match spaces of rule `idx` of `chain` as this overlay reads them.
    fn matches<'r>(&'r self, chain: ChainId, idx: usize, rule: &'r Rule) -> &'r [Space] {
        if self.chains.is_empty() {
            return &rule.matches;
        }
        let rules = self.rules(chain);
        match rules.binary_search_by_key(&idx, |r| r.0) {
            Ok(at) => &rules[at].1,
            Err(_) => &rule.matches,
        }
    }
}

type Pending = (Space, Vec<(ChainId, usize)>);

/// Split `space` into the parts `matches` match (in match order) and the rest.
fn split(space: Space, matches: &[Space]) -> (Vec<Space>, Vec<Space>) {
    let mut rest = vec![space];
    let mut hits = Vec::new();
    for m in matches {
        let mut new_rest = Vec::with_capacity(rest.len());
        for r in rest {
            if !r.intersects(m) {
                new_rest.push(r);
            } else {
                hits.push(r.intersect(m));
                new_rest.extend(r.split_off(m));
            }
        }
        rest = new_rest;
    }
    (hits, rest)
}

/// What the default of `ch` (chain number `chain`) does with what reaches it.
fn default_flow(ch: &Chain, chain: ChainId) -> Flow {
    let decider = Decider::Default { chain };
    match ch.default.action {
        Action::Allow => Flow::Done(Fate::Allow, decider),
        Action::Deny => Flow::Done(Fate::Deny, decider),
        Action::Return => Flow::Return,
        _ => Flow::Done(Fate::Unknown, decider),
    }
}

impl Walker<'_> {
    /// Whether `rule` is evaluated at all in this walk: enabled, not only for established
    /// connections, and not set aside by the mode for its unmodelled conditions.
    fn takes_part(&self, rule: &Rule) -> bool {
        if !rule.enabled || rule.established_only || rule.matches.is_empty() {
            return false;
        }
        rule.unmodeled.is_empty()
            || !matches!(
                (self.mode, &rule.action),
                (Mode::MostPermissive, Action::Deny) | (Mode::LeastPermissive, Action::Allow)
            )
    }

    /// The first rule of `ch` (chain number `chain`) at or after `from` that takes part in this
    /// walk and meets `space`. The index knows the rules by the filter's spaces, so the rules
    /// the overlay replaces are asked too.
    fn next_hit(
        &self,
        (chain, ch): (ChainId, &Chain),
        ix: Option<&RuleIndex>,
        space: &Space,
        from: usize,
    ) -> Option<usize> {
        let hits = |idx: &usize| {
            let rule = &ch.rules[*idx];
            self.takes_part(rule)
                && self
                    .overlay
                    .matches(chain, *idx, rule)
                    .iter()
                    .any(|m| space.intersects(m))
        };
        match ix {
            Some(ix) => {
                let indexed = ix.candidates_from(space, from).find(hits);
                let replaced = self.overlay.rules(chain);
                let start = replaced.partition_point(|r| r.0 < from);
                let other = replaced[start..].iter().map(|r| r.0).find(hits);
                match (indexed, other) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                }
            }
            None => (from..ch.rules.len()).find(hits),
        }
    }

    /// Walk `chain` with `input`; return parts that were decided or returned.
    ///
    /// Parts are disjoint, so each is followed down the chain on its own, straight to the next
    /// rule that meets it (found through the index), where it splits into what the rule matches
    /// and the rest, which goes on from the next rule. The result is in the order of a walk that
    /// takes the rules one at a time with every pending part: by the rule that decided a part
    /// (chain defaults last), then by the part's place among the pending parts. That place is the
    /// order in which parts leave the stack below, since the pieces of a part take its place in
    /// order (a depth-first, pre-order walk of the tree of pieces).
    fn walk(&self, chain: ChainId, input: Vec<Pending>, depth: usize) -> Vec<(Pending, Flow)> {
        let Some(ch) = self.filter.chains.get(chain) else {
            return input
                .into_iter()
                .map(|p| (p, Flow::Done(Fate::Unknown, Decider::Default { chain })))
                .collect();
        };
        let ix = self.index.and_then(|ix| ix.chains.get(chain));
        // (part, first rule it can still meet), the next part to follow on top.
        let mut stack: Vec<(Pending, usize)> = input.into_iter().rev().map(|p| (p, 0)).collect();
        // ((deciding rule, or usize::MAX for the default; the part's place), result).
        let mut out: Vec<((usize, usize), (Pending, Flow))> = Vec::new();
        let mut place = 0;
        let mut pieces: Vec<Pending> = Vec::new();
        while let Some(((space, via), from)) = stack.pop() {
            let me = place;
            place += 1;
            let Some(idx) = self.next_hit((chain, ch), ix, &space, from) else {
                out.push(((usize::MAX, me), ((space, via), default_flow(ch, chain))));
                continue;
            };
            let rule = &ch.rules[idx];
            let key = (idx, me);
            let (hits, rest) = split(space, self.overlay.matches(chain, idx, rule));
            pieces.extend(rest.into_iter().map(|r| (r, via.clone())));
            let mut via_hit = via;
            if !rule.unmodeled.is_empty() && !matches!(rule.action, Action::Continue) {
                via_hit.push((chain, idx));
            }
            let hits = hits.into_iter().map(|h| (h, via_hit.clone()));
            let unknown = Flow::Done(Fate::Unknown, Decider::Unknown { chain, rule: idx });
            let decided = |fate| Flow::Done(fate, Decider::Rule { chain, rule: idx });
            let ends = match &rule.action {
                Action::Allow => Some(decided(Fate::Allow)),
                Action::Deny => Some(decided(Fate::Deny)),
                Action::Return => Some(Flow::Return),
                Action::Unknown(_) => Some(unknown),
                Action::Jump(_) | Action::Goto(_) if depth >= self.max_depth => Some(unknown),
                Action::Continue | Action::Jump(_) | Action::Goto(_) => None,
            };
            match (&rule.action, ends) {
                (_, Some(flow)) => out.extend(hits.map(|p| (key, (p, flow)))),
                (Action::Jump(target) | Action::Goto(target), None) => {
                    let is_goto = matches!(rule.action, Action::Goto(_));
                    for (p, flow) in self.walk(*target, hits.collect(), depth + 1) {
                        match flow {
                            // Returning from a jump continues after the jump rule; returning
                            // from a goto returns to our caller.
                            Flow::Return if !is_goto => pieces.push(p),
                            _ => out.push((key, (p, flow))),
                        }
                    }
                }
                // Continue: what it matches goes on, after the rest.
                _ => pieces.extend(hits),
            }
            stack.extend(pieces.drain(..).rev().map(|p| (p, idx + 1)));
        }
        // Stable: what one part gave at one rule stays in the order it came. The parts are
        // large, so their keys are sorted (with their places, which keeps it stable) and the
        // parts moved once, into that order.
        if out.is_sorted_by_key(|(key, _)| *key) {
            return out.into_iter().map(|(_, o)| o).collect();
        }
        let mut order: Vec<((usize, usize), usize)> = out
            .iter()
            .enumerate()
            .map(|(i, (key, _))| (*key, i))
            .collect();
        order.sort_unstable();
        let mut slots: Vec<Option<(Pending, Flow)>> =
            out.into_iter().map(|(_, o)| Some(o)).collect();
        order
            .into_iter()
            .filter_map(|(_, i)| slots[i].take())
            .collect()
    }
}

/// Whether walks of `filter` in [`Mode::MostPermissive`] and [`Mode::LeastPermissive`] give the
/// same parts: the modes differ only in the allowing and denying rules with unmodelled
/// conditions (`Walker::takes_part`), so without such rules one walk answers for both.
pub fn modes_agree(filter: &Filter) -> bool {
    !filter
        .chains
        .iter()
        .flat_map(|c| &c.rules)
        .any(|r| !r.unmodeled.is_empty() && matches!(r.action, Action::Allow | Action::Deny))
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
    classify_overlaid(
        filter,
        index,
        &Overlay::default(),
        entry,
        input,
        max_depth,
        mode,
    )
}

/// [`classify_indexed`] with some rules read with the match spaces `overlay` gives them: the
/// parts [`classify_indexed`] gives on a copy of the filter with those rules changed (and an
/// index built from it), without copying the filter or building an index.
pub fn classify_overlaid(
    filter: &Filter,
    index: Option<&FilterIndex>,
    overlay: &Overlay,
    entry: &Entry,
    input: &[Space],
    max_depth: usize,
    mode: Mode,
) -> Vec<Part> {
    let walker = Walker {
        filter,
        index,
        overlay,
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

/// What [`allowing_rules`] credits each allowing rule of a chain with (by position): the
/// protocols and the destination ports of the traffic it decides.
pub type Credited = BTreeMap<usize, (ProtoSet, PortSet)>;

/// Protocol x port slices above which [`allowing_rules`] leaves the question to the walk.
const MAX_SLICES: usize = 256;

/// The cover-search steps [`allowing_rules`] may take in all before leaving the question to
/// the walk.
const SLICE_BUDGET: usize = 10 * COVER_BUDGET;

/// Whether `rule` takes part in a walk in [`Mode::AsWritten`] (see `Walker::takes_part`).
fn plays(rule: &Rule) -> bool {
    rule.enabled && !rule.established_only && !rule.matches.is_empty()
}

/// The elementary intervals of `whole` cut at every boundary of `sets` inside it: each of the
/// sets holds all of such an interval or none of it.
fn atoms<'s, const MAX: u128>(
    whole: &IntervalSet<MAX>,
    sets: impl Iterator<Item = &'s IntervalSet<MAX>>,
) -> Vec<(u128, u128)> {
    let mut cuts: Vec<u128> = sets
        .flat_map(|s| {
            s.ranges()
                .iter()
                .flat_map(|&(lo, hi)| [lo, hi.saturating_add(1)])
        })
        .collect();
    cuts.sort_unstable();
    cuts.dedup();
    let mut out = Vec::new();
    for &(lo, hi) in whole.ranges() {
        let mut start = lo;
        let from = cuts.partition_point(|&c| c <= lo);
        for &c in cuts[from..].iter().take_while(|&&c| c <= hi) {
            out.push((start, c - 1));
            start = c;
        }
        out.push((start, hi));
    }
    out
}

/// What [`allowing_rules`] and [`slice_fates`] start from: the entry's one chain (number and
/// rules) and its index, the rules that meet the space, and the protocol and port atoms of the
/// space cut at every boundary of those rules.
struct Slicing<'a> {
    chain: ChainId,
    ch: &'a Chain,
    ix: &'a RuleIndex,
    meeting: Vec<usize>,
    protos: Vec<(u128, u128)>,
    ports: Vec<(u128, u128)>,
}

impl<'a> Slicing<'a> {
    /// `None` for an entry of several stages, a rule meeting `space` that `fits` refuses, or
    /// more than `max` slices.
    fn new(
        (filter, index): (&'a Filter, &'a FilterIndex),
        entry: &Entry,
        space: &Space,
        fits: impl Fn(&Rule) -> bool,
        max: usize,
    ) -> Option<Slicing<'a>> {
        let &[chain] = entry.stages.as_slice() else {
            return None;
        };
        let (ch, ix) = (filter.chains.get(chain)?, index.chains.get(chain)?);
        let meeting: Vec<usize> = ix
            .candidates_from(space, 0)
            .filter(|&i| {
                plays(&ch.rules[i]) && ch.rules[i].matches.iter().any(|m| m.intersects(space))
            })
            .collect();
        if meeting.iter().any(|&i| !fits(&ch.rules[i])) {
            return None;
        }
        let met = || {
            meeting
                .iter()
                .flat_map(|&i| ch.rules[i].matches.iter())
                .filter(|m| m.intersects(space))
        };
        let protos = atoms(&space.proto, met().map(|m| &m.proto));
        let ports = atoms(&space.dport, met().map(|m| &m.dport));
        if protos.len().saturating_mul(ports.len()) > max {
            return None;
        }
        Some(Slicing {
            chain,
            ch,
            ix,
            meeting,
            protos,
            ports,
        })
    }

    /// The match spaces of rule `j` for the cover search (none for a rule that takes no part).
    fn spaces(&self, j: usize) -> &'a [Space] {
        match self.ch.rules.get(j) {
            Some(r) if plays(r) => &r.matches,
            _ => &[],
        }
    }
}

/// What [`classify_indexed`] in [`Mode::AsWritten`] credits to each rule of `entry` that allows
/// some of `space`: the rule's position in the entry's chain, with the protocols and the
/// destination ports of the parts it decides. Found without walking the parts, which on a long
/// chain of narrow rules fragment into tens of thousands: in a chain whose rules all end
/// evaluation for what they match, a packet reaches a rule exactly when no rule before it holds
/// the packet. So each allowing rule's share of `space` is cut into slices along the protocol
/// and port boundaries of every rule that meets `space` (inside a slice, a rule holds all of
/// its protocols and ports or none), and a slice is credited to the rule when the rules before
/// it do not hold all of it ([`held_before`]).
///
/// `None` where that does not apply or costs too much, and the caller walks: an entry of more
/// than one stage, a jump, goto or continue among the rules that meet `space`, more than
/// [`MAX_SLICES`] slices, or more than [`SLICE_BUDGET`] search steps.
pub fn allowing_rules(
    filter: &Filter,
    index: &FilterIndex,
    entry: &Entry,
    space: &Space,
) -> Option<(ChainId, Credited)> {
    // Whether the walk stops at a rule for what it matches. No wildcard: an action added to the
    // model must be placed here, as in `Walker::walk`.
    let ends = |r: &Rule| match r.action {
        Action::Allow | Action::Deny | Action::Return | Action::Unknown(_) => true,
        Action::Jump(_) | Action::Goto(_) | Action::Continue => false,
    };
    let sl = Slicing::new((filter, index), entry, space, ends, MAX_SLICES)?;
    let (chain, ch, ix) = (sl.chain, sl.ch, sl.ix);
    let (meeting, protos, ports) = (&sl.meeting, &sl.protos, &sl.ports);
    let spaces = |j: usize| sl.spaces(j);
    let mut budget = SLICE_BUDGET;
    let mut out = Credited::new();
    for &i in meeting {
        if ch.rules[i].action != Action::Allow {
            continue;
        }
        for m in ch.rules[i].matches.iter().filter(|m| m.intersects(space)) {
            let share = space.intersect(m);
            for &(plo, phi) in protos {
                if !share.proto.contains(plo) {
                    continue;
                }
                for &(lo, hi) in ports {
                    if !share.dport.contains(lo) {
                        continue;
                    }
                    // A slice whose protocol and ports the rule is already credited with adds
                    // nothing.
                    if let Some((p, d)) = out.get(&i) {
                        if p.contains(plo) && d.contains(lo) {
                            continue;
                        }
                    }
                    let mut slice = share.clone();
                    slice.proto = ProtoSet::range(plo, phi);
                    slice.dport = PortSet::range(lo, hi);
                    if !held_before(ix, spaces, i, slice, &mut budget)? {
                        let e = out
                            .entry(i)
                            .or_insert_with(|| (ProtoSet::empty(), PortSet::empty()));
                        e.0 = e.0.union(&ProtoSet::range(plo, phi));
                        e.1 = e.1.union(&PortSet::range(lo, hi));
                    }
                }
            }
        }
    }
    Some((chain, out))
}

/// One protocol x port slice of a space: a protocol range and a destination port range.
pub type Slice = (ProtoSet, PortSet);

/// What [`slice_fates`] tells of one entry: the protocol x port slices of a space that each
/// decider gets a share of, as the walk would credit them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SliceFates {
    /// The slices that some allowing rule (or an allowing default) gets a share of.
    pub allowed: Vec<Slice>,
    /// The first part the walk allows (by deciding rule, the default last): its decider, and
    /// every slice that decider gets a share of.
    pub first_allow: Option<(Decider, Vec<Slice>)>,
    /// For the slices nothing allows: every decider that gets a share, with its fate, in slice
    /// order and within a slice in rule order, the default last.
    pub blocked: Vec<(Decider, Fate, Slice)>,
}

/// Protocol x port slices above which [`slice_fates`] leaves the question to the walk.
const MAX_FATE_SLICES: usize = 1024;

/// Which protocols and destination ports of `space` the walk of `entry` allows for some
/// packet, and what decides those it never allows, found without walking the parts (a walk of
/// any source to any destination through a long chain of narrow rules fragments into a hundred
/// thousand of them). It answers a required flow whose endpoints are not mapped, which projects
/// the walk's parts onto protocols and destination ports.
///
/// `space` is cut into slices along the protocol and port boundaries of every rule that meets
/// it, so that inside a slice each rule holds all of its protocols and ports or none: whether a
/// packet of the slice reaches a rule then depends only on its other fields, and a decider gets
/// a share of every protocol and port of a slice or of none. A rule gets a share of a slice
/// when the rules before it do not hold all of its share ([`held_before`], as
/// [`allowing_rules`]); the default gets one when the rules together do not hold the slice.
/// Allowing rules are asked first, in order, and a slice stops at the first that gets a share;
/// only slices no allowing decider gets are asked of the other rules and the default.
///
/// Exactly what [`classify_indexed`] gives in every [`Mode`], or `None` where that does not
/// apply or costs too much, and the caller walks: an entry of more than one stage; among the
/// rules that meet `space`, a jump, goto, continue or return, or a rule with conditions
/// portaudit does not model (whose reading the modes change, and which the walk records on
/// the parts); more than [`MAX_FATE_SLICES`] slices, or more than [`SLICE_BUDGET`] search
/// steps.
pub fn slice_fates(
    filter: &Filter,
    index: &FilterIndex,
    entry: &Entry,
    space: &Space,
) -> Option<SliceFates> {
    if space.is_empty() {
        return None;
    }
    // The actions whose parts the walk decides at the rule itself. No wildcard: an action added
    // to the model must be placed here, as in `Walker::walk`.
    let decides = |a: &Action| match a {
        Action::Allow => Some(Fate::Allow),
        Action::Deny => Some(Fate::Deny),
        Action::Unknown(_) => Some(Fate::Unknown),
        Action::Return | Action::Jump(_) | Action::Goto(_) | Action::Continue => None,
    };
    let fits = |r: &Rule| decides(&r.action).is_some() && r.unmodeled.is_empty();
    let sl = Slicing::new((filter, index), entry, space, fits, MAX_FATE_SLICES)?;
    let (chain, ch, ix) = (sl.chain, sl.ch, sl.ix);
    let (protos, ports) = (&sl.protos, &sl.ports);
    let spaces = |j: usize| sl.spaces(j);
    // What reaches the end of the chain gets, as in the walk (a returning default of a base
    // chain is not understood there).
    let default = match default_flow(ch, chain) {
        Flow::Done(fate, _) => fate,
        Flow::Return => Fate::Unknown,
    };
    let mut budget = SLICE_BUDGET;
    let mut out = SliceFates::default();
    // Each slice's allowing decider.
    let mut allowed: Vec<(Decider, Slice)> = Vec::new();
    for &(plo, phi) in protos {
        for &(lo, hi) in ports {
            let mut slice = space.clone();
            slice.proto = ProtoSet::range(plo, phi);
            slice.dport = PortSet::range(lo, hi);
            // The rules that may meet the slice, lazily: a slice usually stops at one of the
            // first allowing rules.
            let rules = || {
                ix.candidates_from(&slice, 0)
                    .filter(|&i| plays(&ch.rules[i]))
            };
            // Whether rule `i` gets a share of the slice.
            let mut gets = |i: usize| -> Option<bool> {
                for m in ch.rules[i].matches.iter().filter(|m| m.intersects(&slice)) {
                    if !held_before(ix, spaces, i, slice.intersect(m), &mut budget)? {
                        return Some(true);
                    }
                }
                Some(false)
            };
            let mut allow = None;
            for i in rules().filter(|&i| ch.rules[i].action == Action::Allow) {
                if gets(i)? {
                    allow = Some(Decider::Rule { chain, rule: i });
                    break;
                }
            }
            let mut blocked = Vec::new();
            if allow.is_none() {
                for i in rules() {
                    let r = &ch.rules[i];
                    let Some(fate) = decides(&r.action).filter(|&f| f != Fate::Allow) else {
                        continue;
                    };
                    if gets(i)? {
                        let decider = match fate {
                            Fate::Unknown => Decider::Unknown { chain, rule: i },
                            _ => Decider::Rule { chain, rule: i },
                        };
                        blocked.push((decider, fate));
                    }
                }
            }
            let to_default = allow.is_none()
                && !held_before(ix, spaces, ch.rules.len(), slice.clone(), &mut budget)?;
            let this = (slice.proto, slice.dport);
            if to_default && default == Fate::Allow {
                allow = Some(Decider::Default { chain });
            } else if to_default {
                blocked.push((Decider::Default { chain }, default));
            }
            match allow {
                Some(d) => allowed.push((d, this)),
                None => out
                    .blocked
                    .extend(blocked.into_iter().map(|(d, f)| (d, f, this.clone()))),
            }
        }
    }
    // The walk puts parts in the order of their deciding rules, the default last; a rule that
    // gets a share of a slice is that slice's first allowing rule, or an earlier one would have
    // a share too and come first.
    if let Some(first) = allowed.iter().map(|(d, _)| *d).min() {
        let slices = allowed
            .iter()
            .filter(|(d, _)| *d == first)
            .map(|(_, s)| s.clone())
            .collect();
        out.first_allow = Some((first, slices));
    }
    out.allowed = allowed.into_iter().map(|(_, s)| s).collect();
    Some(out)
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
    use crate::testing::Rng;

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

    /// The walk portaudit had before parts were followed one at a time: every rule in turn,
    /// against every part still pending. Kept as the reference the faster walk must agree with,
    /// part for part and in the same order. It shares with the walk only what is not in
    /// question: how one part splits at one rule, which rules take part, what a default does.
    fn reference_walk(
        w: &Walker,
        chain: ChainId,
        input: Vec<Pending>,
        depth: usize,
    ) -> Vec<(Pending, Flow)> {
        let mut out = Vec::new();
        let Some(ch) = w.filter.chains.get(chain) else {
            return input
                .into_iter()
                .map(|p| (p, Flow::Done(Fate::Unknown, Decider::Default { chain })))
                .collect();
        };
        let mut remaining = input;
        for (idx, rule) in ch.rules.iter().enumerate() {
            if !w.takes_part(rule) {
                continue;
            }
            let mut next: Vec<Pending> = Vec::new();
            for (space, via) in remaining {
                let (hits, rest) = split(space, &rule.matches);
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
                let unknown = Flow::Done(Fate::Unknown, Decider::Unknown { chain, rule: idx });
                let pending = hits.into_iter().map(|h| (h, via_hit.clone()));
                match &rule.action {
                    Action::Allow => {
                        out.extend(pending.map(|p| (p, Flow::Done(Fate::Allow, decider))))
                    }
                    Action::Deny => {
                        out.extend(pending.map(|p| (p, Flow::Done(Fate::Deny, decider))))
                    }
                    Action::Return => out.extend(pending.map(|p| (p, Flow::Return))),
                    Action::Continue => next.extend(pending),
                    Action::Unknown(_) => out.extend(pending.map(|p| (p, unknown))),
                    Action::Jump(_) | Action::Goto(_) if depth >= w.max_depth => {
                        out.extend(pending.map(|p| (p, unknown)))
                    }
                    Action::Jump(t) | Action::Goto(t) => {
                        let goto = matches!(rule.action, Action::Goto(_));
                        // All of this part's hits go down together.
                        for (q, flow) in reference_walk(w, *t, pending.collect(), depth + 1) {
                            match flow {
                                Flow::Return if !goto => next.push(q),
                                _ => out.push((q, flow)),
                            }
                        }
                    }
                }
            }
            remaining = next;
        }
        out.extend(remaining.into_iter().map(|p| (p, default_flow(ch, chain))));
        out
    }

    /// Chains of random rules over a few ports and addresses, with every kind of action
    /// (jumps and gotos between the chains, loops included), disabled rules and rules with
    /// unmodelled conditions, so parts split, rejoin chains and return.
    fn random_filter(seed: u64, chains: usize, rules: usize) -> Filter {
        use crate::sets::AddrSet;
        let mut rng = Rng(seed);
        let set = |rng: &mut Rng, lo: u128, n: u64| -> (u128, u128) {
            let a = lo + rng.below(n) as u128;
            (a, a + rng.below(4) as u128)
        };
        let chains = (0..chains)
            .map(|c| {
                let rules = (0..rules)
                    .map(|i| {
                        let action = match rng.below(20) {
                            0 => Action::Continue,
                            1 => Action::Return,
                            2 => Action::Unknown("mark".into()),
                            3 | 4 => Action::Jump(rng.below(chains as u64) as usize),
                            5 => Action::Goto(rng.below(chains as u64) as usize),
                            6..=10 => Action::Deny,
                            _ => Action::Allow,
                        };
                        let mut r = Rule::new(format!("c{c}r{i}"), sp(), action);
                        r.matches = (0..1 + rng.below(2))
                            .map(|_| {
                                let mut s = Space::all();
                                if rng.below(6) > 0 {
                                    s.proto = ProtoSet::single([6, 17][rng.below(2) as usize]);
                                }
                                if rng.below(5) > 0 {
                                    let (lo, hi) = set(&mut rng, 5055, 12);
                                    s.dport = PortSet::range(lo, hi);
                                }
                                if rng.below(3) > 0 {
                                    let (lo, hi) = set(&mut rng, 100, 16);
                                    s.dst = AddrSet::range(lo, hi);
                                }
                                if rng.below(3) == 0 {
                                    let (lo, hi) = set(&mut rng, 100, 16);
                                    s.src = AddrSet::range(lo, hi);
                                }
                                s
                            })
                            .collect();
                        r.enabled = rng.below(12) > 0;
                        r.established_only = rng.below(25) == 0;
                        if rng.below(10) == 0 {
                            r.unmodeled.push("-m time".into());
                        }
                        r
                    })
                    .collect();
                let default = match rng.below(4) {
                    0 => Action::Return,
                    1 => Action::Allow,
                    _ => Action::Deny,
                };
                chain(&format!("c{c}"), rules, default)
            })
            .collect();
        Filter {
            chains,
            entries: vec![Entry {
                hook: Hook::Forward,
                stages: vec![0],
            }],
        }
    }

    /// Without allowing or denying rules with unmodelled conditions the most and least
    /// permissive walks give the same parts (`modes_agree`, which lets the checks walk once);
    /// with them they can differ, and `modes_agree` says so.
    #[test]
    fn the_permissive_modes_agree_without_unmodelled_allow_or_deny_rules() {
        let inputs = [Space::all(), udp(5058, 5064)];
        let (mut agreed, mut differed) = (0, 0);
        for seed in 1..=40u64 {
            let mut f = random_filter(seed * 7_919, 1 + (seed % 3) as usize, 30);
            for keep in [true, false] {
                if !keep {
                    // Unmodelled conditions stay only on rules of other actions.
                    for r in f.chains.iter_mut().flat_map(|c| c.rules.iter_mut()) {
                        if matches!(r.action, Action::Allow | Action::Deny) {
                            r.unmodeled.clear();
                        }
                    }
                }
                for input in &inputs {
                    let walk = |mode| {
                        let parts =
                            classify_mode(&f, &f.entries[0], std::slice::from_ref(input), 6, mode);
                        format!("{parts:?}")
                    };
                    let same = walk(Mode::MostPermissive) == walk(Mode::LeastPermissive);
                    if modes_agree(&f) {
                        assert!(same, "seed {seed} {input:?}: the modes differ");
                        agreed += 1;
                    } else if !same {
                        differed += 1;
                    }
                }
            }
        }
        assert!(
            agreed >= 40 && differed > 0,
            "{agreed} agreed, {differed} differed"
        );
    }

    /// Put some of a rule's spaces in a source zone or in destination zones.
    fn with_zones(rng: &mut Rng, r: &mut Rule) {
        use crate::sets::NameSet;
        for m in &mut r.matches {
            match rng.below(6) {
                0 => m.src_zone = NameSet::only(["lan"]),
                1 => m.dst_zone = NameSet::only(["wan", "dmz"]),
                _ => {}
            }
        }
    }

    /// What the walk in [`Mode::AsWritten`] credits to each allowing rule: its protocols and
    /// ports, from the parts it decides.
    fn credited_by_walk(
        f: &Filter,
        input: &Space,
    ) -> BTreeMap<(ChainId, usize), (ProtoSet, PortSet)> {
        let mut out: BTreeMap<(ChainId, usize), (ProtoSet, PortSet)> = BTreeMap::new();
        for part in classify(f, &f.entries[0], std::slice::from_ref(input), 6) {
            if let (Fate::Allow, Decider::Rule { chain, rule }) = (part.fate, part.decider) {
                let e = out
                    .entry((chain, rule))
                    .or_insert_with(|| (ProtoSet::empty(), PortSet::empty()));
                e.0 = e.0.union(&part.space.proto);
                e.1 = e.1.union(&part.space.dport);
            }
        }
        out
    }

    /// On single chains of random rules of every ending action (disabled ones, ones for
    /// established connections only, unmodelled conditions, several spaces, zones), the
    /// allowing rules found through the index are credited with exactly what the walk of the
    /// parts credits them; with a jump, a goto or a continue among them, or two stages, there is
    /// no answer and the caller walks.
    #[test]
    fn allowing_rules_are_credited_as_by_the_walk() {
        let mut udp_any = Space::all();
        udp_any.proto = ProtoSet::single(proto::UDP);
        let mut voice = udp(5058, 5062);
        voice.proto = ProtoSet::from_ranges([(6, 6), (17, 17)]);
        let inputs = [
            Space::all(),
            udp(5058, 5064),
            udp_any,
            voice,
            udp(5060, 5060),
        ];
        let (mut answered, mut credited) = (0, 0);
        for seed in 1..=60u64 {
            let mut f = random_filter(seed * 7_919, 1, 20 + (seed % 5) as usize * 10);
            let mut rng = Rng(seed);
            for r in &mut f.chains[0].rules {
                if matches!(
                    r.action,
                    Action::Jump(_) | Action::Goto(_) | Action::Continue
                ) {
                    r.action = if rng.below(2) == 0 {
                        Action::Allow
                    } else {
                        Action::Deny
                    };
                }
                with_zones(&mut rng, r);
            }
            let index = FilterIndex::new(&f);
            for input in &inputs {
                let want = credited_by_walk(&f, input);
                let (chain, got) = allowing_rules(&f, &index, &f.entries[0], input)
                    .expect("one chain of ending rules");
                assert_eq!(chain, 0);
                let got: BTreeMap<_, _> = got.into_iter().map(|(r, c)| ((0, r), c)).collect();
                assert_eq!(got, want, "seed {seed}, input {input:?}");
                answered += 1;
                credited += got.len();
            }
        }
        assert_eq!(answered, 60 * inputs.len());
        assert!(credited > 500, "{credited} rules credited");
        // A chain that jumps, and an entry of two stages: left to the walk.
        let f = random_filter(11, 2, 30);
        let index = FilterIndex::new(&f);
        assert!(f.chains[0]
            .rules
            .iter()
            .any(|r| matches!(r.action, Action::Jump(_))));
        assert!(allowing_rules(&f, &index, &f.entries[0], &Space::all()).is_none());
        let two = Entry {
            hook: Hook::Forward,
            stages: vec![0, 1],
        };
        assert!(allowing_rules(&f, &index, &two, &udp(5060, 5060)).is_none());
    }

    /// Per protocol, the destination ports of some slices (protocols 6 and 17 only).
    type PerProto = BTreeMap<u128, PortSet>;

    fn per_proto<'s>(slices: impl Iterator<Item = (&'s ProtoSet, &'s PortSet)>) -> PerProto {
        let mut out = PerProto::new();
        for (p, d) in slices {
            for proto in [6, 17] {
                if p.contains(proto) {
                    let e = out.entry(proto).or_insert_with(PortSet::empty);
                    *e = e.union(d);
                }
            }
        }
        out
    }

    /// What the walk says and [`slice_fates`] must say: the protocols and ports some packet
    /// is allowed on, the first allowing decider with what it allows, and for the rest, what
    /// decides it (with its fate), by decider.
    type Fates = (
        PerProto,
        Option<(Decider, PerProto)>,
        Vec<(Decider, Fate, PerProto)>,
    );

    fn blocked_of<'s>(
        allowed: &PerProto,
        parts: impl Iterator<Item = (Decider, Fate, (&'s ProtoSet, &'s PortSet))>,
    ) -> Vec<(Decider, Fate, PerProto)> {
        let mut by: BTreeMap<Decider, (Fate, PerProto)> = BTreeMap::new();
        for (d, fate, (p, ports)) in parts {
            for (proto, set) in per_proto(std::iter::once((p, ports))) {
                let rest = match allowed.get(&proto) {
                    Some(a) => set.difference(a),
                    None => set,
                };
                if !rest.is_empty() {
                    let e = by.entry(d).or_insert_with(|| (fate, PerProto::new()));
                    let s = e.1.entry(proto).or_insert_with(PortSet::empty);
                    *s = s.union(&rest);
                }
            }
        }
        by.into_iter().map(|(d, (f, p))| (d, f, p)).collect()
    }

    fn fates_by_walk(parts: &[Part]) -> Fates {
        let allow = || parts.iter().filter(|p| p.fate == Fate::Allow);
        let allowed = per_proto(allow().map(|p| (&p.space.proto, &p.space.dport)));
        let first = allow().next().map(|f| {
            let mine = allow().filter(|p| p.decider == f.decider);
            (
                f.decider,
                per_proto(mine.map(|p| (&p.space.proto, &p.space.dport))),
            )
        });
        let blocked = blocked_of(
            &allowed,
            parts
                .iter()
                .filter(|p| p.fate != Fate::Allow)
                .map(|p| (p.decider, p.fate, (&p.space.proto, &p.space.dport))),
        );
        (allowed, first, blocked)
    }

    fn fates_by_slices(s: &SliceFates) -> Fates {
        let allowed = per_proto(s.allowed.iter().map(|(p, d)| (p, d)));
        let first = s
            .first_allow
            .as_ref()
            .map(|(d, slices)| (*d, per_proto(slices.iter().map(|(p, d)| (p, d)))));
        let blocked = blocked_of(
            &allowed,
            s.blocked
                .iter()
                .map(|(d, f, (p, ports))| (*d, *f, (p, ports))),
        );
        (allowed, first, blocked)
    }

    /// On single chains of random rules of every ending action (disabled ones, ones for
    /// established connections only, several spaces, zones, allowing, denying and returning
    /// defaults), the slices say what the walk of the parts says, in every mode; a rule with
    /// an unmodelled condition, a jump, goto, continue or return among the rules that meet the
    /// traffic, or two stages, leave the question to the walk.
    #[test]
    fn slice_fates_are_the_walks() {
        let mut voice = udp(5058, 5062);
        voice.proto = ProtoSet::from_ranges([(6, 6), (17, 17)]);
        let mut tcp_udp = Space::all();
        tcp_udp.proto = ProtoSet::from_ranges([(6, 6), (17, 17)]);
        let inputs = [tcp_udp, udp(5058, 5064), voice, udp(5060, 5060)];
        let (mut answered, mut first, mut blocked, mut left) = (0, 0, 0, 0);
        for seed in 1..=80u64 {
            let mut f = random_filter(seed * 6_571, 1, 10 + (seed % 6) as usize * 10);
            let mut rng = Rng(seed);
            let keep_odd = seed % 4 == 0;
            for r in &mut f.chains[0].rules {
                if matches!(
                    r.action,
                    Action::Jump(_) | Action::Goto(_) | Action::Continue | Action::Return
                ) && !(keep_odd && rng.below(3) == 0)
                {
                    r.action = if rng.below(2) == 0 {
                        Action::Allow
                    } else {
                        Action::Deny
                    };
                }
                if !keep_odd {
                    r.unmodeled.clear();
                }
                with_zones(&mut rng, r);
            }
            let index = FilterIndex::new(&f);
            for input in &inputs {
                let got = slice_fates(&f, &index, &f.entries[0], input);
                let odd = f.chains[0].rules.iter().any(|r| {
                    plays(r)
                        && r.matches.iter().any(|m| m.intersects(input))
                        && (!r.unmodeled.is_empty()
                            || !matches!(
                                r.action,
                                Action::Allow | Action::Deny | Action::Unknown(_)
                            ))
                });
                let Some(got) = got else {
                    assert!(odd, "seed {seed}, input {input:?}: no answer");
                    left += 1;
                    continue;
                };
                assert!(!odd, "seed {seed}, input {input:?}: answered");
                let got = fates_by_slices(&got);
                for mode in [Mode::AsWritten, Mode::MostPermissive, Mode::LeastPermissive] {
                    let parts =
                        classify_mode(&f, &f.entries[0], std::slice::from_ref(input), 6, mode);
                    assert_eq!(
                        got,
                        fates_by_walk(&parts),
                        "seed {seed}, input {input:?}, {mode:?}"
                    );
                }
                answered += 1;
                first += usize::from(got.1.is_some());
                blocked += usize::from(!got.2.is_empty());
            }
        }
        assert!(
            answered > 200 && first > 100 && blocked > 100 && left > 10,
            "{answered} answered ({first} allow some, {blocked} block some), {left} left to the walk"
        );
        let two = Entry {
            hook: Hook::Forward,
            stages: vec![0, 0],
        };
        let f = random_filter(5, 1, 20);
        let index = FilterIndex::new(&f);
        assert!(slice_fates(&f, &index, &two, &udp(5060, 5060)).is_none());
    }

    /// A walk through the filter's index with some rules read from an overlay (their
    /// destinations widened, as `required-flow` does for a host name; or moved elsewhere) gives
    /// the parts of a walk of a copy of the filter with those rules changed, whose index does
    /// not know them as they were.
    #[test]
    fn an_overlaid_walk_is_the_walk_of_the_changed_copy() {
        use crate::sets::AddrSet;
        let inputs = [Space::all(), udp(5058, 5064)];
        let (mut compared, mut differs) = (0, 0);
        for seed in 1..=40u64 {
            let f = random_filter(seed * 15_485_863, 1 + (seed % 3) as usize, 30);
            let index = FilterIndex::new(&f);
            let mut rng = Rng(seed);
            let mut copy = f.clone();
            let mut overlay = Overlay::default();
            for (c, chain) in copy.chains.iter_mut().enumerate() {
                for (i, r) in chain.rules.iter_mut().enumerate() {
                    if rng.below(5) != 0 {
                        continue;
                    }
                    for m in &mut r.matches {
                        m.dst = if rng.below(2) == 0 {
                            AddrSet::full()
                        } else {
                            AddrSet::range(300, 310)
                        };
                    }
                    overlay.replace(c, i, r.matches.clone());
                }
            }
            for mode in [Mode::AsWritten, Mode::MostPermissive, Mode::LeastPermissive] {
                for input in &inputs {
                    let input = std::slice::from_ref(input);
                    let e = &f.entries[0];
                    let got = classify_overlaid(&f, Some(&index), &overlay, e, input, 6, mode);
                    let want = classify_mode(&copy, e, input, 6, mode);
                    assert_eq!(
                        format!("{got:?}"),
                        format!("{want:?}"),
                        "seed {seed} {mode:?}"
                    );
                    let plain = classify_mode(&f, e, input, 6, mode);
                    differs += usize::from(format!("{plain:?}") != format!("{want:?}"));
                    compared += 1;
                }
            }
        }
        assert!(
            compared == 240 && differs > 100,
            "{differs} of {compared} changed by the overlay"
        );
    }

    /// The walk that follows each part to its next rule through the index gives the reference
    /// walk's parts, fates, deciders and uncertain rules, in the same order, with and without
    /// the index and in every mode.
    #[test]
    fn part_by_part_walk_matches_the_rule_by_rule_walk() {
        let mut udp_any = Space::all();
        udp_any.proto = ProtoSet::single(proto::UDP);
        let inputs = [
            vec![Space::all()],
            vec![udp(5058, 5064)],
            vec![udp_any, udp(5060, 5060), udp(1, 10)],
        ];
        let mut compared = 0;
        for seed in 1..=40u64 {
            let f = random_filter(seed * 104_729, 1 + (seed % 4) as usize, 30);
            let index = FilterIndex::new(&f);
            for mode in [Mode::AsWritten, Mode::MostPermissive, Mode::LeastPermissive] {
                for input in &inputs {
                    let pending = || input.iter().map(|s| (s.clone(), Vec::new())).collect();
                    for ix in [None, Some(&index)] {
                        let w = Walker {
                            filter: &f,
                            index: ix,
                            overlay: &Overlay::default(),
                            max_depth: 6,
                            mode,
                        };
                        let got = format!("{:?}", debug(w.walk(0, pending(), 0)));
                        let want = format!("{:?}", debug(reference_walk(&w, 0, pending(), 0)));
                        assert_eq!(
                            got,
                            want,
                            "seed {seed} {mode:?} {input:?} index {}",
                            ix.is_some()
                        );
                        compared += 1;
                    }
                }
            }
        }
        assert_eq!(compared, 40 * 3 * 3 * 2);
    }

    /// One line per part: its space, the uncertain rules it passed, and its fate and decider.
    fn debug(parts: Vec<(Pending, Flow)>) -> Vec<String> {
        parts
            .into_iter()
            .map(|((s, via), flow)| match flow {
                Flow::Done(fate, d) => format!("{s:?} {via:?} {fate:?} {d:?}"),
                Flow::Return => format!("{s:?} {via:?} return"),
            })
            .collect()
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
