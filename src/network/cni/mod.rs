//! Which CNI runs and how its pods' traffic crosses between nodes, read from the objects the
//! API server holds (DaemonSets, ConfigMaps, Calico resources, node annotations): no node
//! access. Every conclusion carries the evidence it was drawn from; a value the
//! configuration does not hold is taken from the CNI's documented default, and said so.

mod calico;
mod cilium;
mod flannel;
mod json;
mod others;

use std::fmt;

use ipnet::Ipv4Net;
use serde_json::Value;

use json::{daemon_set, name_of};

/// The API objects the detection reads. Each list holds the objects as the API server
/// returned them; what could not be read is named in `unreadable`.
#[derive(Debug, Clone, Default)]
pub struct CniObjects {
    /// DaemonSets in kube-system, calico-system and kube-flannel.
    pub daemon_sets: Vec<Value>,
    /// The ConfigMaps `calico-config`, `kube-flannel-cfg`, `canal-config`, `cilium-config`,
    /// `kubeadm-config` and `kube-proxy`, whichever exist.
    pub config_maps: Vec<Value>,
    /// Calico `IPPool`s (crd.projectcalico.org/v1).
    pub ip_pools: Vec<Value>,
    /// The Calico operator's `Installation`s (operator.tigera.io/v1).
    pub installations: Vec<Value>,
    /// Calico `FelixConfiguration`s.
    pub felix_configurations: Vec<Value>,
    /// Calico `BGPConfiguration`s.
    pub bgp_configurations: Vec<Value>,
    /// The cluster's Nodes (for their CNI annotations and pod ranges).
    pub nodes: Vec<Value>,
    /// The nodes that run a calico-typha pod.
    pub typha_nodes: Vec<String>,
    /// What could not be read, and why (`could not read ...: forbidden`).
    pub unreadable: Vec<String>,
}

/// The CNI plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CniKind {
    /// Calico installed from `calico.yaml` (calico-node in kube-system).
    CalicoManifest,
    /// Calico installed by the Tigera operator (calico-node in calico-system).
    CalicoOperator,
    /// flannel.
    Flannel,
    /// Canal: Calico policy with flannel networking.
    Canal,
    /// Cilium.
    Cilium,
    /// Weave Net.
    Weave,
    /// kube-router.
    KubeRouter,
    /// The AWS VPC CNI (aws-node): pods take VPC addresses.
    AwsVpc,
    /// None recognised, or several.
    Unknown,
}

impl fmt::Display for CniKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::CalicoManifest => "Calico (manifest)",
            Self::CalicoOperator => "Calico (operator)",
            Self::Flannel => "flannel",
            Self::Canal => "Canal",
            Self::Cilium => "Cilium",
            Self::Weave => "Weave Net",
            Self::KubeRouter => "kube-router",
            Self::AwsVpc => "AWS VPC CNI",
            Self::Unknown => "unknown",
        })
    }
}

/// How pod packets are wrapped between nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Encap {
    /// IP-in-IP: IP protocol 4.
    IpInIp,
    /// VXLAN on this UDP port.
    Vxlan {
        /// The UDP port.
        port: u16,
    },
    /// Geneve on this UDP port.
    Geneve {
        /// The UDP port.
        port: u16,
    },
    /// flannel's userspace UDP backend on this port.
    FlannelUdp {
        /// The UDP port.
        port: u16,
    },
    /// flannel's WireGuard backend on this port.
    FlannelWireguard {
        /// The UDP port.
        port: u16,
    },
    /// Weave's sleeve and fast datapath: TCP 6783, UDP 6783-6784.
    Weave,
}

/// How pod traffic travels between a pair of nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Datapath {
    /// Always wrapped in `encap`.
    Tunnel(Encap),
    /// Wrapped in `encap` between subnets, routed natively within one.
    CrossSubnet(Encap),
    /// Routed natively: one subnet only, source/destination check off.
    Native,
    /// Pods have VPC addresses on the nodes' interfaces.
    VpcAddresses,
}

/// A setting that is on, off, or could not be determined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Toggle {
    /// On.
    On,
    /// Off.
    Off,
    /// Not determined from what was read.
    Unknown,
}

/// Whether pods' `hostPort`s take effect (the CNI chains `portmap` or implements them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPorts {
    /// Supported, with what shows it.
    Supported(String),
    /// Not supported, with what shows it.
    Unsupported(String),
    /// Not determined, with why.
    Unknown(String),
}

/// What the detection concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cni {
    /// The CNI.
    pub kind: CniKind,
    /// The datapath of each pod network in use (several Calico pools may differ).
    pub datapaths: Vec<Datapath>,
    /// Whether BGP runs between the nodes, and on which TCP port.
    pub bgp: Toggle,
    /// The BGP port.
    pub bgp_port: u16,
    /// Whether Calico Typha runs (nodes reach it on TCP 5473).
    pub typha: bool,
    /// The nodes running Typha, when read.
    pub typha_nodes: Vec<String>,
    /// WireGuard encryption between nodes, on this UDP port.
    pub wireguard: Option<u16>,
    /// IPsec / encrypted fast datapath: IP protocol 50 (ESP) between nodes.
    pub esp: bool,
    /// Cilium's health checks (TCP 4240 and ICMP echo) between nodes.
    pub health_checks: bool,
    /// hostPort support.
    pub host_ports: HostPorts,
    /// The pod networks the CNI's configuration names.
    pub pod_cidrs: Vec<Ipv4Net>,
    /// What was read, in words (`IPPool default-ipv4-ippool 192.168.0.0/16 ipipMode=Always`).
    pub evidence: Vec<String>,
    /// What stood in the way of a clear answer (several CNIs, malformed configuration,
    /// objects that could not be read).
    pub problems: Vec<String>,
}

