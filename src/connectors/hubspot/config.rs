//! `[remotes.hubspot]` in `ssot-vault.toml`, typed, with every default compiled in.
//!
//! ```toml
//! [remotes.hubspot]
//! enabled = true
//! base_url = "https://api.hubapi.com"
//! token_env = "HUBSPOT_TOKEN"          # the private app token is read from this variable,
//! keyring_entry = "hubspot"            # else from the OS keyring entry ssot-vault/<this>
//! conflict_policy = "manual"           # manual | vault-wins | remote-wins
//! archive_deleted_notes = false        # a deleted note archives its record
//! max_archive_share = 0.2              # refuse plans archiving more than this share
//! search_per_second = 4                # client-side search pacing (0: none, e.g. a sandbox)
//!
//! [remotes.hubspot.fields.client]      # frontmatter key = HubSpot property ("" unmaps a key)
//! industry = "industry_custom"
//!
//! [remotes.hubspot.directions.client]  # both (default) | push (vault owns) | pull (HubSpot owns)
//! created = "pull"
//!
//! [remotes.hubspot.tables.project.status]   # vault value = remote value
//! blocked = "1234567890"               # a stage added to the pipeline, by its internal id
//! ```
//!
//! The default stage table (`mapping::default_table`) gives `blocked` the open stage one back
//! from active's (`decisionmakerboughtin`), and `done` and `archived` `closedwon`.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::config::{RemoteCommon, RemoteSection, RemoteShared};

/// The name of this remote in `ssot-vault.toml` and in `Ssot-Source`.
pub const NAME: &str = "hubspot";

/// The frontmatter key holding a note's HubSpot record id.
pub const ID_KEY: &str = "hubspot_id";

/// `[remotes.hubspot]`: the keys every remote shares ([`RemoteShared`]) and HubSpot's own. Read
/// it with [`HubspotConfig::from_table`] (or `from_config`): its own `Deserialize` reads only
/// HubSpot's keys.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HubspotConfig {
    /// The keys every remote shares: `enabled`, the conflict policy, the archive rail, the
    /// archived-record check and full-pull intervals, the commit author, the HTTP limits and
    /// retries (HubSpot's Free/Starter limit is 100 requests per 10 seconds, the default).
    #[serde(skip)]
    pub shared: RemoteShared,
    /// API root; point it at `ssot-vault sandbox` for a dry rehearsal.
    pub base_url: String,
    /// Environment variable holding the private app access token (consulted first).
    pub token_env: String,
    /// The OS keyring entry (user name under the service `ssot-vault`) holding the token when
    /// the variable is unset; written by `ssot-vault auth set hubspot`. Two vaults syncing two
    /// HubSpot accounts use two entries.
    pub keyring_entry: String,
    /// Seconds the incremental pull re-reads before its cursor (search is eventually consistent).
    pub overlap_seconds: u64,
    /// Records per batch call (HubSpot's maximum is 100).
    pub batch_size: usize,
    /// Client-side limit of search requests per second (HubSpot's own limit per token, 4, is the
    /// default; 0: none, for a service without that limit, such as the demo's sandbox).
    pub search_per_second: u32,
    /// Note type of contacts created in HubSpot without an `ssot_role` (`client` or `expert`).
    pub default_contact_type: String,
    /// Create a company for clients with `company` set, associated with their contact.
    pub companies: bool,
    /// Field maps per note type: frontmatter key → HubSpot property (overrides the defaults; an
    /// empty property unmaps the key). `name` may map to `firstname+lastname`.
    pub fields: BTreeMap<String, BTreeMap<String, String>>,
    /// Value tables per note type and key: vault value → HubSpot value.
    pub tables: BTreeMap<String, BTreeMap<String, BTreeMap<String, String>>>,
    /// Which way a mapped key travels, per note type: `both` (the default), `push` (the vault
    /// owns it: HubSpot's value is never written into the note) or `pull` (HubSpot owns it, e.g.
    /// `createdate`: the note's value is never sent).
    pub directions: BTreeMap<String, BTreeMap<String, crate::connectors::Direction>>,
}

impl Default for HubspotConfig {
    fn default() -> Self {
        HubspotConfig {
            shared: RemoteShared::defaults(NAME),
            base_url: "https://api.hubapi.com".into(),
            token_env: "HUBSPOT_TOKEN".into(),
            keyring_entry: NAME.into(),
            overlap_seconds: 300,
            batch_size: 100,
            search_per_second: super::SEARCH_PER_SECOND,
            default_contact_type: "client".into(),
            companies: true,
            fields: BTreeMap::new(),
            tables: BTreeMap::new(),
            directions: BTreeMap::new(),
        }
    }
}

