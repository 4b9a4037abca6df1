//! Lists: label and field selectors, pages, all-namespace lists.

use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::api::{Api, ListParams};
use serde_json::json;

use super::{SETTLE, block_on, client, deployment, namespace, status_of};
use crate::apiserver::ApiServer;

/// The names listed, without the CA bundle every namespace has.
fn names(list: &kube::api::ObjectList<ConfigMap>) -> Vec<String> {
    list.items
        .iter()
        .filter_map(|c| c.metadata.name.clone())
        .filter(|n| n != "kube-root-ca.crt")
        .collect()
}

#[test]
fn label_selectors_support_every_operator() {
    let server = ApiServer::start();
    for (name, labels) in [
        ("a", json!({"app": "web", "tier": "front"})),
        ("b", json!({"app": "web", "tier": "back"})),
        ("c", json!({"app": "db"})),
    ] {
        server.apply_as("obsboot", json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default", "labels": labels}}));
    }
    block_on(async {
        let api: Api<ConfigMap> = Api::namespaced(client(&server).await, "default");
        for (selector, expected) in [
            ("app=web", &["a", "b"][..]),
            ("app==web", &["a", "b"]),
            ("app!=web", &["c"]),
            ("tier in (front,middle)", &["a"]),
            ("tier notin (front)", &["b", "c"]),
            ("tier", &["a", "b"]),
            ("!tier", &["c"]),
            ("app=web,tier=back", &["b"]),
        ] {
            let list = api
                .list(&ListParams::default().labels(selector))
                .await
                .unwrap();
            assert_eq!(names(&list), expected, "{selector}");
        }
    });
}

#[test]
fn field_selectors_pages_and_all_namespace_lists() {
    let server = ApiServer::start();
    server.apply_as("obsboot", namespace("other"));
    for (ns, name) in [
        ("default", "a"),
        ("default", "b"),
        ("default", "c"),
        ("other", "a"),
    ] {
        server.apply_as("obsboot", json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}}));
    }
    block_on(async {
        let client = client(&server).await;
        let all: Api<ConfigMap> = Api::all(client.clone());
        let named = all
            .list(&ListParams::default().fields("metadata.name=a"))
            .await
            .unwrap();
        let found: Vec<_> = named
            .items
            .iter()
            .map(|c| c.metadata.namespace.clone().unwrap())
            .collect();
        assert_eq!(found, ["default", "other"]);
        let other = all
            .list(
                &ListParams::default()
                    .fields("metadata.namespace=other,metadata.name!=kube-root-ca.crt"),
            )
            .await
            .unwrap();
        assert_eq!(names(&other), ["a"]);
        let refused = all
            .list(&ListParams::default().fields("spec.foo=bar"))
            .await
            .unwrap_err();
        assert_eq!(
            status_of(refused)["message"],
            "field label not supported: spec.foo"
        );

        let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
        let first = api.list(&ListParams::default().limit(2)).await.unwrap();
        assert_eq!(first.items.len(), 2);
        assert!(
            !first
                .metadata
                .resource_version
                .clone()
                .unwrap_or_default()
                .is_empty()
        );
        let token = first.metadata.continue_.clone().expect("a continue token");
        assert_eq!(first.metadata.remaining_item_count, Some(2));
        let rest = api
            .list(&ListParams::default().limit(2).continue_token(&token))
            .await
            .unwrap();
        let mut all_names: Vec<String> = first
            .items
            .iter()
            .chain(&rest.items)
            .filter_map(|c| c.metadata.name.clone())
            .collect();
        all_names.sort();
        assert_eq!(all_names, ["a", "b", "c", "kube-root-ca.crt"]);
        assert!(rest.metadata.continue_.is_none());
    });
    server.apply_as("obsboot", deployment("default", "web", 1));
    assert!(server.wait_until(SETTLE, |v| {
        v.list("v1", "Pod")
            .iter()
            .any(|p| p["spec"]["nodeName"].is_string())
    }));
    block_on(async {
        let pods: Api<Pod> = Api::all(client(&server).await);
        let on_worker = pods
            .list(&ListParams::default().fields("spec.nodeName=ip-10-0-2-15"))
            .await
            .unwrap();
        assert_eq!(on_worker.items.len(), 1);
        let on_master = pods
            .list(&ListParams::default().fields("spec.nodeName=ip-10-0-1-74"))
            .await
            .unwrap();
        assert!(on_master.items.is_empty());
    });
}
