//! One benchmark per parser entry point: recognise and parse a generated 2,000-rule device.
//! `cargo bench --bench parsers`; throughput is reported in bytes of input.

#[allow(dead_code)]
#[path = "../src/bin/genfleet/gen.rs"]
mod gen;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use portaudit::formats::{self, Limits};
use portaudit::source::{Encoding, FileId, SourceFile};

fn parsers(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    group.sample_size(20);
    for i in 0..gen::Kind::ALL.len() {
        let (kind, name, text) = gen::device(6, i, 2_000);
        group.throughput(Throughput::Bytes(text.len() as u64));
        let file = SourceFile::from_text(FileId(0), name, None, text, Encoding::Utf8);
        let format = formats::detect(&file);
        assert_eq!(format.id(), kind.format_id());
        let limits = Limits::default();
        group.bench_function(kind.slug(), |b| {
            b.iter(|| {
                let f = formats::detect(black_box(&file));
                black_box(formats::parse(&file, f, &limits))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, parsers);
criterion_main!(benches);