impl RemoteSection for HubspotConfig {
    const NAME: &'static str = NAME;
    fn shared_mut(&mut self) -> &mut RemoteShared {
        &mut self.shared
    }
    fn check(&self) -> Result<(), String> {
        if self.batch_size == 0 || self.batch_size > 100 {
            return Err("batch_size must be between 1 and 100 (HubSpot's limit)".into());
        }
        crate::secrets::check_entry_name(&self.keyring_entry)?;
        if self.token_env.trim().is_empty() {
            return Err("token_env must not be empty".into());
        }
        if !matches!(self.default_contact_type.as_str(), "client" | "expert") {
            return Err("default_contact_type must be `client` or `expert`".into());
        }
        for (ty, keys) in &self.directions {
            if keys
                .get("title")
                .is_some_and(|d| *d != crate::connectors::Direction::Push)
            {
                return Err(format!(
                    "directions.{ty}.title: a title is the note's file name and travels to HubSpot only (`push`)"
                ));
            }
        }
        for ty in self
            .fields
            .keys()
            .chain(self.tables.keys())
            .chain(self.directions.keys())
        {
            if !matches!(ty.as_str(), "client" | "expert" | "project") {
                return Err(format!(
                    "unknown note type `{ty}` (HubSpot syncs client, expert and project)"
                ));
            }
        }
        RemoteShared::check_base_url(&self.base_url)
    }
}

impl HubspotConfig {
    /// Where the token is looked up (see `crate::secrets`).
    pub fn credential_spec(&self) -> crate::secrets::CredentialSpec {
        crate::secrets::CredentialSpec {
            remote: NAME.into(),
            env_var: self.token_env.clone(),
            keyring_entry: self.keyring_entry.clone(),
        }
    }

    /// The settings the engine reads.
    pub fn common(&self) -> RemoteCommon {
        self.shared.common.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConflictPolicy;

    #[test]
    fn template_section_parses() {
        let c =
            crate::config::Config::parse(include_str!("../../../vault-template/ssot-vault.toml"))
                .unwrap();
        let h = HubspotConfig::read(&c).unwrap();
        assert!(!h.shared.common.enabled);
        assert_eq!(h.base_url, "https://api.hubapi.com");
        assert_eq!(h.shared.common.conflict_policy, ConflictPolicy::Manual);
    }

    #[test]
    fn typos_and_bad_values_are_errors() {
        let t: toml::Table = toml::from_str("enabeld = true").unwrap();
        assert!(HubspotConfig::read_table(&t).is_err());
        let t: toml::Table = toml::from_str("max_archive_share = 2.0").unwrap();
        assert!(HubspotConfig::read_table(&t).is_err());
        let t: toml::Table = toml::from_str(
            "conflict_policy = \"remote-wins\"\n[fields.client]\nphone = \"mobilephone\"",
        )
        .unwrap();
        let c = HubspotConfig::read_table(&t).unwrap();
        assert_eq!(c.shared.common.conflict_policy, ConflictPolicy::RemoteWins);
        assert_eq!(c.fields["client"]["phone"], "mobilephone");
        assert_eq!(c.keyring_entry, "hubspot");
        let t: toml::Table = toml::from_str("keyring_entry = \"hubspot-eu\"").unwrap();
        let spec = HubspotConfig::read_table(&t).unwrap().credential_spec();
        assert_eq!(spec.keyring_entry, "hubspot-eu");
        assert_eq!(spec.env_var, "HUBSPOT_TOKEN");
        let t: toml::Table = toml::from_str("keyring_entry = \"\"").unwrap();
        assert!(HubspotConfig::read_table(&t).is_err());
        // A typo names every key the section takes, the shared ones and HubSpot's own.
        let t: toml::Table = toml::from_str("enabeld = true").unwrap();
        let e = HubspotConfig::read_table(&t).unwrap_err().to_string();
        assert!(
            e.contains("unknown field `enabeld`, expected one of"),
            "{e}"
        );
        for key in [
            "`enabled`",
            "`max_retries`",
            "`author_name`",
            "`base_url`",
            "`directions`",
        ] {
            assert!(e.contains(key), "{key}: {e}");
        }
        // The shared keys keep their defaults and are read over them.
        let t: toml::Table =
            toml::from_str("enabled = true\nmax_retries = 3\nbatch_size = 50").unwrap();
        let c = HubspotConfig::read_table(&t).unwrap();
        assert!(c.shared.common.enabled);
        assert_eq!(c.shared.http.max_retries, 3);
        assert_eq!(c.shared.http.requests_per_10s, 100);
        assert_eq!(c.shared.common.author_name, "ssot-vault (hubspot)");
        assert_eq!(c.batch_size, 50);
        let mut want = HubspotConfig::default().common();
        want.enabled = true;
        assert_eq!(c.common(), want);
    }

    /// HubSpot's search limit paces searches by default; `search_per_second = 0` (a sandbox
    /// without the limit, as the demo's) paces none.
    #[test]
    fn search_pacing_follows_search_per_second() {
        use crate::connectors::Connector;
        crate::connectors::install_crypto();
        let paced = |text: &str| {
            let t: toml::Table = toml::from_str(text).unwrap();
            let c = HubspotConfig::read_table(&t).unwrap();
            let schema = crate::vault::schema::Schema::builtin();
            let h =
                super::super::Hubspot::new(c, &schema, crate::connectors::http::Secret::new("t"))
                    .unwrap();
            h.pacing().windows.into_keys().collect::<Vec<_>>()
        };
        assert_eq!(paced(""), ["/search"]);
        assert_eq!(paced("search_per_second = 2"), ["/search"]);
        assert!(paced("search_per_second = 0").is_empty());
    }
}
