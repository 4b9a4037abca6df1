//! The Prometheus stack's settings.

use serde::{Deserialize, Serialize};

use super::fields::{Duration, ImageRef, ObjectName, Quantity};

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

/// Prometheus's data volume.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Storage {
    /// The kind of volume.
    pub volume: Volume,
    /// Its size: the claim's request, or the emptyDir's limit.
    pub size: Quantity,
    /// The StorageClass of the claim; the cluster's default when absent.
    pub storage_class: Option<ObjectName>,
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
