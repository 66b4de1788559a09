//! The `portaudit` command: arguments, exit codes and the choice of reporter. All the work is in
//! the library.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use portaudit::engine::{self, Options};
use portaudit::pack::Severity;
use portaudit::report;
use portaudit::source::{display_name, FileStore};

/// mimalloc instead of the system allocator: the engine splits and drops many small match
/// spaces, and glibc's malloc/free were a quarter of the run time. Its 2.x series (the `v2`
/// feature): the 3.x default doubled the fleet's peak memory (docs/performance.md).
#[global_allocator]
static GLOBAL: MiMalloc = MiMalloc;

/// The `mimalloc` crate's allocator, except that a request whose alignment every block of its
/// size already has goes to plain `mi_malloc`/`mi_realloc`. The crate sends every request
/// through mimalloc's aligned entry points (about 50 instructions an allocation here, against
/// about 20, and over-allocation when no block of the size happens to be free), which its
/// maintainers know of (purpleprotocol/mimalloc_rust#170). The test is mimalloc's own
/// `mi_malloc_is_naturally_aligned` and std's `System`: alignment at most `MI_MAX_ALIGN_SIZE`
/// (16 on 64-bit targets) and at most the size.
struct MiMalloc;

mod mi {
    use libmimalloc_sys as ffi;
    use std::alloc::Layout;
    use std::ffi::c_void;

    /// `MI_MAX_ALIGN_SIZE`: mimalloc's blocks of at least this size are aligned to it, smaller
    /// ones to their size rounded up to a multiple of 8.
    const MAX_ALIGN: usize = 16;

    fn natural(align: usize, size: usize) -> bool {
        align <= MAX_ALIGN && align <= size
    }

    unsafe impl std::alloc::GlobalAlloc for super::MiMalloc {
        #[inline]
        unsafe fn alloc(&self, l: Layout) -> *mut u8 {
            // SAFETY: mimalloc's allocation functions accept any size; `natural` guarantees
            // the alignment `mi_malloc` gives.
            unsafe {
                if natural(l.align(), l.size()) {
                    ffi::mi_malloc(l.size()) as *mut u8
                } else {
                    ffi::mi_malloc_aligned(l.size(), l.align()) as *mut u8
                }
            }
        }

        #[inline]
        unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
            // SAFETY: as `alloc`.
            unsafe {
                if natural(l.align(), l.size()) {
                    ffi::mi_zalloc(l.size()) as *mut u8
                } else {
                    ffi::mi_zalloc_aligned(l.size(), l.align()) as *mut u8
                }
            }
        }

        #[inline]
        unsafe fn dealloc(&self, ptr: *mut u8, _l: Layout) {
            // SAFETY: `ptr` came from this allocator (the `GlobalAlloc` contract); mimalloc
            // frees aligned and plain blocks alike.
            unsafe { ffi::mi_free(ptr as *mut c_void) }
        }

        #[inline]
        unsafe fn realloc(&self, ptr: *mut u8, l: Layout, new_size: usize) -> *mut u8 {
            // SAFETY: `ptr` came from this allocator with layout `l`; the new block needs the
            // same alignment, which `mi_realloc` gives when it is natural for the new size.
            unsafe {
                if natural(l.align(), new_size) {
                    ffi::mi_realloc(ptr as *mut c_void, new_size) as *mut u8
                } else {
                    ffi::mi_realloc_aligned(ptr as *mut c_void, new_size, l.align()) as *mut u8
                }
            }
        }
    }
}

/// Exit code: nothing at or above --fail-on.
const OK: u8 = 0;
/// Exit code: findings at or above --fail-on.
const FINDINGS: u8 = 1;
/// Exit code: usage or configuration error, or an input that could not be fully evaluated.
const ERROR: u8 = 2;

#[derive(Parser)]
#[command(name = "portaudit", version, about = "Compliance-as-code for contact-centre firewalls and settings", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check exports (files or folders) against policy packs.
    Check(CheckArgs),
    /// List packs and requirements, or validate custom packs.
    Policies(PoliciesArgs),
    /// Show which rule decides packets: one given by flags, or JSON lines from --probes.
    Trace(TraceArgs),
    /// Write a commented portaudit.yaml for DIR from the exports it holds.
    Init {
        /// The folder of exports (default: the working directory).
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Overwrite an existing portaudit.yaml.
        #[arg(long)]
        force: bool,
    },
    /// Explain a requirement: its text, sources, check, and a passing and a failing example.
    Explain(ExplainArgs),
    /// Run pack unit tests (examples under `tests/<pack-id>/<REQUIREMENT>/` next to the packs).
    Test(TestArgs),
    /// Write one Markdown page per pack (built-in and --policy packs) into a folder.
    Docs(DocsArgs),
    /// Merge the JSON or SARIF reports of `check --shard K/N` runs into the unsharded report.
    Merge(MergeArgs),
}

