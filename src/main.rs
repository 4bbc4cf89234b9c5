//! The `ssot-vault` binary: parses the command line and hands it to the library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = ssot_vault::cli::Cli::parse();
    std::process::ExitCode::from(ssot_vault::cli::run(cli))
}
