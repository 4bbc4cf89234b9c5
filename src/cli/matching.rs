//! `ssot-vault match PROJECT [--top N] [--json] [--assign EXPERT]`: ranks the experts for a
//! project with every score component shown; `--assign` proposes one (`expert`,
//! `expert_status: proposed`, `status: proposed`) and commits the transition.

use super::{CliError, Ctx, Outcome};
use crate::vault::index::name_key;
use crate::workflow::matching;
use crate::workflow::notes;

/// Arguments of `match`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project note: a path or a note name.
    pub project: String,
    /// Show only the best N experts.
    #[arg(long, value_name = "N")]
    pub top: Option<usize>,
    /// Propose this expert for the project (a note name).
    #[arg(long, value_name = "EXPERT")]
    pub assign: Option<String>,
}

/// Runs `match`.
pub fn run(ctx: &Ctx, args: &Args) -> Result<Outcome, CliError> {
    let (root, config) = ctx.open()?;
    // Only `--assign` writes: a plain ranking reads and takes no lock.
    let _lock = match &args.assign {
        Some(_) => Some(super::lock_vault(&root, "match --assign")?),
        None => None,
    };
    let path = super::project::find_project(&root, &config, &args.project)?;
    let l = notes::load(&path, Some("project"))?;
    let card = matching::project_card(&path, &root, &l.note);
    let pool = matching::load(&root, &config)?;
    for (p, why) in &pool.unreadable {
        eprintln!("warning: {p}: {why}; left out");
    }
    let ranking = matching::rank(&pool, &card);
    if let Some(expert) = &args.assign {
        let arg = expert.trim().trim_end_matches(".md");
        let key = name_key(arg.rsplit('/').next().unwrap_or(arg));
        if let Some(x) = ranking.excluded.iter().find(|x| name_key(&x.expert) == key) {
            return Err(CliError::problem(format!(
                "{} is left out of the ranking of {}: {}",
                x.expert, ranking.project, x.reason
            ))
            .hint("propose another expert; `ssot-vault match` lists them"));
        }
        let Some(c) = ranking
            .candidates
            .iter()
            .find(|c| name_key(&c.expert) == key)
        else {
            return Err(CliError::problem(format!(
                "no expert `{expert}` in {}/",
                config.folders.expert
            ))
            .hint("give the expert note's name as `ssot-vault match` lists it"));
        };
        let moved = crate::workflow::project::assign(&root, &config, &l, &c.expert)?;
        println!(
            "{} proposed: rank {} of {}, {}/100",
            c.expert,
            c.rank,
            ranking.candidates.len(),
            c.score
        );
        super::project::report(ctx, &root, &moved)?;
        return Ok(Outcome::Ok);
    }
    if ctx.json {
        let mut r = ranking.clone();
        if let Some(n) = args.top {
            r.candidates.truncate(n);
        }
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        print!("{}", matching::render(&ranking, args.top));
    }
    Ok(Outcome::Ok)
}
