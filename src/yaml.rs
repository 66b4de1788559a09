//! A spanned YAML tree (parsed with serde-saphyr, under its input budgets) and the bridge
//! from JSON Schema errors back to YAML spans, as taplo does for TOML.
//!
//! Packs, `portaudit.yaml` and YAML settings dumps are parsed once into [`Node`]s; a plain
//! `serde_json::Value` copy is validated with the `jsonschema` crate, and each error's instance
//! path is walked back through the tree to the node's text range.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

mod direct;

/// A YAML value with the byte range it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub start: usize,
    pub end: usize,
    pub kind: Kind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// Keys are kept as nodes too, so errors can point at a key.
    Map(Vec<(Node, Node)>),
}

impl Node {
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value under a mapping key.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, v)| v)
    }

    /// The key node and value node under a mapping key.
    pub fn entry(&self, key: &str) -> Option<(&Node, &Node)> {
        match &self.kind {
            Kind::Map(m) => m
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(k, v)| (k, v)),
            _ => None,
        }
    }

    /// Plain JSON copy for schema validation and typed deserialisation.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.kind {
            Kind::Null => Value::Null,
            Kind::Bool(b) => Value::Bool(*b),
            Kind::Int(i) => Value::from(*i),
            Kind::Float(f) => serde_json::Number::from_f64(*f)
                .map(Value::Number)
                .unwrap_or(Value::Null),
            Kind::Str(s) => Value::String(s.clone()),
            Kind::Seq(v) => Value::Array(v.iter().map(Node::to_json).collect()),
            Kind::Map(m) => Value::Object(
                m.iter()
                    .map(|(k, v)| (k.key_string(), v.to_json()))
                    .collect(),
            ),
        }
    }

    fn key_string(&self) -> String {
        match &self.kind {
            Kind::Str(s) => s.clone(),
            Kind::Int(i) => i.to_string(),
            Kind::Bool(b) => b.to_string(),
            Kind::Float(f) => f.to_string(),
            Kind::Null => "null".into(),
            _ => "<complex key>".into(),
        }
    }

    /// The node at a JSON pointer (`/requirements/3/check`), and the key node that names it when
    /// the last step is a mapping key.
    pub fn pointer(&self, pointer: &str) -> Option<(&Node, Option<&Node>)> {
        let mut cur = self;
        let mut key = None;
        if pointer.is_empty() {
            return Some((cur, None));
        }
        for raw in pointer.strip_prefix('/')?.split('/') {
            let seg = raw.replace("~1", "/").replace("~0", "~");
            match &cur.kind {
                Kind::Map(m) => {
                    let (k, v) = m.iter().find(|(k, _)| k.key_string() == seg)?;
                    key = Some(k);
                    cur = v;
                }
                Kind::Seq(v) => {
                    cur = v.get(seg.parse::<usize>().ok()?)?;
                    key = None;
                }
                _ => return None,
            }
        }
        Some((cur, key))
    }

    /// The best span to label for a node: its own range, or for an empty-range collection, the
    /// key that names it.
    pub fn label_range(&self, key: Option<&Node>) -> (usize, usize) {
        match (&self.kind, key) {
            (Kind::Map(_) | Kind::Seq(_), Some(k)) => (k.start, k.end),
            _ if self.end > self.start => (self.start, self.end),
            (_, Some(k)) => (k.start, k.end),
            _ => (self.start, self.end),
        }
    }
}

struct KindVisitor;

fn node_from(sp: Spanned<Kind>) -> Node {
    let loc = sp.referenced;
    let span = loc.span();
    let start = span.byte_offset().unwrap_or(span.offset()) as usize;
    let len = span.byte_len().unwrap_or(span.len()) as usize;
    Node {
        start,
        end: start + len,
        kind: sp.value,
    }
}

