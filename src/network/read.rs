//! Reading the objects the CNI detection needs. A kind the cluster does not serve (its CRD is
//! absent) or an object that does not exist is simply absent; a forbidden read is recorded as
//! "could not read ...: forbidden" for the report rather than failing the run; anything else
//! is an error.

use kube::api::{Api, DynamicObject, ListParams};
use serde_json::Value;

use super::cni::CniObjects;
use crate::k8s::{ApiFailure, Cluster, K8sError, retry};

/// The namespaces CNI DaemonSets live in.
const DAEMON_SET_NAMESPACES: [&str; 3] = ["kube-system", "calico-system", "kube-flannel"];
/// The ConfigMaps read, by namespace and name.
const CONFIG_MAPS: [(&str, &str); 7] = [
    ("kube-system", "calico-config"),
    ("kube-system", "canal-config"),
    ("kube-flannel", "kube-flannel-cfg"),
    ("kube-system", "kube-flannel-cfg"),
    ("kube-system", "cilium-config"),
    ("kube-system", "kubeadm-config"),
    ("kube-system", "kube-proxy"),
];
/// The cluster-scoped Calico resources: (apiVersion, kind).
const CALICO: [(&str, &str); 4] = [
    ("crd.projectcalico.org/v1", "IPPool"),
    ("operator.tigera.io/v1", "Installation"),
    ("crd.projectcalico.org/v1", "FelixConfiguration"),
    ("crd.projectcalico.org/v1", "BGPConfiguration"),
];
/// The label of Calico Typha's pods (manifest and operator alike).
const TYPHA_SELECTOR: &str = "k8s-app=calico-typha";

/// Reads every object [`super::cni::detect`] looks at.
pub async fn objects(cluster: &Cluster) -> Result<CniObjects, K8sError> {
    let mut out = CniObjects::default();
    for namespace in DAEMON_SET_NAMESPACES {
        let found = list(
            cluster,
            "apps/v1",
            "DaemonSet",
            Some(namespace),
            None,
            &mut out,
        )
        .await?;
        out.daemon_sets.extend(found);
    }
    for (namespace, name) in CONFIG_MAPS {
        if let Some(cm) = get(cluster, "v1", "ConfigMap", namespace, name, &mut out).await? {
            out.config_maps.push(cm);
        }
    }
    for (api_version, kind) in CALICO {
        let found = list(cluster, api_version, kind, None, None, &mut out).await?;
        match kind {
            "IPPool" => out.ip_pools = found,
            "Installation" => out.installations = found,
            "FelixConfiguration" => out.felix_configurations = found,
            _ => out.bgp_configurations = found,
        }
    }
    out.nodes = list(cluster, "v1", "Node", None, None, &mut out).await?;
    for namespace in ["kube-system", "calico-system"] {
        let pods = list(
            cluster,
            "v1",
            "Pod",
            Some(namespace),
            Some(TYPHA_SELECTOR),
            &mut out,
        )
        .await?;
        for node in pods
            .iter()
            .filter_map(|p| p.pointer("/spec/nodeName").and_then(Value::as_str))
        {
            if !out.typha_nodes.iter().any(|n| n == node) {
                out.typha_nodes.push(node.to_owned());
            }
        }
    }
    Ok(out)
}

fn api(
    cluster: &Cluster,
    api_version: &str,
    kind: &str,
    namespace: Option<&str>,
) -> Option<Api<DynamicObject>> {
    let (resource, _) = cluster.resolve(api_version, kind)?;
    Some(match namespace {
        Some(namespace) => Api::namespaced_with(cluster.client().clone(), namespace, &resource),
        None => Api::all_with(cluster.client().clone(), &resource),
    })
}

fn describe(kind: &str, namespace: Option<&str>, name: Option<&str>) -> String {
    match (namespace, name) {
        (Some(ns), Some(name)) => format!("{kind} {ns}/{name}"),
        (None, Some(name)) => format!("{kind} {name}"),
        (Some(ns), None) => format!("{kind}s in {ns}"),
        (None, None) => format!("{kind}s"),
    }
}

fn to_value(object: &DynamicObject) -> Value {
    serde_json::to_value(object).unwrap_or(Value::Null)
}

async fn list(
    cluster: &Cluster,
    api_version: &str,
    kind: &str,
    namespace: Option<&str>,
    labels: Option<&str>,
    out: &mut CniObjects,
) -> Result<Vec<Value>, K8sError> {
    let Some(api) = api(cluster, api_version, kind, namespace) else {
        return Ok(Vec::new());
    };
    let what = describe(kind, namespace, None);
    let mut params = ListParams::default();
    if let Some(labels) = labels {
        params = params.labels(labels);
    }
    match retry::read(&format!("list {what}"), || api.list(&params)).await {
        Ok(list) => Ok(list.items.iter().map(to_value).collect()),
        Err(err) => absent_or_error(&err, &what, out)
            .map(|()| Vec::new())
            .map_err(|source| K8sError::List { what, source }),
    }
}

async fn get(
    cluster: &Cluster,
    api_version: &str,
    kind: &str,
    namespace: &str,
    name: &str,
    out: &mut CniObjects,
) -> Result<Option<Value>, K8sError> {
    let Some(api) = api(cluster, api_version, kind, Some(namespace)) else {
        return Ok(None);
    };
    let what = describe(kind, Some(namespace), Some(name));
    match retry::read(&format!("read {what}"), || api.get(name)).await {
        Ok(object) => Ok(Some(to_value(&object))),
        Err(err) => absent_or_error(&err, &what, out)
            .map(|()| None)
            .map_err(|source| K8sError::Get {
                object: what,
                source,
            }),
    }
}

/// 404 is absence, 403 is a note in `unreadable`; anything else fails.
fn absent_or_error(err: &kube::Error, what: &str, out: &mut CniObjects) -> Result<(), ApiFailure> {
    match err {
        kube::Error::Api(status) if status.code == 404 => Ok(()),
        kube::Error::Api(status) if status.code == 403 => {
            out.unreadable
                .push(format!("could not read {what}: forbidden"));
            Ok(())
        }
        _ => Err(ApiFailure::from_kube(err, false)),
    }
}
