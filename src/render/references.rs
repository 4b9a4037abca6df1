//! What rendered objects refer to must be there: the Secrets, ConfigMaps and ServiceAccounts
//! pods use, the pods and ports Services select, the Services webhooks call, the roles and
//! accounts bindings name. Pods also get a checksum of the ConfigMaps they read only when
//! they start, so that a changed ConfigMap rolls them.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{Container, PodSpec, Service, Volume};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::object::Object;
use super::pods::{Owners, PodOwner};
use crate::diagnostic::Diagnostic;
use crate::field_path::FieldPath;
use crate::stack::SecretSpec;

/// The pod-template annotation holding the checksum of start-time ConfigMaps.
pub const CONFIG_CHECKSUM: &str = "obsboot.dev/config-checksum";
/// A ConfigMap annotation: its consumers read it only at start, however it is mounted.
pub const READ_AT_START: &str = "obsboot.dev/read-at-start";

/// ConfigMaps every namespace has.
const EVERYWHERE: &[&str] = &["kube-root-ca.crt"];
/// ClusterRoles every cluster has.
const BUILTIN_CLUSTER_ROLES: &[&str] = &["cluster-admin", "admin", "edit", "view"];

/// A reference from a pod to a ConfigMap or Secret.
struct Use {
    name: String,
    at: FieldPath,
    optional: bool,
    at_start: bool,
}

#[derive(Default)]
struct Uses {
    config_maps: Vec<Use>,
    secrets: Vec<Use>,
}

/// A rendered pod template.
struct Pod {
    namespace: String,
    labels: BTreeMap<String, String>,
    ports: Vec<(Option<String>, i32)>,
}

/// The names rendered objects can refer to.
struct Index {
    accounts: BTreeSet<(String, String)>,
    roles: BTreeSet<(String, String)>,
    cluster_roles: BTreeSet<(String, String)>,
    namespaces: BTreeSet<String>,
    config_maps: BTreeMap<(String, String), usize>,
}

impl Index {
    fn new(objects: &[Object]) -> Self {
        let named = |kind: &str| -> BTreeSet<(String, String)> {
            objects
                .iter()
                .filter(|o| o.key.kind == kind)
                .map(|o| (namespace(o), o.key.name.clone()))
                .collect()
        };
        Self {
            accounts: named("ServiceAccount"),
            roles: named("Role"),
            cluster_roles: named("ClusterRole"),
            namespaces: objects
                .iter()
                .filter(|o| o.key.kind == "Namespace")
                .map(|o| o.key.name.clone())
                .collect(),
            config_maps: objects
                .iter()
                .enumerate()
                .filter(|(_, o)| o.key.kind == "ConfigMap")
                .map(|(i, o)| ((namespace(o), o.key.name.clone()), i))
                .collect(),
        }
    }
}

fn namespace(object: &Object) -> String {
    object.key.namespace.clone().unwrap_or_default()
}

/// Checks every reference, sets the config checksums in `owners` (read from `objects`);
/// `secrets` are those bootstrap creates.
pub fn check(objects: &[Object], owners: &mut Owners, secrets: &[SecretSpec]) -> Vec<Diagnostic> {
    let mut errors = Vec::new();
    let index = Index::new(objects);
    let mut used_secrets = BTreeSet::new();
    let mut pods = Vec::new();
    for at in 0..objects.len() {
        if let Some(pod) = check_pod(
            objects,
            owners,
            at,
            &index,
            secrets,
            &mut used_secrets,
            &mut errors,
        ) {
            pods.push(pod);
        }
    }
    // The trust anchor's key is bootstrap's own, to sign issuers: no pod is meant to use it.
    let for_pods = secrets
        .iter()
        .filter(|s| s.kind != crate::stack::SecretKind::LinkerdTrustAnchor);
    for secret in for_pods {
        if !used_secrets.contains(&(secret.namespace.clone(), secret.name.clone())) {
            tracing::warn!(
                "bootstrap creates Secret {}/{}, but no rendered pod uses it",
                secret.namespace,
                secret.name
            );
        }
    }
    for object in objects {
        match object.key.kind.as_str() {
            "Service" => check_service(object, &pods, &mut errors),
            "MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration" => {
                check_webhooks(object, objects, &mut errors);
            }
            "RoleBinding" | "ClusterRoleBinding" => check_binding(object, &index, &mut errors),
            _ => {}
        }
    }
    errors
}

