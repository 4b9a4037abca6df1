//! `obsboot doctor`: read the facts, run the checks; with `--fix`, add what the failing
//! checks name and check again; with `--revert`, take back what `--fix` added.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::aws::{self, Ec2};
use crate::k8s::{Cluster, Target};
use crate::network::fixes::Profile;
use crate::plan::Plan;

use super::DoctorError;
use super::checks;
use super::facts::{Analysis, Facts};
use super::fix::{self, Fixed, Reverted};
use super::gather::{self, Sources};
use super::report::Report;

/// What to do beyond reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Action {
    /// Only check.
    #[default]
    Check,
    /// Add the missing rules (and, when told, turn the source/destination check off), then
    /// check again.
    Fix {
        /// `--fix-source-dest-check`.
        source_dest_check: bool,
    },
    /// Take back every network rule and source/destination change of this installation.
    Revert,
}

/// What `doctor` needs.
pub struct Params<'a> {
    /// The cluster.
    pub target: Target,
    /// How EC2 is found; `None` when the user manages the groups.
    pub aws: Option<aws::Settings>,
    /// cluster.yaml's `name`.
    pub installation: String,
    /// The control-plane node's labels.
    pub selector: BTreeMap<String, String>,
    /// The rendered platform (for where Prometheus runs).
    pub plan: Option<&'a Plan>,
    /// The bound on each probe; `None` skips them.
    pub probe_timeout: Option<Duration>,
    /// How much `--fix` opens.
    pub profile: Profile,
    /// What to do.
    pub action: Action,
}

/// What `doctor` found and did.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    /// The checks before any change, when something was changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<Report>,
    /// What `--fix` did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed: Option<Fixed>,
    /// What `--revert` did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reverted: Option<Reverted>,
    /// The checks as things are now.
    pub report: Report,
}

/// Runs the checks against a cluster already connected, and EC2 when given: what bootstrap
/// calls before its first write.
pub async fn check(sources: &Sources<'_>) -> Result<(Facts, Analysis, Report), DoctorError> {
    let facts = gather::facts(sources).await?;
    let analysis = facts.analyse();
    let report = Report {
        findings: checks::run_all(&facts, &analysis),
    };
    Ok((facts, analysis, report))
}

/// Connects to EC2 as the settings say (the region from cluster.yaml, else the
/// environment, else a node's zone).
pub async fn connect_ec2(settings: &aws::Settings, cluster: &Cluster) -> Result<Ec2, DoctorError> {
    let nodes = cluster.nodes(&settings.node_selector).await?;
    let zone = nodes.iter().find_map(|n| aws::discover::zone_of(Some(n)));
    Ok(settings.ec2(zone.as_deref()).await?)
}

/// Runs `doctor`.
pub async fn run(params: &Params<'_>, cancel: &CancellationToken) -> Result<Outcome, DoctorError> {
    let cluster = Cluster::connect(&params.target).await?;
    let ec2 = match &params.aws {
        Some(settings) => Some(connect_ec2(settings, &cluster).await?),
        None => None,
    };
    if params.action == Action::Revert && ec2.is_none() {
        return Err(DoctorError::NoEc2);
    }
    let sources = Sources {
        cluster: &cluster,
        ec2: ec2.as_ref().ok_or_else(|| {
            "security groups are left alone (--skip-security-groups or aws.skipSecurityGroups)"
                .to_owned()
        }),
        installation: &params.installation,
        selector: &params.selector,
        plan: params.plan,
        probe_timeout: params.probe_timeout,
        profile: params.profile,
    };
    let (facts, analysis, report) = check(&sources).await?;
    let mut outcome = Outcome::default();
    match (params.action, &ec2, facts.ec2.get()) {
        (Action::Check, _, _) => {
            outcome.report = report;
            return Ok(outcome);
        }
        (Action::Fix { .. }, None, _) | (Action::Fix { .. }, _, None) => {
            return Err(DoctorError::NoEc2);
        }
        (Action::Fix { source_dest_check }, Some(ec2), Some(inventory)) => {
            let plan = facts.plan(&analysis, None, params.profile);
            let limit = params.aws.as_ref().map_or(60, |s| s.rules_per_group);
            fix::check_quota(&plan, &inventory.rules, limit)?;
            let tags = checks::tags(&params.installation);
            outcome.fixed =
                Some(fix::apply(ec2.api(), &plan, &tags, source_dest_check, cancel).await?);
        }
        (Action::Revert, Some(ec2), inventory) => {
            let recorded = inventory
                .map(|i| i.source_dest_was.clone())
                .unwrap_or_default();
            outcome.reverted =
                Some(fix::revert(ec2.api(), &params.installation, &recorded, cancel).await?);
        }
        (Action::Revert, None, _) => return Err(DoctorError::NoEc2),
    }
    outcome.before = Some(report);
    let (_, _, after) = check(&sources).await?;
    outcome.report = after;
    Ok(outcome)
}
