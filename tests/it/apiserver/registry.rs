//! Writes with the generic registry's semantics: server-set metadata, status handled by its
//! subresource, generation bumps, managed fields, no-op detection (an unchanged object keeps
//! its resourceVersion and makes no watch event), dry runs, and deletion with finalizers.

use serde_json::Value;

use super::admission;
use super::apply;
use super::catalog::{self, ResourceType};
use super::defaults;
use super::fields::Scope;
use super::immutability;
use super::json;
use super::managed::{self, Entry};
use super::metadata;
use super::state::State;
use super::status::ApiError;
use super::validation;

/// Who writes and how.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    /// The field manager.
    pub manager: &'a str,
    /// `dryRun=All`: compute the answer, store nothing.
    pub dry_run: bool,
    /// Whether admission (namespace lifecycle, webhooks) runs: true for client requests.
    pub admit: bool,
}

impl<'a> Actor<'a> {
    /// A simulated controller: no admission besides pod creation, never a dry run.
    pub fn controller(manager: &'a str) -> Self {
        Self {
            manager,
            dry_run: false,
            admit: false,
        }
    }
}

/// The fields a write to `subresource` covers.
fn scope(rt: &ResourceType, subresource: Option<&str>) -> Scope {
    match subresource {
        Some(_) => Scope::Status,
        None if rt.status => Scope::NoStatus,
        None => Scope::All,
    }
}

/// The type of stored objects of (group, plural), served or not.
pub fn type_of(state: &State, group: &str, plural: &str) -> Option<ResourceType> {
    catalog::by_plural(&state.store, group, plural)
}

/// Creates an object (POST).
pub fn create(
    state: &mut State,
    rt: &ResourceType,
    mut object: Value,
    actor: Actor<'_>,
) -> Result<Value, ApiError> {
    admission::namespace_lifecycle(state, rt, &object)?;
    validation::check_name(rt, &object)?;
    let (namespace, name) = (
        json::namespace(&object).to_owned(),
        json::name(&object).to_owned(),
    );
    if state
        .store
        .get(&rt.group, &rt.plural, &namespace, &name)
        .is_some()
    {
        return Err(ApiError::already_exists(rt, &name));
    }
    if actor.admit || rt.kind == "Pod" {
        admission::webhooks(state, rt, "CREATE", &mut object)?;
    }
    metadata::prepare_new(state, rt, &mut object);
    if rt.status {
        json::remove(&mut object, &["status"]);
    }
    defaults::apply(rt, &mut object, None, &state.store);
    let entry = Entry::new(actor.manager, "Update", &rt.api_version(), "");
    managed::record_update(None, &mut object, entry, scope(rt, None));
    if actor.dry_run {
        return Ok(object);
    }
    Ok(state.store.put(&rt.group, &rt.plural, object))
}

/// Replaces an object with `new` as an Update by the actor (PUT, merge patch, controllers).
/// `precondition` is the resourceVersion the client based its change on, if any.
pub fn update(
    state: &mut State,
    rt: &ResourceType,
    old: &Value,
    mut new: Value,
    actor: Actor<'_>,
    subresource: Option<&str>,
    precondition: Option<&str>,
) -> Result<Value, ApiError> {
    let name = json::name(old).to_owned();
    if let Some(rv) = precondition.filter(|rv| !rv.is_empty())
        && rv != json::str_at(old, "/metadata/resourceVersion")
    {
        return Err(ApiError::modified(rt, &name));
    }
    match scope(rt, subresource) {
        Scope::Status => {
            let status = new.get("status").cloned();
            new = old.clone();
            match status {
                Some(status) => new["status"] = status,
                None => {
                    json::remove(&mut new, &["status"]);
                }
            }
        }
        Scope::NoStatus => match old.get("status") {
            Some(status) => new["status"] = status.clone(),
            None => {
                json::remove(&mut new, &["status"]);
            }
        },
        Scope::All => {}
    }
    metadata::keep_server_metadata(old, &mut new);
    if actor.admit && subresource.is_none() {
        admission::webhooks(state, rt, "UPDATE", &mut new)?;
    }
    defaults::apply(rt, &mut new, Some(old), &state.store);
    immutability::check(rt, old, &new)?;
    let entry = Entry::new(
        actor.manager,
        "Update",
        &rt.api_version(),
        subresource.unwrap_or(""),
    );
    managed::record_update(Some(old), &mut new, entry, scope(rt, subresource));
    Ok(commit(state, rt, old, new, actor.dry_run))
}

