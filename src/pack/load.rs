//! Loading a pack: YAML → spanned tree → JSON Schema validation → typed pack → semantic checks.
//! Every error is collected with its span before anything is reported.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use serde::Deserialize;

use super::*;
use crate::sets::proto;
use crate::source::SourceFile;
use crate::yaml::{self, Node, YamlLimits};

static SCHEMA_TEXT: &str = include_str!("../../policies/schema.json");

static VALIDATOR: LazyLock<jsonschema::Validator> = LazyLock::new(|| {
    let schema: serde_json::Value =
        serde_json::from_str(SCHEMA_TEXT).expect("policies/schema.json is valid JSON");
    jsonschema::validator_for(&schema).expect("policies/schema.json is a valid schema")
});

/// The pack JSON Schema (as shipped in policies/schema.json).
pub fn schema_text() -> &'static str {
    SCHEMA_TEXT
}

/// One error in a pack, located in its file.
#[derive(Clone, Debug)]
pub struct PackError {
    pub span: Span,
    pub message: String,
    /// JSON pointer of the offending node, when known.
    pub pointer: Option<String>,
}

#[derive(Deserialize)]
struct RawPack {
    id: String,
    title: String,
    version: String,
    description: Option<String>,
    notes: Option<String>,
    sources: Vec<RawSource>,
    #[serde(default)]
    parameters: BTreeMap<String, RawParam>,
    #[serde(default)]
    roles: BTreeMap<String, RawRole>,
    requirements: Vec<RawRequirement>,
}

#[derive(Deserialize)]
struct RawSource {
    id: String,
    title: String,
    document: Option<String>,
    url: Option<String>,
    edition: Option<String>,
}

#[derive(Deserialize)]
struct RawParam {
    default: u32,
    description: String,
}

#[derive(Deserialize)]
struct RawRole {
    description: String,
    #[serde(default)]
    addresses: Vec<String>,
    #[serde(default)]
    hosts: Vec<String>,
}

#[derive(Deserialize)]
struct RawRequirement {
    id: String,
    title: String,
    severity: Severity,
    category: Category,
    rationale: String,
    remediation: String,
    references: Vec<String>,
    source: Option<RawSourceRef>,
    component: Option<String>,
    #[serde(default)]
    optional: bool,
    notes: Option<String>,
    check: serde_json::Map<String, serde_json::Value>,
}

#[derive(Deserialize)]
struct RawSourceRef {
    id: String,
    section: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct RawFlow {
    protocols: Vec<String>,
    ports: Vec<serde_json::Value>,
    direction: Option<Direction>,
    from: Option<String>,
    to: Option<String>,
    service: Option<String>,
}

#[derive(Deserialize)]
struct RawState {
    state: String,
}

#[derive(Deserialize)]
struct RawIps {
    state: String,
    flows: Vec<RawFlow>,
}

#[derive(Deserialize)]
struct RawSetting {
    key: String,
    op: Op,
    #[serde(default)]
    value: serde_json::Value,
    unless: Option<RawCondition>,
}

#[derive(Deserialize)]
struct RawCondition {
    key: String,
    op: Op,
    #[serde(default)]
    value: serde_json::Value,
}

/// Collects errors with spans resolved through the YAML tree.
struct Errors<'a> {
    file: &'a SourceFile,
    root: &'a Node,
    list: Vec<PackError>,
}

impl Errors<'_> {
    fn at(&mut self, pointer: &str, message: impl Into<String>) {
        let (start, end) = self
            .root
            .pointer(pointer)
            .map(|(n, k)| n.label_range(k))
            .unwrap_or((self.root.start, self.root.start));
        self.list.push(PackError {
            span: Span::new(self.file.id, start, end),
            message: message.into(),
            pointer: Some(pointer.to_owned()),
        });
    }

    fn span(&self, pointer: &str) -> Span {
        let (start, end) = self
            .root
            .pointer(pointer)
            .map(|(n, _)| (n.start, n.end))
            .unwrap_or((0, 0));
        Span::new(self.file.id, start, end)
    }
}

/// Load and validate a pack from a file of the store. `overrides` replaces parameter defaults
/// (from portaudit.yaml).
pub fn load_pack(
    file: &SourceFile,
    builtin: bool,
    overrides: &BTreeMap<String, BTreeMap<String, u32>>,
) -> Result<Pack, Vec<PackError>> {
    load_pack_limited(file, builtin, overrides, YamlLimits::default())
}

