//! `ssot-vault set <NOTE> key=value... [key+=item]... [--remove KEY]...`: edits the properties of
//! any note with readable frontmatter, changing only the lines of the keys whose value changes.
//! Values of managed notes are typed and validated by the schema; a value that does not fit is
//! refused (exit 1) and the note is left as it is. A project's `status` moves only as the
//! lifecycle allows (judged like `check` judges a hand edit, from the status the note has): an
//! illegal move is refused (exit 1) with the reason and the commands that make it.

use super::{CliError, Ctx, Outcome};
use crate::vault::editor::Edit;
use crate::vault::input::{parse_item, parse_value};
use crate::vault::note::Note;
use crate::vault::schema::{Schema, Severity};
use crate::vault::{EditFileError, edit_file};
use crate::workflow::{audit, lifecycle};

/// Arguments of `set`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The note: a path (relative to the current folder or the vault) or a note name.
    pub note: String,
    /// `key=value` sets, `key+=item` appends to a list, `key=` empties. `ssot_id=new` makes an id.
    #[arg(value_name = "KEY=VALUE")]
    pub assignments: Vec<String>,
    /// Remove a property.
    #[arg(long = "remove", value_name = "KEY")]
    pub remove: Vec<String>,
}

/// Runs `set`.
pub fn run(ctx: &Ctx, args: &Args) -> Result<Outcome, CliError> {
    let (root, config) = ctx.open()?;
    let _lock = super::lock_vault(&root, "set")?;
    let schema = Schema::from_config(&config)?;
    if args.assignments.is_empty() && args.remove.is_empty() {
        return Err(CliError::new("nothing to set")
            .hint("give `key=value` pairs, e.g. `ssot-vault set Acme status=active`"));
    }
    let path = super::find_note(&root, &config, &args.note)?;
    let current = crate::vault::read_note(&path)?;
    let ty = current
        .frontmatter
        .as_ref()
        .and_then(|f| f.get_str("type"))
        .and_then(|t| schema.get(t));
    let mut edits = Vec::new();
    for a in &args.assignments {
        let (key, value, append) = match a.split_once('=') {
            Some((k, v)) if k.ends_with('+') => (k.trim_end_matches('+').trim(), v, true),
            Some((k, v)) => (k.trim(), v, false),
            None => {
                return Err(CliError::new(format!("`{a}` is not key=value"))
                    .hint("write `key=value`, `key+=item` or `key=`"));
            }
        };
        if key.is_empty() {
            return Err(CliError::new(format!("`{a}` has no key")));
        }
        let fty = ty.and_then(|t| t.field(key)).map(|f| &f.ty);
        let parsed = if append {
            parse_item(key, value, fty)
        } else {
            parse_value(key, value, fty)
        };
        let v =
            parsed.map_err(|m| CliError::problem(m).hint(super::error::hints::NOTE_UNCHANGED))?;
        edits.push(if append {
            Edit::Append(key.to_string(), v)
        } else {
            Edit::Set(key.to_string(), v)
        });
    }
    // A managed note keeps its required keys (a project's `status` among them): `key=` with a
    // value, never `--remove`.
    if let Some(ty) = ty
        && let Some(f) = args
            .remove
            .iter()
            .find_map(|k| ty.field(k).filter(|f| f.required))
    {
        return Err(CliError::problem(format!(
            "{}: `{}` is required in a {} note and cannot be removed",
            path.display(),
            f.name,
            ty.name
        ))
        .hint("the note is unchanged; set another value with `key=value`"));
    }
    edits.extend(args.remove.iter().map(|k| Edit::Remove(k.clone())));

    // Validate the result against the schema and the lifecycle before writing.
    let preview = crate::vault::editor::apply(&current.text, &edits).map_err(|source| {
        EditFileError::Edit {
            path: path.clone(),
            source,
        }
    })?;
    if let Some(text) = preview {
        let after = Note::parse_text(text).map_err(|source| EditFileError::Note {
            path: path.clone(),
            source,
        })?;
        if let (Some(ty), Some(fm)) = (ty, &after.frontmatter) {
            let touched: Vec<usize> = edits.iter().filter_map(|e| fm.line_of(e.key())).collect();
            let bad: Vec<String> = schema
                .check(ty, fm)
                .into_iter()
                .filter(|p| p.severity == Severity::Error && touched.contains(&p.line))
                .map(|p| p.message)
                .collect();
            if !bad.is_empty() {
                return Err(
                    CliError::problem(format!("{}: {}", path.display(), bad.join("; ")))
                        .hint(super::error::hints::NOTE_UNCHANGED),
                );
            }
        }
        if let Err(r) = audit::judge_edit(&root, &config, &path, &current, &after) {
            return Err(illegal_status(&path, &r));
        }
    }
    let edited = edit_file(&path, &edits)?;
    let rel = crate::vault::index::rel_of(&root, &path);
    match &edited.after {
        None => println!("{rel}: unchanged"),
        Some(after) => {
            println!("{rel}: updated");
            for e in &edits {
                let key = e.key();
                let old = edited.before.get(key);
                let new = after.get(key);
                if old != new {
                    let show = |v: Option<&crate::vault::value::Value>| {
                        v.map_or("(none)".to_string(), |v| v.to_string())
                    };
                    println!("  {key}: {} → {}", show(old), show(new));
                }
            }
        }
    }
    Ok(Outcome::Ok)
}

/// The refusal of a status change the lifecycle does not allow, with the commands that make it.
fn illegal_status(path: &std::path::Path, r: &lifecycle::Refusal) -> CliError {
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let quoted = |lines: Vec<String>| -> Vec<String> {
        lines.into_iter().map(|c| format!("`{c}`")).collect()
    };
    let hint = match lifecycle::way(r.from, r.to, &name) {
        Some(way) if !way.is_empty() => format!(
            "the note is unchanged; move the project with {} (each step checks its guards, makes its edits and is committed)",
            quoted(way).join(", then ")
        ),
        _ => {
            let next = quoted(
                lifecycle::from(r.from)
                    .map(|t| t.command_line(&name))
                    .collect(),
            );
            if next.is_empty() {
                format!("the note is unchanged; a {} project does not move", r.from)
            } else {
                format!(
                    "the note is unchanged; from {} the project moves with {}",
                    r.from,
                    next.join(" or ")
                )
            }
        }
    };
    CliError::problem(format!(
        "{}: status {}→{} is not allowed: {}",
        path.display(),
        r.from,
        r.to,
        r.message
    ))
    .hint(hint)
}
