//! `ssot-vault new <type> <NAME> [--set key=value]...`: a note from the type's template (the
//! vault's `Templates/<Type>.md`, else the built-in one) with a fresh `ssot_id` and `created`,
//! in the type's folder. Prints the new note's path.

use std::path::{Path, PathBuf};

use unicode_normalization::UnicodeNormalization;

use super::{CliError, Ctx, Outcome};
use crate::vault::editor::{Edit, apply};
use crate::vault::id::new_ulid;
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
    let schema = Schema::from_config(&config).map_err(|e| CliError::new(e.join("; ")))?;
    let ty = schema
        .get(&args.note_type)
        .ok_or_else(|| CliError::new("unknown type"))?;
    let stem = file_stem(&args.name).ok_or_else(|| {
        CliError::new(format!("`{}` leaves no usable file name", args.name))
            .hint("use letters or digits in the name")
    })?;
    let folder = config.folders.for_type(&args.note_type).unwrap_or(".");
    let dir = safe_join(&root, folder)?;
    crate::fsutil::create_dir_all(&dir)?;

    let tpl_name = crate::template::template_name(&args.note_type);
    let own = root.join(&config.vault.templates).join(&tpl_name);
    let template = match std::fs::read(&own) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(_) => crate::template::file(&format!("Templates/{tpl_name}"))
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_else(|| format!("---\ntype: {}\n---\n", args.note_type)),
    };
    let now = jiff::ZonedDateTime::now();
    let text = crate::template::fill_note(&template, &args.name, now.datetime());

    let mut edits = vec![
        Edit::Set("type".into(), Value::Str(args.note_type.clone())),
        Edit::Set("ssot_id".into(), Value::Str(new_ulid())),
        Edit::Set("created".into(), Value::Date(now.date())),
    ];
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
    let text = apply(&text, &edits)
        .map_err(|e| CliError::new(format!("{}: {e}", own.display())).hint("fix the template"))?
        .unwrap_or(text);
    // Validate before writing; warnings only (a new note is filled in afterwards).
    if let Ok(note) = Note::parse_text(text.clone())
        && let Some(fm) = &note.frontmatter
    {
        for p in schema.check(ty, fm) {
            eprintln!("warning: {}", p.message);
        }
    }
    let mut n = 1;
    let path = loop {
        let name = if n == 1 {
            format!("{stem}.md")
        } else {
            format!("{stem} {n}.md")
        };
        let path = dir.join(name);
        match crate::fsutil::write_if_unchanged(&path, None, text.as_bytes()) {
            Ok(()) => break path,
            Err(crate::fsutil::FsError::Changed { .. }) => n += 1,
            Err(e) => return Err(e.into()),
        }
        if n > 1000 {
            return Err(CliError::new("too many notes with this name"));
        }
    };
    let cwd = std::env::current_dir()?;
    let shown = path.strip_prefix(&cwd).unwrap_or(&path);
    println!("{}", shown.display());
    Ok(Outcome::Ok)
}

/// A file name from a note name: NFC, without `\ / : * ? " < > |`, control characters and
/// leading dots; `None` when nothing is left.
pub fn file_stem(name: &str) -> Option<String> {
    let cleaned: String = name
        .nfc()
        .filter(|c| {
            !matches!(c, '\\' | '/' | ':' | '*' | '?' | '"' | '<' | '>' | '|') && !c.is_control()
        })
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim().to_string();
    let cleaned: String = cleaned.chars().take(200).collect();
    (!cleaned.is_empty()).then_some(cleaned)
}

/// Joins a configured folder to the root, refusing anything that leaves the vault.
fn safe_join(root: &Path, folder: &str) -> Result<PathBuf, CliError> {
    let p = Path::new(folder);
    if p.is_absolute()
        || p.components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err(CliError::new(format!(
            "folder `{folder}` in ssot-vault.toml leaves the vault"
        ))
        .hint("use a folder inside the vault"));
    }
    Ok(root.join(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names() {
        assert_eq!(file_stem("Zażółć: a/b?").as_deref(), Some("Zażółć ab"));
        assert_eq!(file_stem("../..").as_deref(), None);
        assert_eq!(file_stem(".hidden").as_deref(), Some("hidden"));
        assert_eq!(file_stem("Zo\u{301}").as_deref(), Some("Z\u{f3}"));
    }
}
