//! apk → apt-get, one shell text (a RUN body) at a time: `apk add` becomes
//! `apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y
//! --no-install-recommends …` with one update and one list cleanup per text
//! (NOTES §15), `apk upgrade` becomes `apt-get upgrade -y`, `apk del` a purge,
//! virtual packages are tracked, and `xx-apk` becomes `xx-apt-get` (NOTES §9).
//! Packages go through the recipe's map; words are edited in place so line
//! continuations and indentation survive.

use std::collections::HashMap;

use super::packages::{map_package, Mapped};
use super::ShellChange;
use crate::analyze::shell::{Command, Removal, Script, Word};
use crate::edit::Edit;
use crate::recipe::Recipe;

/// Which package tool a pass converts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    Apk,
    XxApk,
}

impl Tool {
    fn name(self) -> &'static str {
        match self {
            Tool::Apk => "apk",
            Tool::XxApk => "xx-apk",
        }
    }
}

/// The result of one pass over a shell text.
#[derive(Debug, Default)]
pub struct Outcome {
    pub change: Option<ShellChange>,
    /// `(offset in the text, message)` for commands left alone.
    pub findings: Vec<(usize, String)>,
    /// Debian packages the text installs after the change.
    pub installed: Vec<String>,
    /// Offset of the first package word of the first converted install, where
    /// packages a stage also needs can be inserted.
    pub insert_at: Option<usize>,
    /// Every command of the text would be removed (the caller drops the RUN).
    pub removes_all: bool,
}

const NO_ARG_OPTS: &[&str] = &[
    "--no-cache",
    "--update",
    "-U",
    "--update-cache",
    "--quiet",
    "-q",
    "--no-progress",
    "--verbose",
    "-v",
    "--force-overwrite",
    "--force-broken-world",
    "--purge",
    "--clean-protected",
    "--latest",
    "-l",
    "--available",
    "-a",
    "--no-scripts",
    "--allow-untrusted",
];
const ARG_OPTS: &[&str] = &["--virtual", "-t", "--cache-dir"];
const REFUSED_OPTS: &[&str] = &[
    "--repository",
    "-X",
    "--repositories-file",
    "--root",
    "-p",
    "--arch",
    "--keys-dir",
    "--initdb",
];

struct Parsed<'a> {
    sub: Option<&'a Word>,
    /// Words that are not packages (tool name excluded).
    structure: Vec<&'a Word>,
    packages: Vec<&'a Word>,
    virtual_name: Option<String>,
}

fn parse_args<'a>(cmd: &'a Command) -> Result<Parsed<'a>, String> {
    let mut p = Parsed {
        sub: None,
        structure: Vec::new(),
        packages: Vec::new(),
        virtual_name: None,
    };
    let mut i = 0;
    let args = &cmd.args;
    while i < args.len() {
        let w = &args[i];
        let Some(v) = w.value.as_deref() else {
            return Err(format!(
                "`{}` expands at build time; the package list cannot be mapped safely",
                w.raw
            ));
        };
        if v.starts_with('-') && v.len() > 1 {
            let (flag, inline) = match v.split_once('=') {
                Some((f, val)) => (f, Some(val)),
                None => (v, None),
            };
            if REFUSED_OPTS.contains(&flag) {
                return Err(format!(
                    "`{v}` points apk at an Alpine-specific repository or root; there is no Debian equivalent to convert to"
                ));
            }
            p.structure.push(w);
            if ARG_OPTS.contains(&flag) {
                let val = match inline {
                    Some(val) => Some(val.to_string()),
                    None => {
                        i += 1;
                        let next = args.get(i).ok_or_else(|| format!("`{v}` needs a value"))?;
                        p.structure.push(next);
                        next.value.clone()
                    }
                };
                if flag == "--virtual" || flag == "-t" {
                    p.virtual_name = val;
                }
            } else if !NO_ARG_OPTS.contains(&flag) {
                return Err(format!(
                    "unknown apk option `{v}`; convert this command by hand"
                ));
            }
        } else if p.sub.is_none() {
            p.sub = Some(w);
            p.structure.push(w);
        } else {
            p.packages.push(w);
        }
        i += 1;
    }
    Ok(p)
}

