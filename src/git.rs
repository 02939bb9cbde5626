//! The only module that touches git (through git2): opening and checking the
//! repository, the migration branch and base tag, and one commit per phase
//! built from exactly the files the phase changed (never `add -A`).

use std::path::{Path, PathBuf};

use git2::{BranchType, Oid, Repository, RepositoryState, Signature, StatusOptions};

use crate::error::{Error, Result};

/// Open the repository at `path` (not a parent: the tool edits this tree).
pub fn open(path: &Path) -> Result<Repository> {
    if !path.exists() {
        return Err(Error::Repo {
            path: path.to_path_buf(),
            reason: "no such directory".into(),
        });
    }
    if !path.is_dir() {
        return Err(Error::Repo {
            path: path.to_path_buf(),
            reason: "not a directory".into(),
        });
    }
    let repo = Repository::open(path).map_err(|_| Error::Repo {
        path: path.to_path_buf(),
        reason: "not a git repository (run `git init` or pass --repo)".into(),
    })?;
    if repo.is_bare() {
        return Err(Error::Repo {
            path: path.to_path_buf(),
            reason: "bare repository: charon-tui needs a working tree".into(),
        });
    }
    Ok(repo)
}

/// The directory where charon-tui keeps its state and logs (`.git/charon-tui`).
pub fn tool_dir(repo: &Repository) -> PathBuf {
    repo.path().join("charon-tui")
}

/// Refuse states in which committing would be unsafe or surprising.
pub fn check_ready(repo: &Repository) -> Result<()> {
    let path = repo.workdir().unwrap_or_else(|| repo.path()).to_path_buf();
    if repo.state() != RepositoryState::Clean {
        return Err(Error::Refused(format!(
            "{}: a {:?} is in progress; finish or abort it first",
            path.display(),
            repo.state()
        )));
    }
    if repo.head_detached().unwrap_or(false) {
        return Err(Error::Refused(format!(
            "{}: HEAD is detached; check out a branch first",
            path.display()
        )));
    }
    if repo.head().is_err() {
        return Err(Error::Refused(format!(
            "{}: the current branch has no commit yet; commit the project first",
            path.display()
        )));
    }
    signature(repo)?;
    Ok(())
}

/// Author/committer from git config; refused when missing.
pub fn signature(repo: &Repository) -> Result<Signature<'static>> {
    repo.signature().map_err(|_| {
        Error::Refused(
            "git user.name and user.email are not set; run `git config user.name …` and `git config user.email …`".into(),
        )
    })
}

/// Paths (relative to the work tree) with uncommitted changes, staged or not,
/// including untracked files that are not ignored.
pub fn dirty_files(repo: &Repository) -> Result<Vec<String>> {
    let mut opts = StatusOptions::new();
    opts.include_untracked(true)
        .recurse_untracked_dirs(true)
        .include_ignored(false);
    let statuses = repo.statuses(Some(&mut opts))?;
    Ok(statuses
        .iter()
        .filter(|s| !s.status().is_empty())
        .filter_map(|s| s.path().ok().map(str::to_string))
        .collect())
}

pub fn current_branch(repo: &Repository) -> Option<String> {
    repo.head().ok()?.shorthand().ok().map(str::to_string)
}

pub fn head_id(repo: &Repository) -> Option<Oid> {
    repo.head().ok()?.target()
}

