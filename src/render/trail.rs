//! Where a walk through a JSON value is, kept as borrowed steps so that walking allocates
//! nothing; a [`FieldPath`] is built only when something needs reporting.

use crate::field_path::FieldPath;

/// One step into a JSON value.
#[derive(Debug, Clone, Copy)]
pub enum Step<'a> {
    /// A key of an object.
    Key(&'a str),
    /// An index of an array.
    Index(usize),
}

/// The steps from the root of a value to where a walk is.
#[derive(Debug, Default)]
pub struct Trail<'a>(Vec<Step<'a>>);

impl<'a> Trail<'a> {
    /// Runs `inside` one step further in, and steps back out.
    pub fn within<R>(&mut self, step: Step<'a>, inside: impl FnOnce(&mut Self) -> R) -> R {
        self.0.push(step);
        let result = inside(self);
        self.0.pop();
        result
    }

    /// The path walked so far.
    pub fn path(&self) -> FieldPath {
        self.0
            .iter()
            .fold(FieldPath::root(), |path, step| match step {
                Step::Key(key) => path.key(key),
                Step::Index(index) => path.index(*index),
            })
    }

    /// The path walked so far, plus `key`.
    pub fn path_to(&self, key: &str) -> FieldPath {
        self.path().key(key)
    }

    /// The key of the innermost object the walk is in.
    pub fn last_key(&self) -> Option<&'a str> {
        match self.0.last() {
            Some(Step::Key(key)) => Some(key),
            _ => None,
        }
    }

    /// Whether the walk is at the root's `key` (such as `metadata`).
    pub fn is_at(&self, key: &str) -> bool {
        matches!(self.0.as_slice(), [Step::Key(k)] if *k == key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_in_and_out() {
        let mut trail = Trail::default();
        let inner = trail.within(Step::Key("spec"), |t| {
            t.within(Step::Index(2), |t| t.path_to("name"))
        });
        assert_eq!(inner.to_string(), "spec[2].name");
        assert_eq!(trail.path(), FieldPath::root());
        assert!(trail.within(Step::Key("metadata"), |t| t.is_at("metadata")));
    }
}
