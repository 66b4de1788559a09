//! `--format github`: workflow-command annotations for GitHub Actions, then the full text report.
//! GitHub shows at most 10 errors and 10 warnings per step, so the annotations are the most
//! severe first, and the text report always follows.

use super::{location, text, Options};
use crate::engine::Run;
use crate::pack::Severity;

/// Annotations GitHub shows per step and level.
const PER_LEVEL: usize = 10;

fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium | Severity::Low => "warning",
        Severity::Info => "notice",
    }
}

/// The annotations, then the text report.
pub fn render(run: &Run, opts: &Options) -> String {
    let mut out = Vec::new();
    // Writing to memory cannot fail.
    let _ = write(run, opts, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// Write the annotations, then the text report (written as it is rendered: a fleet's text report
/// is as large as its inputs or larger).
pub fn write(run: &Run, opts: &Options, w: &mut dyn std::io::Write) -> std::io::Result<()> {
    w.write_all(annotations(run).as_bytes())?;
    text::write(run, opts, w)
}

/// The workflow commands: the most severe findings, at most [`PER_LEVEL`] per level.
fn annotations(run: &Run) -> String {
    let mut active: Vec<_> = run.findings.iter().filter(|f| f.waived.is_none()).collect();
    // Most severe first; the sort is stable so file order is kept within a severity.
    active.sort_by_key(|f| std::cmp::Reverse(f.severity));
    let mut counts = std::collections::BTreeMap::new();
    let mut out = String::new();
    let mut left_out = 0;
    for f in active {
        let lvl = level(f.severity);
        let n = counts.entry(lvl).or_insert(0usize);
        if *n >= PER_LEVEL {
            left_out += 1;
            continue;
        }
        *n += 1;
        let loc = location(&run.store, f.span);
        let file = &run.store.get(f.span.file).name;
        let title = format!("{} {}", f.severity.as_str(), f.rule);
        out.push_str(&format!(
            "::{lvl} file={},line={},col={},endLine={},endColumn={},title={}::{}\n",
            escape_property(file),
            loc.line,
            loc.column,
            loc.end_line,
            loc.end_column,
            escape_property(&title),
            escape_data(&f.message)
        ));
    }
    if left_out > 0 {
        out.push_str(&format!(
            "::notice title=portaudit::{left_out} more finding(s) are not annotated (GitHub shows 10 per level and step); see the full report below\n"
        ));
    }
    out
}
