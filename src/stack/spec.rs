//! The kind-specific part of a stack file (`spec:`), and what each kind asks of its namespace.

use std::collections::BTreeMap;

use serde::Serialize;

use super::bookinfo::BookinfoSpec;
use super::grafana::GrafanaSpec;
use super::kind::StackKind;
use super::linkerd::LinkerdSpec;
use super::prometheus::PrometheusSpec;

/// A Pod Security Standards level, from strictest to most permissive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PodSecurity {
    /// Hardened pods only.
    Restricted,
    /// No known privilege escalations.
    Baseline,
    /// Anything, for pods that need host access or NET_ADMIN.
    Privileged,
}

impl PodSecurity {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Restricted => "restricted",
            Self::Baseline => "baseline",
            Self::Privileged => "privileged",
        }
    }
}

/// What a stack needs on the namespace it lives in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceMeta {
    /// The Pod Security level its pods need (`pod-security.kubernetes.io/enforce`).
    pub pod_security: PodSecurity,
    /// Labels it needs.
    pub labels: BTreeMap<String, String>,
    /// Annotations it needs.
    pub annotations: BTreeMap<String, String>,
}

impl NamespaceMeta {
    fn new(pod_security: PodSecurity) -> Self {
        Self {
            pod_security,
            labels: BTreeMap::new(),
            annotations: BTreeMap::new(),
        }
    }

    fn label(mut self, key: &str, value: &str) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }

    fn annotation(mut self, key: &str, value: &str) -> Self {
        self.annotations.insert(key.into(), value.into());
        self
    }
}

/// A stack's `spec:`, by kind.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Spec {
    /// Bookinfo.
    Bookinfo(BookinfoSpec),
    /// Prometheus.
    Prometheus(PrometheusSpec),
    /// Grafana.
    Grafana(GrafanaSpec),
    /// Linkerd.
    Linkerd(LinkerdSpec),
}

impl Spec {
    /// The kind of stack this spec belongs to.
    pub fn kind(&self) -> StackKind {
        match self {
            Self::Bookinfo(_) => StackKind::Bookinfo,
            Self::Prometheus(_) => StackKind::Prometheus,
            Self::Grafana(_) => StackKind::Grafana,
            Self::Linkerd(_) => StackKind::Linkerd,
        }
    }

    /// What the stack needs on its namespace, given the namespace's name.
    pub fn namespace_meta(&self, namespace: &str) -> NamespaceMeta {
        match self {
            // linkerd-init adds NET_ADMIN and NET_RAW to every meshed pod: only `privileged`
            // admits that. Unmeshed, Bookinfo's hardened pods pass `restricted`.
            Self::Bookinfo(spec) if spec.mesh => NamespaceMeta::new(PodSecurity::Privileged)
                .annotation("linkerd.io/inject", "enabled"),
            Self::Bookinfo(_) | Self::Grafana(_) => NamespaceMeta::new(PodSecurity::Restricted),
            // node-exporter reads the host: hostNetwork, hostPID and hostPath volumes.
            Self::Prometheus(_) => NamespaceMeta::new(PodSecurity::Privileged),
            Self::Linkerd(_) => NamespaceMeta::new(PodSecurity::Privileged)
                .label("linkerd.io/is-control-plane", "true")
                .label("config.linkerd.io/admission-webhooks", "disabled")
                .label("linkerd.io/control-plane-ns", namespace)
                .annotation("linkerd.io/inject", "disabled"),
        }
    }
}

/// What a generated Secret holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum SecretKind {
    /// Grafana's administrator password (key `admin-password`).
    GrafanaAdmin,
    /// Linkerd's trust anchor with its private key (`tls.crt`, `tls.key`), kept so that
    /// bootstrap can sign a new issuer before the old one expires.
    LinkerdTrustAnchor,
    /// Linkerd's identity issuer: certificate and key (`crt.pem`, `key.pem`), signed by the
    /// trust anchor.
    LinkerdIssuer,
    /// A webhook's serving certificate and key (`tls.crt`, `tls.key`) for `service`.
    WebhookTls {
        /// The Service (in the same namespace) the certificate is for.
        service: String,
    },
}

/// The Secret that keeps the trust anchor and its key, named as in Linkerd's documented
/// set-up for rotating the issuer automatically (cert-manager's CA issuer reads it).
pub const TRUST_ANCHOR_SECRET: &str = "linkerd-trust-anchor";

/// A Secret that bootstrap creates (and keeps on later runs); rendered manifests only
/// reference it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretSpec {
    /// The stack it belongs to.
    pub stack: StackKind,
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// What it holds.
    #[serde(flatten)]
    pub kind: SecretKind,
}

impl SecretSpec {
    fn new(stack: StackKind, namespace: &str, name: &str, kind: SecretKind) -> Self {
        Self {
            stack,
            namespace: namespace.into(),
            name: name.into(),
            kind,
        }
    }

    /// The keys it holds.
    pub fn keys(&self) -> &'static [&'static str] {
        match self.kind {
            SecretKind::GrafanaAdmin => &["admin-password"],
            SecretKind::LinkerdIssuer => &["crt.pem", "key.pem"],
            SecretKind::LinkerdTrustAnchor | SecretKind::WebhookTls { .. } => {
                &["tls.crt", "tls.key"]
            }
        }
    }
}

impl Spec {
    /// The Secrets bootstrap creates for this stack in `namespace`.
    pub fn secrets(&self, namespace: &str) -> Vec<SecretSpec> {
        match self {
            Self::Grafana(spec) => {
                vec![SecretSpec::new(
                    StackKind::Grafana,
                    namespace,
                    spec.admin_secret.as_str(),
                    SecretKind::GrafanaAdmin,
                )]
            }
            Self::Linkerd(linkerd) => {
                let webhook = |service: &str| {
                    SecretSpec::new(
                        StackKind::Linkerd,
                        namespace,
                        &format!("{service}-k8s-tls"),
                        SecretKind::WebhookTls {
                            service: service.into(),
                        },
                    )
                };
                // The anchor's key is kept only where bootstrap made the anchor; a user who
                // brings certificates keeps their anchor's key themselves.
                let anchor = linkerd.certificates.generated().then(|| {
                    SecretSpec::new(
                        StackKind::Linkerd,
                        namespace,
                        TRUST_ANCHOR_SECRET,
                        SecretKind::LinkerdTrustAnchor,
                    )
                });
                anchor
                    .into_iter()
                    .chain([
                        SecretSpec::new(
                            StackKind::Linkerd,
                            namespace,
                            "linkerd-identity-issuer",
                            SecretKind::LinkerdIssuer,
                        ),
                        webhook("linkerd-proxy-injector"),
                        webhook("linkerd-sp-validator"),
                        webhook("linkerd-policy-validator"),
                    ])
                    .collect()
            }
            Self::Bookinfo(_) | Self::Prometheus(_) => Vec::new(),
        }
    }
}
