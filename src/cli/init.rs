//! `ssot-vault init`.

use super::{CliError, Ctx, Outcome};

/// Arguments of `init`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `init`.
pub fn run(_ctx: &Ctx, _args: &Args) -> Result<Outcome, CliError> {
    Err(CliError::new("not built yet"))
}