/// Per-text conversion state.
struct Pass<'r> {
    recipe: &'r Recipe,
    tool: Tool,
    joiner: String,
    updated: bool,
    edits: Vec<Edit>,
    notes: Vec<String>,
    flags: Vec<String>,
    converted: usize,
    removed: usize,
    last_apt_end: Option<usize>,
    installed: Vec<String>,
    insert_at: Option<usize>,
    /// Unknown packages of the command being converted.
    unknown: Vec<String>,
}

impl Pass<'_> {
    fn update_prefix(&mut self, cmd: &Command) -> String {
        if self.updated {
            String::new()
        } else {
            self.updated = true;
            let j = if cmd.top_level {
                self.joiner.clone()
            } else {
                " && ".into()
            };
            format!("apt-get update{j}")
        }
    }

    fn install_cmd(&self) -> &'static str {
        match self.tool {
            Tool::Apk => {
                "DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends"
            }
            Tool::XxApk => "xx-apt-get install -y --no-install-recommends",
        }
    }

    fn remove(&mut self, cmd: &Command) -> bool {
        match cmd.removal {
            Removal::Range(s, e) => self.edits.push(Edit::delete(s, e)),
            Removal::Replace(s, e) => self.edits.push(Edit::new(s, e, ":")),
            Removal::Whole => {
                self.removed += 1;
                return true;
            }
        }
        self.removed += 1;
        false
    }

    /// [`Self::map_words`], unless every package is unknown: then what the
    /// mapping gathered is undone and `None` returned (`self.unknown` names
    /// them), so the command is left as it is.
    fn map_known(
        &mut self,
        cmd: &Command,
        pkgs: &[&Word],
        virtuals: &HashMap<String, Vec<String>>,
    ) -> Option<Vec<String>> {
        let before = (self.edits.len(), self.notes.len(), self.flags.len());
        self.unknown.clear();
        let kept = self.map_words(cmd, pkgs, virtuals);
        if kept.is_empty() && !self.unknown.is_empty() {
            self.edits.truncate(before.0);
            self.notes.truncate(before.1);
            self.flags.truncate(before.2);
            return None;
        }
        Some(kept)
    }

    /// Map package words: edits for renamed/dropped ones; returns kept names.
    fn map_words(
        &mut self,
        cmd: &Command,
        pkgs: &[&Word],
        virtuals: &HashMap<String, Vec<String>>,
    ) -> Vec<String> {
        let mut kept = Vec::new();
        let mut deleted = Vec::new();
        for (k, w) in pkgs.iter().enumerate() {
            let spec = w.text();
            if let Some(list) = virtuals.get(spec) {
                self.edits.push(Edit::new(w.start, w.end, list.join(" ")));
                kept.extend(list.iter().cloned());
                continue;
            }
            let (mapped, pin) = map_package(self.recipe, spec);
            if let Some(p) = pin {
                self.flags.push(format!("re-pin {spec}"));
                self.notes.push(p);
            }
            let name = spec.split(['=', '<', '>', '~']).next().unwrap_or(spec);
            match mapped {
                Mapped::To(names) => {
                    if names.len() != 1 || names[0] != spec {
                        self.edits.push(Edit::new(w.start, w.end, names.join(" ")));
                        if names.len() != 1 || names[0] != name {
                            let why = self
                                .recipe
                                .packages
                                .get(name)
                                .and_then(|r| r.why.clone())
                                .map(|y| format!(" ({y})"))
                                .unwrap_or_default();
                            self.notes
                                .push(format!("{name} → {}{why}", names.join(" ")));
                        }
                    }
                    kept.extend(names);
                }
                Mapped::Dropped(why) => {
                    deleted.push(k);
                    self.notes.push(format!("{name} dropped: {why}"));
                }
                Mapped::Unknown => {
                    self.unknown.push(name.to_string());
                    deleted.push(k);
                    self.flags.push(format!("unmapped package {name}"));
                    self.notes.push(format!(
                        "{name} has no known Debian equivalent: kept out of the install; add the right Debian package by editing this hunk"
                    ));
                }
            }
        }
        let dels = word_deletions(cmd, pkgs, &deleted);
        self.edits.extend(dels);
        kept
    }

    fn finish_install(&mut self, cmd: &Command, parsed: &Parsed, prefix: String, kept: &[String]) {
        // Replace the tool, options and subcommand that precede the packages.
        let first_pkg = parsed
            .packages
            .first()
            .map(|w| w.start)
            .unwrap_or(usize::MAX);
        let lead_end = parsed
            .structure
            .iter()
            .filter(|w| w.start < first_pkg)
            .map(|w| w.end)
            .max()
            .unwrap_or(cmd.name.end);
        self.edits.push(Edit::new(cmd.name.start, lead_end, prefix));
        // Options written after the packages are deleted.
        for w in parsed.structure.iter().filter(|w| w.start > first_pkg) {
            self.edits.push(Edit::delete(cmd.end_before(w), w.end));
        }
        self.installed.extend(kept.iter().cloned());
        self.last_apt_end = Some(cmd.stmt_end);
        self.converted += 1;
    }
}

