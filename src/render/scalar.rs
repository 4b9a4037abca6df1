//! How a template's `{{ … }}` writes a value into YAML: a string becomes one YAML scalar
//! that reads back as the same string (quoted when a plain scalar would read as a number,
//! boolean or null, or would not stay one scalar), numbers and booleans are written as
//! themselves. A value a stack file gives is thus never re-read as another type.
//!
//! Where a template builds a larger scalar or a block of text from pieces, the piece is
//! marked `| inline`: its text is written as it is, and the template vouches for it.

use std::fmt::Write as _;

use minijinja::value::{Value, ValueKind};
use minijinja::{AutoEscape, Environment, Error, Output, State, UndefinedBehavior};

/// The name of the auto-escape mode of every template.
pub const ESCAPE: &str = "yaml";

/// An environment that writes as every template is written: undefined values are errors,
/// every string a YAML scalar of its own ([`format`], `| inline` to opt out), Jinja block
/// whitespace trimmed so that block tags do not leave blank lines in YAML. Runs add their
/// loader, filters and functions; build.rs renders templates with it as it is.
pub fn environment<'s>() -> Result<Environment<'s>, Error> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| AutoEscape::Custom(ESCAPE.into()));
    env.set_formatter(format);
    env.add_filter("inline", inline);
    let syntax = minijinja::syntax::SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .keep_trailing_newline(true)
        .build()?;
    env.set_syntax(syntax);
    Ok(env)
}

/// The template formatter: strings as YAML scalars (see the module), the rest as minijinja
/// writes it.
pub fn format(out: &mut Output, state: &mut State, value: &Value) -> Result<(), Error> {
    let escaping = matches!(state.auto_escape(), AutoEscape::Custom(name) if name == ESCAPE);
    match value.as_str() {
        Some(text) if escaping && !value.is_safe() && value.kind() == ValueKind::String => {
            out.write_str(&scalar(text))?;
        }
        _ => write!(out, "{value}")?,
    }
    Ok(())
}

/// The template filter `inline`: a value's text, written without quoting, as one piece of a
/// larger scalar or text block.
pub fn inline(value: &Value) -> Value {
    Value::from_safe_string(value.to_string())
}

/// `text` as a YAML scalar: plain when that reads back as the same string, else
/// double-quoted.
pub fn scalar(text: &str) -> String {
    if plain(text) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 2);
    double_quoted(&mut out, text);
    out
}

/// Appends `text` double-quoted, escaped so that every YAML reader reads it back as it is.
pub fn double_quoted(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            // Control characters, the two that are not characters (YAML allows neither in a
            // stream), and the line and paragraph separators and byte-order mark that some
            // YAML readers take for line breaks or strip.
            c if c.is_control()
                || matches!(
                    c,
                    '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
                ) =>
            {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Words YAML 1.1 or 1.2 reads as booleans, nulls or special floats, in any case.
const WORDS: &[&str] = &[
    "null", "~", "true", "false", "yes", "no", "on", "off", "y", "n", ".nan", ".inf", "nan", "inf",
];

/// Whether `text` written plainly, in block or flow context, reads back as this string: a
/// conservative set of characters, a safe first character, and nothing a YAML 1.1 or 1.2
/// reader resolves to another type.
fn plain(text: &str) -> bool {
    let Some(first) = text.chars().next() else {
        return false;
    };
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-_./:+=$()^;".contains(c);
    if !(first.is_ascii_alphanumeric() || "/_$^".contains(first))
        || !text.chars().all(allowed)
        || text.ends_with(':')
        || WORDS.iter().any(|word| text.eq_ignore_ascii_case(word))
    {
        return false;
    }
    // A leading digit with only characters that numbers, dates and times are written with
    // (`123`, `0x10`, `1e3`, `1_000`, `12:30`, `2001-12-14`) may read as one: quote it.
    !(first.is_ascii_digit()
        && text
            .chars()
            .all(|c| c.is_ascii_hexdigit() || "xXoObB_.:+-".contains(c)))
}

/// Strings that YAML reads as something else when written plainly, or that break a plain
/// scalar, and ordinary values beside them: what a template must pass through unchanged.
#[cfg(test)]
pub(super) const LOOKALIKES: &[&str] = &[
    "123",
    "null",
    "true",
    "True",
    "~",
    "0x10",
    "1e3",
    "- a",
    "a: b",
    "#x",
    "a #x",
    "\"q\"",
    "'q'",
    "back\\slash",
    "caf\u{e9}",
    "\u{2028}",
    "tab\there",
    "line\nbreak",
    "",
    " ",
    "30s",
    "monitoring",
    "10.0.0.0/8",
    "1.20.3",
    "http://a.b:9090",
    "yes",
    "off",
    "-1",
    ".5",
    "[a]",
    "{a}",
    "a,b",
    "*a",
    "&a",
    "!a",
    "|",
    ">",
    "%a",
    "@a",
    "`a",
    "?",
    ":a",
    "a:",
    "2001-12-14",
    "12:30",
    "1_000",
    ".inf",
    "-.inf",
    "\u{feff}x",
    "\u{85}",
    "false",
    "0o17",
    "1.5",
    "n",
    "\u{430}",
    "{a: b}",
    "--x",
    "$(x)",
    "{{ x }}",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::values;

    /// Each text, written as a scalar, is read back by the YAML reader as that string.
    #[test]
    fn scalars_read_back_as_the_same_string() {
        for &text in LOOKALIKES {
            let written = scalar(text);
            for document in [format!("k: {written}\n"), format!("k: [{written}]\n")] {
                let file = crate::source::SourceFile::new("t.yaml", document.clone());
                let parsed = values::parse_documents(&file)
                    .unwrap_or_else(|err| panic!("{document:?}: {err}"));
                let value = &parsed[0]["k"];
                let value = value.as_array().map_or(value, |items| &items[0]);
                assert_eq!(value.as_str(), Some(text), "{document:?}");
            }
        }
    }

    #[test]
    fn ordinary_values_stay_plain() {
        for text in [
            "30s",
            "monitoring",
            "http://prometheus.monitoring.svc:9090",
            "a-b_c",
        ] {
            assert_eq!(scalar(text), text);
        }
        assert_eq!(scalar("123"), "\"123\"");
        assert_eq!(scalar("15d"), "\"15d\"");
    }
}
