//! Connecting: the kubeconfig (the current context, or `--kubeconfig` / `--context`), and the
//! API server's discovery, refreshed once new CRDs are Established.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use kube::api::{Api, DynamicObject};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::discovery::{ApiCapabilities, ApiResource, Discovery, Scope};
use kube::{Client, Config};

use super::error::{ApiFailure, K8sError};
use super::retry;
use super::tenure::Tenure;
use crate::render::ObjectKey;

/// Which cluster, and as whom.
#[derive(Debug, Clone, Default)]
pub struct Target {
    /// The kubeconfig file (else `KUBECONFIG`, else `~/.kube/config`, else in-cluster).
    pub kubeconfig: Option<PathBuf>,
    /// The context (else the kubeconfig's current context).
    pub context: Option<String>,
}

/// A connected cluster: the client and what its API server serves.
#[derive(Clone)]
pub struct Cluster {
    client: Client,
    /// The same, without kube's own retries of 429, 503 and 504: for probes, whose 503 is
    /// the answer.
    once: Client,
    discovery: Arc<RwLock<Arc<Discovery>>>,
    /// The lock this run holds, while it holds one: every write checks it first.
    tenure: Arc<Mutex<Option<Arc<Tenure>>>>,
    /// The API server's URL, for messages.
    pub url: String,
}

impl Cluster {
    /// Loads the kubeconfig and reads the API server's discovery.
    pub async fn connect(target: &Target) -> Result<Self, K8sError> {
        let config = config(target).await?;
        let url = config.cluster_url.to_string();
        let mut single = config.clone();
        single.default_retry = false;
        let build = |config| {
            Client::try_from(config).map_err(|err| K8sError::Kubeconfig {
                path: target.kubeconfig.clone(),
                source: Box::new(err),
            })
        };
        let client = build(config)?;
        let once = build(single)?;
        let discovery = discover(&client).await?;
        Ok(Self {
            client,
            once,
            discovery: Arc::new(RwLock::new(Arc::new(discovery))),
            tenure: Arc::default(),
            url: url.trim_end_matches('/').to_owned(),
        })
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The client without kube's retries: one request, one answer.
    pub fn client_once(&self) -> &Client {
        &self.once
    }

    /// Records the lock this run holds (`None` once it is released).
    pub(super) fn hold(&self, tenure: Option<Arc<Tenure>>) {
        *self
            .tenure
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = tenure;
    }

    /// Refuses once the run can no longer prove it holds its lock; called before every
    /// write. Without a lock (read-only commands, dry runs) every write may go.
    pub fn writable(&self) -> Result<(), K8sError> {
        let tenure = self
            .tenure
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        match tenure {
            Some(tenure) => tenure.check().map_err(|loss| K8sError::LostLock {
                name: tenure.name().to_owned(),
                loss,
            }),
            None => Ok(()),
        }
    }

    /// Reads discovery again, so that kinds of newly Established CRDs resolve.
    pub async fn refresh(&self) -> Result<(), K8sError> {
        let discovery = discover(&self.client).await?;
        *self
            .discovery
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(discovery);
        Ok(())
    }

    /// The resource serving `api_version`/`kind`, if the cluster serves it.
    pub fn resolve(&self, api_version: &str, kind: &str) -> Option<(ApiResource, ApiCapabilities)> {
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let gvk = kube::api::GroupVersionKind::gvk(group, version, kind);
        self.discovery
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .resolve_gvk(&gvk)
    }

    /// A dynamic API for `key` (of `api_version`), in its namespace when it has one.
    pub fn api(&self, api_version: &str, key: &ObjectKey) -> Result<Api<DynamicObject>, K8sError> {
        let (resource, capabilities) =
            self.resolve(api_version, &key.kind)
                .ok_or_else(|| K8sError::UnknownKind {
                    api_version: api_version.into(),
                    kind: key.kind.clone(),
                    object: key.to_string(),
                })?;
        Ok(match (&capabilities.scope, &key.namespace) {
            (Scope::Namespaced, Some(namespace)) => {
                Api::namespaced_with(self.client.clone(), namespace, &resource)
            }
            _ => Api::all_with(self.client.clone(), &resource),
        })
    }

    /// Every resource the cluster serves that can be listed, with its scope.
    pub fn listable(&self) -> Vec<(ApiResource, ApiCapabilities)> {
        let discovery = self
            .discovery
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        discovery
            .groups()
            .flat_map(kube::discovery::ApiGroup::recommended_resources)
            .filter(|(_, caps)| caps.supports_operation(kube::discovery::verbs::LIST))
            .collect()
    }
}

async fn config(target: &Target) -> Result<Config, K8sError> {
    let failed = |source: Box<dyn std::error::Error + Send + Sync>| K8sError::Kubeconfig {
        path: target.kubeconfig.clone(),
        source,
    };
    let options = KubeConfigOptions {
        context: target.context.clone(),
        ..KubeConfigOptions::default()
    };
    match (&target.kubeconfig, &target.context) {
        (Some(path), _) => {
            let kubeconfig = Kubeconfig::read_from(path).map_err(|e| failed(Box::new(e)))?;
            Config::from_custom_kubeconfig(kubeconfig, &options)
                .await
                .map_err(|e| failed(Box::new(e)))
        }
        (None, Some(_)) => Config::from_kubeconfig(&options)
            .await
            .map_err(|e| failed(Box::new(e))),
        (None, None) => Config::infer().await.map_err(|e| failed(Box::new(e))),
    }
}

async fn discover(client: &Client) -> Result<Discovery, K8sError> {
    retry::read("discover the API server's resources", || {
        Discovery::new(client.clone()).run_aggregated()
    })
    .await
    .map_err(|err| K8sError::Discover(ApiFailure::from_kube(&err, false)))
}
