//! Stack files → a validated [`Platform`]: each file is parsed on its own (syntax, duplicate
//! keys, types, single fields), then stacks are checked against the cluster file and each other.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::cluster::{Cluster, ClusterFile};
use super::fields::{DnsLabel, ObjectName};
use super::kind::{FileKind, StackKind};
use super::spec::Spec;
use super::specs::check_specs;
use super::validate::{check_host_ports, located_list, validate_stack};
use super::workload::WorkloadDecl;
use super::{Platform, Stack, StackError};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::field_path::FieldPath;
use crate::source::{Located, Location, SourceFile, Span};
use crate::yaml::tree::{self, Node};

/// One parsed file and its tree, for locating fields.
pub(super) struct Doc {
    pub(super) file: Arc<SourceFile>,
    tree: Node,
}

impl Doc {
    fn parse(file: &Arc<SourceFile>) -> Result<Self, Diagnostic> {
        let tree = tree::parse(file)?.ok_or_else(|| {
            Diagnostic::new(Location::new(file, Span::new(1, 1, 1)), "the file is empty")
                .help("a stack file starts with `kind:` (Cluster, Bookinfo, Prometheus, Grafana or Linkerd)")
        })?;
        Ok(Self {
            file: Arc::clone(file),
            tree,
        })
    }

    fn deserialize<T: DeserializeOwned>(&self) -> Result<T, Diagnostic> {
        serde_yaml::from_str(&self.file.text).map_err(|err| self.serde_error(&err))
    }

    /// The file as a `T`; when it is not one, every mistake found by deserializing each
    /// part of it (a top-level section, a workload) on its own as a `P`.
    fn deserialize_all<T: DeserializeOwned, P: DeserializeOwned>(
        &self,
    ) -> Result<T, Vec<Diagnostic>> {
        let whole = match self.deserialize::<T>() {
            Ok(value) => return Ok(value),
            Err(diagnostic) => diagnostic,
        };
        let Some(parts) = super::parts::parts(&self.tree, &self.file.text) else {
            return Err(vec![whole]);
        };
        let mut errors: Vec<Diagnostic> = parts
            .iter()
            .filter_map(|part| {
                let err = serde_yaml::from_str::<P>(&part.text).err()?;
                let mut diagnostic = tree::serde_diagnostic(&self.file, &err);
                diagnostic.at.span.line = part.file_line(diagnostic.at.span.line);
                Some(diagnostic)
            })
            .collect();
        // Underlined whole only where printed: finding a length walks the tree.
        for diagnostic in errors.iter_mut().take(crate::diagnostic::MAX_SHOWN) {
            let span = &mut diagnostic.at.span;
            span.len = self.tree.len_at(span.line, span.col).unwrap_or(1);
        }
        // A missing field, or a mistake only the whole file shows.
        if !errors
            .iter()
            .any(|e| e.at.span == whole.at.span && e.message == whole.message)
        {
            errors.insert(0, whole);
        }
        Err(errors)
    }

    /// serde_yaml's error, with the whole offending key or value underlined.
    fn serde_error(&self, err: &serde_yaml::Error) -> Diagnostic {
        let mut diagnostic = tree::serde_diagnostic(&self.file, err);
        let span = &mut diagnostic.at.span;
        span.len = self.tree.len_at(span.line, span.col).unwrap_or(1);
        diagnostic
    }

    pub(super) fn at(&self, path: &FieldPath) -> Location {
        Location::new(&self.file, self.tree.span_of(path))
    }

    pub(super) fn located<T>(&self, value: T, path: &FieldPath) -> Located<T> {
        Located::new(value, self.at(path))
    }
}

