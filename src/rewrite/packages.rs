//! The Alpine → Debian package map applied to a list of package words, with a
//! reason for every package that is renamed, dropped, unpinned or unknown.

use crate::recipe::Recipe;

/// What became of one Alpine package word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mapped {
    /// Replaced by these Debian packages (possibly the same name).
    To(Vec<String>),
    /// Not needed on Debian, with the reason.
    Dropped(String),
    /// No known Debian equivalent: kept out and flagged.
    Unknown,
}

/// Map an Alpine package spec (`name`, `name=1.2-r0`, `name>1.2`, `name~1.2`).
/// Returns the mapping and, when a version constraint was present, a note
/// that it was dropped (Alpine revisions do not exist in Debian).
pub fn map_package(recipe: &Recipe, spec: &str) -> (Mapped, Option<String>) {
    let cut = spec.find(['=', '<', '>', '~']).unwrap_or(spec.len());
    let name = &spec[..cut];
    let pin = (cut < spec.len()).then(|| {
        format!(
            "version constraint `{spec}` dropped: Alpine versions do not exist in Debian; re-pin to a Debian version if you need one"
        )
    });
    let mapped = match recipe.packages.get(name) {
        Some(rule) if rule.to.is_empty() => Mapped::Dropped(
            rule.why
                .clone()
                .unwrap_or_else(|| format!("{name} is not needed on Debian")),
        ),
        Some(rule) => Mapped::To(rule.to.clone()),
        None => Mapped::Unknown,
    };
    (mapped, pin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_drops_and_unpins() {
        let r = Recipe::embedded().unwrap();
        assert_eq!(
            map_package(&r, "sqlite-libs").0,
            Mapped::To(vec!["libsqlite3-0".into()])
        );
        assert!(matches!(map_package(&r, "tar").0, Mapped::Dropped(_)));
        assert!(matches!(map_package(&r, "c-ares").0, Mapped::Dropped(_)));
        let (m, pin) = map_package(&r, "curl=8.5.0-r0");
        assert_eq!(m, Mapped::To(vec!["curl".into()]));
        assert!(pin.unwrap().contains("curl=8.5.0-r0"));
        assert_eq!(map_package(&r, "made-up-pkg").0, Mapped::Unknown);
    }
}
