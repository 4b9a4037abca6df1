//! `obsboot doctor`: what breaks self-managed clusters on EC2 before the platform is even
//! applied — the pod network between the nodes, the kubelets' port, hostPort support —
//! found from the Kubernetes and EC2 APIs alone, each problem with its evidence and its fix.
//!
//! [`gather`] reads (the only part that does I/O besides [`fix`]), [`facts`] holds what was
//! read and what follows from it, [`checks`] is the table of checks, [`report`] prints them.

pub mod checks;
pub mod command;
pub mod facts;
pub mod fix;
pub mod gather;
pub mod inventory;
pub mod probe;
pub mod report;
pub mod webhooks;

pub use report::{Finding, Fix, Report, Status};

use crate::aws::AwsError;
use crate::k8s::K8sError;

/// Why `doctor` could not check or fix.
#[derive(Debug, thiserror::Error)]
pub enum DoctorError {
    /// The cluster could not be asked.
    #[error(transparent)]
    Kube(#[from] K8sError),
    /// EC2 could not be asked or changed.
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// `--fix` or `--revert` without EC2.
    #[error(
        "--fix and --revert change security groups, which are left alone here (--skip-security-groups or aws.skipSecurityGroups in cluster.yaml); run the commands doctor prints instead"
    )]
    NoEc2,
    /// The rules would not fit.
    #[error(
        "security group {group} holds {have} inbound rule(s); adding {adding} would pass the limit of {limit} (aws.rulesPerGroup in cluster.yaml): nothing was changed; raise the quota in EC2 and the setting, or use --fix-profile all-traffic, which needs fewer rules"
    )]
    Quota {
        /// The group.
        group: String,
        /// Inbound rules it has.
        have: usize,
        /// Rules the fix would add.
        adding: usize,
        /// The limit.
        limit: usize,
    },
}
