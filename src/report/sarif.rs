//! SARIF 2.1.0 for GitHub code scanning: relative URIs, regions, one rule per requirement with
//! help and security-severity, stable `primaryLocationLineHash` fingerprints. Waived findings are
//! left out (GitHub shows suppressed results as open alerts).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::Write;

use serde::ser::{SerializeMap, SerializeSeq};
use serde::Serialize;
use serde_json::{json, Value};

use super::{location, Files, Replay};
use crate::engine::Run;
use crate::finding::{Finding, INPUT_ERROR};
use crate::pack::{Requirement, Severity};
use crate::source::FileStore;

const INFO_URI: &str = "https://github.com/portaudit/portaudit";

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// GitHub's numeric severity scale.
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "1.0",
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max - 3).collect();
        t.push_str("...");
        t
    }
}

/// A relative URI for a display path (percent-encoding what URIs do not allow); a path outside the
/// working directory becomes an absolute `file://` URI (GitHub only ingests relative ones, so run
/// from the repository root).
pub fn uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 7);
    if path.starts_with('/') {
        out.push_str("file://");
    }
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn rule(req: &Requirement) -> Value {
    let refs = req.references.join("; ");
    let mut markdown = format!(
        "**{}** ({} / {})\n\n{}\n\n**Remediation:** {}\n\n**References:** {}",
        req.title, req.pack, req.id, req.rationale, req.remediation, refs
    );
    if let Some(n) = &req.notes {
        markdown.push_str(&format!("\n\n**Notes:** {n}"));
    }
    json!({
        "id": req.id,
        "name": req.id.replace(['.', '-'], ""),
        "shortDescription": { "text": truncate(&req.title, 1024) },
        "fullDescription": { "text": truncate(&req.rationale, 1024) },
        "help": {
            "text": format!("{}\n\nRemediation: {}\n\nReferences: {}", req.rationale, req.remediation, refs),
            "markdown": markdown,
        },
        "defaultConfiguration": { "level": level(req.severity) },
        "properties": {
            "tags": ["security", "compliance", req.pack.clone(), req.category.as_str()],
            "security-severity": security_severity(req.severity),
            "precision": if matches!(req.check, crate::pack::Check::RequiredFlow { .. }) { "medium" } else { "high" },
        }
    })
}

fn input_error_rule() -> Value {
    json!({
        "id": INPUT_ERROR,
        "name": "InputError",
        "shortDescription": { "text": "An input could not be fully evaluated" },
        "fullDescription": { "text": "portaudit could not read or fully parse this file, so findings for it may be missing." },
        "help": {
            "text": "Fix or re-export the file; findings for it may be missing until then.",
            "markdown": "Fix or re-export the file; findings for it may be missing until then."
        },
        "defaultConfiguration": { "level": "error" },
        "properties": {
            "tags": ["portaudit", "input-error"],
            "security-severity": security_severity(Severity::High),
            "precision": "high",
        }
    })
}

#[derive(Serialize)]
struct Text<'a> {
    text: &'a str,
}

#[derive(Serialize)]
struct Artifact {
    uri: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: usize,
    start_column: usize,
    end_line: usize,
    end_column: usize,
}

impl From<super::Location> for Region {
    fn from(l: super::Location) -> Self {
        Region {
            start_line: l.line,
            start_column: l.column,
            end_line: l.end_line,
            end_column: l.end_column,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Physical {
    artifact_location: Artifact,
    region: Region,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LocationOut {
    physical_location: Physical,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RelatedOut<'a> {
    id: usize,
    physical_location: Physical,
    message: Text<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Fingerprints<'a> {
    primary_location_line_hash: &'a str,
}

#[derive(Serialize)]
struct ResultProps<'a> {
    pack: &'a str,
    category: &'a str,
    severity: &'a str,
    approximate: bool,
    uncertain: bool,
    default: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResultOut<'a> {
    rule_id: &'a str,
    rule_index: usize,
    level: &'a str,
    message: OwnedText,
    locations: [LocationOut; 1],
    partial_fingerprints: Fingerprints<'a>,
    properties: ResultProps<'a>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    related_locations: Vec<RelatedOut<'a>>,
}

#[derive(Serialize)]
struct OwnedText {
    text: String,
}

fn physical(store: &FileStore, span: crate::source::Span) -> Physical {
    Physical {
        artifact_location: Artifact {
            uri: uri(&store.get(span.file).name),
        },
        region: location(store, span).into(),
    }
}

fn result<'a>(store: &FileStore, f: &'a Finding, rule_index: usize) -> ResultOut<'a> {
    ResultOut {
        rule_id: &f.rule,
        rule_index,
        level: level(f.severity),
        message: OwnedText {
            text: match &f.help {
                Some(h) => format!("{}\nRemediation: {h}", f.message),
                None => f.message.clone(),
            },
        },
        locations: [LocationOut {
            physical_location: physical(store, f.span),
        }],
        partial_fingerprints: Fingerprints {
            primary_location_line_hash: &f.fingerprint,
        },
        properties: ResultProps {
            pack: &f.pack,
            category: f.category.as_str(),
            severity: f.severity.as_str(),
            approximate: f.approximate,
            uncertain: f.uncertain,
            default: f.from_default,
        },
        related_locations: f
            .related
            .iter()
            .take(1000)
            .enumerate()
            .map(|(i, r)| RelatedOut {
                id: i + 1,
                physical_location: physical(store, r.span),
                message: Text { text: &r.message },
            })
            .collect(),
    }
}

/// The log as the files come: `runs[0].results` file by file, then the run's properties (which
/// need every file).
struct LogOut<'a, 'b> {
    rules: Vec<Value>,
    ids: BTreeMap<String, usize>,
    files: RefCell<&'a mut (dyn Files + 'b)>,
}

