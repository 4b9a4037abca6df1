//! The network between the cluster's nodes: which CNI runs and what it sends between nodes
//! ([`cni`], [`flows`]), whether the security groups carry it ([`verdict`]), the rules that
//! would ([`fixes`]), and the pod network's place among the cluster's ranges ([`ranges`]).
//! Everything but [`read`] is pure: the EC2 and Kubernetes facts come in as plain values
//! ([`model`], [`cni::CniObjects`]).

pub mod cni;
pub mod fixes;
pub mod flows;
pub mod model;
pub mod ranges;
pub mod read;
pub mod verdict;

#[cfg(test)]
pub(crate) mod fixtures;

/// Why a network fact could not be taken in.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// A rule's protocol is not one EC2 describes.
    #[error(
        "security-group rule protocol \"{value}\" is not -1, tcp, udp, icmp or a protocol number"
    )]
    Protocol {
        /// What the rule said.
        value: String,
    },
}
