//! The generic Junos layer: both configuration forms (`set` lines and the curly-brace
//! hierarchy, possibly mixed in one file) become one list of spanned `set` statements.
//!
//! Handled here: `#` and `/* */` comments, quoted strings, `[ a b c ]` lists (one statement per
//! item), the `inactive:` / `replace:` / `protect:` annotations, and the `delete`, `deactivate`
//! and `activate` commands of the set form. A deactivated node disables its whole subtree; each
//! statement records the depth of the node that disabled it, so callers can tell "this policy is
//! inactive" from "one match item of this policy is inactive".

use std::borrow::Cow;
use std::collections::HashMap;

use crate::model::{InputIssue, Unparsed};
use crate::source::{FileId, Span};

/// A path token: its unquoted text and its byte range in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tok<'a> {
    pub text: Cow<'a, str>,
    pub start: usize,
    pub end: usize,
    /// Written between double quotes.
    pub quoted: bool,
}

/// One `set` statement: the full path from the top of the hierarchy.
#[derive(Clone, Debug)]
pub struct Stmt<'a> {
    pub path: Vec<Tok<'a>>,
    /// The line (set form) or the statement up to its `;` (curly form).
    pub span: Span,
    /// When the statement is inactive: the path length of the node that was deactivated (a
    /// statement is inactive as a whole when that node is at or above the level the caller
    /// cares about).
    pub inactive_at: Option<usize>,
}

impl Stmt<'_> {
    pub fn word(&self, i: usize) -> &str {
        self.path.get(i).map(|t| &*t.text).unwrap_or("")
    }
    pub fn len(&self) -> usize {
        self.path.len()
    }
    pub fn is_empty(&self) -> bool {
        self.path.is_empty()
    }
    /// Whether the path begins with these words (`&str` or `String`).
    pub fn starts_with<W: AsRef<str>>(&self, prefix: &[W]) -> bool {
        self.path.len() >= prefix.len()
            && self
                .path
                .iter()
                .zip(prefix)
                .all(|(t, p)| t.text == p.as_ref())
    }
    /// Inactive as a whole when the deactivated node is at depth `depth` or above.
    pub fn inactive_within(&self, depth: usize) -> bool {
        matches!(self.inactive_at, Some(d) if d <= depth)
    }
    pub fn tok_span(&self, file: FileId, i: usize) -> Span {
        self.path
            .get(i)
            .map(|t| Span::new(file, t.start, t.end))
            .unwrap_or(self.span)
    }
}

/// A curly-brace block: its full path and the span from its header to its closing brace.
#[derive(Clone, Debug)]
pub struct Block {
    pub path: Vec<String>,
    pub span: Span,
}

/// The result of the generic layer.
#[derive(Clone, Debug, Default)]
pub struct Tree<'a> {
    pub stmts: Vec<Stmt<'a>>,
    pub blocks: Vec<Block>,
    pub errors: Vec<InputIssue>,
    pub unparsed: Vec<Unparsed>,
}

#[derive(Clone, Debug)]
enum Lex<'a> {
    Word(Tok<'a>),
    LBrace(usize),
    RBrace(usize),
    Semi(usize),
    LBrack(usize),
    RBrack(usize),
    Newline,
}

fn is_special(c: u8) -> bool {
    matches!(c, b'{' | b'}' | b';' | b']' | b'"')
}

