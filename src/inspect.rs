//! The read-only commands: `status` (what of the plan is in the cluster, and whether it is
//! ready) and `diff` (what bootstrap would change, from a server-side dry-run apply of each
//! object compared with what is live). Neither writes anything.

use std::fmt::Write as _;

use futures::{StreamExt, stream};
use serde::Serialize;
use serde_json::Value;

use crate::aws;
use crate::bootstrap::{BootstrapError, secrets};
use crate::k8s::ready::{Readiness, readiness};
use crate::k8s::{ApplyMode, CONCURRENCY, Cluster, K8sError, Target, is_ours, to_value};
use crate::render::{Object, Slots};
use crate::secrets::SecretData;
use crate::secrets::status::{CertificateStatus, State};
use crate::selection::Selection;
use crate::stack::{SecretKind, SecretSpec};

/// What `status` and `diff` look at.
pub struct Params<'a> {
    /// The stacks to look at.
    pub stacks: Selection<'a>,
    /// The cluster.
    pub target: Target,
    /// How to find the security group, for `diff`; `None` leaves it out.
    pub security_groups: Option<aws::Settings>,
}

/// The state of one planned object.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectStatus {
    /// `Kind namespace/name`.
    pub object: String,
    /// Its stack.
    pub stack: String,
    /// `ready`, `waiting`, `failed`, `missing` or `foreign` (exists, not obsboot's).
    pub state: &'static str,
    /// What it says, when not ready.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// The cluster against the plan.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// The API server.
    pub cluster: String,
    /// Every planned object, the generated Secrets included.
    pub objects: Vec<ObjectStatus>,
    /// Every certificate in the generated Secrets, with its end of validity.
    pub certificates: Vec<CertificateStatus>,
    /// The renewal window (`spec.certificates.renewBefore` of the Linkerd stack), in days.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renew_before_days: Option<i64>,
    /// The security group and each planned rule's state, when obsboot manages it and the
    /// control-plane nodes have one group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_group: Option<GroupStatus>,
    /// With control-plane nodes in several groups: each group and its rules' states.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub security_groups: Vec<GroupStatus>,
}

/// The security group against the ingress plan.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupStatus {
    /// Which group, found how.
    pub target: aws::Target,
    /// Each planned rule, and each of ours the plan no longer wants.
    pub rules: Vec<RuleStatus>,
}

/// The state of one rule.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleStatus {
    /// `tcp PORT from CIDR`.
    pub rule: String,
    /// Its stack.
    pub stack: String,
    /// `open` (ours), `missing`, `foreign` (allowed by a rule obsboot does not own) or `stale`
    /// (ours, no longer planned).
    pub state: &'static str,
    /// The rule's id, when it exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// Each planned rule's state in each control-plane node's security group, read as
/// bootstrap reads them.
async fn group_status(
    cluster: &Cluster,
    settings: &aws::Settings,
    params: &Params<'_>,
    plan: &crate::plan::Plan,
) -> Result<Vec<GroupStatus>, BootstrapError> {
    let prepared = prepare(cluster, settings, params, plan).await?;
    let mut all = Vec::with_capacity(prepared.changes.len());
    for changes in &prepared.changes {
        let Some(target) = prepared.on(&changes.group).first().map(|t| (*t).clone()) else {
            continue;
        };
        let wanted = |w: &aws::Wanted, state, id: Option<&str>| RuleStatus {
            rule: format!("tcp {} from {}", w.port, w.cidr),
            stack: w.stack.clone(),
            state,
            id: id.map(str::to_owned),
        };
        let mut rules: Vec<RuleStatus> = changes
            .keep
            .iter()
            .map(|(w, r)| wanted(w, "open", Some(&r.id)))
            .chain(changes.add.iter().map(|w| wanted(w, "missing", None)))
            .chain(
                changes
                    .foreign
                    .iter()
                    .map(|(w, r)| wanted(w, "foreign", Some(&r.id))),
            )
            .collect();
        rules.extend(changes.revoke.iter().map(|r| RuleStatus {
            rule: format!(
                "tcp {} from {}",
                r.from_port,
                r.cidr.as_deref().unwrap_or_default()
            ),
            stack: r.tags.get(aws::STACK_TAG).cloned().unwrap_or_default(),
            state: "stale",
            id: Some(r.id.clone()),
        }));
        all.push(GroupStatus { target, rules });
    }
    Ok(all)
}

/// Finds the groups and works out what bootstrap would change in them, reading only.
async fn prepare(
    cluster: &Cluster,
    settings: &aws::Settings,
    params: &Params<'_>,
    plan: &crate::plan::Plan,
) -> Result<aws::Prepared, BootstrapError> {
    let nodes = settings.nodes(cluster.nodes(&settings.node_selector).await?)?;
    let scope = settings.scope(params.stacks.names());
    Ok(aws::prepare(settings, &nodes, &aws::wanted(&plan.ingress), scope).await?)
}

