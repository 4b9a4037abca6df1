//! kubeadm's CoreDNS addon, for a cluster configured with it: the `kube-dns` Service (scraped
//! through its `prometheus.io` annotations) and the `coredns` Deployment with its
//! ServiceAccount and Corefile, as kubeadm 1.33 installs them
//! (kubernetes/kubernetes cmd/kubeadm/app/phases/addons/dns/manifests.go; CoreDNS v1.12.0).
//! Their pods then go through the simulated controllers like any other.

use serde_json::{Value, json};

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

/// The Kubernetes version of the control plane's images.
const VERSION: &str = "v1.33.4";

/// The etcd image kubeadm 1.33 deploys (cmd/kubeadm/app/constants/constants.go).
const ETCD_IMAGE: &str = "registry.k8s.io/etcd:3.5.21-0";

/// kubeadm's control plane as the kubelet of each control-plane node reports it: the mirror
/// pods of the static pods kubeadm writes (kube-apiserver, kube-controller-manager,
/// kube-scheduler, etcd), and the kube-proxy DaemonSet on every node. The mirror pods are no
/// controller's: the kubelets take them through their lifecycle like any scheduled pod.
pub fn create_control_plane(state: &mut State) {
    let nodes: Vec<(String, String)> = state
        .config
        .nodes
        .iter()
        .filter(|n| n.labels.contains_key(CONTROL_PLANE))
        .map(|n| (n.name.clone(), n.internal_ip.clone()))
        .collect();
    for (node, ip) in &nodes {
        for pod in static_pods(ip) {
            seed(state, "", "pods", mirror(state, pod, node));
        }
    }
    create_kube_proxy(state);
}

/// An HTTP probe of a component, as kubeadm's `staticpod.LivenessProbe` and
/// `ReadinessProbe` write it.
fn probe(host: &str, path: &str, port: u16, scheme: &str) -> Value {
    json!({"httpGet": {"host": host, "path": path, "port": port, "scheme": scheme},
           "initialDelaySeconds": 10, "timeoutSeconds": 15, "failureThreshold": 8, "periodSeconds": 10})
}

/// The static pod of the component `name`: its one container runs `name` with `flags`,
/// requests `cpu`, and is probed with `live` (liveness and startup) and `ready`.
fn component_pod(
    name: &str,
    image: &str,
    flags: &[(&str, String)],
    cpu: &str,
    (live, ready): (Value, Option<Value>),
    annotations: &Value,
) -> Value {
    let command: Vec<String> = std::iter::once(name.to_owned())
        .chain(flags.iter().map(|(k, v)| format!("--{k}={v}")))
        .collect();
    let mut container = json!({
        "name": name,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": command,
        "livenessProbe": live.clone(),
        "startupProbe": live,
        "resources": {"requests": {"cpu": cpu}},
    });
    if let Some(ready) = ready {
        container["readinessProbe"] = ready;
    }
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": "kube-system",
            "labels": {"component": name, "tier": "control-plane"},
            "annotations": annotations,
        },
        "spec": {
            "containers": [container],
            "hostNetwork": true,
            "priority": 2_000_001_000,
            "priorityClassName": "system-node-critical",
            "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
        },
    })
}

/// The static pods kubeadm 1.33 writes for a control plane advertising `ip`: each a
/// `staticpod.ComponentPod` (cmd/kubeadm/app/util/staticpod/utils.go: named after its one
/// container, labels `component=<name>` and `tier=control-plane`, host network,
/// system-node-critical) of the container cmd/kubeadm/app/phases/controlplane/manifests.go
/// (and etcd/local.go for etcd) builds. None declares a container port; the ports are
/// those the probes ask (6443 for the API server, 10257, 10259, and etcd's metrics 2381).
fn static_pods(ip: &str) -> Vec<Value> {
    let image = |name: &str| format!("registry.k8s.io/{name}:{VERSION}");
    let local = "127.0.0.1".to_owned();
    let elect = || ("leader-elect", "true".to_owned());
    vec![
        component_pod(
            "kube-apiserver",
            &image("kube-apiserver"),
            &[
                ("advertise-address", ip.to_owned()),
                ("secure-port", "6443".to_owned()),
                ("etcd-servers", "https://127.0.0.1:2379".to_owned()),
            ],
            "250m",
            (
                probe(ip, "/livez", 6443, "HTTPS"),
                Some(probe(ip, "/readyz", 6443, "HTTPS")),
            ),
            &json!({"kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint": format!("{ip}:6443")}),
        ),
        component_pod(
            "kube-controller-manager",
            &image("kube-controller-manager"),
            &[("bind-address", local.clone()), elect()],
            "200m",
            (probe(&local, "/healthz", 10257, "HTTPS"), None),
            &json!({}),
        ),
        component_pod(
            "kube-scheduler",
            &image("kube-scheduler"),
            &[("bind-address", local.clone()), elect()],
            "100m",
            (
                probe(&local, "/livez", 10259, "HTTPS"),
                Some(probe(&local, "/readyz", 10259, "HTTPS")),
            ),
            &json!({}),
        ),
        component_pod(
            "etcd",
            ETCD_IMAGE,
            &[
                ("advertise-client-urls", format!("https://{ip}:2379")),
                (
                    "listen-client-urls",
                    format!("https://127.0.0.1:2379,https://{ip}:2379"),
                ),
                ("listen-metrics-urls", "http://127.0.0.1:2381".to_owned()),
            ],
            "100m",
            (
                probe(&local, "/livez", 2381, "HTTP"),
                Some(probe(&local, "/readyz", 2381, "HTTP")),
            ),
            &json!({"kubeadm.kubernetes.io/etcd.advertise-client-urls": format!("https://{ip}:2379")}),
        ),
    ]
}

