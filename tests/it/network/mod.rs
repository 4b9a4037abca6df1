//! The test harness's model of the network between a simulated cluster's nodes on EC2:
//! whether a connection between two nodes (host to host, or host to a pod over the CNI's
//! carrier) would get through the security groups, computed from the rules moto holds at
//! the moment it is asked, so that rules added by `obsboot doctor --fix` change the answer.
//!
//! It is written for the tests from EC2's documented semantics ([`rules`]) and the CNIs'
//! wire formats ([`Carrier`]), and shares no code with obsboot's own decision function, so a
//! wrong decision there is not confirmed by itself here. The simulated API server asks it
//! (through [`crate::apiserver::Reachability`]) when it answers `nodes/{n}/proxy` and
//! `pods/{p}/proxy`.
//!
//! A connection from instance A to instance B passes when:
//! - its first packet on the wire leaves A: an egress rule of A's groups covers it, with B's
//!   address (or one of B's groups) as destination;
//! - and enters B: an ingress rule of B's groups covers it, with A's address (or one of A's
//!   groups) as source;
//! - and the answer gets back. Security groups are stateful: for TCP the answer belongs to
//!   the tracked connection. Encapsulated answers are packets of their own: for protocols
//!   other than TCP, UDP and ICMP EC2 tracks only the addresses and the protocol number, so
//!   B's IP-in-IP answer to A is a tracked response; a VXLAN answer travels from a hashed
//!   source port to the VXLAN port of A, which no tracked flow covers, so it needs A's
//!   ingress (and B's egress) like a new packet.
//! - Native routing (Calico's CrossSubnet modes between nodes of one subnet) carries the
//!   inner packet itself: the destination's source/destination check must be off (the
//!   packet is for a pod address, not the instance's), and its groups must admit the inner
//!   TCP port from the source node's address.
//!
//! What it simplifies compared with EC2:
//! - An instance's groups are its `SecurityGroups` as DescribeInstances reports them
//!   (moto 5.2.5 replaces that list on ModifyInstanceAttribute but appends to the ENI's, so
//!   the ENI list is not used); secondary ENIs and their addresses are ignored. Its
//!   source/destination check is the instance's attribute.
//! - Network ACLs, route tables, prefix lists (never matched), IPv6 and the per-pair NAT of
//!   public addresses are not modelled; nodes talk over their primary private addresses.
//! - Native routing across subnets is reported as dropped (no VPC route to pod CIDRs), and
//!   for native pairs only host-originated connections are modelled (a pod source address
//!   is not an instance address, which group references do not match).
//! - Answers are computed per connection; nothing is cached and no timing is modelled.

pub mod layout;
pub mod rules;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::Filter;

use crate::apiserver::Reachability;
use rules::{Packet, Rule, proto};

/// What a CNI puts on the wire between two nodes for pod traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carrier {
    /// IP in IP (protocol 4) between the node addresses (Calico `ipipMode: Always`).
    IpInIp,
    /// VXLAN over UDP to `port` between the node addresses.
    Vxlan(u16),
    /// VXLAN to `port` between nodes of different subnets, native routing within a subnet
    /// (Calico `VXLANCrossSubnet`).
    VxlanCrossSubnet(u16),
}

/// The answer for one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// It gets through; the rules that let it, by id.
    Pass(Vec<String>),
    /// A packet is dropped; why, naming the groups and the packet.
    Drop(String),
}

impl Verdict {
    /// Whether the connection gets through.
    pub fn passes(&self) -> bool {
        matches!(self, Self::Pass(_))
    }
}

/// One node's instance as EC2 describes it now.
#[derive(Debug, Clone)]
struct Host {
    /// The instance id.
    instance: String,
    /// The primary private address.
    address: Ipv4Addr,
    /// The subnet.
    subnet: String,
    /// The security groups.
    groups: Vec<String>,
    /// The source/destination check.
    source_dest_check: bool,
}

/// The network model for one cluster: moto's address, which instance each node is, and
/// the installed CNI's carrier.
#[derive(Debug, Clone)]
pub struct Network {
    /// moto's URL (read directly, not through the fault proxy).
    moto_url: String,
    /// Node name to instance id.
    nodes: BTreeMap<String, String>,
    /// The CNI's carrier.
    carrier: Carrier,
}

