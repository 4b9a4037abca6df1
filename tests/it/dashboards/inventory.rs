//! The per-exporter metric inventories (`tests/it/fixtures/metrics/<exporter>.txt`): one series
//! per line, its name followed by the labels the exporter puts on it, and in the comment
//! header one `# job: <name>` line per scrape job that scrapes the exporter (`*`: every job,
//! for the series Prometheus writes itself).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::PathBuf;

use super::root;

/// Where the per-exporter metric inventories live, relative to the repository root.
pub const INVENTORIES: &str = "tests/it/fixtures/metrics";

/// One exporter's inventory.
pub struct Inventory {
    /// The file name, such as `coredns.txt`.
    pub file: String,
    /// The scrape jobs that scrape this exporter; `*` stands for every job.
    pub jobs: Vec<String>,
    /// Each series name with its labels (target labels excluded).
    pub series: BTreeMap<String, BTreeSet<String>>,
    /// Each entry as written, with its line number, for the format checks.
    pub entries: Vec<(usize, String)>,
}

impl Inventory {
    /// Whether the job named `job` scrapes this exporter.
    pub fn scraped_by(&self, job: &str) -> bool {
        self.jobs.iter().any(|own| own == "*" || own == job)
    }
}

/// The files of `dir` (relative to the repository root) with extension `ext`, sorted.
pub fn files_with_extension(dir: &str, ext: &str) -> Vec<PathBuf> {
    let dir = root().join(dir);
    let mut paths: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("cannot list {}: {err}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|found| found == ext))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no .{ext} files in {}", dir.display());
    paths
}

/// Every inventory, parsed.
pub fn inventories() -> Vec<Inventory> {
    files_with_extension(INVENTORIES, "txt")
        .iter()
        .map(|path| {
            let file = super::file_name(path);
            let text = fs::read_to_string(path).unwrap_or_else(|err| panic!("{file}: {err}"));
            parse(file, &text)
        })
        .collect()
}

/// Reads one inventory: `# job:` lines, and entries (lines that are neither blank nor
/// comments) of the form `name label label …`.
pub fn parse(file: String, text: &str) -> Inventory {
    let mut jobs = Vec::new();
    let mut series = BTreeMap::new();
    let mut entries = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if let Some(comment) = line.strip_prefix('#') {
            if let Some(job) = comment.trim().strip_prefix("job:") {
                jobs.push(job.trim().to_owned());
            }
            continue;
        }
        if line.is_empty() {
            continue;
        }
        entries.push((index + 1, line.to_owned()));
        let mut words = line.split_whitespace();
        if let Some(name) = words.next() {
            series.insert(name.to_owned(), words.map(str::to_owned).collect());
        }
    }
    Inventory {
        file,
        jobs,
        series,
        entries,
    }
}

/// Whether `name` is a valid Prometheus metric name: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub fn is_metric_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|byte| byte.is_ascii_alphabetic() || byte == b'_' || byte == b':')
        && bytes.all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b':')
}

/// Whether `name` is a valid Prometheus label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|byte| byte.is_ascii_alphabetic() || byte == b'_')
        && bytes.all(|byte| byte.is_ascii_alphanumeric() || byte == b'_')
}

#[test]
fn entries_carry_their_labels_and_the_header_its_jobs() {
    let inventory = parse(
        "x.txt".to_owned(),
        "# Exporter x.\n# job: a\n# job: b\n\nx_total code verb\n# more\nx_info\n",
    );
    assert_eq!(inventory.jobs, ["a", "b"]);
    assert_eq!(
        inventory.series["x_total"],
        BTreeSet::from(["code".to_owned(), "verb".to_owned()])
    );
    assert!(inventory.series["x_info"].is_empty());
    assert_eq!(inventory.entries[0].0, 5);
    assert!(inventory.scraped_by("b") && !inventory.scraped_by("c"));
    assert!(parse(String::new(), "# job: *\nup\n").scraped_by("anything"));
}
