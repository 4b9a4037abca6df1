//! Server-side apply: merges an applied configuration into the live object, with per-manager
//! ownership, conflicts worded as the real server words them, `force` to take fields over,
//! and removal of fields the applier stopped sending that nobody else owns.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::fields::{self, FieldSet, Path, Scope};
use super::managed::{self, Entry};
use super::status::{ApiError, Cause};

/// One apply request, as the field manager sees it.
pub struct Request<'a> {
    /// The object as stored, if it exists.
    pub live: Option<&'a Value>,
    /// The applied configuration (apiVersion, kind, name and namespace already checked).
    pub config: &'a Value,
    /// The applier's entry (manager, `Apply`, apiVersion, subresource).
    pub actor: Entry,
    /// Which part of the object this apply covers.
    pub scope: Scope,
    /// `force=true`.
    pub force: bool,
}

/// Merges the configuration into the live object; `defaults` fills in what the server
/// defaults, so that a re-apply of the same configuration compares equal. Returns the new
/// object with its managedFields.
pub fn apply(
    request: Request<'_>,
    defaults: &mut dyn FnMut(&mut Value),
) -> Result<Value, ApiError> {
    let Request {
        live,
        config,
        mut actor,
        scope,
        force,
    } = request;
    let base = live.cloned().unwrap_or_else(|| {
        json!({
            "apiVersion": config["apiVersion"],
            "kind": config["kind"],
            "metadata": config["metadata"].as_object().map(|m| {
                m.iter()
                    .filter(|(k, _)| *k == "name" || *k == "namespace")
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect::<serde_json::Map<_, _>>()
            }),
        })
    });
    let applied = fields::leaves(config, scope);
    let mut entries = managed::read(&base);
    let previous = entries
        .iter()
        .position(|e| e.same(&actor))
        .map(|i| entries.remove(i));
    let owned_before = previous
        .as_ref()
        .map(|p| p.fields.clone())
        .unwrap_or_default();

    let mut merged = base.clone();
    for path in &applied {
        if let Some(value) = fields::get(config, path) {
            fields::set(&mut merged, path, value);
        }
    }
    for path in owned_before.difference(&applied) {
        let shared = entries
            .iter()
            .any(|e| e.fields.iter().any(|p| fields::overlaps(p, path)));
        if !shared {
            fields::remove(&mut merged, path);
        }
    }
    defaults(&mut merged);

    let changed = fields::changed(&base, &merged, scope);
    let conflicts = conflicts(&entries, &changed, &applied);
    if !conflicts.is_empty() {
        if !force {
            return Err(conflict_error(&conflicts));
        }
        for entry in &mut entries {
            entry.fields.retain(|p| {
                !applied.iter().any(|a| {
                    fields::overlaps(p, a) && changed.iter().any(|c| fields::overlaps(p, c))
                })
            });
        }
    }
    for entry in &mut entries {
        entry.fields.retain(|p| fields::get(&merged, p).is_some());
    }
    let touched = !changed.is_empty() || owned_before != applied || previous.is_none();
    actor.fields = applied;
    if let (Some(previous), false) = (&previous, touched) {
        actor.time.clone_from(&previous.time);
    }
    entries.push(actor);
    managed::write(&mut merged, entries);
    Ok(merged)
}

/// (manager description, field) for each field another manager owns that the apply changes.
fn conflicts(entries: &[Entry], changed: &FieldSet, applied: &FieldSet) -> Vec<(String, Path)> {
    let mut found = Vec::new();
    for entry in entries {
        for path in &entry.fields {
            let hit = changed.iter().any(|c| fields::overlaps(c, path))
                && applied.iter().any(|a| fields::overlaps(a, path));
            if hit {
                found.push((entry.describe(), path.clone()));
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

/// The 409 for conflicts, as `NewConflictError` in the apiserver's field manager builds it.
fn conflict_error(conflicts: &[(String, Path)]) -> ApiError {
    let causes: Vec<Cause> = conflicts
        .iter()
        .map(|(manager, path)| {
            Cause::new(
                "FieldManagerConflict",
                format!("conflict with {manager}"),
                &fields::display(path),
            )
        })
        .collect();
    let message = if let [(manager, path)] = conflicts {
        format!(
            "Apply failed with 1 conflict: conflict with {manager}: {}",
            fields::display(path)
        )
    } else {
        let mut by_manager: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for (manager, path) in conflicts {
            by_manager
                .entry(manager)
                .or_default()
                .push(fields::display(path));
        }
        let lines: Vec<String> = by_manager
            .iter()
            .flat_map(|(manager, paths)| {
                std::iter::once(format!("conflicts with {manager}:"))
                    .chain(paths.iter().map(|p| format!("- {p}")))
            })
            .collect();
        format!(
            "Apply failed with {} conflicts: {}",
            conflicts.len(),
            lines.join("\n")
        )
    };
    ApiError::new(409, "Conflict", message).with_causes(&causes)
}
