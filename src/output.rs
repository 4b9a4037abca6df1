//! The forms a plan is printed in: multi-document YAML with the ingress plan as a comment
//! header, one JSON document, or one file per stack.

use std::fmt::Write as _;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::plan::{IngressPlan, Plan};
use crate::render::{Object, Slot};
use crate::stack::{SecretSpec, StackKind};

/// The file `--out-dir` writes the ingress plan to.
pub const INGRESS_FILE: &str = "ingress-rules.yaml";

/// Why writing the output failed.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// An object or the ingress plan could not be serialized.
    #[error("failed to serialize the output")]
    Serialize(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A file could not be written.
    #[error("failed to write \"{}\"", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
}

/// `value` as a YAML document body.
fn yaml<T: Serialize>(value: &T) -> Result<String, OutputError> {
    let value = serde_json::to_value(value).map_err(|err| OutputError::Serialize(err.into()))?;
    let mut out = String::new();
    crate::yaml::emit::document(&mut out, &value);
    Ok(out)
}

/// Any report as one pretty-printed JSON document and a newline.
pub fn json<T: Serialize>(value: &T) -> Result<String, OutputError> {
    let mut text =
        serde_json::to_string_pretty(value).map_err(|err| OutputError::Serialize(err.into()))?;
    text.push('\n');
    Ok(text)
}

/// The whole plan as multi-document YAML, ready for `kubectl apply -f -`.
pub fn to_yaml(plan: &Plan) -> Result<String, OutputError> {
    Ok(yaml_parts(plan)?.concat())
}

/// [`to_yaml`] in pieces, the header and then each object's document, for writing out
/// without first copying them (half a megabyte for the platform) into one string.
pub fn yaml_parts(plan: &Plan) -> Result<Vec<String>, OutputError> {
    let names: Vec<&str> = plan.stacks.iter().map(|kind| kind.name()).collect();
    let mut out = format!(
        "# Rendered by obsboot {}: stacks {}; {} objects.\n#\n",
        env!("CARGO_PKG_VERSION"),
        names.join(", "),
        plan.objects.len()
    );
    out.push_str(&ingress_comment(&plan.ingress));
    out.push_str(&bootstrap_comment(&plan.secrets, &plan.slots));
    let objects: Vec<&Object> = plan.objects.iter().collect();
    let mut parts = vec![out];
    parts.extend(documents(&objects));
    Ok(parts)
}

/// The plan as one JSON document: `{"objects": [...], "ingressRules": [...], "closedPorts": [...]}`.
pub fn to_json(plan: &Plan) -> Result<String, OutputError> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Document<'a> {
        objects: Vec<&'a serde_json::Value>,
        ingress_rules: &'a [crate::plan::IngressRule],
        closed_ports: &'a [crate::plan::ClosedPort],
        secrets: &'a [SecretSpec],
        slots: Vec<SlotEntry<'a>>,
    }
    #[derive(Serialize)]
    struct SlotEntry<'a> {
        #[serde(flatten)]
        slot: &'a Slot,
        placeholder: String,
    }
    let document = Document {
        objects: plan.objects.iter().map(|object| &object.value).collect(),
        ingress_rules: &plan.ingress.rules,
        closed_ports: &plan.ingress.closed,
        secrets: &plan.secrets,
        slots: plan
            .slots
            .iter()
            .map(|slot| SlotEntry {
                slot,
                placeholder: slot.placeholder(),
            })
            .collect(),
    };
    let mut text = serde_json::to_string_pretty(&document)
        .map_err(|err| OutputError::Serialize(err.into()))?;
    text.push('\n');
    Ok(text)
}

/// Writes `<stack>.yaml` for each stack and [`INGRESS_FILE`] into `dir` (created if needed).
/// Each file is written whole or not at all. Returns the paths written.
pub fn write_dir(plan: &Plan, dir: &Path) -> Result<Vec<PathBuf>, OutputError> {
    fs::create_dir_all(dir).map_err(|source| OutputError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut written = Vec::with_capacity(plan.stacks.len() + 1);
    for &stack in &plan.stacks {
        let objects: Vec<&Object> = plan
            .objects
            .iter()
            .filter(|object| object.stack == stack)
            .collect();
        let body = documents(&objects).concat();
        let secrets: Vec<SecretSpec> = plan
            .secrets
            .iter()
            .filter(|s| s.stack == stack)
            .cloned()
            .collect();
        let slots: Vec<Slot> = plan
            .slots
            .iter()
            .filter(|slot| {
                body.contains(&slot.placeholder()) || body.contains(&base64(&slot.placeholder()))
            })
            .cloned()
            .collect();
        let mut text = format!(
            "# Stack {stack}, rendered by obsboot {}; {} objects.\n",
            env!("CARGO_PKG_VERSION"),
            objects.len()
        );
        text.push_str(&bootstrap_comment(&secrets, &slots));
        text.push_str(&body);
        written.push(write_atomic(&dir.join(format!("{stack}.yaml")), &text)?);
    }
    let mut text = ingress_comment(&plan.ingress);
    text.push_str(&ingress_yaml(&plan.ingress)?);
    written.push(write_atomic(&dir.join(INGRESS_FILE), &text)?);
    Ok(written)
}

/// The ingress plan as YAML data.
pub fn ingress_yaml(ingress: &IngressPlan) -> Result<String, OutputError> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Document<'a> {
        ingress_rules: &'a [crate::plan::IngressRule],
        closed_ports: &'a [crate::plan::ClosedPort],
    }
    yaml(&Document {
        ingress_rules: &ingress.rules,
        closed_ports: &ingress.closed,
    })
}

