//! Black-box tests of bootstrap, teardown, status and diff: the built binary against the
//! simulated API server, through the real kube client.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::Value;

use crate::apiserver::{ApiServer, Fault, FaultAction, Readiness};
use crate::harness::{Run, Scratch};

/// A scratch directory with the default stacks and a kubeconfig for a fresh simulated cluster.
/// Without `aws`, the cluster commands leave security groups alone (`--skip-security-groups`).
pub struct Sim {
    pub server: ApiServer,
    pub scratch: Scratch,
    /// The environment that points the AWS SDK at moto, when the test has one.
    pub aws: Vec<(String, String)>,
}

impl Sim {
    /// The trust anchors of the live `linkerd-identity-trust-roots` ConfigMap.
    pub fn trust_roots(&self) -> String {
        let roots = self
            .server
            .get(
                "v1",
                "ConfigMap",
                Some("linkerd"),
                "linkerd-identity-trust-roots",
            )
            .expect("the trust roots ConfigMap exists");
        roots["data"]["ca-bundle.crt"]
            .as_str()
            .expect("a ca-bundle.crt key")
            .to_owned()
    }

    pub fn new() -> Self {
        Self::with(ApiServer::start())
    }

    pub fn with(server: ApiServer) -> Self {
        let scratch = Scratch::new();
        server.write_kubeconfig(&scratch.path().join("kubeconfig"));
        Self {
            server,
            scratch,
            aws: Vec::new(),
        }
    }

    fn args<'a>(&self, command: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec![command, "--stacks", "stacks", "--kubeconfig", "kubeconfig"];
        let waits = matches!(command, "bootstrap" | "teardown");
        if waits && !extra.contains(&"--timeout") {
            args.extend(["--timeout", "20s"]);
        }
        let ec2 = matches!(
            command,
            "bootstrap" | "teardown" | "verify" | "diff" | "status" | "doctor"
        );
        if ec2 && self.aws.is_empty() {
            args.push("--skip-security-groups");
        }
        // The standard EC2 world opens nothing between its nodes, which bootstrap's network
        // pre-flight rightly refuses; tests/it/doctor.rs tests that gate on its own.
        if command == "bootstrap" && !self.aws.is_empty() && !extra.contains(&"--fix-network") {
            args.push("--skip-doctor");
        }
        args.extend_from_slice(extra);
        args
    }

    /// Runs `obsboot <command>` against the simulated cluster.
    pub fn run(&self, command: &str, extra: &[&str]) -> Run {
        crate::harness::obsboot_with(self.scratch.path(), &self.args(command, extra), &self.aws)
    }

    /// Starts `obsboot <command>` without waiting for it.
    pub fn spawn(&self, command: &str, extra: &[&str]) -> Child {
        crate::harness::command(self.scratch.path())
            .args(self.args(command, extra))
            .envs(self.aws.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start obsboot")
    }

    pub fn bootstrap(&self) -> String {
        self.run("bootstrap", &[]).success()
    }

    /// Every stored object carrying obsboot's label, as `Kind namespace/name`, except the
    /// endpoints Kubernetes derives from Services (which copy their labels).
    pub fn ours(&self) -> Vec<String> {
        let mut ours: Vec<String> = self
            .server
            .objects()
            .iter()
            .filter(|o| label(o, "app.kubernetes.io/managed-by") == Some("obsboot"))
            .filter(|o| o["kind"] != "EndpointSlice" && o["kind"] != "Endpoints")
            .map(describe)
            .collect();
        ours.sort();
        ours
    }

    /// resourceVersion of every stored object.
    pub fn versions(&self) -> BTreeMap<String, String> {
        self.server
            .objects()
            .iter()
            .map(|o| {
                (
                    describe(o),
                    o["metadata"]["resourceVersion"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                )
            })
            .collect()
    }

    /// The requests that changed the server's state, as `METHOD path`, except those that
    /// take and release obsboot's lock (every bootstrap and teardown does).
    pub fn writes(&self) -> Vec<String> {
        self.server
            .journal()
            .into_iter()
            .filter(|r| r.write && !r.dry_run && !r.path.contains(LOCKS))
            .map(|r| format!("{} {}", r.method, r.path))
            .collect()
    }

    /// obsboot's lock, when some run holds it.
    pub fn lock_lease(&self) -> Option<Value> {
        self.server.get(
            "coordination.k8s.io/v1",
            "Lease",
            Some("kube-system"),
            "obsboot-lock-obsboot",
        )
    }

    /// The requests on obsboot's lock, as `METHOD path`.
    pub fn lock_requests(&self) -> Vec<String> {
        self.server
            .journal()
            .into_iter()
            .filter(|r| r.path.contains(LOCKS))
            .map(|r| format!("{} {}", r.method, r.path))
            .collect()
    }
}

/// Where the lock lives.
const LOCKS: &str = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases";

fn label<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    object["metadata"]["labels"][key].as_str()
}

