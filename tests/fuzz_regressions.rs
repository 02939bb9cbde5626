//! Inputs the fuzz targets (tests/fuzz) once failed on, minimized, with the
//! same three properties the targets check: no panic, a parsing input gives
//! a parsing output, and migrating twice equals migrating once.

use std::path::Path;

use charon::analyze::{dockerfile, shell};
use charon::recipe::Recipe;
use charon::session::{migrate_dockerfile_text, migrate_script_text};

fn dockerfile_properties(text: &str) {
    let r = Recipe::embedded().unwrap();
    let read = |_: &str| -> Option<String> { None };
    let path = Path::new("Dockerfile");
    let parsed = dockerfile::parse(path, text);
    let once = match migrate_dockerfile_text(&r, "Dockerfile", text, &read) {
        Ok((once, _)) => once,
        Err(e) => {
            assert!(
                parsed.is_err(),
                "input parses but migration failed: {e}\n{text}"
            );
            return;
        }
    };
    if parsed.is_ok() {
        if let Err(e) = dockerfile::parse(path, &once) {
            panic!("output does not parse: {e}\n--- input\n{text}\n--- output\n{once}");
        }
    }
    let (twice, _) = migrate_dockerfile_text(&r, "Dockerfile", &once, &read).unwrap();
    assert_eq!(twice, once, "not idempotent:\n{text}");
}

fn script_properties(text: &str) {
    let r = Recipe::embedded().unwrap();
    let clean = |t: &str| {
        shell::parse(t)
            .map(|s| s.error_ranges().is_empty())
            .unwrap_or(false)
    };
    let (once, _) = migrate_script_text(&r, "entrypoint.sh", text).unwrap();
    if clean(text) {
        assert!(
            clean(&once),
            "output does not parse:\n--- input\n{text}\n--- output\n{once}"
        );
    }
    let (twice, _) = migrate_script_text(&r, "entrypoint.sh", &once).unwrap();
    assert_eq!(twice, once, "not idempotent:\n{text}");
}

#[test]
fn text_with_a_nul_byte_is_refused_not_rewritten() {
    // The user converter quoted `-G\0app` into `-g ' app'` with a NUL inside.
    let r = Recipe::embedded().unwrap();
    let text = "#!/bin/sh\nadduser -D -u 1000 -G\0app app\n";
    let err = migrate_script_text(&r, "entrypoint.sh", text).unwrap_err();
    assert_eq!(
        err.to_string(),
        "entrypoint.sh:2: binary content (a NUL byte); left alone"
    );
    let read = |_: &str| -> Option<String> { None };
    assert!(migrate_dockerfile_text(&r, "Dockerfile", "FROM alpine\0\n", &read).is_err());
}

#[test]
fn removing_a_heredoc_run_removes_its_body() {
    // The ARM64 clang-wrapper rule removed the RUN line and left the body
    // of its unterminated heredoc behind as instructions.
    dockerfile_properties("RUN <<F\nfuse-ld=goldclang\nx\n");
    dockerfile_properties("FROM alpine:3.20\nRUN <<EOF\nmv /usr/bin/clang /usr/bin/clang.real # -fuse-ld=gold\nEOF\nRUN apk add curl\n");
}

/// The fuzz targets' seed corpus, checked on every test run.
fn corpus(dir: &str) -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut out: Vec<(String, String)> = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let text = std::fs::read_to_string(e.path()).ok()?;
            Some((e.file_name().to_string_lossy().to_string(), text))
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "empty corpus {}", root.display());
    out
}

#[test]
fn the_seed_corpus_has_the_fuzz_properties() {
    for (name, text) in corpus("tests/fixtures/dockerfile") {
        if name.ends_with(".Dockerfile") {
            dockerfile_properties(&text);
        }
    }
    for (_, text) in corpus("tests/fixtures/shell") {
        script_properties(&text);
    }
}

#[test]
fn a_continuation_before_a_removed_command_is_kept_and_a_left_add_keeps_its_del() {
    // The Dockerfile fuzzer: `pytho\` (no blank before the continuation)
    // then `&& apk del .gyp`. The add was left alone (unknown package) but
    // its del was removed, and the removal left `pytho\` over an empty
    // line, so the RUN swallowed the next instruction.
    let text = "FROM node:20-alpine\nWORKDIR \"./\nRUN apk add --no-cache --virtual .gyp pytho\\\n    && apk del .gyp\nCOPY . .\nCMD [\"node\", \"ser|er.js\"]\n";
    dockerfile_properties(text);
    let r = Recipe::embedded().unwrap();
    let read = |_: &str| -> Option<String> { None };
    let (once, notes) = migrate_dockerfile_text(&r, "Dockerfile", text, &read).unwrap();
    assert!(
        once.contains("pytho\\\n    && apk del .gyp\nCOPY . .\n"),
        "{once}"
    );
    assert!(
        notes
            .iter()
            .any(|n| n.message.contains("apk del: .gyp not installed")),
        "{notes:?}"
    );
    // The same shape with a known package: converted, continuation intact.
    let known = "FROM node:20-alpine\nRUN apk add --virtual .gyp python3\\\n    && npm ci \\\n    && apk del .gyp\nCOPY . .\n";
    dockerfile_properties(known);
    let (once, _) = migrate_dockerfile_text(&r, "Dockerfile", known, &read).unwrap();
    assert!(
        once.contains("apt-get purge -y --auto-remove python3"),
        "{once}"
    );
    assert!(once.contains("\nCOPY . .\n"), "{once}");
    // A command removed after `word\`: the continuation goes with it.
    let removed = "FROM alpine:3.20\nRUN make all\\\n    && apk upgrade bash\nCOPY . .\n";
    dockerfile_properties(removed);
    let (once, _) = migrate_dockerfile_text(&r, "Dockerfile", removed, &read).unwrap();
    assert!(once.ends_with("RUN make all\nCOPY . .\n"), "{once}");
}

#[test]
fn removing_a_backgrounded_command_removes_its_ampersand() {
    // The shell fuzzer: `apk add >/dev/null 2>&1 &` (nothing to install) was
    // removed but its `&` stayed, alone on a line.
    script_properties("#!\napk add>/dev/narull 2>&1 &\nenv HOME=/app=1\"4VO- httth\"!|| exit 1\n");
    script_properties("#!/bin/sh\napk add >/dev/null 2>&1 & wait\necho done\n");
}

#[test]
fn a_rewrite_never_makes_a_readable_dockerfile_unreadable() {
    // The Dockerfile fuzzer: garbage that dockerfile-parser still reads (a
    // shell-form CMD with an open JSON bracket, then `run\`) where the
    // musl-loader rule removed an `ln` and left text the parser rejects. The
    // proposal is now dropped and reported instead.
    let text = "CMD [\"1\nrun\\\n-&ln libc.musl\"\"\nh\"]";
    dockerfile_properties(text);
    let r = Recipe::embedded().unwrap();
    let read = |_: &str| -> Option<String> { None };
    let (once, notes) = migrate_dockerfile_text(&r, "Dockerfile", text, &read).unwrap();
    assert_eq!(once, text);
    assert!(
        notes
            .iter()
            .any(|n| n.message.contains("would not parse, so it is left alone")),
        "{notes:?}"
    );
}
