//! `unreachable-rules`: rules that can never match because earlier rules of the same chain decide
//! all of their traffic (as Batfish's filterLineReachability). Reported with the covering rules.
//!
//! Only rules that end evaluation for what they match (allow, deny, return, goto) and whose
//! conditions are fully modelled count as covering; a rule with unmodelled conditions may match
//! less than it seems and never covers anything.

use super::*;
use crate::engine::cover::{covers, held_before, COVER_BUDGET};
use crate::engine::index::RuleIndex;
use crate::model::{Action, Rule};
use crate::sets::{subtract, Space};
use rayon::prelude::*;

/// Stop subtracting when a rule's uncovered remainder fragments beyond this many pieces; the
/// cover search ([`by_cover`]) answers instead, and only if that too runs past its budget is the
/// rule treated as reachable (no finding rather than a wrong one).
const MAX_PIECES: usize = 512;

/// Once the remainder has this many pieces or this many candidates took a part of it (and again
/// at four times as many), look for a packet in it that no earlier rule decides: if there is
/// one the rule is reachable, and subtracting the other candidates (what makes fragmenting
/// rules expensive) could never empty it.
const WITNESS_AT: usize = 16;

/// How many pieces of the remainder to try a packet of.
const WITNESS_TRIES: usize = 8;

/// Chains with at least this many rules have their rules answered in parallel.
const PARALLEL_AT: usize = 1024;

/// Whether some piece of `remaining` holds a packet that none of the rules indexed before `pos`
/// matches. Exact when it says yes: the packet lies in the remainder and no earlier covering
/// rule holds it (the index returns every rule that meets it).
fn uncovered(index: &RuleIndex, live: &[&Rule], pos: usize, remaining: &[Space]) -> bool {
    let step = remaining.len().div_ceil(WITNESS_TRIES).max(1);
    remaining
        .iter()
        .step_by(step)
        .filter_map(Space::corner)
        .any(|p| {
            !index
                .candidates(std::iter::once(&p), pos)
                .any(|i| takes(live[i]).iter().any(|m| p.is_subset(m)))
        })
}

/// [`covered_by`]'s answer for a rule whose remainder fragmented past [`MAX_PIECES`], by the
/// cover search: whether the earlier rules hold all of its traffic and, if they do, which of
/// them take a part of it first ([`first_takers`]). `Fragmented` only when that exceeds
/// [`COVER_BUDGET`].
fn by_cover(index: &RuleIndex, live: &[&Rule], pos: usize) -> Answer {
    let spaces: Vec<&Space> = live[pos].matches.iter().filter(|s| !s.is_empty()).collect();
    let candidates: Vec<usize> = index.candidates(spaces.iter().copied(), pos).collect();
    let all: Vec<&Space> = candidates
        .iter()
        .flat_map(|&i| takes(live[i]).iter())
        .collect();
    let mut budget = COVER_BUDGET;
    for s in &spaces {
        match covers((*s).clone(), &all, &mut budget) {
            None => return Answer::Fragmented,
            Some(false) => return Answer::Reachable,
            Some(true) => {}
        }
    }
    let holder = holders(live, &spaces, &candidates);
    match first_takers(index, live, &spaces, &candidates, &holder, &mut budget) {
        Some(covering) => Answer::Covered(covering),
        None => Answer::Fragmented,
    }
}

/// For each space of a rule, the first of `candidates` with a match that holds all of it
/// (`usize::MAX` if none does): no later rule decides any of that space.
fn holders(live: &[&Rule], spaces: &[&Space], candidates: &[usize]) -> Vec<usize> {
    spaces
        .iter()
        .map(|s| {
            candidates
                .iter()
                .copied()
                .find(|&i| takes(live[i]).iter().any(|m| s.is_subset(m)))
                .unwrap_or(usize::MAX)
        })
        .collect()
}

