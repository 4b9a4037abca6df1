//! The checks, as one table: each has an id, a title, the facts it needs and a pure function
//! from the facts to a finding. A check whose facts were not read is skipped, saying why;
//! the order of the table is the order of the report.

use crate::aws::{CLUSTER_TAG, MANAGED_TAG, NETWORK_SCOPE, SCOPE_TAG};
use crate::network::cni::{CniKind, HostPorts};
use crate::network::fixes::{FixPlan, Profile};
use crate::network::flows::{Purpose, Source as FlowSource};
use crate::network::ranges;
use crate::network::verdict::{Evaluation, Outcome};

use super::facts::{Analysis, Facts};
use super::probe::{Outcome as ProbeOutcome, Target};
use super::report::{Finding, Fix, Status};

/// What a check needs beyond the cluster's objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// The instances and their groups' rules.
    Ec2,
    /// The probes through the API server.
    Probes,
}

/// One check.
pub struct Check {
    /// `D04`.
    pub id: &'static str,
    /// What it checks.
    pub title: &'static str,
    /// The facts it needs.
    pub needs: &'static [Need],
    /// The check itself.
    pub run: fn(&Facts, &Analysis) -> Finding,
}

/// Every check, in the order of the report. The ids follow the research notes' table.
pub const CHECKS: &[Check] = &[
    Check {
        id: "D01",
        title: "every node is a running EC2 instance",
        needs: &[Need::Ec2],
        run: inventory,
    },
    Check {
        id: "D02",
        title: "the CNI and its mode are known",
        needs: &[],
        run: cni,
    },
    Check {
        id: "D03",
        title: "the pod network overlaps neither the VPC nor the Services",
        needs: &[Need::Ec2],
        run: pod_ranges,
    },
    Check {
        id: "D04",
        title: "the security groups carry the CNI's traffic between the nodes",
        needs: &[Need::Ec2],
        run: carrier,
    },
    Check {
        id: "D06",
        title: "the control plane reaches every kubelet (TCP 10250)",
        needs: &[Need::Ec2],
        run: kubelet,
    },
    Check {
        id: "D07",
        title: "Prometheus reaches node-exporter and the kubelet on every node",
        needs: &[Need::Ec2],
        run: prometheus,
    },
    Check {
        id: "D08",
        title: "natively routed nodes have the source/destination check off",
        needs: &[Need::Ec2],
        run: source_dest,
    },
    Check {
        id: "D09",
        title: "no natively routed pair of nodes spans subnets",
        needs: &[Need::Ec2],
        run: native_subnets,
    },
    Check {
        id: "D13",
        title: "hostPorts take effect (the CNI chains portmap)",
        needs: &[],
        run: host_ports,
    },
    Check {
        id: "D15",
        title: "the API server reaches each kubelet and the pod network on each node",
        needs: &[Need::Probes],
        run: probes,
    },
    Check {
        id: "D18",
        title: "admission webhooks run where the API server reaches them",
        needs: &[Need::Ec2],
        run: webhooks,
    },
];

/// Runs every check.
pub fn run_all(facts: &Facts, analysis: &Analysis) -> Vec<Finding> {
    CHECKS
        .iter()
        .map(|check| {
            let missing = check.needs.iter().find_map(|need| match need {
                Need::Ec2 => facts.ec2.skipped(),
                Need::Probes => facts.probes.skipped(),
            });
            match missing {
                Some(why) => Finding::new(check.id, check.title, Status::Skip).diagnosis(why),
                None => (check.run)(facts, analysis),
            }
        })
        .collect()
}

/// The tags of every rule the fixes add.
pub fn tags(installation: &str) -> Vec<(String, String)> {
    vec![
        (MANAGED_TAG.to_owned(), "true".to_owned()),
        (CLUSTER_TAG.to_owned(), installation.to_owned()),
        (SCOPE_TAG.to_owned(), NETWORK_SCOPE.to_owned()),
    ]
}

fn check(id: &str) -> &'static Check {
    CHECKS.iter().find(|c| c.id == id).unwrap_or(&CHECKS[0])
}

fn finding(id: &'static str, status: Status) -> Finding {
    Finding::new(id, check(id).title, status)
}

