//! What a bootstrap did, for the closing summary and `-o json`.

use serde::Serialize;
use time::format_description::well_known::Rfc3339;

use super::apply::Action;
use super::graph::{Group, Need};
use super::secrets::Source;
use crate::aws::{Applied, Target};
use crate::secrets::renewal::Renewal;
use crate::verify::EndpointReport;

/// The whole run.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The API server.
    pub cluster: String,
    /// Each group that had work, in the order they started.
    pub groups: Vec<GroupReport>,
    /// Every applied object and what applying did.
    pub objects: Vec<ObjectReport>,
    /// The generated Secrets: created now, or reused.
    pub secrets: Vec<SecretReport>,
    /// Planned objects that exist under another owner and were left as they are.
    pub left_alone: Vec<LeftAlone>,
    /// Objects of an earlier run that the stacks no longer hold, deleted.
    pub pruned: Vec<String>,
    /// Deployments restarted because their pods had started without a Linkerd proxy.
    pub restarted: Vec<String>,
    /// How to read Grafana's administrator password (never the password).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grafana_password: Option<String>,
    /// The security group and what changed in it, when obsboot manages it and the
    /// control-plane nodes have one group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_group: Option<SecurityGroupReport>,
    /// With control-plane nodes in several groups: each group and what changed in it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub security_groups: Vec<SecurityGroupReport>,
    /// With the security group left to the user: the rules to add by hand.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_opened: Vec<String>,
    /// Exposed ports no source may reach yet.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub closed: Vec<String>,
    /// Where to open what was exposed.
    pub urls: Vec<Url>,
    /// The endpoint checks, unless skipped.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub verified: Vec<EndpointReport>,
}

/// The security group and what bootstrap changed in it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityGroupReport {
    /// Which group, found how.
    #[serde(flatten)]
    pub target: Target,
    /// What changed.
    #[serde(flatten)]
    pub applied: Applied,
    /// The other control-plane nodes' instances that carry the group (one rule serves them
    /// all).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub shared_with: Vec<String>,
}

/// An exposed endpoint.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Url {
    /// What it is.
    pub name: String,
    /// Where; empty when not known (see `unplaced`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub url: String,
    /// The control-plane node whose address it is, when there are several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// Why the address is not known (its pod is not scheduled yet, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unplaced: Option<String>,
}

impl Report {
    /// Whether the run changed anything in the cluster.
    pub fn changed(&self) -> bool {
        self.objects.iter().any(|o| o.action != Action::Unchanged)
            || self.secrets.iter().any(|s| s.source != Source::Reused)
            || !self.pruned.is_empty()
            || !self.restarted.is_empty()
            || self.groups().any(|sg| sg.applied.changed())
    }

    /// Every security group and what changed in it.
    pub fn groups(&self) -> impl Iterator<Item = &SecurityGroupReport> {
        self.security_group.iter().chain(&self.security_groups)
    }

    /// The endpoints that failed their check.
    pub fn unreachable(&self) -> usize {
        self.verified.iter().filter(|e| !e.passed).count()
    }
}

/// One group of objects.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupReport {
    /// Which.
    pub group: Group,
    /// What it waited for before it started.
    pub needs: Vec<Need>,
    /// Its objects, `Kind namespace/name`.
    pub objects: Vec<String>,
    /// Objects applied.
    pub applied: usize,
    /// Of those, created.
    pub created: usize,
    /// Of those, changed.
    pub configured: usize,
    /// Objects waited for until ready.
    pub waited_for: usize,
    /// When it started, in seconds since the first group started.
    pub started_at: f64,
    /// When it was ready, on the same clock; absent if it never was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ready_at: Option<f64>,
    /// From its start to ready, in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
}

/// One applied object.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectReport {
    /// `Kind namespace/name`.
    pub object: String,
    /// Its stack.
    pub stack: String,
    /// What applying did.
    pub action: Action,
}

/// One generated Secret.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretReport {
    /// `Secret namespace/name`.
    pub object: String,
    /// Created now, renewed now, or reused.
    pub source: Source,
    /// For a renewal: what was replaced and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renewal: Option<RenewalReport>,
}

/// A certificate renewed.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RenewalReport {
    /// Which certificate.
    pub certificate: String,
    /// Why it was replaced.
    pub reason: String,
    /// When the replaced one ends (RFC 3339).
    pub previous_not_after: String,
    /// When the new one ends (RFC 3339).
    pub not_after: String,
}

impl From<&Renewal> for RenewalReport {
    fn from(renewal: &Renewal) -> Self {
        let at = |time: time::OffsetDateTime| time.format(&Rfc3339).unwrap_or_default();
        Self {
            certificate: renewal.certificate.clone(),
            reason: renewal.reason.clone(),
            previous_not_after: at(renewal.previous_expiry),
            not_after: at(renewal.expiry),
        }
    }
}

/// A planned object left to its owner.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LeftAlone {
    /// `Kind namespace/name`.
    pub object: String,
    /// Why.
    pub reason: String,
}
