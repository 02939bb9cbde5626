//! The documentation phase and the pre-migration baseline: the CHANGELOG
//! entry (Keep a Changelog, generated from what was accepted), suggested
//! wording for user-facing lines that mention Alpine, apk, su-exec or image
//! sizes (found through pulldown-cmark's text events, so links and markup are
//! untouched), the plan archived as a rename, and a baseline file listing
//! every stage's base image as found.

use pulldown_cmark::{Event, Parser};

use super::Proposal;
use crate::analyze::{line_end, line_of, line_start};
use crate::edit::Edit;

const CHANGELOG_HEADER: &str = "# Changelog\n\nAll notable changes to this project will be documented in this file.\n\nThe format is based on [Keep a Changelog](https://keepachangelog.com/en/1.1.0/),\nand this project adheres to [Semantic Versioning](https://semver.org/spec/v2.0.0.html).\n\n## [Unreleased]\n";

/// The marker that makes the CHANGELOG entry idempotent.
pub const CHANGELOG_MARKER: &str = "Docker images are now based on Debian";

fn proposal(
    rule: &'static str,
    path: &str,
    edits: Vec<Edit>,
    summary: String,
    explanation: String,
) -> Proposal {
    Proposal::new(
        rule,
        vec![format!("file={path}")],
        edits,
        summary,
        explanation,
    )
}

/// The CHANGELOG entry. `text` is None when the file does not exist.
/// `changes` are `(heading, lines)` groups of what was accepted.
pub fn changelog(
    path: &str,
    text: Option<&str>,
    suite: &str,
    changes: &[(String, Vec<String>)],
) -> Option<Proposal> {
    if text.is_some_and(|t| t.contains(CHANGELOG_MARKER)) {
        return None;
    }
    let mut entry = String::from("### Changed\n\n");
    entry.push_str(&format!(
        "- {CHANGELOG_MARKER} {suite}-slim instead of Alpine Linux, for Debian's security support and glibc compatibility.\n"
    ));
    for (heading, lines) in changes {
        if lines.is_empty() {
            continue;
        }
        entry.push_str(&format!("- {heading}: {}.\n", lines.join("; ")));
    }
    entry.push('\n');
    let explanation = "Implementation Checklist › Documentation: an entry under ## [Unreleased] (Keep a Changelog), generated from the hunks accepted so far; edit the wording as you like.".to_string();
    match text {
        None => Some(proposal(
            "changelog",
            path,
            vec![Edit::insert(0, format!("{CHANGELOG_HEADER}\n{entry}"))],
            "create CHANGELOG.md with the migration entry".into(),
            format!(
                "{explanation}\nThe file did not exist: it is created with the standard header."
            ),
        )),
        Some(t) => {
            let edit = match t.find("## [Unreleased]") {
                Some(i) => {
                    let mut at = line_end(t, i);
                    // After the blank line that follows the heading.
                    if t[at..].starts_with('\n') {
                        at += 1;
                    }
                    Edit::insert(at, entry)
                }
                None => {
                    let at = t.find("\n## [").map(|i| i + 1).unwrap_or(t.len());
                    let sep = if at == t.len() && !t.ends_with('\n') {
                        "\n"
                    } else {
                        ""
                    };
                    Edit::insert(at, format!("{sep}## [Unreleased]\n\n{entry}"))
                }
            };
            Some(proposal(
                "changelog",
                path,
                vec![edit],
                "CHANGELOG: the Debian migration under [Unreleased]".into(),
                explanation,
            ))
        }
    }
}

/// Suggested wording for one Markdown file: one hunk per line that mentions
/// Alpine, apk, su-exec, addgroup or the Alpine image size.
pub fn mentions(path: &str, text: &str, suite: &str) -> Vec<Proposal> {
    let mut edits: Vec<Edit> = Vec::new();
    for (ev, range) in Parser::new(text).into_offset_iter() {
        let (s, e) = (range.start, range.end);
        match ev {
            Event::Text(_) | Event::Code(_) => {
                let chunk = &text[s..e];
                for (from, to) in replacements(suite) {
                    let mut pos = 0;
                    while let Some(i) = chunk[pos..].find(from.as_str()) {
                        let at = s + pos + i;
                        let end = at + from.len();
                        if !edits.iter().any(|x| x.start < end && at < x.end) {
                            edits.push(Edit::new(at, end, to.clone()));
                        }
                        pos += i + from.len();
                    }
                }
            }
            _ => {}
        }
    }
    // One hunk per line.
    edits.sort_by_key(|e| e.start);
    let mut out: Vec<Proposal> = Vec::new();
    let mut cur_line = 0;
    for e in edits {
        let line = line_of(text, e.start);
        if line == cur_line {
            if let Some(p) = out.last_mut() {
                p.edits.push(e);
                continue;
            }
        }
        cur_line = line;
        let ls = line_start(text, e.start);
        let shown = text[ls..line_end(text, e.start)].trim();
        out.push(proposal(
            "docs-mentions",
            path,
            vec![e],
            format!("{path}:{line}: suggested wording"),
            format!(
                "This user-facing line describes the Alpine image (\"{}\"). Suggested wording for the Debian image; press `e` to edit it before accepting.",
                shown.chars().take(80).collect::<String>()
            ),
        ));
    }
    out
}

