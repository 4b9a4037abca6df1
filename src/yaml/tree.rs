//! A YAML document as a tree of nodes that remember where they were written.
//!
//! serde_yaml gives typed values and locates its own errors, but checks that span several
//! fields or files (a host port claimed twice, a world-open CIDR without consent) need the
//! position of any field afterwards, and duplicate keys in maps must be caught before serde
//! silently keeps the last one. This tree answers both.

use std::sync::Arc;

use saphyr_parser::{Event, Parser, ScanError, Span as YamlSpan};
use serde::Deserialize;

use crate::diagnostic::Diagnostic;
use crate::field_path::{FieldPath, PathSeg};
use crate::source::{Location, SourceFile, Span};

/// A node and where it starts.
#[derive(Debug, Clone)]
pub struct Node {
    /// Where the node is written.
    pub span: Span,
    /// What it holds.
    pub kind: NodeKind,
}

/// The shape of a node.
#[derive(Debug, Clone)]
pub enum NodeKind {
    /// A scalar, as written.
    Scalar(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in file order.
    Map(Vec<(Node, Node)>),
    /// An alias (`*anchor`).
    Alias,
}

impl Node {
    fn scalar(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar(text) => Some(text),
            _ => None,
        }
    }

    /// The node at `path`, if the document has it.
    pub fn get(&self, path: &FieldPath) -> Option<&Node> {
        let (node, depth, _) = self.walk(path);
        (depth == path.segments().len()).then_some(node)
    }

    /// The span that best shows `path`: a scalar value itself, a mapping or sequence by its
    /// key; for a path the document lacks (a default), its deepest written ancestor.
    pub fn span_of(&self, path: &FieldPath) -> Span {
        match self.walk(path) {
            (node, _, None)
            | (
                node @ Node {
                    kind: NodeKind::Scalar(_),
                    ..
                },
                _,
                _,
            ) => node.span,
            (_, _, Some(key)) => key.span,
        }
    }

    /// Follows `path` as far as it goes: the node reached, how many steps were taken, and the
    /// key node that led to it.
    fn walk(&self, path: &FieldPath) -> (&Node, usize, Option<&Node>) {
        let mut node = self;
        let mut key_node = None;
        for (depth, seg) in path.segments().iter().enumerate() {
            let next = match (&node.kind, seg) {
                (NodeKind::Map(entries), PathSeg::Key(key)) => entries
                    .iter()
                    .find(|(k, _)| k.scalar() == Some(key))
                    .map(|(k, v)| (v, Some(k))),
                (NodeKind::Seq(items), PathSeg::Index(index)) => {
                    items.get(*index).map(|v| (v, None))
                }
                _ => None,
            };
            match next {
                Some((value, key)) => {
                    node = value;
                    key_node = key;
                }
                None => return (node, depth, key_node),
            }
        }
        (node, path.segments().len(), key_node)
    }

    /// The length of the node (key or value) that starts exactly at `line`:`col`, to underline
    /// a position reported by serde_yaml.
    pub fn len_at(&self, line: usize, col: usize) -> Option<usize> {
        if self.span.line == line
            && self.span.col == col
            && matches!(self.kind, NodeKind::Scalar(_))
        {
            return Some(self.span.len);
        }
        match &self.kind {
            NodeKind::Map(entries) => entries
                .iter()
                .find_map(|(k, v)| k.len_at(line, col).or_else(|| v.len_at(line, col))),
            NodeKind::Seq(items) => items.iter().find_map(|item| item.len_at(line, col)),
            _ => None,
        }
    }
}

/// A serde_yaml error as a diagnostic in `file`. serde_yaml's message reads
/// "<path>: <what> at line L column C" (syntax errors add ", while parsing … at …"); the
/// position moves to the front, where every located message has it, and one character is
/// underlined.
pub fn serde_diagnostic(file: &Arc<SourceFile>, err: &serde_yaml::Error) -> Diagnostic {
    let text = err.to_string();
    let (line, col) = err.location().map_or((1, 1), |at| (at.line(), at.column()));
    let message =
        super::words::translate(&text.replacen(&format!(" at line {line} column {col}"), "", 1));
    Diagnostic::new(Location::new(file, Span::new(line, col, 1)), message)
}

