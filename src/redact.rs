//! Secret redaction for everything that shows source text (snippets in text, Markdown and HTML
//! reports). Values are masked with `*` byte for byte, so spans and columns stay correct.

use std::sync::LazyLock;

use regex::Regex;

/// Patterns whose named group `v` is a secret value and whose matches never cross a line end
/// (their parts are `[ \t]`, `\S`, `.`, `[^"\r\n]`, digits, words and anchors), so each
/// line can be searched on its own.
static LINE_PATTERNS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    LINE_SOURCES
        .iter()
        .map(|p| Regex::new(p).expect("valid redaction pattern"))
        .collect()
});

/// [`LINE_PATTERNS`] as one set: a candidate line is searched once for which of them match,
/// and only those are asked for their captures.
static LINE_SET: LazyLock<regex::RegexSet> =
    LazyLock::new(|| regex::RegexSet::new(LINE_SOURCES).expect("valid redaction patterns"));

/// The sources of [`LINE_PATTERNS`] and [`LINE_SET`].
const LINE_SOURCES: [&str; 11] = [
    // FortiOS: set password ENC xxx / set psksecret ENC xxx / set passwd / set key
    r#"(?im)^[ \t]*set[ \t]+(?:password|passwd|psksecret|psk|secret|key|auth-pwd|passphrase|private-key|community|sso-password|ldap-password|radius-secret|server-key|tacacs-key|pre-shared-key|secondary-secret|tertiary-secret|ppk-secret|auth-password|priv-password|query-password|ddns-password)[ \t]+(?:ENC[ \t]+)?(?P<v>"[^"\r\n]*"|\S+)"#,
    // Cisco: enable secret/password, username ... password/secret, key strings
    r#"(?im)\b(?:secret|password|key-string|pre-shared-key|ikev1[ \t]+pre-shared-key|ikev2[ \t]+(?:local|remote)-authentication[ \t]+pre-shared-key)[ \t]+(?:\d+[ \t]+|ENC[ \t]+)?(?P<v>\S+)"#,
    // Cisco IKE keys: crypto isakmp key X address ..., keyring pre-shared-key address A key X,
    // tacacs-server/radius-server key, a `key 7 X` line
    r#"(?im)\bisakmp[ \t]+key[ \t]+(?:\d+[ \t]+)?(?P<v>\S+)"#,
    r#"(?im)\bpre-shared-key[ \t]+(?:address|hostname)[ \t]+\S+(?:[ \t]+\S+)?[ \t]+key[ \t]+(?:\d+[ \t]+)?(?P<v>\S+)"#,
    r#"(?im)^[ \t]*(?:(?:tacacs-server|radius-server)[ \t]+(?:host[ \t]+\S+[ \t]+)?)?key[ \t]+(?:\d+[ \t]+)?(?P<v>\S+)"#,
    // SNMP communities (Cisco, generic)
    r#"(?im)\bsnmp-server[ \t]+community[ \t]+(?P<v>\S+)"#,
    r#"(?im)\bcommunity[ \t]+(?P<v>"[^"\r\n]*"|\S+)"#,
    // Junos: encrypted-password / pre-shared-key ascii-text
    r#"(?im)\b(?:encrypted-password|ascii-text|hexadecimal|authentication-key|md5[ \t]+\d+[ \t]+key)[ \t]+(?P<v>"[^"\r\n]*"|\S+)"#,
    // RouterOS: password=xxx secret=xxx
    r#"(?i)\b(?:password|secret|passphrase|wpa2-pre-shared-key|wpa-pre-shared-key|authentication-key)=(?P<v>"[^"\r\n]*"|\S+)"#,
    // YAML keys
    r#"(?im)^[ \t]*(?:password|secret|psk|api_key|token|private_key)[ \t]*:[ \t]*(?P<v>\S.*)$"#,
    // iptables-save never holds secrets; nftables neither. AWS keys anywhere:
    r#"(?P<v>\bAKIA[0-9A-Z]{16}\b)"#,
];

/// Patterns whose value may run over several lines, as (start, value): a match starts with a
/// match of the start on one line, so the whole text is searched only when some line holds one.
static TEXT_PATTERNS: LazyLock<Vec<(Regex, Regex)>> = LazyLock::new(|| {
    [
        // XML exports (PAN-OS phash, pfSense/OPNsense passwords, keys)
        (
            r#"(?i)<(?:phash|password|bcrypt-hash|sha512-hash|passwd|pre-shared-key|psk|secret|key|private-key|api_key|apikey|community|rocommunity|authkey|md5-hash)>"#,
            r#"(?P<v>[^<]+)</"#,
        ),
        // JSON keys
        (
            r#"(?i)"[a-z_-]*(?:password|passwd|secret|psk|presharedkey|privatekey|apikey|api_key|accesskey|access_key|sharedkey|authkey|token)"[ \t]*:[ \t]*"#,
            r#"(?P<v>"[^"]*")"#,
        ),
    ]
    .iter()
    .map(|(start, value)| {
        (
            Regex::new(&format!("{start}{value}")).expect("valid redaction pattern"),
            Regex::new(start).expect("valid redaction pattern"),
        )
    })
    .collect()
});

