//! Shared helpers: temporary demo repositories, the binary under test, and
//! external validators (which must exist under CI and are reported, never
//! silently skipped, elsewhere).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn bin() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("charon-tui").expect("binary builds")
}

/// A fresh demo repository in a temporary directory.
pub fn demo() -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().expect("tempdir");
    let repo = d.path().join("demo repo ü");
    charon::demo::write(&repo).expect("demo writes");
    git(&repo, &["config", "user.name", "Test Operator"]);
    git(&repo, &["config", "user.email", "operator@example.com"]);
    (d, repo)
}

pub fn git(repo: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// Is an external tool available? Under CI it must be (CI installs it); a
/// developer without it gets a printed reason and the check is not run.
pub fn have(tool: &str) -> bool {
    let ok = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        if std::env::var_os("CI").is_some() {
            panic!("{tool} is required under CI (.ci/run installs it) but was not found");
        }
        eprintln!("SKIPPED: {tool} not installed; run .ci/run or install it to run this check");
    }
    ok
}

/// Number of hadolint findings for a Dockerfile text.
pub fn hadolint_count(text: &str) -> usize {
    let d = tempfile::tempdir().expect("tempdir");
    let p = d.path().join("Dockerfile");
    std::fs::write(&p, text).expect("write");
    let out = Command::new("hadolint")
        .args(["--no-fail", "-f", "json"])
        .arg(&p)
        .output()
        .expect("hadolint runs");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "hadolint json: {e}: {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    v.as_array().map(|a| a.len()).unwrap_or(0)
}

/// Run `charon-tui --repo REPO ARGS…`, require success, parse stdout as JSON.
pub fn cli_json(repo: &Path, args: &[&str]) -> serde_json::Value {
    let out = bin()
        .arg("--repo")
        .arg(repo)
        .args(args)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON output")
}

/// `charon-tui --repo REPO check --format json`: its exit code and report.
pub fn check_json(repo: &Path) -> (i32, serde_json::Value) {
    let out = bin()
        .arg("--repo")
        .arg(repo)
        .args(["check", "--format", "json"])
        .output()
        .expect("runs");
    (
        out.status.code().expect("exit code"),
        serde_json::from_slice(&out.stdout).expect("JSON output"),
    )
}

/// `charon-tui --repo REPO apply --all --yes`, which must succeed.
pub fn apply_all(repo: &Path) {
    bin()
        .arg("--repo")
        .arg(repo)
        .args(["apply", "--all", "--yes"])
        .assert()
        .success();
}

/// The phase `id` of a `status --format json` document.
pub fn phase(status: &serde_json::Value, id: &str) -> serde_json::Value {
    status["phases"]
        .as_array()
        .expect("phases")
        .iter()
        .find(|p| p["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("no phase {id}"))
}
