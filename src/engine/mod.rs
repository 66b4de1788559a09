//! The engine: loads configuration and packs, walks the inputs, parses and evaluates every file
//! in parallel (rayon), and collects findings in a deterministic order.

pub mod cover;
pub mod flow;
pub mod index;
pub mod trace;

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::checks::{self, Ctx, Endpoint, Outcome, Status};
use crate::config::{self, Config as ProjectConfig, EffectiveLimits, LimitSettings};
use crate::finding::{input_error, Finding};
use crate::formats;
use crate::model::{Format, Unparsed};
use crate::pack::{self, Pack, Requirement, Severity};
use crate::sets::parse_net;
use crate::source::{display_name, FileId, FileStore, SourceFile, Span};
use rayon::prelude::*;

/// What to run.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Files and folders to check.
    pub inputs: Vec<PathBuf>,
    /// `--pack` ids (empty: from the config file, else the defaults).
    pub packs: Vec<String>,
    /// `--policy` files or folders with custom packs.
    pub policies: Vec<PathBuf>,
    /// `--config` (None: look for portaudit.yaml).
    pub config: Option<PathBuf>,
    /// Do not look for portaudit.yaml.
    pub no_config: bool,
    /// Limits set on the command line (unset ones come from portaudit.yaml, then the defaults).
    pub limits: LimitSettings,
    /// Worker threads (None: one per core). Output does not depend on it.
    pub threads: Option<usize>,
    /// The date waivers are judged against (`YYYY-MM-DD`; None: today, UTC).
    pub today: Option<String>,
    /// Findings whose fingerprints are in this file (a baseline or a JSON report) are not reported.
    pub baseline: Option<PathBuf>,
    /// Called with (files done, files in all) as files are evaluated (the CLI draws a progress
    /// bar; the library never prints).
    pub progress: Option<Progress>,
    /// How much of each file's text the run keeps for reporters once the file is evaluated.
    pub keep: Keep,
    /// Check only this shard of the inputs (see [`Shard`]).
    pub shard: Option<Shard>,
    /// Render each file's part of the report on the worker that evaluated it, in parallel with
    /// the other files; the consumer of [`check`] finds the bytes in [`FileView::rendered`] (see
    /// [`crate::report::per_file`]). None: the consumer renders.
    pub render: Option<Render>,
}

/// How much of an evaluated file's text is kept (files are released as they are evaluated, so
/// memory does not grow with the text of the fleet). Ordered from most kept to least.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Keep {
    /// The lines findings point at and two lines around them, with the secrets in them: enough
    /// for every reporter, snippets included.
    #[default]
    Snippets,
    /// Only the lines findings, evidence and unparsed spans point at, without looking for
    /// secrets: enough for locations and fingerprints (JSON, SARIF, JUnit, Markdown), not for
    /// snippets.
    Locations,
}

/// A function rendering one file's part of a report.
pub type RenderFile = dyn Fn(&FileView<'_>) -> Vec<u8> + Send + Sync;

/// Renders one file's part of a report ([`Options::render`]).
#[derive(Clone)]
pub struct Render {
    /// What was rendered, and with which options: a reporter uses the bytes only when the key is
    /// its own (e.g. the text report at the same width and colours).
    pub key: String,
    pub render: Arc<RenderFile>,
}

impl std::fmt::Debug for Render {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Render({})", self.key)
    }
}

/// A file's part of a report, rendered by the worker that evaluated the file ([`Render`]).
#[derive(Clone, Copy, Debug)]
pub struct Rendered<'a> {
    /// [`Render::key`].
    pub key: &'a str,
    pub bytes: &'a [u8],
}

/// A progress callback.
#[derive(Clone)]
pub struct Progress(pub std::sync::Arc<dyn Fn(usize, usize) + Send + Sync>);

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress")
    }
}

/// Something about the configuration worth telling (an expired or unused waiver).
#[derive(Clone, Debug)]
pub struct Notice {
    pub span: Span,
    pub message: String,
}

/// Stack size of worker threads: parsers of nested formats recurse (bounded by the limits), and
/// debug builds need more room than rayon's 2 MiB default.
const WORKER_STACK: usize = 16 * 1024 * 1024;

/// Configurations with at least this many rules have their requirements evaluated in parallel
/// (see [`evaluate_file`]); below it a file takes milliseconds and splitting it only costs.
const PARALLEL_RULES: usize = 2000;

pub use crate::config::DEFAULT_MAX_FILE_SIZE;

/// An error that stops the run before evaluation (bad config or pack, unknown pack id, missing
/// input): exit code 2.
#[derive(Clone, Debug)]
pub struct SetupError {
    pub span: Option<Span>,
    pub message: String,
}

/// One input file's summary.
#[derive(Clone, Debug)]
pub struct FileReport {
    pub file: FileId,
    pub name: String,
    pub format: Format,
    pub rules: usize,
    pub unparsed: Vec<Unparsed>,
    /// Why the file was not evaluated (not an export), if it was skipped.
    pub skipped: Option<String>,
    /// The evaluation of this file is incomplete (input errors).
    pub incomplete: bool,
    /// Findings on this file (after the baseline), and how many of them are not waived.
    pub findings: usize,
    pub active: usize,
}

/// The status of one requirement on one file.
#[derive(Clone, Debug)]
pub struct ResultRow {
    pub file: FileId,
    pub pack: String,
    pub requirement: String,
    pub status: Status,
    pub evidence: Option<Span>,
}

/// `--shard K/N`: one of N disjoint parts of the inputs, chosen by a hash of each file's path
/// relative to the folder it was found in (for a file given by name: its file name), so the split
/// does not depend on the working directory, the machine or the thread count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// 1-based.
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// Parse `K/N` (1 <= K <= N).
    pub fn parse(s: &str) -> Result<Shard, String> {
        let bad = || format!("`{s}` is not a shard: use K/N with 1 <= K <= N, e.g. 2/4");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u32 = k.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// Does this shard check the file with this key (see [`shard_key`])?
    pub fn holds(&self, key: &str) -> bool {
        crate::report::fnv1a(&[key]) % u64::from(self.count) == u64::from(self.index - 1)
    }
}

/// The key a file is sharded by: its path relative to the input folder it was found under, with
/// `/` separators (a file given by name: its file name).
pub fn shard_key(inputs: &[PathBuf], path: &Path) -> String {
    let rel = inputs
        .iter()
        .filter(|i| i.as_path() != path)
        .find_map(|i| path.strip_prefix(i).ok())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| path.file_name().map(PathBuf::from).unwrap_or_default());
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// What a sharded run knows of the whole: where its files stand among all the inputs.
#[derive(Clone, Debug)]
pub struct ShardRun {
    pub shard: Shard,
    /// For each entry of [`Run::files`], its index among all the inputs (unsharded order).
    pub ordinals: Vec<usize>,
    /// Number of inputs over all shards.
    pub total: usize,
}

