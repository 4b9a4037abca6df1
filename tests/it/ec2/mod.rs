//! EC2 for the tests: moto behind a fault proxy, the AWS SDK client that sets up a VPC like a
//! typical self-managed cluster's, and the environment that points obsboot at it (dummy
//! credentials, no profile, no instance metadata, so that no real account can be reached).

pub mod moto;
pub mod proxy;

use std::collections::BTreeMap;

use aws_sdk_ec2::Client;
use aws_sdk_ec2::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_ec2::types::{Filter, IpPermission, IpRange, ResourceType, Tag, TagSpecification};

pub use moto::Moto;
pub use proxy::{Fault, Proxy};

pub const REGION: &str = "eu-west-1";

/// One inbound rule as the tests compare them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rule {
    pub id: String,
    pub port: i32,
    pub cidr: String,
    pub description: String,
    pub tags: BTreeMap<String, String>,
}

/// moto, the proxy in front of it, and a VPC with the control-plane instance (10.0.1.74, a
/// public address) and a worker (10.0.2.15), both in the security group `nodes`.
pub struct Ec2 {
    /// Kept running for as long as the test holds this.
    moto: Moto,
    pub proxy: Proxy,
    runtime: tokio::runtime::Runtime,
    client: Client,
    pub vpc: String,
    pub subnet: String,
    pub group: String,
    pub master: String,
    pub worker: String,
}

impl Ec2 {
    pub fn start() -> Self {
        let mut ec2 = Self::start_bare();
        let workers = ec2.create_subnet("10.0.2.0/24", false);
        ec2.group = ec2.create_group("nodes");
        ec2.master = ec2.launch(&ec2.subnet.clone(), "10.0.1.74", &[&ec2.group.clone()]);
        ec2.worker = ec2.launch(&workers, "10.0.2.15", &[&ec2.group.clone()]);
        ec2
    }

    fn block<T>(&self, work: impl AsyncFnOnce(&Client) -> T) -> T {
        self.runtime.block_on(work(&self.client))
    }

    pub fn create_subnet(&self, cidr: &str, public: bool) -> String {
        self.block(async |c| {
            let id = c
                .create_subnet()
                .vpc_id(&self.vpc)
                .cidr_block(cidr)
                .availability_zone("eu-west-1a")
                .send()
                .await
                .unwrap()
                .subnet
                .unwrap()
                .subnet_id
                .unwrap();
            if public {
                c.modify_subnet_attribute()
                    .subnet_id(&id)
                    .map_public_ip_on_launch(
                        aws_sdk_ec2::types::AttributeBooleanValue::builder()
                            .value(true)
                            .build(),
                    )
                    .send()
                    .await
                    .unwrap();
            }
            id
        })
    }

    pub fn create_group(&self, name: &str) -> String {
        self.block(async |c| {
            c.create_security_group()
                .group_name(name)
                .description(format!("{name} of the test cluster"))
                .vpc_id(&self.vpc)
                .send()
                .await
                .unwrap()
                .group_id
                .unwrap()
        })
    }

    pub fn tag_group(&self, group: &str, key: &str, value: &str) {
        self.block(async |c| {
            c.create_tags()
                .resources(group)
                .tags(Tag::builder().key(key).value(value).build())
                .send()
                .await
                .unwrap();
        });
    }

    /// The VPC's default group.
    pub fn default_group(&self) -> String {
        self.block(async |c| {
            c.describe_security_groups()
                .filters(Filter::builder().name("vpc-id").values(&self.vpc).build())
                .filters(
                    Filter::builder()
                        .name("group-name")
                        .values("default")
                        .build(),
                )
                .send()
                .await
                .unwrap()
                .security_groups()[0]
                .group_id()
                .unwrap()
                .to_owned()
        })
    }

    pub fn launch(&self, subnet: &str, ip: &str, groups: &[&str]) -> String {
        self.block(async |c| {
            c.run_instances()
                .image_id("ami-12c6146b")
                .min_count(1)
                .max_count(1)
                .subnet_id(subnet)
                .private_ip_address(ip)
                .set_security_group_ids(Some(groups.iter().map(|g| (*g).to_owned()).collect()))
                .send()
                .await
                .unwrap()
                .instances()[0]
                .instance_id()
                .unwrap()
                .to_owned()
        })
    }

