//! Palo Alto Networks PAN-OS: the XML configuration export (`running-config.xml`, Panorama
//! exports, generator output), the `set` command form, and the curly-brace `show config` form.
//!
//! All three forms are first read into one spanned configuration tree ([`PNode`]): XML
//! `<entry name="X">` elements and `set` path words both become keyed children, `<member>` items
//! and `[ a b ]` lists become values. The security policy is then built from the tree with
//! PAN-OS semantics: per vsys, rules in order (Panorama shared pre-rules, device-group
//! pre-rules, local rules, post-rules), then the predefined `intrazone-default` (allow, one rule
//! per known zone) and `interzone-default` (deny) rules, which `default-security-rules` may
//! override.

use super::util::has;
use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};

use quick_xml::events::Event;
use quick_xml::Reader;

use crate::model::{
    Action, Chain, ChainDefault, Config, Entry, FeatureState, Format, Hook, InputIssue, Inspection,
    InspectionKind, Rule, Unparsed,
};
use crate::sets::{self, proto, AddrSet, NameSet, PortSet, ProtoSet, Space};
use crate::source::{FileId, SourceFile, Span};

use super::util;
use super::Limits;

// ---------------------------------------------------------------------------------------------
// Sniffing

/// Confidence that `text` is a PAN-OS configuration.
pub fn sniff(_name: &str, text: &str) -> u8 {
    let t = text.trim_start_matches('\u{feff}').trim_start();
    if t.starts_with('<') {
        if has(t, "<pfsense") || has(t, "<opnsense") {
            return 0;
        }
        let config = has(t, "<config") && (has(t, "<devices>") || has(t, "<shared>"));
        let entries = has(t, "<entry name=");
        if config && entries {
            return 90;
        }
        if entries && has(t, "<rulebase>") {
            return 80;
        }
        return 0;
    }
    if t.starts_with('{') || t.starts_with('[') {
        return 0;
    }
    let mut strong = 0usize;
    let mut weak = 0usize;
    let mut junos = 0usize;
    let mut curly = 0usize;
    for line in util::text_lines(t).take(4000) {
        let l = line.trim_start();
        if l.starts_with("set deviceconfig ")
            || l.starts_with("set rulebase ")
            || l.starts_with("set mgt-config ")
            || l.starts_with("set profile-group ")
            || l.starts_with("set network interface ethernet ")
            || l.starts_with("set vsys ")
            || l.starts_with("set device-group ")
        {
            strong += 1;
        } else if l.starts_with("set zone ")
            || l.starts_with("set address-group ")
            || l.starts_with("set service-group ")
            || (l.starts_with("set address ")
                && (l.contains(" ip-netmask ") || l.contains(" ip-range ") || l.contains(" fqdn ")))
            || (l.starts_with("set service ") && l.contains(" protocol "))
            || (l.starts_with("set shared ") && !l.starts_with("set shared-"))
        {
            weak += 1;
        } else if l.starts_with("set security ")
            || l.starts_with("set interfaces ")
            || l.starts_with("set applications ")
            || l.starts_with("set policy-options ")
            || l.starts_with("set routing-options ")
            || l.starts_with("set protocols ")
            || l.starts_with("set firewall ")
            || l.starts_with("set system ")
        {
            junos += 1;
        }
        if l.starts_with("deviceconfig {")
            || l.starts_with("mgt-config {")
            || (l.starts_with("rulebase {") && has(t, "security {"))
        {
            curly += 1;
        }
    }
    if junos > 0 && junos >= strong + weak {
        return 0;
    }
    if strong > 0 {
        return 85;
    }
    if weak > 0 {
        return 70;
    }
    if curly > 0 {
        return 70;
    }
    0
}

// ---------------------------------------------------------------------------------------------
// The spanned configuration tree

#[derive(Clone, Debug)]
struct Val {
    text: String,
    span: Span,
}

#[derive(Clone, Debug)]
struct PNode {
    key: String,
    /// Everything that contributes to the node (element, or first to last `set` line).
    span: Span,
    values: Vec<Val>,
    children: Vec<PNode>,
}

impl PNode {
    fn new(key: String, span: Span) -> Self {
        PNode {
            key,
            span,
            values: Vec::new(),
            children: Vec::new(),
        }
    }

    fn child(&self, key: &str) -> Option<&PNode> {
        self.children.iter().find(|c| c.key == key)
    }

    fn path(&self, keys: &[&str]) -> Option<&PNode> {
        let mut cur = self;
        for k in keys {
            cur = cur.child(k)?;
        }
        Some(cur)
    }

    /// The (last) value of the node.
    fn value(&self) -> Option<&str> {
        self.values.last().map(|v| v.text.as_str())
    }

    /// The value of a child.
    fn get(&self, key: &str) -> Option<&str> {
        self.child(key).and_then(PNode::value)
    }

    /// Values of a child (members).
    fn list(&self, key: &str) -> Vec<&str> {
        self.child(key)
            .map(|c| c.values.iter().map(|v| v.text.as_str()).collect())
            .unwrap_or_default()
    }

    fn yes(&self, key: &str) -> bool {
        self.get(key) == Some("yes")
    }

    fn child_mut_or_insert(&mut self, key: &str, span: Span) -> &mut PNode {
        // `set` lines of one object usually follow each other: try the last child first.
        let last = self
            .children
            .len()
            .checked_sub(1)
            .filter(|&i| self.children[i].key == key);
        let idx = match last.or_else(|| self.children.iter().position(|c| c.key == key)) {
            Some(i) => i,
            None => {
                self.children.push(PNode::new(key.to_string(), span));
                self.children.len() - 1
            }
        };
        let c = &mut self.children[idx];
        c.span = c.span.join(span);
        c
    }
}

struct TreeOut {
    root: PNode,
    unparsed: Vec<Unparsed>,
    errors: Vec<InputIssue>,
}

fn resolve_entity(name: &str) -> Option<char> {
    match name {
        "lt" => Some('<'),
        "gt" => Some('>'),
        "amp" => Some('&'),
        "apos" => Some('\''),
        "quot" => Some('"'),
        _ => {
            let n = name.strip_prefix('#')?;
            let v = if let Some(h) = n.strip_prefix('x').or_else(|| n.strip_prefix('X')) {
                u32::from_str_radix(h, 16).ok()?
            } else {
                n.parse::<u32>().ok()?
            };
            char::from_u32(v)
        }
    }
}

