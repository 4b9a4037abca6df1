//! Every rendered object validated against the official Kubernetes OpenAPI schemas by
//! `kubernetes-validate` (PyPI) in strict mode, which rejects fields a schema does not
//! declare. The test command (`tests/run`) installs it; these tests fail if it is missing.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::Scratch;

/// The oldest and the newest Kubernetes versions the manifests must be valid for.
const VERSIONS: [&str; 2] = ["1.33.0", "1.37.0"];

/// The validator: `$OBSBOOT_KUBERNETES_VALIDATE`, else `kubernetes-validate` on `PATH`.
fn validator() -> PathBuf {
    crate::harness::tool(
        "OBSBOOT_KUBERNETES_VALIDATE",
        "kubernetes-validate",
        "`pip install kubernetes-validate`",
    )
}

/// Runs the validator on `files` for every version in [`VERSIONS`]; returns failures.
fn validate(files: &[PathBuf]) -> Vec<String> {
    let tool = validator();
    let mut failures = Vec::new();
    for version in VERSIONS {
        let output = Command::new(&tool)
            .args(["--strict", "--quiet", "-k", version])
            .args(files)
            .output()
            .expect("run kubernetes-validate");
        if !output.status.success() {
            failures.push(format!(
                "kubernetes-validate {version}:\n{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
    }
    failures
}

/// Renders into `out/` and returns the manifest files (not the ingress plan).
fn render_files(scratch: &Scratch, args: &[&str]) -> Vec<PathBuf> {
    let mut all = vec!["--out-dir", "out"];
    all.extend_from_slice(args);
    let listing = scratch.render(&all).success();
    let files: Vec<PathBuf> = listing
        .lines()
        .filter(|line| !line.ends_with("ingress-rules.yaml"))
        .map(|line| scratch.path().join(line))
        .collect();
    assert!(files.iter().all(|file| Path::new(file).exists()));
    files
}

#[test]
fn default_render_passes_strict_schemas() {
    let scratch = Scratch::new();
    let failures = validate(&render_files(&scratch, &[]));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn variants_pass_strict_schemas() {
    let scratch = Scratch::new();
    scratch.edit(
        "stacks/cluster.yaml",
        "  sources: []",
        "  sources: [203.0.113.0/24]",
    );
    scratch.edit("stacks/bookinfo.yaml", "  mesh: true", "  mesh: false");
    scratch.edit(
        "stacks/bookinfo.yaml",
        "  details-v1:\n    placement: anywhere",
        "  details-v1:\n    placement: all-nodes",
    );
    scratch.edit(
        "stacks/bookinfo.yaml",
        "  ratings-v1:\n    placement: anywhere",
        "  ratings-v1:\n    placement: control-plane",
    );
    scratch.edit(
        "stacks/linkerd.yaml",
        "  heartbeat: false",
        "  heartbeat: true",
    );
    scratch.edit(
        "stacks/linkerd.yaml",
        "  gatewayApi: if-absent",
        "  gatewayApi: always",
    );
    scratch.edit(
        "stacks/linkerd.yaml",
        "  iptablesMode: nft",
        "  iptablesMode: legacy",
    );
    scratch.edit(
        "stacks/prometheus.yaml",
        "    volume: emptyDir",
        "    volume: persistentVolumeClaim\n    storageClass: gp3",
    );
    let failures = validate(&render_files(&scratch, &[]));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The validator really is strict: a field outside the schema fails it. Without this, a
/// validator that accepted anything would let the tests above pass.
#[test]
fn validator_rejects_fields_outside_the_schema() {
    let scratch = Scratch::new();
    scratch.write(
        "bad.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  portz: []\n",
    );
    let failures = validate(&[scratch.path().join("bad.yaml")]);
    assert_eq!(failures.len(), VERSIONS.len());
    assert!(
        failures[0].contains("'portz' was unexpected"),
        "{}",
        failures[0]
    );
}

/// Every rendered CRD has exactly one storage version and structural schemas, as the API
/// server requires: a type on every node (unless it is int-or-string or keeps unknown
/// fields), never `properties` beside `additionalProperties`, `items` for every array,
/// every required field declared, and nothing but name and generateName under the root's
/// metadata.
#[test]
fn crd_schemas_are_structural() {
    let scratch = Scratch::new();
    let document: serde_json::Value =
        serde_json::from_str(&scratch.render(&["-o", "json"]).success()).expect("JSON");
    let crds: Vec<&serde_json::Value> = document["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .filter(|o| o["kind"] == "CustomResourceDefinition")
        .collect();
    assert_eq!(crds.len(), 12);
    let mut problems = Vec::new();
    for crd in crds {
        let name = crd["metadata"]["name"].as_str().unwrap_or_default();
        let versions = crd["spec"]["versions"].as_array().expect("versions");
        let stored = versions.iter().filter(|v| v["storage"] == true).count();
        if stored != 1 {
            problems.push(format!("{name}: {stored} storage versions"));
        }
        for version in versions {
            let at = format!("{name} {}", version["name"].as_str().unwrap_or_default());
            let schema = &version["schema"]["openAPIV3Schema"];
            if let Some(metadata) = schema["properties"]["metadata"]["properties"].as_object()
                && metadata
                    .keys()
                    .any(|key| key != "name" && key != "generateName")
            {
                problems.push(format!(
                    "{at}: metadata may only constrain name and generateName"
                ));
            }
            structural(schema, &at, &mut problems);
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn structural(node: &serde_json::Value, at: &str, problems: &mut Vec<String>) {
    let free = node["x-kubernetes-int-or-string"] == true
        || node["x-kubernetes-preserve-unknown-fields"] == true;
    if node.get("type").is_none() && !free {
        problems.push(format!("{at}: no type"));
    }
    if node.get("properties").is_some() && node.get("additionalProperties").is_some() {
        problems.push(format!("{at}: both properties and additionalProperties"));
    }
    if node["type"] == "array" && node.get("items").is_none() {
        problems.push(format!("{at}: an array without items"));
    }
    if let (Some(required), Some(properties)) =
        (node["required"].as_array(), node["properties"].as_object())
    {
        for field in required.iter().filter_map(serde_json::Value::as_str) {
            if !properties.contains_key(field) {
                problems.push(format!("{at}: requires {field}, which it does not declare"));
            }
        }
    }
    for (key, child) in node["properties"].as_object().into_iter().flatten() {
        structural(child, &format!("{at}.{key}"), problems);
    }
    if node["items"].is_object() {
        structural(&node["items"], &format!("{at}[]"), problems);
    }
    if node["additionalProperties"].is_object() {
        structural(
            &node["additionalProperties"],
            &format!("{at}{{*}}"),
            problems,
        );
    }
    for junctor in ["allOf", "anyOf", "oneOf"] {
        for (index, branch) in node[junctor].as_array().into_iter().flatten().enumerate() {
            // Junctor branches may leave out types (they only narrow what the node allows).
            let mut nested = Vec::new();
            structural(branch, &format!("{at}.{junctor}[{index}]"), &mut nested);
            problems.extend(nested.into_iter().filter(|p| !p.ends_with(": no type")));
        }
    }
}

/// The structural check finds what it looks for (otherwise the test above proves nothing).
#[test]
fn structural_check_finds_problems() {
    let schema = serde_json::json!({
        "type": "object",
        "required": ["spec", "status"],
        "properties": {
            "spec": {"properties": {"a": {"type": "string"}}, "additionalProperties": {"type": "string"}},
            "list": {"type": "array"},
            "any": {"x-kubernetes-preserve-unknown-fields": true},
        }
    });
    let mut problems = Vec::new();
    structural(&schema, "x", &mut problems);
    assert_eq!(
        problems,
        [
            "x: requires status, which it does not declare",
            "x.list: an array without items",
            "x.spec: no type",
            "x.spec: both properties and additionalProperties",
        ]
    );
}

/// The YAML output reads back as the same objects in a YAML 1.1 reader (PyYAML, which
/// `kubernetes-validate` brings, resolves `yes`, `on`, `0755`, `1:30` and dates as 1.1 does),
/// so no string turns into a boolean, a number or a date on the way to the cluster.
#[test]
fn yaml_reads_back_alike_in_yaml_1_1() {
    const COMPARE: &str = r#"
import json, sys, yaml
with open(sys.argv[1]) as f:
    expected = json.load(f)["objects"]
with open(sys.argv[2]) as f:
    read = [d for d in yaml.safe_load_all(f) if d is not None]
if read != expected:
    for index, (a, b) in enumerate(zip(read, expected)):
        if a != b:
            sys.exit("document %d differs: %s/%s" % (index, b["kind"], b["metadata"]["name"]))
    sys.exit("%d documents read, %d expected" % (len(read), len(expected)))
"#;
    let scratch = Scratch::new();
    scratch.write("out.json", &scratch.render(&["-o", "json"]).success());
    scratch.write("out.yaml", &scratch.render(&[]).success());
    let tool = validator();
    let python = tool
        .parent()
        .map(|bin| bin.join("python3"))
        .filter(|python| python.exists())
        .unwrap_or_else(|| PathBuf::from("python3"));
    let output = Command::new(python)
        .args(["-c", COMPARE])
        .arg(scratch.path().join("out.json"))
        .arg(scratch.path().join("out.yaml"))
        .output()
        .expect("run python3");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