impl<'de> Visitor<'de> for KindVisitor {
    type Value = Kind;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Kind, E> {
        Ok(Kind::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Kind, E> {
        Ok(Kind::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Kind, D::Error> {
        Kind::deserialize(d)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Kind, E> {
        Ok(Kind::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Kind, E> {
        Ok(Kind::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Kind, E> {
        Ok(i64::try_from(v)
            .map(Kind::Int)
            .unwrap_or(Kind::Float(v as f64)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Kind, E> {
        Ok(Kind::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Kind, E> {
        Ok(Kind::Str(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Kind, E> {
        Ok(Kind::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Kind, A::Error> {
        let mut v = Vec::new();
        while let Some(el) = seq.next_element::<Spanned<Kind>>()? {
            v.push(node_from(el));
        }
        Ok(Kind::Seq(v))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Kind, A::Error> {
        let mut v = Vec::new();
        while let Some(k) = map.next_key::<Spanned<Kind>>()? {
            let val = map.next_value::<Spanned<Kind>>()?;
            v.push((node_from(k), node_from(val)));
        }
        Ok(Kind::Map(v))
    }
}

impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Kind, D::Error> {
        d.deserialize_any(KindVisitor)
    }
}

/// Input budgets for YAML (against billion-laughs style inputs and deep nesting).
#[derive(Clone, Copy, Debug)]
pub struct YamlLimits {
    pub max_depth: usize,
    pub max_events: usize,
    pub max_aliases: usize,
}

impl Default for YamlLimits {
    fn default() -> Self {
        YamlLimits {
            max_depth: 64,
            max_events: 2_000_000,
            max_aliases: 1_000,
        }
    }
}

/// A YAML syntax or budget error with its byte offset.
#[derive(Clone, Debug)]
pub struct YamlError {
    pub offset: usize,
    pub message: String,
}

/// Parse YAML text into a spanned tree: straight from the parser's events when the document
/// is of the common, certain kind ([`direct`]), else through serde-saphyr.
pub fn parse(text: &str, limits: YamlLimits) -> Result<Node, YamlError> {
    if text.trim().is_empty() {
        return Ok(Node {
            start: 0,
            end: 0,
            kind: Kind::Null,
        });
    }
    match direct::parse(text, limits) {
        Some(root) => Ok(root),
        None => saphyr(text, limits),
    }
}

/// Both ways of [`parse`], for the differential fuzz target (`fuzz/`, `yaml_direct`): the tree
/// built straight from the parser's events when that path answers, and serde-saphyr's answer.
#[doc(hidden)]
pub fn parse_both(text: &str, limits: YamlLimits) -> (Option<Node>, Result<Node, YamlError>) {
    (direct::parse(text, limits), saphyr(text, limits))
}

/// [`parse`] through serde-saphyr, under its budgets.
fn saphyr(text: &str, limits: YamlLimits) -> Result<Node, YamlError> {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_depth = limits.max_depth;
    budget.max_events = limits.max_events;
    budget.max_aliases = limits.max_aliases;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    match serde_saphyr::from_str_with_options::<Spanned<Kind>>(text, options) {
        Ok(sp) => Ok(node_from(sp)),
        Err(e) => {
            let offset = e
                .location()
                .map(|l| {
                    let s = l.span();
                    s.byte_offset().unwrap_or(s.offset()) as usize
                })
                .unwrap_or(0);
            Err(YamlError {
                offset: offset.min(text.len()),
                message: first_line(&e.to_string()),
            })
        }
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("invalid YAML").trim().to_owned()
}

/// One schema violation located in the source.
#[derive(Clone, Debug)]
pub struct SchemaError {
    pub start: usize,
    pub end: usize,
    pub pointer: String,
    pub message: String,
}

/// Validate a tree against a compiled schema and locate every error.
pub fn validate(validator: &jsonschema::Validator, root: &Node) -> Vec<SchemaError> {
    validate_impl(validator, root, false)
}

/// Like [`validate`], for inputs that may hold secrets (settings dumps): messages never quote the
/// offending value (`value is not of type "integer"`; the span shows where it is).
pub fn validate_masked(validator: &jsonschema::Validator, root: &Node) -> Vec<SchemaError> {
    validate_impl(validator, root, true)
}

/// Every schema error located: each unexpected key is its own error at the key itself (so a typo
/// such as `max_atempts` is labelled where it is written); other errors at the offending value.
fn validate_impl(validator: &jsonschema::Validator, root: &Node, masked: bool) -> Vec<SchemaError> {
    let value = root.to_json();
    let mut out = Vec::new();
    for err in validator.iter_errors(&value) {
        let pointer = err.instance_path().to_string();
        match err.kind() {
            jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } => {
                for key in unexpected {
                    let escaped = key.replace('~', "~0").replace('/', "~1");
                    let message = format!("unknown key `{key}`");
                    let pointer = format!("{pointer}/{escaped}");
                    out.push(locate(root, pointer, schema_message(&message), true));
                }
            }
            _ => {
                let message = if masked {
                    err.masked().to_string()
                } else {
                    err.to_string()
                };
                out.push(locate(root, pointer, schema_message(&message), false));
            }
        }
    }
    sorted(out)
}

/// A schema error at the node of `pointer`: at its key when `at_key` (an unexpected key), else
/// its value or, for a collection, the key naming it (the document start when the pointer does
/// not resolve).
fn locate(root: &Node, pointer: String, message: String, at_key: bool) -> SchemaError {
    let (start, end) = match root.pointer(&pointer) {
        Some((_, Some(key))) if at_key => (key.start, key.end),
        Some((n, k)) => n.label_range(k),
        None => (root.start, root.start),
    };
    SchemaError {
        start,
        end,
        pointer,
        message,
    }
}

/// Errors in document order, without repeats.
fn sorted(mut out: Vec<SchemaError>) -> Vec<SchemaError> {
    out.sort_by(|a, b| (a.start, &a.message).cmp(&(b.start, &b.message)));
    out.dedup_by(|a, b| a.start == b.start && a.message == b.message);
    out
}

fn schema_message(msg: &str) -> String {
    // jsonschema quotes whole (possibly huge) instances: keep messages short.
    if msg.chars().count() > 200 {
        let cut: String = msg.chars().take(197).collect();
        format!("{cut}...")
    } else {
        msg.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_point_at_values_and_keys() {
        let text = "id: demo\nrequirements:\n  - id: A\n    severity: hgh\n  - id: B\n";
        let root = parse(text, YamlLimits::default()).unwrap();
        let (n, k) = root.pointer("/requirements/0/severity").unwrap();
        assert_eq!(&text[n.start..n.end], "hgh");
        assert_eq!(&text[k.unwrap().start..k.unwrap().end], "severity");
        let (n, _) = root.pointer("/requirements/1/id").unwrap();
        assert_eq!(&text[n.start..n.end], "B");
        assert_eq!(root.to_json()["requirements"][1]["id"], "B");
    }

    #[test]
    fn syntax_error_has_offset() {
        let text = "a: 1\nb: [1, 2\nc: 3\n";
        let e = parse(text, YamlLimits::default()).unwrap_err();
        assert!(e.offset > 0, "{e:?}");
    }

    #[test]
    fn masked_validation_hides_values_and_points_at_unknown_keys() {
        let schema = serde_json::json!({
            "type": "object",
            "additionalProperties": false,
            "properties": { "pin": { "type": "integer" }, "count": { "type": "integer" } }
        });
        let validator = jsonschema::validator_for(&schema).unwrap();
        let text = "pin: \"s3cr3t\"\ncount: 1\npni: 2\nextra: x\n";
        let root = parse(text, YamlLimits::default()).unwrap();
        let errors = validate_masked(&validator, &root);
        let found: Vec<(&str, &str)> = errors
            .iter()
            .map(|e| (&text[e.start..e.end], e.pointer.as_str()))
            .collect();
        assert_eq!(
            found,
            [("\"s3cr3t\"", "/pin"), ("pni", "/pni"), ("extra", "/extra")]
        );
        assert!(
            errors.iter().all(|e| !e.message.contains("s3cr3t")),
            "{errors:?}"
        );
        assert_eq!(errors[1].message, "unknown key `pni`");
        // The plain variant quotes the value (packs hold no secrets).
        let plain = validate(&validator, &root);
        assert_eq!(plain.len(), 3, "{plain:?}");
        assert!(plain.iter().any(|e| e.message.contains("s3cr3t")));
    }

    #[test]
    fn alias_bomb_is_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        assert!(parse(&text, YamlLimits::default()).is_err());
    }
}
