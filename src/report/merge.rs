//! `portaudit merge`: join the JSON or SARIF reports of the N shards of one `check --shard K/N`
//! run into the report the unsharded run writes, byte for byte.
//!
//! A shard's report carries where its files stand among all the inputs (`"shard"` in JSON, the
//! run's `portaudit-shard` property in SARIF); findings of one file are all in one shard, so the
//! merge puts files, findings and results back in input order and sums the counts. A waiver
//! "matches no finding" only if it matches none in every shard. The shards must be complete
//! (1..N, each once, covering every input) and come from the same tool version, packs and
//! configuration; anything else is an error.

use std::io::Write;

use serde_json::{Map, Value};

use crate::pack::Severity;

/// Report formats that can be merged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Json,
    Sarif,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Json => "json",
            Kind::Sarif => "sarif",
        }
    }
}

/// A merged report.
#[derive(Debug)]
pub struct Merged {
    pub kind: Kind,
    report: Value,
    /// `fail-on` from the shards' portaudit.yaml.
    pub fail_on: Option<Severity>,
    /// Some input could not be fully evaluated (exit 2, as `check`).
    pub incomplete: bool,
    /// (severity, is an input error, waived) of every finding.
    findings: Vec<(Severity, bool, bool)>,
    /// SARIF: what the merged log left out under the shards' `--sarif-max-results`.
    pub left_out: Option<super::sarif::LeftOut>,
}

impl Merged {
    /// Write the report (pretty-printed, with a final newline, as `check` writes it).
    pub fn write(&self, w: &mut dyn Write) -> std::io::Result<()> {
        let mut w = std::io::BufWriter::with_capacity(super::WRITE_BUFFER, w);
        super::pretty::to_writer(&mut w, &self.report)?;
        w.write_all(b"\n")?;
        w.flush()
    }

    /// The report as a string.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        let _ = self.write(&mut out);
        String::from_utf8(out).unwrap_or_default()
    }

    /// Findings (not waived, not input errors) at or above a severity, as [`crate::engine::Run::failing`].
    pub fn failing(&self, threshold: Severity) -> usize {
        self.findings
            .iter()
            .filter(|(s, input, waived)| !waived && !input && *s >= threshold)
            .count()
    }
}

/// One shard's report.
struct Part {
    name: String,
    value: Value,
    index: u64,
    count: u64,
    inputs: u64,
    /// Input index of each file of the shard.
    files: Vec<u64>,
    /// Input index of the file of each finding (JSON) or result (SARIF).
    items: Vec<u64>,
    incomplete: bool,
    fail_on: Option<String>,
    /// SARIF: the shard's limit on results (0: none) and the results it found before the limit.
    max_results: u64,
    found: u64,
}

fn kind_of(v: &Value) -> Option<Kind> {
    if v.get("runs").is_some_and(Value::is_array) && v.get("version").is_some() {
        Some(Kind::Sarif)
    } else if v.get("tool").is_some() && v.get("findings").is_some_and(Value::is_array) {
        Some(Kind::Json)
    } else {
        None
    }
}

fn numbers(v: Option<&Value>, what: &str, name: &str) -> Result<Vec<u64>, String> {
    v.and_then(Value::as_array)
        .and_then(|a| a.iter().map(Value::as_u64).collect::<Option<Vec<_>>>())
        .ok_or_else(|| format!("{name}: the shard information has no valid `{what}`"))
}

fn part(name: &str, value: Value, kind: Kind) -> Result<Part, String> {
    let meta = match kind {
        Kind::Json => value.get("shard"),
        Kind::Sarif => value.pointer("/runs/0/properties/portaudit-shard"),
    }
    .ok_or_else(|| {
        format!("{name}: not the report of a `check --shard K/N` run (no shard information)")
    })?;
    let num = |k: &str| {
        meta.get(k)
            .and_then(Value::as_u64)
            .ok_or_else(|| format!("{name}: the shard information has no valid `{k}`"))
    };
    let (index, count, inputs) = (num("index")?, num("count")?, num("inputs")?);
    let files = numbers(meta.get("files"), "files", name)?;
    let items_key = if kind == Kind::Json {
        "findings"
    } else {
        "results"
    };
    let items = numbers(meta.get(items_key), items_key, name)?;
    let fail_on = meta
        .get("fail_on")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let incomplete = meta
        .get("incomplete")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let max_results = meta.get("max_results").and_then(Value::as_u64).unwrap_or(0);
    let found = meta
        .get("found")
        .and_then(Value::as_u64)
        .unwrap_or(items.len() as u64);
    let listed = match kind {
        Kind::Json => value.get("findings"),
        Kind::Sarif => value.pointer("/runs/0/results"),
    }
    .and_then(Value::as_array)
    .map_or(0, Vec::len);
    if listed != items.len() {
        return Err(format!(
            "{name}: the shard information does not match its {items_key} ({} listed, {listed} present)",
            items.len()
        ));
    }
    if kind == Kind::Json {
        let n = value
            .get("files")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        if n != files.len() {
            return Err(format!(
                "{name}: the shard information does not match its files"
            ));
        }
    }
    Ok(Part {
        name: name.to_owned(),
        value,
        index,
        count,
        inputs,
        files,
        items,
        incomplete,
        fail_on,
        max_results,
        found,
    })
}

