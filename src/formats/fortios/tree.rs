//! The generic FortiOS CLI layer: a spanned tree of `config PATH` ... `end` blocks, `edit NAME`
//! ... `next` entries and leaf statements (`set`, `unset`, `append`, `select`, `unselect`,
//! `delete`, `move`, ...), plus the helpers the semantic layer uses to read it: merged tables
//! of entries and the effective value of a key after replaying `set`/`append`/`unset`.
//!
//! Quoted values may span lines (certificates, replacement messages) and escape `\"` and `\\`.
//! Whole-line `#` comments (the `#config-version=...` header included) are skipped.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::formats::Limits;
use crate::model::{InputIssue, Unparsed};
use crate::source::{SourceFile, Span};

/// What a node of the tree is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `config PATH...` ... `end`; `args` is the path.
    Config,
    /// `edit NAME` ... `next`; `args[0]` is the entry name.
    Edit,
    /// A leaf statement: its verb (`set`, `unset`, `append`, `select`, `unselect`, `delete`,
    /// `move`, `rename`, `purge`, `clone`) by its place in [`LEAF_VERBS`] (one byte: a
    /// 100,000-policy file holds a million nodes).
    Stmt(u8),
}

/// One token of a statement: its text, borrowed from the file unless unquoting changed it
/// (a value with escapes, or one of several quoted and plain pieces), and its bytes in the file.
#[derive(Clone, Debug, PartialEq)]
pub struct Token<'a> {
    pub text: Cow<'a, str>,
    pub start: usize,
    pub end: usize,
}

impl<'a> Token<'a> {
    /// Add a piece of the token's text: the first piece is borrowed, a second one makes it owned.
    fn push(&mut self, piece: &'a str) {
        if self.text.is_empty() {
            self.text = Cow::Borrowed(piece);
        } else {
            self.text.to_mut().push_str(piece);
        }
    }
}

/// One node: a block with its children, or a leaf statement.
#[derive(Clone, Debug)]
pub struct Node<'a> {
    pub kind: Kind,
    /// Arguments after the verb (`config firewall policy` → `firewall`, `policy`).
    pub args: Vec<Token<'a>>,
    /// The opening line (the statement itself for a leaf).
    pub head: Span,
    /// The whole block, from `config`/`edit` to its `end`/`next` (the statement for a leaf).
    pub span: Span,
    pub children: Vec<Node<'a>>,
}

impl Node<'_> {
    /// The `config` path as one string (`firewall policy`).
    pub fn path(&self) -> String {
        self.args
            .iter()
            .map(|t| &*t.text)
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The `edit` name (the first argument).
    pub fn name(&self) -> &str {
        self.args.first().map(|t| &*t.text).unwrap_or("")
    }

    pub fn is_config(&self, path: &str) -> bool {
        self.kind == Kind::Config && self.path() == path
    }

    /// The verb of a leaf statement.
    pub fn verb(&self) -> Option<&str> {
        match &self.kind {
            Kind::Stmt(v) => LEAF_VERBS.get(usize::from(*v)).copied(),
            _ => None,
        }
    }
}

/// A parsed file: top-level nodes and what went wrong.
#[derive(Debug, Default)]
pub struct Tree<'a> {
    pub roots: Vec<Node<'a>>,
    pub issues: Vec<InputIssue>,
    pub unparsed: Vec<Unparsed>,
}

/// Leaf verbs the tree accepts; anything else is reported as not understood.
const LEAF_VERBS: &[&str] = &[
    "set", "unset", "append", "select", "unselect", "delete", "move", "rename", "purge", "clone",
];

// A leaf's verb is kept as its place in `LEAF_VERBS`, in one byte.
const _: () = assert!(LEAF_VERBS.len() <= u8::MAX as usize);

/// One statement: its verb, its arguments and its span.
#[derive(Debug, PartialEq)]
struct Stmt<'a> {
    /// The first token (`set`, `edit`, ...), if any.
    verb: Option<Token<'a>>,
    /// The others, in a list of their number (the tree keeps it).
    args: Vec<Token<'a>>,
    span: Span,
}

