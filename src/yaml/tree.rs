//! A YAML document as a tree of nodes that remember where they were written.
//!
//! serde_yaml gives typed values and locates its own errors, but checks that span several
//! fields or files (a host port claimed twice, a world-open CIDR without consent) need the
//! position of any field afterwards, and duplicate keys in maps must be caught before serde
//! silently keeps the last one. This tree answers both.

use std::collections::HashMap;
use std::sync::Arc;

use saphyr_parser::{Event, Parser, ScanError, Span as YamlSpan};
use serde::Deserialize;

use crate::diagnostic::Diagnostic;
use crate::field_path::{FieldPath, PathSeg};
use crate::source::{Location, SourceFile, Span};

/// How deeply a stack file may nest mappings and sequences. The deepest default nests six
/// levels; a stack file needs a dozen at most. Checked as the events arrive, so that nothing
/// later (serde, the span search, dropping the tree) meets more.
pub const MAX_DEPTH: usize = 64;

/// How deeply a stream of rendered manifests may nest: CRD schemas nest a few dozen levels.
const MAX_STREAM_DEPTH: usize = 256;

/// How many `[` and `{` a stack file may hold in all. See [`check_flow`].
const MAX_FLOW_OPENERS: usize = 256;

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
    /// A mapping, in file order, and the position of each scalar key in it.
    Map(Vec<(Node, Node)>, HashMap<String, usize>),
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
                (NodeKind::Map(entries, keys), PathSeg::Key(key)) => keys
                    .get(key.as_str())
                    .and_then(|&index| entries.get(index))
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
        // Depth-first in file order, with an explicit stack: no recursion the input can drive.
        let mut pending = vec![self];
        while let Some(node) = pending.pop() {
            match &node.kind {
                NodeKind::Scalar(_) if node.span.line == line && node.span.col == col => {
                    return Some(node.span.len);
                }
                NodeKind::Map(entries, _) => {
                    pending.extend(entries.iter().rev().flat_map(|(k, v)| [v, k]));
                }
                NodeKind::Seq(items) => pending.extend(items.iter().rev()),
                _ => {}
            }
        }
        None
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
    check_flow(file)?;
    let mut documents = parse_documents(file, true, MAX_DEPTH)?;
    Ok(documents.pop().flatten())
}

/// Parses every document of `file` (`---`-separated); empty documents give `None`.
/// Syntax errors and duplicate keys are errors.
pub fn parse_stream(file: &Arc<SourceFile>) -> Result<Vec<Option<Node>>, Diagnostic> {
    parse_documents(file, false, MAX_STREAM_DEPTH)
}

