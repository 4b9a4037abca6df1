//! Write verbs: create (POST), update (PUT), the four patch types (server-side apply among
//! them), delete and deletecollection, with their query options.

use serde_json::{Value, json};

use super::access;
use super::deletion::{self, DeleteOptions, Deleted};
use super::handlers::{self, Call, Reply, Resolved};
use super::json;
use super::patch;
use super::registry::{self, Actor};
use super::state::State;
use super::status::{self, ApiError, Cause};
use super::validation;

/// The field manager: `fieldManager`, or the User-Agent's product as the server derives it.
fn manager<'a>(call: &'a Call<'_>) -> &'a str {
    match call.query.get("fieldManager") {
        Some(m) if !m.is_empty() => m,
        _ => match call.user_agent.split('/').next() {
            Some(product) if !product.is_empty() => product,
            _ => "unknown",
        },
    }
}

/// `dryRun=All`.
fn dry_run(call: &Call<'_>) -> bool {
    call.query.get("dryRun").is_some_and(|d| d == "All")
}

/// The body, required.
fn body(call: &Call<'_>) -> Result<Value, ApiError> {
    call.body
        .cloned()
        .ok_or_else(|| ApiError::bad_request("the body of the request is empty"))
}

/// 422 for invalid patch options, as `ValidatePatchOptions` reports them.
fn invalid_patch_options(reason: &str, message: &str, field: &str) -> ApiError {
    ApiError::invalid(
        "meta.k8s.io",
        "PatchOptions",
        "",
        &[Cause::new(reason, message, field)],
    )
}

/// Handles a write verb.
pub fn handle(
    state: &mut State,
    r: &Resolved,
    verb: &str,
    call: &Call<'_>,
) -> Result<Reply, ApiError> {
    let actor = Actor {
        manager: manager(call),
        dry_run: dry_run(call),
        admit: true,
    };
    match verb {
        "create" => create(state, r, call, actor),
        "update" => update(state, r, call, actor),
        "patch" => patch(state, r, call, actor),
        "delete" => delete(state, r, call),
        _ => delete_collection(state, r, call),
    }
}

/// POST.
fn create(
    state: &mut State,
    r: &Resolved,
    call: &Call<'_>,
    actor: Actor<'_>,
) -> Result<Reply, ApiError> {
    let mut object = body(call)?;
    validation::check_body(&r.rt, &mut object, &r.namespace, None, false)?;
    if r.rt.kind == "SelfSubjectAccessReview" {
        object["metadata"] = json!({"creationTimestamp": null});
        object["status"] = access::review(state, &object);
        return Ok(Reply {
            code: 201,
            body: object,
            warnings: Vec::new(),
        });
    }
    let generate = json::str_at(&object, "/metadata/generateName").to_owned();
    if json::name(&object).is_empty() && !generate.is_empty() {
        let suffix = suffix(state.store.next_random());
        json::set(
            &mut object,
            &["metadata", "name"],
            format!("{generate}{suffix}").into(),
        );
    }
    let created = registry::create(state, &r.rt, object, actor)?;
    Ok(Reply {
        code: 201,
        body: handlers::present(&r.rt, created),
        warnings: Vec::new(),
    })
}

/// Five characters from the alphabet Kubernetes uses for generated names.
pub fn suffix(mut n: u64) -> String {
    /// No vowels (no words) and no confusable characters.
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut out = String::new();
    for _ in 0..5 {
        out.push(char::from(ALPHABET[(n % 27) as usize]));
        n /= 27;
    }
    out
}

/// The addressed object, or 404.
fn stored(state: &State, r: &Resolved) -> Result<Value, ApiError> {
    let name = r.name.as_deref().unwrap_or_default();
    state
        .store
        .get(&r.rt.group, &r.rt.plural, &r.namespace, name)
        .cloned()
        .ok_or_else(|| ApiError::not_found(&r.rt, name))
}

/// PUT, with the body's resourceVersion as precondition.
fn update(
    state: &mut State,
    r: &Resolved,
    call: &Call<'_>,
    actor: Actor<'_>,
) -> Result<Reply, ApiError> {
    let mut object = body(call)?;
    validation::check_body(&r.rt, &mut object, &r.namespace, r.name.as_deref(), false)?;
    let old = stored(state, r)?;
    let precondition = json::str_at(&object, "/metadata/resourceVersion").to_owned();
    if r.subresource.as_deref() == Some("finalize") {
        let mut new = old.clone();
        new["spec"]["finalizers"] = object
            .pointer("/spec/finalizers")
            .cloned()
            .unwrap_or_else(|| json!([]));
        object = new;
    }
    let sub = r.subresource.as_deref().filter(|s| *s == "status");
    let updated = registry::update(state, &r.rt, &old, object, actor, sub, Some(&precondition))?;
    Ok(Reply::ok(handlers::present(&r.rt, updated)))
}

