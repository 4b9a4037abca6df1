//! Direct access to the server's objects from test code, without HTTP: reads, and writes as
//! another field manager would make them (foreign objects, conflicts, status).

use serde_json::Value;

use super::deletion::{self, DeleteOptions};
use super::registry::{self, Actor};
use super::state::State;
use super::status::ApiError;
use super::{ApiServer, View, catalog, json, patch, validation};

impl ApiServer {
    /// The stored object, as JSON.
    pub fn get(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<Value> {
        let state = self.shared.lock();
        View::new(&state)
            .get(api_version, kind, namespace, name)
            .cloned()
    }

    /// Every stored object of every kind.
    pub fn objects(&self) -> Vec<Value> {
        self.shared
            .lock()
            .store
            .all()
            .map(|(_, _, o)| o.clone())
            .collect()
    }

    /// Every stored object of `kind` in `api_version`.
    pub fn list(&self, api_version: &str, kind: &str) -> Vec<Value> {
        let state = self.shared.lock();
        View::new(&state)
            .list(api_version, kind)
            .into_iter()
            .cloned()
            .collect()
    }

    /// The latest resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.shared.lock().store.rv()
    }

    /// Server-side apply (with `force`) as `field_manager`; returns the object.
    #[allow(clippy::panic)] // A refused write in a test's set-up is a failed test.
    pub fn apply_as(&self, field_manager: &str, object: Value) -> Value {
        self.try_apply_as(field_manager, object, true)
            .unwrap_or_else(|status| panic!("apply as {field_manager} failed: {status}"))
    }

    /// Server-side apply as `field_manager`; `Err` is the Status body a client would get.
    pub fn try_apply_as(
        &self,
        field_manager: &str,
        object: Value,
        force: bool,
    ) -> Result<Value, Value> {
        self.shared
            .with(|state| {
                let (rt, mut config) = target(state, object)?;
                let namespace = json::namespace(&config).to_owned();
                validation::check_body(&rt, &mut config, &namespace, None, true)?;
                let actor = Actor {
                    manager: field_manager,
                    dry_run: false,
                    admit: true,
                };
                Ok(registry::apply(state, &rt, &config, actor, None, force)?.object)
            })
            .map_err(|e: ApiError| e.body())
    }

    /// An Update as `field_manager` (like `kubectl edit` or a controller): `object`'s fields
    /// are merged into the stored object (JSON merge patch), which is created if missing.
    #[allow(clippy::panic)] // As for `apply_as`.
    pub fn update_as(&self, field_manager: &str, object: Value) -> Value {
        self.update(field_manager, object, None)
            .unwrap_or_else(|status| panic!("update as {field_manager} failed: {status}"))
    }

    /// Like `update_as`, through the status subresource (only `status` is taken).
    #[allow(clippy::panic)] // As for `apply_as`.
    pub fn update_status_as(&self, field_manager: &str, object: Value) -> Value {
        self.update(field_manager, object, Some("status"))
            .unwrap_or_else(|status| panic!("status update as {field_manager} failed: {status}"))
    }

    /// An Update as `field_manager`: a merge of `object` into the stored one, or a create.
    fn update(
        &self,
        field_manager: &str,
        object: Value,
        sub: Option<&str>,
    ) -> Result<Value, Value> {
        self.shared
            .with(|state| {
                let (rt, mut body) = target(state, object)?;
                let namespace = json::namespace(&body).to_owned();
                validation::check_body(&rt, &mut body, &namespace, None, false)?;
                let actor = Actor {
                    manager: field_manager,
                    dry_run: false,
                    admit: true,
                };
                let stored = state
                    .store
                    .get(&rt.group, &rt.plural, &namespace, json::name(&body))
                    .cloned();
                match stored {
                    None if sub.is_none() => registry::create(state, &rt, body, actor),
                    None => Err(ApiError::not_found(&rt, json::name(&body))),
                    Some(old) => {
                        let mut new = old.clone();
                        patch::merge(&mut new, &body);
                        registry::update(state, &rt, &old, new, actor, sub, None)
                    }
                }
            })
            .map_err(|e: ApiError| e.body())
    }

    /// Deletes an object (Background propagation), as a client's DELETE would.
    pub fn delete(&self, api_version: &str, kind: &str, namespace: Option<&str>, name: &str) {
        self.shared.with(|state| {
            if let Some(rt) = catalog::by_kind(&state.store, api_version, kind) {
                let namespace = if rt.namespaced {
                    namespace.unwrap_or("default")
                } else {
                    ""
                };
                let _ = deletion::delete(
                    state,
                    &rt,
                    namespace,
                    name,
                    &DeleteOptions::default(),
                    false,
                );
            }
        });
    }
}

/// The type of `object` (by apiVersion and kind) and the object, with a namespace set for
/// namespaced kinds.
fn target(state: &State, mut object: Value) -> Result<(catalog::ResourceType, Value), ApiError> {
    let api_version = json::str_at(&object, "/apiVersion").to_owned();
    let kind = json::str_at(&object, "/kind").to_owned();
    let rt = catalog::by_kind(&state.store, &api_version, &kind)
        .ok_or_else(ApiError::unknown_resource)?;
    if rt.namespaced && json::namespace(&object).is_empty() {
        json::set(&mut object, &["metadata", "namespace"], "default".into());
    }
    Ok((rt, object))
}