/// Checks what the pod template of `objects[at]` (if it has one) uses, and sets its config
/// checksum.
fn check_pod(
    objects: &[Object],
    owners: &mut Owners,
    at: usize,
    index: &Index,
    secrets: &[SecretSpec],
    used_secrets: &mut BTreeSet<(String, String)>,
    errors: &mut Vec<Diagnostic>,
) -> Option<Pod> {
    let owner = owners.get(at)?;
    let namespace = namespace(&objects[at]);
    let pod_path = owner.pod_path();
    let spec = owner.pod()?;
    let account = spec
        .service_account_name
        .clone()
        .unwrap_or_else(|| "default".into());
    if account != "default"
        && !index
            .accounts
            .contains(&(namespace.clone(), account.clone()))
    {
        let path = pod_path.key("serviceAccountName");
        errors.push(missing(
            &objects[at],
            &path,
            &format!("ServiceAccount \"{account}\""),
            "no stack renders it",
        ));
    }
    let uses = uses(spec, &pod_path);
    let ports = spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .flat_map(|c| {
            c.ports
                .iter()
                .flatten()
                .map(|p| (p.name.clone(), p.container_port))
        })
        .collect();
    for secret in &uses.secrets {
        if secrets
            .iter()
            .any(|s| s.namespace == namespace && s.name == secret.name)
        {
            used_secrets.insert((namespace.clone(), secret.name.clone()));
        } else if !secret.optional {
            errors.push(missing(
                &objects[at],
                &secret.at,
                &format!("Secret \"{}\"", secret.name),
                "bootstrap does not create it",
            ));
        }
    }
    let mut read_at_start = Vec::new();
    for config_map in &uses.config_maps {
        match index
            .config_maps
            .get(&(namespace.clone(), config_map.name.clone()))
        {
            Some(&found) => {
                let annotated =
                    objects[found].value["metadata"]["annotations"][READ_AT_START] == "true";
                if config_map.at_start || annotated {
                    read_at_start.push(found);
                }
            }
            None if config_map.optional || EVERYWHERE.contains(&config_map.name.as_str()) => {}
            None => {
                let what = format!("ConfigMap \"{}\"", config_map.name);
                errors.push(missing(
                    &objects[at],
                    &config_map.at,
                    &what,
                    "no stack renders it",
                ));
            }
        }
    }
    let labels = owner
        .template_ref()
        .and_then(|template| template.metadata.as_ref())
        .and_then(|m| m.labels.clone())
        .unwrap_or_default();
    read_at_start.sort_unstable();
    read_at_start.dedup();
    if !read_at_start.is_empty() {
        let checksum = checksum(read_at_start.iter().map(|&i| &objects[i]));
        if let Some(metadata) = owners.get_mut(at).and_then(PodOwner::pod_metadata) {
            metadata
                .annotations
                .get_or_insert_with(BTreeMap::new)
                .insert(CONFIG_CHECKSUM.into(), checksum);
        }
        owners.edited(at);
    }
    Some(Pod {
        namespace,
        labels,
        ports,
    })
}

fn missing(object: &Object, at: &FieldPath, what: &str, why: &str) -> Diagnostic {
    Diagnostic::new(
        object.origin.at(at),
        format!("{} uses {what}, but {why}", object.key),
    )
    .field(at.to_string())
}

/// The ConfigMaps and Secrets a pod uses, and whether it reads each only at start (through
/// the environment or a `subPath` mount, which kubelet never updates).
fn uses(spec: &PodSpec, pod: &FieldPath) -> Uses {
    let mut uses = Uses::default();
    let none = Vec::new();
    let lists = [
        ("containers", &spec.containers),
        (
            "initContainers",
            spec.init_containers.as_ref().unwrap_or(&none),
        ),
    ];
    let mut sub_path_volumes = BTreeSet::new();
    for (list, containers) in lists {
        for (index, container) in containers.iter().enumerate() {
            for mount in container
                .volume_mounts
                .iter()
                .flatten()
                .filter(|m| m.sub_path.is_some())
            {
                sub_path_volumes.insert(mount.name.clone());
            }
            environment_uses(container, &pod.key(list).index(index), &mut uses);
        }
    }
    for (v, volume) in spec.volumes.iter().flatten().enumerate() {
        volume_uses(
            volume,
            &pod.key("volumes").index(v),
            sub_path_volumes.contains(&volume.name),
            &mut uses,
        );
    }
    uses
}

