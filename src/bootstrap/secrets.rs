//! The generated Secrets: read from the cluster when they exist (so a re-run reuses them and
//! Grafana's password stays the one its database knows), generated otherwise and created with
//! POST, so that two runs can never overwrite each other's material. A certificate inside its
//! renewal window is replaced with PUT from the resourceVersion it was read at, so that a
//! change made meanwhile (another run's renewal) is never lost: the write fails instead.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, PostParams};
use serde::Serialize;
use time::OffsetDateTime;

use super::BootstrapError;
use crate::k8s::{ApiFailure, Cluster, K8sError, retry};
use crate::render::{MANAGED_BY, MANAGER, ObjectKey, STACK_LABEL};
use crate::secrets::renewal::{self, Renewal};
use crate::secrets::{self, SecretData, SecretsError};
use crate::stack::{SecretKind, SecretSpec, Stack};

/// Where a Secret's contents came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// Read from the cluster.
    Reused,
    /// Made by this run, to be created.
    Generated,
    /// Made by this run to replace a certificate near its end, to be written over the live one.
    Renewed,
}

/// A planned Secret with its contents.
#[derive(Debug)]
pub struct Prepared {
    /// What it is.
    pub spec: SecretSpec,
    /// What it holds.
    pub data: SecretData,
    /// Where that came from.
    pub source: Source,
    /// For a renewal: what was replaced, and the resourceVersion it was read at.
    pub renewal: Option<(Renewal, String)>,
}

/// The Secret's identity, for messages and the inventory.
pub fn key(spec: &SecretSpec) -> ObjectKey {
    ObjectKey {
        group: String::new(),
        kind: "Secret".into(),
        namespace: Some(spec.namespace.clone()),
        name: spec.name.clone(),
    }
}

/// A live Secret of obsboot's: its contents and resourceVersion.
pub struct Live {
    /// The contents.
    pub data: SecretData,
    /// The resourceVersion read.
    pub resource_version: String,
}

/// Reads each planned Secret from the cluster; generates what is missing and renews what
/// is inside its renewal window at `now`. Writes nothing.
pub async fn prepare(
    cluster: &Cluster,
    specs: &[SecretSpec],
    stacks: &[&Stack],
    now: OffsetDateTime,
) -> Result<Vec<Prepared>, BootstrapError> {
    let live =
        futures::future::try_join_all(specs.iter().map(|spec| read_live(cluster, spec))).await?;
    let issuer_exists = specs
        .iter()
        .zip(&live)
        .any(|(spec, live)| spec.kind == SecretKind::LinkerdIssuer && live.is_some());
    let linkerd = secrets::linkerd(stacks).map(|(_, spec)| spec);
    let window = linkerd.map(|l| renewal::window(&l.certificates));
    let mut anchor: Option<SecretData> = None;
    let mut prepared = Vec::with_capacity(specs.len());
    for (spec, live) in specs.iter().zip(live) {
        let reuse = |live: Live| Prepared {
            spec: spec.clone(),
            data: live.data,
            source: Source::Reused,
            renewal: None,
        };
        let generated = |data| Prepared {
            spec: spec.clone(),
            data,
            source: Source::Generated,
            renewal: None,
        };
        let renewed = |live: &Live, (data, renewal): (SecretData, Renewal)| Prepared {
            spec: spec.clone(),
            data,
            source: Source::Renewed,
            renewal: Some((renewal, live.resource_version.clone())),
        };
        let next = match (&spec.kind, live) {
            (SecretKind::LinkerdTrustAnchor, Some(live)) => {
                anchor = Some(live.data.clone());
                reuse(live)
            }
            // An issuer without a stored anchor: an installation from before obsboot kept
            // the anchor's key. A new anchor would break mTLS between meshed pods, so none is
            // made; the issuer below says what to do when it is due.
            (SecretKind::LinkerdTrustAnchor, None) if issuer_exists => continue,
            (SecretKind::LinkerdTrustAnchor, None) => {
                let data = secrets::generate(spec, stacks, None)?;
                anchor = Some(data.clone());
                generated(data)
            }
            (SecretKind::LinkerdIssuer, None) => {
                generated(secrets::generate(spec, stacks, anchor.as_ref())?)
            }
            (SecretKind::LinkerdIssuer, Some(live)) => {
                let Some(linkerd) = linkerd else {
                    prepared.push(reuse(live));
                    continue;
                };
                if linkerd.certificates.generated() {
                    let renewal = renewal::renew_issuer(
                        spec,
                        &live.data,
                        anchor.as_ref(),
                        &format!(
                            "Secret {}/{}",
                            spec.namespace,
                            crate::stack::TRUST_ANCHOR_SECRET
                        ),
                        linkerd.trust_domain.as_str(),
                        window.unwrap_or_default(),
                        now,
                    )?;
                    if anchor.is_none() {
                        warn_unstored_anchor(spec, &live.data, now);
                    }
                    match renewal {
                        Some(renewal) => renewed(&live, renewal),
                        None => reuse(live),
                    }
                } else {
                    // The files the stack names are the truth: replaced ones are written.
                    let files = secrets::generate(spec, stacks, None)?;
                    if same(&files, &live.data) {
                        reuse(live)
                    } else {
                        let renewal = replaced_by_files(spec, &live.data, &files)?;
                        renewed(&live, (files, renewal))
                    }
                }
            }
            (SecretKind::WebhookTls { .. }, Some(live)) => {
                match window
                    .map(|window| renewal::renew_webhook(spec, &live.data, window, now))
                    .transpose()?
                    .flatten()
                {
                    Some(renewal) => renewed(&live, renewal),
                    None => reuse(live),
                }
            }
            (_, Some(live)) => reuse(live),
            (_, None) => generated(secrets::generate(spec, stacks, None)?),
        };
        prepared.push(next);
    }
    Ok(prepared)
}

