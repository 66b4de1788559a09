//! JSON output: `{"tool", "findings", "files", "notices", "summary"}` (the contract in
//! docs/output.md), and `"shard"` after them for a `--shard` run (see [`crate::merge`]).
//!
//! Written with typed structs streamed to the writer as the files of a check come ([`write_files`]:
//! no tree of values, and with a streamed check no findings, held for a whole fleet); the field
//! order is the contract's.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::Write;

use serde::ser::SerializeSeq;
use serde::Serialize;

use super::{location, Files, Location, Replay};
use crate::checks::Status;
use crate::engine::{ResultRow, Run};
use crate::finding::Finding;
use crate::pack::Severity;
use crate::source::{FileId, FileStore};

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

/// The findings, converted one at a time as the files come.
struct Findings<'a, 'b>(&'a RefCell<&'b mut dyn Files>);

impl Serialize for Findings<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut files = self.0.borrow_mut();
        let mut seq = s.serialize_seq(None)?;
        while let Some(v) = files.next_file() {
            for f in v.findings {
                seq.serialize_element(&finding(v.store, f))?;
            }
        }
        seq.end()
    }
}

fn finding<'a>(store: &'a FileStore, f: &'a Finding) -> FindingOut<'a> {
    FindingOut {
        rule: &f.rule,
        pack: &f.pack,
        category: f.category.as_str(),
        severity: f.severity.as_str(),
        file: &store.get(f.span.file).name,
        loc: location(store, f.span),
        message: &f.message,
        help: f.help.as_deref(),
        references: &f.references,
        related: f
            .related
            .iter()
            .map(|r| RelatedOut {
                file: &store.get(r.span.file).name,
                loc: location(store, r.span),
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
}

/// Write the report of a finished run (pretty-printed, with a final newline).
pub fn write(run: &Run, w: &mut dyn Write) -> std::io::Result<()> {
    write_files(&mut Replay::new(run), w)
}

/// Write the report as the files come: the findings file by file, then what needs every file
/// (files, notices, summary, shard).
pub fn write_files(files: &mut dyn Files, w: &mut dyn Write) -> std::io::Result<()> {
    use serde::ser::{SerializeMap, Serializer as _};
    let mut w = std::io::BufWriter::new(w);
    let mut ser = super::pretty::serializer(&mut w);
    let mut map = (&mut ser).serialize_map(None)?;
    map.serialize_entry(
        "tool",
        &ToolOut {
            name: "portaudit",
            version: env!("CARGO_PKG_VERSION"),
        },
    )?;
    let cell = RefCell::new(files);
    map.serialize_entry("findings", &Findings(&cell))?;
    let run = cell.into_inner().run();
    let files: Vec<FileOut> = run
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
    map.serialize_entry("files", &files)?;
    let notices: Vec<NoticeOut> = run
        .notices
        .iter()
        .map(|n| NoticeOut {
            file: &run.store.get(n.span.file).name,
            line: location(&run.store, n.span).line,
            message: &n.message,
        })
        .collect();
    map.serialize_entry("notices", &notices)?;
    map.serialize_entry("summary", &summary(run))?;
    if let Some(sh) = &run.shard {
        let shard = ShardOut {
            index: sh.shard.index,
            count: sh.shard.count,
            inputs: sh.total,
            files: &sh.ordinals,
            findings: sh.per_entry(&run.files, |f| f.findings),
            fail_on: run.config.fail_on.map(|s| s.as_str()),
        };
        map.serialize_entry("shard", &shard)?;
    }
    SerializeMap::end(map)?;
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
    let by_sev: BTreeMap<&'static str, usize> = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ]
    .into_iter()
    .map(|s| (s.as_str(), run.totals.active_at(s)))
    .collect();
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
        findings: run.totals.active(),
        waived: run.totals.waived,
        baselined: run.baselined,
        by_severity: by_sev,
        packs,
        per_file,
    }
}
