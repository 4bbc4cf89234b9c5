//! `[remotes.trello]` in `ssot-vault.toml`, typed, with every default compiled in.
//!
//! ```toml
//! [remotes.trello]
//! enabled = true
//! base_url = "https://api.trello.com/1"
//! board_id = "5f1c…"                   # the board's id (or set `board` to its name)
//! key_env = "TRELLO_KEY"               # the API key: `key = "…"` here, else this variable
//! token_env = "TRELLO_TOKEN"           # the token is read from this variable,
//! keyring_entry = "trello"             # else from the OS keyring entry ssot-vault/<this>
//! batch_size = 50                      # cards handed to one write call
//! overlap_seconds = 0                  # actions read again before the newest one seen
//! actions_page = 1000                  # actions a page of the feed holds (Trello's most)
//!
//! [remotes.trello.lists]               # project status = list name
//! blocked = "On hold"
//!
//! [remotes.trello.labels]              # priority = label name
//! urgent = "Urgent"
//!
//! [remotes.trello.custom_fields]       # frontmatter key = board custom field ("" unmaps)
//! budget = "Budget"
//!
//! # The helpdesk (off while `helpdesk_board` is empty): ticket notes ↔ cards of that board.
//! # helpdesk_board = "Helpdesk"
//! [remotes.trello.helpdesk_lists]      # ticket status = list name (Open, Answered, Closed)
//! [remotes.trello.helpdesk_parties]    # member username = client | expert (else team)
//! "anna.client" = "client"
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::config::{RemoteCommon, RemoteSection, RemoteShared};

use super::client;

/// The name of this remote in `ssot-vault.toml` and in `Ssot-Source`.
pub const NAME: &str = "trello";

/// The frontmatter key holding a project's card id.
pub const ID_KEY: &str = "trello_card_id";

/// `[remotes.trello]`: the keys every remote shares ([`RemoteShared`]) and Trello's own. Read it
/// with [`TrelloConfig::from_table`] (or `from_config`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrelloConfig {
    /// The keys every remote shares (Trello's limit is 100 requests per 10 seconds per token,
    /// the default).
    #[serde(skip)]
    pub shared: RemoteShared,
    /// API root (`https://api.trello.com/1`); point it at `ssot-vault sandbox` (`…/1`) for a
    /// dry rehearsal.
    pub base_url: String,
    /// The id of the board whose cards are the projects.
    pub board_id: String,
    /// The board's name, looked up among the token owner's boards when `board_id` is empty.
    pub board: String,
    /// The API key (not a secret on its own); empty: read from [`TrelloConfig::key_env`].
    pub key: String,
    /// Environment variable holding the API key when `key` is empty.
    pub key_env: String,
    /// Environment variable holding the token (consulted first).
    pub token_env: String,
    /// The OS keyring entry holding the token when the variable is unset.
    pub keyring_entry: String,
    /// Cards handed to one write call of the engine.
    pub batch_size: usize,
    /// Seconds of the board's actions read again before the newest one seen; 0 (the default):
    /// from the newest action on (an edit pulled by a run that could not write its note is read
    /// again by the engine, and a run that stops before its state is saved leaves the cursor
    /// where it was).
    pub overlap_seconds: u64,
    /// Actions one page of the feed asks for (`limit`, 1 to 1000).
    pub actions_page: usize,
    /// The checklist holding a project's `## Credentialing` tasks.
    pub checklist: String,
    /// Project status → list name (over the defaults; `""` unmaps a status).
    pub lists: BTreeMap<String, String>,
    /// Priority → label name (over the defaults).
    pub labels: BTreeMap<String, String>,
    /// Frontmatter key → board custom field name (over the defaults; `""` unmaps a key).
    pub custom_fields: BTreeMap<String, String>,
    /// The helpdesk's board (its id or name), whose cards are the ticket notes; empty: tickets
    /// are not synced.
    pub helpdesk_board: String,
    /// Ticket status → list name of the helpdesk board (over the defaults `Open`, `Answered`,
    /// `Closed`).
    pub helpdesk_lists: BTreeMap<String, String>,
    /// Trello member username → the party their comments are written as in a ticket's
    /// conversation (`client`, `expert`; anyone else is `team`).
    pub helpdesk_parties: BTreeMap<String, String>,
}

impl Default for TrelloConfig {
    fn default() -> Self {
        TrelloConfig {
            shared: RemoteShared::defaults(NAME),
            base_url: "https://api.trello.com/1".into(),
            board_id: String::new(),
            board: String::new(),
            key: String::new(),
            key_env: "TRELLO_KEY".into(),
            token_env: "TRELLO_TOKEN".into(),
            keyring_entry: NAME.into(),
            batch_size: 50,
            overlap_seconds: 0,
            actions_page: client::ACTIONS_LIMIT,
            checklist: "Credentialing".into(),
            lists: BTreeMap::new(),
            labels: BTreeMap::new(),
            custom_fields: BTreeMap::new(),
            helpdesk_board: String::new(),
            helpdesk_lists: BTreeMap::new(),
            helpdesk_parties: BTreeMap::new(),
        }
    }
}

