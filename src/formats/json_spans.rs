//! A small JSON reader that keeps the byte range of every value, for the JSON-based formats
//! (nftables `-j`, AWS, Azure, GCP): rules point at their object in the file.
//!
//! The reader is iterative over nesting only up to `max_depth` (deeper input is an error, never a
//! stack overflow), and a syntax error reports the byte offset where it was found, so a cut file
//! becomes an input issue on the right line.

/// The error for documents nested past [`crate::formats::Limits::max_depth`].
const NESTING: &str = "JSON nesting deeper than the configured limit";

/// A JSON value with the byte range it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct JVal {
    pub start: usize,
    pub end: usize,
    pub kind: JKind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum JKind {
    Null,
    Bool(bool),
    /// Numbers are kept as written (`22`, `-1`, `1.5`).
    Num(String),
    Str(String),
    Arr(Vec<JVal>),
    /// Members in file order; keys keep their own range.
    Obj(Vec<(JKey, JVal)>),
}

/// An object key with its range.
#[derive(Clone, Debug, PartialEq)]
pub struct JKey {
    pub start: usize,
    pub end: usize,
    pub name: String,
}

/// A syntax error and where it was found.
#[derive(Clone, Debug, PartialEq)]
pub struct JError {
    pub offset: usize,
    pub message: String,
}

