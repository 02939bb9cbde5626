//! The headless driver: open a repository, discover the files the recipe
//! covers, run the rules, build the plan, report status, and apply accepted
//! hunks (writing files atomically, recording every decision, committing each
//! phase). The CLI and the TUI are thin layers over this.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use git2::Repository;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::plan::{FileInput, Plan};
use crate::recipe::{ItemKind, Recipe};
use crate::rewrite;
use crate::state::{self, Decision, ItemStatus, Loaded, RecipeRef, State};

/// Files larger than this are skipped (and reported).
pub const MAX_FILE: u64 = 8 * 1024 * 1024;

pub struct Session {
    pub root: PathBuf,
    pub repo: Repository,
    pub recipe: Recipe,
    pub state_path: PathBuf,
}

/// The files the recipe's rules look at.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Discovery {
    pub dockerfiles: Vec<String>,
    pub compose: Vec<String>,
    pub workflows: Vec<String>,
    pub markdown: Vec<String>,
    /// `path: reason` for candidates that were not read.
    pub skipped: Vec<String>,
    /// Every other file that may be a shell script (`*.sh`, or no
    /// extension): `check` reads them.
    pub other_scripts: Vec<String>,
    /// Regular files walked (links and directories not counted).
    pub files: usize,
}

/// Is this file name a Dockerfile?
pub fn is_dockerfile_name(name: &str) -> bool {
    let l = name.to_ascii_lowercase();
    l == "dockerfile"
        || l == "containerfile"
        || l.starts_with("dockerfile.")
        || l.ends_with(".dockerfile")
        || l.starts_with("containerfile.")
}

