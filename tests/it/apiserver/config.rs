//! The simulated cluster's shape and timing: its nodes and how long things take, so that a
//! test can stage a slow rollout or a CRD that never settles without touching the server.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::proxy::Reachability;

/// What the simulated cluster looks like and how fast its controllers act.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The nodes, created with the cluster.
    pub nodes: Vec<SimNode>,
    /// How long a scheduled pod takes to turn Ready.
    pub pod_ready_after: Duration,
    /// How long a new CustomResourceDefinition takes to become Established.
    pub crd_established_after: Duration,
    /// Added to every request before it is handled.
    pub latency: Duration,
    /// How long a workload controller takes to notice a new generation, so that
    /// `observedGeneration` lags behind `generation` as on a real cluster.
    pub observe_after: Duration,
    /// How long a Deployment whose pods cannot pull their image keeps `Progressing` before
    /// it reports `ProgressDeadlineExceeded` (a real cluster waits `progressDeadlineSeconds`).
    pub progress_deadline: Duration,
    /// How long the namespace controller waits before it empties a Terminating namespace.
    pub namespace_cleanup_after: Duration,
    /// How many watch events the server keeps; a watch from an older resourceVersion gets 410.
    pub event_window: usize,
    /// How often an idle watch that asked for bookmarks gets one.
    pub bookmark_interval: Duration,
    /// Whether the cluster has kubeadm's CoreDNS addon (`kube-dns` Service, `coredns`
    /// Deployment) in `kube-system`, as every kubeadm cluster does.
    pub coredns: bool,
    /// Whether the cluster has kubeadm's control plane as pods in `kube-system`: the mirror
    /// pods of its static pods (kube-apiserver, kube-controller-manager, kube-scheduler,
    /// etcd) on each control-plane node, and the kube-proxy DaemonSet on every node.
    pub control_plane: bool,
    /// Which connections between nodes get through, for the node and pod proxy; `None`:
    /// all of them.
    pub network: Option<Arc<dyn Reachability>>,
    /// How long a proxied dial that gets no answer takes to fail (a real API server's
    /// dialer waits 30 s).
    pub proxy_dial_timeout: Duration,
}

/// A node of the simulated cluster.
#[derive(Debug, Clone)]
pub struct SimNode {
    /// The node name.
    pub name: String,
    /// The `InternalIP` address.
    pub internal_ip: String,
    /// The node's labels (`kubernetes.io/hostname`, `os` and `arch` are added when missing).
    pub labels: BTreeMap<String, String>,
    /// Taints as (key, effect); their values are empty, as kubeadm's are.
    pub taints: Vec<(String, String)>,
    /// `spec.providerID`, when the node has one.
    pub provider_id: Option<String>,
}

/// How the pods of a workload become ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// Ready this long after being scheduled.
    After(Duration),
    /// Running but never Ready (a failing readiness probe).
    Never,
    /// The image cannot be pulled: the pod stays Pending in `ImagePullBackOff`.
    ImagePullBackOff,
}

/// The control-plane taint kubeadm puts on its master.
pub const CONTROL_PLANE: &str = "node-role.kubernetes.io/control-plane";

impl SimConfig {
    /// A kubeadm cluster with one tainted control-plane node and one worker.
    pub fn standard() -> Self {
        Self {
            nodes: vec![
                SimNode::new("ip-10-0-1-74", "10.0.1.74")
                    .label(CONTROL_PLANE, "")
                    .taint(CONTROL_PLANE, "NoSchedule"),
                SimNode::new("ip-10-0-2-15", "10.0.2.15"),
            ],
            pod_ready_after: Duration::from_millis(50),
            crd_established_after: Duration::from_millis(20),
            latency: Duration::ZERO,
            observe_after: Duration::from_millis(10),
            progress_deadline: Duration::from_millis(500),
            namespace_cleanup_after: Duration::from_millis(20),
            event_window: 2000,
            bookmark_interval: Duration::from_secs(1),
            coredns: false,
            control_plane: false,
            network: None,
            proxy_dial_timeout: super::proxy::DIAL_TIMEOUT,
        }
    }
}

impl Default for SimConfig {
    /// The standard cluster.
    fn default() -> Self {
        Self::standard()
    }
}

impl SimNode {
    /// A schedulable node with the labels the kubelet sets.
    pub fn new(name: &str, internal_ip: &str) -> Self {
        let labels = [
            ("kubernetes.io/hostname", name),
            ("kubernetes.io/os", "linux"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        Self {
            name: name.to_owned(),
            internal_ip: internal_ip.to_owned(),
            labels,
            taints: Vec::new(),
            provider_id: None,
        }
    }

    /// Adds a label.
    #[must_use]
    pub fn label(mut self, key: &str, value: &str) -> Self {
        self.labels.insert(key.to_owned(), value.to_owned());
        self
    }

    /// Adds a taint with an empty value.
    #[must_use]
    pub fn taint(mut self, key: &str, effect: &str) -> Self {
        self.taints.push((key.to_owned(), effect.to_owned()));
        self
    }

    /// Sets `spec.providerID`.
    #[must_use]
    pub fn provider_id(mut self, id: &str) -> Self {
        self.provider_id = Some(id.to_owned());
        self
    }
}
