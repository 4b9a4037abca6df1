//! The API server's node and pod proxy: `/api/v1/nodes/{name}[:port]/proxy/{path}` (the
//! API server's host to the node's kubelet, TCP 10250 unless a port is named) and
//! `/api/v1/namespaces/{ns}/pods/{name}[:port]/proxy/{path}` (the API server's host to the
//! pod over the pod network, or to the node for a host-network pod), answered from a
//! [`Reachability`] model a test installs.
//!
//! What a real kube-apiserver (1.33) does, and the simulator reproduces:
//! - The id is split as `SplitSchemeNamePort` splits it (`name`, `name:port`,
//!   `scheme:name:port`; k8s.io/apimachinery/pkg/util/net/http.go): anything else is 400
//!   `invalid node request "…"` / `invalid pod request "…"`.
//! - RBAC checks the subresource `nodes/proxy` / `pods/proxy` with the verb of the method
//!   (`get` for GET) before the object is read; then a missing node or pod is the usual 404.
//! - The node's address is its InternalIP and the port the kubelet's
//!   `daemonEndpoints.kubeletEndpoint.Port` (pkg/kubelet/client/kubelet_client.go,
//!   `NodeConnectionInfoGetter`; kubeadm prefers InternalIP). A pod's address is its first
//!   `podIPs` entry and, without a port, the first declared container port; a pod without a
//!   usable address is 400 `address not allowed` (pkg/registry/core/pod/strategy.go,
//!   `ResourceLocation`).
//! - An empty path answers 301 to the same path with a trailing slash
//!   (k8s.io/apimachinery/pkg/util/proxy/upgradeaware.go, `proxyRedirectsforRootPath`).
//! - When the dial fails, the proxy's transport wraps the error as
//!   `errors.NewServiceUnavailable("error trying to reach service: " + err)`
//!   (k8s.io/apimachinery/pkg/util/proxy/transport.go, `Transport.RoundTrip`; both
//!   pkg/registry/core/node/rest/proxy.go and pkg/registry/core/pod/rest/subresources.go
//!   build their handler with that wrapping transport), and the connect handler's responder
//!   writes it as a Status: HTTP 503, reason `ServiceUnavailable`, message
//!   `error trying to reach service: dial tcp <ip>:<port>: i/o timeout` when EC2 drops the
//!   SYN and the dialer's 30 s timeout expires.
//!
//! What it simplifies:
//! - The dial timeout is `SimConfig::proxy_dial_timeout` (short by default), not 30 s.
//! - The connection comes from the first control-plane node (the API server a kubeadm
//!   kubeconfig names), whichever API server would take the request on an HA cluster.
//! - A reachable kubelet answers `/healthz` with `ok`, `/metrics` and `/metrics/cadvisor`
//!   with a short exposition, anything else with its mux's 404; a reachable pod answers
//!   every path with 200 `ok` (there is no process behind it). Methods other than GET are
//!   answered like GET; upgrades (exec, port-forward) are not proxied.
//! - Without a model every path is reachable, as on a healthy cluster.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::access;
use super::catalog;
use super::config::CONTROL_PLANE;
use super::handlers::Resolved;
use super::json;
use super::routes;
use super::state::{Shared, State};
use super::status::ApiError;

/// Whether connections between the cluster's nodes get through: the test's network model.
pub trait Reachability: Send + Sync + std::fmt::Debug {
    /// Whether a TCP connection from the host network of node `from` to `port` on the host
    /// network of node `to` is established.
    fn host_to_host(&self, from: &str, to: &str, port: u16) -> bool;
    /// Whether a TCP connection from the host network of node `from` to `port` of a pod on
    /// node `to`, over the pod network, is established.
    fn host_to_pod(&self, from: &str, to: &str, port: u16) -> bool;
}

/// What a proxy path addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyTarget {
    /// `nodes` or `pods`.
    pub plural: String,
    /// The namespace of a pod.
    pub namespace: Option<String>,
    /// The id as written (`name`, `name:port`, `scheme:name:port`).
    pub id: String,
    /// The path after `proxy`, without its leading slash.
    pub path: String,
    /// Whether the request path ended with a slash.
    pub trailing_slash: bool,
}

