//! The `charon-tui` binary: argument handling and glue. All behaviour lives
//! in the library; this file parses flags, calls it, prints, and maps errors
//! to exit codes (0 ok, 1 findings, 2 usage/input error, 3 refused for safety).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

mod tui;

use charon::error::{Error, EXIT_INPUT};
use charon::recipe::Recipe;
use charon::session::Session;

#[derive(Parser)]
#[command(
    name = "charon-tui",
    version,
    about = "Walk a project's Docker images from Alpine to Debian slim, phase by phase",
    long_about = "charon-tui walks the Alpine → Debian slim migration checklist phase by phase. \
Without a subcommand it opens the interactive TUI; `plan`, `apply`, `status` and `check` do the same work headless."
)]
struct Cli {
    /// Repository to migrate.
    #[arg(long, global = true, default_value = ".", value_name = "DIR")]
    repo: PathBuf,
    /// Recipe file to use instead of the embedded one.
    #[arg(long, global = true, value_name = "FILE")]
    recipe: Option<PathBuf>,
    /// Debian suite for every stage (overrides the recipe's setting).
    #[arg(long, global = true, value_name = "SUITE")]
    suite: Option<String>,
    /// State file (default: .git/charon-tui/state.json).
    #[arg(long, global = true, value_name = "FILE")]
    state: Option<PathBuf>,
    /// Pair partner for Co-authored-by trailers ("Name <email>").
    #[arg(long, global = true, value_name = "NAME <EMAIL>")]
    pair: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Write the embedded demo repository (a fresh git repo) and open the TUI on it.
    Demo {
        /// Where to write it (default: a new temporary directory).
        dir: Option<PathBuf>,
        /// Only write the repository.
        #[arg(long)]
        no_tui: bool,
    },
    /// Show the pending hunks, grouped by phase and item.
    Plan {
        /// Only this phase.
        #[arg(long, value_name = "ID")]
        phase: Option<String>,
        #[arg(long, value_enum, default_value_t = PlanFormat::Diff)]
        format: PlanFormat,
    },
    /// Accept every pending hunk of the given phases and apply it.
    Apply(ApplyArgs),
    /// Phases, items, status and counts.
    Status {
        #[arg(long, value_enum, default_value_t = TextJson::Text)]
        format: TextJson,
    },
    /// Scan the repository for Alpine-isms left anywhere.
    Check {
        #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
        format: CheckFormat,
    },
    /// Run a command item of the checklist and record its outcome.
    Run {
        /// Item id (see `status`).
        item: String,
        /// End the command (and everything it started) after this many seconds.
        #[arg(long, value_name = "SECS")]
        timeout: Option<u64>,
        /// Run commands from a --recipe that lives inside the repository (they are arbitrary code).
        #[arg(long)]
        trust_recipe: bool,
    },
    /// Run the migrated stages in a Debian root filesystem (debootstrap + chroot).
    Verify(VerifyArgs),
    /// Revert a phase's commit, or reset the branch to the base tag.
    Rollback {
        /// Revert this phase's commit with a new commit; its items become pending.
        #[arg(
            long,
            value_name = "ID",
            conflicts_with = "all",
            required_unless_present = "all"
        )]
        phase: Option<String>,
        /// Reset the migration branch to the base tag (drops every phase commit).
        #[arg(long)]
        all: bool,
        /// Confirm --all.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Args)]
struct ApplyArgs {
    /// Phase to apply.
    #[arg(
        long,
        value_name = "ID",
        conflicts_with = "all",
        required_unless_present = "all"
    )]
    phase: Option<String>,
    /// Apply every phase.
    #[arg(long)]
    all: bool,
    /// Confirm: accept every pending hunk without review.
    #[arg(long)]
    yes: bool,
    /// Write files but do not commit.
    #[arg(long)]
    no_commit: bool,
}

