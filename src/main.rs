//! The `obsboot` command.

use std::process::ExitCode;

use clap::Parser;

/// A render allocates and frees hundreds of thousands of small values (the platform's
/// manifests run to half a megabyte); mimalloc does that markedly faster than the system
/// allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = obsboot::cli::Cli::parse();
    obsboot::cli::init_tracing(&cli.global);
    match obsboot::cli::run(cli, obsboot_ec2::connect) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{}", obsboot::report::format(&err));
            ExitCode::from(err.exit_code())
        }
    }
}
