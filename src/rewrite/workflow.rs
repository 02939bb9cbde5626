//! GitHub Actions workflows (`.github/workflows/*.yml`): the `caddy:2-alpine`
//! digest step (spec 4.1/4.2: remove it, or switch it to the runtime's Debian
//! image — two alternative hunks), `apk info` package checks (→ an exact
//! `dpkg-query`, NOTES §13) and every other Alpine image a workflow names.
//! `run:` blocks are parsed as shell; edits touch only the words they change.

use super::dockerfile::{map_image_ref, ImageVerdict};
use super::{Alt, Finding, Proposal};
use crate::analyze::mapped::MappedText;
use crate::analyze::shell::{self, Command, Removal};
use crate::analyze::yaml::{Node, Scalar};
use crate::analyze::{line_end, line_of, line_start};
use crate::edit::Edit;
use crate::recipe::Recipe;

/// Replace every ASCII `${{ … }}` with underscores of the same length.
fn mask_expressions(s: &str) -> String {
    let mut out = s.to_string();
    let mut from = 0;
    while let Some(i) = out[from..].find("${{").map(|i| i + from) {
        let Some(j) = out[i..].find("}}").map(|j| i + j + 2) else {
            break;
        };
        if out[i..j].is_ascii() && !out[i..j].contains('\n') {
            out.replace_range(i..j, &"_".repeat(j - i));
        }
        from = j;
    }
    out
}

pub fn is_workflow(path: &str) -> bool {
    path.starts_with(".github/workflows/") && (path.ends_with(".yml") || path.ends_with(".yaml"))
}

/// Query names for `dpkg-query -W` (globs cover bookworm and trixie's t64 names).
fn query_name(recipe: &Recipe, alpine: &str) -> Result<Option<String>, String> {
    Ok(match alpine {
        "c-ares" => None,
        "libcurl" => Some("'libcurl4*'".into()),
        "openssl" | "libssl3" | "libcrypto3" => Some("'libssl3*'".into()),
        "curl" => Some("curl".into()),
        other => match super::packages::map_package(recipe, other).0 {
            super::packages::Mapped::To(v) => Some(v.join(" ")),
            super::packages::Mapped::Dropped(_) => None,
            super::packages::Mapped::Unknown => return Err(other.to_string()),
        },
    })
}

struct Step<'a> {
    name: Option<&'a Scalar>,
    id: Option<String>,
    run: Option<&'a Scalar>,
    /// Byte range of the whole step item (with its leading comments).
    range: (usize, usize),
}

fn steps<'a>(text: &str, seq: &'a Node) -> Vec<Step<'a>> {
    let items = seq.items();
    let starts: Vec<usize> = items
        .iter()
        .map(|i| with_comments(text, line_start(text, i.start())))
        .collect();
    let seq_end = match seq {
        Node::Seq { end, .. } => with_comments(text, line_start(text, *end)),
        _ => text.len(),
    };
    items
        .iter()
        .enumerate()
        .map(|(k, n)| Step {
            name: n.get("name").and_then(Node::as_scalar),
            id: n
                .get("id")
                .and_then(Node::as_scalar)
                .map(|s| s.value.clone()),
            run: n.get("run").and_then(Node::as_scalar),
            range: (
                starts[k],
                starts.get(k + 1).copied().unwrap_or(seq_end.max(starts[k])),
            ),
        })
        .collect()
}

/// Move a line start up over the comment lines directly above it.
fn with_comments(text: &str, mut pos: usize) -> usize {
    while pos > 0 {
        let prev = line_start(text, pos - 1);
        if text[prev..pos].trim_start().starts_with('#') {
            pos = prev;
        } else {
            break;
        }
    }
    pos
}

