//! Reading a user's text file with bounds: only a regular file (after following symlinks) is
//! opened, at most a fixed number of bytes is read, and the bytes must be UTF-8.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diagnostic::Diagnostic;
use crate::encoding;
use crate::source::{Location, SourceFile, Span};

/// Why a file was not read.
#[derive(Debug)]
pub enum ReadError {
    /// The file system refused.
    Io(io::Error),
    /// The path is not a regular file; says what it is instead ("a directory").
    NotRegular(&'static str),
    /// The content is too large or not UTF-8, located in the file.
    Content(Diagnostic),
}

/// What a path is, following symlinks, when it is not a regular file.
pub fn not_regular(path: &Path) -> Result<Option<&'static str>, io::Error> {
    let meta = fs::metadata(path)?;
    let kind = meta.file_type();
    if kind.is_file() {
        return Ok(None);
    }
    Ok(Some(if kind.is_dir() {
        "a directory"
    } else {
        special(kind)
    }))
}

#[cfg(unix)]
fn special(kind: fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt as _;
    if kind.is_fifo() {
        "a FIFO (named pipe)"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

#[cfg(not(unix))]
fn special(_: fs::FileType) -> &'static str {
    "not a regular file"
}

/// Reads `path`, shown as `shown`, if it is a regular file of at most `cap` bytes of UTF-8.
/// `what` names the file in messages ("a stack file"). The metadata is checked before the
/// file is opened, so a FIFO or a device is never opened (opening a FIFO blocks), and no
/// more than `cap + 1` bytes are read whatever the file turns into meanwhile.
pub fn read(
    path: &Path,
    shown: PathBuf,
    cap: u64,
    what: &str,
) -> Result<Arc<SourceFile>, ReadError> {
    if let Some(kind) = not_regular(path).map_err(ReadError::Io)? {
        return Err(ReadError::NotRegular(kind));
    }
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|file| file.take(cap + 1).read_to_end(&mut bytes))
        .map_err(ReadError::Io)?;
    let limit = usize::try_from(cap).unwrap_or(usize::MAX);
    if bytes.len() > limit {
        return Err(ReadError::Content(too_large(
            &bytes[..limit],
            shown,
            cap,
            what,
        )));
    }
    match encoding::decode(&bytes) {
        Ok(text) => Ok(SourceFile::new(shown, text)),
        Err(err) => {
            let line_len = err.prefix[err.prefix.rfind('\n').map_or(0, |at| at + 1)..]
                .chars()
                .count();
            let file = SourceFile::new(shown, err.prefix);
            let at = Location::new(&file, Span::new(err.line, err.col.min(line_len + 1), 1));
            Err(ReadError::Content(
                Diagnostic::new(
                    at,
                    format!(
                        "{what} must be UTF-8 text; this one holds {} at byte offset {}",
                        err.what, err.offset
                    ),
                )
                .help("save the file as UTF-8 (without NUL bytes)"),
            ))
        }
    }
}

/// The files below `dir`, at most `depth` levels deep (1: only `dir` itself), sorted by path,
/// that `wanted` accepts: it is asked with the path relative to `dir` and whether the entry
/// is a directory (following symlinks); an entry it refuses is never opened. Hidden entries
/// (`.name`) are skipped. Each file is read as [`read`] reads it; an error carries the path.
pub fn read_tree(
    dir: &Path,
    depth: usize,
    wanted: &dyn Fn(&Path, bool) -> bool,
    cap: u64,
    what: &str,
) -> Result<Vec<Arc<SourceFile>>, (PathBuf, ReadError)> {
    let mut files = Vec::new();
    walk(dir, dir, depth, wanted, cap, what, &mut files)?;
    Ok(files)
}

fn walk(
    root: &Path,
    dir: &Path,
    depth: usize,
    wanted: &dyn Fn(&Path, bool) -> bool,
    cap: u64,
    what: &str,
    files: &mut Vec<Arc<SourceFile>>,
) -> Result<(), (PathBuf, ReadError)> {
    let failed = |path: &Path| {
        let path = path.to_path_buf();
        move |err| (path, ReadError::Io(err))
    };
    let mut paths = fs::read_dir(dir)
        .and_then(|entries| {
            entries
                .map(|entry| entry.map(|e| e.path()))
                .collect::<Result<Vec<_>, _>>()
        })
        .map_err(failed(dir))?;
    paths.sort();
    for path in paths {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or(".");
        let relative = path.strip_prefix(root).unwrap_or(&path);
        if name.starts_with('.') {
            continue;
        }
        // A stat, which never blocks, tells a directory from a file without opening either.
        let is_dir = fs::metadata(&path).is_ok_and(|meta| meta.is_dir());
        if !wanted(relative, is_dir) {
            continue;
        }
        if is_dir {
            if depth > 1 {
                walk(root, &path, depth - 1, wanted, cap, what, files)?;
            }
        } else {
            let file = read(&path, path.clone(), cap, what).map_err(|err| (path, err))?;
            files.push(file);
        }
    }
    Ok(())
}

/// The error for a file larger than `cap`, at the line and column where the cap is crossed.
fn too_large(kept: &[u8], shown: PathBuf, cap: u64, what: &str) -> Diagnostic {
    let text = String::from_utf8_lossy(kept).into_owned();
    let line = text.matches('\n').count() + 1;
    let col = text[text.rfind('\n').map_or(0, |at| at + 1)..]
        .chars()
        .count()
        + 1;
    let file = SourceFile::new(shown, text);
    Diagnostic::new(
        Location::new(&file, Span::new(line, col, 1)),
        format!("{what} may hold at most {}; this one is larger", size(cap)),
    )
    .help("the file goes on past this point; is it the file you meant, or a value pasted in by mistake?")
}

/// `bytes` for a message: "1 MiB", "64 KiB", or bytes.
fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content_error(bytes: &[u8], cap: u64) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.yaml");
        fs::write(&path, bytes).unwrap();
        match read(&path, "stacks/f.yaml".into(), cap, "a stack file") {
            Err(ReadError::Content(diagnostic)) => diagnostic.to_string(),
            other => panic!("expected a located error, got {other:?}"),
        }
    }

    #[test]
    fn a_file_over_the_cap_is_located_where_it_crosses_it() {
        let message = content_error(b"a: 1\nb: 22222\n", 8);
        assert!(
            message.starts_with(
                "stacks/f.yaml:2:4: a stack file may hold at most 8 bytes; this one is larger"
            ),
            "{message}"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.yaml");
        fs::write(&path, b"12345678").unwrap();
        assert!(read(&path, path.clone(), 8, "x").is_ok());
        assert_eq!(size(1 << 20), "1 MiB");
    }

    #[test]
    fn bytes_that_are_not_utf8_are_named_and_located() {
        let message = content_error(b"kind: Cluster\nname: caf\xE9\n", 100);
        assert!(
            message.starts_with("stacks/f.yaml:2:10: a stack file must be UTF-8 text; this one holds byte 0xE9, which is not UTF-8 (perhaps Latin-1 or Windows-1252) at byte offset 23"),
            "{message}"
        );
        let message = content_error(b"\xFF\xFEk\x00", 100);
        assert!(
            message.contains("UTF-16 little-endian (by its byte-order mark)"),
            "{message}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn special_files_are_not_opened() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("zero.yaml");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        assert!(matches!(
            read(&link, link.clone(), 8, "x"),
            Err(ReadError::NotRegular("a device"))
        ));
        assert!(matches!(
            read(dir.path(), link, 8, "x"),
            Err(ReadError::NotRegular("a directory"))
        ));
    }
}
