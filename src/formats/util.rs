//! Helpers shared by line-oriented parsers: iterating lines with their byte offsets, and
//! shell-like tokenising with spans.

use std::borrow::Cow;

use crate::source::{FileId, Span};

/// A line of a file with its byte offset (terminator excluded, trailing `\r` dropped).
#[derive(Clone, Copy, Debug)]
pub struct Line<'a> {
    pub number: usize,
    pub start: usize,
    pub text: &'a str,
}

impl Line<'_> {
    pub fn span(&self, file: FileId) -> Span {
        Span::new(file, self.start, self.start + self.text.len())
    }
}

/// The lines of a text with their terminators, as `str::split_inclusive('\n')` gives them, found
/// with `memchr` (the standard splitter searches anew for each line, which costs more than the
/// line on short lines).
fn raw_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut ends = memchr::memchr_iter(b'\n', text.as_bytes());
    let mut start = 0;
    std::iter::from_fn(move || {
        if start >= text.len() {
            return None;
        }
        let end = ends.next().map_or(text.len(), |e| e + 1);
        // A line ends after `\n` (ASCII) or at the end of the text: always a char boundary.
        let raw = &text[start..end];
        start = end;
        Some(raw)
    })
}

/// Lines with offsets.
pub fn lines(text: &str) -> impl Iterator<Item = Line<'_>> {
    let mut start = 0;
    let mut number = 0;
    raw_lines(text).map(move |raw| {
        number += 1;
        let s = start;
        start += raw.len();
        let t = raw.strip_suffix('\n').unwrap_or(raw);
        let t = t.strip_suffix('\r').unwrap_or(t);
        Line {
            number,
            start: s,
            text: t,
        }
    })
}

/// The lines of a text exactly as `str::lines` gives them (a `\r` is dropped only before a
/// `\n`), found faster: what the format sniffers scan.
pub fn text_lines(text: &str) -> impl Iterator<Item = &str> {
    raw_lines(text).map(|raw| match raw.strip_suffix('\n') {
        Some(line) => line.strip_suffix('\r').unwrap_or(line),
        None => raw,
    })
}

/// `str::trim`, byte by byte while the ends are ASCII (most lines of most exports); a line
/// with anything else at either end is trimmed by `str::trim`.
pub fn trim(s: &str) -> &str {
    let b = s.as_bytes();
    let white = |c: u8| matches!(c, b'\t'..=b'\r' | b' ');
    let mut i = 0;
    while i < b.len() && white(b[i]) {
        i += 1;
    }
    let mut j = b.len();
    while j > i && white(b[j - 1]) {
        j -= 1;
    }
    if i < j && (!b[i].is_ascii() || !b[j - 1].is_ascii()) {
        return s.trim();
    }
    &s[i..j]
}

/// Whether `needle` occurs in `hay`, by memchr's SIMD substring search: `str::contains` (Two-Way,
/// byte at a time) was most of what the sniffers spent on a JSON or XML head.
pub fn has(hay: &str, needle: &str) -> bool {
    memchr::memmem::find(hay.as_bytes(), needle.as_bytes()).is_some()
}

/// Whether JSON `text` has the member name `key` (with its quotes) followed by `:` and, when
/// `value` is given, by that value (a literal, such as a quoted string), JSON white space
/// allowed around the colon. Found by SIMD substring search for the key, without copying the
/// text.
pub fn has_member(text: &str, key: &str, value: Option<&str>) -> bool {
    fn skip_ws(b: &[u8]) -> &[u8] {
        let n = b
            .iter()
            .take_while(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r'))
            .count();
        &b[n..]
    }
    let b = text.as_bytes();
    let finder = memchr::memmem::Finder::new(key.as_bytes());
    // Every occurrence, overlapping ones too (`find_iter` skips those).
    let mut from = 0;
    while let Some(i) = finder.find(&b[from..]) {
        let at = from + i;
        if let Some(rest) = skip_ws(&b[at + key.len()..]).strip_prefix(b":") {
            if value.is_none_or(|v| skip_ws(rest).starts_with(v.as_bytes())) {
                return true;
            }
        }
        from = at + 1;
    }
    false
}

/// A token of a line: its unquoted text and its byte range in the file. The text borrows from
/// the line unless unquoting joined several pieces or dropped an escape (`d\\"e`, `a"b c"`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token<'a> {
    pub text: Cow<'a, str>,
    pub start: usize,
    pub end: usize,
}

