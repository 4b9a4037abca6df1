//! Bootstrap's network pre-flight: `obsboot doctor`'s checks (without the probes) before the
//! first write. A failed check stops bootstrap, naming it and what to do; `--fix-network`
//! adds the missing rules first, as `doctor --fix` does, and checks again.

use tokio_util::sync::CancellationToken;

use crate::aws::{self, Ec2};
use crate::doctor::command::{check, connect_ec2};
use crate::doctor::fix;
use crate::doctor::gather::Sources;
use crate::doctor::{DoctorError, Report, Status, checks};
use crate::k8s::Cluster;
use crate::network::fixes::Profile;
use crate::plan::Plan;
use crate::progress::Progress;

/// What bootstrap does about the network between the nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Check, and stop on a failure.
    Check,
    /// Add the missing rules, then check.
    Fix,
}

/// Why the pre-flight stopped bootstrap.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// A check could not run, or a fix failed.
    #[error(transparent)]
    Doctor(#[from] DoctorError),
    /// Checks failed.
    #[error(
        "the network between the nodes is not ready: {} failed (shown above); nothing was changed. Run `obsboot doctor` for the evidence and the AWS CLI commands, pass --fix-network to add the missing rules now, or --skip-doctor to go on regardless",
        failed.join(", ")
    )]
    Failed {
        /// The ids and titles of the failed checks.
        failed: Vec<String>,
    },
}

/// Runs the checks; with [`Mode::Fix`] adds the missing rules first. Reads only otherwise.
pub async fn preflight(
    cluster: &Cluster,
    settings: Option<&aws::Settings>,
    plan: &Plan,
    mode: Mode,
    progress: Progress,
    cancel: &CancellationToken,
) -> Result<(), NetworkError> {
    let ec2: Option<Ec2> = match settings {
        Some(settings) => Some(connect_ec2(settings, cluster).await?),
        None => None,
    };
    let installation = plan_installation(settings);
    let selector = settings
        .map(|s| s.node_selector.clone())
        .unwrap_or_default();
    let sources = Sources {
        cluster,
        ec2: ec2.as_ref().ok_or_else(|| {
            "security groups are left alone (--skip-security-groups or aws.skipSecurityGroups)"
                .to_owned()
        }),
        installation: &installation,
        selector: &selector,
        plan: Some(plan),
        probe_timeout: None,
        profile: Profile::Minimal,
    };
    let (facts, analysis, report) = check(&sources).await?;
    let report = match (mode, &ec2, facts.ec2.get()) {
        (Mode::Fix, Some(ec2), Some(inventory)) if report.failed() > 0 => {
            let plan = facts.plan(&analysis, None, Profile::Minimal);
            let limit = settings.map_or(60, |s| s.rules_per_group);
            fix::check_quota(&plan, &inventory.rules, limit)?;
            let tags = checks::tags(&installation);
            let fixed = fix::apply(ec2.api(), &plan, &tags, false, cancel).await?;
            for rule in &fixed.added {
                progress.line(&format!("network: added {rule}"));
            }
            check(&sources).await?.2
        }
        _ => report,
    };
    summarise(&report);
    if report.failed() == 0 {
        return Ok(());
    }
    progress.line(&report.text());
    Err(NetworkError::Failed {
        failed: report
            .findings
            .iter()
            .filter(|f| f.status == Status::Fail)
            .map(|f| format!("{} ({})", f.id, f.title))
            .collect(),
    })
}

/// The installation whose rules the fixes tag: cluster.yaml's `name`.
fn plan_installation(settings: Option<&aws::Settings>) -> String {
    settings.map(|s| s.installation.clone()).unwrap_or_default()
}

/// A passing pre-flight says so only with `-v`: `obsboot doctor` shows the details, and
/// warnings (an unknown CNI, hostPort support not read) do not stop bootstrap.
fn summarise(report: &Report) {
    tracing::info!(
        "network between the nodes: {} ok, {} warn, {} failed, {} skipped (obsboot doctor shows why)",
        report.count(Status::Ok),
        report.count(Status::Warn),
        report.count(Status::Fail),
        report.count(Status::Skip)
    );
    for finding in report.findings.iter().filter(|f| f.status == Status::Warn) {
        tracing::info!(
            "{} {}: {}",
            finding.id,
            finding.title,
            finding.diagnosis.as_deref().unwrap_or("see obsboot doctor")
        );
    }
}
