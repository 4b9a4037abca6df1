//! Whether a namespace may go: only if obsboot created it and nothing that is not obsboot's
//! lives in it (deleting it would delete someone else's objects). What workloads leave
//! behind by running (pods, ReplicaSets, endpoints, events, leases) and what Kubernetes puts
//! in every namespace does not count.

use futures::{StreamExt, stream};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DynamicObject, ListParams};
use kube::discovery::Scope;

use super::report::Report;
use crate::k8s::inventory::Entry;
use crate::k8s::{ApiFailure, Cluster, K8sError, is_ours, retry};

/// At most this many foreign objects are named in the report.
const NAMED: usize = 5;

/// The namespaces of `entries` that may be deleted; the others are recorded in `report`.
pub async fn deletable<'e>(
    cluster: &Cluster,
    entries: &[&'e Entry],
    report: &mut Report,
) -> Result<Vec<&'e Entry>, K8sError> {
    // The CRDs were just deleted: list only the kinds still served.
    cluster.refresh().await?;
    let namespaces: Api<Namespace> = Api::all(cluster.client().clone());
    let mut deletable = Vec::new();
    for &entry in entries {
        let live = retry::read(&format!("read namespace {}", entry.name), || {
            namespaces.get_opt(&entry.name)
        })
        .await
        .map_err(|err| K8sError::Get {
            object: entry.key().to_string(),
            source: ApiFailure::from_kube(&err, false),
        })?;
        match live {
            Some(live) if !is_ours(&live.metadata) => {
                report.keep(
                    entry,
                    "it existed before obsboot, which used it as it was; kept",
                );
            }
            Some(_) => {
                let foreign = foreign_objects(cluster, &entry.name).await?;
                if foreign.is_empty() {
                    deletable.push(entry);
                } else {
                    let mut named: Vec<String> = foreign.iter().take(NAMED).cloned().collect();
                    if foreign.len() > NAMED {
                        named.push(format!("and {} more", foreign.len() - NAMED));
                    }
                    report.keep(
                        entry,
                        &format!(
                            "kept: it holds objects obsboot did not create ({}); deleting it would delete them",
                            named.join(", ")
                        ),
                    );
                }
            }
            None => deletable.push(entry),
        }
    }
    Ok(deletable)
}

/// The objects in `namespace` that are neither obsboot's nor a by-product of running it.
pub async fn foreign_objects(cluster: &Cluster, namespace: &str) -> Result<Vec<String>, K8sError> {
    let resources: Vec<_> = cluster
        .listable()
        .into_iter()
        .filter(|(resource, caps)| {
            caps.scope == Scope::Namespaced && !by_product(&resource.group, &resource.kind)
        })
        .collect();
    let lists: Vec<Result<Vec<String>, K8sError>> = stream::iter(resources)
        .map(|(resource, _)| async move {
            let api: Api<DynamicObject> =
                Api::namespaced_with(cluster.client().clone(), namespace, &resource);
            let params = ListParams::default();
            let list = retry::read(&format!("list {}", resource.plural), || api.list(&params))
                .await
                .map_err(|err| K8sError::List {
                    what: format!("{} in namespace {namespace}", resource.plural),
                    source: ApiFailure::from_kube(&err, false),
                })?;
            Ok(list
                .items
                .iter()
                .filter(|item| !is_ours(&item.metadata) && !automatic(&resource.kind, item))
                .map(|item| {
                    format!(
                        "{} {namespace}/{}",
                        resource.kind,
                        item.metadata.name.as_deref().unwrap_or_default()
                    )
                })
                .collect())
        })
        .buffer_unordered(crate::k8s::CONCURRENCY)
        .collect()
        .await;
    let mut foreign = Vec::new();
    for list in lists {
        foreign.extend(list?);
    }
    foreign.sort();
    Ok(foreign)
}

/// Kinds that running workloads create on their own.
fn by_product(group: &str, kind: &str) -> bool {
    matches!(
        (group, kind),
        ("", "Pod" | "Event" | "Endpoints")
            | ("events.k8s.io", "Event")
            | ("apps", "ReplicaSet" | "ControllerRevision")
            | ("discovery.k8s.io", "EndpointSlice")
            | ("coordination.k8s.io", "Lease")
            | ("authorization.k8s.io", _)
    )
}

/// Objects Kubernetes makes in every namespace, and dependents of other objects.
fn automatic(kind: &str, item: &DynamicObject) -> bool {
    let name = item.metadata.name.as_deref().unwrap_or_default();
    item.metadata
        .owner_references
        .as_ref()
        .is_some_and(|o| !o.is_empty())
        || (kind == "ServiceAccount" && name == "default")
        || (kind == "ConfigMap" && name == "kube-root-ca.crt")
}
