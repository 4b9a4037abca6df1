//! Placing nodes on their instances and reading their groups' rules, against the in-memory
//! EC2.

use std::collections::BTreeMap;

use super::{KubeNode, permission, read};
use crate::aws::fake::{Fake, rule};
use crate::aws::model::{Instance, Rule, Subnet, Vpc};
use crate::aws::{CLUSTER_TAG, MANAGED_TAG, NETWORK_SCOPE, SCOPE_TAG, SOURCE_DEST_CHECK_WAS_TAG};
use crate::network::model::{Direction, NodeNet, Peer, Permission, PortRange, Protocol};

const REGION: &str = "eu-west-1";

fn instance(id: &str, ip: &str, group: &str, subnet: &str) -> Instance {
    Instance {
        id: id.into(),
        state: "running".into(),
        zone: Some("eu-west-1a".into()),
        private_ip: Some(ip.into()),
        public_ip: None,
        groups: vec![group.into()],
        subnet: Some(subnet.into()),
        vpc: Some("vpc-1".into()),
        source_dest_check: Some(true),
        interfaces: vec![],
        tags: BTreeMap::new(),
    }
}

fn subnet(id: &str, cidr: &str) -> Subnet {
    Subnet {
        id: id.into(),
        cidr: Some(cidr.into()),
        vpc: Some("vpc-1".into()),
        zone: Some("eu-west-1a".into()),
    }
}

/// The field report's EC2: the master in sg-master/subnet-a, the worker in
/// sg-worker/subnet-b, SSH open in both groups.
fn field_report(instances: Vec<Instance>) -> Fake {
    Fake {
        instances: instances.into(),
        subnets: vec![
            subnet("subnet-a", "10.0.1.0/24"),
            subnet("subnet-b", "10.0.2.0/24"),
        ],
        vpcs: vec![Vpc {
            id: "vpc-1".into(),
            cidrs: vec!["10.0.0.0/16".into()],
            ipv6_cidrs: vec![],
        }],
        ..Fake::with_rules(vec![
            rule("sgr-ssh-m", "sg-master", 22, "0.0.0.0/0", &[]),
            rule("sgr-ssh-w", "sg-worker", 22, "0.0.0.0/0", &[]),
            rule("sgr-other", "sg-elsewhere", 22, "0.0.0.0/0", &[]),
        ])
    }
}

fn master() -> Instance {
    instance("i-0master", "10.0.1.74", "sg-master", "subnet-a")
}

fn worker() -> Instance {
    instance("i-0worker", "10.0.2.15", "sg-worker", "subnet-b")
}

fn kube_node(name: &str, provider_id: Option<&str>, ip: Option<&str>) -> KubeNode {
    KubeNode {
        name: name.into(),
        provider_id: provider_id.map(str::to_owned),
        internal_ip: ip.map(str::to_owned),
        control_plane: name == "master",
        pod_cidrs: vec![],
    }
}

#[tokio::test]
async fn nodes_are_placed_by_provider_id_else_by_internal_ip() {
    let ec2 = field_report(vec![master(), worker()]);
    let nodes = [
        kube_node(
            "master",
            Some("aws:///eu-west-1a/i-0master"),
            Some("10.0.1.74"),
        ),
        kube_node("worker", None, Some("10.0.2.15")),
    ];
    let found = read(&ec2, REGION, &nodes, "obsboot").await.unwrap();
    assert!(found.unplaced.is_empty(), "{:?}", found.unplaced);
    assert_eq!(
        found.nodes,
        [
            NodeNet {
                name: "master".into(),
                instance_id: "i-0master".into(),
                private_ip: "10.0.1.74".parse().unwrap(),
                groups: vec!["sg-master".into()],
                subnet_id: "subnet-a".into(),
                subnet_cidr: Some("10.0.1.0/24".parse().unwrap()),
                vpc_id: "vpc-1".into(),
                source_dest_check: true,
                control_plane: true,
            },
            NodeNet {
                name: "worker".into(),
                instance_id: "i-0worker".into(),
                private_ip: "10.0.2.15".parse().unwrap(),
                groups: vec!["sg-worker".into()],
                subnet_id: "subnet-b".into(),
                subnet_cidr: Some("10.0.2.0/24".parse().unwrap()),
                vpc_id: "vpc-1".into(),
                source_dest_check: true,
                control_plane: false,
            },
        ]
    );
    assert_eq!(found.found_from["master"], "providerID");
    assert_eq!(found.found_from["worker"], "InternalIP 10.0.2.15");
    assert_eq!(found.vpc_cidrs, ["10.0.0.0/16".parse().unwrap()]);
    let rule_ids: Vec<&str> = found.rules.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        rule_ids,
        ["sgr-ssh-m", "sgr-ssh-w"],
        "only the placed nodes' groups"
    );
    // One DescribeInstances for every providerID, one for every address.
    assert_eq!(
        *ec2.reads.lock().unwrap(),
        [
            "DescribeInstances",
            "DescribeInstances",
            "DescribeSubnets",
            "DescribeVpcs"
        ]
    );
}

