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
    /// The URL to open in a browser.
    pub url: String,
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

/// The endpoints of `stacks` on `host`.
pub fn endpoints(stacks: &[&Stack], host: &str) -> Vec<Endpoint> {
    let host = url_host(host);
    let mut all = Vec::new();
    for stack in stacks {
        for workload in &stack.workloads {
            for exposure in &workload.exposures {
                let port = exposure.host_port.value.get();
                let base = format!("http://{host}:{port}");
                let name = workload.name.to_string();
                let (page, probes) = probes(stack.kind, &name, &base);
                all.push(Endpoint {
                    stack: stack.kind,
                    workload: name,
                    namespace: stack.namespace.value.as_str().to_owned(),
                    description: exposure.description.to_string(),
                    port,
                    url: format!("{base}{page}"),
                    base,
                    probes,
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
