//! kubeadm's CoreDNS addon, for a cluster configured with it: the `kube-dns` Service (scraped
//! through its `prometheus.io` annotations) and the `coredns` Deployment with its
//! ServiceAccount and Corefile, as kubeadm 1.33 installs them
//! (kubernetes/kubernetes cmd/kubeadm/app/phases/addons/dns/manifests.go; CoreDNS v1.12.0).
//! Their pods then go through the simulated controllers like any other.

use serde_json::json;

use super::cluster::seed;
use super::config::CONTROL_PLANE;
use super::state::State;

/// The image kubeadm 1.33 deploys.
const IMAGE: &str = "registry.k8s.io/coredns/coredns:v1.12.0";

/// Creates CoreDNS's objects in `kube-system`.
pub fn create_coredns(state: &mut State) {
    let labels = json!({"k8s-app": "kube-dns"});
    seed(
        state,
        "",
        "serviceaccounts",
        json!({"apiVersion": "v1", "kind": "ServiceAccount",
               "metadata": {"name": "coredns", "namespace": "kube-system"}}),
    );
    seed(
        state,
        "",
        "configmaps",
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "coredns", "namespace": "kube-system"},
               "data": {"Corefile": ".:53 {\n    errors\n    health\n    ready\n    kubernetes cluster.local in-addr.arpa ip6.arpa\n    prometheus :9153\n    forward . /etc/resolv.conf\n    cache 30\n}\n"}}),
    );
    seed(
        state,
        "",
        "services",
        json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": "kube-dns",
                "namespace": "kube-system",
                "labels": {"k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "CoreDNS"},
                "annotations": {"prometheus.io/port": "9153", "prometheus.io/scrape": "true"},
            },
            "spec": {
                "clusterIP": "10.96.0.10",
                "selector": labels,
                "ports": [
                    {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                    {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
                    {"name": "metrics", "port": 9153, "protocol": "TCP", "targetPort": 9153},
                ],
            },
        }),
    );
    let port = |name: &str, number: u16, protocol: &str| json!({"name": name, "containerPort": number, "protocol": protocol});
    seed(
        state,
        "apps",
        "deployments",
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "coredns", "namespace": "kube-system", "labels": labels},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "priorityClassName": "system-cluster-critical",
                        "serviceAccountName": "coredns",
                        "tolerations": [
                            {"key": "CriticalAddonsOnly", "operator": "Exists"},
                            {"key": CONTROL_PLANE, "effect": "NoSchedule"},
                        ],
                        "nodeSelector": {"kubernetes.io/os": "linux"},
                        "containers": [{
                            "name": "coredns",
                            "image": IMAGE,
                            "args": ["-conf", "/etc/coredns/Corefile"],
                            "ports": [
                                port("dns", 53, "UDP"),
                                port("dns-tcp", 53, "TCP"),
                                port("metrics", 9153, "TCP"),
                                port("liveness-probe", 8080, "TCP"),
                                port("readiness-probe", 8181, "TCP"),
                            ],
                            "volumeMounts": [{"name": "config-volume", "mountPath": "/etc/coredns", "readOnly": true}],
                        }],
                        "dnsPolicy": "Default",
                        "volumes": [{"name": "config-volume", "configMap": {"name": "coredns", "items": [{"key": "Corefile", "path": "Corefile"}]}}],
                    },
                },
            },
        }),
    );
}
