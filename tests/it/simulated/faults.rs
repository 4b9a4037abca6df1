//! Injected faults as clients meet them.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use super::{block_on, client, raw, status_of};
use crate::apiserver::{ApiServer, Fault, FaultAction};

/// A ConfigMap with one key, in `default`.
fn config_map(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default"}, "data": {"k": "v"}})
}

/// The statuses answered to `method` requests, in order.
fn statuses(server: &ApiServer, method: &str) -> Vec<u16> {
    server
        .journal()
        .iter()
        .filter(|r| r.method == method)
        .map(|r| r.status)
        .collect()
}

#[test]
fn a_429_with_retry_after_is_retried_by_the_client() {
    let server = ApiServer::start();
    server.inject(
        Fault::new(FaultAction::Status {
            code: 429,
            reason: "TooManyRequests".to_owned(),
            message: "too many requests, please try again later".to_owned(),
            retry_after: Some(1),
        })
        .method("POST")
        .times(1),
    );
    let started = Instant::now();
    block_on(async {
        let api: Api<ConfigMap> = Api::namespaced(client(&server).await, "default");
        api.create(
            &PostParams::default(),
            &serde_json::from_value(config_map("c")).unwrap(),
        )
        .await
        .unwrap();
    });
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "Retry-After is honoured"
    );
    assert_eq!(statuses(&server, "POST"), [429, 201]);
}

#[test]
fn a_status_fault_skips_then_fires_its_number_of_times() {
    let server = ApiServer::start();
    server.inject(
        Fault::status(500, "InternalError", "etcdserver: request timed out")
            .method("PATCH")
            .path("/configmaps/")
            .skip(1)
            .times(1),
    );
    block_on(async {
        let api: Api<ConfigMap> = Api::namespaced(client(&server).await, "default");
        let params = PatchParams::apply("obsboot");
        let apply = |name: &'static str| {
            let api = api.clone();
            let params = params.clone();
            async move {
                api.patch(name, &params, &Patch::Apply(config_map(name)))
                    .await
            }
        };
        apply("a").await.unwrap();
        let failed = apply("b").await.unwrap_err();
        assert_eq!(
            status_of(failed),
            json!({
                "metadata": {}, "status": "Failure", "message": "etcdserver: request timed out", "reason": "InternalError", "code": 500,
            })
        );
        apply("b").await.unwrap();
    });
    assert_eq!(statuses(&server, "PATCH"), [201, 500, 201]);
}

#[test]
fn a_response_lost_after_the_write_leaves_the_object_written() {
    let server = ApiServer::start();
    server.inject(
        Fault::new(FaultAction::DropAfterCommit)
            .method("PATCH")
            .times(1),
    );
    block_on(async {
        let api: Api<ConfigMap> = Api::namespaced(client(&server).await, "default");
        let params = PatchParams::apply("obsboot");
        let lost = api
            .patch("c", &params, &Patch::Apply(config_map("c")))
            .await
            .unwrap_err();
        assert!(
            !matches!(lost, kube::Error::Api(_)),
            "no answer at all: {lost}"
        );
        assert!(
            server
                .get("v1", "ConfigMap", Some("default"), "c")
                .is_some(),
            "but written"
        );
        let rv = server.resource_version();
        api.patch("c", &params, &Patch::Apply(config_map("c")))
            .await
            .unwrap();
        assert_eq!(
            server.resource_version(),
            rv,
            "re-applying the same patch changes nothing"
        );
    });
    let journal = server.journal();
    let patches: Vec<(u16, bool)> = journal
        .iter()
        .filter(|r| r.method == "PATCH")
        .map(|r| (r.status, r.write))
        .collect();
    assert_eq!(patches, [(0, true), (200, false)]);
}

#[test]
fn a_dropped_connection_writes_nothing() {
    let server = ApiServer::start();
    server.inject(
        Fault::new(FaultAction::DropConnection)
            .method("PATCH")
            .times(1),
    );
    block_on(async {
        let api: Api<ConfigMap> = Api::namespaced(client(&server).await, "default");
        api.patch(
            "c",
            &PatchParams::apply("obsboot"),
            &Patch::Apply(config_map("c")),
        )
        .await
        .unwrap_err();
    });
    assert!(
        server
            .get("v1", "ConfigMap", Some("default"), "c")
            .is_none()
    );
    let patch = server
        .journal()
        .into_iter()
        .find(|r| r.method == "PATCH")
        .unwrap();
    assert_eq!((patch.status, patch.write), (0, false));
    assert_eq!(patch.param("fieldManager"), Some("obsboot"));
    assert_eq!(patch.body.unwrap()["metadata"]["name"], "c");
}

#[test]
fn a_webhook_failure_and_a_delay() {
    let server = ApiServer::start();
    let id = server.inject(
        Fault::new(FaultAction::WebhookFailure {
            webhook: "linkerd-policy-validator.linkerd.io".to_owned(),
        })
        .method("PATCH"),
    );
    block_on(async {
        let api: Api<ConfigMap> = Api::namespaced(client(&server).await, "default");
        let refused = api
            .patch(
                "c",
                &PatchParams::apply("obsboot"),
                &Patch::Apply(config_map("c")),
            )
            .await
            .unwrap_err();
        let status = status_of(refused);
        assert_eq!(status["code"], 500);
        assert_eq!(
            status["message"],
            "Internal error occurred: failed calling webhook \"linkerd-policy-validator.linkerd.io\": failed to call webhook: Post \"https://linkerd-policy-validator.linkerd.io/?timeout=10s\": context deadline exceeded"
        );
        server.clear_fault(id);
        server.inject(
            Fault::new(FaultAction::Delay(Duration::from_millis(300)))
                .method("GET")
                .times(1),
        );
        let started = Instant::now();
        api.get_opt("c").await.unwrap();
        assert!(started.elapsed() >= Duration::from_millis(300));
        server.set_latency(Duration::from_millis(100));
        let started = Instant::now();
        api.get_opt("c").await.unwrap();
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(100) && took < Duration::from_millis(300),
            "{took:?}"
        );
    });
    assert!(
        server
            .get("v1", "ConfigMap", Some("default"), "c")
            .is_none()
    );
}

#[test]
fn a_throttled_answer_carries_retry_after() {
    let server = ApiServer::start();
    server.inject(
        Fault::new(FaultAction::Status {
            code: 429,
            reason: "TooManyRequests".to_owned(),
            message: "Too many requests, please try again later.".to_owned(),
            retry_after: Some(3),
        })
        .times(1),
    );
    let answer = raw(&server, "GET", "/api/v1/namespaces", "application/json", "");
    assert_eq!(answer.code, 429);
    assert_eq!(answer.header("retry-after"), Some("3"));
    assert_eq!(
        answer.json(),
        json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "Too many requests, please try again later.", "reason": "TooManyRequests",
            "details": {"retryAfterSeconds": 3}, "code": 429,
        })
    );
    assert_eq!(
        raw(&server, "GET", "/api/v1/namespaces", "application/json", "").code,
        200,
        "once"
    );
}
