//! `--fix` and `--revert` against the in-memory EC2: the quota pre-flight, one tagged rule
//! per planned rule, the source/destination check only on request, and a revert that takes
//! back exactly this installation's network rules.

use std::collections::BTreeMap;

use tokio_util::sync::CancellationToken;

use super::{apply, check_quota, revert};
use crate::aws::fake::{Fake, rule};
use crate::aws::model::{Instance, Rule};
use crate::aws::{
    AwsError, CLUSTER_TAG, MANAGED_TAG, NETWORK_SCOPE, SCOPE_TAG, SOURCE_DEST_CHECK_WAS_TAG,
    STACK_TAG,
};
use crate::doctor::DoctorError;
use crate::doctor::checks::tags;
use crate::network::fixes::{FixPlan, NewRule, RuleSource};
use crate::network::fixtures::{default_egress, ingress_cidr, ingress_group};
use crate::network::flows::SourceDestNeed;
use crate::network::model::{Permission, PortRange, Protocol};

const OURS: &[(&str, &str)] = &[
    (MANAGED_TAG, "true"),
    (CLUSTER_TAG, "obsboot"),
    (SCOPE_TAG, NETWORK_SCOPE),
];

fn new_rule(protocol: Protocol, ports: PortRange, carries: &str) -> NewRule {
    NewRule {
        group: "sg-worker".into(),
        protocol,
        ports,
        source: RuleSource::Group("sg-master".into()),
        carries: vec![carries.into()],
    }
}

/// Calico's carrier into the worker: IP-in-IP and BGP from the master's group.
fn calico_plan() -> FixPlan {
    FixPlan {
        rules: vec![
            new_rule(
                Protocol::Tcp,
                PortRange::one(179),
                "Calico BGP route exchange",
            ),
            new_rule(Protocol::Number(4), PortRange::ALL, "Calico IP-in-IP"),
        ],
        ..FixPlan::default()
    }
}

fn worker() -> Instance {
    Instance {
        id: "i-0worker".into(),
        state: "running".into(),
        zone: Some("eu-west-1a".into()),
        private_ip: Some("10.0.2.15".into()),
        public_ip: None,
        groups: vec!["sg-worker".into()],
        subnet: Some("subnet-a".into()),
        vpc: Some("vpc-1".into()),
        source_dest_check: Some(true),
        interfaces: vec![],
        tags: BTreeMap::new(),
    }
}

fn ssh(group: &str) -> Rule {
    rule(&format!("sgr-ssh-{group}"), group, 22, "0.0.0.0/0", &[])
}

fn by_group(id: &str, group: &str, protocol: &str, port: i32, source: &str) -> Rule {
    let mut out = rule(id, group, 0, "0.0.0.0/0", &[]);
    out.protocol = protocol.into();
    out.from_port = port;
    out.to_port = port;
    out.cidr = None;
    out.referenced_group = Some(source.into());
    out
}

