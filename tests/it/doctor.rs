//! `obsboot doctor` end to end: the built binary against the simulated API server with a CNI
//! installed and moto holding the instances and groups, where the simulated node and pod
//! proxies answer from the harness's own network model of the rules in moto.

use serde_json::json;

use crate::apiserver::CniLayout;
use crate::cluster::Sim;
use crate::network::layout::{self, Cluster, carrier_of};
use crate::simulated::pod_on;

/// Every rule of both groups, inbound and outbound, as (group, egress, protocol, from, to,
/// source, tags), sorted: the baseline a revert must restore exactly.
fn rules(cluster: &Cluster) -> Vec<String> {
    let mut groups = vec![cluster.master_group.clone()];
    if cluster.worker_group != cluster.master_group {
        groups.push(cluster.worker_group.clone());
    }
    let mut out: Vec<String> = groups
        .iter()
        .flat_map(|g| cluster.ec2.group_rules(g))
        .map(|r| {
            format!(
                "{} {} {} {}-{} {} {:?}",
                r.group_id().unwrap_or_default(),
                if r.is_egress().unwrap_or_default() {
                    "out"
                } else {
                    "in"
                },
                r.ip_protocol().unwrap_or_default(),
                r.from_port().unwrap_or_default(),
                r.to_port().unwrap_or_default(),
                r.cidr_ipv4()
                    .map(str::to_owned)
                    .or_else(|| r
                        .referenced_group_info()
                        .and_then(|g| g.group_id())
                        .map(str::to_owned))
                    .unwrap_or_default(),
                r.tags()
                    .iter()
                    .map(|t| format!(
                        "{}={}",
                        t.key().unwrap_or_default(),
                        t.value().unwrap_or_default()
                    ))
                    .collect::<Vec<_>>(),
            )
        })
        .collect();
    out.sort();
    out
}

fn world(cluster: &Cluster, layout_: CniLayout) -> Sim {
    let server = cluster.start_sim(layout_);
    // The API server's dial gives up after 30 s; a short one keeps the tests quick while the
    // answer keeps its form (503, "error trying to reach service: ... i/o timeout").
    server.set_proxy_dial_timeout(std::time::Duration::from_millis(500));
    pod_on(&server, "web", cluster.worker_node());
    let mut sim = Sim::with(server);
    sim.aws = cluster.ec2.env();
    sim
}

/// The line of check `id`.
fn line<'a>(out: &'a str, id: &str) -> &'a str {
    out.lines()
        .find(|l| l.split_whitespace().nth(1) == Some(id))
        .unwrap_or_else(|| panic!("no line for {id} in:\n{out}"))
}

/// The whole scenario of the field report for one CNI layout: FAIL, fix, the model lets the
/// traffic through, pass, a second fix changes nothing, teardown keeps the rules, revert
/// restores the baseline exactly.
#[allow(clippy::too_many_lines)] // the scenario reads as one story, step by step
fn scenario(cluster: &Cluster, layout_: CniLayout) {
    let sim = world(cluster, layout_);
    let network = cluster.network(carrier_of(layout_));
    let (master, worker) = (cluster.master_node(), cluster.worker_node());
    let baseline = rules(cluster);
    assert!(!network.host_to_pod(master, worker, 8443).passes());

    let first = sim.run("doctor", &[]);
    assert_eq!(first.code, 1, "{}\n{}", first.stdout, first.stderr);
    for id in ["D04", "D06", "D15"] {
        assert!(
            line(&first.stdout, id).starts_with("FAIL"),
            "{id}:\n{}",
            first.stdout
        );
    }
    assert!(
        line(&first.stdout, "D01").starts_with("ok"),
        "{}",
        first.stdout
    );
    assert!(
        first
            .stdout
            .contains("aws ec2 authorize-security-group-ingress"),
        "{}",
        first.stdout
    );
    assert_eq!(
        rules(cluster),
        baseline,
        "doctor without --fix changed nothing"
    );

    // Cilium without kube-proxy replacement or portmap chaining ignores hostPorts (D13),
    // which no rule fixes.
    let healthy = i32::from(layout_ == CniLayout::Cilium);
    assert_eq!(
        line(&first.stdout, "D13").starts_with("FAIL"),
        healthy == 1,
        "{}",
        first.stdout
    );
    let fixed = sim.run("doctor", &["--fix"]);
    assert_eq!(fixed.code, healthy, "{}\n{}", fixed.stdout, fixed.stderr);
    assert!(
        fixed
            .stdout
            .contains("dial tcp 10.0.2.15:10250: i/o timeout"),
        "{}",
        fixed.stdout
    );
    assert!(fixed.stdout.contains("added sgr-"), "{}", fixed.stdout);
    assert!(
        network.host_to_pod(master, worker, 8443).passes(),
        "{}",
        fixed.stdout
    );
    assert!(
        network.host_to_pod(worker, master, 8443).passes(),
        "{}",
        fixed.stdout
    );
    assert!(
        network.host_to_host(master, worker, 10250).passes(),
        "{}",
        fixed.stdout
    );
    let now = rules(cluster);
    let added: Vec<&String> = now.iter().filter(|r| !baseline.contains(r)).collect();
    assert!(!added.is_empty());
    for rule in &added {
        assert!(rule.contains("obsboot.dev/scope=network"), "{rule}");
        assert!(rule.contains("obsboot.dev/cluster=obsboot"), "{rule}");
        assert!(!rule.contains("0.0.0.0/0"), "{rule}");
    }

    let again = sim.run("doctor", &[]);
    for id in ["D04", "D06", "D07", "D15"] {
        assert!(
            line(&again.stdout, id).starts_with("ok"),
            "{id}:\n{}",
            again.stdout
        );
    }
    assert_eq!(again.code, healthy, "{}\n{}", again.stdout, again.stderr);
    assert!(
        line(&again.stdout, "D15").starts_with("ok"),
        "{}",
        again.stdout
    );
    let second = sim.run("doctor", &["--fix"]);
    assert_eq!(second.code, healthy, "{}", second.stderr);
    assert!(
        second.stdout.contains("nothing to add"),
        "{}",
        second.stdout
    );
    assert_eq!(rules(cluster), now, "a second --fix changed something");

    let teardown = sim.run("teardown", &["--yes"]);
    assert_eq!(teardown.code, 0, "{}", teardown.stderr);
    assert_eq!(rules(cluster), now, "teardown kept the network rules");

    let reverted = sim.run("doctor", &["--revert"]);
    assert_eq!(
        reverted.code, 1,
        "the checks fail again:\n{}",
        reverted.stdout
    );
    assert!(
        reverted.stdout.contains("revoked sgr-"),
        "{}",
        reverted.stdout
    );
    assert_eq!(
        rules(cluster),
        baseline,
        "revert restored the baseline exactly"
    );
    assert!(!network.host_to_pod(master, worker, 8443).passes());
}

