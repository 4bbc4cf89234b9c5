//! `ssot-vault init [DIR]`: writes the vault template (embedded in the binary), a `.gitignore`,
//! a `.gitattributes` routing notes to the merge driver (`crate::team::register`), makes the
//! first git commit and registers the driver in `.git/config`. Refuses a folder that is not empty.

use std::path::PathBuf;

use super::{CliError, Ctx, Outcome};
use crate::fsutil;

/// What `init` ignores in git: the local sync state and temporary files, the files Obsidian (and
/// the plugins that keep per-device state) rewrite on their own while you work, Obsidian's trash
/// and the operating system's folder files. The audit log then records edits, not the app's
/// bookkeeping. Obsidian's settings (`app.json`, `core-plugins.json`, `templates.json`,
/// `types.json`, ...) stay in git: they change only when someone changes a setting.
pub const GITIGNORE: &str = "\
# ssot-vault: local sync state (rebuilt from git and the services) and temporary files
.ssot/
.ssot-tmp-*
# Obsidian rewrites these while you work: open tabs and panes (workspace.json,
# workspace-mobile.json), saved layouts (workspaces.json), the graph view's zoom and settings
.obsidian/workspace*.json
.obsidian/graph.json
# a metadata cache, where an Obsidian version or a plugin keeps one in the vault
.obsidian/cache
# plugin state that changes on every open: recently opened files, cursor positions
.obsidian/plugins/recent-files-obsidian/data.json
.obsidian/plugins/remember-cursor-position/cursor-positions.json
# notes deleted in Obsidian
.trash/
# operating system folder files
.DS_Store
Thumbs.db
desktop.ini
";

/// Arguments of `init`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The folder to create the vault in (default: the current folder). Must be empty or absent.
    pub dir: Option<PathBuf>,
}

/// Runs `init`.
pub fn run(_ctx: &Ctx, args: &Args) -> Result<Outcome, CliError> {
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => std::env::current_dir()?,
    };
    if dir.exists() {
        let mut entries = std::fs::read_dir(&dir).map_err(fsutil::io_err(&dir))?;
        if entries.next().is_some() {
            return Err(
                CliError::new(format!("{}: the folder is not empty", dir.display()))
                    .hint("give a new or empty folder: `ssot-vault init my-vault`"),
            );
        }
    }
    fsutil::create_dir_all(&dir)?;
    for (rel, bytes) in crate::template::FILES {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            fsutil::create_dir_all(parent)?;
        }
        fsutil::write_if_unchanged(&path, None, bytes)?;
    }
    fsutil::write_if_unchanged(&dir.join(".gitignore"), None, GITIGNORE.as_bytes())?;
    // Notes merge field by field when the vault is shared through a git remote.
    crate::team::register::write_attributes(&dir).map_err(super::pull::team_error)?;
    crate::history::init_repo(&dir, "Create the vault from the ssot-vault template")?;
    let exe = std::env::current_exe()?;
    crate::team::register::write_driver(&dir, &exe).map_err(super::pull::team_error)?;
    println!("created a vault in {}", dir.display());
    println!("next: cd {} && ssot-vault check", dir.display());
    Ok(Outcome::Ok)
}
