//! The EC2 side: find each control-plane node's security group, open exactly the ports the
//! plan wants from the sources the user chose (one rule per group, port and source, however
//! many nodes share the group), and close only the rules obsboot created.
//!
//! Ownership is decided by tags set as each rule is created (never added later, never to a
//! rule someone else made): [`MANAGED_TAG`], [`CLUSTER_TAG`] naming the installation, and
//! [`STACK_TAG`] / [`WORKLOAD_TAG`] for what the rule serves.

mod api;
mod client;
pub mod discover;
mod error;
pub mod model;
pub mod reconcile;

use std::collections::BTreeMap;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

pub use api::Ec2Api;
pub use client::{Connect, Connecting, Ec2};
pub use error::{Action, AwsError, RegionSource};
pub use reconcile::{Applied, Changes, Closed, RuleReport, Scope, Wanted};

use crate::k8s::nodes::NodeFacts;
use crate::plan::IngressPlan;
use crate::stack::{Cluster, Region, SecurityGroupRef};

/// `true` on every rule obsboot creates.
pub const MANAGED_TAG: &str = "obsboot.dev/managed";
/// The installation (cluster.yaml's `name`) a rule belongs to.
pub const CLUSTER_TAG: &str = "obsboot.dev/cluster";
/// The stack whose exposure the rule serves.
pub const STACK_TAG: &str = "obsboot.dev/stack";
/// The workload behind the port.
pub const WORKLOAD_TAG: &str = "obsboot.dev/workload";
/// What a rule is for: [`NETWORK_SCOPE`] on the rules `obsboot doctor --fix` adds between
/// the nodes (the cluster's prerequisites, which teardown keeps unless told otherwise).
pub const SCOPE_TAG: &str = "obsboot.dev/scope";
/// The scope of the rules between the nodes.
pub const NETWORK_SCOPE: &str = "network";
/// On an instance whose source/destination check `doctor --fix --fix-source-dest-check`
/// turned off: the value it had, for `--revert`.
pub const SOURCE_DEST_CHECK_WAS_TAG: &str = "obsboot.dev/source-dest-check-was";
/// Set to `true` on the security group to open ports in, when an instance has several.
pub const INGRESS_GROUP_TAG: &str = "obsboot.dev/ingress";

/// `1 rule`, `2 rules`.
pub fn rules(count: usize) -> String {
    if count == 1 {
        "1 rule".into()
    } else {
        format!("{count} rules")
    }
}

/// How the security group is found.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How to reach EC2.
    pub connect: Connect,
    /// cluster.yaml's `name`.
    pub installation: String,
    /// cluster.yaml's region, unless `auto`.
    pub region: Option<String>,
    /// cluster.yaml's `aws.securityGroup`.
    pub security_group: SecurityGroupRef,
    /// The control-plane nodes' labels.
    pub node_selector: BTreeMap<String, String>,
    /// `--instance-id`.
    pub instance_id: Option<String>,
    /// The quota of inbound rules per group (cluster.yaml's `aws.rulesPerGroup`).
    pub rules_per_group: usize,
}

impl Settings {
    /// The settings cluster.yaml gives, with `--instance-id`, reaching EC2 through `connect`.
    pub fn of(cluster: &Cluster, instance_id: Option<String>, connect: Connect) -> Self {
        Self {
            connect,
            installation: cluster.name.as_str().to_owned(),
            region: match &cluster.region {
                Region::Auto => None,
                Region::Named(name) => Some(name.clone()),
            },
            security_group: cluster.security_group.clone(),
            node_selector: cluster
                .node_selector
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), v.as_str().to_owned()))
                .collect(),
            instance_id,
            rules_per_group: usize::from(cluster.rules_per_group),
        }
    }

    /// This installation's rules of `stacks`.
    pub fn scope<'s>(&self, stacks: impl IntoIterator<Item = &'s str>) -> Scope {
        Scope {
            network: false,
            installation: self.installation.clone(),
            stacks: stacks.into_iter().map(str::to_owned).collect(),
        }
    }

    /// Connects to EC2 in cluster.yaml's region, or else the one the SDK's chain or `zone`
    /// (the availability zone of a node's providerID) gives.
    pub async fn ec2(&self, zone: Option<&str>) -> Result<Ec2, AwsError> {
        (self.connect)(self.region.as_deref(), zone).await
    }

    /// The label selector of the control-plane nodes, for messages.
    pub fn selector(&self) -> String {
        crate::k8s::nodes::selector(&self.node_selector)
    }

    /// The control-plane nodes among `nodes` (those the selector matched), each to have the
    /// exposed ports opened in its group. With `--instance-id` the one node only serves
    /// cross-checks, so none is no error; but with several it cannot say which node it
    /// means, and is refused.
    pub fn nodes(&self, nodes: Vec<NodeFacts>) -> Result<Vec<NodeFacts>, AwsError> {
        match (nodes.len(), &self.instance_id) {
            (0, None) => Err(AwsError::NoControlPlaneNode {
                selector: self.selector(),
            }),
            (2.., Some(instance)) => Err(AwsError::SeveralControlPlaneNodes {
                instance: instance.clone(),
                selector: self.selector(),
                nodes: nodes.into_iter().map(|n| n.name).collect(),
            }),
            _ => Ok(nodes),
        }
    }

    /// The first control-plane node among `nodes`, for the zone its providerID names.
    pub fn node(&self, nodes: Vec<NodeFacts>) -> Result<Option<NodeFacts>, AwsError> {
        Ok(self.nodes(nodes)?.into_iter().next())
    }
}

