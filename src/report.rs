//! The one place errors are printed: the error, then each cause on a line of its own.

use std::error::Error as StdError;
use std::fmt::Write as _;

/// Formats `err` and its chain of causes for standard error.
pub fn format(err: &dyn StdError) -> String {
    let mut out = format!("error: {err}");
    let mut source = err.source();
    while let Some(cause) = source {
        let _ = write!(out, "\n  caused by: {cause}");
        source = cause.source();
    }
    out
}

/// `err` and its causes on one line, joined by ": " (for a message quoted inside another).
pub fn joined(err: &dyn StdError) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        message = format!("{message}: {cause}");
        source = cause.source();
    }
    message
}

/// The innermost cause of `err`: for a transport failure, the refused connection or the
/// missing credentials rather than the client's wrappers around them.
pub fn innermost(err: &dyn StdError) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        message = cause.to_string();
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_every_cause() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory");
        let err = crate::stack::StackError::ReadDir {
            path: "x".into(),
            source: io,
        };
        assert_eq!(
            format(&err),
            "error: failed to read stack directory \"x\"\n  caused by: No such file or directory"
        );
    }
}
