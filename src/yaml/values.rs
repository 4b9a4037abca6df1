//! YAML documents straight into JSON values, in one pass over saphyr's events: plain scalars
//! resolved as serde_yaml 0.9 resolves them (YAML 1.2 core schema), quoted and block scalars
//! kept as strings, anchors and aliases followed, duplicate keys refused with both places.
//!
//! Rendered templates are parsed here rather than by serde_yaml: the platform's output is
//! hundreds of kilobytes of CRD schemas and dashboards, and this is several times faster.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use saphyr_parser::{Event, Parser, ScalarStyle, Span as YamlSpan, Tag};
use serde_json::{Map, Number, Value};

use super::tree::{self, syntax_error, to_span};
use crate::diagnostic::Diagnostic;
use crate::source::{Location, SourceFile};

/// Parses every document of `file` (`---`-separated). An empty document is `null`; a stream
/// without any document gives none.
pub fn parse_documents(file: &Arc<SourceFile>) -> Result<Vec<Value>, Diagnostic> {
    let mut builder = Builder {
        file,
        open: Vec::new(),
        anchors: HashMap::new(),
        documents: Vec::new(),
    };
    for event in Parser::new_from_str(&file.text) {
        let (event, span) = event.map_err(|err| syntax_error(file, &err))?;
        match event {
            Event::DocumentStart(_) => builder.documents.push(Value::Null),
            Event::Scalar(text, style, anchor, tag) => {
                if builder.expects_key() {
                    // A key is kept as written (`0x1F` stays "0x1F"), as serde_yaml keeps it;
                    // a tag or an anchor on it still has its value checked or recorded.
                    if anchor != 0 || tag.is_some() {
                        let value = scalar(Cow::Borrowed(&text), style, tag.as_deref())
                            .map_err(|why| builder.error(span, why))?;
                        if anchor != 0 {
                            builder.anchors.insert(anchor, value);
                        }
                    }
                    builder.key(text.into_owned(), span)?;
                } else {
                    let value = scalar(text, style, tag.as_deref())
                        .map_err(|why| builder.error(span, why))?;
                    builder.push(value, anchor, span)?;
                }
            }
            Event::Alias(anchor) => {
                let value =
                    builder.anchors.get(&anchor).cloned().ok_or_else(|| {
                        builder.error(span, "an alias of an unknown anchor".into())
                    })?;
                builder.push(value, 0, span)?;
            }
            Event::SequenceStart(anchor, _) => builder.open.push(Frame {
                anchor,
                span,
                collection: Collection::Seq(Vec::new()),
            }),
            Event::MappingStart(anchor, _) => builder.open.push(Frame {
                anchor,
                span,
                collection: Collection::Map {
                    entries: Map::new(),
                    pending: None,
                },
            }),
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some(frame) = builder.open.pop() {
                    let value = match frame.collection {
                        Collection::Seq(items) => Value::Array(items),
                        Collection::Map { entries, .. } => Value::Object(entries),
                    };
                    builder.push(value, frame.anchor, frame.span)?;
                }
            }
            _ => {}
        }
    }
    Ok(builder.documents)
}

struct Builder<'a> {
    file: &'a Arc<SourceFile>,
    open: Vec<Frame>,
    anchors: HashMap<usize, Value>,
    documents: Vec<Value>,
}

/// A collection being read. Positions stay in saphyr's form until an error needs them.
struct Frame {
    anchor: usize,
    span: YamlSpan,
    collection: Collection,
}

enum Collection {
    Seq(Vec<Value>),
    Map {
        entries: Map<String, Value>,
        /// The key whose value comes next.
        pending: Option<String>,
    },
}

