//! JSON values as block-style YAML, the way Kubernetes manifests are usually written: two
//! spaces per level, list items at their key's indentation, multi-line strings as literal
//! blocks. Strings are left plain only when every YAML reader (YAML 1.1 ones such as
//! kubectl's included) reads them back as the same string; otherwise they are quoted.
//!
//! Written here rather than taken from serde_yaml because the platform's render is hundreds
//! of kilobytes, which serde_yaml's emitter writes ten times slower.

use std::fmt::Write as _;

use serde_json::{Map, Value};

/// Appends `value` to `out` as a YAML document body (no `---`), ending in a newline.
pub fn document(out: &mut String, value: &Value) {
    match value {
        Value::Object(map) if !map.is_empty() => mapping(out, map, 0, false),
        Value::Array(items) if !items.is_empty() => sequence(out, items, 0, false),
        other => {
            scalar(out, other);
            out.push('\n');
        }
    }
}

fn pad(out: &mut String, indent: usize) {
    const SPACES: &str = "                                                                ";
    let mut left = indent;
    while left > 0 {
        let step = left.min(SPACES.len());
        out.push_str(&SPACES[..step]);
        left -= step;
    }
}

/// A mapping at `indent`; with `inline`, its first key continues the current line (after a
/// sequence's `- `).
fn mapping(out: &mut String, map: &Map<String, Value>, indent: usize, inline: bool) {
    for (index, (key, value)) in map.iter().enumerate() {
        if index > 0 || !inline {
            pad(out, indent);
        }
        string(out, key);
        out.push(':');
        match value {
            Value::Object(inner) if !inner.is_empty() => {
                out.push('\n');
                mapping(out, inner, indent + 2, false);
            }
            Value::Array(items) if !items.is_empty() => {
                out.push('\n');
                sequence(out, items, indent, false);
            }
            Value::String(text) if is_block(text) => block(out, text, indent + 2),
            other => {
                out.push(' ');
                scalar(out, other);
                out.push('\n');
            }
        }
    }
}

/// A sequence whose `- ` markers stand at `indent`; with `inline`, the first continues the
/// current line.
fn sequence(out: &mut String, items: &[Value], indent: usize, inline: bool) {
    for (index, item) in items.iter().enumerate() {
        if index > 0 || !inline {
            pad(out, indent);
        }
        out.push_str("- ");
        match item {
            Value::Object(map) if !map.is_empty() => mapping(out, map, indent + 2, true),
            Value::Array(inner) if !inner.is_empty() => sequence(out, inner, indent + 2, true),
            Value::String(text) if is_block(text) => {
                out.pop();
                block(out, text, indent + 2);
            }
            other => {
                scalar(out, other);
                out.push('\n');
            }
        }
    }
}

fn scalar(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(flag) => out.push_str(if *flag { "true" } else { "false" }),
        Value::Number(number) => {
            let _ = write!(out, "{number}");
        }
        Value::String(text) => string(out, text),
        Value::Object(_) => out.push_str("{}"),
        Value::Array(_) => out.push_str("[]"),
    }
}

/// A multi-line string that a literal block keeps exactly: printable, not starting with a
/// space (which would need an indentation indicator) or a tab (which libyaml and go-yaml,
/// kubectl's reader, refuse where they look for the block's indentation), at most one final
/// newline.
fn is_block(text: &str) -> bool {
    text.contains('\n')
        && !text.starts_with([' ', '\t', '\n'])
        && !text.ends_with("\n\n")
        && !needs_escape(text, true)
}

/// Whether `text` holds a character that must be escaped, which only double quotes can do:
/// a control character (`char::is_control`: U+0000–U+001F, U+007F–U+009F), U+FFFE or U+FFFF
/// (not allowed in YAML), or the line and paragraph separators and byte-order mark (which
/// some readers take for line breaks or strip), as [`crate::render::scalar`] escapes them;
/// `in_block`, a line break or a tab is not one. A first pass that the compiler vectorizes
/// looks for the bytes that may start one (the output holds hundreds of kilobytes of block
/// text); only where it finds some is each looked at.
fn needs_escape(text: &str, in_block: bool) -> bool {
    let bytes = text.as_bytes();
    let allowed = |byte: u8| in_block && (byte == b'\n' || byte == b'\t');
    let suspect =
        |byte: u8| (byte < 0x20 && !allowed(byte)) || matches!(byte, 0x7F | 0xC2 | 0xE2 | 0xEF);
    let follows = |at: usize, tails: &[[u8; 2]]| {
        bytes
            .get(at + 1..at + 3)
            .is_some_and(|next| tails.iter().any(|tail| next == tail))
    };
    bytes
        .iter()
        .fold(false, |found, &byte| found | suspect(byte))
        && bytes.iter().enumerate().any(|(at, &byte)| match byte {
            0x00..=0x1F => !allowed(byte),
            0x7F => true,
            // U+0080–U+009F.
            0xC2 => bytes
                .get(at + 1)
                .is_some_and(|next| (0x80..=0x9F).contains(next)),
            // U+2028, U+2029.
            0xE2 => follows(at, &[[0x80, 0xA8], [0x80, 0xA9]]),
            // U+FEFF, U+FFFE, U+FFFF.
            0xEF => follows(at, &[[0xBB, 0xBF], [0xBF, 0xBE], [0xBF, 0xBF]]),
            _ => false,
        })
}

