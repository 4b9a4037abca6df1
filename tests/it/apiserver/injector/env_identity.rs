//! The identity, tracing and HTTP/2 parts of the proxy's env
//! (charts/partials/templates/_proxy.tpl).

use std::fmt::Write as _;

use serde_json::Value;

use super::derefs::{self, Refusal};
use super::env::{field, quoted, trust_domain, var};
use super::gotmpl::{self, at, helm_error, on, plain, text};
use super::proxy::Target;

/// `.Values.proxy.tracing | default (dict) | dig "enabled" false`.
pub fn tracing_enabled(values: &Value) -> bool {
    gotmpl::truthy(&at(values, "proxy.tracing")["enabled"])
}

/// The tracing env (only with tracing enabled), with its required settings.
pub fn tracing(values: &Value, target: &Target<'_>, env: &mut Vec<Value>) -> Result<(), Refusal> {
    let fail = |message: &str| Refusal::Deny(helm_error(&derefs::PROXY_INCLUDE, message));
    let protocol = match text(values, "proxy.tracing.protocol") {
        p if p.is_empty() => "opentelemetry".to_owned(),
        p => p,
    };
    env.extend([
        var(
            "LINKERD2_PROXY_TRACE_ATTRIBUTES_PATH",
            "/var/run/linkerd/podinfo/labels".into(),
        ),
        var(
            "LINKERD2_PROXY_TRACE_ANNOTATIONS_PATH",
            "/var/run/linkerd/podinfo/annotations".into(),
        ),
        var("LINKERD2_PROXY_TRACE_PROTOCOL", plain(&protocol)),
        var(
            "LINKERD2_PROXY_TRACE_SERVICE_NAME",
            plain(&text(values, "proxy.tracing.traceServiceName")),
        ),
    ]);
    derefs::need(values, &derefs::TRACING_COLLECTOR)?;
    let endpoint = text(values, "proxy.tracing.collector.endpoint");
    if endpoint.is_empty() {
        return Err(fail(
            "proxy.tracing.collector.endpoint must be set if proxy tracing is enabled",
        ));
    }
    env.push(var(
        "LINKERD2_PROXY_TRACE_COLLECTOR_SVC_ADDR",
        plain(&endpoint),
    ));
    derefs::need(values, &derefs::TRACING_IDENTITY)?;
    let identity = "proxy.tracing.collector.meshIdentity";
    let account = text(values, &format!("{identity}.serviceAccountName"));
    let namespace = text(values, &format!("{identity}.namespace"));
    if account.is_empty() {
        return Err(fail(
            "proxy.tracing.collector.meshIdentity.serviceAccountName must be set if proxy tracing is enabled",
        ));
    }
    if namespace.is_empty() {
        return Err(fail(
            "proxy.tracing.collector.meshIdentity.namespace must be set if proxy tracing is enabled",
        ));
    }
    env.push(var(
        "LINKERD2_PROXY_TRACE_COLLECTOR_SVC_NAME",
        plain(&format!(
            "{account}.{namespace}.serviceaccount.identity.{}.{}",
            target.namespace,
            trust_domain(values)
        )),
    ));
    let labels: String = at(values, "proxy.tracing.labels")
        .as_object()
        .map(|labels| {
            labels.iter().fold(String::new(), |mut out, (k, v)| {
                let _ = writeln!(out, "{k}={}", gotmpl::print(v));
                out
            })
        })
        .unwrap_or_default();
    env.push(quoted("LINKERD2_PROXY_TRACE_EXTRA_ATTRIBUTES", labels));
    Ok(())
}

/// `LINKERD2_PROXY_{INBOUND,OUTBOUND}_<SCOPE>_<PROTO>_<PARAM>` from `proxy.inbound` and
/// `proxy.outbound` (maps of maps, walked in key order).
pub fn http2_parameters(values: &Value, env: &mut Vec<Value>) {
    let upper = |key: &str| gotmpl::snakecase(key).to_uppercase();
    for direction in ["inbound", "outbound"] {
        let Some(scopes) = at(values, &format!("proxy.{direction}")).as_object() else {
            continue;
        };
        for (scope, protocols) in scopes {
            for (protocol, params) in protocols.as_object().into_iter().flatten() {
                for (param, value) in params.as_object().into_iter().flatten() {
                    let name = format!(
                        "LINKERD2_PROXY_{}_{}_{}_{}",
                        upper(direction),
                        upper(scope),
                        upper(protocol),
                        upper(param)
                    );
                    // sprig's `quote` writes nothing for nil: the value reads back as null.
                    let quoted = if value.is_null() {
                        Value::Null
                    } else {
                        Value::String(gotmpl::print(value))
                    };
                    env.push(var(&name, quoted));
                }
            }
        }
    }
}

/// The identity env: trust anchors (required), token file, service names.
pub fn identity(
    values: &Value,
    target: &Target<'_>,
    trust: &str,
    env: &mut Vec<Value>,
) -> Result<(), Refusal> {
    let ns = target.namespace;
    let domain = text(values, "clusterDomain");
    env.extend([
        quoted(
            "LINKERD2_PROXY_DESTINATION_CONTEXT",
            "{\"ns\":\"$(_pod_ns)\", \"nodeName\":\"$(_pod_nodeName)\", \"pod\":\"$(_pod_name)\"}\n"
                .into(),
        ),
        field("_pod_sa", "spec.serviceAccountName"),
        var("_l5d_ns", plain(ns)),
        var("_l5d_trustdomain", plain(trust)),
        var(
            "LINKERD2_PROXY_IDENTITY_DIR",
            "/var/run/linkerd/identity/end-entity".into(),
        ),
    ]);
    let anchors = text(values, "identityTrustAnchorsPEM");
    if anchors.is_empty() {
        return Err(Refusal::Deny(helm_error(
            &derefs::PROXY_INCLUDE,
            "Please provide the identity trust anchors",
        )));
    }
    env.push(quoted(
        "LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS",
        format!("{}\n", anchors.trim()),
    ));
    let token = if on(values, "identity.serviceAccountTokenProjection") {
        "/var/run/secrets/tokens/linkerd-identity-token"
    } else {
        "/var/run/secrets/kubernetes.io/serviceaccount/token"
    };
    let service = |account: &str| format!("{account}.{ns}.serviceaccount.identity.{ns}.{trust}");
    env.extend([
        var("LINKERD2_PROXY_IDENTITY_TOKEN_FILE", token.into()),
        var(
            "LINKERD2_PROXY_IDENTITY_SVC_ADDR",
            plain(&format!(
                "linkerd-identity-headless.{ns}.svc.{domain}.:8080"
            )),
        ),
        var(
            "LINKERD2_PROXY_IDENTITY_LOCAL_NAME",
            plain(&format!(
                "$(_pod_sa).$(_pod_ns).serviceaccount.identity.{ns}.{trust}"
            )),
        ),
        var(
            "LINKERD2_PROXY_IDENTITY_SVC_NAME",
            plain(&service("linkerd-identity")),
        ),
        var(
            "LINKERD2_PROXY_DESTINATION_SVC_NAME",
            plain(&service("linkerd-destination")),
        ),
        var(
            "LINKERD2_PROXY_POLICY_SVC_NAME",
            plain(&service("linkerd-destination")),
        ),
    ]);
    Ok(())
}
