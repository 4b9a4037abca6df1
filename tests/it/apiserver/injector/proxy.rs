//! The `linkerd-proxy` container, as charts/partials/templates/_proxy.tpl (with
//! _resources.tpl and _capabilities.tpl) renders it from the values, in the template's order,
//! so that its first failure is upstream's.

use serde_json::{Map, Value, json};

use super::derefs::{self, Refusal};
use super::env::env;
use super::env_identity::tracing_enabled;
use super::gotmpl::{self, at, helm_error, on, plain, text};

/// What the proxy is rendered for.
pub struct Target<'a> {
    /// The control-plane namespace (`.Release.Namespace`).
    pub namespace: &'a str,
}

/// The proxy container.
pub fn container(values: &Value, target: &Target<'_>) -> Result<Value, Refusal> {
    let headers = text(values, "proxy.logHTTPHeaders");
    if !["insecure", "off", ""].contains(&headers.as_str()) {
        return Err(Refusal::Deny(helm_error(
            &derefs::PROXY_INCLUDE,
            "logHTTPHeaders must be one of: insecure | off",
        )));
    }
    let env = env(values, target)?;
    let admin = plain(&text(values, "proxy.ports.admin"));
    let image = format!(
        "{}:{}",
        text(values, "proxy.image.name"),
        or(values, "proxy.image.version", "linkerdVersion")
    );
    let mut proxy = Map::new();
    proxy.insert("env".into(), Value::Array(env));
    proxy.insert("image".into(), plain(&image));
    proxy.insert(
        "imagePullPolicy".into(),
        plain(&or(values, "proxy.image.pullPolicy", "imagePullPolicy")),
    );
    derefs::need(values, &derefs::LIVENESS)?;
    proxy.insert(
        "livenessProbe".into(),
        probe(values, "/live", "livenessProbe"),
    );
    proxy.insert("name".into(), "linkerd-proxy".into());
    proxy.insert(
        "ports".into(),
        json!([
            {"containerPort": plain(&text(values, "proxy.ports.inbound")), "name": "linkerd-proxy"},
            {"containerPort": admin, "name": "linkerd-admin"},
        ]),
    );
    derefs::need(values, &derefs::READINESS)?;
    proxy.insert(
        "readinessProbe".into(),
        probe(values, "/ready", "readinessProbe"),
    );
    let native = on(values, "proxy.nativeSidecar");
    if native && on(values, "proxy.await") {
        derefs::need(values, &derefs::STARTUP)?;
        let number = |key: &str| plain(&text(values, &format!("proxy.startupProbe.{key}")));
        proxy.insert(
            "startupProbe".into(),
            json!({
                "httpGet": {"path": "/ready", "port": admin},
                "initialDelaySeconds": number("initialDelaySeconds"),
                "periodSeconds": number("periodSeconds"),
                "failureThreshold": number("failureThreshold"),
            }),
        );
    }
    if on(values, "proxy.resources") {
        proxy.insert("resources".into(), resources(at(values, "proxy.resources")));
    }
    proxy.insert("securityContext".into(), security_context(values));
    proxy.insert(
        "terminationMessagePolicy".into(),
        "FallbackToLogsOnError".into(),
    );
    let wait = text(values, "proxy.waitBeforeExitSeconds");
    let waits = gotmpl::truthy(at(values, "proxy.waitBeforeExitSeconds"));
    if !native && (on(values, "proxy.await") || waits) {
        let mut lifecycle = Map::new();
        if on(values, "proxy.await") {
            let port = format!("--port={}", text(values, "proxy.ports.admin"));
            lifecycle.insert(
                "postStart".into(),
                json!({"exec": {"command": ["/usr/lib/linkerd/linkerd-await", "--timeout=2m", port]}}),
            );
        }
        if waits {
            lifecycle.insert(
                "preStop".into(),
                json!({"exec": {"command": ["/bin/sleep", wait]}}),
            );
        }
        proxy.insert("lifecycle".into(), Value::Object(lifecycle));
    }
    proxy.insert("volumeMounts".into(), Value::Array(mounts(values)));
    if native {
        proxy.insert("restartPolicy".into(), "Always".into());
    }
    Ok(Value::Object(proxy))
}

