//! Runs every endpoint's probes and, for one that fails, says which layer is at fault and
//! what to do: the pod is not ready, nothing is bound to the port on the node, the security
//! group does not admit the port (compared with its rules), or the service answers wrongly.

use std::time::Duration;

use serde::Serialize;

use super::endpoints::Endpoint;
use super::probe::{self, Outcome};
use crate::aws::model::Rule;
use crate::k8s::Cluster;
use crate::k8s::ready::{Readiness, readiness};
use crate::render::{Object, ObjectKey};

/// What a failure is blamed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layer {
    /// The workload is not ready.
    Pod,
    /// Nothing listens on the node's port.
    HostPort,
    /// The security group (or another firewall) drops the packets.
    SecurityGroup,
    /// This machine cannot reach the address at all.
    Network,
    /// The service answers, but not as it should.
    Service,
    /// Grafana refuses the administrator's credentials from the cluster's Secret.
    Credentials,
    /// Grafana cannot reach Prometheus (its datasource).
    Datasource,
    /// Prometheus cannot scrape some of its targets.
    Scrape,
}

impl Layer {
    /// The name in reports (as in `-o json`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pod => "pod",
            Self::HostPort => "host-port",
            Self::SecurityGroup => "security-group",
            Self::Network => "network",
            Self::Service => "service",
            Self::Credentials => "credentials",
            Self::Datasource => "datasource",
            Self::Scrape => "scrape",
        }
    }
}

/// What is known beyond the probes, to place a failure.
#[derive(Default)]
pub struct Context<'a> {
    /// The cluster, to ask whether the workload is ready.
    pub cluster: Option<&'a Cluster>,
    /// The planned objects (the workloads among them).
    pub objects: &'a [Object],
    /// Each control-plane node's security group and its inbound rules, when obsboot manages
    /// them: `(node, group, rules)`, the node `None` when it is the only one.
    pub groups: Vec<(Option<&'a str>, &'a str, &'a [Rule])>,
}

impl<'a> Context<'a> {
    /// The group an endpoint's port is opened in: the only one, or its node's.
    fn group_of(&self, endpoint: &Endpoint) -> Option<(&'a str, &'a [Rule])> {
        match self.groups.as_slice() {
            [(_, group, rules)] => Some((group, rules)),
            several => several
                .iter()
                .find(|(node, _, _)| node.is_some() && *node == endpoint.node.as_deref())
                .map(|(_, group, rules)| (*group, *rules)),
        }
    }
}

/// One probe's result.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProbeReport {
    /// The URL.
    pub url: String,
    /// Whether it passed.
    pub passed: bool,
    /// What it found.
    pub outcome: String,
}

/// One endpoint's result.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointReport {
    /// The endpoint.
    #[serde(flatten)]
    pub endpoint: Endpoint,
    /// Whether every probe passed.
    pub passed: bool,
    /// Each probe.
    pub probes: Vec<ProbeReport>,
    /// Where the failure lies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer: Option<Layer>,
    /// Why, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// What to do next.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_step: Option<String>,
    /// Why the check could not run, when it could not (it then counts neither way).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// Prometheus's scrape targets, for the check that reads them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub targets: Option<super::scrape::Summary>,
}

impl EndpointReport {
    /// A result for `endpoint` with nothing found yet.
    pub fn new(endpoint: Endpoint) -> Self {
        Self {
            endpoint,
            passed: false,
            probes: Vec::new(),
            layer: None,
            cause: None,
            next_step: None,
            skipped: None,
            targets: None,
        }
    }

    /// Whether the check ran and failed.
    pub fn failed(&self) -> bool {
        !self.passed && self.skipped.is_none()
    }
}

/// Probes every endpoint (at once), each probe bounded by `timeout`, and places failures.
pub async fn verify(
    endpoints: &[Endpoint],
    timeout: Duration,
    context: &Context<'_>,
) -> Vec<EndpointReport> {
    futures::future::join_all(endpoints.iter().map(|e| one(e, timeout, context))).await
}