/// The rules of `candidates` (in order) that take a part of the rule's `spaces` first: some of
/// their share of that traffic is outside every candidate before them, which is what the
/// subtraction in rule order marks as touched. The candidates must decide all of the traffic.
/// `holder` is [`holders`]' answer: candidates after a space's holder take none of it, and a
/// space that only several candidates hold together (no holder) is asked of every candidate.
/// `None` past the budget.
fn first_takers(
    index: &RuleIndex,
    live: &[&Rule],
    spaces: &[&Space],
    candidates: &[usize],
    holder: &[usize],
    budget: &mut usize,
) -> Option<Vec<usize>> {
    let last = holder.iter().copied().max().unwrap_or(0);
    let mut covering = Vec::new();
    for &i in candidates.iter().take_while(|&&i| i <= last) {
        let mut first = false;
        'share: for (s, &holder) in spaces.iter().zip(holder) {
            if i > holder {
                continue;
            }
            for m in takes(live[i]).iter().filter(|m| m.intersects(s)) {
                let share = s.intersect(m);
                if !held_before(index, |j| takes(live[j]), i, share, budget)? {
                    first = true;
                    break 'share;
                }
            }
        }
        if first {
            covering.push(i);
        }
    }
    Some(covering)
}

/// When some earlier rule holds each whole space of `live[pos]` (a wide rule repeated after
/// many narrow ones that carve its remainder up), the rules that take a part of it first,
/// found without the subtraction: `None` when a space has no such holder or the search runs
/// past [`COVER_BUDGET`].
fn held(index: &RuleIndex, live: &[&Rule], pos: usize) -> Option<Vec<usize>> {
    let spaces: Vec<&Space> = live[pos].matches.iter().filter(|s| !s.is_empty()).collect();
    let candidates: Vec<usize> = index.candidates(spaces.iter().copied(), pos).collect();
    let holder = holders(live, &spaces, &candidates);
    if spaces.is_empty() || holder.contains(&usize::MAX) {
        return None;
    }
    first_takers(
        index,
        live,
        &spaces,
        &candidates,
        &holder,
        &mut COVER_BUDGET.clone(),
    )
}

fn terminal(r: &Rule) -> bool {
    matches!(
        r.action,
        Action::Allow | Action::Deny | Action::Return | Action::Goto(_)
    )
}

/// Whether `r` is evaluated at all: enabled, not only for established connections, and with
/// something to match. Only such rules are answered.
fn live(r: &Rule) -> bool {
    r.enabled && !r.established_only && !r.matches.is_empty()
}

/// What `r` takes from the rules after it: its match spaces when it is evaluated, ends
/// evaluation and is fully modelled; nothing otherwise. The rule index holds every rule of
/// the chain (it is the one all checks share), so the search skips the others through this.
fn takes(r: &Rule) -> &[Space] {
    if live(r) && terminal(r) && r.unmodeled.is_empty() {
        &r.matches
    } else {
        &[]
    }
}

fn action_word(a: &Action) -> &'static str {
    match a {
        Action::Allow => "allows",
        Action::Deny => "denies",
        Action::Return => "returns",
        Action::Goto(_) => "goes to another chain for",
        _ => "decides",
    }
}

/// Whether earlier rules decide all of a rule's traffic.
#[derive(Debug, PartialEq)]
enum Answer {
    /// By these rules (positions in `live`), those that take a part of it, in rule order.
    Covered(Vec<usize>),
    /// Some of its traffic reaches it.
    Reachable,
    /// What is left of it fragmented beyond [`MAX_PIECES`] and the cover search beyond
    /// [`COVER_BUDGET`]: treated as reachable.
    Fragmented,
    /// A packet of it that no earlier rule holds was found: reachable.
    Witnessed,
}

