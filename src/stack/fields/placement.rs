//! Where pods run, and the taints they tolerate.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Where a workload's pods may run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Placement {
    /// Pinned to the control-plane node: its node selector plus tolerations for its taints.
    ControlPlane,
    /// Wherever the scheduler puts it; the control-plane taints keep it off that node.
    #[default]
    Anywhere,
    /// Any node including the control plane: tolerations only (DaemonSets then run everywhere).
    AllNodes,
}

impl fmt::Display for Placement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::ControlPlane => "control-plane",
            Self::Anywhere => "anywhere",
            Self::AllNodes => "all-nodes",
        })
    }
}

/// The effect of a node taint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum TaintEffect {
    /// New pods are not scheduled.
    NoSchedule,
    /// The scheduler avoids the node.
    PreferNoSchedule,
    /// Running pods are evicted.
    NoExecute,
}

impl TaintEffect {
    /// The API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoSchedule => "NoSchedule",
            Self::PreferNoSchedule => "PreferNoSchedule",
            Self::NoExecute => "NoExecute",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T, String> {
        serde_yaml::from_str(text).map_err(|e| e.to_string())
    }

    #[test]
    fn placements() {
        assert_eq!(
            yaml::<Placement>("control-plane"),
            Ok(Placement::ControlPlane)
        );
        assert!(yaml::<Placement>("master").unwrap_err().contains(
            "unknown variant `master`, expected one of `control-plane`, `anywhere`, `all-nodes`"
        ));
    }
}
