//! Watch streams: newline-delimited JSON events replayed from the change log after the
//! requested resourceVersion, filtered by namespace and selectors (an object that starts or
//! stops matching is ADDED or DELETED), bookmarks, a clean end at `timeoutSeconds`, and 410
//! `Expired` as an `ERROR` event for a resourceVersion older than the log.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt as _;
use futures::stream::BoxStream;
use hyper::body::Frame;
use serde_json::{Value, json};
use tokio::sync::Notify;
use tokio::time::Instant;

use super::access;
use super::catalog::ResourceType;
use super::handlers::{self, Resolved};
use super::json;
use super::selectors::{FieldSelector, LabelSelector};
use super::state::{Shared, State};
use super::status::ApiError;
use super::store::Change;

/// How a fault bends this watch.
pub enum Mode {
    /// As the server would.
    Normal,
    /// One `ERROR` 410 event, then the end.
    Expire,
    /// Cut the connection after the first event.
    Truncate(Arc<Notify>),
}

/// A watch being served.
struct Watch {
    /// The server state the events come from.
    shared: Arc<Shared>,
    /// The watched type, at the requested version.
    rt: ResourceType,
    /// The namespace, unless all are watched.
    namespace: Option<String>,
    /// `labelSelector`.
    labels: LabelSelector,
    /// `fieldSelector`.
    fields: FieldSelector,
    /// Whether objects go out as PartialObjectMetadata.
    metadata_only: bool,
    /// `allowWatchBookmarks`.
    bookmarks: bool,
    /// The resourceVersion up to which events were sent.
    position: u64,
    /// Lines ready to send.
    pending: VecDeque<Bytes>,
    /// When `timeoutSeconds` ends the stream.
    deadline: Instant,
    /// Between bookmarks.
    interval: Duration,
    /// When the next bookmark is due.
    next_bookmark: Instant,
    /// Whether the stream ends after the pending lines.
    done: bool,
    /// Lines sent so far.
    sent: usize,
    /// How a fault bends the stream.
    mode: Mode,
    /// Woken by every write.
    wake: tokio::sync::watch::Receiver<u64>,
}

/// One watch event line.
fn line(kind: &str, object: &Value) -> Bytes {
    let mut text = json!({"type": kind, "object": object}).to_string();
    text.push('\n');
    Bytes::from(text)
}

/// The ERROR event for a resourceVersion older than the log.
fn expired(rv: u64, oldest: u64) -> Bytes {
    let status = ApiError::expired(format!("too old resource version: {rv} ({oldest})"));
    line("ERROR", &status.body())
}

impl Watch {
    /// Whether `object` is in this watch's namespace and selectors.
    fn matches(&self, object: &Value) -> bool {
        self.namespace
            .as_ref()
            .is_none_or(|ns| json::namespace(object) == ns)
            && self.labels.matches(&json::labels(object))
            && self.fields.matches(object)
    }

    /// An event for `object`, at the watched version (metadata only if asked).
    fn event(&self, kind: &str, object: &Value) -> Bytes {
        let object = handlers::present(&self.rt, object.clone());
        if self.metadata_only {
            line(kind, &handlers::partial_metadata(&object))
        } else {
            line(kind, &object)
        }
    }

    /// A BOOKMARK at the current position.
    fn bookmark(&self, annotations: Option<Value>) -> Bytes {
        let mut metadata =
            json!({"resourceVersion": self.position.to_string(), "creationTimestamp": null});
        if let Some(annotations) = annotations {
            metadata["annotations"] = annotations;
        }
        line(
            "BOOKMARK",
            &json!({"kind": self.rt.kind, "apiVersion": self.rt.api_version(), "metadata": metadata}),
        )
    }

    /// Queues the events logged since `position`.
    fn gather(&mut self, state: &State) {
        let events = match state.store.events_after(self.position) {
            Ok(events) => events,
            Err(oldest) => {
                self.pending.push_back(expired(self.position, oldest));
                self.done = true;
                return;
            }
        };
        let mut out = Vec::new();
        for e in events.filter(|e| e.group == self.rt.group && e.plural == self.rt.plural) {
            let now = self.matches(&e.object);
            let before = e.previous.as_ref().is_some_and(|p| self.matches(p));
            let kind = match (e.change, before, now) {
                (Change::Added, _, true) | (Change::Modified, false, true) => "ADDED",
                (Change::Modified, true, true) => "MODIFIED",
                (Change::Deleted, _, true) | (Change::Modified, true, false) => "DELETED",
                _ => continue,
            };
            out.push(self.event(kind, &e.object));
        }
        self.pending.extend(out);
        self.position = self.position.max(state.store.rv());
    }

