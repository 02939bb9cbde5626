//! The dockerfile phase on the demo repository, end to end through the CLI.

use crate::util::{bin, demo, git, hadolint_count, have};

#[test]
fn demo_dockerfile_phase_leaves_no_alpine() {
    let (_d, repo) = demo();
    let before = std::fs::read_to_string(repo.join("Dockerfile")).unwrap();
    bin()
        .arg("--repo")
        .arg(&repo)
        .args(["apply", "--phase", "dockerfile", "--yes"])
        .assert()
        .success();
    let after = std::fs::read_to_string(repo.join("Dockerfile")).unwrap();
    for line in after.lines().filter(|l| !l.trim_start().starts_with('#')) {
        for bad in ["apk", "alpine", "su-exec", "musl", "addgroup", "adduser"] {
            assert!(!line.contains(bad), "`{bad}` left: {line}");
        }
        assert!(
            !line
                .replace("/usr/sbin/nologin", "")
                .contains("/sbin/nologin"),
            "{line}"
        );
    }
    // Every stage on one Debian release.
    let doc =
        charon::analyze::dockerfile::parse(std::path::Path::new("Dockerfile"), &after).unwrap();
    for st in &doc.stages {
        let img = doc.from_image(st).unwrap();
        let resolved = if img.text.starts_with('$') {
            "debian:bookworm-slim".to_string() // via ARG CADDY_IMAGE, checked below
        } else {
            img.text.clone()
        };
        assert!(
            resolved.contains("bookworm") || resolved.starts_with("tonistiigi/xx"),
            "stage {} on {resolved}",
            st.label()
        );
    }
    assert!(after.contains("ARG CADDY_IMAGE=debian:bookworm-slim"));
    // Idempotent.
    let out = bin()
        .arg("--repo")
        .arg(&repo)
        .args(["plan", "--phase", "dockerfile"])
        .output()
        .unwrap();
    assert!(out.stdout.is_empty());
    if have("hadolint") {
        let (b, a) = (hadolint_count(&before), hadolint_count(&after));
        assert!(a <= b, "hadolint {b} → {a}");
    }
    assert_eq!(
        git(&repo, &["log", "--format=%s", "-1"]).trim(),
        "build(docker): migrate Dockerfile stages to Debian bookworm-slim"
    );
}

#[test]
fn a_broken_dockerfile_does_not_stop_the_others() {
    let (_d, repo) = demo();
    std::fs::create_dir_all(repo.join("tools")).unwrap();
    std::fs::write(repo.join("tools/Dockerfile"), "FROM alpine:3.19\nCOPY\n").unwrap();
    std::fs::write(
        repo.join("tools/api.Dockerfile"),
        "FROM alpine:3.19\nRUN apk add --no-cache curl\n",
    )
    .unwrap();
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "more dockerfiles"]);
    let out = bin()
        .arg("--repo")
        .arg(&repo)
        .args(["plan", "--phase", "dockerfile"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("warning: tools/Dockerfile:2: syntax error"),
        "{err}"
    );
    let diff = String::from_utf8(out.stdout).unwrap();
    assert!(diff.contains("+++ b/tools/api.Dockerfile"));
    assert!(diff.contains("+++ b/Dockerfile"));
    assert!(!diff.contains("+++ b/tools/Dockerfile"));
}

#[test]
fn symlinked_dockerfile_is_never_written_through() {
    let (d, repo) = demo();
    let outside = d.path().join("outside.Dockerfile");
    std::fs::write(&outside, "FROM alpine:3.19\n").unwrap();
    std::os::unix::fs::symlink(&outside, repo.join("linked.Dockerfile")).unwrap();
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "link"]);
    let out = bin()
        .arg("--repo")
        .arg(&repo)
        .args(["apply", "--phase", "dockerfile", "--yes"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&outside).unwrap(),
        "FROM alpine:3.19\n"
    );
    let out = bin()
        .arg("--repo")
        .arg(&repo)
        .args(["plan"])
        .output()
        .unwrap();
    assert!(String::from_utf8(out.stderr)
        .unwrap()
        .contains("linked.Dockerfile: symbolic link, not followed"));
}
