//! The engine on a single 100,000-rule configuration against every built-in pack (issue target:
//! under one second). `run` is the whole library path (read, recognise, parse, evaluate, sort,
//! fingerprint) on one thread; `evaluate` is the checks alone on the parsed configuration.

#[allow(dead_code)]
#[path = "../src/bin/genfleet/gen.rs"]
mod gen;

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use portaudit::checks::{self, Ctx};
use portaudit::engine::{self, Options};
use portaudit::formats::{self, Limits};
use portaudit::pack::BUILTIN_IDS;
use portaudit::source::{Encoding, FileStore};

const RULES: usize = 100_000;

fn engine_benches(c: &mut Criterion) {
    // FortiOS: the most common contact-centre edge in the corpus, objects and groups included.
    let (_, name, text) = gen::device(6, 0, RULES);
    let dir = std::env::temp_dir().join(format!("portaudit-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, &text).expect("write config");
    let opts = Options {
        inputs: vec![path.clone()],
        packs: BUILTIN_IDS.iter().map(|s| s.to_string()).collect(),
        no_config: true,
        threads: Some(1),
        today: Some("2026-12-01".into()),
        ..Options::default()
    };

    let mut group = c.benchmark_group("engine");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("run_100k_rules_all_packs", |b| {
        b.iter(|| black_box(engine::run(black_box(&opts)).expect("run")))
    });

    let mut store = FileStore::new();
    let (cfg, packs) = engine::setup(&opts, &mut store).expect("setup");
    let id = store.add_text(name_of(&path), Some(path.clone()), text, Encoding::Utf8);
    let file = store.get(id).clone();
    let limits = Limits::default();
    let config = formats::parse(&file, formats::detect(&file), &limits);
    assert!(config.rule_count() >= RULES);
    let user = cfg.endpoints_for(&file.name);
    let index = engine::index::FilterIndex::new(&config.filter);
    let endpoints: Vec<_> = packs
        .iter()
        .map(|p| engine::pack_endpoints(p, &user))
        .collect();
    group.bench_function("evaluate_100k_rules_all_packs", |b| {
        b.iter(|| {
            let mut n = 0;
            for (pack, endpoints) in packs.iter().zip(&endpoints) {
                let ctx = Ctx {
                    config: &config,
                    file: &file,
                    endpoints,
                    roles: &pack.roles,
                    max_depth: limits.max_reference_depth,
                    index: Some(&index),
                };
                for req in pack.requirements.iter().filter(|r| !r.optional) {
                    n += checks::evaluate(req, &ctx).findings.len();
                }
            }
            black_box(n)
        })
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

fn name_of(p: &std::path::Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

criterion_group!(benches, engine_benches);
criterion_main!(benches);
