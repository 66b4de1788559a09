//! Pack unit tests (`portaudit test`), in the spirit of `opa test` and `semgrep --test`.
//!
//! Next to a pack file `DIR/<pack>.yaml`, its tests live in `DIR/tests/<pack-id>/`, one folder per
//! requirement:
//!
//! ```text
//! DIR/tests/<pack-id>/<REQUIREMENT-ID>/
//!     pass.<ext>, pass-*.<ext>   exports on which the requirement must pass (no finding)
//!     fail.<ext>, fail-*.<ext>   exports on which it must fail
//!     expect.yaml                the expected findings of each failing export, by file name:
//!                                  fail.rules:
//!                                    - { requirement: PCI-1.2.6-TELNET, line: 7 }
//!     portaudit.yaml             optional: `endpoints` (role mappings) and `parameters`, as in
//!                                the project configuration
//! ```
//!
//! A passing example must yield status `pass` and no finding for the requirement under test. A
//! failing example must yield exactly the findings listed (requirement id and line of the primary
//! location). The requirement under test is evaluated even when it is optional. Requirement
//! folders that name no requirement of the pack are errors, and so is an example whose input is
//! not recognised or has input errors.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::checks::{self, Ctx, Status};
use crate::config;
use crate::formats::{self, Limits};
use crate::model::Format;
use crate::pack::{self, Pack, Requirement};
use crate::source::{display_name, FileId, SourceFile};

/// Name of the tests folder next to pack files.
pub const TESTS_DIR: &str = "tests";
/// File listing the expected findings of the failing examples.
pub const EXPECT_FILE: &str = "expect.yaml";

/// Whether an example must pass or fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Pass,
    Fail,
}

/// One example export and what happened to it.
#[derive(Clone, Debug)]
pub struct CaseResult {
    pub path: PathBuf,
    pub kind: Kind,
    /// The requirement's status on the example (None: it could not be evaluated).
    pub status: Option<Status>,
    /// Empty when the example behaved as expected.
    pub problems: Vec<String>,
}

/// The examples of one requirement.
#[derive(Clone, Debug)]
pub struct RequirementResult {
    pub pack: String,
    pub requirement: String,
    pub cases: Vec<CaseResult>,
    /// Problems with the test folder itself (missing pass or fail example, bad expect.yaml).
    pub problems: Vec<String>,
}

impl RequirementResult {
    /// No example at all.
    pub fn missing(&self) -> bool {
        self.cases.is_empty() && self.problems.is_empty()
    }
    pub fn passed(&self) -> bool {
        !self.cases.is_empty()
            && self.problems.is_empty()
            && self.cases.iter().all(|c| c.problems.is_empty())
    }
}

/// Everything `portaudit test` found.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    pub results: Vec<RequirementResult>,
    /// Problems not tied to one requirement (unreadable pack, folder naming no requirement).
    pub errors: Vec<String>,
}

impl Summary {
    pub fn passed(&self) -> usize {
        self.results.iter().filter(|r| r.passed()).count()
    }
    pub fn failed(&self) -> usize {
        self.results
            .iter()
            .filter(|r| !r.passed() && !r.missing())
            .count()
    }
    pub fn missing(&self) -> usize {
        self.results.iter().filter(|r| r.missing()).count()
    }
    /// Whether the run succeeds (`strict`: requirements without examples fail it too).
    pub fn ok(&self, strict: bool) -> bool {
        self.failed() == 0 && self.errors.is_empty() && (!strict || self.missing() == 0)
    }
    /// `N passed, M failed, K without tests`.
    pub fn line(&self) -> String {
        let mut s = format!("{} passed, {} failed", self.passed(), self.failed());
        if self.missing() > 0 {
            s.push_str(&format!(", {} without tests", self.missing()));
        }
        if !self.errors.is_empty() {
            s.push_str(&format!(", {} errors", self.errors.len()));
        }
        s
    }
    /// A readable report: one line per requirement, problems indented, the summary last.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for r in &self.results {
            let status = if r.passed() {
                "ok     "
            } else if r.missing() {
                "missing"
            } else {
                "FAIL   "
            };
            out.push_str(&format!(
                "{status} {} {} ({} example{})\n",
                r.pack,
                r.requirement,
                r.cases.len(),
                if r.cases.len() == 1 { "" } else { "s" }
            ));
            for p in &r.problems {
                out.push_str(&format!("    {p}\n"));
            }
            for c in &r.cases {
                for p in &c.problems {
                    out.push_str(&format!("    {}: {p}\n", c.path.display()));
                }
            }
        }
        for e in &self.errors {
            out.push_str(&format!("error: {e}\n"));
        }
        out.push_str(&self.line());
        out.push('\n');
        out
    }
}

