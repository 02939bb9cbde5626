//! The TUI's state and its one `update` function. Input becomes an
//! [`Action`]; `update` changes state, persists every decision at once, and
//! returns an [`Effect`] when the terminal itself is needed (the editor).
//! Nothing here draws.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::Arc;
use std::time::Instant;

use charon::plan::{hunk_lines, DiffLine, Hunk, Plan};
use charon::recipe::ItemKind;
use charon::session::{Selection, Session};
use charon::state::{Decision, HunkRecord, ItemStatus, State};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Accept,
    Reject,
    Edit,
    AcceptItem,
    RejectItem,
    Split,
    Undo,
    Down,
    Up,
    ScrollDown,
    ScrollUp,
    PageDown,
    PageUp,
    ScrollLeft,
    ScrollRight,
    SwitchPane,
    Toggle,
    Commit,
    Run,
    Note,
    Help,
    Quit,
    /// Dialogs.
    Confirm,
    Cancel,
    Char(char),
    Backspace,
    /// The editor returned (None: failed or unchanged).
    Edited {
        hunk: String,
        text: Option<String>,
    },
    Resize,
    /// Stop the running command item.
    CancelRun,
}

/// What the command thread reports.
#[derive(Debug)]
pub enum RunMsg {
    Line(String),
    Done(Result<String, String>),
}

/// A command item running in the background.
pub struct Running {
    pub item: String,
    pub lines: Vec<String>,
    pub started: Instant,
    pub stop: Arc<AtomicBool>,
    rx: Receiver<RunMsg>,
}

/// The last finished run, shown in the command pane.
#[derive(Debug, Clone)]
pub struct LastRun {
    pub item: String,
    pub lines: Vec<String>,
    pub outcome: String,
}

impl Action {
    pub fn from_command(cmd: &str) -> Option<Action> {
        Some(match cmd {
            "accept" => Action::Accept,
            "reject" => Action::Reject,
            "edit" => Action::Edit,
            "accept-item" => Action::AcceptItem,
            "reject-item" => Action::RejectItem,
            "split" => Action::Split,
            "undo" => Action::Undo,
            "down" => Action::Down,
            "up" => Action::Up,
            "scroll-down" => Action::ScrollDown,
            "scroll-up" => Action::ScrollUp,
            "page-down" => Action::PageDown,
            "page-up" => Action::PageUp,
            "scroll-left" => Action::ScrollLeft,
            "scroll-right" => Action::ScrollRight,
            "switch-pane" => Action::SwitchPane,
            "toggle" => Action::Toggle,
            "commit" => Action::Commit,
            "run" => Action::Run,
            "note" => Action::Note,
            "help" => Action::Help,
            "quit" => Action::Quit,
            "cancel" => Action::CancelRun,
            _ => return None,
        })
    }
}

