//! Rebuilds the binary when the embedded stack files or templates change (`include_dir!`
//! cannot tell cargo about them on stable Rust), and renders once, here, every template whose
//! output for the default stack files depends only on what this script can see: the stack's
//! name, its namespace and spec as written, the data files beside the templates (the
//! Grafana dashboards, the CustomResourceDefinitions), and the placeholders of the slots
//! (generated material that only bootstrap fills in). Rendering and parsing those is most of
//! a render's work, and their output is the same on every run.
//!
//! Each template is rendered with a context of only the variables it and the templates it
//! imports or includes read (so that a variable read but not declared fails the render here
//! instead of going unnoticed), and written out with those variables' values and the slots it
//! asked for: a run uses the output only when the templates are the embedded ones, its
//! context gives the same values and its slots are placeholders. Anything that does not
//! render here (a template that reads the workloads, the cluster or other stacks) is left to
//! be rendered, and reported, at run time.

use std::collections::BTreeMap;
use std::error::Error;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use minijinja::value::Serde;
use minijinja::{Environment, Value};

/// The crate's modules that render as a run does, at the paths they have in the crate (which
/// is how they name each other).
#[allow(dead_code)]
mod src {
    pub mod render {
        pub mod filters;
        pub mod scalar;
        pub mod slots;
    }
    pub mod yaml {
        pub mod emit;
    }
}
use src::{render, yaml};

use render::slots::Slots;

/// The context variable holding the data files. It is not among a template's recorded
/// inputs: a run uses this script's output only with the embedded templates, whose data files
/// are the ones read here.
const FILES: &str = "files";

/// Jinja that gives a value where a variable is undefined. A template that imports or includes
/// a template using it is not rendered here. The variables an import reads are recorded as
/// minijinja finds them in its text; one reached another way (through a macro's caller, say)
/// would not be, and where a fallback stands it would not fail the render here but quietly
/// take the fallback, which a run that defines it must not reuse.
const FALLBACKS: [&str; 4] = ["is defined", "is undefined", "| default", "|default"];

fn main() -> Result<(), Box<dyn Error>> {
    // This script is obsboot-core's (crates/core), whose files are at the workspace's root.
    let root = Path::new(&std::env::var("CARGO_MANIFEST_DIR")?).join("../..");
    let (templates, stacks) = (root.join("templates"), root.join("stacks"));
    println!("cargo:rerun-if-changed={}", stacks.display());
    println!("cargo:rerun-if-changed={}", templates.display());
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    let mut code = String::from("&[\n");
    for (index, entry) in prerender(&templates, &stacks).into_iter().enumerate() {
        let text = format!("prerendered-{index}.yaml");
        let documents = format!("prerendered-{index}.json");
        fs::write(out.join(&text), &entry.text)?;
        fs::write(out.join(&documents), &entry.documents)?;
        let inputs: Vec<String> = entry
            .inputs
            .iter()
            .map(|(path, value)| format!("({path:?}, {value:?})"))
            .collect();
        let mut strings = Vec::new();
        for (number, (document, pointer, string)) in entry.strings.iter().enumerate() {
            let file = format!("prerendered-{index}-{number}.txt");
            fs::write(out.join(&file), string)?;
            strings.push(format!(
                "({document}, {pointer:?}, include_str!(concat!(env!(\"OUT_DIR\"), \"/{file}\")))"
            ));
        }
        let slots: Vec<String> = entry
            .slots
            .iter()
            .map(|(name, service)| format!("({name:?}, {service:?})"))
            .collect();
        writeln!(
            code,
            "    Prerendered {{ template: {:?}, inputs: &[{}], slots: &[{}], text: include_str!(concat!(env!(\"OUT_DIR\"), \"/{text}\")), documents: include_str!(concat!(env!(\"OUT_DIR\"), \"/{documents}\")), strings: &[{}] }},",
            entry.template,
            inputs.join(", "),
            slots.join(", "),
            strings.join(", "),
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
    /// The slots it asked for, as it names them: `slot(name, service)`.
    slots: Vec<(String, Option<String>)>,
    /// The output.
    text: String,
    /// Its documents that are not empty, as JSON: `[[index, object], ...]`, with the long
    /// strings (see [`LONG_STRING`]) left empty.
    documents: String,
    /// The long strings: the position of their document in `documents`, their JSON pointer
    /// in it, and the text.
    strings: Vec<(usize, String, String)>,
}

/// Strings at least this long (the Grafana dashboards, a few descriptions) are kept out of
/// the documents' JSON and included as they are: a run then copies them rather than
/// parsing them (the dashboards, JSON in JSON, are mostly escapes).
const LONG_STRING: usize = 2048;

/// Every manifest template below `templates` that renders for its stack's default file with
/// what this script can see.
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
        let dir = templates.join(&stack);
        let Some(context) = stack_context(&stacks.join(format!("{stack}.yaml")), &stack, &dir)
        else {
            continue;
        };
        let Ok(files) = fs::read_dir(&dir) else {
            continue;
        };
        let mut names: Vec<String> = files
            .flatten()
            .filter_map(|entry| entry.file_name().into_string().ok())
            .filter(|name| name.ends_with(".yaml.j2"))
            .collect();
        names.sort();
        for name in names {
            let Some(with_imports) = named(templates, &stack, &name) else {
                continue;
            };
            if uses_fallbacks(templates, &with_imports) {
                continue;
            }
            if let Some(entry) = render(templates, &with_imports, &context) {
                entries.push(entry);
            }
        }
    }
    entries
}

