//! Calico, from its manifest (`calico-config`, the calico-node DaemonSet's env), its
//! operator (`Installation`) and its own resources (`IPPool`, `FelixConfiguration`,
//! `BGPConfiguration`). IP pools are the authority for the encapsulation: the manifest's env
//! and the operator's spec only seed the first pool.

use ipnet::Ipv4Net;
use serde_json::Value;

use super::json::{self, name_of};
use super::{Cni, CniKind, CniObjects, Datapath, Encap, HostPorts, Toggle, chains_portmap};

/// BGP's port, the one Calico's network requirements list (TCP 179);
/// `BGPConfiguration.spec.listenPort` (a field of the CRD in projectcalico/calico
/// manifests/calico.yaml) overrides it.
pub(super) const BGP_PORT: u16 = 179;
/// Felix's VXLAN port default (projectcalico/calico felix/config/config_params.go,
/// `VXLANPort int config:"int;4789"`).
const VXLAN_PORT: u16 = 4789;
/// Felix's WireGuard port default (same file, `WireguardListeningPort ... "int;51820"`).
const WIREGUARD_PORT: u16 = 51820;

/// An encapsulation mode as pools and env name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Always,
    CrossSubnet,
    Never,
}

/// Parses `Always` / `CrossSubnet` / `Never` (calico-node also takes `off` and
/// `cross-subnet`, and an empty value means `Never`: projectcalico/calico
/// node/pkg/lifecycle/startup/startup.go).
fn mode(value: &str) -> Option<Mode> {
    match value.trim().to_ascii_lowercase().as_str() {
        "always" => Some(Mode::Always),
        "crosssubnet" | "cross-subnet" => Some(Mode::CrossSubnet),
        "never" | "off" | "" => Some(Mode::Never),
        _ => None,
    }
}

fn datapath(ipip: Mode, vxlan: Mode, vxlan_port: u16) -> Datapath {
    match (vxlan, ipip) {
        (Mode::Always, _) => Datapath::Tunnel(Encap::Vxlan { port: vxlan_port }),
        (Mode::CrossSubnet, _) => Datapath::CrossSubnet(Encap::Vxlan { port: vxlan_port }),
        (Mode::Never, Mode::Always) => Datapath::Tunnel(Encap::IpInIp),
        (Mode::Never, Mode::CrossSubnet) => Datapath::CrossSubnet(Encap::IpInIp),
        (Mode::Never, Mode::Never) => Datapath::Native,
    }
}

pub(super) fn read(cni: &mut Cni, objects: &CniObjects) {
    let node_ds = objects.daemon_sets.iter().find(|ds| {
        json::daemon_set(ds, "kube-system", "calico-node")
            || json::daemon_set(ds, "calico-system", "calico-node")
    });
    let felix = objects
        .felix_configurations
        .iter()
        .find(|f| name_of(f) == Some("default"));
    let vxlan_port = felix_vxlan_port(cni, node_ds, felix);
    pools(cni, objects, node_ds, vxlan_port);
    wireguard(cni, node_ds, felix);
    bgp(cni, objects);
    typha(cni, objects);
    host_ports(cni, objects);
    annotations(cni, objects);
}

fn felix_vxlan_port(cni: &mut Cni, node_ds: Option<&Value>, felix: Option<&Value>) -> u16 {
    if let Some(value) = node_ds.and_then(|ds| json::env(ds, "FELIX_VXLANPORT")) {
        if let Some(port) = value.trim().parse().ok().filter(|p| *p != 0) {
            cni.evidence
                .push(format!("calico-node env FELIX_VXLANPORT={port}"));
            return port;
        }
        cni.problems
            .push(format!("calico-node env FELIX_VXLANPORT={value:?} is not a port; using Felix's default {VXLAN_PORT}"));
    }
    let Some(value) = felix.and_then(|f| f.pointer("/spec/vxlanPort")) else {
        return VXLAN_PORT;
    };
    let Some(port) = json::port(value).filter(|p| *p != 0) else {
        cni.problems.push(format!(
            "FelixConfiguration default vxlanPort {value} is not a port; using Felix's default {VXLAN_PORT}"
        ));
        return VXLAN_PORT;
    };
    cni.evidence
        .push(format!("FelixConfiguration default vxlanPort={port}"));
    port
}

