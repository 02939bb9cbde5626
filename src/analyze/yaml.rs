//! YAML with byte spans, built from yaml-rust2's marked events, so rules can
//! edit a scalar in place and keep every other byte (indentation, comments,
//! key order). yaml-rust2 reports where a node starts (in characters); this
//! module converts to bytes and works out where each scalar ends. A block
//! scalar (`run: |`) also carries the ranges of its content lines, so its
//! text can be parsed as shell and edits mapped back.

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::mapped::MappedText;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scalar {
    pub value: String,
    pub style: TScalarStyle,
    pub start: usize,
    /// End of the scalar's text in the file (after a closing quote); equal
    /// to `start` when it could not be worked out (then it is not edited).
    pub end: usize,
    /// For literal block scalars whose content maps back exactly.
    pub block: Option<MappedText>,
}

impl Scalar {
    /// The scalar's value as a mapped text, when its bytes in the file are
    /// exactly its value (plain, quoted without escapes, literal blocks).
    pub fn mapped(&self, text: &str) -> Option<MappedText> {
        if let Some(b) = &self.block {
            return Some(b.clone());
        }
        if self.end <= self.start {
            return None;
        }
        let (s, e) = match self.style {
            TScalarStyle::Plain => (self.start, self.end),
            TScalarStyle::DoubleQuoted | TScalarStyle::SingleQuoted => {
                (self.start + 1, self.end - 1)
            }
            _ => return None,
        };
        (text.get(s..e)? == self.value).then(|| MappedText::contiguous(s, &self.value))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Scalar(Scalar),
    Seq {
        start: usize,
        end: usize,
        items: Vec<Node>,
        flow: bool,
    },
    Map {
        start: usize,
        end: usize,
        entries: Vec<(Scalar, Node)>,
        flow: bool,
    },
}

impl Node {
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map { entries, .. } => {
                entries.iter().find(|(k, _)| k.value == key).map(|(_, v)| v)
            }
            _ => None,
        }
    }
    pub fn key(&self, key: &str) -> Option<&Scalar> {
        match self {
            Node::Map { entries, .. } => {
                entries.iter().find(|(k, _)| k.value == key).map(|(k, _)| k)
            }
            _ => None,
        }
    }
    pub fn as_scalar(&self) -> Option<&Scalar> {
        match self {
            Node::Scalar(s) => Some(s),
            _ => None,
        }
    }
    pub fn items(&self) -> &[Node] {
        match self {
            Node::Seq { items, .. } => items,
            _ => &[],
        }
    }
    pub fn entries(&self) -> &[(Scalar, Node)] {
        match self {
            Node::Map { entries, .. } => entries,
            _ => &[],
        }
    }
    /// Where the node's text starts (for a mapping: its first key).
    pub fn start(&self) -> usize {
        match self {
            Node::Scalar(s) => s.start,
            Node::Seq { start, .. } => *start,
            Node::Map { start, entries, .. } => {
                entries.first().map(|(k, _)| k.start).unwrap_or(*start)
            }
        }
    }
}

enum Frame {
    Seq {
        start: usize,
        items: Vec<Node>,
        flow: bool,
    },
    Map {
        start: usize,
        entries: Vec<(Scalar, Node)>,
        key: Option<Option<Scalar>>,
        flow: bool,
    },
}

struct Builder<'a> {
    text: &'a str,
    chars: Vec<usize>,
    stack: Vec<Frame>,
    root: Option<Node>,
}

impl Builder<'_> {
    fn byte(&self, m: &Marker) -> usize {
        self.chars
            .get(m.index())
            .copied()
            .unwrap_or(self.text.len())
    }

    fn push(&mut self, node: Node) {
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(node);
                }
            }
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                None => {
                    // This node is a key.
                    *key = Some(match node {
                        Node::Scalar(s) => Some(s),
                        _ => None,
                    });
                }
                Some(Some(k)) => entries.push((k, node)),
                Some(None) => {}
            },
        }
    }

    fn scalar_end(&self, start: usize, value: &str, style: TScalarStyle) -> usize {
        let b = self.text.as_bytes();
        match style {
            TScalarStyle::DoubleQuoted => {
                let mut i = start + 1;
                while i < b.len() {
                    match b[i] {
                        b'\\' => i += 2,
                        b'"' => return i + 1,
                        _ => i += 1,
                    }
                }
                start
            }
            TScalarStyle::SingleQuoted => {
                let mut i = start + 1;
                while i < b.len() {
                    if b[i] == b'\'' {
                        if b.get(i + 1) == Some(&b'\'') {
                            i += 2;
                            continue;
                        }
                        return i + 1;
                    }
                    i += 1;
                }
                start
            }
            TScalarStyle::Plain => {
                if self.text[start..].starts_with(value) {
                    start + value.len()
                } else {
                    start
                }
            }
            _ => start,
        }
    }

    fn block_lines(&self, start: usize, value: &str) -> Option<MappedText> {
        let ls = super::line_start(self.text, start);
        let indent = start - ls;
        let mut ranges = Vec::new();
        let mut pos = ls;
        while pos < self.text.len() {
            let end = super::line_end(self.text, pos);
            let line = &self.text[pos..end];
            let content = line.trim_end_matches(['\n', '\r']);
            if content.trim().is_empty() {
                ranges.push((pos + content.len(), end));
            } else {
                let lead = content.len() - content.trim_start_matches(' ').len();
                if lead < indent {
                    break;
                }
                ranges.push((pos + indent, end));
            }
            pos = end;
        }
        // Trailing blank lines belong to the chomping, not the value.
        while ranges.len() > 1 && {
            let (s, e) = ranges[ranges.len() - 1];
            self.text[s..e].trim().is_empty()
        } {
            ranges.pop();
        }
        let m = MappedText::from_ranges(self.text, &ranges);
        (m.text == value).then_some(m)
    }
}

