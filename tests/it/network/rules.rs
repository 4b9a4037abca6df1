//! How one security-group rule matches one packet, from EC2's documented semantics (API
//! reference `SecurityGroupRule`, `IpPermission`; VPC user guide "Security group rules" and
//! "Security group connection tracking"), written for the tests and sharing nothing with
//! obsboot's own decision code.
//!
//! - Protocol: `-1` matches every protocol; otherwise the rule's protocol, named (`tcp`,
//!   `udp`, `icmp`, `icmpv6`) or numbered (`6`, `17`, `1`, `58`, `4`, ...), must be the
//!   packet's IP protocol number.
//! - Ports: for TCP and UDP the destination port lies in `fromPort..=toPort`; for ICMP
//!   `fromPort` is the type and `toPort` the code, -1 matching any; any other protocol (and
//!   `-1`) covers every port, whatever the rule's port fields say.
//! - Peer: a referenced group matches a packet whose peer address is the primary private
//!   address of an instance in that group; a CIDR matches an address inside it. A prefix
//!   list is never resolved here, so it never matches.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

/// An IP protocol number of a packet.
pub type Protocol = u8;

/// IP protocol numbers the tests use.
pub mod proto {
    /// ICMP.
    pub const ICMP: u8 = 1;
    /// IP in IP (Calico's IPIP encapsulation).
    pub const IPIP: u8 = 4;
    /// TCP.
    pub const TCP: u8 = 6;
    /// UDP.
    pub const UDP: u8 = 17;
    /// ICMPv6.
    pub const ICMPV6: u8 = 58;
}

/// One packet as a security group sees it, from the point of view of one rule direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet {
    /// IP protocol number.
    pub protocol: Protocol,
    /// Destination port (TCP/UDP) or ICMP type; `None` for protocols without ports.
    pub port: Option<u16>,
    /// ICMP code, for ICMP packets.
    pub code: Option<u16>,
}

impl Packet {
    /// A TCP packet to `port`.
    pub fn tcp(port: u16) -> Self {
        Self {
            protocol: proto::TCP,
            port: Some(port),
            code: None,
        }
    }

    /// A UDP datagram to `port`.
    pub fn udp(port: u16) -> Self {
        Self {
            protocol: proto::UDP,
            port: Some(port),
            code: None,
        }
    }

    /// A packet of a protocol without ports (IP in IP, ESP, ...).
    pub fn raw(protocol: Protocol) -> Self {
        Self {
            protocol,
            port: None,
            code: None,
        }
    }
}

/// A rule as moto stores it (`DescribeSecurityGroupRules`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The rule id (`sgr-…`).
    pub id: String,
    /// The group the rule belongs to.
    pub group: String,
    /// Whether it is an outbound rule.
    pub egress: bool,
    /// `IpProtocol` as stored.
    pub protocol: String,
    /// `FromPort` (-1 when absent).
    pub from: i32,
    /// `ToPort` (-1 when absent).
    pub to: i32,
    /// `CidrIpv4`.
    pub cidr: Option<String>,
    /// `ReferencedGroupInfo.GroupId`.
    pub referenced_group: Option<String>,
    /// `PrefixListId`.
    pub prefix_list: Option<String>,
}

/// The protocol number a rule names, or `None` for `-1` (all); `Err` for a name EC2 does
/// not know.
fn rule_protocol(protocol: &str) -> Result<Option<Protocol>, String> {
    match protocol.to_ascii_lowercase().as_str() {
        "-1" | "all" => Ok(None),
        "tcp" => Ok(Some(proto::TCP)),
        "udp" => Ok(Some(proto::UDP)),
        "icmp" => Ok(Some(proto::ICMP)),
        "icmpv6" => Ok(Some(proto::ICMPV6)),
        number => number
            .parse::<Protocol>()
            .map(Some)
            .map_err(|_| format!("unknown protocol {protocol:?}")),
    }
}

