//! The cluster side: connecting, applying with server-side apply, waiting for readiness by
//! watching, the inventory of what obsboot applied, and deleting it again.

mod apply;
mod client;
mod delete;
mod error;
pub mod explain;
pub mod inventory;
pub mod ready;
mod retry;
mod wait;

pub use apply::{ApplyMode, is_ours, is_secret};
pub use client::{Cluster, Target};
pub use delete::Deleted;
pub use error::{ApiFailure, Conflict, K8sError};
pub use wait::{Until, to_value};
