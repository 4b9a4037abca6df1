//! Messages stay precise and bounded whatever the input: every independent mistake of a file
//! at once, invisible and look-alike characters named, huge values and floods of errors cut
//! short, and key material pasted where a path belongs never echoed.

use crate::harness::Scratch;

/// A private key, as one would paste it by mistake (generated for this test, used nowhere).
const KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg4oPcQYf9OpsV5N3Y
HogKobYMisPZE6ytvaUSP4jKzzehRANCAASGSpFk82X3AefVjYVEZ+6xN8czG5gp
37VjiKswdESvlqDLdnGc6NR4SwKitsCEKnVZSWaDaxmUkeRdT9tQP4Bm
-----END PRIVATE KEY-----";

#[test]
fn every_independent_mistake_of_a_file_is_reported() {
    let scratch = Scratch::fixture();
    scratch.write(
        "stacks/bookinfo.yaml",
        "kind: Bookinfo
namespace: bookinfo
colour: blue
spec:
  mesh: yes please
  images:
    registry: docker.io/istio
    tag: 1.20.3
workloads:
  productpage-v1:
    placement: control-plane
    expose:
      - containerPort: 9080
        hostPort: 70000
  details-v1:
    placement: everywhere
",
    );
    assert_eq!(
        scratch.render(&[]).failure(),
        "error: stacks/bookinfo.yaml:3:1: unknown field `colour`; expected one of: kind, namespace, spec, workloads
  |
3 | colour: blue
  | ^^^^^^

error: stacks/bookinfo.yaml:5:9: spec.mesh: expected true or false, found the string \"yes please\"
  |
5 |   mesh: yes please
  |         ^^^^^^^^^^

error: stacks/bookinfo.yaml:14:19: workloads.productpage-v1.expose[0].hostPort: expected a port number from 1 to 65535, found the number 70000
   |
14 |         hostPort: 70000
   |                   ^^^^^

error: stacks/bookinfo.yaml:16:16: workloads.details-v1.placement: unknown value `everywhere`; expected one of: control-plane, anywhere, all-nodes
   |
16 |     placement: everywhere
   |                ^^^^^^^^^^
"
    );
}

#[test]
fn tabs_and_look_alike_letters_are_named_by_code_point_and_column() {
    let scratch = Scratch::fixture();
    scratch.edit("stacks/bookinfo.yaml", "\nnamespace:", "\n\tnamespace:");
    scratch.edit("stacks/grafana.yaml", "namespace:", "n\u{430}mespace:");
    scratch.edit("stacks/linkerd.yaml", "heartbeat:", "heart\u{200b}beat:");
    let err = scratch.render(&[]).failure();
    assert!(
        err.contains(
            "2 | →namespace: bookinfo
  | ^
note: column 1 is U+0009 CHARACTER TABULATION (a tab); YAML indents with spaces only"
        ),
        "{err}"
    );
    assert!(
        err.contains(
            "unknown field `n\u{430}mespace`; expected one of: kind, namespace, spec, workloads
  |
2 | n\u{430}mespace: grafana
  | ^^^^^^^^^
note: column 2 is U+0430 CYRILLIC SMALL LETTER A, which looks like `a`"
        ),
        "{err}"
    );
    assert!(
        err.contains(
            "12 |   heart�beat: false
   |   ^^^^^^^^^^
note: column 8 is U+200B ZERO WIDTH SPACE"
        ),
        "{err}"
    );
}

#[test]
fn a_huge_value_and_a_flood_of_errors_print_little() {
    let scratch = Scratch::fixture();
    // Just under the 1 MiB a stack file may hold: the value itself is cut.
    let huge = "x".repeat(1_000_000);
    scratch.edit(
        "stacks/bookinfo.yaml",
        "namespace: bookinfo",
        &format!("namespace: {huge}"),
    );
    let err = scratch.render(&[]).failure();
    assert!(err.len() < 2_000, "{} bytes on stderr", err.len());
    assert!(err.contains("xxx…"), "{err}");

    // Past it: the file is refused where it crosses the limit.
    let huge = "x".repeat(10 << 20);
    scratch.edit(
        "stacks/bookinfo.yaml",
        "namespace: x",
        &format!("namespace: {huge}"),
    );
    let err = scratch.render(&[]).failure();
    assert!(err.len() < 2_000, "{} bytes on stderr", err.len());
    assert!(err.contains("may hold at most 1 MiB"), "{err}");

    let scratch = Scratch::fixture();
    let workloads: Vec<String> = (0..5_000)
        .map(|n| format!("  w{n}:\n    placement: nowhere\n"))
        .collect();
    let workloads = workloads.concat();
    scratch.write(
        "stacks/bookinfo.yaml",
        &format!("kind: Bookinfo\nnamespace: bookinfo\nspec:\n  mesh: false\n  images:\n    registry: r\n    tag: t\nworkloads:\n{workloads}"),
    );
    let err = scratch.render(&[]).failure();
    assert!(err.len() < 10_000, "{} bytes on stderr", err.len());
    assert_eq!(err.matches("\nerror: ").count(), 19, "{err}");
    assert!(err.ends_with("\n… and 4980 more error(s)\n"), "{err}");
}

#[test]
fn key_material_in_a_path_field_is_never_echoed() {
    let scratch = Scratch::fixture();
    let indented: Vec<String> = KEY.lines().map(|line| format!("      {line}\n")).collect();
    let indented = indented.concat();
    scratch.edit(
        "stacks/linkerd.yaml",
        "  certificates: {}\n",
        &format!("  certificates:\n    trustAnchor: ca.crt\n    issuerCertificate: issuer.crt\n    issuerKey: |\n{indented}"),
    );
    let err = scratch.render(&[]).failure();
    let body = KEY.lines().nth(1).expect("a base64 line");
    assert!(!err.contains(body), "{err}");
    assert!(
        err.contains("spec.certificates.issuerKey: this looks like the content of a key or certificate (PEM), not the path of a file; it is not shown here
   |
17 |       (not shown)
   |       ^
help: put the content in a file beside the stack file, give its path here"),
        "{err}"
    );

    let scratch = Scratch::fixture();
    let quoted = KEY.replace('\n', "\\n");
    scratch.edit(
        "stacks/linkerd.yaml",
        "  certificates: {}\n",
        &format!("  certificates:\n    trustAnchor: ca.crt\n    issuerCertificate: issuer.crt\n    issuerKey: \"{quoted}\"\n"),
    );
    let err = scratch.render(&[]).failure();
    assert!(!err.contains(body), "{err}");
    assert!(err.contains("16 |     issuerKey: (not shown)\n"), "{err}");
}
