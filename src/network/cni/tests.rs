//! Detection from objects shaped as the API server returns them: each row names an install,
//! the objects it leaves, and what must be concluded from them.

#![allow(clippy::too_many_lines)] // Table tests: one row per case, and the table is the test.

use serde_json::{Value, json};

use super::*;

/// calico.yaml's `cni_network_config`, template placeholders and all.
const CALICO_CONFLIST: &str = r#"{
  "name": "k8s-pod-network",
  "cniVersion": "0.3.1",
  "plugins": [
    {
      "type": "calico",
      "log_level": "info",
      "datastore_type": "kubernetes",
      "nodename": "__KUBERNETES_NODE_NAME__",
      "mtu": __CNI_MTU__,
      "ipam": { "type": "calico-ipam" },
      "policy": { "type": "k8s" },
      "kubernetes": { "kubeconfig": "__KUBECONFIG_FILEPATH__" }
    },
    {
      "type": "portmap",
      "snat": true,
      "capabilities": {"portMappings": true}
    },
    {
      "type": "bandwidth",
      "capabilities": {"bandwidth": true}
    }
  ]
}"#;

/// kube-flannel.yml's `cni-conf.json`, which chains portmap.
const FLANNEL_CONFLIST: &str = r#"{
  "name": "cbr0",
  "cniVersion": "0.3.1",
  "plugins": [
    { "type": "flannel", "delegate": { "hairpinMode": true, "isDefaultGateway": true } },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}"#;

/// A `cni-conf.json` without portmap.
const FLANNEL_CONFLIST_NO_PORTMAP: &str = r#"{
  "name": "cbr0",
  "cniVersion": "0.3.1",
  "plugins": [ { "type": "flannel", "delegate": { "isDefaultGateway": true } } ]
}"#;

fn daemon_set(namespace: &str, name: &str, env: &[(&str, &str)]) -> Value {
    let env: Vec<Value> = env
        .iter()
        .map(|(name, value)| json!({"name": name, "value": value}))
        .collect();
    json!({
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"template": {"spec": {"containers": [
            {"name": name, "image": "example/cni:latest", "env": env}
        ]}}}
    })
}

fn config_map(namespace: &str, name: &str, data: &Value) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": data
    })
}

fn ip_pool(name: &str, cidr: &str, ipip: &str, vxlan: &str) -> Value {
    json!({
        "apiVersion": "crd.projectcalico.org/v1",
        "kind": "IPPool",
        "metadata": {"name": name},
        "spec": {
            "cidr": cidr,
            "ipipMode": ipip,
            "vxlanMode": vxlan,
            "natOutgoing": true,
            "blockSize": 26,
            "nodeSelector": "all()"
        }
    })
}

/// calico.yaml's calico-node DaemonSet with the pool env it sets.
fn calico_node(ipip: &str, vxlan: &str) -> Value {
    daemon_set(
        "kube-system",
        "calico-node",
        &[
            ("DATASTORE_TYPE", "kubernetes"),
            ("CLUSTER_TYPE", "k8s,bgp"),
            ("CALICO_IPV4POOL_IPIP", ipip),
            ("CALICO_IPV4POOL_VXLAN", vxlan),
            ("CALICO_IPV4POOL_CIDR", "192.168.0.0/16"),
        ],
    )
}

/// calico.yaml's calico-config.
fn calico_config(backend: &str, typha: &str) -> Value {
    config_map(
        "kube-system",
        "calico-config",
        &json!({
            "typha_service_name": typha,
            "calico_backend": backend,
            "veth_mtu": "0",
            "cni_network_config": CALICO_CONFLIST
        }),
    )
}

fn felix(vxlan_port: u16) -> Value {
    json!({
        "apiVersion": "crd.projectcalico.org/v1",
        "kind": "FelixConfiguration",
        "metadata": {"name": "default"},
        "spec": {"vxlanPort": vxlan_port, "logSeverityScreen": "Info"}
    })
}

