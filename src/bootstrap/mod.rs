//! `bootstrap`: from a fresh cluster to the whole platform running and meshed, in groups of
//! objects that each start as soon as what they need is ready (see [`graph`]); run again,
//! and nothing changes.

mod apply;
pub mod control_plane;
mod execute;
pub mod graph;
mod mesh;
pub mod namespaces;
pub mod network;
pub mod preflight;
pub mod report;
pub mod secrets;

use std::collections::BTreeSet;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

pub use apply::{APPLY_ANNOTATION, Action, Before};
pub use graph::Group;
pub use mesh::unmeshed_pods;
pub use report::Report;

use crate::aws::{self, AwsError};
use crate::k8s::inventory::{Entry, Inventory};
use crate::k8s::{Cluster, Deleted, K8sError, Target, Until};
use crate::progress::Progress;
use crate::render::{Object, RenderError, Slots};
use crate::secrets::SecretsError;
use crate::selection::Selection;
use crate::stack::{Spec, StackKind};

/// What bootstrap needs.
pub struct Params<'a> {
    /// The stacks to bootstrap.
    pub stacks: Selection<'a>,
    /// The cluster.
    pub target: Target,
    /// `--force-conflicts`.
    pub force_conflicts: bool,
    /// The bound on each wait.
    pub timeout: Duration,
    /// How to find the security group; `None` leaves it to the user.
    pub security_groups: Option<aws::Settings>,
    /// How to check the endpoints at the end; `None` skips the check.
    pub verify: Option<VerifyParams>,
    /// Take the installation's lock even from a live holder (`--break-lock`).
    pub break_lock: bool,
    /// The network pre-flight; `None` skips it (`--skip-doctor`).
    pub doctor: Option<network::Mode>,
}

/// How bootstrap checks the endpoints once the ports are open.
#[derive(Debug, Clone)]
pub struct VerifyParams {
    /// The host to probe instead of the node's public address (`--url-base`).
    pub host: Option<String>,
    /// The bound on each probe.
    pub timeout: Duration,
}

/// Why bootstrap stopped.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    /// A cluster operation failed.
    #[error(transparent)]
    Kube(#[from] K8sError),
    /// Finding or changing the security group failed.
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// Generated or provided material failed.
    #[error(transparent)]
    Secrets(#[from] SecretsError),
    /// The stacks did not render.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// The network between the nodes is not ready.
    #[error(transparent)]
    Network(#[from] network::NetworkError),
    /// The cluster cannot give the stacks what they ask for.
    #[error(transparent)]
    Preflight(#[from] preflight::PreflightError),
    /// No node matches the control-plane selector that pinned workloads use.
    #[error(transparent)]
    ControlPlane(#[from] control_plane::ControlPlaneError),
    /// A group failed; names it and what was applied so far.
    #[error(
        "bootstrap stopped at \"{group}\" ({applied} objects applied so far); fix the cause and run bootstrap again: it continues where it stopped"
    )]
    InGroup {
        /// The group.
        group: &'static str,
        /// Objects applied before the failure, this run.
        applied: usize,
        /// Why.
        #[source]
        source: Box<BootstrapError>,
    },
    /// Ctrl-C or SIGTERM.
    #[error(
        "interrupted with {groups} under way and {applied} objects applied; the cluster is partly set up: run bootstrap again to finish, or teardown to remove what was applied"
    )]
    Interrupted {
        /// The groups under way, quoted.
        groups: String,
        /// Objects applied this run.
        applied: usize,
    },
    /// The stacks render nothing.
    #[error(
        "the selected stacks render no objects; refusing to bootstrap (and prune) to an empty platform"
    )]
    Empty,
    /// A renewed Secret changed between reading and writing it.
    #[error(
        "failed to renew {object}: it changed since bootstrap read it (another run renewing it?), so it was left as it is; run bootstrap again"
    )]
    RenewalConflict {
        /// `Secret namespace/name`.
        object: String,
    },
    /// A namespace obsboot did not create lacks the annotation that meshes its pods.
    #[error(
        "namespace \"{namespace}\" already exists and was not created by obsboot, so bootstrap uses it as it is; but {}, and the {stack} stack's pods must be meshed: they would start without a Linkerd proxy. Annotate it (`kubectl annotate namespace {namespace} linkerd.io/inject=enabled --overwrite`), or delete it if nothing in it is needed (`kubectl delete namespace {namespace}`) so that bootstrap creates it, or set `mesh: false` in the {stack} stack",
        match found { Some(value) => format!("its annotation linkerd.io/inject is \"{value}\", not \"enabled\""), None => "it lacks the annotation linkerd.io/inject: enabled".to_owned() }
    )]
    UnmeshedNamespace {
        /// The namespace.
        namespace: String,
        /// The stack that uses it.
        stack: &'static str,
        /// The annotation's value, if it has one.
        found: Option<String>,
    },
    /// Pods still lack the proxy after a restart.
    #[error("{} still run without a Linkerd proxy after a restart ({}); the proxy-injector fails open: check that its webhook is reachable from the API server, and that the ConfigMap linkerd-config in the Linkerd namespace holds proxy, proxy.image and proxyInit, which the injector needs to run at all (see deploy.md, Troubleshooting)", if pods.len() == 1 { "a pod" } else { "pods" }, pods.join(", "))]
    Unmeshed {
        /// The pods.
        pods: Vec<String>,
    },
}

