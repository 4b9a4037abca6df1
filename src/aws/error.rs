//! Why an EC2 step failed, in words that name the fix: the IAM action that is missing, the
//! instance or group that is unknown and where obsboot got its id, the rule quota.

use std::fmt;

/// The EC2 actions obsboot calls (its IAM policy lists exactly these, see deploy.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `ec2:DescribeInstances`.
    DescribeInstances,
    /// `ec2:DescribeSecurityGroups`.
    DescribeSecurityGroups,
    /// `ec2:DescribeSecurityGroupRules`.
    DescribeSecurityGroupRules,
    /// `ec2:AuthorizeSecurityGroupIngress` (with `ec2:CreateTags` for its tags).
    AuthorizeSecurityGroupIngress,
    /// `ec2:RevokeSecurityGroupIngress`.
    RevokeSecurityGroupIngress,
    /// `ec2:DescribeSubnets`.
    DescribeSubnets,
    /// `ec2:DescribeVpcs`.
    DescribeVpcs,
    /// `ec2:ModifyInstanceAttribute` (the opt-in change of the source/destination check).
    ModifyInstanceAttribute,
    /// `ec2:CreateTags` on an instance (the source/destination check's previous value).
    CreateTags,
    /// `ec2:DeleteTags` on an instance (once that value is restored).
    DeleteTags,
}

impl Action {
    /// The IAM action name.
    pub fn iam(self) -> &'static str {
        match self {
            Self::DescribeInstances => "ec2:DescribeInstances",
            Self::DescribeSecurityGroups => "ec2:DescribeSecurityGroups",
            Self::DescribeSecurityGroupRules => "ec2:DescribeSecurityGroupRules",
            Self::AuthorizeSecurityGroupIngress => {
                "ec2:AuthorizeSecurityGroupIngress (and ec2:CreateTags on security-group-rule, to tag the rule as it is created)"
            }
            Self::RevokeSecurityGroupIngress => "ec2:RevokeSecurityGroupIngress",
            Self::DescribeSubnets => "ec2:DescribeSubnets",
            Self::DescribeVpcs => "ec2:DescribeVpcs",
            Self::ModifyInstanceAttribute => "ec2:ModifyInstanceAttribute",
            Self::CreateTags => "ec2:CreateTags (on the node instances)",
            Self::DeleteTags => "ec2:DeleteTags (on the node instances)",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.iam();
        f.write_str(name.split_once(' ').map_or(name, |(action, _)| action))
    }
}

/// Where the region came from, for messages about instances that cannot be found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegionSource {
    /// `aws.region` in cluster.yaml.
    ClusterFile,
    /// The AWS environment (`AWS_REGION`, `AWS_DEFAULT_REGION`, the profile, instance metadata).
    Environment,
    /// The availability zone in the node's providerID.
    ProviderId,
}

impl fmt::Display for RegionSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::ClusterFile => "aws.region in cluster.yaml",
            Self::Environment => "AWS_REGION / the AWS profile",
            Self::ProviderId => "the node's providerID",
        })
    }
}

