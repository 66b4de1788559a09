//! Reporters, side by side: text (miette), JSON, SARIF, GitHub, Markdown, JUnit and HTML. Each is
//! a [`Sink`] written as the files of a check come, so several reports share one check without
//! holding it, and renders a finished [`Run`] to a string the same way ([`render`]). They share the
//! file store for locations and [`Location`] for line/column conversion.
//!
//! Adding a reporter: a module here with its [`Sink`], a variant of [`Format`] and one arm in
//! [`sink`]; see CONTRIBUTING.md.

pub mod github;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod matrix;
pub mod merge;
pub mod policies;
pub mod pretty;
pub mod sarif;
pub mod text;

use crate::engine::{Checked, FileView, Run};
use crate::source::{FileStore, Span};

/// The reporters' write buffer: a fleet's JSON report is about as large as its inputs, and
/// `BufWriter`'s default 8 KiB made that one system call per 8 KiB (13,800 for 113 MB).
pub(crate) const WRITE_BUFFER: usize = 1 << 20;

/// What a [`Sink`] writes now and copies out at its end, for a report whose head (totals first)
/// needs every file while its body grows with the fleet (HTML's findings, JUnit's test cases).
/// It stays in memory up to [`Spool::MEMORY`], then moves to an anonymous temporary file (removed
/// by the system however the process ends), so the sink holds neither the run nor its own body.
pub(crate) struct Spool(std::io::BufWriter<tempfile::SpooledTempFile>);

impl Spool {
    /// Bytes kept in memory before the spool moves to a temporary file.
    pub const MEMORY: usize = 8 << 20;

    pub fn new() -> Self {
        Self::with_memory(Self::MEMORY)
    }

    /// A spool that moves to a file past `memory` bytes (tests use a small one).
    pub fn with_memory(memory: usize) -> Self {
        Spool(std::io::BufWriter::with_capacity(
            64 << 10,
            tempfile::SpooledTempFile::new(memory),
        ))
    }

    /// Everything written so far, copied to `w`; the spool is left empty.
    pub fn copy_to(&mut self, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        use std::io::{Read, Seek, Write};
        self.flush()?;
        let file = self.0.get_mut();
        file.rewind().map_err(spool_error)?;
        // Read and write apart, so a failure names its side (`io::copy` would not say which).
        let mut buf = vec![0; 256 << 10];
        loop {
            let n = match file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(spool_error(e)),
            };
            w.write_all(&buf[..n])?;
        }
        file.set_len(0).map_err(spool_error)?;
        file.rewind().map_err(spool_error)
    }

    /// Whether the spool has moved to a temporary file.
    #[cfg(test)]
    pub fn on_disk(&self) -> bool {
        self.0.get_ref().is_rolled()
    }
}

/// A spool's failure (no temporary folder, a full disk) says where it was writing.
fn spool_error(e: std::io::Error) -> std::io::Error {
    std::io::Error::new(
        e.kind(),
        format!(
            "cannot hold the report's body in a temporary file in {} (set TMPDIR to a writable \
             folder): {e}",
            std::env::temp_dir().display()
        ),
    )
}

impl std::io::Write for Spool {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf).map_err(spool_error)
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.0.write_all(buf).map_err(spool_error)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush().map_err(spool_error)
    }
}

/// The files of a run, one at a time in input order, for reporters that write as they go: a check
/// in progress ([`Checked`], whose files are released once written) or a finished run
/// ([`Replay`]). The rest of the run ([`Files::run`]: packs and configuration from the start;
/// files, results, totals and notices once every file is taken) is for what is written last.
pub trait Files {
    fn run(&self) -> &Run;
    /// The next file; None once every file is taken.
    fn next_file(&mut self) -> Option<FileView<'_>>;
}

impl Files for Checked<'_> {
    fn run(&self) -> &Run {
        Checked::run(self)
    }

    fn next_file(&mut self) -> Option<FileView<'_>> {
        Checked::next_file(self)
    }
}

