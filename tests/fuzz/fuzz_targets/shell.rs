//! The shell-script rewriter on any input: never panics; when tree-sitter
//! reads the input without error, it reads the output without error too;
//! migrating the output again changes nothing.
#![no_main]

use std::sync::OnceLock;

use charon::analyze::shell;
use charon::recipe::Recipe;
use charon::session::migrate_script_text;
use libfuzzer_sys::fuzz_target;

fn recipe() -> &'static Recipe {
    static R: OnceLock<Recipe> = OnceLock::new();
    R.get_or_init(|| Recipe::embedded().expect("the embedded recipe loads"))
}

fn clean(text: &str) -> bool {
    shell::parse(text)
        .map(|s| s.error_ranges().is_empty())
        .unwrap_or(false)
}

fuzz_target!(|data: &[u8]| {
    // charon-tui reads files as UTF-8 without NUL bytes (binary files are
    // skipped before any rule sees them): that is the rewriters' input.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if text.contains('\0') {
        assert!(migrate_script_text(recipe(), "docker-entrypoint.sh", text).is_err());
        return;
    }
    let (once, _) = migrate_script_text(recipe(), "docker-entrypoint.sh", text)
        .unwrap_or_else(|e| panic!("script migration failed: {e}\n--- input\n{text}"));
    if clean(text) {
        assert!(
            clean(&once),
            "input parses, output does not\n--- input\n{text}\n--- output\n{once}"
        );
    }
    let (twice, _) = migrate_script_text(recipe(), "docker-entrypoint.sh", &once)
        .unwrap_or_else(|e| panic!("migrated output fails to migrate: {e}\n--- output\n{once}"));
    assert_eq!(twice, once, "not idempotent\n--- input\n{text}");
});
