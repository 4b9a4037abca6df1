//! DELETE with the registry's semantics: preconditions, finalizers that keep an object
//! (with `deletionTimestamp`) until they are gone, graceful pod deletion, Foreground and
//! Orphan propagation, and the namespace and CRD finalizers their controllers remove.

use serde_json::{Value, json};

use super::admission;
use super::catalog::ResourceType;
use super::json;
use super::registry::{self, Actor};
use super::state::State;
use super::status::ApiError;

/// The CRD finalizer the apiextensions server adds on delete, removed once the custom
/// resources are gone.
pub const CRD_CLEANUP: &str = "customresourcecleanup.apiextensions.k8s.io";

/// The parsed DeleteOptions body (and query).
#[derive(Debug, Clone, Default)]
pub struct DeleteOptions {
    /// `propagationPolicy`: Background (default), Foreground or Orphan.
    pub propagation: Option<String>,
    /// `preconditions.uid`.
    pub uid: Option<String>,
    /// `preconditions.resourceVersion`.
    pub resource_version: Option<String>,
    /// `gracePeriodSeconds`.
    pub grace_period: Option<i64>,
    /// `dryRun: ["All"]`.
    pub dry_run: bool,
}

impl DeleteOptions {
    /// Reads a DeleteOptions body (empty for none).
    pub fn from_body(body: Option<&Value>) -> Self {
        let Some(body) = body else {
            return Self::default();
        };
        let text = |pointer: &str| {
            body.pointer(pointer)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        Self {
            propagation: text("/propagationPolicy").or_else(|| {
                body.get("orphanDependents")
                    .and_then(Value::as_bool)
                    .map(|orphan| if orphan { "Orphan" } else { "Background" }.to_owned())
            }),
            uid: text("/preconditions/uid"),
            resource_version: text("/preconditions/resourceVersion"),
            grace_period: body.get("gracePeriodSeconds").and_then(Value::as_i64),
            dry_run: json::strings(body.get("dryRun")).iter().any(|d| d == "All"),
        }
    }
}

/// What a delete did.
#[derive(Debug)]
pub enum Deleted {
    /// Removed; the last state of the object.
    Gone(Value),
    /// Marked for deletion and kept (finalizers, graceful termination).
    Pending(Value),
}

/// Deletes (namespace, name) of type `rt`.
pub fn delete(
    state: &mut State,
    rt: &ResourceType,
    namespace: &str,
    name: &str,
    options: &DeleteOptions,
    admit: bool,
) -> Result<Deleted, ApiError> {
    let old = state
        .store
        .get(&rt.group, &rt.plural, namespace, name)
        .cloned()
        .ok_or_else(|| ApiError::not_found(rt, name))?;
    check_preconditions(rt, name, &old, options)?;
    if admit {
        admission::webhooks(state, rt, "DELETE", &mut old.clone())?;
    }
    if json::deleting(&old) {
        if rt.kind == "Namespace" && rt.group.is_empty() {
            return Err(ApiError::conflict(
                rt,
                name,
                "The system is ensuring all content is removed from this namespace.  Upon completion, this namespace will automatically be purged by the system.",
            ));
        }
        return Ok(Deleted::Pending(old));
    }
    let mut new = old.clone();
    let mut finalizers = json::strings(old.pointer("/metadata/finalizers"));
    match options.propagation.as_deref() {
        Some("Orphan") if !options.dry_run => orphan(state, json::uid(&old)),
        Some("Foreground") if !finalizers.iter().any(|f| f == "foregroundDeletion") => {
            finalizers.push("foregroundDeletion".to_owned());
        }
        _ => {}
    }
    let graceful_pod = rt.kind == "Pod"
        && rt.group.is_empty()
        && old.pointer("/spec/nodeName").is_some()
        && options.grace_period != Some(0);
    match (rt.group.as_str(), rt.kind.as_str()) {
        ("", "Namespace") => {
            json::set(&mut new, &["status", "phase"], "Terminating".into());
        }
        ("apiextensions.k8s.io", "CustomResourceDefinition")
            if !finalizers.iter().any(|f| f == CRD_CLEANUP) =>
        {
            finalizers.push(CRD_CLEANUP.to_owned());
        }
        _ => {}
    }
    let kept =
        !finalizers.is_empty() || graceful_pod || rt.kind == "Namespace" && rt.group.is_empty();
    if !kept {
        if options.dry_run {
            return Ok(Deleted::Gone(old));
        }
        let gone = state
            .store
            .remove(&rt.group, &rt.plural, namespace, name)
            .unwrap_or(old);
        return Ok(Deleted::Gone(gone));
    }
    if !finalizers.is_empty() {
        json::set(&mut new, &["metadata", "finalizers"], json!(finalizers));
    }
    let grace = if graceful_pod {
        options
            .grace_period
            .unwrap_or_else(|| json::int_at(&old, "/spec/terminationGracePeriodSeconds", 30))
    } else {
        0
    };
    json::set(
        &mut new,
        &["metadata", "deletionTimestamp"],
        json::now().into(),
    );
    json::set(
        &mut new,
        &["metadata", "deletionGracePeriodSeconds"],
        grace.into(),
    );
    if rt.generation {
        let generation = json::int_at(&old, "/metadata/generation", 0) + 1;
        json::set(&mut new, &["metadata", "generation"], generation.into());
    }
    if options.dry_run {
        return Ok(Deleted::Pending(new));
    }
    Ok(Deleted::Pending(
        state.store.put(&rt.group, &rt.plural, new),
    ))
}

/// Removes references to `owner` from its dependents, as the garbage collector does for
/// `propagationPolicy: Orphan`.
fn orphan(state: &mut State, owner: &str) {
    let dependents: Vec<(String, String, Value)> = state
        .store
        .all()
        .filter(|(_, _, o)| {
            json::array(o, "/metadata/ownerReferences")
                .iter()
                .any(|r| json::str_at(r, "/uid") == owner)
        })
        .map(|(g, p, o)| (g.to_owned(), p.to_owned(), o.clone()))
        .collect();
    for (group, plural, object) in dependents {
        let Some(rt) = registry::type_of(state, &group, &plural) else {
            continue;
        };
        let mut new = object.clone();
        if let Some(refs) = new
            .pointer_mut("/metadata/ownerReferences")
            .and_then(Value::as_array_mut)
        {
            refs.retain(|r| json::str_at(r, "/uid") != owner);
            if refs.is_empty() {
                json::remove(&mut new, &["metadata", "ownerReferences"]);
            }
        }
        // A failed orphaning leaves the reference; the owner is deleted either way.
        let _ = registry::update(
            state,
            &rt,
            &object,
            new,
            Actor::controller("kube-controller-manager"),
            None,
            None,
        );
    }
}

/// Removes `finalizer` from an object, completing its deletion when it was the last one.
pub fn remove_finalizer(
    state: &mut State,
    rt: &ResourceType,
    object: &Value,
    finalizer: &str,
    manager: &str,
) {
    let mut new = object.clone();
    let mut finalizers = json::strings(object.pointer("/metadata/finalizers"));
    finalizers.retain(|f| f != finalizer);
    if finalizers.is_empty() {
        json::remove(&mut new, &["metadata", "finalizers"]);
    } else {
        json::set(&mut new, &["metadata", "finalizers"], json!(finalizers));
    }
    // The object may be gone already; nothing is left to finalise then.
    let _ = registry::update(
        state,
        rt,
        object,
        new,
        Actor::controller(manager),
        None,
        None,
    );
}

/// 409 when the object is not the one the client meant (uid) or has changed (resourceVersion).
fn check_preconditions(
    rt: &ResourceType,
    name: &str,
    old: &Value,
    options: &DeleteOptions,
) -> Result<(), ApiError> {
    if let Some(uid) = &options.uid
        && uid != json::uid(old)
    {
        let why = format!(
            "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
            json::uid(old)
        );
        return Err(ApiError::conflict(rt, name, &why));
    }
    if let Some(rv) = &options.resource_version {
        let actual = json::str_at(old, "/metadata/resourceVersion");
        if rv != actual {
            let why = format!(
                "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {actual}"
            );
            return Err(ApiError::conflict(rt, name, &why));
        }
    }
    Ok(())
}
