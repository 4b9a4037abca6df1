//! The Deployment controller: a ReplicaSet per pod template (`<name>-<hash>`), old ones
//! scaled down as the new one becomes ready (all at once first for `Recreate`), and the
//! status `kubectl rollout status` reads, after a short lag behind each new generation.

use serde_json::{Value, json};

use super::super::json;
use super::super::state::State;
use super::progress;
use super::templates::{self, owner_ref};
use super::{Changes, KCM, Memory, create, owned, write, write_status};

/// Brings every Deployment one step closer to its spec.
pub fn reconcile(state: &mut State, memory: &mut Memory, changes: &Changes) {
    let dirty: Vec<Value> = state
        .store
        .list("apps", "deployments")
        .filter(|d| !json::deleting(d))
        .filter(|d| {
            changes.touches(d)
                || state
                    .store
                    .list_in("apps", "replicasets", json::namespace(d))
                    .any(|rs| json::controlled_by(rs, json::uid(d)) && changes.touches(rs))
        })
        .cloned()
        .collect();
    for deployment in dirty {
        reconcile_one(state, memory, &deployment);
    }
}

/// The `deployment.kubernetes.io/revision` annotation, or 0.
fn revision(object: &Value) -> i64 {
    json::annotations(object)
        .get("deployment.kubernetes.io/revision")
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

/// One rollout step for one Deployment.
fn reconcile_one(state: &mut State, memory: &mut Memory, d: &Value) {
    let (uid, namespace, name) = (
        json::uid(d).to_owned(),
        json::namespace(d).to_owned(),
        json::name(d).to_owned(),
    );
    let generation = json::int_at(d, "/metadata/generation", 1);
    if generation > json::int_at(d, "/status/observedGeneration", 0)
        && !memory.elapsed(
            &format!("deployment:{uid}:{generation}"),
            state.config.observe_after,
        )
    {
        return;
    }
    let template = d
        .pointer("/spec/template")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let hash = templates::template_hash(&template);
    let desired = json::int_at(d, "/spec/replicas", 1);
    let recreate = json::str_at(d, "/spec/strategy/type") == "Recreate";
    let sets = owned(state, "apps", "replicasets", &namespace, &uid);
    let new_name = format!("{name}-{hash}");
    let pods: Vec<Value> = sets
        .iter()
        .flat_map(|rs| owned(state, "", "pods", &namespace, json::uid(rs)))
        .collect();
    let old_sets: Vec<&Value> = sets
        .iter()
        .filter(|rs| json::name(rs) != new_name)
        .collect();
    let old_pods_left = old_sets
        .iter()
        .any(|rs| !templates::owned_pods(&pods, &namespace, json::uid(rs)).is_empty());
    let new_replicas = if recreate && old_pods_left {
        0
    } else {
        desired
    };
    let max_revision = sets.iter().map(revision).max().unwrap_or(0);
    let new_set = sets.iter().find(|rs| json::name(rs) == new_name).cloned();
    let rev = new_set.as_ref().map_or(max_revision + 1, revision);
    let created_now = new_set.is_none();
    match &new_set {
        None => {
            let rs = new_replica_set(d, &template, &hash, new_replicas, rev);
            if create(state, "apps", "replicasets", rs, KCM).is_err() {
                return;
            }
        }
        Some(rs) => {
            let mut scaled = annotated(
                rs,
                "deployment.kubernetes.io/desired-replicas",
                &desired.to_string(),
            );
            scaled = annotated(
                &scaled,
                "deployment.kubernetes.io/revision",
                &rev.to_string(),
            );
            scaled["spec"]["replicas"] = new_replicas.into();
            write(state, "apps", "replicasets", rs, scaled, KCM);
        }
    }
    let new_ready = templates::owned_pods(
        &pods,
        &namespace,
        new_set.as_ref().map_or("", |rs| json::uid(rs)),
    )
    .into_iter()
    .filter(|p| templates::active(p) && templates::ready(p))
    .count();
    let remaining = if recreate {
        0
    } else {
        (desired - i64::try_from(new_ready).unwrap_or(0)).max(0)
    };
    scale_down(state, &old_sets, remaining);
    if revision(d) != rev {
        let revised = annotated(d, "deployment.kubernetes.io/revision", &rev.to_string());
        write(state, "apps", "deployments", d, revised, KCM);
    }
    report(state, memory, d, &hash, created_now);
}

/// `object` with annotation `key` set to `value`.
fn annotated(object: &Value, key: &str, value: &str) -> Value {
    let mut copy = object.clone();
    json::set(&mut copy, &["metadata", "annotations", key], value.into());
    copy
}

/// The ReplicaSet for the Deployment's current template (hash `hash`).
fn new_replica_set(d: &Value, template: &Value, hash: &str, replicas: i64, revision: i64) -> Value {
    let desired = json::int_at(d, "/spec/replicas", 1);
    let surge = if json::str_at(d, "/spec/strategy/type") == "Recreate" {
        0
    } else {
        (desired + 3) / 4
    };
    let annotations = json!({
        "deployment.kubernetes.io/desired-replicas": desired.to_string(),
        "deployment.kubernetes.io/max-replicas": (desired + surge).to_string(),
        "deployment.kubernetes.io/revision": revision.to_string(),
    });
    let mut rs_template = template.clone();
    json::set(
        &mut rs_template,
        &["metadata", "labels", "pod-template-hash"],
        hash.into(),
    );
    let mut selector = d
        .pointer("/spec/selector")
        .cloned()
        .unwrap_or_else(|| json!({}));
    json::set(
        &mut selector,
        &["matchLabels", "pod-template-hash"],
        hash.into(),
    );
    json!({
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": format!("{}-{hash}", json::name(d)),
            "namespace": json::namespace(d),
            "labels": rs_template.pointer("/metadata/labels").cloned().unwrap_or_else(|| json!({})),
            "annotations": annotations,
            "ownerReferences": [owner_ref(d)],
        },
        "spec": {
            "replicas": replicas,
            "minReadySeconds": json::int_at(d, "/spec/minReadySeconds", 0),
            "selector": selector,
            "template": rs_template,
        },
    })
}

