//! The embedded demo repository (`assets/demo/`): a Charon-like project
//! written from the spec, so a new user can try the tool at once and tests
//! have a realistic target. `write` lays it out as a fresh git repository.

use std::path::Path;

use include_dir::{include_dir, Dir};

use crate::error::{Error, Result};

static DEMO: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/assets/demo");

/// Every embedded file as `(relative path, contents)`.
pub fn files() -> Vec<(String, &'static [u8])> {
    let mut out = Vec::new();
    let mut stack = vec![&DEMO];
    while let Some(d) = stack.pop() {
        for f in d.files() {
            out.push((f.path().to_string_lossy().replace('\\', "/"), f.contents()));
        }
        stack.extend(d.dirs());
    }
    out.sort();
    out
}

/// Write the demo into `dir` (created if missing; must be empty) and commit
/// it on `main`. Returns the commit id.
pub fn write(dir: &Path) -> Result<git2::Oid> {
    if dir.exists() {
        let mut entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
        if entries.next().is_some() {
            return Err(Error::Usage(format!(
                "{}: directory is not empty; give a new or empty directory",
                dir.display()
            )));
        }
    }
    for (rel, bytes) in files() {
        let path = dir.join(&rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        std::fs::write(&path, bytes).map_err(|e| Error::io(&path, e))?;
        if rel.ends_with(".sh") {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                .map_err(|e| Error::io(&path, e))?;
        }
    }
    crate::git::init_with_commit(dir, "Charon demo: Alpine-based images")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_has_the_spec_files() {
        let names: Vec<String> = files().into_iter().map(|(n, _)| n).collect();
        for f in [
            "Dockerfile",
            ".docker/docker-entrypoint.sh",
            ".docker/compose/docker-compose.yml",
            ".github/workflows/docker-build.yml",
            ".github/workflows/security-weekly-rebuild.yml",
            "renovate.json",
            "README.md",
            "CHANGELOG.md",
            "docs/DOCKER.md",
            "docs/features.md",
            "docs/plans/alpine-to-debian-migration.md",
        ] {
            assert!(names.iter().any(|n| n == f), "missing {f}: {names:?}");
        }
    }

    #[test]
    fn writes_a_git_repository() {
        let d = tempfile::tempdir().unwrap();
        let target = d.path().join("demo");
        let oid = write(&target).unwrap();
        let repo = git2::Repository::open(&target).unwrap();
        assert_eq!(repo.head().unwrap().shorthand().unwrap(), "main");
        assert_eq!(repo.head().unwrap().target(), Some(oid));
        let statuses = repo.statuses(None).unwrap();
        assert_eq!(statuses.len(), 0, "everything committed");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(target.join(".docker/docker-entrypoint.sh"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o111, 0o111);
        // Refuses a non-empty directory.
        assert!(write(&target).is_err());
    }
}
