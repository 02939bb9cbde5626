//! The only module that starts processes: it runs a checklist command item
//! through `sh -c` in the repository root, streams the output to the caller
//! and to a log file under `.git/charon-tui/logs/`, and records exit code,
//! duration and log path. A missing program blocks the item instead of
//! failing it. The child runs in its own process group, so a timeout or an
//! interrupt ends everything it started.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::recipe::Item;

/// How a command item ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Ran to completion (exit code; None when killed by a signal).
    Finished {
        code: Option<i32>,
        duration: Duration,
        log: PathBuf,
    },
    /// It cannot run here (a program it needs is missing, or it needs
    /// root): the reason, ready to show.
    Blocked { reason: String },
    /// Stopped by the timeout or an interrupt (the whole process group).
    Stopped {
        reason: String,
        duration: Duration,
        log: PathBuf,
    },
}

/// Is `program` on PATH?
pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| is_exec(&d.join(program))))
        .unwrap_or(false)
}

fn is_exec(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

fn hint_for(program: &str) -> String {
    match program {
        "docker" => {
            "install Docker (or run this item on a machine that has it) and run it again".into()
        }
        "trivy" => "install Trivy (https://trivy.dev) and run it again".into(),
        "npx" => "install Node.js (npx) and the project's dependencies, then run it again".into(),
        "debootstrap" => "apt-get install debootstrap".into(),
        other => format!("install {other} and run it again"),
    }
}

/// Run a command item. `echo` receives each output line as it comes;
/// `stop` (set by a signal handler) ends the process group early.
pub fn run(
    item: &Item,
    root: &Path,
    logs: &Path,
    timeout: Option<Duration>,
    stop: &Arc<AtomicBool>,
    echo: &mut dyn FnMut(&str),
) -> Result<Outcome> {
    let cmd = item
        .command
        .as_deref()
        .ok_or_else(|| Error::Usage(format!("item `{}` is not a command item", item.id)))?;
    let missing: Vec<&String> = item.programs.iter().filter(|p| !on_path(p)).collect();
    // SAFETY: geteuid(2) has no preconditions.
    let not_root = item.root && unsafe { libc::geteuid() } != 0;
    if item.root && (not_root || !missing.is_empty()) {
        let mut why: Vec<String> = Vec::new();
        if not_root {
            why.push("not running as root".into());
        }
        why.extend(
            missing
                .iter()
                .map(|p| format!("{p} not found: {}", hint_for(p))),
        );
        return Ok(Outcome::Blocked {
            reason: format!(
                "skipped: needs root and {} ({})",
                item.programs.join(" and "),
                why.join("; ")
            ),
        });
    }
    if let Some(p) = missing.first() {
        return Ok(Outcome::Blocked {
            reason: format!("{p} not found ({})", hint_for(p)),
        });
    }
    let cmd = self_command(cmd);
    std::fs::create_dir_all(logs).map_err(|e| Error::io(logs, e))?;
    let log = logs.join(format!("{}-{}.log", item.id, crate::state::now()));
    let mut file = std::fs::File::create(&log).map_err(|e| Error::io(&log, e))?;
    let _ = writeln!(file, "$ {cmd}");
    let started = Instant::now();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("exec 2>&1; {cmd}"))
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| Error::io("sh", e))?;
    let pgid = child.id() as i32;
    let stdout = child.stdout.take();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        if let Some(out) = stdout {
            for line in BufReader::new(out).lines().map_while(|l| l.ok()) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        }
    });
    let mut stopped: Option<String> = None;
    let status = loop {
        while let Ok(line) = rx.try_recv() {
            echo(&line);
            let _ = writeln!(file, "{line}");
        }
        if let Some(st) = child.try_wait().map_err(|e| Error::io("sh", e))? {
            break Some(st);
        }
        let over = timeout.is_some_and(|t| started.elapsed() > t);
        if over || stop.load(Ordering::Relaxed) {
            stopped = Some(if over {
                "timed out".into()
            } else {
                "interrupted".into()
            });
            kill_group(pgid, Duration::from_millis(300));
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let _ = reader.join();
    while let Ok(line) = rx.try_recv() {
        echo(&line);
        let _ = writeln!(file, "{line}");
    }
    let duration = started.elapsed();
    Ok(match (status, stopped) {
        (Some(st), _) => Outcome::Finished {
            code: st.code(),
            duration,
            log,
        },
        (None, Some(reason)) => {
            let _ = writeln!(file, "[charon-tui] {reason}: process group {pgid} ended");
            Outcome::Stopped {
                reason,
                duration,
                log,
            }
        }
        (None, None) => Outcome::Stopped {
            reason: "ended".into(),
            duration,
            log,
        },
    })
}

/// A recipe command that starts with `charon-tui ` runs this very binary,
/// whether or not it is on PATH.
fn self_command(cmd: &str) -> String {
    let Some(rest) = cmd.strip_prefix("charon-tui ") else {
        return cmd.to_string();
    };
    match std::env::current_exe() {
        Ok(exe) if exe.file_name().is_some_and(|n| n == "charon-tui") => {
            format!(
                "{} {rest}",
                crate::rewrite::shell_quote(&exe.to_string_lossy())
            )
        }
        _ => cmd.to_string(),
    }
}

/// End process group `pgid`: SIGTERM, `grace` to exit, then SIGKILL for
/// what is left. (Also used by `verify`'s chroot steps.)
pub(crate) fn kill_group(pgid: i32, grace: Duration) {
    // SAFETY: kill(2) with a negative pid signals a process group; it has no
    // memory-safety preconditions.
    unsafe {
        libc::kill(-pgid, libc::SIGTERM);
    }
    std::thread::sleep(grace);
    // SAFETY: as above.
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
}
