//! The HTTP/1.1 front: bearer-token authentication, latency, fault injection, routing to
//! discovery and resources, JSON answers and watch streams, and the request journal.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt as _, Full, StreamBody};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, oneshot};

use super::admission;
use super::discovery;
use super::faults::{FaultAction, Target};
use super::handlers::{self, Call, Reply};
use super::incoming::{self, Parsed};
use super::journal;
use super::proxy;
use super::routes::{self, Route};
use super::state::{Shared, State};
use super::status::ApiError;
use super::watch::{self, Mode};

/// A response body: a whole JSON document or a watch stream.
type Body = UnsyncBoxBody<Bytes, Infallible>;

/// Accepts connections until `shutdown` fires.
pub async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: oneshot::Receiver<()>,
) {
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    tokio::spawn(connection(stream, Arc::clone(&shared)));
                }
            }
            _ = &mut shutdown => break,
        }
    }
}

/// Serves one connection; a fault can close it without an answer through `kill`.
async fn connection(stream: TcpStream, shared: Arc<Shared>) {
    let kill = Arc::new(Notify::new());
    let for_service = Arc::clone(&kill);
    let service =
        service_fn(move |request| handle(Arc::clone(&shared), Arc::clone(&for_service), request));
    let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        _ = connection => {}
        () = kill.notified() => {}
    }
}

/// A JSON answer with the headers a real server sends.
fn json_response(
    code: u16,
    body: &Value,
    content_type: &str,
    reply_warnings: &[String],
    retry_after: Option<u32>,
) -> Response<Body> {
    let mut builder = Response::builder()
        .status(code)
        .header("content-type", content_type)
        .header("cache-control", "no-cache, private");
    if let Some(seconds) = retry_after {
        builder = builder.header("retry-after", seconds.to_string());
    }
    for warning in reply_warnings {
        builder = builder.header("warning", format!("299 - {warning:?}"));
    }
    let bytes = Bytes::from(body.to_string());
    builder
        .body(Full::new(bytes).boxed_unsync())
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new()).boxed_unsync()))
}

/// A Status answer (or the mux's plain-text 404).
fn error_response(error: &ApiError) -> Response<Body> {
    if error.plain {
        return Response::builder()
            .status(error.code)
            .header("content-type", "text/plain; charset=utf-8")
            .header("x-content-type-options", "nosniff")
            .body(Full::new(Bytes::from(format!("{}\n", error.message))).boxed_unsync())
            .unwrap_or_else(|_| Response::new(Full::new(Bytes::new()).boxed_unsync()));
    }
    json_response(
        error.code,
        &error.body(),
        "application/json",
        &[],
        error.retry_after,
    )
}

/// One request: authentication, latency, faults, then the handlers; journaled.
async fn handle(
    shared: Arc<Shared>,
    kill: Arc<Notify>,
    request: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let at = Instant::now();
    let p = incoming::read(request).await;
    let (seq, latency, token) = shared.with(|s| {
        s.seq += 1;
        (s.seq, s.latency, s.token.clone())
    });
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let mut entry = p.entry(seq, at);
    if p.authorization != format!("Bearer {token}") {
        return Ok(finish(&shared, entry, &ApiError::unauthorized()));
    }
    let decoded = p.decoded_query();
    let target = Target {
        method: &p.method,
        path: &p.path,
        query: &p.raw_query,
        decoded_query: &decoded,
        watch: p.is_watch(),
    };
    let fault = shared.with(|s| s.faults.take(&target));
    let mut drop_after = false;
    let mut mode = Mode::Normal;
    match fault {
        Some(FaultAction::DropConnection) => return Ok(hang_up(&shared, entry, &kill).await),
        Some(FaultAction::Delay(delay)) => tokio::time::sleep(delay).await,
        Some(FaultAction::Status {
            code,
            reason,
            message,
            retry_after,
        }) => {
            let mut error = ApiError::new(code, &reason, message);
            error.retry_after = retry_after;
            return Ok(finish(&shared, entry, &error));
        }
        Some(FaultAction::WebhookFailure { webhook }) => {
            return Ok(finish(&shared, entry, &admission::failed_webhook(&webhook)));
        }
        Some(FaultAction::DropAfterCommit) => drop_after = true,
        Some(FaultAction::ExpireWatch) => mode = Mode::Expire,
        Some(FaultAction::TruncateWatch) => mode = Mode::Truncate(Arc::clone(&kill)),
        None => {}
    }
    if let Some(target) = proxy::parse(&p.path) {
        let reply = proxy::answer(&shared, &p.method, &target).await;
        entry.status = reply.code;
        shared.with(|s| s.record(entry));
        return Ok(proxy_response(&reply));
    }
    let route = routes::parse(&p.path);
    if p.is_watch()
        && let Route::Objects(target) = &route
    {
        let response = watch_response(&shared, entry, &p, target, mode);
        if drop_after {
            kill.notify_one();
        }
        return Ok(response);
    }
    let (result, wrote) = shared.with(|state| {
        let before = state.store.rv();
        let result = dispatch(state, &route, &p);
        (result, state.store.rv() != before)
    });
    entry.write = wrote && p.method != "GET";
    if drop_after {
        return Ok(hang_up(&shared, entry, &kill).await);
    }
    Ok(match result {
        Ok((reply, content_type)) => {
            entry.status = reply.code;
            shared.with(|s| s.record(entry));
            json_response(reply.code, &reply.body, content_type, &reply.warnings, None)
        }
        Err(error) => finish(&shared, entry, &error),
    })
}

