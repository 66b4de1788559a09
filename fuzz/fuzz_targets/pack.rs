//! The pack loader (a custom pack: YAML, schema, requirements).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| portaudit_fuzz::pack(data));
