//! Checklist state: the only module that writes it. One JSON file
//! (`.git/charon-tui/state.json` by default: never committed, survives branch
//! switches) records per-item status, per-hunk decisions keyed by stable hunk
//! id, notes and command results. It is schema-versioned and written
//! atomically (temp file in the same directory, fsync, rename), so a crash
//! leaves either the old or the new file, never half of one. A corrupt or
//! future-version file is moved aside with a timestamp, never a panic.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub const SCHEMA: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ItemStatus {
    Pending,
    Partly,
    Accepted,
    Rejected,
    Done,
    Blocked,
    Skipped,
    Failed,
}

impl ItemStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemStatus::Pending => "pending",
            ItemStatus::Partly => "partly",
            ItemStatus::Accepted => "accepted",
            ItemStatus::Rejected => "rejected",
            ItemStatus::Done => "done",
            ItemStatus::Blocked => "blocked",
            ItemStatus::Skipped => "skipped",
            ItemStatus::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    Accepted,
    Rejected,
    /// Accepted and written to the working tree.
    Applied,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HunkRecord {
    pub item: String,
    pub file: String,
    /// The hunk's one-line summary (for the CHANGELOG and resumes).
    #[serde(default)]
    pub summary: String,
    pub decision: Decision,
    /// The operator's replacement for the hunk's new text, when edited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited: Option<String>,
    pub at: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandRecord {
    pub exit_code: Option<i32>,
    pub duration_ms: u64,
    pub log: String,
    pub at: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemRecord {
    pub status: ItemStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<CommandRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<u64>,
    pub at: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipeRef {
    pub id: String,
    pub version: String,
    pub hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub schema: u32,
    pub recipe: RecipeRef,
    pub suite: String,
    #[serde(default)]
    pub base_commit: Option<String>,
    #[serde(default)]
    pub items: BTreeMap<String, ItemRecord>,
    #[serde(default)]
    pub hunks: BTreeMap<String, HunkRecord>,
    /// Phase id → commit id of its commit on the migration branch.
    #[serde(default)]
    pub commits: BTreeMap<String, String>,
    /// Files written but not yet committed: path → (phase, SHA-256 of the
    /// content written). Recorded *before* each write, so a run killed at
    /// any point can tell its own writes from an operator's edits.
    #[serde(default)]
    pub inflight: BTreeMap<String, (String, String)>,
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// What loading found.
#[derive(Debug)]
pub enum Loaded {
    Fresh(State),
    Existing(State),
    /// The old file was unreadable and moved aside; a fresh state starts.
    MovedAside {
        state: State,
        moved_to: PathBuf,
        reason: String,
    },
}

impl Loaded {
    pub fn into_state(self) -> State {
        match self {
            Loaded::Fresh(s) | Loaded::Existing(s) => s,
            Loaded::MovedAside { state, .. } => state,
        }
    }
}

impl State {
    pub fn new(recipe: RecipeRef, suite: &str) -> State {
        State {
            schema: SCHEMA,
            recipe,
            suite: suite.to_string(),
            base_commit: None,
            items: BTreeMap::new(),
            hunks: BTreeMap::new(),
            commits: BTreeMap::new(),
            inflight: BTreeMap::new(),
        }
    }

    /// Load the state file, or start fresh. A corrupt or newer-schema file is
    /// moved aside (`state.json.corrupt-<unix time>`) and reported.
    pub fn load(path: &Path, recipe: RecipeRef, suite: &str) -> Result<Loaded> {
        let text = match std::fs::read(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Loaded::Fresh(State::new(recipe, suite)));
            }
            Err(e) => return Err(Error::io(path, e)),
        };
        let reason = match serde_json::from_slice::<serde_json::Value>(&text) {
            Err(e) => format!("not valid JSON ({e})"),
            Ok(v) => match v.get("schema").and_then(|s| s.as_u64()) {
                Some(s) if s > u64::from(SCHEMA) => {
                    format!("written by a newer charon-tui (schema {s}, this one reads {SCHEMA})")
                }
                Some(_) => match serde_json::from_value::<State>(v) {
                    Ok(s) => return Ok(Loaded::Existing(s)),
                    Err(e) => format!("does not match the state schema ({e})"),
                },
                None => "has no schema version".to_string(),
            },
        };
        let moved_to = path.with_extension(format!("json.corrupt-{}", now()));
        std::fs::rename(path, &moved_to).map_err(|e| Error::io(path, e))?;
        Ok(Loaded::MovedAside {
            state: State::new(recipe, suite),
            moved_to,
            reason,
        })
    }

    /// Write atomically: temp file beside the target, fsync, rename, fsync dir.
    pub fn save(&self, path: &Path) -> Result<()> {
        let dir = path.parent().unwrap_or_else(|| Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let json = serde_json::to_vec_pretty(self).map_err(|e| Error::Repo {
            path: path.to_path_buf(),
            reason: format!("cannot serialise state: {e}"),
        })?;
        write_atomic(path, &json)
    }

    pub fn item_status(&self, id: &str) -> Option<ItemStatus> {
        self.items.get(id).map(|r| r.status)
    }

    pub fn set_item(&mut self, id: &str, status: ItemStatus, note: Option<String>) {
        let at = now();
        let e = self.items.entry(id.to_string()).or_insert(ItemRecord {
            status,
            note: None,
            command: None,
            started: None,
            at,
        });
        e.status = status;
        if note.is_some() {
            e.note = note;
        }
        e.at = at;
    }

    pub fn decide(
        &mut self,
        hunk: &str,
        item: &str,
        file: &str,
        summary: &str,
        decision: Decision,
    ) {
        self.hunks.insert(
            hunk.to_string(),
            HunkRecord {
                item: item.to_string(),
                file: file.to_string(),
                summary: summary.to_string(),
                decision,
                edited: None,
                at: now(),
            },
        );
    }
}

/// Prefix of the temp files `write_atomic` creates beside their target.
pub const TEMP_PREFIX: &str = ".charon-tui-tmp-";

/// Remove temp files a killed run left in `dir`.
pub fn remove_stale_temps(dir: &Path) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// Write `bytes` to `path` atomically, keeping the target's permissions.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or_else(|| Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, e))?;
    tmp.write_all(bytes).map_err(|e| Error::io(tmp.path(), e))?;
    if let Ok(meta) = std::fs::metadata(path) {
        let _ = std::fs::set_permissions(tmp.path(), meta.permissions());
    }
    tmp.as_file()
        .sync_all()
        .map_err(|e| Error::io(tmp.path(), e))?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rr() -> RecipeRef {
        RecipeRef {
            id: "r".into(),
            version: "1".into(),
            hash: "h".into(),
        }
    }

    #[test]
    fn round_trip() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("sub/state.json");
        let mut s = State::new(rr(), "bookworm");
        s.set_item("a", ItemStatus::Done, Some("n".into()));
        s.decide("h1", "a", "Dockerfile", "FROM x → y", Decision::Applied);
        s.save(&p).unwrap();
        let l = State::load(&p, rr(), "bookworm").unwrap();
        assert!(matches!(&l, Loaded::Existing(x) if *x == s));
    }

    #[test]
    fn corrupt_and_future_files_are_moved_aside() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("state.json");
        std::fs::write(&p, b"{\"schema\": 1, \"recipe\": ").unwrap();
        match State::load(&p, rr(), "bookworm").unwrap() {
            Loaded::MovedAside {
                moved_to, reason, ..
            } => {
                assert!(moved_to.exists());
                assert!(reason.contains("not valid JSON"));
            }
            other => panic!("{other:?}"),
        }
        assert!(!p.exists());
        std::fs::write(&p, b"{\"schema\": 99}").unwrap();
        match State::load(&p, rr(), "bookworm").unwrap() {
            Loaded::MovedAside { reason, .. } => assert!(reason.contains("newer"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn atomic_write_keeps_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x.sh");
        std::fs::write(&p, b"old").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        write_atomic(&p, b"new").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new");
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o755
        );
    }
}

/// Who holds the repository's lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    pub pid: u32,
    pub host: String,
    pub user: String,
    pub started: u64,
}

impl std::fmt::Display for LockInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pid {} ({}@{}, since unix time {})",
            self.pid, self.user, self.host, self.started
        )
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown-host".into())
}

