//! The exact error text for bad stack files and templates: each names the file, line and
//! column, shows the line, names the field and says what was expected. Nothing is printed
//! on standard output and the exit code is 2.

use crate::harness::Scratch;

/// An unknown field names the fields that are allowed.
#[test]
fn unknown_field() {
    let scratch = Scratch::fixture();
    scratch.edit(
        "stacks/bookinfo.yaml",
        "        description: Bookinfo productpage\n",
        "        description: Bookinfo productpage\n        prot: 3000\n",
    );
    assert_eq!(
        scratch.render(&[]).failure(),
        r"error: stacks/bookinfo.yaml:15:9: workloads.productpage-v1.expose[0]: unknown field `prot`; expected one of: containerPort, hostPort, description, sources, allowPublic
   |
15 |         prot: 3000
   |         ^^^^
"
    );
}

/// A string where a port number belongs.
#[test]
fn wrong_type() {
    let scratch = Scratch::fixture();
    scratch.edit(
        "stacks/bookinfo.yaml",
        "hostPort: 30080",
        "hostPort: \"http\"",
    );
    assert_eq!(
        scratch.render(&[]).failure(),
        r#"error: stacks/bookinfo.yaml:13:19: workloads.productpage-v1.expose[0].hostPort: expected a port number from 1 to 65535, found the string "http"
   |
13 |         hostPort: "http"
   |                   ^^^^^^
"#
    );
}

/// A scalar where a list belongs.
#[test]
fn wrong_type_scalar_for_list() {
    let scratch = Scratch::fixture();
    scratch.edit(
        "stacks/cluster.yaml",
        "  sources: []",
        "  sources: 203.0.113.0/24",
    );
    assert_eq!(
        scratch.render(&[]).failure(),
        r#"error: stacks/cluster.yaml:15:12: ingress.sources: expected a list, found the string "203.0.113.0/24"
   |
15 |   sources: 203.0.113.0/24
   |            ^^^^^^^^^^^^^^
"#
    );
}

/// A key given twice in one mapping names both lines.
#[test]
fn duplicate_key() {
    let scratch = Scratch::fixture();
    scratch.edit(
        "stacks/bookinfo.yaml",
        "        hostPort: 30080\n",
        "        hostPort: 30080\n        hostPort: 30081\n",
    );
    assert_eq!(
        scratch.render(&[]).failure(),
        r#"error: stacks/bookinfo.yaml:14:9: duplicate key "hostPort"
   |
14 |         hostPort: 30081
   |         ^^^^^^^^
note: stacks/bookinfo.yaml:13:9: first defined here
   |
13 |         hostPort: 30080
   |         ^^^^^^^^
help: keep one of the two; YAML would otherwise silently drop the first
"#
    );
}

/// A syntax error in a stack file says which construct was left open, and where.
#[test]
fn stack_yaml_invalid() {
    let scratch = Scratch::fixture();
    scratch.edit(
        "stacks/bookinfo.yaml",
        "        hostPort: 30080\n",
        "        hostPort: [30080\n",
    );
    assert_eq!(
        scratch.render(&[]).failure(),
        r"error: stacks/bookinfo.yaml:14:20: did not find expected ',' or ']', while parsing a flow sequence at line 13 column 19
   |
14 |         description: Bookinfo productpage
   |                    ^
"
    );
}

/// A workload declared twice: serde alone would keep the last one silently.
#[test]
fn duplicate_workload() {
    let scratch = Scratch::fixture();
    scratch.edit(
        "stacks/bookinfo.yaml",
        "  details-v1:\n    placement: anywhere\n",
        "  details-v1:\n    placement: anywhere\n  details-v1:\n    placement: control-plane\n",
    );
    assert_eq!(
        scratch.render(&[]).failure(),
        r#"error: stacks/bookinfo.yaml:17:3: duplicate key "details-v1"
   |
17 |   details-v1:
   |   ^^^^^^^^^^
note: stacks/bookinfo.yaml:15:3: first defined here
   |
15 |   details-v1:
   |   ^^^^^^^^^^
help: keep one of the two; YAML would otherwise silently drop the first
"#
    );
}

/// Ports are 1 to 65535.
#[test]
fn port_out_of_range() {
    let scratch = Scratch::fixture();
    scratch.edit("stacks/bookinfo.yaml", "hostPort: 30080", "hostPort: 70000");
    assert_eq!(
        scratch.render(&[]).failure(),
        r"error: stacks/bookinfo.yaml:13:19: workloads.productpage-v1.expose[0].hostPort: expected a port number from 1 to 65535, found the number 70000
   |
13 |         hostPort: 70000
   |                   ^^^^^
"
    );
}

/// Port 0 is not a port.
#[test]
fn port_zero() {
    let scratch = Scratch::fixture();
    scratch.edit(
        "stacks/bookinfo.yaml",
        "containerPort: 9080",
        "containerPort: 0",
    );
    assert_eq!(
        scratch.render(&[]).failure(),
        r"error: stacks/bookinfo.yaml:12:24: workloads.productpage-v1.expose[0].containerPort: expected a port number from 1 to 65535, found the number 0
   |
12 |       - containerPort: 0
   |                        ^
"
    );
}

/// Two workloads claiming one host port: the second is named, the first shown.
#[test]
fn host_port_claimed_twice() {
    let scratch = Scratch::fixture();
    scratch.edit("stacks/bookinfo.yaml", "  details-v1:\n    placement: anywhere\n", "  details-v1:\n    placement: control-plane\n    expose:\n      - containerPort: 9080\n        hostPort: 30080\n        description: Bookinfo details\n");
    assert_eq!(
        scratch.render(&[]).failure(),
        r"error: stacks/bookinfo.yaml:19:19: host port 30080 is already claimed by bookinfo/productpage-v1
   |
19 |         hostPort: 30080
   |                   ^^^^^
note: stacks/bookinfo.yaml:13:19: first claimed here
   |
13 |         hostPort: 30080
   |                   ^^^^^
help: each exposed workload needs a host port of its own
"
    );
}

/// A host port the control-plane node itself serves.
#[test]
fn host_port_reserved() {
    let scratch = Scratch::fixture();
    scratch.edit("stacks/bookinfo.yaml", "hostPort: 30080", "hostPort: 6443");
    assert_eq!(
        scratch.render(&[]).failure(),
        r"error: stacks/bookinfo.yaml:13:19: host port 6443 is used by the Kubernetes API server on the control-plane node
   |
13 |         hostPort: 6443
   |                   ^^^^
help: choose another host port, such as one from 30000-32767
"
    );
}

