//! `[remotes.jira]` in `ssot-vault.toml`, typed, with every default compiled in.
//!
//! ```toml
//! [remotes.jira]
//! enabled = true
//! base_url = "https://your-site.atlassian.net"
//! project_key = "CONS"                 # the Jira project the issues live in
//! email = "ops@example.com"            # the account (else the variable JIRA_EMAIL)
//! token_env = "JIRA_API_TOKEN"         # its API token, else the OS keyring entry below
//! keyring_entry = "jira"
//! issue_type = "Epic"                  # the type of a project's issue
//! budget_field = "Budget"              # a number custom field, by name or `customfield_NNNNN`
//! description_section = "Brief"        # the body section ↔ the description ("" unmaps it)
//! settle_max_seconds = 90              # a run that wrote waits at most this for its settle read
//! settle_lag_seconds = 10              # Jira's search index lag the settle read allows for
//!
//! [remotes.jira.fields.project]        # frontmatter key = Jira field ("" unmaps a key)
//! language = "Language"                # a custom field by name (created when missing)
//!
//! [remotes.jira.tables.project.status] # vault value = Jira status
//! done = "Closed"
//!
//! [remotes.jira.transitions]           # lifecycle term of an action = Jira status
//! on-hold = "On Hold"
//! ```
//!
//! The status table and the actions' terms must agree where a move has an action: `accepted`,
//! `credentialing` and `blocked` are the status `on-hold` names (the lifecycle suspends the issue
//! on those moves), `active` the one `in-progress` names. Renaming On Hold takes both: `on-hold =
//! "Paused"` and `accepted`, `credentialing`, `blocked` = "Paused"; otherwise the run writes one
//! status, the action moves the issue to the other, and the next read finds a move to refuse.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::config::{RemoteCommon, RemoteSection, RemoteShared};
use crate::connectors::Direction;

/// The name of this remote in `ssot-vault.toml` and in `Ssot-Source`.
pub const NAME: &str = "jira";

/// The frontmatter key holding a project note's issue key.
pub const ID_KEY: &str = "jira_key";

/// The frontmatter key holding an expert's Jira account id (the issue's assignee).
pub const ACCOUNT_KEY: &str = "jira_account_id";

/// `[remotes.jira]`: the keys every remote shares ([`RemoteShared`]) and Jira's own. Read it with
/// [`JiraConfig::from_table`] (or `from_config`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JiraConfig {
    /// The keys every remote shares.
    #[serde(skip)]
    pub shared: RemoteShared,
    /// The site (`https://<site>.atlassian.net`); point it at `ssot-vault sandbox` to rehearse.
    pub base_url: String,
    /// The Atlassian account's email (Basic auth user name); when empty, the variable
    /// [`JiraConfig::email_env`] holds it.
    pub email: String,
    /// Environment variable holding the account's email when `email` is empty.
    pub email_env: String,
    /// Environment variable holding the API token (consulted first).
    pub token_env: String,
    /// The OS keyring entry holding the token when the variable is unset (`ssot-vault auth set
    /// jira`).
    pub keyring_entry: String,
    /// Key of the Jira project the issues live in.
    pub project_key: String,
    /// Issue type of a project's issue.
    pub issue_type: String,
    /// Issue type of the child task an action makes under a project's issue.
    pub task_type: String,
    /// The project role a `Grant` adds the expert's account to (and a `Revoke` removes it
    /// from), beside making it the assignee; empty: the assignee only.
    pub grant_role: String,
    /// The number custom field holding `budget`: its name (looked up with `GET /field`) or its
    /// id (`customfield_NNNNN`); empty unmaps `budget`.
    pub budget_field: String,
    /// The body section (`## Brief`) kept in step with the issue's description, converted
    /// markdown ↔ ADF; empty: the description is not synced.
    pub description_section: String,
    /// Issues per bulk create (Jira's maximum is 50).
    pub batch_size: usize,
    /// Minutes the incremental read re-reads before its cursor (JQL dates have minute
    /// precision, and search is eventually consistent).
    pub overlap_minutes: u64,
    /// Longest wait, in seconds, of a run that wrote to Jira before its settle read (`0`: never
    /// settle). JQL dates have minute precision, so the next run's read would find this run's
    /// writes again; once the minute of the last write has ended on Jira's clock (plus
    /// `settle_lag_seconds`), the run reads once more, and when nothing differs from what it
    /// left, the next read starts after its writes.
    pub settle_max_seconds: u64,
    /// Seconds Jira's search may take to show a change (its index's lag): the settle read waits
    /// this long past the minute of the last write, and the next read starts this long before
    /// the settle read did.
    pub settle_lag_seconds: u64,
    /// Issues made in Jira (of the issue type, in the project) become project notes.
    pub pull_new: bool,
    /// Field maps per note type (`project` only): frontmatter key → Jira field (`summary`,
    /// `duedate`, `priority`, `timetracking`, `status`, a custom field's id or name); merged
    /// over the defaults, an empty value unmaps the key.
    pub fields: BTreeMap<String, BTreeMap<String, String>>,
    /// Value tables per note type and key: vault value → Jira value (`status`, `priority`).
    pub tables: BTreeMap<String, BTreeMap<String, BTreeMap<String, String>>>,
    /// Which way a mapped key travels, per note type: `both` (default), `push` or `pull`.
    pub directions: BTreeMap<String, BTreeMap<String, Direction>>,
    /// Lifecycle terms of `Transition` actions (`on-hold`, `in-progress`) → Jira statuses,
    /// merged over the defaults.
    pub transitions: BTreeMap<String, String>,
}

