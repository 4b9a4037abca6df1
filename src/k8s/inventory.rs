//! The record, kept in the cluster, of every object obsboot applied: a ConfigMap in
//! kube-system labelled as obsboot's. Bootstrap widens it before applying (so that an
//! interrupted run is still fully known) and narrows it to the plan once done, deleting what
//! the stacks no longer hold; teardown works from it on any machine.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde::{Deserialize, Serialize};

use super::client::Cluster;
use super::error::{ApiFailure, K8sError};
use super::retry;
use crate::render::{MANAGED_BY, MANAGER, Object, ObjectKey};
use crate::stack::SecretSpec;

/// Where the inventory lives.
pub const NAMESPACE: &str = "kube-system";
/// The label that says which installation an inventory belongs to.
pub const INVENTORY_LABEL: &str = "obsboot.dev/inventory";
const KEY: &str = "objects";

/// One applied object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// Its apiVersion.
    pub api_version: String,
    /// Its kind.
    pub kind: String,
    /// Its namespace, for namespaced kinds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Its name.
    pub name: String,
    /// The stack it belongs to.
    pub stack: String,
}

impl Entry {
    /// The entry for a rendered object.
    pub fn of(object: &Object) -> Self {
        Self {
            api_version: object.api_version().to_owned(),
            kind: object.key.kind.clone(),
            namespace: object.key.namespace.clone(),
            name: object.key.name.clone(),
            stack: object.stack.name().to_owned(),
        }
    }

    /// The entry for a generated Secret.
    pub fn secret(spec: &SecretSpec) -> Self {
        Self {
            api_version: "v1".into(),
            kind: "Secret".into(),
            namespace: Some(spec.namespace.clone()),
            name: spec.name.clone(),
            stack: spec.stack.name().into(),
        }
    }

    /// Its identity.
    pub fn key(&self) -> ObjectKey {
        ObjectKey {
            group: self
                .api_version
                .rsplit_once('/')
                .map(|(group, _)| group.to_owned())
                .unwrap_or_default(),
            kind: self.kind.clone(),
            namespace: self.namespace.clone(),
            name: self.name.clone(),
        }
    }
}

/// The inventory of installation `name` (`cluster.yaml`'s `name`).
pub struct Inventory {
    cluster: Cluster,
    api: Api<ConfigMap>,
    name: String,
    installation: String,
}

impl Inventory {
    /// The inventory of `installation` in `cluster`.
    pub fn new(cluster: &Cluster, installation: &str) -> Self {
        Self {
            cluster: cluster.clone(),
            api: Api::namespaced(cluster.client().clone(), NAMESPACE),
            name: format!("obsboot-inventory-{installation}"),
            installation: installation.to_owned(),
        }
    }

    /// `ConfigMap kube-system/<name>`, for messages.
    pub fn describe(&self) -> String {
        format!("ConfigMap {NAMESPACE}/{}", self.name)
    }

    /// The recorded entries, or `None` when there is no inventory.
    pub async fn read(&self) -> Result<Option<BTreeSet<Entry>>, K8sError> {
        let found = retry::read("read the inventory", || self.api.get_opt(&self.name))
            .await
            .map_err(|err| K8sError::Get {
                object: self.describe(),
                source: ApiFailure::from_kube(&err, false),
            })?;
        let Some(config_map) = found else {
            return Ok(None);
        };
        let ours = config_map
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(MANAGED_BY))
            .is_some_and(|v| v == MANAGER);
        if !ours {
            return Err(K8sError::NotOurs {
                object: self.describe(),
            });
        }
        let text = config_map
            .data
            .as_ref()
            .and_then(|data| data.get(KEY))
            .map_or("[]", String::as_str);
        serde_json::from_str::<Vec<Entry>>(text)
            .map(|entries| Some(entries.into_iter().collect()))
            .map_err(|err| K8sError::Inventory {
                name: self.describe(),
                reason: format!("its \"{KEY}\" key is not a list of objects ({err})"),
            })
    }

    /// Records exactly `entries` (a no-op on the server when they are already recorded).
    pub async fn write(&self, entries: &BTreeSet<Entry>) -> Result<(), K8sError> {
        let list: Vec<&Entry> = entries.iter().collect();
        let text = serde_json::to_string_pretty(&list).map_err(|err| K8sError::Inventory {
            name: self.describe(),
            reason: err.to_string(),
        })?;
        let body = serde_json::json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": self.name,
                "namespace": NAMESPACE,
                "labels": {MANAGED_BY: MANAGER, INVENTORY_LABEL: self.installation},
            },
            "data": {KEY: text},
        });
        let params = PatchParams::apply(MANAGER);
        let patch = Patch::Apply(&body);
        self.cluster.writable()?;
        retry::idempotent("write the inventory", || {
            self.api.patch(&self.name, &params, &patch)
        })
        .await
        .map(drop)
        .map_err(|err| K8sError::Apply {
            object: self.describe(),
            source: ApiFailure::from_kube(&err, false),
        })
    }

    /// Deletes the inventory (teardown's last step); already gone is fine.
    pub async fn delete(&self) -> Result<(), K8sError> {
        let params = DeleteParams::default();
        self.cluster.writable()?;
        match retry::idempotent("delete the inventory", || {
            self.api.delete(&self.name, &params)
        })
        .await
        {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
            Err(err) => Err(K8sError::Delete {
                object: self.describe(),
                source: ApiFailure::from_kube(&err, false),
            }),
        }
    }
}