/// The bytes that end a run of plain token bytes: white space, a line end and the quotes.
static ENDS_PLAIN: [bool; 256] = {
    let mut t = [false; 256];
    let mut k = 0;
    let stops = [b' ', b'\t', b'\r', b'\n', b'"', b'\''];
    while k < stops.len() {
        t[stops[k] as usize] = true;
        k += 1;
    }
    t
};

/// Files from this size on are split into statements by two threads (see [`statements`]).
const PARALLEL_SPLIT: usize = 4 << 20;

/// Split the file into statements (one per line, except that quoted values may span lines),
/// handing each to `each` in file order; unclosed quotes go to `issues`.
///
/// A large file is split in two halves at a line start: this thread splits the first half
/// into statements and hands them on as it goes while another splits the second half into a
/// list. That is the split of the whole file when the first half's last statement ends before
/// the second half begins (no quoted value runs over the cut); otherwise the second half's
/// list is dropped and this thread carries on from where its last statement ended.
fn statements<'a>(
    file: &'a SourceFile,
    issues: &mut Vec<InputIssue>,
    each: impl FnMut(Stmt<'a>) + Send,
) {
    statements_split(file, issues, each, PARALLEL_SPLIT);
}

/// [`statements`], splitting files of `parallel_at` bytes or more in two.
fn statements_split<'a>(
    file: &'a SourceFile,
    issues: &mut Vec<InputIssue>,
    mut each: impl FnMut(Stmt<'a>) + Send,
    parallel_at: usize,
) {
    let len = file.text.len();
    // Bytes, not a `str` slice: the middle may fall inside a character.
    let cut = (len >= parallel_at)
        .then(|| memchr::memchr(b'\n', &file.text.as_bytes()[len / 2..]))
        .flatten()
        .map(|i| len / 2 + i + 1)
        .filter(|&cut| cut < len);
    let Some(cut) = cut else {
        statements_from(file, (0, 1), len, issues, &mut each);
        return;
    };
    let cut_line = file.line_index(cut) + 1;
    let ((end, line), (second, second_issues)) = rayon::join(
        || statements_from(file, (0, 1), cut, issues, &mut each),
        || {
            // At most a statement per line: room for all, so the list never moves.
            let lines = file.line_index(len).saturating_sub(cut_line - 1) + 1;
            let (mut stmts, mut found) = (Vec::with_capacity(lines), Vec::new());
            statements_from(file, (cut, cut_line), len, &mut found, &mut |st| {
                stmts.push(st)
            });
            (stmts, found)
        },
    );
    if end == cut {
        second.into_iter().for_each(&mut each);
        issues.extend(second_issues);
    } else {
        drop(second);
        statements_from(file, (end, line), len, issues, &mut each);
    }
}

