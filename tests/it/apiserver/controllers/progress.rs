//! A Deployment's rollout status, as the deployment controller reports it and
//! `kubectl rollout status` reads it: replica counts, `Available` and `Progressing`.

use serde_json::{Value, json};

use super::super::config::Readiness;
use super::super::json;
use super::super::state::State;
use super::Memory;
use super::conditions::{self, Style};
use super::templates;

/// What the controller knows about a rollout in progress.
pub struct Rollout<'a> {
    /// The Deployment, as stored.
    pub deployment: &'a Value,
    /// Its ReplicaSets.
    pub sets: &'a [Value],
    /// Their pods.
    pub pods: &'a [Value],
    /// The ReplicaSet of the current template.
    pub new_name: &'a str,
    /// The current template's hash.
    pub hash: &'a str,
    /// Whether that ReplicaSet was created in this pass.
    pub created_now: bool,
    /// `spec.replicas`.
    pub desired: i64,
}

/// `maxUnavailable` for `desired` replicas (percentages round down; Recreate allows none).
fn max_unavailable(d: &Value, desired: i64) -> i64 {
    if json::str_at(d, "/spec/strategy/type") == "Recreate" {
        return 0;
    }
    match d.pointer("/spec/strategy/rollingUpdate/maxUnavailable") {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
        Some(Value::String(p)) => p
            .trim_end_matches('%')
            .parse::<i64>()
            .map_or(0, |percent| desired * percent / 100),
        _ => desired / 4,
    }
}

/// The status for `r`.
pub fn status(state: &State, memory: &mut Memory, r: &Rollout<'_>) -> Value {
    let Rollout {
        deployment: d,
        sets,
        pods,
        new_name,
        ..
    } = *r;
    let namespace = json::namespace(d);
    let count = |pred: &dyn Fn(&Value, &Value) -> bool| -> i64 {
        let n = sets
            .iter()
            .flat_map(|rs| {
                templates::owned_pods(pods, namespace, json::uid(rs))
                    .into_iter()
                    .map(move |p| (rs, p))
            })
            .filter(|(rs, p)| templates::active(p) && pred(rs, p))
            .count();
        i64::try_from(n).unwrap_or(0)
    };
    let replicas = count(&|_, _| true);
    let updated = count(&|rs, _| json::name(rs) == new_name);
    let ready = count(&|_, p| templates::ready(p));
    let total: i64 = sets
        .iter()
        .map(|rs| json::int_at(rs, "/spec/replicas", 0))
        .sum();
    let conditions = conditions_for(state, memory, r, [replicas, updated, ready]);
    let mut status = json!({
        "observedGeneration": json::int_at(d, "/metadata/generation", 1),
        "replicas": replicas,
        "updatedReplicas": updated,
        "readyReplicas": ready,
        "availableReplicas": ready,
        "conditions": conditions,
    });
    if total - ready > 0 {
        status["unavailableReplicas"] = (total - ready).into();
    }
    if let Some(map) = status.as_object_mut() {
        map.retain(|k, v| k == "observedGeneration" || k == "conditions" || v.as_i64() != Some(0));
    }
    status
}

/// `Available` and `Progressing` for `r`, given its [replicas, updated, ready] counts.
fn conditions_for(
    state: &State,
    memory: &mut Memory,
    r: &Rollout<'_>,
    counts: [i64; 3],
) -> Vec<Value> {
    let Rollout {
        deployment: d,
        new_name,
        hash,
        created_now,
        desired,
        ..
    } = *r;
    let [replicas, updated, ready] = counts;
    let (uid, namespace, name) = (json::uid(d), json::namespace(d), json::name(d));
    let mut conditions = conditions::of(d);
    let mut set = |kind: &str, status: &str, reason: &str, message: &str| {
        conditions::set(
            &mut conditions,
            Style::Deployment,
            kind,
            status,
            reason,
            message,
        );
    };
    if ready >= desired - max_unavailable(d, desired) {
        set(
            "Available",
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
        );
    } else {
        set(
            "Available",
            "False",
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.",
        );
    }
    let complete = updated == desired && replicas == desired && ready == desired;
    // Progress, as the controller sees it: any count moved since the last status.
    let progressed = [
        ("replicas", replicas),
        ("updatedReplicas", updated),
        ("readyReplicas", ready),
    ]
    .iter()
    .any(|(field, n)| json::int_at(d, &format!("/status/{field}"), 0) != *n);
    let pull_failure = state.readiness(namespace, name) == Readiness::ImagePullBackOff;
    let progressing_key = format!("deployment:{uid}:progress:{hash}");
    if complete {
        set(
            "Progressing",
            "True",
            "NewReplicaSetAvailable",
            &format!("ReplicaSet {new_name:?} has successfully progressed."),
        );
    } else if pull_failure && memory.elapsed(&progressing_key, state.config.progress_deadline) {
        set(
            "Progressing",
            "False",
            "ProgressDeadlineExceeded",
            &format!("ReplicaSet {new_name:?} has timed out progressing."),
        );
    } else if created_now {
        set(
            "Progressing",
            "True",
            "NewReplicaSetCreated",
            &format!("Created new replica set {new_name:?}"),
        );
    } else if progressed || json::condition(d, "Progressing").is_none() {
        set(
            "Progressing",
            "True",
            "ReplicaSetUpdated",
            &format!("ReplicaSet {new_name:?} is progressing."),
        );
    }
    replica_failure(&mut conditions, r.sets, new_name);
    conditions
}

/// Copies a ReplicaSet's `ReplicaFailure` onto the Deployment, the new ReplicaSet's first,
/// or removes it (pkg/controller/deployment/progress.go `syncRolloutStatus` and
/// `getReplicaFailures`, deployment/util `ReplicaSetToDeploymentCondition` and
/// `SetDeploymentCondition`: unchanged while its status and reason are).
fn replica_failure(conditions: &mut Vec<Value>, sets: &[Value], new_name: &str) {
    let failure = sets
        .iter()
        .filter(|rs| json::name(rs) == new_name)
        .chain(sets.iter())
        .find_map(|rs| json::condition(rs, "ReplicaFailure"));
    let existing = conditions
        .iter()
        .position(|c| json::str_at(c, "/type") == "ReplicaFailure");
    let Some(failure) = failure else {
        if let Some(i) = existing {
            conditions.remove(i);
        }
        return;
    };
    let field = |name: &str| json::str_at(failure, &format!("/{name}")).to_owned();
    if let Some(i) = existing {
        let current = &conditions[i];
        if json::str_at(current, "/status") == field("status")
            && json::str_at(current, "/reason") == field("reason")
        {
            return;
        }
        conditions.remove(i);
    }
    let at = field("lastTransitionTime");
    conditions.push(json!({
        "type": "ReplicaFailure",
        "status": field("status"),
        "reason": field("reason"),
        "message": field("message"),
        "lastUpdateTime": at,
        "lastTransitionTime": at,
    }));
}
