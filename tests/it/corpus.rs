//! The hostile-input corpus: `tests/corpus/generate` writes a few hundred stack directories
//! (deep nesting, huge and special files, misnamed files, other encodings, consent bypasses,
//! truncations of every default file, …); `render` runs on each under a memory limit and must
//! end in success or in exit 2 with a located, bounded message in the words of a YAML file.
//! The timeout only detects hangs: a case normally takes well under a second.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use regex::Regex;

use crate::harness;

/// Past this a case is taken to hang.
const HANG: Duration = Duration::from_secs(20);

/// The address space a run may use (`prlimit --as`): a render needs far less; reading a
/// 1 GiB file whole, or /dev/zero, exceeds it.
const ADDRESS_SPACE: u64 = 1 << 30;

/// The most a failed run may print on standard error: messages quote a window of a long
/// line and stop after 20 diagnostics, so the largest case prints under 10 KiB.
const MAX_STDERR: usize = 16 << 10;

/// What a message in the words of a YAML file never holds: Rust's type names (`u16`,
/// `struct KindProbe`, `Option<…>`), serde's names for them (`unit value`, `newtype`), paths
/// (`serde_yaml::…`) and debug output (`Some(`, `Error {`).
static RUST_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\b(u8|u16|u32|u64|u128|usize|i8|i16|i32|i64|i128|isize|f32|f64)\b|\b(struct|enum) [A-Z]|\b(Option|Vec|Box|Result)<|\bString\b|unit value|newtype|\btuple\b|\b[a-z_]+::[A-Za-z_]|\b(Some|Ok|Err)\(|\bNone\b|\b[A-Z][A-Za-z]+ \{",
    )
    .expect("a valid regex")
});

/// Runs at the same time; the cases are small, and most of a run is process start-up.
const WORKERS: usize = 4;

struct Outcome {
    code: Option<i32>,
    stderr: String,
    hung: bool,
}

fn run(case: &Path) -> Outcome {
    let mut command = Command::new("prlimit");
    command
        .arg(format!("--as={ADDRESS_SPACE}"))
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_obsboot"))
        .args(["render", "--stacks", "stacks"]);
    if case.join("templates").is_dir() {
        command.args(["--templates", "templates"]);
    }
    let stderr_path = case.join("stderr.txt");
    let stderr = fs::File::create(&stderr_path).expect("create stderr.txt");
    let mut child = harness::isolated(command, case)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("run prlimit (util-linux)");
    let start = Instant::now();
    let (code, hung) = loop {
        if let Some(status) = child.try_wait().expect("wait for obsboot") {
            break (status.code(), false);
        }
        if start.elapsed() > HANG {
            child.kill().ok();
            child.wait().ok();
            break (None, true);
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let bytes = fs::read(&stderr_path).expect("read stderr.txt");
    Outcome {
        code,
        stderr: String::from_utf8_lossy(&bytes).into_owned(),
        hung,
    }
}

/// What is wrong with the outcome of `case`, if anything.
fn check(case: &Path, outcome: &Outcome, located: &Regex) -> Option<String> {
    let name = case.file_name()?.to_string_lossy().into_owned();
    let head: String = outcome.stderr.chars().take(400).collect();
    if outcome.hung {
        return Some(format!("{name}: no end within {HANG:?}"));
    }
    let (want_code, want_texts) = match fs::read_to_string(case.join("expect")) {
        Ok(text) => {
            let mut lines = text.lines();
            let code = lines.next().and_then(|code| code.parse::<i32>().ok());
            (code, lines.map(str::to_owned).collect())
        }
        Err(_) => (None, Vec::new()),
    };
    let code = outcome.code;
    if !matches!(code, Some(0 | 2)) {
        return Some(format!("{name}: exit {code:?}, not 0 or 2: {head}"));
    }
    if let Some(want) = want_code
        && code != Some(want)
    {
        return Some(format!("{name}: exit {code:?}, expected {want}: {head}"));
    }
    if outcome.stderr.contains("panicked") {
        return Some(format!("{name}: panicked: {head}"));
    }
    if let Some(found) = RUST_WORDS.find(&outcome.stderr) {
        return Some(format!(
            "{name}: names a Rust type or value ({:?}): {head}",
            found.as_str()
        ));
    }
    if code == Some(2) {
        // Without a templates directory of the user's, the built-in templates are never
        // to blame: a value they cannot take is refused where the stack file sets it.
        if !case.join("templates").is_dir() && outcome.stderr.contains("templates/") {
            return Some(format!("{name}: blames a built-in template: {head}"));
        }
        if !located.is_match(&outcome.stderr) {
            return Some(format!("{name}: the error is not located: {head}"));
        }
        if outcome.stderr.len() > MAX_STDERR {
            return Some(format!(
                "{name}: {} bytes on stderr, more than {MAX_STDERR}: {head}",
                outcome.stderr.len()
            ));
        }
    }
    let missing: Vec<&String> = want_texts
        .iter()
        .filter(|text| !outcome.stderr.contains(text.as_str()))
        .collect();
    (!missing.is_empty()).then(|| format!("{name}: stderr lacks {missing:?}: {head}"))
}

#[test]
fn hostile_stack_directories_end_in_a_located_error_or_success() {
    let out = tempfile::tempdir().expect("create the corpus directory");
    let generated = Command::new("python3")
        .arg(harness::repo().join("tests/corpus/generate"))
        .arg(out.path())
        .arg(harness::repo().join("stacks"))
        .output()
        .expect("run tests/corpus/generate (python3)");
    assert!(
        generated.status.success(),
        "tests/corpus/generate failed: {}",
        String::from_utf8_lossy(&generated.stderr)
    );
    let mut cases: Vec<PathBuf> = fs::read_dir(out.path())
        .expect("list the corpus")
        .map(|entry| entry.expect("a corpus entry").path())
        .filter(|path| path.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 300, "only {} cases", cases.len());
    // `path:line:col: ` for a located error (a template's output is `path (rendered)`), or a
    // quoted path for a directory-level one.
    let located = Regex::new(
        r#"(stacks|templates)/[^\s:"]+( \(rendered\))?:\d+:\d+: |"(stacks|templates)[^"]*""#,
    )
    .expect("a valid regex");
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..WORKERS {
            scope.spawn(|| {
                while let Some(case) = cases.get(next.fetch_add(1, Ordering::Relaxed)) {
                    if let Some(failure) = check(case, &run(case), &located) {
                        failures.lock().expect("no worker panics").push(failure);
                    }
                }
            });
        }
    });
    let mut failures = failures.into_inner().expect("no worker panics");
    failures.sort();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
