//! Streamed checks (`engine::check` with `Hold::Nothing`, what `portaudit check` does for every
//! format): the same bytes as a run held whole, files released once written, and every
//! file counted even when the consumer stops or its writer fails.

use std::path::PathBuf;

use portaudit::engine::{self, Hold, Options};
use portaudit::report::{self, Files, Format};

fn opts(threads: usize) -> Options {
    Options {
        // Waivers that apply and one that has expired (tests/data/waivers), over fixture folders
        // of several formats: many files, findings in most of them, input errors in some.
        inputs: [
            "fixtures/exports",
            "fixtures/asa",
            "fixtures/aws",
            "fixtures/fortios",
            "fixtures/iptables",
            "fixtures/junos",
            "fixtures/nftables",
            "fixtures/ucontact",
            "tests/data/waivers",
        ]
        .map(PathBuf::from)
        .to_vec(),
        config: Some(PathBuf::from("tests/data/waivers/portaudit.yaml")),
        packs: portaudit::pack::BUILTIN_IDS
            .iter()
            .map(|s| s.to_string())
            .collect(),
        threads: Some(threads),
        today: Some("2026-11-22".into()),
        ..Options::default()
    }
}

fn streamed(opts: &Options, format: Format) -> Vec<u8> {
    // As `portaudit check` runs it: the workers render each file's part where the format has one.
    let opts = &Options {
        render: report::per_file(format, &report::Options::default()),
        ..opts.clone()
    };
    let mut out = Vec::new();
    let (written, _) = engine::check(opts, Hold::Nothing, |files| {
        report::write_files(files, format, &report::Options::default(), &mut out)
    })
    .expect("check");
    written.expect("write");
    out
}

#[test]
fn streamed_reports_are_byte_identical_to_held_runs() {
    let held = engine::run(&opts(2)).expect("run");
    assert!(held.files.len() > 20, "fixtures hold many files");
    assert!(held.totals.waived > 0, "a waiver applies");
    assert!(!held.notices.is_empty(), "an expired waiver");
    for format in [
        Format::Json,
        Format::Sarif,
        Format::Text,
        Format::Github,
        Format::Markdown,
        Format::Junit,
        Format::Html,
    ] {
        let want = report::render(&held, format, &report::Options::default()).expect("render");
        for threads in [1, 3] {
            let got = String::from_utf8(streamed(&opts(threads), format)).expect("utf-8");
            assert!(
                got == want,
                "{format:?} streamed with {threads} threads differs from the held run"
            );
        }
    }
}

/// Several reports fed the files of one streamed check side by side (what `--report` does) are
/// each the held run's report, and so is the baseline, with 1 and 3 threads; a SARIF limit below the count of results
/// is kept the same way streamed.
#[test]
fn reports_side_by_side_are_those_of_held_runs() {
    let held = engine::run(&opts(2)).expect("run");
    let limited = report::Options {
        sarif_max_results: 40,
        ..report::Options::default()
    };
    let reports = [
        (Format::Github, report::Options::default()),
        (Format::Sarif, limited),
        (Format::Markdown, report::Options::default()),
        (Format::Json, report::Options::default()),
        (Format::Html, report::Options::default()),
        (Format::Junit, report::Options::default()),
    ];
    for threads in [1, 3] {
        let opts = &Options {
            render: report::per_file(Format::Github, &report::Options::default()),
            ..opts(threads)
        };
        let mut outs: Vec<Vec<u8>> = vec![Vec::new(); reports.len()];
        let mut baseline = Vec::new();
        let (written, _) = engine::check(opts, Hold::Nothing, |files| {
            let mut sinks = Vec::new();
            for ((format, o), out) in reports.iter().zip(outs.iter_mut()) {
                sinks.push(report::sink(files.run(), *format, o, out)?);
            }
            sinks.push(Box::new(report::BaselineSink::new(&mut baseline)));
            report::drain_all(files, &mut sinks)
        })
        .expect("check");
        written.expect("write");
        let want = engine::baseline_json(&held);
        assert!(want.matches(':').count() > 20, "fingerprints: {want}");
        assert!(baseline == want.as_bytes(), "baseline, {threads} threads");
        for ((format, o), out) in reports.iter().zip(&outs) {
            let want = report::render(&held, *format, o).expect("render");
            assert!(
                *out == want.as_bytes(),
                "{format:?} beside the others, {threads} threads"
            );
        }
        assert!(String::from_utf8_lossy(&outs[1]).contains("results-left-out"));
    }
}

