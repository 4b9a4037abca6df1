//! linkerd-config's `values` read as the proxy-injector reads them. Its pkg/config/config.go
//! `Values()` hands the file to sigs.k8s.io/yaml v1.6.0, which parses it with
//! go.yaml.in/yaml/v2 v2.4.2 (resolve.go: YAML 1.1, so a plain `off`, `on`, `yes`, `no`, `y`
//! or `n` is a boolean, `010` an octal 8, `0b101` binary, `1e3` a float) and turns the result
//! into JSON (yaml.go `yamlToJSONTarget`): keys become strings (`true`, `1`), infinities and
//! NaN cannot be written. Quoted and block scalars are strings.
//!
//! The same resolution applies to what the chart templates print unquoted (`port: {{ ... }}`),
//! which Helm's `fromYaml` reads back with the same library.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle};
use serde_json::{Map, Number, Value};

/// Parses one YAML document into the JSON value sigs.k8s.io/yaml would marshal, or the
/// error text that library gives (its YAML errors are worded by libyaml and only
/// approximated here).
pub fn parse(text: &str) -> Result<Value, String> {
    let mut open: Vec<(usize, Open)> = Vec::new();
    let mut anchors: HashMap<usize, Value> = HashMap::new();
    let mut document = Value::Null;
    for event in Parser::new_from_str(text) {
        let (event, _) = event.map_err(|err| {
            format!(
                "error converting YAML to JSON: yaml: line {}: {}",
                err.marker().line(),
                err.info()
            )
        })?;
        let finished = match event {
            Event::Scalar(value, style, anchor, tag) => {
                let explicit_str = tag.as_deref().is_some_and(|t| t.suffix == "str");
                let value = if style == ScalarStyle::Plain && !explicit_str {
                    plain(&value)?
                } else {
                    Value::String(value.into_owned())
                };
                Some((anchor, value))
            }
            Event::Alias(anchor) => Some((0, anchors.get(&anchor).cloned().unwrap_or_default())),
            Event::SequenceStart(anchor, _) => {
                open.push((anchor, Open::Seq(Vec::new())));
                None
            }
            Event::MappingStart(anchor, _) => {
                open.push((anchor, Open::Map(Map::new(), None)));
                None
            }
            Event::SequenceEnd | Event::MappingEnd => open.pop().map(|(anchor, node)| {
                let value = match node {
                    Open::Seq(items) => Value::Array(items),
                    Open::Map(entries, _) => Value::Object(entries),
                };
                (anchor, value)
            }),
            _ => None,
        };
        let Some((anchor, value)) = finished else {
            continue;
        };
        if anchor != 0 {
            anchors.insert(anchor, value.clone());
        }
        match open.last_mut() {
            None => document = value,
            Some((_, Open::Seq(items))) => items.push(value),
            Some((_, Open::Map(entries, pending))) => match pending.take() {
                // go-yaml v2 decodes a mapping into a Go map: a repeated key keeps the last.
                Some(key) => {
                    entries.insert(key, value);
                }
                None => *pending = Some(key_text(&value)?),
            },
        }
    }
    Ok(document)
}

/// A collection being read.
enum Open {
    Seq(Vec<Value>),
    Map(Map<String, Value>, Option<String>),
}

/// A mapping key as yaml.go's `convertToJSONableObject` writes it.
fn key_text(key: &Value) -> Result<String, String> {
    match key {
        Value::String(text) => Ok(text.clone()),
        Value::Bool(flag) => Ok(flag.to_string()),
        Value::Number(n) if n.is_f64() => Ok(go_float(n.as_f64().unwrap_or_default(), 32)),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(format!(
            "error converting YAML to JSON: unsupported map key {other}"
        )),
    }
}

