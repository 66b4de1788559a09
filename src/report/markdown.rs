//! `--format markdown`: a step summary or pull-request comment: totals, the compliance matrix,
//! the findings with their locations, and per-file results.

use std::fmt::Write;

use super::{location, matrix, Chosen};
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

/// Where a finding stands for the table: active before waived, most severe first, then its place.
type FindingKey = (bool, std::cmp::Reverse<crate::pack::Severity>, usize);
/// Where a file stands for the table: incomplete first, most failures first, then its place.
type FileKey = (bool, std::cmp::Reverse<usize>, usize);

/// The report written as the files come: the compliance matrix (five evidence locations per
/// control), the findings and the files are gathered file by file, keeping only the rows that
/// can be listed; everything is written at the end, the totals first.
pub struct MarkdownSink<'w> {
    w: &'w mut dyn std::io::Write,
    matrix: matrix::Matrix,
    findings: Chosen<FindingKey, String>,
    files: Chosen<FileKey, String>,
}

impl<'w> MarkdownSink<'w> {
    /// `run`: the packs.
    pub fn new(run: &Run, w: &'w mut dyn std::io::Write) -> Self {
        MarkdownSink {
            w,
            matrix: matrix::Matrix::new(run, Some(5)),
            findings: Chosen::new(MAX_FINDINGS),
            files: Chosen::new(MAX_FILES),
        }
    }
}

fn finding_row(v: &crate::engine::FileView<'_>, f: &crate::finding::Finding) -> String {
    let loc = location(v.store, f.span);
    let sev = if f.waived.is_some() {
        format!("{} (waived)", f.severity.as_str())
    } else {
        f.severity.as_str().to_owned()
    };
    format!(
        "| {sev} | `{}` | `{}:{}` | {} |\n",
        f.rule,
        v.store.get(f.span.file).name,
        loc.line,
        cell(&f.message)
    )
}

/// A finding's key in the table, `place` its place among the findings offered.
fn finding_key(f: &crate::finding::Finding, place: usize) -> FindingKey {
    (f.waived.is_some(), std::cmp::Reverse(f.severity), place)
}

/// A file's row and its key in the table.
fn file_row(v: &crate::engine::FileView<'_>, place: usize) -> (FileKey, String) {
    let f = v.report;
    if let Some(why) = &f.skipped {
        let row = format!("| `{}` | skipped: {} | | | | | |\n", f.name, cell(why));
        return ((!f.incomplete, std::cmp::Reverse(0), place), row);
    }
    let n = |s: Status| {
        v.results
            .iter()
            .filter(|r| r.file == f.file && r.status == s)
            .count()
    };
    let fails = n(Status::Fail);
    let row = format!(
        "| `{}` | {}{} | {} | {} | {} | {} | {} |\n",
        f.name,
        f.format.id(),
        if f.incomplete { " (incomplete)" } else { "" },
        f.rules,
        n(Status::Pass),
        fails,
        n(Status::NotEvidenced),
        n(Status::Uncertain)
    );
    ((!f.incomplete, std::cmp::Reverse(fails), place), row)
}