impl BootstrapError {
    /// Whether the run ended because the user interrupted it.
    pub fn is_interrupt(&self) -> bool {
        match self {
            Self::Interrupted { .. } | Self::Kube(K8sError::Interrupted) => true,
            Self::InGroup { source, .. } => source.is_interrupt(),
            Self::Aws(err) => err.is_interrupt(),
            _ => false,
        }
    }
}

/// Runs bootstrap; `cancel` is triggered by Ctrl-C or SIGTERM.
pub async fn run(
    params: &Params<'_>,
    progress: Progress,
    cancel: &CancellationToken,
) -> Result<Report, BootstrapError> {
    // Certificates the user brings must outlast the renewal window: checked before anything.
    crate::secrets::check_provided_expiry(&params.stacks.stacks, time::OffsetDateTime::now_utc())?;
    let cluster = Cluster::connect(&params.target).await?;
    // A claim no StorageClass would provision: refused before the lock and every write.
    preflight::storage(&cluster, &params.stacks.stacks).await?;
    // The network between the nodes carries what the platform needs: checked (and with
    // --fix-network, fixed) before the lock and every write to the cluster.
    if let Some(mode) = params.doctor {
        let plan = params.stacks.render(&Slots::default())?;
        network::preflight(
            &cluster,
            params.security_groups.as_ref(),
            &plan,
            mode,
            progress,
            cancel,
        )
        .await?;
    }
    // Pinned workloads need a node to pin them to; the security group's lookup checks this
    // on its way, so only without one is it checked here.
    if params.security_groups.is_none() {
        control_plane::check(
            &cluster,
            &params.stacks.platform.cluster,
            &params.stacks.stacks,
        )
        .await?;
    }
    let lock = cluster
        .lock(
            params.stacks.installation(),
            "bootstrap",
            params.break_lock,
            cancel,
        )
        .await?;
    // Interrupted by the user or stopped by a lost lock, whichever comes first.
    let stop = lock.stop().clone();
    let result = locked(params, progress, &stop, cluster).await;
    lock.finish(result).await
}

