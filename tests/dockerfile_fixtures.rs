//! Dockerfile fixtures: each is migrated to a fixpoint and the result (with
//! the notes the rules raised) is compared with the checked-in snapshot; the
//! output must parse, be stable under a second pass, and get no more hadolint
//! findings than the original.

use std::path::{Path, PathBuf};

use charon::recipe::Recipe;
use charon::session::migrate_dockerfile_text;

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dockerfile");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "Dockerfile"))
        .collect();
    v.sort();
    v
}

fn migrate(path: &Path) -> (String, String, String) {
    let recipe = Recipe::embedded().unwrap();
    let text = std::fs::read_to_string(path).unwrap();
    let dir = path.parent().unwrap().to_path_buf();
    let read = move |rel: &str| std::fs::read_to_string(dir.join(rel)).ok();
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let (out, notes) = migrate_dockerfile_text(&recipe, &name, &text, &read).unwrap();
    let notes: Vec<String> = notes
        .iter()
        .map(|n| format!("{}:{} [{}] {}", n.file, n.line, n.rule, n.message))
        .collect();
    (text, out, notes.join("\n"))
}

#[test]
fn fixtures_match_snapshots() {
    let all = fixtures();
    assert!(all.len() >= 15, "at least 15 fixtures, found {}", all.len());
    for path in all {
        let (_, out, notes) = migrate(&path);
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let shown = out.replace('\r', "␍");
        insta::assert_snapshot!(name, format!("{shown}\n---- notes ----\n{notes}\n"));
    }
}

#[test]
fn outputs_parse_and_are_idempotent() {
    let recipe = Recipe::embedded().unwrap();
    for path in fixtures() {
        let (_, out, _) = migrate(&path);
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        charon::analyze::dockerfile::parse(Path::new(&name), &out)
            .unwrap_or_else(|e| panic!("{name}: migrated output does not parse: {e}"));
        let dir = path.parent().unwrap().to_path_buf();
        let read = move |rel: &str| std::fs::read_to_string(dir.join(rel)).ok();
        let (again, _) = migrate_dockerfile_text(&recipe, &name, &out, &read).unwrap();
        assert_eq!(again, out, "{name}: a second pass changed the output");
    }
}

#[test]
fn no_alpine_left_where_a_rewrite_exists() {
    for path in fixtures() {
        let (_, out, notes) = migrate(&path);
        let name = path.file_name().unwrap().to_string_lossy();
        for line in out.lines().filter(|l| !l.trim_start().starts_with('#')) {
            // What remains must have been reported.
            for word in [
                "apk ",
                "su-exec",
                "adduser -",
                "addgroup -",
                " /sbin/nologin",
            ] {
                if line.contains(word) {
                    assert!(
                        !notes.is_empty(),
                        "{name}: `{word}` left without a note: {line}"
                    );
                }
            }
        }
    }
}

#[test]
fn hadolint_no_worse() {
    if !crate::util::have("hadolint") {
        return;
    }
    let mut report = Vec::new();
    for path in fixtures() {
        let (before, after, _) = migrate(&path);
        let (b, a) = (
            crate::util::hadolint_count(&before),
            crate::util::hadolint_count(&after),
        );
        report.push(format!(
            "{}: {b} → {a}",
            path.file_name().unwrap().to_string_lossy()
        ));
        assert!(
            a <= b,
            "{}: hadolint findings grew from {b} to {a}",
            path.display()
        );
    }
    let demo = charon::demo::files()
        .into_iter()
        .find(|(n, _)| n == "Dockerfile")
        .unwrap()
        .1;
    let demo = std::str::from_utf8(demo).unwrap();
    let recipe = Recipe::embedded().unwrap();
    let read = |_: &str| None;
    let (after, _) = migrate_dockerfile_text(&recipe, "Dockerfile", demo, &read).unwrap();
    let (b, a) = (
        crate::util::hadolint_count(demo),
        crate::util::hadolint_count(&after),
    );
    report.push(format!("demo Dockerfile: {b} → {a}"));
    assert!(a <= b, "demo: hadolint findings grew from {b} to {a}");
    eprintln!("hadolint findings before → after:\n{}", report.join("\n"));
}

#[test]
fn unparseable_dockerfile_is_a_clear_error() {
    let recipe = Recipe::embedded().unwrap();
    let read = |_: &str| None;
    let err = migrate_dockerfile_text(&recipe, "bad/Dockerfile", "FROM alpine\nCOPY\n", &read)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "bad/Dockerfile:2: syntax error: dockerfile-parser cannot read `COPY`; the file is left alone"
    );
}

#[test]
fn unparseable_run_is_left_alone_with_a_note() {
    let recipe = Recipe::embedded().unwrap();
    let read = |_: &str| None;
    let src = "FROM alpine:3.19\nRUN apk add curl && if then fi (\nRUN apk add git\n";
    let (out, notes) = migrate_dockerfile_text(&recipe, "Dockerfile", src, &read).unwrap();
    assert!(out.contains("RUN apk add curl && if then fi ("), "{out}");
    assert!(
        out.contains("apt-get install -y --no-install-recommends git"),
        "{out}"
    );
    assert!(
        notes
            .iter()
            .any(|n| n.line == 2 && n.message.contains("cannot parse")),
        "{notes:?}"
    );
}
