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
