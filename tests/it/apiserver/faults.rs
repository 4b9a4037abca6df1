//! Injected faults: rules matched against each request that answer with an error, slow it
//! down, drop the connection before or after the write, or break a watch stream.

use std::time::Duration;

/// A rule: which requests it hits, how many it lets through first, how often it fires.
#[derive(Debug, Clone)]
pub struct Fault {
    /// HTTP method (`PATCH`), any when `None`.
    pub method: Option<String>,
    /// A substring of the path, any when `None`.
    pub path: Option<String>,
    /// A substring of the query (raw or percent-decoded), any when `None`.
    pub query: Option<String>,
    /// Let the first N matching requests through.
    pub skip: usize,
    /// Fire this many times, forever when `None`.
    pub times: Option<usize>,
    /// What to do.
    pub action: FaultAction,
}

/// What a fault does to the request it hits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultAction {
    /// Answer with a `metav1.Status` (429 with `Retry-After` when `retry_after` is set).
    Status {
        /// HTTP code.
        code: u16,
        /// `reason`.
        reason: String,
        /// `message`.
        message: String,
        /// Seconds for `Retry-After`.
        retry_after: Option<u32>,
    },
    /// Wait, then handle the request normally.
    Delay(Duration),
    /// Close the connection without answering, before doing anything.
    DropConnection,
    /// Do the request, then close the connection without answering (a lost response).
    DropAfterCommit,
    /// A failing admission webhook: 500 `failed calling webhook "<webhook>"`, nothing written.
    WebhookFailure {
        /// The webhook's name.
        webhook: String,
    },
    /// A watch answers 200 with a single `ERROR` event: Status 410 `Expired`.
    ExpireWatch,
    /// A watch stream is cut (connection closed mid-stream) after its first event.
    TruncateWatch,
}

/// Identifies an injected fault, to clear it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FaultId(u64);

impl Fault {
    /// A fault hitting every request, forever.
    pub fn new(action: FaultAction) -> Self {
        Self {
            method: None,
            path: None,
            query: None,
            skip: 0,
            times: None,
            action,
        }
    }

    /// A `metav1.Status` answer.
    pub fn status(code: u16, reason: &str, message: &str) -> Self {
        Self::new(FaultAction::Status {
            code,
            reason: reason.to_owned(),
            message: message.to_owned(),
            retry_after: None,
        })
    }

    /// Only requests with this method.
    #[must_use]
    pub fn method(mut self, method: &str) -> Self {
        self.method = Some(method.to_owned());
        self
    }

    /// Only paths containing this.
    #[must_use]
    pub fn path(mut self, path: &str) -> Self {
        self.path = Some(path.to_owned());
        self
    }

    /// Only queries containing this.
    #[must_use]
    pub fn query(mut self, query: &str) -> Self {
        self.query = Some(query.to_owned());
        self
    }

    /// Let the first `n` matches through.
    #[must_use]
    pub fn skip(mut self, n: usize) -> Self {
        self.skip = n;
        self
    }

    /// Fire `n` times.
    #[must_use]
    pub fn times(mut self, n: usize) -> Self {
        self.times = Some(n);
        self
    }
}

/// What a request looks like to the fault rules.
pub struct Target<'a> {
    /// Method.
    pub method: &'a str,
    /// Path.
    pub path: &'a str,
    /// Raw query.
    pub query: &'a str,
    /// Percent-decoded query.
    pub decoded_query: &'a str,
    /// Whether it is a watch.
    pub watch: bool,
}

/// An injected fault and how often it matched and fired.
#[derive(Debug)]
struct Rule {
    /// Its id.
    id: FaultId,
    /// The rule.
    fault: Fault,
    /// How many requests matched.
    seen: usize,
    /// How many it hit.
    fired: usize,
}

/// The injected faults, in the order they were added.
#[derive(Debug, Default)]
pub struct Faults {
    /// In the order they were added.
    rules: Vec<Rule>,
    /// The last id handed out.
    next: u64,
}

impl Faults {
    /// Adds a rule.
    pub fn add(&mut self, fault: Fault) -> FaultId {
        self.next += 1;
        let id = FaultId(self.next);
        self.rules.push(Rule {
            id,
            fault,
            seen: 0,
            fired: 0,
        });
        id
    }

    /// Removes a rule.
    pub fn remove(&mut self, id: FaultId) {
        self.rules.retain(|r| r.id != id);
    }

    /// The action of the first rule that fires for this request, counting matches.
    pub fn take(&mut self, target: &Target<'_>) -> Option<FaultAction> {
        for rule in &mut self.rules {
            let f = &rule.fault;
            let watch_only = matches!(
                f.action,
                FaultAction::ExpireWatch | FaultAction::TruncateWatch
            );
            let hit = f
                .method
                .as_ref()
                .is_none_or(|m| m.eq_ignore_ascii_case(target.method))
                && f.path
                    .as_ref()
                    .is_none_or(|p| target.path.contains(p.as_str()))
                && f.query.as_ref().is_none_or(|q| {
                    target.query.contains(q.as_str()) || target.decoded_query.contains(q.as_str())
                })
                && (!watch_only || target.watch);
            if !hit {
                continue;
            }
            rule.seen += 1;
            if rule.seen <= f.skip || f.times.is_some_and(|t| rule.fired >= t) {
                continue;
            }
            rule.fired += 1;
            return Some(f.action.clone());
        }
        None
    }
}
