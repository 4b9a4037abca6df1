//! Errors that point into a file: `path:line:col`, the line itself with the culprit underlined,
//! related places, and what to do about it.

use std::fmt;

use crate::source::Location;
use crate::{chars, clip};

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
    /// Whether the value at `at` must not be shown (it may be a secret).
    pub concealed: bool,
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
            concealed: false,
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

    /// Hides the value at `at`: the quoted line stops where it starts.
    #[must_use]
    pub fn conceal(mut self) -> Self {
        self.concealed = true;
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
        if self.concealed {
            concealed_snippet(f, &self.at, gutter)?;
        } else {
            snippet(f, &self.at, gutter)?;
            character_notes(f, &self.at)?;
        }
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

/// Writes the line at `at` with the span underlined, rustc style: a long line is cut to a
/// window around the span, and invisible characters are shown (a tab as `→`).
fn snippet(f: &mut fmt::Formatter<'_>, at: &Location, gutter: usize) -> fmt::Result {
    let line: Vec<char> = at
        .file
        .line(at.span.line)
        .chars()
        .map(chars::visible)
        .collect();
    let window = clip::window(&line, at.span.col.saturating_sub(1), at.span.len);
    let blank = "";
    write!(
        f,
        "\n{blank:>gutter$} |\n{number:>gutter$} | {line}\n{blank:>gutter$} | {pad}{marks}",
        number = at.span.line,
        line = window.text.trim_end(),
        pad = " ".repeat(window.pad),
        marks = "^".repeat(window.marks),
    )
}

/// Writes the line at `at` up to the span, and `(not shown)` in the span's place.
fn concealed_snippet(f: &mut fmt::Formatter<'_>, at: &Location, gutter: usize) -> fmt::Result {
    let before: Vec<char> = at
        .file
        .line(at.span.line)
        .chars()
        .take(at.span.col.saturating_sub(1))
        .map(chars::visible)
        .collect();
    let window = clip::window(&before, before.len(), 1);
    let blank = "";
    write!(
        f,
        "\n{blank:>gutter$} |\n{number:>gutter$} | {line}(not shown)\n{blank:>gutter$} | {pad}^",
        number = at.span.line,
        line = window.text,
        pad = " ".repeat(window.pad),
    )
}

/// [`chars::describe`], and for a tab what YAML wants instead.
fn describe(c: char, col: usize) -> Option<String> {
    let note = chars::describe(c, col)?;
    Some(if c == '\t' {
        format!("{note}; YAML indents with spaces only")
    } else {
        note
    })
}

/// The most characters a diagnostic names by code point.
const SUSPECTS: usize = 3;

/// Notes naming the invisible or look-alike characters in the span at `at` (or, when it has
/// none, in the line's indentation, where a tab breaks YAML).
fn character_notes(f: &mut fmt::Formatter<'_>, at: &Location) -> fmt::Result {
    let line = at.file.line(at.span.line);
    let start = at.span.col.saturating_sub(1);
    let in_span = line
        .chars()
        .enumerate()
        .skip(start)
        .take(at.span.len.clamp(1, 2 * clip::VALUE_CHARS));
    let mut found: Vec<String> = in_span
        .filter_map(|(index, c)| describe(c, index + 1))
        .take(SUSPECTS)
        .collect();
    if found.is_empty() {
        found = line
            .chars()
            .enumerate()
            .take_while(|(_, c)| c.is_whitespace())
            .filter(|(_, c)| *c == '\t')
            .filter_map(|(index, c)| describe(c, index + 1))
            .take(1)
            .collect();
    }
    for note in found {
        write!(f, "\nnote: {note}")?;
    }
    Ok(())
}

/// Several located errors, reported together.
#[derive(Debug, Clone)]
pub struct Diagnostics(pub Vec<Diagnostic>);

/// The most diagnostics one run prints; the rest are counted.
pub const MAX_SHOWN: usize = 20;

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, diagnostic) in self.0.iter().take(MAX_SHOWN).enumerate() {
            if index > 0 {
                // The reporter prefixes the first one with "error: "; the rest get it here.
                f.write_str("\n\nerror: ")?;
            }
            write!(f, "{diagnostic}")?;
        }
        match self.0.len().saturating_sub(MAX_SHOWN) {
            0 => Ok(()),
            more => write!(f, "\n\n… and {more} more error(s)"),
        }
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
    fn a_huge_line_is_cut_and_a_tab_shown() {
        let file = SourceFile::new("a.yaml", format!("key:\t{}\n", "v".repeat(10_000_000)));
        let diagnostic = Diagnostic::new(Location::new(&file, Span::new(1, 6, 10_000_000)), "bad");
        let text = diagnostic.to_string();
        assert!(text.len() < 1_000, "{} bytes", text.len());
        assert!(text.contains("1 | key:→vvv"), "{text}");
        assert!(text.contains("…\n"), "{text}");
    }

    #[test]
    fn look_alike_and_invisible_characters_are_named() {
        let file = SourceFile::new("a.yaml", "n\u{430}mespace: x\n\tkind: y\n");
        let key = Diagnostic::new(Location::new(&file, Span::new(1, 1, 9)), "unknown field");
        assert!(
            key.to_string().ends_with(
                "\nnote: column 2 is U+0430 CYRILLIC SMALL LETTER A, which looks like `a`"
            ),
            "{key}"
        );
        let tab = Diagnostic::new(Location::new(&file, Span::new(2, 2, 1)), "syntax error");
        assert!(
            tab.to_string().ends_with("2 | →kind: y\n  |  ^\nnote: column 1 is U+0009 CHARACTER TABULATION (a tab); YAML indents with spaces only"),
            "{tab}"
        );
    }

    #[test]
    fn many_diagnostics_are_counted_not_printed() {
        let file = SourceFile::new("a.yaml", "x\n");
        let one = Diagnostic::new(Location::new(&file, Span::new(1, 1, 1)), "bad");
        let text = Diagnostics(vec![one; 20_000]).to_string();
        assert_eq!(text.matches("bad").count(), MAX_SHOWN);
        assert!(text.ends_with("\n\n… and 19980 more error(s)"), "{text}");
    }

    #[test]
    fn caret_stays_inside_short_lines() {
        let file = SourceFile::new("a.yaml", "ab\n");
        let diagnostic = Diagnostic::new(Location::new(&file, Span::new(1, 9, 40)), "bad");
        assert!(diagnostic.to_string().ends_with("1 | ab\n  |   ^"));
    }
}