pub fn describe(object: &Value) -> String {
    let kind = object["kind"].as_str().unwrap_or_default();
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    match object["metadata"]["namespace"].as_str() {
        Some(namespace) => format!("{kind} {namespace}/{name}"),
        None => format!("{kind} {name}"),
    }
}

fn planned() -> Vec<String> {
    let scratch = Scratch::new();
    let json: Value = serde_json::from_str(&scratch.render(&["-o", "json"]).success()).unwrap();
    let mut names: Vec<String> = json["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(describe)
        .collect();
    names.extend(json["secrets"].as_array().unwrap().iter().map(|s| {
        format!(
            "Secret {}/{}",
            s["namespace"].as_str().unwrap(),
            s["name"].as_str().unwrap()
        )
    }));
    names.sort();
    names
}

fn pods(sim: &Sim, namespace: &str) -> Vec<Value> {
    sim.server
        .objects()
        .into_iter()
        .filter(|o| {
            o["kind"] == "Pod"
                && o["metadata"]["namespace"] == namespace
                && o["metadata"]["deletionTimestamp"].is_null()
        })
        .collect()
}

fn has_proxy(pod: &Value) -> bool {
    ["containers", "initContainers"].iter().any(|list| {
        pod["spec"][list]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["name"] == "linkerd-proxy"))
    })
}

fn secret_value(sim: &Sim, namespace: &str, name: &str, key: &str) -> String {
    let secret = sim
        .server
        .get("v1", "Secret", Some(namespace), name)
        .expect("the Secret exists");
    let encoded = secret["data"][key].as_str().expect("the key exists");
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap(),
    )
    .unwrap()
}

