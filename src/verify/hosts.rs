//! Where each exposed port is reached. With `--url-base`, or one control-plane node, every
//! port is on one address. With several control-plane nodes a pinned pod may run on any of
//! them, so the cluster is asked which node each exposed workload's pod runs on (the pod's
//! `spec.nodeName`) and the port is reached on that node's public address; a pod that is not
//! scheduled yet is said to be so, never guessed.

use k8s_openapi::api::core::v1::Pod;

use super::endpoints::{Endpoint, Place, endpoints, endpoints_at};
use crate::aws::Target;
use crate::k8s::Cluster;
use crate::render::Object;
use crate::stack::{Stack, StackKind};

/// A control-plane node and its public address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeAddress {
    /// The node's name.
    pub node: String,
    /// Its EC2 instance.
    pub instance: String,
    /// Its public address, if it has one.
    pub public_ip: Option<String>,
}

/// Where the exposed ports are reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hosts {
    /// Every port on this address: `--url-base`, or the one control-plane node's address.
    One(String),
    /// Each port on the public address of the control-plane node its pod runs on.
    Nodes(Vec<NodeAddress>),
}

impl Hosts {
    /// From `--url-base` and the control-plane nodes' targets (one per node). `None` when
    /// there is one node and it has no public address (the caller says what that means).
    pub fn of(url_base: Option<&str>, targets: &[Target]) -> Option<Self> {
        if let Some(host) = url_base {
            return Some(Self::One(host.to_owned()));
        }
        match targets {
            [] => None,
            [one] => one.public_ip.clone().map(Self::One),
            several => Some(Self::Nodes(
                several
                    .iter()
                    .map(|t| NodeAddress {
                        node: t.node.clone().unwrap_or_default(),
                        instance: t.instance.clone(),
                        public_ip: t.public_ip.clone(),
                    })
                    .collect(),
            )),
        }
    }
}

/// The endpoints of `stacks` where `hosts` says they are; with several nodes the cluster is
/// asked where each exposed workload (among the planned `objects`) runs.
pub async fn endpoints_on(
    hosts: &Hosts,
    stacks: &[&Stack],
    objects: &[Object],
    cluster: Option<&Cluster>,
) -> Vec<Endpoint> {
    let nodes = match hosts {
        Hosts::One(host) => return endpoints(stacks, host),
        Hosts::Nodes(nodes) => nodes,
    };
    let mut places = Vec::new();
    for stack in stacks {
        for workload in stack.workloads.iter().filter(|w| !w.exposures.is_empty()) {
            let name = workload.name.to_string();
            let running = match cluster {
                Some(cluster) => running_on(cluster, objects, stack.kind, &name).await,
                None => Err("the cluster cannot be asked which node its pod runs on".to_owned()),
            };
            places.push(((stack.kind, name), place(running, nodes)));
        }
    }
    endpoints_at(stacks, |kind, name| {
        places
            .iter()
            .find(|((k, n), _)| *k == kind && n == name)
            .map_or_else(
                || Place::Unknown {
                    node: None,
                    why: "its pod's node is not known".into(),
                },
                |(_, place)| place.clone(),
            )
    })
}

/// Where a workload whose pod runs on `running` (a node, or why none is known) is reached.
fn place(running: Result<String, String>, nodes: &[NodeAddress]) -> Place {
    let node = match running {
        Ok(node) => node,
        Err(why) => return Place::Unknown { node: None, why },
    };
    match nodes.iter().find(|n| n.node == node) {
        Some(NodeAddress {
            public_ip: Some(ip),
            ..
        }) => Place::At {
            host: ip.clone(),
            node: Some(node),
        },
        Some(found) => Place::Unknown {
            why: format!(
                "its pod runs on node {node}, whose instance {} has no public address; pass --url-base with an address that reaches it",
                found.instance
            ),
            node: Some(node),
        },
        None => Place::Unknown {
            why: format!(
                "its pod runs on node {node}, which does not match controlPlane.nodeSelector, so its port is not opened there"
            ),
            node: Some(node),
        },
    }
}

