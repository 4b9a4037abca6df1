//! The StatefulSet controller: pods `<name>-0..` created in order (each after the previous
//! is Ready, unless `podManagementPolicy: Parallel`), claims from volumeClaimTemplates,
//! outdated pods replaced from the highest ordinal down, revisions in status.

use serde_json::{Value, json};

use super::super::json;
use super::super::state::State;
use super::templates;
use super::{Changes, KCM, Memory, create, delete, write_status};

/// Brings every StatefulSet to its replicas at its current revision.
pub fn reconcile(state: &mut State, memory: &mut Memory, changes: &Changes) {
    let dirty: Vec<Value> = state
        .store
        .list("apps", "statefulsets")
        .filter(|sts| !json::deleting(sts) && changes.touches(sts))
        .cloned()
        .collect();
    for sts in dirty {
        reconcile_one(state, memory, &sts);
    }
}

/// The pod `<name>-<i>` of a StatefulSet, with its claims (created when missing).
fn pod_for(state: &mut State, sts: &Value, template: &Value, i: usize, revision: &str) -> Value {
    let (namespace, name) = (json::namespace(sts).to_owned(), json::name(sts).to_owned());
    let pod_name = format!("{name}-{i}");
    let mut pod_template = template.clone();
    for claim in json::array(sts, "/spec/volumeClaimTemplates") {
        let claim_name = format!("{}-{pod_name}", json::name(claim));
        if state
            .store
            .get("", "persistentvolumeclaims", &namespace, &claim_name)
            .is_none()
        {
            let labels = template
                .pointer("/metadata/labels")
                .cloned()
                .unwrap_or_else(|| json!({}));
            let pvc = json!({
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {"name": claim_name, "namespace": namespace, "labels": labels},
                "spec": claim.get("spec").cloned().unwrap_or_else(|| json!({})),
            });
            // An existing or refused claim leaves the pod to wait for it.
            let _ = create(state, "", "persistentvolumeclaims", pvc, KCM);
        }
        let volume =
            json!({"name": json::name(claim), "persistentVolumeClaim": {"claimName": claim_name}});
        let volumes = json::entry(&mut pod_template, &["spec", "volumes"]);
        if !volumes.is_array() {
            *volumes = json!([]);
        }
        if let Some(list) = volumes.as_array_mut() {
            list.retain(|v| json::str_at(v, "/name") != json::name(claim));
            list.push(volume);
        }
    }
    json::set(
        &mut pod_template,
        &["spec", "hostname"],
        pod_name.clone().into(),
    );
    if let Some(service) = sts.pointer("/spec/serviceName").and_then(Value::as_str) {
        json::set(&mut pod_template, &["spec", "subdomain"], service.into());
    }
    let labels = [
        ("controller-revision-hash", revision.to_owned()),
        ("statefulset.kubernetes.io/pod-name", pod_name.clone()),
        ("apps.kubernetes.io/pod-index", i.to_string()),
    ];
    templates::pod(&pod_template, sts, &pod_name, &labels)
}

/// The ordinal of a StatefulSet pod.
fn ordinal(pod: &Value) -> Option<usize> {
    json::name(pod)
        .rsplit('-')
        .next()
        .and_then(|n| n.parse().ok())
}

/// The revision a pod was made from.
fn revision_of(pod: &Value) -> String {
    json::labels(pod)
        .get("controller-revision-hash")
        .cloned()
        .unwrap_or_default()
}

/// One step for one StatefulSet.
fn reconcile_one(state: &mut State, memory: &mut Memory, sts: &Value) {
    let (uid, namespace, name) = (
        json::uid(sts).to_owned(),
        json::namespace(sts).to_owned(),
        json::name(sts).to_owned(),
    );
    let generation = json::int_at(sts, "/metadata/generation", 1);
    if generation > json::int_at(sts, "/status/observedGeneration", 0)
        && !memory.elapsed(
            &format!("statefulset:{uid}:{generation}"),
            state.config.observe_after,
        )
    {
        return;
    }
    let template = sts
        .pointer("/spec/template")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let update_revision = format!("{name}-{}", templates::template_hash(&template));
    let desired = usize::try_from(json::int_at(sts, "/spec/replicas", 1)).unwrap_or(0);
    let parallel = json::str_at(sts, "/spec/podManagementPolicy") == "Parallel";
    let pods = super::owned(state, "", "pods", &namespace, &uid);
    let owned: Vec<&Value> = pods.iter().collect();
    let at = |i: usize| owned.iter().find(|p| ordinal(p) == Some(i)).copied();
    for i in (0..desired).filter(|i| at(*i).is_none()) {
        let earlier_ready =
            (0..i).all(|j| at(j).is_some_and(|p| templates::ready(p) && !json::deleting(p)));
        if !parallel && !earlier_ready {
            break;
        }
        let pod = pod_for(state, sts, &template, i, &update_revision);
        // Refused by admission: retried on the next pass.
        let _ = create(state, "", "pods", pod, KCM);
        if !parallel {
            break;
        }
    }
    let mut surplus: Vec<&Value> = owned
        .iter()
        .copied()
        .filter(|p| ordinal(p).is_none_or(|i| i >= desired))
        .collect();
    surplus.sort_by_key(|p| std::cmp::Reverse(ordinal(p)));
    for pod in surplus
        .iter()
        .take(if parallel { surplus.len() } else { 1 })
    {
        delete(state, "", "pods", &namespace, json::name(pod));
    }
    let all_ready = owned.iter().all(|p| templates::ready(p)) && owned.len() >= desired;
    let outdated = owned
        .iter()
        .filter(|p| revision_of(p) != update_revision && !json::deleting(p))
        .max_by_key(|p| ordinal(p));
    if let (true, Some(pod)) = (all_ready, outdated) {
        delete(state, "", "pods", &namespace, json::name(pod));
    }
    let active: Vec<&Value> = owned
        .iter()
        .copied()
        .filter(|p| templates::active(p))
        .collect();
    if let Some(latest) = state
        .store
        .get("apps", "statefulsets", &namespace, &name)
        .cloned()
    {
        let status = status(&latest, generation, &active, desired, &update_revision);
        write_status(state, "apps", "statefulsets", &latest, status, KCM);
    }
}

/// The status of a StatefulSet with `active` pods.
fn status(
    sts: &Value,
    generation: i64,
    active: &[&Value],
    desired: usize,
    update_revision: &str,
) -> Value {
    let count = |f: &dyn Fn(&Value) -> bool| active.iter().filter(|p| f(p)).count();
    let updated = count(&|p| revision_of(p) == update_revision);
    let ready = count(&|p| templates::ready(p));
    let current_revision = if updated == desired && active.len() == desired {
        update_revision.to_owned()
    } else {
        json::str_at(sts, "/status/currentRevision").to_owned()
    };
    let current_revision = if current_revision.is_empty() {
        update_revision.to_owned()
    } else {
        current_revision
    };
    let current = count(&|p| revision_of(p) == current_revision);
    let mut status = json!({
        "observedGeneration": generation,
        "replicas": active.len(),
        "readyReplicas": ready,
        "currentReplicas": current,
        "updatedReplicas": updated,
        "currentRevision": current_revision,
        "updateRevision": update_revision,
        "collisionCount": 0,
        "availableReplicas": ready,
    });
    if let Some(map) = status.as_object_mut() {
        map.retain(|k, v| {
            matches!(
                k.as_str(),
                "replicas" | "availableReplicas" | "collisionCount"
            ) || v.as_u64() != Some(0)
        });
    }
    status
}
