//! What `obsboot render` promises: the default platform with its placement and ingress plan,
//! in YAML, JSON or one file per stack; deterministic; logs on stderr only.

use std::fs;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::harness::{Scratch, obsboot, repo};

/// The documents of a multi-document YAML stream, as JSON values.
fn documents(yaml: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(yaml)
        .map(|document| Value::deserialize(document).expect("valid YAML"))
        .filter(|value| !value.is_null())
        .collect()
}

fn json_render(scratch: &Scratch, args: &[&str]) -> Value {
    let mut all = vec!["-o", "json"];
    all.extend_from_slice(args);
    serde_json::from_str(&scratch.render(&all).success()).expect("valid JSON")
}

fn object<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

fn objects(render: &Value) -> Vec<Value> {
    render["objects"]
        .as_array()
        .expect("an objects array")
        .clone()
}

#[test]
fn default_render() {
    let scratch = Scratch::new();
    let stdout = scratch.run(&["render"]).success();
    insta::assert_snapshot!("default_render", stdout);
}

#[test]
fn embedded_defaults_are_the_stacks_directory() {
    let scratch = Scratch::new();
    let embedded = scratch.run(&["render"]).success();
    let from_disk = obsboot(
        &repo(),
        &["render", "--stacks", "stacks", "--templates", "templates"],
    )
    .success();
    assert_eq!(embedded, from_disk);
}

#[test]
fn renders_are_byte_identical() {
    let scratch = Scratch::new();
    let first = scratch.run(&["render"]).success();
    let second = scratch.run(&["render"]).success();
    assert_eq!(first, second);
    let first = scratch.run(&["render", "-o", "json"]).success();
    assert_eq!(first, scratch.run(&["render", "-o", "json"]).success());
}

#[test]
fn bookinfo_is_complete() {
    let all = objects(&json_render(&Scratch::new(), &["--stack", "bookinfo"]));
    let count = |kind: &str| all.iter().filter(|o| o["kind"] == kind).count();
    assert_eq!(
        (
            count("Namespace"),
            count("Service"),
            count("ServiceAccount"),
            count("Deployment")
        ),
        (1, 4, 4, 6)
    );
    assert_eq!(all.len(), 15);
    let namespace = object(&all, "Namespace", "bookinfo");
    assert_eq!(
        namespace["metadata"]["annotations"]["linkerd.io/inject"],
        "enabled"
    );
    for (name, image) in [
        ("details-v1", "details-v1"),
        ("ratings-v1", "ratings-v1"),
        ("reviews-v1", "reviews-v1"),
        ("reviews-v2", "reviews-v2"),
        ("reviews-v3", "reviews-v3"),
        ("productpage-v1", "productpage-v1"),
    ] {
        let deployment = object(&all, "Deployment", name);
        let container = &deployment["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(
            container["image"],
            format!("docker.io/istio/examples-bookinfo-{image}:1.20.3")
        );
        assert_eq!(container["ports"][0]["containerPort"], 9080);
        assert_eq!(deployment["spec"]["replicas"], 1);
        assert_eq!(deployment["metadata"]["namespace"], "bookinfo");
    }
    for service in ["details", "ratings", "reviews", "productpage"] {
        let service = object(&all, "Service", service);
        assert_eq!(service["spec"]["ports"][0]["port"], 9080);
    }
    // The three reviews versions share one account, and one Service balances over them.
    for version in ["v1", "v2", "v3"] {
        let deployment = object(&all, "Deployment", &format!("reviews-{version}"));
        assert_eq!(
            deployment["spec"]["template"]["spec"]["serviceAccountName"],
            "bookinfo-reviews"
        );
    }
    assert_eq!(
        object(&all, "Service", "reviews")["spec"]["selector"],
        json!({"app": "reviews"})
    );
}

