//! `verify`: run the migrated stages' commands in a real Debian root
//! filesystem (debootstrap + chroot, no Docker), then check what the spec
//! asks for that makes sense without the application: the non-root user,
//! the privilege drop, the entrypoint's commands, the HEALTHCHECK program
//! and `setcap`.
//!
//! [`interp`] turns a stage into steps and checks (pure, tested without
//! root); [`rootfs`] builds, copies and enters the root filesystem; this
//! module runs a plan in a [`rootfs::Sandbox`] and reports.

pub mod expand;
pub mod interp;
pub mod rootfs;

use std::time::Duration;

use serde::Serialize;

pub use interp::{Action, CheckKind, Expect, Mode, Options, Probe, StagePlan, StepKind};
use rootfs::{ExecOutcome, Sandbox};

use crate::error::Result;

/// Version of the JSON report's shape (docs/VERIFY.md).
pub const SCHEMA: u32 = 1;

/// How a step or check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    Skipped,
    /// `--dry-run`: would run.
    Planned,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    pub line: usize,
    pub stage: String,
    pub instruction: String,
    pub kind: StepKind,
    pub status: Status,
    /// Why it was skipped, or what was left out of a partial run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The command line that ran (shell text for shell-form RUN).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// The last lines of output when the step failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    pub duration_ms: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub kind: CheckKind,
    pub title: String,
    pub status: Status,
    /// What was found (the `id` line, the resolved path), or why it failed or
    /// was skipped.
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct StageReport {
    pub file: String,
    pub stage: String,
    pub image: String,
    pub suite: String,
    pub mode: Mode,
    pub notes: Vec<String>,
    pub steps: Vec<StepReport>,
    pub checks: Vec<CheckReport>,
}

impl StageReport {
    pub fn failed(&self) -> usize {
        self.steps
            .iter()
            .filter(|s| s.status == Status::Fail)
            .count()
            + self
                .checks
                .iter()
                .filter(|c| c.status == Status::Fail)
                .count()
    }
}

/// The whole run, as `--format json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema: u32,
    /// False for `--dry-run`: nothing ran, every step is listed as planned.
    pub executed: bool,
    pub stages: Vec<StageReport>,
    pub summary: Summary,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub planned: usize,
}

impl Report {
    pub fn new(stages: Vec<StageReport>, executed: bool) -> Report {
        let mut s = Summary::default();
        for st in &stages {
            let all = st
                .steps
                .iter()
                .map(|x| x.status)
                .chain(st.checks.iter().map(|c| c.status));
            for status in all {
                match status {
                    Status::Pass => s.passed += 1,
                    Status::Fail => s.failed += 1,
                    Status::Skipped => s.skipped += 1,
                    Status::Planned => s.planned += 1,
                }
            }
        }
        Report {
            schema: SCHEMA,
            executed,
            stages,
            summary: s,
        }
    }
}

/// Lines of output kept in a report for a failure.
const TAIL_LINES: usize = 20;

/// The output worth showing for a failure: all of it when short, else the
/// first lines (where usage errors are) and the last (where apt's are).
fn tail(output: &str) -> String {
    let lines: Vec<&str> = output.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.len() <= TAIL_LINES {
        return lines.join("\n");
    }
    let head = 5;
    let rest = TAIL_LINES - head - 1;
    let mut out: Vec<String> = lines[..head].iter().map(|l| l.to_string()).collect();
    out.push(format!("… {} lines …", lines.len() - head - rest));
    out.extend(lines[lines.len() - rest..].iter().map(|l| l.to_string()));
    out.join("\n")
}

fn command_text(argv: &[String]) -> String {
    // Shell form: the text after `-c`; exec form: the words.
    match argv.iter().position(|a| a == "-c") {
        Some(i) if i + 2 == argv.len() => argv[i + 1].clone(),
        _ => argv.join(" "),
    }
}

/// A plan as a report without running anything (`--dry-run`).
pub fn dry_run(plan: &StagePlan) -> StageReport {
    let steps = plan
        .steps
        .iter()
        .map(|s| {
            let (status, reason, command) = match &s.action {
                Action::Exec(e) => (Status::Planned, s.note.clone(), Some(command_text(&e.argv))),
                Action::Skip(r) => (Status::Skipped, Some(r.clone()), None),
            };
            StepReport {
                line: s.line,
                stage: s.stage.clone(),
                instruction: s.instruction.clone(),
                kind: s.kind,
                status,
                reason,
                command,
                exit_code: None,
                output: None,
                duration_ms: 0,
            }
        })
        .collect();
    let checks = plan
        .checks
        .iter()
        .map(|c| {
            let (status, detail) = match &c.probe {
                Probe::Run { exec, .. } => (
                    Status::Planned,
                    format!("would run `{}`", command_text(&exec.argv)),
                ),
                Probe::Skip(r) => (Status::Skipped, r.clone()),
            };
            CheckReport {
                kind: c.kind,
                title: c.title.clone(),
                status,
                detail,
            }
        })
        .collect();
    header(plan, steps, checks)
}

