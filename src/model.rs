//! The common model every vendor format parses into.
//!
//! A parsed input is a [`Config`]: its packet filter ([`Filter`]: ordered chains of [`Rule`]s
//! with first-match semantics, entered from hooks), its device features ([`Features`]: SIP ALG
//! state, IPS attachment), its application settings ([`Setting`]s, for settings dumps), and what
//! the parser did not understand. Every element keeps the [`Span`] it came from.

use std::collections::BTreeMap;

use crate::sets::Space;
use crate::source::Span;

/// Input format ids, as they appear in JSON output and in `portaudit.yaml`.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Iptables,
    Nftables,
    Fortios,
    Asa,
    Ios,
    Junos,
    Panos,
    Pfsense,
    Opnsense,
    Mikrotik,
    Checkpoint,
    Aws,
    Azure,
    Gcp,
    Ucontact,
    Unknown,
}

impl Format {
    pub const ALL: [Format; 16] = [
        Format::Iptables,
        Format::Nftables,
        Format::Fortios,
        Format::Asa,
        Format::Ios,
        Format::Junos,
        Format::Panos,
        Format::Pfsense,
        Format::Opnsense,
        Format::Mikrotik,
        Format::Checkpoint,
        Format::Aws,
        Format::Azure,
        Format::Gcp,
        Format::Ucontact,
        Format::Unknown,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Format::Iptables => "iptables",
            Format::Nftables => "nftables",
            Format::Fortios => "fortios",
            Format::Asa => "asa",
            Format::Ios => "ios",
            Format::Junos => "junos",
            Format::Panos => "panos",
            Format::Pfsense => "pfsense",
            Format::Opnsense => "opnsense",
            Format::Mikrotik => "mikrotik",
            Format::Checkpoint => "checkpoint",
            Format::Aws => "aws",
            Format::Azure => "azure",
            Format::Gcp => "gcp",
            Format::Ucontact => "ucontact",
            Format::Unknown => "unknown",
        }
    }

    pub fn from_id(s: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.id() == s)
    }

    /// Whether the format describes a packet filter (as opposed to application settings).
    pub fn is_firewall(self) -> bool {
        !matches!(self, Format::Ucontact | Format::Unknown)
    }
}

/// One parsed input file.
#[derive(Clone, Debug)]
pub struct Config {
    pub format: Format,
    /// Span of the whole file (findings about the file as a whole point at its first line).
    pub file_span: Span,
    /// Device name when the export says it (hostname, system name).
    pub name: Option<String>,
    pub filter: Filter,
    pub features: Features,
    /// Application settings by canonical key (settings dumps).
    pub settings: BTreeMap<String, Setting>,
    /// For settings the file does not hold: the place they would be written (the deepest
    /// section present), so a "not evidenced" finding points there rather than at line 1.
    pub setting_anchors: BTreeMap<String, Span>,
    /// Lines or elements the parser did not understand.
    pub unparsed: Vec<Unparsed>,
    /// Problems that make the evaluation of this file incomplete (truncated file, bad syntax).
    pub errors: Vec<InputIssue>,
    /// The FQDN patterns of the export's address objects (`portal.example.com`,
    /// `*.example.com`), normalized ([`crate::sets::normalize_host`]). Rules that use them match
    /// the pseudo addresses of [`crate::sets::host_addr`]; this list says which names exist, so a
    /// required host can be matched against wildcard objects.
    pub fqdns: std::collections::BTreeSet<String>,
}

impl Config {
    pub fn new(format: Format, file_span: Span) -> Self {
        Config {
            format,
            file_span,
            name: None,
            filter: Filter::default(),
            features: Features::default(),
            settings: BTreeMap::new(),
            setting_anchors: BTreeMap::new(),
            unparsed: Vec::new(),
            errors: Vec::new(),
            fqdns: std::collections::BTreeSet::new(),
        }
    }

    /// Record an FQDN object's name or pattern and return its pseudo address set.
    pub fn add_fqdn(&mut self, name: &str) -> crate::sets::AddrSet {
        let n = crate::sets::normalize_host(name);
        let set = crate::sets::AddrSet::single(crate::sets::host_addr(&n));
        if !n.is_empty() {
            self.fqdns.insert(n);
        }
        set
    }

