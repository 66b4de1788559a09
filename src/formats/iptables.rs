//! `iptables-save` / `ip6tables-save` output (the `iptables-restore` input format).
//!
//! # The format
//! A file is a sequence of tables (`*filter`, `*raw`, `*nat`, `*mangle`, `*security`), each closed
//! by `COMMIT`. Inside a table, `:CHAIN POLICY [packets:bytes]` declares a chain (built-in chains
//! carry their policy, user chains `-`), `-N CHAIN` also declares a user chain, and
//! `-A CHAIN <matches> [-j TARGET [target options] | -g CHAIN]` appends a rule (`-I` inserts,
//! `-P` sets a policy, `-F` flushes). `ip6tables-save` writes the same syntax with IPv6 addresses.
//! Lines starting with `#` are comments.
//!
//! # How it maps to the model
//! - **Filter.** Only the `*filter` table builds [`crate::model::Filter`]. Its built-in chains
//!   INPUT, FORWARD and OUTPUT come first (ids 0, 1, 2) and are the entries of the Input, Forward
//!   and Output hooks. A built-in chain's default is its policy (`ACCEPT` → Allow, `DROP` → Deny,
//!   span = the `:INPUT DROP [0:0]` line); when the file does not declare it (or has no filter
//!   table) it is the kernel default ACCEPT, `implicit`, pointing at the `*filter` line (or the
//!   file's first line). User chains return to their caller at their end. A rule is named
//!   `INPUT rule 3` (1-based position in its chain), followed by its `-m comment` text if any; its
//!   span is the whole line. A rule for a chain the file never declared creates the chain.
//! - **Matches** are folded into one product [`Space`] per rule (two for `-m multiport --ports`,
//!   which matches the source OR the destination port): `-p` (names, numbers, `all`), `-s`/`-d`
//!   (comma lists, CIDR and netmask forms, `0/0`), `-m iprange --src-range/--dst-range`, `-i`/`-o`
//!   (as zones; a `+` wildcard such as `eth+` is kept as a literal name with an unmodeled note,
//!   `+` alone is any interface), `--sport`/`--dport` (`a`, `a:b`, `:b`, `a:`, service names) and
//!   multiport `--sports`/`--dports`/`--ports`. Every `!` (also the old `--dport ! 22` form) is a
//!   complement within its dimension. `-f` (non-first fragments) never matches the first packet of
//!   a flow, so such a rule matches nothing.
//! - **Connection state** (`-m state --state`, `-m conntrack --ctstate`): a rule that can only
//!   match ESTABLISHED/RELATED packets (also `! --state NEW`, `-p tcp ! --syn`) is
//!   `established_only`; a rule that can only match INVALID packets matches no valid flow
//!   (`matches` is empty); a rule whose states include NEW is an ordinary rule. UNTRACKED and the
//!   SNAT/DNAT pseudo-states are kept as unmodeled notes.
//! - **Everything else** a rule matches on (`-m set`, `limit`, `recent`, `string`, `time`,
//!   `addrtype`, `mac`, `owner`, `physdev`, `--icmp-type`, `--tcp-flags`, `-m helper`, ...) is
//!   listed in [`Rule::unmodeled`]; values portaudit cannot read (an unknown protocol, a host name)
//!   are also reported as [`Unparsed`].
//! - **Targets:** ACCEPT → Allow; DROP, REJECT → Deny; RETURN → Return; non-terminating targets
//!   (LOG, NFLOG, MARK, CONNMARK, CT, TRACE, AUDIT, ...) and rules without a target → Continue;
//!   `-j CHAIN` → Jump, `-g CHAIN` → Goto; NFQUEUE/QUEUE (userspace decides) and other known but
//!   unmodelled targets → Unknown; an undefined chain or unknown target → Unknown plus an
//!   [`InputIssue`]. Jump loops (which iptables-restore rejects) and nesting beyond
//!   [`Limits::max_reference_depth`] are reported as input issues.
//! - **Other tables** are not evaluated. A DROP/REJECT rule or a DROP policy in `*raw`, `*mangle`,
//!   `*nat` or `*security` (other than an INVALID-only drop) is an input issue, because the filter
//!   alone would overstate what passes. (NAT rewriting is not modelled.)
//! - **SIP helper** ([`crate::model::Features::sip_alg`]): since Linux 4.7 conntrack helpers are
//!   only attached by explicit rules (`nf_conntrack_helper=0` by default), i.e. a `*raw` rule
//!   `-j CT --helper sip`. Such a rule turns the helper on (the first is the span, the others are
//!   `related`); without one the helper is off by default (span: the `*raw` line, or the file's
//!   first line). `-j CT --notrack` and the `-m helper --helper sip` match do not enable it.
//! - **Input issues:** a table not closed by `COMMIT` (truncated file), a second `*filter` table,
//!   commands that are not applied (`-D`, `-R`, `-X`, `-E`). Lines outside a table and lines that
//!   are not iptables-save syntax are [`Unparsed`]. There is no IPS concept: `features.ips` stays
//!   `None`.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};

use super::util::{self, Token};
use super::Limits;
use crate::model::{
    self, Action, Chain, ChainDefault, ChainId, Config, Entry, FeatureState, Format, Hook,
    InputIssue, Rule, Unparsed,
};
use crate::sets::{self, proto, AddrSet, IntervalSet, NameSet, PortSet, ProtoSet, Space};
use crate::source::{FileId, SourceFile, Span};

/// Built-in chains of the filter table, in model order, with the hook each one filters.
const BASE_CHAINS: [(&str, Hook); 3] = [
    ("INPUT", Hook::Input),
    ("FORWARD", Hook::Forward),
    ("OUTPUT", Hook::Output),
];

/// Tables iptables-save writes.
const TABLES: [&str; 5] = ["filter", "nat", "mangle", "raw", "security"];

/// Commands iptables-restore accepts on a line (short and long forms).
const COMMANDS: [&str; 20] = [
    "-A",
    "--append",
    "-I",
    "--insert",
    "-N",
    "--new-chain",
    "-P",
    "--policy",
    "-F",
    "--flush",
    "-Z",
    "--zero",
    "-D",
    "--delete",
    "-R",
    "--replace",
    "-X",
    "--delete-chain",
    "-E",
    "--rename-chain",
];

/// Match modules whose options are modelled (or have no effect on a flow, like `comment`).
/// Options of these modules that are not modelled still get an unmodeled note.
const MODELLED_MODULES: [&str; 13] = [
    "tcp",
    "udp",
    "udplite",
    "sctp",
    "dccp",
    "icmp",
    "icmp6",
    "icmpv6",
    "multiport",
    "iprange",
    "state",
    "conntrack",
    "comment",
];

/// Targets that let the packet continue with the next rule (logging, marking, tracking).
const CONTINUE_TARGETS: [&str; 27] = [
    "LOG",
    "NFLOG",
    "ULOG",
    "MARK",
    "CONNMARK",
    "CT",
    "NOTRACK",
    "TRACE",
    "AUDIT",
    "CLASSIFY",
    "DSCP",
    "TOS",
    "TTL",
    "HL",
    "ECN",
    "TCPMSS",
    "TCPOPTSTRIP",
    "SECMARK",
    "CONNSECMARK",
    "CHECKSUM",
    "SET",
    "LED",
    "IDLETIMER",
    "RATEEST",
    "TEE",
    "HMARK",
    "NFACCT",
];

/// Targets that decide the packet's fate in a way portaudit does not model.
const UNMODELLED_TARGETS: [&str; 5] = ["NFQUEUE", "QUEUE", "SYNPROXY", "CLUSTERIP", "DELUDE"];

/// Connection states of `--state` / `--ctstate`, in the order of [`StateSet`].
const STATES: [&str; 5] = ["NEW", "ESTABLISHED", "RELATED", "INVALID", "UNTRACKED"];
type StateSet = [bool; 5];

/// Common service names accepted where iptables takes a port (from `/etc/services`).
const SERVICES: &[(&str, u16)] = &[
    ("ftp-data", 20),
    ("ftp", 21),
    ("ssh", 22),
    ("telnet", 23),
    ("smtp", 25),
    ("domain", 53),
    ("bootps", 67),
    ("bootpc", 68),
    ("tftp", 69),
    ("http", 80),
    ("www", 80),
    ("kerberos", 88),
    ("pop3", 110),
    ("sunrpc", 111),
    ("ntp", 123),
    ("netbios-ns", 137),
    ("netbios-dgm", 138),
    ("netbios-ssn", 139),
    ("imap", 143),
    ("imap2", 143),
    ("snmp", 161),
    ("snmp-trap", 162),
    ("bgp", 179),
    ("ldap", 389),
    ("https", 443),
    ("microsoft-ds", 445),
    ("smtps", 465),
    ("submissions", 465),
    ("isakmp", 500),
    ("syslog", 514),
    ("rtsp", 554),
    ("submission", 587),
    ("ldaps", 636),
    ("imaps", 993),
    ("pop3s", 995),
    ("openvpn", 1194),
    ("ms-sql-s", 1433),
    ("radius", 1812),
    ("radius-acct", 1813),
    ("mysql", 3306),
    ("ms-wbt-server", 3389),
    ("stun", 3478),
    ("ipsec-nat-t", 4500),
    ("iax", 4569),
    ("sip", 5060),
    ("sip-tls", 5061),
    ("xmpp-client", 5222),
    ("postgresql", 5432),
    ("http-alt", 8080),
    ("webcache", 8080),
];

