//! `obsboot bootstrap`.

use std::fmt::Write as _;
use std::time::Duration;

use clap::{Args, ValueEnum};

use super::aws::{ProbeArgs, SecurityGroupArgs, SourceArgs};
use super::cluster::{self, ClusterArgs};
use super::{StackArgs, print};
use crate::aws::Connect;
use crate::bootstrap::network;
use crate::bootstrap::{self, Action, Params, Report, VerifyParams};
use crate::progress::Progress;
use crate::selection::Selection;
use crate::{Error, output};

const AFTER_HELP: &str = "\
Groups of objects, each started as soon as what it needs is done (several run at once):
  namespaces and CRDs (then the CRDs Established, discovery refreshed)
  generated secrets, once the namespaces exist: Linkerd's trust anchor and identity issuer,
    the webhooks' serving certificates, Grafana's admin password; created once, reused on
    every later run, and a certificate that ends within spec.certificates.renewBefore (60d)
    of the Linkerd stack is renewed (the issuer by the same trust anchor; a webhook's
    caBundle first trusts the new certificate next to the old one); the trust anchor itself
    is rotated by hand
  Linkerd identity, after the secrets; the rest of Linkerd's control plane once identity is
    applied and the CRDs are served; then a wait until the proxy-injector serves
  monitoring (Prometheus, Grafana), after the secrets, beside Linkerd
  applications (Bookinfo), once the injector serves; then every pod is checked for its
    Linkerd proxy and restarted once if it started without one
Then the exposed ports are opened in each control-plane node's security group, one rule per
group, port and source (nodes that share a group share its rules), each tagged obsboot.dev/managed=true as it is created (rules obsboot did not
create are never changed, even on the same port), and each endpoint is probed from here
(see `obsboot verify`). The security group is found, and the rules checked against EC2's
quota, before anything is applied.

Everything is applied with server-side apply as field manager \"obsboot\" and labelled
app.kubernetes.io/managed-by=obsboot; an inventory in kube-system records what was applied, so
that a later run prunes what the stacks dropped and teardown works from any machine. An
existing object without that label is never taken over (existing namespaces are used as
they are). One run at a time: a second bootstrap or teardown of the installation stops and
names the run that holds its lock (kube-system/obsboot-lock-<name>). Run it again and
nothing changes. Interrupted (Ctrl-C), it stops starting new
requests; run it again to finish.

Examples:
  obsboot bootstrap                         the current kubeconfig context
  obsboot bootstrap --context admin@kubeadm --timeout 10m
  obsboot bootstrap --allow-from 203.0.113.7/32   open the ports to your address only
  obsboot bootstrap --stack linkerd --stack bookinfo
  obsboot bootstrap --skip-security-groups  not on EC2: list the ports to open instead
  obsboot bootstrap -o json | jq .urls";

/// Output formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    /// A summary for people.
    Text,
    /// The report as JSON.
    Json,
}

/// The network pre-flight.
#[derive(Debug, Args)]
pub struct NetworkArgs {
    /// Do not check the network between the nodes first (obsboot doctor's checks).
    #[arg(long, conflicts_with = "fix_network")]
    pub skip_doctor: bool,
    /// Add the rules the network between the nodes lacks before anything else, as
    /// `obsboot doctor --fix` does.
    #[arg(long)]
    pub fix_network: bool,
}

/// Arguments of `obsboot bootstrap`.
#[derive(Debug, Args)]
#[command(after_help = AFTER_HELP)]
pub struct BootstrapArgs {
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
    /// How endpoints are probed.
    #[command(flatten)]
    pub probes: ProbeArgs,
    /// Do not probe the endpoints at the end.
    #[arg(long)]
    pub no_verify: bool,
    /// How long each group may wait for its objects to be ready.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = cluster::timeout)]
    pub timeout: Duration,
    /// Take the installation's lock even though another run holds it (only when that run is
    /// gone: a lock nobody renews is taken over after 30s anyway).
    #[arg(long)]
    pub break_lock: bool,
    /// Take over fields that another field manager owns instead of stopping.
    #[arg(long)]
    pub force_conflicts: bool,
    /// What to do about the network between the nodes.
    #[command(flatten)]
    pub network: NetworkArgs,
    /// What to print on standard output when done.
    #[arg(short, long, value_enum, default_value_t = Format::Text)]
    pub output: Format,
}