impl MarkedEventReceiver for Builder<'_> {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let at = self.byte(&mark);
        match ev {
            Event::Scalar(value, style, _, _) => {
                let end = self.scalar_end(at, &value, style);
                let block = (style == TScalarStyle::Literal)
                    .then(|| self.block_lines(at, &value))
                    .flatten();
                self.push(Node::Scalar(Scalar {
                    value,
                    style,
                    start: at,
                    end,
                    block,
                }));
            }
            Event::SequenceStart(..) => {
                let flow = self.text.as_bytes().get(at) == Some(&b'[');
                self.stack.push(Frame::Seq {
                    start: at,
                    items: Vec::new(),
                    flow,
                });
            }
            Event::MappingStart(..) => {
                let flow = self.text.as_bytes().get(at) == Some(&b'{');
                self.stack.push(Frame::Map {
                    start: at,
                    entries: Vec::new(),
                    key: None,
                    flow,
                });
            }
            Event::SequenceEnd => {
                if let Some(Frame::Seq { start, items, flow }) = self.stack.pop() {
                    self.push(Node::Seq {
                        start,
                        end: at,
                        items,
                        flow,
                    });
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Map {
                    start,
                    entries,
                    flow,
                    ..
                }) = self.stack.pop()
                {
                    self.push(Node::Map {
                        start,
                        end: at,
                        entries,
                        flow,
                    });
                }
            }
            _ => {}
        }
    }
}

/// Parse the first document of `text`. Errors carry the 1-based line.
pub fn parse(text: &str) -> Result<Node, (usize, String)> {
    let mut chars: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
    chars.push(text.len());
    let mut b = Builder {
        text,
        chars,
        stack: Vec::new(),
        root: None,
    };
    let mut p = Parser::new_from_str(text);
    p.load(&mut b, false)
        .map_err(|e| (e.marker().line(), e.info().to_string()))?;
    Ok(b.root.unwrap_or(Node::Map {
        start: 0,
        end: 0,
        entries: Vec::new(),
        flow: false,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "a:\n  test: [\"CMD\", \"wget\", 'x']\n  run: |\n    docker pull x\n    echo y\n\n  name: Check Alpine # c\nz: \"q\"\n";

    #[test]
    fn spans() {
        let n = parse(T).unwrap();
        let a = n.get("a").unwrap();
        let test = a.get("test").unwrap();
        let w = test.items()[1].as_scalar().unwrap();
        assert_eq!(&T[w.start..w.end], "\"wget\"");
        let x = test.items()[2].as_scalar().unwrap();
        assert_eq!(&T[x.start..x.end], "'x'");
        let run = a.get("run").unwrap().as_scalar().unwrap();
        let m = run.mapped(T).unwrap();
        assert_eq!(m.text, "docker pull x\necho y\n");
        let p = m.text.find("echo").unwrap();
        assert_eq!(&T[m.start_to_file(p)..m.start_to_file(p) + 4], "echo");
        let name = a.get("name").unwrap().as_scalar().unwrap();
        assert_eq!(&T[name.start..name.end], "Check Alpine");
        assert!(name.mapped(T).is_some());
        assert_eq!(
            n.get("z")
                .unwrap()
                .as_scalar()
                .unwrap()
                .mapped(T)
                .unwrap()
                .text,
            "q"
        );
    }

    #[test]
    fn errors_have_lines() {
        let (line, _) = parse("a: [\nb: c\n  - d: :\n").unwrap_err();
        assert!(line >= 2);
    }
}
