//! When an applied object counts as ready, by the rules `kubectl rollout status` and Helm's
//! readiness checker use: a workload is ready only once its controller has seen the current
//! generation and every replica is updated and available; a CRD once it is Established.

use serde_json::Value;

/// What an object's status says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    /// Ready.
    Ready,
    /// Not yet; says what is missing.
    Waiting(String),
    /// Will not get ready without a change (e.g. a Deployment past its progress deadline).
    Failed(String),
}

impl Readiness {
    /// Whether waiting is over, either way.
    pub fn is_settled(&self) -> bool {
        !matches!(self, Self::Waiting(_))
    }
}

/// Whether waiting for an object of this kind means more than waiting for it to exist.
pub fn has_readiness(group: &str, kind: &str) -> bool {
    matches!(
        (group, kind),
        ("apps", "Deployment" | "DaemonSet" | "StatefulSet")
            | ("apiextensions.k8s.io", "CustomResourceDefinition")
            | ("", "Namespace")
            | ("batch", "Job")
    )
}

/// The readiness of `object` (as the API server returned it) of kind `group`/`kind`.
pub fn readiness(group: &str, kind: &str, object: &Value) -> Readiness {
    match (group, kind) {
        ("apps", "Deployment") => deployment(object),
        ("apps", "DaemonSet") => daemon_set(object),
        ("apps", "StatefulSet") => stateful_set(object),
        ("apiextensions.k8s.io", "CustomResourceDefinition") => {
            if condition(object, "Established").is_some_and(|c| c.status == "True") {
                Readiness::Ready
            } else {
                Readiness::Waiting("not Established yet".into())
            }
        }
        ("", "Namespace") => match text(object, &["status", "phase"]) {
            Some("Terminating") => Readiness::Failed(
                "the namespace is being deleted; wait for it to go, then run again".into(),
            ),
            _ => Readiness::Ready,
        },
        ("batch", "Job") => job(object),
        _ => Readiness::Ready,
    }
}

fn deployment(object: &Value) -> Readiness {
    if let Some(waiting) = observed(object) {
        return waiting;
    }
    if let Some(progressing) = condition(object, "Progressing")
        && progressing.reason == "ProgressDeadlineExceeded"
    {
        return Readiness::Failed(format!(
            "progress deadline exceeded: {}",
            progressing.message
        ));
    }
    // The ReplicaSet controller could not create pods, and the Deployment controller copied
    // its condition here. A webhook's denial stands until its cause is fixed; other causes
    // (a quota, say) may pass, so they only say why the wait goes on.
    let failure = condition(object, "ReplicaFailure").filter(|c| c.status == "True");
    if let Some(failure) = &failure
        && let Some(denial) = denial(failure.message)
    {
        return Readiness::Failed(format!(
            "admission webhook \"{}\" refuses its pods: {}",
            denial.webhook, denial.message
        ));
    }
    let why = failure
        .map(|f| format!("; its pods cannot be created: {}: {}", f.reason, f.message))
        .unwrap_or_default();
    match deployment_counts(object) {
        Readiness::Waiting(what) => Readiness::Waiting(what + &why),
        other => other,
    }
}

/// A pod creation an admission webhook refused, from the API server's error text
/// (apiserver/pkg/admission/plugin/webhook/errors/statuserror.go `ToStatusErr`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial<'a> {
    /// The webhook's name (`linkerd-proxy-injector.linkerd.io`).
    pub webhook: &'a str,
    /// What the webhook said.
    pub message: &'a str,
}

/// The webhook denial a create error's text reports, if it is one.
pub fn denial(error: &str) -> Option<Denial<'_>> {
    let rest = error.strip_prefix("admission webhook \"")?;
    let (webhook, message) = rest.split_once("\" denied the request")?;
    let message = message.strip_prefix(": ").unwrap_or("without explanation");
    Some(Denial { webhook, message })
}

/// A Deployment's readiness from its replica counts.
fn deployment_counts(object: &Value) -> Readiness {
    let desired = number(object, &["spec", "replicas"]).unwrap_or(1);
    let status = |field| number(object, &["status", field]).unwrap_or(0);
    let (updated, replicas, available) = (
        status("updatedReplicas"),
        status("replicas"),
        status("availableReplicas"),
    );
    if updated < desired {
        Readiness::Waiting(format!("{updated} of {desired} replicas updated"))
    } else if replicas > updated {
        Readiness::Waiting(format!(
            "{} old replicas pending termination",
            replicas - updated
        ))
    } else if available < updated {
        Readiness::Waiting(format!(
            "{available} of {updated} updated replicas available"
        ))
    } else {
        Readiness::Ready
    }
}

