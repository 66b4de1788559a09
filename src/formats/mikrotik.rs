//! MikroTik RouterOS `/export` (v6 `/ip firewall filter` and v7 `/ip/firewall/filter` forms).
//!
//! Semantics implemented:
//! - Backslash line continuations are joined into logical lines; every token keeps its byte
//!   range in the file and a rule's span covers the whole logical line.
//! - `/ip firewall filter` and `/ipv6 firewall filter` `add` items: chains `input`, `forward`,
//!   `output` (base chains, default accept: RouterOS accepts what no rule drops) and custom
//!   chains (default return). IPv4 and IPv6 rules of a base chain share one model chain (their
//!   address sets are disjoint); IPv6 custom chains are named `ipv6 NAME`.
//! - `/ip firewall raw` rules (when present) form a first stage (`raw prerouting` before
//!   input/forward, `raw output` before output).
//! - Actions: accept, drop/reject/tarpit, jump (`jump-target`), return, passthrough/log/
//!   add-*-to-address-list (continue), fasttrack-connection (accept, established only).
//! - Matchers: protocol, src/dst-address (IP, CIDR, range), src/dst-address-list (resolved from
//!   `/ip firewall address-list`), src-port/dst-port/port (lists and ranges; `port` matches either
//!   side), in/out-interface and -list (resolved from `/interface list member`), `!` negation,
//!   connection-state (a set without `new` only matches existing connections). Anything else is
//!   listed in `Rule::unmodeled`.
//! - SIP ALG: the `sip` service-port helper is on by default; `/ip firewall service-port set sip
//!   disabled=yes` turns it off.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{
    Action, Chain, ChainDefault, ChainId, Config, Entry, FeatureState, Format, Hook, Rule, Unparsed,
};
use crate::sets::{
    addr_range, all_v4, all_v6, parse_net, proto, AddrSet, NameSet, PortSet, ProtoSet, Space,
};
use crate::source::{FileId, SourceFile, Span};

use super::util::{lines, tokenize};
use super::Limits;

/// Recognise a RouterOS export or script.
pub fn sniff(_name: &str, text: &str) -> u8 {
    let mut score = 0u8;
    for (i, l) in super::util::text_lines(text).take(400).enumerate() {
        let t = super::util::trim(l);
        if i < 5 && t.starts_with('#') && t.contains(" by RouterOS") {
            return 100;
        }
        let path = t.starts_with("/ip firewall")
            || t.starts_with("/ip/firewall")
            || t.starts_with("/ipv6 firewall")
            || t.starts_with("/ipv6/firewall")
            || t.starts_with("/system identity")
            || t.starts_with("/system/identity")
            || t == "/interface list member"
            || t == "/interface bridge"
            || t.starts_with("/interface/");
        if path {
            score = score.max(80);
        } else if t.starts_with("/interface ") || t == "/interface" {
            score = score.max(60);
        } else if (t.starts_with(":global ") || t.starts_with(":local ")) && score < 40 {
            score = 40;
        }
    }
    score
}

/// A logical line (continuations joined) with the map back to file offsets.
struct Logical {
    text: String,
    /// (offset in `text`, offset in the file, length) of each joined piece.
    segs: Vec<(usize, usize, usize)>,
    start: usize,
    end: usize,
}

impl Logical {
    fn to_file(&self, off: usize) -> usize {
        for &(l, f, len) in self.segs.iter().rev() {
            if off >= l {
                return f + (off - l).min(len);
            }
        }
        self.start
    }
    fn span(&self, file: FileId) -> Span {
        Span::new(file, self.start, self.end)
    }
    fn tok_span(&self, file: FileId, start: usize, end: usize) -> Span {
        Span::new(file, self.to_file(start), self.to_file(end))
    }
}

fn logical_lines(text: &str) -> Vec<Logical> {
    let mut out: Vec<Logical> = Vec::new();
    let mut cur: Option<Logical> = None;
    for line in lines(text) {
        let (piece, piece_start) = match &cur {
            // A continued line: leading whitespace is not part of the command.
            Some(_) => {
                let trimmed = line.text.trim_start();
                (trimmed, line.start + (line.text.len() - trimmed.len()))
            }
            None => (line.text, line.start),
        };
        let trailing_bs = piece.len() - piece.trim_end_matches('\\').len();
        let continued = trailing_bs % 2 == 1;
        let body = if continued {
            &piece[..piece.len() - 1]
        } else {
            piece
        };
        let lg = cur.get_or_insert_with(|| Logical {
            text: String::new(),
            segs: Vec::new(),
            start: line.start,
            end: line.start,
        });
        lg.segs.push((lg.text.len(), piece_start, body.len()));
        lg.text.push_str(body);
        lg.end = line.start + line.text.len();
        if !continued {
            if let Some(done) = cur.take() {
                out.push(done);
            }
        }
    }
    if let Some(done) = cur.take() {
        out.push(done);
    }
    out
}

