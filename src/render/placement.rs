//! Placement and exposure, applied by typed edits of every rendered pod template: node
//! selector and tolerations from the workload's placement, host ports from its exposures
//! (and from nowhere else), and the `Recreate` strategy a pinned host-port Deployment needs.

use k8s_openapi::api::apps::v1::DeploymentStrategy;
use k8s_openapi::api::core::v1::{PodSpec, Toleration};

use super::object::Object;
use super::pods::{Owners, PodOwner};
use crate::diagnostic::Diagnostic;
use crate::field_path::FieldPath;
use crate::stack::{Cluster, Placement, Stack, Workload};

/// Applies each workload's placement and exposures to the objects of `stacks`. Every declared
/// workload must be rendered; every rendered pod template gets a placement (`anywhere` unless
/// declared). The edits are made to `typed`, the pod owners read from `objects`.
pub fn apply(
    objects: &[Object],
    typed: &mut Owners,
    stacks: &[&Stack],
    cluster: &Cluster,
) -> Vec<Diagnostic> {
    let mut errors = Vec::new();
    for stack in stacks {
        let owners: Vec<usize> = (0..objects.len())
            .filter(|&i| {
                objects[i].stack == stack.kind
                    && PodOwner::KINDS.contains(&objects[i].key.kind.as_str())
            })
            .collect();
        for workload in &stack.workloads {
            let matching = owners
                .iter()
                .filter(|&&i| objects[i].key.name == workload.name.as_str())
                .count();
            if matching != 1 {
                let rendered: Vec<String> =
                    owners.iter().map(|&i| objects[i].key.to_string()).collect();
                errors.push(
                    Diagnostic::new(
                        workload.at.clone(),
                        if matching == 0 {
                            format!("workload \"{}\" is declared, but stack {} renders no Deployment, DaemonSet, StatefulSet, Job or CronJob of that name", workload.name, stack.name())
                        } else {
                            format!("workload \"{}\" names {matching} rendered objects; rename one of them", workload.name)
                        },
                    )
                    .help(if rendered.is_empty() { "this stack renders no workloads".to_owned() } else { format!("its workloads are: {}", rendered.join(", ")) }),
                );
            }
        }
        for &index in &owners {
            let declared = stack
                .workloads
                .iter()
                .find(|w| w.name.as_str() == objects[index].key.name);
            let Some(owner) = typed.get_mut(index) else {
                continue;
            };
            if place(&objects[index], owner, declared, cluster, &mut errors) {
                typed.edited(index);
            }
        }
    }
    check_host_network(objects, typed, stacks, &mut errors);
    errors
}

/// A pod on the host network binds its container ports on the node itself; on the
/// control-plane node (placement control-plane or all-nodes) no exposure may claim them.
fn check_host_network(
    objects: &[Object],
    owners: &Owners,
    stacks: &[&Stack],
    errors: &mut Vec<Diagnostic>,
) {
    let mut bound: Vec<(i32, &Object)> = Vec::new();
    for stack in stacks {
        for (index, object) in objects
            .iter()
            .enumerate()
            .filter(|(_, o)| o.stack == stack.kind)
        {
            let placement = stack
                .workloads
                .iter()
                .find(|w| w.name.as_str() == object.key.name)
                .map_or(Placement::Anywhere, |w| w.placement);
            if placement == Placement::Anywhere {
                continue;
            }
            let Some(owner) = owners.get(index) else {
                continue;
            };
            let Some(pod) = owner.pod().filter(|pod| pod.host_network == Some(true)) else {
                continue;
            };
            for port in pod.containers.iter().flat_map(|c| c.ports.iter().flatten()) {
                bound.push((port.container_port, object));
            }
        }
    }
    for exposure in stacks
        .iter()
        .flat_map(|s| &s.workloads)
        .flat_map(|w| &w.exposures)
    {
        let port = i32::from(exposure.host_port.value.get());
        if let Some((_, object)) = bound.iter().find(|(bound, _)| *bound == port) {
            errors.push(
                Diagnostic::new(exposure.host_port.at.clone(), format!("host port {port} is already bound on the control-plane node by {} (host network)", object.key))
                    .help("choose another host port"),
            );
        }
    }
}

