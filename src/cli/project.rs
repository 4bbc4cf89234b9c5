//! `ssot-vault project accept|decline|activate|block|unblock|done PROJECT`: moves a project
//! through its lifecycle. Each move is judged by the transition table's guards (a refusal exits 1
//! with the reason and writes nothing) and committed with `Ssot-Transition: from→to`.

use super::{CliError, Ctx, Outcome};
use crate::workflow::notes;
use crate::workflow::project::{self, Moved};

/// Arguments of `project`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to do.
    #[command(subcommand)]
    pub action: Action,
}

/// The `project` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// The expert accepts: credentialing tasks are added, status credentialing.
    Accept {
        /// The project note: a path or a note name.
        project: String,
    },
    /// The expert declines: back to matching, the expert left out of its ranking from now on.
    Decline {
        /// The project note.
        project: String,
    },
    /// Credentialing is complete: status active.
    Activate {
        /// The project note.
        project: String,
    },
    /// Work stops: status blocked, with the reason.
    Block {
        /// The project note.
        project: String,
        /// Why the project is blocked (required).
        #[arg(long)]
        reason: String,
    },
    /// Work resumes: status active, blocked_reason emptied.
    Unblock {
        /// The project note.
        project: String,
    },
    /// Work is finished: status done.
    Done {
        /// The project note.
        project: String,
    },
}

/// Runs `project`.
pub fn run(ctx: &Ctx, args: &Args) -> Result<Outcome, CliError> {
    let (root, config) = ctx.open()?;
    let verb = match &args.action {
        Action::Accept { .. } => "accept",
        Action::Decline { .. } => "decline",
        Action::Activate { .. } => "activate",
        Action::Block { .. } => "block",
        Action::Unblock { .. } => "unblock",
        Action::Done { .. } => "done",
    };
    let _lock = super::lock_vault(&root, &format!("project {verb}"))?;
    let name = match &args.action {
        Action::Accept { project }
        | Action::Decline { project }
        | Action::Activate { project }
        | Action::Block { project, .. }
        | Action::Unblock { project }
        | Action::Done { project } => project,
    };
    let path = find_project(&root, &config, name)?;
    let l = notes::load(&path, Some("project"))?;
    let moved = match &args.action {
        Action::Accept { .. } => project::accept(&root, &config, &l)?,
        Action::Decline { .. } => project::decline(&root, &config, &l)?,
        Action::Activate { .. } => project::activate(&root, &config, &l)?,
        Action::Block { reason, .. } => project::block(&root, &config, &l, reason)?,
        Action::Unblock { .. } => project::unblock(&root, &config, &l)?,
        Action::Done { .. } => project::done(&root, &config, &l)?,
    };
    report(ctx, &root, &moved)?;
    Ok(Outcome::Ok)
}

/// Finds a project note: `<project folder>/<arg>.md` first (no vault walk), else as
/// [`super::find_note`] does.
pub fn find_project(
    root: &std::path::Path,
    config: &crate::config::Config,
    arg: &str,
) -> Result<std::path::PathBuf, CliError> {
    let name = arg.trim_end_matches(".md");
    if !name.contains(['/', '\\']) {
        let cand = root
            .join(&config.folders.project)
            .join(format!("{name}.md"));
        if cand.is_file() {
            return Ok(cand);
        }
    }
    super::find_note(root, config, arg)
}

/// Prints a move: the note, the steps, the effects the services will carry out, the commit.
pub fn report(ctx: &Ctx, root: &std::path::Path, m: &Moved) -> Result<(), CliError> {
    let rel = crate::vault::index::rel_of(root, &m.path);
    if ctx.json {
        let v = serde_json::json!({
            "note": rel,
            "from": m.from,
            "to": m.to,
            "transitions": m.labels(),
            "effects": m.effects().iter().map(|e| e.name()).collect::<Vec<_>>(),
            "commit": m.commit.as_ref().map(|c| c.short_id.clone()),
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    println!("{rel}: {} → {}", m.from, m.to);
    for t in &m.steps {
        let effects: Vec<&str> = t.effects.iter().map(|e| e.describe()).collect();
        if effects.is_empty() {
            println!("  transition {}", t.label());
        } else {
            println!(
                "  transition {} (services: {})",
                t.label(),
                effects.join(", ")
            );
        }
    }
    if let Some(c) = &m.commit {
        println!("commit {}", c.short_id);
    }
    Ok(())
}
