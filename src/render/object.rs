//! A rendered Kubernetes object: its JSON value, its identity, the stack it belongs to and
//! where it came from (for errors that point at it).

use std::fmt;
use std::sync::{Arc, OnceLock};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::diagnostic::Diagnostic;
use crate::field_path::FieldPath;
use crate::source::{Location, SourceFile, Span};
use crate::stack::StackKind;
use crate::yaml::tree::{self, Node};

/// What identifies an object in a cluster: group, kind, namespace, name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey {
    /// The API group (`""` for core).
    pub group: String,
    /// The kind.
    pub kind: String,
    /// The namespace, for namespaced kinds.
    pub namespace: Option<String>,
    /// The name.
    pub name: String,
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(namespace) => write!(f, "{} {namespace}/{}", self.kind, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

/// Where an object came from.
#[derive(Debug, Clone)]
pub enum Origin {
    /// A document of a template's output.
    Template {
        /// The template's output.
        rendered: Arc<Rendered>,
        /// Which of its documents.
        document: usize,
    },
    /// Built by obsboot from a field of a stack file (namespaces).
    Stack(Location),
}

impl Origin {
    /// Where the field at `path` of the object is, or the closest place that explains it.
    pub fn at(&self, path: &FieldPath) -> Location {
        match self {
            Self::Template { rendered, document } => {
                Location::new(&rendered.file, rendered.span_of(*document, path))
            }
            Self::Stack(at) => at.clone(),
        }
    }

    /// A short description for the `# Source:` comment of the output.
    pub fn describe(&self) -> String {
        match self {
            Self::Template { rendered, .. } => rendered
                .file
                .path
                .to_string_lossy()
                .trim_end_matches(" (rendered)")
                .to_owned(),
            Self::Stack(at) => format!("{}", at.path().display()),
        }
    }
}

/// A template's output, shown as `<template> (rendered)`. Positions in it are needed only
/// to report an error, so its YAML is parsed into a tree of positions on first use.
#[derive(Debug)]
pub struct Rendered {
    /// The output text.
    pub file: Arc<SourceFile>,
    /// Whether it was rendered when the binary was built (see [`super::prerendered`]).
    pub prerendered: bool,
    trees: OnceLock<Vec<Option<Node>>>,
}

impl Rendered {
    /// Wraps a template's output; `prerendered` when it was rendered at build time.
    pub fn new(file: Arc<SourceFile>, prerendered: bool) -> Self {
        Self {
            file,
            prerendered,
            trees: OnceLock::new(),
        }
    }

    /// Where `path` is in the `document`th document.
    fn span_of(&self, document: usize, path: &FieldPath) -> Span {
        let trees = self
            .trees
            .get_or_init(|| tree::parse_stream(&self.file).unwrap_or_default());
        trees
            .get(document)
            .and_then(Option::as_ref)
            .map_or(Span::new(1, 1, 1), |tree| tree.span_of(path))
    }
}

/// A rendered object.
#[derive(Debug, Clone)]
pub struct Object {
    /// The stack it belongs to (its `obsboot.dev/stack` label).
    pub stack: StackKind,
    /// Its identity.
    pub key: ObjectKey,
    /// The whole object (a JSON map).
    pub value: Value,
    /// Where it came from.
    pub origin: Origin,
}

impl Object {
    /// Checks that `value` has what every object needs (`apiVersion`, `kind`,
    /// `metadata.name`) and wraps it. The namespace is taken as written; the checks decide
    /// later whether the kind needs one.
    pub fn new(value: Value, origin: Origin, stack: StackKind) -> Result<Self, Diagnostic> {
        let Value::Object(map) = &value else {
            return Err(Diagnostic::new(
                origin.at(&FieldPath::root()),
                "a manifest document must be a mapping (an object)",
            ));
        };
        let text = |path: &[&str]| -> Result<String, Diagnostic> {
            let mut field = FieldPath::root();
            let mut current = Some(map);
            let mut found = None;
            for (depth, key) in path.iter().enumerate() {
                field = field.key(key);
                let next = current.and_then(|m| m.get(*key));
                if depth + 1 == path.len() {
                    found = next;
                } else {
                    current = next.and_then(Value::as_object);
                }
            }
            match found {
                Some(Value::String(text)) if !text.is_empty() => Ok(text.clone()),
                Some(other) => Err(Diagnostic::new(
                    origin.at(&field),
                    format!("expected a non-empty string, found {other}"),
                )
                .field(field.to_string())),
                None => Err(Diagnostic::new(
                    origin.at(&field),
                    "missing; every object needs apiVersion, kind and metadata.name",
                )
                .field(field.to_string())),
            }
        };
        let api_version = text(&["apiVersion"])?;
        let kind = text(&["kind"])?;
        let name = text(&["metadata", "name"])?;
        let namespace = match map.get("metadata").and_then(|m| m.get("namespace")) {
            None | Some(Value::Null) => None,
            Some(_) => Some(text(&["metadata", "namespace"])?),
        };
        let group = api_version
            .rsplit_once('/')
            .map(|(group, _)| group.to_owned())
            .unwrap_or_default();
        Ok(Self {
            stack,
            key: ObjectKey {
                group,
                kind,
                namespace,
                name,
            },
            value,
            origin,
        })
    }

    /// Whether the object comes from a template's output rendered at build time.
    pub fn is_prerendered(&self) -> bool {
        matches!(&self.origin, Origin::Template { rendered, .. } if rendered.prerendered)
    }

    /// The `apiVersion`.
    pub fn api_version(&self) -> &str {
        self.value
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// Reads the object as the typed struct `T`; errors name the field.
    pub fn typed<T: DeserializeOwned>(
        &self,
    ) -> Result<T, serde_path_to_error::Error<serde_json::Error>> {
        from_value(&self.value)
    }

    /// The object's metadata.
    pub fn metadata(&self) -> Result<ObjectMeta, serde_json::Error> {
        serde_json::from_value(self.value.get("metadata").cloned().unwrap_or(Value::Null))
    }

    /// Replaces the object's metadata.
    pub fn set_metadata(&mut self, metadata: &ObjectMeta) -> Result<(), serde_json::Error> {
        let metadata = serde_json::to_value(metadata)?;
        if let Value::Object(map) = &mut self.value {
            map.insert("metadata".into(), metadata);
        }
        Ok(())
    }
}

/// Deserializes `value` as `T`. Only when that fails is it done again with path tracking
/// (which is slower), so that the error names the field.
pub fn from_value<T: DeserializeOwned>(
    value: &Value,
) -> Result<T, serde_path_to_error::Error<serde_json::Error>> {
    T::deserialize(value).or_else(|_| serde_path_to_error::deserialize(value))
}

/// Converts a serde path into a field path for locating.
pub fn field_path(path: &serde_path_to_error::Path) -> FieldPath {
    use serde_path_to_error::Segment;
    path.iter()
        .fold(FieldPath::root(), |field, segment| match segment {
            Segment::Seq { index } => field.index(*index),
            Segment::Map { key } => field.key(key),
            Segment::Enum { variant } => field.key(variant),
            Segment::Unknown => field,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Span;

    fn origin() -> Origin {
        let file = SourceFile::new("stacks/x.yaml", "namespace: x\n");
        Origin::Stack(Location::new(&file, Span::new(1, 12, 1)))
    }

    #[test]
    fn reads_identity() {
        let value = serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "n"}});
        let object = Object::new(value, origin(), StackKind::Bookinfo).unwrap();
        assert_eq!(object.key.to_string(), "Deployment n/d");
        assert_eq!(object.key.group, "apps");
        assert_eq!(object.api_version(), "apps/v1");
        let core =
            serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"}});
        assert_eq!(
            Object::new(core, origin(), StackKind::Bookinfo)
                .unwrap()
                .key
                .group,
            ""
        );
    }

    #[test]
    fn names_the_missing_field() {
        let value = serde_json::json!({"apiVersion": "v1", "kind": "Service", "metadata": {}});
        let err = Object::new(value, origin(), StackKind::Bookinfo).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("metadata.name"));
        let value = serde_json::json!({"apiVersion": "v1", "kind": 3, "metadata": {"name": "a"}});
        assert!(
            Object::new(value, origin(), StackKind::Bookinfo)
                .unwrap_err()
                .message
                .contains("found 3")
        );
        assert!(Object::new(serde_json::json!([1]), origin(), StackKind::Bookinfo).is_err());
    }
}
