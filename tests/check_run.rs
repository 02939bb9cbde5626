//! `check` (residual scan, text/JSON/SARIF, exit codes) and `run ITEM`
//! (blocked, failed, timeout ending the process group, recipe trust).

use std::process::Command;

use predicates::prelude::*;

use crate::util::{apply_all, bin, check_json, demo, git};

/// The schema documented in docs/CHECK.md, checked field by field.
fn assert_schema(v: &serde_json::Value) {
    assert_eq!(v["schema"], "charon-tui/check/v1");
    assert!(v["files_scanned"].is_u64());
    assert!(v["skipped"].is_array());
    for f in v["findings"].as_array().unwrap() {
        for k in ["rule", "severity", "file", "message", "hint"] {
            assert!(f[k].is_string(), "{k} in {f}");
        }
        assert!(["error", "warning", "note"].contains(&f["severity"].as_str().unwrap()));
        assert!(
            f["line"].as_u64().unwrap() >= 1 && f["column"].as_u64().unwrap() >= 1,
            "{f}"
        );
        assert!(f["rewrite"].is_boolean());
        assert_eq!(f.as_object().unwrap().len(), 8, "no undocumented keys: {f}");
    }
}

#[test]
fn demo_before_and_after_migration() {
    let (_d, repo) = demo();
    let (code, v) = check_json(&repo);
    assert_eq!(code, 1);
    assert_schema(&v);
    let rules: std::collections::BTreeSet<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    for r in [
        "base-image",
        "apk-to-apt",
        "xx-apk",
        "busybox-users",
        "clang-wrapper",
        "needed-packages",
        "sh-su-exec",
        "sh-addgroup",
        "sh-adduser",
        "sh-wget",
        "compose-wget",
        "ci-caddy-digest",
        "ci-apk-info",
        "renovate-manager",
    ] {
        assert!(rules.contains(r), "rule {r} not reported: {rules:?}");
    }
    // SARIF 2.1.0 required fields.
    let out = bin()
        .arg("--repo")
        .arg(&repo)
        .args(["check", "--format", "sarif"])
        .output()
        .unwrap();
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["version"], "2.1.0");
    let run = &s["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "charon-tui");
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), v["findings"].as_array().unwrap().len());
    for r in results {
        assert!(r["ruleId"].is_string() && r["message"]["text"].is_string());
        let loc = &r["locations"][0]["physicalLocation"];
        assert!(loc["artifactLocation"]["uri"].is_string());
        assert!(loc["region"]["startLine"].as_u64().unwrap() >= 1);
    }
    // Text output groups by file and counts.
    let out = bin()
        .arg("--repo")
        .arg(&repo)
        .arg("check")
        .output()
        .unwrap();
    let t = String::from_utf8(out.stdout).unwrap();
    assert!(
        t.contains("\nDockerfile\n") && t.contains("finding(s)"),
        "{t}"
    );
    assert!(!t.contains('\x1b'), "no colour when not a terminal");
    // After every rewrite phase: clean.
    apply_all(&repo);
    let (code, v) = check_json(&repo);
    assert_eq!(code, 0, "{v}");
    assert!(v["findings"].as_array().unwrap().is_empty());
}

