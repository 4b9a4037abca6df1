//! The Grafana stack's settings.

use serde::{Deserialize, Serialize};

use super::fields::{ImageRef, LabelValue, ObjectName};

/// `spec:` of a Grafana stack file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GrafanaSpec {
    /// The Grafana image.
    pub image: ImageRef,
    /// The administrator's login name.
    pub admin_user: LabelValue,
    /// The Secret, created at bootstrap, that holds the administrator's password.
    pub admin_secret: ObjectName,
}
