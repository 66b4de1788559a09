//! Cisco IOS / IOS-XE (placeholder while being written).
use crate::model::{Config, Format};
use crate::source::{SourceFile, Span};

pub fn sniff(_name: &str, _text: &str) -> u8 {
    0
}

pub fn parse(file: &SourceFile, _limits: &super::Limits) -> Config {
    Config::new(Format::Ios, Span::file_start(file.id))
}