/// One `key=value` argument.
#[derive(Clone, Debug)]
struct Arg {
    value: String,
    span: Span,
}

/// A command with its path.
struct Cmd {
    path: String,
    verb: String,
    /// Positional arguments (`sip` in `set sip disabled=yes`, `find` expressions).
    pos: Vec<String>,
    args: BTreeMap<String, Arg>,
    span: Span,
    line: usize,
}

const VERBS: &[&str] = &[
    "add", "set", "remove", "move", "print", "enable", "disable", "unset", "edit", "export",
    "find", "reset", "comment",
];

/// Commands, and the span of the first header line of each path (`/ip firewall filter`).
fn commands(
    file: &SourceFile,
    limits: &Limits,
    cfg: &mut Config,
) -> (Vec<Cmd>, BTreeMap<String, Span>) {
    let mut out = Vec::new();
    let mut headers: BTreeMap<String, Span> = BTreeMap::new();
    let mut path = String::new();
    for (idx, lg) in logical_lines(&file.text).into_iter().enumerate() {
        let t = lg.text.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if lg.text.len() > limits.max_line_len {
            cfg.unparsed.push(Unparsed {
                span: lg.span(file.id),
                reason: "line too long, not parsed".into(),
            });
            continue;
        }
        if t.starts_with(':') || t.starts_with('{') || t.starts_with('}') {
            // Scripting: not configuration state.
            if is_firewall_path(&path) {
                cfg.unparsed.push(Unparsed {
                    span: lg.span(file.id),
                    reason: "RouterOS script command in a firewall section not evaluated".into(),
                });
            }
            continue;
        }
        let toks = tokenize(&lg.text, 0);
        let mut i = 0;
        if t.starts_with('/') {
            let mut words: Vec<String> = Vec::new();
            while i < toks.len() {
                let w = &toks[i].text;
                if w.contains('=') || (i > 0 && VERBS.contains(&&**w)) || w.starts_with('[') {
                    break;
                }
                words.extend(w.split('/').filter(|s| !s.is_empty()).map(str::to_string));
                i += 1;
            }
            // `/ip/firewall/filter/add` puts the verb in the path.
            if let Some(last) = words.last() {
                if VERBS.contains(&last.as_str()) && words.len() > 1 {
                    let verb = words.pop().unwrap_or_default();
                    path = words.join(" ");
                    push_cmd(&mut out, &path, verb, &toks[i..], &lg, file, idx);
                    continue;
                }
            }
            path = words.join(" ");
            headers.entry(path.clone()).or_insert(lg.span(file.id));
            if i >= toks.len() {
                continue;
            }
        }
        let Some(verb) = toks.get(i) else { continue };
        let verb = verb.text.to_string();
        push_cmd(&mut out, &path, verb, &toks[i + 1..], &lg, file, idx);
    }
    (out, headers)
}

fn push_cmd(
    out: &mut Vec<Cmd>,
    path: &str,
    verb: String,
    toks: &[super::util::Token],
    lg: &Logical,
    file: &SourceFile,
    line: usize,
) {
    let mut args = BTreeMap::new();
    let mut pos = Vec::new();
    for t in toks {
        match t.text.split_once('=') {
            Some((k, v)) if !k.is_empty() && !k.starts_with('[') => {
                args.insert(
                    k.to_string(),
                    Arg {
                        value: v.to_string(),
                        span: lg.tok_span(file.id, t.start, t.end),
                    },
                );
            }
            _ => pos.push(t.text.to_string()),
        }
    }
    out.push(Cmd {
        path: path.to_string(),
        verb,
        pos,
        args,
        span: lg.span(file.id),
        line,
    });
}

fn is_firewall_path(p: &str) -> bool {
    matches!(
        p,
        "ip firewall filter" | "ipv6 firewall filter" | "ip firewall raw" | "ipv6 firewall raw"
    )
}

/// Address-list entries: Err when an entry is a DNS name (resolved at run time).
type Lists = BTreeMap<String, Result<AddrSet, String>>;

struct Ctx {
    lists_v4: Lists,
    lists_v6: Lists,
    if_lists: BTreeMap<String, Result<BTreeSet<String>, String>>,
    has_notrack: bool,
    cfg: Config,
    chain_ids: BTreeMap<(bool, bool, String), ChainId>,
    chains: Vec<Chain>,
}

