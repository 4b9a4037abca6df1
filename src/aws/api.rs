//! The EC2 calls obsboot makes, as a small trait: the SDK client implements it (`sdk.rs`),
//! and so does an in-memory fake in the unit tests, for what moto cannot show.

use super::error::AwsError;
use super::model::{Authorized, Group, Instance, NewRule, Revoked, Rule, RuleFilter};

/// The EC2 calls obsboot makes. Every list call reads all pages.
#[allow(async_fn_in_trait)] // used with concrete types only; no Send bound is needed
pub trait Ec2Api {
    /// DescribeInstances by id; `None` when EC2 does not know it.
    async fn instance(&self, id: &str) -> Result<Option<Instance>, AwsError>;
    /// DescribeInstances filtered on `private-ip-address`.
    async fn instances_with_private_ip(&self, ip: &str) -> Result<Vec<Instance>, AwsError>;
    /// DescribeSecurityGroups by ids; ids EC2 does not know are left out (the caller names
    /// the missing group and where its id came from).
    async fn groups(&self, ids: &[String]) -> Result<Vec<Group>, AwsError>;
    /// DescribeSecurityGroupRules; a group or rule id EC2 does not know yields no rules.
    async fn rules(&self, filter: &RuleFilter) -> Result<Vec<Rule>, AwsError>;
    /// AuthorizeSecurityGroupIngress for one rule, tagged on creation.
    async fn authorize(&self, rule: &NewRule) -> Result<Authorized, AwsError>;
    /// RevokeSecurityGroupIngress of one rule by id.
    async fn revoke(&self, group: &str, rule: &str) -> Result<Revoked, AwsError>;
}
