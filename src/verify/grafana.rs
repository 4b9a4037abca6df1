//! What verify reads of Grafana: the Prometheus datasource as the rendered provisioning file
//! declares it, and the answers of Grafana's API (Grafana 13) about it.
//!
//! Shapes and status codes, from grafana/grafana:
//! - `GET /api/datasources/uid/:uid/health` (route in `pkg/api/api.go`, handler
//!   `CheckDatasourceHealthWithUID` in `pkg/api/datasources.go`): `{"status": "OK",
//!   "message": ...}` with 200 when the plugin's check passes; the same body with `"status":
//!   "ERROR"` (or `"UNKNOWN"`) and 400 when it fails; `{"message": ...}` with 403 or 500 when
//!   the datasource cannot be loaded. The Prometheus plugin's check (`pkg/promlib/
//!   healthcheck.go`) runs the query `1+1` and on failure says `<error> - There was an error
//!   returned querying the Prometheus API.`, the error being Go's (`Post "http://...": dial
//!   tcp ...: i/o timeout`).
//! - `/api/datasources/proxy/uid/:uid/*` (`pkg/api/api.go`; `pkg/services/datasourceproxy/
//!   datasourceproxy.go`, `pkg/api/pluginproxy/ds_proxy.go`) passes GET requests on to the
//!   datasource's URL for a Prometheus datasource with `access: proxy`; when Grafana gets no
//!   answer, `pkg/util/proxyutil/reverse_proxy.go` answers 504 (timeout) or 502, empty.
//! - A wrong password: 401 with `{"message": "Invalid username or password", "messageId":
//!   "basic-auth.invalid-credentials", "statusCode": 401}` (`pkg/services/authn/clients/
//!   basic.go`, `pkg/apimachinery/errutil/errors.go`, `pkg/middleware/auth.go`).
//!
//! Prometheus's `/api/v1/targets` (prometheus/prometheus `web/api/v1/api.go`): `{"status":
//! "success", "data": {"activeTargets": [{"labels": {...}, "scrapePool", "scrapeUrl",
//! "lastError", "health": "up" | "down" | "unknown", ...}], ...}}`.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::render::Object;
use crate::stack::StackKind;

/// The Prometheus datasource Grafana is provisioned with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datasource {
    /// Its uid, which the API paths name.
    pub uid: String,
    /// The URL Grafana reaches Prometheus on.
    pub url: String,
}

impl Datasource {
    /// `GET` this for the datasource's health.
    pub fn health_path(&self) -> String {
        format!("/api/datasources/uid/{}/health", self.uid)
    }

    /// `GET` this for Prometheus's active targets, through Grafana's datasource proxy.
    pub fn targets_path(&self) -> String {
        format!(
            "/api/datasources/proxy/uid/{}/api/v1/targets?state=active",
            self.uid
        )
    }

    /// The Service the URL names (`name.namespace.svc...`) and its port, if it names one.
    pub fn service(&self) -> Option<(String, String, u16)> {
        let rest = self.url.split_once("://").map_or(&*self.url, |(_, r)| r);
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) => (host, port.parse().ok()?),
            None => (authority, 80),
        };
        let mut parts = host.split('.');
        let name = parts.next()?.to_owned();
        let namespace = parts.next()?.to_owned();
        (parts.next() == Some("svc")).then_some((namespace, name, port))
    }
}

/// The first Prometheus datasource with a uid among the Grafana stack's rendered ConfigMaps
/// (their values are provisioning files: `datasources: [{type, uid, url}, ...]`).
pub fn prometheus_datasource(objects: &[Object]) -> Option<Datasource> {
    objects
        .iter()
        .filter(|o| o.stack == StackKind::Grafana && o.key.group.is_empty())
        .filter(|o| o.key.kind == "ConfigMap")
        .filter_map(|o| o.value.get("data").and_then(Value::as_object))
        .flat_map(|data| data.values())
        .filter_map(Value::as_str)
        .filter_map(|text| serde_yaml::from_str::<Provisioning>(text).ok())
        .flat_map(|p| p.datasources)
        .find_map(|d| {
            (d.kind.as_deref() == Some("prometheus")).then_some(())?;
            Some(Datasource {
                uid: d.uid?,
                url: d.url.unwrap_or_default(),
            })
        })
}

/// A Grafana datasource provisioning file, as far as verify reads it.
#[derive(Deserialize)]
struct Provisioning {
    #[serde(default)]
    datasources: Vec<ProvisionedDatasource>,
}

#[derive(Deserialize)]
struct ProvisionedDatasource {
    #[serde(rename = "type")]
    kind: Option<String>,
    uid: Option<String>,
    url: Option<String>,
}

