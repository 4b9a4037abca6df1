//! The stacks directory: which entries are stack files, and reading them with bounds.
//!
//! Only the five stack file names are read (`cluster.yaml` and one per stack kind); every
//! other entry is left unopened, whatever it is (a FIFO, an archive, a symlink to a device),
//! so nothing beside the stack files can hang, exhaust memory or fail a run. A name that is a
//! stack file's but for case or extension is an error rather than a silent omission: the stack
//! would otherwise vanish from the render with success.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::StackError;
use super::kind::FileKind;
use crate::diagnostic::Diagnostics;
use crate::source::SourceFile;
use crate::text_file::{self, ReadError};

/// The most a stack file may hold. The default files are a few kilobytes; a megabyte leaves
/// room for any real one, keeps a wrong file from being read whole, and bounds the work of
/// every later pass (the YAML scanner among them).
pub const MAX_STACK_FILE: u64 = 1 << 20;

/// A directory entry that stops the stack files from being read.
#[derive(Debug, thiserror::Error)]
pub enum EntryError {
    /// A name that is a stack file's but for case or extension.
    #[error(
        "\"{}\" is not read as a stack file: stack files have exact names; rename it to \"{expected}\" (or move it out of the directory)",
        path.display()
    )]
    Misnamed {
        /// The entry.
        path: PathBuf,
        /// The name it should have.
        expected: &'static str,
    },
    /// A stack file name that is not a regular file after following symlinks.
    #[error(
        "stack file \"{}\" is {what}; a stack file must be a regular file or a symlink to one",
        path.display()
    )]
    NotRegular {
        /// The entry.
        path: PathBuf,
        /// What it is instead.
        what: &'static str,
    },
}

/// Every entry problem of the directory, reported together.
#[derive(Debug)]
pub struct EntryErrors(pub Vec<EntryError>);

impl fmt::Display for EntryErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, err) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str("\n\nerror: ")?;
            }
            write!(f, "{err}")?;
        }
        Ok(())
    }
}

impl std::error::Error for EntryErrors {}

/// The stack files of `dir`, sorted by name.
pub fn read(dir: &Path) -> Result<Vec<Arc<SourceFile>>, StackError> {
    let read_dir = |source| StackError::ReadDir {
        path: dir.to_path_buf(),
        source,
    };
    let mut names = Vec::new();
    for entry in fs::read_dir(dir).map_err(read_dir)? {
        // A name that is not UTF-8 cannot be a stack file's, nor close to one.
        if let Ok(name) = entry.map_err(read_dir)?.file_name().into_string() {
            names.push(name);
        }
    }
    names.sort();
    let mut problems = Vec::new();
    let mut wanted = Vec::new();
    for name in names {
        let path = dir.join(&name);
        if FileKind::of_file_name(&name).is_some() {
            wanted.push(path);
        } else if let Some(kind) = FileKind::near_miss(&name) {
            problems.push(EntryError::Misnamed {
                path,
                expected: kind.file_name(),
            });
        }
    }
    let mut files = Vec::new();
    let mut diagnostics = Vec::new();
    for path in wanted {
        match text_file::read(&path, path.clone(), MAX_STACK_FILE, "a stack file") {
            Ok(file) => files.push(file),
            Err(ReadError::NotRegular(what)) => {
                problems.push(EntryError::NotRegular { path, what });
            }
            Err(ReadError::Content(diagnostic)) => diagnostics.push(diagnostic),
            Err(ReadError::Io(source)) => return Err(StackError::ReadFile { path, source }),
        }
    }
    if !problems.is_empty() {
        return Err(StackError::Entries(EntryErrors(problems)));
    }
    if !diagnostics.is_empty() {
        return Err(StackError::Invalid(Diagnostics(diagnostics)));
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(dir: &Path) -> String {
        match read(dir) {
            Err(err) => err.to_string(),
            Ok(files) => panic!("expected an error, read {} file(s)", files.len()),
        }
    }

    #[test]
    fn only_stack_file_names_are_read() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("cluster.yaml"), "kind: Cluster\n").unwrap();
        // Not UTF-8, not text: would fail if it were read.
        fs::write(dir.path().join("logo.png"), b"\x89PNG\0\0").unwrap();
        fs::write(dir.path().join("notes.yaml"), b"\xFF").unwrap();
        fs::write(dir.path().join("bookinfo.yaml.bak"), b"\xFF").unwrap();
        fs::create_dir(dir.path().join("grafana")).unwrap();
        let files = read(dir.path()).unwrap();
        let names: Vec<_> = files.iter().map(|file| file.file_name()).collect();
        assert_eq!(names, ["cluster.yaml"]);
    }

    #[test]
    fn near_misses_say_which_name_to_use() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "cluster.yaml",
            "grafana.YAML",
            "bookinfo.yml",
            "Linkerd.json",
        ] {
            fs::write(dir.path().join(name), "kind: Cluster\n").unwrap();
        }
        let path = |name: &str| dir.path().join(name).display().to_string();
        assert_eq!(
            message(dir.path()),
            format!(
                "\"{}\" is not read as a stack file: stack files have exact names; rename it to \"linkerd.yaml\" (or move it out of the directory)\n\nerror: \"{}\" is not read as a stack file: stack files have exact names; rename it to \"bookinfo.yaml\" (or move it out of the directory)\n\nerror: \"{}\" is not read as a stack file: stack files have exact names; rename it to \"grafana.yaml\" (or move it out of the directory)",
                path("Linkerd.json"),
                path("bookinfo.yml"),
                path("grafana.YAML")
            )
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_stack_file_name_that_is_not_a_regular_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("cluster.yaml")).unwrap();
        std::os::unix::fs::symlink("/dev/zero", dir.path().join("grafana.yaml")).unwrap();
        std::os::unix::fs::symlink("/dev/zero", dir.path().join("zero.txt")).unwrap();
        let text = message(dir.path());
        assert!(
            text.contains("cluster.yaml\" is a directory; a stack file must be a regular file"),
            "{text}"
        );
        assert!(text.contains("grafana.yaml\" is a device;"), "{text}");
        assert!(!text.contains("zero.txt"), "{text}");
    }
}
