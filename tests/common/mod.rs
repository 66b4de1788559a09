//! Helpers shared by the integration tests that run the `portaudit` binary.
//!
//! Each test crate includes this module (`mod common;`) and uses only some of it.
#![allow(dead_code)]

use assert_cmd::Command;

/// The binary with a fixed terminal: no colour, 100 columns, and the debug-build panic hook
/// (`PORTAUDIT_TEST_PANIC`) off unless a test sets it.
pub fn portaudit() -> Command {
    let mut c = Command::cargo_bin("portaudit").unwrap();
    c.env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .env_remove("PORTAUDIT_TEST_PANIC");
    c
}

/// Run the binary with `args`; (exit code, standard output, standard error).
pub fn run(args: &[&str]) -> (i32, String, String) {
    let out = portaudit().args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}