fn add_to_list(lists: &mut Lists, name: &str, entry: Result<AddrSet, String>) {
    let cur = lists
        .entry(name.to_string())
        .or_insert(Ok(AddrSet::empty()));
    *cur = match (std::mem::replace(cur, Ok(AddrSet::empty())), entry) {
        (Ok(a), Ok(b)) => Ok(a.union(&b)),
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
}

fn parse_addr(s: &str) -> Option<AddrSet> {
    if let Some(set) = parse_net(s) {
        return Some(set);
    }
    let (a, b) = s.split_once('-')?;
    let lo = a.trim().parse::<std::net::IpAddr>().ok()?;
    let hi = b.trim().parse::<std::net::IpAddr>().ok()?;
    (lo.is_ipv4() == hi.is_ipv4()).then(|| addr_range(lo, hi))
}

fn parse_ports(s: &str) -> Option<PortSet> {
    let mut out = PortSet::empty();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let one = |p: &str| -> Option<u128> {
            let p = p.trim();
            p.parse::<u16>().ok().map(u128::from).or(match p {
                "ssh" => Some(22),
                "http" => Some(80),
                "https" => Some(443),
                "sip" => Some(5060),
                "dns" | "domain" => Some(53),
                _ => None,
            })
        };
        let set = match part.split_once('-') {
            Some((a, b)) => PortSet::range(one(a)?, one(b)?),
            None => PortSet::single(one(part)?),
        };
        out = out.union(&set);
    }
    (!out.is_empty()).then_some(out)
}

fn ros_proto(s: &str) -> Option<u128> {
    match s {
        "ipsec-ah" => Some(51),
        "ipsec-esp" => Some(50),
        "ipv6-icmp" | "icmpv6" => Some(proto::ICMPV6),
        "ipencap" | "ip-encap" => Some(4),
        "udp-lite" => Some(136),
        "rsvp" => Some(46),
        "igmp" => Some(2),
        _ => proto::from_name(s),
    }
}

/// `!value` → (negated, value).
fn neg(v: &str) -> (bool, &str) {
    match v.strip_prefix('!') {
        Some(r) => (true, r),
        None => (false, v),
    }
}

/// Keys of a filter rule that do not restrict what it matches.
const NON_MATCH: &[&str] = &[
    "chain",
    "action",
    "comment",
    "disabled",
    "log",
    "log-prefix",
    "jump-target",
    "reject-with",
    "hw-offload",
    "address-list",
    "address-list-timeout",
    "place-before",
    "copy-from",
];

impl Ctx {
    fn chain_id(&mut self, v6: bool, raw: bool, name: &str, span: Span) -> ChainId {
        let base = if raw {
            matches!(name, "prerouting" | "output")
        } else {
            matches!(name, "input" | "forward" | "output")
        };
        // IPv4 and IPv6 base chains share one model chain.
        let key = (v6 && !base, raw, name.to_string());
        if let Some(&id) = self.chain_ids.get(&key) {
            return id;
        }
        let display = match (raw, base, v6) {
            (false, true, _) => name.to_string(),
            (true, true, _) => format!("raw {name}"),
            (false, false, false) => name.to_string(),
            (false, false, true) => format!("ipv6 {name}"),
            (true, false, false) => format!("raw {name}"),
            (true, false, true) => format!("ipv6 raw {name}"),
        };
        let id = self.chains.len();
        self.chains.push(Chain {
            name: display,
            span,
            rules: Vec::new(),
            default: ChainDefault {
                action: if base { Action::Allow } else { Action::Return },
                span,
                implicit: true,
            },
        });
        self.chain_ids.insert(key, id);
        id
    }

    fn list_addrs(&self, v6: bool, name: &str) -> Result<AddrSet, String> {
        let lists = if v6 { &self.lists_v6 } else { &self.lists_v4 };
        match lists.get(name) {
            Some(r) => r.clone(),
            None => Err(format!(
                "address list `{name}` not defined in the export (dynamic entries?)"
            )),
        }
    }

    fn if_list(&self, name: &str) -> Result<NameSet, String> {
        match name {
            "all" => return Ok(NameSet::Any),
            "none" => return Ok(NameSet::only(Vec::<String>::new())),
            "dynamic" | "static" => {
                return Err(format!("built-in interface list `{name}`"));
            }
            _ => {}
        }
        match self.if_lists.get(name) {
            Some(Ok(set)) => Ok(NameSet::Only(set.clone().into())),
            Some(Err(e)) => Err(e.clone()),
            None => Err(format!(
                "interface list `{name}` has no members in the export"
            )),
        }
    }

