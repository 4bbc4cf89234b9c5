//! `ssot-vault generate DIR [--notes N] [--seed S] [--git]` (hidden): writes a realistic vault of
//! N notes, the same for the same seed, for benchmarks and demos. Refuses a folder that is not
//! empty.

use std::path::PathBuf;
use std::time::Instant;

use super::{CliError, Ctx, Outcome};
use crate::r#gen::{GenOptions, generate};

/// Arguments of `generate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The folder to create the vault in. Must be empty or absent.
    pub dir: PathBuf,
    /// How many notes to generate (about 15% clients, 15% experts, 45% projects, 25% tickets).
    #[arg(long, default_value_t = 10_000)]
    pub notes: usize,
    /// The seed: the same seed gives the same vault, byte for byte.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Make a first git commit of the generated vault.
    #[arg(long)]
    pub git: bool,
}

/// Runs `generate`.
pub fn run(_ctx: &Ctx, args: &Args) -> Result<Outcome, CliError> {
    if args.dir.exists() {
        let mut entries = std::fs::read_dir(&args.dir).map_err(crate::fsutil::io_err(&args.dir))?;
        if entries.next().is_some() {
            return Err(
                CliError::new(format!("{}: the folder is not empty", args.dir.display()))
                    .hint("give a new or empty folder: `ssot-vault generate /tmp/big-vault`"),
            );
        }
    }
    let started = Instant::now();
    let opts = GenOptions {
        notes: args.notes,
        seed: args.seed,
        with_git: args.git,
    };
    let stats = generate(&args.dir, &opts)?;
    println!(
        "generated {} notes in {} ({} clients, {} experts, {} projects, {} tickets; {} files, {:.1} MB) in {:.1?}",
        args.notes,
        args.dir.display(),
        stats.clients,
        stats.experts,
        stats.projects,
        stats.tickets,
        stats.files,
        stats.bytes as f64 / 1e6,
        started.elapsed()
    );
    if let Some(c) = &stats.commit {
        println!("committed {c}");
    }
    Ok(Outcome::Ok)
}
