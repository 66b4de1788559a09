//! The portaudit.yaml loader.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| portaudit_fuzz::config(data));
