//! The Linkerd control plane obsboot renders, field by field against what upstream renders
//! (tests/it/fixtures/linkerd/control-plane.yaml): containers, their images, commands,
//! arguments, environment, ports, probes, mounts and security; pods' metadata and volumes;
//! Services, RBAC and the admission webhooks. Every difference must be one obsboot intends,
//! listed below with its reason; any other fails, naming the object and the field.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use base64::Engine as _;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::harness::{Scratch, repo};

/// Where obsboot differs from upstream on purpose: `(object, field, why)`. `object` is
/// "Kind name", and `*` in it or in `field` stands for any text; an empty field is the whole
/// object. Each must still occur, so that the list says what obsboot does.
const INTENDED: &[(&str, &str, &str)] = &[
    (
        "*",
        r#"labels["app.kubernetes.io/managed-by"]"#,
        "ownership: teardown and pruning touch only objects that carry obsboot's mark",
    ),
    (
        "*",
        r#"labels["obsboot.dev/stack"]"#,
        "ownership: the stack that applied the object",
    ),
    (
        "*",
        r#"annotations["linkerd.io/created-by"]"#,
        "the Deployments name obsboot as their creator (linkerd-config's cliVersion), where \
         `linkerd install` writes linkerd/cli <version>; the other objects carry none",
    ),
    (
        "Deployment *",
        r#"pod.annotations["linkerd.io/created-by"]"#,
        "the pods name obsboot as their creator, as their Deployment does",
    ),
    (
        "Deployment *",
        r#"pod.annotations["checksum/config"]"#,
        "upstream hashes its own RBAC and webhook template; obsboot rolls pods on what they \
         read only at start instead (obsboot.dev/config-checksum)",
    ),
    (
        "Deployment *",
        r#"pod.annotations["obsboot.dev/config-checksum"]"#,
        "a hash of the ConfigMaps the pod reads only at start (linkerd-config, the trust \
         roots), so that a change to them rolls the pod",
    ),
    (
        "* linkerd-heartbeat",
        "",
        "the heartbeat reports usage data to the Linkerd project: rendered only with \
         spec.heartbeat, off by default",
    ),
    (
        "ClusterRole linkerd-linkerd-proxy-injector",
        "rules[*].apiGroups",
        "upstream also names the extensions group, which has served none of these kinds \
         since Kubernetes 1.16 (obsboot needs 1.31): granting on it grants nothing",
    ),
    (
        "*WebhookConfiguration *",
        "webhooks[*].clientConfig.caBundle",
        "the webhook's serving certificate is generated at bootstrap; a render shows its \
         placeholder",
    ),
];

/// What stands in for the trust-root checksum once it is checked (as the fixture writes it).
const TRUST_ROOT_SHA: &str = "{sha256 of identityTrustAnchorsPEM}";

/// One field that differs: its value upstream and in obsboot's render (`None`: absent).
struct Difference {
    object: String,
    field: String,
    upstream: Option<String>,
    obsboot: Option<String>,
}

impl Difference {
    fn intended(&self) -> Option<usize> {
        INTENDED
            .iter()
            .position(|(object, field, _)| glob(object, &self.object) && glob(field, &self.field))
    }
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = |value: &Option<String>| value.clone().unwrap_or_else(|| "absent".into());
        let field = if self.field.is_empty() {
            "the object"
        } else {
            &self.field
        };
        write!(
            f,
            "{}: {field}: upstream {}, obsboot {}",
            self.object,
            shown(&self.upstream),
            shown(&self.obsboot)
        )
    }
}

/// Whether `text` matches `pattern`, in which `*` stands for any text.
fn glob(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, tail)) => text.strip_prefix(head).is_some_and(|rest| {
            (0..=rest.len()).any(|at| rest.is_char_boundary(at) && glob(tail, &rest[at..]))
        }),
    }
}

/// The upstream facts.
fn upstream() -> Vec<Value> {
    let path = repo().join("tests/it/fixtures/linkerd/control-plane.yaml");
    let text = std::fs::read_to_string(&path).expect("read the upstream control-plane facts");
    let facts: Value = serde_yaml::from_str(&text).expect("the facts are YAML");
    facts["objects"].as_array().expect("objects").clone()
}

/// The objects of a render of the Linkerd stack of `scratch`.
fn rendered(scratch: &Scratch) -> Vec<Value> {
    let render: Value = serde_json::from_str(
        &scratch
            .render(&["-o", "json", "--stack", "linkerd"])
            .success(),
    )
    .expect("valid JSON");
    render["objects"].as_array().expect("objects").clone()
}

fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> Option<&'a Value> {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
}

/// The values tree linkerd-config holds.
fn linkerd_values(objects: &[Value]) -> Value {
    let config = find(objects, "ConfigMap", "linkerd-config").expect("linkerd-config");
    serde_yaml::from_str(config["data"]["values"].as_str().expect("values")).expect("YAML")
}

fn sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .fold(String::with_capacity(64), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

/// Reads rendered objects into the fixture's layout.
struct Normalizer {
    version: String,
    anchors_sha: String,
}

impl Normalizer {
    fn new(objects: &[Value]) -> Self {
        let values = linkerd_values(objects);
        Self {
            version: values["linkerdVersion"]
                .as_str()
                .expect("version")
                .to_owned(),
            anchors_sha: sha256(values["identityTrustAnchorsPEM"].as_str().expect("anchors")),
        }
    }

    fn object(&self, object: &Value) -> Value {
        let meta = &object["metadata"];
        let kind = object["kind"].as_str().unwrap_or_default();
        let mut out = Map::new();
        out.insert("kind".into(), kind.into());
        out.insert("name".into(), meta["name"].clone());
        if !meta["namespace"].is_null() {
            out.insert("namespace".into(), meta["namespace"].clone());
        }
        out.insert("labels".into(), or_empty(&meta["labels"]));
        out.insert("annotations".into(), or_empty(&meta["annotations"]));
        match kind {
            "Deployment" => self.deployment(object, &mut out),
            "Service" => service(object, &mut out),
            "MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration" => {
                webhooks(object, &mut out);
            }
            "CronJob" => {
                out.remove("labels");
                out.remove("annotations");
            }
            _ => {
                for key in ["rules", "roleRef"] {
                    if !object[key].is_null() {
                        out.insert(key.into(), object[key].clone());
                    }
                }
                if let Some(subjects) = object["subjects"].as_array() {
                    let subjects = subjects.iter().map(|subject| {
                        let mut subject = subject.clone();
                        if subject["kind"] == "ServiceAccount" {
                            defaults(&mut subject, &[("apiGroup", json!(""))]);
                        }
                        subject
                    });
                    out.insert("subjects".into(), subjects.collect());
                }
            }
        }
        self.versions(Value::Object(out))
    }

    fn deployment(&self, object: &Value, out: &mut Map<String, Value>) {
        let spec = &object["spec"];
        for key in ["replicas", "revisionHistoryLimit", "selector"] {
            out.insert(key.into(), spec[key].clone());
        }
        let mut strategy = or_empty(&spec["strategy"]);
        defaults(&mut strategy, &[("type", json!("RollingUpdate"))]);
        out.insert("strategy".into(), strategy);
        let template = &spec["template"];
        let mut pod = Map::new();
        pod.insert("labels".into(), or_empty(&template["metadata"]["labels"]));
        pod.insert(
            "annotations".into(),
            self.pod_annotations(&template["metadata"]["annotations"]),
        );
        for (key, value) in template["spec"].as_object().into_iter().flatten() {
            let value = match key.as_str() {
                "containers" | "initContainers" => Value::Array(
                    value
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(container)
                        .collect(),
                ),
                "volumes" => {
                    Value::Array(value.as_array().into_iter().flatten().map(volume).collect())
                }
                _ => value.clone(),
            };
            pod.insert(key.clone(), value);
        }
        out.insert("pod".into(), Value::Object(pod));
    }

    /// The trust-root checksum must be that of the anchors linkerd-config holds, as the
    /// injector computes it for meshed pods; obsboot's own checksum is described.
    fn pod_annotations(&self, annotations: &Value) -> Value {
        let mut annotations = or_empty(annotations);
        let map = annotations.as_object_mut().expect("an object");
        if map.get("linkerd.io/trust-root-sha256") == Some(&json!(self.anchors_sha)) {
            map.insert("linkerd.io/trust-root-sha256".into(), TRUST_ROOT_SHA.into());
        }
        if map.contains_key("obsboot.dev/config-checksum") {
            map.insert(
                "obsboot.dev/config-checksum".into(),
                "{sha256 of the ConfigMaps read at start}".into(),
            );
        }
        annotations
    }

    /// The release, wherever it appears, as the fixture writes it.
    fn versions(&self, value: Value) -> Value {
        match value {
            Value::String(text) => text.replace(&self.version, "{linkerdVersion}").into(),
            Value::Array(items) => items.into_iter().map(|v| self.versions(v)).collect(),
            Value::Object(map) => map
                .into_iter()
                .map(|(k, v)| (k, self.versions(v)))
                .collect::<Map<_, _>>()
                .into(),
            other => other,
        }
    }
}

fn or_empty(value: &Value) -> Value {
    if value.is_null() {
        json!({})
    } else {
        value.clone()
    }
}

/// Sets each absent or null field of `object` to its default.
fn defaults(object: &mut Value, fields: &[(&str, Value)]) {
    if let Some(map) = object.as_object_mut() {
        for (key, value) in fields {
            if map.get(*key).is_none_or(Value::is_null) {
                map.insert((*key).into(), value.clone());
            }
        }
    }
}

fn container(container: &Value) -> Value {
    let mut out = container.clone();
    let map = out.as_object_mut().expect("a container");
    if map
        .get("resources")
        .is_some_and(|r| r.is_null() || r == &json!({}))
    {
        map.remove("resources");
    }
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(probe) = map.get_mut(probe) {
            defaults(
                probe,
                &[
                    ("timeoutSeconds", json!(1)),
                    ("periodSeconds", json!(10)),
                    ("successThreshold", json!(1)),
                    ("failureThreshold", json!(3)),
                ],
            );
            if let Some(get) = probe.get_mut("httpGet") {
                defaults(get, &[("scheme", json!("HTTP"))]);
            }
        }
    }
    for port in map
        .get_mut("ports")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        defaults(port, &[("protocol", json!("TCP"))]);
    }
    for mount in map
        .get_mut("volumeMounts")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        if mount["readOnly"] == false {
            mount.as_object_mut().expect("a mount").remove("readOnly");
        }
    }
    defaults(&mut out, &[("terminationMessagePolicy", json!("File"))]);
    out
}

