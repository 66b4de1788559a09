//! Findings: what the engine reports, with spans into the file store.

use crate::pack::{Category, Severity};
use crate::source::Span;

/// A secondary location (the rule that blocks a flow, the default that applies).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Related {
    pub span: Span,
    pub message: String,
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Requirement id (`VOIP-SIP-ALG-OFF`), or `input-error` for inputs that could not be
    /// fully evaluated.
    pub rule: String,
    /// Pack id (`portaudit` for input errors).
    pub pack: String,
    pub category: Category,
    pub severity: Severity,
    /// Primary location.
    pub span: Span,
    pub message: String,
    /// Label on the primary span.
    pub label: String,
    pub help: Option<String>,
    pub references: Vec<String>,
    pub related: Vec<Related>,
    /// The verdict holds for "some source and destination" only: endpoints are not mapped.
    pub approximate: bool,
    /// The verdict depends on something portaudit does not model or did not understand.
    pub uncertain: bool,
    /// The finding comes from a vendor default rather than a written setting.
    pub from_default: bool,
    /// Waived by portaudit.yaml: the waiver's reason, owner and expiry.
    pub waived: Option<String>,
    /// Stable identity across runs (see [`crate::report::fingerprints`]); set by the engine.
    pub fingerprint: String,
}

impl Finding {
    /// Sort key: file, position, then rule, so output is deterministic.
    pub fn sort_key(&self) -> (crate::source::FileId, usize, usize, &str, &str, &str) {
        (
            self.span.file,
            self.span.start,
            self.span.end,
            &self.rule,
            &self.pack,
            &self.message,
        )
    }
}

/// Pack id used for findings that are not about a requirement.
pub const TOOL_PACK: &str = "portaudit";
/// Rule id of input errors.
pub const INPUT_ERROR: &str = "input-error";

/// A finding about an input that could not be fully evaluated.
pub fn input_error(span: Span, message: impl Into<String>) -> Finding {
    Finding {
        rule: INPUT_ERROR.into(),
        pack: TOOL_PACK.into(),
        category: Category::InputError,
        severity: Severity::High,
        span,
        message: message.into(),
        label: "evaluation incomplete".into(),
        help: Some("Fix or re-export the file; findings for it may be missing until then.".into()),
        references: Vec::new(),
        related: Vec::new(),
        approximate: false,
        uncertain: true,
        from_default: false,
        waived: None,
        fingerprint: String::new(),
    }
}
