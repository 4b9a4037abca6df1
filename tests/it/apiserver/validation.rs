//! Validation the API server does before anything is stored: names by their kind's rule,
//! and a body whose kind, apiVersion, name or namespace disagree with the URL.

use serde_json::Value;

use super::catalog::ResourceType;
use super::json;
use super::status::{ApiError, Cause};

/// How a kind's names are validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    /// RFC 1123 label (namespaces).
    Label,
    /// RFC 1035 label (services).
    Label1035,
    /// RFC 1123 subdomain (most kinds).
    Subdomain,
    /// A path segment (RBAC kinds).
    PathSegment,
}

/// The apimachinery message for an invalid RFC 1123 subdomain.
const SUBDOMAIN: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
/// The apimachinery message for an invalid RFC 1123 label.
const LABEL: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
/// The apimachinery message for an invalid RFC 1035 label.
const LABEL_1035: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

/// A lower-case letter or digit.
fn alnum(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// Whether `s` is an RFC 1123 label (length aside).
fn is_label(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| alnum(c) || c == '-')
        && s.starts_with(alnum)
        && s.ends_with(alnum)
}

/// What is wrong with `name` under `rule`, one message per problem.
pub fn name_problems(rule: NameRule, name: &str) -> Vec<String> {
    let mut problems = Vec::new();
    match rule {
        NameRule::Subdomain => {
            if name.len() > 253 {
                problems.push("must be no more than 253 characters".to_owned());
            }
            if !name.split('.').all(is_label) {
                problems.push(SUBDOMAIN.to_owned());
            }
        }
        NameRule::Label | NameRule::Label1035 => {
            if name.len() > 63 {
                problems.push("must be no more than 63 characters".to_owned());
            }
            let ok = is_label(name)
                && (rule == NameRule::Label || name.starts_with(|c: char| c.is_ascii_lowercase()));
            if !ok {
                problems.push(
                    if rule == NameRule::Label {
                        LABEL
                    } else {
                        LABEL_1035
                    }
                    .to_owned(),
                );
            }
        }
        NameRule::PathSegment => {
            if name == "." || name == ".." {
                problems.push(format!("may not be '{name}'"));
            }
            for bad in ['/', '%'] {
                if name.contains(bad) {
                    problems.push(format!("may not contain '{bad}'"));
                }
            }
        }
    }
    problems
}

/// The causes for an invalid `metadata.name`, empty when it is fine.
pub fn name_causes(rule: NameRule, name: &str) -> Vec<Cause> {
    if name.is_empty() {
        return vec![Cause::new(
            "FieldValueRequired",
            "Required value: name or generateName is required",
            "metadata.name",
        )];
    }
    name_problems(rule, name)
        .into_iter()
        .map(|p| {
            Cause::new(
                "FieldValueInvalid",
                format!("Invalid value: {name:?}: {p}"),
                "metadata.name",
            )
        })
        .collect()
}

/// Checks a body against its URL: `apiVersion` (400, worded for `apply` or create/update),
/// `kind` (422), name and namespace (400); fills in what the body leaves out.
pub fn check_body(
    rt: &ResourceType,
    body: &mut Value,
    namespace: &str,
    name: Option<&str>,
    apply: bool,
) -> Result<(), ApiError> {
    if !body.is_object() {
        return Err(ApiError::bad_request(
            "the body of the request must be a JSON or YAML object",
        ));
    }
    let expected = rt.api_version();
    let api_version = json::str_at(body, "/apiVersion").to_owned();
    if api_version != expected && (apply || !api_version.is_empty()) {
        return Err(ApiError::bad_request(if apply {
            format!(
                "Incorrect version specified in apply patch. Specified patch version: {api_version}, expected: {expected}"
            )
        } else {
            format!(
                "the API version in the data ({api_version}) does not match the expected API version ({expected})"
            )
        }));
    }
    let kind = json::str_at(body, "/kind").to_owned();
    let body_name = json::name(body).to_owned();
    let shown = name.map_or(body_name.clone(), str::to_owned);
    if kind != rt.kind && (apply || !kind.is_empty()) {
        let message = if kind.is_empty() {
            "Required value: must be specified".to_owned()
        } else {
            format!("Invalid value: {kind:?}: must be {}", rt.kind)
        };
        let reason = if kind.is_empty() {
            "FieldValueRequired"
        } else {
            "FieldValueInvalid"
        };
        let shown_kind = if kind.is_empty() {
            rt.kind.clone()
        } else {
            kind.clone()
        };
        return Err(ApiError::invalid(
            &rt.group,
            &shown_kind,
            &shown,
            &[Cause::new(reason, message, "kind")],
        ));
    }
    body["apiVersion"] = expected.into();
    body["kind"] = rt.kind.clone().into();
    if let Some(name) = name {
        if body_name.is_empty() {
            json::set(body, &["metadata", "name"], name.into());
        } else if body_name != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
    }
    if rt.namespaced {
        let body_namespace = json::namespace(body).to_owned();
        if body_namespace.is_empty() {
            json::set(body, &["metadata", "namespace"], namespace.into());
        } else if body_namespace != namespace {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
    } else if let Some(meta) = body.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("namespace");
    }
    Ok(())
}

/// Validates the object's name for its kind (and a CRD's name against its spec).
pub fn check_name(rt: &ResourceType, object: &Value) -> Result<(), ApiError> {
    let name = json::name(object);
    let mut causes = name_causes(rt.names, name);
    if causes.is_empty() && rt.kind == "CustomResourceDefinition" && !rt.custom {
        let expected = format!(
            "{}.{}",
            json::str_at(object, "/spec/names/plural"),
            json::str_at(object, "/spec/group")
        );
        if name != expected {
            causes.push(Cause::new(
                "FieldValueInvalid",
                format!("Invalid value: {name:?}: must be spec.names.plural+\".\"+spec.group"),
                "metadata.name",
            ));
        }
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid_object(rt, name, &causes))
    }
}
