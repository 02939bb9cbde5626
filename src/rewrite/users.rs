//! Busybox user tools and privilege dropping, one command at a time.
//! `addgroup`/`adduser` become `groupadd`/`useradd`/`usermod` (NOTES §4: on
//! Debian the busybox forms fail or silently do nothing); `su-exec` becomes
//! `gosu` or `setpriv` (NOTES §8). Each function returns the replacement for
//! the command's words (`name.start..end`), or a reason to leave it alone.

use super::shell_quote;
use crate::analyze::shell::{Command, Word};
use crate::recipe::PrivilegeDrop;

/// A converted command: replacement text for `cmd.name.start..cmd.end`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Converted {
    pub text: String,
    pub notes: Vec<String>,
}

/// Debian adduser's long options: a command using them is Debian syntax
/// already (and needs the `adduser` package, which slim lacks).
const DEBIAN_ADDUSER_OPTS: &[&str] = &[
    "--system",
    "--gid",
    "--uid",
    "--ingroup",
    "--home",
    "--shell",
    "--disabled-password",
    "--disabled-login",
    "--no-create-home",
    "--gecos",
    "--group",
    "--quiet",
];

fn raw(w: &Word) -> &str {
    &w.raw
}

fn nologin(w: &Word, notes: &mut Vec<String>) -> String {
    if w.is("/sbin/nologin") {
        notes.push("/sbin/nologin → /usr/sbin/nologin, the canonical path on Debian".into());
        "/usr/sbin/nologin".into()
    } else {
        raw(w).to_string()
    }
}

fn debian_syntax(cmd: &Command) -> Option<String> {
    cmd.args
        .iter()
        .find(|a| {
            let t = a.text();
            DEBIAN_ADDUSER_OPTS.iter().any(|o| t == *o || t.starts_with(&format!("{o}=")))
        })
        .map(|a| {
            format!(
                "`{}` uses Debian adduser syntax (`{}`), which needs the adduser package (not in slim); rewrite it with {} by hand",
                cmd.base_name(),
                a.text(),
                if cmd.base_name() == "addgroup" { "groupadd" } else { "useradd" }
            )
        })
}

/// A parsed short option: the flag, its value as a separate word, or inline.
type Opt<'a> = (char, Option<&'a Word>, Option<String>);

/// Split busybox-style short options (`-DH`, `-u 1000`, `-u1000`) into
/// `(flag, value)` pairs and positional words.
fn getopt<'a>(args: &'a [Word], with_value: &str) -> Result<(Vec<Opt<'a>>, Vec<&'a Word>), String> {
    let mut opts = Vec::new();
    let mut pos = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let w = &args[i];
        let t = w.text();
        if t.starts_with('-') && t.len() > 1 && pos.is_empty() && w.value.is_some() {
            if t.starts_with("--") {
                return Err(format!("unknown option `{t}`"));
            }
            let chars: Vec<char> = t[1..].chars().collect();
            let mut k = 0;
            while k < chars.len() {
                let c = chars[k];
                if with_value.contains(c) {
                    let rest: String = chars[k + 1..].iter().collect();
                    if !rest.is_empty() {
                        opts.push((c, None, Some(rest)));
                    } else {
                        i += 1;
                        let v = args
                            .get(i)
                            .ok_or_else(|| format!("option -{c} needs a value"))?;
                        opts.push((c, Some(v), None));
                    }
                    break;
                }
                opts.push((c, None, None));
                k += 1;
            }
        } else {
            pos.push(w);
        }
        i += 1;
    }
    Ok((opts, pos))
}

fn val(w: Option<&Word>, inline: &Option<String>) -> String {
    match (w, inline) {
        (Some(w), _) => w.raw.clone(),
        (None, Some(s)) => shell_quote(s),
        (None, None) => String::new(),
    }
}