impl ShardRun {
    /// For shard metadata: the index among all the inputs of each file's entries, repeated as
    /// many times as `count` says the file has entries (its findings, or its SARIF results).
    pub fn per_entry(
        &self,
        files: &[FileReport],
        count: impl Fn(&FileReport) -> usize,
    ) -> Vec<usize> {
        files
            .iter()
            .zip(&self.ordinals)
            .flat_map(|(f, o)| std::iter::repeat_n(*o, count(f)))
            .collect()
    }
}

/// Everything a reporter needs.
#[derive(Debug, Default)]
pub struct Run {
    pub store: FileStore,
    /// Selected packs, in selection order.
    pub packs: Vec<Pack>,
    pub files: Vec<FileReport>,
    /// Sorted by file and position (empty when the run was streamed with [`Hold::Nothing`]).
    pub findings: Vec<Finding>,
    pub results: Vec<ResultRow>,
    pub config: ProjectConfig,
    /// Expired and unused waivers.
    pub notices: Vec<Notice>,
    /// Findings left out because they are in the baseline.
    pub baselined: usize,
    /// Set when the run checked one shard of the inputs.
    pub shard: Option<ShardRun>,
    /// Counts over every finding (held or not).
    pub totals: Totals,
    /// [`Render::key`] of the run's [`Options::render`], if it had one.
    pub render_key: Option<String>,
    /// With [`Hold::All`] and [`Options::render`]: each file's rendered part (in the order of
    /// `files`); empty otherwise.
    pub rendered: Vec<Option<Vec<u8>>>,
}

impl Run {
    /// A file's bytes from [`Options::render`] with the run's key, for [`FileView::rendered`].
    pub fn rendered_part<'a>(&'a self, bytes: Option<&'a [u8]>) -> Option<Rendered<'a>> {
        let key = self.render_key.as_deref()?;
        Some(Rendered { key, bytes: bytes? })
    }

    /// True when some input could not be fully evaluated.
    pub fn incomplete(&self) -> bool {
        self.files.iter().any(|f| f.incomplete)
    }

    /// Findings (not waived) at or above a severity.
    pub fn failing(&self, threshold: Severity) -> usize {
        self.totals.failing(threshold)
    }
}

/// Files from this size on have their secrets searched for while they are evaluated.
const EARLY_SECRETS: usize = 1 << 20;

/// Load configuration and every pack; select the packs to run.
pub fn setup(
    opts: &Options,
    store: &mut FileStore,
) -> Result<(ProjectConfig, Vec<Pack>), Vec<SetupError>> {
    let mut errors = Vec::new();
    let config_path = if opts.no_config {
        None
    } else {
        opts.config.clone().or_else(|| config::find(&opts.inputs))
    };
    let mut cfg = ProjectConfig::default();
    if let Some(path) = config_path {
        match std::fs::read(&path) {
            Ok(bytes) => {
                let id = store.add_bytes(display_name(&path), Some(path.clone()), &bytes);
                match config::load_limited(store.get(id), opts.limits.yaml()) {
                    Ok(c) => cfg = c,
                    Err(errs) => errors.extend(errs.into_iter().map(|e| SetupError {
                        span: Some(e.span),
                        message: e.message,
                    })),
                }
            }
            Err(e) => errors.push(SetupError {
                span: None,
                message: format!("cannot read {}: {e}", path.display()),
            }),
        }
    }

    let mut all: Vec<Pack> = Vec::new();
    let builtin: Vec<FileId> = pack::builtin_packs()
        .iter()
        .map(|(name, text)| {
            store.add_text(
                *name,
                None,
                (*text).to_owned(),
                crate::source::Encoding::Utf8,
            )
        })
        .collect();
    // Every run loads every built-in pack (a fixed 80 M instructions, mostly YAML): on every
    // thread, in order.
    let loaded: Vec<_> = {
        let store = &*store;
        builtin
            .par_iter()
            .map(|&id| pack::load_pack(store.get(id), true, &cfg.parameters))
            .collect()
    };
    for result in loaded {
        match result {
            Ok(p) => all.push(p),
            Err(errs) => errors.extend(errs.into_iter().map(|e| SetupError {
                span: Some(e.span),
                message: e.message,
            })),
        }
    }
    let mut custom_ids = Vec::new();
    let custom_paths: Vec<PathBuf> = opts
        .policies
        .iter()
        .chain(cfg.policies.iter())
        .cloned()
        .collect();
    match pack_files(&custom_paths) {
        Ok(files) => {
            for path in files {
                match load_custom(&path, store, &cfg, opts.limits.or(cfg.limits).yaml()) {
                    Ok(p) => {
                        if let Some(prev) = all.iter().find(|q| q.id == p.id) {
                            errors.push(SetupError {
                                span: Some(p.span),
                                message: format!(
                                    "pack id `{}` is already defined by {}",
                                    p.id,
                                    store.get(prev.span.file).name
                                ),
                            });
                        } else {
                            custom_ids.push(p.id.clone());
                            all.push(p);
                        }
                    }
                    Err(mut errs) => errors.append(&mut errs),
                }
            }
        }
        Err(e) => errors.push(e),
    }

    let wanted: Vec<String> = if !opts.packs.is_empty() {
        opts.packs.clone()
    } else if let Some(p) = &cfg.packs {
        p.clone()
    } else {
        pack::DEFAULT_PACKS.iter().map(|s| s.to_string()).collect()
    };
    let mut selected: Vec<Pack> = Vec::new();
    for id in wanted
        .iter()
        .chain(custom_ids.iter())
        .chain(cfg.device_packs())
    {
        if selected.iter().any(|p| &p.id == id) {
            continue;
        }
        match all.iter().find(|p| &p.id == id) {
            Some(p) => selected.push(p.clone()),
            None => errors.push(SetupError {
                span: None,
                message: format!(
                    "unknown pack `{id}`; available: {}",
                    all.iter()
                        .map(|p| p.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }),
        }
    }
    // Requirement ids must be unique across the selection (they are SARIF rule ids).
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for p in &selected {
        for r in &p.requirements {
            if let Some(other) = seen.insert(&r.id, &p.id) {
                if other != p.id {
                    errors.push(SetupError {
                        span: Some(r.span),
                        message: format!(
                            "requirement id `{}` is also used by pack `{other}`",
                            r.id
                        ),
                    });
                }
            }
        }
    }
    if errors.is_empty() {
        Ok((cfg, selected))
    } else {
        Err(errors)
    }
}

fn load_custom(
    path: &Path,
    store: &mut FileStore,
    cfg: &ProjectConfig,
    budget: crate::yaml::YamlLimits,
) -> Result<Pack, Vec<SetupError>> {
    let bytes = std::fs::read(path).map_err(|e| {
        vec![SetupError {
            span: None,
            message: format!("cannot read pack {}: {e}", path.display()),
        }]
    })?;
    let id = store.add_bytes(display_name(path), Some(path.to_path_buf()), &bytes);
    pack::load_pack_limited(store.get(id), false, &cfg.parameters, budget).map_err(|errs| {
        errs.into_iter()
            .map(|e| SetupError {
                span: Some(e.span),
                message: e.message,
            })
            .collect()
    })
}

/// Pack files named by `--policy`: files as given, `*.yaml`/`*.yml` in folders (sorted).
pub fn pack_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, SetupError> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut v: Vec<PathBuf> = walkdir::WalkDir::new(p)
                .max_depth(1)
                .sort_by_file_name()
                .into_iter()
                .filter_map(Result::ok)
                .map(|e| e.into_path())
                .filter(|f| {
                    f.is_file()
                        && matches!(f.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
                })
                .collect();
            v.sort();
            out.extend(v);
        } else if p.is_file() {
            out.push(p.clone());
        } else {
            return Err(SetupError {
                span: None,
                message: format!("pack path {} does not exist", p.display()),
            });
        }
    }
    Ok(out)
}

