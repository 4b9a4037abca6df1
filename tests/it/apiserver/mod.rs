//! A simulated Kubernetes API server (v1.33) for black-box tests: the real kube client and
//! the real `obsboot` binary talk to it over HTTP/1.1 on 127.0.0.1, as they would to a
//! kubeadm cluster with one tainted control-plane node and one worker.
//!
//! It serves discovery (legacy and aggregated v2), CRUD, server-side apply with field
//! ownership and conflicts, merge and JSON patches, lists with selectors and pages,
//! watches with bookmarks and 410 expiry, deletion with finalizers and garbage collection,
//! namespace termination, immutable fields, RBAC denials, admission webhooks, and simulated
//! controllers (Deployments, ReplicaSets, DaemonSets, StatefulSets, Jobs, the scheduler,
//! kubelets, EndpointSlices and Endpoints, CRD establishment), and the Linkerd proxy
//! injector's webhook.
//! Tests steer it through knobs (readiness per workload, CRD establishment, denied verbs,
//! latency) and injected faults, read its state directly, and wait on it without polling.
//!
//! Where it is simpler than a real server:
//! - Server-side apply treats every list as atomic: a list is one field, owned, compared
//!   and pruned as a whole (a real server merges associative lists such as `containers` by
//!   key). Maps recurse. Strategic merge patches are applied as JSON merge patches.
//! - There are no schemas: fields are stored as sent, `fieldValidation` is accepted but not
//!   enforced, and a CRD's versions are served without conversion (only `apiVersion` is
//!   rewritten). Built-in kinds get the defaults clients commonly see (Service clusterIP,
//!   Deployment strategy, pod spec defaults, namespace name label), not all of them.
//! - Custom resources are served once their CRD is Established (a real server already
//!   serves them once their names are accepted; discovery waits for Established either way).
//! - A `continue` token resumes from the current state rather than a snapshot; the watch
//!   log is one window of `event_window` events across all types.
//! - Authentication is one bearer token for the user `kubernetes-admin`, who may do
//!   everything a test has not denied. Events are not recorded. Graceful deletion of pods
//!   completes at once, and Secrets' `stringData` is folded into `data`.
//! - Webhooks other than Linkerd's proxy injector are not called: one whose Service has no
//!   ready endpoint fails (or is skipped, with `failurePolicy: Ignore`) the requests its
//!   rules cover. The injector is called while its Deployment is Available and its Service
//!   has a ready endpoint: [`injector`] stands in for it, built from upstream's source, and
//!   consumes the live linkerd-config as the real one does, denying or (when upstream
//!   panics) failing the call with upstream's outcome; it lists what it simplifies. Of the
//!   other admission plugins, NamespaceLifecycle and ServiceAccount's token volume are
//!   simulated.
//! - Controllers are quick and simple: a rolling update scales the old ReplicaSet down as
//!   new pods turn Ready (no surge pacing), a DaemonSet replaces one outdated pod at a time,
//!   claims bind at once without PersistentVolume objects, the scheduler checks node
//!   selectors, affinity, taints and host ports but not resources, and never preempts.
//!   The kubelet moves a pod's containers through their states together: init containers
//!   do not run one after another, a native sidecar's startup probe does not hold back the
//!   containers after it, and `Initialized` turns True with the rest (a 1.33 kubelet,
//!   pkg/kubelet/status/generate.go, keeps it False until the sidecars have started).
//! - Answers are JSON whatever the client accepts: client-go (the real Prometheus's
//!   Kubernetes discovery asks for `application/vnd.kubernetes.protobuf,application/json`)
//!   decodes by the answer's Content-Type. A list's `resourceVersion` and
//!   `resourceVersionMatch` are not honoured (it always reads the current state). The
//!   cluster holds what obsboot installs and a kubeadm cluster's nodes and `kubernetes`
//!   Service only, unless `SimConfig::coredns` adds kubeadm's CoreDNS and
//!   `SimConfig::control_plane` its control plane (the static pods' mirror pods, which the
//!   kubelets run like any pod, and kube-proxy's DaemonSet). An EndpointSlice lists
//!   its endpoints without `hostname`, `zone` or hints, and resolves named target ports
//!   against its first pod's regular containers.
//! - Answers follow the real server where it differs from what one might expect: an apply
//!   without `fieldManager` is 422 Invalid (`PatchOptions.meta.k8s.io "" is invalid`), an
//!   apply whose apiVersion differs from the URL's is 400 (`Incorrect version specified in
//!   apply patch`), a kind that differs is 422; paths outside the built-in groups (a custom
//!   group before its CRD is Established) get the mux's plain-text `404 page not found`,
//!   unknown resources of built-in groups a Status. A dropped connection is journaled with
//!   status 0.

// The module is shared by the `it` test binary and the benchmark; each uses part of it,
// re-exported interface included.
#![allow(dead_code, unused_imports)]

mod access;
mod addons;
mod admission;
mod apply;
mod builtins;
mod catalog;
mod cluster;
pub mod cni;
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
pub mod injector;
mod journal;
mod json;
mod knobs;
pub mod kubeconfig;
mod managed;
mod metadata;
mod objects;
mod patch;
pub mod proxy;
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

pub use cni::CniLayout;
pub use config::{CONTROL_PLANE, Readiness, SimConfig, SimNode};
pub use faults::{Fault, FaultAction, FaultId};
pub use journal::Request;
pub use proxy::Reachability;
pub use view::View;

use deletion::DeleteOptions;
use registry::Actor;
use state::{Shared, State};
use status::ApiError;
use store::Store;

/// A running simulated API server; dropping it shuts it down.
pub struct ApiServer {
    /// The state, shared with the server thread.
    shared: Arc<Shared>,
    /// Where it listens.
    addr: SocketAddr,
    /// Stops the accept loop.
    stop: Option<oneshot::Sender<()>>,
    /// The server thread, joined on drop.
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
            missed_injections: std::sync::atomic::AtomicUsize::new(0),
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
    /// Stops the server and waits for its thread.
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