/// [`statements`] from byte `from` (a line start, outside any quote) on line `line`, for the
/// statements that start before `to` (the last may run past it): returns where the last one
/// ended and the line there.
fn statements_from<'a>(
    file: &'a SourceFile,
    (from, line): (usize, usize),
    to: usize,
    issues: &mut Vec<InputIssue>,
    each: &mut impl FnMut(Stmt<'a>),
) -> (usize, usize) {
    let text: &'a str = &file.text;
    let b = text.as_bytes();
    let id = file.id;
    let mut i = from;
    let mut line = line;
    // The tokens of the statement being split: one list for all, so each statement's
    // arguments are allocated once, at their number.
    let mut tokens: Vec<Token<'a>> = Vec::new();
    while i < to {
        match b[i] {
            b'\n' => {
                line += 1;
                i += 1;
                continue;
            }
            b' ' | b'\t' | b'\r' => {
                i += 1;
                continue;
            }
            b'#' => {
                i = text[i..].find('\n').map(|e| i + e).unwrap_or(b.len());
                continue;
            }
            _ => {}
        }
        let start = i;
        tokens.clear();
        while i < b.len() && b[i] != b'\n' {
            if matches!(b[i], b' ' | b'\t' | b'\r') {
                i += 1;
                continue;
            }
            let mut tok = Token {
                text: Cow::Borrowed(""),
                start: i,
                end: i,
            };
            while i < b.len() && !matches!(b[i], b' ' | b'\t' | b'\r' | b'\n') {
                let q = b[i];
                if q == b'"' || q == b'\'' {
                    let qline = line;
                    i += 1;
                    let mut closed = false;
                    // The runs of plain bytes between the escapes are the pieces of the text;
                    // the boundaries are ASCII, so every run is whole UTF-8. Only the quote, a
                    // backslash and a line end stop the scan.
                    let mut run = i;
                    while let Some(k) = memchr::memchr3(q, b'\\', b'\n', &b[i..]) {
                        i += k;
                        let c = b[i];
                        if c == q {
                            tok.push(&text[run..i]);
                            i += 1;
                            closed = true;
                            break;
                        }
                        if c == b'\\' && q == b'"' && i + 1 < b.len() {
                            // The escaped byte is taken as it is, a quote or a line end too.
                            tok.push(&text[run..i]);
                            i += 1;
                            run = i;
                        }
                        if b[i] == b'\n' {
                            line += 1;
                        }
                        i += 1;
                    }
                    if !closed {
                        i = b.len();
                        tok.push(&text[run..]);
                        issues.push(InputIssue {
                            span: file.line_span(qline),
                            message: format!(
                                "quoted value opened on line {qline} is never closed (truncated file?)"
                            ),
                        });
                    }
                } else {
                    let run = i;
                    while i < b.len() && !ENDS_PLAIN[usize::from(b[i])] {
                        i += 1;
                    }
                    tok.push(&text[run..i]);
                }
            }
            tok.end = i;
            tokens.push(tok);
        }
        let end = tokens.last().map(|t| t.end).unwrap_or(start);
        let mut taken = tokens.drain(..);
        each(Stmt {
            verb: taken.next(),
            args: taken.collect(),
            span: Span::new(id, start, end),
        });
    }
    (i, line)
}

