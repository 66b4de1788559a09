//! `portaudit.yaml`: pack selection, endpoint mappings, parameters and output settings,
//! validated by `schemas/portaudit.schema.json` with every error located.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use serde::Deserialize;

use crate::checks::Endpoint;
use crate::pack::Severity;
use crate::sets::{parse_net, AddrSet, NameSet};
use crate::source::{SourceFile, Span};
use crate::yaml::{self, YamlLimits};

static SCHEMA_TEXT: &str = include_str!("../schemas/portaudit.schema.json");

static VALIDATOR: LazyLock<jsonschema::Validator> = LazyLock::new(|| {
    let schema: serde_json::Value =
        serde_json::from_str(SCHEMA_TEXT).expect("schemas/portaudit.schema.json is valid JSON");
    jsonschema::validator_for(&schema).expect("schemas/portaudit.schema.json is a valid schema")
});

/// File name looked up in the checked folder, then in the working directory.
pub const CONFIG_FILE: &str = "portaudit.yaml";

#[derive(Clone, Debug, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
struct Raw {
    packs: Option<Vec<String>>,
    #[serde(default)]
    policies: Vec<String>,
    fail_on: Option<Severity>,
    #[serde(default)]
    components: Vec<String>,
    #[serde(default)]
    parameters: BTreeMap<String, BTreeMap<String, u32>>,
    #[serde(default)]
    endpoints: BTreeMap<String, RawEndpoint>,
    #[serde(default)]
    devices: Vec<RawDevice>,
    #[serde(default)]
    severity: BTreeMap<String, Severity>,
    #[serde(default)]
    waivers: Vec<RawWaiver>,
    #[serde(default)]
    limits: LimitSettings,
}

/// Limits from portaudit.yaml (`limits:`) or `check` flags; `None` keeps the next source's value
/// (flags, then the file, then the defaults).
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub struct LimitSettings {
    pub max_file_size: Option<u64>,
    pub max_line_length: Option<usize>,
    pub max_depth: Option<usize>,
    pub max_reference_depth: Option<usize>,
    pub max_yaml_events: Option<usize>,
    pub max_yaml_aliases: Option<usize>,
}

/// Default maximum input size: 256 MiB.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 256 * 1024 * 1024;

/// The limits a run applies.
#[derive(Clone, Copy, Debug)]
pub struct EffectiveLimits {
    pub parse: crate::formats::Limits,
    pub max_file_size: u64,
}

impl LimitSettings {
    /// `self`, with the unset values taken from `other`.
    pub fn or(self, other: LimitSettings) -> LimitSettings {
        LimitSettings {
            max_file_size: self.max_file_size.or(other.max_file_size),
            max_line_length: self.max_line_length.or(other.max_line_length),
            max_depth: self.max_depth.or(other.max_depth),
            max_reference_depth: self.max_reference_depth.or(other.max_reference_depth),
            max_yaml_events: self.max_yaml_events.or(other.max_yaml_events),
            max_yaml_aliases: self.max_yaml_aliases.or(other.max_yaml_aliases),
        }
    }

    /// The values set, defaults for the others.
    pub fn resolve(&self) -> EffectiveLimits {
        let d = crate::formats::Limits::default();
        EffectiveLimits {
            parse: crate::formats::Limits {
                max_depth: self.max_depth.unwrap_or(d.max_depth).max(1),
                max_reference_depth: self
                    .max_reference_depth
                    .unwrap_or(d.max_reference_depth)
                    .max(1),
                max_line_len: self.max_line_length.unwrap_or(d.max_line_len).max(1),
                max_yaml_events: self.max_yaml_events.unwrap_or(d.max_yaml_events).max(1),
                max_yaml_aliases: self.max_yaml_aliases.unwrap_or(d.max_yaml_aliases),
            },
            max_file_size: self.max_file_size.unwrap_or(DEFAULT_MAX_FILE_SIZE).max(1),
        }
    }

