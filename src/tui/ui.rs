//! Drawing: `draw(&App)` renders every view from state alone. Only the
//! visible lines of a diff are turned into widgets, so a 10,000-line hunk
//! costs what a screenful costs. NO_COLOR turns colour off (reverse/bold
//! still mark selection and emphasis).

use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::app::{fmt_secs, App, Focus, Mode, Row};
use super::keymap::Keymap;
use charon::recipe::ItemKind;

pub const MIN_W: u16 = 60;
pub const MIN_H: u16 = 15;

pub struct Theme {
    pub color: bool,
}

impl Theme {
    fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::default().fg(c)
        } else {
            Style::default()
        }
    }
}

pub fn draw(f: &mut Frame, app: &mut App, keys: &Keymap, theme: &Theme) {
    let area = f.area();
    if area.width < MIN_W || area.height < MIN_H {
        let msg = format!(
            "Terminal too small: {}×{}\nneeds at least {MIN_W}×{MIN_H}\n\nq quits",
            area.width, area.height
        );
        f.render_widget(Paragraph::new(msg).wrap(Wrap { trim: true }), area);
        return;
    }
    let outer = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Min(5),
            Constraint::Length(1),
            Constraint::Length(1),
        ])
        .split(area);
    let main = Layout::default()
        .direction(Direction::Horizontal)
        .constraints([Constraint::Percentage(38), Constraint::Percentage(62)])
        .split(outer[0]);
    checklist(f, app, main[0], theme);
    let right = Layout::default()
        .direction(Direction::Vertical)
        .constraints([Constraint::Min(5), Constraint::Length(9)])
        .split(main[1]);
    detail(f, app, right[0], right[1], theme);
    status_line(f, app, outer[1], theme);
    key_bar(f, app, keys, outer[2], theme);
    match &app.mode {
        Mode::Help => help(f, keys, area),
        Mode::Commit { message, files, .. } => commit_dialog(f, message, files, area, theme),
        Mode::Note { item, input } => note_dialog(f, item, input, area),
        Mode::Normal => {}
    }
}

fn glyph_style(status: &str, theme: &Theme) -> Style {
    match status {
        "done" | "accepted" => theme.fg(Color::Green),
        "rejected" | "failed" => theme.fg(Color::Red),
        "partly" => theme.fg(Color::Yellow),
        "blocked" => theme.fg(Color::Magenta),
        _ => Style::default(),
    }
}

fn checklist(f: &mut Frame, app: &App, area: Rect, theme: &Theme) {
    let recipe = &app.session.recipe;
    let cur_phase = app.current_phase();
    let height = area.height.saturating_sub(2) as usize;
    let first = app.row.saturating_sub(height.saturating_sub(1));
    let mut lines = Vec::new();
    for (r, row) in app.rows.iter().enumerate().skip(first).take(height) {
        let selected = r == app.row;
        let mut line = match row {
            Row::Phase(p) => {
                let ph = &recipe.phases[*p];
                let items: Vec<usize> = recipe
                    .items
                    .iter()
                    .enumerate()
                    .filter(|(_, i)| i.phase == ph.id)
                    .map(|(k, _)| k)
                    .collect();
                let done = items
                    .iter()
                    .filter(|i| matches!(app.item_status(**i), "done" | "skipped"))
                    .count();
                let arrow = if app.collapsed.contains(p) {
                    "▸"
                } else {
                    "▾"
                };
                let mut st = Style::default().add_modifier(Modifier::BOLD);
                if *p == cur_phase {
                    st = st.patch(theme.fg(Color::Cyan));
                }
                Line::from(vec![Span::styled(
                    format!("{arrow} {} {done}/{}", ph.title, items.len()),
                    st,
                )])
            }
            Row::Item(i) => {
                let it = &recipe.items[*i];
                let status = app.item_status(*i);
                let n = app.item_hunks(*i).len();
                let count = if n > 0 {
                    format!(" [{n}]")
                } else {
                    String::new()
                };
                Line::from(vec![
                    Span::raw("  "),
                    Span::styled(
                        charon::report::glyph(status).to_string(),
                        glyph_style(status, theme),
                    ),
                    Span::raw(format!(" {}{count}", it.title)),
                ])
            }
        };
        if selected {
            let st = if app.focus == Focus::Checklist {
                Modifier::REVERSED
            } else {
                Modifier::UNDERLINED
            };
            line = line.patch_style(Style::default().add_modifier(st));
        }
        lines.push(line);
    }
    let title = format!(" Checklist · {} ", recipe.meta.id);
    f.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(title)),
        area,
    );
}

