//! The scheduler: binds a pending pod to a node whose labels satisfy its nodeSelector and
//! required node affinity, whose NoSchedule/NoExecute taints it tolerates and whose host
//! ports are free; otherwise marks it Unschedulable with the real scheduler's message.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::super::json;
use super::super::state::State;
use super::conditions::{self, Style};
use super::{objects, write, write_status};

/// Why a node does not fit, with whether preemption could help.
struct Misfit {
    /// The reason, as the scheduler counts it.
    reason: String,
    /// Whether preemption could free the node.
    resolvable: bool,
}

/// A misfit for `reason`.
fn misfit(reason: &str, resolvable: bool) -> Misfit {
    Misfit {
        reason: reason.to_owned(),
        resolvable,
    }
}

/// Whether `toleration` tolerates `taint` (Exists/Equal; an empty key with Exists matches all).
pub fn tolerates(toleration: &Value, taint: &Value) -> bool {
    let effect = json::str_at(toleration, "/effect");
    if !effect.is_empty() && effect != json::str_at(taint, "/effect") {
        return false;
    }
    let key = json::str_at(toleration, "/key");
    let exists = json::str_at(toleration, "/operator") == "Exists";
    if key.is_empty() {
        return exists;
    }
    key == json::str_at(taint, "/key")
        && (exists || json::str_at(toleration, "/value") == json::str_at(taint, "/value"))
}

/// The first NoSchedule/NoExecute taint of `node` that `pod` does not tolerate.
pub fn untolerated<'a>(pod: &Value, node: &'a Value) -> Option<&'a Value> {
    let tolerations = json::array(pod, "/spec/tolerations");
    json::array(node, "/spec/taints")
        .iter()
        .filter(|t| matches!(json::str_at(t, "/effect"), "NoSchedule" | "NoExecute"))
        .find(|t| !tolerations.iter().any(|tol| tolerates(tol, t)))
}