/// Bootstrap, with the installation's lock held.
async fn locked(
    params: &Params<'_>,
    progress: Progress,
    cancel: &CancellationToken,
    cluster: Cluster,
) -> Result<Report, BootstrapError> {
    let names = params.stacks.names();
    progress.line(&format!(
        "bootstrapping {} on {}",
        names.join(", "),
        cluster.url
    ));

    let specs = params.stacks.secrets();
    let inventory = Inventory::new(&cluster, params.stacks.installation());
    let now = time::OffsetDateTime::now_utc();
    let (prepared, recorded) = tokio::try_join!(
        secrets::prepare(&cluster, &specs, &params.stacks.stacks, now),
        async { Ok(inventory.read().await?.unwrap_or_default()) },
    )?;
    let slots = crate::secrets::slot_values(prepared.iter().map(|p| (&p.spec, &p.data)), now);
    let plan = params.stacks.render(&Slots::with_values(slots))?;
    if plan.objects.is_empty() {
        return Err(BootstrapError::Empty);
    }
    let all: Vec<&Object> = plan.objects.iter().collect();
    namespaces::prepare(&cluster, &all, params.timeout, cancel, &progress).await?;
    let before = apply::check_ownership(&cluster, &all).await?;
    let mut run = Run {
        params,
        progress,
        cancel,
        report: Report {
            cluster: cluster.url.clone(),
            ..Report::default()
        },
        cluster,
        before,
        prepared,
        applied: 0,
    };
    let to_apply = run.leave_alone(&all);
    // The security group is found and checked before anything changes.
    let security_group = match &params.security_groups {
        Some(settings) => Some(prepare_security_group(&run, settings, &plan, &names).await?),
        None => None,
    };

    let selected: BTreeSet<&str> = names.iter().copied().collect();
    let planned: BTreeSet<Entry> = to_apply
        .iter()
        .map(|o| Entry::of(o))
        .chain(run.prepared.iter().map(|p| Entry::secret(&p.spec)))
        .collect();
    // Everything this run may create is recorded before it is created.
    let widened: BTreeSet<Entry> = recorded.union(&planned).cloned().collect();
    inventory.write(&widened).await?;

    let others = recorded
        .iter()
        .filter(|e| !selected.contains(e.stack.as_str()))
        .cloned();
    let mut keep: BTreeSet<Entry> = others.chain(planned).collect();
    // Pruned first: what the stacks dropped may hold what they now want, such as a host port
    // (a workload moved to another namespace).
    let stale: Vec<Entry> = recorded.difference(&keep).cloned().collect();
    let (pruned, kept) = prune(
        &run.cluster,
        &stale,
        params.timeout,
        cancel,
        &mut run.report,
    )
    .await?;
    run.report.pruned = pruned;
    // A namespace kept for its foreign objects stays recorded, to be pruned once it is empty.
    keep.extend(kept);
    if !run.report.pruned.is_empty() {
        progress.line(&format!(
            "pruned {} objects the stacks no longer hold",
            run.report.pruned.len()
        ));
    }

    run.groups(&to_apply).await?;
    if keep != widened {
        inventory.write(&keep).await?;
    }
    run.report.grafana_password = grafana_password_command(params);
    expose(&mut run, &plan, security_group.as_ref()).await?;
    Ok(run.report)
}

/// Opens the ports in the security groups (or lists them for the user), then gives the URLs
/// and checks them.
async fn expose(
    run: &mut Run<'_, '_>,
    plan: &crate::plan::Plan,
    security_group: Option<&aws::Prepared>,
) -> Result<(), BootstrapError> {
    if let Some(prepared) = security_group {
        run.cluster.writable()?;
        let applied = prepared.apply(run.cancel).await?;
        let mut reports = Vec::with_capacity(applied.len());
        for (changes, applied) in prepared.changes.iter().zip(applied) {
            let on = prepared.on(&changes.group);
            let Some(first) = on.first() else { continue };
            run.progress.line(&format!(
                "security group {}: {} opened, {} unchanged, {} revoked",
                changes.group,
                aws::rules(applied.opened.len()),
                applied.unchanged.len(),
                applied.revoked.len()
            ));
            reports.push(report::SecurityGroupReport {
                target: (*first).clone(),
                applied,
                shared_with: on.iter().skip(1).map(|t| t.instance.clone()).collect(),
            });
        }
        if reports.len() == 1 {
            run.report.security_group = reports.pop();
        } else {
            run.report.security_groups = reports;
        }
    } else {
        run.report.not_opened = aws::wanted(&plan.ingress)
            .iter()
            .map(ToString::to_string)
            .collect();
    }
    run.report.closed = plan
        .ingress
        .closed
        .iter()
        .map(|c| format!("tcp {} ({}/{})", c.port, c.stack.name(), c.workload))
        .collect();
    endpoints(run, plan, security_group).await;
    Ok(())
}

