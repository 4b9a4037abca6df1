//! Scheduling against the standard cluster's tainted control plane and its worker.

use serde_json::{Value, json};

use super::{SETTLE, deployment};
use crate::apiserver::{ApiServer, CONTROL_PLANE, SimConfig, SimNode};

/// A Deployment pinned to the control plane, tolerating its taint or not.
fn pinned(name: &str, replicas: i64, tolerate: bool) -> Value {
    let mut d = deployment("default", name, replicas);
    let spec = &mut d["spec"]["template"]["spec"];
    spec["nodeSelector"] = json!({CONTROL_PLANE: ""});
    if tolerate {
        spec["tolerations"] =
            json!([{"key": CONTROL_PLANE, "operator": "Exists", "effect": "NoSchedule"}]);
    }
    d
}

/// The pods labelled `app`.
fn pods_of(server: &ApiServer, app: &str) -> Vec<Value> {
    server
        .list("v1", "Pod")
        .into_iter()
        .filter(|p| p["metadata"]["labels"]["app"] == app)
        .collect()
}

#[test]
fn a_pod_pinned_to_the_control_plane_without_the_toleration_stays_pending() {
    let server = ApiServer::start();
    server.apply_as("obsboot", pinned("grafana", 1, false));
    assert!(server.wait_until(SETTLE, |v| {
        v.list("v1", "Pod")
            .iter()
            .any(|p| p["status"]["conditions"][0]["reason"] == "Unschedulable")
    }));
    let pod = &pods_of(&server, "grafana")[0];
    assert_eq!(pod["status"]["phase"], "Pending");
    assert!(pod["spec"].get("nodeName").is_none());
    let condition = &pod["status"]["conditions"][0];
    assert_eq!(
        (&condition["type"], &condition["status"]),
        (&json!("PodScheduled"), &json!("False"))
    );
    assert_eq!(
        condition["message"],
        "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling."
    );
}

#[test]
fn with_the_toleration_it_runs_on_the_control_plane_and_host_ports_collide() {
    let server = ApiServer::start();
    let mut d = pinned("grafana", 2, true);
    d["spec"]["template"]["spec"]["containers"][0]["ports"] =
        json!([{"containerPort": 3000, "hostPort": 30300}]);
    server.apply_as("obsboot", d);
    assert!(server.wait_until(SETTLE, |v| {
        let pods = v.list("v1", "Pod");
        pods.iter().any(|p| {
            p["status"]["conditions"].as_array().is_some_and(|c| {
                c.iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            })
        }) && pods
            .iter()
            .any(|p| p["status"]["conditions"][0]["reason"] == "Unschedulable")
    }));
    let pods = pods_of(&server, "grafana");
    let running = pods
        .iter()
        .find(|p| p["spec"].get("nodeName").is_some())
        .unwrap();
    assert_eq!(running["spec"]["nodeName"], "ip-10-0-1-74");
    assert_eq!(running["status"]["hostIP"], "10.0.1.74");
    let pending = pods
        .iter()
        .find(|p| p["spec"].get("nodeName").is_none())
        .unwrap();
    assert_eq!(
        pending["status"]["conditions"][0]["message"],
        "0/2 nodes are available: 1 node(s) didn't have free ports for the requested pod ports, 1 node(s) didn't match Pod's node affinity/selector. preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling."
    );
}

/// A DaemonSet that tolerates every taint, or none.
fn daemon_set(name: &str, tolerate: bool) -> Value {
    let mut ds = json!({
        "apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "agent", "image": "prom/node-exporter:v1.9.1"}]}},
        },
    });
    if tolerate {
        ds["spec"]["template"]["spec"]["tolerations"] = json!([{"operator": "Exists"}]);
    }
    ds
}

#[test]
fn a_daemon_set_runs_on_every_node_it_tolerates() {
    let server = ApiServer::start();
    server.apply_as("obsboot", daemon_set("everywhere", true));
    server.apply_as("obsboot", daemon_set("workers", false));
    let ready = |name: &'static str, n: i64| {
        move |v: &crate::apiserver::View<'_>| {
            v.get("apps/v1", "DaemonSet", Some("default"), name)
                .is_some_and(|d| d["status"]["numberReady"] == n)
        }
    };
    assert!(server.wait_until(SETTLE, ready("everywhere", 2)));
    assert!(server.wait_until(SETTLE, ready("workers", 1)));
    let mut nodes: Vec<String> = pods_of(&server, "everywhere")
        .iter()
        .map(|p| p["spec"]["nodeName"].as_str().unwrap().to_owned())
        .collect();
    nodes.sort();
    assert_eq!(nodes, ["ip-10-0-1-74", "ip-10-0-2-15"]);
    let status = server
        .get("apps/v1", "DaemonSet", Some("default"), "everywhere")
        .unwrap()["status"]
        .clone();
    assert_eq!(
        status,
        json!({
            "currentNumberScheduled": 2, "desiredNumberScheduled": 2, "numberAvailable": 2, "numberMisscheduled": 0,
            "numberReady": 2, "observedGeneration": 1, "updatedNumberScheduled": 2,
        })
    );
    assert_eq!(
        server
            .get("apps/v1", "DaemonSet", Some("default"), "workers")
            .unwrap()["status"]["desiredNumberScheduled"],
        1
    );
    assert_eq!(
        pods_of(&server, "workers")[0]["spec"]["nodeName"],
        "ip-10-0-2-15"
    );
}

