//! `verify`: dry runs anywhere; real runs in a debootstrap root filesystem
//! where the machine allows it (CI runs as root and installs debootstrap;
//! elsewhere the tests print why they did not run).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::util::{apply_all, bin, demo, git, have};

/// One cache for every test: the root filesystem is built once (the lock in
/// `rootfs::ensure` makes parallel tests wait for it).
pub(crate) fn cache() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("verify-cache")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Can a real verify run here? Under CI it must.
pub(crate) fn can_verify() -> bool {
    if !is_root() {
        if std::env::var_os("CI").is_some() {
            panic!("CI must run as root for the verify tests");
        }
        eprintln!("SKIPPED: verify needs root; run the tests as root (CI does)");
        return false;
    }
    have("debootstrap")
}

pub(crate) fn verify(repo: &Path, args: &[&str]) -> (i32, serde_json::Value, String) {
    let out = bin()
        .env("XDG_CACHE_HOME", cache())
        .arg("--repo")
        .arg(repo)
        .arg("verify")
        .args(args)
        .args(["--format", "json"])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "verify JSON: {e}\nstdout: {}\nstderr: {stderr}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    (out.status.code().unwrap_or(-1), json, stderr)
}

/// The demo, migrated, with one change to its Dockerfile (the first `from`
/// becomes `to`), committed.
fn migrated_demo_with(from: &str, to: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let (d, repo) = demo();
    apply_all(&repo);
    let df = repo.join("Dockerfile");
    let text = std::fs::read_to_string(&df).unwrap();
    let changed = text.replacen(from, to, 1);
    assert_ne!(text, changed, "`{from}` is not in the migrated Dockerfile");
    std::fs::write(&df, changed).unwrap();
    git(&repo, &["commit", "-qam", "edit the migrated Dockerfile"]);
    (d, repo)
}

fn final_stage(r: &serde_json::Value) -> &serde_json::Value {
    r["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .find(|s| s["stage"] == "@final")
        .expect("final stage")
}

fn step<'a>(stage: &'a serde_json::Value, needle: &str) -> &'a serde_json::Value {
    stage["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| {
            s["instruction"].as_str().unwrap_or("").contains(needle)
                || s["command"].as_str().unwrap_or("").contains(needle)
        })
        .unwrap_or_else(|| panic!("no step containing {needle}: {stage:#}"))
}

fn check<'a>(stage: &'a serde_json::Value, kind: &str) -> &'a serde_json::Value {
    stage["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} check: {stage:#}"))
}

/// Nothing of a run is left: no scratch directory, nothing mounted.
fn assert_clean() {
    let runs = cache().join("runs");
    let left: Vec<String> = std::fs::read_dir(&runs)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().to_string())
                .collect()
        })
        .unwrap_or_default();
    // Other tests may be running: only directories of dead processes count.
    let stale: Vec<&String> = left
        .iter()
        .filter(|n| {
            let pid = n.split('-').next().unwrap_or("");
            !Path::new("/proc").join(pid).exists()
        })
        .collect();
    assert!(
        stale.is_empty(),
        "left behind in {}: {stale:?}",
        runs.display()
    );
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let cache = cache();
    assert!(
        !mounts.contains(cache.to_str().unwrap_or("?")),
        "something is still mounted under {}",
        cache.display()
    );
}

#[test]
fn dry_run_lists_steps_skips_and_checks_without_root() {
    let (_d, repo) = demo();
    let (code, r, _) = verify(&repo, &["--dry-run"]);
    assert_eq!(code, 0);
    assert_eq!(r["schema"], 1);
    assert_eq!(r["executed"], false);
    let st = final_stage(&r);
    assert_eq!(st["image"], "alpine:3.23");
    assert_eq!(st["mode"], "full");
    let apk = step(st, "RUN apk --no-cache add");
    assert_eq!(
        (apk["kind"].as_str(), apk["status"].as_str()),
        (Some("package-install"), Some("planned"))
    );
    let users = step(st, "RUN addgroup -g 1000 charon");
    assert_eq!(users["kind"], "user");
    let copy = step(st, "COPY .docker/docker-entrypoint.sh");
    assert_eq!(copy["status"], "skipped");
    assert!(copy["reason"].as_str().unwrap().contains("build context"));
    let setcap = step(st, "RUN setcap");
    assert!(
        setcap["reason"]
            .as_str()
            .unwrap()
            .contains("/usr/bin/caddy"),
        "{setcap}"
    );
    assert_eq!(
        check(st, "user")["title"],
        "user charon exists with uid 1000, gid 1000 (`id charon`)"
    );
    assert_eq!(
        check(st, "privilege-drop")["title"],
        "privilege drop works (`su-exec charon id`)"
    );

    // Every stage: the xx helper image is listed as not run, with the reason.
    let (code, all, _) = verify(&repo, &["--dry-run", "--all-stages"]);
    assert_eq!(code, 0);
    let stages = all["stages"].as_array().unwrap();
    assert_eq!(stages.len(), 7);
    assert_eq!(stages[0]["stage"], "xx");
    assert_eq!(stages[0]["mode"], "skipped");
    assert_eq!(stages[2]["mode"], "packages-and-users");

    // An unknown stage names the ones there are.
    bin()
        .arg("--repo")
        .arg(&repo)
        .args(["verify", "--dry-run", "--stage", "nope"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "no stage named `nope`; stages: Dockerfile:xx, Dockerfile:frontend-builder",
        ));
}

