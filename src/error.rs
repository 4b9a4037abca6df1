//! The error of a whole command, as `main` reports it.

use std::io;
use std::path::PathBuf;

use crate::bootstrap::BootstrapError;
use crate::output::OutputError;
use crate::render::RenderError;
use crate::stack::StackError;
use crate::teardown::TeardownError;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Loading the stack files failed.
    #[error(transparent)]
    Stack(#[from] StackError),
    /// Rendering failed.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// Writing the rendered output failed.
    #[error(transparent)]
    Output(#[from] OutputError),
    /// Bootstrap failed.
    #[error(transparent)]
    Bootstrap(#[from] BootstrapError),
    /// `verify` could not check.
    #[error(transparent)]
    Verify(#[from] crate::verify::command::VerifyError),
    /// Endpoints failed their check.
    #[error(
        "{after}{count} endpoint(s) do not answer as they should from this machine (see above for the layer at fault and the next step)"
    )]
    Unreachable {
        /// How many.
        count: usize,
        /// What came before, for bootstrap.
        after: &'static str,
    },
    /// Checks of `verify` failed.
    #[error(
        "{count} check(s) failed from this machine (see above for the layer at fault and the next step)"
    )]
    Unverified {
        /// How many.
        count: usize,
    },
    /// Teardown failed.
    #[error(transparent)]
    Teardown(#[from] TeardownError),
    /// `doctor` could not check or fix.
    #[error(transparent)]
    Doctor(#[from] crate::doctor::DoctorError),
    /// Checks of `doctor` failed.
    #[error("{count} check(s) failed (see above for what was read, why it matters and the fix)")]
    Unhealthy {
        /// How many.
        count: usize,
    },
    /// Teardown could not remove everything.
    #[error(
        "{count} object(s) obsboot created are still there (see \"left behind\" above); fix what holds them and run teardown again"
    )]
    LeftBehind {
        /// How many.
        count: usize,
    },
    /// A destructive command was not confirmed.
    #[error("refusing to tear down: {reason}")]
    Unconfirmed {
        /// Why.
        reason: &'static str,
    },
    /// `diff --exit-code` found changes.
    #[error("bootstrap would change {count} object(s)")]
    Differs {
        /// How many.
        count: usize,
    },
    /// `status --exit-code` found something to attend to.
    #[error(
        "{objects} object(s) not ready, {certificates} certificate(s) inside the renewal window or expired (see above)"
    )]
    NotReady {
        /// Objects not ready.
        objects: usize,
        /// Certificates due or expired.
        certificates: usize,
    },
    /// Standard input could not be read.
    #[error("failed to read the answer from standard input")]
    Stdin(#[source] io::Error),
    /// The async runtime could not start.
    #[error("failed to start the async runtime")]
    Runtime(#[source] io::Error),
    /// Standard output could not be written.
    #[error("failed to write to standard output")]
    Stdout(#[source] io::Error),
    /// `init` would overwrite a file.
    #[error("\"{}\" already exists; pass --force to overwrite it", path.display())]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// `init` could not write a file.
    #[error("failed to write \"{}\"", path.display())]
    WriteFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
}