/// One entry found by walking the inputs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// A regular file, or a symbolic link to one.
    File(PathBuf),
    /// Not a regular file (FIFO, device, socket, link to a folder): never opened, reported as
    /// skipped.
    Special { path: PathBuf, kind: &'static str },
    /// Cannot be walked or resolved (symbolic link loop, dangling link, unreadable folder): an
    /// input error for that path; the run goes on.
    Error { path: PathBuf, message: String },
}

impl Input {
    pub fn path(&self) -> &Path {
        match self {
            Input::File(p) => p,
            Input::Special { path, .. } | Input::Error { path, .. } => path,
        }
    }
}

/// What a non-regular file is.
fn special_kind(ft: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if ft.is_char_device() {
            return "a character device";
        }
        if ft.is_block_device() {
            return "a block device";
        }
        if ft.is_socket() {
            return "a socket";
        }
    }
    if ft.is_dir() {
        return "a symbolic link to a folder (not followed)";
    }
    "not a regular file"
}

/// Why a path cannot be resolved, in words.
fn io_reason(e: &std::io::Error, link: bool) -> String {
    // ELOOP has no stable ErrorKind on the MSRV: recognise it by its OS code.
    #[cfg(unix)]
    if e.raw_os_error() == Some(libc::ELOOP) {
        return "symbolic link loop (the link resolves to itself); not followed".into();
    }
    match e.kind() {
        std::io::ErrorKind::NotFound if link => {
            "dangling symbolic link (its target does not exist)".into()
        }
        std::io::ErrorKind::NotFound => {
            "the file disappeared during the run (it was listed, then could not be opened)".into()
        }
        std::io::ErrorKind::PermissionDenied => format!("cannot read: permission denied ({e})"),
        _ => format!("cannot read: {e}"),
    }
}

/// Classify a path found in a folder (or named on the command line), following symbolic links
/// to files but never into folders.
fn classify(path: PathBuf, is_link: bool) -> Input {
    match std::fs::metadata(&path) {
        Ok(m) if m.is_file() => Input::File(path),
        Ok(m) => Input::Special {
            kind: special_kind(m.file_type()),
            path,
        },
        Err(e) => Input::Error {
            message: io_reason(&e, is_link),
            path,
        },
    }
}

