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
    let tool = std::env::var_os("OBSBOOT_KUBERNETES_VALIDATE")
        .map_or_else(|| PathBuf::from("kubernetes-validate"), PathBuf::from);
    let runs = Command::new(&tool)
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success());
    assert!(
        runs,
        "{} is not installed; run tests/run, which installs it (pip install kubernetes-validate)",
        tool.display()
    );
    tool
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
