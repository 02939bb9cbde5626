//! Git and state: branch rules, refusals, locking, rollback, resume from
//! trailers, and a crash harness that SIGKILLs `apply` at many points.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use predicates::prelude::*;

use crate::util::{apply_all, bin, cli_json, demo, git, phase};

fn apply(repo: &Path, phase: &str) -> assert_cmd::assert::Assert {
    bin()
        .arg("--repo")
        .arg(repo)
        .args(["apply", "--phase", phase, "--yes"])
        .assert()
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_string()
}

#[test]
fn a_held_lock_refuses_a_second_apply_naming_the_holder() {
    let (_d, repo) = demo();
    let mut holder = Command::new("sleep").arg("30").spawn().unwrap();
    let lock = repo.join(".git/charon-tui/lock");
    std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
    let info =
        serde_json::json!({"pid": holder.id(), "host": hostname(), "user": "pat", "started": 1});
    std::fs::write(&lock, info.to_string()).unwrap();
    apply(&repo, "dockerfile")
        .code(3)
        .stderr(predicate::str::contains(format!(
            "pid {} (pat@",
            holder.id()
        )));
    holder.kill().unwrap();
    holder.wait().unwrap();
    // Its process is gone: the lock is taken over with a notice.
    apply(&repo, "dockerfile")
        .success()
        .stderr(predicate::str::contains("took over a stale lock"));
    assert!(!lock.exists(), "lock released");
}

