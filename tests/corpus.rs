//! Real configurations copied from public repositories (fixtures/<format>/corpus/, with their
//! SOURCES.md rows): each is recognised as its vendor's format, parses without panicking, and at
//! least 95% of them are recognised overall.

use std::path::Path;

use portaudit::formats::{self, Limits};
use portaudit::model::Format;
use portaudit::source::FileStore;

#[test]
fn real_configs_are_recognised_and_parse() {
    let mut total = 0;
    let mut recognised = 0;
    let mut misses = Vec::new();
    let mut store = FileStore::new();
    let mut dirs: Vec<_> = std::fs::read_dir("fixtures")
        .unwrap()
        .filter_map(Result::ok)
        .collect();
    dirs.sort_by_key(|d| d.file_name());
    for dir in dirs {
        let corpus = dir.path().join("corpus");
        if !corpus.is_dir() {
            continue;
        }
        let name = dir.file_name().to_string_lossy().into_owned();
        let expected =
            Format::from_id(&name).unwrap_or_else(|| panic!("fixtures/{name} is not a format id"));
        let sources = std::fs::read_to_string(dir.path().join("SOURCES.md")).unwrap_or_else(|_| {
            panic!("fixtures/{name}/SOURCES.md is missing: the licences require it")
        });
        let mut files: Vec<_> = std::fs::read_dir(&corpus)
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .collect();
        files.sort();
        for path in files {
            let file_name = path.file_name().unwrap().to_string_lossy().into_owned();
            assert!(
                sources.contains(&file_name),
                "{file_name} has no row in fixtures/{name}/SOURCES.md"
            );
            total += 1;
            let bytes = std::fs::read(&path).unwrap();
            let id = store.add_bytes(path.display().to_string(), Some(path.clone()), &bytes);
            let file = store.get(id);
            let format = formats::detect(file);
            // Parsing must not panic whatever was detected.
            let config = formats::parse(
                file,
                if format == Format::Unknown {
                    expected
                } else {
                    format
                },
                &Limits::default(),
            );
            let _ = config.rule_count();
            if format == expected {
                recognised += 1;
            } else {
                misses.push(format!("{} detected as {}", display(&path), format.id()));
            }
        }
    }
    assert!(
        total >= 97,
        "only {total} corpus files copied into fixtures/*/corpus (97 expected)"
    );
    assert!(
        recognised * 100 >= total * 95,
        "only {recognised} of {total} real configs recognised: {misses:#?}"
    );
}

fn display(p: &Path) -> String {
    p.display().to_string()
}

/// The hand-written fixtures of each format folder are all recognised as that format: a wrong
/// detection silently checks a file with the wrong parser (Junos curly files with a `version X;`
/// line were once read as IOS with no rules).
#[test]
fn every_format_fixture_is_detected_as_its_format() {
    let mut store = FileStore::new();
    let mut wrong = Vec::new();
    let mut checked = 0;
    let mut dirs: Vec<_> = std::fs::read_dir("fixtures")
        .unwrap()
        .filter_map(Result::ok)
        .collect();
    dirs.sort_by_key(|d| d.file_name());
    for dir in dirs {
        let name = dir.file_name().to_string_lossy().into_owned();
        let Some(expected) = Format::from_id(&name) else {
            continue;
        };
        let mut files: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .filter(|p| {
                let n = p.file_name().unwrap().to_string_lossy();
                n != "SOURCES.md" && n != "portaudit.yaml" && !n.ends_with(".md")
            })
            .collect();
        files.sort();
        for path in files {
            let bytes = std::fs::read(&path).unwrap();
            let id = store.add_bytes(path.display().to_string(), Some(path.clone()), &bytes);
            let format = formats::detect(store.get(id));
            checked += 1;
            if format != expected {
                wrong.push(format!("{} detected as {}", display(&path), format.id()));
            }
        }
    }
    assert!(checked >= 30, "only {checked} format fixtures found");
    assert!(wrong.is_empty(), "{wrong:#?}");
}