/// Parses `file` into a tree. An empty document gives `None`. Syntax errors, duplicate keys
/// and a second document are errors.
pub fn parse(file: &Arc<SourceFile>) -> Result<Option<Node>, Diagnostic> {
    let mut documents = parse_documents(file, true)?;
    Ok(documents.pop().flatten())
}

/// Parses every document of `file` (`---`-separated); empty documents give `None`.
/// Syntax errors and duplicate keys are errors.
pub fn parse_stream(file: &Arc<SourceFile>) -> Result<Vec<Option<Node>>, Diagnostic> {
    parse_documents(file, false)
}

fn parse_documents(file: &Arc<SourceFile>, single: bool) -> Result<Vec<Option<Node>>, Diagnostic> {
    let mut builder = Builder::default();
    let mut documents = Vec::new();
    for event in Parser::new_from_str(&file.text) {
        let (event, yaml_span) = event.map_err(|err| syntax_error(file, &err))?;
        let span = to_span(file, yaml_span);
        match event {
            Event::DocumentStart(_) if single && !documents.is_empty() => {
                return Err(Diagnostic::new(
                    Location::new(file, span),
                    "a second YAML document; a stack file holds exactly one",
                )
                .help("move the second document into a file of its own"));
            }
            Event::DocumentStart(_) => documents.push(None),
            Event::DocumentEnd => {
                if let Some(last) = documents.last_mut() {
                    *last = builder.root.take();
                }
            }
            Event::Scalar(text, ..) => builder.push(
                file,
                Node {
                    span,
                    kind: NodeKind::Scalar(text.into_owned()),
                },
            )?,
            Event::Alias(_) => builder.push(
                file,
                Node {
                    span,
                    kind: NodeKind::Alias,
                },
            )?,
            Event::SequenceStart(..) => builder.open(span, false),
            Event::MappingStart(..) => builder.open(span, true),
            Event::SequenceEnd | Event::MappingEnd => builder.close(file)?,
            _ => {}
        }
    }
    Ok(documents)
}

/// A syntax error. libyaml's message, through serde_yaml, says more than saphyr's (which
/// construct was open, and where it began), so the text is read again by serde_yaml; this is
/// the error path only. Should serde_yaml accept the text, saphyr's own message stands.
pub(super) fn syntax_error(file: &Arc<SourceFile>, err: &ScanError) -> Diagnostic {
    for document in serde_yaml::Deserializer::from_str(&file.text) {
        if let Err(err) = serde_yaml::Value::deserialize(document) {
            return serde_diagnostic(file, &err);
        }
    }
    let mark = err.marker();
    Diagnostic::new(
        Location::new(file, Span::new(mark.line(), mark.col() + 1, 1)),
        format!("invalid YAML: {}", err.info()),
    )
}

pub(super) fn to_span(file: &SourceFile, span: YamlSpan) -> Span {
    let (start, end) = (span.start, span.end);
    let len = if end.line() == start.line() {
        end.index().saturating_sub(start.index())
    } else {
        file.line(start.line())
            .chars()
            .count()
            .saturating_sub(start.col())
    };
    Span::new(start.line(), start.col() + 1, len.max(1))
}

#[derive(Default)]
struct Builder {
    root: Option<Node>,
    open: Vec<Frame>,
}

struct Frame {
    span: Span,
    is_map: bool,
    items: Vec<Node>,
}

impl Builder {
    fn open(&mut self, span: Span, is_map: bool) {
        self.open.push(Frame {
            span,
            is_map,
            items: Vec::new(),
        });
    }

    fn close(&mut self, file: &Arc<SourceFile>) -> Result<(), Diagnostic> {
        let Some(frame) = self.open.pop() else {
            return Ok(());
        };
        let kind = if frame.is_map {
            let mut entries = Vec::with_capacity(frame.items.len() / 2);
            let mut items = frame.items.into_iter();
            while let (Some(key), Some(value)) = (items.next(), items.next()) {
                entries.push((key, value));
            }
            NodeKind::Map(entries)
        } else {
            NodeKind::Seq(frame.items)
        };
        self.push(
            file,
            Node {
                span: frame.span,
                kind,
            },
        )
    }

