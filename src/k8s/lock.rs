//! One bootstrap or teardown at a time per installation: a Lease
//! `kube-system/obsboot-lock-<name>`, created when a run starts, renewed while it runs and
//! deleted when it ends. A second run finds it and stops, naming the holder. A lease that
//! was not renewed for [`LEASE_SECONDS`] belongs to a run that died (SIGKILL, a lost
//! machine): the next run takes it over, so no lock is ever stuck.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, ObjectMeta, PostParams, Preconditions};
use tokio::task::JoinHandle;

use super::error::{ApiFailure, K8sError};
use super::{Cluster, retry};
use crate::render::{MANAGED_BY, MANAGER};

/// How long a lease stays valid without renewal.
pub const LEASE_SECONDS: i32 = 30;
/// How often a holder renews it.
const RENEW_EVERY: Duration = Duration::from_secs(10);
/// Where leases live.
const NAMESPACE: &str = "kube-system";

/// A held lock; [`Lock::release`] gives it back.
pub struct Lock {
    api: Api<Lease>,
    name: String,
    identity: String,
    renewing: JoinHandle<()>,
}

/// Who holds a lock, for the message that stops a second run.
#[derive(Debug, Clone)]
pub struct Holder {
    /// `user@host pid N (command)`.
    pub identity: String,
    /// Seconds since it was taken.
    pub held_for: i64,
    /// Seconds since it was last renewed.
    pub renewed_ago: i64,
}

fn now() -> MicroTime {
    MicroTime(Timestamp::now())
}

fn seconds_since(time: Option<&MicroTime>) -> i64 {
    time.map_or(i64::MAX, |t| Timestamp::now().as_second() - t.0.as_second())
}

/// Who this process is: `user@host pid N (command)`.
fn identity(command: &str) -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "someone".into());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "a machine".into());
    format!("{user}@{host} pid {} ({command})", std::process::id())
}

impl Cluster {
    /// Takes the installation's lock for `command`; `force` takes it from a live holder
    /// (`--break-lock`).
    pub async fn lock(
        &self,
        installation: &str,
        command: &str,
        force: bool,
    ) -> Result<Lock, K8sError> {
        let name = format!("obsboot-lock-{installation}");
        let api: Api<Lease> = Api::namespaced(self.client().clone(), NAMESPACE);
        let failed = |err: &kube::Error| K8sError::Lock {
            name: name.clone(),
            source: ApiFailure::from_kube(err, false),
        };
        let me = identity(command);
        let mut lease = Lease {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(NAMESPACE.into()),
                labels: Some([(MANAGED_BY.to_owned(), MANAGER.to_owned())].into()),
                ..ObjectMeta::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: Some(me.clone()),
                lease_duration_seconds: Some(LEASE_SECONDS),
                acquire_time: Some(now()),
                renew_time: Some(now()),
                ..LeaseSpec::default()
            }),
        };
        let held = match api.create(&PostParams::default(), &lease).await {
            Ok(created) => created,
            Err(kube::Error::Api(status)) if status.code == 409 => {
                let live = retry::idempotent(&format!("read lease {name}"), || api.get_opt(&name))
                    .await
                    .map_err(|err| failed(&err))?;
                let Some(live) = live else {
                    // Released between the two requests: try once more.
                    return Box::pin(self.lock(installation, command, force)).await;
                };
                let spec = live.spec.clone().unwrap_or_default();
                let holder = Holder {
                    identity: spec.holder_identity.clone().unwrap_or_default(),
                    held_for: seconds_since(spec.acquire_time.as_ref()),
                    renewed_ago: seconds_since(spec.renew_time.as_ref()),
                };
                let expired = holder.renewed_ago
                    > i64::from(spec.lease_duration_seconds.unwrap_or(LEASE_SECONDS));
                if !expired && !force {
                    return Err(K8sError::Locked {
                        name: name.clone(),
                        holder,
                    });
                }
                tracing::warn!(
                    "taking over lock {NAMESPACE}/{name} from {} (last renewed {}s ago){}",
                    holder.identity,
                    holder.renewed_ago,
                    if expired { "" } else { ": --break-lock" }
                );
                lease.metadata.resource_version = live.metadata.resource_version.clone();
                match api.replace(&name, &PostParams::default(), &lease).await {
                    Ok(taken) => taken,
                    // Someone else took it over first.
                    Err(kube::Error::Api(status)) if status.code == 409 && !force => {
                        return Err(K8sError::Locked { name, holder });
                    }
                    Err(err) => return Err(failed(&err)),
                }
            }
            Err(err) => return Err(failed(&err)),
        };
        let renewing = tokio::spawn(renew(api.clone(), held));
        Ok(Lock {
            api,
            name,
            identity: me,
            renewing,
        })
    }
}

/// Renews the lease until the task is stopped; a renewal that fails is logged, and the next
/// one tries again.
async fn renew(api: Api<Lease>, mut lease: Lease) {
    loop {
        tokio::time::sleep(RENEW_EVERY).await;
        if let Some(spec) = lease.spec.as_mut() {
            spec.renew_time = Some(now());
        }
        let name = lease.metadata.name.clone().unwrap_or_default();
        match api.replace(&name, &PostParams::default(), &lease).await {
            Ok(renewed) => lease = renewed,
            Err(err) => tracing::warn!("failed to renew lock {NAMESPACE}/{name}: {err}"),
        }
    }
}

impl Lock {
    /// Stops renewing and deletes the lease, if it is still this run's (someone may have
    /// broken it meanwhile) and unchanged since it was read. A lease that cannot be deleted
    /// expires by itself.
    pub async fn release(self) {
        self.renewing.abort();
        let name = &self.name;
        let live = match self.api.get_opt(name).await {
            Ok(Some(live)) => live,
            Ok(None) => return,
            Err(err) => {
                tracing::warn!(
                    "failed to release lock {NAMESPACE}/{name}: {err}; it expires within {LEASE_SECONDS}s"
                );
                return;
            }
        };
        let holder = live
            .spec
            .as_ref()
            .and_then(|s| s.holder_identity.as_deref());
        if holder != Some(self.identity.as_str()) {
            tracing::warn!(
                "lock {NAMESPACE}/{name} was taken over by {} during this run",
                holder.unwrap_or("someone")
            );
            return;
        }
        let params = DeleteParams {
            preconditions: Some(Preconditions {
                uid: live.metadata.uid.clone(),
                resource_version: live.metadata.resource_version.clone(),
            }),
            ..DeleteParams::default()
        };
        if let Err(err) = self.api.delete(name, &params).await {
            tracing::warn!(
                "failed to release lock {NAMESPACE}/{name}: {err}; it expires within {LEASE_SECONDS}s"
            );
        }
    }
}
