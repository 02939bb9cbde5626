//! The command-line contract: subcommands, formats, exit codes, errors.

use predicates::prelude::*;

use crate::util::{bin, demo, git};

#[test]
fn status_lists_every_phase_and_item_pending() {
    let (_d, repo) = demo();
    let out = bin()
        .arg("--repo")
        .arg(&repo)
        .args(["status", "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let phases = v["phases"].as_array().unwrap();
    let ids: Vec<&str> = phases.iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "pre-migration",
            "dockerfile",
            "entrypoint",
            "ci",
            "testing",
            "docs",
            "post-migration"
        ]
    );
    let items: Vec<&serde_json::Value> = phases
        .iter()
        .flat_map(|p| p["items"].as_array().unwrap())
        .collect();
    assert!(items.len() >= 43, "{}", items.len());
    assert!(items.iter().all(|i| i["status"] == "pending"));
    // Stable keys.
    for k in [
        "id", "title", "kind", "status", "spec", "added", "pending", "applied", "rejected",
    ] {
        assert!(items[0].get(k).is_some(), "missing key {k}");
    }
    for k in ["repo", "branch", "recipe", "suite", "phases"] {
        assert!(v.get(k).is_some(), "missing key {k}");
    }
    let text = bin()
        .arg("--repo")
        .arg(&repo)
        .arg("status")
        .output()
        .unwrap();
    let t = String::from_utf8(text.stdout).unwrap();
    assert!(t.contains("0/51 items done"), "{t}");
    assert!(t.contains("Dockerfile Changes (dockerfile)"));
}

