//! The simulated workload controllers: what Deployments, StatefulSets, Jobs and Services
//! turn into, and the status a rollout check reads.

use std::cell::Cell;
use std::time::Duration;

use serde_json::{Value, json};

use super::{SETTLE, deployment};
use crate::apiserver::{ApiServer, Readiness, SimConfig, View};

/// Every stored object of a kind.
fn items<'a>(view: &View<'a>, kind: &str, api_version: &str) -> Vec<&'a Value> {
    view.list(api_version, kind)
}

/// The status condition of type `kind`.
fn condition<'a>(object: &'a Value, kind: &str) -> Option<&'a Value> {
    object["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
}

/// Whether the Deployment rolled out its current generation.
fn completed(v: &View<'_>, namespace: &str, name: &str) -> bool {
    v.get("apps/v1", "Deployment", Some(namespace), name)
        .is_some_and(|d| {
            d["status"]["observedGeneration"] == d["metadata"]["generation"]
                && condition(d, "Progressing")
                    .is_some_and(|c| c["reason"] == "NewReplicaSetAvailable")
        })
}

#[test]
fn a_deployment_runs_pods_through_a_replica_set_named_and_owned_as_on_a_cluster() {
    let server = ApiServer::start();
    server.apply_as("obsboot", deployment("default", "web", 2));
    assert!(server.wait_until(SETTLE, |v| completed(v, "default", "web")));
    let d = server
        .get("apps/v1", "Deployment", Some("default"), "web")
        .unwrap();
    let sets = server.list("apps/v1", "ReplicaSet");
    assert_eq!(sets.len(), 1);
    let rs = &sets[0];
    let hash = rs["metadata"]["labels"]["pod-template-hash"]
        .as_str()
        .unwrap();
    assert_eq!(rs["metadata"]["name"], format!("web-{hash}"));
    assert_eq!(
        rs["metadata"]["ownerReferences"][0]["uid"],
        d["metadata"]["uid"]
    );
    assert_eq!(
        rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "1"
    );
    let pods = server.list("v1", "Pod");
    assert_eq!(pods.len(), 2);
    for pod in &pods {
        let name = pod["metadata"]["name"].as_str().unwrap();
        let suffix = name
            .strip_prefix(&format!("web-{hash}-"))
            .expect("named after the ReplicaSet");
        assert_eq!(suffix.len(), 5);
        assert_eq!(
            pod["metadata"]["labels"],
            json!({"app": "web", "pod-template-hash": hash})
        );
        assert_eq!(
            pod["metadata"]["ownerReferences"][0]["name"],
            rs["metadata"]["name"]
        );
        assert_eq!(pod["status"]["phase"], "Running");
        assert_eq!(
            pod["spec"]["nodeName"], "ip-10-0-2-15",
            "the control plane is tainted"
        );
        assert_eq!(pod["status"]["hostIP"], "10.0.2.15");
        assert!(
            pod["status"]["podIP"]
                .as_str()
                .unwrap()
                .starts_with("10.244.1.")
        );
        assert_eq!(pod["status"]["containerStatuses"][0]["ready"], true);
    }
    let status = &d["status"];
    assert_eq!(
        (
            &status["replicas"],
            &status["updatedReplicas"],
            &status["readyReplicas"],
            &status["availableReplicas"]
        ),
        (&json!(2), &json!(2), &json!(2), &json!(2))
    );
    let available = condition(&d, "Available").unwrap();
    assert_eq!(
        (&available["status"], &available["reason"]),
        (&json!("True"), &json!("MinimumReplicasAvailable"))
    );
    let progressing = condition(&d, "Progressing").unwrap();
    assert_eq!(
        progressing["message"],
        format!("ReplicaSet \"web-{hash}\" has successfully progressed.")
    );
    assert_eq!(
        d["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "1"
    );
}

#[test]
fn observed_generation_lags_behind_a_new_generation() {
    let config = SimConfig {
        observe_after: Duration::from_millis(300),
        ..SimConfig::standard()
    };
    let server = ApiServer::start_with(config);
    server.apply_as("obsboot", deployment("default", "web", 1));
    assert!(server.wait_until(SETTLE, |v| completed(v, "default", "web")));
    let changed = server.apply_as("obsboot", deployment("default", "web", 2));
    assert_eq!(changed["metadata"]["generation"], 2);
    let d = server
        .get("apps/v1", "Deployment", Some("default"), "web")
        .unwrap();
    assert_eq!(
        d["status"]["observedGeneration"], 1,
        "still the old generation"
    );
    assert!(
        condition(&d, "Progressing").is_some_and(|c| c["reason"] == "NewReplicaSetAvailable"),
        "and looks done"
    );
    assert!(server.wait_until(SETTLE, |v| {
        completed(v, "default", "web")
            && v.get("apps/v1", "Deployment", Some("default"), "web")
                .unwrap()["status"]["readyReplicas"]
                == 2
    }));
}

/// `kubectl rollout restart`, as its merge patch.
fn restart(server: &ApiServer, name: &str, at: &str) {
    server.update_as("kubectl-rollout", json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "default"},
        "spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": at}}}},
    }));
}

