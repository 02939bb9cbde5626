//! Shell read with tree-sitter-bash: the simple commands of a script with
//! their words and byte ranges, and how each could be removed from the command
//! list it sits in. Regions tree-sitter marks as ERROR or MISSING are reported
//! and their commands never offered for rewriting (NOTES §20).

use tree_sitter::{Node, Parser, Tree};

/// A word of a command with its byte range in the script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub start: usize,
    pub end: usize,
    pub raw: String,
    /// The word's value after quote removal, when it has no expansion.
    pub value: Option<String>,
}

impl Word {
    /// The static value, or the raw text when the word expands at run time.
    pub fn text(&self) -> &str {
        self.value.as_deref().unwrap_or(&self.raw)
    }
    pub fn is(&self, s: &str) -> bool {
        self.value.as_deref() == Some(s)
    }
}

/// How a command can be taken out of the script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// Delete this range (the command plus the operator joining it to its list).
    Range(usize, usize),
    /// The command is the only statement of the script.
    Whole,
    /// The command stands alone in a compound statement: replace `start..end` with `:`.
    Replace(usize, usize),
}

/// One simple command.
#[derive(Debug, Clone)]
pub struct Command {
    pub start: usize,
    pub end: usize,
    /// The statement: the command with its redirections.
    pub stmt_start: usize,
    pub stmt_end: usize,
    /// `VAR=value` prefixes.
    pub assigns: Vec<Word>,
    pub name: Word,
    pub args: Vec<Word>,
    pub removal: Removal,
    /// True inside a command substitution.
    pub in_substitution: bool,
    /// True when only `&&`/`||`/`;` lists separate the command from the
    /// script's top level (not inside if/while/functions/pipelines).
    pub top_level: bool,
}

impl Command {
    pub fn name(&self) -> &str {
        self.name.text()
    }
    /// The command a wrapper runs: `exec su-exec …`, `nohup wget …`,
    /// `env A=1 cmd …`, `command cmd …` (not `command -v`) become the inner
    /// command, with its words' ranges; other commands are returned as is.
    pub fn unwrapped(&self) -> Command {
        let mut c = self.clone();
        loop {
            let wrapper = matches!(c.base_name(), "exec" | "nohup" | "time" | "env" | "command");
            if !wrapper || c.args.is_empty() {
                return c;
            }
            let skip = match c.base_name() {
                "env" => c
                    .args
                    .iter()
                    .take_while(|a| a.text().contains('=') && !a.text().starts_with('-'))
                    .count(),
                _ => 0,
            };
            let Some(first) = c.args.get(skip) else {
                return c;
            };
            if first.text().starts_with('-') {
                return c;
            }
            c.name = first.clone();
            c.args = c.args[skip + 1..].to_vec();
        }
    }

    /// Where the word before `w` ends (the command name for the first
    /// argument): deleting `end_before(w)..w.end` removes `w` with its blank.
    pub fn end_before(&self, w: &Word) -> usize {
        match self.args.iter().position(|a| a.start == w.start) {
            Some(0) | None => self.name.end,
            Some(i) => self.args[i - 1].end,
        }
    }

    /// The command name without a directory (`/sbin/su-exec` → `su-exec`).
    pub fn base_name(&self) -> &str {
        let n = self.name.text();
        n.rsplit('/').next().unwrap_or(n)
    }
}

/// A parsed script.
pub struct Script {
    pub src: String,
    tree: Tree,
}

impl std::fmt::Debug for Script {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Script").field("src", &self.src).finish()
    }
}

/// Parse shell source. Fails only if tree-sitter itself cannot run.
pub fn parse(src: &str) -> Result<Script, String> {
    thread_local! {
        // One parser per thread, reused: a plan parses thousands of texts.
        static PARSER: std::cell::RefCell<Option<Parser>> = const { std::cell::RefCell::new(None) };
    }
    let tree = PARSER.with(|cell| {
        let mut slot = cell.borrow_mut();
        let parser = match &mut *slot {
            Some(p) => p,
            None => {
                let mut p = Parser::new();
                p.set_language(&tree_sitter_bash::LANGUAGE.into())
                    .map_err(|e| format!("tree-sitter-bash: {e}"))?;
                slot.insert(p)
            }
        };
        let tree = parser.parse(src, None);
        if tree.is_none() {
            // A parse that did not finish leaves state behind: start afresh.
            parser.reset();
        }
        tree.ok_or_else(|| "tree-sitter could not parse the text".to_string())
    })?;
    Ok(Script {
        src: src.to_string(),
        tree,
    })
}

