//! Key bindings as data: `assets/keymap.toml` compiled in, overridable from
//! the user's config directory. A key string parses to a key code and
//! modifiers; lookups answer the command bound to a key in a mode.

use std::collections::BTreeMap;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::Deserialize;

pub const DEFAULT: &str = include_str!("../../assets/keymap.toml");

/// Every command a key can be bound to.
pub const COMMANDS: &[&str] = &[
    "accept",
    "reject",
    "edit",
    "accept-item",
    "reject-item",
    "split",
    "undo",
    "down",
    "up",
    "scroll-down",
    "scroll-up",
    "page-down",
    "page-up",
    "scroll-left",
    "scroll-right",
    "switch-pane",
    "toggle",
    "commit",
    "run",
    "cancel",
    "note",
    "help",
    "quit",
];

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    pub code: String,
    pub ctrl: bool,
}

#[derive(Debug, Deserialize)]
struct File {
    #[serde(default)]
    normal: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct Keymap {
    /// Key → command, in the normal mode.
    pub normal: BTreeMap<Key, String>,
    /// The key strings as written, per command (for the key bar and help).
    pub shown: BTreeMap<String, Vec<String>>,
}

pub fn parse_key(s: &str) -> Result<Key, String> {
    let (ctrl, rest) = match s.strip_prefix("ctrl-") {
        Some(r) => (true, r),
        None => (false, s),
    };
    let named = [
        "enter",
        "esc",
        "tab",
        "backtab",
        "space",
        "up",
        "down",
        "left",
        "right",
        "pgup",
        "pgdn",
        "home",
        "end",
        "backspace",
    ];
    if rest.chars().count() == 1 || named.contains(&rest) {
        Ok(Key {
            code: rest.to_string(),
            ctrl,
        })
    } else {
        Err(format!("unknown key `{s}`"))
    }
}

/// The key string of a terminal key event.
pub fn key_of(ev: &KeyEvent) -> Option<Key> {
    let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
    let code = match ev.code {
        KeyCode::Char(' ') => "space".to_string(),
        KeyCode::Char(c) => c.to_string(),
        KeyCode::Enter => "enter".into(),
        KeyCode::Esc => "esc".into(),
        KeyCode::Tab => "tab".into(),
        KeyCode::BackTab => "backtab".into(),
        KeyCode::Up => "up".into(),
        KeyCode::Down => "down".into(),
        KeyCode::Left => "left".into(),
        KeyCode::Right => "right".into(),
        KeyCode::PageUp => "pgup".into(),
        KeyCode::PageDown => "pgdn".into(),
        KeyCode::Home => "home".into(),
        KeyCode::End => "end".into(),
        KeyCode::Backspace => "backspace".into(),
        _ => return None,
    };
    Some(Key { code, ctrl })
}

impl Keymap {
    /// Parse keymap TOML; `base` (the defaults) is extended and overridden.
    pub fn parse(text: &str, base: Option<&Keymap>) -> Result<Keymap, String> {
        let f: File = toml::from_str(text).map_err(|e| e.message().to_string())?;
        let mut km = base.cloned().unwrap_or(Keymap {
            normal: BTreeMap::new(),
            shown: BTreeMap::new(),
        });
        for (k, cmd) in f.normal {
            if !COMMANDS.contains(&cmd.as_str()) {
                return Err(format!("key `{k}`: unknown command `{cmd}`"));
            }
            let key = parse_key(&k)?;
            if let Some(old) = km.normal.insert(key, cmd.clone()) {
                if let Some(v) = km.shown.get_mut(&old) {
                    v.retain(|s| s != &k);
                }
            }
            km.shown.entry(cmd).or_default().push(k);
        }
        Ok(km)
    }

    /// The defaults, overridden by the user's file when there is one.
    pub fn load() -> Result<Keymap, String> {
        let base = Keymap::parse(DEFAULT, None)?;
        let dir = std::env::var_os("XDG_CONFIG_HOME")
            .map(std::path::PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".config"))
            });
        if let Some(d) = dir {
            let p = d.join("charon-tui/keymap.toml");
            if let Ok(t) = std::fs::read_to_string(&p) {
                return Keymap::parse(&t, Some(&base)).map_err(|e| format!("{}: {e}", p.display()));
            }
        }
        Ok(base)
    }

    pub fn command(&self, ev: &KeyEvent) -> Option<&str> {
        self.normal.get(&key_of(ev)?).map(String::as_str)
    }

    /// The key to show for a command in the key bar: a single character
    /// when one is bound (`y` over `enter`, `q` over `ctrl-c`).
    pub fn key_for(&self, cmd: &str) -> String {
        let Some(v) = self.shown.get(cmd) else {
            return "—".into();
        };
        v.iter()
            .find(|k| k.chars().count() == 1)
            .or_else(|| v.first())
            .cloned()
            .unwrap_or_else(|| "—".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_keymap_has_no_duplicates_and_covers_the_spec_keys() {
        // toml rejects duplicate keys in a table; check that explicitly too.
        let mut seen = std::collections::BTreeSet::new();
        for line in DEFAULT.lines().filter(|l| l.starts_with('"')) {
            let key = line.split('=').next().unwrap().trim();
            assert!(seen.insert(key.to_string()), "duplicate binding {key}");
        }
        let km = Keymap::parse(DEFAULT, None).unwrap();
        for (k, cmd) in [
            ("y", "accept"),
            ("enter", "accept"),
            ("n", "reject"),
            ("e", "edit"),
            ("a", "accept-item"),
            ("d", "reject-item"),
            ("s", "split"),
            ("u", "undo"),
            ("j", "down"),
            ("k", "up"),
            ("J", "scroll-down"),
            ("K", "scroll-up"),
            ("pgdn", "page-down"),
            ("pgup", "page-up"),
            ("tab", "switch-pane"),
            ("c", "commit"),
            ("r", "run"),
            ("m", "note"),
            ("?", "help"),
            ("q", "quit"),
        ] {
            assert_eq!(
                km.normal.get(&parse_key(k).unwrap()).map(String::as_str),
                Some(cmd),
                "{k}"
            );
        }
    }

    #[test]
    fn user_overrides_and_errors() {
        let base = Keymap::parse(DEFAULT, None).unwrap();
        let km = Keymap::parse(
            "[normal]\n\"x\" = \"accept\"\n\"y\" = \"reject\"\n",
            Some(&base),
        )
        .unwrap();
        assert_eq!(km.normal[&parse_key("x").unwrap()], "accept");
        assert_eq!(km.normal[&parse_key("y").unwrap()], "reject");
        assert!(!km.shown["accept"].contains(&"y".to_string()));
        assert!(Keymap::parse("[normal]\n\"x\" = \"explode\"\n", None)
            .unwrap_err()
            .contains("unknown command"));
        assert!(Keymap::parse("[normal]\n\"f13\" = \"accept\"\n", None)
            .unwrap_err()
            .contains("unknown key"));
    }
}
