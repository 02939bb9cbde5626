//! The Debian root filesystem `verify` runs commands in: built once per
//! suite with `debootstrap --variant=minbase` into the user's cache
//! directory, copied to a scratch directory per stage, and entered with
//! `chroot(2)`.
//!
//! Every process that mounts anything (debootstrap itself, each step) runs in
//! a mount namespace of its own (`unshare(CLONE_NEWNS)`, propagation made
//! private), so `/proc` is mounted where the step sees it and nowhere else:
//! when the step ends, or is killed, its mounts are gone with it. Nothing is
//! ever mounted in the caller's namespace, and a directory is removed only
//! after `/proc/self/mountinfo` shows nothing mounted under it.

use std::ffi::CString;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::interp::Exec;
use crate::error::{Error, Result};

/// Most output kept per command (the tail is what explains a failure).
const MAX_OUTPUT: usize = 256 * 1024;

/// How a command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutcome {
    /// Exit code; None when killed by a signal.
    pub code: Option<i32>,
    /// stdout and stderr, interleaved, at most the last 256 KiB.
    pub output: String,
    pub duration: Duration,
}

/// Where the steps run. The real one is [`Chroot`]; tests use fakes.
pub trait Sandbox {
    fn exec(&mut self, e: &Exec) -> Result<ExecOutcome>;
}

/// Is verify possible here? Err names what is missing.
pub fn available() -> std::result::Result<(), String> {
    // SAFETY: geteuid(2) has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let debootstrap = crate::command::on_path("debootstrap");
    match (root, debootstrap) {
        (true, true) => Ok(()),
        (false, true) => Err("skipped: needs root and debootstrap (not running as root)".into()),
        (true, false) => Err(
            "skipped: needs root and debootstrap (debootstrap is not installed: apt-get install debootstrap)"
                .into(),
        ),
        (false, false) => Err("skipped: needs root and debootstrap (neither is here)".into()),
    }
}

/// `$XDG_CACHE_HOME/charon-tui`, or `~/.cache/charon-tui`.
pub fn cache_dir() -> Result<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .ok_or_else(|| Error::Usage("neither XDG_CACHE_HOME nor HOME is set: no cache directory for the root filesystem".into()))?;
    Ok(base.join("charon-tui"))
}

/// The first Debian mirror in the host's apt sources (one-line and deb822).
pub fn host_mirror() -> Option<String> {
    let mut texts = Vec::new();
    if let Ok(t) = std::fs::read_to_string("/etc/apt/sources.list") {
        texts.push(t);
    }
    if let Ok(dir) = std::fs::read_dir("/etc/apt/sources.list.d") {
        let mut paths: Vec<PathBuf> = dir.flatten().map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
            if ext == "list" || ext == "sources" {
                if let Ok(t) = std::fs::read_to_string(&p) {
                    texts.push(t);
                }
            }
        }
    }
    texts.iter().find_map(|t| mirror_in(t))
}

/// The first plain Debian archive URI in a sources file's text.
pub fn mirror_in(text: &str) -> Option<String> {
    let good = |u: &str| {
        (u.starts_with("http://") || u.starts_with("https://"))
            && u.trim_end_matches('/').ends_with("/debian")
    };
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix("URIs:") {
            if let Some(u) = rest.split_whitespace().find(|u| good(u)) {
                return Some(u.to_string());
            }
        }
        if let Some(rest) = line.strip_prefix("deb ") {
            // `deb [options] URI suite components`
            let rest = match rest.trim_start().strip_prefix('[') {
                Some(r) => r.split_once(']').map(|(_, r)| r).unwrap_or(""),
                None => rest,
            };
            if let Some(u) = rest.split_whitespace().next().filter(|u| good(u)) {
                return Some(u.to_string());
            }
        }
    }
    None
}

/// An exclusive `flock(2)` held while the value lives.
struct FileLock(std::fs::File);

