//! Material bootstrap generates and keeps in the cluster: Linkerd's identity issuer (with the
//! trust anchor that signed it), the webhooks' serving certificates, Grafana's administrator
//! password. Values live in [`SecretData`], whose `Debug` shows key names only, so that no
//! log line or error can carry them.

pub mod certificates;

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::path::PathBuf;

use rand::distr::{Alphanumeric, SampleString};
use secrecy::{ExposeSecret, SecretString};

use crate::render::Slot;
use crate::stack::{SecretKind, SecretSpec, Spec, Stack};

/// The length of a generated password: 32 letters and digits, about 190 bits.
const PASSWORD_LENGTH: usize = 32;
/// The key under which the issuer Secret also keeps the trust anchor certificate, so that a
/// later run fills the trust-roots slots without the anchor's key.
pub const TRUST_ANCHOR_KEY: &str = "ca.crt";

/// Why material could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// Certificate generation failed.
    #[error("failed to generate {what}")]
    Generate {
        /// What.
        what: String,
        /// Why.
        #[source]
        source: rcgen::Error,
    },
    /// A certificate file named in the Linkerd stack could not be read.
    #[error("failed to read {field} \"{}\" named in the Linkerd stack file", path.display())]
    ReadFile {
        /// The `spec.certificates` field.
        field: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The certificate files named in the Linkerd stack file do not work together.
    #[error("the certificates named in {file} (spec.certificates) are unusable: {reason}")]
    Provided {
        /// The stack file.
        file: String,
        /// What is wrong.
        reason: String,
    },
}

/// The contents of one Secret: key → value. Never printed.
#[derive(Clone, Default)]
pub struct SecretData(BTreeMap<String, SecretString>);

impl SecretData {
    /// Wraps values.
    pub fn new(values: impl IntoIterator<Item = (String, String)>) -> Self {
        Self(
            values
                .into_iter()
                .map(|(key, value)| (key, SecretString::from(value)))
                .collect(),
        )
    }

    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(ExposeSecret::expose_secret)
    }

    /// The keys, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// Every key and value, for building the Secret object.
    pub fn expose(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0
            .iter()
            .map(|(key, value)| (key.as_str(), value.expose_secret()))
    }
}

impl fmt::Debug for SecretData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

/// The keys a Secret of `spec` must hold to be usable.
pub fn required_keys(spec: &SecretSpec) -> Vec<&'static str> {
    let mut keys = spec.keys().to_vec();
    if spec.kind == SecretKind::LinkerdIssuer {
        keys.push(TRUST_ANCHOR_KEY);
    }
    keys
}

/// Makes the contents of the Secret `spec` (of one of `stacks`): fresh material, or for the
/// Linkerd issuer the certificate files the stack names.
pub fn generate(spec: &SecretSpec, stacks: &[&Stack]) -> Result<SecretData, SecretsError> {
    let failed = |what: &str| {
        let what = what.to_owned();
        move |source| SecretsError::Generate { what, source }
    };
    match &spec.kind {
        SecretKind::GrafanaAdmin => {
            let password = Alphanumeric.sample_string(&mut rand::rng(), PASSWORD_LENGTH);
            Ok(SecretData::new([("admin-password".to_owned(), password)]))
        }
        SecretKind::WebhookTls { service } => {
            let dns = format!("{service}.{}.svc", spec.namespace);
            let pair = certificates::webhook(&dns)
                .map_err(failed(&format!("the serving certificate for {dns}")))?;
            Ok(SecretData::new([
                ("tls.crt".to_owned(), pair.certificate),
                ("tls.key".to_owned(), pair.key),
            ]))
        }
        SecretKind::LinkerdIssuer => {
            let Some((stack, linkerd)) = stacks.iter().find_map(|stack| match &stack.spec {
                Spec::Linkerd(linkerd) => Some((stack, linkerd)),
                _ => None,
            }) else {
                return Err(SecretsError::Provided {
                    file: "the selected stacks".into(),
                    reason: "the identity issuer needs the Linkerd stack, which is not selected"
                        .into(),
                });
            };
            let (trust_anchor, certificate, key) = if linkerd.certificates.generated() {
                let identity =
                    certificates::identity(&spec.namespace, linkerd.trust_domain.as_str())
                        .map_err(failed("the Linkerd trust anchor and identity issuer"))?;
                (
                    identity.trust_anchor,
                    identity.issuer.certificate,
                    identity.issuer.key,
                )
            } else {
                provided(stack, &linkerd.certificates)?
            };
            Ok(SecretData::new([
                (TRUST_ANCHOR_KEY.to_owned(), trust_anchor),
                ("crt.pem".to_owned(), certificate),
                ("key.pem".to_owned(), key),
            ]))
        }
    }
}

