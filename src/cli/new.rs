//! `ssot-vault new`.

use super::{CliError, Ctx, Outcome};

/// Arguments of `new`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `new`.
pub fn run(_ctx: &Ctx, _args: &Args) -> Result<Outcome, CliError> {
    Err(CliError::new("not built yet"))
}
