//! When a certificate bootstrap generated is renewed, and what replaces it.
//!
//! The identity issuer is signed again by the same trust anchor (its key is kept in the
//! `linkerd-trust-anchor` Secret), so every proxy keeps trusting it; identity watches its
//! mounted issuer files and takes the new one up without a restart.
//!
//! A webhook's serving certificate is self-signed and is its own caBundle, so the API
//! server's trust and the certificate served must change together. They cannot change at
//! once: the kubelet refreshes a mounted Secret only on its next sync (a minute or more
//! later), and until then the webhook serves the old certificate. With `failurePolicy:
//! Ignore` a caBundle that does not match what is served means pods created meanwhile start
//! unmeshed, silently. So a renewal puts the new certificate in the caBundle *next to* the
//! old one (kept in the Secret as `previous.crt`), applies that bundle before the Secret
//! changes, and only then writes the Secret. Both the Go webhooks (FsCredsWatcher) and the
//! policy controller (kubert reads its certificate files for each connection) serve the new
//! certificate once the kubelet has refreshed the files, without a restart. The old
//! certificate leaves the bundle on the first bootstrap a day after the renewal, or once it
//! has expired: `linkerd check` fails on an expired certificate in a caBundle.

use time::{Duration, OffsetDateTime};

use super::certificates::{self, CLOCK_SKEW, Validity};
use super::{PREVIOUS_KEY, SecretData, SecretsError, TRUST_ANCHOR_KEY};
use crate::stack::{Certificates, SecretKind, SecretSpec};

/// How long the replaced webhook certificate stays in the caBundle after a renewal: far
/// longer than the kubelet takes to refresh a mounted Secret.
pub const PREVIOUS_GRACE: Duration = Duration::days(1);

/// The renewal window of the Linkerd stack's `spec.certificates`.
pub fn window(certificates: &Certificates) -> Duration {
    let seconds = i64::try_from(certificates.renew_before_seconds()).unwrap_or(i64::MAX);
    Duration::seconds(seconds)
}

/// What a renewal replaced, for the progress lines and the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Renewal {
    /// Which certificate: `identity issuer`, `webhook certificate for <dns name>`.
    pub certificate: String,
    /// Why it was replaced.
    pub reason: String,
    /// When the replaced certificate ends.
    pub previous_expiry: OffsetDateTime,
    /// When the new one ends.
    pub expiry: OffsetDateTime,
}

/// The caBundle of a webhook whose Secret holds `data`: its certificate, and the one a
/// renewal replaced while that may still be served (see the module's comment).
pub fn ca_bundle(data: &SecretData, now: OffsetDateTime) -> Option<String> {
    let current = data.get("tls.crt")?;
    let mut bundle = current.to_owned();
    if let Some(previous) = data
        .get(PREVIOUS_KEY)
        .filter(|p| keeps_previous(current, p, now))
    {
        if !bundle.ends_with('\n') {
            bundle.push('\n');
        }
        bundle.push_str(previous);
    }
    Some(bundle)
}

/// Whether the replaced certificate `previous` still belongs in the caBundle next to
/// `current`: it has not expired, and `current` was issued less than [`PREVIOUS_GRACE`] ago.
pub fn keeps_previous(current: &str, previous: &str, now: OffsetDateTime) -> bool {
    let (Ok(current), Ok(previous)) = (Validity::of(current), Validity::of(previous)) else {
        return false;
    };
    let issued = current.not_before + CLOCK_SKEW;
    !previous.expired(now) && now < issued + PREVIOUS_GRACE
}

/// The certificate under `key` of the live Secret `spec`.
pub fn validity(
    spec: &SecretSpec,
    data: &SecretData,
    key: &'static str,
) -> Result<Validity, SecretsError> {
    let unreadable = |reason: String| SecretsError::Unreadable {
        object: format!("Secret {}/{}", spec.namespace, spec.name),
        key,
        reason,
    };
    let pem = data.get(key).ok_or_else(|| unreadable("missing".into()))?;
    Validity::of(pem).map_err(unreadable)
}

/// Why a certificate valid until `validity` is due, if it is.
fn due(validity: &Validity, window: Duration, now: OffsetDateTime) -> Option<String> {
    validity.expires_within(window, now).then(|| {
        format!(
            "valid until {}, inside the {}-day renewal window",
            validity.expiry(now),
            window.whole_days()
        )
    })
}

/// A webhook's Secret with a new certificate, when the live one (`live`) is due; the
/// replaced certificate is kept as `previous.crt` for the caBundle while it is valid.
pub fn renew_webhook(
    spec: &SecretSpec,
    live: &SecretData,
    window: Duration,
    now: OffsetDateTime,
) -> Result<Option<(SecretData, Renewal)>, SecretsError> {
    let SecretKind::WebhookTls { service } = &spec.kind else {
        return Ok(None);
    };
    let old = validity(spec, live, "tls.crt")?;
    let Some(reason) = due(&old, window, now) else {
        return Ok(None);
    };
    let fresh = super::webhook(&spec.namespace, service)?;
    let mut values: Vec<(String, String)> = fresh
        .expose()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    if !old.expired(now) {
        let previous = live.get("tls.crt").unwrap_or_default().to_owned();
        values.push((PREVIOUS_KEY.to_owned(), previous));
    }
    let data = SecretData::new(values);
    let new = validity(spec, &data, "tls.crt")?;
    Ok(Some((
        data,
        Renewal {
            certificate: format!("webhook certificate for {service}.{}.svc", spec.namespace),
            reason,
            previous_expiry: old.not_after,
            expiry: new.not_after,
        },
    )))
}

