//! HTTP probes of endpoints exposed on a node's hostPort, sent from outside the cluster. A
//! failed probe names the layer that failed: nothing listening (refused), packets dropped
//! (connect timeout), a hanging service (response timeout), something that does not speak
//! HTTP (broken), or an HTTP answer that is not the expected one.
//!
//! hyper is used directly, one connection per probe, so that each layer's failure stays
//! visible instead of being folded into one client error; redirects are never followed.

use std::fmt;
use std::io;
use std::net::{Ipv6Addr, SocketAddr};
use std::time::Duration;

use http::header::{self, HeaderValue};
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper::body::{Bytes, Incoming};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout_at};

/// The most of a body a probe reads; matching uses what was read.
pub const BODY_LIMIT: usize = 1 << 20;

/// The most of an API answer [`fetch`] reads (Prometheus's list of targets grows with the
/// cluster).
pub const API_BODY_LIMIT: usize = 16 << 20;

/// Sent as `User-Agent`, so the probes can be told apart in access logs.
const USER_AGENT: &str = "obsboot-verify";

/// The statuses that count as a redirect.
const REDIRECTS: [u16; 5] = [301, 302, 303, 307, 308];

/// What a probe expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// This status, and (if set) a body containing this text.
    Status {
        /// The expected status code.
        status: u16,
        /// Text the body must contain, within the first [`BODY_LIMIT`] bytes.
        body_contains: Option<String>,
    },
    /// A redirect (301/302/303/307/308) whose Location's path starts with this.
    Redirect {
        /// The prefix of the Location's path (and query), e.g. `/login`.
        location_starts_with: String,
    },
    /// Any HTTP answer below 500: the port is reachable and something speaks HTTP.
    Answer,
}

/// One probe: `GET path` on `base` expecting `expect`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// `http://host:port`, without a trailing slash (see [`parse_base`]).
    pub base: String,
    /// The request target, starting with `/`.
    pub path: String,
    /// What counts as a pass.
    pub expect: Expect,
}

impl Probe {
    /// The full URL probed, for messages.
    pub fn url(&self) -> String {
        format!("{}{}", self.base, self.path)
    }
}

/// What a probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// As expected.
    Passed {
        /// The status answered.
        status: u16,
        /// A short account, e.g. `200, page contains "Simple Bookstore App"`.
        detail: String,
    },
    /// The host answered the connect with a reset: nothing listens on the port.
    Refused,
    /// No answer to the TCP connect within the timeout: packets are dropped on the way.
    ConnectTimeout,
    /// The connect failed otherwise (no route, resolver failure, ...): the OS's message.
    ConnectFailed(String),
    /// Connected, but no complete HTTP answer within the timeout.
    ResponseTimeout,
    /// The connection closed early or the answer was not HTTP: hyper's message.
    Broken(String),
    /// An HTTP answer, but not the expected one.
    Unexpected {
        /// The status answered.
        status: u16,
        /// What was wrong, e.g. `expected 200, got 503`.
        detail: String,
    },
    /// The probe itself is malformed (base URL or path), so nothing was sent.
    Invalid(String),
}

impl Outcome {
    /// Whether the probe passed.
    pub fn passed(&self) -> bool {
        matches!(self, Self::Passed { .. })
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Passed { detail, .. } => f.write_str(detail),
            Self::Refused => f.write_str("connection refused: nothing listens on the port"),
            Self::ConnectTimeout => f.write_str(
                "no answer to the connection attempt: a firewall or security group drops the packets",
            ),
            Self::ConnectFailed(message) => write!(f, "failed to connect: {message}"),
            Self::ResponseTimeout => f.write_str("connected, but no complete HTTP answer in time"),
            Self::Broken(message) => write!(f, "connected, but no valid HTTP answer: {message}"),
            Self::Unexpected { detail, .. } => write!(f, "unexpected answer: {detail}"),
            Self::Invalid(message) => write!(f, "invalid probe: {message}"),
        }
    }
}

