//! Juniper Junos (SRX security policies), in `set` form, curly-brace form, or both mixed.
//!
//! [`tree`] turns the file into spanned `set` statements; this module reads zones, address
//! books, applications and security policies from them and builds one Forward chain:
//! zone-pair policies (constrained by source and destination zone, in file order per pair),
//! then global policies, then the `default-policy` (deny-all when absent). Stateless firewall
//! filters applied to interfaces become extra stages ([`filters`]); traffic to the device
//! itself is an Input entry built from `host-inbound-traffic` ([`host`]).

pub mod apps;
pub mod filters;
pub mod host;
pub mod tree;

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{
    Action, Chain, ChainDefault, Config, Entry, FeatureState, Format, Hook, InputIssue, Inspection,
    InspectionKind, Rule, Unparsed,
};
use crate::sets::{all_v4, all_v6, parse_net, proto, AddrSet, NameSet, PortSet, ProtoSet, Space};
use crate::source::{FileId, SourceFile, Span};

use apps::AppTerm;
use tree::{Stmt, Tree};

use super::Limits;

// ---------------------------------------------------------------------------------------------
// Sniffing

const SECURITY_SUB: &[&str] = &[
    "policies",
    "zones",
    "address-book",
    "alg",
    "nat",
    "ike",
    "ipsec",
    "screen",
    "idp",
    "flow",
    "log",
    "pki",
    "utm",
    "application-tracking",
    "ssh-known-hosts",
    "forwarding-options",
    "user-identification",
    "dynamic-address",
];

/// Set-form first words that mark another vendor (PAN-OS, Check Point Gaia).
const FOREIGN_SET: &[&str] = &[
    "deviceconfig",
    "rulebase",
    "zone",
    "service",
    "service-group",
    "profiles",
    "profile-group",
    "shared",
    "mgt-config",
    "network",
    "address",
    "address-group",
    "vsys",
    "tag",
    "application",
    "application-group",
    "interface",
    "hostname",
    "password-controls",
    "installer",
    "clienv",
    "static-route",
];

fn is_junos_version(v: &str) -> bool {
    let v = v.trim_end_matches(';');
    let mut parts = v.splitn(2, '.');
    let major = parts.next().unwrap_or("");
    !major.is_empty()
        && major.len() <= 2
        && major.bytes().all(|b| b.is_ascii_digit())
        && parts
            .next()
            .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()))
}

/// Confidence that `text` is a Junos configuration.
pub fn sniff(_name: &str, text: &str) -> u8 {
    let mut strong = 0usize;
    let mut weak = 0usize;
    let mut foreign = 0usize;
    // Only asked of a file with a top-level `firewall {` line, and then by looking at the lines
    // that hold "family " rather than at every line: every export of every format is sniffed.
    let has_family_block = std::cell::OnceCell::new();
    let family_block = || {
        *has_family_block.get_or_init(|| {
            text.match_indices("family ").any(|(at, _)| {
                let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
                let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
                matches!(
                    text[start..end].trim(),
                    "family inet {"
                        | "family inet6 {"
                        | "family ethernet-switching {"
                        | "family any {"
                )
            })
        })
    };
    for line in crate::formats::util::text_lines(text).take(4000) {
        let line = line.trim_end();
        if line.starts_with("#RANCID-CONTENT-TYPE: juniper") {
            strong += 5;
            continue;
        }
        if line.starts_with([' ', '\t']) {
            continue;
        }
        // The first four words, without allocating: every line of every export is looked at.
        let mut words = [""; 4];
        let mut n = 0;
        for (slot, word) in words.iter_mut().zip(line.split_whitespace()) {
            *slot = word;
            n += 1;
        }
        let w = &words[..n];
        if w.is_empty() {
            continue;
        }
        let (cmd, rest) = match w[0] {
            "set" | "deactivate" | "delete" | "activate" => (true, &w[1..]),
            _ => (false, w),
        };
        let first = rest.first().copied().unwrap_or("");
        let second = rest.get(1).copied().unwrap_or("");
        let mut first_clean = first;
        for a in ["inactive:", "replace:", "protect:"] {
            if first == a {
                first_clean = second;
            }
        }
        if cmd {
            if FOREIGN_SET.contains(&first) {
                foreign += 1;
                continue;
            }
            match first {
                "security" if SECURITY_SUB.contains(&second) => strong += 1,
                "applications" if matches!(second, "application" | "application-set") => {
                    strong += 1
                }
                "firewall" if matches!(second, "family" | "filter" | "policer") => strong += 1,
                "interfaces" if rest.get(2) == Some(&"unit") => strong += 1,
                "version" if is_junos_version(second) => strong += 1,
                "system" if matches!(second, "host-name" | "login" | "root-authentication") => {
                    weak += 1
                }
                "policy-options" | "routing-options" | "protocols" | "chassis"
                | "routing-instances" | "groups" | "apply-groups" => weak += 1,
                _ => {}
            }
        } else {
            let opens = line.ends_with('{');
            match first_clean {
                "security" | "applications" if opens && w.len() <= 3 => strong += 1,
                // `firewall {` is also VyOS: require a Junos family block.
                "firewall" if opens && w.len() <= 3 && family_block() => strong += 1,
                "version" if is_junos_version(rest.get(1).copied().unwrap_or("")) => strong += 1,
                "system" | "interfaces" | "policy-options" | "routing-options" | "protocols"
                | "chassis" | "snmp"
                    if opens && rest.len() == 2 =>
                {
                    weak += 1
                }
                _ => {}
            }
        }
    }
    if strong == 0 || foreign >= strong + weak {
        return 0;
    }
    if strong + weak >= 3 {
        90
    } else {
        70
    }
}

