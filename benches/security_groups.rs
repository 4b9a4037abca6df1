//! What the security group adds to a bootstrap, against the simulated API server and moto
//! (behind the tests' recording proxy), for the default stacks with one source:
//!
//! - the EC2 requests a first bootstrap and a re-run make, by action;
//! - the wall time of a whole bootstrap with the security group, against the same bootstrap
//!   with `--skip-security-groups`, for a first run and a re-run (medians).
//!
//! `cargo bench --bench security_groups` (`-- RUNS`, default 5); needs `moto_server` (on PATH,
//! or OBSBOOT_MOTO_SERVER; tests/run installs it). Figures go to standard output.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic, missing_docs)]

#[path = "../tests/it/apiserver/mod.rs"]
mod apiserver;
// The tests' fixture; the bench uses part of it.
#[allow(dead_code, unused_imports)]
#[path = "../tests/it/ec2/mod.rs"]
mod ec2;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use apiserver::ApiServer;

fn main() {
    let runs: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(5);
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let mut times: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut requests = (Vec::new(), Vec::new());
    for _ in 0..runs {
        for managed in [true, false] {
            let server = ApiServer::start();
            server.write_kubeconfig(&kubeconfig);
            let ec2 = ec2::Ec2::start();
            let env = if managed { ec2.env() } else { Vec::new() };
            let (first, again) = if managed {
                ("first, security group", "re-run, security group")
            } else {
                (
                    "first, --skip-security-groups",
                    "re-run, --skip-security-groups",
                )
            };
            times
                .entry(first)
                .or_default()
                .push(bootstrap(&kubeconfig, &env, managed));
            if managed {
                requests.0 = ec2.proxy.actions();
                ec2.proxy.clear();
            }
            times
                .entry(again)
                .or_default()
                .push(bootstrap(&kubeconfig, &env, managed));
            if managed {
                requests.1 = ec2.proxy.actions();
            }
        }
    }
    println!("{runs} runs, medians of a whole `obsboot bootstrap --allow-from 203.0.113.0/24`:");
    for (what, seconds) in &times {
        println!("  {what:<32} {:7.0} ms", median(seconds) * 1000.0);
    }
    for (what, actions) in [("first bootstrap", &requests.0), ("re-run", &requests.1)] {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for action in actions {
            *counts.entry(action).or_default() += 1;
        }
        let listed: Vec<String> = counts.iter().map(|(a, n)| format!("{a} {n}")).collect();
        println!(
            "  EC2 requests, {what}: {} ({})",
            actions.len(),
            listed.join(", ")
        );
    }
}

fn bootstrap(kubeconfig: &Path, env: &[(String, String)], managed: bool) -> f64 {
    let mut command = Command::new(env!("CARGO_BIN_EXE_obsboot"));
    command
        .args([
            "bootstrap",
            "--no-verify",
            "--allow-from",
            "203.0.113.0/24",
            "--kubeconfig",
        ])
        .arg(kubeconfig)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .envs(env.iter().map(|(k, v)| (k, v)));
    if !managed {
        command.arg("--skip-security-groups");
    }
    let start = Instant::now();
    let output = command.output().expect("obsboot runs");
    let seconds = start.elapsed().as_secs_f64();
    assert!(
        output.status.success(),
        "bootstrap failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    seconds
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}
