//! `portaudit init`: a commented portaudit.yaml written from what a folder holds (formats found,
//! suggested packs, endpoint placeholders with the zones the devices use).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::path::Path;

use crate::formats::{self, Limits};
use crate::model::Format;
use crate::pack::{self, DEFAULT_PACKS};
use crate::sets::NameSet;
use crate::source::{display_name, FileId, SourceFile};

/// The configuration text for `dir`.
pub fn template(dir: &Path) -> Result<String, String> {
    let paths = crate::engine::walk_inputs(&[dir.to_path_buf()]).map_err(|e| {
        e.into_iter()
            .map(|e| e.message)
            .collect::<Vec<_>>()
            .join("; ")
    })?;
    let mut formats: BTreeMap<Format, Vec<String>> = BTreeMap::new();
    let mut zones: BTreeSet<String> = BTreeSet::new();
    for (i, path) in paths.iter().enumerate() {
        let Ok(bytes) = std::fs::read(path) else {
            continue;
        };
        let file = SourceFile::from_bytes(
            FileId(i as u32),
            display_name(path),
            Some(path.clone()),
            &bytes,
        );
        let format = formats::detect(&file);
        if format == Format::Unknown {
            continue;
        }
        formats.entry(format).or_default().push(file.name.clone());
        let config = formats::parse(&file, format, &Limits::default());
        for rule in config.filter.chains.iter().flat_map(|c| &c.rules) {
            for m in &rule.matches {
                for z in [&m.src_zone, &m.dst_zone] {
                    if let NameSet::Only(names) = z {
                        zones.extend(names.iter().cloned());
                    }
                }
            }
        }
    }
    let mut o = String::new();
    let _ = writeln!(
        o,
        "# portaudit.yaml for {} (written by `portaudit init`; see docs/config.md)",
        display_name(dir)
    );
    o.push_str("#\n# Exports found:\n");
    if formats.is_empty() {
        o.push_str("#   none recognised yet\n");
    }
    for (f, names) in &formats {
        let _ = writeln!(
            o,
            "#   {:<11} {} file(s): {}",
            f.id(),
            names.len(),
            names.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
        );
    }
    o.push_str("\n# Packs to run. The framework packs apply to every export; add the vendor pack of the\n# contact-centre product you run (incontact-wfo, genesys-pureconnect, ucontact, sinch-contact-center).\npacks:\n");
    for p in DEFAULT_PACKS {
        let _ = writeln!(o, "  - {p}");
    }
    if formats.contains_key(&Format::Ucontact) {
        o.push_str("  - ucontact   # a uContact settings dump was found\n");
    } else {
        o.push_str("  # - ucontact\n");
    }
    for p in [
        "incontact-wfo",
        "genesys-pureconnect",
        "sinch-contact-center",
    ] {
        let _ = writeln!(o, "  # - {p}");
    }
    o.push_str("\n# Lowest severity that fails the run (critical, high, medium, low, info).\nfail-on: low\n");
    o.push_str("\n# Map the packs' roles to your addresses and/or interfaces/zones, so required flows are checked\n# exactly rather than approximately. ");
    if zones.is_empty() {
        o.push_str("No interface or zone names were found in the exports.\n");
    } else {
        let _ = writeln!(
            o,
            "Interfaces and zones the devices use:\n#   {}",
            zones.iter().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    o.push_str("# endpoints:\n#   untrusted:   # where insecure services must not be reachable from (default: public addresses)\n#     zones: [wan]\n");
    let mut roles: BTreeMap<String, String> = BTreeMap::new();
    let mut store = crate::source::FileStore::new();
    for (name, text) in pack::builtin_packs() {
        let id = store.add_text(
            *name,
            None,
            (*text).to_owned(),
            crate::source::Encoding::Utf8,
        );
        if let Ok(p) = pack::load_pack(store.get(id), true, &BTreeMap::new()) {
            for (role, r) in p.roles {
                if r.addresses.is_empty() {
                    let what = r
                        .description
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" ");
                    roles
                        .entry(role)
                        .or_insert_with(|| format!("{what} ({})", p.id));
                }
            }
        }
    }
    for (role, what) in roles {
        let _ = writeln!(
            o,
            "#   {role}:   # {what}\n#     addresses: [10.0.0.0/24]\n#     zones: [lan]"
        );
    }
    o.push_str("\n# Accepted findings, with a reason, an owner and an expiry date:\n# waivers:\n#   - rule: VOIP-SIP-ALG-OFF\n#     files: \"**/edge-*.conf\"\n#     reason: carrier requires the ALG until the SBC migration\n#     owner: netops@example.com\n#     expires: 2027-03-31\n");
    Ok(o)
}