/// A literal block (`|`, or `|-` without a final newline) indented to `indent`; the header
/// follows the current line.
fn block(out: &mut String, text: &str, indent: usize) {
    let (body, header) = match text.strip_suffix('\n') {
        Some(body) => (body, " |\n"),
        None => (text, " |-\n"),
    };
    out.push_str(header);
    for line in body.split('\n') {
        if !line.is_empty() {
            pad(out, indent);
            out.push_str(line);
        }
        out.push('\n');
    }
}

/// A string on one line: plain when safe, else single-quoted, else JSON-escaped in double
/// quotes (which YAML reads alike).
fn string(out: &mut String, text: &str) {
    if is_plain(text) {
        out.push_str(text);
    } else if !needs_escape(text, false) {
        out.push('\'');
        out.push_str(&text.replace('\'', "''"));
        out.push('\'');
    } else {
        crate::render::scalar::double_quoted(out, text);
    }
}

/// Bytes that may stand in a plain string.
const SAFE: u8 = 1;
/// Bytes of something a YAML reader could take for a number or a date.
const NUMERIC: u8 = 2;

/// What each byte is, for [`is_plain`]: a table, as it looks at every byte of most strings.
static CLASSES: [u8; 256] = {
    let mut classes = [0u8; 256];
    let mut b: u8 = 0;
    loop {
        let mut class = 0;
        if b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'_'
                    | b'.'
                    | b'/'
                    | b':'
                    | b'='
                    | b'@'
                    | b'+'
                    | b'~'
                    | b'$'
                    | b'('
                    | b')'
                    | b'*'
                    | b','
                    | b'%'
                    | b' '
            )
        {
            class |= SAFE;
        }
        if b.is_ascii_hexdigit()
            || matches!(
                b,
                b'+' | b'-' | b'.' | b'_' | b':' | b'x' | b'X' | b'o' | b'O'
            )
        {
            class |= NUMERIC;
        }
        classes[b as usize] = class;
        if b == u8::MAX {
            break classes;
        }
        b += 1;
    }
};

