//! The network facts the checks work on, independent of where they were read: each node's
//! instance, groups and subnet, and the security-group rules as EC2 describes them.

use std::fmt;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::NetworkError;

/// A node's place in the VPC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeNet {
    /// The Kubernetes node name.
    pub name: String,
    /// The EC2 instance id.
    pub instance_id: String,
    /// The instance's primary private address.
    pub private_ip: Ipv4Addr,
    /// Every security group of the instance and its network interfaces, instance groups
    /// first; the first is the one fixes are added to when no group is shared.
    pub groups: Vec<String>,
    /// The subnet id.
    pub subnet_id: String,
    /// The subnet's IPv4 range, when known.
    pub subnet_cidr: Option<Ipv4Net>,
    /// The VPC id.
    pub vpc_id: String,
    /// Whether EC2 drops packets not addressed from or to the instance itself.
    pub source_dest_check: bool,
    /// Whether the node runs the control plane.
    pub control_plane: bool,
}

impl NodeNet {
    /// Whether `group` is one of the node's groups.
    pub fn in_group(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group)
    }

    /// Whether the two nodes share a subnet.
    pub fn same_subnet(&self, other: &NodeNet) -> bool {
        self.subnet_id == other.subnet_id
    }
}

/// An IP protocol as a security-group rule names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    /// `-1`: every protocol, every port.
    All,
    /// TCP (6).
    Tcp,
    /// UDP (17).
    Udp,
    /// ICMP (1).
    Icmp,
    /// Any other protocol number (4 IP-in-IP, 50 ESP, ...): EC2 ignores ports for these.
    Number(u8),
}

impl Protocol {
    /// Parses EC2's `ipProtocol`: `-1`, `tcp`, `udp`, `icmp`, or a number (`6`, `17`, `1`
    /// are the named ones).
    pub fn parse(value: &str) -> Result<Self, NetworkError> {
        let value = value.trim();
        match value.to_ascii_lowercase().as_str() {
            "-1" | "all" => Ok(Self::All),
            "tcp" => Ok(Self::Tcp),
            "udp" => Ok(Self::Udp),
            "icmp" => Ok(Self::Icmp),
            other => {
                other
                    .parse::<u8>()
                    .map(Self::from_number)
                    .map_err(|_| NetworkError::Protocol {
                        value: value.to_owned(),
                    })
            }
        }
    }

    /// The named protocol for 6, 17 and 1; any other number as it is.
    pub fn from_number(number: u8) -> Self {
        match number {
            6 => Self::Tcp,
            17 => Self::Udp,
            1 => Self::Icmp,
            other => Self::Number(other),
        }
    }

    /// Whether a rule of this protocol restricts ports (ICMP: type and code). EC2 applies
    /// ports only to tcp, udp and icmp (AWS API reference, `IpPermission`: "-1 or a protocol
    /// number other than tcp, udp, icmp, or icmpv6 allows traffic on all ports").
    pub fn has_ports(self) -> bool {
        matches!(self, Self::Tcp | Self::Udp | Self::Icmp)
    }

    /// The protocol with what it restricts, as a reader names it: `TCP port 179`, `UDP ports
    /// 6783-6784`, `ICMP type 8 code 0`, and no ports where EC2 ignores them (`IP protocol
    /// 4`, `all protocols`).
    pub fn with_ports(self, ports: PortRange) -> String {
        match (self, ports.from, ports.to) {
            (Self::Tcp | Self::Udp, _, _) => format!("{self} {ports}"),
            (Self::Icmp, -1, _) => "ICMP".into(),
            (Self::Icmp, kind, -1) => format!("ICMP type {kind}"),
            (Self::Icmp, kind, code) => format!("ICMP type {kind} code {code}"),
            (Self::All | Self::Number(_), _, _) => self.to_string(),
        }
    }

    /// The `IpProtocol` value EC2's API takes.
    pub fn ec2(self) -> String {
        match self {
            Self::All => "-1".into(),
            Self::Tcp => "tcp".into(),
            Self::Udp => "udp".into(),
            Self::Icmp => "icmp".into(),
            Self::Number(n) => n.to_string(),
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::All => f.write_str("all protocols"),
            Self::Tcp => f.write_str("TCP"),
            Self::Udp => f.write_str("UDP"),
            Self::Icmp => f.write_str("ICMP"),
            Self::Number(n) => write!(f, "IP protocol {n}"),
        }
    }
}

/// An inclusive port range; `-1` in either end means every port (for ICMP: type and code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PortRange {
    /// The first port (ICMP: type), or -1.
    pub from: i32,
    /// The last port (ICMP: code), or -1.
    pub to: i32,
}

impl PortRange {
    /// Every port.
    pub const ALL: Self = Self { from: -1, to: -1 };

    /// One port.
    pub fn one(port: u16) -> Self {
        Self {
            from: i32::from(port),
            to: i32::from(port),
        }
    }

    /// `from..=to`.
    pub fn range(from: u16, to: u16) -> Self {
        Self {
            from: i32::from(from),
            to: i32::from(to),
        }
    }