#[test]
fn productpage_is_pinned_to_the_control_plane_with_its_host_port() {
    let all = objects(&json_render(&Scratch::new(), &[]));
    let productpage = object(&all, "Deployment", "productpage-v1");
    let pod = &productpage["spec"]["template"]["spec"];
    assert_eq!(
        pod["nodeSelector"],
        json!({"node-role.kubernetes.io/control-plane": ""})
    );
    assert_eq!(
        pod["tolerations"],
        json!([
            {"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"},
            {"key": "node-role.kubernetes.io/master", "operator": "Exists", "effect": "NoSchedule"},
        ])
    );
    assert_eq!(pod["containers"][0]["ports"][0]["hostPort"], 30080);
    assert_eq!(productpage["spec"]["strategy"], json!({"type": "Recreate"}));
    // No other Bookinfo workload is pinned, tolerates the control plane or binds a host port.
    for deployment in all.iter().filter(|o| {
        o["kind"] == "Deployment"
            && o["metadata"]["namespace"] == "bookinfo"
            && o["metadata"]["name"] != "productpage-v1"
    }) {
        let pod = &deployment["spec"]["template"]["spec"];
        assert!(
            pod.get("nodeSelector").is_none() && pod.get("tolerations").is_none(),
            "{deployment}"
        );
        assert!(deployment["spec"].get("strategy").is_none(), "{deployment}");
        assert!(
            pod["containers"][0]["ports"][0].get("hostPort").is_none(),
            "{deployment}"
        );
    }
}

#[test]
fn all_nodes_placement_tolerates_without_pinning() {
    let scratch = Scratch::new();
    scratch.edit(
        "stacks/bookinfo.yaml",
        "  details-v1:\n    placement: anywhere",
        "  details-v1:\n    placement: all-nodes",
    );
    let all = objects(&json_render(&scratch, &[]));
    let pod = &object(&all, "Deployment", "details-v1")["spec"]["template"]["spec"];
    assert!(pod.get("nodeSelector").is_none());
    assert_eq!(pod["tolerations"].as_array().map(Vec::len), Some(2));
}

#[test]
fn every_object_carries_the_ownership_labels() {
    let all = objects(&json_render(&Scratch::new(), &[]));
    for object in &all {
        let labels = &object["metadata"]["labels"];
        assert_eq!(
            labels["app.kubernetes.io/managed-by"], "obsboot",
            "{object}"
        );
        let stack = labels["obsboot.dev/stack"].as_str().expect("a stack label");
        assert!(
            ["linkerd", "prometheus", "grafana", "bookinfo"].contains(&stack),
            "{object}"
        );
    }
    let monitoring = object(&all, "Namespace", "monitoring");
    assert_eq!(
        monitoring["metadata"]["labels"]["obsboot.dev/stack"],
        "prometheus"
    );
    assert_eq!(
        monitoring["metadata"]["annotations"]["obsboot.dev/stacks"],
        "prometheus"
    );
}

