//! `ssot-vault commit`: commits every change of the vault with a field-level audit message and
//! the trailer `Ssot-Source: vault`.

use crate::history::{self, CommitRequest};

use super::{CliError, Ctx, Outcome};

/// Arguments of `commit`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The summary line (default: generated from the changes, e.g. `Update 2 notes: A, B`).
    #[arg(short, long, value_name = "MSG")]
    pub message: Option<String>,
}

/// Runs `commit`.
pub fn run(ctx: &Ctx, args: &Args) -> Result<Outcome, CliError> {
    let (root, _config) = ctx.open()?;
    let _lock = super::lock_vault(&root, "commit")?;
    let req = CommitRequest {
        message: args.message.clone(),
        source: "vault".into(),
        ..CommitRequest::default()
    };
    let info = history::commit(&root, &req)?;
    if ctx.json {
        println!("{}", serde_json::to_string_pretty(&info)?);
        return Ok(Outcome::Ok);
    }
    match info {
        Some(i) => println!("committed {}: {}", i.short_id, i.summary),
        None => println!("nothing to commit"),
    }
    Ok(Outcome::Ok)
}