/// Whether the earlier rules of the chain `live` (those `index` offers that can cover, see
/// [`takes`]) decide all of `live[pos]`'s traffic.
/// `shortcuts` settles a rule whose remainder fragments without subtracting further: a packet
/// no earlier rule holds proves it reachable (`Witnessed`, where the full subtraction would
/// answer `Reachable` or `Fragmented`), and earlier rules that each hold a whole space of it
/// prove it covered ([`held`], the same covering rules as the subtraction). The unit tests
/// below run with and without them.
fn covered_by(index: &RuleIndex, live: &[&Rule], pos: usize, shortcuts: bool) -> Answer {
    let mut remaining: Vec<Space> = live[pos]
        .matches
        .iter()
        .filter(|s| !s.is_empty())
        .cloned()
        .collect();
    if remaining.is_empty() {
        return Answer::Reachable;
    }
    // The earlier rules that can cover part of this one, in rule order. A rule whose matches
    // meet none of this rule's never touches what remains of it, so skipping it changes
    // nothing; the index only rules such rules out, never a real overlap.
    let earlier = if remaining.len() > MAX_PIECES {
        // Fragmented from the start: the linear walk gives up at the first earlier covering
        // candidate, exactly as before.
        index.all_before(pos)
    } else {
        index.candidates(&remaining, pos)
    };
    let mut covering: Vec<usize> = Vec::new();
    let mut witness_at = WITNESS_AT;
    let mut tried_held = false;
    for i in earlier {
        let mut touched = false;
        for m in takes(live[i]) {
            touched |= subtract(&mut remaining, m);
        }
        if touched {
            covering.push(i);
        }
        if remaining.is_empty() {
            break;
        }
        if remaining.len() > MAX_PIECES {
            return by_cover(index, live, pos);
        }
        // Pieces, or candidates that took a part: a remainder can stay one piece while each
        // candidate cuts a hole in one of its dimensions (a wide rule after thousands of narrow
        // ones of the same source and service), and each subtraction costs as many intervals.
        if shortcuts && remaining.len().max(covering.len()) >= witness_at {
            witness_at *= 4;
            if uncovered(index, live, pos, &remaining) {
                // What remains can never be emptied.
                return Answer::Witnessed;
            }
            // The holders and the search depend on the rule and its candidates only, not on
            // how far the subtraction got: asked once.
            if !tried_held {
                tried_held = true;
                if let Some(covering) = held(index, live, pos) {
                    return Answer::Covered(covering);
                }
            }
        }
    }
    if remaining.is_empty() && !covering.is_empty() {
        Answer::Covered(covering)
    } else {
        Answer::Reachable
    }
}

/// [`covered_by`] for the rules of `live` at `positions`, in order. Rules are answered
/// independently, so a long chain (`parallel`) shares the threads.
fn answers(index: &RuleIndex, live: &[&Rule], positions: &[usize], parallel: bool) -> Vec<Answer> {
    let answer = |&pos: &usize| covered_by(index, live, pos, true);
    if parallel {
        positions
            .par_iter()
            .with_min_len(PARALLEL_AT / 4)
            .map(answer)
            .collect()
    } else {
        positions.iter().map(answer).collect()
    }
}

pub fn check(req: &Requirement, ctx: &Ctx) -> Outcome {
    let mut findings = Vec::new();
    for (c, chain) in ctx.config.filter.chains.iter().enumerate() {
        // Every rule keeps its position in the chain, so the index all checks share serves;
        // `takes` leaves out the rules that cannot cover (and the index may offer them).
        let rules: Vec<&Rule> = chain.rules.iter().collect();
        let positions: Vec<usize> = (0..rules.len()).filter(|&i| live(rules[i])).collect();
        let own;
        let index = match ctx.index.and_then(|ix| ix.chains.get(c)) {
            Some(index) => index,
            None => {
                own = RuleIndex::new(
                    rules
                        .iter()
                        .enumerate()
                        .map(|(pos, r)| (pos, takes(r)))
                        .filter(|(_, m)| !m.is_empty()),
                );
                &own
            }
        };
        let answers = answers(index, &rules, &positions, positions.len() >= PARALLEL_AT);
        for (&pos, answer) in positions.iter().zip(answers) {
            let rule = rules[pos];
            let Answer::Covered(covering) = answer else {
                continue;
            };
            let covering: Vec<&Rule> = covering.into_iter().map(|i| rules[i]).collect();
            let mut f = finding(
                req,
                rule.span,
                format!(
                    "{} can never match: earlier rule{} {} already decide{} all of its traffic",
                    rule.name,
                    if covering.len() == 1 { "" } else { "s" },
                    named(&covering),
                    if covering.len() == 1 { "s" } else { "" }
                ),
                "never matches",
            );
            for c in covering.iter().take(RELATED) {
                f.related.push(related(
                    c.span,
                    format!("{} {} its traffic first", c.name, action_word(&c.action)),
                ));
            }
            findings.push(f);
        }
    }
    if findings.is_empty() {
        Outcome::pass(None)
    } else {
        Outcome::with(Status::Fail, findings)
    }
}