pub fn run(args: &BootstrapArgs, progress: Progress, ec2: Connect) -> Result<(), Error> {
    let (mut platform, templates) = args.stacks.load()?;
    args.sources.apply(&mut platform)?;
    let params = Params {
        stacks: Selection::new(&platform, &args.stacks.only, &templates)?,
        target: args.cluster.target(),
        force_conflicts: args.force_conflicts,
        timeout: args.timeout,
        security_groups: args.security_groups.settings(&platform, ec2),
        break_lock: args.break_lock,
        doctor: match (args.network.skip_doctor, args.network.fix_network) {
            (true, _) => None,
            (false, true) => Some(network::Mode::Fix),
            (false, false) => Some(network::Mode::Check),
        },
        verify: (!args.no_verify).then(|| VerifyParams {
            host: args.probes.url_base.clone(),
            timeout: args.probes.probe_timeout,
        }),
    };
    let report =
        cluster::run(async |cancel| Ok(bootstrap::run(&params, progress, &cancel).await?))?;
    match args.output {
        Format::Json => print(&output::json(&report)?)?,
        Format::Text => print(&summary(&report))?,
    }
    match report.unreachable() {
        0 => Ok(()),
        count => Err(Error::Unreachable {
            count,
            after: "bootstrap applied everything, but ",
        }),
    }
}

fn summary(report: &Report) -> String {
    let count = |action| report.objects.iter().filter(|o| o.action == action).count();
    let mut out = if report.changed() {
        format!(
            "bootstrap complete: {} objects ({} created, {} changed, {} unchanged)\n",
            report.objects.len(),
            count(Action::Created),
            count(Action::Configured),
            count(Action::Unchanged)
        )
    } else {
        format!(
            "bootstrap complete: nothing changed ({} objects already as planned)\n",
            report.objects.len()
        )
    };
    for left in &report.left_alone {
        let _ = writeln!(out, "  left alone: {}: {}", left.object, left.reason);
    }
    for restarted in &report.restarted {
        let _ = writeln!(
            out,
            "  restarted {restarted}: its pods had started without a Linkerd proxy"
        );
    }
    for pruned in &report.pruned {
        let _ = writeln!(out, "  pruned {pruned}");
    }
    security_group(&mut out, report);
    if !report.urls.is_empty() {
        let _ = writeln!(out, "open:");
        for url in &report.urls {
            match &url.unplaced {
                Some(why) => {
                    let _ = writeln!(out, "  {:<24} not known: {why}", url.name);
                }
                None => {
                    let _ = writeln!(out, "  {:<24} {}", url.name, url.url);
                }
            }
        }
    }
    super::verify::results(&mut out, &report.verified);
    if let Some(command) = &report.grafana_password {
        let _ = writeln!(out, "Grafana's admin password: {command}");
    }
    out
}

fn security_group(out: &mut String, report: &Report) {
    for sg in report.groups() {
        let applied = &sg.applied;
        let _ = writeln!(
            out,
            "security group {} ({}) in {}: {} opened, {} unchanged, {} revoked",
            sg.target.group,
            sg.target.group_name,
            sg.target.region,
            crate::aws::rules(applied.opened.len()),
            applied.unchanged.len(),
            applied.revoked.len()
        );
        for rule in &applied.opened {
            let _ = writeln!(out, "  opened {rule}");
        }
        for rule in &applied.revoked {
            let _ = writeln!(out, "  revoked {rule}: the stacks no longer expose it");
        }
        for rule in &applied.foreign {
            let _ = writeln!(
                out,
                "  already allowed by a rule obsboot does not own: {rule}; left as it is"
            );
        }
    }
    if !report.not_opened.is_empty() {
        let _ = writeln!(
            out,
            "security groups are not managed by obsboot here; allow these inbound to the control-plane node yourself:"
        );
        for rule in &report.not_opened {
            let _ = writeln!(out, "  {rule}");
        }
    }
    if !report.closed.is_empty() {
        let _ = writeln!(
            out,
            "not opened, no source chosen (set ingress.sources in cluster.yaml or pass --allow-from CIDR):"
        );
        for port in &report.closed {
            let _ = writeln!(out, "  {port}");
        }
    }
}