/// Parse a file into the generic tree. Never panics; truncated blocks are closed at the end of
/// the file and reported as [`InputIssue`]s naming the line that opened them.
pub fn parse_tree<'a>(file: &'a SourceFile, limits: &Limits) -> Tree<'a> {
    let mut tree = Tree::default();
    let mut quote_issues = Vec::new();
    let id = file.id;
    let mut stack = Stack::default();
    // Blocks opened beyond the depth limit, skipped until closed.
    let mut skipped = 0usize;

    statements(file, &mut quote_issues, |st| {
        let Some(verb) = st.verb else {
            return;
        };
        let (verb, args) = (verb.text, st.args);
        let top = stack.top().map(|n| n.kind);
        if skipped > 0 {
            match &*verb {
                "config" | "edit" => skipped += 1,
                "end" | "next" => skipped -= 1,
                _ => {}
            }
            return;
        }
        let leaf = LEAF_VERBS.iter().position(|&l| l == verb);
        match (&*verb, leaf) {
            ("config" | "edit", _) => {
                let kind = if verb == "config" {
                    Kind::Config
                } else {
                    Kind::Edit
                };
                if kind == Kind::Edit && top != Some(Kind::Config) {
                    tree.unparsed.push(Unparsed {
                        span: st.span,
                        reason: "`edit` outside a `config` block".into(),
                    });
                    return;
                }
                if stack.len() >= limits.max_depth {
                    tree.issues.push(InputIssue {
                        span: st.span,
                        message: format!(
                            "blocks nested deeper than {} levels: this block is skipped",
                            limits.max_depth
                        ),
                    });
                    skipped = 1;
                    return;
                }
                stack.open(Node {
                    kind,
                    args,
                    head: st.span,
                    span: st.span,
                    children: Vec::new(),
                });
            }
            ("next", _) => {
                if top == Some(Kind::Edit) {
                    stack.close(&mut tree.roots, st.span);
                } else {
                    tree.unparsed.push(Unparsed {
                        span: st.span,
                        reason: "stray `next` (no open `edit`)".into(),
                    });
                }
            }
            ("end", _) => match top {
                Some(Kind::Config) => stack.close(&mut tree.roots, st.span),
                Some(Kind::Edit) => {
                    tree.unparsed.push(Unparsed {
                        span: st.span,
                        reason: "`end` closes an `edit` that has no `next`".into(),
                    });
                    stack.close(&mut tree.roots, st.span);
                    stack.close(&mut tree.roots, st.span);
                }
                _ => tree.unparsed.push(Unparsed {
                    span: st.span,
                    reason: "stray `end` (no open `config`)".into(),
                }),
            },
            (_, Some(at)) => {
                let verb = LEAF_VERBS[at];
                if stack.is_empty() {
                    tree.unparsed.push(Unparsed {
                        span: st.span,
                        reason: format!("`{verb}` outside a `config` block"),
                    });
                } else if st.span.len() > limits.max_line_len {
                    tree.unparsed.push(Unparsed {
                        span: st.span,
                        reason: format!("statement longer than {} bytes", limits.max_line_len),
                    });
                } else {
                    stack.attach(
                        &mut tree.roots,
                        Node {
                            kind: Kind::Stmt(at as u8),
                            args,
                            head: st.span,
                            span: st.span,
                            children: Vec::new(),
                        },
                    );
                }
            }
            // The value is not echoed: an unrecognised line may be part of a secret.
            _ => tree.unparsed.push(Unparsed {
                span: st.span,
                reason: "unrecognised statement".into(),
            }),
        }
    });
    // Unclosed quotes come first, as they were found while splitting the file.
    quote_issues.append(&mut tree.issues);
    tree.issues = quote_issues;
    // Truncated file: report every block still open, then close it at the end of the file.
    let eof = Span::new(id, file.text.len(), file.text.len());
    while let Some(node) = stack.top() {
        let what = match node.kind {
            Kind::Config => format!("`config {}` block", node.path()),
            _ => "`edit` entry".to_string(),
        };
        tree.issues.push(InputIssue {
            span: node.head,
            message: format!(
                "{what} opened on line {} is never closed (truncated file?): settings after it are missing",
                file.line_col(node.head.start).line
            ),
        });
        stack.close(&mut tree.roots, eof);
    }
    tree
}

/// The blocks open while the tree is built, innermost last, and the children they have so far.
#[derive(Default)]
struct Stack<'a> {
    /// Each open block with where its children start in `pending`.
    open: Vec<(Node<'a>, usize)>,
    /// The children of every open block, outermost block's first: a closing block takes the
    /// tail, in a list of its size (no list grows and is copied child by child, and none keeps
    /// room to grow while the tree is held).
    pending: Vec<Node<'a>>,
}

impl<'a> Stack<'a> {
    fn len(&self) -> usize {
        self.open.len()
    }
    fn is_empty(&self) -> bool {
        self.open.is_empty()
    }
    fn top(&self) -> Option<&Node<'a>> {
        self.open.last().map(|(n, _)| n)
    }
    fn open(&mut self, node: Node<'a>) {
        self.open.push((node, self.pending.len()));
    }
    /// Add a node to the innermost open block, or to the roots.
    fn attach(&mut self, roots: &mut Vec<Node<'a>>, node: Node<'a>) {
        if self.open.is_empty() {
            roots.push(node);
        } else {
            self.pending.push(node);
        }
    }
    /// Close the innermost open block at `end`.
    fn close(&mut self, roots: &mut Vec<Node<'a>>, end: Span) {
        if let Some((mut node, from)) = self.open.pop() {
            node.span = node.head.join(end);
            node.children = self.pending.drain(from..).collect();
            self.attach(roots, node);
        }
    }
}

/// The effective value of a key after replaying the statements of an entry.
#[derive(Clone, Debug)]
pub struct Value<'t> {
    pub tokens: Vec<&'t Token<'t>>,
    /// The last statement that set or extended the value.
    pub span: Span,
    /// Every statement that contributed, in order.
    pub lines: Vec<Span>,
}

