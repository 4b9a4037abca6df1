//! Linkerd's identity certificates (a trust anchor and the issuer it signs) and the webhooks'
//! serving certificates: ECDSA P-256 with SHA-256, as Linkerd requires, made with rcgen.

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
};
use time::{Duration, OffsetDateTime};
use x509_parser::certificate::X509Certificate;
use x509_parser::pem::parse_x509_pem;
use x509_parser::prelude::FromDer;

/// The trust anchor's lifetime: ten years, like Linkerd's own test anchors.
const TRUST_ANCHOR_DAYS: i64 = 3650;
/// The issuer's lifetime: one year, as Linkerd's docs recommend (rotate before it ends).
const ISSUER_DAYS: i64 = 365;
/// A webhook serving certificate's lifetime: one year, as Linkerd's chart generates.
const WEBHOOK_DAYS: i64 = 365;
/// The shortest lifetime bootstrap gives a certificate it renews; a renewal window must be
/// shorter, or every run would renew.
pub const SHORTEST_LIFETIME_DAYS: u64 = 365;
/// How far back validity starts, so that nodes whose clocks lag still accept it.
pub const CLOCK_SKEW: Duration = Duration::minutes(5);

/// A certificate with its private key, both PEM.
pub struct Pair {
    /// The certificate.
    pub certificate: String,
    /// The PKCS#8 private key.
    pub key: String,
}

/// A trust anchor and the issuer it signed.
pub struct Identity {
    /// The trust anchor certificate and key.
    pub trust_anchor: Pair,
    /// The issuer certificate and key.
    pub issuer: Pair,
}

/// Generates a trust anchor and an issuer for identities in `trust_domain`, whose identity
/// service runs in `namespace`.
pub fn identity(namespace: &str, trust_domain: &str) -> Result<Identity, rcgen::Error> {
    let trust_anchor = trust_anchor(namespace, trust_domain)?;
    let issuer = issuer(namespace, trust_domain, &trust_anchor)?;
    Ok(Identity {
        trust_anchor,
        issuer,
    })
}

/// Generates a self-signed trust anchor, `root.<namespace>.<trust_domain>`.
pub fn trust_anchor(namespace: &str, trust_domain: &str) -> Result<Pair, rcgen::Error> {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let params = ca(
        &format!("root.{namespace}.{trust_domain}"),
        1,
        OffsetDateTime::now_utc(),
        TRUST_ANCHOR_DAYS,
    )?;
    let certificate = params.self_signed(&key)?;
    Ok(Pair {
        certificate: certificate.pem(),
        key: key.serialize_pem(),
    })
}