/// Every match of every pattern holds one of these words on the line where it starts, in ASCII
/// letters of either case: a line of ASCII without any cannot start a match. (Unicode case
/// folding lets a few other letters match, `K` for `k`, `ſ` for `s`; lines with anything but
/// ASCII are therefore always searched.)
const KEYWORDS: [&str; 11] = [
    "pass",
    "pwd",
    "psk",
    "secret",
    "key",
    "community",
    "ascii-text",
    "hexadecimal",
    "hash",
    "token",
    "akia",
];

/// The keywords' searcher (Aho-Corasick, SIMD-accelerated, one pass for all of them, over
/// lower-cased text).
static FINDER: LazyLock<aho_corasick::AhoCorasick> = LazyLock::new(|| {
    aho_corasick::AhoCorasick::builder()
        .match_kind(aho_corasick::MatchKind::LeftmostFirst)
        .build(KEYWORDS)
        .expect("the redaction keywords build a searcher")
});

/// Bytes of text lower-cased and searched at a time: a copy of the whole text would double a
/// large configuration's memory.
const CHUNK: usize = 64 * 1024;

/// Where keywords start in `text`, ASCII case ignored (as `(?i-u)` would), in order: every
/// keyword found left to right without overlap, so a keyword that starts inside one found
/// (on the same line) may be left out, and every line with a keyword has a start. The text is
/// lower-cased `chunk` bytes at a time, each chunk with the bytes after it that a keyword
/// starting inside it can reach.
fn keyword_starts(text: &[u8], chunk: usize) -> Vec<usize> {
    let reach = KEYWORDS.iter().map(|k| k.len()).max().unwrap_or(1) - 1;
    let mut low = Vec::with_capacity(chunk.min(text.len()) + reach);
    let mut starts = Vec::new();
    let mut at = 0;
    while at < text.len() {
        let end = (at + chunk + reach).min(text.len());
        low.clear();
        low.extend(text[at..end].iter().map(u8::to_ascii_lowercase));
        let first = starts.len();
        // Starts past the chunk are found again by the next one.
        starts.extend(
            FINDER
                .find_iter(&low)
                .map(|m| m.start())
                .filter(|&h| h < chunk)
                .map(|h| at + h),
        );
        starts[first..].sort_unstable();
        at += chunk;
    }
    starts.dedup();
    starts
}

/// The lines of `text` (byte ranges, a line with its `\n`) that may start a secret: those with a
/// keyword or a byte outside ASCII, in order.
fn candidate_lines(text: &str) -> Vec<(usize, usize)> {
    candidate_lines_in(text, CHUNK)
}

/// [`candidate_lines`], with keywords searched `chunk` bytes at a time.
fn candidate_lines_in(text: &str, chunk: usize) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut lines: Vec<(usize, usize)> = Vec::new();
    let mut line_end = 0;
    for at in keyword_starts(bytes, chunk) {
        if at < line_end {
            continue;
        }
        let start = memchr::memrchr(b'\n', &bytes[..at]).map_or(0, |i| i + 1);
        line_end = memchr::memchr(b'\n', &bytes[at..]).map_or(bytes.len(), |i| at + i + 1);
        lines.push((start, line_end));
    }
    if !text.is_ascii() {
        let mut start = 0;
        for line in text.split_inclusive('\n') {
            if !line.is_ascii() {
                lines.push((start, start + line.len()));
            }
            start += line.len();
        }
        lines.sort_unstable();
        lines.dedup();
    }
    lines
}

/// Where a match's value is secret: inside the quotes of a quoted value.
fn value_range(v: regex::Match) -> Option<(usize, usize)> {
    let s = v.as_str();
    let (a, b) = if s.len() >= 2 && s.starts_with('"') && s.ends_with('"') {
        (v.start() + 1, v.end() - 1)
    } else {
        (v.start(), v.end())
    };
    (b > a).then_some((a, b))
}

