//! StatefulSets, Jobs and Services: pods in order with claims, pods run to completion,
//! endpoints that follow the pods.

use serde_json::{Value, json};

use super::{SETTLE, deployment};
use crate::apiserver::{ApiServer, View};

/// The status condition of type `kind`.
fn condition<'a>(object: &'a Value, kind: &str) -> Option<&'a Value> {
    object["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
}

#[test]
fn a_statefulset_creates_ordered_pods_with_claims_and_revisions() {
    let server = ApiServer::start();
    server.apply_as("obsboot", json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": "default"},
        "spec": {
            "replicas": 2, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
            "template": {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [{"name": "db", "image": "postgres:17"}]}},
            "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}],
        },
    }));
    assert!(server.wait_until(SETTLE, |v| {
        v.get("apps/v1", "StatefulSet", Some("default"), "db")
            .is_some_and(|s| s["status"]["readyReplicas"] == 2)
    }));
    let sts = server
        .get("apps/v1", "StatefulSet", Some("default"), "db")
        .unwrap();
    assert_eq!(
        sts["status"]["currentRevision"],
        sts["status"]["updateRevision"]
    );
    assert_eq!(sts["status"]["updatedReplicas"], 2);
    let mut names: Vec<String> = server
        .list("v1", "Pod")
        .iter()
        .map(|p| p["metadata"]["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["db-0", "db-1"]);
    let claim = server
        .get("v1", "PersistentVolumeClaim", Some("default"), "data-db-0")
        .unwrap();
    assert_eq!(claim["status"]["phase"], "Bound");
    let pod = server.get("v1", "Pod", Some("default"), "db-0").unwrap();
    assert!(
        pod["spec"]["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["persistentVolumeClaim"]["claimName"] == "data-db-0")
    );
}

#[test]
fn a_job_runs_its_pod_to_completion() {
    let server = ApiServer::start();
    server.apply_as("obsboot", json!({
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate", "namespace": "default"},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "m", "image": "busybox:1.36"}]}}},
    }));
    assert!(server.wait_until(SETTLE, |v| {
        v.get("batch/v1", "Job", Some("default"), "migrate")
            .and_then(|j| condition(j, "Complete"))
            .is_some_and(|c| c["status"] == "True")
    }));
    let job = server
        .get("batch/v1", "Job", Some("default"), "migrate")
        .unwrap();
    assert_eq!(job["status"]["succeeded"], 1);
    assert_eq!(server.list("v1", "Pod")[0]["status"]["phase"], "Succeeded");
}

#[test]
fn a_service_gets_endpoint_slices_and_endpoints_of_its_pods() {
    let server = ApiServer::start();
    server.apply_as("obsboot", deployment("default", "web", 2));
    server.apply_as("obsboot", json!({
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"},
        "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]},
    }));
    let ready_endpoints = |v: &View<'_>, n: usize| {
        v.list("discovery.k8s.io/v1", "EndpointSlice")
            .iter()
            .any(|s| {
                s["metadata"]["labels"]["kubernetes.io/service-name"] == "web"
                    && s["endpoints"].as_array().is_some_and(|e| {
                        e.len() == n && e.iter().all(|e| e["conditions"]["ready"] == true)
                    })
            })
    };
    assert!(server.wait_until(SETTLE, |v| ready_endpoints(v, 2)));
    let slice = server
        .list("discovery.k8s.io/v1", "EndpointSlice")
        .into_iter()
        .find(|s| s["metadata"]["labels"]["kubernetes.io/service-name"] == "web")
        .unwrap();
    let name = slice["metadata"]["name"].as_str().unwrap();
    assert!(
        name.starts_with("web-") && name.len() == "web-".len() + 5,
        "{name}"
    );
    assert_eq!(
        slice["ports"],
        json!([{"name": "http", "port": 80, "protocol": "TCP"}])
    );
    assert_eq!(slice["endpoints"][0]["targetRef"]["kind"], "Pod");
    let endpoints = server
        .get("v1", "Endpoints", Some("default"), "web")
        .unwrap();
    assert_eq!(
        endpoints["subsets"][0]["addresses"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    server.apply_as("obsboot", deployment("default", "web", 1));
    assert!(server.wait_until(SETTLE, |v| ready_endpoints(v, 1)));
}
