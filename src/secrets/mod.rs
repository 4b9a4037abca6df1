//! Material bootstrap generates and keeps in the cluster: Linkerd's trust anchor (with its
//! key) and identity issuer, the webhooks' serving certificates, Grafana's administrator
//! password; and, as certificates near their end, their renewal ([`renewal`]). Values live in
//! [`SecretData`], whose `Debug` shows key names only, so that no log line or error can
//! carry them.

pub mod certificates;
pub mod renewal;
pub mod status;

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
/// The key under which the issuer Secret also keeps the trust roots (the anchor certificate,
/// or during a rotation by hand the old and the new one), which fill the trust-roots slots.
pub const TRUST_ANCHOR_KEY: &str = "ca.crt";
/// The key under which a webhook's Secret keeps the certificate a renewal replaced, which
/// stays in the webhook's caBundle while pods may still serve it ([`renewal::ca_bundle`]).
pub const PREVIOUS_KEY: &str = "previous.crt";

/// Why material could not be made, read or renewed.
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
    /// A certificate the user brings expires within the renewal window (or has expired).
    #[error(
        "the {what} in {} (spec.certificates.{field}), {subject}, is valid until {expiry}, inside the {window_days}-day renewal window (spec.certificates.renewBefore); obsboot does not renew certificates you bring: {todo}, then run bootstrap again",
        path.display()
    )]
    ProvidedExpiring {
        /// `trust anchor` or `issuer certificate`.
        what: &'static str,
        /// The `spec.certificates` field.
        field: &'static str,
        /// The file.
        path: PathBuf,
        /// The certificate's subject.
        subject: String,
        /// Its end of validity, with the days left.
        expiry: String,
        /// The renewal window, in days.
        window_days: i64,
        /// What to do.
        todo: &'static str,
    },
    /// A certificate stored in a Secret does not parse.
    #[error(
        "{object} holds a {key} that is not a usable certificate ({reason}); delete the Secret to have bootstrap generate it again"
    )]
    Unreadable {
        /// `Secret namespace/name`.
        object: String,
        /// The key.
        key: &'static str,
        /// Why.
        reason: String,
    },
    /// The issuer must be renewed, and the trust anchor's key is not there to sign it.
    #[error(
        "the identity issuer in {issuer} is valid until {expiry} and must be renewed, but the trust anchor's private key is not stored: {anchor} does not exist (the installation predates it, or it was deleted). Bootstrap will not make a new trust anchor, which would break mTLS between the pods already meshed; rotate the trust anchor by hand as deploy.md describes (\"Rotating the trust anchor\"), storing the new one in {anchor}"
    )]
    AnchorKeyMissing {
        /// `Secret namespace/name` of the issuer.
        issuer: String,
        /// `Secret namespace/name` of the anchor.
        anchor: String,
        /// The issuer's end of validity, with the days left.
        expiry: String,
    },
    /// The stored trust anchor cannot sign an issuer that proxies would trust.
    #[error(
        "{anchor} cannot sign Linkerd's identity issuer: {reason}; see \"Rotating the trust anchor\" in deploy.md"
    )]
    AnchorUnusable {
        /// `Secret namespace/name` of the anchor.
        anchor: String,
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

/// The keys a Secret of `spec` may also hold.
pub fn optional_keys(spec: &SecretSpec) -> &'static [&'static str] {
    match spec.kind {
        SecretKind::WebhookTls { .. } => &[PREVIOUS_KEY],
        _ => &[],
    }
}

/// The Linkerd stack among `stacks`, and its settings.
pub fn linkerd<'a>(stacks: &[&'a Stack]) -> Option<(&'a Stack, &'a crate::stack::LinkerdSpec)> {
    stacks.iter().find_map(|stack| match &stack.spec {
        Spec::Linkerd(linkerd) => Some((*stack, linkerd)),
        _ => None,
    })
}

/// Makes the contents of the Secret `spec` (of one of `stacks`) from nothing: fresh material,
/// or for the Linkerd issuer the certificate files the stack names, or an issuer signed by
/// `anchor` (the stored or just generated trust anchor, when bootstrap generates them).
pub fn generate(
    spec: &SecretSpec,
    stacks: &[&Stack],
    anchor: Option<&SecretData>,
) -> Result<SecretData, SecretsError> {
    match &spec.kind {
        SecretKind::GrafanaAdmin => {
            let password = Alphanumeric.sample_string(&mut rand::rng(), PASSWORD_LENGTH);
            Ok(SecretData::new([("admin-password".to_owned(), password)]))
        }
        SecretKind::WebhookTls { service } => webhook(&spec.namespace, service),
        SecretKind::LinkerdTrustAnchor => {
            let (_, linkerd) = linkerd(stacks).ok_or_else(no_linkerd)?;
            let pair = certificates::trust_anchor(&spec.namespace, linkerd.trust_domain.as_str())
                .map_err(failed("the Linkerd trust anchor"))?;
            Ok(SecretData::new([
                ("tls.crt".to_owned(), pair.certificate),
                ("tls.key".to_owned(), pair.key),
            ]))
        }
        SecretKind::LinkerdIssuer => {
            let (stack, linkerd) = linkerd(stacks).ok_or_else(no_linkerd)?;
            if !linkerd.certificates.generated() {
                let (trust_anchor, certificate, key) = provided(stack, &linkerd.certificates)?;
                return Ok(issuer_data(trust_anchor, certificate, key));
            }
            let anchor = match anchor {
                Some(anchor) => pair(anchor),
                None => certificates::trust_anchor(&spec.namespace, linkerd.trust_domain.as_str())
                    .map_err(failed("the Linkerd trust anchor"))?,
            };
            let issuer =
                certificates::issuer(&spec.namespace, linkerd.trust_domain.as_str(), &anchor)
                    .map_err(failed("the Linkerd identity issuer"))?;
            Ok(issuer_data(
                anchor.certificate,
                issuer.certificate,
                issuer.key,
            ))
        }
    }
}