fn replacements(suite: &str) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = vec![
        ("Alpine Linux".into(), format!("Debian {suite} slim")),
        ("Alpine-based".into(), "Debian-based".into()),
        (
            "apk add --no-cache".into(),
            "apt-get update && apt-get install -y".into(),
        ),
        ("apk add".into(), "apt-get install -y".into()),
        ("su-exec".into(), "gosu".into()),
        ("with `addgroup`".into(), "with `usermod -aG`".into()),
        ("~160 MB".into(), "~190 MB".into()),
        ("about 160 MB".into(), "about 190 MB".into()),
        ("Alpine".into(), "Debian".into()),
    ];
    for minor in ["3.18", "3.19", "3.20", "3.21", "3.22", "3.23"] {
        v.push((format!("alpine:{minor}"), format!("debian:{suite}-slim")));
    }
    v
}

/// Move the plan into docs/implementation/ (a rename).
pub fn archive(path: &str) -> Option<Proposal> {
    if path.starts_with("docs/implementation/") {
        return None;
    }
    let name = path.rsplit('/').next()?;
    let to = format!("docs/implementation/{name}");
    let mut p = proposal(
        "archive-plan",
        path,
        vec![],
        format!("archive {path} → {to}"),
        "Implementation Checklist › Documentation: archive this plan to docs/implementation/ — a rename, so history follows the file.".into(),
    );
    p.rename_to = Some(to);
    Some(p)
}

/// One stage's base as found before the migration.
#[derive(Debug, Clone)]
pub struct BaselineRow {
    pub dockerfile: String,
    pub stage: String,
    pub written: String,
    pub resolved: String,
    pub digest: Option<String>,
}

/// docs/implementation/alpine-baseline.md (created; None if it exists).
pub fn baseline(path: &str, exists: bool, rows: &[BaselineRow]) -> Option<Proposal> {
    if exists || rows.is_empty() {
        return None;
    }
    let mut t = String::from("# Alpine baseline\n\nBase images of every stage before the Debian migration, recorded by charon-tui so they can be\ncompared with the migrated images (and rolled back to). Pin digests with\n`docker buildx imagetools inspect IMAGE` where a digest is missing.\n\n| Dockerfile | stage | FROM as written | resolved image | digest |\n|---|---|---|---|---|\n");
    for r in rows {
        t.push_str(&format!(
            "| {} | {} | `{}` | `{}` | {} |\n",
            r.dockerfile,
            r.stage,
            r.written,
            r.resolved,
            r.digest
                .as_deref()
                .map(|d| format!("`{d}`"))
                .unwrap_or_else(|| "not pinned".into())
        ));
    }
    Some(proposal(
        "baseline-doc",
        path,
        vec![Edit::insert(0, t)],
        format!("create {path}"),
        "Implementation Checklist › Pre-Migration: document the current Alpine images for comparison. Digests are listed where the Dockerfile pins them; no registry is contacted.".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edit::splice;

    #[test]
    fn changelog_entry_under_unreleased() {
        let t = "# Changelog\n\n## [Unreleased]\n\n## [0.9.0] - 2026-01-10\n";
        let p = changelog(
            "CHANGELOG.md",
            Some(t),
            "bookworm",
            &[(
                "Base images".into(),
                vec!["alpine:3.23 → debian:bookworm-slim".into()],
            )],
        )
        .unwrap();
        let out = splice(t, &p.edits).unwrap();
        assert!(out.starts_with("# Changelog\n\n## [Unreleased]\n\n### Changed\n\n- Docker images are now based on Debian bookworm-slim"), "{out}");
        assert!(out.contains("- Base images: alpine:3.23 → debian:bookworm-slim.\n"));
        assert!(out.ends_with("\n## [0.9.0] - 2026-01-10\n"));
        assert!(changelog("CHANGELOG.md", Some(&out), "bookworm", &[]).is_none());
        let created = changelog("CHANGELOG.md", None, "trixie", &[]).unwrap();
        let c = splice("", &created.edits).unwrap();
        assert!(c.starts_with("# Changelog\n") && c.contains("## [Unreleased]\n\n### Changed"));
    }

    #[test]
    fn mentions_skip_links_and_group_by_line() {
        let t = "Based on Alpine Linux (see [alpine](https://alpinelinux.org)).\nUse `apk add --no-cache strace` and su-exec.\n";
        let ps = mentions("README.md", t, "bookworm");
        assert_eq!(ps.len(), 2);
        let all: Vec<Edit> = ps.iter().flat_map(|p| p.edits.clone()).collect();
        let out = splice(t, &all).unwrap();
        assert_eq!(out, "Based on Debian bookworm slim (see [alpine](https://alpinelinux.org)).\nUse `apt-get update && apt-get install -y strace` and gosu.\n");
    }

    #[test]
    fn archive_is_a_rename() {
        let p = archive("docs/plans/alpine-to-debian-migration.md").unwrap();
        assert_eq!(
            p.rename_to.as_deref(),
            Some("docs/implementation/alpine-to-debian-migration.md")
        );
        assert!(archive("docs/implementation/x.md").is_none());
    }
}
