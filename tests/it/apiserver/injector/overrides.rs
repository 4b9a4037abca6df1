//! The `config.linkerd.io/*` annotations a pod (or, inherited, its namespace) sets to
//! override linkerd-config for its own proxy (pkg/inject/inject.go `ApplyAnnotationOverrides`
//! and `AppendNamespaceAnnotations`), and the opaque ports the injector adds.

use std::collections::BTreeMap;

use serde_json::Value;

use super::derefs::{self, Refusal};
use super::gotmpl;

/// The annotations simulated here: the log settings, the image, the proxy's CPU and memory,
/// and the opaque ports.
const LOG_LEVEL: &str = "config.linkerd.io/proxy-log-level";
const LOG_FORMAT: &str = "config.linkerd.io/proxy-log-format";
const LOG_HEADERS: &str = "config.linkerd.io/proxy-log-http-headers";
const IMAGE: &str = "config.linkerd.io/proxy-image";
const VERSION: &str = "config.linkerd.io/proxy-version";
const PULL_POLICY: &str = "config.linkerd.io/image-pull-policy";
const CPU_REQUEST: &str = "config.linkerd.io/proxy-cpu-request";
const CPU_LIMIT: &str = "config.linkerd.io/proxy-cpu-limit";
const MEMORY_REQUEST: &str = "config.linkerd.io/proxy-memory-request";
const MEMORY_LIMIT: &str = "config.linkerd.io/proxy-memory-limit";
/// The opaque-ports annotation.
pub const OPAQUE_PORTS: &str = "config.linkerd.io/opaque-ports";

/// The annotations a namespace passes on to its pods when they lack them (inject.go
/// `ProxyAnnotations`, `ProxyAlphaConfigAnnotations` and `linkerd.io/inject`); only those
/// above change the simulated proxy.
const INHERITED: [&str; 43] = [
    "config.linkerd.io/admin-port",
    "config.linkerd.io/control-port",
    "config.linkerd.io/enable-debug-sidecar",
    "config.linkerd.io/enable-external-profiles",
    PULL_POLICY,
    "config.linkerd.io/inbound-port",
    "config.linkerd.io/outbound-port",
    "config.linkerd.io/pod-inbound-ports",
    CPU_LIMIT,
    CPU_REQUEST,
    IMAGE,
    "config.linkerd.io/proxy-admin-shutdown",
    LOG_FORMAT,
    LOG_LEVEL,
    LOG_HEADERS,
    MEMORY_LIMIT,
    MEMORY_REQUEST,
    "config.linkerd.io/proxy-ephemeral-storage-limit",
    "config.linkerd.io/proxy-ephemeral-storage-request",
    "config.linkerd.io/proxy-uid",
    "config.linkerd.io/proxy-gid",
    VERSION,
    "config.linkerd.io/proxy-require-identity-inbound-ports",
    "config.linkerd.io/skip-inbound-ports",
    OPAQUE_PORTS,
    "config.linkerd.io/skip-outbound-ports",
    "config.linkerd.io/proxy-metrics-hostname-labels",
    "config.linkerd.io/proxy-outbound-connect-timeout",
    "config.linkerd.io/proxy-inbound-connect-timeout",
    "config.linkerd.io/proxy-await",
    "config.linkerd.io/default-inbound-policy",
    "config.linkerd.io/skip-subnets",
    "config.linkerd.io/access-log",
    "config.linkerd.io/shutdown-grace-period",
    "config.linkerd.io/proxy-outbound-discovery-cache-unused-timeout",
    "config.linkerd.io/proxy-inbound-discovery-cache-unused-timeout",
    "config.linkerd.io/proxy-disable-outbound-protocol-detect-timeout",
    "config.linkerd.io/proxy-disable-inbound-protocol-detect-timeout",
    "config.linkerd.io/proxy-enable-native-sidecar",
    "config.linkerd.io/proxy-additional-env",
    "config.alpha.linkerd.io/proxy-wait-before-exit-seconds",
    "config.alpha.linkerd.io/proxy-enable-native-sidecar",
    "linkerd.io/inject",
];

/// The namespace's config annotations the pod does not set itself.
pub fn inherited(
    namespace: &BTreeMap<String, String>,
    pod: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    INHERITED
        .iter()
        .filter(|key| !pod.contains_key(**key))
        .filter_map(|key| namespace.get(*key).map(|v| ((*key).to_owned(), v.clone())))
        .collect()
}

