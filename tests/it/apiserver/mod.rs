//! A simulated Kubernetes API server (v1.33) for black-box tests: the real kube client and
//! the real `obsboot` binary talk to it over HTTP/1.1 on 127.0.0.1, as they would to a
//! kubeadm cluster with one tainted control-plane node and one worker.
//!
//! It serves discovery (legacy and aggregated v2), CRUD, server-side apply with field
//! ownership and conflicts, merge and JSON patches, lists with selectors and pages,
//! watches with bookmarks and 410 expiry, deletion with finalizers and garbage collection,
//! namespace termination, and simulated controllers (Deployments, ReplicaSets, DaemonSets,
//! StatefulSets, Jobs, the scheduler, kubelets, EndpointSlices and Endpoints, CRD
//! establishment, the Linkerd proxy injector as a mutating webhook). Tests steer it through
//! knobs (readiness per workload, CRD establishment, latency) and injected faults, read its
//! state directly, and wait on it without polling.
//!
//! Where it is simpler than a real server:
//! - Server-side apply treats every list as atomic: a list is one field, owned, compared
//!   and pruned as a whole (a real server merges associative lists such as `containers` by
//!   key). Maps recurse. Strategic merge patches are applied as JSON merge patches.
//! - There are no schemas: fields are stored as sent, `fieldValidation` is accepted but not
//!   enforced, and a CRD's versions are served without conversion (only `apiVersion` is
//!   rewritten). Built-in kinds get the defaults clients commonly see (Service clusterIP,
//!   Deployment strategy, pod spec defaults, namespace name label), not all of them.
//! - A `continue` token resumes from the current state rather than a snapshot; the watch
//!   log is one window of `event_window` events across all types.
//! - Authentication is one bearer token; there is no authorization (access reviews are
//!   always allowed). Events are not recorded. Unknown URL paths answer a JSON Status.
//! - Controllers are quick and simple: a rolling update scales the old ReplicaSet down as
//!   new pods turn Ready (no surge pacing), a DaemonSet replaces one outdated pod at a time,
//!   claims bind at once without PersistentVolume objects, the scheduler checks node
//!   selectors, affinity, taints and host ports but not resources, and never preempts.
//! - Answers follow the real server where it differs from what one might expect: an apply
//!   without `fieldManager` is 422 Invalid (`PatchOptions.meta.k8s.io "" is invalid`), an
//!   apply whose apiVersion differs from the URL's is 400 (`Incorrect version specified in
//!   apply patch`), a kind that differs is 422; a dropped connection is journaled with
//!   status 0.

// The module is shared by the `it` test binary and the benchmark; each uses part of it,
// re-exported interface included.
#![allow(dead_code, unused_imports)]

mod access;
mod admission;
mod apply;
mod catalog;
mod cluster;
mod config;
mod controllers;
mod defaults;
mod deletion;
mod discovery;
mod faults;
mod fields;
mod handlers;
mod http;
mod immutability;
mod incoming;
mod journal;
mod json;
mod kubeconfig;
mod managed;
mod patch;
mod registry;
mod routes;
mod selectors;
mod state;
mod status;
mod store;
mod validation;
mod view;
mod watch;
mod writes;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tokio::sync::oneshot;

pub use config::{CONTROL_PLANE, Readiness, SimConfig, SimNode};
pub use faults::{Fault, FaultAction, FaultId};
pub use journal::Request;
pub use view::View;

use deletion::DeleteOptions;
use registry::Actor;
use state::{Shared, State};
use status::ApiError;
use store::Store;

/// A running simulated API server; dropping it shuts it down.
pub struct ApiServer {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl ApiServer {
    /// A server for the standard two-node cluster.
    pub fn start() -> Self {
        Self::start_with(SimConfig::standard())
    }

