//! Small readers over API objects held as JSON.

use serde_json::Value;

use super::CniObjects;

/// `metadata.name`.
pub(super) fn name_of(object: &Value) -> Option<&str> {
    object.pointer("/metadata/name").and_then(Value::as_str)
}

/// `metadata.namespace`.
pub(super) fn namespace_of(object: &Value) -> Option<&str> {
    object
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
}

/// Whether `ds` is in `namespace` and named `prefix` or `prefix-<suffix>`.
pub(super) fn daemon_set(ds: &Value, namespace: &str, prefix: &str) -> bool {
    namespace_of(ds) == Some(namespace)
        && name_of(ds).is_some_and(|name| {
            name == prefix
                || name
                    .strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with('-'))
        })
}

/// The ConfigMap called `name`, in whichever namespace it was read from.
pub(super) fn config_map<'a>(objects: &'a CniObjects, name: &str) -> Option<&'a Value> {
    objects
        .config_maps
        .iter()
        .find(|cm| name_of(cm) == Some(name))
}

/// `data.<key>` of a ConfigMap.
pub(super) fn data<'a>(cm: &'a Value, key: &str) -> Option<&'a str> {
    cm.get("data")
        .and_then(|data| data.get(key))
        .and_then(Value::as_str)
}

/// The literal `value` of env var `name` on any container of a DaemonSet.
pub(super) fn env<'a>(ds: &'a Value, name: &str) -> Option<&'a str> {
    containers(ds)
        .flat_map(|c| c.get("env").and_then(Value::as_array).into_iter().flatten())
        .find(|e| e.get("name").and_then(Value::as_str) == Some(name))
        .and_then(|e| e.get("value"))
        .and_then(Value::as_str)
}

/// Whether any container of a DaemonSet declares env var `name` (with a value or a
/// reference).
pub(super) fn has_env(ds: &Value, name: &str) -> bool {
    containers(ds)
        .flat_map(|c| c.get("env").and_then(Value::as_array).into_iter().flatten())
        .any(|e| e.get("name").and_then(Value::as_str) == Some(name))
}

fn containers(ds: &Value) -> impl Iterator<Item = &Value> {
    ds.pointer("/spec/template/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// A port from JSON: a number, or a string holding one.
pub(super) fn port(value: &Value) -> Option<u16> {
    match value {
        Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}
