//! Field paths and sets, the unit of ownership in server-side apply: maps recurse, every
//! other value (scalars and lists) is one field, and sets encode to FieldsV1 as the
//! real server writes them.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

/// A field path such as `["spec", "replicas"]`.
pub type Path = Vec<String>;

/// A set of field paths.
pub type FieldSet = BTreeSet<Path>;

/// Which part of an object a write covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The whole object.
    All,
    /// Everything but `status` (main resource of a kind with a status subresource).
    NoStatus,
    /// Only `status` (the status subresource).
    Status,
}

/// Metadata the server owns: never part of anyone's field set.
const SERVER_METADATA: &[&str] = &[
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
];

/// The leaf fields of `value` within `scope`.
pub fn leaves(value: &Value, scope: Scope) -> FieldSet {
    let mut set = FieldSet::new();
    let Some(top) = value.as_object() else {
        return set;
    };
    for (key, child) in top {
        let keep = match key.as_str() {
            "apiVersion" | "kind" => false,
            "status" => scope != Scope::NoStatus,
            _ => scope != Scope::Status,
        };
        if !keep {
            continue;
        }
        let mut path = vec![key.clone()];
        if key == "metadata" {
            if let Some(meta) = child.as_object() {
                for (k, v) in meta {
                    if !SERVER_METADATA.contains(&k.as_str()) && !v.is_null() {
                        path.push(k.clone());
                        collect(v, &mut path, &mut set);
                        path.pop();
                    }
                }
            }
        } else if !child.is_null() {
            collect(child, &mut path, &mut set);
        }
    }
    set
}

/// Adds the leaves under `path` to `set`.
fn collect(value: &Value, path: &mut Path, set: &mut FieldSet) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, child) in map {
                if child.is_null() {
                    continue;
                }
                path.push(key.clone());
                collect(child, path, set);
                path.pop();
            }
        }
        _ => {
            set.insert(path.clone());
        }
    }
}

/// The value at `path`.
pub fn get<'a>(value: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter()
        .try_fold(value, |v, key| v.as_object()?.get(key))
}

/// Sets `path` to `new`, creating maps along the way; an empty map does not replace a map.
pub fn set(value: &mut Value, path: &[String], new: &Value) {
    let mut current = value;
    for key in path {
        if !current.is_object() {
            *current = Value::Object(Map::new());
        }
        current = &mut current[key.as_str()];
    }
    let keep_map = new.as_object().is_some_and(Map::is_empty) && current.is_object();
    if !keep_map {
        *current = new.clone();
    }
}

/// Removes the field at `path`, then the maps left empty by that (below the top level).
pub fn remove(value: &mut Value, path: &[String]) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    let Some(top) = value.as_object_mut() else {
        return;
    };
    if rest.is_empty() {
        top.remove(first);
    } else if let Some(child) = top.get_mut(first) {
        prune(child, rest);
    }
}

/// Removes `path` under `value`; returns whether that left `value` an empty map.
fn prune(value: &mut Value, path: &[String]) -> bool {
    let (Some(map), Some((first, rest))) = (value.as_object_mut(), path.split_first()) else {
        return false;
    };
    if rest.is_empty() {
        map.remove(first);
    } else if let Some(child) = map.get_mut(first)
        && prune(child, rest)
    {
        map.remove(first);
    }
    map.is_empty()
}

/// Whether one path is a prefix of the other (they cover common ground).
pub fn overlaps(a: &[String], b: &[String]) -> bool {
    a.iter().zip(b).all(|(x, y)| x == y)
}

/// The fields whose values differ between `old` and `new`, within `scope`.
pub fn changed(old: &Value, new: &Value, scope: Scope) -> FieldSet {
    let mut all = leaves(old, scope);
    all.extend(leaves(new, scope));
    all.into_iter()
        .filter(|p| get(old, p) != get(new, p))
        .collect()
}

/// The path as conflict messages print it: `.spec.replicas`.
pub fn display(path: &[String]) -> String {
    path.iter().fold(String::new(), |mut text, key| {
        text.push('.');
        text.push_str(key);
        text
    })
}

/// FieldsV1 for a set.
pub fn to_fields_v1(set: &FieldSet) -> Value {
    let mut root = Value::Object(Map::new());
    for path in set {
        let mut current = &mut root;
        for key in path {
            current = &mut current[format!("f:{key}").as_str()];
            if !current.is_object() {
                *current = Value::Object(Map::new());
            }
        }
    }
    root
}

/// The set a FieldsV1 value describes; list entries (`k:`, `v:`, `i:`) count as their list.
pub fn from_fields_v1(fields: &Value) -> FieldSet {
    /// Adds the fields of a FieldsV1 node under `path` to `set`.
    fn walk(value: &Value, path: &mut Path, set: &mut FieldSet) {
        let children: Vec<(&String, &Value)> = value
            .as_object()
            .map(|m| m.iter().filter(|(k, _)| k.starts_with("f:")).collect())
            .unwrap_or_default();
        let list_entries = value.as_object().is_some_and(|m| {
            m.keys()
                .any(|k| k.starts_with("k:") || k.starts_with("v:") || k.starts_with("i:"))
        });
        if (children.is_empty() || list_entries) && !path.is_empty() {
            set.insert(path.clone());
            return;
        }
        for (key, child) in children {
            path.push(key[2..].to_owned());
            walk(child, path, set);
            path.pop();
        }
    }
    let mut set = FieldSet::new();
    walk(fields, &mut Vec::new(), &mut set);
    set
}
