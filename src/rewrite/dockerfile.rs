//! Every Dockerfile rule, driven from dockerfile-parser's instructions and
//! tree-sitter's view of each shell-form `RUN`: base images (FROM and the ARG
//! defaults they use), apk → apt-get, xx-apk, busybox users, su-exec, wget,
//! ash, musl loader hacks and assets, the ARM64 clang wrapper, hadolint
//! pragmas, and the packages a migrated stage newly needs. Edits are computed
//! on the text the shell sees and mapped back to file bytes, so continuations,
//! comments and indentation survive.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use super::apk::{self, Tool};
use super::{users, wget, Finding, Proposal, ShellChange};
use crate::analyze::dockerfile::{self, Body, Doc, Instr, Kind, Stage};
use crate::analyze::mapped::MappedText;
use crate::analyze::shell::{self, Removal};
use crate::analyze::{line_end, line_of, line_start};
use crate::edit::Edit;
use crate::error::Result;
use crate::recipe::{PrivilegeDrop, Recipe};

/// What the rules produced for one Dockerfile.
#[derive(Debug, Default)]
pub struct Output {
    pub proposals: Vec<Proposal>,
    pub findings: Vec<Finding>,
    /// Paths (relative to the Dockerfile's directory) of scripts the
    /// Dockerfile COPYs and runs as ENTRYPOINT/CMD.
    pub entrypoints: Vec<String>,
    /// Paths of every other local script the Dockerfile COPYs.
    pub scripts: Vec<String>,
    /// Global ARGs a FROM uses whose image is (or becomes) Debian:
    /// `(ARG name, image name after migration)`, for Renovate.
    pub image_args: Vec<(String, String)>,
    /// Every stage's base image as written (for the baseline file).
    pub baseline: Vec<super::docs::BaselineRow>,
}

/// Every stage's base image as written and resolved (for the baseline file).
pub fn baseline_rows(path: &str, text: &str) -> Vec<super::docs::BaselineRow> {
    match dockerfile::parse(Path::new(path), text) {
        Ok(doc) => baseline_of(path, &doc),
        Err(_) => Vec::new(),
    }
}

fn baseline_of(path: &str, doc: &dockerfile::Doc) -> Vec<super::docs::BaselineRow> {
    let args: HashMap<&str, &str> = doc
        .global_args()
        .filter_map(|(n, v)| v.map(|v| (n.as_str(), v.text.as_str())))
        .collect();
    doc.stages
        .iter()
        .filter_map(|st| {
            let img = doc.from_image(st)?;
            let resolved = match arg_ref(&img.text) {
                Some(a) => args
                    .get(a)
                    .map(|v| v.to_string())
                    .unwrap_or_else(|| img.text.clone()),
                None => img.text.clone(),
            };
            let r = ImageRef::parse(&resolved);
            Some(super::docs::BaselineRow {
                dockerfile: path.to_string(),
                stage: st.label(),
                written: img.text.clone(),
                resolved,
                digest: r.digest,
            })
        })
        .collect()
}

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// Registry and namespace prefix, kept as written (`docker.io/library/`).
    pub prefix: String,
    pub name: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl ImageRef {
    pub fn parse(s: &str) -> ImageRef {
        let (rest, digest) = match s.split_once('@') {
            Some((r, d)) => (r, Some(d.to_string())),
            None => (s, None),
        };
        let slash = rest.rfind('/').map(|i| i + 1).unwrap_or(0);
        let (path, tag) = match rest[slash..].rfind(':') {
            Some(i) => (&rest[..slash + i], Some(rest[slash + i + 1..].to_string())),
            None => (rest, None),
        };
        let name = path[slash..].to_string();
        // Registry and namespace as written; `is_official` interprets it.
        let prefix = path[..slash].to_string();
        ImageRef {
            prefix,
            name,
            tag,
            digest,
        }
    }

    /// `library/` and `docker.io/library/` (or none) are the official namespace.
    pub fn is_official(&self) -> bool {
        self.prefix.is_empty()
            || self.prefix == "library/"
            || self.prefix.ends_with("docker.io/library/")
    }
}

/// Debian suites the tool knows by name, to detect mixed releases.
const SUITES: &[&str] = &["buster", "bullseye", "bookworm", "trixie", "forky", "sid"];

/// The mapping of one image reference, with explanation and flags.
#[derive(Debug, Clone)]
pub struct ImageMapping {
    pub to: String,
    pub notes: Vec<String>,
    pub flags: Vec<String>,
    /// Packages the new image already has (full language images).
    pub provides: Vec<&'static str>,
}

/// What to do with an image reference.
#[derive(Debug, Clone)]
pub enum ImageVerdict {
    Map(ImageMapping),
    /// Alpine-based, but there is no safe Debian counterpart: say why.
    Report(String),
}

