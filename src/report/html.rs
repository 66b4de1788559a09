//! `--format html`: one self-contained file for auditors (no network, no external assets): the
//! compliance matrix per framework, per-device summaries, a severity chart (inline SVG), every
//! finding with its redacted snippet, and the tool and pack versions.

use std::fmt::Write;

use std::io::Write as _;

use super::{effective_span, location, matrix, Spool};
use crate::checks::Status;
use crate::engine::Run;
use crate::pack::Severity;

/// Evidence locations listed per control; a fleet puts thousands under one (8,872 for PCI DSS
/// 1.2.7 on 72 devices), which the findings below list one by one anyway.
const EVIDENCE: usize = 20;

/// A control's evidence: the first [`EVIDENCE`] locations of `total`, then how many more.
fn evidence(first: &[String], total: usize) -> String {
    let mut out = first[..first.len().min(EVIDENCE)].join(", ");
    if total > EVIDENCE {
        out.push_str(&format!(
            " and {} more (see the findings)",
            total - EVIDENCE
        ));
    }
    out
}

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#1b1f24;padding:0 1em}\
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #d0d7de}table{border-collapse:collapse;width:100%;margin:.5em 0}\
th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}th{background:#f6f8fa}\
.fail{background:#ffebe9}.pass{background:#dafbe1}.not-evidenced,.uncertain{background:#fff8c5}.waived{background:#eaeef2}\
.finding{border:1px solid #d0d7de;border-radius:6px;margin:1em 0;padding:.5em 1em}\
.sev{font-weight:bold;text-transform:uppercase;font-size:.8em;padding:1px 6px;border-radius:4px;color:#fff}\
.critical{background:#82071e}.high{background:#cf222e}.medium{background:#bc4c00}.low{background:#9a6700}.info{background:#0969da}\
pre{background:#f6f8fa;padding:.5em;overflow-x:auto;font-size:12px}mark{background:#ffd8b5}code{font-size:.95em}.muted{color:#57606a}";

fn snippet(
    store: &crate::source::FileStore,
    text: &crate::source::Redacted,
    span: crate::source::Span,
) -> String {
    let file = store.get(span.file);
    let span = effective_span(store, span);
    let first = file.line_col(span.start).line;
    let last = file
        .line_col(span.end.saturating_sub(1).max(span.start))
        .line;
    let from = first.saturating_sub(2).max(1);
    let to = (last + 2).min(file.line_count());
    let mut out = String::new();
    for line in from..=to {
        let r = file.line_range(line);
        let (a, b) = (r.start, r.end);
        let s = span.start.clamp(a, b);
        let e = span.end.clamp(a, b);
        let get = |x: usize, y: usize| text.get(x..y);
        let _ = writeln!(
            out,
            "{line:>5} | {}<mark>{}</mark>{}",
            esc(get(a, s)),
            esc(get(s, e)),
            esc(get(e, b))
        );
    }
    out
}

fn chart(run: &Run) -> String {
    // Most severe first, as the colours.
    let sevs: Vec<Severity> = Severity::ALL.into_iter().rev().collect();
    let colors = ["#82071e", "#cf222e", "#bc4c00", "#9a6700", "#0969da"];
    let counts: Vec<usize> = sevs.iter().map(|s| run.totals.active_at(*s)).collect();
    let max = counts.iter().copied().max().unwrap_or(0).max(1);
    let mut svg = String::from(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"420\" height=\"150\" role=\"img\" aria-label=\"findings by severity\">",
    );
    for (i, (s, n)) in sevs.iter().zip(&counts).enumerate() {
        let y = 10 + i * 27;
        let w = 260 * n / max;
        let _ = write!(
            svg,
            "<text x=\"0\" y=\"{}\" font-size=\"13\">{}</text><rect x=\"80\" y=\"{y}\" width=\"{w}\" height=\"20\" fill=\"{}\"/><text x=\"{}\" y=\"{}\" font-size=\"13\">{n}</text>",
            y + 15,
            s.as_str(),
            colors[i],
            86 + w,
            y + 15
        );
    }
    svg.push_str("</svg>");
    svg
}

/// The report written as the files come. Its head (totals, chart, matrix, files) needs every
/// file, and its findings, each with its snippet, grow with the fleet (336 MB for the 600-device
/// benchmark fleet): the matrix keeps [`EVIDENCE`] locations per control, the files table a row
/// per file, and the findings go to a [`Spool`] copied out after the head.
pub struct HtmlSink<'w> {
    w: &'w mut dyn std::io::Write,
    matrix: matrix::Matrix,
    files: String,
    findings: Spool,
}

impl<'w> HtmlSink<'w> {
    /// `run`: the packs.
    pub fn new(run: &Run, w: &'w mut dyn std::io::Write) -> Self {
        HtmlSink {
            w,
            matrix: matrix::Matrix::new(run, Some(EVIDENCE)),
            files: String::new(),
            findings: Spool::new(),
        }
    }
}

/// A file's row of the files table.
fn file_row(out: &mut String, v: &crate::engine::FileView<'_>) {
    let f = v.report;
    if let Some(why) = &f.skipped {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td colspan=\"6\" class=\"muted\">skipped: {}</td></tr>",
            esc(&f.name),
            esc(why)
        );
        return;
    }
    let n = |s: Status| {
        v.results
            .iter()
            .filter(|r| r.file == f.file && r.status == s)
            .count()
    };
    let _ = writeln!(
        out,
        "<tr><td>{}</td><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        esc(&f.name),
        f.format.id(),
        if f.incomplete { " (incomplete)" } else { "" },
        f.rules,
        n(Status::Pass),
        n(Status::Fail),
        n(Status::NotEvidenced),
        n(Status::Uncertain)
    );
}

/// A finding's card: severity, rule, place, message, redacted snippet, related places, waiver,
/// remediation and references.
fn finding(
    o: &mut String,
    store: &crate::source::FileStore,
    text: &crate::source::Redacted,
    f: &crate::finding::Finding,
) {
    let loc = location(store, f.span);
    let name = &store.get(f.span.file).name;
    let _ = writeln!(
        o,
        "<div class=\"finding\"><p><span class=\"sev {sev}\">{sev}</span> <code>{}</code> <code>{}:{}:{}</code>{}</p><p>{}</p><pre>{}</pre>",
        esc(&f.rule),
        esc(name),
        loc.line,
        loc.column,
        if f.waived.is_some() { " <em>(waived)</em>" } else { "" },
        esc(&f.message),
        snippet(store, text, f.span),
        sev = f.severity.as_str()
    );
    for r in &f.related {
        let l = location(store, r.span);
        let _ = writeln!(
            o,
            "<p class=\"muted\">{}:{}: {}</p>",
            esc(&store.get(r.span.file).name),
            l.line,
            esc(&r.message)
        );
    }
    if let Some(w) = &f.waived {
        let _ = writeln!(o, "<p class=\"muted\">Waived: {}</p>", esc(w));
    }
    if let Some(h) = &f.help {
        let _ = writeln!(o, "<p><strong>Remediation:</strong> {}</p>", esc(h));
    }
    if !f.references.is_empty() {
        let _ = writeln!(
            o,
            "<p class=\"muted\">References: {}</p>",
            esc(&f.references.join("; "))
        );
    }
    o.push_str("</div>\n");
}

impl super::Sink for HtmlSink<'_> {
    fn file(&mut self, v: &crate::engine::FileView<'_>) -> std::io::Result<()> {
        self.matrix.add(v);
        file_row(&mut self.files, v);
        // Findings are sorted by file: each file's redacted text is made once.
        let mut redacted: Option<(crate::source::FileId, crate::source::Redacted)> = None;
        let mut card = String::new();
        for f in v.findings {
            if redacted.as_ref().is_none_or(|(id, _)| *id != f.span.file) {
                redacted = Some((f.span.file, v.store.get(f.span.file).redacted()));
            }
            let Some((_, text)) = &redacted else {
                continue;
            };
            card.clear();
            finding(&mut card, v.store, text, f);
            self.findings.write_all(card.as_bytes())?;
        }
        Ok(())
    }

    fn finish(&mut self, run: &Run) -> std::io::Result<()> {
        let mut o = String::new();
        let _ = write!(
            o,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\
<title>portaudit report</title><style>{STYLE}</style></head><body>\n<h1>portaudit compliance report</h1>\n"
        );
        let _ = writeln!(
            o,
            "<p id=\"totals\">{} finding(s), {} waived, {} in the baseline, over {} evaluated file(s). \
portaudit {}; packs: {}.</p>",
            run.totals.active(),
            run.totals.waived,
            run.baselined,
            run.files.iter().filter(|f| f.skipped.is_none()).count(),
            env!("CARGO_PKG_VERSION"),
            esc(&run.packs.iter().map(|p| format!("{} {}", p.id, p.version)).collect::<Vec<_>>().join(", "))
        );
        if run.incomplete() {
            o.push_str("<p class=\"fail\"><strong>Evaluation incomplete:</strong> some inputs could not be fully evaluated.</p>\n");
        }
        o.push_str("<h2>Findings by severity</h2>\n");
        o.push_str(&chart(run));
        o.push_str("\n<h2>Compliance matrix</h2>\n<table id=\"matrix\"><tr><th>framework</th><th>control</th><th>status</th><th>requirements</th><th>evidence</th></tr>\n");
        for r in self.matrix.rows() {
            let class = r.status.as_str().replace(' ', "-");
            let _ = writeln!(
                o,
                "<tr><td>{}</td><td>{}</td><td class=\"{class}\">{}</td><td>{}</td><td>{}</td></tr>",
                esc(&r.framework),
                esc(&r.control),
                r.status.as_str(),
                esc(&r.requirements.join(", ")),
                esc(&evidence(&r.evidence, r.evidence_total))
            );
        }
        o.push_str("</table>\n<h2>Devices and files</h2>\n<table id=\"files\"><tr><th>file</th><th>format</th><th>rules</th><th>pass</th><th>fail</th><th>not evidenced</th><th>uncertain</th></tr>\n");
        o.push_str(&std::mem::take(&mut self.files));
        o.push_str("</table>\n<h2>Findings</h2>\n");
        self.w.write_all(o.as_bytes())?;
        self.findings.copy_to(&mut *self.w)?;
        self.w.write_all(b"</body></html>\n")?;
        self.w.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_control_lists_twenty_evidence_locations_and_counts_the_rest() {
        let locations: Vec<String> = (1..=25).map(|i| format!("a.cfg:{i}")).collect();
        assert_eq!(evidence(&locations[..3], 3), "a.cfg:1, a.cfg:2, a.cfg:3");
        assert_eq!(evidence(&locations[..20], 20), locations[..20].join(", "));
        assert_eq!(
            evidence(&locations[..20], 25),
            format!(
                "{} and 5 more (see the findings)",
                locations[..20].join(", ")
            )
        );
    }
}
