//! Request handling below HTTP: resolves a path to a resource type, checks the verb, and
//! answers reads (get, list with selectors and pages, metadata-only views); writes are in
//! [`super::writes`].

use std::collections::BTreeMap;

use base64::Engine as _;
use serde_json::{Value, json};

use super::access;
use super::builtins;
use super::catalog::{self, ResourceType, Verbs};
use super::json;
use super::routes::Target;
use super::selectors::{self, FieldSelector, LabelSelector};
use super::state::State;
use super::status::ApiError;
use super::writes;

/// A request, parsed.
pub struct Call<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// The addressed resource.
    pub target: &'a Target,
    /// Query parameters.
    pub query: &'a BTreeMap<String, String>,
    /// `Content-Type`, or "".
    pub content_type: &'a str,
    /// `Accept`, or "".
    pub accept: &'a str,
    /// The body, parsed.
    pub body: Option<&'a Value>,
    /// `User-Agent`, or "".
    pub user_agent: &'a str,
}

/// An answer.
#[derive(Debug)]
pub struct Reply {
    /// HTTP code.
    pub code: u16,
    /// Body.
    pub body: Value,
    /// `Warning` headers.
    pub warnings: Vec<String>,
}

impl Reply {
    /// A 200 answer.
    pub fn ok(body: Value) -> Self {
        Self {
            code: 200,
            body,
            warnings: Vec::new(),
        }
    }
}

/// A path resolved to a type and an object.
pub struct Resolved {
    /// The type, at the addressed version.
    pub rt: ResourceType,
    /// The namespace ("" for cluster-scoped and all-namespace lists).
    pub namespace: String,
    /// Whether an all-namespaces collection of a namespaced type is addressed.
    pub all_namespaces: bool,
    /// The name.
    pub name: Option<String>,
    /// The subresource.
    pub subresource: Option<String>,
}

/// Resolves a path against the served types: 404 for what the server does not serve.
pub fn resolve(state: &State, target: &Target) -> Result<Resolved, ApiError> {
    // Built-in group versions answer for their unknown resources; anything else (custom
    // groups, CRDs not yet established) falls through to the mux's plain 404.
    let builtin = builtins::all()
        .iter()
        .any(|rt| rt.group == target.group && rt.version == target.version);
    let missing = || {
        if builtin {
            ApiError::unknown_resource()
        } else {
            ApiError::page_not_found()
        }
    };
    let rt = catalog::resolve(&state.store, &target.group, &target.version, &target.plural)
        .ok_or_else(missing)?;
    if target.namespace.is_some() && !rt.namespaced {
        return Err(missing());
    }
    let all_namespaces = rt.namespaced && target.namespace.is_none();
    if all_namespaces && target.name.is_some() {
        return Err(missing());
    }
    let sub = target.subresource.as_deref();
    let known_sub = match sub {
        None => true,
        Some("status") => rt.status,
        Some("finalize") => rt.kind == "Namespace",
        Some(_) => false,
    };
    if !known_sub {
        return Err(missing());
    }
    Ok(Resolved {
        namespace: target.namespace.clone().unwrap_or_default(),
        all_namespaces,
        name: target.name.clone(),
        subresource: target.subresource.clone(),
        rt,
    })
}

/// Handles everything but watches.
pub fn handle(state: &mut State, call: &Call<'_>) -> Result<Reply, ApiError> {
    let resolved = resolve(state, call.target)?;
    let rt = &resolved.rt;
    let verb = match (call.method, resolved.name.is_some()) {
        ("GET", false) => "list",
        ("GET", true) => "get",
        ("POST", false) => "create",
        ("PUT", true) => "update",
        ("PATCH", true) => "patch",
        ("DELETE", true) => "delete",
        ("DELETE", false) => "deletecollection",
        _ => return Err(ApiError::method_not_allowed(rt, call.method)),
    };
    let allowed = match rt.verbs {
        Verbs::All => true,
        Verbs::NoCollection => verb != "deletecollection",
        Verbs::CreateOnly => verb == "create",
    };
    if !allowed {
        return Err(ApiError::method_not_allowed(rt, verb));
    }
    access::check(state, verb, &resolved)?;
    let mut reply = match verb {
        "get" => get(state, &resolved)?,
        "list" => list(state, &resolved, call.query)?,
        _ => writes::handle(state, &resolved, verb, call)?,
    };
    if metadata_only(call.accept) {
        reply.body = partial_metadata(&reply.body);
    }
    Ok(reply)
}