async fn one(endpoint: &Endpoint, timeout: Duration, context: &Context<'_>) -> EndpointReport {
    if let Some(why) = &endpoint.unplaced {
        return unplaced(endpoint, why);
    }
    let mut probes = Vec::with_capacity(endpoint.probes.len());
    let mut failure = None;
    for probe in &endpoint.probes {
        let outcome = probe::run(probe, timeout).await;
        probes.push(ProbeReport {
            url: probe.url(),
            passed: outcome.passed(),
            outcome: outcome.to_string(),
        });
        if !outcome.passed() {
            failure = Some(outcome);
            // A port that does not connect fails every later probe the same way.
            break;
        }
    }
    let mut report = EndpointReport::new(endpoint.clone());
    report.passed = failure.is_none();
    report.probes = probes;
    if let Some(outcome) = failure {
        let (layer, cause, next) = place(endpoint, &outcome, context).await;
        report.layer = Some(layer);
        report.cause = Some(cause);
        report.next_step = Some(next);
    }
    report
}

/// An endpoint whose address is not known: not probed, and failed with the reason.
fn unplaced(endpoint: &Endpoint, why: &str) -> EndpointReport {
    let mut report = EndpointReport::new(endpoint.clone());
    let workload = format!("{}/{}", endpoint.namespace, endpoint.workload);
    if endpoint.node.is_some() {
        report.layer = Some(Layer::Network);
        report.cause = Some(format!("no address to probe {workload} on: {why}"));
        report.next_step = Some(
            "pass --url-base with an address that reaches the node, or check controlPlane.nodeSelector".into(),
        );
    } else {
        report.layer = Some(Layer::Pod);
        report.cause = Some(format!("no address to probe {workload} on: {why}"));
        report.next_step = Some(format!(
            "run `kubectl -n {} get pods -o wide`, and verify again once its pod runs",
            endpoint.namespace
        ));
    }
    report
}

async fn place(
    endpoint: &Endpoint,
    outcome: &Outcome,
    context: &Context<'_>,
) -> (Layer, String, String) {
    let workload = format!("{}/{}", endpoint.namespace, endpoint.workload);
    if let Some(reason) = not_ready(endpoint, context).await {
        return (
            Layer::Pod,
            format!("Deployment {workload} is not ready: {reason}"),
            format!(
                "run `obsboot status`, and `kubectl -n {} describe deployment {}`",
                endpoint.namespace, endpoint.workload
            ),
        );
    }
    let port = endpoint.port;
    match outcome {
        Outcome::Refused => (
            Layer::HostPort,
            format!(
                "the node answered, but nothing listens on port {port}: the pod does not run on this node, or its hostPort is not bound"
            ),
            format!(
                "check that `kubectl -n {} get pods -o wide` shows the pod on the control-plane node, and that the CNI enables the portmap plugin (deploy.md, \"When a port is not reachable\")",
                endpoint.namespace
            ),
        ),
        Outcome::ConnectTimeout => security_group(port, context.group_of(endpoint)),
        Outcome::ConnectFailed(message) => (
            Layer::Network,
            format!("this machine cannot reach the node: {message}"),
            "check the address (the node's public IP) and this machine's network".into(),
        ),
        Outcome::ResponseTimeout | Outcome::Broken(_) | Outcome::Unexpected { .. } => (
            Layer::Service,
            format!(
                "port {port} is reachable, but {workload} does not answer as it should: {outcome}"
            ),
            format!(
                "read its log: `kubectl -n {} logs deployment/{}`",
                endpoint.namespace, endpoint.workload
            ),
        ),
        Outcome::Invalid(message) => (
            Layer::Network,
            format!("the probe is malformed: {message}"),
            "check --url-base".into(),
        ),
        Outcome::Passed { .. } => (Layer::Service, String::new(), String::new()),
    }
}

