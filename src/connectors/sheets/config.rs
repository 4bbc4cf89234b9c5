//! `[remotes.sheets]` in `ssot-vault.toml`, typed, with every default compiled in.
//!
//! ```toml
//! [remotes.sheets]
//! enabled = true
//! base_url = "https://sheets.googleapis.com"
//! spreadsheet_id = "1AbC…"                     # the long part of the URL between /d/ and /edit
//! credentials_env = "GOOGLE_APPLICATION_CREDENTIALS"  # the service-account key file's path,
//! keyring_entry = "google"                     # else the key (or its path) in the OS keyring
//! key_column = "ssot_id"                       # the header of the key column
//! batch_size = 5000                            # notes written per run step (1 to 10000)
//!
//! [remotes.sheets.tabs]                        # note type = tab ("" leaves the type out)
//! client = "Clients"
//!
//! [remotes.sheets.columns.expert]              # header = frontmatter key ("" unmaps a header)
//! "Hourly rate" = "rate"
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::config::{RemoteCommon, RemoteSection, RemoteShared};

/// The name of this remote in `ssot-vault.toml` and in `Ssot-Source`.
pub const NAME: &str = "sheets";

/// The frontmatter key holding a note's row key in the sheet (its `ssot_id`, see the module
/// documentation of [`super`]).
pub const ID_KEY: &str = "sheets_id";

/// The header of the key column by default.
pub const KEY_COLUMN: &str = "ssot_id";

/// The default tabs: note type → tab title.
pub const DEFAULT_TABS: [(&str, &str); 3] = [
    ("client", "Clients"),
    ("expert", "Experts"),
    ("project", "Projects"),
];

/// The default columns of each note type: (note type, header, frontmatter key); the headers
/// the sandbox seeds.
pub const DEFAULT_COLUMNS: [(&str, &str, &str); 14] = [
    ("client", "name", "name"),
    ("client", "email", "email"),
    ("client", "phone", "phone"),
    ("client", "company", "company"),
    ("client", "status", "status"),
    ("expert", "name", "name"),
    ("expert", "email", "email"),
    ("expert", "specialty", "skills"),
    ("expert", "rate", "rate"),
    ("project", "title", "title"),
    ("project", "client", "client"),
    ("project", "status", "status"),
    ("project", "start", "start"),
    ("project", "budget", "budget"),
];

/// `[remotes.sheets]`: the keys every remote shares ([`RemoteShared`]) and the sheet's own.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SheetsConfig {
    /// The keys every remote shares.
    #[serde(skip)]
    pub shared: RemoteShared,
    /// API root (`https://sheets.googleapis.com`).
    pub base_url: String,
    /// The spreadsheet's id.
    pub spreadsheet_id: String,
    /// Environment variable naming the service-account key file (consulted first).
    pub credentials_env: String,
    /// The OS keyring entry holding the key file's contents or path.
    pub keyring_entry: String,
    /// The header of the key column (every tab's).
    pub key_column: String,
    /// Notes the engine hands the connector at once: the cells and rows of that many notes go
    /// in one write per tab.
    pub batch_size: usize,
    /// Note type → tab title, over [`DEFAULT_TABS`] (`""` leaves a type out).
    pub tabs: BTreeMap<String, String>,
    /// Note type → (header → frontmatter key), over [`DEFAULT_COLUMNS`] (`""` unmaps a header).
    pub columns: BTreeMap<String, BTreeMap<String, String>>,
}

impl Default for SheetsConfig {
    fn default() -> Self {
        SheetsConfig {
            shared: RemoteShared::defaults(NAME),
            base_url: "https://sheets.googleapis.com".into(),
            spreadsheet_id: String::new(),
            credentials_env: crate::connectors::google::CREDENTIALS_ENV.into(),
            keyring_entry: "google".into(),
            key_column: KEY_COLUMN.into(),
            batch_size: 5000,
            tabs: BTreeMap::new(),
            columns: BTreeMap::new(),
        }
    }
}

