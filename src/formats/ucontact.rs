//! uContact settings dump (`kind: ucontact-settings`, `version: 1`), in YAML or JSON.
//!
//! uContact has no export of its security settings, so portaudit defines a dump an
//! administrator fills from the product's configuration screens (documented in
//! `docs/ucontact-settings.md`, validated by `schemas/ucontact-settings.schema.json`). The dump
//! is parsed into a spanned tree ([`crate::yaml`]; JSON is YAML for that parser, with the same
//! spans), checked against the schema (every error at once, at the offending node), and turned
//! into canonical [`Setting`]s that the policy packs test:
//!
//! - one setting per value present in the dump (table `SETTINGS`), spanning the value;
//! - `users.count`, `users.without_login_schedule` and `users.temporary_without_expiry`,
//!   derived from `users` (spanning the `users` key, with one item span per offending user).
//!
//! A value the dump does not state is absent from [`Config::settings`] (the engine reports it as
//! not evidenced); a value with a schema error is left out too, so an invalid value can never
//! satisfy a check. Thresholds where 0 turns the control off (`expiry_days: 0` = passwords
//! never expire) become the text `"off"`, so that `<= 90` cannot pass on a disabled control.
//! The format has no packet filter and no device features.

use super::util::has;
use std::sync::LazyLock;

use crate::model::{Config, Format, InputIssue, Setting, SettingValue};
use crate::source::{SourceFile, Span};
use crate::yaml::{self, Kind, Node, SchemaError, YamlLimits};

/// The value of `kind` that marks a dump.
const KIND: &str = "ucontact-settings";

/// Nesting limit for dumps. A valid dump nests 5 levels deep; the spanned YAML deserialiser
/// recurses once per level with large frames (a debug build overflows a 2 MiB thread stack at
/// about 55 levels), so hostile nesting is refused well before that, whatever `Limits` allows.
const MAX_DEPTH: usize = 16;

/// The setting value of a threshold set to 0, which turns the control off.
pub const OFF: &str = "off";

/// The `lockout.duration_minutes` value meaning "locked until an administrator unlocks it",
/// which satisfies PCI DSS 4.0.1 8.3.4 ("until the user's identity is confirmed").
pub const UNTIL_ADMIN_UNLOCK: &str = "until-admin-unlock";

const SCHEMA: &str = include_str!("../../schemas/ucontact-settings.schema.json");

/// The dump schema, compiled once.
static VALIDATOR: LazyLock<jsonschema::Validator> = LazyLock::new(|| {
    let schema: serde_json::Value =
        serde_json::from_str(SCHEMA).expect("embedded ucontact schema is valid JSON");
    jsonschema::draft202012::new(&schema).expect("embedded ucontact schema compiles")
});

/// How a dump value becomes a setting value (the schema has already checked its type).
#[derive(Clone, Copy, Debug)]
enum Ty {
    Bool,
    Int,
    /// A whole number where 0 turns the control off (becomes [`OFF`]).
    Limit,
    /// Non-blank text.
    Str,
    /// Minutes, or [`UNTIL_ADMIN_UNLOCK`].
    IntOrStr,
}

/// Canonical setting keys (the contract with the policy packs), where each value sits in the
/// dump, and its type.
#[rustfmt::skip]
const SETTINGS: &[(&str, &[&str], Ty)] = &[
    ("company_message.enabled",        &["security", "company_message", "enabled"],    Ty::Bool),
    ("company_message.text",           &["security", "company_message", "text"],       Ty::Str),
    ("login.show_last_login",          &["security", "show_last_login"],               Ty::Bool),
    ("password.expiry_days",           &["security", "password", "expiry_days"],       Ty::Limit),
    ("password.history",               &["security", "password", "history"],           Ty::Int),
    ("password.min_length",            &["security", "password", "min_length"],        Ty::Int),
    ("password.require_letters",       &["security", "password", "require_letters"],   Ty::Bool),
    ("password.require_digits",        &["security", "password", "require_digits"],    Ty::Bool),
    ("password.require_uppercase",     &["security", "password", "require_uppercase"], Ty::Bool),
    ("password.require_special",       &["security", "password", "require_special"],   Ty::Bool),
    ("lockout.max_attempts",           &["security", "lockout", "max_attempts"],       Ty::Limit),
    ("lockout.duration_minutes",       &["security", "lockout", "duration_minutes"],   Ty::IntOrStr),
    ("accounts.inactive_disable_days", &["security", "inactive_disable_days"],         Ty::Limit),
    ("session.idle_timeout_minutes",   &["security", "session", "idle_timeout_minutes"], Ty::Limit),
    ("mfa.enabled",                    &["security", "mfa", "enabled"],                Ty::Bool),
    ("mfa.method",                     &["security", "mfa", "method"],                 Ty::Str),
];

/// Settings derived from the `users` list.
pub const USERS_COUNT: &str = "users.count";
pub const USERS_WITHOUT_LOGIN_SCHEDULE: &str = "users.without_login_schedule";
pub const USERS_TEMPORARY_WITHOUT_EXPIRY: &str = "users.temporary_without_expiry";