    fn rule(&mut self, cmd: &Cmd, v6: bool, raw: bool, index: usize) {
        let Some(chain) = cmd.args.get("chain").map(|a| a.value.clone()) else {
            self.cfg.unparsed.push(Unparsed {
                span: cmd.span,
                reason: "firewall rule without chain=".into(),
            });
            return;
        };
        let cid = self.chain_id(v6, raw, &chain, cmd.span);
        let table = match (v6, raw) {
            (false, false) => "/ip firewall filter",
            (true, false) => "/ipv6 firewall filter",
            (false, true) => "/ip firewall raw",
            (true, true) => "/ipv6 firewall raw",
        };
        let comment = cmd
            .args
            .get("comment")
            .map(|c| format!(" \"{}\"", c.value.replace('"', "'")))
            .unwrap_or_default();
        let name = format!("{table} rule {index} (chain={chain}){comment}");
        let action_s = cmd
            .args
            .get("action")
            .map(|a| a.value.as_str())
            .unwrap_or("accept");
        let mut established_only = false;
        let action = match action_s {
            "accept" | "notrack" => Action::Allow,
            "drop" | "reject" | "tarpit" => Action::Deny,
            "fasttrack-connection" => {
                // Fasttrack only ever applies to established/related connections.
                established_only = true;
                Action::Allow
            }
            "return" => Action::Return,
            "passthrough" | "log" | "add-src-to-address-list" | "add-dst-to-address-list" => {
                Action::Continue
            }
            "jump" => match cmd.args.get("jump-target") {
                Some(t) => {
                    let t = t.value.clone();
                    Action::Jump(self.chain_id(v6, raw, &t, cmd.span))
                }
                None => Action::Unknown("jump without jump-target".into()),
            },
            other => {
                self.cfg.unparsed.push(Unparsed {
                    span: cmd.args.get("action").map(|a| a.span).unwrap_or(cmd.span),
                    reason: format!("action `{other}` not understood"),
                });
                Action::Unknown(other.to_string())
            }
        };
        let mut rule = Rule::new(name, cmd.span, action);
        rule.established_only = established_only;
        if cmd.args.get("disabled").is_some_and(|d| d.value == "yes") {
            rule.enabled = false;
        }
        let fam = if v6 { all_v6() } else { all_v4() };
        let mut space = Space::all();
        space.src = fam.clone();
        space.dst = fam.clone();
        let mut either_port: Option<(bool, PortSet)> = None;
        let mut un: Vec<String> = Vec::new();

        for (k, a) in &cmd.args {
            if NON_MATCH.contains(&k.as_str()) {
                continue;
            }
            let (negated, v) = neg(&a.value);
            match k.as_str() {
                "protocol" => match ros_proto(v) {
                    Some(p) => {
                        let s = ProtoSet::single(p);
                        space.proto = if negated { s.complement() } else { s };
                    }
                    None => un.push(format!("protocol `{v}`")),
                },
                "src-address" | "dst-address" => match parse_addr(v) {
                    Some(s) => {
                        let s = if negated {
                            fam.difference(&s)
                        } else {
                            s.intersect(&fam)
                        };
                        if k == "src-address" {
                            space.src = space.src.intersect(&s);
                        } else {
                            space.dst = space.dst.intersect(&s);
                        }
                    }
                    None => un.push(format!("{k} `{v}` not understood")),
                },
                "src-address-list" | "dst-address-list" => match self.list_addrs(v6, v) {
                    Ok(s) => {
                        let s = if negated {
                            fam.difference(&s)
                        } else {
                            s.intersect(&fam)
                        };
                        if k == "src-address-list" {
                            space.src = space.src.intersect(&s);
                        } else {
                            space.dst = space.dst.intersect(&s);
                        }
                    }
                    Err(e) => un.push(e),
                },
                "src-port" | "dst-port" | "port" => match parse_ports(v) {
                    Some(p) => {
                        let p = if negated { p.complement() } else { p };
                        match k.as_str() {
                            "src-port" => space.sport = p,
                            "dst-port" => space.dport = p,
                            _ => either_port = Some((negated, p)),
                        }
                    }
                    None => un.push(format!("{k} `{v}` not understood")),
                },
                "in-interface" | "out-interface" => {
                    let s = NameSet::only([v.to_string()]);
                    let s = if negated { s.complement() } else { s };
                    if k == "in-interface" {
                        space.src_zone = space.src_zone.intersect(&s);
                    } else {
                        space.dst_zone = space.dst_zone.intersect(&s);
                    }
                }
                "in-interface-list" | "out-interface-list" => match self.if_list(v) {
                    Ok(s) => {
                        let s = if negated { s.complement() } else { s };
                        if k == "in-interface-list" {
                            space.src_zone = space.src_zone.intersect(&s);
                        } else {
                            space.dst_zone = space.dst_zone.intersect(&s);
                        }
                    }
                    Err(e) => un.push(e),
                },
                "connection-state" => {
                    let states: BTreeSet<&str> = v.split(',').map(str::trim).collect();
                    let has = |s: &str| states.contains(s) != negated;
                    if !has("new") {
                        if has("untracked") && self.has_notrack {
                            un.push(
                                "connection-state includes untracked and the raw table has \
                                 notrack rules"
                                    .into(),
                            );
                        } else {
                            rule.established_only = true;
                        }
                    }
                }
                _ => {
                    let shown: String = a.value.chars().take(40).collect();
                    un.push(format!("{k}={shown}"));
                }
            }
        }
        let mut spaces = match either_port {
            None => vec![space],
            Some((true, p)) => {
                // `port=!X`: neither port is in X.
                let mut s = space;
                s.sport = s.sport.intersect(&p);
                s.dport = s.dport.intersect(&p);
                vec![s]
            }
            Some((false, p)) => {
                let mut a = space.clone();
                a.dport = a.dport.intersect(&p);
                let mut b = space;
                b.sport = b.sport.intersect(&p);
                vec![a, b]
            }
        };
        spaces.retain(|s| !s.is_empty());
        rule.matches = spaces;
        rule.unmodeled = un;
        self.chains[cid].rules.push(rule);
    }
}

