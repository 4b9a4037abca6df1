//! From the cluster to the security group: the control-plane node, its EC2 instance (by
//! providerID, else by private address, unless `--instance-id` names it), and the one group
//! to open ports in.

use tracing::warn;

use super::api::Ec2Api;
use super::error::{AwsError, RegionSource};
use super::model::{Group, Instance};
use crate::k8s::nodes::NodeFacts;
use crate::stack::SecurityGroupRef;

/// The instance and how it was found, for messages.
#[derive(Debug, Clone)]
pub struct Found {
    /// The instance.
    pub instance: Instance,
    /// How it was found, e.g. `providerID of node ip-10-0-1-74`.
    pub found_from: String,
}

/// What a providerID says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderId {
    /// The availability zone, when given.
    pub zone: Option<String>,
    /// The instance id.
    pub instance: String,
}

impl ProviderId {
    /// Parses the forms cloud-provider-aws accepts: `aws:///<zone>/<id>`, `aws:////<id>`,
    /// and a bare `i-...`.
    pub fn parse(text: &str) -> Option<Self> {
        let valid = |id: &str| id.starts_with("i-") && id.len() > 2 && !id.contains('/');
        if valid(text) {
            return Some(Self {
                zone: None,
                instance: text.to_owned(),
            });
        }
        let rest = text.strip_prefix("aws://")?;
        let mut parts = rest.trim_start_matches('/').rsplitn(2, '/');
        let instance = parts.next()?;
        let zone = parts.next().filter(|z| !z.is_empty()).map(str::to_owned);
        valid(instance).then(|| Self {
            zone,
            instance: instance.to_owned(),
        })
    }
}

/// The zone a node's providerID names, for the region when nothing else gives one.
pub fn zone_of(node: Option<&NodeFacts>) -> Option<String> {
    node.and_then(|n| n.provider_id.as_deref())
        .and_then(ProviderId::parse)
        .and_then(|p| p.zone)
}

/// Finds the EC2 instance: `instance_id` if given, else the node's providerID, else the
/// instance with the node's InternalIP.
pub async fn instance(
    ec2: &dyn Ec2Api,
    region: (&str, &RegionSource),
    node: Option<&NodeFacts>,
    instance_id: Option<&str>,
) -> Result<Found, AwsError> {
    let mut zone = None;
    let (id, found_from) = match (instance_id, node) {
        (Some(id), _) => (id.to_owned(), "--instance-id".to_owned()),
        (None, None) => {
            return Err(AwsError::NoControlPlaneNode {
                selector: String::new(),
            });
        }
        (None, Some(node)) => match &node.provider_id {
            Some(text) => {
                let parsed =
                    ProviderId::parse(text).ok_or_else(|| AwsError::ForeignProviderId {
                        node: node.name.clone(),
                        provider_id: text.clone(),
                    })?;
                zone = parsed.zone;
                (parsed.instance, format!("providerID of node {}", node.name))
            }
            None => return by_private_ip(ec2, region, node).await,
        },
    };
    let instance = ec2
        .instance(&id)
        .await?
        .ok_or_else(|| AwsError::InstanceNotFound {
            id: id.clone(),
            found_from: found_from.clone(),
            region: region.0.to_owned(),
            region_source: region.1.clone(),
        })?;
    if let (Some(named), Some(actual)) = (&zone, &instance.zone)
        && named != actual
    {
        warn!(
            "the node's providerID names zone {named}, but instance {} is in {actual}",
            instance.id
        );
    }
    if instance.state != "running" {
        warn!(
            "instance {} is {}: the ports obsboot opens answer only while it runs",
            instance.id, instance.state
        );
    }
    if let (Some(node), Some(ip)) = (node.filter(|_| instance_id.is_some()), &instance.private_ip)
        && node
            .internal_ip
            .as_deref()
            .is_some_and(|node_ip| node_ip != ip)
    {
        warn!(
            "instance {} has the private address {ip}, node {} has {}: is --instance-id the control-plane node's instance?",
            instance.id,
            node.name,
            node.internal_ip.as_deref().unwrap_or_default()
        );
    }
    Ok(Found {
        instance,
        found_from,
    })
}

