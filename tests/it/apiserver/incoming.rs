//! An HTTP request read into what the handlers need: method, path, query, the headers
//! that matter, and the body parsed as JSON or YAML.

use std::collections::BTreeMap;
use std::time::Instant;

use http_body_util::BodyExt as _;
use hyper::Request;
use hyper::body::Incoming;
use serde_json::Value;

use super::journal;
use super::json;
use super::routes;
use super::status::ApiError;

/// Parses a request body as YAML (apply patches, `application/yaml`) or JSON.
fn parse_body(bytes: &[u8], content_type: &str) -> Result<Option<Value>, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    if content_type.contains("yaml") {
        serde_yaml::from_slice::<Value>(bytes)
            .map(Some)
            .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))
    } else {
        serde_json::from_slice::<Value>(bytes)
            .map(Some)
            .map_err(|e| {
                ApiError::bad_request(format!("couldn't get version/kind; json parse error: {e}"))
            })
    }
}

/// Everything about a request the handlers need, owned.
pub struct Parsed {
    /// HTTP method.
    pub method: String,
    /// Path, without the query.
    pub path: String,
    /// The query as sent.
    pub raw_query: String,
    /// The query, decoded.
    pub query: BTreeMap<String, String>,
    /// `Content-Type`, or "".
    pub content_type: String,
    /// `Accept`, or "".
    pub accept: String,
    /// `Authorization`, or "".
    pub authorization: String,
    /// `User-Agent`, or "".
    pub user_agent: String,
    /// The body parsed, or why it could not be.
    pub body: Result<Option<Value>, ApiError>,
}

/// Reads a request's head and whole body.
pub async fn read(request: Request<Incoming>) -> Parsed {
    let (parts, incoming) = request.into_parts();
    let bytes = incoming
        .collect()
        .await
        .map(http_body_util::Collected::to_bytes)
        .unwrap_or_default();
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let content_type = header("content-type");
    let raw_query = parts.uri.query().unwrap_or_default().to_owned();
    Parsed {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        query: routes::query(&raw_query),
        raw_query,
        accept: header("accept"),
        authorization: header("authorization"),
        user_agent: header("user-agent"),
        body: parse_body(&bytes, &content_type),
        content_type,
    }
}

impl Parsed {
    /// Whether this is a watch (`GET ...?watch=true`).
    pub fn is_watch(&self) -> bool {
        self.method == "GET"
            && self
                .query
                .get("watch")
                .is_some_and(|w| w == "true" || w == "1")
    }

    /// The query, percent-decoded, as `k=v&...` (what fault rules match besides the raw one).
    pub fn decoded_query(&self) -> String {
        let pairs: Vec<String> = self.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        pairs.join("&")
    }

    /// The journal entry for this request, its outcome still unknown.
    pub fn entry(&self, seq: u64, at: Instant) -> journal::Request {
        let body = self.body.as_ref().ok().cloned().flatten();
        let dry_run = self.query.get("dryRun").is_some_and(|d| d == "All")
            || body
                .as_ref()
                .is_some_and(|b| json::strings(b.get("dryRun")).iter().any(|d| d == "All"));
        journal::Request {
            seq,
            method: self.method.clone(),
            path: self.path.clone(),
            query: self.query.clone(),
            content_type: Some(self.content_type.clone()).filter(|c| !c.is_empty()),
            accept: self.accept.clone(),
            user_agent: self.user_agent.clone(),
            status: 0,
            write: false,
            dry_run,
            at,
            body,
        }
    }
}
