//! `--format junit`: one test suite per pack, one test case per (file, requirement) evaluated;
//! failing and not-evidenced results are failures, uncertain ones errors.

use std::fmt::Write;

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

pub fn render(run: &Run) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let total = run.results.len();
    let failed = run
        .results
        .iter()
        .filter(|r| matches!(r.status, Status::Fail | Status::NotEvidenced))
        .count();
    let errors = run
        .results
        .iter()
        .filter(|r| r.status == Status::Uncertain)
        .count();
    let _ = writeln!(
        out,
        "<testsuites name=\"portaudit\" tests=\"{total}\" failures=\"{failed}\" errors=\"{errors}\">"
    );
    let by_rule = super::matrix::findings_by_rule(run);
    for pack in &run.packs {
        let rows: Vec<_> = run.results.iter().filter(|r| r.pack == pack.id).collect();
        let f = rows
            .iter()
            .filter(|r| matches!(r.status, Status::Fail | Status::NotEvidenced))
            .count();
        let e = rows
            .iter()
            .filter(|r| r.status == Status::Uncertain)
            .count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{f}\" errors=\"{e}\">",
            xml(&pack.id),
            rows.len()
        );
        for r in rows {
            let file = &run.store.get(r.file).name;
            let _ = write!(
                out,
                "    <testcase classname=\"{}\" name=\"{}\"",
                xml(file),
                xml(&r.requirement)
            );
            let findings: Vec<_> = by_rule
                .get(&(r.file, r.requirement.as_str()))
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .filter(|f| f.waived.is_none())
                .collect();
            let tag = match r.status {
                Status::Fail | Status::NotEvidenced => "failure",
                Status::Uncertain => "error",
                _ => "",
            };
            if tag.is_empty() || findings.is_empty() {
                out.push_str("/>\n");
                continue;
            }
            let body: Vec<String> = findings
                .iter()
                .map(|f| {
                    let loc = super::location(&run.store, f.span);
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
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}
