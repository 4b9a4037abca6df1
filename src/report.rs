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
