//! Simulated controllers: one task that, after every write or when a timer is due, lets
//! each controller bring the cluster one step closer to what its objects ask for. Every
//! write is made only when something differs, so a settled cluster stays quiet.

mod changes;
mod conditions;
mod crds;
mod daemonsets;
mod deployments;
mod endpoints;
mod gc;
mod jobs;
mod kubelet;
mod memory;
mod namespaces;
mod progress;
mod replicasets;
mod scheduler;
mod statefulsets;
mod templates;

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

pub use changes::Changes;
pub use memory::Memory;

use super::deletion::{self, DeleteOptions};
use super::json;
use super::registry::{self, Actor};
use super::state::{Shared, State};
use super::status::ApiError;

/// How long the controllers let writes accumulate before a pass.
const DEBOUNCE: Duration = Duration::from_millis(2);

/// The manager name of the controllers kube-controller-manager runs.
pub const KCM: &str = "kube-controller-manager";

/// Runs the controllers until the server shuts down.
pub async fn run(shared: Arc<Shared>) {
    let mut wake = shared.subscribe();
    let mut memory = Memory::default();
    let (mut seen_rv, mut seen_pokes) = (0, u64::MAX);
    loop {
        wake.mark_unchanged();
        shared.with(|state| {
            if state.paused {
                return;
            }
            let (woken, everything) = memory.take_due();
            let mut changes = if everything || state.pokes != seen_pokes {
                Changes::everything()
            } else {
                Changes::since(state, seen_rv)
            };
            for (group, plural, uid) in woken {
                changes.types.insert((group.to_owned(), plural.to_owned()));
                changes.uids.insert(uid);
            }
            seen_pokes = state.pokes;
            // This pass's own writes are news for the controllers that ran before them.
            seen_rv = state.store.rv();
            reconcile(state, &mut memory, &changes);
        });
        let changed = match memory.next() {
            Some(at) => tokio::select! {
                changed = wake.changed() => changed,
                () = tokio::time::sleep_until(at) => Ok(()),
            },
            None => wake.changed().await,
        };
        if changed.is_err() {
            return;
        }
        // A burst of writes (a client applying a manifest set) makes one pass, not one each.
        tokio::time::sleep(DEBOUNCE).await;
    }
}

/// Pods, which most controllers watch.
const PODS: (&str, &str) = ("", "pods");
/// Nodes.
const NODES: (&str, &str) = ("", "nodes");
/// PersistentVolumeClaims.
const CLAIMS: (&str, &str) = ("", "persistentvolumeclaims");

/// One pass of the controllers whose inputs changed.
fn reconcile(state: &mut State, memory: &mut Memory, changes: &Changes) {
    let crds = ("apiextensions.k8s.io", "customresourcedefinitions");
    if changes.any(&[crds]) || changes.deletions {
        crds::reconcile(state, memory);
    }
    if changes.any(&[("", "namespaces")]) || changes.deletions {
        namespaces::reconcile(state, memory);
    }
    if changes.deletions {
        gc::reconcile(state);
    }
    if changes.any(&[("apps", "deployments"), ("apps", "replicasets"), PODS]) {
        deployments::reconcile(state, memory, changes);
    }
    if changes.any(&[("apps", "replicasets"), PODS]) {
        replicasets::reconcile(state, memory, changes);
    }
    if changes.any(&[("apps", "daemonsets"), PODS, NODES]) {
        daemonsets::reconcile(state, memory, changes);
    }
    if changes.any(&[("apps", "statefulsets"), PODS, CLAIMS]) {
        statefulsets::reconcile(state, memory, changes);
    }
    if changes.any(&[("batch", "jobs"), PODS]) {
        jobs::reconcile(state, changes);
    }
    // A proxy is certified once identity's Service has a ready endpoint.
    if changes.any(&[PODS, NODES, ("discovery.k8s.io", "endpointslices")]) {
        scheduler::reconcile(state);
        kubelet::reconcile(state, memory);
    }
    if changes.any(&[
        ("", "services"),
        PODS,
        ("", "endpoints"),
        ("discovery.k8s.io", "endpointslices"),
    ]) {
        endpoints::reconcile(state, changes);
    }
    if changes.any(&[CLAIMS]) {
        kubelet::bind_claims(state);
    }
}

/// The objects of (group, plural) in `namespace` controlled by the object with uid `owner`.
pub fn owned(state: &State, group: &str, plural: &str, namespace: &str, owner: &str) -> Vec<Value> {
    state
        .store
        .list_in(group, plural, namespace)
        .filter(|o| json::controlled_by(o, owner))
        .cloned()
        .collect()
}

/// Stored objects of a type, cloned so that the controller can write while it walks them.
pub fn objects(state: &State, group: &str, plural: &str) -> Vec<Value> {
    state.store.list(group, plural).cloned().collect()
}

/// Replaces `old` with `new` as `manager` (an Update), if they differ.
pub fn write(state: &mut State, group: &str, plural: &str, old: &Value, new: Value, manager: &str) {
    if *old == new {
        return;
    }
    if let Some(rt) = registry::type_of(state, group, plural) {
        // A write that fails (the object went away meanwhile) is retried on the next pass.
        let _ = registry::update(state, &rt, old, new, Actor::controller(manager), None, None);
    }
}

/// Sets the status of `old` to `status` through the status subresource, if it differs.
pub fn write_status(
    state: &mut State,
    group: &str,
    plural: &str,
    old: &Value,
    status: Value,
    manager: &str,
) {
    if old.get("status") == Some(&status) {
        return;
    }
    let Some(rt) = registry::type_of(state, group, plural) else {
        return;
    };
    let mut new = old.clone();
    new["status"] = status;
    let sub = rt.status.then_some("status");
    // As above: retried on the next pass if the object changed meanwhile.
    let _ = registry::update(state, &rt, old, new, Actor::controller(manager), sub, None);
}

/// Creates an object as `manager`.
pub fn create(
    state: &mut State,
    group: &str,
    plural: &str,
    object: Value,
    manager: &str,
) -> Result<Value, ApiError> {
    let rt = registry::type_of(state, group, plural).ok_or_else(ApiError::unknown_resource)?;
    registry::create(state, &rt, object, Actor::controller(manager))
}

/// Deletes an object in the background, ignoring that it may be gone already.
pub fn delete(state: &mut State, group: &str, plural: &str, namespace: &str, name: &str) {
    if let Some(rt) = registry::type_of(state, group, plural) {
        let _ = deletion::delete(
            state,
            &rt,
            namespace,
            name,
            &DeleteOptions::default(),
            false,
        );
    }
}