#[test]
fn field_report_with_calico_ip_in_ip_fails_is_fixed_and_reverted() {
    scenario(&layout::field_report(), CniLayout::CalicoManifest);
}

#[test]
fn field_report_with_flannel_vxlan_fails_is_fixed_and_reverted() {
    scenario(&layout::field_report(), CniLayout::Flannel);
}

#[test]
fn field_report_with_cilium_vxlan_fails_is_fixed_and_reverted() {
    scenario(&layout::field_report(), CniLayout::Cilium);
}

#[test]
fn field_report_with_the_calico_operator_fails_is_fixed_and_reverted() {
    scenario(&layout::field_report(), CniLayout::CalicoOperator);
}

#[test]
fn one_shared_group_is_fixed_with_self_references() {
    let cluster = layout::one_group();
    let sim = world(&cluster, CniLayout::CalicoManifest);
    let fixed = sim.run("doctor", &["--fix", "--no-probe", "-o", "json"]);
    assert_eq!(fixed.code, 0, "{}\n{}", fixed.stdout, fixed.stderr);
    let outcome: serde_json::Value = serde_json::from_str(&fixed.stdout).unwrap();
    let added = outcome["fixed"]["added"].as_array().unwrap();
    let group = &cluster.master_group;
    assert!(!added.is_empty());
    for rule in added {
        let rule = rule.as_str().unwrap();
        assert!(rule.contains(&format!("{group} <- {group}")), "{rule}");
    }
    assert!(
        outcome["report"]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["status"] != "fail")
    );
}

