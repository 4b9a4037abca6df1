//! The nodes that `cluster.yaml`'s node selector picks: the control-plane node whose EC2
//! instance carries the security group, and whose address the exposed ports are reached on.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, ListParams};

use super::error::{ApiFailure, K8sError};
use super::{Cluster, retry};

/// What the tool needs to know of a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeFacts {
    /// The node's name.
    pub name: String,
    /// `spec.providerID`, when the cloud provider set it.
    pub provider_id: Option<String>,
    /// The first `InternalIP` address.
    pub internal_ip: Option<String>,
    /// The first `ExternalIP` address.
    pub external_ip: Option<String>,
}

impl NodeFacts {
    fn of(node: &Node) -> Self {
        let address = |kind: &str| {
            node.status
                .as_ref()
                .and_then(|s| s.addresses.as_ref())
                .and_then(|all| all.iter().find(|a| a.type_ == kind))
                .map(|a| a.address.clone())
        };
        Self {
            name: node.metadata.name.clone().unwrap_or_default(),
            provider_id: node
                .spec
                .as_ref()
                .and_then(|s| s.provider_id.clone())
                .filter(|id| !id.is_empty()),
            internal_ip: address("InternalIP"),
            external_ip: address("ExternalIP"),
        }
    }
}

/// `labels` as a label selector (`key=value,...`; an empty value selects on the key alone).
pub fn selector(labels: &BTreeMap<String, String>) -> String {
    labels
        .iter()
        .map(|(key, value)| {
            if value.is_empty() {
                key.clone()
            } else {
                format!("{key}={value}")
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

impl Cluster {
    /// The nodes carrying every label of `labels`, sorted by name.
    pub async fn nodes(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> Result<Vec<NodeFacts>, K8sError> {
        let selector = selector(labels);
        let api: Api<Node> = Api::all(self.client().clone());
        let params = ListParams::default().labels(&selector);
        let list = retry::read("list nodes", || api.list(&params))
            .await
            .map_err(|err| K8sError::List {
                what: format!("nodes ({selector})"),
                source: ApiFailure::from_kube(&err, false),
            })?;
        let mut nodes: Vec<NodeFacts> = list.items.iter().map(NodeFacts::of).collect();
        nodes.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(nodes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_selector_of_keys_and_values() {
        let labels = BTreeMap::from([
            (
                "node-role.kubernetes.io/control-plane".to_owned(),
                String::new(),
            ),
            ("zone".to_owned(), "a".to_owned()),
        ]);
        assert_eq!(
            selector(&labels),
            "node-role.kubernetes.io/control-plane,zone=a"
        );
    }
}
