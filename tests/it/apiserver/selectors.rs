//! Label and field selectors, in the query syntax (`app=web,tier!=db,env in (a,b),!legacy`)
//! and as the LabelSelector objects workloads and webhooks carry.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::catalog::ResourceType;
use super::json;
use super::status::ApiError;

/// One requirement on labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    /// `key=value` / `key==value`.
    Equals(String, String),
    /// `key!=value` (also true when the key is absent).
    NotEquals(String, String),
    /// `key in (a,b)`.
    In(String, BTreeSet<String>),
    /// `key notin (a,b)` (also true when the key is absent).
    NotIn(String, BTreeSet<String>),
    /// `key`.
    Exists(String),
    /// `!key`.
    DoesNotExist(String),
}

/// Requirements that must all hold; empty matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector(pub Vec<Requirement>);

impl LabelSelector {
    /// Whether `labels` satisfy every requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.0.iter().all(|r| match r {
            Requirement::Equals(k, v) => labels.get(k) == Some(v),
            Requirement::NotEquals(k, v) => labels.get(k) != Some(v),
            Requirement::In(k, vs) => labels.get(k).is_some_and(|v| vs.contains(v)),
            Requirement::NotIn(k, vs) => labels.get(k).is_none_or(|v| !vs.contains(v)),
            Requirement::Exists(k) => labels.contains_key(k),
            Requirement::DoesNotExist(k) => !labels.contains_key(k),
        })
    }
}

/// Splits at commas outside parentheses.
fn terms(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&text[start..]);
    out
}

/// Whether a label key is well formed enough to match.
fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
}

/// Parses a `labelSelector` query value.
pub fn parse_labels(text: &str) -> Result<LabelSelector, ApiError> {
    let mut requirements = Vec::new();
    for term in terms(text)
        .into_iter()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        let bad = || {
            ApiError::bad_request(format!(
                "unable to parse requirement: found '{term}', expected: identifier"
            ))
        };
        let requirement = if let Some(key) = term.strip_prefix('!') {
            Requirement::DoesNotExist(key.trim().to_owned())
        } else if let Some((key, rest)) = term
            .split_once(" in ")
            .or_else(|| term.split_once(" notin "))
        {
            let values = rest
                .trim()
                .strip_prefix('(')
                .and_then(|r| r.strip_suffix(')'))
                .ok_or_else(bad)?
                .split(',')
                .map(|v| v.trim().to_owned())
                .collect();
            if term.contains(" notin ") {
                Requirement::NotIn(key.trim().to_owned(), values)
            } else {
                Requirement::In(key.trim().to_owned(), values)
            }
        } else if let Some((key, value)) = term.split_once("!=") {
            Requirement::NotEquals(key.trim().to_owned(), value.trim().to_owned())
        } else if let Some((key, value)) = term.split_once("==").or_else(|| term.split_once('=')) {
            Requirement::Equals(key.trim().to_owned(), value.trim().to_owned())
        } else {
            Requirement::Exists(term.to_owned())
        };
        let key = match &requirement {
            Requirement::Equals(k, _)
            | Requirement::NotEquals(k, _)
            | Requirement::In(k, _)
            | Requirement::NotIn(k, _)
            | Requirement::Exists(k)
            | Requirement::DoesNotExist(k) => k,
        };
        if !valid_key(key) {
            return Err(bad());
        }
        requirements.push(requirement);
    }
    Ok(LabelSelector(requirements))
}

/// A LabelSelector object (`matchLabels`, `matchExpressions`); `None` for a missing one.
pub fn from_object(selector: Option<&Value>) -> LabelSelector {
    let Some(selector) = selector else {
        return LabelSelector::default();
    };
    let mut requirements: Vec<Requirement> = json::string_map(selector.get("matchLabels"))
        .into_iter()
        .map(|(k, v)| Requirement::Equals(k, v))
        .collect();
    for expression in json::array(selector, "/matchExpressions") {
        let key = json::str_at(expression, "/key").to_owned();
        let values: BTreeSet<String> = json::strings(expression.get("values"))
            .into_iter()
            .collect();
        requirements.push(match json::str_at(expression, "/operator") {
            "In" => Requirement::In(key, values),
            "NotIn" => Requirement::NotIn(key, values),
            "Exists" => Requirement::Exists(key),
            _ => Requirement::DoesNotExist(key),
        });
    }
    LabelSelector(requirements)
}

/// A parsed `fieldSelector`: (field, equal?, value) terms.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector(pub Vec<(String, bool, String)>);

/// Fields beyond metadata.name and metadata.namespace that kinds support.
fn extra_fields(rt: &ResourceType) -> &'static [&'static str] {
    match (rt.group.as_str(), rt.plural.as_str()) {
        ("", "pods") => &[
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        ],
        ("", "events") => &[
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ],
        ("", "secrets") => &["type"],
        ("", "nodes") => &["spec.unschedulable"],
        ("", "namespaces") => &["status.phase"],
        ("apps", "replicasets") => &["status.replicas"],
        ("batch", "jobs") => &["status.successful"],
        _ => &[],
    }
}

/// Parses a `fieldSelector` query value for resources of type `rt`.
pub fn parse_fields(text: &str, rt: &ResourceType) -> Result<FieldSelector, ApiError> {
    let mut out = Vec::new();
    for term in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let (field, equal, value) = if let Some((f, v)) = term.split_once("!=") {
            (f, false, v)
        } else if let Some((f, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
            (f, true, v)
        } else {
            return Err(ApiError::bad_request(format!(
                "invalid selector: '{text}'; can't understand '{term}'"
            )));
        };
        let field = field.trim();
        let known = field == "metadata.name"
            || field == "metadata.namespace"
            || extra_fields(rt).contains(&field);
        if !known {
            return Err(ApiError::bad_request(if rt.custom {
                format!(
                    "{field:?} is not a known field selector: only \"metadata.name\", \"metadata.namespace\""
                )
            } else {
                format!("field label not supported: {field}")
            }));
        }
        out.push((field.to_owned(), equal, value.trim().to_owned()));
    }
    Ok(FieldSelector(out))
}

impl FieldSelector {
    /// Whether the object's fields satisfy every term.
    pub fn matches(&self, object: &Value) -> bool {
        self.0.iter().all(|(field, equal, value)| {
            let pointer = format!("/{}", field.replace('.', "/"));
            let actual = match object.pointer(&pointer) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            };
            (actual == *value) == *equal
        })
    }
}
