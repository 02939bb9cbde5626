//! The bad-input corpus (issue #8): every case gets a clear message naming
//! the file, or is handled correctly; never a panic, never a file outside
//! the repository touched, never a skipped file written. (CRLF, heredocs,
//! JSON-form RUN: tests/fixtures/dockerfile; a symlink pointing outside:
//! dockerfile_phase.rs; unknown recipe rule: cli.rs; corrupt, truncated and
//! future-schema state: git_state.rs; the path with a space and a `ü`: every
//! demo repository of the suite.)

use std::path::Path;
use std::process::Output;

use crate::util::{bin, demo, git};

fn cli(repo: &Path, args: &[&str]) -> Output {
    let out = bin()
        .arg("--repo")
        .arg(repo)
        .args(args)
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    assert_ne!(out.status.code(), Some(101), "{args:?}: {err}");
    out
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

fn commit(repo: &Path, msg: &str) {
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-qm", msg]);
}

/// Every file under `dir` with its bytes and modification time.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>, std::time::SystemTime)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            if meta.is_dir() {
                stack.push(p);
            } else if meta.is_file() {
                out.push((
                    p.display().to_string(),
                    std::fs::read(&p).unwrap(),
                    meta.modified().unwrap(),
                ));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_repository_full_of_bad_inputs_is_planned_checked_and_applied_without_harm() {
    let (d, repo) = demo();
    // Outside the repository: a file a link points at, and a neighbour.
    let outside = d.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(
        outside.join("Dockerfile"),
        "FROM alpine:3.19\nRUN apk add curl\n",
    )
    .unwrap();
    std::fs::write(outside.join("notes.txt"), "leave me alone\n").unwrap();
    let before_outside = snapshot(&outside);

    let bad = repo.join("bad");
    std::fs::create_dir_all(bad.join("latin1")).unwrap();
    // Non-UTF-8: Latin-1 é in a comment.
    let latin1 = b"# caf\xe9\nFROM alpine:3.19\nRUN apk add --no-cache curl\n".to_vec();
    std::fs::write(bad.join("latin1/Dockerfile"), &latin1).unwrap();
    // Binary bytes under a Dockerfile name.
    std::fs::create_dir_all(bad.join("binary")).unwrap();
    let binary: Vec<u8> = (0..4096u32).map(|i| (i * 7 % 256) as u8).collect();
    std::fs::write(bad.join("binary/Dockerfile"), &binary).unwrap();
    // A directory named Dockerfile, with a file in it.
    std::fs::create_dir_all(bad.join("dir/Dockerfile")).unwrap();
    std::fs::write(bad.join("dir/Dockerfile/README"), "not a Dockerfile\n").unwrap();
    // An empty Dockerfile.
    std::fs::create_dir_all(bad.join("empty")).unwrap();
    std::fs::write(bad.join("empty/Dockerfile"), "").unwrap();
    // 50 MB: a valid Dockerfile head followed by 50 MB of comment lines.
    std::fs::create_dir_all(bad.join("huge")).unwrap();
    let mut huge = String::from("FROM alpine:3.19\nRUN apk add --no-cache curl\n");
    let line = "# padding padding padding padding padding padding padding padding\n";
    while huge.len() < 50 * 1024 * 1024 {
        huge.push_str(line);
    }
    std::fs::write(bad.join("huge/Dockerfile"), &huge).unwrap();
    // A symlink named Dockerfile pointing outside the repository.
    std::fs::create_dir_all(bad.join("link")).unwrap();
    std::os::unix::fs::symlink(outside.join("Dockerfile"), bad.join("link/Dockerfile")).unwrap();
    // `# escape=` directive: not supported, left alone.
    std::fs::create_dir_all(bad.join("escape")).unwrap();
    let escape = "# escape=`\nFROM alpine:3.19\nRUN apk add --no-cache curl `\n    bash\n";
    std::fs::write(bad.join("escape/Dockerfile"), escape).unwrap();
    commit(&repo, "bad inputs");
    let untouched: Vec<(&str, Vec<u8>)> = vec![
        ("bad/latin1/Dockerfile", latin1.clone()),
        ("bad/binary/Dockerfile", binary.clone()),
        ("bad/dir/Dockerfile/README", b"not a Dockerfile\n".to_vec()),
        ("bad/empty/Dockerfile", Vec::new()),
        ("bad/huge/Dockerfile", huge.clone().into_bytes()),
        ("bad/escape/Dockerfile", escape.as_bytes().to_vec()),
    ];

    // plan: exit 0, the demo's hunks, and one precise line per bad file.
    let plan = cli(&repo, &["plan"]);
    assert_eq!(plan.status.code(), Some(0), "{}", stderr(&plan));
    let err = stderr(&plan);
    for want in [
        "bad/latin1/Dockerfile: not UTF-8 (invalid byte at offset 5); convert it to UTF-8 first",
        "bad/binary/Dockerfile:1: binary file (contains NUL bytes), skipped",
        "bad/huge/Dockerfile: larger than 8 MiB",
        "bad/link/Dockerfile: symbolic link, not followed",
        "bad/escape/Dockerfile:1: the `# escape=` parser directive is not supported; file left alone",
    ] {
        assert!(err.contains(want), "missing `{want}` in:\n{err}");
    }
    assert!(
        !err.contains("bad/dir/Dockerfile"),
        "a directory is not a file: {err}"
    );
    assert!(
        !err.contains("bad/empty"),
        "an empty Dockerfile is simply empty: {err}"
    );
    let diff = String::from_utf8_lossy(&plan.stdout);
    assert!(diff.contains("+++ b/Dockerfile"));
    assert!(!diff.contains("b/bad/"), "{diff}");

    // check: the same files reported as skipped, exit 1 for the demo's findings.
    let check = cli(&repo, &["check", "--format", "json"]);
    assert_eq!(check.status.code(), Some(1), "{}", stderr(&check));
    let v: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
    let skipped = v["skipped"].to_string();
    for f in [
        "bad/latin1/Dockerfile",
        "bad/binary/Dockerfile",
        "bad/huge/Dockerfile",
        "bad/link/Dockerfile",
        "bad/escape/Dockerfile",
    ] {
        assert!(skipped.contains(f), "{f} not in skipped: {skipped}");
    }

    // verify (dry run): each bad Dockerfile named and skipped, the others interpreted;
    // named explicitly, a bad one is an error.
    let v = cli(&repo, &["verify", "--dry-run"]);
    let err = stderr(&v);
    assert_eq!(v.status.code(), Some(0), "{err}");
    for want in [
        "bad/latin1/Dockerfile: not UTF-8 (invalid byte at offset 5); convert it to UTF-8 first (not verified)",
        "bad/binary/Dockerfile:1: binary file (contains NUL bytes), skipped (not verified)",
        "bad/huge/Dockerfile: larger than 8 MiB",
        "bad/link/Dockerfile: symbolic link, not followed",
        "bad/escape/Dockerfile:1: the `# escape=` parser directive is not supported; file left alone (not verified)",
    ] {
        assert!(err.contains(want), "missing `{want}` in:\n{err}");
    }
    let report = String::from_utf8_lossy(&v.stdout);
    assert!(
        report.contains("Dockerfile › stage @final (alpine:3.23"),
        "{report}"
    );
    // The empty Dockerfile has no stage: nothing to verify, nothing to say.
    assert!(!report.contains("bad/empty"), "{report}");
    let named = cli(
        &repo,
        &["verify", "--dry-run", "--file", "bad/binary/Dockerfile"],
    );
    assert_eq!(named.status.code(), Some(2));
    assert!(
        stderr(&named).contains(
            "charon-tui: bad/binary/Dockerfile:1: binary file (contains NUL bytes), skipped"
        ),
        "{}",
        stderr(&named)
    );

    // apply everything: succeeds, migrates the demo, writes none of the bad files.
    let apply = cli(&repo, &["apply", "--all", "--yes"]);
    assert_eq!(apply.status.code(), Some(0), "{}", stderr(&apply));
    for (rel, bytes) in &untouched {
        assert_eq!(
            &std::fs::read(repo.join(rel)).unwrap(),
            bytes,
            "{rel} changed"
        );
    }
    assert!(std::fs::symlink_metadata(bad.join("link/Dockerfile"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(
        snapshot(&outside),
        before_outside,
        "something outside the repository changed"
    );
    let root_entries: Vec<String> = std::fs::read_dir(d.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(
        root_entries.len(),
        2,
        "new files next to the repository: {root_entries:?}"
    );
    assert!(std::fs::read_to_string(repo.join("Dockerfile"))
        .unwrap()
        .contains("debian:bookworm-slim"));
}

#[test]
fn bom_tabs_and_unknown_instructions_are_kept_around_the_edits() {
    let (_d, repo) = demo();
    let text = "\u{feff}# syntax=docker/dockerfile:1\nFROM alpine:3.19\nFROBNICATE --all the things\nRUN apk add --no-cache \\\n\tcurl \\\n\tjq\n";
    std::fs::create_dir_all(repo.join("odd")).unwrap();
    std::fs::write(repo.join("odd/Dockerfile"), text).unwrap();
    commit(&repo, "odd");
    let apply = cli(&repo, &["apply", "--phase", "dockerfile", "--yes"]);
    assert_eq!(apply.status.code(), Some(0), "{}", stderr(&apply));
    let out = std::fs::read_to_string(repo.join("odd/Dockerfile")).unwrap();
    assert!(
        out.starts_with("\u{feff}# syntax=docker/dockerfile:1\nFROM debian:bookworm-slim\n"),
        "{out}"
    );
    assert!(out.contains("\nFROBNICATE --all the things\n"), "{out}");
    assert!(
        out.contains("apt-get install -y --no-install-recommends"),
        "{out}"
    );
    // The tab-indented continuation lines keep their tabs, new ones get tabs too.
    assert!(out.contains("\\\n\tcurl \\\n\tjq"), "{out:?}");
    let run = out.split("RUN ").nth(1).unwrap();
    assert!(run.lines().skip(1).all(|l| l.starts_with('\t')), "{out:?}");
    assert!(!out.contains("apk"), "{out}");
}

#[test]
fn an_unreadable_dockerfile_is_named_with_the_reason() {
    let (_d, repo) = demo();
    let df = repo.join("locked/Dockerfile");
    std::fs::create_dir_all(df.parent().unwrap()).unwrap();
    std::fs::write(&df, "FROM alpine:3.19\n").unwrap();
    commit(&repo, "locked");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&df, std::fs::Permissions::from_mode(0o000)).unwrap();
    let is_root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let out = if is_root {
        // Root reads anything: run as an ordinary user who owns the repository
        // but may not read that one file.
        let owner = std::process::Command::new("chown")
            .args(["-R", "65534:65534"])
            .arg(repo.parent().unwrap())
            .status()
            .unwrap();
        assert!(owner.success());
        std::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .env("HOME", repo.parent().unwrap())
            .arg(assert_cmd::cargo::cargo_bin("charon-tui"))
            .arg("--repo")
            .arg(&repo)
            .arg("plan")
            .output()
            .expect("setpriv runs")
    } else {
        cli(&repo, &["plan"])
    };
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("locked/Dockerfile: Permission denied"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}
