//! Text files the tool reads (stack files, templates), whether from disk or embedded in the
//! binary, and positions inside them.

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// One text file, with the path it is shown under in messages.
#[derive(Debug)]
pub struct SourceFile {
    /// Where the file came from, as the user should read it (`stacks/bookinfo.yaml`).
    pub path: PathBuf,
    /// The whole text: borrowed from the binary for embedded files and for templates'
    /// output rendered at build time, so that a run does not copy it.
    pub text: Cow<'static, str>,
    /// Byte offsets where each line starts, built on first use: rendered templates run to
    /// hundreds of kilobytes, and locating a node must not rescan them.
    line_starts: OnceLock<Vec<usize>>,
}

impl PartialEq for SourceFile {
    fn eq(&self, other: &Self) -> bool {
        self.path == other.path && self.text == other.text
    }
}

impl Eq for SourceFile {}

impl SourceFile {
    /// A shared handle to a new file.
    pub fn new(path: impl Into<PathBuf>, text: impl Into<Cow<'static, str>>) -> Arc<Self> {
        Arc::new(Self {
            path: path.into(),
            text: text.into(),
            line_starts: OnceLock::new(),
        })
    }

    /// The 1-based line `line`, without its line break; empty past the end.
    pub fn line(&self, line: usize) -> &str {
        let starts = self.line_starts.get_or_init(|| {
            std::iter::once(0)
                .chain(self.text.match_indices('\n').map(|(at, _)| at + 1))
                .filter(|&at| at < self.text.len())
                .collect()
        });
        let Some(&start) = line.checked_sub(1).and_then(|index| starts.get(index)) else {
            return "";
        };
        let rest = &self.text[start..];
        let line = rest.split('\n').next().unwrap_or_default();
        line.strip_suffix('\r').unwrap_or(line)
    }

    /// The file name without directories, for sorting and matching.
    pub fn file_name(&self) -> &str {
        self.path
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or_default()
    }
}

/// A position in a file: 1-based line and column (in characters), and a length to underline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Span {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub col: usize,
    /// How many characters to underline (at least one is shown).
    pub len: usize,
}

impl Span {
    /// A span of `len` characters at `line`:`col`.
    pub fn new(line: usize, col: usize, len: usize) -> Self {
        Self { line, col, len }
    }
}

/// A span inside a particular file.
#[derive(Debug, Clone)]
pub struct Location {
    /// The file.
    pub file: Arc<SourceFile>,
    /// Where in it.
    pub span: Span,
}

impl Location {
    /// The location `span` in `file`.
    pub fn new(file: &Arc<SourceFile>, span: Span) -> Self {
        Self {
            file: Arc::clone(file),
            span,
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.file.path
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}",
            self.file.path.display(),
            self.span.line,
            self.span.col
        )
    }
}

/// A value together with where it was written.
#[derive(Debug, Clone)]
pub struct Located<T> {
    /// The value.
    pub value: T,
    /// Where it was written.
    pub at: Location,
}

impl<T> Located<T> {
    /// Pairs `value` with `at`.
    pub fn new(value: T, at: Location) -> Self {
        Self { value, at }
    }
}

impl<T> std::ops::Deref for Located<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_is_one_based_and_tolerates_overflow() {
        let file = SourceFile::new("a.yaml", "one\ntwo\n");
        assert_eq!(file.line(1), "one");
        assert_eq!(file.line(2), "two");
        assert_eq!(file.line(9), "");
        assert_eq!(file.file_name(), "a.yaml");
        assert_eq!(file.line(0), "");
    }

    #[test]
    fn line_agrees_with_str_lines() {
        for text in ["", "a", "a\n", "a\n\nb", "a\r\nb\r\n", "\n\n", "x\ny"] {
            let file = SourceFile::new("t", text);
            let lines: Vec<&str> = text.lines().collect();
            for number in 1..=lines.len() + 2 {
                let expected = lines.get(number - 1).copied().unwrap_or_default();
                assert_eq!(file.line(number), expected, "{text:?} line {number}");
            }
        }
    }

    #[test]
    fn location_displays_path_line_col() {
        let file = SourceFile::new("stacks/x.yaml", "a: 1\n");
        let at = Location::new(&file, Span::new(1, 4, 1));
        assert_eq!(at.to_string(), "stacks/x.yaml:1:4");
    }
}
