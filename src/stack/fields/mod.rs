//! Validated field types of the stack files. Each one checks itself while it is deserialized,
//! so a bad value is reported at its own line and column.

mod aws;
mod cidr;
mod placement;
mod port;

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

pub use aws::{Region, SecurityGroupRef};
pub use cidr::{Cidr, PublicReach};
pub use placement::{Placement, TaintEffect};
pub use port::Port;

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
    ($(#[$doc:meta])* $name:ident, $article:literal $what:literal, $check:expr) => {
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
                    .map_err(|why| format!("invalid {} \"{}\": {}", $what, crate::clip::value(value), why))
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
                deserializer.deserialize_str(Parse(Self::parse, concat!($article, " ", $what)))
            }
        }
    };
}

checked_string!(
    /// A DNS-1123 label: namespace names.
    DnsLabel,
    "a" "name",
    names::dns_label
);

checked_string!(
    /// A DNS-1123 subdomain: workload (object) names.
    ObjectName,
    "an" "object name",
    names::dns_subdomain
);

checked_string!(
    /// A label key such as `node-role.kubernetes.io/control-plane`.
    LabelKey,
    "a" "label key",
    names::qualified_name
);

checked_string!(
    /// A label value (may be empty).
    LabelValue,
    "a" "label value",
    names::label_value
);

checked_string!(
    /// An image repository without tag, such as `docker.io/istio` or `quay.io/prometheus/prometheus`.
    ImageRepository,
    "an" "image repository",
    names::image_repository
);

checked_string!(
    /// An image tag such as `1.20.3` or `v3.5.0`.
    ImageTag,
    "an" "image tag",
    names::image_tag
);

checked_string!(
    /// A full image reference with its tag, such as `quay.io/prometheus/prometheus:v3.5.0`.
    ImageRef,
    "an" "image",
    names::image_reference
);

checked_string!(
    /// A DNS domain, such as the cluster domain `cluster.local`.
    Domain,
    "a" "domain",
    names::dns_subdomain
);

checked_string!(
    /// A storage size as Kubernetes writes it (`8Gi`, `500Mi`).
    Quantity,
    "a" "size",
    names::storage_quantity
);

impl Quantity {
    /// The size in bytes (`8Gi` is 8 × 2^30).
    pub fn bytes(&self) -> u64 {
        // Checked when parsed; no value of this type fails.
        names::storage_bytes(&self.0).unwrap_or_default()
    }
}

checked_string!(
    /// A Linkerd proxy log filter (`warn,linkerd=info,hickory=error`).
    ProxyLogLevel,
    "a" "proxy log level",
    names::proxy_log_filter
);

impl Default for ProxyLogLevel {
    /// Linkerd's default filter.
    fn default() -> Self {
        Self("warn,linkerd=info,hickory=error".to_owned())
    }
}

checked_string!(
    /// A duration as Prometheus and Go write it (`15d`, `30s`, `24h0m0s`).
    Duration,
    "a" "duration",
    names::duration
);

impl Duration {
    /// Whether every number in it is zero (`0s`, `0d0h`).
    pub fn is_zero(&self) -> bool {
        self.0.chars().all(|c| !c.is_ascii_digit() || c == '0')
    }

    /// The length in whole seconds (`ms` parts round down).
    pub fn seconds(&self) -> u64 {
        let mut total = 0u64;
        let mut number = 0u64;
        let mut chars = self.0.chars().peekable();
        while let Some(c) = chars.next() {
            if let Some(digit) = c.to_digit(10) {
                number = number.saturating_mul(10).saturating_add(u64::from(digit));
                continue;
            }
            let unit = match (c, chars.peek()) {
                ('m', Some('s')) => {
                    chars.next();
                    0
                }
                ('s', _) => 1,
                ('m', _) => 60,
                ('h', _) => 3_600,
                ('d', _) => 86_400,
                ('w', _) => 604_800,
                _ => 31_536_000,
            };
            total = total.saturating_add(number.saturating_mul(unit));
            number = 0;
        }
        total
    }
}

checked_string!(
    /// A security-group rule description, within what EC2 accepts.
    RuleDescription,
    "a" "description",
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn durations_in_seconds() {
        let seconds = |text: &str| Duration::parse(text).map(|d| d.seconds());
        assert_eq!(seconds("30s"), Ok(30));
        assert_eq!(seconds("1m30s"), Ok(90));
        assert_eq!(seconds("24h0m0s"), Ok(86_400));
        assert_eq!(seconds("2w"), Ok(1_209_600));
        assert_eq!(seconds("1y"), Ok(31_536_000));
        assert_eq!(seconds("1500ms"), Ok(0));
        assert!(Duration::parse("0s").is_ok_and(|d| d.is_zero()));
        assert!(Duration::parse("0d0h").is_ok_and(|d| d.is_zero()));
        assert!(!Duration::parse("1500ms").is_ok_and(|d| d.is_zero()));
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
}