/// Places the pod of `owner`, read from `object`; returns whether the owner is to be written
/// back (it is placed and nothing failed).
fn place(
    object: &Object,
    owner: &mut PodOwner,
    declared: Option<&Workload>,
    cluster: &Cluster,
    errors: &mut Vec<Diagnostic>,
) -> bool {
    let pod_path = owner.pod_path();
    let replicas = owner.replicas();
    let Some(pod) = owner.pod_spec() else {
        return false;
    };
    let before = errors.len();
    refuse_template_host_ports(object, pod, &pod_path, errors);
    let placement = declared.map_or(Placement::Anywhere, |w| w.placement);
    let mut opened = Vec::new();
    for exposure in declared.iter().flat_map(|w| &w.exposures) {
        let wanted = i32::from(exposure.container_port.value.get());
        let port = pod
            .containers
            .iter_mut()
            .flat_map(|c| c.ports.iter_mut().flatten())
            .find(|p| {
                p.container_port == wanted
                    && p.protocol.as_deref().is_none_or(|proto| proto == "TCP")
            });
        if let Some(port) = port {
            port.host_port = Some(i32::from(exposure.host_port.value.get()));
            opened.push(exposure.host_port.value);
        } else {
            let ports: Vec<String> = pod
                .containers
                .iter()
                .flat_map(|c| {
                    c.ports
                        .iter()
                        .flatten()
                        .map(move |p| format!("{} in container {}", p.container_port, c.name))
                })
                .collect();
            errors.push(
                Diagnostic::new(
                    exposure.container_port.at.clone(),
                    format!("{} has no TCP container port {wanted}", object.key),
                )
                .help(if ports.is_empty() {
                    "its containers declare no ports".to_owned()
                } else {
                    format!("its container ports are: {}", ports.join(", "))
                }),
            );
        }
    }
    match placement {
        Placement::ControlPlane => {
            pin(object, pod, &pod_path, cluster, errors);
            tolerate(pod, cluster);
        }
        Placement::AllNodes => tolerate(pod, cluster),
        Placement::Anywhere => {}
    }
    if let (Some(first), Placement::ControlPlane) = (opened.first(), placement) {
        match replicas {
            Some(n) if n > 1 => errors.push(
                Diagnostic::new(
                    declared.and_then(|w| w.exposures.first()).map_or_else(|| object.origin.at(&pod_path), |e| e.host_port.at.clone()),
                    format!(
                        "{} runs {n} replicas on the one control-plane node, but only one pod there can bind host port {first}",
                        object.key
                    ),
                )
                .help("render it with `replicas: 1`"),
            ),
            _ => {
                if let PodOwner::Deployment(deployment) = &mut *owner
                    && let Some(spec) = deployment.spec.as_mut()
                {
                    // A rolling update would start the new pod before stopping the old one;
                    // it can never bind the host port on the only node it may run on.
                    spec.strategy = Some(DeploymentStrategy { type_: Some("Recreate".into()), rolling_update: None });
                }
            }
        }
    }
    errors.len() == before
}

/// Host ports come only from `expose` in a stack file: one declaration yields both the
/// port and its security-group rule. (Host-network pods bind node ports by nature and are
/// not affected.)
fn refuse_template_host_ports(
    object: &Object,
    pod: &PodSpec,
    pod_path: &FieldPath,
    errors: &mut Vec<Diagnostic>,
) {
    if pod.host_network == Some(true) {
        return;
    }
    let none = Vec::new();
    let lists = [
        ("containers", &pod.containers),
        (
            "initContainers",
            pod.init_containers.as_ref().unwrap_or(&none),
        ),
    ];
    for (list, containers) in lists {
        for (ci, container) in containers.iter().enumerate() {
            for (pi, port) in container.ports.iter().flatten().enumerate() {
                if let Some(host_port) = port.host_port {
                    let path = pod_path
                        .key(list)
                        .index(ci)
                        .key("ports")
                        .index(pi)
                        .key("hostPort");
                    errors.push(
                        Diagnostic::new(object.origin.at(&path), format!("{} sets hostPort {host_port} in its template", object.key))
                            .field(path.to_string())
                            .help("declare it under `workloads.<name>.expose` in the stack file instead, so the security-group rule follows from the same declaration"),
                    );
                }
            }
        }
    }
}

