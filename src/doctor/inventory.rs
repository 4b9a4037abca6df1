//! Check D01's facts: every node of the cluster matched to its EC2 instance (by providerID,
//! else by InternalIP, as discovery of the control-plane node does), with its groups, subnet,
//! VPC and source/destination check; and the rules of every group those instances are in,
//! inbound and outbound, as the network module's plain values.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde_json::Value;

use crate::aws::discover::ProviderId;
use crate::aws::model::{Instance, Rule, RuleFilter, Subnet};
use crate::aws::{AwsError, CLUSTER_TAG, Ec2Api, MANAGED_TAG, SOURCE_DEST_CHECK_WAS_TAG};
use crate::network::model::{Direction, NodeNet, Peer, Permission, Protocol};

/// A Kubernetes node as the checks need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeNode {
    /// Its name.
    pub name: String,
    /// `spec.providerID`, when set.
    pub provider_id: Option<String>,
    /// Its first InternalIP.
    pub internal_ip: Option<String>,
    /// Whether the control-plane selector matches its labels.
    pub control_plane: bool,
    /// `spec.podCIDRs` (or `spec.podCIDR`).
    pub pod_cidrs: Vec<Ipv4Net>,
}

impl KubeNode {
    /// Reads a Node object; `selector` is the control-plane node's labels.
    pub fn of(node: &Value, selector: &BTreeMap<String, String>) -> Self {
        let text = |pointer: &str| {
            node.pointer(pointer)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let labels = node.pointer("/metadata/labels");
        let control_plane = !selector.is_empty()
            && selector.iter().all(|(key, value)| {
                labels
                    .and_then(|l| l.get(key))
                    .and_then(Value::as_str)
                    .is_some_and(|v| v == value)
            });
        let internal_ip = node
            .pointer("/status/addresses")
            .and_then(Value::as_array)
            .and_then(|all| {
                all.iter()
                    .find(|a| a.get("type").and_then(Value::as_str) == Some("InternalIP"))
            })
            .and_then(|a| a.get("address"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let mut pod_cidrs: Vec<Ipv4Net> = node
            .pointer("/spec/podCIDRs")
            .and_then(Value::as_array)
            .map(|all| {
                all.iter()
                    .filter_map(Value::as_str)
                    .filter_map(|c| c.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        if pod_cidrs.is_empty() {
            pod_cidrs.extend(text("/spec/podCIDR").and_then(|c| c.parse::<Ipv4Net>().ok()));
        }
        Self {
            name: text("/metadata/name").unwrap_or_default(),
            provider_id: text("/spec/providerID"),
            internal_ip,
            control_plane,
            pod_cidrs,
        }
    }
}

/// A node that could not be placed in EC2, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unplaced {
    /// The node.
    pub node: String,
    /// Why, and what to do.
    pub why: String,
}

/// The nodes placed in EC2, and the rules of their groups.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    /// The placed nodes.
    pub nodes: Vec<NodeNet>,
    /// How each placed node was found (`providerID`, `InternalIP 10.0.1.74`).
    pub found_from: BTreeMap<String, String>,
    /// Nodes that could not be placed.
    pub unplaced: Vec<Unplaced>,
    /// Instances that are not running.
    pub not_running: Vec<(String, String, String)>,
    /// Every rule of every group of the placed nodes.
    pub rules: Vec<Permission>,
    /// Rules that could not be taken in (an IPv6 source, an unknown protocol), as words.
    pub skipped_rules: Vec<String>,
    /// The VPCs' IPv4 ranges.
    pub vpc_cidrs: Vec<Ipv4Net>,
    /// The source/destination check each instance had before `--fix-source-dest-check`
    /// turned it off, as its tag records it.
    pub source_dest_was: BTreeMap<String, bool>,
}

/// Places every node of `nodes` and reads the rules of their groups. `installation` names
/// obsboot's rules (the cluster tag).
pub async fn read(
    ec2: &dyn Ec2Api,
    region: &str,
    nodes: &[KubeNode],
    installation: &str,
) -> Result<Inventory, AwsError> {
    let mut out = Inventory::default();
    let placed = place(ec2, region, nodes, &mut out).await?;
    let subnet_ids = distinct(placed.iter().filter_map(|(_, i)| i.subnet.clone()));
    let vpc_ids = distinct(placed.iter().filter_map(|(_, i)| i.vpc.clone()));
    let subnets = if subnet_ids.is_empty() {
        Vec::new()
    } else {
        ec2.subnets(&subnet_ids).await?
    };
    if !vpc_ids.is_empty() {
        out.vpc_cidrs = ec2
            .vpcs(&vpc_ids)
            .await?
            .iter()
            .flat_map(|v| v.cidrs.iter().filter_map(|c| c.parse().ok()))
            .collect();
    }
    for (node, instance) in &placed {
        match node_net(node, instance, &subnets) {
            Ok(net) => out.nodes.push(net),
            Err(why) => out.unplaced.push(Unplaced {
                node: node.name.clone(),
                why,
            }),
        }
    }
    for group in distinct(out.nodes.iter().flat_map(|n| n.groups.iter().cloned())) {
        let rules = ec2.rules(&RuleFilter::Group(group)).await?;
        for rule in &rules {
            match permission(rule, installation) {
                Ok(Some(permission)) => out.rules.push(permission),
                Ok(None) => {}
                Err(why) => out.skipped_rules.push(why),
            }
        }
    }
    Ok(out)
}

/// Each node's instance: the one its providerID names, else the one with its InternalIP.
/// Nodes without one are recorded in `out.unplaced`, stopped instances in `out.not_running`.
async fn place<'n>(
    ec2: &dyn Ec2Api,
    region: &str,
    nodes: &'n [KubeNode],
    out: &mut Inventory,
) -> Result<Vec<(&'n KubeNode, Instance)>, AwsError> {
    let named: Vec<Option<String>> = nodes
        .iter()
        .map(|n| {
            n.provider_id
                .as_deref()
                .and_then(ProviderId::parse)
                .map(|p| p.instance)
        })
        .collect();
    let ids: Vec<String> = named.iter().flatten().cloned().collect();
    let addresses: Vec<String> = nodes
        .iter()
        .zip(&named)
        .filter(|(_, id)| id.is_none())
        .filter_map(|(n, _)| n.internal_ip.clone())
        .collect();
    let listed_by_id = if ids.is_empty() {
        Vec::new()
    } else {
        ec2.instances(&ids).await?
    };
    let listed_by_address = if addresses.is_empty() {
        Vec::new()
    } else {
        ec2.instances_with_private_ips(&addresses).await?
    };
    let mut placed = Vec::new();
    for (node, id) in nodes.iter().zip(&named) {
        let found = match (id, &node.internal_ip) {
            (Some(id), _) => match listed_by_id.iter().find(|inst| &inst.id == id) {
                Some(instance) => Ok((instance.clone(), "providerID".to_owned())),
                None => Err(format!(
                    "its providerID names instance {id}, which EC2 in {region} does not list (terminated, or another region or account: set cluster.yaml's region)"
                )),
            },
            (None, Some(ip)) => by_address(&listed_by_address, ip, region),
            (None, None) => Err("it has neither a providerID nor an InternalIP".to_owned()),
        };
        match found {
            Ok((instance, how)) => {
                if instance.state != "running" {
                    out.not_running.push((
                        node.name.clone(),
                        instance.id.clone(),
                        instance.state.clone(),
                    ));
                }
                if let Some(was) = instance.tags.get(SOURCE_DEST_CHECK_WAS_TAG) {
                    out.source_dest_was
                        .insert(instance.id.clone(), was != "false");
                }
                out.found_from.insert(node.name.clone(), how);
                placed.push((node, instance));
            }
            Err(why) => out.unplaced.push(Unplaced {
                node: node.name.clone(),
                why,
            }),
        }
    }
    Ok(placed)
}

/// The one instance among `listed` with the private address `ip`.
fn by_address(listed: &[Instance], ip: &str, region: &str) -> Result<(Instance, String), String> {
    let matching: Vec<&Instance> = listed
        .iter()
        .filter(|inst| inst.private_ip.as_deref() == Some(ip))
        .collect();
    match matching.as_slice() {
        [instance] => Ok(((*instance).clone(), format!("InternalIP {ip}"))),
        [] => Err(format!(
            "no EC2 instance in {region} has the private address {ip} (another region or account: set cluster.yaml's region)"
        )),
        several => Err(format!(
            "{} instances in {region} have the private address {ip} ({}): set the node's providerID",
            several.len(),
            several
                .iter()
                .map(|i| i.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// A placed node's network facts.
fn node_net(node: &KubeNode, instance: &Instance, subnets: &[Subnet]) -> Result<NodeNet, String> {
    let private_ip = instance
        .private_ip
        .as_deref()
        .and_then(|ip| ip.parse::<Ipv4Addr>().ok())
        .ok_or_else(|| format!("instance {} has no private IPv4 address", instance.id))?;
    let subnet_id = instance.subnet.clone().unwrap_or_default();
    Ok(NodeNet {
        name: node.name.clone(),
        instance_id: instance.id.clone(),
        private_ip,
        groups: instance.groups.clone(),
        subnet_cidr: subnets
            .iter()
            .find(|s| s.id == subnet_id)
            .and_then(|s| s.cidr.as_deref())
            .and_then(|c| c.parse().ok()),
        subnet_id,
        vpc_id: instance.vpc.clone().unwrap_or_default(),
        source_dest_check: instance.source_dest_check.unwrap_or(true),
        control_plane: node.control_plane,
    })
}

/// A rule as the decision function takes it; `None` for an IPv6 rule (the nodes talk
/// IPv4), an error for a protocol EC2 should not list.
pub fn permission(rule: &Rule, installation: &str) -> Result<Option<Permission>, String> {
    let peer = match (&rule.referenced_group, &rule.prefix_list, &rule.cidr) {
        (Some(group), _, _) => Peer::Group(group.clone()),
        (None, Some(list), _) => Peer::PrefixList(list.clone()),
        (None, None, Some(cidr)) if cidr.contains(':') => return Ok(None),
        (None, None, Some(cidr)) => Peer::Cidr(cidr.parse().map_err(|_| {
            format!(
                "rule {} of {}: \"{cidr}\" is not an IPv4 network",
                rule.id, rule.group
            )
        })?),
        (None, None, None) => return Ok(None),
    };
    let protocol = Protocol::parse(&rule.protocol)
        .map_err(|err| format!("rule {} of {}: {err}", rule.id, rule.group))?;
    Ok(Some(Permission {
        id: rule.id.clone(),
        group: rule.group.clone(),
        direction: if rule.egress {
            Direction::Egress
        } else {
            Direction::Ingress
        },
        protocol,
        ports: crate::network::model::PortRange {
            from: rule.from_port,
            to: rule.to_port,
        },
        peer,
        owned: rule.tags.get(MANAGED_TAG).is_some_and(|v| v == "true")
            && rule
                .tags
                .get(CLUSTER_TAG)
                .is_some_and(|v| v == installation),
    }))
}

fn distinct(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

#[cfg(test)]
mod tests;