/// Why a base URL is not `http://host[:port]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BaseError {
    /// Not an `http://` URL.
    #[error("invalid base URL \"{base}\": expected http://host[:port]")]
    Scheme {
        /// The base as given.
        base: String,
    },
    /// An `https://` URL; probes speak plain HTTP to the hostPort.
    #[error("invalid base URL \"{base}\": https is not supported, expected http://host[:port]")]
    Https {
        /// The base as given.
        base: String,
    },
    /// A path, query, fragment or user part after the scheme.
    #[error(
        "invalid base URL \"{base}\": expected only http://host[:port], without a path, query or user"
    )]
    Extra {
        /// The base as given.
        base: String,
    },
    /// The host is missing or not a name, an IPv4 address or a bracketed IPv6 address.
    #[error("invalid base URL \"{base}\": expected a host name or IP address after http://")]
    Host {
        /// The base as given.
        base: String,
    },
    /// The port is not a number from 1 to 65535.
    #[error("invalid base URL \"{base}\": expected a port from 1 to 65535 after the host")]
    Port {
        /// The base as given.
        base: String,
    },
}

/// Splits `http://host[:port]` (trailing slashes tolerated) into the host, without IPv6
/// brackets, and the port if given.
pub fn parse_base(base: &str) -> Result<(String, Option<u16>), BaseError> {
    let base_owned = || base.to_owned();
    let Some((scheme, authority)) = base.split_once("://") else {
        return Err(BaseError::Scheme { base: base_owned() });
    };
    let authority = authority.trim_end_matches('/');
    if scheme.eq_ignore_ascii_case("https") {
        return Err(BaseError::Https { base: base_owned() });
    }
    if !scheme.eq_ignore_ascii_case("http") {
        return Err(BaseError::Scheme { base: base_owned() });
    }
    if authority.contains(['/', '?', '#', '@']) {
        return Err(BaseError::Extra { base: base_owned() });
    }
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let Some((ip, after)) = rest.split_once(']') else {
            return Err(BaseError::Host { base: base_owned() });
        };
        if ip.parse::<Ipv6Addr>().is_err() {
            return Err(BaseError::Host { base: base_owned() });
        }
        match after {
            "" => (ip, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (ip, Some(port)),
                None => return Err(BaseError::Host { base: base_owned() }),
            },
        }
    } else {
        let (host, port) = match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        };
        if !is_host_name(host) {
            return Err(BaseError::Host { base: base_owned() });
        }
        (host, port)
    };
    let port = match port {
        None => None,
        Some(port) => Some(parse_port(port).ok_or_else(|| BaseError::Port { base: base_owned() })?),
    };
    Ok((host.to_owned(), port))
}

/// A DNS name or IPv4 address: letters, digits, `-`, `.` and `_`.
fn is_host_name(host: &str) -> bool {
    !host.is_empty()
        && host
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_'))
}

/// Digits only (no sign), 1 to 65535.
fn parse_port(port: &str) -> Option<u16> {
    if port.is_empty() || !port.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    port.parse().ok().filter(|&port| port != 0)
}

/// Runs `probe`; `timeout` bounds resolving and connecting and, separately, the answer.
pub async fn run(probe: &Probe, timeout: Duration) -> Outcome {
    match fetch(&probe.base, &probe.path, None, timeout, BODY_LIMIT).await {
        Ok(answer) => judge(&probe.expect, &answer),
        Err(outcome) => outcome,
    }
}

/// `GET path` on `base` (with `authorization`, when given, marked sensitive so that no
/// debug output shows it), bounded as [`run`] is, reading up to `limit` bytes of body: the
/// answer, or the outcome that stopped it.
pub(crate) async fn fetch(
    base: &str,
    path: &str,
    authorization: Option<&HeaderValue>,
    timeout: Duration,
    limit: usize,
) -> Result<Answer, Outcome> {
    let (host, port) = match parse_base(base) {
        Ok((host, Some(port))) => (host, port),
        Ok((_, None)) => {
            return Err(Outcome::Invalid(format!(
                "the base URL \"{base}\" has no port, expected http://host:port"
            )));
        }
        Err(err) => return Err(Outcome::Invalid(err.to_string())),
    };
    let request = request(&host, port, path, authorization).map_err(Outcome::Invalid)?;
    let stream = connect(&host, port, timeout).await?;
    match tokio::time::timeout(timeout, exchange(stream, request, limit)).await {
        Err(_) => Err(Outcome::ResponseTimeout),
        Ok(Err(message)) => Err(Outcome::Broken(message)),
        Ok(Ok(answer)) => Ok(answer),
    }
}