    /// Attaches `groups` to the master instance instead of the ones it has.
    pub fn set_master_groups(&self, groups: &[&str]) {
        self.block(async |c| {
            c.modify_instance_attribute()
                .instance_id(&self.master)
                .set_groups(Some(groups.iter().map(|g| (*g).to_owned()).collect()))
                .send()
                .await
                .unwrap();
        });
    }

    pub fn public_ip(&self) -> String {
        self.public_ip_of(&self.master)
    }

    /// The public address of `instance`.
    pub fn public_ip_of(&self, instance: &str) -> String {
        self.block(async |c| {
            c.describe_instances()
                .instance_ids(instance)
                .send()
                .await
                .unwrap()
                .reservations()[0]
                .instances()[0]
                .public_ip_address()
                .unwrap()
                .to_owned()
        })
    }

    /// Adds an inbound rule as someone else would: untagged, or with `tags`.
    pub fn authorize(&self, group: &str, port: i32, cidr: &str, tags: &[(&str, &str)]) -> String {
        self.block(async |c| {
            let mut request = c
                .authorize_security_group_ingress()
                .group_id(group)
                .ip_permissions(
                    IpPermission::builder()
                        .ip_protocol("tcp")
                        .from_port(port)
                        .to_port(port)
                        .ip_ranges(
                            IpRange::builder()
                                .cidr_ip(cidr)
                                .description("added by hand")
                                .build(),
                        )
                        .build(),
                );
            if !tags.is_empty() {
                let mut spec =
                    TagSpecification::builder().resource_type(ResourceType::SecurityGroupRule);
                for (k, v) in tags {
                    spec = spec.tags(Tag::builder().key(*k).value(*v).build());
                }
                request = request.tag_specifications(spec.build());
            }
            request.send().await.unwrap().security_group_rules()[0]
                .security_group_rule_id()
                .unwrap()
                .to_owned()
        })
    }

    /// The inbound rules of `group`, sorted.
    pub fn rules(&self, group: &str) -> Vec<Rule> {
        let mut rules: Vec<Rule> = self.block(async |c| {
            c.describe_security_group_rules()
                .filters(Filter::builder().name("group-id").values(group).build())
                .send()
                .await
                .unwrap()
                .security_group_rules()
                .iter()
                .filter(|r| r.is_egress() == Some(false))
                .map(|r| Rule {
                    id: r.security_group_rule_id().unwrap_or_default().to_owned(),
                    port: r.from_port().unwrap_or_default(),
                    cidr: r
                        .cidr_ipv4()
                        .or(r.cidr_ipv6())
                        .unwrap_or_default()
                        .to_owned(),
                    description: r.description().unwrap_or_default().to_owned(),
                    tags: r
                        .tags()
                        .iter()
                        .map(|t| {
                            (
                                t.key().unwrap_or_default().to_owned(),
                                t.value().unwrap_or_default().to_owned(),
                            )
                        })
                        .collect(),
                })
                .collect()
        });
        rules.sort_by(|a, b| (a.port, &a.cidr).cmp(&(b.port, &b.cidr)));
        rules
    }

    /// `(port, cidr, ours)` of each inbound rule of `group`.
    pub fn summary(&self, group: &str) -> Vec<(i32, String, bool)> {
        self.rules(group)
            .into_iter()
            .map(|r| {
                let ours = r.tags.get("obsboot.dev/managed").map(String::as_str) == Some("true");
                (r.port, r.cidr, ours)
            })
            .collect()
    }

    /// The environment that sends obsboot's EC2 calls through the proxy.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL_EC2", self.proxy.url()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", REGION.into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }
}

/// A rule's source or destination for [`Ec2::authorize_permission`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Peer {
    /// An IPv4 CIDR.
    Cidr(String),
    /// A security group referenced by id.
    Group(String),
}

