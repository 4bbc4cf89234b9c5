//! `ssot-vault check`.

use super::{CliError, Ctx, Outcome};

/// Arguments of `check`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `check`.
pub fn run(_ctx: &Ctx, _args: &Args) -> Result<Outcome, CliError> {
    Err(CliError::new("not built yet"))
}
