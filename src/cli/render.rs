//! `obsboot render`.

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use tracing::info;

use super::{StackArgs, print};
use crate::{Error, output, render};

const AFTER_HELP: &str = "\
Examples:
  obsboot render                          print every stack, with the ingress plan as a comment
  obsboot render | kubectl apply --server-side -f -
  obsboot render --stack bookinfo         only the Bookinfo stack
  obsboot render -o json | jq '.ingressRules'
  obsboot render --out-dir manifests/     one file per stack plus ingress-rules.yaml
  obsboot render --stacks my-stacks/      your own stack files (see `obsboot init`)

Nothing is contacted: no cluster, no AWS. Two renders of the same input are identical.";

/// Output formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    /// Multi-document YAML, the planned ingress rules in a comment header.
    Yaml,
    /// One JSON document: {"objects": [...], "ingressRules": [...], "closedPorts": [...]}.
    Json,
}

/// Arguments of `obsboot render`.
#[derive(Debug, Args)]
#[command(after_help = AFTER_HELP)]
pub struct RenderArgs {
    /// Which stacks and templates.
    #[command(flatten)]
    pub stacks: StackArgs,
    /// Who may connect (changes the ingress plan as bootstrap would).
    #[command(flatten)]
    pub sources: super::aws::SourceArgs,
    /// Output format on standard output.
    #[arg(short, long, value_enum, default_value_t = Format::Yaml)]
    pub output: Format,
    /// Write <stack>.yaml per stack and ingress-rules.yaml into DIR instead of printing.
    #[arg(long, value_name = "DIR", conflicts_with = "output")]
    pub out_dir: Option<PathBuf>,
}

pub fn run(args: &RenderArgs) -> Result<(), Error> {
    let source = args.stacks.source();
    let mut platform = source.load()?;
    args.sources.apply(&mut platform)?;
    let selected = platform.select(&args.stacks.only)?;
    let templates = args.stacks.template_set()?;
    let plan = render::render(&platform, &selected, &templates, &render::Slots::default())?;
    info!(
        "rendered {} objects from {} stacks ({source})",
        plan.objects.len(),
        plan.stacks.len()
    );
    match (&args.out_dir, args.output) {
        (Some(dir), _) => {
            let mut listing = String::new();
            for path in output::write_dir(&plan, dir)? {
                let _ = writeln!(listing, "{}", path.display());
            }
            print(&listing)
        }
        (None, Format::Yaml) => print(&output::to_yaml(&plan)?),
        (None, Format::Json) => print(&output::to_json(&plan)?),
    }
}