fn pools(cni: &mut Cni, objects: &CniObjects, node_ds: Option<&Value>, vxlan_port: u16) {
    if !objects.ip_pools.is_empty() {
        for pool in &objects.ip_pools {
            ip_pool(cni, pool, vxlan_port);
        }
        if cni.datapaths.is_empty() {
            cni.problems.push(
                "no enabled IPv4 IPPool found: the pod network's encapsulation is unknown".into(),
            );
        }
        return;
    }
    if cni.kind == CniKind::CalicoManifest
        && let Some(ds) = node_ds
    {
        manifest_env(cni, ds, vxlan_port);
        return;
    }
    if let Some(installation) = objects.installations.first() {
        installation_pools(cni, installation, vxlan_port);
        return;
    }
    cni.problems.push(
        "neither IPPools, the calico-node DaemonSet's env nor an Installation could be read: the encapsulation is unknown".into(),
    );
}

fn ip_pool(cni: &mut Cni, pool: &Value, vxlan_port: u16) {
    let name = name_of(pool).unwrap_or("(unnamed)");
    let spec = pool.get("spec").unwrap_or(&Value::Null);
    let cidr_text = spec.get("cidr").and_then(Value::as_str).unwrap_or("");
    if cidr_text.contains(':') {
        return;
    }
    if spec.get("disabled").and_then(Value::as_bool) == Some(true) {
        cni.evidence
            .push(format!("IPPool {name} {cidr_text} disabled"));
        return;
    }
    let field = |key: &str| spec.get(key).and_then(Value::as_str).unwrap_or("Never");
    let (ipip_text, vxlan_text) = (field("ipipMode"), field("vxlanMode"));
    let (Some(ipip), Some(vxlan)) = (mode(ipip_text), mode(vxlan_text)) else {
        cni.problems.push(format!(
            "IPPool {name} has an unknown mode (ipipMode={ipip_text}, vxlanMode={vxlan_text})"
        ));
        return;
    };
    match cidr_text.parse::<Ipv4Net>() {
        Ok(net) => push_cidr(cni, net),
        Err(_) => cni.problems.push(format!(
            "IPPool {name} has no valid IPv4 cidr ({cidr_text:?})"
        )),
    }
    cni.evidence.push(format!(
        "IPPool {name} {cidr_text} ipipMode={ipip_text} vxlanMode={vxlan_text}"
    ));
    push_datapath(cni, datapath(ipip, vxlan, vxlan_port));
}

fn manifest_env(cni: &mut Cni, ds: &Value, vxlan_port: u16) {
    let read = |cni: &mut Cni, key: &str| {
        if json::has_env(ds, key) && json::env(ds, key).is_none() {
            cni.problems
                .push(format!("calico-node env {key} is not a literal value"));
        }
        let text = json::env(ds, key).unwrap_or("");
        (text.to_owned(), mode(text))
    };
    let (ipip_text, ipip) = read(cni, "CALICO_IPV4POOL_IPIP");
    let (vxlan_text, vxlan) = read(cni, "CALICO_IPV4POOL_VXLAN");
    if let Some(cidr) = json::env(ds, "CALICO_IPV4POOL_CIDR").and_then(|c| c.parse().ok()) {
        push_cidr(cni, cidr);
    }
    cni.evidence.push(format!(
        "no IPPool read; calico-node env CALICO_IPV4POOL_IPIP={ipip_text:?} CALICO_IPV4POOL_VXLAN={vxlan_text:?}"
    ));
    match (ipip, vxlan) {
        (Some(ipip), Some(vxlan)) => push_datapath(cni, datapath(ipip, vxlan, vxlan_port)),
        _ => cni.problems.push(format!(
            "calico-node env names an unknown mode (CALICO_IPV4POOL_IPIP={ipip_text:?}, CALICO_IPV4POOL_VXLAN={vxlan_text:?})"
        )),
    }
}