/// Scales old ReplicaSets (newest first) down to `remaining` replicas between them.
fn scale_down(state: &mut State, old_sets: &[&Value], mut remaining: i64) {
    let mut olds = old_sets.to_vec();
    olds.sort_by_key(|rs| std::cmp::Reverse(revision(rs)));
    for rs in olds {
        let current = json::int_at(rs, "/spec/replicas", 0);
        let target = current.min(remaining);
        remaining -= target;
        if target != current {
            let mut scaled = rs.clone();
            scaled["spec"]["replicas"] = target.into();
            write(state, "apps", "replicasets", rs, scaled, KCM);
        }
    }
}

/// Writes the status of Deployment `d` (as it was at the start of the pass) after the
/// rollout step.
fn report(state: &mut State, memory: &mut Memory, d: &Value, hash: &str, created_now: bool) {
    let (uid, namespace, name) = (
        json::uid(d).to_owned(),
        json::namespace(d).to_owned(),
        json::name(d).to_owned(),
    );
    let new_name = format!("{name}-{hash}");
    let desired = json::int_at(d, "/spec/replicas", 1);
    let Some(d) = state
        .store
        .get("apps", "deployments", &namespace, &name)
        .cloned()
    else {
        return;
    };
    let sets = owned(state, "apps", "replicasets", &namespace, &uid);
    let pods: Vec<Value> = sets
        .iter()
        .flat_map(|rs| owned(state, "", "pods", &namespace, json::uid(rs)))
        .collect();
    let rollout = progress::Rollout {
        deployment: &d,
        sets: &sets,
        pods: &pods,
        new_name: &new_name,
        hash,
        created_now,
        desired,
    };
    let status = progress::status(state, memory, &rollout);
    write_status(state, "apps", "deployments", &d, status, KCM);
}