/// Everything under the given paths, in a deterministic order; hidden and VCS folders are
/// skipped, and so is the configuration file. Only a missing command-line path is an error here:
/// problems met while walking (loops, dangling links, unreadable folders) are entries, so that
/// they become input errors for those paths while the rest of the run goes on.
pub fn walk(inputs: &[PathBuf]) -> Result<Vec<Input>, Vec<SetupError>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for input in inputs {
        let is_link = std::fs::symlink_metadata(input).is_ok_and(|m| m.file_type().is_symlink());
        match std::fs::metadata(input) {
            Ok(m) if m.is_dir() => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !is_link => {
                errors.push(SetupError {
                    span: None,
                    message: format!("{}: no such file or folder", input.display()),
                });
                continue;
            }
            _ => {
                out.push(classify(input.clone(), is_link));
                continue;
            }
        }
        let walker = walkdir::WalkDir::new(input)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
        for entry in walker {
            match entry {
                Ok(e) if e.file_name() == config::CONFIG_FILE && e.depth() > 0 => {}
                Ok(e) if e.file_type().is_dir() => {}
                Ok(e) if e.file_type().is_file() => out.push(Input::File(e.into_path())),
                Ok(e) if e.file_type().is_symlink() => out.push(classify(e.into_path(), true)),
                Ok(e) => out.push(Input::Special {
                    kind: special_kind(e.file_type()),
                    path: e.into_path(),
                }),
                // Unreadable folders: reported for that folder, the run goes on.
                Err(err) => {
                    let path = err.path().map(Path::to_path_buf).unwrap_or(input.clone());
                    let message = match err.io_error() {
                        Some(io) => format!("cannot walk this folder: {}", io_reason(io, false)),
                        None => format!("cannot walk this folder: {err}"),
                    };
                    out.push(Input::Error { path, message });
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Regular input files under the given paths (see [`walk`]); any walking problem is an error.
pub fn walk_inputs(inputs: &[PathBuf]) -> Result<Vec<PathBuf>, Vec<SetupError>> {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for i in walk(inputs)? {
        match i {
            Input::File(p) => files.push(p),
            Input::Special { .. } => {}
            Input::Error { path, message } => errors.push(SetupError {
                span: None,
                message: format!("{}: {message}", path.display()),
            }),
        }
    }
    if errors.is_empty() {
        Ok(files)
    } else {
        Err(errors)
    }
}

/// Read a regular file without ever opening a FIFO or device: the type is checked before
/// opening, the file is opened non-blocking and checked again, and at most `max` bytes are read.
fn read_regular(path: &Path, max: u64) -> Result<Vec<u8>, ReadError> {
    use std::io::Read;
    let too_big = |n: u64| {
        ReadError::Error(format!(
            "file is {n} bytes, over the {max}-byte limit (--max-file-size, limits: max-file-size in portaudit.yaml); it was not read"
        ))
    };
    let meta = std::fs::metadata(path).map_err(|e| ReadError::Error(io_reason(&e, false)))?;
    if !meta.is_file() {
        return Err(ReadError::Special(special_kind(meta.file_type())));
    }
    if meta.len() > max {
        return Err(too_big(meta.len()));
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc::O_NONBLOCK);
    }
    let file = opts
        .open(path)
        .map_err(|e| ReadError::Error(io_reason(&e, false)))?;
    let meta = file
        .metadata()
        .map_err(|e| ReadError::Error(io_reason(&e, false)))?;
    if !meta.is_file() {
        return Err(ReadError::Special(special_kind(meta.file_type())));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| ReadError::Error(io_reason(&e, false)))?;
    if bytes.len() as u64 > max {
        return Err(too_big(bytes.len() as u64));
    }
    Ok(bytes)
}

enum ReadError {
    Special(&'static str),
    Error(String),
}

/// A file as [`process`] leaves it: evaluated, its text compacted, its findings as the checks
/// made them.
struct Evaluated {
    source: SourceFile,
    report: FileReport,
    findings: Vec<Finding>,
    results: Vec<ResultRow>,
}

/// A file ready for the consumer ([`finish_file`]): findings in report order with the project's
/// severity overrides, fingerprints, waivers and baseline applied, and, if the run asked for it,
/// its part of the report.
struct Processed {
    source: Arc<SourceFile>,
    report: FileReport,
    findings: Vec<Finding>,
    results: Vec<ResultRow>,
    /// Findings each waiver matched in this file (configuration order).
    matched: Vec<usize>,
    /// Findings left out because the baseline holds them.
    baselined: usize,
    /// The file's part of the report ([`Options::render`]).
    rendered: Option<Vec<u8>>,
}

/// What [`finish_file`] needs of the run.
struct Finish<'a> {
    cfg: &'a ProjectConfig,
    today: &'a str,
    baseline: Option<&'a std::collections::BTreeSet<String>>,
    render: Option<&'a Render>,
}

/// Put a file's findings in report order and apply, in this one place, the project's severity
/// overrides, fingerprints, waivers and the baseline; then render the file's part of the report if
/// the run asked for it. Everything here depends on the file alone, so it runs on the worker that
/// evaluated the file, in parallel with the others; the consumer only adds up the counts.
fn finish_file(e: Evaluated, fin: &Finish<'_>) -> Processed {
    let Evaluated {
        source,
        mut report,
        mut findings,
        results,
    } = e;
    let id = report.file;
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    debug_assert!(
        findings.iter().all(|f| f.span.file == id),
        "a finding's primary span lies in its own file (reports are written file by file)"
    );
    let source = Arc::new(source);
    let store = FileStore::one(source.clone());
    for f in &mut findings {
        if let Some(s) = fin.cfg.severity.get(&f.rule) {
            f.severity = *s;
        }
    }
    let fps = crate::report::fingerprints(&store, &findings);
    for (f, fp) in findings.iter_mut().zip(fps) {
        f.fingerprint = fp;
    }
    let mut matched = vec![0; fin.cfg.waivers.len()];
    waive(fin.cfg, &store, &mut findings, fin.today, &mut matched);
    let mut baselined = 0;
    if let Some(known) = fin.baseline {
        let before = findings.len();
        findings.retain(|f| {
            f.category == crate::pack::Category::InputError || !known.contains(&f.fingerprint)
        });
        baselined = before - findings.len();
    }
    report.findings = findings.len();
    report.active = findings.iter().filter(|f| f.waived.is_none()).count();
    // A reporter that panics here leaves the file to the consumer, which renders it itself.
    let rendered = fin.render.and_then(|Render { render, .. }| {
        let view = FileView {
            store: &store,
            report: &report,
            findings: &findings,
            results: &results,
            rendered: None,
        };
        catch_unwind(AssertUnwindSafe(|| render(&view))).ok()
    });
    Processed {
        source,
        report,
        findings,
        results,
        matched,
        baselined,
        rendered,
    }
}

/// Run a check and keep everything: every finding and the text reporters need around it
/// (for reporters that render the whole run at once). Same files, findings and order as
/// [`check`].
pub fn run(opts: &Options) -> Result<Run, (FileStore, Vec<SetupError>)> {
    check(
        opts,
        Hold::All,
        |files| while files.next_file().is_some() {},
    )
    .map(|((), run)| run)
}

/// What a [`Checked`] stream keeps of each file once the consumer has moved past it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hold {
    /// Findings go into [`Run::findings`] and texts stay in the store.
    All,
    /// Findings are dropped and the file's text is released: memory stays bounded by the files
    /// in flight, whatever the size of the fleet. [`Run::findings`] stays empty; the counts are
    /// in [`Run::totals`] and [`FileReport::findings`].
    Nothing,
}

/// Files evaluated ahead of the consumer, per worker thread: enough to keep every worker busy
/// while the reporter writes, small enough that memory does not depend on the fleet.
const AHEAD_PER_THREAD: usize = 4;

/// Run a check, handing each evaluated file to `consume` in input order (files are evaluated in
/// parallel, at most a few per thread ahead of the consumer). Returns what `consume` returned and
/// the run: everything but the findings when `hold` is [`Hold::Nothing`].
pub fn check<R>(
    opts: &Options,
    hold: Hold,
    consume: impl FnOnce(&mut Checked<'_>) -> R,
) -> Result<(R, Run), (FileStore, Vec<SetupError>)> {
    let mut store = FileStore::new();
    let (cfg, packs) = match setup(opts, &mut store) {
        Ok(x) => x,
        Err(e) => return Err((store, e)),
    };
    let paths = match walk(&opts.inputs) {
        Ok(p) => p,
        Err(e) => return Err((store, e)),
    };
    let baseline = match &opts.baseline {
        Some(path) => match read_baseline(path) {
            Ok(known) => Some(known),
            Err(e) => return Err((store, vec![e])),
        },
        None => None,
    };
    let limits = opts.limits.or(cfg.limits).resolve();
    let (paths, shard) = match opts.shard {
        None => (paths, None),
        Some(sh) => {
            let total = paths.len();
            let (ordinals, paths): (Vec<usize>, Vec<Input>) = paths
                .into_iter()
                .enumerate()
                .filter(|(_, p)| sh.holds(&shard_key(&opts.inputs, p.path())))
                .unzip();
            let shard = ShardRun {
                shard: sh,
                ordinals,
                total,
            };
            (paths, Some(shard))
        }
    };
    let first = store.len() as u32;
    let pool = match rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads.unwrap_or(0))
        .stack_size(WORKER_STACK)
        .build()
    {
        Ok(pool) => pool,
        Err(e) => {
            return Err((
                store,
                vec![SetupError {
                    span: None,
                    message: format!("cannot start worker threads: {e}"),
                }],
            ))
        }
    };
    let workers = pool.current_num_threads().max(1);
    let today = opts.today.clone().unwrap_or_else(config::today_utc);
    let feed = Feed {
        paths: &paths,
        slots: std::sync::Mutex::new(Slots::default()),
        ready: std::sync::Condvar::new(),
        room: std::sync::Condvar::new(),
        ahead: workers * AHEAD_PER_THREAD,
    };
    let done = std::sync::atomic::AtomicUsize::new(0);
    let fin = Finish {
        cfg: &cfg,
        today: &today,
        baseline: baseline.as_ref(),
        render: opts.render.as_ref(),
    };
    let evaluate = |i: usize| {
        let e = process(
            FileId(first + i as u32),
            &paths[i],
            &packs,
            &cfg,
            &limits,
            opts.keep,
        );
        let p = finish_file(e, &fin);
        if let Some(Progress(report)) = &opts.progress {
            report(
                done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1,
                paths.len(),
            );
        }
        p
    };
    let spawned = workers.min(paths.len());
    let started = std::sync::Barrier::new(spawned);
    let (out, run) = pool.in_place_scope(|scope| {
        // Every worker takes its loop before any starts on a file: a thread that waits inside
        // a file's parallel part (see [`evaluate_file`]) may run queued work meanwhile, and a
        // worker loop run there would hold that file back behind the files it claims.
        for _ in 0..spawned {
            scope.spawn(|_| {
                started.wait();
                feed.work(&evaluate)
            });
        }
        let matched = vec![0; cfg.waivers.len()];
        let mut checked = Checked {
            feed: &feed,
            hold,
            next: 0,
            current: None,
            findings: Vec::new(),
            rendered: None,
            matched,
            today: &today,
            finished: false,
            run: Run {
                store,
                packs: packs.clone(),
                files: Vec::with_capacity(paths.len()),
                findings: Vec::new(),
                results: Vec::new(),
                config: cfg.clone(),
                notices: Vec::new(),
                baselined: 0,
                shard,
                totals: Totals::default(),
                render_key: opts.render.as_ref().map(|r| r.key.clone()),
                rendered: Vec::new(),
            },
        };
        let out = consume(&mut checked);
        // Whatever the consumer did, evaluate the rest (the run's counts and exit code cover
        // every file) and finish.
        while checked.next_file().is_some() {}
        (out, checked.into_run())
    });
    Ok((out, run))
}

/// Files evaluated by the workers, waiting for the consumer (keyed by input index).
#[derive(Default)]
struct Slots {
    done: BTreeMap<usize, Processed>,
    /// Next input index a worker may claim.
    claimed: usize,
    /// Next input index the consumer takes.
    taken: usize,
    /// The consumer is gone: workers stop claiming.
    stop: bool,
}

/// The work shared by the worker threads and the consumer: workers claim input indices at most
/// `ahead` past the consumer and deposit what they evaluated; the consumer takes them in order.
struct Feed<'a> {
    paths: &'a [Input],
    slots: std::sync::Mutex<Slots>,
    /// Signalled when a file is deposited.
    ready: std::sync::Condvar,
    /// Signalled when the consumer takes a file (or stops).
    room: std::sync::Condvar,
    ahead: usize,
}

impl Feed<'_> {
    fn lock(&self) -> std::sync::MutexGuard<'_, Slots> {
        // A panic while holding the lock cannot leave the slots inconsistent (every update is
        // one statement), so a poisoned lock is still usable.
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A worker: claim, evaluate, deposit, until the inputs are exhausted or the consumer stops.
    fn work(&self, evaluate: &(dyn Fn(usize) -> Processed + Sync)) {
        loop {
            let i = {
                let mut s = self.lock();
                loop {
                    if s.stop || s.claimed >= self.paths.len() {
                        return;
                    }
                    if s.claimed < s.taken + self.ahead {
                        s.claimed += 1;
                        break s.claimed - 1;
                    }
                    s = self.room.wait(s).unwrap_or_else(|e| e.into_inner());
                }
            };
            let p = evaluate(i);
            let mut s = self.lock();
            s.done.insert(i, p);
            self.ready.notify_all();
        }
    }

    /// The consumer: wait for input `i` (the next one in order) and take it.
    fn take(&self, i: usize) -> Processed {
        let mut s = self.lock();
        loop {
            if let Some(p) = s.done.remove(&i) {
                s.taken = i + 1;
                self.room.notify_all();
                return p;
            }
            s = self.ready.wait(s).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn stop(&self) {
        self.lock().stop = true;
        self.room.notify_all();
    }
}

/// Counts over every finding of a run (waived ones included), kept as files stream past.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Findings not waived, by severity and whether they are input errors.
    active: BTreeMap<(Severity, bool), usize>,
    /// Waived findings.
    pub waived: usize,
}

impl Totals {
    fn add(&mut self, f: &Finding) {
        if f.waived.is_some() {
            self.waived += 1;
        } else {
            let key = (f.severity, f.category == crate::pack::Category::InputError);
            *self.active.entry(key).or_default() += 1;
        }
    }

    /// Findings not waived.
    pub fn active(&self) -> usize {
        self.active.values().sum()
    }

    /// Findings not waived of one severity (input errors included).
    pub fn active_at(&self, severity: Severity) -> usize {
        self.active
            .iter()
            .filter(|((s, _), _)| *s == severity)
            .map(|(_, n)| n)
            .sum()
    }

    /// Findings not waived, not input errors, at or above a severity.
    pub fn failing(&self, threshold: Severity) -> usize {
        self.active
            .iter()
            .filter(|((s, input), _)| !input && *s >= threshold)
            .map(|(_, n)| n)
            .sum()
    }

    /// All findings.
    pub fn all(&self) -> usize {
        self.active() + self.waived
    }
}

/// One evaluated file as the consumer of [`check`] sees it: its report, its findings (sorted,
/// with severity overrides, fingerprints, waivers and the baseline applied) and its results.
pub struct FileView<'a> {
    pub store: &'a FileStore,
    pub report: &'a FileReport,
    pub findings: &'a [Finding],
    pub results: &'a [ResultRow],
    /// The file's part of the report, rendered by the worker that evaluated it when the run was
    /// given [`Options::render`]; None otherwise.
    pub rendered: Option<Rendered<'a>>,
}