/// The mirror pod the kubelet of `node` creates for the static pod `pod`
/// (pkg/kubelet/config/common.go: named `<name>-<node>`, bound to the node, `config.*`
/// annotations; pkg/kubelet/pod/mirror_client.go: `kubernetes.io/config.mirror` and the
/// Node as its controlling owner).
fn mirror(state: &State, mut pod: Value, node: &str) -> Value {
    let name = format!(
        "{}-{node}",
        pod["metadata"]["name"].as_str().unwrap_or_default()
    );
    // The kubelet's hash of the static pod (an md5 in hex); any 32 hex digits do here.
    let mixed = name
        .bytes()
        .fold(0_u64, |h, b| super::store::mix(h ^ u64::from(b)));
    let hash = format!("{mixed:016x}{:016x}", super::store::mix(mixed));
    let node_uid = state
        .store
        .get("", "nodes", "", node)
        .and_then(|n| n["metadata"]["uid"].as_str())
        .unwrap_or_default()
        .to_owned();
    pod["metadata"]["name"] = name.into();
    let annotations = &mut pod["metadata"]["annotations"];
    for (key, value) in [
        ("kubernetes.io/config.hash", hash.as_str()),
        ("kubernetes.io/config.mirror", hash.as_str()),
        ("kubernetes.io/config.source", "file"),
    ] {
        annotations[key] = value.into();
    }
    pod["metadata"]["ownerReferences"] = json!([{
        "apiVersion": "v1", "kind": "Node", "name": node, "uid": node_uid, "controller": true,
    }]);
    pod["spec"]["nodeName"] = node.into();
    pod["spec"]["tolerations"] = json!([{"operator": "Exists", "effect": "NoExecute"}]);
    pod
}

/// kubeadm's kube-proxy addon (cmd/kubeadm/app/phases/addons/proxy/manifests.go): its
/// ServiceAccount, its ConfigMap and the DaemonSet `k8s-app=kube-proxy` on the host network,
/// tolerating every taint, so on every node.
fn create_kube_proxy(state: &mut State) {
    let labels = json!({"k8s-app": "kube-proxy"});
    seed(
        state,
        "",
        "serviceaccounts",
        json!({"apiVersion": "v1", "kind": "ServiceAccount",
               "metadata": {"name": "kube-proxy", "namespace": "kube-system"}}),
    );
    seed(
        state,
        "",
        "configmaps",
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "kube-proxy", "namespace": "kube-system", "labels": {"app": "kube-proxy"}},
               "data": {"config.conf": "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmetricsBindAddress: \"\"\nmode: \"\"\n"}}),
    );
    seed(
        state,
        "apps",
        "daemonsets",
        json!({
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {"name": "kube-proxy", "namespace": "kube-system", "labels": labels},
            "spec": {
                "selector": {"matchLabels": labels},
                "updateStrategy": {"type": "RollingUpdate"},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "priorityClassName": "system-node-critical",
                        "containers": [{
                            "name": "kube-proxy",
                            "image": format!("registry.k8s.io/kube-proxy:{VERSION}"),
                            "imagePullPolicy": "IfNotPresent",
                            "command": ["/usr/local/bin/kube-proxy", "--config=/var/lib/kube-proxy/config.conf", "--hostname-override=$(NODE_NAME)"],
                            "securityContext": {"privileged": true},
                            "volumeMounts": [
                                {"name": "kube-proxy", "mountPath": "/var/lib/kube-proxy"},
                                {"name": "xtables-lock", "mountPath": "/run/xtables.lock"},
                                {"name": "lib-modules", "mountPath": "/lib/modules", "readOnly": true},
                            ],
                            "env": [{"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
                        }],
                        "hostNetwork": true,
                        "serviceAccountName": "kube-proxy",
                        "volumes": [
                            {"name": "kube-proxy", "configMap": {"name": "kube-proxy"}},
                            {"name": "xtables-lock", "hostPath": {"path": "/run/xtables.lock", "type": "FileOrCreate"}},
                            {"name": "lib-modules", "hostPath": {"path": "/lib/modules"}},
                        ],
                        "tolerations": [{"operator": "Exists"}],
                        "nodeSelector": {"kubernetes.io/os": "linux"},
                    },
                },
            },
        }),
    );
}