/// Every port a kubeadm control-plane node binds is refused, not only the best known.
#[test]
fn host_ports_of_kubeadm_components_are_reserved() {
    for (port, what) in [
        ("10248", "the kubelet's health check"),
        ("2381", "etcd's metrics listener"),
        ("10258", "cloud-controller-manager"),
        ("10256", "kube-proxy's health check"),
    ] {
        let scratch = Scratch::fixture();
        scratch.edit(
            "stacks/bookinfo.yaml",
            "hostPort: 30080",
            &format!("hostPort: {port}"),
        );
        let err = scratch.render(&[]).failure();
        assert!(
            err.starts_with(&format!(
                "error: stacks/bookinfo.yaml:13:19: host port {port} is used by {what} on the control-plane node\n"
            )),
            "{err}"
        );
    }
}

/// A host port in the ephemeral range renders, with a warning on stderr that says why.
#[test]
fn host_port_in_the_ephemeral_range_warns() {
    let scratch = Scratch::fixture();
    scratch.edit("stacks/bookinfo.yaml", "hostPort: 30080", "hostPort: 40000");
    let run = scratch.render(&[]);
    let stderr = run.stderr.clone();
    run.success();
    assert!(
        stderr.contains("stacks/bookinfo.yaml:13:19: host port 40000 (bookinfo/productpage-v1) is in Linux's ephemeral port range 32768-60999: a connection the node opens may get it as its local port, and its replies would then go to the pod; choose one from 30000-32767"),
        "{stderr}"
    );
}

/// A zero retention, which Prometheus would silently replace with 15 days.
#[test]
fn zero_retention() {
    let scratch = Scratch::fixture();
    scratch.edit("stacks/prometheus.yaml", "retention: 15d", "retention: 0s");
    assert_eq!(
        scratch.render(&[]).failure(),
        r"error: stacks/prometheus.yaml:9:14: spec.retention: a retention of 0s is not positive: Prometheus reads a zero retention as unset and keeps 15 days
  |
9 |   retention: 0s
  |              ^^
help: give how long samples are kept, such as 15d
"
    );
}

/// Namespaces Kubernetes owns are refused as stack namespaces.
#[test]
fn system_namespaces_are_refused() {
    for namespace in ["kube-system", "kube-public", "kube-node-lease", "default"] {
        let scratch = Scratch::fixture();
        scratch.edit(
            "stacks/bookinfo.yaml",
            "namespace: bookinfo",
            &format!("namespace: {namespace}"),
        );
        let err = scratch.render(&[]).failure();
        assert!(
            err.starts_with(&format!(
                "error: stacks/bookinfo.yaml:2:12: namespace: namespace \"{namespace}\" belongs to Kubernetes: obsboot would label it as its own, and teardown would touch a namespace obsboot did not create\n"
            )),
            "{err}"
        );
        assert!(
            err.contains("help: give the stack a namespace of its own"),
            "{err}"
        );
    }
}

/// An address that is not an address.
#[test]
fn invalid_cidr() {
    let scratch = Scratch::fixture();
    scratch.edit(
        "stacks/cluster.yaml",
        "  sources: []",
        "  sources: [300.1.1.1/32]",
    );
    assert_eq!(
        scratch.render(&[]).failure(),
        r#"error: stacks/cluster.yaml:15:13: ingress.sources[0]: invalid CIDR "300.1.1.1/32": expected an IPv4 or IPv6 network such as 203.0.113.0/24
   |
15 |   sources: [300.1.1.1/32]
   |             ^^^^^^^^^^^^
"#
    );
}

/// Host bits set: EC2 would store another network than the one written.
#[test]
fn non_canonical_cidr() {
    let scratch = Scratch::fixture();
    scratch.edit(
        "stacks/cluster.yaml",
        "  sources: []",
        "  sources: [10.0.0.5/24]",
    );
    assert_eq!(
        scratch.render(&[]).failure(),
        r#"error: stacks/cluster.yaml:15:13: ingress.sources[0]: invalid CIDR "10.0.0.5/24": host bits are set; the network is 10.0.0.0/24
   |
15 |   sources: [10.0.0.5/24]
   |             ^^^^^^^^^^^
"#
    );
}

/// One address without its prefix length.
#[test]
fn cidr_without_prefix() {
    let scratch = Scratch::fixture();
    scratch.edit(
        "stacks/bookinfo.yaml",
        "        description: Bookinfo productpage\n",
        "        description: Bookinfo productpage\n        sources: [198.51.100.7]\n",
    );
    assert_eq!(
        scratch.render(&[]).failure(),
        r#"error: stacks/bookinfo.yaml:15:19: workloads.productpage-v1.expose[0].sources[0]: invalid CIDR "198.51.100.7": missing the prefix length; for this one address write 198.51.100.7/32
   |
15 |         sources: [198.51.100.7]
   |                   ^^^^^^^^^^^^
"#
    );
}

/// EC2 refuses the same permission twice in one request.
#[test]
fn cidr_listed_twice() {
    let scratch = Scratch::fixture();
    scratch.edit(
        "stacks/cluster.yaml",
        "  sources: []",
        "  sources:\n    - 203.0.113.0/24\n    - 203.0.113.0/24",
    );
    assert_eq!(
        scratch.render(&[]).failure(),
        r"error: stacks/cluster.yaml:17:7: ingress.sources[1]: 203.0.113.0/24 is listed twice
   |
17 |     - 203.0.113.0/24
   |       ^^^^^^^^^^^^^^
note: stacks/cluster.yaml:16:7: first listed here
   |
16 |     - 203.0.113.0/24
   |       ^^^^^^^^^^^^^^
"
    );
}