/// `{{ .a | default .b }}`.
pub fn or(values: &Value, path: &str, fallback: &str) -> String {
    if on(values, path) {
        text(values, path)
    } else {
        text(values, fallback)
    }
}

fn probe(values: &Value, path: &str, key: &str) -> Value {
    let number = |field: &str| plain(&text(values, &format!("proxy.{key}.{field}")));
    json!({
        "httpGet": {"path": path, "port": plain(&text(values, "proxy.ports.admin"))},
        "initialDelaySeconds": number("initialDelaySeconds"),
        "timeoutSeconds": number("timeoutSeconds"),
    })
}

/// _resources.tpl: limits and requests from the set constraints; `resources:` alone (null)
/// when none is set.
pub fn resources(resources: &Value) -> Value {
    let mut out = Map::new();
    for (bound, key) in [("limit", "limits"), ("request", "requests")] {
        let mut set = Map::new();
        for resource in ["cpu", "memory", "ephemeral-storage"] {
            let value = &resources[resource][bound];
            if gotmpl::truthy(value) {
                set.insert(resource.into(), gotmpl::print(value).into());
            }
        }
        if !set.is_empty() {
            out.insert(key.into(), Value::Object(set));
        }
    }
    if out.is_empty() {
        Value::Null
    } else {
        Value::Object(out)
    }
}

/// The proxy's securityContext: linkerd-config's own, or the restricted default with the
/// proxy's uid (and gid when not negative) and the capabilities the injector copied.
fn security_context(values: &Value) -> Value {
    let own = at(values, "proxy.securityContext");
    if gotmpl::truthy(own) {
        return own.clone();
    }
    let mut context = Map::new();
    context.insert("allowPrivilegeEscalation".into(), false.into());
    if on(values, "proxy.capabilities") {
        let mut capabilities = Map::new();
        for key in ["add", "drop"] {
            let list = at(values, &format!("proxy.capabilities.{key}"));
            if gotmpl::truthy(list) {
                capabilities.insert(key.into(), list.clone());
            }
        }
        let capabilities = if capabilities.is_empty() {
            Value::Null
        } else {
            Value::Object(capabilities)
        };
        context.insert("capabilities".into(), capabilities);
    }
    context.insert("readOnlyRootFilesystem".into(), true.into());
    context.insert("runAsNonRoot".into(), true.into());
    context.insert("runAsUser".into(), plain(&text(values, "proxy.uid")));
    if at(values, "proxy.gid").as_f64().unwrap_or_default() >= 0.0 {
        context.insert("runAsGroup".into(), plain(&text(values, "proxy.gid")));
    }
    context.insert("seccompProfile".into(), json!({"type": "RuntimeDefault"}));
    Value::Object(context)
}

/// The proxy's mounts: its identity, the pod info (tracing), the projected token, the
/// pod's service-account token.
fn mounts(values: &Value) -> Vec<Value> {
    let mut mounts = vec![json!({
        "mountPath": "/var/run/linkerd/identity/end-entity",
        "name": "linkerd-identity-end-entity",
    })];
    if tracing_enabled(values) {
        mounts.push(json!({"mountPath": "/var/run/linkerd/podinfo", "name": "linkerd-podinfo"}));
    }
    if on(values, "identity.serviceAccountTokenProjection") {
        mounts.push(
            json!({"mountPath": "/var/run/secrets/tokens", "name": "linkerd-identity-token"}),
        );
    }
    if on(values, "proxy.saMountPath") {
        mounts.push(service_account_mount(values, "proxy.saMountPath"));
    }
    mounts
}

/// The service-account token mount the injector copied from the pod's first container.
pub fn service_account_mount(values: &Value, path: &str) -> Value {
    json!({
        "mountPath": plain(&text(values, &format!("{path}.mountPath"))),
        "name": plain(&text(values, &format!("{path}.name"))),
        "readOnly": plain(&text(values, &format!("{path}.readOnly"))),
    })
}
