//! The Linkerd proxy-injector, simulated from linkerd2 edge-26.8.3's source: it consumes the
//! control plane's configuration the way the real injector does, so a linkerd-config that
//! would break injection on a cluster breaks it here, with the same message.
//!
//! On every pod or Service creation the webhook covers, it reads the LIVE ConfigMaps the
//! injector pod mounts: linkerd-config's `values` (pkg/config/config.go `Values`: YAML 1.1
//! into the typed `Values` struct, no defaults merged) and linkerd-identity-trust-roots'
//! `ca-bundle.crt` (which overrides `identityTrustAnchorsPEM`, webhook.go). A pod that asks
//! to be meshed gets the patch of charts/patch/templates/patch.json: `linkerd-init` (or the
//! network validator with `cniEnabled`) and the `linkerd-proxy` native sidecar (or first
//! container, with `await`), their volumes, annotations (`linkerd.io/proxy-version`,
//! `linkerd.io/trust-root-sha256`, `linkerd.io/created-by` with the injector's image tag,
//! opaque ports) and labels (control-plane and workload namespaces, the owning workload).
//! Other pods and Services may get the opaque-ports annotation.
//!
//! Failures are upstream's:
//! - linkerd-config without `values`, or no `ca-bundle.crt`: denied, `open <file>: no such
//!   file or directory` (a missing ConfigMap reads the same here; on a cluster the injector
//!   pod would not start).
//! - A value of the wrong type (`uid: "2102"`): every covered pod and Service is denied with
//!   encoding/json's message for the earliest mismatch.
//! - A malformed `clusterNetworks` CIDR: denied, `cannot parse destination get networks`.
//! - `proxyInit.iptablesMode` not `nft` or `legacy` (empty included), `proxy.logHTTPHeaders`
//!   not `insecure`, `off` or empty, empty trust anchors, tracing without its collector:
//!   denied with the template's `fail` or `required` text.
//! - A value read through a pointer that is absent or null: see [`derefs::TABLE`], each row
//!   with the file and line that reads it. Template reads deny the pod (`nil pointer
//!   evaluating interface {}.<field>`, `index of untyped nil`): `proxy.ports`,
//!   `proxy.resources`, `proxyInit.xtMountPath`, `identity`, `proxy.metrics`,
//!   `proxy.livenessProbe`, `proxy.readinessProbe`, `proxy.startupProbe` (native sidecar
//!   with await), and with their options `networkValidator` (cniEnabled),
//!   `proxy.tracing.collector` and its `meshIdentity` (tracing). Go reads panic the handler,
//!   the API server's call fails and `failurePolicy: Ignore` admits the pod unmeshed:
//!   `proxy`, `proxy.image`, `proxyInit`, `identity` for a pod without a service-account
//!   token (Bookinfo's), `debugContainer.image` with the debug sidecar, and `proxy.image` or
//!   `proxy.resources` under the image or CPU and memory override annotations.
//!
//! What it still simplifies:
//! - Of the `config.linkerd.io/*` overrides only the log level, format and HTTP headers,
//!   the proxy image, version and pull policy, the proxy's CPU and memory requests and
//!   limits, opaque ports and the debug sidecar change the pod (all are passed on from the
//!   namespace); the debug image, port, uid, await, timeout, close-wait and additional-env
//!   annotations are ignored, as are tracing's label and annotation attributes.
//! - YAML errors in linkerd-config are worded by saphyr, not libyaml; merge keys (`<<`) are
//!   not expanded; a float coerced into a string field is printed at Rust's shortest form.
//! - `[]v1.EnvVar` entries' `valueFrom` is not type-checked; the webhooks' embedded TLS
//!   fields are always written out.
//! - Output the real API server would refuse (a container port 0 from a missing port, an
//!   env value the template left a number) is stored as it is.

mod decode;
pub mod derefs;
mod env;
mod env_identity;
mod gotmpl;
mod ops;
mod overrides;
mod proxy;
mod proxy_init;
mod schema;
mod webhook;
mod yaml11;

pub use ops::without_nulls;
pub use webhook::{Answer, mounted_values, review};