fn volume(volume: &Value) -> Value {
    let mut out = volume.clone();
    for source in ["secret", "configMap", "projected"] {
        if let Some(source) = out.get_mut(source).and_then(Value::as_object_mut)
            && source.get("defaultMode") == Some(&json!(420))
        {
            source.remove("defaultMode");
        }
    }
    out
}

fn service(object: &Value, out: &mut Map<String, Value>) {
    let spec = &object["spec"];
    out.insert(
        "type".into(),
        spec["type"].as_str().unwrap_or("ClusterIP").into(),
    );
    if !spec["clusterIP"].is_null() {
        out.insert("clusterIP".into(), spec["clusterIP"].clone());
    }
    out.insert("selector".into(), spec["selector"].clone());
    let ports = spec["ports"].as_array().into_iter().flatten().map(|port| {
        json!({
            "name": port["name"],
            "port": port["port"],
            "targetPort": if port["targetPort"].is_null() { &port["port"] } else { &port["targetPort"] },
            "protocol": port["protocol"].as_str().unwrap_or("TCP"),
        })
    });
    out.insert("ports".into(), ports.collect());
}

fn webhooks(object: &Value, out: &mut Map<String, Value>) {
    let mutating = object["kind"] == "MutatingWebhookConfiguration";
    let hooks = object["webhooks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|hook| {
            let mut service = hook["clientConfig"]["service"].clone();
            defaults(&mut service, &[("port", json!(443))]);
            let bundle = base64::engine::general_purpose::STANDARD
                .decode(
                    hook["clientConfig"]["caBundle"]
                        .as_str()
                        .unwrap_or_default(),
                )
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                .unwrap_or_default();
            let rules: Vec<Value> = hook["rules"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|rule| {
                    let mut rule = rule.clone();
                    defaults(&mut rule, &[("scope", json!("*"))]);
                    rule
                })
                .collect();
            let mut out = json!({
                "name": hook["name"],
                "clientConfig": {"service": service, "caBundle": bundle},
                "namespaceSelector": or_empty(&hook["namespaceSelector"]),
                "objectSelector": or_empty(&hook["objectSelector"]),
                "rules": rules,
                "failurePolicy": hook["failurePolicy"],
                "sideEffects": hook["sideEffects"],
                "timeoutSeconds": hook["timeoutSeconds"],
                "admissionReviewVersions": hook["admissionReviewVersions"],
                "matchPolicy": hook["matchPolicy"],
            });
            defaults(
                &mut out,
                &[
                    ("timeoutSeconds", json!(10)),
                    ("matchPolicy", json!("Equivalent")),
                ],
            );
            if mutating {
                out["reinvocationPolicy"] = hook["reinvocationPolicy"].clone();
                defaults(&mut out, &[("reinvocationPolicy", json!("Never"))]);
            }
            out
        });
    out.insert("webhooks".into(), hooks.collect());
}