#[derive(Args)]
struct DocsArgs {
    /// Custom pack files or folders to document too.
    #[arg(long = "policy", value_name = "PATH")]
    policies: Vec<PathBuf>,
    /// Output folder.
    #[arg(long, value_name = "DIR", default_value = "docs/packs")]
    out: PathBuf,
    /// Only these packs (default: all).
    #[arg(long = "pack", value_name = "ID")]
    packs: Vec<String>,
}

#[derive(Args)]
struct ExplainArgs {
    /// Requirement id (case-insensitive), e.g. PCI-8.3.4-ATTEMPTS.
    id: String,
    /// Custom pack files or folders to search too.
    #[arg(long = "policy", value_name = "PATH")]
    policies: Vec<PathBuf>,
    /// Folder of built-in pack tests (default: policies/tests in the working directory or the source tree).
    #[arg(long, value_name = "DIR")]
    tests: Option<PathBuf>,
}

#[derive(Args)]
struct TestArgs {
    /// Pack files or folders of packs (default: policies).
    paths: Vec<PathBuf>,
    /// Requirements without examples fail the run.
    #[arg(long)]
    strict: bool,
    /// Only print failures and the summary.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Args)]
struct TraceArgs {
    /// The export to trace through.
    file: PathBuf,
    /// JSON-lines file of packets ({"hook","proto","src","dst","sport","dport","iif","oif"}); `-` for stdin.
    #[arg(long, conflicts_with_all = ["proto", "src", "dst"])]
    probes: Option<PathBuf>,
    /// Entry point: input (to the device), forward (through it) or output (from it).
    #[arg(long, default_value = "forward")]
    hook: String,
    /// Protocol name or number.
    #[arg(long, required_unless_present = "probes")]
    proto: Option<String>,
    #[arg(long, required_unless_present = "probes")]
    src: Option<std::net::IpAddr>,
    #[arg(long, required_unless_present = "probes")]
    dst: Option<std::net::IpAddr>,
    #[arg(long)]
    sport: Option<u16>,
    #[arg(long)]
    dport: Option<u16>,
    /// Ingress interface or zone.
    #[arg(long = "in")]
    iif: Option<String>,
    /// Egress interface or zone.
    #[arg(long = "out")]
    oif: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
enum OutFormat {
    Text,
    Json,
    Sarif,
    /// The text report, then GitHub Actions annotations of the most severe findings.
    Github,
    /// Markdown summary with the compliance matrix (step summary, PR comment).
    Markdown,
    /// JUnit XML for other CI systems.
    Junit,
    /// A self-contained HTML report for auditors.
    Html,
}

#[derive(Clone, Copy, ValueEnum)]
enum SeverityArg {
    Critical,
    High,
    Medium,
    Low,
    Info,
}

impl From<SeverityArg> for Severity {
    fn from(s: SeverityArg) -> Self {
        match s {
            SeverityArg::Critical => Severity::Critical,
            SeverityArg::High => Severity::High,
            SeverityArg::Medium => Severity::Medium,
            SeverityArg::Low => Severity::Low,
            SeverityArg::Info => Severity::Info,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Args)]
struct CheckArgs {
    /// Files and folders to check (folders are walked; hidden and VCS folders are skipped).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Pack to run (repeatable). Default: from portaudit.yaml, else voip-hygiene, pci-dss-4.0.1 and iso27001-2022.
    #[arg(long = "pack", value_name = "ID")]
    packs: Vec<String>,
    /// Custom pack file or folder to add (repeatable).
    #[arg(long = "policy", value_name = "PATH")]
    policies: Vec<PathBuf>,
    /// Configuration file (default: portaudit.yaml in the first folder checked, then in the working directory).
    #[arg(long, value_name = "FILE", conflicts_with = "no_config")]
    config: Option<PathBuf>,
    /// Do not read any portaudit.yaml.
    #[arg(long)]
    no_config: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: OutFormat,
    /// Write the report to FILE (atomically) instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Also write a report in FORMAT to FILE (atomically), from the same evaluation (repeatable):
    /// `--report sarif=portaudit.sarif --report markdown=summary.md` checks the inputs once for
    /// all three reports. Formats as for --format.
    #[arg(long = "report", value_name = "FORMAT=FILE", value_parser = parse_report)]
    reports: Vec<(OutFormat, PathBuf)>,
    /// Most results in a SARIF report: the most severe are kept and the log says how many were
    /// left out (GitHub code scanning stores at most 5000 results of a run). 0: no limit.
    #[arg(long, value_name = "N", default_value_t = report::sarif::GITHUB_MAX_RESULTS)]
    sarif_max_results: usize,
    /// Lowest severity that makes the run fail (exit 1). Default: from portaudit.yaml, else low.
    #[arg(long, value_enum)]
    fail_on: Option<SeverityArg>,
    /// Worker threads (default: one per core). Output is identical whatever the number.
    #[arg(long, short = 'j')]
    threads: Option<usize>,
    /// List the lines not understood in each file.
    #[arg(long, short)]
    verbose: bool,
    /// Colours in text output.
    #[arg(long, value_enum, default_value = "auto")]
    color: Color,
    /// Report only findings that are not in this baseline (from --write-baseline, or a JSON report).
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Write the fingerprints of this run's findings to FILE, as a baseline for later runs.
    #[arg(long, value_name = "FILE")]
    write_baseline: Option<PathBuf>,
    /// Judge waiver expiry against this date (YYYY-MM-DD) instead of today (reproducible runs).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    today: Option<String>,
    /// Largest input file read, in bytes [default: 268435456, or limits: in portaudit.yaml].
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(1..))]
    max_file_size: Option<u64>,
    /// Longest line of a line-oriented export, in bytes [default: 65536].
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(1..))]
    max_line_length: Option<u64>,
    /// Deepest nesting of JSON, XML, YAML and curly-brace documents [default: 64].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    max_depth: Option<u64>,
    /// Deepest chain of object-group / address-group / chain references [default: 32].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    max_reference_depth: Option<u64>,
    /// YAML budget: parser events per document (custom packs, settings dumps) [default: 2000000].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    max_yaml_events: Option<u64>,
    /// YAML budget: alias expansions per document [default: 1000].
    #[arg(long, value_name = "N")]
    max_yaml_aliases: Option<u64>,
    /// Check only shard K of N (1-based), split by a hash of each file's path below the folder
    /// checked; `portaudit merge` joins the JSON or SARIF reports of all N shards.
    #[arg(long, value_name = "K/N", value_parser = engine::Shard::parse)]
    shard: Option<engine::Shard>,
}

