//! `obsboot doctor`.

use std::fmt::Write as _;
use std::time::Duration;

use clap::{Args, ValueEnum};

use super::bootstrap::Format;
use super::cluster::{self, ClusterArgs};
use super::{StackArgs, print};
use crate::aws::Connect;
use crate::doctor::command::{self, Action, Outcome, Params};
use crate::network::fixes::Profile;
use crate::selection::Selection;
use crate::{Error, output};

const AFTER_HELP: &str = "\
Checks what breaks self-managed clusters on EC2, from the Kubernetes and EC2 APIs alone:
  D01  every node is a running EC2 instance (providerID, else InternalIP)
  D02  the CNI and its mode: Calico (manifest or operator), flannel, Canal, Cilium, Weave
  D03  the pod network overlaps neither the VPC nor the Service network
  D04  the security groups carry the CNI's traffic between every pair of nodes
       (Calico IP-in-IP = IP protocol 4 and BGP TCP 179, VXLAN UDP 4789; flannel and
       Cilium VXLAN UDP 8472, Geneve 6081; ports read from the CNI's configuration)
  D06  the control plane reaches every kubelet on TCP 10250 (logs, exec)
  D07  Prometheus's node reaches node-exporter (9100) and the kubelet on every node
  D08  natively routed nodes have EC2's source/destination check off
  D09  no natively routed pair of nodes spans subnets
  D13  hostPorts take effect (the CNI chains portmap)
  D15  the API server reaches each kubelet and a pod on each node (nodes/proxy, pods/proxy)
  D18  admission webhooks run on nodes the API server's pod traffic reaches
EC2 drops what no rule admits without a word, so each of these shows up elsewhere as a
time-out. For each problem doctor prints what it read, why it matters and the fix as an AWS
CLI command. Reads only, unless told:
  --fix      adds the missing inbound rules, each referencing the other node group (a
             self-reference when the nodes share one), tagged obsboot.dev/scope=network,
             never wider than the cluster's own addresses; then checks again.
  --revert   revokes exactly those rules (teardown keeps them: they are the cluster's).
Exits 1 when a check fails.

Examples:
  obsboot doctor
  obsboot doctor --fix
  obsboot doctor --fix --fix-profile all-traffic      an unknown CNI
  obsboot doctor -o json --no-probe";

/// How much `--fix` opens.
#[derive(Debug, Clone, Copy, ValueEnum, Default)]
pub enum FixProfile {
    /// Exactly the traffic the checks found missing.
    #[default]
    Minimal,
    /// Every protocol between the nodes' groups (what kops and eksctl open), for a CNI
    /// doctor does not know.
    AllTraffic,
}

/// What `doctor` may change.
#[derive(Debug, Args)]
pub struct ChangeArgs {
    /// Add the missing rules between the nodes, then check again.
    #[arg(long, conflicts_with = "revert")]
    pub fix: bool,
    /// How much --fix opens.
    #[arg(long, value_enum, default_value_t = FixProfile::Minimal, value_name = "PROFILE")]
    pub fix_profile: FixProfile,
    /// With --fix: also turn EC2's source/destination check off where native routing needs
    /// it, recording the old value on the instance for --revert.
    #[arg(long, requires = "fix")]
    pub fix_source_dest_check: bool,
    /// Revoke the rules --fix added (and put back the source/destination check).
    #[arg(long)]
    pub revert: bool,
}

/// Arguments of `obsboot doctor`.
#[derive(Debug, Args)]
#[command(after_help = AFTER_HELP)]
pub struct DoctorArgs {
    /// Which stacks and templates (where Prometheus runs, cluster.yaml's name and labels).
    #[command(flatten)]
    pub stacks: StackArgs,
    /// Which cluster.
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Leave security groups alone (a cluster not on EC2, or a firewall someone else
    /// manages): the checks that need EC2 are skipped. Same as `aws.skipSecurityGroups:
    /// true` in cluster.yaml.
    #[arg(long)]
    pub skip_security_groups: bool,
    /// What to change.
    #[command(flatten)]
    pub change: ChangeArgs,
    /// Skip the probes through the API server (nodes/proxy, pods/proxy).
    #[arg(long)]
    pub no_probe: bool,
    /// The bound on each probe.
    #[arg(long, value_name = "DURATION", value_parser = cluster::timeout, default_value = "10s")]
    pub probe_timeout: Duration,
    /// What to print on standard output.
    #[arg(short, long, value_enum, default_value_t = Format::Text)]
    pub output: Format,
}

pub fn run(args: &DoctorArgs, ec2: Connect) -> Result<(), Error> {
    let (platform, templates) = args.stacks.load()?;
    let selection = Selection::new(&platform, &args.stacks.only, &templates)?;
    let plan = selection.render(&crate::render::Slots::default())?;
    let params = Params {
        target: args.cluster.target(),
        // Every node's instance is found by its providerID or address: no --instance-id.
        aws: (!args.skip_security_groups && !platform.cluster.skip_security_groups)
            .then(|| crate::aws::Settings::of(&platform.cluster, None, ec2)),
        installation: platform.cluster.name.as_str().to_owned(),
        selector: platform
            .cluster
            .node_selector
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.as_str().to_owned()))
            .collect(),
        plan: Some(&plan),
        probe_timeout: (!args.no_probe).then_some(args.probe_timeout),
        profile: match args.change.fix_profile {
            FixProfile::Minimal => Profile::Minimal,
            FixProfile::AllTraffic => Profile::AllTraffic,
        },
        action: if args.change.fix {
            Action::Fix {
                source_dest_check: args.change.fix_source_dest_check,
            }
        } else if args.change.revert {
            Action::Revert
        } else {
            Action::Check
        },
    };
    let outcome = cluster::run(async |cancel| Ok(command::run(&params, &cancel).await?))?;
    match args.output {
        Format::Json => print(&output::json(&outcome)?)?,
        Format::Text => print(&text(&outcome))?,
    }
    match outcome.report.failed() {
        0 => Ok(()),
        count => Err(Error::Unhealthy { count }),
    }
}

fn text(outcome: &Outcome) -> String {
    let mut out = String::new();
    if let Some(before) = &outcome.before {
        out.push_str("before:\n");
        out.push_str(&before.text());
    }
    if let Some(fixed) = &outcome.fixed {
        for rule in &fixed.added {
            let _ = writeln!(out, "added {rule}");
        }
        for rule in &fixed.present {
            let _ = writeln!(out, "already there: {rule}");
        }
        for instance in &fixed.source_dest_check_off {
            let _ = writeln!(out, "source/destination check turned off on {instance}");
        }
        for manual in &fixed.manual {
            let _ = writeln!(out, "left to you: {manual}");
        }
        if fixed.added.is_empty() && fixed.source_dest_check_off.is_empty() {
            out.push_str("nothing to add\n");
        }
    }
    if let Some(reverted) = &outcome.reverted {
        for rule in &reverted.revoked {
            let _ = writeln!(out, "revoked {rule}");
        }
        for rule in &reverted.already_gone {
            let _ = writeln!(out, "already gone: {rule}");
        }
        for instance in &reverted.source_dest_check_restored {
            let _ = writeln!(out, "source/destination check put back on {instance}");
        }
        if reverted.revoked.is_empty() && reverted.source_dest_check_restored.is_empty() {
            out.push_str("nothing to revert\n");
        }
    }
    if outcome.before.is_some() {
        out.push_str("now:\n");
    }
    out.push_str(&outcome.report.text());
    out
}
