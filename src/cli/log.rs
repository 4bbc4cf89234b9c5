//! `ssot-vault log`: the field-level history of the vault or of one note: who changed which
//! field, from which system, when.

use std::path::{Path, PathBuf};

use crate::history::{self, ChangeKind, LogEntry};
use crate::text::escape_hidden;

use super::{CliError, Ctx, Outcome};

/// Arguments of `log`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A note: a path relative to the vault or to the current folder (`.md` may be left out).
    #[arg(value_name = "NOTE")]
    pub note: Option<PathBuf>,
    /// Only changes of this property.
    #[arg(long, value_name = "KEY")]
    pub field: Option<String>,
}

/// Runs `log`.
pub fn run(ctx: &Ctx, args: &Args) -> Result<Outcome, CliError> {
    let (root, config) = ctx.open()?;
    let note = match &args.note {
        Some(n) => Some(
            match super::find_note(&root, &config, &n.to_string_lossy()) {
                Ok(abs) => abs
                    .strip_prefix(&root)
                    .map(Path::to_path_buf)
                    .unwrap_or(abs),
                // A deleted note: its old path.
                Err(_) => resolve_note(&root, n)?,
            },
        ),
        None => None,
    };
    let entries = history::log(&root, note.as_deref(), args.field.as_deref())?;
    if ctx.json {
        println!("{}", serde_json::to_string_pretty(&entries)?);
        return Ok(Outcome::Ok);
    }
    if entries.is_empty() {
        println!("no recorded changes");
        return Ok(Outcome::Ok);
    }
    print!("{}", render(ctx, &entries, args.field.is_some()));
    Ok(Outcome::Ok)
}

/// The text form: per entry a header `<date> <author> (<source>) <commit>` and its changes.
pub fn render(ctx: &Ctx, entries: &[LogEntry], filtered: bool) -> String {
    let mut out = String::new();
    for (i, e) in entries.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&format!(
            "{} {} ({}) {}\n",
            e.short_date(),
            e.author,
            e.source,
            ctx.paint(&e.commit, "33")
        ));
        if !filtered && e.kind != ChangeKind::Modified {
            let shown = match &e.old_path {
                Some(old) => format!("{old} → {}", e.path),
                None => e.path.clone(),
            };
            let shown = escape_hidden(&shown);
            out.push_str(&format!("  {shown}: {}\n", e.kind.word()));
        }
        // Values and paths are shown, never acted on by the terminal (`crate::text`).
        let path = escape_hidden(&e.path);
        for c in &e.changes {
            out.push_str(&format!("  {path}: {}\n", escape_hidden(&c.describe())));
        }
        if let Some(b) = &e.body {
            out.push_str(&format!("  {path}: {}\n", b.describe()));
        }
        if let Some(u) = &e.unreadable {
            out.push_str(&format!("  {path}: unreadable: {}\n", escape_hidden(u)));
        }
        if let Some(run) = &e.run {
            out.push_str(&format!("  run: {run}\n"));
        }
        for t in &e.transitions {
            out.push_str(&format!("  transition: {t}\n"));
        }
    }
    out
}

/// The note's path relative to the vault: `arg` is tried relative to the current folder, then
/// to the vault (with `.md` added when it has no extension); a path that exists in neither (a
/// deleted note) is taken relative to the vault.
fn resolve_note(root: &Path, arg: &Path) -> Result<PathBuf, CliError> {
    let with_md = |p: &Path| -> PathBuf {
        if p.extension().is_none() {
            p.with_extension("md")
        } else {
            p.to_path_buf()
        }
    };
    let cwd = std::env::current_dir()?;
    let canon_root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let bases: Vec<PathBuf> = if arg.is_absolute() {
        vec![PathBuf::new()]
    } else {
        vec![cwd, root.to_path_buf()]
    };
    for base in &bases {
        for cand in [base.join(arg), with_md(&base.join(arg))] {
            if cand.is_file()
                && let Ok(c) = cand.canonicalize()
                && let Ok(rel) = c.strip_prefix(&canon_root)
            {
                return Ok(rel.to_path_buf());
            }
        }
    }
    if arg.is_absolute() {
        let rel = arg
            .strip_prefix(root)
            .or_else(|_| arg.strip_prefix(&canon_root))
            .map_err(|_| {
                CliError::new(format!(
                    "{}: not inside the vault {}",
                    arg.display(),
                    root.display()
                ))
            })?;
        return Ok(with_md(rel));
    }
    Ok(with_md(arg))
}
