//! `ssot-vault log` (being built in the history module).

use super::{CliError, Ctx, Outcome};

/// Arguments of `log`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `log`.
pub fn run(_ctx: &Ctx, _args: &Args) -> Result<Outcome, CliError> {
    Err(CliError::new("not built yet"))
}
