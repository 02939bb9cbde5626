//! The plan: rule proposals assigned to checklist items and turned into hunks
//! the operator reviews. A hunk's id hashes its file, rule and the text it
//! changes (not line numbers), so a decision re-attaches after unrelated edits
//! move lines. Rendering (unified diff, JSON, Markdown) lives here too; the
//! plan does no I/O.

use std::collections::BTreeMap;

use serde::Serialize;
use sha2::{Digest, Sha256};
use similar::{ChangeTag, TextDiff};

use crate::analyze::{line_end, line_of, line_start};
use crate::edit::{splice, Edit};
use crate::recipe::Recipe;
use crate::rewrite::{Finding, Proposal};

/// One reviewable change of one file, belonging to one checklist item.
#[derive(Debug, Clone, Serialize)]
pub struct Hunk {
    pub id: String,
    pub phase: String,
    pub item: String,
    pub rule: String,
    pub file: String,
    /// First line the hunk touches (1-based, in the original file).
    pub line: usize,
    pub summary: String,
    pub explanation: String,
    pub flags: Vec<String>,
    /// Set when this hunk is one of several alternatives for one change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alt: Option<crate::rewrite::Alt>,
    /// Byte range of `old_text` in the original file.
    #[serde(skip)]
    pub region: (usize, usize),
    /// A rename of the whole file (no edits).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rename_to: Option<String>,
    /// The file does not exist yet: the hunk creates it.
    pub creates: bool,
    #[serde(skip)]
    pub edits: Vec<Edit>,
    /// The original lines the hunk covers, and what they become.
    pub old_text: String,
    pub new_text: String,
}

/// Something the plan reports without a hunk: a rule's finding, a file that
/// could not be read, a proposal that collided with another.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Note {
    pub file: String,
    pub line: usize,
    pub rule: String,
    pub item: Option<String>,
    pub message: String,
}