#[derive(Args)]
struct VerifyArgs {
    /// Only this stage (by its `AS` name). Default: each Dockerfile's final stage.
    #[arg(long, value_name = "NAME", conflicts_with = "all_stages")]
    stage: Option<String>,
    /// Every stage of every Dockerfile.
    #[arg(long)]
    all_stages: bool,
    /// Only this Dockerfile (relative to the repository).
    #[arg(long, value_name = "PATH")]
    file: Option<String>,
    /// Debian mirror for debootstrap (default: the host's apt sources).
    #[arg(long, value_name = "URL")]
    mirror: Option<String>,
    /// A build argument, as `docker build --build-arg` (repeatable).
    #[arg(long = "build-arg", value_name = "NAME=VALUE")]
    build_args: Vec<String>,
    #[arg(long, value_enum, default_value_t = TextJson::Text)]
    format: TextJson,
    /// Keep each stage's scratch root filesystem and print where it is.
    #[arg(long)]
    keep: bool,
    /// Print what would run (steps, skips with reasons, checks); needs neither root nor debootstrap.
    #[arg(long)]
    dry_run: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum PlanFormat {
    Diff,
    Json,
    Markdown,
}

#[derive(Clone, Copy, ValueEnum)]
enum TextJson {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum CheckFormat {
    Text,
    Json,
    Sarif,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            let code = match e.downcast_ref::<Error>() {
                Some(err) => err.exit_code(),
                None => EXIT_INPUT,
            };
            eprintln!("charon-tui: {e:#}");
            ExitCode::from(code)
        }
    }
}

fn load_recipe(cli: &Cli) -> Result<Recipe, Error> {
    let mut r = match &cli.recipe {
        Some(p) => Recipe::load(p)?,
        None => Recipe::embedded()?,
    };
    if let Some(s) = &cli.suite {
        r.set_suite(s)?;
    }
    Ok(r)
}

fn out(s: &str) -> anyhow::Result<()> {
    let mut so = std::io::stdout().lock();
    // A closed pipe (`| head`) is not an error worth a message.
    match so.write_all(s.as_bytes()).and_then(|_| so.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => Ok(r?),
    }
}

