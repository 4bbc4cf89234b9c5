//! The one error type of the command line, [`CliError`]: a message, a hint on what to do and an
//! exit code (1 refused because of the vault's data, 2 error; see the module doc of `crate::cli`).
//!
//! Every library error a command meets converts into it with `?`: the `From` impls below are the
//! one place that decides each error's exit code and hint. The message is always the library
//! error's own text. The few hints that need the command's context (a service's configuration
//! section, a keyring entry) are constructors here too.

use crate::connectors::ConnectorError;
use crate::connectors::registry::{self, OpenError, Service};
use crate::history::HistoryError;
use crate::secrets::{CredentialSpec, KEYRING_SERVICE, KeyringError};
use crate::sync::SyncError;
use crate::vault::EditFileError;
use crate::vault::editor::EditError;

/// The hints, in one place: what to do about an error.
pub mod hints {
    /// An invalid `ssot-vault.toml`.
    pub const CONFIG_FILE: &str = "fix the file; `ssot-vault init` writes a documented example";
    /// An invalid `[schema.<type>]` table.
    pub const SCHEMA: &str = "fix the `[schema.<type>.fields]` tables of ssot-vault.toml; the README's Schema section lists the note types and field types";
    /// Another command holds the vault lock.
    pub const LOCK_HELD: &str = "nothing was changed; wait for that command to finish and run this one again (its lock frees itself when it ends, even if it is killed)";
    /// The `watch` daemon holds the vault (a second daemon, a manual `sync`).
    pub const DAEMON_HELD: &str = "nothing was changed; the `watch` daemon syncs this vault on its own (`ssot-vault watch --status` shows its runs); to run this by hand, stop it first (`kill PID`, or `systemctl --user stop ssot-vault-watch`)";
    /// A lifecycle move refused by its guards.
    pub const REFUSED: &str =
        "the note is unchanged; `ssot-vault check` shows what the project still needs";
    /// An edit refused before anything was written.
    pub const NOTE_UNCHANGED: &str = "the note is unchanged";
    /// The vault is no git repository.
    pub const NOT_A_REPO: &str =
        "create a vault with `ssot-vault init`, or run `git init` in this folder and commit once";
    /// git has no author identity.
    pub const NO_AUTHOR: &str = "set your name for the audit log: git config --global user.name \"Your Name\" && git config --global user.email you@example.com";
    /// A plan archiving more records than allowed.
    pub const ARCHIVE_SHARE: &str = "check that no folder was moved or deleted by mistake; run again with --force to archive them";
    /// A sync stopped by the service failing.
    pub const SYNC_STOPPED: &str = "the run stopped safely; run `ssot-vault sync` again to finish (it resumes without duplicates)";
}

/// How a command failed: the message, a hint on what to do, and the exit code.
#[derive(Debug)]
pub struct CliError {
    /// What went wrong.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
    /// 1 (refused: problems in the input) or 2 (error).
    pub code: u8,
}

impl CliError {
    /// An error (exit 2).
    pub fn new(message: impl Into<String>) -> Self {
        CliError {
            message: message.into(),
            hint: None,
            code: 2,
        }
    }

    /// A refusal because of problems in the vault's data (exit 1).
    pub fn problem(message: impl Into<String>) -> Self {
        CliError {
            message: message.into(),
            hint: None,
            code: 1,
        }
    }

    /// Adds a hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Adds a hint when there is one.
    fn maybe_hint(self, hint: Option<&str>) -> Self {
        match hint {
            Some(h) => self.hint(h),
            None => self,
        }
    }

    /// A service's `[remotes.<name>]` section is unusable (`message` from its settings).
    pub fn service_config(service: &Service, message: impl Into<String>) -> Self {
        CliError::new(message).hint(service.config_hint)
    }

    /// This build has no OS keyring support.
    pub fn keyring_not_built(spec: &CredentialSpec) -> Self {
        CliError::new("this build of ssot-vault has no OS keyring support").hint(format!(
            "rebuild with the `keyring` feature (`cargo install --path . --features keyring`), or set the environment variable {}",
            spec.env_var
        ))
    }

    /// The OS keyring refused the entry of `spec`.
    pub fn keyring(spec: &CredentialSpec, e: KeyringError) -> Self {
        match e {
            KeyringError::NotBuilt => CliError::keyring_not_built(spec),
            other => CliError::new(format!(
                "{}: keyring entry {KEYRING_SERVICE}/{}: {other}",
                spec.remote, spec.keyring_entry
            ))
            .hint(format!(
                "use the environment variable {} instead (it is read first)",
                spec.env_var
            )),
        }
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)?;
        if let Some(h) = &self.hint {
            write!(f, "\nhint: {h}")?;
        }
        Ok(())
    }
}