/// Make `branch` current: create it at HEAD, or resume it when it descends
/// from HEAD. A branch that diverged is refused. Returns the base commit.
pub fn ensure_branch(repo: &Repository, branch: &str) -> Result<Oid> {
    check_ready(repo)?;
    let head = head_id(repo).ok_or_else(|| Error::Git("HEAD has no commit".into()))?;
    if current_branch(repo).as_deref() == Some(branch) {
        return Ok(head);
    }
    match repo.find_branch(branch, BranchType::Local) {
        Ok(b) => {
            let tip = b
                .get()
                .target()
                .ok_or_else(|| Error::Git(format!("branch {branch} has no target")))?;
            if tip != head && !repo.graph_descendant_of(tip, head)? {
                return Err(Error::Refused(format!(
                    "branch {branch} exists but does not descend from the current HEAD ({}); rebase it or delete it to start over",
                    short(head)
                )));
            }
            let obj = repo.find_object(tip, None)?;
            let mut co = git2::build::CheckoutBuilder::new();
            co.safe();
            repo.checkout_tree(&obj, Some(&mut co))?;
            repo.set_head(&format!("refs/heads/{branch}"))?;
            Ok(head)
        }
        Err(_) => {
            let commit = repo.find_commit(head)?;
            repo.branch(branch, &commit, false)?;
            repo.set_head(&format!("refs/heads/{branch}"))?;
            Ok(head)
        }
    }
}

/// Create a lightweight tag at `at` unless it exists; never moves a tag.
/// Returns false when the tag already existed (at the same or another commit).
pub fn tag_base(repo: &Repository, name: &str, at: Oid) -> Result<bool> {
    if repo.refname_to_id(&format!("refs/tags/{name}")).is_ok() {
        return Ok(false);
    }
    let obj = repo.find_object(at, None)?;
    repo.tag_lightweight(name, &obj, false)?;
    Ok(true)
}

/// Commit exactly `files` (relative paths; deleted files are removed from the
/// index) on the current branch. Returns None, creating nothing, when the
/// files already match HEAD (e.g. an interrupted run had committed them).
pub fn commit_files(repo: &Repository, files: &[String], message: &str) -> Result<Option<Oid>> {
    let cfg = repo.config()?;
    if cfg.get_bool("commit.gpgsign").unwrap_or(false) {
        return Err(Error::Refused(
            "commit.gpgsign is true and charon-tui cannot sign commits: commit this phase yourself (`git commit -S`) or run with --no-commit".into(),
        ));
    }
    let sig = signature(repo)?;
    let workdir = repo
        .workdir()
        .ok_or_else(|| Error::Git("bare repository".into()))?
        .to_path_buf();
    let mut index = repo.index()?;
    for f in files {
        if workdir.join(f).exists() {
            index.add_path(Path::new(f))?;
        } else {
            let _ = index.remove_path(Path::new(f));
        }
    }
    index.write()?;
    let tree_id = index.write_tree()?;
    let parent = repo.head()?.peel_to_commit()?;
    if parent.tree_id() == tree_id {
        return Ok(None);
    }
    let tree = repo.find_tree(tree_id)?;
    let oid = repo.commit(Some("HEAD"), &sig, &sig, message, &tree, &[&parent])?;
    Ok(Some(oid))
}

/// Remove git lock files (`*.lock` under .git) created at or after `since`
/// (unix seconds) and older than two seconds: those a killed charon-tui left
/// in the middle of a git operation. Returns the removed paths.
pub fn remove_stale_git_locks(repo: &Repository, since: u64) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    let now = std::time::SystemTime::now();
    let mut stack = vec![repo.path().to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let Ok(meta) = e.metadata() else { continue };
            if meta.is_dir() {
                if !p.ends_with("objects") {
                    stack.push(p);
                }
                continue;
            }
            if p.extension().is_none_or(|x| x != "lock") {
                continue;
            }
            let Ok(m) = meta.modified() else { continue };
            let secs = m
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            let age = now.duration_since(m).unwrap_or_default();
            if secs >= since
                && age >= std::time::Duration::from_secs(2)
                && std::fs::remove_file(&p).is_ok()
            {
                removed.push(p);
            }
        }
    }
    removed
}

pub fn short(oid: Oid) -> String {
    oid.to_string().chars().take(8).collect()
}

