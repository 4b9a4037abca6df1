//! The EC2 calls obsboot makes, as a small trait: the SDK client implements it (`sdk.rs`, the
//! crate obsboot-ec2), and so does an in-memory fake in the unit tests, for what moto cannot
//! show. It is object-safe (async-trait boxes each call's future): the library holds the client
//! as a `dyn Ec2Api` and so compiles without the SDK.

use super::error::AwsError;
use super::model::{
    Authorized, Group, Instance, NewPermission, NewRule, Revoked, Rule, RuleFilter, Subnet, Vpc,
};

/// The EC2 calls obsboot makes. Every list call reads all pages.
#[async_trait::async_trait]
pub trait Ec2Api: Send + Sync {
    /// DescribeInstances by id; `None` when EC2 does not know it.
    async fn instance(&self, id: &str) -> Result<Option<Instance>, AwsError>;
    /// DescribeInstances filtered on `private-ip-address`.
    async fn instances_with_private_ip(&self, ip: &str) -> Result<Vec<Instance>, AwsError>;
    /// DescribeInstances of several ids at once (filtered on `instance-id`, so that an id EC2
    /// does not know is left out instead of failing the call); terminated ones are left out.
    async fn instances(&self, ids: &[String]) -> Result<Vec<Instance>, AwsError>;
    /// DescribeInstances filtered on several private addresses at once; terminated ones are
    /// left out.
    async fn instances_with_private_ips(&self, ips: &[String]) -> Result<Vec<Instance>, AwsError>;
    /// DescribeSecurityGroups by ids; ids EC2 does not know are left out (the caller names
    /// the missing group and where its id came from).
    async fn groups(&self, ids: &[String]) -> Result<Vec<Group>, AwsError>;
    /// DescribeSubnets by ids; ids EC2 does not know are left out.
    async fn subnets(&self, ids: &[String]) -> Result<Vec<Subnet>, AwsError>;
    /// DescribeVpcs by ids; ids EC2 does not know are left out.
    async fn vpcs(&self, ids: &[String]) -> Result<Vec<Vpc>, AwsError>;
    /// DescribeSecurityGroupRules; a group or rule id EC2 does not know yields no rules.
    async fn rules(&self, filter: &RuleFilter) -> Result<Vec<Rule>, AwsError>;
    /// AuthorizeSecurityGroupIngress for one rule, tagged on creation.
    async fn authorize(&self, rule: &NewRule) -> Result<Authorized, AwsError>;
    /// AuthorizeSecurityGroupIngress for one permission of any protocol and source, tagged
    /// on creation.
    async fn authorize_permission(
        &self,
        permission: &NewPermission,
    ) -> Result<Authorized, AwsError>;
    /// RevokeSecurityGroupIngress of one rule by id.
    async fn revoke(&self, group: &str, rule: &str) -> Result<Revoked, AwsError>;
    /// ModifyInstanceAttribute `sourceDestCheck`.
    async fn set_source_dest_check(&self, instance: &str, on: bool) -> Result<(), AwsError>;
    /// CreateTags of one tag on an instance.
    async fn tag_instance(&self, instance: &str, key: &str, value: &str) -> Result<(), AwsError>;
    /// DeleteTags of one tag key on an instance.
    async fn untag_instance(&self, instance: &str, key: &str) -> Result<(), AwsError>;
}