/// Work the event loop does for `update` because it needs the terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Open the hunk's new text in the editor.
    Edit { hunk: String, text: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Row {
    Phase(usize),
    Item(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Checklist,
    Hunk,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Normal,
    Help,
    Commit {
        phase: String,
        message: String,
        files: Vec<String>,
    },
    Note {
        item: String,
        input: String,
    },
}

pub struct App {
    pub session: Session,
    pub state: State,
    pub plan: Plan,
    pub collapsed: BTreeSet<usize>,
    pub rows: Vec<Row>,
    pub row: usize,
    pub focus: Focus,
    pub hunk_ix: usize,
    pub scroll: usize,
    pub hscroll: usize,
    pub mode: Mode,
    pub undo: Vec<(String, Option<HunkRecord>)>,
    pub message: Option<String>,
    pub quit: bool,
    pub pair: Option<String>,
    /// Diff lines of the current hunk (computed when the selection changes,
    /// so drawing a frame never diffs).
    pub lines: Vec<DiffLine>,
    pub lines_for: Option<String>,
    /// Height of the diff view at the last draw (for paging).
    pub page: usize,
    pub running: Option<Running>,
    pub last_run: Option<LastRun>,
    /// Pending hunks that replace a decision made on an older file.
    pub changed: BTreeSet<String>,
    /// Who holds the repository lock, for the status line.
    pub lock_label: String,
    /// Held for the whole session: a second instance is refused.
    _lock: charon::state::Lock,
}

impl App {
    pub fn new(session: Session, pair: Option<String>) -> charon::Result<App> {
        let lock = session.lock()?;
        let (state, warn) = session.load_state()?;
        let plan = session.plan()?;
        let mut app = App {
            session,
            state,
            plan,
            collapsed: BTreeSet::new(),
            rows: Vec::new(),
            row: 0,
            focus: Focus::Checklist,
            hunk_ix: 0,
            scroll: 0,
            hscroll: 0,
            mode: Mode::Normal,
            undo: Vec::new(),
            message: warn,
            quit: false,
            pair,
            lines: Vec::new(),
            lines_for: None,
            page: 20,
            running: None,
            last_run: None,
            changed: BTreeSet::new(),
            lock_label: format!("pid {}", std::process::id()),
            _lock: lock,
        };
        app.changed = app.session.changed_since_decided(&app.plan, &app.state);
        // Start on the first item with something to review.
        app.rebuild_rows();
        if let Some(i) = app
            .rows
            .iter()
            .position(|r| matches!(r, Row::Item(i) if !app.item_hunks(*i).is_empty()))
        {
            app.row = i;
        }
        app.refresh_lines();
        Ok(app)
    }

    pub fn rebuild_rows(&mut self) {
        let recipe = &self.session.recipe;
        let mut rows = Vec::new();
        for (pi, p) in recipe.phases.iter().enumerate() {
            rows.push(Row::Phase(pi));
            if !self.collapsed.contains(&pi) {
                for (ii, it) in recipe.items.iter().enumerate() {
                    if it.phase == p.id {
                        rows.push(Row::Item(ii));
                    }
                }
            }
        }
        self.rows = rows;
        self.row = self.row.min(self.rows.len().saturating_sub(1));
    }

    pub fn current_item(&self) -> Option<usize> {
        match self.rows.get(self.row)? {
            Row::Item(i) => Some(*i),
            Row::Phase(_) => None,
        }
    }

    pub fn current_phase(&self) -> usize {
        let recipe = &self.session.recipe;
        match self.rows.get(self.row) {
            Some(Row::Phase(p)) => *p,
            Some(Row::Item(i)) => recipe
                .phases
                .iter()
                .position(|p| p.id == recipe.items[*i].phase)
                .unwrap_or(0),
            None => 0,
        }
    }

    /// The plan's hunks of an item, in order.
    pub fn item_hunks(&self, item: usize) -> Vec<&Hunk> {
        let id = &self.session.recipe.items[item].id;
        self.plan.hunks.iter().filter(|h| &h.item == id).collect()
    }

    pub fn current_hunk(&self) -> Option<&Hunk> {
        let i = self.current_item()?;
        let hs = self.item_hunks(i);
        hs.get(self.hunk_ix.min(hs.len().saturating_sub(1)))
            .copied()
    }

    pub fn decision(&self, hunk: &str) -> Option<&HunkRecord> {
        self.state.hunks.get(hunk)
    }

    /// Status of an item as the checklist shows it.
    pub fn item_status(&self, item: usize) -> &'static str {
        let it = &self.session.recipe.items[item];
        let hs = self.item_hunks(item);
        if it.kind == ItemKind::Rewrite && !hs.is_empty() {
            let decided: Vec<Option<Decision>> = hs
                .iter()
                .map(|h| self.decision(&h.id).map(|r| r.decision))
                .collect();
            let acc = decided
                .iter()
                .filter(|d| matches!(d, Some(Decision::Accepted)))
                .count();
            let rej = decided
                .iter()
                .filter(|d| matches!(d, Some(Decision::Rejected)))
                .count();
            return match (acc, rej, hs.len()) {
                (a, 0, n) if a == n => "accepted",
                (0, r, n) if r == n => "rejected",
                (0, 0, _) => self
                    .state
                    .item_status(&it.id)
                    .filter(|s| *s == ItemStatus::Partly)
                    .map(|_| "partly")
                    .unwrap_or("pending"),
                _ => "partly",
            };
        }
        self.state
            .item_status(&it.id)
            .map(|s| s.as_str())
            .unwrap_or("pending")
    }

    pub fn refresh_lines(&mut self) {
        let id = self.current_hunk().map(|h| h.id.clone());
        if id != self.lines_for {
            self.lines = self.current_hunk().map(hunk_lines).unwrap_or_default();
            if let (Some(h), Some(rec)) = (
                self.current_hunk(),
                id.as_deref().and_then(|i| self.state.hunks.get(i)),
            ) {
                if let Some(edited) = &rec.edited {
                    let mut view = h.clone();
                    view.new_text = edited.clone();
                    self.lines = hunk_lines(&view);
                }
            }
            self.lines_for = id;
            self.scroll = 0;
            self.hscroll = 0;
        }
    }

    fn save(&mut self) {
        if let Err(e) = self.state.save(&self.session.state_path) {
            self.message = Some(format!("could not save the state: {e}"));
        }
    }

    fn decide(&mut self, hunk: &Hunk, d: Decision, edited: Option<String>) {
        let prev = self.state.hunks.get(&hunk.id).cloned();
        self.undo.push((hunk.id.clone(), prev));
        self.state
            .decide(&hunk.id, &hunk.item, &hunk.file, &hunk.summary, d);
        if let Some(r) = self.state.hunks.get_mut(&hunk.id) {
            r.edited = edited;
        }
        self.save();
    }

    /// After a decision: the next undecided hunk of the item, else the next
    /// item with undecided hunks.
    fn advance(&mut self) {
        if let Some(i) = self.current_item() {
            let hs = self.item_hunks(i);
            if let Some(k) = hs.iter().position(|h| self.decision(&h.id).is_none()) {
                self.hunk_ix = k;
                self.lines_for = None;
                self.refresh_lines();
                return;
            }
        }
        let start = self.row + 1;
        for r in start..self.rows.len() {
            if let Row::Item(i) = self.rows[r] {
                if self
                    .item_hunks(i)
                    .iter()
                    .any(|h| self.decision(&h.id).is_none())
                {
                    self.row = r;
                    self.hunk_ix = self
                        .item_hunks(i)
                        .iter()
                        .position(|h| self.decision(&h.id).is_none())
                        .unwrap_or(0);
                    self.lines_for = None;
                    self.refresh_lines();
                    return;
                }
            }
        }
        self.refresh_lines();
    }

    pub fn update(&mut self, action: Action) -> Option<Effect> {
        match self.mode.clone() {
            Mode::Help => {
                self.mode = Mode::Normal;
                return None;
            }
            Mode::Commit { phase, .. } => {
                match action {
                    Action::Confirm | Action::Accept => self.commit(&phase),
                    Action::Cancel | Action::Reject | Action::Quit => {
                        self.mode = Mode::Normal;
                        self.message = Some("commit cancelled".into());
                    }
                    _ => {}
                }
                return None;
            }
            Mode::Note { item, mut input } => {
                match action {
                    Action::Char(c) => {
                        input.push(c);
                        self.mode = Mode::Note { item, input };
                    }
                    Action::Backspace => {
                        input.pop();
                        self.mode = Mode::Note { item, input };
                    }
                    Action::Confirm => {
                        self.mode = Mode::Normal;
                        self.finish_note(&item, input);
                    }
                    Action::Cancel => self.mode = Mode::Normal,
                    _ => self.mode = Mode::Note { item, input },
                }
                return None;
            }
            Mode::Normal => {}
        }
        self.message = None;
        match action {
            Action::Quit => {
                if let Some(r) = &self.running {
                    r.stop.store(true, Ordering::Relaxed);
                }
                self.quit = true;
            }
            Action::Help => self.mode = Mode::Help,
            Action::Down | Action::Up => {
                if self.focus == Focus::Hunk {
                    if let Some(i) = self.current_item() {
                        let n = self.item_hunks(i).len();
                        if action == Action::Down && self.hunk_ix + 1 < n {
                            self.hunk_ix += 1;
                        } else if action == Action::Up && self.hunk_ix > 0 {
                            self.hunk_ix -= 1;
                        }
                    }
                } else {
                    if action == Action::Down && self.row + 1 < self.rows.len() {
                        self.row += 1;
                    } else if action == Action::Up && self.row > 0 {
                        self.row -= 1;
                    }
                    self.hunk_ix = 0;
                }
                self.refresh_lines();
            }
            Action::ScrollDown => {
                self.scroll = (self.scroll + 1).min(self.lines.len().saturating_sub(1))
            }
            Action::ScrollUp => self.scroll = self.scroll.saturating_sub(1),
            Action::PageDown => {
                self.scroll =
                    (self.scroll + self.page.max(1)).min(self.lines.len().saturating_sub(1))
            }
            Action::PageUp => self.scroll = self.scroll.saturating_sub(self.page.max(1)),
            Action::ScrollRight => self.hscroll += 8,
            Action::ScrollLeft => self.hscroll = self.hscroll.saturating_sub(8),
            Action::SwitchPane => {
                self.focus = match self.focus {
                    Focus::Checklist => Focus::Hunk,
                    Focus::Hunk => Focus::Checklist,
                }
            }
            Action::Toggle => {
                if let Some(Row::Phase(p)) = self.rows.get(self.row).copied() {
                    if !self.collapsed.remove(&p) {
                        self.collapsed.insert(p);
                    }
                    self.rebuild_rows();
                    self.row = self
                        .rows
                        .iter()
                        .position(|r| *r == Row::Phase(p))
                        .unwrap_or(0);
                }
            }
            Action::Accept | Action::Reject => {
                let Some(h) = self.current_hunk().cloned() else {
                    self.message = Some(self.no_hunk_message());
                    return None;
                };
                let d = if action == Action::Accept {
                    Decision::Accepted
                } else {
                    Decision::Rejected
                };
                let keep = self
                    .decision(&h.id)
                    .and_then(|r| r.edited.clone())
                    .filter(|_| d == Decision::Accepted);
                self.decide(&h, d, keep);
                if let Some(alt) = &h.alt {
                    if d == Decision::Accepted {
                        // Choosing one alternative rejects the others.
                        let others: Vec<Hunk> = self
                            .plan
                            .hunks
                            .iter()
                            .filter(|o| {
                                o.id != h.id && o.alt.as_ref().is_some_and(|a| a.group == alt.group)
                            })
                            .cloned()
                            .collect();
                        for o in others {
                            self.decide(&o, Decision::Rejected, None);
                        }
                    }
                }
                self.advance();
            }
            Action::AcceptItem | Action::RejectItem => {
                let i = self.current_item()?;
                let d = if action == Action::AcceptItem {
                    Decision::Accepted
                } else {
                    Decision::Rejected
                };
                let todo: Vec<Hunk> = self
                    .item_hunks(i)
                    .into_iter()
                    .filter(|h| self.decision(&h.id).is_none())
                    .cloned()
                    .collect();
                let mut groups_taken: BTreeSet<String> = BTreeSet::new();
                for h in &todo {
                    let mut dd = d;
                    if let (Decision::Accepted, Some(a)) = (d, &h.alt) {
                        // Only the default alternative of each choice.
                        if !self.plan.is_active(h, &|_| false)
                            || !groups_taken.insert(a.group.clone())
                        {
                            dd = Decision::Rejected;
                        }
                    }
                    self.decide(h, dd, None);
                }
                self.message = Some(format!(
                    "{} hunk(s) {}",
                    todo.len(),
                    if d == Decision::Accepted {
                        "accepted"
                    } else {
                        "rejected"
                    }
                ));
                self.advance();
            }
            Action::Undo => match self.undo.pop() {
                Some((id, prev)) => {
                    match prev {
                        Some(r) => {
                            self.state.hunks.insert(id, r);
                        }
                        None => {
                            self.state.hunks.remove(&id);
                        }
                    }
                    self.save();
                    self.lines_for = None;
                    self.refresh_lines();
                    self.message = Some("undone".into());
                }
                None => self.message = Some("nothing to undo".into()),
            },
            Action::Split => {
                self.message = Some(match self.current_hunk() {
                    Some(h) if h.edits.len() > 1 => format!("this hunk's {} edits stand or fall together (one rule, one change); it cannot be split — press e to edit it instead", h.edits.len()),
                    Some(_) => "this hunk is a single change; nothing to split".into(),
                    None => self.no_hunk_message(),
                });
            }
            Action::Edit => {
                let Some(h) = self.current_hunk() else {
                    self.message = Some(self.no_hunk_message());
                    return None;
                };
                if h.rename_to.is_some() {
                    self.message = Some("a rename has no text to edit".into());
                    return None;
                }
                let text = self
                    .decision(&h.id)
                    .and_then(|r| r.edited.clone())
                    .unwrap_or_else(|| h.new_text.clone());
                return Some(Effect::Edit {
                    hunk: h.id.clone(),
                    text,
                });
            }
            Action::Edited { hunk, text } => match (text, self.plan.hunk(&hunk).cloned()) {
                (Some(t), Some(h)) => {
                    self.decide(&h, Decision::Accepted, Some(t));
                    self.lines_for = None;
                    self.refresh_lines();
                    self.message = Some("hunk edited and accepted".into());
                }
                _ => self.message = Some("editor closed without changes; nothing changed".into()),
            },
            Action::Commit => self.prepare_commit(),
            Action::Run => match self
                .current_item()
                .map(|i| self.session.recipe.items[i].clone())
            {
                Some(it) if it.kind == ItemKind::Command => {
                    if self.running.is_some() {
                        self.message = Some("a command is already running (x cancels it)".into());
                    } else {
                        self.start_run(&it.id);
                    }
                }
                _ => {
                    self.message =
                        Some("r runs command items; select one in the Testing phase".into())
                }
            },
            Action::CancelRun => match &self.running {
                Some(r) => {
                    r.stop.store(true, Ordering::Relaxed);
                    self.message = Some("cancelling: ending the command's process group".into());
                }
                None => self.message = Some("no command is running".into()),
            },
            Action::Note => {
                if let Some(i) = self.current_item() {
                    self.mode = Mode::Note {
                        item: self.session.recipe.items[i].id.clone(),
                        input: String::new(),
                    };
                }
            }
            Action::Confirm
            | Action::Cancel
            | Action::Char(_)
            | Action::Backspace
            | Action::Resize => {}
        }
        None
    }

    /// Start a command item in a background thread (its own session on
    /// the same repository; the lock is re-entrant within this process).
    pub fn start_run(&mut self, id: &str) {
        let (tx, rx) = std::sync::mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let root = self.session.root.clone();
        let recipe = self.session.recipe.clone();
        let state_path = self.session.state_path.clone();
        let item = id.to_string();
        let stop2 = Arc::clone(&stop);
        self.save();
        std::thread::spawn(move || {
            let done = match Session::open(&root, recipe, Some(state_path)) {
                Ok(s) => {
                    let txl = tx.clone();
                    let mut echo = move |l: &str| {
                        let _ = txl.send(RunMsg::Line(l.to_string()));
                    };
                    s.run_item(&item, None, &stop2, &mut echo)
                        .map(|o| describe(&o))
                        .map_err(|e| e.to_string())
                }
                Err(e) => Err(e.to_string()),
            };
            let _ = tx.send(RunMsg::Done(done));
        });
        self.running = Some(Running {
            item: id.to_string(),
            lines: Vec::new(),
            started: Instant::now(),
            stop,
            rx,
        });
        self.message = Some(format!("running {id} (x cancels)"));
    }

    /// Take what the command thread reported. True when anything changed.
    pub fn poll_run(&mut self) -> bool {
        let Some(r) = &mut self.running else {
            return false;
        };
        let mut changed = false;
        loop {
            match r.rx.try_recv() {
                Ok(RunMsg::Line(l)) => {
                    r.lines.push(l);
                    changed = true;
                }
                Ok(RunMsg::Done(res)) => {
                    let outcome = match res {
                        Ok(s) => s,
                        Err(e) => format!("error: {e}"),
                    };
                    let lines = std::mem::take(&mut r.lines);
                    let item = r.item.clone();
                    self.running = None;
                    self.message = Some(format!("{item}: {outcome}"));
                    self.last_run = Some(LastRun {
                        item,
                        lines,
                        outcome,
                    });
                    self.reload();
                    return true;
                }
                Err(TryRecvError::Empty) => return changed,
                Err(TryRecvError::Disconnected) => {
                    self.running = None;
                    return true;
                }
            }
        }
    }

    fn no_hunk_message(&self) -> String {
        match self.current_item().map(|i| &self.session.recipe.items[i]) {
            Some(it) if it.kind == ItemKind::Rewrite => "no pending hunk for this item".into(),
            Some(it) => format!(
                "{} item: nothing to review (m adds a note{})",
                it.kind.as_str(),
                if it.kind == ItemKind::Command {
                    ", r runs it"
                } else {
                    ""
                }
            ),
            None => "select an item".into(),
        }
    }

    fn prepare_commit(&mut self) {
        let phase = self.session.recipe.phases[self.current_phase()].clone();
        let accepted: Vec<&Hunk> = self
            .plan
            .of_phase(&phase.id)
            .filter(|h| {
                matches!(
                    self.decision(&h.id).map(|r| r.decision),
                    Some(Decision::Accepted)
                )
            })
            .collect();
        if accepted.is_empty() {
            self.message = Some(format!("nothing accepted in {} to commit", phase.title));
            return;
        }
        let mut files: Vec<String> = accepted.iter().map(|h| h.file.clone()).collect();
        files.extend(accepted.iter().filter_map(|h| h.rename_to.clone()));
        files.sort();
        files.dedup();
        // Preview the message as the commit will have it.
        let mut preview = self.state.clone();
        for h in &accepted {
            preview.decide(&h.id, &h.item, &h.file, &h.summary, Decision::Applied);
        }
        let message = charon::session::commit_message(
            &self.session.recipe,
            &phase,
            &preview,
            self.pair.as_deref(),
        );
        self.mode = Mode::Commit {
            phase: phase.id.clone(),
            message,
            files,
        };
    }

    fn commit(&mut self, phase: &str) {
        self.mode = Mode::Normal;
        self.save();
        let r = self.session.apply_selected(
            &[phase.to_string()],
            Selection::Accepted,
            true,
            self.pair.as_deref(),
        );
        match r {
            Ok(rep) => {
                let c = rep.phases.first().and_then(|p| p.commit.clone());
                self.message = Some(match c {
                    Some(c) => format!(
                        "committed {} ({} hunks) on {}",
                        &c[..8],
                        rep.phases[0].hunks,
                        self.session.recipe.meta.branch
                    ),
                    None => "nothing to commit".into(),
                });
            }
            Err(e) => self.message = Some(format!("commit refused: {e}")),
        }
        self.reload();
    }

    pub fn reload(&mut self) {
        match self.session.load_state() {
            Ok((s, _)) => self.state = s,
            Err(e) => self.message = Some(e.to_string()),
        }
        match self.session.plan() {
            Ok(p) => self.plan = p,
            Err(e) => self.message = Some(e.to_string()),
        }
        self.changed = self.session.changed_since_decided(&self.plan, &self.state);
        self.hunk_ix = 0;
        self.lines_for = None;
        self.refresh_lines();
    }

    fn finish_note(&mut self, item: &str, note: String) {
        let Some(it) = self.session.recipe.item(item).cloned() else {
            return;
        };
        let note = note.trim().to_string();
        match it.kind {
            ItemKind::Manual if !note.is_empty() => {
                self.state.set_item(item, ItemStatus::Done, Some(note));
                self.message = Some(format!("{item} marked done"));
            }
            ItemKind::Timer => {
                let rec = self.state.items.get(item).cloned();
                let hours = u64::from(it.duration_hours.unwrap_or(0));
                match rec.and_then(|r| r.started) {
                    None => {
                        self.state.set_item(
                            item,
                            ItemStatus::Pending,
                            (!note.is_empty()).then_some(note),
                        );
                        if let Some(r) = self.state.items.get_mut(item) {
                            r.started = Some(charon::state::now());
                        }
                        self.message = Some(format!("{item}: {hours} h timer started"));
                    }
                    Some(start) => {
                        let left = (start + hours * 3600).saturating_sub(charon::state::now());
                        if left > 0 && note.is_empty() {
                            self.message = Some(format!(
                                "{item}: {} left; completing early needs a note",
                                fmt_secs(left)
                            ));
                        } else {
                            self.state.set_item(
                                item,
                                ItemStatus::Done,
                                (!note.is_empty()).then_some(note),
                            );
                            if let Some(r) = self.state.items.get_mut(item) {
                                r.started = Some(start);
                            }
                            self.message = Some(format!("{item} done"));
                        }
                    }
                }
            }
            _ if !note.is_empty() => {
                let status = self.state.item_status(item).unwrap_or(ItemStatus::Pending);
                self.state.set_item(item, status, Some(note));
                self.message = Some("note saved".into());
            }
            _ => {
                self.message = Some("empty note: nothing saved".into());
                return;
            }
        }
        self.save();
    }
}

pub fn fmt_secs(s: u64) -> String {
    format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
}

fn describe(o: &charon::command::Outcome) -> String {
    use charon::command::Outcome;
    match o {
        Outcome::Finished {
            code: Some(0),
            duration,
            ..
        } => format!("passed in {:.1} s", duration.as_secs_f64()),
        Outcome::Finished {
            code: Some(c),
            duration,
            ..
        } => format!(
            "failed with exit code {c} in {:.1} s",
            duration.as_secs_f64()
        ),
        Outcome::Finished { code: None, .. } => "killed by a signal".into(),
        Outcome::Blocked { reason } => format!("blocked: {reason}"),
        Outcome::Stopped { reason, .. } => format!("{reason}; its process group was ended"),
    }
}
