//! Every check, failing on the defect it exists for and passing without it, from `Facts`
//! built by hand: the field report's two nodes, Calico IP-in-IP with BGP, and security
//! groups that open only SSH and the API server.

use crate::network::fixtures::calico_ipip;
use std::collections::BTreeMap;

use ipnet::Ipv4Net;

use super::{CHECKS, run_all};
use crate::doctor::facts::{Facts, Read};
use crate::doctor::inventory::{Inventory, KubeNode, Unplaced};
use crate::doctor::probe::{Outcome, Probe, Target};
use crate::doctor::report::{Finding, Status};
use crate::doctor::webhooks::Webhook;
use crate::network::cni::{CniKind, Datapath, HostPorts};
use crate::network::fixes::Profile;
use crate::network::fixtures::{field_report_rules, ingress_group, node};
use crate::network::flows::Prometheus;
use crate::network::model::{Permission, Ranges};

const MASTER: &str = "ip-10-0-1-74";
const WORKER: &str = "ip-10-0-2-15";
const NO_EC2: &str = "--skip-security-groups: EC2 is not read";

fn net(text: &str) -> Ipv4Net {
    text.parse().unwrap()
}

fn kube_node(name: &str, ip: &str, control_plane: bool) -> KubeNode {
    KubeNode {
        name: name.into(),
        provider_id: Some(format!("aws:///eu-west-1a/i-{name}")),
        internal_ip: Some(ip.into()),
        control_plane,
        pod_cidrs: vec![],
    }
}

/// The field report: master in sg-master/subnet-a, worker in sg-worker/subnet-b, Prometheus
/// on the worker, SSH and the API server open to the world, EC2's default egress; both
/// kubelets answer the probes.
fn field_report() -> Facts {
    let nodes = vec![
        node(MASTER, "10.0.1.74", &["sg-master"], "subnet-a", true),
        node(WORKER, "10.0.2.15", &["sg-worker"], "subnet-b", false),
    ];
    let found_from = nodes
        .iter()
        .map(|n| (n.name.clone(), "providerID".to_owned()))
        .collect::<BTreeMap<_, _>>();
    Facts {
        installation: "obsboot".into(),
        nodes: vec![
            kube_node(MASTER, "10.0.1.74", true),
            kube_node(WORKER, "10.0.2.15", false),
        ],
        ec2: Read::Read(Inventory {
            nodes,
            found_from,
            rules: field_report_rules(),
            vpc_cidrs: vec![net("10.0.0.0/16")],
            ..Inventory::default()
        }),
        cni: calico_ipip(),
        ranges: Ranges {
            pods: vec![net("192.168.0.0/16")],
            services: Some(net("10.96.0.0/12")),
            vpc: vec![net("10.0.0.0/16")],
        },
        prometheus: Prometheus::On(vec![WORKER.into()]),
        probes: Read::Read(vec![
            reached(Target::Kubelet {
                node: MASTER.into(),
            }),
            reached(Target::Kubelet {
                node: WORKER.into(),
            }),
        ]),
        webhooks: vec![],
        profile: Profile::Minimal,
    }
}

fn reached(target: Target) -> Probe {
    Probe {
        target,
        outcome: Outcome::Reached(200),
    }
}

fn inventory(facts: &mut Facts) -> &mut Inventory {
    match &mut facts.ec2 {
        Read::Read(inventory) => inventory,
        Read::Skipped(why) => panic!("the facts have no inventory: {why}"),
    }
}

fn allow(facts: &mut Facts, rules: Vec<Permission>) {
    inventory(facts).rules.extend(rules);
}

/// Calico's carrier both ways: IP-in-IP and BGP, each group referencing the other.
fn cni_rules() -> Vec<Permission> {
    vec![
        ingress_group("sgr-ipip-w", "sg-worker", "4", -1, -1, "sg-master"),
        ingress_group("sgr-bgp-w", "sg-worker", "tcp", 179, 179, "sg-master"),
        ingress_group("sgr-ipip-m", "sg-master", "4", -1, -1, "sg-worker"),
        ingress_group("sgr-bgp-m", "sg-master", "tcp", 179, 179, "sg-worker"),
    ]
}

