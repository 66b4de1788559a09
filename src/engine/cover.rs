//! Whether a set of rules holds all of a space: the search that `unreachable-rules` and the
//! deciding-rule shortcut of the flow walk ([`super::flow::allowing_rules`]) share. Both ask, for
//! one rule's share of some traffic, whether the rules before it already decide all of it.

use crate::engine::index::RuleIndex;
use crate::sets::Space;

/// Steps the cover search may take for one question (a step is one part of the space compared
/// with the candidates) before it gives up; callers then fall back to an exact method or treat
/// the answer as unknown.
pub const COVER_BUDGET: usize = 100_000;

/// In how many dimensions `part` reaches outside `c`: the pieces `part.split_off(c)` leaves
/// (when they meet).
fn outside_dims(part: &Space, c: &Space) -> usize {
    [
        !part.proto.is_subset(&c.proto),
        !part.dport.is_subset(&c.dport),
        !part.src.is_subset(&c.src),
        !part.dst.is_subset(&c.dst),
        !part.sport.is_subset(&c.sport),
        !part.src_zone.is_subset(&c.src_zone),
        !part.dst_zone.is_subset(&c.dst_zone),
    ]
    .iter()
    .filter(|&&out| out)
    .count()
}

/// Whether the spaces `cands` together hold all of `space`, or `None` past the budget. Unlike a
/// subtraction in rule order, a part inside any candidate is done at once, and a part is cut by
/// the candidate that leaves the fewest pieces of it; each piece is then compared only with
/// the candidates that met the part.
pub fn covers(space: Space, cands: &[&Space], budget: &mut usize) -> Option<bool> {
    let mut stack: Vec<(Space, Vec<&Space>)> = vec![(space, cands.to_vec())];
    while let Some((part, cands)) = stack.pop() {
        *budget = budget.checked_sub(1)?;
        let meeting: Vec<(usize, &Space)> = cands
            .into_iter()
            .filter(|c| c.intersects(&part))
            .map(|c| (outside_dims(&part, c), c))
            .collect();
        let Some(best) = (0..meeting.len()).min_by_key(|&k| meeting[k].0) else {
            // No candidate holds any packet of this part.
            return Some(false);
        };
        let (out, cut) = meeting[best];
        if out == 0 {
            continue;
        }
        let rest: Vec<&Space> = meeting
            .iter()
            .enumerate()
            .filter(|&(k, _)| k != best)
            .map(|(_, &(_, c))| c)
            .collect();
        for piece in part.split_off(cut) {
            stack.push((piece, rest.clone()));
        }
    }
    Some(true)
}

/// Whether the rules indexed before `pos` (their match spaces given by `spaces`; a rule that
/// takes no part has none) hold all of `share`, when its lowest packet settles it:
/// `Some(false)` when no rule holds that packet, `Some(true)` when one rule holds the whole share
/// (it holds that packet too, so it is among the rules the index gives for it), `None` when the
/// packet is held but the share is not inside any one rule.
fn held_at_corner<'r>(
    index: &RuleIndex,
    spaces: impl Fn(usize) -> &'r [Space],
    pos: usize,
    share: &Space,
) -> Option<bool> {
    let p = share.corner()?;
    let mut corner_held = false;
    for j in index.candidates(std::iter::once(&p), pos) {
        for m in spaces(j) {
            if p.is_subset(m) {
                if share.is_subset(m) {
                    return Some(true);
                }
                corner_held = true;
            }
        }
    }
    (!corner_held).then_some(false)
}

/// Whether the rules indexed before `pos` hold all of `share` (see [`held_at_corner`] for
/// `spaces`): settled by its lowest packet when that can, else by the cover search among the
/// rules that may meet it. `None` past the budget.
pub fn held_before<'r>(
    index: &RuleIndex,
    spaces: impl Fn(usize) -> &'r [Space] + Copy,
    pos: usize,
    share: Space,
    budget: &mut usize,
) -> Option<bool> {
    if share.is_empty() {
        return Some(true);
    }
    if let Some(held) = held_at_corner(index, spaces, pos, &share) {
        return Some(held);
    }
    let before: Vec<&Space> = index
        .candidates(std::iter::once(&share), pos)
        .flat_map(spaces)
        .collect();
    covers(share, &before, budget)
}
