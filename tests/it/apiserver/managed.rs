//! `metadata.managedFields`: who owns which fields, read from and written back to the
//! object, sorted and timestamped the way the real field manager does it.

use serde_json::{Value, json};

use super::fields::{self, FieldSet, Scope};
use super::json;

/// One manager's entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// `manager`.
    pub manager: String,
    /// `Apply` or `Update`.
    pub operation: String,
    /// `apiVersion` the manager used.
    pub api_version: String,
    /// `time`.
    pub time: String,
    /// `subresource` (`status`), or "".
    pub subresource: String,
    /// The fields it owns.
    pub fields: FieldSet,
}

impl Entry {
    /// A new entry owning nothing yet.
    pub fn new(manager: &str, operation: &str, api_version: &str, subresource: &str) -> Self {
        Self {
            manager: manager.to_owned(),
            operation: operation.to_owned(),
            api_version: api_version.to_owned(),
            time: json::now(),
            subresource: subresource.to_owned(),
            fields: FieldSet::new(),
        }
    }

    /// Whether `other` is the same manager: name, operation and subresource, plus the
    /// apiVersion for updaters (appliers keep their entry across versions).
    pub fn same(&self, other: &Self) -> bool {
        self.manager == other.manager
            && self.operation == other.operation
            && self.subresource == other.subresource
            && (self.operation == "Apply" || self.api_version == other.api_version)
    }

    /// How conflict messages name this manager.
    pub fn describe(&self) -> String {
        let mut text = format!("{:?}", self.manager);
        if !self.subresource.is_empty() {
            text = format!("{text} with subresource {:?}", self.subresource);
        }
        if self.operation == "Update" {
            text = format!("{text} using {}", self.api_version);
        }
        text
    }
}

/// The entries of an object.
pub fn read(object: &Value) -> Vec<Entry> {
    json::array(object, "/metadata/managedFields")
        .iter()
        .map(|e| Entry {
            manager: json::str_at(e, "/manager").to_owned(),
            operation: json::str_at(e, "/operation").to_owned(),
            api_version: json::str_at(e, "/apiVersion").to_owned(),
            time: json::str_at(e, "/time").to_owned(),
            subresource: json::str_at(e, "/subresource").to_owned(),
            fields: e
                .get("fieldsV1")
                .map(fields::from_fields_v1)
                .unwrap_or_default(),
        })
        .collect()
}

/// Writes entries back, dropping empty ones, in the field manager's order (Apply before
/// Update, then by time, manager, apiVersion, subresource).
pub fn write(object: &mut Value, mut entries: Vec<Entry>) {
    entries.retain(|e| !e.fields.is_empty());
    entries.sort_by(|a, b| {
        (
            &a.operation,
            &a.time,
            &a.manager,
            &a.api_version,
            &a.subresource,
        )
            .cmp(&(
                &b.operation,
                &b.time,
                &b.manager,
                &b.api_version,
                &b.subresource,
            ))
    });
    if entries.is_empty() {
        json::remove(object, &["metadata", "managedFields"]);
        return;
    }
    let list: Vec<Value> = entries
        .iter()
        .map(|e| {
            let mut entry = json!({
                "manager": e.manager,
                "operation": e.operation,
                "apiVersion": e.api_version,
                "time": e.time,
                "fieldsType": "FieldsV1",
                "fieldsV1": fields::to_fields_v1(&e.fields),
            });
            if !e.subresource.is_empty() {
                entry["subresource"] = e.subresource.clone().into();
            }
            entry
        })
        .collect();
    json::set(object, &["metadata", "managedFields"], Value::Array(list));
}

/// Records an Update by `actor` that turned `old` into `new`: the actor takes every field it
/// changed or added, others lose what changed, and removed fields leave every set.
pub fn record_update(old: Option<&Value>, new: &mut Value, mut actor: Entry, scope: Scope) {
    let empty = json!({});
    let old_object = old.unwrap_or(&empty);
    let changed = fields::changed(old_object, new, scope);
    let touched = !changed.is_empty();
    let mut entries = old.map(read).unwrap_or_default();
    let previous = entries
        .iter()
        .position(|e| e.same(&actor))
        .map(|i| entries.remove(i));
    if let Some(previous) = &previous {
        actor.fields.clone_from(&previous.fields);
        actor.time.clone_from(&previous.time);
    }
    for entry in &mut entries {
        entry
            .fields
            .retain(|p| !changed.iter().any(|c| fields::overlaps(p, c)));
    }
    actor
        .fields
        .retain(|p| !changed.iter().any(|c| fields::overlaps(p, c)));
    actor.fields.extend(
        changed
            .into_iter()
            .filter(|p| fields::get(new, p).is_some()),
    );
    if touched || previous.as_ref().is_none_or(|p| p.fields != actor.fields) {
        actor.time = json::now();
    }
    entries.push(actor);
    for entry in &mut entries {
        entry.fields.retain(|p| fields::get(new, p).is_some());
    }
    write(new, entries);
}
