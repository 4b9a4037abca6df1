//! What the checks read, gathered once: the nodes, their instances and groups' rules, the
//! CNI, the cluster's ranges, where Prometheus runs and the optional probes; and what
//! follows from it (the flows the cluster needs and what the rules say of each).

use crate::network::cni::Cni;
use crate::network::fixes::{self, FixPlan, Profile};
use crate::network::flows::{self, Prometheus, Purpose, Requirements};
use crate::network::model::{NodeNet, Ranges};
use crate::network::verdict::{self, Evaluation};

use super::inventory::{Inventory, KubeNode};
use super::probe::Probe;
use super::webhooks::Webhook;

/// A fact that was read, or why it was not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Read<T> {
    /// Read.
    Read(T),
    /// Not read, and why (`--skip-security-groups`, `--no-probe`).
    Skipped(String),
}

impl<T> Read<T> {
    /// The value, when read.
    pub fn get(&self) -> Option<&T> {
        match self {
            Self::Read(value) => Some(value),
            Self::Skipped(_) => None,
        }
    }

    /// Why it was not read.
    pub fn skipped(&self) -> Option<&str> {
        match self {
            Self::Read(_) => None,
            Self::Skipped(why) => Some(why),
        }
    }
}

/// Everything the checks read.
#[derive(Debug, Clone)]
pub struct Facts {
    /// cluster.yaml's `name`: the cluster tag of obsboot's rules.
    pub installation: String,
    /// The cluster's nodes.
    pub nodes: Vec<KubeNode>,
    /// Their instances and groups' rules.
    pub ec2: Read<Inventory>,
    /// The CNI.
    pub cni: Cni,
    /// The pod, Service and VPC ranges.
    pub ranges: Ranges,
    /// Where the platform's Prometheus runs.
    pub prometheus: Prometheus,
    /// The probes through the API server.
    pub probes: Read<Vec<Probe>>,
    /// The admission webhooks and the nodes their backends run on.
    pub webhooks: Vec<Webhook>,
    /// How much `--fix` opens.
    pub profile: Profile,
}

/// What follows from the facts.
#[derive(Debug, Clone, Default)]
pub struct Analysis {
    /// The flows the cluster needs.
    pub requirements: Requirements,
    /// What the rules say of each.
    pub evaluations: Vec<Evaluation>,
}

impl Facts {
    /// The placed nodes, when EC2 was read.
    pub fn net_nodes(&self) -> &[NodeNet] {
        self.ec2.get().map_or(&[], |i| i.nodes.as_slice())
    }

    /// The flows and their verdicts; empty without EC2.
    pub fn analyse(&self) -> Analysis {
        let Some(inventory) = self.ec2.get() else {
            return Analysis::default();
        };
        let requirements = flows::required(
            &self.cni,
            &inventory.nodes,
            &self.ranges.pods,
            &self.prometheus,
        );
        let evaluations =
            verdict::evaluate_all(&requirements.flows, &inventory.nodes, &inventory.rules);
        Analysis {
            requirements,
            evaluations,
        }
    }

    /// The rules that would carry the denied flows of `purpose` (all of them for `None`),
    /// with the profile `profile`.
    pub fn plan(&self, analysis: &Analysis, purpose: Option<Purpose>, profile: Profile) -> FixPlan {
        let Some(inventory) = self.ec2.get() else {
            return FixPlan::default();
        };
        let evaluations: Vec<Evaluation> = analysis
            .evaluations
            .iter()
            .filter(|e| purpose.is_none_or(|p| e.flow.purpose() == p))
            .cloned()
            .collect();
        let mut requirements = analysis.requirements.clone();
        if purpose.is_some_and(|p| p != Purpose::Cni) {
            requirements.source_dest_check.clear();
        }
        fixes::plan(
            &evaluations,
            &requirements,
            &inventory.nodes,
            &inventory.rules,
            profile,
        )
    }
}
