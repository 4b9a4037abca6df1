//! Namespace termination and garbage collection.

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde_json::json;

use super::{SETTLE, block_on, client, deployment, namespace};
use crate::apiserver::ApiServer;

#[test]
fn deleting_a_namespace_removes_its_content_then_the_namespace() {
    let server = ApiServer::start();
    server.apply_as("obsboot", namespace("shop"));
    server.apply_as("obsboot", deployment("shop", "web", 2));
    server.apply_as("obsboot", json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "shop"}}));
    assert!(server.wait_until(SETTLE, |v| {
        v.list("v1", "Pod").len() == 2
            && v.get("v1", "ServiceAccount", Some("shop"), "default")
                .is_some()
    }));
    block_on(async {
        let api: Api<Namespace> = Api::all(client(&server).await);
        let terminating = api
            .delete("shop", &DeleteParams::default())
            .await
            .unwrap()
            .left()
            .expect("the namespace");
        assert_eq!(
            terminating.status.unwrap().phase.as_deref(),
            Some("Terminating")
        );
        assert_eq!(
            terminating.spec.unwrap().finalizers,
            Some(vec!["kubernetes".to_owned()])
        );
        assert!(terminating.metadata.deletion_timestamp.is_some());
    });
    assert!(server.wait_until(SETTLE, |v| v.get("v1", "Namespace", None, "shop").is_none()));
    let left: Vec<_> = server
        .objects()
        .into_iter()
        .filter(|o| o["metadata"]["namespace"] == "shop")
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_finalizer_keeps_the_namespace_terminating_until_it_is_removed() {
    let server = ApiServer::start();
    server.apply_as("obsboot", namespace("stuck"));
    server.apply_as("obsboot", json!({
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "held", "namespace": "stuck", "finalizers": ["example.com/hold"]},
    }));
    server.delete("v1", "Namespace", None, "stuck");
    let condition = |ns: &serde_json::Value, kind: &str| {
        ns["status"]["conditions"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["type"] == kind).cloned())
    };
    assert!(server.wait_until(SETTLE, |v| {
        v.get("v1", "Namespace", None, "stuck")
            .is_some_and(|ns| condition(ns, "NamespaceFinalizersRemaining").is_some())
    }));
    let ns = server.get("v1", "Namespace", None, "stuck").unwrap();
    assert_eq!(ns["status"]["phase"], "Terminating");
    let content = condition(&ns, "NamespaceContentRemaining").unwrap();
    assert_eq!(
        (&content["status"], &content["reason"]),
        (&json!("True"), &json!("SomeResourcesRemain"))
    );
    assert_eq!(
        content["message"],
        "Some resources are remaining: configmaps. has 1 resource instances"
    );
    let finalizers = condition(&ns, "NamespaceFinalizersRemaining").unwrap();
    assert_eq!(
        finalizers["message"],
        "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances"
    );
    let held = server
        .get("v1", "ConfigMap", Some("stuck"), "held")
        .unwrap();
    assert!(held["metadata"]["deletionTimestamp"].is_string());
    assert!(
        server
            .get("v1", "ConfigMap", Some("stuck"), "kube-root-ca.crt")
            .is_none(),
        "the rest is gone"
    );

    block_on(async {
        let api: Api<ConfigMap> = Api::namespaced(client(&server).await, "stuck");
        api.patch(
            "held",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": null}})),
        )
        .await
        .unwrap();
    });
    assert!(server.wait_until(SETTLE, |v| {
        v.get("v1", "Namespace", None, "stuck").is_none()
    }));
}

#[test]
fn owners_take_their_dependents_with_them_unless_orphaned() {
    let server = ApiServer::start();
    server.apply_as("obsboot", deployment("default", "web", 1));
    server.apply_as("obsboot", deployment("default", "kept", 1));
    assert!(server.wait_until(SETTLE, |v| v.list("v1", "Pod").len() == 2));
    block_on(async {
        let api: Api<k8s_openapi::api::apps::v1::Deployment> =
            Api::namespaced(client(&server).await, "default");
        api.delete("web", &DeleteParams::background())
            .await
            .unwrap();
        api.delete("kept", &DeleteParams::orphan()).await.unwrap();
    });
    assert!(server.wait_until(SETTLE, |v| {
        let sets = v.list("apps/v1", "ReplicaSet");
        sets.len() == 1
            && sets[0]["metadata"]["name"]
                .as_str()
                .unwrap()
                .starts_with("kept-")
            && v.list("v1", "Pod").len() == 1
    }));
    let orphan = &server.list("apps/v1", "ReplicaSet")[0];
    assert!(orphan["metadata"].get("ownerReferences").is_none());
    server.apply_as("obsboot", deployment("default", "fg", 1));
    assert!(server.wait_until(SETTLE, |v| v.list("v1", "Pod").len() == 2));
    block_on(async {
        let api: Api<k8s_openapi::api::apps::v1::Deployment> =
            Api::namespaced(client(&server).await, "default");
        let pending = api
            .delete("fg", &DeleteParams::foreground())
            .await
            .unwrap()
            .left()
            .expect("kept while dependents go");
        assert_eq!(
            pending.metadata.finalizers,
            Some(vec!["foregroundDeletion".to_owned()])
        );
    });
    assert!(server.wait_until(SETTLE, |v| {
        v.get("apps/v1", "Deployment", Some("default"), "fg")
            .is_none()
    }));
    assert_eq!(server.list("apps/v1", "ReplicaSet").len(), 1);
}
