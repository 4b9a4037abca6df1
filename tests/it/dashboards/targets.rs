//! The scrape jobs of the rendered Prometheus configuration and the target labels each one
//! gives its series, derived from its relabelling rules: `job` and `instance`, static labels,
//! every `target_label` a rule writes, and what `labelmap` rules make of the Kubernetes labels
//! of the objects the job discovers (the rendered objects, plus the labels that kubelet,
//! kubeadm, the Kubernetes controllers and Linkerd's injector add, listed in
//! `tests/it/fixtures/metrics/discovered-labels.yaml` with their sources).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;

use regex::Regex;
use serde_json::Value;

use super::root;
use crate::harness::Scratch;

/// The real Prometheus's active targets per job, as asserted against a running Prometheus.
const DISCOVERED_TARGETS: &str = "tests/it/fixtures/prometheus/targets.yaml";

/// Labels of discovered objects that obsboot does not render, by discovery role.
const DISCOVERED_LABELS: &str = "tests/it/fixtures/metrics/discovered-labels.yaml";

/// A scrape job's target labels and whether it honours the labels its targets expose.
pub struct Job {
    pub labels: BTreeSet<String>,
    pub honor_labels: bool,
}

/// The platform's default render (`obsboot render -o json`): its objects.
pub fn rendered_objects() -> Vec<Value> {
    let out = Scratch::new().render(&["-o", "json"]).success();
    let document: Value = serde_json::from_str(&out).expect("the render is JSON");
    document["objects"].as_array().expect("objects").clone()
}

/// The rendered Prometheus configuration, parsed.
pub fn prometheus_config(objects: &[Value]) -> Value {
    let config_map = objects
        .iter()
        .find(|o| o["kind"] == "ConfigMap" && o["metadata"]["name"] == "prometheus-config")
        .expect("a prometheus-config ConfigMap");
    let text = config_map["data"]["prometheus.yml"]
        .as_str()
        .expect("prometheus.yml");
    serde_yaml::from_str(text).expect("prometheus.yml is YAML")
}

/// The jobs the real Prometheus discovers: the keys of the discovery fixture once it exists,
/// else the `job_name`s of the rendered configuration.
pub fn discovered_jobs(config: &Value) -> BTreeSet<String> {
    let path = root().join(DISCOVERED_TARGETS);
    if path.exists() {
        let text = fs::read_to_string(&path).expect("read the discovered targets");
        let targets: BTreeMap<String, serde_yaml::Value> =
            serde_yaml::from_str(&text).expect("the discovered targets are a mapping by job");
        return targets.into_keys().collect();
    }
    scrape_configs(config)
        .map(|job| job["job_name"].as_str().expect("job_name").to_owned())
        .collect()
}

fn scrape_configs(config: &Value) -> impl Iterator<Item = &Value> {
    config["scrape_configs"]
        .as_array()
        .expect("scrape_configs")
        .iter()
}

/// Every job of the rendered configuration with its target labels.
pub fn jobs(objects: &[Value], config: &Value) -> BTreeMap<String, Job> {
    let discovered = discovered_label_keys(objects);
    scrape_configs(config)
        .map(|job| {
            let name = job["job_name"].as_str().expect("job_name").to_owned();
            let labels = target_labels(job, &discovered);
            let honor_labels = job["honor_labels"].as_bool().unwrap_or(false);
            (
                name,
                Job {
                    labels,
                    honor_labels,
                },
            )
        })
        .collect()
}

/// Label keys of the objects each discovery role sees, by the object kind in the meta label
/// name (`node`, `service`, `pod`).
fn discovered_label_keys(objects: &[Value]) -> BTreeMap<String, BTreeSet<String>> {
    let path = root().join(DISCOVERED_LABELS);
    let text = fs::read_to_string(&path).expect("read the discovered labels");
    let mut keys: BTreeMap<String, BTreeSet<String>> =
        serde_yaml::from_str(&text).expect("the discovered labels are a mapping of lists");
    for object in objects {
        let (kind, labels) = match object["kind"].as_str() {
            Some("Service") => ("service", &object["metadata"]["labels"]),
            Some("Deployment" | "DaemonSet" | "StatefulSet") => {
                ("pod", &object["spec"]["template"]["metadata"]["labels"])
            }
            _ => continue,
        };
        let entry = keys.entry(kind.to_owned()).or_default();
        entry.extend(
            labels
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, _)| k.clone()),
        );
    }
    keys
}