/// Confidence that `text` is a dump: high for `kind: ucontact-settings` with `version: 1` at
/// the top level (YAML or JSON), 0 for anything else. A dump of another version still scores
/// (lower), so that the unsupported version is reported at its line instead of the file being
/// left unrecognised.
pub fn sniff(_name: &str, text: &str) -> u8 {
    if !has(text, KIND) {
        return 0;
    }
    // The usual dump says so in plain top-level lines: no need to parse it twice (here and in
    // `parse`). Anything else (quoted or tagged values, another version) is read as YAML.
    if header_from_text(text) == (Some(KIND), Some("1")) {
        return 100;
    }
    sniff_parsed(text)
}

/// [`sniff`] by parsing `text` as YAML.
fn sniff_parsed(text: &str) -> u8 {
    let (ours, version_1) = match yaml::parse(text, yaml_limits(&super::Limits::default())) {
        Ok(root) => header(&root),
        // `text` may be the head of a large file, cut anywhere: read the header by hand.
        Err(_) => {
            let (kind, version) = header_from_text(text);
            (kind.map(unquote) == Some(KIND), version == Some("1"))
        }
    };
    match (ours, version_1) {
        (false, _) => 0,
        (true, true) => 100,
        (true, false) => 50,
    }
}

/// Parse a dump into its settings.
pub fn parse(file: &SourceFile, limits: &super::Limits) -> Config {
    let mut config = Config::new(Format::Ucontact, Span::new(file.id, 0, file.text.len()));
    let root = match yaml::parse(&file.text, yaml_limits(limits)) {
        Ok(root) => root,
        Err(e) => {
            config.errors.push(InputIssue {
                span: Span::new(file.id, e.offset, e.offset),
                message: format!("not valid YAML or JSON: {}", without_location(&e.message)),
            });
            return config;
        }
    };
    // Masked: a secret pasted where a setting goes is never quoted into a message.
    let errors = yaml::validate_masked(&VALIDATOR, &root);
    config.errors.extend(errors.iter().map(|e| InputIssue {
        span: Span::new(file.id, e.start, e.end),
        message: issue_message(e),
    }));
    if header(&root) != (true, true) {
        // Another kind or version: its values may not mean what this version's do.
        return config;
    }
    config.name = root
        .get("instance")
        .and_then(Node::as_str)
        .map(str::to_owned);

    let span = |n: &Node| Span::new(file.id, n.start, n.end);
    for &(key, path, ty) in SETTINGS {
        let Some(node) = path.iter().try_fold(&root, |n, step| n.get(step)) else {
            // Missing: remember the deepest section present, where the value would be written.
            let mut cur = &root;
            let mut anchor = None;
            for step in path {
                match cur.entry(step) {
                    Some((k, v)) => {
                        anchor = Some(span(k));
                        cur = v;
                    }
                    None => break,
                }
            }
            if let Some(a) = anchor {
                config.setting_anchors.insert(key.to_owned(), a);
            }
            continue;
        };
        if has_error_under(&errors, &pointer(path)) {
            continue;
        }
        if let Some(value) = convert(node, ty) {
            config
                .settings
                .insert(key.to_owned(), Setting::new(value, span(node)));
        }
    }
    if let Some((key, users)) = root.entry("users") {
        derive_user_settings(&mut config, file, key, users, &errors);
    }
    config
}

/// Whether a document's root has `kind: ucontact-settings`, and `version: 1`.
fn header(root: &Node) -> (bool, bool) {
    (
        root.get("kind").and_then(Node::as_str) == Some(KIND),
        matches!(root.get("version").map(|v| &v.kind), Some(Kind::Int(1))),
    )
}

/// YAML budgets for a dump.
fn yaml_limits(limits: &super::Limits) -> YamlLimits {
    YamlLimits {
        max_depth: limits.max_depth.min(MAX_DEPTH),
        max_events: limits.max_yaml_events,
        max_aliases: limits.max_yaml_aliases,
    }
}

