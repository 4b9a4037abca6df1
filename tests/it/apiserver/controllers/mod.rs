//! Simulated controllers: one task that, after every write or when a timer is due, lets
//! each controller bring the cluster one step closer to what its objects ask for. Every
//! write is made only when something differs, so a settled cluster stays quiet.

mod conditions;
mod crds;
mod daemonsets;
mod deployments;
mod endpoints;
mod gc;
mod jobs;
mod kubelet;
mod namespaces;
mod replicasets;
mod scheduler;
mod statefulsets;
mod templates;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use super::deletion::{self, DeleteOptions};
use super::registry::{self, Actor};
use super::state::{Shared, State};
use super::status::ApiError;

/// The manager name of the controllers kube-controller-manager runs.
pub const KCM: &str = "kube-controller-manager";

/// What the controllers remember between passes: when they first saw something (for
/// delays) and the stage each pod was last put in.
#[derive(Debug, Default)]
pub struct Memory {
    seen: HashMap<String, Instant>,
    next: Option<Instant>,
    stages: HashMap<String, String>,
}

impl Memory {
    /// When `key` was first asked about.
    pub fn since(&mut self, key: &str) -> Instant {
        *self.seen.entry(key.to_owned()).or_insert_with(Instant::now)
    }

    /// Whether `delay` has passed since `key` was first asked about; if not, the loop wakes
    /// up when it will have.
    pub fn elapsed(&mut self, key: &str, delay: Duration) -> bool {
        let due = self.since(key) + delay;
        if Instant::now() >= due {
            true
        } else {
            self.wake_at(due);
            false
        }
    }

    /// Asks for a pass at `at`.
    pub fn wake_at(&mut self, at: Instant) {
        self.next = Some(self.next.map_or(at, |n| n.min(at)));
    }

    /// The stage last recorded for `key`.
    pub fn stage(&self, key: &str) -> Option<&str> {
        self.stages.get(key).map(String::as_str)
    }

    /// Records the stage of `key`.
    pub fn set_stage(&mut self, key: &str, stage: &str) {
        self.stages.insert(key.to_owned(), stage.to_owned());
    }
}

/// Runs the controllers until the server shuts down.
pub async fn run(shared: Arc<Shared>) {
    let mut wake = shared.subscribe();
    let mut memory = Memory::default();
    loop {
        wake.mark_unchanged();
        memory.next = None;
        shared.with(|state| {
            if !state.paused {
                reconcile(state, &mut memory);
            }
        });
        let changed = match memory.next {
            Some(at) => tokio::select! {
                changed = wake.changed() => changed,
                () = tokio::time::sleep_until(at) => Ok(()),
            },
            None => wake.changed().await,
        };
        if changed.is_err() {
            return;
        }
    }
}

/// One pass of every controller.
fn reconcile(state: &mut State, memory: &mut Memory) {
    crds::reconcile(state, memory);
    namespaces::reconcile(state, memory);
    gc::reconcile(state);
    deployments::reconcile(state, memory);
    replicasets::reconcile(state, memory);
    daemonsets::reconcile(state, memory);
    statefulsets::reconcile(state, memory);
    jobs::reconcile(state);
    scheduler::reconcile(state);
    kubelet::reconcile(state, memory);
    endpoints::reconcile(state);
    kubelet::bind_claims(state);
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
