//! Reads a Dockerfile into instructions and stages with byte spans, using
//! dockerfile-parser. BuildKit heredoc bodies, which dockerfile-parser rejects
//! (NOTES §18), are masked as comment lines of the same length before parsing,
//! so every span still points into the original text; `RUN <<EOF` bodies are
//! kept as shell to be parsed with tree-sitter. A UTF-8 BOM is masked the same way.

use std::path::Path;

use dockerfile_parser::{
    BreakableString, BreakableStringComponent, Dockerfile, Instruction, ShellOrExecExpr,
};

use super::mapped::MappedText;
use crate::error::{Error, Result};

/// A string with its byte span in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spanned {
    pub text: String,
    pub start: usize,
    pub end: usize,
}

/// The command part of RUN, CMD, ENTRYPOINT or HEALTHCHECK CMD.
#[derive(Debug, Clone)]
pub enum Body {
    /// Shell form, as the shell will see it, mapped back to the file.
    Shell(MappedText),
    /// Exec (JSON) form: each element's unescaped value and the span of the
    /// whole quoted element in the file.
    Exec(Vec<Spanned>),
    /// `RUN <<EOF` with a script body (mapped), or another heredoc form (None:
    /// not analysed, reported).
    Heredoc(Option<MappedText>),
}

#[derive(Debug, Clone)]
pub enum Kind {
    From {
        image: Spanned,
        alias: Option<String>,
    },
    Arg {
        name: String,
        value: Option<Spanned>,
    },
    Run(Body),
    Cmd(Body),
    Entrypoint(Body),
    Healthcheck(Option<Body>),
    Shell(Vec<Spanned>),
    Copy {
        from: Option<String>,
        sources: Vec<String>,
        dest: String,
    },
    /// `ENV` pairs, values as written (quotes removed by the parser, `$VAR`
    /// not yet expanded).
    Env(Vec<(String, String)>),
    /// Any other instruction: its upper-case name and its arguments as the
    /// builder sees them (continuations joined, comment lines dropped).
    Other {
        name: String,
        args: String,
    },
}

#[derive(Debug, Clone)]
pub struct Instr {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
    /// Index of the stage this instruction belongs to (None: before the first FROM).
    pub stage: Option<usize>,
}

#[derive(Debug, Clone)]
pub struct Stage {
    pub index: usize,
    pub name: Option<String>,
    /// Index into `Doc::instrs` of the FROM.
    pub from: usize,
    pub is_final: bool,
}

