//! The order bootstrap applies a plan in, each phase waiting for the one before to be ready:
//! namespaces and CRDs; the generated Secrets; Linkerd's identity (everyone meshed gets its
//! certificate from it); the rest of Linkerd's control plane, until the proxy-injector serves;
//! monitoring; the applications, which must be created only once the injector serves.

use serde::Serialize;

use crate::plan::Phase as StackPhase;
use crate::render::Object;

/// The Deployment every meshed proxy, the control plane's own included, needs first.
pub const IDENTITY: &str = "linkerd-identity";
/// The Deployment and Service of the webhook that adds proxies to new pods.
pub const INJECTOR: &str = "linkerd-proxy-injector";

/// A bootstrap phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Namespaces and CRDs; then CRDs Established and discovery refreshed.
    Foundation,
    /// The Secrets bootstrap generates (created once, then reused).
    Secrets,
    /// Linkerd's configuration, RBAC, Services, webhooks, and the identity Deployment.
    Identity,
    /// Linkerd's other Deployments; done when the proxy-injector serves.
    ControlPlane,
    /// Prometheus and Grafana.
    Monitoring,
    /// Bookinfo.
    Apps,
}

impl Phase {
    /// Every phase, in order.
    pub const ALL: [Self; 6] = [
        Self::Foundation,
        Self::Secrets,
        Self::Identity,
        Self::ControlPlane,
        Self::Monitoring,
        Self::Apps,
    ];

    /// What the progress lines call it.
    pub fn title(self) -> &'static str {
        match self {
            Self::Foundation => "namespaces and CRDs",
            Self::Secrets => "generated secrets",
            Self::Identity => "Linkerd identity",
            Self::ControlPlane => "Linkerd control plane",
            Self::Monitoring => "monitoring",
            Self::Apps => "applications",
        }
    }

    /// The phase `object` belongs to. (Secrets are not rendered objects.)
    pub fn of(object: &Object) -> Self {
        let key = &object.key;
        match (key.group.as_str(), key.kind.as_str()) {
            ("", "Namespace") | ("apiextensions.k8s.io", "CustomResourceDefinition") => {
                return Self::Foundation;
            }
            _ => {}
        }
        match object.stack.phase() {
            StackPhase::Mesh if is_workload(object) && key.name != IDENTITY => Self::ControlPlane,
            StackPhase::Mesh => Self::Identity,
            StackPhase::Monitoring => Self::Monitoring,
            StackPhase::Apps => Self::Apps,
        }
    }
}

/// Whether `object` runs pods.
pub fn is_workload(object: &Object) -> bool {
    matches!(
        (object.key.group.as_str(), object.key.kind.as_str()),
        ("apps", "Deployment" | "DaemonSet" | "StatefulSet") | ("batch", "Job" | "CronJob")
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::render::{Slots, TemplateSet, render};
    use crate::stack::StackSource;

    #[test]
    fn the_default_plan_splits_into_phases_with_identity_before_the_rest_of_linkerd() {
        let platform = StackSource::Embedded.load().unwrap();
        let selected = platform.select(&[]).unwrap();
        let plan = render(
            &platform,
            &selected,
            &TemplateSet::embedded(),
            &Slots::default(),
        )
        .unwrap();
        let mut phases: BTreeMap<Phase, Vec<String>> = BTreeMap::new();
        for object in &plan.objects {
            phases
                .entry(Phase::of(object))
                .or_default()
                .push(object.key.to_string());
        }
        let workloads = |phase| {
            phases[&phase]
                .iter()
                .filter(|k| k.starts_with("Deployment") || k.starts_with("DaemonSet"))
                .cloned()
                .collect::<Vec<_>>()
        };
        assert_eq!(
            workloads(Phase::Identity),
            ["Deployment linkerd/linkerd-identity"]
        );
        assert_eq!(
            workloads(Phase::ControlPlane),
            [
                "Deployment linkerd/linkerd-destination",
                "Deployment linkerd/linkerd-proxy-injector"
            ]
        );
        assert!(
            phases[&Phase::Foundation]
                .iter()
                .all(|k| k.starts_with("Namespace") || k.starts_with("CustomResourceDefinition"))
        );
        assert_eq!(phases[&Phase::Foundation].len(), 4 + 12);
        assert!(phases[&Phase::Identity].contains(
            &"MutatingWebhookConfiguration linkerd-proxy-injector-webhook-config".to_owned()
        ));
        assert_eq!(workloads(Phase::Apps).len(), 6);
        assert!(!phases.contains_key(&Phase::Secrets));
    }
}