    /// The span a finding about the whole file points at: its first line.
    pub fn file_anchor(&self, file: &crate::source::SourceFile) -> Span {
        file.line_span(1)
    }

    /// Number of rules (all chains, enabled or not).
    pub fn rule_count(&self) -> usize {
        self.filter.chains.iter().map(|c| c.rules.len()).sum()
    }
}

/// Something the parser did not understand.
#[derive(Clone, Debug)]
pub struct Unparsed {
    pub span: Span,
    pub reason: String,
}

/// A problem that makes the file's evaluation incomplete.
#[derive(Clone, Debug)]
pub struct InputIssue {
    pub span: Span,
    pub message: String,
}

/// Index of a chain in [`Filter::chains`].
pub type ChainId = usize;

/// A packet filter: chains of ordered rules, and the entry points traffic takes through them.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub chains: Vec<Chain>,
    pub entries: Vec<Entry>,
}

impl Filter {
    pub fn chain_by_name(&self, name: &str) -> Option<ChainId> {
        self.chains.iter().position(|c| c.name == name)
    }
}

/// Where traffic meets the filter, relative to the device.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Hook {
    /// Traffic addressed to the device itself.
    Input,
    /// Traffic routed through the device.
    Forward,
    /// Traffic the device itself originates.
    Output,
}

/// An entry point: traffic of this hook traverses these chains in order, and is allowed only if
/// every one of them allows it (for example an ASA ingress ACL, then the egress ACL).
#[derive(Clone, Debug)]
pub struct Entry {
    pub hook: Hook,
    pub stages: Vec<ChainId>,
}

/// What happens to traffic that reaches the end of a chain.
#[derive(Clone, Debug)]
pub struct ChainDefault {
    /// `Allow` or `Deny` for base chains; `Return` for user chains.
    pub action: Action,
    /// Where the default is written (`:INPUT DROP`), or the most relevant span when it is an
    /// implicit vendor default.
    pub span: Span,
    /// True when nothing in the file states it (vendor default).
    pub implicit: bool,
}

/// An ordered list of rules, evaluated first match.
#[derive(Clone, Debug)]
pub struct Chain {
    /// Name as the vendor writes it (`INPUT`, `firewall policy`, `outside_access_in`).
    pub name: String,
    pub span: Span,
    pub rules: Vec<Rule>,
    pub default: ChainDefault,
}

/// What a rule does with matching traffic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Allow,
    Deny,
    /// Continue in another chain; come back on return / end of that chain.
    Jump(ChainId),
    /// Continue in another chain and do not come back.
    Goto(ChainId),
    /// Return to the calling chain.
    Return,
    /// Matching traffic continues with the next rule (logging, counting, marking).
    Continue,
    /// An action the parser does not understand: any verdict that depends on it is uncertain.
    Unknown(String),
}

/// One rule of a chain.
#[derive(Clone, Debug)]
pub struct Rule {
    /// How users name the rule: `policy 12`, `rule 3 of INPUT`, `access-list outside line 4`.
    pub name: String,
    pub span: Span,
    pub enabled: bool,
    pub action: Action,
    /// The headers the rule matches, as a union of product spaces (a service group of `tcp/443`
    /// and `udp/5060` is two spaces). Negations are already folded in. An empty list matches
    /// nothing.
    pub matches: Vec<Space>,
    /// Only matches traffic of existing connections (ESTABLISHED/RELATED), never a new flow.
    pub established_only: bool,
    /// Match conditions portaudit does not model (time schedules, string matches, unresolved
    /// objects): the rule may match less than `matches`, so verdicts through it are uncertain.
    pub unmodeled: Vec<String>,
    /// Inspection attached to the rule (IPS sensor, VoIP profile, application proxy).
    pub inspection: Vec<Inspection>,
}

impl Rule {
    pub fn new(name: impl Into<String>, span: Span, action: Action) -> Self {
        Rule {
            name: name.into(),
            span,
            enabled: true,
            action,
            matches: vec![Space::all()],
            established_only: false,
            unmodeled: Vec::new(),
            inspection: Vec::new(),
        }
    }
}

