//! An in-memory EC2 for the unit tests of what moto cannot do: a request retried after it
//! succeeded, rules that become visible late, failures in the middle of a run.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::api::Ec2Api;
use super::error::{Action, AwsError};
use super::model::{
    Authorized, Group, Instance, NewPermission, NewRule, Revoked, Rule, RuleFilter, Source, Subnet,
    Vpc, protocol_name,
};

/// One security group's worth of EC2.
#[derive(Default)]
pub struct Fake {
    pub instances: Mutex<Vec<Instance>>,
    pub groups: Vec<Group>,
    pub subnets: Vec<Subnet>,
    pub vpcs: Vec<Vpc>,
    /// Every DescribeInstances, DescribeSubnets and DescribeVpcs, in order.
    pub reads: Mutex<Vec<String>>,
    pub rules: Mutex<Vec<Rule>>,
    /// Authorize creates the rule, then answers Duplicate (a retry after a lost answer).
    pub lose_authorize_answers: bool,
    /// Authorize requests that succeed before the next one fails as throttled.
    pub authorize_budget: Mutex<Option<usize>>,
    /// Reads of a new rule by id that miss it.
    pub invisible_reads: Mutex<u32>,
    /// Every mutation, in order.
    pub calls: Mutex<Vec<String>>,
    pub next: Mutex<u32>,
}

pub fn rule(id: &str, group: &str, port: u16, cidr: &str, tags: &[(&str, &str)]) -> Rule {
    Rule {
        id: id.into(),
        group: group.into(),
        egress: false,
        protocol: "tcp".into(),
        from_port: i32::from(port),
        to_port: i32::from(port),
        cidr: Some(cidr.into()),
        referenced_group: None,
        prefix_list: None,
        description: None,
        tags: tags
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    }
}

pub fn group(id: &str, name: &str, tags: &[(&str, &str)]) -> Group {
    Group {
        id: id.into(),
        name: name.into(),
        vpc: Some("vpc-1".into()),
        owner: Some("123456789012".into()),
        tags: tags
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<BTreeMap<_, _>>(),
    }
}

impl Fake {
    pub fn with_rules(rules: Vec<Rule>) -> Self {
        Self {
            rules: Mutex::new(rules),
            ..Self::default()
        }
    }

    pub fn rules_now(&self) -> Vec<Rule> {
        self.rules.lock().unwrap().clone()
    }

    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    /// AuthorizeSecurityGroupIngress of one permission, recorded in `calls` as `call`: a
    /// duplicate of an inbound rule already there is refused as EC2 refuses it.
    fn create(&self, new: &NewPermission, call: String) -> Result<Authorized, AwsError> {
        if let Some(budget) = self.authorize_budget.lock().unwrap().as_mut() {
            if *budget == 0 {
                return Err(AwsError::Throttled {
                    action: Action::AuthorizeSecurityGroupIngress,
                    code: "RequestLimitExceeded".into(),
                    attempts: 3,
                });
            }
            *budget -= 1;
        }
        self.calls.lock().unwrap().push(call);
        let mut rules = self.rules.lock().unwrap();
        let protocol = protocol_name(&new.protocol).to_owned();
        let (from, to) = if new.has_ports() {
            (new.from_port, new.to_port)
        } else {
            (-1, -1)
        };
        let same = |r: &Rule| {
            r.group == new.group
                && !r.egress
                && r.protocol == protocol
                && r.from_port == from
                && r.to_port == to
                && r.source().as_ref() == Some(&new.source)
        };
        if rules.iter().any(same) {
            return Ok(Authorized::Duplicate);
        }
        let mut next = self.next.lock().unwrap();
        *next += 1;
        let id = format!("sgr-new{next}");
        let (cidr, referenced_group) = match &new.source {
            Source::Cidr(cidr) => (Some(cidr.clone()), None),
            Source::Group(group) => (None, Some(group.clone())),
        };
        rules.push(Rule {
            id: id.clone(),
            group: new.group.clone(),
            egress: false,
            protocol,
            from_port: from,
            to_port: to,
            cidr,
            referenced_group,
            prefix_list: None,
            description: Some(new.description.clone()),
            tags: new.tags.clone(),
        });
        Ok(if self.lose_authorize_answers {
            Authorized::Duplicate
        } else {
            Authorized::Created(id)
        })
    }
}

#[async_trait::async_trait]
impl Ec2Api for Fake {
    async fn instance(&self, id: &str) -> Result<Option<Instance>, AwsError> {
        Ok(self
            .instances
            .lock()
            .unwrap()
            .iter()
            .find(|i| i.id == id)
            .cloned())
    }