impl CheckArgs {
    fn limits(&self) -> portaudit::config::LimitSettings {
        let n = |v: Option<u64>| v.map(|v| usize::try_from(v).unwrap_or(usize::MAX));
        portaudit::config::LimitSettings {
            max_file_size: self.max_file_size,
            max_line_length: n(self.max_line_length),
            max_depth: n(self.max_depth),
            max_reference_depth: n(self.max_reference_depth),
            max_yaml_events: n(self.max_yaml_events),
            max_yaml_aliases: n(self.max_yaml_aliases),
        }
    }
}

#[derive(Args)]
struct MergeArgs {
    /// The JSON or SARIF reports of every shard of one `check --shard K/N` run (any order).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Output format; it must be that of the inputs (default: theirs).
    #[arg(long, value_enum)]
    format: Option<MergeFormat>,
    /// Write the merged report to FILE (atomically) instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Lowest severity that makes the merge fail (exit 1). Default: the shards' fail-on from
    /// portaudit.yaml, else low.
    #[arg(long, value_enum)]
    fail_on: Option<SeverityArg>,
}

#[derive(Clone, Copy, ValueEnum)]
enum MergeFormat {
    Json,
    Sarif,
}

#[derive(Args)]
struct PoliciesArgs {
    #[command(subcommand)]
    command: Option<PoliciesCommand>,
    /// Listing format.
    #[arg(long, value_enum, default_value = "text")]
    format: ListFormat,
    /// Custom pack file or folder to include (repeatable).
    #[arg(long = "policy", value_name = "PATH")]
    policies: Vec<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum ListFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum PoliciesCommand {
    /// Validate custom pack files; reports every error with its line and column.
    Validate {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

fn main() -> ExitCode {
    // A panic inside one file's evaluation is caught and reported as an input error; keep the
    // default hook from printing it as if the program had crashed.
    std::panic::set_hook(Box::new(|_| {}));
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Check(args) => check(args),
        Command::Policies(args) => policies(args),
        Command::Trace(args) => trace(args),
        Command::Init { dir, force } => init(&dir, force),
        Command::Explain(args) => explain(args),
        Command::Test(args) => pack_test(args),
        Command::Docs(args) => docs(args),
        Command::Merge(args) => merge(args),
    };
    ExitCode::from(code)
}

/// `--report FORMAT=FILE`.
fn parse_report(s: &str) -> Result<(OutFormat, PathBuf), String> {
    let (name, file) = s
        .split_once('=')
        .ok_or_else(|| format!("expected FORMAT=FILE (e.g. sarif=portaudit.sarif), got `{s}`"))?;
    let format = OutFormat::from_str(name, false).map_err(|_| {
        let all: Vec<String> = OutFormat::value_variants()
            .iter()
            .filter_map(|v| v.to_possible_value().map(|p| p.get_name().to_owned()))
            .collect();
        format!("unknown format `{name}` (one of {})", all.join(", "))
    })?;
    if file.is_empty() {
        return Err(format!("no file after `{name}=`"));
    }
    Ok((format, PathBuf::from(file)))
}

fn out_format(f: OutFormat) -> report::Format {
    match f {
        OutFormat::Text => report::Format::Text,
        OutFormat::Json => report::Format::Json,
        OutFormat::Sarif => report::Format::Sarif,
        OutFormat::Github => report::Format::Github,
        OutFormat::Markdown => report::Format::Markdown,
        OutFormat::Junit => report::Format::Junit,
        OutFormat::Html => report::Format::Html,
    }
}

fn use_color(c: Color, to_terminal: bool) -> bool {
    match c {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => to_terminal && std::env::var_os("NO_COLOR").is_none(),
    }
}

fn width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(100)
}

fn check(args: CheckArgs) -> u8 {
    if let Some(n) = args.threads {
        if let Err(e) = rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build_global()
        {
            eprintln!("error: cannot set up {n} threads: {e}");
            return ERROR;
        }
    }
    let format = out_format(args.format);
    let extra: Vec<(report::Format, &Path)> = args
        .reports
        .iter()
        .map(|(f, path)| (out_format(*f), path.as_path()))
        .collect();
    // Two reports written to one file would leave only the last (`a` and `./a` are one file).
    let mut targets: Vec<(PathBuf, &Path)> = extra
        .iter()
        .map(|(_, p)| *p)
        .chain(args.output.as_deref())
        .chain(args.write_baseline.as_deref())
        .map(|p| {
            (
                std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf()),
                p,
            )
        })
        .collect();
    targets.sort();
    if let Some(w) = targets.windows(2).find(|w| w[0].0 == w[1].0) {
        eprintln!(
            "error: {} is the target of two reports (--output, --report, --write-baseline)",
            w[1].1.display()
        );
        return ERROR;
    }
    let mut opts = Options {
        inputs: args.paths.clone(),
        packs: args.packs.clone(),
        policies: args.policies.clone(),
        config: args.config.clone(),
        no_config: args.no_config,
        limits: args.limits(),
        threads: args.threads.map(|n| n.max(1)),
        today: args.today.clone(),
        baseline: args.baseline.clone(),
        progress: None,
        // The most any report needs (snippets are kept for all when one shows them).
        keep: std::iter::once(format)
            .chain(extra.iter().map(|(f, _)| *f))
            .map(report::keep_for)
            .min()
            .unwrap_or_default(),
        shard: args.shard,
        render: None,
    };
    let to_terminal = args.output.is_none() && std::io::stdout().is_terminal();
    let ropts = report::Options {
        color: use_color(args.color, to_terminal),
        width: width(),
        verbose: args.verbose,
        sarif_max_results: args.sarif_max_results,
    };
    // Every report: the main one, then those of --report (colours only when asked for).
    let fopts = report::Options {
        color: use_color(args.color, false),
        ..ropts.clone()
    };
    let reports: Vec<(report::Format, Option<&Path>, &report::Options)> =
        std::iter::once((format, args.output.as_deref(), &ropts))
            .chain(extra.iter().map(|(f, p)| (*f, Some(*p), &fopts)))
            .collect();
    // The reports (and the baseline) are written file by file as the check runs and each file is
    // released once written: memory does not grow with the fleet. A report on the terminal shows
    // the progress itself (a bar on stderr would be drawn over it).
    if !to_terminal {
        opts.progress = progress_bar();
    }
    // The workers render the text report's snippets, file by file. The first report with a text
    // part decides what they render; a report with other options renders its own.
    opts.render = reports.iter().find_map(|(f, _, o)| report::per_file(*f, o));
    let checked = engine::check(&opts, engine::Hold::Nothing, |files| {
        emit_streamed(files, &reports, args.write_baseline.as_deref())
    });
    let (written, run) = match checked {
        Ok(r) => r,
        Err((store, errors)) => {
            let eopts = report::Options {
                color: use_color(args.color, std::io::stderr().is_terminal()),
                ..ropts.clone()
            };
            eprint!(
                "{}",
                report::text::render_setup_errors(&store, &errors, &eopts)
            );
            return ERROR;
        }
    };
    if let Err(e) = written {
        eprintln!("error: {e}");
        return ERROR;
    }
    // A SARIF report that left results out under --sarif-max-results says so, and so does the run.
    let sarif_targets = reports
        .iter()
        .filter(|(f, _, _)| *f == report::Format::Sarif);
    for (_, path, _) in sarif_targets {
        if let Some(l) = report::sarif::LeftOut::of(&run.totals, args.sarif_max_results) {
            let place = path.map_or("standard output".to_owned(), |p| p.display().to_string());
            eprintln!("warning: SARIF report ({place}): {}", l.message());
        }
    }
    let fail_on = args
        .fail_on
        .map(Severity::from)
        .or(run.config.fail_on)
        .unwrap_or(Severity::Low);
    if run.incomplete() {
        ERROR
    } else if run.failing(fail_on) > 0 {
        FINDINGS
    } else {
        OK
    }
}

