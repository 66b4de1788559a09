//! AWS `describe-security-groups` and `describe-network-acls` JSON.
//!
//! Security groups are allow-only and stateful, with an implicit deny: each group becomes an
//! inbound chain (entries Input and Forward: traffic to the instances, including traffic routed
//! through the VPC) and an outbound chain (entry Output). Rules whose source is another security
//! group (`UserIdGroupPairs`) or a prefix list are kept as unmodeled rules over any address.
//!
//! Network ACLs are ordered by `RuleNumber`, first match, with the `*` (32767) deny at the end.
//! They are stateless: return traffic needs its own rule in the other direction, but portaudit
//! evaluates the forward direction of a flow only, so that is not checked here.

use super::util::has;
use crate::formats::json_spans::{self, cloud, JVal};
use crate::formats::Limits;
use crate::model::{Action, Chain, ChainDefault, Config, Entry, Format, Hook, Rule, Unparsed};
use crate::sets::{self, proto, AddrSet, PortSet, ProtoSet, Space};
use crate::source::{SourceFile, Span};

pub fn sniff(_name: &str, text: &str) -> u8 {
    if !json_spans::looks_like_json(text) || json_spans::foreign_json(text) {
        return 0;
    }
    if has(text, "\"SecurityGroups\"")
        || has(text, "\"IpPermissions\"")
        || has(text, "\"NetworkAcls\"")
        || (has(text, "\"RuleNumber\"") && has(text, "\"RuleAction\""))
    {
        90
    } else {
        0
    }
}

struct P<'a> {
    file: &'a SourceFile,
    cfg: Config,
}

/// Protocol set and whether ports apply, from `IpProtocol` / NACL `Protocol`.
fn protocol(p: &str) -> Option<ProtoSet> {
    let p = p.trim();
    if p == "-1" || p.eq_ignore_ascii_case("all") {
        return Some(ProtoSet::full());
    }
    proto::from_name(p).map(ProtoSet::single)
}