/// Split the text into lexemes, dropping comments.
fn lex<'a>(text: &'a str, file: FileId, errors: &mut Vec<InputIssue>) -> Vec<Lex<'a>> {
    let b = text.as_bytes();
    // About one lexeme per 8 bytes in both forms: sized once rather than doubled from empty.
    let mut out = Vec::with_capacity(text.len() / 8);
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b'\n' => {
                out.push(Lex::Newline);
                i += 1;
            }
            b' ' | b'\t' | b'\r' => i += 1,
            b'{' => {
                out.push(Lex::LBrace(i));
                i += 1;
            }
            b'}' => {
                out.push(Lex::RBrace(i));
                i += 1;
            }
            b';' => {
                out.push(Lex::Semi(i));
                i += 1;
            }
            b'[' => {
                out.push(Lex::LBrack(i));
                i += 1;
            }
            b']' => {
                out.push(Lex::RBrack(i));
                i += 1;
            }
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let start = i;
                match text[i + 2..].find("*/") {
                    Some(p) => i = i + 2 + p + 2,
                    None => {
                        errors.push(InputIssue {
                            span: Span::new(file, start, (start + 2).min(b.len())),
                            message: "comment `/*` is never closed: the rest of the file is \
                                      ignored (truncated file?)"
                                .into(),
                        });
                        i = b.len();
                    }
                }
            }
            b'"' => {
                let start = i;
                let mut s = String::new();
                let mut j = i + 1;
                let mut closed = false;
                let mut escaped = false;
                while j < b.len() {
                    match b[j] {
                        b'"' => {
                            closed = true;
                            j += 1;
                            break;
                        }
                        b'\\' if j + 1 < b.len() => {
                            if !escaped {
                                escaped = true;
                                s.push_str(&text[start + 1..j]);
                            }
                            let ch = text[j + 1..].chars().next().unwrap_or('\\');
                            s.push(ch);
                            j += 1 + ch.len_utf8();
                        }
                        _ => {
                            let ch = text[j..].chars().next().unwrap_or(' ');
                            if escaped {
                                s.push(ch);
                            }
                            j += ch.len_utf8();
                        }
                    }
                }
                if !closed {
                    errors.push(InputIssue {
                        span: Span::new(file, start, (start + 1).min(b.len())),
                        message: "quoted string is never closed (truncated file?)".into(),
                    });
                }
                // Without escapes the text is the slice between the quotes.
                let inner_end = if closed { j - 1 } else { j };
                let text = if escaped {
                    Cow::Owned(s)
                } else {
                    Cow::Borrowed(&text[start + 1..inner_end])
                };
                out.push(Lex::Word(Tok {
                    text,
                    start,
                    end: j,
                    quoted: true,
                }));
                i = j;
            }
            _ => {
                let start = i;
                let mut j = i;
                while j < b.len() {
                    let d = b[j];
                    if d.is_ascii_whitespace() || is_special(d) {
                        break;
                    }
                    j += 1;
                }
                if j == start {
                    j = start + 1;
                }
                // Stay on a char boundary (non-ASCII bytes are never special).
                while j < b.len() && !text.is_char_boundary(j) {
                    j += 1;
                }
                out.push(Lex::Word(Tok {
                    text: Cow::Borrowed(&text[start..j]),
                    start,
                    end: j,
                    quoted: false,
                }));
                i = j;
            }
        }
    }
    out
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Set,
    Delete,
    Deactivate,
    Activate,
    /// Other set-form commands (`insert`, `rename`, `annotate`, `protect`...): not modeled.
    Other,
    /// `insert ... before|after ...`: changes the order, which is not modeled.
    Insert,
}

#[derive(Clone, Debug)]
enum Item<'a> {
    One(Tok<'a>),
    List(Vec<Tok<'a>>),
}

struct Frame<'a> {
    /// Path length before this block's header.
    base: usize,
    header: Vec<Tok<'a>>,
    start: usize,
    inactive_at: Option<usize>,
    children: bool,
}

/// A command of the set form, kept for the post-pass.
enum Cmd<'a> {
    Set(Stmt<'a>),
    Change(Op, Vec<String>, Span),
}

/// Expand `[ ]` lists into the product of their items (bounded).
fn expand<'a>(items: &[Item<'a>]) -> Vec<Vec<Tok<'a>>> {
    // Each path gets one word per item.
    let mut out: Vec<Vec<Tok<'a>>> = vec![Vec::with_capacity(items.len())];
    for it in items {
        match it {
            Item::One(t) => out.iter_mut().for_each(|p| p.push(t.clone())),
            Item::List(l) => {
                let mut next = Vec::new();
                for p in &out {
                    for t in l {
                        if next.len() >= 4096 {
                            break;
                        }
                        let mut q = Vec::with_capacity(items.len());
                        q.extend_from_slice(p);
                        q.push(t.clone());
                        next.push(q);
                    }
                }
                out = next;
            }
        }
    }
    out
}

