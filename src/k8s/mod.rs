//! The cluster side: connecting, applying with server-side apply, waiting for readiness by
//! watching, the inventory of what obsboot applied, and deleting it again.

/// Requests obsboot keeps in flight at once. An API server admits hundreds per client
/// (`--max-requests-inflight` is 400 by default); this keeps a slow round trip from adding up
/// across the few dozen objects of a phase.
pub const CONCURRENCY: usize = 64;

mod apply;
mod client;
mod delete;
mod error;
pub mod explain;
pub mod inventory;
pub mod lock;
pub mod nodes;
pub mod ready;
pub mod retry;
pub mod storage_classes;
pub mod tenure;
mod wait;

pub use apply::{ApplyMode, is_ours, is_secret};
pub use client::{Cluster, Target};
pub use delete::Deleted;
pub use error::{ApiFailure, Conflict, K8sError};
pub use wait::{Until, to_value};
