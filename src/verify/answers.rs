//! What Grafana's answers mean: a healthy datasource, a refused login, Grafana unable to
//! reach Prometheus (placed on the network between nodes when Grafana and Prometheus run on
//! different nodes and no answer came), or Prometheus's targets judged by [`scrape`].

use std::fmt::Write as _;
use std::time::Duration;

use http::StatusCode;

use super::credentials::Credentials;
use super::datapath::Inputs;
use super::diagnose::{EndpointReport, Layer, ProbeReport};
use super::grafana;
use super::probe::{self, Answer};
use super::scrape::{self, Whereabouts};
use super::topology::{self, Topology};
use crate::stack::SecretKind;

/// A quoted message is cut to this many characters.
const MESSAGE_CHARS: usize = 400;

/// What the checks know around the answers, to word and place a failure.
pub(super) struct Context<'a> {
    inputs: &'a Inputs<'a>,
    credentials: &'a Credentials,
    /// `namespace`, and the Grafana workload's name.
    namespace: &'a str,
    workload: &'a str,
}

/// One failure: layer, cause, next step.
type Failure = (Layer, String, String);

impl<'a> Context<'a> {
    /// The context of the checks of `inputs`, logged in with `credentials`.
    pub(super) fn new(inputs: &'a Inputs<'a>, credentials: &'a Credentials) -> Self {
        Self {
            inputs,
            credentials,
            namespace: &inputs.grafana.endpoint.namespace,
            workload: &inputs.grafana.endpoint.workload,
        }
    }

