//! Stack files: their types, loading with located errors, and validation into a [`Platform`].

mod bookinfo;
mod cluster;
mod dir;
mod fields;
mod grafana;
mod kind;
mod linkerd;
mod load;
#[cfg(test)]
mod messages_test;
mod parts;
mod paths;
mod prometheus;
mod sharing;
mod spec;
mod specs;
mod storage;
mod validate;
mod workload;

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

pub use bookinfo::{BookinfoImages, BookinfoSpec};
pub use cluster::{Cluster, Taint};
pub use dir::{EntryError, EntryErrors, MAX_STACK_FILE};
pub use fields::{
    Cidr, DnsLabel, Domain, Duration, ImageRef, ImageRepository, ImageTag, LabelKey, LabelValue,
    ObjectName, Placement, Port, PublicReach, Quantity, Region, RuleDescription, SecurityGroupRef,
    TaintEffect,
};
pub use grafana::GrafanaSpec;
pub use kind::StackKind;
pub use linkerd::DEFAULT_RENEW_BEFORE_DAYS;
pub use linkerd::{Certificates, GatewayApi, IptablesMode, LinkerdSpec, LogFormat, ProxySettings};
pub use load::load;
pub use prometheus::{ControlPlane, PrometheusImages, PrometheusSpec, Storage, Volume};
pub use spec::{NamespaceMeta, PodSecurity, SecretKind, SecretSpec, Spec, TRUST_ANCHOR_SECRET};
pub use storage::{DEFAULT_RETENTION_PERCENT, MAX_RETENTION_PERCENT, StorageView, prometheus_size};
pub use workload::{Exposure, Workload};

use crate::diagnostic::Diagnostics;
use crate::source::{Located, SourceFile};

/// Why the stack files could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum StackError {
    /// The stacks directory could not be listed.
    #[error("failed to read stack directory \"{}\"", path.display())]
    ReadDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A stack file could not be read.
    #[error("failed to read stack file \"{}\"", path.display())]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// Entries of the stacks directory that are misnamed or not regular files.
    #[error("{0}")]
    Entries(EntryErrors),
    /// The directory holds no stack files.
    #[error(
        "no stack files in {origin}; stack files are named cluster.yaml, bookinfo.yaml, prometheus.yaml, grafana.yaml and linkerd.yaml"
    )]
    NoFiles {
        /// Where we looked.
        origin: String,
    },
    /// One or more stack files are invalid; each diagnostic points into a file.
    #[error("{0}")]
    Invalid(Diagnostics),
    /// No file describes the cluster.
    #[error(
        "no stack file in {origin} has `kind: Cluster`; the cluster file says which node is the control plane and who may reach exposed ports"
    )]
    MissingCluster {
        /// Where we looked.
        origin: String,
    },
    /// `--allow-from` would open a port to every address without the exposure's consent.
    #[error(
        "--allow-from {cidr} would open host port {port} ({stack}/{workload}) to {reach}; to consent, set `allowPublic: true` on the exposure in {file}, or give narrower sources"
    )]
    PublicWithoutConsent {
        /// The CIDR, or the CIDRs that together cover every address.
        cidr: String,
        /// What they would open the port to.
        reach: String,
        /// The host port.
        port: u16,
        /// The stack.
        stack: &'static str,
        /// The workload.
        workload: String,
        /// The stack file.
        file: String,
    },
    /// `--stack` named a stack that is not defined.
    #[error("unknown stack \"{name}\"; the stacks defined are: {known}")]
    UnknownStack {
        /// The name asked for.
        name: String,
        /// The names defined.
        known: String,
    },
}

/// Everything the stack files describe, validated.
#[derive(Debug, Clone)]
pub struct Platform {
    /// The cluster.
    pub cluster: Cluster,
    /// Every defined stack, in apply order.
    pub stacks: Vec<Stack>,
}

