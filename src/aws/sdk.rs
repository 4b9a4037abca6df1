//! obsboot's [`Ec2Api`] on the AWS SDK's client: credentials and region from aws-config's
//! standard chains, the endpoint override of `AWS_ENDPOINT_URL_EC2` / `AWS_ENDPOINT_URL`,
//! rustls on ring for TLS, and the SDK's standard retry (throttling and 5xx answers are retried
//! there).
//!
//! This file is the crate obsboot-ec2 (crates/ec2), not a module of the library: the SDK's EC2
//! crate is the longest of all to compile, and the library compiles beside it instead of after
//! it. The binary hands [`connect`] to the library.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_sdk_ec2::config::http::HttpResponse as Response;
use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ec2::types::{
    AttributeBooleanValue, Filter, IpPermission, IpRange, Ipv6Range, ResourceType, Tag,
    TagSpecification, UserIdGroupPair,
};
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};

use obsboot::aws::model::{
    Authorized, Group, Instance, Interface, NewPermission, NewRule, Revoked, Rule, RuleFilter,
    Source, Subnet, Vpc,
};
use obsboot::aws::{Action, AwsError, Connecting, Ec2, Ec2Api, RegionSource};

/// Values per filter in one request (EC2 documents at most 200 per filter for these calls).
const FILTER_VALUES: usize = 200;

/// Loads credentials and region, and connects. `configured` is cluster.yaml's region; `zone`
/// the availability zone of the node's providerID, used when nothing else names a region.
/// (An [`obsboot::aws::Connect`].)
pub fn connect<'a>(configured: Option<&'a str>, zone: Option<&'a str>) -> Connecting<'a> {
    Box::pin(Sdk::connect(configured, zone))
}

/// The SDK's client, with what its errors name.
struct Sdk {
    client: aws_sdk_ec2::Client,
    /// Where the requests go: the override, or the region's endpoint.
    endpoint: String,
    attempts: u32,
}

impl Sdk {
    async fn connect(configured: Option<&str>, zone: Option<&str>) -> Result<Ec2, AwsError> {
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
            .build_https();
        // No EC2 call obsboot makes takes long; an endpoint that stops answering must not
        // hang the run (the SDK sets no operation timeout of its own).
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(5))
            .operation_attempt_timeout(Duration::from_secs(30))
            .operation_timeout(Duration::from_secs(120))
            .build();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http)
            .timeout_config(timeouts);
        if let Some(region) = configured {
            loader = loader.region(aws_config::Region::new(region.to_owned()));
        }
        let config = loader.load().await;
        let (region, region_source) = match (configured, config.region()) {
            (Some(region), _) => (region.to_owned(), RegionSource::ClusterFile),
            (None, Some(region)) => (region.to_string(), RegionSource::Environment),
            (None, None) => match zone.and_then(region_of_zone) {
                Some(region) => (region, RegionSource::ProviderId),
                None => return Err(AwsError::NoRegion),
            },
        };
        let attempts = config
            .retry_config()
            .map_or(3, aws_config::retry::RetryConfig::max_attempts);
        let ec2 = aws_sdk_ec2::config::Builder::from(&config)
            .region(aws_config::Region::new(region.clone()))
            .build();
        let endpoint = endpoint_override();
        let sdk = Self {
            client: aws_sdk_ec2::Client::from_conf(ec2),
            endpoint: endpoint
                .clone()
                .unwrap_or_else(|| format!("ec2.{region}.amazonaws.com")),
            attempts,
        };
        Ok(Ec2::new(sdk, region, region_source, endpoint))
    }

    fn fail<E>(&self, action: Action, err: &SdkError<E, Response>) -> AwsError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let SdkError::ServiceError(service) = err else {
            return AwsError::Unreachable {
                action,
                endpoint: self.endpoint.clone(),
                detail: obsboot::report::innermost(err),
            };
        };
        let code = service.err().code().unwrap_or_default().to_owned();
        let message = service.err().message().unwrap_or_default().to_owned();
        let status = service.raw().status().as_u16();
        classify(action, code, message, status, self.attempts)
    }
}

