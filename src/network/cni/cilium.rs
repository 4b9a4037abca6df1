//! Cilium, from `cilium-config`. Defaults: tunnel routing with VXLAN on 8472, Geneve on 6081,
//! health on TCP 4240 (cilium/cilium pkg/defaults/defaults.go: `RoutingMode = "tunnel"`,
//! `TunnelProtocol = "vxlan"`, `TunnelPortVXLAN = 8472`, `TunnelPortGeneve = 6081`,
//! `ClusterHealthPort = 4240`).

use serde_json::Value;

use super::json;
use super::{Cni, CniObjects, Datapath, Encap, HostPorts};

const VXLAN_PORT: u16 = 8472;
const GENEVE_PORT: u16 = 6081;
/// Cilium's WireGuard port (cilium/cilium pkg/wireguard/types/types.go, `ListenPort = 51871`).
const WIREGUARD_PORT: u16 = 51871;

pub(super) fn read(cni: &mut Cni, objects: &CniObjects) {
    let Some(cm) = json::config_map(objects, "cilium-config") else {
        cni.problems.push(
            "ConfigMap cilium-config could not be read: Cilium's routing mode is unknown".into(),
        );
        return;
    };
    let get = |key: &str| json::data(cm, key).map(str::trim);
    let mut said = Vec::new();
    for key in [
        "routing-mode",
        "tunnel-protocol",
        "tunnel",
        "tunnel-port",
        "ipam",
        "enable-wireguard",
        "enable-ipsec",
        "kube-proxy-replacement",
        "cni-chaining-mode",
        "enable-health-checking",
    ] {
        if let Some(value) = get(key) {
            said.push(format!("{key}={value}"));
        }
    }
    cni.evidence.push(format!(
        "ConfigMap cilium-config {}",
        if said.is_empty() {
            "(no routing keys: Cilium's defaults)".to_owned()
        } else {
            said.join(" ")
        }
    ));
    if let Some(net) = get("cluster-pool-ipv4-cidr")
        .and_then(|c| c.split([' ', ',']).find_map(|one| one.parse().ok()))
    {
        cni.pod_cidrs.push(net);
    }
    // Before 1.14 a single `tunnel` key chose vxlan, geneve or disabled (native).
    let (native, protocol) = match (get("routing-mode"), get("tunnel")) {
        (Some("native"), _) | (None, Some("disabled")) => (true, ""),
        (Some("tunnel") | None, legacy) => (
            false,
            get("tunnel-protocol")
                .or(legacy.filter(|l| *l != "disabled"))
                .unwrap_or("vxlan"),
        ),
        (Some(other), _) => {
            cni.problems.push(format!(
                "cilium-config routing-mode={other} is not known: the datapath is unknown"
            ));
            return;
        }
    };
    let path = if get("ipam") == Some("eni") {
        Datapath::VpcAddresses
    } else if native {
        Datapath::Native
    } else {
        let port = match get("tunnel-port") {
            Some(text) => match text.parse::<u16>() {
                Ok(port) if port != 0 => Some(port),
                Ok(_) => None,
                Err(_) => {
                    cni.problems.push(format!(
                        "cilium-config tunnel-port={text} is not a port; using the default"
                    ));
                    None
                }
            },
            None => None,
        };
        match protocol {
            "vxlan" => Datapath::Tunnel(Encap::Vxlan {
                port: port.unwrap_or(VXLAN_PORT),
            }),
            "geneve" => Datapath::Tunnel(Encap::Geneve {
                port: port.unwrap_or(GENEVE_PORT),
            }),
            other => {
                cni.problems.push(format!(
                    "cilium-config names tunnel protocol {other:?}, which is not known"
                ));
                return;
            }
        }
    };
    cni.datapaths.push(path);
    cni.health_checks = get("enable-health-checking") != Some("false");
    if get("enable-wireguard") == Some("true") {
        cni.wireguard = Some(WIREGUARD_PORT);
    }
    cni.esp = get("enable-ipsec") == Some("true");
    cni.host_ports = host_ports(cm);
}

/// hostPort works with the eBPF kube-proxy replacement (or `enable-host-port`), or with the
/// portmap plugin chained (docs.cilium.io, "Portmap (HostPort)").
fn host_ports(cm: &Value) -> HostPorts {
    let get = |key: &str| json::data(cm, key).map(str::trim);
    let replacement = get("kube-proxy-replacement");
    if get("cni-chaining-mode") == Some("portmap") {
        return HostPorts::Supported("cilium-config cni-chaining-mode=portmap".into());
    }
    if get("enable-host-port") == Some("true") {
        return HostPorts::Supported("cilium-config enable-host-port=true".into());
    }
    match replacement {
        Some(v @ ("true" | "strict")) => {
            HostPorts::Supported(format!("cilium-config kube-proxy-replacement={v}"))
        }
        Some(v @ ("false" | "disabled")) => HostPorts::Unsupported(format!(
            "cilium-config kube-proxy-replacement={v} and no portmap chaining"
        )),
        Some(other) => HostPorts::Unknown(format!(
            "cilium-config kube-proxy-replacement={other}: hostPort support depends on the probed kernel"
        )),
        None => HostPorts::Unknown(
            "cilium-config sets neither kube-proxy-replacement nor cni-chaining-mode".into(),
        ),
    }
}
