//! An index of a chain's rules by the packets they match, so that evaluating a set of packets
//! (the flow walker) or a rule against the rules above it (`unreachable-rules`) looks only at
//! the rules that can meet it instead of every rule of the chain. Answers are supersets: a rule
//! the index returns may still miss the packets, but a rule it leaves out never meets them, so
//! callers that skip the others get exactly the result of a full scan.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use smallvec::SmallVec;

use crate::model::Filter;
use crate::sets::Space;

/// The index's maps are keyed by cell numbers: a fast hash with a fixed seed (lookups only, no
/// iteration, so the seed never shows in output).
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::FixedState>;

/// One [`RuleIndex`] per chain of a filter (all rules with their match spaces), built once per
/// parsed configuration and shared by every check.
pub struct FilterIndex {
    pub chains: Vec<RuleIndex>,
    /// The source zones whose names say "untrusted", found by the first exposure check that
    /// needs them (every rule is read once per file, not once per requirement).
    pub untrusted_zones: std::sync::OnceLock<std::collections::BTreeSet<String>>,
}

impl FilterIndex {
    pub fn new(filter: &Filter) -> FilterIndex {
        FilterIndex {
            chains: filter
                .chains
                .iter()
                .map(|c| {
                    RuleIndex::new(
                        c.rules
                            .iter()
                            .enumerate()
                            .map(|(i, r)| (i, r.matches.as_slice())),
                    )
                })
                .collect(),
            untrusted_zones: std::sync::OnceLock::new(),
        }
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

    /// The cells a set touches, as inclusive runs of cell numbers, and their number. Counting
    /// stops past [`WIDE`]: a wide set is filed and looked up without its cells, so a part with
    /// many ranges (the rest of "any" after a few rules) costs nothing here.
    fn cells(&self, ranges: &[(u128, u128)]) -> (SmallVec<[(u32, u32); WIDE]>, usize) {
        let mut runs = SmallVec::new();
        // Every range is at least one cell.
        if ranges.len() > WIDE {
            return (runs, ranges.len());
        }
        let mut n = 0;
        for &(lo, hi) in ranges {
            let a = self.cell(lo);
            // Most ranges (a port, a host) lie in one cell: the next boundary is past them.
            let after = &self.starts[a as usize + 1..];
            let b = match after.first() {
                Some(&next) if next <= hi => a + after.partition_point(|&s| s <= hi) as u32,
                _ => a,
            };
            n += (b - a) as usize + 1;
            if n > WIDE {
                runs.clear();
                return (runs, n);
            }
            runs.push((a, b));
        }
        (runs, n)
    }
}

fn each(runs: &[(u32, u32)]) -> impl Iterator<Item = u32> + '_ {
    runs.iter().flat_map(|&(a, b)| a..=b)
}

/// Which address of a packet a [`Grid`] files rules by.
#[derive(Clone, Copy)]
enum Side {
    Src,
    Dst,
}

impl Side {
    fn of(self, s: &Space) -> &[(u128, u128)] {
        match self {
            Side::Src => s.src.ranges(),
            Side::Dst => s.dst.ranges(),
        }
    }
}

/// Where the rules of a chain are, by destination port and one address (source or
/// destination), so a set of packets is compared only with the rules whose spaces can meet it.
/// Each match space of a rule is filed by whether it is narrow (at most [`WIDE`] cells) or wide
/// on each axis; a query looks in the lists that can hold a space meeting it:
///
/// | query \ entry | both narrow | port narrow | address narrow | both wide |
/// | --- | --- | --- | --- | --- |
/// | both narrow | `grid[(p, d)]` | `by_port_wide_addr[p]` | `by_addr_wide_port[d]` | `wide` |
/// | port narrow | `by_port[p]` | `by_port[p]` | `wide_port` | `wide_port` |
/// | address narrow | `by_addr[d]` | `wide_addr` | `by_addr[d]` | `wide_addr` |
/// | both wide | every rule | | | |
///
/// Every list holds positions in increasing order (rules are filed in order).
struct Grid {
    side: Side,
    addrs: Axis,
    grid: HashMap<(u32, u32), Vec<usize>>,
    by_port_wide_addr: HashMap<u32, Vec<usize>>,
    by_addr_wide_port: HashMap<u32, Vec<usize>>,
    wide: Vec<usize>,
    by_port: HashMap<u32, Vec<usize>>,
    by_addr: HashMap<u32, Vec<usize>>,
    wide_port: Vec<usize>,
    wide_addr: Vec<usize>,
}