/// The rules an ingress plan wants.
pub fn wanted(plan: &IngressPlan) -> Vec<Wanted> {
    plan.rules
        .iter()
        .map(|rule| Wanted {
            port: rule.port,
            cidr: rule.cidr.to_string(),
            stack: rule.stack.name().to_owned(),
            workload: rule.workload.clone(),
            description: rule.description.clone(),
        })
        .collect()
}

/// Where ports are opened: one control-plane node's instance and its group.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    /// The region.
    pub region: String,
    /// Where the region came from.
    #[serde(skip)]
    pub region_source: RegionSource,
    /// The endpoint override, if one is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// The account that owns the group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The control-plane node, when the cluster named it (not with `--instance-id` alone).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// The control-plane node's instance.
    pub instance: String,
    /// How the instance was found.
    pub found_from: String,
    /// Its public address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_ip: Option<String>,
    /// The group.
    pub group: String,
    /// The group's name.
    pub group_name: String,
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "security group {} ({}) of instance {} ({}) in region {} (from {})",
            self.group,
            self.group_name,
            self.instance,
            self.found_from,
            self.region,
            self.region_source
        )?;
        if let Some(account) = &self.account {
            write!(f, ", account {account}")?;
        }
        if let Some(endpoint) = &self.endpoint {
            write!(f, ", endpoint {endpoint}")?;
        }
        Ok(())
    }
}

/// The distinct groups of `targets`, in the order of their nodes.
pub fn groups(targets: &[Target]) -> Vec<&Target> {
    let mut seen = std::collections::BTreeSet::new();
    targets
        .iter()
        .filter(|t| seen.insert(t.group.as_str()))
        .collect()
}

/// Everything read before the first change: the groups, and what to change in each.
pub struct Prepared {
    ec2: Ec2,
    /// Where: one per control-plane node (one with `--instance-id`).
    pub targets: Vec<Target>,
    /// Whose rules.
    pub scope: Scope,
    /// What to change: one per distinct group, in the order of the nodes.
    pub changes: Vec<Changes>,
}

/// The control-plane nodes' instances and groups, and each group's rules (one entry per
/// distinct group).
pub struct Located {
    /// One per control-plane node (one with `--instance-id`).
    pub targets: Vec<Target>,
    /// Each distinct group and its rules, in the order of the nodes.
    pub rules: Vec<(String, Vec<model::Rule>)>,
}

/// Finds each control-plane node's instance and group, and reads the groups' rules.
pub async fn locate(settings: &Settings, nodes: &[NodeFacts]) -> Result<Located, AwsError> {
    let (ec2, targets) = find(settings, nodes).await?;
    let mut rules = Vec::new();
    for target in groups(&targets) {
        let filter = model::RuleFilter::Group(target.group.clone());
        rules.push((target.group.clone(), ec2.api().rules(&filter).await?));
    }
    Ok(Located { targets, rules })
}

/// Finds the instance and group of each node (or of `--instance-id`, cross-checked against
/// the one node, if any).
async fn find(settings: &Settings, nodes: &[NodeFacts]) -> Result<(Ec2, Vec<Target>), AwsError> {
    let zone = discover::zone_of(nodes.first());
    let ec2 = settings.ec2(zone.as_deref()).await?;
    let region = (ec2.region.as_str(), &ec2.region_source);
    let each: Vec<Option<&NodeFacts>> = match (&settings.instance_id, nodes) {
        (Some(_), _) | (None, []) => vec![nodes.first()],
        (None, _) => nodes.iter().map(Some).collect(),
    };
    let mut targets = Vec::with_capacity(each.len());
    for node in each {
        let found =
            discover::instance(ec2.api(), region, node, settings.instance_id.as_deref()).await?;
        let group = discover::group(
            ec2.api(),
            &ec2.region,
            &found.instance,
            &settings.security_group,
        )
        .await?;
        targets.push(Target {
            region: ec2.region.clone(),
            region_source: ec2.region_source.clone(),
            endpoint: ec2.endpoint.clone(),
            account: group.owner.clone(),
            node: node.map(|n| n.name.clone()),
            instance: found.instance.id.clone(),
            found_from: found.found_from,
            public_ip: found.instance.public_ip.clone(),
            group: group.id,
            group_name: group.name,
        });
    }
    Ok((ec2, targets))
}

