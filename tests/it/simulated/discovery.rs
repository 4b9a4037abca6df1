//! Discovery, legacy and aggregated, before and after a CRD is Established.

use kube::Discovery;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::discovery::{ApiResource, Scope};
use serde_json::json;

use super::{SETTLE, block_on, client, status_of, widget_crd};
use crate::apiserver::ApiServer;

#[test]
fn legacy_and_aggregated_discovery_list_the_builtin_kinds() {
    let server = ApiServer::start();
    block_on(async {
        let client = client(&server).await;
        let version = client.apiserver_version().await.unwrap();
        assert_eq!(version.git_version, "v1.33.4");
        for discovery in [
            Discovery::new(client.clone()).run().await.unwrap(),
            Discovery::new(client.clone())
                .run_aggregated()
                .await
                .unwrap(),
        ] {
            for (group, kind, scope) in [
                ("", "Pod", Scope::Namespaced),
                ("", "Namespace", Scope::Cluster),
                ("apps", "Deployment", Scope::Namespaced),
                ("rbac.authorization.k8s.io", "ClusterRole", Scope::Cluster),
                (
                    "apiextensions.k8s.io",
                    "CustomResourceDefinition",
                    Scope::Cluster,
                ),
                ("discovery.k8s.io", "EndpointSlice", Scope::Namespaced),
                (
                    "authorization.k8s.io",
                    "SelfSubjectAccessReview",
                    Scope::Cluster,
                ),
            ] {
                let (resource, caps) = discovery
                    .get(group)
                    .and_then(|g| g.recommended_kind(kind))
                    .unwrap_or_else(|| panic!("{group}/{kind} is discovered"));
                assert_eq!(caps.scope, scope, "{kind}");
                assert_eq!(
                    resource.api_version,
                    if group.is_empty() {
                        "v1".to_owned()
                    } else {
                        format!("{group}/v1")
                    }
                );
            }
            let (_, deployments) = discovery
                .get("apps")
                .unwrap()
                .recommended_kind("Deployment")
                .unwrap();
            assert!(deployments.supports_operation("patch"));
            assert_eq!(deployments.subresources.len(), 1, "deployments/status");
            assert_eq!(deployments.subresources[0].0.plural, "status");
            assert!(discovery.get("example.com").is_none());
        }
    });
}

#[test]
fn a_crd_kind_is_discovered_and_served_only_once_established() {
    let server = ApiServer::start();
    server.set_crd_establishment("widgets.example.com", false);
    block_on(async {
        let client = client(&server).await;
        let crds: Api<DynamicObject> = Api::all_with(
            client.clone(),
            &ApiResource::from_gvk_with_plural(
                &kube::api::GroupVersionKind::gvk(
                    "apiextensions.k8s.io",
                    "v1",
                    "CustomResourceDefinition",
                ),
                "customresourcedefinitions",
            ),
        );
        let crd: DynamicObject = serde_json::from_value(widget_crd()).unwrap();
        crds.patch(
            "widgets.example.com",
            &PatchParams::apply("test"),
            &Patch::Apply(&crd),
        )
        .await
        .unwrap();
        let widgets = ApiResource::from_gvk_with_plural(
            &kube::api::GroupVersionKind::gvk("example.com", "v1", "Widget"),
            "widgets",
        );
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), "default", &widgets);
        let widget: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w1"}, "spec": {"size": 3},
        }))
        .unwrap();
        let refused = api
            .patch("w1", &PatchParams::apply("test"), &Patch::Apply(&widget))
            .await
            .unwrap_err();
        // The real server's mux answers in plain text; kube makes up a Status from it.
        let status = status_of(refused);
        assert_eq!(
            (&status["code"], &status["message"]),
            (&json!(404), &json!("404 page not found"))
        );
        assert_eq!(status["reason"], "Failed to parse error data");
        let discovery = Discovery::new(client.clone())
            .run_aggregated()
            .await
            .unwrap();
        assert!(
            discovery.get("example.com").is_none(),
            "not Established yet"
        );

        server.set_crd_establishment("widgets.example.com", true);
        assert!(server.wait_until(SETTLE, |v| {
            v.get(
                "apiextensions.k8s.io/v1",
                "CustomResourceDefinition",
                None,
                "widgets.example.com",
            )
            .is_some_and(|crd| {
                crd["status"]["conditions"].as_array().is_some_and(|c| {
                    c.iter()
                        .any(|c| c["type"] == "Established" && c["status"] == "True")
                })
            })
        }));
        for discovery in [
            Discovery::new(client.clone()).run().await.unwrap(),
            Discovery::new(client.clone())
                .run_aggregated()
                .await
                .unwrap(),
        ] {
            let (resource, caps) = discovery
                .get("example.com")
                .unwrap()
                .recommended_kind("Widget")
                .unwrap();
            assert_eq!(resource.plural, "widgets");
            assert_eq!(caps.scope, Scope::Namespaced);
        }
        let created = api
            .patch("w1", &PatchParams::apply("test"), &Patch::Apply(&widget))
            .await
            .unwrap();
        assert_eq!(created.data["spec"]["size"], 3);
        assert_eq!(created.metadata.generation, Some(1));
    });
}

#[test]
fn deleting_a_crd_removes_its_resources_and_its_kind() {
    let server = ApiServer::start();
    server.apply_as("obsboot", widget_crd());
    assert!(server.wait_until(SETTLE, |v| {
        v.get(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            None,
            "widgets.example.com",
        )
        .is_some_and(|crd| {
            crd["status"]["conditions"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c["type"] == "Established"))
        })
    }));
    server.apply_as("obsboot", json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w1", "namespace": "default"}}));
    server.delete(
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        None,
        "widgets.example.com",
    );
    assert!(server.wait_until(SETTLE, |v| {
        v.get(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            None,
            "widgets.example.com",
        )
        .is_none()
    }));
    assert!(server.objects().iter().all(|o| o["kind"] != "Widget"));
    block_on(async {
        let discovery = Discovery::new(client(&server).await)
            .run_aggregated()
            .await
            .unwrap();
        assert!(discovery.get("example.com").is_none());
    });
}
