//! `obsboot teardown`.

use std::fmt::Write as _;
use std::io::{self, BufRead, IsTerminal, Write};
use std::time::Duration;

use clap::Args;

use super::aws::SecurityGroupArgs;
use super::bootstrap::Format;
use super::cluster::{self, ClusterArgs};
use super::{StackArgs, print};
use crate::aws::Connect;
use crate::progress::Progress;
use crate::selection::Selection;
use crate::teardown::{self, Params, Report};
use crate::{Error, output};

const AFTER_HELP: &str = "\
First revokes the security-group rules obsboot opened for the exposed ports (found by their
tags, wherever they are; rules without obsboot's tags are never touched, and the rules
`doctor --fix` added between the nodes stay unless --include-network is given), then
deletes, in this order, waiting for each group to be gone: applications, monitoring,
Linkerd's webhooks, the rest of Linkerd, the generated secrets, the CRDs (unless
--keep-crds), the namespaces. Only objects labelled app.kubernetes.io/managed-by=obsboot are
deleted. A namespace goes only if obsboot created it and nothing else lives in it; an existing
namespace obsboot used is kept. Works on a half-bootstrapped cluster; a second run finds
nothing to do.

Examples:
  obsboot teardown                         asks before deleting
  obsboot teardown --yes --keep-crds       no question (for scripts); keep the CRDs
  obsboot teardown --stack bookinfo --yes  only the Bookinfo stack
  obsboot teardown --security-groups-only  the cluster is gone: close the ports it had
  obsboot teardown --yes --include-network also the rules doctor --fix added between nodes";

/// Arguments of `obsboot teardown`.
// Independent switches, as the command line has them.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Args)]
#[command(after_help = AFTER_HELP)]
pub struct TeardownArgs {
    /// Which stacks and templates.
    #[command(flatten)]
    pub stacks: StackArgs,
    /// Which cluster.
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// The security group.
    #[command(flatten)]
    pub security_groups: SecurityGroupArgs,
    /// Do not ask for confirmation (required when standard input is not a terminal).
    #[arg(short, long)]
    pub yes: bool,
    /// Revoke only the security-group rules obsboot opened, found by their tags, without
    /// asking the cluster (when it is gone or unreachable); the region comes from
    /// cluster.yaml or the AWS environment.
    #[arg(long, conflicts_with_all = ["skip_security_groups", "keep_crds"])]
    pub security_groups_only: bool,
    /// Take the installation's lock even though another run holds it (only when that run is
    /// gone: a lock nobody renews is taken over after 30s anyway).
    #[arg(long)]
    pub break_lock: bool,
    /// Leave the CustomResourceDefinitions in place.
    #[arg(long)]
    pub keep_crds: bool,
    /// Revoke the rules `obsboot doctor --fix` added between the nodes too (by default they
    /// stay: they are the cluster's, not the platform's).
    #[arg(long, conflicts_with = "skip_security_groups")]
    pub include_network: bool,
    /// How long to wait for each group of objects to be gone.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = cluster::timeout)]
    pub timeout: Duration,
    /// What to print on standard output when done.
    #[arg(short, long, value_enum, default_value_t = Format::Text)]
    pub output: Format,
}

pub fn run(args: &TeardownArgs, progress: Progress, ec2: Connect) -> Result<(), Error> {
    let (platform, templates) = args.stacks.load()?;
    let params = Params {
        stacks: Selection::new(&platform, &args.stacks.only, &templates)?,
        target: args.cluster.target(),
        timeout: args.timeout,
        keep_crds: args.keep_crds,
        everything: args.stacks.only.is_empty(),
        security_groups: args.security_groups.settings(&platform, ec2),
        break_lock: args.break_lock,
        include_network: args.include_network,
    };
    if args.security_groups_only {
        return security_groups_only(args, &params, progress);
    }
    let report = cluster::run(async |cancel| {
        let plan = teardown::plan(&params).await?;
        let rules = plan.rules.as_ref().map_or(0, |tagged| tagged.rules.len());
        if plan.existing == 0 && rules == 0 {
            progress.line(&format!(
                "nothing of obsboot's found on {}",
                plan.cluster_url()
            ));
        } else if !args.yes {
            confirm(plan.existing, rules, plan.cluster_url(), args.keep_crds)?;
        }
        Ok(teardown::execute(&plan, progress, &cancel).await?)
    })?;
    match args.output {
        Format::Json => print(&output::json(&report)?)?,
        Format::Text => print(&summary(&report))?,
    }
    let left = report.left_behind.iter().filter(|l| !l.kept).count();
    if left > 0 {
        return Err(Error::LeftBehind { count: left });
    }
    Ok(())
}

