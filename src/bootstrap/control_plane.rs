//! Workloads pinned to the control-plane node select it by `cluster.yaml`'s
//! `controlPlane.nodeSelector`; if no node carries those labels they would stay Pending until
//! the wait times out. Finding the security group checks this on the way; without one
//! (`--skip-security-groups`) it is checked here, before anything is written.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, ListParams};

use crate::k8s::{ApiFailure, Cluster, K8sError, retry};
use crate::source::Location;
use crate::stack::{Placement, Stack};

/// At most this many nodes, and this many labels of each, are named.
const SHOWN: usize = 5;

/// Why the pinned workloads cannot be placed.
#[derive(Debug, thiserror::Error)]
pub enum ControlPlaneError {
    /// No node carries the selector's labels.
    #[error(
        "{at}: controlPlane.nodeSelector: no node carries {selector}, which {workloads} (placement: control-plane) select, so their pods would stay Pending; the cluster's nodes: {nodes}. Label the control-plane node (`kubectl label node <name> {selector}`) or set controlPlane.nodeSelector to labels it has"
    )]
    NoNode {
        /// Where the selector is written.
        at: Location,
        /// The selector.
        selector: String,
        /// The pinned workloads, `stack/name`.
        workloads: String,
        /// The nodes and their labels, briefly.
        nodes: String,
    },
    /// The nodes could not be listed.
    #[error(transparent)]
    Kube(#[from] K8sError),
}

/// Refuses when some workload of `stacks` is pinned to the control-plane node and no node
/// matches `cluster.yaml`'s selector. Lists the nodes only when something is pinned.
pub async fn check(
    cluster: &Cluster,
    platform: &crate::stack::Cluster,
    stacks: &[&Stack],
) -> Result<(), ControlPlaneError> {
    let pinned: Vec<String> = stacks
        .iter()
        .flat_map(|stack| {
            stack
                .workloads
                .iter()
                .filter(|w| w.placement == Placement::ControlPlane)
                .map(move |w| format!("{}/{}", stack.name(), w.name.as_str()))
        })
        .collect();
    if pinned.is_empty() {
        return Ok(());
    }
    let wanted: BTreeMap<&str, &str> = platform
        .node_selector
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let api: Api<Node> = Api::all(cluster.client().clone());
    let params = ListParams::default();
    let nodes = retry::read("list nodes", || api.list(&params))
        .await
        .map_err(|err| K8sError::List {
            what: "nodes".into(),
            source: ApiFailure::from_kube(&err, false),
        })?;
    let matches = |node: &Node| {
        let labels = node.metadata.labels.clone().unwrap_or_default();
        wanted
            .iter()
            .all(|(k, v)| labels.get(*k).is_some_and(|l| l == v))
    };
    if nodes.items.iter().any(matches) {
        return Ok(());
    }
    let selector = crate::k8s::nodes::selector(
        &wanted
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    );
    Err(ControlPlaneError::NoNode {
        at: platform.node_selector_at.clone(),
        selector,
        workloads: pinned.join(", "),
        nodes: describe(&nodes.items),
    })
}

/// `name (label=value, ...)` for each node, leaving out the labels every node has.
fn describe(nodes: &[Node]) -> String {
    if nodes.is_empty() {
        return "none".into();
    }
    let mut out = Vec::new();
    for node in nodes.iter().take(SHOWN) {
        let labels = node.metadata.labels.clone().unwrap_or_default();
        let shown: Vec<String> = labels
            .iter()
            .filter(|(k, _)| !common(k))
            .map(|(k, v)| {
                if v.is_empty() {
                    k.clone()
                } else {
                    format!("{k}={v}")
                }
            })
            .collect();
        let mut line = node.metadata.name.clone().unwrap_or_default();
        let extra = shown.len().saturating_sub(SHOWN);
        let listed: Vec<&str> = shown.iter().take(SHOWN).map(String::as_str).collect();
        let _ = write!(
            line,
            " ({}",
            if listed.is_empty() {
                "no distinguishing labels".to_owned()
            } else {
                listed.join(", ")
            }
        );
        if extra > 0 {
            let _ = write!(line, ", {extra} more");
        }
        line.push(')');
        out.push(line);
    }
    if nodes.len() > SHOWN {
        out.push(format!("and {} more", nodes.len() - SHOWN));
    }
    out.join("; ")
}

/// Labels the kubelet puts on every node.
fn common(key: &str) -> bool {
    key.starts_with("beta.kubernetes.io/")
        || matches!(
            key,
            "kubernetes.io/hostname" | "kubernetes.io/os" | "kubernetes.io/arch"
        )
}
