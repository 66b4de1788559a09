//! docs/packs/<id>.md are generated from the built-in packs; this test fails when a committed
//! page differs from what the YAML generates. Regenerate with
//! `UPDATE_DOCS=1 cargo test --test docs`
//! or `cargo run -- docs`.

use std::collections::BTreeMap;

use portaudit::pack::{builtin_packs, load_pack};
use portaudit::packdoc;
use portaudit::source::{Encoding, FileStore};

#[test]
fn pack_pages_are_up_to_date() {
    let update = std::env::var_os("UPDATE_DOCS").is_some();
    let mut store = FileStore::new();
    let mut stale = Vec::new();
    for (name, text) in builtin_packs() {
        let id = store.add_text(*name, None, (*text).to_owned(), Encoding::Utf8);
        let pack = load_pack(store.get(id), true, &BTreeMap::new()).unwrap();
        let path = format!("docs/packs/{}", packdoc::page_name(&pack));
        let want = packdoc::pack_page(&pack);
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        if have != want {
            if update {
                std::fs::create_dir_all("docs/packs").unwrap();
                std::fs::write(&path, &want).unwrap();
            } else {
                stale.push(path);
            }
        }
    }
    assert!(
        stale.is_empty(),
        "out of date: {stale:?}; regenerate with `cargo run -- docs` or `UPDATE_DOCS=1 cargo test --test docs`"
    );
}
