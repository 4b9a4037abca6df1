//! The CNI fixtures, read through discovery and lists as a client (and obsboot doctor)
//! reads them.

use kube::Discovery;
use kube::api::{Api, DynamicObject, ListParams};
use serde_json::Value;

use super::{SETTLE, block_on, client, raw};
use crate::apiserver::{ApiServer, CniLayout};

/// Lists `kind` of `group` through aggregated discovery; `None` when discovery lacks it.
async fn list(
    client: &kube::Client,
    group: &str,
    kind: &str,
    ns: Option<&str>,
) -> Option<Vec<Value>> {
    let discovery = Discovery::new(client.clone())
        .run_aggregated()
        .await
        .unwrap();
    let (resource, _) = discovery.get(group)?.recommended_kind(kind)?;
    let api: Api<DynamicObject> = match ns {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &resource),
        None => Api::all_with(client.clone(), &resource),
    };
    let items = api.list(&ListParams::default()).await.unwrap().items;
    Some(
        items
            .into_iter()
            .map(|o| serde_json::to_value(o).unwrap())
            .collect(),
    )
}

fn named<'a>(items: &'a [Value], name: &str) -> &'a Value {
    items
        .iter()
        .find(|o| o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("{name} is listed"))
}

#[test]
fn calico_manifest_install_lists_its_mode_pool_and_node_annotations() {
    let server = ApiServer::start();
    server.install_cni(CniLayout::CalicoManifest);
    block_on(async {
        let client = client(&server).await;
        let pools = list(&client, "crd.projectcalico.org", "IPPool", None)
            .await
            .unwrap();
        let pool = named(&pools, "default-ipv4-ippool");
        assert_eq!(pool["spec"]["ipipMode"], "Always");
        assert_eq!(pool["spec"]["vxlanMode"], "Never");
        assert!(
            list(&client, "crd.projectcalico.org", "FelixConfiguration", None)
                .await
                .is_some()
        );
        let maps = list(&client, "", "ConfigMap", Some("kube-system"))
            .await
            .unwrap();
        let config = named(&maps, "calico-config");
        assert_eq!(config["data"]["calico_backend"], "bird");
        let cni: Value = serde_json::from_str(
            &config["data"]["cni_network_config"]
                .as_str()
                .unwrap()
                .replace("__CNI_MTU__", "0"),
        )
        .unwrap();
        assert_eq!(cni["plugins"][1]["type"], "portmap");
        let sets = list(&client, "apps", "DaemonSet", Some("kube-system"))
            .await
            .unwrap();
        let env = &named(&sets, "calico-node")["spec"]["template"]["spec"]["containers"][0]["env"];
        assert!(
            env.as_array()
                .unwrap()
                .iter()
                .any(|e| e["name"] == "CALICO_IPV4POOL_IPIP" && e["value"] == "Always")
        );
        let nodes = list(&client, "", "Node", None).await.unwrap();
        let master = named(&nodes, "ip-10-0-1-74");
        assert_eq!(
            master["metadata"]["annotations"]["projectcalico.org/IPv4Address"],
            "10.0.1.74/24"
        );
        assert!(
            master["metadata"]["annotations"]["projectcalico.org/IPv4IPIPTunnelAddr"].is_string()
        );
        // Absent CNIs' kinds are not served.
        assert!(
            list(&client, "operator.tigera.io", "Installation", None)
                .await
                .is_none()
        );
        assert!(
            list(&client, "cilium.io", "CiliumNode", None)
                .await
                .is_none()
        );
    });
    // calico-node runs on both nodes, the tainted control plane included.
    assert!(server.wait_until(SETTLE, |view| {
        view.list("v1", "Pod")
            .iter()
            .filter(|p| {
                p["metadata"]["namespace"] == "kube-system"
                    && p["metadata"]["labels"]["k8s-app"] == "calico-node"
            })
            .filter(|p| p["status"]["phase"] == "Running")
            .count()
            == 2
    }));
}

#[test]
fn calico_operator_install_lists_its_installation_and_typha() {
    let server = ApiServer::start();
    server.install_cni(CniLayout::CalicoOperator);
    block_on(async {
        let client = client(&server).await;
        let installations = list(&client, "operator.tigera.io", "Installation", None)
            .await
            .unwrap();
        let pools = &named(&installations, "default")["spec"]["calicoNetwork"]["ipPools"];
        assert_eq!(pools[0]["encapsulation"], "VXLANCrossSubnet");
        let pools = list(&client, "crd.projectcalico.org", "IPPool", None)
            .await
            .unwrap();
        assert_eq!(
            named(&pools, "default-ipv4-ippool")["spec"]["vxlanMode"],
            "CrossSubnet"
        );
        let deployments = list(&client, "apps", "Deployment", Some("calico-system"))
            .await
            .unwrap();
        named(&deployments, "calico-typha");
        let sets = list(&client, "apps", "DaemonSet", Some("calico-system"))
            .await
            .unwrap();
        named(&sets, "calico-node");
        let nodes = list(&client, "", "Node", None).await.unwrap();
        assert!(named(&nodes, "ip-10-0-2-15")["metadata"]["annotations"]["projectcalico.org/IPv4VXLANTunnelAddr"].is_string());
    });
}

#[test]
fn flannel_install_lists_its_backend_and_portmap() {
    let server = ApiServer::start();
    server.install_cni(CniLayout::Flannel);
    block_on(async {
        let client = client(&server).await;
        let maps = list(&client, "", "ConfigMap", Some("kube-flannel"))
            .await
            .unwrap();
        let data = &named(&maps, "kube-flannel-cfg")["data"];
        let net: Value = serde_json::from_str(data["net-conf.json"].as_str().unwrap()).unwrap();
        assert_eq!(net["Backend"]["Type"], "vxlan");
        assert!(net["Backend"].get("Port").is_none());
        let cni: Value = serde_json::from_str(data["cni-conf.json"].as_str().unwrap()).unwrap();
        assert_eq!(cni["plugins"][1]["type"], "portmap");
        let sets = list(&client, "apps", "DaemonSet", Some("kube-flannel"))
            .await
            .unwrap();
        named(&sets, "kube-flannel-ds");
        assert!(
            list(&client, "crd.projectcalico.org", "IPPool", None)
                .await
                .is_none()
        );
    });
    // A list of an absent CRD's resource is the mux's plain 404, as on a real server.
    let answer = raw(
        &server,
        "GET",
        "/apis/crd.projectcalico.org/v1/ippools",
        "",
        "",
    );
    assert_eq!(
        (answer.code, answer.body.as_str()),
        (404, "404 page not found\n")
    );
}

#[test]
fn cilium_install_lists_its_config_and_nodes() {
    let server = ApiServer::start();
    server.install_cni(CniLayout::Cilium);
    block_on(async {
        let client = client(&server).await;
        let maps = list(&client, "", "ConfigMap", Some("kube-system"))
            .await
            .unwrap();
        let data = &named(&maps, "cilium-config")["data"];
        assert_eq!(data["routing-mode"], "tunnel");
        assert_eq!(data["tunnel-protocol"], "vxlan");
        assert_eq!(data["kube-proxy-replacement"], "false");
        assert!(data.get("cni-chaining-mode").is_none());
        let nodes = list(&client, "cilium.io", "CiliumNode", None)
            .await
            .unwrap();
        assert_eq!(nodes.len(), 2);
        let sets = list(&client, "apps", "DaemonSet", Some("kube-system"))
            .await
            .unwrap();
        named(&sets, "cilium");
    });
}