/// A report written as the files come, pushed to it: [`Sink::file`] for each file in input
/// order, then [`Sink::finish`] with the run (files, results, totals and notices of every file).
/// Several sinks can take the files of one check, each written to its own place, so a check that
/// writes several reports needs neither to hold its findings nor to run twice.
pub trait Sink {
    fn file(&mut self, v: &FileView<'_>) -> std::io::Result<()>;
    /// Write what needs every file, and flush.
    fn finish(&mut self, run: &Run) -> std::io::Result<()>;
}

/// Feed every file of `files` to `sink`, then finish it.
pub fn drain(files: &mut dyn Files, sink: &mut dyn Sink) -> std::io::Result<()> {
    while let Some(v) = files.next_file() {
        sink.file(&v)?;
    }
    sink.finish(files.run())
}

/// The baseline file (`--write-baseline`) as a [`Sink`]: the fingerprints of the findings it
/// records, gathered as the files come (a few dozen bytes each), written at the end.
pub struct BaselineSink<'w> {
    w: &'w mut dyn std::io::Write,
    fingerprints: Vec<String>,
}

impl<'w> BaselineSink<'w> {
    pub fn new(w: &'w mut dyn std::io::Write) -> Self {
        BaselineSink {
            w,
            fingerprints: Vec::new(),
        }
    }
}

impl Sink for BaselineSink<'_> {
    fn file(&mut self, v: &FileView<'_>) -> std::io::Result<()> {
        let kept = v.findings.iter().filter(|f| crate::engine::in_baseline(f));
        self.fingerprints
            .extend(kept.map(|f| f.fingerprint.clone()));
        Ok(())
    }

    fn finish(&mut self, _run: &Run) -> std::io::Result<()> {
        let fps: Vec<&str> = self.fingerprints.iter().map(String::as_str).collect();
        self.w
            .write_all(crate::engine::baseline_of(&fps).as_bytes())?;
        self.w.flush()
    }
}

/// Values chosen as they come under a limit: the `max` with the least keys, the rest counted.
/// A report that lists only some of a fleet's entries keeps just those (the key ends with the
/// entry's place, so the earliest comes first among equals).
pub(crate) struct Chosen<K: Ord, V: Ord> {
    max: usize,
    /// The greatest key on top: the first to leave.
    heap: std::collections::BinaryHeap<(K, V)>,
    /// Every entry offered.
    pub(crate) total: usize,
}

impl<K: Ord, V: Ord> Chosen<K, V> {
    pub(crate) fn new(max: usize) -> Self {
        Chosen {
            max,
            heap: std::collections::BinaryHeap::new(),
            total: 0,
        }
    }

    /// Offer an entry; `value` is made only if the entry is kept.
    pub(crate) fn offer(&mut self, key: K, value: impl FnOnce() -> V) {
        let _ = self.try_offer(key, || Ok::<V, std::convert::Infallible>(value()));
    }

    /// [`Chosen::offer`] with a value that may fail to be made.
    pub(crate) fn try_offer<E>(
        &mut self,
        key: K,
        value: impl FnOnce() -> Result<V, E>,
    ) -> Result<(), E> {
        self.total += 1;
        if self.heap.len() == self.max {
            match self.heap.peek() {
                Some((top, _)) if key < *top => {
                    self.heap.pop();
                }
                _ => return Ok(()),
            }
        }
        self.heap.push((key, value()?));
        Ok(())
    }

    /// The entries kept, least key first.
    pub(crate) fn into_sorted(self) -> Vec<(K, V)> {
        self.heap.into_sorted_vec()
    }
}

/// Feed every file of `files` to each of `sinks` in turn, then finish them.
pub fn drain_all(files: &mut dyn Files, sinks: &mut [Box<dyn Sink + '_>]) -> std::io::Result<()> {
    while let Some(v) = files.next_file() {
        for s in sinks.iter_mut() {
            s.file(&v)?;
        }
    }
    for s in sinks.iter_mut() {
        s.finish(files.run())?;
    }
    Ok(())
}

/// A finished run's files as [`Files`] (its findings are sorted by file, so each file's are one
/// slice).
pub struct Replay<'a> {
    run: &'a Run,
    file: usize,
    finding: usize,
    result: usize,
}

impl<'a> Replay<'a> {
    pub fn new(run: &'a Run) -> Self {
        Replay {
            run,
            file: 0,
            finding: 0,
            result: 0,
        }
    }
}

