//! The whole per-file evaluation: detect, parse, every check of every built-in pack.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| portaudit_fuzz::evaluate(data));