/// Reads the state of every planned object.
pub async fn status(params: &Params<'_>) -> Result<Status, BootstrapError> {
    let cluster = Cluster::connect(&params.target).await?;
    let plan = params.stacks.render(&Slots::default())?;
    let objects: Vec<ObjectStatus> = stream::iter(&plan.objects)
        .map(|object| object_status(&cluster, object, params.stacks.meshes_apps()))
        .buffered(CONCURRENCY)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    let mut objects = objects;
    let mut live = Vec::with_capacity(plan.secrets.len());
    for spec in &plan.secrets {
        let read = secrets::read(&cluster, spec).await;
        let (state, detail) = match &read {
            Ok(Some(_)) => ("ready", String::new()),
            Ok(None) => ("missing", "bootstrap generates it".into()),
            Err(K8sError::NotOurs { .. }) => ("foreign", "exists, not created by obsboot".into()),
            Err(err) => ("failed", err.to_string()),
        };
        objects.push(ObjectStatus {
            object: secrets::key(spec).to_string(),
            stack: spec.stack.name().into(),
            state,
            detail,
        });
        live.push((spec, read.ok().flatten()));
    }
    anchor_detail(&mut objects, &live);
    let linkerd = params
        .stacks
        .stacks
        .iter()
        .find_map(|stack| match &stack.spec {
            crate::stack::Spec::Linkerd(linkerd) => Some(&linkerd.certificates),
            _ => None,
        });
    let renew_before_days =
        linkerd.map(|certificates| crate::secrets::renewal::window(certificates).whole_days());
    let certificates = linkerd
        .map(|certificates| {
            let secrets: Vec<(&SecretSpec, Option<&SecretData>)> = live
                .iter()
                .map(|(spec, data)| (*spec, data.as_ref()))
                .collect();
            crate::secrets::status::certificates(
                &secrets,
                certificates,
                time::OffsetDateTime::now_utc(),
            )
        })
        .unwrap_or_default();
    let mut groups = match &params.security_groups {
        Some(settings) => group_status(&cluster, settings, params, &plan).await?,
        None => Vec::new(),
    };
    let (security_group, security_groups) = if groups.len() == 1 {
        (groups.pop(), Vec::new())
    } else {
        (None, groups)
    };
    Ok(Status {
        cluster: cluster.url,
        objects,
        certificates,
        renew_before_days,
        security_group,
        security_groups,
    })
}

async fn object_status(
    cluster: &Cluster,
    object: &Object,
    meshed: bool,
) -> Result<ObjectStatus, K8sError> {
    let status = |state, detail: String| ObjectStatus {
        object: object.key.to_string(),
        stack: object.stack.name().into(),
        state,
        detail,
    };
    if cluster
        .resolve(object.api_version(), &object.key.kind)
        .is_none()
    {
        return Ok(status(
            "missing",
            "the cluster does not serve its kind yet".into(),
        ));
    }
    let Some(live) = cluster.get(object).await? else {
        return Ok(status("missing", String::new()));
    };
    if !is_ours(&live.metadata) {
        return Ok(status("foreign", "exists, not created by obsboot".into()));
    }
    let value = to_value(&live);
    Ok(
        match readiness(&object.key.group, &object.key.kind, &value) {
            Readiness::Ready => {
                let unmeshed = if meshed {
                    unmeshed(cluster, object).await
                } else {
                    Vec::new()
                };
                if unmeshed.is_empty() {
                    status("ready", String::new())
                } else {
                    status(
                        "waiting",
                        format!("pods without a Linkerd proxy: {}", unmeshed.join(", ")),
                    )
                }
            }
            Readiness::Waiting(what) => status("waiting", what),
            Readiness::Failed(why) => status("failed", why),
        },
    )
}

/// For the applications' Deployments: their pods that run without a proxy.
async fn unmeshed(cluster: &Cluster, object: &Object) -> Vec<String> {
    if object.key.kind != "Deployment" || object.stack != crate::stack::StackKind::Bookinfo {
        return Vec::new();
    }
    crate::bootstrap::unmeshed_pods(cluster, object)
        .await
        .unwrap_or_default()
}

