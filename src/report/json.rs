//! JSON output: `{"tool", "findings", "files", "notices", "summary"}` (the contract in
//! docs/output.md), and `"shard"` after them for a `--shard` run (see [`crate::merge`]).
//!
//! Written with typed structs streamed to the writer (no tree of values held for a whole fleet);
//! the field order is the contract's.

use std::collections::BTreeMap;
use std::io::Write;

use serde::Serialize;

use super::{location, Location};
use crate::checks::Status;
use crate::engine::{ResultRow, Run};
use crate::source::FileId;

#[derive(Serialize)]
struct RelatedOut<'a> {
    file: &'a str,
    #[serde(flatten)]
    loc: Location,
    message: &'a str,
}

#[derive(Serialize)]
struct FindingOut<'a> {
    rule: &'a str,
    pack: &'a str,
    category: &'a str,
    severity: &'a str,
    file: &'a str,
    #[serde(flatten)]
    loc: Location,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    help: Option<&'a str>,
    references: &'a [String],
    related: Vec<RelatedOut<'a>>,
    approximate: bool,
    uncertain: bool,
    default: bool,
    waived: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    waiver: Option<&'a str>,
    fingerprint: &'a str,
}

#[derive(Serialize)]
struct ToolOut {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct FileOut<'a> {
    path: &'a str,
    format: &'a str,
    rules: usize,
    unparsed: usize,
    incomplete: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    skipped: Option<&'a str>,
}

#[derive(Serialize)]
struct NoticeOut<'a> {
    file: &'a str,
    line: usize,
    message: &'a str,
}

/// Counts per status, keyed by status id (sorted).
type Counts = BTreeMap<&'static str, usize>;

#[derive(Serialize)]
struct PackSummary<'a> {
    id: &'a str,
    version: &'a str,
    results: Counts,
}

#[derive(Serialize)]
struct FilePackSummary<'a> {
    pack: &'a str,
    results: Counts,
}

#[derive(Serialize)]
struct FileSummary<'a> {
    path: &'a str,
    packs: Vec<FilePackSummary<'a>>,
}

/// The `summary` object.
#[derive(Serialize)]
pub struct Summary<'a> {
    files: usize,
    evaluated: usize,
    skipped: usize,
    incomplete: bool,
    findings: usize,
    waived: usize,
    baselined: usize,
    by_severity: BTreeMap<&'static str, usize>,
    packs: Vec<PackSummary<'a>>,
    per_file: Vec<FileSummary<'a>>,
}

/// What a `--shard` run adds for `portaudit merge`: where its files and findings stand among all
/// the inputs.
#[derive(Serialize)]
struct ShardOut<'a> {
    index: u32,
    count: u32,
    /// Inputs over all shards.
    inputs: usize,
    /// Index among all the inputs of each entry of `files`.
    files: &'a [usize],
    /// Index among all the inputs of the file of each entry of `findings`.
    findings: Vec<usize>,
    /// `fail-on` from portaudit.yaml, if set.
    fail_on: Option<&'static str>,
}

#[derive(Serialize)]
struct Report<'a> {
    tool: ToolOut,
    findings: Findings<'a>,
    files: Vec<FileOut<'a>>,
    notices: Vec<NoticeOut<'a>>,
    summary: Summary<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    shard: Option<ShardOut<'a>>,
}

/// The findings, converted one at a time as they are written.
struct Findings<'a>(&'a Run);

impl Serialize for Findings<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let run = self.0;
        s.collect_seq(run.findings.iter().map(|f| {
            FindingOut {
                rule: &f.rule,
                pack: &f.pack,
                category: f.category.as_str(),
                severity: f.severity.as_str(),
                file: &run.store.get(f.span.file).name,
                loc: location(&run.store, f.span),
                message: &f.message,
                help: f.help.as_deref(),
                references: &f.references,
                related: f
                    .related
                    .iter()
                    .map(|r| RelatedOut {
                        file: &run.store.get(r.span.file).name,
                        loc: location(&run.store, r.span),
                        message: &r.message,
                    })
                    .collect(),
                approximate: f.approximate,
                uncertain: f.uncertain,
                default: f.from_default,
                waived: f.waived.is_some(),
                waiver: f.waived.as_deref(),
                fingerprint: &f.fingerprint,
            }
        }))
    }
}

