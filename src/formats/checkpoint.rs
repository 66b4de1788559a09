//! Check Point management API exports: `show-access-rulebase` JSON (one layer object, or a list
//! of layers as Batfish snapshots hold them), object listings (`show-hosts`,
//! `show-services-tcp`, ...), `show-package`, and Gaia `clish` configurations (recognised, not
//! parsed: they hold no access policy).
//!
//! Rules reference objects by UID, resolved through the `objects-dictionary` of the export (and
//! any other object list in the same file). Each layer is a chain ending in the layer's implicit
//! cleanup rule (drop unless the export says otherwise); the ordered layers are the stages of one
//! Forward entry (a connection must be accepted by every ordered layer). An inline layer
//! (`Apply Layer` with `inline-layer`) is a goto into that layer's chain.

use super::util::has;
use std::cell::RefCell;
use std::collections::HashMap;

use crate::model::{
    Action, Chain, ChainDefault, Config, Entry, FeatureState, Format, Hook, InputIssue, Inspection,
    InspectionKind, Rule, Unparsed,
};
use crate::sets::{self, proto, AddrSet, PortSet, ProtoSet, Space};
use crate::source::{FileId, SourceFile, Span};

use super::util;
use super::Limits;

// ---------------------------------------------------------------------------------------------
// Sniffing

/// Confidence that `text` is a Check Point export.
pub fn sniff(_name: &str, text: &str) -> u8 {
    let t = text.trim_start_matches('\u{feff}').trim_start();
    if t.starts_with('{') || t.starts_with('[') {
        if has(t, "\"objects-dictionary\"") {
            return 90;
        }
        if has(t, "\"domain-type\"") && has(t, "\"uid\"") {
            return 85;
        }
        if has(t, "\"uid\"")
            && (has(t, "\"rulebase\"") || has(t, "\"access-layers\""))
            && has(t, "\"rule-number\"")
        {
            return 80;
        }
        return 0;
    }
    if has(t, "# Language version:") && has(t, "set hostname ") {
        return 80;
    }
    let gaia = super::util::text_lines(t).take(2000).any(|l| {
        l.starts_with("set installer policy ")
            || l.starts_with("set clienv ")
            || (l.starts_with("set interface eth") && l.contains(" ipv4-address "))
    });
    if gaia {
        return 60;
    }
    0
}

// ---------------------------------------------------------------------------------------------
// JSON with spans

