//! Fixtures for scripts, workflows, Renovate configs and compose files: each
//! is rewritten with every default hunk accepted and compared with its
//! checked-in snapshot, then checked with the validators (sh -n, shellcheck,
//! actionlint, a JSON parser, RE2-syntax regex compilation).

use std::path::{Path, PathBuf};
use std::process::Command;

use charon::plan::{FileInput, Plan};
use charon::recipe::Recipe;
use charon::rewrite;

use crate::util::have;

fn files(dir: &str) -> Vec<PathBuf> {
    let d = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(dir);
    let mut v: Vec<PathBuf> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

/// Accept every default hunk, to a fixpoint; returns the text and the notes.
fn accept_all(
    path: &str,
    text: &str,
    rule: &dyn Fn(&str) -> rewrite::RuleOutput,
) -> (String, String) {
    let recipe = Recipe::embedded().unwrap();
    let mut cur = text.to_string();
    let mut notes: Vec<String> = Vec::new();
    for _ in 0..4 {
        let (proposals, findings) = rule(&cur);
        let plan = Plan::build(
            &recipe,
            vec![FileInput {
                path: path.into(),
                exists: true,
                text: cur.clone(),
                proposals,
                findings,
            }],
            vec![],
        );
        for n in &plan.notes {
            let s = format!("{}:{} [{}] {}", n.file, n.line, n.rule, n.message);
            if !notes.contains(&s) {
                notes.push(s);
            }
        }
        for h in &plan.hunks {
            for f in &h.flags {
                let s = format!("{}:{} [{}] check: {f}", h.file, h.line, h.rule);
                if !notes.contains(&s) {
                    notes.push(s);
                }
            }
            if let Some(a) = &h.alt {
                let s = format!(
                    "{}:{} [{}] alternative {}: {}",
                    h.file, h.line, h.rule, a.index, a.label
                );
                if !notes.contains(&s) {
                    notes.push(s);
                }
            }
        }
        let active: Vec<&charon::plan::Hunk> = plan
            .hunks
            .iter()
            .filter(|h| plan.is_active(h, &|_| false))
            .collect();
        if active.is_empty() {
            break;
        }
        cur = plan.apply_to(path, &cur, &active).unwrap();
    }
    (cur, notes.join("\n"))
}

fn count_lines(cmd: &mut Command) -> usize {
    let out = cmd.output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count()
}

fn shell_ok(path: &Path) -> bool {
    let text = std::fs::read_to_string(path).unwrap();
    let sh = if text.starts_with("#!/usr/bin/env bash") || text.starts_with("#!/bin/bash") {
        "bash"
    } else {
        "sh"
    };
    Command::new(sh)
        .arg("-n")
        .arg(path)
        .output()
        .unwrap()
        .status
        .success()
}

#[test]
fn shell_fixtures() {
    let recipe = Recipe::embedded().unwrap();
    let all = files("shell");
    assert!(all.len() >= 20);
    let check = have("shellcheck");
    let tmp = tempfile::tempdir().unwrap();
    for p in all {
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(&p).unwrap();
        let (out, notes) = accept_all(&name, &text, &|t| {
            rewrite::script::rewrite(&name, t, &recipe)
        });
        insta::assert_snapshot!(
            format!("shell__{}", p.file_stem().unwrap().to_string_lossy()),
            format!("{out}\n---- notes ----\n{notes}\n")
        );
        let after = tmp.path().join(&name);
        std::fs::write(&after, &out).unwrap();
        if shell_ok(&p) {
            assert!(shell_ok(&after), "{name}: migrated script fails sh -n");
        }
        if check {
            let b = count_lines(Command::new("shellcheck").args(["-f", "gcc"]).arg(&p));
            let a = count_lines(Command::new("shellcheck").args(["-f", "gcc"]).arg(&after));
            assert!(a <= b, "{name}: shellcheck findings grew from {b} to {a}");
        }
    }
}

#[test]
fn workflow_fixtures() {
    let recipe = Recipe::embedded().unwrap();
    let all = files("workflow");
    assert!(all.len() >= 5);
    let lint = have("actionlint");
    for p in all {
        let name = format!(
            ".github/workflows/{}",
            p.file_name().unwrap().to_string_lossy()
        );
        let text = std::fs::read_to_string(&p).unwrap();
        let (out, notes) = accept_all(&name, &text, &|t| {
            rewrite::workflow::rewrite(&name, t, &recipe)
        });
        insta::assert_snapshot!(
            format!("workflow__{}", p.file_stem().unwrap().to_string_lossy()),
            format!("{out}\n---- notes ----\n{notes}\n")
        );
        charon::analyze::yaml::parse(&out)
            .unwrap_or_else(|e| panic!("{name}: output is not YAML: {e:?}"));
        if lint {
            let count = |t: &str| {
                let d = tempfile::tempdir().unwrap();
                let f = d.path().join(".github/workflows/w.yml");
                std::fs::create_dir_all(f.parent().unwrap()).unwrap();
                std::fs::write(&f, t).unwrap();
                count_lines(
                    Command::new("actionlint")
                        .args(["-oneline", "-no-color"])
                        .arg(&f),
                )
            };
            let (b, a) = (count(&text), count(&out));
            assert!(a <= b, "{name}: actionlint findings grew from {b} to {a}");
        }
    }
}

fn renovate_name(file: &str) -> &str {
    if file.ends_with(".json5") {
        "renovate.json5"
    } else if file.ends_with("package.json") {
        "package.json"
    } else {
        "renovate.json"
    }
}

#[test]
fn renovate_fixtures() {
    let all = files("renovate");
    assert!(all.len() >= 5);
    let args = vec![rewrite::renovate::ArgLine {
        dockerfile: "Dockerfile".into(),
        arg: "CADDY_IMAGE".into(),
        image: "debian".into(),
    }];
    let dockerfile = "ARG CADDY_IMAGE=debian:bookworm-slim\nFROM ${CADDY_IMAGE}\n";
    for p in all {
        let file = p.file_name().unwrap().to_string_lossy().to_string();
        let name = renovate_name(&file).to_string();
        let text = std::fs::read_to_string(&p).unwrap();
        let (out, notes) = accept_all(&name, &text, &|t| {
            rewrite::renovate::rewrite(&name, t, &args)
        });
        insta::assert_snapshot!(
            format!("renovate__{}", p.file_stem().unwrap().to_string_lossy()),
            format!("{out}\n---- notes ----\n{notes}\n")
        );
        if file.contains("broken") {
            assert_eq!(out, text, "a broken config is left alone");
            assert!(notes.contains("cannot parse"));
            continue;
        }
        let v: serde_json::Value =
            jsonc_parser::parse_to_serde_value(&out, &Default::default()).unwrap();
        let cfg = if name == "package.json" {
            &v["renovate"]
        } else {
            &v
        };
        assert!(
            cfg.get("regexManagers").is_none(),
            "{file}: legacy block left"
        );
        let managers = cfg["customManagers"]
            .as_array()
            .unwrap_or_else(|| panic!("{file}: no customManagers"));
        let ours = managers
            .iter()
            .find(|m| m["depNameTemplate"] == "debian")
            .expect("debian manager");
        assert_eq!(ours["customType"], "regex");
        let pat = ours["matchStrings"][0].as_str().unwrap();
        let re = regex::Regex::new(pat)
            .unwrap_or_else(|e| panic!("{file}: pattern is not RE2 syntax: {e}"));
        assert_eq!(
            &re.captures(dockerfile).unwrap()["currentValue"],
            "bookworm-slim"
        );
        for m in managers {
            for fp in m["managerFilePatterns"].as_array().unwrap() {
                let s = fp.as_str().unwrap();
                assert!(
                    s.starts_with('/') && s.ends_with('/'),
                    "{file}: {s} is not a /regex/"
                );
            }
        }
    }
}

#[test]
fn compose_fixtures() {
    for p in files("compose") {
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(&p).unwrap();
        let (out, notes) = accept_all(&name, &text, &|t| rewrite::compose::rewrite(&name, t));
        insta::assert_snapshot!(
            format!("compose__{}", p.file_stem().unwrap().to_string_lossy()),
            format!("{out}\n---- notes ----\n{notes}\n")
        );
        charon::analyze::yaml::parse(&out).unwrap();
        assert!(
            !out.contains("\"wget\"") && !out.contains("wget -"),
            "{name}: wget left"
        );
    }
}
