//! The EndpointSlice and Endpoints controllers: each Service with a selector gets a slice
//! `<svc>-<5 chars>` and an Endpoints object listing the matching pods, ready or not, kept
//! current as pods come and go.

use serde_json::{Value, json};

use super::super::json;
use super::super::selectors;
use super::super::state::State;
use super::templates::{self, owner_ref};
use super::{Changes, KCM, create, delete, objects, write};

/// The port a Service port reaches on `pod`: a number, or a named container port.
fn target_port(port: &Value, pod: Option<&Value>) -> Option<i64> {
    match port.get("targetPort") {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(name)) => pod.and_then(|p| {
            json::array(p, "/spec/containers")
                .iter()
                .flat_map(|c| json::array(c, "/ports"))
                .find(|cp| json::str_at(cp, "/name") == name)
                .and_then(|cp| cp.get("containerPort").and_then(Value::as_i64))
        }),
        _ => port.get("port").and_then(Value::as_i64),
    }
}

/// Keeps every selector Service's EndpointSlice and Endpoints current.
pub fn reconcile(state: &mut State, changes: &Changes) {
    let services = objects(state, "", "services");
    for service in &services {
        if !changes.touches(service) && !changes.pods_in(json::namespace(service)) {
            continue;
        }
        let pods: Vec<Value> = state
            .store
            .list_in("", "pods", json::namespace(service))
            .cloned()
            .collect();
        let selector = json::string_map(service.pointer("/spec/selector"));
        if selector.is_empty() || json::deleting(service) {
            continue;
        }
        let requirement = selectors::LabelSelector(
            selector
                .into_iter()
                .map(|(k, v)| selectors::Requirement::Equals(k, v))
                .collect(),
        );
        let members: Vec<&Value> = pods
            .iter()
            .filter(|p| {
                json::namespace(p) == json::namespace(service)
                    && requirement.matches(&json::labels(p))
            })
            .filter(|p| !json::str_at(p, "/status/podIP").is_empty())
            .filter(|p| !matches!(json::str_at(p, "/status/phase"), "Succeeded" | "Failed"))
            .collect();
        let ports: Vec<Value> = json::array(service, "/spec/ports")
            .iter()
            .filter_map(|port| {
                let number = target_port(port, members.first().copied())?;
                Some(json!({"name": json::str_at(port, "/name"), "port": number, "protocol": json::str_at(port, "/protocol")}))
            })
            .collect();
        upsert(
            state,
            "discovery.k8s.io",
            "endpointslices",
            slice(service, &members, &ports),
            &["addressType", "endpoints", "ports"],
        );
        upsert(
            state,
            "",
            "endpoints",
            endpoints(service, &members, &ports),
            &["subsets"],
        );
    }
    for endpoints in objects(state, "", "endpoints") {
        let managed = json::labels(&endpoints).contains_key("endpoints.kubernetes.io/managed-by");
        let (namespace, name) = (json::namespace(&endpoints), json::name(&endpoints));
        let service_left = services
            .iter()
            .any(|s| json::namespace(s) == namespace && json::name(s) == name);
        if managed && !service_left {
            delete(state, "", "endpoints", namespace, name);
        }
    }
}

/// A pod as an endpoint's target.
fn target(pod: &Value) -> Value {
    json!({"kind": "Pod", "namespace": json::namespace(pod), "name": json::name(pod), "uid": json::uid(pod)})
}

/// Whether a pod is a ready endpoint (Ready and not terminating).
fn serving(pod: &Value) -> bool {
    templates::ready(pod) && !json::deleting(pod)
}

/// The Service's EndpointSlice.
fn slice(service: &Value, members: &[&Value], ports: &[Value]) -> Value {
    let name = json::name(service);
    let endpoints: Vec<Value> = members
        .iter()
        .map(|p| {
            json!({
                "addresses": [json::str_at(p, "/status/podIP")],
                "conditions": {"ready": serving(p), "serving": templates::ready(p), "terminating": json::deleting(p)},
                "nodeName": json::str_at(p, "/spec/nodeName"),
                "targetRef": target(p),
            })
        })
        .collect();
    let mut labels = json::labels(service);
    labels.insert("kubernetes.io/service-name".into(), name.into());
    labels.insert(
        "endpointslice.kubernetes.io/managed-by".into(),
        "endpointslice-controller.k8s.io".into(),
    );
    json!({
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": format!("{name}-{}", templates::suffix(json::uid(service))),
            "namespace": json::namespace(service),
            "labels": labels,
            "ownerReferences": [owner_ref(service)],
        },
        "addressType": "IPv4",
        "endpoints": endpoints,
        "ports": ports,
    })
}

/// The Service's v1 Endpoints.
fn endpoints(service: &Value, members: &[&Value], ports: &[Value]) -> Value {
    let address = |p: &&Value| json!({"ip": json::str_at(p, "/status/podIP"), "nodeName": json::str_at(p, "/spec/nodeName"), "targetRef": target(p)});
    let (ready, unready): (Vec<&Value>, Vec<&Value>) = members.iter().partition(|p| serving(p));
    let ports: Vec<Value> = ports
        .iter()
        .map(|p| {
            let mut port = p.clone();
            if json::str_at(&port, "/name").is_empty() {
                json::remove(&mut port, &["name"]);
            }
            port
        })
        .collect();
    let mut subset = json!({"ports": ports});
    if !ready.is_empty() {
        subset["addresses"] = ready.iter().map(address).collect();
    }
    if !unready.is_empty() {
        subset["notReadyAddresses"] = unready.iter().map(address).collect();
    }
    let mut labels = json::labels(service);
    labels.insert(
        "endpoints.kubernetes.io/managed-by".into(),
        "endpoint-controller".into(),
    );
    let mut object = json!({
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": json::name(service), "namespace": json::namespace(service), "labels": labels},
    });
    if !members.is_empty() {
        object["subsets"] = json!([subset]);
    }
    object
}

/// Creates `object`, or makes the stored one's `fields` and labels equal to its.
fn upsert(state: &mut State, group: &str, plural: &str, object: Value, fields: &[&str]) {
    let existing = state
        .store
        .get(group, plural, json::namespace(&object), json::name(&object))
        .cloned();
    let Some(old) = existing else {
        // A refused create (namespace going away) is not retried: the namespace is.
        let _ = create(state, group, plural, object, KCM);
        return;
    };
    let mut new = old.clone();
    for field in fields {
        match object.get(*field) {
            Some(value) => new[*field] = value.clone(),
            None => {
                json::remove(&mut new, &[field]);
            }
        }
    }
    new["metadata"]["labels"] = object["metadata"]["labels"].clone();
    write(state, group, plural, &old, new, KCM);
}
