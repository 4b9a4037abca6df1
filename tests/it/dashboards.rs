//! The Grafana dashboards obsboot provisions (`templates/grafana/dashboards/*.json`): complete
//! models wired to the Prometheus datasource obsboot provisions, whose queries use only
//! metrics this platform produces, filter and group only by labels those series carry, and
//! filter only on scrape jobs Prometheus runs. What each exporter produces is listed, one
//! series per line with its labels, in `tests/it/fixtures/metrics/<exporter>.txt`, with the
//! version and the upstream source in the file's comment header; the target labels each
//! scrape job adds are derived from the rendered Prometheus configuration.

mod absent;
mod inventory;
mod promql;
mod targets;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use inventory::{INVENTORIES, files_with_extension, inventories, is_label_name, is_metric_name};
use promql::{Catalog, Findings};

/// Where the dashboards live, relative to the repository root.
const DASHBOARDS: &str = "templates/grafana/dashboards";

/// The uid of the Prometheus datasource obsboot provisions in Grafana.
const DATASOURCE_UID: &str = "prometheus";

/// The dashboards obsboot ships, by uid.
const EXPECTED_UIDS: [&str; 4] = [
    "obsboot-apiserver",
    "obsboot-bookinfo",
    "obsboot-coredns",
    "obsboot-prometheus",
];

/// One inventory per source of metrics this platform's Prometheus scrapes, and one for the
/// series Prometheus writes for every target.
const EXPORTERS: [&str; 10] = [
    "apiserver",
    "cadvisor",
    "coredns",
    "kube-state-metrics",
    "kubelet",
    "linkerd-controller",
    "linkerd-proxy",
    "node-exporter",
    "prometheus",
    "scrape",
];

/// A dashboard file as read from the repository.
struct Dashboard {
    file: String,
    text: String,
    model: Value,
}

fn root() -> PathBuf {
    crate::harness::repo()
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .and_then(std::ffi::OsStr::to_str)
        .expect("a UTF-8 file name")
        .to_owned()
}

/// Every dashboard, parsed; a file that is not valid JSON fails the calling test.
fn dashboards() -> Vec<Dashboard> {
    files_with_extension(DASHBOARDS, "json")
        .iter()
        .map(|path| {
            let file = file_name(path);
            let text = fs::read_to_string(path).unwrap_or_else(|err| panic!("{file}: {err}"));
            let model = serde_json::from_str(&text)
                .unwrap_or_else(|err| panic!("{file} is not valid JSON: {err}"));
            Dashboard { file, text, model }
        })
        .collect()
}

/// Every panel of a dashboard, rows and the panels nested in collapsed rows included.
fn panels(model: &Value) -> Vec<&Value> {
    let mut found = Vec::new();
    collect_panels(&model["panels"], &mut found);
    found
}

fn collect_panels<'a>(list: &'a Value, found: &mut Vec<&'a Value>) {
    for panel in list.as_array().into_iter().flatten() {
        found.push(panel);
        collect_panels(&panel["panels"], found);
    }
}

fn is_row(panel: &Value) -> bool {
    panel["type"] == "row"
}

fn title(panel: &Value) -> &str {
    panel["title"].as_str().unwrap_or("<untitled>")
}

