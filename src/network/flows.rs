//! The traffic a cluster needs between its nodes: the CNI's carrier for every ordered pair
//! of nodes, the control plane's calls to the kubelets, and Prometheus's scrapes.

use ipnet::Ipv4Net;

use super::cni::{Cni, CniKind, Datapath, Encap, Toggle};
use super::model::{NodeNet, PortRange, Protocol};

/// The kubelet's API port (Kubernetes "Ports and Protocols": TCP 10250, used by Self and the
/// control plane).
pub const KUBELET_PORT: u16 = 10250;
/// node-exporter's port, which the platform's Prometheus scrapes on every node.
pub const NODE_EXPORTER_PORT: u16 = 9100;
/// Calico Typha's port (Calico network requirements: TCP 5473 into the Typha hosts).
pub const TYPHA_PORT: u16 = 5473;
/// Cilium's health port (cilium/cilium pkg/defaults/defaults.go, `ClusterHealthPort`).
pub const CILIUM_HEALTH_PORT: u16 = 4240;
/// Weave Net's control port (TCP) and first data port (UDP; data also uses the next one).
pub const WEAVE_PORT: u16 = 6783;
/// ESP, the IPsec payload protocol.
pub const ESP: u8 = 50;

/// What a flow carries for the kubelet's callers on the control plane.
pub const KUBELET_CARRIES: &str = "kubelet API for logs and exec";
/// What a flow carries for Prometheus's node-exporter scrapes.
pub const NODE_EXPORTER_CARRIES: &str = "Prometheus scraping node-exporter";
/// What a flow carries for Prometheus's kubelet scrapes.
pub const KUBELET_SCRAPE_CARRIES: &str = "Prometheus scraping the kubelet";

/// Whose traffic a flow is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Purpose {
    /// The CNI's: pod traffic between nodes, its routing and control.
    Cni,
    /// The control plane's calls to the kubelets.
    Kubelet,
    /// The platform's Prometheus scraping the nodes.
    Prometheus,
}

impl Flow {
    /// Whose traffic the flow is.
    pub fn purpose(&self) -> Purpose {
        match self.carries.as_str() {
            KUBELET_CARRIES => Purpose::Kubelet,
            NODE_EXPORTER_CARRIES | KUBELET_SCRAPE_CARRIES => Purpose::Prometheus,
            _ => Purpose::Cni,
        }
    }
}

/// Where the platform's Prometheus runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prometheus {
    /// On these nodes.
    On(Vec<String>),
    /// Not known: any node may scrape every other.
    Anywhere,
    /// Not part of the platform.
    Absent,
}

/// The source address of a flow as the destination's security groups see it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    /// The source node's private address (host traffic, or an encapsulating header).
    NodeIp,
    /// A pod address from these ranges (natively routed pod traffic).
    PodCidrs(Vec<Ipv4Net>),
}

/// How sure the requirement is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Confidence {
    /// The sources state it.
    Certain,
    /// Inferred (native pod traffic and group references; BGP state not read).
    Likely,
}

/// One required flow from one node to another.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Flow {
    /// The sending node.
    pub from: String,
    /// The receiving node.
    pub to: String,
    /// The protocol.
    pub protocol: Protocol,
    /// The destination ports (ICMP: type and code).
    pub ports: PortRange,
    /// The source address.
    pub source: Source,
    /// What it carries, in words a user knows ("Calico IP-in-IP").
    pub carries: String,
    /// How sure the requirement is.
    pub confidence: Confidence,
}

/// A node whose source/destination check must be off for native routing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceDestNeed {
    /// The node.
    pub node: String,
    /// Its instance.
    pub instance_id: String,
    /// The other ends of its native pairs.
    pub peers: Vec<String>,
}

/// A pair of nodes the CNI cannot connect as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Impossible {
    /// The sending node.
    pub from: String,
    /// The receiving node.
    pub to: String,
    /// Why, and what to do.
    pub reason: String,
}

/// Everything the cluster needs from the network between its nodes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requirements {
    /// The flows security groups must allow.
    pub flows: Vec<Flow>,
    /// Nodes routing natively whose source/destination check is still on.
    pub source_dest_check: Vec<SourceDestNeed>,
    /// Pairs routed natively across subnets, which EC2 cannot carry without VPC routes.
    pub impossible: Vec<Impossible>,
}

