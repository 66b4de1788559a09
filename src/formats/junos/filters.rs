//! Stateless firewall filters (`firewall family inet filter F term T ...`) and where they are
//! applied (`interfaces X unit N family inet filter input F`).
//!
//! Not modeled yet: a filter applied to an interface makes the evaluation incomplete (traffic it
//! discards would still be reported as allowed by the security policies), so every application
//! is an input issue, and every defined filter is listed as not understood.

use std::collections::BTreeSet;

use crate::model::InputIssue;

use super::Parser;

pub(super) fn build(p: &mut Parser<'_>) {
    let mut seen_filters: BTreeSet<String> = BTreeSet::new();
    let mut issues = Vec::new();
    let mut unparsed = Vec::new();
    for s in &p.tree.stmts {
        if s.inactive_at.is_some() {
            continue;
        }
        if s.word(0) == "interfaces" && s.word(2) == "unit" {
            // interfaces X unit N family F filter input|output|input-list|output-list NAME
            if s.word(4) == "family" && s.word(6) == "filter" && s.len() > 8 {
                let dir = s.word(7);
                let iface = format!("{}.{}", s.word(1), s.word(3));
                issues.push(InputIssue {
                    span: s.span,
                    message: format!(
                        "stateless firewall filter {} is applied to {iface} ({dir}, family {}) \
                         and is not modeled: traffic it discards may be reported as allowed",
                        s.word(8),
                        s.word(5)
                    ),
                });
            }
        } else if s.word(0) == "firewall" {
            let name = match (s.word(1), s.word(3)) {
                ("family", _) if s.word(3) == "filter" => {
                    Some(format!("{} {}", s.word(2), s.word(4)))
                }
                ("filter", _) => Some(format!("inet {}", s.word(2))),
                _ => None,
            };
            if let Some(n) = name {
                if seen_filters.insert(n.clone()) {
                    unparsed.push((
                        s.span,
                        format!("stateless firewall filter `{n}` is not modeled"),
                    ));
                }
            }
        }
    }
    p.cfg.errors.extend(issues);
    for (span, reason) in unparsed {
        p.unparsed(span, reason);
    }
}
