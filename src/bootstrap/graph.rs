//! The order bootstrap applies a plan in, as data: the objects fall into groups, and
//! [`NEEDS`] says what each group needs before it starts. A group starts as soon as what it
//! needs is done, so groups that do not depend on each other run at the same time
//! (monitoring beside Linkerd; Linkerd's destination and injector beside its identity, whose
//! certificates their proxies wait for themselves, as after upstream's single `kubectl
//! apply`). Only the meshed applications wait for the proxy-injector to serve.
//!
//! [`Schedule`] is the bookkeeping alone, without a cluster: what may start now, given what
//! has been applied and what is ready.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::plan::Phase as StackPhase;
use crate::render::Object;

/// The Deployment every meshed proxy, the control plane's own included, needs first.
pub const IDENTITY: &str = "linkerd-identity";
/// The Deployment and Service of the webhook that adds proxies to new pods.
pub const INJECTOR: &str = "linkerd-proxy-injector";

/// A group of objects applied together, then waited for together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Group {
    /// Namespaces and CRDs; ready once the CRDs are Established and discovery refreshed.
    Foundation,
    /// The Secrets bootstrap generates (created once, then reused).
    Secrets,
    /// Linkerd's configuration, RBAC, Services, webhooks, and the identity Deployment.
    #[serde(rename = "linkerd-identity")]
    Identity,
    /// Linkerd's other Deployments (destination, proxy-injector).
    #[serde(rename = "linkerd-control-plane")]
    ControlPlane,
    /// No objects: ready once the proxy-injector's Service has a ready endpoint.
    #[serde(rename = "linkerd-proxy-injector")]
    Injector,
    /// Prometheus and Grafana.
    Monitoring,
    /// Bookinfo; ready once its pods are ready and each carries its proxy.
    #[serde(rename = "applications")]
    Apps,
}

/// What a group needs of another before it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Need {
    /// Its objects applied (they exist in the cluster).
    Applied(Group),
    /// Its objects applied and ready.
    Ready(Group),
}

use Group::{Apps, ControlPlane, Foundation, Identity, Injector, Monitoring, Secrets};
use Need::{Applied, Ready};

/// What each group needs before it starts: the one place bootstrap's order comes from. A
/// group that holds custom resources also needs [`Ready`]`(`[`Foundation`]`)`, their CRDs
/// served (see [`needs`]).
pub const NEEDS: [(Group, &[Need]); 7] = [
    (Foundation, &[]),
    // Secrets live in the namespaces.
    (Secrets, &[Applied(Foundation)]),
    // Identity mounts the issuer Secret; the webhook configurations trust the generated
    // serving certificates.
    (Identity, &[Applied(Foundation), Applied(Secrets)]),
    // Their pods run under identity's ServiceAccounts and read linkerd-config; their proxies
    // wait for identity's certificate on their own. The destination's policy controller
    // watches Linkerd's custom resources: their CRDs must be served.
    (ControlPlane, &[Ready(Foundation), Applied(Identity)]),
    // The injector serves once its Deployment's pods are ready.
    (Injector, &[Applied(ControlPlane)]),
    // Grafana's admin password is a generated Secret.
    (Monitoring, &[Applied(Foundation), Applied(Secrets)]),
    // The injector's webhook fails open: a pod created before it serves starts unmeshed.
    (
        Apps,
        &[Applied(Foundation), Applied(Secrets), Ready(Injector)],
    ),
];

impl Group {
    /// Every group, in the order of [`NEEDS`] (the order groups start in when they could
    /// start together).
    pub const ALL: [Self; 7] = [
        Foundation,
        Secrets,
        Identity,
        ControlPlane,
        Injector,
        Monitoring,
        Apps,
    ];

    /// What the progress lines call it.
    pub fn title(self) -> &'static str {
        match self {
            Foundation => "namespaces and CRDs",
            Secrets => "generated secrets",
            Identity => "Linkerd identity",
            ControlPlane => "Linkerd control plane",
            Injector => "Linkerd proxy-injector",
            Monitoring => "monitoring",
            Apps => "applications",
        }
    }

    /// The group `object` belongs to. (Secrets are not rendered objects; the injector group
    /// holds none.)
    pub fn of(object: &Object) -> Self {
        let key = &object.key;
        match (key.group.as_str(), key.kind.as_str()) {
            ("", "Namespace") | ("apiextensions.k8s.io", "CustomResourceDefinition") => {
                return Foundation;
            }
            _ => {}
        }
        match object.stack.phase() {
            StackPhase::Mesh if is_workload(object) && key.name != IDENTITY => ControlPlane,
            StackPhase::Mesh => Identity,
            StackPhase::Monitoring => Monitoring,
            StackPhase::Apps => Apps,
        }
    }
}

