//! The CNIs read from their DaemonSet alone: Weave Net, kube-router and the AWS VPC CNI.

use super::json;
use super::{Cni, CniObjects, Datapath, Encap, HostPorts, Toggle};

/// Weave Net: TCP 6783 and UDP 6783-6784 between all nodes; a password turns on encryption,
/// whose fast datapath uses ESP (weaveworks/weave site/how-it-works/encryption.md).
pub(super) fn weave(cni: &mut Cni, objects: &CniObjects) {
    cni.datapaths.push(Datapath::Tunnel(Encap::Weave));
    let encrypted = objects
        .daemon_sets
        .iter()
        .filter(|ds| json::daemon_set(ds, "kube-system", "weave-net"))
        .any(|ds| json::has_env(ds, "WEAVE_PASSWORD"));
    if encrypted {
        cni.evidence
            .push("weave-net env WEAVE_PASSWORD set: encrypted fast datapath uses ESP".into());
        cni.esp = true;
    }
    cni.host_ports = HostPorts::Unknown(
        "Weave Net relies on the portmap plugin on each node, which the API does not show".into(),
    );
}

/// kube-router: BGP between all nodes, native within a subnet and IP-in-IP across subnets
/// (its default overlay type `subnet`).
pub(super) fn kube_router(cni: &mut Cni) {
    cni.datapaths.push(Datapath::CrossSubnet(Encap::IpInIp));
    cni.bgp = Toggle::On;
    cni.evidence
        .push("kube-router: BGP between nodes, IP-in-IP across subnets (its defaults)".into());
}

/// The AWS VPC CNI: pods take addresses of the nodes' interfaces, so the nodes' groups
/// apply to pod traffic.
pub(super) fn aws_vpc(cni: &mut Cni) {
    cni.datapaths.push(Datapath::VpcAddresses);
    cni.evidence
        .push("aws-node: pods use VPC addresses, filtered by the nodes' groups".into());
}
