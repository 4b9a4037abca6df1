//! The Deployment controller: a ReplicaSet per pod template (`<name>-<hash>`), old ones
//! scaled down as the new one becomes ready (all at once first for `Recreate`), and the
//! status `kubectl rollout status` reads, after a short lag behind each new generation.

use serde_json::{Value, json};

use super::super::config::Readiness;
use super::super::json;
use super::super::state::State;
use super::conditions::{self, Style};
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

fn revision(object: &Value) -> i64 {
    json::annotations(object)
        .get("deployment.kubernetes.io/revision")
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
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

#[allow(clippy::too_many_lines)]
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
    let annotations = json!({
        "deployment.kubernetes.io/desired-replicas": desired.to_string(),
        "deployment.kubernetes.io/max-replicas": (desired + if recreate { 0 } else { (desired + 3) / 4 }).to_string(),
        "deployment.kubernetes.io/revision": rev.to_string(),
    });
    let created_now = new_set.is_none();
    match &new_set {
        None => {
            let mut rs_template = template.clone();
            json::set(
                &mut rs_template,
                &["metadata", "labels", "pod-template-hash"],
                hash.clone().into(),
            );
            let mut selector = d
                .pointer("/spec/selector")
                .cloned()
                .unwrap_or_else(|| json!({}));
            json::set(
                &mut selector,
                &["matchLabels", "pod-template-hash"],
                hash.clone().into(),
            );
            let rs = json!({
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "metadata": {
                    "name": new_name,
                    "namespace": namespace,
                    "labels": rs_template.pointer("/metadata/labels").cloned().unwrap_or_else(|| json!({})),
                    "annotations": annotations,
                    "ownerReferences": [owner_ref(d)],
                },
                "spec": {
                    "replicas": new_replicas,
                    "minReadySeconds": json::int_at(d, "/spec/minReadySeconds", 0),
                    "selector": selector,
                    "template": rs_template,
                },
            });
            if create(state, "apps", "replicasets", rs, KCM).is_err() {
                return;
            }
        }
        Some(rs) => {
            let mut scaled = rs.clone();
            scaled["spec"]["replicas"] = new_replicas.into();
            json::set(
                &mut scaled,
                &[
                    "metadata",
                    "annotations",
                    "deployment.kubernetes.io/desired-replicas",
                ],
                desired.to_string().into(),
            );
            json::set(
                &mut scaled,
                &[
                    "metadata",
                    "annotations",
                    "deployment.kubernetes.io/revision",
                ],
                rev.to_string().into(),
            );
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
    let mut remaining = if recreate {
        0
    } else {
        (desired - i64::try_from(new_ready).unwrap_or(0)).max(0)
    };
    let mut olds: Vec<&Value> = old_sets.clone();
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
    if revision(d) != rev {
        let mut annotated = d.clone();
        json::set(
            &mut annotated,
            &[
                "metadata",
                "annotations",
                "deployment.kubernetes.io/revision",
            ],
            rev.to_string().into(),
        );
        write(state, "apps", "deployments", d, annotated, KCM);
    }
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
    let count = |pred: &dyn Fn(&Value, &Value) -> bool| -> i64 {
        let n = sets
            .iter()
            .flat_map(|rs| {
                templates::owned_pods(&pods, &namespace, json::uid(rs))
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
    let mut conditions = conditions::of(&d);
    if ready >= desired - max_unavailable(&d, desired) {
        conditions::set(
            &mut conditions,
            Style::Deployment,
            "Available",
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
        );
    } else {
        conditions::set(
            &mut conditions,
            Style::Deployment,
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
    .any(|(field, n)| json::int_at(&d, &format!("/status/{field}"), 0) != *n);
    let pull_failure = state.readiness(&namespace, &name) == Readiness::ImagePullBackOff;
    let progressing_key = format!("deployment:{uid}:progress:{hash}");
    if complete {
        conditions::set(
            &mut conditions,
            Style::Deployment,
            "Progressing",
            "True",
            "NewReplicaSetAvailable",
            &format!("ReplicaSet {new_name:?} has successfully progressed."),
        );
    } else if pull_failure && memory.elapsed(&progressing_key, state.config.progress_deadline) {
        conditions::set(
            &mut conditions,
            Style::Deployment,
            "Progressing",
            "False",
            "ProgressDeadlineExceeded",
            &format!("ReplicaSet {new_name:?} has timed out progressing."),
        );
    } else if created_now {
        conditions::set(
            &mut conditions,
            Style::Deployment,
            "Progressing",
            "True",
            "NewReplicaSetCreated",
            &format!("Created new replica set {new_name:?}"),
        );
    } else if progressed || json::condition(&d, "Progressing").is_none() {
        conditions::set(
            &mut conditions,
            Style::Deployment,
            "Progressing",
            "True",
            "ReplicaSetUpdated",
            &format!("ReplicaSet {new_name:?} is progressing."),
        );
    }
    let mut status = json!({
        "observedGeneration": json::int_at(&d, "/metadata/generation", 1),
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
    write_status(state, "apps", "deployments", &d, status, KCM);
}