fn unescape_attr(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        match after.find(';') {
            Some(j) if j <= 10 => match resolve_entity(&after[..j]) {
                Some(c) => {
                    out.push(c);
                    rest = &after[j + 1..];
                }
                None => {
                    out.push('&');
                    rest = after;
                }
            },
            _ => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

struct Open {
    node: PNode,
    member: bool,
    text: String,
    text_span: Option<Span>,
}

fn parse_xml(file: &SourceFile, limits: &Limits) -> TreeOut {
    let id = file.id;
    let text: &str = &file.text;
    let mut reader = Reader::from_str(text);
    reader.config_mut().trim_text(false);
    let mut errors = Vec::new();
    let mut stack: Vec<Open> = vec![Open {
        node: PNode::new(String::new(), Span::new(id, 0, text.len())),
        member: false,
        text: String::new(),
        text_span: None,
    }];
    let skip_ws = |mut p: usize| {
        let b = text.as_bytes();
        while p < b.len() && b[p].is_ascii_whitespace() {
            p += 1;
        }
        p
    };
    loop {
        let before = reader.buffer_position() as usize;
        let ev = reader.read_event();
        let after = (reader.buffer_position() as usize).min(text.len());
        match ev {
            Err(e) => {
                let at = (reader.error_position() as usize).min(text.len());
                errors.push(InputIssue {
                    span: Span::new(id, at, (at + 1).min(text.len())),
                    message: format!("XML syntax error: {e}"),
                });
                break;
            }
            Ok(Event::Eof) => break,
            Ok(ev @ (Event::Start(_) | Event::Empty(_))) => {
                let (e, empty) = match &ev {
                    Event::Start(e) => (e, false),
                    Event::Empty(e) => (e, true),
                    _ => continue,
                };
                let tag = e.local_name().as_ref().to_string();
                let mut key = tag.clone();
                if tag == "entry" {
                    for a in e.attributes().flatten() {
                        if a.key.local_name().as_ref() == "name" {
                            key = unescape_attr(&a.value);
                        }
                    }
                }
                let start = skip_ws(before).min(after);
                let span = Span::new(id, start, after);
                if stack.len() > limits.max_depth {
                    errors.push(InputIssue {
                        span,
                        message: format!(
                            "XML nesting deeper than {} levels (--max-depth, limits: max-depth in portaudit.yaml): the rest of the file is not read",
                            limits.max_depth
                        ),
                    });
                    break;
                }
                let open = Open {
                    node: PNode::new(key, span),
                    member: tag == "member",
                    text: String::new(),
                    text_span: None,
                };
                if empty {
                    close(&mut stack, open, span);
                } else {
                    stack.push(open);
                }
            }
            Ok(Event::End(_)) => {
                if stack.len() <= 1 {
                    continue;
                }
                if let Some(mut open) = stack.pop() {
                    let span = Span::new(id, open.node.span.start, after);
                    open.node.span = span;
                    close(&mut stack, open, span);
                }
            }
            Ok(Event::Text(t)) => {
                if let Some(top) = stack.last_mut() {
                    let s: String = t.to_string();
                    if !util::trim(&s).is_empty() {
                        let raw = text.get(before..after).unwrap_or("");
                        let lead = raw.len() - raw.trim_start().len();
                        let trail = raw.len() - raw.trim_end().len();
                        let sp = Span::new(id, before + lead, after - trail);
                        top.text_span = Some(top.text_span.map_or(sp, |x| x.join(sp)));
                    }
                    top.text.push_str(&s);
                }
            }
            Ok(Event::CData(t)) => {
                if let Some(top) = stack.last_mut() {
                    let sp = Span::new(id, before, after);
                    top.text_span = Some(top.text_span.map_or(sp, |x| x.join(sp)));
                    top.text.push_str(&t);
                }
            }
            Ok(Event::GeneralRef(r)) => {
                if let Some(top) = stack.last_mut() {
                    let name: String = r.to_string();
                    if let Some(c) = resolve_entity(&name) {
                        top.text.push(c);
                        let sp = Span::new(id, before, after);
                        top.text_span = Some(top.text_span.map_or(sp, |x| x.join(sp)));
                    }
                }
            }
            Ok(_) => {}
        }
    }
    if stack.len() > 1 {
        let open = &stack[stack.len() - 1];
        let head = open.node.span;
        errors.push(InputIssue {
            span: Span::new(id, head.start, head.end.max(head.start)),
            message: format!(
                "element <{}> is not closed: the file is truncated",
                if open.node.key.is_empty() {
                    "?"
                } else {
                    &open.node.key
                }
            ),
        });
        // Close everything so what was read is still used.
        while stack.len() > 1 {
            if let Some(mut open) = stack.pop() {
                let span = Span::new(id, open.node.span.start, text.len());
                open.node.span = span;
                close(&mut stack, open, span);
            }
        }
    }
    let root = stack
        .pop()
        .map(|o| o.node)
        .unwrap_or_else(|| PNode::new(String::new(), Span::new(id, 0, text.len())));
    TreeOut {
        root,
        unparsed: Vec::new(),
        errors,
    }
}

fn close(stack: &mut [Open], mut open: Open, span: Span) {
    let Some(parent) = stack.last_mut() else {
        return;
    };
    let txt = util::trim(&open.text).to_string();
    if open.member {
        if !txt.is_empty() {
            parent.node.values.push(Val {
                text: txt,
                span: open.text_span.unwrap_or(span),
            });
        }
        return;
    }
    if open.node.children.is_empty() && open.node.values.is_empty() && !txt.is_empty() {
        open.node.values.push(Val {
            text: txt,
            span: open.text_span.unwrap_or(span),
        });
    }
    parent.node.children.push(open.node);
}

/// Insert `path` = `values` into the tree, extending every node's span with `span`.
fn insert(root: &mut PNode, path: &[util::Token], values: &[util::Token], span: Span, id: FileId) {
    let mut cur = root;
    for tok in path {
        cur = cur.child_mut_or_insert(&tok.text, span);
    }
    for v in values {
        if !cur.values.iter().any(|x| x.text == v.text) {
            cur.values.push(Val {
                text: v.text.to_string(),
                span: v.span(id),
            });
        } else if let Some(x) = cur.values.iter_mut().find(|x| x.text == v.text) {
            x.span = v.span(id);
        }
    }
}

/// Split the words of a statement into path and values (`[ a b ]` lists, or the last word).
fn split_statement<'t, 'a>(
    toks: &'t [util::Token<'a>],
) -> Option<(&'t [util::Token<'a>], &'t [util::Token<'a>])> {
    if toks.is_empty() {
        return None;
    }
    if toks.last().map(|t| &*t.text) == Some("]") {
        let open = toks.iter().rposition(|t| t.text == "[")?;
        return Some((&toks[..open], &toks[open + 1..toks.len() - 1]));
    }
    if toks.len() == 1 {
        return Some((toks, &[]));
    }
    Some((&toks[..toks.len() - 1], &toks[toks.len() - 1..]))
}

