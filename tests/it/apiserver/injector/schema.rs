//! The shape of the Go struct the proxy-injector decodes linkerd-config's `values` into:
//! `Values` and the types it holds, field for field, from linkerd2 edge-26.8.3
//! pkg/charts/linkerd2/values.go (and `corev1.EnvVar`, `metav1.LabelSelector` from
//! k8s.io/api and apimachinery). A pointer, map or slice the file leaves out (or sets to
//! null) stays nil, and reaches the chart templates as null; a scalar it leaves out is the
//! zero value.

use std::sync::OnceLock;

/// A Go type, as encoding/json sees it.
#[derive(Debug)]
pub enum Ty {
    /// A string (or a named string type such as `v1.LabelSelectorOperator`).
    Str(&'static str),
    /// `bool`.
    Bool,
    /// An integer type: its Go name and whether it is unsigned, and its bits.
    Int(&'static str, bool, u32),
    /// `float32` or `float64`.
    Float(&'static str),
    /// `interface{}`.
    Any,
    /// A pointer to the inner type.
    Ptr(Box<Ty>),
    /// A struct (promoted fields of embedded structs flattened in).
    Struct(Struct),
    /// `map[string]T`.
    Map(Box<Ty>),
    /// `[]T`.
    Slice(Box<Ty>),
}

/// A struct type.
#[derive(Debug)]
pub struct Struct {
    /// Its name as `reflect.Type.Name()` gives it (`Proxy`).
    pub name: &'static str,
    /// Its package (`linkerd2`, `v1`).
    pub package: &'static str,
    /// Its fields, in declaration order.
    pub fields: Vec<Field>,
}

/// A struct field.
#[derive(Debug)]
pub struct Field {
    /// The JSON name from its tag.
    pub json: &'static str,
    /// Its type.
    pub ty: Ty,
    /// `omitempty`: left out of the marshalled form when empty (never for structs).
    pub omitempty: bool,
}

impl Ty {
    /// The type as `reflect.Type.String()` writes it, pointers followed (encoding/json
    /// reports the pointee).
    pub fn go_name(&self) -> String {
        match self {
            Self::Str(name) | Self::Int(name, ..) | Self::Float(name) => (*name).to_owned(),
            Self::Bool => "bool".into(),
            Self::Any => "interface {}".into(),
            Self::Ptr(inner) => inner.go_name(),
            Self::Struct(s) => format!("{}.{}", s.package, s.name),
            Self::Map(elem) => format!("map[string]{}", elem.go_name()),
            Self::Slice(elem) => format!("[]{}", elem.go_name()),
        }
    }
}

const fn string() -> Ty {
    Ty::Str("string")
}
const fn int(name: &'static str) -> Ty {
    Ty::Int(name, false, 64)
}
fn ptr(ty: Ty) -> Ty {
    Ty::Ptr(Box::new(ty))
}
fn map(ty: Ty) -> Ty {
    Ty::Map(Box::new(ty))
}
fn slice(ty: Ty) -> Ty {
    Ty::Slice(Box::new(ty))
}
fn f(json: &'static str, ty: Ty) -> Field {
    Field {
        json,
        ty,
        omitempty: false,
    }
}
fn omit(json: &'static str, ty: Ty) -> Field {
    Field {
        json,
        ty,
        omitempty: true,
    }
}
fn st(name: &'static str, fields: Vec<Field>) -> Ty {
    Ty::Struct(Struct {
        name,
        package: "linkerd2",
        fields,
    })
}

/// `Values`.
pub fn values() -> &'static Ty {
    static VALUES: OnceLock<Ty> = OnceLock::new();
    VALUES.get_or_init(build)
}

fn int32() -> Ty {
    Ty::Int("int32", false, 32)
}
fn uint() -> Ty {
    Ty::Int("uint", true, 64)
}
fn strings() -> Ty {
    map(string())
}
fn env() -> Ty {
    let var = Ty::Struct(Struct {
        name: "EnvVar",
        package: "v1",
        fields: vec![
            f("name", string()),
            f("value", string()),
            f("valueFrom", Ty::Any),
        ],
    });
    slice(var)
}
fn resources() -> Ty {
    let constraints = || {
        st(
            "Constraints",
            vec![f("limit", string()), f("request", string())],
        )
    };
    st(
        "Resources",
        vec![
            f("cpu", constraints()),
            f("memory", constraints()),
            f("ephemeral-storage", constraints()),
        ],
    )
}
fn image() -> Ty {
    st(
        "Image",
        vec![
            f("name", string()),
            f("pullPolicy", string()),
            f("version", string()),
        ],
    )
}
fn capabilities() -> Ty {
    st(
        "Capabilities",
        vec![f("add", slice(string())), f("drop", slice(string()))],
    )
}
fn mount() -> Ty {
    st(
        "VolumeMountPath",
        vec![
            f("name", string()),
            f("mountPath", string()),
            f("readOnly", Ty::Bool),
        ],
    )
}
fn probe() -> Ty {
    st(
        "Probe",
        vec![
            f("initialDelaySeconds", uint()),
            f("timeoutSeconds", uint()),
        ],
    )
}
fn tracing() -> Ty {
    let identity = st(
        "TracingCollectorIdentity",
        vec![f("serviceAccountName", string()), f("namespace", string())],
    );
    let collector = st(
        "TracingCollector",
        vec![f("endpoint", string()), f("meshIdentity", ptr(identity))],
    );
    st(
        "Tracing",
        vec![
            f("enabled", Ty::Bool),
            f("protocol", string()),
            f("labels", strings()),
            f("traceServiceName", string()),
            f("collector", ptr(collector)),
        ],
    )
}
fn selector() -> Ty {
    let requirement = Ty::Struct(Struct {
        name: "LabelSelectorRequirement",
        package: "v1",
        fields: vec![
            f("key", string()),
            f("operator", Ty::Str("v1.LabelSelectorOperator")),
            f("values", slice(string())),
        ],
    });
    Ty::Struct(Struct {
        name: "LabelSelector",
        package: "v1",
        fields: vec![
            f("matchLabels", strings()),
            f("matchExpressions", slice(requirement)),
        ],
    })
}
/// `Webhook` with its embedded `*TLS`, as the fields they promote.
fn webhook_fields() -> Vec<Field> {
    vec![
        f("externalSecret", Ty::Bool),
        f("keyPEM", string()),
        f("crtPEM", string()),
        f("caBundle", string()),
        f("injectCaFrom", string()),
        f("injectCaFromSecret", string()),
        f("namespaceSelector", ptr(selector())),
    ]
}

fn proxy() -> Ty {
    let ports = st(
        "Ports",
        vec![
            f("admin", int32()),
            f("control", int32()),
            f("inbound", int32()),
            f("outbound", int32()),
        ],
    );
    let streams = st(
        "ProxyControlStreams",
        vec![
            f("initialTimeout", string()),
            f("idleTimeout", string()),
            f("lifetime", string()),
        ],
    );
    let startup = st(
        "StartupProbe",
        vec![
            f("initialDelaySeconds", uint()),
            f("periodSeconds", uint()),
            f("failureThreshold", uint()),
        ],
    );
    let workers = st(
        "ProxyRuntimeWorkers",
        vec![
            omit("maximum", int("int64")),
            omit("minimum", int("int64")),
            omit("maximumCPURatio", Ty::Float("float64")),
        ],
    );
    let params = || map(map(map(Ty::Any)));
    let b = |json| f(json, Ty::Bool);
    let s = |json| f(json, string());
    st(
        "Proxy",
        vec![
            f("capabilities", ptr(capabilities())),
            b("enableExternalProfiles"),
            f("image", ptr(image())),
            b("enableShutdownEndpoint"),
            s("logLevel"),
            s("logFormat"),
            s("logHTTPHeaders"),
            f("saMountPath", ptr(mount())),
            f("ports", ptr(ports)),
            f("resources", ptr(resources())),
            f("uid", int("int64")),
            f("gid", int("int64")),
            f("waitBeforeExitSeconds", Ty::Int("uint64", true, 64)),
            b("isGateway"),
            b("isIngress"),
            s("requireIdentityOnInboundPorts"),
            s("outboundConnectTimeout"),
            s("inboundConnectTimeout"),
            s("outboundDiscoveryCacheUnusedTimeout"),
            s("inboundDiscoveryCacheUnusedTimeout"),
            b("disableOutboundProtocolDetectTimeout"),
            b("disableInboundProtocolDetectTimeout"),
            s("podInboundPorts"),
            s("opaquePorts"),
            b("await"),
            s("defaultInboundPolicy"),
            s("outboundTransportMode"),
            s("accessLog"),
            s("shutdownGracePeriod"),
            b("nativeSidecar"),
            f("startupProbe", ptr(startup)),
            f("readinessProbe", ptr(probe())),
            f("livenessProbe", ptr(probe())),
            f(
                "control",
                ptr(st("ProxyControl", vec![f("streams", ptr(streams))])),
            ),
            f(
                "metrics",
                ptr(st("ProxyMetrics", vec![f("hostnameLabels", Ty::Bool)])),
            ),
            f("tracing", ptr(tracing())),
            f("additionalEnv", env()),
            f("experimentalEnv", env()),
            omit("inbound", params()),
            omit("outbound", params()),
            omit("cores", int("int64")),
            omit(
                "runtime",
                st("ProxyRuntime", vec![omit("workers", workers)]),
            ),
            f("securityContext", map(Ty::Any)),
        ],
    )
}

fn proxy_init() -> Ty {
    let s = |json| f(json, string());
    st(
        "ProxyInit",
        vec![
            f("capabilities", ptr(capabilities())),
            s("ignoreInboundPorts"),
            s("ignoreOutboundPorts"),
            s("kubeAPIServerPorts"),
            s("skipSubnets"),
            s("logLevel"),
            s("logFormat"),
            f("saMountPath", ptr(mount())),
            f("xtMountPath", ptr(mount())),
            f("resources", ptr(resources())),
            f("closeWaitTimeoutSecs", int("int64")),
            f("privileged", Ty::Bool),
            f("runAsRoot", Ty::Bool),
            f("runAsUser", int("int64")),
            f("runAsGroup", int("int64")),
            s("iptablesMode"),
        ],
    )
}

#[allow(clippy::too_many_lines)] // One struct, field by field in upstream's order.
fn build() -> Ty {
    let s = |json| f(json, string());
    let b = |json| f(json, Ty::Bool);
    let pdb = st("PodDisruptionBudget", vec![s("maxUnavailable")]);
    let controller = st(
        "Controller",
        vec![
            f("podDisruptionBudget", ptr(pdb)),
            f("tracing", ptr(tracing())),
        ],
    );
    let configs = st("ConfigJSONs", vec![s("global"), s("proxy"), s("install")]);
    let destination = st(
        "DestinationController",
        vec![
            f("meshedHttp2ClientProtobuf", map(Ty::Any)),
            f("podAnnotations", strings()),
        ],
    );
    let component = |name| {
        st(
            name,
            vec![b("enabled"), omit("honorTimestamps", ptr(Ty::Bool))],
        )
    };
    let monitor_controller = st(
        "PodMonitorController",
        vec![
            b("enabled"),
            s("namespaceSelector"),
            omit("honorTimestamps", ptr(Ty::Bool)),
        ],
    );
    let pod_monitor = st(
        "PodMonitor",
        vec![
            b("enabled"),
            s("scrapeInterval"),
            s("scrapeTimeout"),
            f("controller", ptr(monitor_controller)),
            f("serviceMirror", ptr(component("PodMonitorComponent"))),
            f("proxy", ptr(component("PodMonitorComponent"))),
        ],
    );
    let policy = st(
        "PolicyController",
        vec![
            f("resources", ptr(resources())),
            s("logLevel"),
            f("probeNetworks", slice(string())),
        ],
    );
    let validator = st(
        "NetworkValidator",
        vec![
            s("logLevel"),
            s("logFormat"),
            s("connectAddr"),
            s("listenAddr"),
            s("timeout"),
            f("securityContext", map(Ty::Any)),
        ],
    );
    let kube_api = || {
        st(
            "KubeAPI",
            vec![
                f("clientQPS", Ty::Float("float32")),
                f("clientBurst", int("int")),
            ],
        )
    };
    let issuer = st(
        "Issuer",
        vec![
            s("scheme"),
            s("clockSkewAllowance"),
            s("issuanceLifetime"),
            f("tls", ptr(st("IssuerTLS", vec![s("keyPEM"), s("crtPEM")]))),
        ],
    );
    let identity = st(
        "Identity",
        vec![
            b("externalCA"),
            b("serviceAccountTokenProjection"),
            f("issuer", ptr(issuer)),
            f("kubeAPI", ptr(kube_api())),
            f("podAnnotations", strings()),
            f("additionalEnv", env()),
            f("experimentalEnv", env()),
        ],
    );
    let debug = st("DebugContainer", vec![f("image", ptr(image()))]);
    let mut injector_fields = webhook_fields();
    injector_fields.extend([
        f("podAnnotations", strings()),
        f("additionalEnv", env()),
        f("experimentalEnv", env()),
    ]);
    let injector = st("ProxyInjector", injector_fields);
    let webhook = || st("Webhook", webhook_fields());
    let egress = st("Egress", vec![s("globalEgressNetworkNamespace")]);
    st(
        "Values",
        vec![
            s("controllerImage"),
            f("controllerReplicas", uint()),
            f("controllerUID", int("int64")),
            f("controllerGID", int("int64")),
            b("enableH2Upgrade"),
            b("enablePodAntiAffinity"),
            f("nodeAffinity", map(Ty::Any)),
            b("enablePodDisruptionBudget"),
            f("controller", ptr(controller)),
            s("webhookFailurePolicy"),
            omit("deploymentStrategy", map(Ty::Any)),
            b("disableHeartBeat"),
            s("heartbeatSchedule"),
            f("configs", configs),
            s("clusterDomain"),
            s("clusterNetworks"),
            s("imagePullPolicy"),
            s("cliVersion"),
            s("controllerLogLevel"),
            s("controllerLogFormat"),
            s("proxyContainerName"),
            b("highAvailability"),
            b("cniEnabled"),
            b("enableEndpointSlices"),
            b("disableIPv6"),
            s("identityTrustAnchorsPEM"),
            s("identityTrustDomain"),
            s("prometheusUrl"),
            f("imagePullSecrets", slice(strings())),
            s("linkerdVersion"),
            f("revisionHistoryLimit", uint()),
            f("destinationController", ptr(destination)),
            f("heartbeat", map(Ty::Any)),
            f("spValidator", map(Ty::Any)),
            f("podAnnotations", strings()),
            f("podLabels", strings()),
            s("priorityClassName"),
            f("podMonitor", ptr(pod_monitor)),
            f("policyController", ptr(policy)),
            f("proxy", ptr(proxy())),
            f("proxyInit", ptr(proxy_init())),
            f("networkValidator", ptr(validator)),
            f("identity", ptr(identity)),
            f("debugContainer", ptr(debug)),
            f("proxyInjector", ptr(injector)),
            f("profileValidator", ptr(webhook())),
            f("policyValidator", ptr(webhook())),
            f("nodeSelector", strings()),
            f("tolerations", slice(Ty::Any)),
            f("destinationResources", ptr(resources())),
            f("heartbeatResources", ptr(resources())),
            f("identityResources", ptr(resources())),
            f("proxyInjectorResources", ptr(resources())),
            f("destinationProxyResources", ptr(resources())),
            f("identityProxyResources", ptr(resources())),
            f("proxyInjectorProxyResources", ptr(resources())),
            f("egress", ptr(egress)),
        ],
    )
}