/// Errors that are exit 2 with their own message and no hint.
macro_rules! plain_error {
    ($($t:ty),*) => {$(
        impl From<$t> for CliError {
            fn from(e: $t) -> Self {
                CliError::new(e.to_string())
            }
        }
    )*};
}
plain_error!(
    crate::fsutil::FsError,
    std::io::Error,
    serde_json::Error,
    crate::sync::state::StateError
);

impl From<crate::config::ConfigError> for CliError {
    fn from(e: crate::config::ConfigError) -> Self {
        use crate::config::ConfigError as C;
        let hint = match &e {
            C::Parse { .. } => Some(hints::CONFIG_FILE),
            _ => None,
        };
        CliError::new(e.to_string()).maybe_hint(hint)
    }
}

impl From<crate::vault::schema::SchemaErrors> for CliError {
    fn from(e: crate::vault::schema::SchemaErrors) -> Self {
        CliError::new(format!(
            "invalid schema in {}: {e}",
            crate::config::FILE_NAME
        ))
        .hint(hints::SCHEMA)
    }
}

impl From<crate::lock::LockError> for CliError {
    fn from(e: crate::lock::LockError) -> Self {
        use crate::lock::LockError as L;
        let hint = match &e {
            L::Held {
                holder: Some(h), ..
            } if h.command == "watch" && e.is_daemon_lock() => Some(hints::DAEMON_HELD),
            L::Held { .. } => Some(hints::LOCK_HELD),
            L::Io { .. } => None,
        };
        CliError::new(e.to_string()).maybe_hint(hint)
    }
}

/// The hint of a history error, where it has one.
fn history_hint(e: &HistoryError) -> Option<&'static str> {
    match e {
        HistoryError::NotARepo { .. } => Some(hints::NOT_A_REPO),
        HistoryError::NoAuthor { .. } => Some(hints::NO_AUTHOR),
        _ => None,
    }
}

impl From<HistoryError> for CliError {
    fn from(e: HistoryError) -> Self {
        CliError::new(e.to_string()).maybe_hint(history_hint(&e))
    }
}

impl From<crate::workflow::audit::AuditError> for CliError {
    fn from(e: crate::workflow::audit::AuditError) -> Self {
        use crate::workflow::audit::AuditError as A;
        match e {
            A::History(h) => h.into(),
            other => CliError::new(other.to_string()),
        }
    }
}

impl From<crate::workflow::WorkflowError> for CliError {
    fn from(e: crate::workflow::WorkflowError) -> Self {
        use crate::workflow::WorkflowError as W;
        let hint = match &e {
            W::Refused { .. } => Some(hints::REFUSED),
            W::Note { .. } | W::Edit { .. } => Some(hints::NOTE_UNCHANGED),
            W::History(h) => history_hint(h),
            _ => None,
        };
        let err = if e.is_problem() {
            CliError::problem(e.to_string())
        } else {
            CliError::new(e.to_string())
        };
        err.maybe_hint(hint)
    }
}

impl From<crate::vault::create::CreateError> for CliError {
    fn from(e: crate::vault::create::CreateError) -> Self {
        match e {
            crate::vault::create::CreateError::Fs(f) => f.into(),
            other => CliError::new(other.to_string()),
        }
    }
}

impl From<EditFileError> for CliError {
    /// A note that cannot be read or edited is refused (exit 1) and left as it is; the position
    /// of a frontmatter error is given as `path:line:col`.
    fn from(e: EditFileError) -> Self {
        match e {
            EditFileError::Fs(f) => f.into(),
            note @ EditFileError::Note { .. } => CliError::problem(note.to_string()),
            EditFileError::Edit {
                path,
                source: EditError::Parse(p),
            } => {
                let (l, c) = p.position();
                CliError::problem(format!(
                    "{}:{l}:{c}: {p}; the note is left as it is",
                    path.display()
                ))
            }
            EditFileError::Edit { path, source } => {
                CliError::problem(format!("{}: {source}", path.display()))
                    .hint(hints::NOTE_UNCHANGED)
            }
        }
    }
}

impl From<crate::sync::apply::ApplyError> for CliError {
    fn from(e: crate::sync::apply::ApplyError) -> Self {
        use crate::sync::apply::ApplyError as A;
        match e {
            A::Edit(f) => f.into(),
            other => CliError::new(other.to_string()),
        }
    }
}

impl From<ConnectorError> for CliError {
    fn from(e: ConnectorError) -> Self {
        let hint = match &e {
            ConnectorError::NoCredentials { service, .. } => {
                registry::by_name(service).map(|s| s.credentials_hint)
            }
            _ => None,
        };
        CliError::new(e.to_string()).maybe_hint(hint)
    }
}

