//! Azure network security groups: ARM JSON (`properties.securityRules[].properties`) and the
//! az CLI's flattened shape (same keys without `properties`), one NSG, a list, `{"value": [...]}`
//! or an ARM template's `resources`.
//!
//! Rules are evaluated by priority (lowest number first), first match; the default rules
//! (`AllowVnetInBound` 65000, `AllowAzureLoadBalancerInBound` 65001, `DenyAllInBound` 65500 and
//! the outbound ones) come from `defaultSecurityRules`, or are added as Azure's built-in defaults
//! (implicit) when the export leaves them out. Service tags: `*`/`Any` = any address, `Internet` =
//! public address space; `VirtualNetwork`, `AzureLoadBalancer`, other tags and application
//! security groups are unmodeled (any address, verdict uncertain). NSGs are stateful.

use super::util::has;
use crate::formats::json_spans::{self, cloud, JKind, JVal};
use crate::formats::Limits;
use crate::model::{Action, Chain, ChainDefault, Config, Entry, Format, Hook, Rule, Unparsed};
use crate::sets::{self, proto, AddrSet, PortSet, ProtoSet, Space};
use crate::source::{SourceFile, Span};

pub fn sniff(_name: &str, text: &str) -> u8 {
    if !json_spans::looks_like_json(text) || json_spans::foreign_json(text) {
        return 0;
    }
    if has(text, "\"securityRules\"")
        || has(text, "Microsoft.Network/networkSecurityGroups")
        || has(text, "\"defaultSecurityRules\"")
    {
        90
    } else {
        0
    }
}

/// One rule, from the file or a built-in default.
struct R {
    name: String,
    span: Span,
    priority: i64,
    inbound: bool,
    allow: Option<bool>,
    protocol: String,
    src_ports: Vec<String>,
    dst_ports: Vec<String>,
    src: Vec<String>,
    dst: Vec<String>,
    /// Application security groups named by the rule.
    asgs: Vec<String>,
    is_default: bool,
}

fn strs(v: Option<&JVal>) -> Vec<String> {
    match v.map(|x| &x.kind) {
        Some(JKind::Str(s)) if !s.is_empty() => vec![s.clone()],
        Some(JKind::Num(n)) => vec![n.clone()],
        Some(JKind::Arr(a)) => a.iter().filter_map(|x| x.as_text()).collect(),
        _ => Vec::new(),
    }
}

fn field<'a>(r: &'a JVal, k: &str) -> Option<&'a JVal> {
    r.get("properties")
        .and_then(|p| p.get(k))
        .or_else(|| r.get(k))
}

fn both(r: &JVal, single: &str, plural: &str) -> Vec<String> {
    let mut v = strs(field(r, single));
    v.extend(strs(field(r, plural)));
    v
}

fn read_rule(r: &JVal, span: Span, is_default: bool) -> R {
    let asgs: Vec<String> = [
        "sourceApplicationSecurityGroups",
        "destinationApplicationSecurityGroups",
    ]
    .iter()
    .flat_map(|k| {
        field(r, k)
            .and_then(|v| v.as_arr())
            .unwrap_or(&[])
            .iter()
            .map(|g| {
                g.get("id")
                    .and_then(|x| x.as_str())
                    .and_then(|s| s.rsplit('/').next())
                    .unwrap_or("?")
                    .to_string()
            })
            .collect::<Vec<_>>()
    })
    .collect();
    R {
        name: r
            .get("name")
            .and_then(|v| v.as_text())
            .unwrap_or_else(|| "(unnamed rule)".into()),
        span,
        priority: field(r, "priority")
            .and_then(|v| v.as_i64())
            .unwrap_or(i64::MAX),
        inbound: !field(r, "direction")
            .and_then(|v| v.as_str())
            .is_some_and(|d| d.eq_ignore_ascii_case("outbound")),
        allow: match field(r, "access").and_then(|v| v.as_str()) {
            Some(a) if a.eq_ignore_ascii_case("allow") => Some(true),
            Some(a) if a.eq_ignore_ascii_case("deny") => Some(false),
            _ => None,
        },
        protocol: field(r, "protocol")
            .and_then(|v| v.as_text())
            .unwrap_or_else(|| "*".into()),
        src_ports: both(r, "sourcePortRange", "sourcePortRanges"),
        dst_ports: both(r, "destinationPortRange", "destinationPortRanges"),
        src: both(r, "sourceAddressPrefix", "sourceAddressPrefixes"),
        dst: both(r, "destinationAddressPrefix", "destinationAddressPrefixes"),
        asgs,
        is_default,
    }
}