/// Whether `rule` covers `packet`'s protocol and port (the peer is checked apart).
pub fn covers(rule: &Rule, packet: &Packet) -> bool {
    let Ok(protocol) = rule_protocol(&rule.protocol) else {
        return false;
    };
    let Some(protocol) = protocol else {
        return true;
    };
    if protocol != packet.protocol {
        return false;
    }
    let within = |value: Option<u16>, low: i32, high: i32| {
        if low == -1 && high == -1 {
            return true;
        }
        value.is_some_and(|v| i32::from(v) >= low && i32::from(v) <= high)
    };
    match protocol {
        proto::TCP | proto::UDP => within(packet.port, rule.from, rule.to),
        proto::ICMP | proto::ICMPV6 => {
            let any = |bound: i32| bound == -1;
            (any(rule.from) || packet.port.is_some_and(|t| i32::from(t) == rule.from))
                && (any(rule.to) || packet.code.is_some_and(|c| i32::from(c) == rule.to))
        }
        // "-1 or a protocol number other than tcp, udp, icmp, or icmpv6 allows traffic on all
        // ports, regardless of any port range you specify."
        _ => true,
    }
}

/// Whether `rule`'s peer (source of an ingress rule, destination of an egress rule) is
/// `address`, an instance whose groups are `groups`.
pub fn peer_matches(rule: &Rule, address: Ipv4Addr, groups: &[String]) -> bool {
    if let Some(group) = &rule.referenced_group {
        return groups.contains(group);
    }
    if let Some(cidr) = &rule.cidr {
        return cidr
            .parse::<Ipv4Net>()
            .is_ok_and(|net| net.trunc().contains(&address));
    }
    false
}

/// The first rule of `rules` in `direction` that lets `packet` pass with peer `address`
/// (of an instance in `peer_groups`).
pub fn first_match<'a>(
    rules: &'a [Rule],
    egress: bool,
    packet: &Packet,
    address: Ipv4Addr,
    peer_groups: &[String],
) -> Option<&'a Rule> {
    rules
        .iter()
        .find(|r| r.egress == egress && covers(r, packet) && peer_matches(r, address, peer_groups))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(protocol: &str, from: i32, to: i32) -> Rule {
        Rule {
            id: "sgr-1".into(),
            group: "sg-a".into(),
            egress: false,
            protocol: protocol.into(),
            from,
            to,
            cidr: Some("10.0.0.0/16".into()),
            referenced_group: None,
            prefix_list: None,
        }
    }

    #[test]
    fn protocols_and_ports_match_as_ec2_documents() {
        assert!(covers(&rule("-1", -1, -1), &Packet::raw(proto::IPIP)));
        assert!(covers(&rule("4", -1, -1), &Packet::raw(proto::IPIP)));
        assert!(covers(&rule("4", 10, 20), &Packet::raw(proto::IPIP)));
        assert!(!covers(&rule("4", -1, -1), &Packet::udp(8472)));
        assert!(covers(&rule("udp", 8000, 9000), &Packet::udp(8472)));
        assert!(!covers(&rule("udp", 8000, 8471), &Packet::udp(8472)));
        assert!(!covers(&rule("tcp", 8000, 9000), &Packet::udp(8472)));
        assert!(covers(&rule("17", 8472, 8472), &Packet::udp(8472)));
        assert!(covers(&rule("6", 10250, 10250), &Packet::tcp(10250)));
        assert!(!covers(&rule("bogus", -1, -1), &Packet::tcp(1)));
    }

    #[test]
    fn peers_match_by_group_or_cidr() {
        let groups = vec!["sg-b".to_owned()];
        let ip: Ipv4Addr = "10.0.2.15".parse().unwrap();
        let mut by_group = rule("-1", -1, -1);
        by_group.cidr = None;
        by_group.referenced_group = Some("sg-b".into());
        assert!(peer_matches(&by_group, ip, &groups));
        assert!(!peer_matches(&by_group, ip, &[]));
        assert!(peer_matches(&rule("-1", -1, -1), ip, &[]));
        let mut narrow = rule("-1", -1, -1);
        narrow.cidr = Some("10.0.1.0/24".into());
        assert!(!peer_matches(&narrow, ip, &groups));
        let mut prefix = rule("-1", -1, -1);
        prefix.cidr = None;
        prefix.prefix_list = Some("pl-1".into());
        assert!(!peer_matches(&prefix, ip, &groups));
    }
}
