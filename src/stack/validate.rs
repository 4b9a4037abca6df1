//! Checks that span fields and files: placement allows each exposure, sources are consented
//! to and listed once, host ports are claimed once and never one the node itself uses, and a
//! meshed stack has a mesh.

use std::sync::Arc;

use super::Stack;
use super::cluster::Cluster;
use super::fields::{Cidr, Placement, Port, PublicReach};
use super::load::{Doc, RawStack};
use super::workload::{Exposure, ExposureDecl, Workload};
use crate::diagnostic::Diagnostic;
use crate::field_path::FieldPath;
use crate::source::Located;

/// Ports a host port must not take on the control-plane node: a hostPort DNAT rule would
/// capture traffic meant for these. Every port a kubeadm control-plane node binds: the API
/// server, etcd, the scheduler, the controller-manager and the kubelet as kubernetes.io's
/// "Ports and Protocols" lists them; etcd's metrics listener on 2381 (kubeadm's
/// `--listen-metrics-urls`); and the components' defaults in kubernetes/kubernetes
/// `pkg/cluster/ports/ports.go` (kubelet health 10248, kube-proxy metrics 10249 and health
/// 10256, cloud-controller-manager 10258, kube-scheduler 10259).
const RESERVED_HOST_PORTS: &[(u16, u16, &str)] = &[
    (22, 22, "SSH"),
    (179, 179, "Calico BGP"),
    (2379, 2380, "etcd's client and peer API"),
    (2381, 2381, "etcd's metrics listener"),
    (6443, 6443, "the Kubernetes API server"),
    (10248, 10248, "the kubelet's health check"),
    (10249, 10249, "kube-proxy's metrics"),
    (10250, 10250, "the kubelet API"),
    (10256, 10256, "kube-proxy's health check"),
    (10257, 10257, "kube-controller-manager"),
    (10258, 10258, "cloud-controller-manager"),
    (10259, 10259, "kube-scheduler"),
];

/// Linux's default ephemeral port range (`net.ipv4.ip_local_port_range`), from which the node
/// picks the local port of each connection it opens.
const EPHEMERAL_PORTS: std::ops::RangeInclusive<u16> = 32768..=60999;

/// Pairs each CIDR of the list at `path` with its position; a CIDR listed twice is an error
/// (EC2 refuses the same permission twice in one request).
pub(super) fn located_list(
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

pub(super) fn validate_stack(
    raw: &RawStack,
    cluster: &Cluster,
    errors: &mut Vec<Diagnostic>,
) -> Stack {
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
    let cidrs: Vec<Cidr> = sources.iter().map(|cidr| cidr.value).collect();
    if !decl.allow_public
        && let Some(reach) = PublicReach::of(&cidrs)
        && let Some(first) = sources.iter().find(|cidr| cidr.value == reach.first())
    {
        errors.push(
            Diagnostic::new(
                first.at.clone(),
                format!("{reach} would open host port {} to {}", decl.host_port, reach.reach()),
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
        own_sources: decl.sources.is_some(),
    }
}

/// Each host port is claimed once across all stacks, and never one the node itself uses.
pub(super) fn check_host_ports(stacks: &[Stack], errors: &mut Vec<Diagnostic>) {
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
                    if EPHEMERAL_PORTS.contains(&port.value.get()) {
                        tracing::warn!(
                            "{}: host port {} ({owner}) is in Linux's ephemeral port range {}-{}: a connection the node opens may get it as its local port, and its replies would then go to the pod; choose one from 30000-32767",
                            port.at,
                            port.value,
                            EPHEMERAL_PORTS.start(),
                            EPHEMERAL_PORTS.end()
                        );
                    }
                    claimed.push((port, owner));
                }
            }
        }
    }
}
