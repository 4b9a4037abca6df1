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

/// A cluster with `sources`, Linkerd, and Bookinfo with `workloads`.
pub fn platform(sources: &str, workloads: &str) -> Platform {
    match load_files(&[
        ("cluster.yaml", cluster(sources)),
        (
            "linkerd.yaml",
            "kind: Linkerd\nnamespace: linkerd\nspec: {}\n".into(),
        ),
        ("bookinfo.yaml", bookinfo("bookinfo", true, workloads)),
    ]) {
        Ok(platform) => platform,
        Err(err) => panic!("the test stacks must load: {err}"),
    }
}
