//! `ssot-vault push`: pushes the vault's branch to the `[git] remote`; refused because someone
//! pushed meanwhile, it pulls (merging as `pull` does) and pushes again, a bounded number of
//! times (`crate::team::remote::push`). Under the vault lock.

use super::{CliError, Ctx, Outcome};

/// Arguments of `push`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `push`.
pub fn run(ctx: &Ctx, _args: &Args) -> Result<Outcome, CliError> {
    let (root, config) = ctx.open()?;
    let target = super::pull::target(&config)?;
    let _lock = super::lock_vault(&root, "push")?;
    let p = crate::team::push(&root, &target).map_err(super::pull::team_error)?;
    match (p.pushed, p.pulls) {
        (false, _) => println!("{} already has every commit", target.remote),
        (true, 0) => println!("pushed to {}", target.remote),
        (true, n) => println!(
            "pushed to {} after pulling and merging {n} time{}",
            target.remote,
            if n == 1 { "" } else { "s" }
        ),
    }
    Ok(Outcome::Ok)
}