fn header(plan: &StagePlan, steps: Vec<StepReport>, checks: Vec<CheckReport>) -> StageReport {
    StageReport {
        file: plan.file.clone(),
        stage: plan.stage.clone(),
        image: plan.image.clone(),
        suite: plan.suite.clone(),
        mode: plan.mode,
        notes: plan.notes.clone(),
        steps,
        checks,
    }
}

/// Events while a plan runs, for live progress.
pub enum Event<'a> {
    Step(&'a StepReport),
    Check(&'a CheckReport),
}

/// Run a plan's steps in order (a failing step does not stop the others:
/// the report shows everything that breaks), then its checks.
pub fn run(
    plan: &StagePlan,
    sb: &mut dyn Sandbox,
    on: &mut dyn FnMut(Event),
) -> Result<StageReport> {
    let mut steps = Vec::new();
    for s in &plan.steps {
        let r = match &s.action {
            Action::Skip(reason) => StepReport {
                line: s.line,
                stage: s.stage.clone(),
                instruction: s.instruction.clone(),
                kind: s.kind,
                status: Status::Skipped,
                reason: Some(reason.clone()),
                command: None,
                exit_code: None,
                output: None,
                duration_ms: 0,
            },
            Action::Exec(e) => {
                let out = sb.exec(e)?;
                let ok = out.code == Some(0);
                StepReport {
                    line: s.line,
                    stage: s.stage.clone(),
                    instruction: s.instruction.clone(),
                    kind: s.kind,
                    status: if ok { Status::Pass } else { Status::Fail },
                    reason: s.note.clone(),
                    command: Some(command_text(&e.argv)),
                    exit_code: out.code,
                    output: (!ok).then(|| tail(&out.output)),
                    duration_ms: out.duration.as_millis() as u64,
                }
            }
        };
        on(Event::Step(&r));
        steps.push(r);
    }
    let mut checks = Vec::new();
    for c in &plan.checks {
        let (status, detail) = match &c.probe {
            Probe::Skip(r) => (Status::Skipped, r.clone()),
            Probe::Run { exec, expect } => {
                let out = sb.exec(exec)?;
                judge(&exec.argv, expect, &out)
            }
        };
        let r = CheckReport {
            kind: c.kind,
            title: c.title.clone(),
            status,
            detail,
        };
        on(Event::Check(&r));
        checks.push(r);
    }
    Ok(header(plan, steps, checks))
}

/// Did a check's command do what it must?
pub fn judge(argv: &[String], expect: &Expect, out: &ExecOutcome) -> (Status, String) {
    let text = out.output.trim();
    let shown = command_text(argv);
    if let (Expect::Found(name), Some(_)) = (expect, out.code.filter(|c| *c != 0)) {
        return (
            Status::Fail,
            format!("`{name}` is not installed (not found on PATH)"),
        );
    }
    if out.code != Some(0) {
        let why = if text.is_empty() {
            format!(
                "`{shown}` exited {}",
                out.code
                    .map(|c| c.to_string())
                    .unwrap_or_else(|| "on a signal".into())
            )
        } else {
            format!("`{shown}`: {}", tail(text).replace('\n', " | "))
        };
        return (Status::Fail, why);
    }
    match expect {
        Expect::Success => (Status::Pass, text.lines().last().unwrap_or("").to_string()),
        Expect::Found(name) => match text.lines().last() {
            Some(path) if !path.trim().is_empty() => (Status::Pass, path.to_string()),
            _ => (
                Status::Fail,
                format!("`{name}` is not installed (not found on PATH)"),
            ),
        },
        Expect::Id { user, uid, gid } => {
            let Some(id) = parse_id(text) else {
                return (Status::Fail, format!("`{shown}` printed no uid=…: {text}"));
            };
            let mut wrong = Vec::new();
            if id.user.as_deref() != Some(user.as_str()) {
                wrong.push(format!("user {}", id.user.as_deref().unwrap_or("?")));
            }
            if let Some(want) = uid {
                if id.uid != *want {
                    wrong.push(format!("uid {} (expected {want})", id.uid));
                }
            }
            if let Some(want) = gid {
                if id.gid != *want {
                    wrong.push(format!("gid {} (expected {want})", id.gid));
                }
            }
            let line = text.lines().last().unwrap_or("").to_string();
            if wrong.is_empty() {
                (Status::Pass, line)
            } else {
                (Status::Fail, format!("{line}: wrong {}", wrong.join(", ")))
            }
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
struct Id {
    uid: u32,
    user: Option<String>,
    gid: u32,
}

/// Parse the `uid=1000(charon) gid=1000(charon) …` line `id` prints.
fn parse_id(text: &str) -> Option<Id> {
    let line = text.lines().rev().find(|l| l.contains("uid="))?;
    let field = |key: &str| -> Option<(u32, Option<String>)> {
        let rest = line.split_whitespace().find_map(|w| w.strip_prefix(key))?;
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let name = rest
            .split_once('(')
            .and_then(|(_, r)| r.split_once(')'))
            .map(|(n, _)| n.to_string());
        Some((digits.parse().ok()?, name))
    };
    let (uid, user) = field("uid=")?;
    let (gid, _) = field("gid=")?;
    Some(Id { uid, user, gid })
}

fn glyph(s: Status) -> &'static str {
    match s {
        Status::Pass => "✓",
        Status::Fail => "✗",
        Status::Skipped => "–",
        Status::Planned => "·",
    }
}

fn kind_label(k: StepKind) -> &'static str {
    match k {
        StepKind::PackageInstall => "package-install",
        StepKind::User => "user",
        StepKind::Other => "other",
    }
}

/// One step as a report line (with its reason and failing output below).
pub fn step_text(s: &StepReport) -> String {
    let mut out = format!(
        "  {} L{:<4} {:<15} {}",
        glyph(s.status),
        s.line,
        kind_label(s.kind),
        s.instruction
    );
    if s.duration_ms >= 1000 {
        out.push_str(&format!("  ({:.1} s)", s.duration_ms as f64 / 1000.0));
    }
    if let Some(r) = &s.reason {
        let label = if s.status == Status::Skipped {
            "skipped"
        } else {
            "note"
        };
        out.push_str(&format!("\n        {label}: {r}"));
    }
    if let Some(o) = &s.output {
        out.push_str(&format!(
            "\n        exit {}:",
            s.exit_code
                .map(|c| c.to_string())
                .unwrap_or_else(|| "signal".into())
        ));
        for l in o.lines() {
            out.push_str(&format!("\n        | {l}"));
        }
    }
    out
}

pub fn check_text(c: &CheckReport) -> String {
    format!("  {} {}\n        {}", glyph(c.status), c.title, c.detail)
}

/// The header of a stage in the text report.
pub fn stage_heading(s: &StageReport) -> String {
    let mode = match s.mode {
        Mode::Full => "every instruction the sandbox can have",
        Mode::PackagesAndUsers => "package-manager and user commands only",
        Mode::Skipped => "not run",
    };
    let mut out = format!(
        "{} › stage {} ({} → Debian {}; {mode})",
        s.file, s.stage, s.image, s.suite
    );
    for n in &s.notes {
        out.push_str(&format!("\n  note: {n}"));
    }
    out
}

/// The whole text report (what `verify` prints when not streaming).
pub fn text(r: &Report) -> String {
    let mut out = String::new();
    for s in &r.stages {
        out.push_str(&stage_heading(s));
        out.push('\n');
        for st in &s.steps {
            out.push_str(&step_text(st));
            out.push('\n');
        }
        if !s.checks.is_empty() {
            out.push_str("  checks:\n");
            for c in &s.checks {
                out.push_str(&check_text(c));
                out.push('\n');
            }
        }
        out.push('\n');
    }
    out.push_str(&summary_text(r));
    out
}

pub fn summary_text(r: &Report) -> String {
    if !r.executed {
        return format!(
            "{} would run, {} skipped (dry run: nothing ran)\n",
            r.summary.planned, r.summary.skipped
        );
    }
    format!(
        "{} passed, {} failed, {} skipped\n",
        r.summary.passed, r.summary.failed, r.summary.skipped
    )
}

/// Total time of a report's steps (for the closing line).
pub fn duration(r: &Report) -> Duration {
    Duration::from_millis(
        r.stages
            .iter()
            .flat_map(|s| s.steps.iter())
            .map(|s| s.duration_ms)
            .sum(),
    )
}

#[cfg(test)]
mod tests;
