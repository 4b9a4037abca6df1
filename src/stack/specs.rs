//! Checks of stack settings that need more than one field or another stack: what a stack
//! relies on must be defined, values must work together, named files must exist.

use std::path::Path;

use super::kind::StackKind;
use super::load::{Doc, RawStack};
use super::spec::Spec;
use crate::diagnostic::Diagnostic;
use crate::field_path::FieldPath;

/// Prometheus's scrape timeout; a shorter interval would be refused.
const SCRAPE_TIMEOUT_SECONDS: u64 = 10;
/// A day, the least renewal window: bootstrap runs when someone runs it, not on a timer.
const DAY_SECONDS: u64 = 86_400;

/// Namespaces Kubernetes itself makes and keeps. A stack there would put obsboot's ownership
/// labels on them, and teardown would delete from, or wait on, a namespace obsboot did not
/// create.
const SYSTEM_NAMESPACES: [&str; 4] = ["kube-system", "kube-public", "kube-node-lease", "default"];

/// Checks every stack's settings against the others'.
/// Stacks whose files did not parse (`unparsed`) count as defined.
pub(super) fn check_specs(raw: &[RawStack], unparsed: &[StackKind], errors: &mut Vec<Diagnostic>) {
    let defined =
        |kind: StackKind| unparsed.contains(&kind) || raw.iter().any(|stack| stack.kind == kind);
    let spec = FieldPath::root().key("spec");
    for stack in raw {
        let doc = &stack.doc;
        let at = |path: &FieldPath, message: String| {
            Diagnostic::new(doc.at(path), message).field(path.to_string())
        };
        if SYSTEM_NAMESPACES.contains(&stack.namespace.as_str()) {
            let path = FieldPath::root().key("namespace");
            errors.push(
                at(&path, format!("namespace \"{}\" belongs to Kubernetes: obsboot would label it as its own, and teardown would touch a namespace obsboot did not create", stack.namespace))
                    .help("give the stack a namespace of its own, such as its kind in lower case"),
            );
        }
        match &stack.spec {
            Spec::Bookinfo(bookinfo) if bookinfo.mesh && !defined(StackKind::Linkerd) => errors.push(
                at(&spec.key("mesh"), "the stack asks to be meshed, but no stack file has kind: Linkerd".into())
                    .help("add a Linkerd stack file, or set `mesh: false`"),
            ),
            Spec::Grafana(_) if !defined(StackKind::Prometheus) => errors.push(
                Diagnostic::new(doc.at(&FieldPath::root().key("kind")), "Grafana's datasource is the Prometheus stack, but no stack file has kind: Prometheus")
                    .help("add a Prometheus stack file"),
            ),
            Spec::Prometheus(prometheus) => {
                if prometheus.retention.is_zero() {
                    errors.push(
                        at(
                            &spec.key("retention"),
                            format!("a retention of {} is not positive: Prometheus reads a zero retention as unset and keeps 15 days", prometheus.retention),
                        )
                        .help("give how long samples are kept, such as 15d"),
                    );
                }
                if prometheus.scrape_interval.seconds() < SCRAPE_TIMEOUT_SECONDS {
                    errors.push(
                        at(
                            &spec.key("scrapeInterval"),
                            format!("a scrape interval of {} is shorter than the {SCRAPE_TIMEOUT_SECONDS}s scrape timeout", prometheus.scrape_interval),
                        )
                        .help(format!("use {SCRAPE_TIMEOUT_SECONDS}s or more")),
                    );
                }
                super::storage::check(doc, &spec.key("storage"), &prometheus.storage, errors);
            }
            Spec::Linkerd(linkerd) => {
                if linkerd.cluster_networks.is_empty() {
                    errors.push(
                        at(&spec.key("clusterNetworks"), "no cluster networks: proxies would discover no service".into())
                            .help("list the networks of your pods and services, such as 10.0.0.0/8"),
                    );
                }
                check_certificates(doc, linkerd, errors);
            }
            _ => {}
        }
    }
}