#[test]
fn a_fresh_bootstrap_brings_up_every_planned_object_meshed_and_says_so() {
    let sim = Sim::new();
    let run = sim.run("bootstrap", &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut ours = sim.ours();
    ours.retain(|o| !o.starts_with("ConfigMap kube-system/obsboot-inventory"));
    assert_eq!(ours, planned());
    assert!(
        run.stdout
            .starts_with("bootstrap complete: 80 objects (80 created, 0 changed, 0 unchanged)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("kubectl -n grafana get secret grafana-admin")
    );
    // Numbered as they start: monitoring beside Linkerd's identity, the control plane once
    // the CRDs are served, the applications once the injector serves.
    for line in [
        "[1/7] namespaces and CRDs: applying 16 objects",
        "[2/7] generated secrets: 6 created, 0 reused",
        "[3/7] Linkerd identity: applying 28 objects",
        "[4/7] monitoring: applying 20 objects",
        "[5/7] Linkerd control plane: applying 2 objects",
        "[6/7] Linkerd proxy-injector: waiting until it serves",
        "[6/7] Linkerd proxy-injector: serving after ",
        "[7/7] applications: applying 14 objects",
        "[7/7] applications: 14 applied (14 created, 0 changed, 0 unchanged), 6 ready in ",
    ] {
        assert!(
            run.stderr.contains(line),
            "missing {line:?} in:\n{}",
            run.stderr
        );
    }
    let position = |text: &str| run.stderr.find(text).unwrap();
    assert!(
        position("[4/7] monitoring: applying") < position("[3/7] Linkerd identity: 28 applied"),
        "monitoring starts before Linkerd is ready:\n{}",
        run.stderr
    );
    assert!(
        position("[6/7] Linkerd proxy-injector: serving")
            < position("[7/7] applications: applying"),
        "{}",
        run.stderr
    );
    let bookinfo = pods(&sim, "bookinfo");
    assert_eq!(bookinfo.len(), 6);
    assert!(
        bookinfo.iter().all(has_proxy),
        "every Bookinfo pod is meshed"
    );
    let productpage = bookinfo
        .iter()
        .find(|p| {
            p["metadata"]["name"]
                .as_str()
                .unwrap()
                .starts_with("productpage-v1")
        })
        .unwrap();
    assert_eq!(
        productpage["spec"]["nodeName"], "ip-10-0-1-74",
        "pinned to the control-plane node"
    );
    // Secrets never reach the output.
    let password = secret_value(&sim, "grafana", "grafana-admin", "admin-password");
    let key = secret_value(&sim, "linkerd", "linkerd-identity-issuer", "key.pem");
    for text in [&run.stdout, &run.stderr] {
        assert!(!text.contains(&password) && !text.contains(key.lines().nth(1).unwrap()));
    }
    let inventory = sim
        .server
        .get(
            "v1",
            "ConfigMap",
            Some("kube-system"),
            "obsboot-inventory-obsboot",
        )
        .unwrap();
    let recorded: Vec<Value> =
        serde_json::from_str(inventory["data"]["objects"].as_str().unwrap()).unwrap();
    assert_eq!(recorded.len(), planned().len());
}

#[test]
fn generated_certificates_chain_and_fill_the_webhooks_and_trust_roots() {
    let sim = Sim::new();
    sim.bootstrap();
    let dir = sim.scratch.path();
    let anchor = secret_value(&sim, "linkerd", "linkerd-identity-issuer", "ca.crt");
    let issuer = secret_value(&sim, "linkerd", "linkerd-identity-issuer", "crt.pem");
    std::fs::write(dir.join("anchor.pem"), &anchor).unwrap();
    std::fs::write(dir.join("issuer.pem"), &issuer).unwrap();
    let verify = Command::new("openssl")
        .args(["verify", "-CAfile", "anchor.pem", "issuer.pem"])
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    assert_eq!(sim.trust_roots().trim(), anchor.trim());
    let webhook = sim
        .server
        .get(
            "admissionregistration.k8s.io/v1",
            "MutatingWebhookConfiguration",
            None,
            "linkerd-proxy-injector-webhook-config",
        )
        .unwrap();
    let bundle = base64::engine::general_purpose::STANDARD
        .decode(
            webhook["webhooks"][0]["clientConfig"]["caBundle"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    let serving = secret_value(&sim, "linkerd", "linkerd-proxy-injector-k8s-tls", "tls.crt");
    assert_eq!(String::from_utf8(bundle).unwrap(), serving);
    std::fs::write(dir.join("serving.pem"), &serving).unwrap();
    let verify = Command::new("openssl")
        .args([
            "verify",
            "-CAfile",
            "serving.pem",
            "-verify_hostname",
            "linkerd-proxy-injector.linkerd.svc",
            "serving.pem",
        ])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
}

#[test]
fn a_second_bootstrap_changes_nothing() {
    let sim = Sim::new();
    sim.bootstrap();
    let versions = sim.versions();
    let password = secret_value(&sim, "grafana", "grafana-admin", "admin-password");
    sim.server.clear_journal();
    let out = sim.bootstrap();
    assert!(
        out.starts_with("bootstrap complete: nothing changed (80 objects already as planned)"),
        "{out}"
    );
    assert_eq!(
        sim.writes(),
        Vec::<String>::new(),
        "no write reached the API server"
    );
    assert_eq!(sim.versions(), versions, "no resourceVersion moved");
    assert_eq!(
        secret_value(&sim, "grafana", "grafana-admin", "admin-password"),
        password
    );
}

#[test]
fn status_and_diff_report_a_bootstrapped_cluster_and_a_changed_setting() {
    let sim = Sim::new();
    let before = sim.run("status", &[]).success();
    assert!(
        before.contains("0 ready") && before.contains("86 missing"),
        "{before}"
    );
    sim.bootstrap();
    let status = sim.run("status", &[]).success();
    assert!(
        status.contains(&format!(
            "\n86 objects on {}: 86 ready, 0 waiting, 0 failed, 0 missing, 0 not obsboot's\ncertificates ",
            sim.server.url()
        )),
        "{status}"
    );
    assert_eq!(
        sim.run("diff", &["--exit-code"]).success(),
        "no changes: the cluster matches the plan\n"
    );
    sim.scratch
        .edit("stacks/prometheus.yaml", "retention: 15d", "retention: 30d");
    sim.server.clear_journal();
    let diff = sim.run("diff", &["--exit-code"]);
    assert_eq!(diff.code, 1);
    assert!(
        diff.stdout
            .contains("--- live Deployment monitoring/prometheus"),
        "{}",
        diff.stdout
    );
    assert!(diff.stdout.contains("-        - --storage.tsdb.retention.time=15d\n+        - --storage.tsdb.retention.time=30d"), "{}", diff.stdout);
    assert_eq!(sim.writes(), Vec::<String>::new(), "diff writes nothing");
}

#[test]
fn teardown_removes_everything_of_ours_keeps_foreign_objects_and_a_second_run_does_nothing() {
    let sim = Sim::new();
    sim.bootstrap();
    sim.server.apply_as(
        "kubectl",
        serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "notes", "namespace": "bookinfo"}, "data": {"a": "b"}}),
    );
    let refused = sim.run("teardown", &[]);
    assert_eq!(refused.code, 2);
    assert!(
        refused
            .stderr
            .contains("refusing to tear down: standard input is not a terminal; pass --yes"),
        "{}",
        refused.stderr
    );
    let out = sim.run("teardown", &["--yes"]).success();
    assert!(out.contains("kept: Namespace bookinfo: kept: it holds objects obsboot did not create (ConfigMap bookinfo/notes)"), "{out}");
    assert_eq!(
        sim.ours(),
        [
            "ConfigMap kube-system/obsboot-inventory-obsboot",
            "Namespace bookinfo"
        ]
    );
    assert!(
        sim.server
            .get("v1", "ConfigMap", Some("bookinfo"), "notes")
            .is_some()
    );
    assert!(sim.server.get("v1", "Namespace", None, "linkerd").is_none());
    sim.server
        .delete("v1", "ConfigMap", Some("bookinfo"), "notes");
    sim.run("teardown", &["--yes"]).success();
    assert_eq!(sim.ours(), Vec::<String>::new());
    sim.server.clear_journal();
    let again = sim.run("teardown", &["--yes"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again.stdout.starts_with("teardown: nothing to delete"),
        "{}",
        again.stdout
    );
    assert_eq!(
        sim.writes(),
        Vec::<String>::new(),
        "only the lock is taken and given back"
    );
}

#[test]
fn an_existing_object_without_our_labels_stops_bootstrap_before_any_change() {
    let sim = Sim::new();
    sim.server.apply_as("helm", serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "grafana"}}));
    sim.server.apply_as(
        "helm",
        serde_json::json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "grafana", "namespace": "grafana"}}),
    );
    sim.server.clear_journal();
    let err = sim.run("bootstrap", &[]).refused();
    assert!(
        err.contains(
            "error: ServiceAccount grafana/grafana already exists and is not managed by obsboot"
        ),
        "{err}"
    );
    assert_eq!(sim.writes(), Vec::<String>::new());
}