impl JVal {
    pub fn get(&self, key: &str) -> Option<&JVal> {
        match &self.kind {
            JKind::Obj(m) => m.iter().find(|(k, _)| k.name == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Case-insensitive key look-up (cloud exports differ in key case between tools).
    pub fn get_ci(&self, key: &str) -> Option<&JVal> {
        match &self.kind {
            JKind::Obj(m) => m
                .iter()
                .find(|(k, _)| k.name.eq_ignore_ascii_case(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            JKind::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A string, or a number or boolean rendered as text.
    pub fn as_text(&self) -> Option<String> {
        match &self.kind {
            JKind::Str(s) => Some(s.clone()),
            JKind::Num(n) => Some(n.clone()),
            JKind::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match &self.kind {
            JKind::Num(n) => n
                .parse::<i64>()
                .ok()
                .or_else(|| n.parse::<f64>().ok().map(|f| f as i64)),
            JKind::Str(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match &self.kind {
            JKind::Bool(b) => Some(*b),
            JKind::Str(s) if s.eq_ignore_ascii_case("true") => Some(true),
            JKind::Str(s) if s.eq_ignore_ascii_case("false") => Some(false),
            _ => None,
        }
    }

    pub fn as_arr(&self) -> Option<&[JVal]> {
        match &self.kind {
            JKind::Arr(a) => Some(a),
            _ => None,
        }
    }

    pub fn members(&self) -> &[(JKey, JVal)] {
        match &self.kind {
            JKind::Obj(m) => m,
            _ => &[],
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.kind, JKind::Null)
    }
}

/// Parse a whole document. Leading BOM and surrounding whitespace are allowed.
pub fn parse(text: &str, max_depth: usize) -> Result<JVal, JError> {
    let mut p = P {
        b: text.as_bytes(),
        s: text,
        i: 0,
        max_depth,
    };
    if text.starts_with('\u{feff}') {
        p.i = 3;
    }
    p.ws();
    let v = p.value(0)?;
    p.ws();
    if p.i < p.b.len() {
        return Err(p.err("unexpected text after the JSON value"));
    }
    Ok(v)
}

struct P<'a> {
    b: &'a [u8],
    s: &'a str,
    i: usize,
    max_depth: usize,
}

impl P<'_> {
    fn err(&self, m: &str) -> JError {
        JError {
            offset: self.i.min(self.b.len()),
            message: m.to_string(),
        }
    }

    fn ws(&mut self) {
        while let Some(&c) = self.b.get(self.i) {
            if c == b' ' || c == b'\n' || c == b'\r' || c == b'\t' {
                self.i += 1;
            } else {
                break;
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<JVal, JError> {
        if depth > self.max_depth {
            return Err(self.err(NESTING));
        }
        let start = self.i;
        let Some(&c) = self.b.get(self.i) else {
            return Err(self.err("the file ends where a JSON value was expected"));
        };
        let kind = match c {
            b'{' => {
                self.i += 1;
                let mut members = Vec::new();
                self.ws();
                if self.b.get(self.i) == Some(&b'}') {
                    self.i += 1;
                } else {
                    loop {
                        self.ws();
                        if self.b.get(self.i) != Some(&b'"') {
                            return Err(self.err("expected a quoted object key"));
                        }
                        let ks = self.i;
                        let name = self.string()?;
                        let key = JKey {
                            start: ks,
                            end: self.i,
                            name,
                        };
                        self.ws();
                        if self.b.get(self.i) != Some(&b':') {
                            return Err(self.err("expected ':' after an object key"));
                        }
                        self.i += 1;
                        self.ws();
                        let v = self.value(depth + 1)?;
                        members.push((key, v));
                        self.ws();
                        match self.b.get(self.i) {
                            Some(b',') => self.i += 1,
                            Some(b'}') => {
                                self.i += 1;
                                break;
                            }
                            Some(_) => return Err(self.err("expected ',' or '}' in an object")),
                            None => return Err(self.err("the file ends inside an object")),
                        }
                    }
                }
                JKind::Obj(members)
            }
            b'[' => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.b.get(self.i) == Some(&b']') {
                    self.i += 1;
                } else {
                    loop {
                        self.ws();
                        items.push(self.value(depth + 1)?);
                        self.ws();
                        match self.b.get(self.i) {
                            Some(b',') => self.i += 1,
                            Some(b']') => {
                                self.i += 1;
                                break;
                            }
                            Some(_) => return Err(self.err("expected ',' or ']' in an array")),
                            None => return Err(self.err("the file ends inside an array")),
                        }
                    }
                }
                JKind::Arr(items)
            }
            b'"' => JKind::Str(self.string()?),
            b't' => self.lit("true", JKind::Bool(true))?,
            b'f' => self.lit("false", JKind::Bool(false))?,
            b'n' => self.lit("null", JKind::Null)?,
            b'-' | b'0'..=b'9' => {
                while let Some(&c) = self.b.get(self.i) {
                    if c.is_ascii_digit() || matches!(c, b'-' | b'+' | b'.' | b'e' | b'E') {
                        self.i += 1;
                    } else {
                        break;
                    }
                }
                let t = &self.s[start..self.i];
                if t.parse::<f64>().is_err() {
                    return Err(JError {
                        offset: start,
                        message: "malformed number".into(),
                    });
                }
                JKind::Num(t.to_string())
            }
            _ => return Err(self.err("unexpected character where a JSON value was expected")),
        };
        Ok(JVal {
            start,
            end: self.i,
            kind,
        })
    }

    fn lit(&mut self, word: &str, k: JKind) -> Result<JKind, JError> {
        if self.b[self.i..].starts_with(word.as_bytes()) {
            self.i += word.len();
            Ok(k)
        } else {
            Err(self.err("unexpected word where a JSON value was expected"))
        }
    }

    /// A string starting at the opening quote; leaves `i` after the closing quote.
    fn string(&mut self) -> Result<String, JError> {
        self.i += 1;
        let mut out = String::new();
        loop {
            let run_start = self.i;
            self.i = super::util::json_run_end(self.b, self.i);
            // Runs stop at ASCII bytes only, so the slice is on char boundaries.
            if out.is_empty() && self.b.get(self.i) == Some(&b'"') {
                // No escape: the string is this one run.
                let whole = self.s[run_start..self.i].to_owned();
                self.i += 1;
                return Ok(whole);
            }
            out.push_str(&self.s[run_start..self.i]);
            match self.b.get(self.i) {
                Some(b'"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.i += 1;
                    let Some(&e) = self.b.get(self.i) else {
                        return Err(self.err("the file ends inside a string"));
                    };
                    self.i += 1;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let cp = self.hex4()?;
                            if (0xd800..0xdc00).contains(&cp)
                                && self.b.get(self.i) == Some(&b'\\')
                                && self.b.get(self.i + 1) == Some(&b'u')
                            {
                                self.i += 2;
                                let lo = self.hex4()?;
                                let c = if (0xdc00..0xe000).contains(&lo) {
                                    0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00)
                                } else {
                                    0xfffd
                                };
                                out.push(char::from_u32(c).unwrap_or('\u{fffd}'));
                            } else {
                                out.push(char::from_u32(cp).unwrap_or('\u{fffd}'));
                            }
                        }
                        _ => return Err(self.err("invalid escape in a string")),
                    }
                }
                Some(_) => return Err(self.err("control character inside a string")),
                None => return Err(self.err("the file ends inside a string")),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, JError> {
        let h = self
            .s
            .get(self.i..self.i + 4)
            .and_then(|h| u32::from_str_radix(h, 16).ok());
        match h {
            Some(v) => {
                self.i += 4;
                Ok(v)
            }
            None => Err(self.err("invalid \\u escape")),
        }
    }
}

/// Sniffing helper: the text looks like JSON (after whitespace it starts with `{` or `[`).
pub fn looks_like_json(text: &str) -> bool {
    matches!(
        text.trim_start_matches('\u{feff}')
            .trim_start()
            .as_bytes()
            .first(),
        Some(b'{') | Some(b'[')
    )
}

/// JSON of another product that mentions look-alike keys: uContact settings dumps and Check
/// Point management exports. JSON sniffers return 0 for them.
pub fn foreign_json(text: &str) -> bool {
    use super::util::has;
    has(text, "ucontact-settings")
        || has(text, "\"objects-dictionary\"")
        || has(text, "\"rulebase\"")
}

/// Helpers shared by the cloud formats (AWS, Azure, GCP).
pub mod cloud {
    use super::{JError, NESTING};
    use crate::model::{FeatureState, InputIssue};
    use crate::sets::{self, AddrSet, PortSet};
    use crate::source::SourceFile;

    /// Cloud packet filters have no SIP ALG: off, as a property of the platform.
    pub fn sip_off(file: &SourceFile, what: &str) -> FeatureState {
        FeatureState {
            enabled: false,
            span: file.line_span(1),
            default: true,
            reason: format!("{what} have no SIP ALG"),
            related: Vec::new(),
        }
    }

    /// A JSON syntax error as an input issue on its line.
    pub fn syntax_issue(file: &SourceFile, e: &JError) -> InputIssue {
        let mut line = file.line_col(e.offset).line;
        // At the end of a cut file, name the last line that has text.
        while line > 1 && file.slice(file.line_span(line)).trim().is_empty() {
            line -= 1;
        }
        InputIssue {
            span: file.line_span(line),
            message: if e.message == NESTING {
                format!("{NESTING} (--max-depth, limits: max-depth in portaudit.yaml); the rest of the file is not read")
            } else {
                format!("JSON syntax error: {} (file truncated?)", e.message)
            },
        }
    }

    /// `22`, `10000-20000`, `*` (any).
    pub fn port_range(s: &str) -> Option<PortSet> {
        let s = s.trim();
        if s == "*" || s.eq_ignore_ascii_case("any") {
            return Some(PortSet::full());
        }
        match s.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (
                    a.trim().parse::<u128>().ok()?,
                    b.trim().parse::<u128>().ok()?,
                );
                (a <= b && b <= 65535).then(|| PortSet::range(a, b))
            }
            None => {
                let p = s.parse::<u128>().ok()?;
                (p <= 65535).then(|| PortSet::single(p))
            }
        }
    }

    /// Private and shared address space (RFC 1918, RFC 6598, loopback, link-local, ULA).
    pub fn private_space() -> AddrSet {
        [
            "10.0.0.0/8",
            "172.16.0.0/12",
            "192.168.0.0/16",
            "100.64.0.0/10",
            "127.0.0.0/8",
            "169.254.0.0/16",
            "fc00::/7",
            "fe80::/10",
            "::1/128",
        ]
        .iter()
        .filter_map(|n| sets::parse_net(n))
        .fold(AddrSet::empty(), |a, b| a.union(&b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_cover_values() {
        let t = r#"{"a": [1, {"b": "x\"y"}], "c": null}"#;
        let v = parse(t, 8).unwrap();
        let a = v.get("a").unwrap();
        assert_eq!(&t[a.start..a.end], r#"[1, {"b": "x\"y"}]"#);
        let inner = &a.as_arr().unwrap()[1];
        assert_eq!(&t[inner.start..inner.end], r#"{"b": "x\"y"}"#);
        assert_eq!(inner.get("b").unwrap().as_str(), Some("x\"y"));
        assert!(v.get("c").unwrap().is_null());
    }

    /// Strings of quotes, backslashes, control characters, multi-byte and astral characters,
    /// written by serde_json (escapes as `\\uXXXX` and surrogate pairs included), read back.
    #[test]
    fn strings_read_back_what_serde_json_wrote() {
        for (s, written) in crate::testing::json_strings(0xC0FF_EE12_3456) {
            for w in written {
                assert_eq!(parse(&w, 8).unwrap().as_str(), Some(s.as_str()), "{w}");
            }
        }
        assert!(parse("\"abc", 8).is_err());
        assert!(parse("\"ab\\", 8).is_err());
    }

    #[test]
    fn errors_have_offsets() {
        let t = "{\n \"a\": [1, 2,\n";
        let e = parse(t, 8).unwrap_err();
        assert_eq!(e.offset, t.len());
        let deep = "[".repeat(100);
        assert!(parse(&deep, 64).unwrap_err().message.contains("deeper"));
        assert!(parse("{\"a\" 1}", 8).is_err());
        assert_eq!(parse("\"\\u00e9\"", 8).unwrap().as_str(), Some("é"));
    }
}

#[cfg(test)]
mod robustness {
    use crate::formats::{aws, azure, gcp, nftables, Limits};
    use crate::source::{Encoding, FileId, SourceFile};

    /// Every prefix of every fixture of the four formats parses without panic.
    #[test]
    fn truncated_fixtures_never_panic() {
        let root = format!("{}/fixtures", env!("CARGO_MANIFEST_DIR"));
        let parsers: [fn(&SourceFile, &Limits) -> crate::model::Config; 4] =
            [nftables::parse, aws::parse, azure::parse, gcp::parse];
        for fmt in ["nftables", "aws", "azure", "gcp"] {
            for sub in ["", "corpus"] {
                let dir = format!("{root}/{fmt}/{sub}");
                for e in std::fs::read_dir(&dir).unwrap() {
                    let p = e.unwrap().path();
                    if p.is_dir() || p.extension().is_some_and(|x| x == "md") {
                        continue;
                    }
                    let text = std::fs::read_to_string(&p).unwrap();
                    let step = (text.len() / 60).max(1);
                    let mut cut = 0;
                    while cut < text.len() {
                        if text.is_char_boundary(cut) {
                            let f = SourceFile::from_text(
                                FileId(0),
                                "t".into(),
                                None,
                                text[..cut].to_string(),
                                Encoding::Utf8,
                            );
                            for parse in parsers {
                                let _ = parse(&f, &Limits::default());
                            }
                        }
                        cut += step;
                    }
                }
            }
        }
    }
}