/// A check in progress (see [`check`]): the evaluated files, one at a time in input order.
pub struct Checked<'a> {
    feed: &'a Feed<'a>,
    hold: Hold,
    /// Next input index to take.
    next: usize,
    /// The file last handed out.
    current: Option<FileId>,
    findings: Vec<Finding>,
    /// The current file's part of the report, if the workers render it.
    rendered: Option<Vec<u8>>,
    /// Findings each waiver matched so far.
    matched: Vec<usize>,
    today: &'a str,
    finished: bool,
    run: Run,
}

impl<'a> Checked<'a> {
    /// The run so far: store, packs and configuration from the start; files, results, totals and
    /// (once every file is taken) notices as files are taken.
    pub fn run(&self) -> &Run {
        &self.run
    }

    /// The next evaluated file, in input order; None when all are taken. The previous file's
    /// findings and text are released (with [`Hold::Nothing`]) when this is called.
    pub fn next_file(&mut self) -> Option<FileView<'_>> {
        self.leave_current();
        if self.next >= self.feed.paths.len() {
            self.finish();
            return None;
        }
        let p = self.feed.take(self.next);
        self.next += 1;
        let run = &mut self.run;
        let id = p.report.file;
        run.store.insert(p.source);
        for (all, here) in self.matched.iter_mut().zip(&p.matched) {
            *all += here;
        }
        run.baselined += p.baselined;
        for f in &p.findings {
            run.totals.add(f);
        }
        let start = run.results.len();
        run.results.extend(p.results);
        run.files.push(p.report);
        self.current = Some(id);
        self.findings = p.findings;
        self.rendered = p.rendered;
        let run = &self.run;
        Some(FileView {
            store: &run.store,
            report: run.files.last()?,
            findings: &self.findings,
            results: &run.results[start..],
            rendered: run.rendered_part(self.rendered.as_deref()),
        })
    }

    fn leave_current(&mut self) {
        if let Some(id) = self.current.take() {
            let findings = std::mem::take(&mut self.findings);
            let rendered = self.rendered.take();
            match self.hold {
                Hold::All => {
                    self.run.findings.extend(findings);
                    if self.run.render_key.is_some() {
                        self.run.rendered.push(rendered);
                    }
                }
                Hold::Nothing => self.run.store.release(id),
            }
        }
    }

    fn finish(&mut self) {
        if !self.finished {
            self.finished = true;
            self.run.notices = waiver_notices(&self.run.config, self.today, &self.matched);
        }
    }

    fn into_run(mut self) -> Run {
        self.leave_current();
        self.finish();
        std::mem::take(&mut self.run)
    }
}

