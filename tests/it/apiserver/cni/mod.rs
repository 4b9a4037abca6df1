//! CNI installs a test can seed the simulated cluster with, as the API shows them after the
//! CNI's own installer has run: its namespaces, ServiceAccounts, ConfigMaps, workloads,
//! CustomResourceDefinitions (Established, so that discovery serves them as on a real
//! cluster) and custom resources, and the annotations its agents put on the nodes.
//!
//! Field names, namespaces and defaults are taken from the upstream manifests cited in each
//! module and written here by hand; the workloads then go through the simulated
//! controllers like any other (their pods are scheduled and turn Ready).
//!
//! What the fixtures simplify:
//! - Only the objects and fields a reader of the CNI's mode needs are present: RBAC
//!   objects, PodDisruptionBudgets, most volumes, probes and resource requests are left out,
//!   and the CRDs carry an open schema instead of upstream's full one.
//! - The pod network is the simulated cluster's own, 10.244.0.0/16 with one /24 per node
//!   (kubeadm's `--pod-network-cidr` as flannel's manifest expects it); Calico's pool and
//!   Cilium's cluster pool are set to it, as an installer given that CIDR would set them.
//! - Node annotations use a /24 prefix for the node's address (the tests' subnets).

mod calico;
mod cilium;
mod flannel;

use serde_json::{Value, json};

use super::ApiServer;
use super::cluster::seed;
use super::json;
use super::registry::{self, Actor};
use super::state::State;

/// A CNI as it is commonly installed on a kubeadm cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CniLayout {
    /// Calico from `manifests/calico.yaml`: calico-node in `kube-system`, IP-in-IP Always,
    /// BGP (`calico_backend: bird`), the CNI config chaining `portmap`.
    CalicoManifest,
    /// Calico from the Tigera operator with the quickstart's `Installation default`
    /// (`VXLANCrossSubnet`): calico-node and calico-typha in `calico-system`.
    CalicoOperator,
    /// flannel from `Documentation/kube-flannel.yml`: `kube-flannel/kube-flannel-ds`, VXLAN
    /// backend, the CNI config chaining `portmap`.
    Flannel,
    /// Cilium from its Helm chart's defaults: `kube-system/cilium`, tunnel routing with
    /// VXLAN, no kube-proxy replacement, no CNI chaining.
    Cilium,
}

impl ApiServer {
    /// Seeds the cluster with `layout`'s objects, as if its installer had just run.
    pub fn install_cni(&self, layout: CniLayout) {
        self.shared.with(|state| match layout {
            CniLayout::CalicoManifest => calico::manifest(state),
            CniLayout::CalicoOperator => calico::operator(state),
            CniLayout::Flannel => flannel::install(state),
            CniLayout::Cilium => cilium::install(state),
        });
    }
}

/// Creates each object (with its status) in order; `(group, plural, object)`.
fn seed_all(state: &mut State, objects: Vec<(&str, &str, Value)>) {
    for (group, plural, object) in objects {
        seed(state, group, plural, object);
    }
}

/// A namespace.
fn namespace(name: &str, labels: &Value) -> (&'static str, &'static str, Value) {
    (
        "",
        "namespaces",
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}),
    )
}

/// A ServiceAccount.
fn service_account(namespace: &str, name: &str) -> (&'static str, &'static str, Value) {
    (
        "",
        "serviceaccounts",
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": namespace}}),
    )
}

/// A ConfigMap.
fn config_map(
    namespace: &str,
    name: &str,
    labels: &Value,
    data: &Value,
) -> (&'static str, &'static str, Value) {
    (
        "",
        "configmaps",
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": name, "namespace": namespace, "labels": labels},
               "data": data}),
    )
}

/// A served, Established CustomResourceDefinition of `kind` in `group` (one version, `v1`
/// style names), `Cluster` or `Namespaced`.
fn crd(
    group: &str,
    version: &str,
    kind: &str,
    plural: &str,
    scope: &str,
    short_names: &[&str],
) -> (&'static str, &'static str, Value) {
    let singular = kind.to_lowercase();
    let mut names = json!({"kind": kind, "listKind": format!("{kind}List"), "plural": plural, "singular": singular});
    if !short_names.is_empty() {
        names["shortNames"] = json!(short_names);
    }
    let now = json::now();
    let condition = |kind: &str, reason: &str, message: &str| json!({"type": kind, "status": "True", "reason": reason, "message": message, "lastTransitionTime": now});
    (
        "apiextensions.k8s.io",
        "customresourcedefinitions",
        json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": format!("{plural}.{group}")},
            "spec": {
                "group": group,
                "names": names,
                "scope": scope,
                "versions": [{
                    "name": version, "served": true, "storage": true,
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
                }],
            },
            "status": {
                "acceptedNames": names,
                "conditions": [
                    condition("NamesAccepted", "NoConflicts", "no conflicts found"),
                    condition("Established", "InitialNamesAccepted", "the initial names have been accepted"),
                ],
                "storedVersions": [version],
            },
        }),
    )
}