/// Why an EC2 step failed.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    /// No region from any source.
    #[error(
        "no AWS region: set aws.region in cluster.yaml, or AWS_REGION, or a region in the AWS profile (the node has no providerID to take it from)"
    )]
    NoRegion,
    /// No credentials could be loaded, or EC2 could not be reached.
    #[error(
        "{action} could not be sent to EC2 ({endpoint}): {detail}; check the AWS credentials (AWS_ACCESS_KEY_ID / AWS_PROFILE / instance role), the endpoint and the network, or pass --skip-security-groups to manage the security group yourself"
    )]
    Unreachable {
        /// The call.
        action: Action,
        /// The endpoint, or "the default endpoint".
        endpoint: String,
        /// What failed.
        detail: String,
    },
    /// The credentials lack a permission.
    #[error(
        "not permitted to call {action} ({code}): grant {} to these credentials; deploy.md lists the least-privilege policy",
        action.iam()
    )]
    Denied {
        /// The call.
        action: Action,
        /// `UnauthorizedOperation` or `AccessDenied`.
        code: String,
    },
    /// The credentials were rejected.
    #[error(
        "EC2 rejected the credentials calling {action} ({code}: {message}); check AWS_ACCESS_KEY_ID / AWS_PROFILE, and renew expired session credentials"
    )]
    Credentials {
        /// The call.
        action: Action,
        /// `AuthFailure`, `ExpiredToken`, ...
        code: String,
        /// EC2's message.
        message: String,
    },
    /// Throttled beyond the SDK's retries.
    #[error(
        "EC2 kept throttling {action} ({code}) after {attempts} attempts; wait a minute and run again (nothing is half-done: every rule is created or revoked on its own)"
    )]
    Throttled {
        /// The call.
        action: Action,
        /// `RequestLimitExceeded`, ...
        code: String,
        /// How many attempts were made.
        attempts: u32,
    },
    /// Any other error EC2 answered.
    #[error("{action} failed: {message} ({code}{})", status.map(|s| format!(", HTTP {s}")).unwrap_or_default())]
    Service {
        /// The call.
        action: Action,
        /// EC2's error code (empty when the answer had none).
        code: String,
        /// EC2's message.
        message: String,
        /// The HTTP status.
        status: Option<u16>,
    },
    /// No node carries the control-plane labels.
    #[error(
        "no node matches the control-plane selector {selector} (controlPlane.nodeSelector in cluster.yaml); fix the selector, or pass --instance-id"
    )]
    NoControlPlaneNode {
        /// The label selector.
        selector: String,
    },
    /// `--instance-id` names one instance, but several nodes carry the labels: it cannot say
    /// which node it means, and the pinned pods may run on any of them.
    #[error(
        "--instance-id {instance} names one instance, but {} nodes match the control-plane selector {selector} ({}), and the pinned workloads may run on any of them; leave --instance-id out, and obsboot finds each node's instance by its providerID or private address and opens the ports in each one's security group",
        nodes.len(), nodes.join(", ")
    )]
    SeveralControlPlaneNodes {
        /// The instance `--instance-id` named.
        instance: String,
        /// The label selector.
        selector: String,
        /// The nodes.
        nodes: Vec<String>,
    },
    /// The node's providerID is not an AWS one.
    #[error(
        "node {node} has providerID \"{provider_id}\", which names no EC2 instance (expected aws:///<zone>/i-...); pass --instance-id"
    )]
    ForeignProviderId {
        /// The node.
        node: String,
        /// Its providerID.
        provider_id: String,
    },
    /// The node has neither a providerID nor an internal address.
    #[error(
        "node {node} has no providerID and no InternalIP address to find its EC2 instance by; pass --instance-id"
    )]
    NodeWithoutAddress {
        /// The node.
        node: String,
    },
    /// The instance is unknown in the region.
    #[error(
        "EC2 instance {id} ({found_from}) does not exist in region {region} (the region comes from {region_source}); check the region, or pass --instance-id"
    )]
    InstanceNotFound {
        /// The instance id.
        id: String,
        /// Where the id came from.
        found_from: String,
        /// The region asked.
        region: String,
        /// Where the region came from.
        region_source: RegionSource,
    },
    /// No instance has the node's private address.
    #[error(
        "no EC2 instance in region {region} (from {region_source}) has the private address {ip} of node {node}; check the region, or pass --instance-id"
    )]
    NoInstanceWithIp {
        /// The node.
        node: String,
        /// Its InternalIP.
        ip: String,
        /// The region asked.
        region: String,
        /// Where the region came from.
        region_source: RegionSource,
    },
    /// Several instances have it (in different VPCs).
    #[error(
        "several EC2 instances have the private address {ip} of node {node} ({}); pass --instance-id",
        ids.join(", ")
    )]
    SeveralInstancesWithIp {
        /// The node.
        node: String,
        /// Its InternalIP.
        ip: String,
        /// The instances.
        ids: Vec<String>,
    },
    /// A named security group is unknown.
    #[error("security group {id} ({found_from}) does not exist in region {region}")]
    GroupNotFound {
        /// The group id.
        id: String,
        /// Where the id came from.
        found_from: String,
        /// The region.
        region: String,
    },
    /// The instance has no security group.
    #[error(
        "EC2 instance {instance} has no security group; attach one, or name one with aws.securityGroup in cluster.yaml"
    )]
    NoGroup {
        /// The instance.
        instance: String,
    },
    /// The instance has several, and nothing says which.
    #[error(
        "EC2 instance {instance} has {} security groups ({}); choose the one to open ports in: name it with aws.securityGroup: sg-... in cluster.yaml, or tag it {}=true",
        groups.len(), groups.join(", "), super::INGRESS_GROUP_TAG
    )]
    SeveralGroups {
        /// The instance.
        instance: String,
        /// Each group, as `sg-... (name)`.
        groups: Vec<String>,
    },
    /// The only candidate is the VPC's default group.
    #[error(
        "the security group of instance {instance} is {group}, its VPC's default group, which every instance launched without a group shares; obsboot does not open ports in it unless cluster.yaml names it (aws.securityGroup: {group}). Better: attach a dedicated group to the control-plane node"
    )]
    DefaultGroup {
        /// The instance.
        instance: String,
        /// The group.
        group: String,
    },
    /// The planned rules do not fit in the group.
    #[error(
        "security group {group} has {existing} inbound {family} rules; adding {adding} would exceed the quota of {limit} per group; remove unused rules, or raise the quota (Service Quotas: \"Inbound or outbound rules per security group\") and set aws.rulesPerGroup in cluster.yaml to it"
    )]
    RuleQuota {
        /// The group.
        group: String,
        /// `IPv4` or `IPv6`.
        family: &'static str,
        /// Rules there now (after planned revocations).
        existing: usize,
        /// Rules to add.
        adding: usize,
        /// The quota.
        limit: usize,
    },
    /// A step failed after some rules were created; they are tagged, so teardown finds them.
    #[error(
        "failed to change every planned rule; rules created before the failure (tagged, so that teardown or the next bootstrap finds them): {}",
        if created.is_empty() { "none".to_owned() } else { created.join(", ") }
    )]
    Partial {
        /// The rules created, `tcp PORT from CIDR in GROUP (sgr-...)`.
        created: Vec<String>,
        /// Why.
        #[source]
        cause: Box<AwsError>,
    },
    /// EC2 created a rule that it then did not list.
    #[error(
        "EC2 created rule {id} ({rule}) but does not list it after {attempts} attempts; run again to check"
    )]
    NotVisible {
        /// The rule id.
        id: String,
        /// What it admits.
        rule: String,
        /// How many times it was looked for.
        attempts: u32,
    },
    /// Ctrl-C or SIGTERM.
    #[error("interrupted")]
    Interrupted,
}

impl AwsError {
    /// Whether the run ended because the user interrupted it.
    pub fn is_interrupt(&self) -> bool {
        match self {
            Self::Interrupted => true,
            Self::Partial { cause, .. } => cause.is_interrupt(),
            _ => false,
        }
    }
}