/// Grafana's answer to the health check, or to a request it refused (`message` only).
#[derive(Debug, Default, Deserialize)]
pub struct Health {
    /// `OK`, `ERROR` or `UNKNOWN`.
    #[serde(default)]
    pub status: Option<String>,
    /// The plugin's (or Grafana's) words.
    #[serde(default)]
    pub message: Option<String>,
}

/// Parses Grafana's JSON answer; `None` when it is not one.
pub fn health(body: &[u8]) -> Option<Health> {
    serde_json::from_slice(body).ok()
}

/// Prometheus's answer to `/api/v1/targets`.
#[derive(Debug, Deserialize)]
pub struct TargetsAnswer {
    /// `success` or `error`.
    pub status: String,
    /// The targets, on success.
    #[serde(default)]
    pub data: Option<TargetsData>,
    /// The error, on failure.
    #[serde(default)]
    pub error: Option<String>,
}

/// The targets.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetsData {
    /// The targets being scraped.
    #[serde(default)]
    pub active_targets: Vec<Target>,
}

/// One scrape target.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    /// Its labels after relabelling (`job`, `instance`, ...).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The scrape configuration's job.
    #[serde(default)]
    pub scrape_pool: String,
    /// The URL scraped.
    #[serde(default)]
    pub scrape_url: String,
    /// Why the last scrape failed, empty when it did not.
    #[serde(default)]
    pub last_error: String,
    /// `up`, `down` or `unknown` (not scraped yet).
    #[serde(default)]
    pub health: String,
}

impl Target {
    /// The `job` label, else the scrape pool.
    pub fn job(&self) -> &str {
        self.labels
            .get("job")
            .map_or(self.scrape_pool.as_str(), String::as_str)
    }

    /// The `instance` label, else the scrape URL.
    pub fn instance(&self) -> &str {
        self.labels
            .get("instance")
            .map_or(self.scrape_url.as_str(), String::as_str)
    }

    /// The host the scrape goes to (from the scrape URL, else the instance), without port or
    /// IPv6 brackets.
    pub fn host(&self) -> &str {
        let url = if self.scrape_url.is_empty() {
            self.instance()
        } else {
            &self.scrape_url
        };
        let rest = url.split_once("://").map_or(url, |(_, r)| r);
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if let Some(v6) = authority.strip_prefix('[') {
            return v6.split(']').next().unwrap_or_default();
        }
        authority.split(':').next().unwrap_or_default()
    }
}

/// Parses Prometheus's JSON answer; `None` when it is not one.
pub fn targets(body: &[u8]) -> Option<TargetsAnswer> {
    serde_json::from_slice(body).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::Origin;
    use crate::source::{Location, SourceFile, Span};

    #[test]
    fn the_datasource_comes_from_the_provisioning_configmap() {
        let value = serde_json::json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "grafana-datasources", "namespace": "monitoring"},
            "data": {"prometheus.yaml": "apiVersion: 1\ndatasources:\n  - name: Prometheus\n    uid: prom-1\n    type: prometheus\n    access: proxy\n    url: http://prometheus.monitoring.svc:9090\n"},
        });
        let file = SourceFile::new("provisioning.yaml.j2", "");
        let origin = Origin::Stack(Location::new(&file, Span::new(1, 1, 1)));
        let object = Object::new(value, origin, StackKind::Grafana).unwrap();
        let datasource = prometheus_datasource(&[object]).unwrap();
        assert_eq!(datasource.uid, "prom-1");
        assert_eq!(
            datasource.health_path(),
            "/api/datasources/uid/prom-1/health"
        );
        assert_eq!(
            datasource.targets_path(),
            "/api/datasources/proxy/uid/prom-1/api/v1/targets?state=active"
        );
        assert_eq!(
            datasource.service(),
            Some(("monitoring".into(), "prometheus".into(), 9090))
        );
    }

    #[test]
    fn target_hosts() {
        let target = |url: &str, instance: &str| Target {
            labels: BTreeMap::from([("instance".to_owned(), instance.to_owned())]),
            scrape_pool: "p".into(),
            scrape_url: url.into(),
            last_error: String::new(),
            health: "down".into(),
        };
        assert_eq!(
            target("http://10.0.2.15:9100/metrics", "x").host(),
            "10.0.2.15"
        );
        assert_eq!(
            target("https://[fd00::1]:10250/metrics", "x").host(),
            "fd00::1"
        );
        assert_eq!(target("", "10.244.1.7:4191").host(), "10.244.1.7");
    }
}