/// The operator's pools. An omitted `encapsulation` is IPIP (tigera/operator
/// api/v1/installation_types.go, `IPPool.Encapsulation`: "Default: IPIP").
fn installation_pools(cni: &mut Cni, installation: &Value, vxlan_port: u16) {
    let pools = installation
        .pointer("/spec/calicoNetwork/ipPools")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for pool in &pools {
        let cidr = pool.get("cidr").and_then(Value::as_str).unwrap_or("");
        if cidr.contains(':') {
            continue;
        }
        let (encapsulation, defaulted) = match pool.get("encapsulation").and_then(Value::as_str) {
            Some(e) => (e, ""),
            None => ("IPIP", " (the operator's default)"),
        };
        let path = match encapsulation {
            "IPIP" => Datapath::Tunnel(Encap::IpInIp),
            "IPIPCrossSubnet" => Datapath::CrossSubnet(Encap::IpInIp),
            "VXLAN" => Datapath::Tunnel(Encap::Vxlan { port: vxlan_port }),
            "VXLANCrossSubnet" => Datapath::CrossSubnet(Encap::Vxlan { port: vxlan_port }),
            "None" => Datapath::Native,
            other => {
                cni.problems.push(format!(
                    "Installation default pool {cidr} has an unknown encapsulation {other:?}"
                ));
                continue;
            }
        };
        if let Ok(net) = cidr.parse() {
            push_cidr(cni, net);
        }
        cni.evidence.push(format!(
            "no IPPool read; Installation default pool {cidr} encapsulation={encapsulation}{defaulted}"
        ));
        push_datapath(cni, path);
    }
    if cni.datapaths.is_empty() {
        cni.problems
            .push("the Installation names no IPv4 pool: the encapsulation is unknown".into());
    }
}

fn wireguard(cni: &mut Cni, node_ds: Option<&Value>, felix: Option<&Value>) {
    let from_env = node_ds
        .and_then(|ds| json::env(ds, "FELIX_WIREGUARDENABLED"))
        .map(|v| v.eq_ignore_ascii_case("true"));
    let from_felix = felix
        .and_then(|f| f.pointer("/spec/wireguardEnabled"))
        .and_then(Value::as_bool);
    if from_env.or(from_felix) == Some(true) {
        let port = felix
            .and_then(|f| f.pointer("/spec/wireguardListeningPort"))
            .and_then(json::port)
            .unwrap_or(WIREGUARD_PORT);
        cni.evidence
            .push(format!("Calico WireGuard enabled (UDP {port})"));
        cni.wireguard = Some(port);
    }
}

fn bgp(cni: &mut Cni, objects: &CniObjects) {
    cni.bgp = match cni.kind {
        CniKind::CalicoOperator => {
            let installation = objects.installations.first();
            let spec = installation.and_then(|i| i.pointer("/spec/calicoNetwork/bgp"));
            let computed =
                installation.and_then(|i| i.pointer("/status/computed/calicoNetwork/bgp"));
            if let Some(value) = spec.or(computed).and_then(Value::as_str) {
                cni.evidence
                    .push(format!("Installation default calicoNetwork.bgp={value}"));
                if value == "Enabled" {
                    Toggle::On
                } else {
                    Toggle::Off
                }
            } else {
                cni.problems
                    .push("the Installation does not say whether BGP is enabled".into());
                Toggle::Unknown
            }
        }
        _ => {
            if let Some(backend) = json::config_map(objects, "calico-config")
                .and_then(|cm| json::data(cm, "calico_backend"))
            {
                cni.evidence
                    .push(format!("ConfigMap calico-config calico_backend={backend}"));
                if backend == "bird" {
                    Toggle::On
                } else {
                    Toggle::Off
                }
            } else {
                cni.problems.push(
                    "calico-config has no calico_backend: whether BGP runs is unknown".into(),
                );
                Toggle::Unknown
            }
        }
    };
    let port = objects
        .bgp_configurations
        .iter()
        .find(|b| name_of(b) == Some("default"))
        .and_then(|b| b.pointer("/spec/listenPort"))
        .and_then(json::port);
    if let Some(port) = port {
        cni.evidence
            .push(format!("BGPConfiguration default listenPort={port}"));
        cni.bgp_port = port;
    }
}

