//! Write the scale benchmarks' synthetic monorepo (benches/monorepo.rs, same
//! fixed seed) to a directory, as a git repository with one commit, so the
//! `check` vs ripgrep comparison can be reproduced outside criterion
//! (benches/compare.sh uses it with hyperfine).
//!
//! Usage: cargo run --release --example monorepo -- DIR [FILES]

use std::path::PathBuf;
use std::process::ExitCode;

#[path = "../benches/monorepo.rs"]
mod monorepo;

const SEED: u64 = 0x00C4_A201;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let Some(dir) = args.next().map(PathBuf::from) else {
        eprintln!("usage: monorepo DIR [FILES]");
        return ExitCode::from(2);
    };
    let total: usize = match args.next().map(|s| s.to_string_lossy().parse()) {
        None => 5_000,
        Some(Ok(n)) => n,
        Some(Err(e)) => {
            eprintln!("monorepo: FILES: {e}");
            return ExitCode::from(2);
        }
    };
    if dir.exists() {
        eprintln!("monorepo: {} already exists", dir.display());
        return ExitCode::from(2);
    }
    match monorepo::generate(&dir, total, SEED) {
        Ok(n) => eprintln!("monorepo: wrote {n} files under {}", dir.display()),
        Err(e) => {
            eprintln!("monorepo: {}: {e}", dir.display());
            return ExitCode::from(1);
        }
    }
    if monorepo::commit(&dir) {
        ExitCode::SUCCESS
    } else {
        eprintln!("monorepo: git failed in {}", dir.display());
        ExitCode::from(1)
    }
}