impl super::Sink for MarkdownSink<'_> {
    fn file(&mut self, v: &crate::engine::FileView<'_>) -> std::io::Result<()> {
        self.matrix.add(v);
        for f in v.findings {
            let key = finding_key(f, self.findings.total);
            self.findings.offer(key, || finding_row(v, f));
        }
        let (key, row) = file_row(v, self.files.total);
        self.files.offer(key, || row);
        Ok(())
    }

    fn finish(&mut self, run: &Run) -> std::io::Result<()> {
        let mut out = String::from("# portaudit report\n\n");
        let evaluated = run.files.iter().filter(|f| f.skipped.is_none()).count();
        let _ = writeln!(
            out,
            "**{}** finding(s) in {evaluated} file(s), {} waived, {} in the baseline. Packs: {}.\n",
            run.totals.active(),
            run.totals.waived,
            run.baselined,
            run.packs
                .iter()
                .map(|p| format!("`{}` {}", p.id, p.version))
                .collect::<Vec<_>>()
                .join(", ")
        );
        if run.incomplete() {
            out.push_str("> **Evaluation incomplete:** some inputs could not be fully evaluated (see input errors below).\n\n");
        }
        let rows = self.matrix.rows();
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
                    cell(&r.evidence.join(", "))
                );
            }
            out.push('\n');
        }
        let notices = notices(run);
        let files = std::mem::replace(&mut self.files, Chosen::new(0));
        let (total, files) = (files.total, files.into_sorted());
        let files = files_table(files, total);
        let budget = MAX_BYTES.saturating_sub(out.len() + notices.len() + files.len());
        let findings = std::mem::replace(&mut self.findings, Chosen::new(0));
        let (total, findings) = (findings.total, findings.into_sorted());
        out.push_str(&findings_table(findings, total, budget));
        out.push_str(&notices);
        out.push_str(&files);
        self.w.write_all(out.as_bytes())?;
        self.w.flush()
    }
}

/// The findings table within `budget` bytes, from the rows that could be listed (most important
/// first) out of `total`: when not every finding fits, the first rows that fit, in report order,
/// and a line saying how many are listed.
fn findings_table(rows: Vec<(FindingKey, String)>, total: usize, budget: usize) -> String {
    if total == 0 {
        return String::new();
    }
    const HEAD: &str =
        "## Findings\n\n| severity | rule | location | message |\n|---|---|---|---|\n";
    // Room for the closing lines, whatever the counts.
    const TAIL: usize = 400;
    let room = budget.saturating_sub(HEAD.len() + TAIL);
    let mut used = 0;
    let mut chosen: Vec<(usize, String)> = Vec::new();
    for (key, row) in rows {
        if used + row.len() > room {
            break;
        }
        used += row.len();
        chosen.push((key.2, row));
    }
    chosen.sort_unstable_by_key(|(i, _)| *i);
    let mut out = String::from(HEAD);
    for (_, r) in &chosen {
        out.push_str(r);
    }
    out.push('\n');
    if chosen.len() < total {
        let _ = writeln!(
            out,
            "_{} of {total} findings are listed, the most severe: a step summary or comment has to \
             stay small. The SARIF, JSON and text reports list all of them._\n",
            chosen.len(),
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

/// The files table from the rows that could be listed out of `total`, in input order, and a
/// line saying how many are listed when not all are.
fn files_table(mut rows: Vec<(FileKey, String)>, total: usize) -> String {
    let mut out = String::from("## Files\n\n| file | format | rules | pass | fail | not evidenced | uncertain |\n|---|---|---|---|---|---|---|\n");
    rows.sort_unstable_by_key(|(k, _)| k.2);
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

/// [`findings_table`] of a finished run with another budget and row limit.
#[cfg(test)]
fn findings(run: &Run, budget: usize, max_rows: usize) -> String {
    let mut chosen = Chosen::new(max_rows);
    let mut files = super::Replay::new(run);
    while let Some(v) = super::Files::next_file(&mut files) {
        for f in v.findings {
            chosen.offer(finding_key(f, chosen.total), || finding_row(&v, f));
        }
    }
    let total = chosen.total;
    findings_table(chosen.into_sorted(), total, budget)
}

/// [`files_table`] of a finished run with another row limit.
#[cfg(test)]
fn files(run: &Run, max_rows: usize) -> String {
    let mut chosen = Chosen::new(max_rows);
    let mut files = super::Replay::new(run);
    while let Some(v) = super::Files::next_file(&mut files) {
        let (key, row) = file_row(&v, chosen.total);
        chosen.offer(key, || row);
    }
    let total = chosen.total;
    files_table(chosen.into_sorted(), total)
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
