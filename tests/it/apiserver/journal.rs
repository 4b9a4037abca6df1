//! The request journal: every request in arrival order with what the server did about it,
//! so tests can assert what a client sent ("no force by default", "CRDs before CRs").

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::Value;

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Request {
    /// Arrival order, from 1.
    pub seq: u64,
    /// HTTP method.
    pub method: String,
    /// Path, without the query.
    pub path: String,
    /// Query parameters, percent-decoded.
    pub query: BTreeMap<String, String>,
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// `Accept`, or "".
    pub accept: String,
    /// `User-Agent`, or "".
    pub user_agent: String,
    /// HTTP status answered; 0 when the connection was dropped without an answer.
    pub status: u16,
    /// Whether the request changed stored state.
    pub write: bool,
    /// Whether it was a dry run (`dryRun=All` in the query or the DeleteOptions body).
    pub dry_run: bool,
    /// When it arrived.
    pub at: Instant,
    /// The body, parsed as JSON or YAML, when there was one.
    pub body: Option<Value>,
}

impl Request {
    /// A query parameter.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query.get(key).map(String::as_str)
    }

    /// Whether this is a server-side apply (`application/apply-patch+yaml`).
    pub fn is_apply(&self) -> bool {
        self.content_type
            .as_deref()
            .is_some_and(|c| c.starts_with("application/apply-patch"))
    }

    /// Whether this is a watch.
    pub fn is_watch(&self) -> bool {
        matches!(self.param("watch"), Some("true" | "1"))
    }
}
