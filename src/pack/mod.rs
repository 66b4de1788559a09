//! Policy packs: the YAML format (validated by `policies/schema.json`), the typed model the
//! checks run on, and the built-in packs embedded in the binary.
//!
//! Loading accumulates every schema and semantic error of a pack before reporting, each located
//! at its YAML span.

mod builtin;
mod load;

use std::collections::BTreeMap;

pub use builtin::{builtin_packs, BUILTIN_IDS, DEFAULT_PACKS};
pub use load::{load_pack, load_pack_limited, schema_text, PackError};

use crate::sets::{PortSet, ProtoSet};
use crate::source::Span;

/// Finding severity, ordered from least to most severe.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// Every severity, least severe first.
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
    pub fn parse(s: &str) -> Option<Severity> {
        Some(match s {
            "info" => Severity::Info,
            "low" => Severity::Low,
            "medium" => Severity::Medium,
            "high" => Severity::High,
            "critical" => Severity::Critical,
            _ => return None,
        })
    }
}

/// What a finding is about; fixed by the JSON contract.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    RequiredFlow,
    SipAlg,
    Ips,
    Setting,
    InsecureService,
    OverPermissive,
    InputError,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::RequiredFlow => "required-flow",
            Category::SipAlg => "sip-alg",
            Category::Ips => "ips",
            Category::Setting => "setting",
            Category::InsecureService => "insecure-service",
            Category::OverPermissive => "over-permissive",
            Category::InputError => "input-error",
        }
    }
}

/// A loaded pack.
#[derive(Clone, Debug)]
pub struct Pack {
    pub id: String,
    pub title: String,
    pub version: String,
    pub description: Option<String>,
    pub notes: Option<String>,
    pub sources: Vec<SourceDoc>,
    pub parameters: BTreeMap<String, Parameter>,
    pub roles: BTreeMap<String, Role>,
    pub requirements: Vec<Requirement>,
    /// Whether the pack is compiled into the binary.
    pub builtin: bool,
    pub span: Span,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct SourceDoc {
    pub id: String,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edition: Option<String>,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct Parameter {
    pub default: u32,
    pub description: String,
}

/// An abstract endpoint.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Role {
    pub description: String,
    /// Vendor-owned ranges the pack knows.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<String>,
    /// Host names the role stands for (verifiable only against FQDN objects).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
}

/// One requirement of a pack.
#[derive(Clone, Debug)]
pub struct Requirement {
    pub id: String,
    pub pack: String,
    pub title: String,
    pub severity: Severity,
    pub category: Category,
    pub rationale: String,
    pub remediation: String,
    pub references: Vec<String>,
    pub source: Option<SourceRef>,
    pub component: Option<String>,
    pub optional: bool,
    pub notes: Option<String>,
    pub check: Check,
    /// The requirement's entry in the pack file.
    pub span: Span,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct SourceRef {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub section: Option<String>,
}

/// Direction of a required flow relative to the protected network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// From the protected side towards the outside (agents to the vendor cloud).
    Outbound,
    /// From the outside towards a protected host.
    Inbound,
    /// Between two inside segments, through the device.
    Through,
}

/// Protocols and ports of a flow.
#[derive(Clone, Debug, PartialEq)]
pub struct FlowSpec {
    pub protocols: ProtoSet,
    pub ports: PortSet,
    /// The port list as written (with parameters resolved), for output.
    pub port_items: Vec<PortItem>,
}

/// A port or range as given in a pack.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum PortItem {
    Port(u16),
    /// `"lo-hi"`, with an optional parity filter.
    Range(String),
}

/// The single check of a requirement.
#[derive(Clone, Debug)]
pub enum Check {
    RequiredFlow {
        flow: FlowSpec,
        direction: Direction,
        from: Option<String>,
        to: Option<String>,
    },
    SipAlg {
        enabled: bool,
    },
    IpsOnVoice {
        enabled: bool,
        flows: Vec<FlowSpec>,
    },
    Setting {
        condition: Condition,
        unless: Option<Condition>,
    },
    ForbiddenExposure {
        flow: FlowSpec,
        from: Option<String>,
        service: Option<String>,
    },
    AnyAny,
    UnreachableRules,
}

impl Check {
    pub fn kind(&self) -> &'static str {
        match self {
            Check::RequiredFlow { .. } => "required-flow",
            Check::SipAlg { .. } => "sip-alg",
            Check::IpsOnVoice { .. } => "ips-on-voice",
            Check::Setting { .. } => "setting",
            Check::ForbiddenExposure { .. } => "forbidden-exposure",
            Check::AnyAny => "any-any",
            Check::UnreachableRules => "unreachable-rules",
        }
    }

    /// Whether the check reads a packet filter (as opposed to application settings).
    pub fn needs_filter(&self) -> bool {
        !matches!(self, Check::Setting { .. })
    }
}

/// Comparison operators of setting checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Op {
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = "==")]
    Eq,
    #[serde(rename = "!=")]
    Ne,
    #[serde(rename = "in")]
    In,
    #[serde(rename = "not-in")]
    NotIn,
    #[serde(rename = "empty")]
    Empty,
    #[serde(rename = "present")]
    Present,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Le => "<=",
            Op::Ge => ">=",
            Op::Eq => "==",
            Op::Ne => "!=",
            Op::In => "in",
            Op::NotIn => "not-in",
            Op::Empty => "empty",
            Op::Present => "present",
        }
    }
}

/// `key op value`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Condition {
    pub key: String,
    pub op: Op,
    #[serde(skip_serializing_if = "serde_json::Value::is_null")]
    pub value: serde_json::Value,
}

impl Condition {
    pub fn render(&self) -> String {
        match self.op {
            Op::Empty | Op::Present => format!("{} is {}", self.key, self.op.as_str()),
            _ => format!("{} {} {}", self.key, self.op.as_str(), self.value),
        }
    }
}
