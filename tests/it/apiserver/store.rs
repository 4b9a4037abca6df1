//! The object store: every object by type, namespace and name, one resourceVersion counter
//! for the whole cluster (as etcd's revision is), and a bounded log of changes for watches.

use std::collections::{BTreeMap, VecDeque};

use serde_json::Value;

use super::json;

/// What happened to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Created.
    Added,
    /// Changed.
    Modified,
    /// Removed.
    Deleted,
}

impl Change {
    /// The watch event type.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "ADDED",
            Self::Modified => "MODIFIED",
            Self::Deleted => "DELETED",
        }
    }
}

/// One entry of the change log.
#[derive(Debug, Clone)]
pub struct Event {
    /// The resourceVersion of the change.
    pub rv: u64,
    /// What happened.
    pub change: Change,
    /// API group of the object.
    pub group: String,
    /// Plural resource name of the object.
    pub plural: String,
    /// The object after the change (for a deletion: as it was, with the deletion's RV).
    pub object: Value,
    /// The object before a modification, so that selector watches can tell when an object
    /// starts or stops matching.
    pub previous: Option<Value>,
}

/// Objects of one type by (namespace, name).
type Objects = BTreeMap<(String, String), Value>;

/// All objects and the change log.
#[derive(Debug)]
pub struct Store {
    /// Objects by (group, plural).
    types: BTreeMap<(String, String), Objects>,
    /// The latest resourceVersion.
    rv: u64,
    /// The change log, oldest first.
    events: VecDeque<Event>,
    /// How many events the log keeps.
    window: usize,
    /// The newest resourceVersion dropped from the log.
    compacted: u64,
    /// Counts uids and random names handed out.
    uids: u64,
    /// Makes uids differ between servers.
    seed: u64,
}

impl Store {
    /// An empty store keeping `window` events.
    pub fn new(window: usize, seed: u64) -> Self {
        Self {
            types: BTreeMap::new(),
            rv: 0,
            events: VecDeque::new(),
            window: window.max(1),
            compacted: 0,
            uids: 0,
            seed,
        }
    }

    /// The latest resourceVersion.
    pub fn rv(&self) -> u64 {
        self.rv
    }

    /// The object, if stored.
    pub fn get(&self, group: &str, plural: &str, namespace: &str, name: &str) -> Option<&Value> {
        self.types
            .get(&(group.to_owned(), plural.to_owned()))?
            .get(&(namespace.to_owned(), name.to_owned()))
    }

    /// Every object of a type, ordered by namespace and name.
    pub fn list<'a>(&'a self, group: &str, plural: &str) -> impl Iterator<Item = &'a Value> + 'a {
        self.types
            .get(&(group.to_owned(), plural.to_owned()))
            .into_iter()
            .flat_map(BTreeMap::values)
    }

    /// Every object of a type in one namespace.
    pub fn list_in<'a>(
        &'a self,
        group: &str,
        plural: &str,
        namespace: &'a str,
    ) -> impl Iterator<Item = &'a Value> + 'a {
        self.list(group, plural)
            .filter(move |o| json::namespace(o) == namespace)
    }

    /// Every object with its (group, plural).
    pub fn all(&self) -> impl Iterator<Item = (&str, &str, &Value)> {
        self.types.iter().flat_map(|((group, plural), objects)| {
            objects
                .values()
                .map(move |o| (group.as_str(), plural.as_str(), o))
        })
    }

    /// Stores `object` under a new resourceVersion and logs the change.
    pub fn put(&mut self, group: &str, plural: &str, mut object: Value) -> Value {
        self.rv += 1;
        json::set(
            &mut object,
            &["metadata", "resourceVersion"],
            self.rv.to_string().into(),
        );
        let key = (
            json::namespace(&object).to_owned(),
            json::name(&object).to_owned(),
        );
        let previous = self
            .types
            .entry((group.to_owned(), plural.to_owned()))
            .or_default()
            .insert(key, object.clone());
        let change = if previous.is_some() {
            Change::Modified
        } else {
            Change::Added
        };
        self.log(group, plural, change, object.clone(), previous);
        object
    }

    /// Removes an object, logging its deletion under a new resourceVersion.
    pub fn remove(
        &mut self,
        group: &str,
        plural: &str,
        namespace: &str,
        name: &str,
    ) -> Option<Value> {
        let objects = self.types.get_mut(&(group.to_owned(), plural.to_owned()))?;
        let mut object = objects.remove(&(namespace.to_owned(), name.to_owned()))?;
        self.rv += 1;
        json::set(
            &mut object,
            &["metadata", "resourceVersion"],
            self.rv.to_string().into(),
        );
        self.log(group, plural, Change::Deleted, object.clone(), None);
        Some(object)
    }

    /// Removes the stored object with `object`'s namespace and name, logging its deletion
    /// with `object` as its last state.
    pub fn remove_as(&mut self, group: &str, plural: &str, mut object: Value) -> Value {
        let key = (
            json::namespace(&object).to_owned(),
            json::name(&object).to_owned(),
        );
        if let Some(objects) = self.types.get_mut(&(group.to_owned(), plural.to_owned())) {
            objects.remove(&key);
        }
        self.rv += 1;
        json::set(
            &mut object,
            &["metadata", "resourceVersion"],
            self.rv.to_string().into(),
        );
        self.log(group, plural, Change::Deleted, object.clone(), None);
        object
    }

    /// Appends to the change log, dropping the oldest events beyond the window.
    fn log(
        &mut self,
        group: &str,
        plural: &str,
        change: Change,
        object: Value,
        previous: Option<Value>,
    ) {
        self.events.push_back(Event {
            rv: self.rv,
            change,
            group: group.to_owned(),
            plural: plural.to_owned(),
            object,
            previous,
        });
        while self.events.len() > self.window {
            if let Some(old) = self.events.pop_front() {
                self.compacted = old.rv;
            }
        }
    }

    /// The logged events after `rv`, or `Err(oldest)` when some of them are no longer kept.
    pub fn events_after(&self, rv: u64) -> Result<impl Iterator<Item = &Event>, u64> {
        if rv < self.compacted {
            return Err(self.compacted);
        }
        let start = self.events.partition_point(|e| e.rv <= rv);
        Ok(self.events.range(start..))
    }

    /// Forgets every logged event, as a compaction would: older resourceVersions expire.
    pub fn compact(&mut self) {
        self.events.clear();
        self.compacted = self.rv;
    }

    /// A fresh uid, formatted like a UUID.
    pub fn new_uid(&mut self) -> String {
        self.uids += 1;
        let a = mix(self.seed ^ self.uids);
        let b = mix(a ^ 0x5851_f42d_4c95_7f2d);
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | ((b >> 48) & 0x3fff),
            b & 0xffff_ffff_ffff
        )
    }

    /// A pseudo-random number for names, different on each call.
    pub fn next_random(&mut self) -> u64 {
        self.uids += 1;
        mix(self.seed.rotate_left(17) ^ self.uids)
    }
}

/// SplitMix64: spreads a counter over 64 bits.
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}
