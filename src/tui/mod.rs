//! The interactive terminal UI (ratatui + crossterm). `run` owns the
//! terminal: it restores it on quit, on error, on panic (ratatui's panic
//! hook), on Ctrl-C (a key in raw mode) and on SIGTERM/SIGHUP (a signal
//! flag checked by the loop). Everything else is in `app` (state + update),
//! `ui` (drawing) and `keymap` (bindings as data).

pub mod app;
pub mod keymap;
pub mod ui;

#[cfg(test)]
mod tests;

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind};

use app::{Action, App, Effect, Mode};
use keymap::Keymap;

/// Map a key event to an action in the app's current mode.
pub fn action_for(app: &App, keys: &Keymap, ev: &event::KeyEvent) -> Option<Action> {
    let ctrl_c =
        ev.code == KeyCode::Char('c') && ev.modifiers.contains(event::KeyModifiers::CONTROL);
    match &app.mode {
        Mode::Note { .. } => Some(match ev.code {
            _ if ctrl_c => Action::Cancel,
            KeyCode::Enter => Action::Confirm,
            KeyCode::Esc => Action::Cancel,
            KeyCode::Backspace => Action::Backspace,
            KeyCode::Char(c) => Action::Char(c),
            _ => return None,
        }),
        Mode::Commit { .. } => Some(match ev.code {
            KeyCode::Enter | KeyCode::Char('y') => Action::Confirm,
            KeyCode::Esc | KeyCode::Char('n') | KeyCode::Char('q') => Action::Cancel,
            _ if ctrl_c => Action::Cancel,
            _ => return None,
        }),
        Mode::Help => Some(Action::Cancel),
        Mode::Normal => keys.command(ev).and_then(Action::from_command),
    }
}

/// Run the TUI until the operator quits.
pub fn run(session: charon::session::Session, pair: Option<String>) -> anyhow::Result<()> {
    let keys = Keymap::load().map_err(anyhow::Error::msg)?;
    let mut app = App::new(session, pair)?;
    let theme = ui::Theme {
        color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    };
    let term_flag = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGHUP] {
        signal_hook::flag::register(sig, Arc::clone(&term_flag))?;
    }
    let mut terminal = ratatui::try_init()?;
    let result = (|| -> anyhow::Result<()> {
        while !app.quit && !term_flag.load(Ordering::Relaxed) {
            app.poll_run();
            terminal.draw(|f| ui::draw(f, &mut app, &keys, &theme))?;
            let tick = if app.running.is_some() { 100 } else { 250 };
            if !event::poll(Duration::from_millis(tick))? {
                continue;
            }
            let action = match event::read()? {
                Event::Key(k) if k.kind == KeyEventKind::Press => action_for(&app, &keys, &k),
                Event::Resize(..) => Some(Action::Resize),
                _ => None,
            };
            let Some(action) = action else { continue };
            if let Some(Effect::Edit { hunk, text }) = app.update(action) {
                ratatui::restore();
                let edited = edit_in_editor(&text);
                terminal = ratatui::try_init()?;
                terminal.clear()?;
                app.update(Action::Edited { hunk, text: edited });
            }
        }
        Ok(())
    })();
    ratatui::restore();
    // A command still running is ended with the session.
    if let Some(r) = &app.running {
        r.stop.store(true, Ordering::Relaxed);
        for _ in 0..20 {
            if !app.poll_run() && app.running.is_none() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    result
}

/// Open `text` in $VISUAL/$EDITOR (vi by default). None when the editor
/// fails or leaves the text unchanged.
pub fn edit_in_editor(text: &str) -> Option<String> {
    let editor = std::env::var("VISUAL")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .or_else(|| {
            std::env::var("EDITOR")
                .ok()
                .filter(|v| !v.trim().is_empty())
        })
        .unwrap_or_else(|| "vi".into());
    let mut tmp = tempfile::Builder::new()
        .prefix("charon-hunk-")
        .suffix(".txt")
        .tempfile()
        .ok()?;
    tmp.write_all(text.as_bytes()).ok()?;
    tmp.flush().ok()?;
    let path = tmp.path().to_path_buf();
    // The editor string may carry arguments (`code --wait`): let the shell split it.
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(&path)
        .status()
        .ok()?;
    if !status.success() {
        return None;
    }
    let new = std::fs::read_to_string(&path).ok()?;
    (new != text).then_some(new)
}
