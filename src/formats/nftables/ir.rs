//! The intermediate form both nftables front-ends (text and JSON) produce: tables, chains with
//! their base-chain properties, rules as lists of expressions, named sets and ct helper objects.

use crate::model::{InputIssue, Unparsed};
use crate::source::Span;

/// Address family a match implies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fam {
    V4,
    V6,
    Any,
}

/// The left-hand side of a match.
#[derive(Clone, Debug, PartialEq)]
pub enum Left {
    Saddr(Fam),
    Daddr(Fam),
    /// Layer-4 protocol (`meta l4proto`, `ip protocol`, `ip6 nexthdr`).
    L4proto(Fam),
    /// `meta nfproto` / `meta protocol`.
    NfProto,
    /// Ports of these protocols (`tcp dport` -> [6]; `th dport` -> tcp, udp, sctp).
    Sport(Vec<u128>),
    Dport(Vec<u128>),
    /// ICMP type/code: the protocol is modelled, the type is not.
    IcmpField(u128, String),
    Iif,
    Oif,
    CtState,
    /// `tcp flags ...` evaluated on the first packet of a new connection (a SYN): `Some(true)`
    /// when it matches it, `Some(false)` when it cannot, `None` when not understood.
    TcpFlags(Option<bool>, String),
    /// Anything else: kept as text, unmodeled.
    Other(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    /// Bitwise or other operators: unmodeled.
    Other,
}

impl Op {
    pub fn from_text(s: &str) -> Option<Op> {
        Some(match s {
            "==" | "eq" | "in" => Op::Eq,
            "!=" | "ne" => Op::Ne,
            "<" | "lt" => Op::Lt,
            ">" | "gt" => Op::Gt,
            "<=" | "le" => Op::Le,
            ">=" | "ge" => Op::Ge,
            _ => return None,
        })
    }
}

/// One value of a match or set element.
#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    One(String),
    Range(String, String),
    SetRef(String),
    /// A concatenation (`10.0.0.1 . 22`) or other compound element: unmodeled.
    Compound(String),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    Accept,
    Drop,
    Reject,
    Jump(String),
    Goto(String),
    Return,
    Continue,
    Other(String),
}

impl Verdict {
    pub fn from_word(w: &str) -> Option<Verdict> {
        Some(match w {
            "accept" => Verdict::Accept,
            "drop" => Verdict::Drop,
            "reject" => Verdict::Reject,
            "return" => Verdict::Return,
            "continue" => Verdict::Continue,
            "queue" => Verdict::Other("queue".into()),
            _ => return None,
        })
    }
}

#[derive(Clone, Debug)]
pub enum Expr {
    Match {
        left: Left,
        op: Op,
        vals: Vec<Val>,
    },
    Verdict(Verdict),
    /// `ct helper set "name"` (names found in the assigned expression).
    HelperSet(Vec<String>),
    /// `KEY vmap { k : verdict, ... }` or `KEY vmap @map`.
    Vmap {
        left: Left,
        elems: Vec<(Vec<Val>, Verdict)>,
        map_ref: Option<String>,
    },
    /// A statement without effect on the verdict (counter, log, mark set, nat).
    Stmt,
    /// A condition that is not modelled. `understood: false` also records an Unparsed entry.
    Unmodeled {
        text: String,
        span: Span,
        understood: bool,
    },
}

#[derive(Clone, Debug)]
pub struct RuleIr {
    pub span: Span,
    pub exprs: Vec<Expr>,
    pub comment: Option<String>,
    /// Position in the chain (1-based), as users count rules.
    pub number: usize,
}