#[test]
fn nodes_are_those_of_the_configuration() {
    let server = ApiServer::start();
    let master = server.get("v1", "Node", None, "ip-10-0-1-74").unwrap();
    assert_eq!(
        master["spec"]["taints"],
        json!([{"key": CONTROL_PLANE, "effect": "NoSchedule"}])
    );
    assert_eq!(master["metadata"]["labels"][CONTROL_PLANE], "");
    assert!(master["spec"].get("providerID").is_none());
    assert_eq!(
        master["status"]["addresses"],
        json!([{"type": "InternalIP", "address": "10.0.1.74"}, {"type": "Hostname", "address": "ip-10-0-1-74"}])
    );

    let node = SimNode::new("ip-10-0-3-9", "10.0.3.9")
        .provider_id("aws:///eu-west-1a/i-0123456789abcdef0");
    let server = ApiServer::start_with(SimConfig {
        nodes: vec![node],
        ..SimConfig::standard()
    });
    let nodes = server.list("v1", "Node");
    assert_eq!(nodes.len(), 1);
    let node = &nodes[0];
    assert_eq!(
        node["spec"]["providerID"],
        "aws:///eu-west-1a/i-0123456789abcdef0"
    );
    assert_eq!(
        node["metadata"]["labels"]["kubernetes.io/hostname"],
        "ip-10-0-3-9"
    );
    let ready = node["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Ready")
        .unwrap();
    assert_eq!(
        (&ready["status"], &ready["reason"]),
        (&json!("True"), &json!("KubeletReady"))
    );
}

/// Whether a pod is Running and Ready.
fn running_ready(p: &Value) -> bool {
    p["status"]["phase"] == "Running"
        && p["status"]["conditions"].as_array().is_some_and(|c| {
            c.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
}

#[test]
fn kubeadms_control_plane_runs_as_mirror_pods_and_kube_proxy_on_every_node() {
    let server = ApiServer::start_with(SimConfig {
        control_plane: true,
        ..SimConfig::standard()
    });
    assert!(server.wait_until(SETTLE, |v| {
        let pods = v.list("v1", "Pod");
        pods.len() == 6 && pods.iter().all(|p| running_ready(p))
    }));
    // Nothing collects the mirror pods or replaces them later: their owner is the Node.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let pods = server.list("v1", "Pod");
    assert_eq!(pods.len(), 6, "{pods:#?}");
    assert!(pods.iter().all(running_ready));
    let master = server.get("v1", "Node", None, "ip-10-0-1-74").unwrap();
    for component in [
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "etcd",
    ] {
        let name = format!("{component}-ip-10-0-1-74");
        let pod = pods
            .iter()
            .find(|p| p["metadata"]["name"] == name.as_str())
            .unwrap_or_else(|| panic!("no mirror pod {name}"));
        let meta = &pod["metadata"];
        assert_eq!(
            meta["labels"],
            json!({"component": component, "tier": "control-plane"})
        );
        assert!(meta["annotations"]["kubernetes.io/config.mirror"].is_string());
        assert_eq!(meta["ownerReferences"][0]["kind"], "Node");
        assert_eq!(meta["ownerReferences"][0]["uid"], master["metadata"]["uid"]);
        assert_eq!(pod["spec"]["nodeName"], "ip-10-0-1-74");
        assert_eq!(pod["spec"]["hostNetwork"], true);
        assert_eq!(pod["spec"]["containers"][0]["name"], component);
        assert_eq!(pod["status"]["podIP"], "10.0.1.74");
        // The ServiceAccount admission plugin leaves a mirror pod's spec alone.
        assert!(pod["spec"].get("serviceAccountName").is_none(), "{name}");
        assert!(pod["spec"].get("volumes").is_none(), "{name}");
    }
    let mut proxies: Vec<(String, String)> = pods
        .iter()
        .filter(|p| p["metadata"]["labels"]["k8s-app"] == "kube-proxy")
        .map(|p| {
            assert_eq!(p["spec"]["containers"][0]["name"], "kube-proxy");
            (
                p["spec"]["nodeName"].as_str().unwrap().to_owned(),
                p["status"]["podIP"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    proxies.sort();
    let pair = |a: &str, b: &str| (a.to_owned(), b.to_owned());
    assert_eq!(
        proxies,
        [
            pair("ip-10-0-1-74", "10.0.1.74"),
            pair("ip-10-0-2-15", "10.0.2.15")
        ]
    );
}
