//! The instruction interpreter: turns one Dockerfile stage into the list of
//! commands `verify` runs in a Debian root filesystem, and the checks it runs
//! afterwards. Pure: it reads nothing but the Dockerfile and the scripts the
//! caller's `read` hands it, so it is tested without root.
//!
//! What it models, as the builder does: `ARG` (defaults, global defaults
//! re-declared in a stage, `--build-arg`, the predefined platform ARGs),
//! `ENV` (values expanded against the environment before the instruction),
//! `WORKDIR` (created, relative paths joined), `USER` (later `RUN`s run as
//! that user), `SHELL` (the shell of shell-form `RUN`), `FROM <stage>`
//! (the parent stage's instructions first). What it cannot have is skipped
//! with a reason: `COPY`/`ADD` (the build context and other stages are not
//! built), downloads, toolchains missing from a minbase root filesystem, and
//! any command that needs a file one of those would have provided.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::expand::expand;
use crate::analyze::dockerfile::{Body, Doc, Instr, Kind, Stage};
use crate::analyze::line_of;
use crate::analyze::shell::{self, Command};
use crate::rewrite::dockerfile::ImageRef;

/// Docker's default PATH for Linux images.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Debian releases by name and by number (debian:12-slim).
const SUITES: &[(&str, &str)] = &[
    ("buster", "10"),
    ("bullseye", "11"),
    ("bookworm", "12"),
    ("trixie", "13"),
    ("forky", "14"),
    ("sid", ""),
];

/// Official images built on Debian whose toolchain a minbase root filesystem
/// lacks: only their package-manager and user commands are run.
const LANGUAGE_IMAGES: &[&str] = &[
    "golang",
    "node",
    "python",
    "rust",
    "ruby",
    "php",
    "perl",
    "gcc",
    "openjdk",
    "eclipse-temurin",
    "buildpack-deps",
    "maven",
    "gradle",
];

const PACKAGE_COMMANDS: &[&str] = &[
    "apt-get",
    "apt",
    "aptitude",
    "apt-mark",
    "dpkg",
    "dpkg-reconfigure",
    "apk",
    "xx-apt-get",
    "xx-apt",
    "xx-apk",
];

const USER_COMMANDS: &[&str] = &[
    "useradd", "groupadd", "usermod", "groupmod", "adduser", "addgroup", "deluser", "delgroup",
    "userdel", "groupdel",
];

/// Programs that fetch from the internet, and the subcommands that do.
const DOWNLOADERS: &[(&str, &[&str])] = &[
    ("curl", &[]),
    ("wget", &[]),
    ("git", &["clone", "fetch", "pull", "submodule", "ls-remote"]),
];

/// Toolchains an official language image carries and Debian minbase lacks.
const TOOLCHAINS: &[&str] = &[
    "go", "gofmt", "xcaddy", "npm", "npx", "node", "yarn", "pnpm", "corepack", "pip", "pip3",
    "python", "python3", "poetry", "pipenv", "cargo", "rustc", "rustup", "gem", "bundle", "ruby",
    "composer", "php", "mvn", "gradle", "java", "javac",
];

/// Shell builtins and keywords: never looked up on PATH.
const BUILTINS: &[&str] = &[
    ".", ":", "[", "[[", "alias", "bg", "break", "builtin", "cd", "command", "continue", "declare",
    "echo", "eval", "exec", "exit", "export", "false", "fc", "fg", "getopts", "hash", "jobs",
    "kill", "let", "local", "printf", "pwd", "read", "readonly", "return", "set", "shift", "shopt",
    "source", "test", "times", "trap", "true", "type", "typeset", "ulimit", "umask", "unalias",
    "unset", "wait",
];

/// What kind of work a step does (JSON: `package-install`, `user`, `other`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepKind {
    PackageInstall,
    User,
    Other,
}

/// One process to run in the root filesystem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exec {
    pub argv: Vec<String>,
    /// The complete environment (Docker's default PATH, ARGs, ENVs).
    #[serde(skip)]
    pub env: Vec<(String, String)>,
    pub workdir: String,
    /// `USER` in effect (None: root).
    pub user: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Exec(Exec),
    Skip(String),
}

/// One instruction of the stage, interpreted.
#[derive(Debug, Clone)]
pub struct Step {
    pub line: usize,
    /// The stage the instruction belongs to (a parent stage for `FROM <stage>`).
    pub stage: String,
    /// The instruction, on one line, shortened for display.
    pub instruction: String,
    pub kind: StepKind,
    pub action: Action,
    /// What was left out of a `RUN` that runs in part.
    pub note: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckKind {
    User,
    PrivilegeDrop,
    EntrypointCommand,
    Healthcheck,
    Setcap,
}

/// What a check's command must print to pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// Exit 0.
    Success,
    /// `command -v NAME` (or `test -x PATH`) printed where NAME is.
    Found(String),
    /// Exit 0 and `id`-style output naming `user`, with these ids when known.
    Id {
        user: String,
        uid: Option<u32>,
        gid: Option<u32>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    Run { exec: Exec, expect: Expect },
    Skip(String),
}

#[derive(Debug, Clone)]
pub struct Check {
    pub kind: CheckKind,
    pub title: String,
    pub probe: Probe,
}

/// How much of a stage runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Every instruction the sandbox can have.
    Full,
    /// Official language image: package-manager and user commands only.
    PackagesAndUsers,
    /// Not a Debian-based image: nothing runs.
    Skipped,
}