/// The flows for every ordered pair of distinct nodes. `pods` are the pod networks, for
/// natively routed traffic (the CNI's own, else kubeadm's `podSubnet`).
pub fn required(
    cni: &Cni,
    nodes: &[NodeNet],
    pods: &[Ipv4Net],
    prometheus: &Prometheus,
) -> Requirements {
    let mut out = Requirements::default();
    let mut native_pairs: Vec<(&NodeNet, &NodeNet)> = Vec::new();
    for from in nodes {
        for to in nodes.iter().filter(|to| to.name != from.name) {
            let mut pair = Pair {
                from,
                to,
                flows: &mut out.flows,
            };
            if pair.pod_traffic(cni, pods, &mut out.impossible) {
                native_pairs.push((from, to));
            }
            pair.node_traffic(cni, prometheus);
        }
    }
    out.source_dest_check = source_dest(&native_pairs);
    out
}

/// One ordered pair of nodes, collecting the flows between them.
struct Pair<'a> {
    from: &'a NodeNet,
    to: &'a NodeNet,
    flows: &'a mut Vec<Flow>,
}

impl Pair<'_> {
    fn add(
        &mut self,
        protocol: Protocol,
        ports: PortRange,
        source: Source,
        carries: String,
        confidence: Confidence,
    ) {
        let flow = Flow {
            from: self.from.name.clone(),
            to: self.to.name.clone(),
            protocol,
            ports,
            source,
            carries,
            confidence,
        };
        if !self.flows.contains(&flow) {
            self.flows.push(flow);
        }
    }

    /// The CNI's carrier for pod traffic, per datapath. Returns whether any datapath routes
    /// the pair natively.
    fn pod_traffic(
        &mut self,
        cni: &Cni,
        pods: &[Ipv4Net],
        impossible: &mut Vec<Impossible>,
    ) -> bool {
        let (from, to) = (self.from, self.to);
        let cni_name = cni_name(cni.kind);
        let mut native = false;
        for path in &cni.datapaths {
            let encap = match (*path, from.same_subnet(to)) {
                (Datapath::Tunnel(encap), _) | (Datapath::CrossSubnet(encap), false) => Some(encap),
                (Datapath::CrossSubnet(_) | Datapath::Native, true) => {
                    native = true;
                    self.add(
                        Protocol::All,
                        PortRange::ALL,
                        Source::PodCidrs(pods.to_vec()),
                        format!("{cni_name} native pod routing"),
                        Confidence::Likely,
                    );
                    // A node's own connections to pods elsewhere (the API server calling a
                    // webhook, the kubelet's probes) leave with the node's address, to any
                    // port of the pod.
                    self.add(
                        Protocol::All,
                        PortRange::ALL,
                        Source::NodeIp,
                        format!("{cni_name} native routing from the node to pods"),
                        Confidence::Certain,
                    );
                    None
                }
                (Datapath::Native, false) => {
                    impossible.push(Impossible {
                        from: from.name.clone(),
                        to: to.name.clone(),
                        reason: format!(
                            "{cni_name} routes pod traffic natively, which does not cross from subnet {} to {} without VPC routes; use an encapsulating mode (IP-in-IP or VXLAN, CrossSubnet is enough)",
                            from.subnet_id, to.subnet_id
                        ),
                    });
                    None
                }
                (Datapath::VpcAddresses, _) => {
                    self.add(
                        Protocol::All,
                        PortRange::ALL,
                        Source::NodeIp,
                        format!("{cni_name} pod traffic on VPC addresses"),
                        Confidence::Certain,
                    );
                    None
                }
            };
            for (protocol, ports, what) in encap.map(carrier).unwrap_or_default() {
                self.add(
                    protocol,
                    ports,
                    Source::NodeIp,
                    format!("{cni_name} {what}"),
                    Confidence::Certain,
                );
            }
        }
        native
    }

    /// What the nodes themselves exchange: BGP, Typha, health checks, encryption, the
    /// control plane's calls to the kubelet and Prometheus's scrapes.
    fn node_traffic(&mut self, cni: &Cni, prometheus: &Prometheus) {
        let cni_name = cni_name(cni.kind);
        let bgp = match cni.bgp {
            Toggle::On => Some(Confidence::Certain),
            Toggle::Unknown => Some(Confidence::Likely),
            Toggle::Off => None,
        };
        if let Some(confidence) = bgp {
            self.add(
                Protocol::Tcp,
                PortRange::one(cni.bgp_port),
                Source::NodeIp,
                format!("{cni_name} BGP route exchange"),
                confidence,
            );
        }
        if cni.typha && (cni.typha_nodes.is_empty() || cni.typha_nodes.contains(&self.to.name)) {
            self.add(
                Protocol::Tcp,
                PortRange::one(TYPHA_PORT),
                Source::NodeIp,
                "Calico Typha (calico-node to Typha)".into(),
                Confidence::Certain,
            );
        }
        if cni.health_checks {
            self.add(
                Protocol::Tcp,
                PortRange::one(CILIUM_HEALTH_PORT),
                Source::NodeIp,
                "Cilium health checks".into(),
                Confidence::Certain,
            );
            self.add(
                Protocol::Icmp,
                PortRange { from: 8, to: 0 },
                Source::NodeIp,
                "Cilium health checks (ping)".into(),
                Confidence::Certain,
            );
        }
        if let Some(port) = cni.wireguard {
            self.add(
                Protocol::Udp,
                PortRange::one(port),
                Source::NodeIp,
                format!("{cni_name} WireGuard encryption"),
                Confidence::Certain,
            );
        }
        if cni.esp {
            self.add(
                Protocol::Number(ESP),
                PortRange::ALL,
                Source::NodeIp,
                format!("{cni_name} encryption (IPsec ESP)"),
                Confidence::Certain,
            );
        }
        if self.from.control_plane {
            self.add(
                Protocol::Tcp,
                PortRange::one(KUBELET_PORT),
                Source::NodeIp,
                KUBELET_CARRIES.into(),
                Confidence::Certain,
            );
        }
        let scrapes = match prometheus {
            Prometheus::On(hosts) => hosts.contains(&self.from.name),
            Prometheus::Anywhere => true,
            Prometheus::Absent => false,
        };
        if scrapes {
            self.add(
                Protocol::Tcp,
                PortRange::one(NODE_EXPORTER_PORT),
                Source::NodeIp,
                NODE_EXPORTER_CARRIES.into(),
                Confidence::Certain,
            );
            self.add(
                Protocol::Tcp,
                PortRange::one(KUBELET_PORT),
                Source::NodeIp,
                KUBELET_SCRAPE_CARRIES.into(),
                Confidence::Certain,
            );
        }
    }
}