/// Map an image reference written in a Dockerfile. None when it is not Alpine.
pub fn map_image_ref(recipe: &Recipe, written: &str) -> Option<ImageVerdict> {
    if written.starts_with('$') || written.eq_ignore_ascii_case("scratch") {
        return None;
    }
    let r = ImageRef::parse(written);
    let suite = &recipe.settings.suite;
    let tag = r.tag.clone().unwrap_or_else(|| "latest".into());
    let mut notes = Vec::new();
    let mut flags = Vec::new();
    let to = match r
        .is_official()
        .then(|| recipe.map_image(&r.name, &tag))
        .flatten()
    {
        Some((_, rule)) if rule.to.is_empty() => {
            return Some(ImageVerdict::Report(format!(
                "{written}: {}",
                rule.note
                    .clone()
                    .unwrap_or_else(|| "no Debian variant".into())
            )));
        }
        Some((to, rule)) => {
            if let Some(n) = &rule.note {
                notes.push(n.clone());
            }
            if let Some(f) = &rule.floating {
                notes.push(f.replace("{tag}", tag.trim_end_matches("-alpine")));
            }
            to
        }
        None => {
            let lower = tag.to_ascii_lowercase();
            let Some(idx) = lower.find("alpine") else {
                if r.name.eq_ignore_ascii_case("alpine") {
                    return Some(ImageVerdict::Report(format!(
                        "{written} looks Alpine-based but is not the official alpine image: choose its Debian counterpart by hand"
                    )));
                }
                return None;
            };
            let base = tag[..idx].trim_end_matches(['-', '_', '.']);
            let after = &tag[idx + "alpine".len()..];
            if !after.chars().all(|c| c.is_ascii_digit() || c == '.') {
                return Some(ImageVerdict::Report(format!(
                    "{written}: the tag names an Alpine variant charon-tui cannot translate; choose the Debian tag by hand"
                )));
            }
            flags.push(format!("verify tag exists: {}", r.name));
            notes.push(format!(
                "{} is not in the recipe's image map: the analogous Debian tag is proposed; check the registry has it",
                r.name
            ));
            let new_tag = if base.is_empty() {
                suite.clone()
            } else {
                format!("{base}-{suite}")
            };
            format!("{}:{new_tag}", r.name)
        }
    };
    if r.digest.is_some() {
        flags.push("re-pin: the digest pinned the Alpine image".into());
        notes.push(
            "the @sha256 digest pinned the Alpine image and is meaningless after the swap: dropped; pin the new image's digest (NOTES §11)".into(),
        );
    }
    let provides: Vec<&'static str> = if !to.contains("slim")
        && ["golang:", "node:", "python:", "rust:", "buildpack-deps:"]
            .iter()
            .any(|p| to.starts_with(p))
    {
        vec![
            "curl",
            "wget",
            "git",
            "ca-certificates",
            "openssh-client",
            "procps",
            "gnupg",
        ]
    } else {
        vec![]
    };
    // Keep a registry or namespace prefix as written (`docker.io/library/`).
    let prefix = if r.prefix == "library/" {
        String::new()
    } else {
        r.prefix.clone()
    };
    Some(ImageVerdict::Map(ImageMapping {
        to: format!("{prefix}{to}"),
        notes,
        flags,
        provides,
    }))
}

/// The ARG a FROM image refers to (`${NAME}`, `$NAME`, `${NAME:-x}`).
fn arg_ref(image: &str) -> Option<&str> {
    let s = image.strip_prefix('$')?;
    let s = s
        .strip_prefix('{')
        .and_then(|x| x.strip_suffix('}'))
        .unwrap_or(s);
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    Some(&s[..end])
}

struct Ctx<'a> {
    path: &'a str,
    doc: &'a Doc,
    recipe: &'a Recipe,
    out: Output,
}

impl Ctx<'_> {
    fn finding(&mut self, rule: &'static str, offset: usize, message: impl Into<String>) {
        self.out.findings.push(Finding {
            rule,
            line: line_of(&self.doc.text, offset),
            message: message.into(),
        });
    }

    fn tags(&self, stage: Option<&Stage>, site: &str) -> Vec<String> {
        let mut t = vec![format!("file={}", self.path), format!("site={site}")];
        if let Some(s) = stage {
            t.push(format!("stage={}", s.label()));
        }
        t
    }

    fn propose(
        &mut self,
        rule: &'static str,
        tags: Vec<String>,
        edits: Vec<Edit>,
        summary: String,
        notes: Vec<String>,
        flags: Vec<String>,
    ) {
        if edits.is_empty() {
            return;
        }
        self.out.proposals.push(Proposal {
            rule,
            tags,
            edits,
            summary,
            explanation: notes.join("\n"),
            flags,
            alt: None,
            rename_to: None,
        });
    }

    /// Delete a whole instruction with the comment lines directly above it.
    fn delete_instr(&self, instr: &Instr, with_comments: bool) -> Edit {
        let text = &self.doc.text;
        let mut start = line_start(text, instr.start);
        if with_comments {
            if let Some(&(s, _)) = self.doc.comments_above(instr).last() {
                start = s;
            }
        } else if let Some(&(s, e)) = self.doc.comments_above(instr).first() {
            if text[s..e].trim_start().starts_with("# hadolint") {
                start = s;
            }
        }
        let end = line_end(text, instr.end.saturating_sub(1).max(instr.start));
        // Avoid leaving two blank lines where one block was removed.
        let before_blank = start >= 1 && (start < 2 || &text[start - 2..start] == "\n\n");
        let after_blank = text[end..].starts_with('\n') || text[end..].starts_with("\r\n");
        if before_blank && after_blank {
            let nl = if text[end..].starts_with("\r\n") {
                2
            } else {
                1
            };
            return Edit::delete(start, end + nl);
        }
        Edit::delete(start, end)
    }
}

/// Run every Dockerfile rule. `path` is the repository-relative path, used in
/// tags and errors; `read` returns the text of a file relative to the
/// Dockerfile's directory (for entrypoint scripts), if it exists.
pub fn rewrite(
    path: &str,
    text: &str,
    recipe: &Recipe,
    read: &dyn Fn(&str) -> Option<String>,
) -> Result<Output> {
    let doc = dockerfile::parse(Path::new(path), text)?;
    let mut cx = Ctx {
        path,
        doc: &doc,
        recipe,
        out: Output {
            baseline: baseline_of(path, &doc),
            ..Output::default()
        },
    };
    let stage_maps = base_images(&mut cx);
    let mut installs: HashMap<usize, StageInstall> = HashMap::new();
    run_rules(&mut cx, &mut installs);
    exec_rules(&mut cx);
    needed_packages(&mut cx, &stage_maps, &installs, read);
    mixed_releases(&mut cx);
    let mut out = cx.out;
    keep_readable(path, text, &mut out);
    Ok(out)
}

