//! `--format github`: the full text report, then workflow-command annotations for GitHub Actions.
//! GitHub shows at most 10 errors and 10 warnings per step, so the annotations are of the most
//! severe findings.

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

/// The text report written as the files come, then the workflow commands: the most severe
/// findings that are not waived (the earliest first among equals), at most [`PER_LEVEL`] per
/// level. GitHub reads the commands anywhere in the log; they come last because which ones are
/// shown is known only once every file is checked, and the text is not held until then.
pub struct GithubSink<'w> {
    text: text::TextSink<'w>,
    /// The first [`PER_LEVEL`] annotations of each severity, in report order.
    first: std::collections::BTreeMap<Severity, Vec<String>>,
    /// Findings that are not waived.
    active: usize,
}

impl<'w> GithubSink<'w> {
    pub fn new(run: &Run, opts: &Options, w: &'w mut dyn std::io::Write) -> Self {
        GithubSink {
            text: text::TextSink::new(run, opts, w),
            first: Default::default(),
            active: 0,
        }
    }
}

impl super::Sink for GithubSink<'_> {
    fn file(&mut self, v: &crate::engine::FileView<'_>) -> std::io::Result<()> {
        self.text.file(v)?;
        for f in v.findings.iter().filter(|f| f.waived.is_none()) {
            self.active += 1;
            let lines = self.first.entry(f.severity).or_default();
            if lines.len() == PER_LEVEL {
                continue;
            }
            let loc = location(v.store, f.span);
            let file = &v.store.get(f.span.file).name;
            let title = format!("{} {}", f.severity.as_str(), f.rule);
            lines.push(format!(
                "::{} file={},line={},col={},endLine={},endColumn={},title={}::{}\n",
                level(f.severity),
                escape_property(file),
                loc.line,
                loc.column,
                loc.end_line,
                loc.end_column,
                escape_property(&title),
                escape_data(&f.message)
            ));
        }
        Ok(())
    }

    fn finish(&mut self, run: &Run) -> std::io::Result<()> {
        use std::io::Write as _;
        self.text.finish(run)?;
        // Most severe first, at most PER_LEVEL per level (a level spans two severities).
        let mut counts = std::collections::BTreeMap::new();
        let mut out = String::new();
        let mut shown = 0;
        for (severity, lines) in self.first.iter().rev() {
            let n = counts.entry(level(*severity)).or_insert(0usize);
            for line in lines.iter().take(PER_LEVEL - *n) {
                out.push_str(line);
                shown += 1;
            }
            *n = (*n + lines.len()).min(PER_LEVEL);
        }
        let left_out = self.active - shown;
        if left_out > 0 {
            out.push_str(&format!(
                "::notice title=portaudit::{left_out} more finding(s) are not annotated (GitHub shows 10 per level and step); see the full report above\n"
            ));
        }
        let w = &mut self.text.w;
        w.write_all(out.as_bytes())?;
        w.flush()
    }
}
