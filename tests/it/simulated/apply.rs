//! Server-side apply: creation, no-op re-applies, generation, ownership, conflicts, force,
//! pruning, dry runs and the options a real server insists on.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Service};
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};

use super::{SETTLE, block_on, client, deployment, raw, status_of};
use crate::apiserver::ApiServer;

/// Waits until the Deployment has rolled out its current generation.
fn available(server: &ApiServer, namespace: &str, name: &str) -> bool {
    server.wait_until(SETTLE, |v| {
        v.get("apps/v1", "Deployment", Some(namespace), name)
            .is_some_and(|d| {
                d["status"]["observedGeneration"] == d["metadata"]["generation"]
                    && d["status"]["conditions"]
                        .as_array()
                        .is_some_and(|c| c.iter().any(|c| c["reason"] == "NewReplicaSetAvailable"))
            })
    })
}

#[test]
fn apply_creates_a_repeat_changes_nothing_and_a_change_bumps_generation() {
    let server = ApiServer::start();
    block_on(async {
        let api: Api<Deployment> = Api::namespaced(client(&server).await, "default");
        let params = PatchParams::apply("obsboot");
        let created = api
            .patch(
                "web",
                &params,
                &Patch::Apply(deployment("default", "web", 2)),
            )
            .await
            .unwrap();
        assert_eq!(created.metadata.generation, Some(1));
        let entry = &created.metadata.managed_fields.as_ref().unwrap()[0];
        assert_eq!(
            (entry.manager.as_deref(), entry.operation.as_deref()),
            (Some("obsboot"), Some("Apply"))
        );
        let owned = serde_json::to_value(entry.fields_v1.as_ref().unwrap()).unwrap();
        assert_eq!(owned["f:spec"]["f:replicas"], json!({}));
        assert_eq!(owned["f:metadata"]["f:labels"]["f:app"], json!({}));
        assert!(available(&server, "default", "web"));

        let settled = server.resource_version();
        let before = api.get("web").await.unwrap().metadata.resource_version;
        server.clear_journal();
        let again = api
            .patch(
                "web",
                &params,
                &Patch::Apply(deployment("default", "web", 2)),
            )
            .await
            .unwrap();
        assert_eq!(
            again.metadata.resource_version, before,
            "a no-op apply keeps the resourceVersion"
        );
        assert_eq!(
            server.resource_version(),
            settled,
            "and writes nothing at all"
        );
        let journal = server.journal();
        assert_eq!((journal[0].status, journal[0].write), (200, false));

        let changed = api
            .patch(
                "web",
                &params,
                &Patch::Apply(deployment("default", "web", 3)),
            )
            .await
            .unwrap();
        assert_ne!(changed.metadata.resource_version, before);
        assert_eq!(changed.metadata.generation, Some(2));
        assert_eq!(changed.spec.unwrap().replicas, Some(3));
        assert!(server.journal().last().unwrap().write);
    });
}

#[test]
fn a_conflict_with_another_manager_is_409_and_force_takes_the_field_over() {
    let server = ApiServer::start();
    server.apply_as("obsboot", deployment("default", "web", 2));
    server.update_as(
        "kubectl-edit",
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default"}, "spec": {"replicas": 5},
        }),
    );
    block_on(async {
        let api: Api<Deployment> = Api::namespaced(client(&server).await, "default");
        let refused = api
            .patch(
                "web",
                &PatchParams::apply("obsboot"),
                &Patch::Apply(deployment("default", "web", 2)),
            )
            .await
            .unwrap_err();
        assert_eq!(
            status_of(refused),
            json!({
                "metadata": {},
                "status": "Failure",
                "message": "Apply failed with 1 conflict: conflict with \"kubectl-edit\" using apps/v1: .spec.replicas",
                "reason": "Conflict",
                "details": {"causes": [{
                    "reason": "FieldManagerConflict",
                    "message": "conflict with \"kubectl-edit\" using apps/v1",
                    "field": ".spec.replicas",
                }]},
                "code": 409,
            })
        );
        assert_eq!(
            server
                .get("apps/v1", "Deployment", Some("default"), "web")
                .unwrap()["spec"]["replicas"],
            5
        );

        let mut labelled = deployment("default", "web", 2);
        labelled["metadata"]["labels"]["tier"] = "front".into();
        server.update_as(
            "kubectl-edit",
            json!({
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "web", "namespace": "default", "labels": {"tier": "back"}},
            }),
        );
        let refused = api
            .patch(
                "web",
                &PatchParams::apply("obsboot"),
                &Patch::Apply(&labelled),
            )
            .await
            .unwrap_err();
        let status = status_of(refused);
        assert_eq!(
            status["message"],
            "Apply failed with 2 conflicts: conflicts with \"kubectl-edit\" using apps/v1:\n- .metadata.labels.tier\n- .spec.replicas"
        );
        assert_eq!(status["details"]["causes"].as_array().unwrap().len(), 2);

        let forced = api
            .patch(
                "web",
                &PatchParams::apply("obsboot").force(),
                &Patch::Apply(&labelled),
            )
            .await
            .unwrap();
        assert_eq!(forced.spec.as_ref().unwrap().replicas, Some(2));
        let managers: Vec<Value> = forced
            .metadata
            .managed_fields
            .unwrap()
            .iter()
            .map(|m| serde_json::to_value(m).unwrap())
            .collect();
        let edit = managers.iter().find(|m| m["manager"] == "kubectl-edit");
        assert!(
            edit.is_none_or(|m| m["fieldsV1"]["f:spec"].get("f:replicas").is_none()),
            "{managers:?}"
        );
        let journal = server.journal();
        let force_params: Vec<Option<&str>> = journal
            .iter()
            .filter(|r| r.is_apply())
            .map(|r| r.param("force"))
            .collect();
        assert_eq!(force_params, [None, None, Some("true")]);
    });
}