/// Says, on every run, that the trust anchor's key is not stored.
fn warn_unstored_anchor(spec: &SecretSpec, issuer: &SecretData, now: OffsetDateTime) {
    let expiry = secrets::certificates::Validity::of(issuer.get("crt.pem").unwrap_or_default())
        .map(|v| v.expiry(now))
        .unwrap_or_default();
    tracing::warn!(
        "the trust anchor's private key is not stored (no Secret {}/{}): the identity issuer, valid until {expiry}, cannot be renewed by bootstrap; rotate the trust anchor by hand before then (deploy.md, \"Rotating the trust anchor\")",
        spec.namespace,
        crate::stack::TRUST_ANCHOR_SECRET
    );
}

/// The renewal of an issuer the user replaced in the files the stack names.
fn replaced_by_files(
    spec: &SecretSpec,
    live: &SecretData,
    files: &SecretData,
) -> Result<Renewal, SecretsError> {
    let old = renewal::validity(spec, live, "crt.pem")?;
    let new = renewal::validity(spec, files, "crt.pem")?;
    Ok(Renewal {
        certificate: "identity issuer".into(),
        reason: "replaced by the files named in spec.certificates".into(),
        previous_expiry: old.not_after,
        expiry: new.not_after,
    })
}

/// The contents of the live Secret `spec`, if it exists and is obsboot's and complete.
pub async fn read(cluster: &Cluster, spec: &SecretSpec) -> Result<Option<SecretData>, K8sError> {
    Ok(read_live(cluster, spec).await?.map(|live| live.data))
}

/// The live Secret `spec`, if it exists and is obsboot's and complete.
pub async fn read_live(cluster: &Cluster, spec: &SecretSpec) -> Result<Option<Live>, K8sError> {
    let api: Api<Secret> = Api::namespaced(cluster.client().clone(), &spec.namespace);
    let name = key(spec).to_string();
    let live = api.get_opt(&spec.name).await.map_err(|err| K8sError::Get {
        object: name.clone(),
        source: ApiFailure::from_kube(&err, true),
    })?;
    let Some(live) = live else { return Ok(None) };
    let ours = live
        .metadata
        .labels
        .as_ref()
        .and_then(|labels| labels.get(MANAGED_BY))
        .is_some_and(|value| value == MANAGER);
    if !ours {
        return Err(K8sError::NotOurs { object: name });
    }
    let data = live.data.unwrap_or_default();
    let text = |wanted: &str| {
        data.get(wanted)
            .and_then(|ByteString(bytes)| String::from_utf8(bytes.clone()).ok())
    };
    let mut values = Vec::new();
    for wanted in secrets::required_keys(spec) {
        let Some(value) = text(wanted) else {
            return Err(K8sError::Failed {
                object: name,
                reason: format!(
                    "it has no usable key \"{wanted}\"; delete it to have bootstrap generate it again"
                ),
            });
        };
        values.push((wanted.to_owned(), value));
    }
    for optional in secrets::optional_keys(spec) {
        if let Some(value) = text(optional) {
            values.push(((*optional).to_owned(), value));
        }
    }
    Ok(Some(Live {
        data: SecretData::new(values),
        resource_version: live.metadata.resource_version.unwrap_or_default(),
    }))
}

