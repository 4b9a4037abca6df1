//! What Go's text/template (under Helm v3.21's engine, `missingkey=zero`) and the sprig
//! functions the chart partials use do with the values, and how their errors read.
//!
//! A field of a value that is null or absent fails with `nil pointer evaluating
//! interface {}.<field>` (text/template exec.go `evalField`); a parenthesised pipeline
//! `(.a).b` does not. An error names the template file, line and byte column of the node
//! (parse.go `ErrorContext`: for `.Values.a.b` the column of `.a`), the template being
//! executed, the node, and is nested through every `include` (exec.go `evalCall`: `error
//! calling include: ...`). `fail` and `required` errors are cut down by Helm's engine.go
//! `cleanupExecError` to the outermost location and their own text.

use std::fmt::Write as _;

use serde_json::Value;

use super::yaml11;

/// One template being executed when an error happened.
#[derive(Debug, Clone, Copy)]
pub struct Frame {
    /// `file:line:column` of the node.
    pub at: &'static str,
    /// The template executed (a file, or a `define`d name).
    pub template: &'static str,
    /// The node, as text/template prints it.
    pub node: &'static str,
}

/// The top-level template the injector renders.
pub const PATCH: &str = "patch/templates/patch.json";

/// The error of a node failing with `message`, nested through `frames` (outermost first;
/// the last one is the failing node).
pub fn exec_error(frames: &[Frame], message: &str) -> String {
    let mut out = String::new();
    for (i, frame) in frames.iter().enumerate() {
        let _ = write!(
            out,
            "template: {}: executing {:?} at <{}>: ",
            frame.at, frame.template, frame.node
        );
        if i + 1 < frames.len() {
            out.push_str("error calling include: ");
        }
    }
    out + message
}

/// A `fail` or `required` error as Helm reports it: the outermost frame's location and the
/// message alone.
pub fn helm_error(outer: &Frame, message: &str) -> String {
    format!("execution error at ({}): {message}", outer.at)
}

/// A value as the template prints it (`{{ .x }}`): null prints nothing (Helm removes Go's
/// `<no value>`), numbers as Go prints the float64 Helm read them into.
pub fn print(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(flag) => flag.to_string(),
        Value::Number(n) => yaml11::go_float(n.as_f64().unwrap_or_default(), 64),
        other => other.to_string(),
    }
}

/// Go template truth: false, 0, "", null and empty collections are false.
pub fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(flag) => *flag,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Object(map) => !map.is_empty(),
    }
}

/// What a template line `key: {{ ... }}` (unquoted) reads back as, once Helm's `fromYaml`
/// parses it: YAML 1.1 plain-scalar resolution (empty is null).
pub fn plain(text: &str) -> Value {
    yaml11::plain(text.trim()).unwrap_or_else(|_| Value::String(text.to_owned()))
}

/// sprig's `snakecase` for the camelCase keys the values use (`keepAliveInterval` becomes
/// `keep_alive_interval`).
pub fn snakecase(text: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = text.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if c.is_uppercase() && i > 0 {
            let after_lower = chars[i - 1].is_lowercase() || chars[i - 1].is_ascii_digit();
            let before_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if after_lower || (chars[i - 1].is_uppercase() && before_lower) {
                out.push('_');
            }
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// The value at dotted `path` (null when any step is missing).
pub fn at<'a>(values: &'a Value, path: &str) -> &'a Value {
    static NULL: Value = Value::Null;
    path.split('.')
        .try_fold(values, |v, key| v.get(key))
        .unwrap_or(&NULL)
}

/// `print` of the value at `path`.
pub fn text(values: &Value, path: &str) -> String {
    print(at(values, path))
}

/// Whether the value at `path` is true to a template.
pub fn on(values: &Value, path: &str) -> bool {
    truthy(at(values, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_nest_through_includes() {
        let frames = [
            Frame {
                at: "a.json:1:2",
                template: "a.json",
                node: "include \"b\" .",
            },
            Frame {
                at: "b.tpl:3:4",
                template: "b",
                node: ".Values.x.y",
            },
        ];
        assert_eq!(
            exec_error(&frames, "nil pointer evaluating interface {}.y"),
            "template: a.json:1:2: executing \"a.json\" at <include \"b\" .>: error calling include: template: b.tpl:3:4: executing \"b\" at <.Values.x.y>: nil pointer evaluating interface {}.y"
        );
        assert_eq!(snakecase("keepAliveInterval"), "keep_alive_interval");
        assert_eq!(snakecase("http2"), "http2");
    }
}