impl Ec2 {
    /// moto with a VPC (10.0.0.0/16) and its public subnet 10.0.1.0/24 (`subnet`), but no
    /// security group and no instance yet: for layouts that launch their own nodes.
    pub fn start_bare() -> Self {
        let moto = Moto::start();
        let proxy = Proxy::start(moto.port);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let client = runtime.block_on(async { Client::from_conf(sdk_config(&moto.url())) });
        let mut ec2 = Self {
            moto,
            proxy,
            runtime,
            client,
            vpc: String::new(),
            subnet: String::new(),
            group: String::new(),
            master: String::new(),
            worker: String::new(),
        };
        ec2.vpc = ec2.block(async |c| {
            c.create_vpc()
                .cidr_block("10.0.0.0/16")
                .send()
                .await
                .unwrap()
                .vpc
                .unwrap()
                .vpc_id
                .unwrap()
        });
        ec2.subnet = ec2.create_subnet("10.0.1.0/24", true);
        ec2
    }

    /// moto's own address (not the fault proxy's), for readers that must not see faults.
    pub fn moto_url(&self) -> String {
        self.moto.url()
    }

    /// Adds a rule to `group` (ingress, or egress with `egress`) for `protocol` (`tcp`,
    /// `udp`, `icmp`, a number such as `4`, or `-1`) and ports `from..=to` (-1 for none)
    /// with `peer` as its source (or destination): untagged, as someone else would.
    pub fn authorize_permission(
        &self,
        group: &str,
        egress: bool,
        protocol: &str,
        (from, to): (i32, i32),
        peer: &Peer,
    ) -> String {
        let mut permission = IpPermission::builder()
            .ip_protocol(protocol)
            .from_port(from)
            .to_port(to);
        permission = match peer {
            Peer::Cidr(cidr) => permission.ip_ranges(IpRange::builder().cidr_ip(cidr).build()),
            Peer::Group(id) => permission.user_id_group_pairs(
                aws_sdk_ec2::types::UserIdGroupPair::builder()
                    .group_id(id)
                    .build(),
            ),
        };
        let permission = permission.build();
        self.block(async |c| {
            let rules = if egress {
                c.authorize_security_group_egress()
                    .group_id(group)
                    .ip_permissions(permission)
                    .send()
                    .await
                    .unwrap()
                    .security_group_rules
                    .unwrap_or_default()
            } else {
                c.authorize_security_group_ingress()
                    .group_id(group)
                    .ip_permissions(permission)
                    .send()
                    .await
                    .unwrap()
                    .security_group_rules
                    .unwrap_or_default()
            };
            rules[0].security_group_rule_id().unwrap().to_owned()
        })
    }

    /// Removes the allow-all egress rule EC2 gives every new group.
    pub fn revoke_default_egress(&self, group: &str) {
        self.block(async |c| {
            c.revoke_security_group_egress()
                .group_id(group)
                .ip_permissions(
                    IpPermission::builder()
                        .ip_protocol("-1")
                        .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                        .build(),
                )
                .send()
                .await
                .unwrap();
        });
    }

    /// The instance's source/destination check, as DescribeInstances reports it.
    pub fn source_dest_check(&self, instance: &str) -> bool {
        self.describe(instance)
            .source_dest_check()
            .expect("moto reports the source/destination check")
    }

    /// The instance's tags.
    pub fn instance_tags(&self, instance: &str) -> std::collections::BTreeMap<String, String> {
        self.describe(instance)
            .tags()
            .iter()
            .map(|t| {
                (
                    t.key().unwrap_or_default().to_owned(),
                    t.value().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }

    fn describe(&self, instance: &str) -> aws_sdk_ec2::types::Instance {
        self.block(async |c| {
            c.describe_instances()
                .instance_ids(instance)
                .send()
                .await
                .unwrap()
                .reservations()[0]
                .instances()[0]
                .clone()
        })
    }

    /// Every rule (ingress and egress) of `group`, as moto stores them.
    pub fn group_rules(&self, group: &str) -> Vec<aws_sdk_ec2::types::SecurityGroupRule> {
        self.block(async |c| {
            c.describe_security_group_rules()
                .filters(Filter::builder().name("group-id").values(group).build())
                .send()
                .await
                .unwrap()
                .security_group_rules
                .unwrap_or_default()
        })
    }
}

/// The SDK configuration for a moto at `url`, with dummy credentials and a plain HTTP client.
pub fn sdk_config(url: &str) -> aws_sdk_ec2::Config {
    aws_sdk_ec2::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(url)
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .build()
}
