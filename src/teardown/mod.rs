//! `teardown`: delete everything obsboot created, in reverse order, and nothing else; wait
//! until it is gone; report what was deleted, what was already gone, and what was left
//! behind and why. Works on a half-bootstrapped cluster, from any machine, and twice.

mod groups;
pub mod namespaces;
pub mod report;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use futures::{StreamExt, stream};
use kube::api::{Api, ListParams};
use tokio_util::sync::CancellationToken;

pub use groups::Group;
pub use report::Report;

use crate::aws::{self, AwsError, Scope};
use crate::k8s::inventory::{Entry, Inventory};
use crate::k8s::{ApiFailure, CONCURRENCY, Cluster, Deleted, K8sError, Target, Until};
use crate::progress::Progress;
use crate::render::{MANAGED_BY, MANAGER, RenderError, STACK_LABEL, Slots};
use crate::selection::Selection;
use crate::stack::StackKind;

/// What teardown needs.
// Independent switches, as the command line has them.
#[allow(clippy::struct_excessive_bools)]
pub struct Params<'a> {
    /// The stacks to tear down (their rendered objects are looked for too, beside the
    /// inventory).
    pub stacks: Selection<'a>,
    /// The cluster.
    pub target: Target,
    /// The bound on each wait.
    pub timeout: Duration,
    /// Keep the CRDs (`--keep-crds`).
    pub keep_crds: bool,
    /// Whether every stack goes (no `--stack`): then the whole inventory is worked off, even
    /// entries of stacks the stack files no longer define.
    pub everything: bool,
    /// How to reach EC2 for the rules obsboot opened; `None` leaves security groups alone.
    pub security_groups: Option<aws::Settings>,
    /// Take the installation's lock even from a live holder (`--break-lock`).
    pub break_lock: bool,
    /// Revoke the rules `doctor --fix` added between the nodes too (`--include-network`).
    pub include_network: bool,
}

/// Why teardown stopped.
#[derive(Debug, thiserror::Error)]
pub enum TeardownError {
    /// A cluster operation failed.
    #[error(transparent)]
    Kube(#[from] K8sError),
    /// The stacks did not render.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// Finding or revoking the security-group rules failed; nothing in the cluster was
    /// deleted yet (the exposure is closed first).
    #[error(
        "failed to close the ports obsboot opened, so nothing in the cluster was deleted; fix the cause and run teardown again, or pass --skip-security-groups to leave the rules"
    )]
    Aws {
        /// Why.
        #[source]
        source: AwsError,
    },
    /// The cluster does not answer.
    #[error(
        "cannot reach the cluster; if it is gone for good, `obsboot teardown --security-groups-only` still closes the ports obsboot opened for it"
    )]
    Unreachable {
        /// Why.
        #[source]
        source: K8sError,
    },
    /// Ctrl-C or SIGTERM.
    #[error("interrupted with {deleted} objects deleted; run teardown again to finish")]
    Interrupted {
        /// Objects deleted this run.
        deleted: usize,
    },
}

/// What teardown found to do.
pub struct Plan {
    cluster: Cluster,
    inventory: Inventory,
    recorded: BTreeSet<Entry>,
    has_inventory: bool,
    candidates: BTreeSet<Entry>,
    /// How many of the candidates exist and carry obsboot's label.
    pub existing: usize,
    full: bool,
    keep_crds: bool,
    timeout: Duration,
    /// The security-group rules to revoke, when obsboot manages them.
    pub rules: Option<aws::Tagged>,
    /// The installation whose lock execute takes, and whether to break it.
    lock: (String, bool),
}

impl Plan {
    /// The API server.
    pub fn cluster_url(&self) -> &str {
        &self.cluster.url
    }
}

/// Finds what to delete: the inventory's entries, the rendered objects, and whatever else
/// carries obsboot's label in the kinds those use.
pub async fn plan(params: &Params<'_>) -> Result<Plan, TeardownError> {
    let cluster = Cluster::connect(&params.target)
        .await
        .map_err(|source| match source {
            K8sError::Discover(_) if params.security_groups.is_some() => {
                TeardownError::Unreachable { source }
            }
            source => source.into(),
        })?;
    let inventory = Inventory::new(&cluster, params.stacks.installation());
    let found = inventory.read().await?;
    let has_inventory = found.is_some();
    let recorded = found.unwrap_or_default();
    let names: BTreeSet<&str> = if params.everything {
        StackKind::ALL.iter().map(|kind| kind.name()).collect()
    } else {
        params.stacks.names().into_iter().collect()
    };
    let rendered = params.stacks.render(&Slots::default())?;
    let mut candidates: BTreeSet<Entry> = recorded
        .iter()
        .filter(|e| names.contains(e.stack.as_str()))
        .cloned()
        .chain(rendered.objects.iter().map(Entry::of))
        .chain(rendered.secrets.iter().map(Entry::secret))
        .collect();
    let found = sweep(&cluster, &candidates, &names).await?;
    let existing = found.len();
    candidates.extend(found);
    let rules = match &params.security_groups {
        Some(settings) => {
            // The node only tells the region when nothing else does: none found is no error.
            let nodes = cluster.nodes(&settings.node_selector).await?;
            let node = settings.node(nodes).ok().flatten();
            let scope = scope(params, settings);
            let tagged = aws::tagged(settings, node.as_ref(), &scope)
                .await
                .map_err(|source| TeardownError::Aws { source })?;
            Some(tagged)
        }
        None => None,
    };
    Ok(Plan {
        cluster,
        inventory,
        recorded,
        has_inventory,
        candidates,
        existing,
        full: params.everything,
        keep_crds: params.keep_crds,
        timeout: params.timeout,
        rules,
        lock: (params.stacks.installation().to_owned(), params.break_lock),
    })
}

