//! Certificates over time: bootstrap renews the ones it generated as they near their end (the
//! issuer signed again by the stored trust anchor, each webhook's caBundle trusting the new
//! certificate before it is served), refuses near-expiry certificates the user brings, says
//! what to do when the anchor's key was never stored, and `status` shows every expiry.

use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    PKCS_ECDSA_P256_SHA256,
};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use crate::apiserver::{Fault, FaultAction};
use crate::cluster::Sim;

const WEBHOOKS: [(&str, &str, &str); 3] = [
    (
        "linkerd-proxy-injector",
        "MutatingWebhookConfiguration",
        "linkerd-proxy-injector-webhook-config",
    ),
    (
        "linkerd-sp-validator",
        "ValidatingWebhookConfiguration",
        "linkerd-sp-validator-webhook-config",
    ),
    (
        "linkerd-policy-validator",
        "ValidatingWebhookConfiguration",
        "linkerd-policy-validator-webhook-config",
    ),
];

/// Ten days and a half from now: "in 10 days" for the whole test.
fn soon() -> OffsetDateTime {
    OffsetDateTime::now_utc() + Duration::days(10) + Duration::hours(12)
}

fn decode(text: &str) -> String {
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap(),
    )
    .unwrap()
}

fn secret(sim: &Sim, name: &str, key: &str) -> String {
    let secret = sim
        .server
        .get("v1", "Secret", Some("linkerd"), name)
        .expect("the Secret exists");
    decode(secret["data"][key].as_str().expect("the key exists"))
}

/// Overwrites keys of the Secret `name`, as `kubectl edit` would.
fn edit_secret(sim: &Sim, name: &str, values: &[(&str, &str)]) {
    let data: serde_json::Map<String, Value> = values
        .iter()
        .map(|(k, v)| {
            (
                (*k).to_owned(),
                base64::engine::general_purpose::STANDARD.encode(v).into(),
            )
        })
        .collect();
    sim.server.update_as(
        "kubectl",
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": "linkerd"}, "data": data}),
    );
}

/// An issuer signed by `anchor` (certificate, key), valid until `not_after`.
fn issuer(anchor: (&str, &str), not_after: OffsetDateTime) -> (String, String) {
    let signer = Issuer::from_ca_cert_pem(anchor.0, KeyPair::from_pem(anchor.1).unwrap()).unwrap();
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params =
        CertificateParams::new(vec!["identity.linkerd.cluster.local".to_owned()]).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "identity.linkerd.cluster.local");
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.not_before = OffsetDateTime::now_utc() - Duration::days(355);
    params.not_after = not_after;
    let certificate = params.signed_by(&key, &signer).unwrap();
    (certificate.pem(), key.serialize_pem())
}

