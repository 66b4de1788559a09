//! `--format markdown`: a step summary or pull-request comment: totals, the compliance matrix,
//! the findings with their locations, and per-file results.

use std::fmt::Write;

use super::{location, matrix};
use crate::checks::Status;
use crate::engine::Run;

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

pub fn render(run: &Run) -> String {
    let mut out = String::from("# portaudit report\n\n");
    let active: Vec<_> = run.findings.iter().filter(|f| f.waived.is_none()).collect();
    let waived = run.findings.len() - active.len();
    let evaluated = run.files.iter().filter(|f| f.skipped.is_none()).count();
    let _ = writeln!(
        out,
        "**{}** finding(s) in {evaluated} file(s), {waived} waived, {} in the baseline. Packs: {}.\n",
        active.len(),
        run.baselined,
        run.packs.iter().map(|p| format!("`{}` {}", p.id, p.version)).collect::<Vec<_>>().join(", ")
    );
    if run.incomplete() {
        out.push_str("> **Evaluation incomplete:** some inputs could not be fully evaluated (see input errors below).\n\n");
    }
    let rows = matrix::build(run);
    if !rows.is_empty() {
        out.push_str("## Compliance matrix\n\n| framework | control | status | requirements | evidence |\n|---|---|---|---|---|\n");
        for r in &rows {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                cell(&r.framework),
                cell(&r.control),
                r.status.as_str(),
                cell(&r.requirements.join(", ")),
                cell(
                    &r.evidence
                        .iter()
                        .take(5)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            );
        }
        out.push('\n');
    }
    if !run.findings.is_empty() {
        out.push_str(
            "## Findings\n\n| severity | rule | location | message |\n|---|---|---|---|\n",
        );
        for f in &run.findings {
            let loc = location(&run.store, f.span);
            let sev = if f.waived.is_some() {
                format!("{} (waived)", f.severity.as_str())
            } else {
                f.severity.as_str().to_owned()
            };
            let _ = writeln!(
                out,
                "| {sev} | `{}` | `{}:{}` | {} |",
                f.rule,
                run.store.get(f.span.file).name,
                loc.line,
                cell(&f.message)
            );
        }
        out.push('\n');
    }
    if !run.notices.is_empty() {
        out.push_str("## Configuration notices\n\n");
        for n in &run.notices {
            let _ = writeln!(
                out,
                "- `{}:{}`: {}",
                run.store.get(n.span.file).name,
                location(&run.store, n.span).line,
                n.message
            );
        }
        out.push('\n');
    }
    out.push_str("## Files\n\n| file | format | rules | pass | fail | not evidenced | uncertain |\n|---|---|---|---|---|---|---|\n");
    let by_file = super::json::rows_by_file(run);
    for f in &run.files {
        if let Some(why) = &f.skipped {
            let _ = writeln!(out, "| `{}` | skipped: {} | | | | | |", f.name, cell(why));
            continue;
        }
        let rows = by_file.get(&f.file).map(Vec::as_slice).unwrap_or_default();
        let n = |s: Status| rows.iter().filter(|r| r.status == s).count();
        let _ = writeln!(
            out,
            "| `{}` | {}{} | {} | {} | {} | {} | {} |",
            f.name,
            f.format.id(),
            if f.incomplete { " (incomplete)" } else { "" },
            f.rules,
            n(Status::Pass),
            n(Status::Fail),
            n(Status::NotEvidenced),
            n(Status::Uncertain)
        );
    }
    out
}