fn source_dest(pairs: &[(&NodeNet, &NodeNet)]) -> Vec<SourceDestNeed> {
    let mut needs: Vec<SourceDestNeed> = Vec::new();
    for (a, b) in pairs {
        for (node, peer) in [(a, b), (b, a)] {
            if !node.source_dest_check {
                continue;
            }
            match needs.iter_mut().find(|n| n.node == node.name) {
                Some(need) => {
                    if !need.peers.contains(&peer.name) {
                        need.peers.push(peer.name.clone());
                    }
                }
                None => needs.push(SourceDestNeed {
                    node: node.name.clone(),
                    instance_id: node.instance_id.clone(),
                    peers: vec![peer.name.clone()],
                }),
            }
        }
    }
    needs
}

/// What the encapsulation puts on the wire between the nodes' addresses.
fn carrier(encap: Encap) -> Vec<(Protocol, PortRange, &'static str)> {
    match encap {
        Encap::IpInIp => vec![(Protocol::Number(4), PortRange::ALL, "IP-in-IP")],
        Encap::Vxlan { port } => vec![(Protocol::Udp, PortRange::one(port), "VXLAN")],
        Encap::Geneve { port } => vec![(Protocol::Udp, PortRange::one(port), "Geneve")],
        Encap::FlannelUdp { port } => vec![(Protocol::Udp, PortRange::one(port), "UDP backend")],
        Encap::FlannelWireguard { port } => {
            vec![(Protocol::Udp, PortRange::one(port), "WireGuard backend")]
        }
        Encap::Weave => vec![
            (Protocol::Tcp, PortRange::one(WEAVE_PORT), "control"),
            (
                Protocol::Udp,
                PortRange::range(WEAVE_PORT, WEAVE_PORT + 1),
                "data",
            ),
        ],
    }
}

fn cni_name(kind: CniKind) -> &'static str {
    match kind {
        CniKind::CalicoManifest | CniKind::CalicoOperator => "Calico",
        CniKind::Flannel => "flannel",
        CniKind::Canal => "Canal (flannel)",
        CniKind::Cilium => "Cilium",
        CniKind::Weave => "Weave Net",
        CniKind::KubeRouter => "kube-router",
        CniKind::AwsVpc => "AWS VPC CNI",
        CniKind::Unknown => "the CNI",
    }
}
