//! Check D18's facts: each admission webhook the API server calls through a Service, and
//! the nodes that Service's endpoints run on. The API server calls them from the
//! control-plane node over the pod network, so a webhook whose backends run on a node the
//! pod network does not reach times out; with `failurePolicy: Ignore` the object is
//! admitted as if the webhook did not exist (for Linkerd's injector: an unmeshed pod).

use serde::Serialize;
use serde_json::Value;

/// One webhook served by an in-cluster Service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    /// `MutatingWebhookConfiguration linkerd-proxy-injector-webhook-config`.
    pub configuration: String,
    /// The webhook's name.
    pub name: String,
    /// `Fail` (the default in admissionregistration.k8s.io/v1) or `Ignore`.
    pub failure_policy: String,
    /// The Service, `namespace/name`.
    pub service: String,
    /// The nodes its endpoints run on.
    pub nodes: Vec<String>,
}

impl Webhook {
    /// Whether a call that times out lets the object through unchanged.
    pub fn ignores_failure(&self) -> bool {
        self.failure_policy == "Ignore"
    }
}

/// The webhooks of `configurations` (objects of either kind, with their `kind` set) whose
/// client is a Service, each with the nodes of `slices` (EndpointSlices) that serve it.
pub fn from_objects(configurations: &[Value], slices: &[Value]) -> Vec<Webhook> {
    let mut out = Vec::new();
    for configuration in configurations {
        let kind = configuration
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or("WebhookConfiguration");
        let name = configuration
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        for webhook in configuration
            .get("webhooks")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(service) = webhook.pointer("/clientConfig/service") else {
                continue;
            };
            let text = |v: &Value, key: &str| {
                v.get(key)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            let (namespace, service_name) = (text(service, "namespace"), text(service, "name"));
            let mut nodes: Vec<String> = Vec::new();
            for slice in slices.iter().filter(|s| {
                s.pointer("/metadata/namespace").and_then(Value::as_str) == Some(namespace.as_str())
                    && s.pointer("/metadata/labels/kubernetes.io~1service-name")
                        .and_then(Value::as_str)
                        == Some(service_name.as_str())
            }) {
                for node in slice
                    .get("endpoints")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|e| e.get("nodeName").and_then(Value::as_str))
                {
                    if !nodes.iter().any(|n| n == node) {
                        nodes.push(node.to_owned());
                    }
                }
            }
            out.push(Webhook {
                configuration: format!("{kind} {name}"),
                name: text(webhook, "name"),
                failure_policy: webhook
                    .get("failurePolicy")
                    .and_then(Value::as_str)
                    .unwrap_or("Fail")
                    .to_owned(),
                service: format!("{namespace}/{service_name}"),
                nodes,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_service_webhook_is_followed_to_the_nodes_of_its_endpoints() {
        let configurations = [
            json!({"kind": "MutatingWebhookConfiguration", "metadata": {"name": "linkerd-proxy-injector-webhook-config"},
                   "webhooks": [{"name": "linkerd-proxy-injector.linkerd.io", "failurePolicy": "Ignore",
                                 "clientConfig": {"service": {"namespace": "linkerd", "name": "linkerd-proxy-injector"}}}]}),
            json!({"kind": "ValidatingWebhookConfiguration", "metadata": {"name": "external"},
                   "webhooks": [{"name": "by-url", "clientConfig": {"url": "https://example.com/"}},
                                {"name": "policy", "clientConfig": {"service": {"namespace": "linkerd", "name": "policy"}}}]}),
        ];
        let slices = [
            json!({"metadata": {"namespace": "linkerd", "labels": {"kubernetes.io/service-name": "linkerd-proxy-injector"}},
                   "endpoints": [{"nodeName": "worker"}, {"nodeName": "worker"}, {"nodeName": "master"}]}),
            json!({"metadata": {"namespace": "other", "labels": {"kubernetes.io/service-name": "policy"}},
                   "endpoints": [{"nodeName": "elsewhere"}]}),
        ];
        let found = from_objects(&configurations, &slices);
        assert_eq!(found.len(), 2);
        assert_eq!(
            found[0].configuration,
            "MutatingWebhookConfiguration linkerd-proxy-injector-webhook-config"
        );
        assert_eq!(found[0].nodes, ["worker", "master"]);
        assert!(found[0].ignores_failure());
        assert_eq!(found[1].service, "linkerd/policy");
        assert!(found[1].nodes.is_empty());
        assert!(!found[1].ignores_failure(), "the v1 default is Fail");
    }
}