#[test]
fn objects_come_in_apply_order() {
    let all = objects(&json_render(&Scratch::new(), &[]));
    let kinds: Vec<&str> = all
        .iter()
        .map(|o| o["kind"].as_str().unwrap_or_default())
        .collect();
    let stack = |o: &Value| {
        o["metadata"]["labels"]["obsboot.dev/stack"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let namespaces = kinds
        .iter()
        .take_while(|kind| **kind == "Namespace")
        .count();
    assert_eq!(namespaces, 4, "namespaces come first: {kinds:?}");
    let crds = kinds[namespaces..]
        .iter()
        .take_while(|kind| **kind == "CustomResourceDefinition")
        .count();
    assert_eq!(crds, 12, "then the CRDs: {kinds:?}");
    let rest = &all[namespaces + crds..];
    assert!(
        !rest
            .iter()
            .any(|o| o["kind"] == "Namespace" || o["kind"] == "CustomResourceDefinition")
    );
    // Then phase by phase: the mesh, monitoring (Prometheus and Grafana together), apps.
    let phase = |o: &Value| match stack(o).as_str() {
        "linkerd" => 0,
        "prometheus" | "grafana" => 1,
        _ => 2,
    };
    let phases: Vec<i32> = rest.iter().map(phase).collect();
    assert!(phases.is_sorted(), "{phases:?}");
    // Within a stack, by kind (accounts, then services, then workloads, webhooks last), then name.
    for name in ["linkerd", "bookinfo"] {
        let own: Vec<&str> = rest
            .iter()
            .filter(|o| stack(o) == name)
            .map(|o| o["kind"].as_str().unwrap_or_default())
            .collect();
        let first = |kind: &str| own.iter().position(|k| *k == kind).expect("present");
        let last = |kind: &str| own.iter().rposition(|k| *k == kind).expect("present");
        assert!(
            last("ServiceAccount") < first("Service") && last("Service") < first("Deployment"),
            "{own:?}"
        );
        if name == "linkerd" {
            assert_eq!(
                own.last(),
                Some(&"ValidatingWebhookConfiguration"),
                "{own:?}"
            );
        }
    }
    let names: Vec<&str> = all
        .iter()
        .filter(|o| o["kind"] == "Deployment" && stack(o) == "bookinfo")
        .map(|o| o["metadata"]["name"].as_str().unwrap_or_default())
        .collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted, "by name within a kind");
}

#[test]
fn closed_by_default_the_plan_says_so() {
    let scratch = Scratch::new();
    let render = json_render(&scratch, &[]);
    assert_eq!(render["ingressRules"], json!([]));
    assert_eq!(
        render["closedPorts"],
        json!([
            {"protocol": "tcp", "port": 30080, "description": "Bookinfo productpage", "stack": "bookinfo", "workload": "productpage-v1"},
            {"protocol": "tcp", "port": 30300, "description": "Grafana", "stack": "grafana", "workload": "grafana"},
        ])
    );
    let yaml = scratch.render(&[]).success();
    assert!(yaml.contains(
        "# Exposed ports with no source CIDR: nothing is opened for them until you set\n# `ingress.sources` in the cluster file or `sources` on the exposure:\n#   tcp/30080 bookinfo/productpage-v1: Bookinfo productpage\n#   tcp/30300 grafana/grafana: Grafana\n"
    ));
}

#[test]
fn one_rule_per_port_and_source() {
    let scratch = Scratch::new();
    scratch.edit(
        "stacks/cluster.yaml",
        "  sources: []",
        "  sources: [203.0.113.0/24, 2001:db8::/32]",
    );
    let render = json_render(&scratch, &[]);
    let rule = |port: u16, cidr: &str, description: &str, stack: &str, workload: &str| json!({"protocol": "tcp", "port": port, "cidr": cidr, "description": description, "stack": stack, "workload": workload, "public": false});
    assert_eq!(
        render["ingressRules"],
        json!([
            rule(
                30080,
                "203.0.113.0/24",
                "Bookinfo productpage",
                "bookinfo",
                "productpage-v1"
            ),
            rule(
                30080,
                "2001:db8::/32",
                "Bookinfo productpage",
                "bookinfo",
                "productpage-v1"
            ),
            rule(30300, "203.0.113.0/24", "Grafana", "grafana", "grafana"),
            rule(30300, "2001:db8::/32", "Grafana", "grafana", "grafana"),
        ])
    );
    assert_eq!(render["closedPorts"], json!([]));
    let yaml = scratch.render(&[]).success();
    assert!(yaml.contains(
        "# Security-group ingress rules bootstrap opens on the control-plane node's group:\n#   tcp/30080 from 203.0.113.0/24       bookinfo/productpage-v1: Bookinfo productpage\n#   tcp/30080 from 2001:db8::/32        bookinfo/productpage-v1: Bookinfo productpage\n#   tcp/30300 from 203.0.113.0/24       grafana/grafana: Grafana\n"
    ));
}

#[test]
fn an_exposure_own_sources_replace_the_cluster_ones() {
    let scratch = Scratch::new();
    scratch.edit(
        "stacks/cluster.yaml",
        "  sources: []",
        "  sources: [203.0.113.0/24]",
    );
    scratch.edit(
        "stacks/bookinfo.yaml",
        "description: Bookinfo productpage",
        "description: Bookinfo productpage\n        sources: [198.51.100.7/32]",
    );
    let render = json_render(&scratch, &[]);
    let rules: Vec<(&Value, &Value)> = render["ingressRules"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|rule| (&rule["port"], &rule["cidr"]))
        .collect();
    assert_eq!(
        rules,
        [
            (&json!(30080), &json!("198.51.100.7/32")),
            (&json!(30300), &json!("203.0.113.0/24"))
        ]
    );
}

#[test]
fn world_open_with_consent_is_marked_public() {
    let scratch = Scratch::new();
    scratch.edit("stacks/bookinfo.yaml", "description: Bookinfo productpage", "description: Bookinfo productpage\n        sources: [0.0.0.0/0]\n        allowPublic: true");
    let render = json_render(&scratch, &[]);
    assert_eq!(render["ingressRules"][0]["cidr"], "0.0.0.0/0");
    assert_eq!(render["ingressRules"][0]["public"], true);
    assert!(
        scratch
            .render(&[])
            .success()
            .contains("(PUBLIC: every address, allowPublic)")
    );
}

#[test]
fn json_holds_the_same_objects_as_yaml() {
    let scratch = Scratch::new();
    let yaml = documents(&scratch.render(&[]).success());
    assert_eq!(Value::Array(yaml), json_render(&scratch, &[])["objects"]);
}

#[test]
fn out_dir_writes_one_file_per_stack() {
    let scratch = Scratch::new();
    let listing = scratch.render(&["--out-dir", "out"]).success();
    let expected = [
        "linkerd.yaml",
        "prometheus.yaml",
        "grafana.yaml",
        "bookinfo.yaml",
        "ingress-rules.yaml",
    ];
    let listed: Vec<&str> = listing.lines().collect();
    let wanted: Vec<String> = expected.iter().map(|file| format!("out/{file}")).collect();
    assert_eq!(listed, wanted);
    let mut on_disk: Vec<String> = fs::read_dir(scratch.path().join("out"))
        .expect("out/")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut files: Vec<String> = expected.iter().map(ToString::to_string).collect();
    files.sort();
    assert_eq!(on_disk, files, "no temporary files are left behind");
    // The same objects as one render, each stack's in its own file.
    let key = |o: &Value| {
        o["kind"].to_string()
            + &o["metadata"]["namespace"].to_string()
            + &o["metadata"]["name"].to_string()
    };
    let mut from_files: Vec<Value> = expected[..4]
        .iter()
        .flat_map(|file| documents(&scratch.read(&format!("out/{file}"))))
        .collect();
    let mut whole = documents(&scratch.render(&[]).success());
    from_files.sort_by_key(key);
    whole.sort_by_key(key);
    assert_eq!(from_files, whole);
    for file in &expected[..4] {
        let stack = file.trim_end_matches(".yaml");
        assert!(
            documents(&scratch.read(&format!("out/{file}")))
                .iter()
                .all(|o| o["metadata"]["labels"]["obsboot.dev/stack"] == stack)
        );
    }
    let ingress: Value =
        serde_yaml::from_str(&scratch.read("out/ingress-rules.yaml")).expect("YAML");
    assert_eq!(ingress["closedPorts"][0]["port"], 30080);
    assert_eq!(ingress["ingressRules"], json!([]));
    // Rendering again replaces the files.
    scratch
        .render(&["--out-dir", "out", "--stack", "bookinfo"])
        .success();
    assert!(
        scratch
            .read("out/bookinfo.yaml")
            .starts_with("# Stack bookinfo, rendered by obsboot")
    );
}

#[test]
fn selected_stacks_only() {
    let all = objects(&json_render(
        &Scratch::new(),
        &["--stack", "linkerd", "--stack", "bookinfo"],
    ));
    let stacks: std::collections::BTreeSet<&str> = all
        .iter()
        .map(|o| {
            o["metadata"]["labels"]["obsboot.dev/stack"]
                .as_str()
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(
        stacks.into_iter().collect::<Vec<_>>(),
        ["bookinfo", "linkerd"]
    );
}

#[test]
fn unmeshed_bookinfo_runs_restricted() {
    let scratch = Scratch::new();
    scratch.edit("stacks/bookinfo.yaml", "  mesh: true", "  mesh: false");
    let all = objects(&json_render(&scratch, &["--stack", "bookinfo"]));
    let namespace = object(&all, "Namespace", "bookinfo");
    assert_eq!(
        namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
        "restricted"
    );
    assert!(
        namespace["metadata"]["annotations"]
            .get("linkerd.io/inject")
            .is_none()
    );
}

#[test]
fn logs_go_to_stderr_and_stdout_stays_yaml() {
    let scratch = Scratch::new();
    let run = scratch.run(&["-v", "render"]);
    assert_eq!(run.code, 0);
    let objects = documents(&run.stdout).len();
    assert!(objects > 70, "the whole platform is on stdout, parseable");
    let logged = format!("rendered {objects} objects from 4 stacks");
    assert!(run.stderr.contains(&logged), "{}", run.stderr);
    assert!(
        !run.stderr.contains('\u{1b}'),
        "no colour codes on a standard error that is a pipe: {:?}",
        run.stderr
    );
    let quiet = scratch.run(&["render"]);
    assert_eq!(quiet.stderr, "", "a default render logs nothing");
}

#[test]
fn nothing_secret_is_rendered() {
    let yaml = Scratch::new().run(&["render"]).success();
    for object in documents(&yaml) {
        assert_ne!(
            object["kind"], "Secret",
            "secrets are generated at bootstrap, never rendered"
        );
    }
    // No key or certificate material either: PEM only arrives at bootstrap, in the
    // placeholders' place.
    for needle in ["-----BEGIN", "PRIVATE KEY"] {
        assert!(!yaml.contains(needle), "{needle}");
    }
    assert!(yaml.contains("obsboot-fills-at-bootstrap(linkerd-trust-anchor)"));
}

#[test]
fn init_writes_the_defaults_for_editing() {
    let scratch = Scratch::new();
    let listing = scratch.run(&["init", "mine", "--templates"]).success();
    assert!(
        listing.contains("mine/cluster.yaml\n")
            && listing.contains("mine/templates/bookinfo/deployments.yaml.j2\n"),
        "{listing}"
    );
    assert_eq!(
        scratch.read("mine/bookinfo.yaml"),
        fs::read_to_string(repo().join("stacks/bookinfo.yaml")).expect("read")
    );
    let rendered = scratch
        .run(&[
            "render",
            "--stacks",
            "mine",
            "--templates",
            "mine/templates",
        ])
        .success();
    assert_eq!(
        documents(&rendered),
        documents(&scratch.run(&["render"]).success())
    );
    let again = scratch.run(&["init", "mine"]).failure();
    assert_eq!(
        again,
        "error: \"mine/bookinfo.yaml\" already exists; pass --force to overwrite it\n"
    );
    scratch.run(&["init", "mine", "--force"]).success();
}

#[test]
fn help_teaches_by_example() {
    let scratch = Scratch::new();
    insta::assert_snapshot!("help", scratch.run(&["--help"]).success());
    insta::assert_snapshot!("render_help", scratch.run(&["render", "--help"]).success());
}

#[test]
fn the_header_says_a_render_with_generated_material_is_for_review_only() {
    let scratch = Scratch::new();
    let warning =
        "# This render is for review: applied as it is (kubectl apply), Linkerd cannot start";
    let all = scratch.run(&["render"]).success();
    assert!(all.contains(warning), "{}", &all[..2000.min(all.len())]);
    for stack in ["prometheus", "bookinfo"] {
        let alone = scratch.run(&["render", "--stack", stack]).success();
        assert!(!alone.contains(warning), "{stack}");
        assert!(
            !alone.contains("obsboot-fills-at-bootstrap")
                && !alone.contains("Secrets bootstrap creates"),
            "the {stack} stack applies as it is rendered"
        );
    }
}

/// Values that YAML would read as numbers, booleans or nulls reach the objects as the strings
/// the stack files give.
#[test]
fn values_that_look_like_numbers_stay_strings() {
    let scratch = Scratch::new();
    scratch
        .edit(
            "stacks/bookinfo.yaml",
            "namespace: bookinfo",
            "namespace: \"123\"",
        )
        .edit(
            "stacks/grafana.yaml",
            "adminSecret: grafana-admin",
            "adminSecret: \"12345\"",
        )
        .edit(
            "stacks/linkerd.yaml",
            "trustDomain: cluster.local",
            "trustDomain: \"null\"",
        );
    let render = json_render(&scratch, &[]);
    let objects = objects(&render);
    assert_eq!(
        object(&objects, "Service", "productpage")["metadata"]["namespace"],
        json!("123")
    );
    let grafana = object(&objects, "Deployment", "grafana");
    let volumes = grafana["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .expect("volumes");
    assert!(
        volumes
            .iter()
            .any(|v| v["secret"]["secretName"] == json!("12345")),
        "{volumes:?}"
    );
    let identity = object(&objects, "Deployment", "linkerd-identity");
    assert!(
        identity.to_string().contains("-identity-trust-domain=null"),
        "{identity}"
    );
}