impl Serialize for LogOut<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("$schema", "https://json.schemastore.org/sarif-2.1.0.json")?;
        map.serialize_entry("version", "2.1.0")?;
        map.serialize_entry("runs", &[RunOut(self)])?;
        map.end()
    }
}

struct RunOut<'a, 'b, 'c>(&'c LogOut<'a, 'b>);

impl Serialize for RunOut<'_, '_, '_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let log = self.0;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry(
            "tool",
            &Tool {
                driver: Driver {
                    name: "portaudit",
                    version: env!("CARGO_PKG_VERSION"),
                    semantic_version: env!("CARGO_PKG_VERSION"),
                    information_uri: INFO_URI,
                    rules: &log.rules,
                },
            },
        )?;
        map.serialize_entry("columnKind", "unicodeCodePoints")?;
        map.serialize_entry("results", &Results(log))?;
        let files = log.files.borrow();
        let run = files.run();
        if let Some(sh) = &run.shard {
            let props = RunProps {
                shard: ShardOut {
                    index: sh.shard.index,
                    count: sh.shard.count,
                    inputs: sh.total,
                    files: &sh.ordinals,
                    results: sh.per_entry(&run.files, |f| f.active),
                    incomplete: run.incomplete(),
                    fail_on: run.config.fail_on.map(|s| s.as_str()),
                },
            };
            map.serialize_entry("properties", &props)?;
        }
        map.end()
    }
}

/// The results (waived findings left out), converted one at a time as the files come.
struct Results<'a, 'b, 'c>(&'c LogOut<'a, 'b>);

impl Serialize for Results<'_, '_, '_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let log = self.0;
        let mut files = log.files.borrow_mut();
        let mut seq = s.serialize_seq(None)?;
        while let Some(v) = files.next_file() {
            for f in v.findings.iter().filter(|f| f.waived.is_none()) {
                let index = log.ids.get(f.rule.as_str()).copied().unwrap_or(0);
                seq.serialize_element(&result(v.store, f, index))?;
            }
        }
        seq.end()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver<'a> {
    name: &'static str,
    version: &'static str,
    semantic_version: &'static str,
    information_uri: &'static str,
    rules: &'a [Value],
}

#[derive(Serialize)]
struct Tool<'a> {
    driver: Driver<'a>,
}

/// What a `--shard` run adds to its run's property bag for `portaudit merge`.
#[derive(Serialize)]
struct ShardOut<'a> {
    index: u32,
    count: u32,
    inputs: usize,
    files: &'a [usize],
    /// Index among all the inputs of the file of each result.
    results: Vec<usize>,
    incomplete: bool,
    fail_on: Option<&'static str>,
}

#[derive(Serialize)]
struct RunProps<'a> {
    #[serde(rename = "portaudit-shard")]
    shard: ShardOut<'a>,
}

/// Write the log of a finished run (pretty-printed, with a final newline).
pub fn write(run: &Run, w: &mut dyn Write) -> std::io::Result<()> {
    write_files(&mut Replay::new(run), w)
}

/// Write the log as the files come.
pub fn write_files(files: &mut dyn Files, w: &mut dyn Write) -> std::io::Result<()> {
    let mut rules: Vec<Value> = vec![input_error_rule()];
    let mut ids: BTreeMap<String, usize> = BTreeMap::new();
    ids.insert(INPUT_ERROR.to_owned(), 0);
    for p in &files.run().packs {
        for r in &p.requirements {
            ids.entry(r.id.clone()).or_insert(rules.len());
            rules.push(rule(r));
        }
    }
    let log = LogOut {
        rules,
        ids,
        files: RefCell::new(files),
    };
    let mut w = std::io::BufWriter::with_capacity(super::WRITE_BUFFER, w);
    super::pretty::to_writer(&mut w, &log)?;
    w.write_all(b"\n")?;
    w.flush()
}

pub fn render(run: &Run) -> String {
    let mut out = Vec::new();
    // Writing to memory cannot fail.
    let _ = write(run, &mut out);
    String::from_utf8(out).unwrap_or_default()
}
