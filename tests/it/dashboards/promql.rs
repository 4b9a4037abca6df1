//! Reads dashboard queries with a PromQL parser (`promql-parser`, which follows the
//! Prometheus grammar) and follows the labels through each expression: which labels a
//! selector's series carry (the exporter's, from the inventories, plus the scrape job's
//! target labels), which labels survive aggregations, functions and vector matching, and
//! whether every label a query names exists where it is named.

use std::collections::{BTreeMap, BTreeSet};

use promql_parser::label::MatchOp;
use promql_parser::parser::value::ValueType;
use promql_parser::parser::{
    self, AggregateExpr, BinaryExpr, Call, Expr, LabelModifier, VectorMatchCardinality,
    VectorSelector,
};
use regex::Regex;

use super::inventory::Inventory;
use super::targets::Job;

/// The labels of an expression's result: known, or unknown because a metric is in no
/// inventory (reported on its own; its labels are then not checked).
#[derive(Clone, Debug, PartialEq)]
pub enum Labels {
    Known(BTreeSet<String>),
    Unknown,
}

impl Labels {
    fn none() -> Self {
        Self::Known(BTreeSet::new())
    }

    fn has(&self, label: &str) -> bool {
        match self {
            Self::Known(set) => set.contains(label),
            Self::Unknown => true,
        }
    }

    fn map(self, f: impl FnOnce(BTreeSet<String>) -> BTreeSet<String>) -> Self {
        match self {
            Self::Known(set) => Self::Known(f(set)),
            Self::Unknown => Self::Unknown,
        }
    }

    fn union(self, other: Self) -> Self {
        match (self, other) {
            (Self::Known(mut a), Self::Known(b)) => {
                a.extend(b);
                Self::Known(a)
            }
            _ => Self::Unknown,
        }
    }

    fn names(&self) -> String {
        match self {
            Self::Known(set) => set.iter().cloned().collect::<Vec<_>>().join(", "),
            Self::Unknown => "unknown".to_owned(),
        }
    }
}

/// What a query may refer to: the exporters' series and the scrape jobs.
pub struct Catalog<'a> {
    pub inventories: &'a [Inventory],
    pub jobs: &'a BTreeMap<String, Job>,
}

/// What reading one expression found.
#[derive(Default)]
pub struct Findings {
    /// Every selector, in order of appearance.
    pub selectors: Vec<VectorSelector>,
    /// Labels named where they do not exist, metrics in no inventory or not scraped by the
    /// jobs a selector names, and jobs no scrape configuration has.
    pub problems: Vec<String>,
}

