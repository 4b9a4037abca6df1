//! The garbage collector: deletes objects whose owners are all gone (Background), deletes
//! the dependents of owners in Foreground deletion and then lets the owner go.

use std::collections::HashMap;

use serde_json::Value;

use super::super::deletion;
use super::super::json;
use super::super::registry;
use super::super::state::State;
use super::{KCM, delete};

/// One pass of the collector.
pub fn reconcile(state: &mut State) {
    let all: Vec<(String, String, Value)> = state
        .store
        .all()
        .map(|(g, p, o)| (g.to_owned(), p.to_owned(), o.clone()))
        .collect();
    let by_uid: HashMap<&str, &Value> = all.iter().map(|(_, _, o)| (json::uid(o), o)).collect();
    let foreground = |o: &Value| {
        json::deleting(o)
            && json::strings(o.pointer("/metadata/finalizers"))
                .iter()
                .any(|f| f == "foregroundDeletion")
    };
    for (group, plural, object) in &all {
        let refs = json::array(object, "/metadata/ownerReferences");
        if refs.is_empty() || json::deleting(object) {
            continue;
        }
        let owners: Vec<Option<&&Value>> = refs
            .iter()
            .map(|r| by_uid.get(json::str_at(r, "/uid")))
            .collect();
        let orphaned = owners.iter().all(Option::is_none);
        let cascading = owners.iter().flatten().any(|o| foreground(o));
        if orphaned || cascading {
            delete(
                state,
                group,
                plural,
                json::namespace(object),
                json::name(object),
            );
        }
    }
    for (group, plural, object) in &all {
        if !foreground(object) {
            continue;
        }
        let uid = json::uid(object);
        let dependents_left = state.store.all().any(|(_, _, o)| {
            json::array(o, "/metadata/ownerReferences")
                .iter()
                .any(|r| json::str_at(r, "/uid") == uid)
        });
        if dependents_left {
            continue;
        }
        if let (Some(rt), Some(current)) = (
            registry::type_of(state, group, plural),
            state
                .store
                .get(group, plural, json::namespace(object), json::name(object))
                .cloned(),
        ) {
            deletion::remove_finalizer(state, &rt, &current, "foregroundDeletion", KCM);
        }
    }
}