fn remove_path(root: &mut PNode, path: &[util::Token]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut cur = root;
    for p in parents {
        match cur.children.iter().position(|c| c.key == p.text) {
            Some(i) => cur = &mut cur.children[i],
            None => return,
        }
    }
    if let Some(i) = cur.children.iter().position(|c| c.key == last.text) {
        cur.children.remove(i);
    } else {
        cur.values.retain(|v| v.text != last.text);
    }
}

fn parse_set(file: &SourceFile, limits: &Limits) -> TreeOut {
    let id = file.id;
    let mut root = PNode::new(String::new(), Span::new(id, 0, file.text.len()));
    let mut unparsed = Vec::new();
    let mut errors = Vec::new();
    for line in util::lines(&file.text) {
        let t = util::trim(line.text);
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let span = line.span(id);
        if line.text.len() > limits.max_line_len {
            unparsed.push(Unparsed {
                span,
                reason: "line too long: not parsed".into(),
            });
            continue;
        }
        let toks = util::tokenize(line.text, line.start);
        let Some(first) = toks.first() else { continue };
        let rest = &toks[1..];
        let path_len = split_statement(rest).map_or(0, |(p, _)| p.len());
        if path_len > limits.max_depth {
            unparsed.push(Unparsed {
                span,
                reason: "command nested too deeply: not parsed".into(),
            });
            continue;
        }
        let opens = rest.iter().filter(|t| t.text == "[").count();
        let closes = rest.iter().filter(|t| t.text == "]").count();
        if opens != closes {
            errors.push(InputIssue {
                span,
                message: "unbalanced `[ ]` list: the line is cut or malformed".into(),
            });
            continue;
        }
        match &*first.text {
            "set" => match split_statement(rest) {
                Some((path, values)) => insert(&mut root, path, values, span, id),
                None => unparsed.push(Unparsed {
                    span,
                    reason: "empty `set` command".into(),
                }),
            },
            "delete" => remove_path(&mut root, rest),
            _ => unparsed.push(Unparsed {
                span,
                reason: "not a PAN-OS `set` or `delete` command".into(),
            }),
        }
    }
    TreeOut {
        root,
        unparsed,
        errors,
    }
}

fn short(s: &str) -> String {
    let mut o: String = s.chars().take(40).collect();
    if s.chars().count() > 40 {
        o.push('…');
    }
    o
}

/// Tokens of the curly-brace form, with `{ } ; [ ]` as their own tokens.
fn curly_tokens(text: &str) -> Vec<util::Token<'_>> {
    let mut out = Vec::new();
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'#' && (i == 0 || b[i - 1] == b'\n') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if matches!(c, b'{' | b'}' | b';' | b'[' | b']') {
            out.push(util::Token {
                text: Cow::Borrowed(&text[i..i + 1]),
                start: i,
                end: i + 1,
            });
            i += 1;
            continue;
        }
        let start = i;
        if c == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' && i + 1 < b.len() {
                    i += 1;
                }
                i += 1;
            }
            let end = (i + 1).min(b.len());
            let inner_end = i.min(b.len());
            i = end;
            out.push(util::Token {
                text: Cow::Borrowed(text.get(start + 1..inner_end).unwrap_or("")),
                start,
                end,
            });
            continue;
        }
        while i < b.len()
            && !b[i].is_ascii_whitespace()
            && !matches!(b[i], b'{' | b'}' | b';' | b'[' | b']')
        {
            i += 1;
        }
        out.push(util::Token {
            text: Cow::Borrowed(text.get(start..i).unwrap_or("")),
            start,
            end: i,
        });
    }
    out
}

fn parse_curly(file: &SourceFile, limits: &Limits) -> TreeOut {
    let id = file.id;
    let text: &str = &file.text;
    let mut root = PNode::new(String::new(), Span::new(id, 0, text.len()));
    let mut errors = Vec::new();
    let toks = curly_tokens(text);
    // Open blocks: (path words, start offset).
    let mut path: Vec<util::Token> = Vec::new();
    let mut blocks: Vec<(usize, usize)> = Vec::new();
    let mut stmt: Vec<util::Token> = Vec::new();
    let mut depth_error = false;
    for tok in toks {
        match &*tok.text {
            ";" => {
                if let Some(first) = stmt.first() {
                    let span = Span::new(id, first.start, tok.end);
                    if let Some((p, v)) = split_statement(&stmt) {
                        if path.len() + p.len() <= limits.max_depth {
                            let mut full = path.clone();
                            full.extend_from_slice(p);
                            insert(&mut root, &full, v, span, id);
                        }
                    }
                }
                stmt.clear();
            }
            "{" => {
                let start = stmt.first().map(|t| t.start).unwrap_or(tok.start);
                if path.len() + stmt.len() > limits.max_depth && !depth_error {
                    errors.push(InputIssue {
                        span: Span::new(id, start, tok.end),
                        message: "blocks nested deeper than the limit (--max-depth, limits: max-depth in portaudit.yaml): the inner part is not read".into(),
                    });
                    depth_error = true;
                }
                blocks.push((stmt.len(), start));
                path.append(&mut stmt);
            }
            "}" => {
                if let Some((n, start)) = blocks.pop() {
                    let span = Span::new(id, start, tok.end);
                    let keep = path.len().saturating_sub(n);
                    // Extend the spans of the block's nodes to the closing brace.
                    if path.len() <= limits.max_depth {
                        insert(&mut root, &path, &[], span, id);
                    }
                    path.truncate(keep);
                } else {
                    errors.push(InputIssue {
                        span: tok.span(id),
                        message: "unexpected `}`".into(),
                    });
                }
                stmt.clear();
            }
            _ => stmt.push(tok),
        }
    }
    if let Some(&(_, start)) = blocks.first() {
        let end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        errors.push(InputIssue {
            span: Span::new(id, start, end),
            message: "block is not closed: the file is truncated".into(),
        });
    }
    TreeOut {
        root,
        unparsed: Vec::new(),
        errors,
    }
}

// ---------------------------------------------------------------------------------------------
// Services and applications

/// One protocol/port combination of a service.
#[derive(Clone, Debug, PartialEq)]
struct Svc {
    proto: ProtoSet,
    sport: PortSet,
    dport: PortSet,
}

impl Svc {
    fn any() -> Self {
        Svc {
            proto: ProtoSet::full(),
            sport: PortSet::full(),
            dport: PortSet::full(),
        }
    }
    fn ports(p: u128, dport: PortSet) -> Self {
        Svc {
            proto: ProtoSet::single(p),
            sport: PortSet::full(),
            dport,
        }
    }
    fn proto(p: u128) -> Self {
        Svc {
            proto: ProtoSet::single(p),
            sport: PortSet::full(),
            dport: PortSet::full(),
        }
    }
}