/// Every leaf of `value` by its field path. Lists of named items are keyed by name (with
/// their order as one more leaf), other lists of objects by index; lists of scalars and
/// scalars are leaves, as JSON.
fn flatten(value: &Value, path: &str, out: &mut BTreeMap<String, String>) {
    let named =
        |items: &Vec<Value>| !items.is_empty() && items.iter().all(|item| item["name"].is_string());
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                let plain = key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                let segment = match (plain, path.is_empty()) {
                    (true, true) => key.clone(),
                    (true, false) => format!(".{key}"),
                    (false, _) => format!("[{key:?}]"),
                };
                flatten(inner, &format!("{path}{segment}"), out);
            }
        }
        Value::Array(items) if named(items) => {
            let order: Vec<&str> = items.iter().filter_map(|i| i["name"].as_str()).collect();
            out.insert(format!("{path} (order)"), order.join(", "));
            for item in items {
                let name = item["name"].as_str().unwrap_or_default();
                flatten(item, &format!("{path}[{name}]"), out);
            }
        }
        Value::Array(items) if items.iter().any(Value::is_object) => {
            for (at, item) in items.iter().enumerate() {
                flatten(item, &format!("{path}[{at}]"), out);
            }
        }
        other => {
            out.insert(path.to_owned(), other.to_string());
        }
    }
}

/// Every difference between the upstream facts and obsboot's render.
fn differences(upstream: &[Value], objects: &[Value]) -> Vec<Difference> {
    let normalizer = Normalizer::new(objects);
    let mut found = Vec::new();
    for fact in upstream {
        let kind = fact["kind"].as_str().expect("kind");
        let name = fact["name"].as_str().expect("name");
        let object = format!("{kind} {name}");
        let Some(ours) = find(objects, kind, name) else {
            found.push(Difference {
                object,
                field: String::new(),
                upstream: Some("present".into()),
                obsboot: None,
            });
            continue;
        };
        let (mut theirs, mut mine) = (BTreeMap::new(), BTreeMap::new());
        flatten(fact, "", &mut theirs);
        flatten(&normalizer.object(ours), "", &mut mine);
        let fields: BTreeSet<&String> = theirs.keys().chain(mine.keys()).collect();
        for field in fields {
            let (upstream, obsboot) = (theirs.get(field), mine.get(field));
            if upstream != obsboot {
                found.push(Difference {
                    object: object.clone(),
                    field: field.clone(),
                    upstream: upstream.cloned(),
                    obsboot: obsboot.cloned(),
                });
            }
        }
    }
    found
}

