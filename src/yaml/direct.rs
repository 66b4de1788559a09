//! The common case of [`super::parse`] built straight from granit-parser's events (the parser
//! serde-saphyr itself runs), without serde-saphyr's deserializer: a settings dump of a few
//! thousand scalars spent four fifths of its parse in the generic machinery (recorded keys,
//! the synthesized `Spanned` maps), for a tree this module builds in one pass.
//!
//! It is only a shortcut, never a second YAML dialect. It answers a document only when the
//! answer is certainly serde-saphyr's (same nodes, same values, same byte ranges) and returns
//! `None` for everything else, which then goes through serde-saphyr as before:
//! - any parse error, and any budget it might come near (depth, events, nodes, size);
//! - anchors, aliases, tags and merge keys (`<<`), whose semantics serde-saphyr owns;
//! - keys that are not plain strings, and repeated keys (serde-saphyr's error);
//! - more or fewer than one document, and a byte-order mark anywhere;
//! - a plain scalar whose type it cannot settle with certainty (see [`plain`]): signed or
//!   dotted numbers, floats, leading zeros, large integers, `inf`/`nan` words.
//!
//! The tests `direct_matches_serde_saphyr_*` hold the two paths together on every YAML file of
//! the repository and on documents built from awkward scalars; the fuzz target `yaml_direct`
//! does the same on whatever libFuzzer makes of them (docs/fuzzing.md).

use std::borrow::Cow;

use granit_parser::{Event, Parser, ScalarStyle, Span};

use super::{Kind, Node, YamlLimits};

/// serde-saphyr's own node cap (`Budget::max_nodes`, not set by [`YamlLimits`]).
const MAX_NODES: usize = 250_000;

/// Larger inputs go the general way (serde-saphyr caps scalar bytes at 64 MiB).
const MAX_BYTES: usize = 32 << 20;

/// A collection being built: its node (start, end, kind) and, for a mapping, the key waiting
/// for its value.
struct Open {
    node: Node,
    key: Option<Node>,
}

/// The tree of `text` when it is certainly what serde-saphyr gives (see the module comment);
/// `None` to let serde-saphyr answer.
pub fn parse(text: &str, limits: YamlLimits) -> Option<Node> {
    if text.len() > MAX_BYTES || crate::formats::util::has(text, "\u{feff}") {
        return None;
    }
    // As serde-saphyr configures the parser (`Budget::parser_options`, no comment events).
    let defaults = granit_parser::Options::default();
    let options = granit_parser::options! {
        simple_key_max_lookahead: defaults.simple_key_max_lookahead.min(1024),
        flow_nesting_limit: defaults.flow_nesting_limit.min(255),
        block_nesting_limit: defaults.block_nesting_limit.max(limits.max_depth.saturating_add(1)),
        emit_comments: false,
    };
    let mut events = 0usize;
    let mut nodes = 0usize;
    let mut documents = 0usize;
    let mut stack: Vec<Open> = Vec::new();
    let mut root: Option<Node> = None;
    for item in Parser::new_from_str_with_options(text, options) {
        let (event, span) = item.ok()?;
        events += 1;
        let is_map = matches!(event, Event::MappingStart(..));
        if events >= limits.max_events {
            return None;
        }
        let node = match event {
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => continue,
            Event::DocumentStart(..) => {
                documents += 1;
                if documents > 1 {
                    return None;
                }
                continue;
            }
            Event::Scalar(value, style, anchor, tag) => {
                if anchor != 0 || tag.is_some() {
                    return None;
                }
                nodes += 1;
                let (start, end) = range(&span)?;
                let kind = scalar(value, style)?;
                Node { start, end, kind }
            }
            Event::SequenceStart(_, anchor, tag) | Event::MappingStart(_, anchor, tag) => {
                if anchor != 0 || tag.is_some() || stack.len() + 1 >= limits.max_depth {
                    return None;
                }
                // A collection is never a key.
                if let Some(Open {
                    node: parent,
                    key: None,
                }) = stack.last()
                {
                    if matches!(parent.kind, Kind::Map(_)) {
                        return None;
                    }
                }
                nodes += 1;
                let (start, end) = range(&span)?;
                let kind = if is_map {
                    Kind::Map(Vec::new())
                } else {
                    Kind::Seq(Vec::new())
                };
                stack.push(Open {
                    node: Node { start, end, kind },
                    key: None,
                });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let open = stack.pop()?;
                if open.key.is_some() {
                    return None;
                }
                if let Kind::Map(entries) = &open.node.kind {
                    if repeated_key(entries) {
                        return None;
                    }
                }
                open.node
            }
            _ => return None,
        };
        if nodes > MAX_NODES {
            return None;
        }
        match stack.last_mut() {
            None => {
                if root.is_some() {
                    return None;
                }
                root = Some(node);
            }
            Some(Open { node: parent, key }) => match &mut parent.kind {
                Kind::Seq(items) => items.push(node),
                Kind::Map(entries) => match key.take() {
                    Some(k) => entries.push((k, node)),
                    None => {
                        // A key: only a string (plain or quoted), and not `<<`.
                        match &node.kind {
                            Kind::Str(s) if s != "<<" => *key = Some(node),
                            _ => return None,
                        }
                    }
                },
                _ => return None,
            },
        }
    }
    if !stack.is_empty() || documents != 1 {
        return None;
    }
    root
}

