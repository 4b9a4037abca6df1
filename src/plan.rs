//! What a render produces and bootstrap carries out: objects in apply order, and the
//! security-group ingress rules derived from the stacks' exposures.

use serde::Serialize;

use crate::render::{Object, Slot};
use crate::stack::{Cidr, SecretSpec, Stack, StackKind};

/// When a stack's objects are applied. Namespaces and CRDs come before every phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// The service mesh: everything meshed waits for it.
    Mesh,
    /// Prometheus and Grafana.
    Monitoring,
    /// Applications.
    Apps,
}

/// A rendered platform.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The stacks rendered, in apply order.
    pub stacks: Vec<StackKind>,
    /// Every object, in apply order.
    pub objects: Vec<Object>,
    /// The ingress rules to open.
    pub ingress: IngressPlan,
    /// The Secrets bootstrap creates (never rendered).
    pub secrets: Vec<SecretSpec>,
    /// Where the objects hold material generated at bootstrap.
    pub slots: Vec<Slot>,
}

/// The security-group side of a plan.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IngressPlan {
    /// One rule per exposed port and source CIDR.
    pub rules: Vec<IngressRule>,
    /// Exposed ports that no source CIDR may reach yet, so nothing is opened for them.
    pub closed: Vec<ClosedPort>,
}

/// One ingress rule: TCP `port` from `cidr`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IngressRule {
    /// Always `tcp`.
    pub protocol: &'static str,
    /// The host port.
    pub port: u16,
    /// The source network.
    pub cidr: Cidr,
    /// The rule's description.
    pub description: String,
    /// The stack that exposes the port.
    pub stack: StackKind,
    /// The workload behind the port.
    pub workload: String,
    /// Whether the rule admits every address (consented to with `allowPublic`).
    pub public: bool,
}

/// An exposed port with no source configured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClosedPort {
    /// Always `tcp`.
    pub protocol: &'static str,
    /// The host port.
    pub port: u16,
    /// What it is.
    pub description: String,
    /// The stack that exposes the port.
    pub stack: StackKind,
    /// The workload behind the port.
    pub workload: String,
}

impl IngressPlan {
    /// The rules that `stacks`' exposures call for, ordered by port then source.
    pub fn derive(stacks: &[&Stack]) -> Self {
        let mut plan = Self::default();
        for stack in stacks {
            for workload in &stack.workloads {
                for exposure in &workload.exposures {
                    let port = exposure.host_port.value.get();
                    let description = exposure.description.to_string();
                    if exposure.sources.is_empty() {
                        plan.closed.push(ClosedPort {
                            protocol: "tcp",
                            port,
                            description: description.clone(),
                            stack: stack.kind,
                            workload: workload.name.to_string(),
                        });
                    }
                    plan.rules
                        .extend(exposure.sources.iter().map(|cidr| IngressRule {
                            protocol: "tcp",
                            port,
                            cidr: cidr.value,
                            description: description.clone(),
                            stack: stack.kind,
                            workload: workload.name.to_string(),
                            public: cidr.is_everything(),
                        }));
                }
            }
        }
        plan.rules.sort_by_key(|rule| (rule.port, rule.cidr));
        plan.closed.sort_by_key(|closed| closed.port);
        plan
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{PRODUCTPAGE, platform};

    fn two_exposures() -> String {
        format!(
            "{PRODUCTPAGE}  details-v1:\n    placement: control-plane\n    expose:\n      - containerPort: 9080\n        hostPort: 30070\n        description: details\n        sources: [0.0.0.0/0]\n        allowPublic: true\n"
        )
    }

    #[test]
    fn one_rule_per_port_and_source_in_port_order() {
        let platform = platform("[198.51.100.0/24, 10.0.0.0/8]", &two_exposures());
        let stacks: Vec<&Stack> = platform.stacks.iter().collect();
        let plan = IngressPlan::derive(&stacks);
        let rules: Vec<(u16, String, bool)> = plan
            .rules
            .iter()
            .map(|r| (r.port, r.cidr.to_string(), r.public))
            .collect();
        assert_eq!(
            rules,
            [
                (30070, "0.0.0.0/0".into(), true),
                (30080, "10.0.0.0/8".into(), false),
                (30080, "198.51.100.0/24".into(), false),
            ]
        );
        assert!(plan.closed.is_empty());
        assert!(
            plan.rules
                .iter()
                .all(|r| r.protocol == "tcp" && r.stack == StackKind::Bookinfo)
        );
    }

    #[test]
    fn no_source_means_a_closed_port_not_an_invented_rule() {
        let platform = platform("[]", PRODUCTPAGE);
        let stacks: Vec<&Stack> = platform.stacks.iter().collect();
        let plan = IngressPlan::derive(&stacks);
        assert!(plan.rules.is_empty());
        assert_eq!(plan.closed.len(), 1);
        assert_eq!(
            (plan.closed[0].port, plan.closed[0].workload.as_str()),
            (30080, "productpage-v1")
        );
    }
}
