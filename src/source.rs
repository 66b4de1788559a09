//! The one file store shared by parsers, the engine and every reporter.
//!
//! Every file portaudit reads (exports, packs, `portaudit.yaml`) is decoded once into a
//! [`SourceFile`]; parsed elements keep a [`Span`] (file id + byte range) into it, and reporters
//! turn spans into line/column through the same store, so locations never depend on heuristics.

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Index of a file in the [`FileStore`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct FileId(pub u32);

/// A byte range in one file of the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    pub file: FileId,
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(file: FileId, start: usize, end: usize) -> Self {
        Span {
            file,
            start,
            end: end.max(start),
        }
    }
    /// The span of the first byte of the file (used for whole-file findings).
    pub fn file_start(file: FileId) -> Self {
        Span::new(file, 0, 0)
    }
    pub fn len(&self) -> usize {
        self.end - self.start
    }
    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }
    /// Smallest span covering both (same file assumed).
    pub fn join(self, other: Span) -> Span {
        Span::new(
            self.file,
            self.start.min(other.start),
            self.end.max(other.end),
        )
    }
}

/// How the bytes of a file were decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Encoding {
    Utf8,
    Utf8Bom,
    /// Not valid UTF-8: decoded byte per byte as Windows-1252 (a superset of Latin-1 in practice).
    Windows1252,
}

/// One decoded file.
#[derive(Debug)]
pub struct SourceFile {
    pub id: FileId,
    /// The path as it is shown to users (relative to the working directory when possible).
    pub name: String,
    /// The path on disk (None for embedded files).
    pub path: Option<PathBuf>,
    /// The whole text; empty once the file is [compacted](SourceFile::compact) (use
    /// [`SourceFile::slice`], [`SourceFile::line_col`] and [`SourceFile::line_range`], which work
    /// either way).
    pub text: String,
    pub encoding: Encoding,
    line_starts: Vec<usize>,
    compact: Option<Box<Compact>>,
}

/// What a compacted file still holds: whole lines around the spans that findings reference, at
/// their original offsets and line numbers, so locations and snippets are exactly those of the
/// whole file.
#[derive(Debug)]
struct Compact {
    /// Length of the original text.
    len: usize,
    /// Lines of the original text.
    lines: usize,
    /// Sorted, disjoint and not adjacent.
    segments: Vec<Segment>,
    /// Secret ranges (original offsets) inside the kept lines, found on the whole text; None when
    /// they were not looked for.
    secrets: Option<Vec<(usize, usize)>>,
}

#[derive(Debug)]
struct Segment {
    /// Original offset of the first byte (a line start).
    start: usize,
    /// 0-based index of its first line.
    first_line: usize,
    /// Line breaks before `start` as miette counts them (`\n`, `\r\n` and a lone `\r`).
    breaks: usize,
    /// The kept lines with their terminators.
    text: String,
    /// Original offsets of the lines starting in this segment.
    line_starts: Vec<usize>,
}

impl Segment {
    fn end(&self) -> usize {
        self.start + self.text.len()
    }
}

/// A redacted view of a file's text (all of it, or the lines kept by compaction), for snippets.
#[derive(Debug)]
pub struct Redacted {
    pieces: Vec<RedactedPiece>,
}

/// Contiguous redacted text starting at original offset `start`.
#[derive(Debug)]
pub struct RedactedPiece {
    pub start: usize,
    /// Line breaks before `start` as miette counts them.
    pub breaks: usize,
    pub text: String,
    /// Offsets in `text` where its lines start, line breaks counted as miette counts them (`\n`,
    /// `\r\n`, a lone `\r`): snippets are cut from the lines around a span, not scanned for
    /// from the start of the piece.
    pub lines: Vec<usize>,
}

impl RedactedPiece {
    fn new(start: usize, breaks: usize, text: String) -> Self {
        let b = text.as_bytes();
        let lines = std::iter::once(0)
            .chain(
                b.iter()
                    .enumerate()
                    .filter(|&(i, &c)| c == b'\n' || (c == b'\r' && b.get(i + 1) != Some(&b'\n')))
                    .map(|(i, _)| i + 1),
            )
            .collect();
        RedactedPiece {
            start,
            breaks,
            text,
            lines,
        }
    }

    /// The line of `text` holding local offset `at` (0-based).
    pub fn line_of(&self, at: usize) -> usize {
        self.lines.partition_point(|&s| s <= at).saturating_sub(1)
    }
}

