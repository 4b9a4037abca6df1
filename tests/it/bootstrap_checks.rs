//! What bootstrap checks about the cluster before it writes, and how its waits end: a
//! foreign namespace a meshed stack would use unmeshed, namespaces a teardown is still
//! removing, a control-plane selector no node matches, and watches that keep failing.

use std::time::Duration;

use serde_json::json;

use crate::apiserver::{Fault, FaultAction, Readiness};
use crate::cluster::Sim;

#[test]
fn bootstrap_refuses_a_foreign_bookinfo_namespace_without_injection_before_any_write() {
    let sim = Sim::new();
    sim.server.apply_as(
        "kubectl",
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bookinfo"}}),
    );
    sim.server.clear_journal();
    let err = sim.run("bootstrap", &[]).refused();
    assert!(
        err.contains("error: namespace \"bookinfo\" already exists and was not created by obsboot, so bootstrap uses it as it is; but it lacks the annotation linkerd.io/inject: enabled, and the bookinfo stack's pods must be meshed: they would start without a Linkerd proxy. Annotate it (`kubectl annotate namespace bookinfo linkerd.io/inject=enabled --overwrite`), or delete it if nothing in it is needed (`kubectl delete namespace bookinfo`) so that bootstrap creates it, or set `mesh: false` in the bookinfo stack"),
        "{err}"
    );
    assert_eq!(sim.writes(), Vec::<String>::new());
    // Annotated as asked, it is used as it is.
    sim.server.apply_as(
        "kubectl",
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bookinfo", "annotations": {"linkerd.io/inject": "enabled"}}}),
    );
    sim.bootstrap();
}

#[test]
fn bootstrap_right_after_a_teardown_waits_for_terminating_namespaces() {
    let sim = Sim::new();
    sim.server.apply_as(
        "obsboot",
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bookinfo", "labels": {"app.kubernetes.io/managed-by": "obsboot"}}}),
    );
    sim.server.apply_as(
        "obsboot",
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "held", "namespace": "bookinfo", "finalizers": ["example.com/hold"]}}),
    );
    sim.server.delete("v1", "Namespace", None, "bookinfo");
    let child = sim.spawn("bootstrap", &["--timeout", "60s"]);
    assert!(
        sim.server
            .wait_until(Duration::from_secs(60), |view| view.journal().iter().any(
                |r| r.path == "/api/v1/namespaces"
                    && r.is_watch()
                    && r.param("fieldSelector") == Some("metadata.name=bookinfo")
            )),
        "bootstrap watches the terminating namespace"
    );
    sim.server.update_as(
        "test",
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "held", "namespace": "bookinfo", "finalizers": null}}),
    );
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("waiting for namespace bookinfo to finish terminating"),
        "{stderr}"
    );
    let namespace = sim.server.get("v1", "Namespace", None, "bookinfo").unwrap();
    assert!(namespace["metadata"]["deletionTimestamp"].is_null());
}

#[test]
fn bootstrap_refuses_a_control_plane_selector_no_node_matches_before_taking_the_lock() {
    let sim = Sim::new();
    sim.scratch.edit(
        "stacks/cluster.yaml",
        "    node-role.kubernetes.io/control-plane: \"\"\n",
        "    node-role.kubernetes.io/master: \"\"\n",
    );
    let err = sim.run("bootstrap", &[]).refused();
    assert!(
        err.contains("error: stacks/cluster.yaml:12:3: controlPlane.nodeSelector: no node carries node-role.kubernetes.io/master, which prometheus/prometheus, grafana/grafana, bookinfo/productpage-v1 (placement: control-plane) select"),
        "{err}"
    );
    assert!(
        err.contains("(placement: control-plane) select, so their pods would stay Pending; the cluster's nodes: "),
        "{err}"
    );
    assert!(err.contains("ip-10-0-1-74 (node-role.kubernetes.io/control-plane); ip-10-0-2-15 (no distinguishing labels)"), "{err}");
    assert!(
        err.contains("Label the control-plane node (`kubectl label node <name> node-role.kubernetes.io/master`) or set controlPlane.nodeSelector to labels it has"),
        "{err}"
    );
    assert_eq!(sim.lock_requests(), Vec::<String>::new());
    assert_eq!(sim.writes(), Vec::<String>::new());
}

#[test]
fn bootstrap_gives_up_on_a_watch_that_keeps_expiring_naming_the_object() {
    let sim = Sim::new();
    sim.server
        .set_readiness("bookinfo", "ratings-v1", Readiness::Never);
    sim.server.inject(
        Fault::new(FaultAction::ExpireWatch).path("/apis/apps/v1/namespaces/bookinfo/deployments"),
    );
    let err = sim.run("bootstrap", &["--timeout", "120s"]).refused();
    assert!(
        err.contains("caused by: gave up waiting for Deployment bookinfo/ratings-v1 to be ready: watching it failed 8 times in a row, each time after a fresh list (last: "),
        "{err}"
    );
    assert!(err.contains("Expired"), "{err}");
}

#[test]
fn bootstrap_sees_through_watches_that_hang() {
    let sim = Sim::new();
    // Every watch of Bookinfo's Deployments is accepted but never answered.
    sim.server.inject(
        Fault::new(FaultAction::Delay(Duration::from_secs(3600)))
            .path("/apis/apps/v1/namespaces/bookinfo/deployments")
            .query("watch=true"),
    );
    let run = sim.run("bootstrap", &["--timeout", "60s"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}
