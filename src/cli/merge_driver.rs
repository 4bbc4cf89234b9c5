//! `ssot-vault merge-driver %O %A %B %P`: git's merge driver for notes (registered by `init`,
//! or `doctor --fix`, in `.gitattributes` and `.git/config`). Merges the note field by field
//! (`crate::team::merge`), writes the result over `%A` atomically, and exits as git expects: 0
//! merged (a field changed on both sides is recorded in `sync_conflicts`, ours kept), 1 conflict
//! markers left in the body (or in the file, after git's text merge of a note that does not
//! parse or of a file that is not a note), 2 the files could not be read or written.

use std::path::PathBuf;

use super::{CliError, Ctx, Outcome};
use crate::team::merge::{merge_note, text_merge};

/// Arguments of `merge-driver` (git's placeholders).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// `%O`: the merge base's version (a temporary file).
    pub base: PathBuf,
    /// `%A`: our version (a temporary file), overwritten with the result.
    pub ours: PathBuf,
    /// `%B`: their version (a temporary file).
    pub theirs: PathBuf,
    /// `%P`: the file's path in the repository.
    pub path: String,
}

/// Runs `merge-driver`.
pub fn run(_ctx: &Ctx, args: &Args) -> Result<Outcome, CliError> {
    let base = crate::fsutil::read(&args.base)?;
    let ours = crate::fsutil::read(&args.ours)?;
    let theirs = crate::fsutil::read(&args.theirs)?;
    let is_note = std::path::Path::new(&args.path)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("md"));
    let merge_err =
        |e: crate::team::merge::MergeError| CliError::new(format!("{}: {e}", args.path));
    let (bytes, clean) = if is_note {
        let m = merge_note(&base, &ours, &theirs, &args.path).map_err(merge_err)?;
        if let Some(why) = &m.fallback {
            eprintln!("{}: merged as text ({why})", args.path);
        }
        if !m.field_conflicts.is_empty() {
            eprintln!(
                "{}: changed on both sides, ours kept, theirs recorded in sync_conflicts: {}",
                args.path,
                m.field_conflicts.join(", ")
            );
        }
        let clean = m.clean();
        (m.bytes, clean)
    } else {
        text_merge(&base, &ours, &theirs, &args.path).map_err(merge_err)?
    };
    crate::fsutil::write_atomic(&args.ours, &bytes)?;
    if clean {
        Ok(Outcome::Ok)
    } else {
        eprintln!(
            "{}: conflict markers left; fix them, then commit",
            args.path
        );
        Ok(Outcome::Problems)
    }
}
