//! Reading and writing the notes the workflow works on: a managed note read with its type
//! checked, new notes made from the vault's templates, file names from note names, and the
//! audit commit every workflow change ends with.

use std::path::{Path, PathBuf};

use unicode_normalization::UnicodeNormalization;

use super::WorkflowError;
use crate::config::Config;
use crate::history::{CommitInfo, CommitRequest};
use crate::vault::editor::{Edit, apply};
use crate::vault::note::Note;
use crate::vault::value::Value;

/// A note read from disk, with the bytes it was read from (for compare-and-swap writes).
#[derive(Debug, Clone)]
pub struct Loaded {
    /// Where it is.
    pub path: PathBuf,
    /// Its bytes as read.
    pub bytes: Vec<u8>,
    /// The parsed note.
    pub note: Note,
}

impl Loaded {
    /// The file name without `.md`: the note's name, as links name it.
    pub fn name(&self) -> String {
        stem(&self.path)
    }

    /// The text property `key` (trimmed), when filled.
    pub fn text(&self, key: &str) -> Option<String> {
        self.note
            .get(key)
            .filter(|v| !v.is_empty())
            .map(|v| v.to_string().trim().to_string())
    }

    /// The target of the link property `key`, when filled.
    pub fn link(&self, key: &str) -> Option<String> {
        let v = self.note.get(key).filter(|v| !v.is_empty())?;
        Some(match v.as_link() {
            Some(l) => l.target.to_string(),
            None => v.to_string(),
        })
    }
}

/// The file name of `path` without `.md`.
pub fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().nfc().collect())
        .unwrap_or_default()
}

/// Reads the note at `path`; when `ty` is given it must be a note of that type.
pub fn load(path: &Path, ty: Option<&str>) -> Result<Loaded, WorkflowError> {
    let bytes = crate::fsutil::read(path)?;
    let note = Note::parse(&bytes).map_err(|source| WorkflowError::Note {
        path: path.to_path_buf(),
        source,
    })?;
    if let Some(ty) = ty {
        let actual = note.get("type").and_then(Value::as_str).unwrap_or("");
        if actual != ty {
            return Err(WorkflowError::Problem(format!(
                "{}: not a {ty} note (type: {})",
                path.display(),
                if actual.is_empty() { "none" } else { actual }
            )));
        }
    }
    Ok(Loaded {
        path: path.to_path_buf(),
        bytes,
        note,
    })
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

/// The wikilink value `"[[name]]"`.
pub fn link_to(name: &str) -> Value {
    Value::Str(format!("[[{name}]]"))
}

/// Creates a note of type `ty` named `name` in its folder from the vault's template (else the
/// built-in one), with a new `ssot_id`, `created`, and `edits` applied; a clash of names gets a
/// ` 2`, ` 3`… suffix. `body` replaces the template's body when given. Returns its path.
pub fn create(
    root: &Path,
    config: &Config,
    ty: &str,
    name: &str,
    edits: &[Edit],
    body: Option<&str>,
) -> Result<PathBuf, WorkflowError> {
    let stem = file_stem(name).ok_or_else(|| {
        WorkflowError::Problem(format!(
            "`{name}` leaves no usable file name for a {ty} note"
        ))
    })?;
    let folder = config.folders.for_type(ty).unwrap_or(".");
    let dir = root.join(folder);
    crate::fsutil::create_dir_all(&dir)?;
    let tpl_name = crate::template::template_name(ty);
    let own = root.join(&config.vault.templates).join(&tpl_name);
    let template = match std::fs::read(&own) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(_) => crate::template::file(&format!("Templates/{tpl_name}"))
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_else(|| format!("---\ntype: {ty}\n---\n")),
    };
    let now = jiff::ZonedDateTime::now();
    let mut text = crate::template::fill_note(&template, name, now.datetime());
    if let Some(body) = body
        && let Ok(l) = crate::vault::note::layout(&text)
    {
        text.truncate(l.body_start);
        text.push_str(body);
    }
    let mut all = vec![
        Edit::Set("type".into(), Value::Str(ty.into())),
        Edit::Set("ssot_id".into(), Value::Str(crate::vault::id::new_ulid())),
        Edit::Set("created".into(), Value::Date(now.date())),
    ];
    all.extend(edits.iter().cloned());
    let text = apply(&text, &all)
        .map_err(|e| WorkflowError::Problem(format!("{}: {e}", own.display())))?
        .unwrap_or(text);
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

/// Commits every change of the vault with `summary`, `Ssot-Source: vault` and one
/// `Ssot-Transition` trailer per label. The author is `[git]` of the configuration when set.
pub fn commit(
    root: &Path,
    config: &Config,
    summary: &str,
    transitions: &[String],
) -> Result<Option<CommitInfo>, WorkflowError> {
    let author = match (&config.git.author_name, &config.git.author_email) {
        (Some(n), Some(e)) => Some((n.clone(), e.clone())),
        _ => None,
    };
    let req = CommitRequest {
        message: Some(summary.to_string()),
        source: "vault".into(),
        trailers: transitions
            .iter()
            .map(|t| (crate::history::TRAILER_TRANSITION.to_string(), t.clone()))
            .collect(),
        author,
    };
    Ok(crate::history::commit(root, &req)?)
}

/// Today's date in the local time zone.
pub fn today() -> jiff::civil::Date {
    jiff::ZonedDateTime::now().date()
}

/// Now, to the second, in the local time zone: `2026-05-01T14:30:00`.
pub fn now_minutes() -> String {
    let dt = jiff::ZonedDateTime::now().datetime();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second()
    )
}
