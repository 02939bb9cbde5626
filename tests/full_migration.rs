//! Every rewrite phase applied to the demo repository through the CLI, then
//! checked with the validators the brief names.

use std::process::Command;

use crate::util::{apply_all, bin, demo, git, have};

fn count(cmd: &mut Command) -> usize {
    let out = cmd.output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count()
}

#[test]
fn demo_full_migration_is_clean_and_idempotent() {
    let (d, repo) = demo();
    apply_all(&repo);
    // One commit per phase with changes, on the migration branch.
    let log = git(&repo, &["log", "--format=%s", "main..HEAD"]);
    for subject in [
        "chore(migration): record the Alpine baseline before the Debian migration",
        "build(docker): migrate Dockerfile stages to Debian bookworm-slim",
        "build(docker): port the entrypoint and scripts to Debian user tools",
        "ci: follow the Debian bookworm base images in workflows and Renovate",
        "docs: describe the Debian bookworm-slim images",
    ] {
        assert!(log.contains(subject), "missing commit {subject}: {log}");
    }
    assert!(git(&repo, &["status", "--porcelain"]).trim().is_empty());
    // Nothing left to plan.
    let out = bin().arg("--repo").arg(&repo).arg("plan").output().unwrap();
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // Scripts and compose: no busybox/Alpine tools left, syntax fine, shellcheck no worse.
    let script = repo.join(".docker/docker-entrypoint.sh");
    let text = std::fs::read_to_string(&script).unwrap();
    for bad in ["su-exec", "addgroup", "adduser", "wget"] {
        assert!(!text.contains(bad), "{bad} left in the entrypoint");
    }
    assert!(Command::new("sh")
        .arg("-n")
        .arg(&script)
        .status()
        .unwrap()
        .success());
    let compose = std::fs::read_to_string(repo.join(".docker/compose/docker-compose.yml")).unwrap();
    assert!(!compose.contains("wget"));
    let orig = d.path().join("orig-entrypoint.sh");
    std::fs::write(
        &orig,
        git(&repo, &["show", "main:.docker/docker-entrypoint.sh"]),
    )
    .unwrap();
    if have("shellcheck") {
        let b = count(Command::new("shellcheck").args(["-f", "gcc"]).arg(&orig));
        let a = count(Command::new("shellcheck").args(["-f", "gcc"]).arg(&script));
        assert!(a <= b, "shellcheck {b} → {a}");
    }
    // Workflows parse and actionlint is no worse.
    for wf in ["docker-build.yml", "security-weekly-rebuild.yml"] {
        let p = repo.join(".github/workflows").join(wf);
        let after = std::fs::read_to_string(&p).unwrap();
        charon::analyze::yaml::parse(&after).unwrap();
        assert!(
            !after.contains("caddy:2-alpine") && !after.contains("apk "),
            "{wf}"
        );
        if have("actionlint") {
            let dir = d.path().join("wf/.github/workflows");
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(
                dir.join(wf),
                git(&repo, &["show", &format!("main:.github/workflows/{wf}")]),
            )
            .unwrap();
            let b = count(
                Command::new("actionlint")
                    .args(["-oneline", "-no-color"])
                    .arg(dir.join(wf)),
            );
            let a = count(
                Command::new("actionlint")
                    .args(["-oneline", "-no-color"])
                    .arg(&p),
            );
            assert!(a <= b, "{wf}: actionlint {b} → {a}");
        }
    }
    // Renovate: valid JSON, a customManagers regex entry matching the Dockerfile.
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo.join("renovate.json")).unwrap())
            .unwrap();
    let m = &cfg["customManagers"][0];
    assert_eq!(m["customType"], "regex");
    let re = regex::Regex::new(m["matchStrings"][0].as_str().unwrap()).unwrap();
    let dockerfile = std::fs::read_to_string(repo.join("Dockerfile")).unwrap();
    assert_eq!(
        &re.captures(&dockerfile).unwrap()["currentValue"],
        "bookworm-slim"
    );
    // CHANGELOG: an entry under [Unreleased]; the plan archived; the baseline written.
    let changelog = std::fs::read_to_string(repo.join("CHANGELOG.md")).unwrap();
    let unreleased = changelog
        .split("## [Unreleased]")
        .nth(1)
        .unwrap()
        .split("\n## [")
        .next()
        .unwrap();
    assert!(
        unreleased.contains("Debian bookworm-slim instead of Alpine"),
        "{unreleased}"
    );
    assert!(repo
        .join("docs/implementation/alpine-to-debian-migration.md")
        .is_file());
    assert!(!repo
        .join("docs/plans/alpine-to-debian-migration.md")
        .exists());
    let baseline =
        std::fs::read_to_string(repo.join("docs/implementation/alpine-baseline.md")).unwrap();
    assert!(
        baseline.contains("| Dockerfile | @final | `${CADDY_IMAGE}` | `alpine:3.23` |"),
        "{baseline}"
    );
    // Rename recorded as a rename by git.
    let stat = git(&repo, &["show", "--stat", "-M", "--format=", "HEAD"]);
    assert!(stat.contains("=>"), "{stat}");
}