    /// A server for `config`'s cluster, on a free port of 127.0.0.1, run by its own thread.
    #[allow(clippy::expect_used)] // Without a socket and a thread there is no server to test against.
    pub fn start_with(config: SimConfig) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("make the listener non-blocking");
        let addr = listener.local_addr().expect("the listener's address");
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let seed = store::mix(
            u64::try_from(nanos % u128::from(u64::MAX)).unwrap_or(0) ^ u64::from(addr.port()),
        );
        let mut state = State {
            store: Store::new(config.event_window, seed),
            journal: Vec::new(),
            faults: faults::Faults::default(),
            readiness: BTreeMap::new(),
            crd_establishment: BTreeMap::new(),
            paused: false,
            denials: Vec::new(),
            latency: config.latency,
            token: format!("sim-{:016x}", store::mix(seed)),
            pokes: 0,
            seq: 0,
            config,
        };
        cluster::create(&mut state);
        let shared = Arc::new(Shared::new(state));
        let (stop, stopped) = oneshot::channel();
        let for_thread = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("sim-apiserver".to_owned())
            .spawn(move || run(listener, for_thread, stopped))
            .expect("spawn the server thread");
        Self {
            shared,
            addr,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bearer token clients must send.
    pub fn token(&self) -> String {
        self.shared.lock().token.clone()
    }

    /// Writes a kubeconfig for this server (context `sim`, bearer token).
    #[allow(clippy::expect_used)] // A test that cannot write its kubeconfig cannot run.
    pub fn write_kubeconfig(&self, path: &Path) {
        std::fs::write(path, kubeconfig::render(&self.url(), &self.token()))
            .expect("write the kubeconfig");
    }

    /// A kube client configuration for this server, without a kubeconfig file.
    #[allow(clippy::expect_used)] // `url()` is always a valid URI.
    pub fn kube_config(&self) -> kube::Config {
        let mut config = kube::Config::new(self.url().parse().expect("a valid URI"));
        config.auth_info.token = Some(self.token().into());
        config
    }

    /// The stored object, as JSON.
    pub fn get(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<Value> {
        let state = self.shared.lock();
        View::new(&state)
            .get(api_version, kind, namespace, name)
            .cloned()
    }

    /// Every stored object of every kind.
    pub fn objects(&self) -> Vec<Value> {
        self.shared
            .lock()
            .store
            .all()
            .map(|(_, _, o)| o.clone())
            .collect()
    }

    /// Every stored object of `kind` in `api_version`.
    pub fn list(&self, api_version: &str, kind: &str) -> Vec<Value> {
        let state = self.shared.lock();
        View::new(&state)
            .list(api_version, kind)
            .into_iter()
            .cloned()
            .collect()
    }

    /// The latest resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.shared.lock().store.rv()
    }

    /// Server-side apply (with `force`) as `field_manager`; returns the object.
    #[allow(clippy::panic)] // A refused write in a test's set-up is a failed test.
    pub fn apply_as(&self, field_manager: &str, object: Value) -> Value {
        self.try_apply_as(field_manager, object, true)
            .unwrap_or_else(|status| panic!("apply as {field_manager} failed: {status}"))
    }

    /// Server-side apply as `field_manager`; `Err` is the Status body a client would get.
    pub fn try_apply_as(
        &self,
        field_manager: &str,
        object: Value,
        force: bool,
    ) -> Result<Value, Value> {
        self.shared
            .with(|state| {
                let (rt, mut config) = target(state, object)?;
                let namespace = json::namespace(&config).to_owned();
                validation::check_body(&rt, &mut config, &namespace, None, true)?;
                let actor = Actor {
                    manager: field_manager,
                    dry_run: false,
                    admit: true,
                };
                Ok(registry::apply(state, &rt, &config, actor, None, force)?.object)
            })
            .map_err(|e: ApiError| e.body())
    }

    /// An Update as `field_manager` (like `kubectl edit` or a controller): `object`'s fields
    /// are merged into the stored object (JSON merge patch), which is created if missing.
    #[allow(clippy::panic)] // As for `apply_as`.
    pub fn update_as(&self, field_manager: &str, object: Value) -> Value {
        self.update(field_manager, object, None)
            .unwrap_or_else(|status| panic!("update as {field_manager} failed: {status}"))
    }

    /// Like `update_as`, through the status subresource (only `status` is taken).
    #[allow(clippy::panic)] // As for `apply_as`.
    pub fn update_status_as(&self, field_manager: &str, object: Value) -> Value {
        self.update(field_manager, object, Some("status"))
            .unwrap_or_else(|status| panic!("status update as {field_manager} failed: {status}"))
    }

    fn update(
        &self,
        field_manager: &str,
        object: Value,
        sub: Option<&str>,
    ) -> Result<Value, Value> {
        self.shared
            .with(|state| {
                let (rt, mut body) = target(state, object)?;
                let namespace = json::namespace(&body).to_owned();
                validation::check_body(&rt, &mut body, &namespace, None, false)?;
                let actor = Actor {
                    manager: field_manager,
                    dry_run: false,
                    admit: true,
                };
                let stored = state
                    .store
                    .get(&rt.group, &rt.plural, &namespace, json::name(&body))
                    .cloned();
                match stored {
                    None if sub.is_none() => registry::create(state, &rt, body, actor),
                    None => Err(ApiError::not_found(&rt, json::name(&body))),
                    Some(old) => {
                        let mut new = old.clone();
                        patch::merge(&mut new, &body);
                        registry::update(state, &rt, &old, new, actor, sub, None)
                    }
                }
            })
            .map_err(|e: ApiError| e.body())
    }

    /// Deletes an object (Background propagation), as a client's DELETE would.
    pub fn delete(&self, api_version: &str, kind: &str, namespace: Option<&str>, name: &str) {
        self.shared.with(|state| {
            if let Some(rt) = catalog::by_kind(&state.store, api_version, kind) {
                let namespace = if rt.namespaced {
                    namespace.unwrap_or("default")
                } else {
                    ""
                };
                let _ = deletion::delete(
                    state,
                    &rt,
                    namespace,
                    name,
                    &DeleteOptions::default(),
                    false,
                );
            }
        });
    }

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
    /// `timeout` passes; returns whether it held.
    pub fn wait_until(&self, timeout: Duration, what: impl Fn(&View) -> bool) -> bool {
        self.shared.wait(timeout, |state| what(&View::new(state)))
    }
}

/// The type of `object` (by apiVersion and kind) and the object, with a namespace set for
/// namespaced kinds.
fn target(state: &State, mut object: Value) -> Result<(catalog::ResourceType, Value), ApiError> {
    let api_version = json::str_at(&object, "/apiVersion").to_owned();
    let kind = json::str_at(&object, "/kind").to_owned();
    let rt = catalog::by_kind(&state.store, &api_version, &kind)
        .ok_or_else(ApiError::unknown_resource)?;
    if rt.namespaced && json::namespace(&object).is_empty() {
        json::set(&mut object, &["metadata", "namespace"], "default".into());
    }
    Ok((rt, object))
}

/// The server thread: its own runtime, the controllers and the HTTP front.
fn run(listener: std::net::TcpListener, shared: Arc<Shared>, stopped: oneshot::Receiver<()>) {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    runtime.block_on(async move {
        let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
            return;
        };
        let controllers = tokio::spawn(controllers::run(Arc::clone(&shared)));
        http::serve(listener, shared, stopped).await;
        controllers.abort();
    });
    runtime.shutdown_timeout(Duration::from_millis(200));
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