pub fn rewrite(path: &str, text: &str, recipe: &Recipe) -> (Vec<Proposal>, Vec<Finding>) {
    let mut props = Vec::new();
    let mut finds = Vec::new();
    let root = match super::parse_yaml(text, "ci-alpine-image") {
        Ok(r) => r,
        Err(f) => {
            finds.push(f);
            return (props, finds);
        }
    };
    let tags = vec![format!("file={path}")];
    let runtime = recipe
        .map_image("alpine", "latest")
        .map(|(to, _)| to)
        .unwrap_or_else(|| format!("debian:{}-slim", recipe.settings.suite));
    let Some(jobs) = root.get("jobs") else {
        return (props, finds);
    };
    for (_, job) in jobs.entries() {
        // Job containers and service containers.
        let mut images: Vec<&Scalar> = Vec::new();
        if let Some(c) = job.get("container") {
            images.extend(
                c.as_scalar()
                    .or_else(|| c.get("image").and_then(Node::as_scalar)),
            );
        }
        if let Some(svcs) = job.get("services") {
            for (_, s) in svcs.entries() {
                images.extend(s.get("image").and_then(Node::as_scalar));
            }
        }
        for img in images {
            image_scalar(text, recipe, img, &tags, &mut props, &mut finds);
        }
        let Some(seq) = job.get("steps") else {
            continue;
        };
        for step in steps(text, seq) {
            let Some(run) = step.run else { continue };
            let Some(m) = run.mapped(text) else { continue };
            // `${{ … }}` is GitHub's, not the shell's: mask it (same length)
            // so tree-sitter sees a plain word there.
            let Ok(script) = shell::parse(&mask_expressions(&m.text)) else {
                continue;
            };
            let cmds: Vec<Command> = script.commands().iter().map(Command::unwrapped).collect();
            caddy_digest(text, &runtime, &step, &m, &cmds, &tags, &mut props);
            apk_info(
                text, recipe, &step, &m, &cmds, &tags, &mut props, &mut finds,
            );
            // Other Alpine images in docker commands.
            for c in cmds.iter().filter(|c| c.base_name() == "docker") {
                for w in &c.args {
                    let Some(v) = w.value.as_deref() else {
                        continue;
                    };
                    if v.starts_with('-') || v.starts_with("caddy:") || !(v.contains("alpine")) {
                        continue;
                    }
                    match map_image_ref(recipe, v) {
                        Some(ImageVerdict::Map(mp)) if m.is_contiguous(w.start, w.end) => {
                            let (a, b) = m.range_to_file(w.start, w.end);
                            let mut notes = vec![format!("`{v}` in a workflow step → {}", mp.to)];
                            notes.extend(mp.notes);
                            props.push(Proposal {
                                rule: "ci-alpine-image",
                                tags: tags.clone(),
                                edits: vec![Edit::new(a, b, mp.to.clone())],
                                summary: format!("{v} → {}", mp.to),
                                explanation: notes.join("\n"),
                                flags: mp.flags,
                                alt: None,
                                rename_to: None,
                            });
                        }
                        Some(ImageVerdict::Report(msg)) => finds.push(Finding {
                            rule: "ci-alpine-image",
                            line: line_of(text, m.start_to_file(w.start)),
                            message: msg,
                        }),
                        _ => {}
                    }
                }
            }
            for c in cmds
                .iter()
                .filter(|c| c.base_name() == "apk" && !c.in_substitution)
            {
                finds.push(Finding {
                    rule: "ci-apk-info",
                    line: line_of(text, m.start_to_file(c.start)),
                    message: "apk runs directly in a workflow step; it only works in an Alpine container: convert it with the job's image".into(),
                });
            }
        }
    }
    (props, finds)
}

fn image_scalar(
    text: &str,
    recipe: &Recipe,
    img: &Scalar,
    tags: &[String],
    props: &mut Vec<Proposal>,
    finds: &mut Vec<Finding>,
) {
    match map_image_ref(recipe, &img.value) {
        Some(ImageVerdict::Map(mp)) => {
            let Some(m) = img.mapped(text) else { return };
            let (a, b) = m.range_to_file(0, m.text.len());
            let mut notes = vec![format!(
                "workflow container image {} → {}",
                img.value, mp.to
            )];
            notes.extend(mp.notes);
            props.push(Proposal {
                rule: "ci-alpine-image",
                tags: tags.to_vec(),
                edits: vec![Edit::new(a, b, mp.to.clone())],
                summary: format!("{} → {}", img.value, mp.to),
                explanation: notes.join("\n"),
                flags: mp.flags,
                alt: None,
                rename_to: None,
            });
        }
        Some(ImageVerdict::Report(msg)) => finds.push(Finding {
            rule: "ci-alpine-image",
            line: line_of(text, img.start),
            message: msg,
        }),
        None => {}
    }
}

