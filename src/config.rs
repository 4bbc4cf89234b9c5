//! `ssot-vault.toml`: the vault's configuration, with defaults compiled in.
//!
//! The file lives at the vault root and marks it: commands find the vault by walking up from the
//! current folder to the nearest `ssot-vault.toml`. Secrets never live here; services read theirs
//! from the environment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The configuration file's name.
pub const FILE_NAME: &str = "ssot-vault.toml";

/// The whole configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `[vault]`.
    pub vault: VaultSection,
    /// `[folders]`.
    pub folders: Folders,
    /// `[schema.<type>.fields]`: extra fields per note type.
    pub schema: BTreeMap<String, TypeExtension>,
    /// `[remotes.<name>]`: services, read by the sync engine.
    pub remotes: BTreeMap<String, toml::Table>,
    /// `[git]`.
    pub git: GitSection,
    /// `[workflow]`: the project lifecycle.
    pub workflow: WorkflowSection,
    /// `[watch]`: the `watch` daemon.
    pub watch: WatchSection,
    /// `[intake]`: what the sync does with new intakes.
    pub intake: IntakeSection,
}

/// `[intake]`: what the sync does with the intakes the intake form brings in.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IntakeSection {
    /// `auto_accept`: a new intake (`status: new`, from the form) is accepted by the sync that
    /// brings it in (or the next one), as `ssot-vault intake accept` does. Default off.
    pub auto_accept: bool,
}

/// `[watch]`: settings of the `watch` daemon (each service's poll interval is its
/// `[remotes.<name>] poll_seconds`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WatchSection {
    /// `debounce_ms`: how long a note must be quiet after a save before it is pushed (a burst
    /// of saves is one run).
    pub debounce_ms: u64,
    /// `full_read_minutes`: a run started by saves reads only the changed notes; a poll run
    /// reads every note again when the last such read is this old (a safety net for a file
    /// event the watcher missed). 0: every poll run does.
    pub full_read_minutes: u64,
    /// `log_max_kb`: the log file `.ssot/logs/watch.log` is rotated when it reaches this size.
    pub log_max_kb: u64,
    /// `log_files`: rotated log files kept (`watch.log.1` the newest); 0 keeps none.
    pub log_files: u32,
}

impl Default for WatchSection {
    fn default() -> Self {
        WatchSection {
            debounce_ms: 250,
            full_read_minutes: 60,
            log_max_kb: 10_240,
            log_files: 5,
        }
    }
}

/// `[workflow]`: settings of the project lifecycle.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkflowSection {
    /// The tasks of a project's `## Credentialing` section, written when the expert accepts;
    /// the project becomes active only when every one is checked.
    pub credentialing: Vec<String>,
    /// `auto_activate`: after each service's run of a `sync`, a `credentialing` project whose
    /// guards for `active` hold (every credentialing item checked, in the note or in Trello) is
    /// made `active` as `ssot-vault project activate` does, and the same `sync` carries the
    /// move to the services. Default off (the template turns it on).
    pub auto_activate: bool,
}

/// The credentialing tasks of a vault without a `[workflow] credentialing` list.
pub const DEFAULT_CREDENTIALING: &[&str] = &[
    "Contract signed",
    "NDA signed",
    "Invoicing details received",
    "Access to systems granted",
];

impl Default for WorkflowSection {
    fn default() -> Self {
        WorkflowSection {
            credentialing: DEFAULT_CREDENTIALING
                .iter()
                .map(|s| s.to_string())
                .collect(),
            auto_activate: false,
        }
    }
}

/// `[vault]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VaultSection {
    /// Glob patterns of files and folders never read.
    pub ignore: Vec<String>,
    /// The templates folder (indexed, never validated) when set here; unset, it is the folder
    /// Obsidian's Templates plugin (and Templater) use: see
    /// [`template_folders`](crate::vault::obsidian::template_folders).
    pub templates: Option<String>,
}

/// `[folders]`: where each type of note lives.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Folders {
    /// Clients.
    pub client: String,
    /// Experts.
    pub expert: String,
    /// Projects.
    pub project: String,
    /// Helpdesk tickets.
    pub ticket: String,
    /// Intake notes.
    pub intake: String,
    /// Archived work.
    pub archive: String,
}

impl Default for Folders {
    fn default() -> Self {
        Folders {
            client: "Clients".into(),
            expert: "Experts".into(),
            project: "Projects".into(),
            ticket: "Helpdesk".into(),
            intake: "Intake".into(),
            archive: "Archive".into(),
        }
    }
}

impl Folders {
    /// The folder of a note type.
    pub fn for_type(&self, ty: &str) -> Option<&str> {
        Some(match ty {
            "client" => &self.client,
            "expert" => &self.expert,
            "project" => &self.project,
            "ticket" => &self.ticket,
            "intake" => &self.intake,
            _ => return None,
        })
    }
}

