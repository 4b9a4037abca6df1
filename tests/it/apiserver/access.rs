//! Authorization as RBAC would answer it for the cluster's admin user: everything is
//! allowed unless a test denied a (verb, group, resource); denied requests get RBAC's 403
//! and access reviews report them.

use serde_json::{Value, json};

use super::handlers::Resolved;
use super::json;
use super::state::State;
use super::status::ApiError;

/// The user the kubeconfig's token authenticates as.
pub const USER: &str = "kubernetes-admin";

/// A denied (verb, group, resource); `*` matches any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// Verb (`create`, `patch`, ...).
    pub verb: String,
    /// API group ("" for core).
    pub group: String,
    /// Plural resource, with `/status` for the subresource.
    pub resource: String,
}

impl Denial {
    /// Whether this denial covers the request.
    fn covers(&self, verb: &str, group: &str, resource: &str) -> bool {
        let hit = |want: &str, got: &str| want == "*" || want == got;
        hit(&self.verb, verb) && hit(&self.group, group) && hit(&self.resource, resource)
    }
}

/// Whether the user may `verb` the resource.
pub fn allowed(state: &State, verb: &str, group: &str, resource: &str) -> bool {
    !state
        .denials
        .iter()
        .any(|d| d.covers(verb, group, resource))
}

/// RBAC's 403 for a denied request.
pub fn check(state: &State, verb: &str, r: &Resolved) -> Result<(), ApiError> {
    let mut resource = r.rt.plural.clone();
    if let Some(sub) = &r.subresource {
        resource = format!("{resource}/{sub}");
    }
    if allowed(state, verb, &r.rt.group, &resource) {
        return Ok(());
    }
    let name = r.name.as_deref().unwrap_or_default();
    let target = if name.is_empty() {
        r.rt.group_resource()
    } else {
        format!("{} {name:?}", r.rt.group_resource())
    };
    let scope = if r.rt.namespaced && !r.all_namespaces {
        format!("in the namespace {:?}", r.namespace)
    } else {
        "at the cluster scope".to_owned()
    };
    let mut error = ApiError::new(
        403,
        "Forbidden",
        format!(
            "{target} is forbidden: User {USER:?} cannot {verb} resource {resource:?} in API group {:?} {scope}",
            r.rt.group
        ),
    );
    if !name.is_empty() {
        error.details.insert("name".into(), name.into());
    }
    if !r.rt.group.is_empty() {
        error
            .details
            .insert("group".into(), r.rt.group.clone().into());
    }
    error
        .details
        .insert("kind".into(), r.rt.plural.clone().into());
    Err(error)
}

/// The status of a SelfSubjectAccessReview.
pub fn review(state: &State, review: &Value) -> Value {
    let attributes = review
        .pointer("/spec/resourceAttributes")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let mut resource = json::str_at(&attributes, "/resource").to_owned();
    let sub = json::str_at(&attributes, "/subresource");
    if !sub.is_empty() {
        resource = format!("{resource}/{sub}");
    }
    let verb = json::str_at(&attributes, "/verb");
    if allowed(state, verb, json::str_at(&attributes, "/group"), &resource) {
        json!({
            "allowed": true,
            "reason": "RBAC: allowed by ClusterRoleBinding \"kubeadm:cluster-admins\" of ClusterRole \"cluster-admin\" to Group \"kubeadm:cluster-admins\"",
        })
    } else {
        json!({"allowed": false})
    }
}
