//! Characters that hide in a key or value: invisible ones (tabs, zero-width and bidi
//! controls, odd spaces) and letters of other scripts that look Latin. Messages name them by
//! code point, name and column.
//!
//! A short table rather than a crate: the Unicode confusables data maps thousands of
//! characters to sequences, while a stack file's keys and values are ASCII names, and the
//! letters that actually slip in (from a keyboard layout or a copied web page) are these few.

/// What a suspicious character is called, and the ASCII it passes for, if any.
pub struct Suspect {
    /// The Unicode name.
    pub name: &'static str,
    /// The ASCII character it looks like, for confusable letters.
    pub looks_like: Option<char>,
}

/// Invisible or space-like characters, with their Unicode names.
const INVISIBLE: [(char, &str); 22] = [
    ('\t', "CHARACTER TABULATION (a tab)"),
    ('\u{a0}', "NO-BREAK SPACE"),
    ('\u{ad}', "SOFT HYPHEN"),
    ('\u{61c}', "ARABIC LETTER MARK"),
    ('\u{2007}', "FIGURE SPACE"),
    ('\u{2009}', "THIN SPACE"),
    ('\u{200b}', "ZERO WIDTH SPACE"),
    ('\u{200c}', "ZERO WIDTH NON-JOINER"),
    ('\u{200d}', "ZERO WIDTH JOINER"),
    ('\u{200e}', "LEFT-TO-RIGHT MARK"),
    ('\u{200f}', "RIGHT-TO-LEFT MARK"),
    ('\u{202a}', "LEFT-TO-RIGHT EMBEDDING"),
    ('\u{202b}', "RIGHT-TO-LEFT EMBEDDING"),
    ('\u{202c}', "POP DIRECTIONAL FORMATTING"),
    ('\u{202d}', "LEFT-TO-RIGHT OVERRIDE"),
    ('\u{202e}', "RIGHT-TO-LEFT OVERRIDE"),
    ('\u{202f}', "NARROW NO-BREAK SPACE"),
    ('\u{2060}', "WORD JOINER"),
    ('\u{2066}', "LEFT-TO-RIGHT ISOLATE"),
    ('\u{2067}', "RIGHT-TO-LEFT ISOLATE"),
    ('\u{2068}', "FIRST STRONG ISOLATE"),
    ('\u{feff}', "ZERO WIDTH NO-BREAK SPACE (byte order mark)"),
];

/// Cyrillic and Greek letters that look like ASCII ones.
const CONFUSABLE: [(char, char, &str); 38] = [
    ('а', 'a', "CYRILLIC SMALL LETTER A"),
    ('с', 'c', "CYRILLIC SMALL LETTER ES"),
    ('ԁ', 'd', "CYRILLIC SMALL LETTER KOMI DE"),
    ('е', 'e', "CYRILLIC SMALL LETTER IE"),
    ('һ', 'h', "CYRILLIC SMALL LETTER SHHA"),
    ('і', 'i', "CYRILLIC SMALL LETTER BYELORUSSIAN-UKRAINIAN I"),
    ('ј', 'j', "CYRILLIC SMALL LETTER JE"),
    ('ӏ', 'l', "CYRILLIC SMALL LETTER PALOCHKA"),
    ('о', 'o', "CYRILLIC SMALL LETTER O"),
    ('р', 'p', "CYRILLIC SMALL LETTER ER"),
    ('ԛ', 'q', "CYRILLIC SMALL LETTER QA"),
    ('ѕ', 's', "CYRILLIC SMALL LETTER DZE"),
    ('ԝ', 'w', "CYRILLIC SMALL LETTER WE"),
    ('х', 'x', "CYRILLIC SMALL LETTER HA"),
    ('у', 'y', "CYRILLIC SMALL LETTER U"),
    ('А', 'A', "CYRILLIC CAPITAL LETTER A"),
    ('В', 'B', "CYRILLIC CAPITAL LETTER VE"),
    ('С', 'C', "CYRILLIC CAPITAL LETTER ES"),
    ('Е', 'E', "CYRILLIC CAPITAL LETTER IE"),
    ('Н', 'H', "CYRILLIC CAPITAL LETTER EN"),
    ('І', 'I', "CYRILLIC CAPITAL LETTER BYELORUSSIAN-UKRAINIAN I"),
    ('Ј', 'J', "CYRILLIC CAPITAL LETTER JE"),
    ('К', 'K', "CYRILLIC CAPITAL LETTER KA"),
    ('М', 'M', "CYRILLIC CAPITAL LETTER EM"),
    ('О', 'O', "CYRILLIC CAPITAL LETTER O"),
    ('Р', 'P', "CYRILLIC CAPITAL LETTER ER"),
    ('Ѕ', 'S', "CYRILLIC CAPITAL LETTER DZE"),
    ('Т', 'T', "CYRILLIC CAPITAL LETTER TE"),
    ('Х', 'X', "CYRILLIC CAPITAL LETTER HA"),
    ('α', 'a', "GREEK SMALL LETTER ALPHA"),
    ('ι', 'i', "GREEK SMALL LETTER IOTA"),
    ('ο', 'o', "GREEK SMALL LETTER OMICRON"),
    ('ν', 'v', "GREEK SMALL LETTER NU"),
    ('Α', 'A', "GREEK CAPITAL LETTER ALPHA"),
    ('Β', 'B', "GREEK CAPITAL LETTER BETA"),
    ('Ε', 'E', "GREEK CAPITAL LETTER EPSILON"),
    ('Ο', 'O', "GREEK CAPITAL LETTER OMICRON"),
    ('Τ', 'T', "GREEK CAPITAL LETTER TAU"),
];

/// Whether `c` is invisible or looks like another character, and what it is.
pub fn suspect(c: char) -> Option<Suspect> {
    if let Some((_, name)) = INVISIBLE.iter().find(|(known, _)| *known == c) {
        return Some(Suspect {
            name,
            looks_like: None,
        });
    }
    if let Some((_, ascii, name)) = CONFUSABLE.iter().find(|(known, ..)| *known == c) {
        return Some(Suspect {
            name,
            looks_like: Some(*ascii),
        });
    }
    (c.is_control() && c != '\n' && c != '\r').then_some(Suspect {
        name: "a control character",
        looks_like: None,
    })
}

/// How `c` is shown in a quoted line: a tab as `→`, other invisible characters as `�`, so
/// that they are seen and each keeps one column under the caret.
pub fn visible(c: char) -> char {
    match c {
        '\t' => '→',
        ' ' => ' ',
        c if suspect(c).is_some_and(|s| s.looks_like.is_none()) => '�',
        c => c,
    }
}

/// "column N is U+XXXX NAME[, which looks like `x`]" for `c` at 1-based `col`.
pub fn describe(c: char, col: usize) -> Option<String> {
    let suspect = suspect(c)?;
    let looks = suspect
        .looks_like
        .map(|ascii| format!(", which looks like `{ascii}`"))
        .unwrap_or_default();
    Some(format!(
        "column {col} is U+{:04X} {}{looks}",
        u32::from(c),
        suspect.name
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_code_point_and_the_letter_it_passes_for() {
        assert_eq!(
            describe('а', 4).as_deref(),
            Some("column 4 is U+0430 CYRILLIC SMALL LETTER A, which looks like `a`")
        );
        assert_eq!(
            describe('\u{200b}', 2).as_deref(),
            Some("column 2 is U+200B ZERO WIDTH SPACE")
        );
        assert_eq!(describe('a', 1), None);
        assert_eq!(visible('\t'), '→');
        assert_eq!(visible('\u{202e}'), '�');
        assert_eq!(visible('а'), 'а');
    }
}