fn inventory(facts: &Facts, _: &Analysis) -> Finding {
    let Some(inventory) = facts.ec2.get() else {
        return finding("D01", Status::Skip);
    };
    let status = if !inventory.unplaced.is_empty() {
        Status::Fail
    } else if !inventory.not_running.is_empty() || !inventory.skipped_rules.is_empty() {
        Status::Warn
    } else {
        Status::Ok
    };
    let mut out = finding("D01", status);
    for node in &inventory.nodes {
        out = out.evidence(format!(
            "node {}{}: instance {} (from its {}), groups {}, subnet {}, VPC {}, source/destination check {}",
            node.name,
            if node.control_plane { " (control plane)" } else { "" },
            node.instance_id,
            inventory.found_from.get(&node.name).map_or("?", String::as_str),
            node.groups.join(", "),
            node.subnet_id,
            node.vpc_id,
            if node.source_dest_check { "on" } else { "off" },
        ));
    }
    for rule in &inventory.skipped_rules {
        out = out.evidence(format!("not taken into account: {rule}"));
    }
    // An unplaced node has no network facts, so the checks between nodes cannot include it;
    // a stopped instance is placed, and its groups' rules are checked like any other's.
    let mut problems: Vec<String> = inventory
        .unplaced
        .iter()
        .map(|u| {
            format!(
                "node {}: {} (the checks between nodes leave it out)",
                u.node, u.why
            )
        })
        .collect();
    problems.extend(inventory.not_running.iter().map(|(node, id, state)| {
        format!("node {node}: instance {id} is {state} (nothing reaches it until it runs; its groups' rules are checked all the same)")
    }));
    if problems.is_empty() {
        out
    } else {
        out.diagnosis(problems.join("; "))
    }
}

fn cni(facts: &Facts, _: &Analysis) -> Finding {
    let cni = &facts.cni;
    let status = if !cni.is_known() {
        Status::Warn
    } else if cni.problems.is_empty() {
        Status::Ok
    } else {
        Status::Warn
    };
    let mut out = finding("D02", status);
    out.title = format!("{}: {}", check("D02").title, cni.kind);
    for fact in &cni.evidence {
        out = out.evidence(fact.clone());
    }
    if !cni.is_known() {
        out = out.diagnosis(format!(
            "{}: the traffic between the nodes cannot be named; `obsboot doctor --fix --fix-profile all-traffic` opens every protocol between the nodes' groups",
            if cni.problems.is_empty() {
                "the CNI's datapath was not recognised".to_owned()
            } else {
                cni.problems.join("; ")
            }
        ));
    } else if !cni.problems.is_empty() {
        out = out.diagnosis(cni.problems.join("; "));
    }
    out
}

fn pod_ranges(facts: &Facts, _: &Analysis) -> Finding {
    let r = &facts.ranges;
    if r.pods.is_empty() {
        return finding("D03", Status::Warn).diagnosis(
            "the pod network is known neither from the CNI's configuration, kubeadm-config's podSubnet nor the nodes' podCIDR",
        );
    }
    let found = ranges::overlaps(&r.pods, &r.vpc, r.services);
    let mut out = finding(
        "D03",
        if found.is_empty() {
            Status::Ok
        } else {
            Status::Fail
        },
    )
    .evidence(format!("pod network {}", join(&r.pods)))
    .evidence(format!("VPC {}", join(&r.vpc)));
    if let Some(services) = r.services {
        out = out.evidence(format!("Service network {services}"));
    }
    if !found.is_empty() {
        out = out.diagnosis(
            found
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        );
    }
    out
}