/// A chain's rules filed by destination port and destination address and, in long chains
/// (more than [`SRC_GRID`] rules), also by destination port and source address. A query uses
/// whichever grid offers fewer candidates: a part of the traffic narrowed to one source (what
/// is left of a flow after a rule from that source) is then found among that source's rules,
/// not among every rule of its port.
pub struct RuleIndex {
    ports: Axis,
    /// Positions of every indexed rule, in order.
    pub all: Vec<usize>,
    grids: Vec<Grid>,
}

/// Chains with more rules than this get the second grid (by source address); below it, the
/// lists of the first are short anyway and building another costs more than it saves.
const SRC_GRID: usize = 256;

/// Chains with at least this many rules build their two grids in parallel.
const PARALLEL_GRIDS: usize = 2_048;

/// Candidates from the first grid below which the second is not consulted.
const ENOUGH: usize = 16;

fn file(list: &mut Vec<usize>, pos: usize) {
    if list.last() != Some(&pos) {
        list.push(pos);
    }
}

impl Grid {
    fn new(side: Side, rules: &[(usize, &[Space])]) -> Grid {
        Grid {
            side,
            addrs: Axis::new(rules.iter().flat_map(|(_, m)| m.iter()).map(|s| side.of(s))),
            grid: HashMap::default(),
            by_port_wide_addr: HashMap::default(),
            by_addr_wide_port: HashMap::default(),
            wide: Vec::new(),
            by_port: HashMap::default(),
            by_addr: HashMap::default(),
            wide_port: Vec::new(),
            wide_addr: Vec::new(),
        }
    }

    fn add(&mut self, ports: &Axis, pos: usize, m: &Space) {
        let (p, np) = ports.cells(m.dport.ranges());
        let (d, nd) = self.addrs.cells(self.side.of(m));
        match (np <= WIDE, nd <= WIDE) {
            (true, true) => {
                for pc in each(&p) {
                    for dc in each(&d) {
                        file(self.grid.entry((pc, dc)).or_default(), pos);
                    }
                }
            }
            (true, false) => {
                for pc in each(&p) {
                    file(self.by_port_wide_addr.entry(pc).or_default(), pos);
                }
                file(&mut self.wide_addr, pos);
            }
            (false, true) => {
                for dc in each(&d) {
                    file(self.by_addr_wide_port.entry(dc).or_default(), pos);
                }
                file(&mut self.wide_port, pos);
            }
            (false, false) => {
                file(&mut self.wide, pos);
                file(&mut self.wide_port, pos);
                file(&mut self.wide_addr, pos);
            }
        }
        if np <= WIDE {
            for pc in each(&p) {
                file(self.by_port.entry(pc).or_default(), pos);
            }
        }
        if nd <= WIDE {
            for dc in each(&d) {
                file(self.by_addr.entry(dc).or_default(), pos);
            }
        }
    }

    /// The lists that hold every rule whose spaces may meet `q` (each in increasing order; a
    /// rule may be in several), or `false` when `q` is wide on both axes.
    fn lists_for<'a>(&'a self, ports: &Axis, q: &Space, out: &mut Lists<'a>) -> bool {
        let mut take = |list: Option<&'a Vec<usize>>| {
            if let Some(list) = list {
                out.push(list.as_slice());
            }
        };
        let (p, np) = ports.cells(q.dport.ranges());
        let (d, nd) = self.addrs.cells(self.side.of(q));
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
            (false, false) => return false,
        }
        true
    }
}

