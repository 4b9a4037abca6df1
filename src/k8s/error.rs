//! Why talking to the cluster failed, with the object and what the API server said.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// What the API server answered to a failed request, in a form safe to print.
#[derive(Debug, Clone)]
pub struct ApiFailure {
    /// The HTTP status code (0 when the request never got an answer).
    pub code: u16,
    /// The machine-readable reason (`Conflict`, `NotFound`, ...).
    pub reason: String,
    /// The API server's message, or the transport error.
    pub message: String,
}

impl ApiFailure {
    /// Summarises a kube client error. `redact` leaves out the API server's message, which
    /// can quote field values, for Secrets.
    pub fn from_kube(err: &kube::Error, redact: bool) -> Self {
        match err {
            kube::Error::Api(status) => Self {
                code: status.code,
                reason: status.reason.clone(),
                message: if redact {
                    "(message withheld: it may quote the Secret's contents)".into()
                } else {
                    status.message.clone()
                },
            },
            other => Self {
                code: 0,
                reason: String::new(),
                message: transport(other),
            },
        }
    }
}

/// The innermost message of a transport error, without kube's debug dumps.
fn transport(err: &kube::Error) -> String {
    crate::report::innermost(err)
}

impl fmt::Display for ApiFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.code, self.reason.is_empty()) {
            (0, _) => write!(f, "no answer from the API server: {}", self.message),
            (code, true) => write!(f, "{} (HTTP {code})", self.message),
            (code, false) => write!(f, "{} ({}, HTTP {code})", self.message, self.reason),
        }
    }
}

impl std::error::Error for ApiFailure {}

/// A field another manager owns, from a server-side apply conflict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The field path, like `.spec.replicas`.
    pub field: String,
    /// The manager that owns it.
    pub manager: String,
}

/// Why an operation on the cluster failed.
#[derive(Debug, thiserror::Error)]
pub enum K8sError {
    /// No kubeconfig could be loaded.
    #[error("failed to load the kubeconfig{}", path.as_ref().map(|p| format!(" \"{}\"", p.display())).unwrap_or_default())]
    Kubeconfig {
        /// The file, when one was named.
        path: Option<PathBuf>,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The API server's discovery could not be read.
    #[error("failed to discover the API server's resources")]
    Discover(#[source] ApiFailure),
    /// The cluster does not serve a kind the platform uses.
    #[error(
        "the cluster does not serve {api_version} {kind} (needed by {object}); is its CRD installed and Established?"
    )]
    UnknownKind {
        /// The apiVersion.
        api_version: String,
        /// The kind.
        kind: String,
        /// The object that needs it.
        object: String,
    },
    /// Reading an object failed.
    #[error("failed to read {object}")]
    Get {
        /// The object.
        object: String,
        /// Why.
        #[source]
        source: ApiFailure,
    },
    /// Applying an object failed.
    #[error("failed to apply {object}")]
    Apply {
        /// The object.
        object: String,
        /// Why.
        #[source]
        source: ApiFailure,
    },
    /// Server-side apply found fields that another field manager owns.
    #[error(
        "failed to apply {object}: {} owned by another field manager ({}); re-run with --force-conflicts to take them over, or undo the other change",
        if conflicts.len() == 1 { "a field is" } else { "fields are" },
        conflicts.iter().map(|c| format!("{} by \"{}\"", c.field, c.manager)).collect::<Vec<_>>().join(", ")
    )]
    Conflict {
        /// The object.
        object: String,
        /// The conflicting fields.
        conflicts: Vec<Conflict>,
    },
    /// An object exists that obsboot did not create.
    #[error(
        "{object} already exists and is not managed by obsboot (it lacks the label app.kubernetes.io/managed-by=obsboot); obsboot never takes over objects it did not create: delete or rename it, or leave this stack out with --stack"
    )]
    NotOurs {
        /// The object.
        object: String,
    },
    /// An object did not become ready in time.
    #[error("timed out after {}s waiting for {object} to be {waiting_for}: {status}", timeout.as_secs())]
    Timeout {
        /// The object.
        object: String,
        /// What was awaited (`ready`, `gone`).
        waiting_for: &'static str,
        /// How long.
        timeout: Duration,
        /// What the object says, and why (e.g. its pods' state).
        status: String,
    },
    /// Watching an object kept failing.
    #[error(
        "gave up waiting for {object} to be {waiting_for}: watching it failed {failures} times in a row, each time after a fresh list (last: {last}); check the API server's health (its watch cache, or a proxy in front of it that cuts long requests), then run again"
    )]
    Watch {
        /// The object.
        object: String,
        /// What was awaited (`ready`, `gone`).
        waiting_for: &'static str,
        /// How many times in a row.
        failures: u32,
        /// What the last failure said.
        last: String,
    },
    /// An object reached a state it will not leave by itself.
    #[error("{object} failed: {reason}")]
    Failed {
        /// The object.
        object: String,
        /// What it says.
        reason: String,
    },
    /// Deleting an object failed.
    #[error("failed to delete {object}")]
    Delete {
        /// The object.
        object: String,
        /// Why.
        #[source]
        source: ApiFailure,
    },
    /// Listing objects failed.
    #[error("failed to list {what}")]
    List {
        /// What was listed.
        what: String,
        /// Why.
        #[source]
        source: ApiFailure,
    },
    /// The inventory obsboot keeps in the cluster is unreadable.
    #[error("the inventory ConfigMap {name} is unreadable: {reason}")]
    Inventory {
        /// The ConfigMap.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// Another run holds the installation's lock.
    #[error(
        "another obsboot run holds the lock kube-system/{name}: {} has held it for {}s (last renewed {}s ago); wait for it to finish, or if that run is gone for good, pass --break-lock (a lock nobody renews is taken over after {}s anyway)",
        holder.identity, holder.held_for, holder.renewed_ago, super::lock::LEASE_SECONDS
    )]
    Locked {
        /// The Lease.
        name: String,
        /// Who holds it.
        holder: super::lock::Holder,
    },
    /// The lock could not be taken.
    #[error("failed to take the lock kube-system/{name}")]
    Lock {
        /// The Lease.
        name: String,
        /// Why.
        #[source]
        source: ApiFailure,
    },
    /// The run can no longer prove it holds its lock, so it stopped writing.
    #[error(
        "lost the lock kube-system/{name}: {loss}; another run may have taken it, so nothing more was written; run the command again (it continues from what the cluster holds now)"
    )]
    LostLock {
        /// The Lease.
        name: String,
        /// Why it is lost.
        loss: super::tenure::Loss,
    },
    /// The lock could not be given back at the end of a run.
    #[error(
        "failed to release the lock kube-system/{name}: the next run waits until it expires ({}s after its last renewal), or delete it with `kubectl -n kube-system delete lease {name}`",
        super::lock::LEASE_SECONDS
    )]
    Release {
        /// The Lease.
        name: String,
        /// Why.
        #[source]
        source: ApiFailure,
    },
    /// The user interrupted the run.
    #[error("interrupted")]
    Interrupted,
}
