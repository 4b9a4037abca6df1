//! The Prometheus stack's settings.

use serde::{Deserialize, Serialize};

use super::fields::{Duration, ImageRef, ObjectName, Quantity};
use super::storage::StorageView;

/// `spec:` of a Prometheus stack file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PrometheusSpec {
    /// The images of the server and its helpers.
    pub images: PrometheusImages,
    /// How long samples are kept (`--storage.tsdb.retention.time`).
    pub retention: Duration,
    /// How often targets are scraped.
    pub scrape_interval: Duration,
    /// Where samples are stored.
    pub storage: Storage,
    /// Which of kubeadm's control-plane components are scraped; none unless set.
    #[serde(default)]
    pub control_plane: ControlPlane,
}

/// `spec.controlPlane`: a scrape job per kubeadm component, each off unless turned on. kubeadm
/// binds their metrics to 127.0.0.1, out of Prometheus's reach, until the cluster's kubeadm
/// configuration exposes them (deploy.md, "Control-plane metrics").
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(clippy::struct_excessive_bools)] // one independent switch per scrape job, as the file spells them
pub struct ControlPlane {
    /// kube-scheduler, https on 10259.
    #[serde(default)]
    pub kube_scheduler: bool,
    /// kube-controller-manager, https on 10257.
    #[serde(default)]
    pub kube_controller_manager: bool,
    /// etcd's metrics listener, http on 2381.
    #[serde(default)]
    pub etcd: bool,
    /// kube-proxy on every node, http on 10249.
    #[serde(default)]
    pub kube_proxy: bool,
}

/// Images of the Prometheus stack.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PrometheusImages {
    /// The Prometheus server.
    pub prometheus: ImageRef,
    /// The sidecar that asks Prometheus to reload when its configuration changes.
    pub config_reloader: ImageRef,
    /// kube-state-metrics.
    pub kube_state_metrics: ImageRef,
    /// node-exporter.
    pub node_exporter: ImageRef,
}

/// Prometheus's data volume. Templates see it as [`StorageView`], with the retention size
/// in Prometheus's units.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", into = "StorageView")]
pub struct Storage {
    /// The kind of volume.
    pub volume: Volume,
    /// Its size: the claim's request, or the emptyDir's limit.
    pub size: Quantity,
    /// The StorageClass of the claim; the cluster's default when absent.
    pub storage_class: Option<ObjectName>,
    /// The most the TSDB may take before its oldest blocks go
    /// (`--storage.tsdb.retention.size`); a share of `size` when absent.
    #[serde(default)]
    pub retention_size: Option<Quantity>,
}

/// The kinds of data volume.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Volume {
    /// Lost when the pod goes; needs nothing from the cluster.
    EmptyDir,
    /// A claim that a StorageClass provisions.
    PersistentVolumeClaim,
}