/// Sorts an EC2 error answer into the errors that name their fix.
fn classify(action: Action, code: String, message: String, status: u16, attempts: u32) -> AwsError {
    match code.as_str() {
        "UnauthorizedOperation" | "AccessDenied" | "AccessDeniedException" => {
            AwsError::Denied { action, code }
        }
        "AuthFailure"
        | "InvalidClientTokenId"
        | "ExpiredToken"
        | "RequestExpired"
        | "SignatureDoesNotMatch"
        | "UnrecognizedClientException" => AwsError::Credentials {
            action,
            code,
            message,
        },
        "RequestLimitExceeded" | "Throttling" | "ThrottlingException" => AwsError::Throttled {
            action,
            code,
            attempts,
        },
        _ => AwsError::Service {
            action,
            message: if message.is_empty() {
                "EC2 gave no message".into()
            } else {
                message
            },
            code: if code.is_empty() {
                "no error code".into()
            } else {
                code
            },
            status: Some(status),
        },
    }
}

/// `eu-west-1` of `eu-west-1a`, `us-gov-west-1` of `us-gov-west-1b`, and `us-east-1` of a
/// local zone such as `us-east-1-bos-1a`: the parts up to the first that starts with a digit.
fn region_of_zone(zone: &str) -> Option<String> {
    let parts: Vec<&str> = zone.split('-').collect();
    let at = parts
        .iter()
        .position(|p| p.starts_with(|c: char| c.is_ascii_digit()))
        .filter(|&at| at >= 2)?;
    let number = parts[at].trim_end_matches(|c: char| c.is_ascii_lowercase());
    if !number.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let mut region = parts[..at].join("-");
    region.push('-');
    region.push_str(number);
    Some(region)
}

/// The endpoint override aws-config honours, for messages.
fn endpoint_override() -> Option<String> {
    let ignored = std::env::var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
        .is_ok_and(|v| v.eq_ignore_ascii_case("true"));
    if ignored {
        return None;
    }
    ["AWS_ENDPOINT_URL_EC2", "AWS_ENDPOINT_URL"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
}

fn tags(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|t| {
            Some((
                t.key()?.to_owned(),
                t.value().unwrap_or_default().to_owned(),
            ))
        })
        .collect()
}

fn instance(raw: &aws_sdk_ec2::types::Instance) -> Instance {
    let mut groups: Vec<String> = Vec::new();
    let attached = raw.security_groups().iter().chain(
        raw.network_interfaces()
            .iter()
            .flat_map(aws_sdk_ec2::types::InstanceNetworkInterface::groups),
    );
    for group in attached.filter_map(|g| g.group_id()) {
        if !groups.iter().any(|known| known == group) {
            groups.push(group.to_owned());
        }
    }
    let interfaces: Vec<Interface> = raw
        .network_interfaces()
        .iter()
        .map(|eni| Interface {
            id: eni.network_interface_id().unwrap_or_default().to_owned(),
            subnet: eni.subnet_id().map(str::to_owned),
            private_ip: eni.private_ip_address().map(str::to_owned),
            groups: eni
                .groups()
                .iter()
                .filter_map(|g| g.group_id().map(str::to_owned))
                .collect(),
            source_dest_check: eni.source_dest_check(),
        })
        .collect();
    // The instance's own attribute is what ModifyInstanceAttribute changes (and what moto
    // updates); the primary interface's stands in when EC2 leaves it out.
    let source_dest_check = raw.source_dest_check().or_else(|| {
        raw.network_interfaces()
            .iter()
            .find(|eni| {
                eni.attachment()
                    .and_then(aws_sdk_ec2::types::InstanceNetworkInterfaceAttachment::device_index)
                    == Some(0)
            })
            .and_then(aws_sdk_ec2::types::InstanceNetworkInterface::source_dest_check)
    });
    Instance {
        subnet: raw.subnet_id().map(str::to_owned),
        vpc: raw.vpc_id().map(str::to_owned),
        source_dest_check,
        interfaces,
        tags: tags(raw.tags()),
        id: raw.instance_id().unwrap_or_default().to_owned(),
        state: raw
            .state()
            .and_then(|s| s.name())
            .map_or_else(|| "unknown".into(), |n| n.as_str().to_owned()),
        zone: raw
            .placement()
            .and_then(|p| p.availability_zone())
            .map(str::to_owned),
        private_ip: raw.private_ip_address().map(str::to_owned),
        public_ip: raw.public_ip_address().map(str::to_owned),
        groups,
    }
}

fn instances(
    reservations: &[aws_sdk_ec2::types::Reservation],
) -> impl Iterator<Item = Instance> + '_ {
    reservations
        .iter()
        .flat_map(aws_sdk_ec2::types::Reservation::instances)
        .map(instance)
}

