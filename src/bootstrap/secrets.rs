//! The generated Secrets: read from the cluster when they exist (so a re-run reuses them and
//! Grafana's password stays the one its database knows), generated otherwise, and created
//! with POST so that two runs can never overwrite each other's material.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, PostParams};
use serde::Serialize;

use super::BootstrapError;
use crate::k8s::{ApiFailure, Cluster, K8sError};
use crate::render::{MANAGED_BY, MANAGER, ObjectKey, STACK_LABEL};
use crate::secrets::{self, SecretData};
use crate::stack::{SecretKind, SecretSpec, Stack};

/// Where a Secret's contents came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// Read from the cluster.
    Reused,
    /// Made by this run, to be created.
    Generated,
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

/// Reads each planned Secret from the cluster, or generates its contents.
pub async fn prepare(
    cluster: &Cluster,
    specs: &[SecretSpec],
    stacks: &[&Stack],
) -> Result<Vec<Prepared>, BootstrapError> {
    let live = futures::future::try_join_all(specs.iter().map(|spec| read(cluster, spec))).await?;
    let mut prepared = Vec::with_capacity(specs.len());
    for (spec, live) in specs.iter().zip(live) {
        let (data, source) = match live {
            Some(data) => (data, Source::Reused),
            None => (secrets::generate(spec, stacks)?, Source::Generated),
        };
        prepared.push(Prepared {
            spec: spec.clone(),
            data,
            source,
        });
    }
    Ok(prepared)
}

/// The contents of the live Secret `spec`, if it exists and is obsboot's and complete.
pub async fn read(cluster: &Cluster, spec: &SecretSpec) -> Result<Option<SecretData>, K8sError> {
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
    let mut values = Vec::new();
    for wanted in secrets::required_keys(spec) {
        let text = data
            .get(wanted)
            .and_then(|ByteString(bytes)| String::from_utf8(bytes.clone()).ok());
        let Some(text) = text else {
            return Err(K8sError::Failed {
                object: name,
                reason: format!(
                    "it has no usable key \"{wanted}\"; delete it to have bootstrap generate it again"
                ),
            });
        };
        values.push((wanted.to_owned(), text));
    }
    Ok(Some(SecretData::new(values)))
}

/// Creates the Secrets this run generated. A create whose answer was lost is recognised
/// by reading the Secret back.
pub async fn create(cluster: &Cluster, prepared: &[Prepared]) -> Result<usize, BootstrapError> {
    let mut created = 0;
    for secret in prepared.iter().filter(|s| s.source == Source::Generated) {
        let api: Api<Secret> = Api::namespaced(cluster.client().clone(), &secret.spec.namespace);
        let object = secret_object(secret);
        let name = key(&secret.spec).to_string();
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

fn same(a: &SecretData, b: &SecretData) -> bool {
    a.expose().eq(b.expose())
}

fn secret_object(secret: &Prepared) -> Secret {
    let labels = BTreeMap::from([
        (MANAGED_BY.to_owned(), MANAGER.to_owned()),
        (STACK_LABEL.to_owned(), secret.spec.stack.name().to_owned()),
    ]);
    let type_ = match secret.spec.kind {
        SecretKind::WebhookTls { .. } => "kubernetes.io/tls",
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
