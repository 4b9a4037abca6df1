//! The decision on rules alone: each row is a flow, the nodes and the rules, and what both
//! sides must conclude.

#![allow(clippy::too_many_lines)] // Table tests: one row per case, and the table is the test.

use super::*;
use crate::network::fixtures::calico_ipip;
use crate::network::fixtures::{
    default_egress, field_report_nodes, field_report_rules, ingress_cidr, ingress_group, rule,
    shared_group_nodes,
};
use crate::network::flows::{Confidence, Prometheus, required};
use crate::network::model::PortRange;

const MASTER: &str = "ip-10-0-1-74";
const WORKER: &str = "ip-10-0-2-208";
/// The master's view of itself as a peer in a missing rule.
const MASTER_PEER: &str = "sg-master (10.0.1.74)";
const WORKER_PEER: &str = "sg-worker (10.0.2.208)";
const POD_PEER: &str =
    "the pod network 192.168.0.0/16 (a group reference likely does not admit pod addresses)";

/// A flow between the nodes' own addresses.
fn flow(from: &str, to: &str, protocol: Protocol, ports: PortRange, carries: &str) -> Flow {
    Flow {
        from: from.into(),
        to: to.into(),
        protocol,
        ports,
        source: Source::NodeIp,
        carries: carries.into(),
        confidence: Confidence::Certain,
    }
}

fn ipip(from: &str, to: &str) -> Flow {
    flow(
        from,
        to,
        Protocol::Number(4),
        PortRange::ALL,
        "Calico IP-in-IP",
    )
}

fn tcp(from: &str, to: &str, port: u16, carries: &str) -> Flow {
    flow(from, to, Protocol::Tcp, PortRange::one(port), carries)
}

fn vxlan(from: &str, to: &str, port: u16) -> Flow {
    flow(from, to, Protocol::Udp, PortRange::one(port), "VXLAN")
}

/// Natively routed pod traffic: pod source addresses, every protocol.
fn native(from: &str, to: &str, pods: &[&str]) -> Flow {
    Flow {
        from: from.into(),
        to: to.into(),
        protocol: Protocol::All,
        ports: PortRange::ALL,
        source: Source::PodCidrs(pods.iter().map(|p| p.parse().unwrap()).collect()),
        carries: "Calico native pod routing".into(),
        confidence: Confidence::Likely,
    }
}

fn allowed(rules: &[(&str, &str, bool)]) -> Side {
    Side::Allowed(
        rules
            .iter()
            .map(|(id, group, owned)| RuleRef {
                id: (*id).into(),
                group: (*group).into(),
                owned: *owned,
            })
            .collect(),
    )
}

fn missing(groups: &[&str], peer: &str) -> Side {
    Side::Missing {
        groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        peer: peer.into(),
    }
}

/// `extra` plus EC2's default egress rule on both of the field report's groups.
fn with_default_egress(extra: Vec<Permission>) -> Vec<Permission> {
    let mut rules = extra;
    rules.push(default_egress("sg-master"));
    rules.push(default_egress("sg-worker"));
    rules
}

fn master_egress() -> Side {
    allowed(&[("sgr-egress-sg-master", "sg-master", false)])
}

fn worker_egress() -> Side {
    allowed(&[("sgr-egress-sg-worker", "sg-worker", false)])
}

struct Row {
    what: &'static str,
    nodes: Vec<NodeNet>,
    rules: Vec<Permission>,
    flow: Flow,
    outcome: Outcome,
    ingress: Side,
    egress: Side,
}

fn check(rows: Vec<Row>) {
    for row in rows {
        let evaluation = evaluate(&row.flow, &row.nodes, &row.rules);
        let what = row.what;
        assert_eq!(evaluation.ingress, row.ingress, "{what}: ingress");
        assert_eq!(evaluation.egress, row.egress, "{what}: egress");
        assert_eq!(
            evaluation.outcome(),
            row.outcome,
            "{what}: {}",
            evaluation.explain()
        );
        assert_eq!(
            evaluation.flow, row.flow,
            "{what}: the flow is carried along"
        );
    }
}

