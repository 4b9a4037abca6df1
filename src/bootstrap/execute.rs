//! Carries out the groups of [`graph`](super::graph): each is applied, then waited for, and
//! whatever its completion lets start begins at once, so several groups are under way
//! together. A failure stops every group from starting anything new (requests already sent
//! finish, so that what was applied is known) and names the group it happened in.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Instant;

use futures::future::LocalBoxFuture;
use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};
use tokio_util::sync::CancellationToken;

use super::apply::{self, Action, Before};
use super::graph::{self, Group, INJECTOR, Need, Schedule};
use super::report::{self, GroupReport};
use super::{BootstrapError, Params, Run, heal, linkerd_namespace, mesh, secrets};
use crate::k8s::{ApplyMode, Cluster, K8sError};
use crate::render::{Object, ObjectKey};

/// What the steps of every group share: read-only.
struct Context<'a, 'p> {
    params: &'a Params<'p>,
    cluster: &'a Cluster,
    before: &'a HashMap<ObjectKey, Before>,
    prepared: &'a [secrets::Prepared],
    /// The webhook configurations obsboot applied before, for a renewal to apply first.
    webhooks: Vec<&'a Object>,
    /// Triggered by Ctrl-C, a lost lock, or a failure in any group.
    stop: &'a CancellationToken,
    /// Whether the applications are meshed (they are checked for proxies once ready).
    meshed: bool,
}

impl Context<'_, '_> {
    fn mode(&self) -> ApplyMode {
        ApplyMode {
            force: self.params.force_conflicts,
            dry_run: false,
        }
    }
}

/// A step of a group, done.
enum Step {
    /// The group's objects were sent; `failure` is the first that failed.
    Applied {
        group: Group,
        applied: Vec<(ObjectKey, Action)>,
        secrets: Option<SecretsDone>,
        failure: Option<BootstrapError>,
    },
    /// The group was waited for: the objects that have readiness, and the Deployments
    /// restarted for want of a proxy.
    Ready {
        group: Group,
        result: Result<(usize, Vec<String>), BootstrapError>,
    },
}

/// What the generated Secrets' step did.
struct SecretsDone {
    created: usize,
    reports: Vec<report::SecretReport>,
    renewed: Vec<String>,
    /// Webhook configurations applied ahead of their group, whose caBundle must trust a
    /// renewed certificate before its Secret changes.
    early: Vec<(ObjectKey, Action)>,
}

impl Run<'_, '_> {
    /// Carries out every group that has work, each as soon as what it needs is done.
    pub(super) async fn groups(&mut self, to_apply: &[&Object]) -> Result<(), BootstrapError> {
        let meshed = self.params.stacks.meshes_apps();
        let members = members(to_apply, meshed, !self.prepared.is_empty());
        let crd_groups: BTreeSet<&str> = to_apply
            .iter()
            .filter(|o| o.key.kind == "CustomResourceDefinition")
            .filter_map(|o| o.value.pointer("/spec/group")?.as_str())
            .collect();
        let mut schedule = Schedule::new(
            members
                .iter()
                .map(|(&group, objects)| (group, graph::needs(group, objects, &crd_groups)))
                .collect(),
        );
        let total = members.len();
        let stop = self.cancel.child_token();
        let context = Context {
            params: self.params,
            cluster: &self.cluster,
            before: &self.before,
            prepared: &self.prepared,
            webhooks: to_apply
                .iter()
                .copied()
                .filter(|o| {
                    o.key.group == "admissionregistration.k8s.io"
                        && matches!(self.before.get(&o.key), Some(Before::Ours(_)))
                })
                .collect(),
            stop: &stop,
            meshed,
        };
        let mut state = State {
            report: &mut self.report,
            progress: self.progress,
            applied: &mut self.applied,
            clock: Instant::now(),
            total,
            early: HashMap::new(),
            failure: None,
        };
        let mut running: FuturesUnordered<LocalBoxFuture<'_, Step>> = FuturesUnordered::new();
        loop {
            if state.failure.is_none() && !stop.is_cancelled() {
                for group in schedule.start() {
                    let objects = &members[&group];
                    state.started(group, schedule.needs(group), objects);
                    running.push(apply(&context, group, objects).boxed_local());
                }
            }
            let Some(done) = running.next().await else {
                break;
            };
            match done {
                Step::Applied {
                    group,
                    applied,
                    secrets,
                    failure,
                } => {
                    let objects = &members[&group];
                    state.applied(group, objects, applied, secrets);
                    if let Some(err) = failure {
                        state.failed(group, err, &stop);
                    } else {
                        schedule.applied(group);
                        running.push(ready(&context, group, objects).boxed_local());
                    }
                }
                Step::Ready { group, result } => match result {
                    Ok((waited, restarted)) => {
                        schedule.ready(group);
                        state.ready(group, waited, restarted);
                    }
                    Err(err) => state.failed(group, err, &stop),
                },
            }
        }
        let applied = *state.applied;
        if self.cancel.is_cancelled() {
            let under_way = schedule.under_way();
            return Err(BootstrapError::Interrupted {
                groups: titles(&under_way),
                applied,
            });
        }
        if let Some((group, err)) = state.failure {
            return Err(BootstrapError::InGroup {
                group: group.title(),
                applied,
                source: Box::new(err),
            });
        }
        Ok(())
    }
}