#[allow(clippy::too_many_arguments)]
fn caddy_digest(
    text: &str,
    runtime: &str,
    step: &Step,
    m: &MappedText,
    cmds: &[Command],
    tags: &[String],
    props: &mut Vec<Proposal>,
) {
    let mut words = Vec::new();
    for c in cmds.iter().filter(|c| c.base_name() == "docker") {
        for w in &c.args {
            if w.value
                .as_deref()
                .is_some_and(|v| v.starts_with("caddy:") && v.contains("alpine"))
                && m.is_contiguous(w.start, w.end)
            {
                words.push(m.range_to_file(w.start, w.end));
            }
        }
    }
    if words.is_empty() {
        return;
    }
    let group = format!("caddy-digest:{}", line_of(text, step.range.0));
    let step_name = step
        .name
        .map(|n| n.value.clone())
        .unwrap_or_else(|| "the Caddy digest step".into());
    // Is the step's output used elsewhere? Then removing it breaks the workflow.
    let used = step.id.as_ref().and_then(|id| {
        let needle = format!("steps.{id}.");
        text.match_indices(&needle)
            .map(|(i, _)| i)
            .find(|i| *i < step.range.0 || *i >= step.range.1)
            .map(|i| line_of(text, i))
    });
    let remove_idx = if used.is_some() { 1 } else { 0 };
    let mut remove_flags = Vec::new();
    let mut remove_notes = vec![
        format!("Spec Step 4.1/4.2, first choice: remove `{step_name}` — Charon builds Caddy from source, so the caddy:2-alpine digest pins nothing the image uses."),
    ];
    if let Some(line) = used {
        remove_flags.push(format!(
            "the step's output is used at line {line}: fix that reference too"
        ));
        remove_notes.push(format!(
            "Its output is used at line {line}, so switching the image is the default here."
        ));
    }
    let (s, e) = step.range;
    let e = if e > s { e } else { line_end(text, s) };
    props.push(Proposal {
        rule: "ci-caddy-digest",
        tags: tags.to_vec(),
        edits: vec![Edit::delete(s, e)],
        summary: format!("remove the step `{step_name}`"),
        explanation: remove_notes.join("\n"),
        flags: remove_flags,
        alt: Some(Alt {
            group: group.clone(),
            index: remove_idx,
            label: "remove the step".into(),
        }),
        rename_to: None,
    });
    props.push(Proposal {
        rule: "ci-caddy-digest",
        tags: tags.to_vec(),
        edits: words.iter().map(|&(a, b)| Edit::new(a, b, runtime.to_string())).collect(),
        summary: format!("`{step_name}`: caddy:2-alpine → {runtime}"),
        explanation: format!(
            "Spec Step 4.1/4.2, second choice: record the digest of the runtime's Debian image ({runtime}) instead of caddy:2-alpine, so the workflow pins what the image is built on."
        ),
        flags: vec![],
        alt: Some(Alt { group, index: 1 - remove_idx, label: format!("switch to {runtime}") }),
        rename_to: None,
    });
}