/// What a container reads into its environment, always at start.
fn environment_uses(container: &Container, at: &FieldPath, uses: &mut Uses) {
    let each = |name: &str, at: FieldPath, optional: Option<bool>| Use {
        name: name.to_owned(),
        at,
        optional: optional == Some(true),
        at_start: true,
    };
    for (e, env) in container.env.iter().flatten().enumerate() {
        let Some(source) = &env.value_from else {
            continue;
        };
        let here = at.key("env").index(e).key("valueFrom");
        if let Some(key) = &source.config_map_key_ref {
            uses.config_maps.push(each(
                &key.name,
                here.key("configMapKeyRef").key("name"),
                key.optional,
            ));
        }
        if let Some(key) = &source.secret_key_ref {
            uses.secrets.push(each(
                &key.name,
                here.key("secretKeyRef").key("name"),
                key.optional,
            ));
        }
    }
    for (e, source) in container.env_from.iter().flatten().enumerate() {
        let here = at.key("envFrom").index(e);
        if let Some(map) = &source.config_map_ref {
            uses.config_maps.push(each(
                &map.name,
                here.key("configMapRef").key("name"),
                map.optional,
            ));
        }
        if let Some(secret) = &source.secret_ref {
            uses.secrets.push(each(
                &secret.name,
                here.key("secretRef").key("name"),
                secret.optional,
            ));
        }
    }
}

/// What a volume mounts; read only at start when some container mounts it with `subPath`.
fn volume_uses(volume: &Volume, at: &FieldPath, at_start: bool, uses: &mut Uses) {
    let each = |name: &str, at: FieldPath, optional: Option<bool>| Use {
        name: name.to_owned(),
        at,
        optional: optional == Some(true),
        at_start,
    };
    if let Some(map) = &volume.config_map {
        uses.config_maps.push(each(
            &map.name,
            at.key("configMap").key("name"),
            map.optional,
        ));
    }
    if let Some(secret) = &volume.secret {
        let name = secret.secret_name.as_deref().unwrap_or_default();
        uses.secrets.push(each(
            name,
            at.key("secret").key("secretName"),
            secret.optional,
        ));
    }
    for (s, source) in volume
        .projected
        .iter()
        .flat_map(|p| p.sources.iter().flatten())
        .enumerate()
    {
        let here = at.key("projected").key("sources").index(s);
        if let Some(map) = &source.config_map {
            uses.config_maps.push(each(
                &map.name,
                here.key("configMap").key("name"),
                map.optional,
            ));
        }
        if let Some(secret) = &source.secret {
            uses.secrets.push(each(
                &secret.name,
                here.key("secret").key("name"),
                secret.optional,
            ));
        }
    }
}

/// A digest of the ConfigMaps' contents, stable across renders.
fn checksum<'a>(config_maps: impl Iterator<Item = &'a Object>) -> String {
    let mut hasher = Sha256::new();
    for config_map in config_maps {
        hasher.update(config_map.key.name.as_bytes());
        hasher.update([0]);
        for field in ["data", "binaryData"] {
            hasher.update(
                config_map
                    .value
                    .get(field)
                    .map(Value::to_string)
                    .unwrap_or_default()
                    .as_bytes(),
            );
            hasher.update([0]);
        }
    }
    super::filters::hex(&hasher.finalize())
}

