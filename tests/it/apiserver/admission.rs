//! Admission for client writes: the NamespaceLifecycle plugin (missing or terminating
//! namespaces), admission webhooks that fail when their service has no ready endpoint, and
//! the Linkerd proxy injector, which meshes pods only while it is serving.

use serde_json::{Value, json};

use super::catalog::ResourceType;
use super::json;
use super::selectors;
use super::state::State;
use super::status::ApiError;

/// The webhook configuration Linkerd installs for its proxy injector.
pub const INJECTOR_CONFIG: &str = "linkerd-proxy-injector-webhook-config";

/// Rejects a create into a missing (404) or terminating (403) namespace.
pub fn namespace_lifecycle(
    state: &State,
    rt: &ResourceType,
    object: &Value,
) -> Result<(), ApiError> {
    if !rt.namespaced {
        return Ok(());
    }
    let namespace = json::namespace(object);
    match state.store.get("", "namespaces", "", namespace) {
        None => Err(ApiError::namespace_not_found(namespace)),
        Some(ns) if json::deleting(ns) || json::str_at(ns, "/status/phase") == "Terminating" => {
            Err(ApiError::terminating(rt, json::name(object), namespace))
        }
        Some(_) => Ok(()),
    }
}

/// Calls the admission webhooks registered for `operation` (`CREATE`, `UPDATE`, `DELETE`)
/// on `object`: a webhook whose service has no ready endpoint fails the request unless its
/// `failurePolicy` is `Ignore`; the Linkerd injector, when serving, meshes new pods.
pub fn webhooks(
    state: &State,
    rt: &ResourceType,
    operation: &str,
    object: &mut Value,
) -> Result<(), ApiError> {
    for plural in [
        "mutatingwebhookconfigurations",
        "validatingwebhookconfigurations",
    ] {
        for config in state.store.list("admissionregistration.k8s.io", plural) {
            for hook in json::array(config, "/webhooks") {
                if !applies(state, hook, rt, operation, object) {
                    continue;
                }
                let serving = hook.pointer("/clientConfig/url").is_some()
                    || service_ready(
                        state,
                        json::str_at(hook, "/clientConfig/service/namespace"),
                        json::str_at(hook, "/clientConfig/service/name"),
                    );
                if !serving {
                    if json::str_at(hook, "/failurePolicy") == "Ignore" {
                        continue;
                    }
                    return Err(unreachable_webhook(hook));
                }
            }
        }
    }
    if rt.kind == "Pod" && rt.group.is_empty() && operation == "CREATE" {
        let injector = state
            .store
            .get(
                "admissionregistration.k8s.io",
                "mutatingwebhookconfigurations",
                "",
                INJECTOR_CONFIG,
            )
            .map(|c| c.pointer("/webhooks/0").cloned().unwrap_or(Value::Null));
        if let Some(hook) = injector {
            inject(state, &hook, object);
        }
    }
    Ok(())
}

/// The 500 for a webhook whose service has no endpoints, as the apiserver words it.
fn unreachable_webhook(hook: &Value) -> ApiError {
    let service = json::str_at(hook, "/clientConfig/service/name");
    let namespace = json::str_at(hook, "/clientConfig/service/namespace");
    let port = hook
        .pointer("/clientConfig/service/port")
        .and_then(Value::as_i64)
        .unwrap_or(443);
    let path = hook
        .pointer("/clientConfig/service/path")
        .and_then(Value::as_str)
        .unwrap_or("/");
    ApiError::internal(&format!(
        "failed calling webhook {:?}: failed to call webhook: Post \"https://{service}.{namespace}.svc:{port}{path}?timeout=10s\": no endpoints available for service {service:?}",
        json::str_at(hook, "/name")
    ))
}

/// A failure of webhook `name`, for the `WebhookFailure` fault.
pub fn failed_webhook(name: &str) -> ApiError {
    ApiError::internal(&format!(
        "failed calling webhook {name:?}: failed to call webhook: Post \"https://{name}/?timeout=10s\": context deadline exceeded"
    ))
}

/// Whether the webhook's rules and selectors cover this request.
fn applies(
    state: &State,
    hook: &Value,
    rt: &ResourceType,
    operation: &str,
    object: &Value,
) -> bool {
    let any = |list: Vec<String>, value: &str| list.iter().any(|v| v == "*" || v == value);
    let rule_hit = json::array(hook, "/rules").iter().any(|rule| {
        any(json::strings(rule.get("operations")), operation)
            && any(json::strings(rule.get("apiGroups")), &rt.group)
            && any(json::strings(rule.get("apiVersions")), &rt.version)
            && any(json::strings(rule.get("resources")), &rt.plural)
    });
    if !rule_hit {
        return false;
    }
    if !selectors::from_object(hook.get("objectSelector")).matches(&json::labels(object)) {
        return false;
    }
    if rt.namespaced {
        let labels = state
            .store
            .get("", "namespaces", "", json::namespace(object))
            .map(json::labels)
            .unwrap_or_default();
        if !selectors::from_object(hook.get("namespaceSelector")).matches(&labels) {
            return false;
        }
    }
    true
}