#[test]
fn an_existing_namespace_is_used_as_it_is_and_kept_by_teardown() {
    let sim = Sim::new();
    sim.server.apply_as("kubectl", serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "monitoring"}}));
    let out = sim.bootstrap();
    assert!(
        out.contains("left alone: Namespace monitoring: the namespace already exists"),
        "{out}"
    );
    let namespace = sim
        .server
        .get("v1", "Namespace", None, "monitoring")
        .unwrap();
    assert_eq!(
        label(&namespace, "app.kubernetes.io/managed-by"),
        None,
        "not taken over"
    );
    let out = sim.run("teardown", &["--yes"]).success();
    assert!(
        out.contains("kept: Namespace monitoring: it existed before obsboot"),
        "{out}"
    );
    assert!(
        sim.server
            .get("v1", "Namespace", None, "monitoring")
            .is_some()
    );
    assert!(
        sim.server
            .get("apps/v1", "Deployment", Some("grafana"), "grafana")
            .is_none()
    );
}

#[test]
fn a_field_owned_by_another_manager_is_a_conflict_until_forced() {
    let sim = Sim::new();
    sim.bootstrap();
    let mut deployment = sim
        .server
        .get("apps/v1", "Deployment", Some("bookinfo"), "details-v1")
        .unwrap();
    deployment["spec"]["replicas"] = 3.into();
    sim.server.update_as("kubectl-edit", deployment);
    sim.server.clear_journal();
    let err = sim.run("bootstrap", &[]).refused();
    assert!(
        err.contains("failed to apply Deployment bookinfo/details-v1: a field is owned by another field manager (.spec.replicas by \"kubectl-edit\"); re-run with --force-conflicts"),
        "{err}"
    );
    assert!(
        sim.server
            .journal()
            .iter()
            .all(|r| r.query.get("force").is_none_or(|f| f != "true")),
        "never forced unasked"
    );
    sim.run("bootstrap", &["--force-conflicts"]).success();
    let deployment = sim
        .server
        .get("apps/v1", "Deployment", Some("bookinfo"), "details-v1")
        .unwrap();
    assert_eq!(deployment["spec"]["replicas"], 1);
}

