//! `ssot-vault pull`: fetches the `[git] remote`'s branch and merges it into the vault, notes
//! changed on both sides merged by the merge driver's code (`crate::team::remote::pull`). Under
//! the vault lock. Refuses uncommitted edits and a merge in progress (exit 2); a body conflict
//! changes nothing (exit 1).

use super::{CliError, Ctx, Outcome};
use crate::team::{Pulled, Target, TeamError};

/// Arguments of `pull`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// The `[git] remote` of the configuration, or the error saying how to set it.
pub(super) fn target(config: &crate::config::Config) -> Result<Target, CliError> {
    Target::from_config(config).ok_or_else(|| {
        CliError::new("no git remote configured for the vault")
            .hint("add `[git]` with `remote = \"origin\"` to ssot-vault.toml (and `git remote add origin URL`)")
    })
}

/// A team error as the command line reports it.
pub(super) fn team_error(e: TeamError) -> CliError {
    let hint = match &e {
        TeamError::Uncommitted { .. } => "commit them first (`ssot-vault commit`), then pull again",
        TeamError::MergeInProgress => {
            "finish it (fix the markers, `git commit`) or drop it (`git merge --abort`)"
        }
        TeamError::Conflicts { .. } => {
            "run `git pull` in the vault: the merge driver merges the properties and leaves git's markers in the bodies only; fix them and `git commit`"
        }
        TeamError::NoRemote { .. } => "add it: `git remote add origin URL`",
        TeamError::OtherBranch { .. } => {
            "check out that branch (`git switch NAME`), or change `branch` in ssot-vault.toml"
        }
        _ => "",
    };
    let err = match &e {
        TeamError::Conflicts { .. } => CliError::problem(e.to_string()),
        _ => CliError::new(e.to_string()),
    };
    if hint.is_empty() { err } else { err.hint(hint) }
}

/// Runs `pull`.
pub fn run(ctx: &Ctx, _args: &Args) -> Result<Outcome, CliError> {
    let (root, config) = ctx.open()?;
    let target = target(&config)?;
    let _lock = super::lock_vault(&root, "pull")?;
    match crate::team::pull(&root, &target).map_err(team_error)? {
        Pulled::UpToDate => println!("already up to date with {}", target.remote),
        Pulled::FastForward(c) => println!("fast-forwarded to {c} from {}", target.remote),
        Pulled::Merged { commit, notes } => {
            println!("merged {} in commit {commit}", target.remote);
            for (p, keys) in notes {
                println!(
                    "{p}: changed on both sides, ours kept, theirs recorded in sync_conflicts: {}",
                    keys.join(", ")
                );
            }
        }
    }
    Ok(Outcome::Ok)
}