impl FileLock {
    fn acquire(path: &Path) -> Result<FileLock> {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        use std::os::fd::AsRawFd;
        // SAFETY: flock(2) on a descriptor this function owns.
        let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) };
        if r != 0 {
            return Err(Error::io(path, std::io::Error::last_os_error()));
        }
        Ok(FileLock(f))
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        use std::os::fd::AsRawFd;
        // SAFETY: as above; the lock also ends when the descriptor closes.
        unsafe {
            libc::flock(self.0.as_raw_fd(), libc::LOCK_UN);
        }
    }
}

/// Anything mounted at or under `dir`, in this process's mount namespace.
pub fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return Vec::new();
    };
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    info.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|p| PathBuf::from(p.replace("\\040", " ")))
        .filter(|p| p.starts_with(&dir))
        .collect()
}

/// Remove a directory tree we created, unless something is mounted in it.
pub fn remove_tree(dir: &Path) -> Result<()> {
    let mounted = mounts_under(dir);
    if let Some(m) = mounted.first() {
        return Err(Error::Refused(format!(
            "{} is still mounted; {} was left in place (unmount it, then delete it)",
            m.display(),
            dir.display()
        )));
    }
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(dir, e)),
    }
}

/// Build (once) and return the cached root filesystem of `suite`.
pub fn ensure(
    cache: &Path,
    suite: &str,
    mirror: Option<&str>,
    stop: &Arc<AtomicBool>,
    progress: &mut dyn FnMut(&str),
) -> Result<PathBuf> {
    if suite.is_empty()
        || !suite
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(Error::Usage(format!(
            "`{suite}` is not a Debian suite name"
        )));
    }
    let dir = cache.join("rootfs");
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let _lock = FileLock::acquire(&dir.join(format!("{suite}.lock")))?;
    let target = dir.join(suite);
    if target.join("usr/bin/apt-get").is_file() {
        return Ok(target);
    }
    let partial = dir.join(format!("{suite}.partial"));
    // A build killed half-way (we hold the lock, so nobody else is building).
    remove_tree(&partial)?;
    if target.exists() {
        remove_tree(&target)?;
    }
    let mirror = mirror.map(str::to_string).or_else(host_mirror);
    progress(&format!(
        "building the {suite} root filesystem once (debootstrap --variant=minbase, {}); it is cached in {}",
        mirror.as_deref().unwrap_or("debootstrap's default mirror"),
        target.display()
    ));
    let mut cmd = Command::new("debootstrap");
    cmd.arg("--variant=minbase").arg(suite).arg(&partial);
    if let Some(m) = &mirror {
        cmd.arg(m);
    }
    let out = match run_isolated(cmd, None, stop) {
        Ok(o) => o,
        Err(e) => {
            // Interrupted: nothing half-built stays behind.
            let _ = remove_tree(&partial);
            return Err(e);
        }
    };
    if out.code != Some(0) {
        let _ = remove_tree(&partial);
        let tail: Vec<&str> = out.output.lines().rev().take(8).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(Error::Repo {
            path: target,
            reason: format!(
                "debootstrap {suite} failed (exit {}): {}",
                out.code
                    .map(|c| c.to_string())
                    .unwrap_or_else(|| "signal".into()),
                tail.join(" | ")
            ),
        });
    }
    std::fs::rename(&partial, &target).map_err(|e| Error::io(&target, e))?;
    progress(&format!(
        "{suite} root filesystem ready in {:.0} s",
        out.duration.as_secs_f64()
    ));
    Ok(target)
}

/// A scratch copy of a root filesystem, removed on drop unless kept.
pub struct Scratch {
    pub root: PathBuf,
    pub keep: bool,
}

