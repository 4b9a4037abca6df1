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
    out.extend(std::iter::repeat_n(' ', indent));
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
/// space (which would need an indentation indicator), at most one final newline.
fn is_block(text: &str) -> bool {
    text.contains('\n')
        && !text.starts_with([' ', '\n'])
        && !text.ends_with("\n\n")
        && text
            .chars()
            .all(|c| c == '\n' || c == '\t' || !c.is_control())
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
    } else if !text.chars().any(char::is_control) {
        out.push('\'');
        out.push_str(&text.replace('\'', "''"));
        out.push('\'');
    } else {
        out.push_str(&Value::String(text.to_owned()).to_string());
    }
}

/// Whether `text` may stand unquoted: conservative ASCII, no indicator that YAML could read as
/// structure, and nothing that YAML 1.1 or 1.2 would take for null, a boolean, a number or a
/// date.
fn is_plain(text: &str) -> bool {
    const WORDS: [&str; 10] = [
        "y", "n", "yes", "no", "on", "off", "true", "false", "null", "~",
    ];
    let Some(first) = text.chars().next() else {
        return false;
    };
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./:=@+~$()*,% ".contains(c);
    let starts_well = first.is_ascii_alphanumeric()
        || "/_$".contains(first)
        || (first == '-' && text.len() > 1 && !text[1..].starts_with(' '));
    let number_like = (first.is_ascii_digit() || "+-.".contains(first))
        && text
            .chars()
            .all(|c| c.is_ascii_hexdigit() || "+-._:xXoO".contains(c));
    starts_well
        && text.chars().all(safe)
        && !text.ends_with([' ', ':'])
        && !text.contains(": ")
        && !text.contains(" #")
        && !number_like
        && !WORDS.iter().any(|word| text.eq_ignore_ascii_case(word))
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
        ] {
            let rendered = yaml(&json!({ "k": text }));
            assert!(rendered.starts_with("k: \""), "{text:?} -> {rendered}");
            assert_eq!(parse_back(&rendered), json!({ "k": text }));
        }
    }
}