/// The objects of each group with work: the injector's wait when meshed applications are
/// applied or the injector itself is, the generated Secrets when there are any.
fn members<'o>(
    to_apply: &[&'o Object],
    meshed: bool,
    secrets: bool,
) -> BTreeMap<Group, Vec<&'o Object>> {
    let mut members: BTreeMap<Group, Vec<&Object>> = BTreeMap::new();
    for &object in to_apply {
        members.entry(Group::of(object)).or_default().push(object);
    }
    let serving = (meshed && members.contains_key(&Group::Apps))
        || members
            .get(&Group::ControlPlane)
            .is_some_and(|objects| objects.iter().any(|o| o.key.name == INJECTOR));
    if serving {
        members.entry(Group::Injector).or_default();
    }
    if secrets {
        members.entry(Group::Secrets).or_default();
    }
    members
}

/// `"a"`, `"a" and "b"`, `"a", "b" and "c"`.
fn titles(groups: &[Group]) -> String {
    let quoted: Vec<String> = groups
        .iter()
        .map(|g| format!("\"{}\"", g.title()))
        .collect();
    match quoted.as_slice() {
        [] => "no group".to_owned(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// The coordinator's own: what it reports and prints as the steps finish.
struct State<'r> {
    report: &'r mut report::Report,
    progress: crate::progress::Progress,
    applied: &'r mut usize,
    clock: Instant,
    /// How many groups have work.
    total: usize,
    early: HashMap<ObjectKey, Action>,
    failure: Option<(Group, BootstrapError)>,
}

impl State<'_> {
    fn started(&mut self, group: Group, needs: &[Need], objects: &[&Object]) {
        let label = format!(
            "[{}/{}] {}",
            self.report.groups.len() + 1,
            self.total,
            group.title()
        );
        match group {
            Group::Secrets => {}
            Group::Injector => self
                .progress
                .line(&format!("{label}: waiting until it serves")),
            _ => self
                .progress
                .line(&format!("{label}: applying {} objects", objects.len())),
        }
        self.report.groups.push(GroupReport {
            group,
            needs: needs.to_vec(),
            objects: objects.iter().map(|o| o.key.to_string()).collect(),
            applied: 0,
            created: 0,
            configured: 0,
            waited_for: 0,
            started_at: self.clock.elapsed().as_secs_f64(),
            ready_at: None,
            seconds: None,
        });
    }

    /// Where `group` stands among the groups started so far (only a started group's steps
    /// report back).
    fn index(&self, group: Group) -> usize {
        self.report
            .groups
            .iter()
            .position(|g| g.group == group)
            .unwrap_or_default()
    }

    /// `[i/n] title`, numbered in the order the groups started.
    fn label(&self, group: Group) -> String {
        format!(
            "[{}/{}] {}",
            self.index(group) + 1,
            self.total,
            group.title()
        )
    }

    fn entry(&mut self, group: Group) -> &mut GroupReport {
        let index = self.index(group);
        &mut self.report.groups[index]
    }

    fn applied(
        &mut self,
        group: Group,
        objects: &[&Object],
        applied: Vec<(ObjectKey, Action)>,
        secrets: Option<SecretsDone>,
    ) {
        *self.applied += applied.len();
        let mut counts = [0usize; 2];
        for (key, action) in applied {
            // Applied ahead of its group: what that did is what this run did to it.
            let action = match self.early.get(&key) {
                Some(early) if action == Action::Unchanged => *early,
                _ => action,
            };
            match action {
                Action::Created => counts[0] += 1,
                Action::Configured => counts[1] += 1,
                Action::Unchanged => {}
            }
            let stack = objects
                .iter()
                .find(|o| o.key == key)
                .map_or("", |o| o.stack.name());
            self.report.objects.push(report::ObjectReport {
                object: key.to_string(),
                stack: stack.to_owned(),
                action,
            });
            self.entry(group).applied += 1;
        }
        let entry = self.entry(group);
        entry.created = counts[0];
        entry.configured = counts[1];
        if let Some(done) = secrets {
            self.early.extend(done.early);
            let reused = done.reports.len() - done.created - done.renewed.len();
            let counts = if done.renewed.is_empty() {
                format!("{} created, {reused} reused", done.created)
            } else {
                format!(
                    "{} created, {} renewed, {reused} reused",
                    done.created,
                    done.renewed.len()
                )
            };
            self.progress
                .line(&format!("{}: {counts}", self.label(group)));
            for renewal in &done.renewed {
                self.progress.line(renewal);
            }
            self.report.secrets.extend(done.reports);
        }
    }

    fn ready(&mut self, group: Group, waited: usize, restarted: Vec<String>) {
        let now = self.clock.elapsed().as_secs_f64();
        self.report.restarted.extend(restarted);
        let label = self.label(group);
        let entry = self.entry(group);
        entry.waited_for = waited;
        entry.ready_at = Some(now);
        let seconds = now - entry.started_at;
        entry.seconds = Some(seconds);
        let line = match group {
            Group::Secrets => return,
            Group::Injector => format!("{label}: serving after {seconds:.1}s"),
            _ => format!(
                "{label}: {} applied ({} created, {} changed, {} unchanged), {waited} ready in {seconds:.1}s",
                entry.applied,
                entry.created,
                entry.configured,
                entry.applied - entry.created - entry.configured
            ),
        };
        self.progress.line(&line);
    }

    /// Records the first failure and stops the other groups; a group stopped by it fails
    /// with an interruption, which is not the cause.
    fn failed(&mut self, group: Group, err: BootstrapError, stop: &CancellationToken) {
        if self.failure.is_none() && !(stop.is_cancelled() && err.is_interrupt()) {
            self.failure = Some((group, err));
        }
        stop.cancel();
    }
}

/// Sends a group's objects (for the generated Secrets: creates and renews them).
async fn apply(context: &Context<'_, '_>, group: Group, objects: &[&Object]) -> Step {
    if context.stop.is_cancelled() {
        return Step::Applied {
            group,
            applied: Vec::new(),
            secrets: None,
            failure: Some(K8sError::Interrupted.into()),
        };
    }
    match group {
        Group::Secrets => {
            let (secrets, failure) = match generate(context).await {
                Ok(done) => (Some(done), None),
                Err(err) => (None, Some(err)),
            };
            Step::Applied {
                group,
                applied: Vec::new(),
                secrets,
                failure,
            }
        }
        Group::Injector => Step::Applied {
            group,
            applied: Vec::new(),
            secrets: None,
            failure: None,
        },
        _ => {
            let (applied, failure) = apply::apply_all(
                context.cluster,
                objects,
                context.before,
                context.mode(),
                context.stop,
            )
            .await;
            Step::Applied {
                group,
                applied,
                secrets: None,
                failure,
            }
        }
    }
}

/// Waits for a group's objects to be ready, and what else its readiness means: the CRDs
/// served (discovery refreshed), the injector serving, the applications' pods meshed.
async fn ready(context: &Context<'_, '_>, group: Group, objects: &[&Object]) -> Step {
    let result = async {
        let (cluster, stop) = (context.cluster, context.stop);
        let timeout = context.params.timeout;
        match group {
            Group::Secrets => Ok((0, Vec::new())),
            Group::Injector => {
                let namespace = linkerd_namespace(context.params);
                mesh::await_endpoints(cluster, namespace, INJECTOR, timeout, stop).await?;
                Ok((0, Vec::new()))
            }
            _ => {
                let waited = apply::await_ready(cluster, objects, timeout, stop).await?;
                let restarted = match group {
                    Group::Foundation => {
                        cluster.refresh().await?;
                        Vec::new()
                    }
                    Group::Apps if context.meshed => heal(cluster, objects, timeout, stop).await?,
                    _ => Vec::new(),
                };
                Ok((waited, restarted))
            }
        }
    }
    .await;
    Step::Ready { group, result }
}

/// The generated Secrets: creates what is missing, then writes the renewals. A renewed
/// webhook certificate must be trusted before it can be served, so the webhook
/// configurations (whose caBundle now holds the new certificate and the old one) are applied
/// first; see `secrets::renewal` for why this leaves no window.
async fn generate(context: &Context<'_, '_>) -> Result<SecretsDone, BootstrapError> {
    let cluster = context.cluster;
    let created = secrets::create(cluster, context.prepared).await?;
    let renewed_webhook = context.prepared.iter().any(|p| {
        p.source == secrets::Source::Renewed
            && matches!(p.spec.kind, crate::stack::SecretKind::WebhookTls { .. })
    });
    let mut early = Vec::new();
    if renewed_webhook {
        let (applied, failure) = apply::apply_all(
            cluster,
            &context.webhooks,
            context.before,
            context.mode(),
            context.stop,
        )
        .await;
        early = applied;
        if let Some(err) = failure {
            return Err(err);
        }
    }
    let mut renewed = Vec::new();
    let mut reports = Vec::new();
    for prepared in context.prepared {
        if prepared.source == secrets::Source::Renewed {
            secrets::replace(cluster, prepared).await?;
        }
        let object = secrets::key(&prepared.spec).to_string();
        let renewal = prepared.renewal.as_ref().map(|(renewal, _)| {
            renewed.push(format!(
                "  renewed {object}: the {} was {}; the new one is valid until {}",
                renewal.certificate,
                renewal.reason,
                renewal.expiry.date()
            ));
            report::RenewalReport::from(renewal)
        });
        reports.push(report::SecretReport {
            object,
            source: prepared.source,
            renewal,
        });
    }
    Ok(SecretsDone {
        created,
        reports,
        renewed,
        early,
    })
}