/// A node's byte range as serde-saphyr reports it (the event's span, in bytes).
fn range(span: &Span) -> Option<(usize, usize)> {
    let start = span.start.byte_offset()?;
    let end = span.end.byte_offset()?;
    (end >= start).then_some((start, end))
}

/// Whether a mapping repeats a key (all keys here are strings).
fn repeated_key(entries: &[(Node, Node)]) -> bool {
    fn key(k: &Node) -> &str {
        match &k.kind {
            Kind::Str(s) => s,
            _ => "",
        }
    }
    if entries.len() <= 16 {
        return entries
            .iter()
            .enumerate()
            .any(|(i, (a, _))| entries[..i].iter().any(|(b, _)| key(a) == key(b)));
    }
    let mut keys: Vec<&str> = entries.iter().map(|(k, _)| key(k)).collect();
    keys.sort_unstable();
    keys.windows(2).any(|w| w[0] == w[1])
}

/// A scalar's value: a quoted or block scalar is a string; a plain one is typed by [`plain`].
fn scalar(value: Cow<'_, str>, style: ScalarStyle) -> Option<Kind> {
    match style {
        ScalarStyle::Plain => plain(&value),
        _ => Some(Kind::Str(value.into_owned())),
    }
}

/// A plain scalar typed as serde-saphyr's untyped path does (null, YAML 1.1 booleans, decimal
/// integers, else a string), for the spellings where that is certain; `None` for the others
/// (signs, dots, exponents, leading zeros, radix prefixes, large numbers, `inf` and `nan`).
fn plain(t: &str) -> Option<Kind> {
    // serde-saphyr trims these before typing a value but keeps them in a string.
    if t.starts_with([' ', '\t', '\r', '\n']) || t.ends_with([' ', '\t', '\r', '\n']) {
        return None;
    }
    if matches!(t, "" | "~" | "null" | "Null" | "NULL") {
        return Some(Kind::Null);
    }
    let word = |w: &str| t.eq_ignore_ascii_case(w);
    if word("true") || word("yes") || word("y") || word("on") {
        return Some(Kind::Bool(true));
    }
    if word("false") || word("no") || word("n") || word("off") {
        return Some(Kind::Bool(false));
    }
    let bytes = t.as_bytes();
    match bytes[0] {
        // Not a number: Rust's float syntax takes these words, serde-saphyr does not; leave
        // them to it.
        b'a'..=b'z' | b'A'..=b'Z' => {
            if word("inf") || word("infinity") || word("nan") {
                None
            } else {
                Some(Kind::Str(t.to_owned()))
            }
        }
        b'0'..=b'9' => {
            if bytes.iter().all(u8::is_ascii_digit) {
                // `0127` is a float to serde-saphyr (integers refuse the zero, floats take it).
                if bytes.len() > 1 && bytes[0] == b'0' {
                    return None;
                }
                return t.parse::<i64>().ok().map(Kind::Int);
            }
            // No integer or float spelling holds a colon, a space, a slash, two dots, or a
            // minus sign that does not follow an exponent mark: a time, a date, an address.
            let dots = bytes.iter().filter(|&&b| b == b'.').count();
            let inner_minus = bytes
                .windows(2)
                .any(|w| w[1] == b'-' && !matches!(w[0], b'e' | b'E'));
            if dots >= 2 || inner_minus || bytes.iter().any(|b| matches!(b, b':' | b' ' | b'/')) {
                Some(Kind::Str(t.to_owned()))
            } else {
                None
            }
        }
        // Numbers begin with a digit, a sign or a dot; null and booleans were matched above.
        b'+' | b'-' | b'.' => None,
        _ => Some(Kind::Str(t.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Rng;
    use std::path::Path;

    /// `direct` either declines or gives exactly serde-saphyr's tree; returns whether it answered.
    fn same(text: &str) -> bool {
        let limits = YamlLimits::default();
        let Some(ours) = parse(text, limits) else {
            return false;
        };
        match super::super::saphyr(text, limits) {
            Ok(theirs) => assert_eq!(ours, theirs, "the trees differ for:\n{text}"),
            Err(e) => panic!("serde-saphyr refuses what direct accepted ({e:?}):\n{text}"),
        }
        true
    }

    fn yaml_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                yaml_files(&path, out);
            } else if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml")
            ) {
                out.push(path);
            }
        }
    }

    /// Every YAML file of the repository (packs, pack tests, fixtures, workflows): the same tree
    /// both ways, and most of them answered directly.
    #[test]
    fn direct_matches_serde_saphyr_on_the_repository() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        for dir in ["policies", "fixtures", "tests", ".github", "scripts"] {
            if root.join(dir).is_dir() {
                yaml_files(&root.join(dir), &mut files);
            }
        }
        assert!(files.len() > 100, "{}", files.len());
        let mut answered = 0;
        for path in &files {
            let Ok(text) = std::fs::read_to_string(path) else {
                continue;
            };
            if same(&text) {
                answered += 1;
            }
        }
        assert!(
            answered * 10 >= files.len() * 8,
            "{answered} of {} answered directly",
            files.len()
        );
    }

    /// Scalars whose type or text is easy to get wrong: YAML 1.1 words, numbers of every
    /// spelling, dates, times, addresses, quoted look-alikes, escapes, empty and odd characters.
    const SCALARS: &[&str] = &[
        "x",
        "abc def",
        "true",
        "True",
        "TRUE",
        "tRuE",
        "false",
        "yes",
        "Yes",
        "NO",
        "no",
        "y",
        "Y",
        "n",
        "on",
        "On",
        "OFF",
        "off",
        "null",
        "Null",
        "NULL",
        "nULL",
        "~",
        "",
        "0",
        "1",
        "-1",
        "+1",
        "007",
        "0127",
        "08",
        "0x1F",
        "0X1F",
        "0o17",
        "0b101",
        "1_000",
        "12",
        "9223372036854775807",
        "9223372036854775808",
        "18446744073709551616",
        "1.5",
        "-1.5",
        ".5",
        "5.",
        "1e5",
        "1E-5",
        "1e999",
        "-1e999",
        ".inf",
        "-.inf",
        "+.inf",
        ".nan",
        "-.nan",
        ".NaN",
        "inf",
        "Inf",
        "infinity",
        "nan",
        "NaN",
        "2026-11-01",
        "2026-11-01T10:00:00Z",
        "10:00",
        "1:30:00",
        "190:20:30",
        "10.0.0.1",
        "10.0.0.0/8",
        "1/2",
        "1 2",
        "1-2",
        "1e-5x",
        "12abc",
        "user00001",
        "a:b",
        "a b c",
        "ümlaut",
        "€5",
        "'single'",
        "\"double\"",
        "\"esc\\tape\\n\"",
        "'it''s'",
        "\"\\u00e9\"",
        "\"\"",
        "''",
        "\"true\"",
        "'123'",
        "\"null\"",
        "\"~\"",
        "-",
        "--",
        "a-b",
        "_x",
        "/path/to/x",
        "$HOME",
        "%x",
        "@x",
        "`x",
        "x #not",
        "<<",
        "\"<<\"",
        "=",
        "a,b",
        "[1, 2]",
        "{a: 1}",
        "[]",
        "{}",
        "[x, [y, z]]",
        "{k: v, l: [1, true]}",
        "!!str 12",
        "!!int \"3\"",
        "&a x",
        "*a",
        "|\n  block\n  text",
        ">\n  folded\n  text",
        "|-\n  kept",
        "0.",
        "-0",
        "+0",
        "00",
        "0_1",
        "1__0",
        "0x",
        "1e",
        "e5",
        "E",
        ".",
        "..",
        "+",
        "+.5",
    ];

    fn scalar_of(rng: &mut Rng) -> &'static str {
        SCALARS[rng.below(SCALARS.len() as u64) as usize]
    }

    /// A random document of mappings and sequences, block and flow, with the scalars above as
    /// keys and values, some keys repeated.
    fn document(rng: &mut Rng, depth: usize, indent: usize, out: &mut String) {
        let pad = " ".repeat(indent);
        let entries = 1 + rng.below(4);
        let seq = rng.below(3) == 0;
        for i in 0..entries {
            if seq {
                out.push_str(&format!("{pad}- "));
            } else {
                let key = match rng.below(6) {
                    0 => scalar_of(rng).to_owned(),
                    1 => format!("k{}", rng.below(3)),
                    _ => format!("key{i}_{}", rng.below(1000)),
                };
                if key.contains('\n') {
                    continue;
                }
                out.push_str(&format!("{pad}{key}: "));
            }
            match rng.below(5) {
                0 if depth < 4 => {
                    out.push('\n');
                    document(rng, depth + 1, indent + 2, out);
                }
                1 => {
                    let items: Vec<&str> = (0..rng.below(4)).map(|_| scalar_of(rng)).collect();
                    out.push_str(&format!("[{}]\n", items.join(", ")));
                }
                2 => {
                    let items: Vec<String> = (0..rng.below(3))
                        .map(|j| format!("f{j}: {}", scalar_of(rng)))
                        .collect();
                    out.push_str(&format!("{{{}}}\n", items.join(", ")));
                }
                _ => {
                    let value = scalar_of(rng);
                    let deeper = " ".repeat(indent + 2);
                    out.push_str(&value.replace('\n', &format!("\n{deeper}")));
                    out.push('\n');
                }
            }
        }
    }

    /// Every awkward scalar as a value, a sequence item, a flow item and a key; then random
    /// documents built of them. Wherever `direct` answers, serde-saphyr gives the same tree.
    #[test]
    fn direct_matches_serde_saphyr_on_awkward_scalars() {
        let mut answered = 0;
        for s in SCALARS {
            let indented = s.replace('\n', "\n  ");
            for text in [
                format!("v: {indented}\n"),
                format!("- {indented}\n- x\n"),
                format!("[{s}, x]\n"),
                format!("{{a: {s}, b: x}}\n"),
                format!("{indented}: x\n"),
                format!("{indented}\n"),
                format!("m:\n  k: {s}\n  l: [{s}]\n"),
            ] {
                answered += usize::from(same(&text));
            }
        }
        let mut documents = 0;
        for seed in 1..=3000u64 {
            let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let mut text = String::new();
            document(&mut rng, 0, 0, &mut text);
            documents += usize::from(same(&text));
        }
        // Both paths were really compared, many times.
        assert!(answered > 300, "{answered}");
        assert!(documents > 300, "{documents}");
    }

    /// The shape of a settings dump, with the typed values that matter, is answered directly.
    #[test]
    fn a_settings_dump_is_answered_directly() {
        let text = "# dump\nkind: ucontact-settings\nversion: 1\nexported: 2026-11-01\n\
                    security:\n  password:\n    min_length: 12\n    require_digits: true\n  \
                    note: ~\nusers:\n  - name: user00000\n    role: agent\n    \
                    login_schedule: { days: [mon, tue], from: \"00:00\", to: '10:00' }\n";
        assert!(same(text));
        let root = parse(text, YamlLimits::default()).unwrap();
        let (n, k) = root.pointer("/security/password/min_length").unwrap();
        assert_eq!((&text[n.start..n.end], &n.kind), ("12", &Kind::Int(12)));
        assert_eq!(&text[k.unwrap().start..k.unwrap().end], "min_length");
        let (n, _) = root.pointer("/users/0/login_schedule/to").unwrap();
        assert_eq!(&text[n.start..n.end], "'10:00'");
    }

    /// What `direct` leaves to serde-saphyr: repeated and merge keys, anchors, tags, numbers it
    /// cannot type for certain, several documents, a byte-order mark, syntax errors.
    #[test]
    fn direct_declines_what_serde_saphyr_owns() {
        for text in [
            "a: 1\na: 2\n",
            "b: &x 1\nc: *x\n",
            "base: &b {x: 1}\nd:\n  <<: *b\n",
            "a: !!str 12\n",
            "a: 1.5\n",
            "a: -1\n",
            "a: 0127\n",
            "a: 0x1F\n",
            "a: 9223372036854775808\n",
            "a: inf\n",
            "a: 1\n---\nb: 2\n",
            "\u{feff}a: 1\n",
            "a: [1, 2\n",
            "? [a]\n: 1\n",
            "true: 1\n",
        ] {
            assert!(
                parse(text, YamlLimits::default()).is_none(),
                "answered directly: {text:?}"
            );
        }
    }
}
