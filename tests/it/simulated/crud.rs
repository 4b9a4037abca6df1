//! Create, get, replace, merge patch and delete, answered as a real server answers them.

use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;

use super::{block_on, client, status_of};
use crate::apiserver::ApiServer;

/// A ConfigMap with one key.
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

#[test]
fn delete_honours_preconditions_and_dry_run() {
    let server = ApiServer::start();
    block_on(async {
        let api: Api<ConfigMap> = Api::namespaced(client(&server).await, "default");
        let created = api
            .create(&PostParams::default(), &config_map("c"))
            .await
            .unwrap();
        let stale = DeleteParams {
            preconditions: Some(kube::api::Preconditions {
                uid: Some("not-the-uid".to_owned()),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        let refused = status_of(api.delete("c", &stale).await.unwrap_err());
        assert_eq!(refused["reason"], "Conflict");
        assert_eq!(
            refused["message"],
            format!(
                "Operation cannot be fulfilled on configmaps \"c\": Precondition failed: UID in precondition: not-the-uid, UID in object meta: {}",
                created.metadata.uid.clone().unwrap()
            )
        );
        let dry = DeleteParams {
            dry_run: true,
            ..DeleteParams::default()
        };
        api.delete("c", &dry).await.unwrap();
        assert!(
            server
                .get("v1", "ConfigMap", Some("default"), "c")
                .is_some(),
            "a dry run deletes nothing"
        );
        let journal = server.journal();
        let last = journal.last().unwrap();
        assert!(last.dry_run && !last.write);
        let matching = DeleteParams {
            preconditions: Some(kube::api::Preconditions {
                uid: created.metadata.uid.clone(),
                resource_version: created.metadata.resource_version.clone(),
            }),
            ..DeleteParams::default()
        };
        api.delete("c", &matching).await.unwrap();
        assert!(
            server
                .get("v1", "ConfigMap", Some("default"), "c")
                .is_none()
        );
    });
}

#[test]
fn json_patches_status_updates_and_generated_names() {
    use k8s_openapi::api::apps::v1::Deployment;

    let server = ApiServer::start();
    server.pause_controllers(true);
    block_on(async {
        let client = client(&server).await;
        let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
        let generated: ConfigMap =
            serde_json::from_value(json!({"metadata": {"generateName": "settings-"}})).unwrap();
        let created = config_maps
            .create(&PostParams::default(), &generated)
            .await
            .unwrap();
        let name = created.metadata.name.unwrap();
        assert!(
            name.starts_with("settings-") && name.len() == "settings-".len() + 5,
            "{name}"
        );

        let raw_patch = json!([
            {"op": "add", "path": "/data", "value": {"a": "1"}},
            {"op": "replace", "path": "/data/a", "value": "2"},
        ])
        .to_string();
        let path = format!("/api/v1/namespaces/default/configmaps/{name}");
        let answer = super::raw(
            &server,
            "PATCH",
            &path,
            "application/json-patch+json",
            &raw_patch,
        );
        assert_eq!(
            (answer.code, &answer.json()["data"]),
            (200, &json!({"a": "2"}))
        );

        let deployments: Api<Deployment> = Api::namespaced(client, "default");
        deployments
            .patch(
                "web",
                &PatchParams::apply("obsboot"),
                &Patch::Apply(super::deployment("default", "web", 1)),
            )
            .await
            .unwrap();
        let status = json!({"status": {"observedGeneration": 1, "replicas": 7}});
        let updated = deployments
            .patch_status("web", &PatchParams::default(), &Patch::Merge(&status))
            .await
            .unwrap();
        assert_eq!(updated.status.unwrap().replicas, Some(7));
        let ignored = json!({"status": {"replicas": 9}, "metadata": {"labels": {"x": "y"}}});
        let main = deployments
            .patch("web", &PatchParams::default(), &Patch::Merge(&ignored))
            .await
            .unwrap();
        assert_eq!(
            main.status.unwrap().replicas,
            Some(7),
            "the main resource ignores status"
        );
        assert_eq!(main.metadata.labels.unwrap()["x"], "y");
        let entries = main.metadata.managed_fields.unwrap();
        let status_entry = entries
            .iter()
            .find(|e| e.subresource.as_deref() == Some("status"))
            .expect("a status entry");
        assert_eq!(status_entry.operation.as_deref(), Some("Update"));
    });
}