    async fn instances(&self, ids: &[String]) -> Result<Vec<Instance>, AwsError> {
        self.reads.lock().unwrap().push("DescribeInstances".into());
        Ok(self
            .instances
            .lock()
            .unwrap()
            .iter()
            .filter(|i| ids.contains(&i.id) && i.state != "terminated")
            .cloned()
            .collect())
    }

    async fn instances_with_private_ips(&self, ips: &[String]) -> Result<Vec<Instance>, AwsError> {
        self.reads.lock().unwrap().push("DescribeInstances".into());
        Ok(self
            .instances
            .lock()
            .unwrap()
            .iter()
            .filter(|i| {
                i.state != "terminated" && i.private_ip.as_ref().is_some_and(|ip| ips.contains(ip))
            })
            .cloned()
            .collect())
    }

    async fn subnets(&self, ids: &[String]) -> Result<Vec<Subnet>, AwsError> {
        self.reads.lock().unwrap().push("DescribeSubnets".into());
        Ok(self
            .subnets
            .iter()
            .filter(|s| ids.contains(&s.id))
            .cloned()
            .collect())
    }

    async fn vpcs(&self, ids: &[String]) -> Result<Vec<Vpc>, AwsError> {
        self.reads.lock().unwrap().push("DescribeVpcs".into());
        Ok(self
            .vpcs
            .iter()
            .filter(|v| ids.contains(&v.id))
            .cloned()
            .collect())
    }

    async fn authorize_permission(&self, new: &NewPermission) -> Result<Authorized, AwsError> {
        self.create(new, format!("authorize {new}"))
    }

    async fn set_source_dest_check(&self, instance: &str, on: bool) -> Result<(), AwsError> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("source-dest-check {instance} {on}"));
        if let Some(found) = self
            .instances
            .lock()
            .unwrap()
            .iter_mut()
            .find(|i| i.id == instance)
        {
            found.source_dest_check = Some(on);
        }
        Ok(())
    }

    async fn tag_instance(&self, instance: &str, key: &str, value: &str) -> Result<(), AwsError> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("tag {instance} {key}={value}"));
        if let Some(found) = self
            .instances
            .lock()
            .unwrap()
            .iter_mut()
            .find(|i| i.id == instance)
        {
            found.tags.insert(key.to_owned(), value.to_owned());
        }
        Ok(())
    }

    async fn untag_instance(&self, instance: &str, key: &str) -> Result<(), AwsError> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("untag {instance} {key}"));
        if let Some(found) = self
            .instances
            .lock()
            .unwrap()
            .iter_mut()
            .find(|i| i.id == instance)
        {
            found.tags.remove(key);
        }
        Ok(())
    }

    async fn instances_with_private_ip(&self, ip: &str) -> Result<Vec<Instance>, AwsError> {
        Ok(self
            .instances
            .lock()
            .unwrap()
            .iter()
            .filter(|i| i.private_ip.as_deref() == Some(ip))
            .cloned()
            .collect())
    }

    async fn groups(&self, ids: &[String]) -> Result<Vec<Group>, AwsError> {
        Ok(self
            .groups
            .iter()
            .filter(|g| ids.contains(&g.id))
            .cloned()
            .collect())
    }

    async fn rules(&self, filter: &RuleFilter) -> Result<Vec<Rule>, AwsError> {
        if let RuleFilter::Id(_) = filter {
            let mut invisible = self.invisible_reads.lock().unwrap();
            if *invisible > 0 {
                *invisible -= 1;
                return Ok(Vec::new());
            }
        }
        Ok(self
            .rules
            .lock()
            .unwrap()
            .iter()
            .filter(|r| match filter {
                RuleFilter::Group(id) => &r.group == id,
                RuleFilter::Tag(key, value) => r.tags.get(key) == Some(value),
                RuleFilter::Id(id) => &r.id == id,
            })
            .cloned()
            .collect())
    }

    async fn authorize(&self, new: &NewRule) -> Result<Authorized, AwsError> {
        self.create(&NewPermission::from(new), format!("authorize {new}"))
    }

    async fn revoke(&self, group: &str, id: &str) -> Result<Revoked, AwsError> {
        self.calls.lock().unwrap().push(format!("revoke {id}"));
        let mut rules = self.rules.lock().unwrap();
        let before = rules.len();
        rules.retain(|r| !(r.id == id && r.group == group));
        Ok(if rules.len() < before {
            Revoked::Revoked
        } else {
            Revoked::AlreadyGone
        })
    }
}
