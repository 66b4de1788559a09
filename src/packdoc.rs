//! Human documentation of packs: one Markdown page per pack (`docs/packs/<id>.md`, generated and
//! checked by a test) and `portaudit explain ID` for one requirement.

use std::fmt::Write;
use std::path::Path;

use crate::pack::{Check, FlowSpec, Pack, PortItem, Requirement};

fn protocols(f: &FlowSpec) -> String {
    f.protocols
        .ranges()
        .iter()
        .flat_map(|&(lo, hi)| (lo..=hi).map(crate::sets::proto::name))
        .collect::<Vec<_>>()
        .join("/")
}

fn ports(f: &FlowSpec) -> String {
    f.port_items
        .iter()
        .map(|p| match p {
            PortItem::Port(n) => n.to_string(),
            PortItem::Range(s) => s.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn flow(f: &FlowSpec) -> String {
    format!("{} {}", protocols(f), ports(f))
}

/// The check of a requirement in one sentence.
pub fn check_words(check: &Check) -> String {
    match check {
        Check::RequiredFlow {
            flow: f,
            direction,
            from,
            to,
        } => {
            let dir = match direction {
                crate::pack::Direction::Outbound => "outbound",
                crate::pack::Direction::Inbound => "inbound",
                crate::pack::Direction::Through => "through the device",
            };
            let mut s = format!("{} is allowed ({dir})", flow(f));
            if let Some(x) = from {
                let _ = write!(s, " from `{x}`");
            }
            if let Some(x) = to {
                let _ = write!(s, " to `{x}`");
            }
            s
        }
        Check::SipAlg { enabled } => format!(
            "the SIP ALG / helper is {} (vendor defaults included)",
            if *enabled { "on" } else { "off" }
        ),
        Check::IpsOnVoice { enabled, flows } => format!(
            "{} rule deciding voice traffic ({}) has IPS attached",
            if *enabled { "every" } else { "no" },
            flows.iter().map(flow).collect::<Vec<_>>().join("; ")
        ),
        Check::Setting { condition, unless } => {
            let mut s = format!("setting `{}`", condition.render());
            if let Some(u) = unless {
                let _ = write!(s, ", unless `{}`", u.render());
            }
            s
        }
        Check::ForbiddenExposure {
            flow: f,
            from,
            service,
        } => format!(
            "{}({}) is not allowed from {}",
            service
                .as_ref()
                .map(|s| format!("{s} "))
                .unwrap_or_default(),
            flow(f),
            from.as_ref()
                .map(|r| format!("`{r}`"))
                .unwrap_or_else(|| "untrusted (public) addresses".into())
        ),
        Check::AnyAny => "no enabled rule permits every protocol from anywhere to anywhere".into(),
        Check::UnreachableRules => "no rule is hidden behind earlier rules".into(),
    }
}

/// Markdown table cells cannot hold `|` or line breaks.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn source_line(pack: &Pack, req: &Requirement) -> String {
    match &req.source {
        None => String::new(),
        Some(r) => {
            let title = pack
                .sources
                .iter()
                .find(|s| s.id == r.id)
                .map(|s| s.title.as_str())
                .unwrap_or(r.id.as_str());
            match &r.section {
                Some(sec) => format!("{title}, {sec}"),
                None => title.to_owned(),
            }
        }
    }
}

/// File name of a pack's page under `docs/packs/`.
pub fn page_name(pack: &Pack) -> String {
    format!("{}.md", pack.id)
}

/// The Markdown page of a pack.
pub fn pack_page(pack: &Pack) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "<!-- Generated from pack `{}` by `portaudit docs`; do not edit. -->\n",
        pack.id
    );
    let _ = writeln!(o, "# {} (`{}` {})\n", pack.title, pack.id, pack.version);
    if let Some(d) = &pack.description {
        let _ = writeln!(o, "{}\n", d.trim());
    }
    if let Some(n) = &pack.notes {
        let _ = writeln!(o, "**Notes.** {}\n", n.trim());
    }
    let _ = writeln!(o, "## Sources\n");
    for s in &pack.sources {
        let _ = write!(o, "- `{}`: {}", s.id, s.title);
        if let Some(e) = &s.edition {
            let _ = write!(o, ", {e}");
        }
        if let Some(d) = &s.document {
            let _ = write!(o, " (document `{d}`)");
        }
        if let Some(u) = &s.url {
            let _ = write!(o, " <{u}>");
        }
        o.push('\n');
    }
    o.push('\n');
    if !pack.parameters.is_empty() {
        let _ = writeln!(
            o,
            "## Parameters\n\n| parameter | default | description |\n|---|---|---|"
        );
        for (k, p) in &pack.parameters {
            let _ = writeln!(o, "| `{k}` | {} | {} |", p.default, cell(&p.description));
        }
        o.push('\n');
    }
    if !pack.roles.is_empty() {
        let _ = writeln!(
            o,
            "## Roles\n\n| role | description | known addresses | hosts |\n|---|---|---|---|"
        );
        for (k, r) in &pack.roles {
            let _ = writeln!(
                o,
                "| `{k}` | {} | {} | {} |",
                cell(&r.description),
                r.addresses.join(", "),
                r.hosts.join(", ")
            );
        }
        o.push('\n');
    }
    let _ = writeln!(
        o,
        "## Requirements ({})\n\n| id | severity | category | check | references | source |\n|---|---|---|---|---|---|",
        pack.requirements.len()
    );
    for r in &pack.requirements {
        let mut id = format!("`{}`", r.id);
        if let Some(c) = &r.component {
            let _ = write!(id, " ({c}{})", if r.optional { ", optional" } else { "" });
        }
        let _ = writeln!(
            o,
            "| {id} | {} | {} | {}: {} | {} | {} |",
            r.severity.as_str(),
            r.category.as_str(),
            cell(&r.title),
            cell(&check_words(&r.check)),
            cell(&r.references.join("; ")),
            cell(&source_line(pack, r))
        );
    }
    o
}