fn join<T: ToString>(items: &[T]) -> String {
    if items.is_empty() {
        "(not known)".into()
    } else {
        items
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A finding for the flows of `purpose`: ok when all are allowed, FAIL when one is denied,
/// warn when some cannot be decided; the rules that would carry the denied ones as fixes.
fn flows(
    id: &'static str,
    facts: &Facts,
    analysis: &Analysis,
    purpose: Purpose,
    consequence: &str,
) -> Finding {
    let mine: Vec<&Evaluation> = analysis
        .evaluations
        .iter()
        .filter(|e| e.flow.purpose() == purpose)
        .collect();
    let denied: Vec<&&Evaluation> = mine
        .iter()
        .filter(|e| e.outcome() == Outcome::Denied)
        .collect();
    let unknown: Vec<&&Evaluation> = mine
        .iter()
        .filter(|e| e.outcome() == Outcome::Unknown)
        .collect();
    let status = match (denied.is_empty(), unknown.is_empty()) {
        (false, _) => Status::Fail,
        (true, false) => Status::Warn,
        (true, true) => Status::Ok,
    };
    let mut out = finding(id, status);
    if mine.is_empty() {
        return out.evidence("no such traffic between the nodes");
    }
    for evaluation in &mine {
        if status == Status::Ok || evaluation.outcome() != Outcome::Allowed {
            out = out.evidence(evaluation.explain());
        }
    }
    if !denied.is_empty() {
        out = out.diagnosis(format!(
            "EC2 drops {} of {} required flow(s) silently: {consequence}",
            denied.len(),
            mine.len()
        ));
        let plan = facts.plan(analysis, Some(purpose), Profile::Minimal);
        out = with_fixes(out, &plan, &facts.installation);
    } else if !unknown.is_empty() {
        out = out.diagnosis(format!(
            "{} flow(s) cannot be decided from the rules; check them by hand",
            unknown.len()
        ));
    }
    out
}

fn with_fixes(mut out: Finding, plan: &FixPlan, installation: &str) -> Finding {
    let tags = tags(installation);
    for rule in &plan.rules {
        out = out.fix(Fix {
            summary: format!("add {rule}"),
            command: rule.command(&tags),
            automatic: true,
        });
    }
    for manual in &plan.manual {
        out = out.fix(Fix {
            summary: manual.clone(),
            command: String::new(),
            automatic: false,
        });
    }
    out
}

fn carrier(facts: &Facts, analysis: &Analysis) -> Finding {
    let consequence = match facts.cni.kind {
        CniKind::Unknown => "pod traffic between nodes may be dropped",
        _ => {
            "pods on different nodes cannot talk (Services answer only from the same node, Grafana times out on Prometheus, Linkerd's control plane and its webhooks fail from the other node)"
        }
    };
    if !facts.cni.is_known() {
        let mut out = finding("D04", Status::Warn).diagnosis(
            "the CNI is not known, so its traffic cannot be named; `--fix-profile all-traffic` opens every protocol between the nodes' groups",
        );
        let plan = facts.plan(analysis, None, Profile::AllTraffic);
        out = with_fixes(out, &plan, &facts.installation);
        return out;
    }
    flows("D04", facts, analysis, Purpose::Cni, consequence)
}

fn kubelet(facts: &Facts, analysis: &Analysis) -> Finding {
    flows(
        "D06",
        facts,
        analysis,
        Purpose::Kubelet,
        "`kubectl logs`, `exec` and `port-forward` time out for pods on the other nodes, and metrics-server cannot scrape them",
    )
}

fn prometheus(facts: &Facts, analysis: &Analysis) -> Finding {
    flows(
        "D07",
        facts,
        analysis,
        Purpose::Prometheus,
        "Prometheus's node-exporter and kubelet targets on the other nodes are down",
    )
}

fn source_dest(facts: &Facts, analysis: &Analysis) -> Finding {
    let needs = &analysis.requirements.source_dest_check;
    if needs.is_empty() {
        return finding("D08", Status::Ok).evidence(
            if analysis
                .evaluations
                .iter()
                .any(|e| matches!(e.flow.source, crate::network::flows::Source::PodCidrs(_)))
            {
                "every natively routed node has the check off"
            } else {
                "no pair of nodes routes pod traffic natively"
            },
        );
    }
    let mut out = finding("D08", Status::Fail).diagnosis(format!(
        "{} routes pod packets between nodes of one subnet unencapsulated; EC2 drops them at instances whose source/destination check is on",
        facts.cni.kind
    ));
    for need in needs {
        out = out
            .evidence(format!(
                "node {} (instance {}): source/destination check on, routes natively to {}",
                need.node,
                need.instance_id,
                need.peers.join(", ")
            ))
            .fix(Fix {
                summary: format!(
                    "turn the source/destination check off on {} (or use an encapsulating mode such as IP-in-IP or VXLAN Always); `--fix --fix-source-dest-check` does this and records the old value so that `--revert` puts it back",
                    need.instance_id
                ),
                command: format!(
                    "aws ec2 modify-instance-attribute --instance-id {} --no-source-dest-check",
                    need.instance_id
                ),
                automatic: false,
            });
    }
    out
}

fn native_subnets(_: &Facts, analysis: &Analysis) -> Finding {
    let impossible = &analysis.requirements.impossible;
    if impossible.is_empty() {
        return finding("D09", Status::Ok);
    }
    let mut out = finding("D09", Status::Fail);
    for pair in impossible {
        out = out.evidence(format!("{} -> {}: {}", pair.from, pair.to, pair.reason));
    }
    out.diagnosis("pod traffic between these nodes has no route; no security-group rule can fix it")
}

fn host_ports(facts: &Facts, _: &Analysis) -> Finding {
    match &facts.cni.host_ports {
        HostPorts::Supported(why) => finding("D13", Status::Ok).evidence(why.clone()),
        HostPorts::Unsupported(why) => finding("D13", Status::Fail).evidence(why.clone()).diagnosis(
            "the CNI ignores hostPort: the ports obsboot exposes on the control-plane node answer nothing; chain the portmap plugin (Cilium: cni.chainingMode=portmap, or kube-proxy replacement)",
        ),
        HostPorts::Unknown(why) => finding("D13", Status::Warn).evidence(why.clone()).diagnosis(
            "whether hostPorts work could not be read; `obsboot verify` after bootstrap shows it",
        ),
    }
}

fn probes(facts: &Facts, analysis: &Analysis) -> Finding {
    let Some(probes) = facts.probes.get() else {
        return finding("D15", Status::Skip);
    };
    let dropped = probes
        .iter()
        .any(|p| matches!(p.outcome, ProbeOutcome::Dropped(_)));
    let inconclusive = probes
        .iter()
        .any(|p| matches!(p.outcome, ProbeOutcome::Inconclusive(_)));
    let status = match (dropped, inconclusive) {
        (true, _) => Status::Fail,
        (false, true) => Status::Warn,
        (false, false) => Status::Ok,
    };
    let mut out = finding("D15", status);
    let from = facts
        .net_nodes()
        .iter()
        .find(|n| n.control_plane)
        .map_or_else(|| "the control-plane node".to_owned(), |n| n.name.clone());
    for probe in probes {
        let line = match &probe.outcome {
            ProbeOutcome::Reached(code) => format!("{}: answered (HTTP {code})", probe.target),
            ProbeOutcome::Dropped(why) => {
                let carried_by = carrying_rule(&probe.target, &from, analysis);
                format!("{}: dropped: {why}{carried_by}", probe.target)
            }
            ProbeOutcome::Inconclusive(why) => format!("{}: no verdict: {why}", probe.target),
        };
        out = out.evidence(line);
    }
    if dropped {
        out = out.diagnosis(format!(
            "the API server on {from} does not get through to these nodes: webhooks, aggregated APIs, logs and exec hosted there time out; D04 and D06 name the rules"
        ));
    }
    out
}

/// What the rules say of the flow a dropped probe needed.
fn carrying_rule(target: &Target, from: &str, analysis: &Analysis) -> String {
    let purpose = match target {
        Target::Kubelet { .. } => Purpose::Kubelet,
        Target::Pod { .. } => Purpose::Cni,
    };
    analysis
        .evaluations
        .iter()
        .find(|e| {
            e.flow.from == from
                && e.flow.to == target.node()
                && e.flow.purpose() == purpose
                // The API server dials from its node's own address, never from a pod's.
                && e.flow.source == FlowSource::NodeIp
        })
        .map(|e| format!(" ({})", e.explain()))
        .unwrap_or_default()
}

fn webhooks(facts: &Facts, analysis: &Analysis) -> Finding {
    let control_plane: Vec<&str> = facts
        .net_nodes()
        .iter()
        .filter(|n| n.control_plane)
        .map(|n| n.name.as_str())
        .collect();
    let reaches = |node: &str| {
        control_plane.contains(&node)
            || analysis
                .evaluations
                .iter()
                // The API server calls from its node's own address.
                .filter(|e| e.flow.to == node && e.flow.purpose() == Purpose::Cni)
                .filter(|e| e.flow.source == crate::network::flows::Source::NodeIp)
                .filter(|e| control_plane.contains(&e.flow.from.as_str()))
                .all(|e| e.outcome() != Outcome::Denied)
    };
    let mut out = finding("D18", Status::Ok);
    let mut failures = Vec::new();
    for webhook in &facts.webhooks {
        let cut: Vec<&String> = webhook.nodes.iter().filter(|n| !reaches(n)).collect();
        let line = format!(
            "{} webhook {} -> Service {} on {} (failurePolicy {})",
            webhook.configuration,
            webhook.name,
            webhook.service,
            if webhook.nodes.is_empty() {
                "no endpoint".to_owned()
            } else {
                webhook.nodes.join(", ")
            },
            webhook.failure_policy
        );
        out = out.evidence(line);
        if !cut.is_empty() {
            failures.push(format!(
                "{} ({}) runs on {}, which the control plane's pod traffic does not reach: {}",
                webhook.name,
                webhook.service,
                cut.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "),
                if webhook.ignores_failure() {
                    "with failurePolicy Ignore the API server admits objects unchanged after the timeout (Linkerd's injector: pods start unmeshed, silently)"
                } else {
                    "with failurePolicy Fail the API server refuses the objects it covers"
                }
            ));
        }
    }
    if facts.webhooks.is_empty() {
        out = out.evidence("no webhook is served from inside the cluster");
    }
    if failures.is_empty() {
        out
    } else {
        out.status = Status::Fail;
        out.diagnosis(format!("{}; D04 names the rules", failures.join("; ")))
    }
}

#[cfg(test)]
mod tests;