// ---------------------------------------------------------------------------------------------
// Line classification, shared by `sniff` and `parse`.

/// What a (trimmed, non-comment) line is.
enum LineKind<'a> {
    /// `*filter`
    Table(&'a str),
    /// `COMMIT`
    Commit,
    /// `:INPUT DROP [0:0]`
    ChainDecl {
        name: &'a str,
        policy: &'a str,
    },
    /// `-A INPUT ...`, `-N NAME`, ... (optionally preceded by `[packets:bytes]` counters).
    Command,
    Other,
}

fn classify(t: &str) -> LineKind<'_> {
    if let Some(name) = t.strip_prefix('*') {
        let name = name.trim_end();
        return if TABLES.contains(&name) {
            LineKind::Table(name)
        } else {
            LineKind::Other
        };
    }
    if t == "COMMIT" {
        return LineKind::Commit;
    }
    if let Some(rest) = t.strip_prefix(':') {
        let mut parts = rest.split_whitespace();
        if let (Some(name), Some(policy)) = (parts.next(), parts.next()) {
            let tail_ok = parts.next().is_none_or(is_counters) && parts.next().is_none();
            let policy_ok = matches!(policy, "ACCEPT" | "DROP" | "QUEUE" | "RETURN" | "-");
            if tail_ok && policy_ok {
                return LineKind::ChainDecl { name, policy };
            }
        }
        return LineKind::Other;
    }
    let mut words = t.split_whitespace();
    let first = match words.next() {
        Some(w) if is_counters(w) => words.next(),
        w => w,
    };
    match first {
        Some(cmd) if COMMANDS.contains(&cmd) => LineKind::Command,
        _ => LineKind::Other,
    }
}

/// `[123:4567]` packet and byte counters.
fn is_counters(s: &str) -> bool {
    s.strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .and_then(|s| s.split_once(':'))
        .is_some_and(|(p, b)| {
            !p.is_empty()
                && !b.is_empty()
                && p.bytes().all(|c| c.is_ascii_digit())
                && b.bytes().all(|c| c.is_ascii_digit())
        })
}

fn is_base(chain: &str) -> bool {
    BASE_CHAINS.iter().any(|(n, _)| *n == chain)
}

/// Confidence that `text` is iptables-save output: high with table headers and chain lines,
/// moderate for bare `-A` lines, scaled down by the share of lines that are not iptables syntax.
pub fn sniff(_name: &str, text: &str) -> u8 {
    let (mut tables, mut commits, mut chain_lines, mut foreign) = (0u32, 0u32, 0u32, 0u32);
    for line in util::text_lines(text).take(5000) {
        let t = util::trim(line);
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        // Only these first bytes can start a table, COMMIT, a chain or a command (commands
        // start with '-', after optional `[p:b]` counters): other lines are foreign without
        // being split, which is most lines of the other formats' exports.
        let kind = match t.as_bytes()[0] {
            b'*' | b':' | b'-' | b'[' | b'C' => classify(t),
            _ => LineKind::Other,
        };
        match kind {
            LineKind::Table(_) => tables += 1,
            LineKind::Commit => commits += 1,
            LineKind::ChainDecl { .. } | LineKind::Command => chain_lines += 1,
            LineKind::Other => foreign += 1,
        }
    }
    let known = tables + commits + chain_lines;
    if tables + chain_lines == 0 || foreign >= known {
        return 0;
    }
    let base: u32 = match (tables > 0, chain_lines > 0) {
        (true, true) => 95,
        (false, true) => 60,
        _ => 30,
    };
    (base * known / (known + foreign)) as u8
}

// ---------------------------------------------------------------------------------------------
// Parsing a file.

/// Parse iptables-save output into the common model.
pub fn parse(file: &SourceFile, limits: &Limits) -> Config {
    let mut p = Parser {
        file,
        limits,
        cfg: Config::new(Format::Iptables, Span::new(file.id, 0, file.text.len())),
        open: None,
        filter_header: None,
        raw_header: None,
        chains: Vec::new(),
        sip_rules: Vec::new(),
    };
    for line in util::lines(&file.text) {
        p.line(&line);
    }
    p.finish()
}

/// A filter-table chain while the file is read.
struct ChainBuild {
    name: String,
    span: Span,
    /// Policy of a built-in chain and the line that sets it.
    policy: Option<(Action, Span)>,
    rules: Vec<RuleLine>,
}

struct Parser<'a> {
    file: &'a SourceFile,
    limits: &'a Limits,
    cfg: Config,
    /// The table being read (name and `*name` line), until its COMMIT.
    open: Option<(String, Span)>,
    filter_header: Option<Span>,
    raw_header: Option<Span>,
    /// Chains of the filter table, in declaration order.
    chains: Vec<ChainBuild>,
    /// Raw-table rules assigning the SIP helper.
    sip_rules: Vec<Span>,
}

