//! Create, get, replace, merge patch and delete, answered as a real server answers them.

use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;

use super::{block_on, client, status_of};
use crate::apiserver::ApiServer;

fn config_map(name: &str) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name}, "data": {"k": "v"}})).unwrap()
}

#[test]
fn create_then_create_again_is_already_exists_and_a_missing_get_is_not_found() {
    let server = ApiServer::start();
    block_on(async {
        let api: Api<ConfigMap> = Api::namespaced(client(&server).await, "default");
        let created = api
            .create(&PostParams::default(), &config_map("one"))
            .await
            .unwrap();
        assert!(created.metadata.uid.is_some() && created.metadata.creation_timestamp.is_some());
        assert_eq!(server.journal().last().unwrap().status, 201);
        let again = api
            .create(&PostParams::default(), &config_map("one"))
            .await
            .unwrap_err();
        assert_eq!(
            status_of(again),
            json!({
                "metadata": {}, "status": "Failure", "message": "configmaps \"one\" already exists", "reason": "AlreadyExists",
                "details": {"name": "one", "kind": "configmaps"}, "code": 409,
            })
        );
        let missing = Api::<k8s_openapi::api::apps::v1::Deployment>::namespaced(
            api.clone().into_client(),
            "default",
        )
        .get("nothing")
        .await
        .unwrap_err();
        assert_eq!(
            status_of(missing),
            json!({
                "metadata": {}, "status": "Failure", "message": "deployments.apps \"nothing\" not found", "reason": "NotFound",
                "details": {"name": "nothing", "group": "apps", "kind": "deployments"}, "code": 404,
            })
        );
    });
}

#[test]
fn a_replace_from_a_stale_resource_version_is_a_conflict() {
    let server = ApiServer::start();
    block_on(async {
        let api: Api<ConfigMap> = Api::namespaced(client(&server).await, "default");
        let first = api
            .create(&PostParams::default(), &config_map("c"))
            .await
            .unwrap();
        let mut newer = first.clone();
        newer.data = Some([("k".to_owned(), "w".to_owned())].into());
        api.replace("c", &PostParams::default(), &newer)
            .await
            .unwrap();
        let mut stale = first;
        stale.data = Some([("k".to_owned(), "x".to_owned())].into());
        let refused = api
            .replace("c", &PostParams::default(), &stale)
            .await
            .unwrap_err();
        assert_eq!(
            status_of(refused),
            json!({
                "metadata": {}, "status": "Failure", "reason": "Conflict", "code": 409,
                "message": "Operation cannot be fulfilled on configmaps \"c\": the object has been modified; please apply your changes to the latest version and try again",
                "details": {"name": "c", "kind": "configmaps"},
            })
        );
    });
}

#[test]
fn a_merge_patch_is_an_update_and_delete_answers_success_or_the_object() {
    let server = ApiServer::start();
    block_on(async {
        let client = client(&server).await;
        let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
        api.create(&PostParams::default(), &config_map("c"))
            .await
            .unwrap();
        let patch = json!({"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "2025-01-01T00:00:00Z"}}, "data": {"k": null}});
        let patched = api
            .patch("c", &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap();
        assert!(patched.data.is_none_or(|d| d.is_empty()));
        assert_eq!(
            patched.metadata.annotations.unwrap()["kubectl.kubernetes.io/restartedAt"],
            "2025-01-01T00:00:00Z"
        );
        let gone = api.delete("c", &DeleteParams::default()).await.unwrap();
        let status = gone.right().expect("a Status for a ConfigMap");
        assert_eq!(
            status.status,
            Some(kube::core::response::StatusSummary::Success)
        );
        assert_eq!(status.details.unwrap().name, "c");

        let pods: Api<Pod> = Api::namespaced(client, "default");
        let pod: Pod = serde_json::from_value(json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}})).unwrap();
        pods.create(&PostParams::default(), &pod).await.unwrap();
        let deleted = pods.delete("p", &DeleteParams::default()).await.unwrap();
        assert_eq!(
            deleted
                .left()
                .expect("a Pod answers with the object")
                .metadata
                .name
                .as_deref(),
            Some("p")
        );
    });
}