/// A rewrite never turns a Dockerfile the parser reads into one it cannot
/// read (the fuzzer found inputs that parse yet confuse a rule).
fn keep_readable(path: &str, text: &str, out: &mut Output) {
    super::keep_readable(
        text,
        &mut out.proposals,
        &mut out.findings,
        &|t| dockerfile::parse(Path::new(path), t).is_ok(),
        "the rewritten Dockerfile would not parse",
    );
}

/// Per stage: is it Alpine-based, and what does its new base provide.
#[derive(Debug, Clone, Default)]
struct StageBase {
    alpine: bool,
    provides: Vec<&'static str>,
}

fn base_images(cx: &mut Ctx) -> Vec<StageBase> {
    let doc = cx.doc;
    let mut bases: Vec<StageBase> = Vec::new();
    // ARG defaults used by FROM lines, and which stages use them.
    let mut arg_users: HashMap<String, Vec<usize>> = HashMap::new();
    for st in &doc.stages {
        if let Some(img) = doc.from_image(st) {
            if let Some(a) = arg_ref(&img.text) {
                arg_users.entry(a.to_string()).or_default().push(st.index);
            }
        }
    }
    let mut arg_maps: HashMap<String, ImageMapping> = HashMap::new();
    for (name, value) in doc.global_args() {
        let Some(v) = value else { continue };
        // Already Debian (migrated earlier): still an ARG Renovate must follow.
        if arg_users.contains_key(name) {
            let r = ImageRef::parse(&v.text);
            if r.name == "debian" && r.is_official() {
                cx.out.image_args.push((name.clone(), "debian".into()));
            }
        }
        let m = match map_image_ref(cx.recipe, &v.text) {
            Some(ImageVerdict::Map(m)) => m,
            Some(ImageVerdict::Report(msg)) => {
                cx.finding("base-image", v.start, format!("ARG {name}: {msg}"));
                continue;
            }
            None => continue,
        };
        let users = arg_users.get(name).cloned().unwrap_or_default();
        if !users.is_empty() {
            let new_name = ImageRef::parse(&m.to).name;
            cx.out.image_args.push((name.clone(), new_name));
        }
        let mut tags = cx.tags(None, "arg");
        for u in &users {
            tags.push(format!("stage={}", doc.stages[*u].label()));
        }
        let mut notes = vec![format!("ARG {name}: {} → {}", v.text, m.to)];
        if users.is_empty() {
            notes.push(format!("{name} holds an Alpine image but no FROM uses it directly; migrated so nothing Alpine is left"));
        } else {
            notes.push(format!(
                "used by FROM of stage(s) {}; migrating the default migrates them",
                users
                    .iter()
                    .map(|u| doc.stages[*u].label())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        notes.extend(m.notes.clone());
        cx.propose(
            "base-image",
            tags,
            vec![Edit::new(v.start, v.end, m.to.clone())],
            format!("ARG {name} default → {}", m.to),
            notes,
            m.flags.clone(),
        );
        arg_maps.insert(name.clone(), m);
    }
    for st in &doc.stages {
        let Some(img) = doc.from_image(st) else {
            bases.push(StageBase::default());
            continue;
        };
        // A stage built FROM an earlier stage inherits its base.
        if let Some(parent) = doc.stage_by_name(&img.text).filter(|p| p.index < st.index) {
            let b = bases.get(parent.index).cloned().unwrap_or_default();
            bases.push(b);
            continue;
        }
        if let Some(a) = arg_ref(&img.text) {
            let b = match arg_maps.get(a) {
                Some(m) => StageBase {
                    alpine: true,
                    provides: m.provides.clone(),
                },
                None => StageBase::default(),
            };
            bases.push(b);
            continue;
        }
        match map_image_ref(cx.recipe, &img.text) {
            Some(ImageVerdict::Report(msg)) => {
                cx.finding(
                    "base-image",
                    img.start,
                    format!("stage {}: {msg}", st.label()),
                );
                bases.push(StageBase::default());
            }
            Some(ImageVerdict::Map(m)) => {
                let mut notes = vec![format!("FROM {} → {}", img.text, m.to)];
                notes.extend(m.notes.clone());
                notes.push(format!(
                    "every stage goes to Debian {} so a CGO binary built in one stage runs in another (NOTES §11)",
                    cx.recipe.settings.suite
                ));
                let tags = cx.tags(Some(st), "from");
                cx.propose(
                    "base-image",
                    tags,
                    vec![Edit::new(img.start, img.end, m.to.clone())],
                    format!("{}: {} → {}", st.label(), img.text, m.to),
                    notes,
                    m.flags.clone(),
                );
                bases.push(StageBase {
                    alpine: true,
                    provides: m.provides,
                });
            }
            None => bases.push(StageBase::default()),
        }
    }
    bases
}

/// Packages a stage installs after migration, and where more can be inserted.
#[derive(Debug, Default)]
struct StageInstall {
    packages: BTreeSet<String>,
    /// File offset of the first package word of the first converted install.
    insert_at: Option<usize>,
    /// Commands the stage's RUNs call, as they will be after migration.
    commands: BTreeSet<String>,
    https: bool,
}

fn shell_bodies(instr: &Instr) -> Option<&MappedText> {
    match &instr.kind {
        Kind::Run(Body::Shell(m)) | Kind::Run(Body::Heredoc(Some(m))) => Some(m),
        _ => None,
    }
}

fn run_rules(cx: &mut Ctx, installs: &mut HashMap<usize, StageInstall>) {
    let doc = cx.doc;
    let mut virtuals: HashMap<usize, HashMap<String, Vec<String>>> = HashMap::new();
    for instr in &doc.instrs {
        let stage = doc.stage_of(instr);
        let stage_idx = instr.stage.unwrap_or(usize::MAX);
        if let Kind::Run(Body::Heredoc(None)) = &instr.kind {
            let body = &doc.text[instr.start..instr.end];
            if ["apk", "adduser", "addgroup", "su-exec", "wget"]
                .iter()
                .any(|w| body.contains(w))
            {
                cx.finding("apk-to-apt", instr.start, "heredoc RUN whose body is not run as a script (e.g. `RUN cmd <<EOF`): not analysed; convert it by hand");
            }
            continue;
        }
        if let Kind::Run(Body::Exec(elems)) = &instr.kind {
            if elems.first().is_some_and(|e| {
                ["apk", "adduser", "addgroup", "su-exec", "wget"].contains(&e.text.as_str())
            }) {
                cx.finding(
                    "apk-to-apt",
                    instr.start,
                    format!(
                        "exec-form RUN [\"{}\", …]: rewrite it as a shell-form RUN by hand",
                        elems[0].text
                    ),
                );
            }
            continue;
        }
        let Some(m) = shell_bodies(instr) else {
            continue;
        };
        let script = match shell::parse(&m.text) {
            Ok(s) => s,
            Err(e) => {
                cx.finding("apk-to-apt", instr.start, e);
                continue;
            }
        };
        if !script.error_ranges().is_empty() {
            let (s, _) = script.error_ranges()[0];
            cx.finding(
                "apk-to-apt",
                m.start_to_file(s),
                "tree-sitter-bash cannot parse this RUN's shell; it is left alone",
            );
            continue;
        }
        let joiner = continuation_joiner(&doc.text, instr);
        let tags = cx.tags(stage, "run");
        let inst = installs.entry(stage_idx).or_default();

        // ARM64 clang wrapper (NOTES §10): the whole RUN goes.
        if m.text.contains("fuse-ld=gold") && m.text.contains("clang") {
            let e = cx.delete_instr(instr, true);
            cx.propose(
                "clang-wrapper",
                tags.clone(),
                vec![e],
                "remove the ARM64 clang wrapper workaround".into(),
                vec![
                    "The checklist asks to remove the clang wrapper (spec Step 1.2, Phase 5). It is not a glibc matter (NOTES §10): Go still forces -fuse-ld=gold on arm64, and Debian provides gold in binutils (bookworm) or binutils-gold (trixie).".into(),
                    "Verify with an arm64 build (Testing › Build multi-architecture image) before merging.".into(),
                ],
                vec!["verify with an arm64 build".into()],
            );
            continue;
        }

        // apk and xx-apk.
        let mut pragma_done = false;
        let v = virtuals.entry(stage_idx).or_default();
        for tool in [Tool::Apk, Tool::XxApk] {
            let o = apk::convert(&script, cx.recipe, tool, &joiner, v);
            for (off, msg) in &o.findings {
                let line = line_of(&doc.text, m.start_to_file(*off));
                cx.out.findings.push(Finding {
                    rule: "apk-to-apt",
                    line,
                    message: msg.clone(),
                });
            }
            let rule = if tool == Tool::Apk {
                "apk-to-apt"
            } else {
                "xx-apk"
            };
            if o.removes_all {
                let e = cx.delete_instr(instr, false);
                let notes = o.change.map(|c| c.notes).unwrap_or_default();
                let mut n = vec!["every package of this RUN is already in Debian slim or unnecessary: the RUN is removed".to_string()];
                n.extend(notes);
                cx.propose(
                    rule,
                    tags.clone(),
                    vec![e],
                    "remove a RUN that installs nothing on Debian".into(),
                    n,
                    vec![],
                );
                pragma_done = true;
                continue;
            }
            let Some(change) = o.change else { continue };
            if tool == Tool::Apk {
                inst.packages.extend(o.installed.iter().cloned());
                if inst.insert_at.is_none() {
                    inst.insert_at = o.insert_at.map(|v| m.start_to_file(v));
                }
            }
            let mut edits = change.to_file(m);
            let mut notes = change.notes.clone();
            if tool == Tool::Apk {
                notes.insert(0, "apk → apt-get: one `apt-get update`, DEBIAN_FRONTEND=noninteractive on the command (not as ENV), --no-install-recommends, and the lists removed in the same RUN (NOTES §15).".into());
            } else {
                notes.insert(0, "xx-apk → xx-apt-get install -y --no-install-recommends with the target's packages (NOTES §9). xx-apt-get picks the target's cross gcc itself; the spec's dpkg-architecture snippet breaks on amd64 and needs dpkg-dev.".into());
            }
            if !pragma_done {
                let apk_left = tool == Tool::Apk && !o.findings.is_empty();
                if let Some((e, note)) = pragma_edit(doc, instr, apk_left) {
                    edits.push(e);
                    notes.push(note);
                }
                pragma_done = true;
            }
            cx.propose(
                rule,
                tags.clone(),
                edits,
                change.summary.clone(),
                notes,
                change.flags.clone(),
            );
        }

        // Command-level rules.
        let cmds: Vec<shell::Command> = script
            .commands()
            .iter()
            .map(shell::Command::unwrapped)
            .collect();
        let mut user_change = ShellChange::default();
        let mut su_change = ShellChange::default();
        let mut wget_change = ShellChange::default();
        let mut ash_change = ShellChange::default();
        let mut musl_change = ShellChange::default();
        let mut asset_change = ShellChange::default();
        for c in &cmds {
            let name = c.base_name();
            // Record the commands the stage runs, as they will be after migration.
            let after = super::name_after_migration(name, cx.recipe);
            inst.commands.insert(after.to_string());
            if matches!(name, "curl" | "wget") && c.args.iter().any(|a| a.raw.contains("https://"))
            {
                inst.https = true;
            }
            match name {
                "addgroup" | "adduser" => {
                    let r = if name == "addgroup" { users::addgroup(c) } else { users::adduser(c) };
                    match r {
                        Ok(conv) => {
                            user_change.edits.push(Edit::new(c.name.start, c.end, conv.text));
                            user_change.notes.extend(conv.notes);
                        }
                        Err(msg) => cx.finding("busybox-users", m.start_to_file(c.start), msg),
                    }
                }
                "su-exec" => match users::su_exec(c, cx.recipe.settings.privilege_drop) {
                    Ok((s, e, conv)) => {
                        su_change.edits.push(Edit::new(s, e, conv.text));
                        su_change.notes.extend(conv.notes);
                    }
                    Err(msg) => cx.finding("su-exec", m.start_to_file(c.start), msg),
                },
                "wget" => match wget::convert(c) {
                    Ok(conv) => {
                        wget_change.edits.push(Edit::new(c.name.start, c.end, conv.text));
                        wget_change.notes.extend(conv.notes);
                    }
                    Err(msg) => cx.finding("sh-wget", m.start_to_file(c.start), msg),
                },
                "ash" => {
                    ash_change.edits.push(Edit::new(c.name.start, c.name.end, "sh"));
                    ash_change.notes.push("ash is busybox's shell; Debian's /bin/sh (dash) is the POSIX equivalent".into());
                }
                "scanelf" => cx.finding(
                    "musl-loader",
                    m.start_to_file(c.start),
                    "scanelf (pax-utils) discovers run-time deps the Alpine way; on Debian use `ldd` with `dpkg-query -S`, or apt-mark as the official images do; convert by hand",
                ),
                _ => {}
            }
            let musl_loader = c
                .args
                .iter()
                .any(|a| a.raw.contains("ld-musl") || a.raw.contains("libc.musl"));
            if musl_loader && matches!(name, "ln" | "cp" | "mkdir" | "mv") {
                match c.removal {
                    Removal::Range(s, e) => musl_change.edits.push(Edit::delete(s, e)),
                    Removal::Replace(s, e) => musl_change.edits.push(Edit::new(s, e, ":")),
                    Removal::Whole => {
                        let e = cx.delete_instr(instr, false);
                        // Mapped back below: this edit is already in file offsets.
                        cx.propose(
                            "musl-loader",
                            tags.clone(),
                            vec![e],
                            "remove a musl loader hack".into(),
                            vec!["This RUN links the musl loader (ld-musl/libc.musl) to glibc's name so glibc binaries run on Alpine. Debian is glibc: the hack is unnecessary and would break the real loader.".into(), "Verify with an arm64 build: loader paths differ per architecture.".into()],
                            vec!["verify with an arm64 build".into()],
                        );
                        continue;
                    }
                }
                musl_change.notes.push(format!(
                    "`{}` links or copies the musl loader; on glibc Debian it is unnecessary and would shadow the real loader",
                    m.text[c.start..c.end].trim()
                ));
            }
            for a in &c.args {
                if let Some(i) = a.raw.find("linux-musl") {
                    if m.is_contiguous(a.start, a.end) {
                        let s = a.start + i + "linux-".len();
                        asset_change
                            .edits
                            .push(Edit::new(s, s + "musl".len(), "gnu"));
                        asset_change.notes.push(format!(
                            "download asset `{}` is a musl build; the glibc build (`linux-gnu`) is proposed",
                            a.raw
                        ));
                    } else {
                        cx.finding(
                            "musl-asset",
                            m.start_to_file(a.start),
                            format!("musl download asset `{}`: use its glibc build", a.raw),
                        );
                    }
                }
            }
        }
        let file_edits = |c: &ShellChange| c.to_file(m);
        if !user_change.edits.is_empty() {
            cx.propose(
                "busybox-users",
                tags.clone(),
                file_edits(&user_change),
                "busybox addgroup/adduser → groupadd/useradd/usermod".into(),
                dedup(user_change.notes),
                vec![],
            );
        }
        if !su_change.edits.is_empty() {
            cx.propose(
                "su-exec",
                tags.clone(),
                file_edits(&su_change),
                "su-exec → gosu".into(),
                dedup(su_change.notes),
                vec![],
            );
        }
        if !wget_change.edits.is_empty() {
            cx.propose(
                "sh-wget",
                tags.clone(),
                file_edits(&wget_change),
                "wget → curl".into(),
                dedup(wget_change.notes),
                vec![],
            );
        }
        if !ash_change.edits.is_empty() {
            cx.propose(
                "ash-shell",
                tags.clone(),
                file_edits(&ash_change),
                "ash → sh".into(),
                dedup(ash_change.notes),
                vec![],
            );
        }
        if !musl_change.edits.is_empty() {
            let edits = file_edits(&musl_change);
            let mut notes = dedup(musl_change.notes);
            notes.push("Verify with an arm64 build (NOTES §10).".into());
            cx.propose(
                "musl-loader",
                tags.clone(),
                edits,
                "remove musl loader hacks".into(),
                notes,
                vec!["verify with an arm64 build".into()],
            );
        }
        if !asset_change.edits.is_empty() {
            cx.propose(
                "musl-asset",
                tags.clone(),
                file_edits(&asset_change),
                "musl download asset → glibc build".into(),
                dedup(asset_change.notes),
                vec!["verify the glibc asset exists".into()],
            );
        }
    }
}

fn dedup(v: Vec<String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    v.into_iter().filter(|s| seen.insert(s.clone())).collect()
}

/// `" \\\n<indent>&& "` using the RUN's own continuation indent (4 spaces by default).
fn continuation_joiner(text: &str, instr: &Instr) -> String {
    let body = &text[instr.start..instr.end];
    let nl = if body.contains("\r\n") || text.contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    };
    let indent = body
        .split('\n')
        .nth(1)
        .map(|l| {
            l.chars()
                .take_while(|c| *c == ' ' || *c == '\t')
                .collect::<String>()
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "    ".into());
    format!(" \\{nl}{indent}&& ")
}

/// Rewrite a `# hadolint ignore=` pragma above a RUN (NOTES §7). When an
/// apk command is left in the RUN, its DL3018 stays beside the new DL3008.
fn pragma_edit(doc: &Doc, instr: &Instr, apk_left: bool) -> Option<(Edit, String)> {
    let (s, e) = *doc.comments_above(instr).first()?;
    let line = &doc.text[s..e];
    let at = line.find("ignore=")? + "ignore=".len();
    let codes_str = line[at..].split_whitespace().next()?;
    let codes: Vec<&str> = codes_str.split(',').map(str::trim).collect();
    if !codes
        .iter()
        .any(|c| matches!(*c, "DL3018" | "DL3019" | "DL3017"))
    {
        return None;
    }
    let mut new: Vec<&str> = Vec::new();
    for c in &codes {
        if apk_left && *c == "DL3018" {
            new.push("DL3018");
        }
        let m = match *c {
            "DL3018" => Some("DL3008"),
            "DL3019" | "DL3017" => None,
            other => Some(other),
        };
        if let Some(m) = m {
            if !new.contains(&m) {
                new.push(m);
            }
        }
    }
    let cs = s + at;
    if new.is_empty() {
        let end = line_end(&doc.text, e);
        return Some((
            Edit::delete(s, end),
            "hadolint pragma removed: DL3019 (apk --no-cache) has no apt counterpart".into(),
        ));
    }
    Some((
        Edit::new(cs, cs + codes_str.len(), new.join(",")),
        format!(
            "hadolint pragma follows the code it silences: {codes_str} → {} (DL3018 → DL3008 unpinned apt packages; DL3019 dropped; NOTES §7)",
            new.join(",")
        ),
    ))
}

fn exec_rules(cx: &mut Ctx) {
    let doc = cx.doc;
    for instr in &doc.instrs {
        let stage = doc.stage_of(instr);
        let tags = cx.tags(stage, "run");
        match &instr.kind {
            Kind::Shell(elems) => {
                if let Some(first) = elems.first() {
                    if matches!(first.text.as_str(), "/bin/ash" | "ash" | "/bin/busybox") {
                        let rest: Vec<&str> =
                            elems.iter().skip(1).map(|e| e.text.as_str()).collect();
                        let extra = if first.text == "/bin/busybox" && rest.first() == Some(&"ash")
                        {
                            // ["/bin/busybox", "ash", ...]: drop the applet name too.
                            elems.get(1).map(|e| e.end)
                        } else {
                            None
                        };
                        let end = extra.unwrap_or(first.end);
                        cx.propose(
                            "ash-shell",
                            tags.clone(),
                            vec![Edit::new(first.start, end, "\"/bin/bash\"")],
                            format!("SHELL {} → /bin/bash", first.text),
                            vec!["SHELL named busybox's ash, which Debian does not have; bash is Essential in Debian and accepts the same -o pipefail/-c options".into()],
                            vec![],
                        );
                    }
                }
            }
            Kind::Entrypoint(body) | Kind::Cmd(body) => match body {
                Body::Exec(elems) => {
                    if let Some(i) = elems
                        .iter()
                        .position(|e| e.text.rsplit('/').next() == Some("su-exec"))
                    {
                        let e = &elems[i];
                        let (edit, note) = match cx.recipe.settings.privilege_drop {
                            PrivilegeDrop::Gosu => (
                                Edit::new(e.start, e.end, "\"gosu\""),
                                "su-exec → gosu in the exec form (NOTES §8: Debian's gosu is built with an old Go)".to_string(),
                            ),
                            PrivilegeDrop::Setpriv => match elems.get(i + 1) {
                                Some(u) => {
                                    let (us, gs) = u.text.split_once(':').unwrap_or((&u.text, &u.text));
                                    (
                                        Edit::new(e.start, u.end, format!("\"setpriv\", \"--reuid={us}\", \"--regid={gs}\", \"--init-groups\"")),
                                        "su-exec → setpriv (util-linux, already in slim; NOTES §8)".to_string(),
                                    )
                                }
                                None => continue,
                            },
                        };
                        cx.propose(
                            "su-exec",
                            tags.clone(),
                            vec![edit],
                            "su-exec → gosu".into(),
                            vec![note],
                            vec![],
                        );
                    }
                }
                Body::Shell(m) => {
                    if let Ok(s) = shell::parse(&m.text) {
                        let mut ch = ShellChange::default();
                        for c in s
                            .commands()
                            .iter()
                            .map(shell::Command::unwrapped)
                            .filter(|c| c.base_name() == "su-exec")
                        {
                            if let Ok((a, b, conv)) =
                                users::su_exec(&c, cx.recipe.settings.privilege_drop)
                            {
                                ch.edits.push(Edit::new(a, b, conv.text));
                                ch.notes.extend(conv.notes);
                            }
                        }
                        if !ch.edits.is_empty() {
                            let edits = ch.to_file(m);
                            cx.propose(
                                "su-exec",
                                tags.clone(),
                                edits,
                                "su-exec → gosu".into(),
                                dedup(ch.notes),
                                vec![],
                            );
                        }
                    }
                }
                _ => {}
            },
            Kind::Healthcheck(Some(Body::Shell(m))) => {
                if let Ok(s) = shell::parse(&m.text) {
                    let mut ch = ShellChange::default();
                    for c in s
                        .commands()
                        .iter()
                        .map(shell::Command::unwrapped)
                        .filter(|c| c.base_name() == "wget")
                    {
                        match wget::convert(&c) {
                            Ok(conv) => {
                                ch.edits.push(Edit::new(c.name.start, c.end, conv.text));
                                ch.notes.extend(conv.notes);
                            }
                            Err(msg) => cx.finding("sh-wget", m.start_to_file(c.start), msg),
                        }
                    }
                    if !ch.edits.is_empty() {
                        let edits = ch.to_file(m);
                        let t = cx.tags(stage, "healthcheck");
                        cx.propose(
                            "sh-wget",
                            t,
                            edits,
                            "HEALTHCHECK wget → curl".into(),
                            dedup(ch.notes),
                            vec![],
                        );
                    }
                }
            }
            Kind::Healthcheck(Some(Body::Exec(elems)))
                if elems.iter().any(|e| e.text == "wget") =>
            {
                cx.finding(
                    "sh-wget",
                    instr.start,
                    "exec-form HEALTHCHECK uses wget, which Debian slim lacks: switch it to curl by hand",
                );
            }
            _ => {}
        }
    }
}

/// The command a script or HEALTHCHECK calls, mapped to the package that provides it.
fn needed_packages(
    cx: &mut Ctx,
    bases: &[StageBase],
    installs: &HashMap<usize, StageInstall>,
    read: &dyn Fn(&str) -> Option<String>,
) {
    let doc = cx.doc;
    // Entrypoint and copied scripts.
    let mut runtime_cmds: HashMap<usize, (BTreeSet<String>, bool, Vec<String>)> = HashMap::new();
    for st in &doc.stages {
        let mut copies: Vec<(String, String)> = Vec::new(); // (source, dest)
        let mut entry: Option<String> = None;
        for instr in doc.instrs_of(st.index) {
            match &instr.kind {
                Kind::Copy {
                    from: None,
                    sources,
                    dest,
                } => {
                    for s in sources {
                        copies.push((s.clone(), dest.clone()));
                    }
                }
                Kind::Entrypoint(b) | Kind::Cmd(b) => {
                    let first = match b {
                        Body::Exec(e) => e.first().map(|x| x.text.clone()),
                        Body::Shell(m) => m.text.split_whitespace().next().map(str::to_string),
                        _ => None,
                    };
                    if let Some(f) = first {
                        if matches!(instr.kind, Kind::Entrypoint(_)) || entry.is_none() {
                            entry = Some(f);
                        }
                    }
                }
                _ => {}
            }
        }
        let entry_src = entry.as_ref().and_then(|e| {
            copies.iter().find_map(|(src, dest)| {
                let base = Path::new(src).file_name()?.to_str()?;
                let hit = dest == e || (dest.ends_with('/') && format!("{dest}{base}") == *e);
                hit.then(|| src.clone())
            })
        });
        let mut cmds = BTreeSet::new();
        let mut https = false;
        let mut sources = Vec::new();
        for (src, _) in &copies {
            if src.contains('*') || src.contains('$') {
                continue;
            }
            let Some(text) = read(src) else { continue };
            let is_script = src.ends_with(".sh")
                || text.starts_with("#!/bin/sh")
                || text.starts_with("#!/bin/bash")
                || text.starts_with("#!/usr/bin/env")
                || text.starts_with("#!/bin/ash");
            if !is_script {
                continue;
            }
            let is_entry = entry_src.as_deref() == Some(src.as_str());
            if is_entry {
                cx.out.entrypoints.push(src.clone());
            } else {
                cx.out.scripts.push(src.clone());
            }
            if !st.is_final && !is_entry {
                continue;
            }
            if let Ok(s) = shell::parse(&text) {
                for c in s.commands().iter().map(shell::Command::unwrapped) {
                    let after = super::name_after_migration(c.base_name(), cx.recipe);
                    if matches!(c.base_name(), "curl" | "wget")
                        && c.args.iter().any(|a| a.raw.contains("https://"))
                    {
                        https = true;
                    }
                    if cmds.insert(after.to_string()) {
                        sources.push(format!("{after} ({src})"));
                    }
                }
            }
        }
        // HEALTHCHECK commands.
        for instr in doc.instrs_of(st.index) {
            if let Kind::Healthcheck(Some(Body::Shell(m))) = &instr.kind {
                if let Ok(s) = shell::parse(&m.text) {
                    for c in s.commands() {
                        let after = super::name_after_migration(c.base_name(), cx.recipe);
                        if cmds.insert(after.to_string()) {
                            sources.push(format!("{after} (HEALTHCHECK)"));
                        }
                    }
                }
            }
        }
        runtime_cmds.insert(st.index, (cmds, https, sources));
    }

    for st in &doc.stages {
        let Some(base) = bases.get(st.index) else {
            continue;
        };
        if !base.alpine {
            continue;
        }
        let inst = installs.get(&st.index);
        let empty = StageInstall::default();
        let inst = inst.unwrap_or(&empty);
        let (_, rt_https, rt_sources) = runtime_cmds.get(&st.index).cloned().unwrap_or_default();
        let mut needed: Vec<(String, String)> = Vec::new();
        let consider = |cmd: &str, why: String, needed: &mut Vec<(String, String)>| {
            if let Some(pkg) = cx.recipe.commands.get(cmd) {
                if !inst.packages.contains(pkg)
                    && !base.provides.contains(&pkg.as_str())
                    && !needed.iter().any(|(p, _)| p == pkg)
                {
                    needed.push((pkg.clone(), why));
                }
            }
        };
        for c in &inst.commands {
            consider(
                c,
                format!("{c} is called by a RUN of this stage"),
                &mut needed,
            );
        }
        for s in &rt_sources {
            let cmd = s.split(' ').next().unwrap_or("");
            consider(cmd, format!("{s} runs in this image"), &mut needed);
        }
        if (inst.https || rt_https)
            && (inst.commands.contains("curl") || inst.commands.contains("wget"))
            && !inst.packages.contains("ca-certificates")
            && !base.provides.contains(&"ca-certificates")
            && !needed.iter().any(|(p, _)| p == "ca-certificates")
        {
            needed.push(("ca-certificates".into(), "curl fetches https:// URLs, which needs the CA bundle (not in slim; spec Step 1.5)".into()));
        }
        if needed.is_empty() {
            continue;
        }
        let pkgs: Vec<&str> = needed.iter().map(|(p, _)| p.as_str()).collect();
        let mut notes = vec![format!(
            "Debian slim lacks what this stage needs once migrated (NOTES §2): {}",
            pkgs.join(", ")
        )];
        notes.extend(needed.iter().map(|(p, why)| format!("{p}: {why}")));
        let tags = cx.tags(Some(st), "run");
        let edit = match inst.insert_at {
            Some(at) => {
                notes.push("Added to the stage's apt-get install: accept the apk → apt-get hunk of this stage too.".into());
                Edit::insert(at, format!("{} ", pkgs.join(" ")))
            }
            None => {
                let from = &doc.instrs[st.from];
                let at = line_end(&doc.text, from.end.saturating_sub(1).max(from.start));
                let nl = if doc.text.contains("\r\n") {
                    "\r\n"
                } else {
                    "\n"
                };
                Edit::insert(
                    at,
                    format!(
                        "# hadolint ignore=DL3008{nl}RUN apt-get update \\{nl}    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends {} \\{nl}    && rm -rf /var/lib/apt/lists/*{nl}",
                        pkgs.join(" ")
                    ),
                )
            }
        };
        cx.propose(
            "needed-packages",
            tags,
            vec![edit],
            format!("{}: install {}", st.label(), pkgs.join(" ")),
            notes,
            vec![],
        );
    }
}

fn mixed_releases(cx: &mut Ctx) {
    let doc = cx.doc;
    let suite = cx.recipe.settings.suite.clone();
    for st in &doc.stages {
        let Some(img) = doc.from_image(st) else {
            continue;
        };
        let lower = img.text.to_ascii_lowercase();
        if let Some(other) = SUITES.iter().find(|s| **s != suite && lower.contains(*s)) {
            cx.finding(
                "base-image",
                img.start,
                format!(
                    "stage {} is on Debian {other} while the migration targets {suite}: never mix releases (a CGO binary built on a newer glibc fails on an older one, NOTES §11)",
                    st.label()
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_refs() {
        let r = ImageRef::parse("docker.io/library/alpine:3.23@sha256:abc");
        assert_eq!(r.name, "alpine");
        assert_eq!(r.tag.as_deref(), Some("3.23"));
        assert_eq!(r.digest.as_deref(), Some("sha256:abc"));
        assert!(r.is_official());
        let r = ImageRef::parse("registry:5000/team/app");
        assert_eq!(r.name, "app");
        assert_eq!(r.tag, None);
        assert!(!r.is_official());
    }

    #[test]
    fn image_mapping() {
        let rec = Recipe::embedded().unwrap();
        let m = |s: &str| match map_image_ref(&rec, s) {
            Some(ImageVerdict::Map(m)) => Some(m.to),
            _ => None,
        };
        assert_eq!(m("alpine:3.23").as_deref(), Some("debian:bookworm-slim"));
        assert_eq!(m("alpine").as_deref(), Some("debian:bookworm-slim"));
        assert_eq!(
            m("golang:${GO_VERSION}-alpine").as_deref(),
            Some("golang:${GO_VERSION}-bookworm")
        );
        assert_eq!(
            m("docker.io/library/node:20-alpine3.19").as_deref(),
            Some("docker.io/library/node:20-bookworm-slim")
        );
        assert_eq!(
            m("nginx:1.27-alpine").as_deref(),
            Some("nginx:1.27-bookworm")
        );
        assert_eq!(m("redis:alpine").as_deref(), Some("redis:bookworm"));
        assert_eq!(m("debian:bookworm-slim"), None);
        assert_eq!(m("${BASE}"), None);
        let Some(ImageVerdict::Map(pinned)) = map_image_ref(&rec, "alpine:3.23.4@sha256:0123")
        else {
            panic!("pinned alpine maps")
        };
        assert_eq!(pinned.to, "debian:bookworm-slim");
        assert!(pinned.flags.iter().any(|f| f.contains("re-pin")));
        let Some(ImageVerdict::Map(go)) = map_image_ref(&rec, "golang:1.25-alpine") else {
            panic!("golang maps")
        };
        assert!(go.provides.contains(&"curl"));
        assert!(matches!(
            map_image_ref(&rec, "caddy:2-alpine"),
            Some(ImageVerdict::Report(_))
        ));
        assert!(matches!(
            map_image_ref(&rec, "bitnami/alpine:3.19"),
            Some(ImageVerdict::Report(_))
        ));
    }
}
