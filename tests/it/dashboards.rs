//! The Grafana dashboards obsboot provisions (`templates/grafana/dashboards/*.json`): complete
//! models wired to the Prometheus datasource obsboot provisions, whose queries use only
//! metrics this platform produces. What each exporter produces is listed, one series name per
//! line, in `tests/it/fixtures/metrics/<exporter>.txt`, with the version and the upstream
//! source of the names in the file's comment header.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// Where the dashboards live, relative to the repository root.
const DASHBOARDS: &str = "templates/grafana/dashboards";

/// Where the per-exporter metric inventories live, relative to the repository root.
const INVENTORIES: &str = "tests/it/fixtures/metrics";

/// The uid of the Prometheus datasource obsboot provisions in Grafana.
const DATASOURCE_UID: &str = "prometheus";

/// The dashboards obsboot ships, by uid.
const EXPECTED_UIDS: [&str; 4] = [
    "obsboot-apiserver",
    "obsboot-bookinfo",
    "obsboot-coredns",
    "obsboot-prometheus",
];

/// One inventory per source of metrics this platform's Prometheus scrapes.
const EXPORTERS: [&str; 9] = [
    "apiserver",
    "cadvisor",
    "coredns",
    "kube-state-metrics",
    "kubelet",
    "linkerd-controller",
    "linkerd-proxy",
    "node-exporter",
    "prometheus",
];

/// PromQL words that are never metric names even when no parenthesis follows them:
/// aggregation operators, set and comparison modifiers, vector matching and the float
/// literals. PromQL reads them case-insensitively.
const KEYWORDS: [&str; 28] = [
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
    "limitk",
    "limit_ratio",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "offset",
    "bool",
    "and",
    "or",
    "unless",
    "atan2",
    "inf",
    "nan",
];

/// Modifiers whose parenthesised argument is a list of label names, not an expression.
const LABEL_LIST_MODIFIERS: [&str; 6] = [
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

/// A dashboard file as read from the repository.
struct Dashboard {
    file: String,
    text: String,
    model: Value,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .and_then(std::ffi::OsStr::to_str)
        .expect("a UTF-8 file name")
        .to_owned()
}

/// The files of `dir` (relative to the repository root) with extension `ext`, sorted.
fn files_with_extension(dir: &str, ext: &str) -> Vec<PathBuf> {
    let dir = root().join(dir);
    let mut paths: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("cannot list {}: {err}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|found| found == ext))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no .{ext} files in {}", dir.display());
    paths
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

/// Every inventory as (file name, text).
fn inventories() -> Vec<(String, String)> {
    files_with_extension(INVENTORIES, "txt")
        .iter()
        .map(|path| {
            let file = file_name(path);
            let text = fs::read_to_string(path).unwrap_or_else(|err| panic!("{file}: {err}"));
            (file, text)
        })
        .collect()
}

/// The entries of an inventory: every line that is neither blank nor a `#` comment, with its
/// line number.
fn inventory_entries(text: &str) -> Vec<(usize, &str)> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| {
            let line = line.trim();
            !line.is_empty() && !line.starts_with('#')
        })
        .map(|(index, line)| (index + 1, line))
        .collect()
}

/// All metric names of all inventories.
fn known_metrics() -> BTreeSet<String> {
    let mut known = BTreeSet::new();
    for (_, text) in inventories() {
        for (_, name) in inventory_entries(&text) {
            known.insert(name.trim().to_owned());
        }
    }
    known
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

/// Whether `name` is a valid Prometheus metric name: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
fn is_metric_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(is_name_start) && bytes.all(is_name_char)
}

fn is_name_start(byte: u8) -> bool {
    byte.is_ascii_alphabetic() || byte == b'_' || byte == b':'
}

fn is_name_char(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || byte == b':'
}

/// The index of the first byte at or after `start` that `keep` rejects.
fn skip_while(bytes: &[u8], start: usize, keep: fn(u8) -> bool) -> usize {
    bytes[start..]
        .iter()
        .position(|&byte| !keep(byte))
        .map_or(bytes.len(), |offset| start + offset)
}