/// busybox `addgroup`.
pub fn addgroup(cmd: &Command) -> Result<Converted, String> {
    if let Some(msg) = debian_syntax(cmd) {
        return Err(msg);
    }
    let (opts, pos) = getopt(&cmd.args, "g").map_err(|e| format!("addgroup: {e}"))?;
    let mut notes = Vec::new();
    match pos.as_slice() {
        [user, group] => {
            if !opts.is_empty() {
                return Err("addgroup USER GROUP with options has no Debian equivalent; convert by hand".into());
            }
            notes.push(
                "busybox `addgroup USER GROUP` adds a user to a group: Debian's addgroup would die (NOTES §4), usermod -aG does it".to_string(),
            );
            Ok(Converted {
                text: format!("usermod -aG {} {}", raw(group), raw(user)),
                notes,
            })
        }
        [group] => {
            let mut out = vec!["groupadd".to_string()];
            for (c, w, inline) in &opts {
                match c {
                    'g' => out.push(format!("-g {}", val(*w, inline))),
                    'S' => out.push("-r".into()),
                    other => return Err(format!("addgroup: unknown option -{other}; convert by hand")),
                }
            }
            out.push(raw(group).to_string());
            notes.push(
                "busybox `addgroup -g GID NAME` → groupadd: Debian's addgroup rejects `-g` as ambiguous (NOTES §4)".into(),
            );
            Ok(Converted {
                text: out.join(" "),
                notes,
            })
        }
        _ => Err("addgroup with this argument list is not a busybox form charon-tui knows; convert by hand".into()),
    }
}

/// busybox `adduser`.
pub fn adduser(cmd: &Command) -> Result<Converted, String> {
    if let Some(msg) = debian_syntax(cmd) {
        return Err(msg);
    }
    let (opts, pos) = getopt(&cmd.args, "hgsGuk").map_err(|e| format!("adduser: {e}"))?;
    let mut notes = Vec::new();
    match pos.as_slice() {
        [user, group] if opts.is_empty() => {
            notes.push("busybox `adduser USER GROUP` adds a user to a group; usermod -aG does it on Debian".into());
            Ok(Converted {
                text: format!("usermod -aG {} {}", raw(group), raw(user)),
                notes,
            })
        }
        [user] => {
            let mut out = vec!["useradd".to_string()];
            let mut no_home = false;
            for (c, w, inline) in &opts {
                let v = val(*w, inline);
                match c {
                    'u' => out.push(format!("-u {v}")),
                    'G' => out.push(format!("-g {v}")),
                    'h' => out.push(format!("-d {v}")),
                    's' => {
                        let shell = match w {
                            Some(w) => nologin(w, &mut notes),
                            None => v,
                        };
                        out.push(format!("-s {shell}"));
                    }
                    'g' => out.push(format!("-c {v}")),
                    'k' => out.push(format!("-k {v}")),
                    'S' => out.push("-r".into()),
                    'H' => no_home = true,
                    'D' => {}
                    other => return Err(format!("adduser: unknown option -{other}; convert by hand")),
                }
            }
            out.push(if no_home { "-M".into() } else { "-m".into() });
            out.push(raw(user).to_string());
            notes.push(
                "busybox `adduser` → useradd: Debian's adduser prints its usage and exits 0 without creating the user (NOTES §4)".into(),
            );
            notes.push(
                "flags: -G group → -g (primary group), -h → -d, -g GECOS → -c, -S → -r, -D dropped (useradd leaves the password locked)".into(),
            );
            if no_home {
                notes.push("-H (no home) → -M".into());
            } else {
                notes.push(
                    "busybox creates the home directory unless -H, so -m keeps that (the spec writes -M; with an existing directory useradd only warns)".into(),
                );
            }
            Ok(Converted {
                text: out.join(" "),
                notes,
            })
        }
        _ => Err("adduser with this argument list is not a busybox form charon-tui knows; convert by hand".into()),
    }
}

