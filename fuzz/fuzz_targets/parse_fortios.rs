//! The fortios parser (formats::parse with Format::Fortios) on arbitrary bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| portaudit_fuzz::parse(portaudit::model::Format::Fortios, data));
