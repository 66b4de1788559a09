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
    pub text: Arc<str>,
    pub encoding: Encoding,
    line_starts: Vec<usize>,
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

    /// Decode bytes into a file with a known id.
    pub fn from_bytes(id: FileId, name: String, path: Option<PathBuf>, bytes: &[u8]) -> Self {
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
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        SourceFile {
            id,
            name,
            path,
            text: Arc::from(text),
            encoding,
            line_starts,
        }
    }

    /// Line and column of a byte offset (clamped to the text, and to a char boundary).
    pub fn line_col(&self, offset: usize) -> LineCol {
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
        self.line_starts.len()
    }

    /// The span of a whole line (1-based).
    pub fn line_span(&self, line: usize) -> Span {
        let r = self.line_range(line);
        Span::new(self.id, r.start, r.end)
    }

    pub fn slice(&self, span: Span) -> &str {
        let end = span.end.min(self.text.len());
        let start = span.start.min(end);
        self.text.get(start..end).unwrap_or("")
    }
}

/// Decode raw bytes: UTF-8 (a BOM is dropped), otherwise Windows-1252 byte by byte, so that a
/// stray Latin-1 byte in a comment never loses the file.
pub fn decode(bytes: &[u8]) -> (String, Encoding) {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        if let Ok(s) = std::str::from_utf8(rest) {
            return (s.to_owned(), Encoding::Utf8Bom);
        }
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => (s.to_owned(), Encoding::Utf8),
        Err(_) => (
            bytes.iter().map(|&b| cp1252(b)).collect(),
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

/// Append-only store of every source file of a run.
#[derive(Debug, Default)]
pub struct FileStore {
    files: Vec<Arc<SourceFile>>,
}

impl FileStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Add decoded text under a display name.
    pub fn add_text(
        &mut self,
        name: impl Into<String>,
        path: Option<PathBuf>,
        text: String,
        encoding: Encoding,
    ) -> FileId {
        let id = FileId(self.files.len() as u32);
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
        let (text, enc) = decode(bytes);
        self.add_text(name, path, text, enc)
    }

    /// Insert a file built with [`SourceFile::from_text`]/[`SourceFile::from_bytes`]; its id must be
    /// the next one.
    pub fn insert(&mut self, file: SourceFile) {
        assert_eq!(
            file.id.0 as usize,
            self.files.len(),
            "file ids are assigned in order"
        );
        self.files.push(Arc::new(file));
    }

    pub fn get(&self, id: FileId) -> &Arc<SourceFile> {
        &self.files[id.0 as usize]
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
    fn bom_is_dropped() {
        let (t, e) = decode(b"\xEF\xBB\xBFconfig");
        assert_eq!(t, "config");
        assert_eq!(e, Encoding::Utf8Bom);
    }
}