#[test]
fn group_references_admit_the_referenced_groups_nodes_and_only_those() {
    let to_worker = |protocol: &str, from: i32, to: i32| {
        with_default_egress(vec![ingress_group(
            "sgr-in",
            "sg-worker",
            protocol,
            from,
            to,
            "sg-master",
        )])
    };
    check(vec![
        Row {
            what: "a self-referencing group allowing everything",
            nodes: shared_group_nodes(),
            rules: vec![
                ingress_group("sgr-self", "sg-cluster", "-1", -1, -1, "sg-cluster"),
                default_egress("sg-cluster"),
            ],
            flow: ipip(MASTER, WORKER),
            outcome: Outcome::Allowed,
            ingress: allowed(&[("sgr-self", "sg-cluster", false)]),
            egress: allowed(&[("sgr-egress-sg-cluster", "sg-cluster", false)]),
        },
        Row {
            what: "the same self reference carries the reverse direction",
            nodes: shared_group_nodes(),
            rules: vec![
                ingress_group("sgr-self", "sg-cluster", "-1", -1, -1, "sg-cluster"),
                default_egress("sg-cluster"),
            ],
            flow: tcp(WORKER, MASTER, 179, "Calico BGP route exchange"),
            outcome: Outcome::Allowed,
            ingress: allowed(&[("sgr-self", "sg-cluster", false)]),
            egress: allowed(&[("sgr-egress-sg-cluster", "sg-cluster", false)]),
        },
        Row {
            what: "a reference to the other group",
            nodes: field_report_nodes(),
            rules: to_worker("tcp", 10250, 10250),
            flow: tcp(MASTER, WORKER, 10250, "kubelet API for logs and exec"),
            outcome: Outcome::Allowed,
            ingress: allowed(&[("sgr-in", "sg-worker", false)]),
            egress: master_egress(),
        },
        Row {
            what: "a reference on the worker's group does not admit traffic into the master",
            nodes: field_report_nodes(),
            rules: to_worker("tcp", 10250, 10250),
            flow: tcp(WORKER, MASTER, 10250, "Prometheus scraping the kubelet"),
            outcome: Outcome::Denied,
            ingress: missing(&["sg-master"], WORKER_PEER),
            egress: worker_egress(),
        },
        Row {
            what: "a reference to a group the sender is not in",
            nodes: field_report_nodes(),
            rules: with_default_egress(vec![ingress_group(
                "sgr-in",
                "sg-worker",
                "-1",
                -1,
                -1,
                "sg-bastion",
            )]),
            flow: ipip(MASTER, WORKER),
            outcome: Outcome::Denied,
            ingress: missing(&["sg-worker"], MASTER_PEER),
            egress: master_egress(),
        },
        Row {
            what: "protocol -1 admits any protocol on any port",
            nodes: field_report_nodes(),
            rules: to_worker("-1", -1, -1),
            flow: vxlan(MASTER, WORKER, 4789),
            outcome: Outcome::Allowed,
            ingress: allowed(&[("sgr-in", "sg-worker", false)]),
            egress: master_egress(),
        },
        Row {
            what: "a TCP range that contains the port",
            nodes: field_report_nodes(),
            rules: to_worker("tcp", 10000, 10300),
            flow: tcp(MASTER, WORKER, 10250, "kubelet API for logs and exec"),
            outcome: Outcome::Allowed,
            ingress: allowed(&[("sgr-in", "sg-worker", false)]),
            egress: master_egress(),
        },
        Row {
            what: "a TCP range that stops one port short",
            nodes: field_report_nodes(),
            rules: to_worker("tcp", 10251, 10300),
            flow: tcp(MASTER, WORKER, 10250, "kubelet API for logs and exec"),
            outcome: Outcome::Denied,
            ingress: missing(&["sg-worker"], MASTER_PEER),
            egress: master_egress(),
        },
        Row {
            what: "a UDP rule does not admit TCP on the same port",
            nodes: field_report_nodes(),
            rules: to_worker("udp", 179, 179),
            flow: tcp(MASTER, WORKER, 179, "Calico BGP route exchange"),
            outcome: Outcome::Denied,
            ingress: missing(&["sg-worker"], MASTER_PEER),
            egress: master_egress(),
        },
        Row {
            what: "protocol 4 with ports -1 admits IP-in-IP",
            nodes: field_report_nodes(),
            rules: to_worker("4", -1, -1),
            flow: ipip(MASTER, WORKER),
            outcome: Outcome::Allowed,
            ingress: allowed(&[("sgr-in", "sg-worker", false)]),
            egress: master_egress(),
        },
        Row {
            what: "protocol 4 does not admit VXLAN",
            nodes: field_report_nodes(),
            rules: to_worker("4", -1, -1),
            flow: vxlan(MASTER, WORKER, 4789),
            outcome: Outcome::Denied,
            ingress: missing(&["sg-worker"], MASTER_PEER),
            egress: master_egress(),
        },
        Row {
            what: "protocol 4 does not admit all traffic between the nodes' own addresses",
            nodes: field_report_nodes(),
            rules: to_worker("4", -1, -1),
            flow: flow(
                MASTER,
                WORKER,
                Protocol::All,
                PortRange::ALL,
                "AWS VPC CNI pod traffic on VPC addresses",
            ),
            outcome: Outcome::Denied,
            ingress: missing(&["sg-worker"], MASTER_PEER),
            egress: master_egress(),
        },
        Row {
            what: "a VXLAN rule on Calico's port does not admit flannel's",
            nodes: field_report_nodes(),
            rules: to_worker("udp", 4789, 4789),
            flow: vxlan(MASTER, WORKER, 8472),
            outcome: Outcome::Denied,
            ingress: missing(&["sg-worker"], MASTER_PEER),
            egress: master_egress(),
        },
    ]);
}

