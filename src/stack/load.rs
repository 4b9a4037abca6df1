//! Stack files → a validated [`Platform`]: each file is parsed on its own (syntax, duplicate
//! keys, types, single fields), then stacks are checked against the cluster file and each other.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::cluster::{Cluster, ClusterFile};
use super::fields::{Cidr, DnsLabel, ObjectName, Placement, Port};
use super::kind::{FileKind, StackKind};
use super::spec::Spec;
use super::workload::{Exposure, ExposureDecl, Workload, WorkloadDecl};
use super::{Platform, Stack, StackError};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::source::{Located, Location, SourceFile, Span};
use crate::yaml_tree::{self, FieldPath, Node};

/// Ports a host port must not take on the control-plane node: a hostPort DNAT rule would
/// capture traffic meant for these.
const RESERVED_HOST_PORTS: &[(u16, u16, &str)] = &[
    (22, 22, "SSH"),
    (179, 179, "Calico BGP"),
    (2379, 2380, "etcd"),
    (6443, 6443, "the Kubernetes API server"),
    (10249, 10250, "kube-proxy metrics and the kubelet API"),
    (
        10256,
        10257,
        "kube-proxy health and kube-controller-manager",
    ),
    (10259, 10259, "kube-scheduler"),
];

/// One parsed file and its tree, for locating fields.
struct Doc {
    file: Arc<SourceFile>,
    tree: Node,
}

