//! TUI tests: every view rendered on ratatui's TestBackend and snapshotted
//! (temp paths masked), and key sequences driving `update` with the state,
//! files and commits they must produce.

use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;

use super::action_for;
use super::app::{Action, App, Effect, Mode};
use super::keymap::Keymap;
use super::ui::{self, Theme};

struct Fixture {
    _dir: tempfile::TempDir,
    repo: std::path::PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("demo");
    charon::demo::write(&repo).unwrap();
    let r = git2::Repository::open(&repo).unwrap();
    let mut cfg = r.config().unwrap();
    cfg.set_str("user.name", "Test Operator").unwrap();
    cfg.set_str("user.email", "op@example.com").unwrap();
    Fixture { _dir: dir, repo }
}

fn app(fx: &Fixture) -> App {
    let recipe = charon::recipe::Recipe::embedded().unwrap();
    let s = charon::session::Session::open(&fx.repo, recipe, None).unwrap();
    let mut a = App::new(s, None).unwrap();
    // The pid varies from run to run; snapshots must not.
    a.lock_label = "pid 4242".into();
    a
}

fn keys() -> Keymap {
    Keymap::parse(super::keymap::DEFAULT, None).unwrap()
}

fn render(app: &mut App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    let k = keys();
    t.draw(|f| ui::draw(f, app, &k, &Theme { color: false }))
        .unwrap();
    let buf = t.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..buf.area.height {
        let mut line = String::new();
        for x in 0..buf.area.width {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn masked(fx: &Fixture, s: String) -> String {
    let root = fx.repo.canonicalize().unwrap_or(fx.repo.clone());
    s.replace(&root.display().to_string(), "[REPO]")
        .replace(&fx.repo.display().to_string(), "[REPO]")
}

fn goto(a: &mut App, id: &str) {
    for _ in 0..200 {
        if a.current_item()
            .map(|i| a.session.recipe.items[i].id.as_str())
            == Some(id)
        {
            return;
        }
        a.update(Action::Down);
    }
    panic!("item {id} not reachable");
}

fn press(app: &mut App, keys: &Keymap, code: KeyCode) -> Option<Effect> {
    let ev = KeyEvent::new(code, KeyModifiers::NONE);
    let a = action_for(app, keys, &ev)?;
    app.update(a)
}

#[test]
fn snapshot_checklist_and_hunk() {
    let fx = fixture();
    let mut a = app(&fx);
    // Starts on the first item with something to review.
    assert_eq!(
        a.current_item()
            .map(|i| a.session.recipe.items[i].id.as_str()),
        Some("pre.baseline-hashes")
    );
    a.update(Action::Up);
    a.update(Action::Up);
    insta::assert_snapshot!("checklist_view", masked(&fx, render(&mut a, 120, 32)));
    goto(&mut a, "dockerfile.apk");
    a.update(Action::SwitchPane);
    a.update(Action::Down);
    insta::assert_snapshot!("hunk_view", masked(&fx, render(&mut a, 120, 32)));
}

#[test]
fn snapshot_help_commit_note_too_small_and_command() {
    let fx = fixture();
    let mut a = app(&fx);
    a.update(Action::Help);
    insta::assert_snapshot!("help_view", masked(&fx, render(&mut a, 100, 32)));
    a.update(Action::Cancel);
    goto(&mut a, "dockerfile.frontend-builder");
    a.update(Action::AcceptItem);
    a.update(Action::Up);
    a.update(Action::Commit);
    assert!(matches!(a.mode, Mode::Commit { .. }));
    insta::assert_snapshot!("commit_dialog", masked(&fx, render(&mut a, 120, 32)));
    a.update(Action::Cancel);
    insta::assert_snapshot!("too_small", render(&mut a, 50, 10));
    // A command item of the Testing phase.
    goto(&mut a, "testing.build-multiarch");
    insta::assert_snapshot!("command_view", masked(&fx, render(&mut a, 120, 32)));
    a.update(Action::Note);
    for c in "built locally".chars() {
        a.update(Action::Char(c));
    }
    insta::assert_snapshot!("note_dialog", masked(&fx, render(&mut a, 120, 32)));
}

#[test]
fn edited_hunk_view_and_persistence() {
    let fx = fixture();
    let mut a = app(&fx);
    goto(&mut a, "dockerfile.frontend-builder");
    let h = a.current_hunk().unwrap().clone();
    let eff = a.update(Action::Edit);
    let Some(Effect::Edit { hunk, text }) = eff else {
        panic!("edit effect")
    };
    assert_eq!(hunk, h.id);
    assert_eq!(text, h.new_text);
    let edited = text.replace("bookworm-slim", "trixie-slim");
    a.update(Action::Edited {
        hunk: hunk.clone(),
        text: Some(edited.clone()),
    });
    let rec = &a.state.hunks[&hunk];
    assert_eq!(rec.edited.as_deref(), Some(edited.as_str()));
    // Persisted: a fresh app sees it.
    let b = app(&fx);
    assert_eq!(
        b.state.hunks[&hunk].edited.as_deref(),
        Some(edited.as_str())
    );
    // The view shows the edited text.
    a.update(Action::Up);
    a.update(Action::Down);
    insta::assert_snapshot!("edited_hunk", masked(&fx, render(&mut a, 120, 32)));
    // An editor that changes nothing changes nothing.
    a.update(Action::Edited {
        hunk: hunk.clone(),
        text: None,
    });
    assert_eq!(
        a.state.hunks[&hunk].edited.as_deref(),
        Some(edited.as_str())
    );
}

#[test]
fn keys_accept_the_dockerfile_phase_and_commit() {
    let fx = fixture();
    let mut a = app(&fx);
    let k = keys();
    // Into the dockerfile phase with `j`, then `a` accepts each item and
    // moves on to the next one with something to review.
    for _ in 0..100 {
        if a.current_phase() == 1 && a.current_item().is_some() {
            break;
        }
        press(&mut a, &k, KeyCode::Char('j'));
    }
    for _ in 0..30 {
        if a.current_phase() != 1 {
            break;
        }
        press(&mut a, &k, KeyCode::Char('a'));
    }
    // Back into the phase and commit.
    for _ in 0..100 {
        if a.current_phase() == 1 {
            break;
        }
        press(&mut a, &k, KeyCode::Char('k'));
    }
    press(&mut a, &k, KeyCode::Char('c'));
    assert!(matches!(a.mode, Mode::Commit { .. }), "{:?}", a.message);
    press(&mut a, &k, KeyCode::Char('y'));
    let msg = a.message.clone().unwrap_or_default();
    assert!(msg.starts_with("committed"), "{msg}");
    let repo = git2::Repository::open(&fx.repo).unwrap();
    let head = repo.head().unwrap();
    assert_eq!(head.shorthand().unwrap(), "feature/debian-migration");
    let c = head.peel_to_commit().unwrap();
    assert!(c.message().unwrap().contains("Migration-Phase: dockerfile"));
    let df = std::fs::read_to_string(fx.repo.join("Dockerfile")).unwrap();
    assert!(!df.contains("apk add"));
    assert!(
        a.plan.of_phase("dockerfile").next().is_none(),
        "nothing left in the phase"
    );
}

#[test]
fn undo_and_reject_and_alternatives() {
    let fx = fixture();
    let mut a = app(&fx);
    let k = keys();
    goto(&mut a, "dockerfile.frontend-builder");
    let first = a.current_hunk().unwrap().id.clone();
    press(&mut a, &k, KeyCode::Char('n'));
    assert!(matches!(
        a.state.hunks[&first].decision,
        charon::state::Decision::Rejected
    ));
    press(&mut a, &k, KeyCode::Char('u'));
    assert!(!a.state.hunks.contains_key(&first));
    // Accepting one alternative of the Caddy digest step rejects the other.
    goto(&mut a, "ci.docker-build");
    let hs: Vec<String> = a
        .item_hunks(a.current_item().unwrap())
        .iter()
        .map(|h| h.id.clone())
        .collect();
    assert_eq!(hs.len(), 2);
    a.update(Action::Accept);
    let d: Vec<_> = hs.iter().map(|h| a.state.hunks[h].decision).collect();
    assert_eq!(
        d,
        [
            charon::state::Decision::Accepted,
            charon::state::Decision::Rejected
        ]
    );
    // Quit leaves nothing unsaved.
    press(&mut a, &k, KeyCode::Char('q'));
    assert!(a.quit);
    let b = app(&fx);
    assert_eq!(b.state.hunks.len(), a.state.hunks.len());
}

#[test]
fn manual_and_timer_items() {
    let fx = fixture();
    let mut a = app(&fx);

    goto(&mut a, "post.monitor");
    a.update(Action::Note);
    a.update(Action::Confirm);
    assert!(a.message.as_deref().unwrap().contains("timer started"));
    a.update(Action::Note);
    a.update(Action::Confirm);
    assert!(
        a.message.as_deref().unwrap().contains("needs a note"),
        "{:?}",
        a.message
    );
    assert_ne!(a.item_status(a.current_item().unwrap()), "done");
    a.update(Action::Note);
    for c in "rolled out to 100%".chars() {
        a.update(Action::Char(c));
    }
    a.update(Action::Confirm);
    assert_eq!(a.item_status(a.current_item().unwrap()), "done");
    goto(&mut a, "post.close-issues");
    a.update(Action::Note);
    for c in "closed #12".chars() {
        a.update(Action::Char(c));
    }
    a.update(Action::Confirm);
    assert_eq!(a.item_status(a.current_item().unwrap()), "done");
}

#[test]
fn large_diffs_render_only_what_is_visible() {
    let fx = fixture();
    let mut a = app(&fx);
    let mut h = a.current_hunk().unwrap().clone();
    h.old_text = (0..10_000).map(|i| format!("old line {i}\n")).collect();
    h.new_text = (0..10_000).map(|i| format!("new line {i}\n")).collect();
    a.lines = charon::plan::hunk_lines(&h);
    a.lines_for = Some(h.id.clone());
    a.update(Action::PageDown);
    let out = render(&mut a, 120, 32);
    assert!(out.contains("old line"), "{out}");
    // Resizing to anything never panics.
    for (w, hgt) in [(1, 1), (59, 14), (60, 15), (300, 80), (61, 200)] {
        render(&mut a, w, hgt);
    }
}

#[test]
fn run_streams_output_records_the_outcome_and_cancels() {
    let fx = fixture();
    let extra = "[[items]]\nid = \"docs.t-echo\"\nphase = \"docs\"\ntitle = \"echo\"\nkind = \"command\"\ncommand = \"echo hello from the item; exit 4\"\nprograms = [\"sh\"]\n\n[[items]]\nid = \"docs.t-slow\"\nphase = \"docs\"\ntitle = \"slow\"\nkind = \"command\"\ncommand = \"echo started; sleep 43\"\nprograms = [\"sleep\"]\n";
    let text = charon::recipe::EMBEDDED.replacen(
        "# --------------------------------------------------------------- post-migration",
        &format!("{extra}\n# --------------------------------------------------------------- post-migration"),
        1,
    );
    let recipe = charon::recipe::Recipe::parse(&text, "test.toml").unwrap();
    let s = charon::session::Session::open(&fx.repo, recipe, None).unwrap();
    let mut a = App::new(s, None).unwrap();
    let wait = |a: &mut App| {
        for _ in 0..200 {
            a.poll_run();
            if a.running.is_none() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        panic!("command did not finish");
    };
    goto(&mut a, "docs.t-echo");
    a.update(Action::Run);
    assert!(a.running.is_some());
    wait(&mut a);
    let last = a.last_run.clone().unwrap();
    assert_eq!(last.lines, ["hello from the item"]);
    assert!(last.outcome.contains("exit code 4"), "{}", last.outcome);
    assert_eq!(a.item_status(a.current_item().unwrap()), "failed");
    let screen = render(&mut a, 120, 32);
    assert!(
        screen.contains("│ hello from the item") && screen.contains("exit code 4"),
        "{screen}"
    );
    // Cancel a long one: the whole process group ends.
    goto(&mut a, "docs.t-slow");
    a.update(Action::Run);
    for _ in 0..100 {
        a.poll_run();
        if a.running.as_ref().is_some_and(|r| !r.lines.is_empty()) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(render(&mut a, 120, 32).contains("running…"));
    a.update(Action::CancelRun);
    wait(&mut a);
    assert!(a.last_run.as_ref().unwrap().outcome.contains("interrupted"));
    let left = std::process::Command::new("pgrep")
        .args(["-f", "sleep 43"])
        .output()
        .unwrap();
    assert!(left.stdout.is_empty());
}
