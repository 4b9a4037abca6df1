//! Why a workload is not ready, in its pods' words: unschedulable (with the node selector and
//! tolerations the scheduler weighed), image pulls failing, containers not ready; or, when an
//! admission webhook refuses its pods so that none exists, its ReplicaSet's and what to do.

use std::fmt::Write as _;

use k8s_openapi::api::admissionregistration::v1::{
    MutatingWebhookConfiguration, ValidatingWebhookConfiguration,
};
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use serde_json::Value;

use super::client::Cluster;
use super::error::{ApiFailure, K8sError};
use super::ready;
use crate::render::ObjectKey;

/// The webhook of Linkerd's proxy-injector.
const LINKERD_INJECTOR: &str = "linkerd-proxy-injector.linkerd.io";

/// At most this many pods are described; the rest are counted.
const SHOWN: usize = 3;

/// What the pods of the workload `key` (whose live state is `object`) say, or `None` when it
/// is not a workload or its pods cannot be read.
pub async fn pods(cluster: &Cluster, key: &ObjectKey, object: &Value) -> Option<String> {
    if key.group != "apps"
        || !matches!(
            key.kind.as_str(),
            "Deployment" | "DaemonSet" | "StatefulSet"
        )
    {
        return None;
    }
    let pods = workload_pods(cluster, key, object).await.ok()??;
    let troubled: Vec<String> = pods.iter().filter_map(describe).collect();
    if pods.is_empty() {
        return Some("no pods exist for it yet".into());
    }
    let mut out = troubled
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    if troubled.len() > SHOWN {
        let _ = write!(out, "; and {} more pods", troubled.len() - SHOWN);
    }
    Some(out)
}

/// When an admission webhook refuses the pods of the Deployment `key` (live state `object`):
/// which ReplicaSet cannot create them, the webhook's words, and what to do.
pub async fn refused(cluster: &Cluster, key: &ObjectKey, object: &Value) -> Option<String> {
    let failure = ready::condition(object, "ReplicaFailure").filter(|c| c.status == "True")?;
    let denial = ready::denial(failure.message)?;
    let namespace = key.namespace.as_deref()?;
    let uid = object.pointer("/metadata/uid").and_then(Value::as_str)?;
    let sets: Api<ReplicaSet> = Api::namespaced(cluster.client().clone(), namespace);
    let set = sets
        .list(&ListParams::default())
        .await
        .ok()?
        .items
        .into_iter()
        .filter(|rs| {
            rs.metadata
                .owner_references
                .iter()
                .flatten()
                .any(|o| o.uid == uid)
        })
        .find(|rs| {
            rs.status
                .iter()
                .flat_map(|s| s.conditions.iter().flatten())
                .any(|c| c.type_ == "ReplicaFailure" && c.status == "True")
        })
        .and_then(|rs| rs.metadata.name);
    let which = set.map_or_else(
        || "its ReplicaSet cannot create them".to_owned(),
        |name| format!("its ReplicaSet {namespace}/{name} cannot create them"),
    );
    let next = next_step(cluster, denial.webhook).await;
    Some(format!(
        "admission webhook \"{}\" refuses its pods ({which}): {}; {next}",
        denial.webhook, denial.message
    ))
}

/// What to do about a webhook's refusal. For Linkerd's injector: the configuration it reads,
/// in the namespace its Service runs in.
async fn next_step(cluster: &Cluster, webhook: &str) -> String {
    let service = webhook_service(cluster, webhook).await;
    if webhook == LINKERD_INJECTOR {
        let namespace = service.map_or_else(|| "linkerd".to_owned(), |(ns, _)| ns);
        return format!(
            "the Linkerd proxy-injector builds every proxy from the ConfigMap linkerd-config in namespace {namespace} (and the trust anchors in linkerd-identity-trust-roots), and a value it needs there is missing or has the wrong type: correct it (obsboot renders linkerd-config from the Linkerd stack) and run bootstrap again; see deploy.md, troubleshooting"
        );
    }
    let by = service.map_or_else(String::new, |(ns, name)| {
        format!(" (served by Service {ns}/{name})")
    });
    format!(
        "the webhook{by} refuses every such pod until what it names is changed; change it and run bootstrap again"
    )
}

/// The namespace and name of the Service behind the admission webhook `webhook`.
async fn webhook_service(cluster: &Cluster, webhook: &str) -> Option<(String, String)> {
    let client = cluster.client().clone();
    let mutating: Api<MutatingWebhookConfiguration> = Api::all(client.clone());
    let validating: Api<ValidatingWebhookConfiguration> = Api::all(client);
    let params = ListParams::default();
    let mut services = Vec::new();
    if let Ok(list) = mutating.list(&params).await {
        services.extend(
            list.items
                .into_iter()
                .flat_map(|c| c.webhooks.into_iter().flatten())
                .map(|w| (w.name, w.client_config.service)),
        );
    }
    if let Ok(list) = validating.list(&params).await {
        services.extend(
            list.items
                .into_iter()
                .flat_map(|c| c.webhooks.into_iter().flatten())
                .map(|w| (w.name, w.client_config.service)),
        );
    }
    services
        .into_iter()
        .find(|(name, _)| name == webhook)
        .and_then(|(_, service)| service)
        .map(|s| (s.namespace, s.name))
}

