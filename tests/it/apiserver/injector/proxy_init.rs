//! The containers that set up the pod's network before the proxy: `linkerd-init` (iptables
//! rules; charts/partials/templates/_proxy-init.tpl) unless `cniEnabled`, else
//! `linkerd-network-validator` (_network-validator.tpl), in the templates' order.

use std::fmt::Write as _;

use serde_json::{Map, Value, json};

use super::derefs::{self, Refusal};
use super::gotmpl::{at, helm_error, on, plain, text, truthy};
use super::proxy::{resources, service_account_mount};

/// The `linkerd-init` container.
pub fn proxy_init(values: &Value) -> Result<Value, Refusal> {
    let args = args(values)?;
    let close_wait = on(values, "proxyInit.closeWaitTimeoutSecs");
    let mut init = Map::new();
    init.insert("args".into(), Value::Array(args));
    init.insert("image".into(), plain(&image(values)));
    init.insert(
        "command".into(),
        json!(["/usr/lib/linkerd/linkerd2-proxy-init"]),
    );
    init.insert("imagePullPolicy".into(), plain(&pull_policy(values)));
    init.insert("name".into(), "linkerd-init".into());
    derefs::need(values, &derefs::RESOURCES)?;
    init.insert("resources".into(), resources(at(values, "proxy.resources")));
    init.insert(
        "securityContext".into(),
        security_context(values, close_wait),
    );
    init.insert(
        "terminationMessagePolicy".into(),
        "FallbackToLogsOnError".into(),
    );
    let mut mounts = Vec::new();
    if !on(values, "cniEnabled") {
        derefs::need(values, &derefs::XT_MOUNT)?;
        mounts.push(json!({
            "mountPath": plain(&text(values, "proxyInit.xtMountPath.mountPath")),
            "name": plain(&text(values, "proxyInit.xtMountPath.name")),
        }));
    }
    if on(values, "proxyInit.saMountPath") {
        mounts.push(service_account_mount(values, "proxyInit.saMountPath"));
    }
    if !mounts.is_empty() {
        init.insert("volumeMounts".into(), Value::Array(mounts));
    }
    Ok(Value::Object(init))
}

/// linkerd-init's arguments: the iptables mode (`fail` on anything but nft or legacy), the
/// proxy's ports and user, and what to leave alone.
fn args(values: &Value) -> Result<Vec<Value>, Refusal> {
    let mut args: Vec<Value> = Vec::new();
    let mode = text(values, "proxyInit.iptablesMode");
    let defaulted = if mode.is_empty() { "legacy" } else { &mode };
    if defaulted == "nft" {
        args.extend(
            [
                "--firewall-bin-path",
                "iptables-nft",
                "--firewall-save-bin-path",
                "iptables-nft-save",
            ]
            .map(Value::from),
        );
    } else if mode != "legacy" {
        return Err(Refusal::Deny(helm_error(
            &derefs::INIT_INCLUDE,
            &format!(
                "Unsupported value \"{mode}\" for proxyInit.iptablesMode\nValid values: [\"nft\", \"legacy\"]"
            ),
        )));
    }
    if on(values, "disableIPv6") {
        args.push("--ipv6=false".into());
    }
    derefs::need(values, &derefs::PORTS)?;
    let mut pair = |flag: &str, value: String| {
        args.push(flag.into());
        args.push(value.into());
    };
    pair("--incoming-proxy-port", text(values, "proxy.ports.inbound"));
    pair(
        "--outgoing-proxy-port",
        text(values, "proxy.ports.outbound"),
    );
    pair("--proxy-uid", text(values, "proxy.uid"));
    if at(values, "proxy.gid").as_f64().unwrap_or_default() >= 0.0 {
        pair("--proxy-gid", text(values, "proxy.gid"));
    }
    let mut inbound = format!(
        "{},{}",
        text(values, "proxy.ports.control"),
        text(values, "proxy.ports.admin")
    );
    if on(values, "proxyInit.ignoreInboundPorts") {
        let _ = write!(inbound, ",{}", text(values, "proxyInit.ignoreInboundPorts"));
    }
    pair("--inbound-ports-to-ignore", inbound);
    if on(values, "proxyInit.ignoreOutboundPorts") {
        pair(
            "--outbound-ports-to-ignore",
            text(values, "proxyInit.ignoreOutboundPorts"),
        );
    }
    let close_wait = on(values, "proxyInit.closeWaitTimeoutSecs");
    if close_wait {
        if !on(values, "proxyInit.runAsRoot") {
            return Err(Refusal::Deny(helm_error(
                &derefs::INIT_INCLUDE,
                "proxyInit.runAsRoot must be set to use proxyInit.closeWaitTimeoutSecs",
            )));
        }
        pair(
            "--timeout-close-wait-secs",
            text(values, "proxyInit.closeWaitTimeoutSecs"),
        );
    }
    for (key, flag) in [("logFormat", "--log-format"), ("logLevel", "--log-level")] {
        let path = format!("proxyInit.{key}");
        if on(values, &path) {
            args.push(flag.into());
            args.push(plain(&text(values, &path)));
        }
    }
    if on(values, "proxyInit.skipSubnets") {
        args.push("--subnets-to-ignore".into());
        args.push(text(values, "proxyInit.skipSubnets").into());
    }
    Ok(args)
}