/// Byte ranges of secret values in `text`, sorted.
///
/// The patterns are searched only where a secret can start (see [`candidate_lines`]): on a
/// large configuration that is a few lines, where searching the whole text once per pattern
/// was a tenth of the run time. The ranges are exactly those of the whole-text searches (the
/// unit test compares them on every fixture and corpus file).
pub fn secret_ranges(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let lines = candidate_lines(text);
    for &(a, b) in &lines {
        let line = &text[a..b];
        for k in LINE_SET.matches(line).iter() {
            for c in LINE_PATTERNS[k].captures_iter(line) {
                if let Some((x, y)) = c.name("v").and_then(value_range) {
                    out.push((a + x, a + y));
                }
            }
        }
    }
    for (re, start) in TEXT_PATTERNS.iter() {
        if !lines.iter().any(|&(a, b)| start.is_match(&text[a..b])) {
            continue;
        }
        for c in re.captures_iter(text) {
            if let Some(r) = c.name("v").and_then(value_range) {
                out.push(r);
            }
        }
    }
    // The phrase holds a keyword, so a text with it has candidate lines.
    if !lines.is_empty() && crate::formats::util::has(text, "config system snmp community") {
        out.extend(fortios_snmp_communities(text));
    }
    out.sort_unstable();
    out
}

/// The distinct secret values of `text` (at least 4 characters: shorter ones would mask ordinary
/// words), longest first, for scrubbing messages that quote the source.
pub fn secret_values(text: &str) -> Vec<String> {
    values_of(text, &secret_ranges(text))
}

/// [`secret_values`] from the file's [`secret_ranges`], for a caller that has them already.
pub fn values_of(text: &str, ranges: &[(usize, usize)]) -> Vec<String> {
    let mut v: Vec<String> = ranges
        .iter()
        .filter_map(|&(a, b)| text.get(a..b))
        .filter(|s| s.chars().count() >= 4 && !s.chars().all(|c| c == '*'))
        .map(str::to_owned)
        .collect();
    v.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
    v.dedup();
    v
}

/// `message` with every occurrence of the given secret values masked with `*`.
pub fn scrub(message: &str, secrets: &[String]) -> String {
    let mut out = message.to_owned();
    for s in secrets {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), &"*".repeat(s.chars().count()));
        }
    }
    out
}

/// FortiOS names SNMP communities with `set name` inside `config system snmp community`: the name
/// is the secret.
fn fortios_snmp_communities(text: &str) -> Vec<(usize, usize)> {
    static NAME: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"^[ \t]*set[ \t]+name[ \t]+(?P<v>"[^"\r\n]*"|\S+)"#).expect("valid pattern")
    });
    let mut out = Vec::new();
    let mut block_indent: Option<usize> = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim();
        let indent = line.len() - line.trim_start().len();
        match block_indent {
            None if trimmed == "config system snmp community" => block_indent = Some(indent),
            Some(i) if trimmed == "end" && indent == i => block_indent = None,
            Some(_) => {
                if let Some(v) = NAME.captures(line).and_then(|c| c.name("v")) {
                    let (a, b) = (offset + v.start(), offset + v.end());
                    let quoted = v.as_str().len() >= 2 && v.as_str().starts_with('"');
                    out.push(if quoted { (a + 1, b - 1) } else { (a, b) });
                }
            }
            None => {}
        }
        offset += line.len();
    }
    out
}

