//! The connector registry: one table of the services the vault syncs with, read by every command
//! that names a service (`sync`, `auth`, `doctor`, `resolve`, `demo`) and by the schema (the
//! remote id keys of the note types).
//!
//! A row says what a service is: its name (also its `[remotes.<name>]` section and the
//! `Ssot-Source` trailer), the hint shown when its configuration or its credentials are missing,
//! the id key it writes into each note type, and functions that read its settings, its bindings
//! and open its connector. The connector itself is an [`AnyConnector`], an enum over the
//! connectors implementing [`Connector`] by delegation (async trait methods are not object safe),
//! so the sync engine stays generic.
//!
//! Adding a service: its folder in `connectors/`, its emulation in `sandbox/`, one row in
//! [`SERVICES`] and one variant of [`AnyConnector`].

use std::collections::BTreeMap;

use crate::config::{Config, RemoteCommon, RemoteSection};
use crate::connectors::forms::{self, Forms, FormsConfig};
use crate::connectors::hubspot::{self, Hubspot, HubspotConfig};
use crate::connectors::jira::{self, Jira, JiraConfig};
use crate::connectors::sheets::{self, Sheets, SheetsConfig};
use crate::connectors::trello::{self, Trello, TrelloConfig};
use crate::connectors::{
    ActionOutcome, Binding, Connector, ConnectorError, Health, HttpStats, Pacing, Pulled,
    RemoteAction, RemoteRecord, Secret, Upsert, WriteOutcome,
};
use crate::secrets::{CredentialSource, CredentialSpec};
use crate::vault::schema::Schema;

/// A remote id key a service writes into notes of a type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdKey {
    /// The note type.
    pub note_type: &'static str,
    /// The frontmatter key (`hubspot_id`).
    pub key: &'static str,
    /// Its description in the schema.
    pub doc: &'static str,
}

/// What a service's configuration section says, in the terms every command reads.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `enabled`.
    pub enabled: bool,
    /// The API root (`base_url`).
    pub base_url: String,
    /// Where its credential is looked up.
    pub credentials: CredentialSpec,
    /// The settings the sync engine reads.
    pub common: RemoteCommon,
}

/// Changes to a service's configuration for one use of its connector.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// Another API root (the demo's sandbox).
    pub base_url: Option<String>,
    /// At most this many retries of a failed request (`doctor` gives up quickly).
    pub max_retries: Option<u32>,
    /// The credential to use instead of the environment's or the keyring's (the demo's, for
    /// its sandbox).
    pub credentials: Option<Secret>,
}

/// A connector cannot be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The service's configuration section is unusable.
    #[error("{0}")]
    Config(String),
    /// The connector failed to start (no credentials, an HTTP client error).
    #[error(transparent)]
    Connector(#[from] ConnectorError),
}

/// One service of the registry.
#[derive(Debug)]
pub struct Service {
    /// The remote's name: its `[remotes.<name>]` section, `--remote NAME`, `auth set NAME`.
    pub name: &'static str,
    /// Shown with an error in its configuration section.
    pub config_hint: &'static str,
    /// Shown when no credential is found: how to get one.
    pub credentials_hint: &'static str,
    /// The remote id key it writes into each note type it syncs.
    pub id_keys: &'static [IdKey],
    /// Reads its settings from the configuration (defaults when the section is absent).
    pub settings: fn(&Config) -> Result<Settings, String>,
    /// Its bindings, without connecting.
    pub bindings: fn(&Config, &Schema) -> Result<Vec<Binding>, String>,
    /// Opens its connector with a token.
    pub open: fn(&Config, &Schema, &Overrides, Secret) -> Result<AnyConnector, OpenError>,
}

