//! `any-any`: no enabled rule permits every protocol from any source to any destination.

use super::*;
use crate::model::Action;
use crate::sets::{all_v4, all_v6};

fn is_any_addr(s: &AddrSet) -> bool {
    s.is_full() || *s == all_v4() || *s == all_v6()
}

pub fn check(req: &Requirement, ctx: &Ctx) -> Outcome {
    use crate::model::Hook;
    if let Some(o) = ctx.no_filter(req, &[Hook::Input, Hook::Forward, Hook::Output]) {
        return o;
    }
    let mut findings = Vec::new();
    for chain in &ctx.config.filter.chains {
        for rule in &chain.rules {
            if !rule.enabled || rule.established_only || rule.action != Action::Allow {
                continue;
            }
            let any = rule.matches.iter().any(|m| {
                m.proto.is_full()
                    && m.dport.is_full()
                    && is_any_addr(&m.src)
                    && is_any_addr(&m.dst)
                    && m.src_zone.is_any()
                    && m.dst_zone.is_any()
            });
            if any {
                let mut f = finding(
                    req,
                    rule.span,
                    format!(
                        "{} permits any protocol from any source to any destination",
                        rule.name
                    ),
                    "any-to-any permit",
                );
                f.uncertain = !rule.unmodeled.is_empty();
                findings.push(f);
            }
        }
    }
    if findings.is_empty() {
        Outcome::pass(None)
    } else if findings.iter().all(|f| f.uncertain) {
        Outcome::with(Status::Uncertain, findings)
    } else {
        Outcome::with(Status::Fail, findings)
    }
}