/// `[git]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GitSection {
    /// Author name of commits the tool makes on its own (not `commit`, which uses git config).
    pub author_name: Option<String>,
    /// Author e-mail of those commits.
    pub author_email: Option<String>,
    /// The git remote the team shares the vault through (`origin`): `pull`, `push` and the
    /// daemon use it. Unset: the vault is not shared.
    pub remote: Option<String>,
    /// The branch pulled and pushed (default: the current one).
    pub branch: Option<String>,
}

/// `[schema.<type>]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TypeExtension {
    /// Extra fields.
    pub fields: BTreeMap<String, FieldDecl>,
}

/// A field declared in the configuration: `"type"` or a table.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum FieldDecl {
    /// `name = "date"`.
    Short(String),
    /// `name = { type = "enum", values = [..], target = "client", required = true }`.
    Full {
        /// The type name.
        #[serde(rename = "type")]
        ty: String,
        /// Allowed values of an enum.
        #[serde(default)]
        values: Vec<String>,
        /// The note type a link must point to.
        #[serde(default)]
        target: Option<String>,
        /// Whether the field is required.
        #[serde(default)]
        required: bool,
    },
}

/// What the sync engine does when a field changed on both sides to different values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConflictPolicy {
    /// The vault value stays; the conflict is recorded in the note (`sync_conflicts`) until
    /// `ssot-vault resolve` settles it.
    #[default]
    Manual,
    /// The vault value is pushed.
    VaultWins,
    /// The remote value is written into the note.
    RemoteWins,
}

/// The sync settings every remote shares, read by the sync engine: part of [`RemoteShared`],
/// which each remote's configuration embeds (see `connectors::<service>::config`).
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteCommon {
    /// `enabled`.
    pub enabled: bool,
    /// `conflict_policy`.
    pub conflict_policy: ConflictPolicy,
    /// `archive_deleted_notes`: a deleted note archives its record.
    pub archive_deleted_notes: bool,
    /// `max_archive_share`: a plan archiving more than this share of the records is refused
    /// without `--force`.
    pub max_archive_share: f64,
    /// `check_archived_minutes`: how often records archived remotely are looked for (0: every run).
    pub check_archived_minutes: u64,
    /// `full_pull_hours`: how often every record is read again, not only the changed ones (0:
    /// never; `sync --full` forces it). The incremental pull may leave out a record edited
    /// remotely during the few seconds of our own writes to it; a full read catches it.
    pub full_pull_hours: u64,
    /// `poll_seconds`: how often the `watch` daemon polls the remote for its changes.
    pub poll_seconds: u64,
    /// `author_name`: author of the sync commits (default `ssot-vault (<remote>)`).
    pub author_name: String,
    /// `author_email`: author e-mail of the sync commits.
    pub author_email: String,
}

/// The HTTP limits and retries every remote shares: part of [`RemoteShared`].
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteHttp {
    /// `requests_per_10s`: client-side limit of requests per 10 seconds (0: none).
    pub requests_per_10s: u32,
    /// `timeout_seconds`: timeout of one request.
    pub timeout_seconds: f64,
    /// `max_retries`: retries of a failed request (429, 5xx, timeouts, dropped connections).
    pub max_retries: u32,
    /// `retry_base_ms`: first retry delay (doubled each retry, with jitter).
    pub retry_base_ms: u64,
    /// `retry_max_ms`: longest retry delay.
    pub retry_max_ms: u64,
}

/// The keys of a `[remotes.<name>]` section every remote shares, parsed once by
/// [`RemoteShared::parse`]; a remote's own keys stay in its connector's folder.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteShared {
    /// The sync settings.
    pub common: RemoteCommon,
    /// The HTTP limits and retries.
    pub http: RemoteHttp,
}

impl RemoteShared {
    /// The defaults of the remote `name` (HubSpot's published limits are the HTTP defaults; a
    /// remote with other limits changes them before parsing).
    pub fn defaults(name: &str) -> RemoteShared {
        RemoteShared {
            common: RemoteCommon {
                enabled: false,
                conflict_policy: ConflictPolicy::Manual,
                archive_deleted_notes: false,
                max_archive_share: 0.2,
                check_archived_minutes: 60,
                full_pull_hours: 24,
                poll_seconds: 60,
                author_name: format!("ssot-vault ({name})"),
                author_email: "ssot-vault@localhost".into(),
            },
            http: RemoteHttp {
                requests_per_10s: 100,
                timeout_seconds: 30.0,
                max_retries: 8,
                retry_base_ms: 500,
                retry_max_ms: 30_000,
            },
        }
    }

