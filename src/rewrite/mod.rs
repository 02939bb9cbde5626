//! Rules turn facts into edits. Each rule looks at syntax (a Dockerfile's
//! instructions, a shell command's words) and proposes [`Proposal`]s: edits of
//! one file that belong together, with the explanation a reviewer needs. What
//! a rule cannot convert safely becomes a [`Finding`] and the text is left alone.
//! Rules never read or write files; [`crate::plan`] turns proposals into hunks.

pub mod apk;
pub mod compose;
pub mod dockerfile;
pub mod docs;
pub mod packages;
pub mod renovate;
pub mod script;
pub mod users;
pub mod wget;
pub mod workflow;

use crate::analyze::mapped::MappedText;
use crate::edit::Edit;

impl Proposal {
    /// A plain proposal: no flags, no alternatives, no rename.
    pub fn new(
        rule: &'static str,
        tags: Vec<String>,
        edits: Vec<Edit>,
        summary: impl Into<String>,
        explanation: impl Into<String>,
    ) -> Proposal {
        Proposal {
            rule,
            tags,
            edits,
            summary: summary.into(),
            explanation: explanation.into(),
            ..Proposal::default()
        }
    }
}

/// One of several mutually exclusive proposals for the same change (the
/// spec's "remove the step, or switch the image"): the operator picks one.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Alt {
    /// Shared by the alternatives of one choice.
    pub group: String,
    /// 0 is the default (what `apply --yes` takes).
    pub index: usize,
    pub label: String,
}

/// Edits of one file that stand or fall together, with their reasons.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Proposal {
    /// Rule id (one of [`crate::recipe::KNOWN_RULES`]).
    pub rule: &'static str,
    /// Tags that select the checklist item (`stage=NAME`, `site=from`, ...).
    pub tags: Vec<String>,
    pub edits: Vec<Edit>,
    /// One line: what changes.
    pub summary: String,
    /// Why, which spec step, and where it departs from the spec.
    pub explanation: String,
    /// Things the reviewer must check by hand (`re-pin digest`, `verify with an arm64 build`).
    pub flags: Vec<String>,
    pub alt: Option<Alt>,
    /// Move the file here (repository-relative) instead of editing it.
    pub rename_to: Option<String>,
}

/// What a rule returns for one file.
pub type RuleOutput = (Vec<Proposal>, Vec<Finding>);

/// Something a rule saw but will not rewrite, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    pub rule: &'static str,
    /// 1-based line in the file.
    pub line: usize,
    pub message: String,
}

/// Keep only proposals whose result is still `readable` (the input is).
/// Everything proposed is applied together (the first alternative of each
/// choice; overlaps left out, as the plan would) and checked once; only if
/// that fails is each proposal tried alone, and those that break the file
/// become findings: `"{summary}: {why}, so it is left alone; …"`.
pub fn keep_readable(
    text: &str,
    proposals: &mut Vec<Proposal>,
    findings: &mut Vec<Finding>,
    readable: &dyn Fn(&str) -> bool,
    why: &str,
) {
    if proposals.is_empty() {
        return;
    }
    let applies = |edits: &[Edit]| crate::edit::splice(text, edits).is_ok_and(|t| readable(&t));
    let mut all: Vec<Edit> = Vec::new();
    for p in proposals.iter() {
        if p.alt.as_ref().is_some_and(|a| a.index > 0) {
            continue;
        }
        if p.edits.iter().all(|e| all.iter().all(|t| !t.overlaps(e))) {
            all.extend(p.edits.iter().cloned());
        }
    }
    if applies(&all) {
        return;
    }
    let (keep, broken): (Vec<Proposal>, Vec<Proposal>) = std::mem::take(proposals)
        .into_iter()
        .partition(|p| applies(&p.edits));
    *proposals = keep;
    for p in broken {
        let at = p.edits.iter().map(|e| e.start).min().unwrap_or(0);
        findings.push(Finding {
            rule: p.rule,
            line: crate::analyze::line_of(text, at),
            message: format!(
                "{}: {why}, so it is left alone; convert it by hand",
                p.summary
            ),
        });
    }
}

/// Parse YAML for a rule; invalid YAML becomes a finding (the file is left alone).
pub fn parse_yaml(text: &str, rule: &'static str) -> Result<crate::analyze::yaml::Node, Finding> {
    crate::analyze::yaml::parse(text).map_err(|(line, msg)| Finding {
        rule,
        line,
        message: format!("not valid YAML ({msg}); left alone"),
    })
}

/// A change computed on an assembled shell text (a RUN body, a script).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShellChange {
    pub edits: Vec<Edit>,
    pub summary: String,
    pub notes: Vec<String>,
    pub flags: Vec<String>,
}

impl ShellChange {
    /// Map the edits from assembled-text offsets to file offsets.
    pub fn to_file(&self, m: &MappedText) -> Vec<Edit> {
        self.edits
            .iter()
            .map(|e| {
                let (s, t) = if e.replacement.is_empty() {
                    m.deletion_to_file(e.start, e.end)
                } else {
                    m.range_to_file(e.start, e.end)
                };
                Edit::new(s, t, e.replacement.clone())
            })
            .collect()
    }
}

/// Quote a word for the shell only when it needs it.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// The name a command will have once the migration's rules have run
/// (`wget` → `curl`, `su-exec` → `gosu`/`setpriv`).
pub fn name_after_migration<'a>(name: &'a str, recipe: &crate::recipe::Recipe) -> &'a str {
    match name {
        "wget" => "curl",
        "su-exec" => match recipe.settings.privilege_drop {
            crate::recipe::PrivilegeDrop::Gosu => "gosu",
            crate::recipe::PrivilegeDrop::Setpriv => "setpriv",
        },
        n => n,
    }
}

/// Rules whose implementation is still to come: their items are never marked
/// done by `apply` just because they produced no hunk.
pub const PENDING_RULES: &[&str] = &[];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_readable_drops_only_the_proposal_that_breaks_the_file() {
        // "Readable" here: brackets balance.
        let balanced = |t: &str| t.matches('(').count() == t.matches(')').count();
        let text = "a(b) c d";
        let ok = Proposal::new("x", vec![], vec![Edit::new(5, 6, "C")], "c → C", "");
        let bad = Proposal::new("y", vec![], vec![Edit::new(3, 4, "")], "drop )", "");
        let (mut props, mut finds) = (vec![ok.clone(), bad], Vec::new());
        keep_readable(text, &mut props, &mut finds, &balanced, "unbalanced");
        assert_eq!(props.len(), 1);
        assert_eq!(props[0].rule, "x");
        assert_eq!(finds.len(), 1);
        assert_eq!(finds[0].rule, "y");
        assert_eq!(
            finds[0].message,
            "drop ): unbalanced, so it is left alone; convert it by hand"
        );
        // Everything readable together: nothing is tried alone, nothing dropped.
        let (mut props, mut finds) = (vec![ok], Vec::new());
        keep_readable(text, &mut props, &mut finds, &balanced, "unbalanced");
        assert_eq!((props.len(), finds.len()), (1, 0));
    }
}
