//! The rules that would make the denied flows pass: ingress rules on the receiving node's
//! group that reference the sending node's group (a self-reference when one group holds
//! both), one per group, protocol, port range and source; a CIDR only for natively routed
//! pod traffic, and then only the pod network itself. Source/destination check changes and
//! egress gaps are listed apart: they are not ingress rules.

use std::fmt;

use ipnet::Ipv4Net;
use serde_json::json;

use super::flows::{Requirements, Source, SourceDestNeed};
use super::model::{Direction, NodeNet, Peer, Permission, PortRange, Protocol};
use super::verdict::{Evaluation, Outcome, Side};

/// The description prefix of every rule the plan adds.
pub const DESCRIPTION_PREFIX: &str = "obsboot: network: ";
/// EC2's limit on a rule description.
const DESCRIPTION_MAX: usize = 255;

/// How much the plan opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Profile {
    /// Exactly the denied flows.
    #[default]
    Minimal,
    /// All protocols between every pair of node groups, and within a group that holds several
    /// nodes (for an unknown CNI), plus the pod-network rules native routing needs.
    AllTraffic,
}

/// Where a new rule admits traffic from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RuleSource {
    /// A referenced group.
    Group(String),
    /// The pod network.
    Cidr(Ipv4Net),
}

impl fmt::Display for RuleSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Group(group) => f.write_str(group),
            Self::Cidr(net) => write!(f, "{net}"),
        }
    }
}

/// An ingress rule to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRule {
    /// The group that receives the rule.
    pub group: String,
    /// The protocol.
    pub protocol: Protocol,
    /// The ports (ICMP: type and code; -1 for all).
    pub ports: PortRange,
    /// The source.
    pub source: RuleSource,
    /// What it carries, each named once.
    pub carries: Vec<String>,
}

/// What the plan adds and what it leaves to the user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FixPlan {
    /// The ingress rules to add, in a stable order.
    pub rules: Vec<NewRule>,
    /// Instances whose source/destination check must be turned off (never done as a rule).
    pub source_dest_check: Vec<SourceDestNeed>,
    /// Gaps the plan cannot close with an ingress rule (egress, no group, unbounded ranges).
    pub manual: Vec<String>,
}

/// Plans the rules for the denied flows of `evaluations`.
pub fn plan(
    evaluations: &[Evaluation],
    requirements: &Requirements,
    nodes: &[NodeNet],
    existing: &[Permission],
    profile: Profile,
) -> FixPlan {
    let mut out = FixPlan {
        source_dest_check: requirements.source_dest_check.clone(),
        ..FixPlan::default()
    };
    let find = |name: &str| nodes.iter().find(|n| n.name == name);
    for evaluation in evaluations
        .iter()
        .filter(|e| e.outcome() == Outcome::Denied)
    {
        let flow = &evaluation.flow;
        let (Some(from), Some(to)) = (find(&flow.from), find(&flow.to)) else {
            continue;
        };
        if let Side::Missing { groups, peer } = &evaluation.egress {
            out.manual.push(format!(
                "egress of {} does not admit {} to {peer} ({}): add an egress rule there (obsboot adds ingress rules only)",
                groups.join(", "),
                flow.protocol.with_ports(flow.ports),
                flow.carries
            ));
        }
        if !matches!(evaluation.ingress, Side::Missing { .. }) {
            continue;
        }
        let sources = match &flow.source {
            Source::PodCidrs(pods) => pods
                .iter()
                .filter_map(|net| pod_source(*net, &mut out.manual))
                .collect(),
            Source::NodeIp if profile == Profile::AllTraffic => continue,
            Source::NodeIp => {
                let Some((_, source)) = group_pair(from, to) else {
                    out.manual.push(format!(
                        "{} or {} has no security group: {} cannot be allowed by a group rule",
                        from.name, to.name, flow.carries
                    ));
                    continue;
                };
                vec![RuleSource::Group(source)]
            }
        };
        let Some(target) = group_pair(from, to)
            .map(|(target, _)| target)
            .or_else(|| to.groups.first().cloned())
        else {
            out.manual.push(format!(
                "{} has no security group to add a rule for {} to",
                to.name, flow.carries
            ));
            continue;
        };
        for source in sources {
            let protocol = flow.protocol;
            let ports = if protocol.has_ports() {
                flow.ports
            } else {
                PortRange::ALL
            };
            add(
                &mut out.rules,
                target.clone(),
                protocol,
                ports,
                source,
                &flow.carries,
            );
        }
    }
    if profile == Profile::AllTraffic {
        all_traffic(&mut out.rules, nodes, existing);
    }
    fold_into_all_protocols(&mut out.rules);
    out.rules.sort_by(|a, b| {
        (&a.group, &a.source, a.protocol, a.ports).cmp(&(&b.group, &b.source, b.protocol, b.ports))
    });
    out
}

/// A rule for every protocol from a source makes the narrower rules from that source into the
/// same group redundant: they are left out, and what they carry is named by the wide one.
fn fold_into_all_protocols(rules: &mut Vec<NewRule>) {
    let (wide, narrow): (Vec<NewRule>, Vec<NewRule>) = std::mem::take(rules)
        .into_iter()
        .partition(|r| r.protocol == Protocol::All);
    *rules = wide;
    for rule in narrow {
        match rules.iter_mut().find(|w| {
            w.protocol == Protocol::All && w.group == rule.group && w.source == rule.source
        }) {
            Some(wide) => {
                for carries in rule.carries {
                    if !wide.carries.contains(&carries) {
                        wide.carries.push(carries);
                    }
                }
            }
            None => rules.push(rule),
        }
    }
}