impl<'t> Value<'t> {
    pub fn first(&self) -> &'t str {
        self.tokens.first().map(|t| &*t.text).unwrap_or("")
    }
    pub fn texts(&self) -> Vec<&'t str> {
        self.tokens.iter().map(|t| &*t.text).collect()
    }
    /// `enable`/`disable` as a bool.
    pub fn enabled(&self) -> bool {
        self.first().eq_ignore_ascii_case("enable")
    }
}

/// Replay `set`/`select` (replace), `append` (extend), `unselect` (remove items) and `unset`
/// (back to the default) for `key` among leaf statements.
pub fn value<'t>(stmts: &[&'t Node<'t>], key: &str) -> Option<Value<'t>> {
    let mut cur: Option<Value<'t>> = None;
    for st in stmts {
        let Some(verb) = st.verb() else { continue };
        if st.args.first().map(|t| &*t.text) != Some(key) {
            continue;
        }
        let vals = st.args.iter().skip(1);
        match verb {
            "set" | "select" => {
                cur = Some(Value {
                    tokens: vals.collect(),
                    span: st.span,
                    lines: vec![st.span],
                })
            }
            "append" => match &mut cur {
                Some(v) => {
                    v.tokens.extend(vals);
                    v.span = st.span;
                    v.lines.push(st.span);
                }
                None => {
                    cur = Some(Value {
                        tokens: vals.collect(),
                        span: st.span,
                        lines: vec![st.span],
                    })
                }
            },
            "unselect" => {
                if let Some(v) = &mut cur {
                    let drop: Vec<&str> = st.args.iter().skip(1).map(|t| &*t.text).collect();
                    v.tokens.retain(|t| !drop.contains(&&*t.text));
                    v.lines.push(st.span);
                }
            }
            "unset" => cur = None,
            _ => {}
        }
    }
    cur
}

/// An entry of a table (`edit NAME` blocks of one name, merged across repeated `config` blocks:
/// a later `edit` of an existing name modifies it in place, as the CLI does).
#[derive(Clone, Debug)]
pub struct Entry<'t> {
    pub name: &'t str,
    /// The first `edit ... next` block of this name.
    pub span: Span,
    /// The `edit` line of that block.
    pub head: Span,
    /// Leaf statements of every block of this name, in file order.
    pub stmts: Vec<&'t Node<'t>>,
    /// Nested `config` blocks inside the entry.
    pub subs: Vec<&'t Node<'t>>,
}

impl<'t> Entry<'t> {
    pub fn get(&self, key: &str) -> Option<Value<'t>> {
        value(&self.stmts, key)
    }
    pub fn is(&self, key: &str, val: &str) -> bool {
        self.get(key)
            .is_some_and(|v| v.first().eq_ignore_ascii_case(val))
    }
}

/// Entry names to their place in a table.
type Names<'t> = HashMap<&'t str, usize, foldhash::fast::FixedState>;

