//! The residual check: "is anything Alpine left, and will the Debian images
//! work?". It walks the whole repository (the `ignore` crate: .gitignore
//! respected, .git skipped, binary and > 8 MiB files reported as skipped),
//! runs every rule on every file it understands, and reports each proposal
//! (a rewrite exists) and each finding (left alone) with a stable rule id,
//! severity, position, message and fix hint. Read-only.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::analyze::{line_of, line_start};
use crate::rewrite::{self, Finding, Proposal};
use crate::session::{read_text_in, Session};

/// Rules that report migration work (documentation and bookkeeping rules do not).
const SKIP: &[&str] = &["changelog", "archive-plan", "baseline-doc", "docs-mentions"];

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CheckFinding {
    pub rule: String,
    pub severity: &'static str,
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
    pub hint: String,
    /// A rewrite for it exists in the recipe (`charon-tui plan` shows it).
    pub rewrite: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub findings: Vec<CheckFinding>,
    /// `path: reason` for files not read.
    pub skipped: Vec<String>,
    pub files_scanned: usize,
}

pub fn severity(rule: &str) -> &'static str {
    match rule {
        "base-image" | "apk-to-apt" | "xx-apk" | "busybox-users" | "su-exec" | "sh-su-exec"
        | "sh-addgroup" | "sh-adduser" | "sh-wget" | "sh-apk" | "sh-ash" | "ash-shell"
        | "compose-wget" | "needed-packages" | "compose-image" => "error",
        "clang-wrapper" | "musl-loader" | "musl-asset" | "ci-caddy-digest" | "ci-apk-info"
        | "ci-alpine-image" | "renovate-manager" => "warning",
        _ => "note",
    }
}

fn hint(rule: &str, rewrite: bool) -> String {
    if rewrite {
        format!("`charon-tui plan` proposes a rewrite (rule {rule}); review and apply it")
    } else {
        "no safe automatic rewrite: convert it by hand (see the message)".to_string()
    }
}

/// A proposal's summary, with what the operator must check.
fn message(summary: &str, flags: &[String]) -> String {
    if flags.is_empty() {
        summary.to_string()
    } else {
        format!("{summary} (check: {})", flags.join("; "))
    }
}

fn column(text: &str, offset: usize) -> usize {
    text[line_start(text, offset)..offset.min(text.len())]
        .chars()
        .count()
        + 1
}

/// Findings of a script the plan does not cover (no Dockerfile COPYs or
/// runs it): `plan` has no hunk for it, so nothing is `rewrite: true`; the
/// message still shows the Debian form to write by hand.
fn push_uncovered(out: &mut Report, file: &str, text: &str, props: &[Proposal], finds: &[Finding]) {
    for p in props {
        if SKIP.contains(&p.rule) || p.alt.as_ref().is_some_and(|a| a.index > 0) {
            continue;
        }
        let at = p.edits.iter().map(|e| e.start).min().unwrap_or(0);
        out.findings.push(CheckFinding {
            rule: p.rule.to_string(),
            severity: severity(p.rule),
            file: file.to_string(),
            line: line_of(text, at),
            column: column(text, at),
            message: message(&p.summary, &p.flags),
            hint: format!(
                "no Dockerfile COPYs or runs this script, so `charon-tui plan` leaves it out; if it runs in an image, make this change by hand (rule {})",
                p.rule
            ),
            rewrite: false,
        });
    }
    for f in finds {
        if SKIP.contains(&f.rule) {
            continue;
        }
        out.findings.push(CheckFinding {
            rule: f.rule.to_string(),
            severity: severity(f.rule),
            file: file.to_string(),
            line: f.line,
            column: 1,
            message: f.message.clone(),
            hint: hint(f.rule, false),
            rewrite: false,
        });
    }
}

fn is_script(name: &str, text: &str) -> bool {
    name.ends_with(".sh")
        || text.starts_with("#!/bin/sh")
        || text.starts_with("#!/bin/bash")
        || text.starts_with("#!/bin/ash")
        || text.starts_with("#!/usr/bin/env sh")
        || text.starts_with("#!/usr/bin/env bash")
}

