//! The real Prometheus (2.53, Debian trixie's package, `$OBSBOOT_PROMETHEUS`) discovers the
//! default stacks' scrape targets in the simulated cluster after a bootstrap. The rendered
//! configuration is taken from the live `prometheus-config` ConfigMap and changed only where
//! a pod's environment differs from the test's: discovery's API server and token, and the
//! service account's files (stubbed). Relabelling runs untouched, so every job's active
//! targets (scrape URL and labels) are what a cluster would show; they are compared with
//! `tests/it/fixtures/prometheus/targets.yaml`.
//!
//! Pod names and pod IPs come from the simulated controllers' random suffixes and the order
//! pods start in, so the fixture names them by workload: `<bookinfo/details-v1 pod>` for the
//! pod's name, `<bookinfo/details-v1 pod IP>` for its address, `<bookinfo/details-v1
//! pod-template-hash>` for its ReplicaSet's hash (DaemonSet pods add `@node`; a
//! Deployment's replicas are numbered `[1]`, `[2]` by node). The cluster has kubeadm's CoreDNS.
//! The placeholders are resolved against the simulated cluster's pods, so a target whose
//! `pod` label named another pod than the one its address belongs to would not match.
//!
//! A second scenario turns on the four `spec.controlPlane` jobs in a cluster that also has
//! kubeadm's control plane as pods (`SimConfig::control_plane`) and compares those jobs'
//! targets with `tests/it/fixtures/prometheus/control-plane-targets.yaml`; mirror pods keep
//! their names there (`<component>-<node>`, fixed by the kubelet).
//!
//! `OBSBOOT_UPDATE_FIXTURES=1` rewrites the fixtures from what Prometheus reports.

mod server;
mod targets;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::apiserver::{ApiServer, SimConfig};
use crate::cluster::Sim;
use crate::prometheus_config;

use server::{Prometheus, prometheus, tail};
use targets::{Placeholders, Target, Targets, by_job};

/// How long Prometheus may take to start and to settle its targets before the test fails.
const DEADLINE: Duration = Duration::from_secs(60);

/// How long the active targets must stay the same to count as settled.
const SETTLED: Duration = Duration::from_secs(11);

/// The fixture, relative to the repository.
const FIXTURE: &str = "tests/it/fixtures/prometheus/targets.yaml";

/// Its header: what it holds and how it is made.
const HEADER: &str = "\
# The active scrape targets the real Prometheus (2.53) finds in the simulated cluster (kubeadm's,
# CoreDNS included) after a bootstrap of the default stacks: job -> targets, each its scrape
# URL and its labels (`job` left out: it is the key); a job with no target discovers nothing.
# Pods are named by workload: `<namespace/workload pod>` is the pod's name, `<namespace/workload
# pod IP>` its address, `<namespace/workload pod-template-hash>` its ReplicaSet's hash;
# DaemonSet pods add `@node`, a Deployment's replicas are numbered `[1]`, `[2]` by node.
# Discovery's meta labels are upstream's (prometheus/prometheus v2.53.3,
# discovery/kubernetes/{node,pod,endpointslice}.go).
# Checked by tests/it/prometheus_discovery.rs; OBSBOOT_UPDATE_FIXTURES=1 rewrites it.
";

/// The header of the control-plane scenario's fixture.
const CONTROL_PLANE_HEADER: &str = "\
# The active scrape targets of the control-plane jobs (spec.controlPlane, all four turned on)
# the real Prometheus (2.53) finds in the simulated cluster with kubeadm's control plane: the
# mirror pods of its static pods on the control-plane node (named `<component>-<node>`, as the
# kubelet names them) and kube-proxy's DaemonSet pods (`<kube-system/kube-proxy@node pod>`).
# All run on the host network, so each address is its node's with the component's port
# (kubeadm 1.33: kubernetes/kubernetes cmd/kubeadm/app/phases/controlplane/manifests.go,
# etcd/local.go, addons/proxy/manifests.go). Same format as targets.yaml.
# Checked by tests/it/prometheus_discovery.rs; OBSBOOT_UPDATE_FIXTURES=1 rewrites it.
";

/// The control-plane scenario's fixture, relative to the repository.
const CONTROL_PLANE_FIXTURE: &str = "tests/it/fixtures/prometheus/control-plane-targets.yaml";

