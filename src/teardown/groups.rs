//! The order teardown deletes in: the reverse of bootstrap, webhooks before the control plane
//! that serves them (so that no API request waits on a webhook that is going away), the
//! generated Secrets after the pods that mount them, CRDs and namespaces last.

use serde::Serialize;

use crate::k8s::inventory::Entry;

/// A group of objects deleted, and awaited, together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Group {
    /// Bookinfo.
    Apps,
    /// Prometheus and Grafana.
    Monitoring,
    /// Linkerd's admission webhooks.
    Webhooks,
    /// The rest of Linkerd.
    ControlPlane,
    /// The generated Secrets.
    Secrets,
    /// CRDs.
    Crds,
    /// Namespaces.
    Namespaces,
}

impl Group {
    /// Every group, in deletion order.
    pub const ALL: [Self; 7] = [
        Self::Apps,
        Self::Monitoring,
        Self::Webhooks,
        Self::ControlPlane,
        Self::Secrets,
        Self::Crds,
        Self::Namespaces,
    ];

    /// What the progress lines call it.
    pub fn title(self) -> &'static str {
        match self {
            Self::Apps => "applications",
            Self::Monitoring => "monitoring",
            Self::Webhooks => "Linkerd webhooks",
            Self::ControlPlane => "Linkerd control plane",
            Self::Secrets => "generated secrets",
            Self::Crds => "CRDs",
            Self::Namespaces => "namespaces",
        }
    }

    /// The group of `entry`.
    pub fn of(entry: &Entry) -> Self {
        let group = entry.api_version.rsplit_once('/').map_or("", |(g, _)| g);
        match (group, entry.kind.as_str(), entry.stack.as_str()) {
            ("", "Namespace", _) => Self::Namespaces,
            ("apiextensions.k8s.io", "CustomResourceDefinition", _) => Self::Crds,
            ("", "Secret", _) => Self::Secrets,
            (
                "admissionregistration.k8s.io",
                "MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration",
                _,
            ) => Self::Webhooks,
            (_, _, "linkerd") => Self::ControlPlane,
            (_, _, "prometheus" | "grafana") => Self::Monitoring,
            _ => Self::Apps,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(api_version: &str, kind: &str, stack: &str) -> Entry {
        Entry {
            api_version: api_version.into(),
            kind: kind.into(),
            namespace: None,
            name: "x".into(),
            stack: stack.into(),
        }
    }

    #[test]
    fn webhooks_go_before_the_control_plane_and_namespaces_last() {
        let cases = [
            (entry("apps/v1", "Deployment", "bookinfo"), Group::Apps),
            (entry("v1", "ConfigMap", "grafana"), Group::Monitoring),
            (
                entry(
                    "admissionregistration.k8s.io/v1",
                    "MutatingWebhookConfiguration",
                    "linkerd",
                ),
                Group::Webhooks,
            ),
            (
                entry("apps/v1", "Deployment", "linkerd"),
                Group::ControlPlane,
            ),
            (entry("v1", "Secret", "linkerd"), Group::Secrets),
            (
                entry(
                    "apiextensions.k8s.io/v1",
                    "CustomResourceDefinition",
                    "linkerd",
                ),
                Group::Crds,
            ),
            (entry("v1", "Namespace", "bookinfo"), Group::Namespaces),
        ];
        for (entry, group) in cases {
            assert_eq!(Group::of(&entry), group, "{entry:?}");
        }
        let mut sorted = Group::ALL;
        sorted.sort();
        assert_eq!(sorted, Group::ALL);
    }
}