/// Delete the package words `deleted` (indexes into `pkgs`, ascending) with
/// the blank before each (after it, for a run at the start of the
/// packages), so no double spaces or dangling continuations remain. Adjacent
/// deleted words (`bash bash`, a duplicate) go as one range: per-word ranges
/// would overlap.
fn word_deletions(cmd: &Command, pkgs: &[&Word], deleted: &[usize]) -> Vec<Edit> {
    let arg_of = |w: &Word| cmd.args.iter().position(|a| a.start == w.start);
    let mut out = Vec::new();
    let mut i = 0;
    while i < deleted.len() {
        // The run deleted[i..=j]: consecutive arguments of the command.
        let mut j = i;
        while j + 1 < deleted.len() {
            match (arg_of(pkgs[deleted[j]]), arg_of(pkgs[deleted[j + 1]])) {
                (Some(a), Some(b)) if b == a + 1 => j += 1,
                _ => break,
            }
        }
        let (first, last) = (pkgs[deleted[i]], pkgs[deleted[j]]);
        let next = arg_of(last).and_then(|a| cmd.args.get(a + 1));
        out.push(match next {
            Some(n) if deleted[i] == 0 => Edit::delete(first.start, n.start),
            _ => Edit::delete(cmd.end_before(first), last.end),
        });
        i = j + 1;
    }
    out
}

