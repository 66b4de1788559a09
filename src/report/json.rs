//! JSON output: `{"tool", "findings", "files", "notices", "summary"}` (the contract in
//! docs/output.md), and `"shard"` after them for a `--shard` run (see [`crate::merge`]).
//!
//! Written with typed structs streamed to the writer as the files of a check come ([`JsonSink`]:
//! no tree of values, and with a streamed check no findings, held for a whole fleet); the field
//! order is the contract's.

use std::collections::BTreeMap;
use std::io::Write;

use serde::Serialize;

use super::{location, Location};
use crate::checks::Status;
use crate::engine::{ResultRow, Run};
use crate::finding::Finding;
use crate::pack::Severity;
use crate::source::{FileId, FileStore};

/// A related location of a finding; written by [`write_finding`] (the derived `Serialize` is the
/// reference its test compares with).
#[derive(Serialize)]
struct RelatedOut<'a> {
    file: &'a str,
    #[serde(flatten)]
    loc: Location,
    message: &'a str,
}

/// A finding as the report shows it; written by [`write_finding`] (the derived `Serialize` is the
/// reference its test compares with).
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

/// One finding as serde_json's pretty printer writes [`FindingOut`] at the depth of an element
/// of `findings` (its fields indented by six spaces), without serde: the report's strings were
/// escaped byte by byte, most of writing a large report, and almost none needs escaping
/// ([`string`]). `the_hand_written_finding_is_serde_json_pretty` holds the two to the same bytes.
fn write_finding<W: Write>(w: &mut W, f: &FindingOut) -> std::io::Result<()> {
    const I: &[u8] = b",\n      ";
    w.write_all(b"{\n      \"rule\": ")?;
    string(w, f.rule)?;
    w.write_all(b",\n      \"pack\": ")?;
    string(w, f.pack)?;
    w.write_all(b",\n      \"category\": ")?;
    string(w, f.category)?;
    w.write_all(b",\n      \"severity\": ")?;
    string(w, f.severity)?;
    w.write_all(b",\n      \"file\": ")?;
    string(w, f.file)?;
    location_fields(w, I, &f.loc)?;
    w.write_all(I)?;
    w.write_all(b"\"message\": ")?;
    string(w, f.message)?;
    if let Some(help) = f.help {
        w.write_all(b",\n      \"help\": ")?;
        string(w, help)?;
    }
    w.write_all(b",\n      \"references\": ")?;
    array(w, f.references, |w, r| string(w, r))?;
    w.write_all(b",\n      \"related\": ")?;
    array(w, &f.related, |w, r| {
        const J: &[u8] = b",\n          ";
        w.write_all(b"{\n          \"file\": ")?;
        string(w, r.file)?;
        location_fields(w, J, &r.loc)?;
        w.write_all(J)?;
        w.write_all(b"\"message\": ")?;
        string(w, r.message)?;
        w.write_all(b"\n        }")
    })?;
    for (key, value) in [
        (&b",\n      \"approximate\": "[..], f.approximate),
        (b",\n      \"uncertain\": ", f.uncertain),
        (b",\n      \"default\": ", f.default),
        (b",\n      \"waived\": ", f.waived),
    ] {
        w.write_all(key)?;
        w.write_all(if value { b"true" } else { b"false" })?;
    }
    if let Some(waiver) = f.waiver {
        w.write_all(b",\n      \"waiver\": ")?;
        string(w, waiver)?;
    }
    w.write_all(b",\n      \"fingerprint\": ")?;
    string(w, f.fingerprint)?;
    w.write_all(b"\n    }")
}

