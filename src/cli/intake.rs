//! `ssot-vault intake accept NOTE`: turns an intake into a project (and finds or makes its
//! client), in one commit.

use super::{CliError, Ctx, Outcome};

/// Arguments of `intake`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to do.
    #[command(subcommand)]
    pub action: Action,
}

/// The `intake` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Accept a new intake: find the client by e-mail (or make one) and make the project.
    Accept {
        /// The intake note: a path or a note name.
        note: String,
    },
}

/// Runs `intake`.
pub fn run(ctx: &Ctx, args: &Args) -> Result<Outcome, CliError> {
    let (root, config) = ctx.open()?;
    let _lock = super::lock_vault(&root, "intake accept")?;
    match &args.action {
        Action::Accept { note } => {
            let path = super::find_note(&root, &config, note)?;
            let a = crate::workflow::intake::accept(&root, &config, &path)?;
            let rel = |p: &std::path::Path| crate::vault::index::rel_of(&root, p);
            println!(
                "client: {} ({})",
                rel(&a.client),
                if a.client_created {
                    "new"
                } else {
                    "found by e-mail"
                }
            );
            println!("project: {} (status: intake)", rel(&a.project));
            if let Some(c) = &a.commit {
                println!("commit {}", c.short_id);
            }
            Ok(Outcome::Ok)
        }
    }
}
