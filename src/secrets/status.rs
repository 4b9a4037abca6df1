//! Every certificate the generated Secrets hold, with its end of validity and whether it is
//! inside the renewal window, for `status`.

use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use super::certificates::{CLOCK_SKEW, Validity, split_bundle};
use super::renewal::{self, PREVIOUS_GRACE};
use super::{PREVIOUS_KEY, SecretData, TRUST_ANCHOR_KEY};
use crate::stack::{Certificates, SecretKind, SecretSpec, TRUST_ANCHOR_SECRET};

/// Where a certificate stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Valid beyond the renewal window.
    Valid,
    /// Valid, but inside the renewal window.
    Due,
    /// No longer valid.
    Expired,
    /// Replaced by a renewal, and still in a webhook's caBundle for a while.
    Replaced,
}

/// One certificate.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateStatus {
    /// Which: `trust anchor`, `identity issuer`, `webhook certificate for <dns name>`.
    pub certificate: String,
    /// Where it is kept: `Secret namespace/name` (and the key, when not the usual one).
    pub secret: String,
    /// Its subject.
    pub subject: String,
    /// Its end of validity (RFC 3339).
    pub not_after: String,
    /// Whole days left (negative once expired).
    pub days_left: i64,
    /// Valid, due or expired.
    pub state: State,
    /// What happens to it, or what to do.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// The certificates in `secrets` (each planned Secret with its live contents, if any), whose
/// Linkerd stack sets `certificates`, at `now`.
pub fn certificates(
    secrets: &[(&SecretSpec, Option<&SecretData>)],
    certificates: &Certificates,
    now: OffsetDateTime,
) -> Vec<CertificateStatus> {
    let anchor = secrets.iter().find_map(|(spec, data)| {
        (spec.kind == SecretKind::LinkerdTrustAnchor)
            .then_some(*data)
            .flatten()
            .and_then(|data| data.get("tls.crt"))
    });
    let lister = Lister {
        window: renewal::window(certificates),
        generated: certificates.generated(),
        anchor,
        now,
    };
    let mut out = Vec::new();
    for (spec, data) in secrets {
        let Some(data) = data else { continue };
        match &spec.kind {
            SecretKind::LinkerdIssuer => lister.identity(spec, data, &mut out),
            SecretKind::WebhookTls { service } => lister.webhook(spec, service, data, &mut out),
            SecretKind::GrafanaAdmin | SecretKind::LinkerdTrustAnchor => {}
        }
    }
    out
}

/// What listing a certificate depends on.
struct Lister<'a> {
    window: Duration,
    generated: bool,
    /// The stored trust anchor certificate, if any.
    anchor: Option<&'a str>,
    now: OffsetDateTime,
}

impl Lister<'_> {
    fn entry(
        &self,
        certificate: String,
        secret: String,
        validity: &Validity,
        detail: &dyn Fn(State) -> String,
    ) -> CertificateStatus {
        let state = if certificate.ends_with("(previous)") {
            State::Replaced
        } else if validity.expired(self.now) {
            State::Expired
        } else if validity.expires_within(self.window, self.now) {
            State::Due
        } else {
            State::Valid
        };
        CertificateStatus {
            certificate,
            secret,
            subject: validity.subject.clone(),
            not_after: validity.not_after.format(&Rfc3339).unwrap_or_default(),
            days_left: validity.days_left(self.now),
            state,
            detail: detail(state),
        }
    }

    /// The trust anchors (the issuer Secret's trust roots) and the issuer.
    fn identity(&self, spec: &SecretSpec, data: &SecretData, out: &mut Vec<CertificateStatus>) {
        let object = format!("Secret {}/{}", spec.namespace, spec.name);
        for root in split_bundle(data.get(TRUST_ANCHOR_KEY).unwrap_or_default()) {
            let Ok(validity) = Validity::of(&root) else {
                continue;
            };
            let stored = self
                .anchor
                .is_some_and(|a| a.split_whitespace().eq(root.split_whitespace()));
            let (secret, detail): (String, &dyn Fn(State) -> String) = if stored {
                (
                    format!("Secret {}/{TRUST_ANCHOR_SECRET}", spec.namespace),
                    &anchor_detail,
                )
            } else if self.generated {
                (
                    format!("{object} ({TRUST_ANCHOR_KEY})"),
                    &unstored_anchor_detail,
                )
            } else {
                (
                    format!("{object} ({TRUST_ANCHOR_KEY}), from spec.certificates.trustAnchor"),
                    &anchor_detail,
                )
            };
            out.push(self.entry("trust anchor".into(), secret, &validity, detail));
        }
        let Ok(validity) = Validity::of(data.get("crt.pem").unwrap_or_default()) else {
            return;
        };
        let detail = |state| match state {
            State::Valid | State::Replaced => String::new(),
            _ if !self.generated => {
                "replace the files named in spec.certificates, then run bootstrap".into()
            }
            _ if self.anchor.is_none() => format!(
                "bootstrap cannot renew it: the trust anchor's key is not stored (Secret {}/{TRUST_ANCHOR_SECRET}); see deploy.md",
                spec.namespace
            ),
            _ => "the next bootstrap renews it".into(),
        };
        out.push(self.entry("identity issuer".into(), object, &validity, &detail));
    }

    /// A webhook's certificate, and the one a renewal replaced while the caBundle keeps it.
    fn webhook(
        &self,
        spec: &SecretSpec,
        service: &str,
        data: &SecretData,
        out: &mut Vec<CertificateStatus>,
    ) {
        let object = format!("Secret {}/{}", spec.namespace, spec.name);
        let name = format!("webhook certificate for {service}.{}.svc", spec.namespace);
        let current = data.get("tls.crt").unwrap_or_default();
        let Ok(validity) = Validity::of(current) else {
            return;
        };
        let renews = |state| match state {
            State::Valid | State::Replaced => String::new(),
            _ => "the next bootstrap renews it".into(),
        };
        out.push(self.entry(name.clone(), object.clone(), &validity, &renews));
        let previous = data
            .get(PREVIOUS_KEY)
            .filter(|previous| renewal::keeps_previous(current, previous, self.now))
            .and_then(|previous| Validity::of(previous).ok());
        if let Some(previous) = previous {
            let until = (validity.not_before + CLOCK_SKEW + PREVIOUS_GRACE).date();
            let kept = move |_| {
                format!(
                    "replaced, kept in the caBundle while pods may still serve it; the first bootstrap from {until} drops it"
                )
            };
            out.push(self.entry(
                format!("{name} (previous)"),
                format!("{object} ({PREVIOUS_KEY})"),
                &previous,
                &kept,
            ));
        }
    }
}