/// Inspection attached to a rule.
#[derive(Clone, Debug)]
pub struct Inspection {
    pub kind: InspectionKind,
    /// The profile or sensor name as written.
    pub name: String,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InspectionKind {
    /// Intrusion prevention (can drop packets).
    Ips,
    /// A SIP/VoIP application proxy (an ALG forced on for the rule).
    SipAlg,
}

/// Device-wide features.
#[derive(Clone, Debug, Default)]
pub struct Features {
    /// SIP ALG / SIP helper / SIP inspection, when the format has one.
    pub sip_alg: Option<FeatureState>,
    /// Device-wide IPS (for products where IPS is not attached per rule).
    pub ips: Option<FeatureState>,
}

/// The state of a device feature with the evidence for it.
#[derive(Clone, Debug)]
pub struct FeatureState {
    pub enabled: bool,
    /// The most relevant span: where it is turned on or off, or, for a vendor default, the
    /// place the missing setting would go.
    pub span: Span,
    /// True when the state comes from a vendor default rather than a written setting.
    pub default: bool,
    /// One sentence that says why (`inspect sip` under `policy-map global_policy`).
    pub reason: String,
    /// Further places that contribute (a session-helper entry, a voip-profile on a policy).
    pub related: Vec<(Span, String)>,
}

/// A value from an application settings dump.
#[derive(Clone, Debug, PartialEq)]
pub enum SettingValue {
    Bool(bool),
    Int(i64),
    Str(String),
    List(Vec<String>),
}

impl SettingValue {
    pub fn render(&self) -> String {
        match self {
            SettingValue::Bool(b) => b.to_string(),
            SettingValue::Int(i) => i.to_string(),
            SettingValue::Str(s) => format!("{s:?}"),
            SettingValue::List(l) => format!("[{}]", l.join(", ")),
        }
    }
}

/// One setting with where it is written.
#[derive(Clone, Debug)]
pub struct Setting {
    pub value: SettingValue,
    /// The value's span (for a value derived from several entries, the collection's key).
    pub span: Span,
    /// For list values: the span of each item, in the same order, so a finding can label each
    /// offending entry.
    pub item_spans: Vec<Span>,
}

impl Setting {
    pub fn new(value: SettingValue, span: Span) -> Self {
        Setting {
            value,
            span,
            item_spans: Vec::new(),
        }
    }
}

/// A jump or goto that leads back into a chain still being walked (a loop), found by
/// [`jump_depths`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JumpLoop {
    /// The chain holding the rule.
    pub chain: ChainId,
    /// Index of the rule in that chain's rules.
    pub rule: usize,
    /// The chain it jumps to, on the path that led to `chain` (or `chain` itself).
    pub target: ChainId,
}

/// The jump/goto structure of a set of chains, from [`jump_depths`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JumpDepths {
    /// For each chain, the longest run of jump/goto starting there (0: it jumps nowhere).
    pub depth: Vec<usize>,
    /// The loops, in the order a depth-first walk (chains in order, rules in order) meets them.
    pub loops: Vec<JumpLoop>,
}

impl JumpDepths {
    /// The chain starting the longest run of jumps, with its length (the last such chain on a
    /// tie); None when there are no chains.
    pub fn deepest(&self) -> Option<(ChainId, usize)> {
        self.depth
            .iter()
            .copied()
            .enumerate()
            .max_by_key(|&(_, d)| d)
    }

    /// Each loop as an input error at the rule that closes it: `loader` (the tool that loads
    /// the rules) rejects the whole ruleset, so what was exported never ran as written.
    pub fn loop_issues(&self, chains: &[Chain], loader: &str) -> Vec<InputIssue> {
        self.loops
            .iter()
            .map(|l| {
                let rule = &chains[l.chain].rules[l.rule];
                InputIssue {
                    span: rule.span,
                    message: format!(
                        "{} leads back into chain {}: a jump loop, which {loader} rejects",
                        rule.name, chains[l.target].name
                    ),
                }
            })
            .collect()
    }
}

