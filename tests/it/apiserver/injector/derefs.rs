//! The one table of the values the proxy-injector dereferences, each with the upstream file
//! and line that reads it and what happens when linkerd-config leaves it out (or null):
//! a Go nil dereference in the injector panics (the webhook call fails; `failurePolicy`
//! decides), a template's fails the render (the webhook denies the pod with the message).
//! The injector's code calls [`need`] with a row where upstream reads it, so the first
//! missing value in upstream's order is the one reported.

use serde_json::Value;

use super::gotmpl::{self, Frame, PATCH};

/// A value read through a pointer, and what its absence does.
#[derive(Debug)]
pub struct Deref {
    /// Its dotted key path in linkerd-config's `values`.
    pub key: &'static str,
    /// Where upstream (linkerd2 edge-26.8.3) reads it.
    pub read_at: &'static str,
    /// When it is read, if not for every injected pod.
    pub when: &'static str,
    /// What its absence does.
    pub failure: Failure,
}

/// What a nil value does where it is read.
#[derive(Debug)]
pub enum Failure {
    /// A Go nil-pointer dereference: the handler panics, net/http drops the connection.
    Panic,
    /// A template fails: the webhook denies with this error, nested through `frames`.
    Template {
        /// The templates being executed, outermost first.
        frames: &'static [Frame],
        /// The error of the innermost node.
        error: &'static str,
    },
}

/// Why the injector did not answer with a patch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// `Allowed: false` with this message (controller/webhook/server.go `processReq`).
    Deny(String),
    /// The handler panicked where this row's value is read.
    Panic(&'static str),
}

/// Fails as upstream does when `row`'s value is null or absent.
pub fn need(values: &Value, row: &'static Deref) -> Result<(), Refusal> {
    if !gotmpl::at(values, row.key).is_null() {
        return Ok(());
    }
    Err(match row.message() {
        Some(message) => Refusal::Deny(message),
        None => Refusal::Panic(row.read_at),
    })
}

impl Deref {
    /// The injector's error when the value is missing and a template reads it; `None` for a
    /// Go read (a panic).
    pub fn message(&self) -> Option<String> {
        match &self.failure {
            Failure::Panic => None,
            Failure::Template { frames, error } => Some(gotmpl::exec_error(frames, error)),
        }
    }
}

const fn frame(at: &'static str, template: &'static str, node: &'static str) -> Frame {
    Frame { at, template, node }
}

const INIT: &str = "partials.proxy-init";
const PROXY_TPL: &str = "partials.proxy";
const VALIDATOR: &str = "partials.network-validator";
/// patch.json including the proxy-init container.
pub const INIT_INCLUDE: Frame = frame(
    "patch/templates/patch.json:77:10",
    PATCH,
    "include \"partials.proxy-init\" .",
);
/// patch.json including the network-validator container (with `cniEnabled`).
pub const VALIDATOR_INCLUDE: Frame = frame(
    "patch/templates/patch.json:84:10",
    PATCH,
    "include \"partials.network-validator\" .",
);
/// patch.json including the proxy container.
pub const PROXY_INCLUDE: Frame = frame(
    "patch/templates/patch.json:143:10",
    PATCH,
    "include \"partials.proxy\" .",
);
const RESOURCES_INDEX: Frame = frame(
    "patch/charts/partials/templates/_resources.tpl:2:25",
    "partials.resources",
    "index . \"ephemeral-storage\"",
);
const INDEX_NIL: &str = "error calling index: index of untyped nil";

const fn template(frames: &'static [Frame], error: &'static str) -> Failure {
    Failure::Template { frames, error }
}

