//! `ssot-vault archive PROJECT`: exports a done project (CSV and XML under
//! `Archive/<project>/`), moves its notes there and sets `status: archived`, in one commit.

use super::{CliError, Ctx, Outcome};

/// Arguments of `archive`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project note: a path or a note name.
    pub project: String,
}

/// Runs `archive`.
pub fn run(ctx: &Ctx, args: &Args) -> Result<Outcome, CliError> {
    let (root, config) = ctx.open()?;
    let _lock = super::lock_vault(&root, "archive")?;
    let path = super::project::find_project(&root, &config, &args.project)?;
    let a = crate::workflow::archive::archive(&root, &config, &path)?;
    let rel = |p: &std::path::Path| crate::vault::index::rel_of(&root, p);
    if ctx.json {
        println!("{}", serde_json::to_string_pretty(&a.bundle)?);
        return Ok(Outcome::Ok);
    }
    println!("exported {} and {}", rel(&a.csv), rel(&a.xml));
    for (from, to) in &a.moved {
        println!("moved {from} → {to}");
    }
    for t in &a.steps {
        let effects: Vec<&str> = t.effects.iter().map(|e| e.describe()).collect();
        println!(
            "  transition {} (services: {})",
            t.label(),
            effects.join(", ")
        );
    }
    if let Some(c) = &a.commit {
        println!("commit {}", c.short_id);
    }
    Ok(Outcome::Ok)
}