/// Write to standard output, or atomically to a file (temporary file, then rename), so a failed
/// run never leaves a half-written report for CI to upload.
fn emit(text: &str, output: Option<&Path>) -> std::io::Result<()> {
    emit_with(output, |w| w.write_all(text.as_bytes()))
}

/// [`emit`] for a report written piece by piece.
fn emit_with(
    output: Option<&Path>,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut dest = Dest::open(output)?;
    match write(&mut dest) {
        Ok(()) => dest.commit(),
        Err(e) => {
            dest.abandon();
            Err(e)
        }
    }
}

/// Where a report goes: standard output, or a temporary file beside the target that is renamed
/// over it once the report is complete (so a failed run never leaves a half-written report for CI
/// to upload). Errors name the file.
enum Dest {
    /// Standard output; `closed` once a reader went away (`| head`): the rest is discarded, which
    /// is not an error.
    Stdout {
        out: std::io::StdoutLock<'static>,
        closed: bool,
    },
    File {
        file: std::fs::File,
        tmp: PathBuf,
        path: PathBuf,
    },
}

impl Dest {
    fn open(output: Option<&Path>) -> std::io::Result<Dest> {
        let Some(path) = output else {
            return Ok(Dest::Stdout {
                out: std::io::stdout().lock(),
                closed: false,
            });
        };
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = dir.join(format!(".{name}.portaudit-{}.tmp", std::process::id()));
        match std::fs::File::create(&tmp) {
            Ok(file) => Ok(Dest::File {
                file,
                tmp,
                path: path.to_path_buf(),
            }),
            Err(e) => Err(cannot_write(path, e)),
        }
    }

