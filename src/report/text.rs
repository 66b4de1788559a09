//! Terminal text: one miette diagnostic per finding (snippet, label on the offending span,
//! secondary labels, help and references), then a summary per file and pack.
//! Snippets are redacted (see [`crate::redact`]).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Arc;

use miette::{
    Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError,
    MietteSpanContents, NamedSource, Severity as MSeverity, SourceCode, SourceSpan, SpanContents,
};

use super::{effective_span, Options};
use crate::checks::Status;
use crate::engine::{FileView, Run, SetupError};
use crate::finding::Finding;
use crate::pack::Severity;
use crate::source::{FileId, FileStore, Redacted, Span};

/// A diagnostic ready for miette.
#[derive(Debug)]
struct Diag {
    message: String,
    code: Option<String>,
    severity: MSeverity,
    source: NamedSource<Arc<Redacted>>,
    labels: Vec<LabeledSpan>,
    help: Option<String>,
}

impl std::fmt::Display for Diag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Diag {}

impl Diagnostic for Diag {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.code
            .as_ref()
            .map(|c| Box::new(c) as Box<dyn std::fmt::Display>)
    }
    fn severity(&self) -> Option<MSeverity> {
        Some(self.severity)
    }
    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn std::fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.labels.iter().cloned()))
    }
}

/// Redacted file texts, computed once per file.
struct Sources<'a> {
    store: &'a FileStore,
    cache: BTreeMap<FileId, Arc<Redacted>>,
}

impl Sources<'_> {
    fn get(&mut self, id: FileId) -> NamedSource<Arc<Redacted>> {
        let store = self.store;
        let text = self
            .cache
            .entry(id)
            .or_insert_with(|| Arc::new(store.get(id).redacted()))
            .clone();
        NamedSource::new(store.get(id).name.clone(), text)
    }
}

/// Snippets from the redacted pieces of a file. A compacted file keeps at least two lines around
/// every label, so miette's context (one line each side) and its line counts are those it would
/// compute on the whole text.
impl SourceCode for Redacted {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let piece = self.piece(span.offset()).ok_or(MietteError::OutOfBounds)?;
        // miette finds the context by scanning from the start of the text it is given: give it
        // the piece from `before + 1` lines above the span (one more than the context, as miette
        // looks one byte ahead of an empty span; line counts are shifted back below), so a
        // snippet costs its own lines, not the file's.
        let at = span.offset() - piece.start;
        let skipped = piece.line_of(at).saturating_sub(before + 1);
        let from = piece.lines[skipped];
        let local = SourceSpan::new((at - from).into(), span.len());
        let c = piece.text[from..].read_span(&local, before, after)?;
        let data: &'a [u8] = c.data();
        Ok(Box::new(MietteSpanContents::new(
            data,
            SourceSpan::new(
                (c.span().offset() + from + piece.start).into(),
                c.span().len(),
            ),
            c.line() + skipped + piece.breaks,
            c.column(),
            c.line_count() + skipped + piece.breaks,
        )))
    }
}

fn handler(opts: &Options) -> GraphicalReportHandler {
    let theme = if opts.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    // Lines wrap at spaces only, never inside a word: rule names, paths and services
    // (`access-list`, `tcp/5060`, `cc-asa-01.cfg:12:1`) stay whole, so they can be searched for
    // and copied. The Unicode line-break rules textwrap uses by default break after every
    // hyphen and were a tenth of the time of a text report.
    GraphicalReportHandler::new_themed(theme)
        .with_width(opts.width)
        .with_links(false)
        .with_context_lines(1)
        .with_word_separator(textwrap::WordSeparator::AsciiSpace)
        .with_word_splitter(textwrap::WordSplitter::NoHyphenation)
}

fn render_diag(h: &GraphicalReportHandler, d: &Diag, out: &mut String) {
    let mut s = String::new();
    if h.render_report(&mut s, d).is_err() {
        let _ = writeln!(out, "{}", d.message);
        return;
    }
    out.push_str(&s);
    out.push('\n');
}

