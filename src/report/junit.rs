//! `--format junit`: one test suite per pack, one test case per (file, requirement) evaluated;
//! failing and not-evidenced results are failures, uncertain ones errors.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;

use super::Spool;
use crate::checks::Status;
use crate::engine::Run;

fn xml(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') => {}
            c => o.push(c),
        }
    }
    o
}

/// One pack's test suite: its counts so far and its test cases, spooled.
struct Suite {
    id: String,
    tests: usize,
    failures: usize,
    errors: usize,
    cases: Spool,
}

/// The report written as the files come: each result is a test case of its pack's suite, and
/// the suites are written at the end, since their counts (and those of the whole report) come
/// before their cases. Each suite's cases go to a [`Spool`].
pub struct JunitSink<'w> {
    w: &'w mut dyn std::io::Write,
    suites: Vec<Suite>,
}

impl<'w> JunitSink<'w> {
    /// `run`: the packs.
    pub fn new(run: &Run, w: &'w mut dyn std::io::Write) -> Self {
        let suites = run
            .packs
            .iter()
            .map(|p| Suite {
                id: p.id.clone(),
                tests: 0,
                failures: 0,
                errors: 0,
                cases: Spool::with_memory(Spool::MEMORY / 4),
            })
            .collect();
        JunitSink { w, suites }
    }
}

impl super::Sink for JunitSink<'_> {
    fn file(&mut self, v: &crate::engine::FileView<'_>) -> std::io::Result<()> {
        let mut by_rule: BTreeMap<(crate::source::FileId, &str), Vec<&crate::finding::Finding>> =
            BTreeMap::new();
        for f in v.findings.iter().filter(|f| f.waived.is_none()) {
            by_rule
                .entry((f.span.file, f.rule.as_str()))
                .or_default()
                .push(f);
        }
        let mut out = String::new();
        for r in v.results {
            // A result of a pack not in the run has no suite (as when the run is held).
            let Some(suite) = self.suites.iter_mut().find(|s| s.id == r.pack) else {
                continue;
            };
            suite.tests += 1;
            let tag = match r.status {
                Status::Fail | Status::NotEvidenced => {
                    suite.failures += 1;
                    "failure"
                }
                Status::Uncertain => {
                    suite.errors += 1;
                    "error"
                }
                _ => "",
            };
            let file = &v.store.get(r.file).name;
            out.clear();
            let _ = write!(
                out,
                "    <testcase classname=\"{}\" name=\"{}\"",
                xml(file),
                xml(&r.requirement)
            );
            let findings: &[&crate::finding::Finding] = by_rule
                .get(&(r.file, r.requirement.as_str()))
                .map(Vec::as_slice)
                .unwrap_or_default();
            if tag.is_empty() || findings.is_empty() {
                out.push_str("/>\n");
            } else {
                let body: Vec<String> = findings
                    .iter()
                    .map(|f| {
                        let loc = super::location(v.store, f.span);
                        format!("{file}:{}:{}: {}", loc.line, loc.column, f.message)
                    })
                    .collect();
                let _ = writeln!(
                    out,
                    ">\n      <{tag} message=\"{}\" type=\"{}\">{}</{tag}>\n    </testcase>",
                    xml(&findings[0].message),
                    r.status.as_str(),
                    xml(&body.join("\n"))
                );
            }
            suite.cases.write_all(out.as_bytes())?;
        }
        Ok(())
    }

    fn finish(&mut self, _run: &Run) -> std::io::Result<()> {
        let total: usize = self.suites.iter().map(|s| s.tests).sum();
        let failed: usize = self.suites.iter().map(|s| s.failures).sum();
        let errors: usize = self.suites.iter().map(|s| s.errors).sum();
        writeln!(
            self.w,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"portaudit\" tests=\"{total}\" failures=\"{failed}\" errors=\"{errors}\">"
        )?;
        for s in &mut self.suites {
            writeln!(
                self.w,
                "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\">",
                xml(&s.id),
                s.tests,
                s.failures,
                s.errors
            )?;
            s.cases.copy_to(&mut *self.w)?;
            self.w.write_all(b"  </testsuite>\n")?;
        }
        self.w.write_all(b"</testsuites>\n")?;
        self.w.flush()
    }
}