/// One line per certificate: its state, its end, which it is and where, and what happens.
fn certificates_table(out: &mut String, status: &Status) {
    let Some(days) = status
        .renew_before_days
        .filter(|_| !status.certificates.is_empty())
    else {
        return;
    };
    let _ = writeln!(
        out,
        "certificates (due: inside the {days}-day renewal window, spec.certificates.renewBefore):"
    );
    let ends: Vec<String> = status
        .certificates
        .iter()
        .map(|c| {
            let date = c.not_after.get(..10).unwrap_or_default();
            match c.days_left {
                1 => format!("{date} (1 day left)"),
                left if left >= 0 => format!("{date} ({left} days left)"),
                -1 => format!("{date} (1 day ago)"),
                left => format!("{date} ({} days ago)", -left),
            }
        })
        .collect();
    let width = ends.iter().map(String::len).max().unwrap_or(0);
    for (certificate, end) in status.certificates.iter().zip(&ends) {
        let state = match certificate.state {
            State::Valid => "valid",
            State::Due => "due",
            State::Expired => "expired",
            State::Replaced => "replaced",
        };
        let _ = write!(
            out,
            "  {state:<8} {end:<width$}  {} ({})",
            certificate.certificate, certificate.secret
        );
        if !certificate.detail.is_empty() {
            let _ = write!(out, ": {}", certificate.detail);
        }
        out.push('\n');
    }
}

/// Whether something in `status` needs attention: an object not ready, or a certificate
/// inside its renewal window or expired (`status --exit-code`).
pub fn needs_attention(status: &Status) -> (usize, usize) {
    let objects = status.objects.iter().filter(|o| o.state != "ready").count();
    let certificates = status
        .certificates
        .iter()
        .filter(|c| matches!(c.state, State::Due | State::Expired))
        .count();
    (objects, certificates)
}

/// A missing trust-anchor Secret next to an existing issuer is not generated (a new anchor
/// would break mTLS between meshed pods): says so instead of "bootstrap generates it".
fn anchor_detail(objects: &mut [ObjectStatus], live: &[(&SecretSpec, Option<SecretData>)]) {
    let issuer_exists = live
        .iter()
        .any(|(spec, data)| spec.kind == SecretKind::LinkerdIssuer && data.is_some());
    let Some((anchor, _)) = live
        .iter()
        .find(|(spec, data)| spec.kind == SecretKind::LinkerdTrustAnchor && data.is_none())
    else {
        return;
    };
    let name = secrets::key(anchor).to_string();
    if let Some(object) = objects
        .iter_mut()
        .find(|o| o.object == name && o.state == "missing")
        && issuer_exists
    {
        object.detail = "the issuer predates it, so bootstrap does not make it (a new trust anchor would break mTLS between meshed pods): the issuer cannot be renewed; see deploy.md, \"Rotating the trust anchor\"".into();
    }
}

/// Formats `status` as a table with a summary line.
pub fn status_table(status: &Status) -> String {
    let width = status
        .objects
        .iter()
        .map(|o| o.object.len())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for object in &status.objects {
        let _ = write!(
            out,
            "{:<10} {:<width$} {}",
            object.stack, object.object, object.state
        );
        if !object.detail.is_empty() {
            let _ = write!(out, ": {}", object.detail);
        }
        out.push('\n');
    }
    let count = |state| status.objects.iter().filter(|o| o.state == state).count();
    let _ = writeln!(
        out,
        "{} objects on {}: {} ready, {} waiting, {} failed, {} missing, {} not obsboot's",
        status.objects.len(),
        status.cluster,
        count("ready"),
        count("waiting"),
        count("failed"),
        count("missing"),
        count("foreign")
    );
    certificates_table(&mut out, status);
    for group in status.security_group.iter().chain(&status.security_groups) {
        let _ = writeln!(
            out,
            "security group {} ({}) in {}:",
            group.target.group, group.target.group_name, group.target.region
        );
        for rule in &group.rules {
            let what = match rule.state {
                "open" => "open",
                "missing" => "missing: bootstrap opens it",
                "foreign" => "allowed by a rule obsboot does not own",
                _ => "no longer planned: bootstrap revokes it",
            };
            let id = rule
                .id
                .as_deref()
                .map(|id| format!(" ({id})"))
                .unwrap_or_default();
            let _ = writeln!(out, "  {:<10} {} {what}{id}", rule.stack, rule.rule);
        }
        if group.rules.is_empty() {
            let _ = writeln!(
                out,
                "  no rule planned (no source chosen), none of obsboot's there"
            );
        }
    }
    out
}

/// What `diff` found for one object.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase", tag = "change")]
pub enum Change {
    /// Bootstrap would create it.
    Create {
        /// `Kind namespace/name`.
        object: String,
    },
    /// Bootstrap would change it; the unified diff of live → planned.
    Update {
        /// `Kind namespace/name`.
        object: String,
        /// The diff.
        diff: String,
    },
    /// It exists without obsboot's label: bootstrap would stop there.
    Foreign {
        /// `Kind namespace/name`.
        object: String,
    },
    /// Bootstrap would open this security-group rule.
    Open {
        /// `tcp PORT from CIDR in GROUP (stack/workload)`.
        rule: String,
    },
    /// Bootstrap would revoke this rule of obsboot's, which the plan no longer wants.
    Revoke {
        /// `tcp PORT from CIDR in GROUP (sgr-...)`.
        rule: String,
    },
}