/// `80,443,1000-2000`.
fn parse_ports(s: &str) -> Option<PortSet> {
    let mut ranges = Vec::new();
    for part in s.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (a.trim().parse::<u16>().ok()?, b.trim().parse::<u16>().ok()?),
            None => {
                let v = part.parse::<u16>().ok()?;
                (v, v)
            }
        };
        ranges.push((u128::from(lo), u128::from(hi)));
    }
    if ranges.is_empty() {
        return None;
    }
    Some(PortSet::from_ranges(ranges))
}

/// Standard ports of common predefined applications (App-ID `application-default`).
fn builtin_app(name: &str) -> Option<Vec<Svc>> {
    use proto::{TCP, UDP};
    let p = |s: &str| parse_ports(s).unwrap_or_else(PortSet::full);
    Some(match name {
        "sip" => vec![Svc::ports(TCP, p("5060")), Svc::ports(UDP, p("5060"))],
        "web-browsing" => vec![Svc::ports(TCP, p("80"))],
        "ssl" => vec![Svc::ports(TCP, p("443"))],
        "dns" => vec![Svc::ports(TCP, p("53")), Svc::ports(UDP, p("53"))],
        "ssh" => vec![Svc::ports(TCP, p("22"))],
        "telnet" => vec![Svc::ports(TCP, p("23"))],
        "ftp" => vec![Svc::ports(TCP, p("21"))],
        "ntp" => vec![Svc::ports(UDP, p("123"))],
        "snmp" => vec![Svc::ports(UDP, p("161,162"))],
        "syslog" => vec![Svc::ports(UDP, p("514"))],
        "smtp" => vec![Svc::ports(TCP, p("25"))],
        "ms-rdp" => vec![Svc::ports(TCP, p("3389"))],
        "ldap" => vec![Svc::ports(TCP, p("389")), Svc::ports(UDP, p("389"))],
        "tftp" => vec![Svc::ports(UDP, p("69"))],
        "dhcp" => vec![Svc::ports(UDP, p("67,68"))],
        "bgp" => vec![Svc::ports(TCP, p("179"))],
        "icmp" | "ping" => vec![Svc::proto(proto::ICMP)],
        "ipv6-icmp" => vec![Svc::proto(proto::ICMPV6)],
        "igmp" => vec![Svc::proto(2)],
        "ospf" => vec![Svc::proto(89)],
        "gre" => vec![Svc::proto(47)],
        "ipsec-esp" => vec![Svc::proto(50)],
        _ => return None,
    })
}