/// The security-group rules teardown would revoke, found without the cluster (for
/// `--security-groups-only`, when the cluster is gone or unreachable): by their tags, in the
/// region of cluster.yaml or the AWS environment.
pub async fn tagged_rules(params: &Params<'_>) -> Result<Option<aws::Tagged>, TeardownError> {
    let Some(settings) = &params.security_groups else {
        return Ok(None);
    };
    let scope = scope(params, settings);
    let tagged = aws::tagged(settings, None, &scope)
        .await
        .map_err(|source| TeardownError::Aws { source })?;
    Ok(Some(tagged))
}

/// Revokes `tagged` and reports it as a teardown that touched only EC2.
pub async fn revoke_rules(
    tagged: &aws::Tagged,
    cancel: &CancellationToken,
) -> Result<Report, TeardownError> {
    let closed = tagged.revoke(cancel).await.map_err(|source| match source {
        AwsError::Interrupted => TeardownError::Interrupted { deleted: 0 },
        source => TeardownError::Aws { source },
    })?;
    Ok(Report {
        security_groups: Some(closed),
        ..Report::default()
    })
}

fn scope(params: &Params<'_>, settings: &aws::Settings) -> Scope {
    let names: Vec<&str> = if params.everything {
        StackKind::ALL.iter().map(|kind| kind.name()).collect()
    } else {
        params.stacks.names()
    };
    let mut scope = settings.scope(names);
    scope.network = params.include_network;
    scope
}