/// Every change bootstrap would make to the objects of the plan (unchanged ones omitted).
pub async fn diff(params: &Params<'_>) -> Result<Vec<Change>, BootstrapError> {
    let cluster = Cluster::connect(&params.target).await?;
    let mut values = Vec::new();
    for spec in params.stacks.secrets() {
        if let Ok(Some(data)) = secrets::read(&cluster, &spec).await {
            values.push((spec, data));
        }
    }
    let now = time::OffsetDateTime::now_utc();
    let slots = crate::secrets::slot_values(values.iter().map(|(s, d)| (s, d)), now);
    let plan = params.stacks.render(&Slots::with_values(slots))?;
    let changes: Vec<Result<Option<Change>, K8sError>> = stream::iter(&plan.objects)
        .map(|object| change(&cluster, object))
        .buffered(CONCURRENCY)
        .collect()
        .await;
    let mut found = Vec::new();
    for change in changes {
        found.extend(change?);
    }
    if let Some(settings) = &params.security_groups {
        found.extend(rule_changes(&cluster, settings, params, &plan).await?);
    }
    Ok(found)
}

/// The rules bootstrap would open and revoke, read from EC2 as bootstrap reads them.
async fn rule_changes(
    cluster: &Cluster,
    settings: &aws::Settings,
    params: &Params<'_>,
    plan: &crate::plan::Plan,
) -> Result<Vec<Change>, BootstrapError> {
    let prepared = prepare(cluster, settings, params, plan).await?;
    let open = prepared.changes.iter().flat_map(|changes| {
        changes.add.iter().map(|w| Change::Open {
            rule: format!(
                "tcp {} from {} in {} ({}/{})",
                w.port, w.cidr, changes.group, w.stack, w.workload
            ),
        })
    });
    let revoke = prepared
        .changes
        .iter()
        .flat_map(|c| &c.revoke)
        .map(|r| Change::Revoke {
            rule: format!(
                "tcp {} from {} in {} ({})",
                r.from_port,
                r.cidr.as_deref().unwrap_or_default(),
                r.group,
                r.id
            ),
        });
    Ok(revoke.chain(open).collect())
}

async fn change(cluster: &Cluster, object: &Object) -> Result<Option<Change>, K8sError> {
    let name = object.key.to_string();
    if cluster
        .resolve(object.api_version(), &object.key.kind)
        .is_none()
    {
        return Ok(Some(Change::Create { object: name }));
    }
    let Some(live) = cluster.get(object).await? else {
        return Ok(Some(Change::Create { object: name }));
    };
    if !is_ours(&live.metadata) {
        return Ok(Some(Change::Foreign { object: name }));
    }
    let mode = ApplyMode {
        force: false,
        dry_run: true,
    };
    let planned = cluster.apply(object, mode).await?;
    let (before, after) = (
        comparable(&to_value(&live)),
        comparable(&to_value(&planned)),
    );
    if before == after {
        return Ok(None);
    }
    let diff = similar::TextDiff::from_lines(&before, &after)
        .unified_diff()
        .context_radius(3)
        .header(&format!("live {name}"), &format!("planned {name}"))
        .to_string();
    Ok(Some(Change::Update { object: name, diff }))
}

/// The object as YAML without what the server alone maintains.
fn comparable(value: &Value) -> String {
    let mut value = value.clone();
    if let Some(map) = value.as_object_mut() {
        map.remove("status");
    }
    if let Some(metadata) = value.get_mut("metadata").and_then(Value::as_object_mut) {
        for field in [
            "managedFields",
            "resourceVersion",
            "generation",
            "uid",
            "creationTimestamp",
        ] {
            metadata.remove(field);
        }
    }
    let mut out = String::new();
    crate::yaml::emit::document(&mut out, &value);
    out
}

/// Formats the changes for people.
pub fn diff_text(changes: &[Change]) -> String {
    let mut out = String::new();
    for change in changes {
        match change {
            Change::Create { object } => {
                let _ = writeln!(out, "+ create {object}");
            }
            Change::Foreign { object } => {
                let _ = writeln!(
                    out,
                    "! {object} exists and is not obsboot's: bootstrap would stop here"
                );
            }
            Change::Update { diff, .. } => out.push_str(diff),
            Change::Open { rule } => {
                let _ = writeln!(out, "+ open {rule}");
            }
            Change::Revoke { rule } => {
                let _ = writeln!(out, "- revoke {rule}");
            }
        }
    }
    if changes.is_empty() {
        out.push_str("no changes: the cluster matches the plan\n");
    }
    out
}
