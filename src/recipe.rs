//! The migration as data: phases, checklist items, image and package maps, read
//! from TOML (the embedded `assets/recipes/alpine-to-debian.toml` or a user
//! file) and validated. A recipe that fails validation is refused with the
//! file, line and field at fault. This module only reads; it never writes.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use regex::Regex;
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::error::{Error, Result};

/// The recipe shipped with the binary.
pub const EMBEDDED: &str = include_str!("../assets/recipes/alpine-to-debian.toml");
/// The name the embedded recipe is reported under.
pub const EMBEDDED_NAME: &str = "<embedded>/alpine-to-debian.toml";

/// Every rule id the rewrite engine implements. A recipe naming another is refused.
pub const KNOWN_RULES: &[&str] = &[
    "base-image",
    "ash-shell",
    "apk-to-apt",
    "busybox-users",
    "su-exec",
    "clang-wrapper",
    "musl-loader",
    "xx-apk",
    "needed-packages",
    "musl-asset",
    "sh-su-exec",
    "sh-addgroup",
    "sh-adduser",
    "sh-wget",
    "sh-apk",
    "sh-ash",
    "compose-wget",
    "ci-caddy-digest",
    "ci-apk-info",
    "ci-alpine-image",
    "renovate-manager",
    "docs-mentions",
    "changelog",
    "archive-plan",
    "baseline-doc",
    "residual",
];

/// What kind of work a checklist item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemKind {
    /// Produces hunks the operator reviews.
    Rewrite,
    /// Runs a command and records its outcome.
    Command,
    /// A git action (branch, tag).
    Git,
    /// Done by a person; marked done with a note.
    Manual,
    /// Done after a waiting period.
    Timer,
}

