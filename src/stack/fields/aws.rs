//! Where the AWS side lives: the region and the security group.

use std::fmt;

use serde::{Deserialize, Deserializer};

use super::Parse;

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
                "invalid region \"{}\": expected an AWS region such as eu-west-1, or auto",
                crate::clip::value(text)
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
                "invalid security group \"{}\": expected control-plane-node or a group id such as sg-0123456789abcdef0",
                crate::clip::value(text)
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
}
