//! The reconciliation and discovery against the in-memory EC2.

use std::collections::BTreeSet;

use tokio_util::sync::CancellationToken;

use super::fake::{Fake, group, rule};
use super::model::Instance;
use super::reconcile::{self, Scope, Wanted};
use super::{AwsError, CLUSTER_TAG, INGRESS_GROUP_TAG, MANAGED_TAG, STACK_TAG, discover};
use crate::stack::SecurityGroupRef;

const OURS: &[(&str, &str)] = &[
    (MANAGED_TAG, "true"),
    (CLUSTER_TAG, "obsboot"),
    (STACK_TAG, "bookinfo"),
];

fn scope(stacks: &[&str]) -> Scope {
    Scope {
        network: false,
        installation: "obsboot".into(),
        stacks: stacks
            .iter()
            .map(|s| (*s).to_owned())
            .collect::<BTreeSet<_>>(),
    }
}

fn want(port: u16, cidr: &str, stack: &str) -> Wanted {
    Wanted {
        port,
        cidr: cidr.into(),
        stack: stack.into(),
        workload: "productpage-v1".into(),
        description: "Bookinfo productpage".into(),
    }
}

fn diff(fake: &Fake, wanted: &[Wanted], scope: &Scope) -> reconcile::Changes {
    let all = fake.rules_now();
    let ours: Vec<_> = all.iter().filter(|r| scope.owns(r)).cloned().collect();
    let in_group: Vec<_> = all.iter().filter(|r| r.group == "sg-1").cloned().collect();
    reconcile::diff("sg-1", wanted, &ours, &in_group, scope)
}

#[test]
fn wanted_rules_are_kept_added_or_left_to_their_owner() {
    let fake = Fake::with_rules(vec![
        rule("sgr-ours", "sg-1", 30080, "203.0.113.0/24", OURS),
        rule("sgr-stale", "sg-1", 30081, "203.0.113.0/24", OURS),
        rule("sgr-foreign", "sg-1", 30300, "203.0.113.0/24", &[]),
        // Another installation's rule, and one of a stack not in play: never touched.
        rule(
            "sgr-other",
            "sg-1",
            30082,
            "203.0.113.0/24",
            &[
                (MANAGED_TAG, "true"),
                (CLUSTER_TAG, "staging"),
                (STACK_TAG, "bookinfo"),
            ],
        ),
        rule(
            "sgr-grafana",
            "sg-1",
            30301,
            "203.0.113.0/24",
            &[
                (MANAGED_TAG, "true"),
                (CLUSTER_TAG, "obsboot"),
                (STACK_TAG, "grafana"),
            ],
        ),
    ]);
    let wanted = [
        want(30080, "203.0.113.0/24", "bookinfo"),
        want(30300, "203.0.113.0/24", "bookinfo"),
        want(30090, "198.51.100.7/32", "bookinfo"),
        want(30090, "198.51.100.7/32", "bookinfo"),
    ];
    let changes = diff(&fake, &wanted, &scope(&["bookinfo"]));
    let ids = |rules: Vec<&str>| rules.into_iter().map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(
        changes
            .keep
            .iter()
            .map(|(_, r)| r.id.clone())
            .collect::<Vec<_>>(),
        ids(vec!["sgr-ours"])
    );
    assert_eq!(
        changes
            .foreign
            .iter()
            .map(|(_, r)| r.id.clone())
            .collect::<Vec<_>>(),
        ids(vec!["sgr-foreign"])
    );
    assert_eq!(changes.add, [want(30090, "198.51.100.7/32", "bookinfo")]);
    assert_eq!(
        changes
            .revoke
            .iter()
            .map(|r| r.id.clone())
            .collect::<Vec<_>>(),
        ids(vec!["sgr-stale"])
    );
}