#[test]
fn refuses_without_root_with_the_reason() {
    if !is_root() {
        // Already not root: the refusal is what any run here gets.
        bin()
            .args(["verify"])
            .assert()
            .code(2)
            .stderr(predicates::str::contains(
                "skipped: needs root and debootstrap",
            ));
        return;
    }
    if !have("setpriv") {
        return;
    }
    let exe = assert_cmd::cargo::cargo_bin("charon-tui");
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&exe)
        .args(["--repo", "/", "verify"])
        .output()
        .expect("setpriv runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("skipped: needs root and debootstrap (not running as root"),
        "{err}"
    );
}

#[test]
fn migrated_demo_passes_every_package_and_user_step_and_every_check() {
    if !can_verify() {
        return;
    }
    let (_d, repo) = demo();
    apply_all(&repo);
    let (code, r, stderr) = verify(&repo, &[]);
    let st = final_stage(&r);
    assert_eq!(st["image"], "debian:bookworm-slim", "{stderr}");
    let steps = st["steps"].as_array().unwrap();
    let mut ran = 0;
    for s in steps {
        if s["kind"] == "package-install" || s["kind"] == "user" {
            assert_eq!(s["status"], "pass", "{s:#}");
            ran += 1;
        }
    }
    assert_eq!(ran, 2, "{st:#}");
    for c in st["checks"].as_array().unwrap() {
        assert_ne!(c["status"], "fail", "{c:#}");
    }
    assert_eq!(
        check(st, "user")["detail"],
        "uid=1000(charon) gid=1000(charon) groups=1000(charon)"
    );
    assert_eq!(
        check(st, "privilege-drop")["title"],
        "privilege drop works (`gosu charon id`)"
    );
    assert_eq!(check(st, "privilege-drop")["status"], "pass");
    assert_eq!(check(st, "healthcheck")["detail"], "/usr/bin/curl");
    assert_eq!(check(st, "setcap")["status"], "pass");
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["summary"]["failed"], 0);
    assert_clean();
}

#[test]
fn original_alpine_demo_fails_precisely() {
    if !can_verify() {
        return;
    }
    let (_d, repo) = demo();
    let (code, r, _) = verify(&repo, &[]);
    assert_eq!(code, 1);
    let st = final_stage(&r);
    let apk = step(st, "RUN apk --no-cache add");
    assert_eq!(apk["status"], "fail");
    assert_eq!(apk["exit_code"], 127);
    assert!(
        apk["output"].as_str().unwrap().contains("apk: not found"),
        "{apk:#}"
    );
    // Debian's adduser does not take busybox options: the user is never created…
    assert_eq!(step(st, "RUN addgroup -g 1000 charon")["status"], "fail");
    // …and the user check says so, whatever the RUN's exit code was.
    let user = check(st, "user");
    assert_eq!(user["status"], "fail");
    assert!(
        user["detail"].as_str().unwrap().contains("no such user"),
        "{user:#}"
    );
    let drop = check(st, "privilege-drop");
    assert_eq!(drop["status"], "fail");
    assert!(
        drop["detail"]
            .as_str()
            .unwrap()
            .contains("su-exec: not found"),
        "{drop:#}"
    );
    let wget = st["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["title"].as_str().unwrap().contains("`wget`"))
        .unwrap();
    assert_eq!(
        wget["detail"],
        "`wget` is not installed (not found on PATH)"
    );
    assert_clean();
}

#[test]
fn a_wrong_package_name_fails_its_step_with_apts_message() {
    if !can_verify() {
        return;
    }
    let (_d, repo) = migrated_demo_with(
        "gettext-base gosu",
        "gettext-base gosu charon-no-such-package",
    );
    let (code, r, _) = verify(&repo, &[]);
    assert_eq!(code, 1);
    let st = final_stage(&r);
    let apt = step(st, "charon-no-such-package");
    assert_eq!(apt["status"], "fail");
    assert_eq!(apt["kind"], "package-install");
    assert_eq!(apt["exit_code"], 100);
    assert!(
        apt["output"]
            .as_str()
            .unwrap()
            .contains("E: Unable to locate package charon-no-such-package"),
        "{apt:#}"
    );
    assert_clean();
}

#[test]
fn ctrl_c_stops_the_step_and_cleans_up() {
    if !can_verify() {
        return;
    }
    // A step that would run for a minute.
    let (_d, repo) = migrated_demo_with(
        "WORKDIR /app\n",
        "WORKDIR /app\nRUN useradd slowpoke && sleep 67\n",
    );
    let exe = assert_cmd::cargo::cargo_bin("charon-tui");
    let child = Command::new(exe)
        .env("XDG_CACHE_HOME", cache())
        .arg("--repo")
        .arg(&repo)
        .arg("verify")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    let pid = child.id();
    // Wait until the slow step runs (its `sleep 67` is a process in the run).
    let started = std::time::Instant::now();
    loop {
        let busy = Command::new("pgrep")
            .args(["-f", "sleep 67"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if busy {
            break;
        }
        assert!(
            started.elapsed().as_secs() < 180,
            "the slow step never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("interrupted"), "{err}");
    assert!(started.elapsed().as_secs() < 50, "stopping took too long");
    let runs = cache().join("runs");
    let mine: Vec<String> = std::fs::read_dir(&runs)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().to_string())
                .collect()
        })
        .unwrap_or_default();
    assert!(
        !mine.iter().any(|n| n.starts_with(&format!("{pid}-"))),
        "{mine:?}"
    );
    assert_clean();
}
