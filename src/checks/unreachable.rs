//! `unreachable-rules`: rules that can never match because earlier rules of the same chain decide
//! all of their traffic (as Batfish's filterLineReachability). Reported with the covering rules.
//!
//! Only rules that end evaluation for what they match (allow, deny, return, goto) and whose
//! conditions are fully modelled count as covering; a rule with unmodelled conditions may match
//! less than it seems and never covers anything.

use super::*;
use crate::engine::index::RuleIndex;
use crate::model::{Action, Rule};
use crate::sets::{union_difference, Space};

/// Give up on a rule when its uncovered remainder fragments beyond this many pieces (it is then
/// treated as reachable: no finding rather than a wrong one).
const MAX_PIECES: usize = 512;

fn terminal(r: &Rule) -> bool {
    matches!(
        r.action,
        Action::Allow | Action::Deny | Action::Return | Action::Goto(_)
    )
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

pub fn check(req: &Requirement, ctx: &Ctx) -> Outcome {
    let mut findings = Vec::new();
    for chain in &ctx.config.filter.chains {
        let live: Vec<&Rule> = chain
            .rules
            .iter()
            .filter(|r| r.enabled && !r.established_only && !r.matches.is_empty())
            .collect();
        // Only rules that end evaluation and are fully modelled can cover later ones.
        let index = RuleIndex::new(
            live.iter()
                .enumerate()
                .filter(|(_, r)| terminal(r) && r.unmodeled.is_empty())
                .map(|(pos, r)| (pos, r.matches.as_slice())),
        );
        let mut candidates = Vec::new();
        for (pos, &rule) in live.iter().enumerate() {
            let mut remaining: Vec<Space> = rule
                .matches
                .iter()
                .filter(|s| !s.is_empty())
                .cloned()
                .collect();
            if remaining.is_empty() {
                continue;
            }
            // The earlier rules that can cover part of this one, in rule order. A rule whose
            // matches meet none of this rule's never touches what remains of it, so skipping
            // it changes nothing; the index only rules such rules out, never a real overlap.
            let earlier: &[usize] = if remaining.len() > MAX_PIECES {
                // Fragmented from the start: the linear walk gives up at the first earlier
                // covering candidate, exactly as before.
                &index.all[..index.all.partition_point(|&i| i < pos)]
            } else {
                index.candidates(&remaining, pos, &mut candidates);
                &candidates
            };
            let mut covering: Vec<&Rule> = Vec::new();
            let mut gave_up = false;
            for &i in earlier {
                let earlier = live[i];
                let mut touched = false;
                for m in &earlier.matches {
                    if remaining.iter().any(|r| r.intersects(m)) {
                        touched = true;
                        remaining = union_difference(remaining, m);
                    }
                }
                if touched {
                    covering.push(earlier);
                }
                if remaining.is_empty() || remaining.len() > MAX_PIECES {
                    gave_up = !remaining.is_empty();
                    break;
                }
            }
            if gave_up || !remaining.is_empty() || covering.is_empty() {
                continue;
            }
            let names: Vec<&str> = covering.iter().map(|r| r.name.as_str()).collect();
            let mut f = finding(
                req,
                rule.span,
                format!(
                    "{} can never match: earlier rule{} {} already decide{} all of its traffic",
                    rule.name,
                    if names.len() == 1 { "" } else { "s" },
                    names.join(", "),
                    if names.len() == 1 { "s" } else { "" }
                ),
                "never matches",
            );
            for c in covering.iter().take(20) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sets::{AddrSet, PortSet, ProtoSet};
    use crate::source::{FileId, Span};

    /// A small deterministic generator (xorshift), so failures reproduce.
    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
    }

    fn ports(rng: &mut Rng) -> PortSet {
        match rng.below(12) {
            0 => PortSet::full(),
            1 => PortSet::range(10000, 20000),
            // Wide on the port axis: many separate ports.
            2 => PortSet::from_ranges((0..12).map(|i| (100 + i * 7, 100 + i * 7))),
            _ => PortSet::single([22, 80, 443, 5060, 8080][rng.below(5) as usize]),
        }
    }

    fn addrs(rng: &mut Rng) -> AddrSet {
        let v4 = |a: u32| crate::sets::addr_value(std::net::Ipv4Addr::from(a).into());
        match rng.below(12) {
            0 => AddrSet::full(),
            1 => {
                let base = v4(0x0a00_0000 + (rng.below(8) as u32) * 256);
                AddrSet::range(base, base + 255)
            }
            // Wide on the address axis: a group of many hosts.
            2 => AddrSet::from_ranges((0..10).map(|i| {
                let a = v4(0x0a00_0000 + i * 300);
                (a, a)
            })),
            _ => AddrSet::single(v4(0x0a00_0000 + rng.below(2048) as u32)),
        }
    }

    fn chain(seed: u64, n: usize) -> Vec<Rule> {
        let mut rng = Rng(seed);
        (0..n)
            .map(|i| {
                let action = match rng.below(10) {
                    0 => Action::Continue,
                    1..=3 => Action::Deny,
                    _ => Action::Allow,
                };
                let mut r = Rule::new(format!("r{i}"), Span::new(FileId(0), i, i + 1), action);
                r.matches = (0..1 + rng.below(3))
                    .map(|_| Space {
                        proto: ProtoSet::single([6, 17, 6][rng.below(3) as usize]),
                        dport: ports(&mut rng),
                        dst: addrs(&mut rng),
                        src: addrs(&mut rng),
                        ..Space::all()
                    })
                    .collect();
                if rng.below(15) == 0 {
                    r.unmodeled.push("schedule".into());
                }
                r
            })
            .collect()
    }

    /// The index never leaves out an earlier covering-capable rule that meets the query (which
    /// is what makes the indexed check give the same findings as comparing every pair), and
    /// returns only such earlier rules, in order, once each.
    #[test]
    fn candidates_are_every_earlier_rule_that_can_meet_the_query() {
        for seed in 1..=8u64 {
            let rules = chain(seed * 7919, 400);
            let live: Vec<&Rule> = rules.iter().collect();
            // Only rules that end evaluation and are fully modelled can cover later ones.
            let index = RuleIndex::new(
                live.iter()
                    .enumerate()
                    .filter(|(_, r)| terminal(r) && r.unmodeled.is_empty())
                    .map(|(pos, r)| (pos, r.matches.as_slice())),
            );
            let mut got = Vec::new();
            for (pos, rule) in live.iter().enumerate() {
                index.candidates(&rule.matches, pos, &mut got);
                assert!(
                    got.windows(2).all(|w| w[0] < w[1]),
                    "seed {seed} rule {pos}"
                );
                for &i in &got {
                    assert!(i < pos && index.all.contains(&i), "seed {seed} rule {pos}");
                }
                for (i, earlier) in live[..pos].iter().enumerate() {
                    let eligible = terminal(earlier) && earlier.unmodeled.is_empty();
                    let meets = earlier
                        .matches
                        .iter()
                        .any(|m| rule.matches.iter().any(|q| q.intersects(m)));
                    if eligible && meets {
                        assert!(
                            got.binary_search(&i).is_ok(),
                            "seed {seed}: rule {pos} misses earlier rule {i}"
                        );
                    }
                }
            }
            // Not a full scan in disguise: on this mix most pairs are ruled out.
            let total: usize = (0..live.len())
                .map(|pos| {
                    index.candidates(&live[pos].matches, pos, &mut got);
                    got.len()
                })
                .sum();
            let pairs: usize = (0..live.len())
                .map(|pos| index.all.partition_point(|&i| i < pos))
                .sum();
            assert!(total * 2 < pairs, "seed {seed}: {total} of {pairs} pairs");
        }
    }
}