impl Drop for Checked<'_> {
    fn drop(&mut self) {
        // Release workers waiting for room (also when the consumer panicked), so the scope ends.
        self.feed.stop();
    }
}

/// Read, recognise, parse and evaluate one file. A panic anywhere in here becomes an input error
/// for this file only.
fn process(
    id: FileId,
    input: &Input,
    packs: &[Pack],
    cfg: &ProjectConfig,
    limits: &EffectiveLimits,
    keep: Keep,
) -> Evaluated {
    let path = input.path();
    let name = display_name(path);
    let blank = || {
        SourceFile::from_text(
            id,
            name.clone(),
            Some(path.to_path_buf()),
            String::new(),
            crate::source::Encoding::Utf8,
        )
    };
    let report = |skipped: Option<String>, incomplete: bool| FileReport {
        file: id,
        name: name.clone(),
        format: Format::Unknown,
        rules: 0,
        unparsed: Vec::new(),
        skipped,
        incomplete,
        findings: 0,
        active: 0,
    };
    let failed = |msg: String| Evaluated {
        source: blank(),
        report: report(None, true),
        findings: vec![input_error(Span::file_start(id), format!("{name}: {msg}"))],
        results: Vec::new(),
    };
    let special = |kind: &str| Evaluated {
        source: blank(),
        report: report(Some(format!("{kind}, not read")), false),
        findings: Vec::new(),
        results: Vec::new(),
    };
    let bytes = match input {
        Input::Error { message, .. } => return failed(message.clone()),
        Input::Special { kind, .. } => return special(kind),
        Input::File(_) => match read_regular(path, limits.max_file_size) {
            Ok(b) => b,
            Err(ReadError::Special(kind)) => return special(kind),
            Err(ReadError::Error(msg)) => return failed(msg),
        },
    };
    let mut source = SourceFile::from_vec(id, name.clone(), Some(path.to_path_buf()), bytes);
    // A large file's secrets are searched for while it is evaluated (the search only reads the
    // text), on the thread its serial steps leave idle; a small file's only when needed.
    let early = source.text.len() >= EARLY_SECRETS;
    let (outcome, early_secrets) = rayon::join(
        || {
            catch_unwind(AssertUnwindSafe(|| {
                evaluate_file(&source, packs, cfg, &limits.parse)
            }))
        },
        || early.then(|| crate::redact::secret_ranges(&source.text)),
    );
    match outcome {
        Ok((mut report, mut findings, results)) => {
            // The secrets of the file, found once: they mask the messages and the kept lines.
            let snippets = keep == Keep::Snippets;
            let secrets =
                (snippets || !findings.is_empty() || !report.unparsed.is_empty()).then(|| {
                    early_secrets.unwrap_or_else(|| crate::redact::secret_ranges(&source.text))
                });
            if let Some(secrets) = &secrets {
                scrub_secrets(&source, secrets, &mut report, &mut findings);
            }
            let kept = secrets.as_deref().filter(|_| snippets);
            compact(&mut source, &report, &findings, &results, keep, kept);
            Evaluated {
                source,
                report,
                findings,
                results,
            }
        }
        Err(panic) => {
            let format = formats::detect(&source);
            let mut ranges = vec![(0, 0)];
            let secrets =
                (keep == Keep::Snippets).then(|| crate::redact::secret_ranges(&source.text));
            source.compact(&mut ranges, secrets.as_deref());
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            let span = Span::file_start(id);
            Evaluated {
                report: FileReport {
                    file: id,
                    name: name.clone(),
                    format,
                    rules: 0,
                    unparsed: Vec::new(),
                    skipped: None,
                    incomplete: true,
                    findings: 0,
                    active: 0,
                },
                source,
                findings: vec![input_error(
                    span,
                    format!("{name}: internal error while evaluating this file ({what}); please report it"),
                )],
                results: Vec::new(),
            }
        }
    }
}

