//! `nft -j list ruleset` JSON into the intermediate form. Every rule keeps the span of its
//! `{"rule": {...}}` object.

use super::ir::*;
use crate::formats::json_spans::{self, JKind, JVal};
use crate::formats::Limits;
use crate::model::{InputIssue, Unparsed};
use crate::source::{FileId, SourceFile, Span};

struct J {
    file: FileId,
    out: Ruleset,
}

fn s(v: Option<&JVal>) -> String {
    v.and_then(|v| v.as_text()).unwrap_or_default()
}

/// Compact text of a JSON value, for reasons.
fn compact(v: &JVal) -> String {
    match &v.kind {
        JKind::Null => "null".into(),
        JKind::Bool(b) => b.to_string(),
        JKind::Num(n) => n.clone(),
        JKind::Str(t) => t.clone(),
        JKind::Arr(a) => format!("[{}]", a.iter().map(compact).collect::<Vec<_>>().join(",")),
        JKind::Obj(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{}:{}", k.name, compact(v)))
                .collect::<Vec<_>>()
                .join(",")
        ),
    }
}

/// The single member of a `{"key": value}` object.
fn single(v: &JVal) -> Option<(&str, &JVal)> {
    match v.members() {
        [(k, val)] => Some((k.name.as_str(), val)),
        _ => None,
    }
}

fn left_of(v: &JVal) -> Left {
    if let Some(p) = v.get("payload") {
        let proto = s(p.get("protocol"));
        let field = s(p.get("field"));
        let fam = match proto.as_str() {
            "ip" => Some(Fam::V4),
            "ip6" => Some(Fam::V6),
            _ => None,
        };
        if let Some(f) = fam {
            match field.as_str() {
                "saddr" => return Left::Saddr(f),
                "daddr" => return Left::Daddr(f),
                "protocol" | "nexthdr" => return Left::L4proto(f),
                _ => {}
            }
        }
        let protos = match proto.as_str() {
            "tcp" => Some(vec![6]),
            "udp" => Some(vec![17]),
            "sctp" => Some(vec![132]),
            "dccp" => Some(vec![33]),
            "udplite" => Some(vec![136]),
            "th" => Some(vec![6, 17, 132]),
            _ => None,
        };
        if let Some(p) = protos {
            match field.as_str() {
                "dport" => return Left::Dport(p),
                "sport" => return Left::Sport(p),
                _ => {}
            }
        }
        if matches!(proto.as_str(), "icmp" | "icmpv6") && matches!(field.as_str(), "type" | "code")
        {
            let p = if proto == "icmp" { 1 } else { 58 };
            return Left::IcmpField(p, format!("{proto} {field}"));
        }
        return Left::Other(format!("{proto} {field}"));
    }
    if let Some(m) = v.get("meta") {
        return match s(m.get("key")).as_str() {
            "l4proto" => Left::L4proto(Fam::Any),
            "nfproto" | "protocol" => Left::NfProto,
            "iifname" | "iif" => Left::Iif,
            "oifname" | "oif" => Left::Oif,
            k => Left::Other(format!("meta {k}")),
        };
    }
    if let Some(c) = v.get("ct") {
        return match s(c.get("key")).as_str() {
            "state" => Left::CtState,
            k => Left::Other(format!("ct {k}")),
        };
    }
    Left::Other(compact(v))
}

fn vals_of(v: &JVal, out: &mut Vec<Val>) {
    match &v.kind {
        JKind::Num(n) => out.push(Val::One(n.clone())),
        JKind::Str(t) => out.push(val_from_word(t)),
        JKind::Arr(a) => a.iter().for_each(|x| vals_of(x, out)),
        JKind::Obj(_) => {
            if let Some(set) = v.get("set") {
                vals_of(set, out);
            } else if let Some(r) = v.get("range").and_then(|r| r.as_arr()) {
                match r {
                    [a, b] => out.push(Val::Range(s(Some(a)), s(Some(b)))),
                    _ => out.push(Val::Compound(compact(v))),
                }
            } else if let Some(p) = v.get("prefix") {
                out.push(Val::One(format!(
                    "{}/{}",
                    s(p.get("addr")),
                    s(p.get("len"))
                )));
            } else if let Some(e) = v.get("elem") {
                // A set element with options (timeout, counter): its value.
                match e.get("val") {
                    Some(x) => vals_of(x, out),
                    None => out.push(Val::Compound(compact(v))),
                }
            } else {
                out.push(Val::Compound(compact(v)));
            }
        }
        _ => out.push(Val::Compound(compact(v))),
    }
}

