//! Check D15's probes, through the API server only: `nodes/{n}/proxy/healthz` (the API
//! server's host to each kubelet, TCP 10250) and `pods/{p}:{port}/proxy/` to one pod on each
//! node (the API server's host to the pod network: the path admission webhooks and
//! aggregated APIs are called on). Each is bounded; they run at once.
//!
//! A failed dial comes back as the API server's 503 `ServiceUnavailable` Status,
//! `error trying to reach service: dial tcp <ip>:<port>: i/o timeout`
//! (k8s.io/apimachinery/pkg/util/proxy/transport.go): a timeout or `no route to host` there
//! is a dropped packet; `connection refused` means the packet arrived and nothing listens.
//! Any HTTP answer from the other end, whatever its status, shows the path works.

use std::time::Duration;

use futures::future::join_all;
use kube::Client;
use serde::Serialize;
use serde_json::Value;

/// Where a probe goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Target {
    /// A node's kubelet.
    Kubelet {
        /// The node.
        node: String,
    },
    /// A pod on a node, over the pod network.
    Pod {
        /// The node it runs on.
        node: String,
        /// `namespace/name`.
        pod: String,
        /// Its address.
        ip: String,
        /// The port probed.
        port: u16,
    },
}

impl Target {
    /// The node the probe reaches.
    pub fn node(&self) -> &str {
        match self {
            Self::Kubelet { node } | Self::Pod { node, .. } => node,
        }
    }

    /// The API path.
    fn path(&self) -> String {
        match self {
            Self::Kubelet { node } => format!("/api/v1/nodes/{node}/proxy/healthz"),
            Self::Pod { pod, port, .. } => {
                let (namespace, name) = pod.split_once('/').unwrap_or(("default", pod));
                format!("/api/v1/namespaces/{namespace}/pods/{name}:{port}/proxy/")
            }
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Kubelet { node } => write!(f, "the kubelet of {node} (TCP 10250)"),
            Self::Pod {
                node,
                pod,
                ip,
                port,
            } => {
                write!(f, "pod {pod} on {node} ({ip}:{port}, over the pod network)")
            }
        }
    }
}

/// What a probe found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "result", content = "detail")]
pub enum Outcome {
    /// The other end answered (with this HTTP status).
    Reached(u16),
    /// The packets were dropped: the API server's message, or our own bound.
    Dropped(String),
    /// Something else went wrong (refused, forbidden): not a verdict on the network.
    Inconclusive(String),
}

/// One probe and its outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Probe {
    /// Where it went.
    pub target: Target,
    /// What it found.
    pub outcome: Outcome,
}

/// The targets: every node's kubelet, and for every node one running pod that has an
/// address of its own and declares a TCP port (the first by namespace and name).
pub fn targets(nodes: &[String], pods: &[Value]) -> Vec<Target> {
    let mut out: Vec<Target> = nodes
        .iter()
        .map(|node| Target::Kubelet { node: node.clone() })
        .collect();
    let mut candidates: Vec<Target> = pods.iter().filter_map(pod_target).collect();
    candidates.sort_by(|a, b| match (a, b) {
        (Target::Pod { pod: x, .. }, Target::Pod { pod: y, .. }) => x.cmp(y),
        _ => std::cmp::Ordering::Equal,
    });
    for node in nodes {
        if let Some(target) = candidates.iter().find(|t| t.node() == node) {
            out.push(target.clone());
        }
    }
    out
}

fn pod_target(pod: &Value) -> Option<Target> {
    let text = |pointer: &str| pod.pointer(pointer).and_then(Value::as_str);
    if text("/status/phase") != Some("Running")
        || pod.pointer("/spec/hostNetwork").and_then(Value::as_bool) == Some(true)
    {
        return None;
    }
    let port = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)?
        .iter()
        .flat_map(|c| {
            c.get("ports")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        })
        .find(|p| {
            p.get("protocol")
                .and_then(Value::as_str)
                .is_none_or(|p| p == "TCP")
        })
        .and_then(|p| p.get("containerPort"))
        .and_then(Value::as_u64)
        .and_then(|p| u16::try_from(p).ok())?;
    Some(Target::Pod {
        node: text("/spec/nodeName")?.to_owned(),
        pod: format!(
            "{}/{}",
            text("/metadata/namespace").unwrap_or("default"),
            text("/metadata/name")?
        ),
        ip: text("/status/podIP")?.to_owned(),
        port,
    })
}