    /// Reads the shared keys of a remote's section over `defaults` and checks them; returns them
    /// with the section's other keys, for the remote to read as its own. An unknown key in those
    /// is the remote's to report: [`RemoteShared::unknown_key`] names the shared keys too.
    pub fn parse(
        table: &toml::Table,
        defaults: RemoteShared,
    ) -> Result<(RemoteShared, toml::Table), String> {
        let mut rest = table.clone();
        let shared = RemoteShared {
            common: overlay(&defaults.common, &mut rest)?,
            http: overlay(&defaults.http, &mut rest)?,
        };
        if !(0.0..=1.0).contains(&shared.common.max_archive_share) {
            return Err("max_archive_share must be between 0 and 1".into());
        }
        if shared.common.poll_seconds == 0 {
            return Err("poll_seconds must be at least 1".into());
        }
        Ok((shared, rest))
    }

    /// The shared keys, sorted.
    pub fn keys() -> Vec<String> {
        let d = RemoteShared::defaults("");
        let mut keys: Vec<String> = table_of(&d.common)
            .into_iter()
            .chain(table_of(&d.http))
            .map(|(k, _)| k)
            .collect();
        keys.sort();
        keys
    }

    /// Reads a `[remotes.<name>]` table: the shared settings (with `name`'s defaults) and the
    /// remote's own keys as `T`, an unknown key reported with every key the section takes.
    pub fn split<T: serde::de::DeserializeOwned>(
        table: &toml::Table,
        name: &str,
    ) -> Result<(RemoteShared, T), String> {
        let (shared, own) = RemoteShared::parse(table, RemoteShared::defaults(name))?;
        let own: T = toml::Value::Table(own)
            .try_into()
            .map_err(|e: toml::de::Error| RemoteShared::unknown_key(e.message().into()))?;
        Ok((shared, own))
    }

    /// Checks a `base_url`: an http(s) URL with a host part.
    pub fn check_base_url(url: &str) -> Result<(), String> {
        if (url.starts_with("http://") || url.starts_with("https://"))
            && url.len() > "https://".len()
        {
            Ok(())
        } else {
            Err(format!("base_url `{url}` is not an http(s) URL"))
        }
    }

    /// A remote's own parse error, its list of expected keys completed with the shared ones
    /// (serde's `unknown field `x`, expected one of ...` names only the remote's own keys).
    pub fn unknown_key(message: String) -> String {
        const EXPECTED: &str = ", expected one of ";
        if !message.starts_with("unknown field") {
            return message;
        }
        let shared: Vec<String> = RemoteShared::keys()
            .iter()
            .map(|k| format!("`{k}`"))
            .collect();
        match message.split_once(EXPECTED) {
            Some((head, own)) => format!("{head}{EXPECTED}{}, {own}", shared.join(", ")),
            None => message,
        }
    }
}

fn table_of<T: serde::Serialize>(value: &T) -> toml::Table {
    toml::Table::try_from(value).unwrap_or_default()
}

/// `defaults` with the keys of its type taken out of `rest`.
fn overlay<T: serde::Serialize + serde::de::DeserializeOwned>(
    defaults: &T,
    rest: &mut toml::Table,
) -> Result<T, String> {
    let mut table = table_of(defaults);
    for (key, value) in table.iter_mut() {
        if let Some(v) = rest.remove(key) {
            *value = v;
        }
    }
    toml::Value::Table(table)
        .try_into()
        .map_err(|e: toml::de::Error| e.message().to_string())
}

/// A configuration that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error(transparent)]
    Io(#[from] crate::fsutil::FsError),
    /// The TOML is invalid or holds unknown keys.
    #[error("{}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong, with its line.
        message: String,
    },
    /// No vault was found.
    #[error(
        "no vault here: no {FILE_NAME} in {} or any folder above it (create one with `ssot-vault init DIR`, or pass --vault DIR)",
        start.display()
    )]
    NotFound {
        /// Where the search started.
        start: PathBuf,
    },
}

impl Config {
    /// Reads `ssot-vault.toml` at `root`; a vault without one gets the defaults.
    pub fn load(root: &Path) -> Result<Config, ConfigError> {
        let path = root.join(FILE_NAME);
        if !path.exists() {
            return Ok(Config::default());
        }
        let bytes = crate::fsutil::read(&path)?;
        let text = String::from_utf8_lossy(&bytes);
        Config::parse(&text).map_err(|message| ConfigError::Parse { path, message })
    }

    /// Parses configuration text.
    pub fn parse(text: &str) -> Result<Config, String> {
        toml::from_str(text).map_err(|e| {
            let msg = e.message().to_string();
            match e.span() {
                Some(span) => {
                    let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
                    format!("line {line}: {msg}")
                }
                None => msg,
            }
        })
    }
}

