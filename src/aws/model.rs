//! What obsboot knows of EC2: instances, security groups and their ingress rules, in plain
//! types that the reconciliation works on (the SDK's types stay in `sdk.rs`).

use std::collections::BTreeMap;
use std::fmt;

/// An EC2 instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// `i-...`.
    pub id: String,
    /// `running`, `stopped`, ...
    pub state: String,
    /// The availability zone.
    pub zone: Option<String>,
    /// The primary private address.
    pub private_ip: Option<String>,
    /// The public address, if it has one.
    pub public_ip: Option<String>,
    /// Every security group on the instance and its network interfaces, deduplicated, in
    /// the order EC2 lists them.
    pub groups: Vec<String>,
    /// The subnet of its primary network interface.
    pub subnet: Option<String>,
    /// Its VPC.
    pub vpc: Option<String>,
    /// Whether EC2 drops packets whose source or destination is not the instance's own
    /// address (`SourceDestCheck`; `None` when EC2 did not say).
    pub source_dest_check: Option<bool>,
    /// Its network interfaces, each with its own groups.
    pub interfaces: Vec<Interface>,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
}

/// A network interface of an instance.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Interface {
    /// `eni-...`.
    pub id: String,
    /// Its subnet.
    pub subnet: Option<String>,
    /// Its primary private address.
    pub private_ip: Option<String>,
    /// The security groups on this interface.
    pub groups: Vec<String>,
    /// Its own source/destination check.
    pub source_dest_check: Option<bool>,
}

/// A subnet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subnet {
    /// `subnet-...`.
    pub id: String,
    /// Its IPv4 network.
    pub cidr: Option<String>,
    /// Its VPC.
    pub vpc: Option<String>,
    /// Its availability zone.
    pub zone: Option<String>,
}

/// A VPC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vpc {
    /// `vpc-...`.
    pub id: String,
    /// Its associated IPv4 networks, the primary first.
    pub cidrs: Vec<String>,
    /// Its associated IPv6 networks.
    pub ipv6_cidrs: Vec<String>,
}

/// A security group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// `sg-...`.
    pub id: String,
    /// Its name (`default` for a VPC's default group).
    pub name: String,
    /// Its VPC.
    pub vpc: Option<String>,
    /// The account that owns it.
    pub owner: Option<String>,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
}

impl Group {
    /// Whether this is a VPC's default group.
    pub fn is_default(&self) -> bool {
        self.name == "default"
    }
}

/// One security-group rule, as DescribeSecurityGroupRules lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// `sgr-...`.
    pub id: String,
    /// The group it belongs to.
    pub group: String,
    /// Outbound rather than inbound.
    pub egress: bool,
    /// `tcp`, `udp`, `-1` (everything), ...
    pub protocol: String,
    /// First port (`-1` for every port).
    pub from_port: i32,
    /// Last port.
    pub to_port: i32,
    /// The source network, when the source is a CIDR (IPv4 or IPv6).
    pub cidr: Option<String>,
    /// The source group, when the source is a security group (`referencedGroupInfo`).
    pub referenced_group: Option<String>,
    /// The source prefix list, when the source is one (`prefixListId`).
    pub prefix_list: Option<String>,
    /// The description.
    pub description: Option<String>,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
}

impl Rule {
    /// Whether the rule is inbound TCP on exactly `port` from exactly `cidr`: the same
    /// permission EC2 would call a duplicate.
    pub fn admits_exactly(&self, port: u16, cidr: &str) -> bool {
        !self.egress
            && self.protocol == "tcp"
            && self.from_port == i32::from(port)
            && self.to_port == i32::from(port)
            && self.cidr.as_deref() == Some(cidr)
    }

    /// Whether the source is an IPv6 network (EC2 counts those against a separate quota).
    pub fn is_ipv6(&self) -> bool {
        self.cidr.as_deref().is_some_and(|c| c.contains(':'))
    }

    /// The rule's source, when it is a network or a group.
    pub fn source(&self) -> Option<Source> {
        match (&self.referenced_group, &self.cidr) {
            (Some(group), _) => Some(Source::Group(group.clone())),
            (None, Some(cidr)) => Some(Source::Cidr(cidr.clone())),
            (None, None) => None,
        }
    }
}