impl P<'_> {
    fn span(&self, v: &JVal) -> Span {
        Span::new(self.file.id, v.start, v.end)
    }

    fn text(v: Option<&JVal>) -> String {
        v.and_then(|x| x.as_text()).unwrap_or_default()
    }

    /// Protocol and destination port spaces of a permission or NACL entry.
    fn service(
        &mut self,
        protos: &str,
        from: Option<i64>,
        to: Option<i64>,
        at: Span,
    ) -> (Space, Vec<String>) {
        let mut s = Space::all();
        let mut unmodeled = Vec::new();
        match protocol(protos) {
            Some(p) => s.proto = p,
            None => {
                unmodeled.push(format!("protocol {protos}"));
                self.cfg.unparsed.push(Unparsed {
                    span: at,
                    reason: format!("protocol `{protos}` not understood"),
                });
            }
        }
        let single = s.proto.ranges().len() == 1 && s.proto.count() == 1;
        let p = s.proto.ranges().first().map(|r| r.0).unwrap_or(0);
        if single && proto::has_ports(p) {
            match (from, to) {
                (Some(a), Some(b)) if a >= 0 && b >= a && b <= 65535 => {
                    s.dport = PortSet::range(a as u128, b as u128)
                }
                (None, None) | (Some(-1), _) | (_, Some(-1)) => {}
                _ => unmodeled.push(format!(
                    "port range {}-{}",
                    from.unwrap_or(-1),
                    to.unwrap_or(-1)
                )),
            }
        } else if single && (p == proto::ICMP || p == proto::ICMPV6) {
            if let Some(t) = from.filter(|t| *t != -1) {
                unmodeled.push(format!("ICMP type {t} code {}", to.unwrap_or(-1)));
            }
        }
        (s, unmodeled)
    }

    fn security_group(&mut self, sg: &JVal) {
        let id = Self::text(sg.get("GroupId"));
        let name = Self::text(sg.get("GroupName"));
        let label = if name.is_empty() {
            id.clone()
        } else {
            format!("{id} ({name})")
        };
        let sg_span = self.span(sg);
        for (key, inbound) in [("IpPermissions", true), ("IpPermissionsEgress", false)] {
            let list = sg.get(key);
            let dir = if inbound { "inbound" } else { "outbound" };
            let mut rules = Vec::new();
            for (i, perm) in list
                .and_then(|l| l.as_arr())
                .unwrap_or(&[])
                .iter()
                .enumerate()
            {
                let at = self.span(perm);
                let rname = format!("{label} {dir} rule {}", i + 1);
                let (svc, unm) = self.service(
                    &Self::text(perm.get("IpProtocol")),
                    perm.get("FromPort").and_then(|v| v.as_i64()),
                    perm.get("ToPort").and_then(|v| v.as_i64()),
                    at,
                );
                let mut addrs = AddrSet::empty();
                for (k, f) in [("IpRanges", "CidrIp"), ("Ipv6Ranges", "CidrIpv6")] {
                    for r in perm.get(k).and_then(|v| v.as_arr()).unwrap_or(&[]) {
                        let c = Self::text(r.get(f));
                        match sets::parse_net(&c) {
                            Some(a) => addrs = addrs.union(&a),
                            None => self.cfg.unparsed.push(Unparsed {
                                span: self.span(r),
                                reason: format!("address `{c}` not understood"),
                            }),
                        }
                    }
                }
                if !addrs.is_empty() {
                    let mut s = svc.clone();
                    if inbound {
                        s.src = addrs;
                    } else {
                        s.dst = addrs;
                    }
                    let mut r = Rule::new(rname.clone(), at, Action::Allow);
                    r.matches = vec![s];
                    r.unmodeled = unm.clone();
                    rules.push(r);
                }
                let mut refs = Vec::new();
                for g in perm
                    .get("UserIdGroupPairs")
                    .and_then(|v| v.as_arr())
                    .unwrap_or(&[])
                {
                    refs.push(format!(
                        "{} security group {}",
                        if inbound { "source" } else { "destination" },
                        Self::text(g.get("GroupId"))
                    ));
                }
                for p in perm
                    .get("PrefixListIds")
                    .and_then(|v| v.as_arr())
                    .unwrap_or(&[])
                {
                    refs.push(format!("prefix list {}", Self::text(p.get("PrefixListId"))));
                }
                if !refs.is_empty() {
                    let mut r =
                        Rule::new(format!("{rname} ({})", refs.join(", ")), at, Action::Allow);
                    r.matches = vec![svc];
                    r.unmodeled = unm;
                    r.unmodeled.extend(refs);
                    rules.push(r);
                }
            }
            let default_span = list.map(|l| self.span(l)).unwrap_or(sg_span);
            let chain = Chain {
                name: format!("{label} {dir}"),
                span: sg_span,
                rules,
                default: ChainDefault {
                    action: Action::Deny,
                    span: default_span,
                    implicit: true,
                },
            };
            self.push_chain(chain, inbound);
        }
    }

    fn push_chain(&mut self, chain: Chain, inbound: bool) {
        let id = self.cfg.filter.chains.len();
        self.cfg.filter.chains.push(chain);
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

    fn network_acl(&mut self, acl: &JVal) {
        let id = Self::text(acl.get("NetworkAclId"));
        let acl_span = self.span(acl);
        let entries = acl.get("Entries").and_then(|v| v.as_arr()).unwrap_or(&[]);
        for (egress, dir) in [(false, "inbound"), (true, "outbound")] {
            let mut list: Vec<(i64, &JVal)> = entries
                .iter()
                .filter(|e| e.get("Egress").and_then(|v| v.as_bool()).unwrap_or(false) == egress)
                .map(|e| {
                    (
                        e.get("RuleNumber")
                            .and_then(|v| v.as_i64())
                            .unwrap_or(i64::MAX),
                        e,
                    )
                })
                .collect();
            list.sort_by_key(|(n, _)| *n);
            let mut rules = Vec::new();
            let mut default_span = acl.get("Entries").map(|v| self.span(v)).unwrap_or(acl_span);
            for (n, e) in list {
                let at = self.span(e);
                let number = if n == 32767 {
                    "*".to_string()
                } else {
                    n.to_string()
                };
                if n == 32767 {
                    default_span = at;
                }
                let action = match Self::text(e.get("RuleAction"))
                    .to_ascii_lowercase()
                    .as_str()
                {
                    "allow" => Action::Allow,
                    "deny" => Action::Deny,
                    other => Action::Unknown(format!("RuleAction {other}")),
                };
                // Ports for tcp/udp; ICMP entries carry IcmpTypeCode instead.
                let (pr, lo, hi) = match e.get("IcmpTypeCode") {
                    Some(icmp) if e.get("PortRange").is_none() => (Some(icmp), "Type", "Code"),
                    _ => (e.get("PortRange"), "From", "To"),
                };
                let (mut s, unm) = self.service(
                    &Self::text(e.get("Protocol")),
                    pr.and_then(|p| p.get(lo)).and_then(|v| v.as_i64()),
                    pr.and_then(|p| p.get(hi)).and_then(|v| v.as_i64()),
                    at,
                );
                let cidr = e
                    .get("CidrBlock")
                    .or_else(|| e.get("Ipv6CidrBlock"))
                    .and_then(|v| v.as_text())
                    .unwrap_or_default();
                let mut r = Rule::new(format!("{id} {dir} rule {number}"), at, action);
                match sets::parse_net(&cidr) {
                    Some(a) => {
                        if egress {
                            s.dst = a;
                        } else {
                            s.src = a;
                        }
                        r.matches = vec![s];
                    }
                    None => {
                        r.matches = vec![s];
                        r.unmodeled.push(format!("CIDR block `{cidr}`"));
                        self.cfg.unparsed.push(Unparsed {
                            span: at,
                            reason: format!("NACL entry CIDR `{cidr}` not understood"),
                        });
                    }
                }
                r.unmodeled.extend(unm);
                rules.push(r);
            }
            let chain = Chain {
                name: format!("{id} {dir}"),
                span: acl_span,
                rules,
                default: ChainDefault {
                    action: Action::Deny,
                    span: default_span,
                    implicit: true,
                },
            };
            self.push_chain(chain, !egress);
        }
    }
}