impl Scratch {
    /// Copy `rootfs` to a new directory under `cache/runs/`, and prepare it
    /// the way a container runtime would: the host's resolv.conf, no service
    /// starts (policy-rc.d), no pty for dpkg.
    pub fn create(cache: &Path, rootfs: &Path, label: &str, keep: bool) -> Result<Scratch> {
        let runs = cache.join("runs");
        std::fs::create_dir_all(&runs).map_err(|e| Error::io(&runs, e))?;
        clean_stale(&runs);
        let safe: String = label
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let dir = tempfile::Builder::new()
            .prefix(&format!("{}-{safe}-", std::process::id()))
            .tempdir_in(&runs)
            .map_err(|e| Error::io(&runs, e))?
            .keep();
        let root = dir.join("root");
        if keep {
            // A kept run survives the stale-run cleanup, even if interrupted.
            write(&dir.join("KEEP"), b"kept by --keep\n")?;
        }
        let scratch = Scratch {
            root: root.clone(),
            keep,
        };
        let status = Command::new("cp")
            .arg("-a")
            .arg("--reflink=auto")
            .arg(rootfs)
            .arg(&root)
            .stdin(Stdio::null())
            .status()
            .map_err(|e| Error::io(&root, e))?;
        if !status.success() {
            return Err(Error::Repo {
                path: root,
                reason: format!("copying the root filesystem failed ({status})"),
            });
        }
        let resolv = root.join("etc/resolv.conf");
        let _ = std::fs::remove_file(&resolv);
        let host = std::fs::read("/etc/resolv.conf").unwrap_or_default();
        write(&resolv, &host)?;
        write(
            &root.join("usr/sbin/policy-rc.d"),
            b"#!/bin/sh\n# charon-tui verify: no service starts in the sandbox, as in a container\nexit 101\n",
        )?;
        set_mode(&root.join("usr/sbin/policy-rc.d"), 0o755)?;
        write(
            &root.join("etc/apt/apt.conf.d/90charon-tui-verify"),
            b"// charon-tui verify: dpkg has no pty in the sandbox\nDpkg::Use-Pty \"0\";\n",
        )?;
        Ok(scratch)
    }

    /// The run directory (parent of `root`).
    pub fn dir(&self) -> &Path {
        self.root.parent().unwrap_or(&self.root)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !self.keep {
            let _ = remove_tree(self.dir());
        }
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|e| Error::io(path, e))
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| Error::io(path, e))
}

/// Remove run directories whose process is gone (a run killed with SIGKILL).
fn clean_stale(runs: &Path) {
    let Ok(dir) = std::fs::read_dir(runs) else {
        return;
    };
    for e in dir.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let Some(pid) = name.split('-').next().and_then(|p| p.parse::<i32>().ok()) else {
            continue;
        };
        // A run kept with --keep has a marker and stays.
        if e.path().join("KEEP").exists() {
            continue;
        }
        // SAFETY: kill(pid, 0) only checks that the process exists.
        let alive = unsafe { libc::kill(pid, 0) } == 0
            || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
        if !alive {
            let _ = remove_tree(&e.path());
        }
    }
}

/// A user resolved in the root filesystem's passwd and group files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ids {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
    pub home: String,
}

/// Resolve a `USER` value (`name`, `uid`, `name:group`, `uid:gid`) against
/// the passwd and group files' text, as the builder does.
pub fn resolve_user(spec: &str, passwd: &str, group: &str) -> std::result::Result<Ids, String> {
    let (u, g) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let entry = passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() >= 6 && (f[0] == u || f[2] == u));
    let (uid, mut gid, name, home) = match (&entry, u.parse::<u32>()) {
        (Some(f), _) => (
            f[2].parse()
                .map_err(|_| format!("bad uid for {u} in /etc/passwd"))?,
            f[3].parse()
                .map_err(|_| format!("bad gid for {u} in /etc/passwd"))?,
            Some(f[0].to_string()),
            f[5].to_string(),
        ),
        (None, Ok(n)) => (n, n, None, "/".to_string()),
        (None, Err(_)) => {
            return Err(format!(
                "unable to find user {u}: no matching entries in passwd file"
            ))
        }
    };
    let groups_file: Vec<Vec<&str>> = group.lines().map(|l| l.split(':').collect()).collect();
    if let Some(g) = g {
        gid = match groups_file
            .iter()
            .find(|f| f.len() >= 3 && (f[0] == g || f[2] == g))
        {
            Some(f) => f[2]
                .parse()
                .map_err(|_| format!("bad gid for {g} in /etc/group"))?,
            None => g.parse().map_err(|_| {
                format!("unable to find group {g}: no matching entries in group file")
            })?,
        };
    }
    let mut groups = vec![gid];
    if let Some(name) = &name {
        for f in &groups_file {
            if f.len() >= 4 && f[3].split(',').any(|m| m == name) {
                if let Ok(n) = f[2].parse::<u32>() {
                    if !groups.contains(&n) {
                        groups.push(n);
                    }
                }
            }
        }
    }
    Ok(Ids {
        uid,
        gid,
        groups,
        home,
    })
}