/// `GET path` with the headers every probe sends.
fn request(
    host: &str,
    port: u16,
    path: &str,
    authorization: Option<&HeaderValue>,
) -> Result<Request<Empty<Bytes>>, String> {
    if !path.starts_with('/') {
        return Err(format!("the path \"{path}\" does not start with /"));
    }
    let authority = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let mut builder = Request::get(path)
        .header(header::HOST, authority)
        .header(header::USER_AGENT, USER_AGENT)
        .header(header::CONNECTION, "close");
    if let Some(value) = authorization {
        let mut value = value.clone();
        value.set_sensitive(true);
        builder = builder
            .header(header::AUTHORIZATION, value)
            .header(header::ACCEPT, "application/json");
    }
    builder
        .body(Empty::new())
        .map_err(|_| format!("the path \"{path}\" is not a valid request target"))
}

/// Resolves `host` and connects to its addresses in turn, all within `limit`. When none
/// connects, the most telling failure wins: a refusal proves the host is reachable.
async fn connect(host: &str, port: u16, limit: Duration) -> Result<TcpStream, Outcome> {
    let deadline = Instant::now() + limit;
    let addrs: Vec<SocketAddr> =
        match timeout_at(deadline, tokio::net::lookup_host((host, port))).await {
            Err(_) => {
                return Err(Outcome::ConnectFailed(format!(
                    "no answer from the resolver for \"{host}\" in time"
                )));
            }
            Ok(Err(err)) => {
                return Err(Outcome::ConnectFailed(format!(
                    "failed to resolve \"{host}\": {err}"
                )));
            }
            Ok(Ok(addrs)) => addrs.collect(),
        };
    let mut failure: Option<Outcome> = None;
    for addr in addrs {
        let outcome = match timeout_at(deadline, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => return Ok(stream),
            Ok(Err(err)) => connect_failure(&err),
            Err(_) => Outcome::ConnectTimeout,
        };
        let timed_out = outcome == Outcome::ConnectTimeout;
        if failure
            .as_ref()
            .is_none_or(|kept| telling(&outcome) > telling(kept))
        {
            failure = Some(outcome);
        }
        if timed_out {
            break;
        }
    }
    Err(failure
        .unwrap_or_else(|| Outcome::ConnectFailed(format!("\"{host}\" resolves to no address"))))
}

/// The outcome of a failed connect, by the OS's error.
fn connect_failure(err: &io::Error) -> Outcome {
    match err.kind() {
        io::ErrorKind::ConnectionRefused => Outcome::Refused,
        io::ErrorKind::TimedOut => Outcome::ConnectTimeout,
        _ => Outcome::ConnectFailed(err.to_string()),
    }
}

/// How much a connect failure says about where the problem is.
fn telling(outcome: &Outcome) -> u8 {
    match outcome {
        Outcome::Refused => 2,
        Outcome::ConnectTimeout => 1,
        _ => 0,
    }
}

/// The parts of an HTTP answer a probe judges.
pub(crate) struct Answer {
    /// The status.
    pub status: StatusCode,
    /// The Location header, if any.
    pub location: Option<HeaderValue>,
    /// The first bytes of the body (up to the reader's limit).
    pub body: Vec<u8>,
}

/// Sends `request` on `stream` and reads the answer, up to `limit` bytes of body. The
/// connection is driven here rather than spawned, so that dropping this future (on timeout)
/// closes the socket.
async fn exchange(
    stream: TcpStream,
    request: Request<Empty<Bytes>>,
    limit: usize,
) -> Result<Answer, String> {
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|err| crate::report::joined(&err))?;
    let answer = async move {
        let response = sender
            .send_request(request)
            .await
            .map_err(|err| crate::report::joined(&err))?;
        let status = response.status();
        let location = response.headers().get(header::LOCATION).cloned();
        let body = read_body(response.into_body(), limit)
            .await
            .map_err(|err| format!("the body broke off: {}", crate::report::joined(&err)))?;
        Ok(Answer {
            status,
            location,
            body,
        })
    };
    tokio::pin!(answer);
    tokio::pin!(connection);
    tokio::select! {
        answer = &mut answer => answer,
        // The connection ended (closed, or failed to parse): the answer future now holds the
        // response or hyper's error for it.
        _ = &mut connection => answer.await,
    }
}

/// Up to `limit` bytes of `body`; the rest is left unread.
async fn read_body(mut body: Incoming, limit: usize) -> Result<Vec<u8>, hyper::Error> {
    let mut read = Vec::new();
    while read.len() < limit {
        let Some(frame) = body.frame().await else {
            break;
        };
        if let Ok(data) = frame?.into_data() {
            let room = limit - read.len();
            read.extend_from_slice(&data[..data.len().min(room)]);
        }
    }
    Ok(read)
}