/// Text is rendered file by file on the workers, and the reporter writes what they rendered,
/// streamed or held, when they rendered it with its own options.
#[test]
fn workers_render_the_text_of_their_files() {
    assert!(report::per_file(Format::Text, &report::Options::default()).is_some());
    let plain = engine::run(&opts(2)).expect("run");
    let whole = report::render(&plain, Format::Text, &report::Options::default()).expect("render");
    assert!(
        whole.contains("never matches"),
        "the fixtures have snippets"
    );
    // A stand-in renderer: its marks in the report show the reporter wrote the workers' bytes.
    let opts = Options {
        render: Some(engine::Render {
            key: report::text::render_key(&report::Options::default()),
            render: std::sync::Arc::new(|v| {
                format!("<{} findings of {}>\n", v.findings.len(), v.report.name).into_bytes()
            }),
        }),
        ..opts(2)
    };
    let narrow = report::Options {
        width: 60,
        ..report::Options::default()
    };
    for hold in [Hold::Nothing, Hold::All] {
        for (ropts, used) in [(report::Options::default(), true), (narrow.clone(), false)] {
            let mut out = Vec::new();
            let (written, run) = engine::check(&opts, hold, |files| {
                if hold == Hold::Nothing {
                    report::write_files(files, Format::Text, &ropts, &mut out)
                } else {
                    Ok(())
                }
            })
            .expect("check");
            written.expect("write");
            if hold == Hold::All {
                report::write(&run, Format::Text, &ropts, &mut out).expect("write");
            }
            let out = String::from_utf8(out).expect("utf-8");
            let at = format!("{hold:?}, width {}", ropts.width);
            for f in &plain.files {
                let mark = format!("<{} findings of {}>\n", f.findings, f.name);
                assert_eq!(out.contains(&mark), used, "{at}: {mark}");
            }
            assert_eq!(out.contains("never matches"), !used, "{at}");
        }
    }
}

#[test]
fn streamed_files_are_released_once_the_consumer_moves_on() {
    for (hold, released) in [(Hold::Nothing, true), (Hold::All, false)] {
        let ((), run) = engine::check(&opts(2), hold, |files| {
            // The first file with a finding, then the next file.
            let (id, offset) = loop {
                let v = files.next_file().expect("a file with findings");
                if let Some(f) = v.findings.first() {
                    assert!(v.store.get(f.span.file).byte(f.span.start).is_some());
                    break (f.span.file, f.span.start);
                }
            };
            files.next_file().expect("a later file");
            assert_eq!(
                files.run().store.get(id).byte(offset).is_none(),
                released,
                "{hold:?}"
            );
        })
        .expect("check");
        // Whatever the consumer took, the run covers every file.
        assert_eq!(
            run.files.len(),
            engine::run(&opts(1)).expect("run").files.len()
        );
        assert_eq!(run.findings.is_empty(), released);
    }
}

/// A writer that fails after some bytes (a full disk, a closed pipe).
struct Failing(usize);

impl std::io::Write for Failing {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.0 < buf.len() {
            return Err(std::io::Error::other("disk full"));
        }
        self.0 -= buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_failing_writer_stops_the_report_not_the_count() {
    let held = engine::run(&opts(2)).expect("run");
    for format in [Format::Json, Format::Sarif, Format::Text] {
        let (written, run) = engine::check(&opts(2), Hold::Nothing, |files| {
            report::write_files(
                files,
                format,
                &report::Options::default(),
                &mut Failing(10_000),
            )
        })
        .expect("check");
        assert!(written.is_err(), "{format:?}: the write error is returned");
        assert_eq!(run.files.len(), held.files.len(), "{format:?}");
        assert_eq!(run.totals, held.totals, "{format:?}");
        assert_eq!(run.incomplete(), held.incomplete(), "{format:?}");
    }
}

#[test]
fn replay_of_a_held_run_hands_every_finding_once() {
    let held = engine::run(&opts(2)).expect("run");
    let mut replay = report::Replay::new(&held);
    let mut n = 0;
    while let Some(v) = replay.next_file() {
        assert!(v.findings.iter().all(|f| f.span.file == v.report.file));
        assert_eq!(v.findings.len(), v.report.findings);
        n += v.findings.len();
    }
    assert_eq!(n, held.findings.len());
    assert_eq!(n, held.totals.all());
}

/// A matrix that keeps a few evidence locations per control keeps the first ones of the whole
/// matrix, and counts all of them (the HTML report's "and N more").
#[test]
fn a_capped_matrix_keeps_the_first_evidence_and_counts_all() {
    let held = engine::run(&opts(2)).expect("run");
    let rows = |cap| {
        let mut m = report::matrix::Matrix::new(&held, cap);
        let mut files = report::Replay::new(&held);
        while let Some(v) = files.next_file() {
            m.add(&v);
        }
        m.rows()
    };
    let all = rows(None);
    let capped = rows(Some(2));
    assert_eq!(all.len(), capped.len());
    assert!(
        all.iter().any(|r| r.evidence.len() > 2),
        "some control has more than two locations"
    );
    for (a, c) in all.iter().zip(&capped) {
        assert_eq!((&a.framework, &a.control), (&c.framework, &c.control));
        assert_eq!(a.status, c.status);
        assert_eq!(a.requirements, c.requirements);
        assert_eq!(a.evidence.len(), a.evidence_total, "{}", a.control);
        assert_eq!(c.evidence_total, a.evidence_total, "{}", a.control);
        assert_eq!(
            c.evidence,
            a.evidence[..a.evidence.len().min(2)],
            "{}",
            a.control
        );
    }
}