fn anchor_detail(state: State) -> String {
    match state {
        State::Valid => String::new(),
        _ => "obsboot does not rotate the trust anchor: rotate it by hand (deploy.md, \"Rotating the trust anchor\")".into(),
    }
}

fn unstored_anchor_detail(_: State) -> String {
    format!(
        "its key is not stored (no Secret {TRUST_ANCHOR_SECRET}): bootstrap cannot renew the issuer; see deploy.md, \"Rotating the trust anchor\""
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::certificates;
    use crate::stack::StackKind;

    fn spec(name: &str, kind: SecretKind) -> SecretSpec {
        SecretSpec {
            stack: StackKind::Linkerd,
            namespace: "linkerd".into(),
            name: name.into(),
            kind,
        }
    }

    #[test]
    fn lists_the_anchor_the_issuer_and_each_webhook_with_their_state() {
        let now = OffsetDateTime::now_utc();
        let identity = certificates::identity("linkerd", "cluster.local").unwrap();
        let anchor_spec = spec(TRUST_ANCHOR_SECRET, SecretKind::LinkerdTrustAnchor);
        let anchor = SecretData::new([
            (
                "tls.crt".to_owned(),
                identity.trust_anchor.certificate.clone(),
            ),
            ("tls.key".to_owned(), identity.trust_anchor.key.clone()),
        ]);
        let issuer_spec = spec("linkerd-identity-issuer", SecretKind::LinkerdIssuer);
        let issuer = super::super::issuer_data(
            identity.trust_anchor.certificate.clone(),
            identity.issuer.certificate.clone(),
            identity.issuer.key.clone(),
        );
        let webhook_spec = spec(
            "linkerd-proxy-injector-k8s-tls",
            SecretKind::WebhookTls {
                service: "linkerd-proxy-injector".into(),
            },
        );
        let webhook = super::super::webhook("linkerd", "linkerd-proxy-injector").unwrap();
        let secrets = [
            (&anchor_spec, Some(&anchor)),
            (&issuer_spec, Some(&issuer)),
            (&webhook_spec, Some(&webhook)),
        ];
        let listed = certificates(&secrets, &Certificates::default(), now);
        let summary: Vec<(String, String, i64, State)> = listed
            .iter()
            .map(|c| {
                (
                    c.certificate.clone(),
                    c.secret.clone(),
                    c.days_left,
                    c.state,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (
                    "trust anchor".to_owned(),
                    "Secret linkerd/linkerd-trust-anchor".to_owned(),
                    3649,
                    State::Valid
                ),
                (
                    "identity issuer".to_owned(),
                    "Secret linkerd/linkerd-identity-issuer".to_owned(),
                    364,
                    State::Valid
                ),
                (
                    "webhook certificate for linkerd-proxy-injector.linkerd.svc".to_owned(),
                    "Secret linkerd/linkerd-proxy-injector-k8s-tls".to_owned(),
                    364,
                    State::Valid
                ),
            ]
        );
        // A window longer than what is left puts the issuer inside it.
        let wide = Certificates {
            renew_before: Some(crate::stack::Duration::parse("365d").unwrap()),
            ..Certificates::default()
        };
        let listed = certificates(&secrets[1..2], &wide, now);
        assert_eq!(listed[1].state, State::Due);
        assert!(
            listed[1]
                .detail
                .contains("the trust anchor's key is not stored"),
            "{}",
            listed[1].detail
        );
        assert!(
            listed[0].detail.starts_with("its key is not stored"),
            "{}",
            listed[0].detail
        );
    }
}