#[test]
fn fields_the_applier_stops_sending_are_removed_unless_another_manager_owns_them() {
    let server = ApiServer::start();
    let config = |data: Value| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "default"}, "data": data});
    block_on(async {
        let api: Api<ConfigMap> = Api::namespaced(client(&server).await, "default");
        let params = PatchParams::apply("obsboot");
        api.patch(
            "settings",
            &params,
            &Patch::Apply(config(json!({"a": "1", "b": "2"}))),
        )
        .await
        .unwrap();
        server.update_as("someone", json!({
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "default"}, "data": {"c": "3"},
        }));
        let pruned = api
            .patch(
                "settings",
                &params,
                &Patch::Apply(config(json!({"a": "1"}))),
            )
            .await
            .unwrap();
        let data = pruned.data.unwrap();
        assert_eq!(
            data.keys().collect::<Vec<_>>(),
            ["a", "c"],
            "b is pruned, c belongs to someone else"
        );
    });
}

#[test]
fn a_dry_run_apply_answers_and_stores_nothing() {
    let server = ApiServer::start();
    block_on(async {
        let api: Api<ConfigMap> = Api::namespaced(client(&server).await, "default");
        let params = PatchParams::apply("obsboot").dry_run();
        let object = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "dry"}, "data": {"a": "1"}});
        let answered = api
            .patch("dry", &params, &Patch::Apply(&object))
            .await
            .unwrap();
        assert_eq!(answered.data.unwrap()["a"], "1");
        assert!(answered.metadata.uid.is_some());
        assert!(
            server
                .get("v1", "ConfigMap", Some("default"), "dry")
                .is_none()
        );
        let last = server.journal().pop().unwrap();
        assert!(last.dry_run && !last.write);
    });
}

#[test]
fn an_apply_needs_a_field_manager_and_the_url_s_api_version() {
    let server = ApiServer::start();
    let object = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
    block_on(async {
        let api: Api<ConfigMap> = Api::namespaced(client(&server).await, "default");
        let refused = api
            .patch("c", &PatchParams::default(), &Patch::Apply(&object))
            .await
            .unwrap_err();
        assert_eq!(
            status_of(refused),
            json!({
                "metadata": {},
                "status": "Failure",
                "message": "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
                "reason": "Invalid",
                "details": {"group": "meta.k8s.io", "kind": "PatchOptions", "causes": [{
                    "reason": "FieldValueRequired", "message": "Required value: is required for apply patch", "field": "fieldManager",
                }]},
                "code": 422,
            })
        );
    });
    let wrong = raw(
        &server,
        "PATCH",
        "/api/v1/namespaces/default/configmaps/c?fieldManager=obsboot",
        "application/apply-patch+yaml",
        "apiVersion: apps/v1\nkind: ConfigMap\nmetadata:\n  name: c\n",
    );
    assert_eq!(wrong.code, 400);
    assert_eq!(
        wrong.json()["message"],
        "Incorrect version specified in apply patch. Specified patch version: apps/v1, expected: v1"
    );
}

#[test]
fn a_yaml_apply_body_creates_with_201_and_server_set_fields() {
    let server = ApiServer::start();
    let yaml = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector:\n    app: web\n  ports:\n  - port: 80\n    targetPort: http\n";
    let path = "/api/v1/namespaces/default/services/web?fieldManager=obsboot";
    let created = raw(&server, "PATCH", path, "application/apply-patch+yaml", yaml);
    assert_eq!(created.code, 201, "{}", created.body);
    let service: Service = serde_json::from_value(created.json()).unwrap();
    let spec = service.spec.unwrap();
    assert_eq!(spec.cluster_ip.as_deref(), Some("10.96.0.11"));
    assert_eq!(spec.type_.as_deref(), Some("ClusterIP"));
    assert_eq!(spec.ports.unwrap()[0].protocol.as_deref(), Some("TCP"));
    let rv = service.metadata.resource_version;
    let again = raw(&server, "PATCH", path, "application/apply-patch+yaml", yaml);
    assert_eq!(again.code, 200);
    assert_eq!(
        again.json()["metadata"]["resourceVersion"].as_str(),
        rv.as_deref(),
        "defaults do not defeat the no-op"
    );
}
