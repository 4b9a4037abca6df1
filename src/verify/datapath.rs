//! The data path seen from outside: logged in to Grafana with the administrator's password
//! from the cluster, verify asks Grafana whether its Prometheus datasource is healthy and,
//! through Grafana's datasource proxy, which of Prometheus's targets are down. Each becomes a
//! result beside the endpoints', failing in layer `credentials`, `datasource` or `scrape`
//! with the next step.

use std::time::Duration;

use super::answers::Context;
use super::credentials::{self, Credentials};
use super::diagnose::EndpointReport;
use super::endpoints::Endpoint;
use super::grafana::Datasource;
use super::probe::{self, Answer};
use crate::k8s::Cluster;
use crate::render::Object;
use crate::stack::Stack;

/// The least the checks wait for Grafana's answer. Grafana's data proxy waits up to 10 s for a
/// connection to Prometheus and 30 s for its answer (`[dataproxy] dialTimeout` and `timeout`
/// in grafana/grafana `conf/defaults.ini`), so its own verdict ("i/o timeout") can take that
/// long; a shorter wait would report a silent Grafana instead of the cause.
const GRAFANA_WAITS: Duration = Duration::from_secs(35);

/// What the checks need.
pub struct Inputs<'a> {
    /// The Grafana stack.
    pub stack: &'a Stack,
    /// The result of Grafana's own endpoint, whose port the API is asked on.
    pub grafana: &'a EndpointReport,
    /// The provisioned Prometheus datasource.
    pub datasource: Datasource,
    /// The planned objects (Grafana's Deployment among them).
    pub objects: &'a [Object],
    /// The cluster, for the password and for placing failures.
    pub cluster: Option<&'a Cluster>,
    /// The bound on each request (raised to [`GRAFANA_WAITS`]).
    pub timeout: Duration,
}

/// The datasource check and the targets check, in that order.
pub async fn check(inputs: &Inputs<'_>) -> Vec<EndpointReport> {
    let endpoint = &inputs.grafana.endpoint;
    let ds = &inputs.datasource;
    let mut health = result(endpoint, "Grafana → Prometheus", &ds.health_path());
    let mut targets = result(endpoint, "Prometheus targets", &ds.targets_path());
    if !inputs.grafana.passed {
        let why = "Grafana itself does not answer as it should (see above)";
        skip(&mut health, why);
        skip(&mut targets, why);
        return vec![health, targets];
    }
    let credentials = match credentials::read(inputs.cluster, inputs.stack).await {
        Ok(credentials) => credentials,
        Err(err) => {
            let why = format!("cannot log in to Grafana: {}", crate::report::joined(&err));
            skip(&mut health, &why);
            skip(&mut targets, &why);
            return vec![health, targets];
        }
    };
    let context = Context::new(inputs, &credentials);
    let wait = inputs.timeout.max(GRAFANA_WAITS);
    let answer = get(&endpoint.base, &ds.health_path(), &credentials, wait).await;
    context.health(&mut health, answer, wait).await;
    if health.passed {
        let answer = get(&endpoint.base, &ds.targets_path(), &credentials, wait).await;
        context.targets(&mut targets, answer).await;
    } else {
        skip(
            &mut targets,
            "Grafana cannot be asked for Prometheus's targets (see above)",
        );
    }
    vec![health, targets]
}

/// A result named `description` for `path` on Grafana's port.
fn result(grafana: &Endpoint, description: &str, path: &str) -> EndpointReport {
    let mut endpoint = grafana.clone();
    description.clone_into(&mut endpoint.description);
    endpoint.url = format!("{}{path}", grafana.base);
    endpoint.probes = Vec::new();
    EndpointReport::new(endpoint)
}

/// Marks `report` as not checked, for `why`.
fn skip(report: &mut EndpointReport, why: &str) {
    report.skipped = Some(why.to_owned());
}

async fn get(
    base: &str,
    path: &str,
    credentials: &Credentials,
    timeout: Duration,
) -> Result<Answer, probe::Outcome> {
    let header = credentials.header();
    probe::fetch(base, path, Some(&header), timeout, probe::API_BODY_LIMIT).await
}
