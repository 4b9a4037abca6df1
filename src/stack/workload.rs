//! Per-workload declarations: where a workload runs and which of its ports are exposed.

use serde::{Deserialize, Serialize};

use super::fields::{Cidr, ObjectName, Placement, Port, RuleDescription};
use crate::source::{Located, Location};

/// A workload entry as written under `workloads:` in a stack file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct WorkloadDecl {
    #[serde(default)]
    pub placement: Placement,
    #[serde(default)]
    pub expose: Vec<ExposureDecl>,
}

/// One exposed port as written: the single declaration that yields both the container's
/// `hostPort` and the security-group rules.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct ExposureDecl {
    pub container_port: Port,
    pub host_port: Port,
    pub description: RuleDescription,
    pub sources: Option<Vec<Cidr>>,
    #[serde(default)]
    pub allow_public: bool,
}

/// A workload of a stack (a Deployment, DaemonSet or StatefulSet the templates render).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Workload {
    /// The workload object's name.
    pub name: ObjectName,
    /// Where its pods run.
    pub placement: Placement,
    /// Its exposed ports.
    #[serde(rename = "expose")]
    pub exposures: Vec<Exposure>,
    /// Where it is declared.
    #[serde(skip)]
    pub at: Location,
}

/// An exposed port, validated: placement allows it, sources are consented to.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Exposure {
    /// The container port traffic is forwarded to.
    #[serde(serialize_with = "located_port")]
    pub container_port: Located<Port>,
    /// The port opened on the node.
    #[serde(serialize_with = "located_port")]
    pub host_port: Located<Port>,
    /// What it is, for people reading the security group.
    pub description: RuleDescription,
    /// Who may connect: this exposure's own `sources`, else the cluster's `ingress.sources`.
    #[serde(skip)]
    pub sources: Vec<Located<Cidr>>,
    /// Whether the user consented to opening it to every address.
    pub allow_public: bool,
    /// Whether `sources` is the exposure's own list (else it is the cluster's default,
    /// which `--allow-from` replaces).
    #[serde(skip)]
    pub own_sources: bool,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's serialize_with passes a reference
fn located_port<S: serde::Serializer>(
    port: &Located<Port>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    port.value.serialize(serializer)
}