    /// Whether a rule with these ports admits every port of `flow` (tcp/udp ranges).
    pub fn covers(self, flow: PortRange) -> bool {
        if self.from == -1 || self.to == -1 {
            return true;
        }
        if flow.from == -1 || flow.to == -1 {
            return false;
        }
        self.from <= flow.from && flow.to <= self.to
    }

    /// Whether a rule with these ICMP type (`from`) and code (`to`) admits `flow`'s type and
    /// code; -1 is a wildcard on either.
    pub fn covers_icmp(self, flow: PortRange) -> bool {
        let part = |rule: i32, flow: i32| rule == -1 || rule == flow;
        part(self.from, flow.from) && part(self.to, flow.to)
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.from, self.to) {
            (-1, _) | (_, -1) => f.write_str("all ports"),
            (a, b) if a == b => write!(f, "port {a}"),
            (a, b) => write!(f, "ports {a}-{b}"),
        }
    }
}

/// Where a rule admits traffic from (ingress) or to (egress).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Peer {
    /// An IPv4 range.
    Cidr(Ipv4Net),
    /// A referenced security group: the private addresses of the instances in it.
    Group(String),
    /// A managed prefix list, whose entries are not read.
    PrefixList(String),
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cidr(net) => write!(f, "{net}"),
            Self::Group(group) => f.write_str(group),
            Self::PrefixList(list) => write!(f, "prefix list {list}"),
        }
    }
}

/// Which way a rule applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Direction {
    /// Traffic into the group's instances.
    Ingress,
    /// Traffic out of them.
    Egress,
}

/// One security-group rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    /// The rule id (`sgr-...`).
    pub id: String,
    /// The group the rule belongs to.
    pub group: String,
    /// Ingress or egress.
    pub direction: Direction,
    /// The protocol.
    pub protocol: Protocol,
    /// The ports (for ICMP: type and code).
    pub ports: PortRange,
    /// The other end.
    pub peer: Peer,
    /// Whether obsboot's tags mark the rule as its own.
    pub owned: bool,
}

/// The address ranges of the cluster and its VPC.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ranges {
    /// The pod network(s).
    pub pods: Vec<Ipv4Net>,
    /// The Service network.
    pub services: Option<Ipv4Net>,
    /// The VPC's IPv4 ranges.
    pub vpc: Vec<Ipv4Net>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ec2_protocol_strings_parse_and_numbers_normalise() {
        let table = [
            ("-1", Protocol::All),
            ("tcp", Protocol::Tcp),
            ("TCP", Protocol::Tcp),
            ("udp", Protocol::Udp),
            ("icmp", Protocol::Icmp),
            ("6", Protocol::Tcp),
            ("17", Protocol::Udp),
            ("1", Protocol::Icmp),
            ("4", Protocol::Number(4)),
            ("50", Protocol::Number(50)),
        ];
        for (text, expected) in table {
            assert_eq!(Protocol::parse(text).ok(), Some(expected), "{text}");
        }
        for bad in ["", "icmpv6x", "256", "-2", "gre"] {
            assert!(Protocol::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn port_ranges_cover_what_they_contain() {
        let table = [
            (PortRange::ALL, PortRange::one(179), true),
            (PortRange::range(0, 65535), PortRange::one(179), true),
            (PortRange::range(100, 200), PortRange::one(179), true),
            (PortRange::range(180, 200), PortRange::one(179), false),
            (PortRange::one(179), PortRange::one(179), true),
            (
                PortRange::range(6783, 6783),
                PortRange::range(6783, 6784),
                false,
            ),
            (
                PortRange::range(6783, 6784),
                PortRange::range(6783, 6784),
                true,
            ),
            (PortRange::one(10250), PortRange::ALL, false),
        ];
        for (rule, flow, expected) in table {
            assert_eq!(rule.covers(flow), expected, "{rule} covers {flow}");
        }
        let echo = PortRange { from: 8, to: 0 };
        assert!(PortRange::ALL.covers_icmp(echo));
        assert!(PortRange { from: 8, to: -1 }.covers_icmp(echo));
        assert!(!PortRange { from: 0, to: -1 }.covers_icmp(echo));
    }

    #[test]
    fn a_protocol_is_named_with_only_the_ports_ec2_applies_to_it() {
        let echo = PortRange { from: 8, to: 0 };
        let named = [
            (Protocol::Tcp, PortRange::one(179), "TCP port 179"),
            (
                Protocol::Udp,
                PortRange::range(6783, 6784),
                "UDP ports 6783-6784",
            ),
            (Protocol::Tcp, PortRange::ALL, "TCP all ports"),
            (Protocol::Icmp, echo, "ICMP type 8 code 0"),
            (Protocol::Icmp, PortRange { from: 8, to: -1 }, "ICMP type 8"),
            (Protocol::Icmp, PortRange::ALL, "ICMP"),
            (Protocol::Number(4), PortRange::ALL, "IP protocol 4"),
            (Protocol::All, PortRange::ALL, "all protocols"),
        ];
        for (protocol, ports, expected) in named {
            assert_eq!(protocol.with_ports(ports), expected);
        }
    }
}
