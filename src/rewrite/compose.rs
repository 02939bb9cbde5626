//! docker-compose healthchecks that call wget (NOTES §12: the spec misses
//! them, and they break on Debian where the image has no wget). Exec-form
//! `test: ["CMD", "wget", …]` flow sequences are rewritten element by
//! element in their own quoting; `CMD-SHELL` strings are parsed as shell.

use super::{shell_quote, wget, Finding, Proposal};
use crate::analyze::line_of;
use crate::analyze::shell;
use crate::analyze::yaml::{self, Node};
use crate::edit::Edit;

/// Is this file name a compose file?
pub fn is_compose_name(name: &str) -> bool {
    let l = name.to_ascii_lowercase();
    (l.starts_with("docker-compose") || l.starts_with("compose"))
        && (l.ends_with(".yml") || l.ends_with(".yaml"))
}

pub fn rewrite(path: &str, text: &str) -> (Vec<Proposal>, Vec<Finding>) {
    let mut props = Vec::new();
    let mut finds = Vec::new();
    let root = match super::parse_yaml(text, "compose-wget") {
        Ok(r) => r,
        Err(f) => {
            finds.push(f);
            return (props, finds);
        }
    };
    let Some(services) = root.get("services") else {
        return (props, finds);
    };
    for (name, svc) in services.entries() {
        let Some(test) = svc.get("healthcheck").and_then(|h| h.get("test")) else {
            continue;
        };
        let tags = vec![format!("file={path}"), format!("service={}", name.value)];
        match test {
            Node::Seq { items, flow, .. } => {
                let vals: Vec<&str> = items
                    .iter()
                    .filter_map(|i| i.as_scalar().map(|s| s.value.as_str()))
                    .collect();
                if vals.len() != items.len() || vals.len() < 2 {
                    continue;
                }
                if vals[0] == "CMD" && vals[1] == "wget" {
                    if !flow {
                        finds.push(Finding {
                            rule: "compose-wget",
                            line: line_of(text, test.start()),
                            message: format!("service {}: block-style healthcheck test uses wget; switch it to curl by hand", name.value),
                        });
                        continue;
                    }
                    let cmdline: Vec<String> = vals[1..].iter().map(|v| shell_quote(v)).collect();
                    let Ok(script) = shell::parse(&cmdline.join(" ")) else {
                        continue;
                    };
                    let Some(cmd) = script.commands().into_iter().next() else {
                        continue;
                    };
                    match wget::convert(&cmd) {
                        Ok(conv) => {
                            let Ok(curl) = shell::parse(&conv.text) else {
                                continue;
                            };
                            let Some(cc) = curl.commands().into_iter().next() else {
                                continue;
                            };
                            let words: Vec<String> = std::iter::once(cc.name.text().to_string())
                                .chain(cc.args.iter().map(|a| a.text().to_string()))
                                .collect();
                            let (Some(first), Some(last)) =
                                (items[1].as_scalar(), items.last().and_then(Node::as_scalar))
                            else {
                                continue;
                            };
                            if first.end <= first.start || last.end <= last.start {
                                continue;
                            }
                            let q = if text.as_bytes().get(first.start) == Some(&b'\'') {
                                '\''
                            } else {
                                '"'
                            };
                            // Keep the separator the file uses between elements.
                            let sep =
                                text[items[0].as_scalar().map(|s| s.end).unwrap_or(first.start)
                                    ..first.start]
                                    .to_string();
                            let sep = if sep.trim() == "," && !sep.contains('\n') {
                                sep
                            } else {
                                ", ".to_string()
                            };
                            let rendered: Vec<String> = words
                                .iter()
                                .map(|w| {
                                    format!(
                                        "{q}{}{q}",
                                        w.replace('\\', "\\\\").replace(q, &format!("\\{q}"))
                                    )
                                })
                                .collect();
                            let mut notes = vec![format!("service {}: the healthcheck runs wget, which Debian-based images lack (NOTES §12; the spec misses compose files)", name.value)];
                            notes.extend(conv.notes);
                            props.push(Proposal::new(
                                "compose-wget",
                                tags.clone(),
                                vec![Edit::new(first.start, last.end, rendered.join(&sep))],
                                format!("healthcheck of {}: wget → curl", name.value),
                                notes.join("\n"),
                            ));
                        }
                        Err(msg) => finds.push(Finding {
                            rule: "compose-wget",
                            line: line_of(text, test.start()),
                            message: msg,
                        }),
                    }
                } else if vals[0] == "CMD-SHELL" {
                    if let Some(s) = items[1].as_scalar() {
                        shell_string(text, s, &tags, &name.value, &mut props, &mut finds);
                    }
                }
            }
            // The string form is run by the shell (CMD-SHELL).
            Node::Scalar(s) => shell_string(text, s, &tags, &name.value, &mut props, &mut finds),
            _ => {}
        }
    }
    (props, finds)
}