/// Messages may quote the source (a rule's text, a name): mask every secret value of the file in
/// them, so that no output format (JSON and SARIF carry messages, not snippets) can leak one.
fn scrub_secrets(
    source: &SourceFile,
    ranges: &[(usize, usize)],
    report: &mut FileReport,
    findings: &mut [Finding],
) {
    if findings.is_empty() && report.unparsed.is_empty() {
        return;
    }
    let secrets = crate::redact::values_of(&source.text, ranges);
    if secrets.is_empty() {
        return;
    }
    let scrub = |s: &mut String| *s = crate::redact::scrub(s, &secrets);
    for f in findings.iter_mut() {
        scrub(&mut f.message);
        scrub(&mut f.label);
        if let Some(h) = &mut f.help {
            scrub(h);
        }
        for r in &mut f.related {
            scrub(&mut r.message);
        }
    }
    for u in &mut report.unparsed {
        scrub(&mut u.reason);
    }
}

/// Test hook (debug builds only): `PORTAUDIT_TEST_PANIC=<suffix>` makes the evaluation of every
/// file whose display name ends with `<suffix>` panic, so tests can prove a panic stays isolated
/// to its file (see docs/hardening.md). Release builds ignore the variable.
fn injected_panic(name: &str) {
    if cfg!(debug_assertions) {
        if let Some(suffix) = std::env::var_os("PORTAUDIT_TEST_PANIC") {
            if !suffix.is_empty() && name.ends_with(&*suffix.to_string_lossy()) {
                panic!("PORTAUDIT_TEST_PANIC");
            }
        }
    }
}

/// The first line over the line-length limit, for line-oriented exports. JSON and XML exports
/// (first character `{`, `[` or `<`) are exempt: they are often minified to one line, and their
/// parsers bound nesting instead.
fn overlong_line(source: &SourceFile, max: usize) -> Option<(usize, usize)> {
    let first = source.text.trim_start().chars().next();
    if matches!(first, Some('{' | '[' | '<')) {
        return None;
    }
    (1..=source.line_count()).find_map(|line| {
        let r = source.line_range(line);
        (r.len() > max).then_some((line, r.len()))
    })
}

/// Keep only the lines of `source` that reporters will read: around findings (with the labels a
/// snippet draws together in one piece), evidence and lines not understood.
fn compact(
    source: &mut SourceFile,
    report: &FileReport,
    findings: &[Finding],
    results: &[ResultRow],
    keep: Keep,
    secrets: Option<&[(usize, usize)]>,
) {
    let pad = if keep == Keep::Snippets { 2 } else { 0 };
    let lines = |s: Span| (source.line_index(s.start), source.line_index(s.end));
    let mut ranges = Vec::new();
    for f in findings.iter().filter(|f| f.span.file == source.id) {
        let related = f
            .related
            .iter()
            .map(|r| r.span)
            .filter(|s| s.file == source.id);
        if keep == Keep::Snippets {
            // The snippet: the primary span and the labels drawn with it, with context lines;
            // labels drawn apart need only their own lines (for their locations).
            let (near, far): (Vec<Span>, Vec<Span>) =
                related.partition(|&s| crate::report::drawn_together(source, f.span, s));
            let (a, b) = near.into_iter().fold(lines(f.span), |(a, b), s| {
                let (x, y) = lines(s);
                (a.min(x), b.max(y))
            });
            ranges.push((a.saturating_sub(pad), b + pad));
            ranges.extend(far.into_iter().map(lines));
        } else {
            ranges.extend(std::iter::once(f.span).chain(related).map(lines));
        }
    }
    let here = |s: &Span| s.file == source.id;
    ranges.extend(
        report
            .unparsed
            .iter()
            .map(|u| u.span)
            .filter(here)
            .map(lines),
    );
    ranges.extend(
        results
            .iter()
            .filter_map(|r| r.evidence)
            .filter(here)
            .map(lines),
    );
    source.compact(&mut ranges, secrets);
}

/// Recognise, parse and evaluate one decoded file against the packs (no panic guard: [`run`]
/// wraps it in one). Public for the fuzz targets, which call it on arbitrary bytes.
pub fn evaluate_file(
    source: &SourceFile,
    packs: &[Pack],
    cfg: &ProjectConfig,
    limits: &formats::Limits,
) -> (FileReport, Vec<Finding>, Vec<ResultRow>) {
    injected_panic(&source.name);
    let format = formats::detect(source);
    if format == Format::Unknown {
        let report = FileReport {
            file: source.id,
            name: source.name.clone(),
            format,
            rules: 0,
            unparsed: Vec::new(),
            skipped: Some("not a recognised export".into()),
            incomplete: false,
            findings: 0,
            active: 0,
        };
        return (report, Vec::new(), Vec::new());
    }
    if let Some((line, len)) = overlong_line(source, limits.max_line_len) {
        let span = source.line_span(line);
        let report = FileReport {
            file: source.id,
            name: source.name.clone(),
            format,
            rules: 0,
            unparsed: Vec::new(),
            skipped: None,
            incomplete: true,
            findings: 0,
            active: 0,
        };
        let msg = format!(
            "{}:{line}: line {line} is {len} bytes, over the {}-byte limit (--max-line-length, limits: max-line-length in portaudit.yaml); the file was not evaluated",
            source.name, limits.max_line_len
        );
        return (
            report,
            vec![input_error(
                Span::new(source.id, span.start, span.start),
                msg,
            )],
            Vec::new(),
        );
    }
    let config = formats::parse(source, format, limits);
    let mut findings: Vec<Finding> = config
        .errors
        .iter()
        .map(|e| input_error(e.span, format!("{}: {}", source.name, e.message)))
        .collect();
    let mut results = Vec::new();
    let user_endpoints = cfg.endpoints_for(&source.name);
    let only = cfg.packs_for(&source.name);
    let index = index::FilterIndex::new(&config.filter);
    // The packs this file is checked against, with their roles on it.
    let selected: Vec<(&Pack, BTreeMap<String, Endpoint>)> = packs
        .iter()
        .filter(|p| only.is_none_or(|ids| ids.contains(&p.id)))
        .map(|pack| (pack, pack_endpoints(pack, &user_endpoints)))
        .collect();
    let contexts: Vec<Ctx> = selected
        .iter()
        .map(|(pack, endpoints)| Ctx {
            config: &config,
            file: source,
            endpoints,
            roles: &pack.roles,
            max_depth: limits.max_reference_depth,
            index: Some(&index),
        })
        .collect();
    // (position of the pack in `selected`, requirement), in pack and requirement order.
    let jobs: Vec<(usize, &Requirement)> = selected
        .iter()
        .enumerate()
        .flat_map(|(k, (pack, _))| pack.requirements.iter().map(move |req| (k, req)))
        .filter(|(_, req)| {
            !req.optional
                || req
                    .component
                    .as_ref()
                    .is_some_and(|c| cfg.components.contains(c))
        })
        .collect();
    let evaluate = |&(k, req): &(usize, &Requirement)| checks::evaluate(req, &contexts[k]);
    // A fleet keeps every thread busy with a file each; a single large configuration would
    // leave all but one idle, so its requirements share the threads (collected in order).
    let outcomes: Vec<Outcome> = if config.rule_count() >= PARALLEL_RULES {
        jobs.par_iter().map(evaluate).collect()
    } else {
        jobs.iter().map(evaluate).collect()
    };
    for ((k, req), outcome) in jobs.into_iter().zip(outcomes) {
        if outcome.status == Status::NotApplicable {
            continue;
        }
        results.push(ResultRow {
            file: source.id,
            pack: selected[k].0.id.clone(),
            requirement: req.id.clone(),
            status: outcome.status,
            evidence: outcome.evidence,
        });
        findings.extend(outcome.findings);
    }
    let report = FileReport {
        file: source.id,
        name: source.name.clone(),
        format: config.format,
        rules: config.rule_count(),
        unparsed: config.unparsed.clone(),
        skipped: None,
        incomplete: !config.errors.is_empty(),
        findings: 0,
        active: 0,
    };
    (report, findings, results)
}