fn verdict_of(k: &str, v: &JVal) -> Option<Verdict> {
    Some(match k {
        "accept" => Verdict::Accept,
        "drop" => Verdict::Drop,
        "reject" => Verdict::Reject,
        "return" => Verdict::Return,
        "continue" => Verdict::Continue,
        "jump" => Verdict::Jump(s(v.get("target"))),
        "goto" => Verdict::Goto(s(v.get("target"))),
        "queue" => Verdict::Other("queue".into()),
        _ => return None,
    })
}

/// Verdict of a map element's data (`{"accept": null}`).
fn data_verdict(v: &JVal) -> Option<Verdict> {
    single(v).and_then(|(k, x)| verdict_of(k, x))
}

fn strings_in(v: &JVal, out: &mut Vec<String>) {
    match &v.kind {
        JKind::Str(t) => out.push(t.clone()),
        JKind::Arr(a) => a.iter().for_each(|x| strings_in(x, out)),
        JKind::Obj(m) => m.iter().for_each(|(_, x)| strings_in(x, out)),
        _ => {}
    }
}

fn is_flags_payload(v: &JVal) -> bool {
    v.get("payload").is_some_and(|p| {
        p.get("protocol").and_then(|x| x.as_str()) == Some("tcp")
            && p.get("field").and_then(|x| x.as_str()) == Some("flags")
    })
}

fn is_tcp_flags(left: Option<&JVal>) -> bool {
    let Some(l) = left else { return false };
    is_flags_payload(l)
        || l.get("&")
            .and_then(|a| a.as_arr())
            .and_then(|a| a.first())
            .is_some_and(is_flags_payload)
}

fn flag_bits(v: &JVal) -> Option<u32> {
    let mut names = Vec::new();
    match &v.kind {
        JKind::Num(n) => return n.parse().ok(),
        _ => strings_in(v, &mut names),
    }
    tcp_flag_bits(&names.join("|"))
}

/// Evaluate a JSON `tcp flags` match on a bare SYN.
fn json_tcp_flags(m: &JVal) -> Option<bool> {
    const SYN: u32 = 2;
    let left = m.get("left")?;
    let mask = match left.get("&").and_then(|a| a.as_arr()) {
        Some([_, mask]) => Some(flag_bits(mask)?),
        Some(_) => return None,
        None => None,
    };
    let right = flag_bits(m.get("right")?)?;
    let op = m.get("op").and_then(|x| x.as_str()).unwrap_or("==");
    let masked = SYN & mask.unwrap_or(u32::MAX);
    Some(match op {
        "in" => masked & right != 0,
        "==" => masked == right,
        "!=" => masked != right,
        "<" => masked < right,
        ">" => masked > right,
        "<=" => masked <= right,
        ">=" => masked >= right,
        _ => return None,
    })
}

const STATEMENTS: &[&str] = &[
    "counter",
    "log",
    "mangle",
    "snat",
    "dnat",
    "masquerade",
    "redirect",
    "notrack",
    "flow",
    "meter",
    "set",
    "map",
    "dup",
    "fwd",
    "tproxy",
    "synproxy",
    "ct expectation",
    "ct timeout",
    "ct count",
    "secmark",
    "reset",
    "tcp option",
];

impl J {
    fn span(&self, v: &JVal) -> Span {
        Span::new(self.file, v.start, v.end)
    }

