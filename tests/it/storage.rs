//! Prometheus's data volume: the retention size rendered below the volume's size, in
//! Prometheus's units; a claim instead of the emptyDir; and bootstrap's refusal, before any
//! write, of a claim the cluster has no StorageClass for.

use serde_json::{Value, json};

use crate::cluster::Sim;
use crate::harness::Scratch;

fn prometheus_objects(scratch: &Scratch) -> Vec<Value> {
    let document: Value = serde_json::from_str(
        &scratch
            .render(&["-o", "json", "--stack", "prometheus"])
            .success(),
    )
    .expect("JSON");
    document["objects"].as_array().expect("objects").clone()
}

fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> Option<&'a Value> {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
}

/// The server's `--storage.tsdb.retention.*` flags and its data volume.
fn storage(objects: &[Value]) -> (Vec<String>, Value) {
    let pod = &find(objects, "Deployment", "prometheus").expect("the Deployment")["spec"]["template"]
        ["spec"];
    let flags = pod["containers"][0]["args"]
        .as_array()
        .expect("args")
        .iter()
        .filter_map(Value::as_str)
        .filter(|arg| arg.starts_with("--storage.tsdb.retention"))
        .map(str::to_owned)
        .collect();
    let volume = pod["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .find(|v| v["name"] == "data")
        .expect("the data volume")
        .clone();
    (flags, volume)
}

/// By default: an 8Gi emptyDir and 80% of it, in whole MiB, as Prometheus's size (its MB is
/// 2^20 bytes: 6553MB = 6553Mi = 0.8 × 8Gi rounded down).
#[test]
fn the_default_retention_size_is_a_share_of_the_emptydir() {
    let objects = prometheus_objects(&Scratch::new());
    let (flags, volume) = storage(&objects);
    assert_eq!(
        flags,
        [
            "--storage.tsdb.retention.time=15d",
            "--storage.tsdb.retention.size=6553MB"
        ]
    );
    assert_eq!(
        volume,
        json!({"name": "data", "emptyDir": {"sizeLimit": "8Gi"}})
    );
    assert!(find(&objects, "PersistentVolumeClaim", "prometheus-data").is_none());
}

/// A claim of the named class, its request the size, and the retention size as written,
/// converted to Prometheus's units.
#[test]
fn a_claim_carries_the_size_and_prometheus_the_retention_size() {
    let scratch = Scratch::new();
    scratch.edit(
        "stacks/prometheus.yaml",
        "    volume: emptyDir\n",
        "    volume: persistentVolumeClaim\n",
    );
    scratch.edit(
        "stacks/prometheus.yaml",
        "    size: 8Gi\n",
        "    size: 50Gi\n",
    );
    scratch.edit(
        "stacks/prometheus.yaml",
        "    # storageClass: gp3\n",
        "    storageClass: gp3\n",
    );
    scratch.edit(
        "stacks/prometheus.yaml",
        "    # retentionSize: 6Gi\n",
        "    retentionSize: 40960Mi\n",
    );
    let objects = prometheus_objects(&scratch);
    let (flags, volume) = storage(&objects);
    assert_eq!(flags[1], "--storage.tsdb.retention.size=40GB");
    assert_eq!(
        volume,
        json!({"name": "data", "persistentVolumeClaim": {"claimName": "prometheus-data"}})
    );
    let claim = find(&objects, "PersistentVolumeClaim", "prometheus-data").expect("the claim");
    assert_eq!(claim["spec"]["resources"]["requests"]["storage"], "50Gi");
    assert_eq!(claim["spec"]["storageClassName"], "gp3");
}

/// The default stacks with Prometheus's data on a claim of `class` (the default one when
/// `None`).
fn claiming(class: Option<&str>) -> Sim {
    let sim = Sim::new();
    sim.scratch.edit(
        "stacks/prometheus.yaml",
        "    volume: emptyDir\n",
        "    volume: persistentVolumeClaim\n",
    );
    if let Some(class) = class {
        sim.scratch.edit(
            "stacks/prometheus.yaml",
            "    # storageClass: gp3\n",
            &format!("    storageClass: {class}\n"),
        );
    }
    sim
}

fn storage_class(sim: &Sim, name: &str, default: bool) {
    let annotations = if default {
        json!({"storageclass.kubernetes.io/is-default-class": "true"})
    } else {
        json!({})
    };
    sim.server.apply_as(
        "kubectl",
        json!({
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {"name": name, "annotations": annotations},
            "provisioner": "ebs.csi.aws.com",
        }),
    );
}

/// No default StorageClass: bootstrap stops before it takes the lock or writes anything,
/// naming the field and what to do.
#[test]
fn a_claim_without_a_default_storage_class_is_refused_before_any_write() {
    let sim = claiming(None);
    storage_class(&sim, "slow", false);
    sim.server.clear_journal();
    let err = sim.run("bootstrap", &[]).refused();
    assert!(
        err.starts_with(
            "error: stacks/prometheus.yaml:22:13: spec.storage.volume: the Prometheus stack asks for a persistentVolumeClaim of the cluster's default StorageClass, but no StorageClass is marked default (it has slow); name one in spec.storage.storageClass, mark one default (annotation storageclass.kubernetes.io/is-default-class: \"true\"), or set `volume: emptyDir`"
        ),
        "{err}"
    );
    assert_eq!(sim.writes(), Vec::<String>::new());
    assert_eq!(sim.lock_requests(), Vec::<String>::new());
}

/// A named StorageClass the cluster lacks is refused the same way, even with a default one.
#[test]
fn a_claim_of_a_missing_storage_class_is_refused_before_any_write() {
    let sim = claiming(Some("fast"));
    storage_class(&sim, "gp3", true);
    sim.server.clear_journal();
    let err = sim.run("bootstrap", &[]).refused();
    assert!(
        err.starts_with(
            "error: stacks/prometheus.yaml:25:19: spec.storage.storageClass: the Prometheus stack asks for a persistentVolumeClaim of StorageClass \"fast\", which the cluster does not have (it has gp3 (default)); name one it has, install that class's provisioner, or set `volume: emptyDir`"
        ),
        "{err}"
    );
    assert_eq!(sim.writes(), Vec::<String>::new());
    assert_eq!(sim.lock_requests(), Vec::<String>::new());
}

/// With a default StorageClass the claim is created, bound, and Prometheus runs on it.
#[test]
fn a_claim_of_the_default_storage_class_is_bootstrapped() {
    let sim = claiming(None);
    storage_class(&sim, "gp3", true);
    sim.bootstrap();
    let claim = sim
        .server
        .get(
            "v1",
            "PersistentVolumeClaim",
            Some("monitoring"),
            "prometheus-data",
        )
        .expect("the claim exists");
    assert_eq!(claim["status"]["phase"], "Bound");
}
