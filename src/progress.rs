//! Progress on standard error: a line when a step starts and one when it ends, the same
//! whether or not standard error is a terminal (no spinners to garble a log file).

use std::io::{self, Write};

/// Where progress lines go.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    quiet: bool,
}

impl Progress {
    /// Progress lines, unless `quiet`.
    pub fn new(quiet: bool) -> Self {
        Self { quiet }
    }

    /// Prints one line.
    pub fn line(&self, text: &str) {
        if !self.quiet {
            let mut stderr = io::stderr().lock();
            let _ = writeln!(stderr, "{text}");
        }
    }
}
