//! Checking a bootstrapped platform from outside: probes of the endpoints it exposes, each
//! failure naming the layer that failed and the next step.

pub mod command;
mod diagnose;
mod endpoints;
pub mod probe;

pub use diagnose::{Context, EndpointReport, Layer, ProbeReport, verify};
pub use endpoints::{Endpoint, endpoints, url_host};