/// The templating variables of a dashboard.
fn variables(model: &Value) -> Vec<&Value> {
    model["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
        .collect()
}

/// The query of a templating variable: a string, or (newer models) an object with `query`.
fn variable_query(variable: &Value) -> Option<&str> {
    variable["query"]
        .as_str()
        .or_else(|| variable["query"]["query"].as_str())
}

fn uses_prometheus(datasource: &Value) -> bool {
    datasource["type"] == "prometheus" && datasource["uid"] == DATASOURCE_UID
}

fn non_empty_string(value: &Value) -> bool {
    value.as_str().is_some_and(|text| !text.trim().is_empty())
}

/// Problems with one panel: title, description, datasource and queries.
fn panel_problems(file: &str, panel: &Value) -> Vec<String> {
    let name = title(panel);
    let mut problems = Vec::new();
    if !non_empty_string(&panel["title"]) {
        problems.push(format!("{file}: a panel ({panel}) has no title"));
    }
    if !non_empty_string(&panel["description"]) {
        problems.push(format!("{file}: panel \"{name}\" has no description"));
    }
    if !uses_prometheus(&panel["datasource"]) {
        problems.push(format!(
            "{file}: panel \"{name}\" uses datasource {}, not {{\"type\": \"prometheus\", \"uid\": \"{DATASOURCE_UID}\"}}",
            panel["datasource"]
        ));
    }
    let targets = panel["targets"].as_array().map_or(&[][..], Vec::as_slice);
    if targets.is_empty() {
        problems.push(format!("{file}: panel \"{name}\" has no queries"));
    }
    for target in targets {
        if !non_empty_string(&target["expr"]) {
            problems.push(format!(
                "{file}: panel \"{name}\": query {} has no expr",
                target["refId"]
            ));
        }
        if let Some(datasource) = target.get("datasource")
            && !uses_prometheus(datasource)
        {
            problems.push(format!(
                "{file}: panel \"{name}\": query {} uses datasource {datasource}",
                target["refId"]
            ));
        }
    }
    problems
}

/// Problems with a dashboard's model as a whole: identity, provisioning leftovers, panels
/// and variables.
fn dashboard_problems(dashboard: &Dashboard) -> Vec<String> {
    let Dashboard { file, text, model } = dashboard;
    let mut problems = Vec::new();
    if !non_empty_string(&model["title"]) {
        problems.push(format!("{file}: no title"));
    }
    if !model["tags"]
        .as_array()
        .is_some_and(|tags| tags.iter().any(|tag| tag == "obsboot"))
    {
        problems.push(format!("{file}: tags do not include \"obsboot\""));
    }
    if !model["schemaVersion"].is_u64() {
        problems.push(format!("{file}: no schemaVersion"));
    }
    if !model["id"].is_null() {
        problems.push(format!(
            "{file}: has an id; provisioned dashboards are identified by uid"
        ));
    }
    if model.get("__inputs").is_some() || text.contains("${DS_") {
        problems.push(format!(
            "{file}: has import placeholders (__inputs, ${{DS_...}}), which file provisioning does not resolve"
        ));
    }
    let all = panels(model);
    if all.iter().all(|panel| is_row(panel)) {
        problems.push(format!("{file}: no panels"));
    }
    let mut ids = BTreeSet::new();
    for panel in &all {
        if !panel["id"].as_u64().is_some_and(|id| ids.insert(id)) {
            problems.push(format!(
                "{file}: panel \"{}\" has a missing or duplicate id {}",
                title(panel),
                panel["id"]
            ));
        }
        if !is_row(panel) {
            problems.extend(panel_problems(file, panel));
        }
    }
    for variable in variables(model) {
        if !uses_prometheus(&variable["datasource"]) {
            problems.push(format!(
                "{file}: variable {} uses datasource {}",
                variable["name"], variable["datasource"]
            ));
        }
    }
    problems
}

#[test]
fn dashboards_are_complete_provisionable_models() {
    let all = dashboards();
    let mut problems = Vec::new();
    let mut uids = BTreeSet::new();
    for dashboard in &all {
        let file = &dashboard.file;
        match dashboard.model["uid"].as_str() {
            Some(uid) if uid.starts_with("obsboot-") => {
                if !uids.insert(uid.to_owned()) {
                    problems.push(format!("{file}: uid {uid} is used by another dashboard"));
                }
            }
            other => problems.push(format!(
                "{file}: uid {other:?} does not start with \"obsboot-\""
            )),
        }
        problems.extend(dashboard_problems(dashboard));
    }
    for uid in EXPECTED_UIDS {
        if !uids.contains(uid) {
            problems.push(format!("no dashboard has uid {uid}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// One query of a dashboard, with where it is.
struct Query<'a> {
    place: String,
    panel: Option<&'a Value>,
    expr: &'a str,
    legend: Option<&'a str>,
}

/// Every panel query and every variable query's expression (`label_values(selector, label)`
/// also yields the label, checked against the selector).
fn queries(dashboard: &Dashboard) -> Vec<(Query<'_>, Option<&str>)> {
    let Dashboard { file, model, .. } = dashboard;
    let mut found = Vec::new();
    for panel in panels(model).into_iter().filter(|panel| !is_row(panel)) {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let query = Query {
                place: format!(
                    "{file}: panel \"{}\": query {}",
                    title(panel),
                    target["refId"]
                ),
                panel: Some(panel),
                expr: target["expr"].as_str().unwrap_or_default(),
                legend: target["legendFormat"].as_str(),
            };
            found.push((query, None));
        }
    }
    for variable in variables(model) {
        let name = variable["name"].as_str().unwrap_or("<unnamed>");
        let Some(text) = variable_query(variable) else {
            continue;
        };
        let place = format!("{file}: variable \"{name}\"");
        let text = text.trim();
        let call = |function: &str| {
            text.strip_prefix(function)?
                .trim_start()
                .strip_prefix('(')?
                .strip_suffix(')')
        };
        let (expr, label) = if let Some(args) = call("label_values") {
            match args.rsplit_once(',') {
                Some((selector, label)) => (selector.trim(), Some(label.trim())),
                None => continue,
            }
        } else if let Some(expr) = call("query_result") {
            (expr, None)
        } else if call("label_names").is_some() || call("metrics").is_some() {
            continue;
        } else {
            (text, None)
        };
        let query = Query {
            place,
            panel: None,
            expr,
            legend: None,
        };
        found.push((query, label));
    }
    found
}

/// Everything the label checks read: inventories, the rendered configuration's jobs and
/// the jobs the real Prometheus discovers.
struct Platform {
    inventories: Vec<inventory::Inventory>,
    jobs: std::collections::BTreeMap<String, targets::Job>,
    discovered: BTreeSet<String>,
}

fn platform() -> Platform {
    let objects = targets::rendered_objects();
    let config = targets::prometheus_config(&objects);
    Platform {
        inventories: inventories(),
        jobs: targets::jobs(&objects, &config),
        discovered: targets::discovered_jobs(&config),
    }
}

/// The problems of every query of `dashboards`: unparsable queries, metrics in no inventory,
/// labels that do not exist where a query names them, legends naming labels the result does
/// not carry, jobs Prometheus does not discover, and panels over series a healthy cluster
/// does not have whose description does not say so.
fn query_problems(platform: &Platform, dashboards: &[Dashboard]) -> (Vec<String>, usize) {
    let catalog = Catalog {
        inventories: &platform.inventories,
        jobs: &platform.jobs,
    };
    let absent = absent::absent_series();
    let mut problems = Vec::new();
    let mut checked = 0_usize;
    for dashboard in dashboards {
        for (query, label) in queries(dashboard) {
            let place = &query.place;
            let expr = match promql::parse(query.expr) {
                Ok(expr) => expr,
                Err(err) => {
                    problems.push(format!("{place}: not PromQL ({err}): {}", query.expr));
                    continue;
                }
            };
            let metrics = promql::metrics(&expr);
            if metrics.is_empty() && query.panel.is_some() {
                problems.push(format!("{place}: selects no metric: {}", query.expr));
            }
            for metric in &metrics {
                checked += 1;
                if !platform
                    .inventories
                    .iter()
                    .any(|i| i.series.contains_key(metric))
                {
                    problems.push(format!(
                        "{place}: metric {metric} is in no inventory under {INVENTORIES}"
                    ));
                }
            }
            let mut findings = Findings::default();
            let labels = catalog.labels(&expr, &mut findings);
            let mut own = findings.problems;
            if let Some(legend) = query.legend {
                promql::check_legend(legend, &labels, &mut own);
            }
            if let Some(label) = label
                && let promql::Labels::Known(set) = &labels
                && !set.contains(label)
            {
                own.push(format!(
                    "label_values: label {label} is not on the selected series"
                ));
            }
            for selector in &findings.selectors {
                own.extend(job_problems(selector, &platform.discovered));
                if let Some(panel) = query.panel {
                    own.extend(absent_problems(selector, panel, &absent));
                }
            }
            problems.extend(own.into_iter().map(|problem| format!("{place}: {problem}")));
        }
    }
    (problems, checked)
}

/// A `job` matcher's literal values that are not jobs the real Prometheus discovers.
fn job_problems(
    selector: &promql_parser::parser::VectorSelector,
    discovered: &BTreeSet<String>,
) -> Vec<String> {
    use promql_parser::label::MatchOp;
    let mut problems = Vec::new();
    for matcher in selector
        .matchers
        .matchers
        .iter()
        .filter(|m| m.name == "job")
    {
        if matcher.value.contains('$') {
            continue;
        }
        let values: Vec<&str> = match matcher.op {
            MatchOp::Equal | MatchOp::NotEqual => vec![matcher.value.as_str()],
            MatchOp::Re(_) | MatchOp::NotRe(_) => matcher.value.split('|').collect(),
        };
        for value in values {
            let literal = value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c));
            if literal && !discovered.contains(value) {
                problems.push(format!(
                    "job {value:?} is not a job Prometheus discovers ({})",
                    discovered.iter().cloned().collect::<Vec<_>>().join(", ")
                ));
            }
        }
    }
    problems
}

/// A panel over series a healthy cluster does not have must give the reason in its
/// description.
fn absent_problems(
    selector: &promql_parser::parser::VectorSelector,
    panel: &Value,
    absent: &[absent::Absent],
) -> Vec<String> {
    let description = panel["description"].as_str().unwrap_or_default();
    absent
        .iter()
        .filter(|entry| entry.covers(selector) && !description.contains(&entry.reason))
        .map(|entry| {
            format!(
                "selects {} which a healthy cluster does not have (listed in {}); the panel's description must say \"{}\"",
                entry.series,
                absent::ABSENT_SERIES,
                entry.reason
            )
        })
        .collect()
}

#[test]
fn dashboard_queries_use_inventoried_metrics_labels_and_jobs() {
    let platform = platform();
    let (problems, checked) = query_problems(&platform, &dashboards());
    assert!(checked > 0, "no metric found in any dashboard query");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn inventories_list_valid_unique_names_and_labels() {
    let all = inventories();
    let mut problems = Vec::new();
    for exporter in EXPORTERS {
        let expected = format!("{exporter}.txt");
        if !all.iter().any(|inventory| inventory.file == expected) {
            problems.push(format!("{INVENTORIES}/{expected} is missing"));
        }
    }
    for inventory in &all {
        let file = &inventory.file;
        if inventory.jobs.is_empty() {
            problems.push(format!(
                "{file}: the header names no scrape job (a `# job: <name>` line)"
            ));
        }
        if inventory.entries.is_empty() {
            problems.push(format!("{file}: lists no metric"));
        }
        let mut seen = BTreeSet::new();
        for (line, entry) in &inventory.entries {
            let mut words = entry.split_whitespace();
            let name = words.next().unwrap_or_default();
            if !is_metric_name(name) {
                problems.push(format!(
                    "{file}:{line}: {name:?} is not a valid metric name"
                ));
            } else if !seen.insert(name) {
                problems.push(format!("{file}:{line}: {name} is listed twice"));
            }
            let mut labels = BTreeSet::new();
            for label in words {
                if !is_label_name(label) || label.starts_with("__") {
                    problems.push(format!(
                        "{file}:{line}: {label:?} is not a valid label name"
                    ));
                } else if !labels.insert(label) {
                    problems.push(format!("{file}:{line}: label {label} is listed twice"));
                }
            }
            let histogram_bucket = name.ends_with("_bucket");
            if histogram_bucket != labels.contains("le") {
                problems.push(format!(
                    "{file}:{line}: a histogram's _bucket series, and only it, carries le"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_inventory_job_is_a_scrape_job() {
    let platform = platform();
    for inventory in &platform.inventories {
        for job in &inventory.jobs {
            assert!(
                job == "*" || platform.jobs.contains_key(job),
                "{}: job {job} is not in the rendered Prometheus configuration",
                inventory.file
            );
        }
    }
}

/// The label check fails on a query that groups by a label its series do not have, on a
/// legend naming a label the result does not carry, and on an unknown job.
#[test]
fn the_label_check_finds_labels_that_do_not_exist() {
    let platform = platform();
    let broken = |expr: &str, legend: &str| {
        let model = serde_json::json!({
            "panels": [{"id": 1, "type": "timeseries", "title": "t", "description": "d",
                        "targets": [{"refId": "A", "expr": expr, "legendFormat": legend}]}]
        });
        let dashboard = Dashboard {
            file: "x.json".to_owned(),
            text: String::new(),
            model,
        };
        query_problems(&platform, &[dashboard]).0
    };
    let ok = broken(
        r#"histogram_quantile(0.99, sum by (le, zone) (rate(coredns_dns_request_duration_seconds_bucket{job="kubernetes-service-endpoints", service="kube-dns"}[5m])))"#,
        "{{zone}}",
    );
    assert_eq!(ok, Vec::<String>::new());
    let problems = broken(
        r#"histogram_quantile(0.99, sum by (le, type) (rate(coredns_dns_request_duration_seconds_bucket{job="kubernetes-service-endpoints", service="kube-dns"}[5m])))"#,
        "{{type}}",
    );
    assert!(
        problems[0].contains("sum by (type): label type does not exist here"),
        "{problems:?}"
    );
    let problems = broken(
        r#"sum by (pod) (up{job="kubernetes-nodes"})"#,
        "{{instance}}",
    );
    assert_eq!(problems.len(), 2, "{problems:?}");
    let problems = broken(
        r#"up{job="prometheus"} * on (pod) group_left (version) prometheus_build_info{job="prometheus"}"#,
        "{{version}}",
    );
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].contains("on (pod), left side"), "{problems:?}");
    let problems = broken(
        r#"up{job="prometheus"} * on (instance) group_left (version) prometheus_build_info{job="prometheus"}"#,
        "{{version}}",
    );
    assert_eq!(problems, Vec::<String>::new());
    let problems = broken(
        r#"sum by (deployment) (rate(request_total{job="linkerd-proxy"}[5m])) / sum(rate(request_total{job="linkerd-proxy"}[5m]))"#,
        "",
    );
    assert!(
        problems[0].contains("carry different labels"),
        "{problems:?}"
    );
    let problems = broken(
        r#"label_replace(up{job="prometheus"}, "host", "$1", "node", "(.*)")"#,
        "{{host}}",
    );
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("label_replace source"), "{problems:?}");
    let problems = broken(r#"up{job="kube-dns"}"#, "");
    assert!(
        problems
            .iter()
            .any(|p| p.contains("job \"kube-dns\" is not a job")),
        "{problems:?}"
    );
    let problems = broken(
        r#"sum by (deployment) (rate(response_total{job="linkerd-proxy", classification="failure"}[5m]))"#,
        "",
    );
    assert!(
        problems.iter().any(|p| p.contains("description must say")),
        "{problems:?}"
    );
}

#[test]
fn queries_are_read_with_grafana_variables_interpolated() {
    let metrics = |query: &str| promql::metrics(&promql::parse(query).expect("PromQL"));
    assert_eq!(
        metrics(
            r#"rate(http_requests_total{pod=~"${pod:regex}"}[${__range}]) * $scale + ${other} / $__interval_ms + rate(q[[[interval]]])"#
        ),
        ["http_requests_total", "q"]
    );
    assert_eq!(
        metrics(r#"label_replace(up{job=~"$job"}, "host", "$1", "instance", "([^:]+):.*")"#),
        ["up"]
    );
    assert_eq!(
        metrics(
            "a / on(instance) group_left(node, pod) b * ignoring (job) c > bool 0 unless d offset 5m"
        ),
        ["a", "b", "c", "d"]
    );
    assert_eq!(
        metrics(r#"quantile(0.9, x) + count_values("le", y) + group(z) + stddev (w)"#),
        ["x", "y", "z", "w"]
    );
    assert_eq!(
        metrics(r#"job:up:sum{job="x"} / ignoring(le) {__name__="instance:node_cpu:rate5m"}"#),
        ["job:up:sum", "instance:node_cpu:rate5m"]
    );
    assert_eq!(
        promql::legend_labels("{{deployment}} -> {{ dst_deployment }} {{"),
        ["deployment", "dst_deployment"]
    );
}