impl Parser<'_> {
    fn unparsed(&mut self, span: Span, reason: impl Into<String>) {
        self.cfg.unparsed.push(Unparsed {
            span,
            reason: reason.into(),
        });
    }

    fn issue(&mut self, span: Span, message: impl Into<String>) {
        self.cfg.errors.push(InputIssue {
            span,
            message: message.into(),
        });
    }

    fn table(&self) -> Option<&str> {
        self.open.as_ref().map(|(n, _)| n.as_str())
    }

    fn line(&mut self, line: &util::Line) {
        let lead = line.text.len() - line.text.trim_start().len();
        let text = line.text.trim();
        if text.is_empty() || text.starts_with('#') {
            return;
        }
        let start = line.start + lead;
        let span = Span::new(self.file.id, start, start + text.len());
        if text.len() > self.limits.max_line_len {
            self.unparsed(span, "line too long to be parsed");
            if self.table() == Some("filter") {
                self.issue(span, "a filter-table line is too long to be parsed: it is missing from the evaluation");
            }
            return;
        }
        let kind = classify(text);
        if matches!(kind, LineKind::ChainDecl { .. } | LineKind::Command) && self.open.is_none() {
            self.unparsed(span, "outside of a table (no `*table` line before it)");
            return;
        }
        match kind {
            LineKind::Table(name) => self.open_table(name, span),
            LineKind::Commit => {
                if self.open.take().is_none() {
                    self.unparsed(span, "COMMIT without an open table");
                }
            }
            LineKind::ChainDecl { name, policy } => self.declare(name, policy, span),
            LineKind::Command => self.command(text, span),
            LineKind::Other => self.unparsed(
                span,
                "not iptables-save syntax (expected `*table`, `:CHAIN POLICY`, `-A CHAIN ...` or `COMMIT`)",
            ),
        }
    }

    fn open_table(&mut self, name: &str, span: Span) {
        if let Some((prev, prev_span)) = self.open.take() {
            self.issue(
                prev_span,
                format!("table *{prev} is not closed by COMMIT before the next table starts: iptables-restore would reject the file"),
            );
        }
        match name {
            "filter" if self.filter_header.is_some() => self.issue(
                span,
                "a second *filter table: its chains and rules are merged with the first one, whereas iptables-restore would replace the first table",
            ),
            "filter" => self.filter_header = Some(span),
            "raw" => {
                self.raw_header.get_or_insert(span);
            }
            _ => {}
        }
        self.open = Some((name.to_string(), span));
    }

    /// Index of a filter chain, created (as declared at `span`) when new.
    fn chain_index(&mut self, name: &str, span: Span) -> usize {
        if let Some(i) = self.chains.iter().position(|c| c.name == name) {
            return i;
        }
        self.chains.push(ChainBuild {
            name: name.to_string(),
            span,
            policy: None,
            rules: Vec::new(),
        });
        self.chains.len() - 1
    }

    /// `:NAME POLICY` or `-P NAME POLICY`.
    fn declare(&mut self, name: &str, policy: &str, span: Span) {
        let Some(table) = self.table().map(str::to_string) else {
            return;
        };
        if table != "filter" {
            if policy == "DROP" {
                self.issue(
                    span,
                    format!("chain {name} of table *{table} has policy DROP: packets are dropped outside the filter table, which portaudit does not evaluate"),
                );
            }
            return;
        }
        let idx = self.chain_index(name, span);
        let action = match policy {
            "-" => return,
            "ACCEPT" => Action::Allow,
            "DROP" => Action::Deny,
            other => Action::Unknown(other.to_string()),
        };
        if !is_base(name) {
            self.unparsed(span, "a user-defined chain cannot have a policy");
            return;
        }
        self.chains[idx].span = span;
        self.chains[idx].policy = Some((action, span));
    }

    fn command(&mut self, text: &str, span: Span) {
        let tokens = util::tokenize(text, span.start);
        let mut toks: &[Token] = &tokens;
        if toks.first().is_some_and(|t| is_counters(&t.text)) {
            toks = &toks[1..];
        }
        let Some((cmd, rest)) = toks.split_first() else {
            return;
        };
        let in_filter = self.table() == Some("filter");
        match &*cmd.text {
            "-A" | "--append" | "-I" | "--insert" => {
                let Some((chain, mut rest)) = rest.split_first() else {
                    self.unparsed(span, "rule without a chain name");
                    return;
                };
                // `-I CHAIN [N]` inserts at position N (1 by default); `-A` appends.
                let mut position = None;
                if matches!(&*cmd.text, "-I" | "--insert") {
                    position = Some(1);
                    if let Some((n, r)) = rest.split_first() {
                        if let Ok(n) = n.text.parse::<usize>() {
                            position = Some(n);
                            rest = r;
                        }
                    }
                }
                let rule = parse_rule(rest, span, &self.file.text, &mut self.cfg.unparsed);
                self.add_rule(&chain.text, position, rule);
            }
            "-N" | "--new-chain" => match rest.first() {
                Some(c) if in_filter => {
                    self.chain_index(&c.text, span);
                }
                Some(_) => {}
                None => self.unparsed(span, "-N without a chain name"),
            },
            "-P" | "--policy" => match rest {
                [c, p, ..] => self.declare(&c.text, &p.text, span),
                _ => self.unparsed(span, "-P needs a chain and a policy"),
            },
            "-F" | "--flush" if in_filter => match rest.first() {
                Some(c) => {
                    if let Some(ch) = self.chains.iter_mut().find(|ch| ch.name == c.text) {
                        ch.rules.clear();
                    }
                }
                None => self.chains.iter_mut().for_each(|ch| ch.rules.clear()),
            },
            // Flushing another table, or zeroing counters, changes nothing portaudit evaluates.
            "-F" | "--flush" | "-Z" | "--zero" => {}
            other => {
                self.unparsed(
                    span,
                    format!("the iptables command {other} is not supported"),
                );
                if in_filter {
                    self.issue(
                        span,
                        format!("the command {other} was not applied: the evaluated filter may differ from the loaded one"),
                    );
                }
            }
        }
    }

    fn add_rule(&mut self, chain: &str, position: Option<usize>, rule: RuleLine) {
        let Some(table) = self.table().map(str::to_string) else {
            return;
        };
        if table == "filter" {
            let idx = self.chain_index(chain, rule.span);
            let rules = &mut self.chains[idx].rules;
            match position {
                Some(n) => rules.insert(n.saturating_sub(1).min(rules.len()), rule),
                None => rules.push(rule),
            }
            return;
        }
        let Some(target) = &rule.target else {
            return;
        };
        if table == "raw" && target.assigns_sip_helper() {
            self.sip_rules.push(rule.span);
        }
        let drops = !target.goto && matches!(target.name.as_str(), "DROP" | "REJECT");
        if drops && !rule.matches.is_empty() && !rule.established_only {
            self.issue(
                rule.span,
                format!("rule in table *{table} (chain {chain}) drops packets before or after the filter table; portaudit evaluates only the filter table, so traffic it reports as allowed may be dropped here"),
            );
        }
    }

    fn finish(mut self) -> Config {
        if let Some((name, span)) = self.open.take() {
            self.issue(
                span,
                format!("table *{name} is not closed by COMMIT (truncated file?): iptables-restore would not load it, and any rules after the cut are missing"),
            );
        }
        self.build_filter();
        self.check_jumps();
        self.cfg.features.sip_alg = Some(self.sip_state());
        self.cfg
    }

    fn build_filter(&mut self) {
        let default_span = self.filter_header.unwrap_or_else(|| self.file.line_span(1));
        let mut rest = std::mem::take(&mut self.chains);
        // Built-in chains first, in hook order, then user chains in declaration order.
        let mut ordered = Vec::with_capacity(rest.len() + BASE_CHAINS.len());
        for (name, _) in BASE_CHAINS {
            match rest.iter().position(|c| c.name == name) {
                Some(i) => ordered.push(rest.remove(i)),
                None => ordered.push(ChainBuild {
                    name: name.to_string(),
                    span: default_span,
                    policy: None,
                    rules: Vec::new(),
                }),
            }
        }
        ordered.extend(rest);
        let ids: HashMap<String, ChainId> = ordered
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.clone(), i))
            .collect();
        for build in ordered {
            let default = if is_base(&build.name) {
                match build.policy {
                    Some((action, span)) => ChainDefault {
                        action,
                        span,
                        implicit: false,
                    },
                    None => ChainDefault {
                        action: Action::Allow,
                        span: default_span,
                        implicit: true,
                    },
                }
            } else {
                ChainDefault {
                    action: Action::Return,
                    span: build.span,
                    implicit: true,
                }
            };
            let rules = build
                .rules
                .into_iter()
                .enumerate()
                .map(|(i, r)| self.build_rule(&build.name, i, r, &ids))
                .collect();
            self.cfg.filter.chains.push(Chain {
                name: build.name,
                span: build.span,
                rules,
                default,
            });
        }
        self.cfg.filter.entries = BASE_CHAINS
            .iter()
            .enumerate()
            .map(|(id, &(_, hook))| Entry {
                hook,
                stages: vec![id],
            })
            .collect();
    }

    fn build_rule(
        &mut self,
        chain: &str,
        index: usize,
        r: RuleLine,
        ids: &HashMap<String, ChainId>,
    ) -> Rule {
        let mut name = format!("{chain} rule {}", index + 1);
        if let Some(c) = &r.comment {
            name.push_str(&format!(" \"{}\"", excerpt(c, 60)));
        }
        let action = self.resolve(r.target.as_ref(), r.span, ids);
        Rule {
            name,
            span: r.span,
            enabled: true,
            action,
            matches: r.matches,
            established_only: r.established_only,
            unmodeled: r.unmodeled,
            inspection: Vec::new(),
        }
    }

    /// The model action of a filter rule's `-j`/`-g`.
    fn resolve(
        &mut self,
        target: Option<&TargetRef>,
        span: Span,
        ids: &HashMap<String, ChainId>,
    ) -> Action {
        let Some(t) = target else {
            return Action::Continue;
        };
        let name = t.name.as_str();
        let how = if t.goto { "-g" } else { "-j" };
        if let Some(&id) = ids.get(name) {
            if !is_base(name) {
                return if t.goto {
                    Action::Goto(id)
                } else {
                    Action::Jump(id)
                };
            }
            self.issue(
                span,
                format!("{how} {name}: jumping to a built-in chain is not allowed"),
            );
            return Action::Unknown(name.to_string());
        }
        if !t.goto {
            match name {
                "ACCEPT" => return Action::Allow,
                // TARPIT (xtables-addons) holds the connection without ever completing it.
                "DROP" | "REJECT" | "TARPIT" => return Action::Deny,
                "RETURN" => return Action::Return,
                n if CONTINUE_TARGETS.contains(&n) => return Action::Continue,
                n if UNMODELLED_TARGETS.contains(&n) => return Action::Unknown(n.to_string()),
                _ => {}
            }
        }
        self.issue(
            span,
            format!("{how} {name}: no chain of that name is defined in the filter table, and it is not a target portaudit knows"),
        );
        Action::Unknown(name.to_string())
    }

    /// Report jump loops and chains nested deeper than the reference-depth limit.
    fn check_jumps(&mut self) {
        let chains = &self.cfg.filter.chains;
        let walk = model::jump_depths(chains);
        let mut issues = walk.loop_issues(chains, "iptables-restore");
        let limit = self.limits.max_reference_depth;
        if let Some((c, d)) = walk.deepest() {
            if d > limit {
                issues.push(InputIssue {
                    span: chains[c].span,
                    message: format!(
                        "chain {} nests jumps {d} levels deep, more than the limit of {limit} (--max-reference-depth, limits: max-reference-depth): evaluation stops there",
                        chains[c].name
                    ),
                });
            }
        }
        self.cfg.errors.extend(issues);
    }

    fn sip_state(&self) -> FeatureState {
        match self.sip_rules.split_first() {
            Some((first, others)) => FeatureState {
                enabled: true,
                span: *first,
                default: false,
                reason: format!(
                    "The raw-table rule `{}` assigns the SIP conntrack helper (nf_conntrack_sip) to matching connections.",
                    excerpt(self.file.slice(*first), 120)
                ),
                related: others
                    .iter()
                    .map(|s| (*s, "another raw-table rule assigning the SIP helper".to_string()))
                    .collect(),
            },
            None => FeatureState {
                enabled: false,
                span: self.raw_header.unwrap_or_else(|| self.file.line_span(1)),
                default: true,
                reason: "No raw-table rule `-j CT --helper sip` is present, and since Linux 4.7 conntrack helpers are attached only by such explicit CT rules (nf_conntrack_helper=0 by default), so no SIP helper is assigned.".to_string(),
                related: Vec::new(),
            },
        }
    }
}

