//! The Dockerfile rewriter on any input: never panics; when the input
//! parses, the migrated output parses too; migrating the output again
//! changes nothing (applying the plan twice equals applying it once). The
//! verify interpreter reads every stage of what parses without panicking.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use charon::analyze::dockerfile;
use charon::recipe::Recipe;
use charon::session::migrate_dockerfile_text;
use libfuzzer_sys::fuzz_target;

fn recipe() -> &'static Recipe {
    static R: OnceLock<Recipe> = OnceLock::new();
    R.get_or_init(|| Recipe::embedded().expect("the embedded recipe loads"))
}

fuzz_target!(|data: &[u8]| {
    // charon-tui reads files as UTF-8 without NUL bytes (binary files are
    // skipped before any rule sees them): that is the rewriters' input.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if text.contains('\0') {
        let read = |_: &str| -> Option<String> { None };
        assert!(migrate_dockerfile_text(recipe(), "Dockerfile", text, &read).is_err());
        return;
    }
    let path = Path::new("Dockerfile");
    let read = |_: &str| -> Option<String> { Some("#!/bin/sh\nsu-exec app \"$@\"\n".into()) };
    let parsed = dockerfile::parse(path, text);
    if let Ok(doc) = &parsed {
        let opts = charon::verify::Options::new("bookworm");
        for st in &doc.stages {
            let _ = charon::verify::interp::plan("Dockerfile", doc, st, &opts, &read);
        }
    }
    let once = match migrate_dockerfile_text(recipe(), "Dockerfile", text, &read) {
        Ok((once, _)) => once,
        Err(e) => {
            assert!(parsed.is_err(), "input parses but migration failed: {e}\n--- input\n{text}");
            return;
        }
    };
    if parsed.is_ok() {
        if let Err(e) = dockerfile::parse(path, &once) {
            panic!("input parses, output does not: {e}\n--- input\n{text}\n--- output\n{once}");
        }
    }
    let (twice, _) = migrate_dockerfile_text(recipe(), "Dockerfile", &once, &read)
        .unwrap_or_else(|e| panic!("migrated output fails to migrate: {e}\n--- output\n{once}"));
    assert_eq!(twice, once, "not idempotent\n--- input\n{text}");
});