/// A fresh serving certificate for the webhook `service` in `namespace`.
pub(crate) fn webhook(namespace: &str, service: &str) -> Result<SecretData, SecretsError> {
    let dns = format!("{service}.{namespace}.svc");
    let pair = certificates::webhook(&dns)
        .map_err(failed(&format!("the serving certificate for {dns}")))?;
    Ok(SecretData::new([
        ("tls.crt".to_owned(), pair.certificate),
        ("tls.key".to_owned(), pair.key),
    ]))
}

/// The issuer Secret's contents.
pub(crate) fn issuer_data(trust_roots: String, certificate: String, key: String) -> SecretData {
    SecretData::new([
        (TRUST_ANCHOR_KEY.to_owned(), trust_roots),
        ("crt.pem".to_owned(), certificate),
        ("key.pem".to_owned(), key),
    ])
}

/// The certificate and key of a `tls.crt`/`tls.key` Secret.
pub(crate) fn pair(data: &SecretData) -> certificates::Pair {
    certificates::Pair {
        certificate: data.get("tls.crt").unwrap_or_default().to_owned(),
        key: data.get("tls.key").unwrap_or_default().to_owned(),
    }
}

fn failed(what: &str) -> impl FnOnce(rcgen::Error) -> SecretsError {
    let what = what.to_owned();
    move |source| SecretsError::Generate { what, source }
}

fn no_linkerd() -> SecretsError {
    SecretsError::Provided {
        file: "the selected stacks".into(),
        reason: "Linkerd's certificates need the Linkerd stack, which is not selected".into(),
    }
}

/// Reads the certificate files the Linkerd stack names and checks that they work together:
/// the trust roots, the issuer certificate and its key.
pub(crate) fn provided(
    stack: &Stack,
    certificates: &crate::stack::Certificates,
) -> Result<(String, String, String), SecretsError> {
    let [(_, anchor), (_, issuer), (_, key)] = read_provided(stack, certificates)?;
    certificates::check_provided(&anchor, &issuer, &key).map_err(|reason| {
        SecretsError::Provided {
            file: stack.file.path.display().to_string(),
            reason,
        }
    })?;
    Ok((anchor, issuer, key))
}

/// The three named files, each with its path.
fn read_provided(
    stack: &Stack,
    certificates: &crate::stack::Certificates,
) -> Result<[(PathBuf, String); 3], SecretsError> {
    let dir = stack
        .file
        .path
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default();
    let read = |field: &'static str, name: &Option<String>| {
        let path = dir.join(name.as_deref().unwrap_or_default());
        match fs::read_to_string(&path) {
            Ok(text) => Ok((path, text)),
            Err(source) => Err(SecretsError::ReadFile {
                field,
                path,
                source,
            }),
        }
    };
    Ok([
        read("trustAnchor", &certificates.trust_anchor)?,
        read("issuerCertificate", &certificates.issuer_certificate)?,
        read("issuerKey", &certificates.issuer_key)?,
    ])
}

/// Refuses certificate files the user brings that expire within the renewal window, naming
/// the file and what to do; before bootstrap changes anything.
pub fn check_provided_expiry(
    stacks: &[&Stack],
    now: time::OffsetDateTime,
) -> Result<(), SecretsError> {
    let Some((stack, linkerd)) = linkerd(stacks) else {
        return Ok(());
    };
    let certificates = &linkerd.certificates;
    if certificates.generated() {
        return Ok(());
    }
    let window = renewal::window(certificates);
    let [(anchor_path, anchor), (issuer_path, issuer), _] = read_provided(stack, certificates)?;
    let checks = [
        (
            "trust anchor",
            "trustAnchor",
            anchor_path,
            anchor,
            "rotate the trust anchor as deploy.md describes (\"Rotating the trust anchor\")",
        ),
        (
            "issuer certificate",
            "issuerCertificate",
            issuer_path,
            issuer,
            "issue a new issuer certificate and key from your trust anchor and replace both files",
        ),
    ];
    for (what, field, path, pem, todo) in checks {
        // A file that does not parse is reported by the full check, with the others.
        let Ok(validity) = certificates::Validity::of(&pem) else {
            continue;
        };
        if validity.expires_within(window, now) {
            return Err(SecretsError::ProvidedExpiring {
                what,
                field,
                path,
                subject: validity.subject.clone(),
                expiry: validity.expiry(now),
                window_days: window.whole_days(),
                todo,
            });
        }
    }
    Ok(())
}

/// What the templates' slots hold, given the contents of every planned Secret at `now`.
pub fn slot_values<'a>(
    secrets: impl IntoIterator<Item = (&'a SecretSpec, &'a SecretData)>,
    now: time::OffsetDateTime,
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
                if let Some(bundle) = renewal::ca_bundle(data, now) {
                    values.insert(
                        Slot::WebhookCaBundle {
                            service: service.clone(),
                        },
                        bundle,
                    );
                }
            }
            SecretKind::GrafanaAdmin | SecretKind::LinkerdTrustAnchor => {}
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
                let data = generate(&spec, &stacks, None).unwrap();
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
        let slots = slot_values(
            generated.iter().map(|(spec, data)| (spec, data)),
            time::OffsetDateTime::now_utc(),
        );
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
        let one = generate(grafana, &stacks, None).unwrap();
        let two = generate(grafana, &stacks, None).unwrap();
        assert_ne!(one.get("admin-password"), two.get("admin-password"));
    }
}