/// Create a repository in `dir` with every file in it committed on `main`.
pub fn init_with_commit(dir: &Path, message: &str) -> Result<Oid> {
    let mut opts = git2::RepositoryInitOptions::new();
    opts.initial_head("main");
    let repo = Repository::init_opts(dir, &opts)?;
    let sig = repo
        .signature()
        .or_else(|_| Signature::now("charon-tui demo", "demo@charon-tui.invalid"))?;
    let mut index = repo.index()?;
    index.add_all(["*"].iter(), git2::IndexAddOption::DEFAULT, None)?;
    index.write()?;
    let tree = repo.find_tree(index.write_tree()?)?;
    let oid = repo.commit(Some("HEAD"), &sig, &sig, message, &tree, &[])?;
    Ok(oid)
}

/// The text of `path` at commit `at`, if it exists there and is UTF-8.
pub fn read_at(repo: &Repository, at: Oid, path: &str) -> Option<String> {
    let commit = repo.find_commit(at).ok()?;
    let entry = commit.tree().ok()?.get_path(Path::new(path)).ok()?;
    let blob = repo.find_blob(entry.id()).ok()?;
    String::from_utf8(blob.content().to_vec()).ok()
}

/// A commit of the migration branch that carries charon-tui's trailers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhaseCommit {
    pub oid: Oid,
    pub parent: Option<Oid>,
    /// `Migration-Phase:` (a phase commit) …
    pub phase: Option<String>,
    pub items: Vec<String>,
    /// … or `Migration-Rollback:` (a rollback of that phase).
    pub rollback: Option<String>,
}

fn trailer<'a>(msg: &'a str, key: &str) -> Option<&'a str> {
    msg.lines()
        .rev()
        .find_map(|l| l.strip_prefix(key).map(str::trim))
}

/// Trailer-carrying commits on HEAD's first-parent history, newest first
/// (stops at the first 1,000 commits).
pub fn phase_commits(repo: &Repository) -> Result<Vec<PhaseCommit>> {
    let mut out = Vec::new();
    let Some(mut cur) = head_id(repo) else {
        return Ok(out);
    };
    for _ in 0..1000 {
        let c = repo.find_commit(cur)?;
        let msg = c.message().unwrap_or("");
        let phase = trailer(msg, "Migration-Phase:").map(str::to_string);
        let rollback = trailer(msg, "Migration-Rollback:").map(str::to_string);
        if phase.is_some() || rollback.is_some() {
            let items = trailer(msg, "Migration-Items:")
                .map(|s| {
                    s.split(',')
                        .map(|x| x.trim().to_string())
                        .filter(|x| !x.is_empty())
                        .collect()
                })
                .unwrap_or_default();
            out.push(PhaseCommit {
                oid: cur,
                parent: c.parent_id(0).ok(),
                phase,
                items,
                rollback,
            });
        }
        match c.parent_id(0) {
            Ok(p) => cur = p,
            Err(_) => break,
        }
    }
    Ok(out)
}

/// Revert `oid` on top of HEAD with a new commit; refused on conflicts.
pub fn revert(repo: &Repository, oid: Oid, message: &str) -> Result<Oid> {
    let commit = repo.find_commit(oid)?;
    let head = repo.head()?.peel_to_commit()?;
    let mut idx = repo.revert_commit(&commit, &head, 0, None)?;
    if idx.has_conflicts() {
        return Err(Error::Refused(format!(
            "reverting {} conflicts with later commits; revert it by hand (`git revert {}`)",
            short(oid),
            short(oid)
        )));
    }
    let tree_id = idx.write_tree_to(repo)?;
    let tree = repo.find_tree(tree_id)?;
    let mut co = git2::build::CheckoutBuilder::new();
    co.safe();
    repo.checkout_tree(tree.as_object(), Some(&mut co))?;
    let mut index = repo.index()?;
    index.read_tree(&tree)?;
    index.write()?;
    let sig = signature(repo)?;
    Ok(repo.commit(Some("HEAD"), &sig, &sig, message, &tree, &[&head])?)
}

/// Move the current branch (and work tree) to `oid`.
pub fn reset_hard(repo: &Repository, oid: Oid) -> Result<()> {
    let obj = repo.find_object(oid, None)?;
    repo.reset(&obj, git2::ResetType::Hard, None)?;
    Ok(())
}