/// Roles for a pack on one device: the user's mappings, then the pack's vendor-owned ranges.
pub fn pack_endpoints(
    pack: &Pack,
    user: &BTreeMap<String, Endpoint>,
) -> BTreeMap<String, Endpoint> {
    let mut out = BTreeMap::new();
    for (name, role) in &pack.roles {
        if let Some(ep) = user.get(name) {
            out.insert(name.clone(), ep.clone());
        } else if !role.addresses.is_empty() {
            let addrs = role
                .addresses
                .iter()
                .filter_map(|a| parse_net(a))
                .fold(crate::sets::AddrSet::empty(), |acc, n| acc.union(&n));
            out.insert(
                name.clone(),
                Endpoint {
                    addresses: Some(addrs),
                    zones: None,
                },
            );
        }
    }
    for (name, ep) in user {
        out.entry(name.clone()).or_insert_with(|| ep.clone());
    }
    out
}

/// Mark the waived findings of one file, counting per waiver how many it matched (expired
/// waivers match nothing; see [`waiver_notices`]).
fn waive(
    cfg: &ProjectConfig,
    store: &FileStore,
    findings: &mut [Finding],
    today: &str,
    matched: &mut [usize],
) {
    for (w, matched) in cfg.waivers.iter().zip(matched) {
        if w.expires.as_str() < today {
            continue;
        }
        for f in findings
            .iter_mut()
            .filter(|f| f.rule == w.rule && f.waived.is_none())
        {
            let name = &store.get(f.span.file).name;
            if w.files.as_ref().is_some_and(|g| !g.is_match(name)) {
                continue;
            }
            if w.target
                .as_ref()
                .is_some_and(|t| !f.message.contains(t.as_str()))
            {
                continue;
            }
            if w.line
                .is_some_and(|l| crate::report::location(store, f.span).line != l)
            {
                continue;
            }
            f.waived = Some(format!(
                "{} (owner {}, until {})",
                w.reason, w.owner, w.expires
            ));
            *matched += 1;
        }
    }
}

/// Expired waivers, and waivers that matched no finding of the run (`matched`: findings each
/// waiver matched, in configuration order).
fn waiver_notices(cfg: &ProjectConfig, today: &str, matched: &[usize]) -> Vec<Notice> {
    cfg.waivers
        .iter()
        .zip(matched)
        .filter_map(|(w, &matched)| {
            if w.expires.as_str() < today {
                Some(Notice {
                    span: w.span,
                    message: format!(
                        "waiver for {} (owner {}) expired on {}: it no longer applies",
                        w.rule, w.owner, w.expires
                    ),
                })
            } else if matched == 0 {
                Some(Notice {
                    span: w.span,
                    message: format!(
                        "waiver for {} matches no finding: remove it or fix its files/target/line",
                        w.rule
                    ),
                })
            } else {
                None
            }
        })
        .collect()
}

/// Fingerprints from a baseline file (`{"fingerprints": [...]}`) or a JSON report
/// (`{"findings": [{"fingerprint": ...}]}`).
fn read_baseline(path: &Path) -> Result<std::collections::BTreeSet<String>, SetupError> {
    let err = |m: String| SetupError {
        span: None,
        message: m,
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| err(format!("cannot read baseline {}: {e}", path.display())))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| err(format!("baseline {} is not JSON: {e}", path.display())))?;
    let list = if let Some(a) = v.get("fingerprints").and_then(|a| a.as_array()) {
        a.iter()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect()
    } else if let Some(a) = v.get("findings").and_then(|a| a.as_array()) {
        a.iter()
            .filter_map(|f| {
                f.get("fingerprint")
                    .and_then(|x| x.as_str())
                    .map(str::to_owned)
            })
            .collect()
    } else {
        return Err(err(format!(
            "baseline {} has neither `fingerprints` nor `findings`",
            path.display()
        )));
    };
    Ok(list)
}

/// The baseline file for a run: the fingerprints of its (non-waived) findings.
pub fn baseline_json(run: &Run) -> String {
    let fps: Vec<&str> = run
        .findings
        .iter()
        .filter(|f| in_baseline(f))
        .map(|f| f.fingerprint.as_str())
        .collect();
    baseline_of(&fps)
}

/// Does a baseline record this finding (not waived, not an input error)?
pub fn in_baseline(f: &Finding) -> bool {
    f.waived.is_none() && f.category != crate::pack::Category::InputError
}

/// The baseline file of these fingerprints, in report order.
pub fn baseline_of(fingerprints: &[&str]) -> String {
    let mut s = serde_json::to_string_pretty(&serde_json::json!({
        "portaudit-baseline": 1,
        "tool-version": env!("CARGO_PKG_VERSION"),
        "fingerprints": fingerprints,
    }))
    .unwrap_or_default();
    s.push('\n');
    s
}
