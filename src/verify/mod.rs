//! Checking a bootstrapped platform from outside: probes of the endpoints it exposes and,
//! through Grafana's API, of the data path behind them (Grafana → Prometheus → targets),
//! each failure naming the layer that failed and the next step.

mod answers;
pub mod command;
mod credentials;
mod datapath;
mod diagnose;
mod endpoints;
mod grafana;
mod hosts;
pub mod probe;
mod scrape;
mod topology;

pub use diagnose::{Context, EndpointReport, Layer, ProbeReport, verify};
pub use endpoints::{Endpoint, Place, endpoints, endpoints_at, url_host};
pub use hosts::{Hosts, NodeAddress, endpoints_on};
pub use scrape::{Down, Summary};