/// The interpreted stage: what runs where, in order.
#[derive(Debug, Clone)]
pub struct StagePlan {
    pub file: String,
    pub stage: String,
    /// The base image after ARG substitution (the root image for `FROM <stage>`).
    pub image: String,
    pub suite: String,
    pub mode: Mode,
    /// Why the stage runs the way it does (Alpine image, language image, skipped).
    pub notes: Vec<String>,
    pub steps: Vec<Step>,
    pub checks: Vec<Check>,
}

/// Settings that do not come from the Dockerfile.
#[derive(Debug, Clone)]
pub struct Options {
    /// The Debian release for images that do not name one (alpine, node:24).
    pub suite: String,
    /// `--build-arg NAME=VALUE`.
    pub build_args: Vec<(String, String)>,
    /// Docker's architecture name of the machine (`amd64`, `arm64`).
    pub arch: String,
}

impl Options {
    pub fn new(suite: &str) -> Self {
        Options {
            suite: suite.to_string(),
            build_args: Vec::new(),
            arch: host_arch().to_string(),
        }
    }
}

/// Docker's name for the machine's architecture.
pub fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "arm" => "arm",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        other => other,
    }
}

/// What the base image is, for running its commands.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Base {
    Debian { suite: String },
    Language { suite: String, name: String },
    Alpine { language: bool },
    NotDebian(String),
}

/// The Debian suite a tag names (`bookworm-slim`, `1.25-trixie`, `12-slim`).
fn suite_of_tag(name: &str, tag: &str) -> Option<&'static str> {
    let parts: Vec<&str> = tag.split(['-', '.', '_']).collect();
    for (suite, number) in SUITES {
        if parts.contains(suite) {
            return Some(suite);
        }
        if name == "debian" && !number.is_empty() && parts.first() == Some(number) {
            return Some(suite);
        }
    }
    None
}

fn classify(image: &str, default_suite: &str) -> Base {
    if image.eq_ignore_ascii_case("scratch") {
        return Base::NotDebian("`FROM scratch` has no shell and no package manager".into());
    }
    if image.contains('$') {
        return Base::NotDebian(format!(
            "the image `{image}` uses a build argument without a value (pass --build-arg)"
        ));
    }
    let r = ImageRef::parse(image);
    let tag = r.tag.clone().unwrap_or_default();
    let official = r.is_official();
    let alpine = r.name == "alpine" || tag.split(['-', '.']).any(|p| p.starts_with("alpine"));
    let language = LANGUAGE_IMAGES.contains(&r.name.as_str());
    if official && alpine {
        return Base::Alpine { language };
    }
    let suite = suite_of_tag(&r.name, &tag)
        .map(str::to_string)
        .unwrap_or_else(|| default_suite.to_string());
    match (official, r.name.as_str()) {
        (true, "debian") => Base::Debian { suite },
        (true, _) if language => Base::Language {
            suite,
            name: r.name.clone(),
        },
        (true, "ubuntu") => Base::NotDebian(format!(
            "`{image}` is Ubuntu: its root filesystem does not come from Debian's mirror"
        )),
        _ => Base::NotDebian(format!(
            "`{image}` is not an official Debian or language image; what it contains is unknown, so its stage is not run"
        )),
    }
}

/// A skipped `COPY`/`ADD`: what the sandbox does not have.
#[derive(Debug, Clone)]
struct Copied {
    /// Absolute destination in the image.
    dest: String,
    /// The destination is a directory (trailing `/`, several sources, `/`).
    dir: bool,
    sources: Vec<String>,
    from: Option<String>,
    line: usize,
    /// The image of `--from`, when it names a stage (for `COPY --from=xx / /`).
    from_image: Option<String>,
}

impl Copied {
    fn describe(&self) -> String {
        match &self.from {
            Some(f) => format!("`COPY --from={f}` (line {})", self.line),
            None => format!("`COPY`/`ADD` of the build context (line {})", self.line),
        }
    }

    /// Does the image path `p` come from this copy?
    fn provides_path(&self, p: &str) -> bool {
        if self.dest == "/" {
            return false;
        }
        if p == self.dest.trim_end_matches('/') {
            return true;
        }
        let dir = self.dest.trim_end_matches('/');
        if self.dir && p.starts_with(&format!("{dir}/")) {
            return true;
        }
        // `COPY a/ /dst` copies a directory's content into `/dst` too.
        p.starts_with(&format!("{dir}/"))
    }

    /// Does the command `name` (no slash) come from this copy?
    fn provides_command(&self, name: &str) -> bool {
        if self.dest == "/" {
            // `COPY --from=xx / /`: the tools of that image, by their prefix.
            let img = self
                .from_image
                .as_deref()
                .or(self.from.as_deref())
                .unwrap_or("");
            let short = ImageRef::parse(img).name;
            return !short.is_empty() && name.starts_with(&format!("{short}-"));
        }
        if self.dir {
            return self
                .sources
                .iter()
                .any(|s| s.trim_end_matches('/').rsplit('/').next() == Some(name));
        }
        self.dest.rsplit('/').next() == Some(name)
    }
}

/// A user or group a `RUN` creates.
#[derive(Debug, Clone, PartialEq, Eq)]
struct UserSpec {
    name: String,
    uid: Option<u32>,
    /// Primary group as written (name or number).
    group: Option<String>,
}