fn pin(
    object: &Object,
    pod: &mut PodSpec,
    pod_path: &FieldPath,
    cluster: &Cluster,
    errors: &mut Vec<Diagnostic>,
) {
    let selector = pod.node_selector.get_or_insert_with(Default::default);
    for (key, value) in &cluster.node_selector {
        match selector.get(key.as_str()) {
            Some(existing) if existing != value.as_str() => {
                let path = pod_path.key("nodeSelector").key(key);
                errors.push(
                    Diagnostic::new(
                        object.origin.at(&path),
                        format!("{} selects {key}=\"{existing}\", but placement control-plane needs {key}=\"{value}\"", object.key),
                    )
                    .field(path.to_string()),
                );
            }
            _ => {
                selector.insert(key.to_string(), value.to_string());
            }
        }
    }
}

fn tolerate(pod: &mut PodSpec, cluster: &Cluster) {
    let tolerations = pod.tolerations.get_or_insert_with(Vec::new);
    for taint in &cluster.taints {
        let covered = tolerations.iter().any(|t| {
            t.key.as_deref() == Some(taint.key.as_str())
                && t.operator.as_deref() == Some("Exists")
                && t.effect
                    .as_deref()
                    .is_none_or(|effect| effect == taint.effect.as_str())
        });
        if !covered {
            tolerations.push(Toleration {
                key: Some(taint.key.to_string()),
                operator: Some("Exists".into()),
                effect: Some(taint.effect.as_str().into()),
                ..Toleration::default()
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::object::Origin;
    use crate::source::{Location, SourceFile, Span};
    use crate::stack::StackKind;
    use crate::testing::platform;

    fn toleration(key: &str, effect: Option<&str>) -> Toleration {
        Toleration {
            key: Some(key.into()),
            operator: Some("Exists".into()),
            effect: effect.map(Into::into),
            ..Toleration::default()
        }
    }

    #[test]
    fn tolerations_are_added_once_and_respect_broader_ones() {
        let cluster = platform("[]", "").cluster;
        // A toleration without an effect already covers every effect of its key.
        let mut pod = PodSpec {
            tolerations: Some(vec![toleration("node-role.kubernetes.io/master", None)]),
            ..PodSpec::default()
        };
        tolerate(&mut pod, &cluster);
        tolerate(&mut pod, &cluster);
        assert_eq!(
            pod.tolerations,
            Some(vec![
                toleration("node-role.kubernetes.io/master", None),
                toleration("node-role.kubernetes.io/control-plane", Some("NoSchedule")),
            ])
        );
    }

    #[test]
    fn pinning_refuses_a_contradicting_node_selector() {
        let cluster = platform("[]", "").cluster;
        let file = SourceFile::new("t.yaml", "x: 1\n");
        let value = serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "n"}});
        let origin = Origin::Stack(Location::new(&file, Span::new(1, 1, 1)));
        let object =
            Object::new(value, origin, StackKind::Bookinfo).unwrap_or_else(|err| panic!("{err}"));
        let mut pod = PodSpec {
            node_selector: Some(
                [(
                    "node-role.kubernetes.io/control-plane".to_owned(),
                    "no".to_owned(),
                )]
                .into(),
            ),
            ..PodSpec::default()
        };
        let mut errors = Vec::new();
        pin(&object, &mut pod, &FieldPath::root(), &cluster, &mut errors);
        assert_eq!(errors.len(), 1);
        assert_eq!(
            errors[0].message,
            "Deployment n/d selects node-role.kubernetes.io/control-plane=\"no\", but placement control-plane needs node-role.kubernetes.io/control-plane=\"\""
        );
    }
}
