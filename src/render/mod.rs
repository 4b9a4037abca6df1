//! Rendering, a pure offline step: stacks + templates → checked objects with placement,
//! exposure and ownership applied, in apply order, plus the ingress plan.

mod checks;
#[cfg(test)]
mod fidelity;
mod filters;
mod kinds;
mod labels;
mod namespaces;
mod object;
mod placement;
mod pods;
mod prerendered;
mod references;
pub(crate) mod scalar;
mod slots;
mod templates;
mod trail;

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::PathBuf;

use minijinja::value::{Serde, Value as Context};
use serde::Serialize;

pub use labels::{MANAGED_BY, MANAGER, STACK_LABEL, STACKS_ANNOTATION};
pub use object::{Object, ObjectKey, Origin};
pub use slots::{Slot, Slots};
pub use templates::TemplateSet;

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::plan::{IngressPlan, Plan};
use crate::stack::{Platform, SecretSpec, Stack, StackKind, Workload};

/// Why rendering failed.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The templates directory could not be read.
    #[error("failed to read templates from \"{}\"", path.display())]
    ReadTemplates {
        /// What could not be read.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A template file name that is not a regular file after following symlinks.
    #[error(
        "template file \"{}\" is {what}; a template must be a regular file or a symlink to one",
        path.display()
    )]
    TemplateNotRegular {
        /// The entry.
        path: PathBuf,
        /// What it is instead.
        what: &'static str,
    },
    /// A template failed, or what it rendered is not a valid set of objects.
    #[error("{0}")]
    Invalid(Diagnostics),
}

impl From<Diagnostic> for RenderError {
    fn from(diagnostic: Diagnostic) -> Self {
        Self::Invalid(Diagnostics(vec![diagnostic]))
    }
}

impl From<Vec<Diagnostic>> for RenderError {
    fn from(diagnostics: Vec<Diagnostic>) -> Self {
        Self::Invalid(Diagnostics(diagnostics))
    }
}

/// Renders the `selected` stacks of `platform` with `templates`; `slots` fills in material
/// generated at bootstrap (placeholders when it has none).
pub fn render(
    platform: &Platform,
    selected: &[&Stack],
    templates: &TemplateSet,
    slots: &Slots,
) -> Result<Plan, RenderError> {
    let mut objects = namespaces::build(&platform.stacks, selected)?;
    let env = templates.environment(slots)?;
    let contexts = selected
        .iter()
        .map(|stack| context(platform, stack, templates))
        .collect::<Result<Vec<_>, _>>()?;
    let jobs: Vec<Job<'_>> = selected
        .iter()
        .zip(&contexts)
        .flat_map(|(stack, context)| {
            templates
                .manifests(stack.kind)
                .map(move |name| Job::Render(name, context, stack.kind))
        })
        .chain(
            selected
                .iter()
                .flat_map(|stack| templates.macros(stack.kind).map(Job::Compile)),
        )
        .collect();
    // The CRDs and the dashboards are the largest by far. The macro files go first: the
    // manifests that import them then find them compiled, rather than each thread compiling
    // its own copy at once. Results (and so the first error reported) keep the jobs' order.
    let rendered = crate::parallel::map_heaviest_first(
        &jobs,
        |job| match *job {
            Job::Render(name, _, _) => templates.weight(name),
            Job::Compile(_) => usize::MAX,
        },
        |job| match *job {
            Job::Render(name, context, stack) => {
                templates.render(&env, slots, name, context, stack)
            }
            Job::Compile(name) => templates.compile(&env, name).map(|()| Vec::new()),
        },
    );
    for result in rendered {
        objects.extend(result?);
    }
    let known_namespaces: BTreeSet<String> = platform
        .stacks
        .iter()
        .map(|s| s.namespace.to_string())
        .collect();
    let ranks = checks::check(&objects, &known_namespaces)?;
    // Each pod template is read as its typed struct once, edited by placement and the
    // reference checks, and written back once.
    let mut owners = pods::Owners::read(&objects);
    let errors = placement::apply(&objects, &mut owners, selected, &platform.cluster);
    if !errors.is_empty() {
        return Err(errors.into());
    }
    let secrets: Vec<SecretSpec> = selected
        .iter()
        .flat_map(|stack| stack.spec.secrets(stack.namespace.as_str()))
        .collect();
    let errors = references::check(&objects, &mut owners, &secrets);
    if !errors.is_empty() {
        return Err(errors.into());
    }
    let errors = owners.write(&mut objects);
    if !errors.is_empty() {
        return Err(errors.into());
    }
    for object in &mut objects {
        labels::own(object).map_err(|err| {
            Diagnostic::new(
                object.origin.at(&crate::field_path::FieldPath::root()),
                format!("failed to label {}: {err}", object.key),
            )
        })?;
    }
    let mut ranked: Vec<(usize, Object)> = ranks.into_iter().zip(objects).collect();
    ranked.sort_by(|(rank_a, a), (rank_b, b)| order(a, *rank_a).cmp(&order(b, *rank_b)));
    Ok(Plan {
        stacks: selected.iter().map(|stack| stack.kind).collect(),
        objects: ranked.into_iter().map(|(_, object)| object).collect(),
        ingress: IngressPlan::derive(selected),
        secrets,
        slots: slots.used(),
    })
}

/// A step of rendering, independent of the others.
enum Job<'a> {
    /// Render a manifest template with its stack's context.
    Render(&'a str, &'a Context, StackKind),
    /// Compile a macro file.
    Compile(&'a str),
}

/// Apply order: namespaces, then CRDs, then by phase, kind, namespace and name.
fn order(object: &Object, rank: usize) -> impl Ord + '_ {
    let class = match (object.key.group.as_str(), object.key.kind.as_str()) {
        ("", "Namespace") => 0,
        ("apiextensions.k8s.io", "CustomResourceDefinition") => 1,
        _ => 2,
    };
    (
        class,
        object.stack.phase(),
        rank,
        &object.key.namespace,
        &object.key.name,
    )
}

/// What a stack's templates see.
fn context(
    platform: &Platform,
    stack: &Stack,
    templates: &TemplateSet,
) -> Result<Context, Diagnostic> {
    #[derive(Serialize)]
    struct StackRef<'a> {
        namespace: &'a str,
        spec: &'a crate::stack::Spec,
    }
    let workloads: BTreeMap<&str, &Workload> = stack
        .workloads
        .iter()
        .map(|w| (w.name.as_str(), w))
        .collect();
    let stacks: BTreeMap<&str, StackRef<'_>> = platform
        .stacks
        .iter()
        .map(|s| {
            (
                s.name(),
                StackRef {
                    namespace: s.namespace.as_str(),
                    spec: &s.spec,
                },
            )
        })
        .collect();
    Ok(minijinja::context! {
        stack => stack.name(),
        namespace => stack.namespace.as_str(),
        spec => Context::from(Serde(&stack.spec)),
        workloads => Context::from(Serde(&workloads)),
        cluster => Context::from(Serde(&platform.cluster)),
        stacks => Context::from(Serde(&stacks)),
        files => templates.data_files(stack.kind)?,
    })
}
