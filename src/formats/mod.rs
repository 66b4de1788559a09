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
    /// The [`Shape`]s a file of this format can have: `sniff` is only asked of those.
    pub shapes: &'static [Shape],
    pub parse: fn(file: &SourceFile, limits: &Limits) -> Config,
}

/// What a file looks like from its first character past a byte-order mark and white space:
/// `{` or `[` opens JSON, `<` XML, anything else is text. A file cannot be a format of another
/// shape (an iptables-save file never starts with `{`, a cloud export is always JSON), so
/// [`detect`] asks only the sniffers of the file's shape: most files are read by half of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    Text,
    Json,
    Xml,
}

impl Shape {
    pub fn of(text: &str) -> Shape {
        match text
            .trim_start_matches('\u{feff}')
            .trim_start()
            .as_bytes()
            .first()
        {
            Some(b'{' | b'[') => Shape::Json,
            Some(b'<') => Shape::Xml,
            _ => Shape::Text,
        }
    }
}

const TEXT: &[Shape] = &[Shape::Text];
const JSON: &[Shape] = &[Shape::Json];
const XML: &[Shape] = &[Shape::Xml];
const TEXT_JSON: &[Shape] = &[Shape::Text, Shape::Json];
const TEXT_XML: &[Shape] = &[Shape::Text, Shape::Xml];

/// Every supported format. On equal confidence the earlier entry wins.
pub const REGISTRY: &[FormatSpec] = &[
    FormatSpec {
        format: Format::Iptables,
        shapes: TEXT,
        sniff: iptables::sniff,
        parse: iptables::parse,
    },
    FormatSpec {
        format: Format::Nftables,
        shapes: TEXT_JSON,
        sniff: nftables::sniff,
        parse: nftables::parse,
    },
    FormatSpec {
        format: Format::Fortios,
        shapes: TEXT,
        sniff: fortios::sniff,
        parse: fortios::parse,
    },
    FormatSpec {
        format: Format::Asa,
        shapes: TEXT,
        sniff: asa::sniff,
        parse: asa::parse,
    },
    FormatSpec {
        format: Format::Ios,
        shapes: TEXT,
        sniff: ios::sniff,
        parse: ios::parse,
    },
    FormatSpec {
        format: Format::Junos,
        shapes: TEXT,
        sniff: junos::sniff,
        parse: junos::parse,
    },
    FormatSpec {
        format: Format::Panos,
        shapes: TEXT_XML,
        sniff: panos::sniff,
        parse: panos::parse,
    },
    FormatSpec {
        format: Format::Pfsense,
        shapes: XML,
        sniff: pfxml::sniff_pfsense,
        parse: pfxml::parse_pfsense,
    },
    FormatSpec {
        format: Format::Opnsense,
        shapes: XML,
        sniff: pfxml::sniff_opnsense,
        parse: pfxml::parse_opnsense,
    },
    FormatSpec {
        format: Format::Mikrotik,
        shapes: TEXT,
        sniff: mikrotik::sniff,
        parse: mikrotik::parse,
    },
    FormatSpec {
        format: Format::Checkpoint,
        shapes: TEXT_JSON,
        sniff: checkpoint::sniff,
        parse: checkpoint::parse,
    },
    FormatSpec {
        format: Format::Aws,
        shapes: JSON,
        sniff: aws::sniff,
        parse: aws::parse,
    },
    FormatSpec {
        format: Format::Azure,
        shapes: JSON,
        sniff: azure::sniff,
        parse: azure::parse,
    },
    FormatSpec {
        format: Format::Gcp,
        shapes: JSON,
        sniff: gcp::sniff,
        parse: gcp::parse,
    },
    FormatSpec {
        format: Format::Ucontact,
        shapes: TEXT_JSON,
        sniff: ucontact::sniff,
        parse: ucontact::parse,
    },
];

/// Recognise a file's format from its content (the name is a hint for ties).
pub fn detect(file: &SourceFile) -> Format {
    let name = file.name.rsplit('/').next().unwrap_or(&file.name);
    let head = head(&file.text);
    let shape = Shape::of(head);
    let mut best = (0u8, Format::Unknown);
    for spec in REGISTRY.iter().filter(|s| s.shapes.contains(&shape)) {
        let score = (spec.sniff)(name, head);
        if score > best.0 {
            best = (score, spec.format);
        }
    }
    best.1
}

/// The part of a file the sniffers read: its first 64 KiB (to a character boundary).
fn head(text: &str) -> &str {
    let mut cut = text.len().min(64 * 1024);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    &text[..cut]
}

/// Parse a file in a known format.
pub fn parse(file: &SourceFile, format: Format, limits: &Limits) -> Config {
    match REGISTRY.iter().find(|s| s.format == format) {
        Some(spec) => (spec.parse)(file, limits),
        None => Config::new(Format::Unknown, Span::file_start(file.id)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::FileStore;

    /// The shape gate of [`detect`] changes no verdict: on every fixture, test input and corpus
    /// file, each sniffer left out for the file's shape would have said 0. Shapes are checked
    /// too, so the inputs are known to hold all three.
    #[test]
    fn sniffers_left_out_by_shape_would_say_zero() {
        let root = env!("CARGO_MANIFEST_DIR");
        let mut store = FileStore::new();
        let mut per_shape = [0usize; 3];
        for dir in ["fixtures", "tests/data", "../shared/corpus"] {
            let dir = std::path::Path::new(root).join(dir);
            if !dir.is_dir() {
                continue;
            }
            for entry in walkdir::WalkDir::new(&dir).sort_by_file_name() {
                let entry = entry.unwrap();
                if !entry.file_type().is_file() {
                    continue;
                }
                let path = entry.path();
                let bytes = std::fs::read(path).unwrap();
                let id = store.add_bytes(path.display().to_string(), None, &bytes);
                let text = head(&store.get(id).text);
                let shape = Shape::of(text);
                per_shape[shape as usize] += 1;
                for spec in REGISTRY.iter().filter(|s| !s.shapes.contains(&shape)) {
                    assert_eq!(
                        (spec.sniff)("", text),
                        0,
                        "{:?} claims the {shape:?} file {}",
                        spec.format,
                        path.display()
                    );
                }
            }
        }
        assert!(per_shape.iter().all(|&n| n >= 10), "{per_shape:?}");
    }

    #[test]
    fn shapes() {
        assert_eq!(Shape::of("\u{feff}  \n{\"a\": 1}"), Shape::Json);
        assert_eq!(Shape::of("[1]"), Shape::Json);
        assert_eq!(Shape::of("\t<?xml version=\"1.0\"?>"), Shape::Xml);
        assert_eq!(Shape::of("config system global"), Shape::Text);
        assert_eq!(Shape::of(""), Shape::Text);
        // Every format can be asked of some shape.
        for spec in REGISTRY {
            assert!(!spec.shapes.is_empty(), "{:?}", spec.format);
        }
    }
}
