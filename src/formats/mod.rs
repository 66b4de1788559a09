//! Vendor formats, side by side. Each module recognises its format from content
//! (`sniff`) and parses a [`SourceFile`] into the common [`Config`] model (`parse`).
//!
//! Adding a format: a new module here, one line in [`REGISTRY`], a variant in
//! [`crate::model::Format`], fixtures and tests (see CONTRIBUTING.md).

use crate::model::{Config, Format};
use crate::source::{SourceFile, Span};

pub mod asa;
pub mod aws;
pub mod azure;
pub mod checkpoint;
pub mod cisco_common;
pub mod fortios;
pub mod gcp;
pub mod ios;
pub mod iptables;
pub mod json_spans;
pub mod junos;
pub mod mikrotik;
pub mod nftables;
pub mod panos;
pub mod pfxml;
pub mod ucontact;
pub mod util;

/// Limits that protect parsers against hostile input.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Maximum nesting depth of JSON, XML and YAML documents.
    pub max_depth: usize,
    /// Maximum depth of object-group / alias / chain references.
    pub max_reference_depth: usize,
    /// Lines longer than this are not parsed (reported as not understood).
    pub max_line_len: usize,
    /// YAML budget: parser events (nodes, scalars) per document.
    pub max_yaml_events: usize,
    /// YAML budget: alias (`*name`) expansions per document.
    pub max_yaml_aliases: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 64,
            max_reference_depth: 32,
            max_line_len: 64 * 1024,
            max_yaml_events: 2_000_000,
            max_yaml_aliases: 1_000,
        }
    }
}

/// A format's entry points.
pub struct FormatSpec {
    pub format: Format,
    /// Confidence (0 = not this format) that `text` is this format; `name` is the file name, a
    /// hint only.
    pub sniff: fn(name: &str, text: &str) -> u8,
    pub parse: fn(file: &SourceFile, limits: &Limits) -> Config,
}

/// Every supported format. On equal confidence the earlier entry wins.
pub const REGISTRY: &[FormatSpec] = &[
    FormatSpec {
        format: Format::Iptables,
        sniff: iptables::sniff,
        parse: iptables::parse,
    },
    FormatSpec {
        format: Format::Nftables,
        sniff: nftables::sniff,
        parse: nftables::parse,
    },
    FormatSpec {
        format: Format::Fortios,
        sniff: fortios::sniff,
        parse: fortios::parse,
    },
    FormatSpec {
        format: Format::Asa,
        sniff: asa::sniff,
        parse: asa::parse,
    },
    FormatSpec {
        format: Format::Ios,
        sniff: ios::sniff,
        parse: ios::parse,
    },
    FormatSpec {
        format: Format::Junos,
        sniff: junos::sniff,
        parse: junos::parse,
    },
    FormatSpec {
        format: Format::Panos,
        sniff: panos::sniff,
        parse: panos::parse,
    },
    FormatSpec {
        format: Format::Pfsense,
        sniff: pfxml::sniff_pfsense,
        parse: pfxml::parse_pfsense,
    },
    FormatSpec {
        format: Format::Opnsense,
        sniff: pfxml::sniff_opnsense,
        parse: pfxml::parse_opnsense,
    },
    FormatSpec {
        format: Format::Mikrotik,
        sniff: mikrotik::sniff,
        parse: mikrotik::parse,
    },
    FormatSpec {
        format: Format::Checkpoint,
        sniff: checkpoint::sniff,
        parse: checkpoint::parse,
    },
    FormatSpec {
        format: Format::Aws,
        sniff: aws::sniff,
        parse: aws::parse,
    },
    FormatSpec {
        format: Format::Azure,
        sniff: azure::sniff,
        parse: azure::parse,
    },
    FormatSpec {
        format: Format::Gcp,
        sniff: gcp::sniff,
        parse: gcp::parse,
    },
    FormatSpec {
        format: Format::Ucontact,
        sniff: ucontact::sniff,
        parse: ucontact::parse,
    },
];

/// Recognise a file's format from its content (the name is a hint for ties).
pub fn detect(file: &SourceFile) -> Format {
    let name = file.name.rsplit('/').next().unwrap_or(&file.name);
    // Only the head of a file is needed to recognise it.
    let mut cut = file.text.len().min(64 * 1024);
    while !file.text.is_char_boundary(cut) {
        cut -= 1;
    }
    let head = &file.text[..cut];
    let mut best = (0u8, Format::Unknown);
    for spec in REGISTRY {
        let score = (spec.sniff)(name, head);
        if score > best.0 {
            best = (score, spec.format);
        }
    }
    best.1
}

/// Parse a file in a known format.
pub fn parse(file: &SourceFile, format: Format, limits: &Limits) -> Config {
    match REGISTRY.iter().find(|s| s.format == format) {
        Some(spec) => (spec.parse)(file, limits),
        None => Config::new(Format::Unknown, Span::file_start(file.id)),
    }
}
