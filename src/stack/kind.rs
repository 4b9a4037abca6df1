//! The kinds of stack files, and the order in which their stacks are applied.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::plan::Phase;

/// The `kind:` of a file in the stacks directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum FileKind {
    /// `cluster.yaml`: the cluster itself.
    Cluster,
    /// The Bookinfo demo application.
    Bookinfo,
    /// Prometheus with kube-state-metrics and node-exporter.
    Prometheus,
    /// Grafana with its datasource and dashboards.
    Grafana,
    /// The Linkerd service mesh.
    Linkerd,
}

impl FileKind {
    /// The stack kind, or `None` for the cluster file.
    pub fn stack(self) -> Option<StackKind> {
        match self {
            Self::Cluster => None,
            Self::Bookinfo => Some(StackKind::Bookinfo),
            Self::Prometheus => Some(StackKind::Prometheus),
            Self::Grafana => Some(StackKind::Grafana),
            Self::Linkerd => Some(StackKind::Linkerd),
        }
    }
}

/// A stack kind. Each appears at most once, so its lower-case name names the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StackKind {
    /// Linkerd: CRDs and control plane; everything meshed depends on it.
    Linkerd,
    /// Prometheus, kube-state-metrics, node-exporter.
    Prometheus,
    /// Grafana.
    Grafana,
    /// The Bookinfo application, meshed by Linkerd.
    Bookinfo,
}

impl StackKind {
    /// Every kind, in apply order.
    pub const ALL: [Self; 4] = [
        Self::Linkerd,
        Self::Prometheus,
        Self::Grafana,
        Self::Bookinfo,
    ];

    /// The stack's name: label value, file name, `--stack` argument.
    pub fn name(self) -> &'static str {
        match self {
            Self::Linkerd => "linkerd",
            Self::Prometheus => "prometheus",
            Self::Grafana => "grafana",
            Self::Bookinfo => "bookinfo",
        }
    }

    /// When its objects are applied.
    pub fn phase(self) -> Phase {
        match self {
            Self::Linkerd => Phase::Mesh,
            Self::Prometheus | Self::Grafana => Phase::Monitoring,
            Self::Bookinfo => Phase::Apps,
        }
    }
}

impl fmt::Display for StackKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
