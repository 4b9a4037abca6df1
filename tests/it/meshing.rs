//! Bootstrap against the simulated Linkerd proxy-injector, which builds every proxy from the
//! linkerd-config obsboot applies: a value it needs, left out of the Linkerd templates, stops
//! bootstrap with the injector's own words; the stack's proxy settings reach the proxies.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::apiserver::ApiServer;
use crate::apiserver::injector::derefs::{self, Deref, TABLE};
use crate::cluster::Sim;
use crate::harness::Scratch;

/// Where the Linkerd values tree is written.
const VALUES: &str = "templates/linkerd/_values.j2";

/// A copy of the tree that only linkerd-config reads: the control plane's own pods read the
/// tree too, so a key left out of VALUES stops the render before anything is applied.
const CONFIG_VALUES: &str = "templates/linkerd/_config_values.j2";

/// Leaves `key` out of linkerd-config alone.
fn leave_out_of_linkerd_config(scratch: &Scratch, key: &str) {
    let values = scratch.read(VALUES);
    scratch.write(CONFIG_VALUES, &without_key(&values, key));
    scratch.edit(
        "templates/linkerd/config.yaml.j2",
        r#"{% import "linkerd/_values.j2" as linkerd %}"#,
        r#"{% import "linkerd/_config_values.j2" as linkerd %}"#,
    );
}

/// A simulated cluster and a scratch copy of the stacks and templates.
fn sim() -> Sim {
    let server = ApiServer::start();
    let scratch = Scratch::new().with_templates();
    server.write_kubeconfig(&scratch.path().join("kubeconfig"));
    Sim {
        server,
        scratch,
        aws: Vec::new(),
    }
}

/// Bootstraps only Linkerd and Bookinfo, from the scratch templates.
fn bootstrap(sim: &Sim) -> crate::harness::Run {
    sim.run(
        "bootstrap",
        &[
            "--templates",
            "templates",
            "--stack",
            "linkerd",
            "--stack",
            "bookinfo",
        ],
    )
}

/// `text` (a YAML tree indented by two spaces) without the entry at dotted `key` and all
/// that is nested under it.
fn without_key(text: &str, key: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let indent = |line: &str| line.len() - line.trim_start().len();
    let (mut start, mut end) = (0, lines.len());
    for (depth, part) in key.split('.').enumerate() {
        let want = format!("{}{part}:", " ".repeat(depth * 2));
        let from = if depth == 0 { 0 } else { start + 1 };
        let at = from
            + lines[from..end]
                .iter()
                .position(|l| l.starts_with(&want))
                .unwrap_or_else(|| panic!("{key} in {VALUES}"));
        end = lines[at + 1..end]
            .iter()
            .position(|l| !l.trim().is_empty() && indent(l) <= depth * 2)
            .map_or(end, |p| at + 1 + p);
        start = at;
    }
    let mut kept: Vec<&str> = lines[..start].to_vec();
    kept.extend(&lines[end..]);
    kept.join("\n") + "\n"
}

#[test]
fn the_key_remover_takes_out_one_entry_and_what_it_holds() {
    let text = "a:\n  b:\n    c: 1\n  d: 2\nb:\n  c: 3\n";
    assert_eq!(without_key(text, "a.b"), "a:\n  d: 2\nb:\n  c: 3\n");
    assert_eq!(without_key(text, "b.c"), "a:\n  b:\n    c: 1\n  d: 2\nb:\n");
}

/// The values obsboot's Bookinfo pods make the injector read, and the rows that stay
/// unread for them, with why.
const UNREAD: [(&Deref, &str); 9] = [
    (
        &derefs::IDENTITY,
        "read by the report first: Bookinfo mounts no token",
    ),
    (&derefs::IMAGE_OVERRIDE, "no proxy-image annotation"),
    (
        &derefs::RESOURCES_OVERRIDE,
        "no proxy-cpu or -memory annotation",
    ),
    (&derefs::DEBUG, "no debug sidecar"),
    (&derefs::VALIDATOR_RESOURCES, "cniEnabled is false"),
    (&derefs::NETWORK_VALIDATOR, "cniEnabled is false"),
    (&derefs::PROXY_PORTS, "cniEnabled is false"),
    (&derefs::TRACING_COLLECTOR, "tracing is off"),
    (&derefs::TRACING_IDENTITY, "tracing is off"),
];

#[test]
fn a_value_the_injector_needs_left_out_of_linkerd_config_stops_bootstrap_with_its_words() {
    let read: Vec<&Deref> = TABLE
        .iter()
        .copied()
        .filter(|row| !UNREAD.iter().any(|(r, _)| std::ptr::eq(*r, *row)))
        .collect();
    assert_eq!(read.len(), 11, "rows read for Bookinfo");
    // One simulated cluster per value, bootstrapped side by side.
    let outcomes: Vec<(&Deref, String, Duration)> = std::thread::scope(|scope| {
        let runs: Vec<_> = read
            .iter()
            .map(|row| {
                scope.spawn(move || {
                    let sim = sim();
                    leave_out_of_linkerd_config(&sim.scratch, row.key);
                    let started = Instant::now();
                    let stderr = bootstrap(&sim).refused();
                    (*row, stderr, started.elapsed())
                })
            })
            .collect();
        runs.into_iter().map(|run| run.join().unwrap()).collect()
    });
    for (row, stderr, took) in outcomes {
        assert!(
            !stderr.contains("timed out"),
            "{}: stopped, not timed out ({took:?}):\n{stderr}",
            row.key
        );
        if let Some(message) = row.message() {
            for part in [
                "Deployment bookinfo/",
                " failed: admission webhook \"linkerd-proxy-injector.linkerd.io\" refuses its pods (its ReplicaSet bookinfo/",
                " cannot create them): ",
                &message,
                "the Linkerd proxy-injector builds every proxy from the ConfigMap linkerd-config in namespace linkerd",
            ] {
                assert!(
                    stderr.contains(part),
                    "{} ({}): {part:?} in:\n{stderr}",
                    row.key,
                    row.read_at
                );
            }
        } else {
            assert!(
                stderr.contains("without a Linkerd proxy after a restart")
                    && stderr.contains("the ConfigMap linkerd-config in the Linkerd namespace holds proxy, proxy.image and proxyInit"),
                "{}: the injector fails open, the pods run unmeshed:\n{stderr}",
                row.key
            );
        }
    }
}

#[test]
fn the_stacks_proxy_log_level_reaches_every_bookinfo_proxy() {
    let sim = sim();
    sim.scratch.edit(
        "stacks/linkerd.yaml",
        "logLevel: warn,linkerd=info,hickory=error",
        "logLevel: debug,linkerd=trace",
    );
    bootstrap(&sim).success();
    let pods: Vec<Value> = sim
        .server
        .list("v1", "Pod")
        .into_iter()
        .filter(|p| p["metadata"]["namespace"] == "bookinfo")
        .collect();
    assert_eq!(pods.len(), 6);
    for pod in pods {
        let proxy = pod["spec"]["initContainers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "linkerd-proxy")
            .unwrap()
            .clone();
        let log = proxy["env"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == "LINKERD2_PROXY_LOG")
            .unwrap()["value"]
            .clone();
        assert_eq!(log, "debug,linkerd=trace,[{headers}]=off,[{request}]=off");
    }
}
