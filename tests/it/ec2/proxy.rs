//! A fault proxy in front of moto, for what moto cannot do: it records the EC2 action of every
//! request, and answers chosen actions with a canned EC2 error (throttling, a missing IAM
//! permission) instead of forwarding them.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// An EC2 error answered in place of `action`, `times` times (`u32::MAX`: always). With
/// `status` 0 the request is forwarded after `delay` instead; with `body` set, that body is
/// answered with `status` (a success moto never gives).
#[derive(Debug, Clone, Default)]
pub struct Fault {
    pub action: &'static str,
    pub times: u32,
    pub status: u16,
    pub code: &'static str,
    pub message: &'static str,
    pub delay: std::time::Duration,
    pub body: Option<&'static str>,
}

#[derive(Default)]
struct State {
    journal: Vec<(String, std::time::Instant)>,
    faults: Vec<Fault>,
    /// Rules per DescribeSecurityGroupRules page, when the proxy paginates (moto never does).
    page_size: Option<usize>,
    /// Pages served after the first, by NextToken.
    later_pages: usize,
}

/// The running proxy.
pub struct Proxy {
    pub port: u16,
    state: Arc<Mutex<State>>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Proxy {
    pub fn start(upstream: u16) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        listener.set_nonblocking(true).expect("non-blocking");
        let port = listener.local_addr().expect("address").port();
        let state = Arc::new(Mutex::new(State::default()));
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let shared = Arc::clone(&state);
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(serve(listener, upstream, shared, stopped));
        });
        Self {
            port,
            state,
            _stop: stop,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn inject(&self, fault: Fault) {
        self.state.lock().unwrap().faults.push(fault);
    }

    /// The actions received, in order (answered by a fault or not).
    pub fn actions(&self) -> Vec<String> {
        let state = self.state.lock().unwrap();
        state
            .journal
            .iter()
            .map(|(action, _)| action.clone())
            .collect()
    }

    /// When the last request that changes EC2 arrived.
    pub fn last_mutation_at(&self) -> Option<std::time::Instant> {
        let state = self.state.lock().unwrap();
        state
            .journal
            .iter()
            .rev()
            .find(|(action, _)| !action.starts_with("Describe"))
            .map(|(_, at)| *at)
    }

    /// The actions that change EC2.
    pub fn mutations(&self) -> Vec<String> {
        self.actions()
            .into_iter()
            .filter(|a| !a.starts_with("Describe"))
            .collect()
    }

    /// Splits DescribeSecurityGroupRules answers into pages of `size` rules, with NextToken.
    pub fn paginate(&self, size: usize) {
        self.state.lock().unwrap().page_size = Some(size);
    }

    /// How many pages after the first were asked for.
    pub fn later_pages(&self) -> usize {
        self.state.lock().unwrap().later_pages
    }

    pub fn clear(&self) {
        self.state.lock().unwrap().journal.clear();
    }
}

async fn serve(
    listener: std::net::TcpListener,
    upstream: u16,
    state: Arc<Mutex<State>>,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let state = Arc::clone(&state);
                tokio::spawn(async move {
                    let service = service_fn(move |request| handle(request, upstream, Arc::clone(&state)));
                    let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                });
            }
            _ = &mut stopped => break,
        }
    }
}

