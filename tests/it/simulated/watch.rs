//! Watches as kube-runtime uses them: `await_condition`, the watcher's list-then-watch,
//! re-listing after 410 Expired, resuming after a cut stream; and the raw protocol.

use std::time::Duration;

use futures::StreamExt as _;
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::{WatchStreamExt as _, conditions, wait::await_condition, watcher};
use serde_json::{Value, json};

use super::{SETTLE, block_on, client, deployment, raw};
use crate::apiserver::{ApiServer, Fault, FaultAction, Readiness, SimConfig};

/// Whether the Deployment reports its new ReplicaSet available.
fn completed(d: &Deployment) -> bool {
    d.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| {
            c.iter().any(|c| {
                c.type_ == "Progressing" && c.reason.as_deref() == Some("NewReplicaSetAvailable")
            })
        })
}

/// Follows `web` with a watcher (with the default backoff) until it completes; returns how
/// many errors the watcher yielded on the way.
async fn follow(api: Api<Deployment>) -> usize {
    let config = watcher::Config::default()
        .fields("metadata.name=web")
        .any_semantic();
    let mut stream = watcher(api, config).default_backoff().boxed();
    let mut errors = 0;
    let followed = tokio::time::timeout(SETTLE, async {
        while let Some(event) = stream.next().await {
            match event {
                Ok(watcher::Event::Apply(d) | watcher::Event::InitApply(d)) if completed(&d) => {
                    return;
                }
                Ok(_) => {}
                Err(_) => errors += 1,
            }
        }
    })
    .await;
    assert!(followed.is_ok(), "the watcher saw the Deployment complete");
    errors
}

/// How many times Deployments were listed.
fn lists_of_deployments(server: &ApiServer) -> usize {
    server
        .journal()
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with("/deployments") && !r.is_watch())
        .count()
}

#[test]
fn await_condition_sees_a_deployment_become_available() {
    let server = ApiServer::start();
    block_on(async {
        let api: Api<Deployment> = Api::namespaced(client(&server).await, "default");
        api.patch(
            "web",
            &PatchParams::apply("obsboot"),
            &Patch::Apply(deployment("default", "web", 2)),
        )
        .await
        .unwrap();
        let done = tokio::time::timeout(
            SETTLE,
            await_condition(api.clone(), "web", conditions::is_deployment_completed()),
        )
        .await
        .expect("completes in time")
        .expect("no watch error");
        let status = done.unwrap().status.unwrap();
        assert_eq!(
            (
                status.ready_replicas,
                status.available_replicas,
                status.updated_replicas
            ),
            (Some(2), Some(2), Some(2))
        );
    });
    let journal = server.journal();
    let list = journal
        .iter()
        .find(|r| r.path.ends_with("/deployments") && !r.is_watch())
        .unwrap();
    assert_eq!(
        list.param("resourceVersion"),
        None,
        "kube 5 lists the most recent state"
    );
    assert_eq!(list.param("fieldSelector"), Some("metadata.name=web"));
    let watch = journal.iter().find(|r| r.is_watch()).unwrap();
    assert_eq!(watch.param("allowWatchBookmarks"), Some("true"));
    assert_eq!(watch.param("fieldSelector"), Some("metadata.name=web"));
    assert_eq!(watch.status, 200);
}

#[test]
fn an_expired_watch_makes_the_watcher_relist_and_still_succeed() {
    let server = ApiServer::start();
    server.set_readiness(
        "default",
        "web",
        Readiness::After(Duration::from_millis(300)),
    );
    server.inject(
        Fault::new(FaultAction::ExpireWatch)
            .path("/deployments")
            .times(1),
    );
    server.apply_as("obsboot", deployment("default", "web", 1));
    let errors =
        block_on(async { follow(Api::namespaced(client(&server).await, "default")).await });
    assert_eq!(errors, 1, "the 410 ERROR event surfaces once");
    assert_eq!(
        lists_of_deployments(&server),
        2,
        "and makes the watcher list again"
    );
}