/// The control plane to the worker's kubelet.
fn kubelet_rules() -> Vec<Permission> {
    vec![ingress_group(
        "sgr-kubelet",
        "sg-worker",
        "tcp",
        10250,
        10250,
        "sg-master",
    )]
}

/// Prometheus on the worker to the master's node-exporter and kubelet.
fn prometheus_rules() -> Vec<Permission> {
    vec![
        ingress_group("sgr-exporter", "sg-master", "tcp", 9100, 9100, "sg-worker"),
        ingress_group("sgr-scrape", "sg-master", "tcp", 10250, 10250, "sg-worker"),
    ]
}

fn healthy() -> Facts {
    let mut facts = field_report();
    allow(&mut facts, cni_rules());
    allow(&mut facts, kubelet_rules());
    allow(&mut facts, prometheus_rules());
    facts
}

fn finding(facts: &Facts, id: &str) -> Finding {
    run_all(facts, &facts.analyse())
        .into_iter()
        .find(|f| f.id == id)
        .unwrap_or_else(|| panic!("no finding {id}"))
}

fn diagnosis(finding: &Finding) -> &str {
    finding.diagnosis.as_deref().unwrap_or_default()
}

fn summaries(finding: &Finding) -> Vec<&str> {
    finding.fixes.iter().map(|f| f.summary.as_str()).collect()
}

fn webhook(failure_policy: &str, nodes: &[&str]) -> Webhook {
    Webhook {
        configuration: "MutatingWebhookConfiguration linkerd-proxy-injector-webhook-config".into(),
        name: "linkerd-proxy-injector.linkerd.io".into(),
        failure_policy: failure_policy.into(),
        service: "linkerd/linkerd-proxy-injector".into(),
        nodes: nodes.iter().map(|n| (*n).to_owned()).collect(),
    }
}

/// One configuration of one check and the status it must have.
struct Case {
    id: &'static str,
    what: &'static str,
    start: fn() -> Facts,
    change: fn(&mut Facts),
    expected: Status,
}