/// Scan the repository.
pub fn run(session: &Session) -> crate::Result<Report> {
    use rayon::prelude::*;
    let mut out = Report::default();
    let disc = session.discover();
    out.files_scanned = disc.files;
    let plan = session.plan_from(&disc)?;
    // Everything the plan proposes, and what it left alone.
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for h in &plan.hunks {
        if SKIP.contains(&h.rule.as_str()) || h.alt.as_ref().is_some_and(|a| a.index > 0) {
            continue;
        }
        seen.insert(h.file.clone());
        let text = plan.originals.get(&h.file).map_or("", String::as_str);
        let at = h.edits.iter().map(|e| e.start).min().unwrap_or(0);
        out.findings.push(CheckFinding {
            rule: h.rule.clone(),
            severity: severity(&h.rule),
            file: h.file.clone(),
            line: if h.edits.is_empty() {
                h.line
            } else {
                line_of(text, at)
            },
            column: column(text, at),
            message: message(&h.summary, &h.flags),
            hint: hint(&h.rule, true),
            rewrite: true,
        });
    }
    for n in &plan.notes {
        if SKIP.contains(&n.rule.as_str()) {
            continue;
        }
        seen.insert(n.file.clone());
        out.findings.push(CheckFinding {
            rule: n.rule.clone(),
            severity: severity(&n.rule),
            file: n.file.clone(),
            line: n.line,
            column: 1,
            message: n.message.clone(),
            hint: hint(&n.rule, false),
            rewrite: false,
        });
    }
    for e in &plan.errors {
        out.skipped.push(e.clone());
    }
    // Files the plan does not cover: every other script, read in parallel.
    let (root, recipe) = (session.root.as_path(), &session.recipe);
    let others: Vec<&String> = disc
        .other_scripts
        .iter()
        .filter(|rel| !seen.contains(*rel))
        .collect();
    let parts: Vec<Report> = others
        .par_iter()
        .map(|rel| {
            let mut part = Report::default();
            let name = rel.rsplit('/').next().unwrap_or(rel);
            match read_text_in(root, rel) {
                Ok(text) if is_script(name, &text) => {
                    let (p, f) = rewrite::script::rewrite(rel, &text, recipe);
                    push_uncovered(&mut part, rel, &text, &p, &f);
                }
                Ok(_) => {}
                // Files without an extension are only maybe scripts.
                Err(e) if name.ends_with(".sh") => part.skipped.push(e),
                Err(_) => {}
            }
            part
        })
        .collect();
    for part in parts {
        out.findings.extend(part.findings);
        out.skipped.extend(part.skipped);
    }
    // Compose files may name Alpine images (sidecars the plan leaves alone).
    for rel in &disc.compose {
        if let Ok(text) = session.read_text(rel) {
            compose_images(&mut out, rel, &text, session);
        }
    }
    out.findings
        .sort_by(|a, b| (&a.file, a.line, &a.rule).cmp(&(&b.file, b.line, &b.rule)));
    out.findings.dedup();
    Ok(out)
}

fn compose_images(out: &mut Report, rel: &str, text: &str, session: &Session) {
    let Ok(root) = crate::analyze::yaml::parse(text) else {
        return;
    };
    let Some(services) = root.get("services") else {
        return;
    };
    for (name, svc) in services.entries() {
        let Some(img) = svc.get("image").and_then(|i| i.as_scalar()) else {
            continue;
        };
        if let Some(rewrite::dockerfile::ImageVerdict::Map(m)) =
            rewrite::dockerfile::map_image_ref(&session.recipe, &img.value)
        {
            out.findings.push(CheckFinding {
                rule: "compose-image".into(),
                severity: "warning",
                file: rel.to_string(),
                line: line_of(text, img.start),
                column: column(text, img.start),
                message: format!("service {} runs the Alpine image {} (Debian counterpart: {})", name.value, img.value, m.to),
                hint: "sidecar images are not part of this project's images; switch them if you want no Alpine at all".into(),
                rewrite: false,
            });
        }
    }
}

