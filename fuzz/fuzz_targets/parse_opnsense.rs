//! The opnsense parser (formats::parse with Format::Opnsense) on arbitrary bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| portaudit_fuzz::parse(portaudit::model::Format::Opnsense, data));