/// Every object that carries obsboot's label and one of `stacks`' labels, in the kinds of
/// `entries`.
async fn sweep(
    cluster: &Cluster,
    entries: &BTreeSet<Entry>,
    stacks: &BTreeSet<&str>,
) -> Result<Vec<Entry>, K8sError> {
    let kinds: BTreeSet<(&str, &str)> = entries
        .iter()
        .map(|e| (e.api_version.as_str(), e.kind.as_str()))
        .collect();
    let selector = format!(
        "{MANAGED_BY}={MANAGER},{STACK_LABEL} in ({})",
        stacks.iter().copied().collect::<Vec<_>>().join(",")
    );
    let lists: Vec<Result<Vec<Entry>, K8sError>> = stream::iter(kinds)
        .map(|(api_version, kind)| {
            let selector = selector.clone();
            async move {
                let Some((resource, _)) = cluster.resolve(api_version, kind) else {
                    return Ok(Vec::new());
                };
                let api: Api<kube::api::DynamicObject> =
                    Api::all_with(cluster.client().clone(), &resource);
                let params = ListParams::default().labels(&selector);
                let list =
                    crate::k8s::retry::read(&format!("list {kind} objects"), || api.list(&params))
                        .await
                        .map_err(|err| K8sError::List {
                            what: format!("{kind} objects labelled as obsboot's"),
                            source: ApiFailure::from_kube(&err, false),
                        })?;
                Ok(list
                    .items
                    .into_iter()
                    .map(|item| Entry {
                        api_version: api_version.to_owned(),
                        kind: kind.to_owned(),
                        namespace: item.metadata.namespace.clone(),
                        stack: item
                            .metadata
                            .labels
                            .as_ref()
                            .and_then(|l| l.get(STACK_LABEL))
                            .cloned()
                            .unwrap_or_default(),
                        name: item.metadata.name.unwrap_or_default(),
                    })
                    .collect())
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut found = Vec::new();
    for list in lists {
        found.extend(list?);
    }
    Ok(found)
}

/// Deletes what `plan` found, group by group, waiting for each to be gone, holding the
/// installation's lock.
pub async fn execute(
    plan: &Plan,
    progress: Progress,
    cancel: &CancellationToken,
) -> Result<Report, TeardownError> {
    let (installation, force) = &plan.lock;
    let lock = plan
        .cluster
        .lock(installation, "teardown", *force, cancel)
        .await?;
    // Interrupted by the user or stopped by a lost lock, whichever comes first.
    let stop = lock.stop().clone();
    let result = execute_locked(plan, progress, &stop).await;
    lock.finish(result).await
}

async fn execute_locked(
    plan: &Plan,
    progress: Progress,
    cancel: &CancellationToken,
) -> Result<Report, TeardownError> {
    let mut report = Report {
        cluster: plan.cluster.url.clone(),
        ..Report::default()
    };
    progress.line(&format!("tearing down on {}", plan.cluster.url));
    // Exposure is closed before anything it exposes goes.
    if let Some(tagged) = &plan.rules {
        plan.cluster.writable()?;
        let closed = tagged.revoke(cancel).await.map_err(|source| match source {
            AwsError::Interrupted => TeardownError::Interrupted { deleted: 0 },
            source => TeardownError::Aws { source },
        })?;
        progress.line(&format!(
            "security groups ({}): {} revoked, {} already gone",
            tagged.summary.region,
            aws::rules(closed.revoked.len()),
            closed.already_gone.len()
        ));
        report.security_groups = Some(closed);
    }
    let mut by_group: BTreeMap<Group, Vec<&Entry>> = BTreeMap::new();
    for entry in &plan.candidates {
        by_group.entry(Group::of(entry)).or_default().push(entry);
    }
    let working: Vec<(Group, Vec<&Entry>)> = by_group.into_iter().collect();
    for (index, (group, entries)) in working.iter().enumerate() {
        if cancel.is_cancelled() {
            return Err(TeardownError::Interrupted {
                deleted: report.deleted.len(),
            });
        }
        let started = Instant::now();
        let counter = format!("[{}/{}] {}", index + 1, working.len(), group.title());
        if *group == Group::Crds && plan.keep_crds {
            for entry in entries {
                report.keep(entry, "kept: --keep-crds");
            }
            progress.line(&format!("{counter}: {} kept (--keep-crds)", entries.len()));
            continue;
        }
        let deletable = if *group == Group::Namespaces {
            namespaces::deletable(&plan.cluster, entries, &mut report).await?
        } else {
            entries.clone()
        };
        let deleted_before = report.deleted.len();
        delete_group(plan, &deletable, &mut report, cancel).await?;
        progress.line(&format!(
            "{counter}: {} deleted in {:.1}s",
            report.deleted.len() - deleted_before,
            started.elapsed().as_secs_f64()
        ));
    }
    let remaining: BTreeSet<Entry> = plan
        .recorded
        .iter()
        .filter(|e| !plan.candidates.contains(*e) || report.is_left(e))
        .cloned()
        .collect();
    if plan.has_inventory {
        if plan.full && remaining.is_empty() {
            plan.inventory.delete().await?;
        } else if remaining != plan.recorded {
            plan.inventory.write(&remaining).await?;
        }
    }
    Ok(report)
}

async fn delete_group(
    plan: &Plan,
    entries: &[&Entry],
    report: &mut Report,
    cancel: &CancellationToken,
) -> Result<(), TeardownError> {
    let cluster = &plan.cluster;
    let outcomes: Vec<(&Entry, Result<Deleted, K8sError>)> = stream::iter(entries)
        .map(|entry| async move {
            if cancel.is_cancelled() {
                return (*entry, Err(K8sError::Interrupted));
            }
            (
                *entry,
                cluster.delete_ours(&entry.api_version, &entry.key()).await,
            )
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut deleting = Vec::new();
    let mut interrupted = false;
    for (entry, outcome) in outcomes {
        match outcome {
            Ok(Deleted::Deleting) => deleting.push(entry),
            Ok(Deleted::AlreadyGone) => report.already_gone.push(entry.key().to_string()),
            Ok(Deleted::NotOurs) => {
                if plan.recorded.contains(entry) {
                    report.leave(
                        entry,
                        "it no longer carries obsboot's label: someone else took it over",
                    );
                }
            }
            Err(K8sError::Interrupted) => interrupted = true,
            Err(err) => return Err(err.into()),
        }
    }
    let waits: Vec<(&Entry, Result<(), K8sError>)> = stream::iter(&deleting)
        .map(|entry| async move {
            let result = cluster
                .wait(
                    &entry.api_version,
                    &entry.key(),
                    Until::Gone,
                    plan.timeout,
                    cancel,
                )
                .await;
            (*entry, result)
        })
        .buffer_unordered(deleting.len().max(1))
        .collect()
        .await;
    for (entry, result) in waits {
        match result {
            Ok(()) => report.deleted.push(entry.key().to_string()),
            Err(K8sError::Timeout { status, .. }) => report.leave(entry, &status),
            Err(K8sError::Interrupted) => interrupted = true,
            Err(err) => return Err(err.into()),
        }
    }
    if interrupted {
        return Err(TeardownError::Interrupted {
            deleted: report.deleted.len(),
        });
    }
    Ok(())
}
