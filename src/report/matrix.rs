//! The compliance matrix: for each framework control the selected packs cover (every reference
//! such as "PCI DSS 4.0.1 8.3.4" or "ISO/IEC 27001:2022 A.8.5"), its status over the inputs and
//! the evidence. Shared by the Markdown and HTML reports.

use std::collections::BTreeMap;

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

pub fn build(run: &Run) -> Vec<Row> {
    let reqs: BTreeMap<(&str, &str), &crate::pack::Requirement> = run
        .packs
        .iter()
        .flat_map(|p| {
            p.requirements
                .iter()
                .map(move |r| ((p.id.as_str(), r.id.as_str()), r))
        })
        .collect();
    let mut rows: BTreeMap<(String, String), Row> = BTreeMap::new();
    // Each row's evidence so far, for the duplicate test: a fleet puts tens of thousands of
    // findings under one control, and a search of the list made the matrix quadratic.
    let mut seen: BTreeMap<(String, String), std::collections::HashSet<String>> = BTreeMap::new();
    let by_rule = findings_by_rule(run);
    for res in &run.results {
        let Some(req) = reqs.get(&(res.pack.as_str(), res.requirement.as_str())) else {
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
        let file = &run.store.get(res.file).name;
        let mut evidence: Vec<String> = findings
            .iter()
            .map(|f| format!("{file}:{}", super::location(&run.store, f.span).line))
            .collect();
        if evidence.is_empty() {
            if let Some(span) = res.evidence {
                evidence.push(format!("{file}:{}", super::location(&run.store, span).line));
            } else {
                evidence.push(file.clone());
            }
        }
        for reference in &req.references {
            let Some(fw) = framework(reference) else {
                continue;
            };
            let key = (
                fw.to_owned(),
                control(reference.strip_prefix(fw).unwrap_or(reference)),
            );
            let row = rows.entry(key.clone()).or_insert_with(|| Row {
                framework: key.0.clone(),
                control: key.1.clone(),
                status: Cell::Pass,
                requirements: Vec::new(),
                evidence: Vec::new(),
            });
            row.status = row.status.min(cell);
            if !row.requirements.contains(&req.id) {
                row.requirements.push(req.id.clone());
            }
            let seen = seen.entry(key).or_default();
            for e in &evidence {
                if seen.insert(e.clone()) {
                    row.evidence.push(e.clone());
                }
            }
        }
    }
    let mut out: Vec<Row> = rows.into_values().collect();
    out.sort_by(|a, b| {
        (&a.framework, natural(&a.control)).cmp(&(&b.framework, natural(&b.control)))
    });
    out
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