#[allow(clippy::too_many_lines)] // A table test: one row per case, and the table is the test.
fn cases() -> Vec<Case> {
    vec![
        Case {
            id: "D01",
            what: "a node without an instance",
            start: healthy,
            change: |f| {
                inventory(f).unplaced.push(Unplaced {
                    node: "ip-10-0-3-9".into(),
                    why: "no EC2 instance in eu-west-1 has the private address 10.0.3.9".into(),
                });
            },
            expected: Status::Fail,
        },
        Case {
            id: "D01",
            what: "a stopped instance",
            start: healthy,
            change: |f| {
                inventory(f).not_running.push((
                    WORKER.into(),
                    format!("i-{WORKER}"),
                    "stopped".into(),
                ));
            },
            expected: Status::Warn,
        },
        Case {
            id: "D01",
            what: "both nodes placed on running instances",
            start: healthy,
            change: |_| {},
            expected: Status::Ok,
        },
        Case {
            id: "D02",
            what: "an unknown CNI",
            start: healthy,
            change: |f| {
                f.cni.kind = CniKind::Unknown;
                f.cni.datapaths.clear();
            },
            expected: Status::Warn,
        },
        Case {
            id: "D02",
            what: "Calico IP-in-IP",
            start: healthy,
            change: |_| {},
            expected: Status::Ok,
        },
        Case {
            id: "D03",
            what: "a pod network inside the VPC",
            start: healthy,
            change: |f| f.ranges.pods = vec![net("10.0.0.0/17")],
            expected: Status::Fail,
        },
        Case {
            id: "D03",
            what: "no known pod network",
            start: healthy,
            change: |f| f.ranges.pods.clear(),
            expected: Status::Warn,
        },
        Case {
            id: "D03",
            what: "a pod network apart from the VPC and the Services",
            start: healthy,
            change: |_| {},
            expected: Status::Ok,
        },
        Case {
            id: "D04",
            what: "groups that open only SSH and the API server",
            start: field_report,
            change: |_| {},
            expected: Status::Fail,
        },
        Case {
            id: "D04",
            what: "IP-in-IP and BGP referenced both ways",
            start: field_report,
            change: |f| allow(f, cni_rules()),
            expected: Status::Ok,
        },
        Case {
            id: "D06",
            what: "groups that open only SSH and the API server",
            start: field_report,
            change: |_| {},
            expected: Status::Fail,
        },
        Case {
            id: "D06",
            what: "TCP 10250 into the worker from the master's group",
            start: field_report,
            change: |f| allow(f, kubelet_rules()),
            expected: Status::Ok,
        },
        Case {
            id: "D07",
            what: "groups that open only SSH and the API server",
            start: field_report,
            change: |_| {},
            expected: Status::Fail,
        },
        Case {
            id: "D07",
            what: "TCP 9100 and 10250 into the master from Prometheus's group",
            start: field_report,
            change: |f| allow(f, prometheus_rules()),
            expected: Status::Ok,
        },
        Case {
            id: "D08",
            what: "native routing in one subnet with the check on",
            start: healthy,
            change: native_in_one_subnet,
            expected: Status::Fail,
        },
        Case {
            id: "D08",
            what: "native routing in one subnet with the check off",
            start: healthy,
            change: |f| {
                native_in_one_subnet(f);
                for node in &mut inventory(f).nodes {
                    node.source_dest_check = false;
                }
            },
            expected: Status::Ok,
        },
        Case {
            id: "D09",
            what: "native routing across subnets",
            start: healthy,
            change: |f| f.cni.datapaths = vec![Datapath::Native],
            expected: Status::Fail,
        },
        Case {
            id: "D09",
            what: "IP-in-IP across subnets",
            start: healthy,
            change: |_| {},
            expected: Status::Ok,
        },
        Case {
            id: "D13",
            what: "a CNI that ignores hostPort",
            start: healthy,
            change: |f| {
                f.cni.host_ports = HostPorts::Unsupported("no portmap in cilium-config".into());
            },
            expected: Status::Fail,
        },
        Case {
            id: "D13",
            what: "hostPort support not read",
            start: healthy,
            change: |f| f.cni.host_ports = HostPorts::Unknown("not read".into()),
            expected: Status::Warn,
        },
        Case {
            id: "D13",
            what: "portmap chained",
            start: healthy,
            change: |_| {},
            expected: Status::Ok,
        },
        Case {
            id: "D15",
            what: "a dropped probe",
            start: healthy,
            change: drop_worker_kubelet_probe,
            expected: Status::Fail,
        },
        Case {
            id: "D15",
            what: "every probe answered",
            start: healthy,
            change: |_| {},
            expected: Status::Ok,
        },
        Case {
            id: "D18",
            what: "a webhook on a node the control plane's pod traffic does not reach",
            start: field_report,
            change: |f| f.webhooks = vec![webhook("Ignore", &[WORKER])],
            expected: Status::Fail,
        },
        Case {
            id: "D18",
            what: "a webhook on a node the pod traffic reaches",
            start: healthy,
            change: |f| f.webhooks = vec![webhook("Ignore", &[WORKER])],
            expected: Status::Ok,
        },
    ]
}

fn native_in_one_subnet(facts: &mut Facts) {
    facts.cni.datapaths = vec![Datapath::Native];
    for node in &mut inventory(facts).nodes {
        node.subnet_id = "subnet-a".into();
    }
}

fn drop_worker_kubelet_probe(facts: &mut Facts) {
    facts.probes = Read::Read(vec![
        reached(Target::Kubelet {
            node: MASTER.into(),
        }),
        Probe {
            target: Target::Kubelet {
                node: WORKER.into(),
            },
            outcome: Outcome::Dropped(
                "error trying to reach service: dial tcp 10.0.2.15:10250: i/o timeout".into(),
            ),
        },
    ]);
}

