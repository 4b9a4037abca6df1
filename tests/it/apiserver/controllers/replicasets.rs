//! The ReplicaSet controller: creates pods `<rs>-<5 chars>` from the template (through
//! admission, so the Linkerd injector sees them), deletes surplus ones, reports status.
//!
//! A pod creation that fails is recorded as kube-controller-manager does
//! (pkg/controller/replicaset/replica_set.go `manageReplicas` returns the create error;
//! replica_set_utils.go `calculateStatus`): condition `ReplicaFailure` True, reason
//! `FailedCreate`, the error's text as message, set once and kept until a sync succeeds,
//! which removes it.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use super::super::json;
use super::super::state::State;
use super::super::writes::suffix;
use super::{Changes, KCM, Memory, conditions, create, delete, templates, write_status};

/// How long a ReplicaSet waits before retrying a pod creation that admission refused.
const RETRY: Duration = Duration::from_millis(100);

/// Brings every ReplicaSet's pods to its replica count.
pub fn reconcile(state: &mut State, memory: &mut Memory, changes: &Changes) {
    let dirty: Vec<Value> = state
        .store
        .list("apps", "replicasets")
        .filter(|rs| !json::deleting(rs) && changes.touches(rs))
        .cloned()
        .collect();
    for rs in dirty {
        let namespace = json::namespace(&rs).to_owned();
        let pods = super::owned(state, "", "pods", &namespace, json::uid(&rs));
        let owned: Vec<&Value> = pods.iter().filter(|p| templates::active(p)).collect();
        let desired = usize::try_from(json::int_at(&rs, "/spec/replicas", 1)).unwrap_or(0);
        let template = rs
            .pointer("/spec/template")
            .cloned()
            .unwrap_or_else(|| json!({}));
        let mut failure = None;
        for _ in owned.len()..desired {
            let name = format!("{}-{}", json::name(&rs), suffix(state.store.next_random()));
            let pod = templates::pod(&template, &rs, &name, &[]);
            if let Err(err) = create(state, "", "pods", pod, KCM) {
                failure = Some(err.message);
                memory.wake_at(Instant::now() + RETRY);
                break;
            }
        }
        if owned.len() > desired {
            let mut surplus = owned.clone();
            // Unscheduled first, then not ready, then the newest.
            surplus.sort_by_key(|p| {
                (
                    p.pointer("/spec/nodeName").is_some(),
                    templates::ready(p),
                    std::cmp::Reverse(json::str_at(p, "/metadata/creationTimestamp").to_owned()),
                )
            });
            for pod in surplus.iter().take(owned.len() - desired) {
                delete(state, "", "pods", &namespace, json::name(pod));
            }
        }
        let pods_now = super::owned(state, "", "pods", &namespace, json::uid(&rs));
        let active: Vec<&Value> = pods_now.iter().filter(|p| templates::active(p)).collect();
        let ready = active.iter().filter(|p| templates::ready(p)).count();
        let mut status = json!({
            "replicas": active.len(),
            "fullyLabeledReplicas": active.len(),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "observedGeneration": json::int_at(&rs, "/metadata/generation", 1),
        });
        if let Some(map) = status.as_object_mut() {
            map.retain(|k, v| k == "replicas" || v.as_u64() != Some(0));
        }
        let conditions = replica_failure(&rs, failure);
        if !conditions.is_empty() {
            status["conditions"] = Value::Array(conditions);
        }
        if let Some(current) = state
            .store
            .get("apps", "replicasets", &namespace, json::name(&rs))
            .cloned()
        {
            write_status(state, "apps", "replicasets", &current, status, KCM);
        }
    }
}

/// The ReplicaSet's conditions after a sync that failed with `failure` (or succeeded).
fn replica_failure(rs: &Value, failure: Option<String>) -> Vec<Value> {
    let mut conditions = conditions::of(rs);
    let existing = conditions
        .iter()
        .position(|c| json::str_at(c, "/type") == "ReplicaFailure");
    match (failure, existing) {
        (Some(message), None) => conditions.push(json!({
            "type": "ReplicaFailure",
            "status": "True",
            "reason": "FailedCreate",
            "message": message,
            "lastTransitionTime": json::now(),
        })),
        (None, Some(i)) => {
            conditions.remove(i);
        }
        _ => {}
    }
    conditions
}