impl Builder<'_> {
    fn error(&self, span: YamlSpan, message: String) -> Diagnostic {
        Diagnostic::new(Location::new(self.file, to_span(self.file, span)), message)
    }

    /// Whether the next node is a mapping key.
    fn expects_key(&self) -> bool {
        matches!(
            self.open.last(),
            Some(Frame {
                collection: Collection::Map { pending: None, .. },
                ..
            })
        )
    }

    /// Takes `key`, as written, as the open mapping's next key.
    fn key(&mut self, key: String, span: YamlSpan) -> Result<(), Diagnostic> {
        let Some(Frame {
            collection: Collection::Map { entries, pending },
            ..
        }) = self.open.last_mut()
        else {
            return Ok(());
        };
        if entries.contains_key(&key) {
            return Err(self.duplicate(&key, span));
        }
        *pending = Some(key);
        Ok(())
    }

    /// The error for a key given twice. The position tree knows where each key was written,
    /// the first included; it is built only here, on the error path.
    fn duplicate(&self, key: &str, span: YamlSpan) -> Diagnostic {
        tree::parse_stream(self.file).err().unwrap_or_else(|| {
            self.error(
                span,
                format!("duplicate key \"{}\"", crate::clip::value(key)),
            )
        })
    }

    /// Adds a finished node to whatever is open: the document, a sequence, or a mapping (as
    /// its value, or as its key: a collection cannot be one, an alias of a scalar can).
    fn push(&mut self, value: Value, anchor: usize, span: YamlSpan) -> Result<(), Diagnostic> {
        if anchor != 0 {
            self.anchors.insert(anchor, value.clone());
        }
        let Some(frame) = self.open.last_mut() else {
            if let Some(document) = self.documents.last_mut() {
                *document = value;
            }
            return Ok(());
        };
        match &mut frame.collection {
            Collection::Seq(items) => items.push(value),
            Collection::Map { entries, pending } => {
                if let Some(key) = pending.take() {
                    entries.insert(key, value);
                    return Ok(());
                }
                let key = match value {
                    Value::String(text) => text,
                    Value::Number(number) => number.to_string(),
                    Value::Bool(flag) => flag.to_string(),
                    Value::Null | Value::Array(_) | Value::Object(_) => {
                        return Err(self.error(span, "a mapping key must be a scalar".into()));
                    }
                };
                self.key(key, span)?;
            }
        }
        Ok(())
    }
}

/// The value of a scalar: quoted and block scalars are strings; plain ones are resolved.
fn scalar(text: Cow<'_, str>, style: ScalarStyle, tag: Option<&Tag>) -> Result<Value, String> {
    match tag {
        Some(tag) if tag.is_yaml_core_schema() => match tag.suffix.as_str() {
            "str" => Ok(Value::String(text.into_owned())),
            "null" | "bool" | "int" | "float" => match resolve(&text) {
                value
                    if matches!(
                        (tag.suffix.as_str(), &value),
                        ("null", Value::Null)
                            | ("bool", Value::Bool(_))
                            | ("int" | "float", Value::Number(_))
                    ) =>
                {
                    Ok(value)
                }
                _ => Err(format!(
                    "\"{}\" is not a valid !!{}",
                    crate::clip::value(&text),
                    tag.suffix
                )),
            },
            other => Err(format!("the tag !!{other} is not supported here")),
        },
        Some(tag) => Err(format!("the tag {tag} is not supported here")),
        None if style == ScalarStyle::Plain => {
            Ok(typed(&text).unwrap_or_else(|| Value::String(text.into_owned())))
        }
        None => Ok(Value::String(text.into_owned())),
    }
}

/// A plain scalar's value, as serde_yaml 0.9 reads it into JSON: null (`~`, `null`, empty,
/// and the infinities and NaN, which JSON cannot hold), booleans
/// (`true`/`True`/`TRUE` and false), integers (decimal, `0x`, `0o`, `0b`; a leading zero
/// keeps digits a string), finite floats, else a string.
pub fn resolve(text: &str) -> Value {
    typed(text).unwrap_or_else(|| Value::String(text.to_owned()))
}

/// What a plain scalar resolves to when that is not a string.
fn typed(text: &str) -> Option<Value> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Some(Value::Null),
        // Infinities and NaN are floats to YAML but have no JSON form; serde_yaml gives null.
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF"
        | ".nan" | ".NaN" | ".NAN" => {
            return Some(Value::Null);
        }
        "true" | "True" | "TRUE" => return Some(Value::Bool(true)),
        "false" | "False" | "FALSE" => return Some(Value::Bool(false)),
        _ => {}
    }
    // Only text that starts like a number can be one; most scalars are words.
    if !text.starts_with(|c: char| c.is_ascii_digit() || "+-.".contains(c)) {
        return None;
    }
    if let Some(int) = integer(text) {
        return Some(Value::Number(int));
    }
    if digits_but_not_number(text) {
        return None;
    }
    float(text).map(Value::Number)
}

