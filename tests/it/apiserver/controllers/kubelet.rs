//! The kubelets: scheduled pods get IPs and turn Ready after their workload's readiness
//! delay (or never, or sit in ImagePullBackOff); Job pods complete; terminating pods go
//! away. A pod with a Linkerd proxy is Ready only once the proxy can be certified by
//! Linkerd's identity service (see [`certified`]). Also binds PersistentVolumeClaims, as a
//! default provisioner would.

use serde_json::{Value, json};

use super::super::config::Readiness;
use super::super::json;
use super::super::state::State;
use super::conditions::{self, Style};
use super::{KCM, Memory, objects, write, write_status};

/// The name readiness knobs use for a pod: its Deployment, DaemonSet, StatefulSet or Job,
/// or the pod itself.
fn workload_of(state: &State, pod: &Value) -> String {
    match json::controller_of(pod) {
        Some(("ReplicaSet", rs, _)) => state
            .store
            .get("apps", "replicasets", json::namespace(pod), rs)
            .and_then(json::controller_of)
            .map_or(rs, |(_, name, _)| name)
            .to_owned(),
        Some((_, name, _)) => name.to_owned(),
        None => json::name(pod).to_owned(),
    }
}

/// A pod IP: the node's for host-network pods, else a free one in the node's pod range.
fn pod_ip(used: &[String], pod: &Value, node: &Value, index: usize) -> String {
    let node_ip = json::str_at(node, "/status/addresses/0/address").to_owned();
    if pod.pointer("/spec/hostNetwork").and_then(Value::as_bool) == Some(true) {
        return node_ip;
    }
    if let Some(ip) = pod.pointer("/status/podIP").and_then(Value::as_str) {
        return ip.to_owned();
    }
    (2..255)
        .map(|n| format!("10.244.{index}.{n}"))
        .find(|ip| !used.contains(ip))
        .unwrap_or_else(|| format!("10.244.{index}.254"))
}

/// A container's status in `stage`.
fn container_status(container: &Value, stage: &str, now: &str, init: bool) -> Value {
    let name = json::str_at(container, "/name");
    let image = json::str_at(container, "/image");
    let sidecar = json::str_at(container, "/restartPolicy") == "Always";
    let id = format!(
        "containerd://{}",
        super::templates::suffix(&format!("{name}{image}")).repeat(12)
    );
    let running = |ready: bool| {
        json!({"name": name, "image": image, "imageID": image, "containerID": id, "ready": ready, "started": true,
               "restartCount": 0, "state": {"running": {"startedAt": now}}, "lastState": {}})
    };
    let waiting = |reason: &str, message: Option<String>| {
        let mut waiting = json!({"reason": reason});
        if let Some(message) = message {
            waiting["message"] = message.into();
        }
        json!({"name": name, "image": image, "imageID": "", "ready": false, "started": false,
               "restartCount": 0, "state": {"waiting": waiting}, "lastState": {}})
    };
    let completed = || {
        json!({"name": name, "image": image, "imageID": image, "containerID": id, "ready": false, "started": false,
               "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": now, "finishedAt": now, "containerID": id}},
               "lastState": {}})
    };
    match stage {
        "Creating" if init && !sidecar => waiting("PodInitializing", None),
        "Creating" => waiting("ContainerCreating", None),
        "PullBackOff" => waiting(
            "ImagePullBackOff",
            Some(format!("Back-off pulling image {image:?}")),
        ),
        "Succeeded" => completed(),
        _ if init && !sidecar => completed(),
        "Ready" => running(true),
        _ => running(false),
    }
}

