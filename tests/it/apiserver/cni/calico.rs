//! Calico, installed from its manifest or by the Tigera operator.
//!
//! Sources (projectcalico/calico):
//! - `manifests/calico.yaml`: ConfigMap `kube-system/calico-config` (`typha_service_name:
//!   "none"`, `calico_backend: "bird"`, `veth_mtu: "0"`, `cni_network_config` chaining
//!   `calico` and `portmap` with `snat: true` and the `portMappings` capability); DaemonSet
//!   `kube-system/calico-node` (label `k8s-app: calico-node`, host network, env
//!   `CALICO_NETWORKING_BACKEND` from the ConfigMap, `CLUSTER_TYPE: "k8s,bgp"`, `IP:
//!   "autodetect"`, `CALICO_IPV4POOL_IPIP: "Always"`, `CALICO_IPV4POOL_VXLAN: "Never"`,
//!   `CALICO_IPV6POOL_VXLAN: "Never"`); Deployment `calico-kube-controllers`; the
//!   `crd.projectcalico.org/v1` CRDs. calico-node creates the pool `default-ipv4-ippool`
//!   from that env (`ipipMode: Always`, `vxlanMode: Never`, `natOutgoing: true`,
//!   `blockSize: 26`, `nodeSelector: all()`) and annotates each node with
//!   `projectcalico.org/IPv4Address` (address/prefix) and
//!   `projectcalico.org/IPv4IPIPTunnelAddr`.
//! - `manifests/custom-resources.yaml` (the operator quickstart): `Installation default`
//!   with `calicoNetwork.ipPools[0]` = `default-ipv4-ippool`, `blockSize: 26`,
//!   `encapsulation: VXLANCrossSubnet`, `natOutgoing: Enabled`, `nodeSelector: all()`, and
//!   `APIServer default`. The operator (`tigera-operator/tigera-operator`) renders
//!   calico-node, calico-typha (TCP 5473) and calico-kube-controllers into `calico-system`
//!   and the pool with `vxlanMode: CrossSubnet`, `ipipMode: Never`; nodes get
//!   `projectcalico.org/IPv4VXLANTunnelAddr`.

use serde_json::{Value, json};

use super::super::state::State;
use super::{
    annotate_node, calico_crds, config_map, controller, crd, namespace, node_agent, nodes,
    seed_all, service_account,
};

/// The Calico release the fixtures name in images.
const VERSION: &str = "v3.30.3";

/// The CNI configuration calico.yaml installs (calico, then portmap).
const CNI_NETWORK_CONFIG: &str = r#"{
  "name": "k8s-pod-network",
  "cniVersion": "0.3.1",
  "plugins": [
    {
      "type": "calico",
      "log_level": "info",
      "log_file_path": "/var/log/calico/cni/cni.log",
      "datastore_type": "kubernetes",
      "nodename": "__KUBERNETES_NODE_NAME__",
      "mtu": __CNI_MTU__,
      "ipam": {
          "type": "calico-ipam"
      },
      "policy": {
          "type": "k8s"
      },
      "kubernetes": {
          "kubeconfig": "__KUBECONFIG_FILEPATH__"
      }
    },
    {
      "type": "portmap",
      "snat": true,
      "capabilities": {"portMappings": true}
    }
  ]
}"#;

/// The pod range of the simulated cluster.
const POOL: &str = "10.244.0.0/16";

/// An env entry with a value.
fn env(name: &str, value: &str) -> Value {
    json!({"name": name, "value": value})
}

/// An env entry from a key of `calico-config`.
fn env_from_config(name: &str, key: &str) -> Value {
    json!({"name": name, "valueFrom": {"configMapKeyRef": {"name": "calico-config", "key": key}}})
}

/// The IPPool calico-node or the operator creates.
fn pool(ipip: &str, vxlan: &str) -> (&'static str, &'static str, Value) {
    (
        "crd.projectcalico.org",
        "ippools",
        json!({
            "apiVersion": "crd.projectcalico.org/v1",
            "kind": "IPPool",
            "metadata": {"name": "default-ipv4-ippool"},
            "spec": {
                "allowedUses": ["Workload", "Tunnel"],
                "blockSize": 26,
                "cidr": POOL,
                "ipipMode": ipip,
                "natOutgoing": true,
                "nodeSelector": "all()",
                "vxlanMode": vxlan,
            },
        }),
    )
}

