//! The uContact settings dump reader (formats::parse with Format::Ucontact: YAML or JSON,
//! schema validation, canonical settings) on arbitrary bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| portaudit_fuzz::parse(portaudit::model::Format::Ucontact, data));
