//! The platform obsboot renders, applied to the simulated cluster as bootstrap would apply
//! it: everything is accepted, every workload settles, and a second apply changes nothing.

use std::process::Command;

use kube::Discovery;
use kube::api::{Api, DynamicObject, GroupVersionKind, Patch, PatchParams};
use kube::discovery::Scope;
use serde_json::Value;

use super::{SETTLE, block_on, client};
use crate::apiserver::{ApiServer, View};

/// The objects `obsboot render` produces from the built-in stacks.
fn rendered() -> Vec<Value> {
    let output = Command::new(env!("CARGO_BIN_EXE_obsboot"))
        .args(["render", "-o", "json"])
        .output()
        .expect("run obsboot render");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let document: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    document["objects"].as_array().expect("objects").clone()
}

/// Applies every object as obsboot, resolving kinds through discovery.
async fn apply_all(server: &ApiServer, objects: &[Value]) {
    let client = client(server).await;
    let discovery = Discovery::new(client.clone())
        .run_aggregated()
        .await
        .unwrap();
    for object in objects {
        let (group, version) = object["apiVersion"]
            .as_str()
            .unwrap()
            .rsplit_once('/')
            .unwrap_or(("", object["apiVersion"].as_str().unwrap()));
        let gvk = GroupVersionKind::gvk(group, version, object["kind"].as_str().unwrap());
        let (resource, caps) = discovery
            .resolve_gvk(&gvk)
            .unwrap_or_else(|| panic!("{gvk:?} is discovered"));
        let api: Api<DynamicObject> = match caps.scope {
            Scope::Namespaced => Api::namespaced_with(
                client.clone(),
                object["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or("default"),
                &resource,
            ),
            Scope::Cluster => Api::all_with(client.clone(), &resource),
        };
        let name = object["metadata"]["name"].as_str().unwrap();
        api.patch(name, &PatchParams::apply("obsboot"), &Patch::Apply(object))
            .await
            .unwrap_or_else(|e| panic!("apply {} {name}: {e}", gvk.kind));
    }
}

/// Whether every Deployment rolled out, every DaemonSet is ready and every CRD Established.
fn settled(v: &View<'_>) -> bool {
    let deployments = v.list("apps/v1", "Deployment");
    let daemon_sets = v.list("apps/v1", "DaemonSet");
    let crds = v.list("apiextensions.k8s.io/v1", "CustomResourceDefinition");
    !deployments.is_empty()
        && deployments.iter().all(|d| {
            d["status"]["observedGeneration"] == d["metadata"]["generation"]
                && d["status"]["conditions"]
                    .as_array()
                    .is_some_and(|c| c.iter().any(|c| c["reason"] == "NewReplicaSetAvailable"))
        })
        && daemon_sets.iter().all(|d| {
            d["status"]["numberReady"] == d["status"]["desiredNumberScheduled"]
                && d["status"]["desiredNumberScheduled"] != 0
        })
        && crds.iter().all(|c| {
            c["status"]["conditions"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c["type"] == "Established"))
        })
}

#[test]
fn the_rendered_platform_applies_settles_and_reapplies_as_a_no_op() {
    let objects = rendered();
    let server = ApiServer::start();
    block_on(apply_all(&server, &objects));
    if !server.wait_until(SETTLE, settled) {
        let unsettled: Vec<String> = server
            .list("v1", "Pod")
            .iter()
            .filter(|p| p["status"]["phase"] != "Running")
            .map(|p| {
                format!(
                    "{}/{}: {}",
                    p["metadata"]["namespace"],
                    p["metadata"]["name"],
                    p["status"]["conditions"][0]["message"]
                )
            })
            .collect();
        let deployments: Vec<String> = server
            .list("apps/v1", "Deployment")
            .iter()
            .map(|d| {
                format!(
                    "{} gen {} {}",
                    d["metadata"]["name"], d["metadata"]["generation"], d["status"]
                )
            })
            .collect();
        let others: Vec<String> = server
            .list("apps/v1", "DaemonSet")
            .iter()
            .chain(
                server
                    .list("apiextensions.k8s.io/v1", "CustomResourceDefinition")
                    .iter(),
            )
            .map(|d| format!("{} {}", d["metadata"]["name"], d["status"]))
            .collect();
        panic!("not settled; pods not running: {unsettled:#?}\n{deployments:#?}\n{others:#?}");
    }
    let rv = server.resource_version();
    server.clear_journal();
    block_on(apply_all(&server, &objects));
    let writes: Vec<String> = server
        .journal()
        .iter()
        .filter(|r| r.write)
        .map(|r| r.path.clone())
        .collect();
    assert!(
        writes.is_empty(),
        "a second apply writes nothing: {writes:#?}"
    );
    assert_eq!(server.resource_version(), rv);
}
