//! The objects a fresh kubeadm cluster already has: its nodes, the four system namespaces
//! and the `kubernetes` Service with its endpoints.

use serde_json::{Value, json};

use super::config::SimNode;
use super::json;
use super::registry::{self, Actor};
use super::state::State;

/// The manager of what the API server itself writes.
const MANAGER: &str = "kube-apiserver";

/// Creates `object`, then sets its status through the status subresource.
pub fn seed(state: &mut State, group: &str, plural: &str, mut object: Value) {
    let status = json::remove(&mut object, &["status"]);
    let Some(rt) = registry::type_of(state, group, plural) else {
        return;
    };
    let Ok(created) = registry::create(state, &rt, object, Actor::controller(MANAGER)) else {
        return;
    };
    if let Some(status) = status {
        let mut with_status = created.clone();
        with_status["status"] = status;
        let sub = rt.status.then_some("status");
        let _ = registry::update(
            state,
            &rt,
            &created,
            with_status,
            Actor::controller("kubelet"),
            sub,
            None,
        );
    }
}

/// A Node as the kubelet registers it.
fn node(index: usize, node: &SimNode) -> Value {
    let mut labels = node.labels.clone();
    for (key, value) in [
        ("kubernetes.io/hostname", node.name.as_str()),
        ("kubernetes.io/os", "linux"),
        ("kubernetes.io/arch", "amd64"),
        ("beta.kubernetes.io/os", "linux"),
        ("beta.kubernetes.io/arch", "amd64"),
    ] {
        labels
            .entry(key.to_owned())
            .or_insert_with(|| value.to_owned());
    }
    let taints: Vec<Value> = node
        .taints
        .iter()
        .map(|(key, effect)| json!({"key": key, "effect": effect}))
        .collect();
    let cidr = format!("10.244.{index}.0/24");
    let mut spec = json!({"podCIDR": cidr, "podCIDRs": [cidr]});
    if !taints.is_empty() {
        spec["taints"] = json!(taints);
    }
    if let Some(id) = &node.provider_id {
        spec["providerID"] = id.clone().into();
    }
    let now = json::now();
    let condition = |kind: &str, status: &str, reason: &str, message: &str| {
        json!({"type": kind, "status": status, "reason": reason, "message": message,
               "lastHeartbeatTime": now, "lastTransitionTime": now})
    };
    let resources = json!({"cpu": "2", "ephemeral-storage": "20134592Ki", "hugepages-2Mi": "0", "memory": "3931852Ki", "pods": "110"});
    json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": node.name,
            "labels": labels,
            "annotations": {
                "kubeadm.alpha.kubernetes.io/cri-socket": "unix:///var/run/containerd/containerd.sock",
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
            },
        },
        "spec": spec,
        "status": {
            "addresses": [
                {"type": "InternalIP", "address": node.internal_ip},
                {"type": "Hostname", "address": node.name},
            ],
            "allocatable": resources,
            "capacity": resources,
            "conditions": [
                condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                condition("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "architecture": "amd64",
                "bootID": format!("boot-{index}"),
                "containerRuntimeVersion": "containerd://1.7.27",
                "kernelVersion": "6.8.0-1029-aws",
                "kubeProxyVersion": "",
                "kubeletVersion": "v1.33.4",
                "machineID": format!("ec2{index:029}"),
                "operatingSystem": "linux",
                "osImage": "Ubuntu 24.04.2 LTS",
                "systemUUID": format!("ec2{index:05}-0000-0000-0000-000000000000"),
            },
        },
    })
}

/// Creates the cluster's initial objects.
pub fn create(state: &mut State) {
    for name in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        seed(
            state,
            "",
            "namespaces",
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}),
        );
    }
    let nodes = state.config.nodes.clone();
    for (index, n) in nodes.iter().enumerate() {
        seed(state, "", "nodes", node(index, n));
    }
    if state.config.coredns {
        super::addons::create_coredns(state);
    }
    if state.config.control_plane {
        super::addons::create_control_plane(state);
    }
    let api_ip = nodes
        .first()
        .map_or("10.0.1.74", |n| n.internal_ip.as_str())
        .to_owned();
    let labels = json!({"component": "apiserver", "provider": "kubernetes"});
    seed(
        state,
        "",
        "services",
        json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "kubernetes", "namespace": "default", "labels": labels},
            "spec": {"clusterIP": "10.96.0.1", "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]},
        }),
    );
    seed(
        state,
        "",
        "endpoints",
        json!({
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {"name": "kubernetes", "namespace": "default", "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
            "subsets": [{"addresses": [{"ip": api_ip}], "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}]}],
        }),
    );
    seed(
        state,
        "discovery.k8s.io",
        "endpointslices",
        json!({
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {"name": "kubernetes", "namespace": "default", "labels": {"kubernetes.io/service-name": "kubernetes"}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [api_ip], "conditions": {"ready": true}}],
            "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}],
        }),
    );
}