// ---------------------------------------------------------------------------------------------
// Objects

#[derive(Default)]
struct Zone {
    interfaces: BTreeSet<String>,
}

#[derive(Clone, Debug)]
enum AddrDef {
    Set(AddrSet),
    Unmodeled(String),
}

#[derive(Default)]
struct Book {
    addrs: BTreeMap<String, Vec<AddrDef>>,
    /// address-set name -> members (`address X` or `address-set Y`)
    sets: BTreeMap<String, Vec<(bool, String)>>,
    /// address-set name -> its definition (the block in curly form, else its first line)
    set_spans: BTreeMap<String, Span>,
}

#[derive(Default, Clone)]
struct AppAttrs {
    proto: Option<(ProtoSet, String)>,
    sport: Option<PortSet>,
    dport: Option<PortSet>,
    notes: Vec<String>,
}

#[derive(Default)]
struct AppDef {
    direct: AppAttrs,
    terms: Vec<(String, AppAttrs)>,
}

/// Everything read from the statements.
struct Objects {
    zones: BTreeMap<String, Zone>,
    books: BTreeMap<String, Book>,
    /// zone -> named address books attached to it
    attached: BTreeMap<String, Vec<String>>,
    apps: BTreeMap<String, AppDef>,
    app_sets: BTreeMap<String, Vec<(bool, String)>>,
    /// application-set name -> its definition (as for address-sets)
    app_set_spans: BTreeMap<String, Span>,
}

