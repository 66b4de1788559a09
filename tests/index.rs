//! The flow walker with the rule index gives exactly the parts of the full walk, on every
//! fixture and real configuration: the index may only skip rules that cannot meet the traffic.

use std::path::{Path, PathBuf};

use portaudit::engine::flow::{classify_indexed, Mode};
use portaudit::engine::index::FilterIndex;
use portaudit::formats::{self, Limits};
use portaudit::model::Format;
use portaudit::sets::{parse_net, AddrSet, PortSet, ProtoSet, Space};
use portaudit::source::FileStore;

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn probes() -> Vec<Space> {
    let protos = [ProtoSet::single(6), ProtoSet::single(17), ProtoSet::full()];
    let ports = [
        PortSet::full(),
        PortSet::single(443),
        PortSet::single(5060),
        PortSet::range(10000, 20000),
    ];
    let net = |s: &str| parse_net(s).unwrap();
    let ends = [
        (AddrSet::full(), AddrSet::full()),
        (net("10.0.0.0/8"), net("192.168.1.10/32")),
        (net("203.0.113.7/32"), net("10.1.1.0/24")),
    ];
    let mut out = Vec::new();
    for proto in &protos {
        for dport in &ports {
            for (src, dst) in &ends {
                out.push(Space {
                    proto: proto.clone(),
                    dport: dport.clone(),
                    src: src.clone(),
                    dst: dst.clone(),
                    ..Space::all()
                });
            }
        }
    }
    out
}

#[test]
fn indexed_walk_gives_the_parts_of_the_full_walk() {
    let mut all = Vec::new();
    files(Path::new("fixtures"), &mut all);
    let probes = probes();
    let mut store = FileStore::new();
    let (mut checked, mut walks) = (0, 0);
    for path in all {
        let bytes = std::fs::read(&path).unwrap();
        let id = store.add_bytes(path.display().to_string(), Some(path.clone()), &bytes);
        let file = store.get(id);
        let format = formats::detect(file);
        if format == Format::Unknown {
            continue;
        }
        let config = formats::parse(file, format, &Limits::default());
        if config.filter.chains.is_empty() {
            continue;
        }
        checked += 1;
        let index = FilterIndex::new(&config.filter);
        for entry in &config.filter.entries {
            for mode in [Mode::AsWritten, Mode::MostPermissive, Mode::LeastPermissive] {
                // One probe at a time, and all of them as one input.
                let inputs = probes
                    .iter()
                    .map(std::slice::from_ref)
                    .chain([probes.as_slice()]);
                for input in inputs {
                    let full = classify_indexed(&config.filter, None, entry, input, 16, mode);
                    let fast =
                        classify_indexed(&config.filter, Some(&index), entry, input, 16, mode);
                    walks += 1;
                    assert_eq!(
                        format!("{full:?}"),
                        format!("{fast:?}"),
                        "{}: {:?} {mode:?} {input:?}",
                        path.display(),
                        entry.hook
                    );
                }
            }
        }
    }
    assert!(
        checked >= 100,
        "only {checked} configurations with a filter"
    );
    assert!(walks > 5_000, "only {walks} walks compared");
}