impl From<OpenError> for CliError {
    fn from(e: OpenError) -> Self {
        match e {
            OpenError::Config(m) => CliError::new(m),
            OpenError::Connector(c) => c.into(),
        }
    }
}

impl From<SyncError> for CliError {
    fn from(e: SyncError) -> Self {
        let hint = match &e {
            SyncError::ArchiveShare { .. } => {
                return CliError::problem(e.to_string()).hint(hints::ARCHIVE_SHARE);
            }
            SyncError::Connector(_) => Some(hints::SYNC_STOPPED),
            SyncError::Schema(_) => Some(hints::SCHEMA),
            SyncError::History(h) => history_hint(h),
            _ => None,
        };
        CliError::new(e.to_string()).maybe_hint(hint)
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::vault::frontmatter::FrontmatterError;
    use crate::vault::note::NoteError;

    fn not_a_repo() -> HistoryError {
        HistoryError::NotARepo {
            path: PathBuf::from("/v"),
        }
    }

    /// The message, the hint and the exit code of an error at the CLI edge.
    fn seen(e: impl Into<CliError>) -> (String, Option<String>, u8) {
        let e = e.into();
        (e.message, e.hint, e.code)
    }

    #[test]
    fn history_errors_have_their_hints_whichever_error_carries_them() {
        let want = Some(hints::NOT_A_REPO.to_string());
        assert_eq!(seen(not_a_repo()).1, want);
        assert_eq!(
            seen(crate::workflow::audit::AuditError::History(not_a_repo())).1,
            want
        );
        assert_eq!(seen(SyncError::History(not_a_repo())).1, want);
        assert_eq!(
            seen(crate::workflow::WorkflowError::History(not_a_repo())).1,
            want
        );
        let no_author = seen(HistoryError::NoAuthor {
            repo: PathBuf::from("/v"),
        });
        assert_eq!(no_author.1.as_deref(), Some(hints::NO_AUTHOR));
        assert_eq!(no_author.2, 2);
    }

    #[test]
    fn a_note_that_cannot_be_read_or_edited_is_refused_with_its_position() {
        let path = PathBuf::from("/v/Clients/A.md");
        let yaml = FrontmatterError::Yaml {
            line: 3,
            col: 7,
            message: "bad".into(),
        };
        let (message, hint, code) = seen(EditFileError::Note {
            path: path.clone(),
            source: NoteError::Frontmatter(yaml.clone()),
        });
        assert_eq!(
            message,
            "/v/Clients/A.md:3:7: invalid YAML in frontmatter: bad; the note is left as it is"
        );
        assert_eq!((hint, code), (None, 1));
        let (message, hint, code) = seen(EditFileError::Edit {
            path: path.clone(),
            source: EditError::Parse(yaml),
        });
        assert_eq!(
            message,
            "/v/Clients/A.md:3:7: invalid YAML in frontmatter: bad; the note is left as it is"
        );
        assert_eq!((hint, code), (None, 1));
        let (message, hint, code) = seen(EditFileError::Edit {
            path,
            source: EditError::NotEditable("flow map".into()),
        });
        assert_eq!(
            message,
            "/v/Clients/A.md: cannot edit this note's frontmatter safely: flow map"
        );
        assert_eq!((hint.as_deref(), code), (Some(hints::NOTE_UNCHANGED), 1));
        // Reading it failed: an error, not a refusal.
        let (_, hint, code) = seen(EditFileError::Fs(crate::fsutil::FsError::Changed {
            path: PathBuf::from("/v/a.md"),
        }));
        assert_eq!((hint, code), (None, 2));
    }

    #[test]
    fn missing_credentials_hint_at_the_services_own_way_to_get_them() {
        let e = ConnectorError::NoCredentials {
            service: crate::connectors::hubspot::NAME.into(),
            var: "HUBSPOT_TOKEN".into(),
            keyring: None,
        };
        let want = registry::by_name(crate::connectors::hubspot::NAME)
            .map(|s| s.credentials_hint.to_string());
        assert!(want.is_some());
        let (_, hint, code) = seen(OpenError::Connector(e));
        assert_eq!((hint, code), (want, 2));
    }

    #[test]
    fn sync_errors_keep_their_codes_and_hints() {
        let (message, hint, code) = seen(SyncError::ArchiveShare {
            remote: "hubspot".into(),
            archives: 5,
            known: 10,
            share: 50.0,
            max: 20.0,
        });
        assert!(message.contains("5 of 10 hubspot records"), "{message}");
        assert_eq!((hint.as_deref(), code), (Some(hints::ARCHIVE_SHARE), 1));
        let (_, hint, code) = seen(SyncError::Connector(ConnectorError::Protocol {
            service: "hubspot".into(),
            message: "odd".into(),
        }));
        assert_eq!((hint.as_deref(), code), (Some(hints::SYNC_STOPPED), 2));
    }
}