/// What must be equal in every shard: the tool, the packs (and their rules) and the setup.
fn identity(p: &Part, kind: Kind) -> Value {
    match kind {
        Kind::Json => {
            let packs: Vec<Value> = p
                .value
                .pointer("/summary/packs")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .map(|x| serde_json::json!([x.get("id"), x.get("version")]))
                        .collect()
                })
                .unwrap_or_default();
            serde_json::json!({ "tool": p.value.get("tool"), "packs": packs, "fail_on": p.fail_on, "count": p.count, "inputs": p.inputs })
        }
        Kind::Sarif => serde_json::json!({
            "schema": p.value.get("$schema"),
            "version": p.value.get("version"),
            "tool": p.value.pointer("/runs/0/tool"),
            "columnKind": p.value.pointer("/runs/0/columnKind"),
            "fail_on": p.fail_on,
            "count": p.count,
            "inputs": p.inputs,
        }),
    }
}

fn describe(v: &Value, kind: Kind) -> String {
    match kind {
        Kind::Json => format!(
            "portaudit {}, packs {}, shard count {}, {} inputs",
            v.pointer("/tool/version")
                .and_then(Value::as_str)
                .unwrap_or("?"),
            v.get("packs")
                .and_then(Value::as_array)
                .map(|a| a
                    .iter()
                    .map(|p| format!(
                        "{} {}",
                        p[0].as_str().unwrap_or("?"),
                        p[1].as_str().unwrap_or("?")
                    ))
                    .collect::<Vec<_>>()
                    .join(", "))
                .unwrap_or_default(),
            v["count"],
            v["inputs"]
        ),
        Kind::Sarif => format!(
            "portaudit {}, shard count {}, {} inputs",
            v.pointer("/tool/driver/version")
                .and_then(Value::as_str)
                .unwrap_or("?"),
            v["count"],
            v["inputs"]
        ),
    }
}

/// Merge shard reports given as (name, text). `want`: the format asked for, if any.
pub fn merge(inputs: &[(String, String)], want: Option<Kind>) -> Result<Merged, String> {
    let mut kind = want;
    let mut parts = Vec::new();
    for (name, text) in inputs {
        let value: Value =
            serde_json::from_str(text).map_err(|e| format!("{name}: not JSON: {e}"))?;
        let k = kind_of(&value)
            .ok_or_else(|| format!("{name}: neither a portaudit JSON report nor a SARIF log"))?;
        match kind {
            Some(prev) if prev != k => {
                return Err(format!(
                    "{name}: a {} report, but the merge is of {} reports",
                    k.as_str(),
                    prev.as_str()
                ))
            }
            _ => kind = Some(k),
        }
        parts.push(part(name, value, k)?);
    }
    let kind = kind.ok_or("nothing to merge")?;
    let first = parts.first().ok_or("nothing to merge")?;
    let id = identity(first, kind);
    for p in &parts[1..] {
        let other = identity(p, kind);
        if other != id {
            return Err(format!(
                "{} and {} are not shards of the same run ({} / {}): check them with the same portaudit, packs, configuration and inputs",
                first.name,
                p.name,
                describe(&id, kind),
                describe(&other, kind)
            ));
        }
    }
    if let Some(p) = parts.iter().find(|p| p.max_results != first.max_results) {
        return Err(format!(
            "{} and {} are not shards of the same run: written with --sarif-max-results {} and {}",
            first.name, p.name, first.max_results, p.max_results
        ));
    }
    let (count, inputs) = (first.count, first.inputs);
    let fail_on = first.fail_on.as_deref().and_then(Severity::parse);
    let mut seen = vec![None; count as usize];
    for p in &parts {
        if p.index == 0 || p.index > count {
            return Err(format!(
                "{}: shard {}/{count} is out of range",
                p.name, p.index
            ));
        }
        if let Some(prev) = seen[(p.index - 1) as usize].replace(&p.name) {
            return Err(format!(
                "{prev} and {} are both shard {}/{count}",
                p.name, p.index
            ));
        }
    }
    let missing: Vec<String> = seen
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_none())
        .map(|(i, _)| format!("{}/{count}", i + 1))
        .collect();
    if !missing.is_empty() {
        return Err(format!("missing shard(s): {}", missing.join(", ")));
    }
    parts.sort_by_key(|p| p.index);
    let mut all_files: Vec<u64> = parts.iter().flat_map(|p| p.files.iter().copied()).collect();
    all_files.sort_unstable();
    let expected: Vec<u64> = (0..inputs).collect();
    if all_files != expected {
        return Err(
            "the shards do not cover the inputs exactly once: were they checked with the same paths?"
                .into(),
        );
    }
    match kind {
        Kind::Json => merge_json(parts, fail_on),
        Kind::Sarif => merge_sarif(parts, fail_on),
    }
}