impl Redacted {
    /// The piece holding `offset`, if any.
    pub fn piece(&self, offset: usize) -> Option<&RedactedPiece> {
        let i = self.pieces.partition_point(|p| p.start <= offset);
        self.pieces
            .get(i.checked_sub(1)?)
            .filter(|p| offset <= p.start + p.text.len())
    }

    /// Redacted text of an original byte range ("" when it is not held).
    pub fn get(&self, range: std::ops::Range<usize>) -> &str {
        self.piece(range.start)
            .and_then(|p| {
                p.text
                    .get(range.start - p.start..range.end.checked_sub(p.start)?)
            })
            .unwrap_or("")
    }
}

/// 1-based line and column (columns count characters, not bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct LineCol {
    pub line: usize,
    pub column: usize,
}

impl SourceFile {
    /// A file with a known id (used when files are read in parallel and inserted in order).
    pub fn from_text(
        id: FileId,
        name: String,
        path: Option<PathBuf>,
        text: String,
        encoding: Encoding,
    ) -> Self {
        Self::new(id, name, path, text, encoding)
    }

    /// Decode a copy of bytes into a file with a known id ([`decode`]).
    pub fn from_bytes(id: FileId, name: String, path: Option<PathBuf>, bytes: &[u8]) -> Self {
        Self::from_vec(id, name, path, bytes.to_vec())
    }

    /// Decode bytes into a file with a known id ([`decode`]: UTF-8, the usual case, becomes the
    /// text where it lies, without a copy).
    pub fn from_vec(id: FileId, name: String, path: Option<PathBuf>, bytes: Vec<u8>) -> Self {
        let (text, enc) = decode(bytes);
        Self::new(id, name, path, text, enc)
    }

    fn new(
        id: FileId,
        name: String,
        path: Option<PathBuf>,
        text: String,
        encoding: Encoding,
    ) -> Self {
        // Counted first (a fast pass) so the list is allocated once, at its size.
        let mut line_starts =
            Vec::with_capacity(memchr::memchr_iter(b'\n', text.as_bytes()).count() + 1);
        line_starts.push(0);
        line_starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
        SourceFile {
            id,
            name,
            path,
            text,
            encoding,
            line_starts,
            compact: None,
        }
    }

