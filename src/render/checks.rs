//! Checks on rendered objects before anything is printed: known kind and scope, valid
//! names, labels and namespaces, no duplicates, and every field inside the kind's schema.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::Value;

use super::kinds::{self, NameRule};
use super::labels::{MANAGED_BY, STACK_LABEL};
use super::object::{Object, ObjectKey, field_path};
use super::trail::{Step, Trail};
use crate::diagnostic::Diagnostic;
use crate::field_path::FieldPath;
use crate::names;

/// Namespaces that exist on every cluster.
const SYSTEM_NAMESPACES: &[&str] = &["default", "kube-node-lease", "kube-public", "kube-system"];

/// How many schema violations to report per object before moving on.
const MAX_PER_OBJECT: usize = 5;

/// What the checks read of a CustomResourceDefinition: its names, scope and versions, not
/// the schemas, which are most of its size (the typed round trip checks those).
#[derive(Deserialize)]
struct CrdView {
    spec: CrdSpecView,
}

#[derive(Deserialize)]
struct CrdSpecView {
    group: String,
    names: CrdNamesView,
    scope: String,
    versions: Vec<CrdVersionView>,
}

#[derive(Deserialize)]
struct CrdNamesView {
    plural: String,
    kind: String,
}

#[derive(Deserialize)]
struct CrdVersionView {
    name: String,
    served: bool,
}

/// A kind defined by a rendered CRD.
struct CustomKind {
    versions: Vec<String>,
    namespaced: bool,
}

/// Checks `objects`; `namespaces` are the namespaces the platform creates (rendered or not).
/// Returns the rank of each object's kind, for ordering.
pub fn check(
    objects: &[Object],
    namespaces: &BTreeSet<String>,
) -> Result<Vec<usize>, Vec<Diagnostic>> {
    let mut errors = Vec::new();
    let custom = custom_kinds(objects, &mut errors);
    // Reading each object as its type is the bulk of the checks (CRD schemas above all),
    // and each object's is independent of the others'. The documents rendered when the
    // binary was built are the same on every run, and a test reads them as their types
    // (`prerendered_documents_fit_their_schemas`): they are not read again.
    // The same goes for their labels and images, which walk the whole object.
    let checked = crate::parallel::map(objects, |object| {
        let builtin = kinds::builtin(object.api_version(), &object.key.kind);
        if object.is_prerendered() {
            return (
                builtin.map(|(rank, info)| (rank, info, Ok(Vec::new()))),
                Vec::new(),
            );
        }
        let builtin = builtin.map(|(rank, info)| (rank, info, (info.schema_check)(&object.value)));
        (builtin, content(object))
    });
    let mut ranks = Vec::with_capacity(objects.len());
    let mut seen: BTreeMap<ObjectKey, usize> = BTreeMap::new();
    for (index, (builtin, content)) in checked.into_iter().enumerate() {
        let object = &objects[index];
        let (rank, rule, is_namespaced) = match builtin {
            Some((rank, info, found)) => {
                schema(object, info, found, &mut errors);
                (rank, info.names, info.namespaced)
            }
            None => match custom.get(&(object.key.group.clone(), object.key.kind.clone())) {
                Some(kind)
                    if kind
                        .versions
                        .iter()
                        .any(|v| object.api_version().ends_with(&format!("/{v}"))) =>
                {
                    (kinds::CUSTOM_RANK, NameRule::Subdomain, kind.namespaced)
                }
                _ => {
                    errors.push(unknown_kind(object, &custom));
                    ranks.push(kinds::CUSTOM_RANK);
                    continue;
                }
            },
        };
        ranks.push(rank);
        let object = &objects[index];
        check_identity(object, rule, is_namespaced, namespaces, &mut errors);
        errors.extend(content);
        check_apply_policy(object, &mut errors);
        let key = object.key.clone();
        match seen.get(&key) {
            Some(first) => errors.push(
                Diagnostic::new(
                    object
                        .origin
                        .at(&FieldPath::root().key("metadata").key("name")),
                    format!("{key} is rendered twice"),
                )
                .note(
                    objects[*first]
                        .origin
                        .at(&FieldPath::root().key("metadata").key("name")),
                    "first rendered here",
                )
                .help("give one of them another name, or remove it"),
            ),
            None => {
                seen.insert(key, index);
            }
        }
    }
    if errors.is_empty() {
        Ok(ranks)
    } else {
        Err(errors)
    }
}

