//! What every command that talks to a cluster takes: which cluster, how long to wait, and
//! the runtime with Ctrl-C / SIGTERM wired to cancellation.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use tokio_util::sync::CancellationToken;

use crate::Error;
use crate::k8s::Target;

/// Which cluster.
#[derive(Debug, Args)]
pub struct ClusterArgs {
    /// The kubeconfig file [default: $KUBECONFIG, else ~/.kube/config, else in-cluster].
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context [default: its current context].
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
}

impl ClusterArgs {
    /// The core parameters.
    pub fn target(&self) -> Target {
        Target {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
        }
    }
}

/// Parses `--timeout` values such as `90s`, `5m` or `1h30m`.
pub fn timeout(text: &str) -> Result<Duration, String> {
    let parsed = crate::stack::Duration::parse(text)?;
    match parsed.seconds() {
        0 => Err("the timeout must be at least one second".into()),
        seconds => Ok(Duration::from_secs(seconds)),
    }
}

/// Runs `work` on a Tokio runtime; the first Ctrl-C or SIGTERM cancels its token, so that it
/// stops starting new requests and reports where it stopped.
pub fn run<T>(work: impl AsyncFnOnce(CancellationToken) -> Result<T, Error>) -> Result<T, Error> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    runtime.block_on(async {
        let cancel = CancellationToken::new();
        let watcher = tokio::spawn(signalled(cancel.clone()));
        let result = work(cancel).await;
        watcher.abort();
        result
    })
}

async fn signalled(cancel: CancellationToken) {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = interrupt => {}
                _ = term.recv() => {}
            }
        } else {
            let _ = interrupt.await;
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
    tracing::warn!("interrupted: finishing the requests in flight, starting no new ones");
    cancel.cancel();
}