/// Calico's CRDs (`crd.projectcalico.org/v1`), as both installs register them
/// (calico.yaml's `kdd-crds.yaml`; the operator's `crds/calico`).
fn calico_crds() -> Vec<(&'static str, &'static str, Value)> {
    const G: &str = "crd.projectcalico.org";
    vec![
        crd(
            G,
            "v1",
            "BGPConfiguration",
            "bgpconfigurations",
            "Cluster",
            &[],
        ),
        crd(G, "v1", "BGPPeer", "bgppeers", "Cluster", &[]),
        crd(G, "v1", "BlockAffinity", "blockaffinities", "Cluster", &[]),
        crd(
            G,
            "v1",
            "ClusterInformation",
            "clusterinformations",
            "Cluster",
            &[],
        ),
        crd(
            G,
            "v1",
            "FelixConfiguration",
            "felixconfigurations",
            "Cluster",
            &[],
        ),
        crd(
            G,
            "v1",
            "GlobalNetworkPolicy",
            "globalnetworkpolicies",
            "Cluster",
            &[],
        ),
        crd(G, "v1", "HostEndpoint", "hostendpoints", "Cluster", &[]),
        crd(G, "v1", "IPAMBlock", "ipamblocks", "Cluster", &[]),
        crd(G, "v1", "IPPool", "ippools", "Cluster", &[]),
        crd(
            G,
            "v1",
            "NetworkPolicy",
            "networkpolicies",
            "Namespaced",
            &[],
        ),
    ]
}

/// A host-network DaemonSet running `containers` on every node (tolerating every taint,
/// as CNI agents do).
fn node_agent(
    namespace: &str,
    name: &str,
    labels: &Value,
    service_account: &str,
    containers: &Value,
    init_containers: &Value,
) -> (&'static str, &'static str, Value) {
    let selector = labels.clone();
    (
        "apps",
        "daemonsets",
        json!({
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {"name": name, "namespace": namespace, "labels": labels},
            "spec": {
                "selector": {"matchLabels": selector},
                "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "hostNetwork": true,
                        "priorityClassName": "system-node-critical",
                        "serviceAccountName": service_account,
                        "nodeSelector": {"kubernetes.io/os": "linux"},
                        "tolerations": [
                            {"effect": "NoSchedule", "operator": "Exists"},
                            {"key": "CriticalAddonsOnly", "operator": "Exists"},
                            {"effect": "NoExecute", "operator": "Exists"},
                        ],
                        "initContainers": init_containers,
                        "containers": containers,
                    },
                },
            },
        }),
    )
}

/// A Deployment of one pod running `containers`, allowed on the control plane.
fn controller(
    namespace: &str,
    name: &str,
    labels: &Value,
    service_account: &str,
    host_network: bool,
    containers: &Value,
) -> (&'static str, &'static str, Value) {
    (
        "apps",
        "deployments",
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace, "labels": labels},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "strategy": {"type": "Recreate"},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "hostNetwork": host_network,
                        "priorityClassName": "system-cluster-critical",
                        "serviceAccountName": service_account,
                        "nodeSelector": {"kubernetes.io/os": "linux"},
                        "tolerations": [
                            {"key": "CriticalAddonsOnly", "operator": "Exists"},
                            {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"},
                        ],
                        "containers": containers,
                    },
                },
            },
        }),
    )
}

/// The nodes as (name, InternalIP, the first three octets of the node's pod range).
fn nodes(state: &State) -> Vec<(String, String, String)> {
    state
        .store
        .list("", "nodes")
        .map(|n| {
            let ip = json::array(n, "/status/addresses")
                .iter()
                .find(|a| json::str_at(a, "/type") == "InternalIP")
                .map(|a| json::str_at(a, "/address").to_owned())
                .unwrap_or_default();
            let range = json::str_at(n, "/spec/podCIDR");
            let block = range
                .rsplit_once('.')
                .map_or_else(|| "10.244.0".to_owned(), |(head, _)| head.to_owned());
            (json::name(n).to_owned(), ip, block)
        })
        .collect()
}

/// Adds `annotations` to node `name`, as its CNI agent does.
fn annotate_node(state: &mut State, name: &str, manager: &str, annotations: &[(&str, String)]) {
    let Some(rt) = registry::type_of(state, "", "nodes") else {
        return;
    };
    let Some(old) = state.store.get("", "nodes", "", name).cloned() else {
        return;
    };
    let mut new = old.clone();
    for (key, value) in annotations {
        json::set(
            &mut new,
            &["metadata", "annotations", key],
            value.clone().into(),
        );
    }
    let _ = registry::update(
        state,
        &rt,
        &old,
        new,
        Actor::controller(manager),
        None,
        None,
    );
}
