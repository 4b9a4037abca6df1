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
}