/// The meta label names a Kubernetes discovery role yields for object labels (the only meta
/// labels whose names vary): node labels for `node`; pod labels for `pod`; Service and, for
/// endpoints backed by pods, pod labels for `endpoints` and `endpointslice`
/// (prometheus/prometheus discovery/kubernetes/{node,pod,endpoints,endpointslice}.go).
fn meta_label_names(role: &str, keys: &BTreeMap<String, BTreeSet<String>>) -> BTreeSet<String> {
    let kinds: &[&str] = match role {
        "node" => &["node"],
        "pod" => &["pod"],
        "endpoints" | "endpointslice" | "service" => &["service", "pod"],
        other => panic!("no meta labels known for discovery role {other}"),
    };
    kinds
        .iter()
        .flat_map(|kind| {
            keys.get(*kind)
                .into_iter()
                .flatten()
                .map(move |key| format!("__meta_kubernetes_{kind}_label_{}", sanitize(key)))
        })
        .collect()
}

/// A Kubernetes label key as Prometheus turns it into part of a label name: every character
/// outside `[a-zA-Z0-9_]` becomes `_` (prometheus/common strutil.SanitizeLabelName).
fn sanitize(key: &str) -> String {
    key.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// The labels a job's targets carry after relabelling, computed on label names: a rule that
/// writes `target_label` adds it, `labelmap` adds the renamed matches, `labeldrop` and
/// `labelkeep` remove names; `keep`, `drop` and `hashmod` select targets and change no name.
/// Names starting with `__` are dropped at the end; `job` and `instance` are always there.
fn target_labels(job: &Value, keys: &BTreeMap<String, BTreeSet<String>>) -> BTreeSet<String> {
    let mut names = BTreeSet::from(["__address__".to_owned()]);
    for sd in job["kubernetes_sd_configs"]
        .as_array()
        .into_iter()
        .flatten()
    {
        names.extend(meta_label_names(sd["role"].as_str().expect("role"), keys));
    }
    for config in job["static_configs"].as_array().into_iter().flatten() {
        names.extend(
            config["labels"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, _)| k.clone()),
        );
    }
    for rule in job["relabel_configs"].as_array().into_iter().flatten() {
        relabel(rule, &mut names);
    }
    names.retain(|name| !name.starts_with("__"));
    names.extend(["job".to_owned(), "instance".to_owned()]);
    names
}

/// One relabelling rule applied to a set of label names.
fn relabel(rule: &Value, names: &mut BTreeSet<String>) {
    let pattern = rule["regex"].as_str().unwrap_or("(.*)");
    let regex = Regex::new(&format!("^(?:{pattern})$")).expect("a relabel regex");
    match rule["action"].as_str().unwrap_or("replace") {
        "replace" | "lowercase" | "uppercase" => {
            if let Some(target) = rule["target_label"].as_str()
                && !target.contains('$')
            {
                names.insert(target.to_owned());
            }
        }
        "labelmap" => {
            let replacement = rule["replacement"].as_str().unwrap_or("$1");
            let mapped: Vec<String> = names
                .iter()
                .filter_map(|name| {
                    let captures = regex.captures(name)?;
                    let mut out = String::new();
                    captures.expand(replacement, &mut out);
                    Some(out)
                })
                .collect();
            names.extend(mapped);
        }
        "labeldrop" => names.retain(|name| !regex.is_match(name)),
        "labelkeep" => names.retain(|name| regex.is_match(name)),
        _ => {}
    }
}

#[test]
fn relabelling_on_names_follows_the_rules() {
    let job: Value = serde_yaml::from_str(
        r"
job_name: x
kubernetes_sd_configs: [{role: pod}]
relabel_configs:
  - {source_labels: [__meta_kubernetes_pod_label_app], action: keep, regex: 'a'}
  - {source_labels: [__meta_kubernetes_namespace], target_label: namespace}
  - {source_labels: [__meta_kubernetes_pod_name], target_label: '${1}_x'}
  - {action: labelmap, regex: __meta_kubernetes_pod_label_linkerd_io_proxy_(.+)}
  - {action: labelmap, regex: __meta_kubernetes_pod_label_(.+), replacement: __tmp_$1}
  - {action: labeldrop, regex: __tmp_linkerd_io_(.+)}
  - {action: labelmap, regex: __tmp_(.+)}
",
    )
    .expect("YAML");
    let keys = BTreeMap::from([(
        "pod".to_owned(),
        BTreeSet::from(["app".to_owned(), "linkerd.io/proxy-deployment".to_owned()]),
    )]);
    let labels: Vec<String> = target_labels(&job, &keys).into_iter().collect();
    assert_eq!(
        labels,
        ["app", "deployment", "instance", "job", "namespace"]
    );
}