    /// The report is complete: flush, or sync and rename over the target.
    fn commit(self) -> std::io::Result<()> {
        match self {
            Dest::Stdout { mut out, closed } => match out.flush() {
                Err(e) if closed || e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                other => other,
            },
            Dest::File { file, tmp, path } => {
                let res = file.sync_all().and_then(|_| std::fs::rename(&tmp, &path));
                if let Err(e) = res {
                    let _ = std::fs::remove_file(&tmp);
                    return Err(cannot_write(&path, e));
                }
                Ok(())
            }
        }
    }

    /// The report is not complete: remove the temporary file.
    fn abandon(self) {
        if let Dest::File { file, tmp, .. } = self {
            drop(file);
            let _ = std::fs::remove_file(&tmp);
        }
    }
}

fn cannot_write(path: &Path, e: std::io::Error) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("cannot write {}: {e}", path.display()))
}

impl Write for Dest {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Dest::Stdout { closed: true, .. } => Ok(buf.len()),
            Dest::Stdout { out, closed } => match out.write(buf) {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                    *closed = true;
                    Ok(buf.len())
                }
                other => other,
            },
            Dest::File { file, path, .. } => file.write(buf).map_err(|e| cannot_write(path, e)),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Dest::Stdout { closed: true, .. } => Ok(()),
            Dest::Stdout { out, closed } => match out.flush() {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                    *closed = true;
                    Ok(())
                }
                other => other,
            },
            Dest::File { file, path, .. } => file.flush().map_err(|e| cannot_write(path, e)),
        }
    }
}

