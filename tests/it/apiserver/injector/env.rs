//! The proxy's env, as charts/partials/templates/_proxy.tpl writes it from the values, in
//! its order: the pod's fields, cores, logs, the control plane's services, timeouts, listen
//! addresses, inbound ports and discovery (the identity, tracing and HTTP/2 parts are in
//! [`super::env_identity`]).

use std::fmt::Write as _;

use serde_json::{Map, Value, json};

use super::derefs::{self, Refusal};
use super::env_identity::{http2_parameters, identity, tracing, tracing_enabled};
use super::gotmpl::{at, on, plain, text};
use super::proxy::{Target, or};

/// An env var with a literal value (already as YAML reads it).
pub fn var(name: &str, value: Value) -> Value {
    let mut var = Map::new();
    var.insert("name".into(), name.into());
    var.insert("value".into(), value);
    Value::Object(var)
}

/// An env var from a field of the pod.
pub fn field(name: &str, path: &str) -> Value {
    json!({"name": name, "valueFrom": {"fieldRef": {"fieldPath": path}}})
}

/// `{{ x | quote }}`: always a string.
pub fn quoted(name: &str, value: String) -> Value {
    var(name, Value::String(value))
}

/// `.identityTrustDomain | default .clusterDomain`.
pub fn trust_domain(values: &Value) -> String {
    or(values, "identityTrustDomain", "clusterDomain")
}

/// `{{ if .x }}NAME: {{ .x | quote }}{{ end }}`.
pub fn when(values: &Value, env: &mut Vec<Value>, path: &str, name: &str) {
    if on(values, path) {
        env.push(quoted(name, text(values, path)));
    }
}

/// The env, line by line as _proxy.tpl writes it.
pub fn env(values: &Value, target: &Target<'_>) -> Result<Vec<Value>, Refusal> {
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