/// A Service's selector must select rendered pods, and its named target ports must be theirs.
fn check_service(object: &Object, pods: &[Pod], errors: &mut Vec<Diagnostic>) {
    let Ok(service) = object.typed::<Service>() else {
        return;
    };
    let Some(spec) = service.spec else { return };
    let selector = spec.selector.unwrap_or_default();
    if selector.is_empty() {
        return;
    }
    let namespace = object.key.namespace.clone().unwrap_or_default();
    let selected: Vec<&Pod> = pods
        .iter()
        .filter(|pod| {
            pod.namespace == namespace && selector.iter().all(|(k, v)| pod.labels.get(k) == Some(v))
        })
        .collect();
    let spec_path = FieldPath::root().key("spec");
    if selected.is_empty() {
        let wanted: Vec<String> = selector.iter().map(|(k, v)| format!("{k}={v}")).collect();
        errors.push(
            Diagnostic::new(
                object.origin.at(&spec_path.key("selector")),
                format!(
                    "{} selects no rendered pod ({})",
                    object.key,
                    wanted.join(",")
                ),
            )
            .field("spec.selector"),
        );
        return;
    }
    for (index, port) in spec.ports.iter().flatten().enumerate() {
        let Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String(target)) =
            &port.target_port
        else {
            continue;
        };
        let served = selected.iter().any(|pod| {
            pod.ports
                .iter()
                .any(|(name, _)| name.as_deref() == Some(target.as_str()))
        });
        if !served {
            let at = spec_path.key("ports").index(index).key("targetPort");
            errors.push(
                Diagnostic::new(
                    object.origin.at(&at),
                    format!(
                        "{} targets port \"{target}\", which no pod it selects names",
                        object.key
                    ),
                )
                .field(at.to_string()),
            );
        }
    }
}

/// A webhook must call a rendered Service on one of its ports.
fn check_webhooks(object: &Object, objects: &[Object], errors: &mut Vec<Diagnostic>) {
    for (index, webhook) in object.value["webhooks"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let service = &webhook["clientConfig"]["service"];
        let (Some(namespace), Some(name)) =
            (service["namespace"].as_str(), service["name"].as_str())
        else {
            continue;
        };
        let port = service["port"].as_i64().unwrap_or(443);
        let at = FieldPath::root()
            .key("webhooks")
            .index(index)
            .key("clientConfig")
            .key("service");
        let target = objects.iter().find(|o| {
            o.key.kind == "Service"
                && o.key.namespace.as_deref() == Some(namespace)
                && o.key.name == name
        });
        match target {
            None => errors.push(missing(
                object,
                &at,
                &format!("Service {namespace}/{name}"),
                "no stack renders it",
            )),
            Some(service)
                if !service.value["spec"]["ports"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|p| p["port"].as_i64() == Some(port)) =>
            {
                errors.push(missing(
                    object,
                    &at,
                    &format!("port {port} of Service {namespace}/{name}"),
                    "the Service has no such port",
                ));
            }
            Some(_) => {}
        }
    }
}

/// A binding's role must exist (rendered, or built into Kubernetes), and the accounts it
/// binds in obsboot's namespaces must be rendered.
fn check_binding(object: &Object, index: &Index, errors: &mut Vec<Diagnostic>) {
    let role = &object.value["roleRef"];
    let name = role["name"].as_str().unwrap_or_default();
    let found = if role["kind"] == "ClusterRole" {
        index
            .cluster_roles
            .contains(&(String::new(), name.to_owned()))
            || name.starts_with("system:")
            || BUILTIN_CLUSTER_ROLES.contains(&name)
    } else {
        let namespace = namespace(object);
        // kube-system's roles for extension API servers come with every cluster.
        index.roles.contains(&(namespace.clone(), name.to_owned()))
            || (namespace == "kube-system" && name.starts_with("extension-apiserver-"))
    };
    if !found {
        errors.push(missing(
            object,
            &FieldPath::root().key("roleRef"),
            &format!("{} \"{name}\"", role["kind"].as_str().unwrap_or("role")),
            "no stack renders it",
        ));
    }
    for (position, subject) in object.value["subjects"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let (Some("ServiceAccount"), Some(namespace), Some(account)) = (
            subject["kind"].as_str(),
            subject["namespace"].as_str(),
            subject["name"].as_str(),
        ) else {
            continue;
        };
        if index.namespaces.contains(namespace)
            && !index
                .accounts
                .contains(&(namespace.to_owned(), account.to_owned()))
        {
            let at = FieldPath::root().key("subjects").index(position);
            errors.push(missing(
                object,
                &at,
                &format!("ServiceAccount {namespace}/{account}"),
                "no stack renders it",
            ));
        }
    }
}