fn pairs(tags: &[(&str, &str)]) -> BTreeMap<String, String> {
    tags.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn the_quota_counts_only_the_groups_own_inbound_rules() {
    let plan = calico_plan();
    let existing: Vec<Permission> = vec![
        ingress_cidr("sgr-1", "sg-worker", "tcp", 22, 22, "0.0.0.0/0"),
        ingress_group("sgr-2", "sg-worker", "tcp", 10250, 10250, "sg-master"),
        ingress_cidr("sgr-3", "sg-worker", "tcp", 30080, 30080, "0.0.0.0/0"),
        // Neither egress nor another group's rules count against sg-worker's inbound quota.
        default_egress("sg-worker"),
        ingress_cidr("sgr-4", "sg-master", "tcp", 22, 22, "0.0.0.0/0"),
        ingress_cidr("sgr-5", "sg-master", "tcp", 6443, 6443, "0.0.0.0/0"),
    ];
    assert!(check_quota(&plan, &existing, 5).is_ok());
    match check_quota(&plan, &existing, 4) {
        Err(err @ DoctorError::Quota { .. }) => {
            assert_eq!(
                err.to_string(),
                "security group sg-worker holds 3 inbound rule(s); adding 2 would pass the limit of 4 (aws.rulesPerGroup in cluster.yaml): nothing was changed; raise the quota in EC2 and the setting, or use --fix-profile all-traffic, which needs fewer rules"
            );
        }
        other => panic!("expected a quota error, got {other:?}"),
    }
}

#[tokio::test]
async fn each_planned_rule_is_created_once_with_the_installations_tags() {
    let ec2 = Fake::with_rules(vec![ssh("sg-worker")]);
    let fixed = apply(
        &ec2,
        &calico_plan(),
        &tags("obsboot"),
        false,
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    assert_eq!(
        fixed.added,
        [
            "sgr-new1 sg-worker <- sg-master: TCP port 179 (Calico BGP route exchange)",
            "sgr-new2 sg-worker <- sg-master: IP protocol 4 (Calico IP-in-IP)",
        ]
    );
    assert!(fixed.present.is_empty());
    assert_eq!(
        ec2.calls(),
        [
            "authorize tcp 179 from sg-master in sg-worker",
            "authorize ip protocol 4 from sg-master in sg-worker",
        ]
    );
    let created: Vec<Rule> = ec2
        .rules_now()
        .into_iter()
        .filter(|r| r.id.starts_with("sgr-new"))
        .collect();
    assert_eq!(created.len(), 2);
    for rule in &created {
        assert_eq!(rule.tags, pairs(OURS), "{rule:?}");
        assert_eq!(rule.referenced_group.as_deref(), Some("sg-master"));
        assert_eq!(rule.cidr, None);
    }
    assert_eq!(
        (
            created[1].protocol.as_str(),
            created[1].from_port,
            created[1].to_port
        ),
        ("4", -1, -1)
    );
    assert_eq!(
        created[1].description.as_deref(),
        Some("obsboot: network: Calico IP-in-IP")
    );
}

#[tokio::test]
async fn a_rule_ec2_already_has_is_reported_present() {
    let ec2 = Fake::with_rules(vec![by_group(
        "sgr-bgp",
        "sg-worker",
        "tcp",
        179,
        "sg-master",
    )]);
    let fixed = apply(
        &ec2,
        &calico_plan(),
        &tags("obsboot"),
        false,
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    assert_eq!(
        fixed.present,
        ["sg-worker <- sg-master: TCP port 179 (Calico BGP route exchange)"]
    );
    assert_eq!(
        fixed.added,
        ["sgr-new1 sg-worker <- sg-master: IP protocol 4 (Calico IP-in-IP)"]
    );
    // The rule someone else made keeps its (absent) tags.
    let bgp = ec2.rules_now().into_iter().find(|r| r.id == "sgr-bgp");
    assert!(bgp.is_some_and(|r| r.tags.is_empty()));
}

fn native_plan() -> FixPlan {
    FixPlan {
        source_dest_check: vec![SourceDestNeed {
            node: "ip-10-0-2-15".into(),
            instance_id: "i-0worker".into(),
            peers: vec!["ip-10-0-1-74".into()],
        }],
        ..FixPlan::default()
    }
}

#[tokio::test]
async fn the_source_dest_check_is_left_alone_without_its_flag() {
    let ec2 = Fake {
        instances: vec![worker()].into(),
        ..Fake::default()
    };
    let fixed = apply(
        &ec2,
        &native_plan(),
        &tags("obsboot"),
        false,
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    assert!(ec2.calls().is_empty(), "{:?}", ec2.calls());
    assert!(fixed.source_dest_check_off.is_empty());
    assert_eq!(
        fixed.manual,
        [
            "the source/destination check of i-0worker (ip-10-0-2-15) is on: `--fix-source-dest-check` turns it off"
        ]
    );
    assert_eq!(
        ec2.instances.lock().unwrap()[0].source_dest_check,
        Some(true)
    );
}

#[tokio::test]
async fn with_its_flag_the_old_check_is_recorded_before_it_is_turned_off() {
    let ec2 = Fake {
        instances: vec![worker()].into(),
        ..Fake::default()
    };
    let fixed = apply(
        &ec2,
        &native_plan(),
        &tags("obsboot"),
        true,
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    assert_eq!(
        ec2.calls(),
        [
            "tag i-0worker obsboot.dev/source-dest-check-was=true",
            "source-dest-check i-0worker false",
        ]
    );
    assert_eq!(fixed.source_dest_check_off, ["i-0worker"]);
    assert!(fixed.manual.is_empty());
    let instance = ec2.instances.lock().unwrap()[0].clone();
    assert_eq!(instance.source_dest_check, Some(false));
    assert_eq!(
        instance
            .tags
            .get(SOURCE_DEST_CHECK_WAS_TAG)
            .map(String::as_str),
        Some("true")
    );
}

#[tokio::test]
async fn an_interrupted_fix_names_what_it_had_already_created() {
    let ec2 = Fake {
        authorize_budget: Some(1).into(),
        ..Fake::default()
    };
    let err = apply(
        &ec2,
        &calico_plan(),
        &tags("obsboot"),
        false,
        &CancellationToken::new(),
    )
    .await
    .unwrap_err();
    match err {
        DoctorError::Aws(AwsError::Partial { created, .. }) => assert_eq!(
            created,
            ["sgr-new1 sg-worker <- sg-master: TCP port 179 (Calico BGP route exchange)"]
        ),
        other => panic!("expected a partial failure, got {other:?}"),
    }

    let cancel = CancellationToken::new();
    cancel.cancel();
    let ec2 = Fake::default();
    let err = apply(&ec2, &calico_plan(), &tags("obsboot"), false, &cancel)
        .await
        .unwrap_err();
    assert!(
        matches!(err, DoctorError::Aws(AwsError::Partial { ref created, .. }) if created.is_empty()),
        "{err:?}"
    );
    assert!(ec2.calls().is_empty());
}

#[tokio::test]
async fn revert_takes_back_only_this_installations_network_rules_and_the_check() {
    let mut turned_off = worker();
    turned_off.source_dest_check = Some(false);
    turned_off
        .tags
        .insert(SOURCE_DEST_CHECK_WAS_TAG.into(), "true".into());
    let mut ours = by_group("sgr-ours", "sg-worker", "4", -1, "sg-master");
    ours.tags = pairs(OURS);
    let mut staging = by_group("sgr-staging", "sg-worker", "tcp", 179, "sg-master");
    staging.tags = pairs(&[
        (MANAGED_TAG, "true"),
        (CLUSTER_TAG, "staging"),
        (SCOPE_TAG, NETWORK_SCOPE),
    ]);
    let stack = rule(
        "sgr-stack",
        "sg-master",
        30080,
        "203.0.113.0/24",
        &[
            (MANAGED_TAG, "true"),
            (CLUSTER_TAG, "obsboot"),
            (STACK_TAG, "bookinfo"),
        ],
    );
    // The scope and cluster tags without obsboot's mark: not a rule obsboot made.
    let unmarked = rule(
        "sgr-unmarked",
        "sg-worker",
        10250,
        "10.0.1.74/32",
        &[(CLUSTER_TAG, "obsboot"), (SCOPE_TAG, NETWORK_SCOPE)],
    );
    let ec2 = Fake {
        instances: vec![turned_off].into(),
        ..Fake::with_rules(vec![ssh("sg-worker"), ours, staging, stack, unmarked])
    };
    let recorded = BTreeMap::from([("i-0worker".to_owned(), true)]);
    let reverted = revert(&ec2, "obsboot", &recorded, &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(reverted.revoked, ["sgr-ours in sg-worker"]);
    assert!(reverted.already_gone.is_empty());
    assert_eq!(reverted.source_dest_check_restored, ["i-0worker"]);
    let left: Vec<String> = ec2.rules_now().into_iter().map(|r| r.id).collect();
    assert_eq!(
        left,
        [
            "sgr-ssh-sg-worker",
            "sgr-staging",
            "sgr-stack",
            "sgr-unmarked"
        ]
    );
    assert_eq!(
        ec2.calls(),
        [
            "revoke sgr-ours",
            "source-dest-check i-0worker true",
            "untag i-0worker obsboot.dev/source-dest-check-was",
        ]
    );
    let instance = ec2.instances.lock().unwrap()[0].clone();
    assert_eq!(instance.source_dest_check, Some(true));
    assert!(instance.tags.is_empty(), "{:?}", instance.tags);
}

#[tokio::test]
async fn revert_undoes_exactly_what_fix_did() {
    let before = vec![ssh("sg-worker"), ssh("sg-master")];
    let ec2 = Fake {
        instances: vec![worker()].into(),
        ..Fake::with_rules(before.clone())
    };
    let plan = FixPlan {
        source_dest_check: native_plan().source_dest_check,
        ..calico_plan()
    };
    let cancel = CancellationToken::new();
    apply(&ec2, &plan, &tags("obsboot"), true, &cancel)
        .await
        .unwrap();
    assert_eq!(ec2.rules_now().len(), 4);
    let recorded = BTreeMap::from([("i-0worker".to_owned(), true)]);
    revert(&ec2, "obsboot", &recorded, &cancel).await.unwrap();
    assert_eq!(ec2.rules_now(), before);
    assert_eq!(ec2.instances.lock().unwrap()[0], worker());
}