/// Text grouped by file.
pub fn text(r: &Report, color: bool) -> String {
    let (red, yellow, dim, reset) = if color {
        ("\x1b[31m", "\x1b[33m", "\x1b[2m", "\x1b[0m")
    } else {
        ("", "", "", "")
    };
    let mut out = String::new();
    let mut file = "";
    for f in &r.findings {
        if f.file != file {
            file = &f.file;
            out.push_str(&format!("\n{file}\n"));
        }
        let c = if f.severity == "error" { red } else { yellow };
        out.push_str(&format!(
            "  {}:{} {c}{}{reset} [{}] {}{}\n    {dim}{}{reset}\n",
            f.line,
            f.column,
            f.severity,
            f.rule,
            f.message,
            if f.rewrite {
                " (rewrite available)"
            } else {
                ""
            },
            f.hint
        ));
    }
    for s in &r.skipped {
        out.push_str(&format!("skipped: {s}\n"));
    }
    let errors = r.findings.iter().filter(|f| f.severity == "error").count();
    out.push_str(&format!(
        "\n{} finding(s) ({errors} error(s)) in {} file(s) scanned\n",
        r.findings.len(),
        r.files_scanned
    ));
    out
}

/// JSON (schema in docs/CHECK.md).
/// The report in its JSON schema (docs/CHECK.md), borrowed for streaming.
#[derive(Debug, Serialize)]
pub struct Json<'a> {
    pub schema: &'static str,
    pub files_scanned: usize,
    pub findings: &'a [CheckFinding],
    pub skipped: &'a [String],
}

pub fn json(r: &Report) -> Json<'_> {
    Json {
        schema: "charon-tui/check/v1",
        files_scanned: r.files_scanned,
        findings: &r.findings,
        skipped: &r.skipped,
    }
}

/// SARIF 2.1.0 for code-scanning upload.
/// SARIF 2.1.0 for code-scanning upload (typed, so a large report is
/// streamed rather than built as a JSON tree).
#[derive(Debug, Serialize)]
pub struct Sarif<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: [SarifRun<'a>; 1],
}

#[derive(Debug, Serialize)]
struct SarifRun<'a> {
    tool: serde_json::Value,
    results: Vec<SarifResult<'a>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'a> {
    rule_id: &'a str,
    level: &'static str,
    message: SarifText,
    locations: [SarifLocation<'a>; 1],
    properties: SarifProperties,
}

#[derive(Debug, Serialize)]
struct SarifText {
    text: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifLocation<'a> {
    physical_location: SarifPhysical<'a>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifPhysical<'a> {
    artifact_location: SarifUri<'a>,
    region: SarifRegion,
}

#[derive(Debug, Serialize)]
struct SarifUri<'a> {
    uri: &'a str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifRegion {
    start_line: usize,
    start_column: usize,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifProperties {
    rewrite_available: bool,
}

pub fn sarif(r: &Report) -> Sarif<'_> {
    let rules: BTreeSet<&str> = r.findings.iter().map(|f| f.rule.as_str()).collect();
    let rules: Vec<serde_json::Value> = rules
        .iter()
        .map(|id| {
            serde_json::json!({
                "id": id,
                "shortDescription": {"text": format!("charon-tui rule {id}")},
                "defaultConfiguration": {"level": sarif_level(severity(id))},
            })
        })
        .collect();
    let results = r
        .findings
        .iter()
        .map(|f| SarifResult {
            rule_id: &f.rule,
            level: sarif_level(f.severity),
            message: SarifText {
                text: format!("{} — {}", f.message, f.hint),
            },
            locations: [SarifLocation {
                physical_location: SarifPhysical {
                    artifact_location: SarifUri { uri: &f.file },
                    region: SarifRegion {
                        start_line: f.line.max(1),
                        start_column: f.column.max(1),
                    },
                },
            }],
            properties: SarifProperties {
                rewrite_available: f.rewrite,
            },
        })
        .collect();
    Sarif {
        schema: "https://json.schemastore.org/sarif-2.1.0.json",
        version: "2.1.0",
        runs: [SarifRun {
            tool: serde_json::json!({"driver": {
                "name": "charon-tui",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/wikid82/charon",
                "rules": rules
            }}),
            results,
        }],
    }
}

fn sarif_level(sev: &str) -> &'static str {
    match sev {
        "error" => "error",
        "warning" => "warning",
        _ => "note",
    }
}
