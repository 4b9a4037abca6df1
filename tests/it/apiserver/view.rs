//! Read access to the server's objects and journal from inside `wait_until`.

use serde_json::Value;

use super::catalog;
use super::journal::Request;
use super::state::State;

/// The state as a `wait_until` predicate sees it.
pub struct View<'a> {
    /// The locked state.
    state: &'a State,
}

impl<'a> View<'a> {
    /// A view of `state`.
    pub(super) fn new(state: &'a State) -> Self {
        Self { state }
    }

    /// The stored object of `kind` in `api_version`, if any.
    pub fn get(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<&'a Value> {
        let rt = catalog::by_kind(&self.state.store, api_version, kind)?;
        let namespace = if rt.namespaced {
            namespace.unwrap_or("default")
        } else {
            ""
        };
        self.state.store.get(&rt.group, &rt.plural, namespace, name)
    }

    /// Every stored object of `kind` in `api_version` (all namespaces).
    pub fn list(&self, api_version: &str, kind: &str) -> Vec<&'a Value> {
        match catalog::by_kind(&self.state.store, api_version, kind) {
            Some(rt) => self.state.store.list(&rt.group, &rt.plural).collect(),
            None => Vec::new(),
        }
    }

    /// Every stored object.
    pub fn objects(&self) -> impl Iterator<Item = &'a Value> + 'a {
        self.state.store.all().map(|(_, _, o)| o)
    }

    /// The requests so far, in arrival order.
    pub fn journal(&self) -> &'a [Request] {
        &self.state.journal
    }

    /// The latest resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.state.store.rv()
    }
}
