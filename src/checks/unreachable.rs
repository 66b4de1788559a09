//! `unreachable-rules`: rules that can never match because earlier rules of the same chain decide
//! all of their traffic (as Batfish's filterLineReachability). Reported with the covering rules.
//!
//! Only rules that end evaluation for what they match (allow, deny, return, goto) and whose
//! conditions are fully modelled count as covering; a rule with unmodelled conditions may match
//! less than it seems and never covers anything.

use super::*;
use crate::engine::index::RuleIndex;
use crate::model::{Action, Rule};
use crate::sets::{subtract, Space};

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
            let earlier = if remaining.len() > MAX_PIECES {
                // Fragmented from the start: the linear walk gives up at the first earlier
                // covering candidate, exactly as before.
                index.all_before(pos)
            } else {
                index.candidates(&remaining, pos)
            };
            let mut covering: Vec<&Rule> = Vec::new();
            let mut gave_up = false;
            for i in earlier {
                let earlier = live[i];
                let mut touched = false;
                for m in &earlier.matches {
                    touched |= subtract(&mut remaining, m);
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