/// The issuer's Secret with an issuer signed again by the stored trust anchor `anchor`
/// (`tls.crt`, `tls.key`), when the live issuer (`live`) is due: inside the window, or signed
/// by another anchor (the stored one was replaced by hand, see deploy.md). The trust roots
/// (`ca.crt`) stay as they are, and must include the stored anchor. Without a stored anchor,
/// an issuer that is due is an error that says what to do.
pub fn renew_issuer(
    spec: &SecretSpec,
    live: &SecretData,
    anchor: Option<&SecretData>,
    anchor_secret: &str,
    trust_domain: &str,
    window: Duration,
    now: OffsetDateTime,
) -> Result<Option<(SecretData, Renewal)>, SecretsError> {
    let old = validity(spec, live, "crt.pem")?;
    let current = live.get("crt.pem").unwrap_or_default();
    let object = format!("Secret {}/{}", spec.namespace, spec.name);
    let Some(anchor) = anchor else {
        return match due(&old, window, now) {
            Some(_) => Err(SecretsError::AnchorKeyMissing {
                issuer: object,
                anchor: anchor_secret.to_owned(),
                expiry: old.expiry(now),
            }),
            None => Ok(None),
        };
    };
    let anchor = super::pair(anchor);
    let resigned = !certificates::signed_by(current, &anchor.certificate);
    let reason = if resigned {
        "signed by another trust anchor than the one stored".to_owned()
    } else {
        match due(&old, window, now) {
            Some(reason) => reason,
            None => return Ok(None),
        }
    };
    let unusable = |reason: String| SecretsError::AnchorUnusable {
        anchor: anchor_secret.to_owned(),
        reason,
    };
    if !certificates::key_matches(&anchor.certificate, &anchor.key) {
        return Err(unusable("its tls.key is not the key of its tls.crt".into()));
    }
    let roots = live.get(TRUST_ANCHOR_KEY).unwrap_or_default();
    let trusted = certificates::split_bundle(roots)
        .iter()
        .any(|root| same_certificate(root, &anchor.certificate));
    if !trusted {
        return Err(unusable(format!(
            "its certificate is not among the trust roots ({TRUST_ANCHOR_KEY} of {object}), so proxies would not trust an issuer it signs"
        )));
    }
    let anchor_validity = Validity::of(&anchor.certificate).map_err(unusable)?;
    if anchor_validity.expired(now) {
        return Err(unusable(format!(
            "it expired on {}",
            anchor_validity.not_after.date()
        )));
    }
    let issuer =
        certificates::issuer(&spec.namespace, trust_domain, &anchor).map_err(|source| {
            SecretsError::Generate {
                what: "the Linkerd identity issuer".into(),
                source,
            }
        })?;
    let data = super::issuer_data(roots.to_owned(), issuer.certificate, issuer.key);
    let new = validity(spec, &data, "crt.pem")?;
    Ok(Some((
        data,
        Renewal {
            certificate: "identity issuer".into(),
            reason,
            previous_expiry: old.not_after,
            expiry: new.not_after,
        },
    )))
}