#[test]
fn without_ec2_the_network_checks_are_skipped_and_fix_is_refused() {
    let cluster = layout::field_report();
    let server = cluster.start_sim(CniLayout::CalicoManifest);
    let sim = Sim::with(server);
    let run = sim.run("doctor", &["--no-probe"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        line(&run.stdout, "D04").starts_with("skip"),
        "{}",
        run.stdout
    );
    assert!(line(&run.stdout, "D02").starts_with("ok"), "{}", run.stdout);
    let fix = sim.run("doctor", &["--fix"]);
    assert_eq!(fix.code, 2, "{}", fix.stderr);
    assert!(
        fix.stderr
            .contains("--fix and --revert change security groups"),
        "{}",
        fix.stderr
    );
}

/// The source/destination check of every instance of the cluster.
fn source_dest_checks(cluster: &Cluster) -> Vec<bool> {
    cluster
        .nodes
        .iter()
        .map(|(_, _, instance)| cluster.ec2.source_dest_check(instance))
        .collect()
}

#[test]
fn native_routing_in_one_subnet_needs_the_source_dest_check_off_and_only_its_flag_changes_it() {
    // Calico's operator install routes natively between nodes of one subnet
    // (VXLANCrossSubnet).
    let cluster = layout::one_group();
    let sim = world(&cluster, CniLayout::CalicoOperator);
    let network = cluster.network(carrier_of(CniLayout::CalicoOperator));
    let (master, worker) = (cluster.master_node(), cluster.worker_node());
    let baseline = rules(&cluster);

    let first = sim.run("doctor", &[]);
    assert_eq!(first.code, 1, "{}", first.stdout);
    assert!(
        line(&first.stdout, "D08").starts_with("FAIL"),
        "{}",
        first.stdout
    );
    assert!(
        first.stdout.contains("--no-source-dest-check"),
        "{}",
        first.stdout
    );

    let rules_only = sim.run("doctor", &["--fix"]);
    assert_eq!(rules_only.code, 1, "{}", rules_only.stdout);
    assert!(
        rules_only
            .stdout
            .contains("`--fix-source-dest-check` turns it off"),
        "{}",
        rules_only.stdout
    );
    assert_eq!(source_dest_checks(&cluster), [true, true]);
    assert!(
        !network.host_to_pod(master, worker, 8443).passes(),
        "the check still drops native packets"
    );

    let fixed = sim.run("doctor", &["--fix", "--fix-source-dest-check"]);
    assert_eq!(fixed.code, 0, "{}\n{}", fixed.stdout, fixed.stderr);
    assert_eq!(source_dest_checks(&cluster), [false, false]);
    for (_, _, instance) in &cluster.nodes {
        let tags = cluster.ec2.instance_tags(instance);
        assert_eq!(
            tags.get("obsboot.dev/source-dest-check-was")
                .map(String::as_str),
            Some("true")
        );
    }
    assert!(
        network.host_to_pod(master, worker, 8443).passes(),
        "{}",
        fixed.stdout
    );

    let reverted = sim.run("doctor", &["--revert"]);
    assert_eq!(reverted.code, 1, "{}", reverted.stdout);
    assert_eq!(source_dest_checks(&cluster), [true, true]);
    for (_, _, instance) in &cluster.nodes {
        assert!(
            !cluster
                .ec2
                .instance_tags(instance)
                .contains_key("obsboot.dev/source-dest-check-was")
        );
    }
    assert_eq!(rules(&cluster), baseline);
}

#[test]
fn a_restricted_egress_is_named_and_left_to_the_user() {
    let cluster = layout::field_report();
    cluster.ec2.revoke_default_egress(&cluster.master_group);
    let sim = world(&cluster, CniLayout::Flannel);
    let fixed = sim.run("doctor", &["--fix", "--no-probe"]);
    assert_eq!(fixed.code, 1, "{}", fixed.stdout);
    assert!(
        fixed.stdout.contains("left to you: egress of")
            && fixed.stdout.contains("add an egress rule there"),
        "{}",
        fixed.stdout
    );
    assert!(
        line(&fixed.stdout, "D04").starts_with("FAIL"),
        "{}",
        fixed.stdout
    );
}

/// `obsboot bootstrap` against `sim` with its network pre-flight (the harness's own
/// `Sim::run` skips it for the worlds that do not model the network).
fn bootstrap(sim: &Sim, extra: &[&str]) -> crate::harness::Run {
    let mut args = vec![
        "bootstrap",
        "--stacks",
        "stacks",
        "--kubeconfig",
        "kubeconfig",
        "--timeout",
        "30s",
        "--no-verify",
    ];
    args.extend_from_slice(extra);
    crate::harness::obsboot_with(sim.scratch.path(), &args, &sim.aws)
}

#[test]
fn bootstrap_stops_before_its_first_write_when_the_network_between_the_nodes_fails() {
    let cluster = layout::field_report();
    let sim = world(&cluster, CniLayout::CalicoManifest);
    sim.scratch.edit(
        "stacks/cluster.yaml",
        "  sources: []",
        "  sources: [203.0.113.0/24]",
    );
    let baseline = rules(&cluster);
    let writes = sim.writes().len();
    let run = bootstrap(&sim, &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    for id in ["D04", "D06", "D07"] {
        assert!(
            run.stderr.contains(&format!("{id} (")),
            "{id}:\n{}",
            run.stderr
        );
    }
    assert!(run.stderr.contains("--fix-network"), "{}", run.stderr);
    assert!(run.stderr.contains("nothing was changed"), "{}", run.stderr);
    assert!(sim.ours().is_empty(), "{:?}", sim.ours());
    assert_eq!(sim.writes().len(), writes, "nothing was written");
    assert_eq!(rules(&cluster), baseline);
}

#[test]
fn bootstrap_with_fix_network_adds_the_rules_first_and_teardown_keeps_them() {
    let cluster = layout::field_report();
    let sim = world(&cluster, CniLayout::CalicoManifest);
    sim.scratch.edit(
        "stacks/cluster.yaml",
        "  sources: []",
        "  sources: [203.0.113.0/24]",
    );
    let baseline = rules(&cluster);
    let run = bootstrap(&sim, &["--fix-network"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("network: added sgr-"), "{}", run.stderr);
    let after = rules(&cluster);
    let network: Vec<&String> = after
        .iter()
        .filter(|r| r.contains("obsboot.dev/scope=network"))
        .collect();
    let exposure: Vec<&String> = after
        .iter()
        .filter(|r| r.contains("obsboot.dev/stack="))
        .collect();
    assert!(!network.is_empty() && !exposure.is_empty(), "{after:#?}");

    let teardown = sim.run("teardown", &["--yes"]);
    assert_eq!(teardown.code, 0, "{}", teardown.stderr);
    let left = rules(&cluster);
    assert!(
        left.iter().all(|r| !r.contains("obsboot.dev/stack=")),
        "{left:#?}"
    );
    let kept: Vec<&String> = left
        .iter()
        .filter(|r| r.contains("obsboot.dev/scope=network"))
        .collect();
    assert_eq!(kept, network, "teardown keeps the network rules");
    let reverted = sim.run("doctor", &["--revert", "--no-probe"]);
    assert!(
        reverted.stdout.contains("revoked sgr-"),
        "{}",
        reverted.stdout
    );
    assert_eq!(rules(&cluster), baseline);
}

#[test]
fn teardown_with_include_network_revokes_the_network_rules_too() {
    let cluster = layout::field_report();
    let sim = world(&cluster, CniLayout::Flannel);
    let baseline = rules(&cluster);
    let fixed = sim.run("doctor", &["--fix", "--no-probe"]);
    assert_eq!(fixed.code, 0, "{}\n{}", fixed.stdout, fixed.stderr);
    assert_ne!(rules(&cluster), baseline);
    let teardown = sim.run("teardown", &["--yes", "--include-network"]);
    assert_eq!(teardown.code, 0, "{}", teardown.stderr);
    assert_eq!(rules(&cluster), baseline);
}

#[test]
fn a_webhook_served_from_a_node_the_control_plane_cannot_reach_fails_until_fixed() {
    let cluster = layout::field_report();
    let sim = world(&cluster, CniLayout::CalicoManifest);
    let post = |path: &str, object: serde_json::Value| {
        let answer = crate::simulated::raw(
            &sim.server,
            "POST",
            path,
            "application/json",
            &object.to_string(),
        );
        assert_eq!(answer.code, 201, "{}", answer.body);
    };
    post(
        "/api/v1/namespaces/default/pods",
        json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "injector", "namespace": "default", "labels": {"app": "injector"}},
            "spec": {"nodeSelector": {"kubernetes.io/hostname": cluster.worker_node()},
                     "containers": [{"name": "injector", "image": "injector:1", "ports": [{"containerPort": 8443}]}]}}),
    );
    post(
        "/api/v1/namespaces/default/services",
        json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "injector", "namespace": "default"},
            "spec": {"selector": {"app": "injector"}, "ports": [{"port": 443, "targetPort": 8443}]}}),
    );
    // It selects no object, so that the simulated API server never calls it.
    post(
        "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
        json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
            "metadata": {"name": "injector"},
            "webhooks": [{"name": "injector.example.com", "failurePolicy": "Ignore",
                "admissionReviewVersions": ["v1"], "sideEffects": "None",
                "objectSelector": {"matchLabels": {"never": "selected"}},
                "clientConfig": {"service": {"namespace": "default", "name": "injector", "path": "/"}},
                "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}]}]}),
    );
    assert!(
        sim.server
            .wait_until(std::time::Duration::from_secs(10), |view| {
                view.list("discovery.k8s.io/v1", "EndpointSlice")
                    .iter()
                    .any(|s| {
                        s["metadata"]["labels"]["kubernetes.io/service-name"] == "injector"
                            && s["endpoints"].as_array().is_some_and(|e| !e.is_empty())
                    })
            })
    );
    let first = sim.run("doctor", &["--no-probe"]);
    let d18 = line(&first.stdout, "D18");
    assert!(d18.starts_with("FAIL"), "{}", first.stdout);
    assert!(
        first
            .stdout
            .contains("injector.example.com (default/injector) runs on ip-10-0-2-15")
            && first
                .stdout
                .contains("failurePolicy Ignore the API server admits objects unchanged"),
        "{}",
        first.stdout
    );
    let fixed = sim.run("doctor", &["--fix", "--no-probe"]);
    let now = fixed.stdout.split("now:").nth(1).unwrap();
    assert!(line(now, "D18").starts_with("ok"), "{}", fixed.stdout);
}