/// The services with a connector.
pub static SERVICES: &[Service] = &[
    Service {
        name: hubspot::NAME,
        config_hint: "see the commented [remotes.hubspot] section of the template",
        credentials_hint: "create a private app in HubSpot (Settings → Integrations → Private apps); pipe its token into `ssot-vault auth set hubspot`, or export it",
        id_keys: &[
            IdKey {
                note_type: "client",
                key: hubspot::ID_KEY,
                doc: "HubSpot record id, written by sync",
            },
            IdKey {
                note_type: "expert",
                key: hubspot::ID_KEY,
                doc: "HubSpot record id, written by sync",
            },
            IdKey {
                note_type: "project",
                key: hubspot::ID_KEY,
                doc: "HubSpot deal id, written by sync",
            },
        ],
        settings: settings_of::<HubspotConfig>,
        bindings: hubspot_bindings,
        open: hubspot_open,
    },
    Service {
        name: trello::NAME,
        config_hint: "see the commented [remotes.trello] section of the template",
        credentials_hint: "get the API key and a token at https://trello.com/power-ups/admin (your Power-Up → API key → Token); export the key as TRELLO_KEY (or set `key`), and pipe the token into `ssot-vault auth set trello`, or export it as TRELLO_TOKEN",
        id_keys: &[IdKey {
            note_type: "project",
            key: trello::ID_KEY,
            doc: "Trello card id, written by sync",
        }],
        settings: settings_of::<TrelloConfig>,
        bindings: trello_bindings,
        open: trello_open,
    },
    Service {
        name: jira::NAME,
        config_hint: "see the commented [remotes.jira] section of the template",
        credentials_hint: "create an API token at https://id.atlassian.com/manage-profile/security/api-tokens; pipe it into `ssot-vault auth set jira` (or export JIRA_API_TOKEN) and give the account's email as `email` in [remotes.jira] or JIRA_EMAIL",
        id_keys: &[
            IdKey {
                note_type: "expert",
                key: jira::ACCOUNT_KEY,
                doc: "Jira account, for access to project issues",
            },
            IdKey {
                note_type: "project",
                key: jira::ID_KEY,
                doc: "Jira issue key, written by sync",
            },
        ],
        settings: settings_of::<JiraConfig>,
        bindings: jira_bindings,
        open: jira_open,
    },
    Service {
        name: forms::NAME,
        config_hint: "see the commented [remotes.forms] section of the template",
        credentials_hint: "create a service account in Google Cloud (IAM → Service accounts), enable the Forms API, download its JSON key and share the form with the account's e-mail; export the key file's path as GOOGLE_APPLICATION_CREDENTIALS, or pipe the key (or its path) into `ssot-vault auth set forms`",
        id_keys: &[IdKey {
            note_type: forms::NOTE_TYPE,
            key: forms::ID_KEY,
            doc: "Google Forms response id, written by sync",
        }],
        settings: settings_of::<FormsConfig>,
        bindings: forms_bindings,
        open: forms_open,
    },
    Service {
        name: sheets::NAME,
        config_hint: "see the commented [remotes.sheets] section of the template",
        credentials_hint: "create a service account in Google Cloud (IAM → Service accounts), enable the Sheets API, download its JSON key and share the spreadsheet with the account's e-mail (Editor); export the key file's path as GOOGLE_APPLICATION_CREDENTIALS, or pipe the key (or its path) into `ssot-vault auth set sheets`",
        id_keys: &[
            IdKey {
                note_type: "client",
                key: sheets::ID_KEY,
                doc: "Google Sheets row key (the note's ssot_id in the sheet's key column), written by sync",
            },
            IdKey {
                note_type: "expert",
                key: sheets::ID_KEY,
                doc: "Google Sheets row key (the note's ssot_id in the sheet's key column), written by sync",
            },
            IdKey {
                note_type: "project",
                key: sheets::ID_KEY,
                doc: "Google Sheets row key (the note's ssot_id in the sheet's key column), written by sync",
            },
        ],
        settings: settings_of::<SheetsConfig>,
        bindings: sheets_bindings,
        open: sheets_open,
    },
];

/// What the registry reads of a service's configuration type: every connector's config has a
/// `base_url`, embeds [`crate::config::RemoteShared`] and names its credential.
trait ServiceConfig: Sized {
    /// Reads its `[remotes.<name>]` section (defaults when absent).
    fn load(config: &Config) -> Result<Self, String>;
    /// Its settings, in the terms every command reads.
    fn settings(&self) -> Settings;
    /// Applies one use's overrides.
    fn apply(&mut self, overrides: &Overrides);
}