/// Where an inbound permission admits traffic from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    /// The instances in this security group (by their private addresses).
    Group(String),
    /// This IPv4 or IPv6 network.
    Cidr(String),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Group(id) => f.write_str(id),
            Self::Cidr(cidr) => f.write_str(cidr),
        }
    }
}

/// An inbound permission of any protocol to create: one rule, tagged on creation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPermission {
    /// The group it goes in.
    pub group: String,
    /// `tcp`, `udp`, `icmp`, `-1` (everything) or an IP protocol number such as `4`.
    pub protocol: String,
    /// First port (the ICMP type for `icmp`; `-1` where ports do not apply).
    pub from_port: i32,
    /// Last port (the ICMP code for `icmp`; `-1` where ports do not apply).
    pub to_port: i32,
    /// The source.
    pub source: Source,
    /// The description.
    pub description: String,
    /// The tags to create it with.
    pub tags: BTreeMap<String, String>,
}

impl NewPermission {
    /// Whether the protocol takes a port range (TCP, UDP) or an ICMP type and code.
    pub fn has_ports(&self) -> bool {
        matches!(
            protocol_name(&self.protocol),
            "tcp" | "udp" | "icmp" | "icmpv6"
        )
    }
}

impl fmt::Display for NewPermission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let protocol = protocol_name(&self.protocol);
        match protocol {
            "-1" => f.write_str("all traffic")?,
            "tcp" | "udp" if self.from_port == self.to_port => {
                write!(f, "{protocol} {}", self.from_port)?;
            }
            "tcp" | "udp" => write!(f, "{protocol} {}-{}", self.from_port, self.to_port)?,
            "icmp" | "icmpv6" => {
                write!(
                    f,
                    "{protocol} type {} code {}",
                    self.from_port, self.to_port
                )?;
            }
            number => write!(f, "ip protocol {number}")?,
        }
        write!(f, " from {} in {}", self.source, self.group)
    }
}

/// EC2's name of a protocol: the numbers of TCP (6), UDP (17), ICMP (1) and ICMPv6 (58)
/// become their names, as EC2 lists them; everything else stays as given.
pub fn protocol_name(protocol: &str) -> &str {
    match protocol {
        "6" => "tcp",
        "17" => "udp",
        "1" => "icmp",
        "58" => "icmpv6",
        other => other,
    }
}

/// An inbound rule to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRule {
    /// The group.
    pub group: String,
    /// The TCP port.
    pub port: u16,
    /// The source network.
    pub cidr: String,
    /// The description.
    pub description: String,
    /// The tags to create it with.
    pub tags: BTreeMap<String, String>,
}

impl fmt::Display for NewRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tcp {} from {} in {}", self.port, self.cidr, self.group)
    }
}

/// Which rules to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleFilter {
    /// Every rule of a group.
    Group(String),
    /// Every rule carrying this tag with this value, in any group.
    Tag(String, String),
    /// One rule.
    Id(String),
}

/// What an authorize request did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authorized {
    /// The rule was created with this id.
    Created(String),
    /// EC2 already has the same permission (`InvalidPermission.Duplicate`).
    Duplicate,
}

/// What a revoke request did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revoked {
    /// The rule is gone.
    Revoked,
    /// It was gone already (or its group is).
    AlreadyGone,
}

impl Rule {
    /// Whether the rule admits inbound TCP on `port` (from its source, whatever that is).
    pub fn admits_port(&self, port: u16) -> bool {
        let port = i32::from(port);
        !self.egress
            && (self.protocol == "tcp" || self.protocol == "-1")
            && (self.from_port == -1 || (self.from_port <= port && port <= self.to_port))
    }
}

impl From<&NewRule> for NewPermission {
    fn from(rule: &NewRule) -> Self {
        Self {
            group: rule.group.clone(),
            protocol: "tcp".into(),
            from_port: i32::from(rule.port),
            to_port: i32::from(rule.port),
            source: Source::Cidr(rule.cidr.clone()),
            description: rule.description.clone(),
            tags: rule.tags.clone(),
        }
    }
}
