//! The built-in kinds obsboot renders: scope, naming rule, apply order, and a reading through
//! the k8s-openapi type that catches wrong types and fields outside the schema.

use k8s_openapi::api::admissionregistration::v1 as admission;
use k8s_openapi::api::apps::v1 as apps;
use k8s_openapi::api::batch::v1 as batch;
use k8s_openapi::api::core::v1 as core;
use k8s_openapi::api::networking::v1 as networking;
use k8s_openapi::api::policy::v1 as policy;
use k8s_openapi::api::rbac::v1 as rbac;
use k8s_openapi::api::scheduling::v1 as scheduling;
use k8s_openapi::api::storage::v1 as storage;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiextensions;
use k8s_openapi::kube_aggregator::pkg::apis::apiregistration::v1 as apiregistration;
use k8s_openapi::{ClusterResourceScope, NamespaceResourceScope, Resource};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::field_path::FieldPath;
use crate::names;

/// How the API server validates an object's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    /// RFC 1123 label.
    Label,
    /// RFC 1035 label (Services).
    Label1035,
    /// RFC 1123 subdomain.
    Subdomain,
    /// Path segment (RBAC objects).
    PathSegment,
}

impl NameRule {
    /// Checks `name` against the rule.
    pub fn check(self, name: &str) -> Result<(), String> {
        match self {
            Self::Label => names::dns_label(name),
            Self::Label1035 => names::dns1035_label(name),
            Self::Subdomain => names::dns_subdomain(name),
            Self::PathSegment => names::path_segment(name),
        }
    }
}

/// What obsboot knows about a built-in kind.
pub struct KindInfo {
    /// `group/version` (or `v1`).
    pub api_version: &'static str,
    /// The kind.
    pub kind: &'static str,
    /// Whether objects live in a namespace.
    pub namespaced: bool,
    /// The naming rule.
    pub names: NameRule,
    /// Reads the object as the typed struct: a wrong type is an error naming the field; the
    /// fields the schema does not declare are returned, which serde would otherwise drop.
    pub schema_check: fn(&Value) -> Result<Vec<FieldPath>, SchemaError>,
}

/// Scope of a k8s-openapi resource as a constant.
trait Scope {
    const NAMESPACED: bool;
}

impl Scope for NamespaceResourceScope {
    const NAMESPACED: bool = true;
}

impl Scope for ClusterResourceScope {
    const NAMESPACED: bool = false;
}

/// A value that does not fit the kind's type, with the path of the field.
pub type SchemaError = serde_path_to_error::Error<serde_json::Error>;