#[test]
fn a_cut_watch_stream_resumes_from_the_last_resource_version() {
    let server = ApiServer::start();
    server.set_readiness(
        "default",
        "web",
        Readiness::After(Duration::from_millis(300)),
    );
    server.inject(
        Fault::new(FaultAction::TruncateWatch)
            .path("/deployments")
            .times(1),
    );
    server.apply_as("obsboot", deployment("default", "web", 1));
    let errors = std::thread::scope(|scope| {
        // A change while the first watch is open: its only event before the stream is cut.
        scope.spawn(|| {
            std::thread::sleep(Duration::from_millis(100));
            server.update_as("someone", json!({
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "web", "namespace": "default", "annotations": {"touched": "yes"}},
            }));
        });
        block_on(async { follow(Api::namespaced(client(&server).await, "default")).await })
    });
    assert_eq!(
        lists_of_deployments(&server),
        1,
        "no re-list after a cut stream"
    );
    let watches: Vec<u64> = server
        .journal()
        .iter()
        .filter(|r| r.is_watch())
        .map(|r| r.param("resourceVersion").unwrap().parse().unwrap())
        .collect();
    assert!(
        watches.len() >= 2 && watches[1] > watches[0],
        "{watches:?} ({errors} errors)"
    );
}

/// The events of a watch body.
fn events(body: &str) -> Vec<Value> {
    body.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn a_watch_from_a_compacted_version_is_one_expired_error_event() {
    let server = ApiServer::start();
    server.apply_as("obsboot", json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "default"}}));
    server.compact();
    let answer = raw(
        &server,
        "GET",
        "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=1",
        "application/json",
        "",
    );
    assert_eq!(answer.code, 200);
    let events = events(&answer.body);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["type"], "ERROR");
    assert_eq!(
        (
            events[0]["object"]["code"].as_i64(),
            events[0]["object"]["reason"].as_str()
        ),
        (Some(410), Some("Expired"))
    );
}

#[test]
fn a_watch_replays_filters_bookmarks_and_ends_at_its_timeout() {
    let config = SimConfig {
        bookmark_interval: Duration::from_millis(300),
        ..SimConfig::standard()
    };
    let server = ApiServer::start_with(config);
    let cm = |name: &str, tier: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default", "labels": {"tier": tier}}});
    server.apply_as("obsboot", cm("before", "web"));
    let from = server.resource_version();
    server.apply_as("obsboot", cm("one", "web"));
    server.apply_as("obsboot", cm("two", "db"));
    server.apply_as("obsboot", cm("one", "db"));
    let path = format!(
        "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={from}&labelSelector=tier%3Dweb&allowWatchBookmarks=true&timeoutSeconds=1"
    );
    let started = std::time::Instant::now();
    let answer = raw(&server, "GET", &path, "application/json", "");
    assert!(started.elapsed() >= Duration::from_secs(1));
    let events = events(&answer.body);
    let summary: Vec<(String, String)> = events
        .iter()
        .filter(|e| e["type"] != "BOOKMARK")
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_owned(),
                e["object"]["metadata"]["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("ADDED".to_owned(), "one".to_owned()),
            ("DELETED".to_owned(), "one".to_owned())
        ],
        "one stops matching"
    );
    let bookmark = events
        .iter()
        .find(|e| e["type"] == "BOOKMARK")
        .expect("a bookmark");
    assert_eq!(bookmark["object"]["kind"], "ConfigMap");
    assert_eq!(
        bookmark["object"]["metadata"]["resourceVersion"],
        server.resource_version().to_string()
    );
}

#[test]
fn streaming_lists_and_metadata_watches_work_too() {
    let server = ApiServer::start();
    server.apply_as("obsboot", deployment("default", "web", 1));
    block_on(async {
        let api: Api<Deployment> = Api::namespaced(client(&server).await, "default");
        let config = watcher::Config::default()
            .fields("metadata.name=web")
            .streaming_lists();
        let mut stream = watcher(api.clone(), config).applied_objects().boxed();
        let done = tokio::time::timeout(SETTLE, async {
            while let Some(d) = stream.next().await {
                if completed(&d.unwrap()) {
                    return;
                }
            }
        })
        .await;
        assert!(done.is_ok(), "a streaming-list watcher sees the rollout");
        let metadata_api: Api<kube::core::PartialObjectMeta<Deployment>> =
            Api::namespaced(api.into_client(), "default");
        let mut metadata = watcher(metadata_api, watcher::Config::default())
            .applied_objects()
            .boxed();
        let first = tokio::time::timeout(SETTLE, metadata.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(first.metadata.name.as_deref(), Some("web"));
        assert!(first.metadata.resource_version.is_some());
    });
    let journal = server.journal();
    let streaming = journal
        .iter()
        .find(|r| r.param("sendInitialEvents") == Some("true"))
        .expect("a streaming list");
    assert_eq!(
        streaming.param("resourceVersionMatch"),
        Some("NotOlderThan")
    );
}