impl RemoteSection for SheetsConfig {
    const NAME: &'static str = NAME;
    fn shared_mut(&mut self) -> &mut RemoteShared {
        &mut self.shared
    }
    fn check(&self) -> Result<(), String> {
        crate::secrets::check_entry_name(&self.keyring_entry)?;
        if self.credentials_env.trim().is_empty() {
            return Err("credentials_env must not be empty".into());
        }
        if !(1..=10_000).contains(&self.batch_size) {
            return Err("batch_size must be between 1 and 10000".into());
        }
        if self.key_column.trim().is_empty() {
            return Err("key_column must not be empty".into());
        }
        if self.spreadsheet_id.contains(['/', '?', '#', ' ']) {
            return Err(format!(
                "spreadsheet_id `{}` is not a spreadsheet id (the part of its URL between /d/ and /edit)",
                self.spreadsheet_id
            ));
        }
        let tabs = self.tab_table();
        let mut seen = std::collections::BTreeSet::new();
        for tab in tabs.values() {
            if tab.contains(['\'', '!']) || !seen.insert(tab.clone()) {
                return Err(format!(
                    "tab `{tab}`: a tab serves one note type, and its title has no ' or !"
                ));
            }
        }
        RemoteShared::check_base_url(&self.base_url)
    }
}

impl SheetsConfig {
    /// Note type → tab title: the defaults overlaid by `tabs`.
    pub fn tab_table(&self) -> BTreeMap<String, String> {
        let mut t: BTreeMap<String, String> = DEFAULT_TABS
            .iter()
            .map(|(n, tab)| ((*n).to_string(), (*tab).to_string()))
            .collect();
        for (n, tab) in &self.tabs {
            t.insert(n.clone(), tab.trim().to_string());
        }
        t.retain(|_, tab| !tab.is_empty());
        t
    }

    /// The columns of a note type: header → frontmatter key, the defaults overlaid by `columns`.
    pub fn column_table(&self, note_type: &str) -> BTreeMap<String, String> {
        let mut t: BTreeMap<String, String> = DEFAULT_COLUMNS
            .iter()
            .filter(|(n, ..)| *n == note_type)
            .map(|(_, h, k)| ((*h).to_string(), (*k).to_string()))
            .collect();
        for (h, k) in self.columns.get(note_type).into_iter().flatten() {
            t.insert(h.trim().to_string(), k.trim().to_string());
        }
        t.retain(|h, k| !h.is_empty() && !k.is_empty() && *h != self.key_column);
        t
    }

    /// Where the key file is looked up (see `crate::secrets`).
    pub fn credential_spec(&self) -> crate::secrets::CredentialSpec {
        crate::secrets::CredentialSpec {
            remote: NAME.into(),
            env_var: self.credentials_env.clone(),
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

    #[test]
    fn template_section_parses() {
        let c =
            crate::config::Config::parse(include_str!("../../../vault-template/ssot-vault.toml"))
                .unwrap();
        let s = SheetsConfig::read(&c).unwrap();
        assert!(!s.shared.common.enabled);
        assert_eq!(s.base_url, "https://sheets.googleapis.com");
        assert_eq!(s.tab_table()["expert"], "Experts");
        assert_eq!(s.column_table("expert")["specialty"], "skills");
    }

    #[test]
    fn typos_and_bad_values_are_errors() {
        for bad in [
            "enabeld = true",
            "base_url = \"ftp://x\"",
            "spreadsheet_id = \"https://docs.google.com/spreadsheets/d/x/edit\"",
            "key_column = \" \"",
            "batch_size = 0",
            "[tabs]\nclient = \"Same\"\nexpert = \"Same\"",
        ] {
            let t: toml::Table = toml::from_str(bad).unwrap();
            assert!(SheetsConfig::read_table(&t).is_err(), "{bad}");
        }
        let t: toml::Table = toml::from_str(
            "[tabs]\nproject = \"\"\n[columns.expert]\nspecialty = \"\"\n\"Hourly rate\" = \"rate\"",
        )
        .unwrap();
        let c = SheetsConfig::read_table(&t).unwrap();
        assert!(!c.tab_table().contains_key("project"));
        let cols = c.column_table("expert");
        assert!(!cols.contains_key("specialty"));
        assert_eq!(cols["Hourly rate"], "rate");
    }
}
