//! The compliance matrix: for each framework control the selected packs cover (every reference
//! such as "PCI DSS 4.0.1 8.3.4" or "ISO/IEC 27001:2022 A.8.5"), its status over the inputs and
//! the evidence. Shared by the Markdown and HTML reports.

use std::collections::{BTreeMap, HashSet};

use crate::checks::Status;
use crate::engine::Run;

/// Status of a control, worst first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cell {
    Fail,
    NotEvidenced,
    Uncertain,
    Waived,
    Pass,
}

impl Cell {
    pub fn as_str(self) -> &'static str {
        match self {
            Cell::Fail => "fail",
            Cell::NotEvidenced => "not evidenced",
            Cell::Uncertain => "uncertain",
            Cell::Waived => "waived",
            Cell::Pass => "pass",
        }
    }
}

/// One control.
#[derive(Clone, Debug)]
pub struct Row {
    /// The framework (`PCI DSS 4.0.1`, `ISO/IEC 27001:2022`) or `other`.
    pub framework: String,
    /// The reference as written in the packs.
    pub control: String,
    pub status: Cell,
    /// Requirements that evidence it.
    pub requirements: Vec<String>,
    /// `file:line` of the deciding evidence (findings for failures, the passing rule or setting).
    pub evidence: Vec<String>,
}

fn framework(reference: &str) -> Option<&'static str> {
    if reference.starts_with("PCI DSS 4.0.1") {
        Some("PCI DSS 4.0.1")
    } else if reference.starts_with("PCI DSS 3.2.1") {
        Some("PCI DSS 3.2.1")
    } else if reference.starts_with("ISO/IEC 27001:2022") {
        Some("ISO/IEC 27001:2022")
    } else if reference.starts_with("NIST") {
        Some("NIST SP 800-63B")
    } else if reference.starts_with("CIS") {
        Some("CIS Controls v8")
    } else {
        None
    }
}

/// The control named by a reference, without trailing notes (`PCI DSS 4.0.1 8.3.7 (profile)`).
fn control(reference: &str) -> String {
    reference
        .split(" (")
        .next()
        .unwrap_or(reference)
        .trim()
        .to_owned()
}

/// Findings of each (file, rule), in report order.
pub(crate) fn findings_by_rule(
    run: &Run,
) -> BTreeMap<(crate::source::FileId, &str), Vec<&crate::finding::Finding>> {
    let mut m: BTreeMap<_, Vec<_>> = BTreeMap::new();
    for f in &run.findings {
        m.entry((f.span.file, f.rule.as_str())).or_default().push(f);
    }
    m
}

/// The matrix of a finished run, with all the evidence of each control.
pub fn build(run: &Run) -> Vec<Row> {
    let mut m = Matrix::new(run, None);
    let mut files = super::Replay::new(run);
    while let Some(v) = super::Files::next_file(&mut files) {
        m.add(&v);
    }
    m.rows()
}

/// The matrix built as the files come.
pub struct Matrix {
    /// (pack, requirement) to the requirement's id and references.
    reqs: BTreeMap<(String, String), (String, Vec<String>)>,
    rows: BTreeMap<(String, String), Row>,
    /// Each row's evidence so far, for the duplicate test: a fleet puts tens of thousands of
    /// findings under one control, and a search of the list made the matrix quadratic.
    seen: BTreeMap<(String, String), HashSet<String>>,
    /// Evidence kept per control (None: all of it); the first ones, as the Markdown report shows
    /// five, so its matrix does not grow with the fleet.
    evidence: Option<usize>,
}

impl Matrix {
    /// `run`: the packs.
    pub fn new(run: &Run, evidence: Option<usize>) -> Self {
        let reqs = run
            .packs
            .iter()
            .flat_map(|p| {
                p.requirements.iter().map(move |r| {
                    (
                        (p.id.clone(), r.id.clone()),
                        (r.id.clone(), r.references.clone()),
                    )
                })
            })
            .collect();
        Matrix {
            reqs,
            rows: BTreeMap::new(),
            seen: BTreeMap::new(),
            evidence,
        }
    }

    /// One file's results and findings.
    pub fn add(&mut self, v: &crate::engine::FileView<'_>) {
        let mut by_rule: BTreeMap<(crate::source::FileId, &str), Vec<&crate::finding::Finding>> =
            BTreeMap::new();
        for f in v.findings {
            by_rule
                .entry((f.span.file, f.rule.as_str()))
                .or_default()
                .push(f);
        }
        for res in v.results {
            let Some((req_id, references)) =
                self.reqs.get(&(res.pack.clone(), res.requirement.clone()))
            else {
                continue;
            };
            let findings: &[&crate::finding::Finding] = by_rule
                .get(&(res.file, res.requirement.as_str()))
                .map(Vec::as_slice)
                .unwrap_or_default();
            let all_waived = !findings.is_empty() && findings.iter().all(|f| f.waived.is_some());
            let cell = match res.status {
                Status::Pass | Status::NotApplicable => Cell::Pass,
                _ if all_waived => Cell::Waived,
                Status::Fail => Cell::Fail,
                Status::NotEvidenced => Cell::NotEvidenced,
                Status::Uncertain => Cell::Uncertain,
            };
            let file = &v.store.get(res.file).name;
            let mut evidence: Vec<String> = findings
                .iter()
                .map(|f| format!("{file}:{}", super::location(v.store, f.span).line))
                .collect();
            if evidence.is_empty() {
                if let Some(span) = res.evidence {
                    evidence.push(format!("{file}:{}", super::location(v.store, span).line));
                } else {
                    evidence.push(file.clone());
                }
            }
            for reference in references {
                let Some(fw) = framework(reference) else {
                    continue;
                };
                let key = (
                    fw.to_owned(),
                    control(reference.strip_prefix(fw).unwrap_or(reference)),
                );
                let row = self.rows.entry(key.clone()).or_insert_with(|| Row {
                    framework: key.0.clone(),
                    control: key.1.clone(),
                    status: Cell::Pass,
                    requirements: Vec::new(),
                    evidence: Vec::new(),
                });
                row.status = row.status.min(cell);
                if !row.requirements.contains(req_id) {
                    row.requirements.push(req_id.clone());
                }
                let seen = self.seen.entry(key).or_default();
                for e in &evidence {
                    if self.evidence.is_some_and(|n| row.evidence.len() >= n) {
                        break;
                    }
                    if seen.insert(e.clone()) {
                        row.evidence.push(e.clone());
                    }
                }
            }
        }
    }

    /// The rows, by framework and control (the matrix is left empty).
    pub fn rows(&mut self) -> Vec<Row> {
        let mut out: Vec<Row> = std::mem::take(&mut self.rows).into_values().collect();
        out.sort_by(|a, b| {
            (&a.framework, natural(&a.control)).cmp(&(&b.framework, natural(&b.control)))
        });
        out
    }
}

/// Sort key that orders `8.3.10` after `8.3.9`.
fn natural(s: &str) -> Vec<(String, u64)> {
    s.split(['.', ' '])
        .map(|part| {
            let digits: String = part.chars().filter(|c| c.is_ascii_digit()).collect();
            (
                part.chars().filter(|c| !c.is_ascii_digit()).collect(),
                digits.parse().unwrap_or(0),
            )
        })
        .collect()
}