/// `users.count`, and the users lacking a login schedule or, for temporary accounts, an expiry
/// date. A schedule or expiry with a schema error counts as missing, so a malformed entry is
/// reported rather than trusted.
fn derive_user_settings(
    config: &mut Config,
    file: &SourceFile,
    key: &Node,
    users: &Node,
    errors: &[SchemaError],
) {
    let Kind::Seq(entries) = &users.kind else {
        return; // the schema reports it
    };
    let key_span = Span::new(file.id, key.start, key.end);
    let mut without_schedule = Vec::new();
    let mut temporary_without_expiry = Vec::new();
    for (i, user) in entries.iter().enumerate() {
        let at = format!("/users/{i}");
        let name = user
            .get("name")
            .filter(|n| n.as_str().is_some_and(|s| !s.is_empty()));
        let label = name
            .and_then(Node::as_str)
            .map_or_else(|| format!("users[{i}]"), str::to_owned);
        let (start, end) = name.map_or_else(|| entry_range(user), |n| (n.start, n.end));
        let item = (label, Span::new(file.id, start, end));

        let schedule_ok = user.get("login_schedule").is_some()
            && !has_error_under(errors, &format!("{at}/login_schedule"));
        if !schedule_ok {
            without_schedule.push(item.clone());
        }
        let expiry_missing = match user.get("temporary") {
            None => false,
            Some(temporary) => match temporary.kind {
                Kind::Bool(false) => false,
                Kind::Map(_) => {
                    temporary.get("expires").is_none()
                        || has_error_under(errors, &format!("{at}/temporary"))
                }
                // `true`, or anything malformed: a temporary account with no usable expiry.
                _ => true,
            },
        };
        if expiry_missing {
            temporary_without_expiry.push(item);
        }
    }
    let count = i64::try_from(entries.len()).unwrap_or(i64::MAX);
    config.settings.insert(
        USERS_COUNT.to_owned(),
        Setting::new(SettingValue::Int(count), key_span),
    );
    for (name, items) in [
        (USERS_WITHOUT_LOGIN_SCHEDULE, without_schedule),
        (USERS_TEMPORARY_WITHOUT_EXPIRY, temporary_without_expiry),
    ] {
        let (names, item_spans) = items.into_iter().unzip();
        config.settings.insert(
            name.to_owned(),
            Setting {
                value: SettingValue::List(names),
                span: key_span,
                item_spans,
            },
        );
    }
}

/// The text range of a sequence entry. Block mappings come with an empty range from the
/// parser: cover their first key to their last value instead.
fn entry_range(node: &Node) -> (usize, usize) {
    match &node.kind {
        Kind::Map(m) if node.start == node.end => match (m.first(), m.last()) {
            (Some((k, _)), Some((_, v))) => (k.start, v.end.max(k.end)),
            _ => (node.start, node.end),
        },
        _ => (node.start, node.end),
    }
}

/// The setting value of a dump value of type `ty`; None when it does not have that type.
fn convert(node: &Node, ty: Ty) -> Option<SettingValue> {
    match ty {
        Ty::Bool => match node.kind {
            Kind::Bool(b) => Some(SettingValue::Bool(b)),
            _ => None,
        },
        Ty::Int => whole_number(node).map(SettingValue::Int),
        Ty::Limit => whole_number(node).map(|n| match n {
            0 => SettingValue::Str(OFF.to_owned()),
            n => SettingValue::Int(n),
        }),
        Ty::Str => text(node),
        Ty::IntOrStr => whole_number(node)
            .map(SettingValue::Int)
            .or_else(|| text(node)),
    }
}

/// An integer, or a float without fraction (`12.0`; JSON Schema counts it as an integer).
fn whole_number(node: &Node) -> Option<i64> {
    match node.kind {
        Kind::Int(i) => Some(i),
        Kind::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(f as i64),
        _ => None,
    }
}

/// Non-blank text.
fn text(node: &Node) -> Option<SettingValue> {
    node.as_str()
        .filter(|s| !s.trim().is_empty())
        .map(|s| SettingValue::Str(s.to_owned()))
}

/// The JSON pointer of a path of keys.
fn pointer(path: &[&str]) -> String {
    path.iter().map(|step| format!("/{step}")).collect()
}