/// A plain scalar resolved as go-yaml v2's `resolve` does (timestamps stay strings, as that
/// library keeps them when decoding into `interface{}`).
pub fn plain(text: &str) -> Result<Value, String> {
    match text {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Ok(Value::Bool(true));
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Ok(Value::Bool(false));
        }
        "" | "~" | "null" | "Null" | "NULL" => return Ok(Value::Null),
        ".nan" | ".NaN" | ".NAN" | ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF"
        | "-.inf" | "-.Inf" | "-.INF" => {
            let shown = if text.to_ascii_lowercase().contains("nan") {
                "NaN"
            } else if text.starts_with('-') {
                "-Inf"
            } else {
                "+Inf"
            };
            return Err(format!(
                "error converting YAML to JSON: json: unsupported value: {shown}"
            ));
        }
        _ => {}
    }
    let first = text.as_bytes()[0];
    if first == b'.' {
        return Ok(text
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map_or_else(|| Value::String(text.to_owned()), Value::Number));
    }
    if !(first.is_ascii_digit() || first == b'+' || first == b'-') {
        return Ok(Value::String(text.to_owned()));
    }
    let digits = text.replace('_', "");
    if let Some(number) = go_parse_int(&digits) {
        return Ok(Value::Number(number));
    }
    if yaml_style_float(&digits)
        && let Some(number) = digits.parse::<f64>().ok().and_then(Number::from_f64)
    {
        return Ok(Value::Number(number));
    }
    Ok(Value::String(text.to_owned()))
}

/// Go's `strconv.ParseInt(s, 0, 64)` (then `ParseUint`): a sign, then `0x`, `0o`, `0b` or a
/// leading `0` (octal) choose the base.
fn go_parse_int(text: &str) -> Option<Number> {
    let (negative, rest) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let lower = rest.to_ascii_lowercase();
    let (radix, body) = if let Some(body) = lower.strip_prefix("0x") {
        (16, body)
    } else if let Some(body) = lower.strip_prefix("0o") {
        (8, body)
    } else if let Some(body) = lower.strip_prefix("0b") {
        (2, body)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if body.is_empty() || body.starts_with(['+', '-']) {
        return None;
    }
    let magnitude = u64::from_str_radix(body, radix).ok()?;
    if negative {
        let value = 0_i64.checked_sub_unsigned(magnitude)?;
        Some(Number::from(value))
    } else {
        Some(Number::from(magnitude))
    }
}

/// go-yaml v2's `yamlStyleFloat`: `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn yaml_style_float(text: &str) -> bool {
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(at) => (&body[..at], Some(&body[at + 1..])),
        None => (body, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", fraction)) => digits(fraction),
        Some((whole, fraction)) => digits(whole) && (fraction.is_empty() || digits(fraction)),
        None => digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| digits(e.strip_prefix(['-', '+']).unwrap_or(e)));
    mantissa_ok && exponent_ok
}

/// A float as Go's `strconv.FormatFloat(f, 'g', -1, bits)` and `fmt`'s `%v` write it: the
/// shortest digits, in exponent form below 1e-4 and from 1e6 (`1e+06`, `4.143e+06`).
pub fn go_float(f: f64, bits: u32) -> String {
    if f == 0.0 {
        return "0".into();
    }
    #[allow(clippy::cast_possible_truncation)] // The 32-bit form is what Go prints there.
    let scientific = if bits == 32 {
        format!("{:e}", f as f32)
    } else {
        format!("{f:e}")
    };
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if (-4..6).contains(&exponent) {
        #[allow(clippy::cast_possible_truncation)]
        return if bits == 32 {
            format!("{}", f as f32)
        } else {
            format!("{f}")
        };
    }
    let sign = if exponent < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exponent.abs())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn yaml_1_1_scalars_resolve_as_go_yaml_v2_does() {
        let doc =
            parse("a: off\nb: \"off\"\nc: 010\nd: 0x1F\ne: 1e3\nf: ~\ng: 2102\nh: yes\ni: 08\n")
                .unwrap();
        assert_eq!(
            doc,
            json!({"a": false, "b": "off", "c": 8, "d": 31, "e": 1000.0, "f": null, "g": 2102, "h": true, "i": 8.0})
        );
        assert_eq!(
            parse("on: 1\n3: x\n").unwrap(),
            json!({"true": 1, "3": "x"})
        );
    }

    #[test]
    fn floats_print_as_go_prints_them() {
        assert_eq!(go_float(4143.0, 64), "4143");
        assert_eq!(go_float(1_000_000.0, 64), "1e+06");
        assert_eq!(go_float(4_143_000.0, 64), "4.143e+06");
        assert_eq!(go_float(0.5, 64), "0.5");
        assert_eq!(go_float(1e-5, 64), "1e-05");
    }
}
