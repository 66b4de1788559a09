//! `--format markdown`: a step summary or pull-request comment: totals, the compliance matrix,
//! the findings with their locations, and per-file results.

use std::fmt::Write;

use super::{location, matrix};
use crate::checks::Status;
use crate::engine::Run;

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// GitHub drops a step summary of more than 1 MiB whole ("$GITHUB_STEP_SUMMARY upload aborted"),
/// and a fleet's list of findings is far larger (20 MB for the 600-device benchmark fleet): the
/// report stays under this many bytes.
pub const MAX_BYTES: usize = 1_000_000;
/// Rows of the findings table at most (the most severe; the other reports list all of them).
pub const MAX_FINDINGS: usize = 1_000;
/// Rows of the files table at most (incomplete files, then those with the most failures).
pub const MAX_FILES: usize = 1_000;

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
    let notices = notices(run);
    let files = files(run, MAX_FILES);
    let budget = MAX_BYTES.saturating_sub(out.len() + notices.len() + files.len());
    out.push_str(&findings(run, budget, MAX_FINDINGS));
    out.push_str(&notices);
    out.push_str(&files);
    out
}

/// The findings table within `budget` bytes and `max_rows` rows ([`MAX_FINDINGS`]): when not every finding
/// fits, the most severe (active before waived, the earliest first among equals), in report
/// order, and a line saying how many are listed.
fn findings(run: &Run, budget: usize, max_rows: usize) -> String {
    if run.findings.is_empty() {
        return String::new();
    }
    const HEAD: &str =
        "## Findings\n\n| severity | rule | location | message |\n|---|---|---|---|\n";
    // Room for the closing lines, whatever the counts.
    const TAIL: usize = 400;
    let row = |f: &crate::finding::Finding| {
        let loc = location(&run.store, f.span);
        let sev = if f.waived.is_some() {
            format!("{} (waived)", f.severity.as_str())
        } else {
            f.severity.as_str().to_owned()
        };
        format!(
            "| {sev} | `{}` | `{}:{}` | {} |\n",
            f.rule,
            run.store.get(f.span.file).name,
            loc.line,
            cell(&f.message)
        )
    };
    let mut order: Vec<usize> = (0..run.findings.len()).collect();
    order.sort_by_key(|&i| {
        let f = &run.findings[i];
        (f.waived.is_some(), std::cmp::Reverse(f.severity), i)
    });
    let room = budget.saturating_sub(HEAD.len() + TAIL);
    let mut used = 0;
    let mut chosen: Vec<(usize, String)> = Vec::new();
    for i in order {
        if chosen.len() == max_rows {
            break;
        }
        let r = row(&run.findings[i]);
        if used + r.len() > room {
            break;
        }
        used += r.len();
        chosen.push((i, r));
    }
    chosen.sort_unstable_by_key(|(i, _)| *i);
    let mut out = String::from(HEAD);
    for (_, r) in &chosen {
        out.push_str(r);
    }
    out.push('\n');
    if chosen.len() < run.findings.len() {
        let _ = writeln!(
            out,
            "_{} of {} findings are listed, the most severe: a step summary or comment has to stay \
             small. The SARIF, JSON and text reports list all of them._\n",
            chosen.len(),
            run.findings.len()
        );
    }
    out
}

fn notices(run: &Run) -> String {
    let mut out = String::new();
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
    out
}

