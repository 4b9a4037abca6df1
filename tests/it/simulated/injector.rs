//! The simulated Linkerd proxy-injector against upstream: upstream's default values give
//! upstream's patch, every value upstream dereferences fails as upstream fails without it,
//! overrides and type errors behave as upstream's, and a refused pod shows on its
//! ReplicaSet and Deployment.

use serde_json::{Value, json};

use super::SETTLE;
use super::injection::{
    linkerd_config, meshed, meshed_namespace, start_injector, upstream_defaults,
};
use crate::apiserver::ApiServer;
use crate::apiserver::injector::derefs::{self, Deref, TABLE};
use crate::harness::repo;

const HOOK: &str = "linkerd-proxy-injector.linkerd.io";

/// A server whose injector serves, with linkerd-config at upstream's defaults.
fn serving() -> ApiServer {
    let server = ApiServer::start();
    meshed_namespace(&server);
    start_injector(&server);
    server
}

/// The defaults, to edit.
fn defaults() -> Value {
    serde_yaml::from_str(&upstream_defaults()).expect("the defaults are YAML")
}

/// Writes `values` into linkerd-config (as JSON, which is YAML that keeps strings strings).
fn configure(server: &ApiServer, values: &Value) {
    linkerd_config(server, &values.to_string(), "IdentityTrustAnchorsPEM");
}

/// `values` without the dotted `key`.
fn without(values: &Value, key: &str) -> Value {
    let mut out = values.clone();
    let (parent, last) = key.rsplit_once('.').unwrap_or(("", key));
    let mut at = &mut out;
    for step in parent.split('.').filter(|s| !s.is_empty()) {
        at = &mut at[step];
    }
    at.as_object_mut().expect("a map").remove(last);
    out
}

/// A bare pod in `bookinfo` (which asks for injection).
fn pod(name: &str, annotations: &Value) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "bookinfo", "annotations": annotations},
        "spec": {"containers": [{"name": "app", "image": "nginx:1.27", "ports": [{"containerPort": 9080, "name": "http"}]}]},
    })
}

/// Creates `object` as a controller would; `Err` is the Status the client gets.
fn create(server: &ApiServer, object: Value) -> Result<Value, Value> {
    server.try_apply_as("kube-controller-manager", object, true)
}

/// How a table row's value comes to be read.
enum Setup {
    /// Any pod that asks for injection.
    Plain,
    /// A pod that mounts no service-account token.
    Tokenless,
    /// A pod with this override annotation.
    Annotated(&'static str, &'static str),
    /// `cniEnabled`, with a network validator configured.
    Cni,
    /// Tracing enabled, with a collector.
    Tracing,
}