/// The pods that `workload` (a Deployment, DaemonSet or StatefulSet named by `key`, as JSON,
/// rendered or live) selects with its `matchLabels`; `None` when it selects by none.
pub async fn workload_pods(
    cluster: &Cluster,
    key: &ObjectKey,
    workload: &Value,
) -> Result<Option<Vec<Pod>>, K8sError> {
    let (Some(namespace), Some(labels)) = (
        key.namespace.as_deref(),
        workload
            .pointer("/spec/selector/matchLabels")
            .and_then(Value::as_object)
            .filter(|labels| !labels.is_empty()),
    ) else {
        return Ok(None);
    };
    let selector = labels
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect::<Vec<_>>()
        .join(",");
    let api: Api<Pod> = Api::namespaced(cluster.client().clone(), namespace);
    let pods = api
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|err| K8sError::List {
            what: format!("the pods of {key}"),
            source: ApiFailure::from_kube(&err, false),
        })?;
    Ok(Some(pods.items))
}

/// One line about a pod that is not ready, or `None` when it is.
pub fn describe(pod: &Pod) -> Option<String> {
    let name = pod.metadata.name.as_deref().unwrap_or("?");
    let status = pod.status.as_ref()?;
    let conditions = status.conditions.as_deref().unwrap_or_default();
    let condition = |type_: &str| conditions.iter().find(|c| c.type_ == type_);
    if condition("Ready").is_some_and(|c| c.status == "True") {
        return None;
    }
    if let Some(scheduled) = condition("PodScheduled").filter(|c| c.status == "False") {
        let mut line = format!(
            "pod {name} is Pending: {}: {}",
            scheduled.reason.as_deref().unwrap_or("not scheduled"),
            scheduled.message.as_deref().unwrap_or_default()
        );
        line.push_str(&placement(pod));
        return Some(line);
    }
    let waiting = status
        .init_container_statuses
        .iter()
        .chain(&status.container_statuses)
        .flatten()
        .find_map(|c| {
            let waiting = c.state.as_ref()?.waiting.as_ref()?;
            Some(format!(
                "container {} is waiting: {}{}",
                c.name,
                waiting.reason.as_deref().unwrap_or("unknown reason"),
                waiting
                    .message
                    .as_deref()
                    .map(|m| format!(" ({m})"))
                    .unwrap_or_default()
            ))
        });
    // A running container that is not ready: a regular one, or a native sidecar (an init
    // container that keeps running, such as Linkerd's proxy), which counts for readiness.
    let unready = status
        .init_container_statuses
        .iter()
        .flatten()
        .filter(|c| c.started == Some(true))
        .chain(status.container_statuses.iter().flatten())
        .find(|c| !c.ready && c.state.as_ref().is_some_and(|s| s.running.is_some()))
        .map(|c| format!("container {} is running but not ready", c.name));
    Some(match waiting.or(unready) {
        Some(what) => format!("pod {name}: {what}"),
        None => format!(
            "pod {name} is {} but not ready",
            status.phase.as_deref().unwrap_or("in an unknown phase")
        ),
    })
}

/// The pod's node selector and tolerations, which decide where it may run.
fn placement(pod: &Pod) -> String {
    let Some(spec) = &pod.spec else {
        return String::new();
    };
    let selector = spec
        .node_selector
        .iter()
        .flatten()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>();
    let tolerations = spec
        .tolerations
        .iter()
        .flatten()
        .map(|t| {
            format!(
                "{}:{}",
                t.key.as_deref().unwrap_or("*"),
                t.effect.as_deref().unwrap_or("*")
            )
        })
        .collect::<Vec<_>>();
    let or_none = |items: Vec<String>| {
        if items.is_empty() {
            "none".to_owned()
        } else {
            items.join(", ")
        }
    };
    format!(
        " (its node selector: {}; it tolerates: {})",
        or_none(selector),
        or_none(tolerations)
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_unschedulable_pod_names_the_scheduler_message_selector_and_tolerations() {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": "productpage-v1-abc"},
            "spec": {"containers": [], "nodeSelector": {"node-role.kubernetes.io/control-plane": ""},
                     "tolerations": [{"key": "node-role.kubernetes.io/master", "operator": "Exists", "effect": "NoSchedule"}]},
            "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                       "message": "0/2 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }."}]}
        }))
        .unwrap();
        assert_eq!(
            describe(&pod).unwrap(),
            "pod productpage-v1-abc is Pending: Unschedulable: 0/2 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }. (its node selector: node-role.kubernetes.io/control-plane=; it tolerates: node-role.kubernetes.io/master:NoSchedule)"
        );
    }

    #[test]
    fn a_waiting_container_gives_its_reason_and_a_ready_pod_says_nothing() {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": "p"},
            "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "True"}],
                       "containerStatuses": [{"name": "app", "image": "x", "imageID": "", "ready": false, "restartCount": 0,
                                              "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image \"x\""}}}]}
        }))
        .unwrap();
        assert_eq!(
            describe(&pod).unwrap(),
            "pod p: container app is waiting: ImagePullBackOff (Back-off pulling image \"x\")"
        );
        let sidecar: Pod = serde_json::from_value(json!({
            "metadata": {"name": "p"},
            "status": {"phase": "Running", "conditions": [{"type": "PodScheduled", "status": "True"}],
                       "initContainerStatuses": [
                           {"name": "linkerd-init", "image": "x", "imageID": "", "ready": true, "restartCount": 0, "started": false,
                            "state": {"terminated": {"exitCode": 0}}},
                           {"name": "linkerd-proxy", "image": "x", "imageID": "", "ready": false, "restartCount": 0, "started": true,
                            "state": {"running": {}}}],
                       "containerStatuses": [{"name": "app", "image": "x", "imageID": "", "ready": true, "restartCount": 0,
                                              "state": {"running": {}}}]}
        }))
        .unwrap();
        assert_eq!(
            describe(&sidecar).unwrap(),
            "pod p: container linkerd-proxy is running but not ready"
        );
        let ready: Pod = serde_json::from_value(json!({
            "metadata": {"name": "p"}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}
        }))
        .unwrap();
        assert_eq!(describe(&ready), None);
    }
}