/// The proxy target of `path`, if it is a node or pod proxy path.
pub fn parse(path: &str) -> Option<ProxyTarget> {
    let trailing_slash = path.ends_with('/');
    let segments: Vec<String> = path
        .trim_matches('/')
        .split('/')
        .map(routes::decode)
        .collect();
    let s: Vec<&str> = segments.iter().map(String::as_str).collect();
    let (plural, namespace, id, rest) = match s.as_slice() {
        ["api", "v1", "nodes", id, "proxy", rest @ ..] => ("nodes", None, *id, rest),
        [
            "api",
            "v1",
            "namespaces",
            ns,
            "pods",
            id,
            "proxy",
            rest @ ..,
        ] => ("pods", Some((*ns).to_owned()), *id, rest),
        _ => return None,
    };
    Some(ProxyTarget {
        plural: plural.to_owned(),
        namespace,
        id: id.to_owned(),
        path: rest.join("/"),
        trailing_slash,
    })
}

/// A proxy answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyReply {
    /// HTTP code.
    pub code: u16,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// The body.
    pub body: String,
    /// A `Location` header, for redirects.
    pub location: Option<String>,
}

impl ProxyReply {
    /// A plain-text answer.
    fn text(code: u16, body: &str) -> Self {
        Self {
            code,
            content_type: "text/plain; charset=utf-8",
            body: body.to_owned(),
            location: None,
        }
    }

    /// A Status answer for `error`.
    fn error(error: &ApiError) -> Self {
        Self {
            code: error.code,
            content_type: "application/json",
            body: error.body().to_string(),
            location: None,
        }
    }
}

/// `SplitSchemeNamePort`: (scheme, name, port), or `None` when the id is not valid.
fn split_scheme_name_port(id: &str) -> Option<(&str, &str, &str)> {
    let parts: Vec<&str> = id.split(':').collect();
    let (scheme, name, port) = match parts.as_slice() {
        [name] => ("", *name, ""),
        [name, port] => ("", *name, *port),
        [scheme, name, port] => (*scheme, *name, *port),
        _ => return None,
    };
    (!name.is_empty() && matches!(scheme, "" | "http" | "https")).then_some((scheme, name, port))
}

/// Where the dial goes, decided under the lock.
struct Dial {
    /// The node the API server dials from.
    from: String,
    /// The node the target runs on.
    to: String,
    /// The address dialled.
    address: String,
    /// The port dialled.
    port: u16,
    /// Whether the connection crosses the pod network (a pod not on the host network).
    pod_network: bool,
    /// Whether a kubelet answers (a node proxy to the kubelet's port).
    kubelet: bool,
}

/// The RBAC verb of a proxy request's method.
fn verb_of(method: &str) -> &'static str {
    match method {
        "POST" => "create",
        "PUT" => "update",
        "PATCH" => "patch",
        "DELETE" => "delete",
        _ => "get",
    }
}

/// The node the API server runs on: the first control-plane node, else the first node.
fn apiserver_node(state: &State) -> String {
    let nodes: Vec<&Value> = state.store.list("", "nodes").collect();
    nodes
        .iter()
        .find(|n| json::labels(n).contains_key(CONTROL_PLANE))
        .or_else(|| nodes.first())
        .map_or_else(String::new, |n| json::name(n).to_owned())
}

/// Checks access and reads the target: the dial to make, or the answer already known.
fn plan(state: &State, method: &str, target: &ProxyTarget) -> Result<Dial, ProxyReply> {
    let invalid = || {
        let singular = if target.plural == "nodes" {
            "node"
        } else {
            "pod"
        };
        ProxyReply::error(&ApiError::bad_request(format!(
            "invalid {singular} request {:?}",
            target.id
        )))
    };
    let rt = catalog::resolve(&state.store, "", "v1", &target.plural)
        .ok_or_else(|| ProxyReply::error(&ApiError::page_not_found()))?;
    let (_, name, port) = split_scheme_name_port(&target.id).ok_or_else(invalid)?;
    let resolved = Resolved {
        namespace: target.namespace.clone().unwrap_or_default(),
        all_namespaces: false,
        name: Some(name.to_owned()),
        subresource: Some("proxy".to_owned()),
        rt,
    };
    access::check(state, verb_of(method), &resolved).map_err(|e| ProxyReply::error(&e))?;
    let object = state
        .store
        .get("", &target.plural, &resolved.namespace, name)
        .ok_or_else(|| ProxyReply::error(&ApiError::not_found(&resolved.rt, name)))?;
    let from = apiserver_node(state);
    if target.plural == "nodes" {
        let address = json::array(object, "/status/addresses")
            .iter()
            .find(|a| json::str_at(a, "/type") == "InternalIP")
            .map(|a| json::str_at(a, "/address").to_owned())
            .unwrap_or_default();
        let kubelet_port = json::int_at(
            object,
            "/status/daemonEndpoints/kubeletEndpoint/Port",
            10250,
        );
        let kubelet_port = u16::try_from(kubelet_port).unwrap_or(10250);
        let port = if port.is_empty() {
            kubelet_port
        } else {
            port.parse().map_err(|_| invalid())?
        };
        return Ok(Dial {
            from,
            to: name.to_owned(),
            address,
            port,
            pod_network: false,
            kubelet: port == kubelet_port,
        });
    }
    let address = json::str_at(object, "/status/podIPs/0/ip").to_owned();
    let usable = address
        .parse::<std::net::Ipv4Addr>()
        .is_ok_and(|ip| !ip.is_unspecified() && !ip.is_loopback() && !ip.is_multicast());
    if !usable {
        return Err(ProxyReply::error(&ApiError::bad_request(
            "address not allowed",
        )));
    }
    let declared = json::array(object, "/spec/containers")
        .iter()
        .find_map(|c| json::array(c, "/ports").first())
        .map(|p| json::int_at(p, "/containerPort", 80));
    let port = if port.is_empty() {
        declared.and_then(|p| u16::try_from(p).ok()).unwrap_or(80)
    } else {
        port.parse().map_err(|_| invalid())?
    };
    Ok(Dial {
        from,
        to: json::str_at(object, "/spec/nodeName").to_owned(),
        address,
        port,
        pod_network: object.pointer("/spec/hostNetwork").and_then(Value::as_bool) != Some(true),
        kubelet: false,
    })
}

