//! The command line: clap types only. Each subcommand converts its arguments into the
//! plain parameters of the library and calls it.

mod aws;
mod bootstrap;
mod cluster;
mod doctor;
mod init;
mod render;
mod status;
mod teardown;
mod verify;

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use crate::Error;
use crate::render::TemplateSet;
use crate::stack::StackSource;

const ABOUT: &str = "Stand up observability on a self-managed Kubernetes cluster on EC2";

const LONG_ABOUT: &str = "\
Stand up observability on a self-managed (kubeadm) Kubernetes cluster on EC2.

obsboot renders four stacks (Linkerd, Prometheus, Grafana and the Bookinfo demo) into
Kubernetes manifests, pins the workloads you reach from outside onto the control-plane
node with hostPorts, and derives the security-group ingress rules those ports need from
the same declaration.

`render` prints it all for review; `diff` shows what `bootstrap` would change; `bootstrap`
applies it to the cluster of your kubeconfig, each group of objects as soon as what it
needs is ready;
`status` shows what runs; `doctor` checks that the security groups carry the traffic
between the nodes (and fixes them); `verify` probes the exposed ports from where you are;
`teardown` closes the ports obsboot opened and deletes what it created, and nothing else.

The default stack files are built in; `obsboot init DIR` writes them out for editing,
and `--stacks DIR` uses your edited set.";

/// The `obsboot` command line.
#[derive(Debug, Parser)]
#[command(name = "obsboot", version, about = ABOUT, long_about = LONG_ABOUT, after_help = crate::exit::HELP)]
pub struct Cli {
    /// Options every subcommand takes.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Log more on standard error: -v for progress, -vv for details.
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet", display_order = 100)]
    pub verbose: u8,
    /// Log only errors.
    #[arg(short, long, global = true, display_order = 100)]
    pub quiet: bool,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the manifests and the ingress plan, touching nothing.
    Render(render::RenderArgs),
    /// Apply the platform to a cluster, each group as soon as what it needs is ready.
    Bootstrap(bootstrap::BootstrapArgs),
    /// Show what bootstrap would change (server-side dry run), touching nothing.
    Diff(status::DiffArgs),
    /// Show which planned objects exist and are ready, touching nothing.
    Status(status::StatusArgs),
    /// Probe the exposed endpoints from here, and say which layer fails.
    Verify(verify::VerifyArgs),
    /// Check that the network between the nodes carries what the cluster needs, and fix it.
    Doctor(doctor::DoctorArgs),
    /// Close the ports obsboot opened, delete everything it created, and nothing else.
    Teardown(teardown::TeardownArgs),
    /// Write the default stack files (and optionally templates) to a directory for editing.
    Init(init::InitArgs),
}

/// Where stacks and templates come from, and which stacks to use.
#[derive(Debug, Args)]
pub struct StackArgs {
    /// Read stack files (cluster.yaml and one file per stack) from DIR instead of the
    /// built-in defaults.
    #[arg(
        long,
        value_name = "DIR",
        env = "OBSBOOT_STACKS",
        hide_env_values = true
    )]
    pub stacks: Option<PathBuf>,
    /// Read templates from DIR/<stack>/*.yaml.j2 instead of the built-in ones.
    #[arg(
        long,
        value_name = "DIR",
        env = "OBSBOOT_TEMPLATES",
        hide_env_values = true
    )]
    pub templates: Option<PathBuf>,
    /// Use only this stack (repeatable): linkerd, prometheus, grafana, bookinfo.
    #[arg(long = "stack", value_name = "NAME", value_parser = stack_name(), hide_possible_values = true)]
    pub only: Vec<String>,
}

impl StackArgs {
    fn source(&self) -> StackSource {
        self.stacks
            .clone()
            .map_or(StackSource::Embedded, StackSource::Dir)
    }

    /// Loads the stack files and the templates.
    fn load(&self) -> Result<(crate::stack::Platform, TemplateSet), Error> {
        Ok((self.source().load()?, self.template_set()?))
    }

    fn template_set(&self) -> Result<TemplateSet, Error> {
        Ok(match &self.templates {
            Some(dir) => TemplateSet::read(dir)?,
            None => TemplateSet::embedded(),
        })
    }
}

/// `--stack` takes a stack's name; anything else is a usage error, as for every other flag.
fn stack_name() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(
        crate::stack::StackKind::ALL.map(crate::stack::StackKind::name),
    )
}

/// Sends logs to standard error, at the level the flags ask for (`OBSBOOT_LOG` overrides).
pub fn init_tracing(global: &GlobalArgs) {
    let level = match (global.quiet, global.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    let filter = EnvFilter::try_from_env("OBSBOOT_LOG")
        .unwrap_or_else(|_| EnvFilter::new(format!("obsboot={level}")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(io::stderr)
        .with_ansi(colour(
            io::stderr().is_terminal(),
            std::env::var_os("NO_COLOR").as_deref(),
        ))
        .without_time()
        .with_target(false)
        .try_init();
}

/// Whether logs may be coloured: only on a terminal, and not when `NO_COLOR` is set to
/// anything but the empty string (<https://no-color.org>).
fn colour(terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    terminal && no_color.is_none_or(std::ffi::OsStr::is_empty)
}

/// Runs the command `cli` describes, reaching EC2 through `ec2`.
pub fn run(cli: Cli, ec2: crate::aws::Connect) -> Result<(), Error> {
    let progress = crate::progress::Progress::new(cli.global.quiet);
    match cli.command {
        Command::Render(args) => render::run(&args),
        Command::Bootstrap(args) => bootstrap::run(&args, progress, ec2),
        Command::Verify(args) => verify::run(&args, ec2),
        Command::Teardown(args) => teardown::run(&args, progress, ec2),
        Command::Doctor(args) => doctor::run(&args, ec2),
        Command::Diff(args) => status::diff(&args, ec2),
        Command::Status(args) => status::status(&args, ec2),
        Command::Init(args) => init::run(&args),
    }
}

/// Writes `text` to standard output. A closed pipe (`obsboot render | head`) is not an error.
fn print(text: &str) -> Result<(), Error> {
    print_all(&[text])
}

/// Writes each of `parts` to standard output, in pipe-sized writes, as [`print`] does.
fn print_all(parts: &[impl AsRef<str>]) -> Result<(), Error> {
    let mut stdout = io::BufWriter::with_capacity(64 << 10, io::stdout().lock());
    match parts
        .iter()
        .try_for_each(|part| stdout.write_all(part.as_ref().as_bytes()))
        .and_then(|()| stdout.flush())
    {
        Err(err) if err.kind() != io::ErrorKind::BrokenPipe => Err(Error::Stdout(err)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(colour(true, None));
        assert!(colour(true, Some("".as_ref())));
        assert!(!colour(false, None));
        assert!(!colour(true, Some("1".as_ref())));
    }
}
