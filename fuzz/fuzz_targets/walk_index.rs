//! Differential: the indexed flow walk equals the full walk on any parsed input.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| portaudit_fuzz::walk_index(data));