/// The cluster-wide defaults calico-node writes on its first start.
fn defaults(cluster_type: &str) -> Vec<(&'static str, &'static str, Value)> {
    vec![
        (
            "crd.projectcalico.org",
            "felixconfigurations",
            json!({"apiVersion": "crd.projectcalico.org/v1", "kind": "FelixConfiguration",
                   "metadata": {"name": "default"},
                   "spec": {"bpfLogLevel": "", "floatingIPs": "Disabled", "logSeverityScreen": "Info", "reportingInterval": "0s"}}),
        ),
        (
            "crd.projectcalico.org",
            "clusterinformations",
            json!({"apiVersion": "crd.projectcalico.org/v1", "kind": "ClusterInformation",
                   "metadata": {"name": "default"},
                   "spec": {"calicoVersion": VERSION, "clusterType": cluster_type, "datastoreReady": true}}),
        ),
    ]
}

/// Annotates every node with its address and the tunnel address of `tunnel_key`.
fn annotate(state: &mut State, tunnel_key: &str) {
    for (name, ip, block) in nodes(state) {
        annotate_node(
            state,
            &name,
            "calico-node",
            &[
                ("projectcalico.org/IPv4Address", format!("{ip}/24")),
                (tunnel_key, format!("{block}.1")),
            ],
        );
    }
}

