//! A file cut into parts that are deserialized on their own, so that a mistake in one
//! top-level section or one workload does not hide those in the others.
//!
//! Each part keeps whole lines of the file, with the line of its section's key, so that
//! serde's field paths stay whole (`workloads.productpage-v1.expose[0].hostPort`); the
//! lines it kept map its errors back to the file.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

use super::cluster::{AwsDecl, ControlPlaneDecl, IngressDecl};
use super::fields::{DnsLabel, ObjectName};
use super::kind::FileKind;
use super::workload::WorkloadDecl;
use crate::yaml::tree::{Node, NodeKind};

/// A part of a stack file: the file's fields, each optional (the part holds only some).
/// Read for its errors only.
#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "camelCase",
    bound = "S: Deserialize<'de>"
)]
#[allow(dead_code)] // deserialized for its errors; the whole file gives the values
pub(super) struct StackPart<S> {
    #[serde(default, deserialize_with = "present")]
    kind: Option<FileKind>,
    #[serde(default, deserialize_with = "present")]
    namespace: Option<DnsLabel>,
    #[serde(default, deserialize_with = "present")]
    spec: Option<S>,
    #[serde(default, deserialize_with = "present")]
    workloads: Option<BTreeMap<ObjectName, WorkloadDecl>>,
}

/// A part of the cluster file, as [`StackPart`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)] // deserialized for its errors; the whole file gives the values
pub(super) struct ClusterPart {
    #[serde(default, deserialize_with = "present")]
    kind: Option<FileKind>,
    #[serde(default, deserialize_with = "present")]
    name: Option<DnsLabel>,
    #[serde(default, deserialize_with = "present")]
    control_plane: Option<ControlPlaneDecl>,
    #[serde(default, deserialize_with = "present")]
    aws: Option<AwsDecl>,
    #[serde(default, deserialize_with = "present")]
    ingress: Option<IngressDecl>,
}

/// A field that is there must hold a value of its type (`~` is not "absent").
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(deserializer).map(Some)
}

/// The section whose entries are parts of their own.
const SPLIT: &str = "workloads";

/// Lines of a file, deserialized on their own.
pub(super) struct Part {
    /// The lines, joined.
    pub(super) text: String,
    /// The 1-based line in the file of each line of `text`.
    pub(super) lines: Vec<usize>,
}

impl Part {
    /// The line in the file of the 1-based `line` of the part.
    pub(super) fn file_line(&self, line: usize) -> usize {
        line.checked_sub(1)
            .and_then(|index| self.lines.get(index))
            .copied()
            .unwrap_or(line)
    }
}

/// The parts of `text`, whose tree is `root`; `None` when the file is not a block mapping
/// whose keys each start a line (then it is deserialized whole).
pub(super) fn parts(root: &Node, text: &str) -> Option<Vec<Part>> {
    let NodeKind::Map(entries, _) = &root.kind else {
        return None;
    };
    let lines: Vec<&str> = text.split('\n').collect();
    let starts = key_lines(entries, 1)?;
    let mut out = Vec::new();
    for (index, (key, value)) in entries.iter().enumerate() {
        let end = starts.get(index + 1).copied().unwrap_or(lines.len() + 1);
        let section = starts[index]..end;
        let split = matches!(&key.kind, NodeKind::Scalar(name) if name == SPLIT);
        let nested = match &value.kind {
            NodeKind::Map(items, _) if split && value.span.line > key.span.line => {
                key_lines(items, value.span.col)
            }
            _ => None,
        };
        match nested {
            Some(item_starts) if !item_starts.is_empty() => {
                for (at, &first) in item_starts.iter().enumerate() {
                    let last = item_starts.get(at + 1).copied().unwrap_or(end);
                    out.push(keep(
                        &lines,
                        &[starts[index]..starts[index] + 1, first..last],
                    ));
                }
            }
            _ => out.push(keep(&lines, &[section])),
        }
    }
    Some(out)
}

/// The 1-based line of each key, when every key starts its own line at column `col`.
fn key_lines(entries: &[(Node, Node)], col: usize) -> Option<Vec<usize>> {
    let lines: Vec<usize> = entries.iter().map(|(key, _)| key.span.line).collect();
    let aligned = entries.iter().all(|(key, _)| key.span.col == col);
    (aligned && lines.windows(2).all(|pair| pair[0] < pair[1])).then_some(lines)
}

/// The lines of `lines` in `ranges` (1-based, end excluded).
fn keep(lines: &[&str], ranges: &[std::ops::Range<usize>]) -> Part {
    let numbers: Vec<usize> = ranges
        .iter()
        .flat_map(Clone::clone)
        .filter(|&line| line <= lines.len())
        .collect();
    let kept: Vec<&str> = numbers.iter().map(|&line| lines[line - 1]).collect();
    Part {
        text: kept.join("\n"),
        lines: numbers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    #[test]
    fn sections_and_workloads_are_cut_apart_keeping_their_lines() {
        let text =
            "kind: Bookinfo\nspec:\n  a: 1\nworkloads:\n  one:\n    x: 1\n  two:\n    y: 2\n";
        let file = SourceFile::new("b.yaml", text);
        let root = crate::yaml::tree::parse(&file).unwrap().unwrap();
        let cut: Vec<(String, Vec<usize>)> = parts(&root, text)
            .unwrap()
            .into_iter()
            .map(|part| (part.text, part.lines))
            .collect();
        assert_eq!(
            cut,
            [
                ("kind: Bookinfo".to_owned(), vec![1]),
                ("spec:\n  a: 1".to_owned(), vec![2, 3]),
                ("workloads:\n  one:\n    x: 1".to_owned(), vec![4, 5, 6]),
                (
                    "workloads:\n  two:\n    y: 2\n".to_owned(),
                    vec![4, 7, 8, 9]
                ),
            ]
        );
        let flow = SourceFile::new("f.yaml", "{kind: Bookinfo, spec: {}}\n");
        let root = crate::yaml::tree::parse(&flow).unwrap().unwrap();
        assert!(parts(&root, &flow.text).is_none());
    }
}