/// An array that is a field of a finding: `[]` when empty, else each element on its own line
/// indented by eight spaces and the closing bracket by six, as the pretty layout has them.
fn array<W: Write, T>(
    w: &mut W,
    items: &[T],
    mut element: impl FnMut(&mut W, &T) -> std::io::Result<()>,
) -> std::io::Result<()> {
    if items.is_empty() {
        return w.write_all(b"[]");
    }
    for (i, item) in items.iter().enumerate() {
        w.write_all(if i == 0 {
            &b"[\n        "[..]
        } else {
            &b",\n        "[..]
        })?;
        element(w, item)?;
    }
    w.write_all(b"\n      ]")
}

/// `"line"`, `"column"`, `"end_line"` and `"end_column"`, each after `sep` (a comma, a line
/// break and the fields' indentation).
fn location_fields<W: Write>(w: &mut W, sep: &[u8], loc: &Location) -> std::io::Result<()> {
    let mut buf = itoa::Buffer::new();
    for (key, value) in [
        (&b"\"line\": "[..], loc.line),
        (b"\"column\": ", loc.column),
        (b"\"end_line\": ", loc.end_line),
        (b"\"end_column\": ", loc.end_column),
    ] {
        w.write_all(sep)?;
        w.write_all(key)?;
        w.write_all(buf.format(value).as_bytes())?;
    }
    Ok(())
}

/// A JSON string: copied between quotes when nothing in it needs escaping (no quote, backslash
/// or control character: the test the JSON reader uses, eight bytes at a time), else escaped
/// by serde_json.
fn string<W: Write>(w: &mut W, s: &str) -> std::io::Result<()> {
    if crate::formats::util::json_run_end(s.as_bytes(), 0) == s.len() {
        w.write_all(b"\"")?;
        w.write_all(s.as_bytes())?;
        w.write_all(b"\"")
    } else {
        serde_json::to_writer(w, s).map_err(std::io::Error::from)
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

/// The report written as the files come: the findings file by file, each converted and written
/// at the depth it has in the report, then what needs every file (files, notices, summary,
/// shard). The root object by hand, its values by serde_json at their depth ([`value`]), except
/// the findings ([`write_finding`]).
pub struct JsonSink<'w> {
    w: std::io::BufWriter<&'w mut dyn Write>,
    first: bool,
}

impl<'w> JsonSink<'w> {
    pub fn new(w: &'w mut dyn Write) -> std::io::Result<Self> {
        let mut w = std::io::BufWriter::with_capacity(super::WRITE_BUFFER, w);
        w.write_all(b"{\n  \"tool\": ")?;
        value(
            &mut w,
            &ToolOut {
                name: "portaudit",
                version: env!("CARGO_PKG_VERSION"),
            },
        )?;
        w.write_all(b",\n  \"findings\": [")?;
        Ok(JsonSink { w, first: true })
    }
}

impl super::Sink for JsonSink<'_> {
    fn file(&mut self, v: &crate::engine::FileView<'_>) -> std::io::Result<()> {
        for f in v.findings {
            self.w.write_all(if self.first {
                &b"\n    "[..]
            } else {
                &b",\n    "[..]
            })?;
            self.first = false;
            write_finding(&mut self.w, &finding(v.store, f))?;
        }
        Ok(())
    }

    fn finish(&mut self, run: &Run) -> std::io::Result<()> {
        let w = &mut self.w;
        w.write_all(if self.first { &b"]"[..] } else { &b"\n  ]"[..] })?;
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
        w.write_all(b",\n  \"files\": ")?;
        value(w, &files)?;
        let notices: Vec<NoticeOut> = run
            .notices
            .iter()
            .map(|n| NoticeOut {
                file: &run.store.get(n.span.file).name,
                line: location(&run.store, n.span).line,
                message: &n.message,
            })
            .collect();
        w.write_all(b",\n  \"notices\": ")?;
        value(w, &notices)?;
        w.write_all(b",\n  \"summary\": ")?;
        value(w, &summary(run))?;
        if let Some(sh) = &run.shard {
            let shard = ShardOut {
                index: sh.shard.index,
                count: sh.shard.count,
                inputs: sh.total,
                files: &sh.ordinals,
                findings: sh.per_entry(&run.files, |f| f.findings),
                fail_on: run.config.fail_on.map(|s| s.as_str()),
            };
            w.write_all(b",\n  \"shard\": ")?;
            value(w, &shard)?;
        }
        w.write_all(b"\n}\n")?;
        w.flush()
    }
}

