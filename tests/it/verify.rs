//! `obsboot verify` (and bootstrap's last step) against local servers that answer like
//! productpage and Grafana, refuse, or never answer.

use crate::cluster::Sim;
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
        run.stderr
            .contains("2 endpoint(s) do not answer as they should"),
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
            .contains("kubectl -n monitoring logs deployment/grafana")
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