/// At most `max` characters of `s`, with `…` when cut.
fn excerpt(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing one rule (the tokens after `-A CHAIN`).

/// A parsed rule line, before its target is resolved against the table's chains.
struct RuleLine {
    span: Span,
    matches: Vec<Space>,
    established_only: bool,
    unmodeled: Vec<String>,
    target: Option<TargetRef>,
    comment: Option<String>,
}

/// `-j NAME [options]` or `-g NAME`.
struct TargetRef {
    name: String,
    goto: bool,
    /// Target options (`--helper sip`, `--reject-with ...`) with their values.
    opts: Vec<(String, Vec<String>)>,
}

impl TargetRef {
    /// `-j CT --helper sip`.
    fn assigns_sip_helper(&self) -> bool {
        !self.goto
            && self.name == "CT"
            && self.opts.iter().any(|(o, v)| {
                o == "--helper" && v.first().is_some_and(|h| h.eq_ignore_ascii_case("sip"))
            })
    }
}

/// An option with its values and whether a `!` negates it.
struct OptGroup<'t> {
    neg: bool,
    name: &'t Token<'t>,
    vals: Vec<&'t Token<'t>>,
}

/// Unquoted tokens starting with `-` are options; a `!` negates the next option, or (old syntax
/// `--dport ! 22`) the option it follows. Returns the groups and the stray tokens.
fn group_options<'t>(toks: &'t [Token<'t>], src: &str) -> (Vec<OptGroup<'t>>, Vec<&'t Token<'t>>) {
    let unquoted = |t: &Token, c: u8| src.as_bytes().get(t.start) == Some(&c);
    let is_option = |t: &Token| t.text.len() > 1 && t.text.starts_with('-') && unquoted(t, b'-');
    let mut groups: Vec<OptGroup<'t>> = Vec::new();
    let mut stray = Vec::new();
    let mut pending_neg = false;
    for (i, t) in toks.iter().enumerate() {
        if t.text == "!" && unquoted(t, b'!') {
            if toks.get(i + 1).is_some_and(is_option) {
                pending_neg = true;
            } else if let Some(g) = groups.last_mut() {
                g.neg = !g.neg;
            } else {
                stray.push(t);
            }
        } else if is_option(t) {
            groups.push(OptGroup {
                neg: std::mem::take(&mut pending_neg),
                name: t,
                vals: Vec::new(),
            });
        } else if let Some(g) = groups.last_mut() {
            g.vals.push(t);
        } else {
            stray.push(t);
        }
    }
    (groups, stray)
}

fn parse_rule(toks: &[Token], span: Span, src: &str, unparsed: &mut Vec<Unparsed>) -> RuleLine {
    let (groups, stray) = group_options(toks, src);
    let mut b = RuleBuilder {
        file: span.file,
        unparsed,
        space: Space::all(),
        either: Vec::new(),
        nothing: false,
        established_only: false,
        notes: Vec::new(),
        module: None,
        module_note: None,
        comment: None,
        target: None,
    };
    for t in stray {
        b.bad(t, "unexpected token");
    }
    for g in &groups {
        b.option(g);
    }
    b.finish(span)
}

#[derive(Clone, Copy)]
enum Dir {
    Src,
    Dst,
}

#[derive(Clone, Copy)]
enum PortDim {
    Src,
    Dst,
    /// `--ports`: the source or the destination port.
    Either,
}

/// Accumulates the conditions of one rule.
struct RuleBuilder<'a> {
    file: FileId,
    unparsed: &'a mut Vec<Unparsed>,
    /// Product of every single-dimension condition.
    space: Space,
    /// `--ports` conditions: each a union of two spaces to intersect with `space`.
    either: Vec<[Space; 2]>,
    /// The rule can match no flow portaudit evaluates (INVALID-only state, `-f`).
    nothing: bool,
    established_only: bool,
    notes: Vec<String>,
    /// The last `-m` module.
    module: Option<String>,
    /// The note collecting the unmodelled options of the current module.
    module_note: Option<usize>,
    comment: Option<String>,
    target: Option<TargetRef>,
}

fn negate<const MAX: u128>(set: IntervalSet<MAX>, neg: bool) -> IntervalSet<MAX> {
    if neg {
        set.complement()
    } else {
        set
    }
}

