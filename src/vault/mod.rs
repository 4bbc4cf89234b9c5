//! The vault: notes on disk, their frontmatter and body, the schema of managed notes, links, and
//! the index of the whole vault. Nothing here knows about services or sync.

pub mod body;
pub mod check;
pub mod editor;
pub mod frontmatter;
pub mod id;
pub mod index;
pub mod input;
pub mod note;
pub mod obsidian;
pub mod schema;
pub mod sections;
pub mod value;

use std::path::Path;

/// Why a note file could not be edited.
#[derive(Debug, thiserror::Error)]
pub enum EditFileError {
    /// Reading or writing failed, or the file changed meanwhile.
    #[error(transparent)]
    Fs(#[from] crate::fsutil::FsError),
    /// The note cannot be read; it is left as it is.
    #[error("{}:{}:{}: {source}; the note is left as it is", path.display(), source.position().0, source.position().1)]
    Note {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: note::NoteError,
    },
    /// The editor refused the edit.
    #[error("{}: {source}", path.display())]
    Edit {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: editor::EditError,
    },
}

/// The result of editing a note file.
#[derive(Debug)]
pub struct Edited {
    /// The note before the edit.
    pub before: note::Note,
    /// The note after it; `None` when nothing changed (the file was not touched).
    pub after: Option<note::Note>,
}

/// Reads the note at `path`; a note that does not parse is an [`EditFileError::Note`] naming
/// the file and the position.
pub fn read_note(path: &Path) -> Result<note::Note, EditFileError> {
    let bytes = crate::fsutil::read(path)?;
    note::Note::parse(&bytes).map_err(|source| EditFileError::Note {
        path: path.to_path_buf(),
        source,
    })
}

/// Applies `edits` to the note at `path`: reads it, edits the text surgically, and writes it
/// atomically only if it changed and nobody changed the file meanwhile.
pub fn edit_file(path: &Path, edits: &[editor::Edit]) -> Result<Edited, EditFileError> {
    let bytes = crate::fsutil::read(path)?;
    let before = note::Note::parse(&bytes).map_err(|source| EditFileError::Note {
        path: path.to_path_buf(),
        source,
    })?;
    let new = editor::apply(&before.text, edits).map_err(|source| EditFileError::Edit {
        path: path.to_path_buf(),
        source,
    })?;
    let Some(new) = new else {
        return Ok(Edited {
            before,
            after: None,
        });
    };
    crate::fsutil::write_if_unchanged(path, Some(&bytes), new.as_bytes())?;
    let after = note::Note::parse_text(new).map_err(|source| EditFileError::Note {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(Edited {
        before,
        after: Some(after),
    })
}
pub mod create;