/// [`load_pack`] with YAML budgets (`limits:` in portaudit.yaml, `check` flags).
pub fn load_pack_limited(
    file: &SourceFile,
    builtin: bool,
    overrides: &BTreeMap<String, BTreeMap<String, u32>>,
    budget: YamlLimits,
) -> Result<Pack, Vec<PackError>> {
    let root = match yaml::parse(&file.text, budget) {
        Ok(root) => root,
        Err(e) => {
            return Err(vec![PackError {
                span: Span::new(file.id, e.offset, e.offset),
                message: format!("invalid YAML: {}", e.message),
                pointer: None,
            }])
        }
    };
    let schema_errors = yaml::validate(&VALIDATOR, &root);
    if !schema_errors.is_empty() {
        return Err(schema_errors
            .into_iter()
            .map(|e| PackError {
                span: Span::new(file.id, e.start, e.end),
                message: e.message,
                pointer: Some(e.pointer),
            })
            .collect());
    }
    let raw: RawPack = match serde_json::from_value(root.to_json()) {
        Ok(r) => r,
        Err(e) => {
            return Err(vec![PackError {
                span: Span::new(file.id, root.start, root.start),
                message: format!("invalid pack: {e}"),
                pointer: None,
            }])
        }
    };
    let mut errs = Errors {
        file,
        root: &root,
        list: Vec::new(),
    };
    let none = BTreeMap::new();
    let overrides = overrides.get(&raw.id).unwrap_or(&none);
    let pack = build(raw, &mut errs, builtin, overrides);
    if errs.list.is_empty() {
        Ok(pack)
    } else {
        errs.list.sort_by_key(|e| (e.span.start, e.message.clone()));
        Err(errs.list)
    }
}

fn build(
    raw: RawPack,
    errs: &mut Errors,
    builtin: bool,
    overrides: &BTreeMap<String, u32>,
) -> Pack {
    let mut params: BTreeMap<String, u32> = raw
        .parameters
        .iter()
        .map(|(k, p)| (k.clone(), p.default))
        .collect();
    for (k, v) in overrides {
        if let Some(slot) = params.get_mut(k) {
            *slot = *v;
        }
    }
    let source_ids: BTreeSet<&str> = raw.sources.iter().map(|s| s.id.as_str()).collect();
    for (name, role) in &raw.roles {
        for (idx, a) in role.addresses.iter().enumerate() {
            if crate::sets::parse_net(a).is_none() {
                errs.at(
                    &format!("/roles/{name}/addresses/{idx}"),
                    format!("`{a}` is not an IP address or network"),
                );
            }
        }
    }
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    let mut requirements = Vec::new();
    for (i, r) in raw.requirements.iter().enumerate() {
        let base = format!("/requirements/{i}");
        if let Some(first) = seen.insert(r.id.as_str(), i) {
            errs.at(
                &format!("{base}/id"),
                format!(
                    "duplicate requirement id `{}` (first used by requirement {})",
                    r.id,
                    first + 1
                ),
            );
        }
        if let Some(s) = &r.source {
            if !source_ids.contains(s.id.as_str()) {
                errs.at(
                    &format!("{base}/source/id"),
                    format!("unknown source `{}`: declare it under `sources`", s.id),
                );
            }
        }
        let Some(check) = build_check(
            &r.check,
            &format!("{base}/check"),
            &raw.roles,
            &params,
            errs,
        ) else {
            continue;
        };
        requirements.push(Requirement {
            id: r.id.clone(),
            pack: raw.id.clone(),
            title: r.title.clone(),
            severity: r.severity,
            category: r.category,
            rationale: r.rationale.trim().to_owned(),
            remediation: r.remediation.trim().to_owned(),
            references: r.references.clone(),
            source: r.source.as_ref().map(|s| SourceRef {
                id: s.id.clone(),
                section: s.section.clone(),
            }),
            component: r.component.clone(),
            optional: r.optional,
            notes: r.notes.as_ref().map(|n| n.trim().to_owned()),
            check,
            span: errs.span(&base),
        });
    }
    Pack {
        id: raw.id,
        title: raw.title,
        version: raw.version,
        description: raw.description.map(|d| d.trim().to_owned()),
        notes: raw.notes.map(|d| d.trim().to_owned()),
        sources: raw
            .sources
            .into_iter()
            .map(|s| SourceDoc {
                id: s.id,
                title: s.title,
                document: s.document,
                url: s.url,
                edition: s.edition,
            })
            .collect(),
        parameters: raw
            .parameters
            .into_iter()
            .map(|(k, p)| {
                let value = params.get(&k).copied().unwrap_or(p.default);
                (
                    k,
                    Parameter {
                        default: value,
                        description: p.description,
                    },
                )
            })
            .collect(),
        roles: raw
            .roles
            .into_iter()
            .map(|(k, r)| {
                (
                    k,
                    Role {
                        description: r.description,
                        addresses: r.addresses,
                        hosts: r.hosts,
                    },
                )
            })
            .collect(),
        requirements,
        builtin,
        span: errs.span(""),
    }
}

