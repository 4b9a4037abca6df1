//! The default stack files and templates, compiled into the binary so that `render` works
//! anywhere without the repository.

use std::path::Path;
use std::sync::Arc;

use include_dir::{Dir, include_dir};

use crate::source::SourceFile;

static STACKS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../../stacks");
static TEMPLATES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../../templates");

/// The default stack files, shown as `stacks/<name>`.
pub fn stacks() -> Vec<Arc<SourceFile>> {
    files(&STACKS, Path::new("stacks"))
}

/// The default templates, shown as `templates/<stack>/<name>`.
pub fn templates() -> Vec<Arc<SourceFile>> {
    files(&TEMPLATES, Path::new("templates"))
}

fn files(dir: &'static Dir<'static>, prefix: &Path) -> Vec<Arc<SourceFile>> {
    let mut out = Vec::new();
    collect(dir, prefix, &mut out);
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

fn collect(dir: &'static Dir<'static>, prefix: &Path, out: &mut Vec<Arc<SourceFile>>) {
    for file in dir.files() {
        if let Some(text) = file.contents_utf8() {
            out.push(SourceFile::new(prefix.join(file.path()), text));
        }
    }
    for sub in dir.dirs() {
        collect(sub, prefix, out);
    }
}
