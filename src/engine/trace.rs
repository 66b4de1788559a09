//! Tracing single packets through a parsed filter: which rule (or default) decides them. Used by
//! `portaudit trace` and by the kernel agreement harness (scripts/kernel-agreement.py).

use std::net::IpAddr;

use super::flow::{classify, Decider, Fate};
use crate::model::{Config, Hook};
use crate::sets::{addr_value, AddrSet, NameSet, PortSet, ProtoSet, Space};

/// One packet.
#[derive(Clone, Debug, serde::Deserialize, serde::Serialize)]
pub struct Packet {
    pub hook: Hook,
    /// Protocol number (6 tcp, 17 udp, ...).
    pub proto: u8,
    pub src: IpAddr,
    pub dst: IpAddr,
    #[serde(default)]
    pub sport: Option<u16>,
    #[serde(default)]
    pub dport: Option<u16>,
    /// Ingress interface or zone (None: any).
    #[serde(default)]
    pub iif: Option<String>,
    /// Egress interface or zone (None: any).
    #[serde(default)]
    pub oif: Option<String>,
}

/// What happens to a packet on one entry point.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Verdict {
    /// allow, deny or unknown.
    pub fate: &'static str,
    /// The deciding rule or default, as users name it.
    pub by: String,
    /// 1-based line of the deciding rule or default.
    pub line: usize,
    /// Rules on the path whose conditions are not modelled.
    pub uncertain: bool,
    /// Which part of the dimensions the packet left open this verdict covers, when they are
    /// decided differently (None: the whole packet).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
}

fn point_space(p: &Packet) -> Space {
    let port = |v: Option<u16>| {
        v.map(|x| PortSet::single(u128::from(x)))
            .unwrap_or_else(PortSet::full)
    };
    let name = |v: &Option<String>| {
        v.as_ref()
            .map(|n| NameSet::only([n.clone()]))
            .unwrap_or(NameSet::Any)
    };
    Space {
        proto: ProtoSet::single(u128::from(p.proto)),
        src: AddrSet::single(addr_value(p.src)),
        dst: AddrSet::single(addr_value(p.dst)),
        sport: port(p.sport),
        dport: port(p.dport),
        src_zone: name(&p.iif),
        dst_zone: name(&p.oif),
    }
}

/// The verdicts of every entry point of the packet's hook (several for multi-VDOM devices);
/// empty when the filter has no entry for that hook.
///
/// A packet that leaves a dimension open (no source port, say) is a set of packets, which rules may
/// decide differently: then each entry point gives one verdict per outcome, each saying in `when`
/// which part of the open dimensions it covers, so that no answer stands for traffic it does not
/// decide.
pub fn trace(
    config: &Config,
    file: &crate::source::SourceFile,
    packet: &Packet,
    max_depth: usize,
) -> Vec<Verdict> {
    let space = point_space(packet);
    let hooks: [Hook; 1] = [packet.hook];
    let mut out = Vec::new();
    for entry in super::flow::entries_for(&config.filter, &hooks) {
        let parts = classify(
            &config.filter,
            entry,
            std::slice::from_ref(&space),
            max_depth,
        );
        if parts.is_empty() {
            out.push(Verdict {
                fate: "unknown",
                by: "nothing".into(),
                line: 0,
                uncertain: true,
                when: None,
            });
            continue;
        }
        // Parts with the same outcome are one verdict; their open dimensions are united.
        let mut groups: Vec<(Fate, Decider, bool, Space)> = Vec::new();
        for p in parts {
            let uncertain = !p.uncertain_via.is_empty() || p.fate == Fate::Unknown;
            match groups
                .iter_mut()
                .find(|g| g.0 == p.fate && g.1 == p.decider && g.2 == uncertain)
            {
                Some(g) => {
                    g.3.sport = g.3.sport.union(&p.space.sport);
                    g.3.dport = g.3.dport.union(&p.space.dport);
                    g.3.src_zone = g.3.src_zone.union(&p.space.src_zone);
                    g.3.dst_zone = g.3.dst_zone.union(&p.space.dst_zone);
                }
                None => groups.push((p.fate, p.decider, uncertain, p.space)),
            }
        }
        let several = groups.len() > 1;
        for (fate, decider, uncertain, part) in groups {
            let (by, span) = match decider {
                Decider::Rule { chain, rule } | Decider::Unknown { chain, rule } => {
                    let r = &config.filter.chains[chain].rules[rule];
                    (r.name.clone(), r.span)
                }
                Decider::Default { chain } => {
                    let c = &config.filter.chains[chain];
                    (format!("default of {}", c.name), c.default.span)
                }
            };
            out.push(Verdict {
                fate: match fate {
                    Fate::Allow => "allow",
                    Fate::Deny => "deny",
                    Fate::Unknown => "unknown",
                },
                by,
                line: file.line_col(span.start).line,
                uncertain,
                when: several.then(|| describe_open(packet, &part)),
            });
        }
    }
    out
}

/// The part of the dimensions a packet left open that `part` covers, e.g. `sport 5060, in eth1`.
fn describe_open(packet: &Packet, part: &Space) -> String {
    let mut what = Vec::new();
    if packet.sport.is_none() && !part.sport.is_full() {
        what.push(format!("sport {}", part.sport.render()));
    }
    if packet.dport.is_none() && !part.dport.is_full() {
        what.push(format!("dport {}", part.dport.render()));
    }
    if packet.iif.is_none() && !part.src_zone.is_any() {
        what.push(format!("in {}", part.src_zone.render()));
    }
    if packet.oif.is_none() && !part.dst_zone.is_any() {
        what.push(format!("out {}", part.dst_zone.render()));
    }
    if what.is_empty() {
        "the rest".into()
    } else {
        what.join(", ")
    }
}
