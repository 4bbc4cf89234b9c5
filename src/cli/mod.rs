//! The command line: global options, one file per subcommand (`Args` + `run`), and the one error
//! type with hints that the binary maps to exit codes ([`error`]: every library error converts
//! into it with `?`, its code and hint decided there).
//!
//! Exit codes: 0 success; 1 problems found (e.g. `check` found invalid notes, an edit was refused
//! by the schema); 2 error (bad usage, unreadable vault or configuration, I/O failure, the vault
//! busy: another command holds the vault lock, see `crate::lock`).

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::{self, Config};

pub use error::CliError;

pub mod archive;
pub mod auth;
pub mod check;
pub mod commit;
pub mod demo;
pub mod doctor;
pub mod error;
#[cfg(feature = "gen")]
pub mod generate;
pub mod init;
pub mod intake;
pub mod log;
pub mod matching;
pub mod merge_driver;
pub mod new;
pub mod project;
pub mod pull;
pub mod push;
pub mod resolve;
pub mod sandbox;
pub mod set;
pub mod status;
pub mod sync;
pub mod ticket;
pub mod watch;

/// ssot-vault: the Obsidian vault as the single source of truth of a consultancy.
#[derive(Debug, Parser)]
#[command(name = "ssot-vault", version, about, long_about = None)]
pub struct Cli {
    /// The vault folder (default: the current folder or the nearest parent holding ssot-vault.toml).
    #[arg(long, global = true, env = "SSOT_VAULT", value_name = "DIR")]
    pub vault: Option<PathBuf>,
    /// Print data as JSON (for commands whose output is data).
    #[arg(long, global = true)]
    pub json: bool,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new vault from the template, with git history.
    Init(init::Args),
    /// Create a note of a type from its template.
    New(new::Args),
    /// Set, append to or remove properties of a note, keeping its formatting.
    Set(set::Args),
    /// Validate every note; print one line per problem.
    Check(check::Args),
    /// Show uncommitted changes, field by field.
    Status(status::Args),
    /// Commit the vault's changes with a field-level audit message.
    Commit(commit::Args),
    /// Show the field-level history of the vault or of one note.
    Log(log::Args),
    /// Serve the local emulators of the services (for demos and tests).
    Sandbox(sandbox::Args),
    /// Accept an intake: find or make the client, make the project.
    Intake(intake::Args),
    /// Rank the experts for a project, each score explained; --assign proposes one.
    #[command(name = "match")]
    Match(matching::Args),
    /// Move a project through its lifecycle (accept, decline, activate, block, unblock, done).
    Project(project::Args),
    /// Helpdesk tickets: new, reply, close.
    Ticket(ticket::Args),
    /// Export a done project to Archive/ (CSV and XML) and move its notes there.
    Archive(archive::Args),
    /// Generate a realistic vault of N notes, for benchmarks and demos.
    #[cfg(feature = "gen")]
    #[command(hide = true)]
    Generate(generate::Args),
    /// Keep the vault and the enabled services in step, both ways.
    Sync(sync::Args),
    /// Settle a sync conflict recorded in a note.
    Resolve(resolve::Args),
    /// Show the whole product offline: a sample vault synced with the in-process sandbox.
    Demo(demo::Args),
    /// Watch the vault and the services: push each saved note, poll each service (a daemon).
    Watch(watch::Args),
    /// Check configuration, credentials, each enabled service and git.
    Doctor(doctor::Args),
    /// Fetch the `[git] remote`'s branch and merge it, notes merged field by field.
    Pull(pull::Args),
    /// Push to the `[git] remote`; refused because someone pushed meanwhile: pull, merge, push.
    Push(push::Args),
    /// Git's merge driver for notes (registered by `init`): `merge-driver %O %A %B %P`.
    #[command(name = "merge-driver")]
    MergeDriver(merge_driver::Args),
    /// Keep a service's token in the OS keyring: set (from stdin), status, remove.
    Auth(auth::Args),
}

/// What a successful command reports to the shell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Ok,
    /// Exit 1: the command ran and found problems.
    Problems,
}