/// A Grafana query with its variables replaced by values PromQL accepts, so that the parser
/// can read it: inside `[…]` a duration, elsewhere (outside string literals) a number.
/// Covers `$name`, `${name}`, `${name:format}` and `[[name]]`.
pub fn interpolate(query: &str) -> String {
    let brackets_syntax = Regex::new(r"\[\[(\w+)\]\]").expect("a regex");
    let query = brackets_syntax.replace_all(query, "$${$1}");
    let mut out = String::with_capacity(query.len());
    let mut chars = query.chars().peekable();
    let mut brackets = 0_usize;
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        if let Some(q) = quote {
            out.push(c);
            if c == '\\' && q != '`' {
                out.extend(chars.next());
            } else if c == q {
                quote = None;
            }
            continue;
        }
        let value = if brackets > 0 { "5m" } else { "1" };
        match c {
            '"' | '\'' | '`' => {
                quote = Some(c);
                out.push(c);
            }
            '$' => {
                if chars.peek() == Some(&'{') {
                    for next in chars.by_ref() {
                        if next == '}' {
                            break;
                        }
                    }
                } else {
                    while chars
                        .peek()
                        .is_some_and(|next| next.is_ascii_alphanumeric() || *next == '_')
                    {
                        chars.next();
                    }
                }
                out.push_str(value);
            }
            '[' => {
                brackets += 1;
                out.push(c);
            }
            ']' => {
                brackets = brackets.saturating_sub(1);
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// Parses a Grafana query (variables interpolated).
pub fn parse(query: &str) -> Result<Expr, String> {
    parser::parse(&interpolate(query))
}

/// The metric names an expression selects, in order of appearance.
pub fn metrics(expr: &Expr) -> Vec<String> {
    let mut findings = Findings::default();
    collect_selectors(expr, &mut findings.selectors);
    findings
        .selectors
        .into_iter()
        .filter_map(|selector| metric_name(&selector))
        .collect()
}

fn collect_selectors(expr: &Expr, found: &mut Vec<VectorSelector>) {
    match expr {
        Expr::VectorSelector(vs) => found.push(vs.clone()),
        Expr::MatrixSelector(ms) => found.push(ms.vs.clone()),
        Expr::Aggregate(agg) => {
            if let Some(param) = &agg.param {
                collect_selectors(param, found);
            }
            collect_selectors(&agg.expr, found);
        }
        Expr::Unary(u) => collect_selectors(&u.expr, found),
        Expr::Binary(b) => {
            collect_selectors(&b.lhs, found);
            collect_selectors(&b.rhs, found);
        }
        Expr::Paren(p) => collect_selectors(&p.expr, found),
        Expr::Subquery(s) => collect_selectors(&s.expr, found),
        Expr::Call(call) => {
            for arg in &call.args.args {
                collect_selectors(arg, found);
            }
        }
        _ => {}
    }
}

/// A selector's metric name, written before the braces or as a `__name__` matcher.
pub fn metric_name(selector: &VectorSelector) -> Option<String> {
    selector.name.clone().or_else(|| {
        selector
            .matchers
            .matchers
            .iter()
            .find(|m| m.name == "__name__" && m.op == MatchOp::Equal)
            .map(|m| m.value.clone())
    })
}

impl Catalog<'_> {
    /// The labels of `expr`'s result, with every label use checked on the way.
    pub fn labels(&self, expr: &Expr, findings: &mut Findings) -> Labels {
        match expr {
            Expr::VectorSelector(vs) => self.selector(vs, findings),
            Expr::MatrixSelector(ms) => self.selector(&ms.vs, findings),
            Expr::Aggregate(agg) => self.aggregate(agg, findings),
            Expr::Unary(u) => self.labels(&u.expr, findings),
            Expr::Binary(b) => self.binary(b, findings),
            Expr::Paren(p) => self.labels(&p.expr, findings),
            Expr::Subquery(s) => self.labels(&s.expr, findings),
            Expr::Call(call) => self.call(call, findings),
            _ => Labels::none(),
        }
    }

    /// The jobs a selector's `job` matcher admits (all of them without one, or when the
    /// value is a Grafana variable); an unknown job value is a problem.
    fn selector_jobs(&self, selector: &VectorSelector, findings: &mut Findings) -> Vec<String> {
        let all: Vec<String> = self.jobs.keys().cloned().collect();
        let Some(matcher) = selector.matchers.matchers.iter().find(|m| m.name == "job") else {
            return all;
        };
        if matcher.value.contains('$') {
            return all;
        }
        let admitted: Vec<String> = match &matcher.op {
            MatchOp::Equal => all
                .into_iter()
                .filter(|job| *job == matcher.value)
                .collect(),
            MatchOp::Re(_) => {
                let regex = Regex::new(&format!("^(?:{})$", matcher.value)).expect("job regex");
                all.into_iter().filter(|job| regex.is_match(job)).collect()
            }
            MatchOp::NotEqual | MatchOp::NotRe(_) => return all,
        };
        if admitted.is_empty() {
            findings.problems.push(format!(
                "job {}{:?} matches none of the scrape jobs Prometheus runs ({})",
                matcher.op,
                matcher.value,
                self.jobs.keys().cloned().collect::<Vec<_>>().join(", ")
            ));
        }
        admitted
    }

    /// A selector's series labels: for each inventory listing the metric that a job the
    /// selector admits scrapes, the exporter's labels merged with that job's target labels
    /// (an exporter's label that a target label shadows is kept as `exported_<name>` unless
    /// the job honours the exporter's labels).
    fn selector(&self, selector: &VectorSelector, findings: &mut Findings) -> Labels {
        findings.selectors.push(selector.clone());
        let jobs = self.selector_jobs(selector, findings);
        let Some(metric) = metric_name(selector) else {
            return Labels::Unknown;
        };
        let listed: Vec<&Inventory> = self
            .inventories
            .iter()
            .filter(|inventory| inventory.series.contains_key(&metric))
            .collect();
        if listed.is_empty() {
            // Reported by the metric-name check.
            return Labels::Unknown;
        }
        let mut labels = BTreeSet::new();
        let mut scraped = false;
        for inventory in &listed {
            for job in jobs.iter().filter(|job| inventory.scraped_by(job)) {
                scraped = true;
                let target = &self.jobs[job];
                labels.extend(target.labels.iter().cloned());
                for label in &inventory.series[&metric] {
                    if target.labels.contains(label) && !target.honor_labels {
                        labels.insert(format!("exported_{label}"));
                    } else {
                        labels.insert(label.clone());
                    }
                }
            }
        }
        if !scraped {
            findings.problems.push(format!(
                "{metric} ({}) is scraped by none of the jobs {}",
                listed
                    .iter()
                    .map(|inventory| inventory.file.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                jobs.join(", ")
            ));
            return Labels::Unknown;
        }
        let labels = Labels::Known(labels);
        for matcher in &selector.matchers.matchers {
            if matcher.name != "__name__" {
                require(
                    &labels,
                    &matcher.name,
                    &format!("{metric}{{{matcher}}}"),
                    findings,
                );
            }
        }
        labels
    }

    fn aggregate(&self, agg: &AggregateExpr, findings: &mut Findings) -> Labels {
        if let Some(param) = &agg.param {
            self.labels(param, findings);
        }
        let inner = self.labels(&agg.expr, findings);
        let op = agg.op.to_string().to_lowercase();
        let grouped = match &agg.modifier {
            Some(LabelModifier::Include(list)) => {
                for label in &list.labels {
                    require(&inner, label, &format!("{op} by ({label})"), findings);
                }
                Labels::Known(list.labels.iter().cloned().collect())
            }
            Some(LabelModifier::Exclude(list)) => {
                for label in &list.labels {
                    require(&inner, label, &format!("{op} without ({label})"), findings);
                }
                inner.clone().map(|set| {
                    set.into_iter()
                        .filter(|l| !list.labels.contains(l))
                        .collect()
                })
            }
            None => Labels::none(),
        };
        match op.as_str() {
            // These select or limit series and keep all their labels.
            "topk" | "bottomk" | "limitk" | "limit_ratio" => inner,
            "count_values" => {
                let label = match agg.param.as_deref() {
                    Some(Expr::StringLiteral(s)) => s.val.clone(),
                    _ => String::new(),
                };
                grouped.map(|mut set| {
                    set.insert(label);
                    set
                })
            }
            _ => grouped,
        }
    }

    fn call(&self, call: &Call, findings: &mut Findings) -> Labels {
        let args: Vec<&Expr> = call.args.args.iter().map(AsRef::as_ref).collect();
        let results: Vec<Labels> = args.iter().map(|arg| self.labels(arg, findings)).collect();
        let string = |index: usize| match args.get(index) {
            Some(Expr::StringLiteral(s)) => s.val.clone(),
            _ => String::new(),
        };
        let name = call.func.name;
        match name {
            "label_replace" => {
                let source = string(3);
                if !source.is_empty() {
                    require(&results[0], &source, "label_replace source", findings);
                }
                results[0].clone().map(|mut set| {
                    set.insert(string(1));
                    set
                })
            }
            "label_join" => {
                for index in 3..args.len() {
                    require(&results[0], &string(index), "label_join source", findings);
                }
                results[0].clone().map(|mut set| {
                    set.insert(string(1));
                    set
                })
            }
            "histogram_quantile" | "histogram_fraction" => {
                let vector = results.last().cloned().unwrap_or_else(Labels::none);
                require(&vector, "le", name, findings);
                vector.map(|mut set| {
                    set.remove("le");
                    set
                })
            }
            "vector" | "time" | "scalar" | "absent" | "absent_over_time" | "pi" => Labels::none(),
            _ => args
                .iter()
                .zip(results)
                .find(|(arg, _)| matches!(arg.value_type(), ValueType::Vector | ValueType::Matrix))
                .map_or_else(Labels::none, |(_, labels)| labels),
        }
    }

    fn binary(&self, b: &BinaryExpr, findings: &mut Findings) -> Labels {
        let lhs = self.labels(&b.lhs, findings);
        let rhs = self.labels(&b.rhs, findings);
        let lhs_vector = b.lhs.value_type() == ValueType::Vector;
        let rhs_vector = b.rhs.value_type() == ValueType::Vector;
        if !(lhs_vector && rhs_vector) {
            return if lhs_vector { lhs } else { rhs };
        }
        let op = b.op.to_string().to_lowercase();
        let modifier = b.modifier.as_ref();
        let matching = modifier.and_then(|m| m.matching.as_ref());
        if let Some(LabelModifier::Include(list)) = matching {
            for label in &list.labels {
                require(
                    &lhs,
                    label,
                    &format!("{op} on ({label}), left side"),
                    findings,
                );
                require(
                    &rhs,
                    label,
                    &format!("{op} on ({label}), right side"),
                    findings,
                );
            }
        }
        if let Some(LabelModifier::Exclude(list)) = matching {
            let both = lhs.clone().union(rhs.clone());
            for label in &list.labels {
                require(&both, label, &format!("{op} ignoring ({label})"), findings);
            }
        }
        match op.as_str() {
            "and" | "unless" => return lhs,
            "or" => return lhs.union(rhs),
            _ => {}
        }
        let card = modifier.map_or(&VectorMatchCardinality::OneToOne, |m| &m.card);
        match card {
            VectorMatchCardinality::ManyToOne(extra) => {
                for label in &extra.labels {
                    require(&rhs, label, &format!("group_left ({label})"), findings);
                }
                lhs.map(|mut set| {
                    set.extend(extra.labels.iter().cloned());
                    set
                })
            }
            VectorMatchCardinality::OneToMany(extra) => {
                for label in &extra.labels {
                    require(&lhs, label, &format!("group_right ({label})"), findings);
                }
                rhs.map(|mut set| {
                    set.extend(extra.labels.iter().cloned());
                    set
                })
            }
            _ => match matching {
                Some(LabelModifier::Include(list)) => {
                    Labels::Known(list.labels.iter().cloned().collect())
                }
                Some(LabelModifier::Exclude(list)) => lhs.map(|set| {
                    set.into_iter()
                        .filter(|l| !list.labels.contains(l))
                        .collect()
                }),
                None => {
                    if let (Labels::Known(l), Labels::Known(r)) = (&lhs, &rhs)
                        && l != r
                    {
                        findings.problems.push(format!(
                            "the sides of {op} carry different labels ({} vs {}), so no series match one to one",
                            lhs.names(),
                            rhs.names()
                        ));
                    }
                    lhs
                }
            },
        }
    }
}

/// Records a problem when `label` is not in `labels`.
fn require(labels: &Labels, label: &str, context: &str, findings: &mut Findings) {
    if !labels.has(label) {
        findings.problems.push(format!(
            "{context}: label {label} does not exist here (labels: {})",
            labels.names()
        ));
    }
}

/// The labels a Grafana legend format refers to: every `{{ name }}`.
pub fn legend_labels(legend: &str) -> Vec<&str> {
    legend
        .split("{{")
        .skip(1)
        .filter_map(|rest| rest.split_once("}}").map(|(name, _)| name.trim()))
        .collect()
}

/// Checks the label of a legend against the labels of its query's result.
pub fn check_legend(legend: &str, labels: &Labels, problems: &mut Vec<String>) {
    for label in legend_labels(legend) {
        if !labels.has(label) {
            problems.push(format!(
                "legend {{{{{label}}}}}: label {label} is not on the query's result (labels: {})",
                labels.names()
            ));
        }
    }
}
