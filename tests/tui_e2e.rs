//! The TUI in a real terminal: tmux runs `charon-tui`, keys are sent with
//! send-keys and the screen read with capture-pane. Checks the whole
//! review-and-commit path and that the terminal is restored on quit,
//! Ctrl-C and SIGTERM.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::util::{demo, git, have};

struct Tmux {
    name: String,
}

impl Tmux {
    fn start(name: &str, repo: &Path, w: u16, h: u16) -> Tmux {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", name])
            .output();
        let bin = env!("CARGO_BIN_EXE_charon-tui");
        let cmd = format!(
            "'{bin}' --repo '{}'; echo EXITED $?; sleep 30",
            repo.display()
        );
        let st = Command::new("tmux")
            .args([
                "new-session",
                "-d",
                "-s",
                name,
                "-x",
                &w.to_string(),
                "-y",
                &h.to_string(),
            ])
            .arg(cmd)
            .env("NO_COLOR", "1")
            .env("EDITOR", "true")
            .status()
            .unwrap();
        assert!(st.success());
        Tmux {
            name: name.to_string(),
        }
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.name])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    fn wait_for(&self, needle: &str) -> String {
        let t0 = Instant::now();
        loop {
            let s = self.screen();
            if s.contains(needle) {
                return s;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(20),
                "timed out waiting for {needle:?}; screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn keys(&self, keys: &[&str]) {
        for k in keys {
            let st = Command::new("tmux")
                .args(["send-keys", "-t", &self.name, k])
                .status()
                .unwrap();
            assert!(st.success());
            std::thread::sleep(Duration::from_millis(60));
        }
    }

    fn display(&self, fmt: &str) -> String {
        let out = Command::new("tmux")
            .args(["display-message", "-p", "-t", &self.name, fmt])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.name])
            .output();
    }
}

fn restored(t: &Tmux) {
    let s = t.wait_for("EXITED 0");
    assert!(!s.contains("Checklist"), "TUI left on screen:\n{s}");
    assert_eq!(
        t.display("#{alternate_on}"),
        "0",
        "still in the alternate screen"
    );
    assert_eq!(t.display("#{cursor_flag}"), "1", "cursor hidden");
}

#[test]
fn review_commit_and_quit_in_a_real_terminal() {
    if !have("tmux") {
        return;
    }
    let (_d, repo) = demo();
    let t = Tmux::start("charon-e2e-commit", &repo, 120, 40);
    t.wait_for("Checklist");
    // From the first reviewable item (the baseline) down to frontend-builder.
    for _ in 0..12 {
        if t.screen()
            .contains("dockerfile.frontend-builder · hunk 1/1")
        {
            break;
        }
        t.keys(&["j"]);
        std::thread::sleep(Duration::from_millis(100));
    }
    t.wait_for("dockerfile.frontend-builder · hunk 1/1");
    // `a` accepts an item and moves to the next one to review: 11 items.
    for _ in 0..11 {
        t.keys(&["a"]);
    }
    t.wait_for("entrypoint.su-exec");
    // Up past the Entrypoint header, back into the Dockerfile phase.
    t.keys(&["k", "k", "c"]);
    t.wait_for("Commit phase");
    t.keys(&["y"]);
    t.wait_for("committed");
    t.keys(&["q"]);
    restored(&t);
    assert_eq!(
        git(&repo, &["rev-parse", "--abbrev-ref", "HEAD"]).trim(),
        "feature/debian-migration"
    );
    let msg = git(&repo, &["log", "-1", "--format=%B"]);
    assert!(msg.contains("Migration-Phase: dockerfile"), "{msg}");
    let df = std::fs::read_to_string(repo.join("Dockerfile")).unwrap();
    assert!(
        !df.contains("apk add") && !df.contains("alpine:3.23"),
        "{df}"
    );
}

#[test]
fn ctrl_c_and_sigterm_restore_the_terminal() {
    if !have("tmux") {
        return;
    }
    let (_d, repo) = demo();
    let t = Tmux::start("charon-e2e-ctrlc", &repo, 100, 30);
    t.wait_for("Checklist");
    t.keys(&["C-c"]);
    restored(&t);
    drop(t);

    let t = Tmux::start("charon-e2e-term", &repo, 100, 30);
    t.wait_for("Checklist");
    let pat = format!("charon-tui --repo {}", repo.display());
    let st = Command::new("pkill")
        .args(["-TERM", "-f", &pat])
        .status()
        .unwrap();
    assert!(st.success(), "no process matched {pat}");
    restored(&t);
}

#[test]
fn tiny_terminal_shows_too_small() {
    if !have("tmux") {
        return;
    }
    let (_d, repo) = demo();
    let t = Tmux::start("charon-e2e-small", &repo, 50, 12);
    t.wait_for("Terminal too small");
    t.keys(&["q"]);
    restored(&t);
}