impl ItemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Rewrite => "rewrite",
            ItemKind::Command => "command",
            ItemKind::Git => "git",
            ItemKind::Manual => "manual",
            ItemKind::Timer => "timer",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PrivilegeDrop {
    Gosu,
    Setpriv,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    pub id: String,
    pub version: String,
    pub title: String,
    #[serde(default)]
    pub spec: String,
    pub branch: String,
    pub base_tag: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub suite: String,
    pub suites: Vec<String>,
    pub privilege_drop: PrivilegeDrop,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phase {
    pub id: String,
    pub title: String,
    /// Conventional commit subject; `{suite}` is replaced by the Debian suite.
    pub commit: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Item {
    pub id: String,
    pub phase: String,
    pub title: String,
    pub kind: ItemKind,
    pub spec: String,
    pub rules: Vec<String>,
    /// Tags an edit must carry to belong to this item (`stage=NAME`, `site=arg`, `file=PATH`).
    pub when: Vec<String>,
    pub files: Vec<String>,
    pub command: Option<String>,
    pub programs: Vec<String>,
    pub action: Option<String>,
    pub duration_hours: Option<u32>,
    pub note: Option<String>,
    /// True for items the spec's checklist forgot but its steps require.
    pub added: bool,
    /// The command needs root (`verify`): blocked, not failed, without it.
    pub root: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawItem {
    id: Spanned<String>,
    phase: Spanned<String>,
    title: String,
    kind: ItemKind,
    #[serde(default)]
    spec: String,
    #[serde(default)]
    rules: Vec<Spanned<String>>,
    #[serde(default)]
    when: Vec<String>,
    #[serde(default)]
    files: Vec<String>,
    command: Option<String>,
    #[serde(default)]
    programs: Vec<String>,
    action: Option<String>,
    duration_hours: Option<u32>,
    note: Option<String>,
    #[serde(default)]
    added: bool,
    #[serde(default)]
    root: bool,
}

/// How an Alpine image becomes a Debian one.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageRule {
    /// Image name without registry (`node`, `golang`, `alpine`).
    pub name: String,
    /// Regex that must match the whole tag; group 1 is `{tag}`.
    pub alpine_tag: String,
    /// Replacement reference; may use `{tag}` and `{suite}`.
    pub to: String,
    pub note: Option<String>,
    pub floating: Option<String>,
    #[serde(skip)]
    regex: Option<Regex>,
}

/// One Alpine package and what replaces it on Debian.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageRule {
    pub to: Vec<String>,
    pub why: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRecipe {
    recipe: Meta,
    settings: Settings,
    phases: Vec<Phase>,
    items: Vec<RawItem>,
    #[serde(default)]
    images: Vec<ImageRule>,
    #[serde(default)]
    packages: BTreeMap<String, PackageRule>,
    #[serde(default)]
    commands: BTreeMap<String, String>,
}

/// A validated recipe.
#[derive(Debug, Clone, Serialize)]
pub struct Recipe {
    pub meta: Meta,
    pub settings: Settings,
    pub phases: Vec<Phase>,
    pub items: Vec<Item>,
    pub images: Vec<ImageRule>,
    pub packages: BTreeMap<String, PackageRule>,
    /// Command name → Debian package providing it (commands slim lacks).
    pub commands: BTreeMap<String, String>,
    /// Where the recipe came from (a path or [`EMBEDDED_NAME`]).
    pub source: String,
    /// SHA-256 of the recipe text, recorded in the state file.
    pub hash: String,
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

impl Recipe {
    /// The recipe shipped with the binary.
    pub fn embedded() -> Result<Recipe> {
        Recipe::parse(EMBEDDED, EMBEDDED_NAME)
    }

    /// Read and validate a recipe file.
    pub fn load(path: &Path) -> Result<Recipe> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Recipe::parse(&text, &path.display().to_string())
    }

    /// Parse and validate recipe text; `source` names it in errors.
    pub fn parse(text: &str, source: &str) -> Result<Recipe> {
        let err = |line: usize, field: &str, reason: String| Error::Recipe {
            file: source.to_string(),
            line,
            field: field.to_string(),
            reason,
        };
        let raw: RawRecipe = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(0);
            let msg = e.message().to_string();
            err(line, "toml", msg)
        })?;

        if !raw.settings.suites.contains(&raw.settings.suite) {
            return Err(err(
                find_line(text, "suite ="),
                "settings.suite",
                format!(
                    "`{}` is not one of settings.suites {:?}",
                    raw.settings.suite, raw.settings.suites
                ),
            ));
        }

        let mut phase_ids = HashSet::new();
        for p in &raw.phases {
            if !phase_ids.insert(p.id.clone()) {
                return Err(err(
                    find_line(text, &format!("id = \"{}\"", p.id)),
                    "phases.id",
                    format!("duplicate phase id `{}`", p.id),
                ));
            }
        }

        let mut item_ids = HashSet::new();
        let mut items = Vec::with_capacity(raw.items.len());
        for it in raw.items {
            let id_line = line_of(text, it.id.span().start);
            if !item_ids.insert(it.id.get_ref().clone()) {
                return Err(err(
                    id_line,
                    "items.id",
                    format!("duplicate item id `{}`", it.id.get_ref()),
                ));
            }
            if !phase_ids.contains(it.phase.get_ref()) {
                return Err(err(
                    line_of(text, it.phase.span().start),
                    "items.phase",
                    format!(
                        "item `{}` names unknown phase `{}`",
                        it.id.get_ref(),
                        it.phase.get_ref()
                    ),
                ));
            }
            for r in &it.rules {
                if !KNOWN_RULES.contains(&r.get_ref().as_str()) {
                    return Err(err(
                        line_of(text, r.span().start),
                        "items.rules",
                        format!(
                            "item `{}` names unknown rule `{}`",
                            it.id.get_ref(),
                            r.get_ref()
                        ),
                    ));
                }
            }
            match it.kind {
                ItemKind::Rewrite if it.rules.is_empty() => {
                    return Err(err(
                        id_line,
                        "items.rules",
                        format!("rewrite item `{}` names no rule", it.id.get_ref()),
                    ))
                }
                ItemKind::Command if it.command.is_none() => {
                    return Err(err(
                        id_line,
                        "items.command",
                        format!("command item `{}` has no command", it.id.get_ref()),
                    ))
                }
                _ => {}
            }
            for w in &it.when {
                if !w.contains('=') {
                    return Err(err(
                        id_line,
                        "items.when",
                        format!("`{w}` is not a KEY=VALUE tag"),
                    ));
                }
            }
            items.push(Item {
                id: it.id.into_inner(),
                phase: it.phase.into_inner(),
                title: it.title,
                kind: it.kind,
                spec: it.spec,
                rules: it.rules.into_iter().map(Spanned::into_inner).collect(),
                when: it.when,
                files: it.files,
                command: it.command,
                programs: it.programs,
                action: it.action,
                duration_hours: it.duration_hours,
                note: it.note,
                added: it.added,
                root: it.root,
            });
        }
        // Items must follow the phase order so the checklist reads top to bottom.
        let order: Vec<&str> = raw.phases.iter().map(|p| p.id.as_str()).collect();
        let mut last = 0;
        for it in &items {
            let pos = order.iter().position(|p| *p == it.phase).unwrap_or(0);
            if pos < last {
                return Err(err(
                    find_line(text, &format!("id = \"{}\"", it.id)),
                    "items.phase",
                    format!(
                        "item `{}` of phase `{}` comes after items of a later phase",
                        it.id, it.phase
                    ),
                ));
            }
            last = pos;
        }

        let mut images = raw.images;
        for im in &mut images {
            let re = Regex::new(&format!("^(?:{})$", im.alpine_tag)).map_err(|e| {
                err(
                    find_line(text, &format!("name = \"{}\"", im.name)),
                    "images.alpine_tag",
                    format!("invalid regex for image `{}`: {e}", im.name),
                )
            })?;
            im.regex = Some(re);
        }

        use sha2::Digest;
        let hash = format!("{:x}", sha2::Sha256::digest(text.as_bytes()));
        Ok(Recipe {
            meta: raw.recipe,
            settings: raw.settings,
            phases: raw.phases,
            items,
            images,
            packages: raw.packages,
            commands: raw.commands,
            source: source.to_string(),
            hash,
        })
    }

    pub fn phase(&self, id: &str) -> Option<&Phase> {
        self.phases.iter().find(|p| p.id == id)
    }

    pub fn item(&self, id: &str) -> Option<&Item> {
        self.items.iter().find(|i| i.id == id)
    }

    pub fn items_of<'a>(&'a self, phase: &'a str) -> impl Iterator<Item = &'a Item> + 'a {
        self.items.iter().filter(move |i| i.phase == phase)
    }

    /// The commit subject of a phase, with `{suite}` filled in.
    pub fn commit_subject(&self, phase: &Phase) -> String {
        phase.commit.replace("{suite}", &self.settings.suite)
    }

    /// Switch the Debian suite (must be one of `settings.suites`).
    pub fn set_suite(&mut self, suite: &str) -> Result<()> {
        if !self.settings.suites.iter().any(|s| s == suite) {
            return Err(Error::Usage(format!(
                "unknown suite `{suite}` (known: {})",
                self.settings.suites.join(", ")
            )));
        }
        self.settings.suite = suite.to_string();
        Ok(())
    }

    /// The item an edit carrying `rule` and `tags` belongs to: the first item,
    /// in checklist order, that lists the rule and whose `when` tags all match.
    pub fn item_for(&self, rule: &str, tags: &[String]) -> Option<&Item> {
        self.items.iter().find(|it| {
            it.rules.iter().any(|r| r == rule) && it.when.iter().all(|w| tags.contains(w))
        })
    }

    /// Map an image `name:tag` (name without registry) through the image map.
    /// Returns the new reference and the rule that did it.
    pub fn map_image(&self, name: &str, tag: &str) -> Option<(String, &ImageRule)> {
        let short = name.rsplit('/').next().unwrap_or(name);
        let official =
            name == short || name.starts_with("library/") || name.starts_with("docker.io/library/");
        for rule in &self.images {
            if rule.name != short || !official {
                continue;
            }
            let re = rule.regex.as_ref()?;
            if let Some(c) = re.captures(tag) {
                let base = c.get(1).map(|m| m.as_str()).unwrap_or("");
                let to = rule
                    .to
                    .replace("{tag}", base)
                    .replace("{suite}", &self.settings.suite);
                return Some((to, rule));
            }
        }
        None
    }
}