/// Generates an issuer, `identity.<namespace>.<trust_domain>`, signed by `anchor` (whose
/// subject and key identifier it names as its issuer's, so that any verifier chains it).
pub fn issuer(namespace: &str, trust_domain: &str, anchor: &Pair) -> Result<Pair, rcgen::Error> {
    let anchor_key = KeyPair::from_pem(&anchor.key)?;
    let signer = Issuer::from_ca_cert_pem(&anchor.certificate, anchor_key)?;
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let name = format!("identity.{namespace}.{trust_domain}");
    let mut params = ca(&name, 0, OffsetDateTime::now_utc(), ISSUER_DAYS)?;
    params.subject_alt_names = CertificateParams::new(vec![name])?.subject_alt_names;
    // RFC 5280 wants it in every certificate that is not self-signed; strict verifiers
    // (openssl -x509_strict) refuse one without.
    params.use_authority_key_identifier_extension = true;
    let certificate = params.signed_by(&key, &signer)?;
    Ok(Pair {
        certificate: certificate.pem(),
        key: key.serialize_pem(),
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
    // Its own key identifier as its issuer's: during a renewal the caBundle holds two
    // certificates of the same name, and verifiers pick the signer by this identifier.
    params.use_authority_key_identifier_extension = true;
    params.not_before = now - CLOCK_SKEW;
    params.not_after = now + Duration::days(WEBHOOK_DAYS);
    let certificate = params.self_signed(&key)?;
    Ok(Pair {
        certificate: certificate.pem(),
        key: key.serialize_pem(),
    })
}

/// What obsboot needs to know of a certificate: whose it is and when it is valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validity {
    /// The subject, such as `CN=identity.linkerd.cluster.local`.
    pub subject: String,
    /// The start of validity.
    pub not_before: OffsetDateTime,
    /// The end of validity.
    pub not_after: OffsetDateTime,
}

impl Validity {
    /// Reads the first certificate of `pem`.
    pub fn of(pem: &str) -> Result<Self, String> {
        let der = der(pem)?;
        let cert = x509(&der)?;
        let at = |time: x509_parser::time::ASN1Time| {
            OffsetDateTime::from_unix_timestamp(time.timestamp())
                .map_err(|e| format!("a validity date out of range ({e})"))
        };
        Ok(Self {
            subject: cert.subject().to_string(),
            not_before: at(cert.validity().not_before)?,
            not_after: at(cert.validity().not_after)?,
        })
    }

    /// Whether it has expired at `now`.
    pub fn expired(&self, now: OffsetDateTime) -> bool {
        self.not_after <= now
    }

    /// Whether it expires within `window` of `now` (or has expired).
    pub fn expires_within(&self, window: Duration, now: OffsetDateTime) -> bool {
        self.not_after - now <= window
    }

    /// Whole days from `now` until it expires (negative once expired).
    pub fn days_left(&self, now: OffsetDateTime) -> i64 {
        (self.not_after - now).whole_days()
    }

    /// `2027-05-01 (in 364 days)`, or `2026-05-01 (expired 3 days ago)`.
    pub fn expiry(&self, now: OffsetDateTime) -> String {
        let days = self.days_left(now);
        let when = match days {
            _ if self.expired(now) => match -days {
                0 => "expired today".to_owned(),
                1 => "expired 1 day ago".to_owned(),
                ago => format!("expired {ago} days ago"),
            },
            0 => "today".to_owned(),
            1 => "in 1 day".to_owned(),
            days => format!("in {days} days"),
        };
        format!("{} ({when})", self.not_after.date())
    }
}

/// The PEM blocks of each certificate in `bundle`, each with its trailing newline.
pub fn split_bundle(bundle: &str) -> Vec<String> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let mut blocks = Vec::new();
    let mut rest = bundle;
    while let Some(at) = rest.find(END) {
        let block = &rest[..at + END.len()];
        if let Some(begin) = block.find(BEGIN) {
            blocks.push(format!("{}\n", &block[begin..]));
        }
        rest = &rest[at + END.len()..];
    }
    blocks
}

/// Whether `certificate` was signed by the key of `ca` (the first certificate of each PEM).
pub fn signed_by(certificate: &str, ca: &str) -> bool {
    let (Ok(cert_der), Ok(ca_der)) = (der(certificate), der(ca)) else {
        return false;
    };
    match (x509(&cert_der), x509(&ca_der)) {
        (Ok(cert), Ok(ca)) => cert.verify_signature(Some(ca.public_key())).is_ok(),
        _ => false,
    }
}

/// Whether `key` (PEM) is the private key of `certificate` (PEM).
pub fn key_matches(certificate: &str, key: &str) -> bool {
    let Ok(cert_der) = der(certificate) else {
        return false;
    };
    let Ok(cert) = x509(&cert_der) else {
        return false;
    };
    KeyPair::from_pem(key)
        .is_ok_and(|key| cert.public_key().subject_public_key.data.as_ref() == key.public_key_raw())
}

/// The DER bytes of the first certificate of `pem`.
fn der(pem: &str) -> Result<Vec<u8>, String> {
    parse_x509_pem(pem.as_bytes())
        .map(|(_, block)| block.contents)
        .map_err(|e| format!("not a PEM certificate ({e})"))
}

/// The certificate `der` holds.
fn x509(der: &[u8]) -> Result<X509Certificate<'_>, String> {
    X509Certificate::from_der(der)
        .map(|(_, cert)| cert)
        .map_err(|e| format!("not an X.509 certificate ({e})"))
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

/// What is wrong with one of the certificate files a user brings: the stack file's field
/// that names it, what it should hold, and why it does not. Never quotes the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvidedProblem {
    /// The field under `spec.certificates` (`trustAnchor`, `issuerCertificate`, `issuerKey`).
    pub field: &'static str,
    /// What the file should hold.
    pub what: &'static str,
    /// Why it does not.
    pub reason: String,
}

impl std::fmt::Display for ProvidedProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.what, self.reason)
    }
}

/// Checks certificates a user brings: both parse, the issuer is a CA signed by the anchor,
/// both are valid now, and the key is the issuer's ECDSA P-256 key. Says what is wrong.
pub fn check_provided(trust_anchor: &str, issuer: &str, issuer_key: &str) -> Result<(), String> {
    check_provided_files(trust_anchor, issuer, issuer_key).map_err(|problem| problem.to_string())
}

