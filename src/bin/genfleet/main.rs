//! `genfleet`: write a synthetic fleet of firewall exports for benchmarks.
//!
//! Devices are spread round robin over every supported format (both syntaxes of Junos, PAN-OS
//! and nftables), each with the same number of rules: address objects and groups, SIP and RTP
//! rules, telnet and FTP, any-any rules, disabled rules, SIP helpers on and off. The output
//! depends only on the options (not on the thread count).
//!
//! ```text
//! genfleet --devices 600 --target-size 120 --out target/bench/fleet
//! ```

#[allow(dead_code)] // Parts of it serve only the tests and benchmarks.
mod gen;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use rayon::prelude::*;

#[derive(Parser, Debug)]
#[command(
    version,
    about = "Write a synthetic fleet of firewall exports for benchmarks"
)]
struct Args {
    /// Number of devices (spread round robin over the formats).
    #[arg(long, default_value_t = 36)]
    devices: usize,
    /// Rules per device (ignored with --target-size).
    #[arg(long, default_value_t = 200)]
    rules: usize,
    /// Choose the rules per device so that the fleet is about this many MB (10^6 bytes).
    #[arg(long)]
    target_size: Option<f64>,
    /// Output folder (created; existing files of the same names are overwritten).
    #[arg(long)]
    out: PathBuf,
    /// Seed of the generator.
    #[arg(long, default_value_t = 6)]
    seed: u64,
}

/// Rules per device for a fleet of about `target` bytes: sizes are affine in the rule count per
/// format, so two probes per format give the slope and the fixed part.
fn rules_for_size(seed: u64, devices: usize, target: f64) -> usize {
    let (lo, hi) = (100usize, 300usize);
    let (mut fixed, mut per_rule) = (0f64, 0f64);
    for i in 0..devices.min(gen::Kind::ALL.len()) {
        let a = gen::device(seed, i, lo).2.len() as f64;
        let b = gen::device(seed, i, hi).2.len() as f64;
        let slope = (b - a) / (hi - lo) as f64;
        // Devices of this format in the fleet: indexes i, i + n, i + 2n, ... below `devices`.
        let n = gen::Kind::ALL.len();
        let count = (devices - i).div_ceil(n) as f64;
        per_rule += slope * count;
        fixed += (a - slope * lo as f64) * count;
    }
    (((target - fixed) / per_rule).round() as i64).max(1) as usize
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.devices == 0 {
        eprintln!("genfleet: --devices must be at least 1");
        return ExitCode::from(2);
    }
    let rules = match args.target_size {
        Some(mb) if mb > 0.0 => rules_for_size(args.seed, args.devices, mb * 1e6),
        Some(_) => {
            eprintln!("genfleet: --target-size must be positive");
            return ExitCode::from(2);
        }
        None => args.rules,
    };
    if let Err(e) = std::fs::create_dir_all(&args.out) {
        eprintln!("genfleet: cannot create {}: {e}", args.out.display());
        return ExitCode::from(2);
    }
    let written: Result<Vec<usize>, String> = (0..args.devices)
        .into_par_iter()
        .map(|i| {
            let (_, name, text) = gen::device(args.seed, i, rules);
            let path = args.out.join(name);
            std::fs::write(&path, &text)
                .map(|_| text.len())
                .map_err(|e| format!("cannot write {}: {e}", path.display()))
        })
        .collect();
    match written {
        Ok(sizes) => {
            let total: usize = sizes.iter().sum();
            println!(
                "genfleet: {} devices, {} formats, {rules} rules each, {:.1} MB in {}",
                args.devices,
                gen::Kind::ALL.len().min(args.devices),
                total as f64 / 1e6,
                args.out.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("genfleet: {e}");
            ExitCode::from(2)
        }
    }
}
