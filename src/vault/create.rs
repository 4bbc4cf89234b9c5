//! Creating a managed note: from the type's template (the vault's `Templates/<Type>.md`, else the
//! built-in one), with placeholders filled, a new `ssot_id` and `created`, in the type's folder,
//! under a file name made from the note's name that never overwrites another note.

use std::path::{Component, Path, PathBuf};

use unicode_normalization::UnicodeNormalization;

use crate::config::Config;

use super::editor::{Edit, EditError, apply};
use super::value::Value;

/// Why a note could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    /// The name leaves no usable file name.
    #[error("`{0}` leaves no usable file name: use letters or digits in the name")]
    BadName(String),
    /// The configured folder is outside the vault.
    #[error("folder `{0}` in ssot-vault.toml leaves the vault: use a folder inside it")]
    FolderOutside(String),
    /// The template does not take the edits.
    #[error("{}: {source}", path.display())]
    Template {
        /// The template used.
        path: PathBuf,
        /// Why.
        source: EditError,
    },
    /// Writing failed.
    #[error(transparent)]
    Fs(#[from] crate::fsutil::FsError),
}

/// The most bytes a file stem may have: the 255 bytes file systems allow in a name, less `.md`
/// and the longest clash suffix [`write_new`] tries (` 1000`).
pub const MAX_STEM_BYTES: usize = 255 - ".md".len() - " 1000".len();

/// The most characters a file stem keeps.
const MAX_STEM_CHARS: usize = 200;

/// A file name from a note name: NFC, without `\ / : * ? " < > |`, control characters, bidi
/// controls and leading dots; cut to [`MAX_STEM_BYTES`] bytes (on a character boundary) and 200
/// characters; without trailing dots and spaces, and a name Windows reserves (`CON`, `nul.md`,
/// `COM1`, …) gets a `_` after the reserved word (`CON_`, `nul_.md`), since vaults are opened on
/// Windows too. `None` when nothing is left.
pub fn file_stem(name: &str) -> Option<String> {
    let cleaned: String = name
        .nfc()
        .filter(|c| {
            !matches!(c, '\\' | '/' | ':' | '*' | '?' | '"' | '<' | '>' | '|')
                && !crate::text::is_hidden(*c)
        })
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim();
    let mut end = 0;
    for (n, (i, c)) in cleaned.char_indices().enumerate() {
        if n == MAX_STEM_CHARS || i + c.len_utf8() > MAX_STEM_BYTES {
            break;
        }
        end = i + c.len_utf8();
    }
    let cut = cleaned[..end].trim_end_matches(|c: char| c == '.' || c.is_whitespace());
    (!cut.is_empty()).then(|| not_reserved_on_windows(cut))
}

/// `stem` with a `_` after its first word (the part before the first dot, trailing spaces left
/// out) when Windows reserves that word as a device name, whatever its case.
fn not_reserved_on_windows(stem: &str) -> String {
    const RESERVED: &[&str] = &[
        "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "COM0", "COM1", "COM2", "COM3", "COM4",
        "COM5", "COM6", "COM7", "COM8", "COM9", "COM¹", "COM²", "COM³", "LPT0", "LPT1", "LPT2",
        "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9", "LPT¹", "LPT²", "LPT³",
    ];
    let base = stem.split('.').next().unwrap_or_default().trim_end();
    if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(base)) {
        format!("{base}_{}", &stem[base.len()..])
    } else {
        stem.to_string()
    }
}

/// The folder of note type `ty`, refusing one that leaves the vault.
pub fn type_folder(root: &Path, config: &Config, ty: &str) -> Result<PathBuf, CreateError> {
    let folder = config.folders.for_type(ty).unwrap_or(".");
    let p = Path::new(folder);
    if p.is_absolute() || p.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(CreateError::FolderOutside(folder.to_string()));
    }
    Ok(root.join(p))
}

/// The text of a new note of type `ty` named `name`: the template filled, `type`, a new
/// `ssot_id`, `created` and `edits` set; `body` replaces the template's body when given.
pub fn note_text(
    root: &Path,
    config: &Config,
    ty: &str,
    name: &str,
    edits: &[Edit],
    body: Option<&str>,
) -> Result<String, CreateError> {
    let tpl_name = crate::template::template_name(ty);
    let own = super::obsidian::template_folders(root, config)
        .first()
        .map(|f| root.join(f).join(&tpl_name));
    let template = match own.as_ref().map(std::fs::read) {
        Some(Ok(b)) => String::from_utf8_lossy(&b).into_owned(),
        _ => crate::template::file(&format!("Templates/{tpl_name}"))
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_else(|| format!("---\ntype: {ty}\n---\n")),
    };
    let now = jiff::ZonedDateTime::now();
    let schema = super::schema::Schema::from_config(config)
        .unwrap_or_else(|_| super::schema::Schema::builtin());
    let date_key = |key: &str| {
        schema.get(ty).and_then(|t| t.field(key)).is_some_and(|f| {
            matches!(
                f.ty,
                super::schema::FieldType::Date | super::schema::FieldType::DateTime
            )
        })
    };
    let mut text = crate::template::fill_note(&template, name, now.datetime(), &date_key);
    if let Some(body) = body
        && let Ok(l) = super::note::layout(&text)
    {
        text.truncate(l.body_start);
        text.push_str(body);
    }
    let mut all = vec![
        Edit::Set("type".into(), Value::Str(ty.into())),
        Edit::Set("ssot_id".into(), Value::Str(super::id::new_ulid())),
        Edit::Set("created".into(), Value::Date(now.date())),
    ];
    all.extend(edits.iter().cloned());
    Ok(apply(&text, &all)
        .map_err(|source| CreateError::Template {
            path: own.unwrap_or_else(|| root.join(&tpl_name)),
            source,
        })?
        .unwrap_or(text))
}

