//! The marks obsboot puts on everything it renders, so that later runs and teardown touch
//! only what carries them.

use serde_json::{Map, Value};

use super::object::Object;

/// The standard label naming the tool that manages an object.
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// Its value on every object obsboot renders.
pub const MANAGER: &str = "obsboot";
/// The label naming the stack an object belongs to.
pub const STACK_LABEL: &str = "obsboot.dev/stack";
/// On namespaces: every stack that lives in it, comma-separated.
pub const STACKS_ANNOTATION: &str = "obsboot.dev/stacks";

/// Sets the ownership labels on `object`.
pub fn own(object: &mut Object) -> Result<(), serde_json::Error> {
    let stack = object.stack.name();
    if let Some(Value::Object(metadata)) = object.value.get_mut("metadata")
        && is_plain(metadata)
    {
        let labels = metadata
            .entry("labels")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(labels) = labels {
            labels.insert(MANAGED_BY.into(), MANAGER.into());
            labels.insert(STACK_LABEL.into(), stack.into());
            return Ok(());
        }
    }
    own_typed(object)
}

/// [`own`] through the typed metadata, which reports what is not metadata and writes the rest
/// as Kubernetes reads it (nulls dropped, say).
fn own_typed(object: &mut Object) -> Result<(), serde_json::Error> {
    let mut metadata = object.metadata()?;
    let labels = metadata.labels.get_or_insert_with(Default::default);
    labels.insert(MANAGED_BY.into(), MANAGER.into());
    labels.insert(STACK_LABEL.into(), object.stack.name().into());
    object.set_metadata(&metadata)
}

/// Whether `metadata` holds only names and maps of strings (labels, annotations): what a
/// template writes, and what the typed metadata would write back unchanged.
fn is_plain(metadata: &Map<String, Value>) -> bool {
    metadata
        .iter()
        .all(|(key, value)| match (key.as_str(), value) {
            ("name" | "namespace" | "generateName", Value::String(_)) => true,
            ("labels" | "annotations", Value::Object(entries)) => {
                entries.values().all(Value::is_string)
            }
            _ => false,
        })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::render::Origin;
    use crate::source::{Location, SourceFile, Span};
    use crate::stack::StackKind;

    fn object(metadata: &Value) -> Object {
        let file = SourceFile::new("stacks/x.yaml", "namespace: x\n");
        let origin = Origin::Stack(Location::new(&file, Span::new(1, 12, 1)));
        let value = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata});
        Object::new(value, origin, StackKind::Grafana).unwrap()
    }

    /// The labels written straight into the map are those the typed metadata writes.
    #[test]
    fn plain_metadata_gets_what_the_typed_way_gives() {
        for metadata in [
            json!({"name": "a"}),
            json!({"name": "a", "namespace": "n", "labels": {}}),
            json!({"name": "a", "labels": {"app": "x", MANAGED_BY: "helm"}, "annotations": {"k": "v"}}),
            json!({"name": "a", "annotations": {}}),
        ] {
            let mut fast = object(&metadata);
            own(&mut fast).unwrap();
            let mut typed = object(&metadata);
            own_typed(&mut typed).unwrap();
            assert_eq!(fast.value, typed.value);
            assert_eq!(fast.value["metadata"]["labels"][STACK_LABEL], "grafana");
        }
    }

    #[test]
    fn other_metadata_is_written_as_kubernetes_reads_it() {
        let mut nulls = object(&json!({"name": "a", "labels": null, "annotations": null}));
        own(&mut nulls).unwrap();
        assert_eq!(
            nulls.value["metadata"],
            json!({"name": "a", "labels": {MANAGED_BY: MANAGER, STACK_LABEL: "grafana"}})
        );
        let mut wrong = object(&json!({"name": "a", "annotations": {"k": 3}}));
        assert!(own(&mut wrong).is_err());
        let mut listed = object(&json!({"name": "a", "labels": ["x"]}));
        assert!(own(&mut listed).is_err());
    }
}
