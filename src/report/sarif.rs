//! SARIF 2.1.0 for GitHub code scanning: relative URIs, regions, one rule per requirement with
//! help and security-severity, stable `primaryLocationLineHash` fingerprints. Waived findings are
//! left out (GitHub shows suppressed results as open alerts).

use std::collections::BTreeMap;
use std::io::Write;

use serde::Serialize;
use serde_json::{json, Value};

use super::location;
use crate::engine::Run;
use crate::finding::INPUT_ERROR;
use crate::pack::{Requirement, Severity};

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

fn physical(run: &Run, span: crate::source::Span) -> Physical {
    Physical {
        artifact_location: Artifact {
            uri: uri(&run.store.get(span.file).name),
        },
        region: location(&run.store, span).into(),
    }
}

/// The results, converted one at a time as they are written.
struct Results<'a> {
    run: &'a Run,
    ids: &'a BTreeMap<&'a str, usize>,
}

impl Serialize for Results<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let run = self.run;
        s.collect_seq(run.findings.iter().filter(|f| f.waived.is_none()).map(|f| {
            ResultOut {
                rule_id: &f.rule,
                rule_index: self.ids.get(f.rule.as_str()).copied().unwrap_or(0),
                level: level(f.severity),
                message: OwnedText {
                    text: match &f.help {
                        Some(h) => format!("{}\nRemediation: {h}", f.message),
                        None => f.message.clone(),
                    },
                },
                locations: [LocationOut {
                    physical_location: physical(run, f.span),
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
                        physical_location: physical(run, r.span),
                        message: Text { text: &r.message },
                    })
                    .collect(),
            }
        }))
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

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RunOut<'a> {
    tool: Tool<'a>,
    column_kind: &'static str,
    results: Results<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    properties: Option<RunProps<'a>>,
}

#[derive(Serialize)]
struct Log<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: [RunOut<'a>; 1],
}

/// Write the log (pretty-printed, with a final newline).
pub fn write(run: &Run, w: &mut dyn Write) -> std::io::Result<()> {
    let mut rules: Vec<Value> = vec![input_error_rule()];
    let mut ids: BTreeMap<&str, usize> = BTreeMap::new();
    ids.insert(INPUT_ERROR, 0);
    for p in &run.packs {
        for r in &p.requirements {
            ids.entry(r.id.as_str()).or_insert(rules.len());
            rules.push(rule(r));
        }
    }
    let properties = run.shard.as_ref().map(|sh| {
        let ordinal: BTreeMap<crate::source::FileId, usize> = run
            .files
            .iter()
            .zip(&sh.ordinals)
            .map(|(f, o)| (f.file, *o))
            .collect();
        RunProps {
            shard: ShardOut {
                index: sh.shard.index,
                count: sh.shard.count,
                inputs: sh.total,
                files: &sh.ordinals,
                results: run
                    .findings
                    .iter()
                    .filter(|f| f.waived.is_none())
                    .map(|f| ordinal.get(&f.span.file).copied().unwrap_or(usize::MAX))
                    .collect(),
                incomplete: run.incomplete(),
                fail_on: run.config.fail_on.map(|s| s.as_str()),
            },
        }
    });
    let log = Log {
        schema: "https://json.schemastore.org/sarif-2.1.0.json",
        version: "2.1.0",
        runs: [RunOut {
            tool: Tool {
                driver: Driver {
                    name: "portaudit",
                    version: env!("CARGO_PKG_VERSION"),
                    semantic_version: env!("CARGO_PKG_VERSION"),
                    information_uri: INFO_URI,
                    rules: &rules,
                },
            },
            column_kind: "unicodeCodePoints",
            results: Results { run, ids: &ids },
            properties,
        }],
    };
    let mut w = std::io::BufWriter::new(w);
    serde_json::to_writer_pretty(&mut w, &log)?;
    w.write_all(b"\n")?;
    w.flush()
}

pub fn render(run: &Run) -> String {
    let mut out = Vec::new();
    // Writing to memory cannot fail.
    let _ = write(run, &mut out);
    String::from_utf8(out).unwrap_or_default()
}