#[test]
fn every_check_fails_on_its_defect_and_passes_without_it() {
    for case in cases() {
        let mut facts = (case.start)();
        (case.change)(&mut facts);
        let found = finding(&facts, case.id);
        assert_eq!(
            found.status, case.expected,
            "{} with {}: {found:#?}",
            case.id, case.what
        );
    }
}

#[test]
fn every_check_of_the_table_has_a_failing_and_a_passing_case() {
    let cases = cases();
    for check in CHECKS {
        let has = |status: Status| {
            cases
                .iter()
                .any(|c| c.id == check.id && c.expected == status)
        };
        // The CNI check has nothing to fail on: an unknown CNI is a warning.
        let worst = if check.id == "D02" {
            Status::Warn
        } else {
            Status::Fail
        };
        assert!(has(worst), "{} has no {worst:?} case", check.id);
        assert!(has(Status::Ok), "{} has no passing case", check.id);
    }
}

#[test]
fn a_cluster_whose_groups_carry_every_flow_passes_every_check() {
    let facts = healthy();
    let findings = run_all(&facts, &facts.analyse());
    assert_eq!(findings.len(), CHECKS.len());
    for found in &findings {
        assert_eq!(found.status, Status::Ok, "{found:#?}");
        assert!(found.fixes.is_empty(), "{found:#?}");
    }
}

#[test]
fn an_unplaced_node_fails_the_inventory_and_a_stopped_instance_is_named() {
    let mut facts = healthy();
    inventory(&mut facts).unplaced.push(Unplaced {
        node: "ip-10-0-3-9".into(),
        why: "no EC2 instance in eu-west-1 has the private address 10.0.3.9".into(),
    });
    inventory(&mut facts).not_running.push((
        WORKER.into(),
        format!("i-{WORKER}"),
        "stopped".into(),
    ));
    let found = finding(&facts, "D01");
    assert_eq!(found.status, Status::Fail);
    assert_eq!(
        diagnosis(&found),
        "node ip-10-0-3-9: no EC2 instance in eu-west-1 has the private address 10.0.3.9 (the checks between nodes leave it out); node ip-10-0-2-15: instance i-ip-10-0-2-15 is stopped (nothing reaches it until it runs; its groups' rules are checked all the same)"
    );
    // The stopped instance's node stays in the checks between nodes.
    let analysis = facts.analyse();
    assert!(analysis.evaluations.iter().any(|e| e.flow.to == WORKER));
    assert_eq!(
        found.evidence[0],
        "node ip-10-0-1-74 (control plane): instance i-ip-10-0-1-74 (from its providerID), groups sg-master, subnet subnet-a, VPC vpc-1, source/destination check on"
    );
}

#[test]
fn an_unknown_cni_warns_and_offers_all_traffic() {
    let mut facts = field_report();
    facts.cni.kind = CniKind::Unknown;
    facts.cni.datapaths.clear();
    facts.cni.problems =
        vec!["several CNIs found (Calico (manifest), flannel): the datapath is ambiguous".into()];
    let found = finding(&facts, "D02");
    assert_eq!(found.status, Status::Warn);
    assert!(
        diagnosis(&found).starts_with("several CNIs found (Calico (manifest), flannel)"),
        "{found:#?}"
    );
    assert!(
        diagnosis(&found).contains("`obsboot doctor --fix --fix-profile all-traffic`"),
        "{found:#?}"
    );
    let carrier = finding(&facts, "D04");
    assert_eq!(carrier.status, Status::Warn);
    assert_eq!(
        summaries(&carrier),
        [
            "add sg-master <- sg-worker: all protocols (all traffic between the cluster's nodes)",
            "add sg-worker <- sg-master: all protocols (all traffic between the cluster's nodes)",
        ]
    );
}