impl Files for Replay<'_> {
    fn run(&self) -> &Run {
        self.run
    }

    fn next_file(&mut self) -> Option<FileView<'_>> {
        let run = self.run;
        let report = run.files.get(self.file)?;
        self.file += 1;
        let last = self.file == run.files.len();
        // Everything up to this file's id (and, for the last file, everything left), so no finding
        // is skipped whatever its span.
        let upto = |id: crate::source::FileId| last || id <= report.file;
        let f0 = self.finding;
        while self.finding < run.findings.len() && upto(run.findings[self.finding].span.file) {
            self.finding += 1;
        }
        let r0 = self.result;
        while self.result < run.results.len() && upto(run.results[self.result].file) {
            self.result += 1;
        }
        Some(FileView {
            store: &run.store,
            report,
            findings: &run.findings[f0..self.finding],
            results: &run.results[r0..self.result],
            rendered: run.rendered_part(run.rendered.get(self.file - 1).and_then(|b| b.as_deref())),
        })
    }
}

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    Text,
    Json,
    Sarif,
    Github,
    Markdown,
    Junit,
    Html,
}

impl Format {
    pub fn from_id(s: &str) -> Option<Format> {
        Some(match s {
            "text" => Format::Text,
            "json" => Format::Json,
            "sarif" => Format::Sarif,
            "github" => Format::Github,
            "markdown" => Format::Markdown,
            "junit" => Format::Junit,
            "html" => Format::Html,
            _ => return None,
        })
    }
}

/// Rendering options.
#[derive(Clone, Debug)]
pub struct Options {
    /// ANSI colours in text output.
    pub color: bool,
    /// Terminal width for text output.
    pub width: usize,
    /// List lines not understood per file (text).
    pub verbose: bool,
    /// At most this many results in a SARIF log, the most severe (0: no limit); by default
    /// [`sarif::GITHUB_MAX_RESULTS`], as many as code scanning stores.
    pub sarif_max_results: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            color: false,
            width: 100,
            verbose: false,
            sarif_max_results: sarif::GITHUB_MAX_RESULTS,
        }
    }
}

/// A finished run's report as a string: the bytes [`write`] writes, and those of the same report
/// written as the files of a check came. Fails only when a report that spools its body (HTML,
/// JUnit) cannot move it to a temporary file.
pub fn render(run: &Run, format: Format, opts: &Options) -> std::io::Result<String> {
    let mut out = Vec::new();
    write(run, format, opts, &mut out)?;
    String::from_utf8(out).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

/// The report in `format` as a [`Sink`] writing to `w`; `run` is the run at its start (packs and
/// configuration). Every format is written as the files come: those whose head needs the whole
/// run (Markdown, JUnit, HTML, SARIF under a limit) keep only bounded state, or spool their body.
pub fn sink<'w>(
    run: &Run,
    format: Format,
    opts: &Options,
    w: &'w mut dyn std::io::Write,
) -> std::io::Result<Box<dyn Sink + 'w>> {
    Ok(match format {
        Format::Json => Box::new(json::JsonSink::new(w)?),
        Format::Sarif => Box::new(sarif::SarifSink::new(run, opts.sarif_max_results, w)?),
        Format::Text => Box::new(text::TextSink::new(run, opts, w)),
        Format::Github => Box::new(github::GithubSink::new(run, opts, w)),
        Format::Markdown => Box::new(markdown::MarkdownSink::new(run, w)),
        Format::Junit => Box::new(junit::JunitSink::new(run, w)),
        Format::Html => Box::new(html::HtmlSink::new(run, w)),
    })
}

/// A check's per-file rendering ([`crate::engine::Options::render`]) for a format whose files'
/// parts are costly to render: the text report's diagnostics (also the body of `github`). The
/// workers render each file as they finish it, in parallel, and the text reporter writes their
/// bytes when they were rendered with its options (a report with other options renders its own).
/// None for formats whose per-file cost is small next to the evaluation.
pub fn per_file(format: Format, opts: &Options) -> Option<crate::engine::Render> {
    match format {
        Format::Text | Format::Github => {
            let opts = opts.clone();
            Some(crate::engine::Render {
                key: text::render_key(&opts),
                render: std::sync::Arc::new(move |v| text::file_diagnostics(v, &opts)),
            })
        }
        _ => None,
    }
}

/// Write the files of a run as they come; the bytes are those of [`render`] of the finished run.
pub fn write_files(
    files: &mut dyn Files,
    format: Format,
    opts: &Options,
    w: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let mut s = sink(files.run(), format, opts, &mut *w)?;
    drain(files, &mut *s)
}

/// Write a finished run's report to `w`, file by file through the format's [`Sink`] (no
/// whole-report string for a fleet).
pub fn write(
    run: &Run,
    format: Format,
    opts: &Options,
    w: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    write_files(&mut Replay::new(run), format, opts, w)
}