/// The interpreter's state while it walks a stage (and its parents).
struct Ctx<'a> {
    doc: &'a Doc,
    opts: &'a Options,
    read: &'a dyn Fn(&str) -> Option<String>,
    globals: BTreeMap<String, String>,
    args: BTreeMap<String, String>,
    env: BTreeMap<String, String>,
    shell: Vec<String>,
    workdir: String,
    user: Option<String>,
    mode: Mode,
    mode_reason: String,
    copies: Vec<Copied>,
    steps: Vec<Step>,
    /// The program ENTRYPOINT (or CMD without ENTRYPOINT) starts, with its line.
    entry: Option<(String, usize, bool)>,
    healthcheck: Option<(String, usize)>,
    users: Vec<UserSpec>,
    groups: Vec<(String, Option<u32>)>,
    setcap: Option<usize>,
    /// Privilege-drop commands seen in the Dockerfile: (tool, user, line).
    drops: Vec<(String, String, usize)>,
}

/// Interpret stage `stage` of `doc` (the Dockerfile at `file`). `read` reads
/// a build-context path (as written in a `COPY`), for the entrypoint script.
pub fn plan(
    file: &str,
    doc: &Doc,
    stage: &Stage,
    opts: &Options,
    read: &dyn Fn(&str) -> Option<String>,
) -> StagePlan {
    let mut globals = BTreeMap::new();
    predefined(&mut globals, &opts.arch);
    for (name, value) in doc.global_args() {
        let lookup = |n: &str| globals.get(n).cloned();
        let v = value.map(|v| expand(&unquote(&v.text), &lookup));
        if let Some(v) = build_arg(opts, name).or(v) {
            globals.insert(name.clone(), v);
        }
    }
    let mut cx = Ctx {
        doc,
        opts,
        read,
        globals,
        args: BTreeMap::new(),
        env: BTreeMap::new(),
        shell: vec!["/bin/sh".into(), "-c".into()],
        workdir: "/".into(),
        user: None,
        mode: Mode::Full,
        mode_reason: String::new(),
        copies: Vec::new(),
        steps: Vec::new(),
        entry: None,
        healthcheck: None,
        users: Vec::new(),
        groups: Vec::new(),
        setcap: None,
        drops: Vec::new(),
    };
    // The chain of stages: the root image's stage first.
    let mut chain = vec![stage.index];
    let mut image = String::new();
    while let Some(current) = chain.last().and_then(|&i| doc.stages.get(i)) {
        let written = doc
            .from_image(current)
            .map(|s| s.text.clone())
            .unwrap_or_default();
        let lookup = |n: &str| cx.globals.get(n).cloned();
        let resolved = expand(&written, &lookup);
        match doc.stage_by_name(&resolved) {
            Some(parent) if parent.index < current.index => chain.push(parent.index),
            // An unset build argument: keep the reference, classify() says so.
            _ if resolved.trim().is_empty() => {
                image = written;
                break;
            }
            _ => {
                image = resolved;
                break;
            }
        }
    }
    chain.reverse();
    let mut notes = Vec::new();
    let suite;
    match classify(&image, &opts.suite) {
        Base::Debian { suite: s } => suite = s,
        Base::Language { suite: s, name } => {
            suite = s;
            cx.mode = Mode::PackagesAndUsers;
            cx.mode_reason = format!(
                "stage on the {name} image: only package-manager and user commands run (the {name} toolchain is not in a minbase root filesystem)"
            );
            notes.push(cx.mode_reason.clone());
        }
        Base::Alpine { language } => {
            suite = opts.suite.clone();
            notes.push(format!(
                "`{image}` is Alpine: its commands run on Debian {suite} to show what still has to change"
            ));
            if language {
                cx.mode = Mode::PackagesAndUsers;
                cx.mode_reason = "stage on an official language image: only package-manager and user commands run (the toolchain is not in a minbase root filesystem)".into();
                notes.push(cx.mode_reason.clone());
            }
        }
        Base::NotDebian(reason) => {
            return StagePlan {
                file: file.to_string(),
                stage: stage.label(),
                image,
                suite: opts.suite.clone(),
                mode: Mode::Skipped,
                notes: vec![reason],
                steps: Vec::new(),
                checks: Vec::new(),
            };
        }
    }
    for idx in chain {
        let Some(st) = doc.stages.get(idx) else {
            continue;
        };
        // ARGs are scoped to their stage; ENV, WORKDIR, USER, SHELL carry on.
        cx.args.clear();
        for instr in doc.instrs_of(idx) {
            cx.instruction(st, instr);
        }
    }
    let checks = cx.checks();
    StagePlan {
        file: file.to_string(),
        stage: stage.label(),
        image,
        suite,
        mode: cx.mode,
        notes,
        steps: cx.steps,
        checks,
    }
}

/// The ARGs every build defines.
fn predefined(m: &mut BTreeMap<String, String>, arch: &str) {
    let platform = format!("linux/{arch}");
    for (k, v) in [
        ("TARGETPLATFORM", platform.as_str()),
        ("TARGETOS", "linux"),
        ("TARGETARCH", arch),
        ("TARGETVARIANT", ""),
        ("BUILDPLATFORM", platform.as_str()),
        ("BUILDOS", "linux"),
        ("BUILDARCH", arch),
        ("BUILDVARIANT", ""),
    ] {
        m.insert(k.into(), v.into());
    }
}