impl Stage {
    /// The stage's name, or `@final` for an unnamed last stage, or `#N`.
    pub fn label(&self) -> String {
        match (&self.name, self.is_final) {
            (Some(n), _) => n.clone(),
            (None, true) => "@final".into(),
            (None, false) => format!("#{}", self.index),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Doc {
    pub text: String,
    pub instrs: Vec<Instr>,
    pub stages: Vec<Stage>,
}

/// Parse Dockerfile text. `path` only names the file in errors.
pub fn parse(path: &Path, text: &str) -> Result<Doc> {
    if let Some(line) = escape_directive(text) {
        return Err(Error::Parse {
            path: path.to_path_buf(),
            line,
            reason: "the `# escape=` parser directive is not supported; file left alone".into(),
        });
    }
    let (masked, heredocs) = mask(text);
    let ast = Dockerfile::parse(&masked).map_err(|e| parse_error(path, text, &e))?;
    let mut instrs = Vec::with_capacity(ast.instructions.len());
    let mut stage_idx: Option<usize> = None;
    let mut stages = Vec::new();
    for ins in &ast.instructions {
        let (start, mut end) = span_of(ins);
        // An instruction with heredocs ends where its last heredoc ends: whoever
        // removes or replaces it takes the bodies with it.
        if let Some(h) = heredocs
            .iter()
            .filter(|h| h.instr_line_start <= start && start < h.body_start)
            .max_by_key(|h| h.end)
        {
            end = end.max(h.end);
        }
        let kind = match ins {
            Instruction::From(f) => {
                let idx = stages.len();
                stages.push(Stage {
                    index: idx,
                    name: f.alias.as_ref().map(|a| a.content.clone()),
                    from: instrs.len(),
                    is_final: false,
                });
                stage_idx = Some(idx);
                Kind::From {
                    image: Spanned {
                        text: f.image.content.clone(),
                        start: f.image.span.start,
                        end: f.image.span.end,
                    },
                    alias: f.alias.as_ref().map(|a| a.content.clone()),
                }
            }
            Instruction::Arg(a) => Kind::Arg {
                name: a.name.content.clone(),
                value: a.value.as_ref().map(|v| Spanned {
                    text: v.content.clone(),
                    start: v.span.start,
                    end: v.span.end,
                }),
            },
            Instruction::Run(r) => Kind::Run(body(text, &r.expr, start, &heredocs)),
            Instruction::Cmd(c) => Kind::Cmd(body(text, &c.expr, start, &heredocs)),
            Instruction::Entrypoint(e) => Kind::Entrypoint(body(text, &e.expr, start, &heredocs)),
            Instruction::Copy(c) => Kind::Copy {
                from: c
                    .flags
                    .iter()
                    .find(|f| f.name.content.eq_ignore_ascii_case("from"))
                    .map(|f| f.value.content.clone()),
                sources: c.sources.iter().map(|s| s.content.clone()).collect(),
                dest: c.destination.content.clone(),
            },
            Instruction::Misc(m) => {
                let name = m.instruction.content.to_ascii_uppercase();
                match name.as_str() {
                    "SHELL" => Kind::Shell(json_array(text, &m.arguments)),
                    "HEALTHCHECK" => Kind::Healthcheck(healthcheck(text, &m.arguments)),
                    _ => Kind::Other {
                        name,
                        args: shell_text(text, &m.arguments).text.trim().to_string(),
                    },
                }
            }
            Instruction::Label(_) => Kind::Other {
                name: "LABEL".into(),
                args: String::new(),
            },
            Instruction::Env(e) => Kind::Env(
                e.vars
                    .iter()
                    .map(|v| (v.key.content.clone(), breakable(&v.value)))
                    .collect(),
            ),
        };
        instrs.push(Instr {
            kind,
            start,
            end,
            stage: stage_idx,
        });
    }
    if let Some(last) = stages.last_mut() {
        last.is_final = true;
    }
    Ok(Doc {
        text: text.to_string(),
        instrs,
        stages,
    })
}

impl Doc {
    pub fn stage_of(&self, instr: &Instr) -> Option<&Stage> {
        instr.stage.and_then(|i| self.stages.get(i))
    }

    /// The FROM image of a stage.
    pub fn from_image(&self, stage: &Stage) -> Option<&Spanned> {
        match &self.instrs.get(stage.from)?.kind {
            Kind::From { image, .. } => Some(image),
            _ => None,
        }
    }

    /// Global ARGs (declared before the first FROM) with their defaults.
    pub fn global_args(&self) -> impl Iterator<Item = (&String, Option<&Spanned>)> {
        self.instrs
            .iter()
            .filter(|i| i.stage.is_none())
            .filter_map(|i| match &i.kind {
                Kind::Arg { name, value } => Some((name, value.as_ref())),
                _ => None,
            })
    }

    pub fn stage_by_name(&self, name: &str) -> Option<&Stage> {
        self.stages.iter().find(|s| {
            s.name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
    }

    pub fn instrs_of(&self, stage: usize) -> impl Iterator<Item = &Instr> {
        self.instrs.iter().filter(move |i| i.stage == Some(stage))
    }

    /// The comment lines directly above an instruction, as `(start, end)`
    /// spans of each line's text (without the newline), nearest first.
    pub fn comments_above(&self, instr: &Instr) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut pos = super::line_start(&self.text, instr.start);
        while pos > 0 {
            let prev_start = super::line_start(&self.text, pos - 1);
            let line = &self.text[prev_start..pos - 1];
            let trimmed = line.trim_start();
            if trimmed.starts_with('#') {
                let end = prev_start + line.trim_end_matches('\r').len();
                out.push((prev_start, end));
                pos = prev_start;
            } else {
                break;
            }
        }
        out
    }
}

fn parse_error(path: &Path, text: &str, e: &dockerfile_parser::Error) -> Error {
    let (line, reason) = match e {
        dockerfile_parser::Error::ParseError { source } => {
            let line = match source.line_col {
                pest::error::LineColLocation::Pos((l, _)) => l,
                pest::error::LineColLocation::Span((l, _), _) => l,
            };
            let shown: String = text
                .lines()
                .nth(line.saturating_sub(1))
                .unwrap_or("")
                .trim()
                .chars()
                .take(60)
                .collect();
            let reason = if shown.is_empty() {
                "syntax error: the file ends inside an instruction (a dangling `\\`?); the file is left alone".to_string()
            } else {
                format!(
                    "syntax error: dockerfile-parser cannot read `{shown}`; the file is left alone"
                )
            };
            (line, reason)
        }
        other => (0, other.to_string()),
    };
    Error::Parse {
        path: path.to_path_buf(),
        line,
        reason,
    }
}

fn span_of(ins: &Instruction) -> (usize, usize) {
    let s = match ins {
        Instruction::From(i) => &i.span,
        Instruction::Arg(i) => &i.span,
        Instruction::Label(i) => &i.span,
        Instruction::Run(i) => &i.span,
        Instruction::Entrypoint(i) => &i.span,
        Instruction::Cmd(i) => &i.span,
        Instruction::Copy(i) => &i.span,
        Instruction::Env(i) => &i.span,
        Instruction::Misc(i) => &i.span,
    };
    (s.start, s.end)
}

/// A breakable string's value as the parser read it (continuations joined,
/// comment lines dropped, quotes removed where the grammar removes them).
fn breakable(bs: &BreakableString) -> String {
    bs.components
        .iter()
        .filter_map(|c| match c {
            BreakableStringComponent::String(s) => Some(s.content.as_str()),
            BreakableStringComponent::Comment(_) => None,
        })
        .collect()
}

/// The pieces of a breakable string the shell sees (comments dropped).
fn shell_text(text: &str, bs: &BreakableString) -> MappedText {
    let ranges: Vec<(usize, usize)> = bs
        .components
        .iter()
        .filter_map(|c| match c {
            BreakableStringComponent::String(s) => Some((s.span.start, s.span.end)),
            BreakableStringComponent::Comment(_) => None,
        })
        .collect();
    MappedText::from_ranges(text, &ranges)
}

fn body(text: &str, expr: &ShellOrExecExpr, instr_start: usize, heredocs: &[Heredoc]) -> Body {
    match expr {
        ShellOrExecExpr::Shell(bs) => {
            if let Some(h) = heredocs
                .iter()
                .find(|h| h.instr_line_start <= instr_start && instr_start < h.body_start)
            {
                let first = shell_text(text, bs);
                // Only the plain `RUN <<EOF` form runs the body as a script.
                let is_script = first
                    .text
                    .trim()
                    .trim_start_matches("<<-")
                    .trim_start_matches("<<")
                    .trim_matches(|c| c == '"' || c == '\'')
                    == h.delimiter;
                return Body::Heredoc(is_script.then(|| {
                    MappedText::contiguous(h.body_start, &text[h.body_start..h.body_end])
                }));
            }
            Body::Shell(shell_text(text, bs))
        }
        ShellOrExecExpr::Exec(arr) => Body::Exec(
            arr.elements
                .iter()
                .map(|e| Spanned {
                    text: e.content.clone(),
                    start: e.span.start,
                    end: e.span.end,
                })
                .collect(),
        ),
    }
}

/// Elements of a JSON array argument (SHELL), with spans of each quoted element.
fn json_array(text: &str, bs: &BreakableString) -> Vec<Spanned> {
    json_array_text(&shell_text(text, bs))
}

/// The command of a HEALTHCHECK (None for `HEALTHCHECK NONE`).
fn healthcheck(text: &str, bs: &BreakableString) -> Option<Body> {
    let m = shell_text(text, bs);
    let mut pos = 0;
    for word in m.text.split_inclusive(char::is_whitespace) {
        let w = word.trim();
        if w.eq_ignore_ascii_case("CMD") {
            let rest_start = pos + word.len();
            let rest = m.text[rest_start..].trim_start();
            let lead = m.text.len() - rest_start - rest.len();
            let body_start = rest_start + lead;
            if rest.starts_with('[') {
                let (fs, _) = m.range_to_file(body_start, m.text.len());
                let sub = MappedText::contiguous(fs, &text[fs..m.end_to_file(m.text.len())]);
                let elems = json_array_text(&sub);
                return Some(Body::Exec(elems));
            }
            let ranges = sub_ranges(&m, body_start, m.text.len());
            return Some(Body::Shell(MappedText::from_ranges(text, &ranges)));
        }
        pos += word.len();
    }
    None
}

fn json_array_text(m: &MappedText) -> Vec<Spanned> {
    let mut out = Vec::new();
    let bytes = m.text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'"' {
            let start = i;
            let mut j = i + 1;
            while j < bytes.len() && bytes[j] != b'"' {
                if bytes[j] == b'\\' {
                    j += 1;
                }
                j += 1;
            }
            let end = (j + 1).min(bytes.len());
            let raw = &m.text[start..end];
            let value = serde_json::from_str::<String>(raw)
                .unwrap_or_else(|_| raw.trim_matches('"').to_string());
            let (fs, fe) = m.range_to_file(start, end);
            out.push(Spanned {
                text: value,
                start: fs,
                end: fe,
            });
            i = end;
        } else {
            i += 1;
        }
    }
    out
}

/// File ranges of the assembled range `start..end` of `m`, piece by piece.
fn sub_ranges(m: &MappedText, start: usize, end: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut v = start;
    while v < end {
        let fs = m.start_to_file(v);
        // Extend while the mapping stays contiguous.
        let mut w = v + 1;
        while w < end && m.start_to_file(w) == fs + (w - v) {
            w += 1;
        }
        out.push((fs, fs + (w - v)));
        v = w;
    }
    out
}

/// Line of an `# escape=` parser directive, if the file has one.
fn escape_directive(text: &str) -> Option<usize> {
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if !t.starts_with('#') {
            return None;
        }
        let d = t.trim_start_matches('#').trim().to_ascii_lowercase();
        if d.starts_with("escape") && d.contains('=') {
            return Some(i + 1);
        }
        if t.trim_start_matches('#').trim().is_empty() {
            return None;
        }
    }
    None
}

#[derive(Debug, Clone)]
struct Heredoc {
    instr_line_start: usize,
    body_start: usize,
    body_end: usize,
    /// Where the terminator line's text ends (the file's end when unterminated).
    end: usize,
    delimiter: String,
}

/// Mask heredoc bodies (and a BOM) so dockerfile-parser accepts the file while
/// every byte offset stays valid.
fn mask(text: &str) -> (String, Vec<Heredoc>) {
    let mut bytes = text.as_bytes().to_vec();
    if text.starts_with('\u{feff}') {
        bytes[..3].copy_from_slice(b"   ");
    }
    let mut heredocs = Vec::new();
    let mut pos = 0;
    let mut pending: Vec<(String, bool, usize)> = Vec::new();
    let mut body_start = 0;
    let mut instr_line_start = 0;
    while pos < text.len() {
        let end = super::line_end(text, pos);
        let line = text[pos..end].trim_end_matches(['\n', '\r']);
        if let Some((delim, strip_tabs, _)) = pending.first().cloned() {
            let cmp = if strip_tabs {
                line.trim_start_matches('\t')
            } else {
                line
            };
            for b in &mut bytes[pos..pos + line.len()] {
                *b = b' ';
            }
            if !line.is_empty() {
                bytes[pos] = b'#';
            }
            if cmp == delim {
                heredocs.push(Heredoc {
                    instr_line_start,
                    body_start,
                    body_end: pos,
                    end: pos + line.len(),
                    delimiter: delim,
                });
                pending.remove(0);
                body_start = end;
            }
        } else {
            let t = line.trim_start();
            let kw = t
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_ascii_uppercase();
            if matches!(kw.as_str(), "RUN" | "COPY" | "ADD") {
                let found = heredoc_markers(t);
                if !found.is_empty() {
                    pending = found.into_iter().map(|(d, s)| (d, s, pos)).collect();
                    body_start = end;
                    instr_line_start = pos;
                }
            }
        }
        pos = end;
    }
    // An unterminated heredoc: BuildKit reads to the end of the file; so do we.
    if let Some((delim, _, _)) = pending.first() {
        heredocs.push(Heredoc {
            instr_line_start,
            body_start,
            body_end: text.len(),
            end: text.len(),
            delimiter: delim.clone(),
        });
    }
    // Masking only replaced whole lines of ASCII, so this cannot fail; fall
    // back to the original text if it somehow does.
    let masked = String::from_utf8(bytes).unwrap_or_else(|_| text.to_string());
    (masked, heredocs)
}

/// `<<EOF`, `<<-EOF`, `<<"EOF"`, `<<'EOF'` markers on an instruction line.
fn heredoc_markers(line: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(i) = rest.find("<<") {
        let mut after = &rest[i + 2..];
        let strip = after.starts_with('-');
        if strip {
            after = &after[1..];
        }
        let quoted = after.starts_with('"') || after.starts_with('\'');
        let inner = after.trim_start_matches(['"', '\'']);
        let name: String = inner
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty()
            && (quoted
                || name
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '_'))
        {
            out.push((name.clone(), strip));
        }
        rest = &after[name.len().min(after.len())..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(t: &str) -> Doc {
        parse(Path::new("Dockerfile"), t).unwrap()
    }

    #[test]
    fn stages_and_images() {
        let d = p("ARG IMG=alpine:3.23\nFROM golang:1.25-alpine AS build\nRUN true\nFROM ${IMG}\n");
        assert_eq!(d.stages.len(), 2);
        assert_eq!(d.stages[0].label(), "build");
        assert_eq!(d.stages[1].label(), "@final");
        let img = d.from_image(&d.stages[0]).unwrap();
        assert_eq!(&d.text[img.start..img.end], "golang:1.25-alpine");
        let (name, val) = d.global_args().next().unwrap();
        assert_eq!(name, "IMG");
        let v = val.unwrap();
        assert_eq!(&d.text[v.start..v.end], "alpine:3.23");
    }

    #[test]
    fn run_shell_text_drops_continuations_and_comments() {
        let t = "FROM alpine\nRUN apk add \\\n    # a comment\n    curl \\\n    bash\n";
        let d = p(t);
        let Kind::Run(Body::Shell(m)) = &d.instrs[1].kind else {
            panic!()
        };
        assert!(!m.text.contains('#'));
        assert!(!m.text.contains('\\'));
        let c = m.text.find("curl").unwrap();
        let (s, e) = m.range_to_file(c, c + 4);
        assert_eq!(&t[s..e], "curl");
    }

    #[test]
    fn exec_form_spans() {
        let t = "FROM alpine\nENTRYPOINT [\"su-exec\", \"app\"]\n";
        let d = p(t);
        let Kind::Entrypoint(Body::Exec(v)) = &d.instrs[1].kind else {
            panic!()
        };
        assert_eq!(v[0].text, "su-exec");
        assert!(t[v[0].start..v[0].end].contains("su-exec"));
    }

    #[test]
    fn heredoc_bodies_are_masked_and_kept() {
        let t = "FROM alpine:3.23\nRUN <<EOF\napk add curl\nFROM nothing\nEOF\nRUN echo ok\n";
        let d = p(t);
        assert_eq!(d.stages.len(), 1);
        let Kind::Run(Body::Heredoc(Some(m))) = &d.instrs[1].kind else {
            panic!("{:?}", d.instrs[1].kind)
        };
        assert_eq!(m.text, "apk add curl\nFROM nothing\n");
        assert_eq!(m.start_to_file(0), t.find("apk").unwrap());
        assert!(matches!(&d.instrs[2].kind, Kind::Run(Body::Shell(_))));
    }

    #[test]
    fn bom_and_crlf() {
        let t = "\u{feff}FROM alpine:3.23\r\nRUN apk add curl\r\n";
        let d = p(t);
        let img = d.from_image(&d.stages[0]).unwrap();
        assert_eq!(&t[img.start..img.end], "alpine:3.23");
    }

    #[test]
    fn escape_directive_is_reported() {
        let e = parse(Path::new("D"), "# escape=`\nFROM alpine\n").unwrap_err();
        assert!(e.to_string().starts_with("D:1: "), "{e}");
    }

    #[test]
    fn healthcheck_command() {
        let t = "FROM alpine\nHEALTHCHECK --interval=5s \\\n  CMD wget -q --spider http://x/ || exit 1\n";
        let d = p(t);
        let Kind::Healthcheck(Some(Body::Shell(m))) = &d.instrs[1].kind else {
            panic!("{:?}", d.instrs[1].kind)
        };
        assert!(m.text.trim_start().starts_with("wget -q"), "{:?}", m.text);
        let w = m.text.find("wget").unwrap();
        assert_eq!(&t[m.start_to_file(w)..m.start_to_file(w) + 4], "wget");
    }

    #[test]
    fn comments_above() {
        let t = "FROM alpine\n# hadolint ignore=DL3018\n# other\nRUN apk add x\n";
        let d = p(t);
        let c = d.comments_above(&d.instrs[1]);
        assert_eq!(c.len(), 2);
        assert_eq!(&t[c[1].0..c[1].1], "# hadolint ignore=DL3018");
    }
}
