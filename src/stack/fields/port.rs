//! Port numbers.

use std::fmt;

use serde::de::{self, Deserializer, Unexpected, Visitor};
use serde::{Deserialize, Serialize};

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
}