/// Items of every part in input order (all the items of one input are in one part, in order).
fn ordered(parts: &mut [Part], items: impl Fn(&mut Part) -> (Vec<Value>, Vec<u64>)) -> Vec<Value> {
    let mut all: Vec<(u64, usize, Value)> = Vec::new();
    for p in parts.iter_mut() {
        let (values, ordinals) = items(p);
        all.extend(
            ordinals
                .into_iter()
                .zip(values)
                .enumerate()
                .map(|(i, (o, v))| (o, i, v)),
        );
    }
    all.sort_by_key(|(o, i, _)| (*o, *i));
    all.into_iter().map(|(_, _, v)| v).collect()
}

fn take_array(v: &mut Value, key: &str) -> Vec<Value> {
    match v.get_mut(key).map(Value::take) {
        Some(Value::Array(a)) => a,
        _ => Vec::new(),
    }
}

fn add_counts(into: &mut Map<String, Value>, from: Option<&Value>) {
    if let Some(Value::Object(m)) = from {
        for (k, v) in m {
            let n = into.get(k).and_then(Value::as_u64).unwrap_or(0) + v.as_u64().unwrap_or(0);
            into.insert(k.clone(), Value::from(n));
        }
    }
}

fn sum(parts: &[Part], pointer: &str) -> u64 {
    parts
        .iter()
        .filter_map(|p| p.value.pointer(pointer).and_then(Value::as_u64))
        .sum()
}