#[test]
fn every_dereferenced_value_left_out_fails_as_upstream_fails() {
    let cases: [(&Deref, Setup); 20] = [
        (&derefs::IDENTITY_REPORT, Setup::Tokenless),
        (&derefs::PROXY, Setup::Plain),
        (
            &derefs::IMAGE_OVERRIDE,
            Setup::Annotated("config.linkerd.io/proxy-version", "edge-1"),
        ),
        (
            &derefs::RESOURCES_OVERRIDE,
            Setup::Annotated("config.linkerd.io/proxy-cpu-request", "100m"),
        ),
        (&derefs::IMAGE, Setup::Plain),
        (
            &derefs::DEBUG,
            Setup::Annotated("config.linkerd.io/enable-debug-sidecar", "true"),
        ),
        (&derefs::PROXY_INIT, Setup::Plain),
        (&derefs::PORTS, Setup::Plain),
        (&derefs::RESOURCES, Setup::Plain),
        (&derefs::XT_MOUNT, Setup::Plain),
        (&derefs::VALIDATOR_RESOURCES, Setup::Cni),
        (&derefs::NETWORK_VALIDATOR, Setup::Cni),
        (&derefs::IDENTITY, Setup::Plain),
        (&derefs::PROXY_PORTS, Setup::Cni),
        (&derefs::METRICS, Setup::Plain),
        (&derefs::TRACING_COLLECTOR, Setup::Tracing),
        (&derefs::TRACING_IDENTITY, Setup::Tracing),
        (&derefs::LIVENESS, Setup::Plain),
        (&derefs::READINESS, Setup::Plain),
        (&derefs::STARTUP, Setup::Plain),
    ];
    assert!(
        TABLE
            .iter()
            .all(|row| cases.iter().any(|(case, _)| std::ptr::eq(*row, *case))),
        "every row of the table is tried"
    );
    let server = serving();
    for (i, (row, setup)) in cases.iter().enumerate() {
        let mut values = defaults();
        let mut annotations = json!({});
        let mut object = pod(&format!("p{i}"), &annotations);
        match setup {
            Setup::Plain => {}
            Setup::Tokenless => {
                object["spec"]["automountServiceAccountToken"] = false.into();
            }
            Setup::Annotated(key, value) => {
                annotations[key] = (*value).into();
                object["metadata"]["annotations"] = annotations.clone();
            }
            Setup::Cni => {
                values["cniEnabled"] = true.into();
                values["networkValidator"] =
                    json!({"logLevel": "debug", "logFormat": "plain", "timeout": "10s"});
            }
            Setup::Tracing => {
                values["proxy"]["tracing"] = json!({"enabled": true, "collector": {
                    "endpoint": "collector.tracing:4317",
                    "meshIdentity": {"serviceAccountName": "collector", "namespace": "tracing"},
                }});
            }
        }
        configure(&server, &without(&values, row.key));
        let outcome = create(&server, object);
        if let Some(message) = row.message() {
            let body = outcome.expect_err(row.key);
            assert_eq!(
                body["message"],
                format!("admission webhook {HOOK:?} denied the request: {message}"),
                "{} ({})",
                row.key,
                row.read_at
            );
        } else {
            let created =
                outcome.unwrap_or_else(|e| panic!("{}: a panic admits the pod: {e}", row.key));
            assert!(!meshed(&created), "{}: admitted without a proxy", row.key);
        }
    }
}

#[test]
fn a_denial_reaches_the_client_as_kube_apiserver_words_it() {
    let server = serving();
    configure(&server, &without(&defaults(), "proxy.ports"));
    let body = create(&server, pod("p", &json!({}))).unwrap_err();
    assert_eq!(
        body,
        json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "code": 400,
            "message": "admission webhook \"linkerd-proxy-injector.linkerd.io\" denied the request: template: patch/templates/patch.json:77:10: executing \"patch/templates/patch.json\" at <include \"partials.proxy-init\" .>: error calling include: template: patch/charts/partials/templates/_proxy-init.tpl:15:11: executing \"partials.proxy-init\" at <.Values.proxy.ports.inbound>: nil pointer evaluating interface {}.inbound",
        })
    );
    // YAML 1.1, as the injector reads it: a plain `off` is false, which becomes "false".
    let plain_off = upstream_defaults().replace("logHTTPHeaders: \"off\"", "logHTTPHeaders: off");
    linkerd_config(&server, &plain_off, "IdentityTrustAnchorsPEM");
    assert_eq!(
        create(&server, pod("o", &json!({}))).unwrap_err()["message"],
        "admission webhook \"linkerd-proxy-injector.linkerd.io\" denied the request: execution error at (patch/templates/patch.json:143:10): logHTTPHeaders must be one of: insecure | off"
    );
    let mut values = defaults();
    values["proxyInit"]["iptablesMode"] = "iptables".into();
    configure(&server, &values);
    assert_eq!(
        create(&server, pod("q", &json!({}))).unwrap_err()["message"],
        "admission webhook \"linkerd-proxy-injector.linkerd.io\" denied the request: execution error at (patch/templates/patch.json:77:10): Unsupported value \"iptables\" for proxyInit.iptablesMode\nValid values: [\"nft\", \"legacy\"]"
    );
}