/// `text` with every secret value masked, byte for byte (multi-byte characters become several
/// `*`), so byte offsets are unchanged.
pub fn redact(text: &str) -> String {
    let ranges = secret_ranges(text);
    if ranges.is_empty() {
        return text.to_owned();
    }
    let mut bytes = text.as_bytes().to_vec();
    for (a, b) in ranges {
        for x in &mut bytes[a..b] {
            if *x != b'\n' && *x != b'\r' {
                *x = b'*';
            }
        }
    }
    // Masking whole byte ranges can only split a multi-byte character at the range edges, and
    // ranges start and end at ASCII delimiters or line ends, so this stays valid UTF-8; fall back to
    // a lossy conversion rather than panic.
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Random texts of keyword pieces in mixed case, searched in chunks of several sizes
    /// (keywords across chunk ends included): the lines with a keyword are the lines where
    /// the case-insensitive regex of the keywords matches.
    #[test]
    fn keyword_lines_are_the_case_insensitive_regex_lines() {
        let re = Regex::new(&format!("(?i-u){}", KEYWORDS.join("|"))).unwrap();
        let pieces = [
            "PaSs", "pw", "d", "Ps", "k", "SECRET", "ey", "commun", "ity", "ascii-", "TEXT",
            "hexa", "decimal", "HaSh", "tok", "en", "AKIA", "\n", " ", "x", "=", "\n",
        ];
        let mut rng = crate::testing::Rng(0x0DDB_A11C_0FFE);
        let mut found = 0;
        for _ in 0..500 {
            let n = rng.below(60);
            let text = rng.text(&pieces, n);
            let mut expected = Vec::new();
            let mut from = 0;
            while let Some(m) = re.find_at(&text, from) {
                let b = text.as_bytes();
                let start = b[..m.start()]
                    .iter()
                    .rposition(|&c| c == b'\n')
                    .map_or(0, |i| i + 1);
                from = b[m.start()..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(b.len(), |i| m.start() + i + 1);
                expected.push((start, from));
            }
            found += expected.len();
            assert_eq!(candidate_lines(&text), expected, "{text:?}");
            for chunk in [1, 3, 7, 16, 64] {
                assert_eq!(
                    candidate_lines_in(&text, chunk),
                    expected,
                    "{chunk} {text:?}"
                );
            }
        }
        assert!(found > 500, "the texts must hold keywords ({found})");
    }

    /// The search [`secret_ranges`] replaced: every pattern over the whole text.
    fn whole_text_ranges(text: &str) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let patterns = LINE_PATTERNS
            .iter()
            .chain(TEXT_PATTERNS.iter().map(|(re, _)| re));
        for re in patterns {
            for c in re.captures_iter(text) {
                out.extend(c.name("v").and_then(value_range));
            }
        }
        out.extend(fortios_snmp_communities(text));
        out.sort_unstable();
        out
    }

    /// Searching only the lines that can start a secret finds exactly what searching the whole
    /// text finds: on every fixture (the corpus copies among them), and on texts made of the
    /// patterns' pieces, quotes, line ends inside XML and JSON values, and letters that fold
    /// to ASCII ones (`K`, `ſ`).
    #[test]
    fn line_search_finds_what_the_whole_text_search_finds() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let mut files = 0;
        let mut secrets = 0;
        for e in walkdir::WalkDir::new(root).sort_by_file_name() {
            let e = e.unwrap();
            let Ok(text) = std::fs::read_to_string(e.path()) else {
                continue;
            };
            let want = whole_text_ranges(&text);
            assert_eq!(secret_ranges(&text), want, "{}", e.path().display());
            files += 1;
            secrets += want.len();
        }
        assert!(
            files > 150 && secrets > 40,
            "{files} files, {secrets} secrets"
        );
        let pieces = [
            "set ",
            "password ",
            "passwd",
            "ENC ",
            "\"",
            "x1y2",
            " ",
            "\t",
            "\n",
            "\r\n",
            "secret ",
            "key ",
            "Key",
            "\u{212a}ey ",
            "pa\u{17f}\u{17f}word ",
            "isakmp ",
            "5 ",
            "pre-shared-key ",
            "address ",
            "community ",
            "snmp-server ",
            "ascii-text ",
            "<password>",
            "</password>",
            "<phash>",
            "</",
            "\"api_key\"",
            ": ",
            "\"token\":",
            "password=",
            "token: ",
            "AKIA0123456789ABCDEF",
            "config system snmp community\n",
            "    edit 1\n        set name \"c\"\n",
            "end\n",
            "é",
            "md5 3 key ",
        ];
        let mut rng = crate::testing::Rng(0x5eed_cafe);
        let mut found = 0;
        for _ in 0..3000 {
            let count = rng.below(40);
            let text = rng.text(&pieces, count);
            let want = whole_text_ranges(&text);
            assert_eq!(secret_ranges(&text), want, "{text:?}");
            found += want.len();
        }
        assert!(found > 3000, "the texts hold secrets ({found})");
    }

    #[test]
    fn masks_common_secrets_keeping_offsets() {
        let text = "config user local\n    edit \"a\"\n        set passwd ENC SH2abc==\n    next\nend\nenable secret 5 $1$xyz\nsnmp-server community s3cr3t RO\n<phash>$6$hash</phash>\n";
        let r = redact(text);
        assert_eq!(r.len(), text.len());
        for s in ["SH2abc==", "$1$xyz", "s3cr3t", "$6$hash"] {
            assert!(!r.contains(s), "{s} leaked in {r}");
        }
        assert!(r.contains("set passwd ENC ********"));
        let forti = "config system snmp community\n    edit 1\n        set name \"c0mm\"\n    next\nend\nconfig firewall address\n    edit 1\n        set name \"keep\"\n";
        let r = redact(forti);
        assert!(!r.contains("c0mm") && r.contains("keep"), "{r}");
        // A YAML section named like a secret is not a secret, and masking never crosses lines.
        let yaml = "security:\n  password:\n    history: 3\n  token: abc123\n";
        let r = redact(yaml);
        assert!(r.contains("history: 3"), "{r}");
        assert!(!r.contains("abc123"), "{r}");
        let more = "crypto isakmp key K3y-1 address 0.0.0.0\n pre-shared-key address 192.0.2.1 key K3y-2\ntacacs-server host 10.0.0.1 key 7 K3y-3\n  \"SecretAccessKey\": \"K3y-4\",\n";
        let r = redact(more);
        assert_eq!(r.len(), more.len());
        for s in ["K3y-1", "K3y-2", "K3y-3", "K3y-4"] {
            assert!(!r.contains(s), "{s} leaked in {r}");
        }
        assert_eq!(
            scrub("pbx uses K3y-1 here", &secret_values(more)),
            "pbx uses ***** here"
        );
    }
}