fn typha(cni: &mut Cni, objects: &CniObjects) {
    let service = json::config_map(objects, "calico-config")
        .and_then(|cm| json::data(cm, "typha_service_name"));
    cni.typha = match cni.kind {
        CniKind::CalicoOperator => true,
        _ => service.is_some_and(|name| name != "none"),
    } || !objects.typha_nodes.is_empty();
    if let Some(name) = service {
        cni.evidence
            .push(format!("ConfigMap calico-config typha_service_name={name}"));
    }
    cni.typha_nodes.clone_from(&objects.typha_nodes);
}

fn host_ports(cni: &mut Cni, objects: &CniObjects) {
    cni.host_ports = match cni.kind {
        CniKind::CalicoOperator => operator_host_ports(objects),
        _ => conflist_host_ports(objects, "calico-config"),
    };
}

/// `calicoNetwork.hostPorts` is Enabled unless set otherwise (tigera/operator
/// api/v1/installation_types.go: "HostPorts ... Default: Enabled"); it applies only with
/// Calico's own CNI plugin.
fn operator_host_ports(objects: &CniObjects) -> HostPorts {
    let Some(installation) = objects.installations.first() else {
        return HostPorts::Unknown("the Installation could not be read".into());
    };
    let cni_type = installation
        .pointer("/spec/cni/type")
        .and_then(Value::as_str)
        .unwrap_or("Calico");
    if cni_type != "Calico" {
        return HostPorts::Unknown(format!(
            "the Installation uses the {cni_type} CNI plugin, whose hostPort support is not read"
        ));
    }
    match installation
        .pointer("/spec/calicoNetwork/hostPorts")
        .and_then(Value::as_str)
    {
        Some("Disabled") => {
            HostPorts::Unsupported("Installation default calicoNetwork.hostPorts=Disabled".into())
        }
        Some(value) => HostPorts::Supported(format!(
            "Installation default calicoNetwork.hostPorts={value}"
        )),
        None => HostPorts::Supported(
            "Installation default calicoNetwork.hostPorts unset (Enabled by default)".into(),
        ),
    }
}

fn conflist_host_ports(objects: &CniObjects, config_map: &str) -> HostPorts {
    match json::config_map(objects, config_map).and_then(|cm| json::data(cm, "cni_network_config"))
    {
        Some(conflist) if chains_portmap(conflist) => HostPorts::Supported(format!(
            "ConfigMap {config_map} cni_network_config chains portmap"
        )),
        Some(_) => HostPorts::Unsupported(format!(
            "ConfigMap {config_map} cni_network_config does not chain portmap"
        )),
        None => HostPorts::Unknown(format!(
            "ConfigMap {config_map} cni_network_config not read"
        )),
    }
}

/// Canal's CNI configuration is Calico's plugin with portmap, in `canal-config`.
pub(super) fn canal_host_ports(cni: &mut Cni, objects: &CniObjects) {
    cni.host_ports = conflist_host_ports(objects, "canal-config");
}

fn annotations(cni: &mut Cni, objects: &CniObjects) {
    let count = |key: &str| {
        objects
            .nodes
            .iter()
            .filter(|n| {
                n.pointer("/metadata/annotations")
                    .and_then(|a| a.get(key))
                    .is_some()
            })
            .count()
    };
    let total = objects.nodes.len();
    for (key, what) in [
        ("projectcalico.org/IPv4IPIPTunnelAddr", "an IP-in-IP"),
        ("projectcalico.org/IPv4VXLANTunnelAddr", "a VXLAN"),
    ] {
        let n = count(key);
        if n > 0 {
            cni.evidence.push(format!(
                "{n} of {total} nodes have {what} tunnel address ({key})"
            ));
        }
    }
}

fn push_datapath(cni: &mut Cni, path: Datapath) {
    if !cni.datapaths.contains(&path) {
        cni.datapaths.push(path);
    }
}

fn push_cidr(cni: &mut Cni, net: Ipv4Net) {
    if !cni.pod_cidrs.contains(&net) {
        cni.pod_cidrs.push(net);
    }
}