/// Takes the vault lock for a command that writes notes or commits (see `crate::lock`), before
/// it changes anything; a lock left by a command that was killed is taken over with a warning.
/// Exits 2 at once, naming the holder, when another command holds it.
pub fn lock_vault(
    root: &std::path::Path,
    command: &str,
) -> Result<crate::lock::VaultLock, CliError> {
    let lock = crate::lock::VaultLock::acquire(root, command)?;
    if let Some(h) = lock.took_over() {
        eprintln!(
            "warning: took over the vault lock left by {h}, which ended without letting go (killed or crashed); run `ssot-vault check` and `ssot-vault status` if it was writing"
        );
        // Killed between a write and its rename, it left a temporary file beside the note.
        for p in crate::fsutil::remove_left_temps(root) {
            eprintln!(
                "warning: removed {}, a temporary file left by that command (the note itself is whole)",
                p.display()
            );
        }
        // Killed in the middle of a commit, it left git's lock files: they are ours to remove.
        if let Ok(since) = h.since.parse::<jiff::Timestamp>()
            && let Ok(secs) = u64::try_from(since.as_second())
        {
            let since = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
            for p in crate::history::locks::clear_abandoned(root, since) {
                eprintln!(
                    "warning: removed {}, left by that command in the middle of a git commit",
                    p.display()
                );
            }
        }
    }
    Ok(lock)
}

/// What every command gets: the global options.
#[derive(Debug)]
pub struct Ctx {
    /// `--vault`.
    pub vault: Option<PathBuf>,
    /// `--json`.
    pub json: bool,
    /// Colours on stdout.
    pub color: bool,
}

impl Ctx {
    /// The vault root.
    pub fn root(&self) -> Result<PathBuf, CliError> {
        match &self.vault {
            // An explicit folder is the vault, with or without a configuration file.
            Some(v) if v.is_dir() => Ok(std::path::absolute(v)?),
            Some(v) => Err(CliError::new(format!("{}: no such folder", v.display()))
                .hint("pass the vault's folder with --vault DIR")),
            None => Ok(config::find_root(&std::env::current_dir()?)?),
        }
    }

    /// The vault root and its configuration.
    pub fn open(&self) -> Result<(PathBuf, Config), CliError> {
        let root = self.root()?;
        let config = Config::load(&root)?;
        Ok((root, config))
    }

    /// Wraps `s` in an ANSI colour when colours are on.
    pub fn paint(&self, s: &str, code: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
}

/// Runs the command line; returns the exit code.
pub fn run(cli: Cli) -> u8 {
    let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::io::stdout().is_terminal();
    let ctx = Ctx {
        vault: cli.vault,
        json: cli.json,
        color,
    };
    let result = match &cli.command {
        Command::Init(a) => init::run(&ctx, a),
        Command::New(a) => new::run(&ctx, a),
        Command::Set(a) => set::run(&ctx, a),
        Command::Check(a) => check::run(&ctx, a),
        Command::Status(a) => status::run(&ctx, a),
        Command::Commit(a) => commit::run(&ctx, a),
        Command::Log(a) => log::run(&ctx, a),
        Command::Sandbox(a) => sandbox::run(&ctx, a),
        Command::Intake(a) => intake::run(&ctx, a),
        Command::Match(a) => matching::run(&ctx, a),
        Command::Project(a) => project::run(&ctx, a),
        Command::Ticket(a) => ticket::run(&ctx, a),
        Command::Archive(a) => archive::run(&ctx, a),
        #[cfg(feature = "gen")]
        Command::Generate(a) => generate::run(&ctx, a),
        Command::Sync(a) => sync::run(&ctx, a),
        Command::Resolve(a) => resolve::run(&ctx, a),
        Command::Demo(a) => demo::run(&ctx, a),
        Command::Watch(a) => watch::run(&ctx, a),
        Command::Doctor(a) => doctor::run(&ctx, a),
        Command::Pull(a) => pull::run(&ctx, a),
        Command::Push(a) => push::run(&ctx, a),
        Command::MergeDriver(a) => merge_driver::run(&ctx, a),
        Command::Auth(a) => auth::run(&ctx, a),
    };
    match result {
        Ok(Outcome::Ok) => 0,
        Ok(Outcome::Problems) => 1,
        Err(e) => {
            let prefix = if std::io::stderr().is_terminal() && color {
                "\x1b[31merror\x1b[0m"
            } else {
                "error"
            };
            eprintln!("{prefix}: {e}");
            e.code
        }
    }
}

/// Finds the note named on the command line: an existing path first, else a name in the vault.
pub fn find_note(root: &std::path::Path, config: &Config, arg: &str) -> Result<PathBuf, CliError> {
    let cwd = std::env::current_dir()?;
    for base in [cwd.as_path(), root] {
        for cand in [base.join(arg), base.join(format!("{arg}.md"))] {
            if cand.is_file() {
                return Ok(cand);
            }
        }
    }
    let index = crate::vault::index::Index::build(root, config);
    match index.find(arg, &cwd) {
        Some(i) => Ok(index.entries[i].path.clone()),
        None => Err(
            CliError::new(format!("no note `{arg}` in the vault {}", root.display()))
                .hint("give the note's path or its exact name"),
        ),
    }
}