impl Network {
    /// A model reading the EC2 at `moto_url`, where `nodes` are (node name, instance id).
    pub fn new(moto_url: &str, nodes: &[(&str, &str)], carrier: Carrier) -> Self {
        Self {
            moto_url: moto_url.to_owned(),
            nodes: nodes
                .iter()
                .map(|(n, i)| ((*n).to_owned(), (*i).to_owned()))
                .collect(),
            carrier,
        }
    }

    /// Whether a TCP connection from the host network of node `from` to `port` on the
    /// host network of node `to` gets through (e.g. the API server to a kubelet).
    pub fn host_to_host(&self, from: &str, to: &str, port: u16) -> Verdict {
        // An instance reaches its own address without leaving it.
        if from == to {
            return Verdict::Pass(Vec::new());
        }
        self.evaluate(from, to, |a, b, rules| {
            connection(a, b, rules, Packet::tcp(port), true)
        })
    }

    /// Whether a TCP connection from the host network of node `from` to `port` of a pod on
    /// node `to` gets through over the pod network (e.g. the API server to a webhook).
    pub fn host_to_pod(&self, from: &str, to: &str, port: u16) -> Verdict {
        if from == to {
            return Verdict::Pass(Vec::new());
        }
        let carrier = self.carrier;
        self.evaluate(from, to, move |a, b, rules| match carrier {
            Carrier::IpInIp => connection(a, b, rules, Packet::raw(proto::IPIP), true),
            Carrier::Vxlan(udp) => connection(a, b, rules, Packet::udp(udp), false),
            Carrier::VxlanCrossSubnet(udp) if a.subnet != b.subnet => {
                connection(a, b, rules, Packet::udp(udp), false)
            }
            Carrier::VxlanCrossSubnet(_) => native(a, b, rules, port),
        })
    }

    /// Describes both nodes' instances and their groups' rules now, then applies `decide`.
    fn evaluate(
        &self,
        from: &str,
        to: &str,
        decide: impl FnOnce(&Host, &Host, &[Rule]) -> Verdict,
    ) -> Verdict {
        let instance = |node: &str| {
            self.nodes
                .get(node)
                .cloned()
                .ok_or_else(|| format!("the network model has no instance for node {node:?}"))
        };
        let described = instance(from)
            .and_then(|a| instance(to).map(|b| (a, b)))
            .and_then(|(a, b)| describe(&self.moto_url, &[a, b]));
        match described {
            Ok((hosts, rules)) => match (hosts.first(), hosts.get(1)) {
                (Some(a), Some(b)) => decide(a, b, &rules),
                _ => Verdict::Drop("moto did not describe both instances".into()),
            },
            Err(error) => Verdict::Drop(format!("the network model could not read EC2: {error}")),
        }
    }
}

impl Reachability for Network {
    fn host_to_host(&self, from: &str, to: &str, port: u16) -> bool {
        Network::host_to_host(self, from, to, port).passes()
    }

    fn host_to_pod(&self, from: &str, to: &str, port: u16) -> bool {
        Network::host_to_pod(self, from, to, port).passes()
    }
}

/// One packet from `a` to `b`: the rule of `a`'s egress and of `b`'s ingress that let it.
fn one_way(a: &Host, b: &Host, rules: &[Rule], packet: Packet) -> Result<Vec<String>, String> {
    let of = |host: &Host| -> Vec<Rule> {
        rules
            .iter()
            .filter(|r| host.groups.contains(&r.group))
            .cloned()
            .collect()
    };
    let what = describe_packet(&packet);
    let (of_a, of_b) = (of(a), of(b));
    let out = rules::first_match(&of_a, true, &packet, b.address, &b.groups).ok_or_else(|| {
        format!(
            "no egress rule of {:?} ({}) lets {what} out to {} ({:?})",
            a.groups, a.instance, b.address, b.groups
        )
    })?;
    let into =
        rules::first_match(&of_b, false, &packet, a.address, &a.groups).ok_or_else(|| {
            format!(
                "no ingress rule of {:?} ({}) admits {what} from {} ({:?})",
                b.groups, b.instance, a.address, a.groups
            )
        })?;
    Ok(vec![out.id.clone(), into.id.clone()])
}