/// Azure's built-in default rules, for exports that leave them out.
fn builtin_defaults(span: Span) -> Vec<R> {
    let mk = |name: &str, prio: i64, inbound: bool, allow: bool, src: &str, dst: &str| R {
        name: format!("{name} (Azure default rule, not in the export)"),
        span,
        priority: prio,
        inbound,
        allow: Some(allow),
        protocol: "*".into(),
        src_ports: vec!["*".into()],
        dst_ports: vec!["*".into()],
        src: vec![src.into()],
        dst: vec![dst.into()],
        asgs: Vec::new(),
        is_default: true,
    };
    vec![
        mk(
            "AllowVnetInBound",
            65000,
            true,
            true,
            "VirtualNetwork",
            "VirtualNetwork",
        ),
        mk(
            "AllowAzureLoadBalancerInBound",
            65001,
            true,
            true,
            "AzureLoadBalancer",
            "*",
        ),
        mk("DenyAllInBound", 65500, true, false, "*", "*"),
        mk(
            "AllowVnetOutBound",
            65000,
            false,
            true,
            "VirtualNetwork",
            "VirtualNetwork",
        ),
        mk("AllowInternetOutBound", 65001, false, true, "*", "Internet"),
        mk("DenyAllOutBound", 65500, false, false, "*", "*"),
    ]
}

/// Addresses of prefixes / service tags; unmodeled tags give any address and a note.
fn addrs(list: &[String], unmodeled: &mut Vec<String>, bad: &mut Vec<String>) -> AddrSet {
    if list.is_empty() {
        return AddrSet::full();
    }
    let mut out = AddrSet::empty();
    for a in list {
        let t = a.trim();
        if t == "*" || t.eq_ignore_ascii_case("any") {
            return AddrSet::full();
        }
        if t.eq_ignore_ascii_case("internet") {
            out = out.union(&cloud::private_space().complement());
            continue;
        }
        match sets::parse_net(t) {
            Some(n) => out = out.union(&n),
            None => {
                let is_tag = t
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_');
                if is_tag {
                    unmodeled.push(format!("service tag {t}"));
                } else {
                    unmodeled.push(format!("address {t}"));
                    bad.push(t.to_string());
                }
                return AddrSet::full();
            }
        }
    }
    out
}

fn ports(list: &[String], unmodeled: &mut Vec<String>) -> PortSet {
    if list.is_empty() {
        return PortSet::full();
    }
    let mut out = PortSet::empty();
    for p in list {
        match cloud::port_range(p) {
            Some(s) => out = out.union(&s),
            None => {
                unmodeled.push(format!("port {p}"));
                return PortSet::full();
            }
        }
    }
    out
}

struct P<'a> {
    file: &'a SourceFile,
    cfg: Config,
    nsgs: usize,
}