/// Predefined services.
fn builtin_service(name: &str) -> Option<Vec<Svc>> {
    match name {
        "service-http" => Some(vec![Svc::ports(
            proto::TCP,
            PortSet::from_ranges([(80, 80), (8080, 8080)]),
        )]),
        "service-https" => Some(vec![Svc::ports(proto::TCP, PortSet::single(443))]),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Building the model

/// Object kinds looked up by name.
const OBJECT_KINDS: [&str; 9] = [
    "address",
    "address-group",
    "service",
    "service-group",
    "application",
    "application-group",
    "profile-group",
    "external-list",
    "region",
];

struct Ctx<'a> {
    /// Objects by (kind, name): the vsys or device-group first, then shared.
    index: HashMap<(String, String), &'a PNode>,
    limits: &'a Limits,
    unparsed: Vec<Unparsed>,
    /// Groups met past the reference-depth limit (input errors).
    errors: Vec<crate::model::InputIssue>,
    /// FQDN addresses resolved (for `Config::fqdns`).
    fqdns: BTreeSet<String>,
    /// Resolved groups by (name, depth).
    addr_memo: HashMap<(String, usize), (AddrSet, Vec<String>)>,
    svc_memo: HashMap<(String, usize), (Vec<Svc>, Vec<String>)>,
    app_memo: HashMap<(String, usize), AppMemo>,
}

type AppMemo = (Option<Vec<Svc>>, Vec<String>);

impl<'a> Ctx<'a> {
    /// Whether the group `name` (of `kind`), referenced at `depth` (0: by the rule itself), is
    /// past the reference-depth limit; if so it is recorded as an input error at its definition
    /// and `note` is added to the rule's notes (the rule is then widened and uncertain).
    ///
    /// Levels count group references from the rule, as in every format: a rule using g3, which
    /// holds g2, which holds g1, uses 3 levels (g1 is met at depth 2, level 3). Objects that are
    /// not groups (addresses, services, applications) are not levels.
    fn too_deep(&mut self, kind: &str, name: &str, depth: usize, notes: &mut Vec<String>) -> bool {
        let limit = self.limits.max_reference_depth;
        if depth < limit {
            return false;
        }
        let Some(n) = self.lookup(kind, name) else {
            return false;
        };
        let what = kind.replace('-', " ");
        notes.push(format!(
            "{what} `{name}` is nested deeper than {limit} levels (--max-reference-depth)"
        ));
        let message = format!(
            "{kind} `{name}` is nested deeper than the reference limit of {limit} levels (--max-reference-depth, limits: max-reference-depth): rules using it were evaluated as matching anything"
        );
        if !self.errors.iter().any(|e| e.message == message) {
            self.errors.push(crate::model::InputIssue {
                span: n.span,
                message,
            });
        }
        true
    }

    fn lookup(&self, kind: &str, name: &str) -> Option<&'a PNode> {
        self.index
            .get(&(kind.to_string(), name.to_string()))
            .copied()
    }

    fn addr(
        &mut self,
        name: &str,
        depth: usize,
        seen: &mut Vec<String>,
        notes: &mut Vec<String>,
    ) -> AddrSet {
        if name == "any" {
            return AddrSet::full();
        }
        if let Some(s) = literal_addr(name) {
            return s;
        }
        if seen.iter().any(|s| s == name) {
            notes.push(format!(
                "address group `{name}` refers to itself (cycle) or nests too deeply"
            ));
            if let Some(n) = self.lookup("address-group", name) {
                self.unparsed.push(Unparsed {
                    span: n.span,
                    reason: format!("address group `{name}` is part of a reference cycle"),
                });
            }
            return AddrSet::full();
        }
        if let Some(a) = self.lookup("address", name) {
            if let Some(v) = a.get("ip-netmask") {
                if let Some(s) = sets::parse_net(v) {
                    return s;
                }
            }
            if let Some(v) = a.get("ip-range") {
                if let Some(s) = literal_addr(v) {
                    return s;
                }
            }
            if let Some(f) = a.get("fqdn") {
                // Matched by name: the pseudo address of `sets::host_addr`.
                if sets::looks_like_fqdn(f) {
                    let n = sets::normalize_host(f);
                    let set = AddrSet::single(sets::host_addr(&n));
                    self.fqdns.insert(n);
                    return set;
                }
                notes.push(format!(
                    "address `{name}` is an FQDN (resolved at run time)"
                ));
                return AddrSet::full();
            }
            if a.child("ip-wildcard").is_some() {
                notes.push(format!("address `{name}` is a wildcard mask"));
                return AddrSet::full();
            }
            notes.push(format!("address `{name}` has no usable value"));
            return AddrSet::full();
        }
        if let Some(g) = self.lookup("address-group", name) {
            if g.child("dynamic").is_some() {
                notes.push(format!("address group `{name}` is dynamic (tag based)"));
                return AddrSet::full();
            }
            if self.too_deep("address-group", name, depth, notes) {
                return AddrSet::full();
            }
            // Memoised by depth (the limit may cut the walk below a deep reference and not below a
            // shallow one): a group reached along many paths is resolved once per depth (no
            // exponential blowup).
            let key = (name.to_string(), depth);
            if let Some((set, n)) = self.addr_memo.get(&key) {
                notes.extend(n.iter().cloned());
                return set.clone();
            }
            let members: Vec<String> = g.list("static").iter().map(|s| s.to_string()).collect();
            seen.push(name.to_string());
            let mut out = AddrSet::empty();
            let mut local = Vec::new();
            for m in &members {
                out = out.union(&self.addr(m, depth + 1, seen, &mut local));
            }
            seen.pop();
            uniq(&mut local);
            self.addr_memo.insert(key, (out.clone(), local.clone()));
            notes.extend(local);
            return out;
        }
        if self.lookup("external-list", name).is_some() || name.starts_with("panw-") {
            notes.push(format!("address `{name}` is an external dynamic list"));
            return AddrSet::full();
        }
        if self.lookup("region", name).is_some()
            || (name.len() == 2 && name.chars().all(|c| c.is_ascii_uppercase()))
        {
            notes.push(format!("address `{name}` is a region (geo-IP)"));
            return AddrSet::full();
        }
        notes.push(format!("address `{name}` is not defined in the file"));
        AddrSet::full()
    }

    fn service(
        &mut self,
        name: &str,
        depth: usize,
        seen: &mut Vec<String>,
        notes: &mut Vec<String>,
    ) -> Vec<Svc> {
        if name == "any" {
            return vec![Svc::any()];
        }
        if seen.iter().any(|s| s == name) {
            notes.push(format!(
                "service group `{name}` refers to itself (cycle) or nests too deeply"
            ));
            if let Some(n) = self.lookup("service-group", name) {
                self.unparsed.push(Unparsed {
                    span: n.span,
                    reason: format!("service group `{name}` is part of a reference cycle"),
                });
            }
            return vec![Svc::any()];
        }
        if let Some(s) = self.lookup("service", name) {
            let mut out = Vec::new();
            if let Some(p) = s.child("protocol") {
                for (pname, pnum) in [
                    ("tcp", proto::TCP),
                    ("udp", proto::UDP),
                    ("sctp", proto::SCTP),
                ] {
                    let Some(pn) = p.child(pname) else { continue };
                    let dport = match pn.get("port") {
                        Some(v) => match parse_ports(v) {
                            Some(ps) => ps,
                            None => {
                                notes.push(format!("service `{name}`: port list not understood"));
                                PortSet::full()
                            }
                        },
                        None => PortSet::full(),
                    };
                    let sport = match pn.get("source-port") {
                        Some(v) => parse_ports(v).unwrap_or_else(|| {
                            notes
                                .push(format!("service `{name}`: source-port list not understood"));
                            PortSet::full()
                        }),
                        None => PortSet::full(),
                    };
                    out.push(Svc {
                        proto: ProtoSet::single(pnum),
                        sport,
                        dport,
                    });
                }
            }
            if out.is_empty() {
                notes.push(format!(
                    "service `{name}` has no protocol the model understands"
                ));
                return vec![Svc::any()];
            }
            return out;
        }
        if let Some(g) = self.lookup("service-group", name) {
            if self.too_deep("service-group", name, depth, notes) {
                return vec![Svc::any()];
            }
            let key = (name.to_string(), depth);
            if let Some((v, n)) = self.svc_memo.get(&key) {
                notes.extend(n.iter().cloned());
                return v.clone();
            }
            let members: Vec<String> = g.list("members").iter().map(|s| s.to_string()).collect();
            seen.push(name.to_string());
            let mut out: Vec<Svc> = Vec::new();
            let mut local = Vec::new();
            for m in &members {
                for sv in self.service(m, depth + 1, seen, &mut local) {
                    if !out.contains(&sv) {
                        out.push(sv);
                    }
                }
            }
            seen.pop();
            uniq(&mut local);
            self.svc_memo.insert(key, (out.clone(), local.clone()));
            notes.extend(local);
            return out;
        }
        if let Some(b) = builtin_service(name) {
            return b;
        }
        notes.push(format!("service `{name}` is not defined in the file"));
        vec![Svc::any()]
    }

    /// Standard ports of an application; None when unknown.
    fn app(
        &mut self,
        name: &str,
        depth: usize,
        seen: &mut Vec<String>,
        notes: &mut Vec<String>,
    ) -> Option<Vec<Svc>> {
        if seen.iter().any(|s| s == name) {
            notes.push(format!(
                "application group `{name}` refers to itself or nests too deeply"
            ));
            return None;
        }
        if let Some(a) = self.lookup("application", name) {
            let mut out = Vec::new();
            if let Some(d) = a.child("default") {
                for v in d.list("port") {
                    match parse_app_port(v) {
                        Some(s) => out.push(s),
                        None => notes.push(format!(
                            "application `{name}`: default port `{}` not understood",
                            short(v)
                        )),
                    }
                }
                if let Some(p) = d.get("ident-by-ip-protocol").and_then(proto::from_name) {
                    out.push(Svc::proto(p));
                }
                if let Some(t) = d.child("ident-by-icmp-type") {
                    out.push(Svc::proto(proto::ICMP));
                    notes.push(format!(
                        "application `{name}` matches ICMP type {} only",
                        t.get("type").unwrap_or("?")
                    ));
                }
                if let Some(t) = d.child("ident-by-icmp6-type") {
                    out.push(Svc::proto(proto::ICMPV6));
                    notes.push(format!(
                        "application `{name}` matches ICMPv6 type {} only",
                        t.get("type").unwrap_or("?")
                    ));
                }
            }
            if out.is_empty() {
                return None;
            }
            return Some(out);
        }
        if let Some(g) = self.lookup("application-group", name) {
            let members: Vec<String> = g.list("members").iter().map(|s| s.to_string()).collect();
            let members = if members.is_empty() {
                g.values.iter().map(|v| v.text.clone()).collect()
            } else {
                members
            };
            if self.too_deep("application-group", name, depth, notes) {
                return None;
            }
            let key = (name.to_string(), depth);
            if let Some((v, n)) = self.app_memo.get(&key) {
                notes.extend(n.iter().cloned());
                return v.clone();
            }
            seen.push(name.to_string());
            let mut out: Vec<Svc> = Vec::new();
            let mut ok = true;
            let mut local = Vec::new();
            for m in &members {
                match self.app(m, depth + 1, seen, &mut local) {
                    Some(v) => {
                        for sv in v {
                            if !out.contains(&sv) {
                                out.push(sv);
                            }
                        }
                    }
                    None => ok = false,
                }
            }
            seen.pop();
            uniq(&mut local);
            let res = if ok && !out.is_empty() {
                Some(out)
            } else {
                None
            };
            self.app_memo.insert(key, (res.clone(), local.clone()));
            notes.extend(local);
            return res;
        }
        builtin_app(name)
    }
}

