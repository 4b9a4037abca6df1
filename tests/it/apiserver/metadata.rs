//! Metadata the server owns: what it sets on a new object, what clients cannot change, and
//! which part of an object counts towards `generation`.

use serde_json::Value;

use super::catalog::ResourceType;
use super::json;
use super::state::State;

/// Sets what the server sets on a new object.
pub fn prepare_new(state: &mut State, rt: &ResourceType, object: &mut Value) {
    let uid = state.store.new_uid();
    let meta = json::entry(object, &["metadata"]);
    if let Some(meta) = meta.as_object_mut() {
        for key in [
            "resourceVersion",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "selfLink",
        ] {
            meta.remove(key);
        }
        meta.insert("uid".into(), uid.into());
        meta.insert("creationTimestamp".into(), json::now().into());
        if rt.generation {
            meta.insert("generation".into(), 1.into());
        } else {
            meta.remove("generation");
        }
    }
}

/// Copies what clients cannot change from the stored object.
pub fn keep_server_metadata(old: &Value, new: &mut Value) {
    for key in [
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "generation",
        "managedFields",
    ] {
        match old.pointer(&format!("/metadata/{key}")) {
            Some(value) => json::set(new, &["metadata", key], value.clone()),
            None => {
                json::remove(new, &["metadata", key]);
            }
        }
    }
    json::set(
        new,
        &["metadata", "resourceVersion"],
        old["metadata"]["resourceVersion"].clone(),
    );
}

/// Everything outside metadata and status, which is what bumps `generation`.
pub fn spec_of(object: &Value) -> Value {
    let mut rest = object.clone();
    if let Some(map) = rest.as_object_mut() {
        for key in ["metadata", "status", "apiVersion", "kind"] {
            map.remove(key);
        }
    }
    rest
}
