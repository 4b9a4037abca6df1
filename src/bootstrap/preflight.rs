//! What the stacks ask of the cluster that no apply can give, checked before bootstrap's first
//! write: a claim needs a StorageClass to provision it.

use std::fmt;

use crate::field_path::FieldPath;
use crate::k8s::storage_classes::StorageClassFacts;
use crate::k8s::{Cluster, K8sError};
use crate::source::{Location, Span};
use crate::stack::{Spec, Stack, Volume};

/// Why the cluster cannot give a stack what it asks for.
#[derive(Debug, thiserror::Error)]
pub enum PreflightError {
    /// The StorageClass the claim names does not exist.
    #[error(
        "{at}: spec.storage.storageClass: the Prometheus stack asks for a persistentVolumeClaim of StorageClass \"{class}\", which the cluster does not have ({}); name one it has, install that class's provisioner, or set `volume: emptyDir`",
        Existing(classes)
    )]
    MissingStorageClass {
        /// Where the class is named.
        at: Location,
        /// The class.
        class: String,
        /// The classes the cluster has.
        classes: Vec<StorageClassFacts>,
    },
    /// The claim names no class and no class is the default.
    #[error(
        "{at}: spec.storage.volume: the Prometheus stack asks for a persistentVolumeClaim of the cluster's default StorageClass, but no StorageClass is marked default ({}); name one in spec.storage.storageClass, mark one default (annotation storageclass.kubernetes.io/is-default-class: \"true\"), or set `volume: emptyDir`",
        Existing(classes)
    )]
    NoDefaultStorageClass {
        /// Where the volume is asked for.
        at: Location,
        /// The classes the cluster has.
        classes: Vec<StorageClassFacts>,
    },
    /// The StorageClasses could not be read.
    #[error(transparent)]
    Kube(#[from] K8sError),
}

/// The classes a cluster has, for messages.
struct Existing<'a>(&'a [StorageClassFacts]);

impl fmt::Display for Existing<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("it has no StorageClass at all");
        }
        let names: Vec<String> = self
            .0
            .iter()
            .map(|c| {
                if c.default {
                    format!("{} (default)", c.name)
                } else {
                    c.name.clone()
                }
            })
            .collect();
        write!(f, "it has {}", names.join(", "))
    }
}

/// Refuses when a stack asks for a claim that no StorageClass of the cluster would provision.
/// Reads the StorageClasses only when some stack asks for a claim.
pub async fn storage(cluster: &Cluster, stacks: &[&Stack]) -> Result<(), PreflightError> {
    let claims: Vec<&Stack> = stacks
        .iter()
        .copied()
        .filter(|stack| claim(stack).is_some())
        .collect();
    if claims.is_empty() {
        return Ok(());
    }
    let classes = cluster.storage_classes().await?;
    claims
        .into_iter()
        .try_for_each(|stack| check_storage(stack, &classes))
}

/// The StorageClass a claim asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Claim<'a> {
    /// The cluster's default one.
    Default,
    /// This one.
    Named(&'a str),
}

/// The claim `stack` asks for, if any.
fn claim(stack: &Stack) -> Option<Claim<'_>> {
    match &stack.spec {
        Spec::Prometheus(spec) if spec.storage.volume == Volume::PersistentVolumeClaim => {
            Some(match &spec.storage.storage_class {
                Some(class) => Claim::Named(class.as_str()),
                None => Claim::Default,
            })
        }
        _ => None,
    }
}

/// Whether `classes` provision the claim `stack` asks for.
pub fn check_storage(stack: &Stack, classes: &[StorageClassFacts]) -> Result<(), PreflightError> {
    let storage = FieldPath::root().key("spec").key("storage");
    match claim(stack) {
        None => Ok(()),
        Some(Claim::Named(class)) if classes.iter().any(|c| c.name == class) => Ok(()),
        Some(Claim::Named(class)) => Err(PreflightError::MissingStorageClass {
            at: locate(stack, &storage.key("storageClass")),
            class: class.to_owned(),
            classes: classes.to_vec(),
        }),
        Some(Claim::Default) if classes.iter().any(|c| c.default) => Ok(()),
        Some(Claim::Default) => Err(PreflightError::NoDefaultStorageClass {
            at: locate(stack, &storage.key("volume")),
            classes: classes.to_vec(),
        }),
    }
}

/// Where `path` is written in the stack's file (the file's start if it cannot be found).
fn locate(stack: &Stack, path: &FieldPath) -> Location {
    let span = crate::yaml::tree::parse(&stack.file)
        .ok()
        .flatten()
        .map_or(Span::new(1, 1, 1), |tree| tree.span_of(path));
    Location::new(&stack.file, span)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prometheus(storage: &str) -> crate::stack::Platform {
        let file = crate::testing::prometheus("monitoring")
            .replace("  storage:\n    volume: emptyDir\n    size: 8Gi\n", storage);
        crate::testing::load_files(&[
            ("cluster.yaml", crate::testing::cluster("[203.0.113.7/32]")),
            ("prometheus.yaml", file),
        ])
        .expect("the stacks load")
    }

    fn class(name: &str, default: bool) -> StorageClassFacts {
        StorageClassFacts {
            name: name.into(),
            default,
        }
    }

    fn check(
        platform: &crate::stack::Platform,
        classes: &[StorageClassFacts],
    ) -> Result<(), String> {
        platform
            .stacks
            .iter()
            .try_for_each(|stack| check_storage(stack, classes))
            .map_err(|err| err.to_string())
    }

    #[test]
    fn an_emptydir_needs_no_storage_class() {
        let platform = prometheus("  storage:\n    volume: emptyDir\n    size: 8Gi\n");
        assert_eq!(check(&platform, &[]), Ok(()));
    }

    #[test]
    fn a_claim_without_a_class_needs_a_default_one() {
        let platform = prometheus("  storage:\n    volume: persistentVolumeClaim\n    size: 8Gi\n");
        assert_eq!(check(&platform, &[class("gp3", true)]), Ok(()));
        let err = check(&platform, &[class("gp3", false), class("local", false)]).unwrap_err();
        assert!(
            err.starts_with("stacks/prometheus.yaml:12:13: spec.storage.volume: the Prometheus stack asks for a persistentVolumeClaim of the cluster's default StorageClass, but no StorageClass is marked default (it has gp3, local);"),
            "{err}"
        );
        let err = check(&platform, &[]).unwrap_err();
        assert!(err.contains("(it has no StorageClass at all)"), "{err}");
    }

    #[test]
    fn a_named_class_must_exist() {
        let platform = prometheus(
            "  storage:\n    volume: persistentVolumeClaim\n    size: 8Gi\n    storageClass: fast\n",
        );
        assert_eq!(check(&platform, &[class("fast", false)]), Ok(()));
        let err = check(&platform, &[class("gp3", true)]).unwrap_err();
        assert!(
            err.starts_with("stacks/prometheus.yaml:14:19: spec.storage.storageClass: the Prometheus stack asks for a persistentVolumeClaim of StorageClass \"fast\", which the cluster does not have (it has gp3 (default));"),
            "{err}"
        );
    }
}