#[derive(Clone, Debug)]
enum JKind {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

#[derive(Clone, Debug)]
struct J {
    start: usize,
    end: usize,
    kind: JKind,
}

impl J {
    fn get(&self, key: &str) -> Option<&J> {
        match &self.kind {
            JKind::Obj(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
    fn str(&self) -> Option<&str> {
        match &self.kind {
            JKind::Str(s) => Some(s),
            _ => None,
        }
    }
    fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(J::str)
    }
    fn arr(&self) -> &[J] {
        match &self.kind {
            JKind::Arr(v) => v,
            _ => &[],
        }
    }
    fn get_bool(&self, key: &str) -> Option<bool> {
        match self.get(key).map(|j| &j.kind) {
            Some(JKind::Bool(b)) => Some(*b),
            Some(JKind::Str(s)) => match s.as_str() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }
    fn get_num(&self, key: &str) -> Option<f64> {
        match self.get(key).map(|j| &j.kind) {
            Some(JKind::Num(n)) => Some(*n),
            Some(JKind::Str(s)) => s.parse().ok(),
            _ => None,
        }
    }
    fn span(&self, id: FileId) -> Span {
        Span::new(id, self.start, self.end)
    }
}

struct JsonParser<'a> {
    b: &'a [u8],
    text: &'a str,
    pos: usize,
    max_depth: usize,
}

type JResult = Result<J, (usize, String)>;

impl JsonParser<'_> {
    fn ws(&mut self) {
        while self.pos < self.b.len() && matches!(self.b[self.pos], b' ' | b'\t' | b'\r' | b'\n') {
            self.pos += 1;
        }
    }
    fn err<T>(&self, msg: &str) -> Result<T, (usize, String)> {
        Err((self.pos.min(self.b.len()), msg.to_string()))
    }
    fn value(&mut self, depth: usize) -> JResult {
        self.ws();
        if depth > self.max_depth {
            return self.err("JSON nested too deeply");
        }
        let start = self.pos;
        let Some(&c) = self.b.get(self.pos) else {
            return self.err("unexpected end of JSON (file truncated?)");
        };
        let kind = match c {
            b'{' => {
                self.pos += 1;
                let mut m = Vec::new();
                self.ws();
                if self.b.get(self.pos) == Some(&b'}') {
                    self.pos += 1;
                } else {
                    loop {
                        self.ws();
                        if self.b.get(self.pos) != Some(&b'"') {
                            return self.err("expected a string key");
                        }
                        let k = self.string()?;
                        self.ws();
                        if self.b.get(self.pos) != Some(&b':') {
                            return self.err("expected `:`");
                        }
                        self.pos += 1;
                        let v = self.value(depth + 1)?;
                        m.push((k, v));
                        self.ws();
                        match self.b.get(self.pos) {
                            Some(b',') => self.pos += 1,
                            Some(b'}') => {
                                self.pos += 1;
                                break;
                            }
                            None => return self.err("unexpected end of JSON (file truncated?)"),
                            _ => return self.err("expected `,` or `}`"),
                        }
                    }
                }
                JKind::Obj(m)
            }
            b'[' => {
                self.pos += 1;
                let mut v = Vec::new();
                self.ws();
                if self.b.get(self.pos) == Some(&b']') {
                    self.pos += 1;
                } else {
                    loop {
                        v.push(self.value(depth + 1)?);
                        self.ws();
                        match self.b.get(self.pos) {
                            Some(b',') => self.pos += 1,
                            Some(b']') => {
                                self.pos += 1;
                                break;
                            }
                            None => return self.err("unexpected end of JSON (file truncated?)"),
                            _ => return self.err("expected `,` or `]`"),
                        }
                    }
                }
                JKind::Arr(v)
            }
            b'"' => JKind::Str(self.string()?),
            b't' if self.b[self.pos..].starts_with(b"true") => {
                self.pos += 4;
                JKind::Bool(true)
            }
            b'f' if self.b[self.pos..].starts_with(b"false") => {
                self.pos += 5;
                JKind::Bool(false)
            }
            b'n' if self.b[self.pos..].starts_with(b"null") => {
                self.pos += 4;
                JKind::Null
            }
            b'-' | b'0'..=b'9' => {
                while self.pos < self.b.len()
                    && matches!(
                        self.b[self.pos],
                        b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'
                    )
                {
                    self.pos += 1;
                }
                match self
                    .text
                    .get(start..self.pos)
                    .and_then(|s| s.parse::<f64>().ok())
                {
                    Some(n) => JKind::Num(n),
                    None => return self.err("bad number"),
                }
            }
            _ => return self.err("unexpected character"),
        };
        Ok(J {
            start,
            end: self.pos,
            kind,
        })
    }
    fn string(&mut self) -> Result<String, (usize, String)> {
        // at '"'
        self.pos += 1;
        // Characters other than `"` and `\` are copied in runs (both are ASCII, so a run ends
        // on a character boundary); a string without escapes is one run.
        let run = |p: &Self, from: usize| {
            from + memchr::memchr2(b'"', b'\\', &p.b[from..]).unwrap_or(p.b.len() - from)
        };
        let end = run(self, self.pos);
        if self.b.get(end) == Some(&b'"') {
            let out = self.text[self.pos..end].to_owned();
            self.pos = end + 1;
            return Ok(out);
        }
        let mut out = String::new();
        loop {
            let Some(&c) = self.b.get(self.pos) else {
                return self.err("unterminated string (file truncated?)");
            };
            match c {
                b'"' => {
                    self.pos += 1;
                    return Ok(out);
                }
                b'\\' => {
                    let Some(&e) = self.b.get(self.pos + 1) else {
                        return self.err("unterminated string");
                    };
                    self.pos += 2;
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
                            let hex = |p: usize| {
                                self.text
                                    .get(p..p + 4)
                                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                            };
                            let Some(hi) = hex(self.pos) else {
                                return self.err("bad \\u escape");
                            };
                            self.pos += 4;
                            let cp = if (0xD800..0xDC00).contains(&hi)
                                && self.b.get(self.pos) == Some(&b'\\')
                                && self.b.get(self.pos + 1) == Some(&b'u')
                            {
                                match hex(self.pos + 2) {
                                    Some(lo) if (0xDC00..0xE000).contains(&lo) => {
                                        self.pos += 6;
                                        0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                                    }
                                    _ => hi,
                                }
                            } else {
                                hi
                            };
                            out.push(char::from_u32(cp).unwrap_or('\u{fffd}'));
                        }
                        _ => return self.err("bad escape"),
                    }
                }
                _ => {
                    let end = run(self, self.pos);
                    out.push_str(&self.text[self.pos..end]);
                    self.pos = end;
                }
            }
        }
    }
}