/// Index the objects of scopes, earlier scopes winning.
fn index_objects<'a>(
    scopes: impl Iterator<Item = &'a PNode>,
) -> HashMap<(String, String), &'a PNode> {
    let mut out = HashMap::new();
    for s in scopes {
        for kind in OBJECT_KINDS {
            if let Some(c) = s.child(kind) {
                for o in &c.children {
                    out.entry((kind.to_string(), o.key.clone())).or_insert(o);
                }
            }
        }
    }
    out
}

/// `tcp/80,8080`, `udp/5060`.
fn parse_app_port(s: &str) -> Option<Svc> {
    let (p, ports) = s.split_once('/')?;
    let pn = proto::from_name(p)?;
    let dport = if ports == "dynamic" || ports == "any" {
        PortSet::full()
    } else {
        parse_ports(ports)?
    };
    Some(Svc::ports(pn, dport))
}

/// An address literal: `10.0.0.1`, `10.0.0.0/8`, `10.0.0.1-10.0.0.9`, IPv6 forms.
fn literal_addr(s: &str) -> Option<AddrSet> {
    if let Some(n) = sets::parse_net(s) {
        return Some(n);
    }
    let (a, b) = s.split_once('-')?;
    let lo: std::net::IpAddr = a.trim().parse().ok()?;
    let hi: std::net::IpAddr = b.trim().parse().ok()?;
    if lo.is_ipv4() != hi.is_ipv4() {
        return None;
    }
    Some(sets::addr_range(lo, hi))
}

fn zones(values: &[&str]) -> NameSet {
    if values.is_empty() || values.contains(&"any") {
        NameSet::Any
    } else {
        NameSet::only(values.iter().map(|s| s.to_string()))
    }
}

fn action_of(a: Option<&str>) -> Action {
    match a {
        Some("allow") => Action::Allow,
        Some("deny" | "drop" | "reset-client" | "reset-server" | "reset-both") => Action::Deny,
        Some(other) => Action::Unknown(other.to_string()),
        None => Action::Unknown("no action".into()),
    }
}

/// A vsys or device group with its rulebases.
struct Scope<'a> {
    name: String,
    node: &'a PNode,
    /// Rulebase containers in evaluation order, with a label.
    rulebases: Vec<(&'static str, &'a PNode)>,
}

fn build_rule(ctx: &mut Ctx, r: &PNode, label: &str, zones_seen: &mut BTreeSet<String>) -> Rule {
    let name = format!("{label} \"{}\"", r.key);
    let mut rule = Rule::new(name, r.span, action_of(r.get("action")));
    if r.yes("disabled") {
        rule.enabled = false;
    }
    let mut notes: Vec<String> = Vec::new();
    if let Action::Unknown(a) = &rule.action {
        ctx.unparsed.push(Unparsed {
            span: r.child("action").map_or(r.span, |a| a.span),
            reason: format!("action `{}` not understood", short(a)),
        });
    }
    let from = r.list("from");
    let to = r.list("to");
    for z in from.iter().chain(to.iter()) {
        if *z != "any" {
            zones_seen.insert(z.to_string());
        }
    }
    let src_zone = zones(&from);
    let dst_zone = zones(&to);

    let addr_set = |ctx: &mut Ctx, key: &str, negate_key: &str, notes: &mut Vec<String>| {
        let members = r.list(key);
        let mut set = AddrSet::empty();
        let mut local = Vec::new();
        if members.is_empty() {
            set = AddrSet::full();
        }
        for m in &members {
            set = set.union(&ctx.addr(m, 0, &mut Vec::new(), &mut local));
        }
        if r.yes(negate_key) {
            if local.is_empty() {
                set = set.complement();
            } else {
                local.push(format!(
                    "{key} is negated over objects that are not fully modelled"
                ));
                set = AddrSet::full();
            }
        }
        notes.extend(local);
        set
    };
    let src = addr_set(ctx, "source", "negate-source", &mut notes);
    let dst = addr_set(ctx, "destination", "negate-destination", &mut notes);

    let apps = r.list("application");
    let app_any = apps.is_empty() || apps.contains(&"any");
    let services = r.list("service");
    let mut svcs: Vec<Svc> = Vec::new();
    if services.is_empty() {
        notes.push("no service given".into());
        svcs.push(Svc::any());
    }
    for s in &services {
        if *s == "application-default" {
            if app_any {
                notes.push(
                    "service application-default with application any: each application only on its standard ports"
                        .into(),
                );
                svcs.push(Svc::any());
            } else {
                for a in &apps {
                    match ctx.app(a, 0, &mut Vec::new(), &mut notes) {
                        Some(v) => svcs.extend(v),
                        None => {
                            notes.push(format!(
                                "application `{a}`: standard ports unknown (application-default)"
                            ));
                            svcs.push(Svc::any());
                        }
                    }
                }
            }
        } else {
            svcs.extend(ctx.service(s, 0, &mut Vec::new(), &mut notes));
        }
    }
    if !app_any {
        let app_default = services.contains(&"application-default");
        for a in &apps {
            let known = ctx.app(a, 0, &mut Vec::new(), &mut Vec::new()).is_some();
            if !(known && app_default) {
                notes.push(format!(
                    "application `{a}` (App-ID) narrows the match to that application's traffic"
                ));
            }
        }
    }
    for (key, what) in [
        ("source-user", "source user"),
        ("category", "URL category"),
        ("source-hip", "source HIP profile"),
        ("destination-hip", "destination HIP profile"),
    ] {
        let v = r.list(key);
        if !v.is_empty() && !v.contains(&"any") {
            notes.push(format!("{what} `{}`", short(&v.join(" "))));
        }
    }
    if let Some(s) = r.get("schedule") {
        notes.push(format!("schedule `{}`", short(s)));
    }

    // Spaces: one per service part, intrazone rules split per zone.
    let zone_pairs: Vec<(NameSet, NameSet)> = match r.get("rule-type") {
        Some("intrazone") => match &src_zone {
            NameSet::Only(zs) => zs
                .iter()
                .map(|z| {
                    let one = NameSet::only([z.clone()]);
                    (one.clone(), one)
                })
                .collect(),
            _ => {
                notes.push(
                    "intrazone rule over any zone: source zone must equal destination zone".into(),
                );
                vec![(src_zone.clone(), dst_zone.clone())]
            }
        },
        Some("interzone") => {
            let disjoint = src_zone.intersect(&dst_zone).is_empty();
            if !disjoint {
                notes.push("interzone rule: matches only traffic between different zones".into());
            }
            vec![(src_zone.clone(), dst_zone.clone())]
        }
        _ => vec![(src_zone.clone(), dst_zone.clone())],
    };
    let mut matches = Vec::new();
    for (sz, dz) in &zone_pairs {
        for s in &svcs {
            let sp = Space {
                proto: s.proto.clone(),
                src: src.clone(),
                dst: dst.clone(),
                sport: s.sport.clone(),
                dport: s.dport.clone(),
                src_zone: sz.clone(),
                dst_zone: dz.clone(),
            };
            if !sp.is_empty() && !matches.contains(&sp) {
                matches.push(sp);
            }
        }
    }
    rule.matches = matches;
    uniq(&mut notes);
    rule.unmodeled = notes;
    if let Some(ps) = r.child("profile-setting") {
        rule.inspection.extend(ips_of(ctx, ps));
    }
    rule
}