fn msev(s: Severity) -> MSeverity {
    match s {
        Severity::Critical | Severity::High => MSeverity::Error,
        Severity::Medium | Severity::Low => MSeverity::Warning,
        Severity::Info => MSeverity::Advice,
    }
}

fn label(store: &FileStore, span: Span, text: String) -> LabeledSpan {
    let s = effective_span(store, span);
    LabeledSpan::new(Some(text), s.start, s.len())
}

fn finding_diag(store: &FileStore, f: &Finding, sources: &mut Sources) -> Diag {
    let mut labels = vec![label(store, f.span, f.label.clone())];
    let mut elsewhere = Vec::new();
    let file = store.get(f.span.file);
    for r in &f.related {
        if super::drawn_together(file, f.span, r.span) {
            labels.push(label(store, r.span, r.message.clone()));
        } else {
            let loc = super::location(store, r.span);
            elsewhere.push(format!(
                "{}:{}:{}: {}",
                store.get(r.span.file).name,
                loc.line,
                loc.column,
                r.message
            ));
        }
    }
    let mut help = f.help.clone().unwrap_or_default();
    if !f.references.is_empty() {
        if !help.is_empty() {
            help.push('\n');
        }
        help.push_str(&format!("references: {}", f.references.join("; ")));
    }
    for e in elsewhere {
        help.push_str(&format!("\nsee also {e}"));
    }
    if let Some(w) = &f.waived {
        help.push_str(&format!("\nwaived: {w}"));
    }
    let mut tags = Vec::new();
    if f.waived.is_some() {
        tags.push("waived");
    }
    if f.uncertain {
        tags.push("uncertain");
    }
    if f.from_default {
        tags.push("vendor default");
    }
    let tag = if tags.is_empty() {
        String::new()
    } else {
        format!(" [{}]", tags.join(", "))
    };
    Diag {
        message: format!("{}: {}{tag}", f.severity.as_str(), f.message),
        code: Some(format!("{}/{}", f.pack, f.rule)),
        severity: msev(f.severity),
        source: sources.get(f.span.file),
        labels,
        help: (!help.is_empty()).then_some(help),
    }
}

/// The text report written as the files come: each file's diagnostics (the workers' bytes when
/// they were rendered with these options), then the notices and the summary (its lines per file
/// are gathered as the files pass, while their text is at hand).
pub struct TextSink<'w> {
    pub(crate) w: std::io::BufWriter<&'w mut dyn std::io::Write>,
    h: GraphicalReportHandler,
    opts: Options,
    key: String,
    packs: Vec<String>,
    per_file: String,
}

impl<'w> TextSink<'w> {
    /// `run`: the packs (for the summary).
    pub fn new(run: &Run, opts: &Options, w: &'w mut dyn std::io::Write) -> Self {
        TextSink {
            w: std::io::BufWriter::with_capacity(super::WRITE_BUFFER, w),
            h: handler(opts),
            opts: opts.clone(),
            key: render_key(opts),
            packs: run.packs.iter().map(|p| p.id.clone()).collect(),
            per_file: String::new(),
        }
    }
}

impl super::Sink for TextSink<'_> {
    fn file(&mut self, v: &FileView<'_>) -> std::io::Result<()> {
        use std::io::Write as _;
        match v.rendered {
            Some(r) if r.key == self.key => self.w.write_all(r.bytes)?,
            _ => {
                let w = &mut self.w;
                each_diagnostic(v, &self.h, |d| w.write_all(d.as_bytes()))?
            }
        }
        file_summary(v, &self.packs, &self.opts, &mut self.per_file);
        Ok(())
    }

    fn finish(&mut self, run: &Run) -> std::io::Result<()> {
        use std::io::Write as _;
        let mut out = String::new();
        let mut sources = Sources {
            store: &run.store,
            cache: BTreeMap::new(),
        };
        for n in &run.notices {
            let d = Diag {
                message: format!("configuration: {}", n.message),
                code: Some("portaudit/waiver".into()),
                severity: MSeverity::Warning,
                source: sources.get(n.span.file),
                labels: vec![label(&run.store, n.span, "this waiver".into())],
                help: None,
            };
            render_diag(&self.h, &d, &mut out);
        }
        out.push_str("Summary\n");
        out.push_str(&self.per_file);
        out.push_str(&totals(run));
        self.w.write_all(out.as_bytes())?;
        self.w.flush()
    }
}

