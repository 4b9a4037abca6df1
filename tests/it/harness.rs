//! Runs the built `obsboot` binary in a scratch directory holding a copy of the default
//! stack files (and, on request, templates), so that tests can break one file and read the
//! exact error, with paths as a user would see them (`stacks/bookinfo.yaml`).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;

/// The repository root, where the default stacks and templates live. Read when the tests
/// run (cargo sets it for them), not when they were compiled: a target directory shared
/// between checkouts in different places keeps a test binary whose sources did not change,
/// and the compile-time path would name the checkout that built it.
pub fn repo() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
}

/// A scratch directory with `stacks/` (and maybe `templates/`) copied from the repository.
pub struct Scratch {
    dir: TempDir,
}

/// What a run printed and how it ended.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Scratch {
    /// A scratch directory with the default stack files in `stacks/`.
    pub fn new() -> Self {
        Self::copy(&repo().join("stacks"))
    }

    /// A scratch directory with the compact test stack files (`tests/it/fixtures/stacks`) in
    /// `stacks/`: error tests pin line numbers in these, not in the commented defaults.
    pub fn fixture() -> Self {
        Self::copy(&repo().join("tests/it/fixtures/stacks"))
    }

    fn copy(stacks: &Path) -> Self {
        let dir = tempfile::tempdir().expect("create a scratch directory");
        copy_dir(stacks, &dir.path().join("stacks"));
        Self { dir }
    }

    /// Also copies the default templates to `templates/`.
    pub fn with_templates(self) -> Self {
        copy_dir(
            &repo().join("templates"),
            &self.dir.path().join("templates"),
        );
        self
    }

    /// The scratch directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Overwrites `relative` (such as `stacks/bookinfo.yaml`) with `text`.
    pub fn write(&self, relative: &str, text: &str) -> &Self {
        let path = self.dir.path().join(relative);
        fs::create_dir_all(path.parent().expect("a parent")).expect("create parent");
        fs::write(path, text).expect("write a scratch file");
        self
    }

    /// Deletes `relative`.
    pub fn remove(&self, relative: &str) -> &Self {
        fs::remove_file(self.dir.path().join(relative)).expect("remove a scratch file");
        self
    }

    /// Reads `relative`.
    pub fn read(&self, relative: &str) -> String {
        fs::read_to_string(self.dir.path().join(relative)).expect("read a scratch file")
    }

    /// Replaces the one occurrence of `from` in `relative` by `to`.
    pub fn edit(&self, relative: &str, from: &str, to: &str) -> &Self {
        let text = self.read(relative);
        assert_eq!(
            text.matches(from).count(),
            1,
            "{from:?} must occur once in {relative}"
        );
        self.write(relative, &text.replacen(from, to, 1))
    }

    /// Writes `kubeconfig` for an API server that does not answer (a closed port).
    pub fn write_unreachable_kubeconfig(&self) -> &Self {
        let closed = crate::ec2::moto::free_port();
        let server = format!("http://127.0.0.1:{closed}");
        self.write(
            "kubeconfig",
            &crate::apiserver::kubeconfig::render(&server, "t"),
        )
    }

    /// Runs `obsboot` with `args` in the scratch directory.
    pub fn run(&self, args: &[&str]) -> Run {
        obsboot(self.dir.path(), args)
    }

    /// Runs `obsboot render --stacks stacks` plus `args`.
    pub fn render(&self, args: &[&str]) -> Run {
        let mut all = vec!["render", "--stacks", "stacks"];
        all.extend_from_slice(args);
        self.run(&all)
    }
}

/// Runs `obsboot` with `args` in `dir`, with no environment that changes its behaviour.
/// A tool the tests run: `$var`, else `name` on `PATH`. A test failure says how to install it
/// (`install`) when it does not answer `--version`.
pub fn tool(var: &str, name: &str, install: &str) -> PathBuf {
    let tool = std::env::var_os(var).map_or_else(|| PathBuf::from(name), PathBuf::from);
    let runs = Command::new(&tool)
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success());
    assert!(
        runs,
        "{} is not installed; run tests/run, which installs it, or {install}",
        tool.display()
    );
    tool
}

pub fn obsboot(dir: &Path, args: &[&str]) -> Run {
    obsboot_with(dir, args, &[])
}

/// Variables that would point the AWS SDK at a real account; removed from every run.
const AWS_VARIABLES: [&str; 10] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_EC2",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
];

/// A command for the built binary in `dir` that can never reach a real AWS account: no
/// credentials or profile from the environment, no instance metadata.
pub fn command(dir: &Path) -> Command {
    isolated(Command::new(env!("CARGO_BIN_EXE_obsboot")), dir)
}

/// `command` (which runs the built binary, perhaps through a wrapper such as `prlimit`) in
/// `dir`, with the same clean environment as [`command`].
pub fn isolated(mut command: Command, dir: &Path) -> Command {
    command
        .current_dir(dir)
        .env_remove("OBSBOOT_STACKS")
        .env_remove("OBSBOOT_TEMPLATES")
        .env_remove("OBSBOOT_LOG")
        .env_remove("RUST_LOG")
        .env_remove("KUBECONFIG")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
    for name in AWS_VARIABLES {
        command.env_remove(name);
    }
    command
}

/// Runs `obsboot` with `args` in `dir`, with `env` added to a clean environment.
pub fn obsboot_with(dir: &Path, args: &[&str], env: &[(String, String)]) -> Run {
    let output: Output = command(dir)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("run obsboot");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

impl Run {
    /// Asserts success and returns standard output.
    pub fn success(self) -> String {
        assert_eq!(self.code, 0, "obsboot failed:\n{}", self.stderr);
        self.stdout
    }

    /// Asserts that the input was refused (exit code 2) with nothing on standard output, and
    /// returns standard error.
    pub fn failure(self) -> String {
        self.exits(2)
    }

    /// Asserts that the cluster or AWS refused or failed (exit code 3) with nothing on
    /// standard output, and returns standard error.
    pub fn refused(self) -> String {
        self.exits(3)
    }

    /// Asserts exit code `code` with nothing on standard output, and returns standard error.
    pub fn exits(self, code: i32) -> String {
        assert_eq!(
            self.code, code,
            "expected exit code {code}; stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        assert_eq!(self.stdout, "", "a failed run prints nothing on stdout");
        self.stderr
    }
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("create a directory");
    for entry in fs::read_dir(from).expect("list a directory") {
        let entry = entry.expect("a directory entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).expect("copy a file");
        }
    }
}