/// The IPS (vulnerability protection) attached by a rule's `profile-setting`.
fn ips_of(ctx: &mut Ctx, ps: &PNode) -> Vec<Inspection> {
    let mut out = Vec::new();
    if let Some(p) = ps.child("profiles") {
        for v in p.list("vulnerability") {
            out.push(Inspection {
                kind: InspectionKind::Ips,
                name: format!("vulnerability profile {v}"),
                span: ps.span,
            });
        }
    }
    for g in ps.list("group") {
        match ctx.lookup("profile-group", g) {
            Some(grp) => {
                for v in grp.list("vulnerability") {
                    out.push(Inspection {
                        kind: InspectionKind::Ips,
                        name: format!("profile group {g} (vulnerability profile {v})"),
                        span: ps.span,
                    });
                }
            }
            None => ctx.unparsed.push(Unparsed {
                span: ps.span,
                reason: format!(
                    "profile group `{g}` is not defined in the file: IPS state unknown"
                ),
            }),
        }
    }
    out
}

fn scopes_of(cfg: &PNode) -> Vec<Scope<'_>> {
    let shared = cfg.child("shared");
    let mut out: Vec<Scope> = Vec::new();
    let mut scope_nodes: Vec<(String, &PNode)> = Vec::new();
    if let Some(devs) = cfg.child("devices") {
        for dev in &devs.children {
            if let Some(v) = dev.child("vsys") {
                for vs in &v.children {
                    scope_nodes.push((vs.key.clone(), vs));
                }
            }
            if let Some(dg) = dev.child("device-group") {
                for g in &dg.children {
                    scope_nodes.push((format!("device-group {}", g.key), g));
                }
            }
        }
    }
    if let Some(v) = cfg.child("vsys") {
        for vs in &v.children {
            scope_nodes.push((vs.key.clone(), vs));
        }
    }
    if let Some(dg) = cfg.child("device-group") {
        for g in &dg.children {
            scope_nodes.push((format!("device-group {}", g.key), g));
        }
    }
    let root_has_policy = ["rulebase", "zone", "address", "service"]
        .iter()
        .any(|k| cfg.child(k).is_some());
    if scope_nodes.is_empty() || root_has_policy {
        scope_nodes.insert(0, ("vsys1".to_string(), cfg));
    }
    for (name, node) in scope_nodes {
        let mut rbs: Vec<(&'static str, &PNode)> = Vec::new();
        if let Some(r) = shared.and_then(|s| s.path(&["pre-rulebase", "security", "rules"])) {
            rbs.push(("shared pre-rule", r));
        }
        if let Some(r) = node.path(&["pre-rulebase", "security", "rules"]) {
            rbs.push(("pre-rule", r));
        }
        if let Some(r) = node.path(&["rulebase", "security", "rules"]) {
            rbs.push(("security rule", r));
        }
        if let Some(r) = node.path(&["post-rulebase", "security", "rules"]) {
            rbs.push(("post-rule", r));
        }
        if let Some(r) = shared.and_then(|s| s.path(&["post-rulebase", "security", "rules"])) {
            rbs.push(("shared post-rule", r));
        }
        out.push(Scope {
            name,
            node,
            rulebases: rbs,
        });
    }
    out
}

