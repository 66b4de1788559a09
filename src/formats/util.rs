//! Helpers shared by line-oriented parsers: iterating lines with their byte offsets, and
//! shell-like tokenising with spans.

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

/// Lines with offsets.
pub fn lines(text: &str) -> impl Iterator<Item = Line<'_>> {
    let mut start = 0;
    let mut number = 0;
    text.split_inclusive('\n').map(move |raw| {
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

/// A token of a line: its unquoted text and its byte range in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub text: String,
    pub start: usize,
    pub end: usize,
}

impl Token {
    pub fn span(&self, file: FileId) -> Span {
        Span::new(file, self.start, self.end)
    }
}

/// Split a line into whitespace-separated tokens, honouring double and single quotes and
/// backslash escapes inside double quotes. `base` is the line's offset in the file.
pub fn tokenize(line: &str, base: usize) -> Vec<Token> {
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
        // Characters taken as they are are copied in runs: where the current run began.
        let mut run: Option<usize> = None;
        while let Some(&(j, c)) = chars.peek() {
            if c.is_whitespace() {
                break;
            }
            chars.next();
            end = j + c.len_utf8();
            if c == '"' || c == '\'' {
                if let Some(r) = run.take() {
                    text.push_str(&line[r..j]);
                }
                let q = c;
                let mut closed = false;
                while let Some((k, c2)) = chars.next() {
                    end = k + c2.len_utf8();
                    if c2 == q {
                        closed = true;
                        if let Some(r) = run.take() {
                            text.push_str(&line[r..k]);
                        }
                        break;
                    }
                    if c2 == '\\' && q == '"' {
                        if let Some(r) = run.take() {
                            text.push_str(&line[r..k]);
                        }
                        // The escaped character starts the next run.
                        if let Some((k2, c3)) = chars.next() {
                            end = k2 + c3.len_utf8();
                            run = Some(k2);
                        }
                        continue;
                    }
                    run.get_or_insert(k);
                }
                if !closed {
                    if let Some(r) = run.take() {
                        text.push_str(&line[r..end]);
                    }
                }
            } else {
                run.get_or_insert(j);
            }
        }
        if let Some(r) = run {
            text.push_str(&line[r..end]);
        }
        out.push(Token {
            text,
            start: base + start,
            end: base + end,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The character-by-character tokenizer that `tokenize` replaced, as the reference.
    fn tokenize_by_char(line: &str, base: usize) -> Vec<Token> {
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
                text,
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