fn build_arg(opts: &Options, name: &str) -> Option<String> {
    opts.build_args
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

/// Remove one level of surrounding quotes (ARG values keep them as written).
fn unquote(s: &str) -> String {
    let t = s.trim();
    for q in ['"', '\''] {
        if t.len() >= 2 && t.starts_with(q) && t.ends_with(q) {
            return t[1..t.len() - 1].to_string();
        }
    }
    t.to_string()
}

/// Join `p` to `base` and normalise `.`/`..`, as WORKDIR and COPY do.
fn resolve(base: &str, p: &str) -> String {
    let joined = if p.starts_with('/') {
        p.to_string()
    } else {
        format!("{}/{p}", base.trim_end_matches('/'))
    };
    let mut parts: Vec<&str> = Vec::new();
    for c in joined.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    format!("/{}", parts.join("/"))
}

/// An instruction on one line, at most 100 characters.
fn one_line(text: &str) -> String {
    let joined: String = text
        .lines()
        .map(|l| l.trim().trim_end_matches('\\').trim())
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect::<Vec<_>>()
        .join(" ");
    shorten(&joined, 100)
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let cut: String = s.chars().take(max - 1).collect();
    format!("{}…", cut.trim_end())
}

fn is_package(c: &Command) -> bool {
    PACKAGE_COMMANDS.contains(&c.base_name())
}

fn is_user(c: &Command) -> bool {
    USER_COMMANDS.contains(&c.base_name())
}

fn kind_of(cmds: &[Command]) -> StepKind {
    if cmds.iter().any(is_package) {
        StepKind::PackageInstall
    } else if cmds.iter().any(is_user) {
        StepKind::User
    } else {
        StepKind::Other
    }
}

/// `name` and the first few arguments, for messages.
fn excerpt(c: &Command) -> String {
    let mut s = c.name.raw.clone();
    for a in c.args.iter().take(3) {
        s.push(' ');
        s.push_str(&a.raw);
    }
    if c.args.len() > 3 {
        s.push_str(" …");
    }
    shorten(&s, 60)
}

impl Ctx<'_> {
    fn lookup(&self, name: &str) -> Option<String> {
        self.env.get(name).or_else(|| self.args.get(name)).cloned()
    }

    fn expand(&self, s: &str) -> String {
        expand(s, &|n| self.lookup(n))
    }

    /// The environment of a process: PATH, then ARGs, then ENVs (ENV wins).
    fn environment(&self) -> Vec<(String, String)> {
        let mut m: BTreeMap<String, String> = BTreeMap::new();
        m.insert("PATH".into(), DEFAULT_PATH.into());
        let home = match self.user.as_deref() {
            None | Some("root") | Some("0") => "/root".to_string(),
            Some(_) => "/".to_string(),
        };
        m.insert("HOME".into(), home);
        for (k, v) in self.args.iter().chain(self.env.iter()) {
            m.insert(k.clone(), v.clone());
        }
        m.into_iter().collect()
    }

    fn exec(&self, argv: Vec<String>) -> Exec {
        Exec {
            argv,
            env: self.environment(),
            workdir: self.workdir.clone(),
            user: self.user.clone(),
        }
    }

    fn push(
        &mut self,
        st: &Stage,
        instr: &Instr,
        kind: StepKind,
        action: Action,
        note: Option<String>,
    ) {
        let text = self.doc.text.get(instr.start..instr.end).unwrap_or("");
        self.steps.push(Step {
            line: line_of(&self.doc.text, instr.start),
            stage: st.label(),
            instruction: one_line(text),
            kind,
            action,
            note,
        });
    }

    fn instruction(&mut self, st: &Stage, instr: &Instr) {
        let line = line_of(&self.doc.text, instr.start);
        match &instr.kind {
            Kind::From { .. } => {}
            Kind::Arg { name, value } => {
                let v = match value {
                    Some(v) => Some(self.expand(&unquote(&v.text))),
                    None => self.globals.get(name).cloned(),
                };
                if let Some(v) = build_arg(self.opts, name).or(v) {
                    self.args.insert(name.clone(), v);
                }
            }
            Kind::Env(pairs) => {
                // Every value sees the environment from before the instruction.
                let values: Vec<(String, String)> = pairs
                    .iter()
                    .map(|(k, v)| (k.clone(), self.expand(v)))
                    .collect();
                self.env.extend(values);
            }
            Kind::Shell(words) => {
                self.shell = words.iter().map(|w| w.text.clone()).collect();
            }
            Kind::Run(body) => self.run(st, instr, body),
            Kind::Copy {
                from,
                sources,
                dest,
            } => {
                let dest_x = self.expand(dest);
                let from_image = from.as_ref().and_then(|f| {
                    let s = self.doc.stage_by_name(f)?;
                    self.doc.from_image(s).map(|i| i.text.clone())
                });
                let copied = Copied {
                    dir: dest_x.ends_with('/') || sources.len() > 1 || dest_x == "/",
                    dest: resolve(&self.workdir, &dest_x),
                    sources: sources.clone(),
                    from: from.clone(),
                    line,
                    from_image,
                };
                let reason = match from {
                    Some(f) if self.doc.stage_by_name(f).is_some() => {
                        format!("copies from stage `{f}`, which this run does not build")
                    }
                    Some(f) => format!("copies from image `{f}`, which is not pulled"),
                    None => {
                        "copies files of the build context, which the root filesystem does not have"
                            .into()
                    }
                };
                self.copies.push(copied);
                self.push(st, instr, StepKind::Other, Action::Skip(reason), None);
            }
            Kind::Healthcheck(body) => {
                self.healthcheck = body.as_ref().and_then(first_program).map(|p| (p, line));
            }
            Kind::Entrypoint(body) => {
                self.entry = first_program(body).map(|p| (p, line, true));
            }
            Kind::Cmd(body) => {
                if !self.entry.as_ref().is_some_and(|e| e.2) {
                    self.entry = first_program(body).map(|p| (p, line, false));
                }
            }
            Kind::Other { name, args } => match name.as_str() {
                "WORKDIR" => {
                    let path = self.expand(&unquote(args));
                    self.workdir = resolve(&self.workdir, &path);
                    let mut exec =
                        self.exec(vec!["mkdir".into(), "-p".into(), self.workdir.clone()]);
                    // The builder creates WORKDIR itself, as root.
                    exec.user = None;
                    exec.workdir = "/".into();
                    self.push(st, instr, StepKind::Other, Action::Exec(exec), None);
                }
                "USER" => {
                    let u = self.expand(&unquote(args));
                    self.user = match u.as_str() {
                        "" | "root" | "0" | "0:0" | "root:root" => None,
                        _ => Some(u),
                    };
                }
                "ADD" => {
                    let words: Vec<String> = args
                        .split_whitespace()
                        .filter(|w| !w.starts_with("--"))
                        .map(|w| self.expand(w))
                        .collect();
                    let Some((dest, sources)) = words.split_last() else {
                        return;
                    };
                    let url = sources.iter().find(|s| s.contains("://"));
                    let reason = match url {
                        Some(u) => format!("downloads {u} from the internet"),
                        None => "adds files of the build context, which the root filesystem does not have".into(),
                    };
                    self.copies.push(Copied {
                        dir: dest.ends_with('/') || sources.len() > 1,
                        dest: resolve(&self.workdir, dest),
                        sources: sources.to_vec(),
                        from: None,
                        line,
                        from_image: None,
                    });
                    self.push(st, instr, StepKind::Other, Action::Skip(reason), None);
                }
                "LABEL" | "EXPOSE" | "VOLUME" | "STOPSIGNAL" | "MAINTAINER" => {}
                "ONBUILD" => self.push(
                    st,
                    instr,
                    StepKind::Other,
                    Action::Skip("ONBUILD runs in images built FROM this one, not here".into()),
                    None,
                ),
                other => self.push(
                    st,
                    instr,
                    StepKind::Other,
                    Action::Skip(format!(
                        "`{other}` is not a Dockerfile instruction verify knows"
                    )),
                    None,
                ),
            },
        }
    }

    /// Why a command cannot run in the sandbox, if it cannot.
    fn blocked(&self, c: &Command) -> Option<String> {
        let name = c.name.text();
        if name.contains('/') {
            let p = resolve(&self.workdir, name);
            if let Some(cp) = self.copies.iter().find(|cp| cp.provides_path(&p)) {
                return Some(format!(
                    "`{name}` comes from {}, which is skipped",
                    cp.describe()
                ));
            }
        } else if let Some(cp) = self.copies.iter().find(|cp| cp.provides_command(name)) {
            return Some(format!(
                "`{name}` comes from {}, which is skipped",
                cp.describe()
            ));
        }
        for a in &c.args {
            let Some(v) = a.value.as_deref() else {
                continue;
            };
            let looks_like_path = v.starts_with('/') || v.starts_with("./") || v.starts_with("../");
            if !looks_like_path {
                continue;
            }
            let p = resolve(&self.workdir, v);
            if let Some(cp) = self.copies.iter().find(|cp| cp.provides_path(&p)) {
                return Some(format!(
                    "`{}` uses {v}, which comes from {}, which is skipped",
                    excerpt(c),
                    cp.describe()
                ));
            }
        }
        let base = c.base_name();
        if let Some((_, subs)) = DOWNLOADERS.iter().find(|(n, _)| *n == base) {
            let fetches = if subs.is_empty() {
                c.args.iter().any(|a| a.raw.contains("://"))
            } else {
                c.args.first().is_some_and(|a| subs.contains(&a.text()))
            };
            if fetches {
                return Some(format!("`{}` downloads from the internet", excerpt(c)));
            }
        }
        if TOOLCHAINS.contains(&base) {
            return Some(format!(
                "`{}` needs the image's {base} toolchain, which a minbase root filesystem does not have",
                excerpt(c)
            ));
        }
        None
    }

    fn run(&mut self, st: &Stage, instr: &Instr, body: &Body) {
        let text = match body {
            Body::Exec(elems) => {
                let argv: Vec<String> = elems.iter().map(|e| e.text.clone()).collect();
                let Some(first) = argv.first() else {
                    let reason = "empty exec form".to_string();
                    return self.push(st, instr, StepKind::Other, Action::Skip(reason), None);
                };
                // An exec form is one command: classify it like one.
                let parsed = shell::parse(&crate::rewrite::shell_quote(first)).ok();
                let cmds: Vec<Command> = parsed.map(|s| s.commands()).unwrap_or_default();
                let kind = kind_of(&cmds);
                if self.mode == Mode::PackagesAndUsers && kind == StepKind::Other {
                    let reason = self.mode_reason.clone();
                    return self.push(st, instr, kind, Action::Skip(reason), None);
                }
                let exec = self.exec(argv);
                return self.push(st, instr, kind, Action::Exec(exec), None);
            }
            Body::Shell(m) => m.text.clone(),
            Body::Heredoc(Some(m)) => m.text.clone(),
            Body::Heredoc(None) => {
                let reason = "this heredoc form (`RUN cmd <<EOF`) is not interpreted".to_string();
                return self.push(st, instr, StepKind::Other, Action::Skip(reason), None);
            }
        };
        let Ok(script) = shell::parse(&text) else {
            let reason = "tree-sitter could not read this RUN".to_string();
            return self.push(st, instr, StepKind::Other, Action::Skip(reason), None);
        };
        let cmds: Vec<Command> = script.commands().iter().map(Command::unwrapped).collect();
        self.record(&cmds, line_of(&self.doc.text, instr.start));
        let kind = kind_of(&cmds);
        let blocked: Vec<(usize, String)> = cmds
            .iter()
            .enumerate()
            .filter_map(|(i, c)| self.blocked(c).map(|r| (i, r)))
            .collect();
        let all_pkg_user = cmds.iter().all(|c| is_package(c) || is_user(c));
        let whole = match self.mode {
            Mode::Full => blocked.is_empty(),
            _ => blocked.is_empty() && all_pkg_user && !cmds.is_empty(),
        };
        if whole {
            let mut argv = self.shell.clone();
            argv.push(text);
            let exec = self.exec(argv);
            return self.push(st, instr, kind, Action::Exec(exec), None);
        }
        let first_reason = blocked
            .first()
            .map(|(_, r)| r.clone())
            .unwrap_or_else(|| self.mode_reason.clone());
        if !script.error_ranges().is_empty() {
            let reason = format!(
                "{first_reason}; tree-sitter cannot read all of it, so it is not run in part"
            );
            return self.push(st, instr, kind, Action::Skip(reason), None);
        }
        let keep: Vec<&Command> = cmds
            .iter()
            .enumerate()
            .filter(|(i, c)| {
                c.top_level
                    && !c.in_substitution
                    && (is_package(c) || is_user(c))
                    && !blocked.iter().any(|(b, _)| b == i)
            })
            .map(|(_, c)| c)
            .collect();
        if keep.is_empty() {
            return self.push(st, instr, kind, Action::Skip(first_reason), None);
        }
        let src = &script.src;
        let subset: Vec<&str> = keep
            .iter()
            .filter_map(|c| src.get(c.stmt_start..c.stmt_end))
            .collect();
        let left: Vec<String> = cmds
            .iter()
            .enumerate()
            .filter(|(_, c)| !keep.iter().any(|k| k.start == c.start))
            .map(|(i, c)| {
                let why = blocked
                    .iter()
                    .find(|(b, _)| *b == i)
                    .map(|(_, r)| r.clone())
                    .unwrap_or_else(|| match self.mode {
                        Mode::PackagesAndUsers => {
                            "only package-manager and user commands run in this stage".into()
                        }
                        _ => "it sits in the same RUN as a command that cannot run".into(),
                    });
                format!("`{}` ({why})", excerpt(c))
            })
            .collect();
        let shown = left.iter().take(3).cloned().collect::<Vec<_>>().join("; ");
        let more = match left.len() {
            0..=3 => String::new(),
            n => format!("; and {} more", n - 3),
        };
        let note = format!("in part, left out: {shown}{more}");
        let mut argv = self.shell.clone();
        argv.push(subset.join(" && "));
        let exec = self.exec(argv);
        self.push(st, instr, kind, Action::Exec(exec), Some(note));
    }

    /// Remember the users, groups, setcap and privilege drops a RUN mentions.
    fn record(&mut self, cmds: &[Command], line: usize) {
        for c in cmds {
            match c.base_name() {
                "useradd" | "adduser" => {
                    if let Some(u) = parse_user(c) {
                        self.users.retain(|x| x.name != u.name);
                        self.users.push(u);
                    }
                }
                "groupadd" | "addgroup" => {
                    if let Some(g) = parse_group(c) {
                        self.groups.retain(|x| x.0 != g.0);
                        self.groups.push(g);
                    }
                }
                "setcap" => {
                    self.setcap.get_or_insert(line);
                }
                "gosu" | "su-exec" => {
                    if let Some(u) = c.args.first().and_then(|a| a.value.clone()) {
                        self.drops
                            .push((c.base_name().to_string(), user_part(&u), line));
                    }
                }
                _ => {}
            }
        }
    }

    /// The checks for this stage, from what the instructions and the
    /// entrypoint script say.
    fn checks(&self) -> Vec<Check> {
        let mut out = Vec::new();
        let root = |argv: Vec<String>| Exec {
            argv,
            env: self.environment(),
            workdir: "/".into(),
            user: None,
        };
        // Users: every created user, and the USER in effect.
        let mut users: Vec<UserSpec> = self.users.clone();
        if let Some(u) = &self.user {
            let name = user_part(u);
            if !users.iter().any(|x| x.name == name) && name.parse::<u32>().is_err() {
                users.push(UserSpec {
                    name,
                    uid: None,
                    group: None,
                });
            }
        }
        let gid_of = |g: &str| -> Option<u32> {
            g.parse().ok().or_else(|| {
                self.groups
                    .iter()
                    .find(|(n, _)| n == g)
                    .and_then(|(_, gid)| *gid)
            })
        };
        let expected = |name: &str| -> (Option<u32>, Option<u32>) {
            users
                .iter()
                .find(|u| u.name == name)
                .map(|u| (u.uid, u.group.as_deref().and_then(gid_of)))
                .unwrap_or((None, None))
        };
        for u in &users {
            let (uid, gid) = expected(&u.name);
            let mut want = Vec::new();
            if let Some(uid) = uid {
                want.push(format!("uid {uid}"));
            }
            if let Some(gid) = gid {
                want.push(format!("gid {gid}"));
            }
            let with = if want.is_empty() {
                String::new()
            } else {
                format!(" with {}", want.join(", "))
            };
            out.push(Check {
                kind: CheckKind::User,
                title: format!("user {} exists{with} (`id {}`)", u.name, u.name),
                probe: Probe::Run {
                    exec: root(vec!["id".into(), u.name.clone()]),
                    expect: Expect::Id {
                        user: u.name.clone(),
                        uid,
                        gid,
                    },
                },
            });
        }
        // The entrypoint script and the privilege drop it does.
        let mut drops = self.drops.clone();
        let mut commands: BTreeMap<String, String> = BTreeMap::new();
        if let Some((program, line, _)) = &self.entry {
            let copied = self.copies.iter().find(|c| {
                c.provides_path(program) || (!program.contains('/') && c.provides_command(program))
            });
            let script = copied.and_then(|c| {
                if c.from.is_some() {
                    return None;
                }
                let src = if c.dir {
                    let base = program.rsplit('/').next()?;
                    c.sources
                        .iter()
                        .find(|s| s.trim_end_matches('/').rsplit('/').next() == Some(base))
                        .or_else(|| c.sources.first())?
                        .clone()
                } else {
                    c.sources.first()?.clone()
                };
                (self.read)(&src).map(|t| (src, t))
            });
            match script {
                Some((src, text)) => {
                    self.script_commands(&src, &text, &mut commands, &mut drops);
                }
                None if copied.is_none() => {
                    commands.insert(
                        program.clone(),
                        format!("{} line {line}", self.entry_word()),
                    );
                }
                None => {}
            }
        }
        drops.sort();
        drops.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
        for (tool, user, _) in &drops {
            let (uid, gid) = expected(user);
            let argv: Vec<String> = match tool.as_str() {
                "setpriv" => vec![
                    "setpriv".into(),
                    format!("--reuid={user}"),
                    format!("--regid={user}"),
                    "--init-groups".into(),
                    "id".into(),
                ],
                _ => vec![tool.clone(), user.clone(), "id".into()],
            };
            out.push(Check {
                kind: CheckKind::PrivilegeDrop,
                title: format!("privilege drop works (`{}`)", argv.join(" ")),
                probe: Probe::Run {
                    exec: root(argv),
                    expect: Expect::Id {
                        user: user.clone(),
                        uid,
                        gid,
                    },
                },
            });
        }
        for (name, whence) in &commands {
            let title = format!("entrypoint command `{name}` resolves ({whence})");
            out.push(Check {
                kind: CheckKind::EntrypointCommand,
                title,
                probe: self.resolve_probe(name, &root),
            });
        }
        if let Some((program, line)) = &self.healthcheck {
            out.push(Check {
                kind: CheckKind::Healthcheck,
                title: format!("HEALTHCHECK program `{program}` exists (line {line})"),
                probe: self.resolve_probe(program, &root),
            });
        }
        if let Some(line) = self.setcap {
            out.push(Check {
                kind: CheckKind::Setcap,
                title: format!("`setcap` exists (used on line {line})"),
                probe: self.resolve_probe("setcap", &root),
            });
        }
        out
    }

    fn entry_word(&self) -> &'static str {
        match &self.entry {
            Some((_, _, true)) => "ENTRYPOINT",
            _ => "CMD",
        }
    }

    /// `command -v NAME` (or `test -x PATH`), unless a skipped COPY provides it.
    fn resolve_probe(&self, name: &str, root: &dyn Fn(Vec<String>) -> Exec) -> Probe {
        let from_copy = if name.contains('/') {
            self.copies.iter().find(|c| c.provides_path(name))
        } else {
            self.copies.iter().find(|c| c.provides_command(name))
        };
        if let Some(c) = from_copy {
            return Probe::Skip(format!("comes from {}, which is skipped", c.describe()));
        }
        let quoted = crate::rewrite::shell_quote(name);
        let script = if name.starts_with('/') {
            format!("test -x {quoted} && echo {quoted}")
        } else {
            format!("command -v {quoted}")
        };
        Probe::Run {
            exec: root(vec!["/bin/sh".into(), "-c".into(), script]),
            expect: Expect::Found(name.to_string()),
        }
    }

    /// The external commands of the entrypoint script and its interpreter.
    fn script_commands(
        &self,
        src: &str,
        text: &str,
        commands: &mut BTreeMap<String, String>,
        drops: &mut Vec<(String, String, usize)>,
    ) {
        let short = src.trim_start_matches("./");
        if let Some(first) = text.lines().next() {
            if let Some(interp) = first.strip_prefix("#!") {
                let mut words = interp.split_whitespace();
                if let Some(prog) = words.next() {
                    let prog = if prog.ends_with("/env") {
                        words.next().unwrap_or(prog)
                    } else {
                        prog
                    };
                    commands
                        .entry(prog.to_string())
                        .or_insert_with(|| format!("{short}:1, interpreter"));
                }
            }
        }
        let Ok(script) = shell::parse(text) else {
            return;
        };
        let functions: BTreeSet<String> = script.functions().into_iter().collect();
        for c in script.commands().iter().map(Command::unwrapped) {
            let line = line_of(text, c.name.start);
            let mut names = vec![c.name.clone()];
            if matches!(c.base_name(), "gosu" | "su-exec") {
                if let Some(u) = c.args.first().and_then(|a| a.value.clone()) {
                    drops.push((c.base_name().to_string(), user_part(&u), line));
                }
                names.extend(c.args.get(1).cloned());
            }
            if c.base_name() == "setpriv" {
                let user = c.args.iter().find_map(|a| {
                    a.value
                        .as_deref()?
                        .strip_prefix("--reuid=")
                        .map(str::to_string)
                });
                if let Some(u) = user {
                    drops.push(("setpriv".into(), u, line));
                }
            }
            for w in names {
                let Some(name) = w.value.as_deref() else {
                    continue;
                };
                if name.is_empty()
                    || name.contains('$')
                    || BUILTINS.contains(&name)
                    || functions.contains(name)
                    || (!name.starts_with('/') && name.contains('/'))
                {
                    continue;
                }
                commands
                    .entry(name.to_string())
                    .or_insert_with(|| format!("{short}:{line}"));
            }
        }
    }
}

