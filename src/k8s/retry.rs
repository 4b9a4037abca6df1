//! The one retry policy for requests a second try cannot harm: reads, server-side apply,
//! deletes, and the lock's requests (which recognise their own earlier success). Bounded,
//! with a growing pause. kube's own retry layer already handles 429, 503 and 504 (honouring
//! Retry-After); this adds the other 5xx answers and lost connections, which it leaves alone
//! because a request that is not idempotent must not be repeated. A read may also retry a
//! 409: it changes nothing, and the conflict it reports is about something else.

use std::future::Future;
use std::time::Duration;

use tracing::debug;

/// Tries after the first.
const RETRIES: u32 = 4;
/// The first pause; each later one is three times longer (0.1, 0.3, 0.9, 2.7 s).
const FIRST_PAUSE: Duration = Duration::from_millis(100);

/// What kind of request is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// It changes nothing (or re-reads before it changes anything): a 409 is retried too.
    Read,
    /// It writes: a 409 is an answer (a field conflict, a failed precondition).
    Write,
}

/// Whether `err` may go away on a second try of a request of `kind`.
pub fn is_transient(err: &kube::Error, kind: Kind) -> bool {
    match err {
        kube::Error::Api(status) => {
            status.code >= 500 || (status.code == 409 && kind == Kind::Read)
        }
        kube::Error::HyperError(_) | kube::Error::Service(_) => true,
        _ => false,
    }
}

/// The status code and reason, or the transport error: never the API server's message,
/// which can quote a Secret's contents.
fn brief(err: &kube::Error) -> String {
    match err {
        kube::Error::Api(status) => format!("HTTP {} {}", status.code, status.reason),
        other => crate::report::innermost(other),
    }
}

/// Runs the read `op` until it succeeds, fails for good, or has been retried [`RETRIES`]
/// times.
pub async fn read<T, F, Fut>(what: &str, op: F) -> Result<T, kube::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, kube::Error>>,
{
    retried(what, Kind::Read, op).await
}

/// Runs the idempotent write `op` until it succeeds, fails for good, or has been retried
/// [`RETRIES`] times.
pub async fn idempotent<T, F, Fut>(what: &str, op: F) -> Result<T, kube::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, kube::Error>>,
{
    retried(what, Kind::Write, op).await
}

async fn retried<T, F, Fut>(what: &str, kind: Kind, mut op: F) -> Result<T, kube::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, kube::Error>>,
{
    let mut pause = FIRST_PAUSE;
    let mut attempt = 0;
    loop {
        match op().await {
            Err(err) if attempt < RETRIES && is_transient(&err, kind) => {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16) -> kube::Error {
        let status: kube::core::Status = serde_json::from_value(serde_json::json!({
            "status": "Failure", "message": "m", "reason": "R", "code": code
        }))
        .unwrap();
        kube::Error::Api(Box::new(status))
    }

    #[test]
    fn reads_retry_conflicts_and_writes_do_not() {
        assert!(is_transient(&status(500), Kind::Write));
        assert!(is_transient(&status(409), Kind::Read));
        assert!(!is_transient(&status(409), Kind::Write));
        assert!(!is_transient(&status(404), Kind::Read));
        assert!(!is_transient(&status(403), Kind::Read));
    }
}