impl RemoteSection for TrelloConfig {
    const NAME: &'static str = NAME;
    fn shared_mut(&mut self) -> &mut RemoteShared {
        &mut self.shared
    }
    fn check(&self) -> Result<(), String> {
        if self.batch_size == 0 || self.batch_size > 1000 {
            return Err("batch_size must be between 1 and 1000".into());
        }
        crate::secrets::check_entry_name(&self.keyring_entry)?;
        if self.token_env.trim().is_empty() {
            return Err("token_env must not be empty".into());
        }
        if self.key.trim().is_empty() && self.key_env.trim().is_empty() {
            return Err("set `key`, or `key_env` to the variable holding it".into());
        }
        if self.actions_page == 0 || self.actions_page > client::ACTIONS_LIMIT {
            return Err(format!(
                "actions_page must be between 1 and {}",
                client::ACTIONS_LIMIT
            ));
        }
        if self.checklist.trim().is_empty() {
            return Err("checklist must not be empty".into());
        }
        if !self.board_id.is_empty() && !is_id(&self.board_id) {
            return Err(format!(
                "board_id `{}` is not a Trello id (24 hexadecimal digits; the board's JSON export shows it)",
                self.board_id
            ));
        }
        let statuses = crate::vault::schema::PROJECT_STATUSES;
        if let Some(s) = self.lists.keys().find(|s| !statuses.contains(&s.as_str())) {
            return Err(format!(
                "lists.{s}: not a project status ({})",
                statuses.join(", ")
            ));
        }
        if let Some(s) = self
            .helpdesk_lists
            .keys()
            .find(|s| !["open", "answered", "closed"].contains(&s.as_str()))
        {
            return Err(format!(
                "helpdesk_lists.{s}: not a ticket status (open, answered, closed)"
            ));
        }
        if let Some((m, p)) = self
            .helpdesk_parties
            .iter()
            .find(|(_, p)| !["client", "expert", "team"].contains(&p.as_str()))
        {
            return Err(format!(
                "helpdesk_parties.{m}: `{p}` is not a party (client, expert, team)"
            ));
        }
        let board = |id: &str, name: &str| {
            if id.is_empty() {
                name.trim().to_string()
            } else {
                id.to_string()
            }
        };
        if !self.helpdesk_board.trim().is_empty()
            && self.helpdesk_board.trim() == board(&self.board_id, &self.board)
        {
            return Err(
                "helpdesk_board must be a board of its own, not the projects' board".into(),
            );
        }
        RemoteShared::check_base_url(&self.base_url)
    }
}

impl TrelloConfig {
    /// Where the token is looked up (see `crate::secrets`).
    pub fn credential_spec(&self) -> crate::secrets::CredentialSpec {
        crate::secrets::CredentialSpec {
            remote: NAME.into(),
            env_var: self.token_env.clone(),
            keyring_entry: self.keyring_entry.clone(),
        }
    }

    /// The API key: `key`, else the variable `key_env` (`None`: neither is set).
    pub fn api_key(&self) -> Option<crate::connectors::Secret> {
        let k = self.key.trim();
        if k.is_empty() {
            crate::connectors::Secret::from_env(&self.key_env)
        } else {
            Some(crate::connectors::Secret::new(k))
        }
    }

    /// The settings the engine reads.
    pub fn common(&self) -> RemoteCommon {
        self.shared.common.clone()
    }
}

/// Whether `s` has the shape of a Trello id (24 hexadecimal digits).
pub fn is_id(s: &str) -> bool {
    s.len() == 24 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_section_parses() {
        let c =
            crate::config::Config::parse(include_str!("../../../vault-template/ssot-vault.toml"))
                .unwrap();
        let t = TrelloConfig::read(&c).unwrap();
        assert!(!t.shared.common.enabled);
        assert_eq!(t.base_url, "https://api.trello.com/1");
        assert_eq!(t.shared.http.requests_per_10s, 100);
        assert_eq!(t.credential_spec().env_var, "TRELLO_TOKEN");
    }

    #[test]
    fn typos_and_bad_values_are_errors() {
        for bad in [
            "enabeld = true",
            "board_id = \"not-an-id\"",
            "batch_size = 0",
            "actions_page = 1001",
            "[helpdesk_lists]\nwaiting = \"Waiting\"",
            "[helpdesk_parties]\nola = \"boss\"",
            "[lists]\npaused = \"Paused\"",
            "base_url = \"ftp://x\"",
        ] {
            let t: toml::Table = toml::from_str(bad).unwrap();
            assert!(TrelloConfig::read_table(&t).is_err(), "{bad}");
        }
        let t: toml::Table = toml::from_str(
            "board = \"Projects\"\nkey = \"k\"\n[lists]\nblocked = \"On hold\"\n[custom_fields]\nbudget = \"\"",
        )
        .unwrap();
        let c = TrelloConfig::read_table(&t).unwrap();
        assert_eq!(c.lists["blocked"], "On hold");
        assert_eq!(
            c.api_key().map(|k| k.expose().to_string()).as_deref(),
            Some("k")
        );
    }
}