#[test]
fn rules_the_demo_does_not_show() {
    let (_d, repo) = demo();
    std::fs::write(
        repo.join("tools.Dockerfile"),
        "FROM golang:1.25-trixie AS b\nFROM alpine:3.19\nSHELL [\"/bin/ash\", \"-c\"]\nRUN ln -s /lib/libc.musl-x86_64.so.1 /lib64/ld-linux-x86-64.so.2 && scanelf --needed /bin/x\nRUN curl -fsSLO https://e.x/t-x86_64-unknown-linux-musl.tgz\n",
    )
    .unwrap();
    std::fs::create_dir_all(repo.join("scripts")).unwrap();
    std::fs::write(repo.join("scripts/start"), "#!/bin/ash\nsu-exec app true\n").unwrap();
    std::fs::write(
        repo.join("docker-compose.yml"),
        "services:\n  cache:\n    image: redis:7-alpine\n",
    )
    .unwrap();
    std::fs::write(repo.join("renovate.json"), "{\n  \"customManagers\": [{\"customType\": \"regex\", \"managerFilePatterns\": [\"/x/\"], \"matchStrings\": [\"ARG X=(?[\\\\w.-]+)\"]}]\n}\n").unwrap();
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "more"]);
    let (code, v) = check_json(&repo);
    assert_eq!(code, 1);
    let f = v["findings"].as_array().unwrap();
    let has = |rule: &str, file: &str, needle: &str| {
        f.iter().any(|x| {
            x["rule"] == rule
                && x["file"] == file
                && x["message"].as_str().unwrap().contains(needle)
        })
    };
    assert!(
        has("base-image", "tools.Dockerfile", "never mix releases"),
        "{v}"
    );
    assert!(f
        .iter()
        .any(|x| x["rule"] == "ash-shell" && x["file"] == "tools.Dockerfile"));
    assert!(f
        .iter()
        .any(|x| x["rule"] == "musl-loader" && x["rewrite"] == true));
    assert!(has("musl-loader", "tools.Dockerfile", "scanelf"));
    assert!(f.iter().any(|x| x["rule"] == "musl-asset"));
    assert!(f
        .iter()
        .any(|x| x["rule"] == "sh-ash" && x["file"] == "scripts/start"));
    assert!(f
        .iter()
        .any(|x| x["rule"] == "sh-su-exec" && x["file"] == "scripts/start"));
    assert!(has("compose-image", "docker-compose.yml", "redis:7-alpine"));
    assert!(has("renovate-manager", "renovate.json", "does not compile"));
}

#[test]
fn check_errors_exit_2() {
    let d = tempfile::tempdir().unwrap();
    bin()
        .arg("--repo")
        .arg(d.path())
        .arg("check")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a git repository"));
}