impl Platform {
    /// Replaces the cluster's default sources (`ingress.sources` in cluster.yaml) with
    /// `cidrs`, for every exposure that does not list its own, as `--allow-from` asks.
    pub fn allow_from(&mut self, cidrs: &[Cidr]) -> Result<(), StackError> {
        let mut unique: Vec<Cidr> = Vec::with_capacity(cidrs.len());
        for cidr in cidrs {
            if !unique.contains(cidr) {
                unique.push(*cidr);
            }
        }
        let text = unique
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n");
        let file = crate::source::SourceFile::new("--allow-from", text);
        let located: Vec<Located<Cidr>> = unique
            .iter()
            .enumerate()
            .map(|(index, cidr)| {
                let span = crate::source::Span {
                    line: index + 1,
                    col: 1,
                    len: cidr.to_string().len(),
                };
                Located::new(*cidr, crate::source::Location::new(&file, span))
            })
            .collect();
        for stack in &mut self.stacks {
            for workload in &mut stack.workloads {
                for exposure in workload.exposures.iter_mut().filter(|e| !e.own_sources) {
                    if let Some(reach) = PublicReach::of(&unique)
                        && !exposure.allow_public
                    {
                        return Err(StackError::PublicWithoutConsent {
                            cidr: reach.to_string(),
                            reach: reach.reach(),
                            port: exposure.host_port.value.get(),
                            stack: stack.kind.name(),
                            workload: workload.name.to_string(),
                            file: exposure.host_port.at.path().display().to_string(),
                        });
                    }
                    exposure.sources.clone_from(&located);
                }
            }
        }
        self.cluster.sources = located;
        Ok(())
    }

    /// The stacks named in `names` (all when empty), in apply order.
    pub fn select(&self, names: &[String]) -> Result<Vec<&Stack>, StackError> {
        if let Some(unknown) = names.iter().find(|name| {
            !self
                .stacks
                .iter()
                .any(|stack| stack.kind.name() == name.as_str())
        }) {
            return Err(StackError::UnknownStack {
                name: unknown.clone(),
                known: self
                    .stacks
                    .iter()
                    .map(|stack| stack.kind.name())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        Ok(self
            .stacks
            .iter()
            .filter(|stack| names.is_empty() || names.iter().any(|name| name == stack.kind.name()))
            .collect())
    }
}

/// One stack, validated.
#[derive(Debug, Clone)]
pub struct Stack {
    /// Its kind, which also names it.
    pub kind: StackKind,
    /// The file it was defined in.
    pub file: Arc<SourceFile>,
    /// The namespace its namespaced objects live in.
    pub namespace: Located<DnsLabel>,
    /// Its kind-specific settings.
    pub spec: Spec,
    /// Its declared workloads, by name.
    pub workloads: Vec<Workload>,
}

impl Stack {
    /// The stack's name.
    pub fn name(&self) -> &'static str {
        self.kind.name()
    }
}

/// Where stack files come from.
#[derive(Debug, Clone)]
pub enum StackSource {
    /// The defaults compiled into the binary.
    Embedded,
    /// The stack files of a directory (`cluster.yaml`, `bookinfo.yaml`, …).
    Dir(PathBuf),
}

impl StackSource {
    /// Reads the stack files.
    pub fn files(&self) -> Result<Vec<Arc<SourceFile>>, StackError> {
        match self {
            Self::Embedded => Ok(crate::embedded::stacks()),
            Self::Dir(dir) => {
                let files = dir::read(dir)?;
                if files.is_empty() {
                    return Err(StackError::NoFiles {
                        origin: self.to_string(),
                    });
                }
                Ok(files)
            }
        }
    }

    /// Reads and validates the stack files.
    pub fn load(&self) -> Result<Platform, StackError> {
        load(&self.files()?, &self.to_string())
    }
}

impl std::fmt::Display for StackSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Embedded => f.write_str("the default stacks built into obsboot"),
            Self::Dir(dir) => write!(f, "\"{}\"", dir.display()),
        }
    }
}
