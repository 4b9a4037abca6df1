//! Decoding the values into the `Values` struct as the proxy-injector does, and writing the
//! struct back out as the chart templates receive it.
//!
//! sigs.k8s.io/yaml first turns numbers and booleans into strings wherever the target field
//! is a string (yaml.go `convertToJSONableObject`); Go's encoding/json then decodes: keys
//! match field tags exactly or else case-insensitively, unknown keys are ignored, null leaves
//! a field at its zero value (nil for pointers, maps and slices), and a value of the wrong
//! kind is skipped with an `UnmarshalTypeError`, the earliest of which (keys in the sorted
//! order the JSON was written in) fails the whole decode. `GetPodPatch` then marshals the
//! struct (pkg/inject/inject.go `yaml.Marshal(patch)`): every field is written, nil ones as
//! null, `omitempty` ones only when not empty.

use serde_json::{Map, Number, Value};

use super::schema::{Struct, Ty};
use super::yaml11::go_float;

/// Where the decoder is, for its error messages.
#[derive(Default)]
struct Context {
    /// The JSON names of the struct fields entered, from the top.
    fields: Vec<&'static str>,
    /// The innermost struct entered.
    strukt: Option<&'static str>,
    /// The first type error.
    error: Option<String>,
}

impl Context {
    /// Records a type error (only the first one counts, as in encoding/json).
    fn mismatch(&mut self, value: &str, ty: &Ty) {
        if self.error.is_some() {
            return;
        }
        let target = match self.strukt {
            Some(name) => format!("Go struct field {name}.{}", self.fields.join(".")),
            None => "Go value".into(),
        };
        self.error = Some(format!(
            "json: cannot unmarshal {value} into {target} of type {}",
            ty.go_name()
        ));
    }
}

/// Decodes `value` (YAML read as [`super::yaml11::parse`] reads it) into `ty` and writes it
/// back out; the error is encoding/json's message for the earliest mismatch.
pub fn decode(value: &Value, ty: &'static Ty) -> Result<Value, String> {
    let mut context = Context::default();
    let out = decode_into(value, ty, &mut context);
    match context.error {
        Some(error) => Err(error),
        None => Ok(out),
    }
}

/// The zero value of `ty`, as marshalled.
pub fn zero(ty: &Ty) -> Value {
    match ty {
        Ty::Str(_) => Value::String(String::new()),
        Ty::Bool => Value::Bool(false),
        Ty::Int(..) | Ty::Float(_) => Value::Number(0.into()),
        Ty::Any | Ty::Ptr(_) | Ty::Map(_) | Ty::Slice(_) => Value::Null,
        Ty::Struct(s) => marshal_struct(s, &Map::new()),
    }
}

fn decode_into(value: &Value, ty: &'static Ty, cx: &mut Context) -> Value {
    if value.is_null() {
        return zero(ty);
    }
    match ty {
        Ty::Any => value.clone(),
        Ty::Ptr(inner) => decode_into(value, inner, cx),
        Ty::Struct(s) => match value {
            Value::Object(map) => decode_struct(s, map, cx),
            other => {
                cx.mismatch(kind(other), ty);
                zero(ty)
            }
        },
        Ty::Map(elem) => match value {
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), decode_into(v, elem, cx)))
                    .collect(),
            ),
            other => {
                cx.mismatch(kind(other), ty);
                Value::Null
            }
        },
        Ty::Slice(elem) => match value {
            Value::Array(items) => {
                Value::Array(items.iter().map(|v| decode_into(v, elem, cx)).collect())
            }
            other => {
                cx.mismatch(kind(other), ty);
                Value::Null
            }
        },
        Ty::Str(_) => match value {
            Value::String(_) => value.clone(),
            // sigs.k8s.io/yaml writes numbers and booleans bound for a string as strings.
            Value::Bool(flag) => Value::String(flag.to_string()),
            Value::Number(n) if n.is_f64() => {
                Value::String(go_float(n.as_f64().unwrap_or_default(), 32))
            }
            Value::Number(n) => Value::String(n.to_string()),
            other => {
                cx.mismatch(kind(other), ty);
                zero(ty)
            }
        },
        Ty::Bool => match value {
            Value::Bool(_) => value.clone(),
            other => {
                cx.mismatch(kind(other), ty);
                zero(ty)
            }
        },
        Ty::Int(_, unsigned, bits) => match value {
            Value::Number(n) => {
                let literal = json_literal(n);
                if let Some(int) = integer(&literal, *unsigned, *bits) {
                    Value::Number(int)
                } else {
                    cx.mismatch(&format!("number {literal}"), ty);
                    zero(ty)
                }
            }
            other => {
                cx.mismatch(kind(other), ty);
                zero(ty)
            }
        },
        Ty::Float(_) => match value {
            Value::Number(_) => value.clone(),
            other => {
                cx.mismatch(kind(other), ty);
                zero(ty)
            }
        },
    }
}

