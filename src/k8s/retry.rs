//! A bounded retry for idempotent requests (reads, server-side apply, delete) that failed in a
//! way a second try can fix: a 5xx answer or a lost connection. kube's own retry layer
//! already handles 429, 503 and 504 (honouring Retry-After); this adds 500s and transport
//! errors, which it leaves alone because a non-idempotent request must not be repeated.

use std::future::Future;
use std::time::Duration;

use tracing::debug;

/// Tries after the first.
const RETRIES: u32 = 4;
/// The first pause; each later one is three times longer (0.1, 0.3, 0.9, 2.7 s).
const FIRST_PAUSE: Duration = Duration::from_millis(100);

/// Whether `err` may go away on a second try.
pub fn is_transient(err: &kube::Error) -> bool {
    match err {
        kube::Error::Api(status) => status.code >= 500,
        kube::Error::HyperError(_) | kube::Error::Service(_) => true,
        _ => false,
    }
}

/// The status code and reason, or the transport error: never the API server's message,
/// which can quote a Secret's contents.
fn brief(err: &kube::Error) -> String {
    match err {
        kube::Error::Api(status) => format!("HTTP {} {}", status.code, status.reason),
        other => other.to_string(),
    }
}

/// Runs `op` until it succeeds, fails for good, or has been retried [`RETRIES`] times.
pub async fn idempotent<T, F, Fut>(what: &str, mut op: F) -> Result<T, kube::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, kube::Error>>,
{
    let mut pause = FIRST_PAUSE;
    let mut attempt = 0;
    loop {
        match op().await {
            Err(err) if attempt < RETRIES && is_transient(&err) => {
                debug!(
                    "{what}: {}; retrying in {} ms",
                    brief(&err),
                    pause.as_millis()
                );
                tokio::time::sleep(pause).await;
                pause *= 3;
                attempt += 1;
            }
            result => return result,
        }
    }
}
