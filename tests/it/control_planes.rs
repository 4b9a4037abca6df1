//! Several control-plane nodes (HA kubeadm): the pinned pods may land on any of them, so
//! bootstrap opens the exposed ports in each control-plane node's group (one rule per group,
//! however many nodes share it), prints the address of the node each pinned pod runs on, and
//! teardown closes every one of those rules.

use crate::apiserver::{ApiServer, CONTROL_PLANE, SimConfig, SimNode};
use crate::cluster::Sim;
use crate::ec2::{Ec2, Peer};

const SOURCE: &str = "203.0.113.0/24";

/// Three control-plane nodes in two groups (`cp-a` holds two of them, `cp-b` one) and a
/// worker in its own group, in moto; the simulated cluster with those nodes.
struct World {
    ec2: Ec2,
    sim: Sim,
    cp_a: String,
    cp_b: String,
    worker_group: String,
    /// (node, instance).
    nodes: Vec<(String, String)>,
}

impl World {
    fn new() -> Self {
        let ec2 = Ec2::start_bare();
        let cp_a = ec2.create_group("cp-a");
        let cp_b = ec2.create_group("cp-b");
        let worker_group = ec2.create_group("workers");
        let subnet = ec2.subnet.clone();
        let layout = [
            ("10.0.1.74", &cp_a, true),
            ("10.0.1.75", &cp_a, true),
            ("10.0.1.76", &cp_b, true),
            ("10.0.1.90", &worker_group, false),
        ];
        let mut config = SimConfig::standard();
        config.nodes = Vec::new();
        let mut nodes = Vec::new();
        for (ip, group, control_plane) in layout {
            let instance = ec2.launch(&subnet, ip, &[group]);
            let name = format!("ip-{}", ip.replace('.', "-"));
            let node = SimNode::new(&name, ip);
            let node = if control_plane {
                node.label(CONTROL_PLANE, "")
                    .taint(CONTROL_PLANE, "NoSchedule")
            } else {
                node
            };
            // The first node is being drained: the pinned pods land on the others, so that
            // an address taken from the first node instead of the pod's would show.
            config.nodes.push(if ip == "10.0.1.74" {
                node.taint("example.com/drain", "NoSchedule")
            } else {
                node
            });
            nodes.push((name, instance));
        }
        // Nothing between the nodes is modelled here; doctor's own tests cover that.
        for group in [&cp_a, &cp_b, &worker_group] {
            ec2.authorize_permission(
                group,
                false,
                "-1",
                (-1, -1),
                &Peer::Cidr("10.0.0.0/16".into()),
            );
        }
        let mut sim = Sim::with(ApiServer::start_with(config));
        sim.aws = ec2.env();
        sim.scratch.edit(
            "stacks/cluster.yaml",
            "  sources: []",
            &format!("  sources: [{SOURCE}]"),
        );
        Self {
            ec2,
            sim,
            cp_a,
            cp_b,
            worker_group,
            nodes,
        }
    }

    /// (port, source) of obsboot's inbound rules in `group`.
    fn exposed(&self, group: &str) -> Vec<(i32, String)> {
        self.ec2
            .rules(group)
            .into_iter()
            .filter(|r| r.tags.contains_key("obsboot.dev/stack"))
            .map(|r| (r.port, r.cidr))
            .collect()
    }
}

#[test]
fn bootstrap_opens_the_ports_in_each_control_plane_group_once_and_teardown_closes_them() {
    let world = World::new();
    let run = world.sim.run("bootstrap", &["--no-verify"]);
    let stderr = run.stderr.clone();
    let out = run.success();
    let expected = [(30080, SOURCE.to_owned()), (30300, SOURCE.to_owned())];
    assert_eq!(world.exposed(&world.cp_a), expected, "{stderr}");
    assert_eq!(world.exposed(&world.cp_b), expected, "{stderr}");
    assert!(world.exposed(&world.worker_group).is_empty());
    // Each URL names the control-plane node its pod runs on, by that node's address.
    // verify follows each pod to its node as well (the probes themselves time out: moto's
    // public addresses lead nowhere).
    let verify = world.sim.run("verify", &["--probe-timeout", "1s"]);
    assert_eq!(verify.code, 1, "{}\n{}", verify.stdout, verify.stderr);
    let pods = world.sim.server.objects();
    for (workload, port) in [("productpage", 30080), ("grafana", 30300)] {
        let node = pods
            .iter()
            .filter(|o| o["kind"] == "Pod")
            .find(|p| {
                p["metadata"]["name"]
                    .as_str()
                    .is_some_and(|n| n.starts_with(workload))
            })
            .and_then(|p| p["spec"]["nodeName"].as_str())
            .unwrap_or_else(|| panic!("a {workload} pod is scheduled"))
            .to_owned();
        assert_ne!(node, "ip-10-0-1-74", "the drained node takes no pod");
        let instance = &world.nodes.iter().find(|(n, _)| *n == node).unwrap().1;
        let address = world.ec2.public_ip_of(instance);
        let url = format!("http://{address}:{port}");
        assert!(
            out.contains(&url),
            "{workload} on {node} ({address}):\n{out}"
        );
        assert!(
            verify.stdout.contains(&url),
            "{workload} on {node}:\n{}",
            verify.stdout
        );
    }
    let teardown = world.sim.run("teardown", &["--yes"]);
    assert_eq!(teardown.code, 0, "{}", teardown.stderr);
    assert!(world.exposed(&world.cp_a).is_empty());
    assert!(world.exposed(&world.cp_b).is_empty());
}

#[test]
fn instance_id_with_several_control_plane_nodes_is_refused_naming_them() {
    let world = World::new();
    let instance = world.nodes[0].1.clone();
    let run = world
        .sim
        .run("bootstrap", &["--no-verify", "--instance-id", &instance]);
    // The command line asks for what the cluster's shape rules out: a usage error.
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("3 nodes match the control-plane selector"),
        "{}",
        run.stderr
    );
    assert!(world.exposed(&world.cp_a).is_empty());
}
