//! The compliance matrix: for each framework control the selected packs cover (every reference
//! such as "PCI DSS 4.0.1 8.3.4" or "ISO/IEC 27001:2022 A.8.5"), its status over the inputs and
//! the evidence. Shared by the Markdown and HTML reports.

use std::collections::{BTreeMap, HashMap, HashSet};

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
    /// `file:line` of the deciding evidence (findings for failures, the passing rule or setting),
    /// the first ones when the matrix keeps a few.
    pub evidence: Vec<String>,
    /// Distinct evidence locations, kept or not.
    pub evidence_total: usize,
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

/// A control: (framework, control).
type Control = (String, String);

/// The matrix built as the files come.
pub struct Matrix {
    /// Pack, then requirement, to the requirement's id and the controls its references name
    /// (in reference order), so a result finds its controls by `&str` without copying ids.
    reqs: BTreeMap<String, BTreeMap<String, (String, Vec<Control>)>>,
    rows: BTreeMap<Control, Row>,
    /// Evidence kept per control (None: all of it); the first ones, so a report that lists a
    /// few does not hold a fleet's worth. [`Row::evidence_total`] counts all of it anyway.
    evidence: Option<usize>,
}

impl Matrix {
    /// `run`: the packs.
    pub fn new(run: &Run, evidence: Option<usize>) -> Self {
        let mut reqs: BTreeMap<String, BTreeMap<String, (String, Vec<Control>)>> = BTreeMap::new();
        for p in &run.packs {
            let pack = reqs.entry(p.id.clone()).or_default();
            for r in &p.requirements {
                let controls = r
                    .references
                    .iter()
                    .filter_map(|reference| {
                        let fw = framework(reference)?;
                        Some((
                            fw.to_owned(),
                            control(reference.strip_prefix(fw).unwrap_or(reference)),
                        ))
                    })
                    .collect();
                pack.insert(r.id.clone(), (r.id.clone(), controls));
            }
        }
        Matrix {
            reqs,
            rows: BTreeMap::new(),
            evidence,
        }
    }

    /// One file's results and findings.
    ///
    /// Evidence is a location in this file (`file:line`, or the file alone), so duplicates are
    /// looked for within the file: what the matrix keeps between files is bounded by the
    /// evidence kept per control, whatever the fleet. (A file given twice is listed twice.)
    pub fn add(&mut self, v: &crate::engine::FileView<'_>) {
        let Matrix {
            reqs,
            rows,
            evidence: cap,
        } = self;
        let mut by_rule: BTreeMap<(crate::source::FileId, &str), Vec<&crate::finding::Finding>> =
            BTreeMap::new();
        for f in v.findings {
            by_rule
                .entry((f.span.file, f.rule.as_str()))
                .or_default()
                .push(f);
        }
        // Each control's evidence lines met in this file (None: the file itself).
        let mut seen: HashMap<&Control, HashSet<Option<usize>>> = HashMap::new();
        for res in v.results {
            let Some((req_id, controls)) = reqs
                .get(res.pack.as_str())
                .and_then(|p| p.get(res.requirement.as_str()))
            else {
                continue;
            };
            if controls.is_empty() {
                continue;
            }
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
            let mut lines: Vec<Option<usize>> = findings
                .iter()
                .map(|f| Some(super::location(v.store, f.span).line))
                .collect();
            if lines.is_empty() {
                lines.push(res.evidence.map(|span| super::location(v.store, span).line));
            }
            let file = &v.store.get(res.file).name;
            for key in controls {
                if !rows.contains_key(key) {
                    let row = Row {
                        framework: key.0.clone(),
                        control: key.1.clone(),
                        status: Cell::Pass,
                        requirements: Vec::new(),
                        evidence: Vec::new(),
                        evidence_total: 0,
                    };
                    rows.insert(key.clone(), row);
                }
                let Some(row) = rows.get_mut(key) else {
                    continue;
                };
                row.status = row.status.min(cell);
                if !row.requirements.contains(req_id) {
                    row.requirements.push(req_id.clone());
                }
                let seen = seen.entry(key).or_default();
                for &line in &lines {
                    if !seen.insert(line) {
                        continue;
                    }
                    row.evidence_total += 1;
                    if cap.is_none_or(|n| row.evidence.len() < n) {
                        row.evidence.push(match line {
                            Some(line) => format!("{file}:{line}"),
                            None => file.clone(),
                        });
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