/// The jobs `spec.controlPlane` turns on, with the stack field of each.
const CONTROL_PLANE_JOBS: [(&str, &str); 4] = [
    ("kube-scheduler", "kubeScheduler"),
    ("kube-controller-manager", "kubeControllerManager"),
    ("etcd", "etcd"),
    ("kube-proxy", "kubeProxy"),
];

/// The fixture at `relative`.
fn expected(relative: &str) -> Targets {
    let path = crate::harness::repo().join(relative);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "read {}: {e} (OBSBOOT_UPDATE_FIXTURES=1 writes it)",
            path.display()
        )
    });
    let mut targets: Targets =
        serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    for list in targets.values_mut() {
        list.sort();
    }
    targets
}

/// The rendered configuration from the live ConfigMap, made to run here.
fn runnable_config(sim: &Sim, dir: &Path) -> String {
    let config_map = sim
        .server
        .get("v1", "ConfigMap", Some("monitoring"), "prometheus-config")
        .expect("the prometheus-config ConfigMap exists");
    let rendered = config_map["data"]["prometheus.yml"]
        .as_str()
        .expect("a prometheus.yml key");
    let mut config = prometheus_config::parse(rendered);
    let relabelling = prometheus_config::relabelling(&config);
    let credentials = dir.join("serviceaccount");
    std::fs::create_dir_all(&credentials).expect("create the credentials directory");
    prometheus_config::stub_service_account(&mut config, &credentials);
    let token = dir.join("sim-token");
    std::fs::write(&token, sim.server.token()).expect("write the simulated server's token");
    prometheus_config::point_discovery_at(&mut config, &sim.server.url(), &token);
    assert_eq!(prometheus_config::relabelling(&config), relabelling);
    prometheus_config::text(&config)
}

#[test]
fn the_real_prometheus_discovers_every_jobs_targets_with_their_labels() {
    prometheus();
    // A kubeadm cluster's CoreDNS is scraped through its kube-dns Service.
    let sim = Sim::with(ApiServer::start_with(SimConfig {
        coredns: true,
        ..SimConfig::standard()
    }));
    sim.bootstrap();
    let dir = tempfile::tempdir().expect("a scratch directory");
    let (observed, server) = settled_targets(&sim, dir.path());
    assert_fixture(&observed, FIXTURE, HEADER, &server);
    assert_no_complaints(&server);
    assert_prometheus_requests(&sim);
}

#[test]
fn the_real_prometheus_finds_kubeadms_control_plane_when_its_jobs_are_on() {
    prometheus();
    let sim = Sim::with(ApiServer::start_with(SimConfig {
        coredns: true,
        control_plane: true,
        ..SimConfig::standard()
    }));
    for (_, field) in CONTROL_PLANE_JOBS {
        sim.scratch.edit(
            "stacks/prometheus.yaml",
            &format!("    {field}: false"),
            &format!("    {field}: true"),
        );
    }
    sim.bootstrap();
    let dir = tempfile::tempdir().expect("a scratch directory");
    let (observed, server) = settled_targets(&sim, dir.path());
    let observed: Targets = observed
        .into_iter()
        .filter(|(job, _)| CONTROL_PLANE_JOBS.iter().any(|(j, _)| j == job))
        .collect();
    assert_fixture(
        &observed,
        CONTROL_PLANE_FIXTURE,
        CONTROL_PLANE_HEADER,
        &server,
    );
    assert_no_complaints(&server);
    assert_prometheus_requests(&sim);
}