/// Parse a PAN-OS configuration (XML, `set` or curly-brace form).
pub fn parse(file: &SourceFile, limits: &Limits) -> Config {
    // The first statement (comments and blank lines skipped): where a missing setting would go.
    let first_line = util::lines(&file.text)
        .find(|l| {
            let t = l.text.trim();
            !t.is_empty() && !t.starts_with('#') && !t.starts_with("<?") && !t.starts_with("<!--")
        })
        .map_or_else(|| file.line_span(1), |l| l.span(file.id));
    let mut cfg_out = Config::new(Format::Panos, file.line_span(1));
    let t = file.text.trim_start_matches('\u{feff}').trim_start();
    let tree = if t.starts_with('<') {
        parse_xml(file, limits)
    } else if t
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .is_some_and(|l| l.starts_with("set ") || l.starts_with("delete "))
    {
        parse_set(file, limits)
    } else {
        parse_curly(file, limits)
    };
    cfg_out.unparsed = tree.unparsed;
    cfg_out.errors = tree.errors;
    let root = &tree.root;
    // `<config>` at the top, or inside an API answer (`<response><result><config>`).
    let cfg = root
        .child("config")
        .or_else(|| root.path(&["response", "result", "config"]))
        .unwrap_or(root);
    let shared = cfg.child("shared");

    cfg_out.name = cfg
        .path(&["deviceconfig", "system", "hostname"])
        .or_else(|| {
            cfg.child("devices").and_then(|d| {
                d.children
                    .iter()
                    .find_map(|e| e.path(&["deviceconfig", "system", "hostname"]))
            })
        })
        .and_then(PNode::value)
        .map(str::to_string);

    // SIP ALG (shared, on by default).
    let alg = shared.and_then(|s| s.path(&["alg-override", "application", "sip"]));
    let disabled = alg.and_then(|a| a.child("alg-disabled"));
    cfg_out.features.sip_alg = Some(match disabled {
        Some(d) if d.value() == Some("yes") => FeatureState {
            enabled: false,
            span: d.span,
            default: false,
            reason: "`alg-override application sip alg-disabled yes` turns the SIP ALG off".into(),
            related: Vec::new(),
        },
        Some(d) => FeatureState {
            enabled: true,
            span: d.span,
            default: false,
            reason: "`alg-override application sip alg-disabled` is not `yes`: the SIP ALG stays on".into(),
            related: Vec::new(),
        },
        None => FeatureState {
            enabled: true,
            span: alg
                .map(|a| a.span)
                .or_else(|| {
                    shared
                        .filter(|_| file.slice(file_first_tag(file)).starts_with('<'))
                        .map(|s| head_span(file, s.span))
                })
                .unwrap_or(first_line),
            default: true,
            reason: "PAN-OS runs the SIP ALG by default and no `alg-override application sip alg-disabled yes` turns it off".into(),
            related: Vec::new(),
        },
    });

    let scopes = scopes_of(cfg);
    for scope in &scopes {
        let mut ctx = Ctx {
            index: index_objects(std::iter::once(scope.node).chain(shared)),
            limits,
            unparsed: Vec::new(),
            errors: Vec::new(),
            fqdns: BTreeSet::new(),
            addr_memo: HashMap::new(),
            svc_memo: HashMap::new(),
            app_memo: HashMap::new(),
        };
        let mut zones_seen: BTreeSet<String> = BTreeSet::new();
        let zones_defined = scope
            .node
            .child("zone")
            .is_some_and(|z| !z.children.is_empty());
        if let Some(z) = scope.node.child("zone") {
            for zn in &z.children {
                zones_seen.insert(zn.key.clone());
            }
        }
        let mut rules = Vec::new();
        for (label, rb) in &scope.rulebases {
            for r in &rb.children {
                rules.push(build_rule(&mut ctx, r, label, &mut zones_seen));
            }
        }
        let explicit = !rules.is_empty();
        // Default rules.
        let dsr = scope
            .node
            .path(&["rulebase", "default-security-rules", "rules"])
            .or_else(|| {
                scope
                    .node
                    .path(&["post-rulebase", "default-security-rules", "rules"])
            })
            .or_else(|| {
                shared.and_then(|s| s.path(&["post-rulebase", "default-security-rules", "rules"]))
            });
        let intra = dsr.and_then(|d| d.child("intrazone-default"));
        let inter = dsr.and_then(|d| d.child("interzone-default"));
        let chain_span = scope
            .rulebases
            .iter()
            .find(|(l, _)| *l == "security rule")
            .or(scope.rulebases.first())
            .map(|(_, n)| head_span(file, n.span))
            .unwrap_or(first_line);
        let intra_action = intra
            .and_then(|n| n.get("action"))
            .map(|a| action_of(Some(a)))
            .unwrap_or(Action::Allow);
        let intra_ips = match intra.and_then(|n| n.child("profile-setting")) {
            Some(ps) => ips_of(&mut ctx, ps),
            None => Vec::new(),
        };
        for z in &zones_seen {
            let mut r = Rule::new(
                format!("intrazone-default (zone {z})"),
                intra.map_or(chain_span, |n| n.span),
                intra_action.clone(),
            );
            r.matches[0].src_zone = NameSet::only([z.clone()]);
            r.matches[0].dst_zone = NameSet::only([z.clone()]);
            r.inspection = intra_ips.clone();
            rules.push(r);
        }
        // When the file defines no zone (a partial export, generator output, a template), other
        // zones may exist: the intrazone default still allows traffic that stays within one of
        // them, which the model cannot express without naming the zone. (PAN-OS refuses rules
        // naming undefined zones, so when zones are defined they are all known.)
        if !zones_defined {
            let mut r = Rule::new(
                "intrazone-default (other zones)",
                intra.map_or(chain_span, |n| n.span),
                intra_action.clone(),
            );
            let known: BTreeSet<String> = zones_seen.clone();
            r.matches[0].src_zone = NameSet::Except(known.clone().into());
            r.matches[0].dst_zone = NameSet::Except(known.into());
            r.unmodeled.push(
                "intrazone-default: only traffic that stays within one zone (zone not named in the file)".into(),
            );
            r.inspection = intra_ips.clone();
            rules.push(r);
        }
        let inter_action = inter
            .and_then(|n| n.get("action"))
            .map(|a| action_of(Some(a)))
            .unwrap_or(Action::Deny);
        let default = ChainDefault {
            action: match inter_action {
                Action::Allow => Action::Allow,
                _ => Action::Deny,
            },
            span: inter.map_or(chain_span, |n| n.span),
            implicit: inter.is_none(),
        };
        if !explicit && zones_seen.is_empty() && scope.rulebases.is_empty() && scope.name != "vsys1"
        {
            // A device group with no policy.
            cfg_out.fqdns.extend(ctx.fqdns);
            cfg_out.unparsed.extend(ctx.unparsed);
            cfg_out.errors.extend(ctx.errors);
            continue;
        }
        let chain_id = cfg_out.filter.chains.len();
        cfg_out.filter.chains.push(Chain {
            name: format!("{} security policy", scope.name),
            span: chain_span,
            rules,
            default,
        });
        cfg_out.filter.entries.push(Entry {
            hook: Hook::Forward,
            stages: vec![chain_id],
        });
        if let Some(ao) = scope
            .node
            .path(&["rulebase", "application-override", "rules"])
        {
            // Traffic an application-override rule classifies skips App-ID, hence the SIP ALG.
            for r in &ao.children {
                let sip_port = r
                    .get("port")
                    .and_then(parse_ports)
                    .is_some_and(|p| p.contains(5060) || p.contains(5061));
                if sip_port && !r.yes("disabled") {
                    if let Some(alg) = cfg_out.features.sip_alg.as_mut() {
                        alg.related.push((
                            r.span,
                            format!(
                                "application-override rule \"{}\" covers a SIP port: that traffic skips App-ID, so the SIP ALG does not inspect it",
                                r.key
                            ),
                        ));
                    }
                }
            }
            if !ao.children.is_empty() {
                ctx.unparsed.push(Unparsed {
                    span: ao.span,
                    reason: "application-override rules change App-ID and are not modelled".into(),
                });
            }
        }
        cfg_out.fqdns.extend(ctx.fqdns);
        cfg_out.unparsed.extend(ctx.unparsed);
        cfg_out.errors.extend(ctx.errors);
    }
    cfg_out
}

/// The first non-blank byte of the file (to tell XML from text forms).
fn file_first_tag(file: &SourceFile) -> Span {
    let start = file.text.len()
        - file
            .text
            .trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n'])
            .len();
    Span::new(file.id, start, (start + 1).min(file.text.len()))
}

/// The first line of a span (the opening tag or the first `set` line).
fn head_span(file: &SourceFile, span: Span) -> Span {
    let text = file.slice(span);
    let end = text.find('\n').map_or(span.end, |i| span.start + i);
    let mut s = Span::new(span.file, span.start, end);
    if file.slice(s).ends_with('\r') {
        s.end -= 1;
    }
    s
}

/// Remove repeated strings, keeping the first occurrence.
fn uniq(v: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    v.retain(|x| seen.insert(x.clone()));
}

#[cfg(test)]
mod tests;
