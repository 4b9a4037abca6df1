//! The test's controls over the server: readiness and establishment knobs, denials,
//! stalls, faults, latency, the journal, and waiting for a condition.

use std::time::Duration;

use super::{ApiServer, Fault, FaultId, Readiness, Request, View, access};

impl ApiServer {
    /// How the pods of a Deployment, DaemonSet, StatefulSet or Job (or a bare pod) named
    /// `workload` become ready: for pods created afterwards and those not yet Ready.
    pub fn set_readiness(&self, namespace: &str, workload: &str, readiness: Readiness) {
        self.shared.with(|state| {
            state
                .readiness
                .insert((namespace.to_owned(), workload.to_owned()), readiness);
            state.pokes += 1;
        });
    }

    /// Makes the injector's webhook time out for the next `pods` pods it would mesh: they are
    /// created without a proxy, as the webhook's `Ignore` failure policy lets them through.
    pub fn miss_injections(&self, pods: usize) {
        self.shared.with(|state| {
            state
                .missed_injections
                .store(pods, std::sync::atomic::Ordering::Relaxed);
        });
    }

    /// Whether the CRD `crd_name` ever becomes Established (`false`: never).
    pub fn set_crd_establishment(&self, crd_name: &str, establish: bool) {
        self.shared.with(|state| {
            state
                .crd_establishment
                .insert(crd_name.to_owned(), establish);
            state.pokes += 1;
        });
    }

    /// Denies the user `verb` on `resource` (plural, `/status` for the subresource) in
    /// `group`; `*` matches any. Requests get RBAC's 403 and access reviews say no.
    pub fn deny(&self, verb: &str, group: &str, resource: &str) {
        self.shared.with(|state| {
            state.denials.push(access::Denial {
                verb: verb.to_owned(),
                group: group.to_owned(),
                resource: resource.to_owned(),
            });
        });
    }

    /// Allows everything again.
    pub fn allow_all(&self) {
        self.shared.with(|state| state.denials.clear());
    }

    /// Stalls (or resumes) every simulated controller.
    pub fn pause_controllers(&self, paused: bool) {
        self.shared.with(|state| {
            state.paused = paused;
            state.pokes += 1;
        });
    }

    /// Forgets the watch log, so that every watch from an older resourceVersion gets 410.
    pub fn compact(&self) {
        self.shared.with(|state| {
            state.store.compact();
            state.pokes += 1;
        });
    }

    /// Injects a fault.
    pub fn inject(&self, fault: Fault) -> FaultId {
        self.shared.with(|state| state.faults.add(fault))
    }

    /// Removes an injected fault.
    pub fn clear_fault(&self, id: FaultId) {
        self.shared.with(|state| state.faults.remove(id));
    }

    /// Sets the latency added to every request.
    pub fn set_latency(&self, latency: Duration) {
        self.shared.with(|state| state.latency = latency);
    }

    /// Every request so far, in arrival order.
    pub fn journal(&self) -> Vec<Request> {
        self.shared.lock().journal.clone()
    }

    /// Forgets the requests so far.
    pub fn clear_journal(&self) {
        self.shared.with(|state| state.journal.clear());
    }

    /// Blocks until `what` holds for the server's state (re-checked after every change), or
    /// `timeout` passes; returns whether it held. `what` runs under the server's lock: it
    /// reads through the [`View`] and must not call this server's methods.
    pub fn wait_until(&self, timeout: Duration, what: impl Fn(&View) -> bool) -> bool {
        self.shared.wait(timeout, |state| what(&View::new(state)))
    }
}
