//! What the controllers remember between passes: first sightings (for delays), the timers
//! those delays set, and the stage each pod was last put in.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use tokio::time::Instant;

/// What the controllers remember between passes: when they first saw something (for
/// delays), the timers those delays set, and the stage each pod was last put in.
#[derive(Debug, Default)]
pub struct Memory {
    /// When each delay key was first asked about.
    seen: HashMap<String, Instant>,
    /// Pending wake-ups, and what they are for.
    timers: BTreeSet<(Instant, Option<Target>)>,
    /// The lifecycle stage each pod was last put in, by uid.
    stages: HashMap<String, String>,
}

/// What a timer wakes: an object, by (group, plural, uid).
pub type Target = (&'static str, &'static str, String);

/// The object a delay key (`<kind>:<uid>:...`) is about.
fn target_of(key: &str) -> Option<Target> {
    let mut parts = key.split(':');
    let (group, plural) = match parts.next()? {
        "crd" => ("apiextensions.k8s.io", "customresourcedefinitions"),
        "daemonset" => ("apps", "daemonsets"),
        "deployment" => ("apps", "deployments"),
        "statefulset" => ("apps", "statefulsets"),
        "namespace" => ("", "namespaces"),
        "pod" => ("", "pods"),
        _ => return None,
    };
    Some((group, plural, parts.next()?.to_owned()))
}

impl Memory {
    /// When `key` was first asked about.
    pub fn since(&mut self, key: &str) -> Instant {
        *self.seen.entry(key.to_owned()).or_insert_with(Instant::now)
    }

    /// Whether `delay` has passed since `key` (`<kind>:<uid>:...`) was first asked about; if
    /// not, a pass for that object runs when it will have.
    pub fn elapsed(&mut self, key: &str, delay: Duration) -> bool {
        let due = self.since(key) + delay;
        if Instant::now() >= due {
            true
        } else {
            self.timers.insert((due, target_of(key)));
            false
        }
    }

    /// Asks for a pass of every controller at `at`.
    pub fn wake_at(&mut self, at: Instant) {
        self.timers.insert((at, None));
    }

    /// When the next timer is due.
    pub fn next(&self) -> Option<Instant> {
        self.timers.iter().map(|(at, _)| *at).min()
    }

    /// Removes the timers due by now: what they wake, and whether one wakes everything.
    pub fn take_due(&mut self) -> (Vec<Target>, bool) {
        let now = Instant::now();
        let mut due = Vec::new();
        for timer in std::mem::take(&mut self.timers) {
            if timer.0 <= now {
                due.push(timer);
            } else {
                self.timers.insert(timer);
            }
        }
        let everything = due.iter().any(|(_, target)| target.is_none());
        (
            due.into_iter().filter_map(|(_, target)| target).collect(),
            everything,
        )
    }

    /// The stage last recorded for `key`.
    pub fn stage(&self, key: &str) -> Option<&str> {
        self.stages.get(key).map(String::as_str)
    }

    /// Records the stage of `key`.
    pub fn set_stage(&mut self, key: &str, stage: &str) {
        self.stages.insert(key.to_owned(), stage.to_owned());
    }
}
