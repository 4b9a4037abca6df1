//! Black-box tests of the `obsboot` binary.

// A failed expectation in test support code is a test failure with a message; that is the point.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod apiserver;
mod ec2;
mod harness;
mod network;

mod bootstrap_checks;
mod certificates;
mod cluster;
mod control_planes;
mod corpus;
mod dashboards;
mod doctor;
mod errors;
mod exit_codes;
mod grafana;
mod inventory;
mod linkerd_config;
mod linkerd_parity;
mod lock;
mod meshing;
mod messages;
mod monitoring;
mod prometheus_config;
mod prometheus_discovery;
mod render;
mod retries;
mod schemas;
mod security_groups;
mod simulated;
mod storage;
mod verify;
mod web;