/// Finds each control-plane node's security group and works out what to change in each.
async fn prepare_security_group(
    run: &Run<'_, '_>,
    settings: &aws::Settings,
    plan: &crate::plan::Plan,
    names: &[&str],
) -> Result<aws::Prepared, BootstrapError> {
    let nodes = settings.nodes(run.cluster.nodes(&settings.node_selector).await?)?;
    let scope = settings.scope(names.iter().copied());
    let wanted = aws::wanted(&plan.ingress);
    let prepared = aws::prepare(settings, &nodes, &wanted, scope).await?;
    let mut lines: Vec<String> = prepared.targets.iter().map(ToString::to_string).collect();
    if let [changes] = prepared.changes.as_slice() {
        lines.push(format!(
            "  {} to open, {} to revoke, {} already there",
            aws::rules(changes.add.len()),
            changes.revoke.len(),
            changes.keep.len() + changes.foreign.len()
        ));
    } else {
        for changes in &prepared.changes {
            lines.push(format!(
                "  {}: {} to open, {} to revoke, {} already there",
                changes.group,
                aws::rules(changes.add.len()),
                changes.revoke.len(),
                changes.keep.len() + changes.foreign.len()
            ));
        }
    }
    run.progress.line(&lines.join("\n"));
    for target in prepared.targets.iter().filter(|t| t.public_ip.is_none()) {
        tracing::warn!(
            "instance {} has no public address: the ports opened are reachable only from inside its VPC",
            target.instance
        );
    }
    Ok(prepared)
}

/// The URLs of the opened ports, and (unless `--no-verify`) whether they answer from here.
async fn endpoints(
    run: &mut Run<'_, '_>,
    plan: &crate::plan::Plan,
    security_group: Option<&aws::Prepared>,
) {
    let verify = run.params.verify.as_ref();
    let targets = security_group.map_or(&[][..], |p| p.targets.as_slice());
    let url_base = verify.and_then(|v| v.host.as_deref());
    let Some(hosts) = crate::verify::Hosts::of(url_base, targets) else {
        return;
    };
    let open: std::collections::BTreeSet<u16> = if security_group.is_some() {
        run.report
            .groups()
            .flat_map(|sg| {
                sg.applied
                    .opened
                    .iter()
                    .chain(&sg.applied.unchanged)
                    .chain(&sg.applied.foreign)
            })
            .map(|r| r.port)
            .collect()
    } else {
        plan.ingress.rules.iter().map(|r| r.port).collect()
    };
    let endpoints: Vec<crate::verify::Endpoint> = crate::verify::endpoints_on(
        &hosts,
        &run.params.stacks.stacks,
        &plan.objects,
        Some(&run.cluster),
    )
    .await
    .into_iter()
    .filter(|e| open.contains(&e.port))
    .collect();
    run.report.urls = endpoints
        .iter()
        .map(|e| report::Url {
            name: e.description.clone(),
            url: e.url.clone(),
            node: e.node.clone(),
            unplaced: e.unplaced.clone(),
        })
        .collect();
    let Some(verify) = verify.filter(|_| !endpoints.is_empty()) else {
        return;
    };
    // The groups' rules as they are now, to compare a failed probe with; unknown if they
    // cannot be read (never taken for "no rules").
    let rules = match security_group {
        Some(prepared) => match prepared.rules().await {
            Ok(rules) => rules,
            Err(err) => {
                tracing::warn!("cannot read the security groups' rules to compare with: {err}");
                Vec::new()
            }
        },
        None => Vec::new(),
    };
    let several = targets.len() > 1;
    let groups = targets
        .iter()
        .filter_map(|t| {
            let (_, found) = rules.iter().find(|(g, _)| *g == t.group)?;
            let node = t.node.as_deref().filter(|_| several);
            Some((node, t.group.as_str(), found.as_slice()))
        })
        .collect();
    let context = crate::verify::Context {
        cluster: Some(&run.cluster),
        objects: &plan.objects,
        groups,
    };
    run.progress.line(&format!(
        "verifying {} endpoints from this machine",
        endpoints.len()
    ));
    run.report.verified = crate::verify::verify(&endpoints, verify.timeout, &context).await;
}

/// One bootstrap in progress.
struct Run<'a, 'p> {
    params: &'a Params<'p>,
    progress: Progress,
    cancel: &'a CancellationToken,
    cluster: Cluster,
    before: std::collections::HashMap<crate::render::ObjectKey, Before>,
    prepared: Vec<secrets::Prepared>,
    report: Report,
    /// Objects applied so far.
    applied: usize,
}

