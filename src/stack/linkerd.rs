//! The Linkerd stack's settings.

use serde::{Deserialize, Serialize};

use super::fields::{Cidr, Domain, Duration, ImageRepository, ImageTag, ProxyLogLevel};

/// `spec:` of a Linkerd stack file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LinkerdSpec {
    /// The release, which is also the image tag (`edge-26.8.3`).
    pub version: ImageTag,
    /// Where the `controller` and `proxy` images come from.
    pub registry: ImageRepository,
    /// The cluster's DNS domain.
    pub cluster_domain: Domain,
    /// The identity trust domain.
    pub trust_domain: Domain,
    /// Networks for which proxies do service discovery: the pod and service networks.
    pub cluster_networks: Vec<Cidr>,
    /// Which iptables the proxy-init step uses.
    pub iptables_mode: IptablesMode,
    /// Whether meshed pods get the proxy as a native sidecar (an init container that keeps
    /// running; Kubernetes 1.29+).
    pub native_sidecar: bool,
    /// Whether to install the Gateway API CRDs Linkerd needs.
    pub gateway_api: GatewayApi,
    /// Whether the heartbeat CronJob reports anonymous usage data to the Linkerd project.
    pub heartbeat: bool,
    /// Where the identity certificates come from.
    #[serde(default)]
    pub certificates: Certificates,
    /// The proxies' settings: the injector builds every meshed pod's proxy with them, and the
    /// control plane's own proxies use them too.
    #[serde(default)]
    pub proxy: ProxySettings,
}

/// `spec.proxy`: how Linkerd's proxies log.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ProxySettings {
    /// The log filter (`LINKERD2_PROXY_LOG`), `warn,linkerd=info,hickory=error` by default.
    #[serde(default)]
    pub log_level: ProxyLogLevel,
    /// The log format.
    #[serde(default)]
    pub log_format: LogFormat,
}

/// How the proxies write their log lines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogFormat {
    /// Text lines.
    #[default]
    Plain,
    /// One JSON object per line.
    Json,
}

/// The iptables flavour proxy-init uses; the node's kernel must support it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IptablesMode {
    /// nftables (`iptables-nft`), the default since Linkerd 2.19.
    Nft,
    /// Legacy xtables (`iptables-legacy`).
    Legacy,
}

/// When the Gateway API CRDs (httproutes, grpcroutes) are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum GatewayApi {
    /// Only when the cluster does not have them yet (another owner's CRDs are left alone).
    IfAbsent,
    /// Always, as obsboot's own.
    Always,
    /// Never: they must already be installed.
    Never,
}

/// Certificate files the user brings instead of generated ones, relative to the stack file.
/// With none named, bootstrap generates a trust anchor and an issuer.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Certificates {
    /// The trust anchor certificate (PEM).
    pub trust_anchor: Option<String>,
    /// The issuer certificate (PEM), signed by the trust anchor.
    pub issuer_certificate: Option<String>,
    /// The issuer's private key (PEM).
    pub issuer_key: Option<String>,
    /// How long before expiry bootstrap renews a certificate it generated (and refuses one
    /// the user brings); 60 days, when `linkerd check` starts to warn, unless set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renew_before: Option<Duration>,
}

/// The renewal window without `renewBefore`: `linkerd check` warns from 60 days before expiry.
pub const DEFAULT_RENEW_BEFORE_DAYS: u64 = 60;

impl Certificates {
    /// The renewal window, in seconds.
    pub fn renew_before_seconds(&self) -> u64 {
        self.renew_before
            .as_ref()
            .map_or(DEFAULT_RENEW_BEFORE_DAYS * 86_400, Duration::seconds)
    }

    /// Whether bootstrap generates the certificates.
    pub fn generated(&self) -> bool {
        self.trust_anchor.is_none()
            && self.issuer_certificate.is_none()
            && self.issuer_key.is_none()
    }

    /// The fields left out when only some files are named.
    pub fn missing(&self) -> Vec<&'static str> {
        [
            ("trustAnchor", self.trust_anchor.is_none()),
            ("issuerCertificate", self.issuer_certificate.is_none()),
            ("issuerKey", self.issuer_key.is_none()),
        ]
        .into_iter()
        .filter_map(|(field, missing)| missing.then_some(field))
        .collect()
    }
}