impl RuleBuilder<'_> {
    /// A token portaudit cannot read: reported as unparsed, and the rule becomes uncertain.
    fn bad(&mut self, tok: &Token, reason: &str) {
        let text = excerpt(&tok.text, 60);
        self.unparsed.push(Unparsed {
            span: tok.span(self.file),
            reason: format!("{reason}: `{text}`"),
        });
        self.notes.push(format!("{reason}: `{text}`"));
    }

    /// The single value of an option (extra values are reported).
    fn value<'t>(&mut self, g: &OptGroup<'t>) -> Option<&'t Token<'t>> {
        for extra in g.vals.iter().skip(1) {
            self.bad(extra, "unexpected value");
        }
        let v = g.vals.first().copied();
        if v.is_none() {
            self.bad(g.name, "option without its value");
        }
        v
    }

    fn option(&mut self, g: &OptGroup) {
        // Everything after `-j TARGET` is an option of the target.
        if let Some(t) = self.target.as_mut().filter(|t| !t.goto) {
            t.opts.push((
                g.name.text.to_string(),
                g.vals.iter().map(|v| v.text.to_string()).collect(),
            ));
            return;
        }
        let opt = &*g.name.text;
        match opt {
            "-j" | "--jump" | "-g" | "--goto" => {
                if let Some(v) = self.value(g) {
                    self.target = Some(TargetRef {
                        name: v.text.to_string(),
                        goto: matches!(opt, "-g" | "--goto"),
                        opts: Vec::new(),
                    });
                }
            }
            "-m" | "--match" => self.module(g),
            "-p" | "--protocol" => {
                if let Some(v) = self.value(g) {
                    match protocol_set(&v.text) {
                        Some(set) => {
                            self.space.proto = self.space.proto.intersect(&negate(set, g.neg))
                        }
                        None => self.bad(v, "unknown protocol"),
                    }
                }
            }
            "-s" | "--source" | "--src" => self.addr(g, Dir::Src, parse_addr_list),
            "-d" | "--destination" | "--dst" => self.addr(g, Dir::Dst, parse_addr_list),
            "--src-range" => self.addr(g, Dir::Src, parse_addr_range),
            "--dst-range" => self.addr(g, Dir::Dst, parse_addr_range),
            "-i" | "--in-interface" => self.iface(g, Dir::Src),
            "-o" | "--out-interface" => self.iface(g, Dir::Dst),
            "--dport" | "--destination-port" | "--dports" | "--destination-ports" => {
                self.ports(g, PortDim::Dst)
            }
            "--sport" | "--source-port" | "--sports" | "--source-ports" => {
                self.ports(g, PortDim::Src)
            }
            "--ports" => self.ports(g, PortDim::Either),
            "--state" | "--ctstate" => self.state(g),
            "--comment" => {
                if let Some(v) = self.value(g) {
                    self.comment.get_or_insert_with(|| v.text.to_string());
                }
            }
            // A flow begins with a SYN: `--syn` does not restrict new flows, `! --syn` only
            // matches segments of connections already under way.
            "--syn" => self.established_only |= g.neg,
            // `-f` matches non-first fragments only, never the first packet of a flow.
            "-f" | "--fragment" => self.nothing |= !g.neg,
            "-c" | "--set-counters" => {}
            _ => self.note_option(g),
        }
    }

    fn module(&mut self, g: &OptGroup) {
        let Some(v) = self.value(g) else {
            return;
        };
        let name = v.text.to_ascii_lowercase();
        self.module_note = None;
        if !MODELLED_MODULES.contains(&name.as_str()) {
            self.notes.push(format!("-m {name}"));
            self.module_note = Some(self.notes.len() - 1);
        }
        self.module = Some(name);
    }

    /// An option portaudit does not model: added to the note of its module.
    fn note_option(&mut self, g: &OptGroup) {
        let mut text = String::new();
        if g.neg {
            text.push_str("! ");
        }
        text.push_str(&g.name.text);
        for v in &g.vals {
            text.push(' ');
            text.push_str(&excerpt(&v.text, 60));
        }
        match self.module_note.and_then(|i| self.notes.get_mut(i)) {
            Some(note) => {
                note.push(' ');
                note.push_str(&text);
            }
            None => {
                let note = match &self.module {
                    Some(m) => format!("-m {m} {text}"),
                    None => text,
                };
                self.notes.push(note);
                self.module_note = Some(self.notes.len() - 1);
            }
        }
    }

    fn addr(&mut self, g: &OptGroup, dir: Dir, parse: fn(&str) -> Option<AddrSet>) {
        let Some(v) = self.value(g) else {
            return;
        };
        let Some(set) = parse(&v.text) else {
            self.bad(v, "address not understood (host names are not resolved)");
            return;
        };
        let field = match dir {
            Dir::Src => &mut self.space.src,
            Dir::Dst => &mut self.space.dst,
        };
        *field = field.intersect(&negate(set, g.neg));
    }

    fn iface(&mut self, g: &OptGroup, dir: Dir) {
        let Some(v) = self.value(g) else {
            return;
        };
        let name = &*v.text;
        let set = if name == "+" {
            NameSet::Any
        } else {
            if let Some(prefix) = name.strip_suffix('+') {
                self.notes.push(format!(
                    "interface wildcard `{name}` (every interface whose name starts with `{prefix}`) is kept as a literal name"
                ));
            }
            NameSet::only([name])
        };
        let set = if g.neg { set.complement() } else { set };
        let field = match dir {
            Dir::Src => &mut self.space.src_zone,
            Dir::Dst => &mut self.space.dst_zone,
        };
        *field = field.intersect(&set);
    }

    fn ports(&mut self, g: &OptGroup, dim: PortDim) {
        let Some(v) = self.value(g) else {
            return;
        };
        let Some(set) = parse_port_list(&v.text) else {
            self.bad(v, "port not understood");
            return;
        };
        match dim {
            PortDim::Dst => self.space.dport = self.space.dport.intersect(&negate(set, g.neg)),
            PortDim::Src => self.space.sport = self.space.sport.intersect(&negate(set, g.neg)),
            // Neither port in the set: both ports in the complement.
            PortDim::Either if g.neg => {
                let c = set.complement();
                self.space.sport = self.space.sport.intersect(&c);
                self.space.dport = self.space.dport.intersect(&c);
            }
            PortDim::Either => {
                let mut by_src = Space::all();
                by_src.sport = set.clone();
                let mut by_dst = Space::all();
                by_dst.dport = set;
                self.either.push([by_src, by_dst]);
            }
        }
    }

    /// `--state` / `--ctstate`: which packets of a flow the rule can match.
    fn state(&mut self, g: &OptGroup) {
        let Some(v) = self.value(g) else {
            return;
        };
        let mut listed: StateSet = [false; 5];
        let mut nat = false;
        for item in v.text.split(',') {
            let item = item.trim().to_ascii_uppercase();
            match STATES.iter().position(|s| *s == item) {
                Some(i) => listed[i] = true,
                None if item == "SNAT" || item == "DNAT" => nat = true,
                None => {
                    self.bad(v, "unknown connection state");
                    return;
                }
            }
        }
        let neg = if g.neg { "! " } else { "" };
        if nat {
            // SNAT/DNAT tell whether the connection was translated, not whether it is new.
            self.notes.push(format!("connection state {neg}{}", v.text));
            return;
        }
        let [new, established, related, _invalid, untracked] =
            if g.neg { listed.map(|b| !b) } else { listed };
        if new {
            return;
        }
        if untracked && !g.neg {
            self.notes.push(format!(
                "connection state {} (new flows exempted from tracking by a raw NOTRACK rule are UNTRACKED)",
                v.text
            ));
            return;
        }
        if established || related {
            self.established_only = true;
        } else {
            // Only INVALID packets: no valid flow ever matches this rule.
            self.nothing = true;
        }
    }

    fn finish(self, span: Span) -> RuleLine {
        let mut matches = vec![self.space];
        for pair in &self.either {
            matches = matches
                .iter()
                .flat_map(|m| pair.iter().map(move |p| m.intersect(p)))
                .filter(|s| !s.is_empty())
                .collect();
        }
        matches.retain(|s| !s.is_empty());
        if self.nothing {
            matches.clear();
        }
        let unmodeled = self
            .notes
            .into_iter()
            .map(|mut n| {
                if n == "-m helper" || n.starts_with("-m helper ") {
                    n.push_str(" (matches connections that already have this helper; it does not assign one)");
                }
                n
            })
            .collect();
        RuleLine {
            span,
            matches,
            established_only: self.established_only,
            unmodeled,
            target: self.target,
            comment: self.comment,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Values.

/// `tcp`, `6`, `all`, `! udp` handled by the caller.
fn protocol_set(s: &str) -> Option<ProtoSet> {
    let l = s.to_ascii_lowercase();
    if l == "all" || l == "0" {
        return Some(ProtoSet::full());
    }
    let n = proto::from_name(&l).or(match l.as_str() {
        "udplite" => Some(136),
        "dccp" => Some(33),
        "mh" | "ipv6-mh" => Some(135),
        "ipv6" => Some(41),
        _ => None,
    })?;
    Some(ProtoSet::single(n))
}

/// A port number or a service name.
fn port_value(s: &str) -> Option<u128> {
    if let Ok(n) = s.parse::<u16>() {
        return Some(n.into());
    }
    SERVICES
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(s))
        .map(|&(_, p)| p.into())
}

/// `22`, `1024:65535`, `:1023`, `1024:`, `http`, and comma lists of those (multiport).
fn parse_port_list(s: &str) -> Option<PortSet> {
    let mut ranges = Vec::new();
    for item in s.split(',') {
        let item = item.trim();
        ranges.push(match item.split_once(':') {
            Some((lo, hi)) => (
                if lo.is_empty() { 0 } else { port_value(lo)? },
                if hi.is_empty() {
                    65535
                } else {
                    port_value(hi)?
                },
            ),
            None => {
                let p = port_value(item)?;
                (p, p)
            }
        });
    }
    Some(PortSet::from_ranges(ranges))
}

/// One address: `10.0.0.1`, `10.0.0.0/8`, `10.0.0.0/255.0.0.0`, `0/0`, IPv6 with a prefix
/// length or a mask.
fn parse_addr(s: &str) -> Option<AddrSet> {
    if s == "0/0" {
        return Some(sets::all_v4());
    }
    if let Some((addr, mask)) = s.split_once('/') {
        if mask.contains('.') {
            return sets::net_from_mask(addr, mask);
        }
        if mask.contains(':') {
            let a: Ipv6Addr = addr.parse().ok()?;
            let len = ipnet::ipv6_mask_to_prefix(mask.parse().ok()?).ok()?;
            let net = ipnet::Ipv6Net::new(a, len).ok()?.trunc();
            return Some(sets::net_set(ipnet::IpNet::V6(net)));
        }
    }
    sets::parse_net(s)
}

/// `-s a,b,c`.
fn parse_addr_list(s: &str) -> Option<AddrSet> {
    s.split(',').try_fold(AddrSet::empty(), |acc, a| {
        Some(acc.union(&parse_addr(a.trim())?))
    })
}

/// `--src-range 10.0.0.1-10.0.0.50` (or a single address).
fn parse_addr_range(s: &str) -> Option<AddrSet> {
    let (lo, hi) = s.split_once('-').unwrap_or((s, s));
    let lo: IpAddr = lo.trim().parse().ok()?;
    let hi: IpAddr = hi.trim().parse().ok()?;
    Some(sets::addr_range(lo, hi))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sets::addr_value;
    use crate::source::{Encoding, FileStore};
    use std::sync::Arc;

    fn load_named(name: &str, text: &str) -> (Arc<SourceFile>, Config) {
        let mut store = FileStore::new();
        let id = store.add_text(name, None, text.to_string(), Encoding::Utf8);
        let file = Arc::clone(store.get(id));
        let cfg = parse(&file, &Limits::default());
        (file, cfg)
    }

    fn load(text: &str) -> (Arc<SourceFile>, Config) {
        load_named("test.rules", text)
    }

    fn chain<'c>(cfg: &'c Config, name: &str) -> &'c Chain {
        let id = cfg.filter.chain_by_name(name).expect(name);
        &cfg.filter.chains[id]
    }

    fn rule<'c>(cfg: &'c Config, chain_name: &str, n: usize) -> &'c Rule {
        &chain(cfg, chain_name).rules[n - 1]
    }

    /// A packet to test a rule's matches with.
    struct Pkt {
        proto: u128,
        src: &'static str,
        dst: &'static str,
        sport: u128,
        dport: u128,
        iif: &'static str,
        oif: &'static str,
    }

    const PKT: Pkt = Pkt {
        proto: proto::UDP,
        src: "10.20.1.1",
        dst: "203.0.113.10",
        sport: 40000,
        dport: 5060,
        iif: "eth1",
        oif: "eth0",
    };

    fn hits(r: &Rule, p: &Pkt) -> bool {
        let src = addr_value(p.src.parse().unwrap());
        let dst = addr_value(p.dst.parse().unwrap());
        r.matches.iter().any(|s| {
            s.proto.contains(p.proto)
                && s.src.contains(src)
                && s.dst.contains(dst)
                && s.sport.contains(p.sport)
                && s.dport.contains(p.dport)
                && s.src_zone.contains(p.iif)
                && s.dst_zone.contains(p.oif)
        })
    }

    #[test]
    fn policy_defaults_and_entries() {
        let text = "# Generated by iptables-save v1.8.7\n*filter\n:INPUT DROP [12:345]\n:OUTPUT ACCEPT [0:0]\n:LOGGING - [0:0]\nCOMMIT\n";
        let (file, cfg) = load(text);
        assert_eq!(cfg.format, Format::Iptables);
        assert!(cfg.errors.is_empty(), "{:?}", cfg.errors);
        let names: Vec<_> = cfg.filter.chains.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["INPUT", "FORWARD", "OUTPUT", "LOGGING"]);

        let input = chain(&cfg, "INPUT");
        assert_eq!(input.default.action, Action::Deny);
        assert!(!input.default.implicit);
        assert_eq!(file.slice(input.default.span), ":INPUT DROP [12:345]");

        // FORWARD is not declared: kernel default ACCEPT, pointing at the *filter line.
        let fwd = chain(&cfg, "FORWARD");
        assert_eq!(fwd.default.action, Action::Allow);
        assert!(fwd.default.implicit);
        assert_eq!(file.slice(fwd.default.span), "*filter");

        assert_eq!(chain(&cfg, "OUTPUT").default.action, Action::Allow);
        let user = chain(&cfg, "LOGGING");
        assert_eq!(user.default.action, Action::Return);
        assert_eq!(file.slice(user.span), ":LOGGING - [0:0]");

        let hooks: Vec<_> = cfg
            .filter
            .entries
            .iter()
            .map(|e| (e.hook, e.stages.clone()))
            .collect();
        assert_eq!(
            hooks,
            [
                (Hook::Input, vec![0]),
                (Hook::Forward, vec![1]),
                (Hook::Output, vec![2])
            ]
        );
        assert!(cfg.features.ips.is_none());
    }

    #[test]
    fn without_filter_table_every_base_chain_accepts() {
        let (file, cfg) = load("*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n");
        for name in ["INPUT", "FORWARD", "OUTPUT"] {
            let c = chain(&cfg, name);
            assert_eq!(c.default.action, Action::Allow);
            assert!(c.default.implicit);
            assert_eq!(file.slice(c.default.span), "*nat");
        }
        assert_eq!(cfg.rule_count(), 0);
    }

    #[test]
    fn rules_in_order_with_names_spans_and_actions() {
        let text = "*filter\r\n:INPUT DROP [0:0]\r\n:FORWARD DROP [0:0]\r\n:OUTPUT ACCEPT [0:0]\r\n\
-A INPUT -i lo -j ACCEPT\r\n\
-A INPUT -p tcp -m tcp --dport 22 -m comment --comment \"ssh from admins\" -s 10.99.0.0/24 -j ACCEPT\r\n\
-A INPUT -p udp --dport 53 -j REJECT --reject-with icmp-port-unreachable\r\n\
-A INPUT -j LOG --log-prefix \"in: \"\r\n\
-A INPUT -m comment --comment \"no target\"\r\n\
COMMIT\r\n";
        let (file, cfg) = load(text);
        let input = chain(&cfg, "INPUT");
        assert_eq!(input.rules.len(), 5);
        let actions: Vec<_> = input.rules.iter().map(|r| r.action.clone()).collect();
        assert_eq!(
            actions,
            [
                Action::Allow,
                Action::Allow,
                Action::Deny,
                Action::Continue,
                Action::Continue
            ]
        );
        assert_eq!(input.rules[0].name, "INPUT rule 1");
        assert_eq!(input.rules[1].name, "INPUT rule 2 \"ssh from admins\"");
        assert_eq!(input.rules[2].name, "INPUT rule 3");
        // Spans cover exactly the line (without the CRLF).
        assert_eq!(file.slice(input.rules[0].span), "-A INPUT -i lo -j ACCEPT");
        assert_eq!(
            file.slice(input.rules[2].span),
            "-A INPUT -p udp --dport 53 -j REJECT --reject-with icmp-port-unreachable"
        );
        assert_eq!(file.line_col(input.rules[2].span.start).line, 7);

        let lo = &input.rules[0];
        assert!(hits(lo, &Pkt { iif: "lo", ..PKT }));
        assert!(!hits(lo, &PKT));

        let ssh = &input.rules[1];
        assert!(hits(
            ssh,
            &Pkt {
                proto: proto::TCP,
                src: "10.99.0.7",
                dport: 22,
                ..PKT
            }
        ));
        assert!(!hits(
            ssh,
            &Pkt {
                proto: proto::TCP,
                src: "10.98.0.7",
                dport: 22,
                ..PKT
            }
        ));
        assert!(!hits(
            ssh,
            &Pkt {
                proto: proto::UDP,
                src: "10.99.0.7",
                dport: 22,
                ..PKT
            }
        ));
        assert!(ssh.unmodeled.is_empty(), "{:?}", ssh.unmodeled);
        assert!(cfg.unparsed.is_empty(), "{:?}", cfg.unparsed);
        assert!(cfg.errors.is_empty(), "{:?}", cfg.errors);
    }

    #[test]
    fn multiport_ranges_and_service_names() {
        let text = "*filter\n\
-A FORWARD -p udp -m multiport --dports 5060,5061,10000:20000 -j ACCEPT\n\
-A FORWARD -p tcp --dport :1023 -j DROP\n\
-A FORWARD -p tcp --sport 1024: -j ACCEPT\n\
-A FORWARD -p udp --dport sip -j ACCEPT\n\
-A FORWARD -p tcp -m multiport --dports http,https -j ACCEPT\n\
-A FORWARD -p udp -m multiport --ports 5060 -j ACCEPT\n\
-A FORWARD -p udp -m multiport ! --ports 5060 -j ACCEPT\n\
-A FORWARD -p 17 -j ACCEPT\n\
-A FORWARD -p all -j ACCEPT\n\
COMMIT\n";
        let (_, cfg) = load(text);
        let r = |n| rule(&cfg, "FORWARD", n);
        assert_eq!(r(1).matches.len(), 1);
        assert_eq!(
            r(1).matches[0].dport,
            PortSet::from_ranges([(5060, 5061), (10000, 20000)])
        );
        assert_eq!(r(1).matches[0].proto, ProtoSet::single(proto::UDP));
        assert_eq!(r(2).matches[0].dport, PortSet::range(0, 1023));
        assert_eq!(r(3).matches[0].sport, PortSet::range(1024, 65535));
        assert_eq!(r(4).matches[0].dport, PortSet::single(5060));
        assert_eq!(
            r(5).matches[0].dport,
            PortSet::from_ranges([(80, 80), (443, 443)])
        );
        // --ports: source OR destination port, two spaces.
        assert_eq!(r(6).matches.len(), 2);
        assert!(hits(
            r(6),
            &Pkt {
                sport: 5060,
                dport: 9999,
                ..PKT
            }
        ));
        assert!(hits(
            r(6),
            &Pkt {
                sport: 9999,
                dport: 5060,
                ..PKT
            }
        ));
        assert!(!hits(
            r(6),
            &Pkt {
                sport: 9999,
                dport: 9999,
                ..PKT
            }
        ));
        // ! --ports: neither port.
        assert!(!hits(
            r(7),
            &Pkt {
                sport: 5060,
                dport: 9999,
                ..PKT
            }
        ));
        assert!(hits(
            r(7),
            &Pkt {
                sport: 9999,
                dport: 9998,
                ..PKT
            }
        ));
        assert_eq!(r(8).matches[0].proto, ProtoSet::single(proto::UDP));
        assert!(r(9).matches[0].proto.is_full());
        assert!(cfg.unparsed.is_empty(), "{:?}", cfg.unparsed);
    }

    #[test]
    fn negations_are_folded_into_sets() {
        let text = "*filter\n\
-A INPUT ! -s 10.0.0.0/8 -j DROP\n\
-A INPUT -p tcp ! --dport 22 -j DROP\n\
-A INPUT -p tcp --dport ! 23 -j DROP\n\
-A INPUT ! -p tcp -j ACCEPT\n\
-A INPUT ! -i eth0 -j DROP\n\
-A INPUT -m iprange ! --src-range 192.168.1.10-192.168.1.20 -j DROP\n\
-A INPUT -d 10.1.0.0/255.255.0.0,10.3.0.1 -j ACCEPT\n\
-A INPUT ! -p all -j ACCEPT\n\
COMMIT\n";
        let (_, cfg) = load(text);
        let r = |n| rule(&cfg, "INPUT", n);
        assert!(!hits(
            r(1),
            &Pkt {
                src: "10.1.2.3",
                ..PKT
            }
        ));
        assert!(hits(
            r(1),
            &Pkt {
                src: "192.0.2.1",
                ..PKT
            }
        ));
        let tcp = |dport| Pkt {
            proto: proto::TCP,
            dport,
            ..PKT
        };
        assert!(!hits(r(2), &tcp(22)));
        assert!(hits(r(2), &tcp(80)));
        // Old syntax: `--dport ! 23`.
        assert!(!hits(r(3), &tcp(23)));
        assert!(hits(r(3), &tcp(22)));
        assert!(hits(r(4), &PKT));
        assert!(!hits(r(4), &tcp(80)));
        assert_eq!(
            r(5).matches[0].src_zone,
            NameSet::only(["eth0"]).complement()
        );
        assert!(!hits(
            r(6),
            &Pkt {
                src: "192.168.1.15",
                ..PKT
            }
        ));
        assert!(hits(
            r(6),
            &Pkt {
                src: "192.168.1.21",
                ..PKT
            }
        ));
        assert!(hits(
            r(7),
            &Pkt {
                dst: "10.1.200.1",
                ..PKT
            }
        ));
        assert!(hits(
            r(7),
            &Pkt {
                dst: "10.3.0.1",
                ..PKT
            }
        ));
        assert!(!hits(
            r(7),
            &Pkt {
                dst: "10.3.0.2",
                ..PKT
            }
        ));
        assert!(r(8).matches.is_empty());
        assert!(cfg.unparsed.is_empty(), "{:?}", cfg.unparsed);
    }

    #[test]
    fn jump_goto_return_wire_to_chain_ids() {
        let text = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:ADMIN - [0:0]\n:VOICE - [0:0]\n\
-A INPUT -p tcp --dport 22 -j ADMIN\n\
-A FORWARD -g VOICE\n\
-A ADMIN -s 10.99.0.0/24 -j ACCEPT\n\
-A ADMIN -j RETURN\n\
-A VOICE -p udp --dport 5060 -j ACCEPT\n\
-A VOICE -j MISSING\n\
-A VOICE -j NFQUEUE --queue-num 1\n\
COMMIT\n";
        let (file, cfg) = load(text);
        let admin = cfg.filter.chain_by_name("ADMIN").unwrap();
        let voice = cfg.filter.chain_by_name("VOICE").unwrap();
        assert_eq!(rule(&cfg, "INPUT", 1).action, Action::Jump(admin));
        assert_eq!(rule(&cfg, "FORWARD", 1).action, Action::Goto(voice));
        assert_eq!(rule(&cfg, "ADMIN", 2).action, Action::Return);
        assert_eq!(
            rule(&cfg, "VOICE", 2).action,
            Action::Unknown("MISSING".into())
        );
        assert_eq!(
            rule(&cfg, "VOICE", 3).action,
            Action::Unknown("NFQUEUE".into())
        );
        // Only the undefined chain is an input issue, pointing at its line.
        assert_eq!(cfg.errors.len(), 1, "{:?}", cfg.errors);
        assert_eq!(file.slice(cfg.errors[0].span), "-A VOICE -j MISSING");
        assert!(cfg.errors[0].message.contains("MISSING"));
    }

    #[test]
    fn undeclared_chains_are_created_and_inserts_apply() {
        let text = "*filter\n-N BLOCK\n-A BLOCK -j DROP\n-A INPUT -j BLOCK\n-A EXTRA -j ACCEPT\n-I INPUT -p tcp --dport 22 -j ACCEPT\n-I INPUT 2 -p tcp --dport 80 -j ACCEPT\nCOMMIT\n";
        let (file, cfg) = load(text);
        let input = chain(&cfg, "INPUT");
        assert_eq!(input.rules.len(), 3);
        assert_eq!(
            file.slice(input.rules[0].span),
            "-I INPUT -p tcp --dport 22 -j ACCEPT"
        );
        assert_eq!(
            file.slice(input.rules[1].span),
            "-I INPUT 2 -p tcp --dport 80 -j ACCEPT"
        );
        assert_eq!(input.rules[2].name, "INPUT rule 3");
        let block = cfg.filter.chain_by_name("BLOCK").unwrap();
        assert_eq!(input.rules[2].action, Action::Jump(block));
        assert_eq!(file.slice(chain(&cfg, "BLOCK").span), "-N BLOCK");
        let extra = chain(&cfg, "EXTRA");
        assert_eq!(extra.default.action, Action::Return);
        assert_eq!(extra.rules[0].action, Action::Allow);
        assert!(cfg.errors.is_empty(), "{:?}", cfg.errors);
    }

    #[test]
    fn connection_state() {
        let text = "*filter\n\
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
-A INPUT -m state --state ESTABLISHED -j ACCEPT\n\
-A INPUT -m conntrack --ctstate INVALID -j DROP\n\
-A INPUT -p tcp --dport 22 -m state --state NEW,ESTABLISHED -j ACCEPT\n\
-A INPUT -m state ! --state NEW -j ACCEPT\n\
-A INPUT -p tcp ! --syn -j ACCEPT\n\
-A INPUT -m conntrack --ctstate DNAT -j ACCEPT\n\
-A INPUT -m conntrack --ctstate BOGUS -j ACCEPT\n\
COMMIT\n";
        let (_, cfg) = load(text);
        let r = |n| rule(&cfg, "INPUT", n);
        assert!(r(1).established_only);
        assert!(r(2).established_only);
        assert!(!r(3).established_only);
        assert!(
            r(3).matches.is_empty(),
            "INVALID-only matches no valid flow"
        );
        assert!(!r(4).established_only);
        assert!(hits(
            r(4),
            &Pkt {
                proto: proto::TCP,
                dport: 22,
                ..PKT
            }
        ));
        assert!(r(5).established_only);
        assert!(r(6).established_only);
        assert!(!r(7).established_only);
        assert_eq!(r(7).unmodeled.len(), 1);
        assert!(!r(8).established_only);
        assert_eq!(r(8).unmodeled.len(), 1);
        assert_eq!(cfg.unparsed.len(), 1);
    }

    #[test]
    fn unmodelled_matches_become_notes() {
        let text = "*filter\n\
-A INPUT -p icmp -m icmp --icmp-type 8 -m limit --limit 5/sec --limit-burst 10 -j ACCEPT\n\
-A INPUT -m set --match-set blocklist src -j DROP\n\
-A FORWARD -i eth+ -o + -j ACCEPT\n\
-A FORWARD -m helper --helper sip -j ACCEPT\n\
-A INPUT -s badhost.example -j DROP\n\
-A INPUT -m recent --name ssh --rcheck --seconds 60 --hitcount 4 -j DROP\n\
-A INPUT -f -j DROP\n\
COMMIT\n";
        let (file, cfg) = load(text);
        let notes = |c, n| rule(&cfg, c, n).unmodeled.clone();
        assert_eq!(
            notes("INPUT", 1),
            [
                "-m icmp --icmp-type 8",
                "-m limit --limit 5/sec --limit-burst 10"
            ]
        );
        assert_eq!(notes("INPUT", 2), ["-m set --match-set blocklist src"]);
        let wild = rule(&cfg, "FORWARD", 1);
        assert_eq!(wild.matches[0].src_zone, NameSet::only(["eth+"]));
        assert!(wild.matches[0].dst_zone.is_any());
        assert_eq!(wild.unmodeled.len(), 1);
        assert!(wild.unmodeled[0].contains("eth+"));
        assert!(notes("FORWARD", 2)[0].starts_with("-m helper --helper sip"));
        assert!(notes("FORWARD", 2)[0].contains("does not assign"));
        // A host name is not resolved: unparsed, unmodeled, and the address left unconstrained.
        let host = rule(&cfg, "INPUT", 3);
        assert_eq!(host.unmodeled.len(), 1);
        assert!(host.matches[0].src.is_full());
        assert_eq!(cfg.unparsed.len(), 1);
        assert_eq!(file.slice(cfg.unparsed[0].span), "badhost.example");
        assert_eq!(
            notes("INPUT", 4),
            ["-m recent --name ssh --rcheck --seconds 60 --hitcount 4"]
        );
        assert!(rule(&cfg, "INPUT", 5).matches.is_empty());
        // The helper match does not turn the SIP helper on.
        assert!(!cfg.features.sip_alg.as_ref().unwrap().enabled);
    }

    #[test]
    fn sip_helper_on_from_raw_ct_rules() {
        let text = include_str!("../../fixtures/iptables/sip-helper-on.rules");
        let (file, cfg) = load(text);
        let sip = cfg.features.sip_alg.as_ref().unwrap();
        assert!(sip.enabled);
        assert!(!sip.default);
        assert_eq!(
            file.slice(sip.span),
            "-A PREROUTING -p udp -m udp --dport 5060 -j CT --helper sip"
        );
        assert!(sip.reason.contains("-j CT --helper sip"));
        assert_eq!(sip.related.len(), 1);
        assert_eq!(
            file.slice(sip.related[0].0),
            "-A PREROUTING -p tcp -m tcp --dport 5060 -j CT --helper sip"
        );
        assert!(cfg.errors.is_empty(), "{:?}", cfg.errors);
        assert!(cfg.unparsed.is_empty(), "{:?}", cfg.unparsed);
    }

    #[test]
    fn sip_helper_off_by_default() {
        let text = include_str!("../../fixtures/iptables/sip-helper-off.rules");
        let (file, cfg) = load(text);
        let sip = cfg.features.sip_alg.as_ref().unwrap();
        assert!(!sip.enabled);
        assert!(sip.default);
        assert_eq!(file.slice(sip.span), "*raw");
        assert!(sip.reason.contains("4.7"));
        // Without any raw table, the span is the file's first line.
        let (file, cfg) =
            load("# Generated by iptables-save\n*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n");
        let sip = cfg.features.sip_alg.as_ref().unwrap();
        assert!(!sip.enabled && sip.default);
        assert_eq!(file.slice(sip.span), "# Generated by iptables-save");
    }

    #[test]
    fn truncated_file_is_an_input_issue() {
        let text = "*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp --dport 22 -j ACCEPT\n-A INPUT -p udp --dp";
        let (file, cfg) = load(text);
        assert!(cfg
            .errors
            .iter()
            .any(|e| file.slice(e.span) == "*filter" && e.message.contains("COMMIT")));
        assert_eq!(chain(&cfg, "INPUT").rules.len(), 2);
        // The cut option is reported on the rule.
        assert!(!rule(&cfg, "INPUT", 2).unmodeled.is_empty());

        // A table left open when the next one starts.
        let (file, cfg) =
            load("*raw\n:PREROUTING ACCEPT [0:0]\n*filter\n:INPUT DROP [0:0]\nCOMMIT\n");
        assert_eq!(cfg.errors.len(), 1);
        assert_eq!(file.slice(cfg.errors[0].span), "*raw");
    }

    #[test]
    fn garbage_and_lines_outside_tables_are_unparsed() {
        let text = "-A INPUT -j ACCEPT\n*filter\nhello world\n:INPUT DROP [0:0]\nCOMMIT\nCOMMIT\n";
        let (file, cfg) = load(text);
        let spans: Vec<_> = cfg.unparsed.iter().map(|u| file.slice(u.span)).collect();
        assert_eq!(spans, ["-A INPUT -j ACCEPT", "hello world", "COMMIT"]);
        assert_eq!(cfg.rule_count(), 0);
        assert_eq!(chain(&cfg, "INPUT").default.action, Action::Deny);
    }

    #[test]
    fn drops_outside_the_filter_table_are_flagged() {
        let text = "*mangle\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -m conntrack --ctstate INVALID -j DROP\n-A PREROUTING -s 198.51.100.0/24 -j DROP\nCOMMIT\n*raw\n:PREROUTING DROP [0:0]\nCOMMIT\n";
        let (file, cfg) = load(text);
        let flagged: Vec<_> = cfg.errors.iter().map(|e| file.slice(e.span)).collect();
        assert_eq!(
            flagged,
            [
                "-A PREROUTING -s 198.51.100.0/24 -j DROP",
                ":PREROUTING DROP [0:0]"
            ]
        );
    }

    #[test]
    fn counters_prefix_and_deep_nesting() {
        let mut text = String::from("*filter\n[5:300] -A INPUT -p tcp --dport 22 -j C0\n");
        for i in 0..40 {
            text.push_str(&format!(":C{i} - [0:0]\n[0:0] -A C{i} -j C{}\n", i + 1));
        }
        text.push_str(":C40 - [0:0]\nCOMMIT\n");
        let (file, cfg) = load(&text);
        let first = rule(&cfg, "INPUT", 1);
        assert_eq!(
            file.slice(first.span),
            "[5:300] -A INPUT -p tcp --dport 22 -j C0"
        );
        assert_eq!(first.matches[0].dport, PortSet::single(22));
        assert_eq!(cfg.errors.len(), 1, "{:?}", cfg.errors);
        assert!(cfg.errors[0].message.contains("41 levels"));
        // INPUT (created by its first rule) is where the deepest nesting starts.
        assert_eq!(cfg.errors[0].span, chain(&cfg, "INPUT").span);
    }

    #[test]
    fn jump_loops_are_reported() {
        let text = "*filter\n:A - [0:0]\n:B - [0:0]\n-A INPUT -j A\n-A A -j B\n-A B -j A\nCOMMIT\n";
        let (file, cfg) = load(text);
        assert_eq!(cfg.errors.len(), 1, "{:?}", cfg.errors);
        assert_eq!(file.slice(cfg.errors[0].span), "-A B -j A");
    }

    #[test]
    fn ipv6_file() {
        let text = "# Generated by ip6tables-save v1.8.7 on Mon Mar  3 10:00:00 2025\n*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type 128 -j ACCEPT\n\
-A INPUT -s 2001:db8:10::/48 -p tcp -m tcp --dport 22 -j ACCEPT\n\
-A FORWARD -d 2001:db8:20::5/128 -p udp -m udp --dport 5060 -j ACCEPT\n\
-A FORWARD ! -s fe80::/10 -j DROP\n\
COMMIT\n";
        assert!(sniff("x", text) >= 90);
        let (_, cfg) = load(text);
        let icmp = rule(&cfg, "INPUT", 1);
        assert_eq!(icmp.matches[0].proto, ProtoSet::single(proto::ICMPV6));
        assert_eq!(icmp.unmodeled, ["-m icmp6 --icmpv6-type 128"]);
        let ssh = rule(&cfg, "INPUT", 2);
        assert!(hits(
            ssh,
            &Pkt {
                proto: proto::TCP,
                src: "2001:db8:10:ff::1",
                dst: "2001:db8::1",
                dport: 22,
                ..PKT
            }
        ));
        assert!(!hits(
            ssh,
            &Pkt {
                proto: proto::TCP,
                src: "2001:db8:11::1",
                dst: "2001:db8::1",
                dport: 22,
                ..PKT
            }
        ));
        let sip = rule(&cfg, "FORWARD", 1);
        assert!(hits(
            sip,
            &Pkt {
                src: "2001:db8:10::7",
                dst: "2001:db8:20::5",
                ..PKT
            }
        ));
        let not_ll = rule(&cfg, "FORWARD", 2);
        assert!(!hits(
            not_ll,
            &Pkt {
                src: "fe80::1",
                dst: "2001:db8:20::5",
                ..PKT
            }
        ));
        assert!(hits(
            not_ll,
            &Pkt {
                src: "2001:db8::1",
                dst: "2001:db8:20::5",
                ..PKT
            }
        ));
        assert!(cfg.unparsed.is_empty(), "{:?}", cfg.unparsed);
    }

    #[test]
    fn gateway_fixture() {
        let text = include_str!("../../fixtures/iptables/gateway.rules");
        let (file, cfg) = load_named("gateway.rules", text);
        assert!(cfg.errors.is_empty(), "{:?}", cfg.errors);
        assert!(cfg.unparsed.is_empty(), "{:?}", cfg.unparsed);
        let fwd = chain(&cfg, "FORWARD");
        assert_eq!(fwd.default.action, Action::Deny);
        assert_eq!(file.slice(fwd.default.span), ":FORWARD DROP [0:0]");
        assert!(fwd.rules[0].established_only);
        // The early RTP drop shadows 10000-12000 of the provider rule.
        let drop = &fwd.rules[1];
        assert_eq!(drop.action, Action::Deny);
        assert_eq!(drop.matches[0].dport, PortSet::range(10000, 12000));
        let voice = cfg.filter.chain_by_name("VOICE").unwrap();
        let jump = &fwd.rules[2];
        assert_eq!(jump.action, Action::Jump(voice));
        assert!(hits(jump, &PKT));
        assert!(!hits(
            jump,
            &Pkt {
                src: "10.21.0.1",
                ..PKT
            }
        ));
        let rtp = &cfg.filter.chains[voice].rules[1];
        assert_eq!(rtp.matches[0].dport, PortSet::range(10000, 20000));
        assert_eq!(rtp.action, Action::Allow);
        let admin = cfg.filter.chain_by_name("ADMIN").unwrap();
        assert_eq!(rule(&cfg, "INPUT", 4).action, Action::Jump(admin));
        assert_eq!(
            cfg.filter.chains[admin].rules.last().unwrap().action,
            Action::Return
        );
        let sip = cfg.features.sip_alg.as_ref().unwrap();
        assert!(!sip.enabled);
        assert_eq!(file.slice(sip.span), "*raw");
    }

    #[test]
    fn sniff_shortcut_holds_for_every_command() {
        // `sniff` classifies only lines starting with one of `*:-[C`.
        assert!(COMMANDS.iter().all(|c| c.starts_with('-')));
        assert!(TABLES.iter().all(|t| !t.is_empty()));
    }

    #[test]
    fn sniff_scores() {
        assert!(
            sniff(
                "a",
                "*filter\n:INPUT DROP [0:0]\n-A INPUT -j ACCEPT\nCOMMIT\n"
            ) >= 90
        );
        assert!(sniff("a", "-A INPUT -p tcp --dport 22 -j ACCEPT\n") > 0);
        assert_eq!(sniff("a", "table inet filter {\n  chain input {\n    type filter hook input priority 0; policy drop;\n  }\n}\n"), 0);
        assert_eq!(
            sniff(
                "a",
                "config firewall policy\n    edit 1\n        set action accept\n    next\nend\n"
            ),
            0
        );
        assert_eq!(
            sniff(
                "a",
                "hostname fw\naccess-list outside_in extended permit udp any any eq sip\n"
            ),
            0
        );
        assert_eq!(sniff("a", ":local x 5\n:put $x\n"), 0);
        assert_eq!(sniff("a", ""), 0);
    }

    #[test]
    fn hostile_input_does_not_panic() {
        for text in [
            "*filter\n-A\n-A INPUT !\n-A INPUT -p\n-A INPUT -j\n-I INPUT 99999999999999999999 -j ACCEPT\n! ! !\n-A INPUT --dport 70000:1 -s 300.1.1.1 -j\nCOMMIT",
            "*filter\n-A INPUT -s 10.0.0.0/33 --src-range a-b -m -j ACCEPT \"unterminated\n",
            "\u{feff}*raw\n-A PREROUTING -j CT --helper\nCOMMIT\n",
            "[1:2]\n[1:2] -A INPUT -j ACCEPT\n",
        ] {
            let _ = load(text);
        }
        let long = format!(
            "*filter\n-A INPUT {}\nCOMMIT\n",
            "-s 1.2.3.4 ".repeat(10_000)
        );
        let (_, cfg) = load(&long);
        assert!(!cfg.errors.is_empty());
    }

    #[test]
    fn corpus_files_are_detected_and_parsed() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/iptables/corpus");
        let mut store = FileStore::new();
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            let id = store.add_bytes(path.display().to_string(), Some(path.clone()), &bytes);
            let file = store.get(id);
            assert_eq!(
                crate::formats::detect(file),
                Format::Iptables,
                "{}",
                path.display()
            );
            let cfg = parse(file, &Limits::default());
            assert!(cfg.rule_count() > 0, "{}", path.display());
            seen += 1;
        }
        assert_eq!(seen, 5);
    }
}