#[tokio::test]
async fn a_provider_id_naming_an_unknown_instance_leaves_the_node_unplaced() {
    let ec2 = field_report(vec![master()]);
    let nodes = [
        kube_node("master", Some("aws:///eu-west-1a/i-0master"), None),
        kube_node(
            "worker",
            Some("aws:///eu-west-1b/i-0gone"),
            Some("10.0.2.15"),
        ),
    ];
    let found = read(&ec2, REGION, &nodes, "obsboot").await.unwrap();
    assert_eq!(found.nodes.len(), 1);
    assert_eq!(found.unplaced.len(), 1);
    assert_eq!(found.unplaced[0].node, "worker");
    assert_eq!(
        found.unplaced[0].why,
        "its providerID names instance i-0gone, which EC2 in eu-west-1 does not list (terminated, or another region or account: set cluster.yaml's region)"
    );
}

#[tokio::test]
async fn two_instances_with_the_node_address_leave_it_unplaced_naming_both() {
    let mut twin = worker();
    twin.id = "i-0twin".into();
    twin.vpc = Some("vpc-2".into());
    let ec2 = field_report(vec![master(), worker(), twin]);
    let nodes = [kube_node("worker", None, Some("10.0.2.15"))];
    let found = read(&ec2, REGION, &nodes, "obsboot").await.unwrap();
    assert!(found.nodes.is_empty());
    assert_eq!(
        found.unplaced[0].why,
        "2 instances in eu-west-1 have the private address 10.0.2.15 (i-0worker, i-0twin): set the node's providerID"
    );
}

#[tokio::test]
async fn a_node_without_provider_id_or_address_is_unplaced_with_the_reason() {
    let ec2 = field_report(vec![master()]);
    let nodes = [
        kube_node("bare", None, None),
        kube_node("far", None, Some("172.31.0.9")),
    ];
    let found = read(&ec2, REGION, &nodes, "obsboot").await.unwrap();
    let whys: Vec<&str> = found.unplaced.iter().map(|u| u.why.as_str()).collect();
    assert_eq!(
        whys,
        [
            "it has neither a providerID nor an InternalIP",
            "no EC2 instance in eu-west-1 has the private address 172.31.0.9 (another region or account: set cluster.yaml's region)",
        ]
    );
    assert!(found.rules.is_empty());
}

#[tokio::test]
async fn a_stopped_instance_is_placed_and_reported_not_running() {
    let mut stopped = worker();
    stopped.state = "stopped".into();
    let ec2 = field_report(vec![master(), stopped]);
    let nodes = [kube_node("worker", Some("i-0worker"), None)];
    let found = read(&ec2, REGION, &nodes, "obsboot").await.unwrap();
    assert_eq!(found.nodes.len(), 1);
    assert_eq!(
        found.not_running,
        [("worker".into(), "i-0worker".into(), "stopped".into())]
    );
}

#[tokio::test]
async fn the_recorded_source_dest_check_is_read_from_the_instance_tag() {
    let mut turned_off = worker();
    turned_off.source_dest_check = Some(false);
    turned_off
        .tags
        .insert(SOURCE_DEST_CHECK_WAS_TAG.into(), "true".into());
    let mut was_off = master();
    was_off.source_dest_check = Some(false);
    was_off
        .tags
        .insert(SOURCE_DEST_CHECK_WAS_TAG.into(), "false".into());
    let ec2 = field_report(vec![was_off, turned_off]);
    let nodes = [
        kube_node("master", Some("aws:///eu-west-1a/i-0master"), None),
        kube_node("worker", Some("aws:///eu-west-1a/i-0worker"), None),
    ];
    let found = read(&ec2, REGION, &nodes, "obsboot").await.unwrap();
    assert_eq!(
        found.source_dest_was,
        BTreeMap::from([("i-0master".into(), false), ("i-0worker".into(), true)])
    );
    assert!(found.nodes.iter().all(|n| !n.source_dest_check));
}

