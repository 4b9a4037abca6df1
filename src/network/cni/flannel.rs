//! flannel (and Canal's flannel half), from `net-conf.json` and `cni-conf.json` in its
//! ConfigMap (flannel-io/flannel Documentation/kube-flannel.yml).

use serde_json::Value;

use super::json;
use super::{Cni, CniObjects, Datapath, Encap, HostPorts, chains_portmap};

/// The kernel's VXLAN port, which flannel uses unless `Backend.Port` is set
/// (flannel-io/flannel Documentation/backends.md: "Defaults to kernel default, currently 8472").
const VXLAN_PORT: u16 = 8472;
/// The udp backend's port (flannel-io/flannel Documentation/troubleshooting.md, Firewalls).
const UDP_PORT: u16 = 8285;
/// The wireguard backend's `ListenPort` default (flannel-io/flannel
/// Documentation/backends.md, WireGuard).
const WIREGUARD_PORT: u16 = 51820;

pub(super) fn read(cni: &mut Cni, objects: &CniObjects, config_map: &str) {
    let Some(cm) = json::config_map(objects, config_map) else {
        cni.problems.push(format!(
            "ConfigMap {config_map} could not be read: flannel's backend is unknown"
        ));
        return;
    };
    host_ports(cni, cm, config_map);
    let Some(text) = json::data(cm, "net-conf.json") else {
        cni.problems
            .push(format!("ConfigMap {config_map} has no net-conf.json"));
        return;
    };
    let conf: Value = match serde_json::from_str(text) {
        Ok(conf) => conf,
        Err(err) => {
            cni.problems.push(format!(
                "ConfigMap {config_map} net-conf.json is not valid JSON ({err}): flannel's backend is unknown"
            ));
            return;
        }
    };
    if let Some(net) = conf
        .get("Network")
        .and_then(Value::as_str)
        .and_then(|n| n.parse().ok())
    {
        cni.pod_cidrs.push(net);
    }
    // An absent Backend means udp (flannel-io/flannel pkg/subnet/config.go, parseBackendType).
    let backend = conf.get("Backend").cloned().unwrap_or(Value::Null);
    let kind = if backend.is_null() {
        "udp".to_owned()
    } else {
        backend
            .get("Type")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let port_key = if kind == "wireguard" {
        "ListenPort"
    } else {
        "Port"
    };
    let configured = backend.get(port_key);
    let port = |default: u16, cni: &mut Cni| {
        let Some(value) = configured else {
            return default;
        };
        json::port(value).filter(|p| *p != 0).unwrap_or_else(|| {
            cni.problems.push(format!(
                "ConfigMap {config_map} net-conf.json Backend.{port_key} {value} is not a port; using flannel's default {default}"
            ));
            default
        })
    };
    let direct = backend.get("DirectRouting").and_then(Value::as_bool) == Some(true);
    let path = match kind.as_str() {
        "vxlan" => {
            let encap = Encap::Vxlan {
                port: port(VXLAN_PORT, cni),
            };
            if direct {
                Datapath::CrossSubnet(encap)
            } else {
                Datapath::Tunnel(encap)
            }
        }
        "host-gw" => Datapath::Native,
        "udp" => Datapath::Tunnel(Encap::FlannelUdp {
            port: port(UDP_PORT, cni),
        }),
        "wireguard" => Datapath::Tunnel(Encap::FlannelWireguard {
            port: port(WIREGUARD_PORT, cni),
        }),
        other => {
            cni.problems.push(format!(
                "ConfigMap {config_map} net-conf.json names backend {other:?}, whose traffic is not known"
            ));
            return;
        }
    };
    cni.evidence.push(format!(
        "ConfigMap {config_map} net-conf.json Network={} Backend.Type={kind}{}{}",
        conf.get("Network")
            .and_then(Value::as_str)
            .unwrap_or("(none)"),
        configured
            .map(|p| format!(" Backend.{port_key}={p}"))
            .unwrap_or_default(),
        if direct { " DirectRouting=true" } else { "" },
    ));
    cni.datapaths.push(path);
}

fn host_ports(cni: &mut Cni, cm: &Value, config_map: &str) {
    // Canal's CNI configuration is read from cni_network_config by the Calico side.
    let Some(conflist) = json::data(cm, "cni-conf.json") else {
        return;
    };
    cni.host_ports = if chains_portmap(conflist) {
        HostPorts::Supported(format!(
            "ConfigMap {config_map} cni-conf.json chains portmap"
        ))
    } else {
        HostPorts::Unsupported(format!(
            "ConfigMap {config_map} cni-conf.json does not chain portmap"
        ))
    };
}
