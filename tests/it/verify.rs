//! `obsboot verify` (and bootstrap's last step) against local servers that answer like
//! productpage and Grafana (its API too, see `grafana.rs`), refuse, or never answer.

use base64::Engine as _;

use crate::cluster::Sim;
use crate::grafana::{self, FakeGrafana};
use crate::harness::{Run, Scratch};
use crate::web::{Behaviour, Web};

/// Stacks whose productpage and Grafana are exposed on `bookinfo` and `grafana`.
fn expose_on(scratch: &Scratch, bookinfo: u16, grafana: u16) {
    scratch.edit(
        "stacks/bookinfo.yaml",
        "hostPort: 30080",
        &format!("hostPort: {bookinfo}"),
    );
    scratch.edit(
        "stacks/grafana.yaml",
        "hostPort: 30300",
        &format!("hostPort: {grafana}"),
    );
}

/// `obsboot verify` with no cluster to ask (its kubeconfig points at a closed port).
fn verify(scratch: &Scratch, extra: &[&str]) -> Run {
    scratch.write_unreachable_kubeconfig();
    let mut args = vec![
        "verify",
        "--stacks",
        "stacks",
        "--kubeconfig",
        "kubeconfig",
        "--skip-security-groups",
        "--url-base",
        "http://127.0.0.1",
    ];
    if !extra.contains(&"--probe-timeout") {
        args.extend(["--probe-timeout", "2s"]);
    }
    args.extend_from_slice(extra);
    scratch.run(&args)
}

/// Whether `out` has a line `ok <name> <url>`.
fn passed(out: &str, url: &str) -> bool {
    out.lines()
        .any(|line| line.starts_with("ok ") && line.ends_with(&format!(" {url}")))
}

#[test]
fn endpoints_that_answer_as_they_should_pass() {
    let scratch = Scratch::new();
    let productpage = Web::start(Behaviour::Productpage);
    let grafana = Web::start(Behaviour::Grafana);
    expose_on(&scratch, productpage.port, grafana.port);
    let out = verify(&scratch, &[]).success();
    let p = productpage.port;
    let g = grafana.port;
    assert!(
        passed(&out, &format!("http://127.0.0.1:{p}/productpage")),
        "{out}"
    );
    assert!(passed(&out, &format!("http://127.0.0.1:{g}")), "{out}");
    assert!(
        out.contains("page contains \"Simple Bookstore App\""),
        "{out}"
    );
    assert!(
        out.contains(&format!("http://127.0.0.1:{g}/: 302")),
        "{out}"
    );
    assert!(!out.contains("FAIL"), "{out}");
    // Without the cluster there is no password: the data path is not checked, and says why.
    assert!(out.contains("skip Grafana → Prometheus"), "{out}");
    assert!(
        out.contains("not checked: cannot log in to Grafana: the cluster cannot be asked for the administrator's password (Secret grafana/grafana-admin)"),
        "{out}"
    );
}

