//! Linkerd's identity certificates (a trust anchor and the issuer it signs) and the webhooks'
//! serving certificates: ECDSA P-256 with SHA-256, as Linkerd requires, made with rcgen.

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
};
use time::{Duration, OffsetDateTime};
use x509_parser::pem::parse_x509_pem;
use x509_parser::prelude::FromDer;

/// The trust anchor's lifetime: ten years, like Linkerd's own test anchors.
const TRUST_ANCHOR_DAYS: i64 = 3650;
/// The issuer's lifetime: one year, as Linkerd's docs recommend (rotate before it ends).
const ISSUER_DAYS: i64 = 365;
/// A webhook serving certificate's lifetime: one year, as Linkerd's chart generates.
const WEBHOOK_DAYS: i64 = 365;
/// How far back validity starts, so that nodes whose clocks lag still accept it.
const CLOCK_SKEW: Duration = Duration::minutes(5);

/// A certificate with its private key, both PEM.
pub struct Pair {
    /// The certificate.
    pub certificate: String,
    /// The PKCS#8 private key.
    pub key: String,
}

/// The identity issuer and the anchor that signed it. The anchor's key is not kept: the
/// cluster never needs it, and without it nothing can mint a second issuer.
pub struct Identity {
    /// The trust anchor certificate.
    pub trust_anchor: String,
    /// The issuer certificate and key.
    pub issuer: Pair,
}

/// Generates a trust anchor and an issuer for identities in `trust_domain`, whose identity
/// service runs in `namespace` (the issuer's name is `identity.<namespace>.<trust_domain>`).
pub fn identity(namespace: &str, trust_domain: &str) -> Result<Identity, rcgen::Error> {
    let now = OffsetDateTime::now_utc();
    let anchor_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let anchor_params = ca(
        &format!("root.{namespace}.{trust_domain}"),
        1,
        now,
        TRUST_ANCHOR_DAYS,
    )?;
    let anchor = anchor_params.self_signed(&anchor_key)?;
    let issuer_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let issuer_name = format!("identity.{namespace}.{trust_domain}");
    let mut issuer_params = ca(&issuer_name, 0, now, ISSUER_DAYS)?;
    issuer_params.subject_alt_names = CertificateParams::new(vec![issuer_name])?.subject_alt_names;
    let signer = Issuer::new(anchor_params, anchor_key);
    let issuer = issuer_params.signed_by(&issuer_key, &signer)?;
    Ok(Identity {
        trust_anchor: anchor.pem(),
        issuer: Pair {
            certificate: issuer.pem(),
            key: issuer_key.serialize_pem(),
        },
    })
}

/// A self-signed serving certificate for `dns_name`; it is also its own CA bundle.
pub fn webhook(dns_name: &str) -> Result<Pair, rcgen::Error> {
    let now = OffsetDateTime::now_utc();
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let mut params = CertificateParams::new(vec![dns_name.to_owned()])?;
    params.distinguished_name.push(DnType::CommonName, dns_name);
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
        KeyUsagePurpose::KeyCertSign,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.not_before = now - CLOCK_SKEW;
    params.not_after = now + Duration::days(WEBHOOK_DAYS);
    let certificate = params.self_signed(&key)?;
    Ok(Pair {
        certificate: certificate.pem(),
        key: key.serialize_pem(),
    })
}

fn ca(
    name: &str,
    path_length: u8,
    now: OffsetDateTime,
    days: i64,
) -> Result<CertificateParams, rcgen::Error> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(path_length));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.not_before = now - CLOCK_SKEW;
    params.not_after = now + Duration::days(days);
    Ok(params)
}