#[derive(Clone, Debug)]
pub struct BaseIr {
    pub typ: String,
    pub hook: String,
    pub prio: i64,
    /// `Some((accept, span))` when the policy is written.
    pub policy: Option<(bool, Span)>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct ChainIr {
    pub family: String,
    pub table: String,
    pub name: String,
    pub span: Span,
    pub base: Option<BaseIr>,
    pub rules: Vec<RuleIr>,
}

#[derive(Clone, Debug)]
pub struct SetIr {
    pub family: String,
    pub table: String,
    pub name: String,
    pub span: Span,
    pub elems: Vec<Val>,
    /// Map elements: key values and the verdict (verdict maps) or None (data maps).
    pub map_elems: Vec<(Vec<Val>, Option<Verdict>)>,
    /// Elements are added at run time (`flags dynamic`/`timeout`): contents unknown.
    pub dynamic: bool,
}

#[derive(Clone, Debug)]
pub struct HelperIr {
    pub family: String,
    pub table: String,
    pub name: String,
    pub typ: String,
    pub span: Span,
}

#[derive(Clone, Debug, Default)]
pub struct Ruleset {
    pub chains: Vec<ChainIr>,
    pub sets: Vec<SetIr>,
    pub helpers: Vec<HelperIr>,
    /// Tables of families that are not evaluated (bridge, arp, netdev), with their span.
    pub other_tables: Vec<(String, String, Span)>,
    pub unparsed: Vec<Unparsed>,
    pub errors: Vec<InputIssue>,
}

/// Numeric value of a named chain priority (`filter`, `mangle`...), for ip/ip6/inet families.
pub fn named_priority(s: &str) -> Option<i64> {
    Some(match s {
        "raw" => -300,
        "mangle" => -150,
        "dstnat" => -100,
        "filter" => 0,
        "security" => 50,
        "srcnat" => 100,
        _ => s.parse::<i64>().ok()?,
    })
}

/// Split `10000-20000` into a range when both ends are numbers or addresses.
pub fn val_from_word(w: &str) -> Val {
    if let Some(name) = w.strip_prefix('@') {
        return Val::SetRef(name.to_string());
    }
    if let Some((a, b)) = w.split_once('-') {
        let is_point = |s: &str| s.parse::<u128>().is_ok() || s.parse::<std::net::IpAddr>().is_ok();
        if is_point(a) && is_point(b) {
            return Val::Range(a.to_string(), b.to_string());
        }
    }
    Val::One(w.to_string())
}

const TCP_FLAGS: &[(&str, u32)] = &[
    ("fin", 1),
    ("syn", 2),
    ("rst", 4),
    ("psh", 8),
    ("ack", 16),
    ("urg", 32),
    ("ecn", 64),
    ("cwr", 128),
];

/// A set of TCP flags written as `syn`, `fin|syn`, `(fin | syn)`, `syn,ack`, `0x02`.
pub fn tcp_flag_bits(s: &str) -> Option<u32> {
    let t: String = s
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '(' && *c != ')')
        .collect();
    if t.is_empty() {
        return None;
    }
    let mut bits = 0;
    for part in t.split(['|', ',']) {
        if let Some(h) = part.strip_prefix("0x") {
            bits |= u32::from_str_radix(h, 16).ok()?;
        } else if let Ok(n) = part.parse::<u32>() {
            bits |= n;
        } else {
            bits |= TCP_FLAGS.iter().find(|(n, _)| *n == part)?.1;
        }
    }
    Some(bits)
}

/// Whether a `tcp flags` match (the text after `tcp flags`) matches a bare SYN.
pub fn tcp_flags_match_syn(expr: &str) -> Option<bool> {
    const SYN: u32 = 2;
    let e: String = expr.chars().filter(|c| !c.is_whitespace()).collect();
    let cmp = |masked: u32, op: &str, v: u32| -> Option<bool> {
        Some(match op {
            "==" => masked == v,
            "!=" => masked != v,
            "<" => masked < v,
            ">" => masked > v,
            "<=" => masked <= v,
            ">=" => masked >= v,
            _ => return None,
        })
    };
    let split_op = |s: &str| -> Option<(String, String, String)> {
        for op in ["==", "!=", "<=", ">=", "<", ">"] {
            if let Some(i) = s.find(op) {
                return Some((
                    s[..i].to_string(),
                    op.to_string(),
                    s[i + op.len()..].to_string(),
                ));
            }
        }
        None
    };
    if let Some((v, m)) = e.split_once('/') {
        let (v, m) = (tcp_flag_bits(v)?, tcp_flag_bits(m)?);
        return Some(SYN & m == v);
    }
    if let Some(rest) = e.strip_prefix('&') {
        let (m, op, v) = split_op(rest)?;
        return cmp(SYN & tcp_flag_bits(&m)?, &op, tcp_flag_bits(&v)?);
    }
    if let Some((l, op, v)) = split_op(&e) {
        if l.is_empty() {
            return cmp(SYN, &op, tcp_flag_bits(&v)?);
        }
        return None;
    }
    // `tcp flags syn` / `tcp flags { syn, ack }`: any of the flags is set.
    Some(SYN & tcp_flag_bits(e.trim_matches(|c| c == '{' || c == '}'))? != 0)
}
