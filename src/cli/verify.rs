//! `obsboot verify`.

use std::fmt::Write as _;

use clap::Args;

use super::aws::{ProbeArgs, SecurityGroupArgs};
use super::bootstrap::Format;
use super::cluster::{self, ClusterArgs};
use super::{StackArgs, print};
use crate::aws::Connect;
use crate::selection::Selection;
use crate::verify::EndpointReport;
use crate::verify::command::{self, Params, Report};
use crate::{Error, output};

const AFTER_HELP: &str = "\
Probes, from where it runs, each port the stacks expose on the control-plane node:
  Bookinfo's productpage   GET /productpage -> 200 with the Bookinfo page
  Grafana                  GET /api/health -> 200, and GET / -> 302 to /login
  anything else            GET / -> any HTTP answer below 500
Then, logged in to Grafana as its administrator (the password is read from the cluster's
Secret, spec.adminSecret, and never printed), it asks Grafana's API about the data path:
  Grafana -> Prometheus    GET /api/datasources/uid/<uid>/health -> 200, status OK
  Prometheus targets       GET /api/datasources/proxy/uid/<uid>/api/v1/targets -> none down
These wait at least 35s (Grafana itself waits up to 30s on Prometheus before it answers).
The address is the public IP, from EC2, of the control-plane node the endpoint's pod runs
on (read from the pod's spec.nodeName when several nodes match; or --url-base). A failure is placed in the
layer at fault, with the next step: the pod is not ready (asked of the cluster), nothing
listens on the node's port (connection refused), the security group does not admit the port
from here (no answer; compared with the group's rules), the service answers wrongly, Grafana
refuses the credentials, Grafana cannot reach Prometheus (datasource), or targets are down
(scrape: which, why, and whether the network between the nodes drops the traffic).
Without the cluster (or the Secret) the data-path checks are skipped, and say why.
Exits 1 when a check fails.

Examples:
  obsboot verify
  obsboot verify --url-base http://10.0.1.74      from inside the VPC
  obsboot verify --stack grafana -o json";

/// Arguments of `obsboot verify`.
#[derive(Debug, Args)]
#[command(after_help = AFTER_HELP)]
pub struct VerifyArgs {
    /// Which stacks and templates.
    #[command(flatten)]
    pub stacks: StackArgs,
    /// Which cluster.
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// The security group.
    #[command(flatten)]
    pub security_groups: SecurityGroupArgs,
    /// How endpoints are probed.
    #[command(flatten)]
    pub probes: ProbeArgs,
    /// What to print on standard output.
    #[arg(short, long, value_enum, default_value_t = Format::Text)]
    pub output: Format,
}

pub fn run(args: &VerifyArgs, ec2: Connect) -> Result<(), Error> {
    let (platform, templates) = args.stacks.load()?;
    let params = Params {
        stacks: Selection::new(&platform, &args.stacks.only, &templates)?,
        target: args.cluster.target(),
        security_groups: args.security_groups.settings(&platform, ec2),
        host: args.probes.url_base.clone(),
        timeout: args.probes.probe_timeout,
    };
    let report = cluster::run(async |_| Ok(command::run(&params).await?))?;
    match args.output {
        Format::Json => print(&output::json(&report)?)?,
        Format::Text => print(&summary(&report))?,
    }
    match report.failed() {
        0 => Ok(()),
        count => Err(Error::Unverified { count }),
    }
}

fn summary(report: &Report) -> String {
    let mut out = String::new();
    for target in report.security_group.iter().chain(&report.security_groups) {
        let _ = writeln!(out, "compared with {target}");
    }
    results(&mut out, &report.endpoints);
    out
}

/// Appends one line per endpoint, and for a failure its layer, cause and next step.
pub fn results(out: &mut String, endpoints: &[EndpointReport]) {
    for endpoint in endpoints {
        let mark = match (endpoint.passed, &endpoint.skipped) {
            (_, Some(_)) => "skip",
            (true, None) => "ok  ",
            (false, None) => "FAIL",
        };
        let url = match &endpoint.endpoint.unplaced {
            Some(_) => "(address not known)",
            None => endpoint.endpoint.url.as_str(),
        };
        let _ = writeln!(out, "{mark} {:<24} {url}", endpoint.endpoint.description);
        for probe in &endpoint.probes {
            let _ = writeln!(out, "       {}: {}", probe.url, probe.outcome);
        }
        if let Some(why) = &endpoint.skipped {
            let _ = writeln!(out, "       not checked: {why}");
        }
        if let (Some(layer), Some(cause), Some(next)) =
            (endpoint.layer, &endpoint.cause, &endpoint.next_step)
        {
            let _ = writeln!(out, "       at fault: {}: {cause}", layer.as_str());
            let _ = writeln!(out, "       next: {next}");
        }
    }
}