/// Whether the client asked for `PartialObjectMetadata`.
pub fn metadata_only(accept: &str) -> bool {
    accept.contains("as=PartialObjectMetadata")
}

/// An object or list as `PartialObjectMetadata(List)`.
pub fn partial_metadata(body: &Value) -> Value {
    let one = |o: &Value| {
        json!({
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": o.get("metadata").cloned().unwrap_or_else(|| json!({})),
        })
    };
    match body.get("items").and_then(Value::as_array) {
        Some(items) => json!({
            "kind": "PartialObjectMetadataList",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": body.get("metadata").cloned().unwrap_or_else(|| json!({})),
            "items": items.iter().map(one).collect::<Vec<_>>(),
        }),
        None if json::str_at(body, "/kind") == "Status" => body.clone(),
        None => one(body),
    }
}

/// An object as served at the addressed version.
pub fn present(rt: &ResourceType, mut object: Value) -> Value {
    if object.is_object() {
        object["apiVersion"] = rt.api_version().into();
        object["kind"] = rt.kind.clone().into();
    }
    object
}

/// GET of one object.
fn get(state: &State, r: &Resolved) -> Result<Reply, ApiError> {
    let name = r.name.as_deref().unwrap_or_default();
    let object = state
        .store
        .get(&r.rt.group, &r.rt.plural, &r.namespace, name)
        .cloned()
        .ok_or_else(|| ApiError::not_found(&r.rt, name))?;
    Ok(Reply::ok(present(&r.rt, object)))
}

/// The selectors of a list or watch.
pub fn selectors(
    rt: &ResourceType,
    query: &BTreeMap<String, String>,
) -> Result<(LabelSelector, FieldSelector), ApiError> {
    let labels = selectors::parse_labels(query.get("labelSelector").map_or("", String::as_str))?;
    let fields =
        selectors::parse_fields(query.get("fieldSelector").map_or("", String::as_str), rt)?;
    Ok((labels, fields))
}

/// A list with selectors and pages.
fn list(state: &State, r: &Resolved, query: &BTreeMap<String, String>) -> Result<Reply, ApiError> {
    let (labels, fields) = selectors(&r.rt, query)?;
    let start = match query.get("continue").filter(|c| !c.is_empty()) {
        Some(token) => Some(decode_continue(token)?),
        None => None,
    };
    let limit = query
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|l| *l > 0);
    let matching: Vec<&Value> = state
        .store
        .list(&r.rt.group, &r.rt.plural)
        .filter(|o| r.all_namespaces || !r.rt.namespaced || json::namespace(o) == r.namespace)
        .filter(|o| labels.matches(&json::labels(o)) && fields.matches(o))
        .filter(|o| {
            start
                .as_ref()
                .is_none_or(|s| (json::namespace(o), json::name(o)) > (s.0.as_str(), s.1.as_str()))
        })
        .collect();
    let take = limit.unwrap_or(matching.len()).min(matching.len());
    let rv = state.store.rv().to_string();
    let mut metadata = json!({"resourceVersion": rv});
    if take < matching.len() {
        let last = matching[take - 1];
        metadata["continue"] = encode_continue(json::namespace(last), json::name(last), &rv).into();
        metadata["remainingItemCount"] = (matching.len() - take).into();
    }
    let items: Vec<Value> = matching[..take]
        .iter()
        .map(|o| {
            let mut item = present(&r.rt, (*o).clone());
            // Typed lists of built-in kinds carry no apiVersion and kind on their items.
            if !r.rt.custom
                && let Some(map) = item.as_object_mut()
            {
                map.remove("apiVersion");
                map.remove("kind");
            }
            item
        })
        .collect();
    Ok(Reply::ok(json!({
        "kind": format!("{}List", r.rt.kind),
        "apiVersion": r.rt.api_version(),
        "metadata": metadata,
        "items": items,
    })))
}

/// A continue token that resumes after (namespace, name).
fn encode_continue(namespace: &str, name: &str, rv: &str) -> String {
    let token = json!({"v": "meta.k8s.io/v1", "rv": rv, "start": [namespace, name]});
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(token.to_string())
}

/// The (namespace, name) a continue token resumes after.
fn decode_continue(token: &str) -> Result<(String, String), ApiError> {
    let bad =
        || ApiError::bad_request("continue key is not valid: illegal base64 data at input byte 0");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| bad())?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    Ok((
        json::str_at(&value, "/start/0").to_owned(),
        json::str_at(&value, "/start/1").to_owned(),
    ))
}
