//! Objects that carry a pod template, read and written as their typed structs: each once
//! per render, however many steps (placement, references, checksums) look at it.

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::kinds::read;
use super::object::Object;
use crate::diagnostic::Diagnostic;
use crate::field_path::FieldPath;

/// The typed pod owners of a render's objects, by the objects' positions. Edits are written
/// back into the objects once, by [`Owners::write`], and only into those edited.
pub struct Owners(Vec<Option<(PodOwner, bool)>>);

impl Owners {
    /// Reads every object that carries a pod template.
    pub fn read(objects: &[Object]) -> Self {
        Self(crate::parallel::map(objects, |object| {
            PodOwner::read(object).map(|owner| (owner, false))
        }))
    }

    /// The owner read from the object at `index`.
    pub fn get(&self, index: usize) -> Option<&PodOwner> {
        self.0.get(index)?.as_ref().map(|(owner, _)| owner)
    }

    /// The owner read from the object at `index`, to edit; [`Owners::edited`] marks it for
    /// writing back.
    pub fn get_mut(&mut self, index: usize) -> Option<&mut PodOwner> {
        self.0.get_mut(index)?.as_mut().map(|(owner, _)| owner)
    }

    /// Marks the owner at `index` as edited.
    pub fn edited(&mut self, index: usize) {
        if let Some(Some((_, edited))) = self.0.get_mut(index) {
            *edited = true;
        }
    }

    /// Writes every edited owner back into its object.
    pub fn write(self, objects: &mut [Object]) -> Vec<Diagnostic> {
        let written = crate::parallel::map(&self.0, |owned| match owned {
            Some((owner, true)) => Some(owner.to_value()),
            _ => None,
        });
        let mut errors = Vec::new();
        for (object, written) in objects.iter_mut().zip(written) {
            match written {
                Some(Ok(value)) => object.value = value,
                Some(Err(err)) => errors.push(Diagnostic::new(
                    object.origin.at(&FieldPath::root()),
                    format!("failed to write {}: {err}", object.key),
                )),
                None => {}
            }
        }
        errors
    }
}

/// A rendered object that carries a pod template. Short-lived: read, edited, written back.
#[allow(clippy::large_enum_variant)]
pub enum PodOwner {
    /// A Deployment.
    Deployment(Deployment),
    /// A DaemonSet.
    DaemonSet(DaemonSet),
    /// A StatefulSet.
    StatefulSet(StatefulSet),
    /// A Job.
    Job(Job),
    /// A CronJob.
    CronJob(CronJob),
}

impl PodOwner {
    /// The kinds that carry a pod template.
    pub const KINDS: [&'static str; 5] =
        ["Deployment", "DaemonSet", "StatefulSet", "Job", "CronJob"];

    pub fn read(object: &Object) -> Option<Self> {
        match object.key.kind.as_str() {
            "Deployment" => read(&object.value).map(Self::Deployment),
            "DaemonSet" => read(&object.value).map(Self::DaemonSet),
            "StatefulSet" => read(&object.value).map(Self::StatefulSet),
            "Job" => read(&object.value).map(Self::Job),
            "CronJob" => read(&object.value).map(Self::CronJob),
            _ => None,
        }
    }

    /// The object as written back: its JSON.
    pub fn to_value(&self) -> Result<serde_json::Value, serde_json::Error> {
        match self {
            Self::Deployment(typed) => serde_json::to_value(typed),
            Self::DaemonSet(typed) => serde_json::to_value(typed),
            Self::StatefulSet(typed) => serde_json::to_value(typed),
            Self::Job(typed) => serde_json::to_value(typed),
            Self::CronJob(typed) => serde_json::to_value(typed),
        }
    }

    /// Where the pod spec sits in the object.
    pub fn pod_path(&self) -> FieldPath {
        let spec = FieldPath::root().key("spec");
        match self {
            Self::CronJob(_) => spec
                .key("jobTemplate")
                .key("spec")
                .key("template")
                .key("spec"),
            _ => spec.key("template").key("spec"),
        }
    }

    /// The pod spec.
    pub fn pod_spec(&mut self) -> Option<&mut PodSpec> {
        self.template()?.spec.as_mut()
    }

    /// The pod spec, to read.
    pub fn pod(&self) -> Option<&PodSpec> {
        self.template_ref()?.spec.as_ref()
    }

    /// The pod template, to read.
    pub fn template_ref(&self) -> Option<&PodTemplateSpec> {
        match self {
            Self::Deployment(d) => Some(&d.spec.as_ref()?.template),
            Self::DaemonSet(d) => Some(&d.spec.as_ref()?.template),
            Self::StatefulSet(s) => Some(&s.spec.as_ref()?.template),
            Self::Job(j) => Some(&j.spec.as_ref()?.template),
            Self::CronJob(c) => Some(&c.spec.as_ref()?.job_template.spec.as_ref()?.template),
        }
    }

    /// The pod template.
    pub fn template(&mut self) -> Option<&mut PodTemplateSpec> {
        match self {
            Self::Deployment(d) => Some(&mut d.spec.as_mut()?.template),
            Self::DaemonSet(d) => Some(&mut d.spec.as_mut()?.template),
            Self::StatefulSet(s) => Some(&mut s.spec.as_mut()?.template),
            Self::Job(j) => Some(&mut j.spec.as_mut()?.template),
            Self::CronJob(c) => Some(&mut c.spec.as_mut()?.job_template.spec.as_mut()?.template),
        }
    }

    /// The pod template's metadata, created if absent.
    pub fn pod_metadata(&mut self) -> Option<&mut ObjectMeta> {
        Some(
            self.template()?
                .metadata
                .get_or_insert_with(ObjectMeta::default),
        )
    }

    /// Replicas of a single-template workload that runs a fixed number of pods.
    pub fn replicas(&self) -> Option<i32> {
        match self {
            Self::Deployment(d) => Some(d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)),
            Self::StatefulSet(s) => Some(s.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)),
            _ => None,
        }
    }
}