/// What a reachable target answers.
fn reached(dial: &Dial, path: &str) -> ProxyReply {
    if !dial.kubelet {
        return ProxyReply::text(200, "ok");
    }
    match path {
        "healthz" => ProxyReply::text(200, "ok"),
        "metrics" | "metrics/cadvisor" | "metrics/resource" => ProxyReply::text(
            200,
            "# HELP kubelet_node_name [ALPHA] The node's name. The count is always 1.\n# TYPE kubelet_node_name gauge\nkubelet_node_name{node=\"NODE\"} 1\n"
                .replace("NODE", &dial.to)
                .as_str(),
        ),
        _ => ProxyReply::text(404, "404 page not found\n"),
    }
}

/// Answers a proxy request: the plan under the lock, then the dial through the model
/// (outside the lock and off the server's thread), then the wait a timed-out dial takes.
pub async fn answer(shared: &Arc<Shared>, method: &str, target: &ProxyTarget) -> ProxyReply {
    let planned = {
        let state = shared.lock();
        plan(&state, method, target).map(|dial| {
            (
                dial,
                state.config.network.clone(),
                state.config.proxy_dial_timeout,
            )
        })
    };
    let (dial, network, timeout) = match planned {
        Ok(planned) => planned,
        Err(reply) => return reply,
    };
    if target.path.is_empty() && !target.trailing_slash && method == "GET" {
        let mut reply = ProxyReply::text(301, "");
        reply.location = Some(format!(
            "/api/v1/{}{}/proxy/",
            target
                .namespace
                .as_ref()
                .map_or_else(String::new, |ns| format!("namespaces/{ns}/")),
            format_args!("{}/{}", target.plural, target.id)
        ));
        return reply;
    }
    let open = match network {
        None => true,
        Some(model) => {
            let (from, to, port, pod) = (
                dial.from.clone(),
                dial.to.clone(),
                dial.port,
                dial.pod_network,
            );
            tokio::task::spawn_blocking(move || {
                if pod {
                    model.host_to_pod(&from, &to, port)
                } else {
                    model.host_to_host(&from, &to, port)
                }
            })
            .await
            .unwrap_or(false)
        }
    };
    if open {
        return reached(&dial, &target.path);
    }
    tokio::time::sleep(timeout).await;
    ProxyReply::error(&ApiError::new(
        503,
        "ServiceUnavailable",
        format!(
            "error trying to reach service: dial tcp {}:{}: i/o timeout",
            dial.address, dial.port
        ),
    ))
}

/// The default wait before a dial that gets no answer fails.
pub const DIAL_TIMEOUT: Duration = Duration::from_millis(200);

impl super::ApiServer {
    /// Installs the network model the node and pod proxy answer from (`None`: every
    /// connection gets through).
    pub fn set_network(&self, model: Option<Arc<dyn Reachability>>) {
        self.shared.with(|state| state.config.network = model);
    }

    /// Sets how long a proxied dial that gets no answer takes to fail.
    pub fn set_proxy_dial_timeout(&self, timeout: Duration) {
        self.shared
            .with(|state| state.config.proxy_dial_timeout = timeout);
    }
}