/// Checks certificates a user brings: both parse, the issuer is a CA signed by the anchor,
/// both are valid now, and the key is the issuer's ECDSA P-256 key. Says what is wrong.
pub fn check_provided(trust_anchor: &str, issuer: &str, issuer_key: &str) -> Result<(), String> {
    let (_, anchor_pem) = parse_x509_pem(trust_anchor.as_bytes())
        .map_err(|e| format!("trust anchor: not a PEM certificate ({e})"))?;
    let (_, anchor) = x509_parser::certificate::X509Certificate::from_der(&anchor_pem.contents)
        .map_err(|e| format!("trust anchor: not an X.509 certificate ({e})"))?;
    let (_, issuer_pem) = parse_x509_pem(issuer.as_bytes())
        .map_err(|e| format!("issuer certificate: not a PEM certificate ({e})"))?;
    let (_, issuer) = x509_parser::certificate::X509Certificate::from_der(&issuer_pem.contents)
        .map_err(|e| format!("issuer certificate: not an X.509 certificate ({e})"))?;
    if !issuer.is_ca() {
        return Err(
            "issuer certificate: not a CA; Linkerd's issuer must be an intermediate CA".into(),
        );
    }
    issuer
        .verify_signature(Some(anchor.public_key()))
        .map_err(|_| "issuer certificate: not signed by the trust anchor".to_owned())?;
    for (what, cert) in [("trust anchor", &anchor), ("issuer certificate", &issuer)] {
        if !cert.validity().is_valid() {
            return Err(format!(
                "{what}: not valid now (valid from {} to {})",
                cert.validity().not_before,
                cert.validity().not_after
            ));
        }
    }
    let key = KeyPair::from_pem(issuer_key)
        .map_err(|e| format!("issuer key: not a PEM private key ({e})"))?;
    if key.algorithm() != &PKCS_ECDSA_P256_SHA256 {
        return Err("issuer key: Linkerd's issuer must use an ECDSA P-256 key".into());
    }
    if issuer.public_key().subject_public_key.data.as_ref() != key.public_key_raw() {
        return Err("issuer key: does not belong to the issuer certificate".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(pem: &str) -> (Vec<u8>, String, bool, i64) {
        let (_, pem) = parse_x509_pem(pem.as_bytes()).unwrap();
        let (_, cert) = x509_parser::certificate::X509Certificate::from_der(&pem.contents).unwrap();
        let days = (cert.validity().not_after.timestamp() - cert.validity().not_before.timestamp())
            / 86_400;
        (
            pem.contents.clone(),
            cert.subject().to_string(),
            cert.is_ca(),
            days,
        )
    }

    #[test]
    fn the_issuer_is_a_ca_chained_to_the_anchor_with_linkerds_name() {
        let identity = identity("linkerd", "cluster.local").unwrap();
        let (_, anchor_subject, anchor_ca, anchor_days) = parsed(&identity.trust_anchor);
        let (_, issuer_subject, issuer_ca, issuer_days) = parsed(&identity.issuer.certificate);
        assert_eq!(anchor_subject, "CN=root.linkerd.cluster.local");
        assert_eq!(issuer_subject, "CN=identity.linkerd.cluster.local");
        assert!(anchor_ca && issuer_ca);
        assert_eq!((anchor_days, issuer_days), (3650, 365));
        check_provided(
            &identity.trust_anchor,
            &identity.issuer.certificate,
            &identity.issuer.key,
        )
        .unwrap();
        assert!(identity.issuer.key.contains("BEGIN PRIVATE KEY"));
    }

    #[test]
    fn provided_certificates_that_do_not_chain_are_refused() {
        let one = identity("linkerd", "cluster.local").unwrap();
        let other = identity("linkerd", "cluster.local").unwrap();
        assert_eq!(
            check_provided(
                &other.trust_anchor,
                &one.issuer.certificate,
                &one.issuer.key
            ),
            Err("issuer certificate: not signed by the trust anchor".into())
        );
        assert_eq!(
            check_provided(
                &one.trust_anchor,
                &one.issuer.certificate,
                &other.issuer.key
            ),
            Err("issuer key: does not belong to the issuer certificate".into())
        );
        let leaf = webhook("x.linkerd.svc").unwrap();
        assert!(
            check_provided(&leaf.certificate, &leaf.certificate, &leaf.key).is_ok(),
            "a self-signed CA is its own anchor"
        );
        assert!(
            check_provided("nope", &one.issuer.certificate, &one.issuer.key)
                .unwrap_err()
                .starts_with("trust anchor: not a PEM certificate")
        );
    }

    #[test]
    fn webhook_certificates_name_their_service() {
        let pair = webhook("linkerd-proxy-injector.linkerd.svc").unwrap();
        let (der, subject, _, days) = parsed(&pair.certificate);
        assert_eq!(subject, "CN=linkerd-proxy-injector.linkerd.svc");
        assert_eq!(days, 365);
        let (_, cert) = x509_parser::certificate::X509Certificate::from_der(&der).unwrap();
        let names: Vec<String> = cert
            .subject_alternative_name()
            .unwrap()
            .unwrap()
            .value
            .general_names
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(names, ["DNSName(linkerd-proxy-injector.linkerd.svc)"]);
    }
}