fn merge_json(mut parts: Vec<Part>, fail_on: Option<Severity>) -> Result<Merged, String> {
    // Notices: configuration notices every shard gives (a waiver unmatched in one shard may match
    // in another).
    let notice_sets: Vec<Vec<Value>> = parts
        .iter_mut()
        .map(|p| take_array(&mut p.value, "notices"))
        .collect();
    let mut notices = Vec::new();
    let mut rest: Vec<Vec<Value>> = notice_sets[1..].to_vec();
    for n in &notice_sets[0] {
        let everywhere = rest.iter().all(|set| set.contains(n));
        if everywhere {
            for set in &mut rest {
                if let Some(i) = set.iter().position(|x| x == n) {
                    set.remove(i);
                }
            }
            notices.push(n.clone());
        }
    }
    let summary = |p: &Part, key: &str| p.value.pointer(&format!("/summary/{key}")).cloned();
    let mut by_severity = Map::new();
    let mut packs: Vec<Value> = summary(&parts[0], "packs")
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default();
    for pack in &mut packs {
        if let Some(r) = pack.get_mut("results") {
            *r = Value::Object(Map::new());
        }
    }
    for p in &parts {
        add_counts(&mut by_severity, summary(p, "by_severity").as_ref());
        if let Some(Value::Array(ps)) = summary(p, "packs") {
            for (into, from) in packs.iter_mut().zip(&ps) {
                if let Some(Value::Object(m)) = into.get_mut("results") {
                    add_counts(m, from.get("results"));
                }
            }
        }
    }
    let (findings_total, waived, baselined) = (
        sum(&parts, "/summary/findings"),
        sum(&parts, "/summary/waived"),
        sum(&parts, "/summary/baselined"),
    );
    let per_file = ordered(&mut parts, |p| {
        let files = p
            .value
            .get("files")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        // per_file lists the files that were not skipped, in files order.
        let ordinals: Vec<u64> = files
            .iter()
            .zip(&p.files)
            .filter(|(f, _)| f.get("skipped").is_none())
            .map(|(_, o)| *o)
            .collect();
        let rows = p
            .value
            .get_mut("summary")
            .map(|s| take_array(s, "per_file"))
            .unwrap_or_default();
        (rows, ordinals)
    });
    let findings = ordered(&mut parts, |p| {
        (take_array(&mut p.value, "findings"), p.items.clone())
    });
    let files = ordered(&mut parts, |p| {
        (take_array(&mut p.value, "files"), p.files.clone())
    });
    let evaluated = files.iter().filter(|f| f.get("skipped").is_none()).count();
    let incomplete = files
        .iter()
        .any(|f| f.get("incomplete").and_then(Value::as_bool) == Some(true));
    let mut summary = Map::new();
    summary.insert("files".into(), files.len().into());
    summary.insert("evaluated".into(), evaluated.into());
    summary.insert("skipped".into(), (files.len() - evaluated).into());
    summary.insert("incomplete".into(), incomplete.into());
    summary.insert("findings".into(), findings_total.into());
    summary.insert("waived".into(), waived.into());
    summary.insert("baselined".into(), baselined.into());
    summary.insert("by_severity".into(), Value::Object(by_severity));
    summary.insert("packs".into(), Value::Array(packs));
    summary.insert("per_file".into(), Value::Array(per_file));
    let digest = findings
        .iter()
        .map(|f| {
            let s = f
                .get("severity")
                .and_then(Value::as_str)
                .and_then(Severity::parse)
                .unwrap_or(Severity::Info);
            let input = f.get("category").and_then(Value::as_str) == Some("input-error");
            let waived = f.get("waived").and_then(Value::as_bool) == Some(true);
            (s, input, waived)
        })
        .collect();
    let mut report = Map::new();
    report.insert(
        "tool".into(),
        parts[0].value.get("tool").cloned().unwrap_or(Value::Null),
    );
    report.insert("findings".into(), Value::Array(findings));
    report.insert("files".into(), Value::Array(files));
    report.insert("notices".into(), Value::Array(notices));
    report.insert("summary".into(), Value::Object(summary));
    Ok(Merged {
        kind: Kind::Json,
        report: Value::Object(report),
        fail_on,
        incomplete,
        findings: digest,
        left_out: None,
    })
}

fn merge_sarif(mut parts: Vec<Part>, fail_on: Option<Severity>) -> Result<Merged, String> {
    let incomplete = parts.iter().any(|p| p.incomplete);
    let max_results = parts.first().map_or(0, |p| p.max_results) as usize;
    let found: u64 = parts.iter().map(|p| p.found).sum();
    let mut results = ordered(&mut parts, |p| {
        let results = p
            .value
            .pointer_mut("/runs/0")
            .map(|r| take_array(r, "results"))
            .unwrap_or_default();
        (results, p.items.clone())
    });
    let severity = |r: &Value| {
        r.pointer("/properties/severity")
            .and_then(Value::as_str)
            .and_then(Severity::parse)
            .unwrap_or(Severity::Info)
    };
    // The limit again over the shards' results (each shard kept its most severe, so the
    // fleet's most severe are among them): the same choice as the unsharded run's.
    if max_results > 0 && results.len() > max_results {
        let mut order: Vec<usize> = (0..results.len()).collect();
        order.sort_by_key(|&i| (std::cmp::Reverse(severity(&results[i])), i));
        let mut keep = vec![false; results.len()];
        for &i in &order[..max_results] {
            keep[i] = true;
        }
        let mut keep = keep.into_iter();
        results.retain(|_| keep.next().unwrap_or(false));
    }
    let left_out = (found > results.len() as u64).then(|| super::sarif::LeftOut {
        found: found as usize,
        kept: results.len(),
        least: results.iter().map(severity).min().unwrap_or(Severity::Info),
    });
    let digest = results
        .iter()
        .map(|r| {
            let input =
                r.pointer("/properties/category").and_then(Value::as_str) == Some("input-error");
            (severity(r), input, false)
        })
        .collect();
    let mut report = parts.swap_remove(0).value;
    let run = report
        .pointer_mut("/runs/0")
        .and_then(Value::as_object_mut)
        .ok_or("SARIF log without a run")?;
    run.shift_remove("properties");
    run.shift_remove("invocations");
    run.insert("results".into(), Value::Array(results));
    if let Some(l) = left_out {
        run.insert("invocations".into(), l.invocations(!incomplete));
    }
    Ok(Merged {
        kind: Kind::Sarif,
        report,
        fail_on,
        incomplete,
        findings: digest,
        left_out,
    })
}
