//! The planned rules against what the group holds: which to create, which of ours to keep or
//! revoke, and which are already allowed by a rule obsboot does not own (left alone, never
//! tagged or adopted). Mutations go one rule per request, each confirmed by reading it back.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::api::Ec2Api;
use super::error::AwsError;
use super::model::{Authorized, NewRule, Revoked, Rule, RuleFilter};
use super::{CLUSTER_TAG, MANAGED_TAG, STACK_TAG, WORKLOAD_TAG};

/// EC2's longest rule description.
const DESCRIPTION_MAX: usize = 255;
/// Reads of a just-created rule before it counts as not visible (EC2 is eventually
/// consistent); the pause doubles from 100 ms.
const CONFIRM_ATTEMPTS: u32 = 6;

/// A rule the plan wants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Wanted {
    /// The TCP port.
    pub port: u16,
    /// The source network.
    pub cidr: String,
    /// The stack exposing it.
    pub stack: String,
    /// The workload behind it.
    pub workload: String,
    /// What it is, from the exposure.
    pub description: String,
}

impl Wanted {
    /// The rule's description in EC2: `obsboot: <stack>/<workload>: <description>`.
    pub fn ec2_description(&self) -> String {
        let mut text = format!(
            "obsboot: {}/{}: {}",
            self.stack, self.workload, self.description
        );
        if text.len() > DESCRIPTION_MAX {
            let end = (0..=DESCRIPTION_MAX)
                .rev()
                .find(|&at| text.is_char_boundary(at))
                .unwrap_or(0);
            text.truncate(end);
        }
        text
    }
}

impl std::fmt::Display for Wanted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "tcp {} from {} ({}/{})",
            self.port, self.cidr, self.stack, self.workload
        )
    }
}

/// Whose rules are in play: this installation's, of these stacks.
#[derive(Debug, Clone)]
pub struct Scope {
    /// cluster.yaml's `name`.
    pub installation: String,
    /// The stacks being bootstrapped or torn down.
    pub stacks: BTreeSet<String>,
    /// Whether the rules `doctor --fix` added between the nodes are in play too (teardown
    /// `--include-network`); they are the cluster's, and left alone otherwise.
    pub network: bool,
}

impl Scope {
    /// Whether obsboot created `rule` for this installation (its tags say so).
    pub fn owns(&self, rule: &Rule) -> bool {
        rule.tags.get(MANAGED_TAG).map(String::as_str) == Some("true")
            && rule.tags.get(CLUSTER_TAG) == Some(&self.installation)
    }

    /// Whether `rule` is ours and belongs to one of the stacks in play.
    pub fn covers(&self, rule: &Rule) -> bool {
        let stack = rule
            .tags
            .get(STACK_TAG)
            .is_some_and(|stack| self.stacks.contains(stack));
        let network = self.network
            && rule.tags.get(super::SCOPE_TAG).map(String::as_str) == Some(super::NETWORK_SCOPE);
        self.owns(rule) && !rule.egress && (stack || network)
    }

    fn tags(&self, wanted: &Wanted) -> BTreeMap<String, String> {
        BTreeMap::from([
            (MANAGED_TAG.to_owned(), "true".to_owned()),
            (CLUSTER_TAG.to_owned(), self.installation.clone()),
            (STACK_TAG.to_owned(), wanted.stack.clone()),
            (WORKLOAD_TAG.to_owned(), wanted.workload.clone()),
        ])
    }
}

/// A rule in a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleReport {
    /// `sgr-...`, when it exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The group.
    pub group: String,
    /// The port (the first, for a foreign rule over a range).
    pub port: u16,
    /// The source network.
    pub cidr: String,
    /// The stack (empty for a foreign rule's own description).
    pub stack: String,
}

impl RuleReport {
    fn of(wanted: &Wanted, group: &str, id: Option<&str>) -> Self {
        Self {
            id: id.map(str::to_owned),
            group: group.to_owned(),
            port: wanted.port,
            cidr: wanted.cidr.clone(),
            stack: wanted.stack.clone(),
        }
    }

    fn of_rule(rule: &Rule) -> Self {
        Self {
            id: Some(rule.id.clone()),
            group: rule.group.clone(),
            port: u16::try_from(rule.from_port).unwrap_or_default(),
            cidr: rule.cidr.clone().unwrap_or_default(),
            stack: rule.tags.get(STACK_TAG).cloned().unwrap_or_default(),
        }
    }
}

impl std::fmt::Display for RuleReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "tcp {} from {} in {}", self.port, self.cidr, self.group)?;
        match &self.id {
            Some(id) => write!(f, " ({id})"),
            None => Ok(()),
        }
    }
}

