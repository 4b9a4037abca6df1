//! The default platform, object by object, against the upstream facts in REFERENCE.md
//! (sections 1-5: objects, images, ports, probes, RBAC, security contexts, placement) and the
//! decisions stated in `stacks/*.yaml` and the template comments. Each test reads the parsed
//! `obsboot render -o json` document; none is a snapshot. Where obsboot deliberately differs
//! from upstream, the test asserts obsboot's behaviour and says why.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use base64::Engine as _;
use serde_json::{Value, json};

use crate::harness::Scratch;

// ---------------------------------------------------------------------------------------------
// The render and ways into it.
// ---------------------------------------------------------------------------------------------

/// The Linkerd release every Linkerd image is tagged with (stacks/linkerd.yaml, REFERENCE 4.1).
const LINKERD_VERSION: &str = "edge-26.8.3";

/// The node selector of a workload pinned to the kubeadm control-plane node (REFERENCE 5).
const CONTROL_PLANE_LABEL: &str = "node-role.kubernetes.io/control-plane";

/// The kinds whose objects run pods.
const WORKLOAD_KINDS: [&str; 5] = ["Deployment", "DaemonSet", "StatefulSet", "Job", "CronJob"];

/// `(kind, namespace, name)`; the namespace is empty for cluster-scoped objects.
type Key = (String, String, String);

/// One permission: `(apiGroup, resource, verb)`. A rule limited by `resourceNames` grants
/// `resource[name]`; a `nonResourceURLs` rule grants `("nonResourceURL", url, verb)`.
type Grant = (String, String, String);

/// A rule written as `(apiGroup, "resource ...", "verb ...")`, lists separated by spaces.
type Rule<'a> = (&'a str, &'a str, &'a str);

/// The default render of the built-in stacks, run once for every test in this module.
fn render() -> &'static Value {
    static RENDER: OnceLock<Value> = OnceLock::new();
    RENDER.get_or_init(|| {
        let stdout = Scratch::new().run(&["render", "-o", "json"]).success();
        serde_json::from_str(&stdout).expect("render -o json prints one JSON document")
    })
}

fn objects() -> &'static [Value] {
    list(&render()["objects"])
}

fn list(value: &Value) -> &[Value] {
    value.as_array().map_or(&[], Vec::as_slice)
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or_default()
}

fn texts(value: &Value) -> Vec<&str> {
    list(value).iter().map(text).collect()
}

fn name(object: &Value) -> &str {
    text(&object["metadata"]["name"])
}

fn namespace(object: &Value) -> &str {
    text(&object["metadata"]["namespace"])
}

fn stack(object: &Value) -> &str {
    text(&object["metadata"]["labels"]["obsboot.dev/stack"])
}

/// `Kind namespace/name` (or `Kind name` when cluster-scoped), for failure messages.
fn id(object: &Value) -> String {
    let kind = text(&object["kind"]);
    match namespace(object) {
        "" => format!("{kind} {}", name(object)),
        ns => format!("{kind} {ns}/{}", name(object)),
    }
}

/// The rendered object of this kind, namespace (empty if cluster-scoped) and name.
fn find(kind: &str, ns: &str, wanted: &str) -> &'static Value {
    objects()
        .iter()
        .find(|o| o["kind"] == kind && namespace(o) == ns && name(o) == wanted)
        .unwrap_or_else(|| panic!("the render has no {kind} {ns}/{wanted}"))
}

fn of_kind(kind: &str) -> impl Iterator<Item = &'static Value> {
    objects().iter().filter(move |o| o["kind"] == kind)
}

/// `(kind, namespace, "name ...")` rows, names separated by spaces, as keys.
fn keys(rows: &[(&str, &str, &str)]) -> BTreeSet<Key> {
    rows.iter()
        .flat_map(|(kind, ns, names)| {
            names
                .split_whitespace()
                .map(|n| ((*kind).to_owned(), (*ns).to_owned(), n.to_owned()))
        })
        .collect()
}

/// What a stack renders, by its `obsboot.dev/stack` label.
fn inventory(of: &str) -> BTreeSet<Key> {
    objects()
        .iter()
        .filter(|o| stack(o) == of)
        .map(|o| {
            (
                text(&o["kind"]).to_owned(),
                namespace(o).to_owned(),
                name(o).to_owned(),
            )
        })
        .collect()
}

/// The differences between what `of` renders and `expected`: (missing, unexpected).
fn inventory_diff(of: &str, expected: &BTreeSet<Key>) -> (Vec<Key>, Vec<Key>) {
    let rendered = inventory(of);
    (
        expected.difference(&rendered).cloned().collect(),
        rendered.difference(expected).cloned().collect(),
    )
}

fn assert_inventory(of: &str, expected: &BTreeSet<Key>) {
    let (missing, unexpected) = inventory_diff(of, expected);
    assert!(
        missing.is_empty() && unexpected.is_empty(),
        "stack {of}: (kind, namespace, name) missing from the render: {missing:?}; rendered but not expected: {unexpected:?}"
    );
}

fn workloads() -> impl Iterator<Item = &'static Value> {
    objects()
        .iter()
        .filter(|o| WORKLOAD_KINDS.contains(&text(&o["kind"])))
}

/// A workload's pod spec.
fn pod(workload: &Value) -> &Value {
    if workload["kind"] == "CronJob" {
        &workload["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    } else {
        &workload["spec"]["template"]["spec"]
    }
}

/// Init containers, then containers.
fn all_containers(workload: &Value) -> impl Iterator<Item = &Value> {
    let pod = pod(workload);
    list(&pod["initContainers"])
        .iter()
        .chain(list(&pod["containers"]))
}

fn container<'a>(workload: &'a Value, wanted: &str) -> &'a Value {
    all_containers(workload)
        .find(|c| c["name"] == wanted)
        .unwrap_or_else(|| panic!("{}: no container {wanted}", id(workload)))
}

/// A container's ports as sorted `(name, containerPort)`.
fn ports(container: &Value) -> Vec<(String, u64)> {
    let mut ports: Vec<(String, u64)> = list(&container["ports"])
        .iter()
        .map(|p| {
            (
                text(&p["name"]).to_owned(),
                p["containerPort"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    ports.sort();
    ports
}

fn assert_ports(workload: &Value, container_name: &str, expected: &[(&str, u64)]) {
    let mut expected: Vec<(String, u64)> = expected
        .iter()
        .map(|(n, p)| ((*n).to_owned(), *p))
        .collect();
    expected.sort();
    assert_eq!(
        ports(container(workload, container_name)),
        expected,
        "{}: container {container_name}: ports (name, containerPort)",
        id(workload)
    );
}

/// A port number, or a port name resolved through `container`'s ports.
fn port_number(container: &Value, port: &Value) -> Option<u64> {
    match port {
        Value::String(port_name) => list(&container["ports"])
            .iter()
            .find(|p| p["name"] == *port_name)
            .and_then(|p| p["containerPort"].as_u64()),
        other => other.as_u64(),
    }
}

/// A container's HTTP probe (`livenessProbe`, ...) as `(path, port number)`.
fn probe(container: &Value, which: &str) -> Option<(String, u64)> {
    let get = container[which].get("httpGet")?;
    Some((
        text(&get["path"]).to_owned(),
        port_number(container, &get["port"])?,
    ))
}

fn assert_probe(workload: &Value, container_name: &str, which: &str, path: &str, port: u64) {
    assert_eq!(
        probe(container(workload, container_name), which),
        Some((path.to_owned(), port)),
        "{}: container {container_name}: {which} (httpGet path, port)",
        id(workload)
    );
}

/// A container's effective security setting: its own, else its pod's.
fn security<'a>(workload: &'a Value, container: &'a Value, field: &str) -> &'a Value {
    match &container["securityContext"][field] {
        Value::Null => &pod(workload)["securityContext"][field],
        own => own,
    }
}

/// Asserts each field of `expected` (a JSON object) as the container's effective setting.
fn assert_security(workload: &Value, container_name: &str, expected: &Value) {
    let container = container(workload, container_name);
    for (field, value) in expected.as_object().expect("an object of settings") {
        assert_eq!(
            security(workload, container, field),
            value,
            "{}: container {container_name}: securityContext.{field}",
            id(workload)
        );
    }
}

/// Asserts the value at a JSON pointer (such as `/spec/replicas`) of an object.
fn assert_at(object: &Value, pointer: &str, expected: &Value) {
    assert_eq!(
        object.pointer(pointer).unwrap_or(&Value::Null),
        expected,
        "{}: {pointer}",
        id(object)
    );
}

/// Asserts that a container's `args` include each of `flags`.
fn assert_args(workload: &Value, container_name: &str, flags: &[&str]) {
    let args = texts(&container(workload, container_name)["args"]);
    for flag in flags {
        assert!(
            args.contains(flag),
            "{}: container {container_name}: args lack {flag}",
            id(workload)
        );
    }
}

/// Asserts that a container mounts `volume` at `path`.
fn assert_mount(workload: &Value, container_name: &str, volume: &str, path: &str) {
    assert_eq!(
        mount_path(container(workload, container_name), volume),
        path,
        "{}: container {container_name}: volumeMounts {volume}.mountPath",
        id(workload)
    );
}

/// Asserts a container's environment variable (its value, or its valueFrom).
fn assert_env(workload: &Value, container: &Value, var: &str, expected: &Value) {
    assert_eq!(
        env(container, var),
        expected,
        "{}: container {}: env {var}",
        id(workload),
        text(&container["name"])
    );
}

fn assert_pod_security(workload: &Value, expected: &Value) {
    for (field, value) in expected.as_object().expect("an object of settings") {
        assert_eq!(
            &pod(workload)["securityContext"][field],
            value,
            "{}: pod securityContext.{field}",
            id(workload)
        );
    }
}

/// The value of the environment variable `var` of a container (its `value`, or its
/// `valueFrom` when it has no value).
fn env<'a>(container: &'a Value, var: &str) -> &'a Value {
    list(&container["env"])
        .iter()
        .find(|e| e["name"] == var)
        .map_or(&Value::Null, |e| match &e["value"] {
            Value::Null => &e["valueFrom"],
            value => value,
        })
}

/// The mount path of volume `volume` in a container.
fn mount_path<'a>(container: &'a Value, volume: &str) -> &'a str {
    list(&container["volumeMounts"])
        .iter()
        .find(|m| m["name"] == volume)
        .map_or("", |m| text(&m["mountPath"]))
}

/// The pod volume named `volume`.
fn volume<'a>(workload: &'a Value, volume: &str) -> &'a Value {
    list(&pod(workload)["volumes"])
        .iter()
        .find(|v| v["name"] == volume)
        .unwrap_or_else(|| panic!("{}: no volume {volume}", id(workload)))
}

/// Every permission a Role or ClusterRole grants.
fn grants(role: &Value) -> BTreeSet<Grant> {
    let mut out = BTreeSet::new();
    for rule in list(&role["rules"]) {
        let verbs = texts(&rule["verbs"]);
        for url in texts(&rule["nonResourceURLs"]) {
            for verb in &verbs {
                out.insert(("nonResourceURL".into(), url.into(), (*verb).into()));
            }
        }
        let names = texts(&rule["resourceNames"]);
        for group in texts(&rule["apiGroups"]) {
            for resource in texts(&rule["resources"]) {
                let targets: Vec<String> = if names.is_empty() {
                    vec![resource.to_owned()]
                } else {
                    names.iter().map(|n| format!("{resource}[{n}]")).collect()
                };
                for target in targets {
                    for verb in &verbs {
                        out.insert((group.into(), target.clone(), (*verb).into()));
                    }
                }
            }
        }
    }
    out
}

/// The permissions of rules written as `(apiGroup, "resource ...", "verb ...")`.
fn rules(spec: &[Rule]) -> BTreeSet<Grant> {
    let mut out = BTreeSet::new();
    for (group, resources, verbs) in spec {
        for resource in resources.split_whitespace() {
            for verb in verbs.split_whitespace() {
                out.insert(((*group).into(), resource.into(), verb.into()));
            }
        }
    }
    out
}