/// Whether a node selector requirement holds for `value`.
fn expression_matches(expression: &Value, value: Option<&str>) -> bool {
    let values = json::strings(expression.get("values"));
    let number = |s: &str| s.parse::<i64>().ok();
    match json::str_at(expression, "/operator") {
        "In" => value.is_some_and(|v| values.iter().any(|x| x == v)),
        "NotIn" => value.is_none_or(|v| !values.iter().any(|x| x == v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        "Gt" => value
            .and_then(number)
            .zip(values.first().and_then(|x| number(x)))
            .is_some_and(|(v, x)| v > x),
        "Lt" => value
            .and_then(number)
            .zip(values.first().and_then(|x| number(x)))
            .is_some_and(|(v, x)| v < x),
        _ => false,
    }
}

/// Whether the pod's nodeSelector and required node affinity admit `node`.
pub fn affinity_matches(pod: &Value, node: &Value) -> bool {
    let labels = json::labels(node);
    let selector = json::string_map(pod.pointer("/spec/nodeSelector"));
    if !selector.iter().all(|(k, v)| labels.get(k) == Some(v)) {
        return false;
    }
    let Some(required) =
        pod.pointer("/spec/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution")
    else {
        return true;
    };
    json::array(required, "/nodeSelectorTerms")
        .iter()
        .any(|term| {
            let expressions = json::array(term, "/matchExpressions");
            let fields = json::array(term, "/matchFields");
            (!expressions.is_empty() || !fields.is_empty())
                && expressions.iter().all(|e| {
                    expression_matches(e, labels.get(json::str_at(e, "/key")).map(String::as_str))
                })
                && fields.iter().all(|e| {
                    let value =
                        (json::str_at(e, "/key") == "metadata.name").then(|| json::name(node));
                    expression_matches(e, value)
                })
        })
}

/// The (hostPort, protocol) pairs a pod takes on its node.
pub fn host_ports(pod: &Value) -> Vec<(i64, String)> {
    let host_network = pod.pointer("/spec/hostNetwork").and_then(Value::as_bool) == Some(true);
    ["containers", "initContainers"]
        .iter()
        .flat_map(|list| json::array(pod, &format!("/spec/{list}")))
        .flat_map(|c| json::array(c, "/ports"))
        .filter_map(|p| {
            let port = p.get("hostPort").and_then(Value::as_i64).or_else(|| {
                host_network
                    .then(|| p.get("containerPort").and_then(Value::as_i64))
                    .flatten()
            })?;
            let protocol = match json::str_at(p, "/protocol") {
                "" => "TCP",
                other => other,
            };
            Some((port, protocol.to_owned()))
        })
        .collect()
}

/// Why `pod` cannot go to `node`, checked in the scheduler's filter order.
fn fit(pod: &Value, node: &Value, pods: &[Value]) -> Result<(), Misfit> {
    if node.pointer("/spec/unschedulable").and_then(Value::as_bool) == Some(true) {
        let tolerated = json::array(pod, "/spec/tolerations").iter().any(|t| {
            tolerates(
                t,
                &json!({"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}),
            )
        });
        if !tolerated {
            return Err(misfit("node(s) were unschedulable", false));
        }
    }
    if let Some(taint) = untolerated(pod, node) {
        let text = format!(
            "node(s) had untolerated taint {{{}: {}}}",
            json::str_at(taint, "/key"),
            json::str_at(taint, "/value")
        );
        return Err(misfit(&text, false));
    }
    if !affinity_matches(pod, node) {
        return Err(misfit(
            "node(s) didn't match Pod's node affinity/selector",
            false,
        ));
    }
    let wanted = host_ports(pod);
    if !wanted.is_empty() {
        let taken = pods
            .iter()
            .filter(|p| {
                json::str_at(p, "/spec/nodeName") == json::name(node)
                    && json::uid(p) != json::uid(pod)
            })
            .filter(|p| !matches!(json::str_at(p, "/status/phase"), "Succeeded" | "Failed"))
            .flat_map(host_ports)
            .any(|used| wanted.contains(&used));
        if taken {
            return Err(misfit(
                "node(s) didn't have free ports for the requested pod ports",
                true,
            ));
        }
    }
    Ok(())
}

/// "0/2 nodes are available: ..." as the scheduler's FitError prints it.
fn message(total: usize, misfits: &[Misfit]) -> String {
    let count = |items: Vec<String>| -> String {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for item in items {
            *counts.entry(item).or_default() += 1;
        }
        let mut lines: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
        lines.sort();
        lines.join(", ")
    };
    let reasons = count(misfits.iter().map(|m| m.reason.clone()).collect());
    let preemption = count(
        misfits
            .iter()
            .map(|m| {
                if m.resolvable {
                    "No preemption victims found for incoming pod"
                } else {
                    "Preemption is not helpful for scheduling"
                }
                .to_owned()
            })
            .collect(),
    );
    format!(
        "0/{total} nodes are available: {reasons}. preemption: 0/{total} nodes are available: {preemption}."
    )
}

/// Schedules every pending pod it can.
pub fn reconcile(state: &mut State) {
    let nodes = objects(state, "", "nodes");
    let mut pods = objects(state, "", "pods");
    for i in 0..pods.len() {
        let pod = pods[i].clone();
        if pod.pointer("/spec/nodeName").is_some() || json::deleting(&pod) {
            continue;
        }
        let mut feasible = Vec::new();
        let mut misfits = Vec::new();
        for node in &nodes {
            match fit(&pod, node, &pods) {
                Ok(()) => feasible.push(node),
                Err(m) => misfits.push(m),
            }
        }
        let load = |node: &Value| {
            pods.iter()
                .filter(|p| json::str_at(p, "/spec/nodeName") == json::name(node))
                .count()
        };
        let chosen = feasible
            .into_iter()
            .min_by_key(|n| (load(n), json::name(n).to_owned()));
        let mut status = pod.get("status").cloned().unwrap_or_else(|| json!({}));
        let mut conditions = conditions::of(&pod);
        if let Some(node) = chosen {
            let mut bound = pod.clone();
            bound["spec"]["nodeName"] = json::name(node).into();
            write(state, "", "pods", &pod, bound, "kube-scheduler");
            let Some(current) = state
                .store
                .get("", "pods", json::namespace(&pod), json::name(&pod))
                .cloned()
            else {
                continue;
            };
            conditions::set(&mut conditions, Style::Pod, "PodScheduled", "True", "", "");
            status["conditions"] = json!(conditions);
            write_status(state, "", "pods", &current, status, "kube-scheduler");
            if let Some(updated) =
                state
                    .store
                    .get("", "pods", json::namespace(&pod), json::name(&pod))
            {
                pods[i] = updated.clone();
            }
        } else {
            let text = message(nodes.len(), &misfits);
            conditions::set(
                &mut conditions,
                Style::Pod,
                "PodScheduled",
                "False",
                "Unschedulable",
                &text,
            );
            status["conditions"] = json!(conditions);
            status["phase"] = "Pending".into();
            write_status(state, "", "pods", &pod, status, "kube-scheduler");
        }
    }
}
