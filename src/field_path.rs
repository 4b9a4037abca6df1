//! Paths to fields, shown as a user would write them: `workloads.productpage-v1.expose[0]`.

use std::fmt;

/// One step of a path into a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSeg {
    /// A mapping key.
    Key(String),
    /// A sequence index.
    Index(usize),
}

/// A path to a field, shown as `workloads.productpage-v1.expose[0].hostPort`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldPath(Vec<PathSeg>);

impl FieldPath {
    /// The document root.
    pub fn root() -> Self {
        Self::default()
    }

    /// This path extended by a mapping key.
    #[must_use]
    pub fn key(&self, key: impl fmt::Display) -> Self {
        let mut path = self.clone();
        path.0.push(PathSeg::Key(key.to_string()));
        path
    }

    /// This path extended by a sequence index.
    #[must_use]
    pub fn index(&self, index: usize) -> Self {
        let mut path = self.clone();
        path.0.push(PathSeg::Index(index));
        path
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, seg) in self.0.iter().enumerate() {
            match seg {
                PathSeg::Key(key) if key.contains(['.', ' ', '[']) => {
                    write!(f, "{}\"{key}\"", if position > 0 { "." } else { "" })?;
                }
                PathSeg::Key(key) if position > 0 => write!(f, ".{key}")?,
                PathSeg::Key(key) => f.write_str(key)?,
                PathSeg::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

impl FieldPath {
    /// The steps of the path.
    pub fn segments(&self) -> &[PathSeg] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_display_like_field_accessors() {
        let path = FieldPath::root()
            .key("workloads")
            .key("productpage-v1")
            .key("expose")
            .index(0)
            .key("hostPort");
        assert_eq!(
            path.to_string(),
            "workloads.productpage-v1.expose[0].hostPort"
        );
        let dotted = FieldPath::root()
            .key("nodeSelector")
            .key("node-role.kubernetes.io/control-plane");
        assert_eq!(
            dotted.to_string(),
            "nodeSelector.\"node-role.kubernetes.io/control-plane\""
        );
    }
}
