//! One bootstrap or teardown at a time per installation: a Lease
//! `kube-system/obsboot-lock-<name>`, created when a run starts, renewed while it runs and
//! deleted when it ends. A second run finds it and stops, naming the holder. A lease that
//! was not renewed for [`LEASE_SECONDS`] belongs to a run that died (SIGKILL, a lost
//! machine): the next run takes it over, so no lock is ever stuck. A holder that cannot
//! renew, or finds its lease taken over, stops writing ([`super::tenure`]).

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, ObjectMeta, PostParams, Preconditions};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::error::{ApiFailure, K8sError};
use super::tenure::{Instants, Loss, Tenure};
use super::{Cluster, retry};
use crate::render::{MANAGED_BY, MANAGER};

/// How long a lease stays valid without renewal.
pub const LEASE_SECONDS: i32 = 30;
/// How often a holder renews it.
const RENEW_EVERY: Duration = Duration::from_secs(10);
/// How soon a failed renewal is tried again.
const RETRY_EVERY: Duration = Duration::from_secs(2);
/// Where leases live.
pub(super) const NAMESPACE: &str = "kube-system";

/// A held lock; [`Lock::finish`] gives it back.
pub struct Lock {
    cluster: Cluster,
    api: Api<Lease>,
    name: String,
    identity: String,
    tenure: Arc<Tenure>,
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

fn holder_of(lease: &Lease) -> Option<&str> {
    lease.spec.as_ref()?.holder_identity.as_deref()
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
    /// (`--break-lock`). The lock's [`Lock::stop`] token is a child of `cancel`.
    pub async fn lock(
        &self,
        installation: &str,
        command: &str,
        force: bool,
        cancel: &CancellationToken,
    ) -> Result<Lock, K8sError> {
        let name = format!("obsboot-lock-{installation}");
        let api: Api<Lease> = Api::namespaced(self.client().clone(), NAMESPACE);
        let me = identity(command);
        let sent = Instants::now();
        let held = take(&api, &name, &me, force).await?;
        let tenure = Arc::new(Tenure::new(&name, sent, cancel.child_token()));
        self.hold(Some(Arc::clone(&tenure)));
        let renewing = tokio::spawn(renew(api.clone(), held, me.clone(), Arc::clone(&tenure)));
        Ok(Lock {
            cluster: self.clone(),
            api,
            name,
            identity: me,
            tenure,
            renewing,
        })
    }
}

/// Creates the lease, or takes over an expired one (or any, with `force`). A request whose
/// answer was lost is tried again, and finding this process's own identity is success.
async fn take(api: &Api<Lease>, name: &str, me: &str, force: bool) -> Result<Lease, K8sError> {
    let failed = |err: &kube::Error| K8sError::Lock {
        name: name.to_owned(),
        source: ApiFailure::from_kube(err, false),
    };
    let mut lease = Lease {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            namespace: Some(NAMESPACE.into()),
            labels: Some([(MANAGED_BY.to_owned(), MANAGER.to_owned())].into()),
            ..ObjectMeta::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(me.to_owned()),
            lease_duration_seconds: Some(LEASE_SECONDS),
            acquire_time: Some(now()),
            renew_time: Some(now()),
            ..LeaseSpec::default()
        }),
    };
    let post = PostParams::default();
    for _ in 0..3 {
        match retry::idempotent("take the lock", || api.create(&post, &lease)).await {
            Ok(created) => return Ok(created),
            Err(kube::Error::Api(status)) if status.code == 409 => {}
            Err(err) => return Err(failed(&err)),
        }
        let live = retry::read("read the lock", || api.get_opt(name))
            .await
            .map_err(|err| failed(&err))?;
        // Released between the two requests: try again.
        let Some(live) = live else { continue };
        if holder_of(&live) == Some(me) {
            return Ok(live);
        }
        let spec = live.spec.clone().unwrap_or_default();
        let holder = Holder {
            identity: spec.holder_identity.clone().unwrap_or_default(),
            held_for: seconds_since(spec.acquire_time.as_ref()),
            renewed_ago: seconds_since(spec.renew_time.as_ref()),
        };
        let expired =
            holder.renewed_ago > i64::from(spec.lease_duration_seconds.unwrap_or(LEASE_SECONDS));
        if !expired && !force {
            return Err(K8sError::Locked {
                name: name.to_owned(),
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
        match retry::idempotent("take over the lock", || api.replace(name, &post, &lease)).await {
            Ok(taken) => return Ok(taken),
            // Someone wrote it meanwhile (or this request's answer was lost): look again.
            Err(kube::Error::Api(status)) if status.code == 409 => {}
            Err(err) => return Err(failed(&err)),
        }
        lease.metadata.resource_version = None;
    }
    Err(K8sError::Lock {
        name: name.to_owned(),
        source: ApiFailure {
            code: 409,
            reason: "Conflict".into(),
            message: "the lock changed hands three times while this run tried to take it".into(),
        },
    })
}

/// Renews the lease every [`RENEW_EVERY`], a failed renewal every [`RETRY_EVERY`], until
/// the lock is lost: taken over, deleted, or not renewed in time.
async fn renew(api: Api<Lease>, mut lease: Lease, me: String, tenure: Arc<Tenure>) {
    let name = lease.metadata.name.clone().unwrap_or_default();
    let mut pause = RENEW_EVERY;
    let post = PostParams::default();
    loop {
        tokio::time::sleep(tenure.within_deadline(pause)).await;
        if tenure.check().is_err() {
            return;
        }
        if let Some(spec) = lease.spec.as_mut() {
            spec.renew_time = Some(now());
        }
        let sent = Instants::now();
        let request = api.replace(&name, &post, &lease);
        let Ok(answer) = tokio::time::timeout(tenure.within_deadline(RENEW_EVERY), request).await
        else {
            tenure.failed("no answer from the API server in time".into());
            continue;
        };
        pause = RETRY_EVERY;
        match answer {
            Ok(renewed) => {
                lease = renewed;
                tenure.renewed(sent);
                pause = RENEW_EVERY;
            }
            Err(kube::Error::Api(status)) if status.code == 404 => {
                tenure.lose(Loss::Deleted);
                return;
            }
            // Written by someone else, or by this run's own renewal whose answer was lost.
            Err(kube::Error::Api(status)) if status.code == 409 => match api.get_opt(&name).await {
                Ok(Some(live)) if holder_of(&live) == Some(me.as_str()) => {
                    lease.metadata.resource_version = live.metadata.resource_version;
                    pause = Duration::ZERO;
                }
                Ok(Some(live)) => {
                    let by = holder_of(&live).unwrap_or("another run").to_owned();
                    tenure.lose(Loss::TakenOver { by });
                    return;
                }
                Ok(None) => {
                    tenure.lose(Loss::Deleted);
                    return;
                }
                Err(err) => warn_failed(&tenure, &name, &err),
            },
            Err(err) => warn_failed(&tenure, &name, &err),
        }
    }
}

fn warn_failed(tenure: &Tenure, name: &str, err: &kube::Error) {
    let error = ApiFailure::from_kube(err, false).to_string();
    tracing::warn!(
        "failed to renew the lock {NAMESPACE}/{name}: {error}; trying again in {}s",
        RETRY_EVERY.as_secs()
    );
    tenure.failed(error);
}

impl Lock {
    /// Cancelled when the lock is lost or the run interrupted: the run's cancellation token.
    pub fn stop(&self) -> &CancellationToken {
        self.tenure.stop()
    }

    /// Gives the lock back once the run has ended with `result`. A lost lock replaces the
    /// run's outcome (whatever it ended with, it stopped because of that); a failed release
    /// is the run's error when it had none, and a warning when it had one.
    pub async fn finish<T, E: From<K8sError>>(self, result: Result<T, E>) -> Result<T, E> {
        let loss = self.tenure.loss();
        let name = self.name.clone();
        let released = self.release().await;
        if let Some(loss) = loss {
            return Err(K8sError::LostLock { name, loss }.into());
        }
        match (result, released) {
            (Ok(_), Err(err)) => Err(err.into()),
            (Err(err), Err(release)) => {
                tracing::warn!("{}", crate::report::joined(&release));
                Err(err)
            }
            (result, Ok(())) => result,
        }
    }

    /// Stops renewing and deletes the lease, if it is still this run's (someone may have
    /// broken it meanwhile) and unchanged since it was read.
    async fn release(self) -> Result<(), K8sError> {
        self.renewing.abort();
        self.cluster.hold(None);
        let name = &self.name;
        let failed = |err: &kube::Error| K8sError::Release {
            name: name.clone(),
            source: ApiFailure::from_kube(err, false),
        };
        let live = match retry::read("read the lock", || self.api.get_opt(name)).await {
            Ok(Some(live)) => live,
            Ok(None) => return Ok(()),
            Err(err) => return Err(failed(&err)),
        };
        if holder_of(&live) != Some(self.identity.as_str()) {
            if self.tenure.loss().is_none() {
                tracing::warn!(
                    "the lock {NAMESPACE}/{name} was taken over by {} at the end of this run",
                    holder_of(&live).unwrap_or("someone")
                );
            }
            return Ok(());
        }
        let params = DeleteParams {
            preconditions: Some(Preconditions {
                uid: live.metadata.uid.clone(),
                resource_version: live.metadata.resource_version.clone(),
            }),
            ..DeleteParams::default()
        };
        match retry::idempotent("release the lock", || self.api.delete(name, &params)).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
            Err(err) => Err(failed(&err)),
        }
    }
}
