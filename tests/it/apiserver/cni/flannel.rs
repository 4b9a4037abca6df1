//! flannel as `Documentation/kube-flannel.yml` (flannel-io/flannel, v0.20 and later)
//! installs it: namespace `kube-flannel` (Pod Security `privileged`), ServiceAccount
//! `flannel`, ConfigMap `kube-flannel-cfg` with `cni-conf.json` (the `flannel` plugin with
//! `hairpinMode` and `isDefaultGateway`, then `portmap` with the `portMappings` capability)
//! and `net-conf.json` (`Network: 10.244.0.0/16`, `EnableNFTables: false`, `Backend.Type:
//! vxlan`, no `Port`, so the kernel's 8472), and the host-network DaemonSet
//! `kube-flannel-ds` (labels `app: flannel`, `k8s-app: flannel`, `tier: node`; flanneld with
//! `--ip-masq --kube-subnet-mgr`). flanneld annotates each node with
//! `flannel.alpha.coreos.com/backend-type`, `…/backend-data`, `…/kube-subnet-manager` and
//! `…/public-ip` (pkg/subnet/kube/annotations.go).

use serde_json::json;

use super::super::state::State;
use super::{annotate_node, config_map, namespace, node_agent, nodes, seed_all, service_account};

/// The CNI configuration the manifest installs.
const CNI_CONF: &str = r#"{
  "name": "cbr0",
  "cniVersion": "0.3.1",
  "plugins": [
    {
      "type": "flannel",
      "delegate": {
        "hairpinMode": true,
        "isDefaultGateway": true
      }
    },
    {
      "type": "portmap",
      "capabilities": {
        "portMappings": true
      }
    }
  ]
}
"#;

/// The network configuration the manifest installs.
const NET_CONF: &str = r#"{
  "Network": "10.244.0.0/16",
  "EnableNFTables": false,
  "Backend": {
    "Type": "vxlan"
  }
}
"#;

/// flannel from its manifest.
pub fn install(state: &mut State) {
    let ns = "kube-flannel";
    let labels = json!({"app": "flannel", "k8s-app": "flannel", "tier": "node"});
    let image = "ghcr.io/flannel-io/flannel:v0.27.4";
    let pod_env = json!([
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        {"name": "EVENT_QUEUE_DEPTH", "value": "5000"},
    ]);
    let objects = vec![
        namespace(
            ns,
            &json!({"k8s-app": "flannel", "pod-security.kubernetes.io/enforce": "privileged"}),
        ),
        service_account(ns, "flannel"),
        config_map(
            ns,
            "kube-flannel-cfg",
            &labels,
            &json!({"cni-conf.json": CNI_CONF, "net-conf.json": NET_CONF}),
        ),
        node_agent(
            ns,
            "kube-flannel-ds",
            &labels,
            "flannel",
            &json!([{
                "name": "kube-flannel",
                "image": image,
                "command": ["/opt/bin/flanneld"],
                "args": ["--ip-masq", "--kube-subnet-mgr"],
                "env": pod_env,
                "securityContext": {"privileged": false, "capabilities": {"add": ["NET_ADMIN", "NET_RAW"]}},
            }]),
            &json!([
                {"name": "install-cni-plugin", "image": "ghcr.io/flannel-io/flannel-cni-plugin:v1.8.0-flannel1",
                 "command": ["cp"], "args": ["-f", "/flannel", "/opt/cni/bin/flannel"]},
                {"name": "install-cni", "image": image,
                 "command": ["cp"], "args": ["-f", "/etc/kube-flannel/cni-conf.json", "/etc/cni/net.d/10-flannel.conflist"]},
            ]),
        ),
    ];
    seed_all(state, objects);
    for (index, (name, ip, _)) in nodes(state).into_iter().enumerate() {
        annotate_node(
            state,
            &name,
            "flanneld",
            &[
                ("flannel.alpha.coreos.com/backend-type", "vxlan".to_owned()),
                (
                    "flannel.alpha.coreos.com/backend-data",
                    format!("{{\"VNI\":1,\"VtepMAC\":\"0a:58:0a:f4:{index:02x}:00\"}}"),
                ),
                (
                    "flannel.alpha.coreos.com/kube-subnet-manager",
                    "true".to_owned(),
                ),
                ("flannel.alpha.coreos.com/public-ip", ip),
            ],
        );
    }
}