#[test]
fn cidrs_icmp_types_and_egress_are_matched_as_ec2_does() {
    let echo = || {
        flow(
            MASTER,
            WORKER,
            Protocol::Icmp,
            PortRange { from: 8, to: 0 },
            "Cilium health checks (ping)",
        )
    };
    let bgp = || tcp(MASTER, WORKER, 179, "Calico BGP route exchange");
    check(vec![
        Row {
            what: "a CIDR covering the sender's address",
            nodes: field_report_nodes(),
            rules: with_default_egress(vec![ingress_cidr(
                "sgr-vpc",
                "sg-worker",
                "tcp",
                179,
                179,
                "10.0.0.0/16",
            )]),
            flow: bgp(),
            outcome: Outcome::Allowed,
            ingress: allowed(&[("sgr-vpc", "sg-worker", false)]),
            egress: master_egress(),
        },
        Row {
            what: "a CIDR covering only the receiver's own subnet",
            nodes: field_report_nodes(),
            rules: with_default_egress(vec![ingress_cidr(
                "sgr-subnet",
                "sg-worker",
                "tcp",
                179,
                179,
                "10.0.2.0/24",
            )]),
            flow: bgp(),
            outcome: Outcome::Denied,
            ingress: missing(&["sg-worker"], MASTER_PEER),
            egress: master_egress(),
        },
        Row {
            what: "ICMP echo request by type, any code",
            nodes: field_report_nodes(),
            rules: with_default_egress(vec![ingress_group(
                "sgr-echo",
                "sg-worker",
                "icmp",
                8,
                -1,
                "sg-master",
            )]),
            flow: echo(),
            outcome: Outcome::Allowed,
            ingress: allowed(&[("sgr-echo", "sg-worker", false)]),
            egress: master_egress(),
        },
        Row {
            what: "ICMP echo reply only does not admit an echo request",
            nodes: field_report_nodes(),
            rules: with_default_egress(vec![ingress_group(
                "sgr-reply",
                "sg-worker",
                "icmp",
                0,
                -1,
                "sg-master",
            )]),
            flow: echo(),
            outcome: Outcome::Denied,
            ingress: missing(&["sg-worker"], MASTER_PEER),
            egress: master_egress(),
        },
        Row {
            what: "a TCP rule over every port does not admit ICMP",
            nodes: field_report_nodes(),
            rules: with_default_egress(vec![ingress_group(
                "sgr-tcp",
                "sg-worker",
                "tcp",
                0,
                65535,
                "sg-master",
            )]),
            flow: echo(),
            outcome: Outcome::Denied,
            ingress: missing(&["sg-worker"], MASTER_PEER),
            egress: master_egress(),
        },
        Row {
            what: "the default egress rule revoked on the sender",
            nodes: field_report_nodes(),
            rules: vec![
                ingress_group("sgr-in", "sg-worker", "-1", -1, -1, "sg-master"),
                default_egress("sg-worker"),
            ],
            flow: ipip(MASTER, WORKER),
            outcome: Outcome::Denied,
            ingress: allowed(&[("sgr-in", "sg-worker", false)]),
            egress: missing(&["sg-master"], WORKER_PEER),
        },
        Row {
            what: "egress restricted to the peer group on the carrier's port, as Cilium's table has it",
            nodes: field_report_nodes(),
            rules: vec![
                ingress_group("sgr-in", "sg-worker", "udp", 8472, 8472, "sg-master"),
                rule(
                    "sgr-out",
                    "sg-master",
                    Direction::Egress,
                    "udp",
                    8472,
                    8472,
                    Peer::Group("sg-worker".into()),
                ),
            ],
            flow: vxlan(MASTER, WORKER, 8472),
            outcome: Outcome::Allowed,
            ingress: allowed(&[("sgr-in", "sg-worker", false)]),
            egress: allowed(&[("sgr-out", "sg-master", false)]),
        },
        Row {
            what: "egress restricted to another port",
            nodes: field_report_nodes(),
            rules: vec![
                ingress_group("sgr-in", "sg-worker", "-1", -1, -1, "sg-master"),
                rule(
                    "sgr-out",
                    "sg-master",
                    Direction::Egress,
                    "udp",
                    8472,
                    8472,
                    Peer::Group("sg-worker".into()),
                ),
            ],
            flow: ipip(MASTER, WORKER),
            outcome: Outcome::Denied,
            ingress: allowed(&[("sgr-in", "sg-worker", false)]),
            egress: missing(&["sg-master"], WORKER_PEER),
        },
        Row {
            what: "an ingress rule in the sender's group does not admit what the receiver gets",
            nodes: field_report_nodes(),
            rules: with_default_egress(vec![ingress_group(
                "sgr-in",
                "sg-master",
                "-1",
                -1,
                -1,
                "sg-master",
            )]),
            flow: ipip(MASTER, WORKER),
            outcome: Outcome::Denied,
            ingress: missing(&["sg-worker"], MASTER_PEER),
            egress: master_egress(),
        },
    ]);
}