/// Finds the groups and works out the changes, reading only; fails before any change when
/// the rules would not fit in a group.
pub async fn prepare(
    settings: &Settings,
    nodes: &[NodeFacts],
    wanted: &[Wanted],
    scope: Scope,
) -> Result<Prepared, AwsError> {
    let (ec2, targets) = find(settings, nodes).await?;
    let by_tag = model::RuleFilter::Tag(CLUSTER_TAG.to_owned(), scope.installation.clone());
    let ours = ec2.api().rules(&by_tag).await?;
    let mut in_groups = Vec::new();
    for target in groups(&targets) {
        let filter = model::RuleFilter::Group(target.group.clone());
        in_groups.push((target.group.as_str(), ec2.api().rules(&filter).await?));
    }
    let borrowed: Vec<(&str, &[model::Rule])> = in_groups
        .iter()
        .map(|(group, rules)| (*group, rules.as_slice()))
        .collect();
    let changes = reconcile::diff_groups(&borrowed, wanted, &ours, &scope);
    for (group_changes, (_, in_group)) in changes.iter().zip(&in_groups) {
        reconcile::check_quota(group_changes, in_group, settings.rules_per_group)?;
    }
    Ok(Prepared {
        ec2,
        targets,
        scope,
        changes,
    })
}

impl Prepared {
    /// Carries out the changes, group by group: what each group's changes did, in the order
    /// of [`Prepared::changes`]. A failure names every rule created before it, in any group.
    pub async fn apply(&self, cancel: &CancellationToken) -> Result<Vec<Applied>, AwsError> {
        let mut done: Vec<Applied> = Vec::with_capacity(self.changes.len());
        for changes in &self.changes {
            match reconcile::apply(self.ec2.api(), changes, &self.scope, cancel).await {
                Ok(applied) => done.push(applied),
                Err(err) => {
                    let mut created: Vec<String> = done
                        .iter()
                        .flat_map(|a| a.opened.iter().map(ToString::to_string))
                        .collect();
                    if created.is_empty() {
                        return Err(err);
                    }
                    return Err(match err {
                        AwsError::Partial {
                            created: more,
                            cause,
                        } => {
                            created.extend(more);
                            AwsError::Partial { created, cause }
                        }
                        cause => AwsError::Partial {
                            created,
                            cause: Box::new(cause),
                        },
                    });
                }
            }
        }
        Ok(done)
    }

    /// Each group's rules as they are now, in the order of [`Prepared::changes`].
    pub async fn rules(&self) -> Result<Vec<(String, Vec<model::Rule>)>, AwsError> {
        let mut all = Vec::with_capacity(self.changes.len());
        for changes in &self.changes {
            let filter = model::RuleFilter::Group(changes.group.clone());
            all.push((changes.group.clone(), self.ec2.api().rules(&filter).await?));
        }
        Ok(all)
    }

    /// The targets (nodes) whose instance carries `group`.
    pub fn on(&self, group: &str) -> Vec<&Target> {
        self.targets.iter().filter(|t| t.group == group).collect()
    }

    /// Rules to open, to revoke, and already there, over every group.
    pub fn counts(&self) -> (usize, usize, usize) {
        self.changes
            .iter()
            .fold((0, 0, 0), |(add, revoke, there), c| {
                (
                    add + c.add.len(),
                    revoke + c.revoke.len(),
                    there + c.keep.len() + c.foreign.len(),
                )
            })
    }
}

/// This installation's rules of the stacks in `scope`, wherever they are, to revoke.
pub struct Tagged {
    ec2: Ec2,
    /// Which EC2.
    pub summary: Ec2Summary,
    /// The rules.
    pub rules: Vec<model::Rule>,
}

/// Finds this installation's rules of the stacks in `scope` by their tags (no instance or
/// group lookup: a rule is found wherever it is, in every control-plane node's group).
pub async fn tagged(
    settings: &Settings,
    node: Option<&NodeFacts>,
    scope: &Scope,
) -> Result<Tagged, AwsError> {
    let zone = discover::zone_of(node);
    let ec2 = settings.ec2(zone.as_deref()).await?;
    let rules = reconcile::tagged(ec2.api(), scope).await?;
    Ok(Tagged {
        summary: Ec2Summary {
            region: ec2.region.clone(),
            endpoint: ec2.endpoint.clone(),
        },
        ec2,
        rules,
    })
}

impl Tagged {
    /// Revokes them.
    pub async fn revoke(&self, cancel: &CancellationToken) -> Result<Closed, AwsError> {
        reconcile::revoke_all(self.ec2.api(), &self.rules, cancel).await
    }
}

/// Which EC2 a teardown talked to.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Ec2Summary {
    /// The region.
    pub region: String,
    /// The endpoint override, if one is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
}

#[cfg(test)]
pub(crate) mod fake;
#[cfg(test)]
mod tests;
