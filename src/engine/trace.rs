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

/// The verdict of every entry point of the packet's hook (several for multi-VDOM devices);
/// empty when the filter has no entry for that hook.
pub fn trace(
    config: &Config,
    file: &crate::source::SourceFile,
    packet: &Packet,
    max_depth: usize,
) -> Vec<Verdict> {
    let space = point_space(packet);
    let hooks: [Hook; 1] = [packet.hook];
    super::flow::entries_for(&config.filter, &hooks)
        .into_iter()
        .map(|entry| {
            let parts = classify(
                &config.filter,
                entry,
                std::slice::from_ref(&space),
                max_depth,
            );
            // A single point yields a single part, unless a rule's union of spaces overlaps.
            let part = parts.into_iter().next();
            match part {
                None => Verdict {
                    fate: "unknown",
                    by: "nothing".into(),
                    line: 0,
                    uncertain: true,
                },
                Some(p) => {
                    let (by, span) = match p.decider {
                        Decider::Rule { chain, rule } | Decider::Unknown { chain, rule } => {
                            let r = &config.filter.chains[chain].rules[rule];
                            (r.name.clone(), r.span)
                        }
                        Decider::Default { chain } => {
                            let c = &config.filter.chains[chain];
                            (format!("default of {}", c.name), c.default.span)
                        }
                    };
                    Verdict {
                        fate: match p.fate {
                            Fate::Allow => "allow",
                            Fate::Deny => "deny",
                            Fate::Unknown => "unknown",
                        },
                        by,
                        line: file.line_col(span.start).line,
                        uncertain: !p.uncertain_via.is_empty() || p.fate == Fate::Unknown,
                    }
                }
            }
        })
        .collect()
}