/// What a template sees of its stack's default file: the stack's name, its namespace and
/// spec as written, and the data files of its templates directory `dir` (as
/// `TemplateSet::data_files` gives them: every file that is not a template, by its path below
/// `dir`). `None` where a JSON data file does not parse: the run reports it.
fn stack_context(file: &Path, stack: &str, dir: &Path) -> Option<serde_json::Value> {
    let text = fs::read_to_string(file).ok()?;
    let yaml: serde_json::Value = serde_yaml::from_str(&text).ok()?;
    let mut files = serde_json::Map::new();
    data_files(dir, "", &mut files)?;
    Some(serde_json::json!({
        "stack": stack,
        "namespace": yaml.get("namespace")?,
        "spec": yaml.get("spec")?,
        FILES: files,
    }))
}

/// Adds the files below `dir` that are not templates to `files`, keyed `<prefix><name>`.
fn data_files(
    dir: &Path,
    prefix: &str,
    files: &mut serde_json::Map<String, serde_json::Value>,
) -> Option<()> {
    for entry in fs::read_dir(dir).ok()?.flatten() {
        let name = entry.file_name().into_string().ok()?;
        let path = entry.path();
        if path.is_dir() {
            data_files(&path, &format!("{prefix}{name}/"), files)?;
        } else if !is_template(&name) {
            let text = fs::read_to_string(&path).ok()?;
            if name.to_ascii_lowercase().ends_with(".json") {
                serde_json::from_str::<serde::de::IgnoredAny>(&text).ok()?;
            }
            files.insert(format!("{prefix}{name}"), serde_json::Value::String(text));
        }
    }
    Some(())
}

/// Whether the file `name` is a template, as a run tells (`TemplateSet`: a `.j2` suffix).
fn is_template(name: &str) -> bool {
    Path::new(name).extension().is_some_and(|ext| ext == "j2")
}

/// Whether a template that `named[0]` names (`named[1..]`, see [`named`]) gives a value where
/// a variable is undefined (see [`FALLBACKS`]). Those the template names are what matters:
/// the variables they read are recorded only where they read them without a fallback; the
/// template's own are recorded either way.
fn uses_fallbacks(templates: &Path, named: &[String]) -> bool {
    named.iter().skip(1).any(|other| {
        fs::read_to_string(templates.join(other)).map_or(true, |text| {
            FALLBACKS.iter().any(|fallback| text.contains(fallback))
        })
    })
}