macro_rules! service_config {
    ($($ty:ty),*) => {$(
        impl ServiceConfig for $ty {
            fn load(config: &Config) -> Result<Self, String> {
                <$ty>::read(config).map_err(|e| e.to_string())
            }
            fn settings(&self) -> Settings {
                Settings {
                    enabled: self.shared.common.enabled,
                    base_url: self.base_url.clone(),
                    credentials: self.credential_spec(),
                    common: self.common(),
                }
            }
            fn apply(&mut self, overrides: &Overrides) {
                if let Some(url) = &overrides.base_url {
                    self.base_url = url.clone();
                }
                if let Some(max) = overrides.max_retries {
                    self.shared.http.max_retries = self.shared.http.max_retries.min(max);
                }
            }
        }
    )*};
}

service_config!(
    HubspotConfig,
    TrelloConfig,
    JiraConfig,
    FormsConfig,
    SheetsConfig
);

fn settings_of<C: ServiceConfig>(config: &Config) -> Result<Settings, String> {
    Ok(C::load(config)?.settings())
}

/// A service's configuration with one use's overrides applied.
fn configured<C: ServiceConfig>(config: &Config, overrides: &Overrides) -> Result<C, OpenError> {
    let mut cfg = C::load(config).map_err(OpenError::Config)?;
    cfg.apply(overrides);
    Ok(cfg)
}

fn hubspot_bindings(config: &Config, schema: &Schema) -> Result<Vec<Binding>, String> {
    let cfg = HubspotConfig::load(config)?;
    Ok(hubspot::mapping::bindings(&hubspot::mapping::build(
        &cfg, schema,
    )))
}

fn hubspot_open(
    config: &Config,
    schema: &Schema,
    overrides: &Overrides,
    token: Secret,
) -> Result<AnyConnector, OpenError> {
    let cfg = configured::<HubspotConfig>(config, overrides)?;
    Ok(AnyConnector::Hubspot(Hubspot::new(cfg, schema, token)?))
}

fn trello_bindings(config: &Config, schema: &Schema) -> Result<Vec<Binding>, String> {
    let cfg = TrelloConfig::load(config)?;
    Ok(trello::mapping::bindings(&trello::mapping::build(
        &cfg, schema,
    )))
}

fn trello_open(
    config: &Config,
    schema: &Schema,
    overrides: &Overrides,
    token: Secret,
) -> Result<AnyConnector, OpenError> {
    let cfg = configured::<TrelloConfig>(config, overrides)?;
    Ok(AnyConnector::Trello(Trello::new(cfg, schema, token)?))
}

fn jira_bindings(config: &Config, schema: &Schema) -> Result<Vec<Binding>, String> {
    let cfg = JiraConfig::load(config)?;
    Ok(jira::mapping::bindings(
        &cfg,
        &jira::mapping::build(&cfg, schema),
    ))
}

fn jira_open(
    config: &Config,
    schema: &Schema,
    overrides: &Overrides,
    token: Secret,
) -> Result<AnyConnector, OpenError> {
    let cfg = configured::<JiraConfig>(config, overrides)?;
    let email = cfg.account_email(&|v| std::env::var(v).ok());
    Ok(AnyConnector::Jira(Jira::new(cfg, schema, email, token)?))
}

fn forms_bindings(config: &Config, schema: &Schema) -> Result<Vec<Binding>, String> {
    let cfg = FormsConfig::load(config)?;
    Ok(vec![forms::mapping::binding(&forms::mapping::build(
        &cfg, schema,
    ))])
}

fn forms_open(
    config: &Config,
    schema: &Schema,
    overrides: &Overrides,
    credential: Secret,
) -> Result<AnyConnector, OpenError> {
    let cfg = configured::<FormsConfig>(config, overrides)?;
    Ok(AnyConnector::Forms(Forms::new(cfg, schema, credential)))
}

fn sheets_bindings(config: &Config, schema: &Schema) -> Result<Vec<Binding>, String> {
    let cfg = SheetsConfig::load(config)?;
    Ok(sheets::mapping::bindings(&sheets::mapping::build(
        &cfg, schema,
    )))
}

