//! obsboot renders, bootstraps and tears down an observability platform (Bookinfo,
//! Prometheus, Grafana, Linkerd) on a self-managed Kubernetes cluster on EC2.
//!
//! The data flow: stack files ([`stack`]) load into a validated [`stack::Platform`];
//! [`render`] turns it, with the templates, into a [`plan::Plan`] of checked objects and
//! ingress rules; [`output`] prints it.
//!
//! This is the crate obsboot-core: everything but the AWS SDK. The EC2 calls on the SDK are the
//! crate obsboot-ec2, which the `obsboot` binary links and hands to [`cli::run`] as an
//! [`aws::Connect`].

pub mod aws;
pub mod bootstrap;
pub mod chars;
pub mod cli;
pub mod clip;
pub mod diagnostic;
pub mod doctor;
mod embedded;
mod encoding;
mod error;
pub mod exit;
pub mod field_path;
pub mod inspect;
pub mod k8s;
pub mod names;
pub mod network;
pub mod output;
mod parallel;
pub mod plan;
pub mod progress;
pub mod render;
pub mod report;
pub mod secrets;
pub mod selection;
pub mod source;
pub mod stack;
pub mod teardown;
#[cfg(test)]
mod testing;
pub mod text_file;
pub mod verify;
pub mod yaml;

pub use error::Error;