#[test]
fn prefix_lists_unknown_nodes_and_unknown_pod_networks_leave_the_answer_open() {
    let prefix_list = || {
        rule(
            "sgr-pl",
            "sg-worker",
            Direction::Ingress,
            "-1",
            -1,
            -1,
            Peer::PrefixList("pl-0abc".into()),
        )
    };
    let unread =
        "it may be admitted by prefix list pl-0abc (rule sgr-pl), whose entries are not read";
    check(vec![
        Row {
            what: "only a prefix list could admit it",
            nodes: field_report_nodes(),
            rules: with_default_egress(vec![prefix_list()]),
            flow: ipip(MASTER, WORKER),
            outcome: Outcome::Unknown,
            ingress: Side::Unknown(unread.into()),
            egress: master_egress(),
        },
        Row {
            what: "a prefix list beside a rule that admits it",
            nodes: field_report_nodes(),
            rules: with_default_egress(vec![
                prefix_list(),
                ingress_group("sgr-ipip", "sg-worker", "4", -1, -1, "sg-master"),
            ]),
            flow: ipip(MASTER, WORKER),
            outcome: Outcome::Allowed,
            ingress: allowed(&[("sgr-ipip", "sg-worker", false)]),
            egress: master_egress(),
        },
        Row {
            what: "a prefix list does not make up for a missing egress",
            nodes: field_report_nodes(),
            rules: vec![prefix_list(), default_egress("sg-worker")],
            flow: ipip(MASTER, WORKER),
            outcome: Outcome::Denied,
            ingress: Side::Unknown(unread.into()),
            egress: missing(&["sg-master"], WORKER_PEER),
        },
        Row {
            what: "a node without network facts",
            nodes: field_report_nodes(),
            rules: with_default_egress(vec![]),
            flow: ipip(MASTER, "ip-10-0-3-9"),
            outcome: Outcome::Unknown,
            ingress: Side::Unknown("node ip-10-0-1-74 or ip-10-0-3-9 has no network facts".into()),
            egress: Side::Unknown("node ip-10-0-1-74 or ip-10-0-3-9 has no network facts".into()),
        },
        Row {
            what: "native routing with no known pod network",
            nodes: field_report_nodes(),
            rules: with_default_egress(vec![ingress_cidr(
                "sgr-pods",
                "sg-worker",
                "-1",
                -1,
                -1,
                "192.168.0.0/16",
            )]),
            flow: native(MASTER, WORKER, &[]),
            outcome: Outcome::Unknown,
            ingress: Side::Unknown("the pod network is not known".into()),
            egress: Side::Unknown("the pod network is not known".into()),
        },
    ]);
}