impl Default for JiraConfig {
    fn default() -> Self {
        JiraConfig {
            shared: RemoteShared::defaults(NAME),
            base_url: "https://your-site.atlassian.net".into(),
            email: String::new(),
            email_env: "JIRA_EMAIL".into(),
            token_env: "JIRA_API_TOKEN".into(),
            keyring_entry: NAME.into(),
            project_key: "CONS".into(),
            issue_type: "Epic".into(),
            task_type: "Task".into(),
            grant_role: "Member".into(),
            budget_field: "Budget".into(),
            description_section: "Brief".into(),
            batch_size: 50,
            overlap_minutes: 2,
            settle_max_seconds: 90,
            settle_lag_seconds: 10,
            pull_new: true,
            fields: BTreeMap::new(),
            tables: BTreeMap::new(),
            directions: BTreeMap::new(),
            transitions: BTreeMap::new(),
        }
    }
}

impl RemoteSection for JiraConfig {
    const NAME: &'static str = NAME;
    fn shared_mut(&mut self) -> &mut RemoteShared {
        &mut self.shared
    }
    fn check(&self) -> Result<(), String> {
        let err = |m: String| Err(m);
        if self.batch_size == 0 || self.batch_size > 50 {
            return err("batch_size must be between 1 and 50 (Jira's limit)".into());
        }
        crate::secrets::check_entry_name(&self.keyring_entry)?;
        if self.token_env.trim().is_empty() || self.email_env.trim().is_empty() {
            return err("token_env and email_env must not be empty".into());
        }
        let key_ok = !self.project_key.is_empty()
            && self
                .project_key
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            && self
                .project_key
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_uppercase());
        if !key_ok {
            return err(format!(
                "project_key `{}` is not a Jira project key (capital letters, digits, `_`)",
                self.project_key
            ));
        }
        if self.issue_type.trim().is_empty() || self.task_type.trim().is_empty() {
            return err("issue_type and task_type must not be empty".into());
        }
        for ty in self
            .fields
            .keys()
            .chain(self.tables.keys())
            .chain(self.directions.keys())
        {
            if ty != "project" {
                return err(format!(
                    "unknown note type `{ty}` (Jira syncs project notes)"
                ));
            }
        }
        if self
            .directions
            .get("project")
            .and_then(|d| d.get("title"))
            .is_some_and(|d| *d != Direction::Push)
        {
            return err(
                "directions.project.title: a title is the note's file name and travels to Jira only (`push`)"
                    .into(),
            );
        }
        RemoteShared::check_base_url(&self.base_url)
    }
}

/// The default lifecycle terms of `Transition` actions and their Jira statuses.
pub const DEFAULT_TRANSITIONS: &[(&str, &str)] = &[
    ("to-do", "To Do"),
    ("on-hold", "On Hold"),
    ("in-progress", "In Progress"),
    ("blocked", "Blocked"),
    ("done", "Done"),
];

impl JiraConfig {
    /// Where the API token is looked up (see `crate::secrets`).
    pub fn credential_spec(&self) -> crate::secrets::CredentialSpec {
        crate::secrets::CredentialSpec {
            remote: NAME.into(),
            env_var: self.token_env.clone(),
            keyring_entry: self.keyring_entry.clone(),
        }
    }

    /// The account's email: `email`, else the variable `email_env` (`None`: neither is set).
    pub fn account_email(&self, env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
        Some(self.email.trim().to_string())
            .filter(|e| !e.is_empty())
            .or_else(|| {
                env(&self.email_env)
                    .map(|e| e.trim().to_string())
                    .filter(|e| !e.is_empty())
            })
    }

    /// The Jira status a lifecycle term names (`on-hold` → `On Hold`), when known.
    pub fn transition_status(&self, term: &str) -> Option<String> {
        self.transitions.get(term).cloned().or_else(|| {
            DEFAULT_TRANSITIONS
                .iter()
                .find(|(t, _)| *t == term)
                .map(|(_, s)| (*s).to_string())
        })
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
        let j = JiraConfig::read(&c).unwrap();
        assert!(!j.shared.common.enabled);
        assert_eq!(j.project_key, "CONS");
        assert_eq!(j.issue_type, "Epic");
        assert_eq!(j.shared.common.author_name, "ssot-vault (jira)");
    }

    #[test]
    fn typos_and_bad_values_are_errors() {
        for bad in [
            "enabeld = true",
            "project_key = \"cons\"",
            "[fields.client]\nname = \"summary\"",
            "[directions.project]\ntitle = \"both\"",
            "base_url = \"ftp://x\"",
            "batch_size = 51",
        ] {
            let t: toml::Table = toml::from_str(bad).unwrap();
            assert!(JiraConfig::read_table(&t).is_err(), "{bad}");
        }
        let t: toml::Table =
            toml::from_str("email = \"a@b.c\"\n[transitions]\non-hold = \"Paused\"").unwrap();
        let c = JiraConfig::read_table(&t).unwrap();
        assert_eq!(c.account_email(&|_| None).as_deref(), Some("a@b.c"));
        assert_eq!(c.transition_status("on-hold").as_deref(), Some("Paused"));
        assert_eq!(
            c.transition_status("in-progress").as_deref(),
            Some("In Progress")
        );
        let d = JiraConfig::default();
        assert_eq!(
            d.account_email(&|v| (v == "JIRA_EMAIL").then(|| " x@y.z ".into()))
                .as_deref(),
            Some("x@y.z")
        );
        assert_eq!(d.account_email(&|_| None), None);
    }
}
