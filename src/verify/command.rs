//! `obsboot verify`: find where the exposed ports are (the public address of the
//! control-plane node each exposed pod runs on, or `--url-base`), probe them, ask Grafana
//! about the data path behind them, and place each failure.

use std::time::Duration;

use serde::Serialize;

use super::datapath::{self, Inputs};
use super::grafana::prometheus_datasource;
use super::{Context, EndpointReport, Hosts, endpoints_on, verify};
use crate::aws::{self, AwsError};
use crate::k8s::{Cluster, K8sError, Target};
use crate::render::{RenderError, Slots};
use crate::selection::Selection;
use crate::stack::StackKind;

/// What `verify` needs.
pub struct Params<'a> {
    /// The stacks whose exposures are probed.
    pub stacks: Selection<'a>,
    /// The cluster.
    pub target: Target,
    /// How to find the security group; `None` when the user manages it.
    pub security_groups: Option<aws::Settings>,
    /// The host to probe (`--url-base`), instead of the node's public address.
    pub host: Option<String>,
    /// The bound on each probe.
    pub timeout: Duration,
}

/// Why `verify` could not check.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The cluster could not be asked.
    #[error(transparent)]
    Kube(#[from] K8sError),
    /// EC2 could not be asked.
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// The stacks did not render.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// No address to probe.
    #[error(
        "no address to probe: {why}; pass --url-base http://<address the ports are reachable on>"
    )]
    NoHost {
        /// Why none was found.
        why: String,
    },
    /// The stacks expose nothing.
    #[error("the selected stacks expose no port; nothing to verify")]
    NothingExposed,
}

/// What `verify` found.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The address probed, when every port is on one (`--url-base`, or one control-plane
    /// node); with several nodes each endpoint carries its own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The security group compared with, when obsboot manages it and there is one
    /// control-plane node.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_group: Option<aws::Target>,
    /// With several control-plane nodes: each node's instance and group.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub security_groups: Vec<aws::Target>,
    /// Each endpoint.
    pub endpoints: Vec<EndpointReport>,
}

impl Report {
    /// The checks that ran and failed.
    pub fn failed(&self) -> usize {
        self.endpoints.iter().filter(|e| e.failed()).count()
    }
}

/// Runs `verify`.
pub async fn run(params: &Params<'_>) -> Result<Report, VerifyError> {
    let plan = params.stacks.render(&Slots::default())?;
    // With --url-base the cluster only helps place failures; without it, it names the nodes.
    let cluster = match Cluster::connect(&params.target).await {
        Ok(cluster) => Some(cluster),
        Err(err) if params.host.is_some() => {
            tracing::warn!("cannot ask the cluster why a probe fails: {err}");
            None
        }
        Err(err) => return Err(err.into()),
    };
    let mut located = None;
    if let (Some(settings), Some(cluster)) = (&params.security_groups, &cluster) {
        let nodes = settings.nodes(cluster.nodes(&settings.node_selector).await?)?;
        located = Some(aws::locate(settings, &nodes).await?);
    }
    let targets = located.as_ref().map_or(&[][..], |l| l.targets.as_slice());
    let Some(hosts) = Hosts::of(params.host.as_deref(), targets) else {
        let why = match targets.first() {
            Some(target) => format!("instance {} has no public address", target.instance),
            None => "obsboot does not manage the security group here, so it does not know the node's public address".into(),
        };
        return Err(VerifyError::NoHost { why });
    };
    let endpoints = endpoints_on(
        &hosts,
        &params.stacks.stacks,
        &plan.objects,
        cluster.as_ref(),
    )
    .await;
    if endpoints.is_empty() {
        return Err(VerifyError::NothingExposed);
    }
    let several = targets.len() > 1;
    let groups = match &located {
        Some(located) => targets
            .iter()
            .filter_map(|t| {
                let (_, rules) = located.rules.iter().find(|(g, _)| *g == t.group)?;
                let node = t.node.as_deref().filter(|_| several);
                Some((node, t.group.as_str(), rules.as_slice()))
            })
            .collect(),
        None => Vec::new(),
    };
    let context = Context {
        cluster: cluster.as_ref(),
        objects: &plan.objects,
        groups,
    };
    let mut endpoints = verify(&endpoints, params.timeout, &context).await;
    let grafana = params
        .stacks
        .stacks
        .iter()
        .find(|s| s.kind == StackKind::Grafana);
    let front = endpoints
        .iter()
        .find(|e| e.endpoint.stack == StackKind::Grafana);
    let datasource = prometheus_datasource(&plan.objects);
    if let (Some(stack), Some(front), Some(datasource)) = (grafana, front, datasource) {
        let inputs = Inputs {
            stack,
            grafana: front,
            datasource,
            objects: &plan.objects,
            cluster: cluster.as_ref(),
            timeout: params.timeout,
        };
        let checks = datapath::check(&inputs).await;
        endpoints.extend(checks);
    }
    let mut targets = located.map(|l| l.targets).unwrap_or_default();
    let (security_group, security_groups) = if targets.len() > 1 {
        (None, targets)
    } else {
        (targets.pop(), Vec::new())
    };
    Ok(Report {
        host: match hosts {
            Hosts::One(host) => Some(host),
            Hosts::Nodes(_) => None,
        },
        security_group,
        security_groups,
        endpoints,
    })
}