impl RuleIndex {
    /// Index `rules`: (position, match spaces), in increasing position order. The grids of a
    /// chain of [`PARALLEL_GRIDS`] rules or more are built at once, one per thread.
    pub fn new<'a>(rules: impl IntoIterator<Item = (usize, &'a [Space])>) -> RuleIndex {
        let rules: Vec<(usize, &[Space])> = rules.into_iter().collect();
        debug_assert!(
            rules.windows(2).all(|w| w[0].0 < w[1].0),
            "positions out of order"
        );
        let ports = Axis::new(
            rules
                .iter()
                .flat_map(|(_, m)| m.iter())
                .map(|s| s.dport.ranges()),
        );
        let build = |side: Side| {
            let mut g = Grid::new(side, &rules);
            for &(pos, matches) in &rules {
                for m in matches.iter().filter(|m| !m.is_empty()) {
                    g.add(&ports, pos, m);
                }
            }
            g
        };
        let grids = if rules.len() >= PARALLEL_GRIDS {
            let (dst, src) = rayon::join(|| build(Side::Dst), || build(Side::Src));
            vec![dst, src]
        } else if rules.len() > SRC_GRID {
            vec![build(Side::Dst), build(Side::Src)]
        } else {
            vec![build(Side::Dst)]
        };
        RuleIndex {
            ports,
            all: rules.iter().map(|&(pos, _)| pos).collect(),
            grids,
        }
    }

    /// The lists that hold every indexed rule whose spaces may meet `q`, from the grid that
    /// offers fewer rules in the part of the chain that `size` counts, or `false` when `q` is
    /// wide on every axis and any rule may meet it.
    fn lists_for<'a>(
        &'a self,
        q: &Space,
        size: impl Fn(&[usize]) -> usize,
        out: &mut Lists<'a>,
    ) -> bool {
        let mut best: Option<(usize, Lists<'a>)> = None;
        for g in &self.grids {
            let mut lists = Lists::new();
            if g.lists_for(&self.ports, q, &mut lists) {
                let n: usize = lists.iter().map(|l| size(l)).sum();
                if best.as_ref().is_none_or(|(b, _)| n < *b) {
                    best = Some((n, lists));
                }
                if n <= ENOUGH {
                    break;
                }
            }
        }
        match best {
            Some((_, lists)) => {
                out.extend_from_slice(&lists);
                true
            }
            None => false,
        }
    }

    /// The indexed rules before `pos` that may meet any of `spaces`, lazily in order and
    /// without repeats: a superset of those that do, never missing one. `unreachable-rules`
    /// stops as soon as a rule is covered, usually by one of the first.
    pub fn candidates<'s>(
        &self,
        spaces: impl IntoIterator<Item = &'s Space>,
        pos: usize,
    ) -> Candidates<'_> {
        let before = |l: &[usize]| l.partition_point(|&i| i < pos);
        let mut lists = Lists::new();
        for q in spaces {
            if !self.lists_for(q, before, &mut lists) {
                return self.all_before(pos);
            }
        }
        for list in &mut lists {
            *list = &list[..before(list)];
        }
        Candidates::new(lists)
    }

    /// Every indexed rule before `pos`, in order.
    pub fn all_before(&self, pos: usize) -> Candidates<'_> {
        let mut lists = Lists::new();
        lists.push(&self.all[..self.all.partition_point(|&i| i < pos)]);
        Candidates::new(lists)
    }

    /// The indexed rules at or after `from` that may meet `q`, lazily in increasing order and
    /// without repeats (a superset of those that do, never missing one): the flow walker stops
    /// at the first that does, so only the lists' heads are ever looked at.
    pub fn candidates_from(&self, q: &Space, from: usize) -> Candidates<'_> {
        let mut lists = Lists::new();
        if !self.lists_for(
            q,
            |l| l.len() - l.partition_point(|&i| i < from),
            &mut lists,
        ) {
            lists.clear();
            lists.push(self.all.as_slice());
        }
        for list in &mut lists {
            *list = &list[list.partition_point(|&i| i < from)..];
        }
        Candidates::new(lists)
    }
}

/// The lists a query takes its candidates from (most queries take a few: kept inline).
type Lists<'a> = SmallVec<[&'a [usize]; 8]>;

/// Above this many lists the candidates are merged through a heap of the lists' heads; below
/// it, the smallest head is found by looking at each.
const HEAP_AT: usize = 8;

/// The rules of [`RuleIndex::candidates`] and [`RuleIndex::candidates_from`]: a k-way merge
/// of the sorted lists that can hold them, each rule once.
pub struct Candidates<'a> {
    lists: Lists<'a>,
    /// The lists' heads when there are more than [`HEAP_AT`] lists.
    heads: Option<BinaryHeap<Reverse<(usize, usize)>>>,
    last: Option<usize>,
}

