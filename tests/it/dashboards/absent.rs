//! Series a healthy kubeadm cluster running obsboot's stacks does not have
//! (`tests/it/fixtures/metrics/absent-series.yaml`): counters of failures that appear only
//! after the first failure, and series of features obsboot does not use. A panel over them
//! is empty by construction and must say so in its description.

use std::fs;

use promql_parser::label::{MatchOp, Matcher};
use promql_parser::parser::{Expr, VectorSelector};
use regex::Regex;
use serde::Deserialize;

use super::promql::metric_name;
use super::root;

/// The fixture, relative to the repository root.
pub const ABSENT_SERIES: &str = "tests/it/fixtures/metrics/absent-series.yaml";

/// One kind of absent series.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    /// A series selector: the metric, and `=` or `=~` matchers on the label values that
    /// are absent (all of them, when there is no matcher).
    series: String,
    /// Why the series is absent; the description of a panel over it must contain this.
    reason: String,
}

/// One kind of absent series, parsed.
pub struct Absent {
    pub series: String,
    pub reason: String,
    metric: String,
    matchers: Vec<(String, Regex)>,
}

/// The fixture's entries.
pub fn absent_series() -> Vec<Absent> {
    let text = fs::read_to_string(root().join(ABSENT_SERIES)).expect("read the absent series");
    let raw: Vec<Raw> = serde_yaml::from_str(&text).expect("a list of {series, reason}");
    raw.into_iter()
        .map(|Raw { series, reason }| {
            let Ok(Expr::VectorSelector(selector)) = promql_parser::parser::parse(&series) else {
                panic!("{ABSENT_SERIES}: {series:?} is not a series selector");
            };
            let metric = metric_name(&selector)
                .unwrap_or_else(|| panic!("{ABSENT_SERIES}: {series:?} names no metric"));
            let matchers = selector
                .matchers
                .matchers
                .iter()
                .filter(|m| m.name != "__name__")
                .map(|m| {
                    let pattern = match &m.op {
                        MatchOp::Equal => regex::escape(&m.value),
                        MatchOp::Re(_) => m.value.clone(),
                        _ => panic!(
                            "{ABSENT_SERIES}: {series:?}: only = and =~ describe absent values"
                        ),
                    };
                    let regex = Regex::new(&format!("^(?:{pattern})$")).expect("a regex");
                    (m.name.clone(), regex)
                })
                .collect();
            Absent {
                series,
                reason,
                metric,
                matchers,
            }
        })
        .collect()
}

impl Absent {
    /// Whether every series `selector` selects is absent: same metric, and for each absent
    /// label value, the selector admits only such values (`=` one of them, or `=~` an
    /// alternation of them).
    pub fn covers(&self, selector: &VectorSelector) -> bool {
        metric_name(selector).as_deref() == Some(self.metric.as_str())
            && self.matchers.iter().all(|(label, absent)| {
                selector
                    .matchers
                    .matchers
                    .iter()
                    .any(|m| m.name == *label && admits_only(m, absent))
            })
    }
}

fn admits_only(matcher: &Matcher, absent: &Regex) -> bool {
    match &matcher.op {
        MatchOp::Equal => absent.is_match(&matcher.value),
        MatchOp::Re(_) => matcher.value.split('|').all(|value| absent.is_match(value)),
        _ => false,
    }
}

#[test]
fn a_selector_is_covered_when_it_admits_only_absent_values() {
    let absent = Absent {
        series: String::new(),
        reason: String::new(),
        metric: "x_total".to_owned(),
        matchers: vec![("code".to_owned(), Regex::new("^(?:5..)$").expect("regex"))],
    };
    let covered = |query: &str| match promql_parser::parser::parse(query) {
        Ok(Expr::VectorSelector(selector)) => absent.covers(&selector),
        other => panic!("{other:?}"),
    };
    assert!(covered(r#"x_total{code="503", job="a"}"#));
    assert!(covered(r#"x_total{code=~"5.."}"#));
    assert!(covered(r#"x_total{code=~"500|503"}"#));
    assert!(!covered(r#"x_total{code=~"[45].."}"#));
    assert!(!covered(r#"x_total{code=~"200|503"}"#));
    assert!(!covered(r#"x_total{code!="200"}"#));
    assert!(!covered("x_total"));
    assert!(!covered(r#"y_total{code="503"}"#));
}