#[test]
fn two_concurrent_applies_one_wins_the_other_is_refused_or_finds_nothing() {
    let (_d, repo) = demo();
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_charon-tui"))
            .arg("--repo")
            .arg(&repo)
            .args(["apply", "--all", "--yes"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let codes = [a.status.code(), b.status.code()];
    assert!(codes.contains(&Some(0)), "{codes:?}");
    for o in [&a, &b] {
        if o.status.code() == Some(3) {
            assert!(String::from_utf8_lossy(&o.stderr).contains("holds the lock"));
        }
    }
    // Either way the result is one clean migration.
    let subjects = git(&repo, &["log", "--format=%s", "main..HEAD"]);
    assert_eq!(subjects.lines().count(), 5, "{subjects}");
}

#[test]
fn unsafe_repository_states_are_refused() {
    let d = tempfile::tempdir().unwrap();
    // Bare.
    let bare = d.path().join("bare.git");
    git(d.path(), &["init", "-q", "--bare", bare.to_str().unwrap()]);
    bin()
        .arg("--repo")
        .arg(&bare)
        .arg("status")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bare repository"));
    // Unborn branch.
    let unborn = d.path().join("unborn");
    git(d.path(), &["init", "-q", unborn.to_str().unwrap()]);
    apply(&unborn, "dockerfile")
        .code(3)
        .stderr(predicate::str::contains("no commit yet"));
    // Detached HEAD.
    let (_d2, repo) = demo();
    git(&repo, &["checkout", "-q", "--detach"]);
    apply(&repo, "dockerfile")
        .code(3)
        .stderr(predicate::str::contains("HEAD is detached"));
    // Merge in progress.
    let (_d3, repo) = demo();
    let head = git(&repo, &["rev-parse", "HEAD"]);
    std::fs::write(repo.join(".git/MERGE_HEAD"), head).unwrap();
    apply(&repo, "dockerfile")
        .code(3)
        .stderr(predicate::str::contains("in progress"));
    // Diverged migration branch.
    let (_d4, repo) = demo();
    git(&repo, &["branch", "feature/debian-migration"]);
    std::fs::write(repo.join("NEWS"), "x\n").unwrap();
    git(&repo, &["add", "NEWS"]);
    git(&repo, &["commit", "-qm", "main moves on"]);
    git(&repo, &["checkout", "-q", "feature/debian-migration"]);
    std::fs::write(repo.join("OTHER"), "y\n").unwrap();
    git(&repo, &["add", "OTHER"]);
    git(&repo, &["commit", "-qm", "branch moves on"]);
    git(&repo, &["checkout", "-q", "main"]);
    apply(&repo, "dockerfile")
        .code(3)
        .stderr(predicate::str::contains("does not descend"));
    // commit.gpgsign: never an unsigned commit.
    let (_d5, repo) = demo();
    git(&repo, &["config", "commit.gpgsign", "true"]);
    apply(&repo, "dockerfile")
        .code(3)
        .stderr(predicate::str::contains("commit.gpgsign"));
    assert_eq!(
        git(&repo, &["log", "--format=%s", "-1"]).trim(),
        "Charon demo: Alpine-based images"
    );
}

#[test]
fn missing_identity_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let repo = d.path().join("r");
    charon::demo::write(&repo).unwrap();
    let home = d.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    bin()
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", &home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env_remove("GIT_AUTHOR_NAME")
        .env_remove("GIT_AUTHOR_EMAIL")
        .arg("--repo")
        .arg(&repo)
        .args(["apply", "--phase", "dockerfile", "--yes"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("user.name"));
}

#[test]
fn other_dirty_files_are_left_alone_and_never_committed() {
    let (_d, repo) = demo();
    std::fs::write(repo.join("README.md"), "operator's draft\n").unwrap();
    std::fs::write(repo.join("scratch.txt"), "notes\n").unwrap();
    apply(&repo, "dockerfile").success();
    assert_eq!(
        std::fs::read_to_string(repo.join("README.md")).unwrap(),
        "operator's draft\n"
    );
    let files = git(&repo, &["show", "--name-only", "--format=", "HEAD"]);
    assert_eq!(files.trim(), "Dockerfile");
    let status = git(&repo, &["status", "--porcelain"]);
    assert!(
        status.contains(" M README.md") && status.contains("?? scratch.txt"),
        "{status}"
    );
}

#[test]
fn base_tag_is_created_once_and_never_moved() {
    let (_d, repo) = demo();
    let main = git(&repo, &["rev-parse", "main"]);
    git(&repo, &["tag", "pre-debian-migration", "HEAD"]);
    std::fs::write(repo.join("NEWS"), "x\n").unwrap();
    git(&repo, &["add", "NEWS"]);
    git(&repo, &["commit", "-qm", "later"]);
    bin()
        .arg("--repo")
        .arg(&repo)
        .args(["apply", "--phase", "pre-migration", "--yes"])
        .assert()
        .success()
        .stderr(predicate::str::contains("already exists; left where it is"));
    assert_eq!(git(&repo, &["rev-parse", "pre-debian-migration"]), main);
}

#[test]
fn rollback_a_phase_and_everything() {
    let (_d, repo) = demo();
    let original = std::fs::read_to_string(repo.join("Dockerfile")).unwrap();
    apply_all(&repo);
    // Refused while work is uncommitted.
    std::fs::write(repo.join("scratch.txt"), "wip\n").unwrap();
    bin()
        .arg("--repo")
        .arg(&repo)
        .args(["rollback", "--phase", "dockerfile"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("scratch.txt"));
    std::fs::remove_file(repo.join("scratch.txt")).unwrap();
    bin()
        .arg("--repo")
        .arg(&repo)
        .args(["rollback", "--phase", "dockerfile"])
        .assert()
        .success()
        .stdout(predicate::str::contains("reverted"));
    assert_eq!(
        std::fs::read_to_string(repo.join("Dockerfile")).unwrap(),
        original
    );
    let msg = git(&repo, &["log", "-1", "--format=%B"]);
    assert!(msg.contains("Migration-Rollback: dockerfile"), "{msg}");
    let df = phase(
        &cli_json(&repo, &["status", "--format", "json"]),
        "dockerfile",
    );
    assert_eq!(df["done"], 0, "{df}");
    assert!(df["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["pending"].as_u64().unwrap() > 0));
    // Everything: needs --yes, then resets to the base.
    bin()
        .arg("--repo")
        .arg(&repo)
        .args(["rollback", "--all"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--yes"));
    bin()
        .arg("--repo")
        .arg(&repo)
        .args(["rollback", "--all", "--yes"])
        .assert()
        .success();
    assert_eq!(
        git(&repo, &["rev-parse", "HEAD"]),
        git(&repo, &["rev-parse", "main"])
    );
    assert_eq!(
        git(&repo, &["rev-parse", "--abbrev-ref", "HEAD"]).trim(),
        "feature/debian-migration"
    );
}

#[test]
fn state_is_rebuilt_from_trailers_and_survives_corruption() {
    let (_d, repo) = demo();
    apply(&repo, "dockerfile").success();
    let state = repo.join(".git/charon-tui/state.json");
    std::fs::remove_file(&state).unwrap();
    let v = cli_json(&repo, &["status", "--format", "json"]);
    let df = phase(&v, "dockerfile");
    assert!(df["commit"].is_string(), "{df}");
    assert!(
        v["warnings"]
            .to_string()
            .contains("rebuilt from 1 phase commit"),
        "{v}"
    );
    let apk = df["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == "dockerfile.apk")
        .unwrap()
        .clone();
    assert_eq!(apk["status"], "done");
    // Corrupt: moved aside, explained, no panic.
    std::fs::write(&state, "{\"schema\": 1, \"recip").unwrap();
    let out = bin()
        .arg("--repo")
        .arg(&repo)
        .arg("status")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("moved aside"), "{text}");
    // Future schema: also moved aside.
    std::fs::write(&state, "{\"schema\": 7}").unwrap();
    let out = bin()
        .arg("--repo")
        .arg(&repo)
        .arg("status")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("newer charon-tui"));
}

#[test]
fn decisions_reattach_after_unrelated_edits_move_lines() {
    let (_d, repo) = demo();
    let plan = |repo: &Path| cli_json(repo, &["plan", "--format", "json"]);
    let before = plan(&repo);
    let id = before["hunks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["item"] == "dockerfile.apk")
        .unwrap()["id"]
        .clone();
    let df = repo.join("Dockerfile");
    let text = std::fs::read_to_string(&df).unwrap();
    std::fs::write(&df, format!("# a new header line\n# and another\n{text}")).unwrap();
    git(&repo, &["commit", "-qam", "unrelated edit"]);
    let after = plan(&repo);
    let same = after["hunks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["id"] == id)
        .unwrap()
        .clone();
    let old_line = before["hunks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["id"] == id)
        .unwrap()["line"]
        .as_u64()
        .unwrap();
    assert_eq!(same["line"].as_u64().unwrap(), old_line + 2);
}

/// A tiny deterministic generator for kill delays.
fn delays(n: usize, max_ms: u64) -> Vec<u64> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % max_ms
        })
        .collect()
}

#[test]
fn sigkill_at_any_point_resumes_to_the_same_tree_and_commits() {
    let runs = if std::env::var_os("CHARON_LONG_TESTS").is_some() {
        100
    } else {
        20
    };
    // Reference: one uninterrupted run.
    let (_r, reference) = demo();
    let t0 = std::time::Instant::now();
    apply_all(&reference);
    // Kill points spread over most of a run's duration, as measured here.
    let full = (t0.elapsed().as_millis() as u64 * 4 / 5).max(50);
    let ref_tree = git(&reference, &["rev-parse", "HEAD^{tree}"]);
    let ref_subjects = git(&reference, &["log", "--format=%s", "main..HEAD"]);

    let mut killed = 0;
    for (i, delay) in delays(runs, full).into_iter().enumerate() {
        let (_d, repo) = demo();
        let mut child = Command::new(env!("CARGO_BIN_EXE_charon-tui"))
            .arg("--repo")
            .arg(&repo)
            .args(["apply", "--all", "--yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay));
        if child.try_wait().unwrap().is_none() {
            killed += 1;
        }
        let _ = child.kill(); // SIGKILL
        child.wait().unwrap();
        let out = bin()
            .arg("--repo")
            .arg(&repo)
            .args(["apply", "--all", "--yes"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "run {i} (kill at {delay} ms): resume failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            git(&repo, &["rev-parse", "HEAD^{tree}"]),
            ref_tree,
            "run {i} (kill at {delay} ms): different tree"
        );
        assert_eq!(
            git(&repo, &["log", "--format=%s", "main..HEAD"]),
            ref_subjects,
            "run {i} (kill at {delay} ms): different commits"
        );
        let status = git(&repo, &["status", "--porcelain", "--ignored"]);
        assert!(
            status.trim().is_empty() || !status.contains("charon-tui-tmp"),
            "run {i}: leftovers: {status}"
        );
        assert!(
            git(&repo, &["status", "--porcelain"]).trim().is_empty(),
            "run {i}: dirty tree"
        );
        let plan = bin().arg("--repo").arg(&repo).arg("plan").output().unwrap();
        assert!(plan.stdout.is_empty(), "run {i}: hunks left");
    }
    eprintln!("crash harness: {runs} runs, {killed} killed mid-apply (full run {full} ms)");
    assert!(
        killed * 4 >= runs,
        "too few runs were really interrupted ({killed}/{runs}): the harness would test nothing"
    );
}

#[test]
fn leftovers_after_a_committed_phase_go_to_post_migration() {
    let (_d, repo) = demo();
    apply(&repo, "dockerfile").success();
    let df = repo.join("Dockerfile");
    let text = std::fs::read_to_string(&df).unwrap();
    std::fs::write(&df, format!("{text}RUN apk add --no-cache jq\n")).unwrap();
    git(&repo, &["commit", "-qam", "someone adds an apk line"]);
    let v = cli_json(&repo, &["plan", "--format", "json"]);
    let h = v["hunks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["file"] == "Dockerfile")
        .unwrap()
        .clone();
    assert_eq!(h["item"], "post.workarounds", "{h}");
    assert_eq!(h["phase"], "post-migration");
    assert!(h["explanation"]
        .as_str()
        .unwrap()
        .starts_with("Left over after the dockerfile phase"));
    apply(&repo, "post-migration").success();
    assert!(!std::fs::read_to_string(&df).unwrap().contains("apk add"));
}

#[test]
fn a_decision_on_an_older_file_is_marked_changed_since_you_decided() {
    let (_d, repo) = demo();
    let plan = |repo: &Path| cli_json(repo, &["plan", "--format", "json"]);
    let v = plan(&repo);
    let h = v["hunks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["item"] == "dockerfile.users")
        .unwrap()
        .clone();
    // The operator rejected it (as the TUI would record it).
    let state_path = repo.join(".git/charon-tui/state.json");
    std::fs::create_dir_all(state_path.parent().unwrap()).unwrap();
    let recipe = charon::recipe::Recipe::embedded().unwrap();
    let mut st = charon::state::State::new(
        charon::state::RecipeRef {
            id: recipe.meta.id.clone(),
            version: recipe.meta.version.clone(),
            hash: recipe.hash.clone(),
        },
        "bookworm",
    );
    st.decide(
        h["id"].as_str().unwrap(),
        "dockerfile.users",
        "Dockerfile",
        "s",
        charon::state::Decision::Rejected,
    );
    st.save(&state_path).unwrap();
    // Then the file changed under that hunk.
    let df = repo.join("Dockerfile");
    let text = std::fs::read_to_string(&df)
        .unwrap()
        .replace("-u 1000 -G charon", "-u 1001 -G charon");
    std::fs::write(&df, text).unwrap();
    git(&repo, &["commit", "-qam", "uid 1001"]);
    let v = plan(&repo);
    let again = v["hunks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["item"] == "dockerfile.users")
        .unwrap()
        .clone();
    assert_ne!(again["id"], h["id"]);
    assert_eq!(again["changed_since_decision"], true);
    let other = v["hunks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["item"] == "dockerfile.apk")
        .unwrap()
        .clone();
    assert_eq!(other["changed_since_decision"], false);
}