#[test]
fn groups_that_do_not_depend_on_each_other_run_together_and_json_times_each() {
    let sim = Sim::new();
    // Grafana is slow to start; nothing waits for it, so Bookinfo is ready first.
    sim.server.set_readiness(
        "grafana",
        "grafana",
        Readiness::After(Duration::from_secs(3)),
    );
    let out = sim.run("bootstrap", &["-o", "json"]).success();
    let json: Value = serde_json::from_str(&out).unwrap();
    let groups: BTreeMap<&str, &Value> = json["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["group"].as_str().unwrap(), g))
        .collect();
    let at = |group: &str, field: &str| groups[group][field].as_f64().unwrap();
    assert!(
        at("applications", "readyAt") + 1.0 < at("monitoring", "readyAt"),
        "{json:#}"
    );
    assert!(
        at("linkerd-proxy-injector", "readyAt") <= at("applications", "startedAt"),
        "{json:#}"
    );
    assert!(
        at("monitoring", "startedAt") < at("linkerd-identity", "readyAt"),
        "{json:#}"
    );
    assert_eq!(
        groups["applications"]["needs"],
        serde_json::json!([
            {"applied": "foundation"},
            {"applied": "secrets"},
            {"ready": "linkerd-proxy-injector"}
        ])
    );
    assert_eq!(groups["applications"]["waitedFor"], 6);
    assert_eq!(
        groups["linkerd-control-plane"]["objects"],
        serde_json::json!([
            "Deployment linkerd/linkerd-destination",
            "Deployment linkerd/linkerd-proxy-injector"
        ])
    );
    let objects: usize = groups
        .values()
        .map(|g| g["objects"].as_array().unwrap().len())
        .sum();
    assert_eq!(objects, json["objects"].as_array().unwrap().len());
}

#[test]
fn a_failure_in_one_group_stops_the_others_and_names_it() {
    let sim = Sim::new();
    // Grafana fails fast (its progress deadline passes); Linkerd is slow: the applications
    // are still to come when monitoring fails.
    sim.server
        .set_readiness("grafana", "grafana", Readiness::ImagePullBackOff);
    for workload in ["linkerd-destination", "linkerd-proxy-injector"] {
        sim.server.set_readiness(
            "linkerd",
            workload,
            Readiness::After(Duration::from_secs(30)),
        );
    }
    let started = Instant::now();
    let err = sim.run("bootstrap", &["--timeout", "60s"]).refused();
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the waits under way end with the failure: {err}"
    );
    assert!(
        err.contains("error: bootstrap stopped at \"monitoring\""),
        "{err}"
    );
    assert!(
        err.contains("caused by: Deployment grafana/grafana failed: progress deadline exceeded"),
        "{err}"
    );
    assert!(
        sim.server
            .get("apps/v1", "Deployment", Some("bookinfo"), "productpage-v1")
            .is_none(),
        "nothing new starts after a failure"
    );
}

#[test]
fn a_workload_that_never_gets_ready_times_out_naming_it_and_its_pods() {
    let sim = Sim::new();
    sim.server
        .set_readiness("bookinfo", "ratings-v1", Readiness::Never);
    let err = sim.run("bootstrap", &["--timeout", "2s"]).refused();
    assert!(
        err.contains("error: bootstrap stopped at \"applications\""),
        "{err}"
    );
    assert!(err.contains("caused by: timed out after 2s waiting for Deployment bookinfo/ratings-v1 to be ready: 0 of 1 updated replicas available; pod ratings-v1-"), "{err}");
}

#[test]
fn an_unschedulable_pod_is_explained_by_its_selector_and_the_taint() {
    let sim = Sim::new();
    sim.scratch.edit(
        "stacks/cluster.yaml",
        "    - key: node-role.kubernetes.io/control-plane\n      effect: NoSchedule\n",
        "",
    );
    let err = sim.run("bootstrap", &["--timeout", "2s"]).refused();
    assert!(
        err.contains("waiting for Deployment monitoring/prometheus to be ready")
            || err.contains("waiting for Deployment grafana/grafana to be ready"),
        "{err}"
    );
    assert!(
        err.contains("is Pending: Unschedulable: 0/2 nodes are available"),
        "{err}"
    );
    assert!(
        err.contains("untolerated taint {node-role.kubernetes.io/control-plane: }"),
        "{err}"
    );
    assert!(err.contains("(its node selector: node-role.kubernetes.io/control-plane=; it tolerates: node-role.kubernetes.io/master:NoSchedule)"), "{err}");
}

#[test]
fn a_failing_image_is_reported_as_failed_with_the_pod_reason() {
    let sim = Sim::new();
    sim.server
        .set_readiness("grafana", "grafana", Readiness::ImagePullBackOff);
    let err = sim.run("bootstrap", &[]).refused();
    assert!(
        err.contains("caused by: Deployment grafana/grafana failed: progress deadline exceeded"),
        "{err}"
    );
    assert!(err.contains("ImagePullBackOff"), "{err}");
}

