//! Inline stack files for unit tests.

use std::sync::Arc;

use crate::source::SourceFile;
use crate::stack::{Platform, StackError, load};

/// A cluster file with `sources` as its ingress sources.
pub fn cluster(sources: &str) -> String {
    format!(
        "kind: Cluster\nname: test\ncontrolPlane:\n  nodeSelector:\n    node-role.kubernetes.io/control-plane: \"\"\n  taints:\n    - key: node-role.kubernetes.io/control-plane\n      effect: NoSchedule\n    - key: node-role.kubernetes.io/master\n      effect: NoSchedule\naws:\n  region: auto\n  securityGroup: control-plane-node\ningress:\n  sources: {sources}\n"
    )
}

/// A Bookinfo stack file in `namespace`, meshed or not, with `workloads` (YAML, indented by
/// two spaces) as its workload declarations.
pub fn bookinfo(namespace: &str, mesh: bool, workloads: &str) -> String {
    format!(
        "kind: Bookinfo\nnamespace: {namespace}\nspec:\n  mesh: {mesh}\n  images:\n    registry: docker.io/istio\n    tag: 1.20.3\nworkloads:\n{workloads}"
    )
}

/// productpage pinned and exposed on 30080.
pub const PRODUCTPAGE: &str = "  productpage-v1:\n    placement: control-plane\n    expose:\n      - containerPort: 9080\n        hostPort: 30080\n        description: productpage\n";

/// Loads `files` (name, text) as the stacks directory `stacks`.
pub fn load_files(files: &[(&str, String)]) -> Result<Platform, StackError> {
    let files: Vec<Arc<SourceFile>> = files
        .iter()
        .map(|(name, text)| SourceFile::new(format!("stacks/{name}"), text.clone()))
        .collect();
    load(&files, "stacks")
}

/// A Linkerd stack file in `namespace`.
pub fn linkerd(namespace: &str) -> String {
    format!(
        "kind: Linkerd\nnamespace: {namespace}\nspec:\n  version: edge-26.8.3\n  registry: cr.l5d.io/linkerd\n  clusterDomain: cluster.local\n  trustDomain: cluster.local\n  clusterNetworks: [10.0.0.0/8]\n  iptablesMode: nft\n  nativeSidecar: true\n  gatewayApi: if-absent\n  heartbeat: false\n"
    )
}

/// A Prometheus stack file in `namespace`.
pub fn prometheus(namespace: &str) -> String {
    format!(
        "kind: Prometheus\nnamespace: {namespace}\nspec:\n  images:\n    prometheus: quay.io/prometheus/prometheus:v3.14.0\n    configReloader: quay.io/prometheus-operator/prometheus-config-reloader:v0.93.1\n    kubeStateMetrics: registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.20.0\n    nodeExporter: quay.io/prometheus/node-exporter:v1.12.1\n  retention: 15d\n  scrapeInterval: 30s\n  storage:\n    volume: emptyDir\n    size: 8Gi\n"
    )
}

/// A cluster with `sources`, Linkerd, and Bookinfo with `workloads`.
pub fn platform(sources: &str, workloads: &str) -> Platform {
    match load_files(&[
        ("cluster.yaml", cluster(sources)),
        ("linkerd.yaml", linkerd("linkerd")),
        ("bookinfo.yaml", bookinfo("bookinfo", true, workloads)),
    ]) {
        Ok(platform) => platform,
        Err(err) => panic!("the test stacks must load: {err}"),
    }
}
