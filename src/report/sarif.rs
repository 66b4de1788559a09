//! SARIF 2.1.0 for GitHub code scanning: relative URIs, regions, one rule per requirement with
//! help and security-severity, stable `primaryLocationLineHash` fingerprints. Waived findings are
//! left out (GitHub shows suppressed results as open alerts).

use std::collections::BTreeMap;
use std::io::Write;

use serde::Serialize;
use serde_json::{json, Value};

use super::location;
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
    /// The shard's limit on results (0: none), and the results it found before the limit.
    max_results: usize,
    found: usize,
}

#[derive(Serialize)]
struct RunProps<'a> {
    #[serde(rename = "portaudit-shard")]
    shard: ShardOut<'a>,
}

/// GitHub code scanning stores at most this many results of an analysis ("Analysis SARIF file
/// exceeded alert limits ... Only 5000 were stored"; it rejects a run of more than 25,000 whole),
/// so a log for it chooses its own 5,000: the most severe.
pub const GITHUB_MAX_RESULTS: usize = 5_000;

/// Where a result stands for a log with a limit: most severe first, then its place in report order.
type ResultKey = (std::cmp::Reverse<Severity>, usize);

/// One result as an element of `runs[0].results`, pretty-printed in place.
fn write_result<W: Write>(
    w: &mut W,
    store: &FileStore,
    f: &Finding,
    ids: &BTreeMap<String, usize>,
) -> std::io::Result<()> {
    let index = ids.get(f.rule.as_str()).copied().unwrap_or(0);
    result(store, f, index)
        .serialize(&mut super::pretty::serializer_at(w, 4))
        .map_err(std::io::Error::from)
}

/// What a log with a limit left out: the results found and the least severe kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeftOut {
    pub found: usize,
    pub kept: usize,
    pub least: Severity,
}

impl LeftOut {
    /// What a log of a run with these totals leaves out under the limit `max_results` (0: none).
    pub fn of(totals: &crate::engine::Totals, max_results: usize) -> Option<LeftOut> {
        let found = totals.active();
        if max_results == 0 || found <= max_results {
            return None;
        }
        let mut kept = 0;
        let least = Severity::ALL
            .iter()
            .rev()
            .copied()
            .find(|s| {
                kept += totals.active_at(*s);
                kept >= max_results
            })
            .unwrap_or(Severity::Info);
        Some(LeftOut {
            found,
            kept: max_results,
            least,
        })
    }

    /// The notice written in the log's `invocations` (also by `portaudit merge`).
    pub fn message(&self) -> String {
        let (kept, found, least) = (self.kept, self.found, self.least.as_str());
        if kept == GITHUB_MAX_RESULTS {
            format!(
                "This log holds the {kept} most severe of {found} results (the least severe kept: \
                 {least}): GitHub code scanning stores at most {kept} results of a run. The JSON \
                 and text reports list all of them; --sarif-max-results changes the limit (0: none)."
            )
        } else {
            format!(
                "This log holds the {kept} most severe of {found} results (the least severe kept: \
                 {least}), the limit set with --sarif-max-results. The JSON and text reports list \
                 all of them."
            )
        }
    }

    /// `invocations`, a value of the run object.
    pub fn invocations(&self, complete: bool) -> Value {
        json!([{
            "executionSuccessful": complete,
            "toolExecutionNotifications": [{
                "descriptor": { "id": "results-left-out" },
                "level": "warning",
                "message": { "text": self.message() },
            }],
        }])
    }
}

/// The log written as the files come. With a limit (`max_results` > 0, [`GITHUB_MAX_RESULTS`]
/// for code scanning) the log keeps the most severe results, the earliest first among equals, in
/// report order, and says in `invocations` how many it left out; the results are held until the
/// end (at most `max_results` of them). Without a limit, they are written as they come. The log
/// by hand, its values by serde at their depth: `$schema`, `version`, then the one run (its
/// values are three levels deep, its results four).
pub struct SarifSink<'w> {
    w: std::io::BufWriter<&'w mut dyn Write>,
    ids: BTreeMap<String, usize>,
    max_results: usize,
    first: bool,
    /// With a limit: the results kept so far, by (severity, most severe first; place in report
    /// order), with the file each is in (among the run's files) and its bytes.
    held: super::Chosen<ResultKey, (usize, Box<[u8]>)>,
    /// Results so far (not waived), and files so far.
    found: usize,
    files: usize,
}

