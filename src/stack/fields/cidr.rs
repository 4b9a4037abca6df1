//! Networks in CIDR form, as EC2 stores them.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::Parse;

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
                format!("invalid CIDR \"{}\": expected an IPv4 or IPv6 network such as 203.0.113.0/24", crate::clip::value(text))
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

/// The broadest single source an exposure takes without `allowPublic`: a /8 of IPv4 (16.7
/// million addresses), a /16 of IPv6.
pub const NARROWEST_PUBLIC_V4: u8 = 8;
/// See [`NARROWEST_PUBLIC_V4`].
pub const NARROWEST_PUBLIC_V6: u8 = 16;

/// Sources that open a port to the internet at large, so that they need the exposure's
/// explicit consent: judged by what they cover, not by how they are spelled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicReach {
    /// One source covers every address of its family (`0.0.0.0/0`, `::/0`).
    Everything(Cidr),
    /// Several sources that together cover every address of their family
    /// (`0.0.0.0/1` and `128.0.0.0/1`).
    Together(Vec<Cidr>),
    /// One source broader than the bound ([`NARROWEST_PUBLIC_V4`], [`NARROWEST_PUBLIC_V6`]).
    Broad(Cidr),
}

impl PublicReach {
    /// Judges `sources`; `None` when they stay within the bounds.
    pub fn of(sources: &[Cidr]) -> Option<Self> {
        if let Some(world) = sources.iter().find(|c| c.is_everything()) {
            return Some(Self::Everything(*world));
        }
        for v6 in [false, true] {
            let family: Vec<IpNet> = sources
                .iter()
                .filter(|c| c.is_ipv6() == v6)
                .map(|c| c.0)
                .collect();
            // ipnet merges adjacent and overlapping networks into the fewest that cover the
            // same addresses: a single /0 among them means every address is covered.
            if IpNet::aggregate(&family)
                .iter()
                .any(|net| net.prefix_len() == 0)
            {
                let mut together: Vec<Cidr> = family.into_iter().map(Cidr).collect();
                together.sort();
                return Some(Self::Together(together));
            }
        }
        sources
            .iter()
            .find(|c| {
                c.0.prefix_len()
                    < if c.is_ipv6() {
                        NARROWEST_PUBLIC_V6
                    } else {
                        NARROWEST_PUBLIC_V4
                    }
            })
            .map(|c| Self::Broad(*c))
    }

    /// The first source to point at.
    pub fn first(&self) -> Cidr {
        match self {
            Self::Everything(c) | Self::Broad(c) => *c,
            Self::Together(all) => all[0],
        }
    }

    /// What the sources would open the port to, e.g. `every address on the internet`.
    pub fn reach(&self) -> String {
        match self {
            Self::Everything(_) => "every address on the internet".to_owned(),
            Self::Together(all) => {
                let family = if all[0].is_ipv6() {
                    "IPv6 (2^128"
                } else {
                    "IPv4 (2^32"
                };
                format!("every {family} addresses) on the internet")
            }
            Self::Broad(c) => {
                let bits = if c.is_ipv6() { 128 } else { 32 } - u32::from(c.0.prefix_len());
                format!(
                    "2^{bits} addresses, more than one source may cover without consent (/{NARROWEST_PUBLIC_V4} for IPv4, /{NARROWEST_PUBLIC_V6} for IPv6)"
                )
            }
        }
    }
}

impl fmt::Display for PublicReach {
    /// The sources, as listed: `0.0.0.0/1 and 128.0.0.0/1 together`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Everything(c) | Self::Broad(c) => c.fmt(f),
            Self::Together(all) => {
                let list: Vec<String> = all.iter().map(ToString::to_string).collect();
                write!(f, "{} together", list.join(" and "))
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

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

    fn reach(sources: &[&str]) -> Option<String> {
        let sources: Vec<Cidr> = sources.iter().map(|s| Cidr::parse(s).unwrap()).collect();
        PublicReach::of(&sources).map(|r| format!("{r} -> {}", r.reach()))
    }

    #[test]
    fn consent_is_judged_by_coverage_not_spelling() {
        assert_eq!(
            reach(&["203.0.113.7/32", "0.0.0.0/0"]).as_deref(),
            Some("0.0.0.0/0 -> every address on the internet")
        );
        assert_eq!(
            reach(&["128.0.0.0/1", "0.0.0.0/1"]).as_deref(),
            Some(
                "0.0.0.0/1 and 128.0.0.0/1 together -> every IPv4 (2^32 addresses) on the internet"
            )
        );
        assert_eq!(
            reach(&["::/1", "8000::/1", "10.0.0.0/16"]).as_deref(),
            Some("::/1 and 8000::/1 together -> every IPv6 (2^128 addresses) on the internet")
        );
        assert_eq!(
            reach(&["10.0.0.0/7"]).as_deref(),
            Some(
                "10.0.0.0/7 -> 2^25 addresses, more than one source may cover without consent (/8 for IPv4, /16 for IPv6)"
            )
        );
        assert_eq!(
            reach(&["2000::/15"]).map(|r| r.starts_with("2000::/15 -> 2^113")),
            Some(true)
        );
        // At the bound, and halves that leave a gap, stay without consent.
        assert_eq!(reach(&["10.0.0.0/8", "2001::/16", "203.0.113.0/24"]), None);
        assert_eq!(
            reach(&["::/1", "8000::/2"]).map(|r| r.starts_with("::/1 ->")),
            Some(true)
        );
        assert_eq!(reach(&["0.0.0.0/8", "255.0.0.0/8"]), None);
    }
}
