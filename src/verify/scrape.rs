//! Prometheus's scrape targets as verify judges them: how many are down, which (bounded), and
//! the next step: kubeadm's loopback-bound control-plane components, timeouts across the
//! network between nodes, or Prometheus's own target page for the rest.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde::Serialize;

use super::grafana::Target;
use super::topology::Topology;

/// The jobs of the control-plane components whose metrics kubeadm binds to 127.0.0.1.
pub const CONTROL_PLANE_JOBS: [&str; 4] = [
    "kube-scheduler",
    "kube-controller-manager",
    "etcd",
    "kube-proxy",
];

/// At most this many down targets are listed; the rest are counted.
pub const LISTED: usize = 10;

/// A quoted error is cut to this many characters.
const ERROR_CHARS: usize = 200;

/// What the nodes' security groups must admit for pod traffic between nodes. The carriers
/// by CNI: Calico's network requirements (tigera/docs `calico/getting-started/kubernetes/
/// requirements.mdx`: IP-in-IP is IP protocol 4, VXLAN UDP 4789), flannel-io/flannel
/// `Documentation/troubleshooting.md` (VXLAN UDP 8472), cilium/cilium
/// `Documentation/operations/system_requirements.rst` (VXLAN UDP 8472).
pub const BETWEEN_NODES: &str = "the nodes' security groups must carry the CNI's traffic between them (Calico IP-in-IP: IP protocol 4; VXLAN: UDP 4789 for Calico, UDP 8472 for flannel and Cilium), most simply a rule allowing all traffic between members of the nodes' group (deploy.md, Prerequisites)";

/// The targets, counted, with the down ones listed (at most [`LISTED`]).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Active targets.
    pub total: usize,
    /// Scraped successfully last time.
    pub up: usize,
    /// Failed their last scrape.
    pub down: usize,
    /// Not scraped yet.
    pub unknown: usize,
    /// The first down targets.
    pub failing: Vec<Down>,
}

/// One down target.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Down {
    /// Its `job`.
    pub job: String,
    /// Its `instance`.
    pub instance: String,
    /// Prometheus's last error (cut short).
    pub last_error: String,
    /// The node its address belongs to, when the cluster says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// Why it is down, when verify knows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The kind of failure, for the next step.
    #[serde(skip)]
    kind: Kind,
}

/// What a down target's failure is taken for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A control-plane component kubeadm binds to 127.0.0.1.
    Loopback,
    /// No answer from a node other than Prometheus's.
    AcrossNodes,
    /// Anything else.
    Other,
}

/// Where Prometheus is, to place the down targets.
#[derive(Debug, Default)]
pub struct Whereabouts<'a> {
    /// The cluster's nodes and pods, when it can be asked.
    pub topology: Option<&'a Topology>,
    /// The node Prometheus runs on, when known.
    pub prometheus_node: Option<&'a str>,
    /// `kubectl -n NS port-forward service/NAME PORT`, to see Prometheus's own target page.
    pub port_forward: Option<String>,
}

/// The verdict on the targets: `Ok(summary)` when none is down, else the summary, the cause
/// and the next step.
pub fn judge(
    targets: &[Target],
    place: &Whereabouts<'_>,
) -> Result<Summary, (Summary, String, String)> {
    let mut summary = Summary {
        total: targets.len(),
        ..Summary::default()
    };
    let mut down = Vec::new();
    for target in targets {
        match target.health.as_str() {
            "up" => summary.up += 1,
            "down" => down.push(target),
            _ => summary.unknown += 1,
        }
    }
    summary.down = down.len();
    let placed: Vec<Down> = down.iter().map(|t| placed(t, place)).collect();
    summary.failing = placed.iter().take(LISTED).cloned().collect();
    if summary.total == 0 {
        let next = "Prometheus's service discovery found nothing to scrape: read its log for discovery errors (permissions to list nodes, pods, services and endpointslices)".to_owned();
        return Err((summary, "Prometheus has no active targets".into(), next));
    }
    if placed.is_empty() {
        return Ok(summary);
    }
    let cause = cause(&summary, &placed);
    let next = next_step(&placed, place);
    Err((summary, cause, next))
}

/// `target` with its node and reason. A timeout to another node than Prometheus's is the
/// network between nodes, whatever the job; else the control-plane jobs are kubeadm's
/// loopback binding.
fn placed(target: &Target, place: &Whereabouts<'_>) -> Down {
    let node = place
        .topology
        .and_then(|t| t.node_of(target.host()))
        .map(str::to_owned);
    let job = target.job().to_owned();
    let kind = if is_timeout(&target.last_error) && crosses(node.as_deref(), place) {
        Kind::AcrossNodes
    } else if CONTROL_PLANE_JOBS.contains(&job.as_str()) {
        Kind::Loopback
    } else {
        Kind::Other
    };
    let reason = match kind {
        Kind::Loopback => Some("kubeadm binds its metrics to 127.0.0.1".to_owned()),
        Kind::AcrossNodes => Some(format!(
            "no answer across the network between nodes {} and {}",
            place.prometheus_node.unwrap_or("?"),
            node.as_deref().unwrap_or("?")
        )),
        Kind::Other => None,
    };
    Down {
        job,
        instance: target.instance().to_owned(),
        last_error: cut(&target.last_error),
        node,
        reason,
        kind,
    }
}

