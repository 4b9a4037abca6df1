//! Property: whatever string a stack file gives a field, either the loader refuses it with an
//! error in that file, or the render holds exactly that string wherever the field's value
//! went, with every other value and every type unchanged. No value is re-read as a number,
//! boolean or null, and no error caused by a value points at a template.
//!
//! The fields are every string value of a complete set of stack files: the default stacks
//! with every optional setting given (checked below against the stack types), so a field
//! added to a stack type is covered once the defaults or this fixture set it.

use std::sync::{Arc, LazyLock};

use proptest::prelude::*;
use serde_json::Value;

use super::{Slots, TemplateSet, render};
use crate::diagnostic::Diagnostic;
use crate::source::SourceFile;
use crate::stack::{StackError, load};
use crate::yaml::{emit, values};

/// One string field: the file it is in and the path to it.
#[derive(Debug, Clone)]
struct Field {
    file: usize,
    path: Vec<Step>,
}

#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Index(usize),
}

/// The stack files: the defaults, with the optional settings they leave out given.
static FILES: LazyLock<Vec<(String, Value)>> = LazyLock::new(|| {
    crate::embedded::stacks()
        .iter()
        .map(|file| {
            let mut tree = values::parse_documents(file)
                .unwrap_or_else(|err| panic!("{err}"))
                .swap_remove(0);
            // A namespace of its own, so that a changed namespace splits or merges none.
            if tree["kind"] == "Grafana" {
                tree["namespace"] = "grafana".into();
            }
            if tree["kind"] == "Prometheus" {
                let storage = &mut tree["spec"]["storage"];
                storage["volume"] = "persistentVolumeClaim".into();
                storage["storageClass"] = "standard".into();
                storage["retentionSize"] = "6Gi".into();
                tree["spec"]["controlPlane"] = serde_json::json!({
                    "kubeScheduler": true, "kubeControllerManager": true, "etcd": true, "kubeProxy": true,
                });
            }
            if tree["kind"] == "Linkerd" {
                tree["spec"]["heartbeat"] = true.into();
            }
            let name = file.path.file_name().map_or_else(String::new, |name| {
                name.to_string_lossy().into_owned()
            });
            (name, tree)
        })
        .collect()
});

fn source_files(files: &[(String, Value)]) -> Vec<Arc<SourceFile>> {
    files
        .iter()
        .map(|(name, tree)| {
            let mut text = String::new();
            emit::document(&mut text, tree);
            SourceFile::new(format!("stacks/{name}"), text)
        })
        .collect()
}