impl<'w> SarifSink<'w> {
    /// `run`: the packs (for the rules).
    pub fn new(run: &Run, max_results: usize, w: &'w mut dyn Write) -> std::io::Result<Self> {
        let mut rules: Vec<Value> = vec![input_error_rule()];
        let mut ids: BTreeMap<String, usize> = BTreeMap::new();
        ids.insert(INPUT_ERROR.to_owned(), 0);
        for p in &run.packs {
            for r in &p.requirements {
                ids.entry(r.id.clone()).or_insert(rules.len());
                rules.push(rule(r));
            }
        }
        let mut w = std::io::BufWriter::with_capacity(super::WRITE_BUFFER, w);
        w.write_all(
            b"{\n  \"$schema\": \"https://json.schemastore.org/sarif-2.1.0.json\",\n  \"version\": \"2.1.0\",\n  \"runs\": [\n    {\n      \"tool\": ",
        )?;
        Tool {
            driver: Driver {
                name: "portaudit",
                version: env!("CARGO_PKG_VERSION"),
                semantic_version: env!("CARGO_PKG_VERSION"),
                information_uri: INFO_URI,
                rules: &rules,
            },
        }
        .serialize(&mut super::pretty::serializer_at(&mut w, 3))?;
        w.write_all(b",\n      \"columnKind\": \"unicodeCodePoints\",\n      \"results\": [")?;
        Ok(SarifSink {
            w,
            ids,
            max_results,
            first: true,
            held: super::Chosen::new(max_results),
            found: 0,
            files: 0,
        })
    }

    fn separator(&mut self) -> std::io::Result<()> {
        let s: &[u8] = if self.first {
            b"\n        "
        } else {
            b",\n        "
        };
        self.first = false;
        self.w.write_all(s)
    }
}

impl super::Sink for SarifSink<'_> {
    fn file(&mut self, v: &crate::engine::FileView<'_>) -> std::io::Result<()> {
        for f in v.findings.iter().filter(|f| f.waived.is_none()) {
            self.found += 1;
            if self.max_results == 0 {
                self.separator()?;
                write_result(&mut self.w, v.store, f, &self.ids)?;
                continue;
            }
            let (store, ids, file) = (v.store, &self.ids, self.files);
            self.held
                .try_offer((std::cmp::Reverse(f.severity), self.found), || {
                    let mut bytes = Vec::new();
                    write_result(&mut bytes, store, f, ids)?;
                    Ok::<_, std::io::Error>((file, bytes.into_boxed_slice()))
                })?;
        }
        self.files += 1;
        Ok(())
    }

    fn finish(&mut self, run: &Run) -> std::io::Result<()> {
        let mut held = std::mem::replace(&mut self.held, super::Chosen::new(0)).into_sorted();
        // The least severe kept, before the results go back to report order.
        let least = held.last().map_or(Severity::Info, |((s, _), _)| s.0);
        held.sort_unstable_by_key(|((_, seq), _)| *seq);
        for (_, (_, bytes)) in &held {
            self.separator()?;
            self.w.write_all(bytes)?;
        }
        let (found, max_results) = (self.found, self.max_results);
        let w = &mut self.w;
        w.write_all(if self.first { b"]" } else { b"\n      ]" })?;
        let left_out = (max_results > 0 && found > held.len()).then_some(LeftOut {
            found,
            kept: held.len(),
            least,
        });
        if let Some(l) = left_out {
            w.write_all(b",\n      \"invocations\": ")?;
            l.invocations(!run.incomplete())
                .serialize(&mut super::pretty::serializer_at(&mut *w, 3))?;
        }
        if let Some(sh) = &run.shard {
            let results = if max_results == 0 {
                sh.per_entry(&run.files, |f| f.active)
            } else {
                held.iter()
                    .map(|(_, (file, _))| sh.ordinals[*file])
                    .collect()
            };
            let props = RunProps {
                shard: ShardOut {
                    index: sh.shard.index,
                    count: sh.shard.count,
                    inputs: sh.total,
                    files: &sh.ordinals,
                    results,
                    incomplete: run.incomplete(),
                    fail_on: run.config.fail_on.map(|s| s.as_str()),
                    max_results,
                    found,
                },
            };
            w.write_all(b",\n      \"properties\": ")?;
            props.serialize(&mut super::pretty::serializer_at(&mut *w, 3))?;
        }
        w.write_all(b"\n    }\n  ]\n}\n")?;
        w.flush()
    }
}
