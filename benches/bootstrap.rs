//! Bootstrap against the simulated API server, two ways.
//!
//! A modelled cluster: each workload's pods take their own time from scheduled to ready (a
//! stand-in for image pull and start-up: the Java reviews much slower than ratings), the
//! CRDs take a while to be Established, and a meshed pod is ready only once identity
//! certifies its proxy. Reported: the wall time of `obsboot bootstrap`, the critical path of
//! the same delays (the longest chain of what truly waits for what, computed here from the
//! delays, not from obsboot's own table), and their ratio; and, for comparison, what applying
//! the groups one after another would take.
//!
//! The tool's own cost, with 20 ms added to every request and readiness delays set to
//! nothing:
//!
//! - the wall time of `obsboot bootstrap` (the whole process), against applying the same
//!   objects one at a time in sequence, one server-side apply each (as `kubectl apply -f`
//!   does, minus its reads);
//! - how long after a workload turns ready in the server the wait notices it;
//! - the peak memory (maximum resident set) of a bootstrap process.
//!
//! `cargo bench --bench bootstrap` (`-- RUNS`, default 5). Figures go to standard output.

// A benchmark that cannot set up has nothing to measure; stopping is right.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic, missing_docs)]

#[path = "../tests/it/apiserver/mod.rs"]
mod apiserver;

use std::process::Command;
use std::time::{Duration, Instant};

use apiserver::{ApiServer, Readiness, SimConfig};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::discovery::{Discovery, Scope};
use serde_json::Value;

const LATENCY: Duration = Duration::from_millis(20);

fn config() -> SimConfig {
    SimConfig {
        latency: LATENCY,
        pod_ready_after: Duration::ZERO,
        crd_established_after: Duration::ZERO,
        observe_after: Duration::ZERO,
        namespace_cleanup_after: Duration::ZERO,
        ..SimConfig::standard()
    }
}

/// How long the CRDs take to be Established in the modelled cluster.
const CRDS: Duration = Duration::from_millis(500);

/// Each workload's start-up in the modelled cluster (about a tenth of what a fresh node
/// takes to pull and start them): (namespace, workload, seconds).
const START_UP: [(&str, &str, f64); 13] = [
    ("linkerd", "linkerd-identity", 2.0),
    ("linkerd", "linkerd-destination", 2.5),
    ("linkerd", "linkerd-proxy-injector", 2.0),
    ("monitoring", "prometheus", 2.5),
    ("monitoring", "kube-state-metrics", 1.5),
    ("monitoring", "node-exporter", 1.0),
    ("grafana", "grafana", 3.0),
    ("bookinfo", "productpage-v1", 2.0),
    ("bookinfo", "details-v1", 1.5),
    ("bookinfo", "ratings-v1", 1.0),
    ("bookinfo", "reviews-v1", 4.0),
    ("bookinfo", "reviews-v2", 4.0),
    ("bookinfo", "reviews-v3", 4.0),
];

fn start_up(workload: &str) -> f64 {
    START_UP
        .iter()
        .find(|(_, w, _)| *w == workload)
        .map(|(_, _, s)| *s)
        .unwrap()
}

fn slowest(namespace: &str) -> f64 {
    START_UP
        .iter()
        .filter(|(n, _, _)| *n == namespace)
        .map(|(_, _, s)| *s)
        .fold(0.0, f64::max)
}

/// The longest chain of what truly waits for what, from the delays alone: identity; the
/// destination once the CRDs are served; the injector and every other proxy certified once
/// identity is ready; monitoring from the start; Bookinfo once the injector serves, each of
/// its proxies also waiting for identity.
fn critical_path() -> f64 {
    let crds = CRDS.as_secs_f64();
    let identity = start_up("linkerd-identity");
    let destination = (crds + start_up("linkerd-destination")).max(identity);
    let injector = start_up("linkerd-proxy-injector").max(identity);
    let bookinfo = (injector + slowest("bookinfo")).max(identity);
    let monitoring = slowest("monitoring").max(slowest("grafana"));
    [crds, identity, destination, injector, bookinfo, monitoring]
        .into_iter()
        .fold(0.0, f64::max)
}

/// The same delays with every group waiting for the one before: CRDs, identity, the rest of
/// Linkerd, monitoring, Bookinfo.
fn one_after_another() -> f64 {
    let linkerd = start_up("linkerd-destination").max(start_up("linkerd-proxy-injector"));
    CRDS.as_secs_f64()
        + start_up("linkerd-identity")
        + linkerd
        + slowest("monitoring").max(slowest("grafana"))
        + slowest("bookinfo")
}

fn modelled() -> SimConfig {
    SimConfig {
        crd_established_after: CRDS,
        ..SimConfig::standard()
    }
}