async fn by_private_ip(
    ec2: &dyn Ec2Api,
    region: (&str, &RegionSource),
    node: &NodeFacts,
) -> Result<Found, AwsError> {
    let ip = node
        .internal_ip
        .clone()
        .ok_or_else(|| AwsError::NodeWithoutAddress {
            node: node.name.clone(),
        })?;
    let mut found = ec2.instances_with_private_ip(&ip).await?;
    match found.len() {
        0 => Err(AwsError::NoInstanceWithIp {
            node: node.name.clone(),
            ip,
            region: region.0.to_owned(),
            region_source: region.1.clone(),
        }),
        1 => Ok(Found {
            instance: found.remove(0),
            found_from: format!("private address {ip} of node {}", node.name),
        }),
        _ => Err(AwsError::SeveralInstancesWithIp {
            node: node.name.clone(),
            ip,
            ids: found.into_iter().map(|i| i.id).collect(),
        }),
    }
}

/// Chooses the group to open ports in.
pub async fn group(
    ec2: &dyn Ec2Api,
    region: &str,
    instance: &Instance,
    configured: &SecurityGroupRef,
) -> Result<Group, AwsError> {
    if let SecurityGroupRef::Id(id) = configured {
        let group = ec2
            .groups(std::slice::from_ref(id))
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| AwsError::GroupNotFound {
                id: id.clone(),
                found_from: "aws.securityGroup in cluster.yaml".into(),
                region: region.to_owned(),
            })?;
        if !instance.groups.contains(id) {
            warn!(
                "security group {id} (named in cluster.yaml) is not attached to instance {}: the ports it opens do not reach that node",
                instance.id
            );
        }
        return Ok(group);
    }
    if instance.groups.is_empty() {
        return Err(AwsError::NoGroup {
            instance: instance.id.clone(),
        });
    }
    let mut groups = ec2.groups(&instance.groups).await?;
    let tagged: Vec<usize> = groups
        .iter()
        .enumerate()
        .filter(|(_, g)| is_tagged(g))
        .map(|(index, _)| index)
        .collect();
    if let [index] = tagged[..] {
        return Ok(groups.swap_remove(index));
    }
    match groups.len() {
        0 => Err(AwsError::GroupNotFound {
            id: instance.groups.join(", "),
            found_from: format!("attached to instance {}", instance.id),
            region: region.to_owned(),
        }),
        1 if groups[0].is_default() => Err(AwsError::DefaultGroup {
            instance: instance.id.clone(),
            group: groups[0].id.clone(),
        }),
        1 => Ok(groups.remove(0)),
        _ => Err(AwsError::SeveralGroups {
            instance: instance.id.clone(),
            groups: groups
                .iter()
                .map(|g| {
                    let mark = if is_tagged(g) { ", tagged" } else { "" };
                    format!("{} ({}{mark})", g.id, g.name)
                })
                .collect(),
        }),
    }
}

fn is_tagged(group: &Group) -> bool {
    group.tags.get(super::INGRESS_GROUP_TAG).map(String::as_str) == Some("true")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_ids() {
        assert_eq!(
            ProviderId::parse("aws:///eu-west-1a/i-0abc"),
            Some(ProviderId {
                zone: Some("eu-west-1a".into()),
                instance: "i-0abc".into()
            })
        );
        assert_eq!(
            ProviderId::parse("aws:////i-0abc"),
            Some(ProviderId {
                zone: None,
                instance: "i-0abc".into()
            })
        );
        assert_eq!(
            ProviderId::parse("i-0abc").map(|p| p.instance),
            Some("i-0abc".into())
        );
        assert_eq!(ProviderId::parse("gce://project/zone/vm"), None);
        assert_eq!(ProviderId::parse("aws:///eu-west-1a/"), None);
        assert_eq!(ProviderId::parse("kind://docker/kind/node"), None);
    }
}