fn parse_json(text: &str, max_depth: usize) -> JResult {
    let mut p = JsonParser {
        b: text.as_bytes(),
        text,
        pos: 0,
        max_depth,
    };
    // A BOM is dropped by the file store; skip leading whitespace.
    let v = p.value(0)?;
    p.ws();
    if p.pos < p.b.len() {
        return p.err("trailing data after the JSON document");
    }
    Ok(v)
}

// ---------------------------------------------------------------------------------------------
// Objects

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
}

/// `5060`, `10000-20000`, `>1024`, `<1024`, `>=1024`, `<=1023`.
fn parse_cp_ports(s: &str) -> Option<PortSet> {
    let s = s.trim();
    let num = |x: &str| x.trim().parse::<u16>().ok().map(u128::from);
    if let Some(r) = s.strip_prefix(">=") {
        return Some(PortSet::range(num(r)?, 65535));
    }
    if let Some(r) = s.strip_prefix("<=") {
        return Some(PortSet::range(0, num(r)?));
    }
    if let Some(r) = s.strip_prefix('>') {
        let v = num(r)?;
        return Some(if v >= 65535 {
            PortSet::empty()
        } else {
            PortSet::range(v + 1, 65535)
        });
    }
    if let Some(r) = s.strip_prefix('<') {
        let v = num(r)?;
        return Some(if v == 0 {
            PortSet::empty()
        } else {
            PortSet::range(0, v - 1)
        });
    }
    let mut ranges = Vec::new();
    for part in s.split(',') {
        match part.split_once('-') {
            Some((a, b)) => ranges.push((num(a)?, num(b)?)),
            None => {
                let v = num(part)?;
                ranges.push((v, v));
            }
        }
    }
    if ranges.is_empty() {
        return None;
    }
    Some(PortSet::from_ranges(ranges))
}

/// Protocol handlers that make the gateway inspect SIP.
fn is_sip_handler(obj: &J) -> bool {
    match obj.get_str("protocol") {
        Some(p) => p.to_ascii_uppercase().starts_with("SIP"),
        None => false,
    }
}

type SvcMemo<'a> = HashMap<(&'a str, usize), (Vec<Svc>, Vec<String>, Vec<String>)>;
type AddrMemo<'a> = HashMap<(&'a str, usize), (AddrSet, Vec<String>)>;

struct Ctx<'a> {
    dict: HashMap<&'a str, &'a J>,
    limits: &'a Limits,
    /// Resolved groups by (UID, depth): a group reached along many paths is resolved once per
    /// depth, so a result computed from a shallow reference is never reused at a deeper one,
    /// where the reference-depth limit may cut its members (and the reverse).
    addr_memo: RefCell<AddrMemo<'a>>,
    svc_memo: RefCell<SvcMemo<'a>>,
    id: FileId,
    /// Groups met past the reference-depth limit: (kind, name) -> definition (input errors).
    too_deep: RefCell<std::collections::BTreeMap<(&'static str, String), Span>>,
}

fn type_of(o: &J) -> &str {
    o.get_str("type").unwrap_or("")
}

fn name_of(o: &J) -> String {
    o.get_str("name")
        .or_else(|| o.get_str("uid"))
        .unwrap_or("?")
        .to_string()
}