/// `{{ proxy.image.name }}:{{ proxy.image.version | default linkerdVersion }}`.
pub fn image(values: &Value) -> String {
    let version = if on(values, "proxy.image.version") {
        text(values, "proxy.image.version")
    } else {
        text(values, "linkerdVersion")
    };
    format!("{}:{version}", text(values, "proxy.image.name"))
}

/// `proxy.image.pullPolicy | default imagePullPolicy`.
fn pull_policy(values: &Value) -> String {
    if on(values, "proxy.image.pullPolicy") {
        text(values, "proxy.image.pullPolicy")
    } else {
        text(values, "imagePullPolicy")
    }
}

fn security_context(values: &Value, close_wait: bool) -> Value {
    let privileged = close_wait || on(values, "proxyInit.privileged");
    let mut add = vec![Value::from("NET_ADMIN"), Value::from("NET_RAW")];
    let mut capabilities = Map::new();
    if on(values, "proxyInit.capabilities") {
        if let Some(more) = at(values, "proxyInit.capabilities.add")
            .as_array()
            .filter(|l| !l.is_empty())
        {
            add.extend(more.iter().cloned());
        }
        if let Some(drop) = at(values, "proxyInit.capabilities.drop")
            .as_array()
            .filter(|l| !l.is_empty())
        {
            capabilities.insert("drop".into(), Value::Array(drop.clone()));
        }
    }
    capabilities.insert("add".into(), Value::Array(add));
    let mut context = Map::new();
    context.insert("allowPrivilegeEscalation".into(), privileged.into());
    context.insert("capabilities".into(), Value::Object(capabilities));
    context.insert("privileged".into(), privileged.into());
    if on(values, "proxyInit.runAsRoot") {
        context.insert("runAsGroup".into(), 0.into());
        context.insert("runAsNonRoot".into(), false.into());
        context.insert("runAsUser".into(), 0.into());
    } else {
        let id = |key: &str| {
            let path = format!("proxyInit.{key}");
            if at(values, &path).as_f64().unwrap_or_default() == 0.0 {
                Value::from(65534)
            } else {
                plain(&text(values, &path))
            }
        };
        context.insert("runAsNonRoot".into(), true.into());
        context.insert("runAsUser".into(), id("runAsUser"));
        context.insert("runAsGroup".into(), id("runAsGroup"));
    }
    context.insert("readOnlyRootFilesystem".into(), true.into());
    context.insert("seccompProfile".into(), json!({"type": "RuntimeDefault"}));
    Value::Object(context)
}

/// The `linkerd-network-validator` container (with `cniEnabled`).
pub fn network_validator(values: &Value) -> Result<Value, Refusal> {
    let mut validator = Map::new();
    validator.insert("name".into(), "linkerd-network-validator".into());
    validator.insert("image".into(), plain(&image(values)));
    validator.insert("imagePullPolicy".into(), plain(&pull_policy(values)));
    derefs::need(values, &derefs::VALIDATOR_RESOURCES)?;
    validator.insert("resources".into(), resources(at(values, "proxy.resources")));
    derefs::need(values, &derefs::NETWORK_VALIDATOR)?;
    let own = at(values, "networkValidator.securityContext");
    let context = if truthy(own) {
        own.clone()
    } else {
        json!({
            "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]},
            "readOnlyRootFilesystem": true, "runAsGroup": 65534, "runAsNonRoot": true,
            "runAsUser": 65534, "seccompProfile": {"type": "RuntimeDefault"},
        })
    };
    validator.insert("securityContext".into(), context);
    validator.insert(
        "command".into(),
        json!(["/usr/lib/linkerd/linkerd2-network-validator"]),
    );
    let v6 = !on(values, "disableIPv6");
    let address = |key: &str, v4: &str, v6_default: &str| {
        let own = text(values, &format!("networkValidator.{key}"));
        if !own.is_empty() {
            own
        } else if v6 {
            v6_default.to_owned()
        } else {
            v4.to_owned()
        }
    };
    validator.insert(
        "args".into(),
        json!([
            "--log-format",
            plain(&text(values, "networkValidator.logFormat")),
            "--log-level",
            plain(&text(values, "networkValidator.logLevel")),
            "--connect-addr",
            address("connectAddr", "1.1.1.1:20001", "[fd00::1]:20001"),
            "--listen-addr",
            address("listenAddr", "0.0.0.0:4140", "[::]:4140"),
            "--timeout",
            plain(&text(values, "networkValidator.timeout")),
        ]),
    );
    Ok(Value::Object(validator))
}