/// What reconciling found to do.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    /// The group ports are opened in.
    pub group: String,
    /// Wanted and present as ours.
    pub keep: Vec<(Wanted, Rule)>,
    /// Wanted and missing.
    pub add: Vec<Wanted>,
    /// Wanted, and already allowed by a rule obsboot does not own.
    pub foreign: Vec<(Wanted, Rule)>,
    /// Ours, of the stacks in play, and no longer wanted.
    pub revoke: Vec<Rule>,
}

impl Changes {
    /// Whether nothing would change.
    pub fn is_empty(&self) -> bool {
        self.add.is_empty() && self.revoke.is_empty()
    }
}

/// Compares the wanted rules with ours (found by tag, in any group) and with every rule of
/// `group`.
pub fn diff(
    group: &str,
    wanted: &[Wanted],
    ours: &[Rule],
    in_group: &[Rule],
    scope: &Scope,
) -> Changes {
    diff_groups(&[(group, in_group)], wanted, ours, scope)
        .pop()
        .unwrap_or_default()
}

/// Compares the wanted rules with ours (found by tag, in any group) and with every rule of
/// each group they are wanted in (one group per control-plane node; nodes that share a group
/// share its rules): one set of changes per group, in the order given. A rule of ours that no
/// group wants any longer is revoked with the changes of its own group, or of the first group
/// when its own is no longer one of them (the node moved to another group).
pub fn diff_groups(
    groups: &[(&str, &[Rule])],
    wanted: &[Wanted],
    ours: &[Rule],
    scope: &Scope,
) -> Vec<Changes> {
    let mut matched: BTreeSet<&str> = BTreeSet::new();
    let mut all: Vec<Changes> = Vec::with_capacity(groups.len());
    for &(group, in_group) in groups {
        if all.iter().any(|c| c.group == group) {
            continue;
        }
        let mut changes = Changes {
            group: group.to_owned(),
            ..Changes::default()
        };
        for want in dedup(wanted) {
            let mine = ours.iter().find(|r| {
                r.group == group && scope.covers(r) && r.admits_exactly(want.port, &want.cidr)
            });
            if let Some(rule) = mine {
                matched.insert(&rule.id);
                changes.keep.push((want.clone(), rule.clone()));
            } else if let Some(rule) = in_group
                .iter()
                .find(|r| !scope.owns(r) && r.admits_exactly(want.port, &want.cidr))
            {
                changes.foreign.push((want.clone(), rule.clone()));
            } else {
                changes.add.push(want.clone());
            }
        }
        all.push(changes);
    }
    for rule in ours
        .iter()
        .filter(|r| scope.covers(r) && !matched.contains(r.id.as_str()))
    {
        let at = all.iter().position(|c| c.group == rule.group).unwrap_or(0);
        if let Some(changes) = all.get_mut(at) {
            changes.revoke.push(rule.clone());
        }
    }
    all
}

/// The wanted rules without repeats (two exposures of one port from one source would make
/// EC2 refuse the second as a duplicate).
fn dedup(wanted: &[Wanted]) -> Vec<&Wanted> {
    let mut seen = BTreeSet::new();
    wanted
        .iter()
        .filter(|w| seen.insert((w.port, w.cidr.as_str())))
        .collect()
}

/// Fails before the first mutation when the rules would not fit in the group's quota of
/// `limit` inbound rules per address family.
pub fn check_quota(changes: &Changes, in_group: &[Rule], limit: usize) -> Result<(), AwsError> {
    for (family, ipv6) in [("IPv4", false), ("IPv6", true)] {
        let revoked: BTreeSet<&str> = changes
            .revoke
            .iter()
            .filter(|r| r.group == changes.group)
            .map(|r| r.id.as_str())
            .collect();
        let existing = in_group
            .iter()
            .filter(|r| !r.egress && r.is_ipv6() == ipv6 && !revoked.contains(r.id.as_str()))
            .count();
        let adding = changes
            .add
            .iter()
            .filter(|w| w.cidr.contains(':') == ipv6)
            .count();
        if adding > 0 && existing + adding > limit {
            return Err(AwsError::RuleQuota {
                group: changes.group.clone(),
                family,
                existing,
                adding,
                limit,
            });
        }
    }
    Ok(())
}

/// What applying the changes did.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Applied {
    /// Rules created this run.
    pub opened: Vec<RuleReport>,
    /// Rules of ours that were already there.
    pub unchanged: Vec<RuleReport>,
    /// Rules of ours revoked because the plan no longer wants them.
    pub revoked: Vec<RuleReport>,
    /// Wanted rules already allowed by a rule obsboot does not own, left as they are.
    pub foreign: Vec<RuleReport>,
}

impl Applied {
    /// Whether EC2 was changed.
    pub fn changed(&self) -> bool {
        !self.opened.is_empty() || !self.revoked.is_empty()
    }
}

