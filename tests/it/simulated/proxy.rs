//! The node and pod proxy, answering from the network model over moto's rules.

use std::time::{Duration, Instant};

use super::{pod_on, raw};
use crate::apiserver::{ApiServer, CniLayout};
use crate::ec2::Peer;
use crate::network::layout;

#[test]
fn without_a_model_the_proxy_answers_as_a_healthy_cluster_does() {
    let server = ApiServer::start();
    let healthz = raw(
        &server,
        "GET",
        "/api/v1/nodes/ip-10-0-2-15/proxy/healthz",
        "",
        "",
    );
    assert_eq!((healthz.code, healthz.body.as_str()), (200, "ok"));
    let unknown = raw(
        &server,
        "GET",
        "/api/v1/nodes/ip-10-9-9-9/proxy/healthz",
        "",
        "",
    );
    assert_eq!(unknown.code, 404);
    assert_eq!(unknown.json()["message"], "nodes \"ip-10-9-9-9\" not found");
    let root = raw(&server, "GET", "/api/v1/nodes/ip-10-0-2-15/proxy", "", "");
    assert_eq!(
        (root.code, root.header("location")),
        (301, Some("/api/v1/nodes/ip-10-0-2-15/proxy/"))
    );
    let missing = raw(
        &server,
        "GET",
        "/api/v1/namespaces/default/pods/nope:80/proxy/",
        "",
        "",
    );
    assert_eq!(missing.json()["message"], "pods \"nope\" not found");
    server.deny("get", "", "nodes/proxy");
    let denied = raw(
        &server,
        "GET",
        "/api/v1/nodes/ip-10-0-2-15/proxy/healthz",
        "",
        "",
    );
    assert_eq!(denied.code, 403);
    assert_eq!(
        denied.json()["message"],
        "nodes \"ip-10-0-2-15\" is forbidden: User \"kubernetes-admin\" cannot get resource \"nodes/proxy\" in API group \"\" at the cluster scope"
    );
}

#[test]
fn field_report_layout_times_out_until_the_rules_carry_the_traffic() {
    let cluster = layout::field_report();
    let server = cluster.start_sim(CniLayout::CalicoManifest);
    server.set_proxy_dial_timeout(Duration::from_millis(300));
    pod_on(&server, "webhook", cluster.worker_node());
    let pod_path = "/api/v1/namespaces/default/pods/webhook:8443/proxy/";
    let started = Instant::now();
    let blocked = raw(&server, "GET", pod_path, "", "");
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(blocked.code, 503);
    let body = blocked.json();
    assert_eq!(body["reason"], "ServiceUnavailable");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.starts_with("error trying to reach service: dial tcp 10.244.")
            && message.ends_with(":8443: i/o timeout"),
        "{message}"
    );
    let kubelet = raw(
        &server,
        "GET",
        "/api/v1/nodes/ip-10-0-2-15/proxy/healthz",
        "",
        "",
    );
    assert_eq!(kubelet.code, 503);
    assert_eq!(
        kubelet.json()["message"],
        "error trying to reach service: dial tcp 10.0.2.15:10250: i/o timeout"
    );
    // The API server's own kubelet is local.
    let own = raw(
        &server,
        "GET",
        "/api/v1/nodes/ip-10-0-1-74/proxy/healthz",
        "",
        "",
    );
    assert_eq!((own.code, own.body.as_str()), (200, "ok"));

    // IP in IP from the master's group: the webhook path opens, the kubelet's does not.
    let master = Peer::Group(cluster.master_group.clone());
    cluster
        .ec2
        .authorize_permission(&cluster.worker_group, false, "4", (-1, -1), &master);
    let open = raw(&server, "GET", pod_path, "", "");
    assert_eq!((open.code, open.body.as_str()), (200, "ok"));
    assert_eq!(
        raw(
            &server,
            "GET",
            "/api/v1/nodes/ip-10-0-2-15/proxy/healthz",
            "",
            ""
        )
        .code,
        503
    );
    cluster
        .ec2
        .authorize_permission(&cluster.worker_group, false, "tcp", (10250, 10250), &master);
    let kubelet = raw(
        &server,
        "GET",
        "/api/v1/nodes/ip-10-0-2-15/proxy/healthz",
        "",
        "",
    );
    assert_eq!((kubelet.code, kubelet.body.as_str()), (200, "ok"));
}
