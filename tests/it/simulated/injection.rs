//! Admission webhooks: the Linkerd proxy injector meshes pods only while it serves, builds
//! them from linkerd-config as upstream does, and a `Fail` webhook without endpoints refuses
//! the writes it covers.

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams};
use serde_json::{Value, json};

use super::{SETTLE, block_on, client, deployment, status_of};
use crate::apiserver::{ApiServer, View};
use crate::harness::repo;

/// The values tree at upstream's defaults, as far as the injector reads it.
pub fn upstream_defaults() -> String {
    std::fs::read_to_string(repo().join("tests/it/fixtures/linkerd/upstream-default-values.yaml"))
        .expect("read the upstream defaults")
}

/// linkerd-config with `values`, and the trust roots with `anchors`, in `linkerd`.
pub fn linkerd_config(server: &ApiServer, values: &str, anchors: &str) {
    server.apply_as("obsboot", json!({
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "linkerd-config", "namespace": "linkerd"},
        "data": {"values": values},
    }));
    server.apply_as("obsboot", json!({
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "linkerd-identity-trust-roots", "namespace": "linkerd"},
        "data": {"ca-bundle.crt": anchors},
    }));
}

/// Linkerd's proxy injector webhook configuration, as its chart renders it.
fn injector_config() -> Value {
    json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": "linkerd-proxy-injector-webhook-config"},
        "webhooks": [{
            "name": "linkerd-proxy-injector.linkerd.io",
            "clientConfig": {"service": {"name": "linkerd-proxy-injector", "namespace": "linkerd", "path": "/"}},
            "failurePolicy": "Ignore",
            "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods", "services"]}],
            "namespaceSelector": {"matchExpressions": [{"key": "config.linkerd.io/admission-webhooks", "operator": "NotIn", "values": ["disabled"]}]},
            "sideEffects": "None",
            "admissionReviewVersions": ["v1"],
        }],
    })
}

/// Whether the pod has the Linkerd proxy.
pub fn meshed(pod: &Value) -> bool {
    pod["spec"]["initContainers"]
        .as_array()
        .is_some_and(|c| c.iter().any(|c| c["name"] == "linkerd-proxy"))
}

/// The live pods labelled `app`.
pub fn app_pods<'a>(v: &View<'a>, app: &str) -> Vec<&'a Value> {
    v.list("v1", "Pod")
        .into_iter()
        .filter(|p| {
            p["metadata"]["labels"]["app"] == app && p["metadata"]["deletionTimestamp"].is_null()
        })
        .collect()
}

/// The `bookinfo` namespace (asking for injection) and the `linkerd` namespace (opted out
/// of webhooks), with the injector's webhook configuration.
pub fn meshed_namespace(server: &ApiServer) {
    server.apply_as(
        "obsboot",
        json!({
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": "bookinfo", "annotations": {"linkerd.io/inject": "enabled"}},
        }),
    );
    server.apply_as("obsboot", json!({
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": "linkerd", "labels": {"config.linkerd.io/admission-webhooks": "disabled"}},
    }));
    server.apply_as("obsboot", injector_config());
    linkerd_config(server, &upstream_defaults(), "IdentityTrustAnchorsPEM");
}

/// Starts the injector's Deployment and Service, and identity's (whose certificate every
/// meshed proxy needs to be ready), and waits until they serve.
pub fn start_injector(server: &ApiServer) {
    serve(
        server,
        "linkerd-proxy-injector",
        "linkerd-proxy-injector",
        443,
    );
    start_identity(server);
}

/// Starts identity's Deployment and the headless Service proxies ask for certificates.
pub fn start_identity(server: &ApiServer) {
    serve(
        server,
        "linkerd-identity",
        "linkerd-identity-headless",
        8080,
    );
}

/// Starts a Deployment `name` in `linkerd` behind the Service `service`, and waits until the
/// Service has a ready endpoint.
fn serve(server: &ApiServer, name: &str, service: &str, port: u16) {
    let mut workload = deployment("linkerd", name, 1);
    workload["spec"]["template"]["spec"]["containers"][0]["image"] =
        "cr.l5d.io/linkerd/controller:edge-25.1.1".into();
    server.apply_as("obsboot", workload);
    server.apply_as("obsboot", json!({
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": service, "namespace": "linkerd"},
        "spec": {"selector": {"app": name}, "ports": [{"port": port, "targetPort": 80}]},
    }));
    assert!(server.wait_until(SETTLE, |v| {
        v.list("discovery.k8s.io/v1", "EndpointSlice")
            .iter()
            .any(|s| {
                s["metadata"]["labels"]["kubernetes.io/service-name"] == service
                    && s["endpoints"][0]["conditions"]["ready"] == true
            })
    }));
}

#[test]
fn a_meshed_pod_is_ready_only_once_identity_certifies_its_proxy() {
    let server = ApiServer::start();
    meshed_namespace(&server);
    serve(
        &server,
        "linkerd-proxy-injector",
        "linkerd-proxy-injector",
        443,
    );
    server.apply_as("obsboot", deployment("bookinfo", "productpage", 1));
    let ready = |v: &View<'_>| {
        let pods = app_pods(v, "productpage");
        pods.len() == 1
            && pods[0]["status"]["conditions"].as_array().is_some_and(|c| {
                c.iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            })
    };
    assert!(server.wait_until(SETTLE, |v| {
        let pods = app_pods(v, "productpage");
        pods.len() == 1 && meshed(pods[0]) && pods[0]["status"]["phase"] == "Running"
    }));
    assert!(
        !server.wait_until(std::time::Duration::from_millis(500), ready),
        "no identity: the proxy is not ready"
    );
    start_identity(&server);
    assert!(server.wait_until(SETTLE, ready), "certified: ready");
}