/// Whether `answer` is what `expect` asks for. Messages quote only the expectation, the
/// status and a Location's path, never the body.
fn judge(expect: &Expect, answer: &Answer) -> Outcome {
    let status = answer.status.as_u16();
    let passed = |detail: String| Outcome::Passed { status, detail };
    let unexpected = |detail: String| Outcome::Unexpected { status, detail };
    match expect {
        Expect::Status {
            status: wanted,
            body_contains,
        } => match body_contains {
            _ if status != *wanted => unexpected(format!("expected {wanted}, got {status}")),
            None => passed(status.to_string()),
            Some(text) if contains(&answer.body, text.as_bytes()) => {
                passed(format!("{status}, page contains {text:?}"))
            }
            Some(text) => unexpected(format!("the body does not contain {text:?}")),
        },
        Expect::Redirect {
            location_starts_with: wanted,
        } => {
            if !REDIRECTS.contains(&status) {
                return unexpected(format!("expected a redirect to {wanted}, got {status}"));
            }
            let Some(location) = answer.location.as_ref() else {
                return unexpected(format!("redirects without a Location, expected {wanted}"));
            };
            let Ok(location) = location.to_str() else {
                return unexpected(format!(
                    "redirects to a Location that is not text, expected {wanted}"
                ));
            };
            let target = location_target(location);
            let shown = target.split(['?', '#']).next().unwrap_or_default();
            if target.starts_with(wanted.as_str()) {
                passed(format!("{status}, redirects to {shown}"))
            } else {
                unexpected(format!("redirects to {shown}, expected {wanted}"))
            }
        }
        Expect::Answer if status < 500 => passed(status.to_string()),
        Expect::Answer => unexpected(format!("expected an answer below 500, got {status}")),
    }
}

/// The path and query of a Location, which may be absolute (`http://host/login?x`),
/// scheme-relative (`//host/login`) or a path (`/login`).
fn location_target(location: &str) -> &str {
    let after_authority = if let Some((_, rest)) = location.split_once("://") {
        rest
    } else if let Some(rest) = location.strip_prefix("//") {
        rest
    } else {
        return location;
    };
    after_authority
        .find(['/', '?', '#'])
        .map_or("/", |start| &after_authority[start..])
}