impl P<'_> {
    fn span(&self, v: &JVal) -> Span {
        Span::new(self.file.id, v.start, v.end)
    }

    fn compile(&mut self, r: &R) -> Rule {
        let mut unmodeled = Vec::new();
        let mut bad = Vec::new();
        let mut s = Space::all();
        let p = r.protocol.trim();
        if !(p == "*" || p.eq_ignore_ascii_case("any")) {
            match proto::from_name(p) {
                Some(n) => s.proto = ProtoSet::single(n),
                None => {
                    unmodeled.push(format!("protocol {p}"));
                    bad.push(format!("protocol {p}"));
                }
            }
        }
        s.src = addrs(&r.src, &mut unmodeled, &mut bad);
        s.dst = addrs(&r.dst, &mut unmodeled, &mut bad);
        s.sport = ports(&r.src_ports, &mut unmodeled);
        s.dport = ports(&r.dst_ports, &mut unmodeled);
        for g in &r.asgs {
            unmodeled.push(format!("application security group {g}"));
        }
        let action = match r.allow {
            Some(true) => Action::Allow,
            Some(false) => Action::Deny,
            None => Action::Unknown("access not Allow or Deny".into()),
        };
        let prio = if r.priority == i64::MAX {
            "no priority".to_string()
        } else {
            format!("priority {}", r.priority)
        };
        let mut rule = Rule::new(format!("{} ({prio})", r.name), r.span, action);
        rule.matches = vec![s];
        rule.unmodeled = unmodeled;
        for b in bad {
            self.cfg.unparsed.push(Unparsed {
                span: r.span,
                reason: format!("NSG rule value `{b}` not understood"),
            });
        }
        rule
    }

    fn nsg(&mut self, nsg: &JVal) {
        self.nsgs += 1;
        let name = nsg
            .get("name")
            .and_then(|v| v.as_text())
            .unwrap_or_else(|| format!("nsg {}", self.nsgs));
        let nsg_span = self.span(nsg);
        let mut rules = Vec::new();
        let custom = field(nsg, "securityRules");
        for r in custom.and_then(|v| v.as_arr()).unwrap_or(&[]) {
            rules.push(read_rule(r, self.span(r), false));
        }
        match field(nsg, "defaultSecurityRules").and_then(|v| v.as_arr()) {
            Some(d) if !d.is_empty() => {
                for r in d {
                    rules.push(read_rule(r, self.span(r), true));
                }
            }
            _ => {
                let at = custom.map(|c| self.span(c)).unwrap_or(nsg_span);
                rules.extend(builtin_defaults(at));
            }
        }
        // Lowest priority number first (stable: file order on ties).
        rules.sort_by_key(|r| r.priority);
        for inbound in [true, false] {
            let dir = if inbound { "inbound" } else { "outbound" };
            let mine: Vec<&R> = rules.iter().filter(|r| r.inbound == inbound).collect();
            let default_span = mine
                .iter()
                .rev()
                .find(|r| r.is_default && r.allow == Some(false))
                .map(|r| r.span)
                .unwrap_or(nsg_span);
            let compiled: Vec<Rule> = mine.iter().map(|r| self.compile(r)).collect();
            let id = self.cfg.filter.chains.len();
            self.cfg.filter.chains.push(Chain {
                name: format!("{name} {dir}"),
                span: nsg_span,
                rules: compiled,
                default: ChainDefault {
                    action: Action::Deny,
                    span: default_span,
                    implicit: true,
                },
            });
            let hooks: &[Hook] = if inbound {
                &[Hook::Input, Hook::Forward]
            } else {
                &[Hook::Output]
            };
            for &hook in hooks {
                self.cfg.filter.entries.push(Entry {
                    hook,
                    stages: vec![id],
                });
            }
        }
    }

    /// Find NSG objects anywhere in the document (bounded by the parser's depth limit).
    fn walk(&mut self, v: &JVal) {
        match &v.kind {
            JKind::Obj(_) => {
                let is_nsg = field(v, "securityRules").is_some()
                    || field(v, "defaultSecurityRules").is_some()
                    || v.get("type").and_then(|t| t.as_str()).is_some_and(|t| {
                        t.eq_ignore_ascii_case("Microsoft.Network/networkSecurityGroups")
                    });
                if is_nsg {
                    self.nsg(v);
                } else {
                    for (_, x) in v.members() {
                        self.walk(x);
                    }
                }
            }
            JKind::Arr(a) => {
                for x in a {
                    self.walk(x);
                }
            }
            _ => {}
        }
    }
}

