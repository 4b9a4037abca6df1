//! Shared test fixtures: nodes and rules shaped as EC2 describes them.

use super::model::{Direction, NodeNet, Peer, Permission, PortRange, Protocol};

/// A node with one group per entry of `groups`.
pub(crate) fn node(
    name: &str,
    ip: &str,
    groups: &[&str],
    subnet: &str,
    control_plane: bool,
) -> NodeNet {
    NodeNet {
        name: name.into(),
        instance_id: format!("i-{name}"),
        private_ip: ip.parse().unwrap(),
        groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        subnet_id: subnet.into(),
        subnet_cidr: None,
        vpc_id: "vpc-1".into(),
        source_dest_check: true,
        control_plane,
    }
}

/// The field report's layout: master and worker in separate groups and subnets.
pub(crate) fn field_report_nodes() -> Vec<NodeNet> {
    vec![
        node(
            "ip-10-0-1-74",
            "10.0.1.74",
            &["sg-master"],
            "subnet-a",
            true,
        ),
        node(
            "ip-10-0-2-208",
            "10.0.2.208",
            &["sg-worker"],
            "subnet-b",
            false,
        ),
    ]
}

/// The field report's nodes, both in one shared group (as scholzj's module and kops's
/// single-group layouts have them).
pub(crate) fn shared_group_nodes() -> Vec<NodeNet> {
    let mut nodes = field_report_nodes();
    for node in &mut nodes {
        node.groups = vec!["sg-cluster".into()];
    }
    nodes
}

/// A rule parsed from EC2's strings: `protocol` as `ipProtocol`, ports -1 for all.
pub(crate) fn rule(
    id: &str,
    group: &str,
    direction: Direction,
    protocol: &str,
    from: i32,
    to: i32,
    peer: Peer,
) -> Permission {
    Permission {
        id: id.into(),
        group: group.into(),
        direction,
        protocol: Protocol::parse(protocol).unwrap(),
        ports: PortRange { from, to },
        peer,
        owned: false,
    }
}

/// An ingress rule from a CIDR.
pub(crate) fn ingress_cidr(
    id: &str,
    group: &str,
    protocol: &str,
    from: i32,
    to: i32,
    cidr: &str,
) -> Permission {
    rule(
        id,
        group,
        Direction::Ingress,
        protocol,
        from,
        to,
        Peer::Cidr(cidr.parse().unwrap()),
    )
}

/// An ingress rule referencing a group.
pub(crate) fn ingress_group(
    id: &str,
    group: &str,
    protocol: &str,
    from: i32,
    to: i32,
    source: &str,
) -> Permission {
    rule(
        id,
        group,
        Direction::Ingress,
        protocol,
        from,
        to,
        Peer::Group(source.into()),
    )
}

/// EC2's default egress rule: everything to everywhere.
pub(crate) fn default_egress(group: &str) -> Permission {
    rule(
        &format!("sgr-egress-{group}"),
        group,
        Direction::Egress,
        "-1",
        -1,
        -1,
        Peer::Cidr("0.0.0.0/0".parse().unwrap()),
    )
}

/// The field report's rules: SSH and the API server open to the world, default egress.
pub(crate) fn field_report_rules() -> Vec<Permission> {
    let mut rules = Vec::new();
    for group in ["sg-master", "sg-worker"] {
        rules.push(ingress_cidr(
            &format!("sgr-ssh-{group}"),
            group,
            "tcp",
            22,
            22,
            "0.0.0.0/0",
        ));
        rules.push(default_egress(group));
    }
    rules.push(ingress_cidr(
        "sgr-api",
        "sg-master",
        "tcp",
        6443,
        6443,
        "0.0.0.0/0",
    ));
    rules
}

/// Calico from its manifest: IP-in-IP always, BGP on, portmap chained, pool 192.168.0.0/16.
pub(crate) fn calico_ipip() -> super::cni::Cni {
    use super::cni::{Cni, CniKind, Datapath, Encap, HostPorts, Toggle};
    Cni {
        kind: CniKind::CalicoManifest,
        datapaths: vec![Datapath::Tunnel(Encap::IpInIp)],
        bgp: Toggle::On,
        bgp_port: 179,
        typha: false,
        typha_nodes: vec![],
        wireguard: None,
        esp: false,
        health_checks: false,
        host_ports: HostPorts::Supported("calico-config's CNI configuration chains portmap".into()),
        pod_cidrs: vec!["192.168.0.0/16".parse().unwrap()],
        evidence: vec!["IPPool default-ipv4-ippool 192.168.0.0/16 ipipMode=Always".into()],
        problems: vec![],
    }
}