    /// The YAML budgets (for custom packs and portaudit.yaml itself).
    pub fn yaml(&self) -> YamlLimits {
        let l = self.resolve().parse;
        YamlLimits {
            max_depth: l.max_depth,
            max_events: l.max_yaml_events,
            max_aliases: l.max_yaml_aliases,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
struct RawWaiver {
    rule: String,
    files: Option<String>,
    target: Option<String>,
    line: Option<usize>,
    reason: String,
    owner: String,
    expires: String,
}

/// An accepted finding.
#[derive(Clone, Debug)]
pub struct Waiver {
    pub rule: String,
    pub files: Option<globset::GlobMatcher>,
    pub target: Option<String>,
    pub line: Option<usize>,
    pub reason: String,
    pub owner: String,
    /// `YYYY-MM-DD`; applies through that day.
    pub expires: String,
    /// The waiver's entry in portaudit.yaml.
    pub span: Span,
}

#[derive(Clone, Debug, Deserialize, Default)]
struct RawEndpoint {
    #[serde(default)]
    addresses: Vec<String>,
    #[serde(default)]
    zones: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
struct RawDevice {
    files: String,
    packs: Option<Vec<String>>,
    #[serde(default)]
    endpoints: BTreeMap<String, RawEndpoint>,
}

/// Settings for the files matching a glob.
#[derive(Clone, Debug)]
pub struct Device {
    pub files: globset::GlobMatcher,
    /// Packs run on these files (None: the global selection).
    pub packs: Option<Vec<String>>,
    pub endpoints: BTreeMap<String, Endpoint>,
}

/// A loaded configuration.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// Where it was read from (None: no file, defaults).
    pub path: Option<PathBuf>,
    pub packs: Option<Vec<String>>,
    /// Extra pack paths, resolved against the file's folder.
    pub policies: Vec<PathBuf>,
    pub fail_on: Option<Severity>,
    pub components: Vec<String>,
    pub parameters: BTreeMap<String, BTreeMap<String, u32>>,
    pub endpoints: BTreeMap<String, Endpoint>,
    pub devices: Vec<Device>,
    /// Per-requirement severity overrides.
    pub severity: BTreeMap<String, Severity>,
    pub waivers: Vec<Waiver>,
    /// `limits:` (command-line flags override them).
    pub limits: LimitSettings,
}

/// A configuration error located in the file.
#[derive(Clone, Debug)]
pub struct ConfigError {
    pub span: Span,
    pub message: String,
}

fn endpoint(raw: &RawEndpoint) -> Endpoint {
    let addresses = (!raw.addresses.is_empty()).then(|| {
        raw.addresses
            .iter()
            .filter_map(|a| parse_net(a))
            .fold(AddrSet::empty(), |acc, n| acc.union(&n))
    });
    let zones = (!raw.zones.is_empty()).then(|| NameSet::only(raw.zones.iter().cloned()));
    Endpoint { addresses, zones }
}

/// Parse and validate a configuration file.
pub fn load(file: &SourceFile) -> Result<Config, Vec<ConfigError>> {
    load_limited(file, YamlLimits::default())
}

/// [`load`] with YAML budgets (from `check` flags).
pub fn load_limited(file: &SourceFile, budget: YamlLimits) -> Result<Config, Vec<ConfigError>> {
    let root = yaml::parse(&file.text, budget).map_err(|e| {
        vec![ConfigError {
            span: Span::new(file.id, e.offset, e.offset),
            message: format!("invalid YAML: {}", e.message),
        }]
    })?;
    if matches!(root.kind, yaml::Kind::Null) {
        return Ok(Config {
            path: file.path.clone(),
            ..Config::default()
        });
    }
    let mut errors: Vec<ConfigError> = yaml::validate(&VALIDATOR, &root)
        .into_iter()
        .map(|e| ConfigError {
            span: Span::new(file.id, e.start, e.end),
            message: e.message,
        })
        .collect();
    if !errors.is_empty() {
        return Err(errors);
    }
    let raw: Raw = serde_json::from_value(root.to_json()).map_err(|e| {
        vec![ConfigError {
            span: Span::new(file.id, 0, 0),
            message: e.to_string(),
        }]
    })?;
    let at = |pointer: &str| {
        root.pointer(pointer)
            .map(|(n, k)| n.label_range(k))
            .map(|(s, e)| Span::new(file.id, s, e))
            .unwrap_or(Span::new(file.id, 0, 0))
    };
    let check_addrs =
        |base: &str, eps: &BTreeMap<String, RawEndpoint>, errors: &mut Vec<ConfigError>| {
            for (role, ep) in eps {
                for (i, a) in ep.addresses.iter().enumerate() {
                    if parse_net(a).is_none() {
                        errors.push(ConfigError {
                            span: at(&format!("{base}/{role}/addresses/{i}")),
                            message: format!("`{a}` is not an IP address or network"),
                        });
                    }
                }
            }
        };
    check_addrs("/endpoints", &raw.endpoints, &mut errors);
    let mut devices = Vec::new();
    for (i, d) in raw.devices.iter().enumerate() {
        check_addrs(
            &format!("/devices/{i}/endpoints"),
            &d.endpoints,
            &mut errors,
        );
        match globset::Glob::new(&d.files) {
            Ok(g) => devices.push(Device {
                files: g.compile_matcher(),
                packs: d.packs.clone(),
                endpoints: d
                    .endpoints
                    .iter()
                    .map(|(k, v)| (k.clone(), endpoint(v)))
                    .collect(),
            }),
            Err(e) => errors.push(ConfigError {
                span: at(&format!("/devices/{i}/files")),
                message: format!("invalid glob: {e}"),
            }),
        }
    }
    let mut waivers = Vec::new();
    for (i, w) in raw.waivers.iter().enumerate() {
        let files = match w.files.as_deref().map(globset::Glob::new) {
            None => None,
            Some(Ok(g)) => Some(g.compile_matcher()),
            Some(Err(e)) => {
                errors.push(ConfigError {
                    span: at(&format!("/waivers/{i}/files")),
                    message: format!("invalid glob: {e}"),
                });
                None
            }
        };
        if !valid_date(&w.expires) {
            errors.push(ConfigError {
                span: at(&format!("/waivers/{i}/expires")),
                message: format!("`{}` is not a calendar date (YYYY-MM-DD)", w.expires),
            });
        }
        let span = root
            .pointer(&format!("/waivers/{i}"))
            .map(|(n, _)| Span::new(file.id, n.start, n.end))
            .unwrap_or(Span::new(file.id, 0, 0));
        waivers.push(Waiver {
            rule: w.rule.clone(),
            files,
            target: w.target.clone(),
            line: w.line,
            reason: w.reason.clone(),
            owner: w.owner.clone(),
            expires: w.expires.clone(),
            span,
        });
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let base = file
        .path
        .as_deref()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_default();
    Ok(Config {
        path: file.path.clone(),
        packs: raw.packs,
        policies: raw.policies.iter().map(|p| base.join(p)).collect(),
        fail_on: raw.fail_on,
        components: raw.components,
        parameters: raw.parameters,
        endpoints: raw
            .endpoints
            .iter()
            .map(|(k, v)| (k.clone(), endpoint(v)))
            .collect(),
        devices,
        severity: raw.severity,
        waivers,
        limits: raw.limits,
    })
}

impl Config {
    /// The endpoint mappings for a file (per-device mappings override global ones).
    pub fn endpoints_for(&self, display_name: &str) -> BTreeMap<String, Endpoint> {
        let mut out = self.endpoints.clone();
        for d in self
            .devices
            .iter()
            .filter(|d| d.files.is_match(display_name))
        {
            for (k, v) in &d.endpoints {
                out.insert(k.clone(), v.clone());
            }
        }
        out
    }

    /// The packs to run on a file, when a device entry restricts them (the last matching entry
    /// with `packs` wins).
    pub fn packs_for(&self, display_name: &str) -> Option<&[String]> {
        self.devices
            .iter()
            .rev()
            .filter(|d| d.files.is_match(display_name))
            .find_map(|d| d.packs.as_deref())
    }

    /// Every pack id a device entry names.
    pub fn device_packs(&self) -> impl Iterator<Item = &String> {
        self.devices.iter().flat_map(|d| d.packs.iter().flatten())
    }
}

/// Where to look for portaudit.yaml: the first folder argument, then the working directory.
pub fn find(inputs: &[PathBuf]) -> Option<PathBuf> {
    inputs
        .iter()
        .filter(|p| p.is_dir())
        .map(|p| p.join(CONFIG_FILE))
        .chain(std::iter::once(PathBuf::from(CONFIG_FILE)))
        .find(|p| p.is_file())
}

/// A real calendar date in `YYYY-MM-DD` form.
pub fn valid_date(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return false;
    };
    let (Ok(y), Ok(m), Ok(d)) = (y.parse::<i64>(), m.parse::<u32>(), d.parse::<u32>()) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    s.len() == 10 && (1..=days).contains(&d)
}

/// Today's date (UTC) as `YYYY-MM-DD`.
pub fn today_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    civil_from_days((secs / 86_400) as i64)
}

/// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(z: i64) -> String {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), "1970-01-01");
        assert_eq!(civil_from_days(20_779), "2026-11-22");
        assert!(valid_date("2024-02-29"));
        assert!(!valid_date("2023-02-29"));
        assert!(!valid_date("2023-13-01"));
        assert!(!valid_date("2023-1-01"));
    }
}