/// The operator quickstart's Installation (custom-resources.yaml), as the operator leaves it.
fn quickstart_installation() -> Value {
    json!({
        "apiVersion": "operator.tigera.io/v1",
        "kind": "Installation",
        "metadata": {"name": "default"},
        "spec": {"calicoNetwork": {"ipPools": [{
            "name": "default-ipv4-ippool",
            "blockSize": 26,
            "cidr": "192.168.0.0/16",
            "encapsulation": "VXLANCrossSubnet",
            "natOutgoing": "Enabled",
            "nodeSelector": "all()"
        }]}},
        "status": {"computed": {"calicoNetwork": {"bgp": "Enabled"}}}
    })
}

fn flannel(net_conf: &str, cni_conf: &str) -> CniObjects {
    CniObjects {
        daemon_sets: vec![daemon_set("kube-flannel", "kube-flannel-ds", &[])],
        config_maps: vec![config_map(
            "kube-flannel",
            "kube-flannel-cfg",
            &json!({"cni-conf.json": cni_conf, "net-conf.json": net_conf}),
        )],
        ..CniObjects::default()
    }
}

fn cilium(data: &Value) -> CniObjects {
    CniObjects {
        daemon_sets: vec![daemon_set("kube-system", "cilium", &[])],
        config_maps: vec![config_map("kube-system", "cilium-config", data)],
        ..CniObjects::default()
    }
}

/// Which variant of [`HostPorts`] is expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Support {
    Supported,
    Unsupported,
    Unknown,
}

fn support(host_ports: &HostPorts) -> (Support, &str) {
    match host_ports {
        HostPorts::Supported(why) => (Support::Supported, why),
        HostPorts::Unsupported(why) => (Support::Unsupported, why),
        HostPorts::Unknown(why) => (Support::Unknown, why),
    }
}