/// Expected finding of a failing example.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expected {
    pub requirement: String,
    pub line: usize,
}

/// A pack file and the pack loaded from it.
struct Loaded {
    source: SourceFile,
    pack: Pack,
}

/// Pack files named by the paths: files as given, `*.yaml`/`*.yml` directly in folders.
fn pack_paths(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    crate::engine::pack_files(paths).map_err(|e| e.message)
}

/// Run the tests of the packs at `paths` (pack files or folders of pack files).
pub fn run(paths: &[PathBuf]) -> Summary {
    let mut summary = Summary::default();
    let files = match pack_paths(paths) {
        Ok(f) => f,
        Err(e) => {
            summary.errors.push(e);
            return summary;
        }
    };
    let mut next_id = 0u32;
    let mut fresh = || {
        next_id += 1;
        FileId(next_id)
    };
    for path in files {
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                summary
                    .errors
                    .push(format!("cannot read {}: {e}", path.display()));
                continue;
            }
        };
        let source =
            SourceFile::from_bytes(fresh(), display_name(&path), Some(path.clone()), &bytes);
        let pack = match pack::load_pack(&source, false, &BTreeMap::new()) {
            Ok(p) => p,
            Err(errs) => {
                for e in errs {
                    let lc = source.line_col(e.span.start);
                    summary.errors.push(format!(
                        "{}:{}:{}: {}",
                        source.name, lc.line, lc.column, e.message
                    ));
                }
                continue;
            }
        };
        let dir = path
            .parent()
            .unwrap_or(Path::new("."))
            .join(TESTS_DIR)
            .join(&pack.id);
        let loaded = Loaded { source, pack };
        test_pack(&loaded, &dir, &mut fresh, &mut summary);
    }
    summary
}

/// The example files of a requirement folder, sorted, with their kind.
fn examples(dir: &Path) -> Vec<(PathBuf, Kind)> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<(PathBuf, Kind)> = rd
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?.to_owned();
            let stem = name.split('.').next().unwrap_or("");
            let kind = if stem == "pass" || stem.starts_with("pass-") {
                Kind::Pass
            } else if stem == "fail" || stem.starts_with("fail-") {
                Kind::Fail
            } else {
                return None;
            };
            Some((p, kind))
        })
        .collect();
    v.sort();
    v
}

