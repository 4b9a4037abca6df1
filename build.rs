//! Rebuilds the binary when the embedded stack files or templates change (`include_dir!`
//! cannot tell cargo about them on stable Rust), and renders the templates that hold only
//! CustomResourceDefinitions once, here, for the default stack files: their output is the
//! same on every run, and rendering and parsing it is most of a render's work.
//!
//! Each such template is rendered with a context of only the variables it reads (so that a
//! variable it reads but does not declare fails the render here instead of going unnoticed),
//! and written out with those variables' values: a run uses the output only when the
//! templates are the embedded ones and its context gives the same values. Anything that does
//! not render here is left to be rendered, and reported, at run time.

use std::collections::BTreeMap;
use std::error::Error;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use minijinja::value::Serde;
use minijinja::{Environment, Value};

#[allow(dead_code)]
#[path = "src/render/scalar.rs"]
mod scalar;

/// The only kind a pre-rendered template may produce.
const CRD: (&str, &str) = ("apiextensions.k8s.io/v1", "CustomResourceDefinition");

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo:rerun-if-changed=stacks");
    println!("cargo:rerun-if-changed=templates");
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    let mut code = String::from("&[\n");
    for (index, entry) in prerender(Path::new("templates"), Path::new("stacks"))
        .into_iter()
        .enumerate()
    {
        let text = format!("prerendered-{index}.yaml");
        let documents = format!("prerendered-{index}.json");
        fs::write(out.join(&text), &entry.text)?;
        fs::write(out.join(&documents), &entry.documents)?;
        let inputs: Vec<String> = entry
            .inputs
            .iter()
            .map(|(path, value)| format!("({path:?}, {value:?})"))
            .collect();
        writeln!(
            code,
            "    Prerendered {{ template: {:?}, inputs: &[{}], text: include_str!(concat!(env!(\"OUT_DIR\"), \"/{text}\")), documents: include_str!(concat!(env!(\"OUT_DIR\"), \"/{documents}\")) }},",
            entry.template,
            inputs.join(", "),
        )?;
    }
    code.push_str("]\n");
    fs::write(out.join("prerendered.rs"), code)?;
    Ok(())
}

/// A template's output for the default stack files.
struct Entry {
    /// `<stack>/<file>`.
    template: String,
    /// Each variable the template reads, as a dotted path, and its value as JSON (`None`
    /// for a variable the context does not hold, such as a macro's argument).
    inputs: Vec<(String, Option<String>)>,
    /// The output.
    text: String,
    /// Its documents that are not empty, as JSON: `[[index, object], ...]`.
    documents: String,
}

/// Every manifest template below `templates` that renders for its stack's default file and
/// yields CustomResourceDefinitions only.
fn prerender(templates: &Path, stacks: &Path) -> Vec<Entry> {
    let Ok(dirs) = fs::read_dir(templates) else {
        return Vec::new();
    };
    let mut stack_names: Vec<String> = dirs
        .flatten()
        .filter(|entry| entry.path().is_dir())
        .filter_map(|entry| entry.file_name().into_string().ok())
        .collect();
    stack_names.sort();
    let mut entries = Vec::new();
    for stack in stack_names {
        let Some(context) = stack_context(&stacks.join(format!("{stack}.yaml")), &stack) else {
            continue;
        };
        let Ok(files) = fs::read_dir(templates.join(&stack)) else {
            continue;
        };
        let mut names: Vec<String> = files
            .flatten()
            .filter_map(|entry| entry.file_name().into_string().ok())
            .filter(|name| name.ends_with(".yaml.j2"))
            .collect();
        names.sort();
        for name in names {
            let template = format!("{stack}/{name}");
            if let Some(entry) = render(templates, &template, &context) {
                entries.push(entry);
            }
        }
    }
    entries
}

/// What a template sees of its stack's default file: the stack's name, its namespace and
/// spec as written.
fn stack_context(file: &Path, stack: &str) -> Option<serde_json::Value> {
    let text = fs::read_to_string(file).ok()?;
    let yaml: serde_json::Value = serde_yaml::from_str(&text).ok()?;
    Some(serde_json::json!({
        "stack": stack,
        "namespace": yaml.get("namespace")?,
        "spec": yaml.get("spec")?,
    }))
}

/// The environment a run renders with (see `TemplateSet::environment`), without the
/// filters and functions that CRD templates have no use for: one that is used fails here.
fn environment(templates: &Path) -> Option<Environment<'static>> {
    let mut env = scalar::environment().ok()?;
    let root = templates.to_path_buf();
    env.set_loader(move |name| Ok(fs::read_to_string(root.join(name)).ok()));
    Some(env)
}

fn render(templates: &Path, name: &str, context: &serde_json::Value) -> Option<Entry> {
    let env = environment(templates)?;
    let template = env.get_template(name).ok()?;
    let mut paths: Vec<String> = template.undeclared_variables(true).into_iter().collect();
    paths.sort();
    let mut inputs = Vec::new();
    let mut restricted = serde_json::Value::Object(serde_json::Map::new());
    for path in paths {
        let value = lookup(context, &path);
        if let Some(value) = value {
            insert(&mut restricted, &path, value.clone());
        }
        inputs.push((path, value.map(ToString::to_string)));
    }
    let text = template.render(Value::from(Serde(&restricted))).ok()?;
    let mut documents = BTreeMap::new();
    for (index, document) in serde_yaml::Deserializer::from_str(&text).enumerate() {
        let value: serde_json::Value = serde::Deserialize::deserialize(document).ok()?;
        if value.is_null() {
            continue;
        }
        let is_crd = value.get("apiVersion").and_then(serde_json::Value::as_str) == Some(CRD.0)
            && value.get("kind").and_then(serde_json::Value::as_str) == Some(CRD.1);
        if !is_crd {
            return None;
        }
        documents.insert(index, value);
    }
    if documents.is_empty() {
        return None;
    }
    let documents: Vec<(usize, serde_json::Value)> = documents.into_iter().collect();
    Some(Entry {
        template: name.to_owned(),
        inputs,
        text,
        documents: serde_json::to_string(&documents).ok()?,
    })
}

/// The value at the dotted `path` of `value`.
fn lookup<'a>(value: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {
    path.split('.').try_fold(value, |value, key| value.get(key))
}

/// Sets the value at the dotted `path` of `target`, creating the maps on the way.
fn insert(target: &mut serde_json::Value, path: &str, value: serde_json::Value) {
    let mut keys: Vec<&str> = path.split('.').collect();
    let Some(last) = keys.pop() else { return };
    let mut current = target;
    for key in keys {
        let serde_json::Value::Object(map) = current else {
            return;
        };
        current = map
            .entry(key)
            .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
    }
    if let serde_json::Value::Object(map) = current {
        map.insert(last.to_owned(), value);
    }
}