/// The entries of a table, in CLI order, from its `config` blocks (in file order), applying
/// `delete`, `purge`, `rename A to B` and `move A before|after B`.
pub fn table<'t>(blocks: &[&'t Node<'t>], unparsed: &mut Vec<Unparsed>) -> Vec<Entry<'t>> {
    let mut entries: Vec<Entry<'t>> = Vec::new();
    // Looked up, never iterated: a fast hash with a fixed seed.
    let mut index: Names<'t> = Names::default();
    fn reindex<'t>(entries: &[Entry<'t>], index: &mut Names<'t>) {
        index.clear();
        for (i, e) in entries.iter().enumerate() {
            index.insert(e.name, i);
        }
    }
    for block in blocks {
        for child in &block.children {
            match &child.kind {
                Kind::Edit => {
                    let name = child.name();
                    let i = match index.get(name) {
                        Some(&i) => i,
                        None => {
                            entries.push(Entry {
                                name,
                                span: child.span,
                                head: child.head,
                                stmts: Vec::with_capacity(child.children.len()),
                                subs: Vec::new(),
                            });
                            index.insert(name, entries.len() - 1);
                            entries.len() - 1
                        }
                    };
                    for c in &child.children {
                        match c.kind {
                            Kind::Config => entries[i].subs.push(c),
                            _ => entries[i].stmts.push(c),
                        }
                    }
                }
                Kind::Stmt(_) => {
                    let verb = child.verb().unwrap_or_default();
                    let a: Vec<&str> = child.args.iter().map(|t| &*t.text).collect();
                    match (verb, a.as_slice()) {
                        ("delete", [name]) => {
                            entries.retain(|e| e.name != *name);
                            reindex(&entries, &mut index);
                        }
                        ("purge", []) => {
                            entries.clear();
                            index.clear();
                        }
                        ("rename", [from, "to", to]) => {
                            if let Some(&i) = index.get(*from) {
                                entries[i].name = to;
                                reindex(&entries, &mut index);
                            }
                        }
                        ("move", [what, pos @ ("before" | "after"), other]) => {
                            match (index.get(*what).copied(), index.get(*other).copied()) {
                                (Some(w), Some(_)) => {
                                    let e = entries.remove(w);
                                    reindex(&entries, &mut index);
                                    let o = index.get(*other).copied().unwrap_or(entries.len());
                                    let at = if *pos == "before" { o } else { o + 1 };
                                    entries.insert(at.min(entries.len()), e);
                                    reindex(&entries, &mut index);
                                }
                                _ => unparsed.push(Unparsed {
                                    span: child.span,
                                    reason: "`move` names an entry that does not exist".into(),
                                }),
                            }
                        }
                        ("set" | "unset" | "append" | "select" | "unselect", _) => {}
                        _ => unparsed.push(Unparsed {
                            span: child.span,
                            reason: format!("`{verb}` statement not understood here"),
                        }),
                    }
                }
                Kind::Config => {}
            }
        }
    }
    entries
}

/// Leaf statements directly in settings-style blocks (`config system settings` ... `end`).
pub fn leaves<'t>(blocks: &[&'t Node<'t>]) -> Vec<&'t Node<'t>> {
    blocks
        .iter()
        .flat_map(|b| b.children.iter())
        .filter(|c| c.verb().is_some())
        .collect()
}

