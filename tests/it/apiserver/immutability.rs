//! Update validation for fields that cannot change once set (workload selectors, a
//! Service's cluster IP, a binding's roleRef, StatefulSet spec fields, immutable
//! ConfigMaps and Secrets), refused with the real server's 422 wording.

use serde_json::Value;

use super::catalog::ResourceType;
use super::json;
use super::status::{ApiError, Cause};

/// A LabelSelector as the apiserver prints it in validation errors (Go's `%#v`).
fn go_selector(selector: Option<&Value>) -> String {
    let labels: Vec<String> = json::string_map(selector.and_then(|s| s.get("matchLabels")))
        .iter()
        .map(|(k, v)| format!("{k:?}:{v:?}"))
        .collect();
    format!(
        "v1.LabelSelector{{MatchLabels:map[string]string{{{}}}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}}",
        labels.join(", ")
    )
}

/// StatefulSet spec fields that may change.
const STATEFULSET_MUTABLE: &[&str] = &[
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
];

/// Refuses an update from `old` to `new` that changes what may not change.
pub fn check(rt: &ResourceType, old: &Value, new: &Value) -> Result<(), ApiError> {
    if rt.custom {
        return Ok(());
    }
    let mut causes = Vec::new();
    let changed = |pointer: &str| old.pointer(pointer) != new.pointer(pointer);
    match (rt.group.as_str(), rt.kind.as_str()) {
        ("apps", "Deployment" | "ReplicaSet" | "DaemonSet" | "StatefulSet")
            if changed("/spec/selector") =>
        {
            let value = go_selector(new.pointer("/spec/selector"));
            causes.push(Cause::new(
                "FieldValueInvalid",
                format!("Invalid value: {value}: field is immutable"),
                "spec.selector",
            ));
        }
        ("apps", "StatefulSet") => {
            let frozen = |o: &Value| {
                let mut spec = o.get("spec").cloned().unwrap_or(Value::Null);
                if let Some(map) = spec.as_object_mut() {
                    map.retain(|k, _| !STATEFULSET_MUTABLE.contains(&k.as_str()));
                }
                spec
            };
            if frozen(old) != frozen(new) {
                causes.push(Cause::new(
                    "FieldValueForbidden",
                    "Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
                    "spec",
                ));
            }
        }
        ("", "Service") => {
            let before = json::str_at(old, "/spec/clusterIP");
            let after = json::str_at(new, "/spec/clusterIP");
            if !before.is_empty() && before != after {
                causes.push(Cause::new(
                    "FieldValueInvalid",
                    format!("Invalid value: []string{{{after:?}}}: may not change once set"),
                    "spec.clusterIPs[0]",
                ));
            }
        }
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding")
            if changed("/roleRef") =>
        {
            let value = format!(
                "rbac.RoleRef{{APIGroup:{:?}, Kind:{:?}, Name:{:?}}}",
                json::str_at(new, "/roleRef/apiGroup"),
                json::str_at(new, "/roleRef/kind"),
                json::str_at(new, "/roleRef/name")
            );
            causes.push(Cause::new(
                "FieldValueInvalid",
                format!("Invalid value: {value}: cannot change roleRef"),
                "roleRef",
            ));
        }
        ("", "ConfigMap" | "Secret") if old.get("immutable") == Some(&Value::Bool(true)) => {
            for field in ["data", "binaryData", "stringData"] {
                if old.get(field) != new.get(field)
                    && !(field == "stringData" && new.get(field).is_none())
                {
                    causes.push(Cause::new(
                        "FieldValueForbidden",
                        "Forbidden: field is immutable when `immutable` is set",
                        field,
                    ));
                }
            }
            if new.get("immutable") != Some(&Value::Bool(true)) {
                causes.push(Cause::new(
                    "FieldValueForbidden",
                    "Forbidden: field is immutable when `immutable` is set",
                    "immutable",
                ));
            }
        }
        _ => {}
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid_object(rt, json::name(new), &causes))
    }
}