/// [`crate::engine::Render::key`] of [`file_diagnostics`]: everything in the options that
/// changes them.
pub fn render_key(opts: &Options) -> String {
    format!("text color={} width={}", opts.color, opts.width)
}

/// The diagnostics of one file, as [`TextSink`] writes them (for [`super::per_file`]: a
/// worker renders them as soon as it has evaluated the file).
pub fn file_diagnostics(v: &FileView<'_>, opts: &Options) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = each_diagnostic(v, &handler(opts), |d| {
        out.extend_from_slice(d.as_bytes());
        Ok(())
    });
    out
}

/// Render the diagnostics of one file, handing each to `write` in turn.
fn each_diagnostic(
    v: &FileView<'_>,
    h: &GraphicalReportHandler,
    mut write: impl FnMut(&str) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut sources = Sources {
        store: v.store,
        cache: BTreeMap::new(),
    };
    let mut out = String::new();
    for f in v.findings {
        let d = finding_diag(v.store, f, &mut sources);
        render_diag(h, &d, &mut out);
        write(&out)?;
        out.clear();
    }
    Ok(())
}

/// The summary lines of one file: format, rules, lines not understood, results per pack.
fn file_summary(v: &FileView<'_>, packs: &[String], opts: &Options, out: &mut String) {
    let f = v.report;
    if let Some(why) = &f.skipped {
        let _ = writeln!(out, "  {}: skipped ({why})", f.name);
        return;
    }
    let _ = writeln!(
        out,
        "  {} ({}, {} rules, {} lines not understood{})",
        f.name,
        f.format.id(),
        f.rules,
        f.unparsed.len(),
        if f.incomplete { ", INCOMPLETE" } else { "" }
    );
    if opts.verbose {
        for u in &f.unparsed {
            let loc = super::location(v.store, u.span);
            let _ = writeln!(
                out,
                "      not understood at line {}: {}",
                loc.line, u.reason
            );
        }
    }
    for p in packs {
        let rows: Vec<_> = v.results.iter().filter(|r| &r.pack == p).collect();
        if rows.is_empty() {
            continue;
        }
        let n = |s: Status| rows.iter().filter(|r| r.status == s).count();
        let _ = writeln!(
            out,
            "      {:<22} {} pass, {} fail, {} not evidenced, {} uncertain",
            p,
            n(Status::Pass),
            n(Status::Fail),
            n(Status::NotEvidenced),
            n(Status::Uncertain)
        );
    }
}