/// The template `<stack>/<name>`, first, and the templates of its stack it names (imports or
/// includes), at any depth, by `<stack>/<file>`; `None` where one cannot be read.
fn named(templates: &Path, stack: &str, name: &str) -> Option<Vec<String>> {
    let others: Vec<String> = fs::read_dir(templates.join(stack))
        .ok()?
        .flatten()
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter(|file| is_template(file))
        .map(|file| format!("{stack}/{file}"))
        .collect();
    let mut seen = vec![format!("{stack}/{name}")];
    let mut index = 0;
    while let Some(current) = seen.get(index).cloned() {
        let text = fs::read_to_string(templates.join(&current)).ok()?;
        for other in &others {
            if text.contains(other.as_str()) && !seen.contains(other) {
                seen.push(other.clone());
            }
        }
        index += 1;
    }
    Some(seen)
}

/// The environment a run renders with (see `TemplateSet::environment`), its slots those of
/// a render: placeholders.
fn environment(templates: &Path, slots: &Slots) -> Option<Environment<'static>> {
    let mut env = render::scalar::environment().ok()?;
    render::filters::add(&mut env, slots);
    let root = templates.to_path_buf();
    env.set_loader(move |name| Ok(fs::read_to_string(root.join(name)).ok()));
    Some(env)
}

/// Renders `named[0]` (see [`named`]) with `context`, recording the variables it and the
/// templates it names read.
fn render(templates: &Path, named: &[String], context: &serde_json::Value) -> Option<Entry> {
    let name = named.first()?;
    let slots = Slots::default();
    let env = environment(templates, &slots)?;
    let template = env.get_template(name).ok()?;
    let mut paths = std::collections::BTreeSet::new();
    for each in named {
        paths.extend(env.get_template(each).ok()?.undeclared_variables(true));
    }
    let mut inputs = Vec::new();
    let mut restricted = serde_json::Value::Object(serde_json::Map::new());
    for path in paths {
        let value = lookup(context, &path);
        if let Some(value) = value {
            insert(&mut restricted, &path, value.clone());
        }
        if path == FILES || path.starts_with(&format!("{FILES}.")) {
            continue;
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
        // Whatever is not an object is left for the run to report where it is.
        if !value.is_object() {
            return None;
        }
        documents.insert(index, value);
    }
    if documents.is_empty() {
        return None;
    }
    let mut documents: Vec<(usize, serde_json::Value)> = documents.into_iter().collect();
    let mut strings = Vec::new();
    for (position, (_, document)) in documents.iter_mut().enumerate() {
        take_long_strings(document, &mut String::new(), &mut |pointer, string| {
            strings.push((position, pointer.to_owned(), string));
        });
    }
    Some(Entry {
        template: name.to_owned(),
        inputs,
        slots: slots
            .used()
            .iter()
            .map(|slot| {
                let (name, service) = slot.name();
                (name.to_owned(), service.map(str::to_owned))
            })
            .collect(),
        text,
        documents: serde_json::to_string(&documents).ok()?,
        strings,
    })
}

/// Empties every string of `value` of [`LONG_STRING`] bytes or more, handing it to `take`
/// with its JSON pointer (RFC 6901; `pointer` is where `value` is).
fn take_long_strings(
    value: &mut serde_json::Value,
    pointer: &mut String,
    take: &mut impl FnMut(&str, String),
) {
    let depth = pointer.len();
    match value {
        serde_json::Value::String(string) if string.len() >= LONG_STRING => {
            take(pointer, std::mem::take(string));
        }
        serde_json::Value::Object(map) => {
            for (key, child) in map {
                pointer.push('/');
                pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
                take_long_strings(child, pointer, take);
                pointer.truncate(depth);
            }
        }
        serde_json::Value::Array(items) => {
            for (index, child) in items.iter_mut().enumerate() {
                let _ = write!(pointer, "/{index}");
                take_long_strings(child, pointer, take);
                pointer.truncate(depth);
            }
        }
        _ => {}
    }
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