fn main() {
    let runs: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(5);
    let dir = tempfile::tempdir().unwrap();
    let mut walls = Vec::new();
    for _ in 0..runs {
        let server = ApiServer::start_with(modelled());
        for (namespace, workload, seconds) in START_UP {
            server.set_readiness(
                namespace,
                workload,
                Readiness::After(Duration::from_secs_f64(seconds)),
            );
        }
        let kubeconfig = dir.path().join("kubeconfig");
        server.write_kubeconfig(&kubeconfig);
        walls.push(timed_bootstrap(&kubeconfig).0);
    }
    let (wall, critical) = (median(&walls), critical_path());
    println!(
        "modelled cluster (start-up per workload, CRDs Established after {} ms), {runs} runs, medians:",
        CRDS.as_millis()
    );
    println!("  obsboot bootstrap (whole process):   {wall:7.2} s");
    println!("  critical path of the same delays:    {critical:7.2} s");
    println!(
        "  ratio wall / critical path:          {:7.2}   (target <= 1.15)",
        wall / critical
    );
    println!(
        "  the groups one after another:        {:7.2} s   (computed)",
        one_after_another()
    );

    let mut bootstrap = Vec::new();
    let mut peak_kib = Vec::new();
    for _ in 0..runs {
        let server = ApiServer::start_with(config());
        let kubeconfig = dir.path().join("kubeconfig");
        server.write_kubeconfig(&kubeconfig);
        let (seconds, kib) = timed_bootstrap(&kubeconfig);
        bootstrap.push(seconds);
        peak_kib.push(kib);
    }
    let sequential: Vec<f64> = (0..runs).map(|_| sequential_apply()).collect();
    let notice: Vec<f64> = (0..runs.max(10)).map(|_| notice_latency()).collect();
    let (b, s) = (median(&bootstrap), median(&sequential));
    println!(
        "latency per request: {} ms, {runs} runs, medians:",
        LATENCY.as_millis()
    );
    println!(
        "  obsboot bootstrap (whole process):   {:7.0} ms",
        b * 1000.0
    );
    println!(
        "  sequential server-side apply:        {:7.0} ms",
        s * 1000.0
    );
    println!("  ratio bootstrap / sequential:        {:7.2}", b / s);
    println!(
        "  ready in the server -> noticed:      {:7.1} ms (max {:.1} ms)",
        median(&notice) * 1000.0,
        notice.iter().copied().fold(0.0, f64::max) * 1000.0
    );
    println!(
        "  peak memory of a bootstrap (max RSS): {:6.1} MB",
        median(&peak_kib) / 1024.0
    );
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

/// Runs a bootstrap under Python's `resource` module, which reports the child's peak RSS.
fn timed_bootstrap(kubeconfig: &std::path::Path) -> (f64, f64) {
    let script = "import resource, subprocess, sys, time\n\
        start = time.perf_counter()\n\
        subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n\
        print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n";
    let output = Command::new("python3")
        .args([
            "-c",
            script,
            env!("CARGO_BIN_EXE_obsboot"),
            "bootstrap",
            "--skip-security-groups",
            "--kubeconfig",
        ])
        .arg(kubeconfig)
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "bootstrap failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    let mut fields = text.split_whitespace().map(|f| f.parse::<f64>().unwrap());
    (fields.next().unwrap(), fields.next().unwrap())
}

/// The same objects, applied one after the other (namespaces and CRDs first, as rendered).
fn sequential_apply() -> f64 {
    let render = Command::new(env!("CARGO_BIN_EXE_obsboot"))
        .args(["render", "-o", "json"])
        .output()
        .unwrap();
    let plan: Value = serde_json::from_slice(&render.stdout).unwrap();
    let objects = plan["objects"].as_array().unwrap().clone();
    let server = ApiServer::start_with(config());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = kube::Client::try_from(server.kube_config()).unwrap();
        let started = Instant::now();
        let mut discovery = Discovery::new(client.clone())
            .run_aggregated()
            .await
            .unwrap();
        for object in &objects {
            let object: DynamicObject = serde_json::from_value(object.clone()).unwrap();
            let types = object.types.clone().unwrap();
            let gvk = kube::api::GroupVersionKind::try_from(&types).unwrap();
            if discovery.resolve_gvk(&gvk).is_none() {
                // CRDs applied earlier in the sequence serve their kinds once established.
                discovery = Discovery::new(client.clone())
                    .run_aggregated()
                    .await
                    .unwrap();
            }
            let (resource, caps) = discovery.resolve_gvk(&gvk).unwrap();
            let api: Api<DynamicObject> = match (caps.scope, &object.metadata.namespace) {
                (Scope::Namespaced, Some(ns)) => {
                    Api::namespaced_with(client.clone(), ns, &resource)
                }
                _ => Api::all_with(client.clone(), &resource),
            };
            let name = object.metadata.name.clone().unwrap();
            api.patch(
                &name,
                &PatchParams::apply("kubectl"),
                &Patch::Apply(&object),
            )
            .await
            .unwrap();
        }
        started.elapsed().as_secs_f64()
    })
}

/// A Deployment that was not ready turns ready; how long until `Cluster::wait` returns.
fn notice_latency() -> f64 {
    let server = ApiServer::start_with(SimConfig::standard());
    server.set_readiness("default", "web", Readiness::Never);
    server.apply_as(
        "bench",
        serde_json::json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}
        }),
    );
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let key = obsboot::render::ObjectKey {
        group: "apps".into(),
        kind: "Deployment".into(),
        namespace: Some("default".into()),
        name: "web".into(),
    };
    runtime.block_on(async {
        let target = obsboot::k8s::Target {
            kubeconfig: Some(kubeconfig),
            context: None,
        };
        let cluster = obsboot::k8s::Cluster::connect(&target).await.unwrap();
        let cancel = tokio_util::sync::CancellationToken::new();
        let wait = async {
            let waited = cluster
                .wait(
                    "apps/v1",
                    &key,
                    obsboot::k8s::Until::Ready,
                    Duration::from_secs(10),
                    &cancel,
                )
                .await;
            (waited, Instant::now())
        };
        let flip = async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            server.set_readiness("default", "web", Readiness::After(Duration::ZERO));
            let ready = tokio::task::block_in_place(|| {
                server.wait_until(Duration::from_secs(5), |view| {
                    view.get("apps/v1", "Deployment", Some("default"), "web")
                        .is_some_and(|d| d["status"]["availableReplicas"] == 1)
                })
            });
            assert!(ready);
            Instant::now()
        };
        let ((waited, noticed_at), ready_at) = tokio::join!(wait, flip);
        waited.unwrap();
        noticed_at.duration_since(ready_at).as_secs_f64()
    })
}