/// Reads `value` as `T`, as the schema check does but without noting the fields outside
/// `T`: with the check's own deserializer, so that each kind's reader is compiled once.
pub fn read<T: DeserializeOwned>(value: &Value) -> Option<T> {
    let note: &mut dyn FnMut(serde_ignored::Path<'_>) = &mut |_| {};
    serde_ignored::deserialize::<_, _, T>(value, note).ok()
}

fn schema_check<T: DeserializeOwned>(value: &Value) -> Result<Vec<FieldPath>, SchemaError> {
    let mut unknown = Vec::new();
    let checked = {
        // One callback type for every kind. A closure would be a type of its own for each
        // kind, and so would every deserializer it is passed down through: each kind would
        // compile its own copy of ObjectMeta's, PodSpec's, … (a third of this crate's code).
        let mut note = |path: serde_ignored::Path<'_>| unknown.push(field_path(&path));
        let note: &mut dyn FnMut(serde_ignored::Path<'_>) = &mut note;
        serde_ignored::deserialize::<_, _, T>(value, note).map(drop)
    };
    match checked {
        Ok(()) => Ok(unknown),
        // Only to name the field: the fast path above does not track where it is. Straight
        // to path tracking: trying the plain way first, as `from_value` does, would compile a
        // third deserializer of every kind's type only to fail again.
        Err(_) => serde_path_to_error::deserialize::<_, T>(value).map(|_| unknown),
    }
}

/// A serde_ignored path as a field path.
fn field_path(path: &serde_ignored::Path<'_>) -> FieldPath {
    use serde_ignored::Path;
    match path {
        Path::Root => FieldPath::root(),
        Path::Seq { parent, index } => field_path(parent).index(*index),
        Path::Map { parent, key } => field_path(parent).key(key),
        Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => field_path(parent),
    }
}

macro_rules! kinds {
    ($($ty:ty => $rule:ident),* $(,)?) => {
        &[$(KindInfo {
            api_version: <$ty as Resource>::API_VERSION,
            kind: <$ty as Resource>::KIND,
            namespaced: <<$ty as Resource>::Scope as Scope>::NAMESPACED,
            names: NameRule::$rule,
            schema_check: schema_check::<$ty>,
        }),*]
    };
}

/// The built-in kinds, in the order Helm installs them (namespaces and policies first,
/// identities and configuration, storage, CRDs and RBAC, services, workloads, webhooks last).
static KINDS: &[KindInfo] = kinds![
    scheduling::PriorityClass => Subdomain,
    core::Namespace => Label,
    networking::NetworkPolicy => Subdomain,
    core::ResourceQuota => Subdomain,
    core::LimitRange => Subdomain,
    policy::PodDisruptionBudget => Subdomain,
    core::ServiceAccount => Subdomain,
    core::Secret => Subdomain,
    core::ConfigMap => Subdomain,
    storage::StorageClass => Subdomain,
    core::PersistentVolume => Subdomain,
    core::PersistentVolumeClaim => Subdomain,
    apiextensions::CustomResourceDefinition => Subdomain,
    rbac::ClusterRole => PathSegment,
    rbac::ClusterRoleBinding => PathSegment,
    rbac::Role => PathSegment,
    rbac::RoleBinding => PathSegment,
    core::Service => Label1035,
    apps::DaemonSet => Subdomain,
    core::Pod => Subdomain,
    apps::Deployment => Subdomain,
    apps::StatefulSet => Subdomain,
    batch::Job => Subdomain,
    batch::CronJob => Subdomain,
    networking::IngressClass => Subdomain,
    networking::Ingress => Subdomain,
    apiregistration::APIService => Subdomain,
    admission::MutatingWebhookConfiguration => Subdomain,
    admission::ValidatingWebhookConfiguration => Subdomain,
];

/// The built-in kind `kind` served as `api_version`, and its apply rank.
pub fn builtin(api_version: &str, kind: &str) -> Option<(usize, &'static KindInfo)> {
    KINDS
        .iter()
        .enumerate()
        .find(|(_, info)| info.api_version == api_version && info.kind == kind)
}

/// The `apiVersion` under which a built-in `kind` is served, for "did you mean" hints.
pub fn served_as(kind: &str) -> Option<&'static str> {
    KINDS
        .iter()
        .find(|info| info.kind == kind)
        .map(|info| info.api_version)
}

/// The apply rank of custom resources: after every built-in kind.
pub const CUSTOM_RANK: usize = KINDS.len();

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn knows_scope_rule_and_order() {
        let (namespace_rank, namespace) = builtin("v1", "Namespace").unwrap();
        assert!(!namespace.namespaced);
        assert_eq!(namespace.names, NameRule::Label);
        let (deployment_rank, deployment) = builtin("apps/v1", "Deployment").unwrap();
        assert!(deployment.namespaced);
        let (service_rank, _) = builtin("v1", "Service").unwrap();
        assert!(namespace_rank < service_rank && service_rank < deployment_rank);
        assert!(builtin("extensions/v1beta1", "Deployment").is_none());
        assert_eq!(served_as("Deployment"), Some("apps/v1"));
        assert_eq!(
            builtin("rbac.authorization.k8s.io/v1", "ClusterRole")
                .unwrap()
                .1
                .names,
            NameRule::PathSegment
        );
    }

    #[test]
    fn reveals_unknown_fields() {
        let (_, info) = builtin("v1", "Service").unwrap();
        let original = json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "a", "labelz": {"x": "y"}, "annotations": null},
            "spec": {"ports": [{"port": 80, "protocoll": "TCP"}], "selector": {"app": "a"}}
        });
        let unknown: Vec<String> = (info.schema_check)(&original)
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(unknown, ["metadata.labelz", "spec.ports[0].protocoll"]);
    }

    /// Fields deep inside a CRD's schema are checked too.
    #[test]
    fn reveals_unknown_fields_in_crd_schemas() {
        let (_, info) = builtin("apiextensions.k8s.io/v1", "CustomResourceDefinition").unwrap();
        let crd = json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "xs.example.com"},
            "spec": {"group": "example.com", "scope": "Namespaced",
                "names": {"kind": "X", "plural": "xs"},
                "versions": [{"name": "v1", "served": true, "storage": true,
                    "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                        "spec": {"type": "object", "additionalProperties": {"type": "string", "maxLenght": 3}},
                        "list": {"type": "array", "items": {"type": "string", "patern": "x"}}}}}}]}
        });
        let unknown: Vec<String> = (info.schema_check)(&crd)
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            unknown,
            [
                "spec.versions[0].schema.openAPIV3Schema.properties.list.items.patern",
                "spec.versions[0].schema.openAPIV3Schema.properties.spec.additionalProperties.maxLenght",
            ]
        );
    }

    #[test]
    fn type_errors_name_the_field() {
        let (_, info) = builtin("apps/v1", "Deployment").unwrap();
        let bad = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "a"}, "spec": {"replicas": "one", "selector": {}, "template": {}}});
        let err = (info.schema_check)(&bad).unwrap_err();
        assert_eq!(err.path().to_string(), "spec.replicas");
    }
}
