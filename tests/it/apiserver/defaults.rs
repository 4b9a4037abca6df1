//! Server-side defaulting: the fields a real API server fills in on write (a Service's
//! clusterIP, a Deployment's strategy, a namespace's name label), so that what clients read
//! back looks like a cluster's objects and re-applying the same configuration is a no-op.

use std::collections::BTreeSet;

use base64::Engine as _;
use serde_json::{Value, json};

use super::catalog::ResourceType;
use super::json;
use super::store::Store;

/// Fills in defaults on `object` (the new state of a write; `old` is the stored one).
pub fn apply(rt: &ResourceType, object: &mut Value, old: Option<&Value>, store: &Store) {
    if rt.custom {
        return;
    }
    match (rt.group.as_str(), rt.kind.as_str()) {
        ("", "Namespace") => namespace(object),
        ("", "Service") => service(object, old, store),
        ("", "Secret") => secret(object),
        ("", "Pod") => {
            pod_spec(json::entry(object, &["spec"]));
            if old.is_none() && object.pointer("/status/phase").is_none() {
                json::set(
                    object,
                    &["status"],
                    json!({"phase": "Pending", "qosClass": "BestEffort"}),
                );
            }
        }
        ("", "PersistentVolumeClaim") => {
            if object.pointer("/spec/volumeMode").is_none() {
                json::set(object, &["spec", "volumeMode"], "Filesystem".into());
            }
            if old.is_none() && object.pointer("/status/phase").is_none() {
                json::set(object, &["status", "phase"], "Pending".into());
            }
        }
        ("apps", "Deployment") => {
            let spec = json::entry(object, &["spec"]);
            default(spec, "replicas", json!(1));
            default(spec, "revisionHistoryLimit", json!(10));
            default(spec, "progressDeadlineSeconds", json!(600));
            let strategy = json::entry(spec, &["strategy"]);
            default(strategy, "type", json!("RollingUpdate"));
            if strategy["type"] == "RollingUpdate" {
                default(
                    strategy,
                    "rollingUpdate",
                    json!({"maxSurge": "25%", "maxUnavailable": "25%"}),
                );
            }
            template(spec);
        }
        ("apps", "DaemonSet") => {
            let spec = json::entry(object, &["spec"]);
            default(spec, "revisionHistoryLimit", json!(10));
            let strategy = json::entry(spec, &["updateStrategy"]);
            default(strategy, "type", json!("RollingUpdate"));
            if strategy["type"] == "RollingUpdate" {
                default(
                    strategy,
                    "rollingUpdate",
                    json!({"maxSurge": 0, "maxUnavailable": 1}),
                );
            }
            template(spec);
        }
        ("apps", "StatefulSet") => {
            let spec = json::entry(object, &["spec"]);
            default(spec, "replicas", json!(1));
            default(spec, "podManagementPolicy", json!("OrderedReady"));
            default(spec, "revisionHistoryLimit", json!(10));
            default(
                spec,
                "persistentVolumeClaimRetentionPolicy",
                json!({"whenDeleted": "Retain", "whenScaled": "Retain"}),
            );
            let strategy = json::entry(spec, &["updateStrategy"]);
            default(strategy, "type", json!("RollingUpdate"));
            if strategy["type"] == "RollingUpdate" {
                default(strategy, "rollingUpdate", json!({"partition": 0}));
            }
            template(spec);
        }
        ("apps", "ReplicaSet") => {
            let spec = json::entry(object, &["spec"]);
            default(spec, "replicas", json!(1));
            template(spec);
        }
        ("batch", "Job") => {
            let spec = json::entry(object, &["spec"]);
            default(spec, "backoffLimit", json!(6));
            default(spec, "completions", json!(1));
            default(spec, "parallelism", json!(1));
            template(spec);
        }
        ("batch", "CronJob") => {
            let spec = json::entry(object, &["spec"]);
            default(spec, "concurrencyPolicy", json!("Allow"));
            default(spec, "suspend", json!(false));
            default(spec, "successfulJobsHistoryLimit", json!(3));
            default(spec, "failedJobsHistoryLimit", json!(1));
        }
        _ => {}
    }
}

/// Sets `key` when absent.
fn default(object: &mut Value, key: &str, value: Value) {
    if let Some(map) = object.as_object_mut() {
        map.entry(key.to_owned()).or_insert(value);
    }
}

/// A namespace's name label, `kubernetes` finalizer and Active phase.
fn namespace(object: &mut Value) {
    let name = json::name(object).to_owned();
    json::set(
        object,
        &["metadata", "labels", "kubernetes.io/metadata.name"],
        name.into(),
    );
    if object.pointer("/spec/finalizers").is_none() {
        json::set(object, &["spec", "finalizers"], json!(["kubernetes"]));
    }
    if object.pointer("/status/phase").is_none() {
        json::set(object, &["status", "phase"], "Active".into());
    }
}

