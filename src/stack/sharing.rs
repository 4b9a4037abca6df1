//! Stacks may share a namespace only when they ask the same of it. A namespace carries one
//! Pod Security level and one Linkerd injection setting for every pod in it: merged, one
//! stack's needs would mesh the other's pods, or relax what the API server admits of them.

use super::Stack;
use crate::diagnostic::Diagnostic;

/// The annotation that asks Linkerd's injector to mesh a namespace's pods.
const INJECT: &str = "linkerd.io/inject";

/// Each stack that shares a namespace with an earlier one must agree with it on meshing and
/// on the Pod Security level; the error names both files and what differs.
pub(super) fn check_shared_namespaces(stacks: &[Stack], errors: &mut Vec<Diagnostic>) {
    for (index, stack) in stacks.iter().enumerate() {
        let Some(first) = stacks[..index]
            .iter()
            .find(|other| other.namespace.value == stack.namespace.value)
        else {
            continue;
        };
        let name = stack.namespace.as_str();
        let (ours, theirs) = (
            stack.spec.namespace_meta(name),
            first.spec.namespace_meta(name),
        );
        let meshing = |meta: &super::NamespaceMeta| {
            meta.annotations
                .get(INJECT)
                .map_or_else(|| "unset".to_owned(), |value| format!("\"{value}\""))
        };
        let mut differences = Vec::new();
        if meshing(&ours) != meshing(&theirs) {
            differences.push(format!(
                "meshing ({INJECT} {} for {}, {} for {})",
                meshing(&theirs),
                first.name(),
                meshing(&ours),
                stack.name()
            ));
        }
        if ours.pod_security != theirs.pod_security {
            differences.push(format!(
                "Pod Security ({} for {}, {} for {})",
                theirs.pod_security.as_str(),
                first.name(),
                ours.pod_security.as_str(),
                stack.name()
            ));
        }
        if differences.is_empty() {
            continue;
        }
        errors.push(
            Diagnostic::new(
                stack.namespace.at.clone(),
                format!(
                    "stacks {} ({}) and {} ({}) share namespace \"{name}\" but differ in {}: a namespace meshes and admits all of its pods alike",
                    first.name(),
                    first.file.path.display(),
                    stack.name(),
                    stack.file.path.display(),
                    differences.join(" and ")
                ),
            )
            .field("namespace")
            .note(first.namespace.at.clone(), format!("{} uses the namespace here", first.name()))
            .help("give one of the stacks a namespace of its own"),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{bookinfo, cluster, linkerd, load_files, prometheus};

    fn error(files: &[(&str, String)]) -> String {
        match load_files(files) {
            Ok(_) => panic!("must not load"),
            Err(err) => err.to_string(),
        }
    }

    #[test]
    fn stacks_that_differ_in_meshing_or_pod_security_cannot_share() {
        let err = error(&[
            ("cluster.yaml", cluster("[]")),
            ("linkerd.yaml", linkerd("linkerd")),
            ("prometheus.yaml", prometheus("shared")),
            ("bookinfo.yaml", bookinfo("shared", true, "")),
        ]);
        assert!(
            err.contains("stacks/bookinfo.yaml:2:12: namespace: stacks prometheus (stacks/prometheus.yaml) and bookinfo (stacks/bookinfo.yaml) share namespace \"shared\" but differ in meshing (linkerd.io/inject unset for prometheus, \"enabled\" for bookinfo): a namespace meshes and admits all of its pods alike"),
            "{err}"
        );
        let err = error(&[
            ("cluster.yaml", cluster("[]")),
            ("prometheus.yaml", prometheus("shared")),
            ("bookinfo.yaml", bookinfo("shared", false, "")),
        ]);
        assert!(
            err.contains(
                "differ in Pod Security (privileged for prometheus, restricted for bookinfo)"
            ),
            "{err}"
        );
    }

    #[test]
    fn stacks_that_agree_may_share() {
        let grafana = "kind: Grafana\nnamespace: shared\nspec:\n  image: docker.io/grafana/grafana:13.2.0\n  adminUser: admin\n  adminSecret: grafana-admin\n";
        let loaded = load_files(&[
            ("cluster.yaml", cluster("[]")),
            ("prometheus.yaml", prometheus("monitoring")),
            ("grafana.yaml", grafana.to_owned()),
            ("bookinfo.yaml", bookinfo("shared", false, "")),
        ]);
        assert!(loaded.is_ok(), "{:?}", loaded.err().map(|e| e.to_string()));
    }
}