/// A struct from a JSON object: keys in sorted order, each to the field its tag names.
fn decode_struct(s: &'static Struct, map: &Map<String, Value>, cx: &mut Context) -> Value {
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    let mut set = Map::new();
    for key in keys {
        let field = s
            .fields
            .iter()
            .find(|f| f.json == key)
            .or_else(|| s.fields.iter().find(|f| f.json.eq_ignore_ascii_case(key)));
        let Some(field) = field else {
            continue;
        };
        let depth = cx.fields.len();
        let outer = cx.strukt.replace(s.name);
        cx.fields.push(field.json);
        let decoded = decode_into(&map[key], &field.ty, cx);
        cx.fields.truncate(depth);
        cx.strukt = outer;
        set.insert(field.json.to_owned(), decoded);
    }
    marshal_struct(s, &set)
}

/// A struct as encoding/json marshals it: every field in order, `omitempty` ones left out
/// when empty.
fn marshal_struct(s: &Struct, set: &Map<String, Value>) -> Value {
    let mut out = Map::new();
    for field in &s.fields {
        let value = set
            .get(field.json)
            .cloned()
            .unwrap_or_else(|| zero(&field.ty));
        if field.omitempty && !matches!(field.ty, Ty::Struct(_)) && empty(&value) {
            continue;
        }
        out.insert(field.json.to_owned(), value);
    }
    Value::Object(out)
}

/// What `omitempty` leaves out: false, 0, "", nil, and empty maps and slices.
fn empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(flag) => !flag,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.is_empty(),
    }
}

/// How encoding/json names a JSON value's kind in a type error.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A number as encoding/json writes it: integers as they are, floats in `%f` form, or in
/// `%e` form below 1e-6 and from 1e21.
fn json_literal(n: &Number) -> String {
    let Some(f) = n.as_f64().filter(|_| n.is_f64()) else {
        return n.to_string();
    };
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let scientific = format!("{f:e}");
        let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
        match exponent.strip_prefix('-') {
            Some(negative) => format!("{mantissa}e-{negative}"),
            None => format!("{mantissa}e+{exponent}"),
        }
    } else {
        format!("{f}")
    }
}

/// An integer literal that fits the type, or `None` (encoding/json's `number <literal>`).
fn integer(literal: &str, unsigned: bool, bits: u32) -> Option<Number> {
    if unsigned {
        let n: u64 = literal.parse().ok()?;
        (bits == 64 || n < (1 << bits)).then(|| Number::from(n))
    } else {
        let n: i64 = literal.parse().ok()?;
        let fits = bits == 64 || (-(1_i64 << (bits - 1))..(1_i64 << (bits - 1))).contains(&n);
        fits.then(|| Number::from(n))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::schema;
    use super::*;

    #[test]
    fn missing_pointers_are_null_and_scalars_zero() {
        let out = decode(&json!({"proxy": {"logLevel": 5}}), schema::values()).unwrap();
        assert_eq!(out["proxy"]["logLevel"], "5", "coerced to the string field");
        assert_eq!(out["proxy"]["ports"], Value::Null);
        assert_eq!(out["proxy"]["uid"], 0);
        assert_eq!(out["identity"], Value::Null);
        assert_eq!(out["proxy"]["runtime"], json!({"workers": {}}));
        assert!(out["proxy"].get("cores").is_none(), "omitempty");
    }

    #[test]
    fn the_earliest_wrong_kind_in_sorted_order_is_the_error() {
        let values =
            json!({"proxy": {"uid": "2102", "ports": {"admin": "x"}}, "controllerReplicas": -1});
        assert_eq!(
            decode(&values, schema::values()).unwrap_err(),
            "json: cannot unmarshal number -1 into Go struct field Values.controllerReplicas of type uint"
        );
        assert_eq!(
            decode(
                &json!({"proxy": {"uid": "2102", "ports": {"admin": "x"}}}),
                schema::values()
            )
            .unwrap_err(),
            "json: cannot unmarshal string into Go struct field Ports.proxy.ports.admin of type int32"
        );
        assert_eq!(
            decode(&json!({"proxy": "x"}), schema::values()).unwrap_err(),
            "json: cannot unmarshal string into Go struct field Values.proxy of type linkerd2.Proxy"
        );
        assert_eq!(
            decode(&json!("x"), schema::values()).unwrap_err(),
            "json: cannot unmarshal string into Go value of type linkerd2.Values"
        );
    }
}
