//! Reading and server-side applying one object: one field manager, strict field validation,
//! conflicts surfaced with the field and its owner, never forced unless asked.

use kube::api::{DynamicObject, Patch, PatchParams};

use super::client::Cluster;
use super::error::{ApiFailure, Conflict, K8sError};
use super::retry;
use crate::render::{MANAGED_BY, MANAGER, Object, ObjectKey};

/// How to apply.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApplyMode {
    /// Take over fields another manager owns (`--force-conflicts`).
    pub force: bool,
    /// Ask the API server what would happen, changing nothing.
    pub dry_run: bool,
}

/// Whether an object with `metadata` carries obsboot's ownership label.
pub fn is_ours(metadata: &kube::api::ObjectMeta) -> bool {
    metadata
        .labels
        .as_ref()
        .and_then(|labels| labels.get(MANAGED_BY))
        .is_some_and(|value| value == MANAGER)
}

/// Whether the API server's messages about `key` may quote secret values.
pub fn is_secret(key: &ObjectKey) -> bool {
    key.group.is_empty() && key.kind == "Secret"
}

impl Cluster {
    /// The live object, if it exists.
    pub async fn get(&self, object: &Object) -> Result<Option<DynamicObject>, K8sError> {
        let api = self.api(object.api_version(), &object.key)?;
        retry::read(&format!("read {}", object.key), || {
            api.get_opt(&object.key.name)
        })
        .await
        .map_err(|err| K8sError::Get {
            object: object.key.to_string(),
            source: ApiFailure::from_kube(&err, is_secret(&object.key)),
        })
    }

    /// Server-side applies `object` as obsboot and returns what the API server stored.
    pub async fn apply(&self, object: &Object, mode: ApplyMode) -> Result<DynamicObject, K8sError> {
        if !mode.dry_run {
            self.writable()?;
        }
        let api = self.api(object.api_version(), &object.key)?;
        let mut params = PatchParams::apply(MANAGER).validation_strict();
        params.force = mode.force;
        params.dry_run = mode.dry_run;
        let patch = Patch::Apply(&object.value);
        retry::idempotent(&format!("apply {}", object.key), || {
            api.patch(&object.key.name, &params, &patch)
        })
        .await
        .map_err(|err| apply_error(&object.key, &err))
    }
}

/// A conflict names the fields and their managers; anything else what the server said.
fn apply_error(key: &ObjectKey, err: &kube::Error) -> K8sError {
    if let kube::Error::Api(status) = err
        && status.code == 409
    {
        let conflicts = conflicts(status);
        if !conflicts.is_empty() {
            return K8sError::Conflict {
                object: key.to_string(),
                conflicts,
            };
        }
    }
    K8sError::Apply {
        object: key.to_string(),
        source: ApiFailure::from_kube(err, is_secret(key)),
    }
}

/// The `FieldManagerConflict` causes of a 409: `conflict with "kubectl-edit" using apps/v1`.
fn conflicts(status: &kube::core::Status) -> Vec<Conflict> {
    let Some(details) = &status.details else {
        return Vec::new();
    };
    details
        .causes
        .iter()
        .filter(|cause| cause.reason == "FieldManagerConflict")
        .map(|cause| Conflict {
            field: cause.field.clone(),
            manager: cause
                .message
                .split('"')
                .nth(1)
                .unwrap_or(&cause.message)
                .to_owned(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ObjectKey {
        ObjectKey {
            group: "apps".into(),
            kind: "Deployment".into(),
            namespace: Some("bookinfo".into()),
            name: "productpage-v1".into(),
        }
    }

    #[test]
    fn a_conflict_names_the_field_its_manager_and_the_way_out() {
        let status: kube::core::Status = serde_json::from_value(serde_json::json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "Apply failed with 1 conflict: conflict with \"kubectl-edit\" using apps/v1: .spec.replicas",
            "reason": "Conflict", "code": 409,
            "details": {"causes": [{"reason": "FieldManagerConflict", "message": "conflict with \"kubectl-edit\" using apps/v1", "field": ".spec.replicas"}]}
        }))
        .unwrap();
        let err = apply_error(&key(), &kube::Error::Api(Box::new(status)));
        assert_eq!(
            err.to_string(),
            "failed to apply Deployment bookinfo/productpage-v1: a field is owned by another field manager (.spec.replicas by \"kubectl-edit\"); re-run with --force-conflicts to take them over, or undo the other change"
        );
    }

    #[test]
    fn other_failures_keep_the_servers_words_except_for_secrets() {
        let status: kube::core::Status = serde_json::from_value(serde_json::json!({
            "status": "Failure", "message": "data[x]: Invalid value: \"s3cret\"", "reason": "Invalid", "code": 422
        }))
        .unwrap();
        let err = kube::Error::Api(Box::new(status));
        let K8sError::Apply { source, .. } = apply_error(&key(), &err) else {
            panic!("not an apply error")
        };
        assert_eq!(
            source.to_string(),
            "data[x]: Invalid value: \"s3cret\" (Invalid, HTTP 422)"
        );
        let secret = ObjectKey {
            group: String::new(),
            kind: "Secret".into(),
            namespace: Some("monitoring".into()),
            name: "grafana-admin".into(),
        };
        let K8sError::Apply { source, .. } = apply_error(&secret, &err) else {
            panic!("not an apply error")
        };
        assert!(!source.to_string().contains("s3cret"));
    }
}
