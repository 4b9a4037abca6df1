//! The output of the templates that build.rs renders once per build for the default stack
//! files (those that read only the stack's name, namespace, spec and data files: the CRDs,
//! the dashboards, Linkerd's control plane, …). A run whose context gives such a template the
//! same values, and whose slots are placeholders as they were at build time, takes its
//! documents from here instead of rendering and parsing them again, and the checks do not
//! read them as their types again (a test does).

use minijinja::Value as Context;
use serde_json::Value;

use super::slots::Slots;

/// One template's output, rendered at build time.
pub struct Prerendered {
    /// `<stack>/<file>`.
    pub template: &'static str,
    /// Each variable the template reads (a dotted path) with its value as JSON, `None` where
    /// the context it was rendered with has none.
    pub inputs: &'static [(&'static str, Option<&'static str>)],
    /// The slots it asked for (`slot(name, service)`), given their placeholders.
    pub slots: &'static [(&'static str, Option<&'static str>)],
    /// The output.
    pub text: &'static str,
    /// The output's non-empty documents as JSON, `[[index, object], ...]`, with their long
    /// strings empty.
    pub documents: &'static str,
    /// The long strings, included as they are (copying them is much faster than parsing
    /// them out of JSON): the position of their document in `documents`, their JSON pointer
    /// in it and the text.
    pub strings: &'static [(usize, &'static str, &'static str)],
}

static PRERENDERED: &[Prerendered] = include!(concat!(env!("OUT_DIR"), "/prerendered.rs"));

/// The output of the embedded template `name` and its non-empty documents by index, if it
/// was rendered at build time with the values `context` gives it and `slots` has no value for
/// the slots it asked for (which are then recorded as used, as a render would).
pub fn lookup(
    name: &str,
    context: &Context,
    slots: &Slots,
) -> Option<(&'static str, Vec<(usize, Value)>)> {
    let entry = PRERENDERED.iter().find(|entry| {
        entry.template == name
            && entry
                .inputs
                .iter()
                .all(|&(path, value)| input(context, path).as_deref() == value)
    })?;
    if !slots.use_placeholders(entry.slots) {
        return None;
    }
    let mut documents: Vec<(usize, Value)> = serde_json::from_str(entry.documents).ok()?;
    for &(document, pointer, string) in entry.strings {
        let (_, value) = documents.get_mut(document)?;
        *value.pointer_mut(pointer)? = Value::String(string.to_owned());
    }
    Some((entry.text, documents))
}

/// The length of the embedded template `name`'s output rendered at build time, if it was.
pub fn output_len(name: &str) -> Option<usize> {
    PRERENDERED
        .iter()
        .find(|entry| entry.template == name)
        .map(|entry| entry.text.len())
}

/// The value at the dotted `path` of `context` as JSON; `None` where it is undefined.
fn input(context: &Context, path: &str) -> Option<String> {
    let mut value = context.clone();
    for key in path.split('.') {
        value = value.get_attr(key).ok().filter(|v| !v.is_undefined())?;
    }
    serde_json::to_string(&value).ok()
}
