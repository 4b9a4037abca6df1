//! Validated field types of the stack files. Each one checks itself while it is deserialized,
//! so a bad value is reported at its own line and column.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::de::{self, Deserializer, Unexpected, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::names;

/// Deserializes a string through `parse` inside the deserializer, so that serde_yaml reports
/// a rejected value at its own line and column.
struct Parse<T>(fn(&str) -> Result<T, String>, &'static str);

impl<T> Visitor<'_> for Parse<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.1)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<T, E> {
        (self.0)(text).map_err(E::custom)
    }
}

/// Declares a string newtype that is validated by `$check` when deserialized.
macro_rules! checked_string {
    ($(#[$doc:meta])* $name:ident, $what:literal, $check:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Checks `value` and wraps it.
            pub fn parse(value: &str) -> Result<Self, String> {
                let check: fn(&str) -> Result<(), String> = $check;
                check(value)
                    .map(|()| Self(value.to_owned()))
                    .map_err(|why| format!("invalid {} \"{}\": {}", $what, value, why))
            }

            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer.deserialize_str(Parse(Self::parse, concat!("a ", $what)))
            }
        }
    };
}

checked_string!(
    /// A DNS-1123 label: namespace names.
    DnsLabel,
    "name",
    names::dns_label
);

checked_string!(
    /// A DNS-1123 subdomain: workload (object) names.
    ObjectName,
    "object name",
    names::dns_subdomain
);

checked_string!(
    /// A label key such as `node-role.kubernetes.io/control-plane`.
    LabelKey,
    "label key",
    names::qualified_name
);

checked_string!(
    /// A label value (may be empty).
    LabelValue,
    "label value",
    names::label_value
);

checked_string!(
    /// An image repository without tag, such as `docker.io/istio` or `quay.io/prometheus/prometheus`.
    ImageRepository,
    "image repository",
    names::image_repository
);

checked_string!(
    /// An image tag such as `1.20.3` or `v3.5.0`.
    ImageTag,
    "image tag",
    names::image_tag
);

checked_string!(
    /// A security-group rule description, within what EC2 accepts.
    RuleDescription,
    "description",
    rule_description
);

/// EC2 accepts up to 255 characters from `a-zA-Z0-9. _-:/()#,@[]+=&;{}!$*`.
fn rule_description(text: &str) -> Result<(), String> {
    if text.trim().is_empty() {
        return Err("must not be empty".into());
    }
    if text.chars().count() > 255 {
        return Err("must be at most 255 characters (an EC2 limit)".into());
    }
    if let Some(bad) = text
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || " ._-:/()#,@[]+=&;{}!$*".contains(*c)))
    {
        return Err(format!(
            "EC2 does not accept the character '{bad}' in rule descriptions; use letters, digits, spaces and ._-:/()#,@[]+=&;{{}}!$*"
        ));
    }
    Ok(())
}

/// A TCP port number, 1 to 65535.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Port(u16);

impl Port {
    /// The port `number`, which must not be 0.
    pub fn new(number: u16) -> Option<Self> {
        (number != 0).then_some(Self(number))
    }

    /// The number.
    pub fn get(self) -> u16 {
        self.0
    }
}

impl fmt::Display for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<'de> Deserialize<'de> for Port {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PortVisitor;

        impl Visitor<'_> for PortVisitor {
            type Value = Port;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a port number from 1 to 65535")
            }

            fn visit_u64<E: de::Error>(self, value: u64) -> Result<Port, E> {
                u16::try_from(value)
                    .ok()
                    .and_then(Port::new)
                    .ok_or_else(|| E::invalid_value(Unexpected::Unsigned(value), &self))
            }

            fn visit_i64<E: de::Error>(self, value: i64) -> Result<Port, E> {
                match u64::try_from(value) {
                    Ok(value) => self.visit_u64(value),
                    Err(_) => Err(E::invalid_value(Unexpected::Signed(value), &self)),
                }
            }
        }

        deserializer.deserialize_u64(PortVisitor)
    }
}

/// A network in canonical CIDR form (`203.0.113.0/24`, `2001:db8::/32`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cidr(IpNet);

