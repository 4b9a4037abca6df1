//! `cluster.yaml`: what "the control-plane node" means on this cluster, where its security
//! group is, and who may reach exposed ports.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::fields::{Cidr, DnsLabel, LabelKey, LabelValue, Region, SecurityGroupRef, TaintEffect};
use super::kind::FileKind;
use crate::source::Located;

/// `cluster.yaml` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct ClusterFile {
    #[allow(dead_code)] // identifies the file; checked before this type is parsed
    pub kind: FileKind,
    pub name: DnsLabel,
    pub control_plane: ControlPlaneDecl,
    pub aws: AwsDecl,
    pub ingress: IngressDecl,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct ControlPlaneDecl {
    pub node_selector: BTreeMap<LabelKey, LabelValue>,
    pub taints: Vec<Taint>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct AwsDecl {
    pub region: Region,
    pub security_group: SecurityGroupRef,
    /// Leave the security groups to the user (a cluster not on EC2, or a firewall managed
    /// elsewhere).
    #[serde(default)]
    pub skip_security_groups: bool,
    /// The account's quota of inbound rules per security group, if raised above EC2's
    /// default.
    #[serde(default)]
    pub rules_per_group: Option<RulesPerGroup>,
}

/// EC2's quota of inbound rules per security group (per address family): 1 to 1000.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RulesPerGroup(pub u16);

/// EC2's default quota.
pub const DEFAULT_RULES_PER_GROUP: u16 = 60;

impl<'de> Deserialize<'de> for RulesPerGroup {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Quota;

        impl serde::de::Visitor<'_> for Quota {
            type Value = RulesPerGroup;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a number of rules from 1 to 1000")
            }

            fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<RulesPerGroup, E> {
                match u16::try_from(value) {
                    Ok(n @ 1..=1000) => Ok(RulesPerGroup(n)),
                    _ => Err(E::custom(format!(
                        "{value} is not a rules-per-group quota: EC2 allows 1 to 1000 (the default is {DEFAULT_RULES_PER_GROUP})"
                    ))),
                }
            }

            fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<RulesPerGroup, E> {
                match u64::try_from(value) {
                    Ok(value) => self.visit_u64(value),
                    Err(_) => Err(E::custom(format!(
                        "{value} is not a rules-per-group quota: EC2 allows 1 to 1000 (the default is {DEFAULT_RULES_PER_GROUP})"
                    ))),
                }
            }
        }

        deserializer.deserialize_u64(Quota)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct IngressDecl {
    pub sources: Vec<Cidr>,
}

/// A taint that pinned workloads tolerate.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Taint {
    /// The taint key, such as `node-role.kubernetes.io/control-plane`.
    pub key: LabelKey,
    /// Its effect.
    pub effect: TaintEffect,
}

/// The validated cluster description.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cluster {
    /// Names this installation (AWS rule tags, in-cluster records).
    pub name: DnsLabel,
    /// Labels that select the control-plane node.
    pub node_selector: BTreeMap<LabelKey, LabelValue>,
    /// Where the selector is written, for messages.
    #[serde(skip)]
    pub node_selector_at: crate::source::Location,
    /// Taints of the control-plane node.
    pub taints: Vec<Taint>,
    /// The AWS region.
    #[serde(serialize_with = "display")]
    pub region: Region,
    /// The security group that receives the ingress rules.
    #[serde(serialize_with = "display")]
    pub security_group: SecurityGroupRef,
    /// Whether the user manages the security group (obsboot then only reports the ports).
    pub skip_security_groups: bool,
    /// The quota of inbound rules per group the pre-flight checks against.
    pub rules_per_group: u16,
    /// Default sources for exposed ports.
    #[serde(skip)]
    pub sources: Vec<Located<Cidr>>,
}

fn display<T: std::fmt::Display, S: serde::Serializer>(
    value: &T,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_str(value)
}
