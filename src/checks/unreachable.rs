//! `unreachable-rules`: rules that can never match because earlier rules of the same chain decide
//! all of their traffic (as Batfish's filterLineReachability). Reported with the covering rules.
//!
//! Only rules that end evaluation for what they match (allow, deny, return, goto) and whose
//! conditions are fully modelled count as covering; a rule with unmodelled conditions may match
//! less than it seems and never covers anything.

use super::*;
use crate::model::{Action, Rule};
use crate::sets::{union_difference, Space};
use std::collections::HashMap;

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
        let index = CoverIndex::new(&live);
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
                &index.eligible[..index.eligible.partition_point(|&i| i < pos)]
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

/// Cells above which a set counts as wide on an axis (and is listed once, not per cell).
const WIDE: usize = 8;

/// The elementary intervals of one dimension: every boundary of every range of the chain's
/// spaces, so two sets overlap only if they share a cell.
struct Axis {
    starts: Vec<u128>,
}

impl Axis {
    fn new<'a>(sets: impl Iterator<Item = &'a [(u128, u128)]>) -> Axis {
        let mut starts = vec![0u128];
        for ranges in sets {
            for &(lo, hi) in ranges {
                starts.push(lo);
                if let Some(next) = hi.checked_add(1) {
                    starts.push(next);
                }
            }
        }
        starts.sort_unstable();
        starts.dedup();
        Axis { starts }
    }

    fn cell(&self, v: u128) -> u32 {
        (self.starts.partition_point(|&s| s <= v) - 1) as u32
    }

    /// The cells a set touches, as inclusive runs of cell numbers, and their number.
    fn cells(&self, ranges: &[(u128, u128)]) -> (Vec<(u32, u32)>, usize) {
        let runs: Vec<(u32, u32)> = ranges
            .iter()
            .map(|&(lo, hi)| (self.cell(lo), self.cell(hi)))
            .collect();
        let n = runs.iter().map(|&(a, b)| (b - a) as usize + 1).sum();
        (runs, n)
    }
}

fn each(runs: &[(u32, u32)]) -> impl Iterator<Item = u32> + '_ {
    runs.iter().flat_map(|&(a, b)| a..=b)
}

/// Where the earlier rules of a chain are, by destination port and destination address, so a
/// rule is compared only with the rules whose spaces can meet its own. Each match space of a
/// covering-capable rule is filed by whether it is narrow (at most [`WIDE`] cells) or wide on
/// each axis; a query looks in the lists that can hold a space meeting it:
///
/// | query \ entry | both narrow | port narrow | address narrow | both wide |
/// | --- | --- | --- | --- | --- |
/// | both narrow | `grid[(p, d)]` | `by_port_wide_addr[p]` | `by_addr_wide_port[d]` | `wide` |
/// | port narrow | `by_port[p]` | `by_port[p]` | `wide_port` | `wide_port` |
/// | address narrow | `by_addr[d]` | `wide_addr` | `by_addr[d]` | `wide_addr` |
/// | both wide | every earlier rule | | | |
///
/// Every list holds positions in `live` in increasing order (rules are filed in order).
struct CoverIndex {
    ports: Axis,
    addrs: Axis,
    /// Positions of the rules that can cover (terminal, fully modelled), in order.
    eligible: Vec<usize>,
    grid: HashMap<(u32, u32), Vec<usize>>,
    by_port_wide_addr: HashMap<u32, Vec<usize>>,
    by_addr_wide_port: HashMap<u32, Vec<usize>>,
    wide: Vec<usize>,
    by_port: HashMap<u32, Vec<usize>>,
    by_addr: HashMap<u32, Vec<usize>>,
    wide_port: Vec<usize>,
    wide_addr: Vec<usize>,
}

fn file(list: &mut Vec<usize>, pos: usize) {
    if list.last() != Some(&pos) {
        list.push(pos);
    }
}

impl CoverIndex {
    fn new(live: &[&Rule]) -> CoverIndex {
        let spaces = || live.iter().flat_map(|r| r.matches.iter());
        let mut ix = CoverIndex {
            ports: Axis::new(spaces().map(|s| s.dport.ranges())),
            addrs: Axis::new(spaces().map(|s| s.dst.ranges())),
            eligible: Vec::new(),
            grid: HashMap::new(),
            by_port_wide_addr: HashMap::new(),
            by_addr_wide_port: HashMap::new(),
            wide: Vec::new(),
            by_port: HashMap::new(),
            by_addr: HashMap::new(),
            wide_port: Vec::new(),
            wide_addr: Vec::new(),
        };
        for (pos, rule) in live.iter().enumerate() {
            if !terminal(rule) || !rule.unmodeled.is_empty() {
                continue;
            }
            ix.eligible.push(pos);
            for m in rule.matches.iter().filter(|m| !m.is_empty()) {
                let (p, np) = ix.ports.cells(m.dport.ranges());
                let (d, nd) = ix.addrs.cells(m.dst.ranges());
                match (np <= WIDE, nd <= WIDE) {
                    (true, true) => {
                        for pc in each(&p) {
                            for dc in each(&d) {
                                file(ix.grid.entry((pc, dc)).or_default(), pos);
                            }
                        }
                    }
                    (true, false) => {
                        for pc in each(&p) {
                            file(ix.by_port_wide_addr.entry(pc).or_default(), pos);
                        }
                        file(&mut ix.wide_addr, pos);
                    }
                    (false, true) => {
                        for dc in each(&d) {
                            file(ix.by_addr_wide_port.entry(dc).or_default(), pos);
                        }
                        file(&mut ix.wide_port, pos);
                    }
                    (false, false) => {
                        file(&mut ix.wide, pos);
                        file(&mut ix.wide_port, pos);
                        file(&mut ix.wide_addr, pos);
                    }
                }
                if np <= WIDE {
                    for pc in each(&p) {
                        file(ix.by_port.entry(pc).or_default(), pos);
                    }
                }
                if nd <= WIDE {
                    for dc in each(&d) {
                        file(ix.by_addr.entry(dc).or_default(), pos);
                    }
                }
            }
        }
        ix
    }

    /// The covering-capable rules before `pos` that may meet any of `spaces`, in order and
    /// without repeats (a superset of those that do).
    fn candidates(&self, spaces: &[Space], pos: usize, out: &mut Vec<usize>) {
        out.clear();
        let mut take = |list: Option<&Vec<usize>>| {
            if let Some(list) = list {
                out.extend_from_slice(&list[..list.partition_point(|&i| i < pos)]);
            }
        };
        for q in spaces {
            let (p, np) = self.ports.cells(q.dport.ranges());
            let (d, nd) = self.addrs.cells(q.dst.ranges());
            match (np <= WIDE, nd <= WIDE) {
                (true, true) => {
                    for pc in each(&p) {
                        for dc in each(&d) {
                            take(self.grid.get(&(pc, dc)));
                        }
                        take(self.by_port_wide_addr.get(&pc));
                    }
                    for dc in each(&d) {
                        take(self.by_addr_wide_port.get(&dc));
                    }
                    take(Some(&self.wide));
                }
                (true, false) => {
                    for pc in each(&p) {
                        take(self.by_port.get(&pc));
                    }
                    take(Some(&self.wide_port));
                }
                (false, true) => {
                    for dc in each(&d) {
                        take(self.by_addr.get(&dc));
                    }
                    take(Some(&self.wide_addr));
                }
                (false, false) => {
                    out.clear();
                    out.extend_from_slice(
                        &self.eligible[..self.eligible.partition_point(|&i| i < pos)],
                    );
                    return;
                }
            }
        }
        out.sort_unstable();
        out.dedup();
    }
}