/// Parse a Junos configuration in either form into `set` statements.
pub fn parse(text: &str, file: FileId, max_depth: usize) -> Tree<'_> {
    let mut tree = Tree::default();
    let mut lexemes = lex(text, file, &mut tree.errors);
    let mut cmds: Vec<Cmd> = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut cur: Vec<Item> = Vec::new();
    let mut cur_start: Option<usize> = None;
    let mut cur_end = 0usize;
    let mut inactive_flag = false;
    let mut mode: Option<Op> = None;
    let mut list: Option<(usize, Vec<Tok>)> = None;
    let mut depth_exceeded_at: Option<usize> = None;

    /// The words of the open blocks' headers, with room for `more`.
    fn prefix<'a>(stack: &[Frame<'a>], more: usize) -> Vec<Tok<'a>> {
        let len = stack.iter().map(|f| f.header.len()).sum::<usize>();
        let mut words = Vec::with_capacity(len + more);
        for f in stack {
            words.extend_from_slice(&f.header);
        }
        words
    }
    let inherited =
        |stack: &Vec<Frame>| -> Option<usize> { stack.iter().filter_map(|f| f.inactive_at).min() };

    let mut i = 0;
    while i < lexemes.len() {
        // Each lexeme is taken once (a word's text moves into the command, not a copy of it);
        // the one lexeme that is processed again is put back first.
        let lx = std::mem::replace(&mut lexemes[i], Lex::Newline);
        i += 1;
        // Inside `[ ... ]`: collect words until `]`.
        if let Some((lstart, items)) = list.as_mut() {
            match lx {
                Lex::Word(t) => {
                    cur_end = t.end;
                    items.push(t);
                    continue;
                }
                Lex::Newline if mode.is_none() => continue,
                Lex::RBrack(p) => {
                    cur_end = p + 1;
                    let (_, items) = list.take().unwrap_or_default();
                    cur.push(Item::List(items));
                    continue;
                }
                _ => {
                    tree.errors.push(InputIssue {
                        span: Span::new(file, *lstart, *lstart + 1),
                        message: "list `[` is not closed with `]`".into(),
                    });
                    let (_, items) = list.take().unwrap_or_default();
                    cur.push(Item::List(items));
                    // Re-process this lexeme normally.
                    i -= 1;
                    lexemes[i] = lx;
                    continue;
                }
            }
        }
        match lx {
            Lex::Word(t) => {
                if cur.is_empty() && mode.is_none() && !t.quoted {
                    if stack.is_empty() {
                        let op = match &*t.text {
                            "set" => Some(Op::Set),
                            "delete" => Some(Op::Delete),
                            "deactivate" => Some(Op::Deactivate),
                            "activate" => Some(Op::Activate),
                            "insert" => Some(Op::Insert),
                            "rename" | "annotate" | "protect" | "unprotect" | "copy"
                            | "replace" => Some(Op::Other),
                            _ => None,
                        };
                        if let Some(op) = op {
                            if !inactive_flag {
                                mode = Some(op);
                                cur_start = Some(t.start);
                                cur_end = t.end;
                                continue;
                            }
                        }
                    }
                    match &*t.text {
                        "inactive:" => {
                            inactive_flag = true;
                            cur_start.get_or_insert(t.start);
                            continue;
                        }
                        "replace:" | "protect:" | "active:" | "unprotect:" => {
                            cur_start.get_or_insert(t.start);
                            continue;
                        }
                        _ => {}
                    }
                }
                cur_start.get_or_insert(t.start);
                cur_end = t.end;
                cur.push(Item::One(t));
            }
            Lex::LBrack(p) => {
                cur_start.get_or_insert(p);
                list = Some((p, Vec::new()));
            }
            Lex::RBrack(p) => {
                tree.unparsed.push(Unparsed {
                    span: Span::new(file, p, p + 1),
                    reason: "`]` without a matching `[`".into(),
                });
            }
            Lex::Newline => {
                if let Some(op) = mode.take() {
                    finish_command(
                        op,
                        &mut cur,
                        cur_start.take().unwrap_or(cur_end),
                        cur_end,
                        file,
                        &mut cmds,
                        &mut tree,
                    );
                }
            }
            Lex::Semi(p) => {
                if let Some(op) = mode.take() {
                    finish_command(
                        op,
                        &mut cur,
                        cur_start.take().unwrap_or(p),
                        p + 1,
                        file,
                        &mut cmds,
                        &mut tree,
                    );
                    continue;
                }
                let start = cur_start.take().unwrap_or(p);
                let base = prefix(&stack, 0);
                let mut inactive_at = inherited(&stack);
                if inactive_flag {
                    let d = base.len() + cur.len().max(1);
                    inactive_at = Some(inactive_at.map_or(d, |x| x.min(d)));
                }
                inactive_flag = false;
                if let Some(f) = stack.last_mut() {
                    f.children = true;
                }
                if cur.is_empty() {
                    continue;
                }
                for tail in expand(&cur) {
                    let mut path = Vec::with_capacity(base.len() + tail.len());
                    path.extend_from_slice(&base);
                    path.extend(tail);
                    cmds.push(Cmd::Set(Stmt {
                        path,
                        span: Span::new(file, start, p + 1),
                        inactive_at,
                    }));
                }
                cur.clear();
            }
            Lex::LBrace(p) => {
                if let Some(op) = mode.take() {
                    tree.unparsed.push(Unparsed {
                        span: Span::new(file, cur_start.take().unwrap_or(p), p + 1),
                        reason: format!("`{{` in a `{}` command is not understood", op_name(op)),
                    });
                    cur.clear();
                }
                let start = cur_start.take().unwrap_or(p);
                let header: Vec<Tok> = expand(&cur).into_iter().next().unwrap_or_default();
                if cur.iter().any(|it| matches!(it, Item::List(_))) {
                    tree.unparsed.push(Unparsed {
                        span: Span::new(file, start, p + 1),
                        reason: "a `[ ]` list in a block header is not understood".into(),
                    });
                }
                cur.clear();
                let base = stack.iter().map(|f| f.header.len()).sum::<usize>();
                let mut inactive_at = None;
                if inactive_flag {
                    inactive_at = Some(base + header.len().max(1));
                }
                inactive_flag = false;
                if let Some(f) = stack.last_mut() {
                    f.children = true;
                }
                if stack.len() >= max_depth && depth_exceeded_at.is_none() {
                    depth_exceeded_at = Some(p);
                    tree.errors.push(InputIssue {
                        span: Span::new(file, start, p + 1),
                        message: format!("blocks are nested deeper than {max_depth} levels"),
                    });
                }
                stack.push(Frame {
                    base,
                    header,
                    start,
                    inactive_at,
                    children: false,
                });
            }
            Lex::RBrace(p) => {
                if mode.is_some() {
                    tree.unparsed.push(Unparsed {
                        span: Span::new(file, cur_start.take().unwrap_or(p), p + 1),
                        reason: "`}` in a set-form command is not understood".into(),
                    });
                    mode = None;
                    cur.clear();
                    continue;
                }
                if !cur.is_empty() {
                    let start = cur_start.take().unwrap_or(p);
                    tree.unparsed.push(Unparsed {
                        span: Span::new(file, start, cur_end),
                        reason: "statement without its terminating `;`".into(),
                    });
                    cur.clear();
                }
                cur_start = None;
                inactive_flag = false;
                let Some(frame) = stack.pop() else {
                    tree.errors.push(InputIssue {
                        span: Span::new(file, p, p + 1),
                        message: "`}` without a matching `{`".into(),
                    });
                    continue;
                };
                let mut path: Vec<Tok> = prefix(&stack, frame.header.len());
                path.extend(frame.header.iter().cloned());
                let span = Span::new(file, frame.start, p + 1);
                debug_assert!(frame.base <= path.len());
                if !frame.children && !frame.header.is_empty() {
                    let outer = inherited(&stack);
                    let inactive_at = match (outer, frame.inactive_at) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                    cmds.push(Cmd::Set(Stmt {
                        path: path.clone(),
                        span,
                        inactive_at,
                    }));
                }
                tree.blocks.push(Block {
                    path: path.into_iter().map(|t| t.text.into_owned()).collect(),
                    span,
                });
            }
        }
        // Inactive blocks: statements inside inherit the frame's flag via `inherited`.
    }
    if let Some((lstart, items)) = list.take() {
        tree.errors.push(InputIssue {
            span: Span::new(file, lstart, lstart + 1),
            message: "list `[` is not closed with `]` (truncated file?)".into(),
        });
        cur.push(Item::List(items));
    }
    if let Some(op) = mode.take() {
        finish_command(
            op,
            &mut cur,
            cur_start.take().unwrap_or(cur_end),
            cur_end,
            file,
            &mut cmds,
            &mut tree,
        );
    } else if !cur.is_empty() {
        let start = cur_start.unwrap_or(cur_end);
        tree.errors.push(InputIssue {
            span: Span::new(file, start, cur_end),
            message: "the last statement has no terminating `;` (truncated file?)".into(),
        });
    }
    for f in stack.iter().rev() {
        let name: Vec<&str> = f.header.iter().map(|t| &*t.text).take(4).collect();
        tree.errors.push(InputIssue {
            span: Span::new(file, f.start, f.start + 1),
            message: format!(
                "block `{}` is never closed with `}}`: the file looks truncated",
                name.join(" ")
            ),
        });
    }
    apply_commands(cmds, &mut tree);
    tree
}