/// Creates the Secrets this run generated. A create whose answer was lost is recognised
/// by reading the Secret back.
pub async fn create(cluster: &Cluster, prepared: &[Prepared]) -> Result<usize, BootstrapError> {
    let mut created = 0;
    for secret in prepared.iter().filter(|s| s.source == Source::Generated) {
        let api: Api<Secret> = Api::namespaced(cluster.client().clone(), &secret.spec.namespace);
        let object = secret_object(secret);
        let name = key(&secret.spec).to_string();
        cluster.writable()?;
        if let Err(err) = api.create(&PostParams::default(), &object).await {
            let ours_already = read(cluster, &secret.spec)
                .await
                .ok()
                .flatten()
                .is_some_and(|live| same(&live, &secret.data));
            if !ours_already {
                let conflict = matches!(&err, kube::Error::Api(s) if s.code == 409);
                return Err(if conflict {
                    K8sError::Failed {
                        object: name,
                        reason:
                            "it was created by another run meanwhile; run bootstrap again to use it"
                                .into(),
                    }
                } else {
                    K8sError::Apply {
                        object: name,
                        source: ApiFailure::from_kube(&err, true),
                    }
                }
                .into());
            }
        }
        created += 1;
    }
    Ok(created)
}

/// Writes one renewed Secret over the live one, from the resourceVersion it was read at: if
/// anything changed it meanwhile, the API server refuses (409) and nothing is lost. A write
/// whose answer was lost, retried, is recognised by reading the Secret back.
pub async fn replace(cluster: &Cluster, secret: &Prepared) -> Result<(), BootstrapError> {
    let Some((_, resource_version)) = &secret.renewal else {
        return Ok(());
    };
    let api: Api<Secret> = Api::namespaced(cluster.client().clone(), &secret.spec.namespace);
    let mut object = secret_object(secret);
    object.metadata.resource_version = Some(resource_version.clone());
    let name = key(&secret.spec).to_string();
    let params = PostParams::default();
    cluster.writable()?;
    let written = retry::idempotent(&format!("replace {name}"), || {
        api.replace(&secret.spec.name, &params, &object)
    })
    .await;
    let Err(err) = written else { return Ok(()) };
    let ours_already = read(cluster, &secret.spec)
        .await
        .ok()
        .flatten()
        .is_some_and(|live| same(&live, &secret.data));
    if ours_already {
        return Ok(());
    }
    if matches!(&err, kube::Error::Api(s) if s.code == 409) {
        return Err(BootstrapError::RenewalConflict { object: name });
    }
    Err(K8sError::Apply {
        object: name,
        source: ApiFailure::from_kube(&err, true),
    }
    .into())
}

fn same(a: &SecretData, b: &SecretData) -> bool {
    a.expose().eq(b.expose())
}

fn secret_object(secret: &Prepared) -> Secret {
    let labels = BTreeMap::from([
        (MANAGED_BY.to_owned(), MANAGER.to_owned()),
        (STACK_LABEL.to_owned(), secret.spec.stack.name().to_owned()),
    ]);
    let type_ = match secret.spec.kind {
        SecretKind::WebhookTls { .. } | SecretKind::LinkerdTrustAnchor => "kubernetes.io/tls",
        SecretKind::GrafanaAdmin | SecretKind::LinkerdIssuer => "Opaque",
    };
    Secret {
        metadata: kube::api::ObjectMeta {
            name: Some(secret.spec.name.clone()),
            namespace: Some(secret.spec.namespace.clone()),
            labels: Some(labels),
            ..Default::default()
        },
        type_: Some(type_.into()),
        data: Some(
            secret
                .data
                .expose()
                .map(|(k, v)| (k.to_owned(), ByteString(v.as_bytes().to_vec())))
                .collect(),
        ),
        ..Default::default()
    }
}
