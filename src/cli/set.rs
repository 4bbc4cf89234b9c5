//! `ssot-vault set`.

use super::{CliError, Ctx, Outcome};

/// Arguments of `set`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `set`.
pub fn run(_ctx: &Ctx, _args: &Args) -> Result<Outcome, CliError> {
    Err(CliError::new("not built yet"))
}
