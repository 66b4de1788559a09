//! Checks, side by side: one module per check kind. Each takes a requirement and one parsed
//! input and returns an [`Outcome`]: a status and the findings that explain it.
//!
//! Adding a check kind: a variant of [`crate::pack::Check`], its schema in policies/schema.json,
//! a module here and one arm in [`evaluate`] (see CONTRIBUTING.md).

mod alg;
mod any_any;
mod exposure;
mod ips;
mod required_flow;
mod setting;
mod unreachable;

use std::collections::BTreeMap;

use crate::engine::flow::Decider;
use crate::finding::{Finding, Related};
use crate::model::Config;
use crate::pack::{Check, Requirement};
use crate::sets::{AddrSet, NameSet};
use crate::source::{SourceFile, Span};

/// How a requirement fared on one input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Pass,
    Fail,
    /// The input does not show the value the requirement needs (never a pass).
    NotEvidenced,
    /// The verdict depends on something portaudit cannot model (never a pass).
    Uncertain,
    /// The requirement does not apply to this kind of input.
    NotApplicable,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::NotEvidenced => "not-evidenced",
            Status::Uncertain => "uncertain",
            Status::NotApplicable => "not-applicable",
        }
    }
}

/// Result of one requirement on one input.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub status: Status,
    pub findings: Vec<Finding>,
    /// Where the evidence for a pass is (a rule, a setting), when there is one place.
    pub evidence: Option<Span>,
}

impl Outcome {
    fn pass(evidence: Option<Span>) -> Self {
        Outcome {
            status: Status::Pass,
            findings: Vec::new(),
            evidence,
        }
    }
    fn not_applicable() -> Self {
        Outcome {
            status: Status::NotApplicable,
            findings: Vec::new(),
            evidence: None,
        }
    }
    fn with(status: Status, findings: Vec<Finding>) -> Self {
        Outcome {
            status,
            findings,
            evidence: None,
        }
    }
}

/// An endpoint role mapped to addresses and/or zones for one device.
#[derive(Clone, Debug, Default)]
pub struct Endpoint {
    pub addresses: Option<AddrSet>,
    pub zones: Option<NameSet>,
}

impl Endpoint {
    pub fn is_mapped(&self) -> bool {
        self.addresses.is_some() || self.zones.is_some()
    }
}

/// What a check sees of one input.
pub struct Ctx<'a> {
    pub config: &'a Config,
    pub file: &'a SourceFile,
    /// Roles mapped for this device (user mappings, then vendor-owned ranges from the pack).
    pub endpoints: &'a BTreeMap<String, Endpoint>,
    /// The pack's roles (descriptions, vendor addresses, host names).
    pub roles: &'a BTreeMap<String, crate::pack::Role>,
    pub max_depth: usize,
    /// The rules of `config.filter` by the packets they match (see
    /// [`crate::engine::index::FilterIndex`]); `None` walks every rule.
    pub index: Option<&'a crate::engine::index::FilterIndex>,
}

impl Ctx<'_> {
    /// Span and description of what decided a part of the traffic.
    fn decider(&self, d: Decider) -> (Span, String, bool) {
        let chains = &self.config.filter.chains;
        match d {
            Decider::Rule { chain, rule } | Decider::Unknown { chain, rule } => {
                let r = &chains[chain].rules[rule];
                (r.span, r.name.clone(), false)
            }
            Decider::Default { chain } => {
                let c = &chains[chain];
                let what = match &c.default.action {
                    crate::model::Action::Allow => "allow",
                    crate::model::Action::Deny => "deny",
                    _ => "default",
                };
                let text = if c.default.implicit {
                    format!("the implicit default {what} of {} (vendor default)", c.name)
                } else {
                    format!("the default policy ({what}) of {}", c.name)
                };
                (c.default.span, text, c.default.implicit)
            }
        }
    }

    /// A "not evidenced" outcome when the export holds no packet filter for these hooks: nothing
    /// can be verified, and silence must not read as a pass.
    fn no_filter(&self, req: &Requirement, hooks: &[crate::model::Hook]) -> Option<Outcome> {
        if !crate::engine::flow::entries_for(&self.config.filter, hooks).is_empty() {
            return None;
        }
        let mut f = finding(
            req,
            self.config.file_anchor(self.file),
            format!(
                "no packet filter was found in this {} export, so this cannot be verified",
                self.config.format.id()
            ),
            "no filter evidenced",
        );
        f.uncertain = true;
        Some(Outcome::with(Status::NotEvidenced, vec![f]))
    }

    fn endpoint(&self, role: &Option<String>) -> Endpoint {
        role.as_ref()
            .and_then(|r| self.endpoints.get(r))
            .cloned()
            .unwrap_or_default()
    }
}

/// A finding for a requirement, filled with its metadata.
fn finding(req: &Requirement, span: Span, message: String, label: impl Into<String>) -> Finding {
    let mut references = req.references.clone();
    references.dedup();
    Finding {
        rule: req.id.clone(),
        pack: req.pack.clone(),
        category: req.category,
        severity: req.severity,
        span,
        message,
        label: label.into(),
        help: Some(req.remediation.clone()),
        references,
        related: Vec::new(),
        approximate: false,
        uncertain: false,
        from_default: false,
        waived: None,
        fingerprint: String::new(),
    }
}

fn related(span: Span, message: impl Into<String>) -> Related {
    Related {
        span,
        message: message.into(),
    }
}

/// Evaluate one requirement on one input.
pub fn evaluate(req: &Requirement, ctx: &Ctx) -> Outcome {
    let is_fw = ctx.config.format.is_firewall();
    if req.check.needs_filter() != is_fw {
        return Outcome::not_applicable();
    }
    match &req.check {
        Check::RequiredFlow {
            flow,
            direction,
            from,
            to,
        } => required_flow::check(req, ctx, flow, *direction, from, to),
        Check::SipAlg { enabled } => alg::check(req, ctx, *enabled),
        Check::IpsOnVoice { enabled, flows } => ips::check(req, ctx, *enabled, flows),
        Check::Setting { condition, unless } => {
            setting::check(req, ctx, condition, unless.as_ref())
        }
        Check::ForbiddenExposure {
            flow,
            from,
            service,
        } => exposure::check(req, ctx, flow, from, service.as_deref()),
        Check::AnyAny => any_any::check(req, ctx),
        Check::UnreachableRules => unreachable::check(req, ctx),
    }
}

/// Render protocols and ports: `udp/10000-20000`, `tcp,udp/5060`.
pub fn render_flow(protos: &crate::sets::ProtoSet, ports: &crate::sets::PortSet) -> String {
    let names: Vec<String> = protos
        .ranges()
        .iter()
        .flat_map(|&(lo, hi)| (lo..=hi.min(lo + 8)).map(crate::sets::proto::name))
        .collect();
    format!("{}/{}", names.join(","), ports.render())
}