impl Cidr {
    /// Parses and checks that the host bits are zero, as EC2 stores it.
    pub fn parse(text: &str) -> Result<Self, String> {
        let net: IpNet = text.parse().map_err(|_| {
            if text.parse::<IpAddr>().is_ok() {
                let prefix = if text.contains(':') { 128 } else { 32 };
                format!("invalid CIDR \"{text}\": missing the prefix length; for this one address write {text}/{prefix}")
            } else {
                format!("invalid CIDR \"{text}\": expected an IPv4 or IPv6 network such as 203.0.113.0/24")
            }
        })?;
        if net.trunc() != net {
            return Err(format!(
                "invalid CIDR \"{text}\": host bits are set; the network is {}",
                net.trunc()
            ));
        }
        Ok(Self(net))
    }

    /// Whether this is `0.0.0.0/0` or `::/0`: every address there is.
    pub fn is_everything(self) -> bool {
        self.0.prefix_len() == 0
    }

    /// Whether this is an IPv6 network.
    pub fn is_ipv6(self) -> bool {
        matches!(self.0, IpNet::V6(_))
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for Cidr {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Cidr {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(Parse(Self::parse, "a CIDR such as 203.0.113.0/24"))
    }
}

/// Where a workload's pods may run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Placement {
    /// Pinned to the control-plane node: its node selector plus tolerations for its taints.
    ControlPlane,
    /// Wherever the scheduler puts it; the control-plane taints keep it off that node.
    #[default]
    Anywhere,
    /// Any node including the control plane: tolerations only (DaemonSets then run everywhere).
    AllNodes,
}

impl fmt::Display for Placement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::ControlPlane => "control-plane",
            Self::Anywhere => "anywhere",
            Self::AllNodes => "all-nodes",
        })
    }
}

/// The effect of a node taint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum TaintEffect {
    /// New pods are not scheduled.
    NoSchedule,
    /// The scheduler avoids the node.
    PreferNoSchedule,
    /// Running pods are evicted.
    NoExecute,
}

impl TaintEffect {
    /// The API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoSchedule => "NoSchedule",
            Self::PreferNoSchedule => "PreferNoSchedule",
            Self::NoExecute => "NoExecute",
        }
    }
}

/// An AWS region, or `auto` to take it from the AWS environment or the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Region {
    /// From `AWS_REGION`/the profile, else from the control-plane node's providerID.
    Auto,
    /// This region.
    Named(String),
}

impl Region {
    fn parse(text: &str) -> Result<Self, String> {
        if text == "auto" {
            return Ok(Self::Auto);
        }
        let mut parts = text.split('-');
        let shaped = parts
            .next()
            .is_some_and(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_lowercase()))
            && text
                .rsplit('-')
                .next()
                .is_some_and(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
            && text.split('-').count() >= 3
            && text
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if shaped {
            Ok(Self::Named(text.to_owned()))
        } else {
            Err(format!(
                "invalid region \"{text}\": expected an AWS region such as eu-west-1, or auto"
            ))
        }
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Auto => f.write_str("auto"),
            Self::Named(name) => f.write_str(name),
        }
    }
}

impl<'de> Deserialize<'de> for Region {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(Parse(
            Self::parse,
            "an AWS region such as eu-west-1, or auto",
        ))
    }
}

/// Which security group receives the ingress rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecurityGroupRef {
    /// The one group attached to the control-plane node's EC2 instance.
    ControlPlaneNode,
    /// This group.
    Id(String),
}

impl SecurityGroupRef {
    fn parse(text: &str) -> Result<Self, String> {
        if text == "control-plane-node" {
            return Ok(Self::ControlPlaneNode);
        }
        let hex = text.strip_prefix("sg-").unwrap_or_default();
        if matches!(hex.len(), 8 | 17)
            && hex
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
        {
            Ok(Self::Id(text.to_owned()))
        } else {
            Err(format!(
                "invalid security group \"{text}\": expected control-plane-node or a group id such as sg-0123456789abcdef0"
            ))
        }
    }
}

impl fmt::Display for SecurityGroupRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ControlPlaneNode => f.write_str("control-plane-node"),
            Self::Id(id) => f.write_str(id),
        }
    }
}

