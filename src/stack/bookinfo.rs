//! The Bookinfo stack's settings.

use serde::{Deserialize, Serialize};

use super::fields::{ImageRepository, ImageTag};

/// `spec:` of a Bookinfo stack file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BookinfoSpec {
    /// Whether Linkerd meshes the namespace (`linkerd.io/inject: enabled`).
    pub mesh: bool,
    /// Where the six images come from.
    pub images: BookinfoImages,
}

/// Bookinfo's images: `<registry>/examples-bookinfo-<service>-<version>:<tag>`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BookinfoImages {
    /// Registry and organisation, such as `docker.io/istio`.
    pub registry: ImageRepository,
    /// The tag all six images share.
    pub tag: ImageTag,
}
