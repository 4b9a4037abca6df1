//! The rendered Prometheus configuration made runnable outside a pod: the files it names
//! under the service account's mount (`ca.crt`, `token`) become stub files in a directory
//! of the test's, and, for the real-Prometheus test, each `kubernetes_sd_configs` entry is
//! pointed at the simulated API server. Nothing else changes: jobs and relabelling are
//! compared before and after.

use std::path::Path;

use serde_yaml::{Mapping, Value};

/// Where a pod's service-account credentials are mounted; the configuration names files here.
pub const SERVICE_ACCOUNT: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// The keys of Prometheus's HTTP client configuration that name a file.
const FILE_KEYS: [&str; 5] = [
    "ca_file",
    "cert_file",
    "key_file",
    "credentials_file",
    "bearer_token_file",
];

/// Parses `config` (a `prometheus.yml`).
pub fn parse(config: &str) -> Value {
    serde_yaml::from_str(config).expect("the Prometheus configuration is YAML")
}

/// Writes the stub credentials into `dir` (a self-signed CA certificate, since Prometheus
/// parses `ca_file` when it loads the configuration, and a token) and rewrites every file
/// path under [`SERVICE_ACCOUNT`] to them.
pub fn stub_service_account(config: &mut Value, dir: &Path) {
    let ca = rcgen::generate_simple_self_signed(vec!["kubernetes".to_owned()])
        .expect("a self-signed certificate");
    std::fs::write(dir.join("ca.crt"), ca.cert.pem()).expect("write ca.crt");
    std::fs::write(dir.join("token"), "stub-service-account-token\n").expect("write the token");
    rewrite_files(config, dir);
}

/// Rewrites the file keys whose path is under [`SERVICE_ACCOUNT`] to the same name in `dir`.
fn rewrite_files(value: &mut Value, dir: &Path) {
    match value {
        Value::Mapping(map) => {
            for (key, item) in map.iter_mut() {
                let file_key = key.as_str().is_some_and(|k| FILE_KEYS.contains(&k));
                match item {
                    Value::String(path) if file_key => {
                        if let Some(name) = path.strip_prefix(&format!("{SERVICE_ACCOUNT}/")) {
                            *path = dir.join(name).display().to_string();
                        }
                    }
                    other => rewrite_files(other, dir),
                }
            }
        }
        Value::Sequence(items) => items.iter_mut().for_each(|i| rewrite_files(i, dir)),
        _ => {}
    }
}

/// Points every `kubernetes_sd_configs` entry at `api_server`, authenticated by the bearer
/// token in `token_file`. An entry that already names a server is a test failure: the
/// configuration must rely on the in-cluster default.
pub fn point_discovery_at(config: &mut Value, api_server: &str, token_file: &Path) {
    for job in scrape_configs_mut(config) {
        let name = job["job_name"].as_str().unwrap_or_default().to_owned();
        let Some(Value::Sequence(entries)) = job.get_mut("kubernetes_sd_configs") else {
            continue;
        };
        for entry in entries {
            let entry = entry
                .as_mapping_mut()
                .unwrap_or_else(|| panic!("job {name}: a kubernetes_sd_configs entry is a map"));
            assert!(
                !entry.contains_key("api_server") && !entry.contains_key("authorization"),
                "job {name}: discovery must use the pod's in-cluster configuration"
            );
            entry.insert("api_server".into(), api_server.into());
            let mut authorization = Mapping::new();
            authorization.insert(
                "credentials_file".into(),
                token_file.display().to_string().into(),
            );
            entry.insert("authorization".into(), Value::Mapping(authorization));
        }
    }
}

/// The scrape jobs, to edit.
fn scrape_configs_mut(config: &mut Value) -> impl Iterator<Item = &mut Value> {
    config
        .get_mut("scrape_configs")
        .and_then(Value::as_sequence_mut)
        .expect("scrape_configs")
        .iter_mut()
}

/// The scrape jobs' names, in order.
pub fn job_names(config: &Value) -> Vec<String> {
    relabelling(config)
        .into_iter()
        .map(|(job, _)| job)
        .collect()
}

/// Each job's name with its `relabel_configs`, to show that an edit left them alone.
pub fn relabelling(config: &Value) -> Vec<(String, Value)> {
    config["scrape_configs"]
        .as_sequence()
        .expect("scrape_configs")
        .iter()
        .map(|job| {
            (
                job["job_name"].as_str().unwrap_or_default().to_owned(),
                job["relabel_configs"].clone(),
            )
        })
        .collect()
}

/// The configuration as YAML text.
pub fn text(config: &Value) -> String {
    serde_yaml::to_string(config).expect("the configuration serializes")
}