/// A value of the root object, pretty-printed at its depth.
fn value<W: Write, T: Serialize>(w: &mut W, v: &T) -> std::io::Result<()> {
    v.serialize(&mut super::pretty::serializer_at(w, 1))
        .map_err(std::io::Error::from)
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
    let by_sev: BTreeMap<&'static str, usize> = Severity::ALL
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

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(n: usize) -> Location {
        Location {
            line: n,
            column: n % 7 + 1,
            end_line: n + n % 3,
            end_column: n * 13 % 1000 + 1,
        }
    }

    /// Strings that need no escaping, and every kind that does: quotes, backslashes, control
    /// characters (named escapes and `\u00XX`), next to ASCII and non-ASCII text, around the
    /// 32-byte blocks the plain test reads.
    const TEXTS: [&str; 9] = [
        "",
        "PCI-1.2.7-UNREACHABLE",
        "access-list outside_in line 26 permits http (tcp/80) from any public address",
        "a \"quoted\" name",
        "C:\\exports\\fw.cfg",
        "tab\there, line\nbreak, bell\u{7} and \u{1f}",
        "naïve 日本語 ünïcödé, and 32 bytes then a quote: ......\"",
        "0123456789abcdef0123456789abcdef\\",
        "/tmp/fleet/cc-asa-00001.cfg",
    ];

    /// The hand-written finding is serde_json's pretty layout of [`FindingOut`] at the depth of
    /// an element of `findings`, byte for byte, with and without each optional field, with
    /// empty and filled lists, and with strings that need escaping.
    #[test]
    fn the_hand_written_finding_is_serde_json_pretty() {
        let refs: Vec<String> = TEXTS.iter().map(|s| s.to_string()).collect();
        for i in 0..TEXTS.len() * 4 {
            let t = |k: usize| TEXTS[(i + k) % TEXTS.len()];
            let related = (0..i % 3)
                .map(|k| RelatedOut {
                    file: t(k + 5),
                    loc: loc(i + k),
                    message: t(k + 6),
                })
                .collect();
            let f = FindingOut {
                rule: t(0),
                pack: t(1),
                category: t(2),
                severity: t(3),
                file: t(4),
                loc: loc(i * 31),
                message: t(5),
                help: (i % 2 == 0).then(|| t(6)),
                references: &refs[..i % 4],
                related,
                approximate: i % 2 == 1,
                uncertain: i % 3 == 1,
                default: i % 5 == 1,
                waived: i % 4 == 3,
                waiver: (i % 4 == 3).then(|| t(7)),
                fingerprint: t(8),
            };
            let mut ours = Vec::new();
            write_finding(&mut ours, &f).unwrap();
            let mut theirs = Vec::new();
            f.serialize(&mut super::super::pretty::serializer_at(&mut theirs, 2))
                .unwrap();
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                String::from_utf8(theirs).unwrap(),
                "finding {i}"
            );
        }
    }

    /// The string writer's plain path and its escaping path give serde_json's bytes.
    #[test]
    fn strings_are_serde_json_strings() {
        for s in TEXTS {
            let mut ours = Vec::new();
            string(&mut ours, s).unwrap();
            assert_eq!(ours, serde_json::to_vec(s).unwrap(), "{s:?}");
        }
        for b in 0u8..128 {
            let s = format!("{}x{}", "y".repeat(b as usize % 40), b as char);
            let mut ours = Vec::new();
            string(&mut ours, &s).unwrap();
            assert_eq!(ours, serde_json::to_vec(&s).unwrap(), "{s:?}");
        }
    }
}