/// Whether `needle` occurs in `haystack` (bytes, so a body need not be UTF-8).
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty()
        || haystack
            .windows(needle.len())
            .any(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    use super::*;

    const LONG: Duration = Duration::from_secs(5);

    /// Reads one request head (up to the blank line), so the client is not reset mid-send.
    async fn read_head(stream: &mut TcpStream) {
        let mut head = Vec::new();
        let mut buf = [0_u8; 1024];
        while !head.windows(4).any(|window| window == b"\r\n\r\n") {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
    }

    /// A server on 127.0.0.1 that handles each connection with `handle`; its base URL.
    async fn serve<F, Fut>(handle: F) -> String
    where
        F: Fn(TcpStream) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(handle(stream));
            }
        });
        format!("http://127.0.0.1:{port}")
    }

    /// A server answering every request with `response`, raw bytes.
    async fn answering(response: Vec<u8>) -> String {
        serve(move |mut stream| {
            let response = response.clone();
            async move {
                read_head(&mut stream).await;
                let _ = stream.write_all(&response).await;
                let _ = stream.shutdown().await;
            }
        })
        .await
    }

    fn http(status_line: &str, headers: &str, body: &str) -> Vec<u8> {
        format!(
            "HTTP/1.1 {status_line}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }

    fn status(base: &str, path: &str, status: u16, body_contains: Option<&str>) -> Probe {
        Probe {
            base: base.to_owned(),
            path: path.to_owned(),
            expect: Expect::Status {
                status,
                body_contains: body_contains.map(str::to_owned),
            },
        }
    }

    fn redirect(base: &str, prefix: &str) -> Probe {
        Probe {
            base: base.to_owned(),
            path: "/".to_owned(),
            expect: Expect::Redirect {
                location_starts_with: prefix.to_owned(),
            },
        }
    }

    fn answer(base: &str) -> Probe {
        Probe {
            base: base.to_owned(),
            path: "/".to_owned(),
            expect: Expect::Answer,
        }
    }

    const PAGE: &str = "<html><head><title>Simple Bookstore App</title></head></html>";

    #[tokio::test]
    async fn page_with_the_text_passes() {
        let base = answering(http("200 OK", "", PAGE)).await;
        let probe = status(&base, "/productpage", 200, Some("Simple Bookstore App"));
        let outcome = run(&probe, LONG).await;
        assert_eq!(
            outcome,
            Outcome::Passed {
                status: 200,
                detail: "200, page contains \"Simple Bookstore App\"".into()
            }
        );
        assert!(outcome.passed());
        assert_eq!(
            outcome.to_string(),
            "200, page contains \"Simple Bookstore App\""
        );
        assert_eq!(probe.url(), format!("{base}/productpage"));
    }

    #[tokio::test]
    async fn page_without_the_text_is_unexpected() {
        let base = answering(http("200 OK", "", PAGE)).await;
        let outcome = run(&status(&base, "/productpage", 200, Some("Reviews")), LONG).await;
        assert_eq!(
            outcome,
            Outcome::Unexpected {
                status: 200,
                detail: "the body does not contain \"Reviews\"".into()
            }
        );
        assert!(!outcome.passed());
    }

    #[tokio::test]
    async fn request_carries_the_probe_headers() {
        let (sent, received) = tokio::sync::oneshot::channel::<String>();
        let sent = std::sync::Mutex::new(Some(sent));
        let base = serve(move |mut stream| {
            let sent = sent.lock().unwrap().take();
            async move {
                let mut head = vec![0_u8; 4096];
                let n = stream.read(&mut head).await.unwrap_or(0);
                if let Some(sent) = sent {
                    let _ = sent.send(String::from_utf8_lossy(&head[..n]).into_owned());
                }
                let _ = stream.write_all(&http("200 OK", "", "")).await;
            }
        })
        .await;
        let outcome = run(&status(&base, "/productpage?u=1", 200, None), LONG).await;
        assert_eq!(
            outcome,
            Outcome::Passed {
                status: 200,
                detail: "200".into()
            }
        );
        let head = received.await.unwrap().to_ascii_lowercase();
        let authority = base.trim_start_matches("http://");
        assert!(
            head.starts_with("get /productpage?u=1 http/1.1\r\n"),
            "{head}"
        );
        assert!(head.contains(&format!("host: {authority}\r\n")), "{head}");
        assert!(head.contains("user-agent: obsboot-verify\r\n"), "{head}");
        assert!(head.contains("connection: close\r\n"), "{head}");
    }

    #[tokio::test]
    async fn wrong_status_is_unexpected() {
        let base = answering(http("503 Service Unavailable", "", "upstream down")).await;
        let outcome = run(&status(&base, "/", 200, None), LONG).await;
        assert_eq!(
            outcome,
            Outcome::Unexpected {
                status: 503,
                detail: "expected 200, got 503".into()
            }
        );
        assert_eq!(
            outcome.to_string(),
            "unexpected answer: expected 200, got 503"
        );
    }

    #[tokio::test]
    async fn text_beyond_the_body_limit_is_not_seen() {
        let body = format!("{}Simple Bookstore App", "a".repeat(BODY_LIMIT));
        let base = answering(http("200 OK", "", &body)).await;
        let outcome = run(&status(&base, "/", 200, Some("Simple Bookstore App")), LONG).await;
        assert_eq!(
            outcome,
            Outcome::Unexpected {
                status: 200,
                detail: "the body does not contain \"Simple Bookstore App\"".into()
            }
        );
    }

    #[tokio::test]
    async fn redirect_to_the_path_passes() {
        let base = answering(http("302 Found", "Location: /login\r\n", "")).await;
        let outcome = run(&redirect(&base, "/login"), LONG).await;
        assert_eq!(
            outcome,
            Outcome::Passed {
                status: 302,
                detail: "302, redirects to /login".into()
            }
        );
    }

    #[tokio::test]
    async fn absolute_redirect_matches_by_path() {
        let base = answering(http(
            "302 Found",
            "Location: http://host:1/login?next=%2F\r\n",
            "",
        ))
        .await;
        let outcome = run(&redirect(&base, "/login"), LONG).await;
        assert_eq!(
            outcome,
            Outcome::Passed {
                status: 302,
                detail: "302, redirects to /login".into()
            }
        );
    }

    #[tokio::test]
    async fn redirect_elsewhere_is_unexpected() {
        let base = answering(http("307 Temporary Redirect", "Location: /foo?x=1\r\n", "")).await;
        let outcome = run(&redirect(&base, "/login"), LONG).await;
        assert_eq!(
            outcome,
            Outcome::Unexpected {
                status: 307,
                detail: "redirects to /foo, expected /login".into()
            }
        );
    }

    #[tokio::test]
    async fn no_redirect_is_unexpected() {
        let base = answering(http("200 OK", "", PAGE)).await;
        let outcome = run(&redirect(&base, "/login"), LONG).await;
        assert_eq!(
            outcome,
            Outcome::Unexpected {
                status: 200,
                detail: "expected a redirect to /login, got 200".into()
            }
        );
    }

    #[tokio::test]
    async fn redirect_without_location_is_unexpected() {
        let base = answering(http("301 Moved Permanently", "", "")).await;
        let outcome = run(&redirect(&base, "/login"), LONG).await;
        assert_eq!(
            outcome,
            Outcome::Unexpected {
                status: 301,
                detail: "redirects without a Location, expected /login".into()
            }
        );
    }

    #[tokio::test]
    async fn any_answer_below_500_passes() {
        let base = answering(http("404 Not Found", "", "")).await;
        assert_eq!(
            run(&answer(&base), LONG).await,
            Outcome::Passed {
                status: 404,
                detail: "404".into()
            }
        );
        let base = answering(http("500 Internal Server Error", "", "")).await;
        assert_eq!(
            run(&answer(&base), LONG).await,
            Outcome::Unexpected {
                status: 500,
                detail: "expected an answer below 500, got 500".into()
            }
        );
    }

    #[tokio::test]
    async fn closed_port_is_refused() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let outcome = run(&answer(&format!("http://127.0.0.1:{port}")), LONG).await;
        assert_eq!(outcome, Outcome::Refused);
        assert_eq!(
            outcome.to_string(),
            "connection refused: nothing listens on the port"
        );
    }

    #[tokio::test]
    async fn silent_server_times_out() {
        let base = serve(|mut stream| async move {
            read_head(&mut stream).await;
            tokio::time::sleep(Duration::from_secs(60)).await;
            drop(stream);
        })
        .await;
        let outcome = tokio::time::timeout(LONG, run(&answer(&base), Duration::from_millis(300)))
            .await
            .expect("the probe returns within its timeout");
        assert_eq!(outcome, Outcome::ResponseTimeout);
    }

    #[tokio::test]
    async fn stalled_body_times_out() {
        let base = serve(|mut stream| async move {
            read_head(&mut stream).await;
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
                .await;
            tokio::time::sleep(Duration::from_secs(60)).await;
        })
        .await;
        let outcome = tokio::time::timeout(
            LONG,
            run(&status(&base, "/", 200, None), Duration::from_millis(300)),
        )
        .await
        .expect("the probe returns within its timeout");
        assert_eq!(outcome, Outcome::ResponseTimeout);
    }

    #[tokio::test]
    async fn closed_connection_is_broken() {
        let base = serve(|stream| async move { drop(stream) }).await;
        let outcome = run(&answer(&base), LONG).await;
        assert!(matches!(outcome, Outcome::Broken(_)), "{outcome:?}");
    }

    #[tokio::test]
    async fn closed_after_request_is_broken() {
        let base = serve(|mut stream| async move {
            read_head(&mut stream).await;
            let _ = stream.shutdown().await;
        })
        .await;
        let outcome = run(&answer(&base), LONG).await;
        assert_eq!(
            outcome,
            Outcome::Broken("connection closed before message completed".into())
        );
    }

    #[tokio::test]
    async fn truncated_body_is_broken() {
        let base =
            answering(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial".to_vec()).await;
        let outcome = run(&status(&base, "/", 200, None), LONG).await;
        let Outcome::Broken(message) = outcome else {
            panic!("{outcome:?}");
        };
        assert!(message.starts_with("the body broke off: "), "{message}");
    }

    #[tokio::test]
    async fn garbage_is_broken() {
        let base = answering(b"SSH-2.0-OpenSSH_9.6\r\n\r\n".to_vec()).await;
        let outcome = run(&answer(&base), LONG).await;
        let Outcome::Broken(message) = &outcome else {
            panic!("{outcome:?}");
        };
        assert!(message.starts_with("invalid HTTP"), "{message}");
        assert!(
            outcome
                .to_string()
                .starts_with("connected, but no valid HTTP answer: ")
        );
    }

    #[tokio::test]
    async fn host_names_resolve() {
        let base = answering(http("200 OK", "", "")).await;
        let base = base.replace("127.0.0.1", "localhost");
        assert!(run(&answer(&base), LONG).await.passed());
    }

    #[tokio::test]
    async fn ipv6_literals_connect() {
        let Ok(listener) = TcpListener::bind("[::1]:0").await else {
            return; // no IPv6 loopback here
        };
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            if let Ok((mut stream, _)) = listener.accept().await {
                read_head(&mut stream).await;
                let _ = stream.write_all(&http("200 OK", "", "")).await;
            }
        });
        let outcome = run(&answer(&format!("http://[::1]:{port}")), LONG).await;
        assert!(outcome.passed(), "{outcome:?}");
    }

    #[tokio::test]
    async fn malformed_probes_send_nothing() {
        assert_eq!(
            run(&answer("http://127.0.0.1"), LONG).await,
            Outcome::Invalid(
                "the base URL \"http://127.0.0.1\" has no port, expected http://host:port".into()
            )
        );
        assert_eq!(
            run(&answer("https://127.0.0.1:1"), LONG).await,
            Outcome::Invalid(
                "invalid base URL \"https://127.0.0.1:1\": https is not supported, expected http://host[:port]"
                    .into()
            )
        );
        assert_eq!(
            run(
                &status("http://127.0.0.1:1", "productpage", 200, None),
                LONG
            )
            .await,
            Outcome::Invalid("the path \"productpage\" does not start with /".into())
        );
    }

    fn parsed(host: &str, port: Option<u16>) -> (String, Option<u16>) {
        (host.to_owned(), port)
    }

    #[test]
    fn bases_parse() {
        assert_eq!(
            parse_base("http://203.0.113.10:30080"),
            Ok(parsed("203.0.113.10", Some(30080)))
        );
        assert_eq!(
            parse_base("http://203.0.113.10"),
            Ok(parsed("203.0.113.10", None))
        );
        assert_eq!(
            parse_base("HTTP://node-1.example.com:80/"),
            Ok(parsed("node-1.example.com", Some(80)))
        );
        assert_eq!(
            parse_base("http://[::1]:8080"),
            Ok(parsed("::1", Some(8080)))
        );
        assert_eq!(
            parse_base("http://[2001:db8::1]//"),
            Ok(parsed("2001:db8::1", None))
        );
    }

    #[test]
    fn bad_bases_say_what_was_expected() {
        let message = |base: &str| parse_base(base).unwrap_err().to_string();
        assert_eq!(
            message("https://203.0.113.10:443"),
            "invalid base URL \"https://203.0.113.10:443\": https is not supported, expected http://host[:port]"
        );
        assert_eq!(
            message("203.0.113.10:30080"),
            "invalid base URL \"203.0.113.10:30080\": expected http://host[:port]"
        );
        assert_eq!(
            message("ftp://host"),
            "invalid base URL \"ftp://host\": expected http://host[:port]"
        );
        assert_eq!(
            message("http://host:80/productpage"),
            "invalid base URL \"http://host:80/productpage\": expected only http://host[:port], without a path, query or user"
        );
        assert_eq!(
            message("http://user@host"),
            "invalid base URL \"http://user@host\": expected only http://host[:port], without a path, query or user"
        );
        for base in [
            "http://",
            "http://:80",
            "http://[::1",
            "http://[nope]:80",
            "http://[::1]80",
            "http://a b",
        ] {
            assert_eq!(
                parse_base(base),
                Err(BaseError::Host { base: base.into() }),
                "{base}"
            );
        }
        for base in [
            "http://host:",
            "http://host:0",
            "http://host:65536",
            "http://host:+80",
            "http://a:b:c",
        ] {
            assert_eq!(
                parse_base(base),
                Err(BaseError::Port { base: base.into() }),
                "{base}"
            );
        }
        assert_eq!(
            message("http://host:x"),
            "invalid base URL \"http://host:x\": expected a port from 1 to 65535 after the host"
        );
    }

    #[test]
    fn location_targets() {
        assert_eq!(location_target("/login?x"), "/login?x");
        assert_eq!(location_target("http://host:1/login?x"), "/login?x");
        assert_eq!(location_target("https://host"), "/");
        assert_eq!(location_target("//host/a"), "/a");
        assert_eq!(location_target("http://host?q"), "?q");
    }
}