/// Each object as a YAML document, with a `---` line and a comment naming its source.
fn documents(objects: &[&Object]) -> Vec<String> {
    crate::parallel::map(objects, |object| {
        let mut document = format!("---\n# Source: {}\n", object.origin.describe());
        crate::yaml::emit::document(&mut document, &object.value);
        document
    })
}

/// What bootstrap adds, as a YAML comment block: the Secrets it creates and the material it
/// fills in where the objects hold placeholders.
fn bootstrap_comment(secrets: &[SecretSpec], slots: &[Slot]) -> String {
    let mut out = String::new();
    if !secrets.is_empty() {
        out.push_str("# Secrets bootstrap creates and keeps (never rendered):\n");
        for secret in secrets {
            let _ = writeln!(
                out,
                "#   {}/{} ({})",
                secret.namespace,
                secret.name,
                secret.keys().join(", ")
            );
        }
    }
    if !slots.is_empty() {
        out.push_str("# Generated at bootstrap; a render shows its placeholder (base64-encoded in caBundle fields):\n");
        for slot in slots {
            let _ = writeln!(out, "#   {}: {slot}", slot.placeholder());
        }
    }
    if !secrets.is_empty() || !slots.is_empty() {
        out.push_str(
            "# This render is for review: applied as it is (kubectl apply), Linkerd cannot start\n\
             # (placeholder trust anchor and caBundles, no issuer) and pods that use the Secrets\n\
             # above wait for them. Run `obsboot bootstrap` to install it.\n",
        );
    }
    out
}

fn base64(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// The ingress plan as a YAML comment block.
fn ingress_comment(ingress: &IngressPlan) -> String {
    let mut out = String::new();
    let owner = |stack: StackKind, workload: &str| format!("{stack}/{workload}");
    if ingress.rules.is_empty() && ingress.closed.is_empty() {
        out.push_str("# No ports are exposed: bootstrap opens no security-group rules.\n");
        return out;
    }
    if !ingress.rules.is_empty() {
        out.push_str(
            "# Security-group ingress rules bootstrap opens on the control-plane node's group:\n",
        );
        for rule in &ingress.rules {
            let public = if rule.public {
                "  (PUBLIC: every address, allowPublic)"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "#   {}/{:<5} from {:<20} {}: {}{public}",
                rule.protocol,
                rule.port,
                rule.cidr.to_string(),
                owner(rule.stack, &rule.workload),
                rule.description
            );
        }
    }
    if !ingress.closed.is_empty() {
        out.push_str(
            "# Exposed ports with no source CIDR: nothing is opened for them until you set\n",
        );
        out.push_str("# `ingress.sources` in the cluster file or `sources` on the exposure:\n");
        for closed in &ingress.closed {
            let _ = writeln!(
                out,
                "#   {}/{:<5} {}: {}",
                closed.protocol,
                closed.port,
                owner(closed.stack, &closed.workload),
                closed.description
            );
        }
    }
    out
}

/// Writes `text` to a temporary file beside `path`, then renames it over `path`, so a
/// reader never sees half a file and a failure leaves the old one intact.
fn write_atomic(path: &Path, text: &str) -> Result<PathBuf, OutputError> {
    let error = |source| OutputError::Write {
        path: path.to_path_buf(),
        source,
    };
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let temporary = path.with_file_name(format!(".{file_name}.{}.tmp", std::process::id()));
    let result = fs::File::create(&temporary)
        .and_then(|mut file| {
            file.write_all(text.as_bytes())
                .and_then(|()| file.sync_all())
        })
        .and_then(|()| fs::rename(&temporary, path));
    if let Err(err) = result {
        let _ = fs::remove_file(&temporary);
        return Err(error(err));
    }
    Ok(path.to_path_buf())
}
