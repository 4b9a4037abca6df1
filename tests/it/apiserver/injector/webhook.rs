//! The webhook's handler (controller/proxy-injector/webhook.go `Inject`): it reads the values
//! and trust anchors the injector pod mounts, decides whether the pod is to be meshed
//! (pkg/inject/report.go), and answers with the injection patch, or only the opaque-ports
//! annotation (inject.go `CreateOpaquePortsPatch`), for pods and Services alike.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::str::FromStr;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::super::json;
use super::super::state::State;
use super::decode::decode;
use super::derefs::{self, Refusal, need};
use super::gotmpl::{at, on, text};
use super::ops::{self, Meta};
use super::overrides::{self, OPAQUE_PORTS};
use super::proxy::Target;
use super::{schema, yaml11};

/// Where the injector pod mounts linkerd-config's `values`.
const VALUES_FILE: &str = "/var/run/linkerd/config/values";
/// Where it mounts linkerd-identity-trust-roots' `ca-bundle.crt`.
const TRUST_ROOTS_FILE: &str = "/var/run/linkerd/identity/trust-roots/ca-bundle.crt";
/// Where Kubernetes mounts a pod's service-account token.
const SERVICE_ACCOUNT_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// The webhook's answer.
#[derive(Debug)]
pub enum Answer {
    /// Allowed, with these JSON patch operations (none: unchanged).
    Allow(Vec<Value>),
    /// Allowed: false, with the handler's error as the message.
    Deny(String),
    /// The handler panicked at this upstream location: the API server's call fails.
    Crash(&'static str),
}

impl From<Result<Vec<Value>, Refusal>> for Answer {
    fn from(result: Result<Vec<Value>, Refusal>) -> Self {
        match result {
            Ok(ops) => Self::Allow(ops),
            Err(Refusal::Deny(message)) => Self::Deny(message),
            Err(Refusal::Panic(at)) => Self::Crash(at),
        }
    }
}

/// Reviews the creation of `object` (a Pod or a Service) for the injector of the control
/// plane in `control_plane`, whose binary is `version`.
pub fn review(state: &State, control_plane: &str, version: &str, object: &Value) -> Answer {
    let values = match mounted_values(state, control_plane) {
        Ok(values) => values,
        Err(message) => return Answer::Deny(message),
    };
    let namespace = state
        .store
        .get("", "namespaces", "", json::namespace(object))
        .map(json::annotations)
        .unwrap_or_default();
    if json::str_at(object, "/kind") == "Service" {
        return opaque_only(&values, object, &namespace, false).into();
    }
    let target = Target {
        namespace: control_plane,
    };
    pod(state, values, object, &namespace, &target, version).into()
}

/// The values as the handler has them: linkerd-config's `values` decoded into the Values
/// struct, with the mounted trust anchors (pkg/config/config.go `Values`, webhook.go).
pub fn mounted_values(state: &State, control_plane: &str) -> Result<Value, String> {
    let file = |name: &str, key: &str| {
        state
            .store
            .get("", "configmaps", control_plane, name)
            .and_then(|c| c.pointer(&format!("/data/{key}")))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let missing = |path: &str| format!("open {path}: no such file or directory");
    let raw = file("linkerd-config", "values")
        .ok_or_else(|| format!("failed to read config file: {}", missing(VALUES_FILE)))?;
    let unmarshal = |e: String| format!("failed to unmarshal JSON from: {VALUES_FILE}: {e}");
    let yaml = yaml11::parse(&raw).map_err(unmarshal)?;
    let mut values = decode(&yaml, schema::values())
        .map_err(|e| unmarshal(format!("error unmarshaling JSON: while decoding JSON: {e}")))?;
    let anchors = file("linkerd-identity-trust-roots", "ca-bundle.crt")
        .ok_or_else(|| missing(TRUST_ROOTS_FILE))?;
    values["identityTrustAnchorsPEM"] = anchors.into();
    Ok(values)
}

/// A pod: injected if it asks to be, else only annotated with its opaque ports.
fn pod(
    state: &State,
    mut values: Value,
    pod: &Value,
    namespace: &BTreeMap<String, String>,
    target: &Target<'_>,
    version: &str,
) -> Result<Vec<Value>, Refusal> {
    let own = json::annotations(pod);
    let token_mount = service_account_mount(pod);
    let automount = pod
        .pointer("/spec/automountServiceAccountToken")
        .and_then(Value::as_bool);
    if automount.is_some() || token_mount.is_none() {
        need(&values, &derefs::IDENTITY_REPORT)?;
    }
    let projected = on(&values, "identity.serviceAccountTokenProjection");
    let token = projected || (token_mount.is_some() && automount != Some(false));
    let injectable = token
        && pod.pointer("/spec/hostNetwork").and_then(Value::as_bool) != Some(true)
        && !has_sidecar(pod)
        && enabled(namespace.get(INJECT), own.get(INJECT));
    if !injectable {
        return opaque_only(&values, pod, namespace, true);
    }
    let mut added = BTreeMap::from([(
        "linkerd.io/created-by".to_owned(),
        format!("linkerd/proxy-injector {version}"),
    )]);
    added.extend(overrides::inherited(namespace, &own));
    need(&values, &derefs::PROXY)?;
    if !own.contains_key(OPAQUE_PORTS) && !added.contains_key(OPAQUE_PORTS) {
        let ports = overrides::exposed_opaque_ports(&values, pod);
        if !ports.is_empty() {
            added.insert(OPAQUE_PORTS.into(), ports.join(","));
        }
    }
    let mut all = own.clone();
    all.extend(added.clone());
    let named = overrides::container_ports(pod)
        .into_iter()
        .filter(|(name, _)| !name.is_empty())
        .collect();
    overrides::apply(&mut values, &all, &named)?;
    values["proxy"]["podInboundPorts"] = inbound_ports(pod).into();
    check_networks(&values)?;
    need(&values, &derefs::IMAGE)?;
    let mut annotations = added;
    let proxy_version = if on(&values, "proxy.image.version") {
        text(&values, "proxy.image.version")
    } else {
        text(&values, "linkerdVersion")
    };
    annotations.insert("linkerd.io/proxy-version".into(), proxy_version);
    let digest = Sha256::digest(text(&values, "identityTrustAnchorsPEM").as_bytes());
    annotations.insert(
        "linkerd.io/trust-root-sha256".into(),
        digest.iter().fold(String::new(), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        }),
    );
    // inject.go `injectPodSpec`, after the added annotations joined the pod's own.
    let debug = all
        .get("config.linkerd.io/enable-debug-sidecar")
        .is_some_and(|v| matches!(v.as_str(), "1" | "t" | "T" | "true" | "TRUE" | "True"));
    let meta = Meta {
        annotations,
        labels: labels(state, pod, target.namespace),
        debug,
    };
    if let Some(capabilities) = pod.pointer("/spec/containers/0/securityContext/capabilities") {
        let list = |key: &str| {
            capabilities
                .get(key)
                .cloned()
                .unwrap_or_else(|| Value::Array(vec![]))
        };
        values["proxy"]["capabilities"] =
            serde_json::json!({"add": list("add"), "drop": list("drop")});
    }
    if let Some(mount) = token_mount {
        values["proxy"]["saMountPath"] = mount;
    }
    if debug {
        need(&values, &derefs::DEBUG)?;
    }
    need(&values, &derefs::PROXY_INIT)?;
    if on(&values, "proxy.capabilities") {
        let drop: Vec<Value> = at(&values, "proxy.capabilities.drop")
            .as_array()
            .into_iter()
            .flatten()
            .filter(|d| *d != "NET_RAW" && *d != "NET_ADMIN")
            .cloned()
            .collect();
        let add = at(&values, "proxy.capabilities.add").clone();
        values["proxyInit"]["capabilities"] = serde_json::json!({"add": add, "drop": drop});
    }
    values["proxyInit"]["saMountPath"] = at(&values, "proxy.saMountPath").clone();
    ops::injection(&values, pod, &meta, target)
}

const INJECT: &str = "linkerd.io/inject";

/// report.go `disabledByAnnotation`: the namespace's `linkerd.io/inject` (enabled or
/// ingress) unless the pod says disabled, else the pod's own; an invalid value disables.
fn enabled(namespace: Option<&String>, pod: Option<&String>) -> bool {
    let valid = |v: Option<&String>| {
        v.is_none_or(|v| ["", "enabled", "disabled", "ingress"].contains(&v.as_str()))
    };
    let enables = |v: Option<&String>| v.is_some_and(|v| v == "enabled" || v == "ingress");
    if !valid(namespace) || !valid(pod) {
        return false;
    }
    if enables(namespace) {
        return pod.is_none_or(|v| v != "disabled");
    }
    enables(pod)
}

/// pkg/healthcheck/sidecar.go `HasExistingSidecars`.
fn has_sidecar(pod: &Value) -> bool {
    let containers = |list: &str| pod["spec"][list].as_array().cloned().unwrap_or_default();
    let image = |c: &Value| json::str_at(c, "/image").to_owned();
    let name = |c: &Value| json::str_at(c, "/name").to_owned();
    containers("initContainers")
        .iter()
        .chain(&containers("containers"))
        .any(|c| {
            image(c).starts_with("cr.l5d.io/linkerd/proxy:")
                || image(c).starts_with("gcr.io/istio-release/proxyv2:")
                || ["linkerd-proxy", "istio-proxy"].contains(&name(c).as_str())
        })
        || containers("initContainers").iter().any(|c| {
            image(c).starts_with("cr.l5d.io/linkerd/proxy-init:")
                || image(c).starts_with("gcr.io/istio-release/proxy_init:")
                || ["linkerd-init", "istio-init"].contains(&name(c).as_str())
        })
}

/// The first container's mount of the service-account token, as the Values' mount type.
fn service_account_mount(pod: &Value) -> Option<Value> {
    json::array(pod, "/spec/containers/0/volumeMounts")
        .iter()
        .find(|m| json::str_at(m, "/mountPath") == SERVICE_ACCOUNT_PATH)
        .map(|m| {
            serde_json::json!({
                "name": json::str_at(m, "/name"),
                "mountPath": SERVICE_ACCOUNT_PATH,
                "readOnly": m["readOnly"].as_bool().unwrap_or(false),
            })
        })
}

/// inject.go `getPodInboundPorts`: container ports and numeric HTTP probe ports, sorted as
/// strings.
fn inbound_ports(pod: &Value) -> String {
    let mut ports: Vec<String> = overrides::container_ports(pod)
        .into_iter()
        .map(|(_, port)| port.to_string())
        .collect();
    for list in ["initContainers", "containers"] {
        for container in json::array(pod, &format!("/spec/{list}")) {
            for probe in ["readinessProbe", "livenessProbe"] {
                if let Some(port) = container[probe]["httpGet"]["port"].as_i64() {
                    ports.push(port.to_string());
                }
            }
        }
    }
    ports.sort();
    ports.dedup();
    ports.join(",")
}

/// inject.go `GetPodPatch`: every cluster network must parse as a CIDR.
fn check_networks(values: &Value) -> Result<(), Refusal> {
    let networks = text(values, "clusterNetworks");
    if networks.is_empty() {
        return Ok(());
    }
    for network in networks.trim_matches(',').split(',') {
        if ipnet::IpNet::from_str(network).is_err() {
            return Err(Refusal::Deny(format!(
                "cannot parse destination get networks: invalid CIDR address: {network}"
            )));
        }
    }
    Ok(())
}

/// The labels of an injected pod: the control plane's and the workload's namespaces, and
/// the workload its owner chain leads to (controller/k8s/metadata_api.go
/// `GetOwnerKindAndName`: a ReplicaSet's owner when it has exactly one of a known kind).
fn labels(state: &State, pod: &Value, control_plane: &str) -> BTreeMap<String, String> {
    let namespace = json::namespace(pod);
    let mut labels = BTreeMap::from([
        (
            "linkerd.io/control-plane-ns".to_owned(),
            control_plane.to_owned(),
        ),
        ("linkerd.io/workload-ns".to_owned(), namespace.to_owned()),
    ]);
    let owners = json::array(pod, "/metadata/ownerReferences");
    let [owner] = owners else {
        return labels;
    };
    let (mut kind, mut name) = (
        json::str_at(owner, "/kind").to_lowercase(),
        json::str_at(owner, "/name").to_owned(),
    );
    if kind == "replicaset"
        && let Some(rs) = state.store.get("apps", "replicasets", namespace, &name)
        && let [parent] = json::array(rs, "/metadata/ownerReferences")
    {
        let parent_kind = json::str_at(parent, "/kind").to_lowercase();
        if ["job", "statefulset", "daemonset", "deployment"].contains(&parent_kind.as_str()) {
            kind = parent_kind;
            json::str_at(parent, "/name").clone_into(&mut name);
        }
    } else if kind == "job"
        && let Some(job) = state.store.get("batch", "jobs", namespace, &name)
        && let [parent] = json::array(job, "/metadata/ownerReferences")
    {
        kind = json::str_at(parent, "/kind").to_lowercase();
        json::str_at(parent, "/name").clone_into(&mut name);
    }
    let label = match kind.as_str() {
        "deployment" => "linkerd.io/proxy-deployment",
        "replicationcontroller" => "linkerd.io/proxy-replicationcontroller",
        "replicaset" => "linkerd.io/proxy-replicaset",
        "job" => "linkerd.io/proxy-job",
        "daemonset" => "linkerd.io/proxy-daemonset",
        "statefulset" => "linkerd.io/proxy-statefulset",
        _ => return labels,
    };
    labels.insert(label.to_owned(), name);
    labels
}

/// inject.go `CreateOpaquePortsPatch`: a pod or Service without the opaque-ports annotation
/// gets its namespace's, else the default opaque ports it exposes (a Service: its ports, or
/// its target ports).
fn opaque_only(
    values: &Value,
    object: &Value,
    namespace: &BTreeMap<String, String>,
    is_pod: bool,
) -> Result<Vec<Value>, Refusal> {
    let own = json::annotations(object);
    if own.contains_key(OPAQUE_PORTS) {
        return Ok(Vec::new());
    }
    let ports = if let Some(ports) = namespace.get(OPAQUE_PORTS) {
        ports.clone()
    } else {
        need(values, &derefs::PROXY)?;
        let exposed = if is_pod {
            overrides::exposed_opaque_ports(values, object)
        } else {
            service_opaque_ports(values, object)
        };
        exposed.join(",")
    };
    if ports.is_empty() {
        return Ok(Vec::new());
    }
    let meta = Meta {
        annotations: BTreeMap::from([(OPAQUE_PORTS.to_owned(), ports)]),
        labels: BTreeMap::new(),
        debug: false,
    };
    Ok(ops::metadata(object, &meta))
}

/// A Service's ports that are opaque by default, directly or through their target port.
fn service_opaque_ports(values: &Value, service: &Value) -> Vec<String> {
    let defaults: Vec<String> = text(values, "proxy.opaquePorts")
        .split(',')
        .map(str::to_owned)
        .collect();
    json::array(service, "/spec/ports")
        .iter()
        .filter(|p| {
            let port = p["port"].as_i64().unwrap_or_default().to_string();
            match &p["targetPort"] {
                Value::Null => defaults.contains(&port),
                Value::Number(n) if n.as_i64() == Some(0) => defaults.contains(&port),
                Value::Number(n) => defaults.contains(&n.to_string()),
                _ => false,
            }
        })
        .map(|p| p["port"].as_i64().unwrap_or_default().to_string())
        .collect()
}