impl Script {
    /// Byte ranges tree-sitter could not parse (ERROR and MISSING nodes),
    /// widened to whole lines: tree-sitter's recovery can leave a plausible
    /// command next to an error, and nothing on such a line is trusted.
    pub fn error_ranges(&self) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        if !self.tree.root_node().has_error() {
            return out;
        }
        let mut stack = vec![self.tree.root_node()];
        while let Some(n) = stack.pop() {
            if n.is_error() || n.is_missing() {
                let start = crate::analyze::line_start(&self.src, n.start_byte());
                let end = crate::analyze::line_end(&self.src, n.end_byte());
                out.push((start, end));
                continue;
            }
            if n.has_error() {
                let mut c = n.walk();
                stack.extend(n.children(&mut c));
            }
        }
        out.sort_unstable();
        out
    }

    /// Names of the functions the script defines (`name() { … }`).
    pub fn functions(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut stack = vec![self.tree.root_node()];
        while let Some(n) = stack.pop() {
            if n.kind() == "function_definition" {
                if let Some(name) = n.child_by_field_name("name") {
                    out.push(self.src[name.start_byte()..name.end_byte()].to_string());
                }
            }
            let mut cur = n.walk();
            stack.extend(n.children(&mut cur));
        }
        out
    }

    /// Every simple command, in document order, except those that touch an
    /// ERROR region.
    pub fn commands(&self) -> Vec<Command> {
        let errors = self.error_ranges();
        let mut out = Vec::new();
        // One cursor walk in document order, keeping the ancestors: asking a
        // tree-sitter node for its parent walks down from the root again.
        let mut cur = self.tree.walk();
        let mut ancestors: Vec<Node> = Vec::new();
        // Per depth: is the node inside a command substitution?
        let mut in_sub = vec![false];
        loop {
            let n = cur.node();
            let sub = in_sub.last().copied().unwrap_or(false);
            if n.kind() == "command" {
                if let Some(c) = self.command(n, &ancestors, sub) {
                    let clean = errors
                        .iter()
                        .all(|&(s, e)| e <= c.stmt_start || s >= c.stmt_end);
                    if clean {
                        out.push(c);
                    }
                }
            }
            if cur.goto_first_child() {
                ancestors.push(n);
                in_sub.push(sub || n.kind() == "command_substitution");
                continue;
            }
            while !cur.goto_next_sibling() {
                if !cur.goto_parent() {
                    return out;
                }
                ancestors.pop();
                in_sub.pop();
            }
        }
    }

    /// The command at `n`, whose ancestors (root first) are `ancestors`.
    fn command(&self, n: Node, ancestors: &[Node], in_substitution: bool) -> Option<Command> {
        let name_node = n.child_by_field_name("name")?;
        let name = self.word(name_node);
        let mut args = Vec::new();
        let mut assigns = Vec::new();
        let mut cur = n.walk();
        for (i, ch) in n.children(&mut cur).enumerate() {
            match n.field_name_for_child(i as u32) {
                Some("argument") => args.push(self.word(ch)),
                _ if ch.kind() == "variable_assignment" => assigns.push(self.word(ch)),
                _ => {}
            }
        }
        // The statement: the command, or the redirected statement around it.
        let (stmt, outer) = match ancestors.split_last() {
            Some((p, rest)) if p.kind() == "redirected_statement" => (*p, rest),
            _ => (n, ancestors),
        };
        Some(Command {
            start: assigns.first().map(|a| a.start).unwrap_or(n.start_byte()),
            end: n.end_byte(),
            stmt_start: stmt.start_byte(),
            stmt_end: stmt.end_byte(),
            assigns,
            name,
            args,
            removal: self.removal(stmt, outer.last().copied()),
            in_substitution,
            top_level: is_top_level(outer),
        })
    }

    /// How statement `stmt`, child of `parent`, can be removed.
    fn removal(&self, stmt: Node, parent: Option<Node>) -> Removal {
        let Some(parent) = parent else {
            return Removal::Whole;
        };
        match parent.kind() {
            "list" | "pipeline" => {
                let mut cur = parent.walk();
                let kids: Vec<Node> = parent.named_children(&mut cur).collect();
                let idx = kids.iter().position(|k| k.id() == stmt.id());
                match idx {
                    Some(0) if kids.len() > 1 => {
                        Removal::Range(stmt.start_byte(), kids[1].start_byte())
                    }
                    Some(i) if i > 0 => Removal::Range(kids[i - 1].end_byte(), stmt.end_byte()),
                    _ => Removal::Replace(stmt.start_byte(), stmt.end_byte()),
                }
            }
            "program" => {
                // Is there another statement? (Stop at the second one: a
                // long script must not make every removal linear.)
                let mut cur = parent.walk();
                let stmts = parent
                    .named_children(&mut cur)
                    .filter(|k| k.kind() != "comment")
                    .take(2)
                    .count();
                if stmts <= 1 {
                    Removal::Whole
                } else {
                    // Remove the statement and the separator/newline after it
                    // (`;`, or `&` sending it to the background).
                    let mut end = stmt.end_byte();
                    let bytes = self.src.as_bytes();
                    while end < bytes.len() && matches!(bytes[end], b';' | b'&' | b' ' | b'\t') {
                        end += 1;
                    }
                    if end < bytes.len() && bytes[end] == b'\n' {
                        end += 1;
                    }
                    Removal::Range(stmt.start_byte(), end)
                }
            }
            _ => Removal::Replace(stmt.start_byte(), stmt.end_byte()),
        }
    }

    fn word(&self, n: Node) -> Word {
        let raw = self.src[n.start_byte()..n.end_byte()].to_string();
        Word {
            start: n.start_byte(),
            end: n.end_byte(),
            value: self.static_value(n),
            raw,
        }
    }

    fn static_value(&self, n: Node) -> Option<String> {
        let text = &self.src[n.start_byte()..n.end_byte()];
        match n.kind() {
            "command_name" => {
                let mut c = n.walk();
                let kids: Vec<Node> = n.named_children(&mut c).collect();
                match kids.as_slice() {
                    [only] => self.static_value(*only),
                    _ => Some(unescape(text)),
                }
            }
            "word" | "number" => Some(unescape(text)),
            "raw_string" => Some(
                text.trim_start_matches('\'')
                    .trim_end_matches('\'')
                    .to_string(),
            ),
            "string" => {
                let mut c = n.walk();
                let dynamic = n
                    .named_children(&mut c)
                    .any(|k| k.kind() != "string_content");
                if dynamic {
                    None
                } else {
                    let inner = text.strip_prefix('"').and_then(|t| t.strip_suffix('"'))?;
                    Some(inner.replace("\\\"", "\"").replace("\\\\", "\\"))
                }
            }
            "concatenation" => {
                let mut c = n.walk();
                let mut out = String::new();
                for k in n.named_children(&mut c) {
                    out.push_str(&self.static_value(k)?);
                }
                Some(out)
            }
            "variable_assignment" => Some(text.to_string()),
            _ => None,
        }
    }
}