/// Applies `annotations` (the pod's and those the injector adds) to `values`, with the Go
/// dereferences each one makes.
pub fn apply(
    values: &mut Value,
    annotations: &BTreeMap<String, String>,
    named_ports: &BTreeMap<String, i64>,
) -> Result<(), Refusal> {
    let has = |key: &str| annotations.contains_key(key);
    if has(IMAGE) || has(VERSION) {
        derefs::need(values, &derefs::IMAGE_OVERRIDE)?;
    }
    let set = |values: &mut Value, path: &[&str], value: Value| {
        let mut at = values;
        for key in path {
            at = &mut at[*key];
        }
        *at = value;
    };
    for (key, path) in [
        (IMAGE, ["image", "name"]),
        (VERSION, ["image", "version"]),
        (PULL_POLICY, ["image", "pullPolicy"]),
    ] {
        if let Some(value) = annotations.get(key) {
            set(&mut values["proxy"], &path, value.as_str().into());
        }
    }
    for (key, field) in [
        (LOG_LEVEL, "logLevel"),
        (LOG_HEADERS, "logHTTPHeaders"),
        (LOG_FORMAT, "logFormat"),
    ] {
        if let Some(value) = annotations.get(key) {
            values["proxy"][field] = value.as_str().into();
        }
    }
    let resources = [
        (CPU_REQUEST, "cpu", "request", Some("minimum")),
        (CPU_LIMIT, "cpu", "limit", Some("maximum")),
        (MEMORY_REQUEST, "memory", "request", None),
        (MEMORY_LIMIT, "memory", "limit", None),
    ];
    for (key, resource, bound, workers) in resources {
        // An unparsable quantity is only logged (and ignored) upstream.
        let Some((value, cores)) = annotations.get(key).and_then(|v| Some((v, cores(v)?))) else {
            continue;
        };
        derefs::need(values, &derefs::RESOURCES_OVERRIDE)?;
        values["proxy"]["resources"][resource][bound] = value.as_str().into();
        if let Some(field) = workers {
            values["proxy"]["runtime"]["workers"][field] = cores.into();
        }
    }
    if let Some(ports) = annotations.get(OPAQUE_PORTS) {
        values["proxy"]["opaquePorts"] = opaque_ports(ports, named_ports).into();
    }
    Ok(())
}

/// A Kubernetes quantity rounded up to whole CPUs (inject.go `ToWholeCPUCores`), or `None`
/// when it does not parse.
fn cores(quantity: &str) -> Option<i64> {
    let split = quantity
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(quantity.len());
    let (number, suffix) = quantity.split_at(split);
    let number: f64 = number.parse().ok()?;
    let scale = match suffix {
        "" => 1.0,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "Ki" => 1024.0,
        "Mi" => 1_048_576.0,
        "Gi" => 1_073_741_824.0,
        _ => return None,
    };
    #[allow(clippy::cast_possible_truncation)] // Whole CPUs of a sane quantity fit.
    Some((number * scale).ceil() as i64)
}

/// An opaque-ports annotation resolved to numbers and ranges (pkg/util/parsing.go
/// `ParseContainerOpaquePorts`): named ports looked up, invalid entries dropped.
pub fn opaque_ports(annotation: &str, named: &BTreeMap<String, i64>) -> String {
    annotation
        .trim_end_matches(',')
        .split(',')
        .map(str::trim)
        .filter_map(|entry| {
            if let Some(port) = named.get(entry) {
                return Some(port.to_string());
            }
            let (low, high) = entry.split_once('-').unwrap_or((entry, entry));
            let (low, high): (u16, u16) = (low.parse().ok()?, high.parse().ok()?);
            (low <= high).then(|| {
                if low == high {
                    low.to_string()
                } else {
                    format!("{low}-{high}")
                }
            })
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The default opaque ports (linkerd-config's `proxy.opaquePorts`) that the pod's
/// containers expose, for the annotation the injector adds (webhook.go, inject.go
/// `FilterPodOpaquePorts`).
pub fn exposed_opaque_ports(values: &Value, pod: &Value) -> Vec<String> {
    let defaults: Vec<String> = gotmpl::text(values, "proxy.opaquePorts")
        .split(',')
        .map(str::to_owned)
        .collect();
    container_ports(pod)
        .into_iter()
        .map(|(_, port)| port.to_string())
        .filter(|port| defaults.contains(port))
        .collect()
}

/// The (name, containerPort) of every port of the pod's init containers, then containers.
pub fn container_ports(pod: &Value) -> Vec<(String, i64)> {
    ["initContainers", "containers"]
        .iter()
        .filter_map(|list| pod["spec"][*list].as_array())
        .flatten()
        .filter_map(|c| c["ports"].as_array())
        .flatten()
        .map(|p| {
            (
                p["name"].as_str().unwrap_or_default().to_owned(),
                p["containerPort"].as_i64().unwrap_or_default(),
            )
        })
        .collect()
}