fn assert_grants(kind: &str, ns: &str, role: &str, expected: &BTreeSet<Grant>) {
    let object = find(kind, ns, role);
    let actual = grants(object);
    let missing: Vec<&Grant> = expected.difference(&actual).collect();
    let extra: Vec<&Grant> = actual.difference(expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{}: rules (apiGroup, resource, verb) missing: {missing:?}; granted but not expected: {extra:?}",
        id(object)
    );
}

fn bindings() -> impl Iterator<Item = &'static Value> {
    objects()
        .iter()
        .filter(|o| o["kind"] == "RoleBinding" || o["kind"] == "ClusterRoleBinding")
}

/// The role a binding refers to.
fn bound_role(binding: &Value) -> &'static Value {
    let kind = text(&binding["roleRef"]["kind"]);
    let ns = if kind == "Role" {
        namespace(binding)
    } else {
        ""
    };
    find(kind, ns, text(&binding["roleRef"]["name"]))
}

/// Everything the ServiceAccount `ns/account` is granted through the rendered bindings.
fn account_grants(ns: &str, account: &str) -> BTreeSet<Grant> {
    bindings()
        .filter(|b| {
            list(&b["subjects"]).iter().any(|s| {
                s["kind"] == "ServiceAccount" && s["namespace"] == ns && s["name"] == account
            })
        })
        .flat_map(|b| grants(bound_role(b)))
        .collect()
}

/// The Secrets a pod spec refers to: volumes (plain and projected), env and envFrom
/// references, image pull secrets.
fn secret_refs(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                match key.as_str() {
                    "secret" => {
                        let secret = inner.get("secretName").or_else(|| inner.get("name"));
                        out.insert(text(secret.unwrap_or(&Value::Null)).to_owned());
                    }
                    "secretKeyRef" | "secretRef" => {
                        out.insert(text(&inner["name"]).to_owned());
                    }
                    "imagePullSecrets" => {
                        out.extend(list(inner).iter().map(|s| text(&s["name"]).to_owned()));
                    }
                    _ => {}
                }
                secret_refs(inner, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| secret_refs(item, out)),
        _ => {}
    }
}

/// The one webhook of a webhook configuration.
fn webhook(kind: &str, config: &str) -> &'static Value {
    let object = find(kind, "", config);
    let hooks = list(&object["webhooks"]);
    assert_eq!(hooks.len(), 1, "{}: webhooks: one each", id(object));
    &hooks[0]
}

/// A webhook's rules as `(operation, apiGroup, apiVersion, resource, scope)`.
fn admission(webhook: &Value) -> BTreeSet<(String, String, String, String, String)> {
    let mut out = BTreeSet::new();
    for rule in list(&webhook["rules"]) {
        let scope = rule["scope"].as_str().unwrap_or("*");
        for op in texts(&rule["operations"]) {
            for group in texts(&rule["apiGroups"]) {
                for version in texts(&rule["apiVersions"]) {
                    for resource in texts(&rule["resources"]) {
                        out.insert((
                            op.into(),
                            group.into(),
                            version.into(),
                            resource.into(),
                            scope.into(),
                        ));
                    }
                }
            }
        }
    }
    out
}

/// The placeholder of a slot in the document's `slots` array (`service` for per-webhook slots).
fn placeholder(slot: &str, service: Option<&str>) -> &'static str {
    list(&render()["slots"])
        .iter()
        .find(|s| s["slot"] == slot && s["service"].as_str() == service)
        .map_or_else(
            || panic!("slots: no {slot} slot for {service:?}"),
            |s| text(&s["placeholder"]),
        )
}

/// `linkerd-config`'s `values` key, parsed.
fn linkerd_values() -> Value {
    let config = find("ConfigMap", "linkerd", "linkerd-config");
    serde_yaml::from_str(text(&config["data"]["values"]))
        .expect("ConfigMap linkerd/linkerd-config: data.values is YAML")
}

fn linkerd_image(image: &str) -> String {
    format!("cr.l5d.io/linkerd/{image}:{LINKERD_VERSION}")
}

// ---------------------------------------------------------------------------------------------
// Inventory per stack.
// ---------------------------------------------------------------------------------------------

#[test]
fn bookinfo_inventory() {
    // REFERENCE 1.1/7: 4 Services, 4 ServiceAccounts (the reviews versions share one), 6
    // Deployments, plus the Namespace obsboot creates for it.
    let accounts = "bookinfo-details bookinfo-ratings bookinfo-reviews bookinfo-productpage";
    let deployments = "details-v1 ratings-v1 reviews-v1 reviews-v2 reviews-v3 productpage-v1";
    assert_inventory(
        "bookinfo",
        &keys(&[
            ("Namespace", "", "bookinfo"),
            ("Service", "bookinfo", "details ratings reviews productpage"),
            ("ServiceAccount", "bookinfo", accounts),
            ("Deployment", "bookinfo", deployments),
        ]),
    );
}

#[test]
fn bookinfo_objects_match_upstream() {
    // REFERENCE 1.1: labels, selectors, replicas and accounts as in bookinfo.yaml.
    for app in ["details", "ratings", "reviews", "productpage"] {
        let service = find("Service", "bookinfo", app);
        assert_at(service, "/metadata/labels/app", &json!(app));
        assert_at(service, "/metadata/labels/service", &json!(app));
        // On `app` only, so that reviews balances over v1, v2 and v3.
        assert_at(service, "/spec/selector", &json!({ "app": app }));
        let account = find("ServiceAccount", "bookinfo", &format!("bookinfo-{app}"));
        assert_at(account, "/metadata/labels/account", &json!(app));
    }
    for (app, version) in [
        ("details", "v1"),
        ("ratings", "v1"),
        ("reviews", "v1"),
        ("reviews", "v2"),
        ("reviews", "v3"),
        ("productpage", "v1"),
    ] {
        let deployment = find("Deployment", "bookinfo", &format!("{app}-{version}"));
        assert_at(deployment, "/spec/replicas", &json!(1));
        let labels = json!({ "app": app, "version": version });
        assert_at(deployment, "/spec/selector/matchLabels", &labels);
        for (key, value) in [("app", app), ("version", version)] {
            assert_at(
                deployment,
                &format!("/metadata/labels/{key}"),
                &json!(value),
            );
            let pointer = format!("/spec/template/metadata/labels/{key}");
            assert_at(deployment, &pointer, &json!(value));
        }
        let account = json!(format!("bookinfo-{app}"));
        assert_at(
            deployment,
            "/spec/template/spec/serviceAccountName",
            &account,
        );
        let containers = list(&pod(deployment)["containers"]).len();
        assert_eq!(containers, 1, "{}: containers: one", id(deployment));
        // The template leaves out productpage's prometheus.io annotations on purpose:
        // Prometheus 3 refuses its /metrics Content-Type (REFERENCE 1.5,
        // templates/bookinfo/deployments).
        let scrape = "/spec/template/metadata/annotations/prometheus.io~1scrape";
        assert_at(deployment, scrape, &Value::Null);
    }
    // REFERENCE 1.3: reviews logs to /tmp/logs and writes /tmp and Liberty's output directory
    // (emptyDirs); productpage writes /tmp.
    for version in ["v1", "v2", "v3"] {
        let reviews = find("Deployment", "bookinfo", &format!("reviews-{version}"));
        assert_env(
            reviews,
            container(reviews, "reviews"),
            "LOG_DIR",
            &json!("/tmp/logs"),
        );
        for (vol, path) in [("tmp", "/tmp"), ("wlp-output", "/opt/ibm/wlp/output")] {
            assert_mount(reviews, "reviews", vol, path);
            let empty = &volume(reviews, vol)["emptyDir"];
            assert_eq!(empty, &json!({}), "{}: volume {vol}.emptyDir", id(reviews));
        }
    }
    let productpage = find("Deployment", "bookinfo", "productpage-v1");
    assert_mount(productpage, "productpage", "tmp", "/tmp");
    assert_eq!(
        volume(productpage, "tmp")["emptyDir"],
        json!({}),
        "{}: volume tmp.emptyDir",
        id(productpage)
    );
}

#[test]
fn prometheus_inventory() {
    // REFERENCE 2.2, "minimal plain-manifest equivalent": Prometheus (Namespace, SA,
    // ClusterRole, ClusterRoleBinding, ConfigMap, Deployment, Service), kube-state-metrics
    // (SA, ClusterRole, ClusterRoleBinding, Deployment, Service), node-exporter (SA,
    // DaemonSet, Service). obsboot's own choices: the server is `prometheus`, not the chart's
    // `prometheus-server`; cluster-wide names carry an `obsboot-` prefix; no PVC, as the data
    // volume is an emptyDir by default (stacks/prometheus.yaml: a fresh kubeadm cluster has
    // no StorageClass); no Alertmanager or Pushgateway (chart extras, REFERENCE 2.6 item 7).
    // The `monitoring` Namespace is this stack's alone: Grafana's pods need the restricted Pod
    // Security level, node-exporter's the privileged one.
    let components = "prometheus kube-state-metrics node-exporter";
    let cluster_wide = "obsboot-prometheus obsboot-kube-state-metrics";
    let expected = keys(&[
        ("Namespace", "", "monitoring"),
        ("ServiceAccount", "monitoring", components),
        ("Service", "monitoring", components),
        ("ConfigMap", "monitoring", "prometheus-config"),
        ("ClusterRole", "", cluster_wide),
        ("ClusterRoleBinding", "", cluster_wide),
        ("Deployment", "monitoring", "prometheus kube-state-metrics"),
        ("DaemonSet", "monitoring", "node-exporter"),
    ]);
    assert_inventory("prometheus", &expected);
    let monitoring = find("Namespace", "", "monitoring");
    assert_eq!(
        monitoring["metadata"]["annotations"]["obsboot.dev/stacks"],
        "prometheus",
        "{}: annotations obsboot.dev/stacks",
        id(monitoring)
    );
}

#[test]
fn grafana_inventory() {
    // REFERENCE 3.2 lists 8 chart objects. obsboot renders no Secret (grafana-admin is
    // created at bootstrap and listed in `secrets`), no ClusterRole/ClusterRoleBinding
    // (Grafana needs no API access without the sidecars, REFERENCE 3.3), and splits the
    // chart's ConfigMap into datasources, dashboard providers and dashboards. It has a
    // Namespace of its own, at the restricted Pod Security level.
    let configs = "grafana-datasources grafana-dashboard-providers grafana-dashboards";
    let expected = keys(&[
        ("Namespace", "", "grafana"),
        ("ServiceAccount", "grafana", "grafana"),
        ("ConfigMap", "grafana", configs),
        ("Service", "grafana", "grafana"),
        ("Deployment", "grafana", "grafana"),
    ]);
    assert_inventory("grafana", &expected);
}