/// What `group` needs, from [`NEEDS`], and the CRDs served when `objects` (the group's)
/// hold a custom resource of a kind `crd_groups` (the API groups of the planned CRDs) serve.
pub fn needs(group: Group, objects: &[&Object], crd_groups: &BTreeSet<&str>) -> Vec<Need> {
    let mut needs: Vec<Need> = NEEDS
        .iter()
        .find(|(g, _)| *g == group)
        .map(|(_, needs)| needs.to_vec())
        .unwrap_or_default();
    let custom = objects
        .iter()
        .any(|o| crd_groups.contains(o.key.group.as_str()));
    if custom && group != Foundation && !needs.contains(&Ready(Foundation)) {
        needs.retain(|n| *n != Applied(Foundation));
        needs.push(Ready(Foundation));
    }
    needs
}

/// Whether `object` runs pods.
pub fn is_workload(object: &Object) -> bool {
    matches!(
        (object.key.group.as_str(), object.key.kind.as_str()),
        ("apps", "Deployment" | "DaemonSet" | "StatefulSet") | ("batch", "Job" | "CronJob")
    )
}

/// Which groups have started, been applied and turned ready. A group with no work counts
/// as done from the start, so what needs it does not wait.
#[derive(Debug, Clone)]
pub struct Schedule {
    needs: BTreeMap<Group, Vec<Need>>,
    started: BTreeSet<Group>,
    applied: BTreeSet<Group>,
    ready: BTreeSet<Group>,
}

impl Schedule {
    /// A schedule of the groups in `work`, each with what it needs.
    pub fn new(work: BTreeMap<Group, Vec<Need>>) -> Self {
        let idle: BTreeSet<Group> = Group::ALL
            .into_iter()
            .filter(|g| !work.contains_key(g))
            .collect();
        Self {
            needs: work,
            started: idle.clone(),
            applied: idle.clone(),
            ready: idle,
        }
    }