/// 0.0.0.0/0 needs allowPublic on the exposure; the error shows both places.
#[test]
fn world_open_without_consent() {
    let scratch = Scratch::fixture();
    scratch.edit(
        "stacks/cluster.yaml",
        "  sources: []",
        "  sources:\n    - 203.0.113.0/24\n    - 0.0.0.0/0",
    );
    assert_eq!(
        scratch.render(&[]).failure(),
        r"error: stacks/cluster.yaml:17:7: 0.0.0.0/0 would open host port 30300 to every address on the internet
   |
17 |     - 0.0.0.0/0
   |       ^^^^^^^^^
note: stacks/grafana.yaml:11:9: for this exposure
   |
11 |       - containerPort: 3000
   |         ^
help: to consent, set `allowPublic: true` on the exposure (workloads.grafana.expose[0] in stacks/grafana.yaml); otherwise list narrower sources, such as your own address as a /32

error: stacks/cluster.yaml:17:7: 0.0.0.0/0 would open host port 30080 to every address on the internet
   |
17 |     - 0.0.0.0/0
   |       ^^^^^^^^^
note: stacks/bookinfo.yaml:12:9: for this exposure
   |
12 |       - containerPort: 9080
   |         ^
help: to consent, set `allowPublic: true` on the exposure (workloads.productpage-v1.expose[0] in stacks/bookinfo.yaml); otherwise list narrower sources, such as your own address as a /32
"
    );
}

/// ::/0 is every address too.
#[test]
fn ipv6_world_open_without_consent() {
    let scratch = Scratch::fixture();
    scratch.edit(
        "stacks/bookinfo.yaml",
        "        description: Bookinfo productpage\n",
        "        description: Bookinfo productpage\n        sources: [\"::/0\"]\n",
    );
    assert_eq!(
        scratch.render(&[]).failure(),
        r#"error: stacks/bookinfo.yaml:15:19: ::/0 would open host port 30080 to every address on the internet
   |
15 |         sources: ["::/0"]
   |                   ^^^^^^
note: stacks/bookinfo.yaml:12:9: for this exposure
   |
12 |       - containerPort: 9080
   |         ^
help: to consent, set `allowPublic: true` on the exposure (workloads.productpage-v1.expose[0] in stacks/bookinfo.yaml); otherwise list narrower sources, such as your own address as a /32
"#
    );
}

/// Consent is judged by what the sources cover, not by their spelling: two halves of IPv4
/// together are every address, and a /7 is broader than a source may be without consent.
#[test]
fn sources_that_cover_the_internet_together_or_too_broadly_need_consent() {
    let scratch = Scratch::fixture();
    scratch.edit(
        "stacks/bookinfo.yaml",
        "        description: Bookinfo productpage\n",
        "        description: Bookinfo productpage\n        sources: [128.0.0.0/1, 0.0.0.0/1]\n",
    );
    scratch.edit(
        "stacks/grafana.yaml",
        "        description: Grafana\n",
        "        description: Grafana\n        sources: [10.0.0.0/7]\n",
    );
    let err = scratch.render(&[]).failure();
    assert!(
        err.contains("error: stacks/bookinfo.yaml:15:32: 0.0.0.0/1 and 128.0.0.0/1 together would open host port 30080 to every IPv4 (2^32 addresses) on the internet"),
        "{err}"
    );
    assert!(
        err.contains("error: stacks/grafana.yaml:14:19: 10.0.0.0/7 would open host port 30300 to 2^25 addresses, more than one source may cover without consent (/8 for IPv4, /16 for IPv6)"),
        "{err}"
    );
    assert_eq!(
        err.matches("to consent, set `allowPublic: true`").count(),
        2,
        "{err}"
    );
}

/// The same through `--allow-from`.
#[test]
fn allow_from_halves_of_the_internet_need_consent() {
    let scratch = Scratch::fixture();
    let err = scratch
        .render(&["--allow-from", "0.0.0.0/1", "--allow-from", "128.0.0.0/1"])
        .failure();
    assert!(
        err.contains("--allow-from 0.0.0.0/1 and 128.0.0.0/1 together would open host port"),
        "{err}"
    );
    assert!(
        err.contains("to every IPv4 (2^32 addresses) on the internet"),
        "{err}"
    );
}

/// A kind obsboot does not know.
#[test]
fn unknown_stack_kind() {
    let scratch = Scratch::fixture();
    scratch.edit(
        "stacks/prometheus.yaml",
        "kind: Prometheus",
        "kind: Prometheuss",
    );
    assert_eq!(
        scratch.render(&[]).failure(),
        r"error: stacks/prometheus.yaml:1:7: kind: unknown value `Prometheuss`; expected one of: Cluster, Bookinfo, Prometheus, Grafana, Linkerd
  |
1 | kind: Prometheuss
  |       ^^^^^^^^^^^
"
    );
}

/// A template referring to a value the context lacks.
#[test]
fn undefined_template_value() {
    let scratch = Scratch::fixture().with_templates();
    scratch.edit(
        "templates/grafana/grafana.yaml.j2",
        "spec.image }}",
        "spec.imgae }}",
    );
    assert_eq!(
        scratch.render(&["--templates", "templates"]).failure(),
        r"error: templates/grafana/grafana.yaml.j2:43:21: `spec.imgae` is undefined
   |
43 |           image: {{ spec.imgae }}
   |                     ^^^^^^^^^^
help: the template context holds: stack, namespace, spec, workloads, cluster, stacks (each with namespace and spec), files
"
    );
}

/// A namespace that is not a DNS label.
#[test]
fn invalid_namespace_name() {
    let scratch = Scratch::fixture();
    scratch.edit(
        "stacks/bookinfo.yaml",
        "namespace: bookinfo",
        "namespace: Book_Info",
    );
    assert_eq!(
        scratch.render(&[]).failure(),
        r#"error: stacks/bookinfo.yaml:2:12: namespace: invalid name "Book_Info": must consist of lower case letters, digits and '-'
  |
2 | namespace: Book_Info
  |            ^^^^^^^^^
"#
    );
}