#[test]
fn transient_server_errors_and_throttling_are_survived() {
    let sim = Sim::new();
    let fault = |method: &str, skip, times, action| Fault {
        method: Some(method.into()),
        path: None,
        query: None,
        skip,
        times: Some(times),
        action,
    };
    let status = |code: u16, reason: &str, retry_after| FaultAction::Status {
        code,
        reason: reason.into(),
        message: "simulated".into(),
        retry_after,
    };
    sim.server
        .inject(fault("PATCH", 3, 2, status(500, "InternalError", None)));
    sim.server.inject(fault(
        "PATCH",
        20,
        2,
        status(429, "TooManyRequests", Some(1)),
    ));
    sim.server
        .inject(fault("GET", 10, 2, status(503, "ServiceUnavailable", None)));
    sim.server
        .inject(fault("PATCH", 40, 1, FaultAction::DropConnection));
    sim.server
        .inject(fault("PATCH", 50, 1, FaultAction::DropAfterCommit));
    let run = sim.run("bootstrap", &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(sim.ours().len(), planned().len() + 1);
    let mut answered: Vec<u16> = sim
        .server
        .journal()
        .iter()
        .map(|r| r.status)
        .filter(|&s| s == 0 || s >= 429)
        .collect();
    answered.sort_unstable();
    assert_eq!(
        answered,
        [0, 0, 429, 429, 500, 500, 503, 503],
        "every injected fault was met and survived"
    );
}

#[test]
fn an_interrupted_bootstrap_converges_when_run_again_and_teardown_cleans_a_half_done_one() {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    // A whole bootstrap makes about 85 writes; stop somewhere before its end.
    let random = 5 + usize::try_from(nanos % 70).unwrap();
    for (writes, then) in [
        (3, "bootstrap"),
        (30, "teardown"),
        (70, "bootstrap"),
        (random, "bootstrap"),
    ] {
        let sim = Sim::new();
        let child = sim.spawn("bootstrap", &[]);
        assert!(
            sim.server.wait_until(Duration::from_secs(20), |view| view
                .journal()
                .iter()
                .filter(|r| r.write)
                .count()
                >= writes),
            "bootstrap made {writes} writes"
        );
        let signalled = Instant::now();
        interrupt(&child);
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(130),
            "interrupted after {writes} writes: {stderr}"
        );
        assert!(stderr.contains("error: interrupted with \""), "{stderr}");
        assert!(stderr.contains("under way and "), "{stderr}");
        let late = sim
            .server
            .journal()
            .iter()
            .filter(|r| r.at > signalled && r.method != "GET")
            .count();
        // At most one window of concurrent requests (obsboot keeps 64 in flight) was still
        // under way when the signal came.
        assert!(
            late <= 64,
            "after the signal only the requests in flight finish; {late} more were made"
        );
        if then == "teardown" {
            let out = sim.run("teardown", &["--yes"]).success();
            assert!(out.starts_with("teardown complete"), "{out}");
            assert_eq!(
                sim.ours(),
                Vec::<String>::new(),
                "a half-done bootstrap leaves nothing after teardown"
            );
            continue;
        }
        let run = sim.run("bootstrap", &[]);
        assert_eq!(run.code, 0, "re-run after {writes} writes: {}", run.stderr);
        let mut ours = sim.ours();
        ours.retain(|o| !o.starts_with("ConfigMap kube-system/obsboot-inventory"));
        assert_eq!(ours, planned(), "interrupted after {writes} writes");
        assert!(pods(&sim, "bookinfo").iter().all(has_proxy));
    }
}

#[test]
fn a_crd_that_never_gets_established_times_out_naming_it() {
    let sim = Sim::new();
    sim.server
        .set_crd_establishment("servers.policy.linkerd.io", false);
    let err = sim.run("bootstrap", &["--timeout", "1s"]).refused();
    assert!(
        err.contains("error: bootstrap stopped at \"namespaces and CRDs\""),
        "{err}"
    );
    assert!(
        err.contains("caused by: timed out after 1s waiting for CustomResourceDefinition servers.policy.linkerd.io to be ready: not Established yet"),
        "{err}"
    );
}

