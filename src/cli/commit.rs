//! `ssot-vault commit`: commits every change of the vault with a field-level audit message and
//! the trailer `Ssot-Source: vault`. A project status changed by hand in a way the lifecycle
//! refuses (what `check` reports) is not committed (exit 1) unless `--allow-illegal` is given,
//! which marks the commit with one `Ssot-Illegal-Transition` trailer per such change.

use crate::history::{self, CommitRequest};
use crate::workflow::audit;

use super::{CliError, Ctx, Outcome};

/// Arguments of `commit`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The summary line (default: generated from the changes, e.g. `Update 2 notes: A, B`).
    #[arg(short, long, value_name = "MSG")]
    pub message: Option<String>,
    /// Commit status changes the lifecycle refuses too, marked `Ssot-Illegal-Transition`.
    #[arg(long)]
    pub allow_illegal: bool,
}

/// Runs `commit`.
pub fn run(ctx: &Ctx, args: &Args) -> Result<Outcome, CliError> {
    let (root, config) = ctx.open()?;
    let _lock = super::lock_vault(&root, "commit")?;
    let illegal = audit::uncommitted(&root, &config)?;
    if !illegal.is_empty() && !args.allow_illegal {
        let lines: Vec<String> = illegal
            .iter()
            .map(|c| {
                let p = c.problem();
                format!("  {}:{}:{}: {}", p.path, p.line, p.col, p.message)
            })
            .collect();
        let n = illegal.len();
        return Err(CliError::problem(format!(
            "nothing committed: {n} status change{} the lifecycle does not allow:\n{}",
            if n == 1 { "" } else { "s" },
            lines.join("\n")
        ))
        .hint(
            "move projects with the lifecycle's commands (`ssot-vault project …`, `match --assign`, `archive`) or put the status back; `ssot-vault commit --allow-illegal` records the change anyway, marked with an `Ssot-Illegal-Transition` trailer",
        ));
    }
    let req = CommitRequest {
        message: args.message.clone(),
        source: "vault".into(),
        trailers: illegal.iter().map(audit::IllegalChange::trailer).collect(),
        ..CommitRequest::default()
    };
    let info = history::commit(&root, &req)?;
    if ctx.json {
        println!("{}", serde_json::to_string_pretty(&info)?);
        return Ok(Outcome::Ok);
    }
    match info {
        Some(i) => {
            println!("committed {}: {}", i.short_id, i.summary);
            for c in &illegal {
                let (key, value) = c.trailer();
                println!("  {key}: {value}");
            }
        }
        None => println!("nothing to commit"),
    }
    Ok(Outcome::Ok)
}