/// `teardown --security-groups-only`.
fn security_groups_only(
    args: &TeardownArgs,
    params: &Params<'_>,
    progress: Progress,
) -> Result<(), Error> {
    let report = cluster::run(async |cancel| {
        let Some(tagged) = teardown::tagged_rules(params).await? else {
            return Ok(teardown::Report::default());
        };
        if tagged.rules.is_empty() {
            progress.line(&format!(
                "no security-group rule of obsboot's found in {}",
                tagged.summary.region
            ));
        } else if !args.yes {
            ask(&format!(
                "Revoke {} obsboot opened in {}?",
                crate::aws::rules(tagged.rules.len()).replace("rule", "security-group rule"),
                tagged.summary.region
            ))?;
        }
        Ok(teardown::revoke_rules(&tagged, &cancel).await?)
    })?;
    match args.output {
        Format::Json => print(&output::json(&report)?),
        Format::Text => print(&summary(&report)),
    }
}

/// Asks on the terminal; refuses without one.
fn confirm(existing: usize, rules: usize, url: &str, keep_crds: bool) -> Result<(), Error> {
    let crds = if keep_crds { " (CRDs kept)" } else { "" };
    let rules = match rules {
        0 => String::new(),
        1 => ", and revoke 1 security-group rule".into(),
        n => format!(", and revoke {n} security-group rules"),
    };
    ask(&format!(
        "Delete {existing} objects obsboot created on {url}{crds}{rules}?"
    ))
}

/// Asks `question` on the terminal; refuses without one.
fn ask(question: &str) -> Result<(), Error> {
    if !io::stdin().is_terminal() {
        return Err(Error::Unconfirmed {
            reason: "standard input is not a terminal; pass --yes to tear down without a question",
        });
    }
    eprint!("{question} [y/N] ");
    let _ = io::stderr().flush();
    let mut answer = String::new();
    io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(Error::Stdin)?;
    if matches!(answer.trim(), "y" | "Y" | "yes" | "Yes") {
        Ok(())
    } else {
        Err(Error::Unconfirmed {
            reason: "not confirmed; nothing was deleted",
        })
    }
}

fn summary(report: &Report) -> String {
    let revoked = report
        .security_groups
        .as_ref()
        .map_or(0, |closed| closed.revoked.len());
    let mut out =
        if report.deleted.is_empty() && revoked == 0 && report.left_behind.iter().all(|l| l.kept) {
            format!(
                "teardown: nothing to delete ({} planned objects already gone)\n",
                report.already_gone.len()
            )
        } else {
            format!(
                "teardown complete: {} deleted, {} already gone, {} revoked\n",
                report.deleted.len(),
                report.already_gone.len(),
                crate::aws::rules(revoked).replace("rule", "security-group rule")
            )
        };
    if let Some(closed) = &report.security_groups {
        for rule in &closed.revoked {
            let _ = writeln!(out, "  revoked {rule}");
        }
        for rule in &closed.already_gone {
            let _ = writeln!(out, "  already gone: {rule}");
        }
    }
    for left in &report.left_behind {
        let what = if left.kept { "kept" } else { "left behind" };
        let _ = writeln!(out, "  {what}: {}: {}", left.object, left.reason);
    }
    out
}
