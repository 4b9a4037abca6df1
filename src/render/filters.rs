//! The template functions and filters beyond minijinja's own: a run adds them to its
//! environment (`TemplateSet::environment`), and build.rs renders the embedded templates with
//! the same ones, so that what it renders is what a run would.
//!
//! This file is compiled into build.rs too (`#[path]`): of the crate, it uses only the slots
//! and the YAML writer, which build.rs includes where the crate has them.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Mutex;

use base64::Engine as _;
use minijinja::{Environment, Error, ErrorKind, Value};
use sha2::{Digest, Sha256};

use super::slots::Slots;

/// Adds `slot` (its values from `slots`, which records the slots used), `b64encode`,
/// `sha256`, `compactjson`, `fromyaml` and `toyaml` to `env`.
pub fn add(env: &mut Environment<'_>, slots: &Slots) {
    let slots = slots.clone();
    env.add_function("slot", move |name: &str, service: Option<&str>| {
        slots
            .lookup(name, service)
            .map_err(|why| Error::new(ErrorKind::InvalidOperation, why))
    });
    env.add_filter("b64encode", |text: &str| {
        base64::engine::general_purpose::STANDARD.encode(text)
    });
    env.add_filter("sha256", sha256);
    env.add_filter("compactjson", compact_json);
    // Linkerd's values tree is read by every template that imports it: each text is
    // parsed once per environment.
    let parsed: Mutex<HashMap<String, Value>> = Mutex::new(HashMap::new());
    env.add_filter("fromyaml", move |text: &str| {
        if let Some(value) = parsed.lock().ok().and_then(|p| p.get(text).cloned()) {
            return Ok(value);
        }
        let value = from_yaml(text)?;
        if let Ok(mut parsed) = parsed.lock() {
            parsed.insert(text.to_owned(), value.clone());
        }
        Ok(value)
    });
    env.add_filter("toyaml", to_yaml);
}

/// The template filter `sha256`: the hex SHA-256 of a text, as Helm's `sha256sum`, for
/// checksums of public material that upstream manifests carry (Linkerd's trust-root-sha256).
pub fn sha256(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

/// A digest as lowercase hex.
pub fn hex(digest: &[u8]) -> String {
    digest
        .iter()
        .fold(String::with_capacity(digest.len() * 2), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

/// The template filter `compactjson`: a value as JSON without spaces and with sorted keys, as
/// Helm's `toJson` writes it (minijinja's `tojson` adds spaces), for flags that take JSON.
fn compact_json(value: &Value) -> Result<String, Error> {
    serde_json::to_string(value).map_err(|err| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("compactjson: the value has no JSON form: {err}"),
        )
    })
}

/// The template filter `fromyaml`: a value tree from YAML text, for templates that keep a
/// tree (such as Linkerd's values) as readable YAML and read fields of it.
fn from_yaml(text: &str) -> Result<Value, Error> {
    serde_yaml::from_str(text).map_err(|err| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("fromyaml: the text is not YAML: {err}"),
        )
    })
}

/// The template filter `toyaml`: a value tree as block YAML with sorted keys, written as the
/// rendered manifests are; written into the template as it is, being YAML already.
fn to_yaml(value: &Value) -> Result<Value, Error> {
    let json = serde_json::to_value(value).map_err(|err| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("toyaml: the value has no YAML form: {err}"),
        )
    })?;
    let mut out = String::new();
    crate::yaml::emit::document(&mut out, &json);
    Ok(Value::from_safe_string(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_is_the_hex_digest_of_the_text() {
        assert_eq!(
            sha256("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