pub fn interrupt(child: &Child) {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

#[test]
fn objects_the_stacks_no_longer_hold_are_pruned() {
    let sim = Sim::new();
    sim.scratch
        .edit("stacks/linkerd.yaml", "heartbeat: false", "heartbeat: true");
    sim.bootstrap();
    assert!(
        sim.server
            .get("batch/v1", "CronJob", Some("linkerd"), "linkerd-heartbeat")
            .is_some()
    );
    sim.scratch
        .edit("stacks/linkerd.yaml", "heartbeat: true", "heartbeat: false");
    let out = sim.bootstrap();
    assert!(
        out.contains("pruned CronJob linkerd/linkerd-heartbeat"),
        "{out}"
    );
    assert!(
        sim.server
            .get("batch/v1", "CronJob", Some("linkerd"), "linkerd-heartbeat")
            .is_none()
    );
    let mut ours = sim.ours();
    ours.retain(|o| !o.starts_with("ConfigMap kube-system/obsboot-inventory"));
    assert_eq!(ours, planned());
}

#[test]
fn pods_that_started_without_a_proxy_are_restarted_into_the_mesh() {
    let sim = Sim::new();
    sim.scratch
        .edit("stacks/bookinfo.yaml", "mesh: true", "mesh: false");
    sim.bootstrap();
    assert!(pods(&sim, "bookinfo").iter().all(|p| !has_proxy(p)));
    let unmeshed = sim.run("status", &["--stack", "bookinfo"]).success();
    assert!(
        unmeshed.contains("15 ready, 0 waiting"),
        "unmeshed by choice is ready: {unmeshed}"
    );
    sim.scratch
        .edit("stacks/bookinfo.yaml", "mesh: false", "mesh: true");
    let waiting = sim.run("status", &["--stack", "bookinfo"]).success();
    assert!(
        waiting.contains("Deployment bookinfo/details-v1               waiting: pods without a Linkerd proxy: details-v1-"),
        "{waiting}"
    );
    let json: Value =
        serde_json::from_str(&sim.run("bootstrap", &["-o", "json"]).success()).unwrap();
    let mut restarted: Vec<&str> = json["restarted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    restarted.sort_unstable();
    assert_eq!(
        restarted,
        [
            "Deployment bookinfo/details-v1",
            "Deployment bookinfo/productpage-v1",
            "Deployment bookinfo/ratings-v1",
            "Deployment bookinfo/reviews-v1",
            "Deployment bookinfo/reviews-v2",
            "Deployment bookinfo/reviews-v3"
        ]
    );
    let bookinfo = pods(&sim, "bookinfo");
    assert_eq!(bookinfo.len(), 6);
    assert!(
        bookinfo.iter().all(has_proxy),
        "every pod is meshed after the restart"
    );
    let status = sim.run("status", &["--stack", "bookinfo"]).success();
    assert!(status.contains("15 ready, 0 waiting"), "{status}");
    let again = sim.bootstrap();
    assert!(
        again.starts_with("bootstrap complete: nothing changed"),
        "the restart annotation stays: {again}"
    );
}

fn kubeconfig(server: &str, ca: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: tls\nclusters:\n- name: tls\n  cluster:\n    server: {server}\n    certificate-authority-data: {ca}\ncontexts:\n- name: tls\n  context: {{cluster: tls, user: tls}}\nusers:\n- name: tls\n  user: {{token: t}}\n"
    )
}

#[test]
fn a_kubeconfig_with_a_certificate_authority_loads_and_an_unreachable_server_is_named() {
    let scratch = Scratch::new();
    let key = rcgen::KeyPair::generate().unwrap();
    let ca = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let ca = base64::engine::general_purpose::STANDARD.encode(ca.pem());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    scratch.write(
        "kubeconfig",
        &kubeconfig(&format!("https://127.0.0.1:{port}"), &ca),
    );
    let err = scratch
        .run(&["status", "--kubeconfig", "kubeconfig"])
        .refused();
    assert!(err.starts_with("error: failed to discover the API server's resources\n  caused by: no answer from the API server: "), "{err}");
    let missing = scratch
        .run(&["status", "--kubeconfig", "kubeconfig", "--context", "nope"])
        .failure();
    assert!(missing.starts_with("error: failed to load the kubeconfig \"kubeconfig\"\n  caused by: failed to load current context: nope"), "{missing}");
    let absent = scratch
        .run(&["bootstrap", "--kubeconfig", "nowhere.yaml"])
        .failure();
    assert!(absent.starts_with("error: failed to load the kubeconfig \"nowhere.yaml\"\n  caused by: failed to read kubeconfig"), "{absent}");
}

#[test]
fn a_namespace_the_stacks_moved_away_from_is_pruned_only_once_nothing_foreign_lives_in_it() {
    let sim = Sim::new();
    sim.bootstrap();
    sim.server.apply_as(
        "kubectl",
        serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "notes", "namespace": "bookinfo"}}),
    );
    sim.scratch.edit(
        "stacks/bookinfo.yaml",
        "namespace: bookinfo",
        "namespace: shop",
    );
    let out = sim.bootstrap();
    assert!(
        out.contains("pruned Deployment bookinfo/productpage-v1"),
        "{out}"
    );
    assert!(
        out.contains("left alone: Namespace bookinfo: the stacks no longer hold it, but it holds objects obsboot did not create (ConfigMap bookinfo/notes); kept"),
        "{out}"
    );
    assert!(
        sim.server
            .get("v1", "ConfigMap", Some("bookinfo"), "notes")
            .is_some()
    );
    assert_eq!(pods(&sim, "shop").len(), 6);
    sim.server
        .delete("v1", "ConfigMap", Some("bookinfo"), "notes");
    let out = sim.bootstrap();
    assert!(out.contains("pruned Namespace bookinfo"), "{out}");
    assert!(
        sim.server
            .get("v1", "Namespace", None, "bookinfo")
            .is_none()
    );
}

#[test]
fn pods_the_injector_missed_are_detected_and_restarted_once_and_a_lasting_miss_is_an_error() {
    let sim = Sim::new();
    sim.server.miss_injections(2);
    let json: Value =
        serde_json::from_str(&sim.run("bootstrap", &["-o", "json"]).success()).unwrap();
    assert_eq!(json["restarted"].as_array().unwrap().len(), 2, "{json}");
    assert!(pods(&sim, "bookinfo").iter().all(has_proxy));

    let sim = Sim::new();
    sim.server.miss_injections(100);
    let err = sim.run("bootstrap", &[]).refused();
    assert!(
        err.contains("error: bootstrap stopped at \"applications\""),
        "{err}"
    );
    assert!(
        err.contains(
            "caused by: pods still run without a Linkerd proxy after a restart (details-v1-"
        ),
        "{err}"
    );
    assert!(
        err.contains(
            "check that its webhook is reachable from the API server, and that the ConfigMap linkerd-config"
        ),
        "{err}"
    );
}