/// Open a destination for each of `paths`, let `write` fill them, then commit them all, or
/// abandon them all if anything failed: every report is renamed into place only when all are
/// complete.
fn emit_all(
    paths: &[Option<&Path>],
    write: impl FnOnce(&mut [Dest]) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut dests = Vec::new();
    for path in paths {
        match Dest::open(*path) {
            Ok(d) => dests.push(d),
            Err(e) => {
                dests.into_iter().for_each(Dest::abandon);
                return Err(e);
            }
        }
    }
    match write(&mut dests) {
        Ok(()) => dests.into_iter().try_for_each(Dest::commit),
        Err(e) => {
            dests.into_iter().for_each(Dest::abandon);
            Err(e)
        }
    }
}

/// Write several reports (and the baseline, if asked for) as the files of one check come, each to
/// its destination.
fn emit_streamed(
    files: &mut engine::Checked<'_>,
    reports: &[(report::Format, Option<&Path>, &report::Options)],
    baseline: Option<&Path>,
) -> std::io::Result<()> {
    let paths: Vec<Option<&Path>> = reports
        .iter()
        .map(|r| r.1)
        .chain(baseline.map(Some))
        .collect();
    emit_all(&paths, |dests| {
        let (dests, baseline) = dests.split_at_mut(reports.len());
        let mut sinks = Vec::new();
        for ((format, _, opts), dest) in reports.iter().zip(dests.iter_mut()) {
            sinks.push(report::sink(files.run(), *format, opts, dest)?);
        }
        for dest in baseline {
            sinks.push(Box::new(report::BaselineSink::new(dest)));
        }
        report::drain_all(files, &mut sinks)
    })
}

fn policies(args: PoliciesArgs) -> u8 {
    let eopts = report::Options {
        color: std::io::stderr().is_terminal(),
        width: width(),
        ..report::Options::default()
    };
    if let Some(PoliciesCommand::Validate { files }) = args.command {
        let mut store = FileStore::new();
        let mut bad = false;
        for path in files {
            let bytes = match std::fs::read(&path) {
                Ok(b) => b,
                Err(e) => {
                    eprintln!("error: cannot read {}: {e}", path.display());
                    bad = true;
                    continue;
                }
            };
            let id = store.add_bytes(display_name(&path), Some(path.clone()), &bytes);
            match portaudit::pack::load_pack(store.get(id), false, &Default::default()) {
                Ok(p) => println!(
                    "ok: {} (pack {} {}, {} requirements)",
                    store.get(id).name,
                    p.id,
                    p.version,
                    p.requirements.len()
                ),
                Err(errs) => {
                    bad = true;
                    let errs: Vec<engine::SetupError> = errs
                        .into_iter()
                        .map(|e| engine::SetupError {
                            span: Some(e.span),
                            message: e.message,
                        })
                        .collect();
                    eprint!(
                        "{}",
                        report::text::render_setup_errors(&store, &errs, &eopts)
                    );
                }
            }
        }
        return if bad { ERROR } else { OK };
    }
    let opts = Options {
        policies: args.policies,
        no_config: true,
        ..Default::default()
    };
    let mut store = FileStore::new();
    let mut all = Vec::new();
    // Every built-in pack, then the custom ones.
    let ids: Vec<String> = portaudit::pack::BUILTIN_IDS
        .iter()
        .map(|s| s.to_string())
        .collect();
    match engine::setup(&Options { packs: ids, ..opts }, &mut store) {
        Ok((_, packs)) => all.extend(packs),
        Err(errors) => {
            eprint!(
                "{}",
                report::text::render_setup_errors(&store, &errors, &eopts)
            );
            return ERROR;
        }
    }
    let text = match args.format {
        ListFormat::Text => report::policies::text(&all),
        ListFormat::Json => report::policies::json(&all),
    };
    match emit(&text, None) {
        Ok(()) => OK,
        Err(e) => {
            eprintln!("error: {e}");
            ERROR
        }
    }
}

