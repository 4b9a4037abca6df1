//! The apiextensions controllers: a new CustomResourceDefinition gets `NamesAccepted`, then
//! `Established` after the configured delay (or never, when a test says so); a deleted one
//! has its custom resources removed before it goes.

use serde_json::{Value, json};

use super::super::deletion;
use super::super::deletion::CRD_CLEANUP;
use super::super::json;
use super::super::registry;
use super::super::state::State;
use super::conditions::{self, Style};
use super::{KCM, Memory, delete, write_status};

/// The manager of what the API server itself writes.
const MANAGER: &str = "kube-apiserver";

/// Moves every CRD along its lifecycle.
pub fn reconcile(state: &mut State, memory: &mut Memory) {
    let names: Vec<String> = state
        .store
        .list("apiextensions.k8s.io", "customresourcedefinitions")
        .map(|crd| json::name(crd).to_owned())
        .collect();
    for name in names {
        let Some(crd) = state.store.get(
            "apiextensions.k8s.io",
            "customresourcedefinitions",
            "",
            &name,
        ) else {
            continue;
        };
        if json::deleting(crd) {
            let crd = crd.clone();
            terminate(state, &crd);
        } else if let Some(status) = settled_status(state, memory, crd) {
            let crd = crd.clone();
            write_status(
                state,
                "apiextensions.k8s.io",
                "customresourcedefinitions",
                &crd,
                status,
                MANAGER,
            );
        }
    }
}

/// Removes a deleted CRD's custom resources, then its cleanup finalizer.
fn terminate(state: &mut State, crd: &Value) {
    let name = json::name(crd).to_owned();
    let group = json::str_at(crd, "/spec/group").to_owned();
    let plural = json::str_at(crd, "/spec/names/plural").to_owned();
    let mut list = conditions::of(crd);
    conditions::set(
        &mut list,
        Style::Plain,
        "Terminating",
        "True",
        "InstanceDeletionInProgress",
        "CustomResource deletion is in progress",
    );
    let mut status = crd.get("status").cloned().unwrap_or_else(|| json!({}));
    status["conditions"] = json!(list);
    write_status(
        state,
        "apiextensions.k8s.io",
        "customresourcedefinitions",
        crd,
        status,
        MANAGER,
    );
    let instances: Vec<(String, String)> = state
        .store
        .list(&group, &plural)
        .map(|o| (json::namespace(o).to_owned(), json::name(o).to_owned()))
        .collect();
    for (namespace, instance) in &instances {
        delete(state, &group, &plural, namespace, instance);
    }
    if state.store.list(&group, &plural).next().is_none() {
        let current = state
            .store
            .get(
                "apiextensions.k8s.io",
                "customresourcedefinitions",
                "",
                &name,
            )
            .cloned();
        let rt = registry::type_of(state, "apiextensions.k8s.io", "customresourcedefinitions");
        if let (Some(rt), Some(current)) = (rt, current) {
            deletion::remove_finalizer(state, &rt, &current, CRD_CLEANUP, KCM);
        }
    }
}

/// The status that accepts a CRD's names and establishes it once its delay has passed
/// (unless told not to), when that differs from the current one.
fn settled_status(state: &State, memory: &mut Memory, crd: &Value) -> Option<Value> {
    let names = crd
        .pointer("/spec/names")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let kind = json::str_at(&names, "/kind").to_owned();
    let mut accepted = json!({
        "plural": names["plural"],
        "singular": names.get("singular").cloned().unwrap_or_else(|| kind.to_lowercase().into()),
        "kind": kind,
        "listKind": names.get("listKind").cloned().unwrap_or_else(|| format!("{kind}List").into()),
    });
    for key in ["shortNames", "categories"] {
        if let Some(value) = names.get(key) {
            accepted[key] = value.clone();
        }
    }
    let mut list = conditions::of(crd);
    conditions::set(
        &mut list,
        Style::Plain,
        "NamesAccepted",
        "True",
        "NoConflicts",
        "no conflicts found",
    );
    let establish = state
        .crd_establishment
        .get(json::name(crd))
        .copied()
        .unwrap_or(true);
    let delay = state.config.crd_established_after;
    if establish && memory.elapsed(&format!("crd:{}:established", json::uid(crd)), delay) {
        conditions::set(
            &mut list,
            Style::Plain,
            "Established",
            "True",
            "InitialNamesAccepted",
            "the initial names have been accepted",
        );
    }
    let stored: Vec<Value> = json::array(crd, "/spec/versions")
        .iter()
        .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
        .map(|v| v["name"].clone())
        .collect();
    let status = json!({"acceptedNames": accepted, "conditions": list, "storedVersions": stored});
    (crd.get("status") != Some(&status)).then_some(status)
}
