//! Google Cloud VPC firewall rules JSON (`gcloud compute firewall-rules list --format=json`, a
//! list, `{"items": [...]}` from the API, or one rule).
//!
//! Per VPC network, ingress and egress rules are evaluated by `priority` (default 1000, lowest
//! first); at equal priority a deny rule wins over an allow rule. `disabled` rules are kept but
//! skipped. The implied rules close each direction: deny all ingress, allow all egress. Target
//! tags / service accounts and source tags / service accounts are unmodeled (the rule may apply to
//! fewer instances or sources). Firewall rules are stateful.

use super::util::{has, has_member};
use crate::formats::json_spans::{self, cloud, JKind, JVal};
use crate::formats::Limits;
use crate::model::{Action, Chain, ChainDefault, Config, Entry, Format, Hook, Rule, Unparsed};
use crate::sets::{self, proto, AddrSet, PortSet, ProtoSet, Space};
use crate::source::{SourceFile, Span};

pub fn sniff(_name: &str, text: &str) -> u8 {
    if !json_spans::looks_like_json(text) || json_spans::foreign_json(text) {
        return 0;
    }
    if has_member(text, "\"kind\"", Some("\"compute#firewall\"")) {
        return 95;
    }
    let keys = has(text, "\"sourceRanges\"")
        || has(text, "\"IPProtocol\"")
        || has(text, "\"destinationRanges\"");
    let verdicts = has_member(text, "\"allowed\"", None) || has_member(text, "\"denied\"", None);
    if keys && verdicts {
        90
    } else {
        0
    }
}