fn find_line(text: &str, needle: &str) -> usize {
    text.find(needle).map(|o| line_of(text, o)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_recipe_is_valid() {
        let r = Recipe::embedded().unwrap();
        let ids: Vec<&str> = r.phases.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "pre-migration",
                "dockerfile",
                "entrypoint",
                "ci",
                "testing",
                "docs",
                "post-migration"
            ]
        );
        assert_eq!(r.items.iter().filter(|i| !i.added).count(), 42);
        assert!(r.items.len() >= 43);
        assert_eq!(r.settings.suite, "bookworm");
    }

    #[test]
    fn image_map() {
        let r = Recipe::embedded().unwrap();
        let m = |n: &str, t: &str| r.map_image(n, t).map(|(s, _)| s);
        assert_eq!(
            m("node", "24.13.0-alpine").as_deref(),
            Some("node:24.13.0-bookworm-slim")
        );
        assert_eq!(
            m("golang", "1.25-alpine").as_deref(),
            Some("golang:1.25-bookworm")
        );
        assert_eq!(
            m("golang", "1.25.6-alpine3.21").as_deref(),
            Some("golang:1.25.6-bookworm")
        );
        assert_eq!(m("alpine", "3.23").as_deref(), Some("debian:bookworm-slim"));
        assert_eq!(
            m("library/alpine", "3.23").as_deref(),
            Some("debian:bookworm-slim")
        );
        assert_eq!(m("someone/alpine", "3.23"), None);
        assert_eq!(m("node", "24-bookworm-slim"), None);
    }

    #[test]
    fn suite_switch() {
        let mut r = Recipe::embedded().unwrap();
        r.set_suite("trixie").unwrap();
        assert_eq!(
            r.map_image("golang", "1.25-alpine").unwrap().0,
            "golang:1.25-trixie"
        );
        assert!(r.set_suite("sid").is_err());
    }

    fn broken(from: &str, to: &str) -> String {
        let e = Recipe::parse(&EMBEDDED.replacen(from, to, 1), "r.toml").unwrap_err();
        e.to_string()
    }

    #[test]
    fn bad_toml_names_file_and_line() {
        let msg = broken("[settings]", "[settings");
        assert!(msg.starts_with("r.toml:"), "{msg}");
        assert!(msg.contains("toml"), "{msg}");
    }

    #[test]
    fn duplicate_item_id() {
        let msg = broken("id = \"pre.e2e-baseline\"", "id = \"pre.branch\"");
        assert!(msg.contains("duplicate item id `pre.branch`"), "{msg}");
        let line: usize = msg.split(':').nth(1).unwrap().parse().unwrap();
        let expect = EMBEDDED
            .lines()
            .position(|l| l.contains("pre.e2e-baseline"))
            .unwrap()
            + 1;
        assert_eq!(line, expect);
    }

    #[test]
    fn unknown_rule_and_phase() {
        let msg = broken("rules = [\"apk-to-apt\"]", "rules = [\"apk-to-zypper\"]");
        assert!(msg.contains("items.rules"), "{msg}");
        assert!(msg.contains("unknown rule `apk-to-zypper`"), "{msg}");
        let msg = broken("phase = \"docs\"", "phase = \"doc\"");
        assert!(msg.contains("unknown phase `doc`"), "{msg}");
    }

    #[test]
    fn unknown_kind_and_field() {
        let msg = broken("kind = \"timer\"", "kind = \"alarm\"");
        assert!(msg.contains("alarm"), "{msg}");
        let msg = broken("\nadded = true", "\naddded = true");
        assert!(msg.contains("addded"), "{msg}");
    }

    #[test]
    fn suite_must_be_known() {
        let msg = broken("suite = \"bookworm\"", "suite = \"buster\"");
        assert!(msg.contains("settings.suite"), "{msg}");
    }
}
