//! `obsboot status` and `obsboot diff`: read-only looks at the cluster against the plan.

use clap::Args;

use super::aws::{SecurityGroupArgs, SourceArgs};
use super::bootstrap::Format;
use super::cluster::{self, ClusterArgs};
use super::{StackArgs, print};
use crate::aws::Connect;
use crate::inspect::{self, Params};
use crate::selection::Selection;
use crate::{Error, output};

const STATUS_HELP: &str = "\
Each planned object (and generated Secret) is one of: ready; waiting (with what it waits
for, e.g. pods Pending: Unschedulable); failed; missing; or foreign (it exists but was not
created by obsboot, so bootstrap would stop). Bookinfo Deployments whose pods run without a
Linkerd proxy are shown as waiting. Then every certificate in the generated Secrets (Linkerd's
trust anchor and identity issuer, each webhook's serving certificate) with the day it ends:
valid, due (inside the renewal window, spec.certificates.renewBefore of the Linkerd stack,
60 days unless set: the next bootstrap renews it), or expired. Then each planned
security-group rule: open, missing, allowed by a rule obsboot does not own, or (ours, no
longer planned) to be revoked; unless --skip-security-groups. Changes nothing.

Exit status: 0; with --exit-code, 1 when an object is not ready or a certificate is due or
expired.

Examples:
  obsboot status
  obsboot status --exit-code                   for a cron job or a CI check
  obsboot status -o json | jq '.certificates[] | {certificate, notAfter, state}'";

const DIFF_HELP: &str = "\
Each object is applied with a server-side dry run and compared with what is live, so the
diff shows what the API server would store, defaults included. The security group is read
as bootstrap reads it: `+ open` and `- revoke` lines show the rules bootstrap would change
(unless --skip-security-groups). Changes nothing.

Examples:
  obsboot diff
  obsboot diff --stack grafana --exit-code     exit status 1 when something would change
  obsboot diff --allow-from 198.51.100.7/32    the rules a change of sources would make";

/// Arguments of `obsboot status`.
#[derive(Debug, Args)]
#[command(after_help = STATUS_HELP)]
pub struct StatusArgs {
    /// Which stacks and templates.
    #[command(flatten)]
    pub stacks: StackArgs,
    /// Which cluster.
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// The security group.
    #[command(flatten)]
    pub security_groups: SecurityGroupArgs,
    /// Exit with status 1 when an object is not ready or a certificate is inside its renewal
    /// window or expired.
    #[arg(long)]
    pub exit_code: bool,
    /// What to print on standard output.
    #[arg(short, long, value_enum, default_value_t = Format::Text)]
    pub output: Format,
}

/// Arguments of `obsboot diff`.
#[derive(Debug, Args)]
#[command(after_help = DIFF_HELP)]
pub struct DiffArgs {
    /// Which stacks and templates.
    #[command(flatten)]
    pub stacks: StackArgs,
    /// Which cluster.
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Who may connect.
    #[command(flatten)]
    pub sources: SourceArgs,
    /// The security group.
    #[command(flatten)]
    pub security_groups: SecurityGroupArgs,
    /// Exit with status 1 when bootstrap would change something.
    #[arg(long)]
    pub exit_code: bool,
    /// What to print on standard output.
    #[arg(short, long, value_enum, default_value_t = Format::Text)]
    pub output: Format,
}

pub fn status(args: &StatusArgs, ec2: Connect) -> Result<(), Error> {
    let (platform, templates) = args.stacks.load()?;
    let params = Params {
        stacks: Selection::new(&platform, &args.stacks.only, &templates)?,
        target: args.cluster.target(),
        security_groups: args.security_groups.settings(&platform, ec2),
    };
    let status = cluster::run(async |_| Ok(inspect::status(&params).await?))?;
    match args.output {
        Format::Json => print(&output::json(&status)?)?,
        Format::Text => print(&inspect::status_table(&status))?,
    }
    let (objects, certificates) = inspect::needs_attention(&status);
    if args.exit_code && objects + certificates > 0 {
        return Err(Error::NotReady {
            objects,
            certificates,
        });
    }
    Ok(())
}

pub fn diff(args: &DiffArgs, ec2: Connect) -> Result<(), Error> {
    let (mut platform, templates) = args.stacks.load()?;
    args.sources.apply(&mut platform)?;
    let params = Params {
        stacks: Selection::new(&platform, &args.stacks.only, &templates)?,
        target: args.cluster.target(),
        security_groups: args.security_groups.settings(&platform, ec2),
    };
    let changes = cluster::run(async |_| Ok(inspect::diff(&params).await?))?;
    match args.output {
        Format::Json => print(&output::json(&changes)?)?,
        Format::Text => print(&inspect::diff_text(&changes))?,
    }
    if args.exit_code && !changes.is_empty() {
        return Err(Error::Differs {
            count: changes.len(),
        });
    }
    Ok(())
}