/// An object name the API server would reject, from a template.
#[test]
fn invalid_object_name() {
    let scratch = Scratch::fixture().with_templates();
    scratch.edit(
        "templates/bookinfo/serviceaccounts.yaml.j2",
        "  name: {{ \"bookinfo-\" ~ app }}",
        "  name: {{ \"bookinfo_\" ~ app }}",
    );
    assert_eq!(
        scratch
            .render(&["--templates", "templates", "--stack", "bookinfo"])
            .failure(),
        r#"error: templates/bookinfo/serviceaccounts.yaml.j2 (rendered):5:9: metadata.name: invalid ServiceAccount name "bookinfo_details": must consist of lower case letters, digits, '-' and '.'
  |
5 |   name: bookinfo_details
  |         ^^^^^^^^^^^^^^^^

error: templates/bookinfo/serviceaccounts.yaml.j2 (rendered):14:9: metadata.name: invalid ServiceAccount name "bookinfo_ratings": must consist of lower case letters, digits, '-' and '.'
   |
14 |   name: bookinfo_ratings
   |         ^^^^^^^^^^^^^^^^

error: templates/bookinfo/serviceaccounts.yaml.j2 (rendered):23:9: metadata.name: invalid ServiceAccount name "bookinfo_reviews": must consist of lower case letters, digits, '-' and '.'
   |
23 |   name: bookinfo_reviews
   |         ^^^^^^^^^^^^^^^^

error: templates/bookinfo/serviceaccounts.yaml.j2 (rendered):32:9: metadata.name: invalid ServiceAccount name "bookinfo_productpage": must consist of lower case letters, digits, '-' and '.'
   |
32 |   name: bookinfo_productpage
   |         ^^^^^^^^^^^^^^^^^^^^
"#
    );
}

/// A host port opened on the control-plane node for a pod that may run elsewhere.
#[test]
fn exposure_not_pinned() {
    let scratch = Scratch::fixture();
    scratch.edit(
        "stacks/bookinfo.yaml",
        "    placement: control-plane",
        "    placement: anywhere",
    );
    assert_eq!(
        scratch.render(&[]).failure(),
        r"error: stacks/bookinfo.yaml:10:16: workloads.productpage-v1.placement: productpage-v1 exposes host port 30080 but its placement is anywhere; the port is opened on the control-plane node, so the workload must run there
   |
10 |     placement: anywhere
   |                ^^^^^^^^
help: set `placement: control-plane` on this workload, or remove `expose`
"
    );
}

/// A declaration for a workload the templates do not render.
#[test]
fn declared_workload_not_rendered() {
    let scratch = Scratch::fixture();
    scratch.edit("stacks/bookinfo.yaml", "  details-v1:\n", "  detail-v1:\n");
    assert_eq!(
        scratch.render(&[]).failure(),
        r#"error: stacks/bookinfo.yaml:15:3: workload "detail-v1" is declared, but stack bookinfo renders no Deployment, DaemonSet, StatefulSet, Job or CronJob of that name
   |
15 |   detail-v1:
   |   ^^^^^^^^^
help: its workloads are: Deployment bookinfo/details-v1, Deployment bookinfo/ratings-v1, Deployment bookinfo/reviews-v1, Deployment bookinfo/reviews-v2, Deployment bookinfo/reviews-v3, Deployment bookinfo/productpage-v1
"#
    );
}

/// An exposure of a port no container declares.
#[test]
fn container_port_not_in_pod() {
    let scratch = Scratch::fixture();
    scratch.edit(
        "stacks/bookinfo.yaml",
        "containerPort: 9080",
        "containerPort: 9081",
    );
    assert_eq!(
        scratch.render(&[]).failure(),
        r"error: stacks/bookinfo.yaml:12:24: Deployment bookinfo/productpage-v1 has no TCP container port 9081
   |
12 |       - containerPort: 9081
   |                        ^^^^
help: its container ports are: 9080 in container productpage
"
    );
}

/// Host ports come only from `expose`.
#[test]
fn template_sets_host_port() {
    let scratch = Scratch::fixture().with_templates();
    scratch.edit(
        "templates/bookinfo/deployments.yaml.j2",
        "              containerPort: 9080\n",
        "              containerPort: 9080\n              hostPort: 9080\n",
    );
    assert_eq!(
        scratch
            .render(&["--templates", "templates", "--stack", "bookinfo"])
            .failure(),
        r"error: templates/bookinfo/deployments.yaml.j2 (rendered):34:25: spec.template.spec.containers[0].ports[0].hostPort: Deployment bookinfo/details-v1 sets hostPort 9080 in its template
   |
34 |               hostPort: 9080
   |                         ^^^^
help: declare it under `workloads.<name>.expose` in the stack file instead, so the security-group rule follows from the same declaration

error: templates/bookinfo/deployments.yaml.j2 (rendered):83:25: spec.template.spec.containers[0].ports[0].hostPort: Deployment bookinfo/ratings-v1 sets hostPort 9080 in its template
   |
83 |               hostPort: 9080
   |                         ^^^^
help: declare it under `workloads.<name>.expose` in the stack file instead, so the security-group rule follows from the same declaration

error: templates/bookinfo/deployments.yaml.j2 (rendered):135:25: spec.template.spec.containers[0].ports[0].hostPort: Deployment bookinfo/reviews-v1 sets hostPort 9080 in its template
    |
135 |               hostPort: 9080
    |                         ^^^^
help: declare it under `workloads.<name>.expose` in the stack file instead, so the security-group rule follows from the same declaration

error: templates/bookinfo/deployments.yaml.j2 (rendered):197:25: spec.template.spec.containers[0].ports[0].hostPort: Deployment bookinfo/reviews-v2 sets hostPort 9080 in its template
    |
197 |               hostPort: 9080
    |                         ^^^^
help: declare it under `workloads.<name>.expose` in the stack file instead, so the security-group rule follows from the same declaration

error: templates/bookinfo/deployments.yaml.j2 (rendered):259:25: spec.template.spec.containers[0].ports[0].hostPort: Deployment bookinfo/reviews-v3 sets hostPort 9080 in its template
    |
259 |               hostPort: 9080
    |                         ^^^^
help: declare it under `workloads.<name>.expose` in the stack file instead, so the security-group rule follows from the same declaration

error: templates/bookinfo/deployments.yaml.j2 (rendered):318:25: spec.template.spec.containers[0].ports[0].hostPort: Deployment bookinfo/productpage-v1 sets hostPort 9080 in its template
    |
318 |               hostPort: 9080
    |                         ^^^^
help: declare it under `workloads.<name>.expose` in the stack file instead, so the security-group rule follows from the same declaration
"
    );
}

/// Two replicas cannot bind one host port on the one control-plane node.
#[test]
fn pinned_replicas_with_host_port() {
    let scratch = Scratch::fixture().with_templates();
    scratch.edit(
        "templates/bookinfo/deployments.yaml.j2",
        "  replicas: 1\n",
        "  replicas: {{ 2 if app == 'productpage' else 1 }}\n",
    );
    assert_eq!(
        scratch.render(&["--templates", "templates"]).failure(),
        r"error: stacks/bookinfo.yaml:13:19: Deployment bookinfo/productpage-v1 runs 2 replicas on the one control-plane node, but only one pod there can bind host port 30080
   |
13 |         hostPort: 30080
   |                   ^^^^^
help: render it with `replicas: 1`
"
    );
}

