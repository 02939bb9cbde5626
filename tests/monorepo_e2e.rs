//! The scale benchmarks' synthetic monorepo (benches/monorepo.rs, same seed),
//! 300 files, migrated end to end as a platform team would: `apply --all`,
//! then nothing left to plan, no rewrite left for `check`, hadolint and
//! shellcheck never worse, `sh -n` still passing, and migrated Dockerfiles
//! running on real Debian (`verify`, where root and debootstrap exist).

use std::path::Path;
use std::process::Command;

use crate::util::{apply_all, check_json, cli_json, git, hadolint_count, have};

#[path = "../benches/monorepo.rs"]
#[allow(dead_code)]
mod generator;

fn rewrites(check: &serde_json::Value) -> usize {
    check["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rewrite"] == true)
        .count()
}

fn check(repo: &Path) -> serde_json::Value {
    let (code, v) = check_json(repo);
    assert!(matches!(code, 0 | 1), "check exit {code}: {v}");
    v
}

fn shellcheck_count(text: &str) -> usize {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("s.sh");
    std::fs::write(&p, text).unwrap();
    let out = Command::new("shellcheck")
        .args(["-f", "json"])
        .arg(&p)
        .output()
        .unwrap();
    serde_json::from_slice::<serde_json::Value>(&out.stdout)
        .map(|v| v.as_array().map_or(0, Vec::len))
        .unwrap_or_else(|e| panic!("shellcheck json: {e}"))
}

#[test]
fn a_synthetic_monorepo_migrates_cleanly_and_runs_on_debian() {
    let d = tempfile::tempdir().unwrap();
    let repo = d.path().join("mono");
    assert_eq!(generator::generate(&repo, 300, 0x00C4_A201).unwrap(), 300);
    assert!(generator::commit(&repo));
    git(&repo, &["config", "user.name", "Test Operator"]);
    git(&repo, &["config", "user.email", "operator@example.com"]);

    let before = check(&repo);
    assert!(rewrites(&before) > 50, "{}", rewrites(&before));
    apply_all(&repo);
    let plan = cli_json(&repo, &["plan", "--format", "json"]);
    assert_eq!(plan["hunks"].as_array().unwrap().len(), 0, "{plan}");
    let after = check(&repo);
    assert_eq!(rewrites(&after), 0, "{after}");

    let changed: Vec<String> = git(&repo, &["diff", "--name-only", "pre-debian-migration"])
        .lines()
        .map(str::to_string)
        .collect();
    let original = |f: &str| git(&repo, &["show", &format!("pre-debian-migration:{f}")]);
    let now = |f: &str| std::fs::read_to_string(repo.join(f)).unwrap();
    let dockerfiles: Vec<&String> = changed
        .iter()
        .filter(|f| f.ends_with("/Dockerfile"))
        .collect();
    let scripts: Vec<&String> = changed.iter().filter(|f| f.ends_with(".sh")).collect();
    assert!(dockerfiles.len() >= 15, "{changed:?}");
    assert!(scripts.len() >= 15, "{changed:?}");
    for f in &scripts {
        let ok = Command::new("sh")
            .arg("-n")
            .arg(repo.join(f))
            .status()
            .unwrap();
        assert!(ok.success(), "sh -n {f}");
    }
    if have("hadolint") {
        for f in &dockerfiles {
            let (b, a) = (hadolint_count(&original(f)), hadolint_count(&now(f)));
            assert!(a <= b, "{f}: hadolint {b} → {a}");
        }
    }
    if have("shellcheck") {
        for f in &scripts {
            let (b, a) = (shellcheck_count(&original(f)), shellcheck_count(&now(f)));
            assert!(a <= b, "{f}: shellcheck {b} → {a}");
        }
    }
    if crate::verify::can_verify() {
        // Three migrated Alpine Dockerfiles run on real Debian.
        let alpine: Vec<&&String> = dockerfiles
            .iter()
            .filter(|f| original(f).contains("FROM alpine"))
            .take(3)
            .collect();
        assert_eq!(alpine.len(), 3);
        for f in alpine {
            let (code, report, err) = crate::verify::verify(&repo, &["--file", f]);
            assert_eq!(code, 0, "{f}: {report}\n{err}");
        }
    }
}