fn custom_kinds(
    objects: &[Object],
    errors: &mut Vec<Diagnostic>,
) -> BTreeMap<(String, String), CustomKind> {
    let mut custom = BTreeMap::new();
    for object in objects.iter().filter(|o| {
        o.key.kind == "CustomResourceDefinition" && o.key.group == "apiextensions.k8s.io"
    }) {
        let Ok(crd) = object.typed::<CrdView>() else {
            continue; // reported by the schema check
        };
        let expected = format!("{}.{}", crd.spec.names.plural, crd.spec.group);
        if object.key.name != expected {
            let name = FieldPath::root().key("metadata").key("name");
            errors.push(
                Diagnostic::new(
                    object.origin.at(&name),
                    format!("a CustomResourceDefinition must be named <plural>.<group>, here \"{expected}\""),
                )
                .field(name.to_string()),
            );
        }
        custom.insert(
            (crd.spec.group.clone(), crd.spec.names.kind.clone()),
            CustomKind {
                versions: crd
                    .spec
                    .versions
                    .iter()
                    .filter(|v| v.served)
                    .map(|v| v.name.clone())
                    .collect(),
                namespaced: crd.spec.scope == "Namespaced",
            },
        );
    }
    custom
}

fn unknown_kind(object: &Object, custom: &BTreeMap<(String, String), CustomKind>) -> Diagnostic {
    let path = FieldPath::root().key("apiVersion");
    let at = object.origin.at(&path);
    let (kind, api_version) = (&object.key.kind, object.api_version());
    if let Some(served) = kinds::served_as(kind) {
        return Diagnostic::new(
            at,
            format!("{kind} is served as {served}, not {api_version}"),
        )
        .field("apiVersion");
    }
    if let Some(defined) = custom.get(&(object.key.group.clone(), kind.clone())) {
        return Diagnostic::new(
            at,
            format!(
                "the CustomResourceDefinition for {kind} serves versions {}, not {api_version}",
                defined.versions.join(", ")
            ),
        )
        .field("apiVersion");
    }
    Diagnostic::new(
        at,
        format!(
            "unknown kind {kind} ({api_version}): neither a built-in kind obsboot renders nor defined by a rendered CustomResourceDefinition"
        ),
    )
}

/// Reports what the kind's schema check found in `object`.
fn schema(
    object: &Object,
    info: &kinds::KindInfo,
    found: Result<Vec<FieldPath>, kinds::SchemaError>,
    errors: &mut Vec<Diagnostic>,
) {
    match found {
        Err(err) => {
            let path = field_path(err.path());
            errors.push(
                Diagnostic::new(
                    object.origin.at(&path),
                    format!("{}: {}", object.key, err.inner()),
                )
                .field(path.to_string()),
            );
        }
        Ok(unknown) => {
            for path in unknown.iter().take(MAX_PER_OBJECT) {
                errors.push(
                    Diagnostic::new(
                        object.origin.at(path),
                        format!(
                            "{}: field not declared in the {} {} schema",
                            object.key, info.api_version, info.kind
                        ),
                    )
                    .field(path.to_string()),
                );
            }
        }
    }
}

fn check_identity(
    object: &Object,
    rule: NameRule,
    is_namespaced: bool,
    namespaces: &BTreeSet<String>,
    errors: &mut Vec<Diagnostic>,
) {
    let metadata = FieldPath::root().key("metadata");
    if let Err(why) = rule.check(&object.key.name) {
        let path = metadata.key("name");
        errors.push(
            Diagnostic::new(
                object.origin.at(&path),
                format!(
                    "invalid {} name \"{}\": {why}",
                    object.key.kind, object.key.name
                ),
            )
            .field(path.to_string()),
        );
    }
    match (&object.key.namespace, is_namespaced) {
        (None, true) => errors.push(
            Diagnostic::new(object.origin.at(&metadata), format!("{} is namespaced but has no metadata.namespace", object.key))
                .help("set `namespace: {{ namespace }}` in the template; kubectl would otherwise use whatever namespace is current"),
        ),
        (Some(_), false) => errors.push(
            Diagnostic::new(
                object.origin.at(&metadata.key("namespace")),
                format!("{} is cluster-scoped and takes no namespace", object.key),
            )
            .field("metadata.namespace"),
        ),
        (Some(namespace), true) if !namespaces.contains(namespace) && !SYSTEM_NAMESPACES.contains(&namespace.as_str()) => errors.push(
            Diagnostic::new(object.origin.at(&metadata.key("namespace")), format!("namespace \"{namespace}\" is not created by any stack"))
                .field("metadata.namespace")
                .help(format!("use a stack's namespace or one of {}", SYSTEM_NAMESPACES.join(", "))),
        ),
        _ => {}
    }
}