/// The Linkerd stack per REFERENCE 4.2/4.3, with obsboot's stated differences.
fn linkerd_expected() -> BTreeSet<Key> {
    // REFERENCE 4.2: the 10 Linkerd CRDs, and of the Gateway API only httproutes and
    // grpcroutes, the two Linkerd requires (templates/linkerd/gateway-api-crds).
    let crds = "authorizationpolicies.policy.linkerd.io egressnetworks.policy.linkerd.io \
        httplocalratelimitpolicies.policy.linkerd.io httproutes.policy.linkerd.io \
        meshtlsauthentications.policy.linkerd.io networkauthentications.policy.linkerd.io \
        serverauthorizations.policy.linkerd.io servers.policy.linkerd.io \
        serviceprofiles.linkerd.io externalworkloads.workload.linkerd.io \
        httproutes.gateway.networking.k8s.io grpcroutes.gateway.networking.k8s.io";
    // REFERENCE 4.3, less the heartbeat's SA, ClusterRole, ClusterRoleBinding, Role,
    // RoleBinding and CronJob (stacks/linkerd.yaml: heartbeat false), the CLI-only
    // linkerd-config-overrides Secret, and the issuer and webhook Secrets, which bootstrap
    // creates and the document lists under `secrets`.
    let accounts = "linkerd-identity linkerd-destination linkerd-proxy-injector";
    let roles = "linkerd-linkerd-identity linkerd-linkerd-destination \
        linkerd-linkerd-proxy-injector";
    let services = "linkerd-identity linkerd-identity-headless linkerd-dst linkerd-dst-headless \
        linkerd-sp-validator linkerd-policy linkerd-policy-validator linkerd-proxy-injector";
    keys(&[
        ("Namespace", "", "linkerd"),
        ("CustomResourceDefinition", "", crds),
        ("ServiceAccount", "linkerd", accounts),
        ("Deployment", "linkerd", accounts),
        ("ClusterRole", "", roles),
        ("ClusterRole", "", "linkerd-policy"),
        ("ClusterRoleBinding", "", roles),
        ("ClusterRoleBinding", "", "linkerd-destination-policy"),
        (
            "Role",
            "linkerd",
            "remote-discovery ext-namespace-metadata-linkerd-config",
        ),
        (
            "RoleBinding",
            "linkerd",
            "linkerd-destination-remote-discovery",
        ),
        (
            "ConfigMap",
            "linkerd",
            "linkerd-config linkerd-identity-trust-roots",
        ),
        ("Service", "linkerd", services),
        (
            "MutatingWebhookConfiguration",
            "",
            "linkerd-proxy-injector-webhook-config",
        ),
        (
            "ValidatingWebhookConfiguration",
            "",
            "linkerd-sp-validator-webhook-config linkerd-policy-validator-webhook-config",
        ),
    ])
}

#[test]
fn linkerd_inventory() {
    let (missing, unexpected) = inventory_diff("linkerd", &linkerd_expected());
    assert!(
        unexpected.is_empty(),
        "stack linkerd: rendered but not expected (kind, namespace, name): {unexpected:?}"
    );
    assert!(
        missing.is_empty(),
        "stack linkerd: missing from the render (kind, namespace, name): {missing:?}"
    );
}

#[test]
fn linkerd_renders_the_extension_config_reader_role() {
    let (missing, _) = inventory_diff("linkerd", &linkerd_expected());
    assert!(
        missing.is_empty(),
        "stack linkerd: missing from the render (kind, namespace, name): {missing:?}"
    );
    assert_grants(
        "Role",
        "linkerd",
        "ext-namespace-metadata-linkerd-config",
        &rules(&[("", "configmaps[linkerd-config]", "get")]),
    );
}

#[test]
fn linkerd_namespace_and_crds() {
    // REFERENCE 4.3: the control-plane namespace's labels and annotation.
    let ns = find("Namespace", "", "linkerd");
    for (label, value) in [
        ("linkerd.io/is-control-plane", "true"),
        ("config.linkerd.io/admission-webhooks", "disabled"),
        ("linkerd.io/control-plane-ns", "linkerd"),
        ("pod-security.kubernetes.io/enforce", "privileged"),
    ] {
        assert_eq!(
            ns["metadata"]["labels"][label],
            value,
            "{}: labels {label}",
            id(ns)
        );
    }
    assert_eq!(
        ns["metadata"]["annotations"]["linkerd.io/inject"],
        "disabled",
        "{}: annotations linkerd.io/inject",
        id(ns)
    );
    // REFERENCE 4.2: each CRD's group is the suffix of its name.
    for crd in of_kind("CustomResourceDefinition") {
        let (plural, group) = name(crd).split_once('.').expect("plural.group");
        assert_eq!(crd["spec"]["group"], group, "{}: spec.group", id(crd));
        assert_eq!(
            crd["spec"]["names"]["plural"],
            plural,
            "{}: spec.names.plural",
            id(crd)
        );
    }
    // 2.19+ needs httproutes and grpcroutes serving v1 (REFERENCE 4.2); with gatewayApi
    // if-absent (stacks/linkerd.yaml) bootstrap applies them only where none exist.
    for route in ["httproutes", "grpcroutes"] {
        let crd = find(
            "CustomResourceDefinition",
            "",
            &format!("{route}.gateway.networking.k8s.io"),
        );
        assert!(
            list(&crd["spec"]["versions"])
                .iter()
                .any(|v| v["name"] == "v1" && v["served"] == true),
            "{}: spec.versions: v1 served",
            id(crd)
        );
        assert_eq!(
            crd["metadata"]["annotations"]["obsboot.dev/apply"],
            "if-absent",
            "{}: annotations obsboot.dev/apply",
            id(crd)
        );
    }
}