fn recipe_with(dir: &std::path::Path, items: &str) -> std::path::PathBuf {
    let text = charon::recipe::EMBEDDED.replacen("# --------------------------------------------------------------- post-migration", &format!("{items}\n# --------------------------------------------------------------- post-migration"), 1);
    let p = dir.join("recipe.toml");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn run_blocked_failed_timeout_and_trust() {
    let (d, repo) = demo();
    // A missing program blocks the item: exit 0 and a clear message.
    let absent = "definitely-not-installed-tool";
    let recipe = recipe_with(
        d.path(),
        &format!(
            "[[items]]\nid = \"docs.t-missing\"\nphase = \"docs\"\ntitle = \"m\"\nkind = \"command\"\ncommand = \"{absent} --version\"\nprograms = [\"{absent}\"]\n\n[[items]]\nid = \"docs.t-fail\"\nphase = \"docs\"\ntitle = \"f\"\nkind = \"command\"\ncommand = \"echo out; echo err >&2; exit 3\"\nprograms = [\"sh\"]\n\n[[items]]\nid = \"docs.t-slow\"\nphase = \"docs\"\ntitle = \"s\"\nkind = \"command\"\ncommand = \"sleep 41 & sleep 42\"\nprograms = [\"sleep\"]\n\n[[items]]\nid = \"docs.t-root\"\nphase = \"docs\"\ntitle = \"r\"\nkind = \"command\"\ncommand = \"true\"\nprograms = [\"{absent}\"]\nroot = true\n"
        ),
    );
    let cli = |args: &[&str]| {
        let mut c = bin();
        c.arg("--repo")
            .arg(&repo)
            .arg("--recipe")
            .arg(&recipe)
            .args(args);
        c
    };
    cli(&["run", "docs.t-missing"])
        .assert()
        .success()
        .stderr(predicate::str::contains(format!(
            "blocked: {absent} not found"
        )));
    // An item that needs root (verify) says so in the words the issue asks for.
    cli(&["run", "docs.t-root"])
        .assert()
        .success()
        .stderr(predicate::str::contains(format!(
            "docs.t-root: blocked: skipped: needs root and {absent} ("
        )));
    // A failing command is recorded with its exit code; output streamed and logged.
    cli(&["run", "docs.t-fail"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("out\nerr"))
        .stderr(predicate::str::contains("exit 3"));
    let st: serde_json::Value = serde_json::from_slice(
        &cli(&["status", "--format", "json"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let items: Vec<serde_json::Value> = st["phases"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["items"].as_array().unwrap().clone())
        .collect();
    let get = |id: &str| items.iter().find(|i| i["id"] == id).unwrap().clone();
    assert_eq!(get("docs.t-missing")["status"], "blocked");
    assert_eq!(get("docs.t-fail")["status"], "failed");
    assert!(get("docs.t-fail")["note"]
        .as_str()
        .unwrap()
        .contains("exit code 3"));
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(repo.join(".git/charon-tui/state.json")).unwrap())
            .unwrap();
    let rec = &state["items"]["docs.t-fail"]["command"];
    assert_eq!(rec["exit_code"], 3);
    let log = std::fs::read_to_string(rec["log"].as_str().unwrap()).unwrap();
    assert!(log.contains("out") && log.contains("err"), "{log}");
    // A timeout ends the whole process group.
    let t0 = std::time::Instant::now();
    cli(&["run", "docs.t-slow", "--timeout", "1"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("timed out"));
    assert!(t0.elapsed() < std::time::Duration::from_secs(10));
    // Killed processes take a moment to be reaped on a loaded machine (CI
    // runs the tests in parallel): wait up to 10 s for the group to be gone.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let left = loop {
        let left = Command::new("pgrep")
            .args(["-af", "sleep 4[12]"])
            .output()
            .unwrap();
        if left.stdout.is_empty() || std::time::Instant::now() > deadline {
            break left;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(
        left.stdout.is_empty(),
        "processes left: {}",
        String::from_utf8_lossy(&left.stdout)
    );
    // A recipe inside the repository needs explicit trust.
    let inside = repo.join("recipe.toml");
    std::fs::copy(&recipe, &inside).unwrap();
    bin()
        .arg("--repo")
        .arg(&repo)
        .arg("--recipe")
        .arg(&inside)
        .args(["run", "docs.t-fail"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("--trust-recipe"));
    bin()
        .arg("--repo")
        .arg(&repo)
        .arg("--recipe")
        .arg(&inside)
        .args(["run", "docs.t-fail", "--trust-recipe"])
        .assert()
        .code(1);
    // Trivy: with a baseline saved, a scan run prints what changed.
    let tool = repo.join(".git/charon-tui");
    let scan = |ids: &[(&str, &str)]| {
        let v: Vec<serde_json::Value> = ids
            .iter()
            .map(|(i, s)| serde_json::json!({"VulnerabilityID": i, "Severity": s, "PkgName": "p"}))
            .collect();
        serde_json::json!({"Results": [{"Vulnerabilities": v}]}).to_string()
    };
    std::fs::write(
        tool.join("trivy-before.json"),
        scan(&[("CVE-A", "CRITICAL"), ("CVE-B", "HIGH")]),
    )
    .unwrap();
    std::fs::write(
        d.path().join("after.json"),
        scan(&[("CVE-B", "HIGH"), ("CVE-N", "MEDIUM")]),
    )
    .unwrap();
    let recipe2 = recipe_with(
        d.path(),
        &format!(
            "[[items]]\nid = \"docs.t-scan\"\nphase = \"docs\"\ntitle = \"scan\"\nkind = \"command\"\ncommand = \"cp '{}' .git/charon-tui/trivy-after.json\"\nprograms = [\"cp\"]\n",
            d.path().join("after.json").display()
        ),
    );
    bin()
        .arg("--repo")
        .arg(&repo)
        .arg("--recipe")
        .arg(&recipe2)
        .args(["run", "docs.t-scan"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("CRITICAL 1 → 0, HIGH 1 → 1, MEDIUM 0 → 1")
                .and(predicate::str::contains("1 new:\n  MEDIUM   CVE-N")),
        );
    // Not a command item.
    bin()
        .arg("--repo")
        .arg(&repo)
        .args(["run", "docs.changelog"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a command item"));
}

#[test]
fn plan_and_check_do_not_depend_on_the_thread_count() {
    // Files are read and their rules run in parallel: the output must be
    // the same, byte for byte, with one thread or several.
    let (_d, repo) = demo();
    let df = std::fs::read_to_string(repo.join("Dockerfile")).unwrap();
    let sh = std::fs::read_to_string(repo.join(".docker/docker-entrypoint.sh")).unwrap();
    for i in 0..40 {
        let dir = repo.join(format!("services/svc-{i:02}"));
        std::fs::create_dir_all(dir.join(".docker")).unwrap();
        // Vary the files so their hunks differ.
        std::fs::write(
            dir.join("Dockerfile"),
            df.replace("1000", &format!("{}", 2000 + i)),
        )
        .unwrap();
        std::fs::write(
            dir.join(".docker/docker-entrypoint.sh"),
            format!("{sh}\n# service {i}\n"),
        )
        .unwrap();
        std::fs::write(
            dir.join(format!("tool-{i}")),
            format!("#!/bin/sh\nsu-exec app{i} true\n"),
        )
        .unwrap();
    }
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "services"]);
    let run = |threads: &str, args: &[&str]| {
        let out = bin()
            .env("RAYON_NUM_THREADS", threads)
            .arg("--repo")
            .arg(&repo)
            .args(args)
            .output()
            .unwrap();
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{args:?}: {out:?}"
        );
        out.stdout
    };
    for args in [
        &["plan", "--format", "json"][..],
        &["check", "--format", "json"][..],
    ] {
        let one = run("1", args);
        let four = run("4", args);
        assert!(one.len() > 10_000, "{args:?}: {} bytes", one.len());
        assert!(
            one == four,
            "{args:?}: output differs between 1 and 4 threads"
        );
    }
    // The extra scripts were found by check's single walk.
    let (_, v) = check_json(&repo);
    let files: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["file"].as_str())
        .collect();
    assert!(files.contains(&"services/svc-39/tool-39"), "{files:?}");
}

#[test]
fn a_script_no_dockerfile_uses_is_reported_without_claiming_a_rewrite() {
    // `check` reads every script; `plan` only those an image runs. A finding
    // in a script the plan leaves out must not say "rewrite available".
    let (_d, repo) = demo();
    std::fs::create_dir_all(repo.join("scripts")).unwrap();
    std::fs::write(
        repo.join("scripts/maintenance.sh"),
        "#!/bin/sh\nsu-exec app /usr/local/bin/app --vacuum\n",
    )
    .unwrap();
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "maintenance script"]);
    let (code, v) = check_json(&repo);
    assert_eq!(code, 1);
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["file"] == "scripts/maintenance.sh")
        .expect("the script is checked")
        .clone();
    assert_eq!(f["rule"], "sh-su-exec");
    assert_eq!(f["rewrite"], false, "{f}");
    assert!(
        f["hint"]
            .as_str()
            .unwrap()
            .contains("`charon-tui plan` leaves it out"),
        "{f}"
    );
    let plan = crate::util::cli_json(&repo, &["plan", "--format", "json"]);
    assert!(plan["hunks"]
        .as_array()
        .unwrap()
        .iter()
        .all(|h| h["file"] != "scripts/maintenance.sh"));
}