fn build_check(
    map: &serde_json::Map<String, serde_json::Value>,
    base: &str,
    roles: &BTreeMap<String, RawRole>,
    params: &BTreeMap<String, u32>,
    errs: &mut Errors,
) -> Option<Check> {
    let (kind, body) = map.iter().next()?;
    let at = format!("{base}/{kind}");
    let role_ok = |name: &Option<String>, field: &str, errs: &mut Errors| {
        if let Some(n) = name {
            if n != "untrusted" && !roles.contains_key(n) {
                errs.at(
                    &format!("{at}/{field}"),
                    format!("unknown role `{n}`: declare it under `roles`"),
                );
            }
        }
    };
    let parse_body = |errs: &mut Errors| -> Option<RawFlow> {
        match serde_json::from_value::<RawFlow>(body.clone()) {
            Ok(f) => Some(f),
            Err(e) => {
                errs.at(&at, e.to_string());
                None
            }
        }
    };
    match kind.as_str() {
        "required-flow" => {
            let f = parse_body(errs)?;
            role_ok(&f.from, "from", errs);
            role_ok(&f.to, "to", errs);
            let flow = flow_spec(&f, &at, params, errs)?;
            Some(Check::RequiredFlow {
                flow,
                direction: f.direction.unwrap_or(Direction::Outbound),
                from: f.from,
                to: f.to,
            })
        }
        "forbidden-exposure" => {
            let f = parse_body(errs)?;
            role_ok(&f.from, "from", errs);
            let flow = flow_spec(&f, &at, params, errs)?;
            Some(Check::ForbiddenExposure {
                flow,
                from: f.from,
                service: f.service,
            })
        }
        "sip-alg" => {
            let s: RawState = serde_json::from_value(body.clone()).ok()?;
            Some(Check::SipAlg {
                enabled: s.state == "on",
            })
        }
        "ips-on-voice" => {
            let s: RawIps = serde_json::from_value(body.clone()).ok()?;
            let mut flows = Vec::new();
            for (i, f) in s.flows.iter().enumerate() {
                flows.push(flow_spec(f, &format!("{at}/flows/{i}"), params, errs)?);
            }
            Some(Check::IpsOnVoice {
                enabled: s.state == "on",
                flows,
            })
        }
        "setting" => {
            let mut s: RawSetting = serde_json::from_value(body.clone()).ok()?;
            resolve_param(&mut s.value, &format!("{at}/value"), params, errs);
            if let Some(u) = &mut s.unless {
                resolve_param(&mut u.value, &format!("{at}/unless/value"), params, errs);
            }
            check_value(s.op, &s.value, &format!("{at}/value"), &at, errs);
            if let Some(u) = &s.unless {
                check_value(
                    u.op,
                    &u.value,
                    &format!("{at}/unless/value"),
                    &format!("{at}/unless"),
                    errs,
                );
            }
            Some(Check::Setting {
                condition: Condition {
                    key: s.key,
                    op: s.op,
                    value: s.value,
                },
                unless: s.unless.map(|u| Condition {
                    key: u.key,
                    op: u.op,
                    value: u.value,
                }),
            })
        }
        "any-any" => Some(Check::AnyAny),
        "unreachable-rules" => Some(Check::UnreachableRules),
        _ => None,
    }
}

/// A setting threshold given as `{ param: name }` takes the pack parameter's value (default or
/// the user's override), so a framework pack can take its numbers from a chosen profile.
fn resolve_param(
    value: &mut serde_json::Value,
    at: &str,
    params: &BTreeMap<String, u32>,
    errs: &mut Errors,
) {
    let Some(obj) = value.as_object() else {
        return;
    };
    let Some(name) = obj.get("param").and_then(|n| n.as_str()) else {
        return;
    };
    if obj.len() != 1 {
        errs.at(
            at,
            "a parameter threshold is `{ param: name }` and nothing else",
        );
        return;
    }
    match params.get(name) {
        Some(v) => *value = serde_json::Value::from(*v),
        None => {
            errs.at(
                at,
                format!("unknown parameter `{name}`: declare it under `parameters`"),
            );
            // Reported once: the placeholder keeps the operator check quiet.
            *value = serde_json::Value::from(0);
        }
    }
}