/// A connection whose first packet is `packet` from `a` to `b`; with `tracked`, the answer
/// is a tracked response, else it is the same kind of packet from `b` to `a`.
fn connection(a: &Host, b: &Host, rules: &[Rule], packet: Packet, tracked: bool) -> Verdict {
    let forward = one_way(a, b, rules, packet);
    let back = if tracked {
        Ok(Vec::new())
    } else {
        one_way(b, a, rules, packet)
    };
    match (forward, back) {
        (Ok(mut ids), Ok(more)) => {
            ids.extend(more);
            Verdict::Pass(ids)
        }
        (Err(why), _) | (_, Err(why)) => Verdict::Drop(why),
    }
}

/// A natively routed TCP connection from `a`'s host to a pod on `b` (same subnet).
fn native(a: &Host, b: &Host, rules: &[Rule], port: u16) -> Verdict {
    if b.source_dest_check {
        return Verdict::Drop(format!(
            "{} has its source/destination check on: natively routed pod packets are dropped",
            b.instance
        ));
    }
    connection(a, b, rules, Packet::tcp(port), true)
}

/// How a packet reads in a reason.
fn describe_packet(packet: &Packet) -> String {
    match (packet.protocol, packet.port) {
        (proto::TCP, Some(port)) => format!("TCP {port}"),
        (proto::UDP, Some(port)) => format!("UDP {port}"),
        (protocol, _) => format!("IP protocol {protocol}"),
    }
}

/// The instances `ids` (in that order) and every rule of their groups, read from moto now.
fn describe(moto_url: &str, ids: &[String]) -> Result<(Vec<Host>, Vec<Rule>), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let client = Client::from_conf(crate::ec2::sdk_config(moto_url));
        let reservations = client
            .describe_instances()
            .set_instance_ids(Some(ids.to_vec()))
            .send()
            .await
            .map_err(|e| format!("DescribeInstances: {e}"))?;
        let described: Vec<Host> = reservations
            .reservations()
            .iter()
            .flat_map(aws_sdk_ec2::types::Reservation::instances)
            .map(|i| Host {
                instance: i.instance_id().unwrap_or_default().to_owned(),
                address: i
                    .private_ip_address()
                    .and_then(|a| a.parse().ok())
                    .unwrap_or(Ipv4Addr::UNSPECIFIED),
                subnet: i.subnet_id().unwrap_or_default().to_owned(),
                groups: i
                    .security_groups()
                    .iter()
                    .filter_map(|g| g.group_id().map(str::to_owned))
                    .collect(),
                source_dest_check: i.source_dest_check().unwrap_or(true),
            })
            .collect();
        let hosts: Vec<Host> = ids
            .iter()
            .filter_map(|id| described.iter().find(|h| &h.instance == id).cloned())
            .collect();
        let mut groups: Vec<String> = hosts.iter().flat_map(|h| h.groups.clone()).collect();
        groups.sort();
        groups.dedup();
        let answer = client
            .describe_security_group_rules()
            .filters(
                Filter::builder()
                    .name("group-id")
                    .set_values(Some(groups))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| format!("DescribeSecurityGroupRules: {e}"))?;
        let rules = answer
            .security_group_rules()
            .iter()
            .map(|r| Rule {
                id: r.security_group_rule_id().unwrap_or_default().to_owned(),
                group: r.group_id().unwrap_or_default().to_owned(),
                egress: r.is_egress().unwrap_or(false),
                protocol: r.ip_protocol().unwrap_or_default().to_owned(),
                from: r.from_port().unwrap_or(-1),
                to: r.to_port().unwrap_or(-1),
                cidr: r.cidr_ipv4().map(str::to_owned),
                referenced_group: r
                    .referenced_group_info()
                    .and_then(|g| g.group_id())
                    .map(str::to_owned),
                prefix_list: r.prefix_list_id().map(str::to_owned),
            })
            .collect();
        Ok((hosts, rules))
    })
}