impl Cni {
    fn new(kind: CniKind) -> Self {
        Self {
            kind,
            datapaths: Vec::new(),
            bgp: Toggle::Off,
            bgp_port: calico::BGP_PORT,
            typha: false,
            typha_nodes: Vec::new(),
            wireguard: None,
            esp: false,
            health_checks: false,
            host_ports: HostPorts::Unknown(format!("{kind}: hostPort support is not read")),
            pod_cidrs: Vec::new(),
            evidence: Vec::new(),
            problems: Vec::new(),
        }
    }

    /// Whether the datapath is known well enough to name the rules it needs.
    pub fn is_known(&self) -> bool {
        self.kind != CniKind::Unknown && !self.datapaths.is_empty()
    }
}

/// The DaemonSets that mark each CNI: (namespace, name prefix, kind). flannel's upstream
/// manifest names its DaemonSet `kube-flannel-ds` in kube-flannel (older ones
/// `kube-flannel-ds-<arch>` in kube-system: flannel-io/flannel Documentation/kube-flannel.yml).
const FINGERPRINTS: [(&str, &str, CniKind); 9] = [
    ("kube-system", "calico-node", CniKind::CalicoManifest),
    ("calico-system", "calico-node", CniKind::CalicoOperator),
    ("kube-system", "canal", CniKind::Canal),
    ("kube-flannel", "kube-flannel-ds", CniKind::Flannel),
    ("kube-system", "kube-flannel-ds", CniKind::Flannel),
    ("kube-system", "cilium", CniKind::Cilium),
    ("kube-system", "weave-net", CniKind::Weave),
    ("kube-system", "kube-router", CniKind::KubeRouter),
    ("kube-system", "aws-node", CniKind::AwsVpc),
];

/// Recognises the CNI and its mode. Never fails: what cannot be decided is `Unknown`, with
/// the reason in `problems`.
pub fn detect(objects: &CniObjects) -> Cni {
    let mut kinds: Vec<CniKind> = Vec::new();
    let mut evidence = Vec::new();
    for (namespace, prefix, kind) in FINGERPRINTS {
        for ds in objects
            .daemon_sets
            .iter()
            .filter(|ds| daemon_set(ds, namespace, prefix))
        {
            evidence.push(format!(
                "DaemonSet {namespace}/{} ({kind})",
                name_of(ds).unwrap_or(prefix)
            ));
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
    }
    if kinds.is_empty() {
        kinds.extend(from_configuration(objects, &mut evidence));
    }
    let mut cni = match kinds.as_slice() {
        [kind] => build(*kind, objects),
        [] => {
            let mut cni = Cni::new(CniKind::Unknown);
            cni.problems
                .push("no known CNI found (no calico-node, canal, kube-flannel-ds, cilium, weave-net, kube-router or aws-node DaemonSet, nor their configuration)".into());
            cni
        }
        several => {
            let mut cni = Cni::new(CniKind::Unknown);
            cni.problems.push(format!(
                "several CNIs found ({}): the pod network's datapath is ambiguous",
                several
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            cni
        }
    };
    evidence.append(&mut cni.evidence);
    cni.evidence = evidence;
    cni.problems.extend(objects.unreadable.iter().cloned());
    cni
}

/// Without a DaemonSet (it may be unreadable): the configuration a CNI leaves behind.
fn from_configuration(objects: &CniObjects, evidence: &mut Vec<String>) -> Vec<CniKind> {
    let mut kinds = Vec::new();
    let mut note = |kind: CniKind, what: &str| {
        evidence.push(format!("{what} ({kind})"));
        kinds.push(kind);
    };
    if !objects.installations.is_empty() {
        note(CniKind::CalicoOperator, "Installation default");
    } else if json::config_map(objects, "calico-config").is_some() {
        note(CniKind::CalicoManifest, "ConfigMap calico-config");
    }
    if json::config_map(objects, "canal-config").is_some() {
        note(CniKind::Canal, "ConfigMap canal-config");
    } else if json::config_map(objects, "kube-flannel-cfg").is_some() {
        note(CniKind::Flannel, "ConfigMap kube-flannel-cfg");
    }
    if json::config_map(objects, "cilium-config").is_some() {
        note(CniKind::Cilium, "ConfigMap cilium-config");
    }
    kinds
}

fn build(kind: CniKind, objects: &CniObjects) -> Cni {
    let mut cni = Cni::new(kind);
    match kind {
        CniKind::CalicoManifest | CniKind::CalicoOperator => calico::read(&mut cni, objects),
        CniKind::Canal => {
            flannel::read(&mut cni, objects, "canal-config");
            calico::canal_host_ports(&mut cni, objects);
        }
        CniKind::Flannel => flannel::read(&mut cni, objects, "kube-flannel-cfg"),
        CniKind::Cilium => cilium::read(&mut cni, objects),
        CniKind::Weave => others::weave(&mut cni, objects),
        CniKind::KubeRouter => others::kube_router(&mut cni),
        CniKind::AwsVpc => others::aws_vpc(&mut cni),
        CniKind::Unknown => {}
    }
    cni
}

/// Whether a CNI configuration list (JSON text, possibly with unquoted placeholders such as
/// `__CNI_MTU__`, as calico.yaml's template has) chains the `portmap` plugin.
fn chains_portmap(conflist: &str) -> bool {
    let compact: String = conflist.chars().filter(|c| !c.is_whitespace()).collect();
    compact.contains("\"type\":\"portmap\"")
}

#[cfg(test)]
mod tests;