fn pid_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// An exclusive lock on a repository's charon-tui state (a file created with
/// O_EXCL). Released when dropped.
#[derive(Debug)]
pub struct Lock {
    path: PathBuf,
    /// Set when a stale lock (its process gone) was taken over.
    pub took_over: Option<LockInfo>,
    /// False when this process already held the lock (re-entrant use).
    owned: bool,
}

impl Lock {
    pub fn acquire(path: &Path) -> Result<Lock> {
        let dir = path.parent().unwrap_or_else(|| Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let me = LockInfo {
            pid: std::process::id(),
            host: hostname(),
            user: std::env::var("USER").unwrap_or_else(|_| "unknown".into()),
            started: now(),
        };
        let mut took_over = None;
        for _ in 0..2 {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
            {
                Ok(mut f) => {
                    let json = serde_json::to_vec(&me).unwrap_or_default();
                    f.write_all(&json).map_err(|e| Error::io(path, e))?;
                    let _ = f.sync_all();
                    return Ok(Lock {
                        path: path.to_path_buf(),
                        took_over,
                        owned: true,
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let holder: Option<LockInfo> = std::fs::read(path)
                        .ok()
                        .and_then(|b| serde_json::from_slice(&b).ok());
                    match holder {
                        Some(h) if h.host == me.host && h.pid == me.pid => {
                            return Ok(Lock { path: path.to_path_buf(), took_over: None, owned: false });
                        }
                        Some(h) if h.host == me.host && !pid_alive(h.pid) => {
                            // Stale: its process is gone. Take it over.
                            std::fs::remove_file(path).map_err(|e| Error::io(path, e))?;
                            took_over = Some(h);
                        }
                        Some(h) => {
                            return Err(Error::Refused(format!(
                                "another charon-tui holds the lock on this repository: {h}; wait for it to finish (lock file {})",
                                path.display()
                            )))
                        }
                        None => {
                            // Unreadable: a crash while writing it. Take it over.
                            std::fs::remove_file(path).map_err(|e| Error::io(path, e))?;
                        }
                    }
                }
                Err(e) => return Err(Error::io(path, e)),
            }
        }
        Err(Error::Refused(format!(
            "could not take the lock {}",
            path.display()
        )))
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        if !self.owned {
            return;
        }
        let mine = std::fs::read(&self.path)
            .ok()
            .and_then(|b| serde_json::from_slice::<LockInfo>(&b).ok())
            .is_some_and(|h| h.pid == std::process::id());
        if mine {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// SHA-256 of bytes, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("{:x}", sha2::Sha256::digest(bytes))
}

#[cfg(test)]
mod lock_tests {
    use super::*;

    #[test]
    fn second_lock_is_refused_and_stale_one_taken_over() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("lock");
        let l = Lock::acquire(&p).unwrap();
        // Re-entrant in the same process; the inner guard does not release it.
        drop(Lock::acquire(&p).unwrap());
        assert!(p.exists());
        let other = LockInfo {
            pid: 1,
            host: hostname(),
            user: "init".into(),
            started: 1,
        };
        drop(l);
        assert!(!p.exists());
        std::fs::write(&p, serde_json::to_vec(&other).unwrap()).unwrap();
        let e = Lock::acquire(&p).unwrap_err();
        assert!(e.to_string().contains("pid 1 (init@"), "{e}");
        assert_eq!(e.exit_code(), crate::error::EXIT_REFUSED);
        std::fs::remove_file(&p).unwrap();
        assert!(!p.exists());
        let stale = LockInfo {
            pid: 4_000_000,
            host: hostname(),
            user: "x".into(),
            started: 1,
        };
        std::fs::write(&p, serde_json::to_vec(&stale).unwrap()).unwrap();
        let l = Lock::acquire(&p).unwrap();
        assert_eq!(l.took_over.as_ref().map(|h| h.pid), Some(4_000_000));
    }
}
