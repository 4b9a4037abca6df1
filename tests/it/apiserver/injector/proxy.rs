//! The `linkerd-proxy` container, as charts/partials/templates/_proxy.tpl (with
//! _resources.tpl and _capabilities.tpl) renders it from the values, in the template's order,
//! so that its first failure is upstream's.

use std::fmt::Write as _;

use serde_json::{Map, Value, json};

use super::derefs::{self, Refusal};
use super::gotmpl::{self, at, helm_error, on, plain, text};

/// What the proxy is rendered for.
pub struct Target<'a> {
    /// The control-plane namespace (`.Release.Namespace`).
    pub namespace: &'a str,
}

/// An env var with a literal value (already as YAML reads it).
fn var(name: &str, value: Value) -> Value {
    let mut var = Map::new();
    var.insert("name".into(), name.into());
    var.insert("value".into(), value);
    Value::Object(var)
}

/// An env var from a field of the pod.
fn field(name: &str, path: &str) -> Value {
    json!({"name": name, "valueFrom": {"fieldRef": {"fieldPath": path}}})
}

/// `{{ x | quote }}`: always a string.
fn quoted(name: &str, value: String) -> Value {
    var(name, Value::String(value))
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
fn or(values: &Value, path: &str, fallback: &str) -> String {
    if on(values, path) {
        text(values, path)
    } else {
        text(values, fallback)
    }
}

/// `.identityTrustDomain | default .clusterDomain`.
fn trust_domain(values: &Value) -> String {
    or(values, "identityTrustDomain", "clusterDomain")
}

fn probe(values: &Value, path: &str, key: &str) -> Value {
    let number = |field: &str| plain(&text(values, &format!("proxy.{key}.{field}")));
    json!({
        "httpGet": {"path": path, "port": plain(&text(values, "proxy.ports.admin"))},
        "initialDelaySeconds": number("initialDelaySeconds"),
        "timeoutSeconds": number("timeoutSeconds"),
    })
}

/// `{{ if .x }}NAME: {{ .x | quote }}{{ end }}`.
fn when(values: &Value, env: &mut Vec<Value>, path: &str, name: &str) {
    if on(values, path) {
        env.push(quoted(name, text(values, path)));
    }
}

/// The env, line by line as _proxy.tpl writes it.
fn env(values: &Value, target: &Target<'_>) -> Result<Vec<Value>, Refusal> {
    let mut env = vec![
        field("_pod_name", "metadata.name"),
        field("_pod_ns", "metadata.namespace"),
        field("_pod_uid", "metadata.uid"),
        field("_pod_ip", "status.podIP"),
        field("_pod_nodeName", "spec.nodeName"),
        var("_pod_containerName", "linkerd-proxy".into()),
    ];
    cores(values, &mut env);
    when(
        values,
        &mut env,
        "proxy.requireIdentityOnInboundPorts",
        "LINKERD2_PROXY_INBOUND_PORTS_REQUIRE_IDENTITY",
    );
    env.push(quoted(
        "LINKERD2_PROXY_SHUTDOWN_ENDPOINT_ENABLED",
        text(values, "proxy.enableShutdownEndpoint"),
    ));
    logs_and_policy(values, target.namespace, &mut env);
    timeouts(values, &mut env);
    // Without linkerd-init (cniEnabled), the proxy is the first to read the ports.
    derefs::need(values, &derefs::PROXY_PORTS)?;
    listen_addresses(values, &mut env);
    env.push(quoted(
        "LINKERD2_PROXY_INBOUND_PORTS",
        text(values, "proxy.podInboundPorts"),
    ));
    discovery(values, &mut env);
    derefs::need(values, &derefs::METRICS)?;
    env.push(quoted(
        "LINKERD2_PROXY_OUTBOUND_METRICS_HOSTNAME_LABELS",
        text(values, "proxy.metrics.hostnameLabels"),
    ));
    if tracing_enabled(values) {
        tracing(values, target, &mut env)?;
    }
    http2_parameters(values, &mut env);
    when(
        values,
        &mut env,
        "proxy.opaquePorts",
        "LINKERD2_PROXY_INBOUND_PORTS_DISABLE_PROTOCOL_DETECTION",
    );
    identity(values, target, &trust_domain(values), &mut env)?;
    when(
        values,
        &mut env,
        "proxy.accessLog",
        "LINKERD2_PROXY_ACCESS_LOG",
    );
    when(
        values,
        &mut env,
        "proxy.shutdownGracePeriod",
        "LINKERD2_PROXY_SHUTDOWN_GRACE_PERIOD",
    );
    for extra in ["proxy.additionalEnv", "proxy.experimentalEnv"] {
        if let Some(list) = at(values, extra).as_array() {
            env.extend(list.iter().cloned());
        }
    }
    Ok(env)
}

/// The log filter (HTTP headers off unless `insecure`) and format, the destination and
/// policy services, the default policy and the cluster networks.
fn logs_and_policy(values: &Value, ns: &str, env: &mut Vec<Value>) {
    let domain = text(values, "clusterDomain");
    let headers_off = if text(values, "proxy.logHTTPHeaders") == "insecure" {
        ""
    } else {
        ",[{headers}]=off,[{request}]=off"
    };
    let networks = text(values, "clusterNetworks");
    env.extend([
        quoted(
            "LINKERD2_PROXY_LOG",
            format!("{}{headers_off}", text(values, "proxy.logLevel")),
        ),
        quoted("LINKERD2_PROXY_LOG_FORMAT", text(values, "proxy.logFormat")),
        var(
            "LINKERD2_PROXY_DESTINATION_SVC_ADDR",
            plain(&format!("linkerd-dst-headless.{ns}.svc.{domain}.:8086")),
        ),
        quoted(
            "LINKERD2_PROXY_DESTINATION_PROFILE_NETWORKS",
            networks.clone(),
        ),
        var(
            "LINKERD2_PROXY_POLICY_SVC_ADDR",
            plain(&format!("linkerd-policy.{ns}.svc.{domain}.:8090")),
        ),
        quoted(
            "LINKERD2_PROXY_POLICY_WORKLOAD",
            "{\"ns\":\"$(_pod_ns)\", \"pod\":\"$(_pod_name)\"}\n".into(),
        ),
        var(
            "LINKERD2_PROXY_INBOUND_DEFAULT_POLICY",
            plain(&text(values, "proxy.defaultInboundPolicy")),
        ),
        quoted("LINKERD2_PROXY_POLICY_CLUSTER_NETWORKS", networks),
    ]);
}

/// The control-stream, connect, discovery and protocol-detection timeouts.
fn timeouts(values: &Value, env: &mut Vec<Value>) {
    for (name, key) in [
        ("INITIAL_TIMEOUT", "initialTimeout"),
        ("IDLE_TIMEOUT", "idleTimeout"),
        ("LIFETIME", "lifetime"),
    ] {
        // `((.Values.proxy.control).streams).x`: parenthesised, so nil-safe.
        env.push(quoted(
            &format!("LINKERD2_PROXY_CONTROL_STREAM_{name}"),
            text(values, &format!("proxy.control.streams.{key}")),
        ));
    }
    for (path, name) in [
        ("proxy.inboundConnectTimeout", "INBOUND_CONNECT_TIMEOUT"),
        ("proxy.outboundConnectTimeout", "OUTBOUND_CONNECT_TIMEOUT"),
        (
            "proxy.outboundDiscoveryCacheUnusedTimeout",
            "OUTBOUND_DISCOVERY_IDLE_TIMEOUT",
        ),
        (
            "proxy.inboundDiscoveryCacheUnusedTimeout",
            "INBOUND_DISCOVERY_IDLE_TIMEOUT",
        ),
    ] {
        when(values, env, path, &format!("LINKERD2_PROXY_{name}"));
    }
    for (path, name) in [
        (
            "proxy.disableOutboundProtocolDetectTimeout",
            "LINKERD2_PROXY_OUTBOUND_DETECT_TIMEOUT",
        ),
        (
            "proxy.disableInboundProtocolDetectTimeout",
            "LINKERD2_PROXY_INBOUND_DETECT_TIMEOUT",
        ),
    ] {
        if on(values, path) {
            env.push(quoted(name, "365d".into()));
        }
    }
}

/// Gateway and ingress modes, profile suffixes and the fixed keepalives.
fn discovery(values: &Value, env: &mut Vec<Value>) {
    let domain = text(values, "clusterDomain");
    if on(values, "proxy.isGateway") {
        env.push(var(
            "LINKERD2_PROXY_INBOUND_GATEWAY_SUFFIXES",
            plain(&format!("svc.{domain}.")),
        ));
    }
    if on(values, "proxy.isIngress") {
        env.push(quoted("LINKERD2_PROXY_INGRESS_MODE", "true".into()));
    }
    let suffixes = if on(values, "proxy.enableExternalProfiles") {
        ".".to_owned()
    } else {
        format!("svc.{domain}.")
    };
    env.extend([
        var(
            "LINKERD2_PROXY_DESTINATION_PROFILE_SUFFIXES",
            plain(&suffixes),
        ),
        var("LINKERD2_PROXY_INBOUND_ACCEPT_KEEPALIVE", "10000ms".into()),
        var(
            "LINKERD2_PROXY_OUTBOUND_CONNECT_KEEPALIVE",
            "10000ms".into(),
        ),
        var("LINKERD2_PROXY_INBOUND_ACCEPT_USER_TIMEOUT", "30s".into()),
        var("LINKERD2_PROXY_OUTBOUND_CONNECT_USER_TIMEOUT", "30s".into()),
    ]);
}

/// `LINKERD2_PROXY_CORES*`: the deprecated fixed `cores`, else `runtime.workers`.
fn cores(values: &Value, env: &mut Vec<Value>) {
    if on(values, "proxy.cores") {
        let cores = text(values, "proxy.cores");
        env.push(quoted("LINKERD2_PROXY_CORES", cores.clone()));
        env.push(quoted("LINKERD2_PROXY_CORES_MIN", cores));
        return;
    }
    if !on(values, "proxy.runtime.workers") {
        return;
    }
    let minimum = if on(values, "proxy.runtime.workers.minimum") {
        text(values, "proxy.runtime.workers.minimum")
    } else {
        "1".to_owned()
    };
    env.push(quoted("LINKERD2_PROXY_CORES", minimum.clone()));
    env.push(quoted("LINKERD2_PROXY_CORES_MIN", minimum));
    for (key, name) in [
        ("maximum", "LINKERD2_PROXY_CORES_MAX"),
        ("maximumCPURatio", "LINKERD2_PROXY_CORES_MAX_RATIO"),
    ] {
        let path = format!("proxy.runtime.workers.{key}");
        if on(values, &path) {
            env.push(quoted(name, text(values, &path)));
        }
    }
}

/// The control, admin, outbound and inbound listen addresses (IPv4 only with
/// `disableIPv6`).
fn listen_addresses(values: &Value, env: &mut Vec<Value>) {
    let v6 = !on(values, "disableIPv6");
    let any = if v6 { "[::]" } else { "0.0.0.0" };
    let port = |key: &str| text(values, &format!("proxy.ports.{key}"));
    let outbound = port("outbound");
    let mut outbound_all = format!("127.0.0.1:{outbound}");
    if v6 {
        let _ = write!(outbound_all, ",[::1]:{outbound}");
    }
    env.extend([
        quoted(
            "LINKERD2_PROXY_CONTROL_LISTEN_ADDR",
            format!("{any}:{}", port("control")),
        ),
        quoted(
            "LINKERD2_PROXY_ADMIN_LISTEN_ADDR",
            format!("{any}:{}", port("admin")),
        ),
        quoted(
            "LINKERD2_PROXY_OUTBOUND_LISTEN_ADDR",
            format!("127.0.0.1:{outbound}"),
        ),
        quoted("LINKERD2_PROXY_OUTBOUND_LISTEN_ADDRS", outbound_all),
        quoted(
            "LINKERD2_PROXY_INBOUND_LISTEN_ADDR",
            format!("{any}:{}", port("inbound")),
        ),
        field("LINKERD2_PROXY_INBOUND_IPS", "status.podIPs"),
    ]);
}

/// `.Values.proxy.tracing | default (dict) | dig "enabled" false`.
pub fn tracing_enabled(values: &Value) -> bool {
    gotmpl::truthy(&at(values, "proxy.tracing")["enabled"])
}

/// The tracing env (only with tracing enabled), with its required settings.
fn tracing(values: &Value, target: &Target<'_>, env: &mut Vec<Value>) -> Result<(), Refusal> {
    let fail = |message: &str| Refusal::Deny(helm_error(&derefs::PROXY_INCLUDE, message));
    let protocol = match text(values, "proxy.tracing.protocol") {
        p if p.is_empty() => "opentelemetry".to_owned(),
        p => p,
    };
    env.extend([
        var(
            "LINKERD2_PROXY_TRACE_ATTRIBUTES_PATH",
            "/var/run/linkerd/podinfo/labels".into(),
        ),
        var(
            "LINKERD2_PROXY_TRACE_ANNOTATIONS_PATH",
            "/var/run/linkerd/podinfo/annotations".into(),
        ),
        var("LINKERD2_PROXY_TRACE_PROTOCOL", plain(&protocol)),
        var(
            "LINKERD2_PROXY_TRACE_SERVICE_NAME",
            plain(&text(values, "proxy.tracing.traceServiceName")),
        ),
    ]);
    derefs::need(values, &derefs::TRACING_COLLECTOR)?;
    let endpoint = text(values, "proxy.tracing.collector.endpoint");
    if endpoint.is_empty() {
        return Err(fail(
            "proxy.tracing.collector.endpoint must be set if proxy tracing is enabled",
        ));
    }
    env.push(var(
        "LINKERD2_PROXY_TRACE_COLLECTOR_SVC_ADDR",
        plain(&endpoint),
    ));
    derefs::need(values, &derefs::TRACING_IDENTITY)?;
    let identity = "proxy.tracing.collector.meshIdentity";
    let account = text(values, &format!("{identity}.serviceAccountName"));
    let namespace = text(values, &format!("{identity}.namespace"));
    if account.is_empty() {
        return Err(fail(
            "proxy.tracing.collector.meshIdentity.serviceAccountName must be set if proxy tracing is enabled",
        ));
    }
    if namespace.is_empty() {
        return Err(fail(
            "proxy.tracing.collector.meshIdentity.namespace must be set if proxy tracing is enabled",
        ));
    }
    env.push(var(
        "LINKERD2_PROXY_TRACE_COLLECTOR_SVC_NAME",
        plain(&format!(
            "{account}.{namespace}.serviceaccount.identity.{}.{}",
            target.namespace,
            trust_domain(values)
        )),
    ));
    let labels: String = at(values, "proxy.tracing.labels")
        .as_object()
        .map(|labels| {
            labels.iter().fold(String::new(), |mut out, (k, v)| {
                let _ = writeln!(out, "{k}={}", gotmpl::print(v));
                out
            })
        })
        .unwrap_or_default();
    env.push(quoted("LINKERD2_PROXY_TRACE_EXTRA_ATTRIBUTES", labels));
    Ok(())
}

/// `LINKERD2_PROXY_{INBOUND,OUTBOUND}_<SCOPE>_<PROTO>_<PARAM>` from `proxy.inbound` and
/// `proxy.outbound` (maps of maps, walked in key order).
fn http2_parameters(values: &Value, env: &mut Vec<Value>) {
    let upper = |key: &str| gotmpl::snakecase(key).to_uppercase();
    for direction in ["inbound", "outbound"] {
        let Some(scopes) = at(values, &format!("proxy.{direction}")).as_object() else {
            continue;
        };
        for (scope, protocols) in scopes {
            for (protocol, params) in protocols.as_object().into_iter().flatten() {
                for (param, value) in params.as_object().into_iter().flatten() {
                    let name = format!(
                        "LINKERD2_PROXY_{}_{}_{}_{}",
                        upper(direction),
                        upper(scope),
                        upper(protocol),
                        upper(param)
                    );
                    // sprig's `quote` writes nothing for nil: the value reads back as null.
                    let quoted = if value.is_null() {
                        Value::Null
                    } else {
                        Value::String(gotmpl::print(value))
                    };
                    env.push(var(&name, quoted));
                }
            }
        }
    }
}

/// The identity env: trust anchors (required), token file, service names.
fn identity(
    values: &Value,
    target: &Target<'_>,
    trust: &str,
    env: &mut Vec<Value>,
) -> Result<(), Refusal> {
    let ns = target.namespace;
    let domain = text(values, "clusterDomain");
    env.extend([
        quoted(
            "LINKERD2_PROXY_DESTINATION_CONTEXT",
            "{\"ns\":\"$(_pod_ns)\", \"nodeName\":\"$(_pod_nodeName)\", \"pod\":\"$(_pod_name)\"}\n"
                .into(),
        ),
        field("_pod_sa", "spec.serviceAccountName"),
        var("_l5d_ns", plain(ns)),
        var("_l5d_trustdomain", plain(trust)),
        var(
            "LINKERD2_PROXY_IDENTITY_DIR",
            "/var/run/linkerd/identity/end-entity".into(),
        ),
    ]);
    let anchors = text(values, "identityTrustAnchorsPEM");
    if anchors.is_empty() {
        return Err(Refusal::Deny(helm_error(
            &derefs::PROXY_INCLUDE,
            "Please provide the identity trust anchors",
        )));
    }
    env.push(quoted(
        "LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS",
        format!("{}\n", anchors.trim()),
    ));
    let token = if on(values, "identity.serviceAccountTokenProjection") {
        "/var/run/secrets/tokens/linkerd-identity-token"
    } else {
        "/var/run/secrets/kubernetes.io/serviceaccount/token"
    };
    let service = |account: &str| format!("{account}.{ns}.serviceaccount.identity.{ns}.{trust}");
    env.extend([
        var("LINKERD2_PROXY_IDENTITY_TOKEN_FILE", token.into()),
        var(
            "LINKERD2_PROXY_IDENTITY_SVC_ADDR",
            plain(&format!(
                "linkerd-identity-headless.{ns}.svc.{domain}.:8080"
            )),
        ),
        var(
            "LINKERD2_PROXY_IDENTITY_LOCAL_NAME",
            plain(&format!(
                "$(_pod_sa).$(_pod_ns).serviceaccount.identity.{ns}.{trust}"
            )),
        ),
        var(
            "LINKERD2_PROXY_IDENTITY_SVC_NAME",
            plain(&service("linkerd-identity")),
        ),
        var(
            "LINKERD2_PROXY_DESTINATION_SVC_NAME",
            plain(&service("linkerd-destination")),
        ),
        var(
            "LINKERD2_PROXY_POLICY_SVC_NAME",
            plain(&service("linkerd-destination")),
        ),
    ]);
    Ok(())
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
