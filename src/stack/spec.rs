//! The kind-specific part of a stack file (`spec:`), and what each kind asks of its namespace.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::bookinfo::BookinfoSpec;
use super::kind::StackKind;

/// A Pod Security Standards level, from strictest to most permissive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PodSecurity {
    /// Hardened pods only.
    Restricted,
    /// No known privilege escalations.
    Baseline,
    /// Anything, for pods that need host access or NET_ADMIN.
    Privileged,
}

impl PodSecurity {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Restricted => "restricted",
            Self::Baseline => "baseline",
            Self::Privileged => "privileged",
        }
    }
}

/// What a stack needs on the namespace it lives in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceMeta {
    /// The Pod Security level its pods need (`pod-security.kubernetes.io/enforce`).
    pub pod_security: PodSecurity,
    /// Labels it needs.
    pub labels: BTreeMap<String, String>,
    /// Annotations it needs.
    pub annotations: BTreeMap<String, String>,
}

impl NamespaceMeta {
    fn new(pod_security: PodSecurity) -> Self {
        Self {
            pod_security,
            labels: BTreeMap::new(),
            annotations: BTreeMap::new(),
        }
    }

    fn label(mut self, key: &str, value: &str) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }

    fn annotation(mut self, key: &str, value: &str) -> Self {
        self.annotations.insert(key.into(), value.into());
        self
    }
}

/// The Prometheus stack's settings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PrometheusSpec {}

/// The Grafana stack's settings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GrafanaSpec {}

/// The Linkerd stack's settings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LinkerdSpec {}

/// A stack's `spec:`, by kind.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Spec {
    /// Bookinfo.
    Bookinfo(BookinfoSpec),
    /// Prometheus.
    Prometheus(PrometheusSpec),
    /// Grafana.
    Grafana(GrafanaSpec),
    /// Linkerd.
    Linkerd(LinkerdSpec),
}

impl Spec {
    /// The kind of stack this spec belongs to.
    pub fn kind(&self) -> StackKind {
        match self {
            Self::Bookinfo(_) => StackKind::Bookinfo,
            Self::Prometheus(_) => StackKind::Prometheus,
            Self::Grafana(_) => StackKind::Grafana,
            Self::Linkerd(_) => StackKind::Linkerd,
        }
    }

    /// What the stack needs on its namespace, given the namespace's name.
    pub fn namespace_meta(&self, namespace: &str) -> NamespaceMeta {
        match self {
            // linkerd-init adds NET_ADMIN and NET_RAW to every meshed pod: only `privileged`
            // admits that. Unmeshed, Bookinfo's hardened pods pass `restricted`.
            Self::Bookinfo(spec) if spec.mesh => NamespaceMeta::new(PodSecurity::Privileged)
                .annotation("linkerd.io/inject", "enabled"),
            Self::Bookinfo(_) | Self::Prometheus(_) | Self::Grafana(_) => {
                NamespaceMeta::new(PodSecurity::Restricted)
            }
            Self::Linkerd(_) => NamespaceMeta::new(PodSecurity::Privileged)
                .label("linkerd.io/is-control-plane", "true")
                .label("config.linkerd.io/admission-webhooks", "disabled")
                .label("linkerd.io/control-plane-ns", namespace)
                .annotation("linkerd.io/inject", "disabled"),
        }
    }
}