    /// Length of the text in bytes (also once compacted).
    pub fn len(&self) -> usize {
        match &self.compact {
            Some(c) => c.len,
            None => self.text.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True once [`SourceFile::compact`] has dropped the lines no finding refers to.
    pub fn is_compacted(&self) -> bool {
        self.compact.is_some()
    }

    /// The byte at `offset`, if it is held.
    pub fn byte(&self, offset: usize) -> Option<u8> {
        match &self.compact {
            None => self.text.as_bytes().get(offset).copied(),
            Some(c) => {
                let seg = c.segment_at(offset)?;
                seg.text.as_bytes().get(offset - seg.start).copied()
            }
        }
    }

    /// 0-based index of the line holding a byte offset (clamped to the text).
    pub fn line_index(&self, offset: usize) -> usize {
        match &self.compact {
            None => {
                let offset = offset.min(self.text.len());
                self.line_starts.partition_point(|&s| s <= offset) - 1
            }
            Some(c) => {
                let offset = offset.min(c.len);
                match c.segment_at(offset) {
                    Some(seg) => {
                        seg.first_line + seg.line_starts.partition_point(|&s| s <= offset) - 1
                    }
                    None => 0,
                }
            }
        }
    }

    /// Drop every line except the 0-based, inclusive line ranges given, keeping the parts of
    /// `secrets` (the file's [`crate::redact::secret_ranges`], which the caller has already
    /// worked out to mask messages) inside them, so that [`SourceFile::redacted`] stays exactly
    /// the redaction of the whole text; without them the kept lines show only `*`. Offsets,
    /// lines and columns of what is kept do not change.
    pub fn compact(&mut self, ranges: &mut [(usize, usize)], secrets: Option<&[(usize, usize)]>) {
        if self.compact.is_some() {
            return;
        }
        let lines = self.line_starts.len();
        ranges.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::new();
        for &(a, b) in ranges.iter() {
            let (a, b) = (a.min(lines - 1), b.min(lines - 1));
            match merged.last_mut() {
                Some(last) if a <= last.1 + 1 => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        let text = &self.text;
        let has_cr = text.as_bytes().contains(&b'\r');
        let mut lone_cr = 0;
        let mut scanned = 0;
        let mut segments = Vec::with_capacity(merged.len());
        for (a, b) in merged {
            let start = self.line_starts[a];
            let end = self.line_starts.get(b + 1).copied().unwrap_or(text.len());
            if has_cr {
                let bytes = text.as_bytes();
                lone_cr += (scanned..start)
                    .filter(|&i| bytes[i] == b'\r' && bytes.get(i + 1) != Some(&b'\n'))
                    .count();
                scanned = start;
            }
            segments.push(Segment {
                start,
                first_line: a,
                breaks: a + lone_cr,
                text: text[start..end].to_owned(),
                line_starts: self.line_starts[a..=b].to_vec(),
            });
        }
        let secrets = secrets.map(|all| {
            all.iter()
                .flat_map(|&(x, y)| {
                    segments
                        .iter()
                        .filter(move |s| x < s.end() && y > s.start)
                        .map(move |s| (x.max(s.start), y.min(s.end())))
                })
                .collect()
        });
        self.compact = Some(Box::new(Compact {
            len: text.len(),
            lines,
            segments,
            secrets,
        }));
        self.text = String::new();
        self.line_starts = Vec::new();
    }

    /// The text with secrets masked (see [`crate::redact`]): all of it, or the lines a compacted
    /// file kept. A file compacted without looking for secrets shows only `*`.
    pub fn redacted(&self) -> Redacted {
        let Some(c) = &self.compact else {
            return Redacted {
                pieces: vec![RedactedPiece::new(0, 0, crate::redact::redact(&self.text))],
            };
        };
        let pieces = c
            .segments
            .iter()
            .map(|seg| {
                let mut bytes = seg.text.as_bytes().to_vec();
                let mask = |x: &mut u8| {
                    if *x != b'\n' && *x != b'\r' {
                        *x = b'*';
                    }
                };
                match &c.secrets {
                    Some(ranges) => {
                        for &(a, b) in ranges.iter().filter(|r| r.0 < seg.end() && r.1 > seg.start)
                        {
                            bytes[a - seg.start..b - seg.start]
                                .iter_mut()
                                .for_each(mask);
                        }
                    }
                    None => bytes.iter_mut().for_each(mask),
                }
                RedactedPiece::new(
                    seg.start,
                    seg.breaks,
                    String::from_utf8(bytes)
                        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
                )
            })
            .collect();
        Redacted { pieces }
    }

    /// Line and column of a byte offset (clamped to the text, and to a char boundary).
    pub fn line_col(&self, offset: usize) -> LineCol {
        if let Some(c) = &self.compact {
            return c.line_col(offset);
        }
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.line_starts[line];
        let column = self.text[start..offset].chars().count() + 1;
        LineCol {
            line: line + 1,
            column,
        }
    }

    /// Byte range of line `line` (1-based), without its line terminator.
    pub fn line_range(&self, line: usize) -> std::ops::Range<usize> {
        if let Some(c) = &self.compact {
            return c.line_range(line);
        }
        let i = line.saturating_sub(1).min(self.line_starts.len() - 1);
        let start = self.line_starts[i];
        let mut end = self
            .line_starts
            .get(i + 1)
            .map(|e| e - 1)
            .unwrap_or(self.text.len());
        if end > start && self.text.as_bytes()[end - 1] == b'\r' {
            end -= 1;
        }
        start..end
    }

    pub fn line_count(&self) -> usize {
        match &self.compact {
            Some(c) => c.lines,
            None => self.line_starts.len(),
        }
    }

    /// The span of a whole line (1-based).
    pub fn line_span(&self, line: usize) -> Span {
        let r = self.line_range(line);
        Span::new(self.id, r.start, r.end)
    }

    pub fn slice(&self, span: Span) -> &str {
        let end = span.end.min(self.len());
        let start = span.start.min(end);
        match &self.compact {
            None => self.text.get(start..end).unwrap_or(""),
            Some(c) => c
                .segment_at(start)
                .filter(|seg| end <= seg.end())
                .and_then(|seg| seg.text.get(start - seg.start..end - seg.start))
                .unwrap_or(""),
        }
    }
}

impl Compact {
    /// The segment holding `offset` (its end counts: a span may end there).
    fn segment_at(&self, offset: usize) -> Option<&Segment> {
        let i = self.segments.partition_point(|s| s.start <= offset);
        self.segments
            .get(i.checked_sub(1)?)
            .filter(|s| offset <= s.end())
    }

    fn line_col(&self, offset: usize) -> LineCol {
        let offset = offset.min(self.len);
        let Some(seg) = self.segment_at(offset) else {
            return LineCol { line: 1, column: 1 };
        };
        let mut local = offset - seg.start;
        while !seg.text.is_char_boundary(local) {
            local -= 1;
        }
        let i = seg.line_starts.partition_point(|&s| s <= seg.start + local) - 1;
        let start = seg.line_starts[i] - seg.start;
        LineCol {
            line: seg.first_line + i + 1,
            column: seg.text[start..local].chars().count() + 1,
        }
    }

    fn line_range(&self, line: usize) -> std::ops::Range<usize> {
        let i = line.saturating_sub(1).min(self.lines - 1);
        let k = self.segments.partition_point(|s| s.first_line <= i);
        let Some(seg) = k
            .checked_sub(1)
            .and_then(|k| self.segments.get(k))
            .filter(|s| i < s.first_line + s.line_starts.len())
        else {
            return 0..0;
        };
        let j = i - seg.first_line;
        let start = seg.line_starts[j];
        let mut end = match seg.line_starts.get(j + 1) {
            Some(next) => next - 1,
            // The segment ends with this line's terminator, or at the end of the text.
            None if start < seg.end() && seg.text.ends_with('\n') => seg.end() - 1,
            None => seg.end(),
        };
        if end > start && seg.text.as_bytes()[end - 1 - seg.start] == b'\r' {
            end -= 1;
        }
        start..end
    }
}

/// Decode raw bytes: UTF-8 (a BOM is dropped), otherwise Windows-1252 byte by byte, so that a
/// stray Latin-1 byte in a comment never loses the file. UTF-8 bytes become the text where they
/// lie: a large export is not copied.
pub fn decode(bytes: Vec<u8>) -> (String, Encoding) {
    match String::from_utf8(bytes) {
        Ok(mut text) => {
            if text.starts_with('\u{feff}') {
                text.drain(..'\u{feff}'.len_utf8());
                (text, Encoding::Utf8Bom)
            } else {
                (text, Encoding::Utf8)
            }
        }
        Err(e) => (
            e.as_bytes().iter().map(|&b| cp1252(b)).collect(),
            Encoding::Windows1252,
        ),
    }
}

fn cp1252(b: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8D}', 'Ž',
        '\u{8F}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9D}',
        'ž', 'Ÿ',
    ];
    match b {
        0x80..=0x9F => HIGH[(b - 0x80) as usize],
        _ => b as char,
    }
}

/// Store of every source file of a run: files are added in id order; a streamed run releases an
/// input's text once its report is written ([`FileStore::release`]), keeping its name.
#[derive(Debug, Default)]
pub struct FileStore {
    /// Id of `files[0]`: 0, except in a store of one file ([`FileStore::one`]).
    first: u32,
    files: Vec<Arc<SourceFile>>,
}

impl FileStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// A store holding one file under its own id (a worker's view of the file it evaluated: what
    /// the file's findings point at, for fingerprints, waivers and reporters rendering it).
    /// Getting any other id panics.
    pub fn one(file: Arc<SourceFile>) -> Self {
        FileStore {
            first: file.id.0,
            files: vec![file],
        }
    }

    /// Add decoded text under a display name.
    pub fn add_text(
        &mut self,
        name: impl Into<String>,
        path: Option<PathBuf>,
        text: String,
        encoding: Encoding,
    ) -> FileId {
        let id = FileId(self.first + self.files.len() as u32);
        self.files.push(Arc::new(SourceFile::new(
            id,
            name.into(),
            path,
            text,
            encoding,
        )));
        id
    }

    /// Add raw bytes, decoding them.
    pub fn add_bytes(
        &mut self,
        name: impl Into<String>,
        path: Option<PathBuf>,
        bytes: &[u8],
    ) -> FileId {
        let (text, enc) = decode(bytes.to_vec());
        self.add_text(name, path, text, enc)
    }

    /// Insert a file built with [`SourceFile::from_text`]/[`SourceFile::from_bytes`]; its id must be
    /// the next one.
    pub fn insert(&mut self, file: impl Into<Arc<SourceFile>>) {
        let file = file.into();
        assert_eq!(
            file.id.0 as usize,
            self.first as usize + self.files.len(),
            "file ids are assigned in order"
        );
        self.files.push(file);
    }

    /// Drop the text of a file that no reporter will read again, keeping its id, name and path
    /// (locations in it are no longer available).
    pub fn release(&mut self, id: FileId) {
        if let Some(slot) =
            id.0.checked_sub(self.first)
                .and_then(|i| self.files.get_mut(i as usize))
        {
            let f = &**slot;
            *slot = Arc::new(SourceFile::new(
                id,
                f.name.clone(),
                f.path.clone(),
                String::new(),
                f.encoding,
            ));
        }
    }

    pub fn get(&self, id: FileId) -> &Arc<SourceFile> {
        &self.files[(id.0 - self.first) as usize]
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<SourceFile>> {
        self.files.iter()
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// Display name of a path: relative to the working directory when it is below it, with `/`
/// separators and no leading `./`.
pub fn display_name(path: &Path) -> String {
    let rel = std::env::current_dir()
        .ok()
        .and_then(|cwd| {
            let abs = if path.is_absolute() {
                path.to_path_buf()
            } else {
                cwd.join(path)
            };
            abs.strip_prefix(&cwd).ok().map(Path::to_path_buf)
        })
        .unwrap_or_else(|| path.to_path_buf());
    let mut s = rel.to_string_lossy().replace('\\', "/");
    while let Some(rest) = s.strip_prefix("./") {
        s = rest.to_owned();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_chars_and_handles_crlf() {
        let mut store = FileStore::new();
        let id = store.add_bytes("a", None, b"ab\r\n\xE9x y\r\nz");
        let f = store.get(id);
        assert_eq!(f.encoding, Encoding::Windows1252);
        // 'x' is the second character of line 2 although 'é' took two bytes once decoded.
        let off = f.text.find('x').unwrap();
        assert_eq!(f.line_col(off), LineCol { line: 2, column: 2 });
        assert_eq!(f.slice(f.line_span(1)), "ab");
        assert_eq!(f.line_col(f.text.len()), LineCol { line: 3, column: 2 });
    }

    #[test]
    fn compacted_file_keeps_exact_locations_of_kept_lines() {
        let text = "a\r\nb\u{e9}c\nset password ENC s3cr\nd\ne\nf\n";
        let full = SourceFile::from_text(FileId(0), "x".into(), None, text.into(), Encoding::Utf8);
        let mut c = SourceFile::from_text(FileId(0), "x".into(), None, text.into(), Encoding::Utf8);
        let secrets = crate::redact::secret_ranges(text);
        c.compact(&mut [(1, 2), (5, 5)], Some(&secrets));
        assert!(c.is_compacted() && c.text.is_empty());
        assert_eq!(c.len(), full.len());
        assert_eq!(c.line_count(), full.line_count());
        for line in [2, 3, 6] {
            let r = full.line_range(line);
            assert_eq!(c.line_range(line), r);
            for off in r.start..=r.end {
                assert_eq!(c.line_col(off), full.line_col(off), "offset {off}");
            }
            let span = full.line_span(line);
            assert_eq!(c.slice(span), full.slice(span));
        }
        // A line not kept is not there, and secrets stay masked.
        assert_eq!(c.slice(full.line_span(4)), "");
        let red = c.redacted();
        let r = full.line_range(3);
        assert!(
            !red.get(r.clone()).contains("s3cr"),
            "{}",
            red.get(r.clone())
        );
        assert_eq!(full.redacted().get(r.clone()), red.get(r));
    }

    /// UTF-8 with or without a BOM, and anything else as Windows-1252 (a BOM before invalid
    /// UTF-8 included, byte for byte).
    #[test]
    fn decoding() {
        for (bytes, text, enc) in [
            (&b"config\nend\n"[..], "config\nend\n", Encoding::Utf8),
            (
                b"\xEF\xBB\xBFconfig\r\nend",
                "config\r\nend",
                Encoding::Utf8Bom,
            ),
            (b"\xEF\xBB\xBF", "", Encoding::Utf8Bom),
            (b"caf\xE9 \x80\n", "café €\n", Encoding::Windows1252),
            (b"\xEF\xBB\xBFcaf\xE9", "ï»¿café", Encoding::Windows1252),
            (b"", "", Encoding::Utf8),
            ("é\n".as_bytes(), "é\n", Encoding::Utf8),
        ] {
            assert_eq!(decode(bytes.to_vec()), (text.to_string(), enc), "{bytes:?}");
            let f = SourceFile::from_bytes(FileId(0), "a".into(), None, bytes);
            assert_eq!((f.text.as_str(), f.encoding), (text, enc), "{bytes:?}");
            let ends = text.match_indices('\n').map(|(i, _)| i + 1);
            assert_eq!(
                f.line_starts,
                std::iter::once(0).chain(ends).collect::<Vec<_>>()
            );
        }
    }
}