/// Fails with every unintended difference, and every intended one that no longer occurs.
fn assert_parity(differences: &[Difference]) {
    let mut problems = Vec::new();
    for difference in differences {
        if difference.intended().is_none() {
            problems.push(format!("not an intended difference: {difference}"));
        }
    }
    for (at, (object, field, why)) in INTENDED.iter().enumerate() {
        if !differences.iter().any(|d| d.intended() == Some(at)) {
            problems.push(format!(
                "intended difference no longer occurs (remove it): {object}: {field} ({why})"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "the Linkerd control plane differs from upstream's (tests/it/fixtures/linkerd/control-plane.yaml):\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn the_control_plane_is_upstreams_but_for_intended_differences() {
    let objects = rendered(&Scratch::new());
    assert_parity(&differences(&upstream(), &objects));
}

#[test]
fn a_defect_is_named_by_object_container_and_field() {
    // The same comparison, with a control-plane proxy that lost its log filter's suffix.
    let mut objects = rendered(&Scratch::new());
    let destination = objects
        .iter_mut()
        .find(|o| o["kind"] == "Deployment" && o["metadata"]["name"] == "linkerd-destination")
        .expect("linkerd-destination");
    let proxy = destination["spec"]["template"]["spec"]["initContainers"]
        .as_array_mut()
        .and_then(|list| list.iter_mut().find(|c| c["name"] == "linkerd-proxy"))
        .expect("its native-sidecar proxy");
    for var in proxy["env"].as_array_mut().expect("env") {
        if var["name"] == "LINKERD2_PROXY_LOG" {
            var["value"] = json!("warn,linkerd=info,hickory=error");
        }
    }
    let unintended: Vec<String> = differences(&upstream(), &objects)
        .iter()
        .filter(|d| d.intended().is_none())
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        unintended,
        [
            r#"Deployment linkerd-destination: pod.initContainers[linkerd-proxy].env[LINKERD2_PROXY_LOG].value: upstream "warn,linkerd=info,hickory=error,[{headers}]=off,[{request}]=off", obsboot "warn,linkerd=info,hickory=error""#
        ]
    );
}

/// The proxy containers of the control plane's Deployments, by Deployment.
fn proxies(objects: &[Value]) -> Vec<(&str, &Value)> {
    [
        "linkerd-identity",
        "linkerd-destination",
        "linkerd-proxy-injector",
    ]
    .into_iter()
    .map(|name| {
        let pod =
            &find(objects, "Deployment", name).expect("a Deployment")["spec"]["template"]["spec"];
        let proxy = ["initContainers", "containers"]
            .iter()
            .flat_map(|list| pod[*list].as_array().into_iter().flatten())
            .find(|c| c["name"] == "linkerd-proxy")
            .expect("a linkerd-proxy container");
        (name, proxy)
    })
    .collect()
}

fn env<'a>(container: &'a Value, name: &str) -> &'a Value {
    container["env"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|var| var["name"] == name)
        .map_or(&Value::Null, |var| &var["value"])
}

#[test]
fn the_control_plane_proxies_take_the_stack_settings_as_linkerd_config_does() {
    let scratch = Scratch::new();
    for (from, to) in [
        (
            "logLevel: warn,linkerd=info,hickory=error",
            "logLevel: debug,linkerd=trace",
        ),
        ("logFormat: plain", "logFormat: json"),
        ("iptablesMode: nft", "iptablesMode: legacy"),
        ("nativeSidecar: true", "nativeSidecar: false"),
    ] {
        scratch.edit("stacks/linkerd.yaml", from, to);
    }
    let objects = rendered(&scratch);
    let values = linkerd_values(&objects);
    assert_eq!(values["proxy"]["logLevel"], "debug,linkerd=trace");
    for (name, proxy) in proxies(&objects) {
        assert_eq!(
            env(proxy, "LINKERD2_PROXY_LOG"),
            "debug,linkerd=trace,[{headers}]=off,[{request}]=off",
            "{name}"
        );
        assert_eq!(env(proxy, "LINKERD2_PROXY_LOG_FORMAT"), "json", "{name}");
        // Without native sidecars, an ordinary container that holds the next one back until
        // it is ready, but in identity's pod (it cannot be ready before identity runs).
        assert!(proxy["restartPolicy"].is_null(), "{name}");
        assert!(proxy["startupProbe"].is_null(), "{name}");
        assert_eq!(
            proxy["lifecycle"]["postStart"].is_null(),
            name == "linkerd-identity",
            "{name}: postStart"
        );
        let pod =
            &find(&objects, "Deployment", name).expect("a Deployment")["spec"]["template"]["spec"];
        let init = &pod["initContainers"];
        assert_eq!(
            init.as_array().map(Vec::len),
            Some(1),
            "{name}: initContainers"
        );
        // Legacy iptables is the proxy-init default: no firewall flags.
        let args = init[0]["args"].to_string();
        assert!(!args.contains("iptables-nft"), "{name}: {args}");
        let first = pod["containers"][0]["name"].as_str();
        let expected = if name == "linkerd-identity" {
            "identity"
        } else {
            "linkerd-proxy"
        };
        assert_eq!(first, Some(expected), "{name}: first container");
    }
}

#[test]
fn a_proxy_value_left_out_of_the_tree_stops_the_render_at_the_control_plane() {
    // linkerd-config and the control plane's proxies read one tree: neither can lack a value
    // the other has.
    let scratch = Scratch::new().with_templates();
    scratch.edit(
        "templates/linkerd/_values.j2",
        "  logHTTPHeaders: \"off\"\n",
        "",
    );
    let run = scratch.render(&["--templates", "templates", "--stack", "linkerd"]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("templates/linkerd/_mesh.j2:")
            && run.stderr.contains("proxy.logHTTPHeaders")
            && run.stderr.contains("is undefined"),
        "{}",
        run.stderr
    );
}