/// EC2 rejects some characters in rule descriptions.
#[test]
fn description_outside_ec2_charset() {
    let scratch = Scratch::fixture();
    scratch.edit(
        "stacks/bookinfo.yaml",
        "description: Bookinfo productpage",
        "description: \"Bookinfo \\\"productpage\\\"\"",
    );
    assert_eq!(
        scratch.render(&[]).failure(),
        r#"error: stacks/bookinfo.yaml:14:22: workloads.productpage-v1.expose[0].description: invalid description "Bookinfo "productpage"": EC2 does not accept the character '"' in rule descriptions; use letters, digits, spaces and ._-:/()#,@[]+=&;{}!$*
   |
14 |         description: "Bookinfo \"productpage\""
   |                      ^^^^^^^^^^^^^^^^^^^^^^^^^^
"#
    );
}

/// A template whose output is not YAML.
#[test]
fn rendered_yaml_invalid() {
    let scratch = Scratch::fixture().with_templates();
    scratch.edit(
        "templates/bookinfo/services.yaml.j2",
        "    service: {{ app }}\n",
        "    service: [{{ app }}\n",
    );
    assert_eq!(
        scratch
            .render(&["--templates", "templates", "--stack", "bookinfo"])
            .failure(),
        r"error: templates/bookinfo/services.yaml.j2 (rendered):10:5: did not find expected ',' or ']', while parsing a flow sequence at line 9 column 14
   |
10 | spec:
   |     ^
help: the line numbers count lines of the template's output, not of the template
"
    );
}

/// A macro file with a syntax error is reported even when no manifest imports it.
#[test]
fn unused_macro_file_syntax_error() {
    let scratch = Scratch::fixture().with_templates();
    scratch.write(
        "templates/bookinfo/_helpers.j2",
        "{% macro x() %}\n{% if %}\n",
    );
    assert_eq!(
        scratch
            .render(&["--templates", "templates", "--stack", "bookinfo"])
            .failure(),
        r"error: templates/bookinfo/_helpers.j2:2:7: syntax error: unexpected end of block
  |
2 | {% if %}
  |       ^^
"
    );
}

/// A key twice in a template's output: serde_json alone would keep the last silently.
#[test]
fn rendered_duplicate_key() {
    let scratch = Scratch::fixture().with_templates();
    scratch.edit(
        "templates/bookinfo/services.yaml.j2",
        "    service: {{ app }}\n",
        "    service: {{ app }}\n    app: again\n",
    );
    assert_eq!(
        scratch
            .render(&["--templates", "templates", "--stack", "bookinfo"])
            .failure(),
        r#"error: templates/bookinfo/services.yaml.j2 (rendered):10:5: duplicate key "app"
   |
10 |     app: again
   |     ^^^
note: templates/bookinfo/services.yaml.j2 (rendered):8:5: first defined here
   |
 8 |     app: details
   |     ^^^
help: the line numbers count lines of the template's output, not of the template
"#
    );
}

/// A kind under the wrong apiVersion.
#[test]
fn unknown_template_kind() {
    let scratch = Scratch::fixture().with_templates();
    scratch.edit(
        "templates/bookinfo/services.yaml.j2",
        "apiVersion: v1\nkind: Service",
        "apiVersion: extensions/v1beta1\nkind: Service",
    );
    assert_eq!(
        scratch
            .render(&["--templates", "templates", "--stack", "bookinfo"])
            .failure(),
        r"error: templates/bookinfo/services.yaml.j2 (rendered):2:13: apiVersion: Service is served as v1, not extensions/v1beta1
  |
2 | apiVersion: extensions/v1beta1
  |             ^^^^^^^^^^^^^^^^^^

error: templates/bookinfo/services.yaml.j2 (rendered):19:13: apiVersion: Service is served as v1, not extensions/v1beta1
   |
19 | apiVersion: extensions/v1beta1
   |             ^^^^^^^^^^^^^^^^^^

error: templates/bookinfo/services.yaml.j2 (rendered):36:13: apiVersion: Service is served as v1, not extensions/v1beta1
   |
36 | apiVersion: extensions/v1beta1
   |             ^^^^^^^^^^^^^^^^^^

error: templates/bookinfo/services.yaml.j2 (rendered):53:13: apiVersion: Service is served as v1, not extensions/v1beta1
   |
53 | apiVersion: extensions/v1beta1
   |             ^^^^^^^^^^^^^^^^^^
"
    );
}

/// A field the Kubernetes schema does not declare.
#[test]
fn field_outside_schema() {
    let scratch = Scratch::fixture().with_templates();
    scratch.edit(
        "templates/bookinfo/services.yaml.j2",
        "      protocol: TCP\n",
        "      protocol: TCP\n      protocoll: TCP\n",
    );
    assert_eq!(
        scratch
            .render(&["--templates", "templates", "--stack", "bookinfo"])
            .failure(),
        r"error: templates/bookinfo/services.yaml.j2 (rendered):18:18: spec.ports[0].protocoll: Service bookinfo/details: field not declared in the v1 Service schema
   |
18 |       protocoll: TCP
   |                  ^^^

error: templates/bookinfo/services.yaml.j2 (rendered):36:18: spec.ports[0].protocoll: Service bookinfo/ratings: field not declared in the v1 Service schema
   |
36 |       protocoll: TCP
   |                  ^^^

error: templates/bookinfo/services.yaml.j2 (rendered):54:18: spec.ports[0].protocoll: Service bookinfo/reviews: field not declared in the v1 Service schema
   |
54 |       protocoll: TCP
   |                  ^^^

error: templates/bookinfo/services.yaml.j2 (rendered):72:18: spec.ports[0].protocoll: Service bookinfo/productpage: field not declared in the v1 Service schema
   |
72 |       protocoll: TCP
   |                  ^^^
"
    );
}

/// An empty file.
#[test]
fn empty_stack_file() {
    let scratch = Scratch::fixture();
    scratch.write("stacks/grafana.yaml", "# nothing yet\n");
    assert_eq!(
        scratch.render(&[]).failure(),
        r"error: stacks/grafana.yaml:1:1: the file is empty
  |
1 | # nothing yet
  | ^
help: a stack file starts with `kind:` (Cluster, Bookinfo, Prometheus, Grafana or Linkerd)
"
    );
}