fn security_group(port: u16, group: Option<(&str, &[Rule])>) -> (Layer, String, String) {
    let Some((group, rules)) = group else {
        return (
            Layer::SecurityGroup,
            format!("no answer on port {port}: a firewall or security group drops the packets"),
            format!(
                "allow tcp {port} from this machine's address in the node's security group (obsboot does not manage it here)"
            ),
        );
    };
    let sources: Vec<String> = rules
        .iter()
        .filter(|r| r.admits_port(port))
        .map(|r| {
            r.cidr
                .clone()
                .unwrap_or_else(|| "a prefix list or group".into())
        })
        .collect();
    if sources.is_empty() {
        (
            Layer::SecurityGroup,
            format!("security group {group} has no inbound rule for tcp {port}"),
            "choose who may connect: `ingress.sources` in cluster.yaml or `--allow-from CIDR`, then run bootstrap again".into(),
        )
    } else {
        (
            Layer::SecurityGroup,
            format!(
                "no answer on port {port}; security group {group} admits it only from {}",
                sources.join(", ")
            ),
            "if this machine's address is outside those, add it (`--allow-from <your address>/32`) and run bootstrap again; otherwise check the subnet's network ACL and the node's own firewall".into(),
        )
    }
}

/// Why the endpoint's workload is not ready, if it is not (and the cluster can tell).
async fn not_ready(endpoint: &Endpoint, context: &Context<'_>) -> Option<String> {
    let cluster = context.cluster?;
    let object = context.objects.iter().find(|o| {
        o.stack == endpoint.stack && o.key.kind == "Deployment" && o.key.name == endpoint.workload
    })?;
    let live = cluster.get(object).await.ok()?;
    let Some(live) = live else {
        return Some("it does not exist; run `obsboot bootstrap`".into());
    };
    let value = crate::k8s::to_value(&live);
    match readiness("apps", "Deployment", &value) {
        Readiness::Ready => None,
        Readiness::Waiting(why) | Readiness::Failed(why) => {
            let key: &ObjectKey = &object.key;
            let pods = crate::k8s::explain::pods(cluster, key, &value).await;
            Some(pods.map_or(why.clone(), |pods| format!("{why}; {pods}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::model::Rule;

    fn rule(from: i32, to: i32, protocol: &str, cidr: &str) -> Rule {
        Rule {
            id: "sgr-1".into(),
            group: "sg-1".into(),
            egress: false,
            protocol: protocol.into(),
            from_port: from,
            to_port: to,
            cidr: Some(cidr.into()),
            referenced_group: None,
            prefix_list: None,
            description: None,
            tags: std::collections::BTreeMap::new(),
        }
    }

    #[test]
    fn a_dropped_connection_is_compared_with_the_groups_rules() {
        let none: [Rule; 0] = [];
        let (layer, cause, next) = security_group(30080, Some(("sg-1", &none)));
        assert_eq!(layer, Layer::SecurityGroup);
        assert_eq!(
            cause,
            "security group sg-1 has no inbound rule for tcp 30080"
        );
        assert!(next.contains("--allow-from"), "{next}");

        let rules = [
            rule(30080, 30080, "tcp", "203.0.113.0/24"),
            rule(30000, 32767, "tcp", "198.51.100.0/24"),
            rule(-1, -1, "-1", "192.0.2.0/24"),
            rule(30081, 30081, "tcp", "10.0.0.0/8"),
            rule(30080, 30080, "udp", "10.0.0.0/8"),
        ];
        let (_, cause, next) = security_group(30080, Some(("sg-1", &rules)));
        assert_eq!(
            cause,
            "no answer on port 30080; security group sg-1 admits it only from 203.0.113.0/24, 198.51.100.0/24, 192.0.2.0/24"
        );
        assert!(next.contains("network ACL"), "{next}");

        let (_, cause, _) = security_group(30080, None);
        assert!(cause.contains("drops the packets"), "{cause}");
    }
}

#[cfg(test)]
mod layer_names {
    use super::Layer;

    #[test]
    fn text_and_json_name_layers_alike() {
        for layer in [
            Layer::Pod,
            Layer::HostPort,
            Layer::SecurityGroup,
            Layer::Network,
            Layer::Service,
            Layer::Credentials,
            Layer::Datasource,
            Layer::Scrape,
        ] {
            assert_eq!(serde_json::to_value(layer).unwrap(), layer.as_str());
        }
    }
}