pub fn parse(file: &SourceFile, limits: &Limits) -> Config {
    let file_span = Span::new(file.id, 0, file.text.len());
    let mut cfg = Config::new(Format::Mikrotik, file_span);
    let (cmds, headers) = commands(file, limits, &mut cfg);
    let mut ctx = Ctx {
        lists_v4: BTreeMap::new(),
        lists_v6: BTreeMap::new(),
        if_lists: BTreeMap::new(),
        has_notrack: false,
        cfg,
        chain_ids: BTreeMap::new(),
        chains: Vec::new(),
    };
    let first_line = file.line_span(1);

    // Pass 1: lists, identity, service ports.
    let mut sip: Option<FeatureState> = None;
    for c in &cmds {
        match (c.path.as_str(), c.verb.as_str()) {
            ("ip firewall address-list" | "ipv6 firewall address-list", "add") => {
                let v6 = c.path.starts_with("ipv6");
                if c.args.get("disabled").is_some_and(|d| d.value == "yes") {
                    continue;
                }
                let (Some(list), Some(addr)) = (c.args.get("list"), c.args.get("address")) else {
                    ctx.cfg.unparsed.push(Unparsed {
                        span: c.span,
                        reason: "address-list entry without list= or address=".into(),
                    });
                    continue;
                };
                let entry = match parse_addr(&addr.value) {
                    Some(s) => Ok(s),
                    None => Err(format!(
                        "address list `{}` contains DNS name `{}` (resolved at run time)",
                        list.value, addr.value
                    )),
                };
                let lists = if v6 {
                    &mut ctx.lists_v6
                } else {
                    &mut ctx.lists_v4
                };
                add_to_list(lists, &list.value, entry);
            }
            ("interface list member", "add") => {
                if c.args.get("disabled").is_some_and(|d| d.value == "yes") {
                    continue;
                }
                if let (Some(l), Some(i)) = (c.args.get("list"), c.args.get("interface")) {
                    let e = ctx
                        .if_lists
                        .entry(l.value.clone())
                        .or_insert(Ok(BTreeSet::new()));
                    if let Ok(s) = e {
                        s.insert(i.value.clone());
                    }
                }
            }
            ("interface list", "add") => {
                if let Some(n) = c.args.get("name") {
                    if c.args.contains_key("include") || c.args.contains_key("exclude") {
                        ctx.if_lists.insert(
                            n.value.clone(),
                            Err(format!("interface list `{}` uses include/exclude", n.value)),
                        );
                    }
                }
            }
            ("system identity", "set") => {
                if let Some(n) = c.args.get("name") {
                    ctx.cfg.name = Some(n.value.clone());
                }
            }
            ("ip firewall raw" | "ipv6 firewall raw", "add")
                if c.args.get("action").is_some_and(|a| a.value == "notrack")
                    && c.args.get("disabled").is_none_or(|d| d.value != "yes") =>
            {
                ctx.has_notrack = true;
            }
            ("ip firewall service-port", "set") => {
                let names: Vec<&str> = c
                    .pos
                    .iter()
                    .map(|p| p.trim_matches(|ch| ch == '[' || ch == ']'))
                    .filter(|p| !p.is_empty() && *p != "find")
                    .collect();
                let is_sip =
                    names.contains(&"sip") || c.args.get("name").is_some_and(|n| n.value == "sip");
                if is_sip {
                    if let Some(d) = c.args.get("disabled") {
                        let off = d.value == "yes";
                        sip = Some(FeatureState {
                            enabled: !off,
                            span: c.span,
                            default: false,
                            reason: if off {
                                "the sip service-port (SIP helper) is disabled".into()
                            } else {
                                "the sip service-port (SIP helper) is enabled".into()
                            },
                            related: vec![],
                        });
                    }
                }
            }
            _ => {}
        }
    }

    // Pass 2: rules.
    let mut counters: BTreeMap<&str, usize> = BTreeMap::new();
    let mut header_span: Option<Span> = None;
    for c in &cmds {
        let (v6, raw) = match c.path.as_str() {
            "ip firewall filter" => (false, false),
            "ipv6 firewall filter" => (true, false),
            "ip firewall raw" => (false, true),
            "ipv6 firewall raw" => (true, true),
            _ => continue,
        };
        if !raw && header_span.is_none() {
            header_span = Some(headers.get(&c.path).copied().unwrap_or(c.span));
        }
        match c.verb.as_str() {
            "add" => {
                let n = counters.entry(c.path.as_str()).or_insert(0);
                *n += 1;
                let idx = *n;
                ctx.rule(c, v6, raw, idx);
            }
            verb => {
                ctx.cfg.unparsed.push(Unparsed {
                    span: c.span,
                    reason: format!("`{verb}` command in /{} not evaluated", c.path),
                });
                if matches!(verb, "set" | "remove" | "move" | "disable" | "enable") {
                    ctx.cfg.errors.push(crate::model::InputIssue {
                        span: c.span,
                        message: format!(
                            "`{verb}` modifies firewall rules by reference (line {}); the rule \
                             order or state may differ from what is evaluated",
                            c.line + 1
                        ),
                    });
                }
            }
        }
    }

    // Base chains always exist (RouterOS accepts by default).
    let default_span = header_span.unwrap_or(first_line);
    let input = ctx.chain_id(false, false, "input", default_span);
    let forward = ctx.chain_id(false, false, "forward", default_span);
    let output = ctx.chain_id(false, false, "output", default_span);
    for id in [input, forward, output] {
        ctx.chains[id].default.span = default_span;
    }
    let raw_pre = ctx
        .chain_ids
        .get(&(false, true, "prerouting".to_string()))
        .copied();
    let raw_out = ctx
        .chain_ids
        .get(&(false, true, "output".to_string()))
        .copied();
    let stages = |raw: Option<ChainId>, c: ChainId| match raw {
        Some(r) => vec![r, c],
        None => vec![c],
    };
    ctx.cfg.filter.entries = vec![
        Entry {
            hook: Hook::Input,
            stages: stages(raw_pre, input),
        },
        Entry {
            hook: Hook::Forward,
            stages: stages(raw_pre, forward),
        },
        Entry {
            hook: Hook::Output,
            stages: stages(raw_out, output),
        },
    ];
    ctx.cfg.filter.chains = std::mem::take(&mut ctx.chains);
    // Jumps nested past the reference-depth limit: an input error at the chain the longest run
    // starts from, levels counted as for iptables and nftables (`model::jump_depths`).
    let chains = &ctx.cfg.filter.chains;
    let limit = limits.max_reference_depth;
    if let Some((c, d)) = crate::model::jump_depths(chains).deepest() {
        if d > limit {
            let issue = crate::model::InputIssue {
                span: chains[c].span,
                message: format!(
                    "chain {} nests jumps {d} levels deep, more than the reference limit of {limit} (--max-reference-depth, limits: max-reference-depth): evaluation stops there",
                    chains[c].name
                ),
            };
            ctx.cfg.errors.push(issue);
        }
    }
    ctx.cfg.features.sip_alg = Some(
        sip.unwrap_or(FeatureState {
            enabled: true,
            span: first_line,
            default: true,
            reason:
                "RouterOS enables the sip service-port helper (ports 5060,5061) by default and \
                 the export does not disable it"
                    .into(),
            related: vec![],
        }),
    );
    ctx.cfg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::flow::{classify, Decider, Fate, Part};
    use crate::source::Encoding;

    fn load(text: &str) -> (SourceFile, Config) {
        let f = SourceFile::from_text(FileId(0), "t.rsc".into(), None, text.into(), Encoding::Utf8);
        let c = parse(&f, &Limits::default());
        (f, c)
    }

    fn chain<'a>(c: &'a Config, name: &str) -> &'a Chain {
        &c.filter.chains[c.filter.chain_by_name(name).expect("chain")]
    }

    fn net(s: &str) -> AddrSet {
        parse_net(s).expect("net")
    }

    fn run(c: &Config, hook: Hook, s: Space) -> Vec<Part> {
        let e = c
            .filter
            .entries
            .iter()
            .find(|e| e.hook == hook)
            .expect("entry");
        classify(&c.filter, e, &[s], 32)
    }

    fn decider_name(c: &Config, p: &Part) -> String {
        match p.decider {
            Decider::Rule { chain, rule } => c.filter.chains[chain].rules[rule].name.clone(),
            Decider::Default { chain } => format!("default of {}", c.filter.chains[chain].name),
            Decider::Unknown { .. } => "unknown".into(),
        }
    }

    const SIP_ON: &str = include_str!("../../fixtures/mikrotik/sip-on.rsc");
    const SIP_OFF: &str = include_str!("../../fixtures/mikrotik/sip-off.rsc");

    #[test]
    fn sniff_routeros() {
        assert_eq!(sniff("x", SIP_ON), 100);
        assert!(sniff("x", SIP_OFF) >= 80);
        assert_eq!(sniff("x", "<pfsense><filter/></pfsense>"), 0);
        assert_eq!(
            sniff(
                "x",
                "*filter\n:INPUT DROP [0:0]\n-A INPUT -j ACCEPT\nCOMMIT\n"
            ),
            0
        );
        assert_eq!(
            sniff("x", "config firewall policy\n    edit 1\n    next\nend\n"),
            0
        );
    }

    #[test]
    fn continuation_lines_keep_whole_spans() {
        let (f, c) = load(SIP_ON);
        assert_eq!(c.format, Format::Mikrotik);
        assert_eq!(c.name.as_deref(), Some("cc-router"));
        let input = chain(&c, "input");
        let r = &input.rules[0];
        assert!(
            r.established_only,
            "established,related,untracked without notrack"
        );
        let text = f.slice(r.span);
        assert!(text.starts_with("add action=accept chain=input"));
        assert!(text.ends_with("connection-state=established,related,untracked"));
        assert!(text.contains("\\\n    "), "span covers both physical lines");
        // A value split across lines is joined.
        let fwd = chain(&c, "forward");
        let rtp = fwd
            .rules
            .iter()
            .find(|r| r.name.contains("RTP from carriers"))
            .unwrap();
        assert_eq!(rtp.matches[0].dport, PortSet::range(10000, 20000));
        assert!(f.slice(rtp.span).contains("dst-port=\\\n    10000-20000"));
        assert_eq!(input.default.action, Action::Allow);
        assert!(input.default.implicit);
        assert_eq!(f.slice(input.default.span), "/ip firewall filter");
    }

    #[test]
    fn negation_lists_jump_return_disabled() {
        let (_f, c) = load(SIP_ON);
        let input = chain(&c, "input");
        // in-interface-list=!LAN → every interface but the LAN members.
        assert_eq!(
            input.rules[1].matches[0].src_zone,
            NameSet::only(["bridge"]).complement()
        );
        let fwd = chain(&c, "forward");
        assert!(
            fwd.rules[0].established_only,
            "fasttrack only handles established flows"
        );
        assert_eq!(fwd.rules[0].action, Action::Allow);
        let voice = c.filter.chain_by_name("voice").unwrap();
        assert_eq!(fwd.rules[1].action, Action::Jump(voice));
        assert_eq!(fwd.rules[1].matches[0].dst, net("10.20.0.0/24"));
        let v = chain(&c, "voice");
        assert_eq!(v.default.action, Action::Return);
        assert_eq!(v.rules[1].action, Action::Return);
        let carriers = net("198.51.100.10").union(&net("192.0.2.0/24"));
        assert_eq!(v.rules[0].matches[0].src, all_v4().difference(&carriers));
        assert_eq!(
            v.rules[0].matches[0].dport,
            PortSet::from_ranges([(5060, 5061)])
        );
        let rtp = fwd
            .rules
            .iter()
            .find(|r| r.name.contains("RTP from carriers"))
            .unwrap();
        assert_eq!(rtp.matches[0].src, carriers);
        let telnet = fwd
            .rules
            .iter()
            .find(|r| r.name.contains("disabled telnet"))
            .unwrap();
        assert!(!telnet.enabled);
        assert!(c.unparsed.is_empty(), "{:?}", c.unparsed);
    }

    #[test]
    fn first_match_verdicts_through_jumps() {
        let (_f, c) = load(SIP_ON);
        let mut s = Space::all();
        s.proto = ProtoSet::single(proto::UDP);
        s.src = net("198.51.100.10");
        s.dst = net("10.20.0.5");
        s.dport = PortSet::range(10000, 20000);
        s.src_zone = NameSet::only(["ether1"]);
        let parts = run(&c, Hook::Forward, s.clone());
        let denied: Vec<&Part> = parts.iter().filter(|p| p.fate == Fate::Deny).collect();
        let allowed: Vec<&Part> = parts.iter().filter(|p| p.fate == Fate::Allow).collect();
        assert_eq!(denied.len(), 1);
        assert_eq!(denied[0].space.dport, PortSet::range(10000, 12000));
        assert!(decider_name(&c, denied[0]).contains("\"block low RTP\""));
        assert_eq!(allowed.len(), 1);
        assert_eq!(allowed[0].space.dport, PortSet::range(12001, 20000));
        assert!(decider_name(&c, allowed[0]).contains("\"RTP from carriers\""));
        // SIP from a non-carrier is dropped inside the jumped-to chain.
        s.src = net("203.0.113.9");
        s.dport = PortSet::single(5060);
        let parts = run(&c, Hook::Forward, s);
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].fate, Fate::Deny);
        assert!(decider_name(&c, &parts[0]).contains("(chain=voice) \"not from carriers\""));
    }

    #[test]
    fn sip_helper_default_on_and_disabled() {
        let (f, c) = load(SIP_ON);
        let s = c.features.sip_alg.as_ref().unwrap();
        assert!(s.enabled && s.default);
        assert!(s.reason.contains("by default"));
        assert_eq!(f.slice(s.span), "# 2026-01-15 10:00:00 by RouterOS 7.16.2");
        assert!(c.features.ips.is_none());
        let (f, c) = load(SIP_OFF);
        let s = c.features.sip_alg.as_ref().unwrap();
        assert!(!s.enabled && !s.default);
        assert_eq!(f.slice(s.span), "set sip disabled=yes");
        // v7 slash paths.
        let fwd = chain(&c, "forward");
        assert_eq!(fwd.rules.len(), 1);
        assert_eq!(fwd.rules[0].matches[0].dport, PortSet::single(5060));
        let (_f, c) = load("/ip firewall service-port\nset [ find name=sip ] disabled=yes\n");
        assert!(!c.features.sip_alg.unwrap().enabled);
        let (_f, c) = load("/ip firewall service-port\nset sip disabled=no\n");
        let s = c.features.sip_alg.unwrap();
        assert!(s.enabled && !s.default);
    }

    #[test]
    fn either_port_ipv6_and_unknown_matchers() {
        let (_f, c) = load(
            "/ipv6 firewall filter\nadd chain=input port=33434-33534 protocol=udp\n\
             add chain=input action=drop src-address=!fe80::/10 tcp-flags=syn protocol=tcp\n\
             add chain=forward action=drop src-address-list=missing\n\
             /ip firewall filter\nset 0 disabled=yes\n",
        );
        let input = chain(&c, "input");
        let r = &input.rules[0];
        assert_eq!(r.action, Action::Allow, "default action is accept");
        assert_eq!(r.matches.len(), 2, "port= matches either side");
        assert_eq!(r.matches[0].src, all_v6());
        let r = &input.rules[1];
        assert_eq!(r.matches[0].src, all_v6().difference(&net("fe80::/10")));
        assert!(r.unmodeled.iter().any(|u| u.starts_with("tcp-flags")));
        let fwd = chain(&c, "forward");
        assert!(fwd.rules[0].unmodeled.iter().any(|u| u.contains("missing")));
        assert!(!c.errors.is_empty(), "set in a filter section is reported");
        assert!(!c.unparsed.is_empty());
    }

    #[test]
    fn hostile_input_does_not_panic() {
        for t in [
            "\\",
            "/ip firewall filter\nadd chain=input \\",
            "/\n/ip\nadd",
            "add =x ==\n\"",
            "/ip firewall filter\nadd chain=x action=jump jump-target=x\n",
        ] {
            let (_f, c) = load(t);
            let _ = run(&c, Hook::Input, Space::all());
        }
    }

    #[test]
    fn corpus_copies_are_detected_and_parse() {
        let path = format!("{}/fixtures/mikrotik/corpus", env!("CARGO_MANIFEST_DIR"));
        let mut n = 0;
        for e in std::fs::read_dir(&path).expect("corpus dir").flatten() {
            let bytes = std::fs::read(e.path()).expect("read");
            let name = e.file_name().to_string_lossy().to_string();
            let f = SourceFile::from_bytes(FileId(0), name.clone(), None, &bytes);
            assert_eq!(crate::formats::detect(&f), Format::Mikrotik, "{name}");
            let c = parse(&f, &Limits::default());
            assert!(c.errors.is_empty(), "{name}: {:?}", c.errors);
            assert_eq!(crate::formats::pfxml::sniff_pfsense(&name, &f.text), 0);
            assert_eq!(crate::formats::pfxml::sniff_opnsense(&name, &f.text), 0);
            n += 1;
        }
        assert_eq!(n, 2);
    }
}