/// The first program a RUN/CMD/ENTRYPOINT/HEALTHCHECK body starts.
fn first_program(body: &Body) -> Option<String> {
    match body {
        Body::Exec(elems) => elems.first().map(|e| e.text.clone()),
        Body::Shell(m) => {
            let s = shell::parse(&m.text).ok()?;
            let c = s.commands().into_iter().next()?.unwrapped();
            c.name.value.clone()
        }
        Body::Heredoc(_) => None,
    }
}

/// `user:group` → `user`.
fn user_part(u: &str) -> String {
    u.split(':').next().unwrap_or(u).to_string()
}

/// Options of `useradd`, busybox `adduser` and Debian `adduser` that take a
/// value, and which of them name the uid and the primary group.
fn parse_user(c: &Command) -> Option<UserSpec> {
    let busybox = c.base_name() == "adduser";
    let with_value: &[&str] = if busybox {
        &[
            "-u",
            "-G",
            "-h",
            "-s",
            "-g",
            "-k",
            "--uid",
            "--gid",
            "--ingroup",
            "--home",
            "--shell",
            "--gecos",
            "--comment",
            "--firstuid",
            "--lastuid",
        ]
    } else {
        &[
            "-u",
            "-g",
            "-G",
            "-d",
            "-s",
            "-c",
            "-k",
            "-K",
            "-p",
            "-e",
            "-f",
            "-R",
            "-b",
            "-Z",
            "--uid",
            "--gid",
            "--groups",
            "--home-dir",
            "--home",
            "--shell",
            "--comment",
            "--key",
            "--password",
            "--expiredate",
            "--inactive",
            "--root",
            "--base-dir",
            "--selinux-user",
        ]
    };
    let (opts, pos) = options(c, with_value)?;
    // `adduser USER GROUP` adds a user to a group: not a creation.
    if busybox && pos.len() > 1 {
        return None;
    }
    let name = pos.last()?.clone();
    let uid = opts
        .iter()
        .find(|(k, _)| k == "-u" || k == "--uid")
        .and_then(|(_, v)| v.parse().ok());
    let group = opts
        .iter()
        .find(|(k, _)| {
            if busybox {
                k == "-G" || k == "--ingroup" || k == "--gid"
            } else {
                k == "-g" || k == "--gid"
            }
        })
        .map(|(_, v)| v.clone());
    Some(UserSpec { name, uid, group })
}

