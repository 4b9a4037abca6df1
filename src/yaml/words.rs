//! serde's error messages in the words of a YAML file: fields, numbers, strings, lists and
//! mappings instead of the Rust types they deserialize into (`u16`, `struct KindProbe`,
//! `unit value`), and values quoted back cut short.

use crate::clip;

/// `message` (serde's, maybe prefixed with a field path) with every Rust type named as what
/// the file would hold, and the values quoted back cut short.
pub fn translate(message: &str) -> String {
    const KINDS: [&str; 8] = [
        "invalid type: ",
        "invalid value: ",
        "invalid length ",
        "unknown field ",
        "unknown variant ",
        "data did not match any variant",
        "missing field ",
        "duplicate field ",
    ];
    let Some((at, kind)) = KINDS
        .iter()
        .filter_map(|kind| message.find(kind).map(|at| (at, *kind)))
        .min_by_key(|(at, _)| *at)
    else {
        return message.to_owned();
    };
    let (prefix, rest) = message.split_at(at);
    let rest = &rest[kind.len()..];
    let said = match kind {
        "invalid type: " | "invalid value: " => mismatch(rest),
        "invalid length " => match rest.split_once(", expected ") {
            Some((count, expected)) => {
                format!(
                    "expected {}, found {count} item(s)",
                    expected_words(expected)
                )
            }
            None => format!("wrong number of items ({rest})"),
        },
        "unknown field " => unknown("field", rest),
        "unknown variant " => unknown("value", rest),
        "data did not match any variant" => {
            "the value has none of the forms this field accepts".to_owned()
        }
        _ => format!("{kind}{}", clip::value(rest)),
    };
    format!("{prefix}{said}")
}

/// "FOUND, expected EXPECTED" as "expected …, found …".
fn mismatch(rest: &str) -> String {
    let Some((found, expected)) = rest.rsplit_once(", expected ") else {
        return format!("unexpected {}", found_words(rest));
    };
    if let Some(number) = huge_number(found) {
        return format!("the number {number} is too large for any field");
    }
    format!(
        "expected {}, found {}",
        expected_words(expected),
        found_words(found)
    )
}

/// The digits of serde_yaml's "integer `N` as u128" (a number beyond 64 bits).
fn huge_number(found: &str) -> Option<&str> {
    let inner = found.strip_prefix("integer `")?;
    let (number, kind) = inner.split_once("` as ")?;
    matches!(kind, "u128" | "i128").then_some(number)
}

/// "`name`, expected one of `a`, `b`" as "unknown WHAT `name`; expected one of: a, b".
fn unknown(what: &str, rest: &str) -> String {
    let end = rest
        .find("`, expected ")
        .or_else(|| rest.find("`, there are no fields"));
    let (name, tail) = end.map_or((rest, ""), |end| (&rest[..end], &rest[end + 3..]));
    let name = name.trim_start_matches('`').trim_end_matches('`');
    let choices = match tail {
        "" => String::new(),
        "there are no fields" => "; this mapping takes no fields".to_owned(),
        tail => format!(
            "; expected one of: {}",
            tail.trim_start_matches("expected ")
                .trim_start_matches("one of ")
                .replace('`', "")
        ),
    };
    format!("unknown {what} `{}`{choices}", clip::value(name))
}

/// What serde found, in the file's words.
fn found_words(found: &str) -> String {
    if let Some(text) = found
        .strip_prefix("string \"")
        .and_then(|rest| rest.strip_suffix('"'))
    {
        return format!("the string \"{}\"", clip::value(text));
    }
    for (prefix, words) in [
        ("integer `", "the number "),
        ("floating point `", "the number "),
        ("boolean `", ""),
        ("character `", "the string "),
    ] {
        if let Some(value) = found.strip_prefix(prefix) {
            let value = value.split('`').next().unwrap_or_default();
            return format!("{words}{}", clip::value(value));
        }
    }
    match found {
        "unit value" | "Option value" => "an empty value".to_owned(),
        "sequence" => "a list".to_owned(),
        "map" => "a mapping".to_owned(),
        "byte array" => "binary data".to_owned(),
        _ => "a value of another kind".to_owned(),
    }
}

/// What serde expected, in the file's words.
fn expected_words(expected: &str) -> String {
    let range = |max: &str| format!("a whole number from 0 to {max}");
    match expected {
        "u8" => range("255"),
        "u16" => range("65535"),
        "u32" => range("4294967295"),
        "u64" | "u128" | "usize" => "a whole number, 0 or more".to_owned(),
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => "a whole number".to_owned(),
        "f32" | "f64" => "a number".to_owned(),
        "a boolean" => "true or false".to_owned(),
        "a string" | "a borrowed string" | "a char" | "a character" | "string" => {
            "a string".to_owned()
        }
        "a sequence" | "sequence" | "a list" => "a list".to_owned(),
        "a map" | "map" | "a mapping" => "a mapping (`key: value` lines)".to_owned(),
        "any YAML value" | "option" | "any value" => "a value".to_owned(),
        "field identifier" | "variant identifier" => "a name".to_owned(),
        other if other.starts_with("struct ") || other.contains("tagged enum") => {
            "a mapping (`key: value` lines)".to_owned()
        }
        other if other.starts_with("enum ") => "one of the names this field accepts".to_owned(),
        other if other.starts_with("tuple") || other.starts_with("newtype") => "a value".to_owned(),
        other => other.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::translate;

    #[test]
    fn rust_types_become_field_words() {
        for (serde, ours) in [
            (
                "spec.mesh: invalid type: unit value, expected a boolean",
                "spec.mesh: expected true or false, found an empty value",
            ),
            (
                "port: invalid value: integer `70000`, expected u16",
                "port: expected a whole number from 0 to 65535, found the number 70000",
            ),
            (
                "spec: invalid type: integer `99999999999999999999` as u128, expected any YAML value",
                "spec: the number 99999999999999999999 is too large for any field",
            ),
            (
                "invalid type: string \"x\", expected struct KindProbe",
                "expected a mapping (`key: value` lines), found the string \"x\"",
            ),
            (
                "kind: unknown variant `x`, expected one of `Cluster`, `Bookinfo`",
                "kind: unknown value `x`; expected one of: Cluster, Bookinfo",
            ),
            (
                "unknown field `a, b`, expected `kind`",
                "unknown field `a, b`; expected one of: kind",
            ),
        ] {
            assert_eq!(translate(serde), ours);
        }
    }

    #[test]
    fn a_huge_value_is_cut() {
        let long = "y".repeat(100_000);
        let message = translate(&format!("unknown field `{long}`, expected `kind`"));
        assert!(message.len() < 200, "{message}");
    }
}
