//! SARIF 2.1.0 for GitHub code scanning: relative URIs, regions, one rule per requirement with
//! help and security-severity, stable `primaryLocationLineHash` fingerprints. Waived findings are
//! left out (GitHub shows suppressed results as open alerts).

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

pub fn render(run: &Run) -> String {
    let mut rules: Vec<Value> = vec![input_error_rule()];
    let mut ids: Vec<String> = vec![INPUT_ERROR.to_owned()];
    for p in &run.packs {
        for r in &p.requirements {
            ids.push(r.id.clone());
            rules.push(rule(r));
        }
    }
    let results: Vec<Value> = run
        .findings
        .iter()
                .filter(|f| f.waived.is_none())
        .map(|f| {
            let idx = ids.iter().position(|i| *i == f.rule).unwrap_or(0);
            let loc = location(&run.store, f.span);
            let file = run.store.get(f.span.file);
            let related: Vec<Value> = f
                .related
                .iter()
                .take(1000)
                .enumerate()
                .map(|(i, r)| {
                    let l = location(&run.store, r.span);
                    json!({
                        "id": i + 1,
                        "physicalLocation": {
                            "artifactLocation": { "uri": uri(&run.store.get(r.span.file).name) },
                            "region": { "startLine": l.line, "startColumn": l.column, "endLine": l.end_line, "endColumn": l.end_column }
                        },
                        "message": { "text": r.message }
                    })
                })
                .collect();
            let mut message = f.message.clone();
            if let Some(h) = &f.help {
                message.push_str(&format!("\nRemediation: {h}"));
            }
            let mut v = json!({
                "ruleId": f.rule,
                "ruleIndex": idx,
                "level": level(f.severity),
                "message": { "text": message },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": uri(&file.name) },
                        "region": { "startLine": loc.line, "startColumn": loc.column, "endLine": loc.end_line, "endColumn": loc.end_column }
                    }
                }],
                "partialFingerprints": { "primaryLocationLineHash": f.fingerprint },
                "properties": {
                    "pack": f.pack,
                    "category": f.category.as_str(),
                    "severity": f.severity.as_str(),
                    "approximate": f.approximate,
                    "uncertain": f.uncertain,
                    "default": f.from_default,
                }
            });
            if !related.is_empty() {
                v["relatedLocations"] = Value::Array(related);
            }
            v
        })
        .collect();
    let out = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "portaudit",
                    "version": env!("CARGO_PKG_VERSION"),
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "informationUri": INFO_URI,
                    "rules": rules,
                }
            },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    });
    let mut s = serde_json::to_string_pretty(&out).unwrap_or_default();
    s.push('\n');
    s
}