fn sheets_open(
    config: &Config,
    schema: &Schema,
    overrides: &Overrides,
    credential: Secret,
) -> Result<AnyConnector, OpenError> {
    let cfg = configured::<SheetsConfig>(config, overrides)?;
    Ok(AnyConnector::Sheets(Sheets::new(cfg, schema, credential)))
}

/// The names of the services, in the registry's order.
pub fn names() -> Vec<&'static str> {
    SERVICES.iter().map(|s| s.name).collect()
}

/// The service of a remote's name.
pub fn by_name(name: &str) -> Option<&'static Service> {
    SERVICES.iter().find(|s| s.name == name)
}

/// The services whose section says `enabled = true` (read loosely: an unreadable section is
/// reported when the service is opened).
pub fn enabled(config: &Config) -> Vec<&'static Service> {
    SERVICES
        .iter()
        .filter(|s| {
            config
                .remotes
                .get(s.name)
                .and_then(|t| t.get("enabled"))
                .and_then(|v| v.as_bool())
                == Some(true)
        })
        .collect()
}

/// The remote id keys of a note type, one per service that syncs it.
pub fn id_keys(note_type: &str) -> impl Iterator<Item = &'static IdKey> + '_ {
    SERVICES
        .iter()
        .flat_map(|s| s.id_keys.iter())
        .filter(move |k| k.note_type == note_type)
}

impl Service {
    /// Where its credential is looked up.
    pub fn credential_spec(&self, config: &Config) -> Result<CredentialSpec, String> {
        Ok((self.settings)(config)?.credentials)
    }

    /// Opens its connector with the credential the environment or the OS keyring holds (see
    /// `crate::secrets`); the connector remembers where the token came from.
    pub fn open_with_credentials(
        &self,
        config: &Config,
        schema: &Schema,
        overrides: &Overrides,
    ) -> Result<(AnyConnector, RemoteCommon), OpenError> {
        let settings = (self.settings)(config).map_err(OpenError::Config)?;
        if let Some(token) = &overrides.credentials {
            let conn = (self.open)(config, schema, overrides, token.clone())?;
            return Ok((conn, settings.common));
        }
        let (token, source) = crate::secrets::resolve(&settings.credentials)?;
        let conn = (self.open)(config, schema, overrides, token)?.with_source(source);
        Ok((conn, settings.common))
    }
}

/// A connector of any service in the registry. (Its variants differ in size; one connector is
/// open at a time, so none is boxed.)
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum AnyConnector {
    /// HubSpot.
    Hubspot(Hubspot),
    /// Trello.
    Trello(Trello),
    /// Jira Cloud.
    Jira(Jira),
    /// Google Forms (read only).
    Forms(Forms),
    /// Google Sheets.
    Sheets(Sheets),
}

impl AnyConnector {
    /// Where the token came from, when known.
    pub fn credential_source(&self) -> Option<&CredentialSource> {
        match self {
            AnyConnector::Hubspot(c) => c.credential_source(),
            AnyConnector::Trello(c) => c.credential_source(),
            AnyConnector::Jira(c) => c.credential_source(),
            AnyConnector::Forms(c) => c.credential_source(),
            AnyConnector::Sheets(c) => c.credential_source(),
        }
    }

    /// Records where the token came from (named when the service refuses it).
    pub fn with_source(self, source: CredentialSource) -> AnyConnector {
        match self {
            AnyConnector::Hubspot(c) => AnyConnector::Hubspot(c.with_source(source)),
            AnyConnector::Trello(c) => AnyConnector::Trello(c.with_source(source)),
            AnyConnector::Jira(c) => AnyConnector::Jira(c.with_source(source)),
            AnyConnector::Forms(c) => AnyConnector::Forms(c.with_source(source)),
            AnyConnector::Sheets(c) => AnyConnector::Sheets(c.with_source(source)),
        }
    }
}