#[test]
fn plan_diff_applies_with_git() {
    let (_d, repo) = demo();
    let out = bin()
        .arg("--repo")
        .arg(&repo)
        .args(["plan", "--phase", "dockerfile", "--format", "diff"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let diff = String::from_utf8(out.stdout).unwrap();
    assert!(diff.contains(
        "+FROM --platform=$BUILDPLATFORM node:24.13.0-bookworm-slim AS frontend-builder"
    ));
    let p = repo.join("../plan.diff");
    std::fs::write(&p, &diff).unwrap();
    git(&repo, &["apply", "--check", p.to_str().unwrap()]);
}

#[test]
fn plan_json_and_markdown() {
    let (_d, repo) = demo();
    let out = bin()
        .arg("--repo")
        .arg(&repo)
        .args(["plan", "--format", "json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let hunks = v["hunks"].as_array().unwrap();
    assert!(hunks.len() >= 10);
    for h in hunks {
        for k in [
            "id",
            "phase",
            "item",
            "rule",
            "file",
            "line",
            "summary",
            "explanation",
            "flags",
            "diff",
        ] {
            assert!(h.get(k).is_some(), "missing {k}");
        }
    }
    let out = bin()
        .arg("--repo")
        .arg(&repo)
        .args(["plan", "--format", "markdown"])
        .output()
        .unwrap();
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(md.starts_with("# Migration review"));
    assert!(md.contains("### Replace all apk commands with apt-get"));
    assert!(md.contains("```diff"));
}

#[test]
fn apply_commits_the_phase_on_the_migration_branch() {
    let (_d, repo) = demo();
    bin()
        .arg("--repo")
        .arg(&repo)
        .args([
            "apply",
            "--phase",
            "dockerfile",
            "--yes",
            "--pair",
            "Pat Pair <pat@example.com>",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "dockerfile: 16 hunk(s) applied to 1 file(s), commit",
        ));
    assert_eq!(
        git(&repo, &["rev-parse", "--abbrev-ref", "HEAD"]).trim(),
        "feature/debian-migration"
    );
    let msg = git(&repo, &["log", "-1", "--format=%B"]);
    assert!(
        msg.starts_with("build(docker): migrate Dockerfile stages to Debian bookworm-slim\n"),
        "{msg}"
    );
    assert!(msg.contains("Migration-Phase: dockerfile"));
    assert!(msg.contains("Migration-Items: dockerfile.frontend-builder"));
    assert!(msg.contains("Co-authored-by: Pat Pair <pat@example.com>"));
    // Exactly the Dockerfile changed in that commit; main is untouched.
    assert_eq!(
        git(&repo, &["diff", "--name-only", "main", "HEAD"]).trim(),
        "Dockerfile"
    );
    assert!(git(&repo, &["status", "--porcelain"]).trim().is_empty());
    // Idempotent: nothing left to plan for the phase.
    let out = bin()
        .arg("--repo")
        .arg(&repo)
        .args(["plan", "--phase", "dockerfile"])
        .output()
        .unwrap();
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // Status survives the run.
    let df = crate::util::phase(
        &crate::util::cli_json(&repo, &["status", "--format", "json"]),
        "dockerfile",
    );
    assert_eq!(df["done"], df["total"]);
    assert!(df["commit"].is_string());
}

#[test]
fn apply_refuses_a_file_with_uncommitted_changes() {
    let (_d, repo) = demo();
    let df = repo.join("Dockerfile");
    let mut text = std::fs::read_to_string(&df).unwrap();
    text.push_str("# operator's uncommitted edit\n");
    std::fs::write(&df, &text).unwrap();
    bin()
        .arg("--repo")
        .arg(&repo)
        .args(["apply", "--phase", "dockerfile", "--yes"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "Dockerfile has uncommitted changes",
        ));
    assert_eq!(std::fs::read_to_string(&df).unwrap(), text, "edit kept");
}

#[test]
fn apply_needs_yes_and_a_known_phase() {
    let (_d, repo) = demo();
    bin()
        .arg("--repo")
        .arg(&repo)
        .args(["apply", "--phase", "dockerfile"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--yes"));
    bin()
        .arg("--repo")
        .arg(&repo)
        .args(["apply", "--phase", "dockerfiles", "--yes"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown phase `dockerfiles`"));
    bin()
        .arg("--repo")
        .arg(&repo)
        .args(["plan", "--phase", "nope"])
        .assert()
        .code(2);
}

#[test]
fn bad_repo_paths_exit_2_with_one_line() {
    let d = tempfile::tempdir().unwrap();
    let missing = d.path().join("missing");
    let out = bin()
        .arg("--repo")
        .arg(&missing)
        .arg("status")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("missing: no such directory"), "{err}");
    let out = bin()
        .arg("--repo")
        .arg(d.path())
        .arg("status")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("not a git repository"), "{err}");
    assert_eq!(err.lines().count(), 1);
}

#[test]
fn broken_recipe_exits_2_naming_file_and_line() {
    let (d, repo) = demo();
    let bad = d.path().join("bad.toml");
    let text = charon::recipe::EMBEDDED.replacen(
        "rules = [\"apk-to-apt\"]",
        "rules = [\"apk-to-zypper\"]",
        1,
    );
    std::fs::write(&bad, text).unwrap();
    let out = bin()
        .arg("--repo")
        .arg(&repo)
        .arg("--recipe")
        .arg(&bad)
        .arg("status")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("bad.toml:") && err.contains("unknown rule `apk-to-zypper`"),
        "{err}"
    );
    std::fs::write(&bad, "[recipe\nid=").unwrap();
    let out = bin()
        .arg("--repo")
        .arg(&repo)
        .arg("--recipe")
        .arg(&bad)
        .arg("status")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8(out.stderr)
        .unwrap()
        .contains("bad.toml:1:"));
}

#[test]
fn demo_writes_a_repo_and_refuses_a_non_empty_dir() {
    let d = tempfile::tempdir().unwrap();
    let target = d.path().join("x");
    bin()
        .args(["demo", "--no-tui"])
        .arg(&target)
        .assert()
        .success()
        .stdout(predicate::str::contains("x"));
    assert!(target.join(".git").is_dir());
    assert!(target.join("Dockerfile").is_file());
    bin()
        .args(["demo", "--no-tui"])
        .arg(&target)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not empty"));
}

#[test]
fn every_subcommand_has_help() {
    for sub in [
        "demo", "plan", "apply", "status", "check", "run", "rollback",
    ] {
        bin()
            .args([sub, "--help"])
            .assert()
            .success()
            .stdout(predicate::str::contains("Usage"));
    }
}

#[test]
fn suite_switch_changes_every_stage() {
    let (_d, repo) = demo();
    let out = bin()
        .arg("--repo")
        .arg(&repo)
        .args(["--suite", "trixie", "plan", "--phase", "dockerfile"])
        .output()
        .unwrap();
    let diff = String::from_utf8(out.stdout).unwrap();
    assert!(diff.contains("+ARG CADDY_IMAGE=debian:trixie-slim"));
    assert!(diff.contains("golang:${GO_VERSION}-trixie"));
    assert!(!diff.contains("+FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm"));
    bin()
        .arg("--repo")
        .arg(&repo)
        .args(["--suite", "sid", "status"])
        .assert()
        .code(2);
}