/// Finds the vault root: `start` or the nearest parent holding `ssot-vault.toml`.
pub fn find_root(start: &Path) -> Result<PathBuf, ConfigError> {
    let start = std::path::absolute(start).unwrap_or_else(|_| start.to_path_buf());
    let mut dir = Some(start.as_path());
    while let Some(d) = dir {
        if d.join(FILE_NAME).is_file() {
            return Ok(d.to_path_buf());
        }
        dir = d.parent();
    }
    Err(ConfigError::NotFound { start })
}

/// A remote's section of the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("[remotes.{remote}] in ssot-vault.toml: {message}")]
pub struct SectionError {
    /// The remote.
    pub remote: &'static str,
    /// What is wrong.
    pub message: String,
}

/// A remote's own configuration section, `[remotes.<NAME>]`: its keys beside the shared ones
/// ([`RemoteShared`]), read and checked the same way for every service (each connector's
/// `config.rs` implements it).
pub trait RemoteSection: Default + serde::de::DeserializeOwned {
    /// The remote's name: its section.
    const NAME: &'static str;
    /// Where the shared settings read beside the section's own keys are kept.
    fn shared_mut(&mut self) -> &mut RemoteShared;
    /// Checks the section's own keys; the message says what is wrong and what to write.
    fn check(&self) -> Result<(), String>;

    /// Reads a `[remotes.<NAME>]` table.
    fn read_table(table: &toml::Table) -> Result<Self, SectionError> {
        let error = |message| SectionError {
            remote: Self::NAME,
            message,
        };
        let (shared, mut own): (RemoteShared, Self) =
            RemoteShared::split(table, Self::NAME).map_err(error)?;
        *own.shared_mut() = shared;
        own.check().map_err(error)?;
        Ok(own)
    }

    /// Reads the section from the configuration (the defaults when it is absent).
    fn read(config: &Config) -> Result<Self, SectionError> {
        match config.remotes.get(Self::NAME) {
            None => Ok(Self::default()),
            Some(table) => Self::read_table(table),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_config_parses() {
        let c = Config::parse(include_str!("../vault-template/ssot-vault.toml")).unwrap();
        assert_eq!(c.folders.client, "Clients");
        assert!(
            c.remotes
                .values()
                .all(|r| r.get("enabled").and_then(|v| v.as_bool()) == Some(false))
        );
        assert_eq!(c.remotes.len(), 5);
        assert_eq!(c.workflow.credentialing.len(), 4);
    }

    #[test]
    fn shared_remote_keys_parse_over_the_defaults() {
        let t: toml::Table = toml::from_str(
            "enabled = true\nmax_retries = 2\nconflict_policy = \"vault-wins\"\nown = 1",
        )
        .unwrap();
        let (shared, rest) = RemoteShared::parse(&t, RemoteShared::defaults("svc")).unwrap();
        assert!(shared.common.enabled);
        assert_eq!(shared.common.conflict_policy, ConflictPolicy::VaultWins);
        assert_eq!(shared.common.author_name, "ssot-vault (svc)");
        assert_eq!(shared.http.max_retries, 2);
        assert_eq!(shared.http.retry_base_ms, 500);
        assert_eq!(rest.keys().collect::<Vec<_>>(), ["own"]);
        let t: toml::Table = toml::from_str("enabled = \"yes\"").unwrap();
        let e = RemoteShared::parse(&t, RemoteShared::defaults("svc")).unwrap_err();
        assert!(e.contains("expected a boolean"), "{e}");
        let t: toml::Table = toml::from_str("max_archive_share = 1.5").unwrap();
        assert!(RemoteShared::parse(&t, RemoteShared::defaults("svc")).is_err());
        assert_eq!(RemoteShared::keys().len(), 14);
        assert_eq!(
            RemoteShared::unknown_key("unknown field `x`, expected one of `own`".into()),
            format!(
                "unknown field `x`, expected one of {}, `own`",
                RemoteShared::keys()
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        );
    }

    #[test]
    fn credentialing_list() {
        let c = Config::parse("[workflow]\ncredentialing = [\"NDA\"]\n").unwrap();
        assert_eq!(c.workflow.credentialing, vec!["NDA".to_string()]);
        assert_eq!(Config::default().workflow.credentialing.len(), 4);
    }

    #[test]
    fn errors_name_the_line() {
        let e = Config::parse("[vault]\nignore = []\ntypo = 1\n").unwrap_err();
        assert!(e.starts_with("line 3:"), "{e}");
    }

    #[test]
    fn extra_fields() {
        let c = Config::parse("[schema.client.fields]\nvat = \"string\"\nseg = { type = \"enum\", values = [\"a\"] }\n").unwrap();
        assert_eq!(c.schema["client"].fields.len(), 2);
    }
}