impl<'a> Ctx<'a> {
    /// An object from a reference (UID string) or an inline object.
    fn obj(&self, r: &'a J) -> Option<&'a J> {
        match &r.kind {
            JKind::Str(uid) => self.dict.get(uid.as_str()).copied(),
            JKind::Obj(_) => {
                // A full object; prefer the dictionary's copy when the inline one is terse.
                match r.get_str("uid").and_then(|u| self.dict.get(u)) {
                    Some(d) if r.get("type").is_none() => Some(d),
                    _ => Some(r),
                }
            }
            _ => None,
        }
    }

    fn addr(
        &self,
        r: &'a J,
        depth: usize,
        seen: &mut Vec<&'a str>,
        notes: &mut Vec<String>,
    ) -> AddrSet {
        let Some(o) = self.obj(r) else {
            notes.push(format!(
                "object `{}` is not in the objects dictionary",
                r.str().unwrap_or("?")
            ));
            return AddrSet::full();
        };
        let name = name_of(o);
        let ty = type_of(o);
        let ip = |k: &str| {
            o.get_str(k)
                .and_then(|s| s.parse::<std::net::IpAddr>().ok())
        };
        match ty {
            "CpmiAnyObject" => AddrSet::full(),
            "host" => {
                let mut s = AddrSet::empty();
                for k in ["ipv4-address", "ipv6-address"] {
                    if let Some(a) = ip(k) {
                        s = s.union(&AddrSet::single(sets::addr_value(a)));
                    }
                }
                if s.is_empty() {
                    notes.push(format!("host `{name}` has no address"));
                    return AddrSet::full();
                }
                s
            }
            "network" => {
                let mut s = AddrSet::empty();
                for (net, len, mask) in [
                    ("subnet4", "mask-length4", Some("subnet-mask")),
                    ("subnet6", "mask-length6", None),
                ] {
                    let Some(n) = o.get_str(net) else { continue };
                    let set = match o.get_num(len) {
                        Some(l) => sets::parse_net(&format!("{n}/{}", l as u32)),
                        None => mask
                            .and_then(|m| o.get_str(m))
                            .and_then(|m| sets::net_from_mask(n, m)),
                    };
                    match set {
                        Some(x) => s = s.union(&x),
                        None => notes.push(format!("network `{name}`: address not understood")),
                    }
                }
                if s.is_empty() {
                    notes.push(format!("network `{name}` has no usable subnet"));
                    return AddrSet::full();
                }
                s
            }
            "address-range" => {
                let mut s = AddrSet::empty();
                for (a, b) in [
                    ("ipv4-address-first", "ipv4-address-last"),
                    ("ipv6-address-first", "ipv6-address-last"),
                ] {
                    if let (Some(x), Some(y)) = (ip(a), ip(b)) {
                        s = s.union(&sets::addr_range(x, y));
                    }
                }
                if s.is_empty() {
                    notes.push(format!("address range `{name}` has no usable bounds"));
                    return AddrSet::full();
                }
                s
            }
            "group" | "group-with-exclusion" => {
                let uid = o.get_str("uid").unwrap_or("");
                if depth >= self.limits.max_reference_depth {
                    self.too_deep
                        .borrow_mut()
                        .entry(("group", name.to_string()))
                        .or_insert(o.span(self.id));
                }
                if depth >= self.limits.max_reference_depth
                    || (!uid.is_empty() && seen.contains(&uid))
                {
                    notes.push(format!(
                        "group `{name}` refers to itself (cycle) or nests too deeply"
                    ));
                    return AddrSet::full();
                }
                if let Some((set, n)) = self.addr_memo.borrow().get(&(uid, depth)) {
                    notes.extend(n.iter().cloned());
                    return set.clone();
                }
                let outer_notes = notes;
                let mut local = Vec::new();
                let notes = &mut local;
                seen.push(uid);
                let out = if ty == "group" {
                    let mut s = AddrSet::empty();
                    for m in o.get("members").map(J::arr).unwrap_or(&[]) {
                        s = s.union(&self.addr(m, depth + 1, seen, notes));
                    }
                    s
                } else {
                    let inc = o
                        .get("include")
                        .map(|i| self.addr(i, depth + 1, seen, notes));
                    let mut exc_notes = Vec::new();
                    let exc = o
                        .get("except")
                        .map(|e| self.addr(e, depth + 1, seen, &mut exc_notes));
                    if !exc_notes.is_empty() {
                        notes.extend(exc_notes);
                        inc.unwrap_or_else(AddrSet::full)
                    } else {
                        match (inc, exc) {
                            (Some(i), Some(e)) => i.difference(&e),
                            (Some(i), None) => i,
                            _ => AddrSet::full(),
                        }
                    }
                };
                seen.pop();
                uniq(&mut local);
                if !uid.is_empty() {
                    self.addr_memo
                        .borrow_mut()
                        .insert((uid, depth), (out.clone(), local.clone()));
                }
                outer_notes.extend(local);
                out
            }
            other => {
                notes.push(format!(
                    "object `{name}` of type `{}` is not modelled",
                    if other.is_empty() { "?" } else { other }
                ));
                AddrSet::full()
            }
        }
    }

    /// Services of a reference; `sip` collects the names of services with a SIP handler.
    fn svc(
        &self,
        r: &'a J,
        depth: usize,
        seen: &mut Vec<&'a str>,
        notes: &mut Vec<String>,
        sip: &mut Vec<String>,
    ) -> Vec<Svc> {
        let Some(o) = self.obj(r) else {
            notes.push(format!(
                "service `{}` is not in the objects dictionary",
                r.str().unwrap_or("?")
            ));
            return vec![Svc::any()];
        };
        let name = name_of(o);
        let ty = type_of(o);
        let ports = |k: &str, notes: &mut Vec<String>| match o.get_str(k) {
            Some(p) if !p.trim().is_empty() => parse_cp_ports(p).unwrap_or_else(|| {
                notes.push(format!("service `{name}`: port `{p}` not understood"));
                PortSet::full()
            }),
            _ => PortSet::full(),
        };
        match ty {
            "CpmiAnyObject" => vec![Svc::any()],
            "service-tcp" | "service-udp" | "service-sctp" => {
                let p = match ty {
                    "service-tcp" => proto::TCP,
                    "service-udp" => proto::UDP,
                    _ => proto::SCTP,
                };
                if is_sip_handler(o) {
                    sip.push(name.clone());
                }
                vec![Svc {
                    proto: ProtoSet::single(p),
                    sport: ports("source-port", notes),
                    dport: ports("port", notes),
                }]
            }
            "service-icmp" | "service-icmp6" => {
                let p = if ty == "service-icmp" {
                    proto::ICMP
                } else {
                    proto::ICMPV6
                };
                if o.get("icmp-type").is_some() {
                    notes.push(format!("service `{name}` matches one ICMP type only"));
                }
                vec![Svc {
                    proto: ProtoSet::single(p),
                    sport: PortSet::full(),
                    dport: PortSet::full(),
                }]
            }
            "service-other" => {
                if o.get_str("match").is_some_and(|m| !m.is_empty()) {
                    notes.push(format!("service `{name}` has a match expression"));
                }
                match o.get_num("ip-protocol") {
                    Some(n) if (0.0..=255.0).contains(&n) => vec![Svc {
                        proto: ProtoSet::single(n as u128),
                        sport: PortSet::full(),
                        dport: PortSet::full(),
                    }],
                    _ => {
                        notes.push(format!("service `{name}` has no IP protocol"));
                        vec![Svc::any()]
                    }
                }
            }
            "service-group" => {
                let uid = o.get_str("uid").unwrap_or("");
                if depth >= self.limits.max_reference_depth {
                    self.too_deep
                        .borrow_mut()
                        .entry(("service group", name.to_string()))
                        .or_insert(o.span(self.id));
                }
                if depth >= self.limits.max_reference_depth
                    || (!uid.is_empty() && seen.contains(&uid))
                {
                    notes.push(format!(
                        "service group `{name}` refers to itself (cycle) or nests too deeply"
                    ));
                    return vec![Svc::any()];
                }
                if let Some((v, n, sp)) = self.svc_memo.borrow().get(&(uid, depth)) {
                    notes.extend(n.iter().cloned());
                    sip.extend(sp.iter().cloned());
                    return v.clone();
                }
                seen.push(uid);
                let mut out: Vec<Svc> = Vec::new();
                let mut local = Vec::new();
                let mut local_sip = Vec::new();
                for m in o.get("members").map(J::arr).unwrap_or(&[]) {
                    for sv in self.svc(m, depth + 1, seen, &mut local, &mut local_sip) {
                        if !out.contains(&sv) {
                            out.push(sv);
                        }
                    }
                }
                seen.pop();
                uniq(&mut local);
                uniq(&mut local_sip);
                if !uid.is_empty() {
                    self.svc_memo.borrow_mut().insert(
                        (uid, depth),
                        (out.clone(), local.clone(), local_sip.clone()),
                    );
                }
                notes.extend(local);
                sip.extend(local_sip);
                out
            }
            other => {
                notes.push(format!(
                    "service `{name}` of type `{}` is not modelled",
                    if other.is_empty() { "?" } else { other }
                ));
                vec![Svc::any()]
            }
        }
    }

    fn is_any(&self, list: &'a J) -> bool {
        let items = list.arr();
        items.is_empty()
            || items
                .iter()
                .any(|r| self.obj(r).is_some_and(|o| type_of(o) == "CpmiAnyObject"))
    }

    fn names(&self, list: &'a J) -> String {
        list.arr()
            .iter()
            .map(|r| self.obj(r).map(name_of).unwrap_or_else(|| "?".into()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Complement of a service union within protocol x destination port.
fn negate_services(svcs: &[Svc], notes: &mut Vec<String>) -> Vec<Svc> {
    if svcs.iter().any(|s| !s.sport.is_full()) {
        notes.push("negated service with source ports: source ports ignored".into());
    }
    let mut out = Vec::new();
    for p in [proto::TCP, proto::UDP, proto::SCTP] {
        let covered = svcs
            .iter()
            .filter(|s| s.proto.contains(p))
            .fold(PortSet::empty(), |acc, s| acc.union(&s.dport));
        let rest = covered.complement();
        if !rest.is_empty() {
            out.push(Svc {
                proto: ProtoSet::single(p),
                sport: PortSet::full(),
                dport: rest,
            });
        }
    }
    let portless = ProtoSet::full().difference(&ProtoSet::from_ranges([
        (proto::TCP, proto::TCP),
        (proto::UDP, proto::UDP),
        (proto::SCTP, proto::SCTP),
    ]));
    let covered = svcs
        .iter()
        .fold(ProtoSet::empty(), |acc, s| acc.union(&s.proto));
    let rest = portless.difference(&covered);
    if !rest.is_empty() {
        out.push(Svc {
            proto: rest,
            sport: PortSet::full(),
            dport: PortSet::full(),
        });
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Building the model

/// Gather every object of the document into `dict` (objects dictionaries and object lists).
fn collect_objects<'a>(j: &'a J, dict: &mut HashMap<&'a str, &'a J>, depth: usize) {
    if depth > 6 {
        return;
    }
    match &j.kind {
        JKind::Arr(v) => {
            for x in v {
                collect_objects(x, dict, depth + 1);
            }
        }
        JKind::Obj(m) => {
            for (k, v) in m {
                if k == "objects-dictionary" || k == "objects" {
                    for o in v.arr() {
                        if let Some(u) = o.get_str("uid") {
                            dict.entry(u).or_insert(o);
                        }
                    }
                }
            }
        }
        _ => {}
    }
}

/// The layer objects (those holding a `rulebase`).
fn layers_of(j: &J) -> Vec<&J> {
    match &j.kind {
        JKind::Arr(v) => v.iter().filter(|x| x.get("rulebase").is_some()).collect(),
        JKind::Obj(_) if j.get("rulebase").is_some() => vec![j],
        _ => Vec::new(),
    }
}

/// Rules of a rulebase, sections flattened, in order.
fn flatten<'a>(items: &'a [J], depth: usize, out: &mut Vec<&'a J>, limit: usize) {
    for it in items {
        if let Some(rb) = it.get("rulebase") {
            if depth < limit {
                flatten(rb.arr(), depth + 1, out, limit);
            }
        } else if matches!(it.kind, JKind::Obj(_)) {
            out.push(it);
        }
    }
}

struct LayerInfo<'a> {
    j: &'a J,
    chain: usize,
}

/// Parse a Check Point export.
pub fn parse(file: &SourceFile, limits: &Limits) -> Config {
    let id = file.id;
    let first = file.line_span(1);
    let mut cfg = Config::new(Format::Checkpoint, first);
    let text: &str = &file.text;
    let t = text.trim_start();
    if !(t.starts_with('{') || t.starts_with('[')) {
        // Gaia clish configuration: interfaces and system settings, no access policy.
        let mut at = first;
        for line in util::lines(text) {
            if at == first && line.text.starts_with("set ") {
                at = line.span(id);
            }
            let toks = util::tokenize(line.text, line.start);
            if toks.len() >= 3 && toks[0].text == "set" && toks[1].text == "hostname" {
                cfg.name = Some(toks[2].text.to_string());
            }
        }
        cfg.unparsed.push(Unparsed {
            span: at,
            reason: "Gaia clish configuration (interfaces, system settings): it holds no access policy and is not parsed".into(),
        });
        return cfg;
    }
    let root = match parse_json(text, limits.max_depth) {
        Ok(r) => r,
        Err((at, msg)) => {
            let lc = file.line_col(at);
            cfg.errors.push(InputIssue {
                span: file.line_span(lc.line),
                message: format!("JSON error: {msg}"),
            });
            return cfg;
        }
    };
    let mut dict = HashMap::new();
    collect_objects(&root, &mut dict, 0);
    let ctx = Ctx {
        dict,
        limits,
        addr_memo: RefCell::new(HashMap::new()),
        svc_memo: RefCell::new(HashMap::new()),
        id,
        too_deep: RefCell::new(std::collections::BTreeMap::new()),
    };
    let layers = layers_of(&root);
    if layers.is_empty() {
        // Object listings, package descriptions: nothing to evaluate.
        if root.get("access-layers").is_some()
            || root.arr().iter().any(|x| x.get("access-layers").is_some())
        {
            cfg.unparsed.push(Unparsed {
                span: first,
                reason: "policy package description: its layers' rules are in show-access-rulebase exports".into(),
            });
        }
        return cfg;
    }
    let infos: Vec<LayerInfo> = layers
        .iter()
        .enumerate()
        .map(|(i, j)| LayerInfo { j, chain: i })
        .collect();
    let chain_of_uid = |uid: &str| {
        infos
            .iter()
            .find(|l| l.j.get_str("uid") == Some(uid))
            .map(|l| l.chain)
    };
    let mut inline_targets = Vec::new();
    let mut sip_rules: Vec<(Span, String, String)> = Vec::new();
    for info in &infos {
        let layer = info.j;
        let lname = layer.get_str("name").unwrap_or("?").to_string();
        // A paged answer (`limit`/`offset`) that does not hold the whole rulebase.
        if let (Some(to), Some(total)) = (layer.get_num("to"), layer.get_num("total")) {
            let from = layer.get_num("from").unwrap_or(1.0);
            if total > to || from > 1.0 {
                cfg.errors.push(InputIssue {
                    span: layer.get("total").map_or(first, |t| t.span(id)),
                    message: format!(
                        "layer \"{lname}\" export holds rules {from} to {to} of {total}: the rest of the rulebase is missing (export every page)"
                    ),
                });
            }
        }
        let mut flat = Vec::new();
        flatten(
            layer.get("rulebase").map(J::arr).unwrap_or(&[]),
            0,
            &mut flat,
            limits.max_reference_depth,
        );
        let mut rules = Vec::new();
        for (i, r) in flat.iter().enumerate() {
            let span = r.span(id);
            let num = r
                .get_num("rule-number")
                .map(|n| n as u64)
                .unwrap_or(i as u64 + 1);
            let rname = match r.get_str("name") {
                Some(n) if !n.is_empty() => format!("rule {num} \"{n}\""),
                _ => format!("rule {num}"),
            };
            let action_name = r
                .get("action")
                .and_then(|a| {
                    ctx.obj(a)
                        .map(name_of)
                        .or_else(|| a.str().map(str::to_string))
                })
                .unwrap_or_else(|| "?".into());
            let action = match action_name.to_ascii_lowercase().as_str() {
                "accept" => Action::Allow,
                "drop" | "reject" => Action::Deny,
                "apply layer" | "inner layer" => match r
                    .get("inline-layer")
                    .and_then(|l| l.str().or_else(|| l.get_str("uid")))
                    .and_then(chain_of_uid)
                {
                    Some(c) => {
                        inline_targets.push(c);
                        Action::Goto(c)
                    }
                    None => {
                        Action::Unknown(format!("{action_name} (inline layer not in the file)"))
                    }
                },
                _ => Action::Unknown(action_name.clone()),
            };
            let mut rule = Rule::new(rname.clone(), span, action);
            if r.get_bool("enabled") == Some(false) {
                rule.enabled = false;
            }
            let mut notes = Vec::new();
            let addr_col = |key: &str, neg: &str, notes: &mut Vec<String>| {
                let mut local = Vec::new();
                let list = r.get(key);
                let mut set = match list {
                    Some(l) if !l.arr().is_empty() => {
                        l.arr().iter().fold(AddrSet::empty(), |acc, m| {
                            acc.union(&ctx.addr(m, 0, &mut Vec::new(), &mut local))
                        })
                    }
                    _ => AddrSet::full(),
                };
                if r.get_bool(neg) == Some(true) {
                    if local.is_empty() {
                        set = set.complement();
                    } else {
                        local.push(format!(
                            "negated {key} over objects that are not fully modelled"
                        ));
                        set = AddrSet::full();
                    }
                }
                notes.extend(local);
                set
            };
            let src = addr_col("source", "source-negate", &mut notes);
            let dst = addr_col("destination", "destination-negate", &mut notes);
            let mut sip = Vec::new();
            let svc_list = r.get("service");
            let mut svcs: Vec<Svc> = match svc_list {
                Some(l) if !l.arr().is_empty() => l
                    .arr()
                    .iter()
                    .flat_map(|m| ctx.svc(m, 0, &mut Vec::new(), &mut notes, &mut sip))
                    .collect(),
                _ => vec![Svc::any()],
            };
            if r.get_bool("service-negate") == Some(true) {
                svcs = negate_services(&svcs, &mut notes);
                sip.clear();
            }
            for (key, what) in [("vpn", "VPN"), ("time", "time"), ("content", "content")] {
                if let Some(l) = r.get(key) {
                    if !ctx.is_any(l) {
                        notes.push(format!("{what} condition `{}`", ctx.names(l)));
                    }
                }
            }
            if let Some(l) = r.get("install-on") {
                let all = l.arr().is_empty()
                    || l.arr().iter().any(|x| {
                        ctx.obj(x).is_some_and(|o| {
                            name_of(o) == "Policy Targets" || type_of(o) == "CpmiAnyObject"
                        })
                    });
                if !all {
                    notes.push(format!("installed only on `{}`", ctx.names(l)));
                }
            }
            let mut matches = Vec::new();
            for s in &svcs {
                let sp = Space {
                    proto: s.proto.clone(),
                    src: src.clone(),
                    dst: dst.clone(),
                    sport: s.sport.clone(),
                    dport: s.dport.clone(),
                    ..Space::all()
                };
                if !sp.is_empty() && !matches.contains(&sp) {
                    matches.push(sp);
                }
            }
            rule.matches = matches;
            uniq(&mut notes);
            rule.unmodeled = notes;
            if !sip.is_empty() {
                sip.sort();
                sip.dedup();
                let sspan = svc_list.map_or(span, |l| l.span(id));
                for s in &sip {
                    rule.inspection.push(Inspection {
                        kind: InspectionKind::SipAlg,
                        name: format!("service {s} (SIP protocol handler)"),
                        span: sspan,
                    });
                }
                if rule.enabled && rule.action == Action::Allow {
                    sip_rules.push((span, rname.clone(), sip.join(", ")));
                }
            }
            if let Action::Unknown(a) = &rule.action {
                cfg.unparsed.push(Unparsed {
                    span,
                    reason: format!("action `{a}` not modelled"),
                });
            }
            rules.push(rule);
        }
        // Implicit cleanup rule.
        let explicit = layer
            .get_str("implicit-cleanup-action")
            .map(|a| a.eq_ignore_ascii_case("accept"));
        let lspan = layer
            .get("name")
            .map(|n| n.span(id))
            .unwrap_or_else(|| Span::new(id, layer.start, layer.start + 1));
        cfg.filter.chains.push(Chain {
            name: format!("layer \"{lname}\""),
            span: lspan,
            rules,
            default: ChainDefault {
                action: if explicit == Some(true) {
                    Action::Allow
                } else {
                    Action::Deny
                },
                span: layer
                    .get("implicit-cleanup-action")
                    .map(|n| n.span(id))
                    .unwrap_or(lspan),
                implicit: explicit.is_none(),
            },
        });
    }
    let stages: Vec<usize> = infos
        .iter()
        .map(|l| l.chain)
        .filter(|c| !inline_targets.contains(c))
        .collect();
    cfg.filter.entries.push(Entry {
        hook: Hook::Forward,
        stages,
    });
    cfg.features.sip_alg = Some(match sip_rules.first() {
        Some((span, name, svcs)) => FeatureState {
            enabled: true,
            span: *span,
            default: false,
            reason: format!(
                "{name} accepts {svcs}, a service with the SIP protocol handler: the gateway inspects SIP on it"
            ),
            related: sip_rules
                .iter()
                .skip(1)
                .map(|(s, n, v)| (*s, format!("{n} also accepts {v}")))
                .collect(),
        },
        None => FeatureState {
            enabled: false,
            span: cfg.filter.chains.first().map_or(first, |c| c.span),
            default: true,
            reason: "no enabled accept rule uses a service with the SIP protocol handler (sip, sip-tcp), so the gateway does not inspect SIP".into(),
            related: Vec::new(),
        },
    });
    let limit = limits.max_reference_depth;
    for ((kind, name), span) in ctx.too_deep.take() {
        cfg.errors.push(InputIssue {
            span,
            message: format!(
                "{kind} `{name}` is nested deeper than the reference limit of {limit} levels (--max-reference-depth, limits: max-reference-depth): rules using it were evaluated as matching anything"
            ),
        });
    }
    cfg
}

/// Remove repeated strings, keeping the first occurrence.
fn uniq(v: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    v.retain(|x| seen.insert(x.clone()));
}

#[cfg(test)]
mod tests;
