//! An in-memory EC2 for the unit tests of what moto cannot do: a request retried after it
//! succeeded, rules that become visible late, failures in the middle of a run.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::api::Ec2Api;
use super::error::{Action, AwsError};
use super::model::{Authorized, Group, Instance, NewRule, Revoked, Rule, RuleFilter};

/// One security group's worth of EC2.
#[derive(Default)]
pub struct Fake {
    pub instances: Vec<Instance>,
    pub groups: Vec<Group>,
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
}

impl Ec2Api for Fake {
    async fn instance(&self, id: &str) -> Result<Option<Instance>, AwsError> {
        Ok(self.instances.iter().find(|i| i.id == id).cloned())
    }

    async fn instances_with_private_ip(&self, ip: &str) -> Result<Vec<Instance>, AwsError> {
        Ok(self
            .instances
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
        self.calls.lock().unwrap().push(format!("authorize {new}"));
        let mut rules = self.rules.lock().unwrap();
        if rules
            .iter()
            .any(|r| r.group == new.group && r.admits_exactly(new.port, &new.cidr))
        {
            return Ok(Authorized::Duplicate);
        }
        let mut next = self.next.lock().unwrap();
        *next += 1;
        let id = format!("sgr-new{next}");
        let mut created = rule(&id, &new.group, new.port, &new.cidr, &[]);
        created.tags.clone_from(&new.tags);
        rules.push(created);
        Ok(if self.lose_authorize_answers {
            Authorized::Duplicate
        } else {
            Authorized::Created(id)
        })
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