/// PATCH: apply, merge, strategic merge or JSON patch.
fn patch(
    state: &mut State,
    r: &Resolved,
    call: &Call<'_>,
    actor: Actor<'_>,
) -> Result<Reply, ApiError> {
    let content_type = call
        .content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim();
    let body = body(call)?;
    let sub = r.subresource.as_deref().filter(|s| *s == "status");
    let force = call.query.get("force").map(String::as_str);
    if content_type == "application/apply-patch+yaml" {
        if call.query.get("fieldManager").is_none_or(String::is_empty) {
            return Err(invalid_patch_options(
                "FieldValueRequired",
                "Required value: is required for apply patch",
                "fieldManager",
            ));
        }
        let mut config = body;
        validation::check_body(&r.rt, &mut config, &r.namespace, r.name.as_deref(), true)?;
        if stored(state, r).is_err() {
            // An apply that creates needs `create` as well as `patch`, as the patch handler checks.
            access::check(state, "create", r)?;
        }
        let applied = registry::apply(state, &r.rt, &config, actor, sub, force == Some("true"))?;
        let code = if applied.created { 201 } else { 200 };
        return Ok(Reply {
            code,
            body: handlers::present(&r.rt, applied.object),
            warnings: Vec::new(),
        });
    }
    if force.is_some() {
        return Err(invalid_patch_options(
            "FieldValueForbidden",
            "Forbidden: may not be specified for non-apply patch",
            "force",
        ));
    }
    let old = stored(state, r)?;
    let mut new = old.clone();
    match content_type {
        "application/merge-patch+json" | "application/strategic-merge-patch+json" => {
            patch::merge(&mut new, &body);
        }
        "application/json-patch+json" => patch::json_patch(&mut new, &body)?,
        other => return Err(ApiError::unsupported_media_type(other)),
    }
    validation::check_body(&r.rt, &mut new, &r.namespace, r.name.as_deref(), false)?;
    let precondition = body
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str);
    let updated = registry::update(state, &r.rt, &old, new, actor, sub, precondition)?;
    Ok(Reply::ok(handlers::present(&r.rt, updated)))
}

/// DeleteOptions from the body, with query parameters on top.
fn delete_options(call: &Call<'_>) -> DeleteOptions {
    let mut options = DeleteOptions::from_body(call.body);
    options.dry_run |= dry_run(call);
    if let Some(policy) = call.query.get("propagationPolicy") {
        options.propagation = Some(policy.clone());
    }
    if let Some(grace) = call
        .query
        .get("gracePeriodSeconds")
        .and_then(|g| g.parse().ok())
    {
        options.grace_period = Some(grace);
    }
    options
}

/// DELETE of one object.
fn delete(state: &mut State, r: &Resolved, call: &Call<'_>) -> Result<Reply, ApiError> {
    let name = r.name.as_deref().unwrap_or_default();
    let options = delete_options(call);
    let body = match deletion::delete(state, &r.rt, &r.namespace, name, &options, true)? {
        Deleted::Gone(object) if r.rt.kind != "Pod" => {
            status::success(&r.rt, name, json::uid(&object))
        }
        Deleted::Gone(object) | Deleted::Pending(object) => handlers::present(&r.rt, object),
    };
    Ok(Reply::ok(body))
}

/// DELETE of a collection, with selectors.
fn delete_collection(state: &mut State, r: &Resolved, call: &Call<'_>) -> Result<Reply, ApiError> {
    let (labels, fields) = handlers::selectors(&r.rt, call.query)?;
    let options = delete_options(call);
    let names: Vec<(String, String)> = state
        .store
        .list(&r.rt.group, &r.rt.plural)
        .filter(|o| r.all_namespaces || !r.rt.namespaced || json::namespace(o) == r.namespace)
        .filter(|o| labels.matches(&json::labels(o)) && fields.matches(o))
        .map(|o| (json::namespace(o).to_owned(), json::name(o).to_owned()))
        .collect();
    let mut items = Vec::new();
    for (namespace, name) in names {
        match deletion::delete(state, &r.rt, &namespace, &name, &options, true) {
            Ok(Deleted::Gone(object) | Deleted::Pending(object)) => {
                items.push(handlers::present(&r.rt, object));
            }
            Err(e) if e.code == 404 => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Reply::ok(json!({
        "kind": format!("{}List", r.rt.kind),
        "apiVersion": r.rt.api_version(),
        "metadata": {"resourceVersion": state.store.rv().to_string()},
        "items": items,
    })))
}
