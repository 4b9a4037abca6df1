//! What changed since the last pass, read from the store's change log, so that a pass runs
//! only the controllers that care, on the objects that need it.

use std::collections::HashSet;

use serde_json::Value;

use super::super::json;
use super::super::state::State;
use super::super::store::Change;

/// What changed since the last pass, so that a pass runs only the controllers that care,
/// on the objects that need it.
pub struct Changes {
    /// Whether anything may have changed (a timer fired, a knob moved, the log was compacted).
    pub everything: bool,
    /// The (group, plural) types with changes.
    pub types: HashSet<(String, String)>,
    /// The uids of changed objects.
    pub uids: HashSet<String>,
    /// The uids of the controllers of changed objects.
    owners: HashSet<String>,
    /// The namespaces of changed pods.
    pod_namespaces: HashSet<String>,
    /// Whether something was deleted or marked for deletion.
    pub deletions: bool,
}

impl Changes {
    /// Everything may have changed (a timer fired, a knob moved, the log was compacted).
    pub fn everything() -> Self {
        Self {
            everything: true,
            types: HashSet::new(),
            uids: HashSet::new(),
            owners: HashSet::new(),
            pod_namespaces: HashSet::new(),
            deletions: true,
        }
    }

    /// The changes logged after `rv`.
    pub fn since(state: &State, rv: u64) -> Self {
        let Ok(events) = state.store.events_after(rv) else {
            return Self::everything();
        };
        let mut changes = Self {
            everything: false,
            deletions: false,
            ..Self::everything()
        };
        for event in events {
            changes
                .types
                .insert((event.group.clone(), event.plural.clone()));
            changes.uids.insert(json::uid(&event.object).to_owned());
            if let Some((_, _, owner)) = json::controller_of(&event.object) {
                changes.owners.insert(owner.to_owned());
            }
            if event.group.is_empty() && event.plural == "pods" {
                changes
                    .pod_namespaces
                    .insert(json::namespace(&event.object).to_owned());
            }
            changes.deletions |= event.change == Change::Deleted || json::deleting(&event.object);
        }
        changes
    }

    /// Whether objects of any of these (group, plural) types changed.
    pub fn any(&self, types: &[(&str, &str)]) -> bool {
        self.everything
            || types
                .iter()
                .any(|(g, p)| self.types.contains(&((*g).to_owned(), (*p).to_owned())))
    }

    /// Whether `object` changed, or something it controls did.
    pub fn touches(&self, object: &Value) -> bool {
        let uid = json::uid(object);
        self.everything || self.uids.contains(uid) || self.owners.contains(uid)
    }

    /// Whether pods in `namespace` changed.
    pub fn pods_in(&self, namespace: &str) -> bool {
        self.everything || self.pod_namespaces.contains(namespace)
    }
}
