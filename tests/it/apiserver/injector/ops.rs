//! The JSON patch the injector answers with (charts/patch/templates/patch.json): metadata,
//! the xtables and identity volumes, `linkerd-init` then the proxy, as native sidecars at the
//! front of the init containers, or the proxy first among the containers (with `await`).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::derefs::{self, Refusal};
use super::env_identity::tracing_enabled;
use super::gotmpl::{on, plain, text};
use super::proxy::{self, Target};
use super::proxy_init;

/// What the patch adds to the pod's metadata, and whether the pod lacks the maps.
pub struct Meta {
    /// Annotations to add (sorted, as the template ranges over them).
    pub annotations: BTreeMap<String, String>,
    /// Labels to add.
    pub labels: BTreeMap<String, String>,
    /// Whether the pod asks for the debug sidecar.
    pub debug: bool,
}

/// The `linkerd-debug` sidecar (charts/partials/templates/_debug.tpl).
fn debug_container(values: &Value) -> Value {
    let or = |path: &str, fallback: &str| {
        if on(values, path) {
            text(values, path)
        } else {
            text(values, fallback)
        }
    };
    let image = format!(
        "{}:{}",
        text(values, "debugContainer.image.name"),
        or("debugContainer.image.version", "linkerdVersion")
    );
    json!({
        "image": plain(&image),
        "imagePullPolicy": plain(&or("debugContainer.image.pullPolicy", "imagePullPolicy")),
        "name": "linkerd-debug",
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "livenessProbe": {"exec": {"command": ["true"]}},
        "readinessProbe": {"exec": {"command": ["true"]}},
    })
}

fn add(path: &str, value: Value) -> Value {
    let mut op = serde_json::Map::new();
    op.insert("op".into(), "add".into());
    op.insert("path".into(), path.into());
    op.insert("value".into(), value);
    Value::Object(op)
}

/// A map key as a JSON pointer token.
fn token(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// The metadata operations (also all a pod that is not injected may get).
pub fn metadata(pod: &Value, meta: &Meta) -> Vec<Value> {
    let mut ops = Vec::new();
    let missing = |key: &str| {
        pod["metadata"][key]
            .as_object()
            .is_none_or(serde_json::Map::is_empty)
    };
    if !meta.annotations.is_empty() && missing("annotations") {
        ops.push(add("/metadata/annotations", json!({})));
    }
    for (key, value) in &meta.annotations {
        ops.push(add(
            &format!("/metadata/annotations/{}", token(key)),
            value.as_str().into(),
        ));
    }
    if !meta.labels.is_empty() && missing("labels") {
        ops.push(add("/metadata/labels", json!({})));
    }
    for (key, value) in &meta.labels {
        ops.push(add(
            &format!("/metadata/labels/{}", token(key)),
            value.as_str().into(),
        ));
    }
    ops
}

/// The whole injection patch.
pub fn injection(
    values: &Value,
    pod: &Value,
    meta: &Meta,
    target: &Target<'_>,
) -> Result<Vec<Value>, Refusal> {
    let mut ops = metadata(pod, meta);
    let has = |list: &str| {
        pod["spec"][list]
            .as_array()
            .is_some_and(|items| !items.is_empty())
    };
    if !has("volumes") {
        ops.push(add("/spec/volumes", json!([])));
    }
    if !has("initContainers") {
        ops.push(add("/spec/initContainers", json!([])));
    }
    let native = on(values, "proxy.nativeSidecar");
    // `$initIndex`: "0" for native sidecars (then 1 after the first init container), else "-".
    let mut index = if native { "0" } else { "-" }.to_owned();
    if on(values, "cniEnabled") {
        let validator = proxy_init::network_validator(values)?;
        ops.push(add(&format!("/spec/initContainers/{index}"), validator));
        index = "1".into();
    } else {
        ops.push(add(
            "/spec/volumes/-",
            json!({"emptyDir": {}, "name": "linkerd-proxy-init-xtables-lock"}),
        ));
        let init = proxy_init::proxy_init(values)?;
        ops.push(add(&format!("/spec/initContainers/{index}"), init));
        index = "1".into();
    }
    if meta.debug {
        ops.push(add("/spec/containers/-", debug_container(values)));
    }
    ops.push(add(
        "/spec/volumes/-",
        json!({"name": "linkerd-identity-end-entity", "emptyDir": {"medium": "Memory"}}),
    ));
    if tracing_enabled(values) {
        ops.push(add(
            "/spec/volumes/-",
            json!({"downwardAPI": {"items": [{"fieldRef": {"fieldPath": "metadata.labels"}, "path": "labels"}]}, "name": "linkerd-podinfo"}),
        ));
    }
    derefs::need(values, &derefs::IDENTITY)?;
    if on(values, "identity.serviceAccountTokenProjection") {
        ops.push(add(
            "/spec/volumes/-",
            json!({
                "name": "linkerd-identity-token",
                "projected": {"sources": [{"serviceAccountToken": {
                    "path": "linkerd-identity-token", "expirationSeconds": 86400, "audience": "identity.l5d.io",
                }}]},
            }),
        ));
    }
    let container = proxy::container(values, target)?;
    let path = if native {
        format!("/spec/initContainers/{index}")
    } else if on(values, "proxy.await") {
        "/spec/containers/0".to_owned()
    } else {
        "/spec/containers/-".to_owned()
    };
    ops.push(add(&path, container));
    Ok(ops)
}

/// Drops null fields, as the API server does when it decodes the patched pod into its types
/// (`value: null` in an env entry, `resources: null`).
pub fn without_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(without_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(without_nulls),
        _ => {}
    }
}