/// The index just after the string literal that starts at `start` (a `"`, `'` or `` ` ``).
fn skip_string(bytes: &[u8], start: usize) -> usize {
    let quote = bytes[start];
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quote != b'`' => i += 2,
            byte if byte == quote => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The index just after the `close` that matches the `open` at `start`, string literals
/// inside skipped whole.
fn skip_group(bytes: &[u8], start: usize, open: u8, close: u8) -> usize {
    let mut depth = 0_usize;
    let mut i = start;
    while i < bytes.len() {
        match bytes[i] {
            b'"' | b'\'' | b'`' => i = skip_string(bytes, i),
            byte if byte == open => {
                depth += 1;
                i += 1;
            }
            byte if byte == close => {
                depth -= 1;
                i += 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The index just after the Grafana variable at `start`: `$name`, `$__interval` or
/// `${name}`, `${name:format}`.
fn skip_variable(bytes: &[u8], start: usize) -> usize {
    if bytes.get(start + 1) == Some(&b'{') {
        skip_group(bytes, start + 1, b'{', b'}')
    } else {
        skip_while(bytes, start + 1, |c| c.is_ascii_alphanumeric() || c == b'_')
    }
}

/// The metric names a PromQL expression (possibly holding Grafana variables) selects, in
/// order of appearance. Skipped: string literals, label matchers in `{…}`, ranges, subqueries
/// and Grafana's `[[name]]` in `[…]`, Grafana variables, numbers and durations, `#`
/// comments, function names (a word followed by `(`), keywords, and the label lists of
/// `by`, `without`, `on`, `ignoring`, `group_left` and `group_right`.
fn promql_metrics(expr: &str) -> Vec<&str> {
    let bytes = expr.as_bytes();
    let mut metrics = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' | b'\'' | b'`' => i = skip_string(bytes, i),
            b'{' => i = skip_group(bytes, i, b'{', b'}'),
            b'[' => i = skip_group(bytes, i, b'[', b']'),
            b'$' => i = skip_variable(bytes, i),
            b'#' => i = skip_while(bytes, i, |c| c != b'\n'),
            byte if byte.is_ascii_digit()
                || (byte == b'.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)) =>
            {
                i = skip_while(bytes, i, |c| {
                    c.is_ascii_alphanumeric() || c == b'.' || c == b'_'
                });
            }
            byte if is_name_start(byte) => {
                let end = skip_while(bytes, i, is_name_char);
                let word = &expr[i..end];
                let next = skip_while(bytes, end, |c| c.is_ascii_whitespace());
                let called = bytes.get(next) == Some(&b'(');
                let lower = word.to_ascii_lowercase();
                if called && LABEL_LIST_MODIFIERS.contains(&lower.as_str()) {
                    i = skip_group(bytes, next, b'(', b')');
                } else {
                    if !called && !KEYWORDS.contains(&lower.as_str()) {
                        metrics.push(word);
                    }
                    i = end;
                }
            }
            _ => i += 1,
        }
    }
    metrics
}

/// The arguments of `function(…)` when `query` is exactly such a call.
fn call_arguments<'q>(query: &'q str, function: &str) -> Option<&'q str> {
    query
        .strip_prefix(function)?
        .trim_start()
        .strip_prefix('(')?
        .strip_suffix(')')
}

/// `args` split at its last top-level comma, if it has one.
fn split_last_argument(args: &str) -> Option<(&str, &str)> {
    let bytes = args.as_bytes();
    let mut last = None;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' | b'\'' | b'`' => i = skip_string(bytes, i),
            b'(' => i = skip_group(bytes, i, b'(', b')'),
            b'{' => i = skip_group(bytes, i, b'{', b'}'),
            b'[' => i = skip_group(bytes, i, b'[', b']'),
            b',' => {
                last = Some(i);
                i += 1;
            }
            _ => i += 1,
        }
    }
    last.map(|at| (&args[..at], &args[at + 1..]))
}