#[allow(clippy::too_many_arguments)]
fn apk_info(
    text: &str,
    recipe: &Recipe,
    step: &Step,
    m: &MappedText,
    cmds: &[Command],
    tags: &[String],
    props: &mut Vec<Proposal>,
    finds: &mut Vec<Finding>,
) {
    for c in cmds {
        for w in &c.args {
            let Some(v) = w.value.as_deref() else {
                continue;
            };
            if !v.contains("apk ") || !(w.raw.starts_with('"') || w.raw.starts_with('\'')) {
                continue;
            }
            let quote = w.raw.as_bytes()[0];
            if w.raw.len() < 2
                || &w.raw[1..w.raw.len() - 1] != v
                || !m.is_contiguous(w.start + 1, w.end - 1)
            {
                finds.push(Finding {
                    rule: "ci-apk-info",
                    line: line_of(text, m.start_to_file(w.start)),
                    message: "an apk command inside a string with escapes; convert it by hand"
                        .into(),
                });
                continue;
            }
            let inner_start = m.start_to_file(w.start + 1);
            let inner = MappedText::contiguous(inner_start, v);
            let Ok(script) = shell::parse(v) else {
                continue;
            };
            let mut edits = Vec::new();
            let mut notes = vec!["Spec Step 4.2: the image has no apk any more; dpkg-query -W prints exactly the named packages and their versions (NOTES §13: `dpkg -l | grep -E` matches unrelated packages).".to_string()];
            for ic in script.commands().iter().filter(|c| c.base_name() == "apk") {
                let sub = ic
                    .args
                    .iter()
                    .find(|a| !a.text().starts_with('-'))
                    .map(|a| a.text().to_string())
                    .unwrap_or_default();
                match sub.as_str() {
                    "update" => match ic.removal {
                        Removal::Range(a, b) => {
                            let (fa, fb) = inner.range_to_file(a, b);
                            edits.push(Edit::delete(fa, fb));
                            notes.push("`apk update` removed: dpkg-query reads the installed database, no index needed".into());
                        }
                        _ => edits.push({
                            let (fa, fb) = inner.range_to_file(ic.start, ic.end);
                            Edit::new(fa, fb, ":")
                        }),
                    },
                    "info" => {
                        let pkgs: Vec<&str> = ic.args.iter().map(|a| a.text()).filter(|a| !a.starts_with('-') && *a != "info").collect();
                        let mut names = Vec::new();
                        for p in &pkgs {
                            match query_name(recipe, p) {
                                Ok(Some(n)) => names.push(n),
                                Ok(None) => notes.push(format!("{p}: not installed on Debian (NOTES §3), so not queried — dpkg-query would fail on it")),
                                Err(unknown) => {
                                    notes.push(format!("{unknown}: no known Debian package; kept out of the query"));
                                }
                            }
                        }
                        if pkgs.contains(&"openssl") {
                            notes.push("openssl → libssl3*: the openssl CLI is not in slim; the library is what the image ships (the glob also matches trixie's libssl3t64)".into());
                        }
                        let fmt = if quote == b'"' { "-f='\\${Package} \\${Version}\\n'" } else { "-f=\"\\${Package} \\${Version}\\n\"" };
                        let (fa, fb) = inner.range_to_file(ic.name.start, ic.end);
                        edits.push(Edit::new(fa, fb, format!("dpkg-query -W {fmt} {}", names.join(" "))));
                    }
                    other => finds.push(Finding {
                        rule: "ci-apk-info",
                        line: line_of(text, inner_start),
                        message: format!("`apk {other}` in a workflow check has no direct Debian form; convert it by hand"),
                    }),
                }
            }
            if edits.is_empty() {
                continue;
            }
            if let Some(n) = step.name {
                if let Some(i) = n.value.find("Alpine") {
                    if let Some(nm) = n.mapped(text) {
                        let (a, _) = nm.range_to_file(i, i + 6);
                        edits.push(Edit::new(a, a + 6, "Debian"));
                        notes.push(format!(
                            "step name: \"{}\" → \"{}\"",
                            n.value,
                            n.value.replacen("Alpine", "Debian", 1)
                        ));
                    }
                }
            }
            props.push(Proposal::new(
                "ci-apk-info",
                tags.to_vec(),
                edits,
                "apk info → dpkg-query",
                notes.join("\n"),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edit::splice;

    fn run(src: &str, pick: usize) -> (String, Vec<Finding>) {
        let r = Recipe::embedded().unwrap();
        let (p, f) = rewrite(".github/workflows/x.yml", src, &r);
        let e: Vec<Edit> = p
            .iter()
            .filter(|p| p.alt.as_ref().is_none_or(|a| a.index == pick))
            .flat_map(|p| p.edits.clone())
            .collect();
        (splice(src, &e).unwrap(), f)
    }

    const DIGEST: &str = "jobs:\n  b:\n    steps:\n      - uses: actions/checkout@v4\n\n      # Record the digest.\n      - name: Resolve Caddy base image digest\n        id: caddy\n        run: |\n          docker pull caddy:2-alpine\n          DIGEST=$(docker inspect --format='{{index .RepoDigests 0}}' caddy:2-alpine)\n          echo \"image=$DIGEST\" >> \"$GITHUB_OUTPUT\"\n\n      - name: Build\n        run: make\n";

    #[test]
    fn caddy_digest_alternatives() {
        let (removed, _) = run(DIGEST, 0);
        assert_eq!(removed, "jobs:\n  b:\n    steps:\n      - uses: actions/checkout@v4\n\n      - name: Build\n        run: make\n");
        let (switched, _) = run(DIGEST, 1);
        assert!(switched.contains("docker pull debian:bookworm-slim\n"));
        assert!(switched.contains("--format='{{index .RepoDigests 0}}' debian:bookworm-slim)"));
    }

    #[test]
    fn used_output_makes_switch_the_default() {
        let src = DIGEST.replace("run: make", "run: echo ${{ steps.caddy.outputs.image }}");
        let (t, _) = run(&src, 0);
        assert!(t.contains("docker pull debian:bookworm-slim"), "{t}");
    }

    #[test]
    fn apk_info_becomes_dpkg_query() {
        let src = "jobs:\n  b:\n    steps:\n      - name: Check Alpine package versions\n        run: |\n          docker run --rm --entrypoint \"\" img \\\n            sh -c \"apk update >/dev/null 2>&1 && apk info c-ares curl libcurl openssl\" >> \"$GITHUB_STEP_SUMMARY\"\n";
        let (t, _) = run(src, 0);
        assert_eq!(
            t,
            "jobs:\n  b:\n    steps:\n      - name: Check Debian package versions\n        run: |\n          docker run --rm --entrypoint \"\" img \\\n            sh -c \"dpkg-query -W -f='\\${Package} \\${Version}\\n' curl 'libcurl4*' 'libssl3*'\" >> \"$GITHUB_STEP_SUMMARY\"\n"
        );
    }

    #[test]
    fn container_and_docker_run_images() {
        let src = "jobs:\n  t:\n    container: alpine:3.19\n    services:\n      cache:\n        image: \"redis:7-alpine\"\n    steps:\n      - run: docker run --rm alpine:3.19 true\n";
        let (t, _) = run(src, 0);
        assert_eq!(t, "jobs:\n  t:\n    container: debian:bookworm-slim\n    services:\n      cache:\n        image: \"redis:7-bookworm\"\n    steps:\n      - run: docker run --rm debian:bookworm-slim true\n");
    }
}
