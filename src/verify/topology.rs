//! Which node an address belongs to, as the cluster says: a pod's IP (the node it runs on), a
//! node's own address, or an address in a node's pod range. Verify uses it to tell a failure
//! between two pods on one node from one that crosses the network between nodes.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;
use k8s_openapi::api::core::v1::{Node, Pod, Service};
use kube::api::{Api, ListParams};

use crate::k8s::Cluster;

/// The nodes and pods of the cluster, by address.
#[derive(Debug, Default, Clone)]
pub struct Topology {
    /// Pod IP → node name.
    pods: BTreeMap<IpAddr, String>,
    /// Node address → node name.
    nodes: BTreeMap<IpAddr, String>,
    /// Pod range → node name.
    ranges: Vec<(IpNet, String)>,
}

impl Topology {
    /// Reads the nodes and pods; `None` when the cluster cannot be asked.
    pub async fn read(cluster: &Cluster) -> Option<Self> {
        let nodes: Api<Node> = Api::all(cluster.client().clone());
        let pods: Api<Pod> = Api::all(cluster.client().clone());
        let params = ListParams::default();
        let (nodes, pods) = futures::future::join(nodes.list(&params), pods.list(&params)).await;
        let (nodes, pods) = match (nodes, pods) {
            (Ok(nodes), Ok(pods)) => (nodes.items, pods.items),
            (Err(err), _) | (_, Err(err)) => {
                tracing::warn!("cannot read the nodes and pods to place scrape failures: {err}");
                return None;
            }
        };
        let mut topology = Self::default();
        for node in &nodes {
            let name = node.metadata.name.clone().unwrap_or_default();
            let addresses = node.status.as_ref().and_then(|s| s.addresses.as_ref());
            for address in addresses.into_iter().flatten() {
                if let Ok(ip) = address.address.parse() {
                    topology.nodes.insert(ip, name.clone());
                }
            }
            let spec = node.spec.as_ref();
            let ranges = spec
                .and_then(|s| s.pod_cidrs.clone())
                .or_else(|| spec.and_then(|s| s.pod_cidr.clone()).map(|c| vec![c]));
            for range in ranges.into_iter().flatten() {
                if let Ok(net) = range.parse() {
                    topology.ranges.push((net, name.clone()));
                }
            }
        }
        for pod in &pods {
            let Some(node) = pod.spec.as_ref().and_then(|s| s.node_name.clone()) else {
                continue;
            };
            let status = pod.status.as_ref();
            let host_network = pod.spec.as_ref().and_then(|s| s.host_network) == Some(true);
            let ips = status.and_then(|s| s.pod_ips.as_ref());
            for ip in ips.into_iter().flatten() {
                if let (Ok(ip), false) = (ip.ip.parse(), host_network) {
                    topology.pods.insert(ip, node.clone());
                }
            }
        }
        Some(topology)
    }

    /// The node `host` (an IP address) belongs to, if the cluster knows it.
    pub fn node_of(&self, host: &str) -> Option<&str> {
        let ip: IpAddr = host.parse().ok()?;
        self.pods
            .get(&ip)
            .or_else(|| self.nodes.get(&ip))
            .or_else(|| {
                self.ranges
                    .iter()
                    .find(|(net, _)| net.contains(&ip))
                    .map(|(_, node)| node)
            })
            .map(String::as_str)
    }

    /// A topology from literal pairs, for tests.
    #[cfg(test)]
    pub(crate) fn with(
        pods: &[(&str, &str)],
        nodes: &[(&str, &str)],
        ranges: &[(&str, &str)],
    ) -> Self {
        let map = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(ip, node)| (ip.parse().unwrap(), (*node).to_owned()))
                .collect()
        };
        Self {
            pods: map(pods),
            nodes: map(nodes),
            ranges: ranges
                .iter()
                .map(|(net, node)| (net.parse().unwrap(), (*node).to_owned()))
                .collect(),
        }
    }
}

/// The node a pod behind the Service `namespace/name` runs on (the first running one), if
/// the cluster can tell.
pub async fn service_node(cluster: &Cluster, namespace: &str, name: &str) -> Option<String> {
    let services: Api<Service> = Api::namespaced(cluster.client().clone(), namespace);
    let service = services.get_opt(name).await.ok()??;
    let selector = service.spec?.selector?;
    if selector.is_empty() {
        return None;
    }
    let labels = selector
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    selected_node(cluster, namespace, &labels).await
}

/// The node the first running pod of `namespace` carrying `labels` runs on.
pub async fn selected_node(cluster: &Cluster, namespace: &str, labels: &str) -> Option<String> {
    let pods: Api<Pod> = Api::namespaced(cluster.client().clone(), namespace);
    let pods = pods
        .list(&ListParams::default().labels(labels))
        .await
        .ok()?;
    pods.items
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .find_map(|p| p.spec.as_ref()?.node_name.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_placed_by_pod_then_node_then_range() {
        let topology = Topology::with(
            &[("10.244.1.7", "worker")],
            &[("10.0.1.74", "master"), ("10.0.2.15", "worker")],
            &[("10.244.0.0/24", "master"), ("10.244.1.0/24", "worker")],
        );
        assert_eq!(topology.node_of("10.244.1.7"), Some("worker"));
        assert_eq!(topology.node_of("10.0.1.74"), Some("master"));
        assert_eq!(topology.node_of("10.244.0.9"), Some("master"));
        assert_eq!(topology.node_of("10.96.0.10"), None);
        assert_eq!(topology.node_of("prometheus"), None);
    }
}