#[test]
fn a_wrong_type_or_a_bad_network_refuses_pods_and_services_alike() {
    let server = serving();
    let mut values = defaults();
    values["proxy"]["uid"] = "2102".into();
    configure(&server, &values);
    let service = json!({
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "bookinfo"},
        "spec": {"ports": [{"port": 3306}]},
    });
    let expected = "admission webhook \"linkerd-proxy-injector.linkerd.io\" denied the request: failed to unmarshal JSON from: /var/run/linkerd/config/values: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal string into Go struct field Proxy.proxy.uid of type int64";
    assert_eq!(
        create(&server, service.clone()).unwrap_err()["message"],
        expected
    );
    assert_eq!(
        create(&server, pod("p", &json!({}))).unwrap_err()["message"],
        expected
    );
    let mut values = defaults();
    values["clusterNetworks"] = "10.0.0.0/8, 172.16.0.0/12".into();
    configure(&server, &values);
    assert_eq!(
        create(&server, pod("p", &json!({}))).unwrap_err()["message"],
        "admission webhook \"linkerd-proxy-injector.linkerd.io\" denied the request: cannot parse destination get networks: invalid CIDR address:  172.16.0.0/12"
    );
    configure(&server, &defaults());
    let created = create(&server, service).unwrap();
    assert_eq!(
        created["metadata"]["annotations"]["config.linkerd.io/opaque-ports"], "3306",
        "a default opaque port is annotated"
    );
}

#[test]
fn override_annotations_of_the_pod_and_its_namespace_shape_its_proxy() {
    let server = serving();
    server.apply_as(
        "obsboot",
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bookinfo", "annotations": {
            "linkerd.io/inject": "enabled", "config.linkerd.io/proxy-memory-limit": "128Mi",
        }}}),
    );
    let annotations = json!({
        "config.linkerd.io/proxy-log-level": "debug",
        "config.linkerd.io/proxy-cpu-request": "1500m",
        "config.linkerd.io/proxy-image": "registry.example/proxy",
        "config.linkerd.io/proxy-version": "edge-9",
    });
    let created = create(&server, pod("p", &annotations)).unwrap();
    let proxy = &created["spec"]["initContainers"][1];
    let env = |name: &str| {
        proxy["env"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .map(|e| e["value"].clone())
    };
    assert_eq!(
        env("LINKERD2_PROXY_LOG").unwrap(),
        "debug,[{headers}]=off,[{request}]=off"
    );
    assert_eq!(
        env("LINKERD2_PROXY_CORES").unwrap(),
        "2",
        "1500m rounded up"
    );
    assert_eq!(
        proxy["resources"],
        json!({"requests": {"cpu": "1500m"}, "limits": {"memory": "128Mi"}})
    );
    assert_eq!(proxy["image"], "registry.example/proxy:edge-9");
    let annotations = &created["metadata"]["annotations"];
    assert_eq!(annotations["linkerd.io/proxy-version"], "edge-9");
    assert_eq!(
        annotations["config.linkerd.io/proxy-memory-limit"], "128Mi",
        "passed on from the namespace"
    );
}

