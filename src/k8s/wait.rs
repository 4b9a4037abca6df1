//! Waiting by watching: one watch per object (kube-runtime's `watch_object`, which re-lists
//! after a `410 Expired` and re-watches when a stream ends), each bounded by a timeout that
//! names the object and says what it last reported. A watch that keeps failing, or that
//! stays quiet while the object changes (hung), ends the wait early with an error naming the
//! object; a quiet watch is checked by one read every ten seconds, not by polling.

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
use super::ready::{Readiness, readiness};
use super::{explain, retry};
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

/// How long a watch may stay quiet before the object is read to see whether it hung.
const IDLE: Duration = Duration::from_secs(10);
/// Hung watches in a row (each found by a read that saw a change the watch did not) after
/// which a wait gives up.
const MAX_HANGS: u32 = 3;

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
        let watch = || {
            watcher::watch_object(api.clone(), &key.name).backoff(Quick(Duration::from_millis(50)))
        };
        let mut stream = Box::pin(watch());
        let deadline = tokio::time::sleep(timeout);
        let mut deadline = pin!(deadline);
        let idle = tokio::time::sleep(IDLE);
        let mut idle = pin!(idle);
        let mut last: Option<Value> = None;
        let mut said = "no answer from the API server yet".to_owned();
        // Failures since the object last changed: a re-list after a 410 yields the object
        // again, unchanged, and is no sign that watching works.
        let mut failures = 0;
        let mut hangs = 0;
        let mut version: Option<String> = None;
        loop {
            let event = tokio::select! {
                biased;
                () = cancel.cancelled() => return Err(K8sError::Interrupted),
                () = &mut deadline => break,
                event = stream.next() => {
                    idle.as_mut().reset(tokio::time::Instant::now() + IDLE);
                    event
                }
                () = &mut idle => {
                    idle.as_mut().reset(tokio::time::Instant::now() + IDLE);
                    // A quiet watch may be a hung one: read the object, and if it changed
                    // without the watch saying so, take it from the read and watch anew.
                    let live = match retry::read(&format!("read {key}"), || api.get_opt(&key.name)).await {
                        Ok(live) => live,
                        Err(err) => {
                            said = format!("the object cannot be read: {}", ApiFailure::from_kube(&err, false));
                            continue;
                        }
                    };
                    let live_version = live.as_ref().and_then(|o| o.metadata.resource_version.clone());
                    if live_version == version {
                        continue;
                    }
                    hangs += 1;
                    if hangs >= MAX_HANGS {
                        let last = format!("the watch reported no change for {}s while the object changed", IDLE.as_secs());
                        return Err(gave_up(key, until, hangs, last));
                    }
                    debug!("watching {key}: no event while the object changed; watching anew");
                    version = live_version;
                    stream = Box::pin(watch());
                    Some(Ok(live))
                }
            };
            match event {
                Some(Ok(Some(object))) => {
                    if object.metadata.resource_version != version {
                        failures = 0;
                        hangs = 0;
                        version.clone_from(&object.metadata.resource_version);
                    }
                    let value = to_value(&object);
                    if until == Until::Ready {
                        match readiness(&key.group, &key.kind, &value) {
                            Readiness::Ready => return Ok(()),
                            Readiness::Failed(reason) => {
                                return Err(self.failed(key, &value, reason).await);
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
                    let failure = describe(&err);
                    said = format!("the watch failed: {failure}");
                    if failures >= MAX_WATCH_FAILURES {
                        return Err(gave_up(key, until, failures, failure));
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

impl Cluster {
    /// The error for an object that failed: why, by its pods or a webhook's refusal.
    async fn failed(&self, key: &ObjectKey, value: &Value, reason: String) -> K8sError {
        let reason = match explain::refused(self, key, value).await {
            Some(refusal) => refusal,
            None => with_pods(self, key, value, reason).await,
        };
        K8sError::Failed {
            object: key.to_string(),
            reason,
        }
    }
}

/// What a watch failure says, without kube's debug dumps.
fn describe(err: &watcher::Error) -> String {
    match err {
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
        other @ watcher::Error::NoResourceVersion => crate::report::innermost(other),
    }
}

/// The error of a wait that gave up after `failures` failed watches of `key`.
fn gave_up(key: &ObjectKey, until: Until, failures: u32, last: String) -> K8sError {
    K8sError::Watch {
        object: key.to_string(),
        waiting_for: until.describe(),
        failures,
        last,
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
