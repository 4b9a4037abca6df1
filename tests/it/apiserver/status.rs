//! `metav1.Status` bodies, worded as the real API server words them, so that clients parse
//! and print exactly what they would get from a cluster.

use serde_json::{Map, Value, json};

use super::catalog::ResourceType;

/// A failed request: the HTTP code and the Status body that goes with it.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status code, repeated in the body.
    pub code: u16,
    /// `reason` (`NotFound`, `Conflict`, ...).
    pub reason: String,
    /// `message`.
    pub message: String,
    /// `details`, an object (left out of the body when empty).
    pub details: Map<String, Value>,
    /// Seconds for a `Retry-After` header (and `details.retryAfterSeconds`).
    pub retry_after: Option<u32>,
    /// Answered as the Go mux's plain-text `404 page not found` instead of a Status.
    pub plain: bool,
}

/// One entry of `details.causes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    /// The cause type, serialised as `reason` (`FieldValueInvalid`, `FieldManagerConflict`).
    pub reason: String,
    /// What is wrong.
    pub message: String,
    /// The field, as the server spells it (`metadata.name`, `.spec.replicas`).
    pub field: String,
}

impl Cause {
    /// A cause of type `reason` on `field`.
    pub fn new(reason: &str, message: impl Into<String>, field: &str) -> Self {
        Self {
            reason: reason.to_owned(),
            message: message.into(),
            field: field.to_owned(),
        }
    }

    /// The cause as a Status body has it.
    fn to_json(&self) -> Value {
        let mut cause = Map::new();
        cause.insert("reason".into(), self.reason.clone().into());
        cause.insert("message".into(), self.message.clone().into());
        if !self.field.is_empty() {
            cause.insert("field".into(), self.field.clone().into());
        }
        Value::Object(cause)
    }
}

impl ApiError {
    /// An error without details.
    pub fn new(code: u16, reason: &str, message: impl Into<String>) -> Self {
        Self {
            code,
            reason: reason.to_owned(),
            message: message.into(),
            details: Map::new(),
            retry_after: None,
            plain: false,
        }
    }