    fn push(&mut self, file: &Arc<SourceFile>, node: Node) -> Result<(), Diagnostic> {
        let Some(frame) = self.open.last_mut() else {
            self.root = Some(node);
            return Ok(());
        };
        let is_key = frame.is_map && frame.items.len() % 2 == 0;
        if is_key && let Some(key) = node.scalar().filter(|key| *key != "<<") {
            let earlier = frame
                .items
                .iter()
                .step_by(2)
                .find(|k| k.scalar() == Some(key));
            if let Some(earlier) = earlier {
                return Err(Diagnostic::new(
                    Location::new(file, node.span),
                    format!("duplicate key \"{}\"", crate::clip::value(key)),
                )
                .note(Location::new(file, earlier.span), "first defined here")
                .help("keep one of the two; YAML would otherwise silently drop the first"));
            }
        }
        frame.items.push(node);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(text: &str) -> Node {
        let file = SourceFile::new("t.yaml", text);
        match parse(&file) {
            Ok(Some(node)) => node,
            other => panic!("expected a tree, got {other:?}"),
        }
    }

    fn error(text: &str) -> String {
        let file = SourceFile::new("t.yaml", text);
        match parse(&file) {
            Err(diagnostic) => diagnostic.to_string(),
            Ok(node) => panic!("expected an error, got {node:?}"),
        }
    }

    #[test]
    fn locates_scalars_and_keys() {
        let root = tree(
            "kind: Bookinfo\nworkloads:\n  productpage-v1:\n    expose:\n      - hostPort: 30080\n",
        );
        let port = FieldPath::root()
            .key("workloads")
            .key("productpage-v1")
            .key("expose")
            .index(0)
            .key("hostPort");
        assert_eq!(root.span_of(&port), Span::new(5, 19, 5));
        let workload = FieldPath::root().key("workloads").key("productpage-v1");
        assert_eq!(root.span_of(&workload), Span::new(3, 3, 14));
        // A path the file lacks points at its deepest written ancestor.
        assert_eq!(
            root.span_of(&workload.key("placement")),
            Span::new(3, 3, 14)
        );
        assert!(root.get(&workload.key("placement")).is_none());
        assert!(root.get(&port).is_some());
        assert_eq!(root.len_at(1, 7), Some(8));
    }

    #[test]
    fn rejects_duplicate_keys_naming_both_lines() {
        assert_eq!(
            error("a: 1\nb:\n  x: 1\n  x: 2\n"),
            "t.yaml:4:3: duplicate key \"x\"\n  |\n4 |   x: 2\n  |   ^\nnote: t.yaml:3:3: first defined here\n  |\n3 |   x: 1\n  |   ^\nhelp: keep one of the two; YAML would otherwise silently drop the first"
        );
    }

    #[test]
    fn rejects_a_second_document_and_bad_syntax() {
        assert!(error("a: 1\n---\nb: 2\n").contains("t.yaml:2:1: a second YAML document"));
        assert!(error("a: [1, 2\n").starts_with("t.yaml:"));
    }

    #[test]
    fn streams_keep_one_tree_per_document() {
        let file = SourceFile::new("t.yaml", "a: 1\n---\n---\nb: [x]\n");
        let documents = parse_stream(&file).unwrap();
        assert_eq!(documents.len(), 3);
        // An explicit document with no content is a null scalar, as serde_yaml sees it too.
        assert!(
            matches!(&documents[1], Some(Node { kind: NodeKind::Scalar(text), .. }) if text.is_empty())
        );
        assert!(documents.iter().all(Option::is_some));
        let dup = SourceFile::new("t.yaml", "a: 1\n---\nb: 1\nb: 2\n");
        assert!(
            parse_stream(&dup)
                .unwrap_err()
                .to_string()
                .starts_with("t.yaml:4:1: duplicate key \"b\"")
        );
    }

    #[test]
    fn empty_document_is_none() {
        let file = SourceFile::new("t.yaml", "# only a comment\n");
        assert!(matches!(parse(&file), Ok(None)));
    }
}