/// Everything a rule pass produced for one file.
#[derive(Debug, Clone)]
pub struct FileInput {
    pub path: String,
    /// False when the file does not exist yet (its hunks create it).
    pub exists: bool,
    pub text: String,
    pub proposals: Vec<Proposal>,
    pub findings: Vec<Finding>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Plan {
    pub hunks: Vec<Hunk>,
    pub notes: Vec<Note>,
    /// Files that could not be analysed, with the reason (`path:line: reason`).
    pub errors: Vec<String>,
    /// The original text of every file with hunks.
    #[serde(skip)]
    pub originals: BTreeMap<String, String>,
    /// Files the plan creates.
    #[serde(skip)]
    pub new_files: std::collections::BTreeSet<String>,
}

fn hunk_id(file: &str, rule: &str, old: &str, new: &str) -> String {
    let mut h = Sha256::new();
    for part in [file, rule, old, new] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    let d = h.finalize();
    d.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

/// What one file contributes to the plan.
#[derive(Default)]
struct FileOutcome {
    notes: Vec<Note>,
    hunks: Vec<Hunk>,
}

/// The notes and hunks of one file: its proposals assigned to checklist
/// items, collisions resolved (earlier items win).
fn build_file(recipe: &Recipe, order: &BTreeMap<&str, usize>, f: &FileInput) -> FileOutcome {
    let mut out = FileOutcome::default();
    for fd in &f.findings {
        out.notes.push(Note {
            file: f.path.clone(),
            line: fd.line,
            rule: fd.rule.to_string(),
            item: recipe.item_for(fd.rule, &[]).map(|i| i.id.clone()),
            message: fd.message.clone(),
        });
    }
    let mut assigned: Vec<(usize, &crate::recipe::Item, &Proposal)> = Vec::new();
    for p in &f.proposals {
        match recipe.item_for(p.rule, &p.tags) {
            Some(item) => assigned.push((
                order.get(item.id.as_str()).copied().unwrap_or(usize::MAX),
                item,
                p,
            )),
            None => out.notes.push(Note {
                file: f.path.clone(),
                line: p
                    .edits
                    .first()
                    .map(|e| line_of(&f.text, e.start))
                    .unwrap_or(0),
                rule: p.rule.to_string(),
                item: None,
                message: format!(
                    "rule {} proposed `{}` but no checklist item of the recipe takes it",
                    p.rule, p.summary
                ),
            }),
        }
    }
    // Earlier checklist items win collisions; the loser is re-proposed
    // once the winner is applied.
    assigned.sort_by_key(|(ord, _, p)| (*ord, p.edits.first().map(|e| e.start).unwrap_or(0)));
    let mut taken: Vec<(Edit, Option<String>)> = Vec::new();
    for (_, item, p) in assigned {
        let group = p.alt.as_ref().map(|a| a.group.clone());
        // Alternatives of one choice overlap by design.
        let clash = p.edits.iter().find(|e| {
            taken.iter().any(|(t, g)| {
                (group.is_none() || *g != group)
                    && (t.overlaps(e) || (t.start == e.start && t.end == e.end && t.start != t.end))
            })
        });
        if let Some(clash) = clash {
            out.notes.push(Note {
                file: f.path.clone(),
                line: line_of(&f.text, clash.start),
                rule: p.rule.to_string(),
                item: Some(item.id.clone()),
                message: format!(
                    "`{}` overlaps another change; it is proposed again once that one is applied",
                    p.summary
                ),
            });
            continue;
        }
        let Some(mut h) = make_hunk(&f.path, &f.text, item, p) else {
            continue;
        };
        h.creates = !f.exists;
        taken.extend(p.edits.iter().cloned().map(|e| (e, group.clone())));
        out.hunks.push(h);
    }
    out
}

impl Plan {
    /// Assign proposals to items, drop collisions, and build hunks.
    pub fn build(recipe: &Recipe, files: Vec<FileInput>, errors: Vec<String>) -> Plan {
        let mut plan = Plan {
            errors,
            ..Plan::default()
        };
        let order: BTreeMap<&str, usize> = recipe
            .items
            .iter()
            .enumerate()
            .map(|(i, it)| (it.id.as_str(), i))
            .collect();
        // Each file's hunks are independent of the others': built in parallel,
        // gathered in input order.
        let per_file: Vec<FileOutcome> = {
            use rayon::prelude::*;
            files
                .par_iter()
                .map(|f| build_file(recipe, &order, f))
                .collect()
        };
        for (f, out) in files.into_iter().zip(per_file) {
            plan.notes.extend(out.notes);
            if !out.hunks.is_empty() {
                plan.hunks.extend(out.hunks);
                if !f.exists {
                    plan.new_files.insert(f.path.clone());
                }
                plan.originals.insert(f.path, f.text);
            }
        }
        // Checklist order, then file, then position.
        plan.hunks.sort_by(|a, b| {
            let oa = order.get(a.item.as_str()).copied().unwrap_or(usize::MAX);
            let ob = order.get(b.item.as_str()).copied().unwrap_or(usize::MAX);
            (oa, &a.file, a.line).cmp(&(ob, &b.file, b.line))
        });
        plan
    }

    /// Is this hunk live given the rejected hunk ids? A rejected hunk is
    /// not; of a group of alternatives only the first one not rejected is.
    pub fn is_active(&self, h: &Hunk, rejected: &dyn Fn(&str) -> bool) -> bool {
        if rejected(&h.id) {
            return false;
        }
        let Some(alt) = &h.alt else { return true };
        let first = self
            .hunks
            .iter()
            .filter(|o| o.alt.as_ref().is_some_and(|a| a.group == alt.group) && !rejected(&o.id))
            .min_by_key(|o| o.alt.as_ref().map(|a| a.index).unwrap_or(0));
        first.is_some_and(|f| f.id == h.id)
    }

    pub fn hunk(&self, id: &str) -> Option<&Hunk> {
        self.hunks.iter().find(|h| h.id == id)
    }

    /// Like [`Plan::apply_to`], but a hunk the operator edited replaces its
    /// whole region with the edited text.
    pub fn apply_with(
        &self,
        file: &str,
        text: &str,
        hunks: &[&Hunk],
        edited: &dyn Fn(&Hunk) -> Option<String>,
    ) -> Result<String, crate::edit::SpliceError> {
        let mut edits = Vec::new();
        for h in hunks.iter().filter(|h| h.file == file) {
            match edited(h) {
                Some(t) => edits.push(Edit::new(h.region.0, h.region.1, t)),
                None => edits.extend(h.edits.iter().cloned()),
            }
        }
        splice(text, &edits)
    }

    /// The text of `file` with the given hunks applied.
    pub fn apply_to(
        &self,
        file: &str,
        text: &str,
        hunks: &[&Hunk],
    ) -> Result<String, crate::edit::SpliceError> {
        let edits: Vec<Edit> = hunks
            .iter()
            .filter(|h| h.file == file)
            .flat_map(|h| h.edits.iter().cloned())
            .collect();
        splice(text, &edits)
    }

    /// A unified diff (`git apply` accepts it) of the selected hunks.
    pub fn unified_diff(&self, select: impl Fn(&Hunk) -> bool) -> String {
        let mut out = String::new();
        for (file, text) in &self.originals {
            let hs: Vec<&Hunk> = self
                .hunks
                .iter()
                .filter(|h| h.file == *file && select(h))
                .collect();
            if hs.is_empty() {
                continue;
            }
            let Ok(new) = self.apply_to(file, text, &hs) else {
                continue;
            };
            if let Some(to) = hs.iter().find_map(|h| h.rename_to.as_deref()) {
                out.push_str(&format!(
                    "diff --git a/{file} b/{to}\nsimilarity index 100%\nrename from {file}\nrename to {to}\n"
                ));
            } else if self.new_files.contains(file) {
                out.push_str(&new_file_diff(file, &new));
            } else {
                out.push_str(&file_diff(file, text, &new));
            }
        }
        out
    }

    /// Hunks of one phase, in checklist order.
    pub fn of_phase<'a>(&'a self, phase: &'a str) -> impl Iterator<Item = &'a Hunk> + 'a {
        self.hunks.iter().filter(move |h| h.phase == phase)
    }

    /// A Markdown review document for a pair.
    pub fn markdown(&self, recipe: &Recipe, select: impl Fn(&Hunk) -> bool) -> String {
        let mut out = format!(
            "# Migration review: {}\n\nRecipe `{}` {} · Debian suite `{}`\n",
            recipe.meta.title, recipe.meta.id, recipe.meta.version, recipe.settings.suite
        );
        for phase in &recipe.phases {
            let hs: Vec<&Hunk> = self
                .hunks
                .iter()
                .filter(|h| h.phase == phase.id && select(h))
                .collect();
            if hs.is_empty() {
                continue;
            }
            out.push_str(&format!("\n## {} (`{}`)\n", phase.title, phase.id));
            for item in recipe.items_of(&phase.id) {
                let ih: Vec<&&Hunk> = hs.iter().filter(|h| h.item == item.id).collect();
                if ih.is_empty() {
                    continue;
                }
                out.push_str(&format!(
                    "\n### {} (`{}`, spec: {})\n",
                    item.title, item.id, item.spec
                ));
                for h in ih {
                    out.push_str(&format!(
                        "\n#### `{}` {}:{} — {}\n\n",
                        h.id, h.file, h.line, h.summary
                    ));
                    for line in h.explanation.lines() {
                        out.push_str(&format!("- {line}\n"));
                    }
                    for f in &h.flags {
                        out.push_str(&format!("- **check:** {f}\n"));
                    }
                    out.push_str("\n```diff\n");
                    out.push_str(&hunk_diff_text(h));
                    out.push_str("```\n\n- [ ] accept\n");
                }
            }
        }
        if !self.notes.is_empty() {
            out.push_str("\n## Left alone (convert by hand)\n\n");
            for n in &self.notes {
                out.push_str(&format!(
                    "- {}:{} [{}] {}\n",
                    n.file, n.line, n.rule, n.message
                ));
            }
        }
        out
    }
}

fn make_hunk(file: &str, text: &str, item: &crate::recipe::Item, p: &Proposal) -> Option<Hunk> {
    if let Some(to) = &p.rename_to {
        return Some(Hunk {
            id: hunk_id(file, p.rule, file, to),
            phase: item.phase.clone(),
            item: item.id.clone(),
            rule: p.rule.to_string(),
            file: file.to_string(),
            line: 1,
            summary: p.summary.clone(),
            explanation: p.explanation.clone(),
            flags: p.flags.clone(),
            alt: p.alt.clone(),
            rename_to: Some(to.clone()),
            creates: false,
            region: (0, 0),
            edits: vec![],
            old_text: String::new(),
            new_text: String::new(),
        });
    }
    let start = p.edits.iter().map(|e| e.start).min()?;
    let end = p.edits.iter().map(|e| e.end).max()?;
    let rs = line_start(text, start);
    let re = if end > rs && text[..end].ends_with('\n') {
        end
    } else {
        line_end(text, end)
    };
    let re = re.max(rs);
    let old_text = text[rs..re].to_string();
    let shifted: Vec<Edit> = p
        .edits
        .iter()
        .map(|e| Edit::new(e.start - rs, e.end - rs, e.replacement.clone()))
        .collect();
    let new_text = splice(&old_text, &shifted).ok()?;
    if new_text == old_text {
        return None;
    }
    Some(Hunk {
        id: hunk_id(file, p.rule, &old_text, &new_text),
        phase: item.phase.clone(),
        item: item.id.clone(),
        rule: p.rule.to_string(),
        file: file.to_string(),
        line: line_of(text, rs),
        summary: p.summary.clone(),
        explanation: p.explanation.clone(),
        flags: p.flags.clone(),
        alt: p.alt.clone(),
        rename_to: None,
        creates: false,
        region: (rs, re),
        edits: p.edits.clone(),
        old_text,
        new_text,
    })
}

/// Unified diff of one file.
pub fn file_diff(file: &str, old: &str, new: &str) -> String {
    let diff = TextDiff::from_lines(old, new);
    let mut out = format!("diff --git a/{file} b/{file}\n");
    out.push_str(
        &diff
            .unified_diff()
            .context_radius(3)
            .header(&format!("a/{file}"), &format!("b/{file}"))
            .to_string(),
    );
    out
}

/// Unified diff creating a file.
pub fn new_file_diff(file: &str, new: &str) -> String {
    let diff = TextDiff::from_lines("", new);
    let body = diff
        .unified_diff()
        .context_radius(3)
        .header("/dev/null", &format!("b/{file}"))
        .to_string();
    format!("diff --git a/{file} b/{file}\nnew file mode 100644\n{body}")
}

/// The `-`/`+` lines of one hunk (no context), for reviews.
pub fn hunk_diff_text(h: &Hunk) -> String {
    let diff = TextDiff::from_lines(&h.old_text, &h.new_text);
    let mut out = String::new();
    for change in diff.iter_all_changes() {
        let sign = match change.tag() {
            ChangeTag::Delete => '-',
            ChangeTag::Insert => '+',
            ChangeTag::Equal => ' ',
        };
        out.push(sign);
        out.push_str(change.value());
        if !change.value().ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

/// One line of a hunk's diff view, with the byte ranges that changed within it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiffLine {
    pub tag: char,
    pub old_no: Option<usize>,
    pub new_no: Option<usize>,
    pub text: String,
    /// Ranges of `text` that differ from the paired line (word-level emphasis).
    pub emphasis: Vec<(usize, usize)>,
}

/// Diff lines of a hunk with line numbers and inline (word-level) emphasis.
pub fn hunk_lines(h: &Hunk) -> Vec<DiffLine> {
    let diff = TextDiff::from_lines(&h.old_text, &h.new_text);
    let mut out = Vec::new();
    for op in diff.ops() {
        for change in diff.iter_inline_changes(op) {
            let tag = match change.tag() {
                ChangeTag::Delete => '-',
                ChangeTag::Insert => '+',
                ChangeTag::Equal => ' ',
            };
            let mut text = String::new();
            let mut emphasis = Vec::new();
            for (emph, part) in change.iter_strings_lossy() {
                let part = part.trim_end_matches(['\n', '\r']);
                if emph {
                    emphasis.push((text.len(), text.len() + part.len()));
                }
                text.push_str(part);
            }
            out.push(DiffLine {
                tag,
                old_no: change.old_index().map(|i| i + h.line),
                new_no: change.new_index().map(|i| i + h.line),
                text,
                emphasis,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prop(rule: &'static str, tags: &[&str], edits: Vec<Edit>) -> Proposal {
        Proposal {
            rule,
            tags: tags.iter().map(|s| s.to_string()).collect(),
            edits,
            summary: "s".into(),
            explanation: "e".into(),
            flags: vec![],
            alt: None,
            rename_to: None,
        }
    }

    #[test]
    fn ids_are_stable_across_line_moves() {
        let r = Recipe::embedded().unwrap();
        let t1 = "FROM alpine:3.23 AS crowdsec-fallback\n";
        let t2 = "# moved\n\nFROM alpine:3.23 AS crowdsec-fallback\n";
        let mk = |t: &str| {
            let s = t.find("alpine").unwrap();
            Plan::build(
                &r,
                vec![FileInput {
                    path: "Dockerfile".into(),
                    exists: true,
                    text: t.into(),
                    proposals: vec![prop(
                        "base-image",
                        &["stage=crowdsec-fallback", "site=from"],
                        vec![Edit::new(s, s + 11, "debian:bookworm-slim")],
                    )],
                    findings: vec![],
                }],
                vec![],
            )
        };
        let (a, b) = (mk(t1), mk(t2));
        assert_eq!(a.hunks[0].id, b.hunks[0].id);
        assert_eq!(a.hunks[0].item, "dockerfile.crowdsec-fallback");
        assert_eq!(b.hunks[0].line, 3);
    }

    #[test]
    fn overlapping_proposals_keep_the_earlier_item() {
        let r = Recipe::embedded().unwrap();
        let t = "RUN apk add su-exec\n";
        let plan = Plan::build(
            &r,
            vec![FileInput {
                path: "Dockerfile".into(),
                exists: true,
                text: t.into(),
                proposals: vec![
                    prop("su-exec", &[], vec![Edit::new(12, 19, "gosu")]),
                    prop(
                        "apk-to-apt",
                        &[],
                        vec![Edit::new(4, 19, "apt-get install gosu")],
                    ),
                ],
                findings: vec![],
            }],
            vec![],
        );
        assert_eq!(plan.hunks.len(), 1);
        assert_eq!(plan.hunks[0].rule, "apk-to-apt");
        assert!(plan.notes[0].message.contains("overlaps"));
    }

    #[test]
    fn diff_is_well_formed() {
        let d = file_diff("x", "a\nb\n", "a\nc\n");
        assert!(
            d.starts_with("diff --git a/x b/x\n--- a/x\n+++ b/x\n@@"),
            "{d}"
        );
        assert!(d.contains("-b\n+c\n"));
    }

    #[test]
    fn inline_emphasis() {
        let h = Hunk {
            id: "x".into(),
            phase: "p".into(),
            item: "i".into(),
            rule: "r".into(),
            file: "f".into(),
            line: 10,
            summary: String::new(),
            explanation: String::new(),
            flags: vec![],
            alt: None,
            rename_to: None,
            creates: false,
            region: (0, 0),
            edits: vec![],
            old_text: "FROM alpine:3.23 AS x\n".into(),
            new_text: "FROM debian:bookworm-slim AS x\n".into(),
        };
        let lines = hunk_lines(&h);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].tag, '-');
        assert_eq!(lines[0].old_no, Some(10));
        assert!(!lines[1].emphasis.is_empty());
        let (s, e) = lines[1].emphasis[0];
        assert!(lines[1].text[s..e].contains("debian") || lines[1].text[s..e].contains("bookworm"));
    }
}