/// A stack file holds the kind its name says.
#[test]
fn a_file_named_for_another_kind() {
    let scratch = Scratch::fixture();
    let grafana = scratch.read("stacks/grafana.yaml");
    scratch.remove("stacks/grafana.yaml");
    scratch.write("stacks/bookinfo.yaml", &grafana);
    assert_eq!(
        scratch.render(&[]).failure(),
        r"error: stacks/bookinfo.yaml:1:7: kind: a file of kind Grafana must be named grafana.yaml, not bookinfo.yaml
  |
1 | kind: Grafana
  |       ^^^^^^^
help: rename the file to grafana.yaml, or set `kind: Bookinfo` if it describes that stack
"
    );
}

/// A name that is a stack file's but for case or extension is an error, not a stack left out;
/// a copy under another name is left alone.
#[test]
fn a_stack_file_misnamed() {
    let scratch = Scratch::fixture();
    let grafana = scratch.read("stacks/grafana.yaml");
    scratch.remove("stacks/grafana.yaml");
    scratch.write("stacks/grafana.YAML", &grafana);
    scratch.write("stacks/grafana-copy.yaml", "not: [a stack file");
    let run = scratch.render(&[]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.failure(),
        "error: \"stacks/grafana.YAML\" is not read as a stack file: stack files have exact names; rename it to \"grafana.yaml\" (or move it out of the directory)\n"
    );
}

/// A meshed stack without a Linkerd stack.
#[test]
fn mesh_without_linkerd() {
    let scratch = Scratch::fixture();
    scratch.remove("stacks/linkerd.yaml");
    assert_eq!(
        scratch.render(&[]).failure(),
        r"error: stacks/bookinfo.yaml:4:9: spec.mesh: the stack asks to be meshed, but no stack file has kind: Linkerd
  |
4 |   mesh: true
  |         ^^^^
help: add a Linkerd stack file, or set `mesh: false`
"
    );
}

/// No cluster file.
#[test]
fn missing_cluster_file() {
    let scratch = Scratch::fixture();
    scratch.remove("stacks/cluster.yaml");
    assert_eq!(
        scratch.render(&[]).failure(),
        r#"error: no stack file in "stacks" has `kind: Cluster`; the cluster file says which node is the control plane and who may reach exposed ports
"#
    );
}

/// Every broken file is reported in one run.
#[test]
fn several_errors_at_once() {
    let scratch = Scratch::fixture();
    scratch.edit("stacks/bookinfo.yaml", "hostPort: 30080", "hostPort: 70000");
    scratch.edit(
        "stacks/cluster.yaml",
        "  sources: []",
        "  sources: [10.0.0.5/24]",
    );
    assert_eq!(
        scratch.render(&[]).failure(),
        r#"error: stacks/bookinfo.yaml:13:19: workloads.productpage-v1.expose[0].hostPort: expected a port number from 1 to 65535, found the number 70000
   |
13 |         hostPort: 70000
   |                   ^^^^^

error: stacks/cluster.yaml:15:13: ingress.sources[0]: invalid CIDR "10.0.0.5/24": host bits are set; the network is 10.0.0.0/24
   |
15 |   sources: [10.0.0.5/24]
   |             ^^^^^^^^^^^
"#
    );
}

/// A scrape interval Prometheus would refuse with its 10s timeout.
#[test]
fn scrape_interval_below_timeout() {
    let scratch = Scratch::fixture();
    scratch.edit(
        "stacks/prometheus.yaml",
        "scrapeInterval: 30s",
        "scrapeInterval: 5s",
    );
    assert_eq!(
        scratch.render(&[]).failure(),
        r"error: stacks/prometheus.yaml:10:19: spec.scrapeInterval: a scrape interval of 5s is shorter than the 10s scrape timeout
   |
10 |   scrapeInterval: 5s
   |                   ^^
help: use 10s or more
"
    );
}

