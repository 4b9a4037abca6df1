//! `obsboot init`: the built-in stack files (and templates) written out for editing.

use std::fs;
use std::path::{Path, PathBuf};

use clap::Args;
use tracing::info;

use super::print;
use crate::Error;
use crate::source::SourceFile;

const AFTER_HELP: &str = "\
Examples:
  obsboot init my-stacks/                  then edit my-stacks/cluster.yaml and render with
  obsboot render --stacks my-stacks/
  obsboot init --templates my-stacks/      also write templates to my-stacks/templates/";

/// Arguments of `obsboot init`.
#[derive(Debug, Args)]
#[command(after_help = AFTER_HELP)]
pub struct InitArgs {
    /// The directory to write into (created if missing).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// Also write the templates, to DIR/templates/<stack>/.
    #[arg(long)]
    pub templates: bool,
    /// Overwrite files that already exist.
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: &InitArgs) -> Result<(), Error> {
    let mut files: Vec<(PathBuf, std::sync::Arc<SourceFile>)> = crate::embedded::stacks()
        .into_iter()
        .map(|file| (args.dir.join(file.file_name()), file))
        .collect();
    if args.templates {
        for file in crate::embedded::templates() {
            let relative = file
                .path
                .strip_prefix("templates")
                .unwrap_or(&file.path)
                .to_path_buf();
            files.push((args.dir.join("templates").join(relative), file));
        }
    }
    if !args.force
        && let Some((path, _)) = files.iter().find(|(path, _)| path.exists())
    {
        return Err(Error::Exists { path: path.clone() });
    }
    let mut listing = String::new();
    for (path, file) in &files {
        write(path, &file.text)?;
        listing.push_str(&path.display().to_string());
        listing.push('\n');
    }
    info!("wrote {} files to {}", files.len(), args.dir.display());
    print(&listing)
}

fn write(path: &Path, text: &str) -> Result<(), Error> {
    let error = |source| Error::WriteFile {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(error)?;
    }
    fs::write(path, text).map_err(error)
}
