//! The namespaces a plan uses, checked before bootstrap writes anything: one still being
//! deleted (a teardown moments ago) is waited for by watching, bounded by `--timeout`; one
//! that exists without obsboot's label is used as it is, so it must already say that its
//! pods are meshed when its stack's pods must be.

use std::time::Duration;

use futures::future::try_join_all;
use tokio_util::sync::CancellationToken;

use super::BootstrapError;
use crate::k8s::{Cluster, Until, is_ours};
use crate::progress::Progress;
use crate::render::Object;

/// The annotation by which Linkerd's proxy-injector meshes a namespace's new pods.
pub const INJECT: &str = "linkerd.io/inject";

/// Waits for the plan's terminating namespaces to be gone, and refuses a foreign namespace
/// that a meshed stack would use unmeshed.
pub async fn prepare(
    cluster: &Cluster,
    objects: &[&Object],
    timeout: Duration,
    cancel: &CancellationToken,
    progress: &Progress,
) -> Result<(), BootstrapError> {
    let namespaces: Vec<&Object> = objects
        .iter()
        .copied()
        .filter(|o| o.key.group.is_empty() && o.key.kind == "Namespace")
        .collect();
    let live = try_join_all(namespaces.iter().map(|ns| cluster.get(ns))).await?;
    let mut terminating = Vec::new();
    for (namespace, live) in namespaces.iter().zip(live) {
        let Some(live) = live else { continue };
        if live.metadata.deletion_timestamp.is_some() {
            terminating.push(*namespace);
            continue;
        }
        let wanted = annotation(&namespace.value, INJECT);
        let found = live
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(INJECT))
            .map(String::as_str);
        if !is_ours(&live.metadata) && wanted == Some("enabled") && found != wanted {
            return Err(BootstrapError::UnmeshedNamespace {
                namespace: namespace.key.name.clone(),
                stack: namespace.stack.name(),
                found: found.map(str::to_owned),
            });
        }
    }
    for namespace in &terminating {
        progress.line(&format!(
            "waiting for namespace {} to finish terminating (a teardown is still removing it)",
            namespace.key.name
        ));
    }
    try_join_all(
        terminating
            .iter()
            .map(|ns| cluster.wait("v1", &ns.key, Until::Gone, timeout, cancel)),
    )
    .await?;
    Ok(())
}

fn annotation<'a>(object: &'a serde_json::Value, key: &str) -> Option<&'a str> {
    object.pointer("/metadata/annotations")?.get(key)?.as_str()
}