    /// The groups with work, in [`Group::ALL`]'s order.
    pub fn groups(&self) -> impl Iterator<Item = Group> + '_ {
        self.needs.keys().copied()
    }

    /// What `group` needs (nothing for a group without work).
    pub fn needs(&self, group: Group) -> &[Need] {
        self.needs.get(&group).map_or(&[], Vec::as_slice)
    }

    /// The groups that may start now and have not; each is marked started.
    pub fn start(&mut self) -> Vec<Group> {
        let can: Vec<Group> = self
            .needs
            .iter()
            .filter(|(group, needs)| {
                !self.started.contains(group)
                    && needs.iter().all(|need| match need {
                        Applied(g) => self.applied.contains(g),
                        Ready(g) => self.ready.contains(g),
                    })
            })
            .map(|(group, _)| *group)
            .collect();
        self.started.extend(&can);
        can
    }

    /// `group`'s objects are applied.
    pub fn applied(&mut self, group: Group) {
        self.applied.insert(group);
    }

    /// `group` is ready (and so applied).
    pub fn ready(&mut self, group: Group) {
        self.applied.insert(group);
        self.ready.insert(group);
    }

    /// Whether every group is ready.
    pub fn done(&self) -> bool {
        self.needs.keys().all(|g| self.ready.contains(g))
    }

    /// The groups that started and are not ready yet.
    pub fn under_way(&self) -> Vec<Group> {
        self.needs
            .keys()
            .copied()
            .filter(|g| self.started.contains(g) && !self.ready.contains(g))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::{Slots, TemplateSet, render};
    use crate::stack::StackSource;

    fn default_plan() -> crate::plan::Plan {
        let platform = StackSource::Embedded.load().unwrap();
        let selected = platform.select(&[]).unwrap();
        render(
            &platform,
            &selected,
            &TemplateSet::embedded(),
            &Slots::default(),
        )
        .unwrap()
    }

    fn all_needs() -> BTreeMap<Group, Vec<Need>> {
        NEEDS
            .iter()
            .map(|(group, needs)| (*group, needs.to_vec()))
            .collect()
    }

    #[test]
    fn the_table_names_every_group_once_in_order_and_needs_only_earlier_ones() {
        let groups: Vec<Group> = NEEDS.iter().map(|(g, _)| *g).collect();
        assert_eq!(groups, Group::ALL);
        for (index, (group, needs)) in NEEDS.iter().enumerate() {
            for need in *needs {
                let (Applied(other) | Ready(other)) = need;
                let at = Group::ALL.iter().position(|g| g == other).unwrap();
                assert!(at < index, "{group:?} needs {other:?}, which comes later");
            }
        }
    }

    #[test]
    fn monitoring_runs_beside_linkerd_and_the_applications_wait_for_the_injector() {
        let mut schedule = Schedule::new(all_needs());
        assert_eq!(schedule.start(), [Foundation]);
        schedule.applied(Foundation);
        assert_eq!(schedule.start(), [Secrets]);
        schedule.ready(Secrets);
        assert_eq!(schedule.start(), [Identity, Monitoring]);
        schedule.applied(Identity);
        // The destination's policy controller needs the CRDs served.
        assert_eq!(schedule.start(), Vec::<Group>::new());
        schedule.ready(Foundation);
        assert_eq!(schedule.start(), [ControlPlane]);
        schedule.applied(ControlPlane);
        assert_eq!(schedule.start(), [Injector]);
        schedule.ready(Monitoring);
        schedule.ready(ControlPlane);
        assert_eq!(
            schedule.start(),
            Vec::<Group>::new(),
            "the injector not serving"
        );
        assert_eq!(schedule.under_way(), [Identity, Injector]);
        schedule.ready(Injector);
        assert_eq!(schedule.start(), [Apps]);
        schedule.ready(Identity);
        assert!(!schedule.done());
        schedule.ready(Apps);
        assert!(schedule.done());
    }

    #[test]
    fn a_group_without_work_holds_nothing_up() {
        let mut work = all_needs();
        for idle in [Identity, ControlPlane, Injector] {
            work.remove(&idle);
        }
        let mut schedule = Schedule::new(work);
        assert_eq!(schedule.start(), [Foundation]);
        schedule.applied(Foundation);
        assert_eq!(schedule.start(), [Secrets]);
        schedule.ready(Secrets);
        assert_eq!(schedule.start(), [Monitoring, Apps]);
    }

    #[test]
    fn custom_resources_wait_for_their_crds_to_be_served() {
        let plan = default_plan();
        let apps: Vec<&Object> = plan
            .objects
            .iter()
            .filter(|o| Group::of(o) == Apps)
            .collect();
        let none = BTreeSet::new();
        assert_eq!(
            needs(Apps, &apps, &none),
            [Applied(Foundation), Applied(Secrets), Ready(Injector)]
        );
        let served: BTreeSet<&str> = ["apps"].into();
        assert_eq!(
            needs(Apps, &apps, &served),
            [Applied(Secrets), Ready(Injector), Ready(Foundation)]
        );
    }

    #[test]
    fn the_default_plan_falls_into_groups_with_identity_apart_from_the_rest_of_linkerd() {
        let plan = default_plan();
        let mut groups: BTreeMap<Group, Vec<String>> = BTreeMap::new();
        for object in &plan.objects {
            groups
                .entry(Group::of(object))
                .or_default()
                .push(object.key.to_string());
        }
        let workloads = |group| {
            groups[&group]
                .iter()
                .filter(|k| k.starts_with("Deployment") || k.starts_with("DaemonSet"))
                .cloned()
                .collect::<Vec<_>>()
        };
        assert_eq!(workloads(Identity), ["Deployment linkerd/linkerd-identity"]);
        assert_eq!(
            workloads(ControlPlane),
            [
                "Deployment linkerd/linkerd-destination",
                "Deployment linkerd/linkerd-proxy-injector"
            ]
        );
        assert!(
            groups[&Foundation]
                .iter()
                .all(|k| k.starts_with("Namespace") || k.starts_with("CustomResourceDefinition"))
        );
        assert_eq!(groups[&Foundation].len(), 4 + 12);
        assert!(groups[&Identity].contains(
            &"MutatingWebhookConfiguration linkerd-proxy-injector-webhook-config".to_owned()
        ));
        assert_eq!(workloads(Apps).len(), 6);
        assert!(!groups.contains_key(&Secrets) && !groups.contains_key(&Injector));
    }
}