fn test_pack(
    loaded: &Loaded,
    dir: &Path,
    fresh: &mut impl FnMut() -> FileId,
    summary: &mut Summary,
) {
    let pack = &loaded.pack;
    // Folders that name no requirement: a renamed requirement left its tests behind.
    if let Ok(rd) = std::fs::read_dir(dir) {
        let mut names: Vec<String> = rd
            .filter_map(Result::ok)
            .filter(|e| e.path().is_dir())
            .filter_map(|e| e.file_name().to_str().map(str::to_owned))
            .collect();
        names.sort();
        for n in names {
            if !pack.requirements.iter().any(|r| r.id == n) {
                summary.errors.push(format!(
                    "{}: no requirement `{n}` in pack `{}`",
                    dir.join(&n).display(),
                    pack.id
                ));
            }
        }
    }
    for req in &pack.requirements {
        let rdir = dir.join(&req.id);
        let mut result = RequirementResult {
            pack: pack.id.clone(),
            requirement: req.id.clone(),
            cases: Vec::new(),
            problems: Vec::new(),
        };
        let cases = examples(&rdir);
        if cases.is_empty() {
            summary.results.push(result);
            continue;
        }
        if !cases.iter().any(|c| c.1 == Kind::Pass) {
            result.problems.push("no passing example (pass.*)".into());
        }
        if !cases.iter().any(|c| c.1 == Kind::Fail) {
            result.problems.push("no failing example (fail.*)".into());
        }
        let expect = match read_expect(&rdir.join(EXPECT_FILE)) {
            Ok(e) => e,
            Err(e) => {
                result.problems.push(e);
                BTreeMap::new()
            }
        };
        for name in expect.keys() {
            if !cases.iter().any(|(p, k)| {
                *k == Kind::Fail && p.file_name().and_then(|f| f.to_str()) == Some(name)
            }) {
                result.problems.push(format!(
                    "{EXPECT_FILE} names `{name}`, which is not a fail.* example"
                ));
            }
        }
        let case_cfg = match read_case_config(&rdir, fresh) {
            Ok(c) => c,
            Err(e) => {
                result.problems.push(e);
                summary.results.push(result);
                continue;
            }
        };
        // Parameter overrides need the pack reloaded with them.
        let reloaded;
        let req: &Requirement = if case_cfg.parameters.is_empty() {
            req
        } else {
            match pack::load_pack(&loaded.source, false, &case_cfg.parameters) {
                Ok(p) => {
                    reloaded = p;
                    match reloaded.requirements.iter().find(|r| r.id == req.id) {
                        Some(r) => r,
                        None => req,
                    }
                }
                Err(_) => {
                    result.problems.push(
                        "the pack does not load with the parameters of portaudit.yaml".into(),
                    );
                    summary.results.push(result);
                    continue;
                }
            }
        };
        for (path, kind) in cases {
            let name = path
                .file_name()
                .and_then(|f| f.to_str())
                .unwrap_or_default()
                .to_owned();
            let evaluated = evaluate(req, pack, &case_cfg, &path, fresh());
            let status = evaluated.as_ref().ok().map(|e| e.status);
            let problems = match (kind, evaluated) {
                (_, Err(e)) => vec![e],
                (Kind::Pass, Ok(ev)) => check_pass(ev),
                (Kind::Fail, Ok(ev)) => match expect.get(&name) {
                    Some(want) => check_fail(ev, want),
                    None => vec![format!(
                        "no expected findings for `{name}` in {EXPECT_FILE}"
                    )],
                },
            };
            result.cases.push(CaseResult {
                path,
                kind,
                status,
                problems,
            });
        }
        summary.results.push(result);
    }
}

fn read_expect(path: &Path) -> Result<BTreeMap<String, Vec<Expected>>, String> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(BTreeMap::new());
    };
    let root = crate::yaml::parse(&text, crate::yaml::YamlLimits::default())
        .map_err(|e| format!("{}: invalid YAML: {}", path.display(), e.message))?;
    serde_json::from_value(root.to_json()).map_err(|e| {
        format!(
            "{}: expected `<fail file>: [{{requirement, line}}]`: {e}",
            path.display()
        )
    })
}

fn read_case_config(
    dir: &Path,
    fresh: &mut impl FnMut() -> FileId,
) -> Result<config::Config, String> {
    let path = dir.join(config::CONFIG_FILE);
    let Ok(bytes) = std::fs::read(&path) else {
        return Ok(config::Config::default());
    };
    let file = SourceFile::from_bytes(fresh(), display_name(&path), Some(path.clone()), &bytes);
    config::load(&file).map_err(|errs| {
        errs.iter()
            .map(|e| {
                let lc = file.line_col(e.span.start);
                format!("{}:{}: {}", path.display(), lc.line, e.message)
            })
            .collect::<Vec<_>>()
            .join("; ")
    })
}

/// What one requirement gives on one example: status and (requirement, line) of each finding.
struct Evaluated {
    status: Status,
    findings: Vec<Expected>,
    messages: Vec<String>,
}