/// Writes `text` as a new note named `name` in `dir`; a clash gets a ` 2`, ` 3`… suffix, never
/// an overwrite. Returns the path.
pub fn write_new(dir: &Path, name: &str, text: &str) -> Result<PathBuf, CreateError> {
    let stem = file_stem(name).ok_or_else(|| CreateError::BadName(name.to_string()))?;
    crate::fsutil::create_dir_all(dir)?;
    let mut n = 1;
    loop {
        let file = if n == 1 {
            format!("{stem}.md")
        } else {
            format!("{stem} {n}.md")
        };
        let path = dir.join(file);
        match crate::fsutil::write_if_unchanged(&path, None, text.as_bytes()) {
            Ok(()) => return Ok(path),
            Err(crate::fsutil::FsError::Changed { .. }) if n < 1000 => n += 1,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Creates a note of type `ty` named `name` in its folder (see [`note_text`], [`write_new`]).
pub fn create(
    root: &Path,
    config: &Config,
    ty: &str,
    name: &str,
    edits: &[Edit],
    body: Option<&str>,
) -> Result<PathBuf, CreateError> {
    file_stem(name).ok_or_else(|| CreateError::BadName(name.to_string()))?;
    let dir = type_folder(root, config, ty)?;
    let text = note_text(root, config, ty, name, edits, body)?;
    write_new(&dir, name, &text)
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

    #[test]
    fn file_names_are_cut_to_fit_in_bytes() {
        let long = file_stem(&format!("{} Long", "Ż".repeat(150))).unwrap();
        assert_eq!(long, "Ż".repeat(MAX_STEM_BYTES / 2));
        assert!(format!("{long} 1000.md").len() <= 255);
        let emoji = file_stem(&"😀".repeat(300)).unwrap();
        assert_eq!(emoji, "😀".repeat(MAX_STEM_BYTES / 4));
        // A cut never leaves a trailing space or dot.
        let half = MAX_STEM_BYTES / 2;
        let spaced = file_stem(&format!("{}.{}", "Ż".repeat(half), "b".repeat(9)));
        assert_eq!(spaced.unwrap(), "Ż".repeat(half));
        assert_eq!(file_stem(&"x".repeat(300)).unwrap(), "x".repeat(200));
    }

    #[test]
    fn bidi_controls_and_windows_reserved_names() {
        assert_eq!(
            file_stem("Invoice\u{202e}fdp.exe\u{2066}\u{200f}").as_deref(),
            Some("Invoicefdp.exe")
        );
        assert_eq!(file_stem("CON").as_deref(), Some("CON_"));
        assert_eq!(file_stem("nul.md").as_deref(), Some("nul_.md"));
        assert_eq!(file_stem("Com1").as_deref(), Some("Com1_"));
        assert_eq!(file_stem("lpt9 .txt").as_deref(), Some("lpt9_ .txt"));
        assert_eq!(file_stem("name.").as_deref(), Some("name"));
        assert_eq!(file_stem("name . . ").as_deref(), Some("name"));
        assert_eq!(file_stem("CON .").as_deref(), Some("CON_"));
        assert_eq!(file_stem("Console").as_deref(), Some("Console"));
        assert_eq!(file_stem("COM10").as_deref(), Some("COM10"));
        assert_eq!(file_stem("\u{202e}").as_deref(), None);
    }

    #[test]
    fn never_overwrites_and_never_leaves_the_vault() {
        let d = tempfile::tempdir().unwrap();
        let c = Config::default();
        let a = create(d.path(), &c, "client", "Acme", &[], None).unwrap();
        let b = create(d.path(), &c, "client", "Acme", &[], None).unwrap();
        assert_eq!(a.file_name().unwrap(), "Acme.md");
        assert_eq!(b.file_name().unwrap(), "Acme 2.md");
        let mut c2 = Config::default();
        c2.folders.client = "../out".into();
        assert!(matches!(
            create(d.path(), &c2, "client", "X", &[], None),
            Err(CreateError::FolderOutside(_))
        ));
    }
}