#[test]
fn a_pod_network_overlapping_the_vpc_fails_and_an_unknown_one_warns() {
    let mut facts = healthy();
    facts.ranges.pods = vec![net("10.0.0.0/8")];
    let found = finding(&facts, "D03");
    assert_eq!(found.status, Status::Fail);
    assert!(
        diagnosis(&found).starts_with("pod network 10.0.0.0/8 overlaps the VPC 10.0.0.0/16"),
        "{found:#?}"
    );
    assert!(
        diagnosis(&found).contains("overlaps the Service network 10.96.0.0/12"),
        "{found:#?}"
    );

    facts.ranges.pods.clear();
    let found = finding(&facts, "D03");
    assert_eq!(found.status, Status::Warn);
    assert!(diagnosis(&found).contains("podSubnet"), "{found:#?}");
}

/// The fixes of a flow check: AWS CLI commands that add group-referenced rules tagged as
/// this installation's network rules.
fn assert_tagged_group_rules(found: &Finding) {
    assert!(!found.fixes.is_empty(), "{found:#?}");
    for fix in &found.fixes {
        assert!(fix.automatic, "{fix:#?}");
        for part in [
            "aws ec2 authorize-security-group-ingress --group-id sg-",
            r#""UserIdGroupPairs":[{"#,
            r#"{"Key":"obsboot.dev/managed","Value":"true"}"#,
            r#"{"Key":"obsboot.dev/cluster","Value":"obsboot"}"#,
            r#"{"Key":"obsboot.dev/scope","Value":"network"}"#,
        ] {
            assert!(fix.command.contains(part), "{part} in {}", fix.command);
        }
        assert!(!fix.command.contains("0.0.0.0/0"), "{}", fix.command);
    }
}

#[test]
fn missing_carrier_rules_fail_with_the_rules_that_would_carry_it() {
    let facts = field_report();
    let found = finding(&facts, "D04");
    assert_eq!(found.status, Status::Fail);
    assert!(
        diagnosis(&found).starts_with(
            "EC2 drops 4 of 4 required flow(s) silently: pods on different nodes cannot talk"
        ),
        "{found:#?}"
    );
    assert_eq!(
        summaries(&found),
        [
            "add sg-master <- sg-worker: TCP port 179 (Calico BGP route exchange)",
            "add sg-master <- sg-worker: IP protocol 4 (Calico IP-in-IP)",
            "add sg-worker <- sg-master: TCP port 179 (Calico BGP route exchange)",
            "add sg-worker <- sg-master: IP protocol 4 (Calico IP-in-IP)",
        ]
    );
    assert_tagged_group_rules(&found);
}

#[test]
fn a_missing_kubelet_rule_fails_with_only_the_kubelet_rule() {
    let mut facts = field_report();
    allow(&mut facts, cni_rules());
    assert_eq!(finding(&facts, "D04").status, Status::Ok);
    let found = finding(&facts, "D06");
    assert_eq!(found.status, Status::Fail);
    assert!(diagnosis(&found).contains("`kubectl logs`"), "{found:#?}");
    assert_eq!(
        summaries(&found),
        ["add sg-worker <- sg-master: TCP port 10250 (kubelet API for logs and exec)"]
    );
    assert_tagged_group_rules(&found);
}

#[test]
fn missing_scrape_rules_fail_with_the_rules_into_the_scraped_node() {
    let facts = field_report();
    let found = finding(&facts, "D07");
    assert_eq!(found.status, Status::Fail);
    assert_eq!(
        summaries(&found),
        [
            "add sg-master <- sg-worker: TCP port 9100 (Prometheus scraping node-exporter)",
            "add sg-master <- sg-worker: TCP port 10250 (Prometheus scraping the kubelet)",
        ]
    );
    assert_tagged_group_rules(&found);
}

#[test]
fn rules_of_one_purpose_do_not_pass_the_checks_of_another() {
    let mut facts = field_report();
    allow(&mut facts, prometheus_rules());
    assert_eq!(finding(&facts, "D07").status, Status::Ok);
    assert_eq!(finding(&facts, "D06").status, Status::Fail);
    assert_eq!(finding(&facts, "D04").status, Status::Fail);
}