impl Doc {
    fn parse(file: &Arc<SourceFile>) -> Result<Self, Diagnostic> {
        let tree = yaml_tree::parse(file)?.ok_or_else(|| {
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

    /// serde_yaml's error, with the whole offending key or value underlined.
    fn serde_error(&self, err: &serde_yaml::Error) -> Diagnostic {
        let mut diagnostic = yaml_tree::serde_diagnostic(&self.file, err);
        let span = &mut diagnostic.at.span;
        span.len = self.tree.len_at(span.line, span.col).unwrap_or(1);
        diagnostic
    }

    fn at(&self, path: &FieldPath) -> Location {
        Location::new(&self.file, self.tree.span_of(path))
    }

    fn located<T>(&self, value: T, path: &FieldPath) -> Located<T> {
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
struct RawStack {
    doc: Doc,
    kind: StackKind,
    namespace: DnsLabel,
    spec: Spec,
    workloads: BTreeMap<ObjectName, WorkloadDecl>,
}

impl RawStack {
    fn parse<S: DeserializeOwned>(
        doc: Doc,
        kind: StackKind,
        wrap: fn(S) -> Spec,
    ) -> Result<Self, Diagnostic> {
        let file: StackFile<S> = doc.deserialize()?;
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
            Err(diagnostic) => errors.push(diagnostic),
        }
    }
    if !errors.is_empty() {
        return Err(StackError::Invalid(Diagnostics(errors)));
    }
    let Some((doc, parsed)) = cluster_doc else {
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
    check_mesh(&raw, &mut errors);
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

fn parse_file(file: &Arc<SourceFile>) -> Result<Parsed, Diagnostic> {
    let doc = Doc::parse(file)?;
    let probe: KindProbe = doc.deserialize()?;
    let Some(kind) = probe.kind.stack() else {
        let parsed = doc.deserialize()?;
        return Ok(Parsed::Cluster(doc, parsed));
    };
    let stack = match kind {
        StackKind::Bookinfo => RawStack::parse(doc, kind, Spec::Bookinfo),
        StackKind::Prometheus => RawStack::parse(doc, kind, Spec::Prometheus),
        StackKind::Grafana => RawStack::parse(doc, kind, Spec::Grafana),
        StackKind::Linkerd => RawStack::parse(doc, kind, Spec::Linkerd),
    }?;
    Ok(Parsed::Stack(stack))
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
        taints: parsed.control_plane.taints,
        region: parsed.aws.region,
        security_group: parsed.aws.security_group,
        sources,
    }
}

/// Pairs each CIDR of the list at `path` with its position; a CIDR listed twice is an error
/// (EC2 refuses the same permission twice in one request).
fn located_list(
    doc: &Doc,
    path: &FieldPath,
    cidrs: Vec<Cidr>,
    errors: &mut Vec<Diagnostic>,
) -> Vec<Located<Cidr>> {
    let mut located: Vec<Located<Cidr>> = Vec::with_capacity(cidrs.len());
    for (index, cidr) in cidrs.into_iter().enumerate() {
        let here = doc.located(cidr, &path.index(index));
        if let Some(first) = located.iter().find(|seen| seen.value == cidr) {
            errors.push(
                Diagnostic::new(here.at.clone(), format!("{cidr} is listed twice"))
                    .field(path.index(index).to_string())
                    .note(first.at.clone(), "first listed here"),
            );
            continue;
        }
        located.push(here);
    }
    located
}

fn validate_stack(raw: &RawStack, cluster: &Cluster, errors: &mut Vec<Diagnostic>) -> Stack {
    let doc = &raw.doc;
    let mut workloads = Vec::with_capacity(raw.workloads.len());
    for (name, decl) in &raw.workloads {
        let path = FieldPath::root().key("workloads").key(name);
        if let Some(first) = decl.expose.first()
            && decl.placement != Placement::ControlPlane
        {
            errors.push(
                Diagnostic::new(
                    doc.at(&path.key("placement")),
                    format!(
                        "{name} exposes host port {} but its placement is {}; the port is opened on the control-plane node, so the workload must run there",
                        first.host_port, decl.placement
                    ),
                )
                .field(path.key("placement").to_string())
                .help("set `placement: control-plane` on this workload, or remove `expose`"),
            );
        }
        let exposures = decl
            .expose
            .iter()
            .enumerate()
            .map(|(index, exposure)| {
                validate_exposure(
                    doc,
                    &path.key("expose").index(index),
                    exposure,
                    cluster,
                    errors,
                )
            })
            .collect::<Vec<_>>();
        for (index, exposure) in exposures.iter().enumerate() {
            if let Some(first) = exposures[..index]
                .iter()
                .find(|e| e.container_port.value == exposure.container_port.value)
            {
                errors.push(
                    Diagnostic::new(
                        exposure.container_port.at.clone(),
                        format!(
                            "container port {} is exposed twice",
                            exposure.container_port.value
                        ),
                    )
                    .field(
                        path.key("expose")
                            .index(index)
                            .key("containerPort")
                            .to_string(),
                    )
                    .note(first.container_port.at.clone(), "first exposed here")
                    .help("a container port carries one host port; remove one of the two entries"),
                );
            }
        }
        workloads.push(Workload {
            name: name.clone(),
            placement: decl.placement,
            exposures,
            at: doc.at(&path),
        });
    }
    // In file order, so that "first claimed here" means first in the file.
    workloads.sort_by_key(|workload| workload.at.span);
    Stack {
        kind: raw.kind,
        file: Arc::clone(&doc.file),
        namespace: doc.located(raw.namespace.clone(), &FieldPath::root().key("namespace")),
        spec: raw.spec.clone(),
        workloads,
    }
}

fn validate_exposure(
    doc: &Doc,
    path: &FieldPath,
    decl: &ExposureDecl,
    cluster: &Cluster,
    errors: &mut Vec<Diagnostic>,
) -> Exposure {
    let sources = match &decl.sources {
        Some(own) => located_list(doc, &path.key("sources"), own.clone(), errors),
        None => cluster.sources.clone(),
    };
    let host_port = doc.located(decl.host_port, &path.key("hostPort"));
    if !decl.allow_public
        && let Some(world) = sources.iter().find(|cidr| cidr.is_everything())
    {
        errors.push(
            Diagnostic::new(
                world.at.clone(),
                format!("{} would open host port {} to every address on the internet", world.value, decl.host_port),
            )
            .note(doc.at(path), "for this exposure")
            .help(format!(
                "to consent, set `allowPublic: true` on the exposure ({path} in {}); otherwise list narrower sources, such as your own address as a /32",
                doc.file.path.display()
            )),
        );
    }
    Exposure {
        container_port: doc.located(decl.container_port, &path.key("containerPort")),
        host_port,
        description: decl.description.clone(),
        sources,
        allow_public: decl.allow_public,
    }
}

/// Each host port is claimed once across all stacks, and never one the node itself uses.
fn check_host_ports(stacks: &[Stack], errors: &mut Vec<Diagnostic>) {
    let mut claimed: Vec<(&Located<Port>, String)> = Vec::new();
    for stack in stacks {
        for workload in &stack.workloads {
            for exposure in &workload.exposures {
                let port = &exposure.host_port;
                let owner = format!("{}/{}", stack.kind, workload.name);
                if let Some((first, first_owner)) =
                    claimed.iter().find(|(seen, _)| seen.value == port.value)
                {
                    errors.push(
                        Diagnostic::new(
                            port.at.clone(),
                            format!(
                                "host port {} is already claimed by {first_owner}",
                                port.value
                            ),
                        )
                        .note(first.at.clone(), "first claimed here")
                        .help("each exposed workload needs a host port of its own"),
                    );
                } else if let Some((_, _, what)) = RESERVED_HOST_PORTS
                    .iter()
                    .find(|(low, high, _)| (*low..=*high).contains(&port.value.get()))
                {
                    errors.push(
                        Diagnostic::new(
                            port.at.clone(),
                            format!(
                                "host port {} is used by {what} on the control-plane node",
                                port.value
                            ),
                        )
                        .help("choose another host port, such as one from 30000-32767"),
                    );
                } else {
                    claimed.push((port, owner));
                }
            }
        }
    }
}

/// A meshed stack needs a Linkerd stack to mesh it.
fn check_mesh(raw: &[RawStack], errors: &mut Vec<Diagnostic>) {
    if raw.iter().any(|stack| stack.kind == StackKind::Linkerd) {
        return;
    }
    for stack in raw {
        if let Spec::Bookinfo(spec) = &stack.spec
            && spec.mesh
        {
            let path = FieldPath::root().key("spec").key("mesh");
            errors.push(
                Diagnostic::new(
                    stack.doc.at(&path),
                    "the stack asks to be meshed, but no stack file has kind: Linkerd",
                )
                .field(path.to_string())
                .help("add a Linkerd stack file, or set `mesh: false`"),
            );
        }
    }
}
