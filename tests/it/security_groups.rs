//! Bootstrap and teardown with the security group: the built binary against the simulated
//! API server and moto (behind a fault proxy), through the real kube and AWS SDK clients.

use crate::cluster::Sim;
use crate::ec2::{Ec2, Fault};

const SOURCE: &str = "203.0.113.0/24";

/// A simulated cluster whose control-plane node (InternalIP 10.0.1.74, no providerID) is the
/// moto instance with that private address, and stacks that allow 203.0.113.0/24.
struct World {
    ec2: Ec2,
    sim: Sim,
}

impl World {
    fn new() -> Self {
        let ec2 = Ec2::start();
        let mut sim = Sim::new();
        sim.aws = ec2.env();
        sim.scratch.edit(
            "stacks/cluster.yaml",
            "  sources: []",
            &format!("  sources: [{SOURCE}]"),
        );
        Self { ec2, sim }
    }

    fn bootstrap(&self, extra: &[&str]) -> crate::harness::Run {
        let mut args = vec!["--no-verify"];
        args.extend_from_slice(extra);
        self.sim.run("bootstrap", &args)
    }

    fn teardown(&self) -> String {
        self.sim.run("teardown", &["--yes"]).success()
    }
}

fn ours(tags: &std::collections::BTreeMap<String, String>) -> bool {
    tags.get("obsboot.dev/managed").map(String::as_str) == Some("true")
        && tags.get("obsboot.dev/cluster").map(String::as_str) == Some("obsboot")
}