/// `identity`, read by the injection report (before anything else) for a pod without a
/// service-account token mount or with `automountServiceAccountToken` set.
pub static IDENTITY_REPORT: Deref = Deref {
    key: "identity",
    read_at: "pkg/inject/report.go:108,114",
    when: "the pod mounts no service-account token (Bookinfo's accounts mount none) or sets automountServiceAccountToken",
    failure: Failure::Panic,
};
/// `proxy`, read for the default opaque ports and by the overrides.
pub static PROXY: Deref = Deref {
    key: "proxy",
    read_at: "controller/proxy-injector/webhook.go:115, pkg/inject/inject.go:608,772",
    when: "",
    failure: Failure::Panic,
};
/// `proxy.image`, through the image overrides.
pub static IMAGE_OVERRIDE: Deref = Deref {
    key: "proxy.image",
    read_at: "pkg/inject/inject.go:275,279",
    when: "config.linkerd.io/proxy-image or proxy-version is set",
    failure: Failure::Panic,
};
/// `proxy.resources`, through the CPU and memory overrides.
pub static RESOURCES_OVERRIDE: Deref = Deref {
    key: "proxy.resources",
    read_at: "pkg/inject/inject.go:454,469,498,507",
    when: "config.linkerd.io/proxy-cpu-request, -cpu-limit, -memory-request or -memory-limit is set",
    failure: Failure::Panic,
};
/// `proxy.image`, for the proxy-version annotation.
pub static IMAGE: Deref = Deref {
    key: "proxy.image",
    read_at: "pkg/inject/inject.go:1289",
    when: "",
    failure: Failure::Panic,
};
/// `debugContainer.image`, for the debug sidecar.
pub static DEBUG: Deref = Deref {
    key: "debugContainer.image",
    read_at: "pkg/inject/inject.go:1228",
    when: "config.linkerd.io/enable-debug-sidecar is true",
    failure: Failure::Panic,
};
/// `proxyInit`, given the pod's capabilities and service-account mount.
pub static PROXY_INIT: Deref = Deref {
    key: "proxyInit",
    read_at: "pkg/inject/inject.go:1244 (the first container sets capabilities), 1256",
    when: "",
    failure: Failure::Panic,
};
/// `proxy.ports`, first read by the proxy-init container.
pub static PORTS: Deref = Deref {
    key: "proxy.ports",
    read_at: "charts/partials/templates/_proxy-init.tpl:15",
    when: "cniEnabled is false",
    failure: template(
        &[
            INIT_INCLUDE,
            frame(
                "patch/charts/partials/templates/_proxy-init.tpl:15:11",
                INIT,
                ".Values.proxy.ports.inbound",
            ),
        ],
        "nil pointer evaluating interface {}.inbound",
    ),
};
/// `proxy.resources`, indexed by the proxy-init container's resources.
pub static RESOURCES: Deref = Deref {
    key: "proxy.resources",
    read_at: "charts/partials/templates/_proxy-init.tpl:53, _resources.tpl:2",
    when: "cniEnabled is false",
    failure: template(
        &[
            INIT_INCLUDE,
            frame(
                "patch/charts/partials/templates/_proxy-init.tpl:53:3",
                INIT,
                "include \"partials.resources\" .Values.proxy.resources",
            ),
            RESOURCES_INDEX,
        ],
        INDEX_NIL,
    ),
};
/// `proxyInit.xtMountPath`, the proxy-init container's xtables lock mount.
pub static XT_MOUNT: Deref = Deref {
    key: "proxyInit.xtMountPath",
    read_at: "charts/partials/templates/_proxy-init.tpl:94",
    when: "cniEnabled is false",
    failure: template(
        &[
            INIT_INCLUDE,
            frame(
                "patch/charts/partials/templates/_proxy-init.tpl:94:22",
                INIT,
                ".Values.proxyInit.xtMountPath.mountPath",
            ),
        ],
        "nil pointer evaluating interface {}.mountPath",
    ),
};
/// `proxy.resources`, indexed by the network validator's resources.
pub static VALIDATOR_RESOURCES: Deref = Deref {
    key: "proxy.resources",
    read_at: "charts/partials/templates/_network-validator.tpl:5, _resources.tpl:2",
    when: "cniEnabled is true",
    failure: template(
        &[
            VALIDATOR_INCLUDE,
            frame(
                "patch/charts/partials/templates/_network-validator.tpl:5:3",
                VALIDATOR,
                "include \"partials.resources\" .Values.proxy.resources",
            ),
            RESOURCES_INDEX,
        ],
        INDEX_NIL,
    ),
};
/// `networkValidator`, read by the network validator container.
pub static NETWORK_VALIDATOR: Deref = Deref {
    key: "networkValidator",
    read_at: "charts/partials/templates/_network-validator.tpl:6",
    when: "cniEnabled is true",
    failure: template(
        &[
            VALIDATOR_INCLUDE,
            frame(
                "patch/charts/partials/templates/_network-validator.tpl:6:17",
                VALIDATOR,
                ".Values.networkValidator.enableSecurityContext",
            ),
        ],
        "nil pointer evaluating interface {}.enableSecurityContext",
    ),
};
/// `identity`, for the projected token volume.
pub static IDENTITY: Deref = Deref {
    key: "identity",
    read_at: "charts/patch/templates/patch.json:125",
    when: "",
    failure: template(
        &[frame(
            "patch/templates/patch.json:125:16",
            PATCH,
            ".Values.identity.serviceAccountTokenProjection",
        )],
        "nil pointer evaluating interface {}.serviceAccountTokenProjection",
    ),
};
/// `proxy.ports`, first read by the proxy container when there is no proxy-init.
pub static PROXY_PORTS: Deref = Deref {
    key: "proxy.ports",
    read_at: "charts/partials/templates/_proxy.tpl:111",
    when: "cniEnabled is true",
    failure: template(
        &[
            PROXY_INCLUDE,
            frame(
                "patch/charts/partials/templates/_proxy.tpl:111:78",
                PROXY_TPL,
                ".Values.proxy.ports.control",
            ),
        ],
        "nil pointer evaluating interface {}.control",
    ),
};
/// `proxy.metrics`.
pub static METRICS: Deref = Deref {
    key: "proxy.metrics",
    read_at: "charts/partials/templates/_proxy.tpl:147",
    when: "",
    failure: template(
        &[
            PROXY_INCLUDE,
            frame(
                "patch/charts/partials/templates/_proxy.tpl:147:19",
                PROXY_TPL,
                ".Values.proxy.metrics.hostnameLabels",
            ),
        ],
        "nil pointer evaluating interface {}.hostnameLabels",
    ),
};
/// `proxy.tracing.collector`.
pub static TRACING_COLLECTOR: Deref = Deref {
    key: "proxy.tracing.collector",
    read_at: "charts/partials/templates/_proxy.tpl:157",
    when: "proxy.tracing.enabled is true",
    failure: template(
        &[
            PROXY_INCLUDE,
            frame(
                "patch/charts/partials/templates/_proxy.tpl:157:20",
                PROXY_TPL,
                ".Values.proxy.tracing.collector.endpoint",
            ),
        ],
        "nil pointer evaluating interface {}.endpoint",
    ),
};
/// `proxy.tracing.collector.meshIdentity`.
pub static TRACING_IDENTITY: Deref = Deref {
    key: "proxy.tracing.collector.meshIdentity",
    read_at: "charts/partials/templates/_proxy.tpl:162",
    when: "proxy.tracing.enabled is true",
    failure: template(
        &[
            PROXY_INCLUDE,
            frame(
                "patch/charts/partials/templates/_proxy.tpl:162:20",
                PROXY_TPL,
                ".Values.proxy.tracing.collector.meshIdentity.serviceAccountName",
            ),
        ],
        "nil pointer evaluating interface {}.serviceAccountName",
    ),
};
/// `proxy.livenessProbe`.
pub static LIVENESS: Deref = probe(
    "proxy.livenessProbe",
    "charts/partials/templates/_proxy.tpl:255",
    "",
    &[
        PROXY_INCLUDE,
        frame(
            "patch/charts/partials/templates/_proxy.tpl:255:32",
            PROXY_TPL,
            ".Values.proxy.livenessProbe.initialDelaySeconds",
        ),
    ],
);
/// `proxy.readinessProbe`.
pub static READINESS: Deref = probe(
    "proxy.readinessProbe",
    "charts/partials/templates/_proxy.tpl:267",
    "",
    &[
        PROXY_INCLUDE,
        frame(
            "patch/charts/partials/templates/_proxy.tpl:267:32",
            PROXY_TPL,
            ".Values.proxy.readinessProbe.initialDelaySeconds",
        ),
    ],
);
/// `proxy.startupProbe`.
pub static STARTUP: Deref = probe(
    "proxy.startupProbe",
    "charts/partials/templates/_proxy.tpl:274",
    "proxy.nativeSidecar and proxy.await are true",
    &[
        PROXY_INCLUDE,
        frame(
            "patch/charts/partials/templates/_proxy.tpl:274:32",
            PROXY_TPL,
            ".Values.proxy.startupProbe.initialDelaySeconds",
        ),
    ],
);

const fn probe(
    key: &'static str,
    read_at: &'static str,
    when: &'static str,
    frames: &'static [Frame],
) -> Deref {
    Deref {
        key,
        read_at,
        when,
        failure: template(
            frames,
            "nil pointer evaluating interface {}.initialDelaySeconds",
        ),
    }
}

/// Every row, in the order upstream reads them for a pod obsboot meshes.
pub static TABLE: &[&Deref] = &[
    &IDENTITY_REPORT,
    &PROXY,
    &IMAGE_OVERRIDE,
    &RESOURCES_OVERRIDE,
    &IMAGE,
    &DEBUG,
    &PROXY_INIT,
    &PORTS,
    &RESOURCES,
    &XT_MOUNT,
    &VALIDATOR_RESOURCES,
    &NETWORK_VALIDATOR,
    &IDENTITY,
    &PROXY_PORTS,
    &METRICS,
    &TRACING_COLLECTOR,
    &TRACING_IDENTITY,
    &LIVENESS,
    &READINESS,
    &STARTUP,
];
