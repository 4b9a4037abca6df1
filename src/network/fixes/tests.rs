use super::*;
use crate::network::cni::Datapath;
use crate::network::fixtures::calico_ipip;
use crate::network::fixtures::{
    field_report_nodes, field_report_rules, ingress_group, shared_group_nodes,
};
use crate::network::flows::{Prometheus, required};
use crate::network::verdict::evaluate_all;

fn shown(rules: &[NewRule]) -> Vec<String> {
    rules.iter().map(ToString::to_string).collect()
}

#[test]
fn the_field_report_gets_exactly_the_group_referenced_rules() {
    let nodes = field_report_nodes();
    let rules = field_report_rules();
    let cni = calico_ipip();
    let needs = required(
        &cni,
        &nodes,
        &cni.pod_cidrs,
        &Prometheus::On(vec!["ip-10-0-1-74".into()]),
    );
    let evaluations = evaluate_all(&needs.flows, &nodes, &rules);
    let denied: Vec<String> = evaluations
        .iter()
        .filter(|e| e.outcome() == Outcome::Denied)
        .map(|e| format!("{} -> {} {}", e.flow.from, e.flow.to, e.flow.carries))
        .collect();
    assert_eq!(
        denied,
        [
            "ip-10-0-1-74 -> ip-10-0-2-208 Calico IP-in-IP",
            "ip-10-0-1-74 -> ip-10-0-2-208 Calico BGP route exchange",
            "ip-10-0-1-74 -> ip-10-0-2-208 kubelet API for logs and exec",
            "ip-10-0-1-74 -> ip-10-0-2-208 Prometheus scraping node-exporter",
            "ip-10-0-1-74 -> ip-10-0-2-208 Prometheus scraping the kubelet",
            "ip-10-0-2-208 -> ip-10-0-1-74 Calico IP-in-IP",
            "ip-10-0-2-208 -> ip-10-0-1-74 Calico BGP route exchange",
        ]
    );
    let fix = plan(&evaluations, &needs, &nodes, &rules, Profile::Minimal);
    assert_eq!(
        shown(&fix.rules),
        [
            "sg-master <- sg-worker: TCP port 179 (Calico BGP route exchange)",
            "sg-master <- sg-worker: IP protocol 4 (Calico IP-in-IP)",
            "sg-worker <- sg-master: TCP port 179 (Calico BGP route exchange)",
            "sg-worker <- sg-master: TCP port 9100 (Prometheus scraping node-exporter)",
            "sg-worker <- sg-master: TCP port 10250 (kubelet API for logs and exec, Prometheus scraping the kubelet)",
            "sg-worker <- sg-master: IP protocol 4 (Calico IP-in-IP)",
        ]
    );
    assert!(fix.manual.is_empty(), "{:?}", fix.manual);
    assert!(fix.source_dest_check.is_empty());

    // With the plan's rules in place, every flow passes and a second plan adds nothing.
    let mut after = rules.clone();
    for (i, rule) in fix.rules.iter().enumerate() {
        let RuleSource::Group(source) = &rule.source else {
            panic!("the field report needs no CIDR rule")
        };
        let mut added = ingress_group(
            &format!("sgr-new-{i}"),
            &rule.group,
            &rule.protocol.ec2(),
            rule.ports.from,
            rule.ports.to,
            source,
        );
        added.owned = true;
        after.push(added);
    }
    let again = evaluate_all(&needs.flows, &nodes, &after);
    assert!(
        again.iter().all(|e| e.outcome() == Outcome::Allowed),
        "{:?}",
        again.iter().map(Evaluation::explain).collect::<Vec<_>>()
    );
    assert!(
        plan(&again, &needs, &nodes, &after, Profile::Minimal)
            .rules
            .is_empty()
    );
}

