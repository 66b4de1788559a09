//! Reproducers of crashes, hangs and blow-ups found by the fuzz targets (fuzz/, docs/fuzzing.md).
//! `fuzz/regressions/<target>/<file>` is replayed through the library entry point its target
//! fuzzes; it must not panic, and what comes back must be sensible: every reported location lies
//! inside the file, and when `<file>.expect` exists, some error message of the outcome contains
//! its text (the input is rejected for the right reason, not silently accepted).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use portaudit::config::Config as ProjectConfig;
use portaudit::engine;
use portaudit::formats::{self, Limits};
use portaudit::model::Format;
use portaudit::pack;
use portaudit::source::{FileId, SourceFile, Span};

/// What a replay produced: every span it reported and every error message.
#[derive(Default)]
struct Outcome {
    spans: Vec<Span>,
    messages: Vec<String>,
}

fn parse_outcome(config: &portaudit::model::Config) -> Outcome {
    let mut out = Outcome::default();
    out.spans.push(config.file_span);
    for e in &config.errors {
        out.spans.push(e.span);
        out.messages.push(e.message.clone());
    }
    for u in &config.unparsed {
        out.spans.push(u.span);
    }
    out
}

fn builtin_packs() -> Vec<pack::Pack> {
    pack::builtin_packs()
        .iter()
        .enumerate()
        .map(|(i, (name, text))| {
            let file =
                SourceFile::from_bytes(FileId(i as u32 + 1), (*name).into(), None, text.as_bytes());
            pack::load_pack(&file, true, &BTreeMap::new())
                .unwrap_or_else(|_| panic!("built-in pack {name} does not load"))
        })
        .collect()
}

/// Replay one input as its target does (fuzz/src/lib.rs).
fn replay(target: &str, file: &SourceFile) -> Outcome {
    if let Some(id) = target.strip_prefix("parse_") {
        let format = Format::from_id(id)
            .unwrap_or_else(|| panic!("fuzz/regressions/{target}: no format `{id}`"));
        return parse_outcome(&formats::parse(file, format, &Limits::default()));
    }
    match target {
        "detect" => {
            let format = formats::detect(file);
            // Whatever was recognised must then parse.
            parse_outcome(&formats::parse(file, format, &Limits::default()))
        }
        "pack" => match pack::load_pack(file, false, &BTreeMap::new()) {
            Ok(p) => Outcome {
                spans: p.requirements.iter().map(|r| r.span).collect(),
                messages: Vec::new(),
            },
            Err(errs) => Outcome {
                spans: errs.iter().map(|e| e.span).collect(),
                messages: errs.into_iter().map(|e| e.message).collect(),
            },
        },
        "config" => match portaudit::config::load(file) {
            Ok(_) => Outcome::default(),
            Err(errs) => Outcome {
                spans: errs.iter().map(|e| e.span).collect(),
                messages: errs.into_iter().map(|e| e.message).collect(),
            },
        },
        "evaluate" => {
            let (_, findings, results) = engine::evaluate_file(
                file,
                &builtin_packs(),
                &ProjectConfig::default(),
                &Limits::default(),
            );
            let mut out = Outcome::default();
            for f in findings {
                out.spans.push(f.span);
                out.messages.push(f.message);
            }
            out.spans.extend(results.iter().filter_map(|r| r.evidence));
            out
        }
        "yaml_direct" => {
            let (direct, saphyr) =
                portaudit::yaml::parse_both(&file.text, portaudit::yaml::YamlLimits::default());
            // The reproducers are documents the direct path answers (else nothing is compared).
            let direct = direct.unwrap_or_else(|| panic!("{}: not answered directly", file.name));
            assert_eq!(
                Ok(&direct),
                saphyr.as_ref().map_err(|e| &e.message),
                "{}: the direct YAML tree is not serde-saphyr's",
                file.name
            );
            Outcome::default()
        }
        other => panic!("fuzz/regressions/{other}: not a fuzz target"),
    }
}

fn sorted(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

/// The engine evaluates files on worker threads with a 16 MiB stack (debug builds of the
/// recursive parsers need more than a test thread's 2 MiB); replay under the same conditions.
#[test]
fn fuzz_reproducers_are_handled() {
    std::thread::Builder::new()
        .stack_size(16 * 1024 * 1024)
        .spawn(replay_all)
        .unwrap()
        .join()
        .unwrap();
}

fn replay_all() {
    let root = Path::new("fuzz/regressions");
    let mut replayed = 0;
    for dir in sorted(root).into_iter().filter(|p| p.is_dir()) {
        let target = dir.file_name().unwrap().to_string_lossy().into_owned();
        for path in sorted(&dir) {
            if path.extension().is_some_and(|e| e == "expect") {
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            let file = SourceFile::from_bytes(FileId(0), path.display().to_string(), None, &bytes);
            let out = replay(&target, &file);
            let len = file.text.len();
            for s in &out.spans {
                // Spans of file 0 must lie inside it (built-in packs have other ids).
                if s.file == FileId(0) {
                    assert!(
                        s.start <= s.end && s.end <= len,
                        "{}: span {}..{} outside the {len}-byte file",
                        path.display(),
                        s.start,
                        s.end
                    );
                }
            }
            let expect = PathBuf::from(format!("{}.expect", path.display()));
            if let Ok(want) = std::fs::read_to_string(&expect) {
                let want = want.trim();
                assert!(
                    out.messages.iter().any(|m| m.contains(want)),
                    "{}: expected an error containing {want:?}, got {:?}",
                    path.display(),
                    out.messages
                );
            }
            replayed += 1;
        }
    }
    assert!(
        replayed > 0,
        "no reproducer under fuzz/regressions/<target>/ was replayed"
    );
}