async fn handle(
    request: Request<Incoming>,
    upstream: u16,
    state: Arc<Mutex<State>>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(http_body_util::Collected::to_bytes)
        .unwrap_or_default();
    let action = form_value(&body, "Action").unwrap_or_default();
    let fault = {
        let mut state = state.lock().unwrap();
        state
            .journal
            .push((action.clone(), std::time::Instant::now()));
        state
            .faults
            .iter_mut()
            .find(|f| f.action == action && f.times > 0)
            .map(|f| {
                if f.times != u32::MAX {
                    f.times -= 1;
                }
                f.clone()
            })
    };
    if let Some(fault) = fault.as_ref().filter(|f| f.status == 0) {
        tokio::time::sleep(fault.delay).await;
    } else if let Some(Fault {
        status,
        body: Some(body),
        ..
    }) = fault
    {
        let response = Response::builder()
            .status(status)
            .header("content-type", "text/xml;charset=UTF-8")
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        return Ok(response);
    } else if let Some(fault) = fault {
        let xml = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{}</Code><Message>{}</Message></Error></Errors><RequestID>fault-proxy</RequestID></Response>",
            fault.code, fault.message
        );
        let response = Response::builder()
            .status(fault.status)
            .header("content-type", "text/xml;charset=UTF-8")
            .body(Full::new(Bytes::from(xml)))
            .unwrap();
        return Ok(response);
    }
    let paging = state
        .lock()
        .unwrap()
        .page_size
        .filter(|_| action == "DescribeSecurityGroupRules");
    let token: usize = form_value(&body, "NextToken")
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let answer = match forward(parts, body, upstream).await {
        Ok(answer) => answer,
        Err(err) => {
            let response = Response::builder()
                .status(502)
                .body(Full::new(Bytes::from(format!("proxy: {err}"))))
                .unwrap();
            return Ok(response);
        }
    };
    let Some(size) = paging else {
        return Ok(Response::from_parts(answer.parts, Full::new(answer.body)));
    };
    if token > 0 {
        state.lock().unwrap().later_pages += 1;
    }
    let text = String::from_utf8_lossy(&answer.body).into_owned();
    let mut parts = answer.parts;
    parts.headers.remove(hyper::header::CONTENT_LENGTH);
    let response = Response::from_parts(parts, Full::new(Bytes::from(page(&text, token, size))));
    Ok(response)
}

/// A forwarded answer with its whole body.
struct Answer {
    parts: hyper::http::response::Parts,
    body: Bytes,
}

async fn forward(
    parts: hyper::http::request::Parts,
    body: Bytes,
    upstream: u16,
) -> Result<Answer, Box<dyn std::error::Error + Send + Sync>> {
    let stream = TcpStream::connect(("127.0.0.1", upstream)).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let request = Request::from_parts(parts, Full::new(body));
    let response = sender.send_request(request).await?;
    let (parts, body) = response.into_parts();
    let body = body.collect().await?.to_bytes();
    Ok(Answer { parts, body })
}

/// Page `token` (of `size` rules) of a DescribeSecurityGroupRules answer, with the token of
/// the next page when there is one.
fn page(xml: &str, token: usize, size: usize) -> String {
    const OPEN: &str = "<securityGroupRuleSet>";
    const CLOSE: &str = "</securityGroupRuleSet>";
    let (Some(start), Some(end)) = (xml.find(OPEN), xml.rfind(CLOSE)) else {
        return xml.to_owned();
    };
    let inner = &xml[start + OPEN.len()..end];
    // Top-level <item>s; rules hold nested <item>s in their tagSet.
    let mut items = Vec::new();
    let (mut depth, mut from, mut at) = (0usize, 0usize, 0usize);
    while at < inner.len() {
        if inner[at..].starts_with("<item>") {
            if depth == 0 {
                from = at;
            }
            depth += 1;
            at += "<item>".len();
        } else if inner[at..].starts_with("</item>") {
            depth -= 1;
            at += "</item>".len();
            if depth == 0 {
                items.push(&inner[from..at]);
            }
        } else {
            at += inner[at..].chars().next().map_or(1, char::len_utf8);
        }
    }
    let shown: String = items
        .iter()
        .skip(token * size)
        .take(size)
        .copied()
        .collect();
    let next = if (token + 1) * size < items.len() {
        format!("<nextToken>{}</nextToken>", token + 1)
    } else {
        String::new()
    };
    format!(
        "{}{OPEN}{shown}{CLOSE}{next}{}",
        &xml[..start],
        &xml[end + CLOSE.len()..]
    )
}

/// The value of `key` in a form-encoded body.
fn form_value(body: &[u8], key: &str) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    text.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == key).then(|| v.to_owned())
    })
}