/// Walk the jumps and gotos between `chains` (iteratively, so a hostile nesting cannot overflow
/// the stack): the longest run of jumps from each chain and the loops met. Targets out of range
/// are ignored.
///
/// Every jump or goto is one level, as every group reference is in the formats with object
/// groups. A loop is never followed twice: its jump counts one level, whether it leads into the
/// chain itself or back into a calling chain (iptables-restore and nft both reject loops; the
/// formats once differed here, nftables counting only a chain jumping to itself).
pub fn jump_depths(chains: &[Chain]) -> JumpDepths {
    let target = |r: &Rule| match r.action {
        Action::Jump(t) | Action::Goto(t) => Some(t).filter(|&t| t < chains.len()),
        _ => None,
    };
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        New,
        OnStack,
        Done,
    }
    let mut state = vec![State::New; chains.len()];
    let mut depth = vec![0usize; chains.len()];
    let mut loops = Vec::new();
    for root in 0..chains.len() {
        if state[root] != State::New {
            continue;
        }
        state[root] = State::OnStack;
        let mut stack = vec![(root, 0usize)];
        while let Some(top) = stack.last_mut() {
            let (c, i) = *top;
            if let Some(rule) = chains[c].rules.get(i) {
                top.1 += 1;
                let Some(t) = target(rule) else {
                    continue;
                };
                match state[t] {
                    State::New => {
                        state[t] = State::OnStack;
                        stack.push((t, 0));
                    }
                    State::OnStack => loops.push(JumpLoop {
                        chain: c,
                        rule: i,
                        target: t,
                    }),
                    State::Done => {}
                }
            } else {
                stack.pop();
                state[c] = State::Done;
                // Every target is now done, or on the stack (a loop: its depth is still 0, so
                // the loop's jump counts one level).
                depth[c] = chains[c]
                    .rules
                    .iter()
                    .filter_map(target)
                    .map(|t| depth[t] + 1)
                    .max()
                    .unwrap_or(0);
            }
        }
    }
    JumpDepths { depth, loops }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::FileId;

    /// Chains named by index, each rule jumping (or going) to the listed targets in order.
    fn chains(targets: &[&[ChainId]]) -> Vec<Chain> {
        let span = Span::new(FileId(0), 0, 0);
        targets
            .iter()
            .enumerate()
            .map(|(c, ts)| Chain {
                name: format!("c{c}"),
                span,
                rules: ts
                    .iter()
                    .enumerate()
                    .map(|(i, &t)| {
                        let action = if i % 2 == 0 {
                            Action::Jump(t)
                        } else {
                            Action::Goto(t)
                        };
                        Rule::new(format!("rule {i} of c{c}"), span, action)
                    })
                    .chain([Rule::new("accept", span, Action::Allow)])
                    .collect(),
                default: ChainDefault {
                    action: Action::Return,
                    span,
                    implicit: true,
                },
            })
            .collect()
    }

    #[test]
    fn jump_depths_without_loops() {
        // c0 -> c1 -> c2 -> c3, c0 -> c3, c4 alone; 9 is out of range and ignored.
        let cs = chains(&[&[1, 3], &[2], &[3, 9], &[], &[]]);
        let w = jump_depths(&cs);
        assert_eq!(w.depth, vec![3, 2, 1, 0, 0]);
        assert!(w.loops.is_empty());
        assert_eq!(w.deepest(), Some((0, 3)));
        assert_eq!(jump_depths(&[]).deepest(), None);
    }

    #[test]
    fn jump_depths_loops() {
        // c0 -> c1 -> c2 -> c0 (a loop back into a caller), c2 -> c2 (into itself).
        let cs = chains(&[&[1], &[2], &[0, 2]]);
        let loops = vec![
            JumpLoop {
                chain: 2,
                rule: 0,
                target: 0,
            },
            JumpLoop {
                chain: 2,
                rule: 1,
                target: 2,
            },
        ];
        let w = jump_depths(&cs);
        assert_eq!(w.loops, loops);
        assert_eq!(w.depth, vec![3, 2, 1]);
        // Without the self-jump, the loop back into c0 still counts one level.
        let cs = chains(&[&[1], &[2], &[0]]);
        assert_eq!(jump_depths(&cs).depth, vec![3, 2, 1]);
        // A chain jumping only to itself: one level.
        let cs = chains(&[&[1], &[1]]);
        assert_eq!(jump_depths(&cs).depth, vec![2, 1]);
        // Ties: the last chain of the longest run.
        let cs = chains(&[&[1], &[], &[3], &[]]);
        assert_eq!(jump_depths(&cs).deepest(), Some((2, 1)));
    }
}
