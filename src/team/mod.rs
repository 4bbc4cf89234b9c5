//! A vault shared by a team through a git remote: the frontmatter-aware merge driver
//! ([`merge`]), its registration in a vault ([`register`]), pull and push with the remote
//! ([`remote`]), and the daemon's hook ([`hook`]: pull before a run, push after a commit).

pub mod hook;
pub mod merge;
pub mod register;
pub mod remote;

pub use merge::{Merged, merge_note};
pub use remote::{Pulled, Pushed, Target, pull, push};

/// Why a team operation failed.
#[derive(Debug, thiserror::Error)]
pub enum TeamError {
    /// A history (git) operation failed.
    #[error(transparent)]
    History(#[from] crate::history::HistoryError),
    /// Reading or writing a file failed.
    #[error(transparent)]
    Fs(#[from] crate::fsutil::FsError),
    /// The merge itself failed.
    #[error(transparent)]
    Merge(#[from] merge::MergeError),
    /// A git operation without a repository path failed.
    #[error("git: cannot {action}: {message}")]
    Git {
        /// What was being done.
        action: &'static str,
        /// libgit2's message.
        message: String,
    },
    /// The `git` command (used for https and ssh remotes) failed.
    #[error("`git {args}` failed: {message}")]
    GitCommand {
        /// Its arguments.
        args: String,
        /// Its error output.
        message: String,
    },
    /// The configured remote does not exist in the repository.
    #[error("no git remote `{name}` in the vault's repository")]
    NoRemote {
        /// The remote's name.
        name: String,
    },
    /// HEAD is not on a branch.
    #[error("HEAD is not on a branch")]
    Detached,
    /// `[git] branch` is not the branch checked out: the merge would not reach the work tree.
    #[error("`[git] branch` is `{branch}` but the vault has `{current}` checked out")]
    OtherBranch {
        /// The configured branch.
        branch: String,
        /// The current one.
        current: String,
    },
    /// The work tree has uncommitted edits.
    #[error("uncommitted edits in the work tree: {}", paths.join(", "))]
    Uncommitted {
        /// The files.
        paths: Vec<String>,
    },
    /// A merge (of `git pull`) is in progress.
    #[error("a git merge is in progress in the vault")]
    MergeInProgress,
    /// The merge left conflicts (in note bodies, or a note deleted on one side and changed on
    /// the other): nothing was changed.
    #[error("the merge leaves conflicts in {}; nothing was changed", paths.join(", "))]
    Conflicts {
        /// The files.
        paths: Vec<String>,
    },
    /// The remote kept refusing the push.
    #[error("the remote refused the push {attempts} times: {message}")]
    PushRefused {
        /// Attempts made.
        attempts: u32,
        /// The last refusal.
        message: String,
    },
}