/// A Service's type, cluster IP (kept across updates), families and port defaults.
fn service(object: &mut Value, old: Option<&Value>, store: &Store) {
    let old_ip = old.and_then(|o| o.pointer("/spec/clusterIP")).cloned();
    let spec = json::entry(object, &["spec"]);
    default(spec, "type", json!("ClusterIP"));
    default(spec, "sessionAffinity", json!("None"));
    let kind = json::str_at(spec, "/type").to_owned();
    if kind != "ExternalName" {
        if let Some(ip) = old_ip {
            default(spec, "clusterIP", ip);
        } else {
            let ip = free_cluster_ip(store);
            default(spec, "clusterIP", json!(ip));
        }
        let ip = spec["clusterIP"].clone();
        default(spec, "clusterIPs", json!([ip]));
        default(spec, "ipFamilies", json!(["IPv4"]));
        default(spec, "ipFamilyPolicy", json!("SingleStack"));
        default(spec, "internalTrafficPolicy", json!("Cluster"));
    }
    if kind == "NodePort" || kind == "LoadBalancer" {
        default(spec, "externalTrafficPolicy", json!("Cluster"));
    }
    let mut used = used_node_ports(store);
    // A port keeps the node port it was given, as the real allocator's update path does.
    let kept: Vec<(Value, Value)> = old
        .map(|o| json::array(o, "/spec/ports"))
        .unwrap_or_default()
        .iter()
        .filter_map(|p| Some((p.get("port")?.clone(), p.get("nodePort")?.clone())))
        .collect();
    if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
        for port in ports.iter_mut() {
            default(port, "protocol", json!("TCP"));
            let number = port.get("port").cloned().unwrap_or(Value::Null);
            default(port, "targetPort", number.clone());
            if (kind == "NodePort" || kind == "LoadBalancer") && port.get("nodePort").is_none() {
                if let Some((_, node_port)) = kept.iter().find(|(p, _)| *p == number) {
                    port["nodePort"] = node_port.clone();
                    continue;
                }
                let free = (30000..32768).find(|p| !used.contains(p)).unwrap_or(32767);
                used.insert(free);
                port["nodePort"] = json!(free);
            }
        }
    }
    if object.get("status").is_none() {
        object["status"] = json!({"loadBalancer": {}});
    }
}

/// The node ports Services hold.
fn used_node_ports(store: &Store) -> BTreeSet<i64> {
    store
        .list("", "services")
        .flat_map(|s| json::array(s, "/spec/ports"))
        .filter_map(|p| p.get("nodePort").and_then(Value::as_i64))
        .collect()
}

/// The lowest free address of 10.96.0.0/12 above 10.96.0.10 (which kube-dns takes).
fn free_cluster_ip(store: &Store) -> String {
    let used: BTreeSet<String> = store
        .list("", "services")
        .map(|s| json::str_at(s, "/spec/clusterIP").to_owned())
        .collect();
    (11..u32::from(u16::MAX))
        .map(|n| format!("10.96.{}.{}", n / 256, n % 256))
        .find(|ip| !used.contains(ip) && !ip.ends_with(".0") && !ip.ends_with(".255"))
        .unwrap_or_else(|| "10.96.255.254".to_owned())
}

/// `stringData` is write-only: merged into `data`, base64-encoded.
fn secret(object: &mut Value) {
    default(object, "type", json!("Opaque"));
    if let Some(Value::Object(strings)) = json::remove(object, &["stringData"]) {
        let data = json::entry(object, &["data"]);
        for (key, value) in strings {
            let text = value.as_str().unwrap_or_default();
            data[key.as_str()] = base64::engine::general_purpose::STANDARD
                .encode(text)
                .into();
        }
    }
}

/// Pod spec defaults inside a workload's template.
fn template(spec: &mut Value) {
    if let Some(pod) = spec.pointer_mut("/template/spec") {
        pod_spec(pod);
    }
}

/// The pod spec defaults every pod shows.
fn pod_spec(spec: &mut Value) {
    if !spec.is_object() {
        return;
    }
    default(spec, "restartPolicy", json!("Always"));
    default(spec, "dnsPolicy", json!("ClusterFirst"));
    default(spec, "schedulerName", json!("default-scheduler"));
    default(spec, "terminationGracePeriodSeconds", json!(30));
    default(spec, "securityContext", json!({}));
    for list in ["containers", "initContainers"] {
        if let Some(containers) = spec.get_mut(list).and_then(Value::as_array_mut) {
            for container in containers {
                let image = json::str_at(container, "/image").to_owned();
                let tag = image
                    .rsplit('/')
                    .next()
                    .and_then(|last| last.split_once(':'))
                    .map(|(_, t)| t);
                let policy = if tag.is_none_or(|t| t == "latest") {
                    "Always"
                } else {
                    "IfNotPresent"
                };
                default(container, "imagePullPolicy", json!(policy));
                default(
                    container,
                    "terminationMessagePath",
                    json!("/dev/termination-log"),
                );
                default(container, "terminationMessagePolicy", json!("File"));
                default(container, "resources", json!({}));
                if let Some(ports) = container.get_mut("ports").and_then(Value::as_array_mut) {
                    for port in ports {
                        default(port, "protocol", json!("TCP"));
                    }
                }
            }
        }
    }
}