fn rule(raw: &aws_sdk_ec2::types::SecurityGroupRule) -> Rule {
    Rule {
        id: raw.security_group_rule_id().unwrap_or_default().to_owned(),
        group: raw.group_id().unwrap_or_default().to_owned(),
        egress: raw.is_egress().unwrap_or(false),
        protocol: raw.ip_protocol().unwrap_or_default().to_owned(),
        from_port: raw.from_port().unwrap_or(-1),
        to_port: raw.to_port().unwrap_or(-1),
        cidr: raw.cidr_ipv4().or(raw.cidr_ipv6()).map(str::to_owned),
        referenced_group: raw
            .referenced_group_info()
            .and_then(|g| g.group_id())
            .map(str::to_owned),
        prefix_list: raw.prefix_list_id().map(str::to_owned),
        description: raw.description().map(str::to_owned),
        tags: tags(raw.tags()),
    }
}

fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

fn values(name: &str, values: &[String]) -> Filter {
    Filter::builder()
        .name(name)
        .set_values(Some(values.to_vec()))
        .build()
}

fn vpc(raw: &aws_sdk_ec2::types::Vpc) -> Vpc {
    let associated = |state: Option<&str>| state.is_none_or(|s| s == "associated");
    let mut cidrs: Vec<String> = raw.cidr_block().map(str::to_owned).into_iter().collect();
    for block in raw.cidr_block_association_set() {
        let state = block
            .cidr_block_state()
            .and_then(|s| s.state())
            .map(aws_sdk_ec2::types::VpcCidrBlockStateCode::as_str);
        if let Some(cidr) = block.cidr_block()
            && associated(state)
            && !cidrs.iter().any(|known| known == cidr)
        {
            cidrs.push(cidr.to_owned());
        }
    }
    let ipv6_cidrs = raw
        .ipv6_cidr_block_association_set()
        .iter()
        .filter(|block| {
            associated(
                block
                    .ipv6_cidr_block_state()
                    .and_then(|s| s.state())
                    .map(aws_sdk_ec2::types::VpcCidrBlockStateCode::as_str),
            )
        })
        .filter_map(|block| block.ipv6_cidr_block().map(str::to_owned))
        .collect();
    Vpc {
        id: raw.vpc_id().unwrap_or_default().to_owned(),
        cidrs,
        ipv6_cidrs,
    }
}

impl Sdk {
    async fn instances_filtered(
        &self,
        name: &str,
        wanted: &[String],
    ) -> Result<Vec<Instance>, AwsError> {
        let mut found = Vec::new();
        for chunk in wanted.chunks(FILTER_VALUES) {
            let mut pages = self
                .client
                .describe_instances()
                .filters(values(name, chunk))
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|err| self.fail(Action::DescribeInstances, &err))?;
                found.extend(instances(page.reservations()).filter(|i| i.state != "terminated"));
            }
        }
        Ok(found)
    }
}

#[async_trait::async_trait]
impl Ec2Api for Sdk {
    async fn instance(&self, id: &str) -> Result<Option<Instance>, AwsError> {
        let answer = self
            .client
            .describe_instances()
            .instance_ids(id)
            .send()
            .await;
        match answer {
            Ok(out) => Ok(instances(out.reservations()).find(|i| i.id == id)),
            Err(err)
                if matches!(
                    err.code(),
                    Some("InvalidInstanceID.NotFound" | "InvalidInstanceID.Malformed")
                ) =>
            {
                Ok(None)
            }
            Err(err) => Err(self.fail(Action::DescribeInstances, &err)),
        }
    }