/// Find a requirement by id (case-insensitive) across packs.
pub fn find<'a>(packs: &'a [Pack], id: &str) -> Option<(&'a Pack, &'a Requirement)> {
    packs.iter().find_map(|p| {
        p.requirements
            .iter()
            .find(|r| r.id.eq_ignore_ascii_case(id))
            .map(|r| (p, r))
    })
}

fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Requirement ids close to `id` (containing it, or within a small edit distance), best first.
pub fn suggestions(packs: &[Pack], id: &str) -> Vec<String> {
    let want = id.to_ascii_uppercase();
    let mut v: Vec<(usize, String)> = packs
        .iter()
        .flat_map(|p| p.requirements.iter())
        .filter_map(|r| {
            let d = distance(&want, &r.id);
            if want.len() >= 3 && r.id.contains(&want) {
                Some((0, r.id.clone()))
            } else if d <= (want.len() / 3).max(2) {
                Some((d, r.id.clone()))
            } else {
                None
            }
        })
        .collect();
    v.sort();
    v.dedup();
    v.into_iter().take(8).map(|(_, s)| s).collect()
}

/// `portaudit explain ID`: a requirement in full, with examples from `tests_dir` when it has
/// some (`<tests_dir>/<pack-id>/<REQ>/`).
pub fn explain(pack: &Pack, req: &Requirement, tests_dir: Option<&Path>) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "{}: {}", req.id, req.title);
    let _ = writeln!(
        o,
        "  pack:        {} {} ({})",
        pack.id, pack.version, pack.title
    );
    let _ = writeln!(o, "  severity:    {}", req.severity.as_str());
    let _ = writeln!(o, "  category:    {}", req.category.as_str());
    if let Some(c) = &req.component {
        let _ = writeln!(
            o,
            "  component:   {c}{}",
            if req.optional {
                " (optional: enable it with `components:` in portaudit.yaml)"
            } else {
                ""
            }
        );
    }
    let _ = writeln!(o, "\nRationale:\n  {}", req.rationale.trim());
    let _ = writeln!(o, "\nRemediation:\n  {}", req.remediation.trim());
    let _ = writeln!(o, "\nReferences:");
    for r in &req.references {
        let _ = writeln!(o, "  - {r}");
    }
    if let Some(src) = &req.source {
        let _ = writeln!(o, "\nSource:");
        if let Some(s) = pack.sources.iter().find(|s| s.id == src.id) {
            let _ = write!(o, "  {}", s.title);
            if let Some(e) = &s.edition {
                let _ = write!(o, ", {e}");
            }
            o.push('\n');
            if let Some(d) = &s.document {
                let _ = writeln!(o, "  document: {d}");
            }
            if let Some(u) = &s.url {
                let _ = writeln!(o, "  url: {u}");
            }
        } else {
            let _ = writeln!(o, "  {}", src.id);
        }
        if let Some(sec) = &src.section {
            let _ = writeln!(o, "  section: {sec}");
        }
    }
    if let Some(n) = &req.notes {
        let _ = writeln!(o, "\nNotes:\n  {}", n.trim());
    }
    let _ = writeln!(o, "\nCheck:\n  {}", check_words(&req.check));
    let json = crate::report::policies::json(std::slice::from_ref(pack));
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(&json) {
        let check = v["packs"][0]["requirements"]
            .as_array()
            .and_then(|a| a.iter().find(|r| r["id"] == req.id.as_str()))
            .map(|r| r["check"].clone());
        if let Some(c) = check {
            let _ = writeln!(
                o,
                "  as in `portaudit policies --format json`: {}",
                serde_json::to_string(&c).unwrap_or_default()
            );
        }
    }
    if let Some(dir) = tests_dir {
        let ex = crate::packtest::examples_for(dir, &pack.id, &req.id);
        if let Some((path, text)) = ex.pass {
            let _ = writeln!(o, "\nPassing example ({}):", path.display());
            for l in text.lines() {
                let _ = writeln!(o, "  | {l}");
            }
        }
        if let Some((path, text, want)) = ex.fail {
            let lines: Vec<usize> = want.iter().map(|e| e.line).collect();
            let _ = writeln!(
                o,
                "\nFailing example ({}; finding{} at line{} {}):",
                path.display(),
                if lines.len() == 1 { "" } else { "s" },
                if lines.len() == 1 { "" } else { "s" },
                lines
                    .iter()
                    .map(|l| l.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            for (i, l) in text.lines().enumerate() {
                let mark = if lines.contains(&(i + 1)) { ">" } else { "|" };
                let _ = writeln!(o, "  {mark} {l}");
            }
        }
    }
    o
}