/// Covering rules drawn as related locations; the message names fewer.
const RELATED: usize = 20;
/// Covering rules named in the message: a rule after a long run of narrower ones can be covered
/// by hundreds of them, and a message naming them all ran to 18 KB.
const NAMED: usize = 5;

/// The covering rules for the message: all of them up to [`NAMED`], else the first ones and how
/// many more.
fn named(covering: &[&Rule]) -> String {
    let names: Vec<&str> = covering
        .iter()
        .take(NAMED)
        .map(|r| r.name.as_str())
        .collect();
    if covering.len() <= NAMED {
        names.join(", ")
    } else {
        format!("{} and {} more", names.join(", "), covering.len() - NAMED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sets::{AddrSet, PortSet, ProtoSet};
    use crate::source::{FileId, Span};
    use crate::testing::Rng;

    /// Every rule of `live` indexed at its position, as the index every check shares holds them.
    fn index_of(live: &[&Rule]) -> RuleIndex {
        RuleIndex::new(
            live.iter()
                .enumerate()
                .map(|(i, r)| (i, r.matches.as_slice())),
        )
    }

    /// A rule named `name` matching `space`.
    fn rule_of(name: &str, action: Action, space: Space) -> Rule {
        let mut r = Rule::new(name, Span::new(FileId(0), 0, 0), action);
        r.matches = vec![space];
        r
    }

    /// A wide rule after many narrow ones of the same source and service, one destination each:
    /// its remainder stays one piece while every candidate cuts a hole in its destinations (each
    /// subtraction as dear as the holes so far). The witness is asked once enough candidates
    /// took a part, and settles it as the whole subtraction would (reachable).
    #[test]
    fn the_witness_is_asked_when_candidates_cut_holes_in_one_piece() {
        let sip = |name: &str, dst: AddrSet| {
            let space = Space {
                proto: ProtoSet::single(17),
                dport: PortSet::range(5060, 5060),
                src: AddrSet::range(10, 20),
                dst,
                ..Space::all()
            };
            rule_of(name, Action::Allow, space)
        };
        let mut rules: Vec<Rule> = (0..4 * WITNESS_AT as u128)
            .map(|i| sip(&format!("n{i}"), AddrSet::range(1000 + 2 * i, 1000 + 2 * i)))
            .collect();
        rules.push(sip(
            "wide",
            AddrSet::range(1000, 1000 + 8 * WITNESS_AT as u128),
        ));
        let live: Vec<&Rule> = rules.iter().collect();
        let index = index_of(&live);
        let pos = live.len() - 1;
        assert_eq!(covered_by(&index, &live, pos, false), Answer::Reachable);
        assert_eq!(covered_by(&index, &live, pos, true), Answer::Witnessed);
    }

    /// Chains where a wide rule comes after many small ones that tile part or all of it, so
    /// remainders fragment past the witness thresholds: with and without the shortcuts every
    /// rule gets the same answer (the same covering rules), the witness does fire, and a rule
    /// inside the wide one, fragmented by the tiles too, is answered by its holder as by the
    /// subtraction.
    #[test]
    fn the_witness_never_changes_a_verdict() {
        let rule = |name: &str, action, ports: (u128, u128), dst: (u128, u128)| {
            let space = Space {
                proto: ProtoSet::single(6),
                dport: PortSet::range(ports.0, ports.1),
                dst: AddrSet::range(dst.0, dst.1),
                ..Space::all()
            };
            rule_of(name, action, space)
        };
        let (mut covered, mut witnessed, mut inner) = (0, 0, 0);
        for seed in 1..=60u64 {
            let mut rng = Rng(seed * 0x9E37_79B9);
            let mut rules = Vec::new();
            // Tiles of a 16 x 16 square of ports x addresses; some seeds leave holes.
            let holes = rng.below(3);
            for p in 0..16 {
                for a in 0..16 {
                    if holes > 0 && rng.below(40) < holes {
                        continue;
                    }
                    let (w, h) = (1 + rng.below(2) as u128, 1 + rng.below(2) as u128);
                    let action = if rng.below(2) == 0 {
                        Action::Allow
                    } else {
                        Action::Deny
                    };
                    let (p, a) = (1000 + p as u128, 100 + a as u128);
                    rules.push(rule(
                        &format!("t{p}-{a}"),
                        action,
                        (p, p + w - 1),
                        (a, a + h - 1),
                    ));
                }
            }
            // Shuffle the tiles, then the wide rules after them.
            for i in (1..rules.len()).rev() {
                rules.swap(i, rng.below(i as u64 + 1) as usize);
            }
            rules.push(rule("wide", Action::Allow, (1000, 1015), (100, 115)));
            // Inside "wide", so held by it whatever the tiles leave.
            rules.push(rule("inner", Action::Deny, (1001, 1014), (101, 114)));
            rules.push(rule("wider", Action::Deny, (1000, 1016), (100, 115)));
            let live: Vec<&Rule> = rules.iter().collect();
            let index = index_of(&live);
            for pos in 0..live.len() {
                let with = covered_by(&index, &live, pos, true);
                let without = covered_by(&index, &live, pos, false);
                let name = &live[pos].name;
                if name == "inner" {
                    // The holder's answer is the subtraction's, covering rules included.
                    let by_holder = held(&index, &live, pos).expect("held by wide");
                    assert_eq!(without, Answer::Covered(by_holder), "seed {seed}");
                    inner += 1;
                }
                match &with {
                    Answer::Witnessed => {
                        assert!(
                            matches!(without, Answer::Reachable | Answer::Fragmented),
                            "seed {seed}, rule {name}: {without:?}"
                        );
                        witnessed += 1;
                    }
                    _ => assert_eq!(with, without, "seed {seed}, rule {name}"),
                }
                if (name == "wide" || name == "wider") && matches!(with, Answer::Covered(_)) {
                    covered += 1;
                }
            }
        }
        assert_eq!(inner, 60);
        assert!(covered > 10, "some wide rules are covered ({covered})");
        assert!(witnessed > 10, "the witness fires ({witnessed})");
    }

    /// Where the subtraction gives up on a remainder, the cover search answers what the full
    /// subtraction would: on the tiled chains of the test above, for every rule the
    /// subtraction settles, the same answer and the same covering rules.
    #[test]
    fn the_cover_search_answers_as_the_subtraction() {
        let (mut covered, mut reachable) = (0, 0);
        for seed in 1..=30u64 {
            let mut rng = Rng(seed * 0x2545_F491);
            let mut rules = Vec::new();
            let holes = rng.below(3);
            for p in 0..12u128 {
                for a in 0..12u128 {
                    if holes > 0 && rng.below(30) < holes {
                        continue;
                    }
                    let (w, h) = (1 + rng.below(3) as u128, 1 + rng.below(2) as u128);
                    let space = Space {
                        proto: ProtoSet::single(6),
                        dport: PortSet::range(1000 + p, 1000 + p + w - 1),
                        dst: AddrSet::range(100 + a, 100 + a + h - 1),
                        ..Space::all()
                    };
                    rules.push(rule_of(&format!("t{p}-{a}"), Action::Deny, space));
                }
            }
            for i in (1..rules.len()).rev() {
                rules.swap(i, rng.below(i as u64 + 1) as usize);
            }
            let wide = Space {
                proto: ProtoSet::single(6),
                dport: PortSet::range(1000, 1011),
                dst: AddrSet::range(100, 111),
                ..Space::all()
            };
            rules.push(rule_of("wide", Action::Allow, wide));
            let live: Vec<&Rule> = rules.iter().collect();
            let index = index_of(&live);
            for pos in 0..live.len() {
                match covered_by(&index, &live, pos, false) {
                    Answer::Fragmented => {}
                    Answer::Covered(by) => {
                        assert_eq!(
                            by_cover(&index, &live, pos),
                            Answer::Covered(by),
                            "seed {seed}, rule {pos}"
                        );
                        covered += 1;
                    }
                    other => {
                        assert_eq!(by_cover(&index, &live, pos), other, "seed {seed}, {pos}");
                        reachable += 1;
                    }
                }
            }
        }
        assert!(
            covered > 30 && reachable > 30,
            "{covered} covered, {reachable} reachable"
        );
    }

    /// The subtraction in rule order without a limit: the rules that took a part of `target`,
    /// whether they took all of it, and the most pieces its remainder had.
    fn subtraction(target: &Rule, rules: &[&Rule]) -> (Vec<usize>, bool, usize) {
        let mut remaining = target.matches.clone();
        let (mut took, mut most) = (Vec::new(), 0);
        for (i, r) in rules.iter().enumerate() {
            if remaining.is_empty() {
                break;
            }
            if r.matches
                .iter()
                .fold(false, |t, m| subtract(&mut remaining, m) | t)
            {
                took.push(i);
            }
            most = most.max(remaining.len());
        }
        (took, remaining.is_empty(), most)
    }

    /// A rule of more spaces than [`MAX_PIECES`] (a long list of services, say) is past what the
    /// subtraction takes from the start; the cover search then gives the answer of the
    /// subtraction without a limit: covered by the same rules, or not covered.
    #[test]
    fn a_rule_the_subtraction_gives_up_on_is_settled_by_the_cover_search() {
        let ports = |lo: u128, hi: u128| Space {
            proto: ProtoSet::single(17),
            dport: PortSet::range(lo, hi),
            dst: AddrSet::range(500, 520),
            ..Space::all()
        };
        let mut target = rule_of("target", Action::Allow, ports(0, 0));
        target.matches = (0..1200)
            .map(|p| ports(2000 + 2 * p, 2000 + 2 * p))
            .collect();
        let answer = |rules: &[Rule]| {
            let mut live: Vec<&Rule> = rules.iter().collect();
            live.push(&target);
            let (took, emptied, most) = subtraction(&target, &live[..rules.len()]);
            // Still past the limit after the first earlier rule.
            assert!(most > MAX_PIECES, "{most} pieces");
            let got = covered_by(&index_of(&live), &live, rules.len(), true);
            if emptied {
                assert_eq!(got, Answer::Covered(took.clone()));
            } else {
                assert!(!matches!(got, Answer::Covered(_)), "{got:?}");
            }
            (emptied, took)
        };
        let earlier = |ranges: &[(u128, u128)]| -> Vec<Rule> {
            ranges
                .iter()
                .enumerate()
                .map(|(k, &(lo, hi))| rule_of(&format!("e{k}"), Action::Deny, ports(lo, hi)))
                .collect()
        };
        // Overlapping rules, one that takes nothing left, and one that holds it all.
        let covering = earlier(&[
            (4000, 5000),
            (1000, 2100),
            (2050, 2300),
            (1500, 2200),
            (0, 9999),
        ]);
        assert_eq!(answer(&covering), (true, vec![0, 1, 2, 4]));
        assert!(!answer(&earlier(&[(4000, 5000), (2000, 3997)])).0);
        assert_eq!(
            answer(&earlier(&[(4300, 4398), (0, 9999), (1000, 1200)])),
            (true, vec![0, 1])
        );
    }

    /// A long chain answered in parallel gets, rule for rule, the answers of one answered in
    /// order.
    #[test]
    fn parallel_answers_are_the_answers_in_order() {
        let mut rng = Rng(0xfeed_5eed);
        let rules: Vec<Rule> = (0..PARALLEL_AT + 500)
            .map(|i| {
                let port = 1000 + rng.below(40) as u128;
                let addr = 100 + rng.below(30) as u128;
                let space = Space {
                    proto: ProtoSet::single(6),
                    dport: PortSet::range(port, port + rng.below(3) as u128),
                    dst: AddrSet::range(addr, addr + rng.below(4) as u128),
                    ..Space::all()
                };
                let action = [Action::Allow, Action::Deny][rng.below(2) as usize].clone();
                rule_of(&format!("r{i}"), action, space)
            })
            .collect();
        let live: Vec<&Rule> = rules.iter().collect();
        let index = index_of(&live);
        let positions: Vec<usize> = (0..live.len()).collect();
        let parallel = answers(&index, &live, &positions, true);
        let covered = parallel
            .iter()
            .filter(|a| matches!(a, Answer::Covered(_)))
            .count();
        assert!(
            covered > 100 && covered < live.len() - 100,
            "{covered} covered"
        );
        assert_eq!(parallel, answers(&index, &live, &positions, false));
    }

    /// With the index every check shares (all rules of the chain, at their positions), rules
    /// that cannot cover are offered by the index but take nothing: a disabled rule, one for
    /// established connections only, one with unmodelled conditions, one that lets traffic
    /// continue. The rule after them is reachable; after an allow-all it is covered by that
    /// rule alone.
    #[test]
    fn rules_that_cannot_cover_take_nothing_from_the_shared_index() {
        let narrow = Space {
            proto: ProtoSet::single(6),
            dport: PortSet::single(443),
            ..Space::all()
        };
        let mut disabled = rule_of("disabled", Action::Allow, Space::all());
        disabled.enabled = false;
        let mut established = rule_of("established", Action::Deny, Space::all());
        established.established_only = true;
        let mut unmodelled = rule_of("unmodelled", Action::Deny, Space::all());
        unmodelled.unmodeled.push("-m time".into());
        let goes_on = rule_of("goes-on", Action::Continue, Space::all());
        let target = rule_of("target", Action::Allow, narrow);
        let all = rule_of("all", Action::Allow, Space::all());
        let chain = |rules: &[&Rule]| -> Answer {
            let live: Vec<&Rule> = rules.to_vec();
            let index = RuleIndex::new(
                live.iter()
                    .enumerate()
                    .map(|(i, r)| (i, r.matches.as_slice())),
            );
            covered_by(&index, &live, live.len() - 1, true)
        };
        let blockers = [&disabled, &established, &unmodelled, &goes_on];
        let mut rules: Vec<&Rule> = blockers.to_vec();
        rules.push(&target);
        assert_eq!(chain(&rules), Answer::Reachable);
        rules.insert(2, &all);
        assert_eq!(chain(&rules), Answer::Covered(vec![2]));
    }

    /// A packet no earlier rule holds proves a remainder reachable; a remainder wholly inside
    /// earlier rules has none.
    #[test]
    fn uncovered_finds_a_packet_only_where_there_is_one() {
        let part = |lo, hi| Space {
            dport: PortSet::range(lo, hi),
            ..Space::all()
        };
        let a = rule_of("a", Action::Deny, part(1, 10));
        let b = rule_of("b", Action::Allow, part(1, 20));
        let live = vec![&a, &b];
        let index = index_of(&live);
        assert!(!uncovered(&index, &live, 1, &[part(2, 5), part(7, 10)]));
        assert!(uncovered(&index, &live, 1, &[part(2, 5), part(11, 20)]));
        // Zones: a packet from a zone the earlier rule leaves out.
        let mut z = part(2, 5);
        z.src_zone = NameSet::Except(crate::sets::Names::new(["wan".to_string()].into()));
        let lan = Space {
            src_zone: NameSet::only(["lan"]),
            ..Space::all()
        };
        let c = rule_of("c", Action::Deny, lan);
        let live = vec![&c, &b];
        let index = index_of(&live);
        assert!(uncovered(&index, &live, 1, std::slice::from_ref(&z)));
        z.src_zone = NameSet::only(["lan"]);
        assert!(!uncovered(&index, &live, 1, &[z]));
    }
}