/// A retention size that leaves the volume too little room for the write-ahead log and
/// compactions: at most 85% of the size (Prometheus's storage guide).
#[test]
fn retention_size_above_the_share_of_the_volume() {
    let scratch = Scratch::fixture();
    scratch.edit(
        "stacks/prometheus.yaml",
        "    size: 8Gi",
        "    size: 8Gi\n    retentionSize: 7Gi",
    );
    assert_eq!(
        scratch.render(&[]).failure(),
        r"error: stacks/prometheus.yaml:14:20: spec.storage.retentionSize: a retention size of 7Gi leaves less than 15% of the volume's 8Gi for the write-ahead log and compactions
   |
14 |     retentionSize: 7Gi
   |                    ^^^
help: set retentionSize to at most 6963Mi (85% of size, the most Prometheus's storage guide recommends), leave it out for 6553Mi (80%), or raise size; an emptyDir over its sizeLimit gets the pod evicted with all its data
"
    );
}

/// A retention size not below the volume's size, on a claim.
#[test]
fn retention_size_not_below_the_volume() {
    let scratch = Scratch::fixture();
    scratch.edit(
        "stacks/prometheus.yaml",
        "    volume: emptyDir\n    size: 8Gi",
        "    volume: persistentVolumeClaim\n    size: 20Gi\n    retentionSize: 20480Mi",
    );
    assert_eq!(
        scratch.render(&[]).failure(),
        r"error: stacks/prometheus.yaml:14:20: spec.storage.retentionSize: a retention size of 20480Mi is not below the volume's size of 20Gi: the samples would fill the volume
   |
14 |     retentionSize: 20480Mi
   |                    ^^^^^^^
help: set retentionSize to at most 17Gi (85% of size, the most Prometheus's storage guide recommends), leave it out for 16Gi (80%), or raise size; on a full volume Prometheus can no longer write
"
    );
}

/// Sizes in decimal or Prometheus units are refused with the binary spelling to use.
#[test]
fn retention_size_in_prometheus_units() {
    let scratch = Scratch::fixture();
    scratch.edit(
        "stacks/prometheus.yaml",
        "    size: 8Gi",
        "    size: 8Gi\n    retentionSize: 6GB",
    );
    assert_eq!(
        scratch.render(&[]).failure(),
        r#"error: stacks/prometheus.yaml:14:20: spec.storage.retentionSize: invalid size "6GB": write 6Gi: sizes take a binary suffix (Ki, Mi, Gi, Ti) as Kubernetes writes them; Prometheus is given the same size in its own spelling (6GB)
   |
14 |     retentionSize: 6GB
   |                    ^^^
"#
    );
}

/// A StorageClass means nothing to an emptyDir.
#[test]
fn storage_class_on_an_emptydir() {
    let scratch = Scratch::fixture();
    scratch.edit(
        "stacks/prometheus.yaml",
        "    size: 8Gi",
        "    size: 8Gi\n    storageClass: gp3",
    );
    assert_eq!(
        scratch.render(&[]).failure(),
        r"error: stacks/prometheus.yaml:14:19: spec.storage.storageClass: a StorageClass provisions a persistentVolumeClaim, but the volume is an emptyDir
   |
14 |     storageClass: gp3
   |                   ^^^
help: set `volume: persistentVolumeClaim` to keep the data in a claim, or remove `storageClass`
"
    );
}

/// Linkerd needs the anchor, the issuer certificate and its key together.
#[test]
fn certificates_in_part() {
    let scratch = Scratch::fixture();
    scratch.edit(
        "stacks/linkerd.yaml",
        "  certificates: {}",
        "  certificates:\n    trustAnchor: certs/ca.crt",
    );
    assert_eq!(
        scratch.render(&[]).failure(),
        r"error: stacks/linkerd.yaml:13:3: spec.certificates: certificate files are given only in part; issuerCertificate, issuerKey missing
   |
13 |   certificates:
   |   ^^^^^^^^^^^^
help: name the trust anchor, the issuer certificate and the issuer key, or none to have bootstrap generate them
"
    );
}

/// A renewal window as long as the certificates bootstrap makes would renew them every run.
#[test]
fn renewal_window_not_shorter_than_a_certificate_lifetime() {
    let scratch = Scratch::fixture();
    scratch.edit(
        "stacks/linkerd.yaml",
        "  certificates: {}",
        "  certificates:\n    renewBefore: 400d",
    );
    assert_eq!(
        scratch.render(&[]).failure(),
        r"error: stacks/linkerd.yaml:14:18: spec.certificates.renewBefore: a renewal window of 400d is not shorter than the 365 days bootstrap issues certificates for; every run would renew them
   |
14 |     renewBefore: 400d
   |                  ^^^^
help: use a number of days between 1d and 364d; 60d is when `linkerd check` starts to warn
"
    );
    scratch.edit("stacks/linkerd.yaml", "400d", "60 days");
    assert_eq!(
        scratch.render(&[]).failure(),
        r#"error: stacks/linkerd.yaml:14:18: spec.certificates.renewBefore: invalid duration "60 days": expected a unit: ms, s, m, h, d, w or y
   |
14 |     renewBefore: 60 days
   |                  ^^^^^^^
"#
    );
}

/// A named certificate file that is not there.
#[test]
fn certificate_file_missing() {
    let scratch = Scratch::fixture();
    scratch.edit("stacks/linkerd.yaml", "  certificates: {}", "  certificates:\n    trustAnchor: certs/ca.crt\n    issuerCertificate: certs/issuer.crt\n    issuerKey: certs/issuer.key");
    scratch.write("stacks/certs/ca.crt", "-----BEGIN CERTIFICATE-----\n");
    scratch.write("stacks/certs/issuer.crt", "-----BEGIN CERTIFICATE-----\n");
    assert_eq!(
        scratch.render(&[]).failure(),
        r"error: stacks/linkerd.yaml:16:16: spec.certificates.issuerKey: no such file: stacks/certs/issuer.key
   |
16 |     issuerKey: certs/issuer.key
   |                ^^^^^^^^^^^^^^^^
help: paths are relative to the directory of the stack file
"
    );
}

/// A CA certificate and its key for `name`, signed by `signer` (certificate and key), or
/// self-signed.
fn ca(name: &str, signer: Option<(&str, &str)>) -> (String, String) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("a key");
    let mut params = CertificateParams::new(vec![name.to_owned()]).expect("params");
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(1));
    let certificate = match signer {
        Some((cert, signer_key)) => {
            let issuer =
                Issuer::from_ca_cert_pem(cert, KeyPair::from_pem(signer_key).expect("a key"))
                    .expect("an issuer");
            params.signed_by(&key, &issuer)
        }
        None => params.self_signed(&key),
    }
    .expect("a certificate");
    (certificate.pem(), key.serialize_pem())
}

/// Certificate files that exist but hold the wrong thing fail the render at the field that
/// names them, as bootstrap would, without printing what a key file holds.
#[test]
fn certificate_files_are_checked_at_render() {
    let (anchor, anchor_key) = ca("root.linkerd.cluster.local", None);
    let (issuer, issuer_key) = ca(
        "identity.linkerd.cluster.local",
        Some((&anchor, &anchor_key)),
    );
    let (_, stranger_key) = ca("stranger", None);
    let body = |pem: &str| pem.lines().nth(1).expect("a base64 line").to_owned();
    for (anchor_text, key_text, line, col, field, message) in [
        (
            anchor.clone(),
            "not a key\n".to_owned(),
            16,
            16,
            "issuerKey",
            "stacks/certs/issuer.key: issuer key: not PEM: no -----BEGIN line",
        ),
        (
            anchor.clone(),
            stranger_key.clone(),
            16,
            16,
            "issuerKey",
            "stacks/certs/issuer.key: issuer key: does not belong to the issuer certificate",
        ),
        (
            anchor.clone(),
            issuer.clone(),
            16,
            16,
            "issuerKey",
            "stacks/certs/issuer.key: issuer key: holds a PEM \"CERTIFICATE\" block, not a private key",
        ),
        (
            anchor_key.clone(),
            issuer_key.clone(),
            14,
            18,
            "trustAnchor",
            "stacks/certs/ca.crt: trust anchor: holds a PEM \"PRIVATE KEY\" block, not a CERTIFICATE",
        ),
    ] {
        let scratch = Scratch::fixture();
        scratch.edit("stacks/linkerd.yaml", "  certificates: {}", "  certificates:\n    trustAnchor: certs/ca.crt\n    issuerCertificate: certs/issuer.crt\n    issuerKey: certs/issuer.key");
        scratch.write("stacks/certs/ca.crt", &anchor_text);
        scratch.write("stacks/certs/issuer.crt", &issuer);
        scratch.write("stacks/certs/issuer.key", &key_text);
        let err = scratch.render(&[]).failure();
        assert!(
            err.starts_with(&format!(
                "error: stacks/linkerd.yaml:{line}:{col}: spec.certificates.{field}: {message}\n"
            )),
            "{err}"
        );
        for secret in [&anchor_key, &issuer_key, &stranger_key] {
            assert!(!err.contains(&body(secret)), "key material echoed:\n{err}");
        }
    }
    // The same files, right, render.
    let scratch = Scratch::fixture();
    scratch.edit("stacks/linkerd.yaml", "  certificates: {}", "  certificates:\n    trustAnchor: certs/ca.crt\n    issuerCertificate: certs/issuer.crt\n    issuerKey: certs/issuer.key");
    scratch.write("stacks/certs/ca.crt", &anchor);
    scratch.write("stacks/certs/issuer.crt", &issuer);
    scratch.write("stacks/certs/issuer.key", &issuer_key);
    scratch.render(&[]).success();
}