fn integer(text: &str) -> Option<Number> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (radix, body) = [("0x", 16), ("0o", 8), ("0b", 2)]
        .iter()
        .find_map(|(prefix, radix)| digits.strip_prefix(prefix).map(|body| (*radix, body)))
        .unwrap_or((10, digits));
    if body.is_empty()
        || body.starts_with(['+', '-'])
        || (radix == 10 && digits_but_not_number(text))
    {
        return None;
    }
    let magnitude = u64::from_str_radix(body, radix).ok()?;
    if negative {
        // i64::MIN's magnitude is one more than i64::MAX.
        let value = i64::try_from(magnitude)
            .map(|m| -m)
            .ok()
            .or_else(|| (magnitude == i64::MIN.unsigned_abs()).then_some(i64::MIN))?;
        Some(Number::from(value))
    } else {
        Some(Number::from(magnitude))
    }
}

fn float(text: &str) -> Option<Number> {
    let unsigned = match text.strip_prefix('+') {
        Some(rest) if rest.starts_with(['+', '-']) => return None,
        Some(rest) => rest,
        None => text,
    };
    unsigned
        .parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .and_then(Number::from_f64)
}

/// A leading zero followed by digits is a string in YAML 1.2 (not an octal number).
fn digits_but_not_number(text: &str) -> bool {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    digits.len() > 1 && digits.starts_with('0') && digits[1..].bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    fn parse(text: &str) -> Result<Vec<Value>, String> {
        parse_documents(&SourceFile::new("t.yaml", text.to_owned())).map_err(|d| d.to_string())
    }

    fn serde_yaml_documents(text: &str) -> Vec<Value> {
        serde_yaml::Deserializer::from_str(text)
            .map(|document| Value::deserialize(document).unwrap())
            .collect()
    }

    /// Every plain scalar resolves as serde_yaml resolves it.
    #[test]
    fn scalars_resolve_as_serde_yaml_does() {
        let scalars = [
            "",
            "~",
            "null",
            "Null",
            "NULL",
            "nULL",
            "true",
            "True",
            "TRUE",
            "tRUE",
            "false",
            "yes",
            "no",
            "on",
            "off",
            "y",
            "0",
            "12",
            "+12",
            "-12",
            "012",
            "-012",
            "0x1F",
            "0o17",
            "0b101",
            "0x",
            "-0x1F",
            "+0x10",
            "0x-1",
            "1.5",
            "-1.5",
            "+1.5",
            ".5",
            "1.",
            "1e3",
            "1E-3",
            "1_000",
            ".inf",
            "-.inf",
            ".nan",
            "inf",
            "NaN",
            "1.20.3",
            "0.0.0.0:4191",
            "10m",
            "64Mi",
            "30s",
            "2001-12-14",
            "18446744073709551615",
            "+.inf",
            ".NaN",
            "-9223372036854775808",
            "1:30",
            "v1",
            "edge-26.8.3",
            "a b",
            "'q'",
            "9080",
        ];
        for text in scalars {
            let document = format!("k: {text}\n");
            let ours = parse(&document).unwrap();
            let theirs = serde_yaml_documents(&document);
            assert_eq!(ours, theirs, "{text:?}");
        }
    }

    /// Integers beyond 64 bits, which serde_yaml refuses to put in JSON, become floats.
    #[test]
    fn huge_integers_become_floats() {
        assert_eq!(
            resolve("18446744073709551616"),
            Value::from(18_446_744_073_709_551_616.0)
        );
        assert_eq!(
            resolve("-9223372036854775809"),
            Value::from(-9_223_372_036_854_775_809.0)
        );
    }

    #[test]
    fn quoted_blocks_tags_and_aliases() {
        let text = "a: '1'\nb: \"true\"\nc: |\n  x\n  y\nd: >-\n  folded\n  text\ne: !!str 12\nf: &anchor [1, {g: h}]\ni: *anchor\n---\n---\nj: 1\n";
        assert_eq!(parse(text).unwrap(), serde_yaml_documents(text));
        assert_eq!(parse("").unwrap(), Vec::<Value>::new());
        assert!(
            parse("a: !!int x\n")
                .unwrap_err()
                .contains("is not a valid !!int")
        );
        assert!(
            parse("a: !custom x\n")
                .unwrap_err()
                .contains("not supported")
        );
        assert!(
            parse("? [a]\n: 1\n")
                .unwrap_err()
                .contains("must be a scalar")
        );
    }

    #[test]
    fn duplicate_keys_name_both_places() {
        let err = parse("a:\n  b: 1\n  b: 2\n").unwrap_err();
        assert!(err.starts_with("t.yaml:3:3: duplicate key \"b\""), "{err}");
        assert!(
            err.contains("note: t.yaml:2:3: first defined here"),
            "{err}"
        );
    }
}