/// Write the report (pretty-printed, with a final newline).
pub fn write(run: &Run, w: &mut dyn Write) -> std::io::Result<()> {
    let files = run
        .files
        .iter()
        .map(|f| FileOut {
            path: &f.name,
            format: f.format.id(),
            rules: f.rules,
            unparsed: f.unparsed.len(),
            incomplete: f.incomplete,
            skipped: f.skipped.as_deref(),
        })
        .collect();
    let notices = run
        .notices
        .iter()
        .map(|n| NoticeOut {
            file: &run.store.get(n.span.file).name,
            line: location(&run.store, n.span).line,
            message: &n.message,
        })
        .collect();
    let shard = run.shard.as_ref().map(|sh| {
        let ordinal: BTreeMap<FileId, usize> = run
            .files
            .iter()
            .zip(&sh.ordinals)
            .map(|(f, o)| (f.file, *o))
            .collect();
        ShardOut {
            index: sh.shard.index,
            count: sh.shard.count,
            inputs: sh.total,
            files: &sh.ordinals,
            findings: run
                .findings
                .iter()
                .map(|f| ordinal.get(&f.span.file).copied().unwrap_or(usize::MAX))
                .collect(),
            fail_on: run.config.fail_on.map(|s| s.as_str()),
        }
    });
    let report = Report {
        tool: ToolOut {
            name: "portaudit",
            version: env!("CARGO_PKG_VERSION"),
        },
        findings: Findings(run),
        files,
        notices,
        summary: summary(run),
        shard,
    };
    let mut w = std::io::BufWriter::new(w);
    serde_json::to_writer_pretty(&mut w, &report)?;
    w.write_all(b"\n")?;
    w.flush()
}

pub fn render(run: &Run) -> String {
    let mut out = Vec::new();
    // Writing to memory cannot fail.
    let _ = write(run, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

const STATUSES: [Status; 4] = [
    Status::Pass,
    Status::Fail,
    Status::NotEvidenced,
    Status::Uncertain,
];

fn count<'a>(rows: impl Iterator<Item = &'a ResultRow>) -> Counts {
    let mut m: Counts = STATUSES.iter().map(|s| (s.as_str(), 0)).collect();
    for r in rows {
        *m.entry(r.status.as_str()).or_default() += 1;
    }
    m
}

/// Result rows of each file, in order.
pub(crate) fn rows_by_file(run: &Run) -> BTreeMap<FileId, Vec<&ResultRow>> {
    let mut m: BTreeMap<FileId, Vec<&ResultRow>> = BTreeMap::new();
    for r in &run.results {
        m.entry(r.file).or_default().push(r);
    }
    m
}

/// Counts by severity, by status per pack, and per file and pack.
pub fn summary(run: &Run) -> Summary<'_> {
    let mut by_sev: BTreeMap<&'static str, usize> = ["critical", "high", "medium", "low", "info"]
        .iter()
        .map(|s| (*s, 0))
        .collect();
    for f in run.findings.iter().filter(|f| f.waived.is_none()) {
        *by_sev.entry(f.severity.as_str()).or_default() += 1;
    }
    let packs = run
        .packs
        .iter()
        .map(|p| PackSummary {
            id: &p.id,
            version: &p.version,
            results: count(run.results.iter().filter(|r| r.pack == p.id)),
        })
        .collect();
    let by_file = rows_by_file(run);
    let none = Vec::new();
    let per_file = run
        .files
        .iter()
        .filter(|f| f.skipped.is_none())
        .map(|f| {
            let rows = by_file.get(&f.file).unwrap_or(&none);
            let packs = run
                .packs
                .iter()
                .filter(|p| rows.iter().any(|r| r.pack == p.id))
                .map(|p| FilePackSummary {
                    pack: &p.id,
                    results: count(rows.iter().copied().filter(|r| r.pack == p.id)),
                })
                .collect();
            FileSummary {
                path: &f.name,
                packs,
            }
        })
        .collect();
    Summary {
        files: run.files.len(),
        evaluated: run.files.iter().filter(|f| f.skipped.is_none()).count(),
        skipped: run.files.iter().filter(|f| f.skipped.is_some()).count(),
        incomplete: run.incomplete(),
        findings: run.findings.iter().filter(|f| f.waived.is_none()).count(),
        waived: run.findings.iter().filter(|f| f.waived.is_some()).count(),
        baselined: run.baselined,
        by_severity: by_sev,
        packs,
        per_file,
    }
}