/// A pod's status in `stage` on `node`.
fn pod_status(pod: &Value, node: &Value, stage: &str, ip: &str) -> Value {
    let now = json::now();
    let host_ip = json::str_at(node, "/status/addresses/0/address");
    let statuses = |list: &str, init: bool| -> Vec<Value> {
        json::array(pod, &format!("/spec/{list}"))
            .iter()
            .map(|c| container_status(c, stage, &now, init))
            .collect()
    };
    let containers = statuses("containers", false);
    let unready: Vec<&str> = containers
        .iter()
        .filter(|c| c["ready"] != true)
        .map(|c| json::str_at(c, "/name"))
        .collect();
    let mut conditions = conditions::of(pod);
    let t = |b: bool| if b { "True" } else { "False" };
    conditions::set(
        &mut conditions,
        Style::Pod,
        "PodReadyToStartContainers",
        t(stage != "Creating"),
        "",
        "",
    );
    conditions::set(&mut conditions, Style::Pod, "Initialized", "True", "", "");
    let (ready, reason, message) = match stage {
        "Ready" => (true, String::new(), String::new()),
        "Succeeded" => (false, "PodCompleted".to_owned(), String::new()),
        _ => (
            false,
            "ContainersNotReady".to_owned(),
            format!("containers with unready status: [{}]", unready.join(" ")),
        ),
    };
    conditions::set(
        &mut conditions,
        Style::Pod,
        "Ready",
        t(ready),
        &reason,
        &message,
    );
    conditions::set(
        &mut conditions,
        Style::Pod,
        "ContainersReady",
        t(ready),
        &reason,
        &message,
    );
    conditions::set(&mut conditions, Style::Pod, "PodScheduled", "True", "", "");
    let phase = match stage {
        "Creating" | "PullBackOff" => "Pending",
        "Succeeded" => "Succeeded",
        _ => "Running",
    };
    let mut status = json!({
        "phase": phase,
        "conditions": conditions,
        "hostIP": host_ip,
        "hostIPs": [{"ip": host_ip}],
        "podIP": ip,
        "podIPs": [{"ip": ip}],
        "startTime": pod.pointer("/status/startTime").cloned().unwrap_or_else(|| now.clone().into()),
        "containerStatuses": containers,
        "qosClass": pod.pointer("/status/qosClass").cloned().unwrap_or_else(|| "BestEffort".into()),
    });
    let init = statuses("initContainers", true);
    if !init.is_empty() {
        status["initContainerStatuses"] = json!(init);
    }
    status
}

/// Runs every scheduled pod through its lifecycle.
pub fn reconcile(state: &mut State, memory: &mut Memory) {
    let work: Vec<Value> = state
        .store
        .list("", "pods")
        .filter(|p| p.pointer("/spec/nodeName").is_some())
        .filter(|p| {
            json::deleting(p) || !matches!(memory.stage(json::uid(p)), Some("Ready" | "Succeeded"))
        })
        .cloned()
        .collect();
    if work.is_empty() {
        return;
    }
    let nodes = objects(state, "", "nodes");
    let mut used: Vec<String> = state
        .store
        .list("", "pods")
        .map(|p| json::str_at(p, "/status/podIP").to_owned())
        .filter(|ip| !ip.is_empty())
        .collect();
    for pod in &work {
        let node_name = json::str_at(pod, "/spec/nodeName");
        if node_name.is_empty() {
            continue;
        }
        let (namespace, name, uid) = (json::namespace(pod), json::name(pod), json::uid(pod));
        if json::deleting(pod) {
            if json::array(pod, "/metadata/finalizers").is_empty() {
                state.store.remove("", "pods", namespace, name);
            }
            continue;
        }
        let Some((index, node)) = nodes
            .iter()
            .enumerate()
            .find(|(_, n)| json::name(n) == node_name)
        else {
            continue;
        };
        let previous = memory.stage(uid).map(str::to_owned);
        if matches!(previous.as_deref(), Some("Ready" | "Succeeded")) {
            continue;
        }
        let key = format!("pod:{uid}:scheduled");
        let job = matches!(json::controller_of(pod), Some(("Job", _, _)));
        let next = match state.readiness(namespace, &workload_of(state, pod)) {
            Readiness::After(delay) if memory.elapsed(&key, delay) => {
                if job {
                    "Succeeded"
                } else if certified(state, pod) {
                    "Ready"
                } else {
                    "Running"
                }
            }
            Readiness::Never if memory.elapsed(&key, state.config.pod_ready_after) => "Running",
            Readiness::ImagePullBackOff if memory.elapsed(&key, state.config.pod_ready_after) => {
                "PullBackOff"
            }
            _ => "Creating",
        };
        if previous.as_deref() == Some(next) {
            continue;
        }
        let ip = pod_ip(&used, pod, node, index);
        used.push(ip.clone());
        let status = pod_status(pod, node, next, &ip);
        write_status(state, "", "pods", pod, status, "kubelet");
        memory.set_stage(uid, next);
    }
}