fn daemon_set(object: &Value) -> Readiness {
    if let Some(waiting) = observed(object) {
        return waiting;
    }
    let status = |field| number(object, &["status", field]).unwrap_or(0);
    let desired = status("desiredNumberScheduled");
    let (updated, available) = (status("updatedNumberScheduled"), status("numberAvailable"));
    if updated < desired {
        Readiness::Waiting(format!("{updated} of {desired} pods updated"))
    } else if available < desired {
        Readiness::Waiting(format!("{available} of {desired} pods available"))
    } else {
        Readiness::Ready
    }
}

fn stateful_set(object: &Value) -> Readiness {
    if number(object, &["status", "observedGeneration"]).unwrap_or(0) == 0 {
        return Readiness::Waiting("waiting for the controller to see the StatefulSet".into());
    }
    if let Some(waiting) = observed(object) {
        return waiting;
    }
    let desired = number(object, &["spec", "replicas"]).unwrap_or(1);
    let ready = number(object, &["status", "readyReplicas"]).unwrap_or(0);
    if ready < desired {
        return Readiness::Waiting(format!("{ready} of {desired} replicas ready"));
    }
    let rolling =
        text(object, &["spec", "updateStrategy", "type"]).is_none_or(|t| t == "RollingUpdate");
    let revision = |field| text(object, &["status", field]);
    if rolling && revision("updateRevision") != revision("currentRevision") {
        return Readiness::Waiting("rolling update in progress".into());
    }
    Readiness::Ready
}

fn job(object: &Value) -> Readiness {
    if condition(object, "Complete").is_some_and(|c| c.status == "True") {
        Readiness::Ready
    } else if let Some(failed) = condition(object, "Failed").filter(|c| c.status == "True") {
        Readiness::Failed(format!("{}: {}", failed.reason, failed.message))
    } else {
        Readiness::Waiting("not complete yet".into())
    }
}

/// Not ready while the controller has not yet seen the current generation.
fn observed(object: &Value) -> Option<Readiness> {
    let generation = number(object, &["metadata", "generation"]).unwrap_or(0);
    let observed = number(object, &["status", "observedGeneration"]).unwrap_or(0);
    (observed < generation).then(|| {
        Readiness::Waiting(format!(
            "the controller has not yet seen generation {generation} (observed {observed})"
        ))
    })
}

/// A status condition.
pub struct Condition<'a> {
    /// `True`, `False` or `Unknown`.
    pub status: &'a str,
    /// The machine-readable reason.
    pub reason: &'a str,
    /// The human-readable message.
    pub message: &'a str,
}

/// The condition of `type_` in `status.conditions`.
pub fn condition<'a>(object: &'a Value, type_: &str) -> Option<Condition<'a>> {
    object
        .pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(type_))
        .map(|c| {
            let field = |name| c.get(name).and_then(Value::as_str).unwrap_or_default();
            Condition {
                status: field("status"),
                reason: field("reason"),
                message: field("message"),
            }
        })
}

fn walk<'a>(object: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(object, |value, key| value.get(key))
}

fn number(object: &Value, path: &[&str]) -> Option<i64> {
    walk(object, path)?.as_i64()
}