fn op_name(op: Op) -> &'static str {
    match op {
        Op::Set => "set",
        Op::Delete => "delete",
        Op::Deactivate => "deactivate",
        Op::Activate => "activate",
        Op::Other => "configuration",
        Op::Insert => "insert",
    }
}

fn finish_command<'a>(
    op: Op,
    cur: &mut Vec<Item<'a>>,
    start: usize,
    end: usize,
    file: FileId,
    cmds: &mut Vec<Cmd<'a>>,
    tree: &mut Tree<'a>,
) {
    let items = std::mem::take(cur);
    let span = Span::new(file, start, end);
    match op {
        Op::Set => {
            if items.is_empty() {
                tree.unparsed.push(Unparsed {
                    span,
                    reason: "`set` without a path".into(),
                });
                return;
            }
            for path in expand(&items) {
                cmds.push(Cmd::Set(Stmt {
                    path,
                    span,
                    inactive_at: None,
                }));
            }
        }
        Op::Insert => tree.errors.push(InputIssue {
            span,
            message: "`insert` (reordering) is not applied: the order of policies or terms \
                      may differ from the device's"
                .into(),
        }),
        Op::Other => tree.unparsed.push(Unparsed {
            span,
            reason: "this configuration command is not modeled (only set, delete, deactivate \
                     and activate are)"
                .into(),
        }),
        _ => {
            let path: Vec<String> = items
                .iter()
                .flat_map(|it| match it {
                    Item::One(t) => vec![t.text.to_string()],
                    Item::List(l) => l.iter().map(|t| t.text.to_string()).collect(),
                })
                .collect();
            cmds.push(Cmd::Change(op, path, span));
        }
    }
}