/// What one install must be detected as. `evidence` and `problems` are fragments that must
/// each appear in some line; no expected problem means there must be none.
struct Expected {
    kind: CniKind,
    datapaths: Vec<Datapath>,
    bgp: Toggle,
    typha: bool,
    health_checks: bool,
    host_ports: (Support, &'static str),
    evidence: Vec<&'static str>,
    problems: Vec<&'static str>,
}

fn check(what: &str, objects: &CniObjects, expected: &Expected) {
    let cni = detect(objects);
    assert_eq!(cni.kind, expected.kind, "{what}: kind");
    assert_eq!(cni.datapaths, expected.datapaths, "{what}: datapaths");
    assert_eq!(cni.bgp, expected.bgp, "{what}: bgp");
    assert_eq!(cni.typha, expected.typha, "{what}: typha");
    assert_eq!(
        cni.health_checks, expected.health_checks,
        "{what}: health checks"
    );
    let (variant, why) = support(&cni.host_ports);
    assert_eq!(variant, expected.host_ports.0, "{what}: hostPorts {why}");
    assert!(
        why.contains(expected.host_ports.1),
        "{what}: hostPorts says {why:?}, expected it to mention {:?}",
        expected.host_ports.1
    );
    for fragment in &expected.evidence {
        assert!(
            cni.evidence.iter().any(|line| line.contains(fragment)),
            "{what}: no evidence mentions {fragment:?} in {:#?}",
            cni.evidence
        );
    }
    if expected.problems.is_empty() {
        assert!(
            cni.problems.is_empty(),
            "{what}: unexpected problems {:#?}",
            cni.problems
        );
    }
    for fragment in &expected.problems {
        assert!(
            cni.problems.iter().any(|line| line.contains(fragment)),
            "{what}: no problem mentions {fragment:?} in {:#?}",
            cni.problems
        );
    }
    assert_eq!(
        cni.is_known(),
        expected.kind != CniKind::Unknown && !expected.datapaths.is_empty(),
        "{what}: is_known"
    );
}

#[test]
fn calico_is_read_from_its_pools_its_manifest_env_and_its_operator() {
    let rows = [
        (
            "the calico.yaml manifest: IP-in-IP from the env, BGP from bird, portmap chained",
            CniObjects {
                daemon_sets: vec![calico_node("Always", "Never")],
                config_maps: vec![calico_config("bird", "none")],
                ..CniObjects::default()
            },
            Expected {
                kind: CniKind::CalicoManifest,
                datapaths: vec![Datapath::Tunnel(Encap::IpInIp)],
                bgp: Toggle::On,
                typha: false,
                health_checks: false,
                host_ports: (
                    Support::Supported,
                    "calico-config cni_network_config chains portmap",
                ),
                evidence: vec![
                    "DaemonSet kube-system/calico-node (Calico (manifest))",
                    "CALICO_IPV4POOL_IPIP=\"Always\"",
                    "calico_backend=bird",
                ],
                problems: vec![],
            },
        ),
        (
            "the VXLAN manifest: VXLAN on Felix's default port, no BGP",
            CniObjects {
                daemon_sets: vec![calico_node("Never", "Always")],
                config_maps: vec![calico_config("vxlan", "none")],
                ..CniObjects::default()
            },
            Expected {
                kind: CniKind::CalicoManifest,
                datapaths: vec![Datapath::Tunnel(Encap::Vxlan { port: 4789 })],
                bgp: Toggle::Off,
                typha: false,
                health_checks: false,
                host_ports: (Support::Supported, "portmap"),
                evidence: vec!["CALICO_IPV4POOL_VXLAN=\"Always\"", "calico_backend=vxlan"],
                problems: vec![],
            },
        ),
        (
            "an IPPool outranks the env, which only seeded the first pool",
            CniObjects {
                daemon_sets: vec![calico_node("Always", "Never")],
                config_maps: vec![calico_config("bird", "none")],
                ip_pools: vec![ip_pool(
                    "default-ipv4-ippool",
                    "192.168.0.0/16",
                    "Never",
                    "CrossSubnet",
                )],
                ..CniObjects::default()
            },
            Expected {
                kind: CniKind::CalicoManifest,
                datapaths: vec![Datapath::CrossSubnet(Encap::Vxlan { port: 4789 })],
                bgp: Toggle::On,
                typha: false,
                health_checks: false,
                host_ports: (Support::Supported, "portmap"),
                evidence: vec![
                    "IPPool default-ipv4-ippool 192.168.0.0/16 ipipMode=Never vxlanMode=CrossSubnet",
                ],
                problems: vec![],
            },
        ),
        (
            "the operator quickstart: VXLANCrossSubnet from the Installation, Typha always",
            CniObjects {
                daemon_sets: vec![daemon_set("calico-system", "calico-node", &[])],
                installations: vec![quickstart_installation()],
                ..CniObjects::default()
            },
            Expected {
                kind: CniKind::CalicoOperator,
                datapaths: vec![Datapath::CrossSubnet(Encap::Vxlan { port: 4789 })],
                bgp: Toggle::On,
                typha: true,
                health_checks: false,
                host_ports: (Support::Supported, "Enabled by default"),
                evidence: vec![
                    "DaemonSet calico-system/calico-node (Calico (operator))",
                    "Installation default pool 192.168.0.0/16 encapsulation=VXLANCrossSubnet",
                    "calicoNetwork.bgp=Enabled",
                ],
                problems: vec![],
            },
        ),
        (
            "Felix's vxlanPort is read from the FelixConfiguration, not assumed",
            CniObjects {
                daemon_sets: vec![calico_node("Never", "Always")],
                config_maps: vec![calico_config("vxlan", "none")],
                ip_pools: vec![ip_pool(
                    "default-ipv4-ippool",
                    "192.168.0.0/16",
                    "Never",
                    "Always",
                )],
                felix_configurations: vec![felix(4790)],
                ..CniObjects::default()
            },
            Expected {
                kind: CniKind::CalicoManifest,
                datapaths: vec![Datapath::Tunnel(Encap::Vxlan { port: 4790 })],
                bgp: Toggle::Off,
                typha: false,
                health_checks: false,
                host_ports: (Support::Supported, "portmap"),
                evidence: vec!["FelixConfiguration default vxlanPort=4790"],
                problems: vec![],
            },
        ),
        (
            "the operator's pool takes Felix's configured port too; hostPorts turned off",
            CniObjects {
                daemon_sets: vec![daemon_set("calico-system", "calico-node", &[])],
                installations: vec![{
                    let mut installation = quickstart_installation();
                    installation["spec"]["calicoNetwork"]["ipPools"][0]["encapsulation"] =
                        json!("VXLAN");
                    installation["spec"]["calicoNetwork"]["bgp"] = json!("Disabled");
                    installation["status"]["computed"]["calicoNetwork"]["bgp"] = json!("Disabled");
                    installation["spec"]["calicoNetwork"]["hostPorts"] = json!("Disabled");
                    installation
                }],
                felix_configurations: vec![felix(4790)],
                typha_nodes: vec!["ip-10-0-1-74".into()],
                ..CniObjects::default()
            },
            Expected {
                kind: CniKind::CalicoOperator,
                datapaths: vec![Datapath::Tunnel(Encap::Vxlan { port: 4790 })],
                bgp: Toggle::Off,
                typha: true,
                health_checks: false,
                host_ports: (Support::Unsupported, "calicoNetwork.hostPorts=Disabled"),
                evidence: vec![
                    "FelixConfiguration default vxlanPort=4790",
                    "encapsulation=VXLAN",
                    "calicoNetwork.bgp=Disabled",
                ],
                problems: vec![],
            },
        ),
        (
            "the manifest with Typha (calico-typha.yaml)",
            CniObjects {
                daemon_sets: vec![calico_node("Always", "Never")],
                config_maps: vec![calico_config("bird", "calico-typha")],
                typha_nodes: vec!["ip-10-0-2-208".into()],
                ..CniObjects::default()
            },
            Expected {
                kind: CniKind::CalicoManifest,
                datapaths: vec![Datapath::Tunnel(Encap::IpInIp)],
                bgp: Toggle::On,
                typha: true,
                health_checks: false,
                host_ports: (Support::Supported, "portmap"),
                evidence: vec!["typha_service_name=calico-typha"],
                problems: vec![],
            },
        ),
    ];
    for (what, objects, expected) in &rows {
        check(what, objects, expected);
    }
}

#[test]
fn flannel_is_read_from_net_conf_with_its_documented_port_default() {
    let rows = [
        (
            "vxlan without a Port: the kernel's 8472",
            flannel(
                r#"{"Network": "10.244.0.0/16", "EnableNFTables": false, "Backend": {"Type": "vxlan"}}"#,
                FLANNEL_CONFLIST,
            ),
            Expected {
                kind: CniKind::Flannel,
                datapaths: vec![Datapath::Tunnel(Encap::Vxlan { port: 8472 })],
                bgp: Toggle::Off,
                typha: false,
                health_checks: false,
                host_ports: (
                    Support::Supported,
                    "kube-flannel-cfg cni-conf.json chains portmap",
                ),
                evidence: vec![
                    "DaemonSet kube-flannel/kube-flannel-ds (flannel)",
                    "kube-flannel-cfg net-conf.json Network=10.244.0.0/16 Backend.Type=vxlan",
                ],
                problems: vec![],
            },
        ),
        (
            "vxlan with a Port",
            flannel(
                r#"{"Network": "10.244.0.0/16", "Backend": {"Type": "vxlan", "Port": 4789}}"#,
                FLANNEL_CONFLIST,
            ),
            Expected {
                kind: CniKind::Flannel,
                datapaths: vec![Datapath::Tunnel(Encap::Vxlan { port: 4789 })],
                bgp: Toggle::Off,
                typha: false,
                health_checks: false,
                host_ports: (Support::Supported, "portmap"),
                evidence: vec!["Backend.Type=vxlan Backend.Port=4789"],
                problems: vec![],
            },
        ),
        (
            "vxlan with DirectRouting: native within a subnet",
            flannel(
                r#"{"Network": "10.244.0.0/16", "Backend": {"Type": "vxlan", "DirectRouting": true}}"#,
                FLANNEL_CONFLIST,
            ),
            Expected {
                kind: CniKind::Flannel,
                datapaths: vec![Datapath::CrossSubnet(Encap::Vxlan { port: 8472 })],
                bgp: Toggle::Off,
                typha: false,
                health_checks: false,
                host_ports: (Support::Supported, "portmap"),
                evidence: vec!["DirectRouting=true"],
                problems: vec![],
            },
        ),
        (
            "Canal: flannel's net-conf.json and Calico's conflist, both in canal-config",
            CniObjects {
                daemon_sets: vec![daemon_set("kube-system", "canal", &[])],
                config_maps: vec![config_map(
                    "kube-system",
                    "canal-config",
                    &json!({
                        "canal_iface": "",
                        "masquerade": "true",
                        "cni_network_config": CALICO_CONFLIST,
                        "net-conf.json": r#"{"Network": "10.244.0.0/16", "Backend": {"Type": "vxlan"}}"#
                    }),
                )],
                ..CniObjects::default()
            },
            Expected {
                kind: CniKind::Canal,
                datapaths: vec![Datapath::Tunnel(Encap::Vxlan { port: 8472 })],
                bgp: Toggle::Off,
                typha: false,
                health_checks: false,
                host_ports: (
                    Support::Supported,
                    "canal-config cni_network_config chains portmap",
                ),
                evidence: vec![
                    "DaemonSet kube-system/canal (Canal)",
                    "canal-config net-conf.json Network=10.244.0.0/16 Backend.Type=vxlan",
                ],
                problems: vec![],
            },
        ),
        (
            "host-gw, and a cni-conf.json without portmap",
            flannel(
                r#"{"Network": "10.244.0.0/16", "Backend": {"Type": "host-gw"}}"#,
                FLANNEL_CONFLIST_NO_PORTMAP,
            ),
            Expected {
                kind: CniKind::Flannel,
                datapaths: vec![Datapath::Native],
                bgp: Toggle::Off,
                typha: false,
                health_checks: false,
                host_ports: (Support::Unsupported, "does not chain portmap"),
                evidence: vec!["Backend.Type=host-gw"],
                problems: vec![],
            },
        ),
    ];
    for (what, objects, expected) in &rows {
        check(what, objects, expected);
    }
}

#[test]
fn cilium_is_read_from_cilium_config_with_its_health_checks() {
    let rows = [
        (
            "tunnel routing over VXLAN, kube-proxy kept",
            cilium(&json!({
                "routing-mode": "tunnel",
                "tunnel-protocol": "vxlan",
                "kube-proxy-replacement": "false",
                "cluster-pool-ipv4-cidr": "10.0.0.0/8"
            })),
            Expected {
                kind: CniKind::Cilium,
                datapaths: vec![Datapath::Tunnel(Encap::Vxlan { port: 8472 })],
                bgp: Toggle::Off,
                typha: false,
                health_checks: true,
                host_ports: (Support::Unsupported, "kube-proxy-replacement=false"),
                evidence: vec![
                    "DaemonSet kube-system/cilium (Cilium)",
                    "routing-mode=tunnel tunnel-protocol=vxlan",
                ],
                problems: vec![],
            },
        ),
        (
            "tunnel routing over Geneve with the kube-proxy replacement",
            cilium(&json!({
                "routing-mode": "tunnel",
                "tunnel-protocol": "geneve",
                "kube-proxy-replacement": "true",
                "enable-health-checking": "true"
            })),
            Expected {
                kind: CniKind::Cilium,
                datapaths: vec![Datapath::Tunnel(Encap::Geneve { port: 6081 })],
                bgp: Toggle::Off,
                typha: false,
                health_checks: true,
                host_ports: (Support::Supported, "kube-proxy-replacement=true"),
                evidence: vec!["tunnel-protocol=geneve"],
                problems: vec![],
            },
        ),
        (
            "native routing, health checks off, portmap chained",
            cilium(&json!({
                "routing-mode": "native",
                "ipv4-native-routing-cidr": "10.0.0.0/8",
                "enable-health-checking": "false",
                "cni-chaining-mode": "portmap"
            })),
            Expected {
                kind: CniKind::Cilium,
                datapaths: vec![Datapath::Native],
                bgp: Toggle::Off,
                typha: false,
                health_checks: false,
                host_ports: (Support::Supported, "cni-chaining-mode=portmap"),
                evidence: vec!["routing-mode=native", "enable-health-checking=false"],
                problems: vec![],
            },
        ),
        (
            "before 1.14 the tunnel key alone chose the protocol",
            cilium(&json!({"tunnel": "geneve", "kube-proxy-replacement": "strict"})),
            Expected {
                kind: CniKind::Cilium,
                datapaths: vec![Datapath::Tunnel(Encap::Geneve { port: 6081 })],
                bgp: Toggle::Off,
                typha: false,
                health_checks: true,
                host_ports: (Support::Supported, "kube-proxy-replacement=strict"),
                evidence: vec!["tunnel=geneve"],
                problems: vec![],
            },
        ),
    ];
    for (what, objects, expected) in &rows {
        check(what, objects, expected);
    }
}

#[test]
fn weave_several_cnis_none_and_unreadable_objects_are_told_apart() {
    let rows = [
        (
            "weave-net: TCP 6783 and UDP 6783-6784, hostPort not visible from the API",
            CniObjects {
                daemon_sets: vec![daemon_set(
                    "kube-system",
                    "weave-net",
                    &[("IPALLOC_RANGE", "10.32.0.0/12")],
                )],
                ..CniObjects::default()
            },
            Expected {
                kind: CniKind::Weave,
                datapaths: vec![Datapath::Tunnel(Encap::Weave)],
                bgp: Toggle::Off,
                typha: false,
                health_checks: false,
                host_ports: (Support::Unknown, "portmap"),
                evidence: vec!["DaemonSet kube-system/weave-net (Weave Net)"],
                problems: vec![],
            },
        ),
        (
            "two CNIs at once: the datapath is ambiguous",
            CniObjects {
                daemon_sets: vec![
                    calico_node("Always", "Never"),
                    daemon_set("kube-flannel", "kube-flannel-ds", &[]),
                ],
                config_maps: vec![calico_config("bird", "none")],
                ..CniObjects::default()
            },
            Expected {
                kind: CniKind::Unknown,
                datapaths: vec![],
                bgp: Toggle::Off,
                typha: false,
                health_checks: false,
                host_ports: (Support::Unknown, ""),
                evidence: vec![
                    "DaemonSet kube-system/calico-node (Calico (manifest))",
                    "DaemonSet kube-flannel/kube-flannel-ds (flannel)",
                ],
                problems: vec!["several CNIs found (Calico (manifest), flannel)"],
            },
        ),
        (
            "nothing at all",
            CniObjects::default(),
            Expected {
                kind: CniKind::Unknown,
                datapaths: vec![],
                bgp: Toggle::Off,
                typha: false,
                health_checks: false,
                host_ports: (Support::Unknown, ""),
                evidence: vec![],
                problems: vec!["no known CNI found"],
            },
        ),
        (
            "DaemonSets forbidden: Calico recognised from its configuration, the gap recorded",
            CniObjects {
                config_maps: vec![calico_config("bird", "none")],
                ip_pools: vec![ip_pool(
                    "default-ipv4-ippool",
                    "192.168.0.0/16",
                    "Always",
                    "Never",
                )],
                unreadable: vec!["could not read DaemonSets in kube-system: forbidden".into()],
                ..CniObjects::default()
            },
            Expected {
                kind: CniKind::CalicoManifest,
                datapaths: vec![Datapath::Tunnel(Encap::IpInIp)],
                bgp: Toggle::On,
                typha: false,
                health_checks: false,
                host_ports: (Support::Supported, "portmap"),
                evidence: vec![
                    "ConfigMap calico-config (Calico (manifest))",
                    "IPPool default-ipv4-ippool 192.168.0.0/16 ipipMode=Always",
                ],
                problems: vec!["could not read DaemonSets in kube-system: forbidden"],
            },
        ),
        (
            "everything forbidden: unknown, with both reasons",
            CniObjects {
                unreadable: vec![
                    "could not read DaemonSets in kube-system: forbidden".into(),
                    "could not read ConfigMap kube-system/calico-config: forbidden".into(),
                ],
                ..CniObjects::default()
            },
            Expected {
                kind: CniKind::Unknown,
                datapaths: vec![],
                bgp: Toggle::Off,
                typha: false,
                health_checks: false,
                host_ports: (Support::Unknown, ""),
                evidence: vec![],
                problems: vec![
                    "no known CNI found",
                    "could not read DaemonSets in kube-system: forbidden",
                    "could not read ConfigMap kube-system/calico-config: forbidden",
                ],
            },
        ),
        (
            "a malformed net-conf.json is a problem, not a panic",
            flannel(
                r#"{"Network": "10.244.0.0/16", "Backend": {"Type": "vxlan"}"#,
                FLANNEL_CONFLIST,
            ),
            Expected {
                kind: CniKind::Flannel,
                datapaths: vec![],
                bgp: Toggle::Off,
                typha: false,
                health_checks: false,
                host_ports: (Support::Supported, "portmap"),
                evidence: vec!["DaemonSet kube-flannel/kube-flannel-ds (flannel)"],
                problems: vec!["kube-flannel-cfg net-conf.json is not valid JSON"],
            },
        ),
    ];
    for (what, objects, expected) in &rows {
        check(what, objects, expected);
    }
}

#[test]
fn encryption_the_bgp_port_and_the_pod_networks_are_read_as_configured() {
    let net = |text: &str| -> Ipv4Net { text.parse().unwrap() };
    let mut calico = CniObjects {
        daemon_sets: vec![calico_node("Always", "Never")],
        config_maps: vec![calico_config("bird", "none")],
        ip_pools: vec![ip_pool(
            "default-ipv4-ippool",
            "192.168.0.0/16",
            "Always",
            "Never",
        )],
        felix_configurations: vec![json!({
            "metadata": {"name": "default"},
            "spec": {"wireguardEnabled": true}
        })],
        bgp_configurations: vec![json!({
            "metadata": {"name": "default"},
            "spec": {"listenPort": 1179, "nodeToNodeMeshEnabled": true}
        })],
        ..CniObjects::default()
    };
    calico
        .ip_pools
        .push(ip_pool("v6", "fd00:10:244::/64", "Never", "Never"));
    let rows = [
        (
            "Calico with WireGuard on Felix's default port and BGP moved to 1179",
            calico,
            Some(51820),
            false,
            1179,
            vec![net("192.168.0.0/16")],
            "BGPConfiguration default listenPort=1179",
        ),
        (
            "an encrypted Weave Net: ESP between the nodes",
            CniObjects {
                daemon_sets: vec![daemon_set(
                    "kube-system",
                    "weave-net",
                    &[("WEAVE_PASSWORD", "s3cret")],
                )],
                ..CniObjects::default()
            },
            None,
            true,
            179,
            vec![],
            "WEAVE_PASSWORD",
        ),
        (
            "Cilium with WireGuard and IPsec",
            cilium(&json!({
                "routing-mode": "tunnel",
                "enable-wireguard": "true",
                "enable-ipsec": "true",
                "cluster-pool-ipv4-cidr": "10.42.0.0/16"
            })),
            Some(51871),
            true,
            179,
            vec![net("10.42.0.0/16")],
            "enable-wireguard=true enable-ipsec=true",
        ),
    ];
    for (what, objects, wireguard, esp, bgp_port, pods, evidence) in rows {
        let cni = detect(&objects);
        assert_eq!(cni.wireguard, wireguard, "{what}: wireguard");
        assert_eq!(cni.esp, esp, "{what}: esp");
        assert_eq!(cni.bgp_port, bgp_port, "{what}: bgp port");
        assert_eq!(cni.pod_cidrs, pods, "{what}: pod networks");
        assert!(
            cni.evidence.iter().any(|line| line.contains(evidence)),
            "{what}: no evidence mentions {evidence:?} in {:#?}",
            cni.evidence
        );
        assert!(cni.problems.is_empty(), "{what}: {:#?}", cni.problems);
    }
}