/// A node or pod proxy answer, with its own content type (a kubelet's or pod's text, or a
/// Status).
fn proxy_response(reply: &proxy::ProxyReply) -> Response<Body> {
    let mut builder = Response::builder()
        .status(reply.code)
        .header("content-type", reply.content_type)
        .header("cache-control", "no-cache, private");
    if let Some(location) = &reply.location {
        builder = builder.header("location", location);
    }
    builder
        .body(Full::new(Bytes::from(reply.body.clone())).boxed_unsync())
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new()).boxed_unsync()))
}

/// Records a request left unanswered and closes its connection.
async fn hang_up(shared: &Shared, entry: journal::Request, kill: &Notify) -> Response<Body> {
    shared.with(|s| s.record(entry));
    kill.notify_one();
    std::future::pending().await
}

/// Starts a watch stream, or answers why it cannot start.
fn watch_response(
    shared: &Arc<Shared>,
    mut entry: journal::Request,
    p: &Parsed,
    target: &routes::Target,
    mode: Mode,
) -> Response<Body> {
    let resolved = {
        let state = shared.lock();
        handlers::resolve(&state, target)
    };
    match resolved.and_then(|r| watch::start(shared, &r, &p.query, &p.accept, mode)) {
        Ok(stream) => {
            entry.status = 200;
            shared.with(|s| s.record(entry));
            Response::builder()
                .status(200)
                .header("content-type", "application/json")
                .header("cache-control", "no-cache, private")
                .body(StreamBody::new(stream).boxed_unsync())
                .unwrap_or_else(|_| Response::new(Full::new(Bytes::new()).boxed_unsync()))
        }
        Err(error) => finish(shared, entry, &error),
    }
}

/// Records an error answer and builds it.
fn finish(shared: &Shared, mut entry: journal::Request, error: &ApiError) -> Response<Body> {
    entry.status = error.code;
    shared.with(|s| s.record(entry));
    error_response(error)
}

/// Answers a non-watch request from the route.
fn dispatch(
    state: &mut State,
    route: &Route,
    p: &Parsed,
) -> Result<(Reply, &'static str), ApiError> {
    let aggregated = discovery::wants_aggregated(&p.accept);
    let document = |body: Option<Value>| body.map(Reply::ok).ok_or_else(ApiError::page_not_found);
    let reply = match route {
        Route::Version => Reply::ok(discovery::version()),
        Route::Health => Reply::ok(Value::String("ok".to_owned())),
        Route::CoreVersions if aggregated => {
            return Ok((
                Reply::ok(discovery::aggregated(&state.store, true)),
                discovery::AGGREGATED,
            ));
        }
        Route::GroupList if aggregated => {
            return Ok((
                Reply::ok(discovery::aggregated(&state.store, false)),
                discovery::AGGREGATED,
            ));
        }
        Route::CoreVersions => Reply::ok(discovery::core_versions()),
        Route::GroupList => Reply::ok(discovery::group_list(&state.store)),
        Route::Group(group) => document(discovery::group(&state.store, group))?,
        Route::Resources { group, version } => {
            document(discovery::resource_list(&state.store, group, version))?
        }
        Route::Objects(target) => {
            let body = p.body.clone()?;
            let call = Call {
                method: &p.method,
                target,
                query: &p.query,
                content_type: &p.content_type,
                accept: &p.accept,
                body: body.as_ref(),
                user_agent: &p.user_agent,
            };
            handlers::handle(state, &call)?
        }
        Route::Unknown => return Err(ApiError::page_not_found()),
    };
    Ok((reply, "application/json"))
}
