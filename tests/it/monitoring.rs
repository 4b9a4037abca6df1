//! The monitoring stacks' generated configuration, checked by the tools that read it:
//! Prometheus's by `promtool` (2.53, the oldest Prometheus it must work with), Grafana's
//! provisioning against what the render holds.

use std::path::PathBuf;
use std::process::Command;

use serde_json::{Value, json};

use crate::harness::Scratch;
use crate::prometheus_config;

/// The scrape jobs the platform's Prometheus runs; dashboards may filter on these only.
const JOBS: [&str; 8] = [
    "prometheus",
    "kubernetes-apiservers",
    "kubernetes-nodes",
    "kubernetes-nodes-cadvisor",
    "kubernetes-service-endpoints",
    "kubernetes-pods",
    "linkerd-controller",
    "linkerd-proxy",
];

fn render(scratch: &Scratch) -> Vec<Value> {
    let document: Value =
        serde_json::from_str(&scratch.render(&["-o", "json"]).success()).expect("JSON");
    document["objects"].as_array().expect("objects").clone()
}

fn object<'a>(objects: &'a [Value], kind: &str, namespace: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| {
            o["kind"] == kind
                && o["metadata"]["namespace"] == namespace
                && o["metadata"]["name"] == name
        })
        .unwrap_or_else(|| panic!("no {kind} {namespace}/{name}"))
}

fn data<'a>(config_map: &'a Value, key: &str) -> &'a str {
    config_map["data"][key]
        .as_str()
        .unwrap_or_else(|| panic!("no data key {key} in {}", config_map["metadata"]["name"]))
}

/// `$OBSBOOT_PROMTOOL`, else `promtool` on `PATH`.
fn promtool() -> PathBuf {
    crate::harness::tool(
        "OBSBOOT_PROMTOOL",
        "promtool",
        "`tests/install-prometheus DIR` and set OBSBOOT_PROMTOOL=DIR/usr/bin/promtool",
    )
}