    /// The body the server sends.
    pub fn body(&self) -> Value {
        let mut body = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "code": self.code,
        });
        // An empty reason is left out, as metav1.Status's `omitempty` does (a webhook's
        // denial carries none).
        if !self.reason.is_empty() {
            body["reason"] = self.reason.clone().into();
        }
        let mut details = self.details.clone();
        if let Some(seconds) = self.retry_after {
            details.insert("retryAfterSeconds".into(), seconds.into());
        }
        if !details.is_empty() {
            body["details"] = Value::Object(details);
        }
        body
    }

    /// Sets `details.name`, `details.group` (when not core) and `details.kind`.
    fn about(mut self, group: &str, kind: &str, name: &str) -> Self {
        if !name.is_empty() {
            self.details.insert("name".into(), name.into());
        }
        if !group.is_empty() {
            self.details.insert("group".into(), group.into());
        }
        self.details.insert("kind".into(), kind.into());
        self
    }

    /// Appends causes to `details.causes`.
    pub fn with_causes(mut self, causes: &[Cause]) -> Self {
        let list = self
            .details
            .entry("causes")
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(list) = list {
            list.extend(causes.iter().map(Cause::to_json));
        }
        self
    }

    /// 404 for an object that does not exist.
    pub fn not_found(rt: &ResourceType, name: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("{} {name:?} not found", rt.group_resource()),
        )
        .about(&rt.group, &rt.plural, name)
    }

    /// 404 for a namespaced object whose namespace does not exist.
    pub fn namespace_not_found(namespace: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("namespaces {namespace:?} not found"),
        )
        .about("", "namespaces", namespace)
    }

    /// 404 for a resource a served built-in group version does not have.
    pub fn unknown_resource() -> Self {
        Self::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
    }

    /// 404 for a path no handler serves (an unknown group, a CRD not yet established): the
    /// real server's mux answers it in plain text, which clients cannot parse as a Status.
    pub fn page_not_found() -> Self {
        let mut error = Self::new(404, "NotFound", "404 page not found");
        error.plain = true;
        error
    }

    /// 409 for a create of an existing object.
    pub fn already_exists(rt: &ResourceType, name: &str) -> Self {
        Self::new(
            409,
            "AlreadyExists",
            format!("{} {name:?} already exists", rt.group_resource()),
        )
        .about(&rt.group, &rt.plural, name)
    }

    /// 409 for a write whose precondition (resourceVersion, uid) does not hold.
    pub fn conflict(rt: &ResourceType, name: &str, why: &str) -> Self {
        Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} {name:?}: {why}",
                rt.group_resource()
            ),
        )
        .about(&rt.group, &rt.plural, name)
    }

    /// 409 for an update from a stale resourceVersion.
    pub fn modified(rt: &ResourceType, name: &str) -> Self {
        Self::conflict(
            rt,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    /// 422 with field causes, for an object that fails validation.
    pub fn invalid(group: &str, kind: &str, name: &str, causes: &[Cause]) -> Self {
        let qualified = if group.is_empty() {
            kind.to_owned()
        } else {
            format!("{kind}.{group}")
        };
        let list: Vec<String> = causes
            .iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect();
        let joined = if list.len() == 1 {
            list[0].clone()
        } else {
            format!("[{}]", list.join(", "))
        };
        Self::new(
            422,
            "Invalid",
            format!("{qualified} {name:?} is invalid: {joined}"),
        )
        .about(group, kind, name)
        .with_causes(causes)
    }

    /// 422 for an object of kind `rt` that fails validation.
    pub fn invalid_object(rt: &ResourceType, name: &str, causes: &[Cause]) -> Self {
        Self::invalid(&rt.group, &rt.kind, name, causes)
    }

    /// 400.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    /// 403 for a write into a namespace that is being deleted.
    pub fn terminating(rt: &ResourceType, name: &str, namespace: &str) -> Self {
        Self::new(
            403,
            "Forbidden",
            format!(
                "{} {name:?} is forbidden: unable to create new content in namespace {namespace} because it is being terminated",
                rt.group_resource()
            ),
        )
        .about(&rt.group, &rt.plural, name)
        .with_causes(&[Cause::new(
            "NamespaceTerminating",
            format!("namespace {namespace} is being terminated"),
            "metadata.namespace",
        )])
    }

    /// 405 for a verb the resource does not support.
    pub fn method_not_allowed(rt: &ResourceType, verb: &str) -> Self {
        Self::new(
            405,
            "MethodNotAllowed",
            format!(
                "{verb} is not supported on resources of kind {:?}",
                rt.group_resource()
            ),
        )
        .about(&rt.group, &rt.plural, "")
    }

    /// 401 for a request without the cluster's bearer token.
    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized", "Unauthorized")
    }

    /// 500, with the error as the single cause, as `errors.NewInternalError` builds it.
    pub fn internal(error: &str) -> Self {
        let mut err = Self::new(
            500,
            "InternalError",
            format!("Internal error occurred: {error}"),
        );
        err.details
            .insert("causes".into(), json!([{ "message": error }]));
        err
    }

    /// 410 for a watch or list from a compacted resourceVersion.
    pub fn expired(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    /// 415 for a body of a type the server does not take.
    pub fn unsupported_media_type(content_type: &str) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/apply-patch+yaml, application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got {content_type:?})"
            ),
        )
    }
}

/// The `Status` body of a successful delete.
pub fn success(rt: &ResourceType, name: &str, uid: &str) -> Value {
    let mut details = json!({ "name": name, "kind": rt.plural, "uid": uid });
    if !rt.group.is_empty() {
        details["group"] = rt.group.clone().into();
    }
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": details,
    })
}
