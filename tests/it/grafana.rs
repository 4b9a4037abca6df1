//! A local server that answers as Grafana 13's HTTP API does, for `verify`'s data-path checks:
//! its health and login redirect, basic auth, a Prometheus datasource's health check, and the
//! datasource proxy passing `/api/v1/targets` on to Prometheus.
//!
//! Shapes and status codes follow grafana/grafana:
//! - `/api/health`: `pkg/api/http_server.go` `apiHealthHandler` (200, `{"database": "ok", ...}`).
//! - basic auth: `pkg/services/authn/clients/basic.go` (`basic-auth.invalid-credentials`,
//!   "Invalid username or password", 401), rendered by `pkg/middleware/auth.go`
//!   (`notAuthorized`: `WriteErrOrFallback(401, ...)`) as `errutil.PublicError`
//!   (`pkg/apimachinery/errutil/errors.go`: `statusCode`, `messageId`, `message`) plus
//!   `traceID` (`pkg/services/contexthandler/model/model.go`).
//! - `GET /api/datasources/uid/:uid/health` (`pkg/api/api.go`, `pkg/api/datasources.go`
//!   `checkDatasourceHealth`): 200 `{"status": "OK", "message": ..., "details": ...}`, or 400
//!   with `"status": "ERROR"`; 500 "Unable to load datasource metadata" for an unknown uid.
//!   The Prometheus plugin's message (`pkg/promlib/healthcheck.go`): "Successfully queried the
//!   Prometheus API." or `<error> - There was an error returned querying the Prometheus API.`;
//!   details from its heuristics (`pkg/promlib/heuristics.go`).
//! - `/api/datasources/proxy/uid/:uid/*` (`pkg/services/datasourceproxy/datasourceproxy.go`,
//!   `pkg/api/pluginproxy/ds_proxy.go`): the datasource's answer as is; 504 with an empty body
//!   when Prometheus does not answer in time (`pkg/util/proxyutil/reverse_proxy.go`).
//! - Prometheus's `/api/v1/targets` (prometheus/prometheus `web/api/v1/api.go`, `Target`).

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use serde_json::{Value, json};

/// How Grafana's datasource fares.
#[derive(Clone)]
pub enum Datasource {
    /// Prometheus answers; these are its active targets.
    Healthy(Vec<Value>),
    /// Prometheus does not answer; Go's error as the plugin quotes it.
    Unreachable(String),
    /// As `Unreachable`, with the health check answered only after this long, as Grafana does
    /// while it waits for its dial timeout (`[dataproxy] dialTimeout = 10` s in
    /// `conf/defaults.ini`).
    Slow(String, std::time::Duration),
}

/// What the fake Grafana is set up with.
#[derive(Clone)]
pub struct Setup {
    /// The administrator's login.
    pub user: String,
    /// The password Grafana accepts.
    pub password: String,
    /// The provisioned Prometheus datasource's uid.
    pub uid: String,
    /// How it fares.
    pub datasource: Datasource,
    /// Whether a refused login quotes the credentials it got back (Grafana does not; this
    /// stands for any proxy or version that would, to show verify masks them).
    pub echo_refused: bool,
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub authorization: Option<String>,
}

/// A fake Grafana running on `port` until the test ends.
pub struct FakeGrafana {
    pub port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl FakeGrafana {
    pub fn start(setup: Setup) -> Self {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        let port = crate::web::serve(move |request| {
            let authorization = request.header("authorization").map(str::to_owned);
            log.lock().unwrap().push(Seen {
                path: request.path.clone(),
                authorization: authorization.clone(),
            });
            let (status, body) = answer(&setup, &request.path, authorization.as_deref());
            Some(respond(status, &body))
        });
        Self { port, seen }
    }

    /// The requests seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn respond(status: &str, body: &str) -> String {
    let (headers, body) = match status {
        "302 Found" => ("Location: /login\r\n", body),
        _ if body.is_empty() => ("", body),
        _ => ("Content-Type: application/json\r\n", body),
    };
    crate::web::respond(status, headers, body)
}

/// The login and password of a `Basic` header.
fn basic(header: &str) -> Option<(String, String)> {
    let encoded = header.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

fn answer(setup: &Setup, path: &str, authorization: Option<&str>) -> (&'static str, String) {
    match path {
        "/api/health" => {
            let body = json!({"commit": "0f3c1b2", "database": "ok", "version": "13.2.0"});
            return ("200 OK", body.to_string());
        }
        "/" => return ("302 Found", "<a href=\"/login\">Found</a>.".into()),
        _ => {}
    }
    let Some(api) = path.strip_prefix("/api/datasources/") else {
        return ("404 Not Found", json!({"message": "Not found"}).to_string());
    };
    match authorization.and_then(basic) {
        Some((user, password)) if user == setup.user && password == setup.password => {}
        got => {
            let mut message = "Invalid username or password".to_owned();
            if let (true, Some((user, password))) = (setup.echo_refused, got) {
                message = format!(
                    "{message} (got {user}:{password}, {})",
                    authorization.unwrap_or_default()
                );
            }
            let body = json!({"message": message, "messageId": "basic-auth.invalid-credentials", "statusCode": 401, "traceID": ""});
            return ("401 Unauthorized", body.to_string());
        }
    }
    let health = format!("uid/{}/health", setup.uid);
    let targets = format!("proxy/uid/{}/api/v1/targets", setup.uid);
    if api == health {
        return match &setup.datasource {
            Datasource::Healthy(_) => (
                "200 OK",
                json!({"status": "OK", "message": "Successfully queried the Prometheus API.",
                       "details": {"application": "Prometheus", "features": {"rulerApiEnabled": false}}})
                .to_string(),
            ),
            Datasource::Unreachable(error) | Datasource::Slow(error, _) => {
                if let Datasource::Slow(_, after) = &setup.datasource {
                    std::thread::sleep(*after);
                }
                (
                "400 Bad Request",
                json!({"status": "ERROR",
                       "message": format!("{error} - There was an error returned querying the Prometheus API.")})
                .to_string(),
            )
            }
        };
    }
    if api.starts_with(&targets) {
        return match &setup.datasource {
            Datasource::Healthy(active) => (
                "200 OK",
                json!({"status": "success",
                       "data": {"activeTargets": active, "droppedTargets": [], "droppedTargetCounts": {}}})
                .to_string(),
            ),
            Datasource::Unreachable(_) | Datasource::Slow(..) => {
                ("504 Gateway Timeout", String::new())
            }
        };
    }
    (
        "500 Internal Server Error",
        json!({"message": "Unable to load datasource metadata", "traceID": ""}).to_string(),
    )
}

/// An active target as Prometheus lists it.
pub fn target(job: &str, address: &str, health: &str, last_error: &str) -> Value {
    let scheme = if address.ends_with(":10250") || address.ends_with(":10259") {
        "https"
    } else {
        "http"
    };
    json!({
        "discoveredLabels": {"__address__": address, "__scheme__": scheme, "__metrics_path__": "/metrics", "job": job},
        "labels": {"instance": address, "job": job},
        "scrapePool": job,
        "scrapeUrl": format!("{scheme}://{address}/metrics"),
        "globalUrl": format!("{scheme}://{address}/metrics"),
        "lastError": last_error,
        "lastScrape": "2026-12-05T05:00:00.000Z",
        "lastScrapeDuration": 0.012,
        "health": health,
        "scrapeInterval": "30s",
        "scrapeTimeout": "10s",
    })
}
