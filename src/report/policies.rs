//! `portaudit policies`: the packs and their requirements, as text or JSON.

use std::fmt::Write;

use serde_json::{json, Value};

use crate::pack::{Check, FlowSpec, Pack};

fn flow(f: &FlowSpec) -> Value {
    let protocols: Vec<String> = f
        .protocols
        .ranges()
        .iter()
        .flat_map(|&(lo, hi)| (lo..=hi).map(crate::sets::proto::name))
        .collect();
    json!({ "protocols": protocols, "ports": f.port_items })
}

fn check(c: &Check) -> Value {
    let mut v = match c {
        Check::RequiredFlow {
            flow: f,
            direction,
            from,
            to,
        } => {
            let mut v = flow(f);
            v["direction"] = json!(direction);
            if let Some(x) = from {
                v["from"] = json!(x);
            }
            if let Some(x) = to {
                v["to"] = json!(x);
            }
            v
        }
        Check::SipAlg { enabled } => json!({ "state": if *enabled { "on" } else { "off" } }),
        Check::IpsOnVoice { enabled, flows } => json!({
            "state": if *enabled { "on" } else { "off" },
            "flows": flows.iter().map(flow).collect::<Vec<_>>(),
        }),
        Check::Setting { condition, unless } => {
            let mut v = json!(condition);
            if let Some(u) = unless {
                v["unless"] = json!(u);
            }
            v
        }
        Check::ForbiddenExposure {
            flow: f,
            from,
            service,
        } => {
            let mut v = flow(f);
            if let Some(x) = from {
                v["from"] = json!(x);
            }
            if let Some(x) = service {
                v["service"] = json!(x);
            }
            v
        }
        Check::AnyAny | Check::UnreachableRules => json!({}),
    };
    v["kind"] = json!(c.kind());
    v
}

/// `{"packs":[{"id", ..., "requirements":[...]}]}`.
pub fn json(packs: &[Pack]) -> String {
    let packs: Vec<Value> = packs
        .iter()
        .map(|p| {
            json!({
                "id": p.id,
                "title": p.title,
                "version": p.version,
                "builtin": p.builtin,
                "description": p.description,
                "sources": p.sources,
                "parameters": p.parameters,
                "roles": p.roles,
                "requirements": p.requirements.iter().map(|r| json!({
                    "id": r.id,
                    "title": r.title,
                    "severity": r.severity,
                    "category": r.category,
                    "references": r.references,
                    "source": r.source,
                    "component": r.component,
                    "optional": r.optional,
                    "check": check(&r.check),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let mut s = serde_json::to_string_pretty(&json!({ "packs": packs })).unwrap_or_default();
    s.push('\n');
    s
}

/// A readable listing.
pub fn text(packs: &[Pack]) -> String {
    let mut out = String::new();
    for p in packs {
        let _ = writeln!(
            out,
            "{} {} - {}{}",
            p.id,
            p.version,
            p.title,
            if p.builtin { "" } else { " (custom)" }
        );
        for r in &p.requirements {
            let _ = writeln!(
                out,
                "  {:<26} {:<8} {:<16} {}{}",
                r.id,
                r.severity.as_str(),
                r.category.as_str(),
                r.title,
                r.component
                    .as_ref()
                    .map(|c| format!(" [{}{}]", c, if r.optional { ", optional" } else { "" }))
                    .unwrap_or_default()
            );
        }
        out.push('\n');
    }
    out
}
