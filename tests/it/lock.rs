//! A run that loses its lock stops writing: taken over by another run, not renewed in time,
//! or frozen past its lease while another run tore everything down. And a lock that cannot
//! be given back is an error.

use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::apiserver::{Fault, FaultAction, Readiness, Request};
use crate::cluster::Sim;

/// The lock's path.
const LEASE: &str =
    "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/obsboot-lock-obsboot";
/// Every lease's path.
const LEASES: &str = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases";

fn is_renewal(r: &Request) -> bool {
    r.method == "PUT" && r.path == LEASE
}

/// The writes (other than the lock's) the server received after `after`, as `METHOD path`.
fn writes_after(sim: &Sim, after: Instant) -> Vec<String> {
    sim.server
        .journal()
        .into_iter()
        .filter(|r| r.at > after && r.method != "GET" && !r.path.starts_with(LEASES))
        .map(|r| format!("{} {} -> {}", r.method, r.path, r.status))
        .collect()
}

/// Another run takes the lock over, as `--break-lock` does; when it did.
fn take_over(sim: &Sim, holder: &str) -> Instant {
    sim.server.update_as(
        "test",
        json!({
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": "obsboot-lock-obsboot", "namespace": "kube-system"},
            "spec": {"holderIdentity": holder},
        }),
    );
    Instant::now()
}

fn signal(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

fn finished(child: Child) -> (Output, String) {
    let output = child.wait_with_output().expect("the run ends");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output, stderr)
}

/// A run waiting for the proxy-injector to serve (its pods never get ready), with the
/// applications still to apply, for up to two minutes.
fn waiting_run(sim: &Sim) -> Child {
    sim.server
        .set_readiness("linkerd", "linkerd-proxy-injector", Readiness::Never);
    sim.spawn("bootstrap", &["--timeout", "120s"])
}

#[test]
fn a_run_whose_lock_is_taken_over_stops_writing_and_says_so() {
    let sim = Sim::new();
    // The first renewal fails: tried again, and reported in words.
    sim.server.inject(
        Fault::status(500, "InternalError", "simulated")
            .method("PUT")
            .path(LEASE)
            .times(1),
    );
    let child = waiting_run(&sim);
    assert!(
        sim.server.wait_until(Duration::from_secs(60), |view| view
            .journal()
            .iter()
            .any(|r| is_renewal(r) && r.status == 200)),
        "the lock was renewed"
    );
    // Another run takes the lock over.
    let taken = take_over(&sim, "carol@ci pid 9 (teardown)");
    assert!(
        sim.server.wait_until(Duration::from_secs(30), |view| view
            .journal()
            .iter()
            .any(|r| is_renewal(r) && r.at > taken && r.status == 409)),
        "the next renewal met the other holder"
    );
    // The injector serves: a run still writing would go on to the applications.
    sim.server.set_readiness(
        "linkerd",
        "linkerd-proxy-injector",
        Readiness::After(Duration::from_millis(0)),
    );
    let (output, stderr) = finished(child);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("error: lost the lock kube-system/obsboot-lock-obsboot: carol@ci pid 9 (teardown) took it over; another run may have taken it, so nothing more was written; run the command again"),
        "{stderr}"
    );
    assert!(
        stderr.contains("failed to renew the lock kube-system/obsboot-lock-obsboot: simulated (InternalError, HTTP 500); trying again in 2s"),
        "{stderr}"
    );
    for debug in ["Status {", "ErrorResponse", "ApiError"] {
        assert!(!stderr.contains(debug), "{stderr}");
    }
    assert_eq!(writes_after(&sim, taken), Vec::<String>::new());
    let lease = sim.lock_lease().expect("the other run's lease stays");
    assert_eq!(lease["spec"]["holderIdentity"], "carol@ci pid 9 (teardown)");
}

