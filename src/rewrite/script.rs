//! Shell scripts the images run (the ENTRYPOINT script, scripts a Dockerfile
//! COPYs, the spec's `.docker/docker-entrypoint.sh`): su-exec → gosu, busybox
//! user tools → groupadd/useradd/usermod, wget → curl, ash shebangs, and
//! package installs at container start. One hunk per command, so each can be
//! accepted on its own; feature-detecting scripts are left alone.

use std::collections::{BTreeSet, HashMap};

use super::apk::{self, Tool};
use super::{users, wget, Finding, Proposal};
use crate::analyze::line_of;
use crate::analyze::shell::{self, Command};
use crate::edit::Edit;
use crate::recipe::Recipe;

/// Rules applied to one script.
pub fn rewrite(path: &str, text: &str, recipe: &Recipe) -> (Vec<Proposal>, Vec<Finding>) {
    let mut props = Vec::new();
    let mut finds = Vec::new();
    let tags = vec![format!("file={path}"), "site=script".to_string()];
    let Ok(script) = shell::parse(text) else {
        finds.push(Finding {
            rule: "sh-su-exec",
            line: 1,
            message: "tree-sitter-bash could not run on this script".into(),
        });
        return (props, finds);
    };
    let errors = script.error_ranges();
    for &(s, _) in &errors {
        finds.push(Finding {
            rule: "sh-su-exec",
            line: line_of(text, s),
            message: "tree-sitter-bash cannot parse this line; nothing on it is rewritten".into(),
        });
    }
    // Shebang: busybox ash does not exist on Debian.
    if let Some(first) = text.lines().next() {
        for ash in [
            "#!/bin/ash",
            "#!/bin/busybox sh",
            "#!/sbin/tini -s /bin/ash",
        ] {
            if first.starts_with(ash)
                && (first.len() == ash.len() || first[ash.len()..].starts_with([' ', '\r']))
            {
                props.push(Proposal::new("sh-ash", tags.clone(), vec![Edit::new(0, ash.len(), "#!/bin/sh")], format!("shebang {ash} → #!/bin/sh"), "busybox's ash is not on Debian; /bin/sh (dash) runs POSIX scripts. If the script needs bash features, use #!/bin/bash instead (edit this hunk)."));
            }
        }
    }
    let cmds: Vec<Command> = script.commands().iter().map(Command::unwrapped).collect();
    // Scripts that test for a tool already handle both worlds.
    let detected: BTreeSet<String> = cmds
        .iter()
        .filter(|c| matches!(c.base_name(), "command" | "which" | "type" | "hash"))
        .flat_map(|c| c.args.iter().map(|a| a.text().to_string()))
        .filter(|a| {
            matches!(
                a.as_str(),
                "addgroup" | "adduser" | "su-exec" | "wget" | "apk"
            )
        })
        .collect();
    for c in &cmds {
        let name = c.base_name();
        if detected.contains(name) {
            finds.push(Finding {
                rule: "sh-addgroup",
                line: line_of(text, c.start),
                message: format!(
                    "`{name}` is feature-detected in this script (command -v/which), so it already handles Debian; left alone"
                ),
            });
            continue;
        }
        match name {
            "su-exec" => match users::su_exec(c, recipe.settings.privilege_drop) {
                Ok((s, e, conv)) => props.push(Proposal {
                    rule: "sh-su-exec",
                    tags: tags.clone(),
                    edits: vec![Edit::new(s, e, conv.text.clone())],
                    summary: format!(
                        "su-exec → {}",
                        conv.text.split(' ').next().unwrap_or("gosu")
                    ),
                    explanation: with_step("Step 3.1", &conv.notes),
                    flags: vec![],
                    alt: None,
                    rename_to: None,
                }),
                Err(msg) => finds.push(finding("sh-su-exec", text, c, msg)),
            },
            "addgroup" | "adduser" => {
                let r = if name == "addgroup" {
                    users::addgroup(c)
                } else {
                    users::adduser(c)
                };
                match r {
                    Ok(conv) => {
                        let rule = if conv.text.starts_with("groupadd") {
                            "sh-addgroup"
                        } else {
                            "sh-adduser"
                        };
                        let mut notes = conv.notes.clone();
                        if text[c.end..].trim_start().starts_with("2>/dev/null")
                            || text[c.stmt_end..].trim_start().starts_with("||")
                        {
                            notes.push("its `2>/dev/null || true` stays: on Debian the busybox form would have failed silently behind it (NOTES §4)".into());
                        }
                        props.push(Proposal {
                            rule,
                            tags: tags.clone(),
                            edits: vec![Edit::new(c.name.start, c.end, conv.text.clone())],
                            summary: format!(
                                "{} → {}",
                                text[c.name.start..c.end].trim(),
                                conv.text
                            ),
                            explanation: with_step("Step 3.2", &notes),
                            flags: vec![],
                            alt: None,
                            rename_to: None,
                        });
                    }
                    Err(msg) => finds.push(finding("sh-addgroup", text, c, msg)),
                }
            }
            "wget" => match wget::convert(c) {
                Ok(conv) => props.push(Proposal::new(
                    "sh-wget",
                    tags.clone(),
                    vec![Edit::new(c.name.start, c.end, conv.text.clone())],
                    format!("wget → {}", conv.text),
                    with_step("Step 3.0", &conv.notes),
                )),
                Err(msg) => finds.push(finding("sh-wget", text, c, msg)),
            },
            _ => {}
        }
    }
    // Package installs at container start.
    if cmds.iter().any(|c| c.base_name() == "apk") {
        let mut v = HashMap::new();
        let o = apk::convert(&script, recipe, Tool::Apk, " && ", &mut v);
        for (off, msg) in o.findings {
            finds.push(Finding {
                rule: "sh-apk",
                line: line_of(text, off),
                message: msg,
            });
        }
        if let Some(ch) = o.change {
            let mut notes = vec!["apk at container start → apt-get. Installing packages when the container starts needs root and network and slows every start; prefer installing them in the Dockerfile (NOTES §16).".to_string()];
            notes.extend(ch.notes);
            let mut flags = ch.flags;
            flags.push("move this install into the Dockerfile".into());
            props.push(Proposal {
                rule: "sh-apk",
                tags: tags.clone(),
                edits: ch.edits,
                summary: "apk at container start → apt-get".into(),
                explanation: notes.join("\n"),
                flags,
                alt: None,
                rename_to: None,
            });
        }
    }
    // A script tree-sitter reads cleanly stays so.
    if errors.is_empty() {
        let clean = |t: &str| shell::parse(t).is_ok_and(|s| s.error_ranges().is_empty());
        super::keep_readable(
            text,
            &mut props,
            &mut finds,
            &clean,
            "the rewritten script would not parse",
        );
    }
    (props, finds)
}