/// The span of the first line of a file (for vendor defaults with nowhere better to point).
pub fn first_line(file: &SourceFile) -> Span {
    file.line_span(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{Encoding, FileStore};

    /// A statement that no longer borrows from its file.
    fn owned(st: Stmt<'_>) -> Stmt<'static> {
        let own = |t: Token<'_>| Token {
            text: Cow::Owned(t.text.into_owned()),
            start: t.start,
            end: t.end,
        };
        Stmt {
            verb: st.verb.map(own),
            args: st.args.into_iter().map(own).collect(),
            span: st.span,
        }
    }

    fn split(text: &str, parallel_at: usize) -> (Vec<Stmt<'static>>, Vec<(Span, String)>) {
        let mut store = FileStore::new();
        let id = store.add_text("t.conf", None, text.to_string(), Encoding::Utf8);
        let file = store.get(id).clone();
        let (mut stmts, mut issues) = (Vec::new(), Vec::new());
        statements_split(&file, &mut issues, |st| stmts.push(owned(st)), parallel_at);
        (
            stmts,
            issues.into_iter().map(|i| (i.span, i.message)).collect(),
        )
    }

    /// The statement splitter as it was before it jumped over quoted values with `memchr3`
    /// and looked plain bytes up in a table: the oracle of the test below.
    fn old_statements_from(
        file: &SourceFile,
        (from, line): (usize, usize),
        to: usize,
        issues: &mut Vec<InputIssue>,
        each: &mut impl FnMut(Stmt<'static>),
    ) -> (usize, usize) {
        let text: &str = &file.text;
        let b = text.as_bytes();
        let id = file.id;
        let mut i = from;
        let mut line = line;
        while i < to {
            match b[i] {
                b'\n' => {
                    line += 1;
                    i += 1;
                    continue;
                }
                b' ' | b'\t' | b'\r' => {
                    i += 1;
                    continue;
                }
                b'#' => {
                    i = text[i..].find('\n').map(|e| i + e).unwrap_or(b.len());
                    continue;
                }
                _ => {}
            }
            let start = i;
            let mut tokens = Vec::new();
            while i < b.len() && b[i] != b'\n' {
                if matches!(b[i], b' ' | b'\t' | b'\r') {
                    i += 1;
                    continue;
                }
                let tstart = i;
                let mut tok = String::new();
                while i < b.len() && !matches!(b[i], b' ' | b'\t' | b'\r' | b'\n') {
                    let q = b[i];
                    if q == b'"' || q == b'\'' {
                        let qline = line;
                        i += 1;
                        let mut closed = false;
                        // Copy runs of plain bytes between the escapes; the boundaries are ASCII, so
                        // every run is whole UTF-8.
                        let mut run = i;
                        while i < b.len() {
                            let c = b[i];
                            if c == q {
                                tok.push_str(&text[run..i]);
                                i += 1;
                                closed = true;
                                break;
                            }
                            if c == b'\\' && q == b'"' && i + 1 < b.len() {
                                tok.push_str(&text[run..i]);
                                i += 1;
                                run = i;
                            }
                            if b[i] == b'\n' {
                                line += 1;
                            }
                            i += 1;
                        }
                        if !closed {
                            tok.push_str(&text[run..]);
                            issues.push(InputIssue {
                                span: file.line_span(qline),
                                message: format!(
                                    "quoted value opened on line {qline} is never closed (truncated file?)"
                                ),
                            });
                        }
                    } else {
                        let run = i;
                        while i < b.len()
                            && !matches!(b[i], b' ' | b'\t' | b'\r' | b'\n' | b'"' | b'\'')
                        {
                            i += 1;
                        }
                        tok.push_str(&text[run..i]);
                    }
                }
                tokens.push(Token {
                    text: Cow::Owned(tok),
                    start: tstart,
                    end: i,
                });
            }
            let end = tokens.last().map(|t| t.end).unwrap_or(start);
            let mut tokens = tokens.into_iter();
            each(Stmt {
                verb: tokens.next(),
                args: tokens.collect(),
                span: Span::new(id, start, end),
            });
        }
        (i, line)
    }

    /// On 3,000 random texts of statements with plain, double- and single-quoted tokens,
    /// escapes (of quotes, backslashes and line ends), quotes running over lines, unclosed
    /// quotes, comments and CRs, the splitter gives the statements, spans, issues and end line
    /// of the byte-by-byte one.
    #[test]
    fn the_splitter_splits_as_byte_by_byte() {
        const PIECES: &[&str] = &[
            "set",
            "edit",
            "next",
            "end",
            "config firewall policy",
            " ",
            " ",
            "\t",
            "\r",
            "\n",
            "\n",
            "\"",
            "\"",
            "'",
            "\\",
            "\\\"",
            "\\\n",
            "abc",
            "x\"y z\"",
            "#c",
            "ENC",
            "é",
            "\"\"",
            "''",
        ];
        let mut rng = crate::testing::Rng(0x5eed_f00d);
        let mut quoted = 0;
        for round in 0..3_000 {
            let count = 1 + rng.below(60);
            let text = rng.text(PIECES, count);
            let mut store = FileStore::new();
            let id = store.add_text("t.conf", None, text.clone(), Encoding::Utf8);
            let file = store.get(id).clone();
            let run = |new: bool| {
                let (mut stmts, mut issues) = (Vec::new(), Vec::new());
                let mut each = |st: Stmt<'_>| stmts.push(owned(st));
                let end = if new {
                    statements_from(&file, (0, 1), text.len(), &mut issues, &mut each)
                } else {
                    old_statements_from(&file, (0, 1), text.len(), &mut issues, &mut each)
                };
                let issues: Vec<(Span, String)> =
                    issues.into_iter().map(|i| (i.span, i.message)).collect();
                (stmts, issues, end)
            };
            let got = run(true);
            assert_eq!(got, run(false), "round {round}: {text:?}");
            quoted += usize::from(
                got.0
                    .iter()
                    .any(|s| s.args.iter().any(|t| t.end - t.start > t.text.len())),
            );
        }
        assert!(quoted > 1_000, "{quoted} texts with quoted tokens");
    }

    /// A token is borrowed from the file when its text is one piece of it (a plain word, or a
    /// quoted value without escapes) and owned only when unquoting joined or changed pieces.
    #[test]
    fn tokens_borrow_from_the_file_unless_unquoting_changed_them() {
        let text = "set a \"b c\" 'd' \"e\\\"f\" g\"h\" \"\"\n";
        let mut store = FileStore::new();
        let id = store.add_text("t.conf", None, text.to_string(), Encoding::Utf8);
        let file = store.get(id).clone();
        let mut stmts = Vec::new();
        statements(&file, &mut Vec::new(), |st| {
            stmts.push(
                st.args
                    .iter()
                    .map(|t| (t.text.to_string(), matches!(t.text, Cow::Borrowed(_))))
                    .collect::<Vec<_>>(),
            )
        });
        let want = [
            ("a", true),
            ("b c", true),
            ("d", true),
            ("e\"f", false),
            ("gh", false),
            ("", true),
        ];
        let want: Vec<(String, bool)> = want.iter().map(|&(t, b)| (t.to_string(), b)).collect();
        assert_eq!(stmts, vec![want]);
    }

    /// Split in two halves on two threads, a file gives the statements (tokens, spans, lines)
    /// and quote issues of the split in one pass: with the cut between statements, after a
    /// comment, inside a quoted value that runs over several lines (the second half's list is
    /// then dropped), and with a quote never closed in either half.
    #[test]
    fn a_file_split_in_two_gives_the_statements_of_one_pass() {
        let mut texts = Vec::new();
        for fixture in ["fixtures/fortios", "fixtures/exports"] {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(fixture);
            let mut paths: Vec<_> = std::fs::read_dir(dir)
                .expect("fixture folder")
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "conf"))
                .collect();
            paths.sort();
            texts.extend(
                paths
                    .iter()
                    .map(|p| std::fs::read_to_string(p).expect("utf-8")),
            );
        }
        assert!(texts.len() >= 5, "{} FortiOS fixtures", texts.len());
        let policy = |i: usize| {
            format!("    edit {i}\n        set name \"p{i}\"\n        set srcaddr \"a\" 'b c'\n    next\n")
        };
        let body: String = (0..40).map(policy).collect();
        let cert = "        set certificate \"-----BEGIN-----\n".to_owned()
            + &"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=\n".repeat(30)
            + "-----END-----\"\n";
        texts.push(format!("config firewall policy\n{body}end\n"));
        texts.push(format!(
            "config vpn certificate local\n    edit \"c\"\n{cert}    next\nend\n{body}"
        ));
        texts.push(format!(
            "#config-version=x\n{body}# a comment in the middle\n{body}"
        ));
        texts.push(format!("{body}        set comments \"never closed\n{body}"));
        texts.push(format!("{body}{body}        set comments \"never closed\n"));
        // Two-byte characters all around the middle: the cut is searched for in bytes.
        let accents = "        set comments \"é\"\n".repeat(40);
        texts.push(format!("{body}{}{body}", "é".repeat(301)));
        texts.push(format!("{accents}{accents}é"));
        let mut crossed = 0;
        for text in &texts {
            let whole = split(text, usize::MAX);
            for at in [1, text.len() / 3, text.len()] {
                assert_eq!(
                    split(text, at),
                    whole,
                    "split at {at} of {} bytes",
                    text.len()
                );
            }
            // Whether the quote runs over the middle (the fallback was taken).
            let mid = text.len() / 2;
            crossed += usize::from(
                whole
                    .0
                    .iter()
                    .any(|s| s.span.start < mid && s.span.end > mid),
            );
        }
        assert!(
            crossed >= 2,
            "{crossed} texts with a statement over the cut"
        );
    }
}
