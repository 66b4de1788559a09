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
    let root = yaml::parse(&file.text, YamlLimits::default()).map_err(|e| {
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
