//! The active targets as the fixture holds them: by job, sorted, pods' names, IPs and
//! template hashes replaced by placeholders named after their workloads.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::cluster::Sim;

/// One target as the fixture holds it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Target {
    scrape_url: String,
    labels: BTreeMap<String, String>,
}

/// Every job's targets, sorted.
pub type Targets = BTreeMap<String, Vec<Target>>;

/// What pod names and pod IPs stand for in the fixture.
pub struct Placeholders(BTreeMap<String, String>);

impl Placeholders {
    /// The placeholders of the simulated cluster's pods but mirror pods. Pods of one workload are numbered
    /// (`[1]`, `[2]`) in the order of their node's name, then their own.
    pub fn of(sim: &Sim) -> Self {
        let objects = sim.server.objects();
        let mut by_workload: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
        // Mirror pods keep their names: the kubelet makes them `<static pod>-<node>`.
        let mirror =
            |p: &Value| p["metadata"]["annotations"]["kubernetes.io/config.mirror"].is_string();
        for pod in objects.iter().filter(|o| o["kind"] == "Pod" && !mirror(o)) {
            let namespace = pod["metadata"]["namespace"].as_str().unwrap_or_default();
            let workload = format!("{namespace}/{}", workload(pod, &objects));
            by_workload.entry(workload).or_default().push(pod);
        }
        let mut map = BTreeMap::new();
        for (workload, mut pods) in by_workload {
            let key = |p: &&Value| {
                (
                    p["spec"]["nodeName"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    p["metadata"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                )
            };
            pods.sort_by_key(key);
            let count = pods.len();
            for (index, pod) in pods.into_iter().enumerate() {
                let one = if count == 1 {
                    workload.clone()
                } else {
                    format!("{workload}[{}]", index + 1)
                };
                let ip = pod["status"]["podIP"].as_str().unwrap_or_default();
                if pod["spec"]["hostNetwork"] != true && !ip.is_empty() {
                    let previous = map.insert(ip.to_owned(), format!("<{one} pod IP>"));
                    assert!(previous.is_none(), "two pods have the IP {ip}");
                }
                let name = pod["metadata"]["name"].as_str().unwrap_or_default();
                map.insert(name.to_owned(), format!("<{one} pod>"));
                // The ReplicaSet's template hash: of the pod template, which for meshed
                // workloads holds the checksum of the trust anchor bootstrap generates.
                if let Some(hash) = pod["metadata"]["labels"]["pod-template-hash"].as_str() {
                    map.insert(hash.to_owned(), format!("<{workload} pod-template-hash>"));
                }
            }
        }
        Self(map)
    }

    /// `value` with a pod's name or IP (alone, or as the host of `host:port` or a URL)
    /// replaced by its placeholder.
    fn apply(&self, value: &str) -> String {
        let (scheme, rest) = value.split_once("://").map_or(("", value), |(s, r)| (s, r));
        let end = rest.find([':', '/']).unwrap_or(rest.len());
        let (host, tail) = rest.split_at(end);
        match self.0.get(host) {
            Some(placeholder) if scheme.is_empty() => format!("{placeholder}{tail}"),
            Some(placeholder) => format!("{scheme}://{placeholder}{tail}"),
            None => value.to_owned(),
        }
    }
}

/// The workload that owns `pod`: its Deployment (through the ReplicaSet), its DaemonSet with
/// `@node`, or the pod's own name.
fn workload(pod: &Value, objects: &[Value]) -> String {
    let owner = pod["metadata"]["ownerReferences"]
        .as_array()
        .and_then(|refs| refs.iter().find(|r| r["controller"] == true));
    let name = |v: &Value| v["name"].as_str().unwrap_or_default().to_owned();
    match owner {
        Some(r) if r["kind"] == "ReplicaSet" => objects
            .iter()
            .find(|o| o["kind"] == "ReplicaSet" && o["metadata"]["uid"] == r["uid"])
            .and_then(|rs| {
                rs["metadata"]["ownerReferences"]
                    .as_array()
                    .and_then(|refs| refs.iter().find(|r| r["kind"] == "Deployment"))
            })
            .map_or_else(|| name(r), name),
        Some(r) if r["kind"] == "DaemonSet" => {
            format!(
                "{}@{}",
                name(r),
                pod["spec"]["nodeName"].as_str().unwrap_or_default()
            )
        }
        _ => name(&pod["metadata"]),
    }
}

/// The active targets of each of `jobs` (none for a job that discovers nothing), with
/// placeholders for pods; `job` must equal the pool's name.
pub fn by_job(jobs: &[String], active: &[Value], placeholders: &Placeholders) -> Targets {
    let mut targets: Targets = jobs.iter().map(|job| (job.clone(), Vec::new())).collect();
    for target in active {
        let job = target["scrapePool"]
            .as_str()
            .expect("scrapePool")
            .to_owned();
        let mut labels: BTreeMap<String, String> =
            serde_json::from_value(target["labels"].clone()).expect("labels");
        assert_eq!(labels.remove("job").as_deref(), Some(job.as_str()));
        let labels = labels
            .into_iter()
            .map(|(k, v)| {
                let v = placeholders.apply(&v);
                (k, v)
            })
            .collect();
        let scrape_url = placeholders.apply(target["scrapeUrl"].as_str().expect("scrapeUrl"));
        targets
            .entry(job)
            .or_default()
            .push(Target { scrape_url, labels });
    }
    for list in targets.values_mut() {
        list.sort();
    }
    targets
}