impl Token<'_> {
    pub fn span(&self, file: FileId) -> Span {
        Span::new(file, self.start, self.end)
    }
}

/// The text of a token as its pieces come: borrowed while there is one.
enum Pieces<'a> {
    None,
    One(&'a str),
    Joined(String),
}

impl<'a> Pieces<'a> {
    fn push(&mut self, piece: &'a str) {
        match self {
            Pieces::None => *self = Pieces::One(piece),
            Pieces::One(first) => {
                let mut joined = String::with_capacity(first.len() + piece.len());
                joined.push_str(first);
                joined.push_str(piece);
                *self = Pieces::Joined(joined);
            }
            Pieces::Joined(joined) => joined.push_str(piece),
        }
    }

    fn finish(self) -> Cow<'a, str> {
        match self {
            Pieces::None => Cow::Borrowed(""),
            Pieces::One(s) => Cow::Borrowed(s),
            Pieces::Joined(s) => Cow::Owned(s),
        }
    }
}

/// The length of the UTF-8 character that starts with byte `b`.
fn char_len(b: u8) -> usize {
    match b {
        0..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}

/// Whether the character at byte `i` of `line` (a character boundary) is white space
/// (`char::is_whitespace`), byte by byte when it is ASCII.
fn whitespace_at(line: &str, i: usize) -> bool {
    match line.as_bytes()[i] {
        b'\t'..=b'\r' | b' ' => true,
        0..=0x7f => false,
        _ => line[i..].chars().next().is_some_and(char::is_whitespace),
    }
}

/// The position of the first byte from `from` on that ends a plain run of a JSON string: a
/// quote, a backslash or a control character (`b.len()` when there is none). Eight bytes at a
/// time: the classic zero-byte tests on the word (`v - 0x01..` and `!v` and `0x80..`) flag a
/// byte of each kind, and a flag can be wrong only above a right one of the same test, so the
/// lowest flag of the three is the first such byte.
pub fn json_run_end(b: &[u8], from: usize) -> usize {
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    const HIGHS: u64 = ONES << 7;
    let zero_bytes = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
    let mut i = from;
    while let Some(word) = b.get(i..i + 8) {
        let x = u64::from_le_bytes(word.try_into().expect("eight bytes"));
        let flags = zero_bytes(x ^ (ONES * u64::from(b'"')))
            | zero_bytes(x ^ (ONES * u64::from(b'\\')))
            | (x.wrapping_sub(ONES * 0x20) & !x & HIGHS);
        if flags != 0 {
            return i + (flags.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(&c) = b.get(i) {
        if c == b'"' || c == b'\\' || c < 0x20 {
            break;
        }
        i += 1;
    }
    i
}

/// Split a line into whitespace-separated tokens, honouring double and single quotes and
/// backslash escapes inside double quotes. `base` is the line's offset in the file.
pub fn tokenize(line: &str, base: usize) -> Vec<Token<'_>> {
    let b = line.as_bytes();
    let n = b.len();
    let mut out = Vec::new();
    let mut i = 0;
    while i < n {
        if whitespace_at(line, i) {
            i += char_len(b[i]);
            continue;
        }
        let start = i;
        let mut text = Pieces::None;
        // Characters taken as they are are copied in runs: where the current run began.
        let mut run: Option<usize> = None;
        while i < n && !whitespace_at(line, i) {
            let j = i;
            i += char_len(b[j]);
            if b[j] == b'"' || b[j] == b'\'' {
                if let Some(r) = run.take() {
                    text.push(&line[r..j]);
                }
                let q = b[j];
                let mut closed = false;
                while i < n {
                    let k = i;
                    i += char_len(b[k]);
                    if b[k] == q {
                        closed = true;
                        if let Some(r) = run.take() {
                            text.push(&line[r..k]);
                        }
                        break;
                    }
                    if b[k] == b'\\' && q == b'"' {
                        if let Some(r) = run.take() {
                            text.push(&line[r..k]);
                        }
                        // The escaped character starts the next run.
                        if i < n {
                            run = Some(i);
                            i += char_len(b[i]);
                        }
                        continue;
                    }
                    run.get_or_insert(k);
                }
                if !closed {
                    if let Some(r) = run.take() {
                        text.push(&line[r..i]);
                    }
                }
            } else {
                run.get_or_insert(j);
            }
        }
        if let Some(r) = run {
            text.push(&line[r..i]);
        }
        out.push(Token {
            text: text.finish(),
            start: base + start,
            end: base + i,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On random texts of line ends, CRs and multi-byte characters, `lines` splits and numbers
    /// as `split_inclusive('\n')` with the terminator and a CR dropped, and `text_lines` gives
    /// what `str::lines` gives.
    #[test]
    fn lines_split_as_the_standard_library() {
        const PIECES: &[&str] = &["a", "bc", " ", "\n", "\r", "\r\n", "é", "\n\n"];
        let mut rng = crate::testing::Rng(0x11e5);
        for round in 0..2_000 {
            let count = rng.below(12);
            let text = rng.text(PIECES, count);
            let want: Vec<&str> = text.lines().collect();
            assert_eq!(
                text_lines(&text).collect::<Vec<_>>(),
                want,
                "{round}: {text:?}"
            );
            let mut at = 0;
            let want: Vec<(usize, usize, &str)> = text
                .split_inclusive('\n')
                .enumerate()
                .map(|(i, raw)| {
                    let s = at;
                    at += raw.len();
                    let t = raw.strip_suffix('\n').unwrap_or(raw);
                    (i + 1, s, t.strip_suffix('\r').unwrap_or(t))
                })
                .collect();
            let got: Vec<(usize, usize, &str)> =
                lines(&text).map(|l| (l.number, l.start, l.text)).collect();
            assert_eq!(got, want, "{round}: {text:?}");
        }
    }

    /// The word-at-a-time scan stops where a byte-by-byte one does, from every start, on random
    /// texts of quotes, backslashes, control, high (UTF-8) and plain bytes near word edges.
    #[test]
    fn json_run_end_is_the_first_quote_backslash_or_control_byte() {
        let naive = |b: &[u8], from: usize| {
            (from..b.len())
                .find(|&i| b[i] == b'"' || b[i] == b'\\' || b[i] < 0x20)
                .unwrap_or(b.len())
        };
        let mut rng = crate::testing::Rng(0x51_7CC1_B727_220A);
        let pieces: [&[u8]; 9] = [
            b"a",
            b"\"",
            b"\\",
            b"\n",
            b"\x1f",
            b" ",
            b"\x7f",
            "\u{e9}".as_bytes(),
            b"\x80\x9f",
        ];
        for _ in 0..5_000 {
            let n = rng.below(40);
            let mut text = Vec::new();
            for _ in 0..n {
                // Mostly plain bytes, so runs are long enough to cross words.
                if rng.below(4) == 0 {
                    text.extend_from_slice(pieces[rng.below(pieces.len() as u64) as usize]);
                } else {
                    text.push(b'a' + rng.below(26) as u8);
                }
            }
            for from in 0..=text.len() {
                assert_eq!(
                    json_run_end(&text, from),
                    naive(&text, from),
                    "{text:?} from {from}"
                );
            }
        }
    }

    /// `has_member` answers as a search of the text with its JSON white space dropped (what
    /// the GCP sniffer did before), on texts whose white space lies between tokens.
    #[test]
    fn has_member_is_a_search_without_white_space() {
        const PIECES: &[&str] = &[
            "\"kind\"",
            "\"allowed\"",
            ":",
            " ",
            "\t",
            "\n",
            "\r",
            "\"compute#firewall\"",
            "\"x\"",
            ",",
            "{",
            "[",
            "\"kind",
            "é",
        ];
        let mut rng = crate::testing::Rng(0x5eed);
        for round in 0..5_000 {
            let count = rng.below(12);
            let text = rng.text(PIECES, count);
            let compact: String = text.chars().filter(|c| !" \t\n\r".contains(*c)).collect();
            for (key, value, joined) in [
                (
                    "\"kind\"",
                    Some("\"compute#firewall\""),
                    "\"kind\":\"compute#firewall\"",
                ),
                ("\"allowed\"", None, "\"allowed\":"),
            ] {
                assert_eq!(
                    has_member(&text, key, value),
                    compact.contains(joined),
                    "{round}: {text:?}"
                );
            }
        }
    }

    /// The character-by-character tokenizer that `tokenize` replaced, as the reference.
    fn tokenize_by_char(line: &str, base: usize) -> Vec<Token<'_>> {
        let mut out = Vec::new();
        let mut chars = line.char_indices().peekable();
        while let Some(&(i, c)) = chars.peek() {
            if c.is_whitespace() {
                chars.next();
                continue;
            }
            let start = i;
            let mut text = String::new();
            let mut end = i;
            while let Some(&(j, c)) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                chars.next();
                end = j + c.len_utf8();
                if c == '"' || c == '\'' {
                    let q = c;
                    while let Some((k, c2)) = chars.next() {
                        end = k + c2.len_utf8();
                        if c2 == q {
                            break;
                        }
                        if c2 == '\\' && q == '"' {
                            if let Some((k2, c3)) = chars.next() {
                                end = k2 + c3.len_utf8();
                                text.push(c3);
                            }
                            continue;
                        }
                        text.push(c2);
                    }
                } else {
                    text.push(c);
                }
            }
            out.push(Token {
                text: Cow::Owned(text),
                start: base + start,
                end: base + end,
            });
        }
        out
    }

    #[test]
    fn tokenize_copies_runs_exactly_as_char_by_char() {
        let alphabet: Vec<char> = "ab \t\"'\\xé€\u{3000}-:".chars().collect();
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let len = (next() % 24) as usize;
            let line: String = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            assert_eq!(tokenize(&line, 7), tokenize_by_char(&line, 7), "{line:?}");
        }
    }

    /// Random strings of ASCII and Unicode white space and other characters: trimmed as
    /// `str::trim` trims them.
    #[test]
    fn trim_is_str_trim() {
        let pieces = [
            " ", "\t", "\u{b}", "\r", "\n", "a", "é", "\u{a0}", "\u{3000}", "\u{85}", "x y",
        ];
        let mut rng = crate::testing::Rng(0x7E1A_A11B);
        for _ in 0..5_000 {
            let n = rng.below(7);
            let s = rng.text(&pieces, n);
            assert_eq!(trim(&s), s.trim(), "{s:?}");
        }
    }

    /// A token is a slice of the line unless unquoting joined pieces or dropped an escape.
    #[test]
    fn tokens_borrow_from_the_line_unless_unquoting_changed_them() {
        let t = tokenize(r#"set "A B" 'c' "a\"b" a"b c" "open"#, 0);
        let owned: Vec<(&str, bool)> = t
            .iter()
            .map(|t| (&*t.text, matches!(t.text, Cow::Owned(_))))
            .collect();
        assert_eq!(
            owned,
            [
                ("set", false),
                ("A B", false),
                ("c", false),
                ("a\"b", true),
                ("ab c", true),
                ("open", false),
            ]
        );
    }

    #[test]
    fn tokens_keep_offsets() {
        let t = tokenize(r#"  set member "A B" 'c' d\"e"#, 10);
        assert_eq!(t[0].text, "set");
        assert_eq!(t[0].start, 12);
        assert_eq!(t[2].text, "A B");
        assert_eq!((t[2].start, t[2].end), (23, 28));
        assert_eq!(t[3].text, "c");
    }

    #[test]
    fn lines_have_offsets() {
        let l: Vec<_> = lines("a\r\nbc\n\nd").collect();
        assert_eq!(l.len(), 4);
        assert_eq!((l[1].start, l[1].text, l[1].number), (3, "bc", 2));
        assert_eq!(l[3].text, "d");
    }
}