fn check_value(op: Op, value: &serde_json::Value, at: &str, parent: &str, errs: &mut Errors) {
    use serde_json::Value;
    let ok = match op {
        Op::Le | Op::Ge => value.is_i64(),
        Op::Eq | Op::Ne => matches!(value, Value::Bool(_) | Value::Number(_) | Value::String(_)),
        Op::In | Op::NotIn => value.as_array().is_some_and(|a| !a.is_empty()),
        Op::Empty | Op::Present => value.is_null(),
    };
    if !ok {
        let what = match op {
            Op::Le | Op::Ge => "an integer value",
            Op::Eq | Op::Ne => "a boolean, number or string value",
            Op::In | Op::NotIn => "a non-empty list value",
            Op::Empty | Op::Present => "no value",
        };
        let target = if value.is_null() { parent } else { at };
        errs.at(target, format!("operator `{}` takes {what}", op.as_str()));
    }
}

fn flow_spec(
    f: &RawFlow,
    at: &str,
    params: &BTreeMap<String, u32>,
    errs: &mut Errors,
) -> Option<FlowSpec> {
    let mut protocols = ProtoSet::empty();
    for p in &f.protocols {
        if let Some(n) = proto::from_name(p) {
            protocols = protocols.union(&ProtoSet::single(n));
        }
    }
    let mut ranges = Vec::new();
    let mut items = Vec::new();
    let mut ok = true;
    for (i, v) in f.ports.iter().enumerate() {
        let here = format!("{at}/ports/{i}");
        match port_item(v, params) {
            Ok((set, item)) => {
                ranges.extend(set.ranges().iter().copied());
                items.push(item);
            }
            Err(msg) => {
                errs.at(&here, msg);
                ok = false;
            }
        }
    }
    ok.then(|| FlowSpec {
        protocols,
        ports: PortSet::from_ranges(ranges),
        port_items: items,
    })
}

fn port_item(
    v: &serde_json::Value,
    params: &BTreeMap<String, u32>,
) -> Result<(PortSet, PortItem), String> {
    use serde_json::Value;
    match v {
        Value::Number(n) => {
            let p = n
                .as_u64()
                .filter(|p| *p <= 65535)
                .ok_or("port out of range")?;
            Ok((PortSet::single(u128::from(p)), PortItem::Port(p as u16)))
        }
        Value::String(s) => {
            let (lo, hi) = s.split_once('-').ok_or("expected `lo-hi`")?;
            let lo: u32 = lo.parse().map_err(|_| "bad port")?;
            let hi: u32 = hi.parse().map_err(|_| "bad port")?;
            if lo > hi {
                return Err(format!(
                    "reversed range `{s}`: the first port must not exceed the second"
                ));
            }
            if hi > 65535 {
                return Err(format!("port range `{s}` goes past 65535"));
            }
            Ok((
                PortSet::range(lo.into(), hi.into()),
                PortItem::Range(s.clone()),
            ))
        }
        Value::Object(o) => {
            let start = o
                .get("start")
                .and_then(Value::as_u64)
                .ok_or("missing start")?;
            let end = if let Some(e) = o.get("end").and_then(Value::as_u64) {
                e
            } else {
                let name = o
                    .get("param")
                    .and_then(Value::as_str)
                    .ok_or("missing end or param")?;
                let times = o.get("times").and_then(Value::as_u64).unwrap_or(1);
                let value = params.get(name).ok_or_else(|| {
                    format!("unknown parameter `{name}`: declare it under `parameters`")
                })?;
                start + times * u64::from(*value)
            };
            if start > end {
                return Err(format!("reversed range {start}-{end}"));
            }
            if end > 65535 {
                return Err(format!(
                    "range {start}-{end} goes past 65535 (check the parameter value)"
                ));
            }
            let parity = o.get("parity").and_then(Value::as_str);
            let set = match parity {
                None => PortSet::range(start.into(), end.into()),
                Some(p) => {
                    let want = u64::from(p == "odd");
                    PortSet::from_ranges(
                        (start..=end)
                            .filter(|x| x % 2 == want)
                            .map(|x| (u128::from(x), u128::from(x))),
                    )
                }
            };
            let text = match parity {
                None => format!("{start}-{end}"),
                Some(p) => format!("{start}-{end} ({p})"),
            };
            Ok((set, PortItem::Range(text)))
        }
        _ => Err("expected a port number, `lo-hi` or a range object".into()),
    }
}
