//! Deleting one object, only if it is obsboot's: a Background delete (dependents go with
//! it), where already gone is success.

use kube::api::{DeleteParams, Preconditions};

use super::apply::{is_ours, is_secret};
use super::client::Cluster;
use super::error::{ApiFailure, K8sError};
use super::retry;
use crate::render::ObjectKey;

/// What a delete found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deleted {
    /// The delete was accepted; the object may take a while to go (finalizers).
    Deleting,
    /// There was nothing to delete.
    AlreadyGone,
    /// It exists but is not obsboot's; it was left alone.
    NotOurs,
}

/// One try of a delete: done, or refused before the request because the lock is lost.
enum Step {
    Done(Deleted),
    Refused(K8sError),
}

impl Cluster {
    /// Deletes `key` (of `api_version`) if it carries obsboot's label. The delete is
    /// conditional on the uid that was checked, so a same-named object created meanwhile by
    /// someone else is never deleted.
    pub async fn delete_ours(
        &self,
        api_version: &str,
        key: &ObjectKey,
    ) -> Result<Deleted, K8sError> {
        let failed = |err: &kube::Error| K8sError::Delete {
            object: key.to_string(),
            source: ApiFailure::from_kube(err, is_secret(key)),
        };
        let api = match self.api(api_version, key) {
            Ok(api) => api,
            // The kind is not served (its CRD is gone): nothing of it can exist.
            Err(K8sError::UnknownKind { .. }) => return Ok(Deleted::AlreadyGone),
            Err(err) => return Err(err),
        };
        // Read, then delete on the uid read: a 409 (the object was replaced meanwhile) or a
        // lost answer is retried from the read.
        let outcome = retry::read(&format!("delete {key}"), || async {
            let Some(live) = api.get_opt(&key.name).await? else {
                return Ok(Step::Done(Deleted::AlreadyGone));
            };
            if !is_ours(&live.metadata) {
                return Ok(Step::Done(Deleted::NotOurs));
            }
            if live.metadata.deletion_timestamp.is_some() {
                return Ok(Step::Done(Deleted::Deleting));
            }
            let params = DeleteParams {
                preconditions: Some(Preconditions {
                    uid: live.metadata.uid.clone(),
                    resource_version: None,
                }),
                ..DeleteParams::background()
            };
            if let Err(lost) = self.writable() {
                return Ok(Step::Refused(lost));
            }
            match api.delete(&key.name, &params).await {
                Ok(_) => Ok(Step::Done(Deleted::Deleting)),
                Err(kube::Error::Api(status)) if status.code == 404 => {
                    Ok(Step::Done(Deleted::AlreadyGone))
                }
                Err(err) => Err(err),
            }
        })
        .await
        .map_err(|err| failed(&err))?;
        match outcome {
            Step::Done(deleted) => Ok(deleted),
            Step::Refused(lost) => Err(lost),
        }
    }
}
