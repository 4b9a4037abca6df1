//! The EC2 layouts the doctor's tests start from, launched in moto, with the simulated
//! cluster whose nodes are those instances and the network model that joins the two.

use std::sync::Arc;

use crate::apiserver::{ApiServer, CONTROL_PLANE, CniLayout, SimConfig, SimNode};
use crate::ec2::{Ec2, Peer};

use super::{Carrier, Network};

/// A cluster's instances in moto: which node is which instance, and the groups and subnets
/// they were launched into.
pub struct Cluster {
    /// moto, with `ec2.master`, `ec2.worker` and `ec2.group` (the master's group) set.
    pub ec2: Ec2,
    /// The control-plane node's group.
    pub master_group: String,
    /// The worker's group (the same as the master's in the one-group layout).
    pub worker_group: String,
    /// (node name, InternalIP, instance id) of the control-plane node, then the worker.
    pub nodes: Vec<(String, String, String)>,
}

/// The carrier each CNI fixture puts on the wire (Calico IP-in-IP; Calico's VXLAN on UDP
/// 4789, Felix's `vxlanPort` default; flannel's and Cilium's VXLAN on the kernel's 8472).
pub fn carrier_of(layout: CniLayout) -> Carrier {
    match layout {
        CniLayout::CalicoManifest => Carrier::IpInIp,
        CniLayout::CalicoOperator => Carrier::VxlanCrossSubnet(4789),
        CniLayout::Flannel | CniLayout::Cilium => Carrier::Vxlan(8472),
    }
}

/// Inbound TCP `port` from anywhere on `group`, as a launch wizard or a tutorial opens it.
fn open_to_world(ec2: &Ec2, group: &str, port: i32) {
    ec2.authorize_permission(
        group,
        false,
        "tcp",
        (port, port),
        &Peer::Cidr("0.0.0.0/0".into()),
    );
}

/// The field report's layout: the control-plane node `ip-10-0-1-74` (10.0.1.74, public
/// subnet 10.0.1.0/24, group `master`) and the worker `ip-10-0-2-15` (10.0.2.15, subnet
/// 10.0.2.0/24, group `worker`), launched separately; only TCP 22 (both) and 6443 (the
/// master) are open, from anywhere; nothing else, so no CNI carrier and no kubelet port
/// between them. Egress is EC2's default (everything).
pub fn field_report() -> Cluster {
    let ec2 = Ec2::start_bare();
    let worker_subnet = ec2.create_subnet("10.0.2.0/24", false);
    let master_group = ec2.create_group("master");
    let worker_group = ec2.create_group("worker");
    open_to_world(&ec2, &master_group, 22);
    open_to_world(&ec2, &master_group, 6443);
    open_to_world(&ec2, &worker_group, 22);
    let master = ec2.launch(&ec2.subnet.clone(), "10.0.1.74", &[&master_group]);
    let worker = ec2.launch(&worker_subnet, "10.0.2.15", &[&worker_group]);
    finish(ec2, master_group, worker_group, master, worker, "10.0.2.15")
}

/// Both nodes in one subnet (10.0.1.0/24) and one group `nodes`: `ip-10-0-1-74` and
/// `ip-10-0-1-90`, with only TCP 22 and 6443 open from anywhere (no self-reference).
pub fn one_group() -> Cluster {
    let ec2 = Ec2::start_bare();
    let group = ec2.create_group("nodes");
    open_to_world(&ec2, &group, 22);
    open_to_world(&ec2, &group, 6443);
    let subnet = ec2.subnet.clone();
    let master = ec2.launch(&subnet, "10.0.1.74", &[&group]);
    let worker = ec2.launch(&subnet, "10.0.1.90", &[&group]);
    finish(ec2, group.clone(), group, master, worker, "10.0.1.90")
}

/// Records the instances in `ec2` and names the nodes after their addresses.
fn finish(
    mut ec2: Ec2,
    master_group: String,
    worker_group: String,
    master: String,
    worker: String,
    worker_ip: &str,
) -> Cluster {
    ec2.group.clone_from(&master_group);
    ec2.master.clone_from(&master);
    ec2.worker.clone_from(&worker);
    let name = |ip: &str| format!("ip-{}", ip.replace('.', "-"));
    Cluster {
        ec2,
        master_group,
        worker_group,
        nodes: vec![
            (name("10.0.1.74"), "10.0.1.74".to_owned(), master),
            (name(worker_ip), worker_ip.to_owned(), worker),
        ],
    }
}

impl Cluster {
    /// The simulated cluster's shape: the standard kubeadm cluster with these nodes (the
    /// first tainted as control plane), matched to the instances by InternalIP.
    pub fn sim_config(&self) -> SimConfig {
        let mut config = SimConfig::standard();
        config.nodes = self
            .nodes
            .iter()
            .enumerate()
            .map(|(i, (name, ip, _))| {
                let node = SimNode::new(name, ip);
                if i == 0 {
                    node.label(CONTROL_PLANE, "")
                        .taint(CONTROL_PLANE, "NoSchedule")
                } else {
                    node
                }
            })
            .collect();
        config
    }

    /// The network model of these instances with `carrier`.
    pub fn network(&self, carrier: Carrier) -> Network {
        let nodes: Vec<(&str, &str)> = self
            .nodes
            .iter()
            .map(|(name, _, instance)| (name.as_str(), instance.as_str()))
            .collect();
        Network::new(&self.ec2.moto_url(), &nodes, carrier)
    }

    /// A simulated API server for this cluster with `layout` installed and the node and pod
    /// proxy answering from the network model.
    pub fn start_sim(&self, layout: CniLayout) -> ApiServer {
        let server = ApiServer::start_with(self.sim_config());
        server.install_cni(layout);
        server.set_network(Some(Arc::new(self.network(carrier_of(layout)))));
        server
    }

    /// The control-plane node's name.
    pub fn master_node(&self) -> &str {
        &self.nodes[0].0
    }

    /// The worker's name.
    pub fn worker_node(&self) -> &str {
        &self.nodes[1].0
    }
}