impl<'a> Candidates<'a> {
    fn new(mut lists: Lists<'a>) -> Candidates<'a> {
        lists.retain(|l| !l.is_empty());
        // The same list (the wide ones) is often taken for several cells or spaces.
        lists.sort_unstable_by_key(|l| (l.as_ptr(), l.len()));
        lists.dedup_by_key(|l| (l.as_ptr(), l.len()));
        let heads = (lists.len() > HEAP_AT).then(|| {
            lists
                .iter()
                .enumerate()
                .map(|(i, l)| Reverse((l[0], i)))
                .collect()
        });
        Candidates {
            lists,
            heads,
            last: None,
        }
    }
}

impl Iterator for Candidates<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        let Some(heads) = self.heads.as_mut() else {
            // Each list is strictly increasing: every list whose head is the smallest moves on.
            let min = self.lists.iter().filter_map(|l| l.first().copied()).min()?;
            for list in &mut self.lists {
                if list.first() == Some(&min) {
                    *list = &list[1..];
                }
            }
            return Some(min);
        };
        loop {
            let Reverse((pos, i)) = heads.pop()?;
            let list = &mut self.lists[i];
            *list = &list[1..];
            if let Some(&n) = list.first() {
                heads.push(Reverse((n, i)));
            }
            if self.last != Some(pos) {
                self.last = Some(pos);
                return Some(pos);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Action, Rule};
    use crate::sets::{AddrSet, PortSet, ProtoSet};
    use crate::source::{FileId, Span};
    use crate::testing::Rng;

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

    /// The index never leaves out an earlier indexed rule that meets the query (which is what
    /// makes unreachable-rules and the flow walker give the results of a full scan), and
    /// returns only such earlier rules, in order, once each.
    #[test]
    fn candidates_are_every_earlier_rule_that_can_meet_the_query() {
        for seed in 1..=8u64 {
            let rules = chain(seed * 7919, 400);
            let live: Vec<&Rule> = rules.iter().collect();
            // Only rules that end evaluation and are fully modelled can cover later ones.
            // Some rules are left out of the index, as unreachable-rules leaves out those that
            // cannot cover.
            let indexed = |r: &Rule| r.action != Action::Continue && r.unmodeled.is_empty();
            let index = RuleIndex::new(
                live.iter()
                    .enumerate()
                    .filter(|(_, r)| indexed(r))
                    .map(|(pos, r)| (pos, r.matches.as_slice())),
            );
            for (pos, rule) in live.iter().enumerate() {
                let got: Vec<usize> = index.candidates(&rule.matches, pos).collect();
                assert!(
                    got.windows(2).all(|w| w[0] < w[1]),
                    "seed {seed} rule {pos}"
                );
                for &i in &got {
                    assert!(i < pos && index.all.contains(&i), "seed {seed} rule {pos}");
                }
                for (i, earlier) in live[..pos].iter().enumerate() {
                    let eligible = indexed(earlier);
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
            // The lazy, forward query the flow walker makes: every indexed rule at or after
            // `from` that meets the query, in order, once each.
            for (pos, rule) in live.iter().enumerate().step_by(7) {
                for q in &rule.matches {
                    let from = pos / 2;
                    let got: Vec<usize> = index.candidates_from(q, from).collect();
                    assert!(
                        got.windows(2).all(|w| w[0] < w[1]),
                        "seed {seed} rule {pos}"
                    );
                    assert!(got.iter().all(|&i| i >= from && index.all.contains(&i)));
                    for (i, later) in live.iter().enumerate().skip(from) {
                        if indexed(later) && later.matches.iter().any(|m| q.intersects(m)) {
                            assert!(
                                got.binary_search(&i).is_ok(),
                                "seed {seed}: from {from} misses rule {i}"
                            );
                        }
                    }
                }
            }
            // Not a full scan in disguise: on this mix most pairs are ruled out.
            let total: usize = (0..live.len())
                .map(|pos| index.candidates(&live[pos].matches, pos).count())
                .sum();
            let pairs: usize = (0..live.len())
                .map(|pos| index.all.partition_point(|&i| i < pos))
                .sum();
            assert!(total * 2 < pairs, "seed {seed}: {total} of {pairs} pairs");
        }
    }

    /// Sorted lists, some repeated and some sharing rules: both ways of merging them give
    /// every rule once, in order.
    #[test]
    fn candidates_merge_lists_by_heap_and_by_scan_alike() {
        let mut rng = Rng(0xA11C_E5ED);
        let (mut by_heap, mut by_scan) = (0, 0);
        for _ in 0..2_000 {
            let owned: Vec<Vec<usize>> = (0..rng.below(20))
                .map(|_| {
                    let mut l: Vec<usize> =
                        (0..rng.below(12)).map(|_| rng.below(60) as usize).collect();
                    l.sort_unstable();
                    l.dedup();
                    l
                })
                .collect();
            let mut lists: Lists = owned.iter().map(Vec::as_slice).collect();
            if let Some(first) = owned.first() {
                lists.push(first.as_slice());
            }
            let expected: Vec<usize> = owned
                .iter()
                .flatten()
                .copied()
                .collect::<std::collections::BTreeSet<usize>>()
                .into_iter()
                .collect();
            let merge = Candidates::new(lists);
            if merge.heads.is_some() {
                by_heap += 1;
            } else {
                by_scan += 1;
            }
            assert_eq!(merge.collect::<Vec<_>>(), expected);
        }
        assert!(
            by_heap > 100 && by_scan > 100,
            "{by_heap} by heap, {by_scan} by scan"
        );
    }
}
