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