#[test]
fn native_routing_with_the_check_on_fails_naming_the_instances() {
    let mut facts = healthy();
    native_in_one_subnet(&mut facts);
    let found = finding(&facts, "D08");
    assert_eq!(found.status, Status::Fail);
    assert_eq!(
        found.evidence,
        [
            "node ip-10-0-1-74 (instance i-ip-10-0-1-74): source/destination check on, routes natively to ip-10-0-2-15",
            "node ip-10-0-2-15 (instance i-ip-10-0-2-15): source/destination check on, routes natively to ip-10-0-1-74",
        ]
    );
    let commands: Vec<&str> = found.fixes.iter().map(|f| f.command.as_str()).collect();
    assert_eq!(
        commands,
        [
            "aws ec2 modify-instance-attribute --instance-id i-ip-10-0-1-74 --no-source-dest-check",
            "aws ec2 modify-instance-attribute --instance-id i-ip-10-0-2-15 --no-source-dest-check",
        ]
    );
    assert!(found.fixes.iter().all(|f| !f.automatic));

    for node in &mut inventory(&mut facts).nodes {
        node.source_dest_check = false;
    }
    let found = finding(&facts, "D08");
    assert_eq!(found.status, Status::Ok);
    assert_eq!(
        found.evidence,
        ["every natively routed node has the check off"]
    );
}

#[test]
fn native_routing_across_subnets_fails_whatever_the_rules() {
    let mut facts = healthy();
    facts.cni.datapaths = vec![Datapath::Native];
    let found = finding(&facts, "D09");
    assert_eq!(found.status, Status::Fail);
    assert_eq!(
        found.evidence.len(),
        2,
        "one line per direction: {found:#?}"
    );
    assert!(
        found.evidence[0].starts_with("ip-10-0-1-74 -> ip-10-0-2-15: Calico routes pod traffic natively, which does not cross from subnet subnet-a to subnet-b"),
        "{found:#?}"
    );
    assert!(found.fixes.is_empty());
}

#[test]
fn a_cni_that_ignores_host_ports_fails() {
    let mut facts = healthy();
    facts.cni.host_ports = HostPorts::Unsupported("no portmap in cilium-config".into());
    let found = finding(&facts, "D13");
    assert_eq!(found.status, Status::Fail);
    assert_eq!(found.evidence, ["no portmap in cilium-config"]);
    assert!(
        diagnosis(&found).starts_with("the CNI ignores hostPort"),
        "{found:#?}"
    );
}

#[test]
fn a_dropped_probe_fails_naming_the_rules_of_its_flow() {
    let mut facts = field_report();
    drop_worker_kubelet_probe(&mut facts);
    let found = finding(&facts, "D15");
    assert_eq!(found.status, Status::Fail);
    assert_eq!(
        found.evidence[1],
        "the kubelet of ip-10-0-2-15 (TCP 10250): dropped: error trying to reach service: dial tcp 10.0.2.15:10250: i/o timeout (TCP port 10250 from ip-10-0-1-74 to ip-10-0-2-15 (kubelet API for logs and exec): denied: no ingress rule of sg-worker admits it from sg-master (10.0.1.74); egress allowed by sgr-egress-sg-master (sg-master, not obsboot's))"
    );
    assert!(
        diagnosis(&found).starts_with("the API server on ip-10-0-1-74 does not get through"),
        "{found:#?}"
    );

    // With the rule in place the drop is elsewhere (a network ACL, a host firewall): the
    // evidence names the rule that should have carried it.
    allow(&mut facts, kubelet_rules());
    let found = finding(&facts, "D15");
    assert_eq!(found.status, Status::Fail);
    assert!(
        found.evidence[1].contains("ingress allowed by sgr-kubelet (sg-worker, not obsboot's)"),
        "{found:#?}"
    );
}

