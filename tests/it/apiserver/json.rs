//! Small accessors for objects held as JSON, so that handlers and controllers read
//! `metadata.name` or a condition without repeating the same chains of `get`.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// The string at a JSON pointer, or "".
pub fn str_at<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// `metadata.name`.
pub fn name(value: &Value) -> &str {
    str_at(value, "/metadata/name")
}

/// `metadata.namespace`, or "" for cluster-scoped objects.
pub fn namespace(value: &Value) -> &str {
    str_at(value, "/metadata/namespace")
}

/// `metadata.uid`.
pub fn uid(value: &Value) -> &str {
    str_at(value, "/metadata/uid")
}

/// A string map such as labels, or an empty one.
pub fn string_map(value: Option<&Value>) -> BTreeMap<String, String> {
    value
        .and_then(Value::as_object)
        .map(|map| {
            map.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

/// `metadata.labels`.
pub fn labels(value: &Value) -> BTreeMap<String, String> {
    string_map(value.pointer("/metadata/labels"))
}

/// `metadata.annotations`.
pub fn annotations(value: &Value) -> BTreeMap<String, String> {
    string_map(value.pointer("/metadata/annotations"))
}

/// A list of strings, or an empty one.
pub fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The array at a pointer, or an empty slice.
pub fn array<'a>(value: &'a Value, pointer: &str) -> &'a [Value] {
    value
        .pointer(pointer)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// Whether `status.conditions` has `type` with status "True".
pub fn condition_true(value: &Value, kind: &str) -> bool {
    condition(value, kind).is_some_and(|c| str_at(c, "/status") == "True")
}

/// The condition of type `kind` in `status.conditions`.
pub fn condition<'a>(value: &'a Value, kind: &str) -> Option<&'a Value> {
    array(value, "/status/conditions")
        .iter()
        .find(|c| str_at(c, "/type") == kind)
}

/// The object at `path` under `value`, created (and objects forced) along the way.
pub fn entry<'a>(value: &'a mut Value, path: &[&str]) -> &'a mut Value {
    let mut current = value;
    for key in path {
        if !current.is_object() {
            *current = Value::Object(Map::new());
        }
        // Indexing an object by a missing key inserts null there.
        current = &mut current[*key];
    }
    current
}

/// Sets `path` under `value`, creating objects along the way.
pub fn set(value: &mut Value, path: &[&str], new: Value) {
    *entry(value, path) = new;
}

/// Removes the key at `path`, if there.
pub fn remove(value: &mut Value, path: &[&str]) -> Option<Value> {
    let (last, parents) = path.split_last()?;
    let mut current = value;
    for key in parents {
        current = current.get_mut(*key)?;
    }
    current.as_object_mut()?.remove(*last)
}

/// The current time as the API server prints it (RFC 3339, whole seconds, UTC).
pub fn now() -> String {
    k8s_openapi::jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Whether `metadata.deletionTimestamp` is set.
pub fn deleting(value: &Value) -> bool {
    value.pointer("/metadata/deletionTimestamp").is_some()
}

/// The owner reference that is the controller, as (kind, name, uid).
pub fn controller_of(value: &Value) -> Option<(&str, &str, &str)> {
    array(value, "/metadata/ownerReferences")
        .iter()
        .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
        .map(|r| (str_at(r, "/kind"), str_at(r, "/name"), str_at(r, "/uid")))
}

/// Whether `value` is controlled by the object with uid `owner`.
pub fn controlled_by(value: &Value, owner: &str) -> bool {
    controller_of(value).is_some_and(|(_, _, uid)| uid == owner)
}

/// An i64 at a pointer, or `default`.
pub fn int_at(value: &Value, pointer: &str, default: i64) -> i64 {
    value
        .pointer(pointer)
        .and_then(Value::as_i64)
        .unwrap_or(default)
}