/// [`check_provided`], saying which file is wrong.
pub fn check_provided_files(
    trust_anchor: &str,
    issuer: &str,
    issuer_key: &str,
) -> Result<(), ProvidedProblem> {
    let anchor_problem = |reason| ProvidedProblem {
        field: "trustAnchor",
        what: "trust anchor",
        reason,
    };
    let issuer_problem = |reason| ProvidedProblem {
        field: "issuerCertificate",
        what: "issuer certificate",
        reason,
    };
    let key_problem = |reason| ProvidedProblem {
        field: "issuerKey",
        what: "issuer key",
        reason,
    };
    let anchor_der = certificate_der(trust_anchor).map_err(anchor_problem)?;
    let anchor = x509(&anchor_der).map_err(anchor_problem)?;
    let issuer_der = certificate_der(issuer).map_err(issuer_problem)?;
    let issuer = x509(&issuer_der).map_err(issuer_problem)?;
    if !issuer.is_ca() {
        return Err(issuer_problem(
            "not a CA; Linkerd's issuer must be an intermediate CA".into(),
        ));
    }
    issuer
        .verify_signature(Some(anchor.public_key()))
        .map_err(|_| issuer_problem("not signed by the trust anchor".to_owned()))?;
    for (check, cert) in [
        (anchor_problem as fn(String) -> ProvidedProblem, &anchor),
        (issuer_problem, &issuer),
    ] {
        if !cert.validity().is_valid() {
            return Err(check(format!(
                "not valid now (valid from {} to {})",
                cert.validity().not_before,
                cert.validity().not_after
            )));
        }
    }
    let key = match pem_label(issuer_key) {
        Some(label) if label.contains("PRIVATE KEY") => {
            KeyPair::from_pem(issuer_key).map_err(|_| {
                key_problem("not a private key rcgen can read (PKCS#8 or SEC1 PEM)".into())
            })?
        }
        Some(label) => {
            return Err(key_problem(format!(
                "holds a PEM {} block, not a private key",
                clip(label)
            )));
        }
        None => return Err(key_problem("not PEM: no -----BEGIN line".into())),
    };
    if key.algorithm() != &PKCS_ECDSA_P256_SHA256 {
        return Err(key_problem(
            "Linkerd's issuer must use an ECDSA P-256 key".into(),
        ));
    }
    if issuer.public_key().subject_public_key.data.as_ref() != key.public_key_raw() {
        return Err(key_problem(
            "does not belong to the issuer certificate".into(),
        ));
    }
    Ok(())
}

/// The label of the first PEM block of `text` (`CERTIFICATE`, `EC PRIVATE KEY`).
fn pem_label(text: &str) -> Option<&str> {
    let start = text.find("-----BEGIN ")? + "-----BEGIN ".len();
    let rest = &text[start..];
    rest.find("-----").map(|end| &rest[..end])
}

/// A label cut to a length that names a kind of block and no more.
fn clip(label: &str) -> String {
    let label: String = label.chars().filter(|c| !c.is_control()).take(32).collect();
    format!("\"{label}\"")
}

/// The DER bytes of the first certificate of `pem`, refusing other PEM blocks by name.
fn certificate_der(pem: &str) -> Result<Vec<u8>, String> {
    match pem_label(pem) {
        Some("CERTIFICATE") => der(pem),
        Some(label) => Err(format!(
            "holds a PEM {} block, not a CERTIFICATE",
            clip(label)
        )),
        None => Err("not PEM: no -----BEGIN line".into()),
    }
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
        let (_, anchor_subject, anchor_ca, anchor_days) =
            parsed(&identity.trust_anchor.certificate);
        let (_, issuer_subject, issuer_ca, issuer_days) = parsed(&identity.issuer.certificate);
        assert_eq!(anchor_subject, "CN=root.linkerd.cluster.local");
        assert_eq!(issuer_subject, "CN=identity.linkerd.cluster.local");
        assert!(anchor_ca && issuer_ca);
        assert_eq!((anchor_days, issuer_days), (3650, 365));
        check_provided(
            &identity.trust_anchor.certificate,
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
                &other.trust_anchor.certificate,
                &one.issuer.certificate,
                &one.issuer.key
            ),
            Err("issuer certificate: not signed by the trust anchor".into())
        );
        assert_eq!(
            check_provided(
                &one.trust_anchor.certificate,
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
        assert_eq!(
            check_provided("nope", &one.issuer.certificate, &one.issuer.key),
            Err("trust anchor: not PEM: no -----BEGIN line".into())
        );
        assert_eq!(
            check_provided(&one.issuer.key, &one.issuer.certificate, &one.issuer.key),
            Err("trust anchor: holds a PEM \"PRIVATE KEY\" block, not a CERTIFICATE".into())
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