fn provided(
    stack: &Stack,
    certificates: &crate::stack::Certificates,
) -> Result<(String, String, String), SecretsError> {
    let dir = stack
        .file
        .path
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default();
    let read = |field: &'static str, name: &Option<String>| {
        let path = dir.join(name.as_deref().unwrap_or_default());
        fs::read_to_string(&path).map_err(|source| SecretsError::ReadFile {
            field,
            path,
            source,
        })
    };
    let anchor = read("trustAnchor", &certificates.trust_anchor)?;
    let issuer = read("issuerCertificate", &certificates.issuer_certificate)?;
    let key = read("issuerKey", &certificates.issuer_key)?;
    certificates::check_provided(&anchor, &issuer, &key).map_err(|reason| {
        SecretsError::Provided {
            file: stack.file.path.display().to_string(),
            reason,
        }
    })?;
    Ok((anchor, issuer, key))
}

/// What the templates' slots hold, given the contents of every planned Secret.
pub fn slot_values<'a>(
    secrets: impl IntoIterator<Item = (&'a SecretSpec, &'a SecretData)>,
) -> BTreeMap<Slot, String> {
    let mut values = BTreeMap::new();
    for (spec, data) in secrets {
        match &spec.kind {
            SecretKind::LinkerdIssuer => {
                if let Some(anchor) = data.get(TRUST_ANCHOR_KEY) {
                    values.insert(Slot::LinkerdTrustAnchor, anchor.to_owned());
                }
            }
            SecretKind::WebhookTls { service } => {
                if let Some(certificate) = data.get("tls.crt") {
                    values.insert(
                        Slot::WebhookCaBundle {
                            service: service.clone(),
                        },
                        certificate.to_owned(),
                    );
                }
            }
            SecretKind::GrafanaAdmin => {}
        }
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::StackSource;

    fn specs() -> (crate::stack::Platform, Vec<SecretSpec>) {
        let platform = StackSource::Embedded.load().unwrap();
        let specs = platform
            .stacks
            .iter()
            .flat_map(|stack| stack.spec.secrets(stack.namespace.as_str()))
            .collect();
        (platform, specs)
    }

    #[test]
    fn every_planned_secret_is_generated_with_its_keys_and_fills_its_slots() {
        let (platform, specs) = specs();
        let stacks: Vec<&Stack> = platform.stacks.iter().collect();
        let generated: Vec<(SecretSpec, SecretData)> = specs
            .into_iter()
            .map(|spec| {
                let data = generate(&spec, &stacks).unwrap();
                (spec, data)
            })
            .collect();
        for (spec, data) in &generated {
            let keys: Vec<&str> = data.keys().collect();
            let mut required = required_keys(spec);
            required.sort_unstable();
            assert_eq!(keys, required, "{}", spec.name);
        }
        let password = generated
            .iter()
            .find_map(|(spec, data)| {
                data.get("admin-password")
                    .filter(|_| spec.name == "grafana-admin")
            })
            .unwrap();
        assert_eq!(password.len(), 32);
        assert!(password.chars().all(|c| c.is_ascii_alphanumeric()));
        let slots = slot_values(generated.iter().map(|(spec, data)| (spec, data)));
        assert_eq!(slots.len(), 4, "the trust anchor and three CA bundles");
        assert!(slots[&Slot::LinkerdTrustAnchor].starts_with("-----BEGIN CERTIFICATE-----"));
    }

    #[test]
    fn debug_shows_keys_never_values() {
        let data = SecretData::new([("admin-password".to_owned(), "hunter2-sentinel".to_owned())]);
        let shown = format!("{data:?}");
        assert_eq!(shown, "{\"admin-password\"}");
    }

    #[test]
    fn two_passwords_differ() {
        let (platform, specs) = specs();
        let stacks: Vec<&Stack> = platform.stacks.iter().collect();
        let grafana = specs
            .iter()
            .find(|s| s.kind == SecretKind::GrafanaAdmin)
            .unwrap();
        let one = generate(grafana, &stacks).unwrap();
        let two = generate(grafana, &stacks).unwrap();
        assert_ne!(one.get("admin-password"), two.get("admin-password"));
    }
}