fn trace(args: TraceArgs) -> u8 {
    use portaudit::engine::trace::{trace, Packet};
    use portaudit::model::Hook;
    let bytes = match std::fs::read(&args.file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", args.file.display());
            return ERROR;
        }
    };
    let mut store = FileStore::new();
    let id = store.add_bytes(display_name(&args.file), Some(args.file.clone()), &bytes);
    let file = store.get(id);
    let format = portaudit::formats::detect(file);
    if format == portaudit::model::Format::Unknown {
        eprintln!("error: {}: not a recognised export", file.name);
        return ERROR;
    }
    let limits = portaudit::formats::Limits::default();
    let config = portaudit::formats::parse(file, format, &limits);
    for e in &config.errors {
        let lc = file.line_col(e.span.start);
        eprintln!(
            "warning: {}:{}:{}: {}",
            file.name, lc.line, lc.column, e.message
        );
    }
    let packets: Vec<Packet> = match &args.probes {
        Some(path) => {
            let text = if path.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin())
            } else {
                std::fs::read_to_string(path)
            };
            let text = match text {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("error: cannot read probes: {e}");
                    return ERROR;
                }
            };
            let mut v = Vec::new();
            for (i, line) in text
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
            {
                match serde_json::from_str::<Packet>(line) {
                    Ok(p) => v.push(p),
                    Err(e) => {
                        eprintln!("error: probes line {}: {e}", i + 1);
                        return ERROR;
                    }
                }
            }
            v
        }
        None => {
            let hook = match args.hook.as_str() {
                "input" => Hook::Input,
                "forward" => Hook::Forward,
                "output" => Hook::Output,
                other => {
                    eprintln!("error: unknown hook `{other}` (input, forward, output)");
                    return ERROR;
                }
            };
            let proto = args
                .proto
                .as_deref()
                .and_then(portaudit::sets::proto::from_name);
            let (Some(proto), Some(src), Some(dst)) = (proto, args.src, args.dst) else {
                eprintln!("error: --proto, --src and --dst are required");
                return ERROR;
            };
            vec![Packet {
                hook,
                proto: proto as u8,
                src,
                dst,
                sport: args.sport,
                dport: args.dport,
                iif: args.iif.clone(),
                oif: args.oif.clone(),
            }]
        }
    };
    let mut out = String::new();
    for p in &packets {
        let verdicts = trace(&config, file, p, limits.max_reference_depth);
        if args.probes.is_some() {
            let line = serde_json::json!({ "packet": p, "verdicts": verdicts });
            out.push_str(&line.to_string());
            out.push('\n');
        } else if verdicts.is_empty() {
            out.push_str("no filter for this hook in the export\n");
        } else {
            for v in verdicts {
                out.push_str(&format!(
                    "{}{}: {} by {} (line {}){}\n",
                    args.hook,
                    v.when
                        .as_ref()
                        .map(|w| format!(", {w}"))
                        .unwrap_or_default(),
                    v.fate,
                    v.by,
                    v.line,
                    if v.uncertain {
                        " [uncertain: a condition on the path is not modelled]"
                    } else {
                        ""
                    }
                ));
            }
        }
    }
    match emit(&out, None) {
        Ok(()) => OK,
        Err(e) => {
            eprintln!("error: {e}");
            ERROR
        }
    }
}

fn parse_date(s: &str) -> Result<String, String> {
    if portaudit::config::valid_date(s) {
        Ok(s.to_owned())
    } else {
        Err(format!("`{s}` is not a date in YYYY-MM-DD form"))
    }
}

/// A progress bar on standard error, only when it is a terminal, and only once the run has taken
/// about a second (short runs stay quiet).
fn progress_bar() -> Option<engine::Progress> {
    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
    use std::sync::Arc;
    use std::time::{Duration, Instant};
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} files ({eta} left)") {
        bar.set_style(style);
    }
    let start = Instant::now();
    let shown = std::sync::atomic::AtomicBool::new(false);
    Some(engine::Progress(Arc::new(move |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
        if !shown.load(std::sync::atomic::Ordering::Relaxed)
            && start.elapsed() > Duration::from_secs(1)
            && done < total
        {
            shown.store(true, std::sync::atomic::Ordering::Relaxed);
            bar.set_draw_target(ProgressDrawTarget::stderr());
        }
        if done == total {
            bar.finish_and_clear();
        }
    })))
}

fn init(dir: &Path, force: bool) -> u8 {
    let target = dir.join(portaudit::config::CONFIG_FILE);
    if target.exists() && !force {
        eprintln!(
            "error: {} exists (use --force to overwrite)",
            target.display()
        );
        return ERROR;
    }
    match portaudit::init::template(dir) {
        Ok(text) => match emit(&text, Some(&target)) {
            Ok(()) => {
                eprintln!("wrote {}", target.display());
                OK
            }
            Err(e) => {
                eprintln!("error: {e}");
                ERROR
            }
        },
        Err(e) => {
            eprintln!("error: {e}");
            ERROR
        }
    }
}

fn pack_test(args: TestArgs) -> u8 {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from("policies")]
    } else {
        args.paths
    };
    let summary = portaudit::packtest::run(&paths);
    let mut text = summary.render();
    if args.quiet {
        text = text
            .lines()
            .filter(|l| !l.starts_with("ok "))
            .map(|l| format!("{l}\n"))
            .collect();
    }
    if let Err(e) = emit(&text, None) {
        eprintln!("error: {e}");
        return ERROR;
    }
    if summary.ok(args.strict) {
        OK
    } else {
        FINDINGS
    }
}

