//! The DaemonSet controller: one pod per node that the template's node selector, affinity
//! and tolerations admit, pinned there with node affinity as the real controller does;
//! outdated pods replaced one at a time; the status `kubectl rollout status` reads.

use serde_json::{Value, json};

use super::super::json;
use super::super::state::State;
use super::super::writes::suffix;
use super::scheduler;
use super::templates;
use super::{Changes, KCM, Memory, create, delete, objects, write_status};

/// Tolerations the controller adds to every daemon pod.
fn default_tolerations() -> Vec<Value> {
    [
        ("node.kubernetes.io/not-ready", "NoExecute"),
        ("node.kubernetes.io/unreachable", "NoExecute"),
        ("node.kubernetes.io/disk-pressure", "NoSchedule"),
        ("node.kubernetes.io/memory-pressure", "NoSchedule"),
        ("node.kubernetes.io/pid-pressure", "NoSchedule"),
        ("node.kubernetes.io/unschedulable", "NoSchedule"),
    ]
    .iter()
    .map(|(key, effect)| json!({"key": key, "operator": "Exists", "effect": effect}))
    .collect()
}

/// The node a daemon pod is for: where it runs, or where its affinity pins it.
fn node_of(pod: &Value) -> String {
    match json::str_at(pod, "/spec/nodeName") {
        "" => json::str_at(
            pod,
            "/spec/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms/0/matchFields/0/values/0",
        )
        .to_owned(),
        name => name.to_owned(),
    }
}

/// Counts for a DaemonSet's status.
#[derive(Default)]
struct Tally {
    /// Nodes that should run a pod.
    desired: i64,
    /// Of those, nodes that do.
    current: i64,
    /// Nodes that run one but should not.
    misscheduled: i64,
    /// Ready pods on nodes that should run one.
    ready: i64,
    /// Pods of the current template.
    updated: i64,
}

/// Brings every DaemonSet to one pod per eligible node.
pub fn reconcile(state: &mut State, memory: &mut Memory, changes: &Changes) {
    let nodes_changed = changes.any(&[super::NODES]);
    let dirty: Vec<Value> = state
        .store
        .list("apps", "daemonsets")
        .filter(|ds| !json::deleting(ds) && (nodes_changed || changes.touches(ds)))
        .cloned()
        .collect();
    for ds in dirty {
        reconcile_one(state, memory, &ds);
    }
}

/// The daemon pod for `node`: the template pinned there by node affinity.
fn pod_for(
    ds: &Value,
    template: &Value,
    node: &str,
    labels: &[(&str, String)],
    suffix: &str,
) -> Value {
    let mut pinned = template.clone();
    json::set(
        &mut pinned,
        &[
            "spec",
            "affinity",
            "nodeAffinity",
            "requiredDuringSchedulingIgnoredDuringExecution",
        ],
        json!({"nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}]}),
    );
    templates::pod(&pinned, ds, &format!("{}-{suffix}", json::name(ds)), labels)
}

/// One step for one DaemonSet.
fn reconcile_one(state: &mut State, memory: &mut Memory, ds: &Value) {
    let (uid, namespace) = (json::uid(ds).to_owned(), json::namespace(ds).to_owned());
    let generation = json::int_at(ds, "/metadata/generation", 1);
    if generation > json::int_at(ds, "/status/observedGeneration", 0)
        && !memory.elapsed(
            &format!("daemonset:{uid}:{generation}"),
            state.config.observe_after,
        )
    {
        return;
    }
    let mut template = ds
        .pointer("/spec/template")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let hash = templates::template_hash(&template);
    let spec = json::entry(&mut template, &["spec"]);
    let mut tolerations = json::array(spec, "/tolerations").to_vec();
    tolerations.extend(default_tolerations());
    spec["tolerations"] = json!(tolerations);
    let labels = [
        ("controller-revision-hash", hash.clone()),
        ("pod-template-generation", generation.to_string()),
    ];
    let pods = super::owned(state, "", "pods", &namespace, &uid);
    let owned: Vec<&Value> = pods.iter().filter(|p| templates::active(p)).collect();
    let all_ready = owned.iter().all(|p| templates::ready(p));
    let mut replaced_one = false;
    let mut tally = Tally::default();
    for node in &objects(state, "", "nodes") {
        let node_name = json::name(node);
        let runs = scheduler::affinity_matches(&template, node)
            && scheduler::untolerated(&template, node).is_none();
        let here: Vec<&&Value> = owned.iter().filter(|p| node_of(p) == node_name).collect();
        if !runs {
            tally.misscheduled += i64::from(!here.is_empty());
            for pod in here {
                delete(state, "", "pods", &namespace, json::name(pod));
            }
            continue;
        }
        tally.desired += 1;
        let Some(pod) = here.first() else {
            let pod = pod_for(
                ds,
                &template,
                node_name,
                &labels,
                &suffix(state.store.next_random()),
            );
            // Refused by admission: retried on the next pass.
            let _ = create(state, "", "pods", pod, KCM);
            continue;
        };
        tally.current += 1;
        for extra in &here[1..] {
            delete(state, "", "pods", &namespace, json::name(extra));
        }
        if json::labels(pod).get("controller-revision-hash") == Some(&hash) {
            tally.updated += 1;
        } else if all_ready && !replaced_one {
            replaced_one = true;
            delete(state, "", "pods", &namespace, json::name(pod));
        }
        tally.ready += i64::from(templates::ready(pod));
    }
    let mut status = json!({
        "currentNumberScheduled": tally.current,
        "numberMisscheduled": tally.misscheduled,
        "desiredNumberScheduled": tally.desired,
        "numberReady": tally.ready,
        "observedGeneration": generation,
        "updatedNumberScheduled": tally.updated,
        "numberAvailable": tally.ready,
        "numberUnavailable": tally.desired - tally.ready,
    });
    if let Some(map) = status.as_object_mut() {
        map.retain(|k, v| {
            !matches!(
                k.as_str(),
                "updatedNumberScheduled" | "numberAvailable" | "numberUnavailable"
            ) || v.as_i64() != Some(0)
        });
    }
    if let Some(current) = state
        .store
        .get("apps", "daemonsets", &namespace, json::name(ds))
        .cloned()
    {
        write_status(state, "apps", "daemonsets", &current, status, KCM);
    }
}