/// Whether a Service has an EndpointSlice with a ready endpoint.
pub fn service_ready(state: &State, namespace: &str, name: &str) -> bool {
    state
        .store
        .list_in("discovery.k8s.io", "endpointslices", namespace)
        .filter(|s| {
            json::labels(s)
                .get("kubernetes.io/service-name")
                .map(String::as_str)
                == Some(name)
        })
        .flat_map(|s| json::array(s, "/endpoints"))
        .any(|e| e.pointer("/conditions/ready").and_then(Value::as_bool) == Some(true))
}

/// Whether the injector's Deployment is Available and its Service has a ready endpoint.
fn injector_serving(state: &State, namespace: &str) -> bool {
    let available = state
        .store
        .get("apps", "deployments", namespace, "linkerd-proxy-injector")
        .is_some_and(|d| json::condition_true(d, "Available"));
    available && service_ready(state, namespace, "linkerd-proxy-injector")
}

/// Adds the `linkerd-proxy` native sidecar to a pod that asks for injection.
fn inject(state: &State, hook: &Value, pod: &mut Value) {
    let control_plane = match json::str_at(hook, "/clientConfig/service/namespace") {
        "" => "linkerd",
        ns => ns,
    };
    let namespace = json::namespace(pod).to_owned();
    let ns_wants = state
        .store
        .get("", "namespaces", "", &namespace)
        .map(json::annotations)
        .and_then(|a| a.get("linkerd.io/inject").cloned());
    let pod_wants = json::annotations(pod).get("linkerd.io/inject").cloned();
    let wanted = match pod_wants.as_deref() {
        Some("enabled") => true,
        Some(_) => false,
        None => ns_wants.as_deref() == Some("enabled"),
    };
    let host_network = pod.pointer("/spec/hostNetwork").and_then(Value::as_bool) == Some(true);
    let meshed = ["containers", "initContainers"]
        .iter()
        .flat_map(|list| json::array(pod, &format!("/spec/{list}")))
        .any(|c| json::str_at(c, "/name") == "linkerd-proxy");
    if !wanted || host_network || meshed || !injector_serving(state, control_plane) {
        return;
    }
    let missed = state.missed_injections.fetch_update(
        std::sync::atomic::Ordering::Relaxed,
        std::sync::atomic::Ordering::Relaxed,
        |left| left.checked_sub(1),
    );
    if missed.is_ok() {
        return;
    }
    let version = state
        .store
        .get(
            "apps",
            "deployments",
            control_plane,
            "linkerd-proxy-injector",
        )
        .map(|d| json::str_at(d, "/spec/template/spec/containers/0/image").to_owned())
        .and_then(|image| image.rsplit_once(':').map(|(_, tag)| tag.to_owned()))
        .unwrap_or_else(|| "stable".to_owned());
    let sidecar = json!({
        "name": "linkerd-proxy",
        "image": format!("cr.l5d.io/linkerd/proxy:{version}"),
        "imagePullPolicy": "IfNotPresent",
        "restartPolicy": "Always",
        "ports": [
            {"containerPort": 4143, "name": "linkerd-proxy", "protocol": "TCP"},
            {"containerPort": 4191, "name": "linkerd-admin", "protocol": "TCP"},
        ],
        "env": [{"name": "LINKERD2_PROXY_DESTINATION_SVC_ADDR", "value": format!("linkerd-dst-headless.{control_plane}.svc.cluster.local.:8086")}],
        "resources": {},
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
    });
    let init = json::entry(pod, &["spec", "initContainers"]);
    if !init.is_array() {
        *init = json!([]);
    }
    if let Some(list) = init.as_array_mut() {
        list.insert(0, sidecar);
    }
    let annotations = [
        ("linkerd.io/proxy-version", version.clone()),
        (
            "linkerd.io/created-by",
            format!("linkerd/proxy-injector {version}"),
        ),
    ];
    for (key, value) in annotations {
        json::set(pod, &["metadata", "annotations", key], value.into());
    }
    let mut labels = vec![
        ("linkerd.io/control-plane-ns", control_plane.to_owned()),
        ("linkerd.io/workload-ns", namespace),
    ];
    if let (Some((kind, owner, _)), Some(hash)) = (
        json::controller_of(pod),
        json::labels(pod).get("pod-template-hash").cloned(),
    ) && kind == "ReplicaSet"
        && let Some(deployment) = owner.strip_suffix(&format!("-{hash}"))
    {
        labels.push(("linkerd.io/proxy-deployment", deployment.to_owned()));
    }
    for (key, value) in labels {
        json::set(pod, &["metadata", "labels", key], value.into());
    }
}
