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
/// index) on the current branch.
pub fn commit_files(repo: &Repository, files: &[String], message: &str) -> Result<Oid> {
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
    let tree = repo.find_tree(tree_id)?;
    let parent = repo.head()?.peel_to_commit()?;
    let oid = repo.commit(Some("HEAD"), &sig, &sig, message, &tree, &[&parent])?;
    Ok(oid)
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
