//! Whether the security groups carry a flow, decided from the rules alone (no I/O): an
//! ingress rule in a group of the receiving node and an egress rule in a group of the
//! sending node must both admit it. A rule that references a group admits the private
//! addresses of that group's instances (EC2 user guide, "Security group rules"); a CIDR
//! admits what it contains; a prefix list is not resolved, so it can only make the answer
//! unknown.

use std::fmt;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::flows::{Flow, Source};
use super::model::{Direction, NodeNet, Peer, Permission, Protocol};

/// A rule that carries a flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleRef {
    /// The rule id.
    pub id: String,
    /// Its group.
    pub group: String,
    /// Whether obsboot owns it.
    pub owned: bool,
}

/// The answer for one direction (the receiver's ingress, or the sender's egress).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Side {
    /// These rules admit the flow.
    Allowed(Vec<RuleRef>),
    /// No rule of `groups` admits it from (ingress) or to (egress) `peer`.
    Missing {
        /// The groups that would need a rule.
        groups: Vec<String>,
        /// The other end, as a rule would name it: its groups, or the pod network.
        peer: String,
    },
    /// Not decidable from the rules (a prefix list, an unknown node or pod network).
    Unknown(String),
}

/// The overall answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// Both directions are admitted.
    Allowed,
    /// At least one direction is not.
    Denied,
    /// Neither denied nor shown allowed.
    Unknown,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Allowed => "allowed",
            Self::Denied => "denied",
            Self::Unknown => "unknown",
        })
    }
}

/// A flow and what the rules say of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// The flow.
    pub flow: Flow,
    /// The receiving node's ingress.
    pub ingress: Side,
    /// The sending node's egress.
    pub egress: Side,
}

impl Evaluation {
    /// Allowed only when both sides are; denied when either is missing.
    pub fn outcome(&self) -> Outcome {
        match (&self.ingress, &self.egress) {
            (Side::Allowed(_), Side::Allowed(_)) => Outcome::Allowed,
            (Side::Missing { .. }, _) | (_, Side::Missing { .. }) => Outcome::Denied,
            _ => Outcome::Unknown,
        }
    }

    /// One sentence: what is missing, or which rules carry it.
    pub fn explain(&self) -> String {
        let flow = &self.flow;
        let what = format!(
            "{} from {} to {} ({})",
            flow.protocol.with_ports(flow.ports),
            flow.from,
            flow.to,
            flow.carries
        );
        let mut parts = Vec::new();
        for (side, word, prep) in [
            (&self.ingress, "ingress", "from"),
            (&self.egress, "egress", "to"),
        ] {
            match side {
                Side::Allowed(rules) => parts.push(format!(
                    "{word} allowed by {}",
                    rules
                        .iter()
                        .map(|r| if r.owned {
                            format!("{} ({})", r.id, r.group)
                        } else {
                            format!("{} ({}, not obsboot's)", r.id, r.group)
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
                Side::Missing { groups, peer } => parts.push(format!(
                    "no {word} rule of {} admits it {prep} {peer}",
                    list(groups)
                )),
                Side::Unknown(why) => parts.push(format!("{word} unknown: {why}")),
            }
        }
        format!("{what}: {}: {}", self.outcome(), parts.join("; "))
    }
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "(no group)".into()
    } else {
        items.join(", ")
    }
}

/// Evaluates every flow.
pub fn evaluate_all(flows: &[Flow], nodes: &[NodeNet], rules: &[Permission]) -> Vec<Evaluation> {
    flows
        .iter()
        .map(|flow| evaluate(flow, nodes, rules))
        .collect()
}

/// Evaluates one flow.
pub fn evaluate(flow: &Flow, nodes: &[NodeNet], rules: &[Permission]) -> Evaluation {
    let find = |name: &str| nodes.iter().find(|n| n.name == name);
    let (Some(from), Some(to)) = (find(&flow.from), find(&flow.to)) else {
        let why = format!("node {} or {} has no network facts", flow.from, flow.to);
        return Evaluation {
            flow: flow.clone(),
            ingress: Side::Unknown(why.clone()),
            egress: Side::Unknown(why),
        };
    };
    if let Source::PodCidrs(pods) = &flow.source
        && pods.is_empty()
    {
        let why = "the pod network is not known".to_owned();
        return Evaluation {
            flow: flow.clone(),
            ingress: Side::Unknown(why.clone()),
            egress: Side::Unknown(why),
        };
    }
    Evaluation {
        flow: flow.clone(),
        ingress: side(flow, Direction::Ingress, to, from, rules),
        egress: side(flow, Direction::Egress, from, to, rules),
    }
}

/// The rules of `holder`'s groups in `direction`, against the `other` end.
fn side(
    flow: &Flow,
    direction: Direction,
    holder: &NodeNet,
    other: &NodeNet,
    rules: &[Permission],
) -> Side {
    let mut allowed = Vec::new();
    let mut prefix_lists = Vec::new();
    let candidates = rules.iter().filter(|r| {
        r.direction == direction
            && holder.in_group(&r.group)
            && protocol_matches(r.protocol, flow.protocol)
            && ports_match(r, flow)
    });
    for rule in candidates {
        let matched = match &rule.peer {
            Peer::Group(group) => matches!(flow.source, Source::NodeIp) && other.in_group(group),
            Peer::Cidr(net) => covers(*net, &flow.source, other.private_ip),
            Peer::PrefixList(list) => {
                prefix_lists.push(format!("{list} (rule {})", rule.id));
                false
            }
        };
        if matched {
            allowed.push(RuleRef {
                id: rule.id.clone(),
                group: rule.group.clone(),
                owned: rule.owned,
            });
        }
    }
    if !allowed.is_empty() {
        return Side::Allowed(allowed);
    }
    if !prefix_lists.is_empty() {
        return Side::Unknown(format!(
            "it may be admitted by prefix list {}, whose entries are not read",
            prefix_lists.join(", ")
        ));
    }
    let peer = match &flow.source {
        Source::NodeIp => format!("{} ({})", list(&other.groups), other.private_ip),
        Source::PodCidrs(pods) => format!(
            "the pod network {} (a group reference likely does not admit pod addresses)",
            pods.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    Side::Missing {
        groups: holder.groups.clone(),
        peer,
    }
}

fn protocol_matches(rule: Protocol, flow: Protocol) -> bool {
    rule == Protocol::All || rule == flow
}

fn ports_match(rule: &Permission, flow: &Flow) -> bool {
    match rule.protocol {
        Protocol::Tcp | Protocol::Udp => rule.ports.covers(flow.ports),
        Protocol::Icmp => rule.ports.covers_icmp(flow.ports),
        // EC2 ignores ports for -1 and for protocol numbers other than tcp/udp/icmp.
        Protocol::All | Protocol::Number(_) => true,
    }
}

/// Whether `net` holds the flow's other-end address: the node's, or the whole pod network.
fn covers(net: Ipv4Net, source: &Source, node_ip: Ipv4Addr) -> bool {
    match source {
        Source::NodeIp => net.contains(&node_ip),
        Source::PodCidrs(pods) => !pods.is_empty() && pods.iter().all(|p| net.contains(p)),
    }
}

#[cfg(test)]
mod tests;