pub fn parse(file: &SourceFile, limits: &Limits) -> Config {
    let mut p = P {
        file,
        cfg: Config::new(Format::Azure, Span::new(file.id, 0, file.text.len())),
        nsgs: 0,
    };
    p.cfg.features.sip_alg = Some(cloud::sip_off(file, "cloud network security groups"));
    match json_spans::parse(&file.text, limits.max_depth) {
        Ok(root) => p.walk(&root),
        Err(e) => p.cfg.errors.push(cloud::syntax_issue(file, &e)),
    }
    if p.nsgs == 0 && p.cfg.errors.is_empty() {
        p.cfg.unparsed.push(Unparsed {
            span: file.line_span(1),
            reason: "no network security group found in this Azure JSON".into(),
        });
    }
    p.cfg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::flow::{classify, Decider, Fate};
    use crate::formats::detect;
    use crate::source::{Encoding, FileId};

    fn load(path: &str) -> SourceFile {
        let p = format!("{}/fixtures/azure/{path}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(p).unwrap();
        SourceFile::from_text(FileId(0), path.into(), None, text, Encoding::Utf8)
    }

    fn src(text: &str) -> SourceFile {
        SourceFile::from_text(FileId(0), "x".into(), None, text.into(), Encoding::Utf8)
    }

    fn udp(lo: u128, hi: u128, from: &str) -> Space {
        let mut s = Space::all();
        s.proto = ProtoSet::single(proto::UDP);
        s.dport = PortSet::range(lo, hi);
        s.src = sets::parse_net(from).unwrap();
        s
    }

    #[test]
    fn arm_shape_priority_order_and_defaults() {
        let f = load("nsg.json");
        assert_eq!(detect(&f), Format::Azure);
        let c = parse(&f, &Limits::default());
        assert!(c.errors.is_empty());
        let ch = &c.filter.chains[0];
        assert_eq!(ch.name, "nsg-voice inbound");
        let names: Vec<&str> = ch.rules.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "DenyMediaLow (priority 100)",
                "AllowMedia (priority 200)",
                "AllowVnetInBound (priority 65000)",
                "AllowAzureLoadBalancerInBound (priority 65001)",
                "DenyAllInBound (priority 65500)",
            ]
        );
        assert!(f.slice(ch.rules[0].span).contains("\"DenyMediaLow\""));
        assert_eq!(ch.default.span, ch.rules[4].span);
        assert!(ch.rules[2]
            .unmodeled
            .iter()
            .any(|u| u.contains("VirtualNetwork")));
        // destinationPortRanges list
        assert_eq!(
            ch.rules[1].matches[0].dport,
            PortSet::range(10000, 20000).union(&PortSet::single(5060))
        );
        // Internet = public space
        assert!(!ch.rules[1].matches[0]
            .src
            .contains(sets::addr_value("10.1.1.1".parse().unwrap())));
        let parts = classify(
            &c.filter,
            &c.filter.entries[1],
            &[udp(10000, 20000, "198.51.100.1/32")],
            8,
        );
        let allowed = parts
            .iter()
            .filter(|p| p.fate == Fate::Allow)
            .fold(PortSet::empty(), |a, p| a.union(&p.space.dport));
        assert_eq!(allowed, PortSet::range(12001, 20000));
        let d = parts.iter().find(|p| p.fate == Fate::Deny).unwrap();
        assert_eq!(d.decider, Decider::Rule { chain: 0, rule: 0 });
        assert_eq!(c.filter.entries[0].hook, Hook::Input);
        assert_eq!(c.filter.entries[2].hook, Hook::Output);
        assert!(!c.features.sip_alg.as_ref().unwrap().enabled);
    }

    #[test]
    fn cli_shape_without_defaults_gets_builtin_defaults() {
        let text = r#"[{"name": "cli-nsg", "securityRules": [
  {"name": "ssh", "protocol": "Tcp", "sourcePortRange": "*", "destinationPortRange": "22",
   "sourceAddressPrefix": "203.0.113.0/24", "destinationAddressPrefix": "*",
   "access": "Allow", "priority": 300, "direction": "Inbound"},
  {"name": "no-sip-out", "protocol": "Udp", "sourcePortRange": "*", "destinationPortRange": "5060",
   "sourceAddressPrefix": "*", "destinationAddressPrefix": "Internet",
   "access": "Deny", "priority": 100, "direction": "Outbound"}
]}]"#;
        let f = src(text);
        assert_eq!(detect(&f), Format::Azure);
        let c = parse(&f, &Limits::default());
        let inb = &c.filter.chains[0];
        assert_eq!(inb.rules.len(), 4);
        assert_eq!(inb.rules[0].matches[0].dport, PortSet::single(22));
        assert!(inb.rules[3]
            .name
            .starts_with("DenyAllInBound (Azure default rule"));
        assert_eq!(inb.rules[3].action, Action::Deny);
        let out = &c.filter.chains[1];
        assert_eq!(out.name, "cli-nsg outbound");
        assert_eq!(out.rules[0].action, Action::Deny);
        assert!(out.rules[2].name.starts_with("AllowInternetOutBound"));
        assert!(f.slice(out.rules[2].span).starts_with('['));
    }

    #[test]
    fn truncated_and_corpus() {
        let f = src("{\"properties\": {\"securityRules\": [\n  {\"name\": \"x\",\n");
        let c = parse(&f, &Limits::default());
        assert_eq!(c.errors.len(), 1);
        assert_eq!(f.line_col(c.errors[0].span.start).line, 2);
        let dir = format!("{}/fixtures/azure/corpus", env!("CARGO_MANIFEST_DIR"));
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let f = src(&std::fs::read_to_string(&p).unwrap());
            assert_eq!(detect(&f), Format::Azure, "{p:?}");
            let c = parse(&f, &Limits::default());
            assert!(c.errors.is_empty() && c.rule_count() > 0, "{p:?}");
            // DenySSHFromVm3ToVm2 (priority 5) comes first, singular + plural port keys.
            assert_eq!(
                c.filter.chains[0].rules[0].matches[0].dport,
                PortSet::single(22)
            );
        }
    }
}