    /// Judges the health check's answer, waited for `wait`.
    pub(super) async fn health(
        &self,
        report: &mut EndpointReport,
        answer: Result<Answer, probe::Outcome>,
        wait: Duration,
    ) {
        let url = report.endpoint.url.clone();
        let answer = match answer {
            Ok(answer) => answer,
            Err(probe::Outcome::ResponseTimeout) => {
                let failure = (
                    Layer::Datasource,
                    format!(
                        "Grafana did not finish checking its Prometheus datasource within {}s: it is still waiting on Prometheus",
                        wait.as_secs()
                    ),
                    self.unreachable_next(true).await,
                );
                let seen = probe::Outcome::ResponseTimeout.to_string();
                return fail(report, &url, seen, failure);
            }
            Err(outcome) => return self.unanswered(report, &url, &outcome),
        };
        let status = answer.status;
        let body = grafana::health(&answer.body).unwrap_or_default();
        let message = self.quote(body.message.as_deref().unwrap_or_default());
        let state = body.status.as_deref().unwrap_or_default();
        let seen = match state {
            "" => format!("{}: {}", status.as_u16(), or(&message, "no message")),
            state => format!("{}, {state}: {message}", status.as_u16()),
        };
        if status == StatusCode::OK && state == "OK" {
            return pass(report, &url, seen);
        }
        let failure = match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => self.refused(status, &message),
            StatusCode::NOT_FOUND => (
                Layer::Datasource,
                format!(
                    "Grafana has no datasource with uid \"{}\": {message}",
                    self.inputs.datasource.uid
                ),
                format!(
                    "Grafana reads its provisioning files only when it starts: look for provisioning errors in its log (`kubectl -n {} logs deployment/{}`) and restart it",
                    self.namespace, self.workload
                ),
            ),
            StatusCode::BAD_REQUEST => (
                Layer::Datasource,
                format!("Grafana cannot reach Prometheus: {message}"),
                self.unreachable_next(scrape::is_timeout(&message)).await,
            ),
            _ => (
                Layer::Datasource,
                format!(
                    "Grafana could not check its Prometheus datasource (HTTP {}): {message}",
                    status.as_u16()
                ),
                self.grafana_log(),
            ),
        };
        fail(report, &url, seen, failure);
    }

    /// Judges the answer of the datasource proxy for Prometheus's targets.
    pub(super) async fn targets(
        &self,
        report: &mut EndpointReport,
        answer: Result<Answer, probe::Outcome>,
    ) {
        let url = report.endpoint.url.clone();
        let answer = match answer {
            Ok(answer) => answer,
            Err(outcome) => return self.unanswered(report, &url, &outcome),
        };
        let status = answer.status;
        let message = grafana::health(&answer.body)
            .and_then(|h| h.message)
            .map(|m| self.quote(&m))
            .unwrap_or_default();
        let failure = match status {
            StatusCode::OK => return self.judge_targets(report, &url, &answer.body).await,
            StatusCode::UNAUTHORIZED => self.refused(status, &message),
            StatusCode::BAD_GATEWAY | StatusCode::GATEWAY_TIMEOUT => (
                Layer::Datasource,
                format!(
                    "Grafana's datasource proxy got no answer from Prometheus (HTTP {})",
                    status.as_u16()
                ),
                self.unreachable_next(status == StatusCode::GATEWAY_TIMEOUT)
                    .await,
            ),
            _ => (
                Layer::Datasource,
                format!(
                    "Grafana's datasource proxy refused the request for Prometheus's targets (HTTP {}){}",
                    status.as_u16(),
                    if message.is_empty() {
                        String::new()
                    } else {
                        format!(": {message}")
                    }
                ),
                format!(
                    "the datasource must have `access: proxy` and Grafana's [dataproxy] settings must allow it; {}",
                    self.grafana_log()
                ),
            ),
        };
        let seen = format!("{}, {}", status.as_u16(), or(&message, "no message"));
        fail(report, &url, seen, failure);
    }

    async fn judge_targets(&self, report: &mut EndpointReport, url: &str, body: &[u8]) {
        let seen = |what: &str| format!("200, {what}");
        let Some(answer) = grafana::targets(body) else {
            let failure = (
                Layer::Service,
                "the answer is not Prometheus's list of targets (not JSON, or cut at 1 MiB)".into(),
                self.grafana_log(),
            );
            return fail(report, url, seen("not a list of targets"), failure);
        };
        let Some(data) = answer.data.filter(|_| answer.status == "success") else {
            let error = self.quote(answer.error.as_deref().unwrap_or_default());
            let failure = (
                Layer::Scrape,
                format!("Prometheus answered with an error: {error}"),
                "read Prometheus's log".into(),
            );
            return fail(report, url, seen(&answer.status), failure);
        };
        let topology = match self.inputs.cluster {
            Some(cluster) => Topology::read(cluster).await,
            None => None,
        };
        let prometheus_node = self.prometheus_node().await;
        let port_forward =
            self.inputs.datasource.service().map(|(ns, name, port)| {
                format!("kubectl -n {ns} port-forward service/{name} {port}")
            });
        let place = Whereabouts {
            topology: topology.as_ref(),
            prometheus_node: prometheus_node.as_deref(),
            port_forward,
        };
        let mut targets = data.active_targets;
        for target in &mut targets {
            target.last_error = self.credentials.scrub(&target.last_error);
        }
        match scrape::judge(&targets, &place) {
            Ok(summary) => {
                let mut detail = format!("{} of {} targets up", summary.up, summary.total);
                if summary.unknown > 0 {
                    let _ = write!(detail, ", {} not scraped yet", summary.unknown);
                }
                report.targets = Some(summary);
                pass(report, url, seen(&detail));
            }
            Err((summary, cause, next)) => {
                let detail = format!("{} of {} targets down", summary.down, summary.total);
                report.targets = Some(summary);
                fail(report, url, seen(&detail), (Layer::Scrape, cause, next));
            }
        }
    }

    /// Grafana's API did not answer (its port passed a moment ago).
    fn unanswered(&self, report: &mut EndpointReport, url: &str, outcome: &probe::Outcome) {
        let failure = (
            Layer::Service,
            format!("Grafana's API did not answer as it should: {outcome}"),
            self.grafana_log(),
        );
        fail(report, url, outcome.to_string(), failure);
    }

    /// Grafana refused the administrator's credentials (401) or access (403).
    fn refused(&self, status: StatusCode, message: &str) -> Failure {
        let secret = self
            .inputs
            .stack
            .spec
            .secrets(self.namespace)
            .into_iter()
            .find(|s| s.kind == SecretKind::GrafanaAdmin)
            .map_or_else(String::new, |s| {
                format!(" from Secret {}/{}", s.namespace, s.name)
            });
        let user = self.credentials.user();
        if status == StatusCode::UNAUTHORIZED {
            (
                Layer::Credentials,
                format!(
                    "Grafana refused the login \"{user}\" with the password{secret} (HTTP 401: {})",
                    or(message, "no message")
                ),
                format!(
                    "Grafana takes the administrator's login and password when it starts with an empty database; if the Secret or spec.adminUser changed since, restart it: `kubectl -n {} rollout restart deployment/{}`",
                    self.namespace, self.workload
                ),
            )
        } else {
            (
                Layer::Credentials,
                format!(
                    "Grafana denies \"{user}\" the datasource (HTTP 403: {})",
                    or(message, "no message")
                ),
                "the administrator must be an Admin of the datasource's organisation; check the datasource's permissions in Grafana".into(),
            )
        }
    }

    /// The next step when Grafana cannot reach Prometheus; `timeout` when no answer came.
    async fn unreachable_next(&self, timeout: bool) -> String {
        let ds = &self.inputs.datasource;
        let service = ds.service();
        let check = match &service {
            Some((ns, ..)) => format!(
                "check that Prometheus is ready and its Service has endpoints (`kubectl -n {ns} get pods,endpointslices -o wide`)"
            ),
            None => format!("check that Prometheus is ready and answers at {}", ds.url),
        };
        if !timeout {
            return format!("{check}; Grafana reaches it at {}", ds.url);
        }
        let network = format!(
            "the network between the nodes drops pod traffic; {}",
            scrape::BETWEEN_NODES
        );
        let (grafana, prometheus) = (self.grafana_node().await, self.prometheus_node().await);
        match (grafana, prometheus) {
            (Some(g), Some(p)) if g != p => {
                format!("Grafana on node {g} gets no answer from Prometheus on node {p}: {network}")
            }
            (Some(g), Some(_)) => {
                let policy = service.map_or_else(String::new, |(ns, name, port)| {
                    format!(", and that no NetworkPolicy blocks port {port} of Service {ns}/{name}")
                });
                format!(
                    "Grafana and Prometheus both run on node {g}, yet no answer came: {check}{policy}"
                )
            }
            _ => format!(
                "no answer came from {}: where Grafana and Prometheus run on different nodes (`kubectl get pods -A -o wide`), {network}; otherwise {check}",
                ds.url
            ),
        }
    }

    fn grafana_log(&self) -> String {
        format!(
            "read Grafana's log: `kubectl -n {} logs deployment/{}`",
            self.namespace, self.workload
        )
    }

    /// The node Prometheus (the pods behind the datasource's Service) runs on.
    async fn prometheus_node(&self) -> Option<String> {
        let cluster = self.inputs.cluster?;
        let (namespace, name, _) = self.inputs.datasource.service()?;
        topology::service_node(cluster, &namespace, &name).await
    }

    /// The node Grafana's pod runs on.
    async fn grafana_node(&self) -> Option<String> {
        let cluster = self.inputs.cluster?;
        let deployment = self.inputs.objects.iter().find(|o| {
            o.stack == self.inputs.stack.kind
                && o.key.kind == "Deployment"
                && o.key.name == self.workload
        })?;
        let labels = deployment
            .value
            .pointer("/spec/selector/matchLabels")?
            .as_object()?
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
            .collect::<Vec<_>>()
            .join(",");
        topology::selected_node(cluster, self.namespace, &labels).await
    }

    /// `text` from an answer, with the password masked and cut short.
    fn quote(&self, text: &str) -> String {
        let text = self.credentials.scrub(text);
        match text.char_indices().nth(MESSAGE_CHARS) {
            Some((end, _)) => format!("{}…", &text[..end]),
            None => text,
        }
    }
}

fn or<'a>(text: &'a str, otherwise: &'a str) -> &'a str {
    if text.is_empty() { otherwise } else { text }
}

fn pass(report: &mut EndpointReport, url: &str, seen: String) {
    report.passed = true;
    report.probes.push(ProbeReport {
        url: url.to_owned(),
        passed: true,
        outcome: seen,
    });
}

fn fail(report: &mut EndpointReport, url: &str, seen: String, (layer, cause, next): Failure) {
    report.passed = false;
    report.probes.push(ProbeReport {
        url: url.to_owned(),
        passed: false,
        outcome: seen,
    });
    report.layer = Some(layer);
    report.cause = Some(cause);
    report.next_step = Some(next);
}