impl Connector for AnyConnector {
    fn name(&self) -> &str {
        match self {
            AnyConnector::Hubspot(c) => c.name(),
            AnyConnector::Trello(c) => c.name(),
            AnyConnector::Jira(c) => c.name(),
            AnyConnector::Forms(c) => c.name(),
            AnyConnector::Sheets(c) => c.name(),
        }
    }
    fn bindings(&self) -> &[Binding] {
        match self {
            AnyConnector::Hubspot(c) => c.bindings(),
            AnyConnector::Trello(c) => c.bindings(),
            AnyConnector::Jira(c) => c.bindings(),
            AnyConnector::Forms(c) => c.bindings(),
            AnyConnector::Sheets(c) => c.bindings(),
        }
    }
    fn load_state(&mut self, state: serde_json::Value) {
        match self {
            AnyConnector::Hubspot(c) => c.load_state(state),
            AnyConnector::Trello(c) => c.load_state(state),
            AnyConnector::Jira(c) => c.load_state(state),
            AnyConnector::Forms(c) => c.load_state(state),
            AnyConnector::Sheets(c) => c.load_state(state),
        }
    }
    fn save_state(&self) -> serde_json::Value {
        match self {
            AnyConnector::Hubspot(c) => c.save_state(),
            AnyConnector::Trello(c) => c.save_state(),
            AnyConnector::Jira(c) => c.save_state(),
            AnyConnector::Forms(c) => c.save_state(),
            AnyConnector::Sheets(c) => c.save_state(),
        }
    }
    async fn pull(&mut self, cursor: Option<&serde_json::Value>) -> Result<Pulled, ConnectorError> {
        match self {
            AnyConnector::Hubspot(c) => c.pull(cursor).await,
            AnyConnector::Trello(c) => c.pull(cursor).await,
            AnyConnector::Jira(c) => c.pull(cursor).await,
            AnyConnector::Forms(c) => c.pull(cursor).await,
            AnyConnector::Sheets(c) => c.pull(cursor).await,
        }
    }
    async fn fetch(
        &mut self,
        note_type: &str,
        ids: &[String],
    ) -> Result<Vec<RemoteRecord>, ConnectorError> {
        match self {
            AnyConnector::Hubspot(c) => c.fetch(note_type, ids).await,
            AnyConnector::Trello(c) => c.fetch(note_type, ids).await,
            AnyConnector::Jira(c) => c.fetch(note_type, ids).await,
            AnyConnector::Forms(c) => c.fetch(note_type, ids).await,
            AnyConnector::Sheets(c) => c.fetch(note_type, ids).await,
        }
    }
    async fn archived(
        &mut self,
        note_type: &str,
        ids: &[String],
    ) -> Result<Vec<String>, ConnectorError> {
        match self {
            AnyConnector::Hubspot(c) => c.archived(note_type, ids).await,
            AnyConnector::Trello(c) => c.archived(note_type, ids).await,
            AnyConnector::Jira(c) => c.archived(note_type, ids).await,
            AnyConnector::Forms(c) => c.archived(note_type, ids).await,
            AnyConnector::Sheets(c) => c.archived(note_type, ids).await,
        }
    }
    async fn associated(
        &mut self,
        note_type: &str,
        ids: &[String],
        kinds: &[String],
    ) -> Result<BTreeMap<String, Vec<(String, String)>>, ConnectorError> {
        match self {
            AnyConnector::Hubspot(c) => c.associated(note_type, ids, kinds).await,
            AnyConnector::Trello(c) => c.associated(note_type, ids, kinds).await,
            AnyConnector::Jira(c) => c.associated(note_type, ids, kinds).await,
            AnyConnector::Forms(c) => c.associated(note_type, ids, kinds).await,
            AnyConnector::Sheets(c) => c.associated(note_type, ids, kinds).await,
        }
    }
    fn push_chunk(&self) -> usize {
        match self {
            AnyConnector::Hubspot(c) => c.push_chunk(),
            AnyConnector::Trello(c) => c.push_chunk(),
            AnyConnector::Jira(c) => c.push_chunk(),
            AnyConnector::Forms(c) => c.push_chunk(),
            AnyConnector::Sheets(c) => c.push_chunk(),
        }
    }
    async fn upsert(
        &mut self,
        run_id: &str,
        batch: &[Upsert],
    ) -> Result<Vec<WriteOutcome>, ConnectorError> {
        match self {
            AnyConnector::Hubspot(c) => c.upsert(run_id, batch).await,
            AnyConnector::Trello(c) => c.upsert(run_id, batch).await,
            AnyConnector::Jira(c) => c.upsert(run_id, batch).await,
            AnyConnector::Forms(c) => c.upsert(run_id, batch).await,
            AnyConnector::Sheets(c) => c.upsert(run_id, batch).await,
        }
    }
    async fn archive(&mut self, note_type: &str, ids: &[String]) -> Result<(), ConnectorError> {
        match self {
            AnyConnector::Hubspot(c) => c.archive(note_type, ids).await,
            AnyConnector::Trello(c) => c.archive(note_type, ids).await,
            AnyConnector::Jira(c) => c.archive(note_type, ids).await,
            AnyConnector::Forms(c) => c.archive(note_type, ids).await,
            AnyConnector::Sheets(c) => c.archive(note_type, ids).await,
        }
    }
    async fn act(
        &mut self,
        action: &RemoteAction,
        remote_id: &str,
    ) -> Result<ActionOutcome, ConnectorError> {
        match self {
            AnyConnector::Hubspot(c) => c.act(action, remote_id).await,
            AnyConnector::Trello(c) => c.act(action, remote_id).await,
            AnyConnector::Jira(c) => c.act(action, remote_id).await,
            AnyConnector::Forms(c) => c.act(action, remote_id).await,
            AnyConnector::Sheets(c) => c.act(action, remote_id).await,
        }
    }
    async fn healthcheck(&mut self) -> Result<Health, ConnectorError> {
        match self {
            AnyConnector::Hubspot(c) => c.healthcheck().await,
            AnyConnector::Trello(c) => c.healthcheck().await,
            AnyConnector::Jira(c) => c.healthcheck().await,
            AnyConnector::Forms(c) => c.healthcheck().await,
            AnyConnector::Sheets(c) => c.healthcheck().await,
        }
    }
    fn stats(&self) -> HttpStats {
        match self {
            AnyConnector::Hubspot(c) => c.stats(),
            AnyConnector::Trello(c) => c.stats(),
            AnyConnector::Jira(c) => c.stats(),
            AnyConnector::Forms(c) => c.stats(),
            AnyConnector::Sheets(c) => c.stats(),
        }
    }
    fn settle_at(&self) -> Option<crate::connectors::Settle> {
        match self {
            AnyConnector::Hubspot(c) => c.settle_at(),
            AnyConnector::Trello(c) => c.settle_at(),
            AnyConnector::Jira(c) => c.settle_at(),
            AnyConnector::Forms(c) => c.settle_at(),
            AnyConnector::Sheets(c) => c.settle_at(),
        }
    }
    async fn settle_pull(
        &mut self,
        cursor: Option<&serde_json::Value>,
        unchanged: &mut (dyn FnMut(&RemoteRecord) -> bool + Send),
    ) -> Result<Option<serde_json::Value>, ConnectorError> {
        match self {
            AnyConnector::Hubspot(c) => c.settle_pull(cursor, unchanged).await,
            AnyConnector::Trello(c) => c.settle_pull(cursor, unchanged).await,
            AnyConnector::Jira(c) => c.settle_pull(cursor, unchanged).await,
            AnyConnector::Forms(c) => c.settle_pull(cursor, unchanged).await,
            AnyConnector::Sheets(c) => c.settle_pull(cursor, unchanged).await,
        }
    }
    fn set_vault_root(&mut self, root: &std::path::Path) {
        match self {
            AnyConnector::Hubspot(c) => c.set_vault_root(root),
            AnyConnector::Trello(c) => c.set_vault_root(root),
            AnyConnector::Jira(c) => c.set_vault_root(root),
            AnyConnector::Forms(c) => c.set_vault_root(root),
            AnyConnector::Sheets(c) => c.set_vault_root(root),
        }
    }
    fn set_dry_run(&mut self, dry_run: bool) {
        match self {
            AnyConnector::Hubspot(c) => c.set_dry_run(dry_run),
            AnyConnector::Trello(c) => c.set_dry_run(dry_run),
            AnyConnector::Jira(c) => c.set_dry_run(dry_run),
            AnyConnector::Forms(c) => c.set_dry_run(dry_run),
            AnyConnector::Sheets(c) => c.set_dry_run(dry_run),
        }
    }