/// Is a statement whose ancestors (root first) are `ancestors` at the top
/// level of the script (only lists and redirections around it)?
fn is_top_level(ancestors: &[Node]) -> bool {
    for x in ancestors.iter().rev() {
        match x.kind() {
            "program" => return true,
            "list" | "redirected_statement" => {}
            _ => return false,
        }
    }
    true
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_in_order_with_words() {
        let s = parse("apk add --no-cache 'curl' \"bash\" && X=1 su-exec app \"$@\"").unwrap();
        let cmds = s.commands();
        assert_eq!(cmds.len(), 2);
        assert_eq!(cmds[0].name(), "apk");
        let vals: Vec<&str> = cmds[0].args.iter().map(|w| w.text()).collect();
        assert_eq!(vals, ["add", "--no-cache", "curl", "bash"]);
        assert_eq!(cmds[1].name(), "su-exec");
        assert_eq!(cmds[1].assigns.len(), 1);
        assert_eq!(cmds[1].args[1].value, None);
    }

    #[test]
    fn removal_ranges() {
        let src = "a && b && c";
        let s = parse(src).unwrap();
        let cmds = s.commands();
        let Removal::Range(x, y) = cmds[2].removal else {
            panic!()
        };
        assert_eq!(format!("{}{}", &src[..x], &src[y..]), "a && b");
        let Removal::Range(x, y) = cmds[0].removal else {
            panic!()
        };
        assert_eq!(format!("{}{}", &src[..x], &src[y..]), "b && c");
        let s = parse("only").unwrap();
        assert_eq!(s.commands()[0].removal, Removal::Whole);
        // A backgrounded statement takes its `&` along (found by the shell fuzzer).
        let src = "#!/bin/sh\napk add >/dev/null 2>&1 &\nexit 1\n";
        let s = parse(src).unwrap();
        let Removal::Range(x, y) = s.commands()[0].removal else {
            panic!()
        };
        assert_eq!(format!("{}{}", &src[..x], &src[y..]), "#!/bin/sh\nexit 1\n");
    }

    #[test]
    fn wrappers_are_unwrapped() {
        let s = parse("exec su-exec app /run; env A=1 nohup wget -q x; command -v apk").unwrap();
        let c: Vec<Command> = s.commands().iter().map(Command::unwrapped).collect();
        assert_eq!(c[0].name(), "su-exec");
        assert_eq!(c[0].args[0].text(), "app");
        assert_eq!(c[1].name(), "wget");
        assert_eq!(c[2].name(), "command");
    }

    #[test]
    fn nested_commands_are_found() {
        let s = parse("if cmd1; then x=$(cmd2 arg); fi").unwrap();
        let names: Vec<String> = s.commands().iter().map(|c| c.name().to_string()).collect();
        assert_eq!(names, ["cmd1", "cmd2"]);
        assert!(s.commands()[1].in_substitution);
    }

    #[test]
    fn error_regions_are_skipped() {
        let s = parse("good arg\nbad ( (\n").unwrap();
        assert!(!s.error_ranges().is_empty());
        assert!(s.commands().iter().all(|c| c.name() != "bad"));
    }
}