#[tokio::test]
async fn a_second_run_changes_nothing() {
    let fake = Fake::default();
    let scope = scope(&["bookinfo"]);
    let wanted = [want(30080, "203.0.113.0/24", "bookinfo")];
    let changes = diff(&fake, &wanted, &scope);
    let applied = reconcile::apply(&fake, &changes, &scope, &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(applied.opened.len(), 1);
    let created = &fake.rules_now()[0];
    assert_eq!(
        created.tags.get(CLUSTER_TAG).map(String::as_str),
        Some("obsboot")
    );
    assert_eq!(
        created.tags.get(STACK_TAG).map(String::as_str),
        Some("bookinfo")
    );
    let again = diff(&fake, &wanted, &scope);
    assert!(again.is_empty(), "{again:?}");
    let calls = fake.calls().len();
    let applied = reconcile::apply(&fake, &again, &scope, &CancellationToken::new())
        .await
        .unwrap();
    assert!(!applied.changed());
    assert_eq!(fake.calls().len(), calls);
}

#[tokio::test]
async fn a_duplicate_of_our_own_retried_request_is_ours() {
    let fake = Fake {
        lose_authorize_answers: true,
        ..Fake::default()
    };
    let scope = scope(&["bookinfo"]);
    let changes = diff(&fake, &[want(30080, "203.0.113.0/24", "bookinfo")], &scope);
    let applied = reconcile::apply(&fake, &changes, &scope, &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(applied.opened.len(), 1, "{applied:?}");
    assert!(applied.foreign.is_empty());
}

#[tokio::test]
async fn a_rule_someone_added_meanwhile_is_left_to_them() {
    let fake = Fake::default();
    let scope = scope(&["bookinfo"]);
    let changes = diff(&fake, &[want(30080, "203.0.113.0/24", "bookinfo")], &scope);
    fake.rules
        .lock()
        .unwrap()
        .push(rule("sgr-theirs", "sg-1", 30080, "203.0.113.0/24", &[]));
    let applied = reconcile::apply(&fake, &changes, &scope, &CancellationToken::new())
        .await
        .unwrap();
    assert!(applied.opened.is_empty());
    assert_eq!(applied.foreign[0].id.as_deref(), Some("sgr-theirs"));
    assert!(fake.rules_now()[0].tags.is_empty(), "never tagged");
}

#[tokio::test]
async fn a_rule_that_shows_late_is_waited_for() {
    let fake = Fake {
        invisible_reads: 2.into(),
        ..Fake::default()
    };
    let scope = scope(&["bookinfo"]);
    let changes = diff(&fake, &[want(30080, "203.0.113.0/24", "bookinfo")], &scope);
    reconcile::apply(&fake, &changes, &scope, &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(*fake.invisible_reads.lock().unwrap(), 0);
}

#[tokio::test]
async fn a_failure_midway_names_the_rules_already_created() {
    let fake = Fake {
        authorize_budget: Some(1).into(),
        ..Fake::default()
    };
    let scope = scope(&["bookinfo"]);
    let wanted = [
        want(30080, "203.0.113.0/24", "bookinfo"),
        want(30081, "203.0.113.0/24", "bookinfo"),
    ];
    let changes = diff(&fake, &wanted, &scope);
    let err = reconcile::apply(&fake, &changes, &scope, &CancellationToken::new())
        .await
        .unwrap_err();
    let text = crate::report::format(&err);
    assert!(matches!(err, AwsError::Partial { .. }), "{text}");
    assert!(text.contains("sgr-new1"), "{text}");
    assert!(text.contains("RequestLimitExceeded"), "{text}");
    assert!(fake.rules_now()[0].tags.contains_key(MANAGED_TAG));
}

#[test]
fn the_quota_is_checked_per_address_family_before_any_change() {
    let mut rules: Vec<_> = (0..59u16)
        .map(|i| rule(&format!("sgr-{i}"), "sg-1", 1000 + i, "10.0.0.0/8", &[]))
        .collect();
    rules.push(rule("sgr-v6", "sg-1", 22, "2001:db8::/32", &[]));
    let fake = Fake::with_rules(rules);
    let scope = scope(&["bookinfo"]);
    let in_group = fake.rules_now();
    let one = diff(&fake, &[want(30080, "203.0.113.0/24", "bookinfo")], &scope);
    assert!(reconcile::check_quota(&one, &in_group, 60).is_ok());
    let two = diff(
        &fake,
        &[
            want(30080, "203.0.113.0/24", "bookinfo"),
            want(30081, "203.0.113.0/24", "bookinfo"),
        ],
        &scope,
    );
    let err = reconcile::check_quota(&two, &in_group, 60)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("sg-1 has 59 inbound IPv4 rules; adding 2"),
        "{err}"
    );
    assert!(
        reconcile::check_quota(&two, &in_group, 100).is_ok(),
        "a raised quota"
    );
    let v6 = diff(&fake, &[want(30080, "2001:db8:1::/48", "bookinfo")], &scope);
    assert!(reconcile::check_quota(&v6, &in_group, 60).is_ok());
}

#[tokio::test]
async fn teardown_revokes_only_our_tagged_rules_and_tolerates_gone_ones() {
    let fake = Fake::with_rules(vec![
        rule("sgr-ours", "sg-1", 30080, "203.0.113.0/24", OURS),
        rule("sgr-moved", "sg-2", 30080, "203.0.113.0/24", OURS),
        rule("sgr-theirs", "sg-1", 30080, "198.51.100.0/24", &[]),
        rule(
            "sgr-tagged-by-hand",
            "sg-1",
            30081,
            "198.51.100.0/24",
            &[(CLUSTER_TAG, "obsboot")],
        ),
    ]);
    let scope = scope(&["bookinfo"]);
    let rules = reconcile::tagged(&fake, &scope).await.unwrap();
    let closed = reconcile::revoke_all(&fake, &rules, &CancellationToken::new())
        .await
        .unwrap();
    let revoked: Vec<_> = closed.revoked.iter().filter_map(|r| r.id.clone()).collect();
    assert_eq!(revoked, ["sgr-ours", "sgr-moved"]);
    let left: Vec<_> = fake.rules_now().into_iter().map(|r| r.id).collect();
    assert_eq!(left, ["sgr-theirs", "sgr-tagged-by-hand"]);
    assert!(reconcile::tagged(&fake, &scope).await.unwrap().is_empty());
    // A rule gone between listing and revoking is success.
    let again = reconcile::revoke_all(&fake, &rules, &CancellationToken::new())
        .await
        .unwrap();
    assert!(again.revoked.is_empty());
    assert_eq!(again.already_gone.len(), 2);
}

fn instance(groups: &[&str]) -> Instance {
    Instance {
        id: "i-1".into(),
        state: "running".into(),
        zone: Some("eu-west-1a".into()),
        private_ip: Some("10.0.1.74".into()),
        public_ip: Some("203.0.113.10".into()),
        groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        subnet: Some("subnet-1".into()),
        vpc: Some("vpc-1".into()),
        source_dest_check: Some(true),
        interfaces: Vec::new(),
        tags: std::collections::BTreeMap::new(),
    }
}

#[tokio::test]
async fn the_group_to_open_ports_in() {
    let fake = Fake {
        groups: vec![
            group("sg-1", "cluster", &[]),
            group("sg-2", "ssh", &[]),
            group("sg-d", "default", &[]),
            group("sg-t", "exposed", &[(INGRESS_GROUP_TAG, "true")]),
        ],
        ..Fake::default()
    };
    let auto = SecurityGroupRef::ControlPlaneNode;
    let pick = async |groups: &[&str], configured: &SecurityGroupRef| {
        discover::group(&fake, "eu-west-1", &instance(groups), configured).await
    };
    assert_eq!(pick(&["sg-1"], &auto).await.unwrap().id, "sg-1");
    assert_eq!(pick(&["sg-1", "sg-t"], &auto).await.unwrap().id, "sg-t");
    let several = pick(&["sg-1", "sg-2"], &auto)
        .await
        .unwrap_err()
        .to_string();
    assert!(several.contains("sg-1 (cluster), sg-2 (ssh)"), "{several}");
    assert!(several.contains("aws.securityGroup"), "{several}");
    let default = pick(&["sg-d"], &auto).await.unwrap_err();
    assert!(
        matches!(default, AwsError::DefaultGroup { .. }),
        "{default}"
    );
    let named = SecurityGroupRef::Id("sg-d".into());
    assert_eq!(pick(&["sg-d"], &named).await.unwrap().id, "sg-d");
    let missing = SecurityGroupRef::Id("sg-9".into());
    let err = pick(&["sg-1"], &missing).await.unwrap_err().to_string();
    assert!(
        err.contains("sg-9 (aws.securityGroup in cluster.yaml) does not exist"),
        "{err}"
    );
    assert!(matches!(
        pick(&[], &auto).await,
        Err(AwsError::NoGroup { .. })
    ));
}
