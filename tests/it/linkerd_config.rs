//! linkerd-config holds the whole values tree Linkerd's controllers read, with the stack's
//! settings applied: the proxy-injector reads it with no defaults merged, so a key left out
//! is a key its templates may dereference.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::harness::{Scratch, repo};

/// Keys upstream writes that linkerd-config leaves out on purpose, with why.
const LEFT_OUT: &[(&str, &str)] = &[
    (
        "identity.issuer.tls.keyPEM",
        "a private key; the chart itself removes it from linkerd-config",
    ),
    (
        "proxyInjector.keyPEM",
        "a private key; the chart removes it",
    ),
    (
        "profileValidator.keyPEM",
        "a private key; the chart removes it",
    ),
    (
        "policyValidator.keyPEM",
        "a private key; the chart removes it",
    ),
];

/// The key paths of upstream's values tree (tests/it/fixtures/linkerd/values-keys.txt).
fn upstream_keys() -> Vec<String> {
    std::fs::read_to_string(repo().join("tests/it/fixtures/linkerd/values-keys.txt"))
        .expect("read the upstream key list")
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// Every key path of a values tree, dot-separated.
fn paths(value: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    if let Value::Object(map) = value {
        for (key, inner) in map {
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            paths(inner, &path, out);
            out.insert(path);
        }
    }
}

/// The parsed `values` of the linkerd-config a render of `scratch` holds.
fn rendered_values(scratch: &Scratch) -> Value {
    let render: Value = serde_json::from_str(
        &scratch
            .render(&["-o", "json", "--stack", "linkerd"])
            .success(),
    )
    .expect("valid JSON");
    let config = render["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .find(|o| o["kind"] == "ConfigMap" && o["metadata"]["name"] == "linkerd-config")
        .expect("a linkerd-config ConfigMap")
        .clone();
    let text = config["data"]["values"].as_str().expect("a values key");
    serde_yaml::from_str(text).expect("values is YAML")
}

#[test]
fn linkerd_config_holds_every_key_of_upstreams_values_tree() {
    let values = rendered_values(&Scratch::new());
    let mut ours = BTreeSet::new();
    paths(&values, "", &mut ours);
    let left_out: BTreeSet<&str> = LEFT_OUT.iter().map(|(key, _)| *key).collect();
    let missing: Vec<String> = upstream_keys()
        .into_iter()
        .filter(|key| !ours.contains(key) && !left_out.contains(key.as_str()))
        .collect();
    assert!(missing.is_empty(), "linkerd-config lacks {missing:?}");
    for (key, why) in LEFT_OUT {
        assert!(
            !ours.contains(*key),
            "{key} must stay out of linkerd-config: {why}"
        );
    }
}

#[test]
fn linkerd_config_carries_the_stack_settings() {
    let scratch = Scratch::new();
    scratch.edit(
        "stacks/linkerd.yaml",
        "logLevel: warn,linkerd=info,hickory=error",
        "logLevel: debug,linkerd=trace",
    );
    scratch.edit(
        "stacks/linkerd.yaml",
        "iptablesMode: nft",
        "iptablesMode: legacy",
    );
    let values = rendered_values(&scratch);
    assert_eq!(values["proxy"]["logLevel"], "debug,linkerd=trace");
    assert_eq!(values["proxy"]["logFormat"], "plain");
    assert_eq!(values["proxyInit"]["iptablesMode"], "legacy");
    assert_eq!(values["proxy"]["image"]["version"], "edge-26.8.3");
    assert_eq!(values["linkerdVersion"], "edge-26.8.3");
    assert_eq!(values["disableIPv6"], true);
    assert_eq!(values["proxy"]["metrics"]["hostnameLabels"], false);
    assert_eq!(
        values["proxy"]["control"]["streams"]["initialTimeout"],
        "3s"
    );
    assert_eq!(
        values["proxy"]["inbound"]["server"]["http2"]["keepAliveInterval"],
        "10s"
    );
    assert_eq!(
        values["identityTrustAnchorsPEM"],
        "obsboot-fills-at-bootstrap(linkerd-trust-anchor)"
    );
}

#[test]
fn a_proxy_log_level_the_proxy_cannot_parse_is_refused_where_it_is_written() {
    let scratch = Scratch::new();
    scratch.edit(
        "stacks/linkerd.yaml",
        "logLevel: warn,linkerd=info,hickory=error",
        "logLevel: warn,linkerd=loud",
    );
    let run = scratch.render(&[]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "stacks/linkerd.yaml:30:15: spec.proxy.logLevel: invalid proxy log level \"warn,linkerd=loud\": \"linkerd=loud\" does not end in a level"
        ),
        "{}",
        run.stderr
    );
}