/// (zone pair or None for global, policy name) -> index in the policy list. Only looked up,
/// never iterated: the order of policies is the order of `policies`, so hashing is safe.
type PolicyIndex<'s> = std::collections::HashMap<
    (Option<(&'s str, &'s str)>, &'s str),
    usize,
    foldhash::fast::FixedState,
>;

struct Policy {
    name: String,
    /// (from-zone, to-zone) for zone-pair policies, None for global ones.
    pair: Option<(String, String)>,
    stmts: Vec<usize>,
}

/// Depth of the policy node in a statement path.
fn policy_depth(pair: bool) -> usize {
    if pair {
        8
    } else {
        5
    }
}

/// Render at most `n` path words of a statement for a message, never a quoted value or
/// anything that looks like a secret.
fn describe(s: &Stmt, n: usize) -> String {
    s.path
        .iter()
        .take(n)
        .map(|t| {
            if t.quoted || t.text.starts_with('$') || t.text.len() > 64 {
                "…".to_string()
            } else {
                t.text.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Reference expansions allowed per policy.
const MAX_EXPANSIONS: usize = 20_000;

/// Only looked up, never walked: hashed (an ordered map compared whole paths, word by word,
/// some fourteen times per block).
type BlockIndex = std::collections::HashMap<Vec<String>, Vec<Span>, foldhash::fast::FixedState>;

struct Parser<'a> {
    file: &'a SourceFile,
    fid: FileId,
    limits: &'a Limits,
    tree: Tree<'a>,
    /// Block path -> spans (a path may be opened several times).
    block_index: BlockIndex,
    /// `security idp active-policy` (names the IPS policy of `application-services idp`).
    idp_active: Option<String>,
    /// Reference expansions done for the current policy.
    steps: std::cell::Cell<usize>,
    /// Sets met past the reference-depth limit: (kind, name) -> definition (input errors).
    too_deep: std::cell::RefCell<BTreeMap<(&'static str, String), Span>>,
    cfg: Config,
    obj: Objects,
}

/// Parse a Junos configuration.
pub fn parse(file: &SourceFile, limits: &Limits) -> Config {
    let fid = file.id;
    let file_span = file.line_span(1);
    let tree = tree::parse(&file.text, fid, limits.max_depth);
    let mut cfg = Config::new(Format::Junos, file_span);
    cfg.errors.extend(tree.errors.iter().cloned());
    cfg.unparsed.extend(tree.unparsed.iter().cloned());
    let mut block_index = BlockIndex::default();
    for b in &tree.blocks {
        block_index.entry(b.path.clone()).or_default().push(b.span);
    }
    let idp_active = tree
        .stmts
        .iter()
        .rev()
        .find(|s| s.starts_with(&["security", "idp", "active-policy"]) && s.inactive_at.is_none())
        .map(|s| s.word(3).to_string());
    let mut p = Parser {
        file,
        fid,
        limits,
        tree,
        block_index,
        idp_active,
        steps: std::cell::Cell::new(0),
        too_deep: std::cell::RefCell::new(BTreeMap::new()),
        cfg,
        obj: Objects {
            zones: BTreeMap::new(),
            books: BTreeMap::new(),
            attached: BTreeMap::new(),
            apps: BTreeMap::new(),
            app_sets: BTreeMap::new(),
            app_set_spans: BTreeMap::new(),
        },
    };
    let policies = p.read_statements();
    p.build_policies(policies);
    p.sip_alg();
    let stages = filters::build(&mut p);
    host::build(&mut p, &stages);
    let limit = p.limits.max_reference_depth;
    for ((kind, name), span) in p.too_deep.take() {
        p.cfg.errors.push(InputIssue {
            span,
            message: format!(
                "{kind} {name} is nested deeper than the reference limit of {limit} levels (--max-reference-depth, limits: max-reference-depth): policies using it were evaluated as matching anything"
            ),
        });
    }
    p.cfg
}

impl Parser<'_> {
    /// Where a set is defined: the block `path[..n]` in curly form, else the statement.
    fn def_span(&self, s: &Stmt, n: usize) -> Span {
        let key: Vec<String> = s.path.iter().take(n).map(|t| t.text.to_string()).collect();
        self.block_index
            .get(&key)
            .and_then(|v| v.first().copied())
            .unwrap_or(s.span)
    }

    fn unparsed(&mut self, span: Span, reason: impl Into<String>) {
        self.cfg.unparsed.push(Unparsed {
            span,
            reason: reason.into(),
        });
    }

    /// First pass: objects, and the list of policies with their statements.
    fn read_statements(&mut self) -> Vec<Policy> {
        let mut policies: Vec<Policy> = Vec::new();
        let mut index = PolicyIndex::default();
        let mut unknown_top: BTreeSet<String> = BTreeSet::new();
        let stmts = std::mem::take(&mut self.tree.stmts);
        for (i, s) in stmts.iter().enumerate() {
            if s.path.iter().any(|t| t.text == "apply-groups") && s.inactive_at.is_none() {
                let g = s
                    .path
                    .iter()
                    .position(|t| t.text == "apply-groups")
                    .and_then(|p| s.path.get(p + 1))
                    .map(|t| t.text.to_string())
                    .unwrap_or_default();
                // `junos-defaults` is always applied (it defines the junos-* objects, which
                // are built in); `${node}` selects node0/node1 of a cluster.
                let names: Vec<String> = match g.as_str() {
                    "junos-defaults" => Vec::new(),
                    "${node}" => vec!["node0".into(), "node1".into()],
                    _ => vec![g.clone()],
                };
                let relevant = names.iter().any(|n| {
                    stmts.iter().any(|t| {
                        t.word(0) == "groups"
                            && t.word(1) == n
                            && (matches!(t.word(2), "security" | "applications" | "firewall")
                                || t.path.iter().any(|w| w.text == "filter")
                                || t.word(2).contains('<'))
                    })
                });
                let undefined = !names.is_empty()
                    && !names.iter().any(|n| {
                        stmts
                            .iter()
                            .any(|t| t.word(0) == "groups" && t.word(1) == n)
                    });
                if relevant || undefined {
                    self.cfg.errors.push(InputIssue {
                        span: s.span,
                        message: format!(
                            "apply-groups {g}: configuration inherited from groups is not \
                             modeled, so policies, objects or settings may be missing from the \
                             evaluation"
                        ),
                    });
                } else if !names.is_empty() {
                    self.unparsed(
                        s.span,
                        format!(
                            "apply-groups {g}: not modeled (the group holds no security, \
                             application or filter configuration)"
                        ),
                    );
                }
                continue;
            }
            match s.word(0) {
                "system" => {
                    if s.word(1) == "host-name" && s.len() == 3 && s.inactive_at.is_none() {
                        self.cfg.name = Some(s.word(2).to_string());
                    }
                }
                "security" => self.read_security(i, s, &mut policies, &mut index),
                "applications" => self.read_application(s),
                "groups" => {
                    if unknown_top.insert(format!("groups {}", s.word(1))) {
                        self.unparsed(
                            s.span,
                            format!(
                                "configuration group `{}` is not modeled (only used through \
                                 apply-groups)",
                                s.word(1)
                            ),
                        );
                    }
                }
                // Read by the filters module; not security relevant otherwise.
                "interfaces" | "firewall" => {}
                "version"
                | "chassis"
                | "snmp"
                | "routing-options"
                | "protocols"
                | "policy-options"
                | "routing-instances"
                | "services"
                | "event-options"
                | "forwarding-options"
                | "class-of-service"
                | "access"
                | "poe"
                | "vlans"
                | "ethernet-switching-options"
                | "switch-options"
                | "bridge-domains"
                | "virtual-chassis"
                | "multi-chassis"
                | "schedulers"
                | "access-profile"
                | "utility" => {}
                "logical-systems" | "tenants" if s.word(2) == "security" => {
                    if unknown_top.insert(format!("{} {}", s.word(0), s.word(1))) {
                        let w = describe(s, 2);
                        self.cfg.errors.push(InputIssue {
                            span: s.span,
                            message: format!(
                                "`{w}` has its own security configuration, which is not \
                                 modeled: its zones and policies are missing from the evaluation"
                            ),
                        });
                    }
                }
                other => {
                    if unknown_top.insert(other.to_string()) {
                        let w = describe(s, 1);
                        self.unparsed(s.span, format!("the `{w}` hierarchy is not modeled"));
                    }
                }
            }
        }
        self.tree.stmts = stmts;
        policies
    }

    fn read_security<'s>(
        &mut self,
        i: usize,
        s: &'s Stmt,
        policies: &mut Vec<Policy>,
        index: &mut PolicyIndex<'s>,
    ) {
        let active = s.inactive_at.is_none();
        match s.word(1) {
            "policies" => match s.word(2) {
                "from-zone" if s.word(4) == "to-zone" && s.word(6) == "policy" && s.len() > 7 => {
                    let key = (Some((s.word(3), s.word(5))), s.word(7));
                    let n = *index.entry(key).or_insert_with(|| {
                        policies.push(Policy {
                            name: s.word(7).to_string(),
                            pair: Some((s.word(3).to_string(), s.word(5).to_string())),
                            stmts: Vec::new(),
                        });
                        policies.len() - 1
                    });
                    policies[n].stmts.push(i);
                }
                "global" if s.word(3) == "policy" && s.len() > 4 => {
                    let key = (None, s.word(4));
                    let n = *index.entry(key).or_insert_with(|| {
                        policies.push(Policy {
                            name: s.word(4).to_string(),
                            pair: None,
                            stmts: Vec::new(),
                        });
                        policies.len() - 1
                    });
                    policies[n].stmts.push(i);
                }
                // Read when building the chain.
                "default-policy" => {}
                "policy-rematch" | "policy-stats" | "pre-id-default-policy" | "traceoptions" => {}
                "from-zone" if s.len() <= 6 => {}
                _ => {
                    let w = describe(s, 5);
                    self.unparsed(
                        s.span,
                        format!("security policy statement not understood: {w}"),
                    );
                }
            },
            "zones" => {
                if s.word(2) != "security-zone" || s.len() < 4 || !active {
                    return;
                }
                let zone = s.word(3).to_string();
                let z = self.obj.zones.entry(zone.clone()).or_default();
                match s.word(4) {
                    "interfaces" if s.len() > 5 => {
                        z.interfaces.insert(s.word(5).to_string());
                    }
                    "address-book" => {
                        let book = format!("zone {zone}");
                        self.read_book_entry(&book, s, 5);
                    }
                    _ => {}
                }
            }
            "address-book" if s.len() > 3 && active => {
                let book = s.word(2).to_string();
                if s.word(3) == "attach" {
                    if s.word(4) == "zone" && s.len() > 5 {
                        self.obj
                            .attached
                            .entry(s.word(5).to_string())
                            .or_default()
                            .push(book);
                    }
                    return;
                }
                self.read_book_entry(&book, s, 3);
            }
            "nat"
                if active
                    && s.word(3) == "rule-set"
                    && s.word(5) == "rule"
                    && s.word(7) == "then" =>
            {
                self.unparsed(
                    s.span,
                    format!(
                        "{} NAT rule {} is not modeled: policies see translated addresses",
                        s.word(2),
                        s.word(6)
                    ),
                );
            }
            _ => {}
        }
    }

    /// `address NAME VALUE...` / `address-set NAME address|address-set MEMBER` at `at`.
    fn read_book_entry(&mut self, book: &str, s: &Stmt, at: usize) {
        let kind = s.word(at);
        let name = s.word(at + 1).to_string();
        let value = s.word(at + 2);
        let def_span = self.def_span(s, at + 2);
        let b = self.obj.books.entry(book.to_string()).or_default();
        match kind {
            "address" if s.len() > at + 2 => {
                let def = match value {
                    "description" => return,
                    "range-address" => {
                        let lo = s.word(at + 3);
                        let hi = s.word(at + 5);
                        match (lo.parse(), hi.parse()) {
                            (Ok(l), Ok(h)) if s.word(at + 4) == "to" => {
                                AddrDef::Set(crate::sets::addr_range(l, h))
                            }
                            _ => {
                                AddrDef::Unmodeled(format!("address {name}: range not understood"))
                            }
                        }
                    }
                    // Matched by name: the pseudo address of `sets::host_addr`.
                    "dns-name" if crate::sets::looks_like_fqdn(s.word(at + 3)) => {
                        AddrDef::Set(self.cfg.add_fqdn(s.word(at + 3)))
                    }
                    "dns-name" => AddrDef::Unmodeled(format!(
                        "address {name} is a DNS name (resolved by the device at run time)"
                    )),
                    "wildcard-address" => AddrDef::Unmodeled(format!(
                        "address {name} is a wildcard address (non-contiguous mask)"
                    )),
                    v => match parse_net(v) {
                        Some(a) => AddrDef::Set(a),
                        None => AddrDef::Unmodeled(format!("address {name}: value not understood")),
                    },
                };
                b.addrs.entry(name).or_default().push(def);
            }
            "address-set" if s.len() > at + 3 => match value {
                "address" | "address-set" => {
                    b.set_spans.entry(name.clone()).or_insert(def_span);
                    b.sets
                        .entry(name)
                        .or_default()
                        .push((value == "address-set", s.word(at + 3).to_string()));
                }
                _ => {}
            },
            "address-set" | "address" => {}
            _ => {
                let w = describe(s, at + 1);
                self.unparsed(
                    s.span,
                    format!("address book statement not understood: {w}"),
                );
            }
        }
    }

    fn read_application(&mut self, s: &Stmt) {
        if s.inactive_at.is_some() {
            return;
        }
        match s.word(1) {
            "application" if s.len() > 3 => {
                let name = s.word(2).to_string();
                let (term, at) = if s.word(3) == "term" && s.len() > 4 {
                    (Some(s.word(4).to_string()), 5)
                } else {
                    (None, 3)
                };
                let mut notes_unparsed = Vec::new();
                let def = self.obj.apps.entry(name.clone()).or_default();
                let attrs = match term {
                    None => &mut def.direct,
                    Some(t) => {
                        let pos = match def.terms.iter().position(|(n, _)| *n == t) {
                            Some(p) => p,
                            None => {
                                def.terms.push((t, AppAttrs::default()));
                                def.terms.len() - 1
                            }
                        };
                        &mut def.terms[pos].1
                    }
                };
                let mut k = at;
                while k < s.len() {
                    let key = s.word(k);
                    let val = s.word(k + 1);
                    match key {
                        "protocol" => match proto::from_name(val) {
                            Some(p) => attrs.proto = Some((ProtoSet::single(p), val.to_string())),
                            None => {
                                attrs.notes.push(format!(
                                    "application {name}: protocol `{val}` not understood"
                                ));
                            }
                        },
                        "destination-port" | "source-port" => match apps::parse_ports(val) {
                            Some(ps) => {
                                let slot = if key == "destination-port" {
                                    &mut attrs.dport
                                } else {
                                    &mut attrs.sport
                                };
                                *slot = Some(slot.take().map_or(ps.clone(), |o| o.union(&ps)));
                            }
                            None => attrs
                                .notes
                                .push(format!("application {name}: {key} `{val}` not understood")),
                        },
                        "icmp-type" | "icmp-code" | "icmp6-type" | "icmp6-code" => attrs
                            .notes
                            .push(format!("application {name} only matches {key} {val}")),
                        "rpc-program-number" | "uuid" | "ether-type" => attrs
                            .notes
                            .push(format!("application {name} matches on {key}")),
                        "inactivity-timeout" | "application-protocol" | "alg" | "description" => {}
                        _ => {
                            notes_unparsed.push(key.to_string());
                            k += 1;
                            continue;
                        }
                    }
                    k += 2;
                }
                for key in notes_unparsed {
                    let _ = key;
                    let w = describe(s, at + 1);
                    self.unparsed(s.span, format!("application attribute not understood: {w}"));
                }
            }
            "application-set" if s.len() > 4 => match s.word(3) {
                "application" | "application-set" => {
                    let span = self.def_span(s, 3);
                    self.obj
                        .app_set_spans
                        .entry(s.word(2).to_string())
                        .or_insert(span);
                    self.obj
                        .app_sets
                        .entry(s.word(2).to_string())
                        .or_default()
                        .push((s.word(3) == "application-set", s.word(4).to_string()));
                }
                "description" => {}
                _ => {
                    let w = describe(s, 4);
                    self.unparsed(
                        s.span,
                        format!("application-set statement not understood: {w}"),
                    );
                }
            },
            "application" | "application-set" => {}
            _ => {
                let w = describe(s, 3);
                self.unparsed(
                    s.span,
                    format!("applications statement not understood: {w}"),
                );
            }
        }
    }

    // -----------------------------------------------------------------------------------------
    // Resolution

    /// The address books visible from a zone (None: global policies).
    fn books_for(&self, zone: Option<&str>) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(z) = zone {
            out.push(format!("zone {z}"));
            if let Some(b) = self.obj.attached.get(z) {
                out.extend(b.iter().cloned());
            }
        }
        out.push("global".into());
        out
    }

    /// Count one reference expansion of the current policy; true (with a note) once too many
    /// (shared nested sets can otherwise expand exponentially).
    fn budget_exhausted(&self, notes: &mut Vec<String>) -> bool {
        let n = self.steps.get() + 1;
        self.steps.set(n);
        if n > MAX_EXPANSIONS {
            let msg = "object references expand to too many entries (treated as any)".to_string();
            if !notes.contains(&msg) {
                notes.push(msg);
            }
            return true;
        }
        false
    }

    /// Resolve an address or address-set name in the given books.
    fn resolve_addr(
        &self,
        name: &str,
        books: &[String],
        depth: usize,
        visiting: &mut Vec<String>,
        notes: &mut Vec<String>,
    ) -> AddrSet {
        match name {
            "any" => return AddrSet::full(),
            "any-ipv4" => return all_v4(),
            "any-ipv6" => return all_v6(),
            _ => {}
        }
        if self.budget_exhausted(notes) {
            return AddrSet::full();
        }
        if visiting.iter().any(|v| v == name) {
            notes.push(format!(
                "address-set {name} contains itself (reference cycle)"
            ));
            return AddrSet::empty();
        }
        for b in books {
            let Some(book) = self.obj.books.get(b) else {
                continue;
            };
            if let Some(defs) = book.addrs.get(name) {
                let mut out = AddrSet::empty();
                for d in defs {
                    match d {
                        AddrDef::Set(a) => out = out.union(a),
                        AddrDef::Unmodeled(why) => {
                            notes.push(why.clone());
                            out = AddrSet::full();
                        }
                    }
                }
                return out;
            }
            if let Some(members) = book.sets.get(name) {
                // Levels count set references from the policy, as in every format: a policy
                // using g3, which holds g2, which holds g1, uses 3 levels (g1 is met at depth
                // 2); addresses are not levels.
                if depth >= self.limits.max_reference_depth {
                    notes.push(format!(
                        "address-set {name} is nested deeper than {} levels",
                        self.limits.max_reference_depth
                    ));
                    if let Some(sp) = book.set_spans.get(name) {
                        self.too_deep
                            .borrow_mut()
                            .entry(("address-set", name.to_string()))
                            .or_insert(*sp);
                    }
                    return AddrSet::full();
                }
                visiting.push(name.to_string());
                let mut out = AddrSet::empty();
                for (_, m) in members {
                    out = out.union(&self.resolve_addr(m, books, depth + 1, visiting, notes));
                }
                visiting.pop();
                return out;
            }
        }
        if let Some(a) = parse_net(name) {
            // Some generators write prefixes directly.
            return a;
        }
        notes.push(format!("address {name} is not defined"));
        AddrSet::full()
    }

    /// Resolve an application or application-set into alternatives.
    fn resolve_app(
        &self,
        name: &str,
        depth: usize,
        visiting: &mut Vec<String>,
        notes: &mut Vec<String>,
    ) -> Vec<AppTerm> {
        if name == "any" || name.starts_with("junos-") {
            if let Some(p) = apps::predefined(name) {
                if let Some(n) = p.note {
                    notes.push(format!("{name} {n}"));
                }
                return p.terms;
            }
        }
        if self.budget_exhausted(notes) {
            return vec![AppTerm::any()];
        }
        if visiting.iter().any(|v| v == name) {
            notes.push(format!(
                "application-set {name} contains itself (reference cycle)"
            ));
            return Vec::new();
        }
        if let Some(def) = self.obj.apps.get(name) {
            let mut out = Vec::new();
            let mut parts: Vec<&AppAttrs> = def.terms.iter().map(|(_, a)| a).collect();
            if parts.is_empty() {
                parts.push(&def.direct);
            }
            for a in parts {
                notes.extend(a.notes.iter().cloned());
                let mut t = AppTerm::any();
                let port_protos = ProtoSet::from_ranges([
                    (proto::TCP, proto::TCP),
                    (proto::UDP, proto::UDP),
                    (proto::SCTP, proto::SCTP),
                ]);
                match &a.proto {
                    Some((p, _)) => t.proto = p.clone(),
                    None if a.sport.is_some() || a.dport.is_some() => {
                        notes.push(format!("application {name} has ports but no protocol"));
                        t.proto = port_protos.clone();
                    }
                    None => {}
                }
                if t.proto.is_subset(&port_protos) {
                    if let Some(p) = &a.dport {
                        t.dport = p.clone();
                    }
                    if let Some(p) = &a.sport {
                        t.sport = p.clone();
                    }
                }
                out.push(t);
            }
            return out;
        }
        if let Some(members) = self.obj.app_sets.get(name) {
            // Levels count as for address-sets (`resolve_addr`).
            if depth >= self.limits.max_reference_depth {
                notes.push(format!(
                    "application-set {name} is nested deeper than {} levels",
                    self.limits.max_reference_depth
                ));
                if let Some(sp) = self.obj.app_set_spans.get(name) {
                    self.too_deep
                        .borrow_mut()
                        .entry(("application-set", name.to_string()))
                        .or_insert(*sp);
                }
                return vec![AppTerm::any()];
            }
            visiting.push(name.to_string());
            let mut out = Vec::new();
            for (_, m) in members {
                out.extend(self.resolve_app(m, depth + 1, visiting, notes));
            }
            visiting.pop();
            return out;
        }
        notes.push(format!("application {name} is not defined"));
        vec![AppTerm::any()]
    }

    fn zone_set(&self, zone: &str) -> NameSet {
        if zone == "any" {
            return NameSet::Any;
        }
        let mut names: BTreeSet<String> = BTreeSet::new();
        names.insert(zone.to_string());
        if let Some(z) = self.obj.zones.get(zone) {
            names.extend(z.interfaces.iter().cloned());
        }
        NameSet::Only(names.into())
    }

    // -----------------------------------------------------------------------------------------
    // Policies

    /// Spans of the curly-brace blocks with exactly this path.
    fn block_spans(&self, key: &[String]) -> &[Span] {
        self.block_index.get(key).map(Vec::as_slice).unwrap_or(&[])
    }

    fn policy_span(&self, p: &Policy) -> Span {
        let mut key: Vec<String> = vec!["security".into(), "policies".into()];
        match &p.pair {
            Some((f, t)) => {
                key.extend(["from-zone".into(), f.clone(), "to-zone".into(), t.clone()])
            }
            None => key.push("global".into()),
        }
        key.extend(["policy".into(), p.name.clone()]);
        let blocks = self.block_spans(&key);
        let mut spans = blocks.iter().copied();
        let first = spans
            .next()
            .or_else(|| p.stmts.first().map(|&i| self.tree.stmts[i].span));
        let Some(mut span) = first else {
            return self.cfg.file_span;
        };
        for s in spans {
            span = span.join(s);
        }
        if blocks.is_empty() {
            for &i in &p.stmts {
                span = span.join(self.tree.stmts[i].span);
            }
        }
        span
    }

    fn build_rule(&mut self, p: &Policy) -> Rule {
        let depth = policy_depth(p.pair.is_some());
        let fid = self.fid;
        let name = match &p.pair {
            Some((f, t)) => format!("policy {} (from-zone {f} to-zone {t})", p.name),
            None => format!("global policy {}", p.name),
        };
        let span = self.policy_span(p);
        let mut rule = Rule::new(name, span, Action::Unknown("no `then` action".into()));
        let mut src_names: Vec<String> = Vec::new();
        let mut dst_names: Vec<String> = Vec::new();
        let mut app_names: Vec<String> = Vec::new();
        let mut from_zones: Vec<String> = Vec::new();
        let mut to_zones: Vec<String> = Vec::new();
        let (mut src_excl, mut dst_excl) = (false, false);
        let mut actions: Vec<(Action, Span)> = Vec::new();
        let idp_active = self.idp_active.clone();
        self.steps.set(0);
        // Statements not understood, reported once the loop no longer borrows the tree.
        let mut not_understood: Vec<(Span, String)> = Vec::new();
        for s in p.stmts.iter().map(|&i| &self.tree.stmts[i]) {
            if s.inactive_within(depth) {
                rule.enabled = false;
            } else if s.inactive_at.is_some() {
                // An inactive element inside the policy: not part of the configuration.
                continue;
            }
            let w = |k: usize| s.word(depth + k);
            match (w(0), w(1)) {
                ("match", "source-address") if s.len() > depth + 2 => src_names.push(w(2).into()),
                ("match", "destination-address") if s.len() > depth + 2 => {
                    dst_names.push(w(2).into())
                }
                ("match", "application") if s.len() > depth + 2 => app_names.push(w(2).into()),
                ("match", "source-address-excluded") => src_excl = true,
                ("match", "destination-address-excluded") => dst_excl = true,
                ("match", "from-zone") if p.pair.is_none() && s.len() > depth + 2 => {
                    from_zones.push(w(2).into())
                }
                ("match", "to-zone") if p.pair.is_none() && s.len() > depth + 2 => {
                    to_zones.push(w(2).into())
                }
                ("match", other) if !other.is_empty() => {
                    rule.unmodeled.push(format!("match {other} is not modeled"));
                }
                ("then", "permit") => {
                    actions.push((Action::Allow, s.span));
                    match (w(2), w(3)) {
                        ("application-services", "idp-policy") => {
                            rule.inspection.push(Inspection {
                                kind: InspectionKind::Ips,
                                name: w(4).to_string(),
                                span: s.span,
                            });
                        }
                        ("application-services", "idp") => {
                            rule.inspection.push(Inspection {
                                kind: InspectionKind::Ips,
                                name: idp_active.clone().unwrap_or_else(|| "idp".into()),
                                span: s.span,
                            });
                        }
                        ("firewall-authentication", _) => rule.unmodeled.push(
                            "then permit firewall-authentication (users must authenticate)".into(),
                        ),
                        ("destination-address", v) => rule.unmodeled.push(format!(
                            "then permit destination-address {v} (NAT dependent)"
                        )),
                        _ => {}
                    }
                }
                ("then", "deny") | ("then", "reject") => actions.push((Action::Deny, s.span)),
                ("then", _) => {}
                ("scheduler-name", v) => rule.unmodeled.push(format!("time schedule {v}")),
                ("description", _) => {}
                ("", _) => {}
                (other, _) => {
                    let d = describe(s, depth + 2);
                    let _ = other;
                    not_understood.push((s.span, format!("policy statement not understood: {d}")));
                }
            }
        }
        for (span, reason) in not_understood {
            self.unparsed(span, reason);
        }
        let mut kinds: Vec<&Action> = actions.iter().map(|(a, _)| a).collect();
        kinds.dedup();
        rule.action = match kinds.as_slice() {
            [] => {
                self.unparsed(
                    span,
                    format!("{} has no `then permit|deny|reject`", rule.name),
                );
                Action::Unknown("no `then` action".into())
            }
            [a] => (*a).clone(),
            _ => Action::Unknown("both permit and deny/reject are set".into()),
        };
        let _ = fid;
        // Zones.
        let (src_zone, dst_zone, sbook, dbook) = match &p.pair {
            Some((f, t)) => (
                self.zone_set(f),
                self.zone_set(t),
                Some(f.clone()),
                Some(t.clone()),
            ),
            None => {
                let fold = |zs: &[String]| -> NameSet {
                    if zs.is_empty() {
                        return NameSet::Any;
                    }
                    zs.iter()
                        .fold(NameSet::only(Vec::<String>::new()), |acc, z| {
                            acc.union(&self.zone_set(z))
                        })
                };
                (fold(&from_zones), fold(&to_zones), None, None)
            }
        };
        let mut notes = Vec::new();
        for (what, names) in [
            ("source-address", &src_names),
            ("destination-address", &dst_names),
            ("application", &app_names),
        ] {
            if names.is_empty() {
                notes.push(format!(
                    "no match {what} (Junos requires one; treated as any)"
                ));
            }
        }
        let sb = self.books_for(sbook.as_deref());
        let db = self.books_for(dbook.as_deref());
        let mut src = AddrSet::empty();
        for n in &src_names {
            src = src.union(&self.resolve_addr(n, &sb, 0, &mut Vec::new(), &mut notes));
        }
        if src_names.is_empty() {
            src = AddrSet::full();
        }
        if src_excl {
            src = src.complement();
        }
        let mut dst = AddrSet::empty();
        for n in &dst_names {
            dst = dst.union(&self.resolve_addr(n, &db, 0, &mut Vec::new(), &mut notes));
        }
        if dst_names.is_empty() {
            dst = AddrSet::full();
        }
        if dst_excl {
            dst = dst.complement();
        }
        let mut terms = Vec::new();
        for n in &app_names {
            terms.extend(self.resolve_app(n, 0, &mut Vec::new(), &mut notes));
        }
        if app_names.is_empty() {
            terms.push(AppTerm::any());
        }
        let mut unique: Vec<AppTerm> = Vec::with_capacity(terms.len());
        for t in terms {
            if !unique.contains(&t) {
                unique.push(t);
            }
        }
        let terms = unique;
        rule.matches = terms
            .into_iter()
            .map(|t| Space {
                proto: t.proto,
                src: src.clone(),
                dst: dst.clone(),
                sport: t.sport,
                dport: t.dport,
                src_zone: src_zone.clone(),
                dst_zone: dst_zone.clone(),
            })
            .filter(|s| !s.is_empty())
            .collect();
        for n in notes {
            if !rule.unmodeled.contains(&n) {
                rule.unmodeled.push(n);
            }
        }
        rule
    }

    fn build_policies(&mut self, policies: Vec<Policy>) {
        let has_security = self.tree.stmts.iter().any(|s| s.word(0) == "security");
        if !has_security && policies.is_empty() {
            return;
        }
        let mut rules = Vec::new();
        // Zone pairs in order of first appearance, each pair's policies in file order.
        let mut pairs: Vec<(String, String)> = Vec::new();
        for p in &policies {
            if let Some(pair) = &p.pair {
                if !pairs.contains(pair) {
                    pairs.push(pair.clone());
                }
            }
        }
        for pair in &pairs {
            for p in policies.iter().filter(|p| p.pair.as_ref() == Some(pair)) {
                rules.push(self.build_rule(p));
            }
        }
        for p in policies.iter().filter(|p| p.pair.is_none()) {
            rules.push(self.build_rule(p));
        }
        // Default policy.
        let mut default = None;
        for s in &self.tree.stmts {
            if s.starts_with(&["security", "policies", "default-policy"]) && s.inactive_at.is_none()
            {
                match s.word(3) {
                    "permit-all" => default = Some((Action::Allow, s.span)),
                    "deny-all" => default = Some((Action::Deny, s.span)),
                    _ => {}
                }
            }
        }
        let chain_span = self.section_span(&["security", "policies"]);
        let default = match default {
            Some((action, span)) => ChainDefault {
                action,
                span,
                implicit: false,
            },
            None => ChainDefault {
                action: Action::Deny,
                span: chain_span,
                implicit: true,
            },
        };
        self.cfg.filter.chains.push(Chain {
            name: "security policies".into(),
            span: chain_span,
            rules,
            default,
        });
        let id = self.cfg.filter.chains.len() - 1;
        self.cfg.filter.entries.push(Entry {
            hook: Hook::Forward,
            stages: vec![id],
        });
    }

    /// The first line of the block or statements under `prefix` (falling back to `security`,
    /// then the file's first line).
    fn section_span(&self, prefix: &[&str]) -> Span {
        let mut p = prefix.to_vec();
        while !p.is_empty() {
            let block = self
                .tree
                .blocks
                .iter()
                .filter(|b| b.path.len() == p.len() && b.path.iter().zip(&p).all(|(a, b)| a == b))
                .map(|b| b.span)
                .min_by_key(|s| s.start);
            let stmt = self
                .tree
                .stmts
                .iter()
                .filter(|s| s.starts_with(&p))
                .map(|s| s.span)
                .min_by_key(|s| s.start);
            let best = match (block, stmt) {
                (Some(a), Some(b)) => Some(if a.start <= b.start { a } else { b }),
                (a, b) => a.or(b),
            };
            if let Some(s) = best {
                return self.first_line(s);
            }
            p.pop();
        }
        self.cfg.file_span
    }

    fn first_line(&self, s: Span) -> Span {
        let lc = self.file.line_col(s.start);
        let line = self.file.line_span(lc.line);
        Span::new(
            self.fid,
            s.start,
            line.end.max(s.start).min(s.end.max(s.start)),
        )
    }

    // -----------------------------------------------------------------------------------------
    // SIP ALG

    fn sip_alg(&mut self) {
        let mut disabled = None;
        let mut related = Vec::new();
        for s in &self.tree.stmts {
            if s.starts_with(&["security", "alg", "sip", "disable"]) {
                if s.inactive_at.is_none() {
                    disabled = Some(s.span);
                } else {
                    related.push((
                        s.span,
                        "`security alg sip disable` is inactive, so it has no effect".to_string(),
                    ));
                }
            }
        }
        let has_security = self.tree.stmts.iter().any(|s| s.word(0) == "security");
        let state = match disabled {
            Some(span) => FeatureState {
                enabled: false,
                span,
                default: false,
                reason: "`security alg sip disable` turns the SIP ALG off".into(),
                related,
            },
            None if has_security => FeatureState {
                enabled: true,
                span: self.section_span(&["security", "alg"]),
                default: true,
                reason: "the SIP ALG is on by default on SRX and this configuration has no \
                         `security alg sip disable`"
                    .into(),
                related,
            },
            None => FeatureState {
                enabled: true,
                span: self.cfg.file_span,
                default: true,
                reason: "this configuration has no `security` hierarchy; assuming an SRX, whose \
                         SIP ALG is on by default unless `security alg sip disable` is set"
                    .into(),
                related,
            },
        };
        self.cfg.features.sip_alg = Some(state);
    }
}

#[cfg(test)]
mod tests;