/// Whether two PEM texts hold the same certificate, whatever their line endings.
fn same_certificate(a: &str, b: &str) -> bool {
    let body = |pem: &str| pem.split_whitespace().collect::<String>();
    body(a) == body(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::StackKind;
    use rcgen::{CertificateParams, KeyPair, PKCS_ECDSA_P256_SHA256};

    fn webhook_spec() -> SecretSpec {
        crate::stack::StackSource::Embedded
            .load()
            .unwrap()
            .stacks
            .iter()
            .flat_map(|s| s.spec.secrets(s.namespace.as_str()))
            .find(|s| matches!(s.kind, SecretKind::WebhookTls { .. }))
            .unwrap()
    }

    /// A self-signed certificate valid from `from` for `days`.
    fn certificate(from: OffsetDateTime, days: i64) -> (String, String) {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let mut params = CertificateParams::new(vec!["x.linkerd.svc".to_owned()]).unwrap();
        params.not_before = from;
        params.not_after = from + Duration::days(days);
        (params.self_signed(&key).unwrap().pem(), key.serialize_pem())
    }

    fn tls(certificate: &str, key: &str) -> SecretData {
        SecretData::new([
            ("tls.crt".to_owned(), certificate.to_owned()),
            ("tls.key".to_owned(), key.to_owned()),
        ])
    }

    #[test]
    fn a_webhook_certificate_is_renewed_only_inside_the_window_and_keeps_the_old_one_in_the_bundle()
    {
        let now = OffsetDateTime::now_utc();
        let spec = webhook_spec();
        let window = Duration::days(60);
        let (far, far_key) = certificate(now - Duration::days(1), 100);
        assert!(
            renew_webhook(&spec, &tls(&far, &far_key), window, now)
                .unwrap()
                .is_none()
        );
        let (near, near_key) = certificate(now - Duration::days(300), 310);
        let (renewed, renewal) = renew_webhook(&spec, &tls(&near, &near_key), window, now)
            .unwrap()
            .unwrap();
        assert_eq!(renewed.get(PREVIOUS_KEY), Some(near.as_str()));
        assert_ne!(renewed.get("tls.crt"), Some(near.as_str()));
        assert!(
            renewal.reason.starts_with("valid until "),
            "{}",
            renewal.reason
        );
        assert!(
            renewal
                .reason
                .ends_with("(in 9 days), inside the 60-day renewal window")
        );
        assert_eq!((renewal.expiry - now).whole_days(), 364);
        let bundle = ca_bundle(&renewed, now).unwrap();
        assert_eq!(certificates::split_bundle(&bundle).len(), 2);
        assert!(bundle.contains(&near));
        // A day later, or once the old one has expired, only the new one remains.
        let later = now + PREVIOUS_GRACE + Duration::minutes(1);
        assert_eq!(
            ca_bundle(&renewed, later).as_deref(),
            renewed.get("tls.crt")
        );
    }

    #[test]
    fn an_expired_webhook_certificate_is_not_kept() {
        let now = OffsetDateTime::now_utc();
        let (old, key) = certificate(now - Duration::days(20), 10);
        let (renewed, renewal) =
            renew_webhook(&webhook_spec(), &tls(&old, &key), Duration::days(60), now)
                .unwrap()
                .unwrap();
        assert_eq!(renewed.get(PREVIOUS_KEY), None);
        assert!(
            renewal.reason.contains("(expired 10 days ago)"),
            "{}",
            renewal.reason
        );
    }

    fn issuer_spec() -> SecretSpec {
        SecretSpec {
            stack: StackKind::Linkerd,
            namespace: "linkerd".into(),
            name: "linkerd-identity-issuer".into(),
            kind: SecretKind::LinkerdIssuer,
        }
    }

    #[test]
    fn the_issuer_is_signed_again_by_the_same_anchor_and_the_roots_stay() {
        let now = OffsetDateTime::now_utc();
        let identity = certificates::identity("linkerd", "cluster.local").unwrap();
        let anchor = tls(
            &identity.trust_anchor.certificate,
            &identity.trust_anchor.key,
        );
        let live = super::super::issuer_data(
            identity.trust_anchor.certificate.clone(),
            identity.issuer.certificate.clone(),
            identity.issuer.key.clone(),
        );
        let renew = |window, live: &SecretData, anchor| {
            renew_issuer(
                &issuer_spec(),
                live,
                anchor,
                "Secret linkerd/linkerd-trust-anchor",
                "cluster.local",
                window,
                now,
            )
        };
        assert!(
            renew(Duration::days(60), &live, Some(&anchor))
                .unwrap()
                .is_none()
        );
        let (renewed, renewal) = renew(Duration::days(365), &live, Some(&anchor))
            .unwrap()
            .unwrap();
        assert_eq!(renewal.certificate, "identity issuer");
        assert_eq!(renewed.get(TRUST_ANCHOR_KEY), live.get(TRUST_ANCHOR_KEY));
        assert_ne!(renewed.get("crt.pem"), live.get("crt.pem"));
        certificates::check_provided(
            renewed.get(TRUST_ANCHOR_KEY).unwrap(),
            renewed.get("crt.pem").unwrap(),
            renewed.get("key.pem").unwrap(),
        )
        .unwrap();
        // Without the anchor's key: an error that names the Secret and deploy.md.
        let err = renew(Duration::days(365), &live, None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("Secret linkerd/linkerd-trust-anchor does not exist"),
            "{err}"
        );
        assert!(err.contains("deploy.md"), "{err}");
        assert!(renew(Duration::days(60), &live, None).unwrap().is_none());
        // An anchor the proxies do not trust signs nothing.
        let other = certificates::identity("linkerd", "cluster.local").unwrap();
        let stranger = tls(&other.trust_anchor.certificate, &other.trust_anchor.key);
        let err = renew(Duration::days(60), &live, Some(&stranger))
            .unwrap_err()
            .to_string();
        assert!(err.contains("is not among the trust roots"), "{err}");
        // Stored next to the old anchor in the roots (a rotation by hand), it re-signs.
        let both = super::super::issuer_data(
            format!(
                "{}{}",
                identity.trust_anchor.certificate, other.trust_anchor.certificate
            ),
            identity.issuer.certificate.clone(),
            identity.issuer.key.clone(),
        );
        let (renewed, renewal) = renew(Duration::days(60), &both, Some(&stranger))
            .unwrap()
            .unwrap();
        assert_eq!(
            renewal.reason,
            "signed by another trust anchor than the one stored"
        );
        assert!(certificates::signed_by(
            renewed.get("crt.pem").unwrap(),
            &other.trust_anchor.certificate
        ));
    }
}