#[test]
fn upstream_defaults_inject_what_upstream_injects() {
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("tests/it/fixtures/linkerd/injected-defaults.json"))
            .unwrap(),
    )
    .unwrap();
    let server = serving();
    server.apply_as("obsboot", json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "owner-deployment", "namespace": "kube-public"},
        "spec": {
            "replicas": 1, "selector": {"matchLabels": {"app": "nginx"}},
            "template": {
                "metadata": {"labels": {"app": "nginx"}, "annotations": {"linkerd.io/inject": "enabled", "config.linkerd.io/opaque-ports": "memcached"}},
                "spec": {
                    "automountServiceAccountToken": false,
                    "initContainers": [{"name": "memcached", "image": "memcached", "restartPolicy": "Always", "ports": [{"containerPort": 11211, "name": "memcached"}]}],
                    "containers": [{"name": "nginx", "image": "nginx", "ports": [{"name": "http", "containerPort": 80}],
                                    "readinessProbe": {"httpGet": {"path": "/metrics", "port": 9090}}}],
                },
            },
        },
    }));
    assert!(server.wait_until(SETTLE, |v| {
        v.list("v1", "Pod")
            .iter()
            .any(|p| p["metadata"]["namespace"] == "kube-public")
    }));
    let pod = server
        .list("v1", "Pod")
        .into_iter()
        .find(|p| p["metadata"]["namespace"] == "kube-public")
        .unwrap();
    for key in ["annotations", "labels"] {
        for (name, value) in expected[key].as_object().unwrap() {
            assert_eq!(&pod["metadata"][key][name], value, "{key} {name}");
        }
    }
    let inits = pod["spec"]["initContainers"].as_array().unwrap();
    let names: Vec<&Value> = inits.iter().map(|c| &c["name"]).collect();
    assert_eq!(
        names,
        expected["initContainers"]
            .as_array()
            .unwrap()
            .iter()
            .collect::<Vec<_>>()
    );
    assert_eq!(pod["spec"]["volumes"], expected["volumes"]);
    for (i, name) in ["linkerd-init", "linkerd-proxy"].iter().enumerate() {
        let mut actual = inits[i].clone();
        for port in actual["ports"].as_array_mut().into_iter().flatten() {
            port.as_object_mut().unwrap().remove("protocol");
        }
        if let Some(env) = actual["env"].as_array() {
            actual["env"] = env
                .iter()
                .map(|e| match e.get("value") {
                    Some(value) => json!([e["name"], value]),
                    None => {
                        json!([e["name"], {"fieldRef": e["valueFrom"]["fieldRef"]["fieldPath"]}])
                    }
                })
                .collect();
        }
        for (field, value) in expected[*name].as_object().unwrap() {
            assert_eq!(&actual[field], value, "{name}: {field}");
        }
    }
}

#[test]
fn a_refused_pod_shows_on_its_replica_set_and_deployment_until_it_is_created() {
    let server = serving();
    configure(&server, &without(&defaults(), "proxy.metrics"));
    server.apply_as("obsboot", super::deployment("bookinfo", "productpage", 1));
    let message = format!(
        "admission webhook {HOOK:?} denied the request: {}",
        derefs::METRICS.message().unwrap()
    );
    let failure = |object: &Value| {
        object["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["type"] == "ReplicaFailure")
            .cloned()
    };
    assert!(server.wait_until(SETTLE, |v| {
        let deployment = v.get("apps/v1", "Deployment", Some("bookinfo"), "productpage");
        deployment
            .and_then(failure)
            .is_some_and(|c| c["message"] == message)
    }));
    let rs = server
        .list("apps/v1", "ReplicaSet")
        .into_iter()
        .find(|rs| rs["metadata"]["namespace"] == "bookinfo")
        .unwrap();
    let condition = failure(&rs).unwrap();
    assert_eq!(
        (
            &condition["status"],
            &condition["reason"],
            &condition["message"]
        ),
        (&json!("True"), &json!("FailedCreate"), &json!(message))
    );
    configure(&server, &defaults());
    assert!(server.wait_until(SETTLE, |v| {
        let deployment = v.get("apps/v1", "Deployment", Some("bookinfo"), "productpage");
        let sets = v.list("apps/v1", "ReplicaSet");
        deployment.is_some_and(|d| failure(d).is_none())
            && sets.iter().all(|rs| failure(rs).is_none())
            && v.list("v1", "Pod").iter().any(|p| meshed(p))
    }));
}

#[test]
fn a_null_parameter_gives_an_env_var_without_a_value_as_sprig_quote_does() {
    let server = serving();
    let mut values = defaults();
    values["proxy"]["inbound"]["server"]["http2"]["keepAliveInterval"] = Value::Null;
    configure(&server, &values);
    let created = create(&server, pod("p", &json!({}))).unwrap();
    let env = created["spec"]["initContainers"][1]["env"]
        .as_array()
        .unwrap();
    let var = env
        .iter()
        .find(|e| e["name"] == "LINKERD2_PROXY_INBOUND_SERVER_HTTP2_KEEP_ALIVE_INTERVAL")
        .unwrap();
    assert_eq!(
        var,
        &json!({"name": "LINKERD2_PROXY_INBOUND_SERVER_HTTP2_KEEP_ALIVE_INTERVAL"})
    );
}