fn parse_group(c: &Command) -> Option<(String, Option<u32>)> {
    let (opts, pos) = options(
        c,
        &[
            "-g",
            "--gid",
            "-K",
            "--key",
            "-p",
            "--password",
            "-R",
            "--root",
        ],
    )?;
    // `addgroup USER GROUP` adds a user to a group.
    if pos.len() != 1 {
        return None;
    }
    let gid = opts
        .iter()
        .find(|(k, _)| k == "-g" || k == "--gid")
        .and_then(|(_, v)| v.parse().ok());
    Some((pos[0].clone(), gid))
}

type Parsed = (Vec<(String, String)>, Vec<String>);

/// Split a command's static arguments into `(option, value)` pairs and
/// positionals. None when an argument expands at run time.
fn options(c: &Command, with_value: &[&str]) -> Option<Parsed> {
    let mut opts = Vec::new();
    let mut pos = Vec::new();
    let mut it = c.args.iter();
    while let Some(a) = it.next() {
        let v = a.value.as_deref()?;
        if let Some((k, val)) = v.split_once('=').filter(|(k, _)| k.starts_with("--")) {
            opts.push((k.to_string(), val.to_string()));
        } else if with_value.contains(&v) {
            let val = it.next().and_then(|w| w.value.clone())?;
            opts.push((v.to_string(), val));
        } else if v.len() > 2
            && v.starts_with('-')
            && !v.starts_with("--")
            && with_value.contains(&&v[..2])
        {
            // `-u1000`
            opts.push((v[..2].to_string(), v[2..].to_string()));
        } else if v.starts_with('-') {
            opts.push((v.to_string(), String::new()));
        } else {
            pos.push(v.to_string());
        }
    }
    Some((opts, pos))
}
