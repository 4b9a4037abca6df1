//! The cluster's address ranges: kubeadm's pod and Service networks, and whether the pod
//! network collides with the VPC or the Service network (Calico's requirements: the pod range
//! must not overlap the range host addresses come from).

use ipnet::Ipv4Net;
use serde_json::Value;

use super::cni::CniObjects;

/// Two ranges that overlap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overlap {
    /// The pod network.
    pub pods: Ipv4Net,
    /// What it overlaps.
    pub other: Ipv4Net,
    /// What the other range is (`VPC`, `Service network`).
    pub other_is: &'static str,
}

impl std::fmt::Display for Overlap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pod network {} overlaps the {} {}: {}",
            self.pods,
            self.other_is,
            self.other,
            if self.other_is == "VPC" {
                "pod and node addresses can collide; reinstall the CNI with a pool outside the VPC"
            } else {
                "Service and pod addresses can collide; choose disjoint ranges"
            }
        )
    }
}

/// Every overlap of a pod network with a VPC range or the Service network.
pub fn overlaps(pods: &[Ipv4Net], vpc: &[Ipv4Net], services: Option<Ipv4Net>) -> Vec<Overlap> {
    let mut out = Vec::new();
    for pod in pods {
        for (other, other_is) in vpc
            .iter()
            .map(|v| (*v, "VPC"))
            .chain(services.map(|s| (s, "Service network")))
        {
            if pod.contains(&other.network()) || other.contains(&pod.network()) {
                out.push(Overlap {
                    pods: *pod,
                    other,
                    other_is,
                });
            }
        }
    }
    out
}

/// kubeadm's `networking.podSubnet` and `networking.serviceSubnet` from the
/// `kube-system/kubeadm-config` ConfigMap (its `ClusterConfiguration` key), when present
/// and valid. A comma-separated dual-stack value yields its IPv4 part.
pub fn kubeadm(objects: &CniObjects) -> (Vec<Ipv4Net>, Option<Ipv4Net>) {
    let config = objects
        .config_maps
        .iter()
        .find(|cm| cm.pointer("/metadata/name").and_then(Value::as_str) == Some("kubeadm-config"))
        .and_then(|cm| cm.pointer("/data/ClusterConfiguration"))
        .and_then(Value::as_str)
        .and_then(|text| serde_yaml::from_str::<Value>(text).ok());
    let field = |key: &str| -> Vec<Ipv4Net> {
        config
            .as_ref()
            .and_then(|c| c.pointer(&format!("/networking/{key}")))
            .and_then(Value::as_str)
            .map(|text| {
                text.split(',')
                    .filter_map(|part| part.trim().parse().ok())
                    .collect()
            })
            .unwrap_or_default()
    };
    (field("podSubnet"), field("serviceSubnet").first().copied())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn net(text: &str) -> Ipv4Net {
        text.parse().unwrap()
    }

    #[test]
    fn overlaps_name_both_ranges() {
        /// Pods, VPC ranges, the Service range, and the ranges the pods overlap.
        type Row<'a> = (&'a str, &'a [&'a str], Option<&'a str>, &'a [&'a str]);
        let table: [Row; 5] = [
            (
                "192.168.0.0/16",
                &["10.0.0.0/16"],
                Some("10.96.0.0/12"),
                &[],
            ),
            ("10.0.0.0/16", &["10.0.0.0/16"], None, &["10.0.0.0/16"]),
            ("10.0.0.0/8", &["10.0.0.0/16"], None, &["10.0.0.0/16"]),
            ("10.0.128.0/17", &["10.0.0.0/16"], None, &["10.0.0.0/16"]),
            (
                "10.96.0.0/16",
                &["172.31.0.0/16"],
                Some("10.96.0.0/12"),
                &["10.96.0.0/12"],
            ),
        ];
        for (pods, vpc, services, expected) in table {
            let vpc: Vec<Ipv4Net> = vpc.iter().map(|v| net(v)).collect();
            let found = overlaps(&[net(pods)], &vpc, services.map(net));
            let others: Vec<String> = found.iter().map(|o| o.other.to_string()).collect();
            assert_eq!(others, expected, "{pods}");
        }
        let text = overlaps(&[net("10.0.0.0/16")], &[net("10.0.0.0/16")], None)[0].to_string();
        assert!(
            text.contains("pod network 10.0.0.0/16 overlaps the VPC 10.0.0.0/16"),
            "{text}"
        );
    }

    #[test]
    fn kubeadm_networking_is_read_from_the_cluster_configuration() {
        let objects = CniObjects {
            config_maps: vec![json!({
                "metadata": {"name": "kubeadm-config", "namespace": "kube-system"},
                "data": {"ClusterConfiguration": "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nnetworking:\n  dnsDomain: cluster.local\n  podSubnet: 192.168.0.0/16,fd00::/56\n  serviceSubnet: 10.96.0.0/12\n"}
            })],
            ..CniObjects::default()
        };
        assert_eq!(
            kubeadm(&objects),
            (vec![net("192.168.0.0/16")], Some(net("10.96.0.0/12")))
        );
        assert_eq!(kubeadm(&CniObjects::default()), (vec![], None));
    }
}