    fn rule(&mut self, item: &JVal, r: &JVal, number: usize) -> RuleIr {
        let mut out = RuleIr {
            span: self.span(item),
            exprs: Vec::new(),
            comment: r.get("comment").and_then(|c| c.as_text()),
            number,
        };
        for e in r.get("expr").and_then(|x| x.as_arr()).unwrap_or(&[]) {
            let Some((k, v)) = single(e) else {
                out.exprs.push(Expr::Unmodeled {
                    text: compact(e),
                    span: self.span(e),
                    understood: false,
                });
                continue;
            };
            if let Some(verdict) = verdict_of(k, v) {
                out.exprs.push(Expr::Verdict(verdict));
                continue;
            }
            match k {
                "match" if is_tcp_flags(v.get("left")) => {
                    out.exprs.push(Expr::Match {
                        left: Left::TcpFlags(
                            json_tcp_flags(v),
                            format!("tcp flags {}", compact(v)),
                        ),
                        op: Op::Eq,
                        vals: Vec::new(),
                    });
                }
                "match" => {
                    let op = s(v.get("op"));
                    let op =
                        Op::from_text(if op.is_empty() { "==" } else { &op }).unwrap_or(Op::Other);
                    let left = v
                        .get("left")
                        .map(left_of)
                        .unwrap_or(Left::Other("?".into()));
                    let mut vals = Vec::new();
                    if let Some(r) = v.get("right") {
                        vals_of(r, &mut vals);
                    }
                    out.exprs.push(Expr::Match { left, op, vals });
                }
                "vmap" => {
                    let left = v.get("key").map(left_of).unwrap_or(Left::Other("?".into()));
                    let data = v.get("data");
                    let mut elems = Vec::new();
                    let mut map_ref = None;
                    if let Some(d) = data {
                        if let Some(name) = d.as_str().and_then(|t| t.strip_prefix('@')) {
                            map_ref = Some(name.to_string());
                        } else if let Some(list) = d.get("set").and_then(|x| x.as_arr()) {
                            for pair in list {
                                if let Some([key, val]) =
                                    pair.as_arr().and_then(|a| <&[JVal; 2]>::try_from(a).ok())
                                {
                                    let mut kv = Vec::new();
                                    vals_of(key, &mut kv);
                                    let verdict = data_verdict(val)
                                        .unwrap_or_else(|| Verdict::Other(compact(val)));
                                    elems.push((kv, verdict));
                                }
                            }
                        }
                    }
                    out.exprs.push(Expr::Vmap {
                        left,
                        elems,
                        map_ref,
                    });
                }
                "ct helper" => {
                    let mut names = Vec::new();
                    strings_in(v, &mut names);
                    out.exprs.push(Expr::HelperSet(names));
                }
                "limit" | "quota" => out.exprs.push(Expr::Unmodeled {
                    text: format!("{k} {}", compact(v)),
                    span: self.span(e),
                    understood: true,
                }),
                "xt" => out.exprs.push(Expr::Unmodeled {
                    text: "xt (iptables compatibility) expression".into(),
                    span: self.span(e),
                    understood: true,
                }),
                _ if STATEMENTS.contains(&k) => out.exprs.push(Expr::Stmt),
                _ => out.exprs.push(Expr::Unmodeled {
                    text: compact(e),
                    span: self.span(e),
                    understood: false,
                }),
            }
        }
        out
    }

    fn chain_index(&mut self, fam: &str, table: &str, name: &str, span: Span) -> usize {
        if let Some(i) = self
            .out
            .chains
            .iter()
            .position(|c| c.family == fam && c.table == table && c.name == name)
        {
            return i;
        }
        self.out.chains.push(ChainIr {
            family: fam.into(),
            table: table.into(),
            name: name.into(),
            span,
            base: None,
            rules: Vec::new(),
        });
        self.out.chains.len() - 1
    }

