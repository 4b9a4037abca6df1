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
