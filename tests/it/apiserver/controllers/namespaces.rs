//! Namespace controllers: new namespaces get their `default` ServiceAccount and the
//! `kube-root-ca.crt` ConfigMap; a Terminating namespace is emptied, reports what remains
//! (and which finalizers hold it) in its conditions, and goes once it is empty.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::super::json;
use super::super::state::State;
use super::conditions::{self, Style};
use super::{KCM, Memory, create, delete, objects, write, write_status};

/// The cluster CA certificate `kube-root-ca.crt` publishes (a placeholder, never verified).
const ROOT_CA: &str = "-----BEGIN CERTIFICATE-----\nMIIBdzCCAR2gAwIBAgIBADAKBggqhkjOPQQDAjAjMSEwHwYDVQQDDBhrOHMtc2lt\ndWxhdGVkLWFwaXNlcnZlci1jYTAeFw0yNTAxMDEwMDAwMDBaFw0zNTAxMDEwMDAw\nMDBaMCMxITAfBgNVBAMMGGs4cy1zaW11bGF0ZWQtYXBpc2VydmVyLWNhMFkwEwYH\nKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END CERTIFICATE-----\n";

/// Creates what every namespace starts with.
fn populate(state: &mut State, namespace: &str) {
    if state
        .store
        .get("", "serviceaccounts", namespace, "default")
        .is_none()
    {
        let account = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": namespace}});
        let _ = create(state, "", "serviceaccounts", account, KCM);
    }
    if state
        .store
        .get("", "configmaps", namespace, "kube-root-ca.crt")
        .is_none()
    {
        let config = json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": "kube-root-ca.crt",
                "namespace": namespace,
                "annotations": {"kubernetes.io/description": "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters."},
            },
            "data": {"ca.crt": ROOT_CA},
        });
        let _ = create(state, "", "configmaps", config, KCM);
    }
}

/// Keeps namespaces populated and finishes the deletion of Terminating ones.
pub fn reconcile(state: &mut State, memory: &mut Memory) {
    for namespace in objects(state, "", "namespaces") {
        if !json::deleting(&namespace) {
            populate(state, json::name(&namespace));
        } else if memory.elapsed(
            &format!("namespace:{}:cleanup", json::uid(&namespace)),
            state.config.namespace_cleanup_after,
        ) {
            terminate(state, json::name(&namespace));
        }
    }
}

/// Every object in `namespace`, with its (group, plural).
fn content(state: &State, namespace: &str) -> Vec<(String, String, Value)> {
    state
        .store
        .all()
        .filter(|(_, _, o)| json::namespace(o) == namespace)
        .map(|(g, p, o)| (g.to_owned(), p.to_owned(), o.clone()))
        .collect()
}

/// Deletes what is in a Terminating namespace; lets it go once empty, or reports what holds it.
fn terminate(state: &mut State, name: &str) {
    for (group, plural, object) in content(state, name) {
        if !json::deleting(&object) {
            delete(state, &group, &plural, name, json::name(&object));
        }
    }
    let remaining = content(state, name);
    let Some(current) = state.store.get("", "namespaces", "", name).cloned() else {
        return;
    };
    if remaining.is_empty() {
        let mut finished = current.clone();
        let mut finalizers = json::strings(current.pointer("/spec/finalizers"));
        finalizers.retain(|f| f != "kubernetes");
        finished["spec"]["finalizers"] = json!(finalizers);
        write(state, "", "namespaces", &current, finished, KCM);
        return;
    }
    let status = json!({"phase": "Terminating", "conditions": report(&current, &remaining)});
    write_status(state, "", "namespaces", &current, status, KCM);
}

/// The conditions of a namespace whose content is not all gone, worded as the namespace
/// controller words them.
fn report(namespace: &Value, remaining: &[(String, String, Value)]) -> Vec<Value> {
    let mut by_resource: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_finalizer: BTreeMap<String, usize> = BTreeMap::new();
    for (group, plural, object) in remaining {
        *by_resource.entry(format!("{plural}.{group}")).or_default() += 1;
        for finalizer in json::strings(object.pointer("/metadata/finalizers")) {
            *by_finalizer.entry(finalizer).or_default() += 1;
        }
    }
    let resources: Vec<String> = by_resource
        .iter()
        .map(|(r, n)| format!("{r} has {n} resource instances"))
        .collect();
    let finalizers: Vec<String> = by_finalizer
        .iter()
        .map(|(f, n)| format!("{f} in {n} resource instances"))
        .collect();
    let mut list = conditions::of(namespace);
    let mut set = |kind: &str, status: &str, reason: &str, message: &str| {
        conditions::set(&mut list, Style::Plain, kind, status, reason, message);
    };
    set(
        "NamespaceDeletionDiscoveryFailure",
        "False",
        "ResourcesDiscovered",
        "All resources successfully discovered",
    );
    set(
        "NamespaceDeletionGroupVersionParsingFailure",
        "False",
        "ParsedGroupVersions",
        "All legacy kube types successfully parsed",
    );
    set(
        "NamespaceDeletionContentFailure",
        "False",
        "ContentDeleted",
        "All content successfully deleted, may be waiting on finalization",
    );
    set(
        "NamespaceContentRemaining",
        "True",
        "SomeResourcesRemain",
        &format!("Some resources are remaining: {}", resources.join(", ")),
    );
    if finalizers.is_empty() {
        set(
            "NamespaceFinalizersRemaining",
            "False",
            "ContentHasNoFinalizers",
            "All content-preserving finalizers finished",
        );
    } else {
        let message = format!(
            "Some content in the namespace has finalizers remaining: {}",
            finalizers.join(", ")
        );
        set(
            "NamespaceFinalizersRemaining",
            "True",
            "SomeFinalizersRemain",
            &message,
        );
    }
    list
}