#[test]
fn native_pod_traffic_is_admitted_only_by_a_cidr_holding_the_whole_pod_network() {
    let pods = &["192.168.0.0/16"];
    let into_worker = |rule: Permission| with_default_egress(vec![rule]);
    check(vec![
        Row {
            what: "a reference to the sender's group admits node addresses, not pod addresses",
            nodes: field_report_nodes(),
            rules: into_worker(ingress_group(
                "sgr-all",
                "sg-worker",
                "-1",
                -1,
                -1,
                "sg-master",
            )),
            flow: native(MASTER, WORKER, pods),
            outcome: Outcome::Denied,
            ingress: missing(&["sg-worker"], POD_PEER),
            egress: master_egress(),
        },
        Row {
            what: "a self reference in a shared group does not either",
            nodes: shared_group_nodes(),
            rules: vec![
                ingress_group("sgr-self", "sg-cluster", "-1", -1, -1, "sg-cluster"),
                default_egress("sg-cluster"),
            ],
            flow: native(MASTER, WORKER, pods),
            outcome: Outcome::Denied,
            ingress: missing(&["sg-cluster"], POD_PEER),
            egress: allowed(&[("sgr-egress-sg-cluster", "sg-cluster", false)]),
        },
        Row {
            what: "every protocol from the whole pod network",
            nodes: field_report_nodes(),
            rules: into_worker(ingress_cidr(
                "sgr-pods",
                "sg-worker",
                "-1",
                -1,
                -1,
                "192.168.0.0/16",
            )),
            flow: native(MASTER, WORKER, pods),
            outcome: Outcome::Allowed,
            ingress: allowed(&[("sgr-pods", "sg-worker", false)]),
            egress: master_egress(),
        },
        Row {
            what: "a wider range that holds the pod network",
            nodes: field_report_nodes(),
            rules: into_worker(ingress_cidr(
                "sgr-wide",
                "sg-worker",
                "-1",
                -1,
                -1,
                "192.168.0.0/15",
            )),
            flow: native(MASTER, WORKER, pods),
            outcome: Outcome::Allowed,
            ingress: allowed(&[("sgr-wide", "sg-worker", false)]),
            egress: master_egress(),
        },
        Row {
            what: "one node's block of the pod network",
            nodes: field_report_nodes(),
            rules: into_worker(ingress_cidr(
                "sgr-block",
                "sg-worker",
                "-1",
                -1,
                -1,
                "192.168.1.0/24",
            )),
            flow: native(MASTER, WORKER, pods),
            outcome: Outcome::Denied,
            ingress: missing(&["sg-worker"], POD_PEER),
            egress: master_egress(),
        },
        Row {
            what: "the VPC's range, which holds the node but not the pods",
            nodes: field_report_nodes(),
            rules: into_worker(ingress_cidr(
                "sgr-vpc",
                "sg-worker",
                "-1",
                -1,
                -1,
                "10.0.0.0/16",
            )),
            flow: native(MASTER, WORKER, pods),
            outcome: Outcome::Denied,
            ingress: missing(&["sg-worker"], POD_PEER),
            egress: master_egress(),
        },
        Row {
            what: "IP-in-IP alone from the pod network does not carry every protocol",
            nodes: field_report_nodes(),
            rules: into_worker(ingress_cidr(
                "sgr-pods-ipip",
                "sg-worker",
                "4",
                -1,
                -1,
                "192.168.0.0/16",
            )),
            flow: native(MASTER, WORKER, pods),
            outcome: Outcome::Denied,
            ingress: missing(&["sg-worker"], POD_PEER),
            egress: master_egress(),
        },
        Row {
            what: "TCP alone from the pod network does not carry every protocol",
            nodes: field_report_nodes(),
            rules: into_worker(ingress_cidr(
                "sgr-pods-tcp",
                "sg-worker",
                "tcp",
                0,
                65535,
                "192.168.0.0/16",
            )),
            flow: native(MASTER, WORKER, pods),
            outcome: Outcome::Denied,
            ingress: missing(&["sg-worker"], POD_PEER),
            egress: master_egress(),
        },
    ]);
}

