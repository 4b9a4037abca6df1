//! The garbage collector: deletes objects whose owners are all gone (Background), deletes
//! the dependents of owners in Foreground deletion and then lets the owner go.

use std::collections::HashSet;

use serde_json::Value;

use super::super::deletion;
use super::super::json;
use super::super::registry;
use super::super::state::State;
use super::{KCM, delete};

/// Whether an object is being deleted in the foreground.
fn foreground(object: &Value) -> bool {
    json::deleting(object)
        && json::strings(object.pointer("/metadata/finalizers"))
            .iter()
            .any(|f| f == "foregroundDeletion")
}

/// (group, plural, namespace, name) of an object.
type Key = (String, String, String, String);

/// The key of `object`.
fn key(group: &str, plural: &str, object: &Value) -> Key {
    (
        group.to_owned(),
        plural.to_owned(),
        json::namespace(object).to_owned(),
        json::name(object).to_owned(),
    )
}

/// One pass of the collector.
pub fn reconcile(state: &mut State) {
    let uids: HashSet<String> = state
        .store
        .all()
        .map(|(_, _, o)| json::uid(o).to_owned())
        .collect();
    let cascading: HashSet<String> = state
        .store
        .all()
        .filter(|(_, _, o)| foreground(o))
        .map(|(_, _, o)| json::uid(o).to_owned())
        .collect();
    let owners_of = |o: &Value| -> Vec<String> {
        json::array(o, "/metadata/ownerReferences")
            .iter()
            .map(|r| json::str_at(r, "/uid").to_owned())
            .collect()
    };
    let mut doomed: Vec<Key> = Vec::new();
    let mut referenced: HashSet<String> = HashSet::new();
    for (group, plural, object) in state.store.all() {
        let owners = owners_of(object);
        referenced.extend(owners.iter().cloned());
        if owners.is_empty() || json::deleting(object) {
            continue;
        }
        let orphaned = owners.iter().all(|uid| !uids.contains(uid));
        if orphaned || owners.iter().any(|uid| cascading.contains(uid)) {
            doomed.push(key(group, plural, object));
        }
    }
    let finished: Vec<Key> = state
        .store
        .all()
        .filter(|(_, _, o)| foreground(o) && !referenced.contains(json::uid(o)))
        .map(|(g, p, o)| key(g, p, o))
        .collect();
    for (group, plural, namespace, name) in doomed {
        delete(state, &group, &plural, &namespace, &name);
    }
    for (group, plural, namespace, name) in finished {
        let current = state.store.get(&group, &plural, &namespace, &name).cloned();
        if let (Some(rt), Some(current)) = (registry::type_of(state, &group, &plural), current) {
            deletion::remove_finalizer(state, &rt, &current, "foregroundDeletion", KCM);
        }
    }
}
