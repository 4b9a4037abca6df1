//! `obsboot doctor`: what breaks self-managed clusters on EC2 before the platform is even
//! applied — the pod network between the nodes, the kubelets' port, hostPort support —
//! found from the Kubernetes and EC2 APIs alone, each problem with its evidence and its fix.

pub mod report;

pub use report::{Finding, Fix, Report, Status};
