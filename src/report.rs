//! Text renderings of status and plan notes for the CLI. Plain strings, so
//! tests compare them directly; colour is the caller's business.

use crate::plan::Plan;
use crate::session::StatusView;

/// One glyph per item status, shared by the CLI and the TUI.
pub fn glyph(status: &str) -> &'static str {
    match status {
        "done" => "✓",
        "accepted" => "●",
        "partly" => "◐",
        "rejected" => "✗",
        "blocked" => "⊘",
        "skipped" => "–",
        "failed" => "!",
        _ => "○",
    }
}

pub fn status_text(s: &StatusView) -> String {
    let mut out = format!(
        "{} · branch {} · recipe {} {} · Debian {}\n",
        s.repo,
        s.branch.as_deref().unwrap_or("(none)"),
        s.recipe.id,
        s.recipe.version,
        s.suite
    );
    let total: usize = s.phases.iter().map(|p| p.total).sum();
    let done: usize = s.phases.iter().map(|p| p.done).sum();
    out.push_str(&format!("{done}/{total} items done\n"));
    for p in &s.phases {
        out.push_str(&format!("\n{} ({})  {}/{}", p.title, p.id, p.done, p.total));
        if let Some(c) = &p.commit {
            out.push_str(&format!("  commit {}", &c[..c.len().min(8)]));
        }
        out.push('\n');
        for it in &p.items {
            let hunks = if it.kind == "rewrite" && (it.pending + it.applied + it.rejected) > 0 {
                format!(
                    "  [{} pending, {} applied, {} rejected]",
                    it.pending, it.applied, it.rejected
                )
            } else {
                String::new()
            };
            out.push_str(&format!(
                "  {} {:<9} {:<34} {}{}{}\n",
                glyph(it.status),
                it.status,
                it.id,
                it.title,
                if it.added {
                    " (added by charon-tui)"
                } else {
                    ""
                },
                hunks
            ));
        }
    }
    for w in &s.warnings {
        out.push_str(&format!("\nwarning: {w}"));
    }
    if !s.warnings.is_empty() {
        out.push('\n');
    }
    out
}

/// Notes and per-file errors of a plan, one line each (for stderr).
pub fn plan_notes(plan: &Plan) -> String {
    let mut out = String::new();
    for e in &plan.errors {
        out.push_str(&format!("warning: {e}\n"));
    }
    for n in &plan.notes {
        out.push_str(&format!(
            "note: {}:{}: [{}] {}\n",
            n.file, n.line, n.rule, n.message
        ));
    }
    out
}
