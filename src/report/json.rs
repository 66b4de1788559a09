//! JSON output: `{"tool", "findings", "files", "summary"}` (the contract in docs/output.md).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{json, Value};

use super::{location, Location};
use crate::checks::Status;
use crate::engine::Run;

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

pub fn render(run: &Run) -> String {
    let findings: Vec<FindingOut> = run
        .findings
        .iter()
        .map(|f| FindingOut {
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
        })
        .collect();
    let files: Vec<Value> = run
        .files
        .iter()
        .map(|f| {
            let mut v = json!({
                "path": f.name,
                "format": f.format.id(),
                "rules": f.rules,
                "unparsed": f.unparsed.len(),
                "incomplete": f.incomplete,
            });
            if let Some(s) = &f.skipped {
                v["skipped"] = json!(s);
            }
            v
        })
        .collect();
    let notices: Vec<Value> = run
        .notices
        .iter()
        .map(|n| {
            json!({
                "file": run.store.get(n.span.file).name,
                "line": location(&run.store, n.span).line,
                "message": n.message,
            })
        })
        .collect();
    let out = json!({
        "tool": { "name": "portaudit", "version": env!("CARGO_PKG_VERSION") },
        "findings": findings,
        "files": files,
        "notices": notices,
        "summary": summary(run),
    });
    let mut s = serde_json::to_string_pretty(&out).unwrap_or_default();
    s.push('\n');
    s
}

/// Counts by severity, by status per pack, and per file and pack.
pub fn summary(run: &Run) -> Value {
    let mut by_sev: BTreeMap<&str, usize> = ["critical", "high", "medium", "low", "info"]
        .iter()
        .map(|s| (*s, 0))
        .collect();
    for f in run.findings.iter().filter(|f| f.waived.is_none()) {
        *by_sev.entry(f.severity.as_str()).or_default() += 1;
    }
    let statuses = [
        Status::Pass,
        Status::Fail,
        Status::NotEvidenced,
        Status::Uncertain,
    ];
    let count = |rows: &mut dyn Iterator<Item = &crate::engine::ResultRow>| {
        let mut m: BTreeMap<&str, usize> = statuses.iter().map(|s| (s.as_str(), 0)).collect();
        for r in rows {
            *m.entry(r.status.as_str()).or_default() += 1;
        }
        m
    };
    let packs: Vec<Value> = run
        .packs
        .iter()
        .map(|p| {
            json!({
                "id": p.id,
                "version": p.version,
                "results": count(&mut run.results.iter().filter(|r| r.pack == p.id)),
            })
        })
        .collect();
    let per_file: Vec<Value> = run
        .files
        .iter()
        .filter(|f| f.skipped.is_none())
        .map(|f| {
            let packs: Vec<Value> = run
                .packs
                .iter()
                .filter(|p| run.results.iter().any(|r| r.file == f.file && r.pack == p.id))
                .map(|p| {
                    json!({
                        "pack": p.id,
                        "results": count(&mut run.results.iter().filter(|r| r.file == f.file && r.pack == p.id)),
                    })
                })
                .collect();
            json!({ "path": f.name, "packs": packs })
        })
        .collect();
    json!({
        "files": run.files.len(),
        "evaluated": run.files.iter().filter(|f| f.skipped.is_none()).count(),
        "skipped": run.files.iter().filter(|f| f.skipped.is_some()).count(),
        "incomplete": run.incomplete(),
        "findings": run.findings.iter().filter(|f| f.waived.is_none()).count(),
        "waived": run.findings.iter().filter(|f| f.waived.is_some()).count(),
        "baselined": run.baselined,
        "by_severity": by_sev,
        "packs": packs,
        "per_file": per_file,
    })
}