impl<'de> Deserialize<'de> for SecurityGroupRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(Parse(
            Self::parse,
            "control-plane-node or a security group id",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T, String> {
        serde_yaml::from_str(text).map_err(|e| e.to_string())
    }

    #[test]
    fn ports() {
        assert_eq!(yaml::<Port>("8080").map(Port::get), Ok(8080));
        assert_eq!(yaml::<Port>("65535").map(Port::get), Ok(65535));
        let err = yaml::<Port>("70000").unwrap_err();
        assert!(
            err.starts_with(
                "invalid value: integer `70000`, expected a port number from 1 to 65535"
            ),
            "{err}"
        );
        assert!(yaml::<Port>("0").is_err());
        assert!(yaml::<Port>("-1").unwrap_err().contains("integer `-1`"));
        assert!(
            yaml::<Port>("\"http\"")
                .unwrap_err()
                .contains("invalid type: string \"http\"")
        );
        assert!(
            yaml::<Port>("30.5")
                .unwrap_err()
                .contains("floating point `30.5`")
        );
    }

    #[test]
    fn cidrs() {
        assert_eq!(
            Cidr::parse("203.0.113.0/24").map(|c| c.to_string()),
            Ok("203.0.113.0/24".into())
        );
        assert_eq!(Cidr::parse("2001:db8::/32").map(Cidr::is_ipv6), Ok(true));
        assert!(Cidr::parse("0.0.0.0/0").is_ok_and(Cidr::is_everything));
        assert!(Cidr::parse("::/0").is_ok_and(Cidr::is_everything));
        assert_eq!(
            Cidr::parse("10.0.0.5/24").unwrap_err(),
            "invalid CIDR \"10.0.0.5/24\": host bits are set; the network is 10.0.0.0/24"
        );
        assert!(
            Cidr::parse("300.1.1.1/32")
                .unwrap_err()
                .contains("expected an IPv4 or IPv6 network")
        );
        assert!(Cidr::parse("10.0.0.0/33").is_err());
        assert!(
            Cidr::parse("1.2.3.4")
                .unwrap_err()
                .contains("write 1.2.3.4/32")
        );
        assert!(Cidr::parse("2001:db8::1").unwrap_err().contains("/128"));
        assert!(Cidr::parse("2001:db8:::/64").is_err());
    }

    #[test]
    fn image_repositories() {
        for ok in [
            "docker.io/istio",
            "quay.io/prometheus/prometheus",
            "localhost:5000/x",
            "grafana/grafana",
            "registry.k8s.io/kube-state-metrics/kube-state-metrics",
            "cr.l5d.io/linkerd",
            "a__b/c-d",
        ] {
            assert!(ImageRepository::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "Docker.io/Istio",
            "istio/details:1.0",
            "docker.io/istio@sha256:00",
            "a//b",
            "a/-b",
            "a/b_",
            "bad host!/x",
        ] {
            assert!(ImageRepository::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn image_tags() {
        assert!(ImageTag::parse("1.20.3").is_ok());
        assert!(ImageTag::parse("v3.5.0-rc.1").is_ok());
        assert!(ImageTag::parse(".x").is_err());
        assert!(ImageTag::parse("a:b").is_err());
        assert!(ImageTag::parse(&"a".repeat(129)).is_err());
    }

    #[test]
    fn descriptions() {
        assert!(RuleDescription::parse("Bookinfo product page (hostPort 30080)").is_ok());
        assert!(RuleDescription::parse("").is_err());
        assert!(
            RuleDescription::parse("caf\u{e9}")
                .unwrap_err()
                .contains("'\u{e9}'")
        );
        assert!(RuleDescription::parse("quote\"").is_err());
        assert!(RuleDescription::parse(&"a".repeat(256)).is_err());
    }

    #[test]
    fn regions_and_groups() {
        assert_eq!(Region::parse("auto"), Ok(Region::Auto));
        assert_eq!(
            Region::parse("us-gov-west-1"),
            Ok(Region::Named("us-gov-west-1".into()))
        );
        assert!(Region::parse("eu-west").is_err());
        assert!(Region::parse("EU-west-1").is_err());
        assert_eq!(
            SecurityGroupRef::parse("control-plane-node"),
            Ok(SecurityGroupRef::ControlPlaneNode)
        );
        assert!(SecurityGroupRef::parse("sg-0123456789abcdef0").is_ok());
        assert!(SecurityGroupRef::parse("sg-12345678").is_ok());
        assert!(SecurityGroupRef::parse("sg-xyz").is_err());
    }

    #[test]
    fn placements() {
        assert_eq!(
            yaml::<Placement>("control-plane"),
            Ok(Placement::ControlPlane)
        );
        assert!(yaml::<Placement>("master").unwrap_err().contains(
            "unknown variant `master`, expected one of `control-plane`, `anywhere`, `all-nodes`"
        ));
    }
}
