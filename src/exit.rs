//! The process exit status of every failure, in one place. Each error enum is matched without
//! a catch-all, so that a new variant does not compile until it is classified.

use crate::Error;
use crate::aws::AwsError;
use crate::bootstrap::BootstrapError;
use crate::bootstrap::preflight::PreflightError;
use crate::k8s::K8sError;
use crate::output::OutputError;
use crate::render::RenderError;
use crate::secrets::SecretsError;
use crate::stack::StackError;
use crate::teardown::TeardownError;
use crate::verify::command::VerifyError;

/// What kind of failure ended a run; `as u8` is the exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    /// The command ran and its answer is "no": `diff --exit-code` found changes, `status
    /// --exit-code` found something not ready, a check of `verify` or of bootstrap's endpoints
    /// failed; also the rare failure of this machine (writing standard output).
    Failed = 1,
    /// The command line or the input is wrong: flags, stack files, templates, files named.
    Invalid = 2,
    /// The cluster or AWS refused or failed: API errors, the lock held by another run, time
    /// out waiting for objects, what the cluster lacks.
    Refused = 3,
    /// Ctrl-C or SIGTERM.
    Interrupted = 130,
}

/// The table printed at the end of `--help`.
pub const HELP: &str = "\
Exit status:
  0    success
  1    diff or status --exit-code found changes or something not ready, or a check of
       verify or doctor (or of bootstrap's final endpoint check) failed
  2    usage error or invalid input: flags, stack files, templates, files they name
  3    the cluster or AWS refused or failed: API errors, the lock held by another run,
       timed out waiting for the cluster, something the cluster lacks
  130  interrupted (Ctrl-C or SIGTERM)";

impl Error {
    /// The process exit status.
    pub fn exit_code(&self) -> u8 {
        self.exit() as u8
    }

    /// What kind of failure this is.
    pub fn exit(&self) -> Exit {
        match self {
            Self::Stack(err) => err.exit(),
            Self::Render(err) => err.exit(),
            Self::Output(err) => err.exit(),
            Self::Bootstrap(err) => err.exit(),
            Self::Verify(err) => err.exit(),
            Self::Teardown(err) => err.exit(),
            Self::Doctor(err) => err.exit(),
            Self::Unreachable { .. }
            | Self::Unhealthy { .. }
            | Self::Unverified { .. }
            | Self::Differs { .. }
            | Self::NotReady { .. }
            | Self::Stdin(_)
            | Self::Runtime(_)
            | Self::Stdout(_) => Exit::Failed,
            // Objects still there when teardown gave up waiting for them to go.
            Self::LeftBehind { .. } => Exit::Refused,
            Self::Unconfirmed { .. } | Self::Exists { .. } | Self::WriteFile { .. } => {
                Exit::Invalid
            }
        }
    }
}

impl StackError {
    /// What kind of failure this is.
    pub fn exit(&self) -> Exit {
        match self {
            Self::ReadDir { .. }
            | Self::ReadFile { .. }
            | Self::NoFiles { .. }
            | Self::Invalid(_)
            | Self::MissingCluster { .. }
            | Self::PublicWithoutConsent { .. }
            | Self::UnknownStack { .. }
            | Self::Entries(_) => Exit::Invalid,
        }
    }
}

impl RenderError {
    /// What kind of failure this is.
    pub fn exit(&self) -> Exit {
        match self {
            Self::ReadTemplates { .. } | Self::TemplateNotRegular { .. } | Self::Invalid(_) => {
                Exit::Invalid
            }
        }
    }
}

impl OutputError {
    /// What kind of failure this is.
    pub fn exit(&self) -> Exit {
        match self {
            Self::Serialize(_) => Exit::Failed,
            // The directory --out-dir names.
            Self::Write { .. } => Exit::Invalid,
        }
    }
}

impl BootstrapError {
    /// What kind of failure this is.
    pub fn exit(&self) -> Exit {
        match self {
            Self::Kube(err) => err.exit(),
            Self::Aws(err) => err.exit(),
            Self::Secrets(err) => err.exit(),
            Self::Render(err) => err.exit(),
            Self::Preflight(err) => err.exit(),
            Self::Network(crate::bootstrap::network::NetworkError::Doctor(err)) => err.exit(),
            // A check failed, as with doctor itself.
            Self::Network(crate::bootstrap::network::NetworkError::Failed { .. }) => Exit::Failed,
            Self::InGroup { source, .. } => source.exit(),
            Self::Interrupted { .. } => Exit::Interrupted,
            Self::Empty => Exit::Invalid,
            Self::ControlPlane(err) => err.exit(),
            Self::RenewalConflict { .. }
            | Self::Unmeshed { .. }
            | Self::UnmeshedNamespace { .. } => Exit::Refused,
        }
    }
}

impl crate::bootstrap::control_plane::ControlPlaneError {
    /// What kind of failure this is: the stack files are valid, the cluster has no node that
    /// matches them (as with a missing StorageClass).
    pub fn exit(&self) -> Exit {
        match self {
            Self::NoNode { .. } => Exit::Refused,
            Self::Kube(err) => err.exit(),
        }
    }
}

impl PreflightError {
    /// What kind of failure this is: the stack files are valid, the cluster lacks the class.
    pub fn exit(&self) -> Exit {
        match self {
            Self::MissingStorageClass { .. } | Self::NoDefaultStorageClass { .. } => Exit::Refused,
            Self::Kube(err) => err.exit(),
        }
    }
}

impl SecretsError {
    /// What kind of failure this is.
    pub fn exit(&self) -> Exit {
        match self {
            Self::Generate { .. } => Exit::Failed,
            // Certificate files the Linkerd stack file names.
            Self::ReadFile { .. } | Self::Provided { .. } | Self::ProvidedExpiring { .. } => {
                Exit::Invalid
            }
            // What the cluster stores.
            Self::Unreadable { .. }
            | Self::AnchorKeyMissing { .. }
            | Self::AnchorUnusable { .. } => Exit::Refused,
        }
    }
}

impl K8sError {
    /// What kind of failure this is.
    pub fn exit(&self) -> Exit {
        match self {
            // The kubeconfig is the user's file (or its absence the user's setup).
            Self::Kubeconfig { .. } => Exit::Invalid,
            Self::Discover(_)
            | Self::UnknownKind { .. }
            | Self::Get { .. }
            | Self::Apply { .. }
            | Self::Conflict { .. }
            | Self::NotOurs { .. }
            | Self::Timeout { .. }
            | Self::Failed { .. }
            | Self::Delete { .. }
            | Self::List { .. }
            | Self::Inventory { .. }
            | Self::Locked { .. }
            | Self::Lock { .. }
            | Self::LostLock { .. }
            | Self::Release { .. }
            | Self::Watch { .. } => Exit::Refused,
            Self::Interrupted => Exit::Interrupted,
        }
    }
}

impl AwsError {
    /// What kind of failure this is.
    pub fn exit(&self) -> Exit {
        match self {
            Self::NoRegion | Self::SeveralControlPlaneNodes { .. } => Exit::Invalid,
            Self::Partial { cause, .. } => cause.exit(),
            Self::Interrupted => Exit::Interrupted,
            Self::Unreachable { .. }
            | Self::Denied { .. }
            | Self::Credentials { .. }
            | Self::Throttled { .. }
            | Self::Service { .. }
            | Self::NoControlPlaneNode { .. }
            | Self::ForeignProviderId { .. }
            | Self::NodeWithoutAddress { .. }
            | Self::InstanceNotFound { .. }
            | Self::NoInstanceWithIp { .. }
            | Self::SeveralInstancesWithIp { .. }
            | Self::GroupNotFound { .. }
            | Self::NoGroup { .. }
            | Self::SeveralGroups { .. }
            | Self::DefaultGroup { .. }
            | Self::RuleQuota { .. }
            | Self::NotVisible { .. } => Exit::Refused,
        }
    }
}

impl TeardownError {
    /// What kind of failure this is.
    pub fn exit(&self) -> Exit {
        match self {
            Self::Kube(err) => err.exit(),
            Self::Render(err) => err.exit(),
            Self::Aws { source } => source.exit(),
            Self::Unreachable { .. } => Exit::Refused,
            Self::Interrupted { .. } => Exit::Interrupted,
        }
    }
}

impl VerifyError {
    /// What kind of failure this is.
    pub fn exit(&self) -> Exit {
        match self {
            Self::Kube(err) => err.exit(),
            Self::Aws(err) => err.exit(),
            Self::Render(err) => err.exit(),
            // Nothing to probe: the command line or the stacks selected.
            Self::NoHost { .. } | Self::NothingExposed => Exit::Invalid,
        }
    }
}

impl crate::doctor::DoctorError {
    /// What kind of failure this is.
    pub fn exit(&self) -> Exit {
        match self {
            Self::Kube(err) => err.exit(),
            Self::Aws(err) => err.exit(),
            // The command line asked for a change the configuration rules out.
            Self::NoEc2 => Exit::Invalid,
            Self::Quota { .. } => Exit::Refused,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_input_and_interrupts_have_their_own_codes() {
        let unknown = StackError::UnknownStack {
            name: "x".into(),
            known: "linkerd".into(),
        };
        assert_eq!(Error::from(unknown).exit_code(), 2);
        assert_eq!(Error::Differs { count: 1 }.exit_code(), 1);
        let interrupted = BootstrapError::InGroup {
            group: "applications",
            applied: 1,
            source: Box::new(BootstrapError::Kube(K8sError::Interrupted)),
        };
        assert_eq!(Error::from(interrupted).exit_code(), 130);
        let locked = TeardownError::Kube(K8sError::Inventory {
            name: "x".into(),
            reason: "y".into(),
        });
        assert_eq!(Error::from(locked).exit_code(), 3);
    }
}