/// The metric names a Grafana Prometheus variable query selects: the series selector of
/// `label_values(selector, label)`, the expression of `query_result(expr)`, none for
/// `label_values(label)`, `label_names()` and `metrics(regex)`, and otherwise the query read
/// as a series selector.
fn variable_metrics(query: &str) -> Vec<&str> {
    let query = query.trim();
    if let Some(args) = call_arguments(query, "label_values") {
        return split_last_argument(args)
            .map_or_else(Vec::new, |(selector, _)| promql_metrics(selector));
    }
    if let Some(expr) = call_arguments(query, "query_result") {
        return promql_metrics(expr);
    }
    if call_arguments(query, "label_names").is_some() || call_arguments(query, "metrics").is_some()
    {
        return Vec::new();
    }
    promql_metrics(query)
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

#[test]
fn dashboard_queries_use_only_inventoried_metrics() {
    let known = known_metrics();
    let mut problems = Vec::new();
    let mut checked = 0_usize;
    for Dashboard { file, model, .. } in &dashboards() {
        for panel in panels(model).into_iter().filter(|panel| !is_row(panel)) {
            let name = title(panel);
            for target in panel["targets"].as_array().into_iter().flatten() {
                let expr = target["expr"].as_str().unwrap_or_default();
                let metrics = promql_metrics(expr);
                if metrics.is_empty() {
                    problems.push(format!(
                        "{file}: panel \"{name}\": query {} selects no metric: {expr}",
                        target["refId"]
                    ));
                }
                for metric in metrics {
                    checked += 1;
                    if !known.contains(metric) {
                        problems.push(format!(
                            "{file}: panel \"{name}\": metric {metric} is in no inventory under {INVENTORIES}"
                        ));
                    }
                }
            }
        }
        for variable in variables(model) {
            let name = variable["name"].as_str().unwrap_or("<unnamed>");
            let Some(query) = variable_query(variable) else {
                continue;
            };
            for metric in variable_metrics(query) {
                checked += 1;
                if !known.contains(metric) {
                    problems.push(format!(
                        "{file}: variable \"{name}\": metric {metric} is in no inventory under {INVENTORIES}"
                    ));
                }
            }
        }
    }
    assert!(checked > 0, "no metric found in any dashboard query");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn inventories_list_valid_unique_names() {
    let all = inventories();
    let mut problems = Vec::new();
    for exporter in EXPORTERS {
        let expected = format!("{exporter}.txt");
        if !all.iter().any(|(file, _)| *file == expected) {
            problems.push(format!("{INVENTORIES}/{expected} is missing"));
        }
    }
    for (file, text) in &all {
        if !text.starts_with('#') {
            problems.push(format!(
                "{file}: must start with a comment header naming the version and the sources"
            ));
        }
        let entries = inventory_entries(text);
        if entries.is_empty() {
            problems.push(format!("{file}: lists no metric"));
        }
        let mut seen = BTreeSet::new();
        for (line, name) in entries {
            if is_metric_name(name) {
                if !seen.insert(name) {
                    problems.push(format!("{file}:{line}: {name} is listed twice"));
                }
            } else {
                problems.push(format!(
                    "{file}:{line}: {name:?} is not a valid metric name"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn extractor_skips_aggregations_and_label_lists() {
    assert_eq!(
        promql_metrics(
            r#"sum by (le, verb) (rate(apiserver_request_duration_seconds_bucket{job="kubernetes-apiservers", verb!~"WATCH|CONNECT"}[$__rate_interval]))"#
        ),
        ["apiserver_request_duration_seconds_bucket"]
    );
    assert_eq!(
        promql_metrics(r#"histogram_quantile(0.99, sum(rate(x_bucket{le!="+Inf"}[5m])) by (le))"#),
        ["x_bucket"]
    );
    assert_eq!(
        promql_metrics(
            "sum without (instance, pod) (rate(foo_total[1h:5m] offset -1h @ 1609746000))"
        ),
        ["foo_total"]
    );
    assert_eq!(
        promql_metrics(
            r#"topk(10, sum by (resource) (apiserver_longrunning_requests{verb="WATCH"}))"#
        ),
        ["apiserver_longrunning_requests"]
    );
    assert_eq!(
        promql_metrics(r#"quantile(0.9, x) + count_values("le", y) + group(z) + stddev (w)"#),
        ["x", "y", "z", "w"]
    );
}

#[test]
fn extractor_skips_vector_matching_and_binary_keywords() {
    assert_eq!(
        promql_metrics(
            "a / on(instance) group_left(node, pod) b * ignoring (job) c > bool 0 unless d offset 5m"
        ),
        ["a", "b", "c", "d"]
    );
    assert_eq!(
        promql_metrics("max_over_time(up[1h]) and on (job) absent(scrape_duration_seconds)"),
        ["up", "scrape_duration_seconds"]
    );
    assert_eq!(
        promql_metrics(r#"count(up{job="a"} == 0) or vector(0)"#),
        ["up"]
    );
    assert_eq!(
        promql_metrics("x * on() group_right y and z or w"),
        ["x", "y", "z", "w"]
    );
    assert_eq!(
        promql_metrics("SUM BY (job) (up) # the job's targets\n + ON() GROUP_LEFT vector(1)"),
        ["up"]
    );
}

#[test]
fn extractor_skips_strings_numbers_and_variables() {
    assert_eq!(
        promql_metrics(r#"label_replace(up{job=~"$job"}, "host", "$1", "instance", "([^:]+):.*")"#),
        ["up"]
    );
    assert_eq!(
        promql_metrics(r#"label_join(m{a="x\"}"}, "dst", ",", 'a', 'b\'c') + on(`le`) n"#),
        ["m", "n"]
    );
    assert_eq!(
        promql_metrics("1e3 * 0.5 + .25 - 0x1F + Inf + NaN + time() - 2h"),
        Vec::<&str>::new()
    );
    assert_eq!(
        promql_metrics(
            r#"rate(http_requests_total{pod=~"${pod:regex}"}[${__range}]) * $scale + ${other} / $__interval_ms + q[[[interval]]]"#
        ),
        ["http_requests_total", "q"]
    );
    assert_eq!(
        promql_metrics(r#"job:up:sum{job="x"} / ignoring(le) instance:node_cpu:rate5m"#),
        ["job:up:sum", "instance:node_cpu:rate5m"]
    );
    assert_eq!(
        promql_metrics(r#"up {job="x"} - time() + timestamp (up)"#),
        ["up", "up"]
    );
}

#[test]
fn variable_queries_name_their_series_selector() {
    assert_eq!(
        variable_metrics(r#"label_values(up{job="prometheus"}, instance)"#),
        ["up"]
    );
    assert_eq!(variable_metrics("label_values(job)"), Vec::<&str>::new());
    assert_eq!(
        variable_metrics(r#"label_values(kube_pod_info{namespace=~"a|b", pod=~".*,.*"}, pod)"#),
        ["kube_pod_info"]
    );
    assert_eq!(
        variable_metrics(" label_values( response_total , deployment ) "),
        ["response_total"]
    );
    assert_eq!(
        variable_metrics(
            "query_result(topk(5, sum by (pod) (rate(container_cpu_usage_seconds_total[5m]))))"
        ),
        ["container_cpu_usage_seconds_total"]
    );
    assert_eq!(variable_metrics("label_names()"), Vec::<&str>::new());
    assert_eq!(variable_metrics("metrics(node_.*)"), Vec::<&str>::new());
    assert_eq!(variable_metrics(r#"up{job="x"}"#), ["up"]);
}

#[test]
fn metric_name_validation() {
    for valid in ["up", "job:up:sum", "_x", "node_memory_MemTotal_bytes", ":a"] {
        assert!(is_metric_name(valid), "{valid:?}");
    }
    for invalid in ["", "9x", "a-b", "a b", "é", "up{}", " up"] {
        assert!(!is_metric_name(invalid), "{invalid:?}");
    }
}