/// Restarts `web` and reports whether old and new pods ever ran side by side.
fn rollout_overlaps(server: &ApiServer) -> bool {
    let before: Vec<String> = server
        .list("v1", "Pod")
        .iter()
        .map(|p| p["metadata"]["name"].as_str().unwrap().to_owned())
        .collect();
    restart(server, "web", "2025-01-01T00:00:00Z");
    let overlap = Cell::new(false);
    let done = server.wait_until(SETTLE, |v| {
        let pods = items(v, "Pod", "v1");
        let live: Vec<&&Value> = pods
            .iter()
            .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
            .collect();
        let old = live
            .iter()
            .any(|p| before.iter().any(|b| *b == p["metadata"]["name"]));
        let new = live
            .iter()
            .any(|p| !before.iter().any(|b| *b == p["metadata"]["name"]));
        if old && new {
            overlap.set(true);
        }
        !old && new && completed(v, "default", "web")
    });
    assert!(done, "the rollout completes");
    assert_eq!(
        server.list("apps/v1", "ReplicaSet").len(),
        2,
        "a new ReplicaSet; the old one kept at 0"
    );
    overlap.get()
}

#[test]
fn a_rollout_restart_replaces_the_pods_and_recreate_stops_the_old_ones_first() {
    let server = ApiServer::start();
    server.apply_as("obsboot", deployment("default", "web", 2));
    assert!(server.wait_until(SETTLE, |v| completed(v, "default", "web")));
    assert!(
        rollout_overlaps(&server),
        "a rolling update overlaps old and new pods"
    );

    let server = ApiServer::start();
    let mut recreate = deployment("default", "web", 2);
    recreate["spec"]["strategy"] = json!({"type": "Recreate"});
    server.apply_as("obsboot", recreate);
    assert!(server.wait_until(SETTLE, |v| completed(v, "default", "web")));
    assert!(
        !rollout_overlaps(&server),
        "Recreate: old pods are gone before new ones start"
    );
    let d = server
        .get("apps/v1", "Deployment", Some("default"), "web")
        .unwrap();
    assert_eq!(
        d["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "2"
    );
}

#[test]
fn pods_that_cannot_pull_their_image_exceed_the_progress_deadline() {
    let server = ApiServer::start();
    server.set_readiness("default", "web", Readiness::ImagePullBackOff);
    server.apply_as("obsboot", deployment("default", "web", 1));
    assert!(server.wait_until(SETTLE, |v| {
        v.get("apps/v1", "Deployment", Some("default"), "web")
            .and_then(|d| condition(d, "Progressing"))
            .is_some_and(|c| c["reason"] == "ProgressDeadlineExceeded")
    }));
    let d = server
        .get("apps/v1", "Deployment", Some("default"), "web")
        .unwrap();
    let progressing = condition(&d, "Progressing").unwrap();
    let rs = &server.list("apps/v1", "ReplicaSet")[0];
    assert_eq!(progressing["status"], "False");
    assert_eq!(
        progressing["message"],
        format!(
            "ReplicaSet {} has timed out progressing.",
            rs["metadata"]["name"]
        )
    );
    assert_eq!(condition(&d, "Available").unwrap()["status"], "False");
    let pod = &server.list("v1", "Pod")[0];
    assert_eq!(pod["status"]["phase"], "Pending");
    assert_eq!(
        pod["status"]["containerStatuses"][0]["state"]["waiting"],
        json!({"reason": "ImagePullBackOff", "message": "Back-off pulling image \"nginx:1.27\""})
    );

    server.set_readiness("default", "never", Readiness::Never);
    server.apply_as("obsboot", deployment("default", "never", 1));
    assert!(server.wait_until(SETTLE, |v| {
        items(v, "Pod", "v1")
            .iter()
            .any(|p| p["metadata"]["labels"]["app"] == "never" && p["status"]["phase"] == "Running")
    }));
    std::thread::sleep(Duration::from_millis(200));
    let d = server
        .get("apps/v1", "Deployment", Some("default"), "never")
        .unwrap();
    let progressing = condition(&d, "Progressing").unwrap();
    assert_eq!(
        (&progressing["status"], &progressing["reason"]),
        (&json!("True"), &json!("ReplicaSetUpdated")),
        "still progressing"
    );
    assert_eq!(d["status"].get("readyReplicas"), None);
}