fn lease(server: &ApiServer, holder: &str, renewed: &str) {
    server.apply_as(
        "test",
        serde_json::json!({
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": "obsboot-lock-obsboot", "namespace": "kube-system"},
            "spec": {
                "holderIdentity": holder,
                "leaseDurationSeconds": 30,
                "acquireTime": renewed,
                "renewTime": renewed,
            },
        }),
    );
}

fn timestamp(ago: Duration) -> String {
    let now = k8s_openapi::jiff::Timestamp::now().as_second();
    let then = now - i64::try_from(ago.as_secs()).unwrap();
    k8s_openapi::jiff::Timestamp::from_second(then)
        .unwrap()
        .to_string()
}

#[test]
fn a_run_holding_the_lock_stops_a_second_one_before_it_changes_anything() {
    let sim = Sim::new();
    lease(
        &sim.server,
        "alice@bastion pid 4242 (bootstrap)",
        &timestamp(Duration::from_secs(2)),
    );
    sim.server.clear_journal();
    for command in ["bootstrap", "teardown"] {
        let extra: &[&str] = if command == "teardown" {
            &["--yes"]
        } else {
            &[]
        };
        let err = sim.run(command, extra).refused();
        assert!(
            err.contains("error: another obsboot run holds the lock kube-system/obsboot-lock-obsboot: alice@bastion pid 4242 (bootstrap) has held it for"),
            "{err}"
        );
        assert!(err.contains("pass --break-lock"), "{err}");
    }
    assert!(sim.writes().is_empty(), "{:?}", sim.writes());
    assert!(sim.ours().is_empty());
    // The holder's lease is left as it was.
    let lease = sim.lock_lease().unwrap();
    assert_eq!(
        lease["spec"]["holderIdentity"],
        "alice@bastion pid 4242 (bootstrap)"
    );

    // --break-lock takes it, and the run gives it back when done.
    sim.run("bootstrap", &["--break-lock"]).success();
    assert!(sim.lock_lease().is_none());
}

#[test]
fn a_lock_nobody_renews_is_taken_over() {
    let sim = Sim::new();
    lease(
        &sim.server,
        "bob@laptop pid 7 (teardown)",
        &timestamp(Duration::from_secs(300)),
    );
    let run = sim.run("bootstrap", &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("taking over lock kube-system/obsboot-lock-obsboot from bob@laptop pid 7 (teardown) (last renewed 30"),
        "{}",
        run.stderr
    );
    let requests = sim.lock_requests();
    assert_eq!(
        requests.first().map(String::as_str),
        Some("POST /apis/coordination.k8s.io/v1/namespaces/kube-system/leases"),
        "{requests:?}"
    );
    assert_eq!(
        requests.last().map(String::as_str),
        Some(
            "DELETE /apis/coordination.k8s.io/v1/namespaces/kube-system/leases/obsboot-lock-obsboot"
        ),
        "{requests:?}"
    );
}

#[test]
fn two_bootstraps_at_once_the_second_stops_and_the_first_finishes() {
    let server = ApiServer::start_with(crate::apiserver::SimConfig {
        pod_ready_after: Duration::from_secs(2),
        ..crate::apiserver::SimConfig::standard()
    });
    let sim = Sim::with(server);
    let first = sim.spawn("bootstrap", &[]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while sim.lock_lease().is_none() {
        assert!(
            Instant::now() < deadline,
            "the first bootstrap never took the lock"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let err = sim.run("bootstrap", &[]).refused();
    assert!(err.contains("another obsboot run holds the lock"), "{err}");
    assert!(err.contains("(bootstrap) has held it for"), "{err}");
    let output = first.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    sim.run("bootstrap", &[]).success();
}

#[test]
fn a_long_run_keeps_renewing_its_lock() {
    // Linkerd's pods, then Bookinfo's, 6 s each: longer than one renewal interval (10 s).
    let server = ApiServer::start_with(crate::apiserver::SimConfig {
        pod_ready_after: Duration::from_secs(6),
        ..crate::apiserver::SimConfig::standard()
    });
    let sim = Sim::with(server);
    let child = sim.spawn("bootstrap", &["--timeout", "60s"]);
    let deadline = Instant::now() + Duration::from_secs(40);
    let renewed = loop {
        assert!(Instant::now() < deadline, "the lease was never renewed");
        if let Some(lease) = sim.lock_lease()
            && lease["spec"]["renewTime"] != lease["spec"]["acquireTime"]
        {
            break lease;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        renewed["spec"]["holderIdentity"]
            .as_str()
            .unwrap()
            .ends_with("(bootstrap)")
    );
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(sim.lock_lease().is_none(), "released at the end");
}
