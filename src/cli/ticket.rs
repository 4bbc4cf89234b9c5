//! `ssot-vault ticket new|reply|close`: helpdesk tickets on a project, with a `## Conversation`
//! of timestamped messages; each change is committed.

use super::{CliError, Ctx, Outcome};
use crate::workflow::ticket::{self, Party};

/// Arguments of `ticket`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to do.
    #[command(subcommand)]
    pub action: Action,
}

/// The `ticket` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Open a ticket on a project with its first message.
    New {
        /// The project note: a path or a note name.
        project: String,
        /// Who opens it.
        #[arg(long, value_enum)]
        from: Party,
        /// The subject (also the ticket note's name).
        #[arg(long)]
        subject: String,
        /// The first message.
        #[arg(long, short)]
        message: String,
        /// The author's name (default: the project's client or expert).
        #[arg(long)]
        author: Option<String>,
    },
    /// Add a message to a ticket's conversation.
    Reply {
        /// The ticket note.
        ticket: String,
        /// Who writes.
        #[arg(long, value_enum, default_value = "team")]
        from: Party,
        /// The message.
        #[arg(long, short)]
        message: String,
        /// The author's name.
        #[arg(long)]
        author: Option<String>,
    },
    /// Close a ticket.
    Close {
        /// The ticket note.
        ticket: String,
    },
}

/// Runs `ticket`.
pub fn run(ctx: &Ctx, args: &Args) -> Result<Outcome, CliError> {
    let (root, config) = ctx.open()?;
    let verb = match &args.action {
        Action::New { .. } => "new",
        Action::Reply { .. } => "reply",
        Action::Close { .. } => "close",
    };
    let _lock = super::lock_vault(&root, &format!("ticket {verb}"))?;
    let rel = |p: &std::path::Path| crate::vault::index::rel_of(&root, p);
    match &args.action {
        Action::New {
            project,
            from,
            subject,
            message,
            author,
        } => {
            let p = super::project::find_project(&root, &config, project)?;
            let t = ticket::open(
                &root,
                &config,
                &p,
                *from,
                subject,
                message,
                author.as_deref(),
            )?;
            println!("{}: open", rel(&t));
        }
        Action::Reply {
            ticket: name,
            from,
            message,
            author,
        } => {
            let p = super::find_note(&root, &config, name)?;
            let (before, after) =
                ticket::reply(&root, &config, &p, *from, author.as_deref(), message)?;
            println!("{}: {before} → {after}", rel(&p));
        }
        Action::Close { ticket: name } => {
            let p = super::find_note(&root, &config, name)?;
            ticket::close(&root, &config, &p)?;
            println!("{}: closed", rel(&p));
        }
    }
    Ok(Outcome::Ok)
}