impl Run<'_, '_> {
    /// The objects to apply: all but those another owner has (reported as left alone).
    fn leave_alone<'o>(&mut self, all: &[&'o Object]) -> Vec<&'o Object> {
        let mut kept = Vec::with_capacity(all.len());
        for &object in all {
            if let Some(Before::LeftAlone(reason)) = self.before.get(&object.key) {
                self.report.left_alone.push(report::LeftAlone {
                    object: object.key.to_string(),
                    reason: reason.clone(),
                });
            } else {
                kept.push(object);
            }
        }
        kept
    }
}

fn linkerd_namespace<'a>(params: &'a Params<'_>) -> &'a str {
    params
        .stacks
        .platform
        .stacks
        .iter()
        .find(|s| s.kind == StackKind::Linkerd)
        .map_or("linkerd", |s| s.namespace.as_str())
}

fn grafana_password_command(params: &Params<'_>) -> Option<String> {
    let stack = params
        .stacks
        .stacks
        .iter()
        .find(|s| s.kind == StackKind::Grafana)?;
    let Spec::Grafana(grafana) = &stack.spec else {
        return None;
    };
    Some(format!(
        "kubectl -n {} get secret {} -o jsonpath='{{.data.admin-password}}' | base64 -d",
        stack.namespace.as_str(),
        grafana.admin_secret.as_str()
    ))
}

/// Restarts the Deployments among `objects` whose pods started without a proxy, once, and
/// checks again.
async fn heal(
    cluster: &Cluster,
    objects: &[&Object],
    timeout: Duration,
    cancel: &CancellationToken,
) -> Result<Vec<String>, BootstrapError> {
    let deployments: Vec<&Object> = objects
        .iter()
        .copied()
        .filter(|o| o.key.group == "apps" && o.key.kind == "Deployment")
        .collect();
    let mut restarted = Vec::new();
    for round in 0..2 {
        let mut unmeshed = Vec::new();
        let mut stale = Vec::new();
        let found = futures::future::try_join_all(
            deployments.iter().map(|d| mesh::unmeshed_pods(cluster, d)),
        )
        .await?;
        for (deployment, pods) in deployments.iter().zip(found) {
            if !pods.is_empty() {
                unmeshed.extend(pods);
                stale.push(*deployment);
            }
        }
        if unmeshed.is_empty() {
            return Ok(restarted);
        }
        if round == 1 {
            return Err(BootstrapError::Unmeshed { pods: unmeshed });
        }
        futures::future::try_join_all(stale.iter().map(|d| mesh::restart(cluster, d))).await?;
        restarted.extend(stale.iter().map(|d| d.key.to_string()));
        apply::await_ready(cluster, &stale, timeout, cancel).await?;
    }
    Ok(restarted)
}

/// Deletes what an earlier run applied and the stacks no longer hold (only if still ours),
/// in teardown's order; a namespace only if nothing foreign lives in it (else it is kept and
/// reported).
async fn prune(
    cluster: &Cluster,
    stale: &[Entry],
    timeout: Duration,
    cancel: &CancellationToken,
    report: &mut Report,
) -> Result<(Vec<String>, Vec<Entry>), BootstrapError> {
    let mut stale = stale.to_vec();
    stale.sort_by_key(crate::teardown::Group::of);
    let mut pruned = Vec::new();
    let mut kept = Vec::new();
    for entry in stale {
        let key = entry.key();
        if key.group.is_empty() && key.kind == "Namespace" {
            let foreign = crate::teardown::namespaces::foreign_objects(cluster, &key.name).await?;
            if !foreign.is_empty() {
                report.left_alone.push(report::LeftAlone {
                    object: key.to_string(),
                    reason: format!(
                        "the stacks no longer hold it, but it holds objects obsboot did not create ({}); kept",
                        foreign.join(", ")
                    ),
                });
                kept.push(entry);
                continue;
            }
        }
        if cluster.delete_ours(&entry.api_version, &key).await? == Deleted::Deleting {
            cluster
                .wait(&entry.api_version, &key, Until::Gone, timeout, cancel)
                .await?;
            pruned.push(key.to_string());
        }
    }
    Ok((pruned, kept))
}