/// How much source text the engine must keep for a format (see [`crate::engine::Keep`]).
pub fn keep_for(format: Format) -> crate::engine::Keep {
    match format {
        Format::Text | Format::Github | Format::Html => crate::engine::Keep::Snippets,
        Format::Json | Format::Sarif | Format::Markdown | Format::Junit => {
            crate::engine::Keep::Locations
        }
    }
}

/// At most this many lines from a related label to the far end of its finding's primary span for
/// the label to be drawn in the same snippet. Farther ones are listed by location (text: "see
/// also"), so a snippet never runs over every line between a rule and the one that shadows it.
pub const SNIPPET_LINES: usize = 30;

/// Is the related span drawn in the same snippet as the primary span? `file` holds both (its
/// lines at the two spans must be kept, see [`crate::source::SourceFile::compact`]).
pub fn drawn_together(file: &crate::source::SourceFile, primary: Span, related: Span) -> bool {
    if related.file != primary.file || file.id != primary.file {
        return false;
    }
    let (p0, p1) = (file.line_index(primary.start), file.line_index(primary.end));
    let (r0, r1) = (file.line_index(related.start), file.line_index(related.end));
    p1.max(r1) - p0.min(r0) < SNIPPET_LINES
}

/// A 1-based region: start line/column and end line/column (end column one past the last
/// character).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Location {
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
}

/// The span actually shown: an empty span grows to its whole line, so every region has text.
pub fn effective_span(store: &FileStore, span: Span) -> Span {
    if !span.is_empty() {
        return span;
    }
    let file = store.get(span.file);
    let line = file.line_col(span.start).line;
    let s = file.line_span(line);
    if s.is_empty() {
        span
    } else {
        s
    }
}

/// Line/column region of a span. A span ending with a newline ends on its last character.
pub fn location(store: &FileStore, span: Span) -> Location {
    let span = effective_span(store, span);
    let file = store.get(span.file);
    let mut end = span.end;
    while end > span.start && matches!(file.byte(end - 1), Some(b'\n' | b'\r')) {
        end -= 1;
    }
    let a = file.line_col(span.start);
    let b = file.line_col(end);
    Location {
        line: a.line,
        column: a.column,
        end_line: b.line,
        end_column: b.column.max(if b.line == a.line { a.column } else { 1 }),
    }
}

/// A stable 64-bit FNV-1a hash (fingerprints must not change between runs or versions).
pub fn fnv1a(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0u8)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// Fingerprints of findings that survive line shifts: rule, file and the (redacted, trimmed) text
/// of the primary span's first line, plus an occurrence counter for identical ones. `findings` must
/// be in report order.
pub fn fingerprints(store: &FileStore, findings: &[crate::finding::Finding]) -> Vec<String> {
    let mut seen: std::collections::BTreeMap<u64, usize> = std::collections::BTreeMap::new();
    findings
        .iter()
        .map(|f| {
            let file = store.get(f.span.file);
            let loc = location(store, f.span);
            let line = crate::redact::redact(file.slice(file.line_span(loc.line)));
            let h = fnv1a(&[&f.rule, &f.pack, &file.name, line.trim()]);
            let n = seen.entry(h).or_insert(0);
            *n += 1;
            format!("{h:016x}:{n}")
        })
        .collect()
}

#[cfg(test)]
mod spool_tests {
    use super::Spool;
    use std::io::Write;

    /// Past its memory the spool moves to a temporary file, and gives back every byte in order,
    /// then starts again empty.
    #[test]
    fn a_spool_gives_back_what_it_took_from_memory_or_disk() {
        for memory in [1 << 20, 1000] {
            let mut spool = Spool::with_memory(memory);
            let mut want = Vec::new();
            for i in 0..3000 {
                let line = format!("line {i}\n");
                spool.write_all(line.as_bytes()).unwrap();
                want.extend_from_slice(line.as_bytes());
            }
            let mut got = Vec::new();
            spool.copy_to(&mut got).unwrap();
            assert_eq!(spool.on_disk(), memory < want.len(), "memory {memory}");
            assert!(got == want, "memory {memory}");
            spool.write_all(b"again").unwrap();
            let mut got = Vec::new();
            spool.copy_to(&mut got).unwrap();
            assert_eq!(got, b"again");
        }
    }
}
