//! Non-apply patches: JSON merge patch (RFC 7386), JSON patch (RFC 6902), and strategic
//! merge patch, which is treated as a merge patch (lists are replaced, not merged by key).

use serde_json::{Map, Value};

use super::status::ApiError;

/// RFC 7386: objects merge recursively, `null` deletes, anything else replaces.
pub fn merge(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(map) = target {
        for (key, value) in patch {
            if key.starts_with('$') {
                continue;
            }
            if value.is_null() {
                map.remove(key);
            } else {
                merge(map.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

/// A JSON pointer token, unescaped.
fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

/// A JSON pointer's parent and last token.
fn split(pointer: &str) -> Result<(String, String), ApiError> {
    let (parent, last) = pointer
        .rsplit_once('/')
        .ok_or_else(|| ApiError::bad_request(format!("invalid JSON pointer {pointer:?}")))?;
    Ok((parent.to_owned(), unescape(last)))
}

/// The JSON patch `add` operation.
fn add(target: &mut Value, pointer: &str, value: Value) -> Result<(), ApiError> {
    if pointer.is_empty() {
        *target = value;
        return Ok(());
    }
    let (parent, last) = split(pointer)?;
    let missing = || {
        ApiError::bad_request(format!(
            "the server rejected our request due to an error in our request: doc is missing path: {pointer:?}"
        ))
    };
    match target.pointer_mut(&parent).ok_or_else(missing)? {
        Value::Object(map) => {
            map.insert(last, value);
        }
        Value::Array(items) => {
            let index = if last == "-" {
                items.len()
            } else {
                last.parse().map_err(|_| missing())?
            };
            if index > items.len() {
                return Err(missing());
            }
            items.insert(index, value);
        }
        _ => return Err(missing()),
    }
    Ok(())
}

/// The JSON patch `remove` operation; returns the removed value.
fn remove(target: &mut Value, pointer: &str) -> Result<Value, ApiError> {
    let (parent, last) = split(pointer)?;
    let missing = || {
        ApiError::bad_request(format!(
            "the server rejected our request due to an error in our request: doc is missing path: {pointer:?}"
        ))
    };
    match target.pointer_mut(&parent).ok_or_else(missing)? {
        Value::Object(map) => map.remove(&last).ok_or_else(missing),
        Value::Array(items) => {
            let index: usize = last.parse().map_err(|_| missing())?;
            if index < items.len() {
                Ok(items.remove(index))
            } else {
                Err(missing())
            }
        }
        _ => Err(missing()),
    }
}

/// RFC 6902.
pub fn json_patch(target: &mut Value, operations: &Value) -> Result<(), ApiError> {
    let list = operations
        .as_array()
        .ok_or_else(|| ApiError::bad_request("a JSON patch must be a list of operations"))?;
    for op in list {
        let text = |key: &str| {
            op.get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let path = text("path");
        let value = op.get("value").cloned().unwrap_or(Value::Null);
        match text("op").as_str() {
            "add" => add(target, &path, value)?,
            "remove" => {
                remove(target, &path)?;
            }
            "replace" => {
                remove(target, &path)?;
                add(target, &path, value)?;
            }
            "move" => {
                let moved = remove(target, &text("from"))?;
                add(target, &path, moved)?;
            }
            "copy" => {
                let copied = target
                    .pointer(&text("from"))
                    .cloned()
                    .ok_or_else(|| ApiError::bad_request("copy from a missing path"))?;
                add(target, &path, copied)?;
            }
            "test" => {
                if target.pointer(&path) != Some(&value) {
                    return Err(ApiError::new(
                        422,
                        "Invalid",
                        format!(
                            "the server rejected our request due to an error in our request: testing value {path:?} failed"
                        ),
                    ));
                }
            }
            other => return Err(ApiError::bad_request(format!("Unexpected kind: {other}"))),
        }
    }
    Ok(())
}
