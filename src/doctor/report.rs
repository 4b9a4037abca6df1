//! What `obsboot doctor` found: one result per check, each with the evidence it read, the
//! diagnosis in plain words and the fix, printed one line per check (`-o json` for CI).

use std::fmt::Write as _;

use serde::Serialize;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Nothing wrong.
    Ok,
    /// Worth knowing, but nothing the platform needs is broken (or it cannot be decided).
    Warn,
    /// Something the platform needs is broken.
    Fail,
    /// Not checked: what it needs could not be read, or it does not apply.
    Skip,
}

impl Status {
    /// The mark at the start of the check's line, padded to one width.
    pub fn mark(self) -> &'static str {
        match self {
            Self::Ok => "ok  ",
            Self::Warn => "warn",
            Self::Fail => "FAIL",
            Self::Skip => "skip",
        }
    }
}

/// A change that would mend a problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Fix {
    /// What it does, in words.
    pub summary: String,
    /// The same change as a command to run by hand (AWS CLI or kubectl).
    pub command: String,
    /// Whether `doctor --fix` makes this change.
    pub automatic: bool,
}

/// The result of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// A stable id, for scripts and for `--skip`: `nodes`, `cni`, `carrier`, ...
    pub id: &'static str,
    /// What is checked, in a few words.
    pub title: String,
    /// How it came out.
    pub status: Status,
    /// What was read to decide, one fact per line.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
    /// What is wrong and what it breaks, when something is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagnosis: Option<String>,
    /// What would mend it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fixes: Vec<Fix>,
}

impl Finding {
    /// A finding of check `id` with `status` and nothing else yet.
    pub fn new(id: &'static str, title: impl Into<String>, status: Status) -> Self {
        Self {
            id,
            title: title.into(),
            status,
            evidence: Vec::new(),
            diagnosis: None,
            fixes: Vec::new(),
        }
    }

    /// Adds a fact that was read.
    #[must_use]
    pub fn evidence(mut self, fact: impl Into<String>) -> Self {
        self.evidence.push(fact.into());
        self
    }

    /// Says what is wrong.
    #[must_use]
    pub fn diagnosis(mut self, diagnosis: impl Into<String>) -> Self {
        self.diagnosis = Some(diagnosis.into());
        self
    }

    /// Adds a fix.
    #[must_use]
    pub fn fix(mut self, fix: Fix) -> Self {
        self.fixes.push(fix);
        self
    }
}

/// Every check's finding, in the order they ran.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The findings.
    pub findings: Vec<Finding>,
}

impl Report {
    /// How many checks failed.
    pub fn failed(&self) -> usize {
        self.count(Status::Fail)
    }

    /// How many checks came out `status`.
    pub fn count(&self, status: Status) -> usize {
        self.findings.iter().filter(|f| f.status == status).count()
    }

    /// The report as text: one line per check, and under each problem its evidence, the
    /// diagnosis and the fixes; a last line counts the outcomes.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for finding in &self.findings {
            let _ = writeln!(
                out,
                "{} {:<4} {}",
                finding.status.mark(),
                finding.id,
                finding.title
            );
            let detailed = matches!(finding.status, Status::Warn | Status::Fail);
            for fact in &finding.evidence {
                if detailed || finding.status == Status::Skip {
                    let _ = writeln!(out, "       read: {fact}");
                }
            }
            if let Some(diagnosis) = &finding.diagnosis {
                let _ = writeln!(out, "       why: {diagnosis}");
            }
            for fix in &finding.fixes {
                let how = if fix.automatic {
                    "doctor --fix does this"
                } else {
                    "by hand"
                };
                let _ = writeln!(out, "       fix ({how}): {}", fix.summary);
                if !fix.command.is_empty() {
                    let _ = writeln!(out, "         {}", fix.command);
                }
            }
        }
        let _ = writeln!(
            out,
            "{} ok, {} warn, {} failed, {} skipped",
            self.count(Status::Ok),
            self.count(Status::Warn),
            self.count(Status::Fail),
            self.count(Status::Skip)
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        Report {
            findings: vec![
                Finding::new("D01", "every node is one running EC2 instance", Status::Ok)
                    .evidence("ip-10-0-1-74: i-0a (sg-1), subnet-1 10.0.1.0/24"),
                Finding::new("D04", "Calico IP-in-IP between the nodes", Status::Fail)
                    .evidence("sg-2 admits tcp 22, tcp 6443")
                    .diagnosis("sg-2 does not admit IP protocol 4 from sg-1")
                    .fix(Fix {
                        summary: "admit IP protocol 4 into sg-2 from sg-1".into(),
                        command: "aws ec2 authorize-security-group-ingress --group-id sg-2 ..."
                            .into(),
                        automatic: true,
                    }),
                Finding::new("D15", "kubelets answer the API server", Status::Skip)
                    .evidence("not asked: --probe not given"),
            ],
        }
    }

    #[test]
    fn text_shows_details_only_for_problems_and_skips() {
        assert_eq!(
            report().text(),
            "\
ok   D01  every node is one running EC2 instance
FAIL D04  Calico IP-in-IP between the nodes
       read: sg-2 admits tcp 22, tcp 6443
       why: sg-2 does not admit IP protocol 4 from sg-1
       fix (doctor --fix does this): admit IP protocol 4 into sg-2 from sg-1
         aws ec2 authorize-security-group-ingress --group-id sg-2 ...
skip D15  kubelets answer the API server
       read: not asked: --probe not given
1 ok, 0 warn, 1 failed, 1 skipped
"
        );
        assert_eq!(report().failed(), 1);
    }

    #[test]
    fn json_names_statuses_in_lower_case_and_leaves_out_empty_parts() {
        let json = serde_json::to_value(report()).expect("serializes");
        assert_eq!(json["findings"][1]["status"], "fail");
        assert_eq!(json["findings"][1]["fixes"][0]["automatic"], true);
        assert!(json["findings"][0].get("fixes").is_none());
        assert!(json["findings"][0].get("diagnosis").is_none());
    }
}
