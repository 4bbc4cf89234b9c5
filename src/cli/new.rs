//! `ssot-vault new <type> <NAME> [--set key=value]...`: a note from the type's template (the
//! vault's `Templates/<Type>.md`, else the built-in one) with a fresh `ssot_id` and `created`,
//! in the type's folder. Prints the new note's path.

use super::{CliError, Ctx, Outcome};
use crate::vault::create::{self, CreateError};
use crate::vault::editor::Edit;
use crate::vault::input::parse_value;
use crate::vault::note::Note;
use crate::vault::schema::Schema;
use crate::vault::value::Value;

/// Arguments of `new`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The note type.
    #[arg(value_parser = ["client", "expert", "project", "ticket", "intake"])]
    pub note_type: String,
    /// The note's name (its file name; diacritics are kept).
    pub name: String,
    /// Properties to fill, `key=value` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

/// Runs `new`.
pub fn run(ctx: &Ctx, args: &Args) -> Result<Outcome, CliError> {
    let (root, config) = ctx.open()?;
    let _lock = super::lock_vault(&root, "new")?;
    let schema = Schema::from_config(&config)?;
    let ty = schema
        .get(&args.note_type)
        .ok_or_else(|| CliError::new("unknown type"))?;
    let mut edits = Vec::new();
    if matches!(args.note_type.as_str(), "client" | "expert") {
        edits.push(Edit::Set("name".into(), Value::Str(args.name.clone())));
    }
    for a in &args.set {
        let (k, v) = a.split_once('=').ok_or_else(|| {
            CliError::new(format!("`{a}` is not key=value")).hint("write --set key=value")
        })?;
        let k = k.trim();
        let fty = ty.field(k).map(|f| &f.ty);
        edits.push(Edit::Set(
            k.to_string(),
            parse_value(k, v, fty).map_err(CliError::problem)?,
        ));
    }
    let dir = create::type_folder(&root, &config, &args.note_type)?;
    if create::file_stem(&args.name).is_none() {
        return Err(CreateError::BadName(args.name.clone()).into());
    }
    let text = create::note_text(&root, &config, &args.note_type, &args.name, &edits, None)?;
    // Validate before writing; warnings only (a new note is filled in afterwards).
    if let Ok(note) = Note::parse_text(text.clone())
        && let Some(fm) = &note.frontmatter
    {
        for p in schema.check(ty, fm) {
            eprintln!("warning: {}", p.message);
        }
    }
    let path = create::write_new(&dir, &args.name, &text)?;
    let cwd = std::env::current_dir()?;
    let shown = path.strip_prefix(&cwd).unwrap_or(&path);
    println!("{}", shown.display());
    Ok(Outcome::Ok)
}