/// A self-signed CA certificate and key for `name`, valid until `not_after`. It names its
/// own key as its issuer's, as obsboot's do: with two certificates of one name in a caBundle,
/// openssl finds the signer by that identifier only.
fn self_signed(name: &str, not_after: OffsetDateTime) -> (String, String) {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = CertificateParams::new(vec![name.to_owned()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(1));
    params.use_authority_key_identifier_extension = true;
    params.not_before = OffsetDateTime::now_utc() - Duration::days(355);
    params.not_after = not_after;
    (params.self_signed(&key).unwrap().pem(), key.serialize_pem())
}

/// Runs `openssl` in `dir`; asserts it succeeds.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A bootstrapped cluster whose issuer and webhook certificates now end in ten days, as a
/// year after the first bootstrap; returns the replaced certificates (issuer, then webhooks).
fn near_expiry() -> (Sim, Vec<String>) {
    let sim = Sim::new();
    sim.bootstrap();
    let anchor = (
        secret(&sim, "linkerd-trust-anchor", "tls.crt"),
        secret(&sim, "linkerd-trust-anchor", "tls.key"),
    );
    let (crt, key) = issuer((&anchor.0, &anchor.1), soon());
    edit_secret(
        &sim,
        "linkerd-identity-issuer",
        &[("crt.pem", &crt), ("key.pem", &key)],
    );
    let mut old = vec![crt];
    for (service, ..) in WEBHOOKS {
        let (crt, key) = self_signed(&format!("{service}.linkerd.svc"), soon());
        edit_secret(
            &sim,
            &format!("{service}-k8s-tls"),
            &[("tls.crt", &crt), ("tls.key", &key)],
        );
        old.push(crt);
    }
    (sim, old)
}

#[test]
fn near_expiry_certificates_are_renewed_by_the_same_anchor_without_a_window_and_once() {
    let (sim, old) = near_expiry();
    let dir = sim.scratch.path();
    let anchor = secret(&sim, "linkerd-trust-anchor", "tls.crt");
    let roots = || {
        sim.server
            .get(
                "v1",
                "ConfigMap",
                Some("linkerd"),
                "linkerd-identity-trust-roots",
            )
            .unwrap()
    };
    let roots_before = roots();
    sim.server.clear_journal();

    let run = sim.run("bootstrap", &["-o", "json"]);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let date = soon().date();
    let next_year = (OffsetDateTime::now_utc() + Duration::days(365)).date();
    assert!(
        run.stderr
            .contains("[2/7] generated secrets: 0 created, 4 renewed, 2 reused\n"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains(&format!(
        "  renewed Secret linkerd/linkerd-identity-issuer: the identity issuer was valid until {date} (in 10 days), inside the 60-day renewal window; the new one is valid until {next_year}\n"
    )), "{}", run.stderr);
    assert!(run.stderr.contains(&format!(
        "  renewed Secret linkerd/linkerd-sp-validator-k8s-tls: the webhook certificate for linkerd-sp-validator.linkerd.svc was valid until {date} (in 10 days), inside the 60-day renewal window; the new one is valid until {next_year}\n"
    )), "{}", run.stderr);
    let renewed: Vec<&Value> = report["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["source"] == "renewed")
        .collect();
    assert_eq!(renewed.len(), 4);
    assert_eq!(
        renewed[0]["object"], "Secret linkerd/linkerd-identity-issuer",
        "{report}"
    );
    assert_eq!(renewed[0]["renewal"]["certificate"], "identity issuer");
    assert!(
        renewed[0]["renewal"]["notAfter"]
            .as_str()
            .unwrap()
            .starts_with(&next_year.to_string())
    );

    // The new issuer chains to the unchanged anchor, which is still the one proxies trust.
    let issuer = secret(&sim, "linkerd-identity-issuer", "crt.pem");
    assert_ne!(issuer, old[0]);
    assert_eq!(secret(&sim, "linkerd-identity-issuer", "ca.crt"), anchor);
    std::fs::write(dir.join("anchor.pem"), &anchor).unwrap();
    std::fs::write(dir.join("issuer.pem"), &issuer).unwrap();
    openssl(
        dir,
        &[
            "verify",
            "-x509_strict",
            "-CAfile",
            "anchor.pem",
            "-partial_chain",
            "issuer.pem",
        ],
    );
    assert_eq!(
        roots(),
        roots_before,
        "the trust roots ConfigMap is untouched"
    );

    check_bundles(&sim, &old);
    check_bundles_written_first(&sim);

    // Run again: nothing is renewed or written.
    sim.server.clear_journal();
    let again = sim.run("bootstrap", &[]);
    assert!(
        again
            .stdout
            .starts_with("bootstrap complete: nothing changed"),
        "{}",
        again.stdout
    );
    assert!(
        again
            .stderr
            .contains("[2/7] generated secrets: 0 created, 6 reused\n")
    );
    assert_eq!(sim.writes(), Vec::<String>::new());
}

/// Each caBundle trusts the certificate now in its Secret, and the one it replaced.
fn check_bundles(sim: &Sim, old: &[String]) {
    let dir = sim.scratch.path();
    for (index, (service, kind, name)) in WEBHOOKS.iter().enumerate() {
        let serving = secret(sim, &format!("{service}-k8s-tls"), "tls.crt");
        assert_ne!(serving, old[index + 1]);
        let config = sim
            .server
            .get("admissionregistration.k8s.io/v1", kind, None, name)
            .unwrap();
        let bundle = decode(
            config["webhooks"][0]["clientConfig"]["caBundle"]
                .as_str()
                .unwrap(),
        );
        assert_eq!(bundle, format!("{serving}{}", old[index + 1]), "{name}");
        std::fs::write(dir.join("bundle.pem"), &bundle).unwrap();
        std::fs::write(dir.join("serving.pem"), &serving).unwrap();
        std::fs::write(dir.join("old.pem"), &old[index + 1]).unwrap();
        for served in ["serving.pem", "old.pem"] {
            openssl(
                dir,
                &[
                    "verify",
                    "-CAfile",
                    "bundle.pem",
                    "-verify_hostname",
                    &format!("{service}.linkerd.svc"),
                    served,
                ],
            );
        }
    }
}

/// The caBundles changed before the certificates they must trust were written.
fn check_bundles_written_first(sim: &Sim) {
    let writes = sim.writes();
    let position = |what: &str| {
        writes
            .iter()
            .position(|w| w.contains(what))
            .unwrap_or_else(|| panic!("no write of {what} in {writes:#?}"))
    };
    for (service, _, name) in WEBHOOKS {
        assert!(
            position(name) < position(&format!("secrets/{service}-k8s-tls")),
            "{writes:#?}"
        );
    }
    assert!(
        writes
            .contains(&"PUT /api/v1/namespaces/linkerd/secrets/linkerd-identity-issuer".to_owned())
    );
}

#[test]
fn status_lists_every_expiry_and_exit_code_fails_inside_the_window() {
    let sim = Sim::new();
    sim.bootstrap();
    let status = sim.run("status", &["--exit-code"]).success();
    let year = (OffsetDateTime::now_utc() + Duration::days(365)).date();
    let decade = (OffsetDateTime::now_utc() + Duration::days(3650)).date();
    let lines: Vec<&str> = status
        .lines()
        .skip_while(|l| !l.starts_with("certificates"))
        .collect();
    assert_eq!(
        lines,
        [
            "certificates (due: inside the 60-day renewal window, spec.certificates.renewBefore):"
                .to_owned(),
            format!(
                "  valid    {decade} (3649 days left)  trust anchor (Secret linkerd/linkerd-trust-anchor)"
            ),
            format!(
                "  valid    {year} (364 days left)   identity issuer (Secret linkerd/linkerd-identity-issuer)"
            ),
            format!(
                "  valid    {year} (364 days left)   webhook certificate for linkerd-proxy-injector.linkerd.svc (Secret linkerd/linkerd-proxy-injector-k8s-tls)"
            ),
            format!(
                "  valid    {year} (364 days left)   webhook certificate for linkerd-sp-validator.linkerd.svc (Secret linkerd/linkerd-sp-validator-k8s-tls)"
            ),
            format!(
                "  valid    {year} (364 days left)   webhook certificate for linkerd-policy-validator.linkerd.svc (Secret linkerd/linkerd-policy-validator-k8s-tls)"
            ),
        ]
    );

    let (crt, key) = self_signed("linkerd-sp-validator.linkerd.svc", soon());
    edit_secret(
        &sim,
        "linkerd-sp-validator-k8s-tls",
        &[("tls.crt", &crt), ("tls.key", &key)],
    );
    let run = sim.run("status", &["--exit-code"]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains(&format!(
        "  due      {} (10 days left)    webhook certificate for linkerd-sp-validator.linkerd.svc (Secret linkerd/linkerd-sp-validator-k8s-tls): the next bootstrap renews it\n",
        soon().date()
    )), "{}", run.stdout);
    assert_eq!(
        run.stderr,
        "error: 0 object(s) not ready, 1 certificate(s) inside the renewal window or expired (see above)\n"
    );
    let json: Value = serde_json::from_str(&sim.run("status", &["-o", "json"]).success()).unwrap();
    let due: Vec<&Value> = json["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["state"] == "due")
        .collect();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0]["daysLeft"], 10);
    assert_eq!(json["renewBeforeDays"], 60);
    // Nothing in the output is a private key.
    for text in [&status, &run.stdout, &run.stderr] {
        assert!(!text.contains("PRIVATE KEY"));
    }
}

#[test]
fn a_renewal_whose_answer_is_lost_is_recognised_and_a_conflict_loses_nothing() {
    let (sim, old) = near_expiry();
    let put = |action| Fault {
        method: Some("PUT".into()),
        path: Some("/secrets/linkerd-identity-issuer".into()),
        query: None,
        skip: 0,
        times: Some(1),
        action,
    };
    // Someone else wrote the Secret meanwhile: the API server refuses, nothing is overwritten.
    sim.server.inject(put(FaultAction::Status {
        code: 409,
        reason: "Conflict".into(),
        message: "the object has been modified".into(),
        retry_after: None,
    }));
    let refused = sim.run("bootstrap", &[]).refused();
    assert!(refused.contains(
        "caused by: failed to renew Secret linkerd/linkerd-identity-issuer: it changed since bootstrap read it (another run renewing it?), so it was left as it is; run bootstrap again"
    ), "{refused}");
    assert_eq!(secret(&sim, "linkerd-identity-issuer", "crt.pem"), old[0]);
    // The write lands but its answer is lost: the retry meets the precondition's 409 and reads
    // the Secret back.
    sim.server.inject(put(FaultAction::DropAfterCommit));
    let out = sim.run("bootstrap", &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("4 renewed, 2 reused"), "{}", out.stderr);
    assert_ne!(secret(&sim, "linkerd-identity-issuer", "crt.pem"), old[0]);
}

#[test]
fn a_near_expiry_issuer_the_user_brings_is_refused_before_anything_changes() {
    let sim = Sim::new();
    let far = OffsetDateTime::now_utc() + Duration::days(3000);
    let anchor = self_signed("root.linkerd.cluster.local", far);
    let (crt, key) = issuer((&anchor.0, &anchor.1), soon());
    sim.scratch.write("stacks/certs/ca.crt", &anchor.0);
    sim.scratch.write("stacks/certs/issuer.crt", &crt);
    sim.scratch.write("stacks/certs/issuer.key", &key);
    sim.scratch.edit(
        "stacks/linkerd.yaml",
        "    renewBefore: 60d",
        "    renewBefore: 60d\n    trustAnchor: certs/ca.crt\n    issuerCertificate: certs/issuer.crt\n    issuerKey: certs/issuer.key",
    );
    sim.server.clear_journal();
    let refused = sim.run("bootstrap", &[]).failure();
    assert_eq!(
        refused,
        format!(
            "error: the issuer certificate in stacks/certs/issuer.crt (spec.certificates.issuerCertificate), CN=identity.linkerd.cluster.local, is valid until {} (in 10 days), inside the 60-day renewal window (spec.certificates.renewBefore); obsboot does not renew certificates you bring: issue a new issuer certificate and key from your trust anchor and replace both files, then run bootstrap again\n",
            soon().date()
        )
    );
    assert!(sim.server.journal().is_empty(), "not even a read");

    // Replaced by a fresh issuer, it is taken; replaced again, the Secret follows the files.
    let (crt, key) = issuer((&anchor.0, &anchor.1), far);
    sim.scratch.write("stacks/certs/issuer.crt", &crt);
    sim.scratch.write("stacks/certs/issuer.key", &key);
    sim.bootstrap();
    assert_eq!(secret(&sim, "linkerd-identity-issuer", "crt.pem"), crt);
    assert!(
        sim.server
            .get("v1", "Secret", Some("linkerd"), "linkerd-trust-anchor")
            .is_none(),
        "the anchor's key stays with its owner"
    );
    let (crt, key) = issuer((&anchor.0, &anchor.1), far);
    sim.scratch.write("stacks/certs/issuer.crt", &crt);
    sim.scratch.write("stacks/certs/issuer.key", &key);
    let run = sim.run("bootstrap", &[]);
    assert!(
        run.stderr.contains(
            "  renewed Secret linkerd/linkerd-identity-issuer: the identity issuer was replaced by the files named in spec.certificates;"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(secret(&sim, "linkerd-identity-issuer", "crt.pem"), crt);
}

#[test]
fn an_installation_without_the_anchor_key_is_told_what_to_do_and_gets_no_new_anchor() {
    let sim = Sim::new();
    sim.bootstrap();
    let anchor = (
        secret(&sim, "linkerd-trust-anchor", "tls.crt"),
        secret(&sim, "linkerd-trust-anchor", "tls.key"),
    );
    // As an installation from before obsboot kept the anchor's key.
    sim.server
        .delete("v1", "Secret", Some("linkerd"), "linkerd-trust-anchor");
    let run = sim.run("bootstrap", &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("the trust anchor's private key is not stored (no Secret linkerd/linkerd-trust-anchor): the identity issuer, valid until "), "{}", run.stderr);
    assert!(
        sim.server
            .get("v1", "Secret", Some("linkerd"), "linkerd-trust-anchor")
            .is_none(),
        "no new anchor is made"
    );
    let status = sim.run("status", &[]).success();
    assert!(
        status.contains("missing: the issuer predates it, so bootstrap does not make it"),
        "{status}"
    );

    let (crt, key) = issuer((&anchor.0, &anchor.1), soon());
    edit_secret(
        &sim,
        "linkerd-identity-issuer",
        &[("crt.pem", &crt), ("key.pem", &key)],
    );
    sim.server.clear_journal();
    let refused = sim.run("bootstrap", &[]).refused();
    assert_eq!(
        refused.lines().skip(1).collect::<Vec<_>>().join("\n") + "\n",
        format!(
            "error: the identity issuer in Secret linkerd/linkerd-identity-issuer is valid until {} (in 10 days) and must be renewed, but the trust anchor's private key is not stored: Secret linkerd/linkerd-trust-anchor does not exist (the installation predates it, or it was deleted). Bootstrap will not make a new trust anchor, which would break mTLS between the pods already meshed; rotate the trust anchor by hand as deploy.md describes (\"Rotating the trust anchor\"), storing the new one in Secret linkerd/linkerd-trust-anchor\n",
            soon().date()
        )
    );
    assert_eq!(sim.writes(), Vec::<String>::new(), "nothing changed");
    assert_eq!(secret(&sim, "linkerd-identity-issuer", "crt.pem"), crt);
    let status = sim.run("status", &["--exit-code"]);
    assert_eq!(status.code, 1);
    assert!(status.stdout.contains("identity issuer (Secret linkerd/linkerd-identity-issuer): bootstrap cannot renew it: the trust anchor's key is not stored (Secret linkerd/linkerd-trust-anchor); see deploy.md\n"), "{}", status.stdout);
}

/// deploy.md's rotation by hand: trust both anchors, store the new one (made with openssl),
/// and bootstrap signs the issuer with it; the roots keep both until they are cut back.
#[test]
fn a_trust_anchor_rotated_by_hand_signs_the_next_issuer() {
    let sim = Sim::new();
    sim.bootstrap();
    let dir = sim.scratch.path();
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "ca-new.key",
            "-out",
            "ca-new.crt",
            "-days",
            "3650",
            "-subj",
            "/CN=root.linkerd.cluster.local",
            "-addext",
            "basicConstraints=critical,CA:TRUE,pathlen:1",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
    let new = std::fs::read_to_string(dir.join("ca-new.crt")).unwrap();
    let new_key = std::fs::read_to_string(dir.join("ca-new.key")).unwrap();
    let old = secret(&sim, "linkerd-identity-issuer", "ca.crt");
    let bundle = format!("{old}{new}");
    edit_secret(&sim, "linkerd-identity-issuer", &[("ca.crt", &bundle)]);
    sim.bootstrap();
    assert_eq!(sim.trust_roots().trim(), bundle.trim());

    edit_secret(
        &sim,
        "linkerd-trust-anchor",
        &[("tls.crt", &new), ("tls.key", &new_key)],
    );
    let run = sim.run("bootstrap", &[]);
    assert!(run.stderr.contains("  renewed Secret linkerd/linkerd-identity-issuer: the identity issuer was signed by another trust anchor than the one stored; the new one is valid until "), "{}", run.stderr);
    std::fs::write(
        dir.join("issuer.pem"),
        secret(&sim, "linkerd-identity-issuer", "crt.pem"),
    )
    .unwrap();
    openssl(
        dir,
        &[
            "verify",
            "-x509_strict",
            "-CAfile",
            "ca-new.crt",
            "issuer.pem",
        ],
    );
    assert_eq!(secret(&sim, "linkerd-identity-issuer", "ca.crt"), bundle);
}