/// Runs steps in a scratch root filesystem.
pub struct Chroot {
    pub root: PathBuf,
    pub stop: Arc<AtomicBool>,
}

impl Sandbox for Chroot {
    fn exec(&mut self, e: &Exec) -> Result<ExecOutcome> {
        let Some(program) = e.argv.first() else {
            return Err(Error::Usage("empty command".into()));
        };
        let ids = match &e.user {
            None => Ids {
                uid: 0,
                gid: 0,
                groups: vec![0],
                home: "/root".into(),
            },
            Some(u) => {
                let passwd =
                    std::fs::read_to_string(self.root.join("etc/passwd")).unwrap_or_default();
                let group =
                    std::fs::read_to_string(self.root.join("etc/group")).unwrap_or_default();
                match resolve_user(u, &passwd, &group) {
                    Ok(ids) => ids,
                    Err(msg) => {
                        return Ok(ExecOutcome {
                            code: Some(125),
                            output: format!("USER {u}: {msg}\n"),
                            duration: Duration::ZERO,
                        })
                    }
                }
            }
        };
        let mut cmd = Command::new(program);
        cmd.args(&e.argv[1..]).env_clear();
        for (k, v) in &e.env {
            if k == "HOME" && e.user.is_some() {
                cmd.env(k, &ids.home);
            } else {
                cmd.env(k, v);
            }
        }
        let into = Into {
            root: cstring(self.root.as_os_str().as_bytes())?,
            proc_dir: cstring(self.root.join("proc").as_os_str().as_bytes())?,
            workdir: cstring(e.workdir.as_bytes())?,
            ids,
        };
        run_isolated(cmd, Some(into), &self.stop)
    }
}

fn cstring(b: &[u8]) -> Result<CString> {
    CString::new(b).map_err(|_| Error::Usage("a path contains a NUL byte".into()))
}

/// What the child does before exec to enter the root filesystem.
struct Into {
    root: CString,
    proc_dir: CString,
    workdir: CString,
    ids: Ids,
}

