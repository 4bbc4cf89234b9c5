//! The vault's history, kept in git (through `git2`): the audit log of who changed which field,
//! from which system, and when.
//!
//! - [`diff`]: field-level differences between two versions of a note ([`note_changes`]), shared
//!   with the sync engine.
//! - [`status`]: uncommitted changes of the vault, note by note and field by field.
//! - [`commit`]: creating the repository ([`init_repo`]) and audit commits whose message lists
//!   every field change and whose trailers (`Ssot-Source`, `Ssot-Run`, `Ssot-Transition`) say
//!   where the change came from.
//! - [`locks`]: git's lock files left by a command killed in the middle of a commit.
//! - [`log`]: the field-level history of the vault or of one note, read back from the commits.
//!
//! The repository is opened exactly at the vault root: a vault inside a larger repository is not
//! used (its commits would mix with other files).

use std::path::{Path, PathBuf};

use git2::Repository;

pub mod commit;
pub mod diff;
pub mod locks;
pub mod log;
pub mod status;
pub mod trailers;

pub use commit::{CommitInfo, CommitRequest, commit, commit_paths, init_repo};
pub use diff::{BodySummary, FieldChange, NoteDiff, note_changes};
pub use log::{LogEntry, log};
pub use status::{ChangeKind, NoteStatus, changed_paths, status};

/// The trailer naming the system a change came from.
pub const TRAILER_SOURCE: &str = "Ssot-Source";
/// The trailer naming the sync run of a change.
pub const TRAILER_RUN: &str = "Ssot-Run";
/// Trailer naming a person of the service whose change a sync commit takes into the vault
/// (`Name <email>`), one per person.
pub const TRAILER_CHANGED_BY: &str = "Ssot-Changed-By";
/// The trailer naming a workflow transition (`from→to`; `<note path>: from→to` in a sync commit
/// that takes the moves of several notes, see [`trailers::transition`]).
pub const TRAILER_TRANSITION: &str = "Ssot-Transition";
/// The trailer marking a commit that records a status change the lifecycle refuses
/// (`<note path>: from→to`), made by `commit --allow-illegal` or a sync's pending-vault commit.
pub const TRAILER_ILLEGAL_TRANSITION: &str = "Ssot-Illegal-Transition";

/// Why a history operation failed.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The vault has no git repository at its root.
    #[error("{}: not a git repository", path.display())]
    NotARepo {
        /// The vault root.
        path: PathBuf,
    },
    /// `init_repo` on a folder that already is a repository.
    #[error("{}: already a git repository with commits", path.display())]
    AlreadyARepo {
        /// The vault root.
        path: PathBuf,
    },
    /// A git operation failed.
    #[error("{}: git {action} failed: {}", repo.display(), source.message())]
    Git {
        /// The repository (its work tree).
        repo: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The libgit2 error.
        #[source]
        source: git2::Error,
    },
    /// Reading a file of the work tree failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// No author identity is configured.
    #[error(
        "{}: no author name and email for the commit: set `git config user.name` and `git config user.email` (or GIT_AUTHOR_NAME and GIT_AUTHOR_EMAIL)",
        repo.display()
    )]
    NoAuthor {
        /// The repository.
        repo: PathBuf,
    },
}

/// Builds the `map_err` closure turning a git error into [`HistoryError::Git`].
pub(crate) fn git_err<'a>(
    repo: &'a Path,
    action: &'static str,
) -> impl FnOnce(git2::Error) -> HistoryError + 'a {
    move |source| HistoryError::Git {
        repo: repo.to_path_buf(),
        action,
        source,
    }
}

/// Opens the repository whose work tree is exactly `root`.
pub(crate) fn open_repo(root: &Path) -> Result<Repository, HistoryError> {
    match Repository::open(root) {
        Ok(r) if r.is_bare() => Err(HistoryError::NotARepo {
            path: root.to_path_buf(),
        }),
        Ok(r) => Ok(r),
        Err(e) if e.code() == git2::ErrorCode::NotFound => Err(HistoryError::NotARepo {
            path: root.to_path_buf(),
        }),
        Err(e) => Err(HistoryError::Git {
            repo: root.to_path_buf(),
            action: "open",
            source: e,
        }),
    }
}

/// The tree of HEAD, or `None` on an unborn branch.
pub(crate) fn head_tree<'r>(
    repo: &'r Repository,
    root: &Path,
) -> Result<Option<git2::Tree<'r>>, HistoryError> {
    match repo.head() {
        Ok(h) => h
            .peel_to_tree()
            .map(Some)
            .map_err(git_err(root, "read HEAD")),
        Err(e)
            if matches!(
                e.code(),
                git2::ErrorCode::UnbornBranch | git2::ErrorCode::NotFound
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(HistoryError::Git {
            repo: root.to_path_buf(),
            action: "read HEAD",
            source: e,
        }),
    }
}

/// True when a repository path names a note.
pub(crate) fn is_note(path: &str) -> bool {
    Path::new(path)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("md"))
}

/// The note's title: its file name without `.md`.
pub(crate) fn title(path: &str) -> &str {
    let name = path.rsplit('/').next().unwrap_or(path);
    match name.len().checked_sub(3) {
        Some(i) if name.is_char_boundary(i) && name[i..].eq_ignore_ascii_case(".md") => &name[..i],
        _ => name,
    }
}

/// The bytes of a blob, or `None` for a zero id (the side does not exist).
pub(crate) fn blob_bytes(
    repo: &Repository,
    root: &Path,
    id: git2::Oid,
) -> Result<Option<Vec<u8>>, HistoryError> {
    if id.is_zero() {
        return Ok(None);
    }
    let blob = repo.find_blob(id).map_err(git_err(root, "read blob"))?;
    Ok(Some(blob.content().to_vec()))
}

/// A repository path of a diff file as a `/`-separated string.
pub(crate) fn delta_path(file: &git2::DiffFile<'_>) -> Option<String> {
    file.path().map(|p| p.to_string_lossy().replace('\\', "/"))
}

/// The abbreviated id of an object (at least 7 hex digits, unique in the repository).
pub(crate) fn short_id(obj: &git2::Object<'_>) -> String {
    obj.short_id()
        .ok()
        .and_then(|b| b.as_str().ok().map(str::to_string))
        .unwrap_or_else(|| obj.id().to_string().chars().take(7).collect())
}
