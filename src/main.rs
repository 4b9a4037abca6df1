//! The `obsboot` command.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = obsboot::cli::Cli::parse();
    obsboot::cli::init_tracing(&cli.global);
    match obsboot::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{}", obsboot::report::format(&err));
            ExitCode::FAILURE
        }
    }
}
