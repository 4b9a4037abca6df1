//! What a teardown did: deleted, already gone, left behind with the reason.

use serde::Serialize;

use crate::k8s::inventory::Entry;

/// The whole run.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The API server.
    pub cluster: String,
    /// Deleted and gone.
    pub deleted: Vec<String>,
    /// Recorded or planned, but not there.
    pub already_gone: Vec<String>,
    /// Still there, with why.
    pub left_behind: Vec<LeftBehind>,
    /// The security-group rules revoked, when obsboot manages them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_groups: Option<crate::aws::Closed>,
}

/// An object teardown did not remove.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LeftBehind {
    /// `Kind namespace/name`.
    pub object: String,
    /// Why.
    pub reason: String,
    /// Whether obsboot chose to keep it (an existing namespace, `--keep-crds`) rather than
    /// failing to remove it.
    pub kept: bool,
}

impl Report {
    /// Records `entry` as left behind for `reason`.
    pub fn leave(&mut self, entry: &Entry, reason: &str) {
        self.left(entry, reason, false);
    }

    /// Records `entry` as kept on purpose.
    pub fn keep(&mut self, entry: &Entry, reason: &str) {
        self.left(entry, reason, true);
    }

    fn left(&mut self, entry: &Entry, reason: &str, kept: bool) {
        self.left_behind.push(LeftBehind {
            object: entry.key().to_string(),
            reason: reason.to_owned(),
            kept,
        });
    }

    /// Whether `entry` was left behind.
    pub fn is_left(&self, entry: &Entry) -> bool {
        let object = entry.key().to_string();
        self.left_behind.iter().any(|left| left.object == object)
    }

    /// Whether something obsboot meant to delete is still there.
    pub fn incomplete(&self) -> bool {
        self.left_behind.iter().any(|left| !left.kept)
    }
}
