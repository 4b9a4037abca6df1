//! `doctor --fix` and `--revert`: add the planned rules between the nodes, one request each,
//! tagged as obsboot's network rules as they are created; with its own flag, turn the
//! source/destination check off, recording the old value on the instance; and take exactly
//! those back.

use std::collections::BTreeMap;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::aws::model::{Authorized, NewPermission, Revoked, RuleFilter, Source};
use crate::aws::{
    AwsError, CLUSTER_TAG, Ec2Api, MANAGED_TAG, NETWORK_SCOPE, SCOPE_TAG, SOURCE_DEST_CHECK_WAS_TAG,
};
use crate::network::fixes::{FixPlan, NewRule, RuleSource};
use crate::network::model::{Direction, Permission};

use super::DoctorError;

/// What `--fix` changed.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Fixed {
    /// The rules added: `sgr-... sg-worker <- sg-master: IP protocol 4 (Calico IP-in-IP)`.
    pub added: Vec<String>,
    /// Rules EC2 already had (a duplicate answer).
    pub present: Vec<String>,
    /// Instances whose source/destination check was turned off.
    pub source_dest_check_off: Vec<String>,
    /// What is left to the user.
    pub manual: Vec<String>,
}

/// What `--revert` took back.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reverted {
    /// The rules revoked, by id and group.
    pub revoked: Vec<String>,
    /// Rules that were gone already.
    pub already_gone: Vec<String>,
    /// Instances whose source/destination check was put back.
    pub source_dest_check_restored: Vec<String>,
}

/// The permission EC2 takes for `rule`, tagged with `tags`.
pub fn permission(rule: &NewRule, tags: &[(String, String)]) -> NewPermission {
    NewPermission {
        group: rule.group.clone(),
        protocol: rule.protocol.ec2(),
        from_port: rule.ports.from,
        to_port: rule.ports.to,
        source: match &rule.source {
            RuleSource::Group(group) => Source::Group(group.clone()),
            RuleSource::Cidr(net) => Source::Cidr(net.to_string()),
        },
        description: rule.description(),
        tags: tags.iter().cloned().collect::<BTreeMap<_, _>>(),
    }
}

/// Fails before any change when a group would hold more inbound rules than `limit`.
pub fn check_quota(
    plan: &FixPlan,
    existing: &[Permission],
    limit: usize,
) -> Result<(), DoctorError> {
    let mut adding: BTreeMap<&str, usize> = BTreeMap::new();
    for rule in &plan.rules {
        *adding.entry(rule.group.as_str()).or_default() += 1;
    }
    for (group, count) in adding {
        let have = existing
            .iter()
            .filter(|r| r.group == group && r.direction == Direction::Ingress)
            .count();
        if have + count > limit {
            return Err(DoctorError::Quota {
                group: group.to_owned(),
                have,
                adding: count,
                limit,
            });
        }
    }
    Ok(())
}

/// Adds the plan's rules; with `source_dest_check`, also turns the check off where native
/// routing needs it.
pub async fn apply(
    ec2: &dyn Ec2Api,
    plan: &FixPlan,
    tags: &[(String, String)],
    source_dest_check: bool,
    cancel: &CancellationToken,
) -> Result<Fixed, DoctorError> {
    let mut fixed = Fixed {
        manual: plan.manual.clone(),
        ..Fixed::default()
    };
    for rule in &plan.rules {
        if cancel.is_cancelled() {
            return Err(partial(&fixed, AwsError::Interrupted));
        }
        match ec2.authorize_permission(&permission(rule, tags)).await {
            Ok(Authorized::Created(id)) => fixed.added.push(format!("{id} {rule}")),
            Ok(Authorized::Duplicate) => fixed.present.push(rule.to_string()),
            Err(err) => return Err(partial(&fixed, err)),
        }
    }
    for need in &plan.source_dest_check {
        if !source_dest_check {
            fixed.manual.push(format!(
                "the source/destination check of {} ({}) is on: `--fix-source-dest-check` turns it off",
                need.instance_id, need.node
            ));
            continue;
        }
        if cancel.is_cancelled() {
            return Err(partial(&fixed, AwsError::Interrupted));
        }
        // The old value is recorded first, so that an interruption between the two calls
        // leaves something `--revert` can act on.
        let steps = async {
            ec2.tag_instance(&need.instance_id, SOURCE_DEST_CHECK_WAS_TAG, "true")
                .await?;
            ec2.set_source_dest_check(&need.instance_id, false).await
        };
        match steps.await {
            Ok(()) => fixed.source_dest_check_off.push(need.instance_id.clone()),
            Err(err) => return Err(partial(&fixed, err)),
        }
    }
    Ok(fixed)
}

fn partial(fixed: &Fixed, cause: AwsError) -> DoctorError {
    DoctorError::Aws(AwsError::Partial {
        created: fixed
            .added
            .iter()
            .cloned()
            .chain(
                fixed
                    .source_dest_check_off
                    .iter()
                    .map(|i| format!("source/destination check off on {i}")),
            )
            .collect(),
        cause: Box::new(cause),
    })
}

/// Revokes this installation's network rules, wherever they are, and puts back the
/// source/destination check of `instances` that carry the recorded value.
pub async fn revert(
    ec2: &dyn Ec2Api,
    installation: &str,
    recorded: &BTreeMap<String, bool>,
    cancel: &CancellationToken,
) -> Result<Reverted, DoctorError> {
    let mut out = Reverted::default();
    let mut rules = ec2
        .rules(&RuleFilter::Tag(
            SCOPE_TAG.to_owned(),
            NETWORK_SCOPE.to_owned(),
        ))
        .await?;
    rules.retain(|r| {
        r.tags.get(MANAGED_TAG).is_some_and(|v| v == "true")
            && r.tags.get(CLUSTER_TAG).is_some_and(|v| v == installation)
    });
    for rule in &rules {
        if cancel.is_cancelled() {
            return Err(AwsError::Interrupted.into());
        }
        let what = format!("{} in {}", rule.id, rule.group);
        match ec2.revoke(&rule.group, &rule.id).await? {
            Revoked::Revoked => out.revoked.push(what),
            Revoked::AlreadyGone => out.already_gone.push(what),
        }
    }
    for (instance, was) in recorded {
        if cancel.is_cancelled() {
            return Err(AwsError::Interrupted.into());
        }
        ec2.set_source_dest_check(instance, *was).await?;
        ec2.untag_instance(instance, SOURCE_DEST_CHECK_WAS_TAG)
            .await?;
        out.source_dest_check_restored.push(instance.clone());
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