    fn run(&mut self, root: &JVal) {
        let Some(list) = root.get("nftables").and_then(|x| x.as_arr()) else {
            self.out.errors.push(InputIssue {
                span: self.span(root),
                message: "no \"nftables\" array at the top of this JSON document".into(),
            });
            return;
        };
        for item in list {
            let Some((k, v)) = single(item) else {
                self.out.unparsed.push(Unparsed {
                    span: self.span(item),
                    reason: "nftables JSON element not understood".into(),
                });
                continue;
            };
            let fam = s(v.get("family"));
            let table = s(v.get("table"));
            match k {
                "metainfo" => {}
                "table" => {
                    let f = fam.clone();
                    if !matches!(f.as_str(), "ip" | "ip6" | "inet") {
                        let name = s(v.get("name"));
                        let sp = self.span(item);
                        self.out.other_tables.push((f, name, sp));
                    }
                }
                "chain" => {
                    let name = s(v.get("name"));
                    let sp = self.span(item);
                    let ci = self.chain_index(&fam, &table, &name, sp);
                    self.out.chains[ci].span = sp;
                    if let Some(hook) = v.get("hook").and_then(|h| h.as_str()) {
                        let prio = match v.get("prio") {
                            Some(p) => p
                                .as_i64()
                                .or_else(|| p.as_str().and_then(named_priority))
                                .unwrap_or(0),
                            None => 0,
                        };
                        let policy = v
                            .members()
                            .iter()
                            .find(|(k, _)| k.name == "policy")
                            .and_then(|(k, pv)| match pv.as_str() {
                                Some("accept") => {
                                    Some((true, Span::new(self.file, k.start, pv.end)))
                                }
                                Some("drop") => {
                                    Some((false, Span::new(self.file, k.start, pv.end)))
                                }
                                _ => None,
                            });
                        self.out.chains[ci].base = Some(BaseIr {
                            typ: s(v.get("type")),
                            hook: hook.to_string(),
                            prio,
                            policy,
                            span: sp,
                        });
                    }
                }
                "rule" => {
                    let cname = s(v.get("chain"));
                    let sp = self.span(item);
                    let ci = self.chain_index(&fam, &table, &cname, sp);
                    let number = self.out.chains[ci].rules.len() + 1;
                    let r = self.rule(item, v, number);
                    self.out.chains[ci].rules.push(r);
                }
                "set" | "map" => {
                    let mut set = SetIr {
                        family: fam,
                        table,
                        name: s(v.get("name")),
                        span: self.span(item),
                        elems: Vec::new(),
                        map_elems: Vec::new(),
                        dynamic: false,
                    };
                    let mut flags = Vec::new();
                    if let Some(f) = v.get("flags") {
                        strings_in(f, &mut flags);
                    }
                    set.dynamic = flags.iter().any(|f| f == "dynamic" || f == "timeout");
                    for e in v.get("elem").and_then(|x| x.as_arr()).unwrap_or(&[]) {
                        if k == "map" {
                            if let Some([key, val]) =
                                e.as_arr().and_then(|a| <&[JVal; 2]>::try_from(a).ok())
                            {
                                let mut kv = Vec::new();
                                vals_of(key, &mut kv);
                                set.map_elems.push((kv, data_verdict(val)));
                                continue;
                            }
                        }
                        vals_of(e, &mut set.elems);
                    }
                    self.out.sets.push(set);
                }
                "ct helper" => {
                    let h = HelperIr {
                        family: fam,
                        table,
                        name: s(v.get("name")),
                        typ: s(v.get("type")),
                        span: self.span(item),
                    };
                    self.out.helpers.push(h);
                }
                _ => {}
            }
        }
    }
}

pub fn parse_json(file: &SourceFile, limits: &Limits) -> Ruleset {
    let mut j = J {
        file: file.id,
        out: Ruleset::default(),
    };
    match json_spans::parse(&file.text, limits.max_depth) {
        Ok(root) => j.run(&root),
        Err(e) => j.out.errors.push(json_spans::cloud::syntax_issue(file, &e)),
    }
    j.out
}