fn text<'a>(object: &'a Value, path: &[&str]) -> Option<&'a str> {
    walk(object, path)?.as_str()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn deploy(generation: i64, status: &Value) -> Value {
        json!({"metadata": {"generation": generation}, "spec": {"replicas": 2}, "status": status})
    }

    #[test]
    fn a_deployment_is_ready_only_when_its_controller_caught_up_and_all_replicas_are_available() {
        let ready = json!({"observedGeneration": 3, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2});
        assert_eq!(
            readiness("apps", "Deployment", &deploy(3, &ready)),
            Readiness::Ready
        );
        assert_eq!(
            readiness("apps", "Deployment", &deploy(4, &ready)),
            Readiness::Waiting("the controller has not yet seen generation 4 (observed 3)".into())
        );
        let rolling = json!({"observedGeneration": 3, "replicas": 3, "updatedReplicas": 2, "availableReplicas": 2});
        assert_eq!(
            readiness("apps", "Deployment", &deploy(3, &rolling)),
            Readiness::Waiting("1 old replicas pending termination".into())
        );
        let unavailable = json!({"observedGeneration": 3, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 1});
        assert_eq!(
            readiness("apps", "Deployment", &deploy(3, &unavailable)),
            Readiness::Waiting("1 of 2 updated replicas available".into())
        );
        assert!(!readiness("apps", "Deployment", &deploy(1, &json!({}))).is_settled());
    }

    #[test]
    fn a_deployment_past_its_deadline_has_failed() {
        let status = json!({"observedGeneration": 1, "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": "ReplicaSet \"a-1\" has timed out progressing."}]});
        assert_eq!(
            readiness("apps", "Deployment", &deploy(1, &status)),
            Readiness::Failed(
                "progress deadline exceeded: ReplicaSet \"a-1\" has timed out progressing.".into()
            )
        );
    }

    #[test]
    fn a_deployment_whose_pods_a_webhook_refuses_has_failed_and_other_failures_say_why() {
        let failure = |reason: &str, message: &str| {
            json!({"observedGeneration": 1, "replicas": 0, "conditions": [
                {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable"},
                {"type": "ReplicaFailure", "status": "True", "reason": reason, "message": message},
            ]})
        };
        let refused = failure(
            "FailedCreate",
            "admission webhook \"linkerd-proxy-injector.linkerd.io\" denied the request: template: patch/templates/patch.json:125:16: nil pointer",
        );
        assert_eq!(
            readiness("apps", "Deployment", &deploy(1, &refused)),
            Readiness::Failed(
                "admission webhook \"linkerd-proxy-injector.linkerd.io\" refuses its pods: template: patch/templates/patch.json:125:16: nil pointer".into()
            )
        );
        let quota = failure(
            "FailedCreate",
            "pods \"a-1-x\" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2",
        );
        assert_eq!(
            readiness("apps", "Deployment", &deploy(1, &quota)),
            Readiness::Waiting(
                "0 of 2 replicas updated; its pods cannot be created: FailedCreate: pods \"a-1-x\" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2".into()
            )
        );
        let mut stale = refused.clone();
        stale["observedGeneration"] = 0.into();
        assert!(
            !readiness("apps", "Deployment", &deploy(1, &stale)).is_settled(),
            "a condition about an older generation waits for the controller"
        );
        assert_eq!(
            denial("admission webhook \"v.example.com\" denied the request without explanation"),
            Some(Denial {
                webhook: "v.example.com",
                message: "without explanation"
            })
        );
        assert_eq!(denial("pods \"x\" is forbidden"), None);
    }

    #[test]
    fn daemon_sets_count_scheduled_pods() {
        let ds = |updated, available| json!({"metadata": {"generation": 1}, "status": {"observedGeneration": 1, "desiredNumberScheduled": 2, "updatedNumberScheduled": updated, "numberAvailable": available}});
        assert_eq!(readiness("apps", "DaemonSet", &ds(2, 2)), Readiness::Ready);
        assert_eq!(
            readiness("apps", "DaemonSet", &ds(2, 1)),
            Readiness::Waiting("1 of 2 pods available".into())
        );
        assert_eq!(
            readiness("apps", "DaemonSet", &ds(1, 1)),
            Readiness::Waiting("1 of 2 pods updated".into())
        );
    }

    #[test]
    fn stateful_sets_need_an_observed_generation_and_one_revision() {
        let sts = |observed, current| json!({"metadata": {"generation": 1}, "spec": {"replicas": 1}, "status": {"observedGeneration": observed, "readyReplicas": 1, "currentRevision": current, "updateRevision": "b"}});
        assert!(!readiness("apps", "StatefulSet", &sts(0, "b")).is_settled());
        assert_eq!(
            readiness("apps", "StatefulSet", &sts(1, "a")),
            Readiness::Waiting("rolling update in progress".into())
        );
        assert_eq!(
            readiness("apps", "StatefulSet", &sts(1, "b")),
            Readiness::Ready
        );
    }

    #[test]
    fn crds_wait_for_established_and_other_kinds_for_nothing() {
        let crd =
            |status| json!({"status": {"conditions": [{"type": "Established", "status": status}]}});
        let group = "apiextensions.k8s.io";
        assert_eq!(
            readiness(group, "CustomResourceDefinition", &crd("True")),
            Readiness::Ready
        );
        assert!(!readiness(group, "CustomResourceDefinition", &crd("False")).is_settled());
        assert!(!readiness(group, "CustomResourceDefinition", &json!({})).is_settled());
        assert_eq!(readiness("", "ConfigMap", &json!({})), Readiness::Ready);
        assert!(has_readiness("apps", "Deployment"));
        assert!(!has_readiness("", "Service"));
    }

    #[test]
    fn a_terminating_namespace_cannot_take_new_objects() {
        let ns = json!({"status": {"phase": "Terminating"}});
        assert!(matches!(
            readiness("", "Namespace", &ns),
            Readiness::Failed(_)
        ));
        assert_eq!(
            readiness("", "Namespace", &json!({"status": {"phase": "Active"}})),
            Readiness::Ready
        );
    }
}