/// The node the pod of `workload` (of `stack`) runs on: a ready pod's, else any scheduled
/// live pod's; an error in words when none is scheduled or the pods cannot be read.
async fn running_on(
    cluster: &Cluster,
    objects: &[Object],
    stack: StackKind,
    workload: &str,
) -> Result<String, String> {
    let object = objects
        .iter()
        .find(|o| {
            o.stack == stack
                && o.key.group == "apps"
                && matches!(o.key.kind.as_str(), "Deployment" | "StatefulSet")
                && o.key.name == workload
        })
        .ok_or_else(|| format!("{workload} is not among the planned workloads"))?;
    let pods = crate::k8s::explain::workload_pods(cluster, &object.key, &object.value)
        .await
        .map_err(|err| format!("cannot read the pods of {}: {err}", object.key))?
        .unwrap_or_default();
    chosen(&pods).ok_or_else(|| {
        format!(
            "no pod of {} is scheduled on a node yet; run `obsboot status`, then verify again",
            object.key
        )
    })
}

/// The node of the pod to reach among `pods`: the first ready one's, else the first
/// scheduled one's; pods being deleted or finished are left out.
fn chosen(pods: &[Pod]) -> Option<String> {
    let live: Vec<(&Pod, &str)> = pods
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter(|p| {
            let phase = p.status.as_ref().and_then(|s| s.phase.as_deref());
            !matches!(phase, Some("Succeeded" | "Failed"))
        })
        .filter_map(|p| Some((p, p.spec.as_ref()?.node_name.as_deref()?)))
        .collect();
    let ready = |pod: &Pod| {
        pod.status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
    };
    live.iter()
        .find(|(pod, _)| ready(pod))
        .or_else(|| live.first())
        .map(|(_, node)| (*node).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(node: Option<&str>, ready: bool, deleting: bool) -> Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": {
                "name": "p",
                "deletionTimestamp": deleting.then_some("2026-01-01T00:00:00Z"),
            },
            "spec": {"containers": [], "nodeName": node},
            "status": {
                "phase": "Running",
                "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}],
            },
        }))
        .unwrap_or_default()
    }

    fn nodes() -> Vec<NodeAddress> {
        vec![
            NodeAddress {
                node: "cp-a".into(),
                instance: "i-a".into(),
                public_ip: Some("198.51.100.1".into()),
            },
            NodeAddress {
                node: "cp-b".into(),
                instance: "i-b".into(),
                public_ip: None,
            },
        ]
    }

    #[test]
    fn the_ready_live_pod_decides_the_node() {
        assert_eq!(chosen(&[]), None);
        assert_eq!(chosen(&[pod(None, false, false)]), None);
        assert_eq!(
            chosen(&[
                pod(Some("cp-a"), false, false),
                pod(Some("cp-b"), true, false)
            ]),
            Some("cp-b".into())
        );
        assert_eq!(
            chosen(&[
                pod(Some("cp-a"), true, true),
                pod(Some("cp-b"), false, false)
            ]),
            Some("cp-b".into())
        );
    }

    #[test]
    fn a_workload_is_reached_on_its_nodes_public_address_or_says_why_not() {
        assert_eq!(
            place(Ok("cp-a".into()), &nodes()),
            Place::At {
                host: "198.51.100.1".into(),
                node: Some("cp-a".into())
            }
        );
        let Place::Unknown { why, .. } = place(Ok("cp-b".into()), &nodes()) else {
            panic!("cp-b has no public address");
        };
        assert!(why.contains("instance i-b has no public address"), "{why}");
        let Place::Unknown { why, .. } = place(Ok("worker".into()), &nodes()) else {
            panic!("a worker is not a control-plane node");
        };
        assert!(
            why.contains("does not match controlPlane.nodeSelector"),
            "{why}"
        );
        assert_eq!(
            place(Err("not scheduled".into()), &nodes()),
            Place::Unknown {
                node: None,
                why: "not scheduled".into()
            }
        );
    }
}
