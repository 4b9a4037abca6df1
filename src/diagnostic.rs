//! Errors that point into a file: `path:line:col`, the line itself with the culprit underlined,
//! related places, and what to do about it.

use std::fmt;

use crate::source::Location;

/// An error located in a file the user can open.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    /// Where the problem is.
    pub at: Location,
    /// The field it concerns, as a path (`workloads.productpage-v1.expose[0].hostPort`).
    pub field: Option<String>,
    /// What is wrong and what was expected.
    pub message: String,
    /// Other places that explain the problem (`first claimed here`).
    pub notes: Vec<(Location, String)>,
    /// What to do about it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// A diagnostic at `at` saying `message`.
    pub fn new(at: Location, message: impl Into<String>) -> Self {
        Self {
            at,
            field: None,
            message: message.into(),
            notes: Vec::new(),
            help: None,
        }
    }

    /// Names the field the problem concerns.
    #[must_use]
    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// Adds a related place.
    #[must_use]
    pub fn note(mut self, at: Location, message: impl Into<String>) -> Self {
        self.notes.push((at, message.into()));
        self
    }

    /// Says what to do.
    #[must_use]
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let gutter = std::iter::once(&self.at)
            .chain(self.notes.iter().map(|(at, _)| at))
            .map(|at| at.span.line.to_string().len())
            .max()
            .unwrap_or(1);
        write!(f, "{}: ", self.at)?;
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        f.write_str(&self.message)?;
        snippet(f, &self.at, gutter)?;
        for (at, message) in &self.notes {
            write!(f, "\nnote: {at}: {message}")?;
            snippet(f, at, gutter)?;
        }
        if let Some(help) = &self.help {
            write!(f, "\nhelp: {help}")?;
        }
        Ok(())
    }
}

/// Writes the line at `at` with the span underlined, rustc style.
fn snippet(f: &mut fmt::Formatter<'_>, at: &Location, gutter: usize) -> fmt::Result {
    let line = at.file.line(at.span.line).replace('\t', " ");
    let width = line.chars().count();
    let start = at.span.col.saturating_sub(1).min(width);
    let len = at.span.len.clamp(1, (width - start).max(1));
    let blank = "";
    write!(
        f,
        "\n{blank:>gutter$} |\n{number:>gutter$} | {line}\n{blank:>gutter$} | {pad}{marks}",
        number = at.span.line,
        line = line.trim_end(),
        pad = " ".repeat(start),
        marks = "^".repeat(len),
    )
}

/// Several located errors, reported together.
#[derive(Debug, Clone)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, diagnostic) in self.0.iter().enumerate() {
            if index > 0 {
                // The reporter prefixes the first one with "error: "; the rest get it here.
                f.write_str("\n\nerror: ")?;
            }
            write!(f, "{diagnostic}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostic {}
impl std::error::Error for Diagnostics {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{SourceFile, Span};

    #[test]
    fn renders_line_caret_note_and_help() {
        let file = SourceFile::new(
            "stacks/grafana.yaml",
            "kind: Grafana\nworkloads:\n  grafana:\n    hostPort: 30080\n",
        );
        let other = SourceFile::new("stacks/bookinfo.yaml", "hostPort: 30080\n");
        let diagnostic = Diagnostic::new(
            Location::new(&file, Span::new(4, 15, 5)),
            "host port 30080 is already claimed",
        )
        .field("workloads.grafana.hostPort")
        .note(
            Location::new(&other, Span::new(1, 11, 5)),
            "first claimed here",
        )
        .help("pick another port");
        assert_eq!(
            diagnostic.to_string(),
            "stacks/grafana.yaml:4:15: workloads.grafana.hostPort: host port 30080 is already claimed
  |
4 |     hostPort: 30080
  |               ^^^^^
note: stacks/bookinfo.yaml:1:11: first claimed here
  |
1 | hostPort: 30080
  |           ^^^^^
help: pick another port"
        );
    }

    #[test]
    fn caret_stays_inside_short_lines() {
        let file = SourceFile::new("a.yaml", "ab\n");
        let diagnostic = Diagnostic::new(Location::new(&file, Span::new(1, 9, 40)), "bad");
        assert!(diagnostic.to_string().ends_with("1 | ab\n  |   ^"));
    }
}
