//! Admission for client writes: the NamespaceLifecycle plugin (missing or terminating
//! namespaces), the ServiceAccount plugin's token volume, admission webhooks that fail when
//! their service has no ready endpoint, and the Linkerd proxy injector (simulated in
//! [`injector`]), which reviews pods and Services only while it is serving.

use serde_json::{Value, json};

use super::catalog::ResourceType;
use super::injector;
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
/// `failurePolicy` is `Ignore`; the Linkerd injector, when serving, reviews new pods and
/// Services (see [`injector`]). A new pod first gets its service-account token, as the
/// ServiceAccount admission plugin runs before the webhooks.
pub fn webhooks(
    state: &State,
    rt: &ResourceType,
    operation: &str,
    object: &mut Value,
) -> Result<(), ApiError> {
    let create = operation == "CREATE" && rt.group.is_empty();
    if create && rt.kind == "Pod" {
        service_account_token(state, object);
    }
    for plural in [
        "mutatingwebhookconfigurations",
        "validatingwebhookconfigurations",
    ] {
        for config in state.store.list("admissionregistration.k8s.io", plural) {
            let injector = json::name(config) == INJECTOR_CONFIG;
            for hook in json::array(config, "/webhooks") {
                if !applies(state, hook, rt, operation, object) {
                    continue;
                }
                let namespace = json::str_at(hook, "/clientConfig/service/namespace");
                let serving = if injector {
                    injector_serving(state, namespace)
                } else {
                    hook.pointer("/clientConfig/url").is_some()
                        || service_ready(
                            state,
                            namespace,
                            json::str_at(hook, "/clientConfig/service/name"),
                        )
                };
                if !serving {
                    if json::str_at(hook, "/failurePolicy") == "Ignore" {
                        continue;
                    }
                    return Err(unreachable_webhook(hook));
                }
                if injector && create && matches!(rt.kind.as_str(), "Pod" | "Service") {
                    inject(state, hook, object)?;
                }
            }
        }
    }
    Ok(())
}

/// Sends `object` to the Linkerd injector and applies its answer: the patch, the denial as
/// kube-apiserver words it (apiserver/pkg/admission/plugin/webhook/errors/statuserror.go
/// `ToStatusErr`: code 400 when the webhook gave none), or a failed call, which
/// `failurePolicy: Ignore` lets through unchanged.
fn inject(state: &State, hook: &Value, object: &mut Value) -> Result<(), ApiError> {
    let name = json::str_at(hook, "/name");
    if json::str_at(object, "/kind") == "Pod" && wants_proxy(state, object) {
        let missed = state.missed_injections.fetch_update(
            std::sync::atomic::Ordering::Relaxed,
            std::sync::atomic::Ordering::Relaxed,
            |left| left.checked_sub(1),
        );
        if missed.is_ok() {
            return Ok(());
        }
    }
    let control_plane = match json::str_at(hook, "/clientConfig/service/namespace") {
        "" => "linkerd",
        ns => ns,
    };
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
        .unwrap_or_default();
    match injector::review(state, control_plane, &version, object) {
        injector::Answer::Allow(ops) if ops.is_empty() => Ok(()),
        injector::Answer::Allow(ops) => {
            let mut ops = Value::Array(ops);
            injector::without_nulls(&mut ops);
            super::patch::json_patch(object, &ops).map_err(|err| {
                ApiError::internal(&format!(
                    "admission webhook {name:?} returned a patch that does not apply: {}",
                    err.message
                ))
            })
        }
        injector::Answer::Deny(message) => Err(ApiError::new(
            400,
            "",
            format!("admission webhook {name:?} denied the request: {message}"),
        )),
        injector::Answer::Crash(_) if json::str_at(hook, "/failurePolicy") == "Ignore" => Ok(()),
        injector::Answer::Crash(_) => {
            let service = json::str_at(hook, "/clientConfig/service/name");
            Err(ApiError::internal(&format!(
                "failed calling webhook {name:?}: failed to call webhook: Post \"https://{service}.{control_plane}.svc:443/?timeout=10s\": EOF"
            )))
        }
    }
}

/// Whether a pod asks for a proxy it does not have yet (for the missed-injection knob).
fn wants_proxy(state: &State, pod: &Value) -> bool {
    let namespace = state
        .store
        .get("", "namespaces", "", json::namespace(pod))
        .map(json::annotations)
        .and_then(|a| a.get("linkerd.io/inject").cloned());
    let wanted = match json::annotations(pod)
        .get("linkerd.io/inject")
        .map(String::as_str)
    {
        Some("enabled") => true,
        Some(_) => false,
        None => namespace.as_deref() == Some("enabled"),
    };
    let host_network = pod.pointer("/spec/hostNetwork").and_then(Value::as_bool) == Some(true);
    let meshed = ["containers", "initContainers"]
        .iter()
        .flat_map(|list| json::array(pod, &format!("/spec/{list}")))
        .any(|c| json::str_at(c, "/name") == "linkerd-proxy");
    wanted && !host_network && !meshed
}

/// Where every container finds its service-account token.
const TOKEN_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// The ServiceAccount admission plugin (plugin/pkg/admission/serviceaccount/admission.go):
/// a pod runs as `default` unless it names an account, and unless the pod or its account
/// opts out, gets a projected `kube-api-access-<suffix>` volume (token, cluster CA,
/// namespace) mounted read-only at the token path in every container that has nothing
/// there. (A missing account is not refused here, as the plugin would.) A mirror pod
/// (annotation `kubernetes.io/config.mirror`) is left as it is: the plugin does not change a
/// static pod's spec.
fn service_account_token(state: &State, pod: &mut Value) {
    if json::annotations(pod).contains_key("kubernetes.io/config.mirror") {
        return;
    }
    let account = match json::str_at(pod, "/spec/serviceAccountName") {
        "" => "default".to_owned(),
        name => name.to_owned(),
    };
    json::set(pod, &["spec", "serviceAccountName"], account.clone().into());
    let opted_out = match pod
        .pointer("/spec/automountServiceAccountToken")
        .and_then(Value::as_bool)
    {
        Some(automount) => !automount,
        None => {
            state
                .store
                .get("", "serviceaccounts", json::namespace(pod), &account)
                .and_then(|sa| sa["automountServiceAccountToken"].as_bool())
                == Some(false)
        }
    };
    if opted_out {
        return;
    }
    let seed = json::name(pod)
        .bytes()
        .chain(json::namespace(pod).bytes())
        .fold(0_u64, |h, b| super::store::mix(h ^ u64::from(b)));
    let volume = format!("kube-api-access-{}", super::writes::suffix(seed));
    for list in ["initContainers", "containers"] {
        let Some(containers) = pod["spec"][list].as_array_mut() else {
            continue;
        };
        for container in containers {
            let mounts = json::entry(container, &["volumeMounts"]);
            if !mounts.is_array() {
                *mounts = json!([]);
            }
            if let Some(mounts) = mounts.as_array_mut()
                && !mounts
                    .iter()
                    .any(|m| json::str_at(m, "/mountPath") == TOKEN_PATH)
            {
                mounts.push(json!({"name": volume, "mountPath": TOKEN_PATH, "readOnly": true}));
            }
        }
    }
    let volumes = json::entry(pod, &["spec", "volumes"]);
    if !volumes.is_array() {
        *volumes = json!([]);
    }
    if let Some(volumes) = volumes.as_array_mut() {
        volumes.push(json!({
            "name": volume,
            "projected": {"defaultMode": 420, "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
            ]},
        }));
    }
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
