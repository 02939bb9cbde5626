//! Scale benchmarks (issue #8), side by side in one run: `charon-tui check`
//! and `rg -c -e apk -e alpine -e su-exec` over the same synthetic monorepo
//! of 5,000 and 10,000 files (benches/monorepo.rs, fixed seed), then the peak
//! RSS of `check` on the 10,000-file tree (wait4's rusage of that process
//! alone). Both tools run as processes, so both pay the same start-up.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};

mod monorepo;

const SEED: u64 = 0x00C4_A201;

fn tree(total: usize) -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().expect("tempdir");
    let root = d.path().join(format!("mono-{total}"));
    let n = monorepo::generate(&root, total, SEED).expect("generate");
    assert_eq!(n, total);
    assert!(monorepo::commit(&root), "git failed in {}", root.display());
    (d, root)
}

fn charon_check(root: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_charon-tui"));
    c.arg("--repo")
        .arg(root)
        .args(["check", "--format", "json"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

fn rg(root: &Path) -> Command {
    let mut c = Command::new("rg");
    c.args(["-c", "-e", "apk", "-e", "alpine", "-e", "su-exec"])
        .arg(root)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

fn run(mut c: Command) {
    // check exits 1 when it finds something, rg 1 when it finds nothing.
    let s = c.status().expect("runs");
    assert!(matches!(s.code(), Some(0) | Some(1)), "{c:?}: {s}");
}

/// Peak resident set of one run of `c`, in MiB (from wait4's rusage).
fn peak_rss_mib(mut c: Command) -> f64 {
    // Reaped by wait4 below (which also reports its rusage), not by Child::wait.
    #[allow(clippy::zombie_processes)]
    let child = c.spawn().expect("spawns");
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child, writing into locals we own.
    let r = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(r, child.id() as i32, "wait4");
    usage.ru_maxrss as f64 / 1024.0
}

fn have_rg() -> bool {
    let ok = Command::new("rg")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        eprintln!("SKIPPED: rg (ripgrep) not installed: apt-get install ripgrep to compare");
    }
    ok
}

fn scale(c: &mut Criterion) {
    let rg_ok = have_rg();
    let mut g = c.benchmark_group("scale");
    g.sample_size(10).measurement_time(Duration::from_secs(8));
    let mut trees = Vec::new();
    for total in [5_000, 10_000] {
        let (d, root) = tree(total);
        g.bench_function(format!("charon-tui check, {total} files"), |b| {
            b.iter(|| run(charon_check(&root)))
        });
        if rg_ok {
            g.bench_function(
                format!("rg -c -e apk -e alpine -e su-exec, {total} files"),
                |b| b.iter(|| run(rg(&root))),
            );
        }
        trees.push((d, root));
    }
    g.finish();
    if let Some((_, big)) = trees.last() {
        let mib = peak_rss_mib(charon_check(big));
        eprintln!("peak RSS of `charon-tui check` on the 10,000-file tree: {mib:.1} MiB");
        if rg_ok {
            eprintln!(
                "peak RSS of `rg -c` on the same tree: {:.1} MiB",
                peak_rss_mib(rg(big))
            );
        }
    }
}

criterion_group!(benches, scale);
criterion_main!(benches);