/// Certificate files come all three or not at all, and must exist beside the stack file.
fn check_certificates(
    doc: &Doc,
    linkerd: &super::linkerd::LinkerdSpec,
    errors: &mut Vec<Diagnostic>,
) {
    let certificates = &linkerd.certificates;
    let path = FieldPath::root().key("spec").key("certificates");
    if let Some(window) = &certificates.renew_before {
        check_renew_before(doc, &path.key("renewBefore"), window, errors);
    }
    if certificates.generated() {
        return;
    }
    let named = [
        ("trustAnchor", &certificates.trust_anchor),
        ("issuerCertificate", &certificates.issuer_certificate),
        ("issuerKey", &certificates.issuer_key),
    ];
    let mut content = false;
    for (field, value) in named {
        if let Some(value) = value {
            content |= super::paths::refuse_content(doc, &path.key(field), value, errors);
        }
    }
    if content {
        return;
    }
    let missing = certificates.missing();
    if !missing.is_empty() {
        errors.push(
            Diagnostic::new(doc.at(&path), format!("certificate files are given only in part; {} missing", missing.join(", ")))
                .field(path.to_string())
                .help("name the trust anchor, the issuer certificate and the issuer key, or none to have bootstrap generate them"),
        );
        return;
    }
    let dir = doc.file.path.parent().unwrap_or_else(|| Path::new("."));
    let mut texts = Vec::with_capacity(named.len());
    for (field, file) in named {
        let Some(file) = file else { continue };
        let at = path.key(field);
        if !dir.join(file).is_file() {
            errors.push(
                Diagnostic::new(
                    doc.at(&at),
                    format!(
                        "no such file: {}",
                        crate::clip::value(&dir.join(file).display().to_string())
                    ),
                )
                .field(at.to_string())
                .help("paths are relative to the directory of the stack file"),
            );
            continue;
        }
        match read_pem(&dir.join(file)) {
            Ok(text) => texts.push(text),
            Err(why) => errors.push(
                Diagnostic::new(
                    doc.at(&at),
                    format!("failed to read {}: {why}", dir.join(file).display()),
                )
                .field(at.to_string()),
            ),
        }
    }
    // What bootstrap checks before it installs them, so that a render fails where it would.
    if let [anchor, issuer, key] = texts.as_slice()
        && let Err(problem) =
            crate::secrets::certificates::check_provided_files(anchor, issuer, key)
    {
        let at = path.key(problem.field);
        let file = named
            .iter()
            .find(|(field, _)| *field == problem.field)
            .and_then(|(_, file)| file.as_deref())
            .unwrap_or_default();
        errors.push(
            Diagnostic::new(
                doc.at(&at),
                format!("{}: {problem}", dir.join(file).display()),
            )
            .field(at.to_string())
            .help("Linkerd needs the trust anchor and the issuer as PEM certificates, the issuer a CA signed by the anchor, and the issuer's ECDSA P-256 private key in PEM"),
        );
    }
}

/// The most a certificate or key file may hold; a PEM file is a few kilobytes.
const PEM_FILE_LIMIT: u64 = 1 << 20;

/// The text of a certificate or key file, refused beyond [`PEM_FILE_LIMIT`].
fn read_pem(path: &Path) -> Result<String, String> {
    use std::io::Read as _;
    let file = std::fs::File::open(path).map_err(|err| err.to_string())?;
    let mut text = String::new();
    file.take(PEM_FILE_LIMIT + 1)
        .read_to_string(&mut text)
        .map_err(|_| "not a text file".to_owned())?;
    if text.len() as u64 > PEM_FILE_LIMIT {
        return Err(format!(
            "larger than {} KiB; a PEM file is a few",
            PEM_FILE_LIMIT >> 10
        ));
    }
    Ok(text)
}

/// A renewal window must leave time to run bootstrap, and be shorter than the lifetime of the
/// certificates bootstrap makes (else every run would renew them all again).
fn check_renew_before(
    doc: &Doc,
    path: &FieldPath,
    window: &super::fields::Duration,
    errors: &mut Vec<Diagnostic>,
) {
    let lifetime = crate::secrets::certificates::SHORTEST_LIFETIME_DAYS;
    let message = if window.seconds() < DAY_SECONDS {
        format!(
            "a renewal window of {window} is shorter than a day; bootstrap renews only when it runs"
        )
    } else if window.seconds() >= lifetime * DAY_SECONDS {
        format!(
            "a renewal window of {window} is not shorter than the {lifetime} days bootstrap issues certificates for; every run would renew them"
        )
    } else {
        return;
    };
    errors.push(
        Diagnostic::new(doc.at(path), message)
            .field(path.to_string())
            .help(format!(
                "use a number of days between 1d and {}d; 60d is when `linkerd check` starts to warn",
                lifetime - 1
            )),
    );
}