/// Whether `text` may stand unquoted: conservative ASCII, no indicator that YAML could read as
/// structure, and nothing that YAML 1.1 or 1.2 would take for null, a boolean, a number or a
/// date. One pass over the bytes: most strings of a render are checked here.
fn is_plain(text: &str) -> bool {
    const WORDS: [&str; 10] = [
        "y", "n", "yes", "no", "on", "off", "true", "false", "null", "~",
    ];
    let bytes = text.as_bytes();
    let Some(&first) = bytes.first() else {
        return false;
    };
    let starts_well = first.is_ascii_alphanumeric()
        || matches!(first, b'/' | b'_' | b'$')
        || (first == b'-' && bytes.len() > 1 && bytes[1] != b' ');
    if !starts_well || matches!(bytes.last(), Some(b' ' | b':')) {
        return false;
    }
    let mut all = SAFE | NUMERIC;
    let mut previous = 0u8;
    for &byte in bytes {
        all &= CLASSES[usize::from(byte)];
        if (previous == b':' && byte == b' ') || (previous == b' ' && byte == b'#') {
            return false;
        }
        previous = byte;
    }
    let number_like =
        (first.is_ascii_digit() || matches!(first, b'+' | b'-' | b'.')) && all & NUMERIC != 0;
    all & SAFE != 0 && !number_like && !WORDS.iter().any(|word| text.eq_ignore_ascii_case(word))
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    fn yaml(value: &Value) -> String {
        let mut out = String::new();
        document(&mut out, value);
        out
    }

    fn parse_back(text: &str) -> Value {
        Value::deserialize(serde_yaml::Deserializer::from_str(text)).unwrap()
    }

    #[test]
    fn writes_kubernetes_style_block_yaml() {
        let value = json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "x", "labels": {"app.kubernetes.io/name": "x", "flag": "true"}},
            "data": {"config.yml": "a: 1\nb:\n  - c\n", "empty": "", "port": "9080"},
            "list": [{"name": "a", "value": 1}, [1, 2], {}, [], "plain", "two\nlines"],
        });
        let text = yaml(&value);
        assert_eq!(
            text,
            "apiVersion: v1\ndata:\n  config.yml: |\n    a: 1\n    b:\n      - c\n  empty: ''\n  port: '9080'\nkind: ConfigMap\nlist:\n- name: a\n  value: 1\n- - 1\n  - 2\n- {}\n- []\n- plain\n- |-\n  two\n  lines\nmetadata:\n  labels:\n    app.kubernetes.io/name: x\n    flag: 'true'\n  name: x\n"
        );
        assert_eq!(parse_back(&text), value);
    }

    /// Strings that would read back as something else are quoted, for YAML 1.2 (serde_yaml)
    /// and for YAML 1.1 readers alike.
    #[test]
    fn quotes_what_could_read_as_another_type() {
        let quoted = [
            "",
            "true",
            "Yes",
            "no",
            "ON",
            "off",
            "y",
            "null",
            "~",
            "9080",
            "1.20.3",
            "0.0.0.0:4191",
            "1e3",
            "0x1F",
            "-1",
            ".5",
            "2001-12-14",
            "10:30",
            "a: b",
            "a #b",
            "trailing ",
            " leading",
            "-",
            "- a",
            "*alias",
            "&anchor",
            "!tag",
            "{json}",
            "[list]",
            "key:",
            "it's",
            "caf\u{e9}",
            "tab\there",
            "quote\"d",
        ];
        for text in quoted {
            let rendered = yaml(&json!({ "k": text }));
            assert!(
                !rendered.starts_with(&format!("k: {text}\n")) || text.is_empty(),
                "{text:?} left plain: {rendered}"
            );
            assert_eq!(
                parse_back(&rendered),
                json!({ "k": text }),
                "{text:?} -> {rendered}"
            );
        }
        for text in [
            "edge-26.8.3",
            "10m",
            "64Mi",
            "24h0m0s",
            "-log-level=info",
            "cr.l5d.io/linkerd/proxy:edge-26.8.3",
            "2001:db8::/32",
            "linkerd-await cannot block the identity controller",
            "$(_pod_sa).$(_pod_ns)",
            "warn,linkerd=info",
        ] {
            assert_eq!(
                yaml(&json!({ "k": text })),
                format!("k: {text}\n"),
                "{text:?} should stay plain"
            );
        }
    }

    #[test]
    fn control_characters_and_awkward_blocks_are_escaped() {
        for text in [
            "line\r\nline",
            "bell\u{7}",
            " starts with space\nx",
            "ends\n\n",
            "\nleading newline",
            "\tleading tab\nx",
        ] {
            let rendered = yaml(&json!({ "k": text }));
            assert!(rendered.starts_with("k: \""), "{text:?} -> {rendered}");
            assert_eq!(parse_back(&rendered), json!({ "k": text }));
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 2048, failure_persistence: None, ..Default::default() })]

        /// Any string, C0 and C1 control characters and multi-byte letters included, reads
        /// back as itself, whichever of plain, quoted and block form it is written in.
        #[test]
        fn every_string_reads_back(chars in proptest::collection::vec(proptest::sample::select(
            " -:#'\"\\,*&!|>%@.0123456789abxeEnulTtrY~/_$\u{7}\u{8}\u{c}\u{7f}\u{80}\u{85}\u{9f}\u{a0}\u{e9}\u{430}\u{2028}\u{2029}\u{feff}\u{fffe}\u{ffff}\r\t\n"
                .chars()
                .collect::<Vec<char>>(),
        ), 0..12)) {
            let text: String = chars.into_iter().collect();
            let value = json!({ "k": text, "l": [text.clone()] });
            let written = yaml(&value);
            proptest::prop_assert!(
                !written.chars().any(|c| (c.is_control() && c != '\n' && c != '\t')
                    || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}')),
                "{:?} written raw: {:?}", text, written
            );
            proptest::prop_assert_eq!(parse_back(&written), value);
        }
    }
}
