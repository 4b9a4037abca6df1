//! Waiting by watching: one watch per object (kube-runtime's `watch_object`, which re-lists
//! after a `410 Expired` and re-watches when a stream ends), each bounded by a timeout that
//! names the object and says what it last reported. No polling.

use std::pin::pin;
use std::time::Duration;

use futures::StreamExt;
use kube::api::DynamicObject;
use kube::runtime::WatchStreamExt;
use kube::runtime::utils::Backoff;
use kube::runtime::watcher;
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use tracing::debug;

use super::client::Cluster;
use super::error::{ApiFailure, K8sError};
use super::explain;
use super::ready::{Readiness, readiness};
use crate::render::ObjectKey;

/// What to wait for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// Ready by the rules of [`readiness`].
    Ready,
    /// Deleted (404).
    Gone,
}

impl Until {
    fn describe(self) -> &'static str {
        match self {
            Self::Ready => "ready",
            Self::Gone => "gone",
        }
    }
}

/// Consecutive watch failures (a `410 Gone` the re-list did not cure, a refused or cut
/// watch) after which a wait gives up rather than retry to the end of its timeout. With
/// [`Quick`]'s pauses that is about ten seconds of failing.
const MAX_WATCH_FAILURES: u32 = 8;

/// Re-watches soon after an error (a dropped stream), then less often: 50 ms doubling to 2 s.
struct Quick(Duration);

impl Iterator for Quick {
    type Item = Duration;
    fn next(&mut self) -> Option<Duration> {
        let pause = self.0;
        self.0 = (self.0 * 2).min(Duration::from_secs(2));
        Some(pause)
    }
}

impl Backoff for Quick {
    fn reset(&mut self) {
        self.0 = Duration::from_millis(50);
    }
}

impl Cluster {
    /// Waits until the object `key` (of `api_version`) is `until`, at most `timeout`.
    pub async fn wait(
        &self,
        api_version: &str,
        key: &ObjectKey,
        until: Until,
        timeout: Duration,
        cancel: &CancellationToken,
    ) -> Result<(), K8sError> {
        let api = self.api(api_version, key)?;
        let stream =
            watcher::watch_object(api, &key.name).backoff(Quick(Duration::from_millis(50)));
        let mut stream = pin!(stream);
        let deadline = tokio::time::sleep(timeout);
        let mut deadline = pin!(deadline);
        let mut last: Option<Value> = None;
        let mut said = "no answer from the API server yet".to_owned();
        // Failures since the object last changed: a re-list after a 410 yields the object
        // again, unchanged, and is no sign that watching works.
        let mut failures = 0;
        let mut version: Option<String> = None;
        loop {
            let event = tokio::select! {
                biased;
                () = cancel.cancelled() => return Err(K8sError::Interrupted),
                () = &mut deadline => break,
                event = stream.next() => event,
            };
            match event {
                Some(Ok(Some(object))) => {
                    if object.metadata.resource_version != version {
                        failures = 0;
                        version.clone_from(&object.metadata.resource_version);
                    }
                    let value = to_value(&object);
                    if until == Until::Ready {
                        match readiness(&key.group, &key.kind, &value) {
                            Readiness::Ready => return Ok(()),
                            Readiness::Failed(reason) => {
                                let reason = match explain::refused(self, key, &value).await {
                                    Some(refusal) => refusal,
                                    None => with_pods(self, key, &value, reason).await,
                                };
                                return Err(K8sError::Failed {
                                    object: key.to_string(),
                                    reason,
                                });
                            }
                            Readiness::Waiting(what) => said = what,
                        }
                    } else {
                        said = "still exists".into();
                        if object.metadata.deletion_timestamp.is_some() {
                            said = gone_blockers(&object);
                        }
                    }
                    last = Some(value);
                }
                Some(Ok(None)) if until == Until::Gone => return Ok(()),
                Some(Ok(None)) => said = "it does not exist".into(),
                Some(Err(err)) => {
                    debug!("watching {key}: {err}");
                    failures += 1;
                    let failure = match &err {
                        watcher::Error::InitialListFailed(kube_err)
                        | watcher::Error::WatchStartFailed(kube_err)
                        | watcher::Error::WatchFailed(kube_err) => {
                            ApiFailure::from_kube(kube_err, false).to_string()
                        }
                        watcher::Error::WatchError(status) => {
                            format!(
                                "{} ({}, HTTP {})",
                                status.message, status.reason, status.code
                            )
                        }
                        other @ watcher::Error::NoResourceVersion => {
                            crate::report::innermost(other)
                        }
                    };
                    said = format!("the watch failed: {failure}");
                    if failures >= MAX_WATCH_FAILURES {
                        return Err(K8sError::Watch {
                            object: key.to_string(),
                            waiting_for: until.describe(),
                            failures,
                            last: failure,
                        });
                    }
                }
                None => break,
            }
        }
        let status = match (&last, until) {
            (Some(value), Until::Ready) => with_pods(self, key, value, said).await,
            _ => said,
        };
        Err(K8sError::Timeout {
            object: key.to_string(),
            waiting_for: until.describe(),
            timeout,
            status,
        })
    }
}

/// Adds what the workload's pods say (Pending: Unschedulable, ImagePullBackOff...).
async fn with_pods(cluster: &Cluster, key: &ObjectKey, object: &Value, said: String) -> String {
    match explain::pods(cluster, key, object).await {
        Some(pods) if !pods.is_empty() => format!("{said}; {pods}"),
        _ => said,
    }
}

/// Why a deleted object is still there: its finalizers.
fn gone_blockers(object: &DynamicObject) -> String {
    match object.metadata.finalizers.as_deref() {
        Some(finalizers) if !finalizers.is_empty() => {
            format!(
                "deletion is waiting for finalizers: {}",
                finalizers.join(", ")
            )
        }
        _ => "being deleted".into(),
    }
}

/// The object as JSON, metadata included.
pub fn to_value(object: &DynamicObject) -> Value {
    serde_json::to_value(object).unwrap_or(Value::Null)
}
