//! portaudit: compliance-as-code for contact-centre network and security requirements.
#![forbid(unsafe_code)]

pub mod checks;
pub mod config;
pub mod engine;
pub mod finding;
pub mod formats;
pub mod init;
pub mod model;
pub mod pack;
pub mod packdoc;
pub mod packtest;
pub mod redact;
pub mod report;
pub mod sets;
pub mod source;
#[cfg(test)]
mod testing;
pub mod yaml;