/// Runs every probe at once, each within `timeout`.
pub async fn run(client: &Client, targets: Vec<Target>, timeout: Duration) -> Vec<Probe> {
    join_all(targets.into_iter().map(|target| async move {
        let outcome = one(client, &target, timeout).await;
        Probe { target, outcome }
    }))
    .await
}

async fn one(client: &Client, target: &Target, timeout: Duration) -> Outcome {
    let request = match http::Request::get(target.path()).body(Vec::new()) {
        Ok(request) => request,
        Err(err) => return Outcome::Inconclusive(err.to_string()),
    };
    match tokio::time::timeout(timeout, client.request_text(request)).await {
        Err(_) => Outcome::Dropped(format!(
            "no answer within {}s (the API server's own dial gives up after 30s)",
            timeout.as_secs_f32()
        )),
        Ok(Ok(_)) => Outcome::Reached(200),
        Ok(Err(kube::Error::Api(status))) => classify(status.code, &status.message),
        Ok(Err(err)) => Outcome::Inconclusive(err.to_string()),
    }
}

/// An error answer: the API server's dial failure is 503 with "error trying to reach
/// service"; any other status came from the other end (or from RBAC: 403).
fn classify(code: u16, message: &str) -> Outcome {
    let dial = message.starts_with("error trying to reach service");
    if code == 503 && dial {
        let dropped = ["i/o timeout", "no route to host", "deadline exceeded"];
        if dropped.iter().any(|d| message.contains(d)) {
            Outcome::Dropped(message.to_owned())
        } else {
            Outcome::Inconclusive(message.to_owned())
        }
    } else if code == 403 || code == 404 && message.contains("\" not found") {
        Outcome::Inconclusive(format!("{code}: {message}"))
    } else {
        Outcome::Reached(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dial_failures_are_told_apart_from_answers() {
        let table = [
            (
                503,
                "error trying to reach service: dial tcp 10.0.2.15:10250: i/o timeout",
                "dropped",
            ),
            (
                503,
                "error trying to reach service: dial tcp 10.0.2.15:10250: connect: no route to host",
                "dropped",
            ),
            (
                503,
                "error trying to reach service: dial tcp 10.0.2.15:10250: connect: connection refused",
                "inconclusive",
            ),
            (503, "service unavailable", "reached"),
            (500, "internal error", "reached"),
            (403, "nodes \"a\" is forbidden", "inconclusive"),
            (404, "pods \"x\" not found", "inconclusive"),
            (404, "404 page not found", "reached"),
        ];
        for (code, message, expected) in table {
            let found = match classify(code, message) {
                Outcome::Reached(_) => "reached",
                Outcome::Dropped(_) => "dropped",
                Outcome::Inconclusive(_) => "inconclusive",
            };
            assert_eq!(found, expected, "{code} {message}");
        }
    }

    #[test]
    fn one_pod_with_its_own_address_and_a_tcp_port_per_node() {
        let pod = |ns: &str,
                   name: &str,
                   node: &str,
                   host: bool,
                   phase: &str,
                   port: Option<(u64, &str)>| {
            json!({
                "metadata": {"namespace": ns, "name": name},
                "spec": {"nodeName": node, "hostNetwork": host, "containers": [{
                    "name": "c",
                    "ports": port.map(|(p, proto)| vec![json!({"containerPort": p, "protocol": proto})]).unwrap_or_default(),
                }]},
                "status": {"phase": phase, "podIP": "10.244.1.5"},
            })
        };
        let pods = [
            pod(
                "kube-system",
                "calico-node-x",
                "b",
                true,
                "Running",
                Some((9099, "TCP")),
            ),
            pod(
                "kube-system",
                "coredns-2",
                "b",
                false,
                "Running",
                Some((53, "UDP")),
            ),
            pod("z", "late", "b", false, "Running", Some((80, "TCP"))),
            pod(
                "kube-system",
                "pending",
                "b",
                false,
                "Pending",
                Some((80, "TCP")),
            ),
            pod("a", "web", "b", false, "Running", Some((8080, "TCP"))),
            pod("a", "bare", "a", false, "Running", None),
        ];
        let found = targets(&["a".into(), "b".into()], &pods);
        assert_eq!(
            found,
            [
                Target::Kubelet { node: "a".into() },
                Target::Kubelet { node: "b".into() },
                Target::Pod {
                    node: "b".into(),
                    pod: "a/web".into(),
                    ip: "10.244.1.5".into(),
                    port: 8080
                },
            ]
        );
        assert_eq!(found[2].path(), "/api/v1/namespaces/a/pods/web:8080/proxy/");
        assert_eq!(found[0].path(), "/api/v1/nodes/a/proxy/healthz");
    }
}