    fn guards_remote_moves(&self) -> bool {
        match self {
            AnyConnector::Hubspot(c) => c.guards_remote_moves(),
            AnyConnector::Trello(c) => c.guards_remote_moves(),
            AnyConnector::Jira(c) => c.guards_remote_moves(),
            AnyConnector::Forms(c) => c.guards_remote_moves(),
            AnyConnector::Sheets(c) => c.guards_remote_moves(),
        }
    }
    fn records_hold_ssot_id(&self) -> bool {
        match self {
            AnyConnector::Hubspot(c) => c.records_hold_ssot_id(),
            AnyConnector::Trello(c) => c.records_hold_ssot_id(),
            AnyConnector::Jira(c) => c.records_hold_ssot_id(),
            AnyConnector::Forms(c) => c.records_hold_ssot_id(),
            AnyConnector::Sheets(c) => c.records_hold_ssot_id(),
        }
    }
    fn changed_by(&self, remote_id: &str) -> Option<(String, String)> {
        match self {
            AnyConnector::Hubspot(c) => c.changed_by(remote_id),
            AnyConnector::Trello(c) => c.changed_by(remote_id),
            AnyConnector::Jira(c) => c.changed_by(remote_id),
            AnyConnector::Forms(c) => c.changed_by(remote_id),
            AnyConnector::Sheets(c) => c.changed_by(remote_id),
        }
    }
    fn pacing(&self) -> Pacing {
        match self {
            AnyConnector::Hubspot(c) => c.pacing(),
            AnyConnector::Trello(c) => c.pacing(),
            AnyConnector::Jira(c) => c.pacing(),
            AnyConnector::Forms(c) => c.pacing(),
            AnyConnector::Sheets(c) => c.pacing(),
        }
    }
    fn restore_pacing(&mut self, pacing: &Pacing) {
        match self {
            AnyConnector::Hubspot(c) => c.restore_pacing(pacing),
            AnyConnector::Trello(c) => c.restore_pacing(pacing),
            AnyConnector::Jira(c) => c.restore_pacing(pacing),
            AnyConnector::Forms(c) => c.restore_pacing(pacing),
            AnyConnector::Sheets(c) => c.restore_pacing(pacing),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_agree_with_their_connectors() {
        let config = Config::default();
        let schema = Schema::builtin();
        for s in SERVICES {
            assert_eq!(by_name(s.name).map(|r| r.name), Some(s.name));
            // The id keys the row declares are the ones its bindings write.
            let bindings = (s.bindings)(&config, &schema).unwrap();
            for b in &bindings {
                let declared: Vec<&str> = id_keys(&b.note_type).map(|k| k.key).collect();
                assert!(
                    declared.contains(&b.id_key.as_str()),
                    "{}: {}",
                    s.name,
                    b.id_key
                );
                assert!(
                    schema
                        .get(&b.note_type)
                        .and_then(|t| t.field(&b.id_key))
                        .is_some()
                );
            }
            let settings = (s.settings)(&config).unwrap();
            assert_eq!(settings.credentials.remote, s.name);
            assert!(!settings.enabled);
            let conn = (s.open)(&config, &schema, &Overrides::default(), Secret::new("t")).unwrap();
            assert_eq!(conn.name(), s.name);
            assert_eq!(conn.bindings(), bindings.as_slice());
        }
        assert!(by_name("sheets").is_some());
    }

    #[test]
    fn enabled_reads_the_sections() {
        let c =
            Config::parse("[remotes.hubspot]\nenabled = true\n[remotes.jira]\nenabled = true\n")
                .unwrap();
        assert_eq!(
            enabled(&c).iter().map(|s| s.name).collect::<Vec<_>>(),
            ["hubspot", "jira"]
        );
        assert!(enabled(&Config::default()).is_empty());
    }
}