fn detail(f: &mut Frame, app: &mut App, top: Rect, bottom: Rect, theme: &Theme) {
    let Some(i) = app.current_item() else {
        let p = &app.session.recipe.phases[app.current_phase()];
        let text = format!(
            "{}\n\nCommit subject: {}\n\nspace collapses the phase; c commits its accepted hunks.",
            p.title,
            app.session.recipe.commit_subject(p)
        );
        f.render_widget(
            Paragraph::new(text)
                .wrap(Wrap { trim: false })
                .block(Block::default().borders(Borders::ALL).title(" Phase ")),
            top,
        );
        f.render_widget(Block::default().borders(Borders::ALL), bottom);
        return;
    };
    let it = app.session.recipe.items[i].clone();
    if it.kind != ItemKind::Rewrite {
        command_pane(f, app, &it, top, theme);
        let mut text = format!("{} — spec: {}", it.title, it.spec);
        if let Some(n) = &it.note {
            text.push_str(&format!("\n{n}"));
        }
        f.render_widget(
            Paragraph::new(text)
                .wrap(Wrap { trim: false })
                .block(Block::default().borders(Borders::ALL).title(" Item ")),
            bottom,
        );
        return;
    }
    let hunks = app.item_hunks(i);
    let Some(h) = hunks
        .get(app.hunk_ix.min(hunks.len().saturating_sub(1)))
        .map(|h| (*h).clone())
    else {
        let st = app
            .state
            .items
            .get(&it.id)
            .and_then(|r| r.note.clone())
            .unwrap_or_else(|| "nothing pending".into());
        let text = format!("{}\n\nNo hunk to review: {st}.", it.title);
        f.render_widget(
            Paragraph::new(text)
                .wrap(Wrap { trim: false })
                .block(Block::default().borders(Borders::ALL).title(" Hunk ")),
            top,
        );
        f.render_widget(
            Paragraph::new(format!("spec: {}", it.spec))
                .block(Block::default().borders(Borders::ALL).title(" Why ")),
            bottom,
        );
        return;
    };
    let total = hunks.len();
    let rec = app.decision(&h.id).cloned();
    let decision = match &rec {
        Some(r) if r.edited.is_some() => "edited".to_string(),
        Some(r) => format!("{:?}", r.decision).to_lowercase(),
        None if app.changed.contains(&h.id) => "changed since you decided".into(),
        None => "pending".into(),
    };
    let alt = h
        .alt
        .as_ref()
        .map(|a| format!(" · choice {}: {}", a.index + 1, a.label))
        .unwrap_or_default();
    let title = format!(
        " {}:{} · {} · hunk {}/{} · {}{} ",
        h.file,
        h.line,
        h.item,
        app.hunk_ix.min(total - 1) + 1,
        total,
        decision,
        alt
    );
    let inner_h = top.height.saturating_sub(3) as usize;
    app.page = inner_h.max(1);
    let mut lines = vec![Line::from(Span::styled(
        h.summary.clone(),
        Style::default().add_modifier(Modifier::BOLD),
    ))];
    if let Some(to) = &h.rename_to {
        lines.push(Line::from(format!("rename {} → {to}", h.file)));
    }
    let width = top.width.saturating_sub(2) as usize;
    for d in app.lines.iter().skip(app.scroll).take(inner_h) {
        lines.push(diff_line(d, app.hscroll, width, theme));
    }
    let border = if app.focus == Focus::Hunk {
        theme.fg(Color::Cyan)
    } else {
        Style::default()
    };
    f.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(border)
                .title(title),
        ),
        top,
    );
    let mut why: Vec<Line> = h
        .explanation
        .lines()
        .map(|l| Line::from(l.to_string()))
        .collect();
    for fl in &h.flags {
        why.push(Line::from(Span::styled(
            format!("⚑ check: {fl}"),
            theme.fg(Color::Yellow).add_modifier(Modifier::BOLD),
        )));
    }
    f.render_widget(
        Paragraph::new(why).wrap(Wrap { trim: false }).block(
            Block::default()
                .borders(Borders::ALL)
                .title(format!(" Why · {} · spec {} ", h.rule, it.spec)),
        ),
        bottom,
    );
}

