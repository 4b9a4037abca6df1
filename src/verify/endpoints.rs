//! What to probe for each exposed port: Bookinfo's product page must serve the page, Grafana
//! must be healthy and send strangers to its login page, and any other exposure must at least
//! answer HTTP.

use serde::Serialize;

use super::probe::{Expect, Probe};
use crate::stack::{Stack, StackKind};

/// One exposed port and how to check it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoint {
    /// The stack.
    pub stack: StackKind,
    /// The workload behind the port.
    pub workload: String,
    /// Its namespace.
    pub namespace: String,
    /// The exposure's description.
    pub description: String,
    /// The host port.
    pub port: u16,
    /// The URL to open in a browser; empty when the address is not known (see `unplaced`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub url: String,
    /// The control-plane node whose address the URL carries, when there are several to
    /// choose from (the node the workload's pod runs on).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// Why the endpoint has no address, when it has none (its pod is not scheduled yet, or
    /// its node has no public address); it is then not probed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unplaced: Option<String>,
    /// `http://host:port`, which the probes' paths follow.
    #[serde(skip)]
    pub base: String,
    /// The probes, in order.
    #[serde(skip)]
    pub probes: Vec<Probe>,
}

/// `host` as it goes into a URL (IPv6 addresses in brackets).
pub fn url_host(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

/// Where one exposed workload is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// On `host`, the address of `node` when one of several control-plane nodes was chosen.
    At {
        /// The address.
        host: String,
        /// The node, when there was a choice.
        node: Option<String>,
    },
    /// Nowhere known, and why in words.
    Unknown {
        /// The node, when the pod runs on one.
        node: Option<String>,
        /// Why, e.g. `no pod of Deployment grafana/grafana is scheduled on a node yet`.
        why: String,
    },
}

/// The endpoints of `stacks` on `host`.
pub fn endpoints(stacks: &[&Stack], host: &str) -> Vec<Endpoint> {
    endpoints_at(stacks, |_, _| Place::At {
        host: host.to_owned(),
        node: None,
    })
}

/// The endpoints of `stacks`, each exposed workload where `place` (given its stack and
/// name) says it is reached.
pub fn endpoints_at(stacks: &[&Stack], place: impl Fn(StackKind, &str) -> Place) -> Vec<Endpoint> {
    let mut all = Vec::new();
    for stack in stacks {
        for workload in &stack.workloads {
            if workload.exposures.is_empty() {
                continue;
            }
            let name = workload.name.to_string();
            let (host, node, unplaced) = match place(stack.kind, &name) {
                Place::At { host, node } => (Some(url_host(&host)), node, None),
                Place::Unknown { node, why } => (None, node, Some(why)),
            };
            for exposure in &workload.exposures {
                let port = exposure.host_port.value.get();
                let base = host
                    .as_ref()
                    .map(|host| format!("http://{host}:{port}"))
                    .unwrap_or_default();
                let (page, probes) = probes(stack.kind, &name, &base);
                all.push(Endpoint {
                    stack: stack.kind,
                    workload: name.clone(),
                    namespace: stack.namespace.value.as_str().to_owned(),
                    description: exposure.description.to_string(),
                    port,
                    url: if host.is_some() {
                        format!("{base}{page}")
                    } else {
                        String::new()
                    },
                    node: node.clone(),
                    unplaced: unplaced.clone(),
                    base,
                    probes: if host.is_some() { probes } else { Vec::new() },
                });
            }
        }
    }
    all.sort_by_key(|e| e.port);
    all
}

fn probes(stack: StackKind, workload: &str, base: &str) -> (&'static str, Vec<Probe>) {
    let probe = |path: &str, expect| Probe {
        base: base.to_owned(),
        path: path.to_owned(),
        expect,
    };
    match (stack, workload) {
        (StackKind::Bookinfo, "productpage-v1") => (
            "/productpage",
            vec![probe(
                "/productpage",
                Expect::Status {
                    status: 200,
                    body_contains: Some("Simple Bookstore App".into()),
                },
            )],
        ),
        (StackKind::Grafana, "grafana") => (
            "",
            vec![
                probe(
                    "/api/health",
                    Expect::Status {
                        status: 200,
                        body_contains: Some("database".into()),
                    },
                ),
                probe(
                    "/",
                    Expect::Redirect {
                        location_starts_with: "/login".into(),
                    },
                ),
            ],
        ),
        _ => ("", vec![probe("/", Expect::Answer)]),
    }
}
