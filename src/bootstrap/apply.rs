//! Applying and awaiting a group's objects concurrently (bounded), and the ownership check
//! done for every object before anything is changed.

use std::collections::HashMap;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt, stream};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::BootstrapError;
use crate::k8s::{ApplyMode, CONCURRENCY, Cluster, K8sError, Until, is_ours, ready};
use crate::render::{Object, ObjectKey};

/// The annotation that asks for an object to be applied only where none of its name exists.
pub const APPLY_ANNOTATION: &str = "obsboot.dev/apply";

/// What applying did to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// It did not exist.
    Created,
    /// It changed.
    Configured,
    /// It was already as planned.
    Unchanged,
}

/// What the cluster holds of a planned object before the run.
#[derive(Debug, Clone)]
pub enum Before {
    /// Nothing.
    Absent,
    /// Ours, at this resourceVersion.
    Ours(String),
    /// Someone else's, to be left as it is (an existing namespace, an `if-absent` object).
    LeftAlone(String),
}

/// Reads every object of `objects` whose kind the cluster serves, and refuses to go on if one
/// exists that is not obsboot's (except namespaces and `if-absent` objects, left alone).
pub async fn check_ownership(
    cluster: &Cluster,
    objects: &[&Object],
) -> Result<HashMap<ObjectKey, Before>, BootstrapError> {
    let results: Vec<Result<Option<(ObjectKey, Before)>, K8sError>> = stream::iter(objects)
        .map(|object| async move {
            if cluster
                .resolve(object.api_version(), &object.key.kind)
                .is_none()
            {
                return Ok(None);
            }
            let before = match cluster.get(object).await? {
                None => Before::Absent,
                Some(live) if is_ours(&live.metadata) => {
                    Before::Ours(live.metadata.resource_version.unwrap_or_default())
                }
                Some(_) if object.key.group.is_empty() && object.key.kind == "Namespace" => {
                    Before::LeftAlone(
                        "the namespace already exists; it is used as it is and teardown keeps it"
                            .into(),
                    )
                }
                Some(_) if if_absent(object) => Before::LeftAlone(
                    "another owner installed it; obsboot leaves it alone (if-absent)".into(),
                ),
                Some(_) => {
                    return Err(K8sError::NotOurs {
                        object: object.key.to_string(),
                    });
                }
            };
            Ok(Some((object.key.clone(), before)))
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut found = HashMap::new();
    for result in results {
        if let Some((key, before)) = result? {
            found.insert(key, before);
        }
    }
    Ok(found)
}

fn if_absent(object: &Object) -> bool {
    object
        .value
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(APPLY_ANNOTATION))
        .and_then(serde_json::Value::as_str)
        == Some("if-absent")
}

/// Applies `objects`; every started request is let finish, even after an interruption or a
/// failure, so that what was applied is known. The first error is returned.
pub async fn apply_all(
    cluster: &Cluster,
    objects: &[&Object],
    before: &HashMap<ObjectKey, Before>,
    mode: ApplyMode,
    cancel: &CancellationToken,
) -> (Vec<(ObjectKey, Action)>, Option<BootstrapError>) {
    let results: Vec<Result<(ObjectKey, Action), K8sError>> = stream::iter(objects)
        .map(|object| async move {
            if cancel.is_cancelled() {
                return Err(K8sError::Interrupted);
            }
            let stored = cluster.apply(object, mode).await?;
            let version = stored.metadata.resource_version.unwrap_or_default();
            let action = match before.get(&object.key) {
                Some(Before::Ours(was)) if *was == version => Action::Unchanged,
                Some(Before::Ours(_)) => Action::Configured,
                _ => Action::Created,
            };
            Ok((object.key.clone(), action))
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut applied = Vec::new();
    let mut first_error = None;
    for result in results {
        match result {
            Ok(done) => applied.push(done),
            Err(err) => {
                if first_error.is_none() || matches!(first_error, Some(K8sError::Interrupted)) {
                    first_error = Some(err);
                }
            }
        }
    }
    (applied, first_error.map(BootstrapError::from))
}

/// Waits for every object of `objects` that has a notion of readiness.
pub async fn await_ready(
    cluster: &Cluster,
    objects: &[&Object],
    timeout: Duration,
    cancel: &CancellationToken,
) -> Result<usize, BootstrapError> {
    let waiting: Vec<&&Object> = objects
        .iter()
        .filter(|o| ready::has_readiness(&o.key.group, &o.key.kind))
        .collect();
    // The first failure ends the group; the other waits are only reads, dropped with it.
    stream::iter(&waiting)
        .map(|object| {
            cluster.wait(
                object.api_version(),
                &object.key,
                Until::Ready,
                timeout,
                cancel,
            )
        })
        .buffer_unordered(waiting.len().max(1))
        .try_collect::<Vec<()>>()
        .await?;
    Ok(waiting.len())
}