/// What the object's own content breaks of the label and image syntax; independent of the
/// other objects.
pub(super) fn content(object: &Object) -> Vec<Diagnostic> {
    let mut errors = Vec::new();
    check_labels(object, &mut errors);
    check_images(object, &mut errors);
    errors
}

/// Calls `visit` for every key of every object inside `value`, depth first; `visit` returns
/// whether it dealt with the entry (and the walk should not descend into it).
fn walk_entries<'a>(
    value: &'a Value,
    trail: &mut Trail<'a>,
    visit: &mut impl FnMut(&Trail<'a>, &'a str, &'a Value) -> bool,
) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                if !visit(trail, key, child) {
                    trail.within(Step::Key(key), |trail| walk_entries(child, trail, visit));
                }
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                trail.within(Step::Index(index), |trail| walk_entries(item, trail, visit));
            }
        }
        _ => {}
    }
}

/// Checks label and annotation syntax wherever a `labels`, `matchLabels` or `annotations`
/// map appears, and that templates leave the ownership labels to obsboot.
fn check_labels(object: &Object, errors: &mut Vec<Diagnostic>) {
    walk_entries(
        &object.value,
        &mut Trail::default(),
        &mut |trail, key, child| {
            // Labels live in object metadata and label selectors; elsewhere (a CRD's schema,
            // say) the same words are ordinary field names.
            let parent = trail.last_key().unwrap_or_default();
            let in_place = match key {
                "labels" | "annotations" => parent == "metadata",
                "matchLabels" => parent.to_ascii_lowercase().ends_with("selector"),
                _ => false,
            };
            let (true, Value::Object(entries)) = (in_place, child) else {
                return false;
            };
            for (name, entry) in entries {
                let problem = names::qualified_name(name)
                    .err()
                    .map(|why| format!("invalid key \"{name}\": {why}"))
                    .or_else(|| match (key, entry) {
                        ("annotations", _) => None,
                        (_, Value::String(text)) => names::label_value(text)
                            .err()
                            .map(|why| format!("invalid label value \"{text}\": {why}")),
                        (_, other) => Some(format!("label values are strings, found {other}")),
                    });
                let owned = key == "labels"
                    && trail.is_at("metadata")
                    && [MANAGED_BY, STACK_LABEL].contains(&name.as_str());
                let at = || trail.path_to(key).key(name);
                if let Some(problem) = problem {
                    errors.push(
                        Diagnostic::new(
                            object.origin.at(&at()),
                            format!("{}: {problem}", object.key),
                        )
                        .field(at().to_string()),
                    );
                } else if owned {
                    errors.push(
                        Diagnostic::new(
                            object.origin.at(&at()),
                            format!("{}: the label {name} is set by obsboot", object.key),
                        )
                        .field(at().to_string())
                        .help("remove it from the template"),
                    );
                }
            }
            true
        },
    );
}

/// Checks every container image reference, wherever a `containers` or `initContainers` list
/// appears.
fn check_images(object: &Object, errors: &mut Vec<Diagnostic>) {
    walk_entries(
        &object.value,
        &mut Trail::default(),
        &mut |trail, key, child| {
            let ("containers" | "initContainers", Value::Array(containers)) = (key, child) else {
                return false;
            };
            for (index, container) in containers.iter().enumerate() {
                if let Some(image) = container.get("image").and_then(Value::as_str)
                    && let Err(why) = names::image_reference(image)
                {
                    let at = trail.path_to(key).index(index).key("image");
                    errors.push(
                        Diagnostic::new(
                            object.origin.at(&at),
                            format!("{}: invalid image \"{image}\": {why}", object.key),
                        )
                        .field(at.to_string()),
                    );
                }
            }
            true
        },
    );
}

/// How bootstrap applies an object, if not as usual: `if-absent` (only where the cluster has
/// no object of that name, such as CRDs another owner may have installed).
pub const APPLY_POLICY: &str = "obsboot.dev/apply";

fn check_apply_policy(object: &Object, errors: &mut Vec<Diagnostic>) {
    let value = &object.value["metadata"]["annotations"][APPLY_POLICY];
    if !value.is_null() && value != "if-absent" {
        let at = FieldPath::root()
            .key("metadata")
            .key("annotations")
            .key(APPLY_POLICY);
        errors.push(
            Diagnostic::new(
                object.origin.at(&at),
                format!("{}: unknown apply policy {value}", object.key),
            )
            .field(at.to_string())
            .help("the one policy is \"if-absent\"; leave the annotation out to apply as usual"),
        );
    }
}