#[tokio::test]
async fn rules_that_cannot_be_taken_in_are_named_and_ipv6_ones_left_out() {
    let mut gre = rule("sgr-gre", "sg-worker", 0, "10.0.0.0/16", &[]);
    gre.protocol = "gre".into();
    let mut v6 = rule("sgr-v6", "sg-worker", 22, "::/0", &[]);
    v6.egress = true;
    let ec2 = Fake {
        instances: vec![worker()].into(),
        ..Fake::with_rules(vec![gre, v6])
    };
    let nodes = [kube_node("worker", Some("i-0worker"), None)];
    let found = read(&ec2, REGION, &nodes, "obsboot").await.unwrap();
    assert!(found.rules.is_empty(), "{:?}", found.rules);
    assert_eq!(
        found.skipped_rules,
        [
            "rule sgr-gre of sg-worker: security-group rule protocol \"gre\" is not -1, tcp, udp, icmp or a protocol number"
        ]
    );
    // EC2 did not know the subnet: the node is placed without its range.
    assert_eq!(found.nodes[0].subnet_cidr, None);
}

fn described(id: &str) -> Rule {
    rule(id, "sg-worker", 10250, "10.0.0.0/16", &[])
}

fn converted(rule: &Rule) -> Permission {
    match permission(rule, "obsboot") {
        Ok(Some(permission)) => permission,
        other => panic!("{} is not taken in: {other:?}", rule.id),
    }
}

#[test]
fn a_cidr_rule_becomes_a_permission_with_its_ports_and_direction() {
    let mut out = described("sgr-1");
    out.egress = true;
    assert_eq!(
        converted(&out),
        Permission {
            id: "sgr-1".into(),
            group: "sg-worker".into(),
            direction: Direction::Egress,
            protocol: Protocol::Tcp,
            ports: PortRange::one(10250),
            peer: Peer::Cidr("10.0.0.0/16".parse().unwrap()),
            owned: false,
        }
    );
}

#[test]
fn a_group_reference_wins_over_the_rules_other_fields() {
    let mut by_group = described("sgr-1");
    by_group.cidr = None;
    by_group.referenced_group = Some("sg-master".into());
    assert_eq!(converted(&by_group).peer, Peer::Group("sg-master".into()));
}

#[test]
fn a_prefix_list_is_kept_as_one() {
    let mut listed = described("sgr-1");
    listed.cidr = None;
    listed.prefix_list = Some("pl-0abc".into());
    assert_eq!(converted(&listed).peer, Peer::PrefixList("pl-0abc".into()));
}

#[test]
fn ipv6_and_sourceless_rules_are_left_out_and_bad_ones_named() {
    let mut v6 = described("sgr-v6");
    v6.cidr = Some("2001:db8::/32".into());
    assert_eq!(permission(&v6, "obsboot"), Ok(None));

    let mut sourceless = described("sgr-none");
    sourceless.cidr = None;
    assert_eq!(permission(&sourceless, "obsboot"), Ok(None));

    let mut bad = described("sgr-bad");
    bad.cidr = Some("10.0.0.0/33".into());
    assert_eq!(
        permission(&bad, "obsboot"),
        Err("rule sgr-bad of sg-worker: \"10.0.0.0/33\" is not an IPv4 network".into())
    );
}

#[test]
fn a_protocol_number_is_kept_and_its_ports_as_ec2_lists_them() {
    let mut ipip = described("sgr-ipip");
    ipip.protocol = "4".into();
    ipip.from_port = -1;
    ipip.to_port = -1;
    let found = converted(&ipip);
    assert_eq!(found.protocol, Protocol::Number(4));
    assert_eq!(found.ports, PortRange::ALL);

    let mut all = described("sgr-all");
    all.protocol = "-1".into();
    assert_eq!(converted(&all).protocol, Protocol::All);
}

#[test]
fn only_rules_tagged_for_this_installation_are_owned() {
    let tagged = |tags: &[(&str, &str)]| {
        let mut r = described("sgr-1");
        r.tags = tags
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        converted(&r).owned
    };
    assert!(tagged(&[
        (MANAGED_TAG, "true"),
        (CLUSTER_TAG, "obsboot"),
        (SCOPE_TAG, NETWORK_SCOPE)
    ]));
    assert!(tagged(&[(MANAGED_TAG, "true"), (CLUSTER_TAG, "obsboot")]));
    assert!(!tagged(&[(MANAGED_TAG, "true"), (CLUSTER_TAG, "staging")]));
    assert!(!tagged(&[(MANAGED_TAG, "false"), (CLUSTER_TAG, "obsboot")]));
    assert!(!tagged(&[(CLUSTER_TAG, "obsboot")]));
    assert!(!tagged(&[]));
}