/// Apply `delete` (removes what was set before it), then `deactivate`/`activate` (mark
/// subtrees inactive, whenever they were set).
fn apply_commands<'a>(cmds: Vec<Cmd<'a>>, tree: &mut Tree<'a>) {
    let mut stmts: Vec<Stmt> = Vec::with_capacity(cmds.len());
    let mut deactivated: Vec<Vec<String>> = Vec::new();
    for c in cmds {
        match c {
            Cmd::Set(s) => stmts.push(s),
            Cmd::Change(Op::Delete, p, _) => stmts.retain(|s| !s.starts_with(&p)),
            Cmd::Change(Op::Deactivate, p, span) => {
                if p.is_empty() {
                    tree.unparsed.push(Unparsed {
                        span,
                        reason: "`deactivate` without a path".into(),
                    });
                } else {
                    deactivated.push(p);
                }
            }
            Cmd::Change(Op::Activate, p, _) => deactivated.retain(|d| *d != p),
            Cmd::Change(_, _, _) => {}
        }
    }
    mark_deactivated(&mut stmts, &deactivated);
    tree.stmts = stmts;
}

/// Mark the statements under deactivated paths inactive from the shortest such path's depth.
fn mark_deactivated(stmts: &mut [Stmt<'_>], deactivated: &[Vec<String>]) {
    // A statement is under a deactivated path only if its word at that path's last position is
    // the path's last word: the paths are looked up by (length, last word), shortest first (the
    // statement's inactive depth is the shortest such path), instead of every path being
    // compared with every statement.
    let mut by_end: HashMap<(usize, &str), Vec<&[String]>, foldhash::fast::FixedState> =
        HashMap::default();
    for d in deactivated {
        if let Some(last) = d.last() {
            by_end.entry((d.len(), last)).or_default().push(d);
        }
    }
    let mut lens: Vec<usize> = by_end.keys().map(|&(n, _)| n).collect();
    lens.sort_unstable();
    lens.dedup();
    for s in stmts {
        for &n in &lens {
            if s.path.len() < n {
                break;
            }
            let hit = by_end
                .get(&(n, &*s.path[n - 1].text))
                .is_some_and(|ds| ds.iter().any(|d| s.starts_with(d)));
            if hit {
                s.inactive_at = Some(s.inactive_at.map_or(n, |x| x.min(n)));
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(t: &Tree) -> Vec<String> {
        t.stmts
            .iter()
            .map(|s| {
                let p: Vec<&str> = s.path.iter().map(|t| &*t.text).collect();
                match s.inactive_at {
                    Some(d) => format!("{} (inactive@{d})", p.join(" ")),
                    None => p.join(" "),
                }
            })
            .collect()
    }

    /// Words and quoted strings are slices of the file; only a quoted string with an escape is
    /// a copy (of its unescaped text).
    #[test]
    fn words_borrow_from_the_file_unless_unescaped() {
        let t = parse(
            "set system host-name \"fw 1\"\nset snmp description \"a\\\"b\"\nset x \"open",
            FileId(0),
            16,
        );
        let words: Vec<(&str, bool)> = t
            .stmts
            .iter()
            .flat_map(|s| &s.path)
            .map(|w| (&*w.text, matches!(w.text, Cow::Owned(_))))
            .collect();
        assert_eq!(
            words,
            [
                ("system", false),
                ("host-name", false),
                ("fw 1", false),
                ("snmp", false),
                ("description", false),
                ("a\"b", true),
                ("x", false),
                ("open", false),
            ]
        );
    }

    /// Statements and deactivated paths drawn from a few words (so paths share prefixes and end
    /// words): the lookup by length and last word marks every statement as comparing it with
    /// every path does.
    #[test]
    fn deactivated_paths_mark_as_comparing_every_path() {
        let words = ["security", "policies", "p1", "p2", "match", "then"];
        let mut rng = crate::testing::Rng(0x5EED_1234_ABCD);
        let path = |rng: &mut crate::testing::Rng, len: u64| -> Vec<String> {
            (0..len)
                .map(|_| words[rng.below(words.len() as u64) as usize].to_string())
                .collect()
        };
        let mut marked = 0;
        for _ in 0..300 {
            let mut stmts: Vec<Stmt> = (0..20)
                .map(|_| {
                    let len = 1 + rng.below(5);
                    Stmt {
                        path: path(&mut rng, len)
                            .into_iter()
                            .map(|text| Tok {
                                text: text.into(),
                                start: 0,
                                end: 0,
                                quoted: false,
                            })
                            .collect(),
                        span: Span::new(FileId(0), 0, 0),
                        inactive_at: (rng.below(4) == 0).then(|| 1 + rng.below(4) as usize),
                    }
                })
                .collect();
            let deactivated: Vec<Vec<String>> = (0..rng.below(6))
                .map(|_| {
                    let len = 1 + rng.below(3);
                    path(&mut rng, len)
                })
                .collect();
            let mut expected = stmts.clone();
            for s in &mut expected {
                for d in &deactivated {
                    let under =
                        s.path.len() >= d.len() && s.path.iter().zip(d).all(|(t, w)| t.text == *w);
                    if under {
                        s.inactive_at = Some(s.inactive_at.map_or(d.len(), |x| x.min(d.len())));
                        marked += 1;
                    }
                }
            }
            mark_deactivated(&mut stmts, &deactivated);
            let depths = |v: &[Stmt]| v.iter().map(|s| s.inactive_at).collect::<Vec<_>>();
            assert_eq!(depths(&stmts), depths(&expected), "{deactivated:?}");
        }
        assert!(marked > 100, "the cases must mark statements ({marked})");
    }

    const CURLY: &str = "## Last commit\n\
security {\n\
    /* a comment */\n\
    policies {\n\
        from-zone trust to-zone untrust {\n\
            inactive: policy p1 {\n\
                match {\n\
                    source-address any;\n\
                    application [ junos-http junos-https ];\n\
                }\n\
                then permit;\n\
            }\n\
            policy p2 {\n\
                match {\n\
                    inactive: source-address \"A B\";\n\
                }\n\
                then { deny; }\n\
            }\n\
        }\n\
    }\n\
}\n";

    const SET: &str = "set security policies from-zone trust to-zone untrust policy p1 match source-address any\n\
set security policies from-zone trust to-zone untrust policy p1 match application [ junos-http junos-https ]\n\
set security policies from-zone trust to-zone untrust policy p1 then permit\n\
set security policies from-zone trust to-zone untrust policy p2 match source-address \"A B\"\n\
set security policies from-zone trust to-zone untrust policy p2 then deny\n\
deactivate security policies from-zone trust to-zone untrust policy p1\n\
deactivate security policies from-zone trust to-zone untrust policy p2 match source-address \"A B\"\n";

    #[test]
    fn curly_and_set_forms_are_equivalent() {
        let a = parse(CURLY, FileId(0), 64);
        let b = parse(SET, FileId(0), 64);
        assert!(a.errors.is_empty(), "{:?}", a.errors);
        assert!(b.errors.is_empty(), "{:?}", b.errors);
        assert_eq!(render(&a), render(&b));
        assert_eq!(
            render(&a),
            vec![
                "security policies from-zone trust to-zone untrust policy p1 match source-address any (inactive@8)",
                "security policies from-zone trust to-zone untrust policy p1 match application junos-http (inactive@8)",
                "security policies from-zone trust to-zone untrust policy p1 match application junos-https (inactive@8)",
                "security policies from-zone trust to-zone untrust policy p1 then permit (inactive@8)",
                "security policies from-zone trust to-zone untrust policy p2 match source-address A B (inactive@11)",
                "security policies from-zone trust to-zone untrust policy p2 then deny",
            ]
        );
    }

    #[test]
    fn spans_point_at_the_statement() {
        let a = parse(CURLY, FileId(0), 64);
        let s = &a.stmts[4];
        assert_eq!(
            &CURLY[s.span.start..s.span.end],
            "inactive: source-address \"A B\";"
        );
        assert_eq!(&CURLY[s.path[10].start..s.path[10].end], "\"A B\"");
        let b = parse(SET, FileId(0), 64);
        let s = &b.stmts[1];
        assert_eq!(
            &SET[s.span.start..s.span.end],
            "set security policies from-zone trust to-zone untrust policy p1 match application [ junos-http junos-https ]"
        );
        let blk = a
            .blocks
            .iter()
            .find(|b| b.path.last().map(String::as_str) == Some("p2"))
            .unwrap();
        assert!(CURLY[blk.span.start..blk.span.end].starts_with("policy p2 {"));
        assert!(CURLY[blk.span.start..blk.span.end].ends_with('}'));
    }

    #[test]
    fn delete_and_mixed_forms() {
        let t = "system {\n    host-name x;\n}\nset a b c\nset a b d\ndelete a b c\nset a b c 2\nset x [ 1 2\n";
        let tree = parse(t, FileId(0), 64);
        assert_eq!(
            render(&tree),
            vec!["system host-name x", "a b d", "a b c 2", "x 1", "x 2"]
        );
        assert_eq!(tree.errors.len(), 1, "{:?}", tree.errors);
        let tree = parse("set a p1\ninsert a p2 before p1\n", FileId(0), 64);
        assert_eq!(render(&tree), vec!["a p1"]);
        assert!(tree.errors[0].message.contains("insert"));
    }

    /// A list left open is closed at the next lexeme that cannot be in it, and that lexeme
    /// is then read as usual: here the `;` still ends its statement and the `}` its block (the
    /// words before it, with no `;`, make no statement).
    #[test]
    fn the_lexeme_that_ends_an_open_list_is_read_again() {
        let t = "system {\n    a [ 1 2;\n    b c;\n    d [ 3 }\ne f;\n";
        let tree = parse(t, FileId(0), 64);
        assert_eq!(
            render(&tree),
            vec!["system a 1", "system a 2", "system b c", "e f"]
        );
        assert_eq!(tree.errors.len(), 2, "{:?}", tree.errors);
    }

    #[test]
    fn truncated_and_hostile_input_do_not_panic() {
        for t in [
            "security {\n policies {\n",
            "}}}",
            "a \"unterminated",
            "/* never closed",
            "set [ [ ] ] ;; { } é\u{0}",
            "inactive: inactive: x { ] }",
            "[",
        ] {
            let tree = parse(t, FileId(0), 4);
            let _ = render(&tree);
        }
        let tree = parse("security {\n policies {\n", FileId(0), 64);
        assert_eq!(tree.errors.len(), 2);
        let deep = "a {".repeat(100);
        let tree = parse(&deep, FileId(0), 8);
        assert!(tree
            .errors
            .iter()
            .any(|e| e.message.contains("nested deeper")));
    }
}
