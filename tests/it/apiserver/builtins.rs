//! The built-in resource types of a v1.33 cluster that obsboot and its tests touch, as
//! discovery lists them.

use std::sync::OnceLock;

use super::catalog::{ResourceType, Verbs};
use super::validation::NameRule;

/// (group, version, kind, plural, namespaced, status, generation, short names, in "all")
type Row = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    bool,
    bool,
    bool,
    &'static [&'static str],
    bool,
);

/// Namespaced.
const N: bool = true;
/// Cluster-scoped.
const C: bool = false;

/// The built-in types.
#[rustfmt::skip]
const BUILTIN: &[Row] = &[
    ("", "v1", "Namespace", "namespaces", C, true, false, &["ns"], false),
    ("", "v1", "Node", "nodes", C, true, false, &["no"], false),
    ("", "v1", "Pod", "pods", N, true, false, &["po"], true),
    ("", "v1", "Service", "services", N, true, false, &["svc"], true),
    ("", "v1", "Endpoints", "endpoints", N, false, false, &["ep"], false),
    ("", "v1", "ConfigMap", "configmaps", N, false, false, &["cm"], false),
    ("", "v1", "Secret", "secrets", N, false, false, &[], false),
    ("", "v1", "ServiceAccount", "serviceaccounts", N, false, false, &["sa"], false),
    ("", "v1", "Event", "events", N, false, false, &["ev"], false),
    ("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", N, true, false, &["pvc"], false),
    ("", "v1", "PersistentVolume", "persistentvolumes", C, true, false, &["pv"], false),
    ("", "v1", "ResourceQuota", "resourcequotas", N, true, false, &["quota"], false),
    ("", "v1", "LimitRange", "limitranges", N, false, false, &["limits"], false),
    ("apps", "v1", "Deployment", "deployments", N, true, true, &["deploy"], true),
    ("apps", "v1", "DaemonSet", "daemonsets", N, true, true, &["ds"], true),
    ("apps", "v1", "StatefulSet", "statefulsets", N, true, true, &["sts"], true),
    ("apps", "v1", "ReplicaSet", "replicasets", N, true, true, &["rs"], true),
    ("apps", "v1", "ControllerRevision", "controllerrevisions", N, false, false, &[], false),
    ("batch", "v1", "Job", "jobs", N, true, true, &[], true),
    ("batch", "v1", "CronJob", "cronjobs", N, true, true, &["cj"], true),
    ("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", N, true, true, &["hpa"], true),
    ("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", C, false, false, &[], false),
    ("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", C, false, false, &[], false),
    ("rbac.authorization.k8s.io", "v1", "Role", "roles", N, false, false, &[], false),
    ("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", N, false, false, &[], false),
    ("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", C, true, true, &["crd", "crds"], false),
    ("admissionregistration.k8s.io", "v1", "MutatingWebhookConfiguration", "mutatingwebhookconfigurations", C, false, true, &[], false),
    ("admissionregistration.k8s.io", "v1", "ValidatingWebhookConfiguration", "validatingwebhookconfigurations", C, false, true, &[], false),
    ("apiregistration.k8s.io", "v1", "APIService", "apiservices", C, true, false, &[], false),
    ("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", N, false, false, &[], false),
    ("coordination.k8s.io", "v1", "Lease", "leases", N, false, false, &[], false),
    ("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", N, true, true, &["pdb"], false),
    ("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", N, false, true, &["netpol"], false),
    ("networking.k8s.io", "v1", "Ingress", "ingresses", N, true, true, &["ing"], false),
    ("networking.k8s.io", "v1", "IngressClass", "ingressclasses", C, false, false, &[], false),
    ("storage.k8s.io", "v1", "StorageClass", "storageclasses", C, false, false, &["sc"], false),
    ("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", C, false, false, &["pc"], false),
    ("events.k8s.io", "v1", "Event", "events", N, false, false, &["ev"], false),
    ("authorization.k8s.io", "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews", C, false, false, &[], false),
];

/// Group order in discovery, as a v1.33 server lists them.
pub const GROUP_ORDER: &[&str] = &[
    "apiregistration.k8s.io",
    "apps",
    "events.k8s.io",
    "authorization.k8s.io",
    "autoscaling",
    "batch",
    "networking.k8s.io",
    "policy",
    "rbac.authorization.k8s.io",
    "storage.k8s.io",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "scheduling.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
];

/// The type a table row describes.
fn builtin(row: &Row) -> ResourceType {
    let &(group, version, kind, plural, namespaced, status, generation, short, all) = row;
    let names = match kind {
        "Namespace" => NameRule::Label,
        "Service" => NameRule::Label1035,
        _ if group == "rbac.authorization.k8s.io" => NameRule::PathSegment,
        _ => NameRule::Subdomain,
    };
    let verbs = match kind {
        "Namespace" => Verbs::NoCollection,
        "SelfSubjectAccessReview" => Verbs::CreateOnly,
        _ => Verbs::All,
    };
    ResourceType {
        group: group.to_owned(),
        version: version.to_owned(),
        versions: vec![version.to_owned()],
        kind: kind.to_owned(),
        plural: plural.to_owned(),
        singular: kind.to_lowercase(),
        namespaced,
        short_names: short.iter().map(|s| (*s).to_owned()).collect(),
        categories: if all {
            vec!["all".to_owned()]
        } else {
            Vec::new()
        },
        status,
        generation,
        verbs,
        names,
        custom: false,
    }
}

/// Every built-in type.
pub fn all() -> &'static [ResourceType] {
    /// Built once: lookups happen on every request.
    static TYPES: OnceLock<Vec<ResourceType>> = OnceLock::new();
    TYPES.get_or_init(|| BUILTIN.iter().map(builtin).collect())
}
