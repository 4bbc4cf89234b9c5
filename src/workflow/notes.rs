//! Reading and writing the notes the workflow works on: a managed note read with its type
//! checked, new notes made from the vault's templates, file names from note names, and the
//! audit commit every workflow change ends with.

use std::path::{Path, PathBuf};

use unicode_normalization::UnicodeNormalization;

use super::WorkflowError;
use crate::config::Config;
use crate::history::{CommitInfo, CommitRequest};
use crate::vault::editor::Edit;
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

pub use crate::vault::create::file_stem;

/// The wikilink value `"[[name]]"`.
pub fn link_to(name: &str) -> Value {
    Value::Str(format!("[[{name}]]"))
}

/// Creates a note of type `ty` named `name` (see [`crate::vault::create::create`]).
pub fn create(
    root: &Path,
    config: &Config,
    ty: &str,
    name: &str,
    edits: &[Edit],
    body: Option<&str>,
) -> Result<PathBuf, WorkflowError> {
    crate::vault::create::create(root, config, ty, name, edits, body).map_err(|e| match e {
        crate::vault::create::CreateError::Fs(f) => f.into(),
        other => WorkflowError::Problem(other.to_string()),
    })
}

/// Commits every change of the vault with `summary`, `Ssot-Source: vault` and one
/// `Ssot-Transition` trailer per label. The author is `[git]` of the configuration when set.
/// An illegal hand-made status change of another note swept into the commit is recorded too,
/// marked with its `Ssot-Illegal-Transition` trailer (as the pending-vault commit of `sync`).
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
            .chain(super::audit::illegal_trailers(root, config))
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
