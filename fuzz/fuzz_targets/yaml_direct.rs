//! Differential: the YAML tree built from the parser's events against serde-saphyr's.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| portaudit_fuzz::yaml_direct(data));