/// Convert every `apk` (or `xx-apk`) command of a shell text. `virtuals`
/// carries `--virtual` names across the RUNs of a stage. `joiner` separates
/// the `apt-get update` and cleanup commands from the install at top level
/// (`" \\\n    && "` keeps a Dockerfile readable; `" && "` in scripts).
pub fn convert(
    script: &Script,
    recipe: &Recipe,
    tool: Tool,
    joiner: &str,
    virtuals: &mut HashMap<String, Vec<String>>,
) -> Outcome {
    let cmds = script.commands();
    let mut out = Outcome::default();
    let mut pass = Pass {
        recipe,
        tool,
        joiner: joiner.to_string(),
        updated: false,
        edits: Vec::new(),
        notes: Vec::new(),
        flags: Vec::new(),
        converted: 0,
        removed: 0,
        last_apt_end: None,
        installed: Vec::new(),
        insert_at: None,
        unknown: Vec::new(),
    };
    let mut has_cleanup = false;
    let mut whole = false;
    let mut ours = 0;
    for cmd in &cmds {
        let base = cmd.base_name();
        // Existing apt usage in the same text counts as the update/cleanup.
        if base == "apt-get" || base == "apt" {
            if cmd.args.iter().any(|a| a.is("update")) {
                pass.updated = true;
            }
            continue;
        }
        if base == "rm" {
            for a in &cmd.args {
                if a.text().starts_with("/var/lib/apt/lists") {
                    has_cleanup = true;
                } else if tool == Tool::Apk && a.text().starts_with("/var/cache/apk") {
                    pass.edits
                        .push(Edit::new(a.start, a.end, "/var/lib/apt/lists/*"));
                    pass.notes
                        .push("the apk cache cleanup now removes the apt lists".into());
                    has_cleanup = true;
                }
            }
            continue;
        }
        if base != tool.name() || cmd.in_substitution {
            continue;
        }
        ours += 1;
        let parsed = match parse_args(cmd) {
            Ok(p) => p,
            Err(msg) => {
                out.findings
                    .push((cmd.start, format!("{}: {msg}", tool.name())));
                continue;
            }
        };
        let sub = parsed.sub.map(|w| w.text().to_string()).unwrap_or_default();
        match sub.as_str() {
            "add" => {
                let virtual_name = parsed.virtual_name.clone();
                let edits_before = pass.edits.len();
                // Nothing known to install: converting would drop the
                // command silently. Leave it and say why.
                let Some(kept) = pass.map_known(cmd, &parsed.packages, virtuals) else {
                    out.findings.push((
                        cmd.start,
                        format!(
                            "apk add: no known Debian package for {}; convert this command by hand (or add the packages to the recipe's map)",
                            pass.unknown.join(", ")
                        ),
                    ));
                    continue;
                };
                if let Some(v) = virtual_name {
                    virtuals.insert(v.clone(), kept.clone());
                    pass.notes.push(format!(
                        "virtual package {v} has no apt counterpart: its packages are installed directly and purged where `apk del {v}` was"
                    ));
                }
                if kept.is_empty() {
                    pass.edits.truncate(edits_before);
                    whole |= pass.remove(cmd);
                    continue;
                }
                if pass.insert_at.is_none() {
                    pass.insert_at = parsed.packages.first().map(|w| w.start);
                }
                let upd = pass.update_prefix(cmd);
                let prefix = format!("{upd}{}", pass.install_cmd());
                pass.finish_install(cmd, &parsed, prefix, &kept);
            }
            "del" => {
                let edits_before = pass.edits.len();
                // Nothing converted installed these (an `apk add` left
                // alone, or a virtual package of another stage): removing
                // the command would change what the image keeps.
                let Some(kept) = pass.map_known(cmd, &parsed.packages, virtuals) else {
                    out.findings.push((
                        cmd.start,
                        format!(
                            "apk del: {} not installed by a converted `apk add` (no known Debian package); convert this command by hand",
                            pass.unknown.join(", ")
                        ),
                    ));
                    continue;
                };
                if kept.is_empty() {
                    pass.edits.truncate(edits_before);
                    whole |= pass.remove(cmd);
                    continue;
                }
                let prefix = "apt-get purge -y --auto-remove".to_string();
                pass.finish_install(cmd, &parsed, prefix, &[]);
            }
            "update" => {
                pass.updated = true;
                pass.edits
                    .push(Edit::new(cmd.name.start, cmd.end, "apt-get update"));
                pass.converted += 1;
            }
            "upgrade" => {
                if parsed.packages.is_empty() {
                    let upd = pass.update_prefix(cmd);
                    pass.edits.push(Edit::new(
                        cmd.name.start,
                        cmd.end,
                        format!("{upd}DEBIAN_FRONTEND=noninteractive apt-get upgrade -y"),
                    ));
                    pass.last_apt_end = Some(cmd.stmt_end);
                    pass.converted += 1;
                } else {
                    let edits_before = pass.edits.len();
                    let kept = pass.map_words(cmd, &parsed.packages, virtuals);
                    if kept.is_empty() {
                        pass.edits.truncate(edits_before);
                        let names: Vec<&str> = parsed.packages.iter().map(|w| w.text()).collect();
                        pass.notes.push(format!(
                            "`apk upgrade {}` removed: nothing to upgrade on Debian",
                            names.join(" ")
                        ));
                        for w in &parsed.packages {
                            if let (Mapped::Dropped(why), _) = map_package(recipe, w.text()) {
                                pass.notes.push(format!("{}: {why}", w.text()));
                            }
                        }
                        whole |= pass.remove(cmd);
                        continue;
                    }
                    let upd = pass.update_prefix(cmd);
                    let prefix = format!(
                        "{upd}DEBIAN_FRONTEND=noninteractive apt-get install -y --only-upgrade"
                    );
                    pass.finish_install(cmd, &parsed, prefix, &[]);
                }
            }
            other => {
                out.findings.push((
                    cmd.start,
                    format!(
                        "`{} {other}` has no direct apt-get equivalent; convert it by hand",
                        tool.name()
                    ),
                ));
            }
        }
    }
    // Dropping the whole text is only right when every command in it went.
    if whole && pass.removed < cmds.len() {
        whole = false;
    }
    out.removes_all = whole && ours == cmds.len();
    if pass.converted == 0 && pass.edits.is_empty() && !out.removes_all {
        return out;
    }
    if let Some(end) = pass.last_apt_end {
        if !has_cleanup {
            let j = if cmds.iter().any(|c| c.stmt_end == end && c.top_level) {
                pass.joiner.clone()
            } else {
                " && ".into()
            };
            pass.edits
                .push(Edit::insert(end, format!("{j}rm -rf /var/lib/apt/lists/*")));
        }
    }
    // Removals inside one list can collide; refuse rather than guess.
    let mut sorted = pass.edits.clone();
    sorted.sort_by_key(|e| (e.start, e.end));
    if sorted.windows(2).any(|w| w[1].start < w[0].end) {
        out.findings.push((
            cmds.first().map(|c| c.start).unwrap_or(0),
            format!(
                "{} commands here overlap after conversion; convert them by hand",
                tool.name()
            ),
        ));
        return out;
    }
    let what = match tool {
        Tool::Apk => "apk → apt-get",
        Tool::XxApk => "xx-apk → xx-apt-get",
    };
    out.installed = pass.installed;
    out.insert_at = pass.insert_at;
    out.change = Some(ShellChange {
        edits: pass.edits,
        summary: what.to_string(),
        notes: pass.notes,
        flags: pass.flags,
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::shell;
    use crate::edit::splice;

    fn run(src: &str, tool: Tool) -> (String, Outcome) {
        let r = Recipe::embedded().unwrap();
        let s = shell::parse(src).unwrap();
        let mut v = HashMap::new();
        let out = convert(&s, &r, tool, " && ", &mut v);
        let text = match &out.change {
            Some(c) => splice(src, &c.edits).unwrap(),
            None => src.to_string(),
        };
        (text, out)
    }

    #[test]
    fn add_becomes_install_with_update_and_cleanup() {
        let (t, o) = run("apk add --no-cache clang lld", Tool::Apk);
        assert_eq!(
            t,
            "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends clang lld && rm -rf /var/lib/apt/lists/*"
        );
        assert_eq!(o.installed, ["clang", "lld"]);
    }

    #[test]
    fn runtime_line_of_the_spec() {
        let src = "apk --no-cache add bash ca-certificates sqlite-libs sqlite tzdata curl gettext su-exec libcap-utils && apk --no-cache upgrade && apk --no-cache upgrade c-ares";
        let (t, o) = run(src, Tool::Apk);
        assert_eq!(
            t,
            "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates libsqlite3-0 sqlite3 tzdata curl gettext-base gosu libcap2-bin && DEBIAN_FRONTEND=noninteractive apt-get upgrade -y && rm -rf /var/lib/apt/lists/*"
        );
        let notes = o.change.unwrap().notes.join("\n");
        assert!(notes.contains("bash dropped"), "{notes}");
        assert!(notes.contains("c-ares"), "{notes}");
    }

    #[test]
    fn only_dropped_packages_removes_the_command() {
        let (t, o) = run("apk add --no-cache tar", Tool::Apk);
        assert_eq!(t, "apk add --no-cache tar");
        assert!(o.removes_all);
        let (t, _) = run("apk add --no-cache tar && echo hi", Tool::Apk);
        assert_eq!(t, "echo hi");
    }

    #[test]
    fn virtual_packages_are_purged() {
        let (t, _) = run(
            "apk add --no-cache --virtual .build-deps gcc musl-dev && make && apk del .build-deps",
            Tool::Apk,
        );
        assert_eq!(
            t,
            "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends gcc libc6-dev && make && apt-get purge -y --auto-remove gcc libc6-dev && rm -rf /var/lib/apt/lists/*"
        );
    }

    #[test]
    fn duplicate_and_adjacent_dropped_packages_go_in_one_deletion() {
        // Found by the scale benchmark's generator: `bash bash` made two
        // overlapping deletions and the whole RUN was left alone.
        let (t, _) = run("apk add --no-cache bash bash openssl git bash", Tool::Apk);
        assert!(t.contains("--no-install-recommends openssl git &&"), "{t}");
        let (t, _) = run("apk add bash curl coreutils bash --no-cache jq", Tool::Apk);
        assert!(t.contains("--no-install-recommends curl jq &&"), "{t}");
        let (t, _) = run("apk add curl bash \\\n    coreutils jq", Tool::Apk);
        assert!(t.contains("--no-install-recommends curl jq &&"), "{t:?}");
    }

    #[test]
    fn a_virtual_add_left_alone_keeps_its_del() {
        // Found by the Dockerfile fuzzer: the add had no known package and
        // was left, but its `apk del` was removed.
        let (t, o) = run(
            "apk add --virtual .gyp frobnicator && npm ci && apk del .gyp",
            Tool::Apk,
        );
        assert_eq!(
            t,
            "apk add --virtual .gyp frobnicator && npm ci && apk del .gyp"
        );
        assert_eq!(o.findings.len(), 2, "{:?}", o.findings);
        assert!(o.findings[1]
            .1
            .contains("apk del: .gyp not installed by a converted"));
    }

    #[test]
    fn removal_after_a_word_ending_in_a_continuation_keeps_the_line_joined() {
        // `curl\` + newline: tree-sitter-bash folds the continuation into
        // the word; removing the next command must not leave a dangling `\`.
        let src = "make all\\\n    && apk upgrade bash\nls\n";
        let (t, _) = run(src, Tool::Apk);
        assert_eq!(t, "make all\nls\n");
        let word_end = "apk add --virtual .d python3\\\n  && apk del .d";
        let (t, _) = run(word_end, Tool::Apk);
        assert!(
            t.contains("apt-get purge -y --auto-remove python3"),
            "{t:?}"
        );
    }

    #[test]
    fn pins_and_unknown_packages_are_flagged() {
        let (t, o) = run("apk add curl=8.5.0-r0 frobnicator", Tool::Apk);
        assert!(t.contains("--no-install-recommends curl &&"), "{t}");
        let c = o.change.unwrap();
        assert!(c.flags.iter().any(|f| f.contains("re-pin curl=8.5.0-r0")));
        assert!(c
            .flags
            .iter()
            .any(|f| f.contains("unmapped package frobnicator")));
    }

    #[test]
    fn xx_apk() {
        let (t, _) = run("xx-apk add --no-cache gcc musl-dev sqlite-dev", Tool::XxApk);
        assert_eq!(
            t,
            "apt-get update && xx-apt-get install -y --no-install-recommends gcc libc6-dev libsqlite3-dev && rm -rf /var/lib/apt/lists/*"
        );
    }

    #[test]
    fn cache_cleanup_is_converted_not_duplicated() {
        let (t, _) = run(
            "apk update && apk add git && rm -rf /var/cache/apk/*",
            Tool::Apk,
        );
        assert_eq!(
            t,
            "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends git && rm -rf /var/lib/apt/lists/*"
        );
    }

    #[test]
    fn dynamic_and_repository_forms_are_left_alone() {
        let (t, o) = run("apk add $PKGS", Tool::Apk);
        assert_eq!(t, "apk add $PKGS");
        assert_eq!(o.findings.len(), 1);
        let (_, o) = run(
            "apk add --repository http://dl-cdn.alpinelinux.org/alpine/edge/testing foo",
            Tool::Apk,
        );
        assert!(o.findings[0].1.contains("--repository"));
        let (_, o) = run("apk info -v", Tool::Apk);
        assert!(o.findings[0].1.contains("apk info"));
    }

    #[test]
    fn nested_in_if_keeps_plain_joiner() {
        let (t, _) = run("if true; then apk add git; fi", Tool::Apk);
        assert_eq!(
            t,
            "if true; then apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends git && rm -rf /var/lib/apt/lists/*; fi"
        );
    }
}
