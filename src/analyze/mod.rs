//! Facts from syntax trees. `dockerfile` reads Dockerfiles with
//! dockerfile-parser (masking BuildKit heredocs first), `shell` reads shell with
//! tree-sitter-bash, and `mapped` carries a shell text that Docker assembles
//! from several pieces of a file together with the map back to file offsets.
//! Analyzers only read: they never decide on or produce an edit.

pub mod dockerfile;
pub mod mapped;
pub mod shell;
pub mod yaml;

/// 1-based line number of a byte offset.
pub fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// Byte offset of the start of the line containing `offset`.
pub fn line_start(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text[..end].rfind('\n').map(|i| i + 1).unwrap_or(0)
}

/// Byte offset just past the end of the line containing `offset` (after its `\n`).
pub fn line_end(text: &str, offset: usize) -> usize {
    let start = offset.min(text.len());
    text[start..]
        .find('\n')
        .map(|i| start + i + 1)
        .unwrap_or(text.len())
}