#[test]
fn no_heartbeat_unless_enabled() {
    // stacks/linkerd.yaml: heartbeat false by default; linkerd-config says so.
    assert_eq!(of_kind("CronJob").count(), 0, "no CronJob by default");
    assert!(
        !objects().iter().any(|o| name(o) == "linkerd-heartbeat"),
        "no linkerd-heartbeat object by default"
    );
    assert_eq!(
        linkerd_values()["disableHeartBeat"],
        true,
        "ConfigMap linkerd/linkerd-config: values.disableHeartBeat"
    );
    // Enabled, it is REFERENCE 4.3's CronJob with 4.5's permissions.
    let scratch = Scratch::new();
    scratch.edit("stacks/linkerd.yaml", "heartbeat: false", "heartbeat: true");
    let stdout = scratch
        .render(&["-o", "json", "--stack", "linkerd"])
        .success();
    let enabled: Value = serde_json::from_str(&stdout).expect("JSON");
    let all = list(&enabled["objects"]);
    let get = |kind: &str, ns: &str| {
        all.iter()
            .find(|o| o["kind"] == kind && namespace(o) == ns && name(o) == "linkerd-heartbeat")
            .unwrap_or_else(|| panic!("heartbeat: true renders no {kind} linkerd-heartbeat"))
    };
    let cronjob = get("CronJob", "linkerd");
    assert_eq!(
        pod(cronjob)["serviceAccountName"],
        "linkerd-heartbeat",
        "{}: serviceAccountName",
        id(cronjob)
    );
    get("ServiceAccount", "linkerd");
    let mut granted = grants(get("ClusterRole", ""));
    granted.extend(grants(get("Role", "linkerd")));
    let expected = rules(&[
        ("", "configmaps[linkerd-config]", "get"),
        ("", "namespaces", "list"),
        ("linkerd.io", "serviceprofiles", "list"),
    ]);
    assert_eq!(
        granted, expected,
        "linkerd-heartbeat: ClusterRole and Role rules"
    );
    for (kind, ns) in [("ClusterRoleBinding", ""), ("RoleBinding", "linkerd")] {
        let binding = get(kind, ns);
        assert_eq!(
            binding["subjects"],
            json!([{"kind": "ServiceAccount", "name": "linkerd-heartbeat", "namespace": "linkerd"}]),
            "{}: subjects",
            id(binding)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Images.
// ---------------------------------------------------------------------------------------------

/// Every container's image as `(workload, "containers/<name>" or "initContainers/<name>",
/// image)`, the workload as `namespace/name`.
fn images() -> BTreeSet<(String, String, String)> {
    let mut out = BTreeSet::new();
    for w in workloads() {
        for list_name in ["initContainers", "containers"] {
            for c in list(&pod(w)[list_name]) {
                out.insert((
                    format!("{}/{}", namespace(w), name(w)),
                    format!("{list_name}/{}", text(&c["name"])),
                    text(&c["image"]).to_owned(),
                ));
            }
        }
    }
    out
}

/// Where a Linkerd proxy runs as a native sidecar (REFERENCE 4.4): an init container that
/// keeps running.
const NATIVE_PROXY: &str = "initContainers/linkerd-proxy";

/// What REFERENCE 1.2, 2.1, 3.1 and 4.1 (with the stack files) say each container runs.
fn expected_images() -> BTreeSet<(String, String, String)> {
    let bookinfo = |image: &str| format!("docker.io/istio/examples-bookinfo-{image}:1.20.3");
    let quay = |image: &str| format!("quay.io/{image}");
    let (proxy, controller) = (linkerd_image("proxy"), linkerd_image("controller"));
    let mut expected = vec![
        // REFERENCE 1.2 (stacks/bookinfo.yaml: registry docker.io/istio).
        (
            "bookinfo/details-v1",
            "containers/details",
            bookinfo("details-v1"),
        ),
        (
            "bookinfo/ratings-v1",
            "containers/ratings",
            bookinfo("ratings-v1"),
        ),
        (
            "bookinfo/reviews-v1",
            "containers/reviews",
            bookinfo("reviews-v1"),
        ),
        (
            "bookinfo/reviews-v2",
            "containers/reviews",
            bookinfo("reviews-v2"),
        ),
        (
            "bookinfo/reviews-v3",
            "containers/reviews",
            bookinfo("reviews-v3"),
        ),
        (
            "bookinfo/productpage-v1",
            "containers/productpage",
            bookinfo("productpage-v1"),
        ),
        // REFERENCE 2.1.
        (
            "monitoring/prometheus",
            "containers/prometheus",
            quay("prometheus/prometheus:v3.14.0"),
        ),
        (
            "monitoring/prometheus",
            "containers/config-reloader",
            quay("prometheus-operator/prometheus-config-reloader:v0.93.1"),
        ),
        (
            "monitoring/kube-state-metrics",
            "containers/kube-state-metrics",
            "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.20.0".to_owned(),
        ),
        (
            "monitoring/node-exporter",
            "containers/node-exporter",
            quay("prometheus/node-exporter:v1.12.1"),
        ),
        // REFERENCE 3.1.
        (
            "grafana/grafana",
            "containers/grafana",
            "docker.io/grafana/grafana:13.2.0".into(),
        ),
        // REFERENCE 4.1: controller and proxy only; since 2.20 proxy-init ships in the proxy.
        (
            "linkerd/linkerd-identity",
            "containers/identity",
            controller.clone(),
        ),
        (
            "linkerd/linkerd-destination",
            "containers/destination",
            controller.clone(),
        ),
        (
            "linkerd/linkerd-destination",
            "containers/sp-validator",
            controller.clone(),
        ),
        (
            "linkerd/linkerd-destination",
            "containers/policy",
            controller.clone(),
        ),
        (
            "linkerd/linkerd-proxy-injector",
            "containers/proxy-injector",
            controller,
        ),
    ];
    // The proxy: a native sidecar but in identity's pod.
    for (workload, proxy_at) in [
        ("linkerd/linkerd-identity", "containers/linkerd-proxy"),
        ("linkerd/linkerd-destination", NATIVE_PROXY),
        ("linkerd/linkerd-proxy-injector", NATIVE_PROXY),
    ] {
        expected.push((workload, "initContainers/linkerd-init", proxy.clone()));
        expected.push((workload, proxy_at, proxy.clone()));
    }
    expected
        .into_iter()
        .map(|(w, c, image)| (w.to_owned(), c.to_owned(), image))
        .collect()
}

#[test]
fn every_container_runs_its_pinned_image() {
    let expected = expected_images();
    let rendered = images();
    let missing: Vec<_> = expected.difference(&rendered).collect();
    let unexpected: Vec<_> = rendered.difference(&expected).collect();
    assert!(
        missing.is_empty() && unexpected.is_empty(),
        "(workload, container, image) expected but not rendered: {missing:?}; rendered but not expected: {unexpected:?}"
    );
    // Pinned tags: nothing to pull again (REFERENCE 1.1; linkerd-config imagePullPolicy).
    for w in workloads() {
        for c in all_containers(w) {
            let policy = &c["imagePullPolicy"];
            let container_name = text(&c["name"]);
            assert_eq!(
                policy,
                "IfNotPresent",
                "{}: container {container_name}: imagePullPolicy",
                id(w)
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Ports and probes.
// ---------------------------------------------------------------------------------------------

#[test]
fn prometheus_server_ports_probes_and_arguments() {
    // REFERENCE 2.3: 9090, ready /-/ready, healthy /-/healthy; the flags; the reloader.
    let server = find("Deployment", "monitoring", "prometheus");
    assert_ports(server, "prometheus", &[("http", 9090)]);
    assert_probe(server, "prometheus", "readinessProbe", "/-/ready", 9090);
    assert_probe(server, "prometheus", "livenessProbe", "/-/healthy", 9090);
    assert_args(
        server,
        "prometheus",
        &[
            "--config.file=/etc/config/prometheus.yml",
            "--storage.tsdb.path=/data",
            "--storage.tsdb.retention.time=15d",
            "--web.enable-lifecycle",
        ],
    );
    assert_mount(server, "prometheus", "config", "/etc/config");
    assert_mount(server, "prometheus", "data", "/data");
    assert_at(
        server,
        "/spec/template/spec/terminationGracePeriodSeconds",
        &json!(300),
    );
    let reloader = container(server, "config-reloader");
    let numbers: Vec<u64> = ports(reloader).into_iter().map(|(_, p)| p).collect();
    assert_eq!(
        numbers,
        [8080],
        "{}: config-reloader: containerPorts",
        id(server)
    );
    assert_probe(server, "config-reloader", "livenessProbe", "/healthz", 8080);
    assert_probe(
        server,
        "config-reloader",
        "readinessProbe",
        "/healthz",
        8080,
    );
    assert_args(
        server,
        "config-reloader",
        &[
            "--watched-dir=/etc/config",
            "--reload-url=http://127.0.0.1:9090/-/reload",
        ],
    );
    assert_mount(server, "config-reloader", "config", "/etc/config");
}

#[test]
fn config_reloader_port_is_named_metrics() {
    let server = find("Deployment", "monitoring", "prometheus");
    assert_ports(server, "config-reloader", &[("metrics", 8080)]);
}

#[test]
fn kube_state_metrics_ports_and_probes() {
    // REFERENCE 2.7: 8080 http (/livez), 8081 metrics (/readyz), both 5 s delay and timeout.
    let ksm = find("Deployment", "monitoring", "kube-state-metrics");
    let c = "kube-state-metrics";
    assert_ports(ksm, c, &[("http", 8080), ("metrics", 8081)]);
    assert_probe(ksm, c, "livenessProbe", "/livez", 8080);
    assert_probe(ksm, c, "readinessProbe", "/readyz", 8081);
    for which in ["livenessProbe", "readinessProbe"] {
        for field in ["initialDelaySeconds", "timeoutSeconds"] {
            let pointer = format!("/spec/template/spec/containers/0/{which}/{field}");
            assert_at(ksm, &pointer, &json!(5));
        }
    }
    assert_args(ksm, c, &["--port=8080"]);
}

#[test]
fn node_exporter_ports_probes_and_host_mounts() {
    // REFERENCE 2.8: 9100 `metrics` on the host's network and PID namespace; / as probe;
    // the host's /proc, /sys and / read-only, / with HostToContainer propagation.
    let exporter = find("DaemonSet", "monitoring", "node-exporter");
    let c = "node-exporter";
    assert_ports(exporter, c, &[("metrics", 9100)]);
    assert_probe(exporter, c, "livenessProbe", "/", 9100);
    assert_probe(exporter, c, "readinessProbe", "/", 9100);
    assert_at(exporter, "/spec/template/spec/hostNetwork", &json!(true));
    assert_at(exporter, "/spec/template/spec/hostPID", &json!(true));
    assert_args(
        exporter,
        c,
        &[
            "--path.procfs=/host/proc",
            "--path.sysfs=/host/sys",
            "--path.rootfs=/host/root",
            "--path.udev.data=/host/root/run/udev/data",
        ],
    );
    for (vol, host, path) in [
        ("proc", "/proc", "/host/proc"),
        ("sys", "/sys", "/host/sys"),
        ("root", "/", "/host/root"),
    ] {
        assert_eq!(
            volume(exporter, vol)["hostPath"]["path"],
            host,
            "{}: volume {vol}",
            id(exporter)
        );
        let mount = list(&container(exporter, c)["volumeMounts"])
            .iter()
            .find(|m| m["name"] == vol)
            .unwrap_or_else(|| panic!("{}: volumeMounts {vol}", id(exporter)));
        assert_eq!(
            mount["mountPath"],
            path,
            "{}: volumeMounts {vol}.mountPath",
            id(exporter)
        );
        assert_eq!(
            mount["readOnly"],
            true,
            "{}: volumeMounts {vol}.readOnly",
            id(exporter)
        );
        let propagation = if vol == "root" {
            json!("HostToContainer")
        } else {
            Value::Null
        };
        assert_eq!(
            mount["mountPropagation"],
            propagation,
            "{}: volumeMounts {vol}.mountPropagation",
            id(exporter)
        );
    }
}

#[test]
fn grafana_ports_probes_and_provisioning() {
    // REFERENCE 3.3/3.6: 3000 `grafana` on host port 30300; /api/health for both probes,
    // liveness 60 s delay, 30 s timeout, 10 failures. The chart's gossip (9094) and
    // profiling (6060) ports are for HA alerting and pprof, neither used by one replica.
    let grafana = find("Deployment", "grafana", "grafana");
    assert_ports(grafana, "grafana", &[("grafana", 3000)]);
    let port = list(&container(grafana, "grafana")["ports"])
        .iter()
        .find(|p| p["name"] == "grafana");
    assert_eq!(
        port.map(|p| &p["hostPort"]),
        Some(&json!(30300)),
        "{}: container grafana: ports[grafana].hostPort",
        id(grafana)
    );
    assert_probe(grafana, "grafana", "readinessProbe", "/api/health", 3000);
    assert_probe(grafana, "grafana", "livenessProbe", "/api/health", 3000);
    let liveness = &container(grafana, "grafana")["livenessProbe"];
    for (field, value) in [
        ("initialDelaySeconds", 60),
        ("timeoutSeconds", 30),
        ("failureThreshold", 10),
    ] {
        assert_eq!(
            liveness[field],
            value,
            "{}: livenessProbe.{field}",
            id(grafana)
        );
    }
    // The provisioned datasource reaches the Prometheus Service on a port it serves.
    let datasources = find("ConfigMap", "grafana", "grafana-datasources");
    let file: Value = serde_yaml::from_str(text(&datasources["data"]["prometheus.yaml"]))
        .expect("ConfigMap monitoring/grafana-datasources: data[prometheus.yaml] is YAML");
    let source = &file["datasources"][0];
    assert_eq!(
        (&source["type"], &source["url"], &source["isDefault"]),
        (
            &json!("prometheus"),
            &json!("http://prometheus.monitoring.svc:9090"),
            &json!(true)
        ),
        "{}: datasources[0] (type, url, isDefault)",
        id(datasources)
    );
    let service = find("Service", "monitoring", "prometheus");
    assert!(
        list(&service["spec"]["ports"])
            .iter()
            .any(|p| p["port"] == 9090),
        "{}: spec.ports: 9090",
        id(service)
    );
    // The dashboard provider reads the directory the dashboards ConfigMap is mounted at.
    let providers = find("ConfigMap", "grafana", "grafana-dashboard-providers");
    let file: Value = serde_yaml::from_str(text(&providers["data"]["obsboot.yaml"])).expect("YAML");
    let path = text(&file["providers"][0]["options"]["path"]);
    assert_eq!(
        mount_path(container(grafana, "grafana"), "dashboards"),
        path,
        "{}: volumeMounts dashboards vs the provider's options.path",
        id(grafana)
    );
    assert_eq!(
        volume(grafana, "dashboards")["configMap"]["name"],
        "grafana-dashboards"
    );
}

#[test]
fn linkerd_controller_ports_and_probes() {
    // REFERENCE 4.4 (probe paths: /ping for liveness, /ready for readiness; policy /live).
    let identity = find("Deployment", "linkerd", "linkerd-identity");
    assert_ports(
        identity,
        "identity",
        &[("ident-grpc", 8080), ("ident-admin", 9990)],
    );
    assert_probe(identity, "identity", "livenessProbe", "/ping", 9990);
    assert_probe(identity, "identity", "readinessProbe", "/ready", 9990);
    let destination = find("Deployment", "linkerd", "linkerd-destination");
    assert_ports(
        destination,
        "destination",
        &[("dest-grpc", 8086), ("dest-admin", 9996)],
    );
    assert_probe(destination, "destination", "livenessProbe", "/ping", 9996);
    assert_probe(destination, "destination", "readinessProbe", "/ready", 9996);
    assert_ports(
        destination,
        "sp-validator",
        &[("sp-validator", 8443), ("spval-admin", 9997)],
    );
    assert_probe(destination, "sp-validator", "livenessProbe", "/ping", 9997);
    assert_probe(
        destination,
        "sp-validator",
        "readinessProbe",
        "/ready",
        9997,
    );
    assert_ports(
        destination,
        "policy",
        &[
            ("policy-grpc", 8090),
            ("policy-admin", 9990),
            ("policy-https", 9443),
        ],
    );
    assert_probe(destination, "policy", "livenessProbe", "/live", 9990);
    assert_probe(destination, "policy", "readinessProbe", "/ready", 9990);
    let injector = find("Deployment", "linkerd", "linkerd-proxy-injector");
    assert_ports(
        injector,
        "proxy-injector",
        &[("proxy-injector", 8443), ("injector-admin", 9995)],
    );
    assert_probe(injector, "proxy-injector", "livenessProbe", "/ping", 9995);
    assert_probe(injector, "proxy-injector", "readinessProbe", "/ready", 9995);
    // REFERENCE 4.4: identity's and the policy controller's arguments.
    assert_args(
        identity,
        "identity",
        &[
            "identity",
            "-controller-namespace=linkerd",
            "-identity-trust-domain=cluster.local",
            "-identity-issuance-lifetime=24h0m0s",
            "-identity-clock-skew-allowance=20s",
            "-identity-scheme=linkerd.io/tls",
        ],
    );
    assert!(
        !env(container(identity, "identity"), "LINKERD_DISABLED").is_null(),
        "{}: container identity: env LINKERD_DISABLED",
        id(identity)
    );
    let policy = container(destination, "policy");
    // REFERENCE 4.1: the policy controller lives in the controller image since 2.19.
    assert_eq!(
        policy["command"],
        json!(["/linkerd-policy-controller"]),
        "{}: policy: command",
        id(destination)
    );
    assert_args(
        destination,
        "policy",
        &[
            "--cluster-networks=10.0.0.0/8,100.64.0.0/10,172.16.0.0/12,192.168.0.0/16,fd00::/8",
            "--default-policy=all-unauthenticated",
            "--probe-networks=0.0.0.0/0,::/0",
        ],
    );
}

#[test]
fn linkerd_proxies() {
    for workload in [
        "linkerd-identity",
        "linkerd-destination",
        "linkerd-proxy-injector",
    ] {
        let w = find("Deployment", "linkerd", workload);
        // REFERENCE 4.4: 4143 inbound, 4191 admin; /live and /ready on 4191.
        assert_ports(
            w,
            "linkerd-proxy",
            &[("linkerd-proxy", 4143), ("linkerd-admin", 4191)],
        );
        assert_probe(w, "linkerd-proxy", "livenessProbe", "/live", 4191);
        assert_probe(w, "linkerd-proxy", "readinessProbe", "/ready", 4191);
        // REFERENCE 4.4 and templates/linkerd/_mesh.j2: with nativeSidecar (the default) the
        // proxy is an init container that keeps running, started (its startup probe passed)
        // before the controllers; identity's proxy stays an ordinary container, as upstream,
        // for it needs the identity container running to get its certificate.
        let native = workload != "linkerd-identity";
        let where_ = if native {
            "initContainers"
        } else {
            "containers"
        };
        assert!(
            list(&pod(w)[where_])
                .iter()
                .any(|c| c["name"] == "linkerd-proxy"),
            "{}: {where_}: linkerd-proxy",
            id(w)
        );
        let proxy = container(w, "linkerd-proxy");
        if native {
            assert_eq!(
                proxy["restartPolicy"],
                "Always",
                "{}: linkerd-proxy: restartPolicy",
                id(w)
            );
            assert_probe(w, "linkerd-proxy", "startupProbe", "/ready", 4191);
            assert_eq!(
                (
                    &proxy["startupProbe"]["periodSeconds"],
                    &proxy["startupProbe"]["failureThreshold"]
                ),
                (&json!(1), &json!(120)),
                "{}: linkerd-proxy: startupProbe period and failures",
                id(w)
            );
            assert!(
                proxy["lifecycle"].is_null(),
                "{}: linkerd-proxy: no postStart hook",
                id(w)
            );
        } else {
            assert!(
                proxy["restartPolicy"].is_null() && proxy["startupProbe"].is_null(),
                "{}: linkerd-proxy: an ordinary container",
                id(w)
            );
        }
        let local_name = "$(_pod_sa).$(_pod_ns).serviceaccount.identity.linkerd.cluster.local";
        assert_env(
            w,
            proxy,
            "LINKERD2_PROXY_IDENTITY_LOCAL_NAME",
            &json!(local_name),
        );
        assert_env(
            w,
            proxy,
            "LINKERD2_PROXY_INBOUND_IPS",
            &json!({"fieldRef": {"fieldPath": "status.podIPs"}}),
        );
        // Control-plane proxies read the anchors from the trust-roots ConfigMap.
        assert_env(
            w,
            proxy,
            "LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS",
            &json!({"configMapKeyRef": {"name": "linkerd-identity-trust-roots", "key": "ca-bundle.crt"}}),
        );
        // The proxy's identity token and certificate directory.
        assert_mount(
            w,
            "linkerd-proxy",
            "linkerd-identity-token",
            "/var/run/secrets/tokens",
        );
        assert_mount(
            w,
            "linkerd-proxy",
            "linkerd-identity-end-entity",
            "/var/run/linkerd/identity/end-entity",
        );
        assert_eq!(
            volume(w, "linkerd-identity-token")["projected"]["sources"][0]["serviceAccountToken"],
            json!({"audience": "identity.l5d.io", "expirationSeconds": 86400, "path": "linkerd-identity-token"}),
            "{}: volume linkerd-identity-token",
            id(w)
        );
        assert_eq!(
            volume(w, "linkerd-identity-end-entity")["emptyDir"],
            json!({"medium": "Memory"}),
            "{}: volume linkerd-identity-end-entity",
            id(w)
        );
    }
}

#[test]
fn linkerd_proxy_addresses() {
    // The injector's proxy finds the control plane by its Services (REFERENCE 4.4); identity's
    // own proxy asks identity next door and takes only mTLS on 8080.
    let injector = find("Deployment", "linkerd", "linkerd-proxy-injector");
    for (var, value) in [
        (
            "LINKERD2_PROXY_DESTINATION_SVC_ADDR",
            "linkerd-dst-headless.linkerd.svc.cluster.local.:8086",
        ),
        (
            "LINKERD2_PROXY_POLICY_SVC_ADDR",
            "linkerd-policy.linkerd.svc.cluster.local.:8090",
        ),
        (
            "LINKERD2_PROXY_IDENTITY_SVC_ADDR",
            "linkerd-identity-headless.linkerd.svc.cluster.local.:8080",
        ),
    ] {
        assert_env(
            injector,
            container(injector, "linkerd-proxy"),
            var,
            &json!(value),
        );
    }
    let identity = find("Deployment", "linkerd", "linkerd-identity");
    let proxy = container(identity, "linkerd-proxy");
    assert_env(
        identity,
        proxy,
        "LINKERD2_PROXY_IDENTITY_SVC_ADDR",
        &json!("localhost.:8080"),
    );
    assert_env(
        identity,
        proxy,
        "LINKERD2_PROXY_INBOUND_PORTS_REQUIRE_TLS",
        &json!("8080"),
    );
}

#[test]
fn linkerd_init_containers() {
    // REFERENCE 4.1/4.4: proxy-init from the proxy image, nft mode (2.19+), redirecting to the
    // proxy's ports, the control plane reaching the API server directly.
    for workload in [
        "linkerd-identity",
        "linkerd-destination",
        "linkerd-proxy-injector",
    ] {
        let w = find("Deployment", "linkerd", workload);
        let names: Vec<&str> = list(&pod(w)["initContainers"])
            .iter()
            .map(|c| text(&c["name"]))
            .collect();
        // The native-sidecar proxy follows linkerd-init, so its traffic is redirected first.
        let expected: &[&str] = if workload == "linkerd-identity" {
            &["linkerd-init"]
        } else {
            &["linkerd-init", "linkerd-proxy"]
        };
        assert_eq!(names, expected, "{}: initContainers", id(w));
        let init = container(w, "linkerd-init");
        assert_eq!(
            init["command"],
            json!(["/usr/lib/linkerd/linkerd2-proxy-init"]),
            "{}: linkerd-init: command",
            id(w)
        );
        let args = texts(&init["args"]).join(" ");
        for flags in [
            "--firewall-bin-path iptables-nft",
            "--firewall-save-bin-path iptables-nft-save",
            "--incoming-proxy-port 4143",
            "--outgoing-proxy-port 4140",
            "--proxy-uid 2102",
            "--inbound-ports-to-ignore 4190,4191,4567,4568",
            "--outbound-ports-to-ignore 443,6443",
        ] {
            assert!(
                args.contains(flags),
                "{}: linkerd-init: args {flags}",
                id(w)
            );
        }
        assert_mount(w, "linkerd-init", "linkerd-proxy-init-xtables-lock", "/run");
    }
}

#[test]
fn bookinfo_ports_and_probes() {
    // REFERENCE 1.1: one container on 9080; the template adds readiness on /health (1.3),
    // so that ready means serving.
    for workload in [
        "details-v1",
        "ratings-v1",
        "reviews-v1",
        "reviews-v2",
        "reviews-v3",
        "productpage-v1",
    ] {
        let w = find("Deployment", "bookinfo", workload);
        let app = workload.split('-').next().expect("app-version");
        assert_ports(w, app, &[("http", 9080)]);
        assert_probe(w, app, "readinessProbe", "/health", 9080);
    }
}

/// A Service as `(namespace, name, headless, [(port name, port, target port number)])`.
type ServicePorts = (
    &'static str,
    &'static str,
    bool,
    &'static [(&'static str, u64, u64)],
);

const SERVICES: [ServicePorts; 16] = [
    // REFERENCE 1.1: 9080 `http` each.
    ("bookinfo", "details", false, &[("http", 9080, 9080)]),
    ("bookinfo", "ratings", false, &[("http", 9080, 9080)]),
    ("bookinfo", "reviews", false, &[("http", 9080, 9080)]),
    ("bookinfo", "productpage", false, &[("http", 9080, 9080)]),
    // The chart's Prometheus and Grafana Services listen on 80; obsboot keeps the container
    // ports (9090, 3000), which its Grafana datasource URL uses.
    ("monitoring", "prometheus", false, &[("http", 9090, 9090)]),
    ("grafana", "grafana", false, &[("http", 3000, 3000)]),
    // REFERENCE 2.7/2.8 (node-exporter's headless: Prometheus scrapes each endpoint).
    (
        "monitoring",
        "kube-state-metrics",
        false,
        &[("http", 8080, 8080)],
    ),
    (
        "monitoring",
        "node-exporter",
        true,
        &[("metrics", 9100, 9100)],
    ),
    // REFERENCE 4.3.
    (
        "linkerd",
        "linkerd-identity",
        false,
        &[("grpc", 8080, 8080)],
    ),
    (
        "linkerd",
        "linkerd-identity-headless",
        true,
        &[("grpc", 8080, 8080)],
    ),
    ("linkerd", "linkerd-dst", false, &[("grpc", 8086, 8086)]),
    (
        "linkerd",
        "linkerd-dst-headless",
        true,
        &[("grpc", 8086, 8086)],
    ),
    (
        "linkerd",
        "linkerd-sp-validator",
        false,
        &[("sp-validator", 443, 8443)],
    ),
    ("linkerd", "linkerd-policy", true, &[("grpc", 8090, 8090)]),
    (
        "linkerd",
        "linkerd-policy-validator",
        false,
        &[("policy-https", 443, 9443)],
    ),
    (
        "linkerd",
        "linkerd-proxy-injector",
        false,
        &[("proxy-injector", 443, 8443)],
    ),
];

/// A Service's ports as `(name, port, target port number)`, the target resolved in every pod
/// the Service selects (the reviews Service selects three Deployments).
fn service_ports(service: &Value) -> BTreeSet<(String, u64, u64)> {
    let mut out = BTreeSet::new();
    for backend in selected_workloads(service) {
        for p in list(&service["spec"]["ports"]) {
            let target = list(&pod(backend)["containers"])
                .iter()
                .find_map(|c| port_number(c, &p["targetPort"]))
                .unwrap_or_else(|| {
                    panic!(
                        "{}: targetPort {} is no container port of {}",
                        id(service),
                        p["targetPort"],
                        id(backend)
                    )
                });
            let port = p["port"].as_u64().unwrap_or_default();
            out.insert((text(&p["name"]).to_owned(), port, target));
        }
    }
    out
}

#[test]
fn services_ports() {
    assert_eq!(
        of_kind("Service").count(),
        SERVICES.len(),
        "Services rendered"
    );
    for (ns, service_name, headless, expected) in SERVICES {
        let service = find("Service", ns, service_name);
        let cluster_ip = if headless { json!("None") } else { Value::Null };
        assert_at(service, "/spec/clusterIP", &cluster_ip);
        let expected: BTreeSet<(String, u64, u64)> = expected
            .iter()
            .map(|(n, p, t)| ((*n).to_owned(), *p, *t))
            .collect();
        assert_eq!(
            service_ports(service),
            expected,
            "{}: spec.ports (name, port, targetPort resolved in the selected pods)",
            id(service)
        );
    }
    // REFERENCE 2.7/2.8: the exporters' Services are annotated for scraping; 4.3: the
    // injector's Service is opaque on 443.
    for (ns, service_name, key, value) in [
        (
            "monitoring",
            "kube-state-metrics",
            "prometheus.io/scrape",
            "true",
        ),
        (
            "monitoring",
            "node-exporter",
            "prometheus.io/scrape",
            "true",
        ),
        (
            "linkerd",
            "linkerd-proxy-injector",
            "config.linkerd.io/opaque-ports",
            "443",
        ),
    ] {
        let service = find("Service", ns, service_name);
        let annotation = &service["metadata"]["annotations"][key];
        assert_eq!(annotation, value, "{}: annotations {key}", id(service));
    }
}

/// The workloads in a Service's namespace whose pod labels its selector matches (at least one).
fn selected_workloads(service: &Value) -> Vec<&'static Value> {
    let selector = service["spec"]["selector"].as_object().expect("a selector");
    let matching: Vec<&Value> = workloads()
        .filter(|w| namespace(w) == namespace(service))
        .filter(|w| {
            let labels = &w["spec"]["template"]["metadata"]["labels"];
            selector.iter().all(|(k, v)| &labels[k] == v)
        })
        .collect();
    assert!(
        !matching.is_empty(),
        "{}: spec.selector matches no workload's pods",
        id(service)
    );
    matching
}

// ---------------------------------------------------------------------------------------------
// Security contexts and Pod Security.
// ---------------------------------------------------------------------------------------------

/// What REFERENCE 2.7, 3.3 and 4.4 call "hardened": drop ALL, no privilege escalation.
fn locked_down() -> Value {
    json!({"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}})
}

#[test]
fn prometheus_security_contexts() {
    // REFERENCE 2.3: the server runs as 65534, non-root, fsGroup 65534.
    let server = find("Deployment", "monitoring", "prometheus");
    assert_pod_security(server, &json!({"fsGroup": 65534}));
    for c in ["prometheus", "config-reloader"] {
        assert_security(
            server,
            c,
            &json!({"runAsUser": 65534, "runAsGroup": 65534, "runAsNonRoot": true}),
        );
    }
    // REFERENCE 2.7.
    let ksm = find("Deployment", "monitoring", "kube-state-metrics");
    assert_pod_security(
        ksm,
        &json!({"runAsUser": 65534, "runAsGroup": 65534, "runAsNonRoot": true, "fsGroup": 65534, "seccompProfile": {"type": "RuntimeDefault"}}),
    );
    assert_security(
        ksm,
        "kube-state-metrics",
        &json!({"readOnlyRootFilesystem": true}),
    );
    assert_security(ksm, "kube-state-metrics", &locked_down());
    // REFERENCE 2.8.
    let exporter = find("DaemonSet", "monitoring", "node-exporter");
    assert_security(
        exporter,
        "node-exporter",
        &json!({"runAsUser": 65534, "runAsGroup": 65534, "runAsNonRoot": true, "readOnlyRootFilesystem": true}),
    );
}

#[test]
fn grafana_security_context() {
    // REFERENCE 3.3.
    let grafana = find("Deployment", "grafana", "grafana");
    assert_pod_security(grafana, &json!({"fsGroup": 472}));
    assert_security(
        grafana,
        "grafana",
        &json!({"runAsUser": 472, "runAsGroup": 472, "runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}}),
    );
    assert_security(grafana, "grafana", &locked_down());
}

#[test]
fn linkerd_security_contexts() {
    // REFERENCE 4.4.
    let controller = json!({
        "runAsUser": 2103, "runAsNonRoot": true, "readOnlyRootFilesystem": true,
        "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    });
    let proxy = json!({"runAsUser": 2102, "readOnlyRootFilesystem": true, "capabilities": {"drop": ["ALL"]}});
    let init = json!({
        "capabilities": {"add": ["NET_ADMIN", "NET_RAW"]}, "privileged": false,
        "runAsUser": 65534, "runAsGroup": 65534, "runAsNonRoot": true, "readOnlyRootFilesystem": true,
    });
    for (workload, controllers) in [
        ("linkerd-identity", &["identity"][..]),
        (
            "linkerd-destination",
            &["destination", "sp-validator", "policy"][..],
        ),
        ("linkerd-proxy-injector", &["proxy-injector"][..]),
    ] {
        let w = find("Deployment", "linkerd", workload);
        for c in controllers {
            assert_security(w, c, &controller);
        }
        assert_security(w, "linkerd-proxy", &proxy);
        assert_security(w, "linkerd-init", &init);
    }
}

#[test]
fn bookinfo_security_contexts() {
    // templates/bookinfo/deployments: hardened for the restricted level (the images run as
    // users 1000/1001, REFERENCE 1.2).
    for w in workloads().filter(|w| namespace(w) == "bookinfo") {
        let app = name(w).split('-').next().expect("app-version");
        assert_security(
            w,
            app,
            &json!({"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}}),
        );
        assert_security(w, app, &locked_down());
    }
}

#[test]
fn only_linkerd_init_gains_privileges_and_only_node_exporter_uses_the_host() {
    for w in workloads() {
        for c in all_containers(w) {
            let container_name = text(&c["name"]);
            assert_ne!(
                c["securityContext"]["privileged"],
                true,
                "{}: container {container_name}: securityContext.privileged",
                id(w)
            );
            let added = &c["securityContext"]["capabilities"]["add"];
            if container_name == "linkerd-init" {
                assert_eq!(
                    added,
                    &json!(["NET_ADMIN", "NET_RAW"]),
                    "{}: linkerd-init: capabilities.add",
                    id(w)
                );
            } else {
                assert!(
                    added.is_null(),
                    "{}: container {container_name}: capabilities.add",
                    id(w)
                );
            }
        }
        let host = (namespace(w), name(w)) == ("monitoring", "node-exporter");
        for field in ["hostNetwork", "hostPID"] {
            assert_eq!(pod(w)[field] == true, host, "{}: {field}", id(w));
        }
        let host_path = list(&pod(w)["volumes"])
            .iter()
            .any(|v| !v["hostPath"].is_null());
        assert_eq!(host_path, host, "{}: hostPath volumes", id(w));
    }
}

#[test]
fn pod_security_label_of_each_namespace() {
    // linkerd: REFERENCE 4.3. monitoring: node-exporter's host network, PID and hostPath
    // volumes are allowed by the privileged level only. grafana: Grafana's hardened pod passes
    // restricted. bookinfo: meshed (stacks/bookinfo.yaml mesh: true), so the injected
    // linkerd-init adds NET_ADMIN/NET_RAW, which baseline and restricted reject (REFERENCE 4.4).
    let expected = [
        ("linkerd", "privileged"),
        ("monitoring", "privileged"),
        ("grafana", "restricted"),
        ("bookinfo", "privileged"),
    ];
    assert_eq!(
        of_kind("Namespace").count(),
        expected.len(),
        "Namespaces rendered"
    );
    for (ns, level) in expected {
        let object = find("Namespace", "", ns);
        assert_eq!(
            object["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
            level,
            "{}: labels pod-security.kubernetes.io/enforce",
            id(object)
        );
    }
    let bookinfo = find("Namespace", "", "bookinfo");
    assert_eq!(
        bookinfo["metadata"]["annotations"]["linkerd.io/inject"],
        "enabled",
        "{}: annotations linkerd.io/inject (an annotation, not a label: REFERENCE 4.7)",
        id(bookinfo)
    );
    assert!(
        bookinfo["metadata"]["labels"]
            .get("linkerd.io/inject")
            .is_none(),
        "{}: labels linkerd.io/inject",
        id(bookinfo)
    );
}

#[test]
fn api_credentials_only_where_needed() {
    // Prometheus reads its token and CA (REFERENCE 2.3) and kube-state-metrics lists the API:
    // both keep the default token mount. node-exporter, Grafana (REFERENCE 3.3) and Bookinfo
    // never call the API and mount none (their templates). Linkerd's pods mount an explicit
    // projected `kube-api-access` into the controllers instead (REFERENCE 4.4).
    for (ns, account, automount) in [
        ("monitoring", "prometheus", true),
        ("monitoring", "kube-state-metrics", true),
        ("monitoring", "node-exporter", false),
        ("grafana", "grafana", false),
        ("bookinfo", "bookinfo-details", false),
        ("bookinfo", "bookinfo-ratings", false),
        ("bookinfo", "bookinfo-reviews", false),
        ("bookinfo", "bookinfo-productpage", false),
    ] {
        let sa = find("ServiceAccount", ns, account);
        let effective = sa["automountServiceAccountToken"] != false;
        assert_eq!(
            effective,
            automount,
            "{}: automountServiceAccountToken",
            id(sa)
        );
        for w in
            workloads().filter(|w| namespace(w) == ns && pod(w)["serviceAccountName"] == account)
        {
            let mounted = match &pod(w)["automountServiceAccountToken"] {
                Value::Bool(value) => *value,
                _ => effective,
            };
            assert_eq!(
                mounted,
                automount,
                "{}: automountServiceAccountToken (pod or account)",
                id(w)
            );
        }
    }
    for (workload, controllers) in [
        ("linkerd-identity", &["identity"][..]),
        (
            "linkerd-destination",
            &["destination", "sp-validator", "policy"][..],
        ),
        ("linkerd-proxy-injector", &["proxy-injector"][..]),
    ] {
        let w = find("Deployment", "linkerd", workload);
        assert_eq!(
            pod(w)["automountServiceAccountToken"],
            false,
            "{}: automountServiceAccountToken",
            id(w)
        );
        assert_eq!(
            pod(w)["serviceAccountName"],
            workload,
            "{}: serviceAccountName",
            id(w)
        );
        assert_eq!(
            pod(w)["nodeSelector"],
            json!({"kubernetes.io/os": "linux"}),
            "{}: nodeSelector",
            id(w)
        );
        assert!(
            !volume(w, "kube-api-access")["projected"].is_null(),
            "{}: volume kube-api-access is projected",
            id(w)
        );
        for c in controllers {
            assert_eq!(
                mount_path(container(w, c), "kube-api-access"),
                "/var/run/secrets/kubernetes.io/serviceaccount",
                "{}: container {c}: volumeMounts kube-api-access",
                id(w)
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// RBAC.
// ---------------------------------------------------------------------------------------------

/// kube-state-metrics' resources (REFERENCE 2.7) by API group, without `secrets`
/// (templates/prometheus/kube-state-metrics: reading every Secret is not worth its metrics).
const KSM_RESOURCES: [(&str, &str); 12] = [
    (
        "",
        "configmaps limitranges namespaces nodes persistentvolumeclaims",
    ),
    (
        "",
        "persistentvolumes pods replicationcontrollers resourcequotas services",
    ),
    (
        "admissionregistration.k8s.io",
        "mutatingwebhookconfigurations validatingwebhookconfigurations",
    ),
    ("apps", "daemonsets deployments replicasets statefulsets"),
    ("autoscaling", "horizontalpodautoscalers"),
    ("batch", "cronjobs jobs"),
    ("certificates.k8s.io", "certificatesigningrequests"),
    ("coordination.k8s.io", "leases"),
    ("discovery.k8s.io", "endpointslices"),
    ("networking.k8s.io", "ingresses networkpolicies"),
    ("policy", "poddisruptionbudgets"),
    ("storage.k8s.io", "storageclasses volumeattachments"),
];

#[test]
fn prometheus_rbac_rules() {
    // REFERENCE 2.5, less ingresses (obsboot probes no Ingress: no blackbox exporter, 2.6
    // item 7) and configmaps, and without nodes/proxy (kubelets are scraped directly on
    // :10250 as nodes/metrics): templates/prometheus/rbac says "Nothing else".
    let mut expected = rules(&[
        (
            "",
            "nodes nodes/metrics services endpoints pods",
            "get list watch",
        ),
        ("discovery.k8s.io", "endpointslices", "get list watch"),
    ]);
    expected.insert(("nonResourceURL".into(), "/metrics".into(), "get".into()));
    assert_grants("ClusterRole", "", "obsboot-prometheus", &expected);
    let ksm: Vec<Rule> = KSM_RESOURCES
        .iter()
        .map(|(group, resources)| (*group, *resources, "list watch"))
        .collect();
    assert_grants(
        "ClusterRole",
        "",
        "obsboot-kube-state-metrics",
        &rules(&ksm),
    );
    // It collects exactly what it may list (a collector without permission fails).
    let deployment = find("Deployment", "monitoring", "kube-state-metrics");
    let args = texts(&container(deployment, "kube-state-metrics")["args"]);
    let collectors: BTreeSet<&str> = args
        .iter()
        .find_map(|a| a.strip_prefix("--resources="))
        .unwrap_or_else(|| panic!("{}: args --resources", id(deployment)))
        .split(',')
        .collect();
    let allowed: BTreeSet<&str> = KSM_RESOURCES
        .iter()
        .flat_map(|(_, r)| r.split_whitespace())
        .collect();
    assert_eq!(collectors, allowed, "{}: args --resources", id(deployment));
}

#[test]
fn monitoring_accounts_read_no_secrets_and_write_nothing() {
    for account in ["prometheus", "kube-state-metrics"] {
        let granted = account_grants("monitoring", account);
        assert!(
            !granted.is_empty(),
            "ServiceAccount monitoring/{account}: bound to no role"
        );
        for (group, resource, verb) in &granted {
            let group = if group.is_empty() { "core" } else { group };
            assert!(
                !["secrets", "*"].contains(&resource.split('[').next().unwrap_or_default())
                    && group != "*",
                "ServiceAccount monitoring/{account}: may {verb} {group}/{resource}"
            );
            assert!(
                ["get", "list", "watch"].contains(&verb.as_str()),
                "ServiceAccount monitoring/{account}: may {verb} {group}/{resource}"
            );
        }
    }
    for account in ["node-exporter", "grafana"] {
        assert_eq!(
            account_grants("monitoring", account),
            BTreeSet::new(),
            "ServiceAccount monitoring/{account}: grants"
        );
    }
}

#[test]
fn linkerd_rbac_rules() {
    // REFERENCE 4.5.
    let read = "list get watch";
    let identity = [
        ("authentication.k8s.io", "tokenreviews", "create"),
        ("", "events", "create patch"),
    ];
    assert_grants(
        "ClusterRole",
        "",
        "linkerd-linkerd-identity",
        &rules(&identity),
    );
    let destination = [
        ("apps", "replicasets", read),
        ("batch", "jobs", read),
        ("", "pods endpoints services nodes", read),
        ("linkerd.io", "serviceprofiles", read),
        ("workload.linkerd.io", "externalworkloads", read),
        ("coordination.k8s.io", "leases", "create get update patch"),
        (
            "discovery.k8s.io",
            "endpointslices",
            "list get watch create update patch delete",
        ),
    ];
    assert_grants(
        "ClusterRole",
        "",
        "linkerd-linkerd-destination",
        &rules(&destination),
    );
    // Every policy.linkerd.io kind (REFERENCE 4.2) and every Gateway API route kind.
    let policy_kinds = "authorizationpolicies egressnetworks httplocalratelimitpolicies \
        httproutes meshtlsauthentications networkauthentications serverauthorizations servers";
    let policy = [
        ("", "pods", read),
        ("apps", "deployments", "get"),
        ("policy.linkerd.io", policy_kinds, read),
        (
            "policy.linkerd.io",
            "httproutes/status httplocalratelimitpolicies/status egressnetworks/status",
            "patch",
        ),
        (
            "gateway.networking.k8s.io",
            "httproutes grpcroutes tlsroutes tcproutes",
            read,
        ),
        (
            "gateway.networking.k8s.io",
            "httproutes/status grpcroutes/status tlsroutes/status tcproutes/status",
            "patch",
        ),
        ("workload.linkerd.io", "externalworkloads", read),
        ("coordination.k8s.io", "leases", "create get patch"),
    ];
    assert_grants("ClusterRole", "", "linkerd-policy", &rules(&policy));
    let discovery = [("", "secrets", read)];
    assert_grants("Role", "linkerd", "remote-discovery", &rules(&discovery));
    let injector = [
        ("", "events", "create patch"),
        ("", "namespaces replicationcontrollers", read),
        ("", "pods", "list watch"),
        (
            "apps",
            "deployments replicasets daemonsets statefulsets",
            read,
        ),
        ("batch", "cronjobs jobs", read),
    ];
    assert_grants(
        "ClusterRole",
        "",
        "linkerd-linkerd-proxy-injector",
        &rules(&injector),
    );
}

#[test]
fn linkerd_bindings() {
    // Who gets what (REFERENCE 4.5): policy and remote discovery go to the destination account.
    for (kind, ns, binding, account) in [
        (
            "ClusterRoleBinding",
            "",
            "linkerd-linkerd-identity",
            "linkerd-identity",
        ),
        (
            "ClusterRoleBinding",
            "",
            "linkerd-linkerd-destination",
            "linkerd-destination",
        ),
        (
            "ClusterRoleBinding",
            "",
            "linkerd-destination-policy",
            "linkerd-destination",
        ),
        (
            "RoleBinding",
            "linkerd",
            "linkerd-destination-remote-discovery",
            "linkerd-destination",
        ),
        (
            "ClusterRoleBinding",
            "",
            "linkerd-linkerd-proxy-injector",
            "linkerd-proxy-injector",
        ),
    ] {
        let object = find(kind, ns, binding);
        let subject = json!([{"kind": "ServiceAccount", "name": account, "namespace": "linkerd"}]);
        assert_at(object, "/subjects", &subject);
    }
    for (binding, role) in [
        ("linkerd-linkerd-identity", "linkerd-linkerd-identity"),
        ("linkerd-linkerd-destination", "linkerd-linkerd-destination"),
        ("linkerd-destination-policy", "linkerd-policy"),
        (
            "linkerd-linkerd-proxy-injector",
            "linkerd-linkerd-proxy-injector",
        ),
    ] {
        let object = find("ClusterRoleBinding", "", binding);
        assert_at(object, "/roleRef/kind", &json!("ClusterRole"));
        assert_at(object, "/roleRef/name", &json!(role));
    }
    let discovery = find(
        "RoleBinding",
        "linkerd",
        "linkerd-destination-remote-discovery",
    );
    assert_at(
        discovery,
        "/roleRef",
        &json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "remote-discovery"}),
    );
}

#[test]
fn every_binding_binds_its_own_stack_account() {
    let mut seen = 0;
    for binding in bindings() {
        seen += 1;
        let what = id(binding);
        assert_eq!(
            binding["roleRef"]["apiGroup"], "rbac.authorization.k8s.io",
            "{what}: roleRef.apiGroup"
        );
        let role = bound_role(binding);
        assert_eq!(
            stack(role),
            stack(binding),
            "{what}: roleRef {} belongs to another stack",
            id(role)
        );
        let subjects = list(&binding["subjects"]);
        assert!(!subjects.is_empty(), "{what}: subjects");
        for subject in subjects {
            assert_eq!(subject["kind"], "ServiceAccount", "{what}: subjects[].kind");
            let account = find(
                "ServiceAccount",
                text(&subject["namespace"]),
                text(&subject["name"]),
            );
            assert_eq!(
                stack(account),
                stack(binding),
                "{what}: subject {} belongs to another stack",
                id(account)
            );
        }
    }
    assert_eq!(seen, 7, "bindings rendered (Prometheus 2, Linkerd 5)");
}

// ---------------------------------------------------------------------------------------------
// Placement.
// ---------------------------------------------------------------------------------------------

/// The control plane's two taints, tolerated by pinned and all-nodes workloads (REFERENCE 5;
/// stacks/cluster.yaml).
fn control_plane_tolerations() -> BTreeSet<String> {
    [
        "node-role.kubernetes.io/control-plane",
        "node-role.kubernetes.io/master",
    ]
    .iter()
    .map(|key| json!({"key": key, "operator": "Exists", "effect": "NoSchedule"}).to_string())
    .collect()
}

#[test]
fn placement_of_every_workload() {
    // stacks/*.yaml: Prometheus, Grafana and productpage on the control-plane node;
    // node-exporter on every node; the rest anywhere.
    let pinned = [
        ("monitoring", "prometheus"),
        ("grafana", "grafana"),
        ("bookinfo", "productpage-v1"),
    ];
    for w in workloads() {
        let key = (namespace(w), name(w));
        let pod = pod(w);
        let tolerations: BTreeSet<String> = list(&pod["tolerations"])
            .iter()
            .map(Value::to_string)
            .collect();
        if pinned.contains(&key) {
            assert_eq!(
                pod["nodeSelector"],
                json!({ CONTROL_PLANE_LABEL: "" }),
                "{}: nodeSelector",
                id(w)
            );
            assert_eq!(
                tolerations,
                control_plane_tolerations(),
                "{}: tolerations",
                id(w)
            );
        } else if key == ("monitoring", "node-exporter") {
            assert!(pod["nodeSelector"].is_null(), "{}: nodeSelector", id(w));
            assert_eq!(
                tolerations,
                control_plane_tolerations(),
                "{}: tolerations",
                id(w)
            );
        } else {
            assert!(tolerations.is_empty(), "{}: tolerations", id(w));
            // Linkerd's controllers keep upstream's OS selector (REFERENCE 4.4), nothing more.
            let selector = if namespace(w) == "linkerd" {
                json!({"kubernetes.io/os": "linux"})
            } else {
                Value::Null
            };
            assert_eq!(pod["nodeSelector"], selector, "{}: nodeSelector", id(w));
        }
    }
}

#[test]
fn deployment_strategies() {
    // Host ports on one eligible node cannot surge (REFERENCE 1.5): Grafana and productpage
    // Recreate; so does Prometheus, lest two pods open one data directory
    // (templates/prometheus/server). The others roll.
    let recreate = [
        ("monitoring", "prometheus"),
        ("grafana", "grafana"),
        ("bookinfo", "productpage-v1"),
    ];
    for deployment in of_kind("Deployment") {
        let strategy = &deployment["spec"]["strategy"];
        if recreate.contains(&(namespace(deployment), name(deployment))) {
            assert_eq!(
                strategy,
                &json!({"type": "Recreate"}),
                "{}: spec.strategy",
                id(deployment)
            );
        } else {
            assert_ne!(
                strategy["type"],
                "Recreate",
                "{}: spec.strategy",
                id(deployment)
            );
        }
    }
}

#[test]
fn host_ports_are_the_declared_exposures() {
    let mut found = BTreeSet::new();
    for w in workloads() {
        for c in all_containers(w) {
            for p in list(&c["ports"])
                .iter()
                .filter(|p| !p["hostPort"].is_null())
            {
                found.insert((
                    id(w),
                    text(&c["name"]).to_owned(),
                    p["containerPort"].as_u64().unwrap_or_default(),
                    p["hostPort"].as_u64().unwrap_or_default(),
                ));
            }
        }
    }
    let expected: BTreeSet<(String, String, u64, u64)> = [
        (
            "Deployment bookinfo/productpage-v1",
            "productpage",
            9080,
            30080,
        ),
        ("Deployment grafana/grafana", "grafana", 3000, 30300),
    ]
    .into_iter()
    .map(|(w, c, port, host)| (w.to_owned(), c.to_owned(), port, host))
    .collect();
    assert_eq!(
        found, expected,
        "(workload, container, containerPort, hostPort)"
    );
    let closed: BTreeSet<(String, String)> = list(&render()["closedPorts"])
        .iter()
        .map(|p| (p["port"].to_string(), text(&p["workload"]).to_owned()))
        .collect();
    assert_eq!(
        closed,
        BTreeSet::from([
            ("30080".to_owned(), "productpage-v1".to_owned()),
            ("30300".to_owned(), "grafana".to_owned())
        ]),
        "closedPorts (port, workload)"
    );
}

// ---------------------------------------------------------------------------------------------
// Webhooks.
// ---------------------------------------------------------------------------------------------

/// Asserts what every Linkerd webhook shares (REFERENCE 4.6/4.7): fail open, no side effects,
/// served by `service` in linkerd at `/`, and a caBundle that is the base64 of that service's
/// slot placeholder.
fn assert_webhook_basics(kind: &str, config: &str, hook_name: &str, service: &str) {
    let hook = webhook(kind, config);
    let what = format!("{kind} {config}: webhook {hook_name}");
    assert_eq!(hook["name"], hook_name, "{what}: name");
    assert_eq!(hook["failurePolicy"], "Ignore", "{what}: failurePolicy");
    assert_eq!(hook["sideEffects"], "None", "{what}: sideEffects");
    assert_eq!(
        hook["admissionReviewVersions"],
        json!(["v1", "v1beta1"]),
        "{what}: admissionReviewVersions"
    );
    assert_eq!(
        hook["clientConfig"]["service"],
        json!({"name": service, "namespace": "linkerd", "path": "/"}),
        "{what}: clientConfig.service"
    );
    // The API server calls port 443 when none is given: the Service must serve it.
    let backing = find("Service", "linkerd", service);
    assert!(
        list(&backing["spec"]["ports"])
            .iter()
            .any(|p| p["port"] == 443),
        "{}: spec.ports 443 for {what}",
        id(backing)
    );
    let bundle = base64::engine::general_purpose::STANDARD
        .decode(text(&hook["clientConfig"]["caBundle"]))
        .unwrap_or_else(|e| panic!("{what}: clientConfig.caBundle is not base64: {e}"));
    assert_eq!(
        String::from_utf8(bundle).expect("UTF-8"),
        placeholder("webhookCaBundle", Some(service)),
        "{what}: clientConfig.caBundle, base64-decoded"
    );
}

fn webhooks_disabled_selector() -> Value {
    json!({"key": "config.linkerd.io/admission-webhooks", "operator": "NotIn", "values": ["disabled"]})
}

#[test]
fn proxy_injector_webhook() {
    let (kind, config) = (
        "MutatingWebhookConfiguration",
        "linkerd-proxy-injector-webhook-config",
    );
    assert_webhook_basics(
        kind,
        config,
        "linkerd-proxy-injector.linkerd.io",
        "linkerd-proxy-injector",
    );
    let hook = webhook(kind, config);
    let what = format!("{kind} {config}");
    let expected: BTreeSet<_> = ["pods", "services"]
        .iter()
        .map(|r| {
            (
                "CREATE".into(),
                String::new(),
                "v1".into(),
                (*r).to_owned(),
                "Namespaced".into(),
            )
        })
        .collect();
    assert_eq!(
        admission(hook),
        expected,
        "{what}: rules (operation, group, version, resource, scope)"
    );
    assert_eq!(
        hook["namespaceSelector"],
        json!({"matchExpressions": [
            webhooks_disabled_selector(),
            {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["kube-system", "cert-manager"]},
        ]}),
        "{what}: namespaceSelector"
    );
    // The chart's selector (upstream's values.yaml): the control plane's own pods are left
    // alone even in a namespace without the admission-webhooks label. `linkerd install`
    // renders it null only because its Values struct drops the key.
    assert_eq!(
        hook["objectSelector"],
        json!({"matchExpressions": [
            {"key": "linkerd.io/control-plane-component", "operator": "DoesNotExist"},
            {"key": "linkerd.io/cni-resource", "operator": "DoesNotExist"},
        ]}),
        "{what}: objectSelector"
    );
    assert_eq!(hook["timeoutSeconds"], 10, "{what}: timeoutSeconds");
}

#[test]
fn validating_webhooks() {
    let kind = "ValidatingWebhookConfiguration";
    let sp = "linkerd-sp-validator-webhook-config";
    assert_webhook_basics(
        kind,
        sp,
        "linkerd-sp-validator.linkerd.io",
        "linkerd-sp-validator",
    );
    let expected: BTreeSet<_> = ["CREATE", "UPDATE"]
        .iter()
        .flat_map(|op| {
            ["v1alpha1", "v1alpha2"].iter().map(move |v| {
                (
                    (*op).to_owned(),
                    "linkerd.io".into(),
                    (*v).to_owned(),
                    "serviceprofiles".into(),
                    "*".into(),
                )
            })
        })
        .collect();
    assert_eq!(admission(webhook(kind, sp)), expected, "{kind} {sp}: rules");
    let policy = "linkerd-policy-validator-webhook-config";
    assert_webhook_basics(
        kind,
        policy,
        "linkerd-policy-validator.linkerd.io",
        "linkerd-policy-validator",
    );
    // Every policy.linkerd.io kind, and every Gateway API route the policy controller reads
    // (REFERENCE 4.5), as upstream: tlsroutes and tcproutes too, which this stack does not
    // install but a cluster may have.
    let mut plurals: Vec<(String, String)> = of_kind("CustomResourceDefinition")
        .map(|crd| {
            let (plural, group) = name(crd).split_once('.').expect("plural.group");
            (group.to_owned(), plural.to_owned())
        })
        .filter(|(group, _)| group == "policy.linkerd.io")
        .collect();
    for route in ["httproutes", "grpcroutes", "tlsroutes", "tcproutes"] {
        plurals.push(("gateway.networking.k8s.io".into(), route.into()));
    }
    let mut expected = BTreeSet::new();
    for (group, plural) in plurals {
        for op in ["CREATE", "UPDATE"] {
            expected.insert((
                op.into(),
                group.clone(),
                "*".into(),
                plural.clone(),
                "*".into(),
            ));
        }
    }
    assert_eq!(
        expected.len(),
        24,
        "8 policy.linkerd.io kinds and 4 Gateway API routes, twice"
    );
    assert_eq!(
        admission(webhook(kind, policy)),
        expected,
        "{kind} {policy}: rules"
    );
    for config in [sp, policy] {
        assert_eq!(
            webhook(kind, config)["namespaceSelector"],
            json!({"matchExpressions": [webhooks_disabled_selector()]}),
            "{kind} {config}: namespaceSelector"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Secrets and slots.
// ---------------------------------------------------------------------------------------------

/// The Secrets bootstrap creates, as `(namespace, name)`: REFERENCE 4.3's issuer and webhook
/// TLS Secrets and Grafana's admin Secret (stacks/grafana.yaml adminSecret).
fn expected_secrets() -> BTreeSet<(String, String)> {
    [
        ("linkerd", "linkerd-identity-issuer"),
        ("linkerd", "linkerd-proxy-injector-k8s-tls"),
        ("linkerd", "linkerd-sp-validator-k8s-tls"),
        ("linkerd", "linkerd-policy-validator-k8s-tls"),
        ("grafana", "grafana-admin"),
    ]
    .iter()
    .map(|(ns, n)| ((*ns).to_owned(), (*n).to_owned()))
    .collect()
}

#[test]
fn secrets_are_listed_never_rendered() {
    assert_eq!(
        of_kind("Secret").count(),
        0,
        "no Secret object: bootstrap creates them"
    );
    let listed: BTreeSet<(String, String)> = list(&render()["secrets"])
        .iter()
        .map(|s| {
            (
                text(&s["namespace"]).to_owned(),
                text(&s["name"]).to_owned(),
            )
        })
        .collect();
    // And the trust anchor with its key, which bootstrap keeps to sign the next issuer and
    // no pod uses.
    let mut expected = expected_secrets();
    expected.insert(("linkerd".to_owned(), "linkerd-trust-anchor".to_owned()));
    assert_eq!(listed, expected, "secrets (namespace, name)");
    // Each webhook TLS Secret is `<service>-k8s-tls` for the Service its webhook calls
    // (REFERENCE 4.6).
    for secret in list(&render()["secrets"])
        .iter()
        .filter(|s| s["kind"] == "webhookTls")
    {
        let service = text(&secret["service"]);
        assert_eq!(
            text(&secret["name"]),
            format!("{service}-k8s-tls"),
            "secrets: {} service",
            text(&secret["name"])
        );
        find("Service", "linkerd", service);
    }
}

#[test]
fn pods_reference_exactly_the_listed_secrets() {
    let mut referenced = BTreeSet::new();
    for w in workloads() {
        let mut names = BTreeSet::new();
        secret_refs(pod(w), &mut names);
        referenced.extend(names.into_iter().map(|n| (namespace(w).to_owned(), n)));
    }
    assert_eq!(
        referenced,
        expected_secrets(),
        "Secrets referenced by pods (namespace, name)"
    );
    // And each where REFERENCE 4.4 and 3.3 put it.
    for (workload, container_name, secret, path) in [
        (
            "linkerd-identity",
            "identity",
            "linkerd-identity-issuer",
            "/var/run/linkerd/identity/issuer",
        ),
        (
            "linkerd-destination",
            "sp-validator",
            "linkerd-sp-validator-k8s-tls",
            "/var/run/linkerd/tls",
        ),
        (
            "linkerd-destination",
            "policy",
            "linkerd-policy-validator-k8s-tls",
            "/var/run/linkerd/tls",
        ),
        (
            "linkerd-proxy-injector",
            "proxy-injector",
            "linkerd-proxy-injector-k8s-tls",
            "/var/run/linkerd/tls",
        ),
    ] {
        let w = find("Deployment", "linkerd", workload);
        let c = container(w, container_name);
        let mounted = list(&c["volumeMounts"]).iter().any(|m| {
            m["mountPath"] == path && volume(w, text(&m["name"]))["secret"]["secretName"] == secret
        });
        assert!(
            mounted,
            "{}: container {container_name}: Secret {secret} at {path}",
            id(w)
        );
    }
    let grafana = find("Deployment", "grafana", "grafana");
    assert_eq!(
        volume(grafana, "admin")["secret"],
        json!({"secretName": "grafana-admin", "items": [{"key": "admin-password", "path": "admin-password"}]}),
        "{}: volume admin",
        id(grafana)
    );
}

#[test]
fn slots_hold_the_placeholders() {
    let slots: BTreeSet<(String, String)> = list(&render()["slots"])
        .iter()
        .map(|s| (text(&s["slot"]).to_owned(), text(&s["service"]).to_owned()))
        .collect();
    let expected: BTreeSet<(String, String)> = [
        ("linkerdTrustAnchor", ""),
        ("webhookCaBundle", "linkerd-proxy-injector"),
        ("webhookCaBundle", "linkerd-sp-validator"),
        ("webhookCaBundle", "linkerd-policy-validator"),
    ]
    .iter()
    .map(|(s, v)| ((*s).to_owned(), (*v).to_owned()))
    .collect();
    assert_eq!(slots, expected, "slots (slot, service)");
    // The trust anchor is in the trust-roots ConfigMap (REFERENCE 4.3, key ca-bundle.crt) and
    // in linkerd-config's values (4.7); the caBundles are checked with their webhooks.
    let anchor = placeholder("linkerdTrustAnchor", None);
    let roots = find("ConfigMap", "linkerd", "linkerd-identity-trust-roots");
    assert_eq!(
        text(&roots["data"]["ca-bundle.crt"]).trim(),
        anchor,
        "{}: data[ca-bundle.crt]",
        id(roots)
    );
    assert_eq!(
        text(&linkerd_values()["identityTrustAnchorsPEM"]).trim(),
        anchor,
        "ConfigMap linkerd/linkerd-config: values.identityTrustAnchorsPEM"
    );
    for w in ["linkerd-identity", "linkerd-proxy-injector"] {
        let w = find("Deployment", "linkerd", w);
        assert_eq!(
            volume(w, "trust-roots")["configMap"]["name"],
            "linkerd-identity-trust-roots",
            "{}: volume trust-roots",
            id(w)
        );
    }
}

#[test]
fn linkerd_config_values() {
    // REFERENCE 4.7: what the injector builds meshed pods' proxies from.
    let values = linkerd_values();
    let what = "ConfigMap linkerd/linkerd-config: values";
    for (pointer, expected) in [
        ("/linkerdVersion", json!(LINKERD_VERSION)),
        ("/clusterDomain", json!("cluster.local")),
        ("/identityTrustDomain", json!("cluster.local")),
        (
            "/clusterNetworks",
            json!("10.0.0.0/8,100.64.0.0/10,172.16.0.0/12,192.168.0.0/16,fd00::/8"),
        ),
        ("/identity/issuer/scheme", json!("linkerd.io/tls")),
        ("/identity/issuer/issuanceLifetime", json!("24h0m0s")),
        ("/identity/issuer/clockSkewAllowance", json!("20s")),
        ("/proxy/image/name", json!("cr.l5d.io/linkerd/proxy")),
        ("/proxy/image/version", json!(LINKERD_VERSION)),
        (
            "/proxy/ports",
            json!({"admin": 4191, "control": 4190, "inbound": 4143, "outbound": 4140}),
        ),
        ("/proxy/uid", json!(2102)),
        ("/proxy/nativeSidecar", json!(true)),
        (
            "/proxy/opaquePorts",
            json!("25,587,3306,4444,5432,6379,9300,11211"),
        ),
        ("/proxy/defaultInboundPolicy", json!("all-unauthenticated")),
        ("/proxyInit/iptablesMode", json!("nft")),
        ("/proxyInit/kubeAPIServerPorts", json!("443,6443")),
        ("/proxyInit/runAsUser", json!(65534)),
        ("/webhookFailurePolicy", json!("Ignore")),
    ] {
        assert_eq!(
            values.pointer(pointer),
            Some(&expected),
            "{what}{}",
            pointer.replace('/', ".")
        );
    }
    // The injector's own view of where it injects matches its webhook.
    assert_eq!(
        values.pointer("/proxyInjector/namespaceSelector"),
        Some(
            &webhook(
                "MutatingWebhookConfiguration",
                "linkerd-proxy-injector-webhook-config"
            )["namespaceSelector"]
        ),
        "{what}.proxyInjector.namespaceSelector"
    );
}