    async fn instances_with_private_ip(&self, ip: &str) -> Result<Vec<Instance>, AwsError> {
        let mut pages = self
            .client
            .describe_instances()
            .filters(filter("private-ip-address", ip))
            .into_paginator()
            .send();
        let mut found = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|err| self.fail(Action::DescribeInstances, &err))?;
            found.extend(instances(page.reservations()).filter(|i| i.state != "terminated"));
        }
        Ok(found)
    }

    async fn groups(&self, ids: &[String]) -> Result<Vec<Group>, AwsError> {
        // No ids would describe every group of the region.
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let answer = self
            .client
            .describe_security_groups()
            .set_group_ids(Some(ids.to_vec()))
            .send()
            .await;
        match answer {
            Ok(out) => Ok(out
                .security_groups()
                .iter()
                .map(|g| Group {
                    id: g.group_id().unwrap_or_default().to_owned(),
                    name: g.group_name().unwrap_or_default().to_owned(),
                    vpc: g.vpc_id().map(str::to_owned),
                    owner: g.owner_id().map(str::to_owned),
                    tags: tags(g.tags()),
                })
                .collect()),
            Err(err) if err.code() == Some("InvalidGroup.NotFound") => Ok(Vec::new()),
            Err(err) => Err(self.fail(Action::DescribeSecurityGroups, &err)),
        }
    }

    async fn rules(&self, which: &RuleFilter) -> Result<Vec<Rule>, AwsError> {
        let request = self.client.describe_security_group_rules();
        // Pages as large as EC2 allows; a lookup by id is one rule, without paging.
        let request = match which {
            RuleFilter::Group(id) => request.filters(filter("group-id", id)).max_results(1000),
            RuleFilter::Tag(key, value) => request
                .filters(filter(&format!("tag:{key}"), value))
                .max_results(1000),
            RuleFilter::Id(id) => request.security_group_rule_ids(id),
        };
        let mut items = request.into_paginator().items().send();
        let mut found = Vec::new();
        while let Some(item) = items.next().await {
            match item {
                Ok(raw) => found.push(rule(&raw)),
                Err(err)
                    if matches!(
                        err.code(),
                        Some("InvalidGroup.NotFound" | "InvalidSecurityGroupRuleId.NotFound")
                    ) =>
                {
                    return Ok(Vec::new());
                }
                Err(err) => return Err(self.fail(Action::DescribeSecurityGroupRules, &err)),
            }
        }
        Ok(found)
    }

    async fn authorize(&self, new: &NewRule) -> Result<Authorized, AwsError> {
        self.authorize_permission(&NewPermission::from(new)).await
    }

    async fn authorize_permission(&self, new: &NewPermission) -> Result<Authorized, AwsError> {
        let permission = IpPermission::builder().ip_protocol(&new.protocol);
        // A protocol without ports still gets -1 as both: moto 5.2.5 answers HTTP 500 to a
        // protocol-number rule without them, and EC2 accepts -1 there.
        let (from, to) = if new.has_ports() {
            (new.from_port, new.to_port)
        } else {
            (-1, -1)
        };
        let permission = permission.from_port(from).to_port(to);
        let permission = match &new.source {
            Source::Group(group) => permission.user_id_group_pairs(
                UserIdGroupPair::builder()
                    .group_id(group)
                    .description(&new.description)
                    .build(),
            ),
            Source::Cidr(cidr) if cidr.contains(':') => permission.ipv6_ranges(
                Ipv6Range::builder()
                    .cidr_ipv6(cidr)
                    .description(&new.description)
                    .build(),
            ),
            Source::Cidr(cidr) => permission.ip_ranges(
                IpRange::builder()
                    .cidr_ip(cidr)
                    .description(&new.description)
                    .build(),
            ),
        };
        let mut tagging =
            TagSpecification::builder().resource_type(ResourceType::SecurityGroupRule);
        for (key, value) in &new.tags {
            tagging = tagging.tags(Tag::builder().key(key).value(value).build());
        }
        let answer = self
            .client
            .authorize_security_group_ingress()
            .group_id(&new.group)
            .ip_permissions(permission.build())
            .tag_specifications(tagging.build())
            .send()
            .await;
        match answer {
            Ok(out) => Ok(out
                .security_group_rules()
                .iter()
                .find_map(|r| r.security_group_rule_id())
                .map_or(Authorized::Duplicate, |id| {
                    Authorized::Created(id.to_owned())
                })),
            Err(err) if err.code() == Some("InvalidPermission.Duplicate") => {
                Ok(Authorized::Duplicate)
            }
            Err(err) => Err(self.fail(Action::AuthorizeSecurityGroupIngress, &err)),
        }
    }

    async fn revoke(&self, group: &str, rule: &str) -> Result<Revoked, AwsError> {
        let answer = self
            .client
            .revoke_security_group_ingress()
            .group_id(group)
            .security_group_rule_ids(rule)
            .send()
            .await;
        match answer {
            // A default VPC answers success and lists what it did not find.
            Ok(out) if !out.unknown_ip_permissions().is_empty() => Ok(Revoked::AlreadyGone),
            Ok(_) => Ok(Revoked::Revoked),
            Err(err)
                if matches!(
                    err.code(),
                    Some(
                        "InvalidPermission.NotFound"
                            | "InvalidSecurityGroupRuleId.NotFound"
                            | "InvalidGroup.NotFound"
                    )
                ) =>
            {
                Ok(Revoked::AlreadyGone)
            }
            Err(err) => Err(self.fail(Action::RevokeSecurityGroupIngress, &err)),
        }
    }

    async fn instances(&self, ids: &[String]) -> Result<Vec<Instance>, AwsError> {
        self.instances_filtered("instance-id", ids).await
    }

    async fn instances_with_private_ips(&self, ips: &[String]) -> Result<Vec<Instance>, AwsError> {
        self.instances_filtered("private-ip-address", ips).await
    }

    async fn subnets(&self, ids: &[String]) -> Result<Vec<Subnet>, AwsError> {
        let mut found = Vec::new();
        for chunk in ids.chunks(FILTER_VALUES) {
            let mut pages = self
                .client
                .describe_subnets()
                .filters(values("subnet-id", chunk))
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|err| self.fail(Action::DescribeSubnets, &err))?;
                found.extend(page.subnets().iter().map(|raw| Subnet {
                    id: raw.subnet_id().unwrap_or_default().to_owned(),
                    cidr: raw.cidr_block().map(str::to_owned),
                    vpc: raw.vpc_id().map(str::to_owned),
                    zone: raw.availability_zone().map(str::to_owned),
                }));
            }
        }
        Ok(found)
    }

    async fn vpcs(&self, ids: &[String]) -> Result<Vec<Vpc>, AwsError> {
        let mut found = Vec::new();
        for chunk in ids.chunks(FILTER_VALUES) {
            let mut pages = self
                .client
                .describe_vpcs()
                .filters(values("vpc-id", chunk))
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|err| self.fail(Action::DescribeVpcs, &err))?;
                found.extend(page.vpcs().iter().map(vpc));
            }
        }
        Ok(found)
    }

    async fn set_source_dest_check(&self, instance: &str, on: bool) -> Result<(), AwsError> {
        self.client
            .modify_instance_attribute()
            .instance_id(instance)
            .source_dest_check(AttributeBooleanValue::builder().value(on).build())
            .send()
            .await
            .map(|_| ())
            .map_err(|err| self.fail(Action::ModifyInstanceAttribute, &err))
    }

    async fn tag_instance(&self, instance: &str, key: &str, value: &str) -> Result<(), AwsError> {
        self.client
            .create_tags()
            .resources(instance)
            .tags(Tag::builder().key(key).value(value).build())
            .send()
            .await
            .map(|_| ())
            .map_err(|err| self.fail(Action::CreateTags, &err))
    }

    async fn untag_instance(&self, instance: &str, key: &str) -> Result<(), AwsError> {
        self.client
            .delete_tags()
            .resources(instance)
            .tags(Tag::builder().key(key).build())
            .send()
            .await
            .map(|_| ())
            .map_err(|err| self.fail(Action::DeleteTags, &err))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_region_of_a_zone() {
        assert_eq!(region_of_zone("eu-west-1a").as_deref(), Some("eu-west-1"));
        assert_eq!(
            region_of_zone("us-gov-west-1b").as_deref(),
            Some("us-gov-west-1")
        );
        assert_eq!(
            region_of_zone("us-east-1-bos-1a").as_deref(),
            Some("us-east-1")
        );
        assert_eq!(region_of_zone("nowhere").as_deref(), None);
    }

    #[test]
    fn errors_are_sorted_by_what_fixes_them() {
        let denied = classify(
            Action::AuthorizeSecurityGroupIngress,
            "UnauthorizedOperation".into(),
            "You are not authorized to perform this operation. Encoded authorization failure message: xyz".into(),
            403,
            3,
        );
        let text = denied.to_string();
        assert!(text.contains("ec2:AuthorizeSecurityGroupIngress"), "{text}");
        assert!(text.contains("ec2:CreateTags"), "{text}");
        assert!(!text.contains("xyz"), "{text}");
        assert!(matches!(
            classify(
                Action::DescribeInstances,
                "AccessDenied".into(),
                String::new(),
                403,
                3
            ),
            AwsError::Denied { .. }
        ));
        assert!(matches!(
            classify(
                Action::DescribeInstances,
                "AuthFailure".into(),
                "bad".into(),
                401,
                3
            ),
            AwsError::Credentials { .. }
        ));
        let throttled = classify(
            Action::RevokeSecurityGroupIngress,
            "RequestLimitExceeded".into(),
            String::new(),
            503,
            3,
        );
        assert!(throttled.to_string().contains("after 3 attempts"));
        let html = classify(
            Action::DescribeSecurityGroupRules,
            String::new(),
            String::new(),
            500,
            3,
        );
        assert_eq!(
            html.to_string(),
            "ec2:DescribeSecurityGroupRules failed: EC2 gave no message (no error code, HTTP 500)"
        );
    }
}