fn shell_string(
    text: &str,
    s: &yaml::Scalar,
    tags: &[String],
    service: &str,
    props: &mut Vec<Proposal>,
    finds: &mut Vec<Finding>,
) {
    if !s.value.contains("wget") {
        return;
    }
    let Some(m) = s.mapped(text) else {
        finds.push(Finding {
            rule: "compose-wget",
            line: line_of(text, s.start),
            message: format!("service {service}: the healthcheck string uses wget but is written with escapes; switch it to curl by hand"),
        });
        return;
    };
    let Ok(script) = shell::parse(&m.text) else {
        return;
    };
    let mut edits = Vec::new();
    let mut notes = vec![format!(
        "service {service}: the healthcheck runs wget, which Debian-based images lack (NOTES §12)"
    )];
    for c in script.commands().iter().map(shell::Command::unwrapped) {
        if c.base_name() != "wget" {
            continue;
        }
        match wget::convert(&c) {
            Ok(conv) => {
                let (a, b) = m.range_to_file(c.name.start, c.end);
                edits.push(Edit::new(a, b, conv.text));
                notes.extend(conv.notes);
            }
            Err(msg) => finds.push(Finding {
                rule: "compose-wget",
                line: line_of(text, s.start),
                message: msg,
            }),
        }
    }
    if !edits.is_empty() {
        props.push(Proposal::new(
            "compose-wget",
            tags.to_vec(),
            edits,
            format!("healthcheck of {service}: wget → curl"),
            notes.join("\n"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edit::splice;

    fn run(src: &str) -> String {
        let (p, _) = rewrite("docker-compose.yml", src);
        let e: Vec<Edit> = p.iter().flat_map(|p| p.edits.clone()).collect();
        splice(src, &e).unwrap()
    }

    #[test]
    fn exec_form() {
        let src = "services:\n  app:\n    healthcheck:\n      test: [\"CMD\", \"wget\", \"--no-verbose\", \"--tries=1\", \"--spider\", \"http://localhost:8080/health\"]  # probe\n      interval: 30s\n";
        assert_eq!(
            run(src),
            "services:\n  app:\n    healthcheck:\n      test: [\"CMD\", \"curl\", \"-fsSL\", \"-o\", \"/dev/null\", \"http://localhost:8080/health\"]  # probe\n      interval: 30s\n"
        );
    }

    #[test]
    fn shell_forms() {
        let src = "services:\n  a:\n    healthcheck:\n      test: [\"CMD-SHELL\", \"wget -qO- http://localhost/ || exit 1\"]\n  b:\n    healthcheck:\n      test: wget -q --spider http://localhost/\n";
        assert_eq!(
            run(src),
            "services:\n  a:\n    healthcheck:\n      test: [\"CMD-SHELL\", \"curl -fsL http://localhost/ || exit 1\"]\n  b:\n    healthcheck:\n      test: curl -fsL -o /dev/null http://localhost/\n"
        );
    }

    #[test]
    fn invalid_yaml_is_reported() {
        let (p, f) = rewrite("c.yml", "services: [\n");
        assert!(p.is_empty());
        assert!(f[0].message.contains("not valid YAML"));
    }
}