fn evaluate(
    req: &Requirement,
    pack: &Pack,
    cfg: &config::Config,
    path: &Path,
    id: FileId,
) -> Result<Evaluated, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    let source = SourceFile::from_bytes(id, display_name(path), Some(path.to_path_buf()), &bytes);
    let format = formats::detect(&source);
    if format == Format::Unknown {
        return Err("not a recognised export".into());
    }
    let limits = Limits::default();
    let parsed = formats::parse(&source, format, &limits);
    if let Some(e) = parsed.errors.first() {
        let lc = source.line_col(e.span.start);
        return Err(format!("input error at line {}: {}", lc.line, e.message));
    }
    let endpoints = crate::engine::pack_endpoints(pack, &cfg.endpoints_for(&source.name));
    let index = crate::engine::index::FilterIndex::new(&parsed.filter);
    let ctx = Ctx {
        config: &parsed,
        file: &source,
        endpoints: &endpoints,
        roles: &pack.roles,
        max_depth: limits.max_reference_depth,
        index: Some(&index),
    };
    let outcome = checks::evaluate(req, &ctx);
    let mut findings: Vec<Expected> = outcome
        .findings
        .iter()
        .map(|f| Expected {
            requirement: f.rule.clone(),
            line: source.line_col(f.span.start).line,
        })
        .collect();
    findings.sort();
    Ok(Evaluated {
        status: outcome.status,
        findings,
        messages: outcome.findings.iter().map(|f| f.message.clone()).collect(),
    })
}

/// Roles for a pack: the test's mappings, then the pack's vendor-owned ranges (as the engine does).
fn check_pass(ev: Evaluated) -> Vec<String> {
    let mut p = Vec::new();
    if ev.status != Status::Pass {
        p.push(format!("expected pass, got {}", ev.status.as_str()));
    }
    for m in ev.messages {
        p.push(format!("unexpected finding: {m}"));
    }
    p
}

fn check_fail(ev: Evaluated, want: &[Expected]) -> Vec<String> {
    let mut p = Vec::new();
    if ev.status == Status::Pass || ev.status == Status::NotApplicable {
        p.push(format!("expected a failure, got {}", ev.status.as_str()));
    }
    let mut want = want.to_vec();
    want.sort();
    if ev.findings != want {
        let show = |v: &[Expected]| {
            v.iter()
                .map(|e| format!("{} line {}", e.requirement, e.line))
                .collect::<Vec<_>>()
                .join(", ")
        };
        p.push(format!(
            "expected findings [{}], got [{}]{}",
            show(&want),
            show(&ev.findings),
            if ev.messages.is_empty() {
                String::new()
            } else {
                format!(": {}", ev.messages.join(" | "))
            }
        ));
    }
    p
}

/// The first passing and first failing example of a requirement, with the expected findings of
/// the failing one (for `portaudit explain`).
pub struct Examples {
    pub pass: Option<(PathBuf, String)>,
    pub fail: Option<(PathBuf, String, Vec<Expected>)>,
}

/// Examples of `requirement` of `pack_id` under a tests folder (`<dir>/<pack-id>/<REQ>/`).
pub fn examples_for(tests_dir: &Path, pack_id: &str, requirement: &str) -> Examples {
    let dir = tests_dir.join(pack_id).join(requirement);
    let cases = examples(&dir);
    let expect = read_expect(&dir.join(EXPECT_FILE)).unwrap_or_default();
    let read = |p: &Path| std::fs::read_to_string(p).ok();
    let pass = cases
        .iter()
        .find(|c| c.1 == Kind::Pass)
        .and_then(|(p, _)| read(p).map(|t| (p.clone(), t)));
    let fail = cases.iter().find(|c| c.1 == Kind::Fail).and_then(|(p, _)| {
        let name = p.file_name()?.to_str()?;
        let want = expect.get(name).cloned().unwrap_or_default();
        read(p).map(|t| (p.clone(), t, want))
    });
    Examples { pass, fail }
}