fn strs(v: Option<&JVal>) -> Vec<String> {
    match v.map(|x| &x.kind) {
        Some(JKind::Arr(a)) => a.iter().filter_map(|x| x.as_text()).collect(),
        Some(JKind::Str(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

struct Item<'a> {
    v: &'a JVal,
    priority: i64,
    deny: bool,
    ingress: bool,
    network: String,
}

struct P<'a> {
    file: &'a SourceFile,
    cfg: Config,
}

impl P<'_> {
    fn span(&self, v: &JVal) -> Span {
        Span::new(self.file.id, v.start, v.end)
    }

    fn ranges(&mut self, list: &[String], at: Span, unmodeled: &mut Vec<String>) -> AddrSet {
        let mut out = AddrSet::empty();
        for r in list {
            match sets::parse_net(r.trim()) {
                Some(a) => out = out.union(&a),
                None => {
                    unmodeled.push(format!("range {r}"));
                    self.cfg.unparsed.push(Unparsed {
                        span: at,
                        reason: format!("address range `{r}` not understood"),
                    });
                    return AddrSet::full();
                }
            }
        }
        out
    }

    fn rule(&mut self, it: &Item) -> Rule {
        let v = it.v;
        let at = self.span(v);
        let name = v
            .get("name")
            .and_then(|x| x.as_text())
            .unwrap_or_else(|| "(unnamed rule)".into());
        let mut unmodeled = Vec::new();
        let mut base = Space::all();
        let src_ranges = strs(v.get("sourceRanges"));
        let dst_ranges = strs(v.get("destinationRanges"));
        if !src_ranges.is_empty() {
            base.src = self.ranges(&src_ranges, at, &mut unmodeled);
        }
        if !dst_ranges.is_empty() {
            base.dst = self.ranges(&dst_ranges, at, &mut unmodeled);
        }
        for (k, what) in [
            ("sourceTags", "source tags"),
            ("sourceServiceAccounts", "source service accounts"),
        ] {
            let t = strs(v.get(k));
            if !t.is_empty() {
                unmodeled.push(format!("{what} {}", t.join(",")));
                // A source tag adds sources beyond sourceRanges: any address, uncertain.
                base.src = AddrSet::full();
            }
        }
        for (k, what) in [
            ("targetTags", "target tags"),
            ("targetServiceAccounts", "target service accounts"),
        ] {
            let t = strs(v.get(k));
            if !t.is_empty() {
                unmodeled.push(format!("{what} {}", t.join(",")));
            }
        }
        let list_key = if it.deny { "denied" } else { "allowed" };
        let mut matches = Vec::new();
        for entry in v.get(list_key).and_then(|x| x.as_arr()).unwrap_or(&[]) {
            let p = entry
                .get("IPProtocol")
                .and_then(|x| x.as_text())
                .unwrap_or_else(|| "all".into());
            let mut s = base.clone();
            if !p.eq_ignore_ascii_case("all") {
                let n = match p.to_ascii_lowercase().as_str() {
                    "ipip" => Some(4),
                    other => proto::from_name(other),
                };
                match n {
                    Some(n) => s.proto = ProtoSet::single(n),
                    None => {
                        unmodeled.push(format!("protocol {p}"));
                        self.cfg.unparsed.push(Unparsed {
                            span: self.span(entry),
                            reason: format!("protocol `{p}` not understood"),
                        });
                    }
                }
            }
            let ports = strs(entry.get("ports"));
            if !ports.is_empty() {
                let mut set = PortSet::empty();
                for pr in &ports {
                    match cloud::port_range(pr) {
                        Some(x) => set = set.union(&x),
                        None => {
                            unmodeled.push(format!("port {pr}"));
                            set = PortSet::full();
                            break;
                        }
                    }
                }
                s.dport = set;
            }
            matches.push(s);
        }
        let action = if it.deny { Action::Deny } else { Action::Allow };
        let mut r = Rule::new(format!("{name} (priority {})", it.priority), at, action);
        r.matches = matches;
        r.unmodeled = unmodeled;
        r.enabled = !v.get("disabled").and_then(|x| x.as_bool()).unwrap_or(false);
        r
    }
}

pub fn parse(file: &SourceFile, limits: &Limits) -> Config {
    let mut p = P {
        file,
        cfg: Config::new(Format::Gcp, Span::new(file.id, 0, file.text.len())),
    };
    p.cfg.features.sip_alg = Some(cloud::sip_off(file, "cloud firewall rules"));
    let root = match json_spans::parse(&file.text, limits.max_depth) {
        Ok(r) => r,
        Err(e) => {
            p.cfg.errors.push(cloud::syntax_issue(file, &e));
            return p.cfg;
        }
    };
    let list: Vec<&JVal> = if let Some(a) = root.as_arr() {
        a.iter().collect()
    } else if let Some(a) = root.get("items").and_then(|x| x.as_arr()) {
        a.iter().collect()
    } else {
        vec![&root]
    };
    let mut items = Vec::new();
    for v in list {
        let deny = v.get("denied").is_some();
        if !deny && v.get("allowed").is_none() {
            p.cfg.unparsed.push(Unparsed {
                span: p.span(v),
                reason: "JSON element without `allowed` or `denied`: not a firewall rule".into(),
            });
            continue;
        }
        let ingress = !v
            .get("direction")
            .and_then(|x| x.as_str())
            .is_some_and(|d| d.eq_ignore_ascii_case("egress"));
        let network = v
            .get("network")
            .and_then(|x| x.as_str())
            .and_then(|n| n.rsplit('/').next())
            .unwrap_or("default")
            .to_string();
        items.push(Item {
            v,
            priority: v.get("priority").and_then(|x| x.as_i64()).unwrap_or(1000),
            deny,
            ingress,
            network,
        });
    }
    // Lower priority first; deny before allow at equal priority; file order otherwise.
    items.sort_by_key(|i| (i.priority, !i.deny));
    let mut networks: Vec<String> = Vec::new();
    for i in &items {
        if !networks.contains(&i.network) {
            networks.push(i.network.clone());
        }
    }
    let implied_span = file.line_span(1);
    for net in &networks {
        for ingress in [true, false] {
            let rules: Vec<Rule> = items
                .iter()
                .filter(|i| &i.network == net && i.ingress == ingress)
                .map(|i| p.rule(i))
                .collect::<Vec<_>>();
            let dir = if ingress { "ingress" } else { "egress" };
            let id = p.cfg.filter.chains.len();
            p.cfg.filter.chains.push(Chain {
                name: format!("network {net} {dir}"),
                span: p.span(&root),
                rules,
                default: ChainDefault {
                    // Implied rules: deny all ingress, allow all egress (priority 65535).
                    action: if ingress { Action::Deny } else { Action::Allow },
                    span: implied_span,
                    implicit: true,
                },
            });
            let hooks: &[Hook] = if ingress {
                &[Hook::Input, Hook::Forward]
            } else {
                &[Hook::Output]
            };
            for &hook in hooks {
                p.cfg.filter.entries.push(Entry {
                    hook,
                    stages: vec![id],
                });
            }
        }
    }
    p.cfg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::flow::{classify, Decider, Fate};
    use crate::formats::detect;
    use crate::source::{Encoding, FileId};

    fn src(text: &str) -> SourceFile {
        SourceFile::from_text(FileId(0), "x".into(), None, text.into(), Encoding::Utf8)
    }

    fn load(path: &str) -> SourceFile {
        let p = format!("{}/fixtures/gcp/{path}", env!("CARGO_MANIFEST_DIR"));
        src(&std::fs::read_to_string(p).unwrap())
    }

    fn udp(lo: u128, hi: u128, from: &str) -> Space {
        let mut s = Space::all();
        s.proto = ProtoSet::single(proto::UDP);
        s.dport = PortSet::range(lo, hi);
        s.src = sets::parse_net(from).unwrap();
        s
    }

    #[test]
    fn priority_deny_before_allow_and_disabled() {
        let f = load("rules.json");
        assert_eq!(detect(&f), Format::Gcp);
        let c = parse(&f, &Limits::default());
        assert!(c.errors.is_empty());
        let ch = &c.filter.chains[0];
        assert_eq!(ch.name, "network voice-vpc ingress");
        let names: Vec<&str> = ch.rules.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "deny-media-low (priority 900)",
                "allow-media (priority 900)",
                "allow-sip-disabled (priority 950)",
                "allow-ssh-tagged (priority 1000)",
            ]
        );
        assert!(!ch.rules[2].enabled);
        assert!(ch.rules[3]
            .unmodeled
            .iter()
            .any(|u| u.contains("target tags")));
        assert!(f.slice(ch.rules[0].span).contains("\"deny-media-low\""));
        assert_eq!(ch.default.action, Action::Deny);
        assert!(ch.default.implicit);
        let eg = &c.filter.chains[1];
        assert_eq!(eg.default.action, Action::Allow);
        assert_eq!(
            eg.rules[0].matches[0].dst,
            sets::parse_net("192.0.2.0/24").unwrap()
        );
        let parts = classify(
            &c.filter,
            &c.filter.entries[0],
            &[
                udp(10000, 20000, "198.51.100.1/32"),
                udp(5060, 5060, "198.51.100.1/32"),
            ],
            8,
        );
        let allowed = parts
            .iter()
            .filter(|p| p.fate == Fate::Allow)
            .fold(PortSet::empty(), |a, p| a.union(&p.space.dport));
        assert_eq!(allowed, PortSet::range(12001, 20000));
        let d = parts
            .iter()
            .find(|p| p.fate == Fate::Deny && p.space.dport.contains(10000))
            .unwrap();
        assert_eq!(d.decider, Decider::Rule { chain: 0, rule: 0 });
        // 5060: the allow rule is disabled, so the implied deny decides
        let d = parts.iter().find(|p| p.space.dport.contains(5060)).unwrap();
        assert_eq!(d.decider, Decider::Default { chain: 0 });
    }

    #[test]
    fn truncated_and_corpus() {
        let f = src("[\n {\"name\": \"a\", \"allowed\": [\n");
        let c = parse(&f, &Limits::default());
        assert_eq!(c.errors.len(), 1);
        let dir = format!("{}/fixtures/gcp/corpus", env!("CARGO_MANIFEST_DIR"));
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let f = src(&std::fs::read_to_string(&p).unwrap());
            assert_eq!(detect(&f), Format::Gcp, "{p:?}");
            let c = parse(&f, &Limits::default());
            assert!(c.errors.is_empty() && c.rule_count() > 0, "{p:?}");
        }
        // items form with the API kind
        let f = src(
            r#"{"kind": "compute#firewallList", "items": [{"kind": "compute#firewall", "name": "x",
            "network": "projects/p/global/networks/n1", "direction": "INGRESS", "priority": 10,
            "sourceRanges": ["0.0.0.0/0"], "allowed": [{"IPProtocol": "17", "ports": ["5060"]}]}]}"#,
        );
        assert_eq!(detect(&f), Format::Gcp);
        let c = parse(&f, &Limits::default());
        assert_eq!(c.filter.chains[0].name, "network n1 ingress");
        assert_eq!(
            c.filter.chains[0].rules[0].matches[0].proto,
            ProtoSet::single(proto::UDP)
        );
    }
}
