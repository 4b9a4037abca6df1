//! Meshing checks: the proxy-injector must serve (Deployment available and its Service has a
//! ready endpoint) before meshed pods are created, because its webhook fails open and early
//! pods silently start without a proxy; and afterwards every meshed pod must carry
//! `linkerd-proxy`. Deployments whose pods do not are restarted, as `kubectl rollout restart`
//! does, and checked again.

use std::pin::pin;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::watcher;
use tokio_util::sync::CancellationToken;

use crate::k8s::{ApiFailure, Cluster, K8sError, explain};
use crate::render::Object;

/// The proxy container's name, as a sidecar or a native sidecar (an init container).
pub const PROXY: &str = "linkerd-proxy";
/// The pod-template annotation `kubectl rollout restart` sets.
const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";

/// Waits, by watching, until the Service `namespace/service` has a ready endpoint.
pub async fn await_endpoints(
    cluster: &Cluster,
    namespace: &str,
    service: &str,
    timeout: Duration,
    cancel: &CancellationToken,
) -> Result<(), K8sError> {
    let api: Api<EndpointSlice> = Api::namespaced(cluster.client().clone(), namespace);
    let config =
        watcher::Config::default().labels(&format!("kubernetes.io/service-name={service}"));
    let mut events = pin!(watcher(api, config));
    let deadline = tokio::time::sleep(timeout);
    let mut deadline = pin!(deadline);
    loop {
        let event = tokio::select! {
            biased;
            () = cancel.cancelled() => return Err(K8sError::Interrupted),
            () = &mut deadline => break,
            event = events.next() => event,
        };
        match event {
            Some(Ok(watcher::Event::Apply(slice) | watcher::Event::InitApply(slice)))
                if has_ready_endpoint(&slice) =>
            {
                return Ok(());
            }
            Some(_) => {}
            None => break,
        }
    }
    Err(K8sError::Timeout {
        object: format!("Service {namespace}/{service}"),
        waiting_for: "serving",
        timeout,
        status: "no ready endpoint: the webhook's pods are not ready, so pods created now would start without a Linkerd proxy".into(),
    })
}

fn has_ready_endpoint(slice: &EndpointSlice) -> bool {
    slice.endpoints.iter().any(|endpoint| {
        endpoint
            .conditions
            .as_ref()
            .and_then(|c| c.ready)
            .unwrap_or(true)
    })
}

/// The pods of `deployment` (a rendered Deployment) that run without a proxy.
pub async fn unmeshed_pods(
    cluster: &Cluster,
    deployment: &Object,
) -> Result<Vec<String>, K8sError> {
    let pods = explain::workload_pods(cluster, &deployment.key, &deployment.value)
        .await?
        .unwrap_or_default();
    Ok(pods
        .iter()
        .filter(|pod| pod.metadata.deletion_timestamp.is_none() && !has_proxy(pod))
        .filter_map(|pod| pod.metadata.name.clone())
        .collect())
}

/// Whether the pod carries the Linkerd proxy.
pub fn has_proxy(pod: &Pod) -> bool {
    pod.spec.as_ref().is_some_and(|spec| {
        spec.containers
            .iter()
            .chain(spec.init_containers.iter().flatten())
            .any(|c| c.name == PROXY)
    })
}

/// The field manager that owns the restart annotation, apart from obsboot's own fields, so
/// that later applies neither remove it nor conflict with it.
const RESTARTER: &str = "obsboot-restart";

/// Restarts `deployment`'s pods the way `kubectl rollout restart` does: a new pod-template
/// annotation, set with server-side apply.
pub async fn restart(cluster: &Cluster, deployment: &Object) -> Result<(), K8sError> {
    let api = cluster.api(deployment.api_version(), &deployment.key)?;
    cluster.writable()?;
    let patch = serde_json::json!({
        "apiVersion": deployment.api_version(),
        "kind": deployment.key.kind,
        "metadata": {"name": deployment.key.name, "namespace": deployment.key.namespace},
        "spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: now_rfc3339()}}}},
    });
    api.patch(
        &deployment.key.name,
        &PatchParams::apply(RESTARTER).force(),
        &Patch::Apply(&patch),
    )
    .await
    .map(drop)
    .map_err(|err| K8sError::Apply {
        object: deployment.key.to_string(),
        source: ApiFailure::from_kube(&err, false),
    })
}

/// The current time in RFC 3339, as the annotation's value.
fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