#[test]
fn a_shared_group_gets_one_self_reference() {
    let mut nodes = field_report_nodes();
    for node in &mut nodes {
        node.groups = vec!["sg-cluster".into()];
    }
    let rules = vec![crate::network::fixtures::default_egress("sg-cluster")];
    let cni = calico_ipip();
    let needs = required(&cni, &nodes, &cni.pod_cidrs, &Prometheus::Absent);
    let fix = plan(
        &evaluate_all(&needs.flows, &nodes, &rules),
        &needs,
        &nodes,
        &rules,
        Profile::Minimal,
    );
    assert_eq!(
        shown(&fix.rules),
        [
            "sg-cluster <- sg-cluster: TCP port 179 (Calico BGP route exchange)",
            "sg-cluster <- sg-cluster: TCP port 10250 (kubelet API for logs and exec)",
            "sg-cluster <- sg-cluster: IP protocol 4 (Calico IP-in-IP)",
        ]
    );
}

#[test]
fn all_traffic_references_every_group_pair_and_native_routing_gets_only_the_pod_network() {
    let mut nodes = field_report_nodes();
    for node in &mut nodes {
        node.subnet_id = "subnet-a".into();
    }
    let rules = field_report_rules();
    let mut cni = calico_ipip();
    cni.datapaths = vec![Datapath::Native];
    let needs = required(&cni, &nodes, &cni.pod_cidrs, &Prometheus::Absent);
    assert_eq!(needs.source_dest_check.len(), 2);
    let evaluations = evaluate_all(&needs.flows, &nodes, &rules);
    let fix = plan(&evaluations, &needs, &nodes, &rules, Profile::AllTraffic);
    assert_eq!(
        shown(&fix.rules),
        [
            "sg-master <- sg-worker: all protocols (all traffic between the cluster's nodes)",
            "sg-master <- 192.168.0.0/16: all protocols (Calico native pod routing)",
            "sg-worker <- sg-master: all protocols (all traffic between the cluster's nodes)",
            "sg-worker <- 192.168.0.0/16: all protocols (Calico native pod routing)",
        ]
    );
    assert_eq!(fix.source_dest_check.len(), 2);
    assert!(
        fix.rules
            .iter()
            .all(|r| r.source != RuleSource::Cidr("0.0.0.0/0".parse().unwrap()))
    );
}

#[test]
fn the_command_sets_ports_for_protocol_numbers_and_tags_the_rule() {
    let rule = NewRule {
        group: "sg-worker".into(),
        protocol: Protocol::Number(4),
        ports: PortRange::ALL,
        source: RuleSource::Group("sg-master".into()),
        carries: vec!["Calico IP-in-IP".into()],
    };
    let command = rule.command(&[("obsboot.dev/managed".into(), "true".into())]);
    assert_eq!(
        command,
        "# IP protocol 4 has no ports: FromPort/ToPort -1 stand for all of them (EC2 ignores ports for this protocol; moto refuses the rule without them)\n\
         aws ec2 authorize-security-group-ingress --group-id sg-worker --ip-permissions '[{\"FromPort\":-1,\"IpProtocol\":\"4\",\"ToPort\":-1,\"UserIdGroupPairs\":[{\"Description\":\"obsboot: network: Calico IP-in-IP\",\"GroupId\":\"sg-master\"}]}]' --tag-specifications '[{\"ResourceType\":\"security-group-rule\",\"Tags\":[{\"Key\":\"obsboot.dev/managed\",\"Value\":\"true\"}]}]'"
    );
}

#[test]
fn a_rule_for_every_protocol_takes_in_the_narrower_ones_from_the_same_source() {
    let mut nodes = shared_group_nodes();
    for node in &mut nodes {
        node.subnet_id = "subnet-a".into();
    }
    let rules = vec![crate::network::fixtures::default_egress("sg-cluster")];
    let mut cni = calico_ipip();
    cni.datapaths = vec![Datapath::Native];
    let needs = required(&cni, &nodes, &cni.pod_cidrs, &Prometheus::Absent);
    let fix = plan(
        &evaluate_all(&needs.flows, &nodes, &rules),
        &needs,
        &nodes,
        &rules,
        Profile::Minimal,
    );
    assert_eq!(
        shown(&fix.rules),
        [
            "sg-cluster <- sg-cluster: all protocols (Calico native routing from the node to pods, Calico BGP route exchange, kubelet API for logs and exec)",
            "sg-cluster <- 192.168.0.0/16: all protocols (Calico native pod routing)",
        ]
    );
}