/// The group a rule goes on and the group it references: a group both nodes share (a
/// self-reference), else each node's first group.
fn group_pair(from: &NodeNet, to: &NodeNet) -> Option<(String, String)> {
    if let Some(shared) = to.groups.iter().find(|g| from.in_group(g)) {
        return Some((shared.clone(), shared.clone()));
    }
    Some((to.groups.first()?.clone(), from.groups.first()?.clone()))
}

/// A pod network as a rule source; never the whole address space.
fn pod_source(net: Ipv4Net, manual: &mut Vec<String>) -> Option<RuleSource> {
    if net.prefix_len() == 0 {
        manual.push(format!(
            "the pod network {net} spans every address: no rule is planned for it"
        ));
        return None;
    }
    Some(RuleSource::Cidr(net))
}

fn add(
    rules: &mut Vec<NewRule>,
    group: String,
    protocol: Protocol,
    ports: PortRange,
    source: RuleSource,
    carries: &str,
) {
    if let Some(rule) = rules.iter_mut().find(|r| {
        r.group == group && r.protocol == protocol && r.ports == ports && r.source == source
    }) {
        if !rule.carries.iter().any(|c| c == carries) {
            rule.carries.push(carries.to_owned());
        }
        return;
    }
    rules.push(NewRule {
        group,
        protocol,
        ports,
        source,
        carries: vec![carries.to_owned()],
    });
}

/// All protocols from every node group into every other, and into itself when it holds
/// more than one node, unless a rule already admits exactly that.
fn all_traffic(rules: &mut Vec<NewRule>, nodes: &[NodeNet], existing: &[Permission]) {
    let mut groups: Vec<&String> = Vec::new();
    for group in nodes.iter().filter_map(|n| n.groups.first()) {
        if !groups.contains(&group) {
            groups.push(group);
        }
    }
    let holds = |group: &str| nodes.iter().filter(|n| n.in_group(group)).count();
    for target in &groups {
        for source in &groups {
            if target == source && holds(target) < 2 {
                continue;
            }
            let present = existing.iter().any(|r| {
                r.direction == Direction::Ingress
                    && &&r.group == target
                    && r.protocol == Protocol::All
                    && r.peer == Peer::Group((*source).clone())
            });
            if !present {
                add(
                    rules,
                    (*target).clone(),
                    Protocol::All,
                    PortRange::ALL,
                    RuleSource::Group((*source).clone()),
                    "all traffic between the cluster's nodes",
                );
            }
        }
    }
}

impl NewRule {
    /// The rule's description: `obsboot: network: <what it carries>`, within EC2's limit.
    pub fn description(&self) -> String {
        let mut text = format!("{DESCRIPTION_PREFIX}{}", self.carries.join(", "));
        if text.len() > DESCRIPTION_MAX {
            let mut end = DESCRIPTION_MAX;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.truncate(end);
        }
        text
    }

    /// The `IpPermissions` entry EC2 takes. Protocol numbers other than tcp/udp/icmp carry
    /// `FromPort`/`ToPort` -1: EC2 ignores ports for them, and moto refuses the rule without.
    pub fn ip_permission(&self) -> serde_json::Value {
        let mut permission = json!({ "IpProtocol": self.protocol.ec2() });
        if self.protocol != Protocol::All {
            permission["FromPort"] = json!(self.ports.from);
            permission["ToPort"] = json!(self.ports.to);
        }
        let description = self.description();
        match &self.source {
            RuleSource::Group(group) => {
                permission["UserIdGroupPairs"] =
                    json!([{ "GroupId": group, "Description": description }]);
            }
            RuleSource::Cidr(net) => {
                permission["IpRanges"] =
                    json!([{ "CidrIp": net.to_string(), "Description": description }]);
            }
        }
        permission
    }

    /// The equivalent AWS CLI command, tagged with `tags`; a protocol-number rule is preceded
    /// by a comment line that says why its ports are -1.
    pub fn command(&self, tags: &[(String, String)]) -> String {
        let permissions = serde_json::Value::Array(vec![self.ip_permission()]);
        let specification = json!([{
            "ResourceType": "security-group-rule",
            "Tags": tags.iter().map(|(k, v)| json!({ "Key": k, "Value": v })).collect::<Vec<_>>(),
        }]);
        let note = match self.protocol {
            Protocol::Number(n) => format!(
                "# IP protocol {n} has no ports: FromPort/ToPort -1 stand for all of them (EC2 ignores ports for this protocol; moto refuses the rule without them)\n"
            ),
            _ => String::new(),
        };
        format!(
            "{note}aws ec2 authorize-security-group-ingress --group-id {} --ip-permissions {} --tag-specifications {}",
            self.group,
            quote(&permissions.to_string()),
            quote(&specification.to_string()),
        )
    }
}

impl fmt::Display for NewRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} <- {}: {} ({})",
            self.group,
            self.source,
            self.protocol.with_ports(self.ports),
            self.carries.join(", ")
        )
    }
}

/// Single-quotes `text` for a POSIX shell.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests;
