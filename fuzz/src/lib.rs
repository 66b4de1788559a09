//! Helpers shared by the fuzz targets: every target turns the fuzzer's bytes into a
//! [`SourceFile`] exactly as the engine does for a file read from disk (UTF-8, BOM, or
//! Windows-1252), then calls one library entry point. A panic, a hang or an allocation blow-up
//! in any of them is a finding.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use portaudit::config::{self, Config as ProjectConfig};
use portaudit::engine;
use portaudit::formats::{self, Limits, REGISTRY};
use portaudit::model::Format;
use portaudit::pack::{self, Pack};
use portaudit::source::{FileId, SourceFile};

/// Decode the bytes like a file read from disk.
pub fn source(name: &str, data: &[u8]) -> SourceFile {
    SourceFile::from_bytes(FileId(0), name.to_owned(), None, data)
}

/// Touch every location a parser produced, as the reporters do.
fn touch_spans(file: &SourceFile, config: &portaudit::model::Config) {
    let _ = file.line_col(config.file_span.start);
    for e in &config.errors {
        let _ = file.line_col(e.span.start);
        let _ = file.line_col(e.span.end);
        let _ = file.slice(e.span);
    }
    for u in &config.unparsed {
        let _ = file.line_col(u.span.start);
        let _ = file.slice(u.span);
    }
}

/// One format's parser on arbitrary bytes.
pub fn parse(format: Format, data: &[u8]) {
    let file = source("fuzz-input", data);
    let config = formats::parse(&file, format, &Limits::default());
    touch_spans(&file, &config);
}

/// Format recognition: `detect` (the head of the file) and every sniffer over the whole text.
pub fn detect(data: &[u8]) {
    // The first line, when short, doubles as the file name (sniffers take it as a hint).
    let (name, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) if i <= 64 => (
            String::from_utf8_lossy(&data[..i]).into_owned(),
            &data[i + 1..],
        ),
        _ => ("fuzz-input".to_owned(), data),
    };
    let file = source(&name, body);
    let _ = formats::detect(&file);
    for spec in REGISTRY {
        let _ = (spec.sniff)(&name, &file.text);
    }
}

/// The pack loader (YAML parse, schema validation, requirement checks) on a custom pack.
pub fn pack(data: &[u8]) {
    let file = source("fuzz-pack.yaml", data);
    let _ = pack::load_pack(&file, false, &BTreeMap::new());
}

/// The `portaudit.yaml` loader.
pub fn config(data: &[u8]) {
    let file = source("portaudit.yaml", data);
    let _ = config::load(&file);
}

/// Every built-in pack, loaded once.
fn packs() -> &'static [Pack] {
    static PACKS: OnceLock<Vec<Pack>> = OnceLock::new();
    PACKS.get_or_init(|| {
        pack::builtin_packs()
            .iter()
            .enumerate()
            .map(|(i, (name, text))| {
                let file = SourceFile::from_bytes(
                    FileId(i as u32 + 1),
                    (*name).to_owned(),
                    None,
                    text.as_bytes(),
                );
                pack::load_pack(&file, true, &BTreeMap::new())
                    .unwrap_or_else(|_| panic!("built-in pack {name} does not load"))
            })
            .collect()
    })
}

/// The whole per-file evaluation: detection, parsing and every check of every built-in pack.
pub fn evaluate(data: &[u8]) {
    let file = source("fuzz-input", data);
    let cfg = ProjectConfig::default();
    let limits = Limits::default();
    let (_report, findings, _results) = engine::evaluate_file(&file, packs(), &cfg, &limits);
    for f in &findings {
        let _ = file.line_col(f.span.start);
    }
}

/// Differential: the flow walker with the rule index must give exactly the parts of the full
/// walk (the index may only skip rules that cannot meet the traffic; a skipped rule that does
/// would turn into a wrong verdict, not a crash). Probes: a few fixed packet classes, and the
/// first match space of up to 5 rules of the file, so walks meet the file's own rules.
pub fn walk_index(data: &[u8]) {
    use portaudit::engine::flow::{classify_indexed, Mode};
    use portaudit::engine::index::FilterIndex;
    use portaudit::sets::{PortSet, ProtoSet, Space};

    let file = source("fuzz-input", data);
    let format = formats::detect(&file);
    if format == Format::Unknown {
        return;
    }
    let config = formats::parse(&file, format, &Limits::default());
    let filter = &config.filter;
    let index = FilterIndex::new(filter);
    let mut probes = vec![
        Space::all(),
        Space {
            proto: ProtoSet::single(17),
            dport: PortSet::single(5060),
            ..Space::all()
        },
        Space {
            proto: ProtoSet::single(6),
            dport: PortSet::single(443),
            ..Space::all()
        },
    ];
    probes.extend(
        filter
            .chains
            .iter()
            .flat_map(|c| c.rules.iter())
            .filter_map(|r| r.matches.first().cloned())
            .take(5),
    );
    for entry in &filter.entries {
        for mode in [Mode::AsWritten, Mode::MostPermissive, Mode::LeastPermissive] {
            for input in probes.iter().map(std::slice::from_ref).chain([&probes[..]]) {
                let full = classify_indexed(filter, None, entry, input, 16, mode);
                let fast = classify_indexed(filter, Some(&index), entry, input, 16, mode);
                assert_eq!(
                    format!("{full:?}"),
                    format!("{fast:?}"),
                    "indexed walk differs: {:?} {mode:?} {input:?}",
                    entry.hook
                );
            }
        }
    }
}

/// Differential: wherever the YAML reader builds a tree straight from the parser's events, it
/// must be serde-saphyr's tree (same values, same byte ranges), and serde-saphyr must accept the
/// document. The direct path declines what it cannot answer for certain; a wrong answer would be
/// a wrong setting, so any difference panics.
pub fn yaml_direct(data: &[u8]) {
    use portaudit::yaml::{parse_both, YamlLimits};
    let file = source("fuzz-input.yaml", data);
    let (direct, saphyr) = parse_both(&file.text, YamlLimits::default());
    if let Some(direct) = direct {
        match saphyr {
            Ok(tree) => assert_eq!(direct, tree, "the direct tree differs from serde-saphyr's"),
            Err(e) => panic!("serde-saphyr refuses a document the direct path accepted: {e:?}"),
        }
    }
}