/// Starts Prometheus on the live configuration (its data in `dir`) and returns every job's
/// active targets once they have settled, with the running server.
fn settled_targets(sim: &Sim, dir: &Path) -> (Targets, Prometheus) {
    let config = runnable_config(sim, dir);
    let jobs = prometheus_config::job_names(&prometheus_config::parse(&config));
    let mut server = Prometheus::start(&config, dir);
    server.await_ready();

    let placeholders = Placeholders::of(sim);
    // Targets reach the API through two 5 s tickers: discovery's (upstream
    // discovery/manager.go, updatert) and the scrape manager's reload
    // (scrape/manager.go, reloader; --scrape.discovery-reload-interval). A set unchanged for
    // longer than both together has settled.
    let start = Instant::now();
    let mut current: Option<(Targets, Instant)> = None;
    loop {
        let observed = by_job(&jobs, &server.active_targets(), &placeholders);
        match &current {
            Some((seen, since)) if *seen == observed => {
                if since.elapsed() >= SETTLED {
                    return (observed, server);
                }
            }
            _ => current = Some((observed, Instant::now())),
        }
        assert!(
            start.elapsed() < DEADLINE,
            "the active targets still change after {DEADLINE:?}; prometheus's log ends:\n{}",
            tail(&server.log(), 20)
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// `observed` equals the fixture at `relative`; with `OBSBOOT_UPDATE_FIXTURES` set, the
/// fixture is rewritten (`header` first) instead.
fn assert_fixture(observed: &Targets, relative: &str, header: &str, server: &Prometheus) {
    let path = crate::harness::repo().join(relative);
    if std::env::var_os("OBSBOOT_UPDATE_FIXTURES").is_some() {
        let text = format!("{header}{}", serde_yaml::to_string(observed).expect("YAML"));
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("create fixtures");
        std::fs::write(path, text).expect("write the fixture");
        return;
    }
    let expected = expected(relative);
    assert!(
        *observed == expected,
        "the active targets differ from {relative} (OBSBOOT_UPDATE_FIXTURES=1 rewrites it):\n\
         {}\nprometheus's log ends:\n{}",
        difference(observed, &expected),
        tail(&server.log(), 20)
    );
}

/// Prometheus logged no warning and no error.
fn assert_no_complaints(server: &Prometheus) {
    let log = server.log();
    let complaints: Vec<&str> = log.lines().filter(|l| complaint(l)).collect();
    assert!(
        complaints.is_empty(),
        "prometheus complained:\n{}",
        complaints.join("\n")
    );
}

/// Whether a log line is a warning or an error: Prometheus's own (`level=warn`,
/// `level=error`) or client-go's klog lines (`W1205 ...`, `E1205 ...`).
fn complaint(line: &str) -> bool {
    let klog = line.len() > 5
        && matches!(line.as_bytes()[0], b'W' | b'E')
        && line.as_bytes()[1..5].iter().all(u8::is_ascii_digit);
    klog || line.contains("level=warn") || line.contains("level=error")
}

/// Per job, the targets the fixture holds that Prometheus does not report (`missing`) and
/// those it reports that the fixture does not hold (`unexpected`), as YAML.
fn difference(observed: &Targets, expected: &Targets) -> String {
    let empty = Vec::new();
    let mut out = BTreeMap::new();
    for job in observed.keys().chain(expected.keys()) {
        let (seen, wanted) = (
            observed.get(job).unwrap_or(&empty),
            expected.get(job).unwrap_or(&empty),
        );
        let missing: Vec<&Target> = wanted.iter().filter(|t| !seen.contains(t)).collect();
        let unexpected: Vec<&Target> = seen.iter().filter(|t| !wanted.contains(t)).collect();
        if !missing.is_empty() || !unexpected.is_empty() || seen.len() != wanted.len() {
            out.insert(
                job.clone(),
                BTreeMap::from([("missing", missing), ("unexpected", unexpected)]),
            );
        }
    }
    serde_yaml::to_string(&out).expect("YAML")
}

/// Prometheus asked the simulated server as client-go does and every answer was a success:
/// the server version (which EndpointSlice API to use), then lists and watches of each kind
/// discovery reads, asking for protobuf or JSON.
fn assert_prometheus_requests(sim: &Sim) {
    let requests: Vec<_> = sim
        .server
        .journal()
        .into_iter()
        .filter(|r| r.user_agent.starts_with("Prometheus/"))
        .collect();
    let failed: Vec<String> = requests
        .iter()
        .filter(|r| r.status != 200)
        .map(|r| format!("{} {} -> {}", r.method, r.path, r.status))
        .collect();
    assert!(failed.is_empty(), "failed requests: {failed:?}");
    assert!(requests.iter().any(|r| r.path == "/version"));
    for collection in [
        "/api/v1/nodes",
        "/api/v1/pods",
        "/api/v1/services",
        "/apis/discovery.k8s.io/v1/endpointslices",
    ] {
        let of = |watch: bool| {
            requests
                .iter()
                .filter(|r| r.path == collection && r.is_watch() == watch)
                .collect::<Vec<_>>()
        };
        let lists = of(false);
        assert!(
            lists
                .iter()
                .any(|r| r.accept.contains("application/vnd.kubernetes.protobuf")
                    && r.param("resourceVersion") == Some("0")),
            "no list of {collection}: {lists:?}"
        );
        assert!(
            of(true)
                .iter()
                .any(|r| r.param("allowWatchBookmarks") == Some("true")),
            "no watch of {collection}"
        );
    }
}
