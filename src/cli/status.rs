//! `ssot-vault status`: the vault's uncommitted changes, note by note and field by field.

use crate::history::{self, NoteStatus};
use crate::text::escape_hidden;

use super::{CliError, Ctx, Outcome};

/// Arguments of `status`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `status`.
pub fn run(ctx: &Ctx, _args: &Args) -> Result<Outcome, CliError> {
    let (root, _config) = ctx.open()?;
    let changes = history::status(&root)?;
    if ctx.json {
        println!("{}", serde_json::to_string_pretty(&changes)?);
        return Ok(Outcome::Ok);
    }
    if changes.is_empty() {
        println!("nothing to commit");
        return Ok(Outcome::Ok);
    }
    print!("{}", render(ctx, &changes));
    Ok(Outcome::Ok)
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