/// Run `cmd` in its own process group and mount namespace (entering `into`
/// when given), output captured, stopped when `stop` is set.
fn run_isolated(
    mut cmd: Command,
    into: Option<Into>,
    stop: &Arc<AtomicBool>,
) -> Result<ExecOutcome> {
    let (mut reader, writer) = std::io::pipe().map_err(|e| Error::io("pipe", e))?;
    let writer2 = writer.try_clone().map_err(|e| Error::io("pipe", e))?;
    cmd.stdin(Stdio::null())
        .stdout(writer)
        .stderr(writer2)
        .process_group(0);
    let groups: Vec<libc::gid_t> = into
        .as_ref()
        .map(|i| i.ids.groups.clone())
        .unwrap_or_default();
    // SAFETY: the closure runs in the forked child before exec and only makes
    // async-signal-safe system calls on memory prepared before the fork.
    unsafe {
        cmd.pre_exec(move || {
            if libc::unshare(libc::CLONE_NEWNS) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            let slash = c"/";
            if libc::mount(
                std::ptr::null(),
                slash.as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            let Some(i) = into.as_ref() else {
                return Ok(());
            };
            if libc::mount(
                c"proc".as_ptr(),
                i.proc_dir.as_ptr(),
                c"proc".as_ptr(),
                libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
                std::ptr::null(),
            ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            if libc::chroot(i.root.as_ptr()) != 0 || libc::chdir(slash.as_ptr()) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::chdir(i.workdir.as_ptr()) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::setgroups(groups.len(), groups.as_ptr()) != 0
                || libc::setgid(i.ids.gid) != 0
                || libc::setuid(i.ids.uid) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let start = Instant::now();
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // What a shell prints for a missing program, with its exit code.
            let program = cmd.get_program().to_string_lossy().into_owned();
            return Ok(ExecOutcome {
                code: Some(127),
                output: format!("{program}: not found\n"),
                duration: start.elapsed(),
            });
        }
        Err(e) => {
            let program = cmd.get_program().to_string_lossy().into_owned();
            return Err(Error::Usage(format!(
                "cannot start `{program}` in the root filesystem (mount namespace, chroot or user switch refused): {e}"
            )));
        }
    };
    // The parent's copies of the pipe's write end must close, or EOF never comes.
    drop(cmd);
    let collector = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 8192];
        loop {
            match reader.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    buf.extend_from_slice(&chunk[..n]);
                    if buf.len() > 2 * MAX_OUTPUT {
                        buf.drain(..buf.len() - MAX_OUTPUT);
                    }
                }
            }
        }
        if buf.len() > MAX_OUTPUT {
            buf.drain(..buf.len() - MAX_OUTPUT);
        }
        String::from_utf8_lossy(&buf).into_owned()
    });
    let pgid = child.id() as i32;
    let status = loop {
        if stop.load(Ordering::SeqCst) {
            crate::command::kill_group(pgid, Duration::from_millis(200));
            let _ = child.wait();
            let _ = collector.join();
            return Err(Error::Interrupted(
                "the running command and its process group were stopped".into(),
            ));
        }
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(Error::io("child process", e)),
        }
    };
    // Whatever the command left running in its group goes with it.
    // SAFETY: kill(2) on our own child's process group.
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
    let output = collector.join().unwrap_or_default();
    Ok(ExecOutcome {
        code: status.code(),
        output,
        duration: start.elapsed(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirror_from_one_line_and_deb822_sources() {
        let list = "# comment\ndeb [arch=amd64 signed-by=/k.gpg] http://ftp.fr.debian.org/debian bookworm main\n";
        assert_eq!(
            mirror_in(list).as_deref(),
            Some("http://ftp.fr.debian.org/debian")
        );
        let deb822 = "Types: deb\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\n\nTypes: deb\nURIs: https://mirror.example/debian/\n";
        assert_eq!(
            mirror_in(deb822).as_deref(),
            Some("https://mirror.example/debian/")
        );
        assert_eq!(
            mirror_in("deb http://archive.ubuntu.com/ubuntu noble main\n"),
            None
        );
    }

    #[test]
    fn users_resolve_like_the_builder() {
        let passwd =
            "root:x:0:0:root:/root:/bin/bash\ncharon:x:1000:1000::/app:/usr/sbin/nologin\n";
        let group = "root:x:0:\ncharon:x:1000:\ndocker:x:999:charon\n";
        let ids = resolve_user("charon", passwd, group).unwrap();
        assert_eq!((ids.uid, ids.gid, ids.home.as_str()), (1000, 1000, "/app"));
        assert_eq!(ids.groups, vec![1000, 999]);
        assert_eq!(resolve_user("1000:docker", passwd, group).unwrap().gid, 999);
        assert_eq!(resolve_user("4242", passwd, group).unwrap().uid, 4242);
        let err = resolve_user("nobody-here", passwd, group).unwrap_err();
        assert!(err.contains("unable to find user nobody-here"), "{err}");
        let err = resolve_user("charon:nogroup", passwd, group).unwrap_err();
        assert!(err.contains("unable to find group nogroup"), "{err}");
    }

    #[test]
    fn a_directory_with_something_mounted_in_it_is_never_removed() {
        // /proc is always mounted: removing a tree that contains it is refused.
        let err = remove_tree(Path::new("/proc")).unwrap_err();
        assert!(err.to_string().contains("still mounted"), "{err}");
    }
}