    /// The next line of the stream, or its end.
    async fn next(mut self) -> Option<(Result<Frame<Bytes>, std::convert::Infallible>, Self)> {
        loop {
            if let Mode::Truncate(kill) = &self.mode
                && self.sent >= 1
            {
                // Give the first event time to leave, then cut the connection mid-stream.
                tokio::time::sleep(Duration::from_millis(20)).await;
                kill.notify_one();
                std::future::pending::<()>().await;
            }
            if let Some(bytes) = self.pending.pop_front() {
                self.sent += 1;
                return Some((Ok(Frame::data(bytes)), self));
            }
            if self.done || Instant::now() >= self.deadline {
                return None;
            }
            let shared = Arc::clone(&self.shared);
            self.wake.mark_unchanged();
            self.gather(&shared.lock());
            if !self.pending.is_empty() || self.done {
                continue;
            }
            let until = if self.bookmarks {
                self.deadline.min(self.next_bookmark)
            } else {
                self.deadline
            };
            tokio::select! {
                changed = self.wake.changed() => if changed.is_err() { return None },
                () = tokio::time::sleep_until(until) => {
                    if self.bookmarks && Instant::now() >= self.next_bookmark && Instant::now() < self.deadline {
                        self.next_bookmark = Instant::now() + self.interval;
                        let bookmark = self.bookmark(None);
                        self.pending.push_back(bookmark);
                    }
                }
            }
        }
    }
}

/// Starts a watch of `r` (checked under the lock, so that bad selectors answer 400).
pub fn start(
    shared: &Arc<Shared>,
    r: &Resolved,
    query: &BTreeMap<String, String>,
    accept: &str,
    mode: Mode,
) -> Result<BoxStream<'static, Result<Frame<Bytes>, std::convert::Infallible>>, ApiError> {
    access::check(&shared.lock(), "watch", r)?;
    let (labels, fields) = handlers::selectors(&r.rt, query)?;
    let flag = |key: &str| query.get(key).is_some_and(|v| v == "true" || v == "1");
    let timeout = query
        .get("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .unwrap_or(1800);
    let state = shared.lock();
    let interval = state.config.bookmark_interval;
    let mut watch = Watch {
        shared: Arc::clone(shared),
        namespace: (!r.all_namespaces && r.rt.namespaced).then(|| r.namespace.clone()),
        rt: r.rt.clone(),
        labels,
        fields,
        metadata_only: handlers::metadata_only(accept),
        bookmarks: flag("allowWatchBookmarks"),
        position: state.store.rv(),
        pending: VecDeque::new(),
        deadline: Instant::now() + Duration::from_secs(timeout),
        interval,
        next_bookmark: Instant::now() + interval,
        done: false,
        sent: 0,
        mode,
        wake: shared.subscribe(),
    };
    let rv = query.get("resourceVersion").map_or("", String::as_str);
    if matches!(watch.mode, Mode::Expire) {
        let asked = rv.parse().unwrap_or(0);
        watch.pending.push_back(expired(asked, state.store.rv()));
        watch.done = true;
    } else if rv.is_empty() || rv == "0" {
        let initial: Vec<Bytes> = state
            .store
            .list(&r.rt.group, &r.rt.plural)
            .filter(|o| watch.matches(o))
            .map(|o| watch.event("ADDED", o))
            .collect();
        watch.pending.extend(initial);
        if flag("sendInitialEvents") && watch.bookmarks {
            let end = watch.bookmark(Some(json!({"k8s.io/initial-events-end": "true"})));
            watch.pending.push_back(end);
        }
    } else {
        watch.position = rv
            .parse()
            .map_err(|_| ApiError::bad_request(format!("invalid resource version: {rv}")))?;
    }
    drop(state);
    Ok(futures::stream::unfold(watch, Watch::next).boxed())
}