#[test]
fn a_run_that_cannot_renew_its_lock_stops_writing_at_the_renew_deadline() {
    let sim = Sim::new();
    // Every renewal is lost on the way.
    sim.server.inject(
        Fault::new(FaultAction::DropConnection)
            .method("PUT")
            .path(LEASE),
    );
    let child = waiting_run(&sim);
    let taken = loop {
        let journal = sim.server.journal();
        if let Some(post) = journal
            .iter()
            .find(|r| r.method == "POST" && r.path == LEASES && r.status == 201)
        {
            break post.at;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // Past the renew deadline (20 s after the lock was taken, by the run's clock, which
    // started before the server saw the request), the injector serves: a run still writing
    // would go on to the applications.
    let deadline = taken + Duration::from_secs(20);
    std::thread::sleep(
        (deadline + Duration::from_secs(2)).saturating_duration_since(Instant::now()),
    );
    sim.server.set_readiness(
        "linkerd",
        "linkerd-proxy-injector",
        Readiness::After(Duration::from_millis(0)),
    );
    let (output, stderr) = finished(child);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains(
            "error: lost the lock kube-system/obsboot-lock-obsboot: it was not renewed for "
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("(last attempt: no answer from the API server"),
        "{stderr}"
    );
    assert!(
        sim.server
            .journal()
            .iter()
            .filter(|r| is_renewal(r))
            .count()
            >= 2,
        "renewals were tried again"
    );
    assert_eq!(writes_after(&sim, deadline), Vec::<String>::new());
}

#[test]
fn a_run_frozen_past_its_lease_while_another_tore_down_writes_nothing_when_it_wakes() {
    let sim = Sim::new();
    let child = waiting_run(&sim);
    assert!(
        sim.server.wait_until(Duration::from_secs(60), |view| view
            .get(
                "apps/v1",
                "Deployment",
                Some("linkerd"),
                "linkerd-proxy-injector"
            )
            .is_some()),
        "bootstrap reached Linkerd's control plane"
    );
    // Frozen (a suspended laptop, a paused VM): it renews nothing.
    signal(&child, "-STOP");
    // Another run may take over once the lease has expired; it tears everything down.
    let give_up = Instant::now() + Duration::from_secs(120);
    loop {
        let run = sim.run("teardown", &["--yes"]);
        if run.code == 0 {
            break;
        }
        assert!(
            run.stderr.contains("another obsboot run holds the lock"),
            "{}",
            run.stderr
        );
        assert!(
            Instant::now() < give_up,
            "the frozen run's lease never expired"
        );
        std::thread::sleep(Duration::from_secs(2));
    }
    assert_eq!(sim.ours(), Vec::<String>::new());
    let torn_down = Instant::now();
    signal(&child, "-CONT");
    let (output, stderr) = finished(child);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains(
            "error: lost the lock kube-system/obsboot-lock-obsboot: it was not renewed for"
        ),
        "{stderr}"
    );
    assert_eq!(writes_after(&sim, torn_down), Vec::<String>::new());
    assert_eq!(
        sim.ours(),
        Vec::<String>::new(),
        "nothing was created again"
    );
}

#[test]
fn a_lock_that_cannot_be_released_fails_the_run_and_says_how_to_remove_it() {
    let sim = Sim::new();
    sim.server.inject(
        Fault::status(500, "InternalError", "simulated")
            .method("DELETE")
            .path(LEASE),
    );
    let run = sim.run("bootstrap", &[]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains("error: failed to release the lock kube-system/obsboot-lock-obsboot: the next run waits until it expires (30s after its last renewal), or delete it with `kubectl -n kube-system delete lease obsboot-lock-obsboot`\n  caused by: simulated (InternalError, HTTP 500)"),
        "{}",
        run.stderr
    );
    assert!(sim.lock_lease().is_some());
}

#[test]
fn a_teardown_whose_lock_is_taken_over_stops_deleting() {
    let sim = Sim::new();
    sim.bootstrap();
    // A finalizer nobody clears keeps one of Bookinfo's objects: teardown waits for it.
    sim.server.apply_as(
        "obsboot",
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
            "name": "held", "namespace": "bookinfo", "finalizers": ["example.com/hold"],
            "labels": {"app.kubernetes.io/managed-by": "obsboot", "obsboot.dev/stack": "bookinfo"},
        }}),
    );
    let child = sim.spawn("teardown", &["--yes", "--timeout", "120s"]);
    // Once its group is deleted, teardown waits for the held ConfigMap to go.
    assert!(
        sim.server
            .wait_until(Duration::from_secs(60), |view| view.journal().iter().any(
                |r| r.is_watch() && r.param("fieldSelector") == Some("metadata.name=held")
            )),
        "teardown waits for the held ConfigMap"
    );
    let taken = take_over(&sim, "dave@ci pid 12 (bootstrap)");
    let (output, stderr) = finished(child);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("error: lost the lock kube-system/obsboot-lock-obsboot: dave@ci pid 12 (bootstrap) took it over; another run may have taken it, so nothing more was written"),
        "{stderr}"
    );
    assert_eq!(writes_after(&sim, taken), Vec::<String>::new());
    assert!(
        sim.server
            .get("v1", "Namespace", None, "bookinfo")
            .is_some(),
        "the namespaces were not deleted"
    );
}
