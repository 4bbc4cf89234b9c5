//! `ssot-vault status`: the vault's uncommitted changes, note by note and field by field, then the
//! notes holding `sync_errors` (what a service refused in its last run).

use crate::history::{self, NoteStatus};
use crate::text::escape_hidden;

use super::{CliError, Ctx, Outcome};

/// Arguments of `status`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `status`.
pub fn run(ctx: &Ctx, _args: &Args) -> Result<Outcome, CliError> {
    let (root, config) = ctx.open()?;
    let changes = history::status(&root)?;
    if ctx.json {
        println!("{}", serde_json::to_string_pretty(&changes)?);
        return Ok(Outcome::Ok);
    }
    if changes.is_empty() {
        println!("nothing to commit");
    } else {
        print!("{}", render(ctx, &changes));
    }
    print!("{}", render_errors(ctx, &sync_errors(&root, &config)));
    Ok(Outcome::Ok)
}

/// The notes holding `sync_errors` (what a service refused in its last run), with their entries,
/// by path. Only the notes whose text names the key are parsed.
pub fn sync_errors(
    root: &std::path::Path,
    config: &crate::config::Config,
) -> Vec<(String, Vec<String>)> {
    let key = crate::sync::apply::ERRORS_KEY;
    let needle = format!("\n{key}:");
    let walk = crate::vault::index::walk(root, config);
    let found = crate::par::map(&walk.notes, 0, 256, |(rel, path)| {
        let bytes = std::fs::read(path).ok()?;
        if !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
            return None;
        }
        let note = crate::vault::note::Note::parse(&bytes).ok()?;
        let entries: Vec<String> = note.get(key)?.strings();
        (!entries.is_empty()).then(|| (rel.clone(), entries))
    });
    found.into_iter().flatten().collect()
}

/// The text form of [`sync_errors`]: a heading, then each note and its entries; empty when none.
pub fn render_errors(ctx: &Ctx, notes: &[(String, Vec<String>)]) -> String {
    if notes.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "{} (sync_errors; the next sync tries again):\n",
        ctx.paint("refused by a service", "31")
    );
    for (rel, entries) in notes {
        out.push_str(&format!("{}\n", escape_hidden(rel)));
        for e in entries {
            out.push_str(&format!("  {}\n", escape_hidden(e)));
        }
    }
    out
}

/// The text form: `M path` then the changes, indented.
pub fn render(ctx: &Ctx, changes: &[NoteStatus]) -> String {
    let mut out = String::new();
    for c in changes {
        let letter = c.kind.letter().to_string();
        let colour = match c.kind {
            history::ChangeKind::Added => "32",
            history::ChangeKind::Modified => "33",
            history::ChangeKind::Deleted => "31",
            history::ChangeKind::Renamed => "36",
        };
        out.push_str(&format!(
            "{} {}\n",
            ctx.paint(&letter, colour),
            escape_hidden(&c.display_path())
        ));
        if let Some(d) = &c.diff
            && c.kind != history::ChangeKind::Deleted
        {
            // Values are shown, never acted on by the terminal (`crate::text`).
            for line in d.lines().iter().map(|l| escape_hidden(l)) {
                let line = match line.strip_prefix("unreadable: ") {
                    Some(rest) => format!("{}: {rest}", ctx.paint("unreadable", "31")),
                    None => line,
                };
                out.push_str(&format!("  {line}\n"));
            }
        }
    }
    out
}
