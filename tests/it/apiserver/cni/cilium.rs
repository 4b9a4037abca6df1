//! Cilium as its Helm chart installs it with default values
//! (cilium/cilium `install/kubernetes/cilium/templates/cilium-configmap.yaml`,
//! `values.yaml`): ConfigMap `kube-system/cilium-config` with `routing-mode: "tunnel"`,
//! `tunnel-protocol: "vxlan"` (port 8472 by default), `kube-proxy-replacement: "false"`, no
//! `cni-chaining-mode` (chaining `none`), `ipam: "cluster-pool"`; the host-network DaemonSet
//! `kube-system/cilium` (`k8s-app: cilium`) and the Deployment `cilium-operator`. The
//! operator registers the `cilium.io/v2` CRDs (`ciliumnodes`, `ciliumendpoints`,
//! `ciliumidentities`, `ciliumnetworkpolicies`, `ciliumclusterwidenetworkpolicies`), and
//! each agent its node's `CiliumNode` (addresses, pod CIDRs from the cluster pool).

use serde_json::json;

use super::super::state::State;
use super::{config_map, controller, crd, node_agent, nodes, seed_all, service_account};

/// The Cilium release the fixtures name in images.
const VERSION: &str = "v1.18.3";

/// Cilium from its Helm chart.
#[allow(clippy::too_many_lines)] // the install's objects, one after another
pub fn install(state: &mut State) {
    let ns = "kube-system";
    let labels = json!({"k8s-app": "cilium", "app.kubernetes.io/name": "cilium-agent", "app.kubernetes.io/part-of": "cilium"});
    let agent = format!("quay.io/cilium/cilium:{VERSION}");
    let mut objects = vec![
        service_account(ns, "cilium"),
        service_account(ns, "cilium-operator"),
        config_map(
            ns,
            "cilium-config",
            &json!({}),
            &json!({
                "cluster-name": "default",
                "cluster-id": "0",
                "enable-ipv4": "true",
                "enable-ipv6": "false",
                "routing-mode": "tunnel",
                "tunnel-protocol": "vxlan",
                "kube-proxy-replacement": "false",
                "ipam": "cluster-pool",
                "cluster-pool-ipv4-cidr": "10.244.0.0/16",
                "cluster-pool-ipv4-mask-size": "24",
                "enable-health-checking": "true",
                "enable-endpoint-health-checking": "true",
                "cni-exclusive": "true",
                "enable-policy": "default",
            }),
        ),
        crd(
            "cilium.io",
            "v2",
            "CiliumNode",
            "ciliumnodes",
            "Cluster",
            &["cn", "ciliumn"],
        ),
        crd(
            "cilium.io",
            "v2",
            "CiliumEndpoint",
            "ciliumendpoints",
            "Namespaced",
            &["cep", "ciliumep"],
        ),
        crd(
            "cilium.io",
            "v2",
            "CiliumIdentity",
            "ciliumidentities",
            "Cluster",
            &["ciliumid"],
        ),
        crd(
            "cilium.io",
            "v2",
            "CiliumNetworkPolicy",
            "ciliumnetworkpolicies",
            "Namespaced",
            &["cnp", "ciliumnp"],
        ),
        crd(
            "cilium.io",
            "v2",
            "CiliumClusterwideNetworkPolicy",
            "ciliumclusterwidenetworkpolicies",
            "Cluster",
            &["ccnp"],
        ),
        node_agent(
            ns,
            "cilium",
            &labels,
            "cilium",
            &json!([{
                "name": "cilium-agent",
                "image": agent,
                "command": ["cilium-agent"],
                "args": ["--config-dir=/tmp/cilium/config-map"],
                "securityContext": {"privileged": true},
            }]),
            &json!([{"name": "config", "image": agent, "command": ["cilium-dbg", "build-config"]}]),
        ),
        controller(
            ns,
            "cilium-operator",
            &json!({"io.cilium/app": "operator", "name": "cilium-operator"}),
            "cilium-operator",
            true,
            &json!([{"name": "cilium-operator", "image": format!("quay.io/cilium/operator-generic:{VERSION}"),
                     "command": ["cilium-operator-generic"]}]),
        ),
    ];
    for (name, ip, block) in nodes(state) {
        objects.push((
            "cilium.io",
            "ciliumnodes",
            json!({
                "apiVersion": "cilium.io/v2",
                "kind": "CiliumNode",
                "metadata": {"name": name},
                "spec": {
                    "addresses": [{"type": "InternalIP", "ip": ip}, {"type": "CiliumInternalIP", "ip": format!("{block}.1")}],
                    "health": {"ipv4": format!("{block}.254")},
                    "ipam": {"podCIDRs": [format!("{block}.0/24")]},
                },
            }),
        ));
    }
    seed_all(state, objects);
}