/// Grafana's datasource is the Prometheus stack.
#[test]
fn grafana_without_prometheus() {
    let scratch = Scratch::fixture();
    scratch.remove("stacks/prometheus.yaml");
    assert_eq!(
        scratch.render(&[]).failure(),
        r"error: stacks/grafana.yaml:1:7: Grafana's datasource is the Prometheus stack, but no stack file has kind: Prometheus
  |
1 | kind: Grafana
  |       ^^^^^^^
help: add a Prometheus stack file
"
    );
}

/// node-exporter binds 9100 on every node, the control plane included.
#[test]
fn exposure_on_host_network_port() {
    let scratch = Scratch::fixture();
    scratch.edit("stacks/bookinfo.yaml", "hostPort: 30080", "hostPort: 9100");
    assert_eq!(
        scratch.render(&[]).failure(),
        r"error: stacks/bookinfo.yaml:13:19: host port 9100 is already bound on the control-plane node by DaemonSet monitoring/node-exporter (host network)
   |
13 |         hostPort: 9100
   |                   ^^^^
help: choose another host port
"
    );
}

/// An apply policy bootstrap does not know.
#[test]
fn unknown_apply_policy() {
    let scratch = Scratch::fixture().with_templates();
    scratch.edit(
        "templates/bookinfo/services.yaml.j2",
        "    service: {{ app }}\n",
        "    service: {{ app }}\n  annotations:\n    obsboot.dev/apply: sometimes\n",
    );
    assert_eq!(
        scratch
            .render(&["--templates", "templates", "--stack", "bookinfo"])
            .failure(),
        r#"error: templates/bookinfo/services.yaml.j2 (rendered):11:24: metadata.annotations."obsboot.dev/apply": Service bookinfo/details: unknown apply policy "sometimes"
   |
11 |     obsboot.dev/apply: sometimes
   |                        ^^^^^^^^^
help: the one policy is "if-absent"; leave the annotation out to apply as usual

error: templates/bookinfo/services.yaml.j2 (rendered):30:24: metadata.annotations."obsboot.dev/apply": Service bookinfo/ratings: unknown apply policy "sometimes"
   |
30 |     obsboot.dev/apply: sometimes
   |                        ^^^^^^^^^
help: the one policy is "if-absent"; leave the annotation out to apply as usual

error: templates/bookinfo/services.yaml.j2 (rendered):49:24: metadata.annotations."obsboot.dev/apply": Service bookinfo/reviews: unknown apply policy "sometimes"
   |
49 |     obsboot.dev/apply: sometimes
   |                        ^^^^^^^^^
help: the one policy is "if-absent"; leave the annotation out to apply as usual

error: templates/bookinfo/services.yaml.j2 (rendered):68:24: metadata.annotations."obsboot.dev/apply": Service bookinfo/productpage: unknown apply policy "sometimes"
   |
68 |     obsboot.dev/apply: sometimes
   |                        ^^^^^^^^^
help: the one policy is "if-absent"; leave the annotation out to apply as usual
"#
    );
}

/// A dashboard that is not JSON.
#[test]
fn dashboard_not_json() {
    let scratch = Scratch::fixture().with_templates();
    scratch.write(
        "templates/grafana/dashboards/broken.json",
        "{\"uid\": \"x\",\n  \"title\": }\n",
    );
    assert_eq!(
        scratch
            .render(&[
                "--templates",
                "templates",
                "--stack",
                "grafana",
                "--stack",
                "prometheus"
            ])
            .failure(),
        r#"error: templates/grafana/dashboards/broken.json:2:12: invalid JSON: expected value
  |
2 |   "title": }
  |            ^
"#
    );
}

/// --stack with a name that is no stack is a usage error; one whose file is absent names the
/// stacks defined.
#[test]
fn unknown_stack_selected() {
    let scratch = Scratch::fixture();
    assert_eq!(
        scratch.render(&["--stack", "bookinfoo"]).failure(),
        "error: invalid value 'bookinfoo' for '--stack <NAME>'
  [possible values: linkerd, prometheus, grafana, bookinfo]

  tip: a similar value exists: 'bookinfo'

For more information, try '--help'.
"
    );
    scratch.remove("stacks/bookinfo.yaml");
    assert_eq!(
        scratch.render(&["--stack", "bookinfo"]).failure(),
        r#"error: unknown stack "bookinfo"; the stacks defined are: linkerd, prometheus, grafana
"#
    );
}

/// A stacks directory that does not exist.
#[test]
fn missing_stacks_dir() {
    let scratch = Scratch::fixture();
    assert_eq!(
        scratch.run(&["render", "--stacks", "nowhere"]).failure(),
        "error: failed to read stack directory \"nowhere\"\n  caused by: No such file or directory (os error 2)\n"
    );
}

/// A rule quota EC2 cannot have.
#[test]
fn rule_quota_out_of_range() {
    let scratch = Scratch::fixture();
    scratch.edit(
        "stacks/cluster.yaml",
        "  securityGroup: control-plane-node",
        "  securityGroup: control-plane-node\n  rulesPerGroup: 5000",
    );
    assert_eq!(
        scratch.render(&[]).failure(),
        r"error: stacks/cluster.yaml:14:18: aws.rulesPerGroup: 5000 is not a rules-per-group quota: EC2 allows 1 to 1000 (the default is 60)
   |
14 |   rulesPerGroup: 5000
   |                  ^^^^
"
    );
}