/// Bounds the YAML scanner's work before it starts. Inside `[` … `]` and `{` … `}` the
/// scanner keeps one pending key per open level and visits them all for every token, and it
/// reads a whole flow collection before it yields the first event: 0.7 MB of `[[[[…` takes it
/// minutes, and no depth check on its events could stop that in time. So the raw text is
/// checked first, in one pass: at most [`MAX_DEPTH`] brackets open at once (every `[` and `{`
/// counts, closed by any `]` or `}`), and at most [`MAX_FLOW_OPENERS`] in all. The first
/// catches plain deep nesting where it starts; the second bounds the nesting the first cannot
/// see, when closing brackets hide in quoted strings that the scanner does not take as
/// closing. With the file size capped, the scanner's work is then at most linear in the text
/// times 256. A stack file needs a handful of brackets, so neither bound is near real input.
fn check_flow(file: &Arc<SourceFile>) -> Result<(), Diagnostic> {
    let (mut open, mut total) = (0usize, 0usize);
    let (mut line, mut line_start) = (1, 0);
    for (at, byte) in file.text.bytes().enumerate() {
        match byte {
            b'\n' => {
                line += 1;
                line_start = at + 1;
            }
            b'[' | b'{' => {
                open += 1;
                total += 1;
                let message = if open > MAX_DEPTH {
                    format!(
                        "more than {MAX_DEPTH} `[` and `{{` open at once; a stack file nests a dozen levels at most"
                    )
                } else if total > MAX_FLOW_OPENERS {
                    format!(
                        "more than {MAX_FLOW_OPENERS} `[` and `{{` in one file; a stack file needs a few"
                    )
                } else {
                    continue;
                };
                let col = file.text[line_start..at].chars().count() + 1;
                return Err(
                    Diagnostic::new(Location::new(file, Span::new(line, col, 1)), message)
                        .help("nesting this deep is not a stack file; is it the file you meant?"),
                );
            }
            b']' | b'}' => open = open.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

fn parse_documents(
    file: &Arc<SourceFile>,
    single: bool,
    max_depth: usize,
) -> Result<Vec<Option<Node>>, Diagnostic> {
    let mut builder = Builder {
        max_depth,
        ..Builder::default()
    };
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
            Event::SequenceStart(..) => builder.open(file, span, false)?,
            Event::MappingStart(..) => builder.open(file, span, true)?,
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
    max_depth: usize,
}

struct Frame {
    span: Span,
    is_map: bool,
    items: Vec<Node>,
    /// A mapping's scalar keys so far, with where each was written: one lookup per key
    /// instead of a comparison with every earlier key.
    keys: HashMap<String, usize>,
}

impl Builder {
    fn open(&mut self, file: &Arc<SourceFile>, span: Span, is_map: bool) -> Result<(), Diagnostic> {
        if self.open.len() >= self.max_depth {
            return Err(Diagnostic::new(
                Location::new(file, span),
                format!(
                    "nested more than {} levels deep; a stack file nests a dozen at most",
                    self.max_depth
                ),
            )
            .help("nesting this deep is not a stack file; is it the file you meant?"));
        }
        self.open.push(Frame {
            span,
            is_map,
            items: Vec::new(),
            keys: HashMap::new(),
        });
        Ok(())
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
            NodeKind::Map(entries, frame.keys)
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
            if let Some(earlier) = frame
                .keys
                .get(key)
                .and_then(|&index| frame.items.get(2 * index))
            {
                return Err(Diagnostic::new(
                    Location::new(file, node.span),
                    format!("duplicate key \"{}\"", crate::clip::value(key)),
                )
                .note(Location::new(file, earlier.span), "first defined here")
                .help("keep one of the two; YAML would otherwise silently drop the first"));
            }
            frame.keys.insert(key.to_owned(), frame.items.len() / 2);
        }
        frame.items.push(node);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(text: &str) -> Node {
        let file = SourceFile::new("t.yaml", text.to_owned());
        match parse(&file) {
            Ok(Some(node)) => node,
            other => panic!("expected a tree, got {other:?}"),
        }
    }

    fn error(text: &str) -> String {
        let file = SourceFile::new("t.yaml", text.to_owned());
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
    fn nesting_past_the_cap_is_refused_where_it_crosses_it() {
        let ok = tree(&format!("{}x", "- ".repeat(MAX_DEPTH)));
        assert!(matches!(ok.kind, NodeKind::Seq(_)));
        // The innermost scalar of 64 nested sequences is found without recursion.
        assert_eq!(ok.len_at(1, 2 * MAX_DEPTH + 1), Some(1));
        let message = error(&format!("{}x", "- ".repeat(MAX_DEPTH + 1)));
        assert!(
            message.starts_with("t.yaml:1:129: nested more than 64 levels deep"),
            "{message}"
        );
    }

    #[test]
    fn flow_brackets_are_bounded_before_the_scanner_runs() {
        let message = error(&format!("a: {}", "[".repeat(700_000)));
        assert!(
            message.starts_with("t.yaml:1:68: more than 64 `[` and `{` open at once"),
            "{message}"
        );
        // Closing brackets inside quotes close nothing; the total bounds what they hide.
        let message = error(&format!("a: {}", "[ \"]\" ".repeat(300)));
        assert!(
            message.starts_with("t.yaml:1:1540: more than 256 `[` and `{` in one file"),
            "{message}"
        );
        assert!(matches!(
            tree("a: [[1], {b: [2]}]\n").kind,
            NodeKind::Map(..)
        ));
    }

    #[test]
    fn duplicate_keys_among_many_are_found() {
        let mut text = String::new();
        for i in 0..100_000 {
            text.push('k');
            text.push_str(&i.to_string());
            text.push_str(": 1\n");
        }
        text.push_str("k7: 2\n");
        let message = error(&text);
        assert!(
            message.starts_with("t.yaml:100001:1: duplicate key \"k7\""),
            "{message}"
        );
        assert!(
            message.contains("note: t.yaml:8:1: first defined here"),
            "{message}"
        );
    }

    #[test]
    fn empty_document_is_none() {
        let file = SourceFile::new("t.yaml", "# only a comment\n");
        assert!(matches!(parse(&file), Ok(None)));
    }
}