/// Calico from `manifests/calico.yaml`.
pub fn manifest(state: &mut State) {
    let ns = "kube-system";
    let labels = json!({"k8s-app": "calico-node"});
    let image = |name: &str| format!("docker.io/calico/{name}:{VERSION}");
    let mut objects = vec![
        service_account(ns, "calico-kube-controllers"),
        service_account(ns, "calico-node"),
        service_account(ns, "calico-cni-plugin"),
        config_map(
            ns,
            "calico-config",
            &json!({}),
            &json!({
                "typha_service_name": "none",
                "calico_backend": "bird",
                "veth_mtu": "0",
                "cni_network_config": CNI_NETWORK_CONFIG,
            }),
        ),
    ];
    objects.extend(calico_crds());
    objects.push(node_agent(
        ns,
        "calico-node",
        &labels,
        "calico-node",
        &json!([{
            "name": "calico-node",
            "image": image("node"),
            "env": [
                env("DATASTORE_TYPE", "kubernetes"),
                env("WAIT_FOR_DATASTORE", "true"),
                {"name": "NODENAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
                env_from_config("CALICO_NETWORKING_BACKEND", "calico_backend"),
                env("CLUSTER_TYPE", "k8s,bgp"),
                env("IP", "autodetect"),
                env("CALICO_IPV4POOL_IPIP", "Always"),
                env("CALICO_IPV4POOL_VXLAN", "Never"),
                env("CALICO_IPV6POOL_VXLAN", "Never"),
                env_from_config("FELIX_IPINIPMTU", "veth_mtu"),
                env_from_config("FELIX_VXLANMTU", "veth_mtu"),
                env_from_config("FELIX_WIREGUARDMTU", "veth_mtu"),
                env("CALICO_DISABLE_FILE_LOGGING", "true"),
                env("FELIX_DEFAULTENDPOINTTOHOSTACTION", "ACCEPT"),
                env("FELIX_IPV6SUPPORT", "false"),
                env("FELIX_HEALTHENABLED", "true"),
            ],
            "securityContext": {"privileged": true},
        }]),
        &json!([{
            "name": "install-cni",
            "image": image("cni"),
            "command": ["/opt/cni/bin/install"],
            "env": [
                env("CNI_CONF_NAME", "10-calico.conflist"),
                env_from_config("CNI_NETWORK_CONFIG", "cni_network_config"),
                env_from_config("CNI_MTU", "veth_mtu"),
                env("SLEEP", "false"),
            ],
            "securityContext": {"privileged": true},
        }]),
    ));
    objects.push(controller(
        ns,
        "calico-kube-controllers",
        &json!({"k8s-app": "calico-kube-controllers"}),
        "calico-kube-controllers",
        false,
        &json!([{
            "name": "calico-kube-controllers",
            "image": image("kube-controllers"),
            "env": [env("ENABLED_CONTROLLERS", "node,loadbalancer"), env("DATASTORE_TYPE", "kubernetes")],
        }]),
    ));
    objects.push(pool("Always", "Never"));
    objects.extend(defaults("k8s,bgp,kubeadm,kdd"));
    seed_all(state, objects);
    annotate(state, "projectcalico.org/IPv4IPIPTunnelAddr");
}

/// Calico installed by the Tigera operator with the quickstart's custom resources.
#[allow(clippy::too_many_lines)] // the install's objects, one after another
pub fn operator(state: &mut State) {
    let image = |name: &str| format!("quay.io/calico/{name}:{VERSION}");
    let mut objects = vec![
        namespace(
            "tigera-operator",
            &json!({"name": "tigera-operator", "pod-security.kubernetes.io/enforce": "privileged"}),
        ),
        service_account("tigera-operator", "tigera-operator"),
        crd(
            "operator.tigera.io",
            "v1",
            "Installation",
            "installations",
            "Cluster",
            &[],
        ),
        crd(
            "operator.tigera.io",
            "v1",
            "APIServer",
            "apiservers",
            "Cluster",
            &[],
        ),
        crd(
            "operator.tigera.io",
            "v1",
            "TigeraStatus",
            "tigerastatuses",
            "Cluster",
            &[],
        ),
    ];
    objects.extend(calico_crds());
    objects.push(controller(
        "tigera-operator",
        "tigera-operator",
        &json!({"k8s-app": "tigera-operator"}),
        "tigera-operator",
        true,
        &json!([{"name": "tigera-operator", "image": "quay.io/tigera/operator:v1.38.6",
                 "command": ["operator"]}]),
    ));
    objects.push((
        "operator.tigera.io",
        "installations",
        json!({
            "apiVersion": "operator.tigera.io/v1",
            "kind": "Installation",
            "metadata": {"name": "default"},
            "spec": {"calicoNetwork": {"ipPools": [{
                "name": "default-ipv4-ippool",
                "blockSize": 26,
                "cidr": POOL,
                "encapsulation": "VXLANCrossSubnet",
                "natOutgoing": "Enabled",
                "nodeSelector": "all()",
            }]}},
        }),
    ));
    objects.push((
        "operator.tigera.io",
        "apiservers",
        json!({"apiVersion": "operator.tigera.io/v1", "kind": "APIServer", "metadata": {"name": "default"}, "spec": {}}),
    ));
    // What the operator renders from them.
    let ns = "calico-system";
    objects.push(namespace(
        ns,
        &json!({"name": ns, "pod-security.kubernetes.io/enforce": "privileged"}),
    ));
    objects.push(service_account(ns, "calico-node"));
    objects.push(service_account(ns, "calico-typha"));
    objects.push(service_account(ns, "calico-kube-controllers"));
    objects.push(node_agent(
        ns,
        "calico-node",
        &json!({"k8s-app": "calico-node"}),
        "calico-node",
        &json!([{
            "name": "calico-node",
            "image": image("node"),
            "env": [
                env("DATASTORE_TYPE", "kubernetes"),
                env("WAIT_FOR_DATASTORE", "true"),
                env("CLUSTER_TYPE", "k8s,operator,bgp"),
                env("CALICO_DISABLE_FILE_LOGGING", "false"),
                env("FELIX_DEFAULTENDPOINTTOHOSTACTION", "ACCEPT"),
                env("FELIX_TYPHAK8SSERVICENAME", "calico-typha"),
                env("FELIX_TYPHAK8SNAMESPACE", ns),
                env("IP", "autodetect"),
                env("IP_AUTODETECTION_METHOD", "first-found"),
                env("FELIX_HEALTHENABLED", "true"),
            ],
            "securityContext": {"privileged": true},
        }]),
        &json!([]),
    ));
    objects.push(controller(
        ns,
        "calico-typha",
        &json!({"k8s-app": "calico-typha"}),
        "calico-typha",
        true,
        &json!([{
            "name": "calico-typha",
            "image": image("typha"),
            "ports": [{"name": "calico-typha", "containerPort": 5473, "protocol": "TCP"}],
        }]),
    ));
    objects.push((
        "",
        "services",
        json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "calico-typha", "namespace": ns, "labels": {"k8s-app": "calico-typha"}},
            "spec": {"selector": {"k8s-app": "calico-typha"},
                     "ports": [{"name": "calico-typha", "port": 5473, "protocol": "TCP", "targetPort": "calico-typha"}]},
        }),
    ));
    objects.push(controller(
        ns,
        "calico-kube-controllers",
        &json!({"k8s-app": "calico-kube-controllers"}),
        "calico-kube-controllers",
        false,
        &json!([{"name": "calico-kube-controllers", "image": image("kube-controllers"),
                 "env": [env("DATASTORE_TYPE", "kubernetes")]}]),
    ));
    objects.push(pool("Never", "CrossSubnet"));
    objects.extend(defaults("k8s,operator,bgp,kubeadm,kdd"));
    seed_all(state, objects);
    annotate(state, "projectcalico.org/IPv4VXLANTunnelAddr");
}