/// The closing lines of the summary: findings by severity, files, packs, waived, incomplete.
fn totals(run: &Run) -> String {
    let mut out = String::new();
    let active = run.totals.active();
    let mut by_sev = Vec::new();
    for s in Severity::ALL.into_iter().rev() {
        let n = run.totals.active_at(s);
        if n > 0 {
            by_sev.push(format!("{n} {}", s.as_str()));
        }
    }
    let evaluated = run.files.iter().filter(|f| f.skipped.is_none()).count();
    let skipped = run.files.len() - evaluated;
    let _ = writeln!(
        out,
        "{} finding{}{} in {evaluated} file{} ({skipped} skipped); packs: {}",
        active,
        if active == 1 { "" } else { "s" },
        if by_sev.is_empty() {
            String::new()
        } else {
            format!(" ({})", by_sev.join(", "))
        },
        if evaluated == 1 { "" } else { "s" },
        run.packs
            .iter()
            .map(|p| format!("{} {}", p.id, p.version))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let waived = run.totals.waived;
    if waived > 0 || run.baselined > 0 {
        let _ = writeln!(
            out,
            "{waived} waived, {} in the baseline (not shown)",
            run.baselined
        );
    }
    if run.incomplete() {
        out.push_str("evaluation INCOMPLETE: some inputs could not be fully evaluated (see input-error findings)\n");
    }
    out
}

/// Setup errors (configuration, packs) as located diagnostics.
pub fn render_setup_errors(store: &FileStore, errors: &[SetupError], opts: &Options) -> String {
    let h = handler(opts);
    let mut sources = Sources {
        store,
        cache: BTreeMap::new(),
    };
    let mut out = String::new();
    for e in errors {
        match e.span {
            Some(span) => {
                let file = store.get(span.file);
                let lc = file.line_col(span.start);
                let d = Diag {
                    message: format!("{}:{}:{}: {}", file.name, lc.line, lc.column, e.message),
                    code: None,
                    severity: MSeverity::Error,
                    source: sources.get(span.file),
                    labels: vec![label(store, span, e.message.clone())],
                    help: None,
                };
                render_diag(&h, &d, &mut out);
            }
            None => {
                let _ = writeln!(out, "error: {}", e.message);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{Encoding, SourceFile};

    /// Long messages wrap at spaces only: identifiers with hyphens and slashes stay whole (the
    /// default Unicode line breaking split `access-list` after its hyphen).
    #[test]
    fn wrapped_lines_keep_identifiers_whole() {
        let text = "access-list outside_in extended permit udp any any eq 5060\n".to_string();
        let file = SourceFile::from_text(FileId(0), "t".into(), None, text, Encoding::Utf8);
        let names: Vec<String> = (1..=12)
            .map(|i| format!("access-list outside_in line {}", 200 + 4 * i))
            .collect();
        let message = format!(
            "rule can never match: earlier rules {} decide",
            names.join(", ")
        );
        let help = format!(
            "see also /srv/exports/cc-asa-00001.cfg:331:1: {}",
            names.join(", ")
        );
        let d = Diag {
            message,
            code: None,
            severity: MSeverity::Advice,
            source: NamedSource::new("t", Arc::new(file.redacted())),
            labels: vec![LabeledSpan::new(Some("here".into()), 0, 11)],
            help: Some(help),
        };
        for width in [60, 80, 100, 120] {
            let opts = Options {
                width,
                ..Options::default()
            };
            let mut out = String::new();
            render_diag(&handler(&opts), &d, &mut out);
            assert_eq!(
                out.matches("access-list").count(),
                2 * names.len() + 1,
                "width {width}:\n{out}"
            );
            assert!(
                out.contains("/srv/exports/cc-asa-00001.cfg:331:1:"),
                "{out}"
            );
            assert!(
                out.lines().count() > 6,
                "the message wraps at width {width}:\n{out}"
            );
        }
    }

    /// Snippets cut from the lines around a span are those miette finds scanning the whole text:
    /// same bytes, span, line, column and line count, for every span, context size and kind of
    /// line break.
    #[test]
    fn snippets_from_nearby_lines_equal_a_whole_text_scan() {
        let text = "a\nbb\r\nccc\rdddd\n\neeeee\r\n\r\nf\nggg\rh\n".repeat(3);
        let file = SourceFile::from_text(FileId(0), "t".into(), None, text.clone(), Encoding::Utf8);
        let redacted = file.redacted();
        for start in 0..text.len() {
            for len in [0, 1, 3, 9] {
                let len = len.min(text.len() - start);
                for (before, after) in [(0, 0), (1, 1), (2, 3)] {
                    let span = SourceSpan::new(start.into(), len);
                    let want = text
                        .as_str()
                        .read_span(&span, before, after)
                        .expect("whole");
                    let got = redacted.read_span(&span, before, after).expect("cut");
                    let at = format!("span {start}+{len}, context {before}/{after}");
                    assert_eq!(got.data(), want.data(), "{at}");
                    assert_eq!(got.span(), want.span(), "{at}");
                    assert_eq!(got.line(), want.line(), "{at}");
                    assert_eq!(got.column(), want.column(), "{at}");
                    assert_eq!(got.line_count(), want.line_count(), "{at}");
                }
            }
        }
    }
}
