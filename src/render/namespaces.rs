//! Namespaces are obsboot's own objects: built from the stacks' `namespace:` fields, shared
//! when stacks name the same one, with the labels and annotations every user needs.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::labels::STACKS_ANNOTATION;
use super::object::{Object, Origin};
use crate::diagnostic::Diagnostic;
use crate::stack::{NamespaceMeta, Stack};

/// The label that makes the API server enforce a Pod Security level.
const ENFORCE: &str = "pod-security.kubernetes.io/enforce";

/// The namespaces of the `selected` stacks. A namespace shared with other stacks of `all`
/// carries what each of them needs and belongs to the first of them in apply order.
pub fn build(all: &[Stack], selected: &[&Stack]) -> Result<Vec<Object>, Vec<Diagnostic>> {
    let mut names: Vec<&str> = selected
        .iter()
        .map(|stack| stack.namespace.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();
    let mut objects = Vec::with_capacity(names.len());
    let mut errors = Vec::new();
    for name in names {
        let users: Vec<&Stack> = all
            .iter()
            .filter(|stack| stack.namespace.as_str() == name)
            .collect();
        let Some((owner, others)) = users.split_first() else {
            continue;
        };
        match merge(owner, others, name).and_then(|meta| object(owner, name, &meta, &users)) {
            Ok(object) => objects.push(object),
            Err(diagnostic) => errors.push(diagnostic),
        }
    }
    if errors.is_empty() {
        Ok(objects)
    } else {
        Err(errors)
    }
}

fn merge(owner: &Stack, others: &[&Stack], name: &str) -> Result<NamespaceMeta, Diagnostic> {
    let mut merged = owner.spec.namespace_meta(name);
    for stack in others {
        let meta = stack.spec.namespace_meta(name);
        merged.pod_security = merged.pod_security.max(meta.pod_security);
        for (what, theirs, ours) in [
            ("label", &meta.labels, &mut merged.labels),
            ("annotation", &meta.annotations, &mut merged.annotations),
        ] {
            for (key, value) in theirs {
                match ours.get(key) {
                    Some(existing) if existing != value => {
                        return Err(Diagnostic::new(
                            stack.namespace.at.clone(),
                            format!("stacks {} and {} share namespace \"{name}\" but need its {what} {key} to be \"{existing}\" and \"{value}\"", owner.name(), stack.name()),
                        )
                        .note(owner.namespace.at.clone(), format!("{} uses the same namespace", owner.name()))
                        .help("give one of the stacks a namespace of its own"));
                    }
                    _ => {
                        ours.insert(key.clone(), value.clone());
                    }
                }
            }
        }
    }
    Ok(merged)
}

fn object(
    owner: &Stack,
    name: &str,
    meta: &NamespaceMeta,
    users: &[&Stack],
) -> Result<Object, Diagnostic> {
    let mut labels: BTreeMap<String, String> = meta.labels.clone();
    labels.insert(ENFORCE.into(), meta.pod_security.as_str().into());
    let mut annotations = meta.annotations.clone();
    annotations.insert(
        STACKS_ANNOTATION.into(),
        users
            .iter()
            .map(|stack| stack.name())
            .collect::<Vec<_>>()
            .join(","),
    );
    let namespace = Namespace {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(labels),
            annotations: Some(annotations),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    };
    let origin = Origin::Stack(owner.namespace.at.clone());
    let value = serde_json::to_value(&namespace).map_err(|err| {
        Diagnostic::new(
            owner.namespace.at.clone(),
            format!("failed to build namespace \"{name}\": {err}"),
        )
    })?;
    Object::new(value, origin, owner.kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{bookinfo, cluster, linkerd, load_files, prometheus};

    fn namespace(object: &Object) -> Namespace {
        object.typed().unwrap_or_else(|err| panic!("{err}"))
    }

    #[test]
    fn a_shared_namespace_is_built_once_with_what_every_stack_needs() {
        let grafana = "kind: Grafana\nnamespace: shared\nspec:\n  image: docker.io/grafana/grafana:13.2.0\n  adminUser: admin\n  adminSecret: grafana-admin\n";
        let platform = load_files(&[
            ("cluster.yaml", cluster("[]")),
            ("linkerd.yaml", linkerd("linkerd")),
            ("prometheus.yaml", prometheus("monitoring")),
            ("grafana.yaml", grafana.to_owned()),
            ("bookinfo.yaml", bookinfo("shared", false, "")),
        ])
        .unwrap_or_else(|err| panic!("{err}"));
        let selected: Vec<&Stack> = platform.stacks.iter().collect();
        let objects = build(&platform.stacks, &selected).unwrap_or_else(|_| panic!("builds"));
        let names: Vec<&str> = objects.iter().map(|o| o.key.name.as_str()).collect();
        assert_eq!(names, ["linkerd", "monitoring", "shared"]);
        let shared = namespace(&objects[2]);
        assert_eq!(
            objects[2].stack,
            crate::stack::StackKind::Grafana,
            "owned by the first in apply order"
        );
        let labels = shared.metadata.labels.unwrap_or_default();
        assert_eq!(labels.get(ENFORCE).map(String::as_str), Some("restricted"));
        let annotations = shared.metadata.annotations.unwrap_or_default();
        assert_eq!(
            annotations.get(STACKS_ANNOTATION).map(String::as_str),
            Some("grafana,bookinfo")
        );
        assert_eq!(annotations.get("linkerd.io/inject"), None);
    }
}