fn with_step(step: &str, notes: &[String]) -> String {
    let mut v = vec![format!("Spec {step}.")];
    v.extend(notes.iter().cloned());
    v.join("\n")
}

fn finding(rule: &'static str, text: &str, c: &Command, msg: String) -> Finding {
    Finding {
        rule,
        line: line_of(text, c.start),
        message: msg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edit::splice;

    fn migrate(src: &str) -> (String, Vec<Finding>) {
        let r = Recipe::embedded().unwrap();
        let (props, finds) = rewrite("x.sh", src, &r);
        let edits: Vec<Edit> = props.iter().flat_map(|p| p.edits.clone()).collect();
        (splice(src, &edits).unwrap(), finds)
    }

    #[test]
    fn spec_entrypoint_lines() {
        let (t, _) = migrate("su-exec charon \"$@\"\naddgroup -g \"$DOCKER_SOCK_GID\" docker 2>/dev/null || true\naddgroup charon docker 2>/dev/null || true\naddgroup charon \"$GROUP_NAME\" 2>/dev/null || true\nwget -q --spider http://localhost:2019/config/ || exit 1\n");
        assert_eq!(
            t,
            "gosu charon \"$@\"\ngroupadd -g \"$DOCKER_SOCK_GID\" docker 2>/dev/null || true\nusermod -aG docker charon 2>/dev/null || true\nusermod -aG \"$GROUP_NAME\" charon 2>/dev/null || true\ncurl -fsL -o /dev/null http://localhost:2019/config/ || exit 1\n"
        );
    }

    #[test]
    fn feature_detection_is_left_alone() {
        let src =
            "if command -v addgroup >/dev/null; then addgroup -S app; else groupadd -r app; fi\n";
        let (t, f) = migrate(src);
        assert_eq!(t, src);
        assert!(f[0].message.contains("feature-detected"));
    }

    #[test]
    fn ash_shebang_and_runtime_apk() {
        let (t, f) = migrate("#!/bin/ash\napk add --no-cache jq\n");
        assert!(t.starts_with("#!/bin/sh\napt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends jq && rm -rf /var/lib/apt/lists/*\n"), "{t}");
        assert!(f.is_empty());
    }
}