/// `promtool check config --lint=all` on `text`, whole (the files it names checked too): the
/// service account's files are stubbed in the scratch directory; the output when it fails.
fn check_config(scratch: &Scratch, text: &str) -> Result<(), String> {
    let credentials = scratch.path().join("serviceaccount");
    std::fs::create_dir_all(&credentials).expect("create the credentials directory");
    let mut config = prometheus_config::parse(text);
    prometheus_config::stub_service_account(&mut config, &credentials);
    scratch.write("prometheus.yml", &prometheus_config::text(&config));
    let output = Command::new(promtool())
        .args(["check", "config", "--lint=all"])
        .arg(scratch.path().join("prometheus.yml"))
        .output()
        .expect("run promtool");
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

fn prometheus_config(scratch: &Scratch) -> String {
    data(
        object(
            &render(scratch),
            "ConfigMap",
            "monitoring",
            "prometheus-config",
        ),
        "prometheus.yml",
    )
    .to_owned()
}

fn job_names(config: &str) -> Vec<String> {
    let parsed: Value = serde_yaml::from_str(config).expect("the configuration is YAML");
    parsed["scrape_configs"]
        .as_array()
        .expect("scrape_configs")
        .iter()
        .map(|job| job["job_name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn promtool_accepts_the_prometheus_configuration() {
    let scratch = Scratch::new();
    let config = prometheus_config(&scratch);
    assert_eq!(job_names(&config), JOBS);
    check_config(&scratch, &config)
        .unwrap_or_else(|failure| panic!("promtool rejects the configuration:\n{failure}"));
}

#[test]
fn without_linkerd_the_mesh_jobs_go_and_the_configuration_stays_valid() {
    let scratch = Scratch::new();
    scratch.remove("stacks/linkerd.yaml");
    scratch.edit("stacks/bookinfo.yaml", "  mesh: true", "  mesh: false");
    let config = prometheus_config(&scratch);
    assert_eq!(job_names(&config), JOBS[..6]);
    check_config(&scratch, &config)
        .unwrap_or_else(|failure| panic!("promtool rejects the configuration:\n{failure}"));
}

/// kubeadm's control-plane components, off by default, each turned on: promtool accepts the
/// jobs, named as verify reports them, each scoped to kube-system, keeping the pods kubeadm
/// labels for it (cmd/kubeadm: static pods `component=<name>`, kube-proxy `k8s-app`) and
/// scraping the node address on the component's port (kubeadm 1.33 defaults).
#[test]
fn the_control_plane_jobs_turned_on_are_valid() {
    let scratch = Scratch::new();
    for field in [
        "kubeScheduler",
        "kubeControllerManager",
        "etcd",
        "kubeProxy",
    ] {
        scratch.edit(
            "stacks/prometheus.yaml",
            &format!("    {field}: false"),
            &format!("    {field}: true"),
        );
    }
    let config = prometheus_config(&scratch);
    let components = [
        ("kube-scheduler", "component", "https", 10259),
        ("kube-controller-manager", "component", "https", 10257),
        ("etcd", "component", "http", 2381),
        ("kube-proxy", "k8s_app", "http", 10249),
    ];
    let expected: Vec<&str> = JOBS
        .iter()
        .copied()
        .chain(components.iter().map(|c| c.0))
        .collect();
    assert_eq!(job_names(&config), expected);
    check_config(&scratch, &config)
        .unwrap_or_else(|failure| panic!("promtool rejects the configuration:\n{failure}"));
    let parsed: Value = serde_yaml::from_str(&config).expect("YAML");
    for (name, label, scheme, port) in components {
        let job = parsed["scrape_configs"]
            .as_array()
            .expect("jobs")
            .iter()
            .find(|job| job["job_name"] == name)
            .expect("the job");
        assert_eq!(job["scheme"].as_str().unwrap_or("http"), scheme, "{name}");
        // Self-signed serving certificates: the https ones are not verified.
        assert_eq!(
            job["tls_config"]["insecure_skip_verify"].as_bool(),
            (scheme == "https").then_some(true),
            "{name}"
        );
        let sd = &job["kubernetes_sd_configs"][0];
        assert_eq!(
            (&sd["role"], &sd["namespaces"]["names"]),
            (&json!("pod"), &json!(["kube-system"])),
            "{name}"
        );
        let rules = job["relabel_configs"].as_array().expect("relabel_configs");
        let keep = json!({
            "source_labels": [format!("__meta_kubernetes_pod_label_{label}"), "__meta_kubernetes_pod_container_name"],
            "action": "keep",
            "regex": format!("{name};{name}"),
        });
        assert!(rules.contains(&keep), "{name}: {rules:?}");
        let address = rules
            .iter()
            .find(|rule| rule["target_label"] == "__address__")
            .expect("an address rule");
        assert_eq!(
            (&address["source_labels"], &address["replacement"]),
            (
                &json!(["__meta_kubernetes_pod_ip"]),
                &json!(format!("$1:{port}"))
            ),
            "{name}"
        );
    }
}

/// promtool really checks: an unknown field fails it (otherwise the tests above prove
/// nothing).
#[test]
fn promtool_rejects_a_broken_configuration() {
    let scratch = Scratch::new();
    let broken = prometheus_config(&scratch).replacen("scrape_interval:", "scrape_intervall:", 1);
    let failure = check_config(&scratch, &broken).expect_err("a misspelt field must fail");
    assert!(failure.contains("scrape_intervall"), "{failure}");
}

#[test]
fn prometheus_reloads_its_configuration_in_place() {
    let objects = render(&Scratch::new());
    let deployment = object(&objects, "Deployment", "monitoring", "prometheus");
    let pod = &deployment["spec"]["template"]["spec"];
    let server = &pod["containers"][0];
    assert!(
        server["args"]
            .as_array()
            .expect("args")
            .contains(&Value::from("--web.enable-lifecycle"))
    );
    let reloader = pod["containers"]
        .as_array()
        .expect("containers")
        .iter()
        .find(|c| c["name"] == "config-reloader")
        .expect("a config-reloader");
    let args = reloader["args"].as_array().expect("args");
    assert!(
        args.contains(&Value::from("--watched-dir=/etc/config"))
            && args.contains(&Value::from("--reload-url=http://127.0.0.1:9090/-/reload"))
    );
    // Mounted as a directory, without subPath, so that kubelet updates it in place; the pod
    // is therefore not rolled for a configuration change.
    for container in pod["containers"].as_array().expect("containers") {
        let mount = container["volumeMounts"]
            .as_array()
            .expect("mounts")
            .iter()
            .find(|m| m["name"] == "config")
            .expect("config mounted");
        assert_eq!(
            (mount["mountPath"].as_str(), mount.get("subPath")),
            (Some("/etc/config"), None)
        );
    }
    assert!(
        deployment["spec"]["template"]["metadata"]["annotations"]["obsboot.dev/config-checksum"]
            .is_null()
    );
}

#[test]
fn grafana_provisions_the_rendered_prometheus() {
    let objects = render(&Scratch::new());
    let datasources: Value = serde_yaml::from_str(data(
        object(&objects, "ConfigMap", "grafana", "grafana-datasources"),
        "prometheus.yaml",
    ))
    .expect("YAML");
    assert_eq!(datasources["apiVersion"], 1);
    let list = datasources["datasources"].as_array().expect("datasources");
    assert_eq!(list.len(), 1);
    let prometheus = &list[0];
    assert_eq!(
        (
            &prometheus["uid"],
            &prometheus["type"],
            &prometheus["isDefault"],
            &prometheus["access"]
        ),
        (
            &Value::from("prometheus"),
            &Value::from("prometheus"),
            &Value::from(true),
            &Value::from("proxy")
        )
    );
    // The URL names the rendered Service, namespace and port.
    let url = prometheus["url"].as_str().expect("a URL");
    let service = object(&objects, "Service", "monitoring", "prometheus");
    assert!(
        service["spec"]["ports"]
            .as_array()
            .expect("ports")
            .iter()
            .any(|p| p["port"] == 9090)
    );
    assert_eq!(url, "http://prometheus.monitoring.svc:9090");
}

#[test]
fn grafana_reads_the_dashboards_where_they_are_mounted() {
    let objects = render(&Scratch::new());
    let providers: Value = serde_yaml::from_str(data(
        object(
            &objects,
            "ConfigMap",
            "grafana",
            "grafana-dashboard-providers",
        ),
        "obsboot.yaml",
    ))
    .expect("YAML");
    let provider = &providers["providers"][0];
    assert_eq!(provider["type"], "file");
    let path = provider["options"]["path"].as_str().expect("a path");
    let deployment = object(&objects, "Deployment", "grafana", "grafana");
    let pod = &deployment["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    let mount_of = |volume: &str| {
        container["volumeMounts"]
            .as_array()
            .expect("mounts")
            .iter()
            .find(|m| m["name"] == volume)
            .unwrap_or_else(|| panic!("{volume} is not mounted"))["mountPath"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(mount_of("dashboards"), path);
    let env = |name: &str| {
        container["env"]
            .as_array()
            .expect("env")
            .iter()
            .find(|e| e["name"] == name)
            .and_then(|e| e["value"].as_str())
            .unwrap_or_default()
            .to_owned()
    };
    let provisioning = env("GF_PATHS_PROVISIONING");
    assert_eq!(
        mount_of("datasources"),
        format!("{provisioning}/datasources")
    );
    assert_eq!(
        mount_of("dashboard-providers"),
        format!("{provisioning}/dashboards")
    );
    // Every dashboard file is in the ConfigMap, as valid JSON with its uid.
    let dashboards = object(&objects, "ConfigMap", "grafana", "grafana-dashboards")["data"]
        .as_object()
        .expect("data")
        .clone();
    let files: Vec<String> =
        std::fs::read_dir(crate::harness::repo().join("templates/grafana/dashboards"))
            .expect("dashboards")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
    assert_eq!(dashboards.len(), files.len());
    for file in files {
        let json: Value =
            serde_json::from_str(dashboards[&file].as_str().expect("text")).expect("valid JSON");
        assert!(
            json["uid"]
                .as_str()
                .is_some_and(|uid| uid.starts_with("obsboot-")),
            "{file}"
        );
    }
    // Grafana reads datasources and providers only when it starts: a change to them rolls
    // the pod (the dashboards themselves are polled in place).
    assert!(
        deployment["spec"]["template"]["metadata"]["annotations"]["obsboot.dev/config-checksum"]
            .is_string()
    );
    assert_eq!(
        env("GF_SECURITY_ADMIN_PASSWORD__FILE"),
        "/etc/grafana/admin/admin-password"
    );
    let admin = pod["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .find(|v| v["name"] == "admin")
        .expect("admin volume");
    assert_eq!(admin["secret"]["secretName"], "grafana-admin");
}

#[test]
fn a_changed_start_time_configuration_rolls_the_pod() {
    let checksum = |scratch: &Scratch| {
        object(&render(scratch), "Deployment", "grafana", "grafana")["spec"]["template"]["metadata"]
            ["annotations"]["obsboot.dev/config-checksum"]
            .clone()
    };
    let scratch = Scratch::new();
    let before = checksum(&scratch);
    assert_eq!(before, checksum(&scratch), "stable across renders");
    scratch.edit(
        "stacks/prometheus.yaml",
        "scrapeInterval: 30s",
        "scrapeInterval: 15s",
    );
    assert_ne!(
        before,
        checksum(&scratch),
        "the datasource's timeInterval changed, so the checksum must"
    );
}
