//! The server's state behind one lock, shared by the HTTP handlers, the controllers and the
//! test thread, with the two wake-ups every change sends: a condition variable for
//! synchronous waiters and a watch channel for tasks.

use std::collections::BTreeMap;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::watch;

use super::access::Denial;
use super::config::{Readiness, SimConfig};
use super::faults::Faults;
use super::journal::Request;
use super::store::Store;

/// Everything the server knows.
#[derive(Debug)]
pub struct State {
    /// The cluster's shape and timing.
    pub config: SimConfig,
    /// The objects.
    pub store: Store,
    /// Every request, in arrival order.
    pub journal: Vec<Request>,
    /// Injected faults.
    pub faults: Faults,
    /// Readiness per (namespace, workload name).
    pub readiness: BTreeMap<(String, String), Readiness>,
    /// CRDs told to establish (`true`) or never to (`false`).
    pub crd_establishment: BTreeMap<String, bool>,
    /// What the user may not do.
    pub denials: Vec<Denial>,
    /// Whether the controllers are stalled.
    pub paused: bool,
    /// How many more pods the injector should have meshed but did not: the API server's call
    /// to its webhook timed out, and the `Ignore` failure policy let the pod through bare.
    pub missed_injections: std::sync::atomic::AtomicUsize,
    /// Added to every request.
    pub latency: Duration,
    /// The bearer token clients must send.
    pub token: String,
    /// Counts changes that are not writes (knobs), to wake the controllers.
    pub pokes: u64,
    /// The last request number handed out.
    pub seq: u64,
}

impl State {
    /// How the pods of `workload` in `namespace` become ready.
    pub fn readiness(&self, namespace: &str, workload: &str) -> Readiness {
        self.readiness
            .get(&(namespace.to_owned(), workload.to_owned()))
            .copied()
            .unwrap_or(Readiness::After(self.config.pod_ready_after))
    }

    /// Adds a finished request to the journal, keeping arrival order.
    pub fn record(&mut self, request: Request) {
        let at = self.journal.partition_point(|r| r.seq < request.seq);
        self.journal.insert(at, request);
    }

    /// What a change moves: the resourceVersion, the journal length, the knob counter.
    fn mark(&self) -> (u64, usize, u64) {
        (self.store.rv(), self.journal.len(), self.pokes)
    }
}

/// The state and its wake-ups.
#[derive(Debug)]
pub struct Shared {
    /// The state.
    state: Mutex<State>,
    /// Wakes `wait_until` after every change.
    changed: Condvar,
    /// Wakes watches and the controllers after every write or knob change.
    wake: watch::Sender<u64>,
}

impl Shared {
    /// Shares `state`.
    pub fn new(state: State) -> Self {
        Self {
            state: Mutex::new(state),
            changed: Condvar::new(),
            wake: watch::Sender::new(0),
        }
    }

    /// Runs `f` on the state, then wakes waiters and tasks if it changed anything.
    pub fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut state = self.lock();
        let before = state.mark();
        let result = f(&mut state);
        let after = state.mark();
        drop(state);
        if before != after {
            self.changed.notify_all();
            if before.0 != after.0 || before.2 != after.2 {
                self.wake.send_modify(|n| *n += 1);
            }
        }
        result
    }

    /// Locks the state for reading (changes must go through [`Shared::with`]).
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A receiver that sees a new value after every write or knob change.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.wake.subscribe()
    }

    /// Blocks until `what` holds for the state or `timeout` passes.
    pub fn wait(&self, timeout: Duration, what: impl Fn(&State) -> bool) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        let mut state = self.lock();
        loop {
            if what(&state) {
                return true;
            }
            let now = std::time::Instant::now();
            if now >= deadline {
                return false;
            }
            state = self
                .changed
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}
