//! `nft list ruleset` text (and `nft -f` scripts of the same shape) into the intermediate form.

use std::collections::HashMap;

use super::ir::*;
use crate::formats::Limits;
use crate::model::{InputIssue, Unparsed};
use crate::source::{FileId, SourceFile, Span};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TK {
    Word,
    Str,
    LBrace,
    RBrace,
    Comma,
    Semi,
    Newline,
}

#[derive(Clone, Debug)]
struct Tok {
    kind: TK,
    text: String,
    start: usize,
    end: usize,
}

fn lex(text: &str) -> Vec<Tok> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b'\n' => {
                out.push(Tok {
                    kind: TK::Newline,
                    text: String::new(),
                    start: i,
                    end: i + 1,
                });
                i += 1;
            }
            b' ' | b'\t' | b'\r' => i += 1,
            b'\\' if matches!(b.get(i + 1), Some(b'\n')) => i += 2,
            b'\\' if b.get(i + 1) == Some(&b'\r') && b.get(i + 2) == Some(&b'\n') => i += 3,
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'{' | b'}' | b',' | b';' => {
                let kind = match c {
                    b'{' => TK::LBrace,
                    b'}' => TK::RBrace,
                    b',' => TK::Comma,
                    _ => TK::Semi,
                };
                out.push(Tok {
                    kind,
                    text: (c as char).to_string(),
                    start: i,
                    end: i + 1,
                });
                i += 1;
            }
            b'"' => {
                let start = i;
                i += 1;
                let mut s = String::new();
                let run = i;
                while i < b.len() && b[i] != b'"' && b[i] != b'\n' {
                    i += 1;
                }
                s.push_str(&text[run..i]);
                if i < b.len() && b[i] == b'"' {
                    i += 1;
                }
                out.push(Tok {
                    kind: TK::Str,
                    text: s,
                    start,
                    end: i,
                });
            }
            _ => {
                let start = i;
                while i < b.len() {
                    let c = b[i];
                    if matches!(
                        c,
                        b' ' | b'\t' | b'\r' | b'\n' | b'{' | b'}' | b',' | b';' | b'"' | b'#'
                    ) {
                        break;
                    }
                    i += 1;
                }
                // Word boundaries are ASCII, so this is on char boundaries.
                out.push(Tok {
                    kind: TK::Word,
                    text: text[start..i].to_string(),
                    start,
                    end: i,
                });
            }
        }
    }
    out
}

/// A statement: tokens up to a newline or `;` outside braces, or a block header.
struct Stmt {
    toks: Vec<Tok>,
    opens_block: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Top,
    Table,
    Inner,
}

enum Next {
    Stmt(Stmt),
    Close(usize),
    Eof,
}

struct Parser<'a> {
    toks: Vec<Tok>,
    pos: usize,
    file: FileId,
    text: &'a str,
    out: Ruleset,
    defines: HashMap<String, Vec<Tok>>,
    limits: Limits,
}

const TABLE_OBJECTS: &[&str] = &[
    "chain",
    "set",
    "map",
    "flowtable",
    "counter",
    "quota",
    "limit",
    "ct",
    "secmark",
    "synproxy",
    "meter",
];