#[test]
fn a_dropped_pod_probe_is_explained_by_the_flow_from_the_api_servers_node() {
    // Native routing in one subnet with the check on: the groups admit everything between
    // the nodes, but not the pod network as a source. The API server dials the pod from its
    // node's address, so the flow to name is the node's own, which the groups allow.
    let mut facts = healthy();
    native_in_one_subnet(&mut facts);
    allow(
        &mut facts,
        vec![
            ingress_group("sgr-all-w", "sg-worker", "-1", -1, -1, "sg-master"),
            ingress_group("sgr-all-m", "sg-master", "-1", -1, -1, "sg-worker"),
        ],
    );
    facts.probes = Read::Read(vec![Probe {
        target: Target::Pod {
            node: WORKER.into(),
            pod: "linkerd/linkerd-proxy-injector-5d9".into(),
            ip: "192.168.7.12".into(),
            port: 8443,
        },
        outcome: Outcome::Dropped("i/o timeout".into()),
    }]);
    let found = finding(&facts, "D15");
    assert_eq!(found.status, Status::Fail);
    assert_eq!(
        found.evidence,
        [
            "pod linkerd/linkerd-proxy-injector-5d9 on ip-10-0-2-15 (192.168.7.12:8443, over the pod network): dropped: i/o timeout (all protocols from ip-10-0-1-74 to ip-10-0-2-15 (Calico native routing from the node to pods): allowed: ingress allowed by sgr-all-w (sg-worker, not obsboot's); egress allowed by sgr-egress-sg-master (sg-master, not obsboot's))"
        ]
    );
    assert_eq!(finding(&facts, "D08").status, Status::Fail);
}

#[test]
fn skipped_probes_skip_the_probe_check_with_the_reason() {
    let mut facts = healthy();
    facts.probes = Read::Skipped("--no-probe".into());
    let found = finding(&facts, "D15");
    assert_eq!(found.status, Status::Skip);
    assert_eq!(found.diagnosis.as_deref(), Some("--no-probe"));
}

#[test]
fn a_webhook_the_control_plane_cannot_reach_fails_and_says_what_the_policy_does() {
    let mut facts = field_report();
    facts.webhooks = vec![webhook("Ignore", &[WORKER])];
    let found = finding(&facts, "D18");
    assert_eq!(found.status, Status::Fail);
    assert_eq!(
        found.evidence,
        [
            "MutatingWebhookConfiguration linkerd-proxy-injector-webhook-config webhook linkerd-proxy-injector.linkerd.io -> Service linkerd/linkerd-proxy-injector on ip-10-0-2-15 (failurePolicy Ignore)"
        ]
    );
    for words in [
        "linkerd-proxy-injector.linkerd.io (linkerd/linkerd-proxy-injector) runs on ip-10-0-2-15",
        "admits objects unchanged",
        "pods start unmeshed",
        "D04 names the rules",
    ] {
        assert!(diagnosis(&found).contains(words), "{words}: {found:#?}");
    }

    facts.webhooks = vec![webhook("Fail", &[WORKER])];
    let found = finding(&facts, "D18");
    assert_eq!(found.status, Status::Fail);
    assert!(
        diagnosis(&found).contains("with failurePolicy Fail the API server refuses"),
        "{found:#?}"
    );

    // Served from the control-plane node itself, it needs no pod traffic between nodes.
    facts.webhooks = vec![webhook("Ignore", &[MASTER])];
    assert_eq!(finding(&facts, "D18").status, Status::Ok);

    facts.webhooks = vec![webhook("Ignore", &[WORKER])];
    allow(&mut facts, cni_rules());
    assert_eq!(finding(&facts, "D18").status, Status::Ok);
}

#[test]
fn checks_that_need_ec2_are_skipped_with_the_reason_when_it_was_not_read() {
    let mut facts = field_report();
    facts.ec2 = Read::Skipped(NO_EC2.into());
    let findings = run_all(&facts, &facts.analyse());
    for found in &findings {
        let needs_ec2 =
            ["D01", "D03", "D04", "D06", "D07", "D08", "D09", "D18"].contains(&found.id);
        if needs_ec2 {
            assert_eq!(found.status, Status::Skip, "{found:#?}");
            assert_eq!(found.diagnosis.as_deref(), Some(NO_EC2), "{found:#?}");
        } else {
            assert_ne!(found.status, Status::Skip, "{found:#?}");
        }
    }
}