/// Carries out `changes`: revocations first (they free quota), then each new rule on its
/// own, tagged on creation and read back until EC2 lists it.
pub async fn apply(
    ec2: &dyn Ec2Api,
    changes: &Changes,
    scope: &Scope,
    cancel: &CancellationToken,
) -> Result<Applied, AwsError> {
    let mut applied = Applied {
        unchanged: changes
            .keep
            .iter()
            .map(|(_, rule)| RuleReport::of_rule(rule))
            .collect(),
        foreign: changes
            .foreign
            .iter()
            .map(|(want, rule)| RuleReport::of(want, &changes.group, Some(&rule.id)))
            .collect(),
        ..Applied::default()
    };
    let partial = |applied: &Applied, cause: AwsError| AwsError::Partial {
        created: applied.opened.iter().map(ToString::to_string).collect(),
        cause: Box::new(cause),
    };
    for rule in &changes.revoke {
        if cancel.is_cancelled() {
            return Err(partial(&applied, AwsError::Interrupted));
        }
        match ec2.revoke(&rule.group, &rule.id).await {
            Ok(Revoked::Revoked | Revoked::AlreadyGone) => {
                applied.revoked.push(RuleReport::of_rule(rule));
            }
            Err(err) => return Err(partial(&applied, err)),
        }
    }
    for want in &changes.add {
        if cancel.is_cancelled() {
            return Err(partial(&applied, AwsError::Interrupted));
        }
        let new = NewRule {
            group: changes.group.clone(),
            port: want.port,
            cidr: want.cidr.clone(),
            description: want.ec2_description(),
            tags: scope.tags(want),
        };
        match create(ec2, &new, scope).await {
            Ok(Made::Ours(id)) => {
                applied
                    .opened
                    .push(RuleReport::of(want, &changes.group, Some(&id)));
            }
            Ok(Made::Foreign(id)) => {
                applied
                    .foreign
                    .push(RuleReport::of(want, &changes.group, Some(&id)));
            }
            Err(err) => return Err(partial(&applied, err)),
        }
    }
    Ok(applied)
}

enum Made {
    Ours(String),
    Foreign(String),
}

async fn create(ec2: &dyn Ec2Api, new: &NewRule, scope: &Scope) -> Result<Made, AwsError> {
    match ec2.authorize(new).await? {
        Authorized::Created(id) => {
            confirm(ec2, &id, new).await?;
            Ok(Made::Ours(id))
        }
        // Someone added it since the group was read, or a retried request of ours already
        // created it: the tags tell which.
        Authorized::Duplicate => {
            let rules = ec2.rules(&RuleFilter::Group(new.group.clone())).await?;
            let rule = rules
                .iter()
                .find(|r| r.admits_exactly(new.port, &new.cidr))
                .ok_or_else(|| AwsError::NotVisible {
                    id: "(EC2 answered InvalidPermission.Duplicate)".into(),
                    rule: new.to_string(),
                    attempts: 1,
                })?;
            Ok(if scope.owns(rule) {
                Made::Ours(rule.id.clone())
            } else {
                Made::Foreign(rule.id.clone())
            })
        }
    }
}

async fn confirm(ec2: &dyn Ec2Api, id: &str, new: &NewRule) -> Result<(), AwsError> {
    let mut pause = Duration::from_millis(100);
    for _ in 0..CONFIRM_ATTEMPTS {
        if !ec2.rules(&RuleFilter::Id(id.to_owned())).await?.is_empty() {
            return Ok(());
        }
        tokio::time::sleep(pause).await;
        pause *= 2;
    }
    Err(AwsError::NotVisible {
        id: id.to_owned(),
        rule: new.to_string(),
        attempts: CONFIRM_ATTEMPTS,
    })
}

/// What closing did.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Closed {
    /// Rules revoked.
    pub revoked: Vec<RuleReport>,
    /// Rules found by their tags that were gone when revoked.
    pub already_gone: Vec<RuleReport>,
}

/// Every inbound rule tagged as this installation's for the stacks in play, in whatever
/// group it is.
pub async fn tagged(ec2: &dyn Ec2Api, scope: &Scope) -> Result<Vec<Rule>, AwsError> {
    let by_tag = RuleFilter::Tag(CLUSTER_TAG.to_owned(), scope.installation.clone());
    let mut rules = ec2.rules(&by_tag).await?;
    rules.retain(|r| scope.covers(r));
    Ok(rules)
}

/// Revokes `rules` by id, one request each; a rule already gone is success.
pub async fn revoke_all(
    ec2: &dyn Ec2Api,
    rules: &[Rule],
    cancel: &CancellationToken,
) -> Result<Closed, AwsError> {
    let mut closed = Closed::default();
    for rule in rules {
        if cancel.is_cancelled() {
            return Err(AwsError::Interrupted);
        }
        match ec2.revoke(&rule.group, &rule.id).await? {
            Revoked::Revoked => closed.revoked.push(RuleReport::of_rule(rule)),
            Revoked::AlreadyGone => closed.already_gone.push(RuleReport::of_rule(rule)),
        }
    }
    Ok(closed)
}