impl Parser<'_> {
    fn span(&self, a: usize, b: usize) -> Span {
        Span::new(self.file, a, b)
    }

    fn stmt_span(&self, toks: &[Tok]) -> Span {
        match (toks.first(), toks.last()) {
            (Some(a), Some(b)) => self.span(a.start, b.end),
            _ => Span::file_start(self.file),
        }
    }

    fn line_span_at(&self, off: usize) -> Span {
        let start = self.text[..off.min(self.text.len())]
            .rfind('\n')
            .map(|p| p + 1)
            .unwrap_or(0);
        let end = self.text[start..]
            .find('\n')
            .map(|p| start + p)
            .unwrap_or(self.text.len());
        let end = if end > start && self.text.as_bytes().get(end - 1) == Some(&b'\r') {
            end - 1
        } else {
            end
        };
        self.span(start, end)
    }

    fn next(&mut self, ctx: Ctx) -> Next {
        let mut toks: Vec<Tok> = Vec::new();
        let mut depth = 0usize;
        while let Some(t) = self.toks.get(self.pos).cloned() {
            match t.kind {
                TK::Newline | TK::Semi if depth == 0 => {
                    self.pos += 1;
                    if !toks.is_empty() {
                        return Next::Stmt(Stmt {
                            toks,
                            opens_block: false,
                        });
                    }
                }
                TK::Newline => self.pos += 1,
                TK::LBrace => {
                    self.pos += 1;
                    if depth == 0 && self.is_header(ctx, &toks) {
                        return Next::Stmt(Stmt {
                            toks,
                            opens_block: true,
                        });
                    }
                    depth += 1;
                    toks.push(t);
                }
                TK::RBrace => {
                    if depth == 0 {
                        if !toks.is_empty() {
                            return Next::Stmt(Stmt {
                                toks,
                                opens_block: false,
                            });
                        }
                        self.pos += 1;
                        return Next::Close(t.start);
                    }
                    depth -= 1;
                    self.pos += 1;
                    toks.push(t);
                }
                _ => {
                    self.pos += 1;
                    toks.push(t);
                }
            }
        }
        if depth > 0 {
            if let Some(first) = toks.first() {
                let span = self.line_span_at(first.start);
                self.out.errors.push(InputIssue {
                    span,
                    message: "a '{' set opened on this line is never closed (file truncated?)"
                        .into(),
                });
            }
        }
        if toks.is_empty() {
            Next::Eof
        } else {
            Next::Stmt(Stmt {
                toks,
                opens_block: false,
            })
        }
    }

    fn is_header(&self, ctx: Ctx, toks: &[Tok]) -> bool {
        let w = |i: usize| toks.get(i).map(|t| t.text.as_str()).unwrap_or("");
        match ctx {
            Ctx::Top => {
                w(0) == "table"
                    || (matches!(w(0), "add" | "create") && matches!(w(1), "table" | "chain"))
                    || w(0) == "chain"
            }
            Ctx::Table => TABLE_OBJECTS.contains(&w(0)),
            Ctx::Inner => false,
        }
    }

    /// Skip a block whose header was read (unknown object): consume until its close.
    fn skip_block(&mut self, header: Span) -> Option<usize> {
        loop {
            match self.next(Ctx::Inner) {
                Next::Stmt(_) => {}
                Next::Close(at) => return Some(at),
                Next::Eof => {
                    self.unclosed(header, "block");
                    return None;
                }
            }
        }
    }

    fn unclosed(&mut self, header: Span, what: &str) {
        let line = self.line_span_at(header.start);
        let name = self.text.get(line.start..line.end).unwrap_or("").trim();
        self.out.errors.push(InputIssue {
            span: line,
            message: format!(
                "{what} `{}` is not closed: the file ends before its '}}' (truncated?)",
                name.trim_end_matches('{').trim()
            ),
        });
    }

    fn run(&mut self) {
        loop {
            match self.next(Ctx::Top) {
                Next::Eof => break,
                Next::Close(at) => {
                    let span = self.line_span_at(at);
                    self.out.errors.push(InputIssue {
                        span,
                        message: "unbalanced '}' at top level".into(),
                    });
                }
                Next::Stmt(st) => self.top_stmt(st),
            }
        }
    }

    fn top_stmt(&mut self, st: Stmt) {
        let words: Vec<&str> = st.toks.iter().map(|t| t.text.as_str()).collect();
        let span = self.stmt_span(&st.toks);
        if st.opens_block {
            let w: Vec<&str> = if matches!(words.first(), Some(&"add") | Some(&"create")) {
                words[1..].to_vec()
            } else {
                words.clone()
            };
            if w.first() == Some(&"table") {
                let (family, name) = match w.len() {
                    2 => ("ip".to_string(), w[1].to_string()),
                    n if n >= 3 => (w[1].to_string(), w[2].to_string()),
                    _ => ("ip".to_string(), String::new()),
                };
                self.table(family, name, span);
            } else if w.first() == Some(&"chain") && w.len() >= 4 {
                let (f, t, c) = (w[1].to_string(), w[2].to_string(), w[3].to_string());
                self.chain(f, t, c, span);
            } else {
                self.out.unparsed.push(Unparsed {
                    span,
                    reason: "nft block not understood".into(),
                });
                self.skip_block(span);
            }
            return;
        }
        match words.first().copied().unwrap_or("") {
            "table" | "flush" | "delete" | "destroy" => {}
            "define" | "redefine" => self.define(&st.toks),
            "include" => self.out.unparsed.push(Unparsed {
                span,
                reason:
                    "include: the included files are not part of this input and are not evaluated"
                        .into(),
            }),
            "add" | "insert" if words.get(1) == Some(&"rule") => self.script_rule(&st.toks, span),
            "add" | "create" if words.get(1) == Some(&"chain") => {
                // `add chain inet t c` without a block: a user chain.
                if words.len() >= 5 {
                    self.ensure_chain(words[2], words[3], words[4], span);
                }
            }
            _ => self.out.unparsed.push(Unparsed {
                span,
                reason: "nft statement not understood at top level".into(),
            }),
        }
    }

    fn ensure_chain(&mut self, family: &str, table: &str, name: &str, span: Span) -> usize {
        if let Some(i) = self
            .out
            .chains
            .iter()
            .position(|c| c.family == family && c.table == table && c.name == name)
        {
            return i;
        }
        self.out.chains.push(ChainIr {
            family: family.into(),
            table: table.into(),
            name: name.into(),
            span,
            base: None,
            rules: Vec::new(),
        });
        self.out.chains.len() - 1
    }

    /// `add rule [family] table chain <rule>` / `insert rule ...` script commands.
    fn script_rule(&mut self, toks: &[Tok], span: Span) {
        let fams = ["ip", "ip6", "inet", "arp", "bridge", "netdev"];
        let (family, rest) = match toks.get(2).map(|t| t.text.as_str()) {
            Some(f) if fams.contains(&f) => (f.to_string(), &toks[3.min(toks.len())..]),
            _ => ("ip".to_string(), &toks[2.min(toks.len())..]),
        };
        if rest.len() < 2 {
            self.out.unparsed.push(Unparsed {
                span,
                reason: "incomplete `add rule` command".into(),
            });
            return;
        }
        let (table, chain) = (rest[0].text.clone(), rest[1].text.clone());
        let ci = self.ensure_chain(&family, &table, &chain, span);
        let body = rest[2..].to_vec();
        let mut rule = self.rule(&body, span, 0);
        let insert = toks[0].text == "insert";
        let ch = &mut self.out.chains[ci];
        if insert {
            ch.rules.insert(0, rule.clone());
        } else {
            rule.number = ch.rules.len() + 1;
            ch.rules.push(rule);
        }
        for (i, r) in ch.rules.iter_mut().enumerate() {
            r.number = i + 1;
        }
    }

    fn define(&mut self, toks: &[Tok]) {
        if toks.len() >= 3 && toks[2].text == "=" {
            self.defines
                .insert(toks[1].text.clone(), toks[3..].to_vec());
        }
    }

    /// Replace `$name` words by the tokens of their define (nested defines up to the limit).
    ///
    /// Levels count as for groups in every format: the statement's `$a` is level 1, a `$b` in
    /// `a`'s body level 2. A define still unexpanded at the limit (nested deeper, or referring
    /// to itself, which nft rejects) is an input error at the statement.
    fn expand(&mut self, toks: &[Tok]) -> Vec<Tok> {
        let mut cur = toks.to_vec();
        for _ in 0..self.limits.max_reference_depth {
            if !cur
                .iter()
                .any(|t| t.kind == TK::Word && t.text.starts_with('$'))
            {
                break;
            }
            let mut next = Vec::with_capacity(cur.len());
            for t in cur {
                if t.kind == TK::Word && t.text.starts_with('$') {
                    if let Some(body) = self.defines.get(&t.text[1..]) {
                        next.extend(body.iter().map(|b| Tok {
                            kind: b.kind,
                            text: b.text.clone(),
                            start: t.start,
                            end: t.end,
                        }));
                        continue;
                    }
                }
                next.push(t);
            }
            cur = next;
        }
        let deep = cur.iter().find(|t| {
            t.kind == TK::Word && t.text.starts_with('$') && self.defines.contains_key(&t.text[1..])
        });
        if let Some(t) = deep {
            let limit = self.limits.max_reference_depth;
            let message = format!(
                "define `{}` is nested deeper than the reference limit of {limit} levels or refers to itself (--max-reference-depth, limits: max-reference-depth): the statement was not evaluated exactly",
                t.text
            );
            let span = self.stmt_span(toks);
            self.out.errors.push(InputIssue { span, message });
        }
        cur
    }

    fn table(&mut self, family: String, name: String, header: Span) {
        let evaluated = matches!(family.as_str(), "ip" | "ip6" | "inet");
        if !evaluated {
            self.out
                .other_tables
                .push((family.clone(), name.clone(), header));
        }
        loop {
            match self.next(Ctx::Table) {
                Next::Eof => {
                    self.unclosed(header, "table");
                    return;
                }
                Next::Close(_) => return,
                Next::Stmt(st) => {
                    let span = self.stmt_span(&st.toks);
                    let w = |i: usize| st.toks.get(i).map(|t| t.text.clone()).unwrap_or_default();
                    if st.opens_block {
                        match w(0).as_str() {
                            "chain" => {
                                let cname = w(1);
                                self.chain(family.clone(), name.clone(), cname, span);
                            }
                            "set" | "map" => {
                                let sname = w(1);
                                self.set(family.clone(), name.clone(), sname, span);
                            }
                            "ct" if w(1) == "helper" => {
                                let hname = w(2);
                                self.helper(family.clone(), name.clone(), hname, span);
                            }
                            _ => {
                                self.skip_block(span);
                            }
                        }
                    } else {
                        match w(0).as_str() {
                            "define" | "redefine" => self.define(&st.toks),
                            "include" => self.out.unparsed.push(Unparsed {
                                span,
                                reason: "include: the included files are not part of this input and are not evaluated".into(),
                            }),
                            "flags" | "comment" => {}
                            _ => self.out.unparsed.push(Unparsed {
                                span,
                                reason: "table statement not understood".into(),
                            }),
                        }
                    }
                }
            }
        }
    }

    fn chain(&mut self, family: String, table: String, name: String, header: Span) {
        let ci = self.ensure_chain(&family, &table, &name, header);
        self.out.chains[ci].span = header;
        let mut number = self.out.chains[ci].rules.len();
        loop {
            match self.next(Ctx::Inner) {
                Next::Eof => {
                    self.unclosed(header, "chain");
                    return;
                }
                Next::Close(_) => return,
                Next::Stmt(st) => {
                    let span = self.stmt_span(&st.toks);
                    let first = st.toks[0].text.as_str();
                    match first {
                        "type" if st.toks[0].kind == TK::Word => {
                            let base = self.base(&st.toks, span);
                            let ch = &mut self.out.chains[ci];
                            let policy = ch.base.as_ref().and_then(|b| b.policy);
                            ch.base = Some(BaseIr { policy, ..base });
                        }
                        "policy" => {
                            let p = st.toks.get(1).map(|t| t.text.as_str()).unwrap_or("");
                            let accept = match p {
                                "accept" => Some(true),
                                "drop" => Some(false),
                                _ => None,
                            };
                            match accept {
                                Some(a) => {
                                    let ch = &mut self.out.chains[ci];
                                    if let Some(b) = ch.base.as_mut() {
                                        b.policy = Some((a, span));
                                    } else {
                                        ch.base = Some(BaseIr {
                                            typ: "filter".into(),
                                            hook: String::new(),
                                            prio: 0,
                                            policy: Some((a, span)),
                                            span,
                                        });
                                    }
                                }
                                None => self.out.unparsed.push(Unparsed {
                                    span,
                                    reason: "chain policy not understood".into(),
                                }),
                            }
                        }
                        "comment" | "devices" | "device" | "flags" => {}
                        _ => {
                            number += 1;
                            if span.len() > self.limits.max_line_len {
                                // Too long to parse: kept as a rule whose verdict is unknown.
                                self.out.unparsed.push(Unparsed {
                                    span,
                                    reason: format!(
                                        "rule longer than {} bytes is not parsed",
                                        self.limits.max_line_len
                                    ),
                                });
                                self.out.chains[ci].rules.push(RuleIr {
                                    span,
                                    exprs: vec![Expr::Verdict(Verdict::Other(
                                        "rule too long to parse".into(),
                                    ))],
                                    comment: None,
                                    number,
                                });
                                continue;
                            }
                            let toks = self.expand(&st.toks);
                            let rule = self.rule(&toks, span, number);
                            self.out.chains[ci].rules.push(rule);
                        }
                    }
                }
            }
        }
    }

    /// `type filter hook input priority filter + 10` (device ... ignored).
    fn base(&mut self, toks: &[Tok], span: Span) -> BaseIr {
        let words: Vec<&str> = toks.iter().map(|t| t.text.as_str()).collect();
        let typ = words.get(1).copied().unwrap_or("").to_string();
        let mut hook = String::new();
        let mut prio = 0i64;
        let mut i = 2;
        while i < words.len() {
            match words[i] {
                "hook" => {
                    hook = words.get(i + 1).copied().unwrap_or("").to_string();
                    i += 2;
                }
                "priority" => {
                    let base = words.get(i + 1).copied().unwrap_or("0");
                    let mut p = named_priority(base);
                    let mut used = 2;
                    if let (Some(op), Some(n)) = (words.get(i + 2), words.get(i + 3)) {
                        if let (Ok(n), "+" | "-") = (n.parse::<i64>(), *op) {
                            p = p.map(|v| if *op == "+" { v + n } else { v - n });
                            used = 4;
                        }
                    }
                    match p {
                        Some(v) => prio = v,
                        None => self.out.unparsed.push(Unparsed {
                            span,
                            reason: format!(
                                "chain priority `{base}` not understood; 0 assumed for ordering"
                            ),
                        }),
                    }
                    i += used;
                }
                _ => i += 1,
            }
        }
        BaseIr {
            typ,
            hook,
            prio,
            policy: None,
            span,
        }
    }

    fn set(&mut self, family: String, table: String, name: String, header: Span) {
        let mut set = SetIr {
            family,
            table,
            name,
            span: header,
            elems: Vec::new(),
            map_elems: Vec::new(),
            dynamic: false,
        };
        let mut closed_at = None;
        loop {
            match self.next(Ctx::Inner) {
                Next::Eof => {
                    self.unclosed(header, "set");
                    break;
                }
                Next::Close(at) => {
                    closed_at = Some(at);
                    break;
                }
                Next::Stmt(st) => {
                    let w0 = st.toks[0].text.as_str();
                    match w0 {
                        "flags"
                            if st
                                .toks
                                .iter()
                                .any(|t| matches!(t.text.as_str(), "dynamic" | "timeout")) =>
                        {
                            set.dynamic = true;
                        }
                        "timeout" => set.dynamic = true,
                        "elements" => {
                            let toks = self.expand(&st.toks);
                            let items = items(&toks);
                            for it in items {
                                if let Item::Set(elems, _, _) = it {
                                    for e in elems {
                                        if let Some(colon) = e.iter().position(|t| t.text == ":") {
                                            let key = elem_vals(&e[..colon]);
                                            let v: Vec<&str> = e[colon + 1..]
                                                .iter()
                                                .map(|t| t.text.as_str())
                                                .collect();
                                            let verdict = verdict_from_words(&v);
                                            set.map_elems.push((key, verdict));
                                        } else {
                                            set.elems.extend(elem_vals(&e));
                                        }
                                    }
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        if let Some(at) = closed_at {
            set.span = self.span(header.start, at + 1);
        }
        self.out.sets.push(set);
    }

    fn helper(&mut self, family: String, table: String, name: String, header: Span) {
        let mut typ = String::new();
        let mut end = header.end;
        loop {
            match self.next(Ctx::Inner) {
                Next::Eof => {
                    self.unclosed(header, "ct helper");
                    break;
                }
                Next::Close(at) => {
                    end = at + 1;
                    break;
                }
                Next::Stmt(st) => {
                    if st.toks[0].text == "type" {
                        if let Some(t) = st.toks.get(1) {
                            typ = t.text.clone();
                        }
                    }
                }
            }
        }
        self.out.helpers.push(HelperIr {
            family,
            table,
            name,
            typ,
            span: self.span(header.start, end),
        });
    }

    fn rule(&mut self, toks: &[Tok], span: Span, number: usize) -> RuleIr {
        let its = items(toks);
        let mut r = RuleIr {
            span,
            exprs: Vec::new(),
            comment: None,
            number,
        };
        let mut i = 0;
        let word = |i: usize| -> &str {
            match its.get(i) {
                Some(Item::W(t)) => t.text.as_str(),
                _ => "",
            }
        };
        let is_kw = |w: &str| RESYNC.contains(&w);
        let file = self.file;
        let chunk_span = |from: usize, to: usize| -> Span {
            let a = its.get(from).map(|x| x.start()).unwrap_or(span.start);
            let b = its
                .get(to.saturating_sub(1))
                .map(|x| x.end())
                .unwrap_or(span.end);
            Span::new(file, a, b.max(a))
        };
        let chunk_text = |from: usize, to: usize| -> String {
            its[from.min(its.len())..to.min(its.len())]
                .iter()
                .map(|x| x.text())
                .collect::<Vec<_>>()
                .join(" ")
        };
        while i < its.len() {
            let w = word(i);
            let start = i;
            // A match `FIELD [op] VALUE`: returns the left side and how many items it used.
            let left: Option<(Left, usize)> = match w {
                "ip" | "ip6" => {
                    let fam = if w == "ip" { Fam::V4 } else { Fam::V6 };
                    match word(i + 1) {
                        "saddr" => Some((Left::Saddr(fam), 2)),
                        "daddr" => Some((Left::Daddr(fam), 2)),
                        "protocol" | "nexthdr" => Some((Left::L4proto(fam), 2)),
                        _ => None,
                    }
                }
                "tcp" | "udp" | "sctp" | "th" | "dccp" | "udplite" => {
                    let protos = match w {
                        "tcp" => vec![6],
                        "udp" => vec![17],
                        "sctp" => vec![132],
                        "dccp" => vec![33],
                        "udplite" => vec![136],
                        _ => vec![6, 17, 132],
                    };
                    match word(i + 1) {
                        "dport" => Some((Left::Dport(protos), 2)),
                        "sport" => Some((Left::Sport(protos), 2)),
                        _ => None,
                    }
                }
                "icmp" | "icmpv6" if matches!(word(i + 1), "type" | "code") => {
                    let p = if w == "icmp" { 1 } else { 58 };
                    Some((Left::IcmpField(p, format!("{w} {}", word(i + 1))), 2))
                }
                "meta" => match word(i + 1) {
                    "l4proto" => Some((Left::L4proto(Fam::Any), 2)),
                    "nfproto" | "protocol" => Some((Left::NfProto, 2)),
                    "iifname" | "iif" => Some((Left::Iif, 2)),
                    "oifname" | "oif" => Some((Left::Oif, 2)),
                    _ => None,
                },
                "iifname" | "iif" => Some((Left::Iif, 1)),
                "oifname" | "oif" => Some((Left::Oif, 1)),
                "ct" if word(i + 1) == "state" => Some((Left::CtState, 2)),
                _ => None,
            };
            if w == "tcp" && word(i + 1) == "flags" {
                let k = skip_to_kw(&its, i + 2, &is_kw);
                let expr = chunk_text(i + 2, k);
                let text = chunk_text(start, k);
                r.exprs.push(Expr::Match {
                    left: Left::TcpFlags(tcp_flags_match_syn(&expr), text),
                    op: Op::Eq,
                    vals: Vec::new(),
                });
                i = k;
                continue;
            }
            if let Some((left, used)) = left {
                if word(i + used) == "set" {
                    // `meta ... set` style statement on a known field.
                    i = skip_to_kw(&its, i + used + 1, &is_kw);
                    r.exprs.push(Expr::Stmt);
                    continue;
                }
                let mut j = i + used;
                let mut op = Op::Eq;
                if let Some(o) = Op::from_text(word(j)) {
                    op = o;
                    j += 1;
                } else if matches!(word(j), "&" | "|" | "^" | "<<" | ">>") {
                    let k = skip_to_kw(&its, j, &is_kw);
                    r.exprs.push(Expr::Unmodeled {
                        text: chunk_text(start, k),
                        span: chunk_span(start, k),
                        understood: true,
                    });
                    i = k;
                    continue;
                }
                if word(j) == "vmap" {
                    j += 1;
                    let (elems, map_ref) = match its.get(j) {
                        Some(Item::Set(elems, _, _)) => {
                            let mut out = Vec::new();
                            for e in elems {
                                if let Some(c) = e.iter().position(|t| t.text == ":") {
                                    let v: Vec<&str> =
                                        e[c + 1..].iter().map(|t| t.text.as_str()).collect();
                                    let verdict = verdict_from_words(&v)
                                        .unwrap_or_else(|| Verdict::Other(v.join(" ")));
                                    out.push((elem_vals(&e[..c]), verdict));
                                }
                            }
                            (out, None)
                        }
                        Some(Item::W(t)) if t.text.starts_with('@') => {
                            (Vec::new(), Some(t.text[1..].to_string()))
                        }
                        _ => (Vec::new(), None),
                    };
                    r.exprs.push(Expr::Vmap {
                        left,
                        elems,
                        map_ref,
                    });
                    i = j + 1;
                    continue;
                }
                let (vals, k) = read_values(&its, j);
                if vals.is_empty() {
                    let k = skip_to_kw(&its, i + used, &is_kw);
                    r.exprs.push(Expr::Unmodeled {
                        text: chunk_text(start, k),
                        span: chunk_span(start, k),
                        understood: false,
                    });
                    i = k.max(i + 1);
                    continue;
                }
                r.exprs.push(Expr::Match { left, op, vals });
                i = k;
                continue;
            }
            match w {
                "accept" | "drop" | "reject" | "return" | "continue" | "queue" => {
                    if let Some(v) = Verdict::from_word(w) {
                        r.exprs.push(Expr::Verdict(v));
                    }
                    // Verdict arguments (`reject with tcp reset`, `queue num 1`): skip to comment.
                    i += 1;
                    while i < its.len() && word(i) != "comment" {
                        i += 1;
                    }
                }
                "jump" | "goto" => {
                    let target = its.get(i + 1).map(|x| x.text()).unwrap_or_default();
                    r.exprs.push(Expr::Verdict(if w == "jump" {
                        Verdict::Jump(target)
                    } else {
                        Verdict::Goto(target)
                    }));
                    i += 2;
                }
                "comment" => {
                    r.comment = its.get(i + 1).map(|x| x.text());
                    i += 2;
                }
                "counter" => {
                    i += 1;
                    while let "packets" | "bytes" | "name" = word(i) {
                        i += 2;
                    }
                    if let Some(Item::Str(_)) = its.get(i) {
                        i += 1;
                    }
                    r.exprs.push(Expr::Stmt);
                }
                "log" => {
                    i += 1;
                    while matches!(
                        word(i),
                        "prefix" | "level" | "flags" | "group" | "snaplen" | "queue-threshold"
                    ) {
                        i += 2;
                        // `flags tcp sequence,options`
                        while matches!(its.get(i), Some(Item::Comma(_))) {
                            i += 2;
                        }
                    }
                    r.exprs.push(Expr::Stmt);
                }
                "limit" | "quota" => {
                    let k = skip_to_kw(&its, i + 1, &is_kw);
                    r.exprs.push(Expr::Unmodeled {
                        text: chunk_text(start, k),
                        span: chunk_span(start, k),
                        understood: true,
                    });
                    i = k;
                }
                "ct" if word(i + 1) == "helper" && word(i + 2) == "set" => {
                    let k = skip_to_kw(&its, i + 3, &is_kw);
                    let names: Vec<String> = its[(i + 3).min(its.len())..k]
                        .iter()
                        .flat_map(|x| x.strings())
                        .collect();
                    r.exprs.push(Expr::HelperSet(names));
                    i = k;
                }
                "masquerade" | "snat" | "dnat" | "redirect" | "tproxy" => {
                    // NAT statements take the rest of the rule (addresses, maps, flags).
                    i += 1;
                    while i < its.len()
                        && !matches!(
                            word(i),
                            "comment" | "accept" | "drop" | "reject" | "return" | "jump" | "goto"
                        )
                    {
                        i += 1;
                    }
                    r.exprs.push(Expr::Stmt);
                }
                _ => {
                    // A statement (`... set ...`, notrack, flow offload) or an unknown match.
                    // Selector prefixes (`meta mark`, `ip dscp`) take their field word too.
                    // Their value follows (`ct status dnat`, `ip dscp 0x0`) unless it is a `set`.
                    let from = if UNMODELED_MATCHES.contains(&w) {
                        let mut f = i + 2;
                        if Op::from_text(word(f)).is_some() {
                            f += 1;
                        }
                        if word(f) != "set" {
                            f += 1;
                        }
                        f
                    } else {
                        i + 1
                    };
                    let k = skip_to_kw(&its, from.min(its.len()), &is_kw);
                    let words: Vec<String> = its[i..k].iter().map(|x| x.text()).collect();
                    let is_stmt = words.iter().any(|x| x == "set")
                        || STATEMENTS.contains(&w)
                        || (w == "flow" && matches!(word(i + 1), "add" | "offload"));
                    if is_stmt {
                        r.exprs.push(Expr::Stmt);
                    } else {
                        let understood = UNMODELED_MATCHES.contains(&w);
                        r.exprs.push(Expr::Unmodeled {
                            text: chunk_text(start, k),
                            span: chunk_span(start, k),
                            understood,
                        });
                    }
                    i = k.max(i + 1);
                }
            }
        }
        r
    }
}

/// Words where a new match or statement can start (to resynchronise after an unknown one).
const RESYNC: &[&str] = &[
    "ip",
    "ip6",
    "tcp",
    "udp",
    "sctp",
    "th",
    "dccp",
    "udplite",
    "meta",
    "ct",
    "iifname",
    "oifname",
    "iif",
    "oif",
    "icmp",
    "icmpv6",
    "counter",
    "log",
    "limit",
    "quota",
    "comment",
    "accept",
    "drop",
    "reject",
    "jump",
    "goto",
    "return",
    "continue",
    "queue",
    "masquerade",
    "snat",
    "dnat",
    "redirect",
    "notrack",
    "flow",
    "fib",
    "ether",
    "vlan",
    "arp",
    "socket",
];

/// Statements with no effect on the verdict.
const STATEMENTS: &[&str] = &[
    "masquerade",
    "snat",
    "dnat",
    "redirect",
    "notrack",
    "tproxy",
    "dup",
    "fwd",
    "synproxy",
    "add",
    "update",
    "delete",
];

/// Matches portaudit knows but does not model.
const UNMODELED_MATCHES: &[&str] = &[
    "ct", "meta", "fib", "mark", "ether", "vlan", "arp", "rt", "socket", "tcp", "udp", "ip", "ip6",
    "icmp", "icmpv6", "sctp", "th", "dccp", "udplite", "osf", "ipsec", "exthdr", "frag", "hbh",
    "rt0", "mh", "dst", "ah", "esp", "comp", "numgen", "jhash", "symhash", "iif", "oif",
];

fn skip_to_kw(its: &[Item], from: usize, is_kw: &dyn Fn(&str) -> bool) -> usize {
    let mut k = from;
    while k < its.len() {
        if let Item::W(t) = &its[k] {
            if t.kind == TK::Word && is_kw(&t.text) {
                break;
            }
        }
        k += 1;
    }
    k
}

#[derive(Clone, Debug)]
enum Item {
    W(Tok),
    Str(Tok),
    Comma(Tok),
    Set(Vec<Vec<Tok>>, usize, usize),
}

impl Item {
    fn start(&self) -> usize {
        match self {
            Item::W(t) | Item::Str(t) | Item::Comma(t) => t.start,
            Item::Set(_, s, _) => *s,
        }
    }
    fn end(&self) -> usize {
        match self {
            Item::W(t) | Item::Str(t) | Item::Comma(t) => t.end,
            Item::Set(_, _, e) => *e,
        }
    }
    fn text(&self) -> String {
        match self {
            Item::W(t) | Item::Str(t) | Item::Comma(t) => t.text.clone(),
            Item::Set(e, _, _) => format!(
                "{{ {} }}",
                e.iter()
                    .map(|x| x
                        .iter()
                        .map(|t| t.text.as_str())
                        .collect::<Vec<_>>()
                        .join(" "))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
    /// Quoted strings and words inside (for helper names in maps).
    fn strings(&self) -> Vec<String> {
        match self {
            Item::Str(t) => vec![t.text.clone()],
            Item::W(t) => vec![t.text.clone()],
            Item::Set(e, _, _) => e
                .iter()
                .flat_map(|x| x.iter().map(|t| t.text.clone()))
                .collect(),
            Item::Comma(_) => Vec::new(),
        }
    }
}

/// Group statement tokens: words and strings stay, `{ ... }` becomes one set item with its
/// comma-separated elements (nested braces are flattened).
fn items(toks: &[Tok]) -> Vec<Item> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let t = &toks[i];
        match t.kind {
            TK::LBrace => {
                let start = t.start;
                let mut depth = 1;
                let mut elems: Vec<Vec<Tok>> = vec![Vec::new()];
                let mut end = t.end;
                i += 1;
                while i < toks.len() {
                    let u = &toks[i];
                    end = u.end;
                    match u.kind {
                        TK::LBrace => depth += 1,
                        TK::RBrace => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        TK::Comma => elems.push(Vec::new()),
                        TK::Newline | TK::Semi => {}
                        _ => {
                            if let Some(last) = elems.last_mut() {
                                last.push(u.clone());
                            }
                        }
                    }
                    i += 1;
                }
                elems.retain(|e| !e.is_empty());
                out.push(Item::Set(elems, start, end));
                i += 1;
            }
            TK::Str => {
                out.push(Item::Str(t.clone()));
                i += 1;
            }
            TK::Comma => {
                out.push(Item::Comma(t.clone()));
                i += 1;
            }
            TK::RBrace | TK::Newline | TK::Semi => i += 1,
            TK::Word => {
                out.push(Item::W(t.clone()));
                i += 1;
            }
        }
    }
    out
}

fn elem_vals(e: &[Tok]) -> Vec<Val> {
    let words: Vec<&str> = e.iter().map(|t| t.text.as_str()).collect();
    match words.as_slice() {
        [] => Vec::new(),
        [w] => vec![val_from_word(w)],
        [a, "-", b] => vec![Val::Range(a.to_string(), b.to_string())],
        _ => vec![Val::Compound(words.join(" "))],
    }
}

/// Values of a match from item `j`: a word or string (with `,` continuations), or a set.
fn read_values(its: &[Item], j: usize) -> (Vec<Val>, usize) {
    match its.get(j) {
        Some(Item::Set(elems, _, _)) => (elems.iter().flat_map(|e| elem_vals(e)).collect(), j + 1),
        Some(Item::W(t)) | Some(Item::Str(t)) => {
            let mut vals = vec![val_from_word(&t.text)];
            let mut k = j + 1;
            while let (Some(Item::Comma(_)), Some(Item::W(u)) | Some(Item::Str(u))) =
                (its.get(k), its.get(k + 1))
            {
                vals.push(val_from_word(&u.text));
                k += 2;
            }
            (vals, k)
        }
        _ => (Vec::new(), j),
    }
}

fn verdict_from_words(v: &[&str]) -> Option<Verdict> {
    match v {
        [w] => Verdict::from_word(w),
        ["jump", t] => Some(Verdict::Jump(t.to_string())),
        ["goto", t] => Some(Verdict::Goto(t.to_string())),
        _ => None,
    }
}

pub fn parse_text(file: &SourceFile, limits: &Limits) -> Ruleset {
    let mut p = Parser {
        toks: lex(&file.text),
        pos: 0,
        file: file.id,
        text: &file.text,
        out: Ruleset::default(),
        defines: HashMap::new(),
        limits: *limits,
    };
    p.run();
    p.out
}