pub fn parse(file: &SourceFile, limits: &Limits) -> Config {
    let mut p = P {
        file,
        cfg: Config::new(Format::Aws, Span::new(file.id, 0, file.text.len())),
    };
    p.cfg.features.sip_alg = Some(cloud::sip_off(file, "cloud security groups"));
    let root = match json_spans::parse(&file.text, limits.max_depth) {
        Ok(r) => r,
        Err(e) => {
            p.cfg.errors.push(cloud::syntax_issue(file, &e));
            return p.cfg;
        }
    };
    let mut found = false;
    let items: Vec<&JVal> = match root.as_arr() {
        Some(a) => a.iter().collect(),
        None => vec![&root],
    };
    for it in items {
        if let Some(sgs) = it.get("SecurityGroups").and_then(|v| v.as_arr()) {
            found = true;
            for sg in sgs {
                p.security_group(sg);
            }
        }
        if let Some(acls) = it.get("NetworkAcls").and_then(|v| v.as_arr()) {
            found = true;
            for a in acls {
                p.network_acl(a);
            }
        }
        if it.get("IpPermissions").is_some() || it.get("IpPermissionsEgress").is_some() {
            found = true;
            p.security_group(it);
        }
        if it.get("Entries").is_some() && it.get("NetworkAclId").is_some() {
            found = true;
            p.network_acl(it);
        }
    }
    if !found {
        p.cfg.unparsed.push(Unparsed {
            span: file.line_span(1),
            reason: "no SecurityGroups or NetworkAcls found in this AWS JSON".into(),
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
        let p = format!("{}/fixtures/aws/{path}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(p).unwrap();
        SourceFile::from_text(FileId(0), path.into(), None, text, Encoding::Utf8)
    }

    fn udp(lo: u128, hi: u128, src: &str) -> Space {
        let mut s = Space::all();
        s.proto = ProtoSet::single(proto::UDP);
        s.dport = PortSet::range(lo, hi);
        s.src = sets::parse_net(src).unwrap();
        s
    }

    fn allowed(parts: &[crate::engine::flow::Part]) -> PortSet {
        parts
            .iter()
            .filter(|p| p.fate == Fate::Allow)
            .fold(PortSet::empty(), |a, p| a.union(&p.space.dport))
    }

    #[test]
    fn security_groups() {
        let f = load("sg.json");
        assert_eq!(detect(&f), Format::Aws);
        let c = parse(&f, &Limits::default());
        assert!(c.errors.is_empty());
        let ch = &c.filter.chains[0];
        assert_eq!(ch.name, "sg-0voice (voice-sbc) inbound");
        assert_eq!(ch.default.action, Action::Deny);
        assert!(ch.default.implicit);
        let r = &ch.rules[0];
        assert_eq!(r.matches[0].dport, PortSet::range(10000, 20000));
        assert_eq!(r.matches[0].proto, ProtoSet::single(proto::UDP));
        assert!(f.slice(r.span).starts_with('{') && f.slice(r.span).contains("10000"));
        // IPv4 and IPv6 ranges of one permission
        assert!(r.matches[0]
            .src
            .contains(sets::addr_value("2001:db8::1".parse().unwrap())));
        // source security group: kept as an unmodeled rule over any source
        let g = ch
            .rules
            .iter()
            .find(|r| r.name.contains("security group"))
            .unwrap();
        assert!(g.unmodeled.iter().any(|u| u.contains("sg-0mgmt")));
        assert!(g.matches[0].src.is_full());
        // entries: inbound chain on Input and Forward, outbound on Output
        let hooks: Vec<(Hook, Vec<usize>)> = c
            .filter
            .entries
            .iter()
            .take(3)
            .map(|e| (e.hook, e.stages.clone()))
            .collect();
        assert_eq!(
            hooks,
            vec![
                (Hook::Input, vec![0]),
                (Hook::Forward, vec![0]),
                (Hook::Output, vec![1])
            ]
        );
        let parts = classify(
            &c.filter,
            &c.filter.entries[1],
            &[udp(5000, 30000, "198.51.100.1/32")],
            8,
        );
        assert_eq!(allowed(&parts), PortSet::range(10000, 20000));
        let s = c.features.sip_alg.as_ref().unwrap();
        assert!(!s.enabled && s.default && s.reason.contains("no SIP ALG"));
        assert!(c.features.ips.is_none());
    }

    #[test]
    fn network_acl_order() {
        let f = load("sg.json");
        let c = parse(&f, &Limits::default());
        let (id, ch) = c
            .filter
            .chains
            .iter()
            .enumerate()
            .find(|(_, c)| c.name == "acl-0edge inbound")
            .unwrap();
        // written out of order in the file: sorted by RuleNumber
        let names: Vec<&str> = ch.rules.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "acl-0edge inbound rule 90",
                "acl-0edge inbound rule 100",
                "acl-0edge inbound rule *"
            ]
        );
        assert_eq!(ch.default.span, ch.rules[2].span);
        let entry = c
            .filter
            .entries
            .iter()
            .find(|e| e.hook == Hook::Forward && e.stages == vec![id])
            .unwrap();
        let parts = classify(&c.filter, entry, &[udp(10000, 20000, "203.0.113.5/32")], 8);
        assert_eq!(allowed(&parts), PortSet::range(12001, 20000));
        let d = parts.iter().find(|p| p.fate == Fate::Deny).unwrap();
        assert_eq!(d.decider, Decider::Rule { chain: id, rule: 0 });
        assert_eq!(d.space.dport, PortSet::range(10000, 12000));
    }

    #[test]
    fn truncated_json() {
        let text = "{\n \"SecurityGroups\": [\n  {\"GroupId\": \"sg-1\",\n";
        let f = SourceFile::from_text(FileId(0), "x".into(), None, text.into(), Encoding::Utf8);
        let c = parse(&f, &Limits::default());
        assert_eq!(c.errors.len(), 1);
        assert_eq!(f.line_col(c.errors[0].span.start).line, 3);
        assert_eq!(f.slice(c.errors[0].span), "  {\"GroupId\": \"sg-1\",");
    }

    #[test]
    fn corpus_files_detect_and_parse() {
        let dir = format!("{}/fixtures/aws/corpus", env!("CARGO_MANIFEST_DIR"));
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let text = std::fs::read_to_string(&p).unwrap();
            let f = SourceFile::from_text(FileId(0), "c".into(), None, text, Encoding::Utf8);
            assert_eq!(detect(&f), Format::Aws, "{p:?}");
            let c = parse(&f, &Limits::default());
            assert!(c.errors.is_empty() && c.rule_count() > 0, "{p:?}");
        }
    }
}
