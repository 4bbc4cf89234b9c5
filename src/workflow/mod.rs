//! The project lifecycle in the vault: the status machine as data ([`lifecycle`]), expert
//! matching ([`matching`]), credentialing ([`credentialing`]), intake acceptance ([`intake`]),
//! the guarded moves of a project ([`project`]), helpdesk tickets ([`ticket`]), the closing
//! export ([`archive`]) and the judging of hand edits against the last commit ([`audit`]).
//!
//! It decides what happens to a project and when; [`process::Lifecycle`] hands the sync engine
//! its judgement of each status move and the [`Effect`]s the move names, which the engine carries
//! to the services as journaled actions. Every change ends in one audit commit with
//! `Ssot-Source: vault` and one `Ssot-Transition: a→b` trailer per step.

pub mod archive;
pub mod audit;
pub mod credentialing;
pub mod intake;
pub mod lifecycle;
pub mod matching;
pub mod notes;
pub mod process;
pub mod project;
pub mod ticket;

use std::path::PathBuf;

pub use lifecycle::{
    Effect, Facts, Guard, Refusal, Service, Status, TRANSITIONS, Transition, markdown_table, path,
};

/// Why a workflow operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    /// A status change the lifecycle does not allow (exit 1).
    #[error("{}: {refusal}", notes::stem(path))]
    Refused {
        /// The project note.
        path: PathBuf,
        /// Why.
        refusal: Refusal,
    },
    /// The request does not fit the vault's data (exit 1): wrong note type, closed ticket, ...
    #[error("{0}")]
    Problem(String),
    /// A note cannot be read; it is left as it is (exit 1).
    #[error("{}:{}:{}: {source}; the note is left as it is", path.display(), source.position().0, source.position().1)]
    Note {
        /// The file.
        path: PathBuf,
        /// Why.
        source: crate::vault::note::NoteError,
    },
    /// The frontmatter editor refused an edit (exit 1).
    #[error("{}: {source}", path.display())]
    Edit {
        /// The file.
        path: PathBuf,
        /// Why.
        source: crate::vault::editor::EditError,
    },
    /// Reading or writing a file failed.
    #[error(transparent)]
    Fs(#[from] crate::fsutil::FsError),
    /// Git failed.
    #[error(transparent)]
    History(#[from] crate::history::HistoryError),
    /// Writing or reading the CSV export failed.
    #[error("{}: {source}", path.display())]
    Csv {
        /// The file.
        path: PathBuf,
        /// Why.
        source: csv::Error,
    },
    /// Writing the XML export failed.
    #[error("{}: {message}", path.display())]
    Xml {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// An export file does not read back to the data written.
    #[error("{}: the export does not read back: {message}", path.display())]
    ReadBack {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
}

impl WorkflowError {
    /// True for refusals caused by the vault's data (exit 1), false for errors (exit 2).
    pub fn is_problem(&self) -> bool {
        matches!(
            self,
            WorkflowError::Refused { .. }
                | WorkflowError::Problem(_)
                | WorkflowError::Note { .. }
                | WorkflowError::Edit { .. }
        )
    }
}