/// Whether `node` is known and is not Prometheus's node.
fn crosses(node: Option<&str>, place: &Whereabouts<'_>) -> bool {
    matches!((node, place.prometheus_node), (Some(a), Some(b)) if a != b)
}

/// Whether an error says that no answer came in time.
pub fn is_timeout(error: &str) -> bool {
    let error = error.to_ascii_lowercase();
    [
        "i/o timeout",
        "context deadline exceeded",
        "client.timeout exceeded",
        "timeout awaiting",
        "connection timed out",
    ]
    .iter()
    .any(|needle| error.contains(needle))
}

/// `N of M targets down: job instance (error), ...`, bounded.
fn cause(summary: &Summary, down: &[Down]) -> String {
    let mut cause = format!("{} of {} targets down: ", summary.down, summary.total);
    let listed: Vec<String> = down
        .iter()
        .take(LISTED)
        .map(|d| {
            let why = d.reason.as_deref().unwrap_or(&d.last_error);
            format!("{} {} ({why})", d.job, d.instance)
        })
        .collect();
    cause.push_str(&listed.join("; "));
    if down.len() > LISTED {
        let _ = write!(cause, "; and {} more", down.len() - LISTED);
    }
    cause
}

/// What to do, for each kind of failure found.
fn next_step(down: &[Down], place: &Whereabouts<'_>) -> String {
    let of = |kind: Kind| down.iter().filter(move |d| d.kind == kind);
    let mut steps = Vec::new();
    let loopback: BTreeSet<&str> = of(Kind::Loopback).map(|d| d.job.as_str()).collect();
    if !loopback.is_empty() {
        steps.push(format!(
            "{}: kubeadm binds these components' metrics to 127.0.0.1, out of Prometheus's reach; deploy.md shows the kubeadm ClusterConfiguration change that exposes them (or turn these jobs off in the Prometheus stack file)",
            loopback.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    let across: BTreeSet<&str> = of(Kind::AcrossNodes)
        .filter_map(|d| d.node.as_deref())
        .collect();
    if let (false, Some(prometheus)) = (across.is_empty(), place.prometheus_node) {
        steps.push(format!(
            "Prometheus on node {prometheus} gets no answer from targets on node {}: the network between the nodes drops the traffic; {BETWEEN_NODES}, and TCP 10250 and 9100 must reach every node from Prometheus's",
            across.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    let others: Vec<&Down> = of(Kind::Other).collect();
    if place.prometheus_node.is_none() && others.iter().any(|d| is_timeout(&d.last_error)) {
        steps.push(format!(
            "targets time out: where they run on another node than Prometheus (`kubectl get pods -A -o wide`), the network between the nodes drops the traffic; {BETWEEN_NODES}"
        ));
    }
    if !others.is_empty() {
        let forward = place.port_forward.as_deref().map_or_else(
            || "Prometheus's target page".to_owned(),
            |command| format!("Prometheus's target page (`{command}`, then /targets)"),
        );
        steps.push(format!(
            "for the other targets, check their pods (`kubectl get pods -A -o wide`) and {forward}"
        ));
    }
    steps.join("; ")
}

/// `text` cut to [`ERROR_CHARS`] characters.
fn cut(text: &str) -> String {
    match text.char_indices().nth(ERROR_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn target(job: &str, instance: &str, health: &str, error: &str) -> Target {
        Target {
            labels: BTreeMap::from([
                ("job".to_owned(), job.to_owned()),
                ("instance".to_owned(), instance.to_owned()),
            ]),
            scrape_pool: job.into(),
            scrape_url: format!("http://{instance}/metrics"),
            last_error: error.into(),
            health: health.into(),
        }
    }

    const TIMEOUT: &str = "Get \"http://10.0.2.15:9100/metrics\": context deadline exceeded";

    #[test]
    fn all_up_passes_and_counts_the_unscraped() {
        let targets = [
            target("node-exporter", "10.0.1.74:9100", "up", ""),
            target("node-exporter", "10.0.2.15:9100", "unknown", ""),
        ];
        let summary = judge(&targets, &Whereabouts::default()).unwrap();
        assert_eq!((summary.total, summary.up, summary.unknown), (2, 1, 1));
    }

    #[test]
    fn no_targets_fail() {
        let (_, cause, _) = judge(&[], &Whereabouts::default()).unwrap_err();
        assert_eq!(cause, "Prometheus has no active targets");
    }

    #[test]
    fn a_timeout_to_another_node_points_at_the_network_between_nodes() {
        let topology = Topology::with(
            &[],
            &[("10.0.1.74", "master"), ("10.0.2.15", "worker")],
            &[],
        );
        let place = Whereabouts {
            topology: Some(&topology),
            prometheus_node: Some("master"),
            port_forward: None,
        };
        let targets = [
            target("node-exporter", "10.0.1.74:9100", "up", ""),
            target("node-exporter", "10.0.2.15:9100", "down", TIMEOUT),
        ];
        let (summary, cause, next) = judge(&targets, &place).unwrap_err();
        assert_eq!(summary.failing[0].node.as_deref(), Some("worker"));
        assert_eq!(
            cause,
            "1 of 2 targets down: node-exporter 10.0.2.15:9100 (no answer across the network between nodes master and worker)"
        );
        assert!(
            next.starts_with("Prometheus on node master gets no answer from targets on node worker: the network between the nodes drops the traffic"),
            "{next}"
        );
        assert!(!next.contains("other targets"), "{next}");

        // The same timeout on Prometheus's own node is not the network between nodes.
        let targets = [target("node-exporter", "10.0.1.74:9100", "down", TIMEOUT)];
        let (_, cause, next) = judge(&targets, &place).unwrap_err();
        assert!(
            cause.ends_with("(Get \"http://10.0.2.15:9100/metrics\": context deadline exceeded)"),
            "{cause}"
        );
        assert!(!next.contains("between the nodes"), "{next}");
    }

    #[test]
    fn a_control_plane_job_timing_out_across_nodes_is_the_network_not_kubeadm() {
        let topology = Topology::with(&[], &[("10.0.2.15", "worker")], &[]);
        let place = Whereabouts {
            topology: Some(&topology),
            prometheus_node: Some("master"),
            port_forward: None,
        };
        let error = "Get \"http://10.0.2.15:10249/metrics\": context deadline exceeded";
        let targets = [target("kube-proxy", "10.0.2.15:10249", "down", error)];
        let (_, cause, next) = judge(&targets, &place).unwrap_err();
        assert_eq!(
            cause,
            "1 of 1 targets down: kube-proxy 10.0.2.15:10249 (no answer across the network between nodes master and worker)"
        );
        assert!(!next.contains("kubeadm"), "{next}");
        assert!(next.contains("IP protocol 4"), "{next}");
    }

    #[test]
    fn control_plane_jobs_are_blamed_on_kubeadm() {
        let targets = [
            target(
                "kube-scheduler",
                "10.0.1.74:10259",
                "down",
                "Get \"https://10.0.1.74:10259/metrics\": dial tcp 10.0.1.74:10259: connect: connection refused",
            ),
            target("etcd", "10.0.1.74:2381", "down", "connection refused"),
            target(
                "kubernetes-pods",
                "10.244.1.7:4191",
                "down",
                "server returned HTTP status 503",
            ),
        ];
        let (summary, cause, next) = judge(&targets, &Whereabouts::default()).unwrap_err();
        assert_eq!(summary.down, 3);
        assert!(
            cause.starts_with("3 of 3 targets down: kube-scheduler 10.0.1.74:10259 (kubeadm binds its metrics to 127.0.0.1); etcd 10.0.1.74:2381 (kubeadm binds its metrics to 127.0.0.1); kubernetes-pods 10.244.1.7:4191 (server returned HTTP status 503)"),
            "{cause}"
        );
        assert!(
            next.starts_with(
                "etcd, kube-scheduler: kubeadm binds these components' metrics to 127.0.0.1"
            ),
            "{next}"
        );
        assert!(next.contains("ClusterConfiguration"), "{next}");
        assert!(next.contains("for the other targets"), "{next}");
    }

    #[test]
    fn the_list_is_bounded() {
        let targets: Vec<Target> = (0..25)
            .map(|n| {
                target(
                    "kubernetes-pods",
                    &format!("10.244.1.{n}:80"),
                    "down",
                    &"x".repeat(500),
                )
            })
            .collect();
        let (summary, cause, _) = judge(&targets, &Whereabouts::default()).unwrap_err();
        assert_eq!(summary.failing.len(), LISTED);
        assert!(cause.ends_with("; and 15 more"), "{cause}");
        assert!(cause.len() < 3000, "{}", cause.len());
        assert_eq!(
            summary.failing[0].last_error.chars().count(),
            ERROR_CHARS + 1
        );
    }

    #[test]
    fn timeouts_are_recognised() {
        assert!(is_timeout(TIMEOUT));
        assert!(is_timeout("dial tcp 10.0.2.15:9100: i/o timeout"));
        assert!(!is_timeout("connect: connection refused"));
    }
}