#[derive(Debug, Clone, Serialize)]
pub struct ItemView {
    pub id: String,
    pub title: String,
    pub kind: &'static str,
    pub status: &'static str,
    pub spec: String,
    pub added: bool,
    pub pending: usize,
    pub applied: usize,
    pub rejected: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PhaseView {
    pub id: String,
    pub title: String,
    pub done: usize,
    pub total: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    pub items: Vec<ItemView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StatusView {
    pub repo: String,
    pub branch: Option<String>,
    pub recipe: RecipeRef,
    pub suite: String,
    pub phases: Vec<PhaseView>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The content hash recorded for a file an interrupted run deleted or moved.
pub const DELETED: &str = "deleted";

/// Which hunks `apply_selected` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// Every pending hunk (the default alternative of each choice): `apply --yes`.
    AllPending,
    /// The hunks the operator accepted (the TUI's commit).
    Accepted,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct PhaseApplied {
    pub phase: String,
    pub hunks: usize,
    pub files: Vec<String>,
    pub commit: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ApplyReport {
    pub phases: Vec<PhaseApplied>,
    pub notes: Vec<String>,
}

impl Session {
    pub fn open(root: &Path, recipe: Recipe, state_path: Option<PathBuf>) -> Result<Session> {
        let repo = crate::git::open(root)?;
        let root = repo
            .workdir()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| root.to_path_buf());
        let state_path =
            state_path.unwrap_or_else(|| crate::git::tool_dir(&repo).join("state.json"));
        Ok(Session {
            root,
            repo,
            recipe,
            state_path,
        })
    }

    pub fn recipe_ref(&self) -> RecipeRef {
        RecipeRef {
            id: self.recipe.meta.id.clone(),
            version: self.recipe.meta.version.clone(),
            hash: self.recipe.hash.clone(),
        }
    }

    /// Load the state (fresh if missing). A moved-aside file yields a
    /// warning. A missing state on a branch that already has phase commits
    /// is rebuilt from their trailers, so a pair on another machine resumes
    /// from the branch alone.
    pub fn load_state(&self) -> Result<(State, Option<String>)> {
        let loaded = State::load(
            &self.state_path,
            self.recipe_ref(),
            &self.recipe.settings.suite,
        )?;
        let mut warn = match &loaded {
            Loaded::MovedAside {
                moved_to, reason, ..
            } => Some(format!(
                "{}: {reason}; moved aside to {} and starting a fresh state",
                self.state_path.display(),
                moved_to.display()
            )),
            _ => None,
        };
        let fresh = !matches!(loaded, Loaded::Existing(_));
        let mut state = loaded.into_state();
        if fresh {
            if let Some(n) = self.rebuild_from_trailers(&mut state)? {
                let msg = format!("state rebuilt from {n} phase commit(s) on the branch");
                warn = Some(match warn {
                    Some(w) => format!("{w}; {msg}"),
                    None => msg,
                });
            }
        }
        Ok((state, warn))
    }

    /// Fill a fresh state from the `Migration-Phase`/`Migration-Items`
    /// trailers of the branch's commits. Returns how many were used.
    fn rebuild_from_trailers(&self, state: &mut State) -> Result<Option<usize>> {
        if crate::git::current_branch(&self.repo).as_deref()
            != Some(self.recipe.meta.branch.as_str())
        {
            return Ok(None);
        }
        let commits = crate::git::phase_commits(&self.repo)?;
        let mut rolled_back: BTreeSet<String> = BTreeSet::new();
        let mut used = 0;
        // Newest first: a rollback hides the older commit of its phase.
        for c in &commits {
            if let Some(p) = &c.rollback {
                rolled_back.insert(p.clone());
                continue;
            }
            let Some(phase) = &c.phase else { continue };
            if rolled_back.contains(phase) || state.commits.contains_key(phase) {
                continue;
            }
            state.commits.insert(phase.clone(), c.oid.to_string());
            for it in &c.items {
                if self.recipe.item(it).is_some() {
                    state.set_item(
                        it,
                        ItemStatus::Done,
                        Some(format!("from commit {}", crate::git::short(c.oid))),
                    );
                }
            }
            used += 1;
        }
        if let Some(oldest) = commits.iter().rev().find(|c| c.phase.is_some()) {
            state.base_commit = oldest.parent.map(|p| p.to_string());
        }
        if used == 0 {
            return Ok(None);
        }
        state.save(&self.state_path)?;
        Ok(Some(used))
    }

    /// Walk the work tree (respecting .gitignore) for the files rules read.
    pub fn discover(&self) -> Discovery {
        // The parallel walker (the one ripgrep uses); each worker classifies
        // its entries and the lists are sorted afterwards, so the result does
        // not depend on the walk order.
        let root = self.root.as_path();
        let found = std::sync::Mutex::new(Discovery::default());
        ignore::WalkBuilder::new(root)
            .hidden(false)
            .git_ignore(true)
            .git_exclude(true)
            .parents(false)
            .follow_links(false)
            .filter_entry(|e| e.file_name() != ".git")
            .build_parallel()
            .run(|| {
                let found = &found;
                Box::new(move |entry| {
                    if let Ok(entry) = entry {
                        let seen = classify(root, &entry);
                        if let Ok(mut d) = found.lock() {
                            seen.add_to(&mut d);
                        }
                    }
                    ignore::WalkState::Continue
                })
            });
        let mut d = found.into_inner().unwrap_or_else(|e| e.into_inner());
        for list in [
            &mut d.dockerfiles,
            &mut d.compose,
            &mut d.workflows,
            &mut d.markdown,
            &mut d.other_scripts,
            &mut d.skipped,
        ] {
            list.sort();
        }
        d
    }

    /// Read a repository file as UTF-8 text, refusing links and huge files.
    pub fn read_text(&self, rel: &str) -> std::result::Result<String, String> {
        read_text_in(&self.root, rel)
    }

    /// Interpret the Dockerfiles' stages for `verify`: `file` limits the
    /// Dockerfiles (repository-relative), `stage` picks one stage by name,
    /// `all` every stage; by default each Dockerfile's final stage. A file
    /// named with `file` that cannot be read or parsed is an error; found
    /// by discovery, it is skipped and named in the returned warnings.
    pub fn verify_plans(
        &self,
        file: Option<&str>,
        stage: Option<&str>,
        all: bool,
        opts: &crate::verify::Options,
    ) -> Result<(Vec<crate::verify::StagePlan>, Vec<String>)> {
        // Dockerfiles discovery left out (links, huge files) are warnings,
        // unless one file was named.
        let (files, mut warnings): (Vec<String>, Vec<String>) = match file {
            Some(f) => (vec![f.trim_start_matches("./").to_string()], Vec::new()),
            None => {
                let d = self.discover();
                let left_out = d
                    .skipped
                    .into_iter()
                    .filter(|w| {
                        let path = w.split(':').next().unwrap_or("");
                        let name = path.rsplit('/').next().unwrap_or(path);
                        is_dockerfile_name(name)
                    })
                    .collect();
                (d.dockerfiles, left_out)
            }
        };
        if files.is_empty() {
            return Err(Error::Repo {
                path: self.root.clone(),
                reason: "no Dockerfile found: nothing to verify".into(),
            });
        }
        let mut plans = Vec::new();
        let mut names = Vec::new();
        for df in &files {
            // read_text's messages already start with the file's path.
            let parsed = self
                .read_text(df)
                .map_err(Error::Usage)
                .and_then(|text| crate::analyze::dockerfile::parse(Path::new(df), &text));
            let doc = match parsed {
                Ok(d) => d,
                Err(e) if file.is_none() => {
                    warnings.push(format!("{e} (not verified)"));
                    continue;
                }
                Err(e) => return Err(e),
            };
            let dir = Path::new(df)
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default();
            // A COPY source is relative to the build context: the Dockerfile's
            // directory first, then the repository root.
            let read = |src: &str| -> Option<String> {
                let src = src.trim_start_matches("./");
                [dir.join(src), PathBuf::from(src)]
                    .iter()
                    .filter_map(|p| normalize(p))
                    .find_map(|rel| self.read_text(&rel).ok())
            };
            for st in &doc.stages {
                names.push(format!("{df}:{}", st.label()));
                let wanted = match stage {
                    Some(n) => st
                        .name
                        .as_deref()
                        .is_some_and(|s| s.eq_ignore_ascii_case(n)),
                    None => all || st.is_final,
                };
                if wanted {
                    plans.push(crate::verify::interp::plan(df, &doc, st, opts, &read));
                }
            }
        }
        if plans.is_empty() {
            return Err(match stage {
                Some(s) => Error::Usage(format!(
                    "no stage named `{s}`; stages: {}",
                    names.join(", ")
                )),
                None => Error::Repo {
                    path: self.root.clone(),
                    reason: format!("no Dockerfile could be read: {}", warnings.join("; ")),
                },
            });
        }
        Ok((plans, warnings))
    }

    /// Run every rule over the repository and build the plan.
    pub fn plan(&self) -> Result<Plan> {
        self.plan_from(&self.discover())
    }

    /// [`Self::plan`] over files already discovered. Files are read and
    /// their rules run in parallel (rayon); everything that joins files
    /// (scripts a Dockerfile runs, Renovate's ARGs, the baseline, the
    /// CHANGELOG) is gathered afterwards in discovery order, so the plan does
    /// not depend on the thread count.
    pub fn plan_from(&self, disc: &Discovery) -> Result<Plan> {
        use rayon::prelude::*;
        let (state, _) = self.load_state()?;
        let mut inputs = Vec::new();
        let mut errors: Vec<String> = disc.skipped.clone();
        let mut scripts: BTreeSet<String> = BTreeSet::new();
        let mut image_args: Vec<rewrite::renovate::ArgLine> = Vec::new();
        let mut baseline: Vec<rewrite::docs::BaselineRow> = Vec::new();
        let base = state
            .base_commit
            .as_deref()
            .and_then(|b| git2::Oid::from_str(b).ok());
        let file =
            |path: &str,
             text: String,
             (proposals, findings): (Vec<rewrite::Proposal>, Vec<rewrite::Finding>)| {
                FileInput {
                    path: path.to_string(),
                    exists: true,
                    text,
                    proposals,
                    findings,
                }
            };

        // Dockerfiles, and what they tell about scripts, ARGs and the baseline.
        let (root, recipe) = (self.root.as_path(), &self.recipe);
        let rewritten: Vec<_> = disc
            .dockerfiles
            .par_iter()
            .map(|df| {
                let text = read_text_in(root, df)?;
                let dir = Path::new(df)
                    .parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_default();
                let read = |src: &str| -> Option<String> {
                    let rel = normalize(&dir.join(src.trim_start_matches("./")))?;
                    read_text_in(root, &rel).ok()
                };
                let out = rewrite::dockerfile::rewrite(df, &text, recipe, &read);
                Ok((text, out))
            })
            .collect();
        for (df, done) in disc.dockerfiles.iter().zip(rewritten) {
            let (text, out) = match done {
                Ok(t) => t,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            let dir = Path::new(df)
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default();
            // The baseline is the Dockerfile as it was before the first
            // migration commit (the base commit), or as it is now.
            let original = base.and_then(|b| crate::git::read_at(&self.repo, b, df));
            match (&original, &out) {
                (Some(o), _) if *o != text => {
                    baseline.extend(rewrite::dockerfile::baseline_rows(df, o))
                }
                (_, Ok(out)) => baseline.extend(out.baseline.iter().cloned()),
                (_, Err(_)) => {}
            }
            match out {
                Ok(out) => {
                    for s in out.entrypoints.iter().chain(&out.scripts) {
                        if let Some(rel) = normalize(&dir.join(s.trim_start_matches("./"))) {
                            scripts.insert(rel);
                        }
                    }
                    for (arg, image) in &out.image_args {
                        image_args.push(rewrite::renovate::ArgLine {
                            dockerfile: df.clone(),
                            arg: arg.clone(),
                            image: image.clone(),
                        });
                    }
                    inputs.push(file(df, text, (out.proposals, out.findings)));
                }
                Err(e) => errors.push(e.to_string()),
            }
        }
        // The spec's default entrypoint, when the Dockerfile does not name it.
        for default in self
            .recipe
            .items_of("entrypoint")
            .flat_map(|i| i.files.iter())
        {
            if default.ends_with(".sh") && self.root.join(default).is_file() {
                scripts.insert(default.clone());
            }
        }
        // Scripts, compose files and workflows: one file each, in parallel.
        #[derive(Clone, Copy)]
        enum Kind {
            Script,
            Compose,
            Workflow,
        }
        let jobs: Vec<(&str, Kind)> = scripts
            .iter()
            .map(|s| (s.as_str(), Kind::Script))
            .chain(disc.compose.iter().map(|c| (c.as_str(), Kind::Compose)))
            .chain(disc.workflows.iter().map(|w| (w.as_str(), Kind::Workflow)))
            .collect();
        let outs: Vec<_> = jobs
            .par_iter()
            .map(|&(path, kind)| {
                let text = read_text_in(root, path)?;
                let out = match kind {
                    Kind::Script => rewrite::script::rewrite(path, &text, recipe),
                    Kind::Compose => rewrite::compose::rewrite(path, &text),
                    Kind::Workflow => rewrite::workflow::rewrite(path, &text, recipe),
                };
                Ok((text, out))
            })
            .collect();
        for ((path, _), done) in jobs.iter().zip(outs) {
            match done {
                Ok((text, out)) => inputs.push(file(path, text, out)),
                Err(e) => errors.push(e),
            }
        }
        let mut each =
            |path: &str, rule: &dyn Fn(&str) -> rewrite::RuleOutput| match self.read_text(path) {
                Ok(text) => {
                    let out = rule(&text);
                    inputs.push(file(path, text, out));
                }
                Err(e) => errors.push(e),
            };
        // Renovate: the config the repository already uses, never a new one.
        if let Some(cfg) = rewrite::renovate::CONFIG_FILES
            .iter()
            .find(|f| self.root.join(f).is_file())
        {
            each(cfg, &|t| rewrite::renovate::rewrite(cfg, t, &image_args));
        }
        // Docs that mention the Alpine image.
        let suite = self.recipe.settings.suite.clone();
        let doc_files: BTreeSet<&String> = self
            .recipe
            .items
            .iter()
            .filter(|i| i.rules.iter().any(|r| r == "docs-mentions"))
            .flat_map(|i| i.files.iter())
            .collect();
        for d in doc_files {
            if self.root.join(d).is_file() {
                each(d, &|t| (rewrite::docs::mentions(d, t, &suite), vec![]));
            }
        }
        // The plan itself, archived.
        for md in &disc.markdown {
            let name = md.rsplit('/').next().unwrap_or(md).to_ascii_lowercase();
            if name.contains("alpine-to-debian") && !md.starts_with("docs/implementation/") {
                each(md, &|_| {
                    (rewrite::docs::archive(md).into_iter().collect(), vec![])
                });
            }
        }
        // CHANGELOG, from what was accepted (or, before anything was, what is planned).
        let changes = self.accepted_changes(&state, &inputs);
        for item in self
            .recipe
            .items
            .iter()
            .filter(|i| i.rules.iter().any(|r| r == "changelog"))
        {
            for path in &item.files {
                let existing = self.read_text(path).ok();
                if let Some(p) =
                    rewrite::docs::changelog(path, existing.as_deref(), &suite, &changes)
                {
                    inputs.push(FileInput {
                        path: path.clone(),
                        exists: existing.is_some(),
                        text: existing.unwrap_or_default(),
                        proposals: vec![p],
                        findings: vec![],
                    });
                }
            }
        }
        // The pre-migration baseline file.
        for item in self
            .recipe
            .items
            .iter()
            .filter(|i| i.rules.iter().any(|r| r == "baseline-doc"))
        {
            for path in &item.files {
                let exists = self.root.join(path).exists();
                if let Some(p) = rewrite::docs::baseline(path, exists, &baseline) {
                    inputs.push(FileInput {
                        path: path.clone(),
                        exists: false,
                        text: String::new(),
                        proposals: vec![p],
                        findings: vec![],
                    });
                }
            }
        }
        let mut plan = Plan::build(&self.recipe, inputs, errors);
        self.route_leftovers(&mut plan, &state);
        Ok(plan)
    }

    /// Hunks of a phase that was already committed are leftovers (an
    /// Alpine-ism reintroduced, or missed): the post-migration item
    /// "Remove any Alpine-specific workarounds" takes them.
    fn route_leftovers(&self, plan: &mut Plan, state: &State) {
        let Some(post) = self
            .recipe
            .items
            .iter()
            .find(|i| i.rules.iter().any(|r| r == "residual"))
        else {
            return;
        };
        for h in &mut plan.hunks {
            if h.phase != post.phase && state.commits.contains_key(&h.phase) {
                h.explanation = format!(
                    "Left over after the {} phase was committed: {}\n{}",
                    h.phase, h.summary, h.explanation
                );
                h.phase = post.phase.clone();
                h.item = post.id.clone();
            }
        }
    }

    /// Pending hunks that replace a decision the operator made on an older
    /// version of the file (same item and file, a different hunk id):
    /// "changed since you decided".
    pub fn changed_since_decided(&self, plan: &Plan, state: &State) -> BTreeSet<String> {
        let live: BTreeSet<&str> = plan.hunks.iter().map(|h| h.id.as_str()).collect();
        let stale: BTreeSet<(&str, &str)> = state
            .hunks
            .iter()
            .filter(|(id, r)| r.decision != Decision::Applied && !live.contains(id.as_str()))
            .map(|(_, r)| (r.item.as_str(), r.file.as_str()))
            .collect();
        plan.hunks
            .iter()
            .filter(|h| {
                !state.hunks.contains_key(&h.id)
                    && stale.contains(&(h.item.as_str(), h.file.as_str()))
            })
            .map(|h| h.id.clone())
            .collect()
    }

    /// `(heading, lines)` of accepted changes for the CHANGELOG: applied hunk
    /// summaries grouped by item; before anything is applied, the planned ones.
    fn accepted_changes(&self, state: &State, inputs: &[FileInput]) -> Vec<(String, Vec<String>)> {
        // Grouped by phase, in phase order.
        let mut by_item: BTreeMap<usize, (String, Vec<String>)> = BTreeMap::new();
        let order = |id: &str| {
            let phase = &self.recipe.items.iter().find(|i| i.id == id)?.phase;
            self.recipe.phases.iter().position(|p| &p.id == phase)
        };
        let mut add = |item: &str, summary: &str| {
            if let Some(i) = order(item) {
                let title = self.recipe.phases[i].title.clone();
                let e = by_item.entry(i).or_insert((title, Vec::new()));
                if !summary.is_empty() && !e.1.iter().any(|s| s == summary) {
                    e.1.push(summary.to_string());
                }
            }
        };
        let applied: Vec<&crate::state::HunkRecord> = state
            .hunks
            .values()
            .filter(|r| r.decision == Decision::Applied)
            .collect();
        if applied.is_empty() {
            for f in inputs {
                for p in &f.proposals {
                    if p.alt.as_ref().is_some_and(|a| a.index > 0) {
                        continue;
                    }
                    if let Some(item) = self.recipe.item_for(p.rule, &p.tags) {
                        if matches!(item.phase.as_str(), "dockerfile" | "entrypoint" | "ci") {
                            add(&item.id, &p.summary);
                        }
                    }
                }
            }
        } else {
            for r in applied {
                add(&r.item, &r.summary);
            }
        }
        by_item
            .into_values()
            .filter(|(_, l)| !l.is_empty())
            .collect()
    }

    /// Phases, items and their status.
    pub fn status(&self) -> Result<StatusView> {
        let (state, warn) = self.load_state()?;
        let plan = self.plan()?;
        let mut warnings: Vec<String> = warn.into_iter().collect();
        warnings.extend(plan.errors.iter().cloned());
        let mut pending: BTreeMap<&str, usize> = BTreeMap::new();
        for h in &plan.hunks {
            if !matches!(
                state.hunks.get(&h.id).map(|r| r.decision),
                Some(Decision::Rejected)
            ) {
                *pending.entry(h.item.as_str()).or_default() += 1;
            }
        }
        let mut applied: BTreeMap<&str, usize> = BTreeMap::new();
        let mut rejected: BTreeMap<&str, usize> = BTreeMap::new();
        for r in state.hunks.values() {
            match r.decision {
                Decision::Applied | Decision::Accepted => {
                    *applied.entry(r.item.as_str()).or_default() += 1
                }
                Decision::Rejected => *rejected.entry(r.item.as_str()).or_default() += 1,
            }
        }
        let mut phases = Vec::new();
        for p in &self.recipe.phases {
            let mut items = Vec::new();
            for it in self.recipe.items_of(&p.id) {
                let pend = pending.get(it.id.as_str()).copied().unwrap_or(0);
                let app = applied.get(it.id.as_str()).copied().unwrap_or(0);
                let rej = rejected.get(it.id.as_str()).copied().unwrap_or(0);
                let recorded = state.item_status(&it.id);
                let status = if it.kind == ItemKind::Rewrite {
                    match (pend, app, recorded) {
                        (p, a, _) if p > 0 && a > 0 => ItemStatus::Partly,
                        (p, _, _) if p > 0 => ItemStatus::Pending,
                        (_, _, Some(s)) => s,
                        _ => ItemStatus::Pending,
                    }
                } else {
                    recorded.unwrap_or(ItemStatus::Pending)
                };
                items.push(ItemView {
                    id: it.id.clone(),
                    title: it.title.clone(),
                    kind: it.kind.as_str(),
                    status: status.as_str(),
                    spec: it.spec.clone(),
                    added: it.added,
                    pending: pend,
                    applied: app,
                    rejected: rej,
                    note: state.items.get(&it.id).and_then(|r| r.note.clone()),
                });
            }
            let done = items
                .iter()
                .filter(|i| matches!(i.status, "done" | "skipped"))
                .count();
            phases.push(PhaseView {
                id: p.id.clone(),
                title: p.title.clone(),
                done,
                total: items.len(),
                commit: state.commits.get(&p.id).cloned(),
                items,
            });
        }
        Ok(StatusView {
            repo: self.root.display().to_string(),
            branch: crate::git::current_branch(&self.repo),
            recipe: self.recipe_ref(),
            suite: self.recipe.settings.suite.clone(),
            phases,
            warnings,
        })
    }

    /// Accept and apply every pending hunk of `phases` (in recipe order),
    /// committing each phase unless `commit` is false.
    pub fn apply(
        &self,
        phases: &[String],
        commit: bool,
        pair: Option<&str>,
    ) -> Result<ApplyReport> {
        self.apply_selected(phases, Selection::AllPending, commit, pair)
    }

    /// Apply the `selection` of hunks of `phases` (in recipe order), one
    /// commit per phase unless `commit` is false. Holds the repository lock;
    /// saves every decision as it is made; records each write's intent
    /// (path, phase, content hash) *before* writing, so a run killed at any
    /// point resumes to the same tree and commits; refuses files with
    /// uncommitted changes that are not its own.
    pub fn apply_selected(
        &self,
        phases: &[String],
        selection: Selection,
        commit: bool,
        pair: Option<&str>,
    ) -> Result<ApplyReport> {
        for p in phases {
            if self.recipe.phase(p).is_none() {
                return Err(unknown_phase(&self.recipe, p));
            }
        }
        let lock = self.lock()?;
        let (mut state, warn) = self.load_state()?;
        let mut report = ApplyReport::default();
        // A run killed mid-write leaves its temp file behind: remove them.
        if let Some(d) = self.state_path.parent() {
            state::remove_stale_temps(d);
        }
        for f in state.inflight.keys() {
            let dir = self
                .root
                .join(f)
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| self.root.clone());
            state::remove_stale_temps(&dir);
        }
        report.notes.extend(warn);
        if let Some(h) = &lock.took_over {
            report
                .notes
                .push(format!("took over a stale lock left by {h}"));
            // A run killed inside a git operation leaves git's own locks.
            let mut removed = crate::git::remove_stale_git_locks(&self.repo, h.started);
            if removed.is_empty() && has_git_locks(&self.repo) {
                std::thread::sleep(std::time::Duration::from_millis(2100));
                removed = crate::git::remove_stale_git_locks(&self.repo, h.started);
            }
            for p in removed {
                report.notes.push(format!(
                    "removed {} left by the interrupted run",
                    p.display()
                ));
            }
        }
        if commit {
            let base = crate::git::ensure_branch(&self.repo, &self.recipe.meta.branch)?;
            if state.base_commit.is_none() {
                state.base_commit = Some(base.to_string());
            }
            state.set_item(
                "pre.branch",
                ItemStatus::Done,
                Some(format!("on {}", self.recipe.meta.branch)),
            );
            state.save(&self.state_path)?;
        }
        // Uncommitted edits are never overwritten. A dirty file that holds
        // exactly what an earlier (interrupted) run wrote is ours, not the
        // operator's.
        let ours = |state: &State, f: &str| -> bool {
            state
                .inflight
                .get(f)
                .is_some_and(|(_, hash)| self.content_hash(f) == *hash)
        };
        let dirty: BTreeSet<String> = crate::git::dirty_files(&self.repo)?
            .into_iter()
            .filter(|f| !ours(&state, f))
            .collect();
        let ordered: Vec<&str> = self
            .recipe
            .phases
            .iter()
            .map(|p| p.id.as_str())
            .filter(|p| phases.iter().any(|x| x == p))
            .collect();
        for phase in ordered {
            let mut done = PhaseApplied {
                phase: phase.to_string(),
                ..PhaseApplied::default()
            };
            // Files an interrupted run of this phase already wrote.
            let mut written: BTreeSet<String> = state
                .inflight
                .iter()
                .filter(|(f, (ph, _))| ph == phase && ours(&state, f))
                .map(|(f, _)| f.clone())
                .collect();
            if phase == "pre-migration" && commit {
                if let (Some(base), Some(_)) = (
                    state.base_commit.clone(),
                    self.recipe.item("pre.backup-dockerfile"),
                ) {
                    let oid = git2::Oid::from_str(&base)?;
                    let created =
                        crate::git::tag_base(&self.repo, &self.recipe.meta.base_tag, oid)?;
                    let note = if created {
                        format!(
                            "tag {} created at {}",
                            self.recipe.meta.base_tag,
                            crate::git::short(oid)
                        )
                    } else {
                        format!(
                            "tag {} already exists; left where it is",
                            self.recipe.meta.base_tag
                        )
                    };
                    state.set_item(
                        "pre.backup-dockerfile",
                        ItemStatus::Done,
                        Some(note.clone()),
                    );
                    report.notes.push(note);
                    state.save(&self.state_path)?;
                }
            }
            // Re-plan until the phase has nothing left: a hunk that collided
            // with another is proposed again once the other is applied.
            let rounds = match selection {
                Selection::AllPending => 8,
                Selection::Accepted => 1,
            };
            for _round in 0..rounds {
                let plan = self.plan()?;
                let rejected = |id: &str| {
                    matches!(
                        state.hunks.get(id).map(|r| r.decision),
                        Some(Decision::Rejected)
                    )
                };
                let accepted = |id: &str| {
                    matches!(
                        state.hunks.get(id).map(|r| r.decision),
                        Some(Decision::Accepted)
                    )
                };
                let hunks: Vec<&crate::plan::Hunk> = plan
                    .of_phase(phase)
                    .filter(|h| match selection {
                        Selection::AllPending => plan.is_active(h, &rejected),
                        Selection::Accepted => accepted(&h.id),
                    })
                    .collect();
                if hunks.is_empty() {
                    break;
                }
                let files: BTreeSet<&str> = hunks.iter().map(|h| h.file.as_str()).collect();
                for f in &files {
                    if dirty.contains(*f) && !written.contains(*f) {
                        return Err(Error::Refused(format!(
                            "{f} has uncommitted changes; charon-tui never overwrites them. Commit or stash them, then run again"
                        )));
                    }
                }
                for f in files {
                    let Some(original) = plan.originals.get(f) else {
                        continue;
                    };
                    let creating = plan.new_files.contains(f);
                    let target = self.root.join(f);
                    if creating {
                        if std::fs::symlink_metadata(&target).is_ok() {
                            return Err(Error::Refused(format!(
                                "{f} appeared while planning; run again"
                            )));
                        }
                    } else {
                        let current = self.read_text(f).map_err(|e| Error::Repo {
                            path: target.clone(),
                            reason: e,
                        })?;
                        if &current != original {
                            return Err(Error::Refused(format!(
                                "{f} changed while planning; run again"
                            )));
                        }
                    }
                    let fh: Vec<&crate::plan::Hunk> =
                        hunks.iter().copied().filter(|h| h.file == f).collect();
                    if let Some(to) = fh.iter().find_map(|h| h.rename_to.clone()) {
                        let dest = self.root.join(&to);
                        if std::fs::symlink_metadata(&dest).is_ok() {
                            return Err(Error::Refused(format!(
                                "cannot move {f} to {to}: {to} exists"
                            )));
                        }
                        state
                            .inflight
                            .insert(f.to_string(), (phase.to_string(), DELETED.to_string()));
                        state.inflight.insert(
                            to.clone(),
                            (phase.to_string(), state::sha256_hex(original.as_bytes())),
                        );
                        record_applied(&mut state, &fh);
                        state.save(&self.state_path)?;
                        if let Some(parent) = dest.parent() {
                            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
                        }
                        std::fs::rename(&target, &dest).map_err(|e| Error::io(&target, e))?;
                        written.insert(to);
                    } else {
                        let edited = |h: &crate::plan::Hunk| {
                            state.hunks.get(&h.id).and_then(|r| r.edited.clone())
                        };
                        let new = plan.apply_with(f, original, &fh, &edited).map_err(|e| {
                            Error::Repo {
                                path: target.clone(),
                                reason: format!("cannot apply hunks: {e}"),
                            }
                        })?;
                        state.inflight.insert(
                            f.to_string(),
                            (phase.to_string(), state::sha256_hex(new.as_bytes())),
                        );
                        record_applied(&mut state, &fh);
                        state.save(&self.state_path)?;
                        if let Some(parent) = target.parent() {
                            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
                        }
                        state::write_atomic(&target, new.as_bytes())?;
                    }
                    done.hunks += fh.len();
                    written.insert(f.to_string());
                }
            }
            // Items of the phase with nothing left to do are done.
            let plan = self.plan()?;
            let mut items_done = Vec::new();
            for it in self
                .recipe
                .items_of(phase)
                .filter(|i| i.kind == ItemKind::Rewrite)
                .filter(|i| {
                    !i.rules
                        .iter()
                        .all(|r| rewrite::PENDING_RULES.contains(&r.as_str()))
                })
            {
                let left: Vec<&crate::plan::Hunk> =
                    plan.hunks.iter().filter(|h| h.item == it.id).collect();
                let rejected_left = left
                    .iter()
                    .filter(|h| {
                        matches!(
                            state.hunks.get(&h.id).map(|r| r.decision),
                            Some(Decision::Rejected)
                        )
                    })
                    .count();
                if rejected_left < left.len() {
                    continue; // undecided or accepted-but-unapplied hunks remain
                }
                let had = state
                    .hunks
                    .values()
                    .any(|r| r.item == it.id && r.decision == Decision::Applied);
                let (status, note) = match (had, rejected_left) {
                    (false, 0) => (ItemStatus::Done, Some("no change needed".to_string())),
                    (false, n) => (ItemStatus::Rejected, Some(format!("{n} hunk(s) rejected"))),
                    (true, 0) => (ItemStatus::Done, None),
                    (true, n) => (ItemStatus::Done, Some(format!("{n} hunk(s) rejected"))),
                };
                state.set_item(&it.id, status, note);
                items_done.push(it.id.clone());
            }
            state.save(&self.state_path)?;
            done.files = written.iter().cloned().collect();
            if commit && !written.is_empty() {
                let ph = self
                    .recipe
                    .phase(phase)
                    .ok_or_else(|| unknown_phase(&self.recipe, phase))?;
                let msg = commit_message(&self.recipe, ph, &state, pair);
                let oid = match crate::git::commit_files(&self.repo, &done.files, &msg)? {
                    Some(oid) => Some(oid),
                    // Already committed by an interrupted run: find that commit.
                    None => crate::git::phase_commits(&self.repo)?
                        .into_iter()
                        .find(|c| c.phase.as_deref() == Some(phase))
                        .map(|c| c.oid),
                };
                if let Some(oid) = oid {
                    state.commits.insert(phase.to_string(), oid.to_string());
                    done.commit = Some(oid.to_string());
                }
                state.inflight.retain(|_, (ph, _)| ph != phase);
                state.save(&self.state_path)?;
            }
            report.phases.push(done);
        }
        drop(lock);
        Ok(report)
    }

    /// Run a command item and record its outcome in the state: done (exit 0),
    /// failed (with its exit code), or blocked (a program is missing).
    pub fn run_item(
        &self,
        id: &str,
        timeout: Option<std::time::Duration>,
        stop: &std::sync::Arc<std::sync::atomic::AtomicBool>,
        echo: &mut dyn FnMut(&str),
    ) -> Result<crate::command::Outcome> {
        let item = self
            .recipe
            .item(id)
            .ok_or_else(|| Error::Usage(format!("unknown item `{id}` (see `charon-tui status`)")))?
            .clone();
        if item.kind != ItemKind::Command {
            return Err(Error::Usage(format!(
                "`{id}` is a {} item, not a command item",
                item.kind.as_str()
            )));
        }
        let _lock = self.lock()?;
        let logs = crate::git::tool_dir(&self.repo).join("logs");
        let outcome = crate::command::run(&item, &self.root, &logs, timeout, stop, echo)?;
        let (mut state, _) = self.load_state()?;
        use crate::command::Outcome;
        let (status, note, rec) = match &outcome {
            Outcome::Blocked { reason } => {
                (ItemStatus::Blocked, format!("blocked: {reason}"), None)
            }
            Outcome::Finished {
                code,
                duration,
                log,
            } => (
                if *code == Some(0) {
                    ItemStatus::Done
                } else {
                    ItemStatus::Failed
                },
                match code {
                    Some(0) => "passed".to_string(),
                    Some(c) => format!("failed with exit code {c}"),
                    None => "killed by a signal".to_string(),
                },
                Some(state::CommandRecord {
                    exit_code: *code,
                    duration_ms: duration.as_millis() as u64,
                    log: log.display().to_string(),
                    at: state::now(),
                }),
            ),
            Outcome::Stopped {
                reason,
                duration,
                log,
            } => (
                ItemStatus::Failed,
                format!("{reason}; every process it started was ended"),
                Some(state::CommandRecord {
                    exit_code: None,
                    duration_ms: duration.as_millis() as u64,
                    log: log.display().to_string(),
                    at: state::now(),
                }),
            ),
        };
        let mut note = note;
        // Two Trivy scans saved: say what changed.
        if let Some(cmp) = self.trivy_comparison()? {
            if item.command.as_deref().is_some_and(|c| c.contains("trivy")) {
                echo(&cmp);
                note = format!("{note}; {}", cmp.lines().next().unwrap_or(""));
            }
        }
        state.set_item(id, status, Some(note));
        if let (Some(r), Some(e)) = (rec, state.items.get_mut(id)) {
            e.command = Some(r);
        }
        state.save(&self.state_path)?;
        Ok(outcome)
    }

    /// The before/after Trivy summary, when both scans were saved.
    pub fn trivy_comparison(&self) -> Result<Option<String>> {
        let dir = crate::git::tool_dir(&self.repo);
        let (b, a) = (dir.join("trivy-before.json"), dir.join("trivy-after.json"));
        if !(b.is_file() && a.is_file()) {
            return Ok(None);
        }
        let (before, after) = (crate::trivy::Scan::load(&b)?, crate::trivy::Scan::load(&a)?);
        Ok(Some(crate::trivy::compare(&before, &after)))
    }

    /// Take the repository lock (re-entrant within one process).
    pub fn lock(&self) -> Result<state::Lock> {
        state::Lock::acquire(&crate::git::tool_dir(&self.repo).join("lock"))
    }

    /// SHA-256 of a work-tree file, or [`DELETED`] when it does not exist.
    fn content_hash(&self, rel: &str) -> String {
        match std::fs::read(self.root.join(rel)) {
            Ok(b) => state::sha256_hex(&b),
            Err(_) => DELETED.to_string(),
        }
    }

    /// Revert a phase's commit with a new commit and mark its items pending.
    pub fn rollback_phase(&self, phase: &str) -> Result<git2::Oid> {
        let ph = self
            .recipe
            .phase(phase)
            .ok_or_else(|| unknown_phase(&self.recipe, phase))?
            .clone();
        let _lock = self.lock()?;
        crate::git::check_ready(&self.repo)?;
        let dirty = crate::git::dirty_files(&self.repo)?;
        if !dirty.is_empty() {
            return Err(Error::Refused(format!(
                "uncommitted changes ({}) would be lost or mixed into the rollback; commit or stash them first",
                dirty.join(", ")
            )));
        }
        let (mut state, _) = self.load_state()?;
        let oid = match state.commits.get(phase) {
            Some(c) => git2::Oid::from_str(c)?,
            None => {
                return Err(Error::Usage(format!(
                    "phase `{phase}` has no commit to roll back"
                )))
            }
        };
        let subject = self.recipe.commit_subject(&ph);
        let msg = format!(
            "revert: {subject}\n\nThis reverts commit {oid}: the {} phase is pending again.\n\nMigration-Rollback: {phase}\n",
            ph.title
        );
        let new = crate::git::revert(&self.repo, oid, &msg)?;
        let items: BTreeSet<String> = self.recipe.items_of(phase).map(|i| i.id.clone()).collect();
        state.items.retain(|k, _| !items.contains(k));
        state.hunks.retain(|_, r| !items.contains(&r.item));
        state.commits.remove(phase);
        state.save(&self.state_path)?;
        Ok(new)
    }

    /// Reset the migration branch to the base (tag or recorded commit),
    /// dropping every phase commit, and start a fresh state.
    pub fn rollback_all(&self) -> Result<git2::Oid> {
        let _lock = self.lock()?;
        crate::git::check_ready(&self.repo)?;
        let dirty = crate::git::dirty_files(&self.repo)?;
        if !dirty.is_empty() {
            return Err(Error::Refused(format!(
                "uncommitted changes ({}) would be lost; commit or stash them first",
                dirty.join(", ")
            )));
        }
        if crate::git::current_branch(&self.repo).as_deref()
            != Some(self.recipe.meta.branch.as_str())
        {
            return Err(Error::Refused(format!(
                "rollback --all resets {}; check it out first",
                self.recipe.meta.branch
            )));
        }
        let (state, _) = self.load_state()?;
        let base = match self
            .repo
            .refname_to_id(&format!("refs/tags/{}", self.recipe.meta.base_tag))
        {
            Ok(t) => self.repo.find_object(t, None)?.peel_to_commit()?.id(),
            Err(_) => match &state.base_commit {
                Some(b) => git2::Oid::from_str(b)?,
                None => {
                    return Err(Error::Usage(
                        "no base tag or recorded base commit to reset to".into(),
                    ))
                }
            },
        };
        crate::git::reset_hard(&self.repo, base)?;
        let mut fresh = State::new(self.recipe_ref(), &self.recipe.settings.suite);
        fresh.base_commit = Some(base.to_string());
        fresh.save(&self.state_path)?;
        Ok(base)
    }
}

fn has_git_locks(repo: &git2::Repository) -> bool {
    fn walk(dir: &Path) -> bool {
        std::fs::read_dir(dir)
            .map(|rd| {
                rd.flatten().any(|e| {
                    let p = e.path();
                    if p.is_dir() {
                        walk(&p)
                    } else {
                        p.extension().is_some_and(|x| x == "lock")
                    }
                })
            })
            .unwrap_or(false)
    }
    let p = repo.path();
    ["index.lock", "HEAD.lock"]
        .iter()
        .any(|f| p.join(f).exists())
        || walk(&p.join("refs"))
}

/// Mark hunks applied (keeping an operator's edited text). Saved together
/// with the write's intent, before the write: a run killed in between
/// re-proposes the same hunks, whose ids and summaries are the same.
fn record_applied(state: &mut State, hunks: &[&crate::plan::Hunk]) {
    for h in hunks {
        let edited = state.hunks.get(&h.id).and_then(|r| r.edited.clone());
        state.decide(&h.id, &h.item, &h.file, &h.summary, Decision::Applied);
        if let Some(r) = state.hunks.get_mut(&h.id) {
            r.edited = edited;
        }
    }
}

fn unknown_phase(recipe: &Recipe, p: &str) -> Error {
    Error::Usage(format!(
        "unknown phase `{p}` (phases: {})",
        recipe
            .phases
            .iter()
            .map(|p| p.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// The conventional commit message of a phase, with trailers.
pub fn commit_message(
    recipe: &Recipe,
    phase: &crate::recipe::Phase,
    state: &State,
    pair: Option<&str>,
) -> String {
    let mut msg = recipe.commit_subject(phase);
    msg.push_str("\n\n");
    let mut listed = Vec::new();
    for it in recipe.items_of(&phase.id) {
        let applied = state
            .hunks
            .values()
            .filter(|r| r.item == it.id && r.decision == Decision::Applied)
            .count();
        if applied > 0 {
            msg.push_str(&format!(
                "- {} ({} hunk{})\n",
                it.title,
                applied,
                if applied == 1 { "" } else { "s" }
            ));
            listed.push(it.id.clone());
        }
    }
    msg.push_str(&format!("\nMigration-Phase: {}\n", phase.id));
    msg.push_str(&format!("Migration-Items: {}\n", listed.join(", ")));
    msg.push_str(&format!(
        "Migration-Recipe: {} {}\n",
        recipe.meta.id, recipe.meta.version
    ));
    if let Some(p) = pair {
        msg.push_str(&format!("Co-authored-by: {p}\n"));
    }
    msg
}

/// Normalise `a/./b/../c` without touching the file system; None if it
/// escapes the repository.
fn normalize(p: &Path) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    for c in p.components() {
        match c {
            std::path::Component::Normal(s) => parts.push(s.to_string_lossy().to_string()),
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                parts.pop()?;
            }
            _ => return None,
        }
    }
    Some(parts.join("/"))
}

/// Apply every rule's hunks to one Dockerfile text until nothing changes
/// (at most 8 rounds: collisions are re-proposed after the winner applies).
/// Returns the migrated text and the notes of every round. Pure: no I/O
/// beyond what `read` does.
pub fn migrate_dockerfile_text(
    recipe: &Recipe,
    path: &str,
    text: &str,
    read: &dyn Fn(&str) -> Option<String>,
) -> Result<(String, Vec<crate::plan::Note>)> {
    migrate_with(recipe, path, text, &|cur| {
        let out = rewrite::dockerfile::rewrite(path, cur, recipe, read)?;
        Ok((out.proposals, out.findings))
    })
}

/// Apply every rule's hunks to one shell script until nothing changes (as
/// `apply --all` would), with the notes the plan attached.
pub fn migrate_script_text(
    recipe: &Recipe,
    path: &str,
    text: &str,
) -> Result<(String, Vec<crate::plan::Note>)> {
    migrate_with(recipe, path, text, &|cur| {
        Ok(rewrite::script::rewrite(path, cur, recipe))
    })
}

/// Run `rules` over one file's text and apply all their hunks, round after
/// round (at most 8), until a round proposes nothing.
fn migrate_with(
    recipe: &Recipe,
    path: &str,
    text: &str,
    rules: &dyn Fn(&str) -> Result<rewrite::RuleOutput>,
) -> Result<(String, Vec<crate::plan::Note>)> {
    // Files are read with `read_text`, which refuses NUL bytes; text from
    // elsewhere gets the same answer.
    if let Some(at) = text.find('\0') {
        return Err(Error::Parse {
            path: PathBuf::from(path),
            line: crate::analyze::line_of(text, at),
            reason: "binary content (a NUL byte); left alone".into(),
        });
    }
    let mut cur = text.to_string();
    let mut notes: Vec<crate::plan::Note> = Vec::new();
    for _ in 0..8 {
        let (proposals, findings) = rules(&cur)?;
        let plan = Plan::build(
            recipe,
            vec![FileInput {
                path: path.to_string(),
                exists: true,
                text: cur.clone(),
                proposals,
                findings,
            }],
            vec![],
        );
        for n in &plan.notes {
            if !notes
                .iter()
                .any(|m| m.message == n.message && m.rule == n.rule)
            {
                notes.push(n.clone());
            }
        }
        for h in &plan.hunks {
            for f in &h.flags {
                let n = crate::plan::Note {
                    file: path.to_string(),
                    line: h.line,
                    rule: h.rule.clone(),
                    item: Some(h.item.clone()),
                    message: format!("check: {f}"),
                };
                if !notes
                    .iter()
                    .any(|m| m.message == n.message && m.line == n.line)
                {
                    notes.push(n);
                }
            }
        }
        if plan.hunks.is_empty() {
            return Ok((cur, notes));
        }
        let all: Vec<&crate::plan::Hunk> = plan.hunks.iter().collect();
        cur = plan.apply_to(path, &cur, &all).map_err(|e| Error::Parse {
            path: PathBuf::from(path),
            line: 0,
            reason: format!("hunks do not apply: {e}"),
        })?;
    }
    Ok((cur, notes))
}

/// The lists of [`Discovery`] a walked file can go to.
#[derive(Clone, Copy)]
enum List {
    Dockerfile,
    Compose,
    Workflow,
    Markdown,
    /// A file that may be a script (`*.sh`, no extension).
    OtherScript,
}

/// What one walked entry is, for [`Session::discover`].
enum Seen {
    Nothing,
    /// A regular file no rule reads.
    Counted,
    /// A regular file for one of the lists.
    File(List, String),
    /// A candidate not read (a link, a huge file): `path: reason`.
    Skipped(String),
}

impl Seen {
    fn add_to(self, d: &mut Discovery) {
        match self {
            Seen::Nothing => {}
            Seen::Counted => d.files += 1,
            Seen::File(list, rel) => {
                d.files += 1;
                match list {
                    List::Dockerfile => &mut d.dockerfiles,
                    List::Compose => &mut d.compose,
                    List::Workflow => &mut d.workflows,
                    List::Markdown => &mut d.markdown,
                    List::OtherScript => &mut d.other_scripts,
                }
                .push(rel)
            }
            Seen::Skipped(why) => d.skipped.push(why),
        }
    }
}

fn classify(root: &Path, entry: &ignore::DirEntry) -> Seen {
    let Some(ft) = entry.file_type() else {
        return Seen::Nothing;
    };
    if ft.is_dir() {
        return Seen::Nothing;
    }
    let name = entry.file_name().to_string_lossy();
    let p = entry.path();
    let rel = p
        .strip_prefix(root)
        .unwrap_or(p)
        .to_string_lossy()
        .replace('\\', "/");
    let list = if is_dockerfile_name(&name) {
        List::Dockerfile
    } else if rewrite::compose::is_compose_name(&name) {
        List::Compose
    } else if rewrite::workflow::is_workflow(&rel) {
        List::Workflow
    } else if name.to_ascii_lowercase().ends_with(".md") {
        List::Markdown
    } else if ft.is_file() && (name.ends_with(".sh") || !name.contains('.')) {
        return Seen::File(List::OtherScript, rel);
    } else if ft.is_file() {
        return Seen::Counted;
    } else {
        return Seen::Nothing;
    };
    if ft.is_symlink() {
        return Seen::Skipped(format!(
            "{rel}: symbolic link, not followed (charon-tui never writes through links)"
        ));
    }
    if !ft.is_file() {
        return Seen::Nothing;
    }
    match entry.metadata() {
        Ok(meta) if meta.len() > MAX_FILE => Seen::Skipped(format!(
            "{rel}: larger than 8 MiB ({} bytes), skipped",
            meta.len()
        )),
        // Unreadable metadata: read_text reports it when a rule asks.
        _ => Seen::File(list, rel),
    }
}

/// Read the repository file `rel` under `root` as UTF-8 text, refusing
/// links, non-regular files, huge files and binary content; the error names
/// the file and the reason.
pub fn read_text_in(root: &Path, rel: &str) -> std::result::Result<String, String> {
    let path = root.join(rel);
    let meta = std::fs::symlink_metadata(&path).map_err(|e| format!("{rel}: {e}"))?;
    if meta.file_type().is_symlink() {
        return Err(format!("{rel}: symbolic link, not followed"));
    }
    if !meta.is_file() {
        return Err(format!("{rel}: not a regular file"));
    }
    if meta.len() > MAX_FILE {
        return Err(format!("{rel}: larger than 8 MiB, skipped"));
    }
    let bytes = std::fs::read(&path).map_err(|e| format!("{rel}: {e}"))?;
    if bytes.contains(&0) {
        return Err(format!(
            "{rel}:1: binary file (contains NUL bytes), skipped"
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "{rel}: not UTF-8 (invalid byte at offset {}); convert it to UTF-8 first",
            e.utf8_error().valid_up_to()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockerfile_names() {
        for n in [
            "Dockerfile",
            "dockerfile",
            "Containerfile",
            "api.Dockerfile",
            "Dockerfile.dev",
        ] {
            assert!(is_dockerfile_name(n), "{n}");
        }
        for n in [
            "Dockerfile-notes.md.txt2",
            "docker-compose.yml",
            "README.md",
        ] {
            assert!(
                !is_dockerfile_name(n) || n.starts_with("Dockerfile."),
                "{n}"
            );
        }
    }

    #[test]
    fn normalize_paths() {
        assert_eq!(normalize(Path::new("a/./b/../c")).as_deref(), Some("a/c"));
        assert_eq!(normalize(Path::new("../x")), None);
        assert_eq!(normalize(Path::new("/etc/passwd")), None);
    }
}