/// Every string value of `tree` below `path`, but `kind` (which selects the stack type).
fn strings(file: usize, tree: &Value, path: &mut Vec<Step>, out: &mut Vec<Field>) {
    match tree {
        Value::String(_) if !matches!(path.as_slice(), [Step::Key(key)] if key == "kind") => {
            out.push(Field {
                file,
                path: path.clone(),
            });
        }
        Value::Object(map) => {
            for (key, value) in map {
                path.push(Step::Key(key.clone()));
                strings(file, value, path, out);
                path.pop();
            }
        }
        Value::Array(items) => {
            for (index, value) in items.iter().enumerate() {
                path.push(Step::Index(index));
                strings(file, value, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

static FIELDS: LazyLock<Vec<Field>> = LazyLock::new(|| {
    let mut out = Vec::new();
    for (index, (_, tree)) in FILES.iter().enumerate() {
        strings(index, tree, &mut Vec::new(), &mut out);
    }
    out
});

fn leaf<'a>(tree: &'a mut Value, path: &[Step]) -> &'a mut Value {
    path.iter().fold(tree, |value, step| match step {
        Step::Key(key) => &mut value[key.as_str()],
        Step::Index(index) => &mut value[*index],
    })
}

fn render_all(files: &[Arc<SourceFile>]) -> Result<Vec<Value>, Vec<Diagnostic>> {
    let platform = match load(files, "stacks") {
        Ok(platform) => platform,
        Err(StackError::Invalid(diagnostics)) => return Err(diagnostics.0),
        Err(other) => panic!("not a located error: {other}"),
    };
    let selected: Vec<_> = platform.stacks.iter().collect();
    match render(
        &platform,
        &selected,
        &TemplateSet::embedded(),
        &Slots::default(),
    ) {
        Ok(plan) => Ok(plan.objects.into_iter().map(|o| o.value).collect()),
        Err(super::RenderError::Invalid(diagnostics)) => Err(diagnostics.0),
        Err(other) => panic!("{other}"),
    }
}

static BASELINE: LazyLock<Vec<Value>> = LazyLock::new(|| {
    render_all(&source_files(&FILES)).unwrap_or_else(|errors| panic!("{}", errors[0]))
});

/// `new` is `old` with the field's value changed: the same shape and types, each string
/// either unchanged or with `from` replaced by `to`. Returns how many strings changed.
fn compare(old: &Value, new: &Value, from: &str, to: &str, at: &str) -> Result<usize, String> {
    match (old, new) {
        (Value::String(old), Value::String(new)) if old == new => Ok(0),
        (Value::String(old), Value::String(new))
            if (old == from && new == to) || substituted(old, new, from, to) =>
        {
            Ok(1)
        }
        // Checksums of configuration that holds the value.
        (Value::String(old), Value::String(new)) if digest(old) && digest(new) => Ok(0),
        // Configuration files carried as text (prometheus.yml, linkerd-config's values): the
        // value may be quoted there, so compare what they hold.
        (Value::String(old_text), Value::String(new_text)) => {
            match (yaml_tree(old_text), yaml_tree(new_text)) {
                (Some(old), Some(new)) => compare(&old, &new, from, to, &format!("{at}|")),
                _ => Err(format!("{at}: {old_text:?} became {new_text:?}")),
            }
        }
        (Value::Object(old), Value::Object(new)) if old.len() == new.len() => {
            let mut changed = 0;
            for (key, old) in old {
                // A key may hold the value too (a label key, a data file name).
                let new = new
                    .get(key)
                    .or_else(|| new.get(&key.replace(from, to)))
                    .ok_or_else(|| format!("{at}.{key}: missing"))?;
                changed += compare(old, new, from, to, &format!("{at}.{key}"))?;
            }
            Ok(changed)
        }
        (Value::Array(old), Value::Array(new)) if old.len() == new.len() => {
            let mut changed = 0;
            for (index, (old, new)) in old.iter().zip(new).enumerate() {
                changed += compare(old, new, from, to, &format!("{at}[{index}]"))?;
            }
            Ok(changed)
        }
        (old, new) if old == new => Ok(0),
        (old, new) => Err(format!("{at}: {old} became {new}")),
    }
}

/// Sets `field` to `value` and checks the property.
fn check(field: &Field, value: &str) -> Result<(), TestCaseError> {
    let mut files = FILES.clone();
    let (name, tree) = &mut files[field.file];
    let slot = leaf(tree, &field.path);
    let default = slot.as_str().unwrap_or_default().to_owned();
    *slot = value.into();
    let user_file = format!("stacks/{name}");
    match render_all(&source_files(&files)) {
        Err(errors) => {
            for error in &errors {
                let file = error.at.file.path.to_string_lossy();
                prop_assert!(
                    file.starts_with("stacks/"),
                    "{value:?} in {user_file} {:?}: the error points at {file}, not at a stack file:\n{error}",
                    field.path
                );
            }
            // An error between two stack files (two stacks in one namespace) is at one of
            // them and names the other in a note.
            let in_user_file =
                |at: &crate::source::Location| at.file.path.to_string_lossy() == user_file;
            prop_assert!(
                errors
                    .iter()
                    .any(|e| in_user_file(&e.at) || e.notes.iter().any(|(at, _)| in_user_file(at))),
                "{value:?} in {user_file} {:?}: no error names that file",
                field.path
            );
        }
        Ok(objects) => {
            prop_assert_eq!(objects.len(), BASELINE.len());
            let mut changed = 0;
            for old in BASELINE.iter() {
                // Objects are ordered by namespace and name, which the value may be part of.
                let id = identity(old);
                let same = |new: &&Value| {
                    identity(new)
                        .iter()
                        .zip(&id)
                        .all(|(new, old)| *new == *old || *new == old.replace(&default, value))
                };
                let Some(new) = objects.iter().find(same) else {
                    return Err(TestCaseError::fail(format!(
                        "{value:?} in {user_file} {:?}: no object {id:?}",
                        field.path
                    )));
                };
                changed += compare(old, new, &default, value, "").map_err(|why| {
                    TestCaseError::fail(format!("{value:?} in {user_file} {:?}: {why}", field.path))
                })?;
            }
            let exact = objects.iter().any(|o| holds(o, value));
            prop_assert!(
                changed == 0 || exact || value.is_empty(),
                "{value:?} in {user_file} {:?}: changed {changed} strings, none to the value itself",
                field.path
            );
        }
    }
    Ok(())
}

/// Whether `new` is `old` with some of its occurrences of `from` replaced by `to`.
fn substituted(old: &str, new: &str, from: &str, to: &str) -> bool {
    if from.is_empty() {
        return false;
    }
    let Some(at) = old.find(from) else {
        return old == new;
    };
    let Some(rest) = new.strip_prefix(&old[..at]) else {
        return false;
    };
    let after = &old[at + from.len()..];
    [from, to].iter().any(|piece| {
        rest.strip_prefix(piece)
            .is_some_and(|rest| substituted(after, rest, from, to))
    })
}

/// The mapping or list a text holds as YAML, if it is one.
fn yaml_tree(text: &str) -> Option<Value> {
    let file = SourceFile::new("text", text.to_owned());
    let mut documents = values::parse_documents(&file).ok()?;
    (documents.len() == 1 && (documents[0].is_object() || documents[0].is_array()))
        .then(|| documents.swap_remove(0))
}

/// Whether `text` is a hex SHA-256.
fn digest(text: &str) -> bool {
    text.len() == 64 && text.chars().all(|c| c.is_ascii_hexdigit())
}

/// An object's API version, kind, namespace and name.
fn identity(object: &Value) -> Vec<String> {
    let text = |value: &Value| value.as_str().unwrap_or_default().to_owned();
    vec![
        text(&object["apiVersion"]),
        text(&object["kind"]),
        text(&object["metadata"]["namespace"]),
        text(&object["metadata"]["name"]),
    ]
}

/// Whether some string of `tree` is `value` or contains it.
fn holds(tree: &Value, value: &str) -> bool {
    match tree {
        Value::String(text) => text.contains(value),
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| k.contains(value) || holds(v, value)),
        Value::Array(items) => items.iter().any(|v| holds(v, value)),
        _ => false,
    }
}

/// The fixture sets every optional field of the stack types, so every field is enumerated.
#[test]
fn the_fixture_sets_every_field() {
    let platform = load(&source_files(&FILES), "stacks").unwrap_or_else(|err| panic!("{err}"));
    for stack in &platform.stacks {
        let mut spec = serde_json::to_value(&stack.spec).unwrap_or_else(|err| panic!("{err}"));
        // Certificate paths name files read at render; nothing of them reaches a template.
        if let Some(map) = spec.as_object_mut() {
            map.remove("certificates");
        }
        assert!(!has_null(&spec), "{}: {spec}", stack.name());
    }
    assert!(FIELDS.len() > 30, "{}", FIELDS.len());
}

fn has_null(tree: &Value) -> bool {
    match tree {
        Value::Null => true,
        Value::Object(map) => map.values().any(has_null),
        Value::Array(items) => items.iter().any(has_null),
        _ => false,
    }
}

/// A string of printable ASCII, YAML indicators and a few non-ASCII letters.
fn any_string() -> impl Strategy<Value = String> {
    let chars: Vec<char> =
        " -:#\"'\\,[]{}*&!|>%@`?~.0123456789abcdefxeEnulTtrY\u{e9}\u{430}\u{200b}\n"
            .chars()
            .collect();
    proptest::collection::vec(proptest::sample::select(chars), 0..8)
        .prop_map(|chars| chars.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    /// Every field with a listed adversarial string or a random one, alone or after a valid
    /// prefix (so that fields with a required shape accept more of them).
    #[test]
    fn values_survive_the_templates(
        field in proptest::sample::select(FIELDS.clone()),
        listed in proptest::sample::select(super::scalar::LOOKALIKES),
        random in any_string(),
        which in 0..3u8,
    ) {
        let value = match which {
            0 => listed.to_owned(),
            1 => random,
            _ => format!("a{listed}"),
        };
        check(&field, &value)?;
    }
}

/// A namespace another stack already uses, in the stack file read first: the error is at
/// the other stack's file, and names this one. Random cases reach it in about one run of
/// the property in thirty.
#[test]
fn a_namespace_of_another_stack() {
    let linkerd = FIELDS
        .iter()
        .find(|field| {
            FILES[field.file].0 == "linkerd.yaml"
                && matches!(field.path.as_slice(), [Step::Key(key)] if key == "namespace")
        })
        .unwrap_or_else(|| panic!("no namespace field in linkerd.yaml"));
    check(linkerd, "monitoring").unwrap_or_else(|err| panic!("{err}"));
}

/// The values the issue names, in the fields it names, always tried.
#[test]
fn named_values_in_named_fields() {
    let named = |file: &str, path: &[&str]| {
        FIELDS
            .iter()
            .find(|field| {
                FILES[field.file].0 == file
                    && field.path.len() == path.len()
                    && field
                        .path
                        .iter()
                        .zip(path)
                        .all(|(step, want)| matches!(step, Step::Key(key) if key == want))
            })
            .cloned()
            .unwrap_or_else(|| panic!("{file} {path:?}"))
    };
    for (file, path) in [
        ("bookinfo.yaml", &["namespace"][..]),
        ("grafana.yaml", &["namespace"][..]),
        ("grafana.yaml", &["spec", "adminSecret"][..]),
        ("prometheus.yaml", &["spec", "storage", "storageClass"][..]),
        ("linkerd.yaml", &["namespace"][..]),
        ("bookinfo.yaml", &["spec", "images", "tag"][..]),
    ] {
        let field = named(file, path);
        for value in ["123", "null", "true", "12345", "1e3", "0x10", "~"] {
            check(&field, value).unwrap_or_else(|err| panic!("{err}"));
        }
    }
}