#[test]
fn rules_obsboot_does_not_own_still_count_and_are_named_as_such() {
    let nodes = field_report_nodes();
    let mut ours = ingress_group("sgr-ours", "sg-worker", "4", -1, -1, "sg-master");
    ours.owned = true;
    let theirs = ingress_group("sgr-theirs", "sg-worker", "-1", -1, -1, "sg-master");

    let foreign = evaluate(
        &ipip(MASTER, WORKER),
        &nodes,
        &with_default_egress(vec![theirs.clone()]),
    );
    assert_eq!(foreign.outcome(), Outcome::Allowed);
    assert_eq!(
        foreign.ingress,
        allowed(&[("sgr-theirs", "sg-worker", false)])
    );
    assert_eq!(
        foreign.explain(),
        "IP protocol 4 from ip-10-0-1-74 to ip-10-0-2-208 (Calico IP-in-IP): allowed: \
         ingress allowed by sgr-theirs (sg-worker, not obsboot's); \
         egress allowed by sgr-egress-sg-master (sg-master, not obsboot's)"
    );

    let both = evaluate(
        &ipip(MASTER, WORKER),
        &nodes,
        &with_default_egress(vec![theirs, ours]),
    );
    assert_eq!(
        both.ingress,
        allowed(&[
            ("sgr-theirs", "sg-worker", false),
            ("sgr-ours", "sg-worker", true),
        ])
    );
    assert!(
        both.explain().contains(
            "ingress allowed by sgr-theirs (sg-worker, not obsboot's), sgr-ours (sg-worker);"
        ),
        "{}",
        both.explain()
    );
}

#[test]
fn the_explanation_names_the_group_missing_a_rule_and_the_peer_it_must_admit() {
    let nodes = field_report_nodes();
    let rules = field_report_rules();
    let rows = [
        (
            ipip(MASTER, WORKER),
            "IP protocol 4 from ip-10-0-1-74 to ip-10-0-2-208 (Calico IP-in-IP): denied: \
             no ingress rule of sg-worker admits it from sg-master (10.0.1.74); \
             egress allowed by sgr-egress-sg-master (sg-master, not obsboot's)",
        ),
        (
            tcp(WORKER, MASTER, 179, "Calico BGP route exchange"),
            "TCP port 179 from ip-10-0-2-208 to ip-10-0-1-74 (Calico BGP route exchange): denied: \
             no ingress rule of sg-master admits it from sg-worker (10.0.2.208); \
             egress allowed by sgr-egress-sg-worker (sg-worker, not obsboot's)",
        ),
        (
            flow(
                MASTER,
                WORKER,
                Protocol::Icmp,
                PortRange { from: 8, to: 0 },
                "Cilium health checks (ping)",
            ),
            "ICMP type 8 code 0 from ip-10-0-1-74 to ip-10-0-2-208 (Cilium health checks (ping)): denied: \
             no ingress rule of sg-worker admits it from sg-master (10.0.1.74); \
             egress allowed by sgr-egress-sg-master (sg-master, not obsboot's)",
        ),
        (
            native(MASTER, WORKER, &["192.168.0.0/16"]),
            "all protocols from ip-10-0-1-74 to ip-10-0-2-208 (Calico native pod routing): denied: \
             no ingress rule of sg-worker admits it from the pod network 192.168.0.0/16 \
             (a group reference likely does not admit pod addresses); \
             egress allowed by sgr-egress-sg-master (sg-master, not obsboot's)",
        ),
    ];
    for (flow, expected) in rows {
        assert_eq!(evaluate(&flow, &nodes, &rules).explain(), expected);
    }

    let revoked = evaluate(
        &ipip(MASTER, WORKER),
        &nodes,
        &[ingress_group(
            "sgr-in",
            "sg-worker",
            "-1",
            -1,
            -1,
            "sg-master",
        )],
    );
    assert_eq!(
        revoked.explain(),
        "IP protocol 4 from ip-10-0-1-74 to ip-10-0-2-208 (Calico IP-in-IP): denied: \
         ingress allowed by sgr-in (sg-worker, not obsboot's); \
         no egress rule of sg-master admits it to sg-worker (10.0.2.208)"
    );
}

