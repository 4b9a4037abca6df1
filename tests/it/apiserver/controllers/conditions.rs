//! Status conditions that keep their timestamps while they stay the same, so that a
//! controller re-deriving an unchanged status writes nothing.

use serde_json::{Value, json};

use super::super::json;

/// Which timestamps a kind's conditions carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// `lastUpdateTime` and `lastTransitionTime` (Deployments).
    Deployment,
    /// `lastProbeTime: null` and `lastTransitionTime` (Pods).
    Pod,
    /// `lastTransitionTime` only.
    Plain,
}

/// The conditions of `object`, to edit.
pub fn of(object: &Value) -> Vec<Value> {
    json::array(object, "/status/conditions").to_vec()
}

/// Sets condition `kind`, keeping its timestamps if nothing about it changed and its
/// `lastTransitionTime` if only the reason or message did.
pub fn set(
    conditions: &mut Vec<Value>,
    style: Style,
    kind: &str,
    status: &str,
    reason: &str,
    message: &str,
) {
    let now = json::now();
    let existing = conditions
        .iter()
        .position(|c| json::str_at(c, "/type") == kind);
    if let Some(i) = existing {
        let c = &conditions[i];
        let same = json::str_at(c, "/status") == status
            && json::str_at(c, "/reason") == reason
            && json::str_at(c, "/message") == message;
        if same {
            return;
        }
    }
    let transition = existing
        .map(|i| &conditions[i])
        .filter(|c| json::str_at(c, "/status") == status)
        .map_or(now.clone(), |c| {
            json::str_at(c, "/lastTransitionTime").to_owned()
        });
    let mut condition = json!({"type": kind, "status": status, "lastTransitionTime": transition});
    match style {
        Style::Deployment => condition["lastUpdateTime"] = now.into(),
        Style::Pod => condition["lastProbeTime"] = Value::Null,
        Style::Plain => {}
    }
    if !reason.is_empty() {
        condition["reason"] = reason.into();
    }
    if !message.is_empty() {
        condition["message"] = message.into();
    }
    match existing {
        Some(i) => conditions[i] = condition,
        None => conditions.push(condition),
    }
}
