//! What the cluster commands work on: the chosen stacks of a platform, with the templates
//! that render them.

use crate::plan::Plan;
use crate::render::{RenderError, Slots, TemplateSet, render};
use crate::stack::{Platform, SecretSpec, Spec, Stack, StackError};

/// The stacks a command works on.
pub struct Selection<'a> {
    /// Every stack defined, and the cluster.
    pub platform: &'a Platform,
    /// The chosen stacks, in apply order.
    pub stacks: Vec<&'a Stack>,
    /// The templates.
    pub templates: &'a TemplateSet,
}

impl<'a> Selection<'a> {
    /// The stacks of `platform` named in `names` (all when empty).
    pub fn new(
        platform: &'a Platform,
        names: &[String],
        templates: &'a TemplateSet,
    ) -> Result<Self, StackError> {
        Ok(Self {
            platform,
            stacks: platform.select(names)?,
            templates,
        })
    }

    /// Renders the chosen stacks; `slots` holds generated material (placeholders without).
    pub fn render(&self, slots: &Slots) -> Result<Plan, RenderError> {
        render(self.platform, &self.stacks, self.templates, slots)
    }

    /// The chosen stacks' names.
    pub fn names(&self) -> Vec<&'static str> {
        self.stacks.iter().map(|stack| stack.name()).collect()
    }

    /// The Secrets the chosen stacks need generated.
    pub fn secrets(&self) -> Vec<SecretSpec> {
        self.stacks
            .iter()
            .flat_map(|stack| stack.spec.secrets(stack.namespace.as_str()))
            .collect()
    }

    /// Whether the applications are meshed (Bookinfo's `mesh: true`): their pods must then
    /// carry the Linkerd proxy.
    pub fn meshes_apps(&self) -> bool {
        self.stacks
            .iter()
            .any(|stack| matches!(&stack.spec, Spec::Bookinfo(bookinfo) if bookinfo.mesh))
    }

    /// The installation's name (`cluster.yaml`'s `name`).
    pub fn installation(&self) -> &str {
        self.platform.cluster.name.as_str()
    }
}