/// Stores `new` in place of `old` unless nothing changed; finishes a deletion whose last
/// finalizer is gone.
fn commit(
    state: &mut State,
    rt: &ResourceType,
    old: &Value,
    mut new: Value,
    dry_run: bool,
) -> Value {
    if rt.generation && metadata::spec_of(old) != metadata::spec_of(&new) {
        let generation = json::int_at(old, "/metadata/generation", 0) + 1;
        json::set(&mut new, &["metadata", "generation"], generation.into());
    }
    if new == *old {
        return old.clone();
    }
    let finished = json::deleting(&new)
        && json::array(&new, "/metadata/finalizers").is_empty()
        && (rt.kind != "Namespace" || json::array(&new, "/spec/finalizers").is_empty());
    if dry_run {
        return new;
    }
    if finished {
        // As the registry does: the update that removes the last finalizer deletes.
        return state.store.remove_as(&rt.group, &rt.plural, new);
    }
    state.store.put(&rt.group, &rt.plural, new)
}

/// The outcome of an apply: the object and whether it was created.
pub struct Applied {
    /// The object after the apply (unchanged when it was a no-op).
    pub object: Value,
    /// Whether the apply created it (201).
    pub created: bool,
}

/// Server-side apply of `config` to (namespace, name).
pub fn apply(
    state: &mut State,
    rt: &ResourceType,
    config: &Value,
    actor: Actor<'_>,
    subresource: Option<&str>,
    force: bool,
) -> Result<Applied, ApiError> {
    let (namespace, name) = (
        json::namespace(config).to_owned(),
        json::name(config).to_owned(),
    );
    if config.pointer("/metadata/managedFields").is_some() {
        return Err(ApiError::bad_request("metadata.managedFields must be nil"));
    }
    let live = state
        .store
        .get(&rt.group, &rt.plural, &namespace, &name)
        .cloned();
    if let Some(rv) = config
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        && live
            .as_ref()
            .is_none_or(|l| json::str_at(l, "/metadata/resourceVersion") != rv)
    {
        return Err(ApiError::modified(rt, &name));
    }
    if live.is_none() {
        if subresource.is_some() {
            return Err(ApiError::not_found(rt, &name));
        }
        admission::namespace_lifecycle(state, rt, config)?;
        validation::check_name(rt, config)?;
    }
    let entry = Entry::new(
        actor.manager,
        "Apply",
        &rt.api_version(),
        subresource.unwrap_or(""),
    );
    let request = apply::Request {
        live: live.as_ref(),
        config,
        actor: entry,
        scope: scope(rt, subresource),
        force,
    };
    let store = &state.store;
    let mut merged = apply::apply(request, &mut |object| {
        defaults::apply(rt, object, live.as_ref(), store);
    })?;
    let Some(old) = live else {
        if actor.admit || rt.kind == "Pod" {
            admission::webhooks(state, rt, "CREATE", &mut merged)?;
        }
        metadata::prepare_new(state, rt, &mut merged);
        let object = if actor.dry_run {
            merged
        } else {
            state.store.put(&rt.group, &rt.plural, merged)
        };
        return Ok(Applied {
            object,
            created: true,
        });
    };
    immutability::check(rt, &old, &merged)?;
    if actor.admit && subresource.is_none() {
        admission::webhooks(state, rt, "UPDATE", &mut merged)?;
    }
    let object = commit(state, rt, &old, merged, actor.dry_run);
    Ok(Applied {
        object,
        created: false,
    })
}
