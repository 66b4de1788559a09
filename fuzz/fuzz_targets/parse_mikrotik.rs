//! The mikrotik parser (formats::parse with Format::Mikrotik) on arbitrary bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| portaudit_fuzz::parse(portaudit::model::Format::Mikrotik, data));
