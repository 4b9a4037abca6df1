//! Keeps messages short whatever the input: a value quoted back is cut to a few dozen
//! characters, a long line to a window around the part underlined.

use std::borrow::Cow;

/// The most characters of a user's value a message quotes.
pub const VALUE_CHARS: usize = 64;
/// The most characters of a line a snippet shows.
const LINE_CHARS: usize = 160;
/// Characters of context kept before the underlined part of a clipped line.
const BEFORE: usize = 60;

/// `text`, cut to [`VALUE_CHARS`] characters with `…` when longer, for quoting in a message.
pub fn value(text: &str) -> Cow<'_, str> {
    match text.char_indices().nth(VALUE_CHARS) {
        None => Cow::Borrowed(text),
        Some((at, _)) => Cow::Owned(format!("{}…", &text[..at])),
    }
}

/// The part of a line a snippet shows.
#[derive(Debug, PartialEq, Eq)]
pub struct Window {
    /// The characters shown, with `…` where the line was cut.
    pub text: String,
    /// Columns (characters) before the underline.
    pub pad: usize,
    /// Characters underlined, at least one.
    pub marks: usize,
}

/// The characters of `line` around the 0-based `start` and `len` characters, with `…`
/// where it was cut; the underline stays inside what is shown.
pub fn window(line: &[char], start: usize, len: usize) -> Window {
    let width = line.len();
    let start = start.min(width);
    let len = len.clamp(1, LINE_CHARS - BEFORE);
    let begin = if start + len <= LINE_CHARS {
        0
    } else {
        start - BEFORE.min(start)
    };
    let end = (begin + LINE_CHARS).min(width);
    let mut text = String::new();
    if begin > 0 {
        text.push('…');
    }
    text.extend(&line[begin..end]);
    let shown = text.trim_end().chars().count();
    if end < width {
        text.push('…');
    }
    let pad = usize::from(begin > 0) + start - begin;
    let marks = len.min(shown.saturating_sub(pad)).max(1);
    Window { text, pad, marks }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_cut_with_an_ellipsis() {
        assert_eq!(value("short"), "short");
        let long = "x".repeat(10_000);
        assert_eq!(value(&long), format!("{}…", "x".repeat(VALUE_CHARS)));
    }

    #[test]
    fn a_long_line_is_cut_around_the_underline() {
        let line: Vec<char> = format!("key: {}", "v".repeat(1_000_000)).chars().collect();
        let at_start = window(&line, 5, 1_000_000);
        assert_eq!(at_start.text.chars().count(), LINE_CHARS + 1);
        assert!(at_start.text.ends_with('…'));
        assert_eq!((at_start.pad, at_start.marks), (5, LINE_CHARS - BEFORE));
        let far: Vec<char> = format!("{}bad", " ".repeat(500_000)).chars().collect();
        let cut = window(&far, 500_000, 3);
        assert_eq!(cut.text, format!("…{}bad", " ".repeat(BEFORE)));
        assert_eq!((cut.pad, cut.marks), (BEFORE + 1, 3));
    }

    #[test]
    fn a_short_line_is_whole() {
        let line: Vec<char> = "ab".chars().collect();
        assert_eq!(
            window(&line, 8, 40),
            Window {
                text: "ab".into(),
                pad: 2,
                marks: 1
            }
        );
    }
}
