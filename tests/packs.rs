//! Pack loading: built-in packs are valid, and every error of a broken pack is reported at once
//! with its line and column.

use std::collections::BTreeMap;

use portaudit::pack::{builtin_packs, load_pack, BUILTIN_IDS};
use portaudit::source::FileStore;

/// (line, column, message, text under the span)
fn errors_of(path: &str) -> Vec<(usize, usize, String, String)> {
    let mut store = FileStore::new();
    let bytes = std::fs::read(path).unwrap();
    let id = store.add_bytes(path, None, &bytes);
    let errs =
        load_pack(store.get(id), false, &BTreeMap::new()).expect_err("pack must be rejected");
    let file = store.get(id);
    errs.iter()
        .map(|e| {
            let lc = file.line_col(e.span.start);
            (
                lc.line,
                lc.column,
                e.message.clone(),
                file.slice(e.span).to_owned(),
            )
        })
        .collect()
}

#[test]
fn builtin_packs_load_and_match_ids() {
    let mut store = FileStore::new();
    let mut ids = Vec::new();
    for (name, text) in builtin_packs() {
        let id = store.add_text(
            *name,
            None,
            (*text).to_owned(),
            portaudit::source::Encoding::Utf8,
        );
        let pack = load_pack(store.get(id), true, &BTreeMap::new())
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert!(!pack.requirements.is_empty(), "{name} has no requirements");
        ids.push(pack.id);
    }
    assert_eq!(ids, BUILTIN_IDS);
}

#[test]
fn schema_errors_are_all_reported_with_line_and_column() {
    let errs = errors_of("tests/data/packs/broken.yaml");
    let at = |line: usize, col: usize, needle: &str, text: &str| {
        assert!(
            errs.iter()
                .any(|(l, c, m, t)| *l == line && *c == col && m.contains(needle) && t == text),
            "no error at {line}:{col} on {text:?} containing {needle:?} in {errs:#?}"
        );
    };
    at(3, 10, "string", "1.0"); // version must be a string
    at(10, 17, "10.0.0.0/33x", "10.0.0.0/33x"); // bad CIDR
    at(14, 15, "hgh", "hgh"); // severity
    at(29, 77, "sideways", "sideways"); // direction
    at(37, 5, "unknown key `colour`", "colour"); // labelled at the key itself
    assert_eq!(errs.len(), 5, "{errs:#?}");
}

#[test]
fn semantic_errors_are_all_reported() {
    let errs = errors_of("tests/data/packs/semantic.yaml");
    let find = |needle: &str| {
        errs.iter()
            .find(|(_, _, m, _)| m.contains(needle))
            .unwrap_or_else(|| panic!("no error containing {needle:?} in {errs:#?}"))
            .clone()
    };
    assert_eq!(find("duplicate requirement id").0, 17);
    assert_eq!(find("reversed range").3, "\"20000-10000\"");
    assert_eq!(find("reversed range").0, 16);
    assert_eq!(find("unknown role `nobody`").3, "nobody");
    assert_eq!(find("unknown source").0, 24);
    assert_eq!(find("takes an integer").3, "\"four\"");
    assert_eq!(errs.len(), 5, "{errs:#?}");
}

#[test]
fn requirement_ids_are_unique_across_builtin_packs() {
    let mut store = FileStore::new();
    let mut seen = std::collections::BTreeMap::new();
    for (name, text) in builtin_packs() {
        let id = store.add_text(
            *name,
            None,
            (*text).to_owned(),
            portaudit::source::Encoding::Utf8,
        );
        let pack = load_pack(store.get(id), true, &BTreeMap::new()).unwrap();
        for r in pack.requirements {
            if let Some(other) = seen.insert(r.id.clone(), pack.id.clone()) {
                panic!("{} is defined by both {other} and {}", r.id, pack.id);
            }
        }
    }
    assert!(seen.len() > 100, "{} requirements", seen.len());
}

#[test]
fn setting_thresholds_can_come_from_parameters() {
    use portaudit::pack::Check;
    let mut store = FileStore::new();
    let (name, text) = builtin_packs()
        .iter()
        .find(|(n, _)| n.ends_with("iso27001-2022.yaml"))
        .unwrap();
    let id = store.add_text(
        *name,
        None,
        (*text).to_owned(),
        portaudit::source::Encoding::Utf8,
    );
    let value = |overrides: &BTreeMap<String, BTreeMap<String, u32>>| {
        let pack = load_pack(store.get(id), true, overrides).unwrap();
        let req = pack
            .requirements
            .iter()
            .find(|r| r.id == "ISO-8.5-LOCKOUT")
            .unwrap();
        match &req.check {
            Check::Setting { condition, .. } => condition.value.clone(),
            _ => panic!("not a setting"),
        }
    };
    // Default: the PCI DSS 4.0.1 profile.
    assert_eq!(value(&BTreeMap::new()), serde_json::json!(10));
    // A user picking the PCI DSS 3.2.1 numbers.
    let mut o = BTreeMap::new();
    o.insert(
        "iso27001-2022".to_string(),
        BTreeMap::from([("lockout_max_attempts".to_string(), 6)]),
    );
    assert_eq!(value(&o), serde_json::json!(6));
}

#[test]
fn unknown_threshold_parameter_is_located() {
    let mut store = FileStore::new();
    let text = "id: p\ntitle: P\nversion: 1.0.0\nsources: [{ id: s, title: S }]\nrequirements:\n  - id: R\n    title: T\n    severity: low\n    category: setting\n    rationale: r\n    remediation: r\n    references: [x]\n    check:\n      setting: { key: lockout.max_attempts, op: \"<=\", value: { param: nope } }\n";
    let id = store.add_text(
        "p.yaml",
        None,
        text.to_owned(),
        portaudit::source::Encoding::Utf8,
    );
    let errs = load_pack(store.get(id), false, &BTreeMap::new()).unwrap_err();
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].message.contains("unknown parameter `nope`"),
        "{errs:?}"
    );
    let file = store.get(id);
    assert_eq!(file.line_col(errs[0].span.start).line, 14);
}