#[derive(Deserialize)]
struct KindProbe {
    kind: FileKind,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct StackFile<S> {
    #[allow(dead_code)] // identifies the file; checked before this type is parsed
    kind: FileKind,
    namespace: DnsLabel,
    spec: S,
    #[serde(default)]
    workloads: BTreeMap<ObjectName, WorkloadDecl>,
}

/// A stack file parsed, not yet checked against the others.
pub(super) struct RawStack {
    pub(super) doc: Doc,
    pub(super) kind: StackKind,
    pub(super) namespace: DnsLabel,
    pub(super) spec: Spec,
    pub(super) workloads: BTreeMap<ObjectName, WorkloadDecl>,
}

impl RawStack {
    fn parse<S: DeserializeOwned>(
        doc: Doc,
        kind: StackKind,
        wrap: fn(S) -> Spec,
    ) -> Result<Self, Vec<Diagnostic>> {
        let file: StackFile<S> = doc.deserialize_all::<_, super::parts::StackPart<S>>()?;
        Ok(Self {
            doc,
            kind,
            namespace: file.namespace,
            spec: wrap(file.spec),
            workloads: file.workloads,
        })
    }
}

/// Loads and validates the stack files `files` (one `kind: Cluster` file and at most one
/// file per stack kind). Every problem found is reported, not only the first.
pub fn load(files: &[Arc<SourceFile>], origin: &str) -> Result<Platform, StackError> {
    let mut errors = Vec::new();
    let mut cluster_doc: Option<(Doc, ClusterFile)> = None;
    let mut raw: Vec<RawStack> = Vec::new();
    // Kinds of files that did not parse: still "defined" for the checks between stacks.
    let mut unparsed: Vec<StackKind> = Vec::new();
    let mut cluster_unparsed = false;
    for file in files {
        match parse_file(file) {
            Ok(Parsed::Cluster(doc, parsed)) => match &cluster_doc {
                Some((first, _)) => errors.push(twice(&doc, first, "Cluster")),
                None => cluster_doc = Some((doc, parsed)),
            },
            Ok(Parsed::Stack(stack)) => match raw.iter().find(|other| other.kind == stack.kind) {
                Some(first) => {
                    errors.push(twice(&stack.doc, &first.doc, &format!("{:?}", stack.kind)));
                }
                None => raw.push(stack),
            },
            Err((kind, diagnostics)) => {
                match kind {
                    Some(FileKind::Cluster) => cluster_unparsed = true,
                    Some(kind) => unparsed.extend(kind.stack()),
                    // Any kind: no check may rely on its absence.
                    None => {
                        cluster_unparsed = true;
                        unparsed.extend(StackKind::ALL);
                    }
                }
                errors.extend(diagnostics);
            }
        }
    }
    let Some((doc, parsed)) = cluster_doc else {
        if cluster_unparsed {
            return Err(StackError::Invalid(Diagnostics(errors)));
        }
        return Err(StackError::MissingCluster {
            origin: origin.to_owned(),
        });
    };
    let cluster = cluster(&doc, parsed, &mut errors);
    raw.sort_by_key(|stack| stack.kind);
    let stacks: Vec<Stack> = raw
        .iter()
        .map(|stack| validate_stack(stack, &cluster, &mut errors))
        .collect();
    check_host_ports(&stacks, &mut errors);
    super::sharing::check_shared_namespaces(&stacks, &mut errors);
    check_specs(&raw, &unparsed, &mut errors);
    if errors.is_empty() {
        Ok(Platform { cluster, stacks })
    } else {
        Err(StackError::Invalid(Diagnostics(errors)))
    }
}

enum Parsed {
    Cluster(Doc, ClusterFile),
    Stack(RawStack),
}

/// One file parsed; on failure, its kind when that much was read, and every error found.
fn parse_file(file: &Arc<SourceFile>) -> Result<Parsed, (Option<FileKind>, Vec<Diagnostic>)> {
    let doc = Doc::parse(file).map_err(|d| (None, vec![d]))?;
    let probe: KindProbe = doc.deserialize().map_err(|d| (None, vec![d]))?;
    check_file_name(&doc, probe.kind).map_err(|d| (None, vec![d]))?;
    let failed = |diagnostics| (Some(probe.kind), diagnostics);
    let Some(kind) = probe.kind.stack() else {
        let parsed = doc
            .deserialize_all::<_, super::parts::ClusterPart>()
            .map_err(failed)?;
        return Ok(Parsed::Cluster(doc, parsed));
    };
    let stack = match kind {
        StackKind::Bookinfo => RawStack::parse(doc, kind, Spec::Bookinfo),
        StackKind::Prometheus => RawStack::parse(doc, kind, Spec::Prometheus),
        StackKind::Grafana => RawStack::parse(doc, kind, Spec::Grafana),
        StackKind::Linkerd => RawStack::parse(doc, kind, Spec::Linkerd),
    }
    .map_err(failed)?;
    Ok(Parsed::Stack(stack))
}

/// A stack file's name says its kind: `kind: Grafana` belongs in `grafana.yaml`. Files whose
/// name is no stack file's (only in tests; a directory yields stack file names alone) are not
/// checked.
fn check_file_name(doc: &Doc, kind: FileKind) -> Result<(), Diagnostic> {
    let name = doc.file.file_name();
    match FileKind::of_file_name(name) {
        Some(named) if named != kind => Err(Diagnostic::new(
            doc.at(&FieldPath::root().key("kind")),
            format!(
                "a file of kind {kind:?} must be named {}, not {name}",
                kind.file_name()
            ),
        )
        .field("kind")
        .help(format!(
            "rename the file to {}, or set `kind: {named:?}` if it describes that stack",
            kind.file_name()
        ))),
        _ => Ok(()),
    }
}

fn twice(doc: &Doc, first: &Doc, kind: &str) -> Diagnostic {
    let kind_path = FieldPath::root().key("kind");
    Diagnostic::new(doc.at(&kind_path), format!("a second file of kind {kind}"))
        .note(first.at(&kind_path), "the first one")
        .help("keep one file per kind in the stacks directory")
}

fn cluster(doc: &Doc, parsed: ClusterFile, errors: &mut Vec<Diagnostic>) -> Cluster {
    let root = FieldPath::root();
    let control_plane = root.key("controlPlane");
    if parsed.control_plane.node_selector.is_empty() {
        errors.push(
            Diagnostic::new(doc.at(&control_plane.key("nodeSelector")), "an empty node selector matches every node")
                .field("controlPlane.nodeSelector")
                .help("select the control-plane node, as kubeadm labels it: `node-role.kubernetes.io/control-plane: \"\"`"),
        );
    }
    let sources_path = root.key("ingress").key("sources");
    let sources = located_list(doc, &sources_path, parsed.ingress.sources, errors);
    Cluster {
        name: parsed.name,
        node_selector: parsed.control_plane.node_selector,
        node_selector_at: doc.at(&control_plane.key("nodeSelector")),
        taints: parsed.control_plane.taints,
        region: parsed.aws.region,
        security_group: parsed.aws.security_group,
        skip_security_groups: parsed.aws.skip_security_groups,
        rules_per_group: parsed
            .aws
            .rules_per_group
            .map_or(super::cluster::DEFAULT_RULES_PER_GROUP, |quota| quota.0),
        sources,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_holds_the_kind_its_name_says() {
        let mut files = crate::embedded::stacks();
        let grafana = files
            .iter()
            .position(|file| file.file_name() == "grafana.yaml")
            .unwrap();
        let text = files[grafana].text.clone();
        files.remove(grafana);
        let bookinfo = files
            .iter()
            .position(|file| file.file_name() == "bookinfo.yaml")
            .unwrap();
        files[bookinfo] = SourceFile::new("stacks/bookinfo.yaml", text);
        let Err(err) = load(&files, "test") else {
            panic!("a Grafana file named bookinfo.yaml loaded");
        };
        assert_eq!(
            err.to_string(),
            "stacks/bookinfo.yaml:3:7: kind: a file of kind Grafana must be named grafana.yaml, not bookinfo.yaml\n  |\n3 | kind: Grafana\n  |       ^^^^^^^\nhelp: rename the file to grafana.yaml, or set `kind: Bookinfo` if it describes that stack"
        );
    }

    /// Every prefix of every default stack file, and each with some noise spliced in, loads
    /// (and renders) to a value or to an error that formats; none panics.
    #[test]
    fn no_input_panics() {
        let defaults = crate::embedded::stacks();
        let noise = [
            "\t",
            ":",
            "- ",
            "{",
            "]",
            "&a ",
            "*a",
            "!!binary ",
            "\u{feff}",
            "\"",
            "? ",
            "%YAML 1.2\n",
            "\n---\n",
            "<<: *x\n",
        ];
        for (index, file) in defaults.iter().enumerate() {
            let text = &file.text;
            let cuts = text.char_indices().map(|(at, _)| at).step_by(5);
            let mut rendered = 0;
            for (round, cut) in cuts.enumerate() {
                let mut spliced = text.to_string();
                spliced.insert_str(cut, noise[(round + index) % noise.len()]);
                for variant in [text[..cut].to_owned(), spliced] {
                    let mut files = defaults.clone();
                    files[index] = SourceFile::new(file.path.clone(), variant);
                    let platform = match load(&files, "test") {
                        Err(err) => {
                            drop(err.to_string());
                            continue;
                        }
                        Ok(platform) => platform,
                    };
                    // Most variants that load are the defaults with a comment cut short;
                    // rendering one in sixteen of them, only the stack that changed, suffices.
                    rendered += 1;
                    if rendered % 16 != 0 {
                        continue;
                    }
                    let changed: Vec<&Stack> = platform
                        .stacks
                        .iter()
                        .filter(|s| Arc::ptr_eq(&s.file, &files[index]))
                        .collect();
                    let templates = crate::render::TemplateSet::embedded();
                    if let Err(err) = crate::render::render(
                        &platform,
                        &changed,
                        &templates,
                        &crate::render::Slots::default(),
                    ) {
                        drop(err.to_string());
                    }
                }
            }
        }
    }
}