fn diff_line<'a>(
    d: &charon::plan::DiffLine,
    hscroll: usize,
    width: usize,
    theme: &Theme,
) -> Line<'a> {
    let no = match (d.tag, d.old_no, d.new_no) {
        ('+', _, Some(n)) => n,
        (_, Some(o), _) => o,
        (_, _, Some(n)) => n,
        _ => 0,
    };
    let base = match d.tag {
        '-' => theme.fg(Color::Red),
        '+' => theme.fg(Color::Green),
        _ => Style::default(),
    };
    let mut spans = vec![Span::styled(format!("{no:>5} {}", d.tag), base)];
    // Cut to the visible window, keeping emphasis ranges.
    let chars: Vec<(usize, char)> = d.text.char_indices().collect();
    let visible: Vec<&(usize, char)> = chars
        .iter()
        .skip(hscroll)
        .take(width.saturating_sub(7))
        .collect();
    let mut cur = String::new();
    let mut cur_emph = false;
    for (byte, c) in visible {
        let emph = d.emphasis.iter().any(|(s, e)| *byte >= *s && *byte < *e);
        if emph != cur_emph && !cur.is_empty() {
            let st = if cur_emph {
                base.add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
            } else {
                base
            };
            spans.push(Span::styled(std::mem::take(&mut cur), st));
        }
        cur_emph = emph;
        cur.push(*c);
    }
    if !cur.is_empty() {
        let st = if cur_emph {
            base.add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
        } else {
            base
        };
        spans.push(Span::styled(cur, st));
    }
    Line::from(spans)
}

fn command_pane(f: &mut Frame, app: &App, it: &charon::recipe::Item, area: Rect, theme: &Theme) {
    let rec = app.state.items.get(&it.id);
    let mut lines: Vec<Line> = vec![Line::from(Span::styled(
        it.title.clone(),
        Style::default().add_modifier(Modifier::BOLD),
    ))];
    match it.kind {
        ItemKind::Command => {
            lines.push(Line::from(""));
            lines.push(Line::from(format!(
                "$ {}",
                it.command.as_deref().unwrap_or("")
            )));
            lines.push(Line::from(format!("needs: {}", it.programs.join(", "))));
            let inner = area.height.saturating_sub(8) as usize;
            let live = app.running.as_ref().filter(|r| r.item == it.id);
            let last = app.last_run.as_ref().filter(|r| r.item == it.id);
            if let Some(r) = live {
                lines.push(Line::from(Span::styled(
                    format!(
                        "running… {:.1} s (x cancels)",
                        r.started.elapsed().as_secs_f64()
                    ),
                    theme.fg(Color::Yellow).add_modifier(Modifier::BOLD),
                )));
                for l in r.lines.iter().skip(r.lines.len().saturating_sub(inner)) {
                    lines.push(Line::from(format!("│ {l}")));
                }
            } else if let Some(r) = last {
                lines.push(Line::from(Span::styled(
                    r.outcome.clone(),
                    Style::default().add_modifier(Modifier::BOLD),
                )));
                for l in r.lines.iter().skip(r.lines.len().saturating_sub(inner)) {
                    lines.push(Line::from(format!("│ {l}")));
                }
            }
            match rec.and_then(|r| r.command.as_ref()) {
                Some(c) => {
                    let st = if c.exit_code == Some(0) {
                        theme.fg(Color::Green)
                    } else {
                        theme.fg(Color::Red)
                    };
                    lines.push(Line::from(Span::styled(
                        format!(
                            "last run: exit {} in {} ms · log {}",
                            c.exit_code
                                .map(|e| e.to_string())
                                .unwrap_or_else(|| "—".into()),
                            c.duration_ms,
                            c.log
                        ),
                        st,
                    )));
                }
                None => lines.push(Line::from("not run yet")),
            }
        }
        ItemKind::Git => lines.push(Line::from(format!(
            "git action: {} (done by apply/commit)",
            it.action.as_deref().unwrap_or("—")
        ))),
        ItemKind::Manual => lines.push(Line::from(
            "Done by a person: press m to mark it done with a note.",
        )),
        ItemKind::Timer => {
            let hours = u64::from(it.duration_hours.unwrap_or(0));
            match rec.and_then(|r| r.started) {
                Some(s) => {
                    let left = (s + hours * 3600).saturating_sub(charon::state::now());
                    lines.push(Line::from(format!(
                        "timer running: {} left of {hours} h (m with a note completes it early)",
                        fmt_secs(left)
                    )));
                }
                None => lines.push(Line::from(format!(
                    "{hours} h timer not started: press m to start it"
                ))),
            }
        }
        ItemKind::Rewrite => {}
    }
    if let Some(n) = rec.and_then(|r| r.note.as_ref()) {
        lines.push(Line::from(format!("note: {n}")));
    }
    lines.push(Line::from(format!(
        "status: {}",
        app.item_status(app.current_item().unwrap_or(0))
    )));
    f.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::default()
                .borders(Borders::ALL)
                .title(format!(" {} ", it.kind.as_str())),
        ),
        area,
    );
}