#[test]
fn pods_are_meshed_only_once_the_injector_serves() {
    let server = ApiServer::start();
    meshed_namespace(&server);
    server.apply_as("obsboot", deployment("bookinfo", "productpage", 1));
    assert!(server.wait_until(SETTLE, |v| app_pods(v, "productpage").len() == 1));
    let early = server
        .list("v1", "Pod")
        .into_iter()
        .find(|p| p["metadata"]["namespace"] == "bookinfo")
        .unwrap();
    assert!(
        !meshed(&early),
        "created before the injector serves: not meshed"
    );

    start_injector(&server);
    let early_name = early["metadata"]["name"].as_str().unwrap();
    assert!(
        !meshed(
            &server
                .get("v1", "Pod", Some("bookinfo"), early_name)
                .unwrap()
        ),
        "still unmeshed"
    );
    let injector_pod = server
        .list("v1", "Pod")
        .into_iter()
        .find(|p| p["metadata"]["namespace"] == "linkerd")
        .unwrap();
    assert!(!meshed(&injector_pod), "its own namespace opts out");

    server.update_as("kubectl-rollout", json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "productpage", "namespace": "bookinfo"},
        "spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "2025-01-01T00:00:00Z"}}}},
    }));
    assert!(server.wait_until(SETTLE, |v| {
        let pods = app_pods(v, "productpage");
        pods.len() == 1 && meshed(pods[0]) && pods[0]["status"]["phase"] == "Running"
    }));
    let pod = server
        .list("v1", "Pod")
        .into_iter()
        .find(|p| p["metadata"]["labels"]["app"] == "productpage" && meshed(p))
        .unwrap();
    assert_eq!(pod["spec"]["initContainers"][0]["name"], "linkerd-init");
    let proxy = &pod["spec"]["initContainers"][1];
    assert_eq!(
        (&proxy["name"], &proxy["restartPolicy"]),
        (&json!("linkerd-proxy"), &json!("Always"))
    );
    assert_eq!(
        proxy["image"], "cr.l5d.io/linkerd/proxy:dev-undefined",
        "linkerd-config's image, at its linkerdVersion"
    );
    let annotations = &pod["metadata"]["annotations"];
    assert_eq!(annotations["linkerd.io/proxy-version"], "dev-undefined");
    assert_eq!(
        annotations["linkerd.io/created-by"], "linkerd/proxy-injector edge-25.1.1",
        "the injector's own version"
    );
    assert_eq!(
        pod["metadata"]["labels"]["linkerd.io/control-plane-ns"],
        "linkerd"
    );
    assert_eq!(
        pod["metadata"]["labels"]["linkerd.io/proxy-deployment"],
        "productpage"
    );
    assert_eq!(
        pod["status"]["initContainerStatuses"][1]["ready"], true,
        "the sidecar runs"
    );
}

#[test]
fn pods_that_opt_out_or_use_the_host_network_stay_unmeshed() {
    let server = ApiServer::start();
    meshed_namespace(&server);
    start_injector(&server);
    let mut opted_out = deployment("bookinfo", "ratings", 1);
    opted_out["spec"]["template"]["metadata"]["annotations"] =
        json!({"linkerd.io/inject": "disabled"});
    server.apply_as("obsboot", opted_out);
    let mut host = deployment("bookinfo", "host", 1);
    host["spec"]["template"]["spec"]["hostNetwork"] = true.into();
    server.apply_as("obsboot", host);
    server.apply_as("obsboot", deployment("bookinfo", "reviews", 1));
    assert!(server.wait_until(SETTLE, |v| {
        ["ratings", "host", "reviews"]
            .iter()
            .all(|app| app_pods(v, app).len() == 1)
    }));
    let meshed_apps: Vec<String> = server
        .list("v1", "Pod")
        .iter()
        .filter(|p| p["metadata"]["namespace"] == "bookinfo" && meshed(p))
        .map(|p| p["metadata"]["labels"]["app"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(meshed_apps, ["reviews"]);
    let host_pod = server
        .list("v1", "Pod")
        .into_iter()
        .find(|p| p["metadata"]["labels"]["app"] == "host")
        .unwrap();
    assert_eq!(
        host_pod["status"]["podIP"], host_pod["status"]["hostIP"],
        "host network: the node's address"
    );
}

#[test]
fn a_fail_policy_webhook_without_endpoints_refuses_what_it_covers() {
    let server = ApiServer::start();
    server.apply_as("obsboot", json!({
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": "validator"},
        "webhooks": [{
            "name": "validate.example.com",
            "clientConfig": {"service": {"name": "validator", "namespace": "default"}},
            "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["configmaps"]}],
            "sideEffects": "None", "admissionReviewVersions": ["v1"],
        }],
    }));
    block_on(async {
        let api: Api<ConfigMap> = Api::namespaced(client(&server).await, "default");
        let object: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "c"}})).unwrap();
        let refused = api
            .create(&PostParams::default(), &object)
            .await
            .unwrap_err();
        let error = "failed calling webhook \"validate.example.com\": failed to call webhook: Post \"https://validator.default.svc:443/?timeout=10s\": no endpoints available for service \"validator\"";
        assert_eq!(
            status_of(refused),
            json!({
                "metadata": {}, "status": "Failure", "reason": "InternalError", "code": 500,
                "message": format!("Internal error occurred: {error}"),
                "details": {"causes": [{"message": error}]},
            })
        );
    });
    assert!(
        server
            .get("v1", "ConfigMap", Some("default"), "c")
            .is_none()
    );
}
