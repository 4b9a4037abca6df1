//! A real Prometheus process on 127.0.0.1 for one test: started with a configuration and a
//! scratch directory, asked over plain HTTP, killed when dropped.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::DEADLINE;

/// `$OBSBOOT_PROMETHEUS`, else `prometheus` on `PATH`; a test failure saying how to install
/// it when it does not run.
pub fn prometheus() -> PathBuf {
    crate::harness::tool(
        "OBSBOOT_PROMETHEUS",
        "prometheus",
        "`tests/install-prometheus DIR` and set OBSBOOT_PROMETHEUS=DIR/usr/bin/prometheus",
    )
}

/// A running Prometheus, killed when dropped (also when the test panics).
pub struct Prometheus {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Prometheus {
    /// Starts Prometheus on 127.0.0.1 with `config`, its data and log in `dir`.
    pub fn start(config: &str, dir: &Path) -> Self {
        let config_file = dir.join("prometheus.yml");
        std::fs::write(&config_file, config).expect("write prometheus.yml");
        let log = dir.join("prometheus.log");
        let port = crate::ec2::moto::free_port();
        let child = Command::new(prometheus())
            .arg(format!("--config.file={}", config_file.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("create the log"))
            .spawn()
            .expect("start prometheus");
        Self { child, port, log }
    }

    /// Its log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `GET path`: the status code and body, or `None` while nothing answers.
    fn get(&self, path: &str) -> Option<(u16, String)> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        let request = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
        stream.write_all(request.as_bytes()).ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).ok()?;
        let (head, body) = response.split_once("\r\n\r\n")?;
        let code = head.split(' ').nth(1)?.parse().ok()?;
        Some((code, body.to_owned()))
    }

    /// Fails the test, with the log, if Prometheus has exited.
    fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("prometheus exited ({status}):\n{}", self.log());
        }
    }

    /// Waits until `/-/ready` answers 200.
    pub fn await_ready(&mut self) {
        let start = Instant::now();
        loop {
            self.assert_running();
            if self.get("/-/ready").is_some_and(|(code, _)| code == 200) {
                return;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "prometheus not ready after {DEADLINE:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The active targets, as `/api/v1/targets?state=active` reports them.
    pub fn active_targets(&mut self) -> Vec<Value> {
        self.assert_running();
        let (code, body) = self
            .get("/api/v1/targets?state=active")
            .expect("the targets API answers");
        assert_eq!(code, 200, "{body}");
        let answer: Value = serde_json::from_str(&body).expect("JSON");
        answer["data"]["activeTargets"]
            .as_array()
            .expect("activeTargets")
            .clone()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The last `lines` lines of `text`.
pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
