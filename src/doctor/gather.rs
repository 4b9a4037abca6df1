//! Reading the facts: the CNI's objects and the nodes from the API server, the instances and
//! rules from EC2, the webhooks and their endpoints, and (optionally) the probes. Reads only.

use std::collections::BTreeMap;
use std::time::Duration;

use kube::api::{Api, DynamicObject, ListParams};
use serde_json::Value;

use crate::aws::Ec2;
use crate::k8s::{ApiFailure, Cluster, K8sError, retry};
use crate::network::cni;
use crate::network::fixes::Profile;
use crate::network::flows::Prometheus;
use crate::network::model::Ranges;
use crate::network::{ranges, read};
use crate::plan::Plan;
use crate::stack::StackKind;

use super::DoctorError;
use super::facts::{Facts, Read};
use super::inventory::{self, KubeNode};
use super::probe;
use super::webhooks;

/// What the facts are read with.
pub struct Sources<'a> {
    /// The cluster.
    pub cluster: &'a Cluster,
    /// EC2, or why it is not read.
    pub ec2: Result<&'a Ec2, String>,
    /// cluster.yaml's `name`.
    pub installation: &'a str,
    /// The control-plane node's labels.
    pub selector: &'a BTreeMap<String, String>,
    /// The rendered platform, for where Prometheus runs (`None`: not part of it).
    pub plan: Option<&'a Plan>,
    /// The bound on each probe; `None` to skip them.
    pub probe_timeout: Option<Duration>,
    /// How much `--fix` opens.
    pub profile: Profile,
}

/// Reads everything the checks need.
pub async fn facts(sources: &Sources<'_>) -> Result<Facts, DoctorError> {
    let objects = read::objects(sources.cluster).await?;
    let nodes: Vec<KubeNode> = objects
        .nodes
        .iter()
        .map(|n| KubeNode::of(n, sources.selector))
        .collect();
    let cni = cni::detect(&objects);
    let (kubeadm_pods, services) = ranges::kubeadm(&objects);
    let pods = if cni.pod_cidrs.is_empty() {
        kubeadm_pods
    } else {
        cni.pod_cidrs.clone()
    };
    let ec2 = match &sources.ec2 {
        Ok(ec2) => {
            Read::Read(inventory::read(ec2.api(), &ec2.region, &nodes, sources.installation).await?)
        }
        Err(why) => Read::Skipped(why.clone()),
    };
    let control_plane: Vec<String> = nodes
        .iter()
        .filter(|n| n.control_plane)
        .map(|n| n.name.clone())
        .collect();
    let prometheus = sources.plan.map_or(Prometheus::Absent, |plan| {
        prometheus(plan, sources.selector, &control_plane)
    });
    let configurations = [
        list(
            sources.cluster,
            "admissionregistration.k8s.io/v1",
            "MutatingWebhookConfiguration",
            None,
        )
        .await?,
        list(
            sources.cluster,
            "admissionregistration.k8s.io/v1",
            "ValidatingWebhookConfiguration",
            None,
        )
        .await?,
    ]
    .concat();
    let slices = if configurations.is_empty() {
        Vec::new()
    } else {
        list(
            sources.cluster,
            "discovery.k8s.io/v1",
            "EndpointSlice",
            None,
        )
        .await?
    };
    let probes = match sources.probe_timeout {
        Some(timeout) => {
            let pods = list(sources.cluster, "v1", "Pod", None).await?;
            let names: Vec<String> = nodes.iter().map(|n| n.name.clone()).collect();
            let targets = probe::targets(&names, &pods);
            Read::Read(probe::run(sources.cluster.client_once(), targets, timeout).await)
        }
        None => Read::Skipped("the probes were not asked for (--no-probe)".into()),
    };
    let vpc = ec2.get().map(|i| i.vpc_cidrs.clone()).unwrap_or_default();
    Ok(Facts {
        installation: sources.installation.to_owned(),
        nodes,
        ec2,
        cni,
        ranges: Ranges {
            pods,
            services,
            vpc,
        },
        prometheus,
        probes,
        webhooks: webhooks::from_objects(&configurations, &slices),
        profile: sources.profile,
    })
}

/// Where the platform's Prometheus runs: on the control-plane nodes when its Deployment is
/// pinned there, else on any node.
fn prometheus(
    plan: &Plan,
    selector: &BTreeMap<String, String>,
    control_plane: &[String],
) -> Prometheus {
    let server = plan.objects.iter().find(|o| {
        o.stack == StackKind::Prometheus
            && matches!(o.key.kind.as_str(), "Deployment" | "StatefulSet")
            && o.key.name == "prometheus"
    });
    let Some(server) = server else {
        return Prometheus::Absent;
    };
    let pinned = server
        .value
        .pointer("/spec/template/spec/nodeSelector")
        .and_then(Value::as_object)
        .is_some_and(|ns| {
            !selector.is_empty()
                && selector
                    .iter()
                    .all(|(k, v)| ns.get(k).and_then(Value::as_str) == Some(v.as_str()))
        });
    if pinned && !control_plane.is_empty() {
        Prometheus::On(control_plane.to_vec())
    } else {
        Prometheus::Anywhere
    }
}

/// Every object of a kind the cluster serves (none when it does not serve it).
async fn list(
    cluster: &Cluster,
    api_version: &str,
    kind: &str,
    namespace: Option<&str>,
) -> Result<Vec<Value>, K8sError> {
    let Some((resource, _)) = cluster.resolve(api_version, kind) else {
        return Ok(Vec::new());
    };
    let api: Api<DynamicObject> = match namespace {
        Some(ns) => Api::namespaced_with(cluster.client().clone(), ns, &resource),
        None => Api::all_with(cluster.client().clone(), &resource),
    };
    let what = format!("{kind}s");
    let params = ListParams::default();
    match retry::read(&format!("list {what}"), || api.list(&params)).await {
        Ok(list) => Ok(list
            .items
            .iter()
            .map(|o| {
                let mut value = serde_json::to_value(o).unwrap_or(Value::Null);
                if let Some(map) = value.as_object_mut() {
                    map.insert("kind".into(), Value::String(kind.to_owned()));
                }
                value
            })
            .collect()),
        Err(err) => Err(K8sError::List {
            what,
            source: ApiFailure::from_kube(&err, false),
        }),
    }
}