fn status_line(f: &mut Frame, app: &App, area: Rect, theme: &Theme) {
    let recipe = &app.session.recipe;
    let branch =
        charon::git::current_branch(&app.session.repo).unwrap_or_else(|| "(detached)".into());
    let total = recipe.items.len();
    let done = (0..total)
        .filter(|i| matches!(app.item_status(*i), "done" | "skipped"))
        .count();
    let ph = &recipe.phases[app.current_phase()];
    let text = match &app.message {
        Some(m) => m.clone(),
        None => format!(
            " {} · {} · {} · {done}/{total} done · Debian {} · lock: {} · decisions saved",
            app.session.root.display(),
            branch,
            ph.title,
            recipe.settings.suite,
            app.lock_label
        ),
    };
    let st = if app.message.is_some() {
        theme.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    } else {
        Style::default().add_modifier(Modifier::REVERSED)
    };
    f.render_widget(Paragraph::new(text).style(st), area);
}

fn key_bar(f: &mut Frame, app: &App, keys: &Keymap, area: Rect, _theme: &Theme) {
    let k = |c: &str| keys.key_for(c);
    let text = match &app.mode {
        Mode::Commit { .. } => "y/enter commit · n/esc cancel".to_string(),
        Mode::Note { .. } => "type the note · enter save · esc cancel".to_string(),
        Mode::Help => "any key closes help".to_string(),
        Mode::Normal => {
            let on_hunk = app.current_hunk().is_some();
            let mut v = Vec::new();
            if on_hunk {
                v.push(format!("{} accept", k("accept")));
                v.push(format!("{} reject", k("reject")));
                v.push(format!("{} edit", k("edit")));
                v.push(format!("{} item", k("accept-item")));
                v.push(format!("{} undo", k("undo")));
                v.push(format!("{}/{} scroll", k("scroll-down"), k("scroll-up")));
            } else if app.running.is_some() {
                v.push(format!("{} cancel run", k("cancel")));
            } else {
                v.push(format!("{} note", k("note")));
                v.push(format!("{} run", k("run")));
            }
            v.push(format!("{}/{} move", k("down"), k("up")));
            v.push(format!("{} pane", k("switch-pane")));
            v.push(format!("{} commit", k("commit")));
            v.push(format!("{} help", k("help")));
            v.push(format!("{} quit", k("quit")));
            v.join(" · ")
        }
    };
    f.render_widget(Paragraph::new(text), area);
}

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width.saturating_sub(2));
    let h = h.min(area.height.saturating_sub(2));
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

fn help(f: &mut Frame, keys: &Keymap, area: Rect) {
    let r = centered(area, 64, 28);
    let mut lines = vec![Line::from(
        "Review hunks like `git add -p`; every decision is saved at once.",
    )];
    lines.push(Line::from(""));
    for (cmd, what) in [
        ("accept", "accept the hunk"),
        ("reject", "reject the hunk"),
        ("edit", "edit the hunk's new text in $VISUAL/$EDITOR"),
        ("accept-item", "accept the rest of the item"),
        ("reject-item", "reject the rest of the item"),
        ("split", "split a hunk (where it can be split)"),
        ("undo", "undo the last decision"),
        ("down", "next item (or hunk, in the hunk pane)"),
        ("up", "previous item (or hunk)"),
        ("scroll-down", "scroll the diff"),
        ("page-down", "page the diff"),
        ("scroll-right", "scroll long lines"),
        ("switch-pane", "switch pane"),
        ("toggle", "collapse / expand a phase"),
        ("commit", "commit the phase's accepted hunks"),
        ("run", "run a command item (output streams into its pane)"),
        ("cancel", "cancel the running command"),
        ("note", "note; marks manual items done, starts timers"),
        ("quit", "quit (state is already saved)"),
    ] {
        let ks = keys
            .shown
            .get(cmd)
            .map(|v| v.join(", "))
            .unwrap_or_default();
        lines.push(Line::from(format!("{ks:>12}  {what}")));
    }
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(" Help ")),
        r,
    );
}

fn commit_dialog(f: &mut Frame, message: &str, files: &[String], area: Rect, theme: &Theme) {
    let r = centered(area, 90, 24);
    let mut lines: Vec<Line> = message.lines().map(|l| Line::from(l.to_string())).collect();
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        "Files:",
        Style::default().add_modifier(Modifier::BOLD),
    )));
    for fl in files {
        lines.push(Line::from(format!("  {fl}")));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        "Commit these changes? y/enter commit · n/esc cancel",
        theme.fg(Color::Yellow),
    )));
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::default()
                .borders(Borders::ALL)
                .title(" Commit phase "),
        ),
        r,
    );
}

fn note_dialog(f: &mut Frame, item: &str, input: &str, area: Rect) {
    let r = centered(area, 70, 5);
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(format!("{input}▏")).block(
            Block::default()
                .borders(Borders::ALL)
                .title(format!(" Note for {item} ")),
        ),
        r,
    );
}
