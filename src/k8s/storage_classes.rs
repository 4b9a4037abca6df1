//! The cluster's StorageClasses, for bootstrap's check that a claim can be provisioned.

use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, ListParams};

use super::error::{ApiFailure, K8sError};
use super::{Cluster, retry};

/// The annotation that marks the default StorageClass, and its pre-GA form, which Kubernetes
/// still honours (kubernetes/kubernetes
/// staging/src/k8s.io/component-helpers/storage/volume/helpers.go, `IsDefaultAnnotation`).
const DEFAULT_ANNOTATIONS: [&str; 2] = [
    "storageclass.kubernetes.io/is-default-class",
    "storageclass.beta.kubernetes.io/is-default-class",
];

/// What bootstrap needs to know of a StorageClass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageClassFacts {
    /// Its name.
    pub name: String,
    /// Whether it is marked the default, for claims that name no class.
    pub default: bool,
}

impl StorageClassFacts {
    fn of(class: &StorageClass) -> Self {
        let annotations = class.metadata.annotations.as_ref();
        Self {
            name: class.metadata.name.clone().unwrap_or_default(),
            default: DEFAULT_ANNOTATIONS.iter().any(|key| {
                annotations
                    .and_then(|all| all.get(*key))
                    .is_some_and(|value| value == "true")
            }),
        }
    }
}

impl Cluster {
    /// Every StorageClass, sorted by name.
    pub async fn storage_classes(&self) -> Result<Vec<StorageClassFacts>, K8sError> {
        let api: Api<StorageClass> = Api::all(self.client().clone());
        let params = ListParams::default();
        let list = retry::read("list storageclasses", || api.list(&params))
            .await
            .map_err(|err| K8sError::List {
                what: "storageclasses".into(),
                source: ApiFailure::from_kube(&err, false),
            })?;
        let mut classes: Vec<StorageClassFacts> =
            list.items.iter().map(StorageClassFacts::of).collect();
        classes.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(classes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(name: &str, annotations: &[(&str, &str)]) -> StorageClass {
        let mut class = StorageClass::default();
        class.metadata.name = Some(name.into());
        class.metadata.annotations = Some(
            annotations
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        );
        class
    }

    #[test]
    fn either_annotation_set_to_true_marks_the_default() {
        let default = |annotations: &[(&str, &str)]| {
            StorageClassFacts::of(&class("gp3", annotations)).default
        };
        assert!(default(&[(
            "storageclass.kubernetes.io/is-default-class",
            "true"
        )]));
        assert!(default(&[(
            "storageclass.beta.kubernetes.io/is-default-class",
            "true"
        )]));
        assert!(!default(&[(
            "storageclass.kubernetes.io/is-default-class",
            "false"
        )]));
        assert!(!default(&[(
            "storageclass.kubernetes.io/is-default-class",
            "True"
        )]));
        assert!(!default(&[]));
    }
}