fn explain(args: ExplainArgs) -> u8 {
    let eopts = report::Options::default();
    let mut store = FileStore::new();
    let ids: Vec<String> = portaudit::pack::BUILTIN_IDS
        .iter()
        .map(|s| s.to_string())
        .collect();
    let opts = Options {
        packs: ids,
        policies: args.policies,
        no_config: true,
        ..Default::default()
    };
    let packs = match engine::setup(&opts, &mut store) {
        Ok((_, packs)) => packs,
        Err(errors) => {
            eprint!(
                "{}",
                report::text::render_setup_errors(&store, &errors, &eopts)
            );
            return ERROR;
        }
    };
    let Some((pack, req)) = portaudit::packdoc::find(&packs, &args.id) else {
        let close = portaudit::packdoc::suggestions(&packs, &args.id);
        eprintln!("error: no requirement `{}` in the packs", args.id);
        if !close.is_empty() {
            eprintln!("did you mean: {}", close.join(", "));
        }
        return ERROR;
    };
    // Examples: next to a custom pack's file, else the built-in packs' tests folder.
    let tests = if pack.builtin {
        args.tests.or_else(|| {
            [
                PathBuf::from("policies/tests"),
                PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/policies/tests")),
            ]
            .into_iter()
            .find(|p| p.is_dir())
        })
    } else {
        store
            .get(pack.span.file)
            .path
            .as_ref()
            .and_then(|p| p.parent())
            .map(|d| d.join(portaudit::packtest::TESTS_DIR))
    };
    let text = portaudit::packdoc::explain(pack, req, tests.as_deref());
    match emit(&text, None) {
        Ok(()) => OK,
        Err(e) => {
            eprintln!("error: {e}");
            ERROR
        }
    }
}

fn merge(args: MergeArgs) -> u8 {
    use portaudit::report::merge::{self, Kind};
    let mut inputs = Vec::new();
    for path in &args.files {
        match std::fs::read_to_string(path) {
            Ok(text) => inputs.push((display_name(path), text)),
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", path.display());
                return ERROR;
            }
        }
    }
    let want = args.format.map(|f| match f {
        MergeFormat::Json => Kind::Json,
        MergeFormat::Sarif => Kind::Sarif,
    });
    let merged = match merge::merge(&inputs, want) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e}");
            return ERROR;
        }
    };
    if let Err(e) = emit_with(args.output.as_deref(), |w| merged.write(w)) {
        eprintln!("error: {e}");
        return ERROR;
    }
    if let Some(l) = &merged.left_out {
        eprintln!("warning: merged SARIF report: {}", l.message());
    }
    let fail_on = args
        .fail_on
        .map(Severity::from)
        .or(merged.fail_on)
        .unwrap_or(Severity::Low);
    if merged.incomplete {
        ERROR
    } else if merged.failing(fail_on) > 0 {
        FINDINGS
    } else {
        OK
    }
}

fn docs(args: DocsArgs) -> u8 {
    let eopts = report::Options::default();
    let mut store = FileStore::new();
    let ids: Vec<String> = portaudit::pack::BUILTIN_IDS
        .iter()
        .map(|s| s.to_string())
        .collect();
    let opts = Options {
        packs: ids,
        policies: args.policies,
        no_config: true,
        ..Default::default()
    };
    let packs = match engine::setup(&opts, &mut store) {
        Ok((_, packs)) => packs,
        Err(errors) => {
            eprint!(
                "{}",
                report::text::render_setup_errors(&store, &errors, &eopts)
            );
            return ERROR;
        }
    };
    for id in &args.packs {
        if !packs.iter().any(|p| &p.id == id) {
            eprintln!("error: unknown pack `{id}`");
            return ERROR;
        }
    }
    if let Err(e) = std::fs::create_dir_all(&args.out) {
        eprintln!("error: cannot create {}: {e}", args.out.display());
        return ERROR;
    }
    for p in packs
        .iter()
        .filter(|p| args.packs.is_empty() || args.packs.contains(&p.id))
    {
        let path = args.out.join(portaudit::packdoc::page_name(p));
        if let Err(e) = std::fs::write(&path, portaudit::packdoc::pack_page(p)) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return ERROR;
        }
        // A closed pipe (`| head`) must not stop the writing of the remaining pages.
        let _ = writeln!(std::io::stdout(), "{}", path.display());
    }
    OK
}
