//! Material that exists only once bootstrap has generated it (certificates). Templates ask
//! for it with `slot(...)`; a render gets a placeholder, so it shows where the material goes
//! without any of it, and bootstrap renders again with the real values.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;

/// A place for generated material.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase", tag = "slot")]
pub enum Slot {
    /// The Linkerd trust anchor certificate (PEM).
    LinkerdTrustAnchor,
    /// The CA bundle (PEM) that signs the serving certificate of a webhook's Service.
    WebhookCaBundle {
        /// The Service.
        service: String,
    },
}

impl Slot {
    /// The slot a template names: `slot("linkerd-trust-anchor")`,
    /// `slot("webhook-ca-bundle", "linkerd-proxy-injector")`.
    fn parse(name: &str, service: Option<&str>) -> Result<Self, String> {
        match (name, service) {
            ("linkerd-trust-anchor", None) => Ok(Self::LinkerdTrustAnchor),
            ("webhook-ca-bundle", Some(service)) => Ok(Self::WebhookCaBundle {
                service: service.into(),
            }),
            ("webhook-ca-bundle", None) => {
                Err("slot \"webhook-ca-bundle\" takes the webhook's Service name".into())
            }
            (name, _) => Err(format!(
                "unknown slot \"{name}\"; the slots are linkerd-trust-anchor and webhook-ca-bundle"
            )),
        }
    }

    /// The name and Service a template gives `slot(...)` for this slot: the inverse of
    /// [`Slot::parse`].
    pub fn name(&self) -> (&'static str, Option<&str>) {
        match self {
            Self::LinkerdTrustAnchor => ("linkerd-trust-anchor", None),
            Self::WebhookCaBundle { service } => ("webhook-ca-bundle", Some(service)),
        }
    }

    /// What stands in a render for the material: short, one line, safe unquoted in YAML.
    pub fn placeholder(&self) -> String {
        match self {
            Self::LinkerdTrustAnchor => "obsboot-fills-at-bootstrap(linkerd-trust-anchor)".into(),
            Self::WebhookCaBundle { service } => {
                format!("obsboot-fills-at-bootstrap(webhook-ca-bundle:{service})")
            }
        }
    }
}

impl fmt::Display for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::LinkerdTrustAnchor => f.write_str("the Linkerd trust anchor certificate"),
            Self::WebhookCaBundle { service } => {
                write!(f, "the CA bundle of the {service} webhook")
            }
        }
    }
}

/// The slot values a render uses (none: placeholders), and the slots the templates asked for.
#[derive(Debug, Clone, Default)]
pub struct Slots {
    values: BTreeMap<Slot, String>,
    used: Arc<Mutex<Vec<Slot>>>,
}

impl Slots {
    /// Real values for bootstrap; slots without one get their placeholder.
    pub fn with_values(values: BTreeMap<Slot, String>) -> Self {
        Self {
            values,
            used: Arc::default(),
        }
    }

    /// The template function `slot(name, service=none)`.
    pub fn lookup(&self, name: &str, service: Option<&str>) -> Result<String, String> {
        let slot = Slot::parse(name, service)?;
        let value = self
            .values
            .get(&slot)
            .cloned()
            .unwrap_or_else(|| slot.placeholder());
        self.record([slot]);
        Ok(value)
    }

    /// For output rendered with placeholders (at build time): where none of `named` (as
    /// templates name them, see [`Slot::name`]) has a value here, records them as used and
    /// returns true; else records nothing and returns false.
    pub fn use_placeholders(&self, named: &[(&str, Option<&str>)]) -> bool {
        let Ok(slots) = named
            .iter()
            .map(|&(name, service)| Slot::parse(name, service))
            .collect::<Result<Vec<_>, _>>()
        else {
            return false;
        };
        if slots.iter().any(|slot| self.values.contains_key(slot)) {
            return false;
        }
        self.record(slots);
        true
    }

    /// Records `slots` as used, each once.
    fn record(&self, slots: impl IntoIterator<Item = Slot>) {
        let mut used = self.used.lock().unwrap_or_else(PoisonError::into_inner);
        for slot in slots {
            if !used.contains(&slot) {
                used.push(slot);
            }
        }
    }

    /// The slots used so far, sorted.
    pub fn used(&self) -> Vec<Slot> {
        let mut used = self
            .used
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        used.sort();
        used
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_unless_a_value_is_given_and_usage_is_recorded() {
        let slots = Slots::default();
        assert_eq!(
            slots.lookup("linkerd-trust-anchor", None).as_deref(),
            Ok("obsboot-fills-at-bootstrap(linkerd-trust-anchor)")
        );
        assert!(slots.lookup("webhook-ca-bundle", None).is_err());
        assert!(
            slots
                .lookup("nope", None)
                .unwrap_err()
                .contains("unknown slot \"nope\"")
        );
        let filled = Slots::with_values([(Slot::LinkerdTrustAnchor, "PEM".to_owned())].into());
        assert_eq!(
            filled.lookup("linkerd-trust-anchor", None).as_deref(),
            Ok("PEM")
        );
        slots.lookup("webhook-ca-bundle", Some("b")).unwrap();
        slots.lookup("linkerd-trust-anchor", None).unwrap();
        assert_eq!(
            slots.used(),
            [
                Slot::LinkerdTrustAnchor,
                Slot::WebhookCaBundle {
                    service: "b".into()
                }
            ]
        );
    }

    #[test]
    fn placeholders_are_taken_only_where_no_value_is_given() {
        let anchor = Slot::LinkerdTrustAnchor;
        let bundle = Slot::WebhookCaBundle {
            service: "b".into(),
        };
        assert_eq!(
            Slot::parse(anchor.name().0, anchor.name().1),
            Ok(anchor.clone())
        );
        assert_eq!(
            Slot::parse(bundle.name().0, bundle.name().1),
            Ok(bundle.clone())
        );
        let named = [anchor.name(), bundle.name()];

        let render = Slots::default();
        assert!(render.use_placeholders(&named));
        assert_eq!(render.used(), [anchor.clone(), bundle.clone()]);

        let bootstrap = Slots::with_values([(bundle.clone(), "PEM".to_owned())].into());
        assert!(!bootstrap.use_placeholders(&named));
        assert!(bootstrap.used().is_empty());
        assert!(!render.use_placeholders(&[("nope", None)]));
    }
}