#[test]
fn a_failure_names_the_layer_at_fault() {
    let scratch = Scratch::new();
    let refused = Web::closed_port();
    let grafana = Web::start(Behaviour::UnhealthyGrafana);
    expose_on(&scratch, refused, grafana.port);
    let run = verify(&scratch, &["-o", "json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("2 check(s) failed from this machine"),
        "{}",
        run.stderr
    );
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let endpoints = json["endpoints"].as_array().unwrap();
    let by_port = |port: u16| {
        endpoints
            .iter()
            .find(|e| e["port"] == port)
            .unwrap_or_else(|| panic!("port {port} in {json}"))
    };
    let page = by_port(refused);
    assert_eq!(page["passed"], false);
    assert_eq!(page["layer"], "host-port");
    assert!(
        page["cause"]
            .as_str()
            .unwrap()
            .contains(&format!("nothing listens on port {refused}"))
    );
    assert!(
        page["nextStep"]
            .as_str()
            .unwrap()
            .contains("kubectl -n bookinfo get pods -o wide")
    );
    let unhealthy = by_port(grafana.port);
    assert_eq!(unhealthy["layer"], "service");
    assert!(
        unhealthy["cause"]
            .as_str()
            .unwrap()
            .contains("expected 200, got 503"),
        "{unhealthy}"
    );
    assert!(
        unhealthy["nextStep"]
            .as_str()
            .unwrap()
            .contains("kubectl -n grafana logs deployment/grafana")
    );
}

#[test]
fn a_service_that_never_answers_fails_within_the_probe_timeout() {
    let scratch = Scratch::new();
    let silent = Web::start(Behaviour::Silent);
    let grafana = Web::start(Behaviour::Grafana);
    expose_on(&scratch, silent.port, grafana.port);
    let run = verify(&scratch, &["--probe-timeout", "1s"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stdout.contains("FAIL Bookinfo productpage"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("connected, but no complete HTTP answer in time"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("at fault: service"), "{}", run.stdout);
    assert!(run.stdout.contains("ok   Grafana"), "{}", run.stdout);
}

#[test]
fn a_workload_that_is_not_running_is_blamed_on_its_pod() {
    let sim = Sim::new();
    let closed = Web::closed_port();
    let grafana = Web::start(Behaviour::Grafana);
    expose_on(&sim.scratch, closed, grafana.port);
    let run = sim.run(
        "verify",
        &["--url-base", "http://127.0.0.1", "--stack", "bookinfo"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stdout.contains("at fault: pod: Deployment bookinfo/productpage-v1 is not ready: it does not exist; run `obsboot bootstrap`"),
        "{}",
        run.stdout
    );
}

#[test]
fn without_an_address_verify_says_how_to_give_one() {
    let sim = Sim::new();
    let err = sim.run("verify", &[]).failure();
    assert!(err.contains("no address to probe"), "{err}");
    assert!(err.contains("--url-base"), "{err}");
}

#[test]
fn bootstrap_ends_by_verifying_what_it_opened() {
    let world_ec2 = crate::ec2::Ec2::start();
    let mut sim = Sim::new();
    sim.aws = world_ec2.env();
    let productpage = Web::start(Behaviour::Productpage);
    let grafana = Web::start(Behaviour::Grafana);
    expose_on(&sim.scratch, productpage.port, grafana.port);
    sim.scratch.edit(
        "stacks/cluster.yaml",
        "  sources: []",
        "  sources: [127.0.0.1/32]",
    );
    let out = sim
        .run("bootstrap", &["--url-base", "http://127.0.0.1"])
        .success();
    assert!(out.contains("2 rules opened"), "{out}");
    let page = format!("http://127.0.0.1:{}/productpage", productpage.port);
    assert!(passed(&out, &page), "{out}");
    assert!(out.contains("ok   Grafana"), "{out}");
}

/// The Grafana administrator's password bootstrap stored in the simulated cluster.
fn grafana_password(sim: &Sim) -> String {
    let secret = sim
        .server
        .get("v1", "Secret", Some("grafana"), "grafana-admin")
        .expect("bootstrap created the Grafana Secret");
    let encoded = secret["data"]["admin-password"].as_str().unwrap();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .unwrap();
    String::from_utf8(decoded).unwrap()
}

/// A bootstrapped simulated cluster whose Grafana is `setup` (its password that of the
/// cluster's Secret unless `password` says otherwise), and `obsboot verify --stack grafana`
/// run against it with details logged.
fn data_path(
    datasource: grafana::Datasource,
    password: Option<&str>,
    extra: &[&str],
) -> (Run, String, FakeGrafana) {
    data_path_with(|_| {}, datasource, password, extra)
}

/// [`data_path`], with the stack files edited by `before` ahead of bootstrap.
fn data_path_with(
    before: impl FnOnce(&Scratch),
    datasource: grafana::Datasource,
    password: Option<&str>,
    extra: &[&str],
) -> (Run, String, FakeGrafana) {
    let sim = Sim::new();
    before(&sim.scratch);
    sim.bootstrap();
    let secret = grafana_password(&sim);
    let fake = FakeGrafana::start(grafana::Setup {
        user: "admin".into(),
        password: password.map_or_else(|| secret.clone(), str::to_owned),
        uid: "prometheus".into(),
        datasource,
        echo_refused: true,
    });
    // The stacks name the port the fake listens on.
    sim.scratch.edit(
        "stacks/grafana.yaml",
        "hostPort: 30300",
        &format!("hostPort: {}", fake.port),
    );
    let mut args = vec![
        "--url-base",
        "http://127.0.0.1",
        "--stack",
        "grafana",
        "-vv",
    ];
    args.extend_from_slice(extra);
    let run = sim.run("verify", &args);
    assert_secret_kept(&run, &secret);
    (run, secret, fake)
}

/// Neither output carries the password, plain or encoded in a basic-auth header.
fn assert_secret_kept(run: &Run, password: &str) {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("admin:{password}"));
    for (name, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        assert!(
            !text.contains(password),
            "the password is on {name}:\n{text}"
        );
        assert!(
            !text.contains(&encoded),
            "the credentials are on {name}:\n{text}"
        );
    }
}

/// Prometheus's targets on the standard simulated cluster: Prometheus runs on the
/// control-plane node ip-10-0-1-74 (10.0.1.74), the worker is ip-10-0-2-15 (10.0.2.15, pods
/// in 10.244.1.0/24).
fn targets_all_up() -> Vec<serde_json::Value> {
    vec![
        grafana::target("prometheus", "localhost:9090", "up", ""),
        grafana::target("node-exporter", "10.0.1.74:9100", "up", ""),
        grafana::target("node-exporter", "10.0.2.15:9100", "up", ""),
        grafana::target("kubernetes-pods", "10.244.1.9:4191", "unknown", ""),
    ]
}

#[test]
fn the_data_path_passes_when_grafana_reaches_prometheus_and_every_target_is_up() {
    let (run, _, fake) = data_path(grafana::Datasource::Healthy(targets_all_up()), None, &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let out = &run.stdout;
    assert!(out.contains("ok   Grafana → Prometheus"), "{out}");
    assert!(
        out.contains("/api/datasources/uid/prometheus/health: 200, OK: Successfully queried the Prometheus API."),
        "{out}"
    );
    assert!(out.contains("ok   Prometheus targets"), "{out}");
    assert!(
        out.contains("200, 3 of 4 targets up, 1 not scraped yet"),
        "{out}"
    );
    let seen = fake.seen();
    for path in [
        "/api/datasources/uid/prometheus/health",
        "/api/datasources/proxy/uid/prometheus/api/v1/targets?state=active",
    ] {
        let request = seen
            .iter()
            .find(|s| s.path == path)
            .unwrap_or_else(|| panic!("{path} was not asked: {seen:?}"));
        assert!(
            request
                .authorization
                .as_deref()
                .is_some_and(|a| a.starts_with("Basic ")),
            "{request:?}"
        );
    }
    // The unauthenticated probes send no credentials.
    assert!(
        seen.iter()
            .filter(|s| s.path == "/api/health" || s.path == "/")
            .all(|s| s.authorization.is_none()),
        "{seen:?}"
    );
}

#[test]
fn grafana_that_cannot_reach_prometheus_fails_in_the_datasource_layer() {
    let error = "Post \"http://prometheus.monitoring.svc:9090/api/v1/query\": dial tcp 10.96.0.20:9090: i/o timeout";
    let (run, _, _) = data_path(
        grafana::Datasource::Unreachable(error.into()),
        None,
        &["-o", "json"],
    );
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("1 check(s) failed from this machine"),
        "{}",
        run.stderr
    );
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let checks = json["endpoints"].as_array().unwrap();
    let check = |description: &str| {
        checks
            .iter()
            .find(|e| e["description"] == description)
            .unwrap_or_else(|| panic!("{description} in {json}"))
    };
    let datasource = check("Grafana → Prometheus");
    assert_eq!(datasource["passed"], false, "{datasource}");
    assert_eq!(datasource["layer"], "datasource", "{datasource}");
    assert_eq!(
        datasource["cause"],
        format!(
            "Grafana cannot reach Prometheus: {error} - There was an error returned querying the Prometheus API."
        )
    );
    // Both are pinned to the control-plane node: not the network between nodes.
    let next = datasource["nextStep"].as_str().unwrap();
    assert!(
        next.starts_with(
            "Grafana and Prometheus both run on node ip-10-0-1-74, yet no answer came"
        ),
        "{next}"
    );
    let targets = check("Prometheus targets");
    assert_eq!(
        targets["skipped"],
        "Grafana cannot be asked for Prometheus's targets (see above)"
    );
}

#[test]
fn grafana_timing_out_on_prometheus_on_another_node_points_at_the_network_between_nodes() {
    // The field report's cluster: Prometheus on the worker, Grafana on the control plane.
    let elsewhere = |scratch: &Scratch| {
        scratch.edit(
            "stacks/prometheus.yaml",
            "placement: control-plane",
            "placement: anywhere",
        );
    };
    let error = "Post \"http://prometheus.monitoring.svc:9090/api/v1/query\": dial tcp 10.96.0.20:9090: i/o timeout";
    let (run, _, _) = data_path_with(
        elsewhere,
        grafana::Datasource::Unreachable(error.into()),
        None,
        &[],
    );
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("at fault: datasource: Grafana cannot reach Prometheus: Post"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("next: Grafana on node ip-10-0-1-74 gets no answer from Prometheus on node ip-10-0-2-15: the network between the nodes drops pod traffic; the nodes' security groups must carry the CNI's traffic between them"),
        "{}",
        run.stdout
    );
}

#[test]
fn the_datasource_check_waits_for_grafanas_own_verdict_beyond_the_probe_timeout() {
    let error = "Post \"http://prometheus.monitoring.svc:9090/api/v1/query\": dial tcp 10.96.0.20:9090: i/o timeout";
    let slow = grafana::Datasource::Slow(error.into(), std::time::Duration::from_secs(2));
    let (run, _, _) = data_path(slow, None, &["--probe-timeout", "1s"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("at fault: datasource: Grafana cannot reach Prometheus: Post"),
        "{}",
        run.stdout
    );
}

#[test]
fn targets_down_fail_in_the_scrape_layer_and_a_timeout_across_nodes_names_the_network() {
    let mut targets = targets_all_up();
    targets[2] = grafana::target(
        "node-exporter",
        "10.0.2.15:9100",
        "down",
        "Get \"http://10.0.2.15:9100/metrics\": context deadline exceeded",
    );
    targets.push(grafana::target(
        "kube-scheduler",
        "10.0.1.74:10259",
        "down",
        "Get \"https://10.0.1.74:10259/metrics\": dial tcp 10.0.1.74:10259: connect: connection refused",
    ));
    let (run, _, _) = data_path(grafana::Datasource::Healthy(targets), None, &["-o", "json"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let checks = json["endpoints"].as_array().unwrap();
    let datasource = checks
        .iter()
        .find(|e| e["description"] == "Grafana → Prometheus")
        .unwrap();
    assert_eq!(datasource["passed"], true, "{datasource}");
    let scrape = checks
        .iter()
        .find(|e| e["description"] == "Prometheus targets")
        .unwrap();
    assert_eq!(scrape["passed"], false, "{scrape}");
    assert_eq!(scrape["layer"], "scrape", "{scrape}");
    assert_eq!(
        scrape["cause"],
        "2 of 5 targets down: node-exporter 10.0.2.15:9100 (no answer across the network between nodes ip-10-0-1-74 and ip-10-0-2-15); kube-scheduler 10.0.1.74:10259 (kubeadm binds its metrics to 127.0.0.1)"
    );
    let next = scrape["nextStep"].as_str().unwrap();
    assert!(
        next.contains("kube-scheduler: kubeadm binds these components' metrics to 127.0.0.1"),
        "{next}"
    );
    assert!(next.contains("ClusterConfiguration"), "{next}");
    assert!(
        next.contains("Prometheus on node ip-10-0-1-74 gets no answer from targets on node ip-10-0-2-15: the network between the nodes drops the traffic"),
        "{next}"
    );
    let summary = &scrape["targets"];
    assert_eq!(
        (
            &summary["total"],
            &summary["up"],
            &summary["down"],
            &summary["unknown"]
        ),
        (&5.into(), &2.into(), &2.into(), &1.into()),
        "{summary}"
    );
    let failing = summary["failing"].as_array().unwrap();
    assert_eq!(failing[0]["node"], "ip-10-0-2-15", "{summary}");
    assert_eq!(failing[1]["job"], "kube-scheduler", "{summary}");
    assert_eq!(failing[1]["node"], "ip-10-0-1-74", "{summary}");
}

#[test]
fn a_wrong_password_is_an_auth_failure_that_does_not_echo_it() {
    let (run, _, _) = data_path(
        grafana::Datasource::Healthy(targets_all_up()),
        Some("not-the-secret"),
        &["-o", "json"],
    );
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let checks = json["endpoints"].as_array().unwrap();
    let datasource = checks
        .iter()
        .find(|e| e["description"] == "Grafana → Prometheus")
        .unwrap();
    assert_eq!(datasource["layer"], "credentials", "{datasource}");
    let cause = datasource["cause"].as_str().unwrap();
    assert!(
        cause.starts_with("Grafana refused the login \"admin\" with the password from Secret grafana/grafana-admin (HTTP 401: Invalid username or password"),
        "{cause}"
    );
    // The fake quotes what it got; verify masks it.
    assert!(cause.contains("(password withheld)"), "{cause}");
    assert!(
        datasource["nextStep"]
            .as_str()
            .unwrap()
            .contains("kubectl -n grafana rollout restart deployment/grafana"),
        "{datasource}"
    );
}
