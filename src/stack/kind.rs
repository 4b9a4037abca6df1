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
    /// Every kind, the cluster first.
    pub const ALL: [Self; 5] = [
        Self::Cluster,
        Self::Bookinfo,
        Self::Prometheus,
        Self::Grafana,
        Self::Linkerd,
    ];

    /// The one name a file of this kind has in a stacks directory (`grafana.yaml`).
    pub fn file_name(self) -> &'static str {
        match self {
            Self::Cluster => "cluster.yaml",
            Self::Bookinfo => "bookinfo.yaml",
            Self::Prometheus => "prometheus.yaml",
            Self::Grafana => "grafana.yaml",
            Self::Linkerd => "linkerd.yaml",
        }
    }

    /// The kind whose file is named `name`.
    pub fn of_file_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.file_name() == name)
    }

    /// The kind whose file name `name` almost is: the same but for case, or for an extension
    /// that suggests a stack file (`grafana.YAML`, `bookinfo.yml`, `Cluster.json`).
    pub fn near_miss(name: &str) -> Option<Self> {
        let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
        let lower_ext = ext.to_ascii_lowercase();
        if !matches!(lower_ext.as_str(), "yaml" | "yml" | "json") {
            return None;
        }
        Self::ALL.into_iter().find(|kind| {
            kind.file_name() != name
                && kind
                    .file_name()
                    .strip_suffix(".yaml")
                    .is_some_and(|own| own.eq_ignore_ascii_case(stem))
        })
    }

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