/// `su-exec USER CMD…` → `gosu USER CMD…` or `setpriv … CMD…`.
/// Returns the replacement for `name.start..user.end`.
pub fn su_exec(cmd: &Command, mode: PrivilegeDrop) -> Result<(usize, usize, Converted), String> {
    let user = cmd
        .args
        .first()
        .ok_or_else(|| "su-exec without a user; convert by hand".to_string())?;
    if user.text().starts_with('-') {
        return Err(format!(
            "su-exec option `{}` is unknown; convert by hand",
            user.text()
        ));
    }
    match mode {
        PrivilegeDrop::Gosu => Ok((
            cmd.name.start,
            cmd.name.end,
            Converted {
                text: "gosu".into(),
                notes: vec![
                    "su-exec → gosu, as the spec says. Debian's gosu is built with an old Go, so image scanners report Go stdlib CVEs against it (NOTES §8); `privilege_drop = \"setpriv\"` in the recipe uses util-linux's setpriv instead".into(),
                ],
            },
        )),
        PrivilegeDrop::Setpriv => {
            let (u, g) = match user.value.as_deref().and_then(|v| v.split_once(':')) {
                Some((u, g)) => (shell_quote(u), shell_quote(g)),
                None => (user.raw.clone(), user.raw.clone()),
            };
            Ok((
                cmd.name.start,
                user.end,
                Converted {
                    text: format!("setpriv --reuid={u} --regid={g} --init-groups"),
                    notes: vec![
                        "su-exec → setpriv (util-linux, already in Debian slim): no extra package and no Go runtime for scanners to flag (NOTES §8)".into(),
                    ],
                },
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::shell;

    fn first(src: &str) -> Command {
        shell::parse(src).unwrap().commands().remove(0)
    }

    #[test]
    fn spec_user_creation() {
        assert_eq!(
            addgroup(&first("addgroup -g 1000 charon")).unwrap().text,
            "groupadd -g 1000 charon"
        );
        assert_eq!(
            adduser(&first(
                "adduser -D -u 1000 -G charon -h /app -s /sbin/nologin charon"
            ))
            .unwrap()
            .text,
            "useradd -u 1000 -g charon -d /app -s /usr/sbin/nologin -m charon"
        );
    }

    #[test]
    fn add_user_to_group() {
        assert_eq!(
            addgroup(&first("addgroup charon docker")).unwrap().text,
            "usermod -aG docker charon"
        );
        assert_eq!(
            addgroup(&first("addgroup charon \"$GROUP_NAME\""))
                .unwrap()
                .text,
            "usermod -aG \"$GROUP_NAME\" charon"
        );
        assert_eq!(
            adduser(&first("adduser app wheel")).unwrap().text,
            "usermod -aG wheel app"
        );
        assert_eq!(
            addgroup(&first("addgroup -g \"$DOCKER_SOCK_GID\" docker"))
                .unwrap()
                .text,
            "groupadd -g \"$DOCKER_SOCK_GID\" docker"
        );
    }

    #[test]
    fn system_users_gecos_and_clustered_flags() {
        assert_eq!(
            addgroup(&first("addgroup -S app")).unwrap().text,
            "groupadd -r app"
        );
        assert_eq!(
            adduser(&first("adduser -S -D -H -g 'App user' -G app app"))
                .unwrap()
                .text,
            "useradd -r -c 'App user' -g app -M app"
        );
        assert_eq!(
            adduser(&first("adduser -DH -u1001 app")).unwrap().text,
            "useradd -u 1001 -M app"
        );
    }

    #[test]
    fn debian_syntax_and_unknown_forms_are_left_alone() {
        assert!(adduser(&first("adduser --system --no-create-home app")).is_err());
        assert!(addgroup(&first("addgroup --gid 1000 app")).is_err());
        assert!(adduser(&first("adduser -Z app")).is_err());
        assert!(addgroup(&first("addgroup")).is_err());
    }

    #[test]
    fn su_exec_forms() {
        let c = first("su-exec charon \"$@\"");
        let (s, e, conv) = su_exec(&c, PrivilegeDrop::Gosu).unwrap();
        assert_eq!((s, e, conv.text.as_str()), (0, 7, "gosu"));
        let c = first("su-exec app:app /bin/run");
        let (_, e, conv) = su_exec(&c, PrivilegeDrop::Setpriv).unwrap();
        assert_eq!(conv.text, "setpriv --reuid=app --regid=app --init-groups");
        assert_eq!(e, "su-exec app:app".len());
    }
}