#[test]
fn bootstrap_opens_exactly_the_planned_rules_and_a_second_run_changes_nothing() {
    let world = World::new();
    let run = world.bootstrap(&[]);
    let stderr = run.stderr.clone();
    let out = run.success();
    let rules = world.ec2.rules(&world.ec2.group);
    let opened: Vec<(i32, &str)> = rules.iter().map(|r| (r.port, r.cidr.as_str())).collect();
    assert_eq!(opened, [(30080, SOURCE), (30300, SOURCE)], "{rules:?}");
    assert!(rules.iter().all(|r| ours(&r.tags)), "{rules:?}");
    assert_eq!(rules[0].tags["obsboot.dev/stack"], "bookinfo");
    assert_eq!(rules[0].tags["obsboot.dev/workload"], "productpage-v1");
    assert_eq!(
        rules[0].description,
        "obsboot: bookinfo/productpage-v1: Bookinfo productpage"
    );
    assert_eq!(rules[1].tags["obsboot.dev/stack"], "grafana");
    // The simulated control-plane node was matched to the moto instance by its address.
    let found = format!(
        "instance {} (private address 10.0.1.74 of node ip-10-0-1-74)",
        world.ec2.master
    );
    // Before any change: where, and in which account.
    assert!(stderr.contains(&found), "{stderr}");
    assert!(
        stderr.contains(
            "in region eu-west-1 (from AWS_REGION / the AWS profile), account 123456789012"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("2 rules to open, 0 to revoke"), "{stderr}");
    let announced = stderr.find("2 rules to open").unwrap();
    let first_phase = stderr.find("[1/7]").unwrap();
    assert!(announced < first_phase, "{stderr}");
    assert!(
        out.contains("2 rules opened, 0 unchanged, 0 revoked"),
        "{out}"
    );
    let ip = world.ec2.public_ip();
    assert!(
        out.contains(&format!("http://{ip}:30080/productpage")),
        "{out}"
    );
    assert!(out.contains(&format!("http://{ip}:30300")), "{out}");
    // Each rule went in its own request, and was read back.
    let mutations = world.ec2.proxy.mutations();
    assert_eq!(
        mutations, ["AuthorizeSecurityGroupIngress"; 2],
        "{mutations:?}"
    );

    world.ec2.proxy.clear();
    let again = world.bootstrap(&[]).success();
    assert!(again.contains("nothing changed"), "{again}");
    assert!(
        again.contains("0 rules opened, 2 unchanged, 0 revoked"),
        "{again}"
    );
    assert_eq!(world.ec2.proxy.mutations(), Vec::<String>::new());
    assert_eq!(world.ec2.rules(&world.ec2.group), rules);
}

#[test]
fn a_rule_someone_else_made_stays_untouched_through_bootstrap_and_teardown() {
    let world = World::new();
    let same = world.ec2.authorize(&world.ec2.group, 30080, SOURCE, &[]);
    let other = world
        .ec2
        .authorize(&world.ec2.group, 30080, "198.51.100.0/24", &[]);
    // Tagged by someone for another installation: not ours either.
    let staging = world.ec2.authorize(
        &world.ec2.group,
        30300,
        "192.0.2.0/24",
        &[
            ("obsboot.dev/managed", "true"),
            ("obsboot.dev/cluster", "staging"),
            ("obsboot.dev/stack", "grafana"),
        ],
    );
    let out = world.bootstrap(&[]).success();
    assert!(
        out.contains(&format!(
            "already allowed by a rule obsboot does not own: tcp 30080 from {SOURCE} in {} ({same}); left as it is",
            world.ec2.group
        )),
        "{out}"
    );
    assert!(out.contains("1 rule opened"), "{out}");
    let after = world.ec2.rules(&world.ec2.group);
    let foreign: Vec<&crate::ec2::Rule> = after
        .iter()
        .filter(|r| [&same, &other, &staging].contains(&&r.id))
        .collect();
    assert_eq!(foreign.len(), 3);
    assert!(
        foreign
            .iter()
            .filter(|r| r.id != staging)
            .all(|r| r.tags.is_empty()),
        "never tagged: {foreign:?}"
    );

    let out = world.teardown();
    assert!(out.contains("1 security-group rule revoked"), "{out}");
    let left: Vec<String> = world
        .ec2
        .rules(&world.ec2.group)
        .into_iter()
        .map(|r| r.id)
        .collect();
    let mut expected = vec![same, other, staging];
    expected.sort();
    let mut left_sorted = left.clone();
    left_sorted.sort();
    assert_eq!(left_sorted, expected);
}

#[test]
fn teardown_closes_the_ports_first_and_twice_is_a_no_op() {
    let world = World::new();
    world.bootstrap(&[]).success();
    world.ec2.proxy.clear();
    world.sim.server.clear_journal();
    let out = world.teardown();
    assert!(out.contains("2 security-group rules revoked"), "{out}");
    assert_eq!(world.ec2.summary(&world.ec2.group), []);
    assert_eq!(
        world.ec2.proxy.mutations(),
        ["RevokeSecurityGroupIngress"; 2]
    );
    assert!(world.sim.ours().is_empty());
    // Exposure was closed before any object was deleted.
    let revoked = world.ec2.proxy.last_mutation_at().unwrap();
    let first_delete = world
        .sim
        .server
        .journal()
        .into_iter()
        .find(|r| r.method == "DELETE")
        .unwrap();
    assert!(
        revoked < first_delete.at,
        "a DELETE came before the last revoke"
    );
    world.ec2.proxy.clear();
    let again = world.teardown();
    assert!(again.starts_with("teardown: nothing to delete"), "{again}");
    assert_eq!(world.ec2.proxy.mutations(), Vec::<String>::new());
}

#[test]
fn a_port_the_stacks_no_longer_expose_is_revoked() {
    let world = World::new();
    world.bootstrap(&[]).success();
    world
        .sim
        .scratch
        .edit("stacks/bookinfo.yaml", "hostPort: 30080", "hostPort: 30081");
    let out = world.bootstrap(&[]).success();
    assert!(
        out.contains("1 rule opened, 1 unchanged, 1 revoked"),
        "{out}"
    );
    assert!(
        out.contains("revoked tcp 30080 from 203.0.113.0/24"),
        "{out}"
    );
    assert_eq!(
        world.ec2.summary(&world.ec2.group),
        [
            (30081, SOURCE.to_owned(), true),
            (30300, SOURCE.to_owned(), true)
        ]
    );
    // --allow-from replaces the sources: the old rules go, the new ones come.
    let out = world
        .bootstrap(&["--allow-from", "198.51.100.7/32"])
        .success();
    assert!(
        out.contains("2 rules opened, 0 unchanged, 2 revoked"),
        "{out}"
    );
    assert_eq!(
        world.ec2.summary(&world.ec2.group),
        [
            (30081, "198.51.100.7/32".to_owned(), true),
            (30300, "198.51.100.7/32".to_owned(), true)
        ]
    );
}

#[test]
fn bootstrap_and_teardown_of_some_stacks_leave_the_other_stacks_rules() {
    let world = World::new();
    world.bootstrap(&[]).success();
    // New sources for Grafana only: Bookinfo's rule is not in play.
    let args = [
        "--stack",
        "prometheus",
        "--stack",
        "grafana",
        "--allow-from",
        "198.51.100.7/32",
    ];
    let out = world.bootstrap(&args).success();
    assert!(
        out.contains("1 rule opened, 0 unchanged, 1 revoked"),
        "{out}"
    );
    assert_eq!(
        world.ec2.summary(&world.ec2.group),
        [
            (30080, SOURCE.to_owned(), true),
            (30300, "198.51.100.7/32".to_owned(), true)
        ]
    );
    world
        .sim
        .run("teardown", &["--yes", "--stack", "bookinfo"])
        .success();
    assert_eq!(
        world.ec2.summary(&world.ec2.group),
        [(30300, "198.51.100.7/32".to_owned(), true)]
    );
}

#[test]
fn an_instance_with_two_groups_is_a_clear_error_before_anything_changes() {
    let world = World::new();
    let ssh = world.ec2.create_group("ssh");
    world.ec2.set_master_groups(&[&world.ec2.group, &ssh]);
    let err = world.bootstrap(&[]).refused();
    assert!(
        err.contains(&format!(
            "EC2 instance {} has 2 security groups",
            world.ec2.master
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!("{} (nodes)", world.ec2.group)),
        "{err}"
    );
    assert!(err.contains(&format!("{ssh} (ssh)")), "{err}");
    assert!(
        err.contains(
            "aws.securityGroup: sg-... in cluster.yaml, or tag it obsboot.dev/ingress=true"
        ),
        "{err}"
    );
    assert!(
        world.sim.writes().is_empty(),
        "nothing applied: {:?}",
        world.sim.writes()
    );
    assert_eq!(world.ec2.proxy.mutations(), Vec::<String>::new());

    // Either way of choosing works.
    world.ec2.tag_group(&ssh, "obsboot.dev/ingress", "true");
    world.bootstrap(&[]).success();
    assert_eq!(world.ec2.summary(&ssh).len(), 2);
    assert_eq!(world.ec2.summary(&world.ec2.group), []);
}

#[test]
fn the_default_group_is_used_only_when_named() {
    let world = World::new();
    let default = world.ec2.default_group();
    let instance = world
        .ec2
        .launch(&world.ec2.subnet, "10.0.1.80", &[&default]);
    let err = world.bootstrap(&["--instance-id", &instance]).refused();
    assert!(err.contains("its VPC's default group"), "{err}");
    assert!(
        err.contains(&format!("aws.securityGroup: {default}")),
        "{err}"
    );
    world.sim.scratch.edit(
        "stacks/cluster.yaml",
        "securityGroup: control-plane-node",
        &format!("securityGroup: {default}"),
    );
    world.bootstrap(&["--instance-id", &instance]).success();
    assert_eq!(world.ec2.summary(&default).len(), 2);
}

#[test]
fn the_rule_quota_is_checked_before_anything_changes() {
    let world = World::new();
    for port in 0..59 {
        world
            .ec2
            .authorize(&world.ec2.group, 20000 + port, "10.0.0.0/16", &[]);
    }
    world.ec2.proxy.clear();
    let err = world.bootstrap(&[]).refused();
    assert!(
        err.contains("has 59 inbound IPv4 rules; adding 2 would exceed the quota of 60"),
        "{err}"
    );
    assert!(world.sim.writes().is_empty());
    assert_eq!(world.ec2.proxy.mutations(), Vec::<String>::new());
    // A raised quota, declared, lets them in (moto's own limit is 60 as well, so one more).
    world.ec2.authorize(&world.ec2.group, 30300, SOURCE, &[]);
    world.sim.scratch.edit(
        "stacks/cluster.yaml",
        "  skipSecurityGroups: false",
        "  skipSecurityGroups: false\n  rulesPerGroup: 61",
    );
    world
        .bootstrap(&["--stack", "grafana", "--stack", "prometheus"])
        .success();
}

#[test]
fn a_missing_permission_names_the_iam_action_and_is_not_retried() {
    let world = World::new();
    world.ec2.proxy.inject(Fault {
        action: "AuthorizeSecurityGroupIngress",
        times: u32::MAX,
        status: 403,
        code: "UnauthorizedOperation",
        message: "You are not authorized to perform this operation. Encoded authorization failure message: SECRET-ENCODED",
        ..Fault::default()
    });
    let err = world.bootstrap(&[]).refused();
    assert!(
        err.contains(
            "not permitted to call ec2:AuthorizeSecurityGroupIngress (UnauthorizedOperation)"
        ),
        "{err}"
    );
    assert!(err.contains("ec2:CreateTags"), "{err}");
    assert!(err.contains("deploy.md"), "{err}");
    let authorizes = world
        .ec2
        .proxy
        .actions()
        .iter()
        .filter(|a| *a == "AuthorizeSecurityGroupIngress")
        .count();
    assert_eq!(authorizes, 1, "a denial is final");
    assert_eq!(world.ec2.summary(&world.ec2.group), []);
}

#[test]
fn throttling_is_retried_then_reported() {
    let world = World::new();
    world.ec2.proxy.inject(Fault {
        action: "DescribeSecurityGroupRules",
        times: 2,
        status: 503,
        code: "RequestLimitExceeded",
        message: "Request limit exceeded.",
        ..Fault::default()
    });
    world.bootstrap(&[]).success();
    assert_eq!(world.ec2.summary(&world.ec2.group).len(), 2);

    world.ec2.proxy.clear();
    world.ec2.proxy.inject(Fault {
        action: "DescribeInstances",
        times: u32::MAX,
        status: 503,
        code: "RequestLimitExceeded",
        message: "Request limit exceeded.",
        ..Fault::default()
    });
    let err = world.bootstrap(&[]).refused();
    assert!(
        err.contains(
            "EC2 kept throttling ec2:DescribeInstances (RequestLimitExceeded) after 3 attempts"
        ),
        "{err}"
    );
    let attempts = world
        .ec2
        .proxy
        .actions()
        .iter()
        .filter(|a| *a == "DescribeInstances")
        .count();
    assert_eq!(attempts, 3);
}

#[test]
fn rejected_credentials_and_an_unknown_instance_say_what_to_check() {
    let world = World::new();
    world.ec2.proxy.inject(Fault {
        action: "DescribeInstances",
        times: 1,
        status: 401,
        code: "AuthFailure",
        message: "AWS was not able to validate the provided access credentials",
        ..Fault::default()
    });
    let err = world.bootstrap(&[]).refused();
    assert!(
        err.contains("EC2 rejected the credentials calling ec2:DescribeInstances (AuthFailure"),
        "{err}"
    );

    let err = world
        .bootstrap(&["--instance-id", "i-0123456789abcdef0"])
        .refused();
    assert!(
        err.contains("EC2 instance i-0123456789abcdef0 (--instance-id) does not exist in region eu-west-1 (the region comes from AWS_REGION / the AWS profile)"),
        "{err}"
    );
    // With the right id, the node's address no longer matters.
    world
        .bootstrap(&["--instance-id", &world.ec2.master])
        .success();
}

#[test]
fn skipping_security_groups_lists_the_ports_to_open_and_touches_no_ec2() {
    let world = World::new();
    let out = world.bootstrap(&["--skip-security-groups"]).success();
    assert!(
        out.contains("allow these inbound to the control-plane node yourself"),
        "{out}"
    );
    assert!(
        out.contains("tcp 30080 from 203.0.113.0/24 (bookinfo/productpage-v1)"),
        "{out}"
    );
    assert_eq!(world.ec2.proxy.actions(), Vec::<String>::new());
    world
        .sim
        .run("teardown", &["--yes", "--skip-security-groups"])
        .success();
    assert_eq!(world.ec2.proxy.actions(), Vec::<String>::new());
}

#[test]
fn an_interrupt_while_opening_finishes_the_rule_in_flight_and_a_rerun_converges() {
    let world = World::new();
    world.ec2.proxy.inject(Fault {
        action: "AuthorizeSecurityGroupIngress",
        times: u32::MAX,
        delay: std::time::Duration::from_millis(1500),
        ..Fault::default()
    });
    let child = world.sim.spawn("bootstrap", &["--no-verify"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !world
        .ec2
        .proxy
        .actions()
        .iter()
        .any(|a| a == "AuthorizeSecurityGroupIngress")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "bootstrap never reached the security group"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    crate::cluster::interrupt(&child);
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    // The request in flight completed; nothing was started after the signal.
    let authorizes = world.ec2.proxy.mutations().len();
    assert_eq!(authorizes, 1, "{:?}", world.ec2.proxy.mutations());
    let rules = world.ec2.rules(&world.ec2.group);
    assert_eq!(rules.len(), 1);
    assert!(ours(&rules[0].tags));
    assert!(
        stderr.contains(&rules[0].id),
        "the created rule is named: {stderr}"
    );

    world.ec2.proxy.clear();
    let out = world.bootstrap(&[]).success();
    assert!(out.contains("1 rule opened, 1 unchanged"), "{out}");
    assert_eq!(world.ec2.summary(&world.ec2.group).len(), 2);
}

#[test]
fn ipv6_sources_become_ipv6_rules() {
    let world = World::new();
    world
        .bootstrap(&[
            "--allow-from",
            "2001:db8::/32",
            "--stack",
            "grafana",
            "--stack",
            "prometheus",
        ])
        .success();
    assert_eq!(
        world.ec2.summary(&world.ec2.group),
        [(30300, "2001:db8::/32".to_owned(), true)]
    );
    world.sim.run("teardown", &["--yes"]).success();
    assert_eq!(world.ec2.summary(&world.ec2.group), []);
}

#[test]
fn every_page_of_rules_is_read() {
    let world = World::new();
    // Someone else's rules come first, so that ours are on later pages.
    for port in 0..3 {
        world
            .ec2
            .authorize(&world.ec2.group, 20000 + port, "10.0.0.0/16", &[]);
    }
    world.ec2.proxy.paginate(1);
    world.bootstrap(&[]).success();
    assert!(world.ec2.proxy.later_pages() > 0, "NextToken was followed");
    world.ec2.proxy.clear();
    let again = world.bootstrap(&[]).success();
    assert!(again.contains("0 rules opened, 2 unchanged"), "{again}");
    assert_eq!(world.ec2.proxy.mutations(), Vec::<String>::new());
    let out = world.teardown();
    assert!(out.contains("2 security-group rules revoked"), "{out}");
    assert_eq!(world.ec2.summary(&world.ec2.group).len(), 3);
}

#[test]
fn a_malformed_endpoint_or_missing_credentials_are_clear_errors() {
    let mut world = World::new();
    for (key, value) in &mut world.sim.aws {
        if key == "AWS_ENDPOINT_URL_EC2" {
            *value = "not a url".into();
        }
    }
    let err = world.bootstrap(&[]).refused();
    assert!(
        err.contains(
            "ec2:DescribeInstances could not be sent to EC2 (not a url): invalid uri character"
        ),
        "{err}"
    );
    assert!(world.sim.writes().is_empty());
    world
        .sim
        .aws
        .retain(|(key, _)| !key.starts_with("AWS_ACCESS_KEY_ID") && !key.starts_with("AWS_SECRET"));
    world
        .sim
        .aws
        .retain(|(key, _)| key != "AWS_ENDPOINT_URL_EC2");
    let err = world.bootstrap(&[]).refused();
    assert!(
        err.contains("no providers in chain provided credentials; check the AWS credentials"),
        "{err}"
    );
}

#[test]
fn verify_probes_the_public_address_of_the_instance_and_compares_with_its_group() {
    let world = World::new();
    world.bootstrap(&[]).success();
    // The moto instance's public address leads nowhere from here: the probes fail, but what
    // they were compared with is the group bootstrap opened.
    let run = world.sim.run(
        "verify",
        &[
            "-o",
            "json",
            "--probe-timeout",
            "1s",
            "--stack",
            "grafana",
            "--stack",
            "prometheus",
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(json["host"], world.ec2.public_ip());
    assert_eq!(json["securityGroup"]["group"], world.ec2.group.as_str());
    assert_eq!(json["securityGroup"]["instance"], world.ec2.master.as_str());
    let grafana = &json["endpoints"][0];
    assert_eq!(
        grafana["url"],
        format!("http://{}:30300", world.ec2.public_ip())
    );
    assert_eq!(grafana["passed"], false);
}

#[test]
fn diff_shows_the_rules_bootstrap_would_open_and_revoke_and_changes_none() {
    let world = World::new();
    let group = &world.ec2.group;
    let before = world.sim.run("diff", &[]).success();
    assert!(
        before.contains(&format!(
            "+ open tcp 30080 from {SOURCE} in {group} (bookinfo/productpage-v1)"
        )),
        "{before}"
    );
    assert!(
        before.contains(&format!(
            "+ open tcp 30300 from {SOURCE} in {group} (grafana/grafana)"
        )),
        "{before}"
    );
    world.bootstrap(&[]).success();
    let after = world.sim.run("diff", &["--exit-code"]).success();
    assert_eq!(after, "no changes: the cluster matches the plan\n");
    world.ec2.proxy.clear();
    let moved = world
        .sim
        .run("diff", &["--exit-code", "--allow-from", "198.51.100.7/32"]);
    assert_eq!(moved.code, 1, "{}", moved.stderr);
    assert_eq!(
        moved.stdout.matches("- revoke tcp").count(),
        2,
        "{}",
        moved.stdout
    );
    assert_eq!(
        moved.stdout.matches("+ open tcp").count(),
        2,
        "{}",
        moved.stdout
    );
    assert_eq!(world.ec2.proxy.mutations(), Vec::<String>::new());
}

fn set_provider_id(world: &World, provider_id: &str) {
    world.sim.server.update_as(
        "aws-cloud-controller-manager",
        serde_json::json!({
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": "ip-10-0-1-74"},
            "spec": {"providerID": provider_id},
        }),
    );
}

#[test]
fn the_instance_is_found_by_the_nodes_provider_id_when_it_has_one() {
    let world = World::new();
    // Another instance than the one with the node's address: the providerID wins.
    let other = world
        .ec2
        .launch(&world.ec2.subnet, "10.0.1.90", &[&world.ec2.group]);
    set_provider_id(&world, &format!("aws:///eu-west-1a/{other}"));
    let run = world.bootstrap(&[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "of instance {other} (providerID of node ip-10-0-1-74)"
        )),
        "{}",
        run.stderr
    );

    set_provider_id(&world, "gce://project/europe-west1-b/node");
    let err = world.bootstrap(&[]).refused();
    assert!(
        err.contains("node ip-10-0-1-74 has providerID \"gce://project/europe-west1-b/node\", which names no EC2 instance (expected aws:///<zone>/i-...); pass --instance-id"),
        "{err}"
    );
}

#[test]
fn an_instance_without_a_public_address_gets_its_ports_but_no_urls() {
    let world = World::new();
    let private = world.ec2.create_subnet("10.0.3.0/24", false);
    let instance = world.ec2.launch(&private, "10.0.3.10", &[&world.ec2.group]);
    let run = world.bootstrap(&["--instance-id", &instance]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("instance {instance} has no public address: the ports opened are reachable only from inside its VPC")),
        "{}",
        run.stderr
    );
    assert!(!run.stdout.contains("http://"), "{}", run.stdout);
    assert_eq!(world.ec2.summary(&world.ec2.group).len(), 2);
}

#[test]
fn the_ports_can_be_closed_when_the_cluster_is_gone() {
    let world = World::new();
    world.bootstrap(&[]).success();
    // The API server is unreachable now.
    world.sim.scratch.write_unreachable_kubeconfig();
    let err = world.sim.run("teardown", &["--yes"]).refused();
    assert!(
        err.contains("`obsboot teardown --security-groups-only` still closes the ports"),
        "{err}"
    );
    let out = world
        .sim
        .run("teardown", &["--yes", "--security-groups-only"])
        .success();
    assert!(out.contains("2 security-group rules revoked"), "{out}");
    assert_eq!(world.ec2.summary(&world.ec2.group), []);
    let again = world
        .sim
        .run("teardown", &["--yes", "--security-groups-only"])
        .success();
    assert!(again.starts_with("teardown: nothing to delete"), "{again}");
}

#[test]
fn teardown_that_cannot_close_the_ports_deletes_nothing() {
    let world = World::new();
    world.bootstrap(&[]).success();
    world.ec2.proxy.inject(Fault {
        action: "RevokeSecurityGroupIngress",
        times: u32::MAX,
        status: 403,
        code: "UnauthorizedOperation",
        message: "You are not authorized to perform this operation.",
        ..Fault::default()
    });
    world.sim.server.clear_journal();
    let err = world.sim.run("teardown", &["--yes"]).refused();
    assert!(
        err.contains(
            "error: failed to close the ports obsboot opened, so nothing in the cluster was deleted"
        ),
        "{err}"
    );
    assert!(err.contains("caused by: not permitted to call ec2:RevokeSecurityGroupIngress (UnauthorizedOperation)"), "{err}");
    assert!(world.sim.writes().is_empty(), "{:?}", world.sim.writes());
    assert_eq!(world.ec2.summary(&world.ec2.group).len(), 2);
}

#[test]
fn a_revoke_that_finds_nothing_in_a_default_vpc_counts_as_already_gone() {
    let world = World::new();
    world.bootstrap(&[]).success();
    // In a default VPC, EC2 answers success and lists what it did not find.
    world.ec2.proxy.inject(Fault {
        action: "RevokeSecurityGroupIngress",
        times: 1,
        status: 200,
        body: Some(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<RevokeSecurityGroupIngressResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>fault-proxy</requestId><return>true</return><unknownIpPermissionSet><item><ipProtocol>tcp</ipProtocol><fromPort>30080</fromPort><toPort>30080</toPort><ipRanges><item><cidrIp>203.0.113.0/24</cidrIp></item></ipRanges></item></unknownIpPermissionSet></RevokeSecurityGroupIngressResponse>",
        ),
        ..Fault::default()
    });
    let out = world.teardown();
    assert!(out.contains("1 security-group rule revoked"), "{out}");
    assert!(
        out.contains("already gone: tcp 30080 from 203.0.113.0/24"),
        "{out}"
    );
}

#[test]
fn status_shows_each_planned_rule() {
    let world = World::new();
    let theirs = world.ec2.authorize(&world.ec2.group, 30300, SOURCE, &[]);
    let before = world.sim.run("status", &[]).success();
    let group = &world.ec2.group;
    assert!(
        before.contains(&format!("security group {group} (nodes) in eu-west-1:")),
        "{before}"
    );
    assert!(
        before.contains(&format!(
            "  bookinfo   tcp 30080 from {SOURCE} missing: bootstrap opens it"
        )),
        "{before}"
    );
    assert!(
        before.contains(&format!(
            "  grafana    tcp 30300 from {SOURCE} allowed by a rule obsboot does not own ({theirs})"
        )),
        "{before}"
    );
    world.bootstrap(&[]).success();
    world
        .sim
        .scratch
        .edit("stacks/bookinfo.yaml", "hostPort: 30080", "hostPort: 30081");
    let after = world.sim.run("status", &["-o", "json"]).success();
    let json: serde_json::Value = serde_json::from_str(&after).unwrap();
    let states: Vec<(String, String)> = json["securityGroup"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["rule"].as_str().unwrap().to_owned(),
                r["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            (format!("tcp 30081 from {SOURCE}"), "missing".to_owned()),
            (format!("tcp 30300 from {SOURCE}"), "foreign".to_owned()),
            (format!("tcp 30080 from {SOURCE}"), "stale".to_owned()),
        ]
    );
    assert_eq!(
        world.ec2.proxy.mutations().len(),
        1,
        "only the bootstrap changed EC2"
    );
}