/// Whether a schema error concerns the node at `at` or anything inside it.
fn has_error_under(errors: &[SchemaError], at: &str) -> bool {
    errors.iter().any(|e| {
        e.pointer
            .strip_prefix(at)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

/// A schema error as users read it: `security.lockout.max_attempts: <what is wrong>`.
fn issue_message(e: &SchemaError) -> String {
    let mut path = String::new();
    for step in e.pointer.split('/').skip(1) {
        let step = step.replace("~1", "/").replace("~0", "~");
        if !step.is_empty() && step.bytes().all(|b| b.is_ascii_digit()) {
            path.push_str(&format!("[{step}]"));
        } else {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(&step);
        }
    }
    if path.is_empty() {
        format!("uContact settings dump: {}", e.message)
    } else {
        format!("{path}: {}", e.message)
    }
}

/// A parser message without its `error: line L column C:` prefix (the span gives the place).
fn without_location(message: &str) -> &str {
    let m = message.strip_prefix("error: ").unwrap_or(message);
    match m
        .strip_prefix("line ")
        .and_then(|rest| rest.split_once(": "))
    {
        Some((_, rest)) => rest,
        None => m,
    }
}

/// The raw `kind` and `version` values of a dump's header, read without a full parse: the
/// depth-1 members of a JSON object, or the top-level `key: value` lines of block YAML. The
/// YAML scan stops at the first column-0 line that is not a key, a comment or a document
/// marker, so prose quoting a dump (documentation) is not taken for one.
fn header_from_text(text: &str) -> (Option<&str>, Option<&str>) {
    if text.trim_start().starts_with('{') {
        return (json_member(text, "kind"), json_member(text, "version"));
    }
    let (mut kind, mut version) = (None, None);
    for line in super::util::lines(text) {
        let t = line.text;
        if t.is_empty() || t.starts_with([' ', '\t', '#', '%']) || t.starts_with("---") {
            continue;
        }
        let Some((key, value)) = yaml_key_line(t) else {
            break;
        };
        match key {
            "kind" => kind = Some(value),
            "version" => version = Some(value),
            _ => {}
        }
    }
    (kind, version)
}

/// `key: value # comment` with a plain or quoted simple key: the unquoted key and the raw value.
fn yaml_key_line(line: &str) -> Option<(&str, &str)> {
    let (key, rest) = line.split_once(':')?;
    let key = unquote(key.trim_end());
    let simple = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !simple || !(rest.is_empty() || rest.starts_with([' ', '\t'])) {
        return None;
    }
    let value = rest.split(" #").next().unwrap_or(rest).trim();
    Some((key, value))
}

/// The raw value of a member of a JSON document's top-level object (strings keep their quotes),
/// found by scanning: strings are skipped whole, brackets counted.
fn json_member<'a>(text: &'a str, wanted: &str) -> Option<&'a str> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            b'"' => {
                let end = json_string_end(bytes, i)?;
                let after = text[end..].trim_start();
                if depth == 1 && after.starts_with(':') && &text[i + 1..end - 1] == wanted {
                    let value = after[1..].trim_start();
                    let len = value.find([',', '}', '\n', '\r']).unwrap_or(value.len());
                    return Some(value[..len].trim_end());
                }
                i = end;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The index just past the closing quote of the JSON string opening at `start`.
fn json_string_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// Text without one pair of surrounding quotes.
fn unquote(s: &str) -> &str {
    for q in ['"', '\''] {
        if let Some(inner) = s.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
            return inner;
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::formats::Limits;
    use crate::source::{Encoding, FileStore};

    fn load(name: &str, text: &str) -> Arc<SourceFile> {
        let mut store = FileStore::new();
        let id = store.add_text(name, None, text.to_owned(), Encoding::Utf8);
        Arc::clone(store.get(id))
    }

    fn parse_text(text: &str) -> (Arc<SourceFile>, Config) {
        let file = load("dump.yaml", text);
        let config = parse(&file, &Limits::default());
        (file, config)
    }

    /// The value and source text of a setting.
    fn get<'a>(file: &'a SourceFile, config: &Config, key: &str) -> (SettingValue, &'a str) {
        let s = config
            .settings
            .get(key)
            .unwrap_or_else(|| panic!("{key} missing from {:?}", config.settings.keys()));
        (s.value.clone(), file.slice(s.span))
    }

    fn int(i: i64) -> SettingValue {
        SettingValue::Int(i)
    }
    fn boolean(b: bool) -> SettingValue {
        SettingValue::Bool(b)
    }
    fn string(s: &str) -> SettingValue {
        SettingValue::Str(s.to_owned())
    }

    const EXAMPLE: &str = r#"kind: ucontact-settings
version: 1
instance: acme.ucontactcloud.com
exported: 2026-11-01
security:
  company_message: { enabled: true, text: "Authorised use only" }
  show_last_login: true
  password:
    expiry_days: 90
    history: 4
    min_length: 12
    require_letters: true
    require_digits: true
    require_uppercase: false
    require_special: false
  lockout:
    max_attempts: 5
    duration_minutes: 30
  inactive_disable_days: 90
  session:
    idle_timeout_minutes: 15
  mfa:
    enabled: true
    method: email-code
users:
  - name: agent01
    role: agent
    login_schedule: { days: [mon, tue, wed, thu, fri], from: "08:00", to: "18:00" }
  - name: contractor7
    role: supervisor
    temporary: { expires: 2026-12-31 }
"#;

    #[test]
    fn yaml_values_have_value_spans() {
        let (file, config) = parse_text(EXAMPLE);
        assert!(config.errors.is_empty(), "{:?}", config.errors);
        assert_eq!(config.format, Format::Ucontact);
        assert_eq!(config.name.as_deref(), Some("acme.ucontactcloud.com"));
        assert_eq!(config.rule_count(), 0);
        assert!(config.features.sip_alg.is_none() && config.features.ips.is_none());
        let expected = [
            ("company_message.enabled", boolean(true), "true"),
            (
                "company_message.text",
                string("Authorised use only"),
                "\"Authorised use only\"",
            ),
            ("login.show_last_login", boolean(true), "true"),
            ("password.expiry_days", int(90), "90"),
            ("password.history", int(4), "4"),
            ("password.min_length", int(12), "12"),
            ("password.require_letters", boolean(true), "true"),
            ("password.require_digits", boolean(true), "true"),
            ("password.require_uppercase", boolean(false), "false"),
            ("password.require_special", boolean(false), "false"),
            ("lockout.max_attempts", int(5), "5"),
            ("lockout.duration_minutes", int(30), "30"),
            ("accounts.inactive_disable_days", int(90), "90"),
            ("session.idle_timeout_minutes", int(15), "15"),
            ("mfa.enabled", boolean(true), "true"),
            ("mfa.method", string("email-code"), "email-code"),
            (USERS_COUNT, int(2), "users"),
        ];
        for (key, value, text) in expected {
            assert_eq!(get(&file, &config, key), (value, text), "{key}");
        }
        // Every scalar setting was present: the table and the example agree.
        assert_eq!(config.settings.len(), SETTINGS.len() + 3);
        // agent01 has a schedule, contractor7 does not; contractor7's expiry is set.
        let (v, _) = get(&file, &config, USERS_WITHOUT_LOGIN_SCHEDULE);
        assert_eq!(v, SettingValue::List(vec!["contractor7".into()]));
        let (v, _) = get(&file, &config, USERS_TEMPORARY_WITHOUT_EXPIRY);
        assert_eq!(v, SettingValue::List(vec![]));
    }

    #[test]
    fn json_values_have_value_spans() {
        let text = "{\r\n\t\"kind\": \"ucontact-settings\",\r\n\t\"version\": 1,\r\n\t\"security\": {\r\n\t\t\"lockout\": {\"max_attempts\":5, \"duration_minutes\": \"until-admin-unlock\"},\r\n\t\t\"password\": {\"min_length\": 12, \"require_digits\": true},\r\n\t\t\"company_message\": {\"text\": \"Zugang nur f\\u00fcr Befugte\"}\r\n\t},\r\n\t\"users\": [{\"name\": \"a1\"}, {\"name\": \"a2\", \"login_schedule\": {\"days\": [\"sat\"], \"from\": \"22:00\", \"to\": \"06:00\"}}]\r\n}\r\n";
        let file = load("dump.json", text);
        assert_eq!(sniff("dump.json", text), 100);
        assert_eq!(crate::formats::detect(&file), Format::Ucontact);
        let config = parse(&file, &Limits::default());
        assert!(config.errors.is_empty(), "{:?}", config.errors);
        assert_eq!(get(&file, &config, "lockout.max_attempts"), (int(5), "5"));
        assert_eq!(
            get(&file, &config, "lockout.duration_minutes"),
            (string(UNTIL_ADMIN_UNLOCK), "\"until-admin-unlock\"")
        );
        assert_eq!(get(&file, &config, "password.min_length"), (int(12), "12"));
        assert_eq!(
            get(&file, &config, "password.require_digits"),
            (boolean(true), "true")
        );
        assert_eq!(
            get(&file, &config, "company_message.text"),
            (
                string("Zugang nur für Befugte"),
                "\"Zugang nur f\\u00fcr Befugte\""
            )
        );
        let s = &config.settings[USERS_WITHOUT_LOGIN_SCHEDULE];
        assert_eq!(s.value, SettingValue::List(vec!["a1".into()]));
        assert_eq!(file.slice(s.span), "\"users\"");
        assert_eq!(
            s.item_spans
                .iter()
                .map(|sp| file.slice(*sp))
                .collect::<Vec<_>>(),
            ["\"a1\""]
        );
    }

    #[test]
    fn values_not_in_the_dump_are_absent() {
        let (file, config) = parse_text(
            "kind: ucontact-settings\nversion: 1\nsecurity:\n  password:\n    min_length: 10\n  lockout:\n    max_attempts: 6\n",
        );
        assert!(config.errors.is_empty(), "{:?}", config.errors);
        let keys: Vec<&str> = config.settings.keys().map(String::as_str).collect();
        assert_eq!(keys, ["lockout.max_attempts", "password.min_length"]);
        assert_eq!(get(&file, &config, "password.min_length"), (int(10), "10"));
        // No `users` list: nothing is derived (not an empty, passing list).
        assert!(!config.settings.contains_key(USERS_WITHOUT_LOGIN_SCHEDULE));
    }

    #[test]
    fn zero_turns_a_limit_off_and_blank_text_is_no_text() {
        let (file, config) = parse_text(
            "kind: ucontact-settings\nversion: 1\nsecurity:\n  company_message: {enabled: true, text: '  '}\n  password: {expiry_days: 0, history: 0}\n  lockout: {max_attempts: 0}\n  inactive_disable_days: 0\n  session: {idle_timeout_minutes: 0}\n",
        );
        assert!(config.errors.is_empty(), "{:?}", config.errors);
        for key in [
            "password.expiry_days",
            "lockout.max_attempts",
            "accounts.inactive_disable_days",
            "session.idle_timeout_minutes",
        ] {
            assert_eq!(get(&file, &config, key), (string(OFF), "0"), "{key}");
        }
        // A history of 0 is simply too small, not "off".
        assert_eq!(get(&file, &config, "password.history"), (int(0), "0"));
        assert!(!config.settings.contains_key("company_message.text"));
    }

    #[test]
    fn lockout_until_admin_unlock() {
        let (file, config) = parse_text(
            "kind: ucontact-settings\nversion: 1\nsecurity:\n  lockout:\n    max_attempts: 3\n    duration_minutes: until-admin-unlock\n",
        );
        assert!(config.errors.is_empty(), "{:?}", config.errors);
        assert_eq!(
            get(&file, &config, "lockout.duration_minutes"),
            (string(UNTIL_ADMIN_UNLOCK), "until-admin-unlock")
        );
        // Any other text, and 0 minutes, are errors and give no setting.
        for bad in ["forever", "0"] {
            let (file, config) = parse_text(&format!(
                "kind: ucontact-settings\nversion: 1\nsecurity:\n  lockout:\n    duration_minutes: {bad}\n"
            ));
            assert_eq!(config.errors.len(), 1, "{bad}: {:?}", config.errors);
            assert_eq!(file.slice(config.errors[0].span), bad);
            assert!(config.settings.is_empty());
        }
    }

    #[test]
    fn derived_user_lists_label_each_offending_user() {
        let text = r#"kind: ucontact-settings
version: 1
users:
  - name: agent01
    login_schedule: { days: [mon, tue], from: "08:00", to: "18:00" }
  - name: agent02
  - name: temp1
    temporary: true
    login_schedule: { days: [sat], from: "09:00", to: "13:00" }
  - name: temp2
    temporary: {}
  - name: temp3
    temporary: { expires: 2026-12-31 }
  - name: perm
    temporary: false
  - name: night
    login_schedule: { days: [mon], from: "8am", to: "18:00" }
"#;
        let (file, config) = parse_text(text);
        // The malformed schedule is reported, and counts as no schedule.
        assert_eq!(config.errors.len(), 1, "{:?}", config.errors);
        assert_eq!(file.slice(config.errors[0].span), "\"8am\"");
        assert!(config.errors[0]
            .message
            .starts_with("users[6].login_schedule.from: "));
        assert_eq!(get(&file, &config, USERS_COUNT), (int(7), "users"));

        let check = |key: &str, names: &[&str]| {
            let s = &config.settings[key];
            let want: Vec<String> = names.iter().map(|n| n.to_string()).collect();
            assert_eq!(s.value, SettingValue::List(want), "{key}");
            assert_eq!(file.slice(s.span), "users");
            let labelled: Vec<&str> = s.item_spans.iter().map(|sp| file.slice(*sp)).collect();
            assert_eq!(labelled, names, "{key}");
        };
        check(
            USERS_WITHOUT_LOGIN_SCHEDULE,
            &["agent02", "temp2", "temp3", "perm", "night"],
        );
        check(USERS_TEMPORARY_WITHOUT_EXPIRY, &["temp1", "temp2"]);
    }

    #[test]
    fn unnamed_user_is_labelled_by_its_entry() {
        let (file, config) = parse_text(
            "kind: ucontact-settings\nversion: 1\nusers:\n  - role: agent\n    temporary: true\n",
        );
        assert_eq!(config.errors.len(), 1, "{:?}", config.errors); // name is required
        let s = &config.settings[USERS_TEMPORARY_WITHOUT_EXPIRY];
        assert_eq!(s.value, SettingValue::List(vec!["users[0]".into()]));
        assert_eq!(
            file.slice(s.item_spans[0]),
            "role: agent\n    temporary: true"
        );
    }

    #[test]
    fn schema_errors_are_reported_together_at_their_nodes() {
        let text = "kind: ucontact-settings\nversion: 1\nsecurity:\n  lockout:\n    max_attempts: \"five\"\n    max_atempts: 5\n  password:\n    min_length: 12\n";
        let (file, config) = parse_text(text);
        let found: Vec<(&str, &str)> = config
            .errors
            .iter()
            .map(|e| (file.slice(e.span), e.message.as_str()))
            .collect();
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].0, "\"five\"");
        assert!(
            found[0].1.starts_with("security.lockout.max_attempts: "),
            "{found:?}"
        );
        assert!(
            !found[0].1.contains("five"),
            "the value is not quoted: {found:?}"
        );
        assert_eq!(found[1].0, "max_atempts");
        assert!(
            found[1].1.contains("unknown key `max_atempts`"),
            "{found:?}"
        );
        // The wrong value gives no setting; the valid one is kept.
        assert!(!config.settings.contains_key("lockout.max_attempts"));
        assert_eq!(get(&file, &config, "password.min_length"), (int(12), "12"));
    }

    #[test]
    fn out_of_range_values_never_become_settings() {
        let (file, config) = parse_text(
            "kind: ucontact-settings\nversion: 1\nsecurity:\n  lockout: {max_attempts: -1}\n  password: {expiry_days: -90}\n",
        );
        let spans: Vec<&str> = config.errors.iter().map(|e| file.slice(e.span)).collect();
        assert_eq!(spans, ["-1", "-90"]);
        assert!(config.settings.is_empty(), "{:?}", config.settings);
    }

    #[test]
    fn wrong_header_and_empty_input_are_issues() {
        // Another version is reported at its value, and none of its settings is read.
        let (file, config) = parse_text(
            "kind: ucontact-settings\nversion: 2\nsecurity:\n  lockout: {max_attempts: 5}\n",
        );
        assert_eq!(config.errors.len(), 1);
        assert_eq!(file.slice(config.errors[0].span), "2");
        assert!(config.settings.is_empty());
        let (_, config) = parse_text("");
        assert_eq!(config.errors.len(), 1, "{:?}", config.errors);
        assert!(config.settings.is_empty());
    }

    #[test]
    fn secrets_are_never_copied() {
        let text = "kind: ucontact-settings\nversion: 1\nsecurity:\n  password: \"Hunter2!secret\"\nusers:\n  - name: agent01\n    password: \"S3cr3t-pw\"\n";
        let (file, config) = parse_text(text);
        let spans: Vec<&str> = config.errors.iter().map(|e| file.slice(e.span)).collect();
        // Labelled where they are written, never quoted.
        assert_eq!(
            spans,
            ["\"Hunter2!secret\"", "password"],
            "{:?}",
            config.errors
        );
        let model = format!("{config:?}");
        assert!(
            !model.contains("Hunter2") && !model.contains("S3cr3t"),
            "{model}"
        );
    }

    #[test]
    fn syntax_error_is_one_issue_at_its_offset() {
        let text = "kind: ucontact-settings\nversion: 1\nsecurity:\n  lockout: {max_attempts: 5\n  session: {}\n";
        let (file, config) = parse_text(text);
        assert_eq!(config.errors.len(), 1, "{:?}", config.errors);
        let issue = &config.errors[0];
        assert!(
            issue.message.starts_with("not valid YAML or JSON: "),
            "{issue:?}"
        );
        assert!(!issue.message.contains("line "), "{issue:?}");
        assert!(file.line_col(issue.span.start).line >= 4, "{issue:?}");
        assert!(config.settings.is_empty());
        // Nesting beyond the limit is refused, not recursed into (60 levels would overflow a
        // test thread's stack within the default `Limits`).
        for depth in [60, 200] {
            let deep = format!(
                "kind: ucontact-settings\nversion: 1\nx: {}{}\n",
                "[".repeat(depth),
                "]".repeat(depth)
            );
            assert_eq!(sniff("x", &deep), 100);
            let (_, config) = parse_text(&deep);
            assert_eq!(config.errors.len(), 1, "{:?}", config.errors);
        }
    }

    #[test]
    fn sniff_recognises_dumps_only() {
        let json = "{\"version\": 1, \"kind\": \"ucontact-settings\", \"security\": {}}";
        let flow = "{kind: ucontact-settings, version: 1}";
        let comments = "# uContact dump\n---\nkind: 'ucontact-settings' # marker\nversion: 1\n";
        for dump in [EXAMPLE, json, flow, comments] {
            assert_eq!(sniff("x", dump), 100, "{dump}");
        }
        // Another version is still ours, so that parse can report the version.
        assert_eq!(sniff("x", "kind: ucontact-settings\nversion: 2\n"), 50);
        assert_eq!(sniff("x", "kind: ucontact-settings\nversion: \"1\"\n"), 50);
        let pack = "id: ucontact\ntitle: uContact\ndescription: checks a ucontact-settings dump\nrequirements: []\n";
        let project = "packs: [pci-dss-4.0.1]\ninputs:\n  - { path: acme.yaml, format: ucontact }\n# kind: ucontact-settings\n";
        let nested = "meta:\n  kind: ucontact-settings\n  version: 1\n";
        let nested_json = "{\"meta\": {\"kind\": \"ucontact-settings\", \"version\": 1}}";
        let list = "- kind: ucontact-settings\n  version: 1\n";
        let iptables = "*filter\n:INPUT DROP [0:0]\n-A INPUT -m comment --comment \"kind: ucontact-settings\" -j ACCEPT\nCOMMIT\n";
        let docs = include_str!("../../docs/ucontact-settings.md");
        for other in [
            pack,
            project,
            nested,
            nested_json,
            list,
            iptables,
            SCHEMA,
            docs,
            "",
        ] {
            assert_eq!(sniff("x", other), 0, "{other}");
        }
        // Reading the plain header lines gives what parsing the YAML gives, for the dumps it
        // reads (the first two) and for those it leaves to the parser.
        let plain = "# dump\nkind: ucontact-settings # marker\nsecurity: {}\nversion: 1 # v\n";
        for text in [EXAMPLE, plain] {
            assert_eq!(header_from_text(text), (Some(KIND), Some("1")), "{text}");
        }
        let tagged = "kind: !!str ucontact-settings\nversion: !!int 1\n";
        let hex = "kind: ucontact-settings\nversion: 0x1\n";
        for text in [
            EXAMPLE, plain, json, flow, comments, tagged, hex, pack, nested, list, docs,
        ] {
            assert_eq!(sniff("x", text), sniff_parsed(text), "{text}");
        }
    }

    #[test]
    fn sniff_reads_the_cut_head_of_a_large_dump() {
        // `detect` only passes the first 64 KiB: a large dump is cut mid-value.
        let user = "  - name: agent\n    login_schedule: { days: [mon], from: \"08:00\", to: \"18:00\" }\n";
        let yaml = format!(
            "kind: ucontact-settings\nversion: 1\nusers:\n{}",
            user.repeat(2000)
        );
        let cut = &yaml[..yaml.len() / 2 + 7];
        assert!(yaml::parse(cut, YamlLimits::default()).is_err());
        assert_eq!(sniff("x", cut), 100);
        let json = format!(
            "{{\"users\": [{}{{\"name\": \"last\"}}], \"kind\": \"ucontact-settings\", \"version\": 1}}",
            "{\"name\": \"a \\\" [ {\"}, ".repeat(100)
        );
        assert_eq!(sniff("x", &json), 100);
        assert_eq!(sniff("x", &json[..json.len() - 1]), 100);
        let file = load("big.yaml", &yaml);
        assert_eq!(crate::formats::detect(&file), Format::Ucontact);
    }

    /// The documented example and the fixtures parse cleanly; the fixtures give the settings the
    /// tests of the packs rely on.
    #[test]
    fn docs_example_and_fixtures_parse_without_issues() {
        let docs = include_str!("../../docs/ucontact-settings.md");
        let example = docs
            .split("```yaml\n")
            .nth(1)
            .and_then(|rest| rest.split("```").next())
            .expect("docs hold a yaml example");
        let (_, config) = parse_text(example);
        assert!(config.errors.is_empty(), "{:?}", config.errors);
        assert_eq!(config.settings.len(), SETTINGS.len() + 3);
        // Every canonical key is documented.
        let derived = [
            USERS_COUNT,
            USERS_WITHOUT_LOGIN_SCHEDULE,
            USERS_TEMPORARY_WITHOUT_EXPIRY,
        ];
        for key in SETTINGS.iter().map(|s| s.0).chain(derived) {
            assert!(
                docs.contains(&format!("`{key}`")),
                "{key} is not documented"
            );
        }

        let fixtures = [
            (
                "compliant.yaml",
                include_str!("../../fixtures/ucontact/compliant.yaml"),
            ),
            (
                "weak.json",
                include_str!("../../fixtures/ucontact/weak.json"),
            ),
            (
                "missing.yaml",
                include_str!("../../fixtures/ucontact/missing.yaml"),
            ),
        ];
        let mut parsed = Vec::new();
        for (name, text) in fixtures {
            assert_eq!(sniff(name, text), 100, "{name}");
            let file = load(name, text);
            let config = parse(&file, &Limits::default());
            assert!(config.errors.is_empty(), "{name}: {:?}", config.errors);
            parsed.push((file, config));
        }
        let [(cf, compliant), (wf, weak), (mf, missing)] = &parsed[..] else {
            unreachable!()
        };
        let list =
            |names: &[&str]| SettingValue::List(names.iter().map(|s| s.to_string()).collect());

        assert_eq!(compliant.settings.len(), SETTINGS.len() + 3);
        assert_eq!(get(cf, compliant, "lockout.max_attempts").0, int(6));
        assert_eq!(get(cf, compliant, "lockout.duration_minutes").0, int(30));
        assert_eq!(
            get(cf, compliant, "session.idle_timeout_minutes").0,
            int(15)
        );
        assert_eq!(
            get(cf, compliant, USERS_WITHOUT_LOGIN_SCHEDULE).0,
            list(&[])
        );
        assert_eq!(
            get(cf, compliant, USERS_TEMPORARY_WITHOUT_EXPIRY).0,
            list(&[])
        );

        assert_eq!(get(wf, weak, "lockout.max_attempts"), (int(15), "15"));
        assert_eq!(get(wf, weak, "password.history"), (int(2), "2"));
        assert_eq!(get(wf, weak, "password.min_length"), (int(8), "8"));
        assert_eq!(get(wf, weak, "password.expiry_days"), (int(180), "180"));
        assert_eq!(get(wf, weak, "mfa.enabled"), (boolean(false), "false"));
        assert_eq!(
            get(wf, weak, "session.idle_timeout_minutes"),
            (string(OFF), "0")
        );
        assert_eq!(
            get(wf, weak, USERS_WITHOUT_LOGIN_SCHEDULE).0,
            list(&["supervisor2"])
        );
        assert_eq!(
            get(wf, weak, USERS_TEMPORARY_WITHOUT_EXPIRY).0,
            list(&["temp-campaign"])
        );

        // The seed's gaps, and no 2FA method as 2FA is off: absent, nothing else.
        let absent: Vec<&str> = SETTINGS
            .iter()
            .map(|s| s.0)
            .filter(|key| !missing.settings.contains_key(*key))
            .collect();
        assert_eq!(
            absent,
            [
                "lockout.duration_minutes",
                "session.idle_timeout_minutes",
                "mfa.method"
            ]
        );
        assert_eq!(get(mf, missing, "lockout.max_attempts").0, int(5));
        assert_eq!(get(mf, missing, USERS_COUNT).0, int(2));
    }

    #[test]
    fn nothing_panics_on_odd_input() {
        for text in [
            "kind: ucontact-settings\nversion: 1\nsecurity: 5\nusers: {a: 1}\n",
            "kind: ucontact-settings\nversion: 1\nusers: [1, [2], null, {name: 3}]\n",
            "kind: ucontact-settings\nversion: 1\nsecurity: {password: {min_length: 1e400}}\n",
            "[1, 2, 3]",
            "\"just a string\"",
            "kind: ucontact-settings\nversion: 1\nsecurity: &a {password: *a}\n",
        ] {
            let (_, config) = parse_text(text);
            assert!(!config.errors.is_empty(), "{text}");
            let _ = sniff("x", text);
        }
    }
}