/// The proxy's container name, as a sidecar or a native sidecar (an init container).
const PROXY: &str = "linkerd-proxy";

/// Whether the pod's Linkerd proxy (if it has one) holds its identity certificate. The
/// proxy's readiness (`/ready` on its admin port, which the injected readinessProbe asks)
/// is latched until identity certifies it (linkerd/linkerd2-proxy `linkerd/app/src/lib.rs`:
/// the admin latch is released only after `identity.ready()`). It asks the identity service
/// at `LINKERD2_PROXY_IDENTITY_SVC_ADDR`: `localhost.:8080` in identity's own pod (its
/// identity container), else `<service>.<namespace>.svc.<domain>.:<port>`, a Service that
/// must have a ready endpoint. Without that variable the proxy does not start.
///
/// Simplified: the certificate is granted the moment the Service has a ready endpoint (no
/// CSR round trip, no check of the token, trust domain or the issuer's certificate).
fn certified(state: &State, pod: &Value) -> bool {
    let mut containers = json::array(pod, "/spec/containers")
        .iter()
        .chain(json::array(pod, "/spec/initContainers").iter());
    let Some(proxy) = containers.find(|c| json::str_at(c, "/name") == PROXY) else {
        return true;
    };
    let Some(address) = json::array(proxy, "/env")
        .iter()
        .find(|e| json::str_at(e, "/name") == "LINKERD2_PROXY_IDENTITY_SVC_ADDR")
        .map(|e| json::str_at(e, "/value").to_owned())
    else {
        return false;
    };
    let host = address
        .rsplit_once(':')
        .map_or(address.as_str(), |(h, _)| h);
    if host.trim_end_matches('.') == "localhost" {
        return true;
    }
    let mut labels = host.split('.');
    let (Some(service), Some(namespace), Some("svc")) =
        (labels.next(), labels.next(), labels.next())
    else {
        return false;
    };
    state
        .store
        .list("discovery.k8s.io", "endpointslices")
        .any(|slice| {
            json::namespace(slice) == namespace
                && json::str_at(slice, "/metadata/labels/kubernetes.io~1service-name") == service
                && json::array(slice, "/endpoints")
                    .iter()
                    .any(|e| e.pointer("/conditions/ready") == Some(&Value::Bool(true)))
        })
}

/// Binds pending PersistentVolumeClaims to a volume of the requested size.
pub fn bind_claims(state: &mut State) {
    for claim in objects(state, "", "persistentvolumeclaims") {
        if json::str_at(&claim, "/status/phase") == "Bound" || json::deleting(&claim) {
            continue;
        }
        let mut bound = claim.clone();
        bound["spec"]["volumeName"] = format!("pvc-{}", json::uid(&claim)).into();
        write(state, "", "persistentvolumeclaims", &claim, bound, KCM);
        let Some(current) = state
            .store
            .get(
                "",
                "persistentvolumeclaims",
                json::namespace(&claim),
                json::name(&claim),
            )
            .cloned()
        else {
            continue;
        };
        let status = json!({
            "phase": "Bound",
            "accessModes": current.pointer("/spec/accessModes").cloned().unwrap_or_else(|| json!(["ReadWriteOnce"])),
            "capacity": {"storage": current.pointer("/spec/resources/requests/storage").cloned().unwrap_or_else(|| json!("1Gi"))},
        });
        write_status(state, "", "persistentvolumeclaims", &current, status, KCM);
    }
}