/// `from -> to protocol ports (carries)`, for comparing lists of flows.
fn named(evaluation: &Evaluation) -> String {
    let flow = &evaluation.flow;
    format!(
        "{} -> {} {} ({})",
        flow.from,
        flow.to,
        flow.protocol.with_ports(flow.ports),
        flow.carries
    )
}

#[test]
fn the_field_report_with_only_ssh_and_the_api_server_open_denies_every_flow_between_nodes() {
    let nodes = field_report_nodes();
    let cni = calico_ipip();
    let needs = required(
        &cni,
        &nodes,
        &cni.pod_cidrs,
        &Prometheus::On(vec![MASTER.into()]),
    );
    assert!(needs.impossible.is_empty());
    assert!(needs.source_dest_check.is_empty());

    let evaluations = evaluate_all(&needs.flows, &nodes, &field_report_rules());
    assert_eq!(evaluations.len(), needs.flows.len());
    let denied: Vec<String> = evaluations
        .iter()
        .filter(|e| e.outcome() == Outcome::Denied)
        .map(named)
        .collect();
    assert_eq!(
        denied,
        [
            "ip-10-0-1-74 -> ip-10-0-2-208 IP protocol 4 (Calico IP-in-IP)",
            "ip-10-0-1-74 -> ip-10-0-2-208 TCP port 179 (Calico BGP route exchange)",
            "ip-10-0-1-74 -> ip-10-0-2-208 TCP port 10250 (kubelet API for logs and exec)",
            "ip-10-0-1-74 -> ip-10-0-2-208 TCP port 9100 (Prometheus scraping node-exporter)",
            "ip-10-0-1-74 -> ip-10-0-2-208 TCP port 10250 (Prometheus scraping the kubelet)",
            "ip-10-0-2-208 -> ip-10-0-1-74 IP protocol 4 (Calico IP-in-IP)",
            "ip-10-0-2-208 -> ip-10-0-1-74 TCP port 179 (Calico BGP route exchange)",
        ]
    );
    assert_eq!(denied.len(), evaluations.len(), "nothing is allowed");
    for evaluation in &evaluations {
        // The default egress carries everything; the receiving group lacks the rule.
        let (group, peer, egress) = if evaluation.flow.to == WORKER {
            ("sg-worker", MASTER_PEER, master_egress())
        } else {
            ("sg-master", WORKER_PEER, worker_egress())
        };
        assert_eq!(
            evaluation.ingress,
            missing(&[group], peer),
            "{}",
            named(evaluation)
        );
        assert_eq!(evaluation.egress, egress, "{}", named(evaluation));
    }

    // The tutorial's usual extras, 10250 and the NodePorts from anywhere, carry the
    // kubelet flows by CIDR and nothing of Calico's.
    let mut opened = field_report_rules();
    opened.push(ingress_cidr(
        "sgr-kubelet",
        "sg-worker",
        "tcp",
        10250,
        10250,
        "0.0.0.0/0",
    ));
    opened.push(ingress_cidr(
        "sgr-nodeports",
        "sg-worker",
        "tcp",
        30000,
        32767,
        "0.0.0.0/0",
    ));
    let evaluations = evaluate_all(&needs.flows, &nodes, &opened);
    let denied: Vec<String> = evaluations
        .iter()
        .filter(|e| e.outcome() == Outcome::Denied)
        .map(named)
        .collect();
    assert_eq!(
        denied,
        [
            "ip-10-0-1-74 -> ip-10-0-2-208 IP protocol 4 (Calico IP-in-IP)",
            "ip-10-0-1-74 -> ip-10-0-2-208 TCP port 179 (Calico BGP route exchange)",
            "ip-10-0-1-74 -> ip-10-0-2-208 TCP port 9100 (Prometheus scraping node-exporter)",
            "ip-10-0-2-208 -> ip-10-0-1-74 IP protocol 4 (Calico IP-in-IP)",
            "ip-10-0-2-208 -> ip-10-0-1-74 TCP port 179 (Calico BGP route exchange)",
        ]
    );
    let kubelet: Vec<&Evaluation> = evaluations
        .iter()
        .filter(|e| e.outcome() == Outcome::Allowed)
        .collect();
    assert_eq!(kubelet.len(), 2);
    for evaluation in kubelet {
        assert_eq!(evaluation.flow.ports, PortRange::one(10250));
        assert_eq!(
            evaluation.ingress,
            allowed(&[("sgr-kubelet", "sg-worker", false)])
        );
    }
}
