//! Tests of the simulated API server, driven through the real kube client (from a
//! kubeconfig it writes) and through its direct methods.

mod apply;
mod cni;
mod crud;
mod discovery;
mod faults;
mod injection;
mod injector;
mod namespaces;
mod platform;
mod proxy;
mod scheduling;
mod selectors;
mod services;
mod validation;
mod watch;
mod workloads;

use std::future::Future;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::{Value, json};

use crate::apiserver::ApiServer;

/// How long a test waits for the simulated controllers before it fails.
pub const SETTLE: Duration = Duration::from_secs(5);

/// Runs `future` on a fresh runtime of the test's own.
pub fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(future)
}

/// A kube client configured from the kubeconfig the server writes.
pub async fn client(server: &ApiServer) -> kube::Client {
    let dir = tempfile::tempdir().expect("a scratch directory");
    let path = dir.path().join("kubeconfig");
    server.write_kubeconfig(&path);
    let kubeconfig = Kubeconfig::read_from(&path).expect("read the kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("load the kubeconfig");
    kube::Client::try_from(config).expect("a client")
}

/// The Status body of a kube API error.
pub fn status_of(error: kube::Error) -> Value {
    match error {
        kube::Error::Api(status) => serde_json::to_value(&*status).expect("a Status as JSON"),
        other => panic!("expected an API error, got {other}"),
    }
}

/// A namespace object.
pub fn namespace(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
}

/// A Deployment of `replicas` nginx pods labelled `app: <name>`.
pub fn deployment(namespace: &str, name: &str, replicas: i64) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27", "ports": [{"containerPort": 80, "name": "http"}]}]},
            },
        },
    })
}

/// A namespaced CustomResourceDefinition `widgets.example.com` (kind Widget, v1).
pub fn widget_crd() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wg"]},
            "versions": [{
                "name": "v1",
                "served": true,
                "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
                "subresources": {"status": {}},
            }],
        },
    })
}

/// An HTTP answer read off the wire: status code, headers (lower-cased names) and body,
/// de-chunked.
pub struct Raw {
    pub code: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Raw {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Sends one request with the server's token over a fresh connection and reads the whole
/// answer (a watch: until the server ends it).
pub fn raw(server: &ApiServer, method: &str, path: &str, content_type: &str, body: &str) -> Raw {
    let address = server.url().trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(address).expect("connect");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: sim\r\nAuthorization: Bearer {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        server.token(),
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let (head, rest) = response.split_once("\r\n\r\n").expect("a head");
    let mut lines = head.lines();
    let code = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .expect("a status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v == "chunked");
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_owned()
    };
    Raw {
        code,
        headers,
        body,
    }
}

/// The payload of a chunked body (a cut-off stream yields what arrived).
fn dechunk(mut text: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = text.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        text = rest[size..].trim_start_matches("\r\n");
    }
    out
}

/// Creates a pod with container port 8443 on `node` and waits for its IP.
pub fn pod_on(server: &ApiServer, name: &str, node: &str) {
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"nodeSelector": {"kubernetes.io/hostname": node},
                 "tolerations": [{"operator": "Exists"}],
                 "containers": [{"name": "web", "image": "nginx:1.27", "ports": [{"containerPort": 8443}]}]}});
    let answer = raw(
        server,
        "POST",
        "/api/v1/namespaces/default/pods",
        "application/json",
        &pod.to_string(),
    );
    assert_eq!(answer.code, 201, "{}", answer.body);
    assert!(server.wait_until(SETTLE, |view| {
        view.get("v1", "Pod", Some("default"), name)
            .is_some_and(|p| p["status"]["podIP"].is_string())
    }));
}