/// The files table, at most `max_rows` rows ([`MAX_FILES`]): when there are more files, the incomplete ones,
/// then those with the most failing requirements (the earliest first among equals), in input
/// order, and a line saying how many are listed.
fn files(run: &Run, max_rows: usize) -> String {
    let mut out = String::from("## Files\n\n| file | format | rules | pass | fail | not evidenced | uncertain |\n|---|---|---|---|---|---|---|\n");
    let by_file = super::json::rows_by_file(run);
    // (priority: complete files after incomplete ones, more failures first, input order; row).
    type Keyed = ((bool, std::cmp::Reverse<usize>, usize), String);
    let mut rows: Vec<Keyed> = Vec::new();
    for (i, f) in run.files.iter().enumerate() {
        if let Some(why) = &f.skipped {
            let row = format!("| `{}` | skipped: {} | | | | | |\n", f.name, cell(why));
            rows.push(((!f.incomplete, std::cmp::Reverse(0), i), row));
            continue;
        }
        let results = by_file.get(&f.file).map(Vec::as_slice).unwrap_or_default();
        let n = |s: Status| results.iter().filter(|r| r.status == s).count();
        let row = format!(
            "| `{}` | {}{} | {} | {} | {} | {} | {} |\n",
            f.name,
            f.format.id(),
            if f.incomplete { " (incomplete)" } else { "" },
            f.rules,
            n(Status::Pass),
            n(Status::Fail),
            n(Status::NotEvidenced),
            n(Status::Uncertain)
        );
        rows.push(((!f.incomplete, std::cmp::Reverse(n(Status::Fail)), i), row));
    }
    let total = rows.len();
    if total > max_rows {
        rows.sort_unstable_by_key(|(k, _)| *k);
        rows.truncate(max_rows);
        rows.sort_unstable_by_key(|(k, _)| k.2);
    }
    for (_, row) in &rows {
        out.push_str(row);
    }
    if rows.len() < total {
        let _ = writeln!(
            out,
            "\n_{} of {total} files are listed: the incomplete ones, then those with the most \
             failing requirements. The JSON report lists all of them._",
            rows.len()
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pack::Severity;

    /// The fixtures and the test data (which has an incomplete file).
    fn fixtures() -> Run {
        let opts = crate::engine::Options {
            inputs: vec!["fixtures".into(), "tests/data".into()],
            no_config: true,
            ..Default::default()
        };
        crate::engine::run(&opts).unwrap_or_else(|_| panic!("setup"))
    }

    /// `(severity, rule, location)` of each row of a findings table.
    fn listed(table: &str) -> Vec<(String, String, String)> {
        table
            .lines()
            .skip(4)
            .filter(|l| l.starts_with("| "))
            .map(|l| {
                let c: Vec<&str> = l.split(" | ").collect();
                (
                    c[0].trim_start_matches("| ").to_owned(),
                    c[1].trim_matches('`').to_owned(),
                    c[2].trim_matches('`').to_owned(),
                )
            })
            .collect()
    }

    /// Under a row limit or a byte budget, the findings listed are the most severe (the earliest
    /// first among equals), in report order, within the budget, and a line counts them.
    #[test]
    fn the_findings_table_keeps_the_most_severe_within_its_budget() {
        let run = fixtures();
        let all = listed(&findings(&run, usize::MAX, usize::MAX));
        assert_eq!(all.len(), run.findings.len());
        let rank = |s: &str| {
            let s = s.trim_end_matches(" (waived)");
            (Severity::parse(s).unwrap(), s.len())
        };
        let severities: std::collections::BTreeSet<_> = all.iter().map(|r| rank(&r.0).0).collect();
        assert!(severities.len() >= 3, "{severities:?}");
        for (budget, rows) in [(usize::MAX, 7), (usize::MAX, 600), (30_000, usize::MAX)] {
            let table = findings(&run, budget, rows);
            assert!(table.len() <= budget, "{budget}: {}", table.len());
            let got = listed(&table);
            assert!(!got.is_empty() && got.len() < all.len() && got.len() <= rows);
            let mut order: Vec<usize> = (0..all.len()).collect();
            order.sort_by_key(|&i| {
                let f = &run.findings[i];
                (f.waived.is_some(), std::cmp::Reverse(f.severity), i)
            });
            let mut expected: Vec<usize> = order[..got.len()].to_vec();
            expected.sort_unstable();
            let expected: Vec<_> = expected.iter().map(|&i| all[i].clone()).collect();
            assert_eq!(got, expected, "budget {budget}, rows {rows}");
            assert!(table.ends_with(&format!(
                "_{} of {} findings are listed, the most severe: a step summary or comment has to \
                 stay small. The SARIF, JSON and text reports list all of them._\n\n",
                got.len(),
                all.len()
            )));
        }
        // Everything fits: no line.
        assert!(!findings(&run, usize::MAX, usize::MAX).contains("are listed"));
    }

    /// Over the row limit, the files listed are the incomplete ones, then those with the most
    /// failing requirements, in input order.
    #[test]
    fn the_files_table_keeps_incomplete_and_failing_files() {
        let run = fixtures();
        let whole = files(&run, usize::MAX);
        let rows: Vec<&str> = whole.lines().skip(4).collect();
        assert_eq!(rows.len(), run.files.len());
        let fail = |row: &str| -> usize {
            row.split(" | ")
                .nth(4)
                .and_then(|c| c.parse().ok())
                .unwrap_or(0)
        };
        assert!(rows.iter().any(|r| r.contains("(incomplete)")));
        let limit = run.files.len() / 3;
        let part = files(&run, limit);
        let got: Vec<&str> = part.lines().skip(4).take(limit).collect();
        let mut order: Vec<usize> = (0..rows.len()).collect();
        order.sort_by_key(|&i| {
            (
                !rows[i].contains("(incomplete)"),
                std::cmp::Reverse(fail(rows[i])),
                i,
            )
        });
        let mut expected: Vec<usize> = order[..limit].to_vec();
        expected.sort_unstable();
        let expected: Vec<&str> = expected.iter().map(|&i| rows[i]).collect();
        assert_eq!(got, expected);
        assert!(part.ends_with(&format!(
            "\n_{limit} of {} files are listed: the incomplete ones, then those with the most \
             failing requirements. The JSON report lists all of them._\n",
            rows.len()
        )));
    }
}