/// Write `v` as pretty JSON and a newline to stdout, streaming (no
/// intermediate string or value tree: a 10,000-file plan stays small).
fn out_json<T: serde::Serialize>(v: &T) -> anyhow::Result<()> {
    let mut so = std::io::BufWriter::new(std::io::stdout().lock());
    let r = serde_json::to_writer_pretty(&mut so, v)
        .map_err(std::io::Error::from)
        .and_then(|_| so.write_all(b"\n"))
        .and_then(|_| so.flush());
    match r {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => Ok(r?),
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let recipe = load_recipe(&cli)?;
    let Some(command) = &cli.command else {
        let s = Session::open(&cli.repo, recipe, cli.state.clone())?;
        tui::run(s, cli.pair.clone())?;
        return Ok(ExitCode::SUCCESS);
    };
    match command {
        Command::Demo { dir, no_tui } => {
            let dir = match dir {
                Some(d) => d.clone(),
                None => tempfile::Builder::new()
                    .prefix("charon-demo-")
                    .tempdir()?
                    .keep(),
            };
            charon::demo::write(&dir)?;
            out(&format!("{}\n", dir.display()))?;
            if !no_tui {
                let s = Session::open(&dir, recipe, cli.state.clone())?;
                tui::run(s, cli.pair.clone())?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Plan { phase, format } => {
            let s = Session::open(&cli.repo, recipe, cli.state.clone())?;
            if let Some(p) = phase {
                if s.recipe.phase(p).is_none() {
                    return Err(Error::Usage(format!(
                        "unknown phase `{p}` (phases: {})",
                        s.recipe
                            .phases
                            .iter()
                            .map(|p| p.id.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                    .into());
                }
            }
            let (state, warn) = s.load_state()?;
            if let Some(w) = warn {
                eprintln!("warning: {w}");
            }
            let plan = s.plan()?;
            let changed = s.changed_since_decided(&plan, &state);
            let rejected = |id: &str| {
                matches!(
                    state.hunks.get(id).map(|r| r.decision),
                    Some(charon::state::Decision::Rejected)
                )
            };
            let select = |h: &charon::plan::Hunk| {
                phase.as_ref().is_none_or(|p| &h.phase == p) && plan.is_active(h, &rejected)
            };
            eprint!("{}", charon::report::plan_notes(&plan));
            match format {
                PlanFormat::Diff => out(&plan.unified_diff(select))?,
                PlanFormat::Markdown => out(&plan.markdown(&s.recipe, select))?,
                PlanFormat::Json => {
                    /// A hunk as `plan --format json` shows it.
                    #[derive(serde::Serialize)]
                    struct HunkJson<'a> {
                        #[serde(flatten)]
                        hunk: &'a charon::plan::Hunk,
                        diff: String,
                        changed_since_decision: bool,
                    }
                    #[derive(serde::Serialize)]
                    struct PlanJson<'a> {
                        recipe: charon::state::RecipeRef,
                        suite: &'a str,
                        hunks: Vec<HunkJson<'a>>,
                        notes: &'a [charon::plan::Note],
                        errors: &'a [String],
                    }
                    let hunks = plan
                        .hunks
                        .iter()
                        .filter(|h| select(h))
                        .map(|h| HunkJson {
                            hunk: h,
                            diff: charon::plan::hunk_diff_text(h),
                            changed_since_decision: changed.contains(&h.id),
                        })
                        .collect();
                    out_json(&PlanJson {
                        recipe: s.recipe_ref(),
                        suite: &s.recipe.settings.suite,
                        hunks,
                        notes: &plan.notes,
                        errors: &plan.errors,
                    })?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Apply(a) => {
            if !a.yes {
                return Err(Error::Usage(
                    "apply accepts every pending hunk without review: add --yes to confirm (or review them in the TUI)".into(),
                )
                .into());
            }
            let s = Session::open(&cli.repo, recipe, cli.state.clone())?;
            let phases: Vec<String> = match (&a.phase, a.all) {
                (Some(p), _) => vec![p.clone()],
                _ => s.recipe.phases.iter().map(|p| p.id.clone()).collect(),
            };
            let report = s.apply(&phases, !a.no_commit, cli.pair.as_deref())?;
            for n in &report.notes {
                eprintln!("note: {n}");
            }
            for p in &report.phases {
                let commit = p
                    .commit
                    .as_deref()
                    .map(|c| format!(", commit {}", &c[..8]))
                    .unwrap_or_default();
                out(&format!(
                    "{}: {} hunk(s) applied to {} file(s){}\n",
                    p.phase,
                    p.hunks,
                    p.files.len(),
                    commit
                ))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Status { format } => {
            let s = Session::open(&cli.repo, recipe, cli.state.clone())?;
            let st = s.status()?;
            match format {
                TextJson::Text => out(&charon::report::status_text(&st))?,
                TextJson::Json => out(&format!("{}\n", serde_json::to_string_pretty(&st)?))?,
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Rollback { phase, all, yes } => {
            let s = Session::open(&cli.repo, recipe, cli.state.clone())?;
            match (phase, all) {
                (Some(p), _) => {
                    let oid = s.rollback_phase(p)?;
                    out(&format!(
                        "{p}: reverted with commit {}; its items are pending again\n",
                        charon::git::short(oid)
                    ))?;
                }
                (None, true) => {
                    if !yes {
                        return Err(Error::Usage(
                            "rollback --all resets the migration branch to its base and drops every phase commit: add --yes to confirm".into(),
                        )
                        .into());
                    }
                    let oid = s.rollback_all()?;
                    out(&format!(
                        "{} reset to {}; the migration starts over\n",
                        s.recipe.meta.branch,
                        charon::git::short(oid)
                    ))?;
                }
                (None, false) => {
                    return Err(Error::Usage("rollback needs --phase ID or --all".into()).into())
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Check { format } => {
            let s = Session::open(&cli.repo, recipe, cli.state.clone())?;
            let report = charon::check::run(&s)?;
            match format {
                CheckFormat::Text => {
                    use std::io::IsTerminal;
                    let color = std::io::stdout().is_terminal()
                        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
                    out(&charon::check::text(&report, color))?
                }
                CheckFormat::Json => out_json(&charon::check::json(&report))?,
                CheckFormat::Sarif => out_json(&charon::check::sarif(&report))?,
            }
            Ok(if report.findings.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Run {
            item,
            timeout,
            trust_recipe,
        } => {
            let s = Session::open(&cli.repo, recipe, cli.state.clone())?;
            if let Some(r) = &cli.recipe {
                let inside = r
                    .canonicalize()
                    .ok()
                    .is_some_and(|r| r.starts_with(&s.root));
                if inside && !trust_recipe {
                    return Err(Error::Refused(format!(
                        "{} lives inside the repository and its commands are arbitrary code: pass --trust-recipe to run them",
                        r.display()
                    ))
                    .into());
                }
            }
            let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
                signal_hook::flag::register(sig, std::sync::Arc::clone(&stop))?;
            }
            let mut echo = |l: &str| println!("{l}");
            let outcome = s.run_item(
                item,
                timeout.map(std::time::Duration::from_secs),
                &stop,
                &mut echo,
            )?;
            use charon::command::Outcome;
            match outcome {
                Outcome::Blocked { reason } => {
                    eprintln!("{item}: blocked: {reason}");
                    Ok(ExitCode::SUCCESS)
                }
                Outcome::Finished {
                    code,
                    duration,
                    log,
                } => {
                    eprintln!(
                        "{item}: exit {} in {:.1} s; log {}",
                        code.map(|c| c.to_string())
                            .unwrap_or_else(|| "signal".into()),
                        duration.as_secs_f64(),
                        log.display()
                    );
                    Ok(if code == Some(0) {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::from(1)
                    })
                }
                Outcome::Stopped { reason, log, .. } => {
                    eprintln!(
                        "{item}: {reason}; the whole process group was ended; log {}",
                        log.display()
                    );
                    Ok(ExitCode::from(1))
                }
            }
        }
        Command::Verify(a) => verify(&cli, recipe, a),
    }
}

fn verify(cli: &Cli, recipe: Recipe, a: &VerifyArgs) -> anyhow::Result<ExitCode> {
    use charon::verify::{self, rootfs, Event, Mode, Report};
    // Refuse before reading anything: a run that cannot happen says why first.
    if !a.dry_run {
        if let Err(why) = rootfs::available() {
            eprintln!("charon-tui verify: {why}");
            return Ok(ExitCode::from(EXIT_INPUT));
        }
    }
    let s = Session::open(&cli.repo, recipe, cli.state.clone())?;
    let mut opts = verify::Options::new(&s.recipe.settings.suite);
    for b in &a.build_args {
        let (k, v) = b
            .split_once('=')
            .ok_or_else(|| Error::Usage(format!("--build-arg `{b}`: expected NAME=VALUE")))?;
        opts.build_args.push((k.to_string(), v.to_string()));
    }
    let (plans, warnings) =
        s.verify_plans(a.file.as_deref(), a.stage.as_deref(), a.all_stages, &opts)?;
    for w in &warnings {
        eprintln!("charon-tui verify: {w}");
    }
    let json = matches!(a.format, TextJson::Json);
    if a.dry_run {
        let report = Report::new(plans.iter().map(verify::dry_run).collect(), false);
        if json {
            out(&format!("{}\n", serde_json::to_string_pretty(&report)?))?;
        } else {
            out(&verify::text(&report))?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, std::sync::Arc::clone(&stop))?;
    }
    let cache = rootfs::cache_dir()?;
    let mut stages = Vec::new();
    for plan in &plans {
        if plan.mode == Mode::Skipped {
            let r = verify::dry_run(plan);
            if !json {
                out(&format!("{}\n\n", verify::stage_heading(&r)))?;
            }
            stages.push(r);
            continue;
        }
        let mut progress = |m: &str| eprintln!("charon-tui verify: {m}");
        let base = rootfs::ensure(
            &cache,
            &plan.suite,
            a.mirror.as_deref(),
            &stop,
            &mut progress,
        )?;
        let scratch = rootfs::Scratch::create(&cache, &base, &plan.stage, a.keep)?;
        let mut sb = rootfs::Chroot {
            root: scratch.root.clone(),
            stop: std::sync::Arc::clone(&stop),
        };
        if !json {
            let heading = verify::StageReport {
                steps: Vec::new(),
                checks: Vec::new(),
                ..verify::dry_run(plan)
            };
            out(&format!("{}\n", verify::stage_heading(&heading)))?;
        }
        let mut checks_started = false;
        let mut on = |e: Event| {
            if json {
                return;
            }
            let line = match e {
                Event::Step(st) => verify::step_text(st),
                Event::Check(c) => {
                    let head = if checks_started { "" } else { "  checks:\n" };
                    checks_started = true;
                    format!("{head}{}", verify::check_text(c))
                }
            };
            let _ = out(&format!("{line}\n"));
        };
        let report = verify::run(plan, &mut sb, &mut on)?;
        if a.keep {
            eprintln!(
                "charon-tui verify: root filesystem of stage {} kept in {}",
                plan.stage,
                scratch.root.display()
            );
        }
        drop(scratch);
        if !json {
            out("\n")?;
        }
        stages.push(report);
    }
    let report = Report::new(stages, true);
    if json {
        out(&format!("{}\n", serde_json::to_string_pretty(&report)?))?;
    } else {
        out(&verify::summary_text(&report))?;
    }
    Ok(if report.summary.failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
